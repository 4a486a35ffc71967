//! Look-ahead hints for a replay loop: while request *i* runs, [`Lookahead::hint`] tells
//! the engine about request *i* + [`FAR`] (stage 1) and, from its short ring of ids, about
//! request *i* + [`NEAR`] (stage 2), so that their memory loads overlap request *i*'s work.
//! The caller reads the key [`FAR`] requests ahead in its own stream (a slice index, a
//! second cursor over a packed trace): requests are not copied.
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
//! The ring is [`FAR`] − [`NEAR`] ids (64 bytes). When the hit path's tables are small
//! ([`Engine::lookahead_pays`]: entries and index below [`MIN_TABLE_BYTES`]) their misses
//! are L3 hits whose latency the out-of-order core mostly hides already, and the hints
//! cost more instructions than they save, so a [`Lookahead::new`] gives none until the
//! tables grow past it (they never shrink). Measured figures: `docs/speed.md`, "engine_ops and Zipf generation
//! targets".

use super::Engine;
use crate::key::mix64;
use crate::policy::Policy;

/// Distance (in requests) of stage 1, the index bucket: [`Lookahead::hint`] takes the key
/// of the request this far ahead of the one about to run.
pub const FAR: usize = 16;
/// Distance of stage 2, the entry and the policy's hit-path state.
pub const NEAR: usize = 8;
/// Ring length: the ids between their stage 1 and their stage 2.
const DELAY: usize = FAR - NEAR;
const _: () = assert!(DELAY.is_power_of_two() && NEAR < FAR);

/// Below this many bytes of entries plus key index, [`Lookahead::new`] gives no hints.
/// Measured on a 2-core AMD EPYC VM (1 MiB L2, 32 MiB L3, 4 KiB pages, ~64 instructions
/// per hinted request): at 2.3 MB (w106, cache 27.5 k keys) and 0.9 MB (`engine_ops`'
/// 100 k-key group) the tables stay in L3 and mostly in the L2 TLB's reach and hints cost
/// 0–9 %; at 8.4 MB (`engine_ops`' 1 M-key group) they save 20–30 %.
pub const MIN_TABLE_BYTES: usize = 4 << 20;

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
            None => self.ks.prefetch_insert_with(|| mix64(id)),
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
    /// Once [`Engine::lookahead_pays`] (asked every [`RECHECK`] hints until it holds).
    Auto,
    /// Always (tests).
    Always,
    /// Never (the benches' `no_prefetch` ids).
    Never,
}

/// Calls between two [`Engine::lookahead_pays`] checks of an automatic look-ahead that is
/// off.
const RECHECK: u32 = 1024;

/// The look-ahead state of a replay loop; see the module docs.
///
/// ```
/// # use evictlab_engine::{Config, Engine, Lookahead, engine::FAR};
/// # let mut engine = Engine::new(Config::parse_str("maxmemory 10\nlab-memory-mode keys")?, 1)?;
/// let ids = [3u64, 1, 4, 1, 5];
/// let mut ahead = Lookahead::new();
/// for (i, &id) in ids.iter().enumerate() {
///     ahead.hint(&engine, || ids.get(i + FAR).copied());
///     engine.get_or_fill_id(id, 10, 0);
/// }
/// assert_eq!(engine.stats().keyspace_hits, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Lookahead {
    /// The ids of the last [`DELAY`] hints (stage 1 done, stage 2 due; 0 before the first
    /// ones, a harmless hint).
    ids: [u64; DELAY],
    /// Hints given since hints started.
    given: usize,
    mode: Mode,
    /// Calls left before asking [`Lookahead::turn_on`] again; 0 while hints are on.
    wait: u32,
}

impl Default for Lookahead {
    fn default() -> Self {
        Lookahead::new()
    }
}

impl Lookahead {
    fn with_mode(mode: Mode) -> Self {
        Lookahead {
            ids: [0; DELAY],
            given: 0,
            mode,
            wait: match mode {
                Mode::Always => 0,
                Mode::Auto => 1,
                Mode::Never => u32::MAX,
            },
        }
    }

    /// Hints once the engine's tables outgrow [`MIN_TABLE_BYTES`] (what replays use).
    pub fn new() -> Self {
        Self::with_mode(Mode::Auto)
    }

    /// Hints from the first call, whatever the tables' size.
    pub fn always() -> Self {
        Self::with_mode(Mode::Always)
    }

    /// No hints (to measure what they are worth).
    pub fn off() -> Self {
        Self::with_mode(Mode::Never)
    }

    /// Call before running each request, with the key of the request [`FAR`] ahead of it
    /// (`later` is asked only while hints are on; `None` where the stream has no such
    /// request): stage 1 for that key, stage 2 for the key given [`DELAY`] calls ago (now
    /// [`NEAR`] ahead). Changes nothing in the engine.
    #[inline(always)]
    pub fn hint(&mut self, engine: &Engine, later: impl FnOnce() -> Option<u64>) {
        if self.wait > 0 {
            self.wait -= 1;
            if self.wait > 0 || !self.turn_on(engine) {
                return;
            }
        }
        let Some(id) = later() else { return };
        engine.prefetch_key_id(id);
        let n = self.given;
        self.given = n.wrapping_add(1);
        let near = std::mem::replace(&mut self.ids[n % DELAY], id);
        engine.prefetch_hit_of_id(near);
    }

    /// Whether hints start now: an automatic look-ahead asks the engine every [`RECHECK`]
    /// calls (the tables never shrink, so once on it stays on).
    #[cold]
    #[inline(never)]
    fn turn_on(&mut self, engine: &Engine) -> bool {
        let on = self.mode == Mode::Auto && engine.lookahead_pays();
        self.wait = match (on, self.mode) {
            (true, _) => 0,
            (false, Mode::Never) => u32::MAX,
            (false, _) => RECHECK,
        };
        on
    }

    /// True once hints are being given.
    pub fn is_on(&self) -> bool {
        self.wait == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::engine;
    use crate::{Config, FillOutcome};
    use rand::{RngExt, SeedableRng};

    #[test]
    fn modes() {
        let conf = "maxmemory-policy lru\nlab-memory-mode keys\nmaxmemory 100000";
        let mut e = Engine::new(Config::parse_str(conf).unwrap(), 1).unwrap();
        let (mut auto, mut always, mut off) =
            (Lookahead::new(), Lookahead::always(), Lookahead::off());
        assert!(!e.lookahead_pays());
        for a in [&mut auto, &mut always, &mut off] {
            a.hint(&e, || Some(1));
        }
        assert!(!auto.is_on() && always.is_on() && !off.is_on());
        let mut id = 0;
        while !e.lookahead_pays() {
            e.get_or_fill_id(id, 10, 0);
            id += 1;
        }
        assert!(id * 64 <= MIN_TABLE_BYTES as u64, "{id} keys");
        // Within RECHECK calls the automatic look-ahead notices; `off` never does.
        for _ in 0..RECHECK {
            auto.hint(&e, || Some(2));
            off.hint(&e, || Some(2));
        }
        assert!(auto.is_on() && !off.is_on());
    }

    /// Replaying with hints (always on) gives the same outcomes, statistics and state as
    /// without, for every registered policy.
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
            let run = |mut ahead: Lookahead| {
                let mut e = engine(p.name, 500);
                let mut outcomes = Vec::new();
                for (i, &id) in ids.iter().enumerate() {
                    ahead.hint(&e, || ids.get(i + FAR).copied());
                    e.set_time_ms(i as u64);
                    if p.needs_next_access {
                        e.set_oracle(i as u64, crate::NEVER);
                    }
                    let o = e.get_or_fill_id(id, 10 + id % 7, 0);
                    outcomes.push(matches!(o, FillOutcome::Hit(_)));
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
