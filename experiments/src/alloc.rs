//! [`LabAllocator`]: the lab's global allocator. It counts live heap bytes and live
//! allocations (the engine's `used_memory` in `lab-memory-mode allocator`, as Redis's
//! `zmalloc` counts them) and dispatches at run time to one of three allocators:
//! the system allocator (glibc malloc), jemalloc (`tikv-jemallocator`, jemalloc 5.3) or
//! mimalloc.
//!
//! # Why one binary with run-time dispatch
//!
//! `experiment frag --allocators system,jemalloc,mimalloc` must compare allocators in one
//! run. The alternative, one binary built per allocator (a cargo feature each), would mean
//! three builds of the workspace (jemalloc's C build alone costs 2–3 minutes per profile
//! on 2 cores), binaries that must be found next to each other, and a CLI that cannot run
//! the comparison from a plain `cargo run`. Instead all three allocators are linked into
//! the one binary (jemalloc with its `_rjem_` symbol prefix, so glibc's `malloc` stays
//! glibc's) and the choice is made **once**, on the first allocation of the process, from
//! the environment variable [`ENV_VAR`] (`EVICTLAB_ALLOCATOR=system|jemalloc|mimalloc`),
//! read with `libc::getenv` (which does not allocate). It never switches afterwards: a
//! pointer is always freed by the allocator that produced it. `experiment frag` therefore
//! re-executes its own binary once per allocator with the variable set; each child measures
//! a fresh heap, so one allocator's layout never contaminates the next. The cost of the
//! dispatch is one relaxed load and a predictable branch per call.
//!
//! # What is counted
//!
//! Redis adds `zmalloc_size(ptr)` per allocation when the allocator has a size API
//! (`je_malloc_usable_size` with jemalloc, `malloc_usable_size` with glibc; redis
//! `src/zmalloc.h`, `src/zmalloc.c`), so `used_memory` includes the rounding up to a size
//! class but not free space inside the allocator. [`Counters::live_bytes`] is the same: the
//! usable size of every live block, from `malloc_usable_size`, jemalloc's `sallocx` or
//! `mi_usable_size`. [`Counters::live_requested_bytes`] is the sum of the sizes asked for
//! (the `Layout`s), and [`Counters::live_allocations`] the number of live blocks. The
//! counters are relaxed atomics shared by all threads (like Redis's per-thread slots summed
//! on read); a per-thread copy ([`thread_counters`]) lets a test check an allocation
//! pattern exactly while other threads allocate.
//!
//! Stats ([`AllocatorStats`]) and purging ([`Allocator::purge`], Redis's `MEMORY PURGE`)
//! come from each allocator's own API: jemalloc's `stats.{allocated, active, resident,
//! mapped, retained}` and the small-bin fragmentation Redis ≥ 7.4 reports; glibc's
//! `mallinfo2` and `malloc_trim(0)`; mimalloc's `mi_process_info` and `mi_collect(true)`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::{CStr, c_void};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::Relaxed};

use mimalloc::MiMalloc;
use tikv_jemallocator::Jemalloc;

/// The environment variable that selects the allocator on the first allocation.
pub const ENV_VAR: &str = "EVICTLAB_ALLOCATOR";

/// One of the allocators [`LabAllocator`] can dispatch to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Allocator {
    /// The system allocator: glibc's malloc (ptmalloc2).
    System,
    /// jemalloc 5.3 through `tikv-jemallocator` (default 16-byte quantum, no background
    /// thread, 10 s dirty decay).
    Jemalloc,
    /// mimalloc through the `mimalloc` crate.
    Mimalloc,
}

const UNSET: u8 = 0;
const SYSTEM: u8 = 1;
const JEMALLOC: u8 = 2;
const MIMALLOC: u8 = 3;

impl Allocator {
    /// Every allocator, in the order `experiment frag` runs them by default.
    pub const ALL: [Allocator; 3] = [Allocator::System, Allocator::Jemalloc, Allocator::Mimalloc];

    /// The name used on the command line, in [`ENV_VAR`] and in CSVs.
    pub fn name(self) -> &'static str {
        match self {
            Allocator::System => "system",
            Allocator::Jemalloc => "jemalloc",
            Allocator::Mimalloc => "mimalloc",
        }
    }

    /// Parses a name given by [`Allocator::name`].
    pub fn from_name(name: &str) -> Option<Allocator> {
        Allocator::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The allocator serving this process's heap: the one [`LabAllocator`] chose, or the
    /// system allocator when [`LabAllocator`] is not the global allocator (Rust's default
    /// global allocator is then glibc's malloc).
    pub fn current() -> Allocator {
        if !installed() {
            return Allocator::System;
        }
        match CHOICE.load(Relaxed) {
            JEMALLOC => Allocator::Jemalloc,
            MIMALLOC => Allocator::Mimalloc,
            _ => Allocator::System,
        }
    }

    /// Name and version as Redis's INFO `mem_allocator` gives it, e.g. `jemalloc-5.3.1`,
    /// `glibc-2.36` (Redis says `libc`), `mimalloc-3.3.2`.
    pub fn version(self) -> String {
        match self {
            Allocator::System => {
                // SAFETY: gnu_get_libc_version returns a pointer to a static NUL-terminated
                // string owned by glibc.
                let v = unsafe { CStr::from_ptr(libc::gnu_get_libc_version()) };
                format!("glibc-{}", v.to_string_lossy())
            }
            Allocator::Jemalloc => match tikv_jemalloc_ctl::version::read() {
                Ok(v) => format!("jemalloc-{}", v.split('-').next().unwrap_or(v)),
                Err(_) => "jemalloc".into(),
            },
            Allocator::Mimalloc => {
                // SAFETY: mi_version has no preconditions.
                let v = unsafe { libmimalloc_sys::mi_version() };
                // MI_MALLOC_VERSION: major + 2 digits minor + 2 digits patch (30302).
                format!("mimalloc-{}.{}.{}", v / 10000, (v / 100) % 100, v % 100)
            }
        }
    }

    /// Returns free memory to the operating system, as far as the allocator can:
    /// `malloc_trim(0)` (glibc), `arena.<MALLCTL_ARENAS_ALL>.purge` (jemalloc; what Redis's
    /// `MEMORY PURGE` calls), `mi_collect(true)` (mimalloc). Only meaningful for the
    /// allocator in use ([`Allocator::current`]); for another one it does nothing.
    pub fn purge(self) {
        if self != Allocator::current() {
            return;
        }
        match self {
            Allocator::System => {
                // SAFETY: malloc_trim has no preconditions.
                unsafe { libc::malloc_trim(0) };
            }
            Allocator::Jemalloc => {
                // MALLCTL_ARENAS_ALL = 4096 (jemalloc `include/jemalloc/jemalloc_macros.h.in`).
                let name = c"arena.4096.purge";
                // SAFETY: a void mallctl: no old or new value, name NUL-terminated.
                unsafe {
                    tikv_jemalloc_sys::mallctl(
                        name.as_ptr(),
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                        0,
                    )
                };
            }
            Allocator::Mimalloc => {
                // SAFETY: mi_collect has no preconditions.
                unsafe { libmimalloc_sys::mi_collect(true) };
            }
        }
    }

    /// The allocator's own view of its memory (see [`AllocatorStats`]). For an allocator
    /// other than [`Allocator::current`] every field is 0.
    pub fn stats(self) -> AllocatorStats {
        if self != Allocator::current() {
            return AllocatorStats::default();
        }
        match self {
            Allocator::System => glibc_stats(),
            Allocator::Jemalloc => jemalloc_stats(),
            Allocator::Mimalloc => mimalloc_stats(),
        }
    }
}

impl std::fmt::Display for Allocator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses a comma-separated list of allocator names (`system,jemalloc,mimalloc`).
pub fn parse_allocators(text: &str) -> Result<Vec<Allocator>, String> {
    let mut out = Vec::new();
    for n in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let a = Allocator::from_name(n).ok_or_else(|| n.to_string())?;
        if !out.contains(&a) {
            out.push(a);
        }
    }
    if out.is_empty() {
        return Err(text.to_string());
    }
    Ok(out)
}

/// The allocator's own figures, in bytes, named after Redis's INFO `allocator_*` fields.
///
/// * jemalloc: `stats.allocated`, `stats.active`, `stats.resident`, `stats.mapped`,
///   `stats.retained` after an `epoch` refresh; `frag_bytes` is Redis ≥ 7.4's
///   `frag_smallbins` = Σ over small bins of `(nregs × curslabs − curregs) × reg_size`
///   (redis `src/zmalloc.c` `zmalloc_get_frag_smallbins`), and `frag_ratio` =
///   `frag_smallbins / allocated + 1` (INFO `allocator_frag_ratio`).
/// * glibc (`mallinfo2`): `allocated` = `uordblks + hblkhd` (bytes in use),
///   `active` = `mapped` = `arena + hblkhd` (bytes obtained from the system, including free
///   chunks), `resident` = 0 (glibc cannot tell; Redis then uses the RSS), `retained` =
///   `fordblks` (free bytes kept in the arenas). `frag_*` use the Redis 5.0–7.2 definition
///   `active / allocated`, `active − allocated`.
/// * mimalloc (`mi_process_info`): `active` = `mapped` = current commit, `resident` =
///   mimalloc's RSS estimate (on Linux it is the commit), `allocated` = the counted usable
///   bytes (mimalloc has no cheaper total); `frag_*` as for glibc.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocatorStats {
    /// Bytes in live allocations, as the allocator counts them.
    pub allocated: u64,
    /// Bytes in pages the allocator uses for live data (plus internal free space).
    pub active: u64,
    /// Resident bytes mapped by the allocator (0 when unknown).
    pub resident: u64,
    /// Bytes mapped from the OS.
    pub mapped: u64,
    /// Bytes kept for reuse without being returned (jemalloc `retained`, glibc free bytes).
    pub retained: u64,
    /// Fragmentation bytes (see the type's documentation for the definition per allocator).
    pub frag_bytes: u64,
}

impl AllocatorStats {
    /// `allocator_frag_ratio`: `frag_bytes / allocated + 1` (1.0 when nothing is allocated).
    pub fn frag_ratio(&self) -> f64 {
        if self.allocated == 0 {
            1.0
        } else {
            self.frag_bytes as f64 / self.allocated as f64 + 1.0
        }
    }
}

fn glibc_stats() -> AllocatorStats {
    // SAFETY: mallinfo2 has no preconditions and returns a plain struct.
    let m = unsafe { libc::mallinfo2() };
    let allocated = (m.uordblks + m.hblkhd) as u64;
    let active = (m.arena + m.hblkhd) as u64;
    AllocatorStats {
        allocated,
        active,
        resident: 0,
        mapped: active,
        retained: m.fordblks as u64,
        frag_bytes: active.saturating_sub(allocated),
    }
}

fn mimalloc_stats() -> AllocatorStats {
    let mut v = [0usize; 8];
    let [a, b, c, d, e, f, g, h] = &mut v;
    // SAFETY: every out-pointer is a valid, distinct usize.
    unsafe { libmimalloc_sys::mi_process_info(a, b, c, d, e, f, g, h) };
    let (rss, commit) = (v[3] as u64, v[5] as u64);
    let allocated = counters().live_bytes;
    AllocatorStats {
        allocated,
        active: commit,
        resident: rss,
        mapped: commit,
        retained: 0,
        frag_bytes: commit.saturating_sub(allocated),
    }
}

fn jemalloc_stats() -> AllocatorStats {
    use tikv_jemalloc_ctl::{epoch, stats};
    let _ = epoch::advance();
    let get = |r: tikv_jemalloc_ctl::Result<usize>| r.unwrap_or(0) as u64;
    AllocatorStats {
        allocated: get(stats::allocated::read()),
        active: get(stats::active::read()),
        resident: get(stats::resident::read()),
        mapped: get(stats::mapped::read()),
        retained: get(stats::retained::read()),
        frag_bytes: jemalloc_frag_smallbins(),
    }
}

/// Redis ≥ 7.4's `frag_smallbins` (redis `src/zmalloc.c`): unused regions in the slabs of
/// every small bin, merged over all arenas (`MALLCTL_ARENAS_ALL` = 4096), times the region
/// size. Call after an `epoch` refresh.
fn jemalloc_frag_smallbins() -> u64 {
    use tikv_jemalloc_ctl::raw;
    let read_u32 = |name: String| -> u64 {
        let name = name + "\0";
        // SAFETY: the mallctl names a u32 value.
        unsafe { raw::read::<u32>(name.as_bytes()) }.map_or(0, u64::from)
    };
    let read_usize = |name: String| -> u64 {
        let name = name + "\0";
        // SAFETY: the mallctl names a size_t value.
        unsafe { raw::read::<usize>(name.as_bytes()) }.map_or(0, |v| v as u64)
    };
    let nbins = read_u32("arenas.nbins".into());
    let mut frag = 0u64;
    for j in 0..nbins {
        let size = read_usize(format!("arenas.bin.{j}.size"));
        let nregs = read_u32(format!("arenas.bin.{j}.nregs"));
        let curregs = read_usize(format!("stats.arenas.4096.bins.{j}.curregs"));
        let curslabs = read_usize(format!("stats.arenas.4096.bins.{j}.curslabs"));
        frag += (nregs * curslabs).saturating_sub(curregs) * size;
    }
    frag
}

/// Redis's active-defrag hint for one allocation (`je_get_defrag_hint` in Redis's patched
/// jemalloc, `deps/jemalloc/include/jemalloc/internal/jemalloc_internal_inlines_c.h`): move
/// a small allocation iff its slab is not the bin's current slab, has free regions, and is
/// no fuller than the bin on average. Upstream jemalloc has no such hint; its
/// `experimental.utilization.query` mallctl gives the same inputs (the slab a new
/// allocation would go to, the slab's free and total regions, the bin's free and total
/// regions), so this rule is Redis's with the bin-wide average in place of the non-full
/// slabs' average (which the query does not give).
///
/// Returns `None` when jemalloc is not the allocator in use (the caller then has no hint).
pub fn jemalloc_defrag_hint(ptr: *const u8) -> Option<bool> {
    if Allocator::current() != Allocator::Jemalloc || ptr.is_null() {
        return None;
    }
    #[repr(C)]
    #[derive(Default)]
    struct Util {
        slabcur: usize,
        nfree: usize,
        nregs: usize,
        size: usize,
        bin_nfree: usize,
        bin_nregs: usize,
    }
    let mut out = Util::default();
    let mut out_len = std::mem::size_of::<Util>();
    let mut input = ptr as *const c_void;
    let name = c"experimental.utilization.query";
    // SAFETY: the query reads one pointer from newp and writes a Util (void* + 5 size_t,
    // the layout `inspect_extent_util_stats_verbose_t` has) to oldp; the lengths match.
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr(),
            (&mut out as *mut Util).cast(),
            &mut out_len,
            (&mut input as *mut *const c_void).cast(),
            std::mem::size_of::<*const c_void>(),
        )
    };
    if rc != 0 || out.nregs <= 1 || out.nfree == 0 || out.bin_nregs == 0 {
        // Large allocation, full slab, or no stats: Redis does not move it.
        return Some(false);
    }
    let p = ptr as usize;
    if out.slabcur != 0 && p >= out.slabcur && p < out.slabcur + out.size {
        return Some(false);
    }
    let used = (out.nregs - out.nfree) as u128;
    let bin_used = (out.bin_nregs - out.bin_nfree) as u128;
    // used / nregs <= bin_used / bin_nregs
    Some(used * out.bin_nregs as u128 <= bin_used * out.nregs as u128)
}

/// Turns the calling thread's jemalloc thread cache off or on (`thread.tcache.enabled`).
/// Redis moves allocations during active defragmentation with `MALLOCX_TCACHE_NONE`, so a
/// new block comes from the bin's current slab and a freed one goes straight back to its
/// slab instead of being handed out again. Does nothing with another allocator.
pub fn jemalloc_set_thread_cache(enabled: bool) {
    if Allocator::current() == Allocator::Jemalloc {
        // SAFETY: the mallctl names a bool that is writable per thread.
        let _ = unsafe { tikv_jemalloc_ctl::raw::write(b"thread.tcache.enabled\0", enabled) };
    }
}

// -----------------------------------------------------------------------------------------
// The counting, dispatching global allocator
// -----------------------------------------------------------------------------------------

static CHOICE: AtomicU8 = AtomicU8::new(UNSET);
static INSTALLED: AtomicBool = AtomicBool::new(false);
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static LIVE_REQUESTED: AtomicUsize = AtomicUsize::new(0);
static LIVE_ALLOCS: AtomicUsize = AtomicUsize::new(0);

/// Per-thread net changes (may be negative when a thread frees what another allocated).
struct ThreadCounts {
    bytes: Cell<isize>,
    requested: Cell<isize>,
    allocs: Cell<isize>,
}

thread_local! {
    // `const` and without a destructor: no lazy registration, so no allocation inside the
    // allocator and usable during thread teardown.
    static THREAD: ThreadCounts = const {
        ThreadCounts { bytes: Cell::new(0), requested: Cell::new(0), allocs: Cell::new(0) }
    };
}

/// The counting, dispatching global allocator. Declare it in a binary with
/// `#[global_allocator] static GLOBAL: evictlab_experiments::alloc::LabAllocator =
/// evictlab_experiments::alloc::LabAllocator;`.
#[derive(Clone, Copy, Debug, Default)]
pub struct LabAllocator;

/// True once [`LabAllocator`] has served an allocation in this process (it is the global
/// allocator).
pub fn installed() -> bool {
    INSTALLED.load(Relaxed)
}

/// The allocator [`ENV_VAR`] asks for (read through `std::env`, for validation after
/// start-up): `None` when unset, `Err(value)` when it names no allocator.
pub fn requested() -> Option<Result<Allocator, String>> {
    std::env::var(ENV_VAR)
        .ok()
        .map(|v| Allocator::from_name(&v).ok_or(v))
}

#[inline]
fn choice() -> u8 {
    let c = CHOICE.load(Relaxed);
    if c != UNSET {
        return c;
    }
    choose()
}

#[cold]
fn choose() -> u8 {
    let name = c"EVICTLAB_ALLOCATOR";
    // SAFETY: getenv with a NUL-terminated name; it does not allocate. The returned string
    // is read at once, before this thread could change the environment.
    let p = unsafe { libc::getenv(name.as_ptr()) };
    let wanted = if p.is_null() {
        SYSTEM
    } else {
        // SAFETY: getenv returned a NUL-terminated string.
        match unsafe { CStr::from_ptr(p) }.to_bytes() {
            b"jemalloc" => JEMALLOC,
            b"mimalloc" => MIMALLOC,
            _ => SYSTEM,
        }
    };
    INSTALLED.store(true, Relaxed);
    // Two threads racing here read the same variable; the first store wins either way.
    match CHOICE.compare_exchange(UNSET, wanted, Relaxed, Relaxed) {
        Ok(_) => wanted,
        Err(prev) => prev,
    }
}

/// The usable size of a live block from allocator `c`.
///
/// # Safety
/// `p` must be a live block allocated by allocator `c`.
#[inline]
unsafe fn usable(c: u8, p: *mut u8) -> usize {
    // SAFETY: the caller guarantees p is live and from allocator c.
    unsafe {
        match c {
            JEMALLOC => tikv_jemallocator::usable_size(p),
            MIMALLOC => libmimalloc_sys::mi_usable_size(p.cast()),
            _ => libc::malloc_usable_size(p.cast()),
        }
    }
}

#[inline]
fn add(bytes: isize, requested: isize, allocs: isize) {
    if bytes >= 0 {
        LIVE_BYTES.fetch_add(bytes as usize, Relaxed);
    } else {
        LIVE_BYTES.fetch_sub(bytes.unsigned_abs(), Relaxed);
    }
    if requested >= 0 {
        LIVE_REQUESTED.fetch_add(requested as usize, Relaxed);
    } else {
        LIVE_REQUESTED.fetch_sub(requested.unsigned_abs(), Relaxed);
    }
    if allocs >= 0 {
        LIVE_ALLOCS.fetch_add(allocs as usize, Relaxed);
    } else {
        LIVE_ALLOCS.fetch_sub(allocs.unsigned_abs(), Relaxed);
    }
    THREAD.with(|t| {
        t.bytes.set(t.bytes.get() + bytes);
        t.requested.set(t.requested.get() + requested);
        t.allocs.set(t.allocs.get() + allocs);
    });
}

// SAFETY: every method forwards to the allocator chosen once for the whole process (so a
// block is always freed or resized by the allocator that produced it) and only adds
// bookkeeping around the call; the layouts are passed through unchanged.
unsafe impl GlobalAlloc for LabAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let c = choice();
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe {
            match c {
                JEMALLOC => Jemalloc.alloc(layout),
                MIMALLOC => MiMalloc.alloc(layout),
                _ => System.alloc(layout),
            }
        };
        if !p.is_null() {
            // SAFETY: p was just allocated by allocator c.
            let u = unsafe { usable(c, p) };
            add(u as isize, layout.size() as isize, 1);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let c = choice();
        // SAFETY: forwarded with the caller's layout.
        let p = unsafe {
            match c {
                JEMALLOC => Jemalloc.alloc_zeroed(layout),
                MIMALLOC => MiMalloc.alloc_zeroed(layout),
                _ => System.alloc_zeroed(layout),
            }
        };
        if !p.is_null() {
            // SAFETY: p was just allocated by allocator c.
            let u = unsafe { usable(c, p) };
            add(u as isize, layout.size() as isize, 1);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let c = choice();
        // SAFETY: the caller guarantees ptr is live; it came from allocator c (the choice
        // never changes).
        let u = unsafe { usable(c, ptr) };
        add(-(u as isize), -(layout.size() as isize), -1);
        // SAFETY: forwarded with the caller's pointer and layout.
        unsafe {
            match c {
                JEMALLOC => Jemalloc.dealloc(ptr, layout),
                MIMALLOC => MiMalloc.dealloc(ptr, layout),
                _ => System.dealloc(ptr, layout),
            }
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let c = choice();
        // SAFETY: the caller guarantees ptr is live and from this allocator.
        let old = unsafe { usable(c, ptr) };
        // SAFETY: forwarded with the caller's arguments.
        let p = unsafe {
            match c {
                JEMALLOC => Jemalloc.realloc(ptr, layout, new_size),
                MIMALLOC => MiMalloc.realloc(ptr, layout, new_size),
                _ => System.realloc(ptr, layout, new_size),
            }
        };
        if !p.is_null() {
            // SAFETY: p is the live, resized block.
            let new = unsafe { usable(c, p) };
            add(
                new as isize - old as isize,
                new_size as isize - layout.size() as isize,
                0,
            );
        }
        p
    }
}

/// Live heap figures counted by [`LabAllocator`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Σ usable size of live blocks (Redis's `used_memory`).
    pub live_bytes: u64,
    /// Σ requested size of live blocks.
    pub live_requested_bytes: u64,
    /// Number of live blocks.
    pub live_allocations: u64,
}

/// The process-wide counters (all zero when [`LabAllocator`] is not installed).
pub fn counters() -> Counters {
    Counters {
        live_bytes: LIVE_BYTES.load(Relaxed) as u64,
        live_requested_bytes: LIVE_REQUESTED.load(Relaxed) as u64,
        live_allocations: LIVE_ALLOCS.load(Relaxed) as u64,
    }
}

/// Net changes made by the calling thread since it started: (usable bytes, requested bytes,
/// allocations). Differences of two readings give exact per-thread figures.
pub fn thread_counters() -> (i64, i64, i64) {
    THREAD.with(|t| {
        (
            t.bytes.get() as i64,
            t.requested.get() as i64,
            t.allocs.get() as i64,
        )
    })
}

/// `used_memory` for the engine's allocator memory mode: the live usable bytes. Install
/// with `engine.set_allocator_probe(evictlab_experiments::alloc::used_memory)`.
pub fn used_memory() -> u64 {
    LIVE_BYTES.load(Relaxed) as u64
}

// The crate's unit tests run on the counting allocator too (with the system allocator,
// since the test process does not set the variable), so the tests below can check it.
#[cfg(test)]
#[global_allocator]
static TEST_GLOBAL: LabAllocator = LabAllocator;

#[cfg(test)]
mod tests {
    use super::*;

    fn delta<T>(f: impl FnOnce() -> T) -> (T, (i64, i64, i64)) {
        let a = thread_counters();
        let v = f();
        let b = thread_counters();
        (v, (b.0 - a.0, b.1 - a.1, b.2 - a.2))
    }

    #[test]
    fn counts_a_known_allocation_pattern_exactly() {
        assert!(
            installed() || {
                drop(Box::new(1u8));
                installed()
            }
        );
        // Three blocks: 1000, 24 and 4096 bytes requested.
        let (blocks, (bytes, req, n)) = delta(|| {
            // black_box: the optimizer may otherwise elide an allocation nobody reads.
            let a: Vec<u8> = std::hint::black_box(Vec::with_capacity(1000));
            let b = std::hint::black_box(Box::new([7u8; 24]));
            let c: Vec<u64> = std::hint::black_box(Vec::with_capacity(512));
            (a, b, c)
        });
        assert_eq!(req, 1000 + 24 + 4096);
        assert_eq!(n, 3);
        // Usable sizes are at least the requested sizes and round up by less than a
        // 16-byte-quantum size class step on glibc.
        assert!(bytes >= req && bytes < req + 3 * 64, "usable {bytes}");
        // Realloc: one block grows from 1000 to 3000 requested bytes, the count stays.
        let (mut a, b, c) = blocks;
        let (_, (_, req2, n2)) = delta(|| {
            a.reserve_exact(3000);
            std::hint::black_box(&a);
        });
        assert_eq!((req2, n2), (2000, 0));
        // Freeing everything brings every counter back by what was added.
        let (_, (bytes3, req3, n3)) = delta(move || drop((a, b, c)));
        assert_eq!((req3, n3), (-(3000 + 24 + 4096), -3));
        assert!(bytes3 <= -(3000 + 24 + 4096));
    }

    /// The pattern test again in a child process per allocator: this test binary
    /// re-executed with `EVICTLAB_ALLOCATOR` set (the choice is made once per process).
    #[test]
    fn counting_is_exact_on_every_allocator() {
        if requested().is_some() {
            return; // already a child
        }
        let exe = std::env::current_exe().unwrap();
        for a in Allocator::ALL {
            let out = std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "alloc::tests::counts_a_known_allocation_pattern_exactly",
                    "--test-threads=1",
                ])
                .env(ENV_VAR, a.name())
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && stdout.contains("1 passed"),
                "{a}: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    #[test]
    fn zeroed_allocations_are_counted_and_zeroed() {
        let (v, (_, req, n)) = delta(|| std::hint::black_box(vec![0u8; 777]));
        assert!(v.iter().all(|&b| b == 0));
        assert_eq!((req, n), (777, 1));
        drop(v);
    }

    #[test]
    fn the_choice_is_the_system_allocator_without_the_variable() {
        if requested().is_none() {
            assert_eq!(Allocator::current(), Allocator::System);
            assert!(Allocator::current().version().starts_with("glibc-"));
        }
        assert!(counters().live_bytes >= counters().live_requested_bytes);
        assert!(counters().live_allocations > 0);
    }

    #[test]
    fn names_parse_and_bad_names_are_named() {
        assert_eq!(
            parse_allocators("system, jemalloc,mimalloc,system").unwrap(),
            Allocator::ALL.to_vec()
        );
        assert_eq!(parse_allocators("system,tcmalloc").unwrap_err(), "tcmalloc");
        assert!(parse_allocators(" , ").is_err());
    }

    #[test]
    fn glibc_stats_see_the_heap() {
        if Allocator::current() == Allocator::System {
            let s = Allocator::System.stats();
            assert!(s.allocated > 0 && s.active >= s.allocated);
            assert!(s.frag_ratio() >= 1.0);
            // Another allocator's stats are empty in this process.
            assert_eq!(Allocator::Jemalloc.stats(), AllocatorStats::default());
        }
    }
}
