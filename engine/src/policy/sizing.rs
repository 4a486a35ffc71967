//! How research policies that size internal queues learn the cache capacity and weigh keys.
//!
//! The engine decides *when* to evict (its `over_limit`, whatever the memory mode); a policy
//! only chooses. But S3-FIFO's small queue, ARC's target `p`, 2Q's `Kin`/`Kout`,
//! W-TinyLFU's window and protected segment and LIRS's LIR set are fractions of the
//! capacity, so those policies derive it from the [`Config`] once, when built:
//!
//! | memory mode | capacity | a key weighs |
//! |---|---|---|
//! | `keys` | `maxmemory` (and/or `lab-maxkeys`, the smaller non-zero one) keys | 1 |
//! | `logical`, `allocator`, `redis` with `maxmemory` set | `maxmemory` bytes | its logical `charge` |
//! | `logical`, `allocator`, `redis` with only `lab-maxkeys` | `lab-maxkeys` keys | 1 |
//! | no limit | unbounded (queues never fill; nothing is evicted anyway) | 1 |
//!
//! Byte mode follows libCacheSim, whose queues are byte-sized caches (`cache_size` in bytes,
//! each object counting `obj_size`): a queue is "full" when the sum of its keys' charges
//! reaches its share of `maxmemory`. In `allocator` and `redis` modes the charges are logical
//! bytes, an approximation of the allocator or modelled Redis bytes `maxmemory` is compared
//! with there (the queues then hold proportionally more keys than the limit does).
//!
//! A policy remembers the weight it added for each slot ([`Weights`]) so that its queue sums
//! stay exact when an overwrite changes a key's charge (the engine calls `on_access` *before*
//! it stores the new value); the new charge is picked up at the key's next access.

use crate::config::{Config, MemoryMode};
use crate::keyspace::{Keyspace, Slot};
use crate::policy::PolicyCtx;

/// The unit a policy's queues are measured in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Every key weighs 1.
    Keys,
    /// A key weighs its logical charge in bytes.
    Bytes,
}

/// The capacity a policy sizes its queues against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capacity {
    /// Keys or bytes.
    pub unit: Unit,
    /// The capacity in that unit (`u64::MAX` when there is no limit).
    pub total: u64,
}

impl Capacity {
    /// The capacity the engine enforces for `config` (see the module table).
    pub fn from_config(config: &Config) -> Capacity {
        let min_nonzero = |a: u64, b: u64| match (a, b) {
            (0, 0) => u64::MAX,
            (0, x) | (x, 0) => x,
            (x, y) => x.min(y),
        };
        match config.memory_mode {
            MemoryMode::Keys => Capacity {
                unit: Unit::Keys,
                total: min_nonzero(config.maxmemory, config.maxkeys),
            },
            MemoryMode::Logical
            | MemoryMode::Allocator
            | MemoryMode::Redis
            | MemoryMode::Echovault => {
                if config.maxmemory != 0 {
                    Capacity {
                        unit: Unit::Bytes,
                        total: config.maxmemory,
                    }
                } else {
                    Capacity {
                        unit: Unit::Keys,
                        total: min_nonzero(0, config.maxkeys),
                    }
                }
            }
        }
    }

    /// `ratio` of the capacity, rounded down (libCacheSim: `(int64_t)(cache_size * ratio)`).
    pub fn fraction(&self, ratio: f64) -> u64 {
        if self.total == u64::MAX {
            u64::MAX
        } else {
            (self.total as f64 * ratio) as u64
        }
    }

    /// What the key in `slot` weighs now.
    #[inline]
    pub fn weight_of(&self, ks: &Keyspace, slot: Slot) -> u64 {
        match self.unit {
            Unit::Keys => 1,
            Unit::Bytes => ks.charge(slot),
        }
    }

    /// What the key the engine is making room for will weigh (0 when it is not making room
    /// for a new key: under Redis enforcement, or for an overwrite).
    #[inline]
    pub fn incoming(&self, ctx: &PolicyCtx<'_>) -> u64 {
        match self.unit {
            Unit::Keys => u64::from(ctx.incoming_charge > 0),
            Unit::Bytes => ctx.incoming_charge,
        }
    }
}

/// Grows a per-slot side table so that `slot` is a valid index (to the next power of two, at
/// least 64 entries, like [`super::list::SlotLinks`]): amortised O(1), no allocation once the
/// keyspace's slot numbers stop growing.
#[inline]
pub fn grow<T: Clone>(table: &mut Vec<T>, slot: Slot, fill: T) {
    let s = slot as usize;
    if s >= table.len() {
        table.resize((s + 1).next_power_of_two().max(64), fill);
    }
}

/// The weight a policy recorded for each slot, so removals subtract what was added.
#[derive(Clone, Debug)]
pub struct Weights {
    cap: Capacity,
    w: Vec<u64>,
}

impl Weights {
    /// Weights measured in `cap`'s unit.
    pub fn new(cap: Capacity) -> Weights {
        Weights { cap, w: Vec::new() }
    }

    /// The capacity these weights are measured against.
    #[inline]
    pub fn capacity(&self) -> Capacity {
        self.cap
    }

    /// Records and returns the current weight of `slot` (on insert).
    #[inline]
    pub fn record(&mut self, ks: &Keyspace, slot: Slot) -> u64 {
        let w = self.cap.weight_of(ks, slot);
        if self.cap.unit == Unit::Bytes {
            grow(&mut self.w, slot, 0);
            self.w[slot as usize] = w;
        }
        w
    }

    /// The weight recorded for `slot`.
    #[inline]
    pub fn get(&self, slot: Slot) -> u64 {
        match self.cap.unit {
            Unit::Keys => 1,
            Unit::Bytes => self.w[slot as usize],
        }
    }

    /// Re-reads the weight of `slot` (on access) and returns `(old, new)`.
    #[inline]
    pub fn refresh(&mut self, ks: &Keyspace, slot: Slot) -> (u64, u64) {
        match self.cap.unit {
            Unit::Keys => (1, 1),
            Unit::Bytes => {
                let new = ks.charge(slot);
                let old = std::mem::replace(&mut self.w[slot as usize], new);
                (old, new)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(lines: &str) -> Config {
        Config::parse_str(lines).unwrap()
    }

    #[test]
    fn capacity_follows_the_memory_mode() {
        let c = Capacity::from_config(&cfg("lab-memory-mode keys\nmaxmemory 100"));
        assert_eq!((c.unit, c.total), (Unit::Keys, 100));
        let c = Capacity::from_config(&cfg("lab-memory-mode keys\nmaxmemory 100\nlab-maxkeys 40"));
        assert_eq!((c.unit, c.total), (Unit::Keys, 40));
        let c = Capacity::from_config(&cfg("lab-memory-mode logical\nmaxmemory 1kb"));
        assert_eq!((c.unit, c.total), (Unit::Bytes, 1024));
        let c = Capacity::from_config(&cfg("lab-memory-mode logical\nlab-maxkeys 7"));
        assert_eq!((c.unit, c.total), (Unit::Keys, 7));
        let c = Capacity::from_config(&cfg("lab-memory-mode logical"));
        assert_eq!(c.total, u64::MAX);
        assert_eq!(c.fraction(0.1), u64::MAX);
        let c = Capacity::from_config(&cfg("lab-memory-mode keys\nmaxmemory 1000"));
        assert_eq!(c.fraction(0.1), 100);
        assert_eq!(c.fraction(0.25), 250);
    }
}
