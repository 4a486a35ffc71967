//! The hit-rate section of a report, computed from `hitrate.csv` rows alone (so
//! `experiment report DIR` can re-render it): miss ratio against cache size per policy with
//! Belady's optimum as the bound, hit ratio by policy at each size, and sentences stating
//! which policy wins at each size, by how much, and how far Redis's sampled LRU is from
//! exact LRU and from the optimum.

use std::collections::BTreeMap;
use std::path::Path;

use evictlab_reports::{Align, Axis, BarChart, Chart, LineChart, Report, Series, Table, format};

use crate::RunError;
use crate::hitrate::HitRow;

fn rerr(e: evictlab_reports::ReportError) -> RunError {
    RunError::Report {
        message: e.to_string(),
    }
}

/// The label of a (policy, samples) series.
pub fn series_name(r: &HitRow) -> String {
    match r.samples {
        Some(s) => format!("{} (samples {s})", r.policy),
        None => r.policy.clone(),
    }
}

/// Adds the hit-rate section for every workload in `rows`, rendering plots into `plots`.
pub fn add_section(report: &mut Report, rows: &[HitRow], plots: &Path) -> Result<(), RunError> {
    if rows.is_empty() {
        return Ok(());
    }
    report.heading(2, "Which keys survive: hit ratio by policy");
    report.paragraph(
        "Each cell replays the workload through the engine (GET, and on a miss SET of the \
         object's size); the cache size is a fraction of the working set (distinct objects, \
         or their bytes when the workload has sizes). `belady` is the offline optimum \
         (evicts the object needed farthest in the future) and bounds every policy.",
    );
    crate::hitrate::server::add_server_note(report, rows);
    let mut by_workload: BTreeMap<&str, Vec<&HitRow>> = BTreeMap::new();
    for r in rows {
        by_workload.entry(&r.workload).or_default().push(r);
    }
    for (i, (workload, rows)) in by_workload.iter().enumerate() {
        workload_section(report, workload, rows, plots, i)?;
    }
    Ok(())
}

fn workload_section(
    report: &mut Report,
    workload: &str,
    rows: &[&HitRow],
    plots: &Path,
    index: usize,
) -> Result<(), RunError> {
    report.heading(3, format!("Workload `{workload}`"));
    let unit = &rows[0].capacity_unit;
    // Seeds are averaged (rows of the same series and size).
    let mut table: BTreeMap<(String, u64), Vec<f64>> = BTreeMap::new();
    let mut fractions: BTreeMap<u64, f64> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for r in rows {
        let name = series_name(r);
        if !order.contains(&name) {
            order.push(name.clone());
        }
        table
            .entry((name, r.capacity))
            .or_default()
            .push(r.hit_ratio);
        fractions.insert(r.capacity, r.capacity_fraction);
    }
    let mean = |v: &Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
    let hit = |name: &str, cap: u64| table.get(&(name.to_string(), cap)).map(mean);

    // Miss ratio vs size.
    let x_is_log = fractions.len() > 2;
    let mut x = Axis::new(format!("cache size (fraction of working set, {unit})"));
    if x_is_log {
        x = x.log();
    }
    let mut chart = LineChart::new(
        format!("Miss ratio vs cache size — {workload}"),
        x,
        Axis::percent("miss ratio"),
    );
    for name in &order {
        let pts: Vec<(f64, f64)> = fractions
            .iter()
            .filter_map(|(&cap, &f)| hit(name, cap).map(|h| (f, 1.0 - h)))
            .collect();
        let s = if name.starts_with("belady") && name == "belady" {
            Series::dashed(format!("{name} (OPT)"), pts)
        } else {
            Series::line_markers(name.clone(), pts)
        };
        chart = chart.with_series(s);
    }
    let stem = format!("hitrate_{index}_miss_ratio");
    let rendered = chart.render(plots, &stem).map_err(rerr)?;
    report.chart(&rendered, "");

    // Hit ratio by policy at each size.
    let bar_rows = fractions.iter().flat_map(|(&cap, &f)| {
        order
            .iter()
            .filter_map(move |name| {
                hit(name, cap).map(|h| (format::trimmed(f, 4), name.clone(), h))
            })
            .collect::<Vec<_>>()
    });
    let bars = BarChart::from_rows(
        format!("Hit ratio by policy — {workload}"),
        "cache size (fraction of working set)",
        Axis::percent("hit ratio"),
        bar_rows,
    )
    .with_value_labels(false);
    let rendered = bars
        .render(plots, &format!("hitrate_{index}_by_policy"))
        .map_err(rerr)?;
    report.chart(&rendered, "");

    // Table: policies × sizes.
    let mut cols = vec![("policy".to_string(), Align::Left)];
    for (&cap, &f) in &fractions {
        cols.push((
            format!("{} ({cap} {unit})", format::trimmed(f, 4)),
            Align::Right,
        ));
    }
    let mut t = Table::new(cols);
    for name in &order {
        let mut cells = vec![name.clone()];
        for &cap in fractions.keys() {
            cells.push(hit(name, cap).map_or("–".into(), |h| format::percent(h, 2)));
        }
        t.push_row(cells).map_err(rerr)?;
    }
    report.paragraph("Hit ratio (GET hits / GETs):");
    report.table(&t);

    // Sentences computed from the data. Rankings use one series per policy: the Redis
    // default of 5 samples for sampled policies (or their first sample count).
    let canonical: Vec<&String> = {
        let mut seen: Vec<&str> = Vec::new();
        let mut out = Vec::new();
        for r in rows {
            if seen.contains(&r.policy.as_str()) {
                continue;
            }
            let pick = rows
                .iter()
                .filter(|x| x.policy == r.policy)
                .find(|x| x.samples == Some(5))
                .unwrap_or(r);
            seen.push(&r.policy);
            out.push(
                order
                    .iter()
                    .find(|n| **n == series_name(pick))
                    .expect("series exists"),
            );
        }
        out
    };
    let mut sentences = Vec::new();
    for (&cap, &f) in &fractions {
        let mut ranked: Vec<(&String, f64)> = canonical
            .iter()
            .filter(|n| !n.starts_with("belady"))
            .filter_map(|n| hit(n, cap).map(|h| (*n, h)))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        if let [(best, hb), (second, hs), ..] = ranked.as_slice() {
            let mut s = format!(
                "At {} of the working set, **{best}** has the highest hit ratio ({}), {} ahead of {second} ({})",
                format::percent(f, 2),
                format::percent(*hb, 2),
                format::points(hb - hs, 2),
                format::percent(*hs, 2)
            );
            if let Some(opt) = hit("belady", cap) {
                s.push_str(&format!(
                    "; Belady's optimum reaches {}, {} above it",
                    format::percent(opt, 2),
                    format::points(opt - hb, 2)
                ));
            }
            s.push('.');
            sentences.push(s);
        }
        let sampled = order
            .iter()
            .find(|n| n.as_str() == "allkeys-lru (samples 5)")
            .cloned();
        if let (Some(sampled), Some(exact)) = (sampled, hit("lru", cap))
            && let Some(h) = hit(&sampled, cap)
        {
            let mut s = format!(
                "Redis's sampled LRU (`allkeys-lru`, 5 samples) is {} from exact LRU ({} vs {})",
                format::points(h - exact, 2),
                format::percent(h, 2),
                format::percent(exact, 2)
            );
            if let Some(opt) = hit("belady", cap) {
                s.push_str(&format!(" and {} from Belady", format::points(h - opt, 2)));
            }
            s.push_str(&format!(" at {}.", format::percent(f, 2)));
            sentences.push(s);
        }
        // What more samples buy, for each sampled policy with several sample counts.
        let mut by_policy: BTreeMap<&str, Vec<(u32, f64)>> = BTreeMap::new();
        for r in rows.iter().filter(|r| r.capacity == cap) {
            if let Some(sm) = r.samples
                && let Some(h) = hit(&series_name(r), cap)
            {
                let v = by_policy.entry(&r.policy).or_default();
                if !v.iter().any(|(x, _)| *x == sm) {
                    v.push((sm, h));
                }
            }
        }
        for (p, mut v) in by_policy {
            if v.len() < 2 || p.starts_with("volatile") {
                continue;
            }
            v.sort_by_key(|x| x.0);
            let (lo, hi) = (v[0], v[v.len() - 1]);
            sentences.push(format!(
                "`{p}` at {}: {} samples → {}, {} samples → {} ({}).",
                format::percent(f, 2),
                lo.0,
                format::percent(lo.1, 2),
                hi.0,
                format::percent(hi.1, 2),
                format::points(hi.1 - lo.1, 2)
            ));
        }
    }
    // Volatile policies with nothing to evict behave as noeviction.
    let stuck: Vec<&str> = {
        let mut v: Vec<&str> = rows
            .iter()
            .filter(|r| {
                r.policy.starts_with("volatile") && r.evicted_keys == 0 && r.oom_rejections > 0
            })
            .map(|r| r.policy.as_str())
            .collect();
        v.dedup();
        v
    };
    if !stuck.is_empty() {
        sentences.push(format!(
            "{} evicted nothing and refused writes with OOM: no key of this workload has a TTL, so \
             volatile-* policies behave as noeviction, as in Redis.",
            stuck
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // The LRU clock's resolution against how fast the cache turns over.
    if let Some(r) = rows
        .iter()
        .filter(|r| {
            r.policy == "allkeys-lru"
                && r.evicted_keys > 0
                && r.virtual_ms > 0
                && r.capacity_unit == "keys"
        })
        .min_by_key(|r| r.capacity)
    {
        let per_sec = r.evicted_keys as f64 / (r.virtual_ms as f64 / 1000.0);
        let turnover = r.capacity as f64 / per_sec;
        if turnover < 10.0 {
            sentences.push(format!(
                "At the smallest size the cache turns over every {} of virtual time ({} evictions/s over {} of replay); \
                 Redis's LRU clock counts seconds, so keys touched within the same second tie and sampled LRU \
                 approaches random eviction. Replaying more slowly (`--rate`) changes Redis's choices.",
                format::seconds(turnover, 2),
                format::si(per_sec, 1),
                format::seconds(r.virtual_ms as f64 / 1000.0, 1)
            ));
        }
    }
    report.bullets(sentences);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(policy: &str, samples: Option<u32>, cap: u64, hit_ratio: f64) -> HitRow {
        HitRow {
            cell: 0,
            workload: "w".into(),
            policy: policy.into(),
            samples,
            capacity: cap,
            capacity_unit: "keys".into(),
            capacity_fraction: cap as f64 / 100.0,
            seed: 1,
            requests: 100,
            gets: 100,
            hits: (hit_ratio * 100.0) as u64,
            misses: 100 - (hit_ratio * 100.0) as u64,
            hit_ratio,
            byte_hit_ratio: hit_ratio,
            evicted_keys: 0,
            expired_keys: 0,
            oom_rejections: 0,
            admission_bypasses: 0,
            virtual_ms: 0,
            config: String::new(),
            requests_per_sec: 0.0,
        }
    }

    #[test]
    fn sentences_name_the_winner_and_the_gaps() {
        let rows = vec![
            row("allkeys-lru", Some(5), 10, 0.40),
            row("lru", None, 10, 0.42),
            row("sieve", None, 10, 0.45),
            row("belady", None, 10, 0.60),
        ];
        let dir = tempfile::tempdir().unwrap();
        let mut r = Report::new("t");
        add_section(&mut r, &rows, dir.path()).unwrap();
        let md = r.to_markdown(dir.path());
        assert!(
            md.contains(
                "**sieve** has the highest hit ratio (45.00%), +3.00 pp ahead of lru (42.00%)"
            ),
            "{md}"
        );
        assert!(
            md.contains("Belady's optimum reaches 60.00%, +15.00 pp above it"),
            "{md}"
        );
        assert!(md.contains("is -2.00 pp from exact LRU"), "{md}");
        assert!(dir.path().join("hitrate_0_miss_ratio.png").exists());
    }
}
