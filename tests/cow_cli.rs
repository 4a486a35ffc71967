//! `experiment cow --quick` end to end: the documented columns, fork and forkless rows, the
//! child's measured COW against the parent's page-level ground truth, and the report.

use std::collections::HashMap;

use crate::util::{experiment, read_rows};

/// `cow.csv` as maps from column to cell.
#[test]
fn cow_quick_writes_fork_and_forkless_rows_with_cow_bounded_by_the_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cow");
    let o = experiment()
        .args(["cow", "--quick", "--out", out.to_str().unwrap()])
        .output()
        .expect("run experiment");
    assert!(
        o.status.success(),
        "experiment cow failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let header = std::fs::read_to_string(out.join("cow.csv")).unwrap();
    let header = header.lines().next().unwrap().to_string();
    for col in [
        "snapshot",
        "dataset_bytes",
        "keys",
        "value_size",
        "distribution",
        "write_rate",
        "thp",
        "fork_usec",
        "save_ms",
        "writes_during_save",
        "distinct_keys_written",
        "dirtied_pages",
        "cow_peak_bytes",
        "cow_final_bytes",
        "predicted_cow_bytes",
        "parent_rss_peak_bytes",
    ] {
        assert!(
            header.split(',').any(|h| h == col),
            "missing column {col} in {header}"
        );
    }
    let rows = read_rows(&out.join("cow.csv"));
    let num = |r: &HashMap<String, String>, c: &str| -> f64 {
        r[c].parse::<f64>()
            .unwrap_or_else(|_| panic!("{c} = {:?}", r[c]))
    };
    assert!(rows.iter().any(|r| r["snapshot"] == "fork"));
    assert!(rows.iter().any(|r| r["snapshot"] == "forkless"));
    assert!(rows.iter().all(|r| r["status"] == "ok"), "{rows:?}");
    let mut checked = 0;
    for r in rows.iter().filter(|r| r["snapshot"] == "fork") {
        let page = num(r, "page_size");
        let truth = num(r, "dirtied_pages") * page;
        let cow = num(r, "cow_final_bytes");
        // The child's COW cannot exceed what the parent copied (plus the child's own few
        // pages: pipe buffers, its stack), ...
        assert!(
            cow <= truth + 64.0 * page,
            "COW {cow} above ground truth {truth}: {r:?}"
        );
        // ... and once the parent has written a few thousand pages the child sees nearly all
        // of them.
        if num(r, "dirtied_pages") > 1000.0 {
            assert!(
                cow >= 0.9 * truth,
                "COW {cow} far below truth {truth}: {r:?}"
            );
            checked += 1;
        }
        assert!(num(r, "fork_usec") > 0.0);
    }
    assert!(checked >= 2, "too few fork rows with writes: {rows:?}");
    // Forkless does not copy pages: its peak extra memory stays far below fork's at the top
    // write rate.
    let top = rows
        .iter()
        .map(|r| num(r, "write_rate"))
        .fold(0.0, f64::max);
    let extra = |snap: &str| {
        rows.iter()
            .filter(|r| r["snapshot"] == snap && num(r, "write_rate") == top)
            .map(|r| num(r, "extra_memory_peak_bytes"))
            .fold(0.0, f64::max)
    };
    assert!(extra("forkless") < extra("fork"), "{rows:?}");
    let ts = std::fs::read_to_string(out.join("cow_timeseries.csv")).unwrap();
    assert!(ts.lines().any(|l| l.contains(",child,")));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("Fork CoW for RDB: current "), "{report}");
    assert!(report.contains("Redis cannot show"));
    assert!(out.join("plots/cow_0_vs_write_rate.png").exists());
    // `experiment report` re-renders the section from the CSVs alone.
    std::fs::remove_dir_all(out.join("plots")).unwrap();
    std::fs::remove_file(out.join("report.md")).unwrap();
    let o = experiment()
        .args(["report", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.join("plots/cow_fork_vs_forkless.png").exists());
    let again = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(again.contains("Snapshots and copy-on-write"));
}

#[test]
fn cow_report_plots_redis_bgsave_rows_alongside() {
    // A cow.csv with only the columns a server helper writes: missing columns default.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cow.csv"),
        "snapshot,dataset_bytes,keys,value_size,distribution,write_rate,thp,fork_usec,fork_ms_per_gb,save_ms,cow_peak_bytes,cow_final_bytes,cow_average_bytes,status\n\
         redis-bgsave,33554432,32768,1024,uniform,20000,off,900,27.5,350,20971520,20971520,10485760,ok\n\
         fork,33554432,32768,1024,uniform,20000,off,1000,30.1,360,24117248,24117248,13631488,ok\n",
    )
    .unwrap();
    let o = experiment()
        .args(["report", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(report.contains("A real Redis BGSAVE"), "{report}");
    assert!(report.contains("Fork CoW for RDB: current 20 MB, peak 20 MB, average 10 MB"));
}
