//! Speed features that must not change results: idle cron ticks in closed form
//! (`lab-cron-stepping`) and streamed replay (`--stream`), compared with the reference
//! paths on whole `experiment hitrate` runs.

use std::path::Path;
use std::process::Command;

fn experiment() -> Command {
    Command::new(env!("CARGO_BIN_EXE_experiment"))
}

fn hitrate(out: &Path, extra: &[&str]) {
    let o = experiment()
        .arg("hitrate")
        .args(extra)
        .args(["--threads", "2", "--out"])
        .arg(out)
        .output()
        .expect("run experiment");
    assert!(
        o.status.success(),
        "hitrate {extra:?} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `hitrate.csv` without its only wall-clock column (the last, `requests_per_sec`).
fn deterministic(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("hitrate.csv")).expect("hitrate.csv");
    assert!(
        text.starts_with("cell,")
            && text
                .lines()
                .next()
                .unwrap()
                .ends_with(",config,requests_per_sec")
    );
    // The last two columns: `config` (names the stepping, which differs on purpose) and
    // `requests_per_sec` (wall clock).
    text.lines()
        .map(|l| l.rsplitn(3, ',').nth(2).expect("columns"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A slow timestamped workload (Poisson arrivals at 2 requests/s: ~5 idle cron ticks
/// between requests) with TTLs, writes and deletes.
const TIMED: &[&str] = &[
    "--workload",
    "zipf:0.9,read=0.6,update=0.3,delete=0.1,ttl=0.4:uniform:500:30000,arrival=poisson:2",
    "--keys",
    "3000",
    "--requests",
    "30000",
    "--sizes",
    "0.05,0.3",
    "--seed",
    "5",
];

#[test]
fn idle_ticks_in_closed_form_give_the_results_of_stepping_every_tick() {
    let d = tempfile::tempdir().unwrap();
    let policies = "lru,allkeys-lru,volatile-lru,allkeys-lfu,volatile-ttl,allkeys-random";
    let mut outs = Vec::new();
    for (i, stepping) in ["idle-skip", "every-tick"].iter().enumerate() {
        for (j, extra) in [&[][..], &["--enforcement", "redis"][..]]
            .iter()
            .enumerate()
        {
            for expire in ["redis", "redis5", "echovault"] {
                let out = d.path().join(format!("{i}-{j}-{expire}"));
                let step = format!("lab-cron-stepping {stepping}");
                let exp = format!("lab-active-expire {expire}");
                let mut args: Vec<&str> = TIMED.to_vec();
                args.extend_from_slice(&["--policies", policies, "--config", &step]);
                args.extend_from_slice(&["--config", &exp]);
                args.extend_from_slice(extra);
                hitrate(&out, &args);
                outs.push(deterministic(&out));
            }
        }
    }
    let (skip, every) = outs.split_at(outs.len() / 2);
    assert_eq!(skip, every);
    assert!(
        skip[0].lines().skip(1).any(|l| !l.contains(",0,0,0,")),
        "{}",
        skip[0]
    );
}

#[test]
fn a_streamed_replay_equals_the_in_memory_one() {
    let d = tempfile::tempdir().unwrap();
    let mut outs = Vec::new();
    for stream in ["always", "never"] {
        let out = d.path().join(stream);
        let mut args: Vec<&str> = TIMED.to_vec();
        args.extend_from_slice(&[
            "--policies",
            "lru,allkeys-lru,fifo,s3fifo",
            "--stream",
            stream,
        ]);
        hitrate(&out, &args);
        outs.push(deterministic(&out));
    }
    assert_eq!(outs[0], outs[1]);
}

#[test]
fn streaming_is_refused_when_next_access_must_be_computed() {
    let o = experiment()
        .args([
            "hitrate",
            "--workload",
            "zipf:1",
            "--keys",
            "100",
            "--requests",
            "1000",
        ])
        .args(["--policies", "belady", "--stream", "always", "--out"])
        .arg(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--stream") && err.contains("next-access"),
        "{err}"
    );
}

/// A billion-request trace must replay in memory independent of its length: a generated
/// 50 M-request oracleGeneral file (1.2 GB; its requests would take 2 GB decoded, 600 MB
/// at 12 bytes each) streams through a FIFO cell with the process's peak RSS (`VmHWM`,
/// reported in `timings.csv`) far below either.
#[test]
fn a_50m_request_oracle_general_trace_streams_in_bounded_memory() {
    use std::io::Write;
    const N: u64 = 50_000_000;
    const OBJECTS: u64 = 1_000_000;
    let d = tempfile::tempdir().unwrap();
    let trace = d.path().join("big.oracleGeneral.bin");
    {
        let f = std::fs::File::create(&trace).unwrap();
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut rec = [0u8; 24];
        for i in 0..N {
            // splitmix64 → a skewed id: the square of a uniform draw favours small ids.
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let u = (z >> 11) as f64 / (1u64 << 53) as f64;
            let id = ((u * u) * OBJECTS as f64) as u64;
            rec[0..4].copy_from_slice(&((i / 10_000) as u32).to_le_bytes());
            rec[4..12].copy_from_slice(&id.to_le_bytes());
            rec[12..16].copy_from_slice(&4096u32.to_le_bytes());
            rec[16..24].copy_from_slice(&(-1i64).to_le_bytes());
            w.write_all(&rec).unwrap();
        }
        w.flush().unwrap();
    }
    let out = d.path().join("out");
    let t = trace.to_str().unwrap();
    hitrate(
        &out,
        &[
            "--trace",
            t,
            "--policies",
            "fifo",
            "--sizes",
            "0.1",
            "--stream",
            "always",
        ],
    );
    let csv = std::fs::read_to_string(out.join("hitrate.csv")).unwrap();
    let row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(row[8], N.to_string(), "requests column: {csv}");
    let timings = std::fs::read_to_string(out.join("timings.csv")).unwrap();
    let mut lines = timings.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "peak_rss_bytes").unwrap();
    let peak: u64 = lines
        .next()
        .unwrap()
        .split(',')
        .nth(col)
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        peak < 256 << 20,
        "peak RSS {peak} bytes for a streamed 50 M-request trace (cap 256 MiB)"
    );
}
