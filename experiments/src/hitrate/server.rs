//! Which server a hit-rate run modelled (`lab-server`), for the report: Redis 7 by default,
//! or EchoVault, whose section states where EchoVault's code departs from its docs.

use evictlab_reports::Report;

use crate::hitrate::HitRow;

/// The config-column line of a cell run under `lab-server echovault`.
const ECHOVAULT_LINE: &str = "lab-server echovault";

/// Where EchoVault's code (SugarDB commit b0744d9, 2025-04-24) departs from its eviction
/// docs, as `../shared/reference/echovault.md` records it. The lab models the docs; these
/// are stated, not modelled.
pub const ECHOVAULT_DEPARTURES: &[&str] = &[
    "LRU evicts the most recently used key: the heap's `Less` in \
     `internal/eviction/lru.go` is `unixTime_i > unixTime_j`, so it pops the largest time.",
    "LRU keeps duplicate entries: its `Push` does not record the key, so `contains` stays \
     false and every access pushes another entry for the same key.",
    "Memory drifts upward on overwrites: `setValues` (`sugardb/keyspace.go`) adds the new \
     value's estimate without subtracting the old one; `deleteKey` subtracts only the \
     current value's.",
    "Tracking is asynchronous and conditional: `updateKeysInCache` runs in a goroutine after \
     the command and only when `--max-memory` > 0; eviction calls `runtime.GC()` after each \
     deleted key, which does not change the estimate.",
    "Active expiry (`evictKeysWithExpiredTTL`): with fewer volatile keys than \
     `--eviction-sample` the sample size is the number of databases; sampled indices are \
     drawn below the number of databases, not of volatile keys; a sampled key whose expiry \
     has passed is skipped and one that has not is deleted; the repeat test \
     `(deleted / sampled) * 100 >= 20` is integer arithmetic, true only when every sampled \
     key was deleted.",
];

/// Whether `row` ran under `lab-server echovault` (its config column says so).
pub fn is_echovault(row: &HitRow) -> bool {
    row.config.split("; ").any(|l| l == ECHOVAULT_LINE)
}

/// States the server modelled and, for EchoVault, what was modelled and the departures.
pub fn add_server_note(report: &mut Report, rows: &[HitRow]) {
    let echo = rows.iter().filter(|r| is_echovault(r)).count();
    if echo == 0 {
        report.paragraph(
            "Server modelled: **Redis 7** (`lab-server redis`, the default): Redis's sampled \
             policies and the research policies beside them.",
        );
        return;
    }
    let share = if echo == rows.len() {
        "every cell".to_string()
    } else {
        format!("{echo} of {} cells (the others: Redis 7)", rows.len())
    };
    report.paragraph(format!(
        "Server modelled: **EchoVault** (SugarDB; `lab-server echovault`) for {share}: its \
         policies as it implements them (exact LFU heap with a plain access count, ties to \
         the most recently added key; LRU by last access; random; volatile-* over keys with \
         a TTL), its own memory estimate against `maxmemory` (its `--max-memory`), eviction \
         after each write, and its documented active-expire cycle. See docs/echovault.md."
    ));
    report.heading(
        4,
        "EchoVault: where its code departs from its docs (not modelled)",
    );
    report.paragraph(
        "Facts about EchoVault's code at commit b0744d9 (2025-04-24); the lab models the \
         documented behaviour, so a real EchoVault of that commit behaves differently here:",
    );
    report.bullets(ECHOVAULT_DEPARTURES.iter().copied());
}
