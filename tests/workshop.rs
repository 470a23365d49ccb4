//! The workshop as a student meets it (issue 14): `-d`, `ps`, the grid, the CLI's answers.
//! Real containers from the fixture rootfs, as root; every test leaves nothing behind.

mod common;

use common::*;
use std::process::Command;

/// The workshop's three steps, each as a set of flags and the capabilities pscap must show.
const STEPS: [(&[&str], &str); 3] = [
    (
        &[],
        "chown, dac_override, fowner, fsetid, kill, setgid, setuid, setpcap, net_bind_service, net_raw, sys_chroot, mknod, audit_write, setfcap +",
    ),
    (
        &[
            "--cap-drop=setfcap",
            "--cap-drop=audit_write",
            "--cap-drop=mknod",
        ],
        "chown, dac_override, fowner, fsetid, kill, setgid, setuid, setpcap, net_bind_service, net_raw, sys_chroot +",
    ),
    (
        &["--cap-drop=all", "--cap-add=setuid", "--cap-add=setgid"],
        "setgid, setuid +",
    ),
];

/// `minirun -d ... FIXTURE argv`: the id it printed (one line, nothing else).
fn detach(sb: &Sandbox, opts: &[&str], argv: &[&str]) -> String {
    let mut all = vec!["-d"];
    all.extend_from_slice(opts);
    let out = ok(&sb.run(&all, argv));
    let id = out.trim().to_string();
    assert_eq!(out, format!("{id}\n"), "one line, the id");
    assert_eq!(id.len(), 12, "{id}");
    id
}

fn pid_of(sb: &Sandbox, id: &str) -> i32 {
    let st: serde_json::Value =
        serde_json::from_str(&ok(&sb.cmd(&["state", id]).output().unwrap())).unwrap();
    st["pid"].as_i64().unwrap() as i32
}

/// Kills (if running) and removes a detached container, waiting until it has stopped.
fn remove(sb: &Sandbox, id: &str) {
    let _ = sb.cmd(&["kill", id, "KILL"]).output();
    let stopped = wait_for(10.0, || {
        let o = sb.cmd(&["state", id]).output().unwrap();
        stdout(&o).contains("\"stopped\"").then_some(())
    });
    assert!(stopped.is_some(), "{id} did not stop");
    ok(&sb.cmd(&["rm", id]).output().unwrap());
}

/// `minirun -d ROOTFS sleep 5; pscap | grep sleep` shows the container, every time: minirun
/// returns only after the workload's execve is complete.
#[test]
fn detach_then_pscap_shows_the_workload_every_time() {
    let sb = Sandbox::new("detach-pscap");
    for round in 0..4 {
        for (flags, caps) in STEPS {
            let id = detach(&sb, flags, &["sleep", "5"]);
            let pid = pid_of(&sb, &id);
            // Straight after minirun returned, as the shell's `;` does.
            let out = Command::new("pscap")
                .output()
                .expect("pscap (libcap-ng-utils) missing");
            let line = stdout(&out)
                .lines()
                .find(|l| l.split_whitespace().nth(1) == Some(&pid.to_string()))
                .map(str::to_string);
            let line = line.unwrap_or_else(|| panic!("round {round}: pscap lacks pid {pid}"));
            assert!(line.contains(" sleep "), "{line}");
            assert!(line.ends_with(caps), "round {round} {flags:?}: {line}");
            remove(&sb, &id);
        }
    }
}

/// Output is kept in the record for `logs`, the exit status for `ps -a`; `rm` removes it.
#[test]
fn detached_output_exit_status_and_rm() {
    let sb = Sandbox::new("detach-logs");
    let id = detach(
        &sb,
        &[],
        &["sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"],
    );
    let done = wait_for(10.0, || {
        std::fs::read_to_string(sb.root.join(&id).join("exit-status")).ok()
    });
    assert_eq!(done.as_deref(), Some("3\n"));
    let logs = ok(&sb.cmd(&["logs", &id]).output().unwrap());
    assert_eq!(logs, "to-stdout\nto-stderr\n");
    // A stopped detached container stays (as docker keeps it) through another launch's sweep.
    ok(&sb.run(&[], &["true"]));
    assert!(sb.root.join(&id).join("state.json").exists());
    let running = detach(&sb, &[], &["sleep", "30"]);
    let refused = sb.cmd(&["rm", &running]).output().unwrap();
    assert_ne!(code(&refused), 0);
    assert!(
        stderr(&refused).contains("not stopped"),
        "{}",
        stderr(&refused)
    );
    ok(&sb.cmd(&["rm", "-f", &running]).output().unwrap());
    ok(&sb.cmd(&["delete", &id]).output().unwrap());
    let gone = sb.cmd(&["logs", &id]).output().unwrap();
    assert!(
        stderr(&gone).contains("does not exist"),
        "{}",
        stderr(&gone)
    );
}

/// A workload that cannot start: Docker's 127 and message, no id printed, no record left.
#[test]
fn detached_start_failure_reports_and_cleans_up() {
    let sb = Sandbox::new("detach-fail");
    let o = sb.run(&["-d"], &["no-such-program"]);
    refused(
        &o,
        127,
        "exec: \"no-such-program\": executable file not found in $PATH",
    );
}

/// `--rm` with `-d`: the monitor removes the record when the workload exits.
#[test]
fn detached_rm_removes_the_record_at_exit() {
    let sb = Sandbox::new("detach-rm");
    let id = detach(&sb, &["--rm"], &["sleep", "30"]);
    let pid = pid_of(&sb, &id);
    // PID 1 of a pid namespace ignores SIGTERM without a handler (as under docker).
    ok(&sb.cmd(&["kill", &id, "KILL"]).output().unwrap());
    let gone = wait_for(10.0, || (!sb.root.join(&id).exists()).then_some(()));
    assert!(gone.is_some(), "record of {id} (pid {pid}) still there");
}

/// `minirun ps`: a header even when empty; every process, `(none)` for an empty set; users
/// named from the rootfs's passwd; `-a` with stopped containers; JSON in the short spelling.
#[test]
fn ps_lists_every_process_of_every_container() {
    let sb = Sandbox::new("ps");
    let empty = ok(&sb.cmd(&["ps"]).output().unwrap());
    assert_eq!(
        empty,
        "container     ppid  pid   name        command             capabilities\n"
    );
    let none = detach(&sb, &["--cap-drop", "all"], &["sleep", "30"]);
    // uid 1000 is "app" in the fixture's passwd (whatever the host calls it).
    let app = detach(
        &sb,
        &["-u", "1000", "--cap-add", "net_bind_service"],
        &["sleep", "30"],
    );
    let exited = detach(&sb, &[], &["sh", "-c", "exit 7"]);
    let done = wait_for(10.0, || {
        std::fs::read_to_string(sb.root.join(&exited).join("exit-status")).ok()
    });
    assert!(done.is_some());
    let (p_none, p_app) = (pid_of(&sb, &none), pid_of(&sb, &app));
    let ps = ok(&sb.cmd(&["ps"]).output().unwrap());
    let row = |pid: i32| {
        ps.lines()
            .find(|l| l.split_whitespace().nth(2) == Some(&pid.to_string()))
            .unwrap_or_else(|| panic!("no row for {pid}:\n{ps}"))
            .to_string()
    };
    assert!(
        row(p_none).ends_with("root        sleep               (none)"),
        "{ps}"
    );
    assert!(
        row(p_app).ends_with("app         sleep               net_bind_service @ +"),
        "{ps}"
    );
    assert!(
        !ps.contains(&exited),
        "a stopped container without -a: {ps}"
    );
    let all = ok(&sb.cmd(&["ps", "-a"]).output().unwrap());
    let stopped = all
        .lines()
        .find(|l| l.contains(&exited))
        .unwrap_or_else(|| panic!("{all}"));
    assert!(stopped.ends_with("(stopped, exit status 7)"), "{stopped}");
    let js = ok(&sb.cmd(&["ps", "--json", &app]).output().unwrap());
    let v: serde_json::Value = serde_json::from_str(js.lines().next().unwrap()).unwrap();
    assert_eq!(v["name"], "app");
    assert_eq!(v["ambient"], serde_json::json!(["net_bind_service"]));
    assert_eq!(v["user_namespace"], false);
    for id in [&none, &app, &exited] {
        remove(&sb, id);
    }
}

/// A caller who is not root sees its own containers (its own state root: none here), not
/// root's; --help explains the marks.
#[test]
fn ps_for_a_non_root_caller_and_its_marks() {
    let sb = Sandbox::new("ps-nonroot");
    let o = Command::new("setpriv")
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(minirun())
        .args(["ps"])
        .env("XDG_RUNTIME_DIR", &sb.scratch)
        .output()
        .expect("setpriv (util-linux) missing");
    let out = ok(&o);
    assert!(!out.contains("sleep"), "{out}");
    let help = ok(&sb.cmd(&["ps", "--help"]).output().unwrap());
    for mark in ["\" +\"", "\" @\"", "\"*\"", "(none)", "user namespace"] {
        assert!(help.contains(mark), "{mark} not explained:\n{help}");
    }
    assert!(help.contains("-a, --all"), "{help}");
}

/// The grid row of `cap` in a `caps` or `--trace` output (the first one from `from`).
fn grid_row<'a>(text: &'a str, cap: &str) -> &'a str {
    text.lines()
        .find(|l| l.split_whitespace().next() == Some(cap))
        .unwrap_or_else(|| panic!("no {cap} row:\n{text}"))
}

/// `minirun caps ID`: the five sets as a grid, Docker's defaults marked, drops and additions
/// named, the seccomp mode the kernel reports, no colour into a pipe; --json the same facts.
#[test]
fn caps_shows_the_grid() {
    let sb = Sandbox::new("grid");
    let id = detach(
        &sb,
        &["--cap-drop=all", "--cap-add=setuid", "--cap-add=sys_admin"],
        &["sleep", "30"],
    );
    let pid = pid_of(&sb, &id);
    let text = ok(&sb.cmd(&["caps", &id]).output().unwrap());
    assert!(!text.contains('\x1b'), "colour into a pipe: {text}");
    assert!(
        text.contains("capability          bnd prm eff inh amb docker\n"),
        "{text}"
    );
    assert_eq!(
        grid_row(&text, "setuid"),
        "setuid              x   x   x   .   .   default"
    );
    assert_eq!(
        grid_row(&text, "chown"),
        "chown               .   .   .   .   .   default  dropped"
    );
    assert_eq!(
        grid_row(&text, "sys_admin"),
        "sys_admin           x   x   x   .   .            added"
    );
    assert!(text.contains("user namespace: the host's\n"), "{text}");
    assert!(
        text.contains("(the host's); uid map: every id to itself; gid map: every id to itself\n"),
        "{text}"
    );
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let mode = status
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp:"))
        .unwrap()
        .trim();
    let want = match mode {
        "0" => "seccomp: disabled".to_string(),
        "2" => "seccomp: filter (".to_string(),
        m => panic!("seccomp mode {m}"),
    };
    assert!(text.contains(&want), "{text}");
    let js = ok(&sb
        .cmd(&["caps", "--json", &pid.to_string()])
        .output()
        .unwrap());
    let v: serde_json::Value = serde_json::from_str(&js).unwrap();
    assert_eq!(
        v["added_to_docker_defaults"],
        serde_json::json!(["sys_admin"])
    );
    assert_eq!(v["user_namespace"], "host");
    remove(&sb, &id);
}

/// A process that made its own user namespace inside a `--cap-drop=all` container holds every
/// capability there: the grid and ps say it is not the host's namespace.
#[test]
fn caps_names_another_user_namespace() {
    let sb = Sandbox::new("grid-userns");
    // As uid 1000, mapping itself to root needs no capability (mapping host root would need
    // CAP_SETFCAP). Docker's seccomp profile refuses unshare(CLONE_NEWUSER) outright, which is
    // the point of the profile; this lesson is about what the capabilities then mean.
    let id = detach(
        &sb,
        &[
            "-u",
            "1000",
            "--cap-drop=all",
            "--security-opt",
            "seccomp=unconfined",
        ],
        &["unshare", "-Ur", "sleep", "30"],
    );
    // unshare execs sleep a moment after `-d` returns: until then ps sees it as unshare.
    let found = wait_for(5.0, || {
        let ps = ok(&sb.cmd(&["ps", "--json"]).output().unwrap());
        ps.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|r| r["user_namespace"] == true && r["command"] == "sleep")
    });
    let inner = &found.expect("no sleep in a user namespace of its own in `ps --json`");
    let pid = inner["pid"].as_i64().unwrap().to_string();
    let text = ok(&sb.cmd(&["caps", &pid]).output().unwrap());
    assert!(text.contains("user namespace: NOT the host's"), "{text}");
    // Which namespace owns the sets, and its mapping: unshare -r mapped root to uid 1000.
    assert!(
        text.contains("(not the host's); uid map: 0 -> host 1000 (1 id); gid map: 0 -> host "),
        "{text}"
    );
    assert_eq!(
        grid_row(&text, "sys_admin"),
        "sys_admin           x   x   x   .   .            added"
    );
    let table = ok(&sb.cmd(&["ps"]).output().unwrap());
    assert!(
        table
            .lines()
            .any(|l| l.contains(" sleep *  ") && l.contains(&pid)),
        "{table}"
    );
    remove(&sb, &id);
}

/// `--trace` shows a grid at each capability step and one read from the running workload
/// after execve, marking what execve changed (a non-root user keeps only the ambient set).
#[test]
fn trace_shows_grids_through_execve() {
    let sb = Sandbox::new("grid-trace");
    let o = sb.run(
        &["--trace", "-u", "1000", "--cap-add", "net_bind_service"],
        &["true"],
    );
    ok(&o);
    let err = stderr(&o);
    assert!(!err.contains('\x1b'), "colour into a pipe");
    for step in [
        "bounding set dropped:",
        "identity switched:",
        "capset:",
        "ambient set:",
    ] {
        assert!(err.contains(step), "{step} missing:\n{err}");
    }
    let after = &err[err
        .find("after execve, read from /proc/")
        .expect("no after-execve grid")..];
    assert_eq!(
        grid_row(after, "net_bind_service"),
        "net_bind_service    x   x   x   x   x   default"
    );
    assert_eq!(
        grid_row(after, "chown"),
        "chown               x   .   .   .   .   default"
    );
    // Before execve the effective set held nothing but net_bind_service either: the grids
    // before it show each step's change.
    assert!(
        err.matches("capability          bnd prm eff inh amb docker")
            .count()
            >= 5,
        "{err}"
    );
    assert!(err.contains("  changed"), "{err}");
}

/// `line` run by script(1) on a terminal of its own, with NO_COLOR set or not.
fn under_script(line: &str, no_color: bool) -> std::process::Output {
    let mut c = Command::new("script");
    c.args(["-qec", line, "/dev/null"]).env("TERM", "xterm");
    if no_color {
        c.env("NO_COLOR", "1");
    } else {
        c.env_remove("NO_COLOR");
    }
    c.output().expect("script (bsdutils) missing")
}

/// Colour on a terminal only (script(1) gives minirun one), and never with NO_COLOR.
#[test]
fn grid_colour_only_on_a_terminal() {
    let sb = Sandbox::new("grid-tty");
    let id = detach(&sb, &["--cap-drop=net_raw"], &["sleep", "30"]);
    let line = format!(
        "{} --root {} caps {id}",
        minirun().display(),
        sb.root.display()
    );
    let tty = |no_color: bool| ok(&under_script(&line, no_color));
    let coloured = tty(false);
    assert!(
        coloured.contains("\x1b[31m  dropped\x1b[0m"),
        "{coloured:?}"
    );
    let plain = tty(true);
    assert!(!plain.contains('\x1b'), "{plain:?}");
    assert!(plain.contains("default  dropped"), "{plain}");
    remove(&sb, &id);
}

/// `script -qec LINE /dev/null` with `input` on its stdin: LINE runs on a terminal of its own.
fn on_a_terminal(line: &str, input: &str) -> String {
    use std::io::Write;
    let mut c = Command::new("script")
        .args(["-qec", line, "/dev/null"])
        .env("TERM", "xterm")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script (bsdutils) missing");
    c.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    ok(&c.wait_with_output().unwrap())
}

/// `-it ... sh -i` as a student types it: the shell has a terminal (no "not a tty"), of the
/// caller's window size, reads what is typed, its exit status comes back, and the caller's
/// terminal is as it was before.
#[test]
fn it_gives_an_interactive_shell_a_terminal() {
    let sb = Sandbox::new("tty-it");
    let line = format!(
        "stty rows 37 cols 101; before=$(stty -g); {} --root {} -it {} sh -i; echo rc=$?; \
         [ \"$(stty -g)\" = \"$before\" ] && echo terminal-restored",
        minirun().display(),
        sb.root.display(),
        fixture().display()
    );
    let out = on_a_terminal(&line, "echo hello-$((6*7))\ntty\nstty size\nexit 7\n");
    assert!(out.contains("hello-42"), "{out}");
    assert!(out.contains("\n/dev/pts/0\r"), "{out}");
    assert!(out.contains("\n37 101\r"), "{out}");
    assert!(out.contains("rc=7"), "{out}");
    assert!(out.contains("terminal-restored"), "{out}");
    assert!(
        !out.contains("can't access tty"),
        "job control is off: {out}"
    );
    assert!(!out.contains("not a tty"), "{out}");
}

/// `-t` alone: a pty whose size follows the caller's window (SIGWINCH becomes a resize).
#[test]
fn t_follows_the_callers_window() {
    let sb = Sandbox::new("tty-t");
    let line = format!(
        "stty rows 37 cols 101; (sleep 1; stty rows 50 cols 120 </dev/tty) & \
         {} --root {} -t {} sh -c 'stty size; sleep 3; stty size; exit 3'; echo rc=$?",
        minirun().display(),
        sb.root.display(),
        fixture().display()
    );
    let out = on_a_terminal(&line, "");
    let sizes: Vec<&str> = out
        .lines()
        .map(str::trim)
        .filter(|l| l.contains(' ') && l.chars().all(|c| c.is_ascii_digit() || c == ' '))
        .collect();
    assert_eq!(sizes, ["37 101", "50 120"], "{out}");
    assert!(out.contains("rc=3"), "{out}");
}

/// `-it` without a terminal is refused as Docker refuses it; `-t -d` has nobody to attach.
#[test]
fn it_refusals() {
    let sb = Sandbox::new("tty-refuse");
    let o = sb.run(&["-it"], &["sh"]);
    assert_eq!(code(&o), 125);
    assert!(
        stderr(&o).starts_with("minirun: the input device is not a TTY"),
        "{}",
        stderr(&o)
    );
    let o = sb.run(&["-dt"], &["sh"]);
    assert_eq!(code(&o), 125);
    assert!(stderr(&o).contains("-t with -d"), "{}", stderr(&o));
}

/// capprobe's exit status is its verdict (0 allowed, 1 refused), so `minimize` finds what a
/// probe needs; `experiment` still reads the JSON line whatever the status.
#[test]
fn capprobe_status_drives_minimize_and_experiment_reads_its_verdict() {
    let sb = Sandbox::new("capprobe-status");
    let o = sb.run(&[], &["capprobe", "net_raw"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("\"result\":\"allowed\""),
        "{}",
        stdout(&o)
    );
    let o = sb.run(&["--cap-drop=net_raw"], &["capprobe", "net_raw"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stdout(&o).contains("\"result\":\"EPERM\""),
        "{}",
        stdout(&o)
    );

    let f = fixture();
    let o = sb
        .cmd(&[
            "minimize",
            "--json",
            f.to_str().unwrap(),
            "capprobe",
            "net_raw",
        ])
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_str(ok(&o).trim()).unwrap();
    assert_eq!(r["needed"], serde_json::json!(["net_raw"]), "{r}");
    assert_eq!(r["verified"], true, "{r}");

    let o = sb
        .cmd(&[
            "experiment",
            "--json",
            "--cap",
            "net_raw",
            f.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_str(ok(&o).trim()).unwrap();
    assert_eq!(r["verdict"], "gated", "{r}");
    assert_eq!(r["dropped"], "EPERM", "{r}");
}

/// `experiment` on a rootfs without capprobe: one line, up front, saying how to get it.
#[test]
fn experiment_without_capprobe_says_how_to_get_it() {
    let sb = Sandbox::new("no-capprobe");
    let rootfs = sb.scratch.join("rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    std::fs::copy(fixture().join("bin/busybox"), rootfs.join("bin/busybox")).unwrap();
    let o = sb
        .cmd(&["experiment", rootfs.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&o), 125, "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("has no capprobe") && err.contains("make fixtures"),
        "{err}"
    );
    assert!(stdout(&o).is_empty(), "no container ran: {}", stdout(&o));
}

/// `minirun ARGS` from the test's sandbox: (exit status, stdout, stderr).
fn answer(sb: &Sandbox, args: &[&str]) -> (i32, String, String) {
    let o = sb.cmd(args).output().unwrap();
    (code(&o), stdout(&o), stderr(&o))
}

/// Errors name what is missing or wrong in one line; help, version, a typo and explain's
/// search and numbers answer as a student would hope.
#[test]
fn the_cli_answers_with_names_suggestions_and_searches() {
    let sb = Sandbox::new("cli-answers");
    for (args, want) in [
        (
            &["caps"][..],
            "minirun: caps needs <TARGET> (usage: minirun caps <TARGET>)\n",
        ),
        (
            &["state"],
            "minirun: state needs <ID> (usage: minirun state <ID>)\n",
        ),
        (
            &["kill"],
            "minirun: kill needs <ID> (usage: minirun kill <ID> [SIGNAL])\n",
        ),
        (
            &["experiment"],
            "minirun: experiment needs <ROOTFS> (usage: minirun experiment <ROOTFS>)\n",
        ),
        (
            &["minimize"],
            "minirun: minimize needs <ROOTFS> <COMMAND>... (usage: minirun minimize <ROOTFS> <COMMAND>...)\n",
        ),
        (
            &["--network", "bridge", "r", "true"],
            "minirun: invalid value 'bridge' for '--network <NETWORK>' (valid: none, host)\n",
        ),
        (
            &["experimnet", "r"],
            "minirun: \"experimnet\" is neither a subcommand nor a directory (did you mean \"experiment\"?)\n",
        ),
        (
            &["--cap-add", "net_bind", "/", "true"],
            "minirun: unknown capability \"CAP_NET_BIND\" (did you mean \"CAP_NET_BIND_SERVICE\"?)\n",
        ),
    ] {
        let (c, out, err) = answer(&sb, args);
        assert_eq!((c, out.as_str(), err.as_str()), (125, "", want), "{args:?}");
    }
    let (c, out, _) = answer(&sb, &["help"]);
    assert_eq!(c, 0);
    assert!(
        out.contains("experiment") && out.contains("Usage:"),
        "{out}"
    );
    let (c, out, _) = answer(&sb, &["help", "caps"]);
    assert_eq!(c, 0);
    assert!(out.contains("Usage: minirun caps"), "{out}");
    let (c, out, _) = answer(&sb, &["version"]);
    assert_eq!(
        (c, out.trim()),
        (0, concat!("minirun ", env!("CARGO_PKG_VERSION")))
    );

    let (c, out, _) = answer(&sb, &["explain", "net"]);
    assert_eq!(c, 0);
    let rows: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        rows,
        ["net_bind_service", "net_broadcast", "net_admin", "net_raw"],
        "{out}"
    );
    let (c, out, _) = answer(&sb, &["explain", "7"]);
    assert_eq!(c, 0);
    assert!(out.starts_with("setuid (CAP_SETUID, number 7)"), "{out}");
    let (c, _, err) = answer(&sb, &["explain", "99"]);
    assert_eq!(c, 125);
    assert!(err.starts_with("minirun: no capability number 99"), "{err}");
}

/// What Docker refuses is refused: one line naming the value, exit 125, nothing started.
#[test]
fn nonsense_docker_refuses_is_refused() {
    let sb = Sandbox::new("refusals");
    for (flags, want) in [
        (
            &["-e", "=bar"][..],
            "minirun: invalid environment variable: =bar\n",
        ),
        (
            &["-e", ""],
            "minirun: invalid environment variable: \"\" (-e needs KEY=VALUE or KEY)\n",
        ),
        (
            &["--cap-add", ""],
            "minirun: empty capability name in \"\" (Docker refuses it too)\n",
        ),
        (
            &["--cap-add", "chown,"],
            "minirun: empty capability name in \"chown,\" (Docker refuses it too)\n",
        ),
        (
            &["--cap-drop", ",kill"],
            "minirun: empty capability name in \",kill\" (Docker refuses it too)\n",
        ),
    ] {
        let o = sb.run(flags, &["touch", "/started"]);
        assert_eq!((code(&o), stderr(&o).as_str()), (125, want), "{flags:?}");
    }
    let o = sb.run(&["--read-only", "--volatile"], &["true"]);
    assert_eq!(code(&o), 125);
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("minirun: --read-only and --volatile contradict"),
        "{err}"
    );
    assert!(!fixture().join("started").exists());
    assert!(
        std::fs::read_dir(&sb.root).unwrap().next().is_none(),
        "a record was left"
    );
}

/// One voice: `minirun: warning: ...` and `minirun: ...`, the prefix once, colour only on a
/// terminal and never with NO_COLOR; a client that passes --log (podman, which then writes
/// `Error: minirun: ...` itself) gets the bare message on stderr, as runc writes it.
#[test]
fn warnings_and_errors_speak_with_one_voice() {
    let sb = Sandbox::new("voice");
    let o = sb.run(&["--cap-add", "chown", "--cap-drop", "chown"], &["nosuch"]);
    assert_eq!(code(&o), 127);
    assert_eq!(
        stderr(&o),
        "minirun: warning: CAP_CHOWN both added and dropped: kept, as Docker does (adds are applied after drops)\n\
         minirun: exec: \"nosuch\": executable file not found in $PATH\n"
    );
    let line = format!(
        "{} --root {} --cap-add chown --cap-drop chown {} nosuch",
        minirun().display(),
        sb.root.display(),
        fixture().display()
    );
    let tty = |no_color: bool| stdout(&under_script(&line, no_color));
    let coloured = tty(false);
    assert!(
        coloured.starts_with("\x1b[1;33mminirun: warning:\x1b[0m CAP_CHOWN"),
        "{coloured:?}"
    );
    assert!(
        coloured.contains("\x1b[1;31mminirun:\x1b[0m exec: \"nosuch\""),
        "{coloured:?}"
    );
    let plain = tty(true);
    assert!(!plain.contains('\x1b'), "{plain:?}");
    assert!(
        plain.starts_with("minirun: warning: CAP_CHOWN"),
        "{plain:?}"
    );

    // As podman calls it: the reason in the JSON log, and once, bare, on stderr.
    let log = sb.scratch.join("oci-log");
    let o = sb
        .cmd(&[
            "--log-format=json",
            "--log",
            log.to_str().unwrap(),
            "state",
            "nosuch",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&o), 1);
    assert_eq!(stderr(&o), "container \"nosuch\" does not exist\n");
    let entry: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&log).unwrap().trim()).unwrap();
    assert_eq!(
        entry["msg"], "container \"nosuch\" does not exist",
        "{entry}"
    );
    assert_eq!(entry["level"], "error");
    let o = sb.cmd(&["state", "nosuch"]).output().unwrap();
    assert_eq!(stderr(&o), "minirun: container \"nosuch\" does not exist\n");
}

/// `minirun spec` twice gives the same bytes, capability lists in kernel order.
#[test]
fn spec_writes_capabilities_in_kernel_order() {
    let sb = Sandbox::new("spec-order");
    let texts: Vec<String> = ["a", "b"]
        .iter()
        .map(|d| {
            let dir = sb.scratch.join(d);
            std::fs::create_dir_all(&dir).unwrap();
            ok(&sb
                .cmd(&["spec", "-b", dir.to_str().unwrap()])
                .output()
                .unwrap());
            std::fs::read_to_string(dir.join("config.json")).unwrap()
        })
        .collect();
    assert_eq!(texts[0], texts[1]);
    let v: serde_json::Value = serde_json::from_str(&texts[0]).unwrap();
    for set in ["bounding", "effective", "permitted"] {
        let names: Vec<&str> = v["process"]["capabilities"][set]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let want: Vec<String> = STEPS[0]
            .1
            .trim_end_matches(" +")
            .split(", ")
            .map(|n| format!("CAP_{}", n.to_uppercase()))
            .collect();
        assert_eq!(names, want, "{set}");
    }
}

/// `make demo` (demo.sh): the workshop's three steps, each with pscap's line and the grid.
#[test]
fn demo_shows_the_three_steps_with_pscap_and_the_grid() {
    let sb = Sandbox::new("demo");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("demo.sh");
    let o = Command::new(script)
        .arg(minirun())
        .arg(fixture())
        .env("MINIRUN_ROOT", &sb.root)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let out = ok(&o);
    assert!(out.starts_with("hello from "), "{out}");
    let sections: Vec<&str> = out.split("\n== Step ").skip(1).collect();
    assert_eq!(sections.len(), 3, "{out}");
    for (section, (_, caps)) in sections.iter().zip(STEPS) {
        let pscap_line = section.lines().nth(1).unwrap();
        assert!(
            pscap_line.contains(" sleep ") && pscap_line.ends_with(caps),
            "{section}"
        );
        assert!(
            section.contains("capability          bnd prm eff inh amb docker"),
            "{section}"
        );
    }
    assert!(sections[1].contains("setfcap             .   .   .   .   .   default  dropped"));
    assert!(sections[2].contains("setuid              x   x   x   .   .   default\n"));
}

/// Docker's storage flags: `--read-only --tmpfs /tmp` (a read-only root with a writable /tmp),
/// `-v HOST:CONTAINER:ro`, `--mount type=bind|tmpfs`; bad values refused in one line.
#[test]
fn volumes_mounts_and_tmpfs_as_docker_has_them() {
    let sb = Sandbox::new("storage");
    let o = sb.run(
        &["--read-only", "--tmpfs", "/tmp"],
        &[
            "sh",
            "-c",
            "touch /tmp/x && echo tmp-ok; touch /etc/x || echo etc-ro; grep ' /tmp ' /proc/mounts",
        ],
    );
    let out = ok(&o);
    assert!(
        out.starts_with("tmp-ok\netc-ro\ntmpfs /tmp tmpfs rw,nosuid,nodev,noexec"),
        "{out}"
    );
    assert!(!fixture().join("etc/x").exists());

    let host = sb.scratch.join("host");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("f"), "from-the-host\n").unwrap();
    let v = format!("{}:/var/tmp:ro", host.display());
    let o = sb.run(
        &["-v", &v],
        &[
            "sh",
            "-c",
            "cat /var/tmp/f; touch /var/tmp/g || echo vol-ro",
        ],
    );
    assert_eq!(ok(&o), "from-the-host\nvol-ro\n");
    assert!(!host.join("g").exists());

    let m = format!("type=bind,source={},target=/home", host.display());
    let o = sb.run(
        &[
            "--mount",
            &m,
            "--mount",
            "type=tmpfs,target=/run,tmpfs-size=1m",
        ],
        &[
            "sh",
            "-c",
            "echo written > /home/g; grep ' /run ' /proc/mounts",
        ],
    );
    assert!(ok(&o).contains("size=1024k"), "{}", stdout(&o));
    assert_eq!(
        std::fs::read_to_string(host.join("g")).unwrap(),
        "written\n"
    );

    for (flags, want) in [
        (
            vec!["-v", "/no/such/dir:/x"],
            "minirun: -v \"/no/such/dir:/x\": bind source path does not exist: /no/such/dir\n",
        ),
        (
            vec!["-v", "data:/data"],
            "minirun: -v \"data:/data\": \"data\" is not an absolute host path (minirun has no named volumes)\n",
        ),
        (
            vec!["--mount", "type=volume,target=/v"],
            "minirun: --mount \"type=volume,target=/v\": type=volume is not supported (minirun has no volume store)\n",
        ),
        (
            vec!["--tmpfs", "tmp"],
            "minirun: --tmpfs \"tmp\": the container path \"tmp\" must be absolute\n",
        ),
    ] {
        let o = sb.run(&flags, &["true"]);
        assert_eq!((code(&o), stderr(&o).as_str()), (125, want), "{flags:?}");
    }
}

/// `make install PREFIX=...` (its install-files half, with the binary under test): the binary,
/// a man page per command with the examples, and completions that know the subcommands.
#[test]
fn install_puts_binary_man_pages_and_completions_under_prefix() {
    let sb = Sandbox::new("install");
    let prefix = sb.scratch.join("prefix");
    let o = Command::new("make")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("-s")
        .arg("install-files")
        .arg(format!("PREFIX={}", prefix.display()))
        .arg(format!("MINIRUN={}", minirun().display()))
        .output()
        .expect("make missing");
    ok(&o);
    let bin = prefix.join("bin/minirun");
    assert_eq!(
        std::fs::read(&bin).unwrap(),
        std::fs::read(minirun()).unwrap()
    );
    let man1 = prefix.join("share/man/man1");
    for page in [
        "minirun.1",
        "minirun-caps.1",
        "minirun-experiment.1",
        "minirun-ps.1",
    ] {
        assert!(man1.join(page).is_file(), "{page}");
    }
    let page = Command::new("man")
        .arg("-l")
        .arg(man1.join("minirun.1"))
        .env("MANWIDTH", "120")
        .env("MANPAGER", "cat")
        .output()
        .expect("man (man-db) missing");
    let text = ok(&page);
    assert!(
        text.contains("EXAMPLES") && text.contains("minirun -it rootfs/ sh"),
        "{text}"
    );
    assert!(
        text.contains("--cap-add") && text.contains("minirun-caps(1)"),
        "{text}"
    );
    let caps = Command::new("man")
        .arg("-l")
        .arg(man1.join("minirun-caps.1"))
        .env("MANPAGER", "cat")
        .output()
        .unwrap();
    assert!(
        ok(&caps).contains("minirun caps [--json]"),
        "{}",
        stdout(&caps)
    );

    let bash = prefix.join("share/bash-completion/completions/minirun");
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}; COMP_WORDS=(minirun exp); COMP_CWORD=1; _minirun minirun exp; echo \"${{COMPREPLY[@]}}\"",
            bash.display()
        ))
        .output()
        .unwrap();
    assert_eq!(ok(&o).trim(), "explain experiment");
    assert!(prefix.join("share/zsh/site-functions/_minirun").is_file());
    assert!(
        prefix
            .join("share/fish/vendor_completions.d/minirun.fish")
            .is_file()
    );
}

/// `--help` has examples and leaves the OCI runtime's global flags to `help-commands`;
/// explain's table fills the terminal's width.
#[test]
fn help_has_examples_and_explain_fills_the_terminal() {
    let sb = Sandbox::new("help");
    let help = ok(&sb.cmd(&["--help"]).output().unwrap());
    assert!(
        help.contains("Examples:\n  minirun rootfs/ sh -c"),
        "{help}"
    );
    assert!(
        help.contains("--cap-add") && help.contains("--tmpfs"),
        "{help}"
    );
    for oci_flag in ["--log-format", "--cgroup-manager", "--systemd-cgroup"] {
        assert!(
            !help.contains(oci_flag),
            "{oci_flag} in the quick form's help"
        );
    }
    let commands = ok(&sb.cmd(&["help-commands"]).output().unwrap());
    assert!(commands.contains("--log-format") && commands.contains("experiment"));

    for cols in [70usize, 150] {
        let out = stdout(&under_script(
            &format!("stty cols {cols}; {} explain", minirun().display()),
            true,
        ));
        let widest = out
            .lines()
            .map(|l| l.trim_end_matches('\r').chars().count())
            .max();
        assert_eq!(widest, Some(cols), "{out}");
    }
}

/// `COMP_WORDS=(WORDS...)` completed by the generated bash script: what COMPREPLY holds.
/// The first word becomes the binary under test, which the script runs to list ids.
fn bash_complete(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let bin = minirun();
    let mut words = words.to_vec();
    words[0] = bin.to_str().unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {}; COMP_WORDS=({}); COMP_CWORD={cword}; \
             _minirun_with_ids '{}' '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display(),
            quoted.join(" "),
            words[0],
            words[cword],
            words[cword.saturating_sub(1)],
        ))
        .output()
        .expect("bash missing");
    ok(&o)
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// Issue 23: completion offers capability names after --cap-add/--cap-drop and explain, and
/// container ids after the subcommands that take one, not file names.
#[test]
fn bash_completion_offers_capabilities_and_container_ids() {
    let sb = Sandbox::new("completion");
    let dir = sb.scratch.join("completions");
    ok(&sb
        .cmd(&["generate", "completions", "bash", dir.to_str().unwrap()])
        .output()
        .unwrap());
    let script = dir.join("minirun.bash");
    let c = |words: &[&str]| bash_complete(&script, words);
    assert_eq!(
        c(&["minirun", "--cap-add", "net_"]),
        ["net_bind_service", "net_broadcast", "net_admin", "net_raw"]
    );
    assert_eq!(c(&["minirun", "--cap-drop", "sys_ch"]), ["sys_chroot"]);
    assert_eq!(c(&["minirun", "explain", "sys_a"]), ["sys_admin"]);
    assert_eq!(c(&["minirun", "exec", "-c", "setf"]), ["setfcap"]);
    assert_eq!(c(&["minirun", "minimize", "--from", "def"]), ["defaults"]);

    let id = detach(&sb, &[], &["sleep", "30"]);
    let root = sb.root.to_str().unwrap();
    for words in [
        &["minirun", "--root", root, "state", ""][..],
        &["minirun", "--root", root, "kill", &id[..4]],
        &["minirun", "--root", root, "exec", "--cwd", "/tmp", "-d", ""],
        &["minirun", "--root", "=", root, "rm", ""],
        &["minirun", "--root", root, "caps", ""],
    ] {
        assert_eq!(c(words), [id.as_str()], "{words:?}");
    }
    // Not where an id goes: a second positional, an option's value, create's new id.
    for words in [
        &["minirun", "--root", root, "kill", &id, ""][..],
        &["minirun", "--root", root, "exec", "--cwd", ""],
        &["minirun", "--root", root, "create", ""],
    ] {
        assert!(!c(words).contains(&id), "{words:?}");
    }
    ok(&sb.cmd(&["rm", "-f", &id]).output().unwrap());
}
