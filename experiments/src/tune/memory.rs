//! Step 1 of `experiment tune`: the kernel settings that decide whether a fork fails, and the
//! memory probe (base footprint, fragmentation, used memory per key) in a forked child.

use evictlab_engine::persist::cow::read_rss;
use evictlab_engine::persist::{rules, thp};
use evictlab_engine::{Blob, Config, Engine, Key, SetOptions};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;

use super::*;
use crate::ui::Ui;
use crate::{RunError, output};

/// The kernel settings that decide whether a fork fails.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SystemSettings {
    /// `/sys/kernel/mm/transparent_hugepage/enabled` (the selected mode).
    pub thp: String,
    /// `/proc/sys/vm/overcommit_memory`.
    pub overcommit_memory: Option<u32>,
    /// `/proc/sys/vm/overcommit_ratio`.
    pub overcommit_ratio: Option<u32>,
    /// `SwapTotal` of `/proc/meminfo`, bytes.
    pub swap_bytes: Option<u64>,
    /// `MemTotal`, bytes.
    pub mem_total_bytes: Option<u64>,
}

fn read_u32(path: &str) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn meminfo(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    text.lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

/// Reads the system's THP mode, overcommit settings and memory.
pub fn system_settings() -> SystemSettings {
    SystemSettings {
        thp: thp::system_mode(),
        overcommit_memory: rules::overcommit_memory(),
        overcommit_ratio: read_u32("/proc/sys/vm/overcommit_ratio"),
        swap_bytes: meminfo("SwapTotal"),
        mem_total_bytes: meminfo("MemTotal"),
    }
}

/// Fills, deletes and refills a materialized engine inside this process and returns the
/// rows (run it in a fresh child: see [`measure_memory`]).
pub(super) fn memory_phases(
    value_size: u64,
    dataset: u64,
    seed: u64,
) -> Result<Vec<MemRow>, String> {
    let cfg = Config::parse_str(
        "lab-storage materialized\nmaxmemory 0\nmaxmemory-policy noeviction\nsave \"\"",
    )
    .map_err(|e| e.to_string())?;
    let mut engine = Engine::new(cfg, seed).map_err(|e| e.to_string())?;
    // The base footprint: the process with an empty engine.
    let base = read_rss().map_err(|e| format!("reading RSS: {e}"))?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x7e57);
    let vs = value_size.max(1) as usize;
    let keys = (dataset / value_size.max(1)).max(1);
    let mut template = vec![0u8; vs * 2 + 1];
    for b in template.iter_mut() {
        *b = rng.random::<u8>();
    }
    let mut rows = Vec::new();
    let mut row = |phase: &str, engine: &Engine, live: u64| -> Result<(), String> {
        let rss = read_rss().map_err(|e| format!("reading RSS: {e}"))?;
        let used = engine.used_memory();
        rows.push(MemRow {
            phase: phase.into(),
            keys: live,
            value_size,
            used_memory_bytes: used,
            rss_bytes: rss,
            base_rss_bytes: base,
            frag_ratio: if used > 0 {
                rss.saturating_sub(base) as f64 / used as f64
            } else {
                0.0
            },
            used_per_key_bytes: if live > 0 {
                used as f64 / live as f64
            } else {
                0.0
            },
        });
        Ok(())
    };
    row("empty", &engine, 0)?;
    for id in 0..keys {
        engine.set(
            Key::from_id(id),
            Blob::bytes(&template[(id as usize * 7) % vs..][..vs]),
            SetOptions::default(),
        );
    }
    row("fill", &engine, keys)?;
    let mut live = keys;
    let mut deleted = Vec::new();
    for id in 0..keys {
        if rng.random::<bool>() && engine.del(&Key::from_id(id)) {
            live -= 1;
            deleted.push(id);
        }
    }
    row("delete-half", &engine, live)?;
    // Refill the deleted keys with sizes from 0.5× to 1.5× the value size: the holes left by
    // the deletes fit some and not others, as a workload whose values change size.
    for id in deleted {
        let len = rng.random_range(vs / 2..=vs + vs / 2).max(1);
        engine.set(
            Key::from_id(id),
            Blob::bytes(&template[..len]),
            SetOptions::default(),
        );
        live += 1;
    }
    row("refill-mixed", &engine, live)?;
    Ok(rows)
}

/// Measures the base footprint and the fragmentation ratio in a forked child (a fresh heap
/// that the caller's allocations do not pollute). Returns the `tune_memory.csv` rows.
///
/// Call it from a thread that holds no locks the child could need (see [`crate::cow::cmd`]).
pub fn measure_memory(value_size: u64, dataset: u64, seed: u64) -> Result<Vec<MemRow>, RunError> {
    crate::cow::fork_call("memory probe", || memory_phases(value_size, dataset, seed))
        .map_err(report_err)
}

/// What the memory step measured and derived.
#[derive(Debug)]
pub(super) struct Memory {
    /// `tune_memory.csv` rows.
    pub(super) rows: Vec<MemRow>,
    /// RSS of the process with an empty engine.
    pub(super) base: f64,
    /// `(rss − base) / used_memory`, the larger of fill and refill, at least 1.
    pub(super) frag: f64,
    /// Used memory per key after the fill.
    pub(super) per_key: f64,
}

/// Step 1: the fragmentation probe in a forked child (`tune_memory.csv`).
pub(super) fn memory_step(p: &TuneParams, value_size: u64, ui: &Ui) -> Result<Memory, RunError> {
    let spin = ui.spinner("fragmentation probe");
    let memory = measure_memory(value_size, p.memory_dataset, p.seed)?;
    spin.finish_and_clear();
    output::write_csv(&p.out.join("tune_memory.csv"), &memory)?;
    let phase = |n: &str| {
        memory
            .iter()
            .find(|r| r.phase == n)
            .cloned()
            .unwrap_or_default()
    };
    let base = phase("empty").rss_bytes as f64;
    let fill = phase("fill");
    let refill = phase("refill-mixed");
    let frag = refill.frag_ratio.max(fill.frag_ratio).max(1.0);
    let per_key = fill.used_per_key_bytes.max(1.0);

    Ok(Memory {
        rows: memory,
        base,
        frag,
        per_key,
    })
}
