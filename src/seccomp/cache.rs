//! Compiled filters on disk, so a launch loads ready BPF instead of running libseccomp.
//!
//! A file is named by a hash of its key and holds the whole key, so a hash collision is a miss,
//! not a wrong filter. The key always includes the cache format, minirun's version, this
//! binary's build id and the libseccomp version, so a rebuilt or upgraded binary never reads
//! another compiler's output (the version alone stays the same across rebuilds that change
//! the compiler). A file is written to
//! a temporary name and renamed, and checked on every read: size, magic, key, a checksum, owner
//! (ours) and mode (not writable by others). Anything wrong means recompile and rewrite.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::Result;
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
        } else if let Ok(built) = fs::metadata("/proc/self/exe").and_then(|m| m.modified()) {
            self.prune(&full_key(b""), built);
        }
        Ok((filter, Origin::Compiled))
    }

    /// Removes the entries an earlier build left: those whose key does not start with
    /// `own_prefix` (this format, version, build id and libseccomp) and that were written before
    /// this binary was built (`built`). Run after a store, so a launch that hits the cache pays
    /// nothing. Two builds used side by side keep each other's entries (each rewrote its own
    /// after both were built); one of them pruned at most once.
    fn prune(&self, own_prefix: &[u8], built: std::time::SystemTime) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "bpf") {
                continue;
            }
            let Ok(written) = entry.metadata().and_then(|m| m.modified()) else {
                continue;
            };
            let bytes = fs::read(&path).unwrap_or_default();
            if stale(key_of(&bytes), own_prefix, written, built) {
                match fs::remove_file(&path) {
                    Ok(()) => tracing::debug!(
                        "seccomp cache: removed {} (an earlier build's)",
                        path.display()
                    ),
                    Err(e) => tracing::debug!("seccomp cache: removing {}: {e}", path.display()),
                }
            }
        }
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
    full_key_for(binary_id(), key)
}

/// The key of `key` for the binary whose identity is `binary` (its build id, in hex). Every
/// field but the last is NUL-terminated and NUL-free, so no two inputs give one key.
fn full_key_for(binary: &str, key: &[u8]) -> Vec<u8> {
    let v = libseccomp::ScmpVersion::current()
        .map(|v| format!("{}.{}.{}", v.major, v.minor, v.micro))
        .unwrap_or_default();
    let mut k = format!(
        "format {FORMAT}\0minirun {}\0build {binary}\0libseccomp {v}\0",
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes();
    k.extend_from_slice(key);
    k
}

/// This binary's identity: its GNU build id (the linker's hash of its contents), read from
/// its own loaded notes, so no file is opened and a re-exec from a sealed copy (readonly_reexec.rs)
/// has the same one. A binary linked without one is hashed whole instead (once, a few ms).
fn binary_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        match gnu_build_id() {
            Some(id) => hex(&id),
            None => match fs::read("/proc/self/exe") {
                Ok(bytes) => format!("fnv {:016x}", fnv1a(&bytes)),
                // Nothing to tell binaries apart by: a key no other process shares.
                Err(_) => format!(
                    "pid {} {:?}",
                    std::process::id(),
                    std::time::SystemTime::now()
                ),
            },
        }
    })
}

const NT_GNU_BUILD_ID: u32 = 3;

/// The NT_GNU_BUILD_ID note of the main program, from its PT_NOTE segments in memory.
fn gnu_build_id() -> Option<Vec<u8>> {
    unsafe extern "C" fn each(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: dl_iterate_phdr passes a valid info for the duration of the call, and `data`
        // is the &mut Option<Vec<u8>> given below; the main program comes first.
        let (info, out) = unsafe { (&*info, &mut *(data as *mut Option<Vec<u8>>)) };
        let phdrs = if info.dlpi_phdr.is_null() {
            &[][..]
        } else {
            // SAFETY: dlpi_phdr points at dlpi_phnum program headers of the loaded object.
            unsafe { std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize) }
        };
        for ph in phdrs.iter().filter(|p| p.p_type == libc::PT_NOTE) {
            let start = (info.dlpi_addr as usize).wrapping_add(ph.p_vaddr as usize);
            // SAFETY: a PT_NOTE segment is loaded (readable) at dlpi_addr + p_vaddr for
            // p_memsz bytes.
            let notes =
                unsafe { std::slice::from_raw_parts(start as *const u8, ph.p_memsz as usize) };
            if let Some(id) = find_build_id(notes, if ph.p_align == 8 { 8 } else { 4 }) {
                *out = Some(id.to_vec());
                break;
            }
        }
        1 // the main program only
    }
    let mut out: Option<Vec<u8>> = None;
    // SAFETY: `each` only reads what the loader describes and writes `out`, which outlives
    // the call.
    unsafe { libc::dl_iterate_phdr(Some(each), &mut out as *mut _ as *mut libc::c_void) };
    out
}

/// The build id in a note segment's bytes: entries of namesz, descsz, type (u32 each), then
/// name and desc, each padded to `align` bytes (4, or 8 in a segment aligned so).
fn find_build_id(mut notes: &[u8], align: usize) -> Option<&[u8]> {
    let pad = |n: usize| n.div_ceil(align) * align;
    while notes.len() >= 12 {
        let word = |i: usize| u32::from_ne_bytes(notes[4 * i..4 * i + 4].try_into().unwrap());
        let (namesz, descsz, kind) = (word(0) as usize, word(1) as usize, word(2));
        // The name follows the 12-byte header, the desc starts at the next aligned offset.
        let name_end = pad(12 + namesz);
        let desc_end = pad(name_end.checked_add(descsz)?);
        if name_end.checked_add(descsz)? > notes.len() {
            return None;
        }
        if kind == NT_GNU_BUILD_ID && &notes[12..12 + namesz] == b"GNU\0" && descsz > 0 {
            return Some(&notes[name_end..name_end + descsz]);
        }
        notes = notes.get(desc_end..).unwrap_or_default();
    }
    None
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

/// Pure: the key a cache file's bytes name, whatever its format, if its header is whole.
fn key_of(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.get(..8)? != MAGIC {
        return None;
    }
    let key_len = u32::from_ne_bytes(bytes.get(16..20)?.try_into().ok()?) as usize;
    bytes.get(HEADER..HEADER.checked_add(key_len)?)
}

/// Pure: whether an entry whose key is `key` (None: unreadable), written at `written`, is left
/// from a build this one (built at `built`, whose keys start with `own_prefix`) replaced.
fn stale(
    key: Option<&[u8]>,
    own_prefix: &[u8],
    written: std::time::SystemTime,
    built: std::time::SystemTime,
) -> bool {
    key.is_none_or(|k| !k.starts_with(own_prefix)) && written < built
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

    /// A rebuilt binary (another build id) and another profile input each get a key, and a
    /// file name, of their own: neither can load the other's filter.
    #[test]
    fn each_binary_and_each_input_has_its_own_entry() {
        let keys = [
            full_key_for("aaaa", b"profile-1"),
            full_key_for("aaab", b"profile-1"),
            full_key_for("aaaa", b"profile-2"),
            full_key_for("aaaa", b"\0profile-1"),
        ];
        let f = Filter {
            program: vec![libc::sock_filter {
                code: 6,
                jt: 0,
                jf: 0,
                k: 0x7fff0000,
            }],
            flags: 0,
        };
        for (i, a) in keys.iter().enumerate() {
            for (j, b) in keys.iter().enumerate() {
                if i != j {
                    assert_ne!(a, b);
                    assert_ne!(fnv1a(a), fnv1a(b), "file names");
                    assert_eq!(decode(&encode(a, &f), b), None);
                }
            }
        }
        // Through the cache: one input's entry is never served for another.
        let dir = scratch("inputs");
        let cache = Cache::new(&dir);
        let (_, o1) = cache.get_or_compile(b"one", allow_all).unwrap();
        let (_, o2) = cache.get_or_compile(b"two", allow_all).unwrap();
        assert_eq!((o1, o2), (Origin::Compiled, Origin::Compiled));
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 2);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// This binary has a build id (the linker's default on Debian and with musl-gcc), and the
    /// key carries it.
    #[test]
    fn the_key_names_this_build() {
        let id = gnu_build_id().expect("a build id note");
        assert!(id.len() >= 8, "{id:?}");
        let hex: String = id.iter().map(|x| format!("{x:02x}")).collect();
        assert_eq!(binary_id(), hex);
        let key = full_key(b"k");
        assert!(key.windows(hex.len()).any(|w| w == hex.as_bytes()));
        // readelf's view of the same file agrees.
        let out = std::process::Command::new("readelf")
            .arg("-n")
            .arg(std::env::current_exe().unwrap())
            .output()
            .expect("readelf (binutils) missing");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&format!("Build ID: {hex}")), "{text}");
    }

    #[test]
    fn notes_are_walked_entry_by_entry() {
        let mut n = Vec::new();
        for (name, kind, desc) in [
            (&b"XY\0"[..], 3u32, &b"abc"[..]),
            (b"GNU\0", 1, b"zz"),
            (b"GNU\0", 3, b"\x01\x02\x03\x04\x05"),
        ] {
            n.extend_from_slice(&(name.len() as u32).to_ne_bytes());
            n.extend_from_slice(&(desc.len() as u32).to_ne_bytes());
            n.extend_from_slice(&kind.to_ne_bytes());
            n.extend_from_slice(name);
            n.resize(n.len().div_ceil(4) * 4, 0);
            n.extend_from_slice(desc);
            n.resize(n.len().div_ceil(4) * 4, 0);
        }
        assert_eq!(find_build_id(&n, 4), Some(&[1u8, 2, 3, 4, 5][..]));
        assert_eq!(find_build_id(&n[..n.len() - 4], 4), None);
        assert_eq!(find_build_id(&[], 4), None);
    }

    #[test]
    fn an_earlier_builds_entries_are_removed_when_this_build_writes() {
        use std::time::{Duration, SystemTime};
        let f = Filter {
            program: vec![libc::sock_filter {
                code: 6,
                jt: 0,
                jf: 0,
                k: 0x7fff0000,
            }],
            flags: 0,
        };
        let own = full_key(b"");
        let (old, built, new) = (
            SystemTime::UNIX_EPOCH + Duration::from_secs(1000),
            SystemTime::UNIX_EPOCH + Duration::from_secs(2000),
            SystemTime::UNIX_EPOCH + Duration::from_secs(3000),
        );
        let other = full_key_for("another-build", b"k");
        let ours = full_key(b"k");
        assert_eq!(key_of(&encode(&other, &f)), Some(&other[..]));
        assert_eq!(key_of(b"MRSECCMP"), None);
        // Another build's, written before this one was built: gone. Written since (a build
        // used side by side): kept. Ours, however old: kept. Unreadable and old: gone.
        assert!(stale(Some(&other), &own, old, built));
        assert!(!stale(Some(&other), &own, new, built));
        assert!(!stale(Some(&ours), &own, old, built));
        assert!(stale(None, &own, old, built));
        assert!(!stale(None, &own, new, built));

        // Through the cache: a miss that writes prunes what an earlier build left, nothing else.
        let dir = scratch("prune");
        fs::create_dir_all(&dir).unwrap();
        let put = |name: &str, bytes: &[u8], when: SystemTime| {
            let p = dir.join(name);
            fs::write(&p, bytes).unwrap();
            File::options()
                .write(true)
                .open(&p)
                .unwrap()
                .set_modified(when)
                .unwrap();
        };
        put(
            "older-build.bpf",
            &encode(&other, &f),
            SystemTime::UNIX_EPOCH,
        );
        put("junk.bpf", b"junk", SystemTime::UNIX_EPOCH);
        put("side-by-side.bpf", &encode(&other, &f), SystemTime::now());
        put("notes.txt", b"not an entry", SystemTime::UNIX_EPOCH);
        let cache = Cache::new(&dir);
        cache.get_or_compile(b"one", allow_all).unwrap();
        let mut left: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| !n.starts_with(|c: char| c.is_ascii_hexdigit()) || !n.ends_with(".bpf"))
            .collect();
        left.sort();
        assert_eq!(left, ["notes.txt", "side-by-side.bpf"]);
        // Our own entry from that miss is there, and a hit prunes nothing more.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 3);
        let (_, o) = cache.get_or_compile(b"one", || panic!("a hit")).unwrap();
        assert_eq!(o, Origin::Cache);
        fs::remove_dir_all(&dir).unwrap();
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
