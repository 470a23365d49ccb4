//! Starting a container: the parent's side (launch), the child's straight line (init), and
//! what they use.

pub mod in_root;
pub mod plan;
pub mod user;
