//! create, start, run, state, kill, delete, list: runc's lifecycle over minirun's state
//! records (`container::state::Store`).
//!
//! `create` launches the container through the one launch path with a start gate: the init
//! does everything up to the workload's execve, tells `create` it is ready, and blocks opening
//! `exec.fifo` for writing. `start` opens the fifo for reading, which releases it. Status is
//! derived: created while the fifo exists and the init lives, running after, stopped when the
//! recorded pid (with its recorded start time) is gone.

use super::Failure;
use super::Log;
use crate::capability as cap;
use crate::cli::{CreateArgs, DeleteArgs, KillArgs, ListArgs, OciRunArgs};
use crate::container::hooks::HookState;
use crate::container::instance::Container;
use crate::container::launch::{self, Handles, Reached};
use crate::container::plan::Settings;
use crate::container::state::{self, FIFO, State, Status, Store};
use crate::container::{bundle, hooks, procfs};
use crate::container::{cgroup_launch, validate};
use anyhow::{Context, Result, anyhow, bail};
use nix::sys::signal::{Signal, kill as send_signal};
use nix::unistd::Pid;
use oci_spec::runtime::{Hook, LinuxNamespaceType, Spec};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// The copy of config.json kept with the record (for exec defaults and the later hooks).
pub const CONFIG: &str = "config.json";

/// The config saved at create time, if any (quick-form containers have none).
pub fn saved_spec(store: &Store, id: &str) -> Option<Spec> {
    let text = std::fs::read_to_string(store.dir(id).join(CONFIG)).ok()?;
    serde_json::from_str(&text).ok()
}

fn hook_context(st: &State) -> HookState {
    HookState {
        id: st.id.clone(),
        bundle: st.bundle.clone(),
        annotations: st.annotations.clone(),
    }
}

/// Writes a pid file the way runc does: the number alone, atomically.
pub fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("pid")
    ));
    std::fs::write(&tmp, pid.to_string())
        .with_context(|| format!("writing the pid file {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("writing the pid file {}", path.display()))?;
    Ok(())
}

/// Connects to the caller's console socket (`--console-socket`), checking it fits the config.
pub fn console_socket(
    path: Option<&Path>,
    terminal: bool,
    foreground: bool,
    log: &Log,
) -> Result<Option<UnixStream>> {
    match (terminal, path) {
        (true, Some(p)) => Ok(Some(UnixStream::connect(p).with_context(|| {
            format!("connecting to the console socket {}", p.display())
        })?)),
        (true, None) if !foreground => bail!(
            "process.terminal is true but no --console-socket was given: cannot allocate a pty for a detached container"
        ),
        (true, None) => {
            log.warn("process.terminal is true but no --console-socket: the workload uses minirun's own stdio");
            Ok(None)
        }
        (false, Some(_)) => {
            bail!("--console-socket was given but process.terminal is false")
        }
        (false, None) => Ok(None),
    }
}

/// Everything `create` does; `foreground` (from `run`) keeps the init tied to this process.
/// The container comes back unreleased: dropping it undoes the create.
fn create_container(
    g: &crate::cli::Global,
    log: &Log,
    a: &CreateArgs,
    foreground: bool,
) -> Result<(Container, State), Failure> {
    check_create_args(g, a, foreground)?;
    let b = load_bundle(a, log)?;
    let inputs = launch_inputs(g, log, a, &b, foreground)?;
    let plan = validate::plan(&b.spec, &inputs)?;
    let console = console_socket(a.console_socket.as_deref(), plan.terminal, foreground, log)?;
    let store = Store::new(&g.root);
    // Dropped on any error below: the init killed and reaped, its cgroup and record removed.
    let mut container = Container::reserve(&store, &a.id)?;
    // The cgroups a killed runtime left (their records are gone) go before we add ours; a
    // launch that makes none leaves them to the next one that does (it costs ≈ 0.2 ms).
    if plan.cgroup.is_some() {
        let live = |other: &str| store.dir(other).exists();
        cgroup_launch::sweep(&store.root, &live);
        crate::container::rootless_cgroup::sweep(&store.root, &live);
    }
    let sdir = container.dir();
    state::write_private(&sdir.join(CONFIG), b.text.as_bytes()).context("saving config.json")?;
    let gate = start_gate(&sdir, &plan)?;
    let hooks = hook_state(a, &b);
    let handles = Handles {
        start_gate: Some(gate.as_raw_fd()),
        console_socket: console.as_ref().map(|s| s.as_raw_fd()),
        console_size: None,
        hooks: Some(hooks.clone()),
    };
    let pid = container.spawn(&plan, &handles)?.pid.as_raw();
    if container.wait_ready()? == Reached::Exec {
        return Err(anyhow!("the container init exited before reaching the start gate").into());
    }
    let st = State {
        oci_version: crate::spec::OCI_VERSION.into(),
        id: a.id.clone(),
        pid,
        bundle: hooks.bundle,
        rootfs: plan.rootfs.to_string_lossy().into_owned(),
        annotations: hooks.annotations,
        created: state::rfc3339_now(),
        start_time: procfs::start_time(pid).unwrap_or(0),
    };
    // Recorded releases the init to block on the fifo: until it comes, a create killed
    // here makes the init exit instead of waiting where nobody can find it.
    container.record(&st)?;
    if let Some(p) = &a.pid_file {
        write_pid_file(p, pid)?;
    }
    container.child()?.recorded()?;
    Ok((container, st))
}

/// The refusals that need neither the bundle nor the state directory.
fn check_create_args(
    g: &crate::cli::Global,
    a: &CreateArgs,
    foreground: bool,
) -> Result<(), Failure> {
    state::validate_id(&a.id)?;
    if !crate::container::privilege::is_root() {
        crate::container::rootless::check_state_root(&g.root)?;
    }
    // The tracer lives in the runtime process; `create` and `run -d` return while the
    // container runs on.
    if a.trace_caps && !foreground {
        return Err(anyhow!(
            "--trace-caps needs `run` in the foreground (the tracer ends with this process); after start, `minirun trace-caps {}` attaches to the running container",
            a.id
        ).into());
    }
    Ok(())
}

/// The bundle (`--bundle`, else the current directory), its warnings said.
fn load_bundle(a: &CreateArgs, log: &Log) -> Result<bundle::Bundle, Failure> {
    let dir = match &a.bundle {
        Some(b) => b.clone(),
        None => std::env::current_dir().context("current directory")?,
    };
    let b = bundle::load(&dir)?;
    for w in &b.warnings {
        log.warn(w);
    }
    for n in &b.notes {
        log.debug(n);
    }
    Ok(b)
}

/// The launch's inputs: the bundle's, this host's cgroup facts, the config checked against
/// them, the seccomp filter compiled.
fn launch_inputs(
    g: &crate::cli::Global,
    log: &Log,
    a: &CreateArgs,
    b: &bundle::Bundle,
    foreground: bool,
) -> Result<validate::Inputs, Failure> {
    let settings = Settings {
        no_pivot: a.no_pivot,
        reaper: false,
        volatile: false,
        new_keyring: !a.no_new_keyring,
        preserve_fds: a.preserve_fds,
        // `create`'s init outlives this process; `run`'s is tied to it.
        die_with_parent: foreground,
        trace_caps: a.trace_caps,
    };
    let mut inputs = bundle::inputs(b, cap::kernel_last_cap(), settings)?;
    inputs.facts.cgroups = cgroups_for(g, a, b)?;
    inputs.facts.rootless = !crate::container::privilege::is_root();
    // Checked before the filter's cache is touched: a refused config leaves nothing.
    validate::check(&b.spec, &inputs.facts)?;
    if inputs.facts.rootless && matches!(inputs.facts.cgroups, validate::Cgroups::None) {
        log.warn(crate::container::rootless::NO_CGROUP);
    }
    // linux.seccomp becomes BPF here, in the parent, before any namespace exists.
    inputs.seccomp = crate::container::seccomp_step::for_spec(&g.root, &b.spec)?;
    Ok(inputs)
}

/// Where the container's cgroup comes from: root's from the config; an ordinary caller's
/// from the subtree the host delegates to it.
fn cgroups_for(
    g: &crate::cli::Global,
    a: &CreateArgs,
    b: &bundle::Bundle,
) -> Result<validate::Cgroups, Failure> {
    let name = cgroup_launch::cgroup_name(&g.root, &a.id);
    Ok(match crate::container::privilege::is_root() {
        true => validate::Cgroups::FromSpec {
            manager: manager(g)?,
            name,
        },
        // An ordinary caller's cgroup lies in the subtree the host delegates to it; without
        // one it gets none: said once, after the "rootless" check has refused a config that
        // asks for limits.
        false => match crate::container::rootless_cgroup::detect() {
            Some(d) if manager(g)? != cgroup_launch::Manager::Disabled => {
                let linux = b.spec.linux().clone().unwrap_or_default();
                validate::Cgroups::Given(d.request(
                    &name,
                    linux.cgroups_path().as_ref().and_then(|p| p.to_str()),
                    linux.resources().as_ref(),
                )?)
            }
            _ => validate::Cgroups::None,
        },
    })
}

/// Makes `exec.fifo` in the state directory and returns an O_PATH handle on it for the init.
fn start_gate(sdir: &Path, plan: &crate::container::plan::Plan) -> Result<OwnedFd, Failure> {
    let fifo = sdir.join(FIFO);
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o622))
        .with_context(|| format!("creating {}", fifo.display()))?;
    // 0622 whatever the umask (mkfifo applies it: 0600 under the usual 022): the init
    // reopens the fifo for writing after it has become the workload's user, and a
    // non-root user without CAP_DAC_OVERRIDE needs the write bit for others (runc clears
    // its umask around mkfifo for the same reason).
    std::fs::set_permissions(&fifo, std::fs::Permissions::from_mode(0o622))
        .with_context(|| format!("setting the mode of {}", fifo.display()))?;
    // In a user namespace the init is no longer the fifo's owner (host root is unmapped
    // there): hand the fifo to the container's root, as runc does. An ordinary caller may
    // chown only to itself, which its own root is; a workload of another uid (a subordinate
    // one, under the full mapping) writes through the mode's bit for others.
    if plan.creates(LinuxNamespaceType::User) {
        let (uid, gid) = crate::container::rootless::fifo_owner(
            &plan.uid_mappings,
            &plan.gid_mappings,
            (plan.identity.uid, plan.identity.gid),
        );
        nix::unistd::chown(&fifo, uid.map(Into::into), gid.map(Into::into))
            .with_context(|| format!("handing {} to the container's root", fifo.display()))?;
    }
    // O_PATH: holding it does not count as a reader or writer; the init reopens it for
    // writing through /proc/self/fd, which blocks until `start` opens it for reading.
    let gate: OwnedFd = nix::fcntl::open(
        &fifo,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .with_context(|| format!("opening {}", fifo.display()))?;
    Ok(gate)
}

/// What the hooks are told about the container: its id, bundle and annotations.
fn hook_state(a: &CreateArgs, b: &bundle::Bundle) -> HookState {
    let annotations = b
        .spec
        .annotations()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    HookState {
        id: a.id.clone(),
        bundle: b.dir.to_string_lossy().into_owned(),
        annotations,
    }
}

/// The cgroup manager the global flags ask for.
pub fn manager(g: &crate::cli::Global) -> Result<cgroup_launch::Manager> {
    Ok(cgroup_launch::Manager::from_flags(
        g.cgroup_manager.as_deref(),
        g.systemd_cgroup,
    )?)
}

pub fn create(g: &crate::cli::Global, log: &Log, a: &CreateArgs) -> Result<(), Failure> {
    // The init is not our child to wait for: it outlives us (conmon or the shim reaps it).
    let (container, _) = create_container(g, log, a, false)?;
    container.release();
    Ok(())
}

/// Releases a created container's init through the fifo.
pub fn start(g: &crate::cli::Global, log: &Log, id: &str) -> Result<()> {
    let store = Store::new(&g.root);
    let st = store.load(id)?;
    match store.status(&st) {
        Status::Created => {}
        Status::Running => bail!("cannot start an already running container"),
        Status::Stopped => bail!("cannot start a container that has stopped"),
    }
    let fifo = store.dir(id).join(FIFO);
    // Non-blocking open: if the init died, a blocking open would wait forever.
    let f: OwnedFd = nix::fcntl::open(
        &fifo,
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_NONBLOCK | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .with_context(|| format!("opening {}", fifo.display()))?;
    // First the init's byte (it opened the fifo: released), then EOF (it closed the fifo at
    // execve: the workload runs). Between polls, check that the init still lives.
    let mut released = false;
    loop {
        let mut fds = [nix::poll::PollFd::new(
            std::os::fd::AsFd::as_fd(&f),
            nix::poll::PollFlags::POLLIN,
        )];
        let n = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(100u16)).unwrap_or(0);
        if n > 0 {
            let mut b = [0u8; 1];
            match nix::unistd::read(&f, &mut b) {
                Ok(1) => released = true,
                // EOF after the byte: the workload was exec'd (or the init failed and exited).
                Ok(0) if released => break,
                _ => {}
            }
        }
        if store.status(&st) == Status::Stopped {
            if released {
                break;
            }
            bail!("container \"{id}\" exited before it was started");
        }
    }
    std::fs::remove_file(&fifo).with_context(|| format!("removing {}", fifo.display()))?;
    // poststart failures are warnings: the workload already runs (runtime-spec).
    let poststart = hooks_of(&store, id, |h| h.poststart().clone());
    if let Err(e) = hooks::run(
        "poststart",
        &poststart,
        &hook_context(&st).state_json("running", st.pid),
    ) {
        log.warn(&crate::error_chain::one_line(&e));
    }
    Ok(())
}

fn hooks_of(
    store: &Store,
    id: &str,
    pick: impl Fn(&oci_spec::runtime::Hooks) -> Option<Vec<Hook>>,
) -> Vec<Hook> {
    saved_spec(store, id)
        .and_then(|s| s.hooks().as_ref().and_then(&pick))
        .unwrap_or_default()
}

pub fn run(g: &crate::cli::Global, log: &Log, a: &OciRunArgs) -> Result<i32, Failure> {
    let (mut container, st) = create_container(g, log, &a.create, !a.detach)?;
    // Reading from here (create's clone3 is done); recording from the workload's execve.
    let store = Store::new(&g.root);
    let caps = container.child()?.caps_tracer.take().map(|t| {
        let profile = saved_spec(&store, &st.id);
        let profile = profile
            .as_ref()
            .and_then(crate::container::seccomp_step::in_force_of_spec);
        t.start(true).with_seccomp(profile)
    });
    // A start that fails drops the container: its init, cgroup and record go.
    start(g, log, &st.id)?;
    let Some(mut child) = container.release() else {
        return Err(anyhow!("container \"{}\" has no init to wait for", st.id).into());
    };
    if a.detach {
        return Ok(0);
    }
    let code = launch::wait_exit(&child).map_err(anyhow::Error::from);
    let code = match caps {
        Some(caps) => crate::trace_caps::report_at_exit(caps, a.create.trace_caps_json.as_deref())
            .map_err(anyhow::Error::from)
            .and(code)?,
        None => code?,
    };
    // An init that failed after `start` released it (a startContainer hook) left its reason on
    // the channel we still hold: that is the error, not its bare exit status. A workload that
    // ran closed the channel at execve (close-on-exec): end-of-file, nothing to report.
    let failed = match launch::wait_ready(&mut child) {
        Err(launch::StartError::Child(f)) => Some(f),
        _ => None,
    };
    if !a.keep {
        finish_delete(&store, log, &st)?;
    }
    match failed {
        Some(f) => Err(f.into()),
        None => Ok(code),
    }
}

/// `state ID`: the OCI state as runc prints it.
pub fn state_json(store: &Store, st: &State) -> serde_json::Value {
    let status = store.status(st);
    // A frozen cgroup is runc's "paused" (a status the record never stores).
    let shown = match status {
        Status::Running if super::control::is_paused(store, st) => "paused",
        s => s.as_str(),
    };
    serde_json::json!({
        "ociVersion": st.oci_version,
        "id": st.id,
        "pid": if status == Status::Stopped { 0 } else { st.pid },
        "status": shown,
        "bundle": st.bundle,
        "rootfs": st.rootfs,
        "created": st.created,
        "owner": "",
        "annotations": st.annotations,
    })
}

pub fn state(g: &crate::cli::Global, id: &str) -> Result<()> {
    let store = Store::new(&g.root);
    let st = store.load(id)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&state_json(&store, &st))?
    );
    Ok(())
}

/// SIGTERM, TERM, term, 15.
pub fn parse_signal(s: &str) -> Result<Signal> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).with_context(|| format!("unknown signal \"{s}\""));
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    name.parse::<Signal>()
        .map_err(|_| anyhow::anyhow!("unknown signal \"{s}\""))
}

fn signal_container(store: &Store, st: &State, sig: Signal, all: bool) -> Result<()> {
    // Every process of the container is every process of its cgroup: exact even when the
    // pid namespace is shared (then the namespace would name the neighbours too).
    if all && let Some(cg) = cgroup_launch::load(&store.dir(&st.id))? {
        return Ok(cg.kill_all(sig)?);
    }
    // Without a cgroup every process "in the container" is found by its pid namespace, so
    // only when it has one of its own (otherwise that would be every process on the host).
    let pids = if all && procfs::ns_differs(st.pid, "pid") {
        procfs::pids_in_pid_namespace_of(st.pid)
    } else {
        vec![st.pid]
    };
    for p in pids {
        match send_signal(Pid::from_raw(p), sig) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
            Err(e) => return Err(e).with_context(|| format!("sending {sig} to {p}")),
        }
    }
    Ok(())
}

pub fn kill(g: &crate::cli::Global, a: &KillArgs) -> Result<()> {
    let store = Store::new(&g.root);
    let st = store.load(&a.id)?;
    let sig = parse_signal(&a.signal)?;
    if store.status(&st) == Status::Stopped {
        bail!("container not running");
    }
    signal_container(&store, &st, sig, a.all)
}

/// SIGKILL, then wait (up to 10 s) until the init is gone or a zombie.
fn kill_and_wait(store: &Store, st: &State) -> Result<()> {
    signal_container(store, st, Signal::SIGKILL, true)?;
    let end = Instant::now() + Duration::from_secs(10);
    while store.status(st) != Status::Stopped {
        if Instant::now() > end {
            bail!("container \"{}\" did not die after SIGKILL", st.id);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// poststop hooks (failures are warnings), then the record goes.
fn finish_delete(store: &Store, log: &Log, st: &State) -> Result<()> {
    let poststop = hooks_of(store, &st.id, |h| h.poststop().clone());
    if let Err(e) = hooks::run(
        "poststop",
        &poststop,
        &hook_context(st).state_json("stopped", st.pid),
    ) {
        log.warn(&crate::error_chain::one_line(&e));
    }
    Ok(Container::open(store, &st.id)?.remove()?)
}

pub fn delete(g: &crate::cli::Global, log: &Log, a: &DeleteArgs) -> Result<()> {
    let store = Store::new(&g.root);
    let st = match store.load(&a.id) {
        Ok(st) => st,
        Err(e) => {
            // A record without state.json is a create that died half-way: clean it up. One
            // whose create still runs is left alone: removing it would let a second create of
            // the id race the first and leave an init nobody records.
            state::validate_id(&a.id)?;
            let dir = store.dir(&a.id);
            if dir.is_dir() && !dir.join("state.json").exists() {
                if !store.orphaned(&a.id) {
                    bail!("container \"{}\" is still being created", a.id);
                }
                // Its init may be alive in its cgroup, unrecorded: the cgroup finds it. A
                // cgroup.json cut short (the runtime killed while writing it) names none.
                return match Container::open(&store, &a.id) {
                    Ok(c) => Ok(c.remove()?),
                    Err(_) => Ok(store.remove(&a.id)?),
                };
            }
            if a.force && !dir.exists() {
                return Ok(());
            }
            return Err(e.into());
        }
    };
    match store.status(&st) {
        Status::Stopped => {}
        Status::Created => kill_and_wait(&store, &st)?,
        Status::Running if a.force => kill_and_wait(&store, &st)?,
        // runc's "not stopped" kept for whoever matches it; the way out for a person added.
        Status::Running => bail!(
            "container {} is running (not stopped): stop it first or use rm -f",
            a.id
        ),
    }
    finish_delete(&store, log, &st)
}

pub fn list(g: &crate::cli::Global, a: &ListArgs) -> Result<()> {
    let store = Store::new(&g.root);
    let all = store.list();
    if a.quiet {
        for st in &all {
            println!("{}", st.id);
        }
        return Ok(());
    }
    match a.format.as_str() {
        "json" => {
            let v: Vec<_> = all.iter().map(|st| state_json(&store, st)).collect();
            println!("{}", serde_json::to_string(&v)?);
        }
        "table" => {
            let rows: Vec<[String; 5]> = all
                .iter()
                .map(|st| {
                    let status = store.status(st);
                    let pid = if status == Status::Stopped { 0 } else { st.pid };
                    [
                        st.id.clone(),
                        pid.to_string(),
                        status.as_str().to_string(),
                        st.bundle.clone(),
                        st.created.clone(),
                    ]
                })
                .collect();
            let head = ["ID", "PID", "STATUS", "BUNDLE", "CREATED"].map(String::from);
            let mut width = [0usize; 5];
            for r in std::iter::once(&head).chain(&rows) {
                for (w, c) in width.iter_mut().zip(r) {
                    *w = (*w).max(c.len());
                }
            }
            for r in std::iter::once(&head).chain(&rows) {
                let line: Vec<String> = r
                    .iter()
                    .zip(width)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect();
                println!("{}", line.join("   ").trim_end());
            }
        }
        other => bail!("--format \"{other}\": expected table or json"),
    }
    Ok(())
}
