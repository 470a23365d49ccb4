//! Who a process runs as: the ids the capability step switches to (setgroups, setresgid,
//! setresuid), which decide what survives execve. Resolving a name to these ids is the
//! container's business (`container::user`); this is only the result.

/// The identity the workload runs as, already resolved against the rootfs's /etc/passwd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub home: String,
}

impl Default for Identity {
    fn default() -> Self {
        Identity {
            uid: 0,
            gid: 0,
            additional_gids: Vec::new(),
            home: "/root".into(),
        }
    }
}
