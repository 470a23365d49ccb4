//! Issue 5: the capability lab (experiment, minimize), explain, --volatile and --trace, against
//! real containers from the fixture rootfs, as root.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Output;

/// Docker's 14 default capabilities, in kernel order.
const DEFAULTS: [&str; 14] = [
    "chown",
    "dac_override",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "net_bind_service",
    "net_raw",
    "sys_chroot",
    "mknod",
    "audit_write",
    "setfcap",
];

/// `minirun --root ROOT SUBCOMMAND ARGS...`
fn sub(sb: &Sandbox, subcommand: &str, args: &[&str]) -> Output {
    sb.cmd(&[subcommand])
        .args(args)
        .output()
        .expect("spawning minirun")
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

/// Everything about a tree that a write could change: each path with its type, mode, owner,
/// group, device number, link target or a hash of its contents.
fn tree_digest(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let ft = m.file_type();
            let what = if ft.is_symlink() {
                format!("link {}", std::fs::read_link(&p).unwrap().display())
            } else if ft.is_file() {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                std::fs::read(&p).unwrap().hash(&mut h);
                format!("file {} {:016x}", m.len(), h.finish())
            } else if ft.is_dir() {
                "dir".to_string()
            } else {
                format!("special rdev={}", m.rdev())
            };
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let line = format!("{:o} {}:{} {what}", m.mode(), m.uid(), m.gid());
            out.insert(rel, line);
            if ft.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    let m = std::fs::metadata(root).unwrap();
    out.insert(
        ".".into(),
        format!("{:o} {}:{}", m.mode(), m.uid(), m.gid()),
    );
    walk(root, root, &mut out);
    out
}

fn assert_same_tree(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) {
    let changed: Vec<_> = before
        .iter()
        .filter(|(k, v)| after.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .chain(after.keys().filter(|k| !before.contains_key(*k)).cloned())
        .collect();
    assert!(changed.is_empty(), "rootfs changed: {changed:?}");
}

#[test]
fn experiment_shows_every_docker_default_gated() {
    let sb = Sandbox::new("experiment");
    let fixture = fixture();
    let mut args = vec!["--json"];
    for c in DEFAULTS {
        args.extend(["--cap", c]);
    }
    args.push(fixture.to_str().unwrap());
    let o = sub(&sb, "experiment", &args);
    let rows = json_lines(&ok(&o));
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["capability"].as_str().unwrap())
        .collect();
    assert_eq!(names, DEFAULTS);
    for r in &rows {
        assert_eq!(r["verdict"], "gated", "{r}");
        assert_eq!(r["docker_default"], true, "{r}");
        assert_eq!(r["granted"], "allowed", "{r}");
        let dropped = r["dropped"].as_str().unwrap();
        assert!(dropped == "EPERM" || dropped == "EACCES", "{r}");
    }
}

#[test]
fn experiment_explains_a_withheld_capability_and_rejects_bad_names() {
    let sb = Sandbox::new("withheld");
    let fixture = fixture();
    let f = fixture.to_str().unwrap();
    let o = sub(&sb, "experiment", &["--json", "--cap", "sys_resource", f]);
    let rows = json_lines(&ok(&o));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["granted"], "withheld", "{}", rows[0]);
    assert_eq!(rows[0]["verdict"], "explained");
    assert!(
        rows[0]["why"]
            .as_str()
            .unwrap()
            .starts_with("withheld by the environment"),
        "{}",
        rows[0]
    );

    let o = sub(&sb, "experiment", &["--cap", "setiud", f]);
    assert_eq!(code(&o), 125);
    assert_eq!(
        stderr(&o),
        "minirun: unknown capability \"CAP_SETIUD\" (did you mean \"CAP_SETUID\"?)\n"
    );
    let o = sub(&sb, "experiment", &["/no/such/rootfs"]);
    assert_eq!(code(&o), 125);
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
}

fn minimize_json(sb: &Sandbox, argv: &[&str]) -> serde_json::Value {
    let fixture = fixture();
    let mut args = vec!["--json", fixture.to_str().unwrap()];
    args.extend(argv);
    let o = sub(sb, "minimize", &args);
    let rows = json_lines(&ok(&o));
    assert_eq!(rows.len(), 1);
    rows[0].clone()
}

#[test]
fn minimize_finds_chown_for_chown_and_leaves_the_rootfs_alone() {
    let sb = Sandbox::new("min-chown");
    let before = tree_digest(&fixture());
    let r = minimize_json(&sb, &["chown", "1000", "/tmp/f"]);
    let after = tree_digest(&fixture());
    assert_eq!(r["needed"], serde_json::json!(["chown"]), "{r}");
    assert_eq!(r["verified"], true);
    let run = r["run"].as_str().unwrap();
    assert!(
        run.starts_with("minirun --cap-drop=all --cap-add=chown /"),
        "{run}"
    );
    assert!(run.ends_with(" chown 1000 /tmp/f"), "{run}");
    // The traced run narrowed the trials to chown and the profile's sys_chroot: the baseline,
    // one trial each and the verification (tests/trace_caps.rs compares with --trial-only).
    assert_eq!(r["trials"].as_array().unwrap().len(), 4, "{r}");
    // chown succeeded in most of those trials, yet the fixture's file is still root's.
    assert_eq!(std::fs::metadata(fixture().join("tmp/f")).unwrap().uid(), 0);
    assert_same_tree(&before, &after);
    assert!(fixture_mounts().is_empty(), "{:?}", fixture_mounts());
}

#[test]
fn minimize_finds_setgid_and_setuid_for_an_identity_switch() {
    let sb = Sandbox::new("min-setids");
    let r = minimize_json(&sb, &["capprobe", "setids", "1000", "1000"]);
    assert_eq!(r["needed"], serde_json::json!(["setgid", "setuid"]), "{r}");
    assert_eq!(r["cap_add"], serde_json::json!(["setgid", "setuid"]), "{r}");
    // The printed line really works, and with one capability fewer it does not.
    let o = sb.run(
        &["--cap-drop=all", "--cap-add=setgid", "--cap-add=setuid"],
        &["capprobe", "setids", "1000", "1000"],
    );
    ok(&o);
    let o = sb.run(
        &["--cap-drop=all", "--cap-add=setuid"],
        &["capprobe", "setids", "1000", "1000"],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
}

#[test]
fn minimize_text_output_and_a_command_that_never_works() {
    let sb = Sandbox::new("min-text");
    let fixture = fixture();
    let f = fixture.to_str().unwrap();
    let o = sub(&sb, "minimize", &[f, "true"]);
    let text = ok(&o);
    assert!(text.contains("smallest set: none\n"), "{text}");
    assert!(
        text.ends_with(&format!("minirun --cap-drop=all {f} true\n")),
        "{text}"
    );
    let o = sub(&sb, "minimize", &[f, "false"]);
    assert_eq!(code(&o), 125);
    assert!(
        stderr(&o).starts_with("minirun: the command fails even with the starting set"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn volatile_run_that_writes_leaves_the_rootfs_byte_identical() {
    let sb = Sandbox::new("volatile");
    let before = tree_digest(&fixture());
    let script = "echo new > /tmp/new && echo more >> /tmp/f && chown 1000:1000 /tmp/f \
                  && chmod 700 /bin && mkdir -p /var/newdir && ln -s nowhere /lnk \
                  && rm /etc/passwd && cat /tmp/f";
    let o = sb.run(&["--volatile"], &["sh", "-c", script]);
    let out = ok(&o);
    assert!(
        out.ends_with("more\n"),
        "the writes happened inside: {out:?}"
    );
    let after = tree_digest(&fixture());
    assert_same_tree(&before, &after);
    assert!(fixture_mounts().is_empty(), "{:?}", fixture_mounts());
}

#[test]
fn explain_one_and_all() {
    let sb = Sandbox::new("explain");
    let o = sub(&sb, "explain", &["setfcap"]);
    let text = ok(&o);
    assert!(
        text.starts_with("setfcap (CAP_SETFCAP, number 31)\n"),
        "{text}"
    );
    assert!(text.contains("docker default: yes"), "{text}");
    let o = sub(&sb, "explain", &["CAP_SETFCAP", "--json"]);
    let j = &json_lines(&ok(&o))[0];
    assert_eq!(j["name"], "setfcap");
    assert_eq!(j["docker_default"], true);

    let o = sub(&sb, "explain", &["all"]);
    let text = ok(&o);
    let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").unwrap();
    let last: usize = last.trim().parse().unwrap();
    // A header, then one row per capability.
    assert!(text.lines().count() > last, "{text}");
    for c in DEFAULTS {
        let row = text
            .lines()
            .find(|l| l.split_whitespace().next() == Some(c))
            .unwrap_or_else(|| panic!("no row for {c}: {text}"));
        assert_eq!(row.split_whitespace().nth(1), Some("yes"), "{row}");
    }
    let o = sub(&sb, "explain", &["all", "--json"]);
    assert_eq!(json_lines(&ok(&o)).len(), 41);
}

/// The list in a trace line's `bounding=[...]`.
fn bounding_of(line: &str) -> &str {
    let start = line.find("bounding=[").expect("a bounding set") + "bounding=[".len();
    let len = line[start..].find(']').expect("closing bracket");
    &line[start..start + len]
}

fn trace_bounding(sb: &Sandbox, opts: &[&str]) -> String {
    let mut all = vec!["--trace"];
    all.extend(opts);
    let o = sb.run(&all, &["true"]);
    ok(&o);
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    let dropped = lines
        .iter()
        .position(|l| l.contains("bounding set dropped: bounding=["))
        .unwrap_or_else(|| panic!("no bounding step in the trace:\n{err}"));
    let execve = lines
        .iter()
        .position(|l| l.contains(": execve "))
        .unwrap_or_else(|| panic!("no execve in the trace:\n{err}"));
    assert!(
        dropped < execve,
        "bounding set dropped after execve:\n{err}"
    );
    // Every capability step from the drop to execve shows the same, already-shrunk bounding set.
    let b = bounding_of(lines[dropped]).to_string();
    for l in &lines[dropped..execve] {
        if l.contains("bounding=[") {
            assert_eq!(bounding_of(l), b, "{l}");
        }
    }
    b
}

#[test]
fn trace_shows_the_bounding_set_shrinking_to_the_whitelist_before_execve() {
    let sb = Sandbox::new("trace");
    assert_eq!(
        trace_bounding(
            &sb,
            &["--cap-drop=all", "--cap-add=setuid", "--cap-add=chown"]
        ),
        "chown, setuid"
    );
    assert_eq!(trace_bounding(&sb, &[]), DEFAULTS.join(", "));
    assert_eq!(trace_bounding(&sb, &["--cap-drop=all"]), "");
}

/// Issue 23: `explain ping` lists what ping needs, not capabilities whose description happens
/// to hold "ping" inside a word ("skipping", "mappings"); commands and system calls are found
/// with or without a man-page section.
#[test]
fn explain_finds_commands_and_system_calls_by_whole_words() {
    let sb = Sandbox::new("explain-uses");
    let o = sub(&sb, "explain", &["ping"]);
    let text = ok(&o);
    assert!(
        text.starts_with("ping: ping sends ICMP echo requests"),
        "{text}"
    );
    assert!(
        text.contains("\nnet_raw (CAP_NET_RAW, number 13)\n"),
        "{text}"
    );
    for wrong in ["kill (CAP_KILL", "sys_rawio (CAP_SYS_RAWIO"] {
        assert!(!text.contains(wrong), "{wrong}: {text}");
    }
    for q in ["mount", "mount(2)", "umount(8)", "unshare"] {
        let j = json_lines(&ok(&sub(&sb, "explain", &[q, "--json"])));
        let names: Vec<&str> = j.iter().map(|v| v["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["sys_admin"], "{q}");
        assert!(
            j[0]["why"].as_str().unwrap().contains("CAP_SYS_ADMIN"),
            "{q}"
        );
        assert!(j[0]["seccomp_opens"].is_array(), "{q}: {}", j[0]);
    }
    // Several words, and a system call with its arguments.
    let j = json_lines(&ok(&sub(
        &sb,
        "explain",
        &["ip", "link", "set", "lo", "up", "--json"],
    )));
    assert_eq!(
        (j.len(), &j[0]["name"], &j[0]["use"]),
        (1, &"net_admin".into(), &"ip link".into())
    );
    let j = json_lines(&ok(&sub(
        &sb,
        "explain",
        &["socket(AF_INET,SOCK_RAW)", "--json"],
    )));
    assert_eq!(j[0]["name"], "net_raw");
    // setns checks two capabilities: both blocks follow the reason.
    let text = ok(&sub(&sb, "explain", &["nsenter"]));
    assert!(
        text.contains("sys_chroot (CAP_SYS_CHROOT") && text.contains("sys_admin (CAP_SYS_ADMIN"),
        "{text}"
    );
    // Nothing by that name: one line naming it, exit 125.
    let o = sub(&sb, "explain", &["pingu"]);
    assert_eq!(code(&o), 125);
    assert_eq!(
        stderr(&o),
        "minirun: \"pingu\" names no capability, and no command or system call minirun knows (minirun explain lists the capabilities)\n"
    );
}

/// The explain table says what the kernel checks; `minimize --from all` proves it on real
/// containers: each command's smallest set is exactly the capabilities explain names for it.
#[test]
fn explain_names_what_minimize_finds_for_common_commands() {
    let sb = Sandbox::new("explain-minimize");
    for (query, argv) in [
        ("ping", &["ping", "-c", "1", "-W", "2", "127.0.0.1"][..]),
        ("chroot", &["chroot", "/", "true"]),
        ("mount(2)", &["mount", "-t", "tmpfs", "none", "/tmp"]),
        ("hostname", &["hostname", "lab"]),
        ("renice", &["renice", "-n", "-5", "-p", "1"]),
        ("ip link set", &["ip", "link", "set", "lo", "mtu", "1500"]),
        ("unshare", &["unshare", "-u", "true"]),
        ("nsenter", &["nsenter", "-t", "1", "-m", "true"]),
    ] {
        let explained: Vec<serde_json::Value> =
            json_lines(&ok(&sub(&sb, "explain", &[query, "--json"])))
                .iter()
                .map(|v| v["name"].clone())
                .collect();
        let fixture = fixture();
        let mut args = vec!["--json", "--from", "all", fixture.to_str().unwrap()];
        args.extend(argv);
        let rows = json_lines(&ok(&sub(&sb, "minimize", &args)));
        assert_eq!(
            rows[0]["needed"],
            serde_json::json!(explained),
            "{query}: {}",
            rows[0]
        );
        assert_eq!(rows[0]["verified"], true, "{query}");
    }
}

/// Issue 23: a capability number is accepted wherever a name is; a number the kernel lacks is
/// refused naming it.
#[test]
fn capability_numbers_work_like_names() {
    let sb = Sandbox::new("cap-numbers");
    let last: u8 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // setuid (7) and setgid (6) only, as hex masks in /proc/self/status.
    let o = sb.run(
        &["--cap-drop=all", "--cap-add", "7", "--cap-add=6"],
        &["grep", "CapEff", "/proc/self/status"],
    );
    assert_eq!(ok(&o).split_whitespace().nth(1), Some("00000000000000c0"));
    let o = sb.run(
        &["--cap-drop", "0,5"],
        &["grep", "CapEff", "/proc/self/status"],
    );
    // Docker's defaults (0x a80425fb) less chown (bit 0) and kill (bit 5).
    assert_eq!(ok(&o).split_whitespace().nth(1), Some("00000000a80425da"));
    let rows = json_lines(&ok(&sub(
        &sb,
        "experiment",
        &["--json", "--cap", "0", fixture().to_str().unwrap()],
    )));
    assert_eq!(
        (rows.len(), &rows[0]["capability"]),
        (1, &"chown".into()),
        "{rows:?}"
    );
    for bad in [format!("{}", last + 1), "64".into(), "-1".into()] {
        let o = sb.run(&[&format!("--cap-add={bad}")], &["true"]);
        assert_eq!(code(&o), 125, "{bad}");
        assert_eq!(
            stderr(&o),
            format!("minirun: no capability number {bad}: this kernel's go from 0 to {last}\n")
        );
    }
}

/// Issue 24 item 5: `experiment --userns` as root of a fresh user namespace, measured on this
/// kernel: the capabilities checked against what the namespace owns work, those checked against
/// the host's user namespace are refused even when held, audit answers ECONNREFUSED before any
/// check; and the workshop's uid_map point.
#[test]
fn experiment_userns_measures_what_root_of_a_user_namespace_can_do() {
    let sb = Sandbox::new("userns");
    let fixture = fixture();
    let caps = "chown,setuid,net_admin,sys_admin,mknod,sys_time,sys_module,audit_write";
    let o = sub(
        &sb,
        "experiment",
        &[
            "--userns",
            "--json",
            "--cap",
            caps,
            fixture.to_str().unwrap(),
        ],
    );
    let lines = json_lines(&ok(&o));
    let row = |name: &str| {
        lines
            .iter()
            .find(|r| r["capability"] == name)
            .unwrap_or_else(|| panic!("no row for {name}: {lines:?}"))
    };
    // Checked against the container's own user namespace: works, and only with the capability.
    for name in ["chown", "setuid", "net_admin", "sys_admin"] {
        let r = row(name);
        assert_eq!(r["power"], "works", "{r}");
        assert_eq!(r["granted"], "allowed", "{r}");
        assert_eq!(r["dropped"], "EPERM", "{r}");
        assert_eq!(r["checked_in"], "own", "{r}");
    }
    // Checked against the host's user namespace: refused although root there holds it. A
    // kernel without module support has no delete_module: ENOSYS before any check.
    let modules = Path::new("/proc/modules").exists();
    if !modules {
        let r = row("sys_module");
        assert_eq!(r["power"], "refused", "{r}");
        assert_eq!(r["granted"], "ENOSYS", "{r}");
        assert_eq!(r["checked_in"], "none", "{r}");
    }
    let host_checked: &[&str] = match modules {
        true => &["mknod", "sys_time", "sys_module"],
        false => &["mknod", "sys_time"],
    };
    for &name in host_checked {
        let r = row(name);
        assert_eq!(r["power"], "refused", "{r}");
        assert_eq!(r["granted"], "EPERM", "{r}");
        assert_eq!(r["checked_in"], "host", "{r}");
        assert!(
            r["why"].as_str().unwrap().contains("host's user namespace"),
            "{r}"
        );
    }
    // The audit socket refuses a user namespace before any capability check.
    let r = row("audit_write");
    assert_eq!(r["power"], "refused", "{r}");
    assert_eq!(r["granted"], "ECONNREFUSED", "{r}");
    assert_eq!(r["checked_in"], "none", "{r}");
    // The uid_map of a child user namespace: an arbitrary mapping only with CAP_SETUID, the
    // writer's own id without it.
    // Mounts: the filesystems marked safe for user namespaces mount with CAP_SYS_ADMIN of
    // the container's own namespace; a block filesystem and debugfs need the host's.
    let fs = &lines.last().unwrap()["mounts"];
    for t in ["tmpfs", "ramfs", "mqueue", "devpts", "cgroup2", "proc"] {
        assert_eq!(fs[t], "allowed", "{t}: {fs}");
    }
    for t in ["ext4", "debugfs"] {
        assert_eq!(fs[t], "refused", "{t}: {fs}");
    }
    let m = &lines[lines.len() - 2]["uid_map"];
    assert_eq!(m["with_setuid"]["arbitrary"], "allowed", "{m}");
    assert_eq!(m["with_setuid"]["own"], "allowed", "{m}");
    assert_eq!(m["without_setuid"]["arbitrary"], "refused", "{m}");
    assert_eq!(m["without_setuid"]["own"], "allowed", "{m}");

    // The table says the same; --user makes no sense there.
    let o = sub(
        &sb,
        "experiment",
        &["--userns", "--cap", "mknod", fixture.to_str().unwrap()],
    );
    let t = ok(&o);
    let mknod = t.lines().find(|l| l.starts_with("mknod ")).unwrap();
    assert!(
        mknod.contains(" host ") && mknod.ends_with(" refused"),
        "{t}"
    );
    assert!(
        t.contains("without CAP_SETUID: an arbitrary mapping (0 1000 1) refused"),
        "{t}"
    );
    let o = sub(
        &sb,
        "experiment",
        &["--userns", "-u", "1000", fixture.to_str().unwrap()],
    );
    assert_eq!(code(&o), 125, "{}", stderr(&o));
}

/// `explain CAP` says what the capability is worth inside a user namespace.
#[test]
fn explain_says_what_a_capability_means_inside_a_user_namespace() {
    let sb = Sandbox::new("explain-userns");
    for (cap, words) in [
        ("mknod", "checked against the host's user namespace"),
        ("net_admin", "only on the namespace's own network"),
        ("setuid", "uid_map"),
        ("audit_write", "ECONNREFUSED"),
    ] {
        let t = ok(&sub(&sb, "explain", &[cap]));
        let line = t
            .split("\n  inside a user namespace: ")
            .nth(1)
            .unwrap_or_else(|| panic!("no user namespace line: {t}"));
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(line.contains(words), "{cap}: {t}");
    }
}
