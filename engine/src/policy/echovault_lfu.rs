//! `echovault-allkeys-lfu` / `echovault-volatile-lfu`: EchoVault's exact LFU heap.
//!
//! Source: `../shared/reference/echovault.md` ("As implemented"), from EchoVault (SugarDB)
//! `internal/eviction/lfu.go` and `sugardb/keyspace.go` (`updateKeysInCache`,
//! `adjustMemoryUsage`, `deleteKey`) at commit b0744d9. EchoVault keeps, per database, a
//! binary heap (Go `container/heap`) of `{key, count, addedTime}`:
//!
//! * a key enters with count 1 the first time it is tracked; every later access or write adds
//!   1 — a plain count: no logarithmic (Morris) counter, no decay, unlike Redis's LFU;
//! * the heap pops the smallest count; among equal counts the entry with the *larger*
//!   `addedTime` — the most recently added key — pops first;
//! * `allkeys-lfu` tracks every accessed or written key; `volatile-lfu` only a key that has an
//!   expiry when it is accessed or written;
//! * a deleted (or expired, or evicted) key leaves the heap (`deleteKey` calls `Delete`).
//!
//! The engine runs the loop (EchoVault's eviction check after each write is
//! `lab-enforcement echovault`, see `docs/echovault.md`); this file only keeps the heap.
//!
//! Deviations (each a choice where EchoVault's behaviour is not defined by its ordering):
//! * `addedTime` is an insertion sequence number, not a wall-clock millisecond: EchoVault
//!   breaks ties among keys added in the same millisecond by heap position; here the later
//!   insertion always pops first (the documented rule, applied strictly).
//! * `volatile-lfu`: a tracked key that loses its TTL (PERSIST, SET without EX) leaves the
//!   heap at its next access, or when it reaches the top (it is then dropped, not evicted);
//!   EchoVault would keep it in the heap and could evict it. A key that gains a TTL (EXPIRE)
//!   enters the heap at its next access; EchoVault's `setExpiry` tracks it at once.
//!   Both follow the documented rule "the volatile ones evict only keys with an expiry".
//!
//! Metadata: 24 bytes per tracked key (count, sequence, slot) + 4 bytes per slot (position).

use super::registry::PolicyInfo;
use super::{InsertKind, Policy, PolicyCtx, RemovalCause};
use crate::keyspace::{Keyspace, Scope, Slot};

/// Registry entries: EchoVault's two LFU policies, one type.
pub const REGISTRY: &[PolicyInfo] = &[
    PolicyInfo::echovault(
        "echovault-allkeys-lfu",
        "EchoVault's LFU: exact heap, plain access count, ties to the newest key",
        false,
        |_| EchovaultLfu::new(Scope::AllKeys).into(),
    ),
    PolicyInfo::echovault(
        "echovault-volatile-lfu",
        "EchoVault's LFU over keys with a TTL (exact heap, plain count)",
        true,
        |_| EchovaultLfu::new(Scope::Volatile).into(),
    ),
];

/// "Not in the heap".
const NONE: u32 = u32::MAX;

/// Whether EchoVault tracks the key in `slot` under `scope` (`updateKeysInCache`: every key
/// for allkeys-*, only a key with an expiry for volatile-*).
#[inline]
pub(super) fn in_scope(scope: Scope, ks: &Keyspace, slot: Slot) -> bool {
    scope == Scope::AllKeys || ks.entry(slot).has_expire()
}

#[derive(Clone, Copy, Debug)]
struct Node {
    count: u64,
    /// Insertion order into the heap (EchoVault's `addedTime`).
    seq: u64,
    slot: Slot,
}

impl Node {
    /// Pops before `other`: smaller count, or equal count and added later.
    #[inline]
    fn before(&self, other: &Node) -> bool {
        self.count < other.count || (self.count == other.count && self.seq > other.seq)
    }
}

/// EchoVault's LFU heap over one scope.
#[derive(Debug)]
pub struct EchovaultLfu {
    scope: Scope,
    heap: Vec<Node>,
    /// Heap index of each slot, or [`NONE`].
    pos: Vec<u32>,
    next_seq: u64,
}

impl EchovaultLfu {
    /// An empty heap tracking `scope`.
    pub fn new(scope: Scope) -> EchovaultLfu {
        EchovaultLfu {
            scope,
            heap: Vec::new(),
            pos: Vec::new(),
            next_seq: 0,
        }
    }

    /// The access count of the key in `slot`, if tracked (for tests and reports).
    pub fn count(&self, slot: Slot) -> Option<u64> {
        match self.pos.get(slot as usize) {
            Some(&p) if p != NONE => Some(self.heap[p as usize].count),
            _ => None,
        }
    }

    #[inline]
    fn pos_of(&self, slot: Slot) -> u32 {
        self.pos.get(slot as usize).copied().unwrap_or(NONE)
    }

    #[inline]
    fn place(&mut self, i: usize, node: Node) {
        self.pos[node.slot as usize] = i as u32;
        self.heap[i] = node;
    }

    fn sift_up(&mut self, mut i: usize) {
        let node = self.heap[i];
        while i > 0 {
            let parent = (i - 1) / 2;
            if !node.before(&self.heap[parent]) {
                break;
            }
            let p = self.heap[parent];
            self.place(i, p);
            i = parent;
        }
        self.place(i, node);
    }

    fn sift_down(&mut self, mut i: usize) {
        let node = self.heap[i];
        let n = self.heap.len();
        loop {
            let l = 2 * i + 1;
            if l >= n {
                break;
            }
            let r = l + 1;
            let c = if r < n && self.heap[r].before(&self.heap[l]) {
                r
            } else {
                l
            };
            if !self.heap[c].before(&node) {
                break;
            }
            let child = self.heap[c];
            self.place(i, child);
            i = c;
        }
        self.place(i, node);
    }

    /// `heap.Push`: a new entry with count 1, added now.
    fn push(&mut self, slot: Slot) {
        let s = slot as usize;
        if s >= self.pos.len() {
            self.pos.resize((s + 1).next_power_of_two().max(64), NONE);
        }
        let node = Node {
            count: 1,
            seq: self.next_seq,
            slot,
        };
        self.next_seq += 1;
        self.heap.push(node);
        let i = self.heap.len() - 1;
        self.sift_up(i);
    }

    /// `heap.Remove` of a tracked slot.
    fn remove(&mut self, slot: Slot) {
        let i = self.pos[slot as usize] as usize;
        self.pos[slot as usize] = NONE;
        let last = self.heap.pop().expect("tracked slot in an empty heap");
        if i < self.heap.len() {
            self.place(i, last);
            self.sift_up(i);
            let j = self.pos[last.slot as usize] as usize;
            self.sift_down(j);
        }
    }

    /// `Update`: push an untracked key, add 1 to a tracked one.
    fn update(&mut self, slot: Slot, ks: &Keyspace) {
        let p = self.pos_of(slot);
        let wanted = in_scope(self.scope, ks, slot);
        match (p != NONE, wanted) {
            (false, true) => self.push(slot),
            (true, true) => {
                self.heap[p as usize].count += 1;
                self.sift_down(p as usize);
            }
            (true, false) => self.remove(slot),
            (false, false) => {}
        }
    }
}

impl Policy for EchovaultLfu {
    fn on_insert(&mut self, slot: Slot, ks: &Keyspace, _: &mut PolicyCtx<'_>, _: InsertKind) {
        self.update(slot, ks);
    }
    fn on_access(&mut self, slot: Slot, ks: &Keyspace, _: &mut PolicyCtx<'_>) {
        self.update(slot, ks);
    }
    fn on_remove(&mut self, slot: Slot, _: &Keyspace, _: RemovalCause) {
        if self.pos_of(slot) != NONE {
            self.remove(slot);
        }
    }
    fn select_victim(&mut self, ks: &Keyspace, _: &mut PolicyCtx<'_>) -> Option<Slot> {
        loop {
            let top = self.heap.first()?.slot;
            if in_scope(self.scope, ks, top) {
                return Some(top);
            }
            // A volatile key that lost its TTL since it was tracked: not a candidate.
            self.remove(top);
        }
    }
    fn check_invariants(&self, ks: &Keyspace) -> Result<(), String> {
        for (i, n) in self.heap.iter().enumerate() {
            if !ks.is_live(n.slot) {
                return Err(format!("LFU heap holds dead slot {}", n.slot));
            }
            if self.pos_of(n.slot) != i as u32 {
                return Err(format!("LFU heap position of slot {} is stale", n.slot));
            }
            if i > 0 && n.before(&self.heap[(i - 1) / 2]) {
                return Err(format!("LFU heap order broken at {i}"));
            }
        }
        if self.scope == Scope::AllKeys && self.heap.len() != ks.len() {
            return Err(format!(
                "LFU heap has {} keys, keyspace {}",
                self.heap.len(),
                ks.len()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::*;

    #[test]
    fn evicts_the_lowest_count_and_ties_go_to_the_most_recently_added() {
        let mut e = engine("echovault-allkeys-lfu", 3);
        set(&mut e, 1); // counts: 1:1
        set(&mut e, 2); // 2:1
        set(&mut e, 3); // 3:1
        assert!(hit(&mut e, 1)); // 1:2
        // All of 2 and 3 have count 1: the most recently added (3) goes, not the oldest.
        set(&mut e, 4);
        assert_eq!(keys(&e), [1, 2, 4]);
        assert!(hit(&mut e, 2)); // 2:2
        assert!(hit(&mut e, 2)); // 2:3
        // Candidates: 1 (count 2), 4 (count 1): 4 goes.
        set(&mut e, 5);
        assert_eq!(keys(&e), [1, 2, 5]);
        // An overwrite is an access: 5 becomes 2, tying with 1; 5 was added later, so 5 goes.
        set(&mut e, 5);
        set(&mut e, 6);
        assert_eq!(keys(&e), [1, 2, 6]);
    }

    #[test]
    fn counts_never_decay() {
        // Under Redis's LFU (`lfu-decay-time 1`) an hour idle would take 1's counter down
        // to 0 and 1 would go; EchoVault's plain count keeps its lead forever.
        let mut e = engine("echovault-allkeys-lfu", 2);
        set(&mut e, 1);
        for _ in 0..4 {
            assert!(hit(&mut e, 1)); // 1:5
        }
        tick(&mut e, 3_600_000); // an hour idle
        set(&mut e, 2);
        for _ in 0..3 {
            assert!(hit(&mut e, 2)); // 2:4
        }
        tick(&mut e, 3_600_000);
        set(&mut e, 3); // 2 (count 4) goes, not the idle 1 (count 5)
        assert_eq!(keys(&e), [1, 3]);
    }

    #[test]
    fn volatile_lfu_only_considers_keys_with_a_ttl() {
        let mut e = engine("echovault-volatile-lfu", 3);
        set(&mut e, 1); // no TTL: never tracked
        set_ex(&mut e, 2, 60_000); // 2:1
        set_ex(&mut e, 3, 60_000); // 3:1
        assert!(hit(&mut e, 3)); // 3:2
        assert!(hit(&mut e, 1));
        set_ex(&mut e, 4, 60_000); // evicts 2 (count 1); 1 is not a candidate
        assert_eq!(keys(&e), [1, 3, 4]);
        set(&mut e, 5); // evicts 4 (count 1)
        assert_eq!(keys(&e), [1, 3, 5]);
        set(&mut e, 6); // evicts 3, the last key with a TTL
        assert_eq!(keys(&e), [1, 5, 6]);
        assert!(!try_set(&mut e, 7), "no key with a TTL left: refused");
    }
}
