//! Compiled filters on disk, so a launch loads ready BPF instead of running libseccomp.
//!
//! A file is named by a hash of its key and holds the whole key, so a hash collision is a miss,
//! not a wrong filter. The key always includes the cache format, minirun's version and the
//! libseccomp version, so an upgrade never reads an older compiler's output. A file is written to
//! a temporary name and renamed, and checked on every read: size, magic, key, a checksum, owner
//! (ours) and mode (not writable by others). Anything wrong means recompile and rewrite.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::Result;
use oci_spec::runtime::LinuxSeccomp;

use super::filter::Filter;

const MAGIC: &[u8; 8] = b"MRSECCMP";
/// 2: programs carry the ENOSYS stub and are laid out as a binary tree; 3: the Ranges layout.
const FORMAT: u32 = 3;
/// magic, format, flags, key length, instruction count.
const HEADER: usize = 8 + 4 * 4;
const CHECKSUM: usize = 8;

/// Where a filter came from, for `--trace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Cache,
    Compiled,
}

pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache { dir: dir.into() }
    }

    /// The filter for `key` from disk, or `build()` compiled and stored. A failure to store is
    /// logged, not returned: the filter is still good.
    pub fn get_or_compile(
        &self,
        key: &[u8],
        build: impl FnOnce() -> Result<LinuxSeccomp>,
    ) -> Result<(Filter, Origin)> {
        let key = full_key(key);
        let path = self.dir.join(format!("{:016x}.bpf", fnv1a(&key)));
        match read(&path, &key) {
            Ok(Some(f)) => return Ok((f, Origin::Cache)),
            Ok(None) => {}
            Err(e) => tracing::debug!("seccomp cache {}: {e}; recompiling", path.display()),
        }
        let filter = super::compile(&build()?)?;
        if let Err(e) = self.store(&path, &key, &filter) {
            tracing::warn!("seccomp cache {}: not stored: {e}", path.display());
        }
        Ok((filter, Origin::Compiled))
    }

    fn store(&self, path: &Path, key: &[u8], filter: &Filter) -> std::io::Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)?;
        let tmp = self.dir.join(format!(
            ".{}.{}.tmp",
            std::process::id(),
            path.file_name().and_then(|n| n.to_str()).unwrap_or("bpf")
        ));
        let written = File::options()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| f.write_all(&encode(key, filter)))
            .and_then(|_| fs::rename(&tmp, path));
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written
    }
}

fn full_key(key: &[u8]) -> Vec<u8> {
    let v = libseccomp::ScmpVersion::current()
        .map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro))
        .unwrap_or_default();
    let mut k = format!(
        "format {FORMAT}\0minirun {}\0libseccomp {v}\0",
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes();
    k.extend_from_slice(key);
    k
}

fn encode(key: &[u8], f: &Filter) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + key.len() + f.program.len() * 8 + CHECKSUM);
    out.extend_from_slice(MAGIC);
    for n in [FORMAT, f.flags, key.len() as u32, f.program.len() as u32] {
        out.extend_from_slice(&n.to_ne_bytes());
    }
    out.extend_from_slice(key);
    out.extend_from_slice(&f.to_bytes());
    out.extend_from_slice(&fnv1a(&out).to_ne_bytes());
    out
}

/// Ok(None): no file. Err: a file that must not be trusted.
fn read(path: &Path, key: &[u8]) -> std::io::Result<Option<Filter>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if meta.uid() != euid || meta.mode() & 0o022 != 0 {
        return Err(bad("owned by someone else or writable by others"));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut bytes)?;
    decode(&bytes, key)
        .map(Some)
        .ok_or_else(|| bad("corrupt or for another key"))
}

fn decode(bytes: &[u8], key: &[u8]) -> Option<Filter> {
    let word = |i: usize| {
        Some(u32::from_ne_bytes(
            bytes.get(8 + 4 * i..12 + 4 * i)?.try_into().ok()?,
        ))
    };
    if bytes.get(..8)? != MAGIC || word(0)? != FORMAT {
        return None;
    }
    let (flags, key_len, n) = (word(1)?, word(2)? as usize, word(3)? as usize);
    if bytes.len() != HEADER + key_len + n * 8 + CHECKSUM {
        return None;
    }
    let (body, sum) = bytes.split_at(bytes.len() - CHECKSUM);
    if fnv1a(body).to_ne_bytes() != sum || &body[HEADER..HEADER + key_len] != key {
        return None;
    }
    Some(Filter {
        program: Filter::program_from_bytes(&body[HEADER + key_len..])?,
        flags,
    })
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what)
}

/// FNV-1a, 64 bits: a file name and a torn-write check, not a defence (the key comparison and
/// the owner/mode check are).
pub(crate) const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x100000001b3);
        i += 1;
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{LinuxSeccompAction, LinuxSeccompBuilder};

    fn allow_all() -> Result<LinuxSeccomp> {
        Ok(LinuxSeccompBuilder::default()
            .default_action(LinuxSeccompAction::ScmpActAllow)
            .build()?)
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("minirun-seccomp-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn second_load_comes_from_disk_and_matches() {
        let dir = scratch("hit");
        let cache = Cache::new(&dir);
        let (a, o1) = cache.get_or_compile(b"k", allow_all).unwrap();
        let (b, o2) = cache
            .get_or_compile(b"k", || panic!("must not compile on a hit"))
            .unwrap();
        assert_eq!((o1, o2), (Origin::Compiled, Origin::Cache));
        assert_eq!(a, b);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn damaged_or_foreign_files_are_recompiled() {
        let dir = scratch("bad");
        let cache = Cache::new(&dir);
        let (good, _) = cache.get_or_compile(b"k", allow_all).unwrap();
        let file = fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
        let pristine = fs::read(&file).unwrap();
        let flip_last = {
            let mut b = pristine.clone();
            *b.last_mut().unwrap() ^= 1;
            b
        };
        let flip_insn = {
            let mut b = pristine.clone();
            let i = b.len() - CHECKSUM - 4;
            b[i] ^= 0x80;
            b
        };
        for damaged in [
            pristine[..pristine.len() - 1].to_vec(),
            flip_last,
            flip_insn,
            Vec::new(),
            b"MRSECCMP".to_vec(),
        ] {
            fs::write(&file, &damaged).unwrap();
            let (f, origin) = cache.get_or_compile(b"k", allow_all).unwrap();
            assert_eq!(origin, Origin::Compiled);
            assert_eq!(f, good);
            assert_eq!(fs::read(&file).unwrap(), pristine, "rewritten");
        }
        // A file others may write is never trusted, even if its contents are right.
        fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o666)).unwrap();
        let (_, origin) = cache.get_or_compile(b"k", allow_all).unwrap();
        assert_eq!(origin, Origin::Compiled);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_key_is_compared_not_only_hashed() {
        let key = full_key(b"k");
        let f = Filter {
            program: vec![libc::sock_filter {
                code: 6,
                jt: 0,
                jf: 0,
                k: 0x7fff0000,
            }],
            flags: 0,
        };
        let bytes = encode(&key, &f);
        assert_eq!(decode(&bytes, &key), Some(f));
        assert_eq!(decode(&bytes, &full_key(b"j")), None);
    }

    #[test]
    fn an_unwritable_cache_still_yields_the_filter() {
        let (f, origin) = Cache::new("/proc/self/minirun-nope")
            .get_or_compile(b"k", allow_all)
            .unwrap();
        assert_eq!(origin, Origin::Compiled);
        assert!(!f.program.is_empty());
    }
}
