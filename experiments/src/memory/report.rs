//! The `experiment memory` report section: the two models side by side, bytes per key by
//! type and encoding (table and bar chart).

use std::path::Path;

use evictlab_reports::{Align, Axis, BarChart, Chart, Report, Table, format};

use super::{MemoryRow, TypeRow};
use crate::RunError;
use crate::dump::RdbLoadRow;

fn rerr(e: impl std::fmt::Display) -> RunError {
    RunError::Report {
        message: e.to_string(),
    }
}

/// Adds the section (and its plot under `plots`).
pub fn add_section(
    report: &mut Report,
    rows: &[MemoryRow],
    types: &[TypeRow],
    dump: Option<&RdbLoadRow>,
    plots: &Path,
) -> Result<(), RunError> {
    report.heading(2, "Memory: how much RAM the data takes in Redis");
    if let Some(d) = dump {
        let redis = rows.iter().find(|r| r.model == "redis");
        let written = match (d.dump_used_mem, redis) {
            (0, _) | (_, None) => String::new(),
            (m, Some(r)) => format!(
                " The writing server reported `used_memory` {} at the save (its `used-mem` \
                 aux field); the redis model gives {} ({:+.2} %).",
                format::bytes_u64(m),
                format::bytes_u64(r.used_memory),
                (r.used_memory as f64 / m as f64 - 1.0) * 100.0
            ),
        };
        report.paragraph(format!(
            "Dataset: the dump `{}` (RDB {}, Redis {}, checksum {}): {} keys loaded ({} with a \
             TTL); skipped: {} expired at the save, {} in other dbs, {} empty, {} function \
             libraries. Dump encodings: {}.{written}",
            d.file,
            d.rdb_version,
            if d.redis_ver.is_empty() {
                "?"
            } else {
                &d.redis_ver
            },
            d.checksum,
            format::count(d.keys_loaded),
            format::count(d.expires_loaded),
            d.expired_skipped,
            d.other_db_skipped,
            d.empty_skipped,
            d.functions_skipped,
            d.dump_types
        ));
    }
    let mut t = Table::new([
        ("model", Align::Left),
        ("keys", Align::Right),
        ("expires", Align::Right),
        ("used_memory", Align::Right),
        ("startup", Align::Right),
        ("dataset", Align::Right),
        ("bytes/key", Align::Right),
    ]);
    for r in rows {
        t.push_row([
            r.model.clone(),
            format::count(r.keys),
            format::count(r.expires),
            format::bytes_u64(r.used_memory),
            format::bytes_u64(r.used_memory_startup),
            format::bytes_u64(r.used_memory_dataset),
            format::fixed(r.bytes_per_key, 1),
        ])
        .map_err(rerr)?;
    }
    report.table(&t);
    let logical = rows.iter().find(|r| r.model == "logical");
    let redis = rows.iter().find(|r| r.model == "redis");
    if let (Some(l), Some(r)) = (logical, redis)
        && l.bytes_per_key > 0.0
    {
        report.paragraph(format!(
            "Redis 7.0 would hold these {} keys in {} of `used_memory` ({} above its empty \
             start): {:.2}× the {} of key and value bytes the logical model counts, {:.1} bytes \
             per key more. A `maxmemory` stated for a real Redis holds about {:.0} % of the keys \
             the logical model would fit in it.",
            format::count(r.keys),
            format::bytes_u64(r.used_memory),
            format::bytes_u64(r.used_memory - r.used_memory_startup),
            r.bytes_per_key / l.bytes_per_key,
            format::bytes_u64(l.used_memory),
            r.bytes_per_key - l.bytes_per_key,
            100.0 * l.bytes_per_key / r.bytes_per_key,
        ));
    }
    if types.is_empty() {
        return Ok(());
    }
    let mut t = Table::new([
        ("type", Align::Left),
        ("encoding", Align::Left),
        ("keys", Align::Right),
        ("bytes", Align::Right),
        ("bytes/key", Align::Right),
    ]);
    for r in types {
        t.push_row([
            r.value_type.clone(),
            r.encoding.clone(),
            format::count(r.keys),
            format::bytes_u64(r.bytes),
            format::fixed(r.bytes_per_key, 1),
        ])
        .map_err(rerr)?;
    }
    report.paragraph(
        "By type and encoding under the redis model (each key's dictEntries, key sds and \
         value; the dicts' bucket arrays are counted in `used_memory` only):",
    );
    report.table(&t);
    let bars = BarChart::from_rows(
        "Bytes per key by type and encoding (redis model)".to_string(),
        "type / encoding",
        Axis::bytes("bytes per key"),
        types.iter().map(|r| {
            (
                format!("{}/{}", r.value_type, r.encoding),
                "redis".to_string(),
                r.bytes_per_key,
            )
        }),
    );
    let rendered = bars.render(plots, "memory_bytes_per_key").map_err(rerr)?;
    report.chart(&rendered, "");
    Ok(())
}
