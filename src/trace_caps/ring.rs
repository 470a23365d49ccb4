//! The consumer side of a BPF ring buffer (BPF_MAP_TYPE_RINGBUF), as the kernel lays it out:
//! a writable page holding the consumer position at offset 0, then a read-only page holding the
//! producer position, then the data area mapped twice in a row so that a record wrapping
//! around the end reads as one slice. Each record is an 8-byte header (length with the BUSY and
//! DISCARD bits, page offset) and its data, rounded up to 8 bytes.

use super::{Error, Result};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

const BUSY: u32 = 1 << 31;
const DISCARD: u32 = 1 << 30;
const HEADER: usize = 8;

pub struct Ring {
    fd: OwnedFd,
    size: usize,
    page: usize,
    consumer: *mut libc::c_void,
    producer: *mut libc::c_void,
}

// SAFETY: the two mappings belong to this value alone (nothing else holds their addresses) and
// are only touched through `&mut self`; moving it to the reading thread moves them with it.
unsafe impl Send for Ring {}

impl Ring {
    pub fn map(fd: OwnedFd, size: usize) -> Result<Ring> {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        // SAFETY: a fresh shared mapping of the map's consumer page, which the kernel lets the
        // reader write; checked for MAP_FAILED below.
        let consumer = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if consumer == libc::MAP_FAILED {
            return Err(Error::Os {
                step: "mapping the BPF ring buffer's consumer page".into(),
                source: std::io::Error::last_os_error(),
            });
        }
        // SAFETY: as above, read-only: the producer page and the data area twice.
        let producer = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page + 2 * size,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                page as libc::off_t,
            )
        };
        if producer == libc::MAP_FAILED {
            let e = std::io::Error::last_os_error();
            // SAFETY: unmapping exactly the mapping made above, used by nothing else.
            unsafe { libc::munmap(consumer, page) };
            return Err(Error::Os {
                step: "mapping the BPF ring buffer's data".into(),
                source: e,
            });
        }
        Ok(Ring {
            fd,
            size,
            page,
            consumer,
            producer,
        })
    }

    /// Blocks until the kernel signals new data, `wake` becomes readable (or its other end is
    /// closed) or `timeout` passes.
    pub fn wait(&self, wake: std::os::fd::BorrowedFd, timeout: Duration) {
        let mut fds = [
            nix::poll::PollFd::new(self.fd.as_fd(), nix::poll::PollFlags::POLLIN),
            nix::poll::PollFd::new(wake, nix::poll::PollFlags::POLLIN),
        ];
        let ms = timeout.as_millis().min(u16::MAX as u128) as u16;
        let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms));
    }

    /// Hands each committed record's data to `f`, oldest first, and frees its space.
    pub fn drain(&mut self, mut f: impl FnMut(&[u8])) {
        // SAFETY: both positions are naturally aligned u64s at the start of their pages, which
        // stay mapped while self lives; the kernel updates them atomically.
        let (consumer, producer) = unsafe {
            (
                AtomicU64::from_ptr(self.consumer as *mut u64),
                AtomicU64::from_ptr(self.producer as *mut u64),
            )
        };
        let mask = (self.size - 1) as u64;
        // SAFETY: the data area starts a page after the producer position.
        let data = unsafe { (self.producer as *const u8).add(self.page) };
        let mut pos = consumer.load(Ordering::Acquire);
        let end = producer.load(Ordering::Acquire);
        while pos < end {
            let at = (pos & mask) as usize;
            // SAFETY: `at` + 8 lies within the first copy of the data area; the header is a
            // u32 the kernel commits with a release store.
            let word = unsafe { AtomicU32::from_ptr(data.add(at) as *mut u32) };
            let len_word = word.load(Ordering::Acquire);
            if len_word & BUSY != 0 {
                break;
            }
            let len = (len_word & !(BUSY | DISCARD)) as usize;
            if len_word & DISCARD == 0 && len <= self.size {
                // SAFETY: the record lies within the double mapping (at < size, len ≤ size)
                // and is committed (not BUSY): the kernel no longer writes it.
                f(unsafe { std::slice::from_raw_parts(data.add(at + HEADER), len) });
            }
            pos += ((len + HEADER + 7) & !7) as u64;
            consumer.store(pos, Ordering::Release);
        }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the two mappings `map` made, which nothing else uses.
        unsafe {
            libc::munmap(self.consumer, self.page);
            libc::munmap(self.producer, self.page + 2 * self.size);
        }
    }
}
