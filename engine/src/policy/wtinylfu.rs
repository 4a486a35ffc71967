//! `w-tinylfu`: Window TinyLFU — a small LRU *window* in front of a segmented-LRU main
//! cache, with a frequency estimator deciding whether a key leaving the window may replace
//! the main cache's victim.
//!
//! Source: Einziger, Friedman & Manes, "TinyLFU: A Highly Efficient Cache Admission
//! Policy", ACM TOS 13(4) 2017, §4 (W-TinyLFU) and §3. Two readings, chosen by
//! `lab-policy-param variant`:
//!
//! * `libcachesim` (default): libCacheSim 0.3.5 `WTinyLFU.c`, reproduced miss for miss —
//!   see [`super::wtinylfu_lcs`] (1 % window, SLRU main 1:4, counting Bloom filter, only
//!   main hits and inserts counted). Parameter `window-size` (0.01).
//! * `caffeine`: Caffeine's simulator, this file (below). Parameters `percent-main`,
//!   `percent-main-protected`, `doorkeeper`.
//!
//! A parameter of the other variant is an error.
//!
//! # The `caffeine` variant
//!
//! Caffeine's simulator `policy/sketch/WindowTinyLfuPolicy.java` + `admission/TinyLfu.java`
//! (with the sketch of [`super::sketch`]), which this variant follows in keys mode step for
//! step:
//!
//! * every access — hit, GET miss, or SET of an absent key — increments the key's count in
//!   the sketch;
//! * a new key enters the window's MRU end; a window hit moves it to the MRU end;
//! * main = *probation* + *protected* (SLRU): a probation hit moves the key to protected's
//!   MRU end, demoting protected's LRU to probation's MRU end when protected is over its
//!   share; a protected hit moves it to the MRU end;
//! * when the window overflows, its LRU key is the *candidate*; if the cache is full, the
//!   candidate is compared with the *victim*, probation's LRU key: the candidate is admitted
//!   (moved to probation's MRU end, the victim evicted) only if its estimated frequency is
//!   strictly greater, else the candidate is evicted.
//!
//! Parameters (Caffeine's names and defaults): `percent-main` (0.99: the window is 1 % of the
//! capacity, `capacity − ⌊capacity × 0.99⌋`), `percent-main-protected` (0.80 of main),
//! `doorkeeper` (yes/no or 1/0, default no as Caffeine; yes adds TinyLFU's Bloom-filter
//! doorkeeper).
//! The sketch is sized for the capacity in keys and ages after 10 × that many samples.
//!
//! Capacity ([`super::sizing`]): in keys mode exactly Caffeine's arithmetic. The engine evicts
//! *before* storing the new key, so the window overflow is anticipated: a candidate leaves
//! the window when `window + incoming > window share`, `incoming` being the new key's weight
//! (1, or its charge in byte mode). If the cache is not full the overflow moves to probation
//! unexamined, as in Caffeine. In byte mode the shares are bytes and the sketch is sized by
//! the number of resident keys, re-sized (forgetting counts) when that outgrows it — what
//! Caffeine does for weighted caches.
//!
//! Deviations: if probation is empty the victim is protected's LRU key (Caffeine's simulator
//! would evict the candidate; the state needs deletions to arise). No hill climbing (the
//! window is static, as in the simulator's `WindowTinyLfuPolicy`; Caffeine's production cache
//! adapts it) and no random admission of warm candidates (Caffeine's defence against hash
//! flooding).
//!
//! Metadata: 9 bytes per slot (links, segment tag), +8 in byte mode, plus the sketch:
//! 8 × next_pow2(capacity) bytes (0.5 byte per counter × 16 counters per key-slot).
//! Suits skewed workloads with stable and shifting popularity (search, database, web: near
//! optimal on most); weaker on loops and scans with little frequency signal — the sketch
//! rejects newcomers, the window is small — and recency-biased bursts larger than the window.

use super::list::{SlotLinks, SlotList};
use super::params::{ParamSpec, Range};
use super::registry::PolicyInfo;
use super::sizing::{Capacity, Unit, Weights, grow};
use super::sketch::FrequencySketch;
use super::wtinylfu_lcs::LcsWTinyLfu;
use super::{InsertKind, Policy, PolicyCtx, RemovalCause};
use crate::keyspace::{Keyspace, Slot};

const WINDOW: u8 = 1;
const PROBATION: u8 = 2;
const PROTECTED: u8 = 3;

/// TinyLFU §3.3: reset after `W = 10 ×` the cache size samples; Caffeine's production
/// `FrequencySketch.ensureCapacity` uses the same `10 * maximum`.
pub const SAMPLE_FACTOR: u64 = 10;
/// Sketch size for byte mode before the cache has filled (grows with the key count).
const BYTE_MODE_INITIAL_ENTRIES: u64 = 1024;

/// Registry entry: `variant` picks the reading; each other parameter belongs to one variant
/// (libCacheSim's `window-size`; Caffeine's simulator's names and defaults for the rest).
pub const REGISTRY: &[PolicyInfo] = &[PolicyInfo::research(
    "w-tinylfu",
    "W-TinyLFU: LRU window + SLRU main + frequency admission (Einziger et al. TOS'17); libCacheSim's or Caffeine's",
    &[
        ParamSpec::choice(
            "variant",
            "libcachesim",
            &["libcachesim", "caffeine"],
            "whose reading: libCacheSim 0.3.5 WTinyLFU.c (default) or Caffeine's simulator",
        ),
        ParamSpec::float(
            "window-size",
            0.01,
            Range {
                lo: 0.0,
                lo_closed: true,
                hi: 1.0,
                hi_closed: false,
            },
            "the window's share of the capacity (libCacheSim's window-size)",
        )
        .only_with("variant", "libcachesim"),
        ParamSpec::float(
            "percent-main",
            0.99,
            Range::open(0.0, 1.0),
            "main's share of the capacity; the window gets the rest",
        )
        .only_with("variant", "caffeine"),
        ParamSpec::float(
            "percent-main-protected",
            0.80,
            Range::closed(0.0, 1.0),
            "the protected segment's share of main",
        )
        .only_with("variant", "caffeine"),
        ParamSpec::flag(
            "doorkeeper",
            false,
            "a Bloom-filter doorkeeper in front of the sketch",
        )
        .only_with("variant", "caffeine"),
    ],
    |b| {
        let p = &b.params;
        match p.choice("variant") {
            "caffeine" => WTinyLfu::Caffeine(CaffeineWTinyLfu::new(
                b.capacity,
                p.float("percent-main"),
                p.float("percent-main-protected"),
                p.flag("doorkeeper"),
            )),
            _ => WTinyLfu::LibCacheSim(LcsWTinyLfu::new(b.capacity, p.float("window-size"))),
        }
        .into()
    },
)];

/// W-TinyLFU, in the variant the configuration chose.
#[derive(Debug)]
pub enum WTinyLfu {
    /// libCacheSim 0.3.5's (the default).
    LibCacheSim(LcsWTinyLfu),
    /// Caffeine's simulator's.
    Caffeine(CaffeineWTinyLfu),
}

/// W-TinyLFU as Caffeine's simulator runs it.
#[derive(Debug)]
pub struct CaffeineWTinyLfu {
    links: SlotLinks,
    window: SlotList,
    probation: SlotList,
    protected: SlotList,
    segment: Vec<u8>,
    weights: Weights,
    window_w: u64,
    probation_w: u64,
    protected_w: u64,
    max_window: u64,
    max_protected: u64,
    sketch: FrequencySketch,
    /// Byte mode: the sketch follows the key count.
    sketch_follows_len: bool,
}

policy_variants!(WTinyLfu {
    LibCacheSim,
    Caffeine
});

impl CaffeineWTinyLfu {
    /// W-TinyLFU over `cap` with Caffeine's `percent-main` and `percent-main-protected`.
    pub fn new(
        cap: Capacity,
        percent_main: f64,
        percent_protected: f64,
        door: bool,
    ) -> CaffeineWTinyLfu {
        // Caffeine: maxMain = (int)(maximumSize * percentMain);
        // maxProtected = (int)(maxMain * percentMainProtected); maxWindow = maximumSize - maxMain.
        let max_main = cap.fraction(percent_main);
        let max_protected = if max_main == u64::MAX {
            u64::MAX
        } else {
            (max_main as f64 * percent_protected) as u64
        };
        let max_window = if cap.total == u64::MAX {
            u64::MAX
        } else {
            cap.total - max_main
        };
        let follows = cap.unit == Unit::Bytes || cap.total == u64::MAX;
        let entries = if follows {
            BYTE_MODE_INITIAL_ENTRIES
        } else {
            cap.total
        };
        CaffeineWTinyLfu {
            links: SlotLinks::default(),
            window: SlotList::default(),
            probation: SlotList::default(),
            protected: SlotList::default(),
            segment: Vec::new(),
            weights: Weights::new(cap),
            window_w: 0,
            probation_w: 0,
            protected_w: 0,
            max_window,
            max_protected,
            sketch: FrequencySketch::new(entries, SAMPLE_FACTOR, door),
            sketch_follows_len: follows,
        }
    }

    #[inline]
    fn total_w(&self) -> u64 {
        self.window_w + self.probation_w + self.protected_w
    }

    #[inline]
    fn window_to_probation(&mut self, slot: Slot) {
        let w = self.weights.get(slot);
        self.links.unlink(&mut self.window, slot);
        self.window_w -= w;
        self.segment[slot as usize] = PROBATION;
        self.links.push_front(&mut self.probation, slot);
        self.probation_w += w;
    }

    #[inline]
    fn freq(&self, ks: &Keyspace, slot: Slot) -> u8 {
        self.sketch.frequency(ks.entry(slot).hash)
    }
}

impl Policy for CaffeineWTinyLfu {
    #[inline]
    fn on_insert(&mut self, slot: Slot, ks: &Keyspace, _: &mut PolicyCtx<'_>, kind: InsertKind) {
        if kind == InsertKind::Write {
            // A fill's access was counted by `on_miss`.
            self.sketch.increment(ks.entry(slot).hash);
        }
        if self.sketch_follows_len && ks.len() as u64 > self.sketch.entries() {
            self.sketch.ensure_capacity(2 * ks.len() as u64);
        }
        grow(&mut self.segment, slot, 0);
        let w = self.weights.record(ks, slot);
        self.segment[slot as usize] = WINDOW;
        self.links.push_front(&mut self.window, slot);
        self.window_w += w;
        // Overflow while the cache is not over capacity: no admission contest (Caffeine only
        // compares when `data.size() > maximumSize`). Over capacity (Redis enforcement, or a
        // byte-mode key bigger than the room made), leave it for `select_victim`.
        let cap = self.weights.capacity().total;
        while self.window_w > self.max_window && self.total_w() <= cap {
            let Some(lru) = self.window.back() else {
                break;
            };
            self.window_to_probation(lru);
        }
    }

    #[inline]
    fn on_access(&mut self, slot: Slot, ks: &Keyspace, _: &mut PolicyCtx<'_>) {
        self.sketch.increment(ks.entry(slot).hash);
        let (old, new) = self.weights.refresh(ks, slot);
        match self.segment[slot as usize] {
            WINDOW => {
                self.links.move_to_front(&mut self.window, slot);
                self.window_w = self.window_w - old + new;
            }
            PROBATION => {
                self.links.unlink(&mut self.probation, slot);
                self.probation_w -= old;
                self.segment[slot as usize] = PROTECTED;
                self.links.push_front(&mut self.protected, slot);
                self.protected_w += new;
                while self.protected_w > self.max_protected {
                    let Some(demote) = self.protected.back() else {
                        break;
                    };
                    let w = self.weights.get(demote);
                    self.links.unlink(&mut self.protected, demote);
                    self.protected_w -= w;
                    self.segment[demote as usize] = PROBATION;
                    self.links.push_front(&mut self.probation, demote);
                    self.probation_w += w;
                }
            }
            _ => {
                self.links.move_to_front(&mut self.protected, slot);
                self.protected_w = self.protected_w - old + new;
            }
        }
    }

    #[inline]
    fn on_miss(&mut self, hash: u64, _: &mut PolicyCtx<'_>) {
        self.sketch.increment(hash);
    }

    #[inline]
    fn on_remove(&mut self, slot: Slot, _: &Keyspace, _: RemovalCause) {
        let w = self.weights.get(slot);
        match std::mem::replace(&mut self.segment[slot as usize], 0) {
            WINDOW => {
                self.links.unlink(&mut self.window, slot);
                self.window_w -= w;
            }
            PROBATION => {
                self.links.unlink(&mut self.probation, slot);
                self.probation_w -= w;
            }
            _ => {
                self.links.unlink(&mut self.protected, slot);
                self.protected_w -= w;
            }
        }
    }

    #[inline]
    fn select_victim(&mut self, ks: &Keyspace, ctx: &mut PolicyCtx<'_>) -> Option<Slot> {
        let incoming = self.weights.capacity().incoming(ctx);
        let main_victim = self.probation.back().or(self.protected.back());
        if let Some(candidate) = self.window.back()
            && self.window_w.saturating_add(incoming) > self.max_window
        {
            return match main_victim {
                Some(victim) if self.freq(ks, candidate) > self.freq(ks, victim) => {
                    // Admitted: the candidate joins probation's MRU end, the victim goes.
                    self.window_to_probation(candidate);
                    Some(victim)
                }
                _ => Some(candidate),
            };
        }
        main_victim.or(self.window.back())
    }

    fn check_invariants(&self, ks: &Keyspace) -> Result<(), String> {
        let mut n = 0;
        for (list, tag, total, name) in [
            (&self.window, WINDOW, self.window_w, "window"),
            (&self.probation, PROBATION, self.probation_w, "probation"),
            (&self.protected, PROTECTED, self.protected_w, "protected"),
        ] {
            let mut w = 0;
            for s in self.links.iter(list) {
                if !ks.is_live(s) || self.segment[s as usize] != tag {
                    return Err(format!("W-TinyLFU slot {s} misfiled in {name}"));
                }
                w += self.weights.get(s);
                n += 1;
            }
            if w != total {
                return Err(format!("W-TinyLFU {name} weighs {w}, recorded {total}"));
            }
        }
        if n != ks.len() {
            return Err(format!("W-TinyLFU holds {n} keys, keyspace {}", ks.len()));
        }
        // In byte mode an overwrite can grow a protected key after its access was handled;
        // the share is restored at its next access, so only keys mode is exact.
        if self.weights.capacity().unit == Unit::Keys && self.protected_w > self.max_protected {
            return Err(format!(
                "W-TinyLFU protected {} over its share {}",
                self.protected_w, self.max_protected
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;

    #[test]
    fn the_sketch_decides_between_candidate_and_victim() {
        // 10 keys, percent-main 0.9: window 1, main 9 (protected 7).
        let mut e = engine_with(
            "w-tinylfu",
            10,
            &[
                ("lab-policy-param", "variant caffeine"),
                ("lab-policy-param", "percent-main 0.9"),
            ],
        );
        for k in 1..=10 {
            set(&mut e, k); // not full: each overflow moves window → probation unexamined
        }
        // window: 10; probation (LRU first): 1 2 … 9
        for _ in 0..3 {
            assert!(hit(&mut e, 10)); // 10: count 4 (the SET counted once)
        }
        set(&mut e, 11); // candidate 10 (4) vs victim 1 (1): admitted, 1 evicted
        assert_eq!(keys(&e), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        set(&mut e, 12); // candidate 11 (1) vs victim 2 (1): not strictly greater → 11 goes
        assert_eq!(keys(&e), [2, 3, 4, 5, 6, 7, 8, 9, 10, 12]);
        assert!(hit(&mut e, 2)); // 2: probation → protected
        assert!(!hit(&mut e, 11));
        assert!(!hit(&mut e, 11)); // 11's count is 3 now, though it is not cached
        set(&mut e, 13); // candidate 12 (1) vs victim 3 (1): 12 evicted
        set(&mut e, 11); // candidate 13 (1) vs 3: 13 evicted; 11 (count 4) enters the window
        set(&mut e, 14); // candidate 11 (4) vs victim 3 (1): admitted, 3 evicted
        assert_eq!(keys(&e), [2, 4, 5, 6, 7, 8, 9, 10, 11, 14]);
        e.check_invariants().unwrap();
    }

    #[test]
    fn byte_mode_anticipates_the_incoming_key() {
        use crate::{Blob, Key, SetOptions};
        // 100 bytes of values: window 10 B, main 90 B (protected 72 B).
        let mut e = engine_with(
            "w-tinylfu",
            100,
            &[
                ("lab-memory-mode", "logical"),
                ("lab-count-key-bytes", "no"),
                ("lab-policy-param", "variant caffeine"),
                ("lab-policy-param", "percent-main 0.9"),
            ],
        );
        let put = |e: &mut crate::Engine, k: u64, bytes: u64| {
            let r = e.set(Key::from_id(k), Blob::Sized(bytes), SetOptions::default());
            assert_eq!(r, crate::WriteOutcome::Stored, "SET {k}");
        };
        put(&mut e, 1, 5);
        put(&mut e, 2, 5); // window: 2 1 (10 B)
        put(&mut e, 3, 30); // not full: the window's overflow (1, 2, then 3) moves to probation
        put(&mut e, 4, 60); // exactly full (100 B); 4 also overflows to probation: 4 3 2 1
        for _ in 0..3 {
            assert!(hit(&mut e, 1)); // probation → protected
        }
        put(&mut e, 5, 8); // window empty: probation's LRU 2, then 3, evicted; window: 5
        assert_eq!(keys(&e), [1, 4, 5]);
        put(&mut e, 6, 8); // fits (81 B); 5 overflows the window into probation: 5 4
        put(&mut e, 7, 30); // 111 B. The window (8 B) + 30 B incoming > 10 B: candidate 6
        // (count 1) vs probation's LRU 4 (count 1): 6 evicted; still over, window empty:
        // 4 evicted. Ignoring the incoming size would have evicted 4 only and kept 6.
        assert_eq!(keys(&e), [1, 5, 7]);
        e.check_invariants().unwrap();
    }
}
