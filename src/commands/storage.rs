//! Docker's storage flags for the quick form, turned into OCI mounts (pure): `-v/--volume
//! HOST:CONTAINER[:OPTS]`, `--mount type=bind|tmpfs,...` and `--tmpfs PATH[:OPTS]`. They are
//! mounted by the one launch path as a config.json's mounts are (container/rootfs.rs), so
//! `--read-only --tmpfs /tmp` gives a read-only root with a writable /tmp, as with Docker.
//!
//! Named and anonymous volumes need a volume store, which minirun does not have: refused by name.
//! A bind source must exist (Docker's `--mount` rule; `-v` would create it on the host, which a
//! teaching runtime should not do behind the user's back).

use anyhow::{Result, bail};
use serde_json::{Value, json};
use std::path::Path;

/// Docker's options for every `--tmpfs` before the user's own (which may override them).
const TMPFS_DEFAULTS: [&str; 3] = ["noexec", "nosuid", "nodev"];

/// Propagation modes a bind accepts (Docker's `bind-propagation` and `-v` options).
const PROPAGATION: [&str; 6] = [
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];

/// All storage flags as OCI mounts, in the order given (`-v`, then `--mount`, then `--tmpfs`).
/// `exists` says whether a host path exists (the caller's filesystem; a parameter for tests).
pub fn mounts(
    volumes: &[String],
    mount: &[String],
    tmpfs: &[String],
    exists: impl Fn(&Path) -> bool,
) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for v in volumes {
        out.push(volume(v, &exists)?);
    }
    for m in mount {
        out.push(mount_flag(m, &exists)?);
    }
    for t in tmpfs {
        out.push(tmpfs_flag(t)?);
    }
    let mut seen = std::collections::HashSet::new();
    for m in &out {
        let dest = m["destination"].as_str().unwrap_or_default();
        if !seen.insert(dest.to_string()) {
            bail!("duplicate mount point: {dest}");
        }
    }
    Ok(out)
}

fn target(flag: &str, value: &str, dest: &str) -> Result<String> {
    if !dest.starts_with('/') {
        bail!("{flag} \"{value}\": the container path \"{dest}\" must be absolute");
    }
    let clean = Path::new(dest);
    if clean.components().count() == 1 || clean.components().any(|c| c.as_os_str() == "..") {
        bail!("{flag} \"{value}\": the container path \"{dest}\" cannot be / or contain ..");
    }
    Ok(dest.trim_end_matches('/').to_string())
}

fn bind(source: &str, dest: String, readonly: bool, propagation: Option<&str>) -> Value {
    let mut options = vec![
        "rbind".to_string(),
        if readonly { "ro" } else { "rw" }.into(),
    ];
    options.extend(propagation.map(str::to_string));
    json!({"destination": dest, "type": "bind", "source": source, "options": options})
}

fn bind_source(
    flag: &str,
    value: &str,
    source: &str,
    exists: impl Fn(&Path) -> bool,
) -> Result<()> {
    if !source.starts_with('/') {
        bail!(
            "{flag} \"{value}\": \"{source}\" is not an absolute host path (minirun has no named volumes)"
        );
    }
    if !exists(Path::new(source)) {
        bail!("{flag} \"{value}\": bind source path does not exist: {source}");
    }
    Ok(())
}

/// `-v HOST:CONTAINER[:ro|rw|PROPAGATION,...]`
fn volume(v: &str, exists: impl Fn(&Path) -> bool) -> Result<Value> {
    let parts: Vec<&str> = v.split(':').collect();
    let (source, dest, opts) = match parts.as_slice() {
        [s, d] => (*s, *d, ""),
        [s, d, o] => (*s, *d, *o),
        [_] => bail!(
            "-v \"{v}\": anonymous volumes are not supported: give HOST:CONTAINER, or --tmpfs {v}"
        ),
        _ => bail!("-v \"{v}\": expected HOST:CONTAINER[:OPTIONS]"),
    };
    bind_source("-v", v, source, exists)?;
    let dest = target("-v", v, dest)?;
    let mut readonly = false;
    let mut propagation = None;
    for o in opts.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => readonly = true,
            "rw" => readonly = false,
            p if PROPAGATION.contains(&p) => propagation = Some(p),
            other => {
                bail!("-v \"{v}\": unknown option \"{other}\" (ro, rw, or a propagation mode)")
            }
        }
    }
    Ok(bind(source, dest, readonly, propagation))
}

/// `--mount type=bind|tmpfs,source=,target=,readonly,...` (Docker's key names and aliases).
fn mount_flag(m: &str, exists: impl Fn(&Path) -> bool) -> Result<Value> {
    let (mut typ, mut source, mut dest) = (None, None, None);
    let (mut readonly, mut propagation) = (false, None);
    let mut tmpfs_opts = Vec::new();
    for field in m.split(',') {
        let (k, val) = match field.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (field, None),
        };
        match (k, val) {
            ("type", Some(t)) => typ = Some(t),
            ("source" | "src", Some(s)) => source = Some(s),
            ("target" | "destination" | "dst", Some(d)) => dest = Some(d),
            ("readonly" | "ro", None | Some("true" | "1")) => readonly = true,
            ("readonly" | "ro", Some("false" | "0")) => readonly = false,
            ("bind-propagation", Some(p)) if PROPAGATION.contains(&p) => propagation = Some(p),
            ("tmpfs-size", Some(s)) => tmpfs_opts.push(format!("size={s}")),
            ("tmpfs-mode", Some(o)) => tmpfs_opts.push(format!("mode={o}")),
            _ => bail!("--mount \"{m}\": unknown or malformed field \"{field}\""),
        }
    }
    let Some(dest) = dest else {
        bail!("--mount \"{m}\": target= is required");
    };
    let dest = target("--mount", m, dest)?;
    match typ {
        Some("bind") => {
            let Some(source) = source else {
                bail!("--mount \"{m}\": source= is required for type=bind");
            };
            bind_source("--mount", m, source, exists)?;
            Ok(bind(source, dest, readonly, propagation))
        }
        Some("tmpfs") => {
            if source.is_some() {
                bail!("--mount \"{m}\": type=tmpfs takes no source");
            }
            if readonly {
                tmpfs_opts.push("ro".into());
            }
            Ok(tmpfs_mount(dest, &tmpfs_opts))
        }
        Some("volume") => {
            bail!("--mount \"{m}\": type=volume is not supported (minirun has no volume store)")
        }
        Some(t) => bail!("--mount \"{m}\": unknown type \"{t}\" (bind or tmpfs)"),
        None => bail!("--mount \"{m}\": type= is required (bind or tmpfs)"),
    }
}

/// `--tmpfs PATH[:OPTS]`
fn tmpfs_flag(t: &str) -> Result<Value> {
    let (dest, opts) = t.split_once(':').unwrap_or((t, ""));
    let dest = target("--tmpfs", t, dest)?;
    let opts: Vec<String> = opts
        .split(',')
        .filter(|o| !o.is_empty())
        .map(str::to_string)
        .collect();
    Ok(tmpfs_mount(dest, &opts))
}

fn tmpfs_mount(dest: String, opts: &[String]) -> Value {
    let mut options: Vec<String> = TMPFS_DEFAULTS.iter().map(|s| s.to_string()).collect();
    options.extend(opts.iter().cloned());
    json!({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": options})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(v: &[&str], m: &[&str], t: &[&str]) -> Result<Vec<Value>> {
        let s = |a: &[&str]| a.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        mounts(&s(v), &s(m), &s(t), |p| p != Path::new("/missing"))
    }

    #[test]
    fn volume_binds_with_ro() {
        let m = run(&["/srv/data:/data:ro"], &[], &[]).unwrap();
        assert_eq!(
            m[0],
            json!({"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "ro"]})
        );
        let m = run(&["/srv:/srv/"], &[], &[]).unwrap();
        assert_eq!(m[0]["options"], json!(["rbind", "rw"]));
        assert_eq!(m[0]["destination"], "/srv");
    }

    #[test]
    fn mount_and_tmpfs() {
        let m = run(
            &[],
            &[
                "type=bind,source=/a,target=/b,readonly",
                "type=tmpfs,dst=/run,tmpfs-size=1m",
            ],
            &["/tmp:exec,size=64k"],
        )
        .unwrap();
        assert_eq!(m[0]["options"], json!(["rbind", "ro"]));
        assert_eq!(
            m[1]["options"],
            json!(["noexec", "nosuid", "nodev", "size=1m"])
        );
        assert_eq!(
            m[2],
            json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                   "options": ["noexec", "nosuid", "nodev", "exec", "size=64k"]})
        );
    }

    #[test]
    fn refusals_name_the_value() {
        let e = |v: &[&str], m: &[&str], t: &[&str]| run(v, m, t).unwrap_err().to_string();
        assert!(e(&["data:/data"], &[], &[]).contains("not an absolute host path"));
        assert!(e(&["/data"], &[], &[]).contains("anonymous volumes"));
        assert!(
            e(&["/missing:/m"], &[], &[]).contains("bind source path does not exist: /missing")
        );
        assert!(e(&["/a:rel"], &[], &[]).contains("must be absolute"));
        assert!(e(&["/a:/"], &[], &[]).contains("cannot be /"));
        assert!(e(&["/a:/x:z"], &[], &[]).contains("unknown option \"z\""));
        assert!(e(&[], &["type=volume,target=/v"], &[]).contains("type=volume"));
        assert!(e(&[], &["type=bind,target=/v"], &[]).contains("source= is required"));
        assert!(e(&[], &["type=bind,src=/a,target=/v,bogus=1"], &[]).contains("\"bogus=1\""));
        assert!(e(&["/a:/t"], &[], &["/t"]).contains("duplicate mount point: /t"));
    }
}
