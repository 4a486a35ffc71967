//! Step 3 of `experiment tune`: from the measurements to `maxmemory` and the other derived
//! figures, each with its derivation.

use evictlab_engine::config::SaveRule;

use super::fit::Fits;
use super::memory::Memory;
use super::*;
use crate::cow::CowRow;

/// Seconds between two BGSAVEs at `rate` writes/s under `rules` (a point `s c` fires once
/// `c` changes happened and more than `s` seconds passed: redis `src/server.c` serverCron);
/// `None` when no rule ever fires.
pub fn save_interval_secs(rules: &[SaveRule], rate: u64) -> Option<f64> {
    if rate == 0 {
        return None;
    }
    rules
        .iter()
        .map(|r| (r.seconds as f64).max(r.changes as f64 / rate as f64))
        .min_by(f64::total_cmp)
}

/// Step 3: the derived figures (`tune_recommendation.csv` rows): maxmemory and its
/// variants, headrooms, fork latency, save and AOF intervals, the overcommit limit, and the
/// key budget (under the memory model of `model`: [`super::model::budget_recs`]); returns
/// them with the budget as a fraction of the keyspace.
#[allow(clippy::too_many_arguments)]
pub(super) fn budget_step(
    p: &TuneParams,
    value_size: u64,
    keyspace: u64,
    system: &SystemSettings,
    memory: &Memory,
    cow: &[CowRow],
    fits: &Fits,
    model: (super::model::KeyCharge, &evictlab_engine::Config),
) -> (Vec<RecRow>, f64) {
    let (base, frag, per_key) = (memory.base, memory.frag, memory.per_key);
    let (x_off, x_on, x_fl) = (fits.x_off, fits.x_on, fits.x_fl);
    let (cow_off, cow_on, forkless) = (&fits.cow_off, &fits.cow_on, &fits.forkless);
    let (fork_off, fork_on, save) = (&fits.fork_off, &fits.fork_on, &fits.save);
    let ram = p.ram as f64;
    let reserve = p.reserve as f64;
    // maxmemory: RSS at the fork is base + frag·maxmemory.
    let mm = |x: f64| ((x - base) / frag).max(0.0);
    let maxmemory = mm(x_off);
    let mut recs: Vec<RecRow> = Vec::new();
    let mut rec = |name: &str, value: f64, unit: &str, derivation: &str| {
        recs.push(RecRow {
            name: name.into(),
            value,
            unit: unit.into(),
            derivation: derivation.into(),
        });
    };
    rec("ram_bytes", ram, "bytes", "--ram");
    rec("reserve_bytes", reserve, "bytes", "--reserve");
    rec(
        "write_rate",
        p.write_rate as f64,
        "writes/s",
        "--write-rate",
    );
    rec(
        "base_footprint_bytes",
        base,
        "bytes",
        "tune_memory.csv phase=empty rss_bytes",
    );
    rec(
        "frag_ratio",
        frag,
        "ratio",
        "max(1, tune_memory.csv frag_ratio of phases fill and refill-mixed)",
    );
    rec(
        "used_per_key_bytes",
        per_key,
        "bytes",
        "tune_memory.csv phase=fill used_per_key_bytes",
    );
    rec(
        "value_size_bytes",
        value_size as f64,
        "bytes",
        "--value-size, else the workload's mean object size, else 1024",
    );
    rec(
        "rss_at_fork_bytes",
        x_off,
        "bytes",
        "largest x with x + cow(x) + reserve <= ram, cow = tune_fit.csv cow_peak_bytes fork thp=off",
    );
    let measured_max = cow
        .iter()
        .map(|r| r.parent_rss_start_bytes as f64)
        .fold(1.0, f64::max);
    rec(
        "extrapolation_factor",
        x_off / measured_max,
        "x",
        "rss_at_fork_bytes / largest parent_rss_start_bytes in cow.csv",
    );
    rec(
        "cow_headroom_bytes",
        cow_off.at(x_off).max(0.0),
        "bytes",
        "tune_fit.csv cow_peak_bytes fork off at rss_at_fork_bytes",
    );
    rec(
        "maxmemory_bytes",
        maxmemory,
        "bytes",
        "(rss_at_fork_bytes - base_footprint_bytes) / frag_ratio",
    );
    rec(
        "maxmemory_thp_on_bytes",
        mm(x_on),
        "bytes",
        "same with the THP-on COW fit",
    );
    rec(
        "cow_headroom_thp_on_bytes",
        cow_on.at(x_on).max(0.0),
        "bytes",
        "tune_fit.csv cow_peak_bytes fork on",
    );
    rec(
        "maxmemory_forkless_bytes",
        mm(x_fl),
        "bytes",
        "same with the forkless extra-memory fit",
    );
    rec(
        "forkless_overhead_bytes",
        forkless.at(x_fl).max(0.0),
        "bytes",
        "tune_fit.csv extra_memory_peak_bytes forkless",
    );
    rec(
        "maxmemory_no_fork_bytes",
        mm(ram - reserve),
        "bytes",
        "(ram - reserve - base) / frag: no snapshot child on this node (persistence on a replica)",
    );
    rec(
        "fork_usec_thp_off",
        fork_off.at(x_off).max(0.0),
        "us",
        "tune_fit.csv fork_usec fork off at rss_at_fork_bytes",
    );
    rec(
        "fork_usec_thp_on",
        fork_on.at(x_off).max(0.0),
        "us",
        "tune_fit.csv fork_usec fork on at rss_at_fork_bytes",
    );
    rec(
        "cow_thp_off_at_target_bytes",
        cow_off.at(x_off).max(0.0),
        "bytes",
        "tune_fit.csv cow_peak_bytes fork off at rss_at_fork_bytes",
    );
    rec(
        "cow_thp_on_at_target_bytes",
        cow_on.at(x_off).max(0.0),
        "bytes",
        "tune_fit.csv cow_peak_bytes fork on at rss_at_fork_bytes",
    );
    let save_s = save.at(x_off).max(0.0) / 1e3;
    rec(
        "save_secs",
        save_s,
        "s",
        "tune_fit.csv save_ms fork off at rss_at_fork_bytes (emulated disk --disk-bandwidth)",
    );
    // Naive setting: maxmemory = what fits without a child, then a BGSAVE.
    let naive_x = ram - reserve;
    rec(
        "naive_peak_bytes",
        naive_x + reserve + cow_off.at(naive_x).max(0.0),
        "bytes",
        "maxmemory_no_fork_bytes with a BGSAVE: rss + reserve + cow(rss)",
    );
    if let Some(i) = save_interval_secs(&p.save_rules, p.write_rate) {
        rec(
            "save_interval_secs",
            i,
            "s",
            "min over save points of max(seconds, changes / write_rate)",
        );
    }
    if p.appendonly && p.write_rate > 0 {
        // auto-aof-rewrite-percentage 100, auto-aof-rewrite-min-size 64mb (Redis defaults):
        // a rewrite when the AOF doubles its size after the last rewrite. A SET of a value
        // costs about value + key + 40 bytes of RESP in the AOF.
        let rec_bytes = value_size as f64 + 40.0 + 16.0;
        let base_aof = maxmemory.max(64.0 * 1048576.0);
        rec(
            "aof_bytes_per_sec",
            rec_bytes * p.write_rate as f64,
            "bytes/s",
            "write_rate * (value_size + 56)",
        );
        rec(
            "aof_rewrite_interval_secs",
            base_aof / (rec_bytes * p.write_rate as f64),
            "s",
            "max(64mb, maxmemory) / aof_bytes_per_sec (auto-aof-rewrite-percentage 100: the AOF doubles its rewritten size, which is about the dataset)",
        );
    }
    if let Some(ratio) = system.overcommit_ratio {
        // Mode 2: CommitLimit = swap + RAM × ratio; a fork commits the parent's private
        // writable memory again, so it fails once 2 × rss > CommitLimit (no swap assumed).
        rec(
            "overcommit2_max_rss_bytes",
            ram * ratio as f64 / 100.0 / 2.0,
            "bytes",
            "ram * overcommit_ratio / 100 / 2 (vm.overcommit_memory=2, no swap)",
        );
    }
    rec(
        "keyspace_keys",
        keyspace as f64,
        "keys",
        "--keyspace, else the workload's distinct keys",
    );
    let budget_keys = super::model::budget_recs(maxmemory, per_key, model.0, model.1, &mut recs);
    let f0 = budget_keys / keyspace as f64;
    recs.push(RecRow {
        name: "budget_fraction".into(),
        value: f0,
        unit: "fraction".into(),
        derivation: "budget_keys / keyspace_keys".into(),
    });

    (recs, f0)
}
