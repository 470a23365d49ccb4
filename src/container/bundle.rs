//! An OCI bundle: a directory with config.json and (usually) the rootfs. Loading it reads the
//! file and refuses what does not parse into a Spec; the config's rules are validate's named
//! checks, whose host facts `inputs` reads here. A bad bundle is a one-line error and leaves
//! nothing behind.

use super::plan::Settings;
use super::validate::{Facts, Inputs};

/// What is wrong with a bundle: one line naming the path or the field; the OS's or serde's
/// error is the source.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("bundle \"{}\" does not exist", .dir.display())]
    NoBundle {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("bundle \"{}\" has no config.json", .0.display())]
    NoConfig(PathBuf),
    #[error("reading {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: invalid JSON", .path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{}: not a valid OCI runtime config", .path.display())]
    NotOci {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("linux.namespaces: unknown namespace type \"{0}\" (expected one of {list})", list = NAMESPACES.join(", "))]
    NamespaceType(String),
    #[error("config has no \"root\"")]
    NoRoot,
    #[error("root.path \"{}\" is outside the bundle {}", .root.display(), .dir.display())]
    RootOutside { root: PathBuf, dir: PathBuf },
    #[error("root.path \"{}\" does not exist", .root.display())]
    NoRootfs {
        root: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("root.path \"{}\" is not a directory", .0.display())]
    RootNotDir(PathBuf),
}

type Result<T, E = BundleError> = std::result::Result<T, E>;
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use serde_json::Value;
use std::path::{Component, Path, PathBuf};

pub struct Bundle {
    /// Absolute, canonical bundle directory.
    pub dir: PathBuf,
    pub spec: Spec,
    /// config.json as written, kept in the state directory for `exec` and the hooks.
    pub text: String,
    /// Fields present that minirun does not honour (warnings, naming each field).
    pub warnings: Vec<String>,
    /// Fields minirun ignores on purpose (debug log).
    pub notes: Vec<String>,
}

/// The namespace types the OCI spec defines for Linux.
pub const NAMESPACES: &[&str] = &[
    "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time",
];

/// Reads and checks `dir/config.json`.
pub fn load(dir: &Path) -> Result<Bundle> {
    let dir = std::fs::canonicalize(dir).map_err(|source| BundleError::NoBundle {
        dir: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join("config.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BundleError::NoConfig(dir));
        }
        Err(source) => return Err(BundleError::Read { path, source }),
    };
    let raw: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(source) => return Err(BundleError::Json { path, source }),
    };
    check_namespace_types(&raw)?;
    let (warnings, notes) = unhonoured(&raw);
    let spec: Spec = match serde_json::from_value(raw) {
        Ok(s) => s,
        Err(source) => return Err(BundleError::NotOci { path, source }),
    };
    Ok(Bundle {
        dir,
        spec,
        text,
        warnings,
        notes,
    })
}

/// An unknown namespace type named as such (serde would only say "unknown variant").
fn check_namespace_types(raw: &Value) -> Result<()> {
    for ns in raw["linux"]["namespaces"].as_array().into_iter().flatten() {
        let t = ns["type"].as_str().unwrap_or("");
        if !NAMESPACES.contains(&t) {
            return Err(BundleError::NamespaceType(t.to_string()));
        }
    }
    Ok(())
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// What minirun does not honour in a config but runs without, in two lists: warnings (the
/// caller is told) and notes (ignored on purpose, debug only). What it refuses (running
/// without it would be unsafe or wrong) is the "platform" check's (validate/checks.rs).
pub fn unhonoured(raw: &Value) -> (Vec<String>, Vec<String>) {
    let (mut warn, mut note) = (Vec::new(), Vec::new());
    let get = |path: &str| {
        path.split('.')
            .fold(raw, |v, k| v.get(k).unwrap_or(&Value::Null))
    };
    for (field, why) in [
        ("linux.intelRdt", "Intel RDT is not supported"),
        (
            "linux.netDevices",
            "moving network devices into the container is not supported",
        ),
        ("linux.mountLabel", "SELinux is not supported"),
        ("process.selinuxLabel", "SELinux is not supported"),
        ("process.apparmorProfile", "AppArmor is not supported"),
        ("process.ioPriority", "I/O priority is not supported"),
        ("process.scheduler", "scheduler policy is not supported"),
        ("process.execCPUAffinity", "CPU affinity is not supported"),
    ] {
        if present(get(field)) {
            warn.push(format!("{field} is not honoured: {why}"));
        }
    }
    for (field, why) in [(
        "process.consoleSize",
        "the pty keeps its default size until the client resizes it",
    )] {
        if present(get(field)) {
            note.push(format!("{field} ignored: {why}"));
        }
    }
    (warn, note)
}

/// root.path, taken relative to the bundle when relative. A relative path may not climb out
/// of the bundle with `..` (lexically; a symlink inside the bundle is the bundle author's
/// deliberate choice and is followed).
pub fn root_path(dir: &Path, root: &Path) -> Result<PathBuf> {
    if root.is_absolute() {
        return Ok(root.to_path_buf());
    }
    let mut depth: i32 = 0;
    for c in root.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return Err(BundleError::RootOutside {
                root: root.to_path_buf(),
                dir: dir.to_path_buf(),
            });
        }
    }
    Ok(dir.join(root))
}

/// The validation pass's inputs for a bundle: the rootfs checked and made canonical, and the
/// host facts the checks need (the cgroup request's source is the caller's to set).
pub fn inputs(b: &Bundle, last_cap: u8, settings: Settings) -> Result<Inputs> {
    let root = b.spec.root().as_ref().ok_or(BundleError::NoRoot)?;
    let rootfs = root_path(&b.dir, root.path())?;
    let rootfs = std::fs::canonicalize(&rootfs).map_err(|source| BundleError::NoRootfs {
        root: root.path().clone(),
        source,
    })?;
    if !rootfs.is_dir() {
        return Err(BundleError::RootNotDir(root.path().clone()));
    }
    Ok(Inputs {
        base: b.dir.clone(),
        rootfs,
        last_cap,
        settings,
        seccomp: None,
        facts: Facts {
            host_namespaces: host_namespaces(&b.spec),
            ..Facts::default()
        },
    })
}

/// The types of the namespaces `spec` joins by a path that is the runtime's own (same device
/// and inode as /proc/self/ns/...): a sysctl of such a namespace would be set on the host.
pub fn host_namespaces(spec: &Spec) -> Vec<LinuxNamespaceType> {
    use std::os::unix::fs::MetadataExt;
    let linux = spec.linux().clone().unwrap_or_default();
    linux
        .namespaces()
        .iter()
        .flatten()
        .filter_map(|n| {
            let path = n.path().as_ref()?;
            let ours = format!("/proc/self/ns/{}", proc_ns_name(n.typ()));
            let (theirs, ours) = (std::fs::metadata(path).ok()?, std::fs::metadata(ours).ok()?);
            ((theirs.dev(), theirs.ino()) == (ours.dev(), ours.ino())).then_some(n.typ())
        })
        .collect()
}

/// The name of a namespace type under /proc/PID/ns.
fn proc_ns_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Time => "time",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_roots() {
        let d = Path::new("/b");
        assert_eq!(
            root_path(d, Path::new("rootfs")).unwrap(),
            PathBuf::from("/b/rootfs")
        );
        assert_eq!(
            root_path(d, Path::new("a/../rootfs")).unwrap(),
            PathBuf::from("/b/a/../rootfs")
        );
        let e = root_path(d, Path::new("../rootfs"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("outside the bundle"), "{e}");
        assert!(root_path(d, Path::new("a/../../x")).is_err());
        assert_eq!(
            root_path(d, Path::new("/abs")).unwrap(),
            PathBuf::from("/abs")
        );
    }

    #[test]
    fn unhonoured_fields_are_named() {
        let raw: Value = serde_json::from_str(
            r#"{"linux":{"resources":{"devices":[{"allow":false,"access":"rwm"}]},
                "seccomp":{"defaultAction":"SCMP_ACT_ERRNO"},"cgroupsPath":"/x",
                "intelRdt":{}, "timeOffsets":{"monotonic":{"secs":1}}},
                "process":{"apparmorProfile":"docker-default"}, "windows":{"layerFolders":["x"]}}"#,
        )
        .unwrap();
        let (warn, note) = unhonoured(&raw);
        // linux.resources (cgroups) and linux.seccomp are honoured.
        assert!(!warn.iter().any(|w| w.starts_with("linux.resources ")));
        assert!(!warn.iter().any(|w| w.starts_with("linux.seccomp ")));
        assert!(
            warn.iter()
                .any(|w| w.starts_with("process.apparmorProfile "))
        );
        // An empty object says nothing.
        assert!(!warn.iter().any(|w| w.starts_with("linux.intelRdt")));
        assert!(!note.iter().any(|n| n.starts_with("linux.cgroupsPath")));
        // Refusals (timeOffsets, windows) are the "platform" check's, not warnings.
        assert!(
            !warn
                .iter()
                .any(|w| w.starts_with("linux.timeOffsets") || w.starts_with("windows"))
        );
        let (w, n) = unhonoured(&serde_json::json!({"process": {"args": ["sh"]}}));
        assert!(w.is_empty() && n.is_empty());
    }

    #[test]
    fn unknown_namespace_is_named() {
        let raw =
            serde_json::json!({"linux": {"namespaces": [{"type": "pid"}, {"type": "bogus"}]}});
        let e = check_namespace_types(&raw).unwrap_err().to_string();
        assert!(e.contains("\"bogus\""), "{e}");
    }

    #[test]
    fn the_runtimes_own_namespaces_are_found() {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.0.2",
            "linux": {"namespaces": [
                {"type": "network", "path": format!("/proc/{}/ns/net", std::process::id())},
                {"type": "uts"},
                {"type": "pid", "path": "/no/such/ns"}]}
        }))
        .unwrap();
        let found = host_namespaces(&spec);
        // Ours by another name (/proc/PID/ns of this process) is ours; no path, or a path that
        // does not exist, is not.
        assert!(found.contains(&LinuxNamespaceType::Network), "{found:?}");
        assert!(!found.contains(&LinuxNamespaceType::Uts));
        assert!(!found.contains(&LinuxNamespaceType::Pid));
    }
}
