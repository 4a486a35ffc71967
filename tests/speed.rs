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
        text.starts_with("cell,") && text.lines().next().unwrap().ends_with(",requests_per_sec")
    );
    text.lines()
        .map(|l| l.rsplit_once(',').expect("columns").0)
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
