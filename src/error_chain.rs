//! An error and its sources on one line, joined by ": ", as the command layer prints an
//! anyhow chain (`{:#}`): what a user sees of a library's typed error, for the library's tests
//! of its messages and for a line it logs itself.

/// One step that failed and why: the line names the step (with its path or value), the OS's
/// (or nix's) error is the source. A folder's typed error carries it as a transparent variant,
/// so `?` converts it and the user reads `step: why` as anyhow's context made it.
#[derive(Debug, thiserror::Error)]
#[error("{step}")]
pub struct Step<E: std::error::Error + 'static = std::io::Error> {
    pub step: String,
    #[source]
    pub source: E,
}

/// For `map_err`: the error `e` as the failure of `step` (the line is made only on failure).
pub fn step<E: std::error::Error>(step: impl FnOnce() -> String) -> impl FnOnce(E) -> Step<E> {
    move |source| Step {
        step: step(),
        source,
    }
}

/// `e`, then each `source()` in turn, on one line.
pub fn one_line(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        line.push_str(": ");
        line.push_str(&s.to_string());
        next = s.source();
    }
    line
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_as_an_anyhow_chain_does() {
        #[derive(Debug, thiserror::Error)]
        #[error("line 3")]
        struct At(#[source] std::io::Error);
        let e = At(std::io::Error::from_raw_os_error(libc::EPERM));
        assert_eq!(
            super::one_line(&e),
            "line 3: Operation not permitted (os error 1)"
        );
    }
}
