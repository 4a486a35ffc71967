//! Issue 12 ("nothing hangs and nothing lies"): every symptom of the issue as a regression
//! test of the `experiment` binary. Each run has a wall-clock bound; a run that exceeds it
//! is killed and the test fails.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The bound for one command of these tests (they replay tiny inputs; a hang is a bug).
const BOUND: Duration = Duration::from_secs(60);

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs `experiment args` and kills it after [`BOUND`].
fn run(args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_experiment"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn experiment");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).ok();
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).ok();
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if started.elapsed() > BOUND {
            child.kill().ok();
            child.wait().ok();
            panic!("experiment {args:?} ran longer than {BOUND:?} (hang)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        ok: status.success(),
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

/// Runs and expects failure; returns stderr.
fn fails(args: &[&str]) -> String {
    let r = run(args);
    assert!(
        !r.ok,
        "experiment {args:?} should fail; stdout:\n{}",
        r.stdout
    );
    r.stderr
}

/// Runs and expects success; returns stderr.
fn succeeds(args: &[&str]) -> String {
    let r = run(args);
    assert!(r.ok, "experiment {args:?} failed:\n{}", r.stderr);
    r.stderr
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn assert_has(text: &str, parts: &[&str]) {
    for p in parts {
        assert!(text.contains(p), "expected `{p}` in:\n{text}");
    }
}

// ---------------------------------------------------------------------------------------
// 1. Bounded time
// ---------------------------------------------------------------------------------------

#[test]
fn a_timestamp_near_u64_max_is_an_error_not_a_hang() {
    let d = tempfile::tempdir().unwrap();
    let t = write(
        d.path(),
        "t.csv",
        b"time_ms,op,key,value_size,ttl_ms\n0,get,1,1,0\n18446744073709551615,get,2,1,0\n",
    );
    let out = d.path().join("out");
    let e = fails(&[
        "hitrate",
        "--trace",
        s(&t),
        "--policies",
        "lru",
        "--sizes",
        "1",
        "--out",
        s(&out),
    ]);
    assert_has(
        &e,
        &[
            "t.csv:3",
            "time_ms",
            "18446744073709551615",
            "9007199254740992",
        ],
    );
}

#[test]
fn the_largest_accepted_time_replays_in_bounded_time() {
    let d = tempfile::tempdir().unwrap();
    let t = write(
        d.path(),
        "t.csv",
        b"time_ms,op,key,value_size,ttl_ms\n0,set,1,1,5\n9007199254740992,get,1,1,0\n9007199254740992,get,2,1,9007199254740992\n",
    );
    let out = d.path().join("out");
    succeeds(&[
        "hitrate",
        "--trace",
        s(&t),
        "--policies",
        "lru",
        "--sizes",
        "1",
        "--out",
        s(&out),
    ]);
}

#[test]
fn libcachesim_csv_times_out_of_range_are_errors() {
    let d = tempfile::tempdir().unwrap();
    for (i, t) in ["1.8e16", "1e300"].iter().enumerate() {
        let p = write(
            d.path(),
            &format!("l{i}.csv"),
            format!("time,obj_id,obj_size\n1,1,10\n{t},2,10\n").as_bytes(),
        );
        let e = fails(&[
            "hitrate",
            "--trace",
            s(&p),
            "--trace-format",
            "libcachesim-csv",
            "--policies",
            "lru",
            "--sizes",
            "1",
            "--out",
            s(&d.path().join("o")),
        ]);
        assert_has(&e, &[&format!("l{i}.csv:3"), "time", t, "9007199254740992"]);
    }
}

#[test]
fn a_ttl_of_u64_max_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let t = write(
        d.path(),
        "t.csv",
        b"op,key,value_size,ttl_ms\nset,1,1,18446744073709551615\nget,1,1,0\n",
    );
    let e = fails(&[
        "hitrate",
        "--trace",
        s(&t),
        "--policies",
        "lru",
        "--sizes",
        "1",
        "--out",
        s(&d.path().join("o")),
    ]);
    assert_has(&e, &["t.csv:2", "ttl_ms", "9007199254740992"]);
}

#[test]
fn rates_out_of_range_are_errors_naming_the_flag_and_the_range() {
    for rate in ["1e-16", "0.0001", "0", "-5", "NaN", "inf", "1e300"] {
        let flag = format!("--rate={rate}");
        let e = fails(&[
            "hitrate",
            "--requests",
            "10000",
            "--keys",
            "100",
            "--policies",
            "lru",
            "--sizes",
            "0.1",
            &flag,
        ]);
        assert_has(&e, &["--rate", rate, "1..=1e12"]);
    }
}

#[test]
fn a_sweep_rate_out_of_range_names_file_line_and_range() {
    let d = tempfile::tempdir().unwrap();
    let spec = write(
        d.path(),
        "s.toml",
        b"name = \"x\"\nsizes = [0.1]\n\nrate = 1e-300\n[[workloads]]\nspec = \"uniform\"\nkeys = 10\nrequests = 10\n",
    );
    let e = fails(&["run", s(&spec), "--out", s(&d.path().join("o"))]);
    assert_has(&e, &["s.toml:4", "`rate`", "1e-300", "1..=1e12"]);
}

#[test]
fn an_arrival_rate_out_of_range_is_an_error() {
    let e = fails(&[
        "hitrate",
        "--workload",
        "uniform,arrival=constant:1e-16",
        "--requests",
        "100",
        "--keys",
        "10",
        "--policies",
        "lru",
        "--sizes",
        "0.5",
    ]);
    assert_has(&e, &["arrival=constant:1e-16", "1..=1e12"]);
}
