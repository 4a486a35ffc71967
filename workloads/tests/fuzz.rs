//! Fuzzing on stable Rust (issue 12) for every trace reader (and `.xz`/`.zst`
//! decompression), the workload SPEC parser and the libCacheSim column-spec parser:
//! arbitrary bytes and mutations of the real samples in `../shared/traces` (plus hand-made
//! seeds when that folder is absent). No panic, no case over the time bound, every failure
//! an error value. Cases per target: `EVICTLAB_FUZZ_CASES` (default 10 000).

use std::path::{Path, PathBuf};

use evictlab_workloads::trace::shared_traces_dir;
use evictlab_workloads::{
    CsvColumns, TraceFormat, TraceOptions, WorkloadSpec, collect, open_trace_with,
};

#[path = "../../engine/tests/support/fuzz.rs"]
mod fuzzing;
use fuzzing::{fuzz, input};

/// Bytes of each real sample used as a seed (records are ≤ 40 bytes, lines short).
const SEED_BYTES: usize = 1536;

/// Real samples of a format (first [`SEED_BYTES`], decompressed for `.xz`), or none.
fn real_seeds(format: TraceFormat) -> Vec<Vec<u8>> {
    let Some(root) = shared_traces_dir() else {
        return Vec::new();
    };
    let files: &[&str] = match format {
        TraceFormat::OracleGeneral => &["libcachesim/cloudPhysicsIO.oracleGeneral.bin"],
        TraceFormat::Vscsi => &["libcachesim/cloudPhysicsIO.vscsi"],
        TraceFormat::LibCacheSimCsv => &["libcachesim/cloudPhysicsIO.csv"],
        TraceFormat::Txt => &["libcachesim/cloudPhysicsIO.txt"],
        TraceFormat::Lirs => &["caffeine/lirs/2_pools.trace", "caffeine/lirs/loop.trace"],
        TraceFormat::Cache2k => &["caffeine/cache2k/web07.trace"],
        TraceFormat::Scarab => &["caffeine/scarab-recs.trace"],
        TraceFormat::Corda => &["caffeine/corda-vaultservice.trace"],
        TraceFormat::CloudPhysics => &[],
        TraceFormat::AdaptSize => &["caffeine/adaptsize-request.trace"],
        _ => &[],
    };
    files
        .iter()
        .filter_map(|f| std::fs::read(root.join(f)).ok())
        .map(|b| b[..b.len().min(SEED_BYTES)].to_vec())
        .collect()
}

/// Hand-made seeds (valid inputs) for every format.
fn hand_seeds(format: TraceFormat) -> Vec<Vec<u8>> {
    let rec24 = |t: u32, id: u64, size: u32, next: i64| {
        let mut v = t.to_le_bytes().to_vec();
        v.extend(id.to_le_bytes());
        v.extend(size.to_le_bytes());
        v.extend(next.to_le_bytes());
        v
    };
    match format {
        TraceFormat::Csv => vec![
            b"time_ms,op,key,value_size,ttl_ms\n100,get,7,10,0\n150,SET,user:1,20,5000\n170,delete,7,,\n".to_vec(),
            b"op,key,value_size,ttl_ms\nget,1,1,0\nset,2,100,10\n\nDEL,2,,\n".to_vec(),
        ],
        TraceFormat::OracleGeneral => vec![[rec24(5, 1, 10, 3), rec24(6, 2, 20, -1), rec24(7, 1, 10, -1)].concat()],
        TraceFormat::Vscsi => {
            let mut r = vec![0u8; 32];
            r[4..8].copy_from_slice(&512u32.to_le_bytes());
            r[14..16].copy_from_slice(&0x0100u16.to_le_bytes());
            r[16..24].copy_from_slice(&7u64.to_le_bytes());
            let mut v2 = vec![0u8; 40];
            v2[2..4].copy_from_slice(&0x0200u16.to_le_bytes());
            vec![[r.clone(), r].concat(), [v2.clone(), v2].concat()]
        }
        TraceFormat::LibCacheSimCsv => vec![
            b"time,obj_id,obj_size\n1,10,100\n2,11,200\n3.5,10,100\n".to_vec(),
            b"timestamp,key,size,ttl\n1e3,abc,1,10\n2e3,def,2,0\n".to_vec(),
        ],
        TraceFormat::Txt | TraceFormat::Lirs => vec![b"1\n2\n3\n*\n2\r\n1\n".to_vec()],
        TraceFormat::AdaptSize => vec![b"1 10 100\n2 11 200\n3 10 100\n".to_vec()],
        _ => vec![(0u8..64).collect()],
    }
}

/// Runs the reader of `opts` on `bytes` written to `path`: an error value is fine, a
/// panic or an unbounded run is not.
fn read(path: &Path, opts: &TraceOptions, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| e.to_string())?;
    match open_trace_with(path, opts) {
        Err(e) => {
            let _ = e.to_string();
        }
        Ok(mut src) => {
            if let Err(e) = collect(&mut *src, Some(100_000)) {
                let _ = e.to_string();
            }
        }
    }
    Ok(())
}

fn fuzz_format(target: &'static str, format: TraceFormat, file: &str, columns: Option<&str>) {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join(file);
    let mut seeds = real_seeds(format);
    seeds.extend(hand_seeds(format));
    let opts = TraceOptions {
        format: Some(format),
        columns: columns.map(|c| CsvColumns::parse(c).unwrap()),
    };
    fuzz(target, input(seeds), |bytes| read(&path, &opts, &bytes));
}

#[test]
fn fuzz_lab_csv() {
    fuzz_format("csv", TraceFormat::Csv, "t.csv", None);
}

#[test]
fn fuzz_oracle_general() {
    fuzz_format(
        "oracle-general",
        TraceFormat::OracleGeneral,
        "t.oracleGeneral.bin",
        None,
    );
}

#[test]
fn fuzz_vscsi() {
    fuzz_format("vscsi", TraceFormat::Vscsi, "t.vscsi", None);
}

#[test]
fn fuzz_libcachesim_csv_from_header() {
    fuzz_format(
        "libcachesim-csv",
        TraceFormat::LibCacheSimCsv,
        "t.csv",
        None,
    );
}

#[test]
fn fuzz_libcachesim_csv_with_column_spec() {
    fuzz_format(
        "libcachesim-csv:spec",
        TraceFormat::LibCacheSimCsv,
        "t.csv",
        Some(
            "time-col=1,obj-id-col=2,obj-size-col=3,op-col=4,ttl-col=5,has-header=false,time-unit=ms",
        ),
    );
}

#[test]
fn fuzz_text_formats() {
    fuzz_format("txt", TraceFormat::Txt, "t.txt", None);
    fuzz_format("lirs", TraceFormat::Lirs, "t.lirs", None);
    fuzz_format("adapt-size", TraceFormat::AdaptSize, "t.trace", None);
}

#[test]
fn fuzz_big_endian_id_formats() {
    fuzz_format("cache2k", TraceFormat::Cache2k, "t.trace", None);
    fuzz_format("scarab", TraceFormat::Scarab, "t.trace", None);
    fuzz_format("corda", TraceFormat::Corda, "t.trace", None);
    fuzz_format("cloud-physics", TraceFormat::CloudPhysics, "t.trace", None);
}

/// Compresses `data` with the `xz` or `zstd` command when installed.
fn compress(tool: &str, data: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut child = std::process::Command::new(tool)
        .args(["-c", "-q"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(data).ok()?;
    let out = child.wait_with_output().ok()?;
    out.status.success().then_some(out.stdout)
}

fn fuzz_compressed(target: &'static str, tool: &str, file: &str, format: TraceFormat) {
    let d = tempfile::tempdir().unwrap();
    let path: PathBuf = d.path().join(file);
    let plain = hand_seeds(format).concat();
    let mut seeds: Vec<Vec<u8>> = compress(tool, &plain).into_iter().collect();
    if let Some(root) = shared_traces_dir()
        && tool == "xz"
        && let Ok(b) = std::fs::read(root.join("caffeine/cloudphysics-w106.trace.xz"))
    {
        // A prefix of a real .xz stream: the decoder meets a truncated stream.
        seeds.push(b[..b.len().min(4096)].to_vec());
    }
    if seeds.is_empty() {
        eprintln!("fuzz {target}: `{tool}` is not installed and no sample: arbitrary bytes only");
        seeds.push(Vec::new());
    }
    let opts = TraceOptions {
        format: Some(format),
        columns: None,
    };
    fuzz(target, input(seeds), |bytes| read(&path, &opts, &bytes));
}

#[test]
fn fuzz_xz_decompression() {
    fuzz_compressed("xz", "xz", "t.trace.xz", TraceFormat::CloudPhysics);
}

#[test]
fn fuzz_zst_decompression() {
    fuzz_compressed(
        "zst",
        "zstd",
        "t.oracleGeneral.bin.zst",
        TraceFormat::OracleGeneral,
    );
}

#[test]
fn fuzz_workload_spec_parser() {
    let seeds: Vec<Vec<u8>> = [
        "zipf:0.99,read=0.9,size=lognormal:7:1,ttl=0.3:uniform:1000:60000,arrival=poisson:100000",
        "scrambled-zipf:0.99,read=0.7,update=0.1,insert=0.05,delete=0.05,rmw=0.05,scan=0.05,size=pareto:100:1.5",
        "hotspot:0.2:0.8,mix=ycsb-a,phase=500000:zipf:1.2,shift=10s:500",
        "ycsb-e,scan-len=uniform:1:100,size-per=request",
        "uniform,arrival=constant:1,ttl=1:exp:1000",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    fuzz("workload-spec", input(seeds), |bytes| {
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(spec) = text.parse::<WorkloadSpec>() {
            // What parses builds and generates a few requests, or is refused with an error.
            if let Ok(mut src) = spec.build(100, 200, 1) {
                collect(&mut *src, Some(200)).map_err(|e| format!("{text}: {e}"))?;
            }
            // The canonical form parses back.
            spec.to_string()
                .parse::<WorkloadSpec>()
                .map_err(|e| format!("canonical form of `{text}` does not parse: {e}"))?;
        }
        Ok(())
    });
}

#[test]
fn fuzz_trace_format_and_column_spec_parser() {
    let seeds: Vec<Vec<u8>> = [
        "libcachesim-csv:time-col=2,obj-id-col=5,obj-size-col=4,has-header=true",
        "libcachesim-csv:obj-id-col=1,delimiter=tab,time-unit=us,obj-id-is-num=1",
        "oracle-general",
        "csv",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    fuzz("trace-format", input(seeds), |bytes| {
        let _ = TraceOptions::parse(&String::from_utf8_lossy(&bytes));
        Ok(())
    });
}
