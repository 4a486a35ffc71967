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

/// `hitrate --trace TRACE --policies lru --sizes 1 --out OUT`: the one cell most cases need.
fn lru_hitrate<'a>(trace: &'a Path, out: &'a Path) -> [&'a str; 9] {
    [
        "hitrate",
        "--trace",
        s(trace),
        "--policies",
        "lru",
        "--sizes",
        "1",
        "--out",
        s(out),
    ]
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
    let e = fails(&lru_hitrate(&t, &out));
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
    succeeds(&lru_hitrate(&t, &out));
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
    let e = fails(&lru_hitrate(&t, &d.path().join("o")));
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

// ---------------------------------------------------------------------------------------
// 2. No contradiction, no hidden change
// ---------------------------------------------------------------------------------------

const SMALL: &[&str] = &[
    "hitrate",
    "--workload",
    "zipf:0.9",
    "--keys",
    "200",
    "--requests",
    "2000",
    "--sizes",
    "0.2",
];

fn small(extra: &[&str]) -> Vec<String> {
    SMALL.iter().chain(extra).map(|s| s.to_string()).collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn config_lines_contradicting_the_grid_are_errors_naming_the_grid_flag() {
    for (line, flag) in [
        ("maxmemory-policy fifo", "--policies"),
        ("maxmemory 100", "--sizes"),
        ("maxmemory-samples 3", "--samples"),
        ("MAXMEMORY-POLICY allkeys-lfu", "--policies"),
        ("lab-enforcement redis", "--enforcement"),
    ] {
        let a = small(&["--policies", "allkeys-lru", "--config", line]);
        let e = fails(&strs(&a));
        assert_has(&e, &[line, flag]);
    }
    let d = tempfile::tempdir().unwrap();
    let spec = write(
        d.path(),
        "s.toml",
        b"name = \"x\"\nsizes = [0.1]\npolicies = [\"lru\"]\nconfig = [\"maxmemory-policy fifo\"]\n[[workloads]]\nspec = \"uniform\"\nkeys = 10\nrequests = 10\n",
    );
    let e = fails(&["run", s(&spec), "--out", s(&d.path().join("o"))]);
    assert_has(
        &e,
        &["s.toml:4", "config", "maxmemory-policy fifo", "policies"],
    );
}

#[test]
fn other_config_that_changes_a_cell_is_recorded_in_its_row_and_metadata() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("o");
    let a = small(&[
        "--policies",
        "allkeys-lru",
        "--config",
        "lfu-log-factor 5",
        "--config",
        "hz 50",
        "--out",
        s(&out),
    ]);
    succeeds(&strs(&a));
    let csv = std::fs::read_to_string(out.join("hitrate.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header
        .iter()
        .position(|h| *h == "config")
        .expect("config column");
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert!(
        row[col].contains("hz 50") && row[col].contains("lfu-log-factor 5"),
        "{csv}"
    );
    let meta = std::fs::read_to_string(out.join("metadata.json")).unwrap();
    assert_has(&meta, &["hz 50", "lfu-log-factor 5"]);
    // Without extra config the column is empty.
    let out2 = d.path().join("o2");
    let a = small(&["--policies", "allkeys-lru", "--out", s(&out2)]);
    succeeds(&strs(&a));
    let csv = std::fs::read_to_string(out2.join("hitrate.csv")).unwrap();
    let row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(row[col], "");
}

#[test]
fn empty_inputs_and_empty_grids_are_errors() {
    let d = tempfile::tempdir().unwrap();
    let empty = write(d.path(), "empty.txt", b"");
    let header_only = write(d.path(), "h.csv", b"op,key,value_size,ttl_ms\n");
    let ids = write(d.path(), "ids.txt", b"1\n2\n3\n");
    let o = d.path().join("o");
    for args in [
        vec![
            "hitrate",
            "--trace",
            s(&empty),
            "--policies",
            "lru",
            "--sizes",
            "1",
        ],
        vec![
            "hitrate",
            "--trace",
            s(&header_only),
            "--policies",
            "lru",
            "--sizes",
            "1",
        ],
    ] {
        let mut a = args.clone();
        a.extend(["--out", s(&o)]);
        assert_has(&fails(&a), &["at least one request"]);
    }
    let e = fails(&[
        "hitrate",
        "--trace",
        s(&ids),
        "--limit",
        "0",
        "--policies",
        "lru",
        "--sizes",
        "1",
        "--out",
        s(&o),
    ]);
    assert_has(&e, &["--limit", "positive"]);
    let e = fails(&[
        "hitrate",
        "--requests",
        "0",
        "--policies",
        "lru",
        "--sizes",
        "0.5",
        "--out",
        s(&o),
    ]);
    assert_has(&e, &["--requests", "positive"]);
    let e = fails(&[
        "hitrate",
        "--requests",
        "100",
        "--keys",
        "10",
        "--policies",
        "",
        "--sizes",
        "0.5",
        "--out",
        s(&o),
    ]);
    assert_has(&e, &["--policies", "at least one policy"]);
    for (field, body) in [
        ("policies", "policies = []\n"),
        ("samples", "samples = []\n"),
        ("seeds", "seeds = []\n"),
    ] {
        let text = format!(
            "name = \"x\"\nsizes = [0.1]\n{body}[[workloads]]\nspec = \"uniform\"\nkeys = 10\nrequests = 10\n"
        );
        let spec = write(d.path(), "s.toml", text.as_bytes());
        let e = fails(&["run", s(&spec), "--out", s(&o)]);
        assert_has(&e, &["s.toml:3", &format!("`{field}`"), "at least one"]);
    }
    let spec = write(d.path(), "r.toml", b"name = \"x\"\nsizes = [0.1]\n[[workloads]]\nspec = \"uniform\"\nkeys = 10\nrequests = 0\n");
    assert_has(
        &fails(&["run", s(&spec), "--out", s(&o)]),
        &["r.toml:6", "requests", "positive"],
    );
    assert!(!o.exists(), "no results directory for a refused run");
}

#[test]
fn inconsistent_oracle_fields_are_an_error_naming_the_record() {
    let d = tempfile::tempdir().unwrap();
    // keys 1 2 1, next access 1-based (3 = the third record); the bad copy says record 0's
    // next access is the second record (key 2).
    let mut b = Vec::new();
    for (t, key, next) in [(0u32, 1u64, 3i64), (1, 2, -1), (2, 1, -1)] {
        b.extend(t.to_le_bytes());
        b.extend(key.to_le_bytes());
        b.extend(10u32.to_le_bytes());
        b.extend(next.to_le_bytes());
    }
    let good = write(d.path(), "good.oracleGeneral.bin", &b);
    b[16..24].copy_from_slice(&2i64.to_le_bytes()); // 1-based: record index 1
    let bad = write(d.path(), "bad.oracleGeneral.bin", &b);
    let o = d.path().join("o");
    succeeds(&[
        "hitrate",
        "--trace",
        s(&good),
        "--policies",
        "belady",
        "--sizes",
        "1",
        "--out",
        s(&o),
    ]);
    let e = fails(&[
        "hitrate",
        "--trace",
        s(&bad),
        "--policies",
        "belady,lru",
        "--sizes",
        "1",
        "--out",
        s(&d.path().join("o2")),
    ]);
    assert_has(
        &e,
        &[
            "bad.oracleGeneral.bin",
            "record 0",
            "byte offset 0",
            "inconsistent",
        ],
    );
}

#[test]
fn regress_fails_on_an_empty_current_directory() {
    let d = tempfile::tempdir().unwrap();
    let base = d.path().join("base");
    let cur = d.path().join("cur");
    std::fs::create_dir_all(&base).unwrap();
    std::fs::create_dir_all(&cur).unwrap();
    write(
        &base,
        "hitrate.csv",
        b"cell,policy,misses\n0,lru,5\n1,fifo,6\n",
    );
    let r = run(&["regress", "--baseline", s(&base), "--current", s(&cur)]);
    assert!(!r.ok, "{}\n{}", r.stdout, r.stderr);
    write(&cur, "hitrate.csv", b"cell,policy,misses\n0,lru,5\n");
    let r = run(&["regress", "--baseline", s(&base), "--current", s(&cur)]);
    assert!(!r.ok, "fewer rows must fail: {}\n{}", r.stdout, r.stderr);
    write(
        &cur,
        "hitrate.csv",
        b"cell,policy,misses\n0,lru,5\n1,fifo,6\n",
    );
    succeeds(&["regress", "--baseline", s(&base), "--current", s(&cur)]);
}

// ---------------------------------------------------------------------------------------
// 3. Formats
// ---------------------------------------------------------------------------------------

#[test]
fn the_libcachesim_column_spec_works_on_the_command_line_and_in_toml() {
    let d = tempfile::tempdir().unwrap();
    let headerless = write(d.path(), "n.csv", b"10;7;100\n11;8;100\n12;7;100\n");
    let with_header = write(
        d.path(),
        "h.csv",
        b"ts;id;sz\n10;7;100\n11;8;100\n12;7;100\n",
    );
    let o = d.path().join("o");
    for (p, hh) in [(&headerless, "false"), (&with_header, "true")] {
        let fmt = format!(
            "libcachesim-csv:time-col=1,obj-id-col=2,obj-size-col=3,delimiter=;,has-header={hh}"
        );
        let flag = format!("--trace-format={fmt}");
        succeeds(&[
            "hitrate",
            "--trace",
            s(p),
            &flag,
            "--policies",
            "lru",
            "--sizes",
            "1",
            "--out",
            s(&o),
        ]);
        let csv = std::fs::read_to_string(o.join("hitrate.csv")).unwrap();
        let row = csv.lines().nth(1).unwrap();
        // 3 requests, 1 hit (the second request to id 7).
        assert!(row.contains(",3,3,1,2,"), "{csv}");
        std::fs::remove_dir_all(&o).unwrap();
        let spec = write(
            d.path(),
            "s.toml",
            format!("name = \"x\"\nsizes = [1.0]\npolicies = [\"lru\"]\n[[workloads]]\ntrace = \"{}\"\nformat = \"{fmt}\"\n", p.file_name().unwrap().to_str().unwrap()).as_bytes(),
        );
        succeeds(&["run", s(&spec), "--out", s(&o)]);
        std::fs::remove_dir_all(&o).unwrap();
    }
    let e = fails(&[
        "hitrate",
        "--trace",
        s(&headerless),
        "--trace-format=libcachesim-csv:obj-id-col=0",
        "--policies",
        "lru",
        "--sizes",
        "1",
        "--out",
        s(&o),
    ]);
    assert_has(&e, &["obj-id-col=0", "1-based"]);
}

// ---------------------------------------------------------------------------------------
// 4. Messages
// ---------------------------------------------------------------------------------------

#[test]
fn a_workload_error_is_printed_once() {
    let d = tempfile::tempdir().unwrap();
    let t = write(
        d.path(),
        "t.csv",
        b"op,key,value_size,ttl_ms\nget,1,1,0\nfetch,2,1,0\n",
    );
    let e = fails(&lru_hitrate(&t, &d.path().join("o")));
    assert_eq!(e.matches("t.csv").count(), 1, "{e}");
    assert_eq!(e.matches("fetch,2,1,0").count(), 1, "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    let spec = write(d.path(), "s.toml", b"name = \"x\"\nsizes = [0.1]\nrate = 0\n[[workloads]]\nspec = \"uniform\"\nkeys = 10\nrequests = 10\n");
    let e = fails(&["run", s(&spec), "--out", s(&d.path().join("o"))]);
    assert_eq!(e.matches("s.toml").count(), 1, "{e}");
}

#[test]
fn bytes_of_a_binary_file_are_shown_escaped_and_short() {
    let d = tempfile::tempdir().unwrap();
    let mut b = b"1\n2\n\x1b[31mEVIL\x07\x00\xff".to_vec();
    b.extend(std::iter::repeat_n(b'A', 500));
    b.push(b'\n');
    let t = write(d.path(), "bin.txt", &b);
    let e = fails(&lru_hitrate(&t, &d.path().join("o")));
    assert!(
        !e.bytes().any(|c| c == 0x1b || c == 0x07 || c == 0),
        "raw control bytes: {e:?}"
    );
    assert_has(&e, &["bin.txt:3", "\\x1b[31mEVIL\\x07\\x00\\xff", "…"]);
    assert!(!e.contains(&"A".repeat(40)), "at most 40 bytes shown: {e}");
}

/// Compresses with the `xz`/`zstd` command (None when not installed).
fn compress(tool: &str, data: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut child = Command::new(tool)
        .args(["-c", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(data).ok()?;
    let out = child.wait_with_output().ok()?;
    out.status.success().then_some(out.stdout)
}

#[test]
fn decompression_errors_name_file_format_and_offset() {
    let d = tempfile::tempdir().unwrap();
    let ids: Vec<u8> = (0..20_000u32)
        .flat_map(|i| (i % 977).to_be_bytes())
        .collect();
    let o = d.path().join("o");
    let mut cases = vec![(
        "garbage.oracleGeneral.bin.zst",
        b"\x28\xb5\x2f\xfd garbage, not a zstd frame".to_vec(),
        "zstd",
    )];
    match compress("xz", &ids) {
        Some(x) => cases.push(("cut.trace.xz", x[..x.len() / 2].to_vec(), "xz")),
        None => eprintln!("SKIPPED the .xz case: `xz` is not installed"),
    }
    match compress("zstd", &ids) {
        Some(z) => cases.push((
            "cut.oracleGeneral.bin.zst",
            z[..z.len() / 2].to_vec(),
            "zstd",
        )),
        None => eprintln!("SKIPPED the truncated .zst case: `zstd` is not installed"),
    }
    for (name, bytes, format) in cases {
        let dir = d.path().join("cloud_physics");
        std::fs::create_dir_all(&dir).unwrap();
        let p = write(&dir, name, &bytes);
        let e = fails(&lru_hitrate(&p, &o));
        assert_has(&e, &[name, format, "byte offset"]);
        assert!(
            !e.contains("failed to fill whole buffer") || e.contains(format),
            "{e}"
        );
    }
}

#[test]
fn report_on_an_empty_directory_says_what_is_missing() {
    let d = tempfile::tempdir().unwrap();
    let e = fails(&["report", s(d.path())]);
    assert_has(&e, &["no result CSV", "hitrate.csv"]);
    assert!(!e.contains("merge"), "{e}");
}

/// Issue 12: an explicit `--out` that exists and is not empty is refused (its files kept)
/// unless `--overwrite`, which replaces it as a whole; a run that fails leaves it untouched
/// and no staging directory behind.
#[test]
fn an_existing_results_directory_is_refused_or_replaced_whole() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("res");
    std::fs::create_dir(&out).unwrap();
    write(&out, "keep.txt", b"mine\n");
    let args = |extra: &[&'static str]| {
        let mut v = vec![
            "hitrate",
            "--workload",
            "zipf:0.9",
            "--keys",
            "50",
            "--requests",
            "500",
            "--policies",
            "lru",
            "--sizes",
            "0.2",
            "--out",
            s(&out),
        ];
        v.extend_from_slice(extra);
        v
    };
    let e = fails(&args(&[]));
    assert_has(&e, &["--out", "res", "not empty", "--overwrite"]);
    assert_eq!(std::fs::read(out.join("keep.txt")).unwrap(), b"mine\n");
    // A run that fails (here: a bad config line) with --overwrite changes nothing.
    let e = fails(&args(&["--overwrite", "--config", "maxmemory-samples 0"]));
    assert_has(&e, &["maxmemory-samples"]);
    assert!(out.join("keep.txt").exists());
    // --overwrite replaces the directory as a whole.
    let r = run(&args(&["--overwrite"]));
    assert!(r.ok, "{}", r.stderr);
    assert!(
        r.stdout.contains(s(&out.join("hitrate.csv"))),
        "{}",
        r.stdout
    );
    assert!(out.join("hitrate.csv").exists() && !out.join("keep.txt").exists());
    let left: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("res")],
        "staging left behind"
    );
    // An empty directory needs no --overwrite.
    let empty = d.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let mut a = args(&[]);
    *a.last_mut().unwrap() = s(&empty);
    succeeds(&a);
    assert!(empty.join("hitrate.csv").exists());
}
