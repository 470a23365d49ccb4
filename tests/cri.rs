//! Kubernetes' path to minirun: the kubelet's CRI calls (gRPC, API v1) to containerd, whose CRI
//! plugin runs pods through the runc v2 shim with minirun as the runtime binary of the
//! RuntimeClass handler `minirun`. Also `ctr run --runc-binary`, the same shim without the CRI.
//!
//! Each test starts its own containerd (root, state, socket, config and minirun state root in a
//! temp dir) in a private mount namespace (see tests/daemon), imports the fixture rootfs as an
//! image (rootfs-fixtures/image.sh: no registry is reachable), and ends it by its pid. Pods use
//! the host's network (no CNI plugin is installed) and a cgroup parent named for the test
//! (`cgroup_parent`: minirun makes the pods' cgroups there; the test removes it).

mod common;
mod daemon;

use common::*;
use daemon::*;
use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use tonic::transport::{Channel, Endpoint, Uri};

const IMAGE: &str = "minirun.test/fixture:1";
/// The sandbox ("pause") image: image.sh's second image, sharing the fixture's layer.
const PAUSE: &str = "minirun.test/fixture-pause:1";
const HANDLER: &str = "minirun";

// ---------------------------------------------------------------- containerd

/// A containerd of the test's own, stopped by its pid on drop; fails the test if anything it
/// started (shims, minirun, workloads, minirun state records) outlived the test's cleanup.
struct Containerd {
    dir: PathBuf,
    daemon: Child,
}

impl Containerd {
    fn start(tag: &str) -> Containerd {
        assert!(
            nix::unistd::geteuid().is_root(),
            "integration tests need root"
        );
        require("/usr/bin/containerd", "containerd");
        require("/usr/bin/containerd-shim-runc-v2", "containerd");
        require("/usr/bin/ctr", "containerd");
        require("/usr/bin/pscap", "libcap-ng-utils");
        let dir = std::env::temp_dir().join(format!("minirun-cri-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["cni-bin", "cni-conf", "logs"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let cfg = dir.join("config.toml");
        std::fs::write(&cfg, config_toml(&dir, &minirun())).unwrap();
        let log = std::fs::File::create(dir.join("containerd.log")).unwrap();
        let daemon = in_private_ns(&["/usr/bin/containerd", "--config", cfg.to_str().unwrap()])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting containerd");
        let c = Containerd { dir, daemon };
        let up = wait_for(30.0, || {
            c.ctr(&["version"])
                .output()
                .ok()
                .filter(|o| o.status.success())
        });
        assert!(up.is_some(), "containerd did not come up: {}", c.log());
        c
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("containerd.sock")
    }

    /// minirun's --root, as the shim passes it: one directory per containerd namespace.
    fn runtime_root(&self) -> PathBuf {
        self.dir.join("minirun-state")
    }

    /// The pods' `cgroup_parent`: named for the test (its directory's name), removed on drop.
    fn cgroup_parent(&self) -> String {
        format!("/{}", self.dir.file_name().unwrap().to_string_lossy())
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("containerd.log")).unwrap_or_default()
    }

    fn ctr(&self, args: &[&str]) -> Command {
        let mut c = Command::new("/usr/bin/ctr");
        c.arg("--address").arg(self.socket()).args(args);
        c.stdin(Stdio::null());
        c
    }

    /// Packs the fixture with rootfs-fixtures/image.sh and imports both images into `ns`.
    fn import_fixture(&self, ns: &str) {
        let tar = self.dir.join("fixture.tar");
        if !tar.exists() {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("rootfs-fixtures/image.sh");
            let o = Command::new(script)
                .arg(fixture())
                .arg(&tar)
                .arg(IMAGE)
                .output()
                .unwrap();
            ok(&o);
        }
        ok(&self
            .ctr(&["-n", ns, "images", "import", tar.to_str().unwrap()])
            .output()
            .unwrap());
    }

    /// What containers of this daemon left: processes (shims, minirun, workloads found by
    /// their pids), mounts in the daemon's namespace and minirun state records.
    fn leftovers(&self, workloads: &[i32]) -> Vec<String> {
        let mut left: Vec<String> = processes_mentioning(&self.dir)
            .into_iter()
            .filter(|(pid, _)| *pid != self.daemon.id() as i32)
            .map(|(pid, cmd)| format!("process {pid}: {cmd}"))
            .collect();
        left.extend(
            workloads
                .iter()
                .filter(|p| Path::new(&format!("/proc/{p}")).exists())
                .map(|p| format!("workload {p} still running")),
        );
        let mountinfo = format!("/proc/{}/mountinfo", self.daemon.id());
        let needle = self.dir.to_string_lossy().into_owned();
        left.extend(
            std::fs::read_to_string(mountinfo)
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains(&needle) || l.contains(&*fixture().to_string_lossy()))
                .map(|l| format!("mount: {l}")),
        );
        left.extend(
            host_mounts_under(&self.dir)
                .into_iter()
                .map(|l| format!("host mount: {l}")),
        );
        left.extend(
            fixture_mounts()
                .into_iter()
                .map(|l| format!("host mount: {l}")),
        );
        let parent = self.cgroup_parent();
        left.extend(
            cgroups_named(&[&parent[1..]])
                .into_iter()
                .filter(|c| !c.ends_with(&parent)),
        );
        if let Ok(nss) = std::fs::read_dir(self.runtime_root()) {
            for ns in nss.flatten() {
                for rec in records_in(&ns.path()) {
                    left.push(format!("state record {}", ns.path().join(rec).display()));
                }
            }
        }
        left
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        stop_daemon(&mut self.daemon);
        // Shims outlive their daemon by design: a failed test leaves them (and their workloads).
        let left = kill_leftovers(&self.dir);
        for sock in left.iter().filter_map(|(_, cmd)| shim_socket(cmd)) {
            let _ = std::fs::remove_file(sock);
        }
        let parent = self.cgroup_parent();
        // Deepest first: a failed test may have left pods' cgroups below the parent.
        let mut cgroups = cgroups_named(&[&parent[1..]]);
        cgroups.sort_by_key(|c| std::cmp::Reverse(c.len()));
        for c in &cgroups {
            let _ = std::fs::remove_dir(c.trim_start_matches("cgroup "));
        }
        let cgroups_left = cgroups_named(&[&parent[1..]]);
        let _ = std::fs::remove_dir_all(&self.dir);
        if !std::thread::panicking() {
            assert!(cgroups_left.is_empty(), "cgroups left: {cgroups_left:?}");
            assert!(left.is_empty(), "left running: {left:?}");
        }
    }
}

/// containerd's config: everything under `dir`; the CRI plugin with a `minirun` handler (the
/// snippet README's Kubernetes section gives operators), no CNI.
fn config_toml(dir: &Path, minirun: &Path) -> String {
    let d = dir.display();
    format!(
        r#"version = 2
root = "{d}/root"
state = "{d}/state"
# Snapshotters this host cannot use would only log errors.
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = "{d}/containerd.sock"
[ttrpc]
  address = "{d}/containerd.sock.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE}"
  # Cgroups on (containerd's default): minirun makes them, at the pod's cgroup_parent.
  disable_cgroup = false
  disable_apparmor = true
  # The sandbox's default oom_score_adj (-998) needs CAP_SYS_RESOURCE, which this VM lacks.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{d}/cni-bin"
    conf_dir = "{d}/cni-conf"
  # The node's default stays runc, here a runc that cannot run: a pod that lost its handler
  # on the way fails instead of running on another runtime.
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      BinaryName = "{d}/no-runc"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{HANDLER}]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.{HANDLER}.options]
      BinaryName = "{m}"
      Root = "{d}/minirun-state"
      SystemdCgroup = false
"#,
        m = minirun.display()
    )
}

// ---------------------------------------------------------------- the CRI client

/// The kubelet's side: CRI v1 runtime and image services over containerd's socket.
struct Cri {
    rt: tokio::runtime::Runtime,
    runtime: RuntimeServiceClient<Channel>,
    images: ImageServiceClient<Channel>,
    logs: PathBuf,
    /// minirun's --root for the CRI's containerd namespace.
    minirun_root: PathBuf,
    cgroup_parent: String,
    /// Every sandbox and container started, with its pid: none may outlive its removal.
    started: std::cell::RefCell<Vec<(String, i32)>>,
}

impl Cri {
    fn connect(c: &Containerd) -> Cri {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let sock = c.socket();
        let channel = rt
            .block_on(
                // The URI is a placeholder: every connection goes to the unix socket.
                Endpoint::from_static("http://localhost").connect_with_connector(
                    tower::service_fn(move |_: Uri| {
                        let sock = sock.clone();
                        async move {
                            let s = tokio::net::UnixStream::connect(sock).await?;
                            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(s))
                        }
                    }),
                ),
            )
            .expect("connecting to containerd's CRI socket");
        Cri {
            rt,
            runtime: RuntimeServiceClient::new(channel.clone()),
            images: ImageServiceClient::new(channel),
            logs: c.dir.join("logs"),
            minirun_root: c.runtime_root().join("k8s.io"),
            cgroup_parent: c.cgroup_parent(),
            started: Default::default(),
        }
    }

    /// Runs one call; a gRPC error fails the test with its status.
    fn call<T>(
        &self,
        what: &str,
        f: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> T {
        match self.rt.block_on(f) {
            Ok(r) => r.into_inner(),
            Err(s) => panic!("CRI {what}: {:?}: {}", s.code(), s.message()),
        }
    }

    fn rs(&self) -> RuntimeServiceClient<Channel> {
        self.runtime.clone()
    }

    /// ImageStatus until the CRI plugin has seen `image` (it learns of imports by events).
    fn wait_image(&self, image: &str) {
        let seen = wait_for(10.0, || {
            let req = ImageStatusRequest {
                image: Some(ImageSpec {
                    image: image.into(),
                    ..Default::default()
                }),
                verbose: false,
            };
            self.call("ImageStatus", self.images.clone().image_status(req))
                .image
        });
        assert!(seen.is_some(), "the CRI never listed {image}");
    }

    fn run_pod(&self, name: &str, privileged: bool) -> Pod {
        let log_dir = self.logs.join(name);
        let config = PodSandboxConfig {
            metadata: Some(PodSandboxMetadata {
                name: name.into(),
                uid: format!("uid-{name}"),
                namespace: "minirun-test".into(),
                attempt: 0,
            }),
            log_directory: log_dir.to_string_lossy().into(),
            linux: Some(LinuxPodSandboxConfig {
                cgroup_parent: self.cgroup_parent.clone(),
                security_context: Some(LinuxSandboxSecurityContext {
                    namespace_options: Some(pod_namespaces()),
                    privileged,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let req = RunPodSandboxRequest {
            config: Some(config.clone()),
            runtime_handler: HANDLER.into(),
        };
        let id = self
            .call("RunPodSandbox", self.rs().run_pod_sandbox(req))
            .pod_sandbox_id;
        let req = PodSandboxStatusRequest {
            pod_sandbox_id: id.clone(),
            verbose: true,
        };
        let st = self.call("PodSandboxStatus", self.rs().pod_sandbox_status(req));
        assert_eq!(
            st.status.as_ref().map(|s| s.state),
            Some(PodSandboxState::SandboxReady as i32)
        );
        assert_eq!(st.status.as_ref().unwrap().runtime_handler, HANDLER);
        let pid = info_pid(&st.info);
        self.assert_minirun_runs(&id, pid);
        Pod {
            id,
            config,
            pid,
            log_dir,
        }
    }

    /// CreateContainer + StartContainer; the workload's host pid.
    fn start(
        &self,
        pod: &Pod,
        name: &str,
        argv: &[&str],
        sc: LinuxContainerSecurityContext,
    ) -> (String, i32) {
        let id = self.create(pod, name, argv, sc, None);
        self.start_created(&id)
    }

    fn create(
        &self,
        pod: &Pod,
        name: &str,
        argv: &[&str],
        sc: LinuxContainerSecurityContext,
        resources: Option<LinuxContainerResources>,
    ) -> String {
        let config = ContainerConfig {
            metadata: Some(ContainerMetadata {
                name: name.into(),
                attempt: 0,
            }),
            image: Some(ImageSpec {
                image: IMAGE.into(),
                ..Default::default()
            }),
            command: argv.iter().map(|s| s.to_string()).collect(),
            log_path: format!("{name}.log"),
            linux: Some(LinuxContainerConfig {
                security_context: Some(sc),
                resources,
            }),
            ..Default::default()
        };
        let req = CreateContainerRequest {
            pod_sandbox_id: pod.id.clone(),
            config: Some(config),
            sandbox_config: Some(pod.config.clone()),
        };
        self.call("CreateContainer", self.rs().create_container(req))
            .container_id
    }

    fn start_created(&self, id: &str) -> (String, i32) {
        let id = id.to_string();
        let req = StartContainerRequest {
            container_id: id.clone(),
        };
        self.call("StartContainer", self.rs().start_container(req));
        let (st, info) = self.status(&id);
        assert_eq!(st.state, ContainerState::ContainerRunning as i32, "{st:?}");
        let pid = info_pid(&info);
        self.assert_minirun_runs(&id, pid);
        (id, pid)
    }

    /// minirun's own record of `id` (the shim's state root): running, with the CRI's pid.
    fn assert_minirun_runs(&self, id: &str, pid: i32) {
        let o = Command::new(minirun())
            .arg("--root")
            .arg(&self.minirun_root)
            .args(["state", id])
            .output()
            .unwrap();
        let st: serde_json::Value = serde_json::from_str(&ok(&o)).unwrap();
        assert_eq!(st["status"], "running", "{st}");
        assert_eq!(st["pid"], pid, "{st}");
        self.started.borrow_mut().push((id.to_string(), pid));
    }

    /// ContainerStatus (verbose: its info carries the workload's pid).
    fn status(&self, id: &str) -> (ContainerStatus, std::collections::HashMap<String, String>) {
        let req = ContainerStatusRequest {
            container_id: id.into(),
            verbose: true,
        };
        let r = self.call("ContainerStatus", self.rs().container_status(req));
        (r.status.expect("ContainerStatus without status"), r.info)
    }

    fn wait_exited(&self, id: &str) -> ContainerStatus {
        wait_for(10.0, || {
            let (st, _) = self.status(id);
            (st.state == ContainerState::ContainerExited as i32).then_some(st)
        })
        .unwrap_or_else(|| panic!("container {id} did not exit"))
    }

    fn exec(&self, id: &str, argv: &[&str]) -> ExecSyncResponse {
        let req = ExecSyncRequest {
            container_id: id.into(),
            cmd: argv.iter().map(|s| s.to_string()).collect(),
            timeout: 10,
        };
        self.call("ExecSync", self.rs().exec_sync(req))
    }

    /// ExecSync that must fail with `want` in its stderr.
    fn exec_fails(&self, id: &str, argv: &[&str], want: &str) {
        let r = self.exec(id, argv);
        let err = String::from_utf8_lossy(&r.stderr);
        assert_ne!(r.exit_code, 0, "exec {argv:?} succeeded");
        assert!(err.contains(want), "exec {argv:?}: {err}");
    }

    /// ExecSync that must succeed; its stdout.
    fn exec_ok(&self, id: &str, argv: &[&str]) -> String {
        let r = self.exec(id, argv);
        let out = String::from_utf8_lossy(&r.stdout).into_owned();
        assert_eq!(
            r.exit_code,
            0,
            "exec {argv:?}: {out}{}",
            String::from_utf8_lossy(&r.stderr)
        );
        out
    }

    fn stop(&self, id: &str) {
        let req = StopContainerRequest {
            container_id: id.into(),
            timeout: 2,
        };
        self.call("StopContainer", self.rs().stop_container(req));
    }

    fn remove(&self, id: &str) {
        let req = RemoveContainerRequest {
            container_id: id.into(),
        };
        self.call("RemoveContainer", self.rs().remove_container(req));
    }

    fn remove_pod(&self, pod: &Pod) {
        let req = StopPodSandboxRequest {
            pod_sandbox_id: pod.id.clone(),
        };
        self.call("StopPodSandbox", self.rs().stop_pod_sandbox(req));
        let req = RemovePodSandboxRequest {
            pod_sandbox_id: pod.id.clone(),
        };
        self.call("RemovePodSandbox", self.rs().remove_pod_sandbox(req));
    }

    /// Nothing listed by the CRI any more, and nothing of what it started left on the host.
    fn assert_nothing_left(&self, c: &Containerd) {
        let pods = self.call(
            "ListPodSandbox",
            self.rs().list_pod_sandbox(ListPodSandboxRequest::default()),
        );
        assert!(pods.items.is_empty(), "{:?}", pods.items);
        let ctrs = self.call(
            "ListContainers",
            self.rs().list_containers(ListContainersRequest::default()),
        );
        assert!(ctrs.containers.is_empty(), "{:?}", ctrs.containers);
        let started = self.started.borrow();
        let mut left = c.leftovers(&started.iter().map(|(_, p)| *p).collect::<Vec<_>>());
        left.extend(cgroups_named(
            &started
                .iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>(),
        ));
        assert!(left.is_empty(), "{left:#?}");
    }
}

/// Cgroup directories (three levels deep in every hierarchy) whose name contains one of `ids`:
/// minirun's `delete` removes each pod's and container's, wherever they were placed.
fn cgroups_named(ids: &[&str]) -> Vec<String> {
    fn walk(dir: &Path, depth: u32, ids: &[&str], out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            if ids.iter().any(|id| name.contains(id)) {
                out.push(format!("cgroup {}", e.path().display()));
            }
            if depth > 0 {
                walk(&e.path(), depth - 1, ids, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new("/sys/fs/cgroup"), 3, ids, &mut out);
    out
}

struct Pod {
    id: String,
    config: PodSandboxConfig,
    /// The sandbox (pause) process, whose namespaces the containers join.
    pid: i32,
    log_dir: PathBuf,
}

/// Host network (no CNI here); the pod's own ipc and pid namespaces. containerd gives a
/// host-network pod the host's uts namespace too.
fn pod_namespaces() -> NamespaceOption {
    NamespaceOption {
        network: NamespaceMode::Node as i32,
        pid: NamespaceMode::Pod as i32,
        ipc: NamespaceMode::Pod as i32,
        ..Default::default()
    }
}

/// A container's security context as the kubelet fills it for a pod with a shared pid
/// namespace. The kubelet, not containerd, supplies the masked and read-only paths; its
/// defaults follow Docker's, which minirun's quick form uses too.
fn context(caps: Option<Capability>) -> LinuxContainerSecurityContext {
    let paths = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
    LinuxContainerSecurityContext {
        capabilities: caps,
        namespace_options: Some(pod_namespaces()),
        masked_paths: paths(minirun::spec::MASKED_PATHS),
        readonly_paths: paths(minirun::spec::READONLY_PATHS),
        ..Default::default()
    }
}

fn caps(add: &[&str], drop: &[&str]) -> Option<Capability> {
    Some(Capability {
        add_capabilities: add.iter().map(|s| s.to_string()).collect(),
        drop_capabilities: drop.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    })
}

/// The pid in a verbose status's `info` JSON (containerd's CRI puts it there).
fn info_pid(info: &std::collections::HashMap<String, String>) -> i32 {
    let raw = info.get("info").expect("verbose status without info");
    let v: serde_json::Value = serde_json::from_str(raw).unwrap();
    let pid = v["pid"]
        .as_i64()
        .unwrap_or_else(|| panic!("no pid in {raw}"));
    pid as i32
}

fn ns(pid: i32, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/ns/{kind}: {e}"))
        .to_string_lossy()
        .into_owned()
}

fn status_field(pid: i32, key: &str) -> String {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
        .trim()
        .to_string()
}

/// The Cap lines of /proc/PID/status, as `grep Cap` prints them.
fn cap_lines(pid: i32) -> String {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .filter(|l| l.starts_with("Cap"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// pscap's capability column for the quick form `minirun [opts] FIXTURE sleep 30`.
fn quick_form_caps(opts: &[&str]) -> String {
    let sb = Sandbox::new("cri-quick");
    let mut runtime = sb
        .cmd(opts)
        .arg(fixture())
        .args(["sleep", "30"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = wait_for(5.0, || {
        descendants_named(runtime.id(), "sleep").first().copied()
    });
    let caps = pid.map(pscap_caps);
    if let Some(pid) = pid {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let _ = runtime.wait();
    caps.expect("the quick form's sleep never started")
}

fn start_cri(tag: &str) -> (Containerd, Cri) {
    let c = Containerd::start(tag);
    c.import_fixture("k8s.io");
    let cri = Cri::connect(&c);
    let v = cri.call(
        "Version",
        cri.rs().version(VersionRequest {
            version: "v1".into(),
        }),
    );
    assert_eq!(v.runtime_api_version, "v1", "{v:?}");
    cri.wait_image(IMAGE);
    cri.wait_image(PAUSE);
    (c, cri)
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

// ---------------------------------------------------------------- tests

#[test]
fn pod_with_shared_pid_namespace() {
    let host_name = hostname();
    let (c, cri) = start_cri("pod");
    let pod = cri.run_pod("shared", false);
    let (a, a_pid) = cri.start(&pod, "a", &["sleep", "1001"], context(None));
    let (b, b_pid) = cri.start(
        &pod,
        "b",
        &["sh", "-c", "echo to-stdout; echo to-stderr >&2; sleep 1002"],
        context(None),
    );

    // The sandbox's pid and ipc namespaces are joined, not recreated; the network (and, with
    // it, uts) namespace is the host's; each container has its own mount namespace.
    let me = std::process::id() as i32;
    for kind in ["pid", "ipc"] {
        assert_ne!(
            ns(pod.pid, kind),
            ns(me, kind),
            "{kind}: the pod has its own"
        );
        assert_eq!(ns(a_pid, kind), ns(pod.pid, kind), "{kind} of a");
        assert_eq!(ns(b_pid, kind), ns(pod.pid, kind), "{kind} of b");
    }
    for kind in ["net", "uts"] {
        for pid in [pod.pid, a_pid, b_pid] {
            assert_eq!(ns(pid, kind), ns(me, kind), "{kind} of {pid}");
        }
    }
    assert_ne!(ns(a_pid, "mnt"), ns(b_pid, "mnt"));
    assert_ne!(ns(a_pid, "mnt"), ns(me, "mnt"));
    assert_eq!(hostname(), host_name, "a pod changed the host's hostname");

    // Each container sees the other's processes, and the pause process as PID 1.
    let ps_a = cri.exec_ok(&a, &["ps", "-o", "pid,args"]);
    let ps_b = cri.exec_ok(&b, &["ps", "-o", "pid,args"]);
    for ps in [&ps_a, &ps_b] {
        assert!(
            ps.contains("sleep 1001") && ps.contains("sleep 1002"),
            "{ps}"
        );
        assert!(
            ps.lines()
                .any(|l| l.trim().starts_with("1 ") && l.contains("trap")),
            "{ps}"
        );
    }

    // The shim writes the workload's output to the log file in the CRI's format.
    let log = pod.log_dir.join("b.log");
    let text = wait_for(5.0, || {
        let t = std::fs::read_to_string(&log).ok()?;
        (t.contains(" stdout F to-stdout") && t.contains(" stderr F to-stderr")).then_some(t)
    });
    assert!(
        text.is_some(),
        "{}: {:?}",
        log.display(),
        std::fs::read_to_string(&log)
    );

    // Exit codes: the workload's own; StopContainer's SIGTERM (neither sleep is PID 1 here).
    let (e, _) = cri.start(&pod, "e", &["sh", "-c", "sleep 0.2; exit 3"], context(None));
    let st = cri.wait_exited(&e);
    assert_eq!(st.exit_code, 3, "{st:?}");
    assert_eq!(st.reason, "Error", "{st:?}");
    for id in [&a, &b] {
        cri.stop(id);
        let st = cri.wait_exited(id);
        assert_eq!(st.exit_code, 128 + 15, "{st:?}");
    }
    for id in [&a, &b, &e] {
        cri.remove(id);
    }
    // A removed container is unknown to the CRI.
    let req = ContainerStatusRequest {
        container_id: a.clone(),
        verbose: false,
    };
    let err = cri.rt.block_on(cri.rs().container_status(req)).unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound, "{err:?}");
    cri.remove_pod(&pod);
    cri.assert_nothing_left(&c);
}

/// The workshop's three steps as pod security contexts: pscap shows the workload with the same
/// capabilities as the quick form given the same sets, and ExecSync's process has them too.
#[test]
fn workshop_steps_as_security_contexts() {
    let (c, cri) = start_cri("caps");
    let pod = cri.run_pod("caps", false);
    let steps: [(Option<Capability>, &[&str], &str); 3] = [
        (
            None,
            &[],
            "chown, dac_override, fowner, fsetid, kill, setgid, setuid, setpcap, net_bind_service, net_raw, sys_chroot, mknod, audit_write, setfcap +",
        ),
        (
            caps(&[], &["SETFCAP", "AUDIT_WRITE", "MKNOD"]),
            &[
                "--cap-drop=setfcap",
                "--cap-drop=audit_write",
                "--cap-drop=mknod",
            ],
            "chown, dac_override, fowner, fsetid, kill, setgid, setuid, setpcap, net_bind_service, net_raw, sys_chroot +",
        ),
        (
            caps(&["SETUID", "SETGID"], &["ALL"]),
            &["--cap-drop=all", "--cap-add=setuid", "--cap-add=setgid"],
            "setgid, setuid +",
        ),
    ];
    for (i, (sc, quick, want)) in steps.into_iter().enumerate() {
        let (id, pid) = cri.start(
            &pod,
            &format!("step{}", i + 1),
            &["sleep", "1000"],
            context(sc),
        );
        let ours = pscap_caps(pid);
        eprintln!("step {}: {ours}", i + 1);
        assert_eq!(ours, want, "step {}", i + 1);
        assert_eq!(
            ours,
            quick_form_caps(quick),
            "step {}: CRI vs quick form",
            i + 1
        );
        // ExecSync runs with the container's sets.
        assert_eq!(
            cri.exec_ok(&id, &["grep", "Cap", "/proc/self/status"]),
            cap_lines(pid),
            "step {}",
            i + 1
        );
        cri.stop(&id);
        cri.remove(&id);
    }
    cri.remove_pod(&pod);
    cri.assert_nothing_left(&c);
}

/// run_as_user, readonly_rootfs and no_new_privs, then a privileged pod.
#[test]
fn security_context_fields() {
    let (c, cri) = start_cri("sec");
    let pod = cri.run_pod("sec", false);
    let sc = LinuxContainerSecurityContext {
        run_as_user: Some(Int64Value { value: 1000 }),
        readonly_rootfs: true,
        no_new_privs: true,
        ..context(None)
    };
    let (id, pid) = cri.start(&pod, "restricted", &["sleep", "1000"], sc);
    assert_eq!(status_field(pid, "Uid:"), "1000\t1000\t1000\t1000");
    assert_eq!(status_field(pid, "NoNewPrivs:"), "1");
    // A non-root workload keeps the bounding set but has no effective capability.
    assert_eq!(status_field(pid, "CapEff:"), "0000000000000000");
    assert_eq!(status_field(pid, "CapBnd:"), "00000000a80425fb");
    assert_eq!(cri.exec_ok(&id, &["id", "-u"]).trim(), "1000");
    cri.exec_fails(&id, &["touch", "/probe"], "Read-only file system");
    // The pod's /dev/shm stays writable under a read-only rootfs.
    cri.exec_ok(&id, &["touch", "/dev/shm/probe"]);
    // Masked and read-only paths, which the privileged container below must not have.
    let mounts = cri.exec_ok(&id, &["cat", "/proc/self/mountinfo"]);
    assert!(
        mounts.contains(" /proc/keys ") && mounts.contains(" /proc/sys ro,"),
        "/proc/keys not masked or /proc/sys not read-only:\n{mounts}"
    );
    assert_eq!(cri.exec_ok(&id, &["cat", "/proc/keys"]), "");
    cri.stop(&id);
    cri.remove(&id);
    cri.remove_pod(&pod);

    // Privileged: every capability containerd itself has, no masked paths, the host's devices.
    let pod2 = cri.run_pod("privileged", true);
    let sc = LinuxContainerSecurityContext {
        privileged: true,
        masked_paths: Vec::new(),
        readonly_paths: Vec::new(),
        ..context(None)
    };
    let (id, pid2) = cri.start(&pod2, "privileged", &["sleep", "1000"], sc);
    let bounding = status_field(std::process::id() as i32, "CapBnd:");
    assert_eq!(status_field(pid2, "CapEff:"), bounding);
    assert_eq!(status_field(pid2, "CapBnd:"), bounding);
    let mounts = cri.exec_ok(&id, &["cat", "/proc/self/mountinfo"]);
    assert!(
        !mounts.contains(" /proc/keys ") && !mounts.contains(" /proc/sys "),
        "privileged, yet masked or read-only paths:\n{mounts}"
    );
    cri.exec_ok(&id, &["test", "-c", "/dev/kmsg"]);
    cri.stop(&id);
    cri.remove(&id);
    cri.remove_pod(&pod2);
    cri.assert_nothing_left(&c);
}

/// Pods with a shared pid namespace start and stop cleanly, many times in a row.
#[test]
fn pods_start_and_stop_20_times() {
    let (c, cri) = start_cri("loop");
    for i in 0..20 {
        let pod = cri.run_pod(&format!("loop{i}"), false);
        let (id, _) = cri.start(&pod, "w", &["sleep", "1000"], context(None));
        let ps = cri.exec_ok(&id, &["ps", "-o", "pid,args"]);
        assert!(
            ps.contains("sleep 1000") && ps.contains("trap"),
            "round {i}: {ps}"
        );
        cri.stop(&id);
        cri.remove(&id);
        cri.remove_pod(&pod);
        cri.assert_nothing_left(&c);
    }
}

/// `ctr run` with minirun as the runc v2 shim's binary: output, exit code, step 2's capabilities.
#[test]
fn ctr_run_with_minirun_binary() {
    let c = Containerd::start("ctr");
    c.import_fixture("minirun-ctr");
    let root = c.runtime_root();
    let run = |id: &str, extra: &[&str], argv: &[&str]| {
        let mut a = vec![
            "-n",
            "minirun-ctr",
            "run",
            "--rm",
            "--runtime",
            "io.containerd.runc.v2",
            "--runc-binary",
        ];
        let m = minirun();
        let fifo = c.dir.join("fifo");
        a.push(m.to_str().unwrap());
        a.extend(["--runc-root", root.to_str().unwrap()]);
        a.extend(["--fifo-dir", fifo.to_str().unwrap()]);
        // No cgroups path (ctr's default is /minirun-ctr/ID, at the root of every hierarchy):
        // minirun then places the cgroup below its own, and `delete` removes it.
        a.extend(["--cgroup", ""]);
        a.extend(extra);
        a.extend([IMAGE, id]);
        a.extend(argv);
        c.ctr(&a).output().unwrap()
    };
    let o = run("echo", &[], &["echo", "ok"]);
    assert_eq!(ok(&o).trim(), "ok");
    let o = run("exit", &[], &["sh", "-c", "exit 7"]);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    let o = run(
        "caps",
        &[
            "--cap-drop",
            "CAP_SETFCAP",
            "--cap-drop",
            "CAP_AUDIT_WRITE",
            "--cap-drop",
            "CAP_MKNOD",
        ],
        &["grep", "CapEff", "/proc/self/status"],
    );
    // ctr 1.6 has no "ALL" (it ignores CAP_ALL), so of the three steps only the second applies.
    assert_eq!(ok(&o).trim(), "CapEff:\t00000000000425fb");
    let left = c.leftovers(&[]);
    assert!(left.is_empty(), "{left:#?}");
}

/// The shim socket name as observed here for `ctr run -d … t2` against /tmp/k8s-exp's containerd.
#[test]
fn shim_socket_name() {
    let cmd = "/usr/bin/containerd-shim-runc-v2 -namespace k8s.io -id t2 -address /tmp/k8s-exp/containerd.sock ";
    assert_eq!(
        shim_socket(cmd),
        Some(PathBuf::from(
            "/run/containerd/s/e786b838bd030d4a666d3fd3c743c602bad6501669475b8be6f86399e5851c98"
        ))
    );
    assert_eq!(shim_socket("/usr/bin/minirun --root /x state t2"), None);
}

/// The leftover scan sees cgroups: it finds this process's own memory cgroup by name.
#[test]
fn cgroup_scan_finds_a_known_cgroup() {
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let path = own
        .lines()
        .find_map(|l| l.split(':').nth(2).filter(|p| p.len() > 1))
        .expect("this process is in no named cgroup");
    let name = path.rsplit('/').next().unwrap();
    let found = cgroups_named(&[name]);
    assert!(found.iter().any(|f| f.ends_with(path)), "{name}: {found:?}");
}

fn seccomp(
    profile_type: security_profile::ProfileType,
    localhost_ref: &str,
) -> LinuxContainerSecurityContext {
    LinuxContainerSecurityContext {
        seccomp: Some(SecurityProfile {
            profile_type: profile_type as i32,
            localhost_ref: localhost_ref.into(),
        }),
        ..context(None)
    }
}

/// `seccomp: RuntimeDefault` is containerd's own profile, which refuses unshare(2) to a container
/// without CAP_SYS_ADMIN; `Unconfined` has no filter; `Localhost` loads a profile file of the
/// node's. The host's /proc/PID/status says which mode the workload is in.
#[test]
fn seccomp_profiles_through_cri() {
    use security_profile::ProfileType;
    let (c, cri) = start_cri("seccomp");
    let pod = cri.run_pod("seccomp", false);

    let start = |name: &str, kind: ProfileType, localhost_ref: &str, mode: &str| {
        let sc = seccomp(kind, localhost_ref);
        let (id, pid) = cri.start(&pod, name, &["sleep", "1000"], sc);
        assert_eq!(status_field(pid, "Seccomp:"), mode, "{name}");
        id
    };
    let def = start("default", ProfileType::RuntimeDefault, "", "2");
    cri.exec_fails(&def, &["unshare", "-Ur", "true"], "Operation not permitted");
    // ExecSync's process gets the container's filter too.
    assert_eq!(
        cri.exec_ok(&def, &["grep", "Seccomp:", "/proc/self/status"])
            .split_whitespace()
            .nth(1),
        Some("2")
    );

    let free = start("unconfined", ProfileType::Unconfined, "", "0");
    cri.exec_ok(&free, &["unshare", "-Ur", "true"]);

    // A node-local profile: everything allowed but mkdir, which fails with EACCES (13).
    let profile = c.dir.join("no-mkdir.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}"#,
    )
    .unwrap();
    let local = start(
        "localhost",
        ProfileType::Localhost,
        profile.to_str().unwrap(),
        "2",
    );
    cri.exec_fails(&local, &["mkdir", "/tmp/probe"], "Permission denied");
    cri.exec_ok(&local, &["unshare", "-Ur", "true"]);
    cri.exec_ok(&def, &["mkdir", "/tmp/probe"]);

    for id in [&def, &free, &local] {
        cri.stop(id);
        cri.remove(id);
    }
    cri.remove_pod(&pod);
    cri.assert_nothing_left(&c);
}

/// The host's path of `pid`'s cgroup in the v1 hierarchy whose controllers include `ctrl`.
fn v1_cgroup_dir(pid: i32, ctrl: &str) -> PathBuf {
    let s = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let (ctrls, path) = s
        .lines()
        .find_map(|l| {
            let mut f = l.splitn(3, ':').skip(1);
            let ctrls = f.next()?;
            let path = f.next()?;
            ctrls
                .split(',')
                .any(|c| c == ctrl)
                .then(|| (ctrls.to_string(), path.to_string()))
        })
        .unwrap_or_else(|| panic!("no {ctrl} line in /proc/{pid}/cgroup:\n{s}"));
    Path::new("/sys/fs/cgroup")
        .join(ctrls)
        .join(path.trim_start_matches('/'))
}

fn read_trim(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_string()
}

/// CPU limits from the container config land in the cgroup the workload is in (below the
/// pod's cgroup_parent), throttle it, follow UpdateContainerResources, and ContainerStats reads
/// its usage. A memory limit is refused by name: the memory hierarchy is hidden from containerd
/// and minirun here (see tests/daemon), and minirun never drops a limit silently.
#[test]
fn cpu_limits_from_container_config() {
    let (c, cri) = start_cri("cpu");
    let pod = cri.run_pod("cpu", false);
    let resources = LinuxContainerResources {
        cpu_period: 100_000,
        cpu_quota: 20_000,
        cpu_shares: 512,
        ..Default::default()
    };
    let id = cri.create(
        &pod,
        "spin",
        &["sh", "-c", "while :; do :; done"],
        context(None),
        Some(resources.clone()),
    );
    let (id, pid) = cri.start_created(&id);
    let cpu = v1_cgroup_dir(pid, "cpu");
    assert_eq!(
        cpu,
        Path::new("/sys/fs/cgroup/cpu").join(format!("{}/{id}", &cri.cgroup_parent[1..]))
    );
    eprintln!(
        "{}",
        std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap()
    );
    // The sandbox is a sibling below the same parent.
    assert_eq!(v1_cgroup_dir(pod.pid, "cpu"), cpu.with_file_name(&pod.id));
    assert_eq!(read_trim(&cpu.join("cpu.cfs_period_us")), "100000");
    assert_eq!(read_trim(&cpu.join("cpu.cfs_quota_us")), "20000");
    assert_eq!(read_trim(&cpu.join("cpu.shares")), "512");
    // The kernel holds the spinning workload to its quota.
    let throttled = wait_for(5.0, || {
        let st = read_trim(&cpu.join("cpu.stat"));
        let n: u64 = st
            .lines()
            .find_map(|l| l.strip_prefix("nr_throttled "))?
            .parse()
            .ok()?;
        (n > 0).then_some(n)
    });
    assert!(throttled.is_some(), "{}", read_trim(&cpu.join("cpu.stat")));

    let req = UpdateContainerResourcesRequest {
        container_id: id.clone(),
        linux: Some(LinuxContainerResources {
            cpu_quota: 50_000,
            cpu_shares: 256,
            ..resources
        }),
        ..Default::default()
    };
    cri.call(
        "UpdateContainerResources",
        cri.rs().update_container_resources(req),
    );
    assert_eq!(read_trim(&cpu.join("cpu.cfs_quota_us")), "50000");
    assert_eq!(read_trim(&cpu.join("cpu.shares")), "256");

    let req = ContainerStatsRequest {
        container_id: id.clone(),
    };
    let stats = cri
        .call("ContainerStats", cri.rs().container_stats(req))
        .stats
        .expect("no stats");
    let used = stats
        .cpu
        .as_ref()
        .and_then(|c| c.usage_core_nano_seconds.as_ref())
        .map(|v| v.value);
    assert!(used.is_some_and(|n| n > 0), "{stats:?}");

    // The pod's own: the sandbox's cgroup (the pause process) and its containers'.
    let req = PodSandboxStatsRequest {
        pod_sandbox_id: pod.id.clone(),
    };
    let pod_stats = cri.call("PodSandboxStats", cri.rs().pod_sandbox_stats(req));
    let linux = pod_stats
        .stats
        .and_then(|s| s.linux)
        .expect("no linux stats");
    let pause_procs = linux
        .process
        .as_ref()
        .and_then(|p| p.process_count.as_ref());
    assert_eq!(pause_procs.map(|v| v.value), Some(1), "{linux:?}");
    let spin = linux
        .containers
        .iter()
        .find(|s| s.attributes.as_ref().is_some_and(|a| a.id == id));
    let used = spin.and_then(|s| s.cpu.as_ref()?.usage_core_nano_seconds.as_ref());
    assert!(used.is_some_and(|v| v.value > 0), "{linux:?}");

    // A memory limit has no hierarchy to hold it here: refused, naming the controller.
    let mem = LinuxContainerResources {
        memory_limit_in_bytes: 64 << 20,
        ..Default::default()
    };
    let m = cri.create(&pod, "memory", &["sleep", "1000"], context(None), Some(mem));
    let req = StartContainerRequest {
        container_id: m.clone(),
    };
    let err = cri.rt.block_on(cri.rs().start_container(req)).unwrap_err();
    eprintln!("StartContainer with a memory limit: {}", err.message());
    assert!(err.message().contains("memory"), "{err:?}");

    cri.stop(&id);
    for x in [&id, &m] {
        cri.remove(x);
    }
    cri.remove_pod(&pod);
    cri.assert_nothing_left(&c);
}

/// Issue 20, item 4: runAsUser 1000 with every capability dropped. The init reopens the exec
/// fifo as uid 1000 without CAP_DAC_OVERRIDE: a fifo left 0600 by the umask failed the start.
#[test]
fn run_as_user_without_capabilities() {
    let (c, cri) = start_cri("nonroot");
    let pod = cri.run_pod("nonroot", false);
    let sc = LinuxContainerSecurityContext {
        run_as_user: Some(Int64Value { value: 1000 }),
        ..context(caps(&[], &["ALL"]))
    };
    let (id, pid) = cri.start(&pod, "nocaps", &["sleep", "1000"], sc);
    assert_eq!(status_field(pid, "Uid:"), "1000\t1000\t1000\t1000");
    for set in ["CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"] {
        assert_eq!(status_field(pid, set), "0000000000000000", "{set}");
    }
    // ExecSync runs as the container's process does: uid 1000, nothing held.
    assert_eq!(cri.exec_ok(&id, &["id", "-u"]).trim(), "1000");
    assert_eq!(
        cri.exec_ok(&id, &["grep", "Cap", "/proc/self/status"]),
        cap_lines(pid)
    );
    cri.stop(&id);
    cri.remove(&id);
    cri.remove_pod(&pod);
    cri.assert_nothing_left(&c);
}
