//! One memory sample: the counted `used_memory`, the process RSS and the allocator's own
//! figures, read together as Redis's `cronUpdateMemoryStats()` does every 100 ms (redis
//! `src/server.c`), so ratios such as `mem_fragmentation_ratio = rss / used` compare
//! numbers from the same instant.
//!
//! RSS comes from `/proc/self/statm` (field 2, resident pages, × the page size): the
//! kernel's counter, one small read, no page-table walk (`smaps_rollup` walks every page:
//! ~7 ms at 512 MiB). It is read into a stack buffer, so taking a sample does not allocate
//! between reading `used` and reading the RSS.

use std::io::Read;

use crate::alloc::{self, Allocator, AllocatorStats};

/// Resident bytes from the text of a `statm` file (`size resident shared text lib data
/// dt`, in pages) and the page size. `None` when the text has no second field.
pub fn parse_statm(text: &str, page_size: u64) -> Option<u64> {
    text.split_ascii_whitespace()
        .nth(1)?
        .parse::<u64>()
        .ok()
        .map(|pages| pages * page_size)
}

/// The system page size.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 { p as u64 } else { 4096 }
}

/// This process's resident set size in bytes (`/proc/self/statm`), without allocating.
pub fn rss_bytes() -> std::io::Result<u64> {
    let mut buf = [0u8; 256];
    let mut f = std::fs::File::open("/proc/self/statm")?;
    let n = f.read(&mut buf)?;
    let text = std::str::from_utf8(&buf[..n]).unwrap_or("");
    parse_statm(text, page_size()).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("/proc/self/statm: unparsable '{}'", text.trim()),
        )
    })
}

/// `VmHWM` in bytes from the text of a `/proc/PID/status` file (the line
/// `VmHWM:    1234 kB`). `None` when the line is missing or unparsable.
pub fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let mut f = line["VmHWM:".len()..].split_ascii_whitespace();
    let kb: u64 = f.next()?.parse().ok()?;
    (f.next()? == "kB").then_some(kb * 1024)
}

/// This process's peak resident set size in bytes: the kernel's high-water mark `VmHWM`
/// from `/proc/self/status` (the same figure as `getrusage`'s `ru_maxrss`, in bytes).
pub fn peak_rss_bytes() -> std::io::Result<u64> {
    let text = std::fs::read_to_string("/proc/self/status")?;
    parse_vm_hwm(&text).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "/proc/self/status: no parsable 'VmHWM: N kB' line",
        )
    })
}

/// A sample of the process's memory.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MemSample {
    /// Counted live usable bytes (`used_memory`).
    pub used_bytes: u64,
    /// Counted live requested bytes.
    pub requested_bytes: u64,
    /// Counted live allocations.
    pub live_allocations: u64,
    /// Process RSS (`used_memory_rss`).
    pub rss_bytes: u64,
    /// The allocator's own figures.
    pub allocator: AllocatorStats,
}

impl MemSample {
    /// Reads the counters, the RSS and the allocator's stats, in that order, back to back.
    pub fn read() -> std::io::Result<MemSample> {
        let c = alloc::counters();
        let rss = rss_bytes()?;
        let allocator = Allocator::current().stats();
        Ok(MemSample {
            used_bytes: c.live_bytes,
            requested_bytes: c.live_requested_bytes,
            live_allocations: c.live_allocations,
            rss_bytes: rss,
            allocator,
        })
    }

    /// Redis's `mem_fragmentation_ratio`: `rss / used` (0 when nothing is counted).
    pub fn mem_fragmentation_ratio(&self) -> f64 {
        if self.used_bytes == 0 {
            0.0
        } else {
            self.rss_bytes as f64 / self.used_bytes as f64
        }
    }

    /// `allocator_resident`, or the RSS when the allocator cannot tell (Redis's fallback
    /// in `cronUpdateMemoryStats`).
    pub fn allocator_resident(&self) -> u64 {
        if self.allocator.resident == 0 {
            self.rss_bytes
        } else {
            self.allocator.resident
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_statm_sample() {
        assert_eq!(
            parse_statm("2618 1463 1131 186 0 239 0\n", 4096),
            Some(1463 * 4096)
        );
        assert_eq!(parse_statm("2618", 4096), None);
        assert_eq!(parse_statm("a b c", 4096), None);
    }

    #[test]
    fn parses_vm_hwm_and_the_live_peak_covers_the_current_rss() {
        let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t    1234 kB\nVmRSS:\t 1000 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(1234 * 1024));
        assert_eq!(parse_vm_hwm("VmRSS: 5 kB\n"), None);
        assert_eq!(parse_vm_hwm("VmHWM: x kB\n"), None);
        assert!(peak_rss_bytes().unwrap() >= rss_bytes().unwrap());
    }

    #[test]
    fn reads_the_live_process_and_sees_touched_memory() {
        let before = rss_bytes().unwrap();
        assert!(before > 0);
        // Touch 64 MiB: the RSS grows by most of it.
        let mut v = vec![0u8; 64 << 20];
        for i in (0..v.len()).step_by(4096) {
            v[i] = 1;
        }
        let after = rss_bytes().unwrap();
        assert!(after >= before + (48 << 20), "{before} -> {after}");
        std::hint::black_box(&v);
        let s = MemSample::read().unwrap();
        assert!(s.used_bytes >= 64 << 20);
        assert!(s.mem_fragmentation_ratio() > 0.0);
        assert!(s.allocator_resident() > 0);
    }
}
