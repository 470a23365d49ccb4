//! The output a detached container leaves for `minirun logs`: a capped, rotated file set.
//!
//! The container never holds the file: its stdout and stderr are a pipe the monitor reads
//! (detach.rs), so nothing it does through /proc/self/fd/1 (fallocate, ftruncate, seek,
//! reopening) reaches host disk. The monitor writes what it reads here, Docker's json-file
//! driver without the JSON: `output.log` fills up to `max-size` bytes, then becomes
//! `output.log.1` (the older ones shifting up to `output.log.<max-file - 1>`, the oldest
//! dropped), so at most max-size × max-file bytes are ever on disk (the state root is often a
//! RAM disk). `minirun logs` prints the files oldest first.

use anyhow::{Context, Result, bail};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The defaults: 10 MiB × 2, so one container keeps at most 20 MiB of output.
pub const DEFAULT_MAX_SIZE: u64 = 10 << 20;
pub const DEFAULT_MAX_FILE: u32 = 2;
/// `--log-opt` values, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opts {
    pub max_size: u64,
    pub max_file: u32,
}

impl Default for Opts {
    fn default() -> Opts {
        Opts {
            max_size: DEFAULT_MAX_SIZE,
            max_file: DEFAULT_MAX_FILE,
        }
    }
}

impl Opts {
    /// Docker's `--log-opt KEY=VALUE` for the json-file driver: max-size and max-file; any
    /// other key is refused by name rather than ignored.
    pub fn parse(opts: &[String]) -> Result<Opts> {
        let mut o = Opts::default();
        for opt in opts {
            let Some((k, v)) = opt.split_once('=') else {
                bail!("--log-opt \"{opt}\": expected KEY=VALUE (max-size=SIZE or max-file=N)");
            };
            match k {
                "max-size" => {
                    o.max_size = parse_size(v).with_context(|| format!("--log-opt \"{opt}\""))?
                }
                "max-file" => {
                    o.max_file = match v.parse::<u32>() {
                        Ok(n) if (1..=100).contains(&n) => n,
                        _ => bail!("--log-opt \"{opt}\": max-file must be a number from 1 to 100"),
                    }
                }
                _ => bail!(
                    "--log-opt \"{opt}\": unknown option \"{k}\" (minirun knows max-size and max-file)"
                ),
            }
        }
        Ok(o)
    }
}

/// A size as Docker's units.RAMInBytes reads it: a number, then optionally k, m, g or t
/// (binary multiples; "kb", "KiB" and the like also accepted). At least 1 byte.
pub fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim().to_ascii_lowercase();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let shift = match unit.trim_end_matches("ib").trim_end_matches('b') {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => bail!("size \"{s}\": expected a number of bytes, optionally with k, m, g or t"),
    };
    let n: u64 = num.parse().map_err(|_| {
        anyhow::anyhow!("size \"{s}\": expected a number of bytes, optionally with k, m, g or t")
    })?;
    match n.checked_mul(1 << shift) {
        Some(0) => bail!("size \"{s}\" must be more than 0"),
        Some(v) => Ok(v),
        None => bail!("size \"{s}\" is too large"),
    }
}

/// The name of rotated file `n` of `base` (0: the one being written).
fn nth(base: &Path, n: u32) -> PathBuf {
    if n == 0 {
        base.to_path_buf()
    } else {
        let mut s = base.as_os_str().to_owned();
        s.push(format!(".{n}"));
        PathBuf::from(s)
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOFOLLOW)
        .open(path)
}

/// The writer: the current file and how full it is.
pub struct Rotating {
    base: PathBuf,
    opts: Opts,
    file: File,
    size: u64,
}

impl Rotating {
    pub fn open(base: &Path, opts: Opts) -> Result<Rotating> {
        let file = open_append(base).with_context(|| format!("creating {}", base.display()))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(Rotating {
            base: base.to_path_buf(),
            opts,
            file,
            size,
        })
    }

    /// Appends `buf`, rotating whenever the current file reaches max-size; a write is split
    /// across files so that no file ever exceeds it.
    pub fn write(&mut self, mut buf: &[u8]) -> std::io::Result<()> {
        while !buf.is_empty() {
            if self.size >= self.opts.max_size {
                self.rotate()?;
            }
            let room = usize::try_from(self.opts.max_size - self.size).unwrap_or(usize::MAX);
            let n = room.min(buf.len());
            self.file.write_all(&buf[..n])?;
            self.size += n as u64;
            buf = &buf[n..];
        }
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        if self.opts.max_file <= 1 {
            self.file.set_len(0)?;
        } else {
            // rename(2) replaces the target: the oldest file goes as the next one takes its name.
            for n in (1..self.opts.max_file).rev() {
                match std::fs::rename(nth(&self.base, n - 1), nth(&self.base, n)) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            self.file = open_append(&self.base)?;
        }
        self.size = 0;
        Ok(())
    }
}

/// The files of `base` that exist, oldest first (the rotated ones by falling number, then
/// `base` itself); empty when there is none at all.
pub fn files_oldest_first(base: &Path) -> Vec<PathBuf> {
    let mut rotated: Vec<PathBuf> = (1..=100)
        .map(|n| nth(base, n))
        .take_while(|p| p.exists())
        .collect();
    rotated.reverse();
    if base.exists() {
        rotated.push(base.to_path_buf());
    }
    rotated
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("minirun-logfile-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn all(base: &Path) -> Vec<u8> {
        files_oldest_first(base)
            .iter()
            .flat_map(|p| std::fs::read(p).unwrap())
            .collect()
    }

    #[test]
    fn sizes_read_as_docker_reads_them() {
        assert_eq!(parse_size("512").unwrap(), 512);
        assert_eq!(parse_size("4k").unwrap(), 4096);
        assert_eq!(parse_size("10m").unwrap(), 10 << 20);
        assert_eq!(parse_size("10MB").unwrap(), 10 << 20);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        for bad in ["", "0", "k", "10x", "-1", "99999999999999999999t"] {
            let e = parse_size(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("\"{bad}\"")), "{e}");
        }
    }

    #[test]
    fn options_are_checked_by_name() {
        assert_eq!(Opts::parse(&[]).unwrap(), Opts::default());
        let o = Opts::parse(&["max-size=4k".into(), "max-file=3".into()]).unwrap();
        assert_eq!((o.max_size, o.max_file), (4096, 3));
        for (bad, says) in [
            ("max-size", "KEY=VALUE"),
            ("max-file=0", "from 1 to 100"),
            ("max-file=x", "from 1 to 100"),
            ("max-size=0", "more than 0"),
            ("labels=a", "unknown option \"labels\""),
        ] {
            let e = format!("{:#}", Opts::parse(&[bad.into()]).unwrap_err());
            assert!(e.contains(bad) && e.contains(says), "{e}");
        }
    }

    /// Whatever is written, the files never hold more than max-size × max-file, none is
    /// over max-size, and what is left is the tail of what was written, in order.
    #[test]
    fn rotation_keeps_the_tail_within_the_cap() {
        for (max_size, max_file) in [(100u64, 1u32), (100, 2), (64, 3), (1, 2)] {
            let dir = scratch(&format!("{max_size}-{max_file}"));
            let base = dir.join("output.log");
            let opts = Opts { max_size, max_file };
            let mut w = Rotating::open(&base, opts).unwrap();
            let mut written = Vec::new();
            for i in 0..200u32 {
                let chunk = format!("line {i} {}\n", "x".repeat((i % 37) as usize));
                w.write(chunk.as_bytes()).unwrap();
                written.extend_from_slice(chunk.as_bytes());
                let files = files_oldest_first(&base);
                assert!(files.len() <= max_file as usize, "{files:?}");
                for f in &files {
                    assert!(std::fs::metadata(f).unwrap().len() <= max_size);
                }
                let kept = all(&base);
                assert!(kept.len() as u64 <= max_size * max_file as u64);
                assert!(written.ends_with(&kept), "not the tail");
            }
            // Full files but the current one: exactly the cap's worth behind the newest byte.
            let kept = all(&base).len() as u64;
            assert!(kept > max_size * (max_file as u64 - 1), "{kept}");
            // A reopened writer goes on where the last one stopped.
            drop(w);
            let mut w = Rotating::open(&base, opts).unwrap();
            w.write(b"again\n").unwrap();
            written.extend_from_slice(b"again\n");
            assert!(written.ends_with(&all(&base)));
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}
