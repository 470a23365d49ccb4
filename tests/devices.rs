//! Device nodes and device access: OCI `linux.devices` are made with mknod and openable,
//! and a config without device rules opens no host device (runc's deny by default).
mod common;

use common::bundles::*;
use common::*;
use serde_json::{Value, json};

/// A loop device over a 4 KiB file in the sandbox: a host block device the host itself can
/// read (this machine refuses even root a read of its own disk). Detached on drop.
struct Loop {
    path: String,
    major: u32,
    minor: u32,
}

impl Loop {
    fn new(sb: &Sandbox) -> Loop {
        let img = sb.scratch.join("disk.img");
        std::fs::write(&img, vec![0x5a; 4096]).unwrap();
        let o = std::process::Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&img)
            .output()
            .expect("losetup (util-linux mount) is needed");
        let path = ok(&o).trim().to_string();
        let rdev = std::os::unix::fs::MetadataExt::rdev(&std::fs::metadata(&path).unwrap());
        Loop {
            path,
            major: libc::major(rdev),
            minor: libc::minor(rdev),
        }
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("losetup")
            .args(["-d", &self.path])
            .status();
    }
}

/// runc's `spec` rules: deny everything, nothing else (podman's and runc's default).
fn deny_all(c: &mut Value) {
    c["linux"]["resources"] = json!({"devices": [{"allow": false, "access": "rwm"}]});
}

/// 20.6: each listed node is made with mknod (type, numbers, mode, owner as given) and the
/// container may open it; under the old code mknod met minirun's own deny rule and the
/// fallback bound the host's /dev/test1, which does not exist (ENOENT).
#[test]
fn listed_devices_are_made_and_usable() {
    let sb = Sandbox::new("dev-listed");
    let _reap = Reap(&sb);
    let disk = Loop::new(&sb);
    let (major, minor) = (disk.major, disk.minor);
    let script = "stat -c '%n %F %t:%T %a %u:%g' /dev/test1 /dev/test2 /dev/test3; \
                  head -c 512 /dev/test2 | wc -c";
    let dir = bundle(&sb, "b", &["sh", "-c", script], |c| {
        deny_all(c);
        c["linux"]["devices"] = json!([
            {"path": "/dev/test1", "type": "c", "major": 10, "minor": 666, "fileMode": 0o640,
             "uid": 1000, "gid": 1001},
            {"path": "/dev/test2", "type": "b", "major": major, "minor": minor, "fileMode": 0o600},
            {"path": "/dev/test3", "type": "p", "major": 0, "minor": 0, "fileMode": 0o620},
        ]);
    });
    assert!(!std::path::Path::new("/dev/test1").exists());
    let out = ok(&oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), "d1"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "/dev/test1 character special file a:29a 640 1000:1001"
    );
    assert_eq!(
        lines[1],
        format!("/dev/test2 block special file {major:x}:{minor:x} 600 0:0")
    );
    assert_eq!(lines[2], "/dev/test3 fifo 0:0 620 0:0");
    assert_eq!(
        lines[3].trim(),
        "512",
        "the listed disk is not readable: {out}"
    );
}

/// In a user namespace mknod is impossible: the host's node is bound instead, and only a
/// node the host has, with the very numbers listed; anything else is a one-line refusal.
#[test]
fn in_a_user_namespace_only_the_hosts_own_node_is_bound() {
    let sb = Sandbox::new("dev-userns");
    let _reap = Reap(&sb);
    let userns = |c: &mut Value| {
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user"}));
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    };
    let dir = bundle(
        &sb,
        "ok",
        &[
            "sh",
            "-c",
            "echo x > /dev/full2; echo $?; stat -c %t:%T /dev/full2",
        ],
        |c| {
            userns(c);
            c["linux"]["devices"] =
                json!([{"path": "/dev/full2", "type": "c", "major": 1, "minor": 7}]);
        },
    );
    // The host has no /dev/full2: refused, naming it.
    let o = oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), "u1"]);
    assert_ne!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the host has no /dev/full2"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    // The host's /dev/full, listed with its own numbers, is bound.
    let dir = bundle(
        &sb,
        "full",
        &[
            "sh",
            "-c",
            "echo x > /dev/full 2>/dev/null; echo $?; stat -c %t:%T /dev/full",
        ],
        |c| {
            userns(c);
            c["linux"]["devices"] =
                json!([{"path": "/dev/full", "type": "c", "major": 1, "minor": 7}]);
        },
    );
    assert_eq!(
        ok(&oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), "u2"])),
        "1\n1:7\n"
    );
    // The host's /dev/null listed as another device is not bound in its place.
    let dir = bundle(&sb, "lie", &["true"], |c| {
        userns(c);
        c["linux"]["devices"] = json!([{"path": "/dev/null", "type": "b", "major": 7, "minor": 0}]);
    });
    let o = oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), "u3"]);
    assert_ne!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("is not device 7:0"), "{}", stderr(&o));
    assert!(records_in(&sb.root).is_empty());
}

/// 21.3: with `linux.resources.devices` absent or `[]`, a container holding CAP_MKNOD may
/// make a node for the host's disk but not open it (runc 1.1.5 refuses the same configs'
/// open with EPERM); the old code attached no device program at all and the read worked.
/// An explicit allow rule in the config is still honoured.
#[test]
fn a_config_without_device_rules_opens_no_host_disk() {
    let sb = Sandbox::new("dev-norules");
    let _reap = Reap(&sb);
    let disk = Loop::new(&sb);
    let (name, major, minor) = (&disk.path, disk.major, disk.minor);
    let script = format!(
        "mknod /dev/hostdisk b {major} {minor} && echo made; head -c 512 /dev/hostdisk | wc -c; \
         head -c 1 /dev/zero | wc -c"
    );
    for (tag, devices) in [("absent", None), ("empty", Some(json!([])))] {
        let dir = bundle(&sb, tag, &["sh", "-c", &script], |c| match &devices {
            None => {
                c["linux"].as_object_mut().unwrap().remove("resources");
            }
            Some(d) => c["linux"]["resources"] = json!({"devices": d}),
        });
        let o = oci(&sb, &["run", "--bundle", dir.to_str().unwrap(), tag]);
        let out = ok(&o);
        assert_eq!(
            out.split_whitespace().collect::<Vec<_>>(),
            ["made", "0", "1"],
            "{tag}: the host's {name} was readable: {out} {}",
            stderr(&o)
        );
        assert!(
            stderr(&o).contains("Operation not permitted"),
            "{tag}: {}",
            stderr(&o)
        );
    }
    let dir = bundle(&sb, "allowed", &["sh", "-c", &script], |c| {
        c["linux"]["resources"] = json!({"devices": [
            {"allow": true, "type": "b", "major": major, "minor": minor, "access": "r"}]});
    });
    let out = ok(&oci(
        &sb,
        &["run", "--bundle", dir.to_str().unwrap(), "allowed"],
    ));
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["made", "512", "1"]
    );
}
