//! `experiment frag` end to end: the worker processes per allocator, the CSV columns, the
//! Redis FAQ effect, determinism of the logical columns, bad input, report re-render.

use std::collections::HashMap;

use crate::util::{experiment, num, read_rows, run_ok};

/// The rows of a CSV as column → value maps (the lab's CSVs have no quoted commas).
fn end_row<'a>(
    rows: &'a [HashMap<String, String>],
    alloc: &str,
    phase: &str,
) -> &'a HashMap<String, String> {
    rows.iter()
        .find(|r| r["allocator"] == alloc && r["phase"] == phase && r["event"] == "end")
        .unwrap_or_else(|| panic!("no end row for {alloc} {phase}"))
}

#[test]
fn frag_compares_three_allocators_and_shows_the_faq_effect() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f");
    let stdout = run_ok(&[
        "frag",
        "--allocators",
        "system,jemalloc,mimalloc",
        "--quick",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        stdout.contains("glibc-") && stdout.contains("jemalloc-5."),
        "{stdout}"
    );
    let header = std::fs::read_to_string(out.join("frag.csv")).unwrap();
    let header = header.lines().next().unwrap().to_string();
    for col in [
        "allocator",
        "phase",
        "t_ms",
        "keys",
        "logical_bytes",
        "used_bytes",
        "allocator_active_bytes",
        "allocator_resident_bytes",
        "rss_bytes",
        "mem_fragmentation_ratio",
        "allocator_frag_ratio",
    ] {
        assert!(
            header.split(',').any(|h| h == col),
            "{col} missing: {header}"
        );
    }
    let frag = read_rows(&out.join("frag.csv"));
    for a in ["system", "jemalloc", "mimalloc"] {
        for p in ["fill", "delete", "refill", "churn", "idle", "defrag"] {
            let r = end_row(&frag, a, p);
            assert!(num(r, "rss_bytes") > 0.0 && num(r, "used_bytes") > 0.0);
            let ratio = num(r, "rss_bytes") / num(r, "used_bytes");
            assert!((ratio - num(r, "mem_fragmentation_ratio")).abs() < 1e-6);
        }
        assert!(
            frag.iter()
                .any(|r| r["allocator"] == a && r["event"] == "grid"),
            "no time-grid samples for {a}"
        );
        // The churn phase runs under maxmemory on the counted bytes and evicts.
        let churn = end_row(&frag, a, "churn");
        assert!(num(churn, "evicted_keys") > 0.0);
        assert!(num(churn, "used_bytes") <= num(churn, "maxmemory") * 1.01);
    }
    // Redis's FAQ: delete ~40 % of the keys; used memory drops, glibc's RSS stays.
    let (f, d) = (
        end_row(&frag, "system", "fill"),
        end_row(&frag, "system", "delete"),
    );
    assert!(num(d, "keys") < 0.7 * num(f, "keys"));
    assert!(num(d, "used_bytes") < 0.85 * num(f, "used_bytes"));
    assert!(
        num(d, "rss_bytes") >= 0.9 * num(f, "rss_bytes"),
        "glibc RSS fell from {} to {}",
        f["rss_bytes"],
        d["rss_bytes"]
    );
    let overhead = read_rows(&out.join("overhead.csv"));
    assert_eq!(overhead.len(), 9);
    for r in &overhead {
        // A key costs more than its bytes, and at least the counted payload block.
        assert!(num(r, "used_bytes_per_key") > num(r, "logical_bytes_per_key"));
    }
    let defrag = read_rows(&out.join("defrag.csv"));
    assert_eq!(defrag.len(), 3);
    for r in &defrag {
        // Moving values neither frees nor leaks them.
        let (before, after) = (num(r, "used_before_bytes"), num(r, "used_after_bytes"));
        assert!((after - before).abs() < 0.01 * before, "{r:?}");
        assert_eq!(r["started"], "true", "{r:?}");
        assert!(num(r, "hits") > 0.0);
    }
    for a in ["system", "jemalloc", "mimalloc"] {
        assert_eq!(
            end_row(&frag, a, "idle")["keys"],
            end_row(&frag, a, "defrag")["keys"]
        );
    }
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("Memory realism") && report.contains("Redis FAQ"));
    for stem in [
        "frag_timeline_system",
        "frag_ratio_by_phase",
        "overhead_per_key",
    ] {
        assert!(
            out.join("plots").join(format!("{stem}.png")).exists(),
            "{stem}"
        );
    }
    let meta = std::fs::read_to_string(out.join("metadata.json")).unwrap();
    assert!(
        meta.contains("\"allocator\": \"glibc-") && meta.contains("mimalloc-"),
        "{meta}"
    );
    // The report re-renders from the CSVs alone.
    std::fs::remove_file(out.join("report.md")).unwrap();
    run_ok(&["report", out.to_str().unwrap()]);
    assert!(
        std::fs::read_to_string(out.join("report.md"))
            .unwrap()
            .contains("Redis FAQ")
    );
}

#[test]
fn logical_columns_are_deterministic_across_allocators_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let logical = |name: &str| -> Vec<Vec<(String, String, String)>> {
        let out = dir.path().join(name);
        run_ok(&[
            "frag",
            "--allocators",
            "system,jemalloc,mimalloc",
            "--quick",
            "--fill",
            "4mb",
            "--overhead-keys",
            "0",
            "--idle-ms",
            "0",
            "--no-defrag",
            "--seed",
            "7",
            "--out",
            out.to_str().unwrap(),
        ]);
        let frag = read_rows(&out.join("frag.csv"));
        ["system", "jemalloc", "mimalloc"]
            .iter()
            .map(|a| {
                ["fill", "delete", "refill"]
                    .iter()
                    .map(|p| {
                        let r = end_row(&frag, a, p);
                        (p.to_string(), r["keys"].clone(), r["logical_bytes"].clone())
                    })
                    .collect()
            })
            .collect()
    };
    let a = logical("a");
    assert_eq!(a[0], a[1]);
    assert_eq!(a[0], a[2]);
    assert_eq!(a, logical("b"));
}

#[test]
fn frag_bad_input_names_the_value() {
    for (args, needle) in [
        (vec!["frag", "--allocators", "system,tcmalloc"], "tcmalloc"),
        (vec!["frag", "--sizes", "512-64"], "512-64"),
        (vec!["frag", "--delete-fraction", "1.5"], "1.5"),
        (vec!["frag", "--fill", "lots"], "lots"),
    ] {
        let out = experiment().args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
