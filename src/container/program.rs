//! Finding the workload's program the way a shell would, and telling "not found" (127) from
//! "cannot execute" (126), as Docker does.

use nix::errno::Errno;
use nix::unistd::{AccessFlags, access};
use std::path::{Path, PathBuf};

/// Why the workload could not be started; carries Docker's exit code (126 cannot execute,
/// 127 not found; 125 when the child's setup failed before it could try).
///
/// Deliberately not a `std::error::Error`: `?` cannot fold it into an `anyhow` chain, where
/// its code would be lost (finding it again meant downcasting the chain). It travels typed,
/// in `launch::StartError` and then `commands::Failure`, to where the exit status is decided;
/// the compiler finds every path that would drop it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecFailure {
    pub code: u8,
    pub message: String,
}

impl ExecFailure {
    /// Docker's exit status for this failure.
    pub fn exit_code(&self) -> u8 {
        self.code
    }
}

impl std::fmt::Display for ExecFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

// What the doc above promises, checked at compile time: were `ExecFailure` an Error, the
// call below would be ambiguous between the two impls and fail to compile.
const _: fn() = || {
    trait AmbiguousIfError<A> {
        fn check() {}
    }
    impl<T: ?Sized> AmbiguousIfError<()> for T {}
    impl<T: ?Sized + std::error::Error> AmbiguousIfError<u8> for T {}
    <ExecFailure as AmbiguousIfError<_>>::check();
};

pub fn not_found(cmd: &str) -> ExecFailure {
    ExecFailure {
        code: 127,
        message: format!("exec: \"{cmd}\": executable file not found in $PATH"),
    }
}

/// Maps an execve/access errno to Docker's exit code and message.
pub fn failure(cmd: &str, errno: Errno) -> ExecFailure {
    let code = if errno == Errno::ENOENT || errno == Errno::ENOTDIR {
        127
    } else {
        126
    };
    ExecFailure {
        code,
        message: format!("exec: \"{cmd}\": {}", errno.desc().to_lowercase()),
    }
}

/// The PATH value of an environment list.
pub fn path_of(env: &[String]) -> &str {
    env.iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(crate::spec::DEFAULT_PATH)
}

/// Resolves `cmd` against `path` (colon-separated), checking what the kernel will check.
pub fn lookup(cmd: &str, path: &str) -> Result<PathBuf, ExecFailure> {
    if cmd.is_empty() {
        return Err(not_found(cmd));
    }
    if cmd.contains('/') {
        return check(Path::new(cmd)).map_err(|e| failure(cmd, e));
    }
    let mut denied = None;
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(cmd);
        match check(&candidate) {
            Ok(p) => return Ok(p),
            Err(Errno::ENOENT | Errno::ENOTDIR) => {}
            Err(e) => denied = denied.or(Some(e)),
        }
    }
    Err(match denied {
        Some(e) => failure(cmd, e),
        None => not_found(cmd),
    })
}

fn check(p: &Path) -> Result<PathBuf, Errno> {
    let md = std::fs::metadata(p).map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)))?;
    if md.is_dir() {
        return Err(Errno::EACCES);
    }
    access(p, AccessFlags::X_OK)?;
    Ok(p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sh_and_reports_missing() {
        assert!(lookup("sh", "/nonexistent:/bin:/usr/bin").is_ok());
        let e = lookup("no-such-cmd", "/bin").unwrap_err();
        assert_eq!(e.code, 127);
        assert_eq!(
            e.message,
            "exec: \"no-such-cmd\": executable file not found in $PATH"
        );
        assert_eq!(lookup("/no/such", "/bin").unwrap_err().code, 127);
        assert_eq!(lookup("/etc", "/bin").unwrap_err().code, 126);
    }

    #[test]
    fn path_defaults() {
        assert_eq!(path_of(&["A=1".into(), "PATH=/x".into()]), "/x");
        assert_eq!(path_of(&[]), crate::spec::DEFAULT_PATH);
    }
}
