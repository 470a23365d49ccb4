//! Mounts: propagation of binds (Kubernetes' Bidirectional and HostToContainer), recursive
//! read-only binds, mount targets below dangling symlinks, proc on a non-directory; and the
//! task settings honoured beside them (personality, NUMA memory policy).
mod common;

use common::bundles::*;
use common::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

fn sh(cmd: &str) {
    let o = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    assert!(o.status.success(), "{cmd}: {}", stderr(&o));
}

/// Host mounts made by a test, lazily and recursively unmounted when it ends (before the
/// Sandbox checks that none is left).
struct HostMounts(Vec<PathBuf>);

impl HostMounts {
    fn tmpfs(&mut self, at: &Path) {
        std::fs::create_dir_all(at).unwrap();
        sh(&format!("mount -t tmpfs minirun-test '{}'", at.display()));
        self.0.push(at.to_path_buf());
    }
}

impl Drop for HostMounts {
    fn drop(&mut self) {
        for p in self.0.iter().rev() {
            let _ = Command::new("umount").arg("-R").arg("-l").arg(p).status();
        }
    }
}

fn with_caps(c: &mut serde_json::Value, add: &str) {
    for set in ["bounding", "effective", "permitted"] {
        c["process"]["capabilities"][set]
            .as_array_mut()
            .unwrap()
            .push(json!(add));
    }
}

/// 20.7: a bind with `rshared` (Kubernetes' Bidirectional) sees a tmpfs the host mounts
/// below its source after the start, and a tmpfs the container mounts (with CAP_SYS_ADMIN)
/// appears on the host; `rslave` (HostToContainer) receives only. The old code made the
/// container's copy of the host's mounts private before binding, cutting both directions.
#[test]
fn bind_propagation_both_directions() {
    let sb = Sandbox::new("mnt-prop");
    let _reap = Reap(&sb);
    let mut host = HostMounts(Vec::new());
    let (shared, slave) = (sb.scratch.join("shared"), sb.scratch.join("slave"));
    for src in [&shared, &slave] {
        host.tmpfs(src);
        sh(&format!("mount --make-shared '{}'", src.display()));
        for d in ["in", "out"] {
            std::fs::create_dir(src.join(d)).unwrap();
        }
    }
    // /b and /s are made in the rootfs: its own, not the shared fixture.
    let rootfs = sb.own_rootfs();
    let script = "i=0; until [ -e /b/in/ready ] && [ -e /s/in/ready ]; do \
                    i=$((i+1)); [ $i -gt 500 ] && { echo timeout > /b/failed; exit 1; }; sleep 0.02; done; \
                  mount -t tmpfs ctr /b/out && touch /b/out/from-ctr && \
                  mount -t tmpfs ctr /s/out && touch /s/out/from-ctr && touch /b/done; sleep 60";
    for (n, root_propagation) in [Some("rshared"), None].into_iter().enumerate() {
        let dir = bundle(&sb, &format!("b{n}"), &["sh", "-c", script], |c| {
            // Docker's profile lets mount(2) through only where it was made for a container
            // with CAP_SYS_ADMIN; the spec's was not.
            c["root"]["path"] = json!(rootfs);
            with_caps(c, "CAP_SYS_ADMIN");
            c["linux"].as_object_mut().unwrap().remove("seccomp");
            let mounts = c["mounts"].as_array_mut().unwrap();
            mounts.push(
                json!({"destination": "/b", "type": "bind", "source": shared,
                "options": ["rbind", "rshared"]}),
            );
            mounts.push(json!({"destination": "/s", "type": "bind", "source": slave,
                "options": ["rbind", "rslave"]}));
            if let Some(p) = root_propagation {
                c["linux"]["rootfsPropagation"] = json!(p);
            }
        });
        let id = format!("p{n}");
        create(&sb, &dir, &id);
        ok(&oci(&sb, &["start", &id]));
        for src in [&shared, &slave] {
            let inner = src.join("in");
            sh(&format!("mount -t tmpfs host '{}'", inner.display()));
            std::fs::write(inner.join("ready"), "").unwrap();
        }
        let done = wait_for(10.0, || shared.join("done").exists().then_some(()));
        let failed = std::fs::read_to_string(shared.join("failed")).unwrap_or_default();
        assert!(
            done.is_some(),
            "{root_propagation:?}: the container never saw the host's mounts ({failed})"
        );
        assert!(
            shared.join("out/from-ctr").exists(),
            "{root_propagation:?}: the container's mount did not reach the host"
        );
        assert!(
            !slave.join("out/from-ctr").exists(),
            "{root_propagation:?}: rslave sent a mount to the host"
        );
        force_delete(&sb, &id);
        for src in [&shared, &slave] {
            sh(&format!("umount '{}'", src.join("in").display()));
            std::fs::remove_file(src.join("done")).ok();
        }
        sh(&format!("umount '{}'", shared.join("out").display()));
    }
    assert!(fixture_mounts().is_empty(), "{:?}", fixture_mounts());
}

/// 21.6: `-v HOST:CTR:ro` and an OCI `rbind,ro` are read-only all the way down: a tmpfs
/// mounted below HOST before the launch is read-only inside too (the old remount covered the
/// top mount only).
#[test]
fn read_only_binds_are_recursive() {
    let sb = Sandbox::new("mnt-rro");
    let _reap = Reap(&sb);
    let mut host = HostMounts(Vec::new());
    let vol = sb.scratch.join("vol");
    host.tmpfs(&vol.join("sub"));
    let script = "touch /v/sub/x 2>&1; touch /v/y 2>&1; true";
    // /v is made in the rootfs: its own, not the shared fixture.
    let rootfs = sb.own_rootfs();
    let v = format!("{}:/v:ro", vol.display());
    let o = sb
        .cmd(&["-v", &v])
        .arg(&rootfs)
        .args(["sh", "-c", script])
        .output()
        .unwrap();
    let out = ok(&o);
    assert_eq!(
        out.matches("Read-only file system").count(),
        2,
        "writable below a read-only volume: {out}"
    );
    let dir = bundle(&sb, "b", &["sh", "-c", script], |c| {
        c["root"]["path"] = json!(rootfs);
        c["mounts"].as_array_mut().unwrap().push(
            json!({"destination": "/v", "type": "bind", "source": vol, "options": ["rbind", "ro"]}),
        );
    });
    let out = ok(&oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), "r"]));
    assert_eq!(out.matches("Read-only file system").count(), 2, "{out}");
    assert!(!vol.join("sub/x").exists() && !vol.join("y").exists());
    // `bind,ro` (not recursive) stays what it says: the top read-only, the submount not.
    let dir = bundle(
        &sb,
        "nr",
        &["sh", "-c", "touch /v/sub/x && echo wrote"],
        |c| {
            c["root"]["path"] = json!(rootfs);
            c["mounts"].as_array_mut().unwrap().push(
            json!({"destination": "/v", "type": "bind", "source": vol, "options": ["bind", "ro"]}),
        );
        },
    );
    // A non-recursive bind does not bring the submount along: /v/sub is the plain directory.
    let o = oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), "nr"]);
    assert!(
        stderr(&o).contains("Read-only file system"),
        "{}",
        stderr(&o)
    );
}

/// 21.7: a `-v` target below a rootfs symlink to a missing directory is created inside the
/// rootfs where the symlink points, as runc does (the old code failed with ENOENT).
#[test]
fn volume_below_a_dangling_symlink() {
    let sb = Sandbox::new("mnt-dangling");
    let rootfs = sb.own_rootfs();
    std::os::unix::fs::symlink("/missing/dir", rootfs.join("link")).unwrap();
    let host = sb.scratch.join("data");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("f"), "from the host\n").unwrap();
    let v = format!("{}:/link/sub", host.display());
    let o = sb
        .cmd(&["-v", &v])
        .arg(&rootfs)
        .args(["cat", "/missing/dir/sub/f"])
        .output()
        .unwrap();
    assert_eq!(ok(&o), "from the host\n");
    assert!(rootfs.join("missing/dir/sub").is_dir());
    assert!(!Path::new("/missing").exists(), "created on the host");
}

/// 21.7: a rootfs whose /proc is a symlink (to `/`, which in-root resolution takes as the
/// rootfs itself) is refused with one line naming the path, exit 125; the old code mounted
/// proc over the root and the workload's lookup failed with a misleading 127.
#[test]
fn proc_on_a_symlink_is_refused() {
    let sb = Sandbox::new("mnt-procsym");
    let rootfs = sb.own_rootfs();
    std::fs::remove_dir(rootfs.join("proc")).unwrap();
    std::os::unix::fs::symlink("/", rootfs.join("proc")).unwrap();
    let o = sb.cmd(&[]).arg(&rootfs).args(["true"]).output().unwrap();
    refused(&o, 125, "/proc is a symlink in the rootfs");
    std::fs::remove_file(rootfs.join("proc")).unwrap();
    std::fs::write(rootfs.join("proc"), "").unwrap();
    let o = sb.cmd(&[]).arg(&rootfs).args(["true"]).output().unwrap();
    refused(&o, 125, "/proc is a file in the rootfs");
    assert!(fixture_mounts().is_empty());
}

/// 20.8: linux.personality LINUX32 makes `uname -m` say i686 (it was refused as "not
/// honoured"); LINUX leaves x86_64.
#[test]
fn personality_is_honoured() {
    let sb = Sandbox::new("mnt-pers");
    let _reap = Reap(&sb);
    for (domain, want) in [("LINUX32", "i686\n"), ("LINUX", "x86_64\n")] {
        let dir = bundle(&sb, domain, &["uname", "-m"], |c| {
            c["linux"]["personality"] = json!({"domain": domain});
        });
        let o = oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), domain]);
        assert_eq!(ok(&o), want, "{domain}");
        assert_eq!(stderr(&o), "", "{domain}");
    }
}

/// 20.8: linux.memoryPolicy is applied with set_mempolicy (it printed "not honoured"): the
/// workload's mappings show the policy in /proc/self/numa_maps; a node this machine lacks is
/// one line, exit 125.
#[test]
fn memory_policy_is_honoured() {
    let sb = Sandbox::new("mnt-mpol");
    let _reap = Reap(&sb);
    assert!(
        Path::new("/sys/devices/system/node/node0").exists(),
        "this test expects NUMA node 0 (CONFIG_NUMA)"
    );
    for (mode, nodes, want) in [
        ("MPOL_BIND", Some("0"), "bind:0"),
        ("MPOL_INTERLEAVE", Some("0"), "interleave:0"),
        ("MPOL_PREFERRED", Some("0"), "prefer:0"),
        ("MPOL_LOCAL", None, "local"),
    ] {
        let dir = bundle(&sb, mode, &["head", "-n1", "/proc/self/numa_maps"], |c| {
            c["linux"]["memoryPolicy"] = json!({"mode": mode});
            if let Some(n) = nodes {
                c["linux"]["memoryPolicy"]["nodes"] = json!(n);
            }
        });
        let o = oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), "m"]);
        let out = ok(&o);
        assert_eq!(out.split(' ').nth(1), Some(want), "{mode}: {out}");
        assert!(!stderr(&o).contains("not honoured"), "{}", stderr(&o));
    }
    let node_count = std::fs::read_dir("/sys/devices/system/node")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("node"))
        .count();
    let missing = node_count.to_string();
    let dir = bundle(&sb, "bad", &["true"], |c| {
        c["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND", "nodes": missing});
    });
    let o = oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), "bad"]);
    one_line_failure(&o, "linux.memoryPolicy MPOL_BIND");
    let dir = bundle(&sb, "nonodes", &["true"], |c| {
        c["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND"});
    });
    let o = oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), "nonodes"]);
    one_line_failure(&o, "needs at least one node");
}

/// `run` failed before the workload ran: non-zero, one line naming `want`.
fn one_line_failure(o: &std::process::Output, want: &str) {
    let err = stderr(o);
    assert_ne!(code(o), 0, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(want), "{err}");
    assert_eq!(stdout(o), "");
}
