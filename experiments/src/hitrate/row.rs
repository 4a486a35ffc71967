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

/// The values of the first `hitrate.csv` columns that every row type computes the same way:
/// the cell's identity and its GET counts. [`hit_row!`] builds a row from it.
pub struct HitHead<'a> {
    /// Index of the cell in its sweep.
    pub index: u64,
    /// The workload replayed.
    pub workload: &'a crate::workload::Workload,
    /// The cell (policy, samples).
    pub cell: &'a super::Cell,
    /// The cache size in `unit`.
    pub capacity: u64,
    /// Its unit.
    pub unit: super::CapacityUnit,
    /// The working set as the cell's byte model counts it, when `capacity` is a fraction of
    /// it ([`super::modelled`]); `None`: the workload's own counts.
    pub modelled: Option<super::modelled::ModelledWorkingSet>,
    /// The seed of the row.
    pub seed: u64,
    /// Requests replayed.
    pub requests: u64,
    /// GETs, GETs that hit, and their bytes.
    pub gets: u64,
    /// GETs that hit.
    pub hits: u64,
    /// Bytes of all GETs.
    pub get_bytes: u64,
    /// Bytes of the GETs that hit.
    pub hit_bytes: u64,
}

impl HitHead<'_> {
    /// Capacity as a fraction of the working set in the same unit (0 for an empty one).
    pub fn capacity_fraction(&self) -> f64 {
        if let Some(m) = self.modelled {
            return ratio(self.capacity.saturating_sub(m.startup), m.dataset);
        }
        let ws = match self.unit {
            super::CapacityUnit::Keys => self.workload.working_set.objects,
            super::CapacityUnit::Bytes => self.workload.working_set.bytes,
        };
        ratio(self.capacity, ws)
    }
}

/// `a / b`, 0 when `b` is 0.
pub fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Builds a row declared with [`with_hit_columns!`] from a [`HitHead`] and the row's other
/// fields: `hit_row!(HitRow, head, { evicted_keys: …, … })`.
macro_rules! hit_row {
    ($name:ident, $head:expr, { $($rest:tt)* }) => {{
        let h: $crate::hitrate::row::HitHead = $head;
        $name {
            cell: h.index,
            workload: h.workload.info.name.clone(),
            policy: h.cell.policy.name.to_string(),
            samples: h.cell.samples,
            capacity: h.capacity,
            capacity_unit: h.unit.name().to_string(),
            capacity_fraction: h.capacity_fraction(),
            seed: h.seed,
            requests: h.requests,
            gets: h.gets,
            hits: h.hits,
            misses: h.gets - h.hits,
            hit_ratio: $crate::hitrate::row::ratio(h.hits, h.gets),
            byte_hit_ratio: $crate::hitrate::row::ratio(h.hit_bytes, h.get_bytes),
            $($rest)*
        }
    }};
}

pub(crate) use hit_row;
