//! Copy-on-write measured as Redis measures it: the fork child reads its own `Private_Dirty`.
//!
//! After `fork()` every anonymous page is shared. When the parent writes one, the kernel
//! gives the *parent* a fresh copy and the child's original becomes private to the child, so
//! the child's `Private_Dirty` is the memory the snapshot costs (redis `src/childinfo.c`,
//! `src/zmalloc.c` `zmalloc_get_private_dirty`). Redis sums the `Private_Dirty:` lines of
//! `/proc/self/smaps`; we read the kernel's pre-summed `/proc/self/smaps_rollup` (the same
//! number, one line to parse) and fall back to `smaps` when the rollup file is missing.
//!
//! A read walks the page tables (about 7 ms at 512 MiB and 26 ms at 4 GiB on the project's
//! machines), so the child throttles periodic reads with Redis's duty cycle: a new reading is
//! taken only if `now − last_read > last_read_cost × CHILD_COW_DUTY_CYCLE` (redis
//! `sendChildInfoGeneric`, PR #8645), i.e. at most about 1 % of the child's time. Final
//! reports always read afresh.
//!
//! The child keeps `current`, `peak`, `sum` and `count` of its readings; the parent logs
//! Redis's line `Fork CoW for RDB: current X MB, peak Y MB, average Z MB` (MB = bytes >> 20)
//! from them ([`CowStats::log_line`]).
//!
//! The child also has a small Private_Dirty of its own right after the fork (its stack, the
//! pipe buffers: 36–72 kB measured here). The first reading, taken before the child does any
//! work, is sent as a *baseline*; [`CowSample::cow_bytes`] subtracts it. Redis does not
//! subtract it; [`CowStats::log_line`] prints the raw numbers, as Redis does.

use std::fs::File;
use std::io::{self, Read};
use std::time::{Duration, Instant};

/// `CHILD_COW_DUTY_CYCLE` (redis `src/server.h`): a periodic reading is redone only after
/// 100 × the cost of the previous one.
pub const CHILD_COW_DUTY_CYCLE: u64 = 100;
/// The child checks the clock every 1024 keys (redis `rdbSaveRio`: `if (!(processed % 1024))`
/// … `rdbSaveProgress`) …
pub const KEYS_PER_CLOCK_CHECK: u64 = 1024;
/// … and reports at most every 1000 ms (redis `rdbSaveProgress`: `now - info_updated_time
/// >= 1000`).
pub const CHILD_INFO_PERIOD: Duration = Duration::from_millis(1000);

/// Bytes in one kB as `/proc` prints it.
const KB: u64 = 1024;

/// Sums a `Field:   N kB` line (or all of them) from a `/proc` smaps-style file, without
/// allocating (safe to call in a fork child).
pub fn sum_smaps_field(path: &str, field: &[u8]) -> io::Result<u64> {
    let mut f = File::open(path)?;
    let mut chunk = [0u8; 4096];
    let mut line = [0u8; 256];
    let mut line_len = 0usize;
    let mut overlong = false;
    let mut total = 0u64;
    loop {
        let n = f.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        for &b in &chunk[..n] {
            if b == b'\n' {
                if !overlong {
                    total += parse_kb_line(&line[..line_len], field);
                }
                line_len = 0;
                overlong = false;
            } else if line_len < line.len() {
                line[line_len] = b;
                line_len += 1;
            } else {
                // Mapping header lines can carry long paths; they never hold our field.
                overlong = true;
            }
        }
    }
    if line_len > 0 && !overlong {
        total += parse_kb_line(&line[..line_len], field);
    }
    Ok(total)
}

/// `field` followed by `:` and a number of kB → bytes; anything else → 0.
fn parse_kb_line(line: &[u8], field: &[u8]) -> u64 {
    if line.len() <= field.len() || &line[..field.len()] != field || line[field.len()] != b':' {
        return 0;
    }
    let mut v = 0u64;
    let mut seen = false;
    for &c in &line[field.len() + 1..] {
        match c {
            b'0'..=b'9' => {
                v = v * 10 + (c - b'0') as u64;
                seen = true;
            }
            b' ' | b'\t' if !seen => {}
            _ => break,
        }
    }
    v * KB
}

/// This process's `Private_Dirty` in bytes: `/proc/self/smaps_rollup`, or the sum over
/// `/proc/self/smaps` where the rollup file does not exist. Allocation-free.
pub fn read_private_dirty() -> io::Result<u64> {
    match sum_smaps_field("/proc/self/smaps_rollup", b"Private_Dirty") {
        Ok(v) => Ok(v),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            sum_smaps_field("/proc/self/smaps", b"Private_Dirty")
        }
        Err(e) => Err(e),
    }
}

/// Resident set size of this process in bytes, from `/proc/self/statm` (field 2 × page
/// size). Cheap (no page-table walk); allocation-free.
pub fn read_rss() -> io::Result<u64> {
    let mut f = File::open("/proc/self/statm")?;
    let mut buf = [0u8; 128];
    let n = f.read(&mut buf)?;
    let mut fields = buf[..n].split(|&c| c == b' ');
    fields.next();
    let pages = fields
        .next()
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unparsable /proc/self/statm"))?;
    Ok(pages * page_size())
}

/// The system page size in bytes.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions; _SC_PAGESIZE is always valid on Linux.
    let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if v > 0 { v as u64 } else { 4096 }
}

/// Running statistics of the child's readings, as Redis's child keeps them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CowStats {
    /// Latest reading, bytes.
    pub current: u64,
    /// Largest reading.
    pub peak: u64,
    /// Sum of readings.
    pub sum: u64,
    /// Number of readings.
    pub count: u64,
}

impl CowStats {
    /// Records one fresh reading.
    pub fn record(&mut self, bytes: u64) {
        self.current = bytes;
        self.peak = self.peak.max(bytes);
        self.sum += bytes;
        self.count += 1;
    }

    /// Mean of the readings (0 without any).
    pub fn average(&self) -> u64 {
        self.sum.checked_div(self.count).unwrap_or(0)
    }

    /// Redis's log line (redis `src/childinfo.c`, 7.0+), `what` being `RDB` or
    /// `AOF rewrite`: `Fork CoW for RDB: current 99 MB, peak 99 MB, average 98 MB`.
    pub fn log_line(&self, what: &str) -> String {
        format!(
            "Fork CoW for {what}: current {} MB, peak {} MB, average {} MB",
            self.current >> 20,
            self.peak >> 20,
            self.average() >> 20
        )
    }
}

/// Redis's duty-cycle throttle for periodic `Private_Dirty` readings.
#[derive(Clone, Debug)]
pub struct DutyCycleSampler {
    cycle: u64,
    last_read: Option<Instant>,
    last_cost: Duration,
    /// The child's running statistics over fresh readings.
    pub stats: CowStats,
}

/// One reading handed out by [`DutyCycleSampler`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    /// Private_Dirty in bytes (the latest fresh value when this one is cached).
    pub bytes: u64,
    /// True if `/proc` was read for this reading.
    pub fresh: bool,
    /// How long the last fresh read took.
    pub cost: Duration,
}

impl DutyCycleSampler {
    /// A sampler with duty cycle `cycle` (Redis: [`CHILD_COW_DUTY_CYCLE`]; 0 = always read).
    pub fn new(cycle: u64) -> DutyCycleSampler {
        DutyCycleSampler {
            cycle,
            last_read: None,
            last_cost: Duration::ZERO,
            stats: CowStats::default(),
        }
    }

    /// True if a periodic reading at `now` would read `/proc` again.
    pub fn due(&self, now: Instant) -> bool {
        match self.last_read {
            None => true,
            Some(t) => {
                now.saturating_duration_since(t) > self.last_cost.saturating_mul(self.cycle as u32)
            }
        }
    }

    /// A periodic reading (`force = false`: throttled) or a final one (`force = true`).
    /// `read` does the measurement; errors count as 0, as `zmalloc_get_private_dirty` does.
    pub fn sample(&mut self, force: bool, read: impl FnOnce() -> io::Result<u64>) -> Reading {
        let now = Instant::now();
        if force || self.due(now) {
            let v = read().unwrap_or(0);
            let done = Instant::now();
            self.last_cost = done - now;
            self.last_read = Some(done);
            self.stats.record(v);
            Reading {
                bytes: v,
                fresh: true,
                cost: self.last_cost,
            }
        } else {
            Reading {
                bytes: self.stats.current,
                fresh: false,
                cost: self.last_cost,
            }
        }
    }
}

/// What a child-info message reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum MessageKind {
    /// The reading taken right after the fork, before any work.
    Baseline = 1,
    /// A periodic report (`CHILD_INFO_TYPE_CURRENT_INFO`).
    Current = 2,
    /// The final report of an RDB child (`CHILD_INFO_TYPE_RDB_COW_SIZE`).
    RdbFinal = 3,
    /// The final report of an AOF-rewrite child (`CHILD_INFO_TYPE_AOF_COW_SIZE`).
    AofFinal = 4,
    /// The child finished writing and waits for the parent's go (lab handshake).
    DoneWriting = 5,
    /// The child failed; `keys` carries the errno.
    Error = 6,
}

impl MessageKind {
    fn from_u32(v: u32) -> Option<MessageKind> {
        Some(match v {
            1 => MessageKind::Baseline,
            2 => MessageKind::Current,
            3 => MessageKind::RdbFinal,
            4 => MessageKind::AofFinal,
            5 => MessageKind::DoneWriting,
            6 => MessageKind::Error,
            _ => return None,
        })
    }
}

/// A child-info message: a fixed 64-byte little-endian record, as Redis writes a fixed
/// struct through its pipe (writes under `PIPE_BUF` are atomic).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message {
    /// What it reports.
    pub kind: MessageKind,
    /// True if the COW value was read afresh for this message.
    pub fresh: bool,
    /// Child time since the parent's fork call, µs.
    pub t_us: u64,
    /// Private_Dirty in bytes (raw, baseline included).
    pub private_dirty: u64,
    /// The child's peak reading so far.
    pub peak: u64,
    /// The child's average reading so far.
    pub average: u64,
    /// Keys processed (or the errno for [`MessageKind::Error`]).
    pub keys: u64,
    /// Cost of the last fresh reading, µs.
    pub read_cost_us: u64,
}

/// Size of an encoded [`Message`].
pub const MESSAGE_LEN: usize = 64;

impl Message {
    /// Encodes into the fixed wire form.
    pub fn encode(&self) -> [u8; MESSAGE_LEN] {
        let mut b = [0u8; MESSAGE_LEN];
        b[0..4].copy_from_slice(&(self.kind as u32).to_le_bytes());
        b[4..8].copy_from_slice(&(self.fresh as u32).to_le_bytes());
        let words = [
            self.t_us,
            self.private_dirty,
            self.peak,
            self.average,
            self.keys,
            self.read_cost_us,
        ];
        for (i, w) in words.iter().enumerate() {
            b[8 + 8 * i..16 + 8 * i].copy_from_slice(&w.to_le_bytes());
        }
        b
    }

    /// Decodes the wire form; `None` for an unknown kind.
    pub fn decode(b: &[u8; MESSAGE_LEN]) -> Option<Message> {
        let w =
            |i: usize| u64::from_le_bytes(b[8 + 8 * i..16 + 8 * i].try_into().unwrap_or([0; 8]));
        Some(Message {
            kind: MessageKind::from_u32(u32::from_le_bytes(b[0..4].try_into().ok()?))?,
            fresh: u32::from_le_bytes(b[4..8].try_into().ok()?) != 0,
            t_us: w(0),
            private_dirty: w(1),
            peak: w(2),
            average: w(3),
            keys: w(4),
            read_cost_us: w(5),
        })
    }
}

/// One COW observation as the parent records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CowSample {
    /// Time since the fork call, µs (child clock = parent clock: both are `CLOCK_MONOTONIC`).
    pub t_us: u64,
    /// Raw Private_Dirty of the child, bytes.
    pub private_dirty_bytes: u64,
    /// Private_Dirty minus the child's baseline: the memory copied because of the parent's
    /// writes.
    pub cow_bytes: u64,
    /// True if read afresh (false: the child re-sent its last value under the duty cycle).
    pub fresh: bool,
    /// True for the final report.
    pub is_final: bool,
    /// Keys the child had serialized.
    pub keys_processed: u64,
    /// Cost of the child's last fresh reading, µs.
    pub read_cost_us: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smaps_lines_parse() {
        assert_eq!(
            parse_kb_line(b"Private_Dirty:       116 kB", b"Private_Dirty"),
            116 * 1024
        );
        assert_eq!(parse_kb_line(b"Private_Dirty_X: 1 kB", b"Private_Dirty"), 0);
        assert_eq!(parse_kb_line(b"Shared_Dirty: 5 kB", b"Private_Dirty"), 0);
        assert_eq!(parse_kb_line(b"Private_Dirty:", b"Private_Dirty"), 0);
    }

    #[test]
    fn smaps_file_sums_every_matching_line() {
        let dir = std::env::temp_dir().join(format!("evictlab-cow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("smaps");
        // Three mappings, one with a header longer than the line buffer.
        let long = "x".repeat(400);
        let text = format!(
            "00400000-00452000 r-xp 00000000 08:02 173521 /usr/bin/{long}\nPrivate_Dirty:   4 kB\nRss: 9 kB\n7f00-7f01 rw-p 0 0 0\nPrivate_Dirty: 8 kB\nPrivate_Dirty: 1 kB"
        );
        std::fs::write(&p, text).unwrap();
        assert_eq!(
            sum_smaps_field(p.to_str().unwrap(), b"Private_Dirty").unwrap(),
            13 * 1024
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn own_private_dirty_and_rss_are_plausible() {
        let pd = read_private_dirty().unwrap();
        let rss = read_rss().unwrap();
        assert!(
            pd > 0 && rss > 0 && pd <= rss + (1 << 20),
            "pd {pd} rss {rss}"
        );
    }

    #[test]
    fn duty_cycle_throttles_periodic_reads() {
        let mut s = DutyCycleSampler::new(100);
        let mut reads = 0;
        // A read that takes ~2 ms: the next periodic read is due only ~200 ms later.
        let mut slow = || {
            reads += 1;
            std::thread::sleep(Duration::from_millis(2));
            Ok(reads * 4096)
        };
        let r1 = s.sample(false, &mut slow);
        assert!(r1.fresh);
        let r2 = s.sample(false, &mut slow);
        assert!(
            !r2.fresh,
            "a second reading right away must be served from cache"
        );
        assert_eq!(r2.bytes, r1.bytes);
        let r3 = s.sample(true, &mut slow);
        assert!(r3.fresh, "final readings are never throttled");
        assert_eq!(reads, 2);
        assert_eq!(s.stats.count, 2);
        assert_eq!(s.stats.peak, 8192);
        assert_eq!(s.stats.average(), 6144);
    }

    #[test]
    fn log_line_is_redis_text() {
        let mut s = CowStats::default();
        s.record(99 << 20);
        s.record(99 << 20);
        s.record(96 << 20);
        assert_eq!(
            s.log_line("RDB"),
            "Fork CoW for RDB: current 96 MB, peak 99 MB, average 98 MB"
        );
    }

    #[test]
    fn messages_round_trip() {
        let m = Message {
            kind: MessageKind::Current,
            fresh: true,
            t_us: 1,
            private_dirty: 2,
            peak: 3,
            average: 4,
            keys: 5,
            read_cost_us: 6,
        };
        assert_eq!(Message::decode(&m.encode()), Some(m));
        let mut bad = m.encode();
        bad[0] = 99;
        assert_eq!(Message::decode(&bad), None);
    }
}
