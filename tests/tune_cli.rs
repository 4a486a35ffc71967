//! `experiment tune` end to end on a small workload: every number the report cites is the
//! value of the CSV cell its citation names, every recommendation cites at least one number,
//! and a different RAM budget gives a different `maxmemory`.

use std::collections::HashMap;
use std::path::Path;

use crate::util::{experiment, read_rows};

fn tune(out: &Path, ram: &str, extra: &[&str]) {
    let o = experiment()
        .args([
            "tune",
            "--workload",
            "zipf:0.9",
            "--keys",
            "3000",
            "--requests",
            "30000",
            "--keyspace",
            "2000000",
            "--ram",
            ram,
            "--write-rate",
            "20000",
            "--save",
            "900 1 300 100",
            "--appendonly",
            "--dataset-sizes",
            "8mb,16mb,24mb",
            "--memory-dataset",
            "8mb",
            "--seeds",
            "2",
            "--out",
            out.to_str().unwrap(),
        ])
        .args(extra)
        .output()
        .expect("run experiment");
    assert!(
        o.status.success(),
        "experiment tune failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A CSV as rows of column → cell (quoted cells are handled by the csv-free parser below:
/// the lab's CSVs quote only text cells with commas, which the key columns never are).
fn rec(dir: &Path, name: &str) -> f64 {
    read_rows(&dir.join("tune_recommendation.csv"))
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no {name}"))["value"]
        .parse()
        .unwrap()
}

#[test]
fn every_cited_number_is_in_the_csvs_and_ram_moves_maxmemory() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    tune(&a, "2gb", &[]);
    let report = std::fs::read_to_string(a.join("tuning-report.md")).unwrap();
    let cites = read_rows(&a.join("tune_citations.csv"));
    assert!(cites.len() > 20, "too few citations: {}", cites.len());
    let mut files: HashMap<String, Vec<HashMap<String, String>>> = HashMap::new();
    for c in &cites {
        // The report shows the number with its marker.
        let shown = format!("{} [{}]", c["display"], c["id"]);
        assert!(report.contains(&shown), "report lacks {shown}");
        // The marker names a row of a CSV of the run, and the value is that cell's.
        let rows = files
            .entry(c["file"].clone())
            .or_insert_with(|| read_rows(&a.join(&c["file"])));
        let key: Vec<(&str, &str)> = c["row_key"]
            .split(';')
            .map(|kv| kv.split_once('=').expect("key=value"))
            .collect();
        let hits: Vec<&HashMap<String, String>> = rows
            .iter()
            .filter(|r| {
                key.iter()
                    .all(|(k, v)| r.get(*k).map(String::as_str) == Some(*v))
            })
            .collect();
        assert_eq!(
            hits.len(),
            1,
            "{} selects {} rows of {}",
            c["row_key"],
            hits.len(),
            c["file"]
        );
        let cell: f64 = hits[0][&c["column"]].parse().expect("numeric cell");
        let cited: f64 = c["value"].parse().expect("numeric citation");
        assert!(
            (cell - cited).abs() <= 1e-9 * cell.abs().max(1.0),
            "{}: cited {cited}, {} has {cell}",
            c["id"],
            c["file"]
        );
    }
    // Every [cN] in the report has a citation row.
    let ids: Vec<&str> = cites.iter().map(|c| c["id"].as_str()).collect();
    for (i, _) in report.match_indices(" [c") {
        let rest = &report[i + 2..];
        let id = &rest[..rest.find(']').unwrap()];
        assert!(ids.contains(&id), "marker {id} has no citation");
    }
    // Every recommendation bullet cites a measured number.
    let recs = report
        .split("## Recommendations")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let bullets: Vec<&str> = recs.lines().filter(|l| l.starts_with("- ")).collect();
    assert!(bullets.len() >= 5, "{recs}");
    for b in bullets {
        assert!(b.contains(" [c"), "uncited recommendation: {b}");
    }
    // maxmemory follows the formula from the cited inputs.
    let m = rec(&a, "maxmemory_bytes");
    let x = rec(&a, "rss_at_fork_bytes");
    let want = (x - rec(&a, "base_footprint_bytes")) / rec(&a, "frag_ratio");
    assert!((m - want).abs() < 1.0, "{m} vs {want}");
    assert!(x + rec(&a, "cow_headroom_bytes") <= rec(&a, "ram_bytes") + 1.0);
    assert!(m > 0.0 && m < rec(&a, "ram_bytes"));
    // The fits and the memory probe are written.
    let fit = read_rows(&a.join("tune_fit.csv"));
    assert!(
        fit.iter()
            .any(|r| r["kind"] == "extrapolation" && r["quantity"] == "cow_peak_bytes")
    );
    assert!(
        fit.iter()
            .any(|r| r["kind"] == "point" && r["residual"].parse::<f64>().is_ok())
    );
    let cow = read_rows(&a.join("cow.csv"));
    assert_eq!(cow.len(), 12, "3 sizes × THP off/on × fork/forkless");
    assert!(a.join("plots/tune_fit_cow.png").exists());
    // A larger box gets a larger maxmemory.
    let b = dir.path().join("b");
    tune(&b, "4gb", &["--config", "lab-jemalloc-quantum 16"]);
    let m2 = rec(&b, "maxmemory_bytes");
    assert!(m2 > m * 1.5, "maxmemory {m} at 2gb, {m2} at 4gb");
    let report_b = std::fs::read_to_string(b.join("tuning-report.md")).unwrap();
    let line = |r: &str| {
        r.lines()
            .find(|l| l.contains("**maxmemory "))
            .unwrap()
            .to_string()
    };
    assert_ne!(line(&report), line(&report_b));
    // maxmemory as keys under the redis model (the default), with the quantum it used.
    assert_eq!(rec(&a, "budget_keys"), rec(&a, "budget_keys_redis"));
    assert_eq!(rec(&a, "jemalloc_quantum"), 8.0);
    assert_eq!(rec(&b, "jemalloc_quantum"), 16.0);
    for d in [&a, &b] {
        let (keys, per_key) = (rec(d, "budget_keys_redis"), rec(d, "redis_per_key_bytes"));
        // Redis spends more per key than key + value bytes: fewer keys than the logical count.
        assert!(keys < rec(d, "budget_keys_logical"), "{keys}");
        // The keys and their dicts' buckets fit in maxmemory beside the base; one more
        // table doubling's worth of keys would not. The main dict has at least
        // (keys - 1) / 1.618 buckets of 8 bytes: at load 1 it has `keys` or more, but when
        // maxmemory refuses the doubling Redis fills it to load 1.618 (`dictExpandAllowed`),
        // so `keys * (per_key + 8)` may exceed the room by a little (it did, by ~0.01 %,
        // whenever the measured RSS put maxmemory just past a table size).
        let room = rec(d, "maxmemory_bytes") - 914_592.0;
        assert!(
            keys * per_key + 8.0 * (keys - 1.0) / 1.618 <= room + 1.0,
            "{keys} x {per_key} > {room}"
        );
        assert!(
            keys * (per_key + 16.0) > room * 0.9,
            "{keys} x {per_key} vs {room}"
        );
    }
    // Quantum 16 rounds zipf's 1-byte strings up further than 8: more bytes per key.
    assert!(rec(&b, "redis_per_key_bytes") > rec(&a, "redis_per_key_bytes"));
    let report_b = std::fs::read_to_string(b.join("tuning-report.md")).unwrap();
    assert!(
        report_b.contains("lab-jemalloc-quantum 16"),
        "report names the quantum"
    );
}

#[test]
fn tune_config_picks_the_memory_model_and_refuses_other_lines() {
    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        experiment()
            .args(["tune", "--workload", "zipf:0.9", "--keys", "1000"])
            .args(["--requests", "5000", "--ram", "64mb"])
            .args(extra)
            .args(["--out", dir.path().join("x").to_str().unwrap()])
            .output()
            .unwrap()
    };
    for (line, expect) in [
        ("lab-sampling uniform", "memory-model line"),
        ("lab-memory-mode keys", "redis (default) or logical"),
        ("lab-jemalloc-quantum 12", "lab-jemalloc-quantum"),
    ] {
        let o = run(&["--config", line]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(expect), "{line}: {err}");
    }
}
