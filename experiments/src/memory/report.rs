//! The `experiment memory` report section: the two models side by side, bytes per key by
//! type and encoding (table and bar chart).

use std::path::Path;

use evictlab_reports::{Align, Axis, BarChart, Chart, Report, Table, format};

use super::{MemoryRow, TypeRow};
use crate::RunError;

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
    plots: &Path,
) -> Result<(), RunError> {
    report.heading(2, "Memory: how much RAM the data takes in Redis");
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
