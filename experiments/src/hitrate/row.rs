//! The `hitrate.csv` columns, declared once for every row type that starts with them
//! ([`super::HitRow`], `server.csv`'s [`crate::server::ServerRow`]).

/// Declares a row struct whose first columns are `hitrate.csv`'s, followed by its own
/// fields. The CSV writer cannot flatten a nested struct into columns, so the shared
/// columns are spliced in here instead of copied.
macro_rules! with_hit_columns {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$fmeta:meta])* pub $field:ident : $ty:ty,)*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            /// Index of the cell in its sweep (stable across shards; `merge` sorts by it).
            pub cell: u64,
            /// Workload name.
            pub workload: String,
            /// Policy name.
            pub policy: String,
            /// `maxmemory-samples` (empty for policies that do not sample).
            pub samples: Option<u32>,
            /// The cache size in `capacity_unit`.
            pub capacity: u64,
            /// `keys` or `bytes`.
            pub capacity_unit: String,
            /// Capacity as a fraction of the working set (in the same unit).
            pub capacity_fraction: f64,
            /// Engine seed.
            pub seed: u64,
            /// Requests replayed.
            pub requests: u64,
            /// GET requests.
            pub gets: u64,
            /// GETs that hit.
            pub hits: u64,
            /// GETs that missed.
            pub misses: u64,
            /// hits / gets.
            pub hit_ratio: f64,
            /// bytes of GETs that hit / bytes of all GETs.
            pub byte_hit_ratio: f64,
            /// `evicted_keys`.
            pub evicted_keys: u64,
            /// `expired_keys`.
            pub expired_keys: u64,
            /// Writes refused with OOM.
            pub oom_rejections: u64,
            /// New keys the policy declined to admit.
            pub admission_bypasses: u64,
            /// Virtual time covered by the replay, ms (from timestamps or `--rate`).
            pub virtual_ms: u64,
            /// The engine parameters the extra config lines (`--config`, a sweep's `config`)
            /// changed in this cell, as config lines joined by `; ` (empty: none).
            #[serde(default)]
            pub config: String,
            /// Replay speed (wall clock; the only non-deterministic column).
            pub requests_per_sec: f64,
            $($(#[$fmeta])* pub $field: $ty,)*
        }
    };
}

pub(crate) use with_hit_columns;
