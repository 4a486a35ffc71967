//! `w-tinylfu` with `variant libcachesim` (the default): libCacheSim 0.3.5's
//! `cache/eviction/WTinyLFU.c` with its defaults (`main-cache=SLRU, window-size=0.01`),
//! reproduced miss for miss. The `caffeine` variant is in [`super::wtinylfu`].
//!
//! Structure (libCacheSim's sub-caches, here lists over slots):
//!
//! * a **window** LRU sized `⌊capacity × window-size⌋` and a **main** SLRU sized the rest,
//!   with two segments: *probation* `⌊main / 5⌋` and *protected* `⌊main × 4/5⌋` (libCacheSim
//!   builds the SLRU with `seg-size=1:4`; the two floors can leave one unit of main in
//!   neither segment);
//! * a counting Bloom filter ([`super::cbf`]) sized for `main` keys at error 0.001, halved
//!   every `32 × main` **main hits** (the only accesses it counts as requests).
//!
//! Per request, in libCacheSim's order:
//!
//! * a window hit moves the key to the window's MRU end; a protected hit to protected's MRU
//!   end; a probation hit promotes the key to protected's MRU end, and while protected is
//!   over its size its LRU key moves to probation's MRU end, and while probation is then over
//!   its size **its LRU key is evicted from the cache** (libCacheSim's `SLRU_cool` of
//!   segment 0 is an eviction). The engine removes such a key before the next command
//!   ([`crate::policy::Policy::take_evicted`]). A main hit adds the key to the filter;
//! * a new key enters the window's MRU end and is added to the filter (a missed GET alone
//!   counts nothing);
//! * to evict, repeat: take the window's LRU key (the candidate). If main has room for it,
//!   it moves to main (the lowest segment with room, else probation) and nothing is evicted
//!   yet; otherwise it is compared with main's victim (probation's LRU key, or protected's if
//!   probation is empty): if the candidate's estimate is strictly greater the victim is
//!   evicted and the candidate moves to main, else the candidate is evicted. Either way the
//!   candidate is then added to the filter once more. With an empty window main's victim is
//!   evicted.
//!
//! The window is not bounded by its size on insert: before the cache first fills every key
//! stays in the window, and the first eviction moves the window's oldest keys into main
//! until main is full.
//!
//! Capacity ([`super::sizing`]): keys, or bytes in byte mode (segment and window sizes are
//! bytes, as libCacheSim's byte-sized sub-caches). Parameter: `window-size` (0.01, in
//! `[0, 1)`, libCacheSim's name).
//!
//! Deviations: libCacheSim refuses to cache anything when the window's size rounds down to
//! 0 (below 100 keys at 1 %) or probation's does (a main under 5 keys); the lab runs the
//! degenerate policy instead. In byte mode the filter is sized for at most 2^20 entries
//! (libCacheSim sizes it in bytes, ~58 bytes of counters per cached byte). Keys that are not
//! integer ids are hashed by their bytes. A key evicted on a probation hit is removed at the
//! start of the next command, not during the hit (identical for replays of single-key
//! commands).

use super::cbf::{CountingBloom, key_id};
use super::list::{SlotLinks, SlotList};
use super::sizing::{Capacity, Unit, Weights, grow};
use super::{InsertKind, Policy, PolicyCtx, RemovalCause};
use crate::keyspace::{Keyspace, Slot};

const WINDOW: u8 = 1;
const PROBATION: u8 = 2;
const PROTECTED: u8 = 3;
/// Unlinked: evicted by the policy on a hit (awaiting removal) or chosen as the victim.
const OUT: u8 = 4;

/// libCacheSim's filter error rate for W-TinyLFU.
const CBF_ERROR: f64 = 0.001;
/// libCacheSim halves the filter every `32 × main` counted requests.
const DECAY_FACTOR: u64 = 32;
/// Largest filter in byte mode (entries).
const BYTE_MODE_MAX_ENTRIES: u64 = 1 << 20;

/// libCacheSim's W-TinyLFU (see the module docs).
#[derive(Debug)]
pub struct LcsWTinyLfu {
    links: SlotLinks,
    window: SlotList,
    /// Probation (segment 0) and protected (segment 1).
    seg: [SlotList; 2],
    tag: Vec<u8>,
    weights: Weights,
    window_w: u64,
    seg_w: [u64; 2],
    main_cap: u64,
    seg_max: [u64; 2],
    cbf: CountingBloom,
    requests: u64,
    max_requests: u64,
    /// Keys evicted by a probation hit, not yet removed by the engine.
    evicted: Vec<Slot>,
}

impl LcsWTinyLfu {
    /// libCacheSim's W-TinyLFU over `cap` with window share `window_size` (in `[0, 1)`).
    pub fn new(cap: Capacity, window_size: f64) -> LcsWTinyLfu {
        let window_cap = cap.fraction(window_size);
        let main_cap = cap.total.saturating_sub(window_cap);
        let seg = |share: f64| {
            if main_cap == u64::MAX {
                u64::MAX
            } else {
                (share * main_cap as f64) as u64
            }
        };
        let entries = match cap.unit {
            Unit::Keys if main_cap != u64::MAX => main_cap,
            _ => main_cap.min(BYTE_MODE_MAX_ENTRIES),
        };
        LcsWTinyLfu {
            links: SlotLinks::default(),
            window: SlotList::default(),
            seg: [SlotList::default(), SlotList::default()],
            tag: Vec::new(),
            weights: Weights::new(cap),
            window_w: 0,
            seg_w: [0, 0],
            main_cap,
            seg_max: [seg(1.0 / 5.0), seg(4.0 / 5.0)],
            cbf: CountingBloom::new(entries, CBF_ERROR),
            requests: 0,
            max_requests: main_cap.saturating_mul(DECAY_FACTOR),
            evicted: Vec::new(),
        }
    }

    #[inline]
    fn main_w(&self) -> u64 {
        self.seg_w[0] + self.seg_w[1]
    }

    #[inline]
    fn id(ks: &Keyspace, slot: Slot) -> u64 {
        key_id(&ks.entry(slot).key)
    }

    /// Main's victim: probation's LRU key, else protected's.
    #[inline]
    fn main_victim(&self) -> Option<Slot> {
        self.seg[0].back().or(self.seg[1].back())
    }

    /// Unlinks `slot` from segment `i` and marks it out.
    #[inline]
    fn take_out_of_seg(&mut self, i: usize, slot: Slot) {
        self.links.unlink(&mut self.seg[i], slot);
        self.seg_w[i] -= self.weights.get(slot);
        self.tag[slot as usize] = OUT;
    }

    /// libCacheSim `SLRU_insert`: the lowest segment with room, else (after evicting while
    /// main is over its size) probation.
    #[inline]
    fn main_insert(&mut self, slot: Slot, w: u64) {
        let i = if self.seg_w[0] + w <= self.seg_max[0] {
            0
        } else if self.seg_w[1] + w <= self.seg_max[1] {
            1
        } else {
            while self.main_w() + w > self.main_cap {
                let Some(v) = self.main_victim() else { break };
                let i = if self.tag[v as usize] == PROBATION {
                    0
                } else {
                    1
                };
                self.take_out_of_seg(i, v);
                self.evicted.push(v);
            }
            0
        };
        self.tag[slot as usize] = PROBATION + i as u8;
        self.links.push_front(&mut self.seg[i], slot);
        self.seg_w[i] += w;
    }

    /// Moves the window's `slot` into main.
    #[inline]
    fn window_to_main(&mut self, slot: Slot) {
        let w = self.weights.get(slot);
        self.links.unlink(&mut self.window, slot);
        self.window_w -= w;
        self.main_insert(slot, w);
    }
}

impl Policy for LcsWTinyLfu {
    #[inline]
    fn on_insert(&mut self, slot: Slot, ks: &Keyspace, _: &mut PolicyCtx<'_>, _: InsertKind) {
        grow(&mut self.tag, slot, 0);
        let w = self.weights.record(ks, slot);
        self.tag[slot as usize] = WINDOW;
        self.links.push_front(&mut self.window, slot);
        self.window_w += w;
        self.cbf.add(Self::id(ks, slot));
    }

    #[inline]
    fn on_access(&mut self, slot: Slot, ks: &Keyspace, _: &mut PolicyCtx<'_>) {
        let (old, new) = self.weights.refresh(ks, slot);
        match self.tag[slot as usize] {
            WINDOW => {
                self.links.move_to_front(&mut self.window, slot);
                self.window_w = self.window_w - old + new;
                return;
            }
            PROTECTED => {
                self.links.move_to_front(&mut self.seg[1], slot);
                self.seg_w[1] = self.seg_w[1] - old + new;
            }
            PROBATION => {
                self.links.unlink(&mut self.seg[0], slot);
                self.seg_w[0] -= old;
                self.tag[slot as usize] = PROTECTED;
                self.links.push_front(&mut self.seg[1], slot);
                self.seg_w[1] += new;
                // libCacheSim `SLRU_cool`: protected's overflow to probation, probation's
                // overflow out of the cache.
                while self.seg_w[1] > self.seg_max[1] {
                    let Some(t) = self.seg[1].back() else { break };
                    let w = self.weights.get(t);
                    self.links.unlink(&mut self.seg[1], t);
                    self.seg_w[1] -= w;
                    self.tag[t as usize] = PROBATION;
                    self.links.push_front(&mut self.seg[0], t);
                    self.seg_w[0] += w;
                    while self.seg_w[0] > self.seg_max[0] {
                        let Some(v) = self.seg[0].back() else { break };
                        self.take_out_of_seg(0, v);
                        self.evicted.push(v);
                    }
                }
            }
            _ => return, // evicted on an earlier hit of this command
        }
        // A main hit: counted in the filter and towards its halving.
        self.cbf.add(Self::id(ks, slot));
        self.requests += 1;
        if self.requests >= self.max_requests {
            self.requests = 0;
            self.cbf.decay();
        }
    }

    #[inline]
    fn on_remove(&mut self, slot: Slot, _: &Keyspace, _: RemovalCause) {
        let w = self.weights.get(slot);
        match std::mem::replace(&mut self.tag[slot as usize], 0) {
            WINDOW => {
                self.links.unlink(&mut self.window, slot);
                self.window_w -= w;
            }
            PROBATION => {
                self.links.unlink(&mut self.seg[0], slot);
                self.seg_w[0] -= w;
            }
            PROTECTED => {
                self.links.unlink(&mut self.seg[1], slot);
                self.seg_w[1] -= w;
            }
            _ => {
                if let Some(i) = self.evicted.iter().position(|&s| s == slot) {
                    self.evicted.swap_remove(i);
                }
            }
        }
    }

    #[inline]
    fn select_victim(&mut self, ks: &Keyspace, _: &mut PolicyCtx<'_>) -> Option<Slot> {
        if let Some(s) = self.evicted.pop() {
            return Some(s);
        }
        loop {
            let Some(cand) = self.window.back() else {
                let v = self.main_victim()?;
                let i = if self.tag[v as usize] == PROBATION {
                    0
                } else {
                    1
                };
                self.take_out_of_seg(i, v);
                return Some(v);
            };
            let cand_id = Self::id(ks, cand);
            if self.main_w() + self.weights.get(cand) <= self.main_cap {
                self.window_to_main(cand);
                self.cbf.add(cand_id);
                continue;
            }
            let victim = match self.main_victim() {
                Some(v) if self.cbf.estimate(cand_id) > self.cbf.estimate(Self::id(ks, v)) => {
                    let i = if self.tag[v as usize] == PROBATION {
                        0
                    } else {
                        1
                    };
                    self.take_out_of_seg(i, v);
                    self.window_to_main(cand);
                    v
                }
                _ => {
                    self.links.unlink(&mut self.window, cand);
                    self.window_w -= self.weights.get(cand);
                    self.tag[cand as usize] = OUT;
                    cand
                }
            };
            self.cbf.add(cand_id);
            return Some(victim);
        }
    }

    #[inline]
    fn take_evicted(&mut self) -> Option<Slot> {
        self.evicted.pop()
    }

    fn evicts_on_access(&self) -> bool {
        true
    }

    fn check_invariants(&self, ks: &Keyspace) -> Result<(), String> {
        let mut n = self.evicted.len();
        for (list, tag, total, name) in [
            (&self.window, WINDOW, self.window_w, "window"),
            (&self.seg[0], PROBATION, self.seg_w[0], "probation"),
            (&self.seg[1], PROTECTED, self.seg_w[1], "protected"),
        ] {
            let mut w = 0;
            for s in self.links.iter(list) {
                if !ks.is_live(s) || self.tag[s as usize] != tag {
                    return Err(format!("W-TinyLFU slot {s} misfiled in {name}"));
                }
                w += self.weights.get(s);
                n += 1;
            }
            if w != total {
                return Err(format!("W-TinyLFU {name} weighs {w}, recorded {total}"));
            }
        }
        for &s in &self.evicted {
            if !ks.is_live(s) || self.tag[s as usize] != OUT {
                return Err(format!("W-TinyLFU evicted slot {s} is not out"));
            }
        }
        if n != ks.len() {
            return Err(format!("W-TinyLFU holds {n} keys, keyspace {}", ks.len()));
        }
        Ok(())
    }
}
