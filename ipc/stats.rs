// SPDX-License-Identifier: GPL-2.0

//! Per-queue statistics (`RIPC_IOC_STATS`, the `RIPC_LIST_STATS` table):
//! what counts, for both families, is decided here.
//!
//! The counters live in each queue's state, under its lock, and are
//! bumped where the event happens: a send where its message is queued or
//! handed to a blocked receiver (each family's send run), a receive where
//! its message is delivered ([`crate::ipc::engine`]: under the lock, or in
//! the critical section that gives its room back), a block and a timeout
//! in [`crate::ipc::wait::sleep`].  A message put back after a fault was
//! never counted as received, so a failed call leaves the counters as
//! they were.
//!
//! A time is `CLOCK_REALTIME` as of the last tick (the coarse clock, as
//! `ktime_get_coarse_real_ns`), read at most once per tick per queue: the
//! queue keeps the jiffies of its last read, so an event costs a load of
//! `jiffies` and a compare, not a clock read per message.

#![deny(unsafe_code)]

use crate::ipc::{defs::ripc_queue_stats, kernel_api};
use core::fmt;

/// A queue's counters ([`ripc_queue_stats`]).
#[derive(Default)]
pub(crate) struct Stats {
    sent: u64,
    sent_bytes: u64,
    received: u64,
    received_bytes: u64,
    handoffs: u64,
    blocked_sends: u64,
    blocked_receives: u64,
    timeouts: u64,
    peak_msgs: u64,
    peak_bytes: u64,
    last_send: i64,
    last_receive: i64,
    last_handoff: i64,
    last_blocked_send: i64,
    last_blocked_receive: i64,
    last_timeout: i64,
    /// The coarse clock (`now_ns`, 0: not read yet) at jiffies `tick`.
    tick: u64,
    now_ns: i64,
}

/// A queue state that keeps [`Stats`].
pub(crate) trait Counted {
    fn stats(&mut self) -> &mut Stats;
}

/// What a sleep is, for the counters: a call's first sleep counts as a
/// blocked send or receive; a System V call woken to look again that
/// sleeps once more (`Again`) is not counted twice.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Blocked {
    Send,
    Receive,
    Again,
}

impl Stats {
    /// `CLOCK_REALTIME` as of the last tick, read once per tick.
    #[inline(always)]
    fn now(&mut self) -> i64 {
        let j = kernel_api::jiffies();
        if j != self.tick || self.now_ns == 0 {
            self.tick = j;
            self.now_ns = kernel_api::coarse_real_ns();
        }
        self.now_ns
    }

    fn sent(&mut self, len: usize) -> i64 {
        let now = self.now();
        self.sent = self.sent.wrapping_add(1);
        self.sent_bytes = self.sent_bytes.wrapping_add(len as u64);
        self.last_send = now;
        now
    }

    /// A message of `len` bytes was sent into the queue, which then holds
    /// `msgs` messages of `bytes` bytes.
    pub(crate) fn queued(&mut self, len: usize, msgs: u64, bytes: u64) {
        self.sent(len);
        self.depth(msgs, bytes);
    }

    /// A message of `len` bytes was sent straight to a blocked receiver
    /// (`pipelined_send`).
    pub(crate) fn handed(&mut self, len: usize) {
        self.last_handoff = self.sent(len);
        self.handoffs = self.handoffs.wrapping_add(1);
    }

    /// The queue holds `msgs` messages of `bytes` bytes (a message sent or
    /// put back): the peaks follow.
    pub(crate) fn depth(&mut self, msgs: u64, bytes: u64) {
        self.peak_msgs = self.peak_msgs.max(msgs);
        self.peak_bytes = self.peak_bytes.max(bytes);
    }

    /// `msgs` messages of `bytes` bytes in all were delivered to receivers.
    pub(crate) fn received(&mut self, msgs: usize, bytes: usize) {
        self.received = self.received.wrapping_add(msgs as u64);
        self.received_bytes = self.received_bytes.wrapping_add(bytes as u64);
        self.last_receive = self.now();
    }

    /// A call goes to sleep.
    pub(crate) fn blocked(&mut self, b: Blocked) {
        let now = self.now();
        match b {
            Blocked::Send => {
                self.blocked_sends = self.blocked_sends.wrapping_add(1);
                self.last_blocked_send = now;
            }
            Blocked::Receive => {
                self.blocked_receives = self.blocked_receives.wrapping_add(1);
                self.last_blocked_receive = now;
            }
            Blocked::Again => {}
        }
    }

    /// A call ends in `ETIMEDOUT`.
    pub(crate) fn timed_out(&mut self) {
        self.timeouts = self.timeouts.wrapping_add(1);
        self.last_timeout = self.now();
    }

    /// The counters as the uapi gives them, with the queue's depth now
    /// (`msgs`, `bytes`).
    pub(crate) fn read(&self, msgs: u64, bytes: u64) -> ripc_queue_stats {
        ripc_queue_stats {
            sent: self.sent,
            sent_bytes: self.sent_bytes,
            received: self.received,
            received_bytes: self.received_bytes,
            handoffs: self.handoffs,
            blocked_sends: self.blocked_sends,
            blocked_receives: self.blocked_receives,
            timeouts: self.timeouts,
            peak_msgs: self.peak_msgs,
            peak_bytes: self.peak_bytes,
            msgs,
            bytes,
            last_send_ns: self.last_send,
            last_receive_ns: self.last_receive,
            last_handoff_ns: self.last_handoff,
            last_blocked_send_ns: self.last_blocked_send,
            last_blocked_receive_ns: self.last_blocked_receive,
            last_timeout_ns: self.last_timeout,
        }
    }

    /// Zeroes the counters; the peaks restart from the queue's depth now
    /// (`msgs`, `bytes`).
    pub(crate) fn reset(&mut self, msgs: u64, bytes: u64) {
        *self = Stats::default();
        self.depth(msgs, bytes);
    }
}

/// The `RIPC_LIST_STATS` table's columns, before the queue's own.
pub(crate) const HEADER: &str = "sent sent_bytes received received_bytes handoffs \
blocked_sends blocked_receives timeouts peak_msgs peak_bytes msgs bytes last_send_ns \
last_receive_ns last_handoff_ns last_blocked_send_ns last_blocked_receive_ns last_timeout_ns";

/// A queue's counters as a line of the `RIPC_LIST_STATS` table: the fields
/// in order, in decimal, one space apart.
pub(crate) struct Row(pub(crate) ripc_queue_stats);

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.0;
        write!(
            f,
            "{} {} {} {} {} {} {} {} {} {} {} {} {} {} {} {} {} {}",
            s.sent,
            s.sent_bytes,
            s.received,
            s.received_bytes,
            s.handoffs,
            s.blocked_sends,
            s.blocked_receives,
            s.timeouts,
            s.peak_msgs,
            s.peak_bytes,
            s.msgs,
            s.bytes,
            s.last_send_ns,
            s.last_receive_ns,
            s.last_handoff_ns,
            s.last_blocked_send_ns,
            s.last_blocked_receive_ns,
            s.last_timeout_ns
        )
    }
}
