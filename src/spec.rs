//! The quick form's flags turned into an OCI runtime Spec with Docker's defaults.
//!
//! Pure: nothing here touches the system. The Spec is written as the config.json it stands for,
//! so a reader can compare it line by line with `docker inspect` or `runc spec` output.

use crate::capability::CapSets;
use crate::capability::identity::Identity;
use oci_spec::runtime::Spec;
use serde_json::{Value, json};

/// The OCI runtime-spec version minirun writes (config.json, state, hook and listener state):
/// the one place it is spelled (a test checks).
pub const OCI_VERSION: &str = "1.0.2";

/// Docker's PATH for containers whose image sets none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Paths Docker hides from containers: host information that leaks through /proc and /sys.
pub const MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths Docker leaves visible but read-only: writing them would change the host kernel.
pub const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Network {
    /// A new network namespace with only the loopback interface, brought up.
    #[default]
    None,
    /// The host's network namespace.
    Host,
}

impl Network {
    /// Every value, for the command line's `--network`.
    pub const ALL: [Network; 2] = [Network::None, Network::Host];

    /// The `--network` spelling.
    pub fn name(self) -> &'static str {
        match self {
            Network::None => "none",
            Network::Host => "host",
        }
    }

    /// What the value means, for `--help`.
    pub fn about(self) -> &'static str {
        match self {
            Network::None => "A new network namespace with only the loopback interface, brought up",
            Network::Host => "The host's network namespace",
        }
    }
}

/// Everything the quick form decides, in resolved form.
#[derive(Debug, Clone, Default)]
pub struct QuickForm {
    pub rootfs: String,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: Option<String>,
    pub hostname: String,
    pub network: Network,
    pub read_only: bool,
    pub privileged: bool,
    pub no_new_privileges: bool,
    pub identity: Identity,
    pub caps: CapSets,
    /// `-v`, `--mount`, `--tmpfs`: OCI mounts, after Docker's own (commands/storage.rs).
    pub mounts: Vec<Value>,
}

/// Builds the environment as Docker does: PATH, HOSTNAME and HOME first, then `-e` values
/// (later ones win, `-e NAME` without `=` takes the value from `host_env`).
pub fn environment(
    user_env: &[String],
    hostname: &str,
    home: &str,
    host_env: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    let mut env: Vec<(String, String)> = vec![
        ("PATH".into(), DEFAULT_PATH.into()),
        ("HOSTNAME".into(), hostname.into()),
        ("HOME".into(), home.into()),
    ];
    for item in user_env {
        let (k, v) = match item.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => match host_env(item) {
                Some(v) => (item.clone(), v),
                None => continue,
            },
        };
        match env.iter_mut().find(|(ek, _)| *ek == k) {
            Some(slot) => slot.1 = v,
            None => env.push((k, v)),
        }
    }
    env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

fn mount(dest: &str, typ: &str, source: &str, options: &[&str]) -> Value {
    json!({"destination": dest, "type": typ, "source": source, "options": options})
}

/// The quick form's choices did not make a valid Spec (a value the flags let through that
/// the Spec's types refuse); serde's line is the source.
#[derive(Debug, thiserror::Error)]
#[error("building the container spec")]
pub struct BuildError(#[source] serde_json::Error);

/// The Spec for a quick-form run.
pub fn build(q: &QuickForm) -> Result<Spec, BuildError> {
    let mut namespaces = vec!["pid", "ipc", "uts", "mount", "cgroup"];
    if q.network == Network::None {
        namespaces.push("network");
    }
    let sys_opts: &[&str] = if q.privileged {
        &["nosuid", "noexec", "nodev", "rw"]
    } else {
        &["nosuid", "noexec", "nodev", "ro"]
    };
    let (masked, readonly): (&[&str], &[&str]) = if q.privileged {
        (&[], &[])
    } else {
        (MASKED_PATHS, READONLY_PATHS)
    };
    let c = &q.caps;
    let mut spec = json!({
        "ociVersion": OCI_VERSION,
        "root": {"path": q.rootfs, "readonly": q.read_only},
        "hostname": q.hostname,
        "process": {
            "terminal": false,
            "args": q.args,
            "env": q.env,
            "cwd": q.cwd.as_deref().unwrap_or("/"),
            "user": {
                "uid": q.identity.uid,
                "gid": q.identity.gid,
                "additionalGids": q.identity.additional_gids,
            },
            "noNewPrivileges": q.no_new_privileges,
            "capabilities": c.oci_json(),
        },
        "mounts": [
            mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
            mount("/dev", "tmpfs", "tmpfs", &["nosuid", "strictatime", "mode=755", "size=65536k"]),
            mount("/dev/pts", "devpts", "devpts",
                &["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
            mount("/sys", "sysfs", "sysfs", sys_opts),
            // Docker's view of the container's own cgroups (see container::cgroup_view).
            mount("/sys/fs/cgroup", "cgroup", "cgroup", sys_opts),
            mount("/dev/mqueue", "mqueue", "mqueue", &["nosuid", "noexec", "nodev"]),
            mount("/dev/shm", "tmpfs", "shm", &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
        ],
        "linux": {
            "namespaces": namespaces.iter().map(|t| json!({"type": t})).collect::<Vec<_>>(),
            "maskedPaths": masked,
            "readonlyPaths": readonly,
            // Docker's device rules: CAP_MKNOD makes nodes, this decides which may be opened.
            "resources": {"devices": crate::cgroups::devices::oci_defaults(q.privileged)},
        },
    });
    if let Some(list) = spec["mounts"].as_array_mut() {
        list.extend(q.mounts.iter().cloned());
    }
    serde_json::from_value(spec).map_err(BuildError)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::policy::{self, CapRequest, Environment};
    use crate::capability::{CapSet, names};
    use oci_spec::runtime::LinuxNamespaceType;

    fn caps_for(add: &[&str], drop: &[&str], uid: u32) -> CapSets {
        let env = Environment {
            kernel: CapSet::all_up_to(40),
            held: CapSet::all_up_to(40),
        };
        let req = CapRequest {
            add: names::parse_list(add, 40).unwrap(),
            drop: names::parse_list(drop, 40).unwrap(),
            privileged: false,
        };
        policy::sets_for(&policy::resolve(&req, env).unwrap(), uid)
    }

    /// The version is spelled once (OCI_VERSION) in the code the runtime runs; test data
    /// (after `#[cfg(test)]`) may spell out whole configs.
    #[test]
    fn the_oci_version_is_written_in_one_place() {
        fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    let text = std::fs::read_to_string(&p).unwrap();
                    let code = text.split("#[cfg(test)]").next().unwrap_or("");
                    for (n, line) in code.lines().enumerate() {
                        if line.contains(OCI_VERSION) {
                            out.push(format!("{}:{}", p.display(), n + 1));
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("src/spec.rs:"), "{found:?}");
    }

    fn quick() -> QuickForm {
        QuickForm {
            rootfs: "/tmp/rootfs".into(),
            args: vec!["sleep".into(), "5".into()],
            env: environment(&[], "abc123", "/root", |_| None),
            hostname: "abc123".into(),
            caps: caps_for(&[], &[], 0),
            ..Default::default()
        }
    }

    fn cap_set(spec: &Spec, which: &str) -> CapSet {
        let v = serde_json::to_value(spec).unwrap();
        let names: Vec<String> =
            serde_json::from_value(v["process"]["capabilities"][which].clone()).unwrap();
        names::parse_set(&names, 40).unwrap()
    }

    #[test]
    fn defaults_match_docker() {
        let spec = build(&quick()).unwrap();
        assert_eq!(cap_set(&spec, "bounding"), policy::DOCKER_DEFAULTS);
        assert_eq!(cap_set(&spec, "effective"), policy::DOCKER_DEFAULTS);
        assert_eq!(cap_set(&spec, "permitted"), policy::DOCKER_DEFAULTS);
        assert!(cap_set(&spec, "inheritable").is_empty());
        assert!(cap_set(&spec, "ambient").is_empty());
        let linux = spec.linux().as_ref().unwrap();
        let ns: Vec<_> = linux
            .namespaces()
            .as_ref()
            .unwrap()
            .iter()
            .map(|n| n.typ())
            .collect();
        for t in [
            LinuxNamespaceType::Pid,
            LinuxNamespaceType::Network,
            LinuxNamespaceType::Ipc,
            LinuxNamespaceType::Uts,
            LinuxNamespaceType::Mount,
            LinuxNamespaceType::Cgroup,
        ] {
            assert!(ns.contains(&t), "{t:?} missing");
        }
        let masked = linux.masked_paths().as_ref().unwrap();
        assert!(masked.iter().any(|p| p == "/proc/kcore"));
        assert!(
            linux
                .readonly_paths()
                .as_ref()
                .unwrap()
                .iter()
                .any(|p| p == "/proc/sys")
        );
        assert_eq!(spec.hostname().as_deref(), Some("abc123"));
        assert!(!spec.root().as_ref().unwrap().readonly().unwrap_or(false));
    }

    #[test]
    fn host_network_has_no_net_namespace() {
        let q = QuickForm {
            network: Network::Host,
            ..quick()
        };
        let spec = build(&q).unwrap();
        let ns = spec.linux().as_ref().unwrap().namespaces().clone().unwrap();
        assert!(!ns.iter().any(|n| n.typ() == LinuxNamespaceType::Network));
    }

    #[test]
    fn privileged_unmasks_and_sys_is_writable() {
        let q = QuickForm {
            privileged: true,
            ..quick()
        };
        let spec = build(&q).unwrap();
        let linux = spec.linux().as_ref().unwrap();
        assert!(linux.masked_paths().as_ref().unwrap().is_empty());
        assert!(linux.readonly_paths().as_ref().unwrap().is_empty());
        let sys = spec
            .mounts()
            .as_ref()
            .unwrap()
            .iter()
            .find(|m| m.destination().to_str() == Some("/sys"))
            .unwrap();
        assert!(sys.options().as_ref().unwrap().iter().any(|o| o == "rw"));
    }

    #[test]
    fn non_root_user_with_cap_add_gets_ambient() {
        let q = QuickForm {
            identity: Identity {
                uid: 1000,
                gid: 1000,
                additional_gids: vec![3000],
                home: "/home/app".into(),
            },
            caps: caps_for(&["net_bind_service"], &[], 1000),
            ..quick()
        };
        let spec = build(&q).unwrap();
        assert_eq!(cap_set(&spec, "ambient"), CapSet::of(&[10]));
        assert_eq!(cap_set(&spec, "inheritable"), CapSet::of(&[10]));
        let user = spec.process().as_ref().unwrap().user();
        assert_eq!((user.uid(), user.gid()), (1000, 1000));
        assert_eq!(user.additional_gids().as_deref(), Some(&[3000u32][..]));
    }

    #[test]
    fn environment_follows_docker() {
        let env = environment(
            &[
                "A=1".into(),
                "PATH=/bin".into(),
                "FROMHOST".into(),
                "MISSING".into(),
                "A=2".into(),
            ],
            "h",
            "/home/app",
            |k| (k == "FROMHOST").then(|| "yes".to_string()),
        );
        assert_eq!(
            env,
            vec![
                "PATH=/bin",
                "HOSTNAME=h",
                "HOME=/home/app",
                "A=2",
                "FROMHOST=yes"
            ]
        );
    }
}
