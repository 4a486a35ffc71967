//! The `experiment` binary end to end: columns, determinism across thread counts, sharded
//! sweeps merged back into a single-machine result, bad input.

use std::path::Path;

use crate::util::{run_err, run_ok};

/// The CSV with the timing columns blanked (the only non-deterministic ones).
fn deterministic_csv(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let timing: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| **h == "requests_per_sec")
        .map(|(i, _)| i)
        .collect();
    let mut out = header.join(",") + "\n";
    for l in lines {
        let cells: Vec<&str> = l
            .split(',')
            .enumerate()
            .map(|(i, c)| if timing.contains(&i) { "" } else { c })
            .collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

const HITRATE_ARGS: &[&str] = &[
    "hitrate",
    "--workload",
    "zipf:0.9",
    "--keys",
    "2000",
    "--requests",
    "20000",
    "--policies",
    "lru,allkeys-lru,allkeys-lfu,noeviction",
    "--sizes",
    "0.05,0.2",
    "--samples",
    "1,5",
    "--seed",
    "3",
];

#[test]
fn hitrate_writes_the_documented_columns_and_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let mut args = HITRATE_ARGS.to_vec();
    args.extend(["--out", out.to_str().unwrap()]);
    run_ok(&args);
    let csv = std::fs::read_to_string(out.join("hitrate.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    for col in [
        "workload",
        "policy",
        "samples",
        "capacity",
        "capacity_unit",
        "requests",
        "gets",
        "hits",
        "misses",
        "hit_ratio",
        "byte_hit_ratio",
        "evicted_keys",
        "expired_keys",
        "oom_rejections",
        "requests_per_sec",
    ] {
        assert!(
            header.split(',').any(|h| h == col),
            "missing column {col} in {header}"
        );
    }
    // 2 sizes × (lru + noeviction + 2 sampled policies × 2 sample counts) = 12 rows.
    assert_eq!(csv.lines().count(), 1 + 12);
    assert!(out.join("report.md").exists());
    assert!(out.join("metadata.json").exists());
    let meta = std::fs::read_to_string(out.join("metadata.json")).unwrap();
    for field in [
        "\"seed\": 3",
        "\"kernel\"",
        "\"thp_enabled\"",
        "\"overcommit_memory\"",
        "\"cpu_model\"",
    ] {
        assert!(meta.contains(field), "metadata lacks {field}");
    }
}

/// `metadata.json`'s `git_commit` is the commit the binary was built from (recorded by
/// `experiments/build.rs`), whatever the working directory: here a temporary directory
/// outside any checkout. Skips (with a message) where `git` or the checkout is missing.
#[test]
fn metadata_records_the_commit_the_binary_was_built_from() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let Some(head) = git(&["rev-parse", "HEAD"]) else {
        eprintln!(
            "SKIP metadata_records_the_commit: no git checkout at {}",
            root.display()
        );
        return;
    };
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    let want = if dirty { format!("{head}-dirty") } else { head };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    crate::util::run_ok_in(
        dir.path(),
        &[
            "hitrate",
            "--keys",
            "100",
            "--requests",
            "1000",
            "--policies",
            "lru",
            "--sizes",
            "0.5",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let meta = std::fs::read_to_string(out.join("metadata.json")).unwrap();
    let line = format!("\"git_commit\": \"{want}\"");
    assert!(meta.contains(&line), "metadata lacks {line}:\n{meta}");
}

#[test]
fn hitrate_is_byte_identical_with_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let mut outs = Vec::new();
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("t{threads}"));
        let mut args = HITRATE_ARGS.to_vec();
        args.extend(["--threads", threads, "--out", out.to_str().unwrap()]);
        run_ok(&args);
        outs.push(out);
    }
    assert_eq!(
        deterministic_csv(&outs[0].join("hitrate.csv")),
        deterministic_csv(&outs[1].join("hitrate.csv"))
    );
    // Plots are deterministic too.
    for f in ["hitrate_0_miss_ratio.svg", "hitrate_0_miss_ratio.png"] {
        assert_eq!(
            std::fs::read(outs[0].join("plots").join(f)).unwrap(),
            std::fs::read(outs[1].join("plots").join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn a_sharded_sweep_merges_into_the_single_machine_result() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("sweep.toml");
    std::fs::write(
        &spec,
        r#"
name = "t"
seeds = [1, 2]
policies = ["lru", "allkeys-lru"]
sizes = [0.1, 0.3]
[[workloads]]
spec = "hotspot:0.2:0.8"
keys = 1000
requests = 10000
"#,
    )
    .unwrap();
    let s = spec.to_str().unwrap();
    let dry = run_ok(&["run", s, "--dry-run"]);
    assert!(dry.contains("8 cells"), "{dry}");
    let single = dir.path().join("single");
    run_ok(&["run", s, "--out", single.to_str().unwrap()]);
    let mut shards = Vec::new();
    for i in 0..3 {
        let d = dir.path().join(format!("shard{i}"));
        run_ok(&[
            "run",
            s,
            "--shard",
            &format!("{i}/3"),
            "--out",
            d.to_str().unwrap(),
        ]);
        shards.push(d.to_str().unwrap().to_string());
    }
    let merged = dir.path().join("merged");
    let mut args = vec!["merge"];
    args.extend(shards.iter().map(String::as_str));
    args.extend(["--out", merged.to_str().unwrap()]);
    run_ok(&args);
    assert_eq!(
        deterministic_csv(&single.join("hitrate.csv")),
        deterministic_csv(&merged.join("hitrate.csv"))
    );
    // A missing shard is an error naming the missing cells.
    let err = run_err(&[
        "merge",
        &shards[0],
        &shards[1],
        "--out",
        dir.path().join("bad").to_str().unwrap(),
    ]);
    assert!(err.contains("cells missing"), "{err}");
}

#[test]
fn bad_input_gets_errors_that_name_the_value_and_the_choices() {
    let err = run_err(&["hitrate", "--policies", "lru,nope", "--requests", "10"]);
    assert!(err.contains("nope") && err.contains("allkeys-lru"), "{err}");
    let err = run_err(&["hitrate", "--workload", "zipff:1", "--requests", "10"]);
    assert!(err.contains("zipff"), "{err}");
    let err = run_err(&[
        "hitrate",
        "--trace",
        "/nonexistent/x.trace",
        "--trace-format",
        "nope",
    ]);
    assert!(
        err.contains("oracle-general") && err.contains("lirs"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("bad.toml");
    std::fs::write(&spec, "name = \"t\"\nsizes = 0.1\npolicy = \"lru\"\n").unwrap();
    let err = run_err(&["run", spec.to_str().unwrap()]);
    assert!(err.contains("policy") && err.contains("policies"), "{err}");
}

#[test]
fn list_and_export_work() {
    let p = run_ok(&["list", "policies"]);
    assert!(p.contains("allkeys-lru") && p.contains("noeviction"));
    // Each checked configuration's reference and closeness, as `policy::REFERENCES` states.
    for r in evictlab_engine::policy::REFERENCES {
        let line = format!("{}, {}", r.source, r.closeness);
        assert!(p.contains(&line), "{} missing {line:?}", r.policy);
    }
    assert!(p.contains("reproduces (variant v0): libCacheSim 0.3.5 S3FIFOv0.c"));
    let f = run_ok(&["list", "formats"]);
    assert!(f.contains("oracle-general"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("w.csv");
    let msg = run_ok(&[
        "export",
        "--workload",
        "zipf:0.9",
        "--keys",
        "100",
        "--requests",
        "500",
        "--seed",
        "1",
        "--format",
        "csv",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(msg.contains("500 requests"));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 501);
    // Replaying the exported file gives the same hit ratios as the generator.
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    run_ok(&[
        "hitrate",
        "--workload",
        "zipf:0.9",
        "--keys",
        "100",
        "--requests",
        "500",
        "--seed",
        "1",
        "--policies",
        "lru",
        "--sizes",
        "0.2",
        "--out",
        a.to_str().unwrap(),
    ]);
    run_ok(&[
        "hitrate",
        "--trace",
        out.to_str().unwrap(),
        "--policies",
        "lru",
        "--sizes",
        "0.2",
        "--seed",
        "1",
        "--out",
        b.to_str().unwrap(),
    ]);
    let hits = |d: &Path| {
        let t = std::fs::read_to_string(d.join("hitrate.csv")).unwrap();
        let header: Vec<String> = t
            .lines()
            .next()
            .unwrap()
            .split(',')
            .map(String::from)
            .collect();
        let i = header.iter().position(|h| h == "hits").unwrap();
        t.lines()
            .nth(1)
            .unwrap()
            .split(',')
            .nth(i)
            .unwrap()
            .to_string()
    };
    assert_eq!(hits(&a), hits(&b));
}

#[test]
fn report_re_renders_from_the_csv_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let mut args = HITRATE_ARGS.to_vec();
    args.extend(["--out", out.to_str().unwrap()]);
    run_ok(&args);
    let before = std::fs::read_to_string(out.join("report.md")).unwrap();
    std::fs::remove_dir_all(out.join("plots")).unwrap();
    std::fs::remove_file(out.join("report.md")).unwrap();
    run_ok(&["report", out.to_str().unwrap()]);
    assert!(out.join("plots/hitrate_0_miss_ratio.png").exists());
    let after = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(after.contains("Which keys survive"));
    assert!(before.contains("Which keys survive"));
}
