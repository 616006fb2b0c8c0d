// SPDX-License-Identifier: GPL-2.0

//! Blocking, shared by both queue families (native `wq_sleep` and the
//! `msg_receiver`/`msg_sender` lists).
//!
//! A blocked task puts an entry on its queue's list of waiters, under the
//! queue lock, and sleeps ([`waitq`]: the entry is on its stack, as
//! native's).  A waker picks exactly the entry that can proceed (the first
//! receiver whose type matches, the first sender), gives it what it needs
//! (a message, an error) in place, takes it out of the list and wakes that
//! one task: no thundering herd, a hand-off never goes through the queue,
//! and the task finds what it was given without the lock.  The sleep itself is
//! native `wq_sleep`'s ([`kernel_api::clock::sleep_unlocked`]): the task is
//! marked asleep under the lock, so a wake-up between unlock and
//! `schedule()` is never lost, and a deadline is an hrtimer on the caller's
//! clock.

#![deny(unsafe_code)]

use kernel::{
    fs::File,
    prelude::*,
    sync::{
        aref::ARef,
        lock::Guard,
        poll::{PollCondVarBox, PollTable},
    },
    task::Task,
};

pub(crate) use crate::ipc::kernel_api::waitq::WaitList;

use crate::ipc::{
    defs::{ripc_clock, ripc_timespec, write_user, RIPC_TIMEOUT_RELATIVE},
    kernel_api::{
        self,
        clock::{read_timespec, Clock},
    },
    lock::{unlocked, QueueLockBackend},
    msg::{Kept, Msg},
    stats::{Blocked, Counted},
    waitq::{Mine, Slept},
};

/// Tasks to wake after the queue lock is dropped (the native `wake_q`): a
/// task woken under the lock could preempt its waker only to block on that
/// lock.  Declare it before the lock guard: dropping it wakes every task, so
/// an early return wakes them too, after the guard is gone.
pub(crate) struct WakeQ {
    first: Option<ARef<Task>>,
    /// The others, rare: an `Option` because dropping even an empty `KVec`
    /// calls the allocator (`krealloc(NULL, 0)`), once per queue operation.
    more: Option<KVec<ARef<Task>>>,
}

impl WakeQ {
    pub(crate) const fn new() -> Self {
        Self {
            first: None,
            more: None,
        }
    }

    /// Inline: a waker serves one task, most often.
    #[inline]
    pub(crate) fn add(&mut self, t: ARef<Task>) {
        if self.first.is_none() {
            self.first = Some(t);
        } else {
            self.add_more(t);
        }
    }

    #[cold]
    #[inline(never)]
    fn add_more(&mut self, t: ARef<Task>) {
        let more = self.more.get_or_insert_with(KVec::new);
        if more.reserve(1, GFP_ATOMIC).is_err() {
            // No memory for the list: wake this one now, under the lock.
            t.wake_up();
        } else if let Err(e) = more.push_within_capacity(t) {
            e.0.wake_up();
        }
    }
}

impl WakeQ {
    /// Wakes the tasks (out of line: most operations wake nobody); the
    /// first, which is most often the only one, without a loop.
    #[inline(never)]
    fn wake_all(&mut self) {
        if let Some(t) = self.first.take() {
            t.wake_up();
        }
        if self.more.is_some() {
            self.wake_more();
        }
    }

    #[cold]
    #[inline(never)]
    fn wake_more(&mut self) {
        for t in self.more.take().iter().flatten() {
            t.wake_up();
        }
    }

    /// Wakes the tasks added so far now, not at the end of the run: before
    /// a run sleeps (safe under the queue lock, a spinlock).
    #[inline]
    pub(crate) fn flush(&mut self) {
        // `more` holds tasks only if `first` does.
        if self.first.is_some() {
            self.wake_all();
        }
    }
}

impl WakeQ {
    /// Wakes the tasks, as dropping it does, with no call when there are
    /// none (a return path whose drops the compiler keeps out of line).
    #[inline]
    pub(crate) fn wake(self) {
        let mut q = core::mem::ManuallyDrop::new(self);
        // `more` holds tasks only if `first` does, and `wake_all` takes
        // both: nothing is left to drop.
        if q.first.is_some() {
            q.wake_all();
        }
    }
}

impl Drop for WakeQ {
    #[inline]
    fn drop(&mut self) {
        self.flush();
    }
}

/// A deadline: a time on a clock, or none (wait forever).
#[derive(Clone, Copy)]
pub(crate) struct Deadline {
    at: Option<(Clock, i64)>,
    /// Given as a time to wait, in the caller's `struct ripc_timespec` at
    /// this address (0: an absolute deadline or none): a signal writes the
    /// time left back there ([`Deadline::interrupted`]).
    relative: u64,
}

impl Deadline {
    const NONE: Deadline = Deadline {
        at: None,
        relative: 0,
    };

    /// A relative wait that a signal interrupted, as `ppoll`'s: the time
    /// left is written back to the caller's timespec, and the call restarts
    /// with it if no handler runs (a stop and continue, a cgroup's freezer:
    /// the wait goes on for what is left), else fails with `EINTR` whatever
    /// `SA_RESTART` says, so that it never waits longer than asked.  If it
    /// cannot be written (read-only), `EINTR`.  Writes to user memory: not
    /// under a queue lock.
    fn interrupted(&self) -> Error {
        let Some((clock, at)) = self.at else {
            return EINTR;
        };
        let left = at.saturating_sub(clock.now()).max(0);
        let ts = ripc_timespec {
            tv_sec: left / 1_000_000_000,
            tv_nsec: left % 1_000_000_000,
        };
        match write_user(self.relative, &ts) {
            Ok(()) => ERESTARTNOHAND,
            Err(_) => EINTR,
        }
    }

    /// Whether the deadline has passed (never, with none).
    pub(crate) fn passed(&self) -> bool {
        matches!(self.at, Some((c, at)) if c.now() >= at)
    }

    /// Reads and validates a `struct ripc_timespec *` (0: no deadline) on
    /// the clock `c` says: an unknown clock or flag is `EINVAL` (even with
    /// no timespec), then a bad pointer is `EFAULT`, a `tv_nsec` outside
    /// `0..1e9` or a negative `tv_sec` is `EINVAL`, as `prepare_timeout`
    /// does.  A huge `tv_sec` saturates.  A relative time is counted from
    /// now, on `CLOCK_MONOTONIC` if it was given on `CLOCK_REALTIME` (a
    /// clock step does not move it, as with relative hrtimers).
    #[inline(always)]
    pub(crate) fn from_user(ptr: u64, c: &ripc_clock) -> Result<Deadline> {
        // No timeout with the zero clock (`CLOCK_REALTIME`, 0 in the uapi,
        // absolute): most calls, in one test, inline.
        if ptr == 0 && c.flags == 0 && c.clockid == 0 {
            return Ok(Deadline::NONE);
        }
        Self::read(ptr, c)
    }

    /// [`Deadline::from_user`] with a timeout or a clock.
    #[inline(never)]
    fn read(ptr: u64, c: &ripc_clock) -> Result<Deadline> {
        let relative = match c.flags {
            0 => false,
            RIPC_TIMEOUT_RELATIVE => true,
            _ => return Err(EINVAL),
        };
        let clock = Clock::from_id(c.clockid)?;
        if ptr == 0 {
            return Ok(Deadline::NONE);
        }
        let (sec, nsec) = read_timespec(ptr)?;
        if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
            return Err(EINVAL);
        }
        let ns = sec.saturating_mul(1_000_000_000).saturating_add(nsec);
        let at = if !relative {
            // Read in the caller's time namespace; the hrtimer and `now`
            // are the host's.
            (clock, clock.to_host(ns))
        } else {
            let clock = match clock {
                Clock::Realtime => Clock::Monotonic,
                c => c,
            };
            (clock, clock.now().saturating_add(ns))
        };
        Ok(Deadline {
            at: Some(at),
            relative: if relative { ptr } else { 0 },
        })
    }
}

/// How a run of sends or receives may block: not at all (`O_NONBLOCK`),
/// only for its first message (`RIPC_BATCH_WAITFORONE`), or for each.
#[derive(Clone, Copy)]
pub(crate) struct Blocking {
    pub(crate) nonblock: bool,
    pub(crate) first_only: bool,
    pub(crate) deadline: Deadline,
}

impl Blocking {
    /// The blocking of a batch of `count` items (`EINVAL` beyond
    /// `RIPC_BATCH_MAX`), and its count.
    pub(crate) fn batch(
        count: u32,
        flags: u32,
        nonblock: bool,
        timeout: u64,
        clock: &ripc_clock,
    ) -> Result<(usize, Self)> {
        // Unknown flags are refused, so that one can be added later.
        if count > crate::ipc::defs::RIPC_BATCH_MAX
            || flags & !crate::ipc::defs::RIPC_BATCH_WAITFORONE != 0
        {
            return Err(EINVAL);
        }
        let b = Blocking {
            nonblock,
            first_only: flags & crate::ipc::defs::RIPC_BATCH_WAITFORONE != 0,
            deadline: Deadline::from_user(timeout, clock)?,
        };
        Ok((count as usize, b))
    }

    pub(crate) fn may_block(&self, done: usize) -> bool {
        !(self.nonblock || (self.first_only && done > 0))
    }

    /// The blocking of the rest of a batch once `done` items are done.
    pub(crate) fn after(self, done: usize) -> Self {
        Blocking {
            nonblock: !self.may_block(done),
            ..self
        }
    }
}

/// What a send batch loads at a time: up to 32 messages and 64 KiB (or one
/// bigger message).  A batch blocked on a full queue holds one part (as
/// a few blocked senders would), not the whole batch.
pub(crate) const PART_MSGS: usize = 32;
pub(crate) const PART_BYTES: usize = 64 << 10;

/// A send batch, in parts: each part's messages are loaded (`load`, in
/// order, up to the first failure, into the heads `heads` lends for as
/// many messages, where it can; those not used are freed after), then
/// sent in one run (`run`).  The first failure ends the batch, with the
/// semantics of as many single sends: `read_err` is that of the item
/// after `items`.
pub(crate) fn send_parts<T>(
    items: &[T],
    read_err: Option<Error>,
    b: Blocking,
    mut heads: impl FnMut(usize) -> Kept,
    mut load: impl FnMut(&T, &mut Kept) -> Result<Msg>,
    mut run: impl FnMut(KVec<Msg>, Blocking) -> (usize, Option<Error>),
) -> Result<usize> {
    let mut done = 0;
    let mut next = items.iter().peekable();
    while next.peek().is_some() {
        let mut msgs = match KVec::with_capacity(PART_MSGS, GFP_KERNEL_ACCOUNT) {
            Ok(v) => v,
            Err(e) => return outcome(done, Some(e.into())),
        };
        let mut lent = heads(next.len().min(PART_MSGS));
        let (mut bytes, mut load_err) = (0, None);
        while msgs.len() < PART_MSGS && bytes < PART_BYTES {
            let Some(it) = next.next() else { break };
            match load(it, &mut lent) {
                Ok(m) => {
                    bytes += m.len();
                    let _ = msgs.push_within_capacity(m);
                }
                Err(e) => {
                    load_err = Some(e);
                    break;
                }
            }
        }
        drop(lent);
        if !msgs.is_empty() {
            let (n, run_err) = run(msgs, b.after(done));
            done += n;
            if run_err.is_some() {
                return outcome(done, run_err);
            }
        }
        if load_err.is_some() {
            return outcome(done, load_err);
        }
    }
    outcome(done, read_err)
}

/// The result of a run: its count, or its error if it did nothing.
pub(crate) fn outcome(done: usize, err: Option<Error>) -> Result<usize> {
    match (done, err) {
        (0, Some(e)) => Err(e),
        (n, _) => Ok(n),
    }
}

/// How a blocked call ends when it is interrupted by a signal.
#[derive(Clone, Copy)]
pub(crate) enum OnSignal {
    /// POSIX calls: `-ERESTARTSYS` (restarted under `SA_RESTART`).
    RestartSys,
    /// System V calls: `-ERESTARTNOHAND` (`EINTR` whenever a handler ran).
    RestartNoHand,
}

impl OnSignal {
    /// The error a pending signal ends a call with; `EINTR` for one given
    /// a time to wait, whose time left is written back first
    /// ([`Deadline::interrupted`], without the queue lock).
    fn error(self, deadline: &Deadline) -> Error {
        match self {
            _ if deadline.relative != 0 => EINTR,
            OnSignal::RestartSys => ERESTARTSYS,
            OnSignal::RestartNoHand => ERESTARTNOHAND,
        }
    }
}

/// The error of a call that a pending signal ends (not waiting: `g`'s lock
/// is dropped to write a time left back).
#[cold]
pub(crate) fn signalled<S>(
    g: &mut Guard<'_, S, QueueLockBackend>,
    deadline: Deadline,
    on_signal: OnSignal,
) -> Error {
    match on_signal.error(&deadline) {
        EINTR => unlocked(g, || deadline.interrupted()),
        e => e,
    }
}

/// A blocked call's sleep, for [`waitq::wait`]: sleeps until its entry
/// (`mine`) is served, or woken to look again ([`WaitList::poke_all`]),
/// unless a signal is pending (`do_msgrcv` looks for one before it looks
/// at the queue again), and returns with the lock held.  On a signal or
/// the deadline the entry leaves the list and the error is returned,
/// unless a waker served it first (`wq_sleep`'s order: served, then
/// signalled, then timed out).  If `leave`, a task woken served returns at
/// once, without the lock ([`Slept::Left`], native's `STATE_READY`).  The
/// queue's counters get the sleep (`blocked`, if it sleeps at all) and the
/// timeout.
pub(crate) fn sleep<'a, S: Unpin + Counted, W>(
    mut g: Guard<'a, S, QueueLockBackend>,
    mine: &Mine<'_, W>,
    deadline: Deadline,
    on_signal: OnSignal,
    mut blocked: Blocked,
    leave: bool,
) -> Slept<Guard<'a, S, QueueLockBackend>, Result> {
    let mut timed_out = false;
    loop {
        let err = if mine.served() {
            return Slept::Locked(g, Ok(()));
        } else if kernel::current!().signal_pending() {
            // Its time left is written back below, after the entry.
            on_signal.error(&deadline)
        } else if mine.poked() {
            return Slept::Locked(g, Ok(()));
        } else if timed_out {
            ETIMEDOUT
        } else {
            // A deadline already past times out without sleeping.
            if !deadline.passed() {
                g.stats().blocked(blocked);
                blocked = Blocked::Again;
            }
            let served = || (leave && mine.served()).then_some(());
            match kernel_api::clock::sleep_unlocked(g, deadline.at, served) {
                Ok((again, t)) => (g, timed_out) = (again, t),
                Err(()) => return Slept::Left(Ok(())),
            }
            continue;
        };
        // Out of the list, under the lock it was looked at with: nothing
        // waits on it once the lock is dropped below.
        mine.leave(&mut g);
        if err == ETIMEDOUT {
            g.stats().timed_out();
        } else if err == EINTR {
            let err = unlocked(&mut g, || deadline.interrupted());
            return Slept::Locked(g, Err(err));
        }
        return Slept::Locked(g, Err(err));
    }
}

/// The poll wait queue of a queue.  Until someone polls the queue, a send
/// or receive skips the wake-up call (and its lock): the queue's state
/// records that it was polled ([`EngineState`]) (under the queue lock, after the poller
/// registered here and before it looks at the state), and the run that
/// changed the state looks at that record before it drops the lock, so a
/// poller that looked before a change is seen.
///
/// The wait queue is a [`PollCondVarBox`]: freeing it waits for the epoll
/// items to go through `kfree_rcu`, where a plain `PollCondVar` calls
/// `synchronize_rcu()` (an `IPC_RMID` or a last close took 15-20 ms).
///
/// [`EngineState`]: crate::ipc::engine::EngineState
pub(crate) struct PollQueue {
    cv: PollCondVarBox,
}

/// Ends a run of sends or receives: drops the queue lock `g`, then wakes
/// the tasks the run served and the pollers, if `poll` (the run moved
/// something and the queue was polled).
#[inline]
pub(crate) fn end_run<G>(
    g: G,
    wq: WakeQ,
    poll: Option<&PollQueue>,
    n: usize,
    err: Option<Error>,
) -> (usize, Option<Error>) {
    drop(g);
    drop(wq);
    if let Some(p) = poll {
        p.notify();
    }
    (n, err)
}

impl PollQueue {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            cv: PollCondVarBox::new(c"rust_ipc_poll", kernel::static_lock_class!())?,
        })
    }

    /// Registers a `poll` call, before the queue lock is taken
    /// ([`Parts::poll_lock`], which then marks the queue polled).
    ///
    /// [`Parts::poll_lock`]: crate::ipc::engine::Parts::poll_lock
    pub(crate) fn register(&self, file: &File, table: &PollTable<'_>) {
        table.register_wait(file, &self.cv);
    }

    /// Wakes the pollers; best after dropping the queue lock (a woken
    /// poller takes it), safe under it (`__wake_up` takes a spinlock).
    pub(crate) fn notify(&self) {
        self.cv.notify_all();
    }
}
