//! The one list of workload generators, mix presets and spec options (for
//! `experiment list workloads`, spec errors and docs/workloads.md).

/// A generator kind: the first token of a workload spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GeneratorInfo {
    /// The name (`zipf`).
    pub name: &'static str,
    /// Parameter syntax after the name (`:S`), with defaults in brackets.
    pub params: &'static str,
    /// One line of documentation.
    pub doc: &'static str,
}

/// Every generator kind, popularity models first, then the YCSB presets.
pub static GENERATORS: &[GeneratorInfo] = &[
    GeneratorInfo {
        name: "uniform",
        params: "",
        doc: "every key equally likely",
    },
    GeneratorInfo {
        name: "zipf",
        params: "[:S=0.99]",
        doc: "Zipf with exponent S > 0 (any S, exact); key id = rank, key 0 hottest",
    },
    GeneratorInfo {
        name: "scrambled-zipf",
        params: "[:S=0.99]",
        doc: "YCSB's scrambled Zipfian: a Zipf rank r becomes key FNV-1a-64(r) mod keys",
    },
    GeneratorInfo {
        name: "hotspot",
        params: "[:DATA_FRACTION=0.2:OPS_FRACTION=0.8]",
        doc: "YCSB hotspot: the first DATA_FRACTION of keys get OPS_FRACTION of requests, uniformly",
    },
    GeneratorInfo {
        name: "latest",
        params: "[:S=0.99]",
        doc: "YCSB latest: Zipf over recency, the newest key hottest (grows with inserts)",
    },
    GeneratorInfo {
        name: "loop",
        params: "",
        doc: "sequential scan 0, 1, …, keys-1, 0, 1, … (LRU's worst case)",
    },
    GeneratorInfo {
        name: "ycsb-a",
        params: "",
        doc: "YCSB A, update heavy: scrambled-zipf:0.99, 50% read, 50% update",
    },
    GeneratorInfo {
        name: "ycsb-b",
        params: "",
        doc: "YCSB B, read mostly: scrambled-zipf:0.99, 95% read, 5% update",
    },
    GeneratorInfo {
        name: "ycsb-c",
        params: "",
        doc: "YCSB C, read only: scrambled-zipf:0.99, 100% read",
    },
    GeneratorInfo {
        name: "ycsb-d",
        params: "",
        doc: "YCSB D, read latest: latest:0.99, 95% read, 5% insert",
    },
    GeneratorInfo {
        name: "ycsb-e",
        params: "",
        doc: "YCSB E, short ranges: scrambled-zipf:0.99, 95% scan (1-100 keys), 5% insert",
    },
    GeneratorInfo {
        name: "ycsb-f",
        params: "",
        doc: "YCSB F, read-modify-write: scrambled-zipf:0.99, 50% read, 50% read-modify-write",
    },
];

/// A named op mix for `mix=NAME`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MixPreset {
    /// The name.
    pub name: &'static str,
    /// `[read, update, insert, delete, rmw, scan]` ratios.
    pub ratios: [f64; 6],
    /// One line of documentation.
    pub doc: &'static str,
}

/// Mix presets. YCSB's from `workloads/workload[a-f]` of the YCSB distribution.
pub static MIX_PRESETS: &[MixPreset] = &[
    MixPreset {
        name: "read-only",
        ratios: [1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        doc: "100% read (the default)",
    },
    MixPreset {
        name: "write-50",
        ratios: [0.5, 0.5, 0.0, 0.0, 0.0, 0.0],
        doc: "write heavy: 50% read, 50% write",
    },
    MixPreset {
        name: "write-90",
        ratios: [0.1, 0.9, 0.0, 0.0, 0.0, 0.0],
        doc: "write heavy: 10% read, 90% write",
    },
    MixPreset {
        name: "ycsb-a",
        ratios: [0.5, 0.5, 0.0, 0.0, 0.0, 0.0],
        doc: "50% read, 50% update",
    },
    MixPreset {
        name: "ycsb-b",
        ratios: [0.95, 0.05, 0.0, 0.0, 0.0, 0.0],
        doc: "95% read, 5% update",
    },
    MixPreset {
        name: "ycsb-c",
        ratios: [1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        doc: "100% read",
    },
    MixPreset {
        name: "ycsb-d",
        ratios: [0.95, 0.0, 0.05, 0.0, 0.0, 0.0],
        doc: "95% read, 5% insert",
    },
    MixPreset {
        name: "ycsb-e",
        ratios: [0.0, 0.0, 0.05, 0.0, 0.0, 0.95],
        doc: "95% scan, 5% insert",
    },
    MixPreset {
        name: "ycsb-f",
        ratios: [0.5, 0.0, 0.0, 0.0, 0.5, 0.0],
        doc: "50% read, 50% read-modify-write",
    },
];

/// A `NAME=VALUE` option of a workload spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionInfo {
    /// The name.
    pub name: &'static str,
    /// Value syntax.
    pub value: &'static str,
    /// One line of documentation.
    pub doc: &'static str,
}

/// Every option.
pub static OPTIONS: &[OptionInfo] = &[
    OptionInfo {
        name: "read",
        value: "RATIO",
        doc: "fraction of GETs",
    },
    OptionInfo {
        name: "update",
        value: "RATIO",
        doc: "fraction of SETs of an existing key chosen by popularity (alias: write)",
    },
    OptionInfo {
        name: "insert",
        value: "RATIO",
        doc: "fraction of SETs of a new key (the key space grows)",
    },
    OptionInfo {
        name: "delete",
        value: "RATIO",
        doc: "fraction of DELs of a key chosen by popularity",
    },
    OptionInfo {
        name: "rmw",
        value: "RATIO",
        doc: "fraction of read-modify-writes (a GET then a SET of the same key)",
    },
    OptionInfo {
        name: "scan",
        value: "RATIO",
        doc: "fraction of scans: GETs of consecutive keys from a popular start key",
    },
    OptionInfo {
        name: "mix",
        value: "PRESET",
        doc: "a named mix (instead of ratios)",
    },
    OptionInfo {
        name: "scan-len",
        value: "DIST",
        doc: "keys per scan (default uniform:1:100, as YCSB)",
    },
    OptionInfo {
        name: "size",
        value: "DIST",
        doc: "value size in bytes (default fixed:1, sizes then flagged as absent)",
    },
    OptionInfo {
        name: "size-per",
        value: "key|request",
        doc: "a size per key, stable (default), or drawn afresh for every request",
    },
    OptionInfo {
        name: "ttl",
        value: "FRACTION:DIST",
        doc: "that fraction of keys is volatile, each with a TTL in ms from DIST (stable per key)",
    },
    OptionInfo {
        name: "arrival",
        value: "constant:RATE|poisson:RATE",
        doc: "arrival times at RATE requests per second, evenly spaced or Poisson",
    },
    OptionInfo {
        name: "phase",
        value: "AT:KIND[:PARAMS]",
        doc: "from AT (a request index, or a time like 30s / 1500ms) on, popularity is KIND (repeatable)",
    },
    OptionInfo {
        name: "shift",
        value: "EVERY:KEYS",
        doc: "every EVERY requests (or time), popular keys move by KEYS ids (hot-set drift)",
    },
];

/// The generator names, comma-separated (for error messages).
pub fn generator_names() -> String {
    GENERATORS
        .iter()
        .map(|g| format!("{}{}", g.name, g.params))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The mix preset names, comma-separated.
pub fn mix_names() -> String {
    MIX_PRESETS
        .iter()
        .map(|m| m.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The option names, comma-separated.
pub fn option_names() -> String {
    let mut v: Vec<String> = OPTIONS
        .iter()
        .map(|o| format!("{}={}", o.name, o.value))
        .collect();
    v.push("write=RATIO".into());
    v.join(", ")
}
