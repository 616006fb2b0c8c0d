// SPDX-License-Identifier: GPL-2.0

//! Blocking, shared by both queue families (native `wq_sleep` and the
//! `msg_receiver`/`msg_sender` lists).
//!
//! A blocked task puts an entry on its queue's list of waiters, under the
//! queue lock, and sleeps.  A waker picks exactly the entry that can proceed
//! (the first receiver whose type matches, the first sender), gives it what
//! it needs (a message, an error) and wakes that one task: no thundering
//! herd, and a hand-off never goes through the queue.  The sleep itself uses
//! the queue's [`CondVar`] for its `prepare_to_wait` under the lock, so a
//! wake-up between unlock and `schedule()` is never lost.

#![deny(unsafe_code)]

use kernel::{
    fs::File,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{Atomic, Relaxed},
        lock::{mutex::MutexBackend, Guard},
        poll::{PollCondVarBox, PollTable},
        CondVar, CondVarTimeoutResult,
    },
    task::Task,
};

use crate::ipc::{
    defs::{read_user, ripc_timespec},
    kernel_api,
    msg::Msg,
    stats::{Blocked, Counted},
};

/// A blocked task and its request `W`.
pub(crate) struct Waiter<W> {
    id: u64,
    /// The task's scheduling priority when it blocked (lower: more urgent).
    prio: i32,
    task: ARef<Task>,
    done: bool,
    /// What the task waits for and, once `done`, what it was given.
    pub(crate) w: W,
}

impl<W> Waiter<W> {
    /// Marks the entry served (under the queue lock) and queues its task on
    /// `wq`, which wakes it once the lock is dropped.
    pub(crate) fn wake(&mut self, wq: &mut WakeQ) {
        self.done = true;
        wq.add(self.task.clone());
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

    fn add(&mut self, t: ARef<Task>) {
        if self.first.is_none() {
            self.first = Some(t);
            return;
        }
        let more = self.more.get_or_insert_with(KVec::new);
        if more.reserve(1, GFP_ATOMIC).is_err() {
            // No memory for the list: wake this one now, under the lock.
            t.wake_up();
        } else if let Err(e) = more.push_within_capacity(t) {
            e.0.wake_up();
        }
    }
}

impl Drop for WakeQ {
    fn drop(&mut self) {
        if let Some(t) = self.first.take() {
            t.wake_up();
        }
        for t in self.more.iter().flatten() {
            t.wake_up();
        }
    }
}

/// The waiters of one kind (senders or receivers) of one queue, FIFO.
pub(crate) struct WaitList<W> {
    list: KVec<Waiter<W>>,
    next_id: u64,
}

impl<W> WaitList<W> {
    pub(crate) const fn new() -> Self {
        Self {
            list: KVec::new(),
            next_id: 0,
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

    fn insert(&mut self, w: W, by_prio: bool) -> Result<u64> {
        let id = self.next_id;
        self.next_id += 1;
        let prio = if by_prio {
            kernel_api::current_prio()
        } else {
            0
        };
        let at = if by_prio {
            self.list
                .iter()
                .position(|e| e.prio > prio)
                .unwrap_or(self.list.len())
        } else {
            self.list.len()
        };
        self.list.reserve(1, GFP_KERNEL_ACCOUNT)?;
        self.list
            .insert_within_capacity(
                at,
                Waiter {
                    id,
                    prio,
                    task: ARef::from(&**kernel::current!()),
                    done: false,
                    w,
                },
            )
            .map_err(|_| ENOMEM)?;
        Ok(id)
    }

    /// The waiting (not yet served) entries, oldest first.
    pub(crate) fn waiting(&mut self) -> impl Iterator<Item = &mut Waiter<W>> {
        self.list.iter_mut().filter(|e| !e.done)
    }

    /// Serves every waiter with `f` and wakes it (queue removal).
    pub(crate) fn wake_all(&mut self, wq: &mut WakeQ, f: impl Fn(&mut W)) {
        for e in self.waiting() {
            f(&mut e.w);
            e.wake(wq);
        }
    }

    fn position(&self, id: u64) -> Option<usize> {
        self.list.iter().position(|e| e.id == id)
    }

    fn take(&mut self, id: u64) -> Option<Waiter<W>> {
        let i = self.position(id)?;
        self.list.remove(i).ok()
    }
}

/// An absolute `CLOCK_REALTIME` deadline, or none (wait forever).
#[derive(Clone, Copy)]
pub(crate) struct Deadline(Option<i64>);

impl Deadline {
    pub(crate) const NONE: Deadline = Deadline(None);

    /// Reads and validates a `struct ripc_timespec *` (0: no deadline): a
    /// bad pointer is `EFAULT`, a `tv_nsec` outside `0..1e9` or a negative
    /// `tv_sec` is `EINVAL`, as `prepare_timeout` does.  A huge `tv_sec`
    /// saturates.
    pub(crate) fn from_user(ptr: u64) -> Result<Deadline> {
        if ptr == 0 {
            return Ok(Deadline::NONE);
        }
        let ts: ripc_timespec = read_user(ptr)?;
        if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
            return Err(EINVAL);
        }
        Ok(Deadline(Some(
            ts.tv_sec
                .saturating_mul(1_000_000_000)
                .saturating_add(ts.tv_nsec),
        )))
    }

    /// Jiffies to sleep, `None` if the deadline has passed.
    fn remaining(self) -> Option<c_ulong> {
        let Some(at) = self.0 else {
            return Some(c_ulong::MAX);
        };
        let now = kernel_api::real_ns();
        if now >= at {
            return None;
        }
        // +1 rounds up; the caller re-checks the clock after waking, so the
        // call never returns early.
        Some(kernel_api::nsecs_to_jiffies((at - now) as u64).saturating_add(1))
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
    ) -> Result<(usize, Self)> {
        if count > crate::ipc::defs::RIPC_BATCH_MAX {
            return Err(EINVAL);
        }
        let b = Blocking {
            nonblock,
            first_only: flags & crate::ipc::defs::RIPC_BATCH_WAITFORONE != 0,
            deadline: Deadline::from_user(timeout)?,
        };
        Ok((count as usize, b))
    }

    pub(crate) fn may_block(&self, done: usize) -> bool {
        !(self.nonblock || (self.first_only && done > 0))
    }

    /// The blocking of the rest of a batch once `done` items are done.
    fn after(self, done: usize) -> Self {
        Blocking {
            nonblock: !self.may_block(done),
            ..self
        }
    }
}

/// What a send batch loads at a time: up to 32 messages and 64 KiB (or one
/// bigger message).  A batch blocked on a full queue holds one part (as
/// a few blocked senders would), not the whole batch.
const PART_MSGS: usize = 32;
const PART_BYTES: usize = 64 << 10;

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
        let mut msgs = match KVec::with_capacity(PART_MSGS, GFP_KERNEL) {
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

/// Sleeps until entry `id` of `list(state)` is served, and returns it
/// removed from the list.  On a signal or the deadline the entry is removed
/// and the error returned, unless a waker served it first.  The queue's
/// counters get the sleep (`blocked`, if it sleeps at all) and the timeout.
pub(crate) fn sleep<S: Unpin + Counted, W>(
    cv: &CondVar,
    g: &mut Guard<'_, S, MutexBackend>,
    list: impl Fn(&mut S) -> &mut WaitList<W>,
    id: u64,
    deadline: Deadline,
    on_signal: OnSignal,
    mut blocked: Blocked,
) -> Result<W> {
    loop {
        let served = list(g).list.iter().any(|e| e.id == id && e.done);
        let err = if served {
            None
        } else {
            match deadline.remaining() {
                None => Some(ETIMEDOUT),
                Some(j) => {
                    g.stats().blocked(blocked);
                    blocked = Blocked::Again;
                    match cv.wait_interruptible_timeout(g, j) {
                        CondVarTimeoutResult::Signal { .. } => Some(match on_signal {
                            OnSignal::RestartSys => ERESTARTSYS,
                            OnSignal::RestartNoHand => ERESTARTNOHAND,
                        }),
                        _ => continue,
                    }
                }
            }
        };
        let e = list(g).take(id).ok_or(EINVAL)?;
        return match err {
            Some(err) if !e.done => {
                if err == ETIMEDOUT {
                    g.stats().timed_out();
                }
                Err(err)
            }
            _ => Ok(e.w),
        };
    }
}

/// The poll wait queue of a queue.  Until someone polls the queue, a send
/// or receive skips the wake-up call (and its lock): `polled` is set before
/// the poller takes the queue lock to look at the state, and read after the
/// waker has dropped it, so a poller that looked before a change is seen.
///
/// The wait queue is a [`PollCondVarBox`]: freeing it waits for the epoll
/// items to go through `kfree_rcu`, where a plain `PollCondVar` calls
/// `synchronize_rcu()` (an `IPC_RMID` or a last close took 15-20 ms).
pub(crate) struct PollQueue {
    cv: PollCondVarBox,
    polled: Atomic<bool>,
}

/// Ends a run of sends or receives: drops the queue lock `g`, then wakes
/// the tasks the run served and, if it moved anything, the pollers.
pub(crate) fn end_run<G>(
    g: G,
    wq: WakeQ,
    poll: &PollQueue,
    n: usize,
    err: Option<Error>,
) -> (usize, Option<Error>) {
    drop(g);
    drop(wq);
    if n > 0 {
        poll.notify();
    }
    (n, err)
}

impl PollQueue {
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            cv: PollCondVarBox::new(c"rust_ipc_poll", kernel::static_lock_class!())?,
            polled: Atomic::new(false),
        })
    }

    /// Registers a `poll` call; call before taking the queue lock.
    pub(crate) fn register(&self, file: &File, table: &PollTable<'_>) {
        self.polled.store(true, Relaxed);
        table.register_wait(file, &self.cv);
    }

    /// Wakes the pollers; call after dropping the queue lock.
    pub(crate) fn notify(&self) {
        if self.polled.load(Relaxed) {
            self.cv.notify_all();
        }
    }
}
