//! The research and oracle policies against libCacheSim 0.3.5 (the `libcachesim` Python
//! package on PyPI: libCacheSim's own C simulator behind Python bindings).
//!
//! `tests/libcachesim_ref.py` replays each trace through libCacheSim with its default
//! parameters (every object 1 byte, so a cache of N bytes holds N objects); this test
//! replays the same ids through the engine (GET; on a miss, SET — keys memory mode, strict
//! enforcement, `maxmemory` = N keys) and compares the miss counts. Each policy must be as
//! close as its registry entry claims ([`evictlab_engine::policy::reference`]): equal for
//! `exact`, within the stated miss-ratio difference otherwise.
//!
//! Needs `$EVICTLAB_LCS_PYTHON`, a Python interpreter that can `import libcachesim` (`.ci/run`
//! creates a virtual environment and sets it), and the shared traces; without either the
//! test prints why and passes.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::Command;

use evictlab_engine::policy::{Closeness, REFERENCES, Reference};

use crate::util::{engine_hits, engine_misses_with, next_accesses, read_ids, traces_dir};

/// Traces (text ids) and cache sizes as fractions of their distinct objects.
const TRACES: &[&str] = &[
    "caffeine/lirs/multi1.trace",
    "caffeine/lirs/sprite.trace",
    "caffeine/lirs/2_pools.trace",
    "caffeine/lirs/ps.trace",
    "libcachesim/cloudPhysicsIO.txt",
];
const FRACTIONS: &[f64] = &[0.05, 0.1, 0.4];

/// libCacheSim's cache for a checked configuration: the script's name, `policy` or
/// `policy:variant`.
fn script_name(r: &Reference) -> String {
    match r.variant {
        None => r.policy.to_string(),
        Some(v) => format!("{}:{v}", r.policy),
    }
}

/// The `lab-policy-param`s that select a checked configuration.
fn lab_params(r: &Reference) -> Vec<(&'static str, &'static str)> {
    r.variant.map(|v| ("variant", v)).into_iter().collect()
}

/// Runs the script; returns (policy, size) → misses.
fn libcachesim_misses(
    python: &Path,
    trace: &Path,
    sizes: &[u64],
    policies: &[&str],
) -> BTreeMap<(String, u64), u64> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/libcachesim_ref.py");
    let sizes_arg = sizes
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let out = Command::new(python)
        .arg(&script)
        .arg(trace)
        .arg(&sizes_arg)
        .arg(policies.join(","))
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", python.display()));
    assert!(
        out.status.success(),
        "{} {} failed: {}",
        python.display(),
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut m = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(f.len(), 4, "unexpected script output {line:?}");
        m.insert(
            (f[0].to_string(), f[1].parse().unwrap()),
            f[2].parse().unwrap(),
        );
    }
    m
}

#[test]
fn research_policies_match_libcachesim() {
    let Some(python) = std::env::var_os("EVICTLAB_LCS_PYTHON") else {
        println!(
            "SKIPPED: EVICTLAB_LCS_PYTHON is not set (a Python with `libcachesim==0.3.5`; .ci/run creates one)"
        );
        return;
    };
    let Some(dir) = traces_dir() else {
        println!("SKIPPED: ../shared/traces is absent (set EVICTLAB_TRACES)");
        return;
    };
    let only = std::env::var("EVICTLAB_LCS_ONLY").ok();
    let cases: Vec<&Reference> = REFERENCES
        .iter()
        .filter(|r| {
            only.as_deref()
                .is_none_or(|o| o.split(',').any(|x| x == r.policy || x == script_name(r)))
        })
        .collect();
    // configuration → worst |Δ miss ratio| and where.
    let mut worst: BTreeMap<String, (f64, String)> = BTreeMap::new();
    let mut failures = Vec::new();
    for name in TRACES {
        let path = dir.join(name);
        let ids = read_ids(&path);
        let next = next_accesses(&ids);
        let distinct = ids.iter().collect::<HashSet<_>>().len() as f64;
        let sizes: Vec<u64> = FRACTIONS.iter().map(|f| (distinct * f) as u64).collect();
        let lcs_names: Vec<String> = cases.iter().map(|r| script_name(r)).collect();
        let lcs_refs: Vec<&str> = lcs_names.iter().map(String::as_str).collect();
        let lcs_misses = libcachesim_misses(Path::new(&python), &path, &sizes, &lcs_refs);
        for (claim, lcs_name) in cases.iter().zip(&lcs_names) {
            let params = lab_params(claim);
            for &size in &sizes {
                let lab = engine_misses_with(claim.policy, &params, size, &ids, &next);
                let lcs = lcs_misses[&(lcs_name.clone(), size)];
                let diff = (lab as f64 - lcs as f64).abs() / ids.len() as f64;
                println!(
                    "{name} size {size}: {lcs_name} lab {lab} libCacheSim {lcs} (Δ miss ratio {diff:.4})"
                );
                let w = worst
                    .entry(lcs_name.clone())
                    .or_insert((0.0, String::new()));
                if diff > w.0 || w.1.is_empty() {
                    *w = (diff, format!("{name} size {size}"));
                }
                let ok = match claim.closeness {
                    Closeness::Exact => lab == lcs,
                    Closeness::Within(d) => diff <= d,
                };
                if !ok {
                    failures.push(format!(
                        "{lcs_name} on {name} size {size}: lab {lab} vs libCacheSim {lcs} misses (Δ {diff:.4}), claimed {}",
                        claim.closeness
                    ));
                }
            }
        }
    }
    println!("worst |Δ miss ratio| per policy:");
    for (p, (d, at)) in &worst {
        println!("  {p:12} {d:.4} ({at})");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A debugging aid, run by hand: the first request where the engine and libCacheSim
/// disagree (hit vs miss), for `EVICTLAB_LCS_DIVERGE="POLICY TRACE SIZE"` (POLICY as the
/// script names it, `name` or `name:variant`; TRACE relative to the traces folder), with the
/// requests just before it.
#[test]
#[ignore = "debugging aid; needs EVICTLAB_LCS_PYTHON and EVICTLAB_LCS_DIVERGE"]
fn first_divergence_from_libcachesim() {
    let python = std::env::var_os("EVICTLAB_LCS_PYTHON").expect("EVICTLAB_LCS_PYTHON");
    let spec = std::env::var("EVICTLAB_LCS_DIVERGE").expect("EVICTLAB_LCS_DIVERGE");
    let [policy, trace, size]: [&str; 3] = spec
        .split_whitespace()
        .collect::<Vec<_>>()
        .try_into()
        .expect("POLICY TRACE SIZE");
    let path = traces_dir().expect("traces").join(trace);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/libcachesim_ref.py");
    let out = Command::new(python)
        .args([script.as_os_str(), "--hits".as_ref(), path.as_os_str()])
        .args([size, policy])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reference: Vec<bool> = out
        .stdout
        .iter()
        .filter(|b| b.is_ascii_digit())
        .map(|&b| b == b'1')
        .collect();
    let ids = read_ids(&path);
    let size: u64 = size.parse().unwrap();
    let (name, params) = match policy.split_once(':') {
        Some((name, variant)) => (name, vec![("variant", variant)]),
        None => (policy, vec![]),
    };
    let lab = engine_hits(name, &params, size, &ids);
    assert_eq!(lab.len(), reference.len());
    match (0..lab.len()).find(|&i| lab[i] != reference[i]) {
        None => println!("no divergence over {} requests", lab.len()),
        Some(i) => {
            let from = i.saturating_sub(30);
            for j in from..=i {
                println!(
                    "{j:8} id {:10} lab {} libCacheSim {}",
                    ids[j], lab[j] as u8, reference[j] as u8
                );
            }
            panic!("first divergence at request {i} (id {})", ids[i]);
        }
    }
}
