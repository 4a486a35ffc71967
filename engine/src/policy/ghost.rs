//! A bounded FIFO of *ghost* entries: the 64-bit hashes of keys recently evicted, with the
//! weight each had, and no value.
//!
//! Used for S3-FIFO's ghost queue G, 2Q's `A1out`, and ARC's `B1`/`B2` (which are LRU lists,
//! but a ghost is never "touched" without being removed, so insertion order is LRU order).
//! Keyed by [`crate::Key::hash64`] exactly as libCacheSim keys ghosts by object id and the
//! S3-FIFO paper stores "the object ID (or a hash of the object ID)": two keys with equal
//! 64-bit hashes share a ghost (for integer ids the hash is a bijection, so never).
//!
//! Layout: a slab of nodes linked newest → oldest, a free list, and a `hashbrown`
//! `HashTable<u32>` from hash to node. Insert, remove, lookup and popping the oldest are
//! O(1); once the slab and table reached their peak size nothing allocates.

use hashbrown::HashTable;

const NIL: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Node {
    hash: u64,
    weight: u64,
    /// Towards the newest.
    newer: u32,
    /// Towards the oldest.
    older: u32,
}

/// A FIFO of ghost hashes bounded by total weight.
#[derive(Clone)]
pub struct Ghost {
    nodes: Vec<Node>,
    free: Vec<u32>,
    index: HashTable<u32>,
    newest: u32,
    oldest: u32,
    len: usize,
    weight: u64,
    capacity: u64,
}

impl std::fmt::Debug for Ghost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ghost")
            .field("len", &self.len)
            .field("weight", &self.weight)
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// At most this many entries are reserved up front (more grow on demand).
const PRESIZE_MAX: u64 = 1 << 16;

impl Ghost {
    /// An empty ghost FIFO holding at most `capacity` weight (`u64::MAX`: unbounded, trimmed
    /// by the caller with [`Ghost::pop_oldest`]).
    pub fn new(capacity: u64) -> Ghost {
        let pre = capacity.min(PRESIZE_MAX) as usize;
        Ghost {
            nodes: Vec::with_capacity(pre),
            free: Vec::new(),
            index: HashTable::with_capacity(pre),
            newest: NIL,
            oldest: NIL,
            len: 0,
            weight: 0,
            capacity,
        }
    }

    /// Number of ghosts.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sum of the ghosts' weights.
    #[inline]
    pub fn weight(&self) -> u64 {
        self.weight
    }

    /// The weight bound.
    #[inline]
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    #[inline]
    fn find(&self, hash: u64) -> Option<u32> {
        let nodes = &self.nodes;
        self.index
            .find(hash, |&i| nodes[i as usize].hash == hash)
            .copied()
    }

    /// True if `hash` is a ghost.
    #[inline]
    pub fn contains(&self, hash: u64) -> bool {
        self.find(hash).is_some()
    }

    /// The weight of the ghost `hash`, if present.
    #[inline]
    pub fn weight_of(&self, hash: u64) -> Option<u64> {
        self.find(hash).map(|i| self.nodes[i as usize].weight)
    }

    /// Adds `hash` as the newest ghost (re-adding an existing one moves it to the newest end
    /// with the new weight), then drops the oldest while over capacity.
    #[inline]
    pub fn insert(&mut self, hash: u64, weight: u64) {
        self.remove(hash);
        let node = Node {
            hash,
            weight,
            newer: NIL,
            older: self.newest,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        if self.newest != NIL {
            self.nodes[self.newest as usize].newer = i;
        } else {
            self.oldest = i;
        }
        self.newest = i;
        let nodes = &self.nodes;
        self.index
            .insert_unique(hash, i, |&j| nodes[j as usize].hash);
        self.len += 1;
        self.weight += weight;
        while self.weight > self.capacity {
            self.pop_oldest();
        }
    }

    fn unlink(&mut self, i: u32) {
        let Node { newer, older, .. } = self.nodes[i as usize];
        if newer != NIL {
            self.nodes[newer as usize].older = older;
        } else {
            self.newest = older;
        }
        if older != NIL {
            self.nodes[older as usize].newer = newer;
        } else {
            self.oldest = newer;
        }
        self.len -= 1;
        self.weight -= self.nodes[i as usize].weight;
        self.free.push(i);
    }

    /// Removes the ghost `hash`; returns its weight if it was there.
    #[inline]
    pub fn remove(&mut self, hash: u64) -> Option<u64> {
        let nodes = &self.nodes;
        let entry = self
            .index
            .find_entry(hash, |&i| nodes[i as usize].hash == hash)
            .ok()?;
        let (i, _) = entry.remove();
        let w = self.nodes[i as usize].weight;
        self.unlink(i);
        Some(w)
    }

    /// Removes and returns the oldest ghost `(hash, weight)`.
    #[inline]
    pub fn pop_oldest(&mut self) -> Option<(u64, u64)> {
        if self.oldest == NIL {
            return None;
        }
        let i = self.oldest;
        let Node { hash, weight, .. } = self.nodes[i as usize];
        match self.index.find_entry(hash, |&j| j == i) {
            Ok(e) => {
                e.remove();
            }
            Err(_) => unreachable!("ghost node {i} missing from its index"),
        }
        self.unlink(i);
        Some((hash, weight))
    }

    /// The ghost hashes, newest first.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let mut cur = self.newest;
        std::iter::from_fn(move || {
            if cur == NIL {
                return None;
            }
            let n = self.nodes[cur as usize];
            cur = n.older;
            Some((n.hash, n.weight))
        })
    }

    /// Checks the list, the index and the totals against each other.
    pub fn check(&self) -> Result<(), String> {
        let (mut n, mut w) = (0usize, 0u64);
        for (h, weight) in self.iter() {
            n += 1;
            w += weight;
            if !self.contains(h) {
                return Err(format!("ghost {h:#x} not in its index"));
            }
            if n > self.nodes.len() {
                return Err("ghost list has a cycle".into());
            }
        }
        if n != self.len || n != self.index.len() || w != self.weight {
            return Err(format!(
                "ghost list {n} entries / {w} weight, recorded {} / {}, index {}",
                self.len,
                self.weight,
                self.index.len()
            ));
        }
        if self.weight > self.capacity {
            return Err(format!(
                "ghost weight {} over capacity {}",
                self.weight, self.capacity
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_order_bound_and_removal() {
        let mut g = Ghost::new(3);
        g.insert(10, 1);
        g.insert(20, 1);
        g.insert(30, 1);
        assert_eq!(g.iter().map(|x| x.0).collect::<Vec<_>>(), [30, 20, 10]);
        g.insert(40, 1); // over capacity: 10 (oldest) drops
        assert!(!g.contains(10));
        assert_eq!(g.remove(20), Some(1));
        assert_eq!(g.remove(20), None);
        g.insert(30, 1); // re-insert moves to the newest end
        assert_eq!(g.iter().map(|x| x.0).collect::<Vec<_>>(), [30, 40]);
        assert_eq!(g.pop_oldest(), Some((40, 1)));
        g.check().unwrap();
        assert_eq!(g.len(), 1);
    }

    #[test]
    fn weights_bound_the_total() {
        let mut g = Ghost::new(100);
        g.insert(1, 60);
        g.insert(2, 30);
        assert_eq!(g.weight(), 90);
        g.insert(3, 20); // 110 > 100: the oldest (1, 60) drops
        assert_eq!(g.iter().map(|x| x.0).collect::<Vec<_>>(), [3, 2]);
        assert_eq!(g.weight(), 50);
        g.insert(4, 500); // heavier than the whole capacity: everything drops, itself too
        assert!(g.is_empty());
        assert_eq!(g.weight(), 0);
        g.check().unwrap();
    }

    #[test]
    fn slots_are_reused_without_growth() {
        let mut g = Ghost::new(8);
        for h in 0..10_000u64 {
            g.insert(h.wrapping_mul(0x9e37_79b9_7f4a_7c15), 1);
        }
        assert_eq!(g.len(), 8);
        assert!(g.nodes.len() <= 9, "slab grew to {}", g.nodes.len());
        g.check().unwrap();
    }
}
