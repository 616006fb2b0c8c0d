// SPDX-License-Identifier: GPL-2.0

//! The rules both queue families share once a message has left its queue:
//! its room is free at once, and a message that could not be delivered goes
//! back as if it had never left.
//!
//! A receive takes its message out of the queue under the queue lock and
//! copies it to user memory: under the lock if that cannot fault, else
//! after dropping it (as native does).  Either way its room is free when it
//! leaves, and a blocked sender gets it in the same critical section, as
//! native's `pipelined_receive` (a receiver whose buffer makes its copy
//! wait, a page of FUSE or of a userfaultfd, keeps no writer out).  Unlike
//! native, rust_ipc loses nothing when the copy after the lock faults: the
//! message goes back ([`Parts::put_back`]), offered to a blocked receiver
//! that takes it, else queued again in its old place, even if senders let
//! in meanwhile filled the queue (it then holds more than `maxmsg` or
//! `msg_qbytes` until it is drained, and no sender gets in until then).

#![deny(unsafe_code)]

use crate::ipc::{
    defs::{write_items, Across},
    kernel_api::kmem,
    lock::{self, QueueLockBackend},
    msg::{Kept, Msg, Spare},
    pinned::Pinned,
    stats::{Blocked, Counted, Receipt, Stats, Tally},
    wait::{self, Blocking, OnSignal, PollQueue, WaitList, WakeQ},
    waitq::{self, Mine, Waited},
};
use core::{cell::Cell, ops::ControlFlow};
use kernel::{
    fs::File,
    prelude::*,
    sync::{
        aref::ARef,
        lock::{Guard, Lock},
        poll::PollTable,
    },
    task::Task,
    transmute::AsBytes,
};

/// What the engine keeps in each queue's state, under its lock.
#[derive(Default)]
pub(crate) struct EngineState {
    /// Set by a sender about to sleep for room (cleared when no sender is
    /// left): a receive that frees room then serves the senders.
    sender_waits: bool,
    /// Whether a `poll` ever looked at the queue ([`PollQueue`]).
    polled: bool,
    /// Whether the run changed the queue as native wakes its pollers for
    /// (taken by the run's end): a message went into the queue
    /// (`__do_notify`), or a receive freed room that no blocked sender's
    /// message took (`pipelined_receive`); not a send handed to a blocked
    /// receiver or a receive that lets a sender in, which wake only the
    /// task.
    poll_due: bool,
    /// Heads of messages delivered under the lock, kept for the queue's
    /// next sends ([`Kept`]).
    kept: Kept,
}

impl EngineState {
    /// A sender found no room and is about to sleep: from now on a receive
    /// that frees room serves the senders.
    pub(crate) fn sender_sleeps(&mut self) {
        self.sender_waits = true;
    }

    /// A message went into the queue: pollers wake at the run's end.
    #[inline]
    pub(crate) fn queued(&mut self) {
        self.poll_due = true;
    }

    /// The kept heads, taken out (to be freed after the lock: the queue
    /// was removed).
    pub(crate) fn take_spares(&mut self) -> Option<Msg> {
        self.kept.take_all()
    }

    /// The pollers to wake at the run's end, if its changes are ones they
    /// wake for and someone polled the queue.
    #[inline]
    fn pollers<'a>(&mut self, poll: &'a PollQueue) -> Option<&'a PollQueue> {
        (core::mem::take(&mut self.poll_due) && self.polled).then_some(poll)
    }
}

/// What the engine needs of a family's queue state (behind its lock).
pub(crate) trait QueueState: Unpin + Counted {
    /// What a taken message carries back with it (POSIX: the tree node its
    /// priority had, if taking it emptied the priority).
    type Extra;

    /// What the engine keeps in the state.
    fn engine(&mut self) -> &mut EngineState;

    /// Hands `m`, a message that goes back, to a blocked receiver that
    /// takes it, or gives it back (to go back into the queue).
    fn offer(&mut self, m: Msg, wq: &mut WakeQ) -> Option<Msg>;

    /// After messages went back into the queue: what the blocked receivers
    /// get of them, if [`QueueState::offer`] did not hand them over
    /// (`back`: their types, if there were no more than a batch's part).
    fn after_put_back(&mut self, _back: Option<&[i64]>, _wq: &mut WakeQ) {}

    /// Readies what a message that goes back carries, before the queue
    /// lock is taken (POSIX: a tree node, if it has none, for the priority
    /// its place may need again: allocated where it may sleep, as native
    /// allocates its nodes before the lock).
    fn ready_to_go_back(_extra: &mut Self::Extra) {}

    /// Queues `m` again in its old place, counted again (in the queue's
    /// depth, and its peak), even if the queue is full; `false` if it could
    /// not go back (POSIX: no tree node for its priority), and is lost.
    fn reinsert(&mut self, m: Msg, extra: Self::Extra) -> bool;

    /// Keeps what a message delivered under the lock carried, if the state
    /// can use it again (POSIX: its tree node, as native's `node_cache`).
    fn recycle(&mut self, _extra: &mut Self::Extra) {}

    /// Lets blocked senders in, as far as there is room; returns whether
    /// any sender is still blocked.
    fn serve_senders(&mut self, wq: &mut WakeQ) -> bool;

    /// Whether the queue was removed (its messages are dropped).
    fn removed(&self) -> bool;
}

/// What the engine's runs need of a family besides [`QueueState`]: how a
/// message gets in and how one is taken (the family's capacity and
/// selection), and how their callers wait.  The runs themselves (a call's
/// loop of checks, blocking, sleeping and waking) are the engine's:
/// [`Parts::send_run`] and [`Parts::receive_run`].
pub(crate) trait Family: QueueState {
    /// How a blocked call ends when it is interrupted by a signal.
    const ON_SIGNAL: OnSignal;
    /// Whether waiters are served by task priority (POSIX's `wq_add`), or
    /// first come first served (System V).
    const BY_PRIO: bool;
    /// The error of a receive that finds no message and may not block.
    const NO_MESSAGE: Error;
    /// What a blocked sender waits with.
    type SendWait;
    /// What a blocked receiver waits with, and what it is given.
    type RecvWait;
    /// What a receive asks for (System V: its search and buffer).
    type Want: Copy;

    fn senders(&mut self) -> &mut WaitList<Self::SendWait>;
    fn receivers(&mut self) -> &mut WaitList<Self::RecvWait>;

    /// Whether a message of `len` bytes may go in now (`false`: no room),
    /// or the error its send fails with; `woken`: its sender slept for room.
    fn admit(&self, len: usize, woken: bool) -> Result<bool>;

    /// Whether a one-copy send of `len` bytes may go in now without any
    /// check that leaves a record (a privilege's audit): one that needs
    /// more goes the ordinary way, which makes each check once.
    #[inline]
    fn admit_direct(&self, len: usize) -> bool {
        matches!(self.admit(len, false), Ok(true))
    }

    /// What the state would have to allocate under the lock for a call,
    /// where that cannot sleep (POSIX: a tree node for a new priority;
    /// System V: room for a `MSG_COPY` copy of so many bytes): the run
    /// makes it with the lock dropped ([`Family::make`]), gives it to the
    /// state ([`Family::supply`]) and looks again, as native allocates
    /// these before it takes its lock.
    type Need;
    /// What is made for a [`Family::Need`].
    type Supply;

    /// What sending `m`, admitted, needs first.
    #[inline]
    fn need_to_send(&self, _m: &Msg) -> Option<Self::Need> {
        None
    }

    /// What the last [`Family::take_for`], which failed, needed.
    #[inline]
    fn take_need(&mut self) -> Option<Self::Need> {
        None
    }

    /// What letting in a blocked sender may need (POSIX: a tree node for
    /// its message, as native's `mq_timedreceive` allocates one for
    /// `pipelined_receive` before its lock); looked at only while a sender
    /// waits, at each look (between a batch's items too).  Without it, the
    /// state allocates without sleeping then ([`QueueState::serve_senders`]).
    #[inline]
    fn need_to_receive(&self) -> Option<Self::Need> {
        None
    }

    /// Makes what `need` asks for (may sleep: not under the lock).
    fn make(need: Self::Need) -> Result<Self::Supply>;

    /// Keeps what was made for the call that looks again.
    fn supply(&mut self, s: Self::Supply);

    /// What an earlier look left unused (made for a need it no longer
    /// has), taken before the next is made, to be freed with the lock
    /// dropped.
    #[inline]
    fn spare(&mut self) -> Option<Self::Supply> {
        None
    }

    /// A sender about to sleep for room for `m`: what its entry holds, and
    /// `m` back if the sender keeps it (System V: it looks again when
    /// woken; POSIX: the receive that frees room sends it).
    fn sender_waits(&self, m: Msg) -> (Self::SendWait, Option<Msg>);

    /// The message a sender's entry still holds when its sleep ends (POSIX:
    /// one no receive sent), to free after the lock.
    fn unsent(_w: &mut Self::SendWait) -> Option<Msg> {
        None
    }

    /// Sends `m`, admitted: to a blocked receiver that takes it or into
    /// the queue (its place in the send order set); counted.
    fn send(&mut self, m: Msg, wq: &mut WakeQ) -> Result;

    /// Takes the message `want` selects, if there is one.
    fn take_for(&mut self, want: &Self::Want) -> Result<Option<Taken<Self::Extra>>>;

    /// A receiver of `want` about to sleep: what its entry holds, and
    /// where its buffer is, if it asks to be filled straight
    /// ([`Given::Copied`]; pinned once it waits: [`Family::attach`]).
    fn receiver_waits(&self, want: &Self::Want) -> (Self::RecvWait, Option<DirectAt>);

    /// Gives a waiting receiver's entry its buffer, pinned.
    fn attach(w: &mut Self::RecvWait, pinned: KBox<Pinned>);

    /// Takes a woken receiver's pinned buffer back (to unpin it after the
    /// queue lock: unpinning takes the pages' locks).
    fn detach(w: &mut Self::RecvWait) -> Option<KBox<Pinned>>;

    /// What a blocked receiver makes of a message of type or priority
    /// `mtype` and `len` bytes: the family's selection rule.
    fn pick(w: &Self::RecvWait, mtype: i64, len: usize) -> Pick;

    /// Stores what a blocked receiver gets.
    fn give(w: &mut Self::RecvWait, got: Result<Given>);

    /// What a woken receiver was given: a message, an error, or nothing
    /// (it looks again).
    fn given(w: Self::RecvWait) -> Option<Result<Given>>;

    /// Fills a blocked receiver's pinned buffer as the family lays a
    /// received message out: `len` bytes of text from user memory at `src`
    /// (without a page fault), with its type `mtype` if it goes with the
    /// text (a POSIX priority is written by the woken receiver); returns
    /// the length received.  `None` if it pinned no buffer, one that does
    /// not hold what it would receive, or a page at `src` is not there: the
    /// message then goes the ordinary way.
    fn fill(w: &mut Self::RecvWait, src: u64, len: usize, mtype: i64) -> Option<usize>;

    /// A message of `len` bytes was sent straight into the buffer of
    /// blocked `receiver` (System V: `lspid`, `stime`, `lrpid`, `rtime`;
    /// counted as a hand-off; POSIX: it took its place in the send order,
    /// [`Family::direct_seq`]).
    fn sent_direct(&mut self, len: usize, receiver: &Task);

    /// The place in the send order a message sent straight into a
    /// receiver's buffer now takes, kept if it comes back (POSIX: its
    /// receiver could not write the priority); 0 where nothing comes back.
    fn direct_seq(&self) -> u64 {
        0
    }

    /// A receive of `want` took its message from the queue (System V:
    /// `lrpid`, `rtime`; a message handed to a blocked receiver sets them
    /// when it is sent, as native's `pipelined_send`).
    fn received(&mut self, _want: &Self::Want) {}
}

/// Makes the list `list` selects ready for a waiter (its head, once):
/// `Ok(true)` if the lock was dropped to allocate it (the caller looks at
/// the queue again: it may have changed meanwhile), after waking the tasks
/// in `wq` (with the lock dropped, as native's `wake_up_q` after its
/// unlock).
fn room_to_wait<S: Unpin, W>(
    g: &mut Guard<'_, S, QueueLockBackend>,
    wq: &mut WakeQ,
    list: impl Fn(&mut S) -> &mut WaitList<W>,
) -> Result<bool> {
    if list(g).has_room() {
        return Ok(false);
    }
    let room = lock::unlocked(g, || {
        wq.flush();
        WaitList::<W>::make_room()
    })?;
    list(g).grow(room);
    Ok(true)
}

/// Makes what `need` asks for with the lock of `g` dropped (freeing there
/// what the state had left unused), and gives it to the state; the caller
/// looks at the queue again.  The tasks a run
/// served so far (`wq`) are woken first, once the lock is dropped: they
/// neither wait for the allocation nor find the lock held.
fn supply<S: Family>(
    g: &mut Guard<'_, S, QueueLockBackend>,
    wq: &mut WakeQ,
    need: S::Need,
) -> Result {
    let spare = g.spare();
    let s = lock::unlocked(g, || {
        wq.flush();
        drop(spare);
        S::make(need)
    })?;
    g.supply(s);
    Ok(())
}

/// Makes what letting in a blocked sender needs ([`Family::need_to_receive`])
/// with the lock dropped, unless it was made `once` already; `true` if it
/// was made now (the caller looks again).  A failure leaves it to
/// [`QueueState::serve_senders`].
#[cold]
fn supplied_for_receive<S: Family>(
    g: &mut Guard<'_, S, QueueLockBackend>,
    wq: &mut WakeQ,
    once: &mut bool,
) -> bool {
    match g.need_to_receive() {
        Some(n) if !*once => {
            *once = true;
            supply(g, wq, n).is_ok()
        }
        _ => false,
    }
}

/// A message out for delivery, with what it carries back.
pub(crate) struct Taken<E> {
    pub(crate) msg: Msg,
    pub(crate) extra: E,
}

impl<E> Taken<E> {
    pub(crate) fn new(msg: Msg, extra: E) -> Self {
        Self { msg, extra }
    }
}

/// The parts of a queue the engine works on.
pub(crate) struct Parts<'a, S: QueueState> {
    pub(crate) state: &'a Lock<S, QueueLockBackend>,
    pub(crate) poll: &'a PollQueue,
    /// Where a delivered message's head is kept for the next send.
    pub(crate) spare: &'a Spare,
}

/// What a blocked receiver makes of a message offered to it: the
/// family's selection rule ([`hand_over`]).
pub(crate) enum Pick {
    /// It takes it.
    Take,
    /// It waits for another.
    Pass,
    /// It fails with this error (System V's `E2BIG`: a matching message
    /// larger than its buffer), and the message is offered on.
    Fail(Error),
}

/// `pipelined_send`, for both families: `m` goes to the first blocked
/// receiver that takes it ([`Family::pick`]), and that receiver is woken;
/// one that fails on it is woken with its error on the way; `taken` gets
/// the task that took it.  Returns `m` if no receiver took it.
pub(crate) fn hand_over<S: Family>(
    receivers: &mut WaitList<S::RecvWait>,
    stats: &mut Stats,
    m: Msg,
    wq: &mut WakeQ,
    taken: impl FnOnce(&Task),
) -> Option<Msg> {
    let mut m = Some(m);
    let mut taken = Some(taken);
    receivers.each(|r| {
        let Some(msg) = m.as_ref() else {
            return ControlFlow::Break(());
        };
        match S::pick(&r.w, msg.mtype(), msg.len()) {
            Pick::Pass => return ControlFlow::Continue(()),
            Pick::Fail(e) => S::give(&mut r.w, Err(e)),
            Pick::Take => {
                if let Some(msg) = m.take() {
                    if let Some(f) = taken.take() {
                        f(r.task());
                    }
                    let receipt = stats.took(msg.len());
                    S::give(&mut r.w, Ok(Given::Msg(msg, receipt)));
                }
            }
        }
        r.wake(wq);
        match m {
            Some(_) => ControlFlow::Continue(()),
            None => ControlFlow::Break(()),
        }
    });
    m
}

/// Messages from this size on go straight from the sender's memory into a
/// blocked receiver's (one copy, [`Parts::send_direct`]): below it,
/// pinning the receiver's pages costs more than the copy it saves.
pub(crate) const DIRECT_MIN: usize = 8192;

/// The longest text a sender copies straight into a blocked receiver's
/// buffer: it copies under the queue's spinlock, so no longer message is
/// copied there with preemption off (it takes the ordinary way, copied
/// before and after the lock, as native's).
pub(crate) const DIRECT_TEXT_MAX: usize = 64 << 10;

/// The most of a receiver's buffer that is pinned for one copy (such a
/// text and a System V type: 17 pages, 18 from an offset in a page past
/// 4 088), so that a buffer sized by a raised
/// `msgmax` or `msgsize` pins no more of the caller's memory than that
/// while it sleeps.
const DIRECT_MAX: usize = DIRECT_TEXT_MAX + size_of::<i64>();

/// Where a single receive may take a message straight into its buffer.
#[derive(Clone, Copy)]
pub(crate) struct DirectAt {
    /// The buffer (System V: the type, then the text), and as much of it
    /// as a message can fill.
    pub(crate) buf: u64,
    pub(crate) len: usize,
    /// A `u32` the receive writes once it has the message (POSIX: the
    /// priority), or 0: the text comes straight only if that place is
    /// writable when the receiver goes to sleep, since a text its sender
    /// filled in cannot be taken back out of the buffer, where native
    /// writes neither when the priority's place faults.
    pub(crate) after: u64,
}

impl DirectAt {
    /// `Some` for a buffer worth pinning: its first [`DIRECT_MAX`] bytes.
    pub(crate) fn new(buf: u64, len: usize) -> Option<Self> {
        (len >= DIRECT_MIN).then_some(DirectAt {
            buf,
            len: len.min(DIRECT_MAX),
            after: 0,
        })
    }

    /// Pins the buffer, if its pages are there (a blocked receiver's, that
    /// a sender fills straight from its own user memory: [`Family::fill`]).
    /// Boxed: a blocked receiver's entry is moved whole, and most entries
    /// pin nothing.  Not under the queue lock ([`pin_waiting`]).
    fn pin(self) -> Option<KBox<Pinned>> {
        if self.after != 0 && !kmem::user_writable_now(self.after, size_of::<u32>()) {
            return None;
        }
        // The box first: its allocation failing pins nothing.
        let b = KBox::<Pinned>::new_uninit(GFP_KERNEL_ACCOUNT).ok()?;
        Some(KBox::write(b, Pinned::new(self.buf, self.len)?))
    }
}

/// Pins the buffer at `at` of the receiver waiting as `id`, with the queue
/// lock dropped (pinning may wait for the receiver's `mmap_lock` or
/// migrate its pages, which no other user of the queue should wait for),
/// and gives it to its entry if it still waits: a sender that came
/// meanwhile took the ordinary way.  `spare`: pins of the same receive
/// from a sleep it was woken from to look again, used again (no unlock)
/// if they cover `at`, else dropped with the lock dropped; pins that no
/// entry takes go there (dropped by the caller after the lock).  Nothing
/// is unpinned under the lock.
fn pin_waiting<S: Family>(
    g: &mut Guard<'_, S, QueueLockBackend>,
    mine: &Mine<'_, S::RecvWait>,
    at: DirectAt,
    spare: &mut Option<KBox<Pinned>>,
) {
    let p = match spare.take() {
        Some(p) if p.covers(at.buf, at.len) => p,
        old => {
            let Some(p) = lock::unlocked(g, || {
                drop(old);
                at.pin()
            }) else {
                return;
            };
            p
        }
    };
    match mine.waiting(g) {
        Some(w) => S::attach(w, p),
        // Served meanwhile: unpinned after the lock (`spare` is empty).
        None => *spare = Some(p),
    }
}

/// A send's sleep for room, with its entry `w` (out of line: the send run
/// is the leaner for it, and a sender that sleeps has time).
#[inline(never)]
fn send_sleep<S: Family>(
    g: Guard<'_, S, QueueLockBackend>,
    w: S::SendWait,
    d: wait::Deadline,
    blocked: Blocked,
) -> Waited<Guard<'_, S, QueueLockBackend>, S::SendWait, Result> {
    waitq::wait(g, S::senders, w, S::BY_PRIO, |g, mine| {
        wait::sleep(g, mine, d, S::ON_SIGNAL, blocked, false)
    })
}

/// Whether a waiter woken to look again (given nothing) ends with a signal
/// that is pending: unless its queue was removed (`EIDRM` comes first).
fn woken_signalled<S: QueueState>(g: &S) -> bool {
    !g.removed() && kernel::current!().signal_pending()
}

/// What a blocked receiver is given.
pub(crate) enum Given {
    /// A message, to deliver, counted as received when it was given
    /// (its receipt: [`Stats::took`]).
    Msg(Msg, Receipt),
    /// Its buffer was filled straight from the sender's (the length, the
    /// type or priority, and its place in the send order).
    Copied(usize, i64, u64),
}

impl Given {
    /// As a receive run gives it ([`Arrival`]), if it is what a receiver
    /// was given.
    fn arrival<E: Default>(r: Result<Given>) -> Result<Arrival<E>> {
        r.map(|g| match g {
            Given::Msg(m, r) => Arrival::Taken(Taken::new(m, E::default()), Some(r)),
            Given::Copied(n, t, s) => Arrival::Copied(n, t, s),
        })
    }
}

/// What a receive run gives a receive.
pub(crate) enum Arrival<E> {
    /// A message out of the queue, or handed over by its sender (with the
    /// receipt of its count as received, [`Given::Msg`]: it never had room
    /// in the queue).
    Taken(Taken<E>, Option<Receipt>),
    /// Its buffer was filled by the sender (the length, the type or
    /// priority, the place in the send order).
    Copied(usize, i64, u64),
}

/// One copy ([`Parts::send_direct`]): the first blocked receiver that takes
/// a message of `len` bytes at user `src`, of type or priority `mtype`,
/// gets it straight into its pinned buffer and is woken; then those before
/// it that fail on it are woken with their error, as in [`hand_over`].
/// Returns the length it got and that receiver's task.  `None` if that
/// receiver cannot be filled ([`Family::fill`]): nobody is woken, since the
/// send goes the ordinary way, which may yet fail (native loads a message
/// before it looks at a receiver).
fn hand_direct<S: Family>(
    g: &mut S,
    src: u64,
    len: usize,
    mtype: i64,
    wq: &mut WakeQ,
) -> Option<(usize, ARef<Task>)> {
    let (mut done, mut fails, seq) = (None, 0, g.direct_seq());
    g.receivers().each(|r| match S::pick(&r.w, mtype, len) {
        Pick::Pass => ControlFlow::Continue(()),
        Pick::Fail(_) => {
            fails += 1;
            ControlFlow::Continue(())
        }
        Pick::Take => {
            done = S::fill(&mut r.w, src, len, mtype).map(|n| (n, r.task().into()));
            if let Some((n, _)) = done {
                S::give(&mut r.w, Ok(Given::Copied(n, mtype, seq)));
                r.wake(wq);
            }
            ControlFlow::Break(())
        }
    });
    done.as_ref()?;
    if fails > 0 {
        g.receivers().each(|r| {
            if let Pick::Fail(e) = S::pick(&r.w, mtype, len) {
                S::give(&mut r.w, Err(e));
                r.wake(wq);
                fails -= 1;
            }
            if fails == 0 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
    }
    done
}

/// A message left its queue for a receive (`handed`: it was handed to
/// the receiver by its sender, and never had room in the queue; counted
/// as received then): the room it frees lets a blocked sender in,
/// in this critical section, as native's `pipelined_receive`, whether or
/// not its copy is done yet.
fn left<S: QueueState>(g: &mut S, handed: bool, wq: &mut WakeQ) {
    if handed {
        return;
    }
    // Room freed: pollers wake, unless a blocked sender's message took it
    // (`pipelined_receive`; a System V sender woken to look again queues
    // its message in its own run).
    let mut let_in = false;
    if g.engine().sender_waits {
        let msgs = g.depth().0;
        if !g.serve_senders(wq) {
            g.engine().sender_waits = false;
        }
        let_in = g.depth().0 > msgs;
    }
    if !let_in {
        g.engine().poll_due = true;
    }
}

/// A single receive's message, once its run has given it out.
pub(crate) enum Got<E> {
    /// Delivered under the lock (its length); freed after it.
    Now(Taken<E>, usize),
    /// Delivered under the lock (its length), its head kept for a send
    /// ([`Kept`]); what it carried freed after the lock.
    Kept(E, usize),
    /// Copied into the receiver's buffer by its sender (the length, the
    /// type or priority, the place in the send order).
    Copied(usize, i64, u64),
    /// To copy after the lock (with its receive's receipt if it left the
    /// queue, and goes back if the copy faults; none for a `MSG_COPY`
    /// copy).
    Later(Taken<E>, Option<Receipt>),
}

impl<S: Family> Parts<'_, S> {
    /// Sends `msgs` in order, under one lock (a single send is a run of
    /// one; dropped only to sleep or to make what a send needs:
    /// [`Family::Need`], a waiter list's room), for both families: each is checked ([`Family::admit`]) and
    /// goes in ([`Family::send`]: a blocked receiver's, or into the queue);
    /// on a full queue the sender fails with `EAGAIN` or sleeps for room,
    /// with the deadline and signals of `b`.  Returns how many were sent
    /// and the error that ended the run early.
    pub(crate) fn send_run(
        &self,
        mut msgs: impl Iterator<Item = Msg>,
        b: Blocking,
    ) -> (usize, Option<Error>) {
        let (mut done, mut err) = (0, None);
        // A message the run could not send: freed after the lock, as native
        // frees one after its unlock, or its head kept for the next send
        // (the rest of a batch, in `msgs`, are dropped with the function's
        // arguments).
        let mut unsent = None;
        let mut wq = WakeQ::new();
        let mut g = self.state.lock();
        // By reference: what is left of `msgs` is dropped after the lock.
        'msgs: for mut m in msgs.by_ref() {
            // `supplied`: what it needed was made (or failed) once.
            let (mut woken, mut supplied) = (false, false);
            let e = loop {
                match g.admit(m.len(), woken) {
                    Err(e) => {
                        unsent = Some(m);
                        break e;
                    }
                    Ok(true) => {
                        if let Some(n) = g.need_to_send(&m).filter(|_| !supplied) {
                            // Made with the lock dropped, then a look again;
                            // a failure leaves it to the allocation under
                            // the lock, as native's `msg_insert`.
                            supplied = true;
                            let _ = supply(&mut g, &mut wq, n);
                            continue;
                        }
                        match g.send(m, &mut wq) {
                            Ok(()) => {
                                done += 1;
                                continue 'msgs;
                            }
                            Err(e) => break e,
                        }
                    }
                    Ok(false) if !b.may_block(done) => {
                        unsent = Some(m);
                        break EAGAIN;
                    }
                    // The receive that frees room serves it.
                    Ok(false) => g.engine().sender_sleeps(),
                }
                // A batch's messages sent so far are seen before it sleeps,
                // as single sends' would be: the receivers they went to run
                // and pollers wake to the ones queued.
                wq.flush();
                if let Some(p) = g.engine().pollers(self.poll) {
                    p.notify();
                }
                match room_to_wait(&mut g, &mut wq, |s| s.senders()) {
                    Ok(false) => {}
                    Ok(true) => continue,
                    Err(e) => {
                        unsent = Some(m);
                        break e;
                    }
                }
                let (w, kept) = g.sender_waits(m);
                let blocked = if woken { Blocked::Again } else { Blocked::Send };
                let (mut w, slept) = match send_sleep(g, w, b.deadline, blocked) {
                    Waited::Locked(again, w, r) => {
                        g = again;
                        (w, r)
                    }
                    // Not without `leave`; as served, if it were.
                    Waited::Left(w, r) => {
                        g = self.state.lock();
                        (w, r)
                    }
                    Waited::NoRoom(again, w) => {
                        g = again;
                        (w, Err(ENOMEM))
                    }
                };
                if let Some(m) = S::unsent(&mut w) {
                    unsent = Some(m);
                }
                if let Err(e) = slept {
                    unsent = unsent.or(kept);
                    break e;
                }
                match kept {
                    // Woken to look again (System V): `do_msgsnd` looks for
                    // `EIDRM` (`admit`), then for a signal, then again at
                    // everything.
                    Some(k) if woken_signalled(&*g) => {
                        unsent = Some(k);
                        break wait::signalled(&mut g, b.deadline, S::ON_SIGNAL);
                    }
                    Some(k) => (m, woken) = (k, true),
                    // Sent by the receive that freed room.
                    None => {
                        done += 1;
                        continue 'msgs;
                    }
                }
            };
            err = Some(e);
            break;
        }
        g.engine().kept.refill(self.spare);
        let poll = g.engine().pollers(self.poll);
        let r = wait::end_run(g, wq, poll, done, err);
        if let Some(m) = unsent {
            self.spare.give(m);
        }
        r
    }

    /// Receives a message for each of `wants`, under one lock (dropped
    /// only to sleep, to pin a buffer, or to make what a receive needs), for
    /// both families: the message the family selects ([`Family::take_for`]), or
    /// on an empty queue `NO_MESSAGE` or a sleep until a sender hands one
    /// over (or copies one straight into its buffer), with the deadline and
    /// signals of `b`.  Each goes to `out` under the lock ([`Arrival`]),
    /// but with `leave` (a single receive, one item): served while asleep,
    /// it goes there instead, and the run ends without taking the lock
    /// again, as native's served receiver returns without its lock
    /// ([`Parts::got_unlocked`]).  Returns how many were received and the
    /// error that ended the run early.
    pub(crate) fn receive_run(
        &self,
        wants: impl Iterator<Item = S::Want>,
        b: Blocking,
        mut leave: Option<&mut Option<Arrival<S::Extra>>>,
        mut out: impl FnMut(&mut S, Arrival<S::Extra>, &mut WakeQ),
    ) -> (usize, Option<Error>)
    where
        S::Extra: Default,
    {
        let (mut got, mut err) = (0, None);
        let mut wq = WakeQ::new();
        // A woken receiver's pins: used again if it sleeps again for the
        // same buffer, else dropped after the lock.
        let mut unpin = None;
        let mut g = self.state.lock();
        'wants: for w in wants {
            let mut blocked = Blocked::Receive;
            // Made once an item, as native's receive allocates once before
            // its lock: taken meanwhile by another receive, it is left to
            // the allocation under the lock (no retry without end).
            let mut supplied = false;
            let a = loop {
                if g.engine().sender_waits && supplied_for_receive(&mut g, &mut wq, &mut supplied) {
                    continue;
                }
                let e = match g.take_for(&w) {
                    Ok(Some(t)) => break Arrival::Taken(t, None),
                    // Only before the run took anything (a batch's runs
                    // are `first_only`; a single receive has one item): so
                    // it sleeps with nothing queued to wake, unlike a send
                    // run, which wakes what it queued first.
                    Ok(None) if b.may_block(got) => None,
                    Ok(None) => Some(S::NO_MESSAGE),
                    Err(e) => match g.take_need() {
                        Some(n) => match supply(&mut g, &mut wq, n) {
                            Ok(()) => continue,
                            Err(e) => Some(e),
                        },
                        None => Some(e),
                    },
                };
                let slept = match e {
                    Some(e) => Err(e),
                    None => {
                        match room_to_wait(&mut g, &mut wq, |s| s.receivers()) {
                            Ok(false) => {}
                            Ok(true) => continue,
                            Err(e) => {
                                err = Some(e);
                                break 'wants;
                            }
                        }
                        // Nothing it did before it sleeps is for pollers to
                        // see (it took nothing), but look: the lock may not
                        // be taken again.
                        let left = leave.is_some() && got == 0 && !g.engine().poll_due;
                        let (rw, at) = g.receiver_waits(&w);
                        let (d, on) = (b.deadline, S::ON_SIGNAL);
                        let waited = waitq::wait(g, S::receivers, rw, S::BY_PRIO, |mut g, mine| {
                            // Not for a sleep that times out at once.
                            if let Some(at) = at.filter(|_| !d.passed()) {
                                pin_waiting(&mut g, mine, at, &mut unpin);
                            }
                            wait::sleep(g, mine, d, on, blocked, left)
                        });
                        // Its pins, woken or not, dropped after the lock
                        // (`unpin` is empty when it has pins: `pin_waiting`
                        // took the earlier ones).
                        let mut keep_pins = |w: &mut S::RecvWait| {
                            if let Some(p) = S::detach(w) {
                                debug_assert!(unpin.is_none());
                                drop(unpin.replace(p));
                            }
                        };
                        let (mut w, r) = match waited {
                            Waited::Locked(again, w, r) => {
                                g = again;
                                (w, r)
                            }
                            Waited::NoRoom(again, w) => {
                                g = again;
                                (w, Err(ENOMEM))
                            }
                            Waited::Left(mut w, r) => {
                                keep_pins(&mut w);
                                let r = match r.map(|()| S::given(w).map(Given::arrival)) {
                                    Ok(Some(Ok(a))) => {
                                        if let Some(l) = leave.take() {
                                            *l = Some(a);
                                        }
                                        (got + 1, None)
                                    }
                                    Ok(Some(Err(e))) | Err(e) => (got, Some(e)),
                                    // Woken to look again (not through
                                    // `leave`: as such).
                                    Ok(None) => {
                                        g = self.state.lock();
                                        continue;
                                    }
                                };
                                // Most often nothing to wake or unpin:
                                // tested here, not in calls.
                                wq.wake();
                                if unpin.is_some() {
                                    drop(unpin.take());
                                }
                                return r;
                            }
                        };
                        keep_pins(&mut w);
                        r.map(|()| w)
                    }
                };
                blocked = Blocked::Again;
                match slept.map(|w| S::given(w).map(Given::arrival)) {
                    Ok(Some(Ok(a))) => break a,
                    // Woken to look again (with no signal: `wait::sleep`).
                    Ok(None) => continue,
                    Ok(Some(Err(e))) | Err(e) => {
                        err = Some(e);
                        break 'wants;
                    }
                }
            };
            if matches!(a, Arrival::Taken(_, None)) {
                g.received(&w);
            }
            out(&mut g, a, &mut wq);
            got += 1;
        }
        let poll = g.engine().pollers(self.poll);
        let r = wait::end_run(g, wq, poll, got, err);
        drop(unpin);
        r
    }

    /// A receive batch, an item for each of `items`, for both families: runs of
    /// [`Parts::receive_run`] (item `it` wants `want(it)`, the batch ends
    /// before an item it is `None` for), each delivered into `items`
    /// ([`Parts::finish_batch`], `addr`, `room` and `store` as there)
    /// before the next.  A run blocks for its first
    /// item only: one that blocked for a later item would keep the messages
    /// it has from its caller while it waits (their sender may be waiting
    /// for the caller's answer).  So the batch is as many single receives,
    /// each of which may block (with `b`).  Returns how many
    /// were received and the error that ended the batch early.
    pub(crate) fn receive_batch<T: AsBytes + Copy + Default>(
        &self,
        addr: u64,
        items: &mut [T],
        want: impl Fn(&T) -> Option<S::Want>,
        b: Blocking,
        room: bool,
        mut store: impl FnMut(&mut T, &Msg) -> Result,
    ) -> (usize, Option<Error>)
    where
        S::Extra: Default,
    {
        let mut done = 0;
        loop {
            let rest = items.len().saturating_sub(done).min(wait::PART_MSGS);
            let mut got = match KVec::with_capacity(rest, GFP_KERNEL_ACCOUNT) {
                Ok(v) => v,
                Err(e) => return (done, Some(e.into())),
            };
            let run = Blocking {
                first_only: true,
                ..b.after(done)
            };
            // A run takes a part of the batch under the lock, as a send
            // batch loads one ([`wait::PART_MSGS`] messages and
            // [`wait::PART_BYTES`] bytes, or one bigger message): each
            // typed receive's search, each `MSG_COPY`'s copy, is made under
            // it, as native's are, one a call.
            // (`want` is a lookup: one asked for past the part's bytes is
            // not used.)
            let bytes = Cell::new(0);
            let part = items.get(done..done + rest).unwrap_or(&[]);
            let wants = part
                .iter()
                .map_while(|it| want(it).filter(|_| bytes.get() < wait::PART_BYTES));
            // The run's receipt, for all its receives: that of the message
            // handed to it (it slept: only the first), and the tally of
            // those it took.
            let (mut handed_one, mut tally) = (None, Tally::default());
            let (n, run_err) = self.receive_run(wants, run, None, |g, a, wq| {
                // A batch pins nothing, so it is never filled by its sender.
                if let Arrival::Taken(t, handed) = a {
                    bytes.set(bytes.get() + t.msg.len());
                    if room {
                        // Counted when it was handed over, else here.
                        match handed {
                            Some(h) => handed_one = Some(h),
                            None => g.stats().tallied(t.msg.len(), &mut tally),
                        }
                        left(g, handed.is_some(), wq);
                    }
                    let _ = got.push_within_capacity(t);
                }
            });
            if n == 0 {
                return (done, run_err);
            }
            let receipt = match (handed_one, tally.receipt()) {
                (Some(h), Some((r, k))) => Some(h.and(r, k)),
                (h, r) => h.or(r.map(|(r, _)| r)),
            };
            let at = addr.wrapping_add((done * size_of::<T>()) as u64);
            let part = items.get_mut(done..).unwrap_or(&mut []);
            let (k, err) = self.finish_batch(at, part, got, receipt, |it, _, m| store(it, m));
            done += k;
            match err.or(run_err) {
                None if items.get(done).and_then(&want).is_some() => {}
                None => return (done, None),
                // The next item would have blocked: a run of its own.
                Some(e) if e == S::NO_MESSAGE && k == n && b.may_block(done) => {}
                Some(e) => return (done, Some(e)),
            }
        }
    }

    /// One copy, for a single send of `len` bytes at user `src` with type
    /// or priority `mtype`: if the queue admits it and a blocked receiver
    /// that takes it has pinned its buffer, the text goes straight there
    /// from the sender's memory, under the queue lock (user to user, where
    /// the ordinary way copies twice, through a kernel message), and the
    /// receiver is woken; counted as sent, handed over and received.
    /// `None` when it cannot be done so (no such receiver, a page not
    /// there, no room, or an error the ordinary way gives in its order):
    /// the caller sends the ordinary way.
    pub(crate) fn send_direct(&self, src: u64, len: usize, mtype: i64) -> Option<Result> {
        let mut wq = WakeQ::new();
        let mut g = self.state.lock();
        if !g.admit_direct(len) {
            return None;
        }
        let (_, receiver) = hand_direct::<S>(&mut g, src, len, mtype, &mut wq)?;
        g.sent_direct(len, &receiver);
        g.stats().received(1, len);
        Some(Ok(()))
    }
}

impl<'a, S: QueueState> Parts<'a, S> {
    /// A `poll` call: registers it, then returns the state locked and
    /// marked polled, for the caller to compute its mask (the runs that
    /// change the state wake the pollers of a queue so marked).
    pub(crate) fn poll_lock(
        &self,
        file: &File,
        table: &PollTable<'_>,
    ) -> Guard<'a, S, QueueLockBackend> {
        self.poll.register(file, table);
        let mut g = self.state.lock();
        g.engine().polled = true;
        g
    }

    /// One receive's delivery, the rule for both families, under the queue
    /// lock (`g`): a copy that cannot fault (`now`, which gives the length)
    /// delivers the message at once; else it is copied after the lock, by
    /// [`Parts::finish`].  Either way it has left the queue, counted as
    /// received ([`left`]).
    /// `room`: whether the message has room in the queue (not a `MSG_COPY`
    /// copy, which is not counted as received).  One its sender copied
    /// into the receiver's buffer is delivered already.
    pub(crate) fn got(
        &self,
        g: &mut S,
        a: Arrival<S::Extra>,
        room: bool,
        wq: &mut WakeQ,
        now: impl FnOnce(&Msg) -> Result<usize>,
    ) -> Got<S::Extra> {
        let (mut t, handed) = match a {
            Arrival::Taken(t, handed) => (t, handed),
            Arrival::Copied(n, t, s) => return Got::Copied(n, t, s),
        };
        match now(&t.msg) {
            Ok(n) => {
                if room {
                    if handed.is_none() {
                        g.stats().received(1, t.msg.len());
                    }
                    // Before a blocked sender is served, which may use it.
                    g.recycle(&mut t.extra);
                    left(g, handed.is_some(), wq);
                    let Taken { msg, extra } = t;
                    return match g.engine().kept.keep(msg, self.spare) {
                        None => Got::Kept(extra, n),
                        Some(msg) => Got::Now(Taken { msg, extra }, n),
                    };
                }
                Got::Now(t, n)
            }
            Err(_) => {
                // Taken back if it comes back ([`Parts::put_back`]); it
                // keeps its tree node, for that.
                let r = room.then(|| handed.unwrap_or_else(|| g.stats().took(t.msg.len())));
                if room {
                    left(g, handed.is_some(), wq);
                }
                Got::Later(t, r)
            }
        }
    }

    /// [`Parts::got`] of what a single receive was served while asleep,
    /// without the lock ([`Parts::receive_run`]'s `leave`): a message,
    /// handed over and counted then, delivered by `now` or else after.
    pub(crate) fn got_unlocked(
        &self,
        a: Arrival<S::Extra>,
        now: impl FnOnce(&Msg) -> Result<usize>,
    ) -> Got<S::Extra> {
        match a {
            Arrival::Taken(t, handed) => match now(&t.msg) {
                Ok(n) => Got::Now(t, n),
                Err(_) => Got::Later(t, handed),
            },
            Arrival::Copied(n, t, s) => Got::Copied(n, t, s),
        }
    }

    /// A receive batch's delivery after the lock, for both families: each
    /// message to its buffer (`store`, which also fills its item), then the
    /// `items` back to user memory at `addr` in one copy; the messages not
    /// stored and reported (after a fault) go back as if they had never
    /// left, with `receipt`, their run's (none for `MSG_COPY` copies, which
    /// have no room in the queue).  Returns how many were reported and the
    /// error that stopped the batch.
    pub(crate) fn finish_batch<T: AsBytes + Copy + Default>(
        &self,
        addr: u64,
        items: &mut [T],
        mut got: KVec<Taken<S::Extra>>,
        receipt: Option<Receipt>,
        mut store: impl FnMut(&mut T, usize, &Msg) -> Result,
    ) -> (usize, Option<Error>)
    where
        S::Extra: Default,
    {
        let across = Across::save(addr, items);
        let mut stored = got.len().min(items.len());
        let mut err = None;
        for (i, (it, t)) in items.iter_mut().zip(got.iter()).enumerate() {
            if let Err(e) = store(it, i, &t.msg) {
                (stored, err) = (i, Some(e));
                break;
            }
        }
        let done = write_items(addr, items.get(..stored).unwrap_or(&[]), &across);
        if done < stored {
            err = Some(EFAULT);
        }
        if receipt.is_some() {
            if let Some(back) = got.get_mut(done..) {
                back.iter_mut()
                    .for_each(|t| S::ready_to_go_back(&mut t.extra));
                // In the order a receive takes them (the highest priority,
                // then the oldest): a blocked receiver offered them (POSIX)
                // gets the one it would have got had they never left, also
                // when the batch took them in another order (a message
                // handed to it while it slept, then an older one of a higher
                // priority queued meanwhile).  System V's go back by their
                // arrival order whatever this one.
                // (An insertion sort: they are few, and most often in
                // order already; core's sorts do not pass objtool.)
                let key = |t: &Taken<S::Extra>| (core::cmp::Reverse(t.msg.mtype()), t.msg.seq());
                for i in 1..back.len() {
                    let mut j = i;
                    while let Some([x, y]) = j.checked_sub(1).and_then(|k| back.get_mut(k..=j)) {
                        if key(x) <= key(y) {
                            break;
                        }
                        core::mem::swap(x, y);
                        j -= 1;
                    }
                }
            }
        }
        // The delivered ones' heads are kept for the next sends, what they
        // carry freed first, outside the lock.
        got.iter_mut()
            .take(done)
            .for_each(|t| t.extra = S::Extra::default());
        let mut all = got.drain_all();
        self.keep_heads(all.by_ref().take(done).map(|t| t.msg));
        if let Some(r) = receipt {
            // The last receive's time stays if one was delivered.
            let r = if done > 0 { r.count_only() } else { r };
            self.put_back(all, Some(r));
        }
        (done, err)
    }

    /// Keeps the heads of messages a receive batch delivered after its
    /// lock, under one lock, as a single receive keeps its message's under
    /// its own ([`Kept::keep`]); the rest (a message of more than one block
    /// and those after it, those past the bound, all of a removed queue)
    /// are freed after the lock.  Takes every message of `msgs`.
    fn keep_heads(&self, mut msgs: impl Iterator<Item = Msg>) {
        if let Some(first) = msgs.next().filter(Msg::one_block) {
            let mut g = self.state.lock();
            let left = match g.removed() {
                true => Some(first),
                false => {
                    let kept = &mut g.engine().kept;
                    Iterator::chain(core::iter::once(first), msgs.by_ref())
                        .find_map(|m| kept.keep(m, self.spare))
                }
            };
            drop(g);
            drop(left);
        }
        msgs.for_each(drop);
    }

    /// Up to `n` of the heads the queue keeps ([`Kept`]), lent to `n`
    /// loads of a send batch, which a single send finds in the spare slot
    /// (none of a removed queue).
    pub(crate) fn lend_heads(&self, n: usize) -> Kept {
        let mut g = self.state.lock();
        if g.removed() {
            return Kept::default();
        }
        g.engine().kept.lend_out(n)
    }

    /// After the lock: the copy that may fault (`later`, which gives the
    /// length); the message is delivered, or put back as if it had never
    /// left ([`Parts::put_back`]).  Inline: each receive's one call,
    /// which the compiler otherwise keeps out of line since the lockless
    /// path joined it.
    #[inline(always)]
    pub(crate) fn finish(
        &self,
        got: Got<S::Extra>,
        later: impl FnOnce(&Msg) -> Result<usize>,
        copied: impl FnOnce(usize, i64, u64) -> Result<usize>,
    ) -> Result<usize> {
        let (t, receipt) = match got {
            Got::Now(Taken { msg, extra }, n) => {
                // Each part's drop, not the whole's (kept out of line).
                drop(extra);
                self.spare.give(msg);
                return Ok(n);
            }
            Got::Kept(extra, n) => {
                drop(extra);
                return Ok(n);
            }
            Got::Copied(n, mtype, seq) => return copied(n, mtype, seq),
            Got::Later(t, receipt) => (t, receipt),
        };
        let r = later(&t.msg);
        match (receipt, &r) {
            (Some(receipt), Err(_)) => {
                let mut t = t;
                S::ready_to_go_back(&mut t.extra);
                self.put_back(core::iter::once(t), Some(receipt));
            }
            (_, Ok(_)) => self.spare.give(t.msg),
            _ => {}
        }
        r
    }

    /// Puts back the messages in `taken`, which left the queue and could not
    /// be delivered (or, POSIX, were filled straight into a receiver's
    /// buffer that could not report them, loaded again from there): each
    /// goes to a blocked receiver that takes it, else to its old place, even
    /// if senders let in meanwhile filled the queue (System V: every one to
    /// its place, then the blocked receivers search them,
    /// [`QueueState::after_put_back`]); no longer counted as
    /// received (`r`: what counting them changed; none: counted by their
    /// sender, [`Parts::send_direct`]).  Nothing is lost unless the queue
    /// was removed.  The caller readied them ([`QueueState::ready_to_go_back`]).
    pub(crate) fn put_back(
        &self,
        taken: impl Iterator<Item = Taken<S::Extra>>,
        r: Option<Receipt>,
    ) {
        let mut taken = taken.peekable();
        if taken.peek().is_none() {
            // A batch delivered whole: nothing to put back, no lock.
            return;
        }
        let mut wq = WakeQ::new();
        let mut g = self.state.lock();
        if g.removed() {
            // Its messages were freed: these go too, after the lock.
            drop(g);
            return;
        }
        // Their types, as many as a batch's part (a run takes no more).
        let mut types = [0; wait::PART_MSGS];
        let (mut msgs, mut bytes, mut lost) = (0, 0, false);
        for t in taken {
            if let Some(slot) = types.get_mut(msgs) {
                *slot = t.msg.mtype();
            }
            let len = t.msg.len();
            if let Some(m) = g.offer(t.msg, &mut wq) {
                if !g.reinsert(m, t.extra) {
                    // Lost: its receive stays counted, and its time.
                    lost = true;
                    continue;
                }
            }
            msgs += 1;
            bytes += len;
        }
        g.after_put_back(types.get(..msgs), &mut wq);
        if msgs > 0 {
            let r = if lost { r.map(Receipt::count_only) } else { r };
            g.stats().unreceived(msgs, bytes, r);
        }
        let poll = g.engine().polled.then_some(self.poll);
        wait::end_run(g, wq, poll, 0, None);
    }
}
