//! Issue 25: the cgroup v2 device program pinned in bpffs (/sys/fs/bpf/minirun/devices-HASH)
//! and reused across launches, instead of being loaded and verified at every launch.
//!
//! This host is hybrid (the v1 devices controller takes the rules) and has no bpffs mounted, so
//! each test runs in a private mount namespace shaped as a pure v2 host with a bpffs of its own
//! at /sys/fs/bpf: what is pinned there goes away with the namespace.

mod common;

use common::*;
use std::process::Output;

/// `script` under `sh -e` in a private mount namespace with cgroup2 alone at /sys/fs/cgroup and
/// a fresh bpffs at /sys/fs/bpf (unless `bpffs` is false), with $M (minirun), $F (the fixture)
/// and $R (the sandbox's state root) set.
fn pure_v2(sb: &Sandbox, bpffs: bool, script: &str) -> Output {
    let mount_bpf = if bpffs {
        "mount -t bpf bpf /sys/fs/bpf"
    } else {
        ":"
    };
    let full = format!(
        "umount -R /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && {mount_bpf} || exit 99\nset -e\n{script}"
    );
    let out = in_private_mount_ns(sb, &full);
    assert_ne!(code(&out), 99, "shaping the namespace: {}", stderr(&out));
    out
}

/// In the container: make a node for c 42:0 (Docker's rules allow mknod of any node, opening
/// only the standard ones; no driver has major 42) and open it. The device cgroup refuses with
/// EPERM before any driver is asked; past it, the open fails with ENXIO: PASSED.
const OPEN_42: &str = "mknod /dev/n c 42 0 && if head -c1 /dev/n 2>&1 | grep -q \"not permitted\"; then echo REFUSED; else echo PASSED; fi";

#[test]
fn the_first_launch_pins_the_program_and_the_next_reuses_it_still_enforcing() {
    let sb = Sandbox::new("pin");
    let out = pure_v2(
        &sb,
        true,
        &format!(
            "$M --root $R --debug $F true 2>&1\n\
             echo LISTING; ls -ln /sys/fs/bpf/minirun; stat -c 'DIR %u %a' /sys/fs/bpf/minirun\n\
             $M --root $R --debug $F sh -c '{OPEN_42}' 2>&1"
        ),
    );
    let text = ok(&out);
    let (first, rest) = text.split_once("LISTING").unwrap();
    assert!(
        first.contains("device program pinned at /sys/fs/bpf/minirun/devices-"),
        "{text}"
    );
    // One pin, a root-owned 0600 file in a root-owned 0700 directory.
    let (listing, _) = rest.split_once("DIR").unwrap();
    let pins: Vec<&str> = listing.lines().filter(|l| l.contains("devices-")).collect();
    assert_eq!(pins.len(), 1, "{text}");
    assert!(pins[0].starts_with("-rw------- 1 0 0 "), "{text}");
    assert!(rest.contains("DIR 0 700"), "{text}");
    assert!(
        rest.contains("device program: reused /sys/fs/bpf/minirun/devices-"),
        "{text}"
    );
    assert!(
        rest.contains("REFUSED") && !rest.contains("PASSED"),
        "{text}"
    );
}

#[test]
fn a_pin_holding_another_program_under_the_defaults_name_is_not_used() {
    let sb = Sandbox::new("pin-foreign");
    // Pin the defaults' program, then one that also allows reading c 42:0, and put the second
    // under the first one's name: a launch with the defaults must not pick it up.
    let out = pure_v2(
        &sb,
        true,
        &format!(
            "$M --root $R $F true\n\
             cd /sys/fs/bpf/minirun; d=$(ls); mv $d keep\n\
             $M --root $R --device-cgroup-rule 'c 42:0 r' $F true\n\
             x=$(ls | grep -v keep); mv $x $d\n\
             $M --root $R --device-cgroup-rule 'c 42:0 r' $F sh -c '{OPEN_42}' 2>&1 | sed 's/^/ALLOWED: /'\n\
             $M --root $R --debug $F sh -c '{OPEN_42}' 2>&1"
        ),
    );
    let text = ok(&out);
    // The rule really allows the read when it is this program (so REFUSED below means
    // something), and the foreign pin was recognised and not used.
    assert!(text.contains("ALLOWED: PASSED"), "{text}");
    assert!(text.contains("is not this program: not used"), "{text}");
    let defaults: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("ALLOWED") && (l.ends_with("PASSED") || l.ends_with("REFUSED")))
        .collect();
    assert_eq!(defaults, ["REFUSED"], "{text}");
}

#[test]
fn a_pin_directory_someone_else_can_write_to_is_left_alone() {
    let sb = Sandbox::new("pin-dir");
    let out = pure_v2(
        &sb,
        true,
        "mkdir -m 0700 /sys/fs/bpf/minirun && chown 65534 /sys/fs/bpf/minirun\n\
         $M --root $R --debug $F true 2>&1\n\
         echo LISTING; ls -A /sys/fs/bpf/minirun",
    );
    let text = ok(&out);
    assert!(
        text.contains("/sys/fs/bpf/minirun is not a directory only root can write to (uid 65534"),
        "{text}"
    );
    let (_, listing) = text.split_once("LISTING").unwrap();
    assert_eq!(listing.trim(), "", "nothing pinned there: {text}");
}

#[test]
fn without_bpffs_the_program_is_loaded_and_nothing_is_mounted() {
    let sb = Sandbox::new("pin-none");
    let out = pure_v2(
        &sb,
        false,
        &format!(
            "$M --root $R --debug $F sh -c '{OPEN_42}' 2>&1\n\
             findmnt -rn -t bpf -o TARGET | sed 's/^/BPFFS /'"
        ),
    );
    let text = ok(&out);
    assert!(text.contains("is not a bpffs"), "{text}");
    assert!(text.contains("REFUSED"), "{text}");
    assert!(!text.contains("BPFFS"), "minirun mounted bpffs: {text}");
}
