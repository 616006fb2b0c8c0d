// SPDX-License-Identifier: GPL-2.0

//! A FIFO of messages from which a receiver may also take one in the middle
//! (a System V typed receive), and into which a message that could not be
//! delivered is put back at its old place.
//!
//! The slots live in chunks of up to `CHUNK` (about 2 KiB each, one spare
//! kept), so a queue costs its messages plus at most a chunk or two: no
//! large contiguous allocation and no doubling slack.  A FIFO that never
//! holds many messages (a POSIX priority of a queue of `maxmsg` messages)
//! gets chunks of that many slots.  Taking from the middle
//! leaves a hole; holes at the front are skipped at once, and when holes
//! outnumber messages the FIFO is compacted, so both ends are O(1)
//! amortised.

use crate::ipc::msg::Msg;
use kernel::prelude::*;

/// Slots per chunk at most: 42 × 48 bytes fit a 2 KiB kmalloc.
pub(crate) const CHUNK: usize = 42;

/// `cap` slots, all used or empty.
type Chunk = KVec<Option<Msg>>;

pub(crate) struct Fifo {
    /// Slots per chunk, 1 to `CHUNK`.
    cap: usize,
    chunks: KVec<Chunk>,
    spare: Option<Chunk>,
    /// Slot index (from the start of `chunks[0]`) of the first message.
    head: usize,
    /// One past the last used slot.
    tail: usize,
    /// Leading chunks whose storage is gone (all before `head`).
    freed: usize,
    live: usize,
}

impl Fifo {
    pub(crate) const fn new() -> Self {
        Self::with_chunk(CHUNK)
    }

    /// A FIFO whose chunks hold `cap` slots (clamped to 1..=`CHUNK`).
    pub(crate) const fn with_chunk(cap: usize) -> Self {
        Self {
            cap: if cap == 0 {
                1
            } else if cap > CHUNK {
                CHUNK
            } else {
                cap
            },
            chunks: KVec::new(),
            spare: None,
            head: 0,
            tail: 0,
            freed: 0,
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

    fn slot(&self, i: usize) -> Option<&Option<Msg>> {
        self.chunks.get(i / self.cap)?.get(i % self.cap)
    }

    fn slot_mut(&mut self, i: usize) -> Option<&mut Option<Msg>> {
        let cap = self.cap;
        self.chunks.get_mut(i / cap)?.get_mut(i % cap)
    }

    /// Makes room for one more slot at the tail: the next `push` cannot
    /// fail.
    pub(crate) fn grow(&mut self) -> Result {
        let full = |f: &Self| f.tail >= f.chunks.len() * f.cap;
        if full(self) && self.live * 2 + self.cap < self.tail - self.head {
            self.compact();
        }
        if !full(self) {
            return Ok(());
        }
        let c = match self.spare.take() {
            Some(c) => c,
            None => {
                let mut c = KVec::with_capacity(self.cap, GFP_KERNEL_ACCOUNT)?;
                for _ in 0..self.cap {
                    let _ = c.push_within_capacity(None);
                }
                c
            }
        };
        self.chunks.push(c, GFP_KERNEL_ACCOUNT)?;
        Ok(())
    }

    /// Moves every message to the front, in order, dropping the holes.
    fn compact(&mut self) {
        self.drop_dead();
        let mut w = 0;
        for r in self.head..self.tail {
            let m = self.slot_mut(r).and_then(|s| s.take());
            if let Some(m) = m {
                if let Some(s) = self.slot_mut(w) {
                    *s = Some(m);
                }
                w += 1;
            }
        }
        self.head = 0;
        self.tail = w;
        self.trim();
    }

    /// Frees the chunks past the tail (keeping one spare).  An emptied
    /// FIFO keeps its first chunk in place instead, if whole, and no spare:
    /// the next push needs no chunk moved.
    fn trim(&mut self) {
        while self.chunks.len() * self.cap >= self.tail + self.cap {
            if self.tail == 0
                && self.chunks.len() == 1
                && self.chunks.first().is_some_and(|c| c.len() == self.cap)
            {
                self.spare = None;
                break;
            }
            if let Some(c) = self.chunks.pop() {
                self.keep_spare(c);
            }
        }
        if self.tail == 0 {
            self.freed = 0;
        }
    }

    /// Appends `m` at the tail.
    pub(crate) fn push(&mut self, m: Msg) -> Result {
        self.grow()?;
        let i = self.tail;
        let s = self.slot_mut(i).ok_or(ENOMEM)?;
        *s = Some(m);
        self.tail += 1;
        self.live += 1;
        Ok(())
    }

    /// The messages in order, with the handle `take` needs.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &Msg)> {
        (self.head..self.tail).filter_map(|i| self.slot(i)?.as_ref().map(|m| (i, m)))
    }

    /// Removes the message at handle `i` (from [`Fifo::iter`]).
    pub(crate) fn take(&mut self, i: usize) -> Option<Msg> {
        let m = self.slot_mut(i)?.take()?;
        self.live -= 1;
        if self.live == 0 {
            self.head = 0;
            self.tail = 0;
            self.trim();
            return Some(m);
        }
        while matches!(self.slot(self.head), Some(None)) {
            self.head += 1;
        }
        // The chunks wholly before the head are dead: their storage goes
        // at once (one to `spare`), their places in `chunks` once they are
        // half of it (so that a long FIFO is not shifted at every chunk).
        let dead = self.head / self.cap;
        while self.freed < dead {
            let c = self.chunks.get_mut(self.freed).map(core::mem::take);
            if let Some(c) = c {
                self.keep_spare(c);
            }
            self.freed += 1;
        }
        if dead * 2 >= self.chunks.len() {
            self.drop_dead();
        }
        Some(m)
    }

    /// Keeps `c` as the spare chunk if there is none (and it is whole).
    fn keep_spare(&mut self, c: Chunk) {
        if self.spare.is_none() && c.len() == self.cap {
            self.spare = Some(c);
        }
    }

    /// Removes the dead chunks before the head from `chunks`.
    fn drop_dead(&mut self) {
        let dead = self.head / self.cap;
        if dead == 0 {
            return;
        }
        for i in self.freed.min(dead)..dead {
            let c = self.chunks.get_mut(i).map(core::mem::take);
            if let Some(c) = c {
                self.keep_spare(c);
            }
        }
        self.chunks.rotate_left(dead);
        self.chunks.truncate(self.chunks.len() - dead);
        self.head -= dead * self.cap;
        self.tail -= dead * self.cap;
        self.freed = 0;
    }

    /// Removes the oldest message: the head's (`take` keeps the head on a
    /// message, or at the tail).
    pub(crate) fn pop(&mut self) -> Option<Msg> {
        if self.live == 0 {
            return None;
        }
        match self.take(self.head) {
            Some(m) => Some(m),
            None => {
                let i = self.iter().next()?.0;
                self.take(i)
            }
        }
    }

    /// Puts `m` back where its `seq` places it (a receive that faulted).
    pub(crate) fn reinsert(&mut self, m: Msg) -> Result {
        self.compact();
        let seq = m.seq;
        self.push(m)?;
        // Bubble it back past the messages that came after it.
        let mut i = self.tail - 1;
        while i > self.head {
            let later = self
                .slot(i - 1)
                .and_then(|s| s.as_ref())
                .is_some_and(|p| p.seq > seq);
            if !later {
                break;
            }
            let prev = self.slot_mut(i - 1).and_then(|s| s.take());
            if let Some(s) = self.slot_mut(i) {
                let cur = s.take();
                *s = prev;
                if let Some(p) = self.slot_mut(i - 1) {
                    *p = cur;
                }
            }
            i -= 1;
        }
        Ok(())
    }
}
