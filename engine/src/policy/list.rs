//! Doubly-linked lists over keyspace slots, stored in one side table.
//!
//! [`SlotLinks`] holds `prev`/`next` for every slot; several [`SlotList`] heads can share
//! it (a slot is in at most one list at a time), as ARC's T1/T2 or S3-FIFO's small/main
//! queues need. Indices instead of pointers: no `unsafe`, and the table grows with the
//! keyspace's slot capacity.

use crate::keyspace::Slot;

const NIL: u32 = u32::MAX;

/// Per-slot links shared by several lists.
#[derive(Clone, Debug, Default)]
pub struct SlotLinks {
    links: Vec<[u32; 2]>,
}

/// A list head: front = most recently pushed with `push_front`.
#[derive(Clone, Copy, Debug)]
pub struct SlotList {
    head: u32,
    tail: u32,
    len: usize,
}

impl Default for SlotList {
    fn default() -> Self {
        SlotList {
            head: NIL,
            tail: NIL,
            len: 0,
        }
    }
}

impl SlotList {
    /// Number of slots in the list.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }
    /// True when empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The front slot.
    #[inline]
    pub fn front(&self) -> Option<Slot> {
        (self.head != NIL).then_some(self.head)
    }
    /// The back slot.
    #[inline]
    pub fn back(&self) -> Option<Slot> {
        (self.tail != NIL).then_some(self.tail)
    }
}

impl SlotLinks {
    /// Makes room for `slot`.
    #[inline]
    pub fn ensure(&mut self, slot: Slot) {
        let s = slot as usize;
        if s >= self.links.len() {
            self.links
                .resize((s + 1).next_power_of_two().max(64), [NIL, NIL]);
        }
    }

    /// Inserts `slot` at the front of `list`.
    #[inline]
    pub fn push_front(&mut self, list: &mut SlotList, slot: Slot) {
        self.ensure(slot);
        self.links[slot as usize] = [NIL, list.head];
        if list.head != NIL {
            self.links[list.head as usize][0] = slot;
        } else {
            list.tail = slot;
        }
        list.head = slot;
        list.len += 1;
    }

    /// Inserts `slot` at the back of `list`.
    #[inline]
    pub fn push_back(&mut self, list: &mut SlotList, slot: Slot) {
        self.ensure(slot);
        self.links[slot as usize] = [list.tail, NIL];
        if list.tail != NIL {
            self.links[list.tail as usize][1] = slot;
        } else {
            list.head = slot;
        }
        list.tail = slot;
        list.len += 1;
    }

    /// Removes `slot` from `list` (the caller guarantees it is in that list).
    #[inline]
    pub fn unlink(&mut self, list: &mut SlotList, slot: Slot) {
        let [prev, next] = self.links[slot as usize];
        if prev != NIL {
            self.links[prev as usize][1] = next;
        } else {
            list.head = next;
        }
        if next != NIL {
            self.links[next as usize][0] = prev;
        } else {
            list.tail = prev;
        }
        list.len -= 1;
    }

    /// Moves `slot` (in `list`) to the front.
    #[inline(always)]
    pub fn move_to_front(&mut self, list: &mut SlotList, slot: Slot) {
        let head = list.head;
        if head == slot {
            return;
        }
        // `slot` is in the list and not its head: it has a predecessor, and the list a head.
        let [prev, next] = self.links[slot as usize];
        self.links[prev as usize][1] = next;
        if next != NIL {
            self.links[next as usize][0] = prev;
        } else {
            list.tail = prev;
        }
        self.links[slot as usize] = [NIL, head];
        self.links[head as usize][0] = slot;
        list.head = slot;
    }

    /// Removes and returns the back slot.
    #[inline]
    pub fn pop_back(&mut self, list: &mut SlotList) -> Option<Slot> {
        let s = list.back()?;
        self.unlink(list, s);
        Some(s)
    }

    /// The slot after `slot` (towards the back).
    #[inline]
    pub fn next(&self, slot: Slot) -> Option<Slot> {
        let n = self.links[slot as usize][1];
        (n != NIL).then_some(n)
    }

    /// Asks the CPU to start loading `slot`'s links (a hint, see `crate::index::prefetch`).
    #[inline]
    pub fn prefetch(&self, slot: Slot) {
        if let Some(l) = self.links.get(slot as usize) {
            crate::index::prefetch(l);
        }
    }

    /// The slot before `slot` (towards the front).
    #[inline]
    pub fn prev(&self, slot: Slot) -> Option<Slot> {
        let p = self.links[slot as usize][0];
        (p != NIL).then_some(p)
    }

    /// The slots of `list`, front to back.
    pub fn iter<'a>(&'a self, list: &SlotList) -> impl Iterator<Item = Slot> + 'a {
        let mut cur = list.head;
        std::iter::from_fn(move || {
            if cur == NIL {
                None
            } else {
                let s = cur;
                cur = self.links[s as usize][1];
                Some(s)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_unlink_and_move() {
        let mut links = SlotLinks::default();
        let mut l = SlotList::default();
        for s in [3, 1, 4] {
            links.push_front(&mut l, s);
        }
        assert_eq!(links.iter(&l).collect::<Vec<_>>(), [4, 1, 3]);
        links.move_to_front(&mut l, 3);
        assert_eq!(links.iter(&l).collect::<Vec<_>>(), [3, 4, 1]);
        links.unlink(&mut l, 4);
        assert_eq!(links.iter(&l).collect::<Vec<_>>(), [3, 1]);
        assert_eq!(links.pop_back(&mut l), Some(1));
        links.push_back(&mut l, 9);
        assert_eq!(links.iter(&l).collect::<Vec<_>>(), [3, 9]);
        assert_eq!(l.len(), 2);
        assert_eq!(links.pop_back(&mut l), Some(9));
        assert_eq!(links.pop_back(&mut l), Some(3));
        assert_eq!(links.pop_back(&mut l), None);
        assert!(l.is_empty());
    }
}
