//! The "real server" report section: `server.csv` and the BGSAVE rows of `cow.csv`.

use evictlab_reports::{Align, Report, Table, format};

use crate::RunError;
use crate::server::ServerRow;

fn rerr(e: evictlab_reports::ReportError) -> RunError {
    RunError::Report {
        message: e.to_string(),
    }
}

/// The "real server" report section from `server.csv` (and a BGSAVE table from cow.csv rows
/// with `snapshot = redis-bgsave`).
pub fn add_section(
    report: &mut Report,
    rows: &[ServerRow],
    bgsave: &[crate::cow::CowRow],
) -> Result<(), RunError> {
    if !rows.is_empty() {
        report.heading(2, "Real server replay");
        let v = &rows[0].server_version;
        report.paragraph(format!(
            "Server: {v}. Hits and misses are the replay script's answers; \
             `keyspace_hits`/`keyspace_misses` are the server's own counters for the same run."
        ));
        let mut t = Table::new([
            ("policy", Align::Left),
            ("size", Align::Right),
            ("maxmemory", Align::Right),
            ("hit ratio", Align::Right),
            ("keyspace hits/misses", Align::Right),
            ("evicted", Align::Right),
            ("OOM", Align::Right),
            ("keys", Align::Right),
            ("B/key", Align::Right),
            ("frag", Align::Right),
            ("req/s", Align::Right),
        ]);
        for r in rows {
            t.push_row([
                match r.samples {
                    Some(s) => format!("{} (samples {s})", r.policy),
                    None => r.policy.clone(),
                },
                format::trimmed(r.capacity_fraction, 4),
                format::bytes_u64(r.maxmemory),
                format::percent(r.hit_ratio, 2),
                format!("{}/{}", r.keyspace_hits, r.keyspace_misses),
                r.evicted_keys.to_string(),
                r.oom_rejections.to_string(),
                r.keys.to_string(),
                format::trimmed(r.memory_per_key, 1),
                format::trimmed(r.mem_fragmentation_ratio, 2),
                format::si(r.requests_per_sec, 1),
            ])
            .map_err(rerr)?;
        }
        report.table(&t);
    }
    if !bgsave.is_empty() {
        report.heading(3, "BGSAVE on the server under writes (from INFO)");
        let mut t = Table::new([
            ("dataset", Align::Right),
            ("write rate", Align::Right),
            ("writes during save", Align::Right),
            ("save", Align::Right),
            ("fork", Align::Right),
            ("COW peak", Align::Right),
            ("status", Align::Left),
        ]);
        for r in bgsave {
            t.push_row([
                format::bytes_u64(r.dataset_bytes),
                if r.write_rate == 0 {
                    "unpaced".to_string()
                } else {
                    format!("{}/s", r.write_rate)
                },
                r.writes_during_save.to_string(),
                format!("{:.0} ms", r.save_ms),
                format!("{} µs", r.fork_usec),
                format::bytes_u64(r.cow_peak_bytes),
                r.status.clone(),
            ])
            .map_err(rerr)?;
        }
        report.table(&t);
    }
    Ok(())
}
