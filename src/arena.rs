//! The musl build's allocator: the first MiB comes from a bump arena, the rest from
//! the system allocator.
//!
//! musl's malloc (mallocng) gives a group of blocks back to the kernel with munmap as soon as it
//! empties: one quick-form launch made 37 munmaps, each a VMA split and a TLB flush, 8 % of
//! minirun's samples in perf. A launch allocates little and lives a few milliseconds, so its
//! allocations are cut from one static region (zero pages until touched, in .bss) by bumping an
//! offset; freeing the most recent block moves the offset back, any other block stays until
//! exit. A process that outlives the region (the `-d` monitor, `events`) goes on with the system
//! allocator, at the cost of at most the region's size. No lock: a compare-and-swap on the
//! offset, so a clone or fork at any moment leaves the child a consistent copy. The swaps
//! acquire and release: a range given back by one thread and handed out to another carries the
//! first thread's last writes before the second one's.
//! mimalloc was measured instead and cost more (+0.3 ms CPU, its arena setup and exit purge).
//! Measured (interleaved, 150-200 rounds): quick form −0.28 to −0.40 ms paired, peak RSS +0.2
//! MB (the region's touched pages), munmaps 37 → 4; `exec` (which parses a whole config.json)
//! overflowed 256 KiB (41 munmaps): 512 KiB took it −0.32 ms, 1 MiB another −0.15 ms (1 munmap)
//! at the same RSS; 128 KiB overflowed even for the quick form.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{
    AtomicUsize,
    Ordering::{AcqRel, Acquire},
};

const SIZE: usize = 1024 * 1024;
const PAGE: usize = 4096;

#[repr(C, align(4096))]
struct Region(UnsafeCell<[u8; SIZE]>);

// SAFETY: the bytes are only reached through pointers `Arena` hands out, each range to one owner
// at a time (the offset is advanced by compare-and-swap before a range is handed out).
unsafe impl Sync for Region {}

static REGION: Region = Region(UnsafeCell::new([0; SIZE]));
/// Offset of the first free byte of REGION.
static NEXT: AtomicUsize = AtomicUsize::new(0);
/// The highest offset any block has reached: the bytes above it were never handed out and are
/// still the zeros of .bss, so `alloc_zeroed` need not clear them (a 64 KiB protocol buffer
/// cleared by hand cost ≈ 0.1 ms a launch in page faults and memset).
static HIGH: AtomicUsize = AtomicUsize::new(0);

pub struct Arena;

/// What the first block's arrival populates: a quick-form launch's parent reaches ≈ 250 KiB
/// (62 pages at the time of writing, counted with `perf record -e page-faults -d`).
const PREFAULT: usize = 256 * 1024;

/// Makes the region's first pages present with one madvise(MADV_POPULATE_WRITE) instead of one
/// zero-fill page fault each as the bump offset reaches them: in this VM a fault is an
/// exception and a hypervisor exit (≈ 2 µs), the populate loop stays in the kernel. Measured
/// (500 paired rounds, loaded machine): the launch's page faults 228 → 171 (parent 158 → 97),
/// CPU −0.10 ms, wall −0.11 ms. Pages a process would never have touched cost resident memory,
/// hence the bound. Older kernels (before 5.14) refuse the advice and the pages fault in as
/// before.
fn prefault() {
    populate(base(), PREFAULT);
}

/// madvise(MADV_POPULATE_WRITE) over `len` bytes at page-aligned `addr`; the result is ignored
/// (an older kernel's EINVAL leaves the pages to fault in).
fn populate(addr: usize, len: usize) {
    // SAFETY: madvise only asks the kernel to populate pages of a mapping the caller owns (the
    // region lives as long as the process); it reads or writes no byte the program sees.
    unsafe {
        libc::madvise(addr as *mut libc::c_void, len, libc::MADV_POPULATE_WRITE);
    }
}

fn base() -> usize {
    REGION.0.get() as usize
}

/// The block's offset in the region, if it is in the region.
fn offset(p: *mut u8) -> Option<usize> {
    (p as usize).checked_sub(base()).filter(|&o| o < SIZE)
}

impl Arena {
    /// A block of `layout` from the region, or None when it does not fit, with how many of its
    /// first bytes lay below the high-water mark (every byte from the mark up is still zero).
    fn bump(&self, layout: Layout) -> Option<(*mut u8, usize)> {
        if layout.align() > PAGE {
            return None;
        }
        let mut cur = NEXT.load(Acquire);
        loop {
            // The region is page-aligned, so aligning the offset aligns the address.
            let start = cur.next_multiple_of(layout.align());
            let end = start.checked_add(layout.size()).filter(|&e| e <= SIZE)?;
            match NEXT.compare_exchange_weak(cur, end, AcqRel, Acquire) {
                // The mark moves before the block is handed out, so whoever gets these bytes
                // after they are given back (the swap that gives them back releases, the one
                // that takes them acquires) sees them below the mark.
                Ok(_) => {
                    let high = HIGH.fetch_max(end, AcqRel);
                    if high == 0 {
                        prefault();
                    }
                    let dirty = high.saturating_sub(start).min(layout.size());
                    return Some(((base() + start) as *mut u8, dirty));
                }
                Err(now) => cur = now,
            }
        }
    }
}

// SAFETY: every block handed out is either a fresh range of REGION no other block overlaps (the
// offset moved past it first) or the system allocator's; each is returned to where it came from.
// Not inlined: LTO would copy these into every allocation site (+470 KB of text, measured).
unsafe impl GlobalAlloc for Arena {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.bump(layout) {
            Some((p, _)) => p,
            // SAFETY: the caller's contract (non-zero size) is passed on unchanged.
            None => unsafe { System.alloc(layout) },
        }
    }

    #[inline(never)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match self.bump(layout) {
            Some((p, dirty)) => {
                // Only what lay below the mark may have been written.
                // SAFETY: the first `dirty` bytes of the block just handed out to us.
                unsafe { p.write_bytes(0, dirty) };
                p
            }
            // SAFETY: the caller's contract (non-zero size) is passed on unchanged.
            None => unsafe { System.alloc_zeroed(layout) },
        }
    }

    #[inline(never)]
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        match offset(p) {
            // The most recent block gives its bytes back; the exchange fails for any other.
            Some(o) => {
                let _ = NEXT.compare_exchange(o + layout.size(), o, AcqRel, Acquire);
            }
            // SAFETY: `p` came from System.alloc with this layout (not from the region).
            None => unsafe { System.dealloc(p, layout) },
        }
    }

    #[inline(never)]
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(o) = offset(p) else {
            // SAFETY: `p` is System's, with this layout; the caller guarantees new_size.
            return unsafe { System.realloc(p, layout, new_size) };
        };
        // The most recent block grows or shrinks where it is.
        let end = o + new_size;
        if end <= SIZE
            && NEXT
                .compare_exchange(o + layout.size(), end, AcqRel, Acquire)
                .is_ok()
        {
            HIGH.fetch_max(end, AcqRel);
            return p;
        }
        // SAFETY: a layout of the same alignment and a non-zero size (the caller's contract).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as for alloc.
        let q = unsafe { self.alloc(new_layout) };
        if !q.is_null() {
            // SAFETY: both blocks are valid for the shorter length and do not overlap (q is a
            // fresh block); then `p` goes back as its owner asked.
            unsafe {
                std::ptr::copy_nonoverlapping(p, q, layout.size().min(new_size));
                self.dealloc(p, layout);
            }
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The region is shared by every test of this module (it is not the global allocator in the
    // test build): each test checks what holds whatever the others have taken.

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    /// Resident pages of `len` bytes at `addr`, by mincore(2).
    fn resident(addr: usize, len: usize) -> usize {
        let mut v = vec![0u8; len.div_ceil(PAGE)];
        // SAFETY: `addr..addr+len` is a mapping of ours; `v` has one byte per page.
        let rc = unsafe { libc::mincore(addr as *mut libc::c_void, len, v.as_mut_ptr()) };
        assert_eq!(rc, 0, "mincore: {}", std::io::Error::last_os_error());
        v.iter().filter(|&&b| b & 1 == 1).count()
    }

    #[test]
    fn populate_makes_every_page_present_without_touching_them() {
        let len = PREFAULT;
        // SAFETY: a fresh private anonymous mapping, unmapped below; nothing else uses it.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(addr, libc::MAP_FAILED);
        let addr = addr as usize;
        assert_eq!(resident(addr, len), 0, "a fresh mapping has no page yet");
        populate(addr, len);
        assert_eq!(
            resident(addr, len),
            len / PAGE,
            "every page populated (kernel 5.14+)"
        );
        // SAFETY: the mapping made above, no longer used.
        unsafe { libc::munmap(addr as *mut libc::c_void, len) };
    }

    #[test]
    fn the_first_block_populates_the_regions_first_pages() {
        let a = Arena;
        // SAFETY: a non-zero size, freed with its layout.
        unsafe {
            let p = a.alloc(layout(8, 8));
            a.dealloc(p, layout(8, 8));
        }
        assert_eq!(resident(base(), PREFAULT), PREFAULT / PAGE);
    }

    #[test]
    fn blocks_are_aligned_distinct_and_the_last_one_comes_back() {
        let a = Arena;
        // SAFETY: non-zero sizes; each block is written within its size and freed with its layout.
        unsafe {
            let x = a.alloc(layout(24, 8));
            let y = a.alloc(layout(100, 64));
            assert_eq!(y as usize % 64, 0);
            let (xs, ys) = (x as usize, y as usize);
            assert!(xs + 24 <= ys || ys + 100 <= xs, "blocks overlap");
            x.write_bytes(1, 24);
            y.write_bytes(2, 100);
            assert_eq!(*x.add(23), 1, "writing y did not touch x");
            a.dealloc(y, layout(100, 64));
            if offset(y).is_some() {
                // Reused only if nothing was taken after it meanwhile (tests run in parallel).
                let z = a.alloc(layout(100, 64));
                assert!(z == y || z as usize > y as usize || offset(z).is_none());
                a.dealloc(z, layout(100, 64));
            }
            a.dealloc(x, layout(24, 8));
        }
    }

    #[test]
    fn realloc_keeps_the_bytes_wherever_the_block_goes() {
        let a = Arena;
        // SAFETY: as above; realloc's result replaces the old pointer.
        unsafe {
            let mut p = a.alloc(layout(16, 8));
            for i in 0..16 {
                *p.add(i) = i as u8;
            }
            let mut size = 16;
            for new in [64, 4096, 100_000, 32, 700_000] {
                p = a.realloc(p, layout(size, 8), new);
                assert!(!p.is_null());
                for i in 0..size.min(new).min(16) {
                    assert_eq!(*p.add(i), i as u8, "byte {i} after growing to {new}");
                }
                p.add(new - 1).write(0xaa);
                size = new;
            }
            a.dealloc(p, layout(size, 8));
        }
    }

    #[test]
    fn zeroed_blocks_are_zero_whether_fresh_or_reused() {
        let a = Arena;
        // SAFETY: non-zero sizes; each block is written and read within its size and freed with
        // its layout.
        unsafe {
            for round in 0..3 {
                let l = layout(64 * 1024, 8);
                let p = a.alloc_zeroed(l);
                let bytes = std::slice::from_raw_parts(p, l.size());
                assert!(bytes.iter().all(|&b| b == 0), "round {round}: not zero");
                // Dirty it and give it back: the next round may get the same bytes.
                p.write_bytes(0xee, l.size());
                a.dealloc(p, l);
            }
            // A block grown in place past the mark, dirtied, then given back.
            let p = a.alloc(layout(8, 8));
            let q = a.realloc(p, layout(8, 8), 4096);
            q.write_bytes(0xdd, 4096);
            a.dealloc(q, layout(4096, 8));
            let z = a.alloc_zeroed(layout(4096, 8));
            assert!(std::slice::from_raw_parts(z, 4096).iter().all(|&b| b == 0));
            a.dealloc(z, layout(4096, 8));
        }
    }

    #[test]
    fn beyond_the_region_the_system_allocator_serves() {
        let a = Arena;
        // SAFETY: as above.
        unsafe {
            let big = a.alloc(layout(SIZE + 1, 8));
            assert!(!big.is_null() && offset(big).is_none());
            big.add(SIZE).write(7);
            a.dealloc(big, layout(SIZE + 1, 8));
            let over_aligned = a.alloc(layout(64, 2 * PAGE));
            assert!(offset(over_aligned).is_none());
            assert_eq!(over_aligned as usize % (2 * PAGE), 0);
            a.dealloc(over_aligned, layout(64, 2 * PAGE));
        }
    }

    #[test]
    fn threads_never_share_a_byte() {
        let handles: Vec<_> = (0..4u8)
            .map(|t| {
                std::thread::spawn(move || {
                    let a = Arena;
                    let mut blocks = Vec::new();
                    for i in 0..200 {
                        let l = layout(8 + i % 40, 8);
                        // SAFETY: non-zero size; written within it below.
                        let p = unsafe { a.alloc(l) };
                        // SAFETY: the block is ours for l.size() bytes.
                        unsafe { p.write_bytes(t + 1, l.size()) };
                        blocks.push((p as usize, l));
                    }
                    blocks
                })
            })
            .collect();
        let all: Vec<(u8, Vec<(usize, Layout)>)> = handles
            .into_iter()
            .enumerate()
            .map(|(t, h)| (t as u8 + 1, h.join().unwrap()))
            .collect();
        for (t, blocks) in &all {
            for &(p, l) in blocks {
                // SAFETY: still allocated (freed below), l.size() bytes.
                let bytes = unsafe { std::slice::from_raw_parts(p as *const u8, l.size()) };
                assert!(
                    bytes.iter().all(|b| b == t),
                    "a block of thread {t} was overwritten"
                );
            }
        }
        for (_, blocks) in all {
            for (p, l) in blocks {
                // SAFETY: allocated above with this layout, freed once.
                unsafe { Arena.dealloc(p as *mut u8, l) };
            }
        }
    }
}
