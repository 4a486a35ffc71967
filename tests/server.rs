//! `experiment server`, `compare` and `regress` end to end. The server tests need a real
//! Redis-protocol server: `.ci/run` starts `redis-server` and exports `EVICTLAB_REDIS_URL`;
//! without it they skip with a message. They share one server, so they run one at a time.

use std::path::Path;
use std::sync::Mutex;

use crate::util::{experiment, num, read_table, run_ok};

pub(crate) static SERVER: Mutex<()> = Mutex::new(());

/// The server URL, or None (with a message) when no server was provided.
pub(crate) fn server_url() -> Option<String> {
    match std::env::var("EVICTLAB_REDIS_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!(
                "skipping: EVICTLAB_REDIS_URL is unset (install redis-server, start it, e.g. \
                 `redis-server --port 6399 --save '' --daemonize yes`, and export \
                 EVICTLAB_REDIS_URL=redis://127.0.0.1:6399; .ci/run does this)"
            );
            None
        }
    }
}

#[test]
fn server_run_counts_match_the_servers_keyspace_counters() {
    let Some(url) = server_url() else { return };
    let _g = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s");
    run_ok(&[
        "server",
        "--url",
        &url,
        "--workload",
        "zipf:0.9",
        "--keys",
        "3000",
        "--requests",
        "40000",
        "--sizes",
        "0.1",
        "--policies",
        "allkeys-lru,noeviction",
        "--out",
        out.to_str().unwrap(),
    ]);
    let (headers, rows) = read_table(&out.join("server.csv"));
    let (hit_headers, _) = {
        // hitrate.csv's columns come first, in the same order.
        let h = "cell,workload,policy,samples,capacity,capacity_unit,capacity_fraction,seed,\
                 requests,gets,hits,misses,hit_ratio,byte_hit_ratio,evicted_keys,expired_keys,\
                 oom_rejections,admission_bypasses,virtual_ms,config,requests_per_sec";
        (h.split(',').map(String::from).collect::<Vec<_>>(), ())
    };
    assert_eq!(&headers[..hit_headers.len()], &hit_headers[..]);
    for c in [
        "keyspace_hits",
        "keyspace_misses",
        "used_memory",
        "used_memory_rss",
        "mem_fragmentation_ratio",
        "rdb_last_cow_size",
        "latest_fork_usec",
        "keys",
        "maxmemory",
        "memory_per_key",
    ] {
        assert!(headers.iter().any(|h| h == c), "missing column {c}");
    }
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(r["hits"], r["keyspace_hits"], "{r:?}");
        assert_eq!(r["misses"], r["keyspace_misses"], "{r:?}");
        assert_eq!(num(r, "requests"), 40000.0);
    }
    let lru = rows.iter().find(|r| r["policy"] == "allkeys-lru").unwrap();
    assert!(num(lru, "evicted_keys") > 0.0);
    assert_eq!(num(lru, "oom_rejections"), 0.0);
    let noev = rows.iter().find(|r| r["policy"] == "noeviction").unwrap();
    assert_eq!(num(noev, "evicted_keys"), 0.0);
    assert!(num(noev, "oom_rejections") > 0.0, "{noev:?}");
    assert!(out.join("server_timeseries.csv").exists());
    assert!(
        std::fs::read_to_string(out.join("report.md"))
            .unwrap()
            .contains("Real server")
    );
}

#[test]
fn paced_and_unpaced_runs() {
    let Some(url) = server_url() else { return };
    let _g = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let rate = |extra: &[&str], name: &str| {
        let out = dir.path().join(name);
        let mut args = vec![
            "server",
            "--url",
            &url,
            "--keys",
            "2000",
            "--requests",
            "15000",
            "--sizes",
            "0.2",
            "--policies",
            "allkeys-lru",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        run_ok(&args);
        let (_, rows) = read_table(&out.join("server.csv"));
        (
            num(&rows[0], "requests_per_sec"),
            num(&rows[0], "target_rate"),
        )
    };
    let (paced, target) = rate(&["--rate", "10000"], "paced");
    assert_eq!(target, 10000.0);
    assert!((7000.0..=10_500.0).contains(&paced), "paced at {paced}/s");
    let (unpaced, target) = rate(&[], "unpaced");
    assert_eq!(target, 0.0);
    assert!(unpaced > 0.0);
}

#[test]
fn compare_allkeys_lru_on_zipf_is_within_a_few_points_at_matched_key_count() {
    let Some(url) = server_url() else { return };
    let _g = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c");
    run_ok(&[
        "compare",
        "--url",
        &url,
        "--workload",
        "zipf:0.99",
        "--keys",
        "5000",
        "--requests",
        "100000",
        "--sizes",
        "0.1",
        "--policies",
        "allkeys-lru",
        "--out",
        out.to_str().unwrap(),
    ]);
    let (headers, rows) = read_table(&out.join("compare.csv"));
    for c in [
        "policy",
        "samples",
        "capacity",
        "capacity_unit",
        "engine_hit_ratio",
        "server_hit_ratio",
        "diff_pp",
        "match",
        "server_memory_per_key",
    ] {
        assert!(headers.iter().any(|h| h == c), "missing column {c}");
    }
    let keys = rows.iter().find(|r| r["match"] == "keys").unwrap();
    // The engine's capacity is the key count the server held at the end; where each ends
    // depends on whether the last command evicted, so allow one key either way.
    let (ek, sk) = (num(keys, "engine_keys"), num(keys, "server_keys"));
    assert!(
        (ek - sk).abs() <= 1.0,
        "engine holds {ek} keys, server {sk}"
    );
    let d = num(keys, "diff_pp");
    assert!(
        d.abs() < 3.0,
        "engine vs server at matched key count: {d:+.2} pp"
    );
    // At the same byte budget counting key + value only, the engine holds more keys.
    let bytes = rows.iter().find(|r| r["match"] == "logical-bytes").unwrap();
    assert!(
        num(bytes, "engine_keys") > num(bytes, "server_keys"),
        "{bytes:?}"
    );
    assert!(num(bytes, "server_memory_per_key") > num(bytes, "engine_memory_per_key"));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("Engine vs real server"));
    // The section re-renders from the CSVs alone.
    std::fs::remove_file(out.join("report.md")).unwrap();
    run_ok(&["report", out.to_str().unwrap()]);
    assert!(
        std::fs::read_to_string(out.join("report.md"))
            .unwrap()
            .contains("pp")
    );
}

/// Issue 11: at the same `maxmemory` in bytes, the engine under `lab-memory-mode redis`
/// (the server's probed jemalloc quantum, its empty `used_memory` as the base) must be
/// within 1 pp of the server for `allkeys-lru`, `allkeys-lfu` and `allkeys-random` at three
/// sizes, while counting key + value bytes only stays 1.5–3 pp too optimistic.
#[test]
fn compare_redis_model_is_within_one_point_at_the_same_maxmemory_bytes() {
    let Some(url) = server_url() else { return };
    let _g = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("c");
    run_ok(&[
        "compare",
        "--url",
        &url,
        "--workload",
        "zipf:0.99,size=uniform:100:1000",
        "--keys",
        "20000",
        "--requests",
        "200000",
        "--size-unit",
        "bytes",
        "--sizes",
        "1000000,3000000,6000000",
        "--policies",
        "allkeys-lru,allkeys-lfu,allkeys-random",
        "--out",
        out.to_str().unwrap(),
    ]);
    let (headers, rows) = read_table(&out.join("compare.csv"));
    for c in [
        "engine_memory_mode",
        "jemalloc_quantum",
        "engine_base_memory",
    ] {
        assert!(headers.iter().any(|h| h == c), "missing column {c}");
    }
    let bytes: Vec<_> = rows.iter().filter(|r| r["match"] == "bytes").collect();
    assert_eq!(bytes.len(), 9, "3 policies x 3 sizes");
    let mut failures = Vec::new();
    for r in &bytes {
        assert_eq!(r["engine_memory_mode"], "redis");
        assert!(
            ["8", "16"].contains(&r["jemalloc_quantum"].as_str()),
            "{r:?}"
        );
        assert_eq!(r["capacity"], r["server_maxmemory"]);
        let d = num(r, "diff_pp");
        if d.abs() >= 1.0 {
            failures.push(format!(
                "{} at maxmemory {}: engine {} server {} ({d:+.2} pp; keys {} vs {})",
                r["policy"],
                r["server_maxmemory"],
                r["engine_hit_ratio"],
                r["server_hit_ratio"],
                r["engine_keys"],
                r["server_keys"]
            ));
        }
    }
    assert!(failures.is_empty(), "cells not within 1 pp: {failures:#?}");
    let logical: Vec<_> = rows
        .iter()
        .filter(|r| r["match"] == "logical-bytes")
        .collect();
    assert_eq!(logical.len(), 9);
    let mean = logical.iter().map(|r| num(r, "diff_pp")).sum::<f64>() / 9.0;
    assert!(mean > 1.0, "counting key + value only: mean {mean:+.2} pp");
}

#[test]
fn bgsave_under_writes_writes_cow_rows() {
    let Some(url) = server_url() else { return };
    let _g = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("b");
    run_ok(&[
        "server",
        "--url",
        &url,
        "--keys",
        "2000",
        "--requests",
        "10000",
        "--sizes",
        "0.2",
        "--policies",
        "allkeys-lru",
        "--bgsave",
        "--bgsave-keys",
        "20000",
        "--bgsave-rates",
        "5000",
        "--bgsave-key-delay-us",
        "50",
        "--out",
        out.to_str().unwrap(),
    ]);
    let (_, rows) = read_table(&out.join("cow.csv"));
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r["snapshot"], "redis-bgsave");
    assert_eq!(r["status"], "ok", "{r:?}");
    assert_eq!(num(r, "keys"), 20000.0);
    assert!(num(r, "fork_usec") > 0.0);
    assert!(num(r, "writes_during_save") > 0.0, "{r:?}");
    assert!(
        num(r, "cow_peak_bytes") > 0.0,
        "writes during the save dirtied no page? {r:?}"
    );
}

fn quick_hitrate(out: &Path) {
    run_ok(&[
        "hitrate",
        "--workload",
        "zipf:0.9",
        "--keys",
        "2000",
        "--requests",
        "20000",
        "--policies",
        "lru,allkeys-lru",
        "--sizes",
        "0.05,0.2",
        "--threads",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
}

#[test]
fn regress_passes_on_identical_runs_and_fails_on_a_changed_miss_count() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    quick_hitrate(&a);
    quick_hitrate(&b);
    assert!(a.join("timings.csv").exists());
    let args = |cur: &Path| {
        vec![
            "regress".to_string(),
            "--baseline".into(),
            a.to_str().unwrap().into(),
            "--current".into(),
            cur.to_str().unwrap().into(),
            // Timing noise of parallel test runs is not what this test is about.
            "--tolerance".into(),
            "0.9".into(),
        ]
    };
    let ok = experiment().args(args(&b)).output().unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("no regression"));
    // Plant a regression: one more miss in one row.
    let path = b.join("hitrate.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let mi = header.iter().position(|h| *h == "misses").unwrap();
    let mut cells: Vec<String> = lines[2].split(',').map(String::from).collect();
    cells[mi] = (cells[mi].parse::<u64>().unwrap() + 1).to_string();
    lines[2] = cells.join(",");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let bad = experiment().args(args(&b)).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert!(
        stdout.contains("REGRESSION") && stdout.contains("misses"),
        "{stdout}"
    );
}
