//! Who the workload runs as: `--user` and `--group-add` resolved against the rootfs's own
//! /etc/passwd and /etc/group, the way Docker and runc resolve them.

use super::error::Result;

pub use crate::capability::identity::Identity;

#[derive(Debug, Clone, PartialEq, Eq)]
struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

fn passwd_entries(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 6).then_some(())?;
            Some(PasswdEntry {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_string(),
            })
        })
        .collect()
}

fn group_entries(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 3).then_some(())?;
            Some(GroupEntry {
                name: f[0].to_string(),
                gid: f[2].parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .filter(|s| !s.is_empty())
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

fn group_id(groups: &[GroupEntry], spec: &str) -> Result<u32> {
    if let Ok(n) = spec.parse::<u32>() {
        return Ok(n);
    }
    match groups.iter().find(|g| g.name == spec) {
        Some(g) => Ok(g.gid),
        None => {
            bail!("unable to find group \"{spec}\": no matching entries in the rootfs's /etc/group")
        }
    }
}

/// Resolves `user` (`UID`, `NAME`, `UID:GID`, `NAME:GROUP`, …; empty = root) and `group_add`
/// against passwd and group file texts (None when the rootfs has no such file).
pub fn resolve(
    user: &str,
    group_add: &[String],
    passwd: Option<&str>,
    group: Option<&str>,
) -> Result<Identity> {
    let users = passwd.map(passwd_entries).unwrap_or_default();
    let groups = group.map(group_entries).unwrap_or_default();
    let (u, g) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let u = if u.is_empty() { "0" } else { u };
    let entry = match u.parse::<u32>() {
        Ok(uid) => users
            .iter()
            .find(|e| e.uid == uid)
            .cloned()
            .or(Some(PasswdEntry {
                name: String::new(),
                uid,
                gid: 0,
                home: "/".into(),
            })),
        Err(_) => users.iter().find(|e| e.name == u).cloned(),
    };
    let Some(entry) = entry else {
        bail!("unable to find user \"{u}\": no matching entries in the rootfs's /etc/passwd");
    };
    let gid = match g {
        Some(g) if !g.is_empty() => group_id(&groups, g)?,
        _ => entry.gid,
    };
    let mut additional: Vec<u32> = Vec::new();
    // Memberships from /etc/group apply only when the group was not forced, as in Docker.
    if g.is_none() && !entry.name.is_empty() {
        for grp in &groups {
            if grp.members.contains(&entry.name) && !additional.contains(&grp.gid) {
                additional.push(grp.gid);
            }
        }
    }
    for ga in group_add {
        let id = group_id(&groups, ga)?;
        if !additional.contains(&id) {
            additional.push(id);
        }
    }
    Ok(Identity {
        uid: entry.uid,
        gid,
        additional_gids: additional,
        home: if entry.home.is_empty() {
            "/".into()
        } else {
            entry.home
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
    const GROUP: &str =
        "root:x:0:\nwheel:x:10:app,other\napp:x:1000:\naudio:x:29:app\nnogroup:x:65534:\n";

    fn r(user: &str, add: &[&str]) -> Result<Identity> {
        let add: Vec<String> = add.iter().map(|s| s.to_string()).collect();
        resolve(user, &add, Some(PASSWD), Some(GROUP))
    }

    #[test]
    fn by_name_with_memberships() {
        let id = r("app", &[]).unwrap();
        assert_eq!((id.uid, id.gid), (1000, 1000));
        assert_eq!(id.additional_gids, vec![10, 29]);
        assert_eq!(id.home, "/home/app");
    }

    #[test]
    fn numeric_forms() {
        let id = r("1000:2000", &["3000"]).unwrap();
        assert_eq!(
            (id.uid, id.gid, id.additional_gids.clone()),
            (1000, 2000, vec![3000])
        );
        let id = r("4242", &[]).unwrap();
        assert_eq!((id.uid, id.gid, id.home.as_str()), (4242, 0, "/"));
        assert_eq!(r("", &[]).unwrap(), Identity::default());
        assert_eq!(r("app:nogroup", &["wheel"]).unwrap().gid, 65534);
        assert_eq!(
            r("app:nogroup", &["wheel"]).unwrap().additional_gids,
            vec![10]
        );
    }

    #[test]
    fn unknown_names_are_errors_naming_the_value() {
        let e = crate::error_chain::one_line(&r("ghost", &[]).unwrap_err());
        assert_eq!(
            e,
            "unable to find user \"ghost\": no matching entries in the rootfs's /etc/passwd"
        );
        let e = r("app:ghosts", &[]).unwrap_err().to_string();
        assert!(e.contains("\"ghosts\""), "{e}");
        let e = r("app", &["nope"]).unwrap_err().to_string();
        assert!(e.contains("\"nope\""), "{e}");
    }

    #[test]
    fn no_passwd_file_numeric_still_works() {
        let id = resolve("1000:1000", &[], None, None).unwrap();
        assert_eq!((id.uid, id.gid), (1000, 1000));
        assert!(resolve("app", &[], None, None).is_err());
    }
}
