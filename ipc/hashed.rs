// SPDX-License-Identifier: GPL-2.0

//! A hash table with open addressing, for the lookups by key of a
//! namespace's queues (System V keys, POSIX names; native: the `key_ht`
//! rhashtable of `struct ipc_ids`, the dentry hash of the mqueue mount): a
//! lookup touches one entry wherever the namespace's tens of thousands of
//! queues lie in memory, where a tree lookup touched some 15 nodes, each a
//! TLB miss under QEMU.  Linear probing, at most half full, backward-shift
//! removal (no tombstones).  Keys are hashed with a random key of the
//! table's, new at each resize (native's rhashtable seeds each of its
//! tables): with an unseeded hash a user could pick keys that all start at
//! one entry, so that every lookup in the namespace walked their cluster.

use crate::ipc::kernel_api::HashKey;
use kernel::{
    alloc::{flags::__GFP_NOWARN, Flags},
    prelude::*,
};

/// What a [`Hashed`] holds: an entry with a key.
pub(crate) trait Entry {
    type Key: ?Sized + PartialEq;

    /// The entry's key.
    fn key(&self) -> &Self::Key;

    /// `key`'s hash under `seed`.
    fn hash(key: &Self::Key, seed: &HashKey) -> u32;
}

/// The fewest entries a table has (once it has any).
const MIN_SLOTS: usize = 64;

pub(crate) struct Hashed<E> {
    /// Each entry with its key's hash; 0 or a power of two slots.
    slots: KVVec<Option<(u32, E)>>,
    len: usize,
    seed: HashKey,
    flags: Flags,
}

impl<E: Entry> Hashed<E> {
    /// An empty table whose slots are allocated with `flags`.
    pub(crate) fn new(flags: Flags) -> Self {
        Hashed {
            slots: KVVec::new(),
            len: 0,
            seed: HashKey::random(),
            flags,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Where a search for hash `h` starts: its top bits.
    fn home(&self, h: u32) -> usize {
        let bits = self.slots.len().trailing_zeros();
        (u64::from(h) >> 32u32.saturating_sub(bits)) as usize
    }

    /// The slot of `key` (hashed `h`) or the free one where it would go.
    fn find(&self, key: &E::Key, h: u32) -> Option<usize> {
        let mask = self.slots.len().checked_sub(1)?;
        let mut i = self.home(h);
        // Never more than half full: a free slot ends every search.
        for _ in 0..self.slots.len() {
            match self.slots.get(i)? {
                Some((eh, e)) if *eh != h || e.key() != key => i = (i + 1) & mask,
                _ => return Some(i),
            }
        }
        None
    }

    /// The entry of `key`.
    pub(crate) fn get(&self, key: &E::Key) -> Option<&E> {
        let i = self.find(key, E::hash(key, &self.seed))?;
        self.slots.get(i)?.as_ref().map(|(_, e)| e)
    }

    /// Room for one more entry, so that [`Hashed::insert`] cannot fail.
    pub(crate) fn reserve(&mut self) -> Result {
        if (self.len + 1) * 2 > self.slots.len() {
            self.resize(((self.len + 1) * 2).next_power_of_two().max(MIN_SLOTS))?;
        }
        Ok(())
    }

    /// Adds `e`, in place of an entry of its key if there is one (after
    /// [`Hashed::reserve`]; without room, `e` is dropped).
    pub(crate) fn insert(&mut self, e: E) {
        let h = E::hash(e.key(), &self.seed);
        let Some(slot) = self.find(e.key(), h).and_then(|i| self.slots.get_mut(i)) else {
            return;
        };
        if slot.is_none() {
            self.len += 1;
        }
        *slot = Some((h, e));
    }

    /// Removes the entry of `key`: the entries after it that it kept from
    /// their home move back.
    pub(crate) fn remove(&mut self, key: &E::Key) -> Option<E> {
        let mut hole = self.find(key, E::hash(key, &self.seed))?;
        let (_, gone) = self.slots.get_mut(hole)?.take()?;
        let mask = self.slots.len() - 1;
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let Some(h) = self.slots.get(j).and_then(|s| s.as_ref()).map(|(h, _)| *h) else {
                break;
            };
            // The entry at `j` may fill the hole if the hole lies between
            // its home and `j`.
            let home = self.home(h);
            if j.wrapping_sub(home) & mask >= j.wrapping_sub(hole) & mask {
                let moved = self.slots.get_mut(j).and_then(Option::take);
                if let Some(s) = self.slots.get_mut(hole) {
                    *s = moved;
                }
                hole = j;
            }
        }
        self.len -= 1;
        // Shrinks when an eighth full (if the memory is there).
        if self.slots.len() > MIN_SLOTS && self.len * 8 <= self.slots.len() {
            let _ = self.resize(self.slots.len() / 2);
        }
        Some(gone)
    }

    /// Moves the entries into `n` slots, hashed with a new seed (without
    /// the allocator's warning for a size it refuses: `ENOMEM`).
    fn resize(&mut self, n: usize) -> Result {
        let flags = self.flags | __GFP_NOWARN;
        let mut slots = KVVec::with_capacity(n, flags)?;
        for _ in 0..n {
            slots.push(None, flags)?;
        }
        let old = core::mem::replace(&mut self.slots, slots);
        self.len = 0;
        self.seed = HashKey::random();
        for (_, e) in old.into_iter().flatten() {
            self.insert(e);
        }
        Ok(())
    }
}
