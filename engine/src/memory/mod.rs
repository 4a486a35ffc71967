//! `lab-memory-mode redis`: `used_memory` as Redis 7.0 counts it for the data the engine
//! holds.
//!
//! Redis's `used_memory` is `zmalloc_used_memory()`: the sum of the allocator's usable size
//! of every live allocation (`src/zmalloc.c`, `HAVE_MALLOC_SIZE`). For a keyspace that is
//!
//! ```text
//! used_memory = lab-base-memory                       (an empty server: see below)
//!             + main dict and expires dict bucket arrays (both tables while rehashing)
//!             + Σ per key: dictEntry + key sds + value (robj + encoding)
//!                          [+ expires dictEntry if the key has a TTL]
//! ```
//!
//! every allocation rounded to jemalloc's size classes for the configured quantum
//! (`lab-jemalloc-quantum 8`, Redis's bundled jemalloc, or `16`, a system jemalloc).
//!
//! `lab-base-memory` defaults to [`DEFAULT_BASE_MEMORY`]: the `used_memory` Debian's
//! redis-server 7.0.15 (system jemalloc 5.3.0, x86-64) reported right after start, asked by
//! the first client (`redis-server --save '' --appendonly no`, `redis-cli info memory`:
//! 914 560 – 914 680 over three starts; its `used_memory_startup`, measured before any
//! client connects, was 876 088 – 876 208: the 38 KB between them is that one client).
//!
//! # Layout
//!
//! - [`echovault`] — `lab-memory-mode echovault`: EchoVault's own per-key estimate
//!   (not a Redis model; kept here beside it as the other server's accounting).
//! - [`jemalloc`] — size classes for quantum 8 or 16.
//! - [`table`] — a dict's bucket arrays: growth, forced growth, `expandAllowed`,
//!   incremental rehash, cron shrink and rehash.
//! - [`listpack`] — listpack entry, intset and score-string sizes.
//! - [`objects`] — sds, robj, string encodings and the aggregate encodings; [`Encoding`].
//! - this file — [`RedisMemory`]: the per-key charges and the two dicts, kept in step with
//!   the keyspace by the engine; [`keys_that_fit`]: a `maxmemory` as a key count.

pub mod echovault;
pub mod jemalloc;
pub mod listpack;
pub mod objects;
pub mod table;

pub use jemalloc::{Quantum, size_class};
pub use objects::{CostParams, Encoding, Thresholds};
pub use table::Tables;

use crate::keyspace::{Entry, Slot};
use crate::value::{Blob, Value};

/// Default `lab-base-memory`: `used_memory` of an empty redis-server 7.0.15 right after
/// start, as its first client sees it (module doc).
pub const DEFAULT_BASE_MEMORY: u64 = 914_592;

/// Is `policy` one whose objects need their own LRU/LFU field, so that Redis does not use
/// shared integers for values when `maxmemory` is set (`MAXMEMORY_FLAG_NO_SHARED_INTEGERS`
/// = `MAXMEMORY_FLAG_LRU | MAXMEMORY_FLAG_LFU`, server.h)?
pub fn policy_needs_own_objects(policy: &str) -> bool {
    matches!(
        policy,
        "allkeys-lru" | "volatile-lru" | "allkeys-lfu" | "volatile-lfu"
    )
}

#[derive(Clone, Copy, Debug)]
struct SlotMem {
    bytes: u64,
    encoding: Encoding,
    expire: bool,
}

/// The Redis 7.0 memory model of one keyspace (db 0).
#[derive(Clone, Debug)]
pub struct RedisMemory {
    quantum: Quantum,
    thresholds: Thresholds,
    base: u64,
    maxmemory: u64,
    own_objects_policy: bool,
    can_resize: bool,
    main: Tables,
    expires: Tables,
    slots: Vec<SlotMem>,
    sum: u64,
}

impl RedisMemory {
    /// A model for an empty keyspace.
    pub fn new(
        quantum: Quantum,
        thresholds: Thresholds,
        base: u64,
        maxmemory: u64,
        policy: &str,
    ) -> RedisMemory {
        RedisMemory {
            quantum,
            thresholds,
            base,
            maxmemory,
            own_objects_policy: policy_needs_own_objects(policy),
            can_resize: true,
            main: Tables::default(),
            expires: Tables::default(),
            slots: Vec::new(),
            sum: 0,
        }
    }

    /// Modelled `used_memory`.
    #[inline]
    pub fn used(&self) -> u64 {
        self.base + self.sum + self.main.bytes(self.quantum) + self.expires.bytes(self.quantum)
    }

    /// `used_memory_startup` of the model (`lab-base-memory`).
    pub fn startup(&self) -> u64 {
        self.base
    }

    /// Redis's `used_memory_overhead` for this keyspace beyond startup
    /// (`getMemoryOverheadData`: per db the dicts' `size × sizeof(dictEntry) + buckets × 8`
    /// of both dicts and `keys × sizeof(robj)`), unrounded as Redis computes it.
    pub fn dict_overhead(&self) -> u64 {
        let main = self.main.used() * objects::DICT_ENTRY
            + self.main.slots() * 8
            + self.main.used() * objects::ROBJ;
        let exp = self.expires.used() * objects::DICT_ENTRY + self.expires.slots() * 8;
        main + exp
    }

    /// The main dict's tables.
    pub fn main_dict(&self) -> &Tables {
        &self.main
    }
    /// The expires dict's tables.
    pub fn expires_dict(&self) -> &Tables {
        &self.expires
    }
    /// The quantum.
    pub fn quantum(&self) -> Quantum {
        self.quantum
    }

    /// Bytes charged to `slot` (dictEntries, key sds, value, expires entry; buckets apart).
    #[inline]
    pub fn slot_bytes(&self, slot: Slot) -> u64 {
        self.slots[slot as usize].bytes
    }
    /// The encoding the model gave `slot`'s value.
    pub fn slot_encoding(&self, slot: Slot) -> Encoding {
        self.slots[slot as usize].encoding
    }
    /// Σ of the per-key charges.
    pub fn keys_bytes(&self) -> u64 {
        self.sum
    }

    /// The cost parameters in force now.
    pub fn params(&self) -> CostParams {
        CostParams {
            quantum: self.quantum,
            thresholds: self.thresholds,
            shared_integers: self.maxmemory == 0 || !self.own_objects_policy,
        }
    }

    /// The bytes a string key would be charged (for limit checks before a write).
    pub fn string_charge(&self, key_len: usize, value: &Blob, has_expire: bool) -> u64 {
        let (_, v) = objects::string_cost(objects::blob_elem(value), &self.params());
        objects::key_cost(key_len as u64, v, has_expire, self.quantum)
    }

    /// The encoding and bytes of `entry` (with `big`: the aggregate was converted before).
    pub fn entry_cost(&self, entry: &Entry, big: bool) -> (Encoding, u64) {
        let (enc, v) = objects::value_cost(&entry.value, &self.params(), big);
        let bytes = objects::key_cost(entry.key.len() as u64, v, entry.has_expire(), self.quantum);
        (enc, bytes)
    }

    /// `CONFIG SET maxmemory`.
    pub fn set_maxmemory(&mut self, maxmemory: u64) {
        self.maxmemory = maxmemory;
    }

    /// `dict_can_resize`: false while a fork child is alive (`updateDictResizePolicy`).
    pub fn set_can_resize(&mut self, can: bool) {
        self.can_resize = can;
    }

    fn add_to(which: &mut Tables, used: u64, maxmemory: u64, can_resize: bool) {
        which.add(can_resize, |more, ratio| {
            // server.c dictExpandAllowed / overMaxmemoryAfterAlloc.
            ratio > table::MAX_LOAD_FACTOR || maxmemory == 0 || used + more <= maxmemory
        });
    }

    /// A key was stored in `slot` (`dbAdd`, then `setExpire` if it has a TTL).
    pub fn on_insert(&mut self, slot: Slot, entry: &Entry) {
        let (encoding, bytes) = self.entry_cost(entry, false);
        let i = slot as usize;
        if i >= self.slots.len() {
            self.slots.resize(
                (i + 1).next_power_of_two(),
                SlotMem {
                    bytes: 0,
                    encoding: Encoding::SharedInt,
                    expire: false,
                },
            );
        }
        let used = self.used();
        Self::add_to(&mut self.main, used, self.maxmemory, self.can_resize);
        if entry.has_expire() {
            // setExpire: dictFind on the main dict, then dictAddOrFind on expires.
            self.main.touch();
            let used = self.used();
            Self::add_to(&mut self.expires, used, self.maxmemory, self.can_resize);
        }
        self.slots[i] = SlotMem {
            bytes,
            encoding,
            expire: entry.has_expire(),
        };
        self.sum += bytes;
    }

    /// `slot`'s value or TTL changed.
    pub fn on_change(&mut self, slot: Slot, entry: &Entry) {
        let old = self.slots[slot as usize];
        let big = old.encoding.is_big_aggregate() && !matches!(entry.value, Value::Str(_));
        let (encoding, bytes) = self.entry_cost(entry, big);
        match (old.expire, entry.has_expire()) {
            (false, true) => {
                self.main.touch();
                let used = self.used();
                Self::add_to(&mut self.expires, used, self.maxmemory, self.can_resize);
            }
            (true, false) => self.expires.remove(),
            _ => {}
        }
        self.sum = self.sum - old.bytes + bytes;
        self.slots[slot as usize] = SlotMem {
            bytes,
            encoding,
            expire: entry.has_expire(),
        };
    }

    /// `slot` is being removed (`dbGenericDelete`: expires first, then the main dict).
    pub fn on_remove(&mut self, slot: Slot) {
        let old = self.slots[slot as usize];
        if old.expire {
            self.expires.remove();
        }
        self.main.remove();
        self.sum -= old.bytes;
    }

    /// A key lookup (`lookupKey`: `dictFind` on the main dict; for a found key
    /// `expireIfNeeded` → `getExpire` → `dictFind` on a non-empty expires dict).
    #[inline]
    pub fn on_lookup(&mut self, found: bool) {
        self.main.touch();
        if found {
            self.expires.touch();
        }
    }

    /// `databasesCron` for db 0 (skipped entirely while a fork child is alive):
    /// `tryResizeHashTables`, then one millisecond of `incrementallyRehash` (main dict
    /// first, else expires).
    pub fn cron(&mut self) {
        if !self.can_resize {
            return;
        }
        self.main.cron_resize();
        self.expires.cron_resize();
        if !self.main.cron_rehash() {
            self.expires.cron_rehash();
        }
    }
}

/// How many keys fit under `maxmemory` in the model when each costs `per_key` bytes (its
/// dictEntry, key sds, value and, for keys with a TTL, expires dictEntry: the model's
/// per-key charge, see [`RedisMemory::string_charge`]) and a fraction `ttl_fraction` of
/// them has a TTL: the largest key count whose `base` + keys × `per_key` + the two dicts'
/// bucket arrays stays within `maxmemory`, the main dict growing as Redis 7.0's does — at
/// load 1 when the new table fits under `maxmemory`, else (server.c `dictExpandAllowed`)
/// only once the load passes [`table::MAX_LOAD_FACTOR`]; the expires dict is counted at the
/// next power of two of its keys. For a full cache that evicts (or refuses) as Redis does,
/// this is the key count it settles at; 0 when the base alone exceeds `maxmemory`.
pub fn keys_that_fit(
    maxmemory: u64,
    base: u64,
    per_key: f64,
    ttl_fraction: f64,
    q: Quantum,
) -> u64 {
    if maxmemory <= base || per_key <= 0.0 {
        return 0;
    }
    let room = (maxmemory - base) as f64;
    let buckets = |t: u64| jemalloc::alloc(t * 8, q) as f64;
    let expires = |k: u64| {
        let n = (k as f64 * ttl_fraction).ceil() as u64;
        if n == 0 {
            0.0
        } else {
            buckets(n.max(table::INITIAL_SIZE).next_power_of_two())
        }
    };
    let fits = |k: u64, t: u64| k as f64 * per_key + buckets(t) + expires(k) <= room;
    // The largest k <= hi with fits(k, t) (fits is monotone in k), or None.
    let largest = |hi: u64, t: u64| -> Option<u64> {
        if !fits(0, t) {
            return None;
        }
        let (mut lo, mut hi) = (0u64, hi);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if fits(mid, t) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Some(lo)
    };
    let mut t = table::INITIAL_SIZE;
    let mut best = 0;
    loop {
        // Table t holds up to t keys before an add tries to grow it, and up to
        // floor(1.618 t) + 1 when growth is refused.
        let forced = (t as f64 * table::MAX_LOAD_FACTOR).floor() as u64 + 1;
        let Some(k) = largest(forced, t) else {
            return best;
        };
        best = k;
        if k < t {
            return best;
        }
        // The add of key t + 1 grows the table if the new one fits beside the data.
        let grow_allowed = t as f64 * per_key + buckets(t) + expires(t) + buckets(2 * t) <= room;
        if !grow_allowed && k < forced {
            return best;
        }
        t *= 2;
        if t > 1 << 62 {
            return best;
        }
    }
}

#[cfg(test)]
mod tests;
