//! `minirun spec`: a default config.json with the quick form's defaults (Docker's 14
//! capabilities, namespaces, mounts, masked and read-only paths, and Docker's seccomp profile
//! resolved for those capabilities, as docker passes it), running `sh` in `rootfs`.

use crate::capability::CapSets;
use crate::capability::policy::DOCKER_DEFAULTS;
use crate::cli::SpecArgs;
use crate::seccomp;
use crate::spec::{self, QuickForm};
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// The default config as JSON (pure); `kernel` decides the profile's minKernel rules.
pub fn default_config(rootless: bool, uid: u32, gid: u32, kernel: (u32, u32)) -> Result<Value> {
    let q = QuickForm {
        rootfs: "rootfs".into(),
        args: vec!["sh".into()],
        env: spec::environment(&["TERM=xterm".into()], "minirun", "/root", |_| None),
        hostname: "minirun".into(),
        caps: CapSets {
            bounding: DOCKER_DEFAULTS,
            effective: DOCKER_DEFAULTS,
            permitted: DOCKER_DEFAULTS,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut v = serde_json::to_value(spec::build(&q)?)?;
    v["linux"]["seccomp"] = serde_json::to_value(seccomp::docker_default(DOCKER_DEFAULTS, kernel))?;
    in_kernel_order(&mut v)?;
    if rootless {
        to_rootless(&mut v, uid, gid)?;
    }
    Ok(v)
}

/// runc's `spec --rootless` changes (libcontainer/specconv ToRootless): a user namespace mapping
/// the caller to root; no network namespace (an unprivileged user cannot set up a network
/// there); /sys bound read-only from the host (sysfs refuses to mount without that network
/// namespace); no `uid=`/`gid=` mount option (gid=5 on devpts names a group that is not mapped);
/// no cgroup resources (an unprivileged user has no cgroup to write).
fn to_rootless(v: &mut Value, uid: u32, gid: u32) -> Result<()> {
    let ns = v["linux"]["namespaces"]
        .as_array_mut()
        .context("namespaces")?;
    ns.retain(|n| n["type"] != "network" && n["type"] != "user");
    ns.push(json!({"type": "user"}));
    v["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": uid, "size": 1}]);
    v["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": gid, "size": 1}]);
    if let Some(linux) = v["linux"].as_object_mut() {
        linux.remove("resources");
    }
    for m in v["mounts"].as_array_mut().context("mounts")? {
        if m["destination"] == "/sys" {
            *m = json!({"destination": "/sys", "type": "none", "source": "/sys",
                "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
        } else if let Some(o) = m["options"].as_array_mut() {
            o.retain(|x| {
                x.as_str()
                    .is_none_or(|x| !x.starts_with("uid=") && !x.starts_with("gid="))
            });
        }
    }
    Ok(())
}

/// oci-spec keeps each capability list in a hash set, so it serialises them in a new order on
/// every run; two bundles made the same way must be identical, so each list is rewritten in
/// kernel order (capabilities(7), CAP_CHOWN first).
fn in_kernel_order(v: &mut Value) -> Result<()> {
    let Some(caps) = v
        .pointer_mut("/process/capabilities")
        .and_then(Value::as_object_mut)
    else {
        return Ok(());
    };
    for list in caps.values_mut() {
        let names: Vec<String> = serde_json::from_value(list.clone())
            .context("a capability list of the default spec")?;
        let set = crate::capability::names::parse_set(&names, crate::capability::names::MAX_CAP)?;
        *list = json!(set.oci_names());
    }
    Ok(())
}

pub fn write_default(args: &SpecArgs) -> Result<()> {
    let dir = args.bundle.clone().unwrap_or_else(|| ".".into());
    let path = dir.join("config.json");
    if path.exists() {
        bail!("{} exists: remove it first", path.display());
    }
    let v = default_config(
        args.rootless,
        nix::unistd::getuid().as_raw(),
        nix::unistd::getgid().as_raw(),
        seccomp::running_kernel()?,
    )?;
    std::fs::write(&path, serde_json::to_string_pretty(&v)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_lists_are_in_kernel_order() {
        let v = default_config(false, 0, 0, (6, 1)).unwrap();
        let bounding: Vec<&str> = v["process"]["capabilities"]["bounding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(bounding.len(), 14);
        assert_eq!(
            bounding[..3],
            ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER"]
        );
        assert_eq!(bounding.last(), Some(&"CAP_SETFCAP"));
    }

    #[test]
    fn rootless_is_runcs_rootless() {
        let v = default_config(true, 1000, 1001, (6, 18)).unwrap();
        let types: Vec<&str> = v["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["pid", "ipc", "uts", "mount", "cgroup", "user"]);
        assert_eq!(v["linux"]["uidMappings"][0]["hostID"], 1000);
        assert_eq!(v["linux"]["gidMappings"][0]["hostID"], 1001);
        assert!(v["linux"].get("resources").is_none());
        let text = v["mounts"].to_string();
        assert!(!text.contains("gid=") && !text.contains("uid="), "{text}");
        let sys = v["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["destination"] == "/sys")
            .unwrap();
        assert_eq!(sys["options"][0], "rbind");
    }

    #[test]
    fn default_config_round_trips_into_a_plan() {
        for rootless in [false, true] {
            let v = default_config(rootless, 1000, 1000, (6, 18)).unwrap();
            let sc = &v["linux"]["seccomp"];
            assert_eq!(sc["defaultAction"], "SCMP_ACT_ERRNO");
            assert!(sc["syscalls"].as_array().unwrap().len() > 10);
            let spec: oci_spec::runtime::Spec = serde_json::from_value(v.clone()).unwrap();
            use crate::container::validate::{Inputs, plan};
            let plan = plan(
                &spec,
                &Inputs::lexical(&spec, std::path::Path::new("/b"), 40),
            )
            .unwrap();
            assert_eq!(plan.caps.bounding, DOCKER_DEFAULTS);
            assert!(plan.caps.ambient.is_empty() && plan.caps.inheritable.is_empty());
            assert_eq!(plan.rootfs, std::path::PathBuf::from("/b/rootfs"));
            assert_eq!(!plan.uid_mappings.is_empty(), rootless);
        }
    }
}
