//! Step 4 of `experiment tune`: the hit ratio of every policy around the budget, and the
//! policy figures of the recommendation.

use super::*;
use crate::grid::Grid;
use crate::hitrate::{HitOptions, HitRow, SizeUnit, run_cells};
use crate::source::load;
use crate::ui::Ui;
use crate::{RunError, output};

/// The (policy, samples) with the highest mean hit ratio at the budget size among the rows
/// `keep` accepts; ties go to fewer samples (cheaper eviction).
pub fn best_at_budget<'a>(
    rows: &'a [PolicyRow],
    keep: &dyn Fn(&PolicyRow) -> bool,
) -> Option<&'a PolicyRow> {
    let size = decision_size(rows);
    rows.iter()
        .filter(|r| r.size == size && keep(r))
        .max_by(|a, b| {
            a.hit_ratio
                .total_cmp(&b.hit_ratio)
                .then(b.samples.cmp(&a.samples))
                .then(b.policy.cmp(&a.policy))
        })
}

/// The size the policy is chosen at: the budget, or (when the budget holds the whole working
/// set and every policy ties) a quarter of it, the size where the choice starts to matter.
pub fn decision_size(rows: &[PolicyRow]) -> &'static str {
    if rows.iter().any(|r| r.size == "quarter") {
        "quarter"
    } else {
        "budget"
    }
}

/// Policies a recommendation may name: Redis's evicting `allkeys-*` policies (`volatile-*`
/// evict only keys with a TTL and `noeviction` refuses writes; both are workload choices,
/// not tuning).
pub fn recommendable(r: &PolicyRow) -> bool {
    r.family == "redis" && r.policy.starts_with("allkeys-")
}

/// The policy figures at the budget size: the best Redis `maxmemory-policy` (and samples),
/// the best policy of any family, Belady, and allkeys-lru with 5 samples as the baseline.
pub(super) fn policy_recs(rows: &[PolicyRow], recs: &mut Vec<RecRow>) {
    let size = decision_size(rows);
    let at: Vec<&PolicyRow> = rows.iter().filter(|r| r.size == size).collect();
    let best = |f: &dyn Fn(&PolicyRow) -> bool| best_at_budget(rows, f);
    let mut push = |name: &str, value: f64, unit: &str, d: String| {
        recs.push(RecRow {
            name: name.into(),
            value,
            unit: unit.into(),
            derivation: d,
        })
    };
    let redis = best(&recommendable);
    let any = best(&|r| r.family != "oracle");
    let baseline = at
        .iter()
        .find(|r| r.policy == "allkeys-lru" && r.samples == 5);
    let belady = at.iter().find(|r| r.policy == "belady");
    if let Some(b) = redis {
        push(
            "best_redis_hit_ratio",
            b.hit_ratio,
            "ratio",
            format!(
                "tune_policy.csv size={size} policy={} samples={}",
                b.policy, b.samples
            ),
        );
        push(
            "best_redis_spread_pp",
            (b.hit_ratio_max - b.hit_ratio_min) * 100.0,
            "pp",
            format!("max - min hit ratio over {} seeds", b.seeds),
        );
        push(
            "best_redis_gap_to_belady_pp",
            b.gap_to_belady_pp,
            "pp",
            "tune_policy.csv gap_to_belady_pp".into(),
        );
        if let Some(base) = baseline {
            push(
                "gain_over_allkeys_lru5_pp",
                (b.hit_ratio - base.hit_ratio) * 100.0,
                "pp",
                "best Redis policy - allkeys-lru samples 5, hit ratio at the budget".into(),
            );
            push(
                "allkeys_lru5_hit_ratio",
                base.hit_ratio,
                "ratio",
                "tune_policy.csv size=budget policy=allkeys-lru samples=5".into(),
            );
        }
        if let Some(a) = any {
            push(
                "best_any_hit_ratio",
                a.hit_ratio,
                "ratio",
                format!(
                    "tune_policy.csv size={size} policy={} samples={}",
                    a.policy, a.samples
                ),
            );
            push(
                "best_any_gain_over_redis_pp",
                (a.hit_ratio - b.hit_ratio) * 100.0,
                "pp",
                "best policy of any family - best Redis policy".into(),
            );
        }
        // Samples: the same policy at 5 samples (Redis's default).
        if let Some(five) = at.iter().find(|r| r.policy == b.policy && r.samples == 5) {
            push(
                "best_vs_5_samples_pp",
                (b.hit_ratio - five.hit_ratio) * 100.0,
                "pp",
                "best samples - samples 5, same policy".into(),
            );
        }
    }
    if let Some(o) = belady {
        push(
            "belady_hit_ratio",
            o.hit_ratio,
            "ratio",
            "tune_policy.csv size=budget policy=belady".into(),
        );
    }
}

/// Step 4: every registry policy at half, exactly and double the budget (a quarter, a half
/// and all of the working set when the budget holds it), `hitrate.csv` and
/// `tune_policy.csv`.
pub(super) fn policy_step(p: &TuneParams, f0: f64, ui: &Ui) -> Result<Vec<PolicyRow>, RunError> {
    let (sizes, labels): (Vec<f64>, Vec<&str>) = if f0 >= 1.0 {
        (vec![0.25, 0.5, 1.0], vec!["quarter", "half", "budget"])
    } else {
        let lo = (f0 / 2.0).max(1e-6);
        let hi = (f0 * 2.0).min(1.0);
        (vec![lo, f0.max(1e-6), hi], vec!["half", "budget", "double"])
    };
    let policies: Vec<&'static _> = evictlab_engine::Server::Redis.policies().collect();
    let seeds: Vec<u64> = (0..p.seeds.max(1) as u64).map(|i| p.seed + i).collect();
    let mut cells = Vec::new();
    let grid = Grid {
        policies,
        samples: vec![1, 3, 5, 10],
        sizes: sizes.clone(),
        size_unit: SizeUnit::Fraction,
        fill_on_miss: true,
    };
    for c in grid.cells(1, &seeds) {
        // Deterministic policies do not use the engine seed: one seed is enough.
        if c.policy.sampled || c.seed == p.seed {
            cells.push(c);
        }
    }
    let spin = ui.spinner("loading workload");
    let mut w = load(&p.workload)?;
    w.ensure_next_access();
    spin.finish_and_clear();
    let bar = ui.bar(cells.len() as u64, "cells");
    bar.set_message("hit ratio by policy");
    let ws = [w];
    let hit: Vec<HitRow> = run_cells(&ws, &cells, &HitOptions::default(), &|| bar.inc(1))?;
    bar.finish_and_clear();
    output::write_csv(&p.out.join("hitrate.csv"), &hit)?;
    let mut prows = Vec::new();
    for (si, &size) in sizes.iter().enumerate() {
        let at: Vec<&HitRow> = hit
            .iter()
            .zip(&cells)
            .filter(|(_, c)| c.size == size)
            .map(|(h, _)| h)
            .collect();
        let belady = at
            .iter()
            .filter(|h| h.policy == "belady")
            .map(|h| h.hit_ratio)
            .fold(f64::NAN, f64::max);
        let mut keys: Vec<(String, Option<u32>)> = Vec::new();
        for h in &at {
            let k = (h.policy.clone(), h.samples);
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        for (policy, samples) in keys {
            let v: Vec<&&HitRow> = at
                .iter()
                .filter(|h| h.policy == policy && h.samples == samples)
                .collect();
            let hr: Vec<f64> = v.iter().map(|h| h.hit_ratio).collect();
            let mean = hr.iter().sum::<f64>() / hr.len() as f64;
            let family = evictlab_engine::policy::registry::find(&policy)
                .map(|i| i.family.name().to_ascii_lowercase())
                .unwrap_or_default();
            prows.push(PolicyRow {
                policy: policy.clone(),
                family,
                samples: samples.unwrap_or(0),
                size: labels[si].into(),
                fraction: v[0].capacity_fraction,
                capacity: v[0].capacity,
                seeds: hr.len() as u64,
                hit_ratio: mean,
                hit_ratio_min: hr.iter().copied().fold(f64::INFINITY, f64::min),
                hit_ratio_max: hr.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                gap_to_belady_pp: (belady - mean) * 100.0,
            });
        }
    }
    output::write_csv(&p.out.join("tune_policy.csv"), &prows)?;
    Ok(prows)
}
