//! minirun: a small Linux container runtime that makes every capability decision explicit.
//!
//! Layers, top to bottom: `cli` and `commands` (the command line, dispatch, exit statuses);
//! `lab` (the teaching commands, beside them); the runtime library `container`, `capability`,
//! `seccomp` and `spec` (plain values in, typed errors out); `trace`; `arena`, the musl build's
//! allocator.

pub mod arena;
pub mod capability;
pub mod cgroups;
pub mod cli;
pub mod cli_error;
pub mod commands;
pub mod container;
pub mod error_chain;
pub mod lab;
pub mod seccomp;
pub mod spec;
pub mod trace;
pub mod trace_caps;
