//! Transparent huge pages: the system mode, per-process control, and what the process got.
//!
//! Redis disables THP for itself with `prctl(PR_SET_THP_DISABLE)` when the system mode is
//! `always` (`disable-thp yes`, Redis ≥ 6.2; redis `src/server.c` `linuxMemoryWarnings`),
//! because of the folklore that one small write after a fork copies a whole 2 MB page. On
//! the project's 6.18 kernel that is not what happens: the kernel splits a shared huge page
//! on the COW fault and copies 4 KiB, while fork itself is 10–30× faster with huge pages
//! (fewer page-table entries to copy). The lab measures both; it assumes neither.
//!
//! A process asks for huge pages on memory it already has with `madvise(MADV_HUGEPAGE)` and
//! can make the kernel collapse it synchronously with `MADV_COLLAPSE` (Linux ≥ 6.1), which
//! is how [`advise_huge_pages`] turns an already-built dataset into huge pages.
//! `PR_SET_THP_DISABLE` overrides both. The flag is inherited by fork children.

use std::io;

use nix::errno::Errno;

use super::cow::sum_smaps_field;
use super::pages::private_writable_regions;

/// `/sys/kernel/mm/transparent_hugepage/enabled`.
pub const THP_ENABLED_PATH: &str = "/sys/kernel/mm/transparent_hugepage/enabled";
/// Redis's warning when THP is `always` and `prctl` failed (redis `src/server.c`, 6.2+).
pub const THP_WARNING: &str = "WARNING You have Transparent Huge Pages (THP) support enabled in your kernel. This will create latency and memory usage issues with Redis. To fix this issue run the command 'echo madvise > /sys/kernel/mm/transparent_hugepage/enabled' as root, and add it to your /etc/rc.local in order to retain the setting after a reboot. Redis must be restarted after THP is disabled (set to 'madvise' or 'never').";
/// Size of a PMD huge page on x86-64 and arm64 with 4 KiB pages.
pub const HUGE_PAGE: u64 = 2 << 20;
/// `MADV_COLLAPSE` (Linux 6.1, include/uapi/asm-generic/mman-common.h).
const MADV_COLLAPSE: libc::c_int = 25;

/// The system THP mode: the bracketed word of [`THP_ENABLED_PATH`] (`always`, `madvise`,
/// `never`), or `unknown` when the file cannot be read.
pub fn system_mode() -> String {
    std::fs::read_to_string(THP_ENABLED_PATH)
        .ok()
        .and_then(|s| parse_mode(&s).map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

fn parse_mode(s: &str) -> Option<&str> {
    let a = s.find('[')?;
    let b = s[a..].find(']')? + a;
    Some(&s[a + 1..b])
}

/// `prctl(PR_SET_THP_DISABLE, disabled)` for this process (and its future children).
pub fn set_thp_disabled(disabled: bool) -> Result<(), Errno> {
    nix::sys::prctl::set_thp_disable(disabled)
}

/// `prctl(PR_GET_THP_DISABLE)`.
pub fn thp_disabled() -> Result<bool, Errno> {
    nix::sys::prctl::get_thp_disable()
}

/// Redis's `disable-thp` at start-up: when the system mode is `always`, disable THP for the
/// process; returns Redis's warning if that was needed and failed.
pub fn apply_disable_thp(disable_thp: bool) -> Option<&'static str> {
    if system_mode() != "always" || !disable_thp {
        return None;
    }
    set_thp_disabled(true).err().map(|_| THP_WARNING)
}

/// Anonymous memory of this process backed by huge pages (`AnonHugePages`), bytes.
pub fn anon_huge_bytes() -> io::Result<u64> {
    sum_smaps_field("/proc/self/smaps_rollup", b"AnonHugePages")
}

/// What [`advise_huge_pages`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HugeAdvice {
    /// Bytes advised with `MADV_HUGEPAGE` (whole 2 MB-aligned chunks of private writable
    /// mappings).
    pub advised_bytes: u64,
    /// Bytes for which `MADV_COLLAPSE` succeeded.
    pub collapsed_bytes: u64,
    /// `MADV_COLLAPSE` calls that failed (e.g. `EINVAL` on kernels before 6.1, `EAGAIN`).
    pub collapse_failures: u64,
    /// `AnonHugePages` afterwards.
    pub anon_huge_bytes: u64,
}

/// Advises every 2 MB-aligned part of this process's private writable mappings with
/// `MADV_HUGEPAGE`, and with `collapse` also `MADV_COLLAPSE`s them so that memory already
/// populated becomes huge pages now rather than when `khugepaged` gets to it.
pub fn advise_huge_pages(collapse: bool) -> io::Result<HugeAdvice> {
    let mut out = HugeAdvice::default();
    for r in private_writable_regions()? {
        let start = r.start.next_multiple_of(HUGE_PAGE);
        let end = r.end / HUGE_PAGE * HUGE_PAGE;
        if end <= start {
            continue;
        }
        let len = (end - start) as usize;
        // SAFETY: advising a range of our own mapping; MADV_HUGEPAGE and MADV_COLLAPSE do not
        // change its contents.
        let rc = unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_HUGEPAGE) };
        if rc != 0 {
            continue;
        }
        out.advised_bytes += len as u64;
        if collapse {
            let mut at = start;
            while at < end {
                // Collapse one huge page at a time: a failure (a page that cannot be
                // collapsed) then only costs that 2 MB.
                // SAFETY: as above.
                let rc = unsafe {
                    libc::madvise(at as *mut libc::c_void, HUGE_PAGE as usize, MADV_COLLAPSE)
                };
                if rc == 0 {
                    out.collapsed_bytes += HUGE_PAGE;
                } else {
                    out.collapse_failures += 1;
                }
                at += HUGE_PAGE;
            }
        }
    }
    out.anon_huge_bytes = anon_huge_bytes().unwrap_or(0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_bracketed_mode() {
        assert_eq!(parse_mode("always [madvise] never\n"), Some("madvise"));
        assert_eq!(parse_mode("[always] madvise never"), Some("always"));
        assert_eq!(parse_mode("garbage"), None);
    }

    #[test]
    fn system_mode_is_one_of_the_known_words() {
        let m = system_mode();
        assert!(
            ["always", "madvise", "never", "unknown"].contains(&m.as_str()),
            "{m}"
        );
    }
}
