//! What the default seccomp profile costs a launch: resolving and compiling it with libseccomp
//! against loading it from the disk cache. `cargo run --release --example seccomp_cost [N]`.

use std::time::{Duration, Instant};

use minirun::capability::policy::DOCKER_DEFAULTS;
use minirun::seccomp::{Cache, Origin, compile, default_filter, docker_default, running_kernel};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args().nth(1).map_or(Ok(200), |s| s.parse())?;
    let kernel = running_kernel()?;
    let dir = std::env::temp_dir().join(format!("minirun-seccomp-cost-{}", std::process::id()));
    let cache = Cache::new(&dir);
    let mut built = Vec::new();
    let mut insns = 0;
    for _ in 0..n {
        let t = Instant::now();
        insns = compile(&docker_default(DOCKER_DEFAULTS, kernel))?
            .program
            .len();
        built.push(t.elapsed());
    }
    let (_, first) = default_filter(&cache, DOCKER_DEFAULTS, kernel)?;
    assert_eq!(first, Origin::Compiled);
    let mut loaded = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        let (_, origin) = default_filter(&cache, DOCKER_DEFAULTS, kernel)?;
        loaded.push(t.elapsed());
        assert_eq!(origin, Origin::Cache);
    }
    std::fs::remove_dir_all(&dir)?;
    println!("default profile, Docker's 14 capabilities, {insns} BPF instructions, {n} runs");
    println!("resolve + compile (libseccomp): median {:?}", median(built));
    println!(
        "load from cache:                median {:?}",
        median(loaded)
    );
    Ok(())
}
