//! Ground truth for copy-on-write: which pages did the parent dirty since the fork?
//!
//! Redis can only report the child's `Private_Dirty` total. The lab can say *which* pages
//! were copied, from the parent's side, with one of three methods (best available first):
//!
//! * **Soft-dirty** ([`Method::SoftDirty`]): write `4` to `/proc/self/clear_refs` right after
//!   the fork, later count pages with bit 55 set in `/proc/self/pagemap`
//!   (Documentation/admin-guide/mm/soft-dirty.rst). Needs `CONFIG_MEM_SOFT_DIRTY`, which is
//!   probed at run time ([`soft_dirty_supported`]): the project's 6.18 kernel does **not**
//!   have it (the write to `clear_refs` succeeds but bit 55 never sets).
//! * **Exclusive bit** ([`Method::ExclusiveBit`]): pagemap bit 56, `PM_MMAP_EXCLUSIVE` (since
//!   Linux 4.2, readable without privileges). Right after the fork every present page is
//!   mapped by both processes; a page the parent writes is replaced by a fresh copy mapped
//!   only by the parent. So, while the child is still alive, *pages present at the fork that
//!   are now exclusive* are exactly the pages the parent copied. Pages present at the fork
//!   and now absent were unmapped or discarded by the parent (e.g. `free` of a large
//!   `mmap`ed value): the child keeps the only copy, which also counts in its Private_Dirty;
//!   they are reported as *released*. This method needs the child alive at the count, hence
//!   the handshake in [`super::fork`].
//! * **Written addresses** ([`Method::WrittenAddresses`]): the workload records the address
//!   ranges it writes ([`PageTracker::record_write`]). Portable but blind to what the
//!   allocator, the hash table or the stack touch.
//!
//! The tracker's own buffers live in fresh anonymous mappings made after the fork
//! ([`FreshBuffer`]), so measuring never copies a shared page itself.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::ptr::NonNull;

use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};

/// pagemap bit 63: page present in RAM.
pub const PM_PRESENT: u64 = 1 << 63;
/// pagemap bit 56: page exclusively mapped (`PM_MMAP_EXCLUSIVE`, Linux ≥ 4.2).
pub const PM_MMAP_EXCLUSIVE: u64 = 1 << 56;
/// pagemap bit 55: soft-dirty (`PM_SOFT_DIRTY`).
pub const PM_SOFT_DIRTY: u64 = 1 << 55;

/// How the dirtied pages are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Soft-dirty bits.
    SoftDirty,
    /// `PM_MMAP_EXCLUSIVE` on pages present at the fork.
    ExclusiveBit,
    /// Address ranges recorded by the workload.
    WrittenAddresses,
}

impl Method {
    /// The name used in CSV files.
    pub fn name(self) -> &'static str {
        match self {
            Method::SoftDirty => "soft-dirty",
            Method::ExclusiveBit => "pagemap-exclusive",
            Method::WrittenAddresses => "written-addresses",
        }
    }
}

/// A private anonymous mapping created on demand: its pages are fresh in the calling
/// process, so writing them after a fork never copies a page shared with the child.
#[derive(Debug)]
pub struct FreshBuffer {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is owned exclusively by this value.
unsafe impl Send for FreshBuffer {}

impl FreshBuffer {
    /// A zeroed mapping of at least `len` bytes (at least one page).
    pub fn new(len: usize) -> io::Result<FreshBuffer> {
        let len = len.max(1).next_multiple_of(4096);
        let nz = std::num::NonZeroUsize::new(len).ok_or(io::ErrorKind::InvalidInput)?;
        // SAFETY: a new private anonymous mapping aliases nothing.
        let p = unsafe {
            mmap_anonymous(
                None,
                nz,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_PRIVATE,
            )
        }
        .map_err(io::Error::from)?;
        Ok(FreshBuffer { ptr: p.cast(), len })
    }

    /// The bytes.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: ptr/len describe a live read-write mapping owned by self.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: as above.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// As 64-bit words.
    pub fn words_mut(&mut self) -> &mut [u64] {
        // SAFETY: the mapping is page-aligned (so 8-byte aligned) and len is a multiple of 8.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().cast(), self.len / 8) }
    }

    /// As 64-bit words.
    pub fn words(&self) -> &[u64] {
        // SAFETY: as above.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().cast(), self.len / 8) }
    }
}

impl Drop for FreshBuffer {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping; no reference outlives self.
        let _ = unsafe { munmap(self.ptr.cast(), self.len) };
    }
}

/// A bitmap in a [`FreshBuffer`].
#[derive(Debug)]
pub struct FreshBitmap {
    buf: FreshBuffer,
    bits: u64,
}

impl FreshBitmap {
    /// `bits` zero bits.
    pub fn new(bits: u64) -> io::Result<FreshBitmap> {
        Ok(FreshBitmap {
            buf: FreshBuffer::new((bits.div_ceil(64) * 8) as usize)?,
            bits,
        })
    }
    /// Sets bit `i`; returns true if it was clear. Out-of-range bits are ignored.
    #[inline]
    pub fn set(&mut self, i: u64) -> bool {
        if i >= self.bits {
            return false;
        }
        let w = &mut self.buf.words_mut()[(i / 64) as usize];
        let m = 1u64 << (i % 64);
        let was = *w & m != 0;
        *w |= m;
        !was
    }
    /// Bit `i`.
    #[inline]
    pub fn get(&self, i: u64) -> bool {
        i < self.bits && self.buf.words()[(i / 64) as usize] & (1 << (i % 64)) != 0
    }
    /// Number of set bits.
    pub fn count(&self) -> u64 {
        self.buf.words().iter().map(|w| w.count_ones() as u64).sum()
    }
}

/// A page-aligned address range `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl Region {
    /// Pages in the region.
    pub fn pages(&self) -> u64 {
        (self.end - self.start) / PAGE
    }
}

const PAGE: u64 = 4096;

/// Every private writable mapping of this process (`rw-p` in `/proc/self/maps`: heap,
/// anonymous mappings, stacks, writable data), except the kernel's `[vvar]`/`[vdso]`.
/// These are all the pages copy-on-write can copy.
pub fn private_writable_regions() -> io::Result<Vec<Region>> {
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let mut out = Vec::new();
    for line in maps.lines() {
        let mut it = line.split_whitespace();
        let (Some(range), Some(perms)) = (it.next(), it.next()) else {
            continue;
        };
        if !perms.starts_with("rw") || !perms.ends_with('p') {
            continue;
        }
        let name = it.nth(3).unwrap_or("");
        if name.starts_with("[v") {
            continue;
        }
        let Some((a, b)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (u64::from_str_radix(a, 16), u64::from_str_radix(b, 16)) else {
            continue;
        };
        out.push(Region { start, end });
    }
    Ok(out)
}

/// Reads pagemap entries for `pages` pages starting at `addr` into `out` (length `pages`).
fn read_pagemap(file: &File, addr: u64, out: &mut [u64]) -> io::Result<()> {
    // SAFETY: viewing a u64 slice as bytes of the same length × 8 is always valid.
    let bytes = unsafe {
        std::slice::from_raw_parts_mut(out.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(out))
    };
    file.read_exact_at(bytes, addr / PAGE * 8)
}

/// True if this kernel sets soft-dirty bits (`CONFIG_MEM_SOFT_DIRTY`). Probes with a page of
/// its own; clears the soft-dirty bits of the whole process as a side effect.
pub fn soft_dirty_supported() -> bool {
    let probe = || -> io::Result<bool> {
        let mut buf = FreshBuffer::new(PAGE as usize)?;
        buf.as_mut_slice()[0] = 1;
        std::fs::OpenOptions::new()
            .write(true)
            .open("/proc/self/clear_refs")?
            .write_all(b"4")?;
        let addr = buf.as_slice().as_ptr() as u64;
        let pm = File::open("/proc/self/pagemap")?;
        let mut e = [0u64; 1];
        read_pagemap(&pm, addr, &mut e)?;
        let cleared = e[0] & PM_SOFT_DIRTY == 0;
        // SAFETY: volatile write so the store is not elided.
        unsafe { std::ptr::write_volatile(buf.as_mut_slice().as_mut_ptr(), 2) };
        read_pagemap(&pm, addr, &mut e)?;
        Ok(cleared && e[0] & PM_SOFT_DIRTY != 0)
    };
    probe().unwrap_or(false)
}

/// True if pagemap reports `PM_MMAP_EXCLUSIVE` (a touched private page reads exclusive).
pub fn exclusive_bit_supported() -> bool {
    let probe = || -> io::Result<bool> {
        let mut buf = FreshBuffer::new(PAGE as usize)?;
        // SAFETY: volatile write so the page is really faulted in.
        unsafe { std::ptr::write_volatile(buf.as_mut_slice().as_mut_ptr(), 1) };
        let pm = File::open("/proc/self/pagemap")?;
        let mut e = [0u64; 1];
        read_pagemap(&pm, buf.as_slice().as_ptr() as u64, &mut e)?;
        Ok(e[0] & PM_PRESENT != 0 && e[0] & PM_MMAP_EXCLUSIVE != 0)
    };
    probe().unwrap_or(false)
}

/// The best method this kernel offers.
pub fn best_method() -> Method {
    if soft_dirty_supported() {
        Method::SoftDirty
    } else if exclusive_bit_supported() {
        Method::ExclusiveBit
    } else {
        Method::WrittenAddresses
    }
}

/// Pages counted by [`PageTracker::count`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageCount {
    /// Pages present at the fork that the parent has written since (copied).
    pub dirtied: u64,
    /// Pages present at the fork that the parent no longer maps (unmapped or discarded: the
    /// child holds the only copy). Always 0 for soft-dirty and written addresses.
    pub released: u64,
    /// Pages present at the fork in the tracked regions.
    pub present_at_fork: u64,
}

impl PageCount {
    /// `dirtied + released`: pages that should show up in the child's Private_Dirty.
    pub fn child_private(&self) -> u64 {
        self.dirtied + self.released
    }
}

/// Counts the pages the parent dirties after a fork.
#[derive(Debug)]
pub struct PageTracker {
    method: Method,
    regions: Vec<Region>,
    /// Pages present at the fork, one bitmap over all regions (page index = region offset +
    /// page within region).
    present: Vec<u64>,
    offsets: Vec<u64>,
    total_pages: u64,
    written: Option<FreshBitmap>,
}

const CHUNK_PAGES: usize = 1 << 15;

impl PageTracker {
    /// Call just before the fork: records the private writable regions and, for the kernel
    /// methods, which of their pages are present. `regions` restricts tracking (default:
    /// all private writable mappings).
    pub fn before_fork(method: Method, regions: Option<Vec<Region>>) -> io::Result<PageTracker> {
        let regions = match regions {
            Some(r) => r,
            None => private_writable_regions()?,
        };
        let mut offsets = Vec::with_capacity(regions.len());
        let mut total = 0;
        for r in &regions {
            offsets.push(total);
            total += r.pages();
        }
        let mut present = vec![0u64; total.div_ceil(64) as usize];
        if method != Method::WrittenAddresses {
            let pm = File::open("/proc/self/pagemap")?;
            let mut chunk = FreshBuffer::new(CHUNK_PAGES * 8)?;
            for (r, &off) in regions.iter().zip(&offsets) {
                let mut page = 0;
                while page < r.pages() {
                    let n = (r.pages() - page).min(CHUNK_PAGES as u64) as usize;
                    let buf = &mut chunk.words_mut()[..n];
                    read_pagemap(&pm, r.start + page * PAGE, buf)?;
                    for (i, e) in buf.iter().enumerate() {
                        if e & PM_PRESENT != 0 {
                            let bit = off + page + i as u64;
                            present[(bit / 64) as usize] |= 1 << (bit % 64);
                        }
                    }
                    page += n as u64;
                }
            }
        }
        Ok(PageTracker {
            method,
            regions,
            present,
            offsets,
            total_pages: total,
            written: None,
        })
    }

    /// The method in use.
    pub fn method(&self) -> Method {
        self.method
    }

    /// Pages in the tracked regions.
    pub fn tracked_pages(&self) -> u64 {
        self.total_pages
    }

    /// Call in the parent right after the fork: clears soft-dirty bits, or creates the
    /// fresh bitmap for written addresses.
    pub fn after_fork(&mut self) -> io::Result<()> {
        match self.method {
            Method::SoftDirty => std::fs::OpenOptions::new()
                .write(true)
                .open("/proc/self/clear_refs")?
                .write_all(b"4"),
            Method::ExclusiveBit => Ok(()),
            Method::WrittenAddresses => {
                self.written = Some(FreshBitmap::new(self.total_pages)?);
                Ok(())
            }
        }
    }

    /// Page index over all regions of the address `addr`, if tracked.
    fn index_of(&self, addr: u64) -> Option<u64> {
        let i = self.regions.partition_point(|r| r.end <= addr);
        let r = self.regions.get(i)?;
        (addr >= r.start).then(|| self.offsets[i] + (addr - r.start) / PAGE)
    }

    /// Records that the workload wrote `[addr, addr + len)` (written-addresses method; a
    /// no-op for the others). Allocation-free.
    #[inline]
    pub fn record_write(&mut self, addr: usize, len: usize) {
        if self.written.is_none() || len == 0 {
            return;
        }
        let first = addr as u64 / PAGE * PAGE;
        let last = (addr + len - 1) as u64 / PAGE * PAGE;
        let mut p = first;
        while p <= last {
            if let Some(i) = self.index_of(p)
                && let Some(w) = &mut self.written
            {
                w.set(i);
            }
            p += PAGE;
        }
    }

    fn was_present(&self, bit: u64) -> bool {
        self.present
            .get((bit / 64) as usize)
            .is_some_and(|w| w & (1 << (bit % 64)) != 0)
    }

    /// Counts the pages dirtied (and released) since [`PageTracker::after_fork`]. For the
    /// exclusive-bit method the child must still be alive.
    pub fn count(&self) -> io::Result<PageCount> {
        let present_at_fork: u64 = self.present.iter().map(|w| w.count_ones() as u64).sum();
        if self.method == Method::WrittenAddresses {
            let dirtied = self.written.as_ref().map_or(0, FreshBitmap::count);
            return Ok(PageCount {
                dirtied,
                released: 0,
                present_at_fork,
            });
        }
        let pm = File::open("/proc/self/pagemap")?;
        let mut chunk = FreshBuffer::new(CHUNK_PAGES * 8)?;
        let mut c = PageCount {
            present_at_fork,
            ..PageCount::default()
        };
        for (r, &off) in self.regions.iter().zip(&self.offsets) {
            let mut page = 0;
            while page < r.pages() {
                let n = (r.pages() - page).min(CHUNK_PAGES as u64) as usize;
                let buf = &mut chunk.words_mut()[..n];
                read_pagemap(&pm, r.start + page * PAGE, buf)?;
                for (i, &e) in buf.iter().enumerate() {
                    if !self.was_present(off + page + i as u64) {
                        continue;
                    }
                    match self.method {
                        Method::SoftDirty => {
                            if e & PM_PRESENT != 0 && e & PM_SOFT_DIRTY != 0 {
                                c.dirtied += 1;
                            }
                        }
                        _ => {
                            if e & PM_PRESENT == 0 {
                                c.released += 1;
                            } else if e & PM_MMAP_EXCLUSIVE != 0 {
                                c.dirtied += 1;
                            }
                        }
                    }
                }
                page += n as u64;
            }
        }
        Ok(c)
    }
}

/// Expected number of distinct pages touched by `writes` independent writes, where a write
/// lands on page `j` with probability `q[j]` (Σq = 1): `Σ_j 1 − (1 − q_j)^W`. With `P`
/// equally likely pages this is `P·(1 − (1 − 1/P)^W)`.
pub fn expected_distinct_pages(q: &[f64], writes: u64) -> f64 {
    let w = writes as f64;
    q.iter()
        .map(|&p| {
            if p <= 0.0 {
                0.0
            } else if p >= 1.0 {
                1.0
            } else {
                // 1 − (1−p)^W computed stably for tiny p.
                -(w * (-p).ln_1p()).exp_m1()
            }
        })
        .sum()
}

/// `P·(1 − (1 − 1/P)^W)`: distinct pages among `pages` equally likely ones after `writes`
/// uniform writes.
pub fn expected_distinct_uniform(pages: u64, writes: u64) -> f64 {
    // No writes touch nothing (and for one page ln(0) × 0 would be NaN).
    if pages == 0 || writes == 0 {
        return 0.0;
    }
    let p = pages as f64;
    -p * (writes as f64 * (-1.0 / p).ln_1p()).exp_m1()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_formula_matches_the_general_sum_and_small_cases() {
        // One page: any write touches it; no write, none.
        assert_eq!(expected_distinct_uniform(1, 0), 0.0);
        assert!((expected_distinct_uniform(1, 5) - 1.0).abs() < 1e-12);
        // Two pages, two writes: 2·(1 − 1/4) = 1.5.
        assert!((expected_distinct_uniform(2, 2) - 1.5).abs() < 1e-12);
        let q = vec![0.01; 100];
        let a = expected_distinct_pages(&q, 250);
        let b = expected_distinct_uniform(100, 250);
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        // Skewed: a page with q = 1 is always touched, q = 0 never.
        assert!((expected_distinct_pages(&[1.0, 0.0], 3) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn fresh_bitmap_counts() {
        let mut b = FreshBitmap::new(200).unwrap();
        assert!(b.set(3));
        assert!(!b.set(3));
        assert!(b.set(199));
        assert!(!b.set(500));
        assert!(b.get(199) && !b.get(4));
        assert_eq!(b.count(), 2);
    }

    #[test]
    fn written_addresses_are_mapped_to_pages() {
        let regions = vec![
            Region {
                start: 0x10000,
                end: 0x14000,
            },
            Region {
                start: 0x20000,
                end: 0x21000,
            },
        ];
        let mut t = PageTracker::before_fork(Method::WrittenAddresses, Some(regions)).unwrap();
        t.after_fork().unwrap();
        t.record_write(0x10ff0, 0x20); // straddles pages 0 and 1
        t.record_write(0x11000, 1); // page 1 again
        t.record_write(0x20010, 8); // second region
        t.record_write(0x30000, 8); // untracked
        assert_eq!(t.count().unwrap().dirtied, 3);
        assert_eq!(t.tracked_pages(), 5);
    }

    #[test]
    fn regions_include_the_heap() {
        let v = vec![7u8; 1 << 20];
        let addr = v.as_ptr() as u64;
        let r = private_writable_regions().unwrap();
        assert!(r.iter().any(|r| r.start <= addr && addr < r.end));
        drop(v);
    }
}
