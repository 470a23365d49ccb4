//! Where a container's cgroup goes: OCI `linux.cgroupsPath` read as runc reads it.

use std::path::{Component, Path, PathBuf};

use super::Result;

/// Parent of the default cgroups before issue 25: a record or leftover may still name it.
pub const DEFAULT_PARENT: &str = "minirun";

/// Prefix of a default cgroup's name, `<own cgroup>/minirun.<id>`: a flat leaf, so a launch
/// makes and removes one directory per hierarchy, not a shared parent as well (which, kept,
/// would sit empty in the supervisor's memory cgroup and block its removal). A '.', not a
/// '-': `sweep` removes every leaf so named, and `minirun-...` is what people (and this
/// repository's tests) call cgroups of their own.
pub const DEFAULT_PREFIX: &str = "minirun.";

/// Pure: the name of container `id`'s default cgroup.
pub fn default_leaf(id: &str) -> String {
    format!("{DEFAULT_PREFIX}{id}")
}

/// Pure: the container id a default cgroup's name holds (None: not one of ours).
pub fn default_id(leaf: &str) -> Option<&str> {
    leaf.strip_prefix(DEFAULT_PREFIX)
        .filter(|id| !id.is_empty())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// `<own cgroup>/minirun.<id>`: nothing asked for.
    Default,
    /// From the hierarchy's root (`/docker/abc`).
    Absolute(PathBuf),
    /// Below the runtime's own cgroup.
    Relative(PathBuf),
    /// runc's `--systemd-cgroup` form `slice:prefix:name`: a transient scope systemd creates.
    Systemd {
        slice: String,
        prefix: String,
        name: String,
    },
}

impl Placement {
    /// Pure: the placement an OCI `cgroupsPath` asks for (`None` or empty: the default). With
    /// `systemd`, the path must be runc's `slice:prefix:name`.
    pub fn parse(cgroups_path: Option<&str>, systemd: bool) -> Result<Placement> {
        let path = cgroups_path.unwrap_or("");
        if systemd {
            let parts: Vec<&str> = path.split(':').collect();
            let [slice, prefix, name] = parts[..] else {
                bail!(
                    "cgroupsPath {path:?}: the systemd cgroup manager expects \"slice:prefix:name\""
                );
            };
            if name.is_empty() || name.contains('/') || slice.contains('/') || prefix.contains('/')
            {
                bail!(
                    "cgroupsPath {path:?}: slice, prefix and name hold no '/' and name is not empty"
                );
            }
            return Ok(Placement::Systemd {
                slice: slice.to_string(),
                prefix: prefix.to_string(),
                name: name.to_string(),
            });
        }
        if path.is_empty() {
            return Ok(Placement::Default);
        }
        if path.contains('\0') {
            bail!("cgroupsPath {path:?} holds a NUL byte");
        }
        let p = Path::new(path);
        if p.components().any(|c| c == Component::ParentDir) {
            bail!("cgroupsPath {path:?} climbs with '..'");
        }
        // Lexically clean: "//a/./b/" and "/a/b" are one cgroup.
        let clean: PathBuf = p
            .components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .collect();
        if clean.as_os_str().is_empty() {
            bail!("cgroupsPath {path:?} names the hierarchy's root, which no container may own");
        }
        Ok(if p.is_absolute() {
            Placement::Absolute(Path::new("/").join(clean))
        } else {
            Placement::Relative(clean)
        })
    }

    /// Pure: the cgroup (as the kernel names it) for container `id` in a hierarchy where the
    /// runtime's own cgroup is `own`. With `confined`, an absolute path lands below `own` too:
    /// the hierarchy is delegated to us at `own` and nothing above it is ours to create in.
    pub fn resolve(&self, own: &Path, id: &str, confined: bool) -> Result<PathBuf> {
        if id.is_empty() || id.contains('/') || id == "." || id == ".." {
            bail!("container id {id:?} cannot name a cgroup");
        }
        Ok(match self {
            Placement::Default => own.join(default_leaf(id)),
            Placement::Relative(rel) => own.join(rel),
            Placement::Absolute(abs) if confined && !abs.starts_with(own) => {
                own.join(abs.strip_prefix("/").unwrap_or(abs))
            }
            Placement::Absolute(abs) => abs.clone(),
            Placement::Systemd {
                slice,
                prefix,
                name,
            } => {
                let unit = if prefix.is_empty() {
                    format!("{name}.scope")
                } else {
                    format!("{prefix}-{name}.scope")
                };
                systemd_slice_path(slice)?.join(unit)
            }
        })
    }
}

/// systemd's slice naming: `a-b-c.slice` lives at `/a.slice/a-b.slice/a-b-c.slice`; an empty
/// slice is `system.slice`, `-.slice` is the root.
pub fn systemd_slice_path(slice: &str) -> Result<PathBuf> {
    let slice = if slice.is_empty() {
        "system.slice"
    } else {
        slice
    };
    if slice == "-.slice" {
        return Ok(PathBuf::from("/"));
    }
    let Some(stem) = slice.strip_suffix(".slice") else {
        bail!("systemd slice {slice:?} does not end in .slice");
    };
    if stem.is_empty() || stem.starts_with('-') || stem.ends_with('-') || stem.contains("--") {
        bail!("systemd slice {slice:?} is not a valid slice name");
    }
    let mut path = PathBuf::from("/");
    let mut prefix = String::new();
    for part in stem.split('-') {
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        path.push(format!("{prefix}.slice"));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(path: Option<&str>, own: &str, confined: bool) -> PathBuf {
        Placement::parse(path, false)
            .unwrap()
            .resolve(Path::new(own), "c1", confined)
            .unwrap()
    }

    #[test]
    fn runc_readings_of_cgroups_path() {
        assert_eq!(resolve(None, "/", false), Path::new("/minirun.c1"));
        assert_eq!(
            resolve(Some(""), "/user", false),
            Path::new("/user/minirun.c1")
        );
        assert_eq!(default_id("minirun.c1@0a1b2c3d"), Some("c1@0a1b2c3d"));
        for other in ["minirun", "minirun.", "minirun-test-v1-7", "docker-c1"] {
            assert_eq!(default_id(other), None, "{other}");
        }
        assert_eq!(
            resolve(Some("/docker/abc"), "/user", false),
            Path::new("/docker/abc")
        );
        assert_eq!(
            resolve(Some("//docker/./abc/"), "/", false),
            Path::new("/docker/abc")
        );
        assert_eq!(
            resolve(Some("pod/abc"), "/user", false),
            Path::new("/user/pod/abc")
        );
    }

    #[test]
    fn confined_hierarchy_keeps_absolute_paths_below_our_own_cgroup() {
        assert_eq!(
            resolve(Some("/docker/abc"), "/process_api/x", true),
            Path::new("/process_api/x/docker/abc")
        );
        assert_eq!(
            resolve(Some("/process_api/x/mine"), "/process_api/x", true),
            Path::new("/process_api/x/mine")
        );
        assert_eq!(
            resolve(None, "/process_api/x", true),
            Path::new("/process_api/x/minirun.c1")
        );
    }

    #[test]
    fn bad_paths_and_ids_are_refused_by_name() {
        for bad in ["../escape", "/a/../../b", "/", "a\0b"] {
            let err = Placement::parse(Some(bad), false).unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
        let err = Placement::Default
            .resolve(Path::new("/"), "a/b", false)
            .unwrap_err();
        assert!(err.to_string().contains("\"a/b\""), "{err}");
    }

    #[test]
    fn systemd_form() {
        let p = Placement::parse(Some("system.slice:docker:abc"), true).unwrap();
        assert_eq!(
            p,
            Placement::Systemd {
                slice: "system.slice".into(),
                prefix: "docker".into(),
                name: "abc".into()
            }
        );
        assert_eq!(
            p.resolve(Path::new("/"), "abc", false).unwrap(),
            Path::new("/system.slice/docker-abc.scope")
        );
        let p = Placement::parse(Some("user-1000-app.slice::x"), true).unwrap();
        assert_eq!(
            p.resolve(Path::new("/"), "x", false).unwrap(),
            Path::new("/user.slice/user-1000.slice/user-1000-app.slice/x.scope")
        );
        for (bad, named) in [
            ("/docker/abc", "/docker/abc"),
            ("a:b", "a:b"),
            ("a.slice:b:c:d", "c:d"),
            ("bad:p:n", "\"bad\""),
        ] {
            let err = Placement::parse(Some(bad), true)
                .and_then(|p| p.resolve(Path::new("/"), "n", false))
                .unwrap_err();
            assert!(err.to_string().contains(named), "{err}");
        }
    }
}
