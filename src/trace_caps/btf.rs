//! Just enough of the kernel's BTF (/sys/kernel/btf/vmlinux) to find one field's offset:
//! `struct user_namespace`'s `level` (0 for the host's namespace), so that an event can say
//! whether a check was against the host's user namespace or a container's.

/// `offsetof(struct user_namespace, level)` on the running kernel, if its BTF says.
pub fn userns_level_offset() -> Option<u32> {
    let off = with_vmlinux_btf(|btf| member_offset(btf, "user_namespace", "level"));
    if off.is_none() {
        tracing::debug!("no user_namespace.level in the kernel's BTF: levels not shown");
    }
    off
}

/// Runs `f` over the kernel's BTF: mapped where the kernel allows it (6.16+), which costs
/// ≈ 1 ms; read otherwise, which sysfs serves a page per read(2) (≈ 15 ms for 5 MB).
fn with_vmlinux_btf<T>(f: impl FnOnce(&[u8]) -> Option<T>) -> Option<T> {
    use std::os::fd::AsRawFd;
    let path = "/sys/kernel/btf/vmlinux";
    let file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len() as usize;
    // SAFETY: a fresh private read-only mapping of `len` bytes of an open file, checked for
    // MAP_FAILED, unmapped below and never used after.
    let addr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_PRIVATE,
            file.as_raw_fd(),
            0,
        )
    };
    if addr == libc::MAP_FAILED || len == 0 {
        return f(&std::fs::read(path).ok()?);
    }
    // SAFETY: the mapping is `len` readable bytes and lives until the munmap below.
    let r = f(unsafe { std::slice::from_raw_parts(addr as *const u8, len) });
    // SAFETY: exactly the mapping made above; the slice given to `f` is gone.
    unsafe { libc::munmap(addr, len) };
    r
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn str_at(strings: &[u8], at: usize) -> &[u8] {
    let s = strings.get(at..).unwrap_or_default();
    &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())]
}

/// Pure: the byte offset of `field` in `struct name` in the BTF blob `b` (little-endian).
pub fn member_offset(b: &[u8], name: &str, field: &str) -> Option<u32> {
    if b.get(0..2)? != [0x9f, 0xeb] {
        return None;
    }
    let hdr_len = u32_at(b, 4)? as usize;
    let (type_off, type_len) = (u32_at(b, 8)? as usize, u32_at(b, 12)? as usize);
    let (str_off, str_len) = (u32_at(b, 16)? as usize, u32_at(b, 20)? as usize);
    let types = b.get(hdr_len + type_off..hdr_len + type_off + type_len)?;
    let strings = b.get(hdr_len + str_off..hdr_len + str_off + str_len)?;
    let mut at = 0;
    while at + 12 <= types.len() {
        let name_off = u32_at(types, at)? as usize;
        let info = u32_at(types, at + 4)?;
        let (vlen, kind) = ((info & 0xffff) as usize, (info >> 24) & 0x1f);
        let bitfields = info >> 31 == 1;
        at += 12;
        let extra = match kind {
            1 | 14 | 17 => 4,     // INT, VAR, DECL_TAG
            3 => 12,              // ARRAY
            4 | 5 => 12 * vlen,   // STRUCT, UNION: (name, type, offset) each
            6 | 13 => 8 * vlen,   // ENUM, FUNC_PROTO
            15 | 19 => 12 * vlen, // DATASEC, ENUM64
            2 | 7..=12 | 16 | 18 => 0,
            _ => return None, // a kind this reader does not know: no guess
        };
        if kind == 4 && str_at(strings, name_off) == name.as_bytes() {
            for m in 0..vlen {
                let m_at = at + 12 * m;
                if str_at(strings, u32_at(types, m_at)? as usize) == field.as_bytes() {
                    let bits = u32_at(types, m_at + 8)?;
                    let bits = if bitfields { bits & 0xff_ffff } else { bits };
                    return (bits % 8 == 0).then_some(bits / 8);
                }
            }
        }
        at += extra;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-made blob: an INT, then `struct user_namespace { int x; int level; }`.
    fn blob() -> Vec<u8> {
        let strings = b"\0int\0user_namespace\0x\0level\0".to_vec();
        let mut types = Vec::new();
        let mut put = |v: u32| types.extend_from_slice(&v.to_le_bytes());
        // [1] INT "int" size 4, encoding word
        put(1);
        put(1 << 24);
        put(4);
        put(32);
        // [2] STRUCT "user_namespace" size 8, two members
        put(5);
        put((4 << 24) | 2);
        put(8);
        for (n, off) in [(20, 0), (22, 32)] {
            put(n);
            put(1);
            put(off);
        }
        let mut b = vec![0x9f, 0xeb, 1, 0];
        for v in [
            24u32,
            0,
            types.len() as u32,
            types.len() as u32,
            strings.len() as u32,
        ] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend(types);
        b.extend(strings);
        b
    }

    #[test]
    fn finds_a_members_byte_offset() {
        assert_eq!(member_offset(&blob(), "user_namespace", "level"), Some(4));
        assert_eq!(member_offset(&blob(), "user_namespace", "x"), Some(0));
        assert_eq!(member_offset(&blob(), "user_namespace", "nope"), None);
        assert_eq!(member_offset(&blob(), "cred", "level"), None);
        assert_eq!(member_offset(b"garbage", "user_namespace", "level"), None);
    }

    #[test]
    fn the_running_kernels_btf_has_the_field() {
        let b = std::fs::read("/sys/kernel/btf/vmlinux").expect("this machine's kernel has BTF");
        let off = member_offset(&b, "user_namespace", "level").expect("level in BTF");
        assert!(off > 0 && off < 4096, "{off}");
    }
}
