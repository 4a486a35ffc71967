//! End-to-end run of `experiment cow` on a tiny dataset (real forks, real COW).

use evictlab_experiments::cow::{self, Distribution, SnapshotMode, ThpMode};

#[test]
fn tiny_cow_run_produces_consistent_rows_and_csvs() {
    let out = std::env::temp_dir().join(format!("evictlab-cow-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let mut args = cow::quick_args(&out);
    args.dataset = 8 << 20;
    args.write_rates = vec![0, 50_000];
    args.thp = vec![ThpMode::Off];
    args.snapshot = vec![SnapshotMode::Fork, SnapshotMode::Forkless];
    args.save_bandwidth = 40 << 20;
    args.distribution = Distribution::Uniform;
    let mut seen = 0;
    let s = cow::run_with_progress(&args, &mut |p| {
        seen = p.done;
        assert_eq!(p.total, 4);
    })
    .unwrap();
    assert_eq!(seen, 4);
    for r in &s.rows {
        eprintln!("{r:?}");
    }
    assert_eq!(s.rows.len(), 4);
    let fork_busy = s
        .rows
        .iter()
        .find(|r| r.snapshot == "fork" && r.write_rate > 0)
        .unwrap();
    let forkless_busy = s
        .rows
        .iter()
        .find(|r| r.snapshot == "forkless" && r.write_rate > 0)
        .unwrap();
    let fork_idle = s
        .rows
        .iter()
        .find(|r| r.snapshot == "fork" && r.write_rate == 0)
        .unwrap();
    for r in &s.rows {
        assert_eq!(r.status, "ok");
    }
    // Measured COW agrees with the parent-side page count (within 10 %) and the model.
    let truth = ((fork_busy.dirtied_pages + fork_busy.released_pages) * 4096) as f64;
    let cow = fork_busy.cow_final_bytes as f64;
    assert!(fork_busy.dirtied_pages > 500, "{fork_busy:?}");
    assert!(
        (cow - truth).abs() <= 0.1 * truth,
        "COW {cow} vs ground truth {truth}"
    );
    let pred = fork_busy.predicted_cow_bytes as f64;
    assert!(
        (pred - truth).abs() <= 0.15 * truth,
        "prediction {pred} vs ground truth {truth}"
    );
    // No writes, (almost) no COW; forkless costs far less than fork under the same writes.
    assert!(fork_idle.cow_final_bytes < 1 << 20, "{fork_idle:?}");
    assert!(forkless_busy.extra_memory_peak_bytes < fork_busy.extra_memory_peak_bytes / 4);
    assert!(forkless_busy.forkless_keys_by_hook > 0);
    assert!(fork_busy.fork_usec > 0 && forkless_busy.fork_usec == 0);
    let csv = std::fs::read_to_string(&s.csv).unwrap();
    let header = csv.lines().next().unwrap();
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
            header.split(',').any(|c| c == col),
            "missing column {col}: {header}"
        );
    }
    let ts = std::fs::read_to_string(&s.timeseries_csv).unwrap();
    assert!(ts.lines().count() > 4);
    std::fs::remove_dir_all(&out).unwrap();
}
