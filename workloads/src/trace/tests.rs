//! Reader tests: the counts `../shared/traces/README.md` states, cross-checks between the
//! four encodings of `cloudPhysicsIO`, and bad input. Tests that need the shared traces
//! print a message and pass if the folder is absent.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::*;
use crate::{Op, Request, annotate_next_access, collect};

fn traces() -> Option<PathBuf> {
    let d = shared_traces_dir();
    if d.is_none() {
        eprintln!(
            "SKIPPED: ../shared/traces is absent (set EVICTLAB_TRACES to run the trace tests)"
        );
    }
    d
}

fn read_all(path: &Path, format: Option<TraceFormat>) -> (Vec<Request>, SourceInfo) {
    let mut src = open_trace(path, format).unwrap_or_else(|e| panic!("{e}"));
    let v = collect(&mut *src, None).unwrap_or_else(|e| panic!("{e}"));
    (v, src.info().clone())
}

fn unique(v: &[Request]) -> usize {
    let mut set: hashbrown::HashSet<u64, foldhash::fast::FixedState> =
        hashbrown::HashSet::default();
    set.extend(v.iter().map(|r| r.key));
    set.len()
}

/// Σ of each object's first-seen size.
fn working_set(v: &[Request]) -> u64 {
    let mut seen = HashSet::new();
    v.iter()
        .filter(|r| seen.insert(r.key))
        .map(|r| r.value_size as u64)
        .sum()
}

/// (file, detected format, requests, unique objects), from the README's table.
const TABLE: &[(&str, TraceFormat, usize, usize)] = &[
    (
        "libcachesim/cloudPhysicsIO.oracleGeneral.bin",
        TraceFormat::OracleGeneral,
        113_872,
        48_974,
    ),
    (
        "libcachesim/cloudPhysicsIO.vscsi",
        TraceFormat::Vscsi,
        113_872,
        48_974,
    ),
    (
        "libcachesim/cloudPhysicsIO.csv",
        TraceFormat::LibCacheSimCsv,
        113_872,
        48_974,
    ),
    (
        "libcachesim/cloudPhysicsIO.txt",
        TraceFormat::Txt,
        113_872,
        48_974,
    ),
    (
        "caffeine/scarab-recs.trace",
        TraceFormat::Scarab,
        1_245_184,
        258_368,
    ),
    (
        "caffeine/cache2k/web07.trace",
        TraceFormat::Cache2k,
        76_118,
        20_484,
    ),
    (
        "caffeine/cache2k/orm-busy.trace.xz",
        TraceFormat::Cache2k,
        5_000_000,
        76_349,
    ),
    (
        "caffeine/corda-vaultservice.trace",
        TraceFormat::Corda,
        135_702,
        90_468,
    ),
    (
        "caffeine/cloudphysics-w106.trace.xz",
        TraceFormat::CloudPhysics,
        5_292_456,
        275_171,
    ),
    (
        "caffeine/adaptsize-request.trace",
        TraceFormat::AdaptSize,
        66_987,
        36_815,
    ),
    (
        "caffeine/lirs/multi1.trace",
        TraceFormat::Lirs,
        15_858,
        2_606,
    ),
    (
        "caffeine/lirs/sprite.trace",
        TraceFormat::Lirs,
        133_996,
        7_075,
    ),
    (
        "caffeine/lirs/2_pools.trace",
        TraceFormat::Lirs,
        100_000,
        9_939,
    ),
    (
        "caffeine/lirs/loop.trace",
        TraceFormat::Lirs,
        505_500,
        1_011,
    ),
    ("caffeine/lirs/gli.trace", TraceFormat::Lirs, 6_015, 2_529),
    ("caffeine/lirs/ps.trace", TraceFormat::Lirs, 10_448, 3_083),
];

/// The three traces of more than a million requests.
fn is_big(requests: usize) -> bool {
    requests > 1_000_000
}

#[test]
fn every_small_shared_trace_is_detected_and_yields_the_readme_counts() {
    check_table(false);
}

#[test]
fn big_shared_traces_yield_the_readme_counts() {
    // w106 (5.29 M, xz), orm-busy (5 M, xz), scarab (1.2 M).
    check_table(true);
}

fn check_table(big: bool) {
    let Some(dir) = traces() else { return };
    for &(file, format, requests, objects) in TABLE.iter().filter(|t| is_big(t.2) == big) {
        let path = dir.join(file);
        assert_eq!(detect(&path).unwrap(), format, "{file}");
        let (v, info) = read_all(&path, None);
        assert_eq!(v.len(), requests, "{file}: requests");
        assert_eq!(unique(&v), objects, "{file}: unique objects");
        if let Some(n) = info.len_hint {
            assert_eq!(n as usize, requests, "{file}: len_hint");
        }
        // Formats without sizes give the default size and say so.
        if !info.has_sizes {
            assert!(
                v.iter().all(|r| r.value_size == crate::DEFAULT_VALUE_SIZE),
                "{file}"
            );
        }
        assert!(v.iter().all(|r| r.op == Op::Get), "{file}");
    }
}

#[test]
fn cloud_physics_encodings_agree_request_for_request() {
    let Some(dir) = traces() else { return };
    let lib = dir.join("libcachesim");
    let (og, og_info) = read_all(&lib.join("cloudPhysicsIO.oracleGeneral.bin"), None);
    let (vs, vs_info) = read_all(&lib.join("cloudPhysicsIO.vscsi"), None);
    let (csv, csv_info) = read_all(&lib.join("cloudPhysicsIO.csv"), None);
    let (txt, txt_info) = read_all(&lib.join("cloudPhysicsIO.txt"), None);
    assert!(og_info.has_next_access && og_info.has_sizes && og_info.has_time);
    assert!(vs_info.has_sizes && vs_info.has_time && !vs_info.has_next_access);
    assert!(csv_info.has_sizes && csv_info.has_time);
    assert!(!txt_info.has_sizes && !txt_info.has_time);
    for i in 0..og.len() {
        assert_eq!(og[i].key, vs[i].key, "request {i}");
        assert_eq!(og[i].key, csv[i].key, "request {i}");
        assert_eq!(og[i].key, txt[i].key, "request {i}");
        // The csv has the vscsi sizes and whole-second times.
        assert_eq!(vs[i].value_size, csv[i].value_size, "request {i}");
        assert_eq!(og[i].time_ms, csv[i].time_ms, "request {i}");
    }
    // README: oracleGeneral freezes sizes at first sight; 13,671 requests differ from vscsi.
    assert_eq!(
        og.iter()
            .zip(&vs)
            .filter(|(a, b)| a.value_size != b.value_size)
            .count(),
        13_671
    );
    // 4,937 objects have more than one size in the vscsi encoding.
    let mut sizes: HashMap<u64, HashSet<u32>> = HashMap::new();
    for r in &vs {
        sizes.entry(r.key).or_default().insert(r.value_size);
    }
    assert_eq!(sizes.values().filter(|s| s.len() > 1).count(), 4_937);
    // Working set by first-seen size, and the trace spans 5,633,898 … 5,641,098 s.
    assert_eq!(working_set(&og), 2_029_769_728);
    assert_eq!(working_set(&vs), 2_029_769_728);
    assert_eq!(og.last().unwrap().time_ms, (5_641_098 - 5_633_898) * 1000);
    assert!(vs.last().unwrap().time_ms.abs_diff(7_200_000) < 1000);
    // The file's next_access_vtime agrees with our pre-pass, record for record.
    let mut ours = og.clone();
    annotate_next_access(&mut ours);
    for i in 0..og.len() {
        assert_eq!(og[i].next_access, ours[i].next_access, "request {i}");
    }
    // 43 % of objects are accessed exactly once.
    let mut counts: HashMap<u64, u32> = HashMap::new();
    for r in &og {
        *counts.entry(r.key).or_default() += 1;
    }
    let once = counts.values().filter(|&&c| c == 1).count() as f64 / counts.len() as f64;
    assert!((once - 0.43).abs() < 0.005, "{once}");
}

#[test]
fn small_trace_facts() {
    let Some(dir) = traces() else { return };
    // web07 ids are 0 … 20,483.
    let (v, _) = read_all(&dir.join("caffeine/cache2k/web07.trace"), None);
    assert_eq!(v.iter().map(|r| r.key).max(), Some(20_483));
    // Exactly half of corda's 90,468 keys occur once.
    let (v, _) = read_all(&dir.join("caffeine/corda-vaultservice.trace"), None);
    let mut counts: HashMap<u64, u32> = HashMap::new();
    for r in &v {
        *counts.entry(r.key).or_default() += 1;
    }
    assert_eq!(counts.values().filter(|&&c| c == 1).count(), 90_468 / 2);
    // AdaptSize: working set 278,854,232 bytes by first-seen size; 40,240 (id, size) pairs;
    // 1,079 ids with more than one size.
    let (v, info) = read_all(&dir.join("caffeine/adaptsize-request.trace"), None);
    assert!(info.has_sizes && !info.has_time);
    assert_eq!(working_set(&v), 278_854_232);
    assert_eq!(
        v.iter()
            .map(|r| (r.key, r.value_size))
            .collect::<HashSet<_>>()
            .len(),
        40_240
    );
    let mut sizes: HashMap<u64, HashSet<u32>> = HashMap::new();
    for r in &v {
        sizes.entry(r.key).or_default().insert(r.value_size);
    }
    assert_eq!(sizes.values().filter(|s| s.len() > 1).count(), 1_079);
    // loop.trace is a pure cyclic scan of 1,011 blocks.
    let (v, _) = read_all(&dir.join("caffeine/lirs/loop.trace"), None);
    assert!(
        v.windows(1011 + 1)
            .take(1000)
            .all(|w| w[0].key == w[1011].key)
    );
}

#[test]
fn a_column_spec_reads_the_libcachesim_csv_like_libcachesim() {
    let Some(dir) = traces() else { return };
    let path = dir.join("libcachesim/cloudPhysicsIO.csv");
    let opts = TraceOptions::parse("libcachesim-csv:time-col=2, obj-id-col=5, obj-size-col=4, obj-id-is-num=1, has-header=true").unwrap();
    let mut src = open_trace_with(&path, &opts).unwrap();
    let v = collect(&mut *src, None).unwrap();
    let (auto, _) = read_all(&path, None);
    assert_eq!(v, auto);
}

// ---------------------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------------------

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let d = std::env::temp_dir().join(format!("evictlab-wl-{}-{tag}-{n}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn read_err(path: &Path, format: Option<TraceFormat>) -> WorkloadError {
    match open_trace(path, format) {
        Err(e) => e,
        Ok(mut src) => collect(&mut *src, None).expect_err("expected an error"),
    }
}

#[test]
fn malformed_text_lines_name_file_line_and_text() {
    let d = TempDir::new("text");
    let p = d.file("ids.txt", b"1\n2\nthree\n4\n");
    match read_err(&p, None) {
        WorkloadError::Parse {
            path,
            line,
            field,
            text,
            expected,
        } => {
            assert_eq!(
                (path, line, field, text.as_str()),
                (p.clone(), 3, "key", "three")
            );
            assert!(expected.contains("decimal"));
        }
        e => panic!("{e:?}"),
    }
    let msg = read_err(&p, None).to_string();
    assert!(msg.contains("ids.txt:3") && msg.contains("three"), "{msg}");
    // LIRS: `*` lines, CRLF and blank lines are fine, a negative id is not.
    let p = d.file("x.lirs", b"1\r\n*\r\n\r\n2\r\n-3\r\n");
    assert!(matches!(
        read_err(&p, None),
        WorkloadError::Parse { line: 5, .. }
    ));
    let p = d.file("ok.lirs", b"1\r\n*\r\n\r\n2\r\n");
    let (v, _) = read_all(&p, None);
    assert_eq!(v.iter().map(|r| r.key).collect::<Vec<_>>(), [1, 2]);
    // AdaptSize with a missing column.
    let p = d.file("a.trace", b"1 2 3\n2 5\n");
    match read_err(&p, Some(TraceFormat::AdaptSize)) {
        WorkloadError::Parse {
            line: 2,
            field: "columns",
            text,
            ..
        } => assert_eq!(text, "2 5"),
        e => panic!("{e:?}"),
    }
}

#[test]
fn lab_csv_round_trip_and_errors() {
    let d = TempDir::new("csv");
    let p = d.file(
        "lab.csv",
        b"time_ms,op,key,value_size,ttl_ms\n100,get,7,10,0\n150,SET,user:1,20,5000\n170,delete,7,,\n",
    );
    assert_eq!(detect(&p).unwrap(), TraceFormat::Csv);
    let (v, info) = read_all(&p, None);
    assert!(info.has_time && info.has_sizes);
    assert_eq!(v.len(), 3);
    assert_eq!(
        (v[0].time_ms, v[0].op, v[0].key, v[0].value_size),
        (0, Op::Get, 7, 10)
    );
    assert_eq!(
        (v[1].time_ms, v[1].op, v[1].key, v[1].ttl_ms),
        (50, Op::Set, crate::hash::fnv1a64(b"user:1"), 5000)
    );
    assert_eq!((v[2].op, v[2].value_size, v[2].ttl_ms), (Op::Delete, 0, 0));
    let p = d.file(
        "bad.csv",
        b"op,key,value_size,ttl_ms\nget,1,1,0\nfetch,2,1,0\n",
    );
    match read_err(&p, Some(TraceFormat::Csv)) {
        WorkloadError::Parse {
            line: 3,
            field: "op",
            text,
            ..
        } => assert_eq!(text, "fetch,2,1,0"),
        e => panic!("{e:?}"),
    }
    let p = d.file("bad2.csv", b"op,key,value_size,ttl_ms\nget,1,-5,0\n");
    assert!(matches!(
        read_err(&p, Some(TraceFormat::Csv)),
        WorkloadError::Parse {
            line: 2,
            field: "value_size",
            ..
        }
    ));
    let p = d.file("bad3.csv", b"op,key,size\nget,1,1\n");
    assert!(matches!(
        read_err(&p, Some(TraceFormat::Csv)),
        WorkloadError::Parse {
            line: 1,
            field: "header",
            ..
        }
    ));
    let p = d.file("bad4.csv", b"op,key,value_size,ttl_ms\nget,1\n");
    assert!(matches!(
        read_err(&p, Some(TraceFormat::Csv)),
        WorkloadError::Parse {
            line: 2,
            field: "columns",
            ..
        }
    ));
}

#[test]
fn truncated_binary_records_give_the_byte_offset() {
    let d = TempDir::new("bin");
    let p = d.file("t.oracleGeneral.bin", &[0u8; 24 * 2 + 5]);
    match read_err(&p, None) {
        WorkloadError::Truncated {
            offset,
            trailing,
            record_bytes,
            ..
        } => {
            assert_eq!((offset, trailing, record_bytes), (48, 5, 24));
        }
        e => panic!("{e:?}"),
    }
    for (format, size) in [
        (TraceFormat::Cache2k, 4),
        (TraceFormat::Scarab, 8),
        (TraceFormat::CloudPhysics, 4),
    ] {
        let p = d.file("t.trace", &vec![1u8; size * 3 + 1]);
        match read_err(&p, Some(format)) {
            WorkloadError::Truncated {
                offset,
                trailing: 1,
                ..
            } => assert_eq!(offset, 3 * size as u64),
            e => panic!("{format}: {e:?}"),
        }
    }
    // A vscsi v1 file whose second record claims another version.
    let mut b = vec![0u8; 64];
    b[15] = 1; // ver = 0x0100 in record 0
    b[32 + 15] = 7;
    let p = d.file("t.vscsi", &b);
    assert!(matches!(
        read_err(&p, None),
        WorkloadError::BadRecord {
            offset: 32,
            field: "ver",
            ..
        }
    ));
    let p = d.file("u.vscsi", &[9u8; 40]);
    assert!(matches!(
        read_err(&p, None),
        WorkloadError::BadRecord { offset: 0, .. }
    ));
    // A corrupt xz stream is an I/O error naming the file, not a panic.
    let p = d.file("c.trace.xz", b"\xfd7zXZ\0garbage");
    assert!(matches!(
        read_err(&p, Some(TraceFormat::Cache2k)),
        WorkloadError::Io { .. }
    ));
}

#[test]
fn binary_decoders_read_hand_made_records() {
    let d = TempDir::new("dec");
    // cache2k: -1 and 5 as i32 BE.
    let p = d.file("x.trace", &[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 5]);
    let (v, _) = read_all(&p, Some(TraceFormat::Cache2k));
    assert_eq!(v.iter().map(|r| r.key).collect::<Vec<_>>(), [u64::MAX, 5]);
    // w106: 0xffffffff as u32 BE stays positive.
    let (v, _) = read_all(&p, Some(TraceFormat::CloudPhysics));
    assert_eq!(v[0].key, 0xffff_ffff);
    // vscsi v2: cmd, ver=0x0200, sn, len=4096, nSG, lbn=77, ts=2_000_000 µs, rt.
    let mut rec = Vec::new();
    for ts in [1_000_000u64, 3_000_000] {
        rec.extend(0x28u16.to_le_bytes());
        rec.extend(0x0200u16.to_le_bytes());
        rec.extend(1u32.to_le_bytes());
        rec.extend(4096u32.to_le_bytes());
        rec.extend(1u32.to_le_bytes());
        rec.extend(77u64.to_le_bytes());
        rec.extend(ts.to_le_bytes());
        rec.extend(0u64.to_le_bytes());
    }
    let p = d.file("v2.vscsi", &rec);
    let (v, info) = read_all(&p, None);
    assert_eq!(info.len_hint, Some(2));
    assert_eq!((v[1].key, v[1].value_size, v[1].time_ms), (77, 4096, 2000));
}

#[test]
fn unknown_and_undetectable_formats_list_the_known_ones() {
    match TraceFormat::from_name("arc") {
        Err(WorkloadError::UnknownFormat { name, known }) => {
            assert_eq!(name, "arc");
            for f in TraceFormat::ALL {
                assert!(known.contains(f.name()), "{known}");
            }
        }
        e => panic!("{e:?}"),
    }
    for f in TraceFormat::ALL {
        assert_eq!(TraceFormat::from_name(f.name()).unwrap(), f);
    }
    let names: Vec<&str> = TraceFormat::ALL.iter().map(|f| f.name()).collect();
    assert_eq!(
        names,
        [
            "csv",
            "oracle-general",
            "vscsi",
            "libcachesim-csv",
            "txt",
            "lirs",
            "cache2k",
            "scarab",
            "corda",
            "cloud-physics",
            "adapt-size"
        ]
    );
    assert!(matches!(
        detect(Path::new("/x/y.bin")),
        Err(WorkloadError::UndetectedFormat { .. })
    ));
    assert!(matches!(
        detect(Path::new("/x/y.trace")),
        Err(WorkloadError::UndetectedFormat { .. })
    ));
    assert_eq!(
        detect(Path::new("/x/lirs/y.trace")).unwrap(),
        TraceFormat::Lirs
    );
    assert_eq!(
        detect(Path::new("/x/twitter.oracleGeneral.zst")).unwrap(),
        TraceFormat::OracleGeneral
    );
    assert!(matches!(
        TraceOptions::parse("txt:foo=1"),
        Err(WorkloadError::Spec { .. })
    ));
    assert!(matches!(
        TraceOptions::parse("libcachesim-csv:obj-size-col=4"),
        Err(WorkloadError::Spec { .. })
    ));
    assert!(matches!(
        TraceOptions::parse("libcachesim-csv:obj-id-col=0"),
        Err(WorkloadError::Spec { .. })
    ));
    assert!(matches!(
        open_trace(Path::new("/nonexistent/a.txt"), None),
        Err(WorkloadError::Io { .. })
    ));
}

#[test]
fn writers_round_trip_through_the_readers() {
    let d = TempDir::new("write");
    let spec: crate::WorkloadSpec = "zipf:1.1,read=0.7,update=0.2,delete=0.1,size=uniform:1:5000,ttl=0.5:fixed:1000,arrival=constant:500".parse().unwrap();
    let gen_all = || {
        let mut s = spec.build(500, 20_000, 3).unwrap();
        collect(&mut *s, None).unwrap()
    };
    let want = gen_all();
    // CSV: everything survives.
    let p = d.0.join("w.csv");
    let n = crate::export(
        &mut *spec.build(500, 20_000, 3).unwrap(),
        crate::ExportFormat::Csv,
        &p,
    )
    .unwrap();
    assert_eq!(n, 20_000);
    let (got, info) = read_all(&p, None);
    assert!(info.has_time);
    assert_eq!(got, want);
    // oracleGeneral (plain and zstd): keys, sizes, whole seconds, next access.
    let mut annotated = want.clone();
    annotate_next_access(&mut annotated);
    for name in ["w.oracleGeneral.bin", "w.oracleGeneral.zst"] {
        let p = d.0.join(name);
        crate::export(
            &mut *spec.build(500, 20_000, 3).unwrap(),
            crate::ExportFormat::OracleGeneral,
            &p,
        )
        .unwrap();
        let (got, _) = read_all(&p, None);
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&annotated) {
            assert_eq!(
                (g.key, g.value_size, g.next_access, g.time_ms),
                (w.key, w.value_size, w.next_access, w.time_ms / 1000 * 1000)
            );
        }
    }
    assert!(!d.0.join("w.csv.tmp").exists());
}
