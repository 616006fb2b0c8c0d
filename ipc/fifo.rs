// SPDX-License-Identifier: GPL-2.0

//! A FIFO of messages from which a receiver may also take one in the middle
//! (a System V typed receive), and into which a message that could not be
//! delivered is put back at its old place.  Taking leaves a hole that the
//! next growth compacts, so both ends are O(1) amortised.

use crate::ipc::msg::Msg;
use kernel::prelude::*;

pub(crate) struct Fifo {
    /// kvmalloc'd: a queue of 65536 messages needs a few MiB of slots.
    slots: KVVec<Option<Msg>>,
    head: usize,
    live: usize,
}

impl Fifo {
    pub(crate) const fn new() -> Self {
        Self {
            slots: KVVec::new(),
            head: 0,
            live: 0,
        }
    }

    /// Number of messages.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn compact(&mut self) {
        self.slots.retain(|s| s.is_some());
        self.head = 0;
    }

    /// Appends `m` at the tail.
    pub(crate) fn push(&mut self, m: Msg) -> Result {
        if self.slots.len() == self.slots.capacity() && self.live < self.slots.len() {
            self.compact();
        }
        self.slots.push(Some(m), GFP_KERNEL_ACCOUNT)?;
        self.live += 1;
        Ok(())
    }

    /// The messages in order, with the handle `take` needs.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &Msg)> {
        self.slots
            .iter()
            .enumerate()
            .skip(self.head)
            .filter_map(|(i, s)| s.as_ref().map(|m| (i, m)))
    }

    /// Removes the message at handle `i` (from [`Fifo::iter`]).
    pub(crate) fn take(&mut self, i: usize) -> Option<Msg> {
        let m = self.slots.get_mut(i)?.take()?;
        self.live -= 1;
        if self.live == 0 {
            self.slots.clear();
            self.head = 0;
        } else {
            while matches!(self.slots.get(self.head), Some(None)) {
                self.head += 1;
            }
        }
        Some(m)
    }

    /// Removes the oldest message.
    pub(crate) fn pop(&mut self) -> Option<Msg> {
        let i = self.iter().next()?.0;
        self.take(i)
    }

    /// Puts `m` back where its `seq` places it (a receive that faulted).
    pub(crate) fn reinsert(&mut self, m: Msg) -> Result {
        self.compact();
        self.slots.reserve(1, GFP_KERNEL_ACCOUNT)?;
        let at = self
            .slots
            .iter()
            .position(|s| s.as_ref().is_some_and(|x| x.seq > m.seq))
            .unwrap_or(self.slots.len());
        self.slots
            .insert_within_capacity(at, Some(m))
            .map_err(|_| ENOMEM)?;
        self.live += 1;
        Ok(())
    }
}
