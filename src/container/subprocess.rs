//! Waiting for a helper process (an OCI hook, a lab trial) with a deadline: the one loop that
//! polls, and kills and reaps a process that overstays.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// Waits for `child` until `deadline` (None: for ever). Returns its status, or None when the
/// deadline passed: it has then been killed and reaped.
pub fn wait_until(
    child: &mut Child,
    deadline: Option<Instant>,
) -> std::io::Result<Option<ExitStatus>> {
    let mut nap = Duration::from_millis(1);
    loop {
        if let Some(s) = child.try_wait()? {
            return Ok(Some(s));
        }
        if deadline.is_some_and(|d| Instant::now() > d) {
            let _ = child.kill();
            child.wait()?;
            return Ok(None);
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_or_killed_at_the_deadline() {
        let mut c = std::process::Command::new("true").spawn().unwrap();
        let s = wait_until(&mut c, None).unwrap().unwrap();
        assert!(s.success());
        let mut c = std::process::Command::new("sleep")
            .arg("10")
            .spawn()
            .unwrap();
        let at = Instant::now() + Duration::from_millis(20);
        assert_eq!(wait_until(&mut c, Some(at)).unwrap(), None);
        // Reaped: nothing is left to wait for.
        assert!(c.try_wait().unwrap().is_some());
    }
}
