//! `experiment hitrate --config "lab-server echovault"`: the run answers for EchoVault (its
//! seven policies, its memory estimate in bytes, eviction after each write), the report says
//! so and states where EchoVault's code departs from its docs; contradictions are errors
//! naming both settings.

use crate::util::{read_rows, run_err, run_ok};

const ARGS: &[&str] = &[
    "hitrate",
    "--workload",
    "zipf:0.9,size=fixed:100,ttl=0.5:fixed:600000",
    "--keys",
    "2000",
    "--requests",
    "20000",
    "--size-unit",
    "bytes",
    "--sizes",
    "20000,60000",
    "--seed",
    "3",
    "--config",
    "lab-server echovault",
];

#[test]
fn hitrate_under_lab_server_echovault_answers_for_echovault() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    let mut args = ARGS.to_vec();
    args.extend(["--out", out.to_str().unwrap()]);
    run_ok(&args);
    let rows = read_rows(&out.join("hitrate.csv"));
    // `all` is EchoVault's seven policies, at two sizes, no samples.
    assert_eq!(rows.len(), 14);
    for r in &rows {
        assert!(r["policy"].starts_with("echovault-"), "{r:?}");
        assert!(r["config"].contains("lab-server echovault"), "{r:?}");
        assert!(r["config"].contains("lab-memory-mode echovault"), "{r:?}");
        assert_eq!(r["samples"], "");
    }
    let by = |p: &str, cap: &str| {
        rows.iter()
            .find(|r| r["policy"] == p && r["capacity"] == cap)
            .unwrap_or_else(|| panic!("{p} {cap}"))
    };
    // noeviction never evicts and refuses writes at the limit; the others evict.
    assert_eq!(by("echovault-noeviction", "20000")["evicted_keys"], "0");
    assert_ne!(by("echovault-noeviction", "20000")["oom_rejections"], "0");
    for p in [
        "echovault-allkeys-lfu",
        "echovault-allkeys-lru",
        "echovault-volatile-lru",
    ] {
        assert_ne!(by(p, "20000")["evicted_keys"], "0", "{p}");
        assert_eq!(
            by(p, "20000")["oom_rejections"],
            "0",
            "{p}: EchoVault never refuses"
        );
    }
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("Server modelled: **EchoVault**"),
        "{report}"
    );
    assert!(report.contains("b0744d9"), "{report}");
    assert!(report.contains("most recently used key"), "{report}");
}

#[test]
fn the_default_server_is_redis_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r");
    run_ok(&[
        "hitrate",
        "--workload",
        "zipf:0.9",
        "--keys",
        "500",
        "--requests",
        "2000",
        "--policies",
        "all",
        "--sizes",
        "0.1",
        "--samples",
        "5",
        "--out",
        out.to_str().unwrap(),
    ]);
    let rows = read_rows(&out.join("hitrate.csv"));
    assert!(rows.iter().all(|r| !r["policy"].starts_with("echovault-")));
    assert!(rows.iter().any(|r| r["policy"] == "allkeys-lfu"));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("Server modelled: **Redis 7**"), "{report}");
}

#[test]
fn contradictions_with_lab_server_echovault_name_both() {
    let with = |extra: &[&str]| {
        let mut a = ARGS.to_vec();
        a.extend(extra);
        run_err(&a)
    };
    let e = with(&["--config", "lab-memory-mode redis"]);
    assert!(
        e.contains("lab-memory-mode") && e.contains("lab-server echovault"),
        "{e}"
    );
    let e = with(&["--enforcement", "strict"]);
    assert!(
        e.contains("enforcement") && e.contains("lab-server echovault"),
        "{e}"
    );
    let e = with(&["--policies", "volatile-ttl"]);
    assert!(
        e.contains("volatile-ttl") && e.contains("lab-server echovault"),
        "{e}"
    );
    let mut keys = ARGS.to_vec();
    keys[8] = "keys";
    keys[10] = "100";
    let e = run_err(&keys);
    assert!(
        e.contains("lab-server echovault") && e.contains("bytes"),
        "{e}"
    );
}
