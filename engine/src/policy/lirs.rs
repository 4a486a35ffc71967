//! `lirs`: Low Inter-reference Recency Set — keys whose last two accesses were close
//! together (LIR) are kept; the rest (HIR) get a small share and are evicted first, while
//! recently evicted HIR keys are remembered as non-resident entries that can win LIR status
//! at their next access.
//!
//! Source: Jiang & Zhang, "LIRS: An Efficient Low Inter-reference Recency Set Replacement
//! Policy to Improve Buffer Cache Performance", SIGMETRICS 2002, §3 (stack S, queue Q, stack
//! pruning, the three access cases of §3.3 and Fig. 2). Two readings, chosen by
//! `lab-policy-param variant`:
//!
//! * `libcachesim` (default): libCacheSim 0.3.5 `LIRS.c`, reproduced miss for miss on the
//!   reference traces — see [`super::lirs_lcs`] (HIR share `max(1, ⌊1 % × c⌋)`, a hit on a
//!   resident HIR key that is only in Q demotes S's bottom LIR key when the LIR set is full,
//!   S bounded at `2c` entries of any kind). No parameters.
//! * `paper`: the paper's, with Caffeine's simulator `policy/irr/LirsPolicy.java` for the
//!   bounded non-resident queue; this file (below). Parameters `percent-hot`,
//!   `non-resident-multiplier`.
//!
//! A parameter of the other variant is an error.
//!
//! # The `paper` variant
//!
//! * **S** (a recency stack) holds LIR keys, resident HIR keys and non-resident HIR entries
//!   (hashes only); its bottom is always an LIR key (*pruning* pops HIR entries off the bottom,
//!   forgetting non-resident ones). **Q** holds the resident HIR keys in FIFO order.
//! * hit on an LIR key → top of S (prune if it was the bottom);
//! * hit on a resident HIR key → top of S; if it was in S it becomes LIR (leaves Q) and the
//!   bottom LIR key is demoted to the top of Q as HIR, then S is pruned; if not, it stays HIR
//!   and moves to the top of Q;
//! * eviction takes Q's bottom; if it is in S it stays there as a non-resident entry;
//! * a new key: while the LIR set is not full it becomes LIR; a key found as a non-resident
//!   entry in S becomes LIR (demoting the bottom LIR key); any other new key is a resident HIR
//!   key at the top of S and of Q.
//!
//! Parameters (Caffeine's names and defaults): `percent-hot` (0.99: the LIR set's share of the
//! capacity, the paper's `Llirs`; `Lhirs` is the remaining 1 %) and `non-resident-multiplier`
//! (2.0: at most 2 × the capacity of non-resident entries, the oldest forgotten first; the
//! paper leaves S unbounded, its authors' simulator bounds it similarly). Capacity
//! ([`super::sizing`]): keys, or bytes in byte mode (the LIR share, Q and the non-resident
//! bound are sums of charges; a non-resident entry keeps the charge it had).
//!
//! Deviations: in warm-up a new HIR key is pushed on S as well as Q (the paper's case for
//! any HIR key; Caffeine puts warm-up HIR keys on Q only). A resident HIR key hit at the very
//! top of S becomes LIR as the paper says (Caffeine's simulator keeps it HIR). If Q is empty
//! the victim is S's bottom LIR key (deletions can empty Q). Keys removed by DEL or expiry
//! leave S entirely (only evictions leave non-resident entries). A non-resident entry is keyed
//! by the 64-bit key hash.
//!
//! Metadata: 40 bytes per entry (hash, weight, slot, status, two link pairs) for resident
//! keys and for up to 2 × capacity non-resident entries, + 4 bytes per slot and a hash index
//! of the non-resident entries. Suits workloads with weak locality where LRU fails: loops a
//! little larger than the cache, scans mixed with a hot set (the LIRS traces); weaker when
//! popularity shifts fast (a new hot set needs second accesses within the LIR recency to win
//! LIR status, while the 1 % HIR share thrashes).

use hashbrown::HashTable;

use super::params::{ParamSpec, Range};
use super::registry::PolicyInfo;
use super::lirs_lcs::LcsLirs;
use super::sizing::{Capacity, Unit, Weights, grow};
use super::{InsertKind, Policy, PolicyCtx, RemovalCause};
use crate::keyspace::{Keyspace, Slot};

pub(super) const NIL: u32 = u32::MAX;

pub(super) const LIR: u8 = 1;
pub(super) const HIR_RESIDENT: u8 = 2;
pub(super) const HIR_NONRESIDENT: u8 = 3;

/// Which link pair: S, or the queue the entry is in (Q if resident HIR, NR if non-resident).
pub(super) const S: usize = 0;
pub(super) const QUEUE: usize = 1;

/// An entry of S and/or a queue (shared with [`super::lirs_lcs`]).
#[derive(Clone, Copy, Debug)]
pub(super) struct Node {
    pub(super) hash: u64,
    pub(super) weight: u64,
    pub(super) slot: Slot,
    pub(super) status: u8,
    pub(super) in_s: bool,
    pub(super) in_queue: bool,
    /// `[list][0]` towards the top (newer), `[list][1]` towards the bottom (older).
    pub(super) link: [[u32; 2]; 2],
}

/// A list head over node indices: `top` is the newest end.
#[derive(Clone, Copy, Debug)]
pub(super) struct Head {
    pub(super) top: u32,
    pub(super) bottom: u32,
    pub(super) len: usize,
}

impl Default for Head {
    fn default() -> Head {
        Head {
            top: NIL,
            bottom: NIL,
            len: 0,
        }
    }
}

pub(super) fn push_top(nodes: &mut [Node], head: &mut Head, k: usize, i: u32) {
    nodes[i as usize].link[k] = [NIL, head.top];
    if head.top != NIL {
        nodes[head.top as usize].link[k][0] = i;
    } else {
        head.bottom = i;
    }
    head.top = i;
    head.len += 1;
}

pub(super) fn unlink(nodes: &mut [Node], head: &mut Head, k: usize, i: u32) {
    let [up, down] = nodes[i as usize].link[k];
    if up != NIL {
        nodes[up as usize].link[k][1] = down;
    } else {
        head.top = down;
    }
    if down != NIL {
        nodes[down as usize].link[k][0] = up;
    } else {
        head.bottom = up;
    }
    head.len -= 1;
}

/// The node arena and the lists both readings keep: S, Q (resident HIR keys) and the
/// non-resident queue `nr` (libCacheSim's NH). A node is in S and/or in the one queue its
/// status names.
#[derive(Debug, Default)]
pub(super) struct Arena {
    pub(super) nodes: Vec<Node>,
    free: Vec<u32>,
    pub(super) s: Head,
    pub(super) q: Head,
    pub(super) nr: Head,
}

impl Arena {
    /// A new node in no list.
    pub(super) fn alloc(&mut self, hash: u64, slot: Slot, weight: u64, status: u8) -> u32 {
        let node = Node {
            hash,
            weight,
            slot,
            status,
            in_s: false,
            in_queue: false,
            link: [[NIL; 2]; 2],
        };
        match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    /// Returns node `i` (already out of every list) to the free list.
    pub(super) fn release(&mut self, i: u32) {
        self.free.push(i);
    }

    /// Moves `i` to S's top; true if it was not in S.
    pub(super) fn s_top(&mut self, i: u32) -> bool {
        let added = !self.nodes[i as usize].in_s;
        if !added {
            if self.s.top == i {
                return false;
            }
            unlink(&mut self.nodes, &mut self.s, S, i);
        }
        push_top(&mut self.nodes, &mut self.s, S, i);
        self.nodes[i as usize].in_s = true;
        added
    }

    /// Takes `i` out of S; true if it was there.
    pub(super) fn s_remove(&mut self, i: u32) -> bool {
        let was = self.nodes[i as usize].in_s;
        if was {
            unlink(&mut self.nodes, &mut self.s, S, i);
            self.nodes[i as usize].in_s = false;
        }
        was
    }

    /// Puts `i` at the top of Q (resident HIR) or `nr` (non-resident), by its status.
    pub(super) fn queue_top(&mut self, i: u32) {
        let head = if self.nodes[i as usize].status == HIR_NONRESIDENT {
            &mut self.nr
        } else {
            &mut self.q
        };
        if self.nodes[i as usize].in_queue {
            unlink(&mut self.nodes, head, QUEUE, i);
        }
        push_top(&mut self.nodes, head, QUEUE, i);
        self.nodes[i as usize].in_queue = true;
    }

    /// Takes `i` out of its queue (by its status).
    pub(super) fn queue_remove(&mut self, i: u32) {
        if !self.nodes[i as usize].in_queue {
            return;
        }
        let head = if self.nodes[i as usize].status == HIR_NONRESIDENT {
            &mut self.nr
        } else {
            &mut self.q
        };
        unlink(&mut self.nodes, head, QUEUE, i);
        self.nodes[i as usize].in_queue = false;
    }
}

/// Registry entry: `variant` picks the reading; the `paper` variant's parameters are
/// Caffeine's simulator's names and defaults (libCacheSim's LIRS takes none).
pub const REGISTRY: &[PolicyInfo] = &[PolicyInfo::research(
    "lirs",
    "LIRS: LIR stack S + resident-HIR queue Q + non-resident entries (Jiang & Zhang SIGMETRICS'02); libCacheSim's or the paper's",
    &[
        ParamSpec::choice(
            "variant",
            "libcachesim",
            &["libcachesim", "paper"],
            "whose reading: libCacheSim 0.3.5 LIRS.c (default) or the paper's with Caffeine's bounded non-resident queue",
        ),
        ParamSpec::float(
            "percent-hot",
            0.99,
            Range::open_closed(0.0, 1.0),
            "the LIR set's share of the capacity (the paper's Llirs)",
        )
        .only_with("variant", "paper"),
        ParamSpec::float(
            "non-resident-multiplier",
            2.0,
            Range::at_least(0.0),
            "non-resident entries kept, as a multiple of the capacity",
        )
        .only_with("variant", "paper"),
    ],
    |b| {
        let p = &b.params;
        match p.choice("variant") {
            "paper" => Lirs::Paper(PaperLirs::new(
                b.capacity,
                p.float("percent-hot"),
                p.float("non-resident-multiplier"),
            )),
            _ => Lirs::LibCacheSim(LcsLirs::new(b.capacity)),
        }
        .into()
    },
)];

/// LIRS, in the variant the configuration chose.
#[derive(Debug)]
pub enum Lirs {
    /// libCacheSim 0.3.5's (the default).
    LibCacheSim(LcsLirs),
    /// The paper's, with Caffeine's bounded non-resident queue.
    Paper(PaperLirs),
}

policy_variants!(Lirs { LibCacheSim, Paper });

/// LIRS as the paper describes it (`variant paper`).
#[derive(Debug)]
pub struct PaperLirs {
    a: Arena,
    node_of: Vec<u32>,
    nonresident: HashTable<u32>,
    weights: Weights,
    lir_w: u64,
    q_w: u64,
    nr_w: u64,
    max_lir: u64,
    max_nr: u64,
}

impl PaperLirs {
    /// LIRS over `cap` with Caffeine's `percent-hot` and `non-resident-multiplier`.
    pub fn new(cap: Capacity, percent_hot: f64, nonresident_multiplier: f64) -> PaperLirs {
        PaperLirs {
            a: Arena::default(),
            node_of: Vec::new(),
            nonresident: HashTable::new(),
            weights: Weights::new(cap),
            lir_w: 0,
            q_w: 0,
            nr_w: 0,
            // Caffeine: maximumHotSize = (int) (maximumSize * percentHot).
            max_lir: cap.fraction(percent_hot),
            max_nr: cap.fraction(nonresident_multiplier),
        }
    }

    /// Forgets the non-resident entry `i` entirely.
    fn drop_nonresident(&mut self, i: u32) {
        let Node { hash, weight, .. } = self.a.nodes[i as usize];
        self.a.s_remove(i);
        self.a.queue_remove(i);
        self.nr_w -= weight;
        if let Ok(e) = self.nonresident.find_entry(hash, |&j| j == i) {
            e.remove();
        }
        self.a.release(i);
    }

    /// Stack pruning: pop HIR entries off S's bottom until an LIR key is there.
    fn prune(&mut self) {
        while self.a.s.bottom != NIL {
            let b = self.a.s.bottom;
            match self.a.nodes[b as usize].status {
                LIR => break,
                HIR_NONRESIDENT => self.drop_nonresident(b),
                _ => {
                    self.a.s_remove(b);
                }
            }
        }
    }

    /// Forgets the oldest non-resident entries beyond the bound.
    fn bound_nonresident(&mut self) {
        while self.nr_w > self.max_nr && self.a.nr.bottom != NIL {
            self.drop_nonresident(self.a.nr.bottom);
        }
    }

    /// Demotes S's bottom LIR keys to HIR (top of Q) while the LIR set is over its share,
    /// never demoting `keep`.
    fn demote_excess(&mut self, keep: u32) {
        while self.lir_w > self.max_lir {
            self.prune();
            let b = self.a.s.bottom;
            if b == NIL || b == keep {
                break;
            }
            let w = self.a.nodes[b as usize].weight;
            self.a.s_remove(b);
            self.a.nodes[b as usize].status = HIR_RESIDENT;
            self.a.queue_top(b);
            self.lir_w -= w;
            self.q_w += w;
        }
        self.prune();
    }
}

impl Policy for PaperLirs {
    #[inline]
    fn on_insert(&mut self, slot: Slot, ks: &Keyspace, _: &mut PolicyCtx<'_>, _: InsertKind) {
        let hash = ks.entry(slot).hash;
        let w = self.weights.record(ks, slot);
        grow(&mut self.node_of, slot, NIL);
        let nodes = &self.a.nodes;
        let found = self
            .nonresident
            .find_entry(hash, |&j| nodes[j as usize].hash == hash)
            .ok()
            .map(|e| e.remove().0);
        if let Some(i) = found {
            // A non-resident HIR entry still in S: its inter-reference recency is below the
            // LIR keys' recency, so it becomes LIR (paper §3.3, case 3a).
            let old_w = self.a.nodes[i as usize].weight;
            self.a.queue_remove(i);
            self.nr_w -= old_w;
            let n = &mut self.a.nodes[i as usize];
            n.status = LIR;
            n.slot = slot;
            n.weight = w;
            self.a.s_top(i);
            self.lir_w += w;
            self.node_of[slot as usize] = i;
            self.demote_excess(i);
        } else if self.lir_w + w <= self.max_lir {
            // Warm-up: the LIR set is not full.
            let i = self.a.alloc(hash, slot, w, LIR);
            self.a.s_top(i);
            self.lir_w += w;
            self.node_of[slot as usize] = i;
        } else {
            let i = self.a.alloc(hash, slot, w, HIR_RESIDENT);
            self.a.s_top(i);
            self.a.queue_top(i);
            self.q_w += w;
            self.node_of[slot as usize] = i;
        }
    }

    #[inline]
    fn on_access(&mut self, slot: Slot, ks: &Keyspace, _: &mut PolicyCtx<'_>) {
        let i = self.node_of[slot as usize];
        let (old, new) = self.weights.refresh(ks, slot);
        self.a.nodes[i as usize].weight = new;
        match self.a.nodes[i as usize].status {
            LIR => {
                self.lir_w = self.lir_w - old + new;
                let was_bottom = self.a.s.bottom == i;
                self.a.s_top(i);
                if was_bottom {
                    self.prune();
                }
            }
            _ => {
                self.q_w = self.q_w - old + new;
                if self.a.nodes[i as usize].in_s {
                    // Case 2a: its IRR beat the bottom LIR key's recency.
                    self.a.queue_remove(i);
                    self.q_w -= new;
                    self.a.nodes[i as usize].status = LIR;
                    self.lir_w += new;
                    self.a.s_top(i);
                    self.demote_excess(i);
                } else {
                    // Case 2b.
                    self.a.s_top(i);
                    self.a.queue_top(i);
                }
            }
        }
    }

    #[inline]
    fn on_remove(&mut self, slot: Slot, _: &Keyspace, cause: RemovalCause) {
        let i = std::mem::replace(&mut self.node_of[slot as usize], NIL);
        let Node {
            hash,
            weight,
            status,
            in_s,
            ..
        } = self.a.nodes[i as usize];
        if status == LIR {
            self.a.s_remove(i);
            self.lir_w -= weight;
            self.a.release(i);
        } else {
            self.a.queue_remove(i);
            self.q_w -= weight;
            if cause == RemovalCause::Evicted && in_s {
                // Stays in S as a non-resident HIR entry.
                let nodes = &self.a.nodes;
                if let Some(&old) = self
                    .nonresident
                    .find(hash, |&j| nodes[j as usize].hash == hash)
                {
                    // Two keys with one 64-bit hash: keep the newer entry.
                    self.drop_nonresident(old);
                }
                let n = &mut self.a.nodes[i as usize];
                n.status = HIR_NONRESIDENT;
                n.slot = NIL;
                self.a.queue_top(i);
                self.nr_w += weight;
                let nodes = &self.a.nodes;
                self.nonresident
                    .insert_unique(hash, i, |&j| nodes[j as usize].hash);
            } else {
                self.a.s_remove(i);
                self.a.release(i);
            }
        }
        self.prune();
        self.bound_nonresident();
    }

    #[inline]
    fn select_victim(&mut self, _: &Keyspace, _: &mut PolicyCtx<'_>) -> Option<Slot> {
        let i = if self.a.q.bottom != NIL {
            self.a.q.bottom
        } else {
            self.a.s.bottom
        };
        (i != NIL).then(|| self.a.nodes[i as usize].slot)
    }

    fn check_invariants(&self, ks: &Keyspace) -> Result<(), String> {
        let (mut resident, mut lir_w, mut nr_n, mut nr_w) = (0usize, 0u64, 0usize, 0u64);
        let mut cur = self.a.s.top;
        let mut in_s = 0;
        while cur != NIL {
            let n = &self.a.nodes[cur as usize];
            if !n.in_s {
                return Err(format!("LIRS node {cur} linked in S but not flagged"));
            }
            match n.status {
                LIR => lir_w += n.weight,
                HIR_NONRESIDENT => {
                    nr_n += 1;
                    nr_w += n.weight;
                    if !n.in_queue {
                        return Err(format!("LIRS non-resident {cur} not in its queue"));
                    }
                }
                _ => {}
            }
            if n.status != HIR_NONRESIDENT {
                resident += 1;
                if !ks.is_live(n.slot) || self.node_of[n.slot as usize] != cur {
                    return Err(format!("LIRS node {cur} points at slot {} wrongly", n.slot));
                }
            }
            in_s += 1;
            cur = n.link[S][1];
        }
        if in_s != self.a.s.len {
            return Err(format!("LIRS S has {in_s} nodes, recorded {}", self.a.s.len));
        }
        if self.a.s.bottom != NIL && self.a.nodes[self.a.s.bottom as usize].status != LIR {
            return Err("LIRS: S's bottom is not an LIR key".into());
        }
        let (mut q_w, mut q_n) = (0u64, 0usize);
        let mut cur = self.a.q.top;
        while cur != NIL {
            let n = &self.a.nodes[cur as usize];
            if n.status != HIR_RESIDENT || !n.in_queue {
                return Err(format!("LIRS Q holds node {cur} of status {}", n.status));
            }
            if !n.in_s {
                resident += 1; // counted here when not in S
            }
            q_w += n.weight;
            q_n += 1;
            cur = n.link[QUEUE][1];
        }
        if resident != ks.len() {
            return Err(format!(
                "LIRS holds {resident} resident keys, keyspace {}",
                ks.len()
            ));
        }
        if q_n != self.a.q.len || q_w != self.q_w || lir_w != self.lir_w {
            return Err(format!(
                "LIRS weights: Q {q_w}/{} ({q_n}/{}), LIR {lir_w}/{}",
                self.q_w, self.a.q.len, self.lir_w
            ));
        }
        if nr_n != self.a.nr.len || nr_n != self.nonresident.len() || nr_w != self.nr_w {
            return Err(format!(
                "LIRS non-resident: {nr_n} in S, {} queued, {} indexed; weight {nr_w}/{}",
                self.a.nr.len,
                self.nonresident.len(),
                self.nr_w
            ));
        }
        if self.weights.capacity().unit == Unit::Keys
            && (self.lir_w > self.max_lir.max(1) || self.nr_w > self.max_nr)
        {
            return Err(format!(
                "LIRS over its shares: LIR {} > {} or non-resident {} > {}",
                self.lir_w, self.max_lir, self.nr_w, self.max_nr
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;

    #[test]
    fn an_entry_costs_what_the_header_says() {
        assert_eq!(std::mem::size_of::<super::Node>(), 40);
    }

    #[test]
    fn irr_decides_lir_status() {
        // 3 keys: LIR share ⌊3 × 0.99⌋ = 2, HIR 1. S listed top first; `n` = non-resident.
        let mut e = engine_with("lirs", 3, &[("lab-policy-param", "variant paper")]);
        set(&mut e, 1);
        set(&mut e, 2); // LIR: 1 2 (warm-up). S: 2 1
        set(&mut e, 3); // LIR set full: 3 is resident HIR. S: 3 2 1; Q: 3
        set(&mut e, 4); // evict Q's bottom 3 (stays in S as non-resident). S: 4 3n 2 1; Q: 4
        assert_eq!(keys(&e), [1, 2, 4]);
        assert!(!hit(&mut e, 3));
        set(&mut e, 3); // evict 4 (→ 4n); 3 is found in S → LIR; the bottom LIR 1 is demoted
        assert_eq!(keys(&e), [1, 2, 3]); // S: 3 4n 2; Q: 1
        assert!(hit(&mut e, 1)); // HIR not in S: stays HIR. S: 1 3 4n 2; Q: 1
        set(&mut e, 5); // evict 1 (→ 1n). S: 5 1n 3 4n 2; Q: 5
        assert_eq!(keys(&e), [2, 3, 5]);
        assert!(hit(&mut e, 2)); // LIR at the bottom → top, prune 4n. S: 2 5 1n 3
        assert!(hit(&mut e, 5)); // HIR in S → LIR; demote 3, prune 1n. S: 5 2; Q: 3
        set(&mut e, 6); // evict 3, not in S: forgotten. S: 6 5 2; Q: 6
        assert_eq!(keys(&e), [2, 5, 6]);
        assert!(!hit(&mut e, 3));
        set(&mut e, 3); // evict 6 (→ 6n); 3 is unknown: resident HIR. S: 3 6n 5 2; Q: 3
        assert_eq!(keys(&e), [2, 3, 5]);
        e.check_invariants().unwrap();
    }
}
