//! Helpers shared by the integration test modules: running the `experiment` binary, reading
//! the CSVs it writes, the real traces, and replaying a trace through the engine the way the
//! hit-rate runner does (`Engine::get_or_fill_id`: GET, and SET on a miss, on the fast path).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use evictlab_engine::{Config, Engine, FillOutcome, NEVER, WriteOutcome};

/// The `experiment` binary built for these tests.
pub fn experiment() -> Command {
    Command::new(env!("CARGO_BIN_EXE_experiment"))
}

/// Runs `experiment ARGS`, asserts it succeeded, returns its stdout.
pub fn run_ok(args: &[&str]) -> String {
    run_ok_with(experiment(), args)
}

/// [`run_ok`] with `dir` as the working directory.
pub fn run_ok_in(dir: &Path, args: &[&str]) -> String {
    let mut cmd = experiment();
    cmd.current_dir(dir);
    run_ok_with(cmd, args)
}

fn run_ok_with(mut cmd: Command, args: &[&str]) -> String {
    let out = cmd.args(args).output().expect("run experiment");
    assert!(
        out.status.success(),
        "experiment {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `experiment ARGS`, asserts it failed, returns its stderr.
pub fn run_err(args: &[&str]) -> String {
    let out = experiment().args(args).output().expect("run experiment");
    assert!(!out.status.success(), "experiment {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// One CSV row: column → cell.
pub type Row = HashMap<String, String>;

/// A CSV file's header and rows (quoted cells unquoted).
pub fn read_table(path: &Path) -> (Vec<String>, Vec<Row>) {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let headers: Vec<String> = r
        .headers()
        .unwrap_or_else(|e| panic!("{path:?}: {e}"))
        .iter()
        .map(String::from)
        .collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.unwrap_or_else(|e| panic!("{path:?}: {e}"));
            headers
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect();
    (headers, rows)
}

/// A CSV file's rows.
pub fn read_rows(path: &Path) -> Vec<Row> {
    read_table(path).1
}

/// The numeric cell `col` of `row`; panics naming it if absent or not a number.
pub fn num(row: &Row, col: &str) -> f64 {
    let v = row
        .get(col)
        .unwrap_or_else(|| panic!("no column {col} in {row:?}"));
    v.parse()
        .unwrap_or_else(|_| panic!("{col} = {v:?} is not a number"))
}

/// The real traces: `$EVICTLAB_TRACES`, else `../shared/traces` from the workspace root (or
/// `../../shared/traces`, for a git worktree one level down); `None` if absent.
pub fn traces_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("EVICTLAB_TRACES") {
        return Some(PathBuf::from(d));
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    [
        root.join("../shared/traces"),
        root.join("../../shared/traces"),
    ]
    .into_iter()
    .find(|d| d.is_dir())
}

/// One decimal id per line; skips empty lines and the LIRS `*` checkpoint markers; accepts
/// CRLF. Panics on anything else (the traces are fixed files).
pub fn read_ids(path: &Path) -> Vec<u64> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('*'))
        .map(|l| {
            l.parse()
                .unwrap_or_else(|_| panic!("{}: not an id: {l:?}", path.display()))
        })
        .collect()
}

/// For each request, the index of the next request to the same id ([`NEVER`] if none).
pub fn next_accesses(ids: &[u64]) -> Vec<u64> {
    let mut next = vec![NEVER; ids.len()];
    let mut seen: HashMap<u64, u64> = HashMap::new();
    for (i, &id) in ids.iter().enumerate().rev() {
        if let Some(&j) = seen.get(&id) {
            next[i] = j;
        }
        seen.insert(id, i as u64);
    }
    next
}

/// Misses of the engine replaying `ids` as a cache of `size` objects under `policy` with
/// `lab-policy-param NAME VALUE` pairs: keys memory mode, strict enforcement, each request
/// a cache-aside `get_or_fill_id` (the hit-rate runner's entry point), the oracle set for
/// policies that need it.
pub fn engine_misses_with(
    policy: &str,
    params: &[(&str, &str)],
    size: u64,
    ids: &[u64],
    next: &[u64],
) -> u64 {
    replay(policy, params, size, ids, next, |_| {})
}

/// Whether each request of `ids` hits, replayed as in [`engine_misses_with`] (no oracle).
pub fn engine_hits(policy: &str, params: &[(&str, &str)], size: u64, ids: &[u64]) -> Vec<bool> {
    let mut hits = Vec::with_capacity(ids.len());
    let next = vec![NEVER; ids.len()];
    replay(policy, params, size, ids, &next, |h| hits.push(h));
    hits
}

/// [`engine_misses_with`], reporting each request's hit to `on_request`.
fn replay(
    policy: &str,
    params: &[(&str, &str)],
    size: u64,
    ids: &[u64],
    next: &[u64],
    mut on_request: impl FnMut(bool),
) -> u64 {
    let mut c = Config::default();
    for (k, v) in [
        ("maxmemory-policy", policy),
        ("lab-memory-mode", "keys"),
        ("lab-enforcement", "strict"),
        ("maxmemory", &size.to_string()),
    ] {
        c.set(k, &[v]).unwrap();
    }
    for (name, value) in params {
        c.set("lab-policy-param", &[name, value]).unwrap();
    }
    let mut e = Engine::new(c, 7).unwrap();
    let oracle = e.policy_info().needs_next_access;
    for (i, &id) in ids.iter().enumerate() {
        if oracle {
            e.set_oracle(i as u64, next[i]);
        }
        match e.get_or_fill_id(id, 1, 0) {
            FillOutcome::Hit(_) => on_request(true),
            FillOutcome::Filled | FillOutcome::NotFilled(WriteOutcome::Bypassed) => {
                on_request(false)
            }
            other => panic!("{policy}: fill of {id} gave {other:?}"),
        }
        assert!(e.len() as u64 <= size);
    }
    e.check_invariants().unwrap();
    e.stats().keyspace_misses
}
