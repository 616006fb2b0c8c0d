// SPDX-License-Identifier: GPL-2.0

//! A POSIX queue's messages by priority: a FIFO per priority, received
//! highest priority first (native `msg_tree`, its cached rightmost node and
//! its `node_cache`).
//!
//! The highest priority's FIFO is kept outside the tree: a queue used at
//! one priority, as most are, sends and receives without a tree walk, and a
//! receive finds its message without a lookup.  The tree holds the lower
//! priorities.  A receive that empties the top FIFO moves the next one out
//! of the tree; the tree node that frees travels with the received message,
//! so that a put-back of it (which may have to move the top FIFO back into
//! the tree) needs no allocation.

#![deny(unsafe_code)]

use crate::ipc::{fifo::Fifo, msg::Msg};
use kernel::{
    prelude::*,
    rbtree::{Entry, RBTree, RBTreeNodeReservation},
};

/// A node for a new entry of the tree.
pub(crate) type NewNode = RBTreeNodeReservation<u32, Fifo>;

/// A tree node freed by a receive, carried by its message.
pub(crate) type Node = Option<NewNode>;

/// A node for a new entry of the tree: `node`, else `spare`, else a new one,
/// allocated under the queue lock without sleeping and without a memory
/// cgroup charge, as native's `msg_insert` does when its `node_cache` is
/// empty (`GFP_ATOMIC`; a failure is `ENOMEM`).
fn take_node(node: &mut Node, spare: &mut Node) -> Result<NewNode> {
    match node.take().or_else(|| spare.take()) {
        Some(r) => Ok(r),
        None => Ok(RBTreeNodeReservation::new(GFP_ATOMIC)?),
    }
}

/// A node, where an allocation may sleep (before the queue lock, as
/// native's `mq_timedsend` makes its `new_leaf`: `GFP_KERNEL`, not charged
/// to the memory cgroup, as native's tree nodes are not).
pub(crate) fn new_node() -> Result<NewNode> {
    RBTreeNodeReservation::new(GFP_KERNEL)
}

/// Makes `node` a node if it is none, for a message put back (a receive's
/// copy faulted).  A failure leaves it none ([`take_node`] tries again
/// under the lock; only that failing too loses the message).
pub(crate) fn ready_node(node: &mut Node) {
    if node.is_none() {
        *node = new_node().ok();
    }
}

pub(crate) struct Prios {
    /// The highest priority queued (any value while `top` is empty) and its
    /// messages.
    top_prio: u32,
    top: Fifo,
    /// The lower priorities, each below `top_prio`; empty while `top` is.
    lower: RBTree<u32, Fifo>,
    /// A node kept for the next priority that needs one (`node_cache`).
    spare: Node,
}

impl Prios {
    pub(crate) fn new() -> Self {
        Self {
            top_prio: 0,
            top: Fifo::new(),
            lower: RBTree::new(),
            spare: None,
        }
    }

    /// Whether a message of `prio` goes to the top FIFO (no node needed).
    fn at_top(&self, prio: u32) -> bool {
        self.top.is_empty() || prio == self.top_prio
    }

    /// Makes sure that a message of `prio` can be queued without an
    /// allocation (`pipelined_receive`'s sender, whose send cannot fail):
    /// the spare node, allocated if needed ([`take_node`]'s way; if that
    /// fails, the sender stays blocked, as natively).
    pub(crate) fn reserve(&mut self, prio: u32) -> Result {
        if self.needs_node(prio) {
            self.spare = Some(RBTreeNodeReservation::new(GFP_ATOMIC)?);
        }
        Ok(())
    }

    /// Whether queueing a message of `prio` would allocate a node: it makes
    /// a new entry of the tree, and there is no spare.
    #[inline]
    pub(crate) fn needs_node(&self, prio: u32) -> bool {
        self.spare.is_none()
            && !self.at_top(prio)
            && (prio > self.top_prio || self.lower.get(&prio).is_none())
    }

    /// Whether there is no spare node (`!info->node_cache`).
    #[inline]
    pub(crate) fn no_spare(&self) -> bool {
        self.spare.is_none()
    }

    /// Keeps `node`, made before the lock ([`new_node`]), as the spare if
    /// there is none.
    pub(crate) fn supply(&mut self, node: NewNode) {
        if self.spare.is_none() {
            self.spare = Some(node);
        }
    }

    /// Keeps the node a delivered message carried as the spare, if there is
    /// none (`msg_get`'s `node_cache`), else lets it be freed.
    pub(crate) fn recycle(&mut self, node: &mut Node) {
        if self.spare.is_none() {
            self.spare = node.take();
        }
    }

    /// Queues `m` at the tail of its priority's FIFO, or `back` in its old
    /// place there (by its sequence number).  A node it needs is `node`,
    /// else the spare, else a new one ([`take_node`]; `ENOMEM`: `m` is
    /// dropped).
    pub(crate) fn put(&mut self, m: Msg, back: bool, node: &mut Node) -> Result {
        let prio = m.mtype() as u32;
        let fifo = if self.at_top(prio) {
            self.top_prio = prio;
            &mut self.top
        } else if prio > self.top_prio {
            // The top FIFO goes into the tree, above every priority there.
            let r = take_node(node, &mut self.spare)?;
            let old = core::mem::replace(&mut self.top, Fifo::new());
            // The top priority is never in the tree (the invariant), so
            // nothing is replaced; a replaced FIFO would be a bug: warn.
            let replaced = self.lower.insert(r.into_node(self.top_prio, old));
            kernel::warn_on!(replaced.is_some());
            self.top_prio = prio;
            &mut self.top
        } else {
            match self.lower.entry(prio) {
                Entry::Occupied(o) => o.into_mut(),
                Entry::Vacant(v) => v.insert(Fifo::new(), take_node(node, &mut self.spare)?),
            }
        };
        if back {
            fifo.reinsert(m);
        } else {
            fifo.push(m);
        }
        Ok(())
    }

    /// Removes the oldest message of the highest priority, with the node
    /// freed by moving the next priority's FIFO out of the tree.
    pub(crate) fn pop(&mut self) -> Option<(Msg, Node)> {
        let m = self.top.pop()?;
        let mut node = None;
        if self.top.is_empty() {
            if let Some(mut c) = self.lower.cursor_back_mut() {
                let (&prio, f) = c.current_mut();
                let f = core::mem::replace(f, Fifo::new());
                let (_, n) = c.remove_current();
                node = Some(n.into_reservation());
                (self.top_prio, self.top) = (prio, f);
            }
        }
        Some((m, node))
    }

    /// The messages in receive order: priorities high to low, FIFO within
    /// a priority (a tree lookup per lower priority).
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Msg> {
        self.walk(None)
    }

    /// The messages in receive order, from the first (`from` none), or
    /// after one of them, given as the message after it in its FIFO and its
    /// priority: the rest of its FIFO, then the lower priorities'.
    pub(crate) fn walk<'a>(
        &'a self,
        from: Option<(Option<&'a Msg>, i64)>,
    ) -> impl Iterator<Item = &'a Msg> + 'a {
        let (first, prio) = from.unwrap_or((self.top.first(), i64::from(self.top_prio)));
        let lower = &self.lower;
        // The highest priority of the tree below `p`.
        let below = move |p: u32| match lower.cursor_lower_bound(&p) {
            Some(c) => c.peek_prev().map(|(&k, _)| k),
            None => lower.cursor_back().map(|c| *c.current().0),
        };
        let rest = core::iter::successors(below(prio as u32), move |&p| below(p))
            .filter_map(move |p| lower.get(&p))
            .flat_map(|f| f.iter().map(|(_, m)| m));
        Iterator::chain(core::iter::successors(first, |m| m.next()), rest)
    }
}
