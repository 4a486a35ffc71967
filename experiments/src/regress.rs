//! The regression gate behind `experiment regress --baseline DIR --current DIR`.
//!
//! Every CSV present in both directories is compared, generically:
//!
//! * rows are matched by their **key columns**: the identifying columns the experiment that
//!   writes the file declares ([`crate::experiment::CsvFile::keys`]) plus every column that is
//!   not numeric in the baseline (a duplicate key gets an occurrence suffix);
//! * **timing columns** (names ending in `_per_sec`) are throughput: each value is divided by
//!   the speed of a fixed reference loop measured in the same run ([`reference_loop`], written
//!   to `timings.csv`), so the machine's speed cancels. Per file, the geometric mean of
//!   current/baseline over the matched rows must be at least `1 − tolerance`;
//! * other wall-clock columns (names ending in `_ms` other than `virtual_ms`, `_usec`,
//!   `_ns`, `_secs`, `_seconds`, and `seconds` itself) are ignored;
//! * every other column is deterministic (miss counts, hit ratios, evicted keys …) and must
//!   be equal: the same text, or the same number.
//!
//! Files an experiment declares [`Values::Measured`] hold measurements of real processes
//! (fork, COW, RSS, a real server) and are skipped with a note; a CSV no experiment declares
//! is compared with its non-numeric columns as keys, and noted. A CSV of the baseline
//! missing from the current run is a regression (an empty or half-written results directory
//! must not pass the gate), and so is a row of the baseline missing from the current run
//! (fewer rows); a CSV or a row present only in the current run is noted (suites grow). A
//! baseline without any CSV is an error.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::RunError;
use crate::experiment::{CsvFile, Values, csv_file};
use crate::timing::{Repeat, best_of};

/// `timings.csv`: the reference loop's speed (wall clock, not compared itself).
pub const TIMINGS: CsvFile = CsvFile::measured("timings.csv");

/// The name of the reference loop's row in `timings.csv`.
pub const REFERENCE_NAME: &str = "reference-loop";

/// One row of `timings.csv`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TimingRow {
    /// What was timed (`reference-loop`).
    pub name: String,
    /// Operations per run.
    pub ops: u64,
    /// Best run, seconds.
    pub seconds: f64,
    /// ops / seconds.
    pub ops_per_sec: f64,
    /// The writing process's peak RSS in bytes when the row was written (`VmHWM` of
    /// `/proc/self/status`): for `suite`, the peak of the whole run. Empty in files written
    /// before this column existed, or where `/proc` is not readable.
    #[serde(default)]
    pub peak_rss_bytes: Option<u64>,
    /// CPU seconds / wall seconds of the reference loop's runs ([`crate::timing::Timed`]):
    /// about 1 on an idle machine, lower when other processes competed for the cores. Empty
    /// in files written before this column existed.
    #[serde(default)]
    pub cpu_share: Option<f64>,
}

/// Below this [`TimingRow::cpu_share`], `regress` notes that the run waited for a core
/// (other processes were running), so its wall-clock throughput is not comparable.
pub const BUSY_CPU_SHARE: f64 = 0.9;

/// How often [`reference_loop`] runs in a `hitrate` process: exactly three runs. 2^18
/// operations per run (~4 ms): every `hitrate` process pays for it, and 2^20 made it a fifth
/// of a 5 M-request replay's whole-process time. Three runs, not five: the five were 73 % of
/// the instructions of a 1 000-request `hitrate` process and ~6 % of a w106 one. The best of
/// three is in expectation no faster than the best of five, so the change can only lower the
/// reference (raise normalized throughputs against a baseline taken with five), never fake a
/// regression.
pub const HITRATE_REFERENCE: Repeat = Repeat {
    min_total: Duration::MAX,
    max_runs: 3,
};

/// How often [`reference_loop`] runs in the suite (what `regress` reads): until the runs last
/// 200 ms together, like the `mrc` passes ([`Repeat::MRC`]). Three runs (12 ms) could all fall
/// in one of the 50–200 ms stretches in which the quick suite's VM ran 20–40 % slower, which
/// moved every normalized throughput of the run by as much. The best of ~50 runs is at least
/// as fast as the best of three (on a quiet machine within ~1 %: 72–74 M ops/s either way),
/// so against a baseline taken with three it can only lower normalized throughputs, by
/// about that much.
pub const SUITE_REFERENCE: Repeat = Repeat::MRC;

/// Times a fixed loop (hash-map inserts, lookups and removals over a small key space, like a
/// cache's inner loop) and returns its best run, repeated as `repeat` asks
/// ([`HITRATE_REFERENCE`], [`SUITE_REFERENCE`]). 2^18 operations per run (~4 ms); the map's
/// key space (2^16) and so the speed per operation are the same as with longer runs.
pub fn reference_loop(repeat: Repeat) -> TimingRow {
    const OPS: u64 = 1 << 18;
    let timed = best_of(repeat, || {
        let mut sink = 0u64;
        let mut m: crate::workload::FastMap<u64, u64> = crate::workload::FastMap::default();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for i in 0..OPS {
            // splitmix64
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let k = z & 0xFFFF;
            match i % 4 {
                0 | 1 => sink = sink.wrapping_add(*m.get(&k).unwrap_or(&0)),
                2 => {
                    m.insert(k, i);
                }
                _ => {
                    m.remove(&(k ^ 1));
                }
            }
        }
        sink.wrapping_add(m.len() as u64)
    });
    std::hint::black_box(timed.output);
    let best = timed.best_seconds;
    TimingRow {
        name: REFERENCE_NAME.into(),
        ops: OPS,
        seconds: best,
        ops_per_sec: OPS as f64 / best,
        peak_rss_bytes: crate::mem::peak_rss_bytes().ok(),
        cpu_share: timed.cpu_share,
    }
}

/// Measures the reference loop (repeated as `repeat` asks) and writes `dir/timings.csv`.
pub fn write_timings(dir: &Path, repeat: Repeat) -> Result<TimingRow, RunError> {
    let t = reference_loop(repeat);
    crate::output::write_csv(&dir.join("timings.csv"), std::slice::from_ref(&t))?;
    Ok(t)
}

/// Outcome of one check.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// The CSV file.
    pub file: String,
    /// `exact`, `throughput`, `rows` or `skipped`.
    pub kind: String,
    /// Rows (or values) compared.
    pub compared: u64,
    /// Whether this check failed.
    pub regression: bool,
    /// Human-readable detail (first differences, ratio, why skipped).
    pub detail: String,
}

/// What `regress` found.
#[derive(Clone, Debug, Default)]
pub struct RegressOutcome {
    /// One entry per (file, kind).
    pub checks: Vec<Check>,
    /// Notes (files on one side only, no timings).
    pub notes: Vec<String>,
}

impl RegressOutcome {
    /// Number of failed checks.
    pub fn regressions(&self) -> usize {
        self.checks.iter().filter(|c| c.regression).count()
    }

    /// The table and the notes, as text.
    pub fn table(&self) -> String {
        let mut rows = vec![[
            "file".to_string(),
            "check".into(),
            "compared".into(),
            "result".into(),
            "detail".into(),
        ]];
        for c in &self.checks {
            rows.push([
                c.file.clone(),
                c.kind.clone(),
                c.compared.to_string(),
                if c.regression {
                    "REGRESSION".into()
                } else {
                    "ok".into()
                },
                c.detail.clone(),
            ]);
        }
        let mut w = [0usize; 4];
        for r in &rows {
            for i in 0..4 {
                w[i] = w[i].max(r[i].chars().count());
            }
        }
        let mut out = String::new();
        for r in &rows {
            out.push_str(&format!(
                "{:<w0$}  {:<w1$}  {:>w2$}  {:<w3$}  {}\n",
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                w0 = w[0],
                w1 = w[1],
                w2 = w[2],
                w3 = w[3]
            ));
        }
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        out
    }
}

struct Csv {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn read(path: &Path) -> Result<Csv, RunError> {
    let err = |e: csv::Error| RunError::Csv {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut r = csv::Reader::from_path(path).map_err(err)?;
    let headers = r.headers().map_err(err)?.iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.map(|rec| rec.iter().map(String::from).collect()))
        .collect::<Result<Vec<Vec<String>>, _>>()
        .map_err(err)?;
    Ok(Csv { headers, rows })
}

fn csv_names(dir: &Path) -> Result<Vec<String>, RunError> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| RunError::Io {
            path: dir.to_path_buf(),
            source: e,
        })?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".csv"))
        .collect();
    names.sort();
    Ok(names)
}

fn is_throughput(col: &str) -> bool {
    col.ends_with("_per_sec")
}

fn is_wall_clock(col: &str) -> bool {
    (col.ends_with("_ms") && col != "virtual_ms")
        || col.ends_with("_usec")
        || col.ends_with("_ns")
        || col.ends_with("_secs")
        || col.ends_with("_seconds")
        || col == "seconds"
}

fn same_value(a: &str, b: &str) -> bool {
    a == b
        || matches!((a.parse::<f64>(), b.parse::<f64>()), (Ok(x), Ok(y)) if x == y || (x.is_nan() && y.is_nan()))
}

fn reference_row(dir: &Path) -> Option<TimingRow> {
    let p = dir.join("timings.csv");
    let rows: Vec<TimingRow> = crate::output::read_csv(&p).ok()?;
    rows.into_iter().find(|r| r.name == REFERENCE_NAME)
}

fn reference_speed(row: Option<&TimingRow>) -> Option<f64> {
    row.map(|r| r.ops_per_sec).filter(|v| *v > 0.0)
}

/// A note when a run's process had less than [`BUSY_CPU_SHARE`] of a core.
fn busy_note(side: &str, dir: &Path, row: Option<&TimingRow>) -> Option<String> {
    let share = row?.cpu_share?;
    (share < BUSY_CPU_SHARE).then(|| {
        format!(
            "the {side} run ({}): its reference loop was on a CPU {:.0} % of its wall-clock time \
             (timings.csv cpu_share; about 100 % on an idle machine): other processes competed \
             for the cores, so its throughput ratios include waiting; rerun on an idle machine",
            dir.display(),
            share * 100.0
        )
    })
}

/// Compares every CSV of `current` with the baseline's. `tolerance` is the accepted relative
/// slowdown of normalized throughput (0.25 = 25 %).
pub fn compare_dirs(
    baseline: &Path,
    current: &Path,
    tolerance: f64,
) -> Result<RegressOutcome, RunError> {
    let mut out = RegressOutcome::default();
    let base_names = csv_names(baseline)?;
    let cur_names = csv_names(current)?;
    if base_names.is_empty() {
        return Err(RunError::Csv {
            path: baseline.to_path_buf(),
            message: "the baseline directory holds no CSV file: nothing to compare against".into(),
        });
    }
    for n in base_names.iter().filter(|n| !cur_names.contains(n)) {
        if n != TIMINGS.name && csv_file(n).is_some_and(|f| f.values == Values::Measured) {
            out.notes.push(format!(
                "{n} (measurements of real processes) is only in the baseline; not compared"
            ));
            continue;
        }
        out.checks.push(Check {
            file: n.clone(),
            kind: "files".into(),
            compared: 0,
            regression: true,
            detail: format!(
                "in the baseline ({}) but missing from the current run ({})",
                baseline.display(),
                current.display()
            ),
        });
    }
    for n in cur_names.iter().filter(|n| !base_names.contains(n)) {
        out.notes.push(format!(
            "{n} is only in the current run ({}); not compared (regenerate the baseline to gate it)",
            current.display()
        ));
    }
    let refs = (reference_row(baseline), reference_row(current));
    let speeds = (
        reference_speed(refs.0.as_ref()),
        reference_speed(refs.1.as_ref()),
    );
    out.notes
        .extend(busy_note("baseline", baseline, refs.0.as_ref()));
    out.notes
        .extend(busy_note("current", current, refs.1.as_ref()));
    for name in base_names.iter().filter(|n| cur_names.contains(n)) {
        let declared = csv_file(name);
        if declared.is_none() {
            out.notes.push(format!(
                "{name} is not declared by any experiment: compared with its non-numeric columns as keys"
            ));
        }
        if let Some(f) = declared
            && f.values == Values::Measured
        {
            if name != TIMINGS.name {
                out.checks.push(Check {
                    file: name.clone(),
                    kind: "skipped".into(),
                    compared: 0,
                    regression: false,
                    detail: "measurements of real processes, not deterministic".into(),
                });
            }
            continue;
        }
        compare_file(
            name,
            &read(&baseline.join(name))?,
            &read(&current.join(name))?,
            declared.map_or(&[][..], |f| f.keys),
            speeds,
            tolerance,
            &mut out,
        );
    }
    Ok(out)
}

fn compare_file(
    name: &str,
    base: &Csv,
    cur: &Csv,
    key_columns: &[&str],
    speeds: (Option<f64>, Option<f64>),
    tolerance: f64,
    out: &mut RegressOutcome,
) {
    if base.headers != cur.headers {
        let missing: Vec<&String> = base
            .headers
            .iter()
            .filter(|h| !cur.headers.contains(h))
            .collect();
        let added: Vec<&String> = cur
            .headers
            .iter()
            .filter(|h| !base.headers.contains(h))
            .collect();
        if !missing.is_empty() {
            out.checks.push(Check {
                file: name.into(),
                kind: "columns".into(),
                compared: base.headers.len() as u64,
                regression: true,
                detail: format!("columns missing from the current run: {missing:?}"),
            });
            return;
        }
        out.notes.push(format!(
            "{name}: new columns {added:?} in the current run are not compared"
        ));
    }
    let col = |h: &str| cur.headers.iter().position(|c| c == h);
    // Key columns: known identifiers + non-numeric ones (in the baseline).
    let keys: Vec<usize> = base
        .headers
        .iter()
        .enumerate()
        .filter(|(i, h)| {
            key_columns.contains(&h.as_str())
                || (!is_throughput(h)
                    && !is_wall_clock(h)
                    && base
                        .rows
                        .iter()
                        .any(|r| !r[*i].is_empty() && r[*i].parse::<f64>().is_err()))
        })
        .map(|(i, _)| i)
        .collect();
    let index = |csv: &Csv, cols: &[usize]| -> BTreeMap<String, usize> {
        let mut seen: BTreeMap<String, u32> = BTreeMap::new();
        let mut m = BTreeMap::new();
        for (ri, r) in csv.rows.iter().enumerate() {
            let k = cols
                .iter()
                .map(|&c| format!("{}={}", csv.headers[c], r[c]))
                .collect::<Vec<_>>()
                .join(",");
            let n = seen.entry(k.clone()).or_default();
            *n += 1;
            m.insert(if *n > 1 { format!("{k}#{n}") } else { k }, ri);
        }
        m
    };
    let cur_keys: Vec<usize> = keys.iter().filter_map(|&i| col(&base.headers[i])).collect();
    let bi = index(base, &keys);
    let ci = index(cur, &cur_keys);
    let missing: Vec<&String> = bi.keys().filter(|k| !ci.contains_key(*k)).collect();
    let extra = ci.keys().filter(|k| !bi.contains_key(*k)).count();
    out.checks.push(Check {
        file: name.into(),
        kind: "rows".into(),
        compared: bi.len() as u64,
        regression: !missing.is_empty(),
        detail: if missing.is_empty() {
            format!("all baseline rows present ({extra} new)")
        } else {
            format!(
                "{} baseline rows missing, e.g. [{}]",
                missing.len(),
                missing[0]
            )
        },
    });
    // Exact metrics.
    let metrics: Vec<usize> = (0..base.headers.len())
        .filter(|i| !keys.contains(i))
        .filter(|&i| !is_throughput(&base.headers[i]) && !is_wall_clock(&base.headers[i]))
        .collect();
    let mut diffs = Vec::new();
    let mut compared = 0u64;
    for (k, &br) in &bi {
        let Some(&cr) = ci.get(k) else { continue };
        for &m in &metrics {
            let Some(cc) = col(&base.headers[m]) else {
                continue;
            };
            compared += 1;
            let (a, b) = (&base.rows[br][m], &cur.rows[cr][cc]);
            if !same_value(a, b) {
                diffs.push(format!("[{k}] {}: {a} -> {b}", base.headers[m]));
            }
        }
    }
    if !metrics.is_empty() {
        out.checks.push(Check {
            file: name.into(),
            kind: "exact".into(),
            compared,
            regression: !diffs.is_empty(),
            detail: if diffs.is_empty() {
                format!("{} deterministic columns equal", metrics.len())
            } else {
                format!(
                    "{} values differ; first: {}",
                    diffs.len(),
                    diffs.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
                )
            },
        });
    }
    // Throughput relative to the reference loop.
    for t in (0..base.headers.len()).filter(|&i| is_throughput(&base.headers[i])) {
        let h = &base.headers[t];
        let Some(ct) = col(h) else { continue };
        let (Some(sb), Some(sc)) = speeds else {
            out.notes.push(format!(
                "{name}: {h} not compared (timings.csv with the reference loop missing on one side)"
            ));
            continue;
        };
        let mut logs = Vec::new();
        for (k, &br) in &bi {
            let Some(&cr) = ci.get(k) else { continue };
            let (Ok(a), Ok(b)) = (
                base.rows[br][t].parse::<f64>(),
                cur.rows[cr][ct].parse::<f64>(),
            ) else {
                continue;
            };
            if a > 0.0 && b > 0.0 {
                logs.push(((b / sc) / (a / sb)).ln());
            }
        }
        if logs.is_empty() {
            continue;
        }
        let ratio = (logs.iter().sum::<f64>() / logs.len() as f64).exp();
        out.checks.push(throughput_check(
            name,
            h,
            logs.len() as u64,
            ratio,
            tolerance,
        ));
    }
}

/// The throughput verdict: `ratio` is the geometric mean of (current / reference) /
/// (baseline / reference); below `1 − tolerance` is a regression.
pub fn throughput_check(file: &str, column: &str, n: u64, ratio: f64, tolerance: f64) -> Check {
    Check {
        file: file.into(),
        kind: "throughput".into(),
        compared: n,
        regression: ratio < 1.0 - tolerance,
        detail: format!(
            "{column} relative to the reference loop: {:.2}× the baseline (geometric mean; fails below {:.2}×)",
            ratio,
            1.0 - tolerance
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_clock_columns_are_not_compared() {
        for c in ["seconds", "save_ms", "fork_usec", "wall_seconds"] {
            assert!(is_wall_clock(c), "{c}");
        }
        for c in ["virtual_ms", "misses", "hit_ratio", "ttl_ms_mean"] {
            assert!(!is_wall_clock(c), "{c}");
        }
    }

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    const HIT: &str = "cell,workload,policy,samples,capacity,misses,hit_ratio,requests_per_sec\n\
                       0,zipf,lru,,10,100,0.9,1000\n1,zipf,allkeys-lru,5,10,120,0.88,2000\n";

    fn timings(speed: f64) -> String {
        format!("name,ops,seconds,ops_per_sec\nreference-loop,100,1,{speed}\n")
    }

    #[test]
    fn identical_dirs_pass_and_a_changed_miss_count_fails() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for d in [a.path(), b.path()] {
            write(d, "hitrate.csv", HIT);
            write(d, "timings.csv", &timings(100.0));
        }
        let o = compare_dirs(a.path(), b.path(), 0.25).unwrap();
        assert_eq!(o.regressions(), 0, "{}", o.table());
        write(b.path(), "hitrate.csv", &HIT.replace(",120,", ",121,"));
        let o = compare_dirs(a.path(), b.path(), 0.25).unwrap();
        assert_eq!(o.regressions(), 1, "{}", o.table());
        assert!(o.table().contains("misses: 120 -> 121"), "{}", o.table());
    }

    #[test]
    fn throughput_is_judged_relative_to_the_reference_loop() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write(a.path(), "hitrate.csv", HIT);
        write(a.path(), "timings.csv", &timings(100.0));
        // A machine half as fast: both the workload and the reference loop halve: no regression.
        write(
            b.path(),
            "hitrate.csv",
            &HIT.replace(",1000\n", ",500\n")
                .replace(",2000\n", ",1000\n"),
        );
        write(b.path(), "timings.csv", &timings(50.0));
        let o = compare_dirs(a.path(), b.path(), 0.25).unwrap();
        assert_eq!(o.regressions(), 0, "{}", o.table());
        // Same machine speed, the code got 2× slower: regression.
        write(b.path(), "timings.csv", &timings(100.0));
        let o = compare_dirs(a.path(), b.path(), 0.25).unwrap();
        assert_eq!(o.regressions(), 1, "{}", o.table());
        assert!(o.table().contains("0.50×"), "{}", o.table());
    }

    #[test]
    fn files_on_one_side_are_noted_and_missing_rows_fail() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write(a.path(), "hitrate.csv", HIT);
        write(a.path(), "mrc.csv", "policy,size,miss_ratio\nlru,1,0.5\n");
        write(
            b.path(),
            "hitrate.csv",
            HIT.lines().take(2).collect::<Vec<_>>().join("\n").as_str(),
        );
        write(b.path(), "frag.csv", "a\n1\n");
        let o = compare_dirs(a.path(), b.path(), 0.25).unwrap();
        // hitrate.csv lost rows, mrc.csv is missing: two regressions.
        assert_eq!(o.regressions(), 2, "{}", o.table());
        assert!(o.table().contains("mrc.csv"), "{}", o.table());
        assert!(
            o.table().contains("missing from the current run"),
            "{}",
            o.table()
        );
        assert!(
            o.notes
                .iter()
                .any(|n| n.contains("frag.csv is only in the current"))
        );
        assert!(o.notes.iter().any(|n| n.contains("reference loop missing")));
    }

    /// Issue 12: `regress --current <an empty directory>` said "no regression".
    #[test]
    fn an_empty_current_directory_fails_and_an_empty_baseline_is_an_error() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write(a.path(), "hitrate.csv", HIT);
        let o = compare_dirs(a.path(), b.path(), 0.25).unwrap();
        assert_eq!(o.regressions(), 1, "{}", o.table());
        let e = compare_dirs(b.path(), a.path(), 0.25)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no CSV"), "{e}");
        // A current CSV with only its header: every baseline row is missing.
        write(b.path(), "hitrate.csv", HIT.lines().next().unwrap());
        let o = compare_dirs(a.path(), b.path(), 0.25).unwrap();
        assert_eq!(o.regressions(), 1, "{}", o.table());
        assert!(o.table().contains("baseline rows missing"), "{}", o.table());
    }

    #[test]
    fn a_busy_run_is_noted() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for d in [a.path(), b.path()] {
            write(d, "hitrate.csv", HIT);
        }
        let share = |s: &str| {
            format!(
                "name,ops,seconds,ops_per_sec,peak_rss_bytes,cpu_share\nreference-loop,100,1,100,,{s}\n"
            )
        };
        // The baseline without the column, the current run idle: no note.
        write(a.path(), "timings.csv", &timings(100.0));
        write(b.path(), "timings.csv", &share("0.97"));
        let o = compare_dirs(a.path(), b.path(), 0.25).unwrap();
        assert!(
            !o.notes.iter().any(|n| n.contains("cpu_share")),
            "{}",
            o.table()
        );
        // The current run got 55 % of a core: noted, the verdict unchanged.
        write(b.path(), "timings.csv", &share("0.55"));
        let o = compare_dirs(a.path(), b.path(), 0.25).unwrap();
        assert_eq!(o.regressions(), 0, "{}", o.table());
        assert!(
            o.notes
                .iter()
                .any(|n| n.contains("current run") && n.contains("55 %")),
            "{}",
            o.table()
        );
    }

    #[test]
    fn the_reference_loop_measures_something() {
        let t = reference_loop(HITRATE_REFERENCE);
        assert_eq!(t.name, REFERENCE_NAME);
        assert!(t.seconds > 0.0 && t.ops_per_sec.is_finite());
    }
}
