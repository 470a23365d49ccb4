//! Placeholder: the syscalls that install the sets.
