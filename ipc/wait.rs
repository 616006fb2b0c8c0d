// SPDX-License-Identifier: GPL-2.0

//! Blocking, shared by both queue families (native `wq_sleep` and the
//! `msg_receiver`/`msg_sender` lists).
//!
//! A blocked task puts an entry on its queue's list of waiters, under the
//! queue lock, and sleeps.  A waker picks exactly the entry that can proceed
//! (the first receiver whose type matches, the first sender), gives it what
//! it needs (a message, an error) and wakes that one task: no thundering
//! herd, and a hand-off never goes through the queue.  The sleep itself is
//! native `wq_sleep`'s ([`kernel_api::clock::sleep_unlocked`]): the task is
//! marked asleep under the lock, so a wake-up between unlock and
//! `schedule()` is never lost, and a deadline is an hrtimer on the caller's
//! clock.

#![deny(unsafe_code)]

use core::ops::ControlFlow;
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

use crate::ipc::{
    defs::{ripc_clock, ripc_timespec, write_user, RIPC_TIMEOUT_RELATIVE},
    kernel_api::{
        self,
        clock::{read_timespec, Clock},
    },
    lock::{unlocked, QueueLockBackend},
    msg::Msg,
    stats::{Blocked, Counted},
};

/// A blocked task and its request `W`.
pub(crate) struct Waiter<W> {
    task: ARef<Task>,
    done: bool,
    /// Woken to look again, still in the waiting order ([`WaitList::poke_all`]).
    poked: bool,
    /// What the task waits for and, once `done` (or `poked`), what it was
    /// given.
    pub(crate) w: W,
}

impl<W> Waiter<W> {
    /// The waiting task.
    pub(crate) fn task(&self) -> &Task {
        &self.task
    }

    /// Marks the entry served (under the queue lock) and queues its task on
    /// `wq`, which wakes it once the lock is dropped.  The list unlinks it
    /// from the waiting order; its task takes it out when it wakes.
    pub(crate) fn wake(&mut self, wq: &mut WakeQ) {
        self.done = true;
        wq.add(self.task.clone());
    }

    /// [`Waiter::wake`], the task woken now, under the queue lock.
    pub(crate) fn wake_now(&mut self) {
        self.done = true;
        self.task.wake_up();
    }
}

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
    fn add(&mut self, t: ARef<Task>) {
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

impl Drop for WakeQ {
    #[inline]
    fn drop(&mut self) {
        self.flush();
    }
}

/// No slot (the end of a chain).
const NIL: u32 = u32::MAX;

/// A slot of a [`WaitList`]: an entry and its links in the waiting order,
/// or a free slot and the next free one (`next`).
pub(crate) struct Slot<W> {
    prev: u32,
    next: u32,
    /// Whether the slot is in the waiting order.
    linked: bool,
    e: Option<Waiter<W>>,
}

/// The waiters of one kind (senders or receivers) of one queue, in the
/// order they are served.
///
/// Entries live in slots of one vector and are linked in waiting order by
/// index, so a waiter is added at its place and removed in O(1) (its id is
/// its slot), nothing moves, and only a list longer than ever before
/// allocates.  A served entry leaves the waiting order at once and keeps
/// its slot until its task, woken, takes it ([`sleep`]).  A vector of more
/// than [`KEEP_SLOTS`] is freed when its last entry is taken: the room a
/// crowd of waiters needed is not kept for the queue's life (part of it
/// may be uncharged: [`WaitList::more_room`]).
pub(crate) struct WaitList<W> {
    slots: KVec<Slot<W>>,
    head: u32,
    tail: u32,
    free: u32,
    /// The slots that hold an entry, plus [`BIG`] while the vector has
    /// more than [`KEEP_SLOTS`] (one compare when an entry is taken).
    used: u32,
}

/// In [`WaitList::used`]: the vector is to be freed once no entry is left.
const BIG: u32 = 1 << 31;

/// The most slots a [`WaitList`] keeps once no entry is left.
const KEEP_SLOTS: usize = 16;

impl<W> WaitList<W> {
    pub(crate) const fn new() -> Self {
        Self {
            slots: KVec::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
            used: 0,
        }
    }

    /// Whether one more waiter can be added without an allocation, else the
    /// room the list needs for it: allocated by [`WaitList::more_room`]
    /// with the queue lock dropped, then given to [`WaitList::grow`].
    pub(crate) fn room(&self) -> Result<(), usize> {
        if self.free != NIL || self.slots.len() < self.slots.capacity() {
            return Ok(());
        }
        Err(self.slots.len().saturating_mul(2).max(4))
    }

    /// Room for `n` slots (may sleep: not under the queue lock).  Charged
    /// to the memory cgroup, else taken without a charge: native's waiter
    /// is on its task's stack, so a call never fails to block for want of
    /// memory (the uncharged room is bounded by the tasks that block).
    pub(crate) fn more_room(n: usize) -> Result<KVec<Slot<W>>> {
        match KVec::with_capacity(n, GFP_KERNEL_ACCOUNT) {
            Ok(v) => Ok(v),
            Err(_) => Ok(KVec::with_capacity(n, GFP_KERNEL)?),
        }
    }

    /// Moves the slots into `more` if it is larger (without an allocation:
    /// under the queue lock); the smaller vector is freed.
    pub(crate) fn grow(&mut self, mut more: KVec<Slot<W>>) {
        if more.capacity() <= self.slots.capacity() {
            return;
        }
        for s in self.slots.drain_all() {
            // Within its capacity, larger than the slots' count.
            let _ = more.push_within_capacity(s);
        }
        self.slots = more;
        if self.slots.capacity() > KEEP_SLOTS {
            self.used |= BIG;
            // Every waiter left while the room was made: none to free it.
            if self.used == BIG {
                self.shrink();
            }
        }
    }

    /// Adds the current task at the tail (System V: FIFO); returns the id
    /// its sleep uses.
    pub(crate) fn add(&mut self, w: W) -> Result<u64> {
        self.insert(w, false)
    }

    /// Adds the current task after every waiter of its priority or a more
    /// urgent one (`wq_add`: POSIX waiters are served by task priority,
    /// FIFO among equals); returns the id its sleep uses.
    pub(crate) fn add_by_prio(&mut self, w: W) -> Result<u64> {
        self.insert(w, true)
    }

    fn entry(&self, i: u32) -> Option<&Slot<W>> {
        self.slots.get(i as usize)
    }

    fn slot(&mut self, i: u32) -> Option<&mut Slot<W>> {
        self.slots.get_mut(i as usize)
    }

    fn insert(&mut self, w: W, by_prio: bool) -> Result<u64> {
        let (task, prio) = kernel_api::current_task_prio();
        // The entry it goes after: the last one at least as urgent, by the
        // waiters' priorities now, as `wq_add` reads them (from the tail:
        // equal priorities, the common case, cost one step).
        let mut after = self.tail;
        if by_prio {
            while let Some(Slot {
                e: Some(o), prev, ..
            }) = self.entry(after)
            {
                if kernel_api::task_prio(&o.task) <= prio {
                    break;
                }
                after = *prev;
            }
        }
        // The entry is written once, in its slot (a free one holds none).
        let e = Waiter {
            task,
            done: false,
            poked: false,
            w,
        };
        let i = match self.slots.get_mut(self.free as usize) {
            Some(s) => {
                let i = self.free;
                self.free = s.next;
                s.e = Some(e);
                i
            }
            None => {
                let i = u32::try_from(self.slots.len()).map_err(|_| ENOMEM)?;
                let slot = Slot {
                    prev: NIL,
                    next: NIL,
                    linked: false,
                    e: Some(e),
                };
                // The caller made room ([`WaitList::room`]).
                self.slots.push_within_capacity(slot).map_err(|_| ENOMEM)?;
                i
            }
        };
        self.link(i, after);
        self.used = self.used.wrapping_add(1);
        Ok(u64::from(i))
    }

    /// Links slot `i` into the waiting order after `after` (`NIL`: first).
    fn link(&mut self, i: u32, after: u32) {
        let next = match self.slot(after) {
            Some(a) => core::mem::replace(&mut a.next, i),
            None => core::mem::replace(&mut self.head, i),
        };
        match self.slot(next) {
            Some(n) => n.prev = i,
            None => self.tail = i,
        }
        if let Some(s) = self.slot(i) {
            (s.prev, s.next, s.linked) = (after, next, true);
        }
    }

    /// Takes slot `i` out of the waiting order.
    fn unlink(&mut self, i: u32) {
        let Some(s) = self.slot(i).filter(|s| s.linked) else {
            return;
        };
        let (prev, next) = (s.prev, s.next);
        (s.prev, s.next, s.linked) = (NIL, NIL, false);
        match self.slot(prev) {
            Some(p) => p.next = next,
            None => self.head = next,
        }
        match self.slot(next) {
            Some(n) => n.prev = prev,
            None => self.tail = prev,
        }
    }

    /// What entry `id` waits with, while it waits (not served yet).
    pub(crate) fn waiting(&mut self, id: u64) -> Option<&mut W> {
        let s = self.slot(u32::try_from(id).ok()?)?;
        if !s.linked {
            return None;
        }
        s.e.as_mut().map(|e| &mut e.w)
    }

    /// The first waiting entry, to look at.
    pub(crate) fn first(&mut self) -> Option<&mut Waiter<W>> {
        let head = self.head;
        self.slot(head)?.e.as_mut()
    }

    /// Serves the first waiting entry: `f` gives it what it needs, it is
    /// woken ([`Waiter::wake`]) and leaves the waiting order; returns what
    /// `f` returns, `None` if no entry waits.
    pub(crate) fn serve_first<R>(
        &mut self,
        wq: &mut WakeQ,
        f: impl FnOnce(&mut Waiter<W>) -> R,
    ) -> Option<R> {
        let head = self.head;
        let e = self.slot(head)?.e.as_mut()?;
        let r = f(e);
        e.wake(wq);
        self.unlink(head);
        Some(r)
    }

    /// Visits the waiting entries in order with `f` until it breaks; an
    /// entry it serves ([`Waiter::wake`]) leaves the waiting order.  (An
    /// empty list, the common case, costs a compare, not a call.)
    #[inline]
    pub(crate) fn each(&mut self, f: impl FnMut(&mut Waiter<W>) -> ControlFlow<()>) {
        if self.head != NIL {
            self.each_linked(f);
        }
    }

    fn each_linked(&mut self, mut f: impl FnMut(&mut Waiter<W>) -> ControlFlow<()>) {
        let mut i = self.head;
        while let Some(s) = self.slot(i) {
            let next = s.next;
            let Some(e) = s.e.as_mut() else { break };
            let flow = f(e);
            if e.done {
                self.unlink(i);
            }
            if flow.is_break() {
                break;
            }
            i = next;
        }
    }

    /// Whether any entry is waiting.
    pub(crate) fn any_waiting(&self) -> bool {
        self.head != NIL
    }

    /// Serves every waiter with `f` and wakes it (queue removal).
    pub(crate) fn wake_all(&mut self, wq: &mut WakeQ, f: impl Fn(&mut W)) {
        self.each(|e| {
            f(&mut e.w);
            e.wake(wq);
            ControlFlow::Continue(())
        });
    }

    /// Gives every waiter `f` and wakes it to look again, leaving it in the
    /// waiting order (`expunge_all(-EAGAIN)`): until its task runs and
    /// takes its entry, a waker may still serve it, over what `f` gave.
    pub(crate) fn poke_all(&mut self, wq: &mut WakeQ, f: impl Fn(&mut W)) {
        let mut i = self.head;
        while let Some(s) = self.slot(i) {
            i = s.next;
            if let Some(e) = s.e.as_mut() {
                f(&mut e.w);
                e.poked = true;
                wq.add(e.task.clone());
            }
        }
    }

    /// Whether entry `id` was served (`Some(true)`) or woken to look
    /// again (`Some(false)`).
    fn served(&self, id: u64) -> Option<bool> {
        let i = u32::try_from(id).unwrap_or(NIL);
        match self.entry(i) {
            Some(Slot { e: Some(e), .. }) if e.done || e.poked => Some(e.done),
            _ => None,
        }
    }

    /// Takes entry `id` out of the list (its task's, when it wakes).
    fn take(&mut self, id: u64) -> Option<Waiter<W>> {
        let i = u32::try_from(id).ok()?;
        // A served entry has left the waiting order already.
        if self.entry(i)?.linked {
            self.unlink(i);
        }
        let free = self.free;
        let s = self.slot(i)?;
        let e = s.e.take()?;
        (s.prev, s.next) = (NIL, free);
        self.free = i;
        self.used = self.used.wrapping_sub(1);
        if self.used == BIG {
            self.shrink();
        }
        Some(e)
    }

    /// Frees the slots once no entry, so no id, is left (under the queue
    /// lock: a `kfree`, which does not sleep).  Out of line: rare.
    #[cold]
    #[inline(never)]
    fn shrink(&mut self) {
        *self = Self::new();
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
/// order, up to the first failure), then sent in one run (`run`).  The
/// first failure ends the batch, with the semantics of as many single
/// sends: `read_err` is that of the item after `items`.
pub(crate) fn send_parts<T>(
    items: &[T],
    read_err: Option<Error>,
    b: Blocking,
    mut load: impl FnMut(&T) -> Result<Msg>,
    mut run: impl FnMut(KVec<Msg>, Blocking) -> (usize, Option<Error>),
) -> Result<usize> {
    let mut done = 0;
    let mut next = items.iter().peekable();
    while next.peek().is_some() {
        let mut msgs = match KVec::with_capacity(PART_MSGS, GFP_KERNEL_ACCOUNT) {
            Ok(v) => v,
            Err(e) => return outcome(done, Some(e.into())),
        };
        let (mut bytes, mut load_err) = (0, None);
        while msgs.len() < PART_MSGS && bytes < PART_BYTES {
            let Some(it) = next.next() else { break };
            match load(it) {
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

/// Sleeps until entry `id` of `list(state)` is served, and returns it
/// removed from the list.  On a signal or the deadline the entry is removed
/// and the error returned, unless a waker served it first (`wq_sleep`'s
/// order: served, then signalled, then timed out).  One woken to look again
/// ([`WaitList::poke_all`]) is returned too, unless a signal is pending
/// (`do_msgrcv` looks for one before it looks at the queue again).  `taken` sees the entry
/// once it is removed, either way (to keep what must outlive the lock).
/// The queue's counters get the sleep (`blocked`, if it sleeps at all) and
/// the timeout.
pub(crate) fn sleep<S: Unpin + Counted, W>(
    g: &mut Guard<'_, S, QueueLockBackend>,
    list: impl Fn(&mut S) -> &mut WaitList<W>,
    id: u64,
    deadline: Deadline,
    on_signal: OnSignal,
    mut blocked: Blocked,
    taken: impl FnOnce(&mut W),
) -> Result<W> {
    let mut timed_out = false;
    loop {
        let served = list(g).served(id);
        let err = if served == Some(true) {
            None
        } else if kernel::current!().signal_pending() {
            // Its time left is written back below, after the entry.
            Some(on_signal.error(&deadline))
        } else if served.is_some() {
            // Woken to look again.
            None
        } else if timed_out {
            Some(ETIMEDOUT)
        } else {
            // A deadline already past times out without sleeping.
            if !deadline.passed() {
                g.stats().blocked(blocked);
                blocked = Blocked::Again;
            }
            timed_out = kernel_api::clock::sleep_unlocked(g, deadline.at);
            continue;
        };
        let mut e = list(g).take(id).ok_or(EINVAL)?;
        taken(&mut e.w);
        return match err {
            Some(err) if !e.done => {
                if err == ETIMEDOUT {
                    g.stats().timed_out();
                } else if err == EINTR {
                    // The entry is out of the list: nothing waits on it.
                    return Err(unlocked(g, || deadline.interrupted()));
                }
                Err(err)
            }
            _ => Ok(e.w),
        };
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
