// SPDX-License-Identifier: GPL-2.0

//! A FIFO of messages, linked through the messages' own headers as native
//! links `struct msg_msg`s: appending and taking the oldest are O(1) and
//! allocate nothing.  A System V typed receive may take a message from the
//! middle (a walk, as native's list walk), and a message that could not be
//! delivered goes back to its old place by sequence number.

use crate::ipc::msg::Msg;
use core::ptr::NonNull;

pub(crate) struct Fifo {
    /// The oldest message; each message owns the next through its link.
    head: Option<Msg>,
    /// The link of the newest message (`None` when empty): where `push`
    /// appends.
    ///
    /// # Invariants
    ///
    /// When the FIFO is not empty, `tail` points to the (empty) link of its
    /// last message, which lives in that message's block: it stays valid
    /// while that message is in this FIFO, wherever the `Fifo` moves.
    tail: Option<NonNull<Option<Msg>>>,
    live: usize,
}

// SAFETY: a `Fifo` owns its messages (which are `Send`); `tail` points into
// one of them.
unsafe impl Send for Fifo {}
// SAFETY: `&Fifo` only reads its messages.
unsafe impl Sync for Fifo {}

impl Fifo {
    pub(crate) const fn new() -> Self {
        Self {
            head: None,
            tail: None,
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

    /// Appends `m` at the tail.
    pub(crate) fn push(&mut self, mut m: Msg) {
        *m.next_mut() = None;
        let link = NonNull::from(m.next_mut());
        match self.tail {
            None => self.head = Some(m),
            // SAFETY: by the invariant `t` is the empty link of this FIFO's
            // last message, which `&mut self` lets us change.
            Some(t) => unsafe { *t.as_ptr() = Some(m) },
        }
        // INVARIANT: `m`, now last, is in this FIFO; its link is empty and
        // in its block (moving the `Msg` handle does not move the block).
        self.tail = Some(link);
        self.live += 1;
    }

    /// The oldest message.
    pub(crate) fn first(&self) -> Option<&Msg> {
        self.head.as_ref()
    }

    /// The messages in order, with the handle `take` needs.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &Msg)> {
        core::iter::successors(self.head.as_ref(), |m| m.next()).enumerate()
    }

    /// Removes the oldest message.
    pub(crate) fn pop(&mut self) -> Option<Msg> {
        let mut m = self.head.take()?;
        self.head = m.next_mut().take();
        if self.head.is_none() {
            // INVARIANT: empty.
            self.tail = None;
        }
        self.live -= 1;
        Some(m)
    }

    /// The message at handle `i` (from [`Fifo::iter`]), where it can be
    /// taken out (counting a change in `changes` then): a walk of `i`
    /// links.
    pub(crate) fn spot<'a>(&'a mut self, i: usize, changes: &'a mut u64) -> Option<Spot<'a>> {
        let Fifo { head, tail, live } = self;
        let mut link = head;
        for _ in 0..i {
            link = link.as_mut()?.next_mut();
        }
        Spot::at(link, tail, live, changes)
    }

    /// The first message `f` accepts, where it can be taken out (counting
    /// a change in `changes` then): one walk, as native's `find_msg` (no
    /// second walk to take it).  The walk writes nothing (a walk that finds
    /// nothing ends at the last message's link, `tail`'s, as `reinsert`'s
    /// may: `tail` is only written through under `&mut self`, after).
    pub(crate) fn spot_where<'a>(
        &'a mut self,
        mut f: impl FnMut(&Msg) -> bool,
        changes: &'a mut u64,
    ) -> Option<Spot<'a>> {
        let Fifo { head, tail, live } = self;
        let mut link = head;
        while link.as_ref().is_some_and(|m| !f(m)) {
            link = link.as_mut()?.next_mut();
        }
        Spot::at(link, tail, live, changes)
    }

    /// Puts `m` back where its `seq` places it (a receive that faulted):
    /// before a message of the same `seq` too (seq 0: at the head).
    pub(crate) fn reinsert(&mut self, mut m: Msg) {
        let seq = m.seq();
        if self.head.as_ref().is_none_or(|h| h.seq() >= seq) {
            *m.next_mut() = self.head.take();
            if m.next().is_none() {
                // INVARIANT: `m` is the only message; its link is empty.
                self.tail = Some(NonNull::from(m.next_mut()));
            }
            self.head = Some(m);
            self.live += 1;
            return;
        }
        // The last message older than `m`: `m` goes after it.
        let mut cur = self.head.as_mut();
        while let Some(c) = cur {
            if c.next().is_none_or(|n| n.seq() > seq) {
                *m.next_mut() = c.next_mut().take();
                let last = m.next().is_none();
                let link = NonNull::from(m.next_mut());
                *c.next_mut() = Some(m);
                if last {
                    // INVARIANT: `m` is last now; its link is empty.
                    self.tail = Some(link);
                }
                self.live += 1;
                return;
            }
            cur = c.next_mut().as_mut();
        }
        // Not reached (the last message's link is empty), but never lose
        // a message.
        self.push(m);
    }
}

/// A message of a [`Fifo`] found by [`Fifo::spot`] or [`Fifo::spot_where`]:
/// the link that holds it, so that taking it out walks no further.
pub(crate) struct Spot<'a> {
    /// Holds the message (not empty).
    link: &'a mut Option<Msg>,
    tail: &'a mut Option<NonNull<Option<Msg>>>,
    live: &'a mut usize,
    /// Counts a change when the message is taken ([`Tracked`]).
    ///
    /// [`Tracked`]: crate::ipc::tracked::Tracked
    changes: &'a mut u64,
}

impl<'a> Spot<'a> {
    /// The message `link` holds, if any, in the FIFO of `tail` and `live`.
    fn at(
        link: &'a mut Option<Msg>,
        tail: &'a mut Option<NonNull<Option<Msg>>>,
        live: &'a mut usize,
        changes: &'a mut u64,
    ) -> Option<Self> {
        link.as_ref()?;
        Some(Spot {
            link,
            tail,
            live,
            changes,
        })
    }

    /// The message.
    pub(crate) fn msg(&self) -> Option<&Msg> {
        self.link.as_ref()
    }

    /// Takes the message out of its FIFO.
    pub(crate) fn take(self) -> Option<Msg> {
        *self.changes = self.changes.wrapping_add(1);
        let mut m = self.link.take()?;
        *self.link = m.next_mut().take();
        if self.link.is_none() {
            // INVARIANT: `m` was last.  If it was the only message the FIFO
            // is empty; else `link` is the link of the message before it,
            // now last: empty, and in its block.
            *self.tail = (*self.live > 1).then(|| NonNull::from(self.link));
        }
        *self.live -= 1;
        Some(m)
    }
}

impl Drop for Fifo {
    fn drop(&mut self) {
        // One at a time: `Msg`'s drop would also walk the chain, but the
        // count is kept right this way.
        while self.pop().is_some() {}
    }
}
