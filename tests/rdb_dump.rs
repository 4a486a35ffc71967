//! `--rdb FILE` (issue 11): a dump written by a live redis-server read back with
//! `experiment memory --rdb` — the redis model's `used_memory` within 1 % of that server's
//! `INFO memory used_memory`, keys and expires equal — plus the command-line errors and
//! `cow` / `frag` smoke runs on a dump.
//!
//! The live test starts its own private redis-server (a port of its own, `--dir` a temporary
//! directory, so `SAVE` writes a file it can read); without `redis-server` on PATH it skips
//! with a message.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Proc, Stdio};
use std::time::{Duration, Instant};

use evictlab_engine::Command;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::redis_memory::{hashes, info_field, lists, send, server_quantum, sets, strings, zsets};
use crate::util::{num, read_rows, run_err, run_ok};

/// The dump Redis 7.0.15 wrote for the engine's reader tests (16 keys, 2 with a TTL).
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("engine/tests/data/redis-7.0.15-mixed.rdb")
}

/// A redis-server of this test's own, killed on drop.
struct PrivateServer {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server() -> Option<PrivateServer> {
    if Proc::new("redis-server").arg("--version").output().is_err() {
        eprintln!(
            "skipping: redis-server is not on PATH (apt-get install redis-server; .ci/run does)"
        );
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Proc::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--dir"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("redis://127.0.0.1:{port}");
    let server = PrivateServer { child, url, dir };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(mut c) = redis::Client::open(server.url.as_str()).and_then(|c| c.get_connection())
            && redis::cmd("PING").query::<String>(&mut c).is_ok()
        {
            return Some(server);
        }
        assert!(
            Instant::now() < deadline,
            "redis-server did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The mixed dataset (the generators of `tests/redis_memory.rs`): strings of 1..10 000
/// bytes (integers, ≤ 44-byte strings), half with a TTL; hashes, sets, sorted sets and lists
/// on both sides of each encoding threshold.
fn dataset() -> Vec<Command> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(42);
    let mut v = strings(&mut rng, 6000);
    v.extend(hashes(&mut rng, 200));
    v.extend(sets(300));
    v.extend(zsets(500));
    v.extend(lists(&mut rng, 60));
    v
}

fn keyspace(con: &mut redis::Connection) -> (u64, u64) {
    let info: String = redis::cmd("INFO").arg("keyspace").query(con).unwrap();
    let line = info
        .lines()
        .find(|l| l.starts_with("db0:"))
        .unwrap_or("db0:keys=0,expires=0");
    let field = |name: &str| -> u64 {
        line[4..]
            .split(',')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap()
            .parse()
            .unwrap()
    };
    (field("keys"), field("expires"))
}

#[test]
fn memory_from_a_live_servers_dump_is_within_one_percent_of_its_used_memory() {
    let Some(server) = start_server() else { return };
    let client = redis::Client::open(server.url.as_str()).unwrap();
    let mut con = client.get_connection().unwrap();
    let quantum = server_quantum(&mut con);
    std::thread::sleep(Duration::from_millis(300));
    // The base as `lab-base-memory` means it: an empty server as its one client sees it.
    let base = info_field(&mut con, "memory", "used_memory");
    {
        let mut loader = client.get_connection().unwrap();
        send(&mut loader, &dataset());
    }
    // The loader's connection is gone and the cron has finished rehashing (1 ms per tick).
    std::thread::sleep(Duration::from_millis(1500));
    let () = redis::cmd("SAVE").query(&mut con).unwrap();
    let used = info_field(&mut con, "memory", "used_memory");
    let (keys, expires) = keyspace(&mut con);
    let dir: String = redis::cmd("CONFIG")
        .arg("GET")
        .arg("dir")
        .query::<Vec<String>>(&mut con)
        .unwrap()
        .pop()
        .unwrap();
    let dump = Path::new(&dir).join("dump.rdb");
    assert!(dump.starts_with(server.dir.path()), "{dump:?}");

    let out = tempfile::tempdir().unwrap();
    let res = out.path().join("m");
    run_ok(&[
        "memory",
        "--rdb",
        dump.to_str().unwrap(),
        "--config",
        &format!("lab-jemalloc-quantum {quantum}"),
        "--config",
        &format!("lab-base-memory {base}"),
        "--out",
        res.to_str().unwrap(),
    ]);
    let rows = read_rows(&res.join("memory.csv"));
    let redis = rows.iter().find(|r| r["model"] == "redis").unwrap();
    let model = num(redis, "used_memory");
    let err = model / used as f64 - 1.0;
    eprintln!(
        "dump of {keys} keys ({expires} with TTL), {} bytes: server used_memory {used} (base \
         {base}), model {model} ({:+.3} %), quantum {quantum}",
        std::fs::metadata(&dump).unwrap().len(),
        err * 100.0
    );
    assert_eq!(num(redis, "keys") as u64, keys);
    assert_eq!(num(redis, "expires") as u64, expires);
    assert!(
        err.abs() <= 0.01,
        "model {model} vs server {used}: {:+.3} %",
        err * 100.0
    );
    let load = &read_rows(&res.join("rdb_load.csv"))[0];
    assert_eq!(load["checksum"], "verified");
    assert_eq!(num(load, "keys_loaded") as u64, keys);
    // The by-type rows cover every key, and both sides of each threshold showed up.
    let types = read_rows(&res.join("memory_by_type.csv"));
    let total: f64 = types.iter().map(|r| num(r, "keys")).sum();
    assert_eq!(total as u64, keys);
    for enc in [
        "listpack",
        "hashtable",
        "intset",
        "skiplist",
        "quicklist",
        "int",
        "embstr",
        "raw",
    ] {
        assert!(
            types.iter().any(|r| r["encoding"] == enc),
            "no {enc} row: {types:?}"
        );
    }
}

#[test]
fn rdb_flag_errors_name_the_file_offset_and_contradicting_flags() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let f = fixture();
    let err = run_err(&[
        "memory",
        "--rdb",
        f.to_str().unwrap(),
        "--keys",
        "10",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(err.contains("--rdb") && err.contains("--keys"), "{err}");
    // A truncated copy: the error names the file and a byte offset.
    let bad = dir.path().join("cut.rdb");
    let data = std::fs::read(&f).unwrap();
    std::fs::write(&bad, &data[..data.len() / 2]).unwrap();
    let err = run_err(&[
        "memory",
        "--rdb",
        bad.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(err.contains("cut.rdb: byte "), "{err}");
    let err = run_err(&[
        "memory",
        "--rdb-db",
        "x",
        "--rdb",
        f.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(err.contains("'x'") && err.contains("'all'"), "{err}");
}

/// `cow --rdb`: the dump's keys are the dataset (fork and forkless, with writes that rewrite
/// them); `--dataset` beside it is refused naming both flags.
#[test]
fn cow_takes_a_dump_as_its_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cow");
    let f = fixture();
    run_ok(&[
        "cow",
        "--rdb",
        f.to_str().unwrap(),
        "--write-rates",
        "0,5000",
        "--thp",
        "off",
        "--snapshot",
        "fork,forkless",
        "--out",
        out.to_str().unwrap(),
    ]);
    let rows = read_rows(&out.join("cow.csv"));
    assert_eq!(rows.len(), 4);
    for r in &rows {
        assert_eq!(r["status"], "ok", "{r:?}");
        assert_eq!(num(r, "keys"), 16.0);
        assert_eq!(num(r, "value_size"), 0.0);
        // Logical bytes of the 16 keys (keys + values, as the engine counts them).
        assert!(num(r, "dataset_bytes") > 2000.0, "{r:?}");
    }
    let err = run_err(&["cow", "--rdb", f.to_str().unwrap(), "--dataset", "1mb"]);
    assert!(err.contains("--rdb") && err.contains("--dataset"), "{err}");
}

/// `frag --rdb`: the fill phase is the dump's keys; the later phases run as usual.
#[test]
fn frag_takes_a_dump_as_its_fill() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("frag");
    let f = fixture();
    run_ok(&[
        "frag",
        "--quick",
        "--allocators",
        "system",
        "--overhead-keys",
        "0",
        "--idle-ms",
        "0",
        "--rdb",
        f.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let rows = read_rows(&out.join("frag.csv"));
    let fill = rows
        .iter()
        .find(|r| r["phase"] == "fill" && r["event"] == "end")
        .unwrap();
    assert_eq!(num(fill, "keys"), 16.0);
    assert!(rows.iter().any(|r| r["phase"] == "churn"));
    let err = run_err(&["frag", "--rdb", f.to_str().unwrap(), "--fill", "1mb"]);
    assert!(err.contains("--rdb") && err.contains("--fill"), "{err}");
}
