//! Look-ahead hints for a replay loop: [`Lookahead`] holds the next [`FAR`] requests back
//! and, while request *i* runs, tells the engine about requests *i* + [`FAR`] and
//! *i* + [`NEAR`], so that their memory loads overlap request *i*'s work.
//!
//! Why: on a cache larger than the L2 (and the TLB's reach) a GET hit is two dependent
//! cache misses — the key-index bucket, then the entry it names — and exact LRU adds the
//! slot's list links. The engine sees one request at a time and cannot overlap them; the
//! caller knows the stream. The technique is the one of software-pipelined hash probes
//! (e.g. Chen, Ailamaki, Gibbons, Mowry, "Improving Hash Join Performance through
//! Prefetching", ICDE 2004: stage the bucket, then the node, a fixed distance apart).
//!
//! Stages (all `&self`: a hint reads the engine, never changes it, allocates nothing, draws
//! no random number and reads no clock, so no result depends on it):
//!
//! 1. [`Engine::prefetch_key_id`] at distance [`FAR`]: the key's index bucket (one multiply,
//!    no load).
//! 2. [`Engine::prefetch_hit_of_id`] at distance [`NEAR`]: read that bucket (cached by now),
//!    and if a bucket's 32 hash bits match, load the entry and whatever the policy's hit
//!    path reads first ([`crate::Policy::prefetch_access`]: exact LRU's links); if the
//!    bucket says the key is absent, the Redis dict model's bucket its fill will write
//!    (sampled `allkeys-*` policies only).
//!
//! The ring is [`FAR`] requests (a few hundred bytes, in L1). When the hit path's tables
//! are small ([`Engine::lookahead_pays`]: entries and index below [`MIN_TABLE_BYTES`], well
//! inside the 1 MiB L2 of the machine this was tuned on) the hints only cost instructions,
//! so a [`Lookahead::new`] passes requests straight through until the tables grow past it
//! (they never shrink). Measured figures: `docs/speed.md`, "engine_ops and Zipf generation
//! targets".

use super::Engine;
use crate::key::mix64;
use crate::policy::Policy;

/// Distance (in requests) of stage 1, the index bucket; also the ring's length.
pub const FAR: usize = 16;
/// Distance of stage 2, the entry and the policy's hit-path state.
pub const NEAR: usize = 8;
const MASK: usize = FAR - 1;
const _: () = assert!(FAR.is_power_of_two() && NEAR < FAR);

/// Below this many bytes of entries plus key index, [`Lookahead::new`] passes requests
/// through without hints (the tables stay in the L2 cache; see the module docs).
pub const MIN_TABLE_BYTES: usize = 512 << 10;

impl Engine {
    /// Look-ahead stage 1 for the integer key `id`: start loading its key-index bucket.
    /// A hint: changes nothing (see [`Lookahead`]).
    #[inline(always)]
    pub fn prefetch_key_id(&self, id: u64) {
        self.ks.prefetch_index_of_id(id);
    }

    /// Look-ahead stage 2 for the integer key `id` (its bucket should be cached by a stage
    /// 1 some requests ago): start loading the entry the bucket probably names and the
    /// policy's hit-path state for it, or, when the bucket says the key is absent, what its
    /// fill writes first. A hint: changes nothing.
    #[inline(always)]
    pub fn prefetch_hit_of_id(&self, id: u64) {
        match self.ks.probable_slot_of_id(id) {
            Some(slot) => {
                self.ks.prefetch_entry_line(slot);
                self.policy.prefetch_access(slot, &self.ks);
            }
            None => self.ks.prefetch_insert(mix64(id)),
        }
    }

    /// True when the tables a hit reads (entries, key index) have outgrown
    /// [`MIN_TABLE_BYTES`], so that look-ahead hints hide more latency than they cost.
    #[inline]
    pub fn lookahead_pays(&self) -> bool {
        self.ks.hit_path_bytes() >= MIN_TABLE_BYTES
    }
}

/// When a [`Lookahead`] gives hints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Once [`Engine::lookahead_pays`] (checked on each push until it holds).
    Auto,
    /// Always (tests).
    Always,
    /// Never: every item passes straight through (the benches' `no_prefetch` ids).
    Never,
}

/// The look-ahead ring of a replay loop; see the module docs.
///
/// ```
/// # use evictlab_engine::{Config, Engine, engine::Lookahead};
/// # let mut engine = Engine::new(Config::parse_str("maxmemory 10\nlab-memory-mode keys")?, 1)?;
/// let mut ahead = Lookahead::new();
/// for (i, id) in [3u64, 1, 4, 1, 5].into_iter().enumerate() {
///     if let Some(j) = ahead.push(&engine, id, i) {
///         engine.get_or_fill_id([3u64, 1, 4, 1, 5][j], 10, 0); // request j, in order
///     }
/// }
/// while let Some(j) = ahead.pop(&engine) {
///     engine.get_or_fill_id([3u64, 1, 4, 1, 5][j], 10, 0);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Lookahead<T> {
    items: [Option<T>; FAR],
    ids: [u64; FAR],
    /// Items pushed so far (the next one goes to `next & MASK`).
    next: usize,
    /// Ring positions [`Lookahead::pop`] has visited since the stream ended.
    drained: usize,
    mode: Mode,
    /// Hints are being given (the ring is in use).
    on: bool,
}

impl<T: Copy> Default for Lookahead<T> {
    fn default() -> Self {
        Lookahead::new()
    }
}

impl<T: Copy> Lookahead<T> {
    fn with_mode(mode: Mode) -> Self {
        Lookahead {
            items: [None; FAR],
            ids: [0; FAR],
            next: 0,
            drained: 0,
            mode,
            on: mode == Mode::Always,
        }
    }

    /// Hints once the engine's tables outgrow [`MIN_TABLE_BYTES`] (what replays use).
    pub fn new() -> Self {
        Self::with_mode(Mode::Auto)
    }

    /// Hints from the first request, whatever the tables' size.
    pub fn always() -> Self {
        Self::with_mode(Mode::Always)
    }

    /// No hints: every item comes straight back (to measure what the hints are worth).
    pub fn off() -> Self {
        Self::with_mode(Mode::Never)
    }

    /// Takes the next request (`item`, for the integer key `id`), hints the engine about
    /// it and about the one [`NEAR`] requests ahead of the oldest held, and returns the item
    /// due now (pushed [`FAR`] pushes ago), if any. Items come back in push order.
    #[inline(always)]
    pub fn push(&mut self, engine: &Engine, id: u64, item: T) -> Option<T> {
        if !self.on {
            if self.mode == Mode::Auto && engine.lookahead_pays() {
                self.on = true;
            } else {
                return Some(item);
            }
        }
        let n = self.next;
        self.next = n.wrapping_add(1);
        engine.prefetch_key_id(id);
        self.ids[n & MASK] = id;
        // The item pushed NEAR pushes ago runs NEAR requests after the one due now.
        engine.prefetch_hit_of_id(self.ids[n.wrapping_sub(NEAR) & MASK]);
        self.items[n & MASK].replace(item)
    }

    /// After the last push: the held items, oldest first (with their stage-2 hints), then
    /// `None`. The ring is then empty and may take a new stream.
    #[inline]
    pub fn pop(&mut self, engine: &Engine) -> Option<T> {
        while self.drained < FAR {
            let k = self.next.wrapping_add(self.drained);
            self.drained += 1;
            if let Some(item) = self.items[k & MASK].take() {
                if self.items[k.wrapping_add(NEAR) & MASK].is_some() {
                    engine.prefetch_hit_of_id(self.ids[k.wrapping_add(NEAR) & MASK]);
                }
                return Some(item);
            }
        }
        self.drained = 0;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::engine;
    use crate::{Config, FillOutcome};
    use rand::{RngExt, SeedableRng};

    /// Pushes `items` (id = item) through `ahead`, then pops; returns the order they came
    /// back in.
    fn order(ahead: &mut Lookahead<u64>, e: &Engine, items: &[u64]) -> Vec<u64> {
        let mut out = Vec::new();
        for &x in items {
            out.extend(ahead.push(e, x, x));
        }
        while let Some(x) = ahead.pop(e) {
            out.push(x);
        }
        out
    }

    #[test]
    fn items_come_back_once_in_push_order() {
        let e = engine("lru", 10);
        for n in [0, 1, NEAR - 1, NEAR, FAR - 1, FAR, FAR + 1, 3 * FAR + 5] {
            let items: Vec<u64> = (0..n as u64).collect();
            for mut ahead in [Lookahead::always(), Lookahead::new(), Lookahead::off()] {
                assert_eq!(order(&mut ahead, &e, &items), items, "{n} items");
                // Reusable after a drain.
                assert_eq!(order(&mut ahead, &e, &items), items, "{n} items, again");
            }
        }
    }

    #[test]
    fn auto_mode_turns_on_once_the_tables_outgrow_the_threshold() {
        let conf = "maxmemory-policy lru\nlab-memory-mode keys\nmaxmemory 100000";
        let mut e = Engine::new(Config::parse_str(conf).unwrap(), 1).unwrap();
        let mut ahead = Lookahead::new();
        assert!(!e.lookahead_pays());
        assert_eq!(ahead.push(&e, 1, 1u64), Some(1), "small tables: passed through");
        let mut id = 0;
        while !e.lookahead_pays() {
            e.get_or_fill_id(id, 10, 0);
            id += 1;
        }
        assert!(id * 64 <= MIN_TABLE_BYTES as u64, "{id} keys");
        assert_eq!(ahead.push(&e, 2, 2u64), None, "large tables: held back");
        assert_eq!(ahead.pop(&e), Some(2));
        assert_eq!(ahead.pop(&e), None);
    }

    /// Replaying through the ring (hints always on) gives the same outcomes, statistics
    /// and state as the plain loop, for every registered policy.
    #[test]
    fn hints_change_no_result() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
        let ids: Vec<u64> = (0..20_000)
            .map(|_| {
                let r: f64 = rng.random();
                (r * r * r * 3_000.0) as u64
            })
            .collect();
        for p in crate::policy::POLICIES {
            let run = |mut ahead: Lookahead<usize>| {
                let mut e = engine(p.name, 500);
                let mut outcomes = Vec::new();
                let mut step = |e: &mut Engine, i: usize| {
                    e.set_time_ms(i as u64);
                    if p.needs_next_access {
                        e.set_oracle(i as u64, crate::NEVER);
                    }
                    let o = e.get_or_fill_id(ids[i], 10 + ids[i] % 7, 0);
                    outcomes.push(matches!(o, FillOutcome::Hit(_)));
                };
                for (i, &id) in ids.iter().enumerate() {
                    if let Some(j) = ahead.push(&e, id, i) {
                        step(&mut e, j);
                    }
                }
                while let Some(j) = ahead.pop(&e) {
                    step(&mut e, j);
                }
                e.check_invariants().unwrap();
                let mut keys: Vec<_> = e.keyspace().iter().map(|(_, x)| x.key.as_id()).collect();
                keys.sort();
                (outcomes, format!("{:?}", e.stats()), keys)
            };
            assert_eq!(
                run(Lookahead::always()),
                run(Lookahead::off()),
                "{}",
                p.name
            );
        }
    }
}
