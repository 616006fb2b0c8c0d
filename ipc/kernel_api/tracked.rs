// SPDX-License-Identifier: GPL-2.0

//! A queue's messages with a count of their changes, so that a long walk
//! of them (a dump's) can stop after a message, drop the queue lock, and
//! go on after that message once the lock is taken again, if nothing
//! changed meanwhile: the lock is held for a part of the queue at a time,
//! and no part is walked twice.

use crate::ipc::{
    fifo::{Fifo, Spot},
    msg::{Msg, MsgAt},
    prios::Prios,
};
use core::ops::{Deref, DerefMut};
use kernel::{
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
};

/// Messages in an order that a walk can take up again after any of them.
///
/// # Safety
///
/// [`Walk::walk`] yields only messages that `self` owns, which stay where
/// they are, alive and linked as they are, while `self` is not changed.
pub(crate) unsafe trait Walk {
    /// The messages in order: from the first (`from` none), or after one of
    /// them, given as the message after it in its FIFO and its type.
    fn walk<'a>(
        &'a self,
        from: Option<(Option<&'a Msg>, i64)>,
    ) -> impl Iterator<Item = &'a Msg> + 'a;
}

// SAFETY: a FIFO's walk follows its own links, from its head or from the
// message after one of its messages: it yields its own messages.
unsafe impl Walk for Fifo {
    fn walk<'a>(
        &'a self,
        from: Option<(Option<&'a Msg>, i64)>,
    ) -> impl Iterator<Item = &'a Msg> + 'a {
        let first = match from {
            Some((next, _)) => next,
            None => self.first(),
        };
        core::iter::successors(first, |m| m.next())
    }
}

// SAFETY: `Prios::walk` walks its own FIFOs: the rest of one of them from
// the message given, then those of the lower priorities.
unsafe impl Walk for Prios {
    fn walk<'a>(
        &'a self,
        from: Option<(Option<&'a Msg>, i64)>,
    ) -> impl Iterator<Item = &'a Msg> + 'a {
        Prios::walk(self, from)
    }
}

/// Where the next [`Tracked`] gets its epoch from.
static EPOCHS: Atomic<u64> = Atomic::new(0);

/// `T`, with a count of its changes: each `&mut` access to it counts as one
/// (and a [`Spot`]'s take, whose walk to the message changes nothing).
/// Each `Tracked` ever made has an epoch of its own, so that a [`Mark`] of
/// one is never taken for one of another.
pub(crate) struct Tracked<T> {
    inner: T,
    epoch: u64,
    changes: u64,
}

/// Where a walk stopped: after a message of a [`Tracked`], as it was.
pub(crate) struct Mark {
    epoch: u64,
    changes: u64,
    at: MsgAt,
    mtype: i64,
}

/// How a [`Tracked::walk_from`] ended.
pub(crate) enum Walked {
    /// Every message was walked.
    All,
    /// The walk stopped after a message: the next one goes on from there.
    Stopped(Mark),
    /// The messages changed since the mark: nothing was walked.
    Changed,
}

impl<T> Tracked<T> {
    pub(crate) fn new(inner: T) -> Self {
        Tracked {
            inner,
            epoch: EPOCHS.fetch_add(1, Relaxed),
            changes: 0,
        }
    }
}

impl Tracked<Fifo> {
    /// [`Fifo::spot`], counting a change only if the message is taken
    /// ([`Spot::take`]): a look that takes nothing (a receive that finds
    /// no message, or one too large for its buffer) leaves a dump's mark
    /// good.  The walk itself changes nothing.
    pub(crate) fn spot(&mut self, i: usize) -> Option<Spot<'_>> {
        let Tracked { inner, changes, .. } = self;
        inner.spot(i, changes)
    }

    /// [`Fifo::spot_where`], counting as [`Tracked::spot`].
    pub(crate) fn spot_where(&mut self, f: impl FnMut(&Msg) -> bool) -> Option<Spot<'_>> {
        let Tracked { inner, changes, .. } = self;
        inner.spot_where(f, changes)
    }
}

impl<T> Deref for Tracked<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T> DerefMut for Tracked<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        self.changes = self.changes.wrapping_add(1);
        &mut self.inner
    }
}

impl<T: Walk> Tracked<T> {
    /// Calls `f` on the messages in order, from the first or after `from`'s
    /// message, until it returns `false` (the walk stops after that
    /// message, unless it was the last) or fails.
    pub(crate) fn walk_from(
        &self,
        from: Option<&Mark>,
        mut f: impl FnMut(&Msg) -> Result<bool>,
    ) -> Result<Walked> {
        let from = match from {
            None => None,
            Some(k) if (k.epoch, k.changes) == (self.epoch, self.changes) => {
                // The mark's message was one that this `Tracked`'s walk
                // yielded, which `self.inner` owns (`Walk`), when its count
                // was what it is (each `&mut` access counts; the epoch is
                // this `Tracked`'s alone).
                // SAFETY: so `self.inner` has not changed since: that message
                // is alive and linked as it was while `self` is borrowed.
                let next = unsafe { k.at.next() };
                Some((next, k.mtype))
            }
            Some(_) => return Ok(Walked::Changed),
        };
        let mut walk = self.inner.walk(from).peekable();
        while let Some(m) = walk.next() {
            // A stop after the last message is the end.
            if !f(m)? && walk.peek().is_some() {
                return Ok(Walked::Stopped(Mark {
                    epoch: self.epoch,
                    changes: self.changes,
                    at: m.at(),
                    mtype: m.mtype(),
                }));
            }
        }
        Ok(Walked::All)
    }
}
