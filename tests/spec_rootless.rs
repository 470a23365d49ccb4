//! Issue 24 item 3: `minirun spec --rootless` writes runc's rootless config (compared field by
//! field with `runc spec --rootless` on this machine), and the config runs with `minirun run`.

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn read_config(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap()
}

fn namespaces(c: &Value) -> Vec<String> {
    c["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap().to_string())
        .collect()
}

fn mount<'a>(c: &'a Value, dest: &str) -> &'a Value {
    c["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["destination"] == dest)
        .unwrap_or_else(|| panic!("no {dest} mount in {c}"))
}

#[test]
fn spec_rootless_matches_runc_and_runs() {
    let sb = Sandbox::new("spec-rootless");
    let ours = sb.scratch.join("minirun");
    let runc = sb.scratch.join("runc");
    std::fs::create_dir_all(&ours).unwrap();
    std::fs::create_dir_all(&runc).unwrap();
    ok(&sb
        .cmd(&["spec", "--rootless", "-b", ours.to_str().unwrap()])
        .output()
        .unwrap());
    let o = Command::new("runc")
        .args(["spec", "--rootless", "--bundle", runc.to_str().unwrap()])
        .output()
        .expect("runc is not installed (Debian package runc)");
    ok(&o);
    let (m, r) = (read_config(&ours), read_config(&runc));

    // The caller (root here) mapped to root, one id, for users and groups.
    for key in ["uidMappings", "gidMappings"] {
        assert_eq!(m["linux"][key], r["linux"][key], "{key}");
    }
    assert_eq!(
        m["linux"]["uidMappings"],
        serde_json::json!([{"containerID": 0, "hostID": 0, "size": 1}])
    );
    // No network namespace, a user namespace; minirun's default spec also has a cgroup
    // namespace (runc's has none, rootless or not), the only other difference.
    let (mn, rn) = (namespaces(&m), namespaces(&r));
    assert!(!mn.contains(&"network".into()) && !rn.contains(&"network".into()));
    assert_eq!(mn.iter().filter(|n| *n == "user").count(), 1, "{mn:?}");
    let mut extra: Vec<&String> = mn.iter().filter(|n| !rn.contains(n)).collect();
    extra.sort();
    assert_eq!(extra, [&"cgroup".to_string()], "{mn:?} vs runc {rn:?}");
    assert!(rn.iter().all(|n| mn.contains(n)), "{mn:?} vs runc {rn:?}");
    // No cgroup resources at all.
    assert!(r["linux"].get("resources").is_none());
    assert!(m["linux"].get("resources").is_none(), "{}", m["linux"]);
    // /sys bound from the host read-only; devpts and mqueue without uid=/gid=; same mounts.
    for dest in ["/sys", "/dev/pts", "/dev/mqueue"] {
        assert_eq!(mount(&m, dest), mount(&r, dest), "{dest}");
    }
    for rm in r["mounts"].as_array().unwrap() {
        let mm = mount(&m, rm["destination"].as_str().unwrap());
        assert_eq!((&mm["type"], &mm["source"]), (&rm["type"], &rm["source"]));
    }
    for mm in m["mounts"].as_array().unwrap() {
        for opt in mm["options"].as_array().into_iter().flatten() {
            let opt = opt.as_str().unwrap();
            assert!(!opt.starts_with("uid=") && !opt.starts_with("gid="), "{mm}");
        }
    }

    // The config runs as written, with only the rootfs and the command changed.
    let mut c = m.clone();
    c["root"]["path"] = fixture().to_str().unwrap().into();
    c["process"]["terminal"] = false.into();
    c["process"]["args"] = serde_json::json!([
        "sh",
        "-c",
        "cat /proc/self/uid_map; readlink /proc/self/ns/net; \
         grep -E ' /sys ' /proc/self/mountinfo; id -u"
    ]);
    std::fs::write(ours.join("config.json"), c.to_string()).unwrap();
    let out = ok(&sb
        .cmd(&["run", "-b", ours.to_str().unwrap(), "rootless-spec"])
        .output()
        .unwrap());
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["0", "0", "1"],
        "{out}"
    );
    let host_net = std::fs::read_link("/proc/self/ns/net").unwrap();
    assert_eq!(lines[1], host_net.to_str().unwrap(), "the host's network");
    assert!(
        lines[2]
            .split_whitespace()
            .nth(5)
            .unwrap()
            .starts_with("ro,"),
        "/sys read-only: {out}"
    );
    assert_eq!(lines.last(), Some(&"0"), "{out}");
}
