//! Issues 20 and 21: the launch path on every cgroup layout, and no cgroup above the
//! container's own in any hierarchy.
//!
//! This host is hybrid (v1 controllers, `name=systemd`, cgroup2 at /sys/fs/cgroup/unified).
//! The other layouts are simulated in a private mount namespace (`unshare -m`, private
//! propagation), where each scenario runs as one shell script, since the paths a container's
//! record names exist only there:
//! - pure v1: /sys/fs/cgroup/unified unmounted;
//! - pure v2: /sys/fs/cgroup unmounted, cgroup2 mounted there (the same unified hierarchy,
//!   whose root offers only the controllers /sys/fs/cgroup/unified/cgroup.controllers lists);
//! - none: /sys/fs/cgroup unmounted, nothing in its place.
//!
//! Each test checks from the host that no cgroup of its containers is left in any hierarchy.

mod common;

use common::bundles::*;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Output;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Hybrid,
    V1,
    V2,
    None,
}

const ALL: [Layout; 4] = [Layout::Hybrid, Layout::V1, Layout::V2, Layout::None];

impl Layout {
    /// The shell that turns this host's mount namespace into the layout.
    fn setup(self) -> &'static str {
        match self {
            Layout::Hybrid => ":",
            Layout::V1 => "umount /sys/fs/cgroup/unified",
            Layout::V2 => "umount -R /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup",
            Layout::None => "umount -R /sys/fs/cgroup",
        }
    }
}

/// `script` under `sh -e` in a private mount namespace shaped as `layout`, with $M (minirun),
/// $F (the fixture) and $R (the sandbox's state root) set.
fn in_layout(sb: &Sandbox, layout: Layout, script: &str) -> Output {
    let full = format!("{} || exit 99\nset -e\n{script}", layout.setup());
    in_private_mount_ns(sb, &full)
}

/// The host's v1 mounts: (mountpoint, the options that name the hierarchy: `cpu`,
/// `cpu,cpuacct`, `name=systemd`).
fn host_v1() -> Vec<(PathBuf, String)> {
    // The controllers the library knows: a v1 mount's other options name no hierarchy.
    const CONTROLLERS: &[&str] = minirun::cgroups::layout::V1_CONTROLLERS;
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let mut right = right.split(' ');
            if right.next()? != "cgroup" {
                return None;
            }
            let opts: Vec<&str> = right
                .nth(1)?
                .split(',')
                .filter(|o| CONTROLLERS.contains(o) || o.starts_with("name="))
                .collect();
            Some((left.split(' ').nth(4)?.into(), opts.join(",")))
        })
        .collect()
}

/// This process's cgroup in the hierarchy whose /proc/self/cgroup key is `key` (`""`: v2).
fn own(key: &str) -> PathBuf {
    let text = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    text.lines()
        .find_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, k, p) = (parts.next()?, parts.next()?, parts.next()?);
            let mut a: Vec<&str> = k.split(',').collect();
            let mut b: Vec<&str> = key.split(',').collect();
            a.sort_unstable();
            b.sort_unstable();
            (a == b).then(|| PathBuf::from(p.trim_start_matches('/')))
        })
        .unwrap_or_else(|| panic!("no {key:?} line in {text}"))
}

/// Every hierarchy on the host (v1 ones and the unified one): (mountpoint, our own cgroup).
fn host_hierarchies() -> Vec<PathBuf> {
    let mut all: Vec<PathBuf> = host_v1()
        .into_iter()
        .map(|(mp, key)| mp.join(own(&key)))
        .collect();
    all.push(Path::new("/sys/fs/cgroup/unified").join(own("")));
    all
}

/// No cgroup of `sb`'s containers `ids` is left in any hierarchy (a `-d --rm` container's
/// monitor removes it a moment after the workload ends).
fn assert_no_leftovers(sb: &Sandbox, ids: &[&str]) {
    for id in ids {
        let left = wait_for(2.0, || {
            default_cgroups(&sb.root, Some(id)).is_empty().then_some(())
        });
        assert!(
            left.is_some(),
            "cgroups of {id} left: {:?}",
            default_cgroups(&sb.root, Some(id))
        );
    }
}

fn unified_root_controllers() -> String {
    std::fs::read_to_string("/sys/fs/cgroup/unified/cgroup.controllers")
        .expect("this host mounts cgroup2 at /sys/fs/cgroup/unified")
}

const NO_CGROUPFS: &str = "minirun: warning: no cgroup filesystem is mounted (neither cgroup nor \
                           cgroup2 in /proc/self/mountinfo): the container runs without a cgroup \
                           (no limits, no device rules)";
const MKNOD_DROPPED: &str = "minirun: warning: no device cgroup (no cgroup for this container): \
                             CAP_MKNOD dropped from the default capabilities";

/// Issue 20 item 3: the quick form runs on every layout, its workload sees its own cgroup as
/// `/` in every hierarchy, and its /sys/fs/cgroup is its own cgroups (read-only); without
/// any cgroupfs, one warning and the run.
#[test]
fn quick_form_runs_on_every_layout() {
    let sb = Sandbox::new("lay-quick");
    for layout in ALL {
        let o = in_layout(
            &sb,
            layout,
            "$M --root $R --name lq $F sh -c 'cat /proc/self/cgroup; echo ---; ls /sys/fs/cgroup; \
             touch /sys/fs/cgroup/x 2>&1 || true'",
        );
        let out = stdout(&o);
        let err = stderr(&o);
        assert_eq!(code(&o), 0, "{layout:?}: {out}{err}");
        let (cgroups, view) = out.split_once("---\n").unwrap();
        match layout {
            Layout::None => {
                assert_eq!(
                    err.lines().collect::<Vec<_>>(),
                    [NO_CGROUPFS, MKNOD_DROPPED],
                    "{layout:?}"
                );
            }
            _ => {
                assert_eq!(err, "", "{layout:?}");
                for line in cgroups.lines() {
                    assert!(line.ends_with(":/"), "{layout:?}: {line} (all: {cgroups})");
                }
                assert!(view.contains("Read-only file system"), "{layout:?}: {view}");
            }
        }
        match layout {
            Layout::Hybrid | Layout::V1 => {
                for h in ["pids", "memory", "freezer", "devices", "systemd"] {
                    assert!(view.lines().any(|l| l == h), "{layout:?}: {h} in {view}");
                }
                assert_eq!(
                    view.lines().any(|l| l == "unified"),
                    layout == Layout::Hybrid,
                    "{layout:?}: {view}"
                );
            }
            // The container's v2 cgroup itself.
            Layout::V2 => assert!(view.contains("cgroup.procs"), "{view}"),
            Layout::None => {}
        }
        assert_no_leftovers(&sb, &["lq"]);
    }
}

/// Limits on each layout: where the controller is there, the limit is in the container's
/// view; on the simulated pure v2 host only what the unified root offers (a missing
/// controller fails by name); without cgroupfs a limit flag is refused by name.
#[test]
fn limits_on_every_layout_hold_or_fail_by_name() {
    let sb = Sandbox::new("lay-limits");
    let v2_has_pids = unified_root_controllers()
        .split_whitespace()
        .any(|c| c == "pids");
    for layout in ALL {
        let o = in_layout(
            &sb,
            layout,
            "$M --root $R --name ll --pids-limit 7 $F sh -c \
             'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max'",
        );
        match layout {
            Layout::Hybrid | Layout::V1 => assert_eq!(ok(&o).trim(), "7", "{layout:?}"),
            Layout::V2 if v2_has_pids => assert_eq!(ok(&o).trim(), "7"),
            Layout::V2 => {
                refused(&o, 125, "no pids controller");
            }
            Layout::None => {
                refused(&o, 125, "--pids-limit needs a cgroup");
            }
        }
        assert_no_leftovers(&sb, &["ll"]);
    }
}

/// `-d`, `ps`, `pause`/`resume`, `kill --all` of a paused container on every layout (a
/// detached quick-form container with `--rm`: its record and cgroups go when it dies).
#[test]
fn detached_container_commands_on_every_layout() {
    let sb = Sandbox::new("lay-detach");
    for layout in ALL {
        let o = in_layout(
            &sb,
            layout,
            "$M --root $R -d --rm --name ld $F sleep 60 >/dev/null 2>&1
             trap '$M --root $R kill --all ld KILL >/dev/null 2>&1 || true' EXIT
             $M --root $R ps ld >/dev/null && echo ps-ok
             if $M --root $R pause ld 2>&1; then echo paused; $M --root $R resume ld; $M --root $R pause ld; fi
             $M --root $R kill --all ld KILL
             i=0; while [ -e $R/ld ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
             [ -e $R/ld ] && echo record-left || echo gone",
        );
        let out = stdout(&o);
        let err = stderr(&o);
        assert_eq!(code(&o), 0, "{layout:?}: {out}{err}");
        assert!(out.ends_with("gone\n"), "{layout:?}: {out}{err}");
        match layout {
            Layout::None => assert!(
                out.contains("has no cgroup"),
                "{layout:?}: pause refused by name: {out}"
            ),
            _ => {
                assert!(out.contains("paused"), "{layout:?}: {out}{err}");
                assert!(out.contains("ps-ok"), "{layout:?}: ps: {out}{err}");
            }
        }
        assert_no_leftovers(&sb, &["ld"]);
    }
}

/// OCI create/start/exec/ps/pause/resume/kill --all/delete on every layout, with the config's
/// cgroup namespace (the exec'd process sees `/` too).
#[test]
fn oci_lifecycle_on_every_layout() {
    let sb = Sandbox::new("lay-oci");
    let _reap = Reap(&sb);
    let dir = bundle(&sb, "b", &["sleep", "60"], |c| {
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        if !ns.iter().any(|n| n["type"] == "cgroup") {
            ns.push(serde_json::json!({"type": "cgroup"}));
        }
    });
    for layout in ALL {
        let script = format!(
            "B={}
             $M --root $R create --bundle $B lo >$R/../create.log 2>&1 || {{ cat $R/../create.log; exit 3; }}
             trap '$M --root $R delete --force lo >/dev/null 2>&1 || true' EXIT
             $M --root $R start lo
             $M --root $R exec lo cat /proc/self/cgroup
             echo ---
             $M --root $R ps lo
             if $M --root $R pause lo 2>&1; then $M --root $R state lo | grep -o '\"status\": *\"[a-z]*\"'; $M --root $R resume lo; fi
             $M --root $R kill --all lo KILL 2>&1 || true
             $M --root $R delete --force lo
             echo deleted",
            dir.display()
        );
        let o = in_layout(&sb, layout, &script);
        let out = stdout(&o);
        let err = stderr(&o);
        assert_eq!(code(&o), 0, "{layout:?}: {out}{err}");
        assert!(out.ends_with("deleted\n"), "{layout:?}: {out}{err}");
        let (cgroups, rest) = out.split_once("---\n").unwrap();
        if layout != Layout::None {
            for line in cgroups.lines() {
                assert!(line.ends_with(":/"), "{layout:?}: {line} (all: {cgroups})");
            }
            assert!(rest.contains("paused"), "{layout:?}: {rest}");
        } else {
            assert!(rest.contains("has no cgroup"), "{rest}");
        }
        assert_no_leftovers(&sb, &["lo"]);
    }
}

/// Issue 21 item 4: without cgroupfs there is no device fence: CAP_MKNOD is dropped (one
/// line says so), so mknod of a block device fails; the same with `--cgroup-manager disabled`.
#[test]
fn no_device_fence_drops_mknod() {
    let sb = Sandbox::new("lay-mknod");
    let attack =
        "mknod /dev/d-$$ b 7 0 && echo made; rm -f /dev/d-$$; grep CapBnd /proc/self/status";
    let o = in_layout(
        &sb,
        Layout::None,
        &format!("$M --root $R --name lm $F sh -c '{attack}'"),
    );
    let out = stdout(&o);
    let err = stderr(&o);
    assert!(!out.contains("made"), "{out}{err}");
    assert!(err.contains("Operation not permitted"), "{err}");
    assert!(err.contains(MKNOD_DROPPED), "{err}");
    let o = sb.run(&["--cgroup-manager", "disabled"], &["sh", "-c", attack]);
    let out = stdout(&o);
    let err = stderr(&o);
    assert!(!out.contains("made"), "{out}{err}");
    assert!(err.contains("Operation not permitted"), "{err}");
    assert!(err.contains(MKNOD_DROPPED), "{err}");
    // CapBnd without bit 27.
    let bnd = out.lines().find_map(|l| l.strip_prefix("CapBnd:")).unwrap();
    let bits = u64::from_str_radix(bnd.trim(), 16).unwrap();
    assert_eq!(bits & (1 << 27), 0, "{out}");
    // --privileged (every device anyway) keeps it, as does an explicit --cap-add mknod.
    let o = sb.run(
        &["--cgroup-manager", "disabled", "--cap-add", "mknod"],
        &["sh", "-c", attack],
    );
    assert!(ok(&o).contains("made"), "{}", stderr(&o));
    // Limits need the cgroup: refused by name.
    let o = in_layout(
        &sb,
        Layout::None,
        "$M --root $R --name lm2 --memory 16m $F true",
    );
    refused(&o, 125, "--memory needs a cgroup");
    assert_no_leftovers(&sb, &["lm", "lm2"]);
}

/// Marker cgroups beside minirun's own in every hierarchy (a sibling of any container's
/// cgroup's ancestors), removed on drop.
struct Markers(Vec<PathBuf>);

impl Markers {
    fn new() -> Markers {
        let name = format!("minirun-test-marker-{}", std::process::id());
        let dirs: Vec<PathBuf> = host_hierarchies().iter().map(|d| d.join(&name)).collect();
        for d in &dirs {
            std::fs::create_dir(d).unwrap_or_else(|e| panic!("mkdir {}: {e}", d.display()));
        }
        Markers(dirs)
    }
}

impl Drop for Markers {
    fn drop(&mut self) {
        for d in &self.0 {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// Issue 21 item 1 (HIGH): a container holding CAP_SYS_ADMIN mounts each v1 hierarchy (named
/// ones too) and cgroup2: each shows its own cgroup only, with no `release_agent` (a root's
/// file: the kernel runs it as root on the host) and no marker cgroup (a sibling of minirun's
/// own); with seccomp unconfined and with Docker's profile, on the hybrid host and pure v1.
#[test]
fn cgroupfs_mounted_inside_shows_only_the_containers_own_cgroup() {
    let sb = Sandbox::new("lay-escape");
    let _markers = Markers::new();
    let keys: Vec<String> = host_v1().into_iter().map(|(_, k)| k).collect();
    assert!(keys.iter().any(|k| k == "name=systemd"), "{keys:?}");
    let inside = format!(
        "mkdir -p /tmp/m
         for o in {}; do
           if mount -t cgroup -o $o none /tmp/m; then
             echo \"$o ra=$(ls /tmp/m | grep -c release_agent) markers=$(find /tmp/m -name 'minirun-test-marker-*' | wc -l)\"
             umount /tmp/m
           else echo \"$o unmountable\"; fi
         done
         if mount -t cgroup2 none /tmp/m; then
           echo \"v2 markers=$(find /tmp/m -name 'minirun-test-marker-*' | wc -l)\"; umount /tmp/m
         fi",
        keys.join(" ")
    );
    let inside = inside.replace('\'', "'\\''");
    for layout in [Layout::Hybrid, Layout::V1] {
        for seccomp in [&["--security-opt", "seccomp=unconfined"][..], &[][..]] {
            let script = format!(
                "$M --root $R --name le --cap-add sys_admin --tmpfs /tmp {} $F sh -c '{inside}'",
                seccomp.join(" ")
            );
            let o = in_layout(&sb, layout, &script);
            let out = ok(&o);
            for key in &keys {
                let line = out
                    .lines()
                    .find(|l| l.split(' ').next() == Some(key.as_str()))
                    .unwrap_or_else(|| panic!("{layout:?} {seccomp:?}: no {key} in {out}"));
                assert_eq!(
                    line,
                    format!("{key} ra=0 markers=0"),
                    "{layout:?} {seccomp:?}: {out}"
                );
            }
            if layout == Layout::Hybrid {
                assert!(out.contains("v2 markers=0"), "{layout:?}: {out}");
            }
            assert_no_leftovers(&sb, &["le"]);
        }
    }
}
