//! Fuzzing on stable Rust (issue 12): proptest over arbitrary bytes and mutations of files
//! the engine itself writes (and a dump Redis 7.0 wrote, for the RDB reader), for the
//! snapshot loader, the RDB reader and loader, the AOF loader (its RESP reader and
//! command parser), the AOF manifest, the config parser and command parsing + execution.
//! Every case must return (no panic: proptest turns a panic into a failure), within a time
//! bound (a case over [`CASE_BOUND`] fails; a watchdog aborts the process after
//! [`HANG_BOUND`]), and every failure must be an error value.
//!
//! Cases per target: `EVICTLAB_FUZZ_CASES` (default 10 000; the long mode is
//! `EVICTLAB_FUZZ_CASES=1000000`). The RNG is deterministic, so a failure reproduces.
//!
//! The measured tests at the end count, exhaustively on small files, what fraction of
//! single-bit flips and truncations each loader detects (`--nocapture` prints the table;
//! docs/reliability.md quotes it).

use std::path::Path;

use evictlab_engine::persist::aof::{Aof, AofOptions, Manifest};
use evictlab_engine::persist::rdb;
use evictlab_engine::persist::snapshot::{self, SnapshotOptions};
use evictlab_engine::{Command, Config, Engine};

#[path = "support/fuzz.rs"]
mod fuzzing;
use fuzzing::{Tally, fuzz, input};

fn materialized(extra: &str) -> Engine {
    let c = Config::parse_str(&format!("lab-storage materialized\n{extra}")).unwrap();
    Engine::new(c, 3).unwrap()
}

fn exec(e: &mut Engine, line: &str) {
    let args: Vec<&str> = line.split(' ').collect();
    let r = e.execute(Command::parse(&args).unwrap());
    assert!(!r.is_error(), "{line}: {r:?}");
}

/// Commands covering every type, TTLs and deletes.
const SCRIPT: &[&str] = &[
    "SET a 1",
    "SET b hello PX 100000",
    "INCR n",
    "HSET h f v g w",
    "SADD s x y z",
    "ZADD z 1 m 2.5 n",
    "RPUSH l p q r",
    "LPOP l",
    "SET big 0123456789012345678901234567890123456789012345678901234567890123456789",
    "DEL a",
    "PEXPIRE h 50000",
];

/// A small engine holding every value type.
fn sample_engine() -> Engine {
    let mut e = materialized("");
    for l in SCRIPT {
        exec(&mut e, l);
    }
    e
}

fn snapshot_seeds() -> Vec<Vec<u8>> {
    let e = sample_engine();
    let mut seeds = Vec::new();
    for compression in [false, true] {
        for checksum in [false, true] {
            seeds.push(snapshot::to_bytes(
                &e,
                SnapshotOptions {
                    compression,
                    checksum,
                },
            ));
        }
    }
    // Checksum off gets most cases: with it on, a mutation rarely gets past the CRC.
    seeds.push(seeds[0].clone());
    seeds.push(seeds[2].clone());
    seeds.push(snapshot::to_bytes(
        &materialized(""),
        SnapshotOptions {
            compression: false,
            checksum: false,
        },
    ));
    seeds
}

#[test]
fn fuzz_snapshot_loader() {
    fuzz("snapshot", input(snapshot_seeds()), |bytes| {
        let mut e = materialized("");
        if snapshot::load_into(&mut e, &bytes).is_ok() {
            e.check_invariants()
                .map_err(|v| format!("loaded, but the engine is inconsistent: {v}"))?;
        }
        let _ = snapshot::verify_frame(&bytes);
        Ok(())
    });
}

#[test]
fn fuzz_rdb_reader_and_loader() {
    let real = include_bytes!("data/redis-7.0.15-mixed.rdb").to_vec();
    // The same dump with the checksum disabled (0): most mutations then reach the decoders
    // and the loader instead of stopping at the CRC.
    let mut unchecked = real.clone();
    let n = unchecked.len();
    unchecked[n - 8..].fill(0);
    let seeds = vec![real, unchecked.clone(), unchecked];
    fuzz("rdb", input(seeds), |bytes| {
        let mut e = Engine::new(
            Config::parse_str("lab-memory-mode redis\nlab-storage materialized").unwrap(),
            1,
        )
        .unwrap();
        if rdb::load::load_bytes(&mut e, "fuzz.rdb", &bytes, rdb::load::DbChoice::All).is_ok() {
            e.check_invariants()
                .map_err(|v| format!("loaded, but the engine is inconsistent: {v}"))?;
        }
        Ok(())
    });
}

/// An AOF directory written by the engine: manifest, (no base), one INCR file.
fn aof_files() -> (Vec<u8>, Vec<u8>, AofOptions, tempfile::TempDir) {
    let d = tempfile::tempdir().unwrap();
    let c = Config::parse_str("lab-storage materialized\nappendonly yes\naof-load-truncated yes")
        .unwrap();
    let o = AofOptions::from_config(&c, d.path());
    let mut e = materialized("");
    e.set_propagation(true);
    let mut aof = Aof::open(o.clone()).unwrap();
    let mut cmds = Vec::new();
    for l in SCRIPT {
        exec(&mut e, l);
        e.drain_propagated(&mut cmds);
        aof.feed(&cmds);
        cmds.clear();
    }
    aof.flush(false).unwrap();
    let manifest = std::fs::read(o.dir.join(format!("{}.manifest", o.basename))).unwrap();
    let incr = std::fs::read(aof.incr_path()).unwrap();
    (manifest, incr, o, d)
}

fn load_aof(o: &AofOptions) -> Result<(), String> {
    let mut e = materialized("");
    if Aof::load(o, &mut e).is_ok() {
        e.check_invariants()
            .map_err(|v| format!("loaded, but the engine is inconsistent: {v}"))?;
    }
    Ok(())
}

#[test]
fn fuzz_aof_loader_and_its_resp_reader() {
    let (_, incr, o, _d) = aof_files();
    let incr_name = std::fs::read_dir(&o.dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .unwrap();
    let mut seeds = vec![incr.clone()];
    seeds.push(b"*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n".to_vec());
    fuzz("aof-incr", input(seeds), |bytes| {
        std::fs::write(&incr_name, &bytes).map_err(|e| e.to_string())?;
        load_aof(&o)
    });
}

#[test]
fn fuzz_aof_manifest() {
    let (manifest, _, o, _d) = aof_files();
    let mpath = o.dir.join(format!("{}.manifest", o.basename));
    let seeds = vec![
        manifest.clone(),
        b"file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n# comment\n".to_vec(),
    ];
    fuzz("aof-manifest", input(seeds), |bytes| {
        let _ = Manifest::parse(&String::from_utf8_lossy(&bytes), Path::new("m"));
        // The whole loader with that manifest (names may point anywhere in the directory).
        std::fs::write(&mpath, &bytes).map_err(|e| e.to_string())?;
        load_aof(&o)
    });
}

#[test]
fn fuzz_config_parser() {
    let default = Config::default().to_lines().join("\n").into_bytes();
    let seeds = vec![
        default,
        b"maxmemory 100mb\nmaxmemory-policy allkeys-lfu\nmaxmemory-samples 10\nlfu-log-factor 5\nhz 50\nsave 900 1 300 10\nappendonly yes\n\"quoted arg\" x\n".to_vec(),
        b"lab-policy-param window 0.01\nlab-storage materialized\nactive-expire-effort 10\n".to_vec(),
    ];
    fuzz("config", input(seeds), |bytes| {
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(c) = Config::parse_str(&text) {
            // What parses builds an engine or is refused with an error, never a panic.
            let _ = Engine::new(c, 1);
        }
        Ok(())
    });
}

#[test]
fn fuzz_command_parse_and_execute() {
    // Argument vectors: a command line split on spaces, mutated as bytes.
    let seeds: Vec<Vec<u8>> = SCRIPT
        .iter()
        .chain(&[
            "GETRANGE big 5 -3",
            "SET k v EX 10 NX",
            "EXPIRE k 9223372036854775807",
            "ZRANGE z 0 -1 WITHSCORES",
            "LRANGE l -100 100",
            "OBJECT FREQ s",
            "SETRANGE big 5 xyz",
        ])
        .map(|s| s.as_bytes().to_vec())
        .collect();
    let mut e = sample_engine();
    let e = std::cell::RefCell::new(&mut e);
    fuzz("command", input(seeds), |bytes| {
        let args: Vec<&[u8]> = bytes.split(|&b| b == b' ').collect();
        let mut e = e.borrow_mut();
        if let Ok(cmd) = Command::parse(&args) {
            let _ = e.execute(cmd);
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// Measured detection rates (exhaustive on small files).
// ---------------------------------------------------------------------------------------

fn snapshot_outcome(bytes: &[u8], reference: &[(Vec<u8>, String, u64)], t: &mut Tally) {
    let mut e = materialized("");
    match snapshot::load_into(&mut e, bytes) {
        Err(_) => t.detected += 1,
        Ok(_) if snapshot::canonical_dump(&e) == reference => t.same += 1,
        Ok(_) => t.undetected += 1,
    }
}

#[test]
fn snapshot_bit_flips_and_truncations_measured() {
    let e = sample_engine();
    let reference = snapshot::canonical_dump(&e);
    let mut table = vec![
        "| snapshot corruption | cases | detected (error) | loaded, same data | loaded, different data |".to_string(),
        "|---|---:|---:|---:|---:|".to_string(),
    ];
    for compression in [false, true] {
        for checksum in [true, false] {
            let opts = SnapshotOptions {
                compression,
                checksum,
            };
            let bytes = snapshot::to_bytes(&e, opts);
            let mut flips = Tally::default();
            for bit in 0..bytes.len() * 8 {
                let mut b = bytes.clone();
                b[bit / 8] ^= 1 << (bit % 8);
                snapshot_outcome(&b, &reference, &mut flips);
            }
            let mut cuts = Tally::default();
            for len in 0..bytes.len() {
                snapshot_outcome(&bytes[..len], &reference, &mut cuts);
            }
            let label = format!(
                "{} B, compression {}, checksum {}",
                bytes.len(),
                if compression { "on" } else { "off" },
                if checksum { "on" } else { "off" }
            );
            table.push(flips.line(&format!("bit flips, {label}")));
            table.push(cuts.line(&format!("truncations, {label}")));
            if checksum {
                assert_eq!(
                    flips.undetected + flips.same,
                    0,
                    "CRC-64 catches every flip"
                );
            }
            assert_eq!(
                cuts.undetected + cuts.same,
                0,
                "every truncation is detected"
            );
        }
    }
    eprintln!("{}", table.join("\n"));
}

#[test]
fn aof_bit_flips_and_truncations_measured() {
    let (_, incr, o, _d) = aof_files();
    let incr_path = std::fs::read_dir(&o.dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .unwrap();
    let reference = snapshot::canonical_dump(&sample_engine());
    let outcome = |bytes: &[u8], t: &mut Tally| {
        std::fs::write(&incr_path, bytes).unwrap();
        let mut e = materialized("");
        match Aof::load(&o, &mut e) {
            Err(_) => t.detected += 1,
            Ok(r) if r.truncated_at.is_some() => t.detected += 1,
            Ok(_) if snapshot::canonical_dump(&e) == reference => t.same += 1,
            Ok(_) => t.undetected += 1,
        }
    };
    let mut flips = Tally::default();
    for bit in 0..incr.len() * 8 {
        let mut b = incr.clone();
        b[bit / 8] ^= 1 << (bit % 8);
        outcome(&b, &mut flips);
    }
    let mut cuts = Tally::default();
    for len in 0..incr.len() {
        outcome(&incr[..len], &mut cuts);
    }
    eprintln!(
        "| AOF corruption | cases | detected (error or truncation reported) | loaded, same data | loaded, different data |\n|---|---:|---:|---:|---:|\n{}\n{}",
        flips.line(&format!("bit flips, {} B INCR file", incr.len())),
        cuts.line(&format!("truncations, {} B INCR file", incr.len()))
    );
}
