// SPDX-License-Identifier: GPL-2.0

//! Per-queue statistics (`RIPC_IOC_STATS`, the `RIPC_LIST_STATS` table):
//! what counts, for both families, is decided here.
//!
//! The counters live in each queue's state, under its lock, and are
//! bumped where the event happens: a send where its message is queued or
//! handed to a blocked receiver (each family's `send`), a blocked sender's
//! message put in by a receive (POSIX's `serve_senders`), a receive where
//! its message leaves the queue ([`crate::ipc::engine::left`]), a block and
//! a timeout in [`crate::ipc::wait::sleep`].  A message put back after a
//! fault is counted as received no more, so a failed call leaves the
//! counters as they were.
//!
//! An event's time is kept as `jiffies` (a load and a store: no clock read
//! on the data path, measured with `scripts/bench --insn`) and given as
//! `CLOCK_REALTIME` when read, through the queue's epoch: the coarse
//! monotonic clock (`ktime_get_coarse_ns`) at some tick, kept while the
//! clock and the tick count agree within [`DRIFT_NS`], so that a time reads
//! the same each time it is read, and the realtime clock's offset from the
//! monotonic one as it is at the read: a clock step moves the times with
//! it.  Ticks do not count a suspend, so an event from before one shows as
//! that much later.

#![deny(unsafe_code)]

use crate::ipc::{defs::ripc_queue_stats, kernel_api, text::Text};
use core::num::NonZeroU64;

/// A queue's counters ([`ripc_queue_stats`]).
#[derive(Default)]
pub(crate) struct Stats {
    sent: u64,
    sent_bytes: u64,
    received: u64,
    received_bytes: u64,
    handoffs: u64,
    receive_handoffs: u64,
    blocked_sends: u64,
    blocked_receives: u64,
    timeouts: u64,
    peak_msgs: u64,
    peak_bytes: u64,
    // The jiffies of the last of each (meaningful while its count is not 0).
    last_send: u64,
    last_receive: u64,
    last_handoff: u64,
    last_receive_handoff: u64,
    last_blocked_send: u64,
    last_blocked_receive: u64,
    last_timeout: u64,
    /// The coarse monotonic clock at jiffies `epoch.0` (`epoch.1` 0: not
    /// set yet).
    epoch: (u64, i64),
    /// How many resets there were (`RIPC_STATS_RESET`): a receive counted
    /// before one is not taken back after it ([`Receipt`]).
    resets: u32,
    /// Receives counted, less those whose time was taken back: while it
    /// is what a receipt saw, `last_receive` is that receipt's.
    times: u32,
    /// A receipt taken back while a later receive still counted (`times`
    /// as it made it, its ticks, its receives): its time goes too when
    /// `times` comes back to it, so that two receives taken back in their
    /// taking order leave the time before both.
    pending: Option<(u32, u32, u32)>,
}

/// What counting receives changed ([`Stats::took`]), to take back if their
/// messages come back ([`Stats::unreceived`]), in one word (a single
/// receive's result carries it): the resets when they were counted (low 16
/// bits), `Stats::times` after them (low 15 bits), and the ticks from the
/// last receive before them to their own (`u32::MAX`: the time stays).
#[derive(Clone, Copy)]
pub(crate) struct Receipt(NonZeroU64);

impl Receipt {
    fn new(resets: u32, count: u32, ago: u64) -> Self {
        let ago = u32::try_from(ago).unwrap_or(u32::MAX);
        let count = u64::from(count & 0x7fff) << 48;
        let resets = u64::from(resets & 0xffff) << 32;
        // The top bit set: never 0 (so `Option<Receipt>` is a word).
        let v = (1 << 63) | count | resets | u64::from(ago);
        Self(NonZeroU64::new(v).unwrap_or(NonZeroU64::MAX))
    }

    fn resets(self) -> u32 {
        (self.0.get() >> 32) as u32 & 0xffff
    }

    fn count(self) -> u32 {
        (self.0.get() >> 48) as u32 & 0x7fff
    }

    fn ago(self) -> u32 {
        self.0.get() as u32
    }

    /// The count only: the time of the last receive stays (a batch that
    /// delivered some of the messages it took).
    pub(crate) fn count_only(self) -> Self {
        Self(self.0 | u64::from(u32::MAX))
    }

    /// This receipt and `later`'s, of `n` receives counted after it (a
    /// batch's).  The lock may have been dropped between them (a batch's
    /// allocation for a blocked sender): after a reset meanwhile the
    /// first's resets stay, so that nothing is taken back (as after a
    /// reset since the whole batch); after another receive counted
    /// meanwhile, the time stays (the sum of the two would skip that
    /// receive's).
    pub(crate) fn and(self, later: Receipt, n: u32) -> Self {
        if later.resets() != self.resets() {
            return self.count_only();
        }
        let next = later.count() == self.count().wrapping_add(n) & 0x7fff;
        let ago = match (self.ago(), later.ago()) {
            (u32::MAX, _) | (_, u32::MAX) => u64::MAX,
            _ if !next => u64::MAX,
            (a, b) => u64::from(a) + u64::from(b),
        };
        Self::new(later.resets(), later.count(), ago)
    }
}

/// The receives of a batch's run, counted one by one as [`Stats::took`]
/// counts one, their one receipt made at the end ([`Tally::receipt`]):
/// that of receives counted one after the other, unless another receive
/// or a reset came between them (the lock dropped in the run), when the
/// time of the last receive stays, as [`Receipt::and`] keeps it.
#[derive(Default)]
pub(crate) struct Tally {
    /// The resets and the last receive's time before the first (`None`:
    /// nothing counted yet).
    first: Option<(u32, u64)>,
    /// `Stats::times` and the last receive's time after the last.
    times: u32,
    last: u64,
    /// How many, and whether anything came between them.
    n: u32,
    broken: bool,
}

impl Tally {
    /// The receipt of the receives counted, with how many they are.
    pub(crate) fn receipt(&self) -> Option<(Receipt, u32)> {
        let (resets, before) = self.first?;
        let ago = if self.broken {
            u64::MAX
        } else {
            self.last.wrapping_sub(before)
        };
        Some((Receipt::new(resets, self.times, ago), self.n))
    }
}

/// A queue state that keeps [`Stats`].
pub(crate) trait Counted {
    fn stats(&mut self) -> &mut Stats;

    /// The messages and bytes queued now.
    fn depth(&self) -> (u64, u64);

    /// The statistics as the uapi gives them; with `reset`, then zeroed.
    fn read_stats(&mut self, reset: bool) -> ripc_queue_stats {
        let (msgs, bytes) = self.depth();
        let s = self.stats().read(msgs, bytes);
        if reset {
            self.stats().reset(msgs, bytes);
        }
        s
    }
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
    fn sent(&mut self, len: usize) -> u64 {
        let now = kernel_api::jiffies();
        self.sent = self.sent.wrapping_add(1);
        self.sent_bytes = self.sent_bytes.wrapping_add(len as u64);
        self.last_send = now;
        now
    }

    /// A message of `len` bytes was sent into the queue, which then holds
    /// `msgs` messages of `bytes` bytes.
    pub(crate) fn queued(&mut self, len: usize, msgs: u64, bytes: u64) {
        self.sent(len);
        self.peak(msgs, bytes);
    }

    /// A message of `len` bytes was sent straight to a blocked receiver
    /// (`pipelined_send`).
    pub(crate) fn handed(&mut self, len: usize) {
        self.last_handoff = self.sent(len);
        self.handoffs = self.handoffs.wrapping_add(1);
    }

    /// A blocked sender's message was put in by the receive that made room
    /// for it (`pipelined_receive`); its send is counted as any other.
    pub(crate) fn handed_in(&mut self) {
        self.receive_handoffs = self.receive_handoffs.wrapping_add(1);
        self.last_receive_handoff = kernel_api::jiffies();
    }

    /// The queue holds `msgs` messages of `bytes` bytes (a message sent or
    /// put back): the peaks follow.
    pub(crate) fn peak(&mut self, msgs: u64, bytes: u64) {
        if msgs > self.peak_msgs {
            self.peak_msgs = msgs;
        }
        if bytes > self.peak_bytes {
            self.peak_bytes = bytes;
        }
    }

    /// `msgs` messages of `bytes` bytes in all were delivered to receivers.
    pub(crate) fn received(&mut self, msgs: usize, bytes: usize) {
        self.received = self.received.wrapping_add(msgs as u64);
        self.received_bytes = self.received_bytes.wrapping_add(bytes as u64);
        self.last_receive = kernel_api::jiffies();
        self.times = self.times.wrapping_add(msgs as u32);
    }

    /// A message of `len` bytes left the queue for a receive: counted as
    /// received, as it will be unless it comes back.
    pub(crate) fn took(&mut self, len: usize) -> Receipt {
        let before = self.last_receive;
        self.received(1, len);
        let ago = self.last_receive.wrapping_sub(before);
        Receipt::new(self.resets, self.times, ago)
    }

    /// [`Stats::took`] for a batch's run, into its tally.
    pub(crate) fn tallied(&mut self, len: usize, t: &mut Tally) {
        let before = self.last_receive;
        let after_last = t.times == self.times;
        self.received(1, len);
        match t.first {
            None => t.first = Some((self.resets, before)),
            Some((resets, _)) => t.broken |= !after_last || resets != self.resets,
        }
        (t.times, t.last, t.n) = (self.times, self.last_receive, t.n.wrapping_add(1));
    }

    /// `msgs` messages of `bytes` bytes counted as received when they left
    /// the queue (`r`) went back into the queue (the receiver could not take
    /// or report them): the counts and the time of the last receive are as
    /// if they had not been received.  After a reset (`RIPC_STATS_RESET`)
    /// since, nothing of them is counted.  Without a receipt (a message its
    /// sender filled into a receiver's buffer, counted then: one word more
    /// in every receive's result cost the data path), the count is taken
    /// back whatever came since, and the time stays.
    pub(crate) fn unreceived(&mut self, msgs: usize, bytes: usize, r: Option<Receipt>) {
        if let Some(r) = r {
            if r.resets() != self.resets & 0xffff {
                return;
            }
            // `times` as the receipt made it, in full (fewer than 2^15
            // counted since).
            let count = self
                .times
                .wrapping_sub(self.times.wrapping_sub(r.count()) & 0x7fff);
            let timed = r.ago() != u32::MAX;
            if timed && self.times == count {
                // No receive counted since (or those taken back): the last
                // is the one before them, or before one taken back earlier.
                self.take_back(r.ago(), msgs as u32);
                if let Some((_, ago, n)) = self.pending.take_if(|p| p.0 == self.times) {
                    self.take_back(ago, n);
                }
            } else if timed && self.pending.is_none() {
                self.pending = Some((count, r.ago(), msgs as u32));
            }
        }
        self.received = self.received.saturating_sub(msgs as u64);
        self.received_bytes = self.received_bytes.saturating_sub(bytes as u64);
    }

    /// The last receive's time goes back `ago` ticks, before `msgs` receives.
    fn take_back(&mut self, ago: u32, msgs: u32) {
        self.last_receive = self.last_receive.wrapping_sub(u64::from(ago));
        self.times = self.times.wrapping_sub(msgs);
    }

    /// A call goes to sleep.
    pub(crate) fn blocked(&mut self, b: Blocked) {
        let now = kernel_api::jiffies();
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
        self.last_timeout = kernel_api::jiffies();
    }

    /// The counters as the uapi gives them, with the queue's depth now
    /// (`msgs`, `bytes`).
    pub(crate) fn read(&mut self, msgs: u64, bytes: u64) -> ripc_queue_stats {
        let (now_j, now_ns) = (kernel_api::jiffies(), kernel_api::coarse_mono_ns());
        let off = now_ns.saturating_sub(monotonic(self.epoch, now_j));
        if self.epoch.1 == 0 || off.saturating_abs() > DRIFT_NS {
            self.epoch = (now_j, now_ns);
        }
        let (epoch, real) = (self.epoch, kernel_api::real_offset_ns());
        let at = |j: u64, count: u64| {
            if count == 0 {
                0
            } else {
                monotonic(epoch, j).saturating_add(real)
            }
        };
        ripc_queue_stats {
            sent: self.sent,
            sent_bytes: self.sent_bytes,
            received: self.received,
            received_bytes: self.received_bytes,
            handoffs: self.handoffs,
            receive_handoffs: self.receive_handoffs,
            blocked_sends: self.blocked_sends,
            blocked_receives: self.blocked_receives,
            timeouts: self.timeouts,
            peak_msgs: self.peak_msgs,
            peak_bytes: self.peak_bytes,
            msgs,
            bytes,
            last_send_ns: at(self.last_send, self.sent),
            last_receive_ns: at(self.last_receive, self.received),
            last_handoff_ns: at(self.last_handoff, self.handoffs),
            last_receive_handoff_ns: at(self.last_receive_handoff, self.receive_handoffs),
            last_blocked_send_ns: at(self.last_blocked_send, self.blocked_sends),
            last_blocked_receive_ns: at(self.last_blocked_receive, self.blocked_receives),
            last_timeout_ns: at(self.last_timeout, self.timeouts),
        }
    }

    /// Zeroes the counters; the peaks restart from the queue's depth now
    /// (`msgs`, `bytes`).
    pub(crate) fn reset(&mut self, msgs: u64, bytes: u64) {
        *self = Stats {
            epoch: self.epoch,
            resets: self.resets.wrapping_add(1),
            ..Stats::default()
        };
        self.peak(msgs, bytes);
    }
}

/// How far the tick count may drift from the clock before a queue's times
/// are counted from a new epoch: ticks are counted late or lost only where
/// a CPU did not run for a while (a guest's vCPU under a loaded host, where
/// two ticks' drift, the bound before 2026-12-07, moved a time between two
/// reads of it).
const DRIFT_NS: i64 = 100_000_000;

/// `CLOCK_MONOTONIC` at jiffies `j`, from `epoch` (the clock at a tick).
fn monotonic(epoch: (u64, i64), j: u64) -> i64 {
    let ticks = j.wrapping_sub(epoch.0) as i64;
    let ns = kernel_api::jiffies_to_ns(ticks.unsigned_abs()) as i64;
    if ticks < 0 {
        epoch.1.saturating_sub(ns)
    } else {
        epoch.1.saturating_add(ns)
    }
}

/// The `RIPC_LIST_STATS` table's header: its columns before the queue's
/// own.
pub(crate) fn header<'a, 'b>(t: &'a mut Text<'b>) -> &'a mut Text<'b> {
    t.bytes(
        b"sent sent_bytes received received_bytes handoffs \
receive_handoffs blocked_sends blocked_receives timeouts peak_msgs peak_bytes msgs bytes \
last_send_ns last_receive_ns last_handoff_ns last_receive_handoff_ns last_blocked_send_ns \
last_blocked_receive_ns last_timeout_ns",
    )
}

/// A queue's counters as a line of the `RIPC_LIST_STATS` table: the fields
/// in order, in decimal, one space apart.
pub(crate) fn row<'a, 'b>(t: &'a mut Text<'b>, s: &ripc_queue_stats) -> &'a mut Text<'b> {
    let fields = [
        s.sent,
        s.sent_bytes,
        s.received,
        s.received_bytes,
        s.handoffs,
        s.receive_handoffs,
        s.blocked_sends,
        s.blocked_receives,
        s.timeouts,
        s.peak_msgs,
        s.peak_bytes,
        s.msgs,
        s.bytes,
    ];
    let times = [
        s.last_send_ns,
        s.last_receive_ns,
        s.last_handoff_ns,
        s.last_receive_handoff_ns,
        s.last_blocked_send_ns,
        s.last_blocked_receive_ns,
        s.last_timeout_ns,
    ];
    t.dec(s.sent);
    for v in fields.into_iter().skip(1) {
        t.sp().dec(v);
    }
    for v in times {
        t.sp().dec(v);
    }
    t
}
