//! minirun: a small Linux container runtime that makes every capability decision explicit.

pub mod capability;
pub mod container;
pub mod spec;
