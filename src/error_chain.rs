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

/// A folder's `IntoStep` and `Context` traits for its typed error `$error`: anyhow's
/// `context`/`with_context` without anyhow, so a line reads as before (`step: why`).
/// - each of `$leaf` (an OS, nix or parse error) becomes the source of a [`Step`], which
///   `$error` holds as a transparent variant (`From<Step<$leaf>>`);
/// - `$error` itself, and each of `$typed` (another folder's typed error, which `$error`
///   holds through `From`), goes inside `$error::Within { step, source }`.
///
/// One definition for every folder: a folder's own `Context` keeps `?` unambiguous, as a
/// generic one could not (the error type `?` converts to would not be known).
macro_rules! step_context {
    ($error:ident; leaf: $($leaf:ty),+; typed: $($typed:ty),*) => {
        /// An error that can become the source of a named step.
        pub(crate) trait IntoStep {
            fn into_step(self, step: String) -> $error;
        }
        $(
            impl IntoStep for $leaf {
                fn into_step(self, step: String) -> $error {
                    $crate::error_chain::Step { step, source: self }.into()
                }
            }
        )+
        impl IntoStep for $error {
            fn into_step(self, step: String) -> $error {
                $error::Within { step, source: Box::new(self) }
            }
        }
        $(
            impl IntoStep for $typed {
                fn into_step(self, step: String) -> $error {
                    $error::Within { step, source: Box::new(self.into()) }
                }
            }
        )*
        /// anyhow's `context`/`with_context` for this folder's results: the failure becomes
        /// the source of the named step.
        #[allow(dead_code)] // a folder need not use both
        pub(crate) trait Context<T> {
            fn context(self, step: impl Into<String>) -> Result<T, $error>;
            fn with_context<S: Into<String>>(self, step: impl FnOnce() -> S) -> Result<T, $error>;
        }
        impl<T, E: IntoStep> Context<T> for std::result::Result<T, E> {
            fn context(self, step: impl Into<String>) -> Result<T, $error> {
                self.map_err(|e| e.into_step(step.into()))
            }
            fn with_context<S: Into<String>>(
                self,
                step: impl FnOnce() -> S,
            ) -> Result<T, $error> {
                self.map_err(|e| e.into_step(step().into()))
            }
        }
    };
}
pub(crate) use step_context;

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
