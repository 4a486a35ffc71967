//! The keyspace: key → entry, with a separate index of keys that have a TTL.
//!
//! Layout (all single-threaded, no `unsafe`):
//!
//! * `entries` is a slab of [`Entry`]s addressed by a stable [`Slot`] (`u32`). A slot keeps
//!   its number for the key's whole life, so policies keep their metadata in side tables
//!   indexed by slot (libCacheSim keeps it in the object; we keep objects small).
//! * `table` is a `KeyIndex` (module `index`): the key → slot index (open addressing
//!   specialised for the lab's keys).
//! * `all` and `volatile` are dense vectors of live slots (all keys; keys with a TTL — Redis's
//!   `expires` dict), each entry remembering its position, for O(1) uniform random sampling
//!   and O(1) removal by swap. `all` is kept only when something samples all keys uniformly
//!   (it costs a random write per removal); otherwise iteration scans the slab.
//! * Optionally, [`DictModel`]s of Redis's two dicts for Redis-faithful sampling and scans.

use rand::Rng;

use crate::dict::DictModel;
use crate::index::KeyIndex;
use crate::key::Key;
use crate::value::Value;

/// Stable handle of a live entry.
pub type Slot = u32;

/// Marks "no position" in the dense vectors, and a free slab slot.
const NONE: u32 = u32::MAX;
/// `all_pos` of a live slot when the dense index of all keys is not kept.
const LIVE: u32 = 0;

/// "No expiry".
pub const NO_EXPIRE: u64 = 0;

/// One key's entry: the value and the metadata Redis keeps in `robj` and the dicts.
///
/// Exactly one cache line (64 bytes, 64-aligned): a hit reads the key, checks the expiry,
/// writes the LRU/LFU field and reads the value size from a single line. Colder metadata
/// (the logical charge, the position in the volatile index) lives in a side table.
#[derive(Debug)]
#[repr(align(64))]
pub struct Entry {
    /// The key.
    pub key: Key,
    /// The value.
    pub value: Value,
    /// Its hash ([`Key::hash64`]).
    pub hash: u64,
    /// Absolute expiry time in ms, or [`NO_EXPIRE`].
    pub expire_at_ms: u64,
    /// Redis's 24-bit `robj.lru` field: the LRU clock in seconds, or under an LFU policy
    /// `(minutes16 << 8) | counter8`.
    pub lru: u32,
    all_pos: u32,
}

/// Cold per-slot metadata.
#[derive(Clone, Copy, Debug)]
struct Meta {
    /// Bytes charged in logical accounting.
    charge: u64,
    /// Position in the volatile index, or `NONE`.
    vol_pos: u32,
}

impl Entry {
    /// True if the key has a TTL.
    #[inline]
    pub fn has_expire(&self) -> bool {
        self.expire_at_ms != NO_EXPIRE
    }
}

/// The hash the key index files `key` (whose [`Key::hash64`] is `hash`) under: for an
/// integer id one multiply ([`id_index_hash`]), so a hit never computes `hash64`.
#[inline]
fn index_hash(key: &Key, hash: u64) -> u64 {
    match key.as_id() {
        Some(id) => id_index_hash(id),
        None => hash,
    }
}

/// Fibonacci hashing of an integer id (Knuth, TAOCP vol. 3 §6.4): the high half of
/// `id × 2^64/φ`, which depends on every bit of the id (block addresses that are multiples
/// of a power of two spread as well as consecutive ids).
#[inline]
fn id_index_hash(id: u64) -> u64 {
    id.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32
}

/// Which set of keys to sample from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// All keys (Redis's main dict; `allkeys-*`).
    AllKeys,
    /// Keys with a TTL (Redis's `expires` dict; `volatile-*`).
    Volatile,
}

/// The keyspace.
#[derive(Default)]
pub struct Keyspace {
    table: KeyIndex,
    entries: Vec<Entry>,
    meta: Vec<Meta>,
    free: Vec<Slot>,
    all: Vec<Slot>,
    track_all: bool,
    live: usize,
    volatile: Vec<Slot>,
    main_dict: Option<DictModel>,
    expires_dict: Option<DictModel>,
}

impl Keyspace {
    /// An empty keyspace. `main_dict` / `expires_dict` mirror Redis's main and expires
    /// dicts for Redis-faithful sampling (each costs 8 bytes per key and some work per
    /// insert and removal, so the engine enables only what its policy and expiry use).
    ///
    /// `uniform_all` keeps the dense index of all keys needed by
    /// [`Keyspace::random_uniform`]`(…, Scope::AllKeys)`.
    pub fn new(main_dict: bool, expires_dict: bool, uniform_all: bool) -> Keyspace {
        Keyspace {
            main_dict: main_dict.then(DictModel::new),
            expires_dict: expires_dict.then(DictModel::new),
            track_all: uniform_all,
            ..Keyspace::default()
        }
    }

    /// Bytes charged for `slot` in logical accounting.
    #[inline]
    pub fn charge(&self, slot: Slot) -> u64 {
        self.meta[slot as usize].charge
    }

    /// Sets the charge of `slot` (the engine keeps the total in step).
    #[inline]
    pub(crate) fn set_charge(&mut self, slot: Slot, charge: u64) {
        self.meta[slot as usize].charge = charge;
    }

    /// Pre-sizes for `n` keys.
    pub fn reserve(&mut self, n: usize) {
        self.table.reserve(n);
        self.entries.reserve(n);
        self.meta.reserve(n);
        self.all.reserve(n);
    }

    /// Number of keys.
    #[inline]
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when there is no key.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Number of keys with a TTL.
    #[inline]
    pub fn volatile_len(&self) -> usize {
        self.volatile.len()
    }

    /// Number of keys in `scope`.
    #[inline]
    pub fn scope_len(&self, scope: Scope) -> usize {
        match scope {
            Scope::AllKeys => self.live,
            Scope::Volatile => self.volatile.len(),
        }
    }

    /// One past the largest slot number ever used (the size policies' side tables need).
    #[inline]
    pub fn slot_capacity(&self) -> usize {
        self.entries.len()
    }

    /// True when `slot` holds a live entry.
    #[inline]
    pub fn is_live(&self, slot: Slot) -> bool {
        self.entries
            .get(slot as usize)
            .is_some_and(|e| e.all_pos != NONE)
    }

    /// Finds `key` (with its precomputed `hash`).
    #[inline]
    pub fn find(&self, key: &Key, hash: u64) -> Option<Slot> {
        if let Some(id) = key.as_id() {
            return self.find_id(id);
        }
        let entries = &self.entries;
        self.table.find(hash, |s| entries[s as usize].key == *key)
    }

    /// Finds the integer key `id` ([`Key::from_id`]); no [`Key::hash64`] needed.
    #[inline]
    pub fn find_id(&self, id: u64) -> Option<Slot> {
        let entries = &self.entries;
        self.table
            .find(id_index_hash(id), |s| entries[s as usize].key.is_id(id))
    }

    /// The entry in `slot`. The caller guarantees the slot is live.
    #[inline]
    pub fn entry(&self, slot: Slot) -> &Entry {
        &self.entries[slot as usize]
    }

    /// Asks the CPU to start loading the entry in `slot` (a likely next victim) and its
    /// side-table record (which the insert reusing the slot writes), so that a later
    /// eviction does not wait for them. A hint: no effect on any result.
    #[inline]
    pub fn prefetch_entry(&self, slot: Slot) {
        self.prefetch_entry_line(slot);
        if let Some(m) = self.meta.get(slot as usize) {
            crate::index::prefetch(m);
        }
    }

    /// Asks the CPU to start loading the key-index bucket of the key in `slot` (reads the
    /// entry, so prefetch that first with [`Keyspace::prefetch_entry`]). A hint: no effect
    /// on any result.
    #[inline]
    pub fn prefetch_index_of(&self, slot: Slot) {
        if let Some(e) = self.entries.get(slot as usize)
            && e.all_pos != NONE
        {
            self.table.prefetch(index_hash(&e.key, e.hash));
        }
    }

    /// Asks the CPU to start loading the key-index bucket of `key` (whose
    /// [`Key::hash64`] is `hash`). A hint: no effect on any result.
    #[inline]
    pub fn prefetch_index_of_key(&self, key: &Key, hash: u64) {
        self.table.prefetch(index_hash(key, hash));
    }

    /// Look-ahead, stage 1: asks the CPU to start loading the key-index bucket of the
    /// integer key `id` (one multiply; nothing read). A hint: no effect on any result.
    #[inline]
    pub fn prefetch_index_of_id(&self, id: u64) {
        self.table.prefetch(id_index_hash(id));
    }

    /// Look-ahead, stage 2: the slot the integer key `id` most likely occupies, from its
    /// key-index bucket alone (32 hash bits compared, not the key: see `KeyIndex::peek`),
    /// or `None` when the bucket says it is absent. For hints only — the slot may be
    /// another key's, and the answer may change before the request runs.
    #[inline]
    pub fn probable_slot_of_id(&self, id: u64) -> Option<Slot> {
        self.table.peek(id_index_hash(id))
    }

    /// Asks the CPU to start loading the entry in `slot` — the one line a hit reads
    /// (key, expiry, LRU field, value size) and writes. A hint: no effect on any result.
    #[inline]
    pub fn prefetch_entry_line(&self, slot: Slot) {
        if let Some(e) = self.entries.get(slot as usize) {
            crate::index::prefetch(e);
        }
    }

    /// Bytes a hit may read from: the entry slab and the key index.
    #[inline]
    pub fn hit_path_bytes(&self) -> usize {
        self.entries.len() * std::mem::size_of::<Entry>() + self.table.table_bytes()
    }

    /// True when the tables have outgrown [`crate::engine::MIN_TABLE_BYTES`]: prefetch
    /// hints (the runner's look-ahead, the sampled policies' sampling walks) hide more
    /// latency than they cost only then.
    #[inline]
    pub fn prefetch_pays(&self) -> bool {
        self.hit_path_bytes() >= crate::engine::MIN_TABLE_BYTES
    }

    /// The entry in `slot`, mutably. Use [`Keyspace::set_expire`] to change the TTL.
    #[inline]
    pub fn entry_mut(&mut self, slot: Slot) -> &mut Entry {
        &mut self.entries[slot as usize]
    }

    /// Inserts a key that is not present; returns its slot.
    #[inline]
    pub fn insert(&mut self, key: Key, hash: u64, value: Value, lru: u32, charge: u64) -> Slot {
        debug_assert!(self.find(&key, hash).is_none());
        let ih = index_hash(&key, hash);
        let entry = Entry {
            key,
            value,
            hash,
            expire_at_ms: NO_EXPIRE,
            lru,
            all_pos: if self.track_all {
                self.all.len() as u32
            } else {
                LIVE
            },
        };
        let meta = Meta {
            charge,
            vol_pos: NONE,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                // A free slot holds the sentinel key and value `remove` left (an integer key and a
                // sized value: nothing on the heap), so the old entry is not dropped: its
                // drop glue is an out-of-line call per insert.
                let old = std::mem::replace(&mut self.entries[s as usize], entry);
                debug_assert!(
                    old.key == Key::from_id(0)
                        && matches!(old.value, Value::Str(crate::value::Blob::Sized(0)))
                );
                std::mem::forget(old);
                self.meta[s as usize] = meta;
                s
            }
            None => {
                let s = self.entries.len();
                assert!(s < NONE as usize, "keyspace full: 2^32-1 slots");
                self.entries.push(entry);
                self.meta.push(meta);
                s as Slot
            }
        };
        if self.track_all {
            self.all.push(slot);
        }
        self.live += 1;
        self.table.insert_unique(ih, slot);
        if let Some(d) = &mut self.main_dict {
            d.insert(slot, hash);
        }
        slot
    }

    /// Removes the entry in `slot` and returns its key and value.
    #[inline]
    pub fn remove(&mut self, slot: Slot) -> (Key, Value) {
        // `has_expire` ⟺ in the volatile index (`set_expire` keeps them in step): asking
        // the entry, which the removal reads anyway, spares a cold read of `meta`.
        if self.entries[slot as usize].has_expire() {
            self.set_expire(slot, NO_EXPIRE);
        }
        let e = &self.entries[slot as usize];
        let ih = index_hash(&e.key, e.hash);
        let pos = e.all_pos as usize;
        if !self.table.remove(ih, slot) {
            unreachable!("live slot {slot} missing from the key table");
        }
        if self.track_all {
            self.all.swap_remove(pos);
            if let Some(&moved) = self.all.get(pos) {
                self.entries[moved as usize].all_pos = pos as u32;
            }
        }
        self.live -= 1;
        if let Some(d) = &mut self.main_dict {
            d.remove(slot);
        }
        let e = &mut self.entries[slot as usize];
        e.all_pos = NONE;
        let key = std::mem::replace(&mut e.key, Key::from_id(0));
        let value = std::mem::replace(&mut e.value, Value::Str(crate::value::Blob::Sized(0)));
        self.free.push(slot);
        (key, value)
    }

    /// Sets (or with [`NO_EXPIRE`] clears) the absolute expiry of `slot`, keeping the
    /// volatile index in step.
    pub fn set_expire(&mut self, slot: Slot, at_ms: u64) {
        let e = &mut self.entries[slot as usize];
        let m = &mut self.meta[slot as usize];
        let was = m.vol_pos != NONE;
        e.expire_at_ms = at_ms;
        let hash = e.hash;
        match (was, at_ms != NO_EXPIRE) {
            (false, true) => {
                m.vol_pos = self.volatile.len() as u32;
                self.volatile.push(slot);
                if let Some(d) = &mut self.expires_dict {
                    d.insert(slot, hash);
                }
            }
            (true, false) => {
                let pos = m.vol_pos as usize;
                m.vol_pos = NONE;
                self.volatile.swap_remove(pos);
                if let Some(&moved) = self.volatile.get(pos) {
                    self.meta[moved as usize].vol_pos = pos as u32;
                }
                if let Some(d) = &mut self.expires_dict {
                    d.remove(slot);
                }
            }
            _ => {}
        }
    }

    /// A uniformly random live slot of `scope` (O(1)).
    ///
    /// For [`Scope::AllKeys`] the keyspace must have been created with `uniform_all`
    /// (the engine does so for every policy that samples all keys uniformly); without it
    /// this falls back to rejection sampling over the slab, which is still uniform.
    #[inline]
    pub fn random_uniform<R: Rng + ?Sized>(&self, rng: &mut R, scope: Scope) -> Option<Slot> {
        if scope == Scope::AllKeys && !self.track_all {
            if self.live == 0 {
                return None;
            }
            loop {
                let s = (rng.next_u64() % self.entries.len() as u64) as Slot;
                if self.entries[s as usize].all_pos != NONE {
                    return Some(s);
                }
            }
        }
        let v = match scope {
            Scope::AllKeys => &self.all,
            Scope::Volatile => &self.volatile,
        };
        if v.is_empty() {
            None
        } else {
            Some(v[(rng.next_u64() % v.len() as u64) as usize])
        }
    }

    /// The dict model of `scope`, when the keyspace keeps one.
    pub fn dict(&self, scope: Scope) -> Option<&DictModel> {
        match scope {
            Scope::AllKeys => self.main_dict.as_ref(),
            Scope::Volatile => self.expires_dict.as_ref(),
        }
    }

    /// Redis's `dictGetRandomKey` on the dict model, or a uniform draw without one.
    pub fn random_key<R: Rng + ?Sized>(&self, rng: &mut R, scope: Scope) -> Option<Slot> {
        match self.dict(scope) {
            Some(d) => d.random(rng),
            None => self.random_uniform(rng, scope),
        }
    }

    /// Up to `count` sampled slots of `scope`, appended to `out`: Redis's `dictGetSomeKeys`
    /// on the dict model, or `count` independent uniform draws without one.
    pub fn sample<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        scope: Scope,
        count: usize,
        out: &mut Vec<Slot>,
    ) {
        match self.dict(scope) {
            Some(d) => d.get_some(rng, count, out),
            None => {
                for _ in 0..count {
                    match self.random_uniform(rng, scope) {
                        Some(s) => out.push(s),
                        None => break,
                    }
                }
            }
        }
    }

    /// Prefetch hints for coming [`Keyspace::sample`] calls of `scope` (the sampled
    /// policies give the random draws they will start from, peeked from a clone of the
    /// RNG), three stages deep: for the walk starting at `draws[0]`, start loading the
    /// entries of its chains' later elements (their nodes were asked for one call earlier);
    /// for the walk at `draws[1]`, the nodes and entries of its first `count` buckets'
    /// heads (bucket lines asked for one call earlier); for the walk at `draws[2]`, its
    /// bucket lines. Without a dict model (`lab-sampling uniform`) nothing is prefetched.
    /// Hints only: no effect on any result.
    #[inline]
    pub fn prefetch_samples(&self, scope: Scope, draws: [u64; 3], count: usize) {
        if let Some(d) = self.dict(scope)
            && !d.is_empty()
        {
            // The side-table record too: the victim is one of the samples, and the insert
            // that follows reuses its slot (measured: leaving it out is slower).
            d.prefetch_chains(draws[0], count, |s| self.prefetch_entry(s));
            d.prefetch_some(draws[1], count, |s| self.prefetch_entry(s));
            d.prefetch_start(draws[2]);
        }
    }

    /// Prefetch hint for inserting a key with this `hash`: the main dict model's bucket the
    /// insert will write (a hint; nothing without a main dict model).
    #[inline]
    pub fn prefetch_insert(&self, hash: u64) {
        self.prefetch_insert_with(|| hash);
    }

    /// [`Keyspace::prefetch_insert`] with the hash computed only when there is a main dict
    /// model to prefetch in.
    #[inline]
    pub fn prefetch_insert_with(&self, hash: impl FnOnce() -> u64) {
        if let Some(d) = &self.main_dict {
            d.prefetch_start(hash());
        }
    }

    /// Tells the dict models whether a fork child is alive (Redis avoids resizing then).
    pub fn set_avoid_resize(&mut self, avoid: bool) {
        for d in [&mut self.main_dict, &mut self.expires_dict]
            .into_iter()
            .flatten()
        {
            d.set_avoid_resize(avoid);
        }
    }

    /// The slot at position `i` of the volatile index (for cursor scans without a dict model).
    #[inline]
    pub fn volatile_at(&self, i: usize) -> Option<Slot> {
        self.volatile.get(i).copied()
    }

    /// Live slots in ascending slot order (deterministic for a given history).
    pub fn slots(&self) -> impl Iterator<Item = Slot> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.all_pos != NONE)
            .map(|(s, _)| s as Slot)
    }

    /// Live entries in ascending slot order.
    pub fn iter(&self) -> impl Iterator<Item = (Slot, &Entry)> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.all_pos != NONE)
            .map(|(s, e)| (s as Slot, e))
    }

    /// Checks every index against the slab (for tests and end-of-run checks).
    pub fn check_invariants(&self) -> Result<(), String> {
        if self.table.len() != self.live || self.iter().count() != self.live {
            return Err(format!(
                "table has {} keys, counter {}, slab {}",
                self.table.len(),
                self.live,
                self.iter().count()
            ));
        }
        if self.track_all {
            if self.all.len() != self.live {
                return Err("dense index out of step".into());
            }
            for (i, &s) in self.all.iter().enumerate() {
                if self.entries[s as usize].all_pos as usize != i {
                    return Err(format!("slot {s} misplaced in the dense index"));
                }
            }
        }
        for (s, e) in self.iter() {
            if self.find(&e.key, e.hash) != Some(s) {
                return Err(format!("key {} not found at slot {s}", e.key));
            }
            if (self.meta[s as usize].vol_pos != NONE) != e.has_expire() {
                return Err(format!("slot {s}: TTL and volatile index disagree"));
            }
        }
        for (i, &s) in self.volatile.iter().enumerate() {
            if self.meta[s as usize].vol_pos as usize != i {
                return Err(format!("volatile slot {s} misplaced"));
            }
        }
        if let Some(d) = &self.main_dict {
            d.check()?;
            if d.len() != self.live {
                return Err("main dict model out of step".into());
            }
        }
        if let Some(d) = &self.expires_dict {
            d.check()?;
            if d.len() != self.volatile.len() {
                return Err("expires dict model out of step".into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_entry_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<super::Entry>(), 64);
        assert_eq!(std::mem::align_of::<super::Entry>(), 64);
    }
}
