//! Issue 12 regressions for the readers: out-of-range times and TTLs are errors naming
//! the file, the line (or byte offset), the field and the accepted range.

use std::path::{Path, PathBuf};

use super::*;
use crate::{MAX_TIME_MS, collect};

fn temp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    (d, p)
}

fn read_err(path: &Path, opts: &TraceOptions) -> WorkloadError {
    match open_trace_with(path, opts) {
        Err(e) => e,
        Ok(mut src) => collect(&mut *src, None).expect_err("expected an error"),
    }
}

fn opts(spec: &str) -> TraceOptions {
    TraceOptions::parse(spec).unwrap()
}

#[test]
fn lab_csv_times_and_ttls_beyond_2_pow_53_are_errors() {
    let max = u64::MAX;
    for (body, line, field) in [
        (format!("0,get,1,1,0\n{max},get,2,1,0\n"), 3, "time_ms"),
        (format!("{},get,1,1,0\n", MAX_TIME_MS + 1), 2, "time_ms"),
        (format!("0,get,1,1,0\n5,set,2,1,{max}\n"), 3, "ttl_ms"),
    ] {
        let text = format!("time_ms,op,key,value_size,ttl_ms\n{body}");
        let (_d, p) = temp_file("t.csv", text.as_bytes());
        let e = read_err(&p, &opts("csv"));
        let msg = e.to_string();
        match &e {
            WorkloadError::Parse {
                line: l, field: f, ..
            } => assert_eq!((*l, *f), (line, field), "{msg}"),
            _ => panic!("{msg}"),
        }
        assert!(
            msg.contains("t.csv") && msg.contains("9007199254740992"),
            "{msg}"
        );
    }
    // The limit itself is accepted (and replays in bounded time: see tests/robust.rs).
    let text = format!(
        "time_ms,op,key,value_size,ttl_ms\n0,get,1,1,0\n{MAX_TIME_MS},set,2,1,{MAX_TIME_MS}\n"
    );
    let (_d, p) = temp_file("ok.csv", text.as_bytes());
    let mut src = open_trace_with(&p, &opts("csv")).unwrap();
    let v = collect(&mut *src, None).unwrap();
    assert_eq!((v[1].time_ms, v[1].ttl_ms), (MAX_TIME_MS, MAX_TIME_MS));
}

#[test]
fn libcachesim_csv_times_beyond_the_range_are_errors() {
    for t in ["1.8e16", "1e300", "18446744073709551615"] {
        let text = format!("time,obj_id,obj_size\n0,1,10\n{t},2,10\n");
        let (_d, p) = temp_file("lcs.csv", text.as_bytes());
        let e = read_err(&p, &opts("libcachesim-csv"));
        let msg = e.to_string();
        assert!(
            matches!(
                e,
                WorkloadError::Parse {
                    line: 3,
                    field: "time",
                    ..
                }
            ),
            "{t}: {msg}"
        );
        assert!(msg.contains("lcs.csv:3") && msg.contains(t), "{msg}");
    }
    let text = "1,10,1e300\n";
    let (_d, p) = temp_file("ttl.csv", text.as_bytes());
    let e = read_err(
        &p,
        &opts("libcachesim-csv:obj-id-col=1,obj-size-col=2,ttl-col=3"),
    );
    assert!(
        matches!(
            e,
            WorkloadError::Parse {
                line: 1,
                field: "ttl",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn vscsi_timestamps_beyond_the_range_are_errors() {
    let rec = |ts: u64| {
        let mut r = [0u8; 32];
        r[4..8].copy_from_slice(&512u32.to_le_bytes());
        r[14..16].copy_from_slice(&0x0100u16.to_le_bytes());
        r[16..24].copy_from_slice(&7u64.to_le_bytes());
        r[24..32].copy_from_slice(&ts.to_le_bytes());
        r
    };
    let mut bytes = rec(0).to_vec();
    bytes.extend(rec(u64::MAX));
    let (_d, p) = temp_file("t.vscsi", &bytes);
    match read_err(&p, &opts("vscsi")) {
        WorkloadError::BadRecord {
            offset: 32,
            field: "ts",
            value,
            ..
        } => assert_eq!(value, u64::MAX),
        e => panic!("{e}"),
    }
}

#[test]
fn arrival_rates_outside_the_range_are_errors() {
    for spec in [
        "uniform,arrival=constant:1e-16",
        "uniform,arrival=poisson:0.0001",
        "uniform,arrival=constant:1e300",
        "uniform,arrival=constant:NaN",
    ] {
        let e = spec.parse::<crate::WorkloadSpec>().unwrap_err().to_string();
        assert!(e.contains("1..=1e12"), "{spec}: {e}");
    }
    assert!(
        "uniform,arrival=constant:1"
            .parse::<crate::WorkloadSpec>()
            .is_ok()
    );
}
