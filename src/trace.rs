//! `--trace`: each launch step printed to stderr as it happens, with microseconds since start.
//!
//! Off by default and then costs one relaxed load per step. The clock starts when `main` is
//! entered (`start_clock`), so the first step shows what start-up and argument parsing cost.
//! The child is a fork of the parent, so both print against the same start time.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

static ENABLED: AtomicBool = AtomicBool::new(false);
static START: OnceLock<Instant> = OnceLock::new();

/// Starts the clock the steps are timed against: the first thing `main` does (one vDSO read).
pub fn start_clock() {
    START.get_or_init(Instant::now);
}

pub fn enable() {
    START.get_or_init(Instant::now);
    ENABLED.store(true, Ordering::Relaxed);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Straight to stderr, not through tracing: the trace steps are the second of the two output
/// channels, and the child prints them too, where the runtime's subscriber is not its own.
pub fn emit(args: std::fmt::Arguments) {
    let t = START.get_or_init(Instant::now).elapsed();
    let pid = std::process::id();
    eprintln!(
        "[{:>4}.{:06}] trace pid={pid}: {args}",
        t.as_secs(),
        t.subsec_micros()
    );
}

/// `step!("mount {} on {}", a, b)`: prints only under `--trace`.
#[macro_export]
macro_rules! step {
    ($($arg:tt)*) => {
        if $crate::trace::enabled() {
            $crate::trace::emit(format_args!($($arg)*));
        }
    };
}
