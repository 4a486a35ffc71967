//! `tuning-report.md` for `experiment tune`: recommendations with the measured number behind
//! each, the fits used to extrapolate, and plots. Every number that comes from a
//! measurement is rendered as `VALUE [cN]` and `tune_citations.csv` names, for `cN`, the CSV
//! file, the column and the row key it was read from, so a test (or a reader) can check
//! each one against the run's own CSVs.

use evictlab_reports::{
    Align, Axis, BarChart, Chart, ModelFit, Report, ScatterWithModel, Table, format,
};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::tune::{FitRow, PolicyRow, TuneOutcome, best_at_budget};
use crate::{RunError, output};

/// One row of `tune_citations.csv`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Citation {
    /// `c1`, `c2`, … as written in the report after the number.
    pub id: String,
    /// What the number says.
    pub claim: String,
    /// The raw value (as the CSV cell parses).
    pub value: String,
    /// The text in the report (rounded, with units).
    pub display: String,
    /// The CSV file in the results directory.
    pub file: String,
    /// Its column.
    pub column: String,
    /// `column=value;column=value` selecting exactly one row.
    pub row_key: String,
}

#[derive(Default)]
struct Cites {
    rows: Vec<Citation>,
}

impl Cites {
    fn cite(
        &mut self,
        claim: &str,
        file: &str,
        column: &str,
        key: &[(&str, String)],
        value: f64,
        display: String,
    ) -> String {
        let id = format!("c{}", self.rows.len() + 1);
        self.rows.push(Citation {
            id: id.clone(),
            claim: claim.into(),
            value: format!("{value}"),
            display: display.clone(),
            file: file.into(),
            column: column.into(),
            row_key: key
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(";"),
        });
        format!("{display} [{id}]")
    }

    /// A figure of `tune_recommendation.csv`.
    fn rec(&mut self, o: &TuneOutcome, name: &str, show: fn(f64) -> String) -> String {
        match o.rec(name) {
            Some(v) => self.cite(
                name,
                "tune_recommendation.csv",
                "value",
                &[("name", name.to_string())],
                v,
                show(v),
            ),
            None => "n/a".into(),
        }
    }

    /// A cell of `tune_policy.csv`.
    fn policy(&mut self, r: &PolicyRow, column: &str, v: f64, show: String) -> String {
        self.cite(
            &format!(
                "{column} of {} samples {} at {}",
                r.policy, r.samples, r.size
            ),
            "tune_policy.csv",
            column,
            &[
                ("policy", r.policy.clone()),
                ("samples", r.samples.to_string()),
                ("size", r.size.clone()),
            ],
            v,
            show,
        )
    }
}

fn b(v: f64) -> String {
    format::bytes(v)
}
fn pct(v: f64) -> String {
    format::percent(v, 2)
}
fn pp(v: f64) -> String {
    format!("{} pp", format::fixed(v, 2))
}
fn ratio(v: f64) -> String {
    format::fixed(v, 3)
}
fn usec(v: f64) -> String {
    format::seconds(v / 1e6, 2)
}
fn secs(v: f64) -> String {
    format::seconds(v, 2)
}
fn int(v: f64) -> String {
    format::count(v.round().max(0.0) as u64)
}
fn plain(v: f64) -> String {
    format::trimmed(v, 0)
}

fn rerr(e: evictlab_reports::ReportError) -> RunError {
    RunError::Report {
        message: e.to_string(),
    }
}

fn samples_text(r: &PolicyRow) -> String {
    if r.samples > 0 {
        format!("`maxmemory-samples {}`", r.samples)
    } else {
        "(no sampling)".into()
    }
}

fn fit_chart(o: &TuneOutcome, quantity: &str, title: &str, y: Axis) -> Option<ScatterWithModel> {
    let mut chart = ScatterWithModel::new(title, Axis::bytes("RSS at the fork"), y)
        .with_subtitle("markers: measured; dashed: least-squares line extended to the target");
    let mut any = false;
    let mut groups: Vec<(String, String)> = Vec::new();
    for f in o.fits.iter().filter(|f| f.quantity == quantity) {
        let k = (f.snapshot.clone(), f.thp.clone());
        if !groups.contains(&k) {
            groups.push(k);
        }
    }
    for (snap, thp) in groups {
        let rows: Vec<&FitRow> = o
            .fits
            .iter()
            .filter(|f| f.quantity == quantity && f.snapshot == snap && f.thp == thp)
            .collect();
        let measured: Vec<(f64, f64)> = rows
            .iter()
            .filter(|f| f.kind == "point")
            .map(|f| (f.x_bytes, f.y))
            .collect();
        let Some(fit) = rows.iter().find(|f| f.kind == "fit") else {
            continue;
        };
        let target = rows
            .iter()
            .find(|f| f.kind == "extrapolation")
            .map_or(0.0, |f| f.x_bytes);
        let xmax = measured.iter().map(|p| p.0).fold(target, f64::max);
        let line: Vec<(f64, f64)> = (0..=20)
            .map(|i| {
                let x = xmax * i as f64 / 20.0;
                (x, fit.intercept + fit.slope * x)
            })
            .collect();
        chart = chart.with_fit(
            ModelFit::new(format!("{snap} THP {thp}"), measured, line).with_model_name(format!(
                "{snap} THP {thp}: fit (R² {})",
                format::fixed(fit.r2, 3)
            )),
        );
        any = true;
    }
    any.then_some(chart)
}

/// Writes `tuning-report.md`, its plots and `tune_citations.csv` into the run directory.
pub fn write(o: &TuneOutcome) -> Result<std::path::PathBuf, RunError> {
    let dir = &o.dir;
    let plots = dir.join("plots");
    let mut c = Cites::default();
    let mut r = Report::new("Tuning report");
    r.paragraph(format!(
        "Workload `{}`. Every measured number below is followed by `[cN]`; \
         `tune_citations.csv` names the CSV, column and row it comes from. Derived figures \
         (maxmemory, headroom, gaps) are in `tune_recommendation.csv` with their formula.",
        o.workload
    ));
    let mut t = Table::new([("input", Align::Left), ("value", Align::Left)]);
    for (k, v) in &o.params_text {
        t.push_row([k.clone(), format!("`{v}`")]).map_err(rerr)?;
    }
    r.table(&t);

    recommendations(&mut r, &mut c, o, &plots)?;
    memory_evidence(&mut r, &mut c, o, &plots)?;
    cow_evidence(&mut r, &mut c, o, &plots)?;
    policy_evidence(&mut r, &mut c, o, &plots)?;
    r.note(
        "Limits: the COW runs use string values of one size and the stated write rate with the \
         write distribution given (uniform is the worst case for COW); save time comes from an \
         emulated disk (`--disk-bandwidth`), so scale it to your disk; the fragmentation probe \
         uses glibc malloc, not Redis's jemalloc; `used_memory` is the engine's logical count \
         (key + value + per-entry overhead).",
    );
    output::write_csv(&dir.join("tune_citations.csv"), &c.rows)?;
    let path = dir.join("tuning-report.md");
    r.write_as(&path).map_err(rerr)?;
    Ok(path)
}

/// The recommendations: maxmemory, policy, THP, overcommit, alternatives, save interval.
fn recommendations(
    r: &mut Report,
    c: &mut Cites,
    o: &TuneOutcome,
    _plots: &Path,
) -> Result<(), RunError> {
    // ---- Recommendations.
    r.heading(2, "Recommendations");
    let mut recs = Vec::new();
    let ram = c.rec(o, "ram_bytes", b);
    let mm = c.rec(o, "maxmemory_bytes", |v| {
        format!("{}mb", (v / 1048576.0).floor())
    });
    let base = c.rec(o, "base_footprint_bytes", b);
    let cowh = c.rec(o, "cow_headroom_bytes", b);
    let frag = c.rec(o, "frag_ratio", ratio);
    let reserve = c.rec(o, "reserve_bytes", b);
    let rate = c.rec(o, "write_rate", plain);
    recs.push(format!(
        "**maxmemory {mm}** (`maxmemory` in Redis's `mb` = MiB) on a {ram} box: `maxmemory = \
         (ram − base − COW headroom − reserve) / fragmentation` with base footprint {base}, \
         peak COW of one BGSAVE at {rate} writes/s extrapolated to this size {cowh}, reserve \
         {reserve} and fragmentation ratio {frag} (rss − base over used_memory, measured)."
    ));
    if o.rec("maxmemory_bytes").unwrap_or(0.0) < 16.0 * 1048576.0 {
        recs.push(format!(
            "**This RAM is too small for this write rate with fork snapshots**: the base \
             footprint and the COW of one BGSAVE leave almost nothing for data ({mm} above). Use \
             a forkless snapshot ({}), persist on a replica, or lower the write rate during \
             saves.",
            c.rec(o, "maxmemory_forkless_bytes", b)
        ));
    }
    let best = best_at_budget(&o.policies, &crate::tune::recommendable);
    let any = best_at_budget(&o.policies, &|r| r.family != "oracle");
    if let Some(bp) = best {
        let h = c.policy(bp, "hit_ratio", bp.hit_ratio, pct(bp.hit_ratio));
        let lo = c.policy(bp, "hit_ratio_min", bp.hit_ratio_min, pct(bp.hit_ratio_min));
        let hi = c.policy(bp, "hit_ratio_max", bp.hit_ratio_max, pct(bp.hit_ratio_max));
        let gap = c.policy(
            bp,
            "gap_to_belady_pp",
            bp.gap_to_belady_pp,
            pp(bp.gap_to_belady_pp),
        );
        let frac = c.policy(bp, "fraction", bp.fraction, format::percent(bp.fraction, 2));
        let mut s = format!(
            "**`maxmemory-policy {}`** {}: hit ratio {h} (range {lo} – {hi} over {} engine \
             seeds) with a cache of {frac} of the working set{}, {gap} below Belady's \
             optimum.",
            bp.policy,
            samples_text(bp),
            bp.seeds,
            if bp.size == "budget" {
                " (what this maxmemory holds)"
            } else {
                " (this maxmemory holds all of it, so every evicting policy ties at the \
                 budget with cold misses only; the ranking shown is for a quarter of the \
                 working set, where the choice starts to matter — pass `--keyspace` with your \
                 real key count to rank at the budget)"
            }
        );
        if o.rec("gain_over_allkeys_lru5_pp").is_some() {
            s.push_str(&format!(
                " Against `allkeys-lru` with 5 samples ({}) it gains {}.",
                c.rec(o, "allkeys_lru5_hit_ratio", pct),
                c.rec(o, "gain_over_allkeys_lru5_pp", pp)
            ));
        }
        if o.rec("best_vs_5_samples_pp").is_some() && bp.samples > 0 && bp.samples != 5 {
            s.push_str(&format!(
                " Using {} samples instead of 5 buys {}.",
                bp.samples,
                c.rec(o, "best_vs_5_samples_pp", pp)
            ));
        }
        if let Some(a) = any
            && a.family != "redis"
        {
            s.push_str(&format!(
                " Outside Redis's policies, `{}` would reach {} ({} more): what a store with \
                 that policy would buy.",
                a.policy,
                c.rec(o, "best_any_hit_ratio", pct),
                c.rec(o, "best_any_gain_over_redis_pp", pp)
            ));
        }
        recs.push(s);
    }
    // THP.
    let fo = c.rec(o, "fork_usec_thp_off", usec);
    let fon = c.rec(o, "fork_usec_thp_on", usec);
    let co = c.rec(o, "cow_thp_off_at_target_bytes", b);
    let con = c.rec(o, "cow_thp_on_at_target_bytes", b);
    let thp_on_better = o.rec("fork_usec_thp_on") < o.rec("fork_usec_thp_off");
    let cow_inflated = o.rec("cow_thp_on_at_target_bytes").unwrap_or(0.0)
        > 1.5 * o.rec("cow_thp_off_at_target_bytes").unwrap_or(0.0) + 1048576.0;
    recs.push(format!(
        "**THP**: keep Redis's `disable-thp yes` (THP off for the process; the system mode \
         here is `{}`). At the target size the fork is estimated at {fo} with THP off and \
         {fon} with THP on, and peak COW at {co} off vs {con} on. {}",
        o.system.thp,
        match (thp_on_better, cow_inflated) {
            (_, true) => "THP inflated COW here: leave it off.",
            (true, false) =>
                "COW with THP on stayed within 1.5× of THP off (this kernel splits a huge page on \
                 a COW fault rather than copying 2 MiB), so THP mainly shortens the fork; that \
                 pause is what THP would buy, against the huge-page fault and compaction latency \
                 Redis's docs warn about.",
            (false, false) => "THP bought nothing measurable here: leave it off.",
        }
    ));
    // Overcommit.
    let oc = o.system.overcommit_memory;
    let oc_text = match oc {
        Some(_) => c.rec(o, "overcommit_memory", plain),
        None => "unreadable".into(),
    };
    let mut s = format!(
        "**`vm.overcommit_memory = 1`** (this system: {oc_text}). With 0 (heuristic) a fork \
         fails only when the parent's private memory exceeds RAM + swap, so forks usually \
         succeed and a COW peak larger than the headroom ends in the OOM killer (no swap) or in \
         swapping the parent (latency); with 2 (strict) the fork itself fails (`Can't save in \
         background: fork: Cannot allocate memory`)"
    );
    if o.rec("overcommit2_max_rss_bytes").is_some() {
        s.push_str(&format!(
            " once the RSS at the fork exceeds about {} (CommitLimit / 2 on this RAM with this \
             system's `overcommit_ratio` and no swap)",
            c.rec(o, "overcommit2_max_rss_bytes", b)
        ));
    }
    s.push_str(". Redis warns at startup unless it is 1.");
    recs.push(s);
    recs.push(format!(
        "**If the headroom is too small**: with `maxmemory` set to what fits without a child \
         ({}), a BGSAVE at {rate} writes/s needs {} at its peak on a {ram} box — the \
         difference is what the OOM killer or swap takes.",
        c.rec(o, "maxmemory_no_fork_bytes", b),
        c.rec(o, "naive_peak_bytes", b)
    ));
    // Alternatives.
    let mut alt = format!(
        "**Alternatives**: a forkless snapshot (serialize-before-mutate) cost {} extra at the \
         target size instead of the COW, allowing `maxmemory` {}; delegating persistence to a \
         replica (no fork on this node) allows {} — but a full resync of a replica forks the \
         primary anyway, so keep the COW headroom or accept that risk.",
        c.rec(o, "forkless_overhead_bytes", b),
        c.rec(o, "maxmemory_forkless_bytes", b),
        c.rec(o, "maxmemory_no_fork_bytes", b)
    );
    if o.rec("aof_rewrite_interval_secs").is_some() {
        alt.push_str(&format!(
            " AOF only does not remove the fork: the AOF grows about {} per second and \
             `auto-aof-rewrite-percentage 100` rewrites it (a fork with the same COW exposure as \
             a BGSAVE of the same data) about every {}.",
            c.rec(o, "aof_bytes_per_sec", b),
            c.rec(o, "aof_rewrite_interval_secs", secs)
        ));
    } else {
        alt.push_str(
            " AOF only does not remove the fork either: BGREWRITEAOF forks with the same COW \
             exposure unless automatic rewrites are disabled.",
        );
    }
    recs.push(alt);
    if o.rec("save_interval_secs").is_some() {
        recs.push(format!(
            "**Save rules**: at {rate} writes/s a BGSAVE starts every {} and lasts about {} \
             on the lab's emulated disk (extrapolated): the COW headroom is needed at every \
             save, so size for it, not for the average.",
            c.rec(o, "save_interval_secs", secs),
            c.rec(o, "save_secs", secs)
        ));
    }
    r.bullets(recs);

    Ok(())
}

/// How the numbers were obtained: base footprint and fragmentation (`tune_memory.csv`).
fn memory_evidence(
    r: &mut Report,
    c: &mut Cites,
    o: &TuneOutcome,
    _plots: &Path,
) -> Result<(), RunError> {
    // ---- Evidence.
    r.heading(2, "How the numbers were obtained");
    r.heading(3, "Base footprint and fragmentation");
    r.paragraph(
        "A forked child fills a materialized engine with values of the workload's size, \
         deletes a random half and refills the holes with sizes from 0.5× to 1.5×; RSS and the \
         engine's `used_memory` are read after each phase (`tune_memory.csv`). The \
         fragmentation ratio used is the larger of the fill and refill ratios.",
    );
    let mut t = Table::new([
        ("phase", Align::Left),
        ("keys", Align::Right),
        ("used_memory", Align::Right),
        ("RSS", Align::Right),
        ("(rss − base) / used", Align::Right),
    ]);
    for m in &o.memory {
        let key = [("phase", m.phase.clone())];
        t.push_row([
            m.phase.clone(),
            c.cite(
                "keys",
                "tune_memory.csv",
                "keys",
                &key,
                m.keys as f64,
                int(m.keys as f64),
            ),
            c.cite(
                "used memory",
                "tune_memory.csv",
                "used_memory_bytes",
                &key,
                m.used_memory_bytes as f64,
                b(m.used_memory_bytes as f64),
            ),
            c.cite(
                "rss",
                "tune_memory.csv",
                "rss_bytes",
                &key,
                m.rss_bytes as f64,
                b(m.rss_bytes as f64),
            ),
            c.cite(
                "frag",
                "tune_memory.csv",
                "frag_ratio",
                &key,
                m.frag_ratio,
                ratio(m.frag_ratio),
            ),
        ])
        .map_err(rerr)?;
    }
    r.table(&t);

    Ok(())
}

/// How the numbers were obtained: copy-on-write, fork latency and their fits (`tune_fit.csv`).
fn cow_evidence(
    r: &mut Report,
    c: &mut Cites,
    o: &TuneOutcome,
    plots: &Path,
) -> Result<(), RunError> {
    r.heading(
        3,
        "Copy-on-write and fork latency: measured small, extrapolated",
    );
    r.paragraph(format!(
        "One BGSAVE (fork) and one forkless snapshot per dataset size, THP off and on, at the \
         stated write rate with {} writes (`cow.csv`). The lab cannot build your full dataset, \
         so it fits a least-squares line to each quantity against the RSS at the fork (for \
         fork latency a line through the origin: the fork copies page tables in proportion to \
         the RSS, and millisecond forks are too noisy for an intercept) and evaluates it at the RSS the recommended maxmemory implies ({}, {} times the largest RSS measured). For uniform writes \
         during a save whose duration grows with the data, the distinct pages dirtied grow \
         linearly with the data, so a line is the expected form; R² and residuals are in \
         `tune_fit.csv`. This is an extrapolation: the fit is only as good as the small runs \
         are representative (same write pattern, disk speed and value sizes).",
        o.cow
            .first()
            .map_or("uniform".into(), |r| r.distribution.clone()),
        c.rec(o, "rss_at_fork_bytes", b),
        c.rec(o, "extrapolation_factor", |v| format::trimmed(v, 1))
    ));
    if let Some(ch) = fit_chart(
        o,
        "cow_peak_bytes",
        "Peak COW vs RSS at the fork",
        Axis::bytes("peak COW"),
    ) {
        let rc = ch.render(plots, "tune_fit_cow").map_err(rerr)?;
        r.chart(&rc, "");
    }
    if let Some(ch) = fit_chart(
        o,
        "fork_usec",
        "Fork latency vs RSS at the fork",
        Axis::new("fork (µs)"),
    ) {
        let rc = ch.render(plots, "tune_fit_fork").map_err(rerr)?;
        r.chart(&rc, "");
    }
    if let Some(ch) = fit_chart(
        o,
        "extra_memory_peak_bytes",
        "Forkless snapshot overhead vs RSS",
        Axis::bytes("peak extra memory"),
    ) {
        let rc = ch.render(plots, "tune_fit_forkless").map_err(rerr)?;
        r.chart(&rc, "");
    }
    let mut t = Table::new([
        ("quantity", Align::Left),
        ("snapshot", Align::Left),
        ("THP", Align::Left),
        ("slope", Align::Right),
        ("intercept", Align::Right),
        ("R²", Align::Right),
        ("points", Align::Right),
    ]);
    for f in o.fits.iter().filter(|f| f.kind == "fit") {
        let key = [
            ("quantity", f.quantity.clone()),
            ("snapshot", f.snapshot.clone()),
            ("thp", f.thp.clone()),
            ("kind", "fit".to_string()),
        ];
        t.push_row([
            f.quantity.clone(),
            f.snapshot.clone(),
            f.thp.clone(),
            c.cite(
                "slope",
                "tune_fit.csv",
                "slope",
                &key,
                f.slope,
                format!("{:.4e}", f.slope),
            ),
            c.cite(
                "intercept",
                "tune_fit.csv",
                "intercept",
                &key,
                f.intercept,
                format!("{:.4e}", f.intercept),
            ),
            c.cite(
                "r2",
                "tune_fit.csv",
                "r2",
                &key,
                f.r2,
                format::fixed(f.r2, 3),
            ),
            f.n.to_string(),
        ])
        .map_err(rerr)?;
    }
    r.table(&t);

    Ok(())
}

/// How the numbers were obtained: hit ratio by policy (`tune_policy.csv`).
fn policy_evidence(
    r: &mut Report,
    c: &mut Cites,
    o: &TuneOutcome,
    plots: &Path,
) -> Result<(), RunError> {
    r.heading(3, "Hit ratio by policy");
    r.paragraph(format!(
        "Every registry policy replayed the workload at three cache sizes around the one the \
         recommended maxmemory holds ({} keys of {} B each under {}, {}; `tune_policy.csv`, \
         raw cells in `hitrate.csv`). Sampled policies ran with `maxmemory-samples` 1, 3, 5 and \
         10 and with several engine seeds: the range quoted is min–max over those seeds (the \
         sampling RNG); the request stream is the same in every cell. Deterministic policies \
         ran once.",
        c.rec(o, "budget_keys", int),
        c.rec(o, "budget_per_key_bytes", plain),
        o.recs
            .iter()
            .find(|r| r.name == "budget_keys")
            .map_or("n/a", |r| r.derivation.as_str()),
        if o.rec("budget_fraction").unwrap_or(0.0) >= 1.0 {
            "which holds the whole working set, so the sizes shown are a quarter, a half and all of it"
                .to_string()
        } else {
            "sizes half, budget and double".to_string()
        }
    ));
    let dsize = crate::tune::decision_size(&o.policies);
    let mut at: Vec<&PolicyRow> = o.policies.iter().filter(|p| p.size == dsize).collect();
    at.sort_by(|a, b| b.hit_ratio.total_cmp(&a.hit_ratio));
    let bars = BarChart::from_rows(
        format!("Hit ratio by policy at the {dsize} cache size"),
        "policy",
        Axis::percent("hit ratio"),
        at.iter().take(16).map(|p| {
            (
                if p.samples > 0 {
                    format!("{} s{}", p.policy, p.samples)
                } else {
                    p.policy.clone()
                },
                "mean over seeds".to_string(),
                p.hit_ratio,
            )
        }),
    )
    .with_value_labels(false);
    let rc = bars.render(plots, "tune_hit_ratio").map_err(rerr)?;
    r.chart(&rc, "");
    let mut t = Table::new([
        ("policy", Align::Left),
        ("samples", Align::Right),
        ("hit ratio", Align::Right),
        ("seed range", Align::Right),
        ("gap to Belady", Align::Right),
    ]);
    for p in at.iter().take(12) {
        t.push_row([
            p.policy.clone(),
            if p.samples > 0 {
                p.samples.to_string()
            } else {
                "–".into()
            },
            c.policy(p, "hit_ratio", p.hit_ratio, pct(p.hit_ratio)),
            format!(
                "{} – {}",
                c.policy(p, "hit_ratio_min", p.hit_ratio_min, pct(p.hit_ratio_min)),
                c.policy(p, "hit_ratio_max", p.hit_ratio_max, pct(p.hit_ratio_max))
            ),
            c.policy(
                p,
                "gap_to_belady_pp",
                p.gap_to_belady_pp,
                pp(p.gap_to_belady_pp),
            ),
        ])
        .map_err(rerr)?;
    }
    r.table(&t);
    Ok(())
}
