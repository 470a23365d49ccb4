//! The syscalls that install an identity and the five capability sets, in the one safe order.
//!
//! The order is crun's, and every step needs what a later step takes away:
//! 1. drop the bounding set while CAP_SETPCAP is still effective;
//! 2. PR_SET_KEEPCAPS, so permitted survives the switch away from uid 0;
//! 3. setgroups, setresgid, setresuid (gid first: changing it needs CAP_SETGID, which the
//!    uid change would clear from effective);
//! 4. capset effective, permitted, inheritable (permitted can only shrink from here on);
//! 5. ambient: cleared, then raised one by one in kernel order (each must be permitted and
//!    inheritable already, and setresuid cleared ambient, so this comes after the uid switch);
//! 6. PR_SET_NO_NEW_PRIVS last: nothing after it needs privilege.
//!
//! The steps go through the `Sys` trait so a unit test can record and check the order.

use super::Error;
use super::identity::Identity;
use super::{CapSet, CapSets, names};

/// The privileged operations, one method a syscall.
pub trait Sys {
    fn bounding_drop(&mut self, cap: u8) -> nix::Result<()>;
    fn keep_caps(&mut self, on: bool) -> nix::Result<()>;
    fn setgroups(&mut self, gids: &[u32]) -> nix::Result<()>;
    fn setresgid(&mut self, gid: u32) -> nix::Result<()>;
    fn setresuid(&mut self, uid: u32) -> nix::Result<()>;
    fn capset(
        &mut self,
        effective: CapSet,
        permitted: CapSet,
        inheritable: CapSet,
    ) -> nix::Result<()>;
    fn ambient_clear(&mut self) -> nix::Result<()>;
    fn ambient_raise(&mut self, cap: u8) -> nix::Result<()>;
    fn no_new_privs(&mut self) -> nix::Result<()>;
    /// Called after each step with its name, for `--trace`.
    fn traced(&mut self, _step: &str) {}
}

/// Applies `identity` and `sets`; `last_cap` bounds the bounding-set walk.
pub fn apply(
    sys: &mut impl Sys,
    sets: &CapSets,
    identity: &Identity,
    no_new_privs: bool,
    last_cap: u8,
) -> Result<(), Error> {
    for cap in CapSet::all_up_to(last_cap).minus(sets.bounding).iter() {
        sys.bounding_drop(cap).map_err(failed(|| {
            format!("dropping {} from the bounding set", names::oci_name(cap))
        }))?;
    }
    sys.traced("bounding set dropped");
    sys.keep_caps(true)
        .map_err(failed(|| "prctl(PR_SET_KEEPCAPS)".into()))?;
    sys.setgroups(&identity.additional_gids)
        .map_err(failed(|| {
            format!("setgroups({:?})", identity.additional_gids)
        }))?;
    sys.setresgid(identity.gid)
        .map_err(failed(|| format!("setresgid({})", identity.gid)))?;
    sys.setresuid(identity.uid)
        .map_err(failed(|| format!("setresuid({})", identity.uid)))?;
    sys.traced("identity switched");
    sys.capset(sets.effective, sets.permitted, sets.inheritable)
        .map_err(failed(|| "capset".into()))?;
    sys.traced("capset");
    sys.ambient_clear()
        .map_err(failed(|| "clearing the ambient set".into()))?;
    for cap in sets.ambient.iter() {
        sys.ambient_raise(cap).map_err(failed(|| {
            format!("raising {} in the ambient set", names::oci_name(cap))
        }))?;
    }
    sys.traced("ambient set");
    sys.keep_caps(false)
        .map_err(failed(|| "prctl(PR_SET_KEEPCAPS, 0)".into()))?;
    if no_new_privs {
        sys.no_new_privs()
            .map_err(failed(|| "prctl(PR_SET_NO_NEW_PRIVS)".into()))?;
        sys.traced("no_new_privs");
    }
    Ok(())
}

/// The error of the step `step()` says, for `map_err` (the line is made only on failure:
/// the bounding-set walk runs for every launch).
fn failed(step: impl FnOnce() -> String) -> impl FnOnce(nix::Error) -> Error {
    move |source| Error::Apply {
        step: step(),
        source,
    }
}

/// The real kernel.
pub struct Kernel<F: FnMut(&str)> {
    pub on_step: F,
}

fn prctl(op: libc::c_int, arg2: libc::c_ulong, arg3: libc::c_ulong) -> nix::Result<()> {
    // SAFETY: prctl with integer arguments only; no memory is passed to the kernel.
    let r = unsafe { libc::prctl(op, arg2, arg3, 0 as libc::c_ulong, 0 as libc::c_ulong) };
    nix::errno::Errno::result(r).map(drop)
}

impl<F: FnMut(&str)> Sys for Kernel<F> {
    fn bounding_drop(&mut self, cap: u8) -> nix::Result<()> {
        prctl(libc::PR_CAPBSET_DROP, cap.into(), 0)
    }
    fn keep_caps(&mut self, on: bool) -> nix::Result<()> {
        prctl(libc::PR_SET_KEEPCAPS, on.into(), 0)
    }
    fn setgroups(&mut self, gids: &[u32]) -> nix::Result<()> {
        // SAFETY: the pointer and length describe a live slice of gid_t for the call's duration.
        let r = unsafe { libc::setgroups(gids.len(), gids.as_ptr()) };
        match nix::errno::Errno::result(r) {
            // A user namespace whose gid_map an unprivileged caller wrote denies setgroups:
            // the groups it came with stay (runc skips the call alike); only asking for
            // more is an error.
            Err(nix::errno::Errno::EPERM)
                if gids.is_empty()
                    && std::fs::read_to_string("/proc/self/setgroups")
                        .is_ok_and(|s| s.trim() == "deny") =>
            {
                Ok(())
            }
            r => r.map(drop),
        }
    }
    fn setresgid(&mut self, gid: u32) -> nix::Result<()> {
        // Raw syscall: glibc's wrapper would broadcast to other threads; there are none here.
        // SAFETY: integer arguments only.
        let r = unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) };
        nix::errno::Errno::result(r).map(drop)
    }
    fn setresuid(&mut self, uid: u32) -> nix::Result<()> {
        // SAFETY: integer arguments only.
        let r = unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) };
        nix::errno::Errno::result(r).map(drop)
    }
    fn capset(&mut self, e: CapSet, p: CapSet, i: CapSet) -> nix::Result<()> {
        #[repr(C)]
        struct Header {
            version: u32,
            pid: libc::c_int,
        }
        #[repr(C)]
        #[derive(Clone, Copy)]
        struct Data {
            effective: u32,
            permitted: u32,
            inheritable: u32,
        }
        const VERSION_3: u32 = 0x2008_0522;
        let half = |s: CapSet, hi: bool| if hi { (s.0 >> 32) as u32 } else { s.0 as u32 };
        let mut header = Header {
            version: VERSION_3,
            pid: 0,
        };
        let data = [false, true].map(|hi| Data {
            effective: half(e, hi),
            permitted: half(p, hi),
            inheritable: half(i, hi),
        });
        // SAFETY: header and the two-element data array are valid, properly laid out
        // (_LINUX_CAPABILITY_VERSION_3 takes exactly two u32 triples) and outlive the call.
        let r = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
        nix::errno::Errno::result(r).map(drop)
    }
    fn ambient_clear(&mut self) -> nix::Result<()> {
        prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
        )
    }
    fn ambient_raise(&mut self, cap: u8) -> nix::Result<()> {
        prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
            cap.into(),
        )
    }
    fn no_new_privs(&mut self) -> nix::Result<()> {
        prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0)
    }
    fn traced(&mut self, step: &str) {
        (self.on_step)(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records every call in one ordered list.
    #[derive(Default)]
    struct Recorder(Vec<String>);

    impl Sys for Recorder {
        fn bounding_drop(&mut self, cap: u8) -> nix::Result<()> {
            self.0
                .push(format!("bounding_drop {}", names::short_name(cap)));
            Ok(())
        }
        fn keep_caps(&mut self, on: bool) -> nix::Result<()> {
            self.0.push(format!("keep_caps {on}"));
            Ok(())
        }
        fn setgroups(&mut self, gids: &[u32]) -> nix::Result<()> {
            self.0.push(format!("setgroups {gids:?}"));
            Ok(())
        }
        fn setresgid(&mut self, gid: u32) -> nix::Result<()> {
            self.0.push(format!("setresgid {gid}"));
            Ok(())
        }
        fn setresuid(&mut self, uid: u32) -> nix::Result<()> {
            self.0.push(format!("setresuid {uid}"));
            Ok(())
        }
        fn capset(&mut self, e: CapSet, p: CapSet, i: CapSet) -> nix::Result<()> {
            self.0.push(format!(
                "capset e=[{}] p=[{}] i=[{}]",
                e.names(),
                p.names(),
                i.names()
            ));
            Ok(())
        }
        fn ambient_clear(&mut self) -> nix::Result<()> {
            self.0.push("ambient_clear".into());
            Ok(())
        }
        fn ambient_raise(&mut self, cap: u8) -> nix::Result<()> {
            self.0
                .push(format!("ambient_raise {}", names::short_name(cap)));
            Ok(())
        }
        fn no_new_privs(&mut self) -> nix::Result<()> {
            self.0.push("no_new_privs".into());
            Ok(())
        }
    }

    #[test]
    fn order_for_a_non_root_user_with_ambient() {
        let nbs = CapSet::of(&[10]);
        let sets = CapSets {
            bounding: CapSet::of(&[6, 7, 10]),
            effective: nbs,
            permitted: nbs,
            inheritable: nbs,
            ambient: nbs,
        };
        let id = Identity {
            uid: 1000,
            gid: 1000,
            additional_gids: vec![3000],
            home: "/home/app".into(),
        };
        let mut rec = Recorder::default();
        apply(&mut rec, &sets, &id, true, 12).unwrap();
        let expected = [
            "bounding_drop chown",
            "bounding_drop dac_override",
            "bounding_drop dac_read_search",
            "bounding_drop fowner",
            "bounding_drop fsetid",
            "bounding_drop kill",
            "bounding_drop setpcap",
            "bounding_drop linux_immutable",
            "bounding_drop net_broadcast",
            "bounding_drop net_admin",
            "keep_caps true",
            "setgroups [3000]",
            "setresgid 1000",
            "setresuid 1000",
            "capset e=[net_bind_service] p=[net_bind_service] i=[net_bind_service]",
            "ambient_clear",
            "ambient_raise net_bind_service",
            "keep_caps false",
            "no_new_privs",
        ];
        assert_eq!(rec.0, expected);
    }

    #[test]
    fn root_without_nnp_keeps_no_ambient() {
        let all = CapSet::all_up_to(3);
        let sets = CapSets {
            bounding: all,
            effective: all,
            permitted: all,
            ..Default::default()
        };
        let mut rec = Recorder::default();
        apply(&mut rec, &sets, &Identity::default(), false, 3).unwrap();
        assert_eq!(rec.0[0], "keep_caps true");
        assert!(!rec.0.iter().any(|s| s.starts_with("ambient_raise")));
        assert!(!rec.0.iter().any(|s| s == "no_new_privs"));
    }
}
