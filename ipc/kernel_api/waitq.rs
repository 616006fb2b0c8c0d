// SPDX-License-Identifier: GPL-2.0

//! The waiters of a queue: a list of entries on the blocked tasks' own
//! stacks, linked under the queue lock, as native's `msg_receiver`,
//! `msg_sender` and `ext_wait_queue`.  A waker serves an entry in place
//! (its request `W`, given what it needs), takes it out of the list and
//! marks it served; its task, woken, finds the result in its own entry
//! without the queue lock (native's `STATE_READY`), and looks at the queue
//! again under the lock only if it woke for another reason.  Nothing is
//! allocated to block but the list's small head, once per list.
//!
//! [`wait`] makes the caller's entry, links it, runs the caller's sleep
//! and takes the entry out again (if no waker did) before it returns:
//! an entry never outlives its place in the list, whatever the sleep does.
//! The list head is allocated apart from the list (its handle moves with
//! the queue state, the head does not), and a list dropped with entries
//! left in it (not done by this module's users) keeps its head for them.

use super::task_prio;
use core::{cell::UnsafeCell, mem::ManuallyDrop, ops::ControlFlow, ptr};
use kernel::{
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{Acquire, Atomic, Relaxed, Release},
        lock::{Backend, Guard, Lock},
    },
    task::Task,
};

/// An entry's [`Node::state`]: waiting (linked).
const WAITING: i32 = 0;
/// Woken to look again, still linked ([`WaitList::poke_all`]).
const POKED: i32 = 1;
/// Served and taken out of the list: its task's alone.
const SERVED: i32 = 2;

/// A blocked task's entry as a waker sees it, under the queue lock: the
/// task, and its request `W` (what it waits for; once served, what it was
/// given).
pub(crate) struct Waiter<W> {
    /// The blocked task (no reference: it waits in [`wait`] while its
    /// entry is in a list, the only place a `Waiter` is reached from).
    task: ptr::NonNull<Task>,
    /// Served: taken out of the list and marked [`SERVED`] by the list.
    done: bool,
    pub(crate) w: W,
}

impl<W> Waiter<W> {
    /// The waiting task.
    pub(crate) fn task(&self) -> &Task {
        // SAFETY: a `Waiter` is reached only through its entry while it is
        // in a list (`WaitList`'s invariant), when its task is blocked in
        // [`wait`], alive.
        unsafe { self.task.as_ref() }
    }

    /// Marks the entry served (under the queue lock) and queues its task on
    /// `wq`, which wakes it once the lock is dropped.  The list takes it
    /// out of the waiting order at once.
    pub(crate) fn wake(&mut self, wq: &mut super::super::wait::WakeQ) {
        self.done = true;
        wq.add(ARef::from(self.task()));
    }

    /// [`Waiter::wake`], the task woken now, under the queue lock.
    pub(crate) fn wake_now(&mut self) {
        self.done = true;
        self.task().wake_up();
    }
}

/// A list's links in an entry.
struct Links<W> {
    prev: *mut Node<W>,
    next: *mut Node<W>,
    /// The head of the list it is in; null when in none.
    head: *mut Head<W>,
}

/// A blocked task's entry, on its stack in [`wait`].
///
/// # Invariants
///
/// While `links.head` is not null the entry is in that list and `links`
/// and `waiter` are accessed only under the queue lock that protects the
/// list (by its wakers through the list, by its task through [`Mine`]
/// with a guard of that lock); `state` is [`SERVED`] only once the entry
/// is out of the list, after which nothing but its task touches it.
struct Node<W> {
    state: Atomic<i32>,
    links: UnsafeCell<Links<W>>,
    waiter: UnsafeCell<Waiter<W>>,
}

/// A list's first and last entries.
struct Head<W> {
    first: *mut Node<W>,
    last: *mut Node<W>,
}

/// The waiters of one kind (senders or receivers) of one queue, in the
/// order they are served.
///
/// # Invariants
///
/// `head` is null or a `Head` of its own from `KBox::into_raw`; every
/// entry linked from it is a live [`Node`] (its task waits in [`wait`])
/// whose `links.head` is `head`, and is accessed only under the lock of
/// the state that holds this list (`&mut self`).
pub(crate) struct WaitList<W> {
    head: *mut Head<W>,
}

// SAFETY: the list's entries are reached only under the queue lock, from
// any task; their requests `W` are written by other tasks than their own,
// so `W` must be `Send`.
unsafe impl<W: Send> Send for WaitList<W> {}

impl<W> WaitList<W> {
    pub(crate) const fn new() -> Self {
        Self {
            head: ptr::null_mut(),
        }
    }

    /// Whether a waiter can be added (the head is made: [`WaitList::make_room`]
    /// with the queue lock dropped, then [`WaitList::grow`]).
    pub(crate) fn has_room(&self) -> bool {
        !self.head.is_null()
    }

    /// The list's head (may sleep: not under the queue lock).  Charged to
    /// the memory cgroup, else taken without a charge: the entries are on
    /// their tasks' stacks, and a call should not fail to block for want
    /// of a head's 16 bytes.
    pub(crate) fn make_room() -> Result<Room<W>> {
        let h = Head {
            first: ptr::null_mut(),
            last: ptr::null_mut(),
        };
        let b = match KBox::new(h, GFP_KERNEL_ACCOUNT) {
            Ok(b) => b,
            Err(_) => KBox::new(
                Head {
                    first: ptr::null_mut(),
                    last: ptr::null_mut(),
                },
                GFP_KERNEL,
            )?,
        };
        Ok(Room(b))
    }

    /// Takes `room` as its head if it has none (else `room` is freed).
    pub(crate) fn grow(&mut self, room: Room<W>) {
        if self.head.is_null() {
            self.head = KBox::into_raw(room.0);
        }
    }

    /// The first entry, if any.
    fn first_node(&self) -> *mut Node<W> {
        if self.head.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: a non-null `head` is the list's own (the invariants).
        unsafe { (*self.head).first }
    }

    /// Whether any entry is waiting.
    pub(crate) fn any_waiting(&self) -> bool {
        !self.first_node().is_null()
    }

    /// The first waiting entry, to look at.
    pub(crate) fn first(&mut self) -> Option<&mut Waiter<W>> {
        let n = self.first_node();
        if n.is_null() {
            return None;
        }
        // SAFETY: `n` is a live entry of this list, reached under its lock
        // (`&mut self`): its waiter is ours for the borrow of `self`.
        Some(unsafe { &mut *(*n).waiter.get() })
    }

    /// Serves the first waiting entry: `f` gives it what it needs, it is
    /// woken ([`Waiter::wake`]) and leaves the list; returns what `f`
    /// returns, `None` if no entry waits.
    pub(crate) fn serve_first<R>(
        &mut self,
        wq: &mut super::super::wait::WakeQ,
        f: impl FnOnce(&mut Waiter<W>) -> R,
    ) -> Option<R> {
        let mut f = Some(f);
        let mut r = None;
        self.each(|e| {
            if let Some(f) = f.take() {
                r = Some(f(e));
                e.wake(wq);
            }
            ControlFlow::Break(())
        });
        r
    }

    /// Visits the waiting entries in order with `f` until it breaks; an
    /// entry it serves ([`Waiter::wake`]) leaves the list.  (An empty list,
    /// the common case, costs a compare, not a call.)
    #[inline]
    pub(crate) fn each(&mut self, f: impl FnMut(&mut Waiter<W>) -> ControlFlow<()>) {
        if !self.first_node().is_null() {
            self.each_linked(f);
        }
    }

    fn each_linked(&mut self, mut f: impl FnMut(&mut Waiter<W>) -> ControlFlow<()>) {
        let mut n = self.first_node();
        while !n.is_null() {
            // SAFETY: `n` is a live entry of this list, under its lock
            // (`&mut self`, the invariants): its links and waiter are ours
            // until it is marked served below.
            let (next, flow, done) = unsafe {
                let next = (*(*n).links.get()).next;
                let e = &mut *(*n).waiter.get();
                let flow = f(e);
                (next, flow, e.done)
            };
            if done {
                // SAFETY: as above; `n` leaves the list, then is marked
                // served, the last this list does with it (its task may
                // return at once).
                unsafe {
                    unlink(n);
                    (*n).state.store(SERVED, Release);
                }
            }
            if flow.is_break() {
                break;
            }
            n = next;
        }
    }

    /// Serves every waiter with `f` and wakes it (queue removal).
    pub(crate) fn wake_all(&mut self, wq: &mut super::super::wait::WakeQ, f: impl Fn(&mut W)) {
        self.each(|e| {
            f(&mut e.w);
            e.wake(wq);
            ControlFlow::Continue(())
        });
    }

    /// Gives every waiter `f` and wakes it to look again, leaving it in the
    /// waiting order (`expunge_all(-EAGAIN)`): until its task runs and
    /// takes its entry out, a waker may still serve it, over what `f` gave.
    pub(crate) fn poke_all(&mut self, wq: &mut super::super::wait::WakeQ, f: impl Fn(&mut W)) {
        let mut n = self.first_node();
        while !n.is_null() {
            // SAFETY: as in `each_linked`; the entry stays in the list.
            unsafe {
                let e = &mut *(*n).waiter.get();
                f(&mut e.w);
                wq.add(ARef::from(e.task()));
                (*n).state.store(POKED, Relaxed);
                n = (*(*n).links.get()).next;
            }
        }
    }
}

impl<W> Drop for WaitList<W> {
    fn drop(&mut self) {
        // An entry left in the list still points at the head: it is kept
        // for it (never, as the queues remove their waiters first).
        if !self.head.is_null() && self.first_node().is_null() {
            // SAFETY: the head is the list's own, from `KBox::into_raw`, and
            // no entry points at it.
            drop(unsafe { KBox::from_raw(self.head) });
        }
    }
}

/// A list's head, made with the queue lock dropped ([`WaitList::make_room`]).
pub(crate) struct Room<W>(KBox<Head<W>>);

/// Takes entry `n` out of its list.
///
/// # Safety
///
/// `n` is live and in a list (`links.head` not null), whose lock the
/// caller holds.
unsafe fn unlink<W>(n: *mut Node<W>) {
    // SAFETY: the caller's guarantees: `n`, its neighbours and its head are
    // live and ours under the lock.
    unsafe {
        let l = &mut *(*n).links.get();
        let (prev, next, head) = (l.prev, l.next, l.head);
        match prev.is_null() {
            true => (*head).first = next,
            false => (*(*prev).links.get()).next = next,
        }
        match next.is_null() {
            true => (*head).last = prev,
            false => (*(*next).links.get()).prev = prev,
        }
        *l = Links {
            prev: ptr::null_mut(),
            next: ptr::null_mut(),
            head: ptr::null_mut(),
        };
    }
}

/// The caller's own entry, while [`wait`] runs its sleep.
pub(crate) struct Mine<'a, W> {
    node: &'a Node<W>,
    /// The lock of the list it was put in (compared, never dereferenced).
    lock: *const (),
}

impl<W> Mine<'_, W> {
    /// Whether a waker served it (what it gave is seen after this): then
    /// it is out of the list, and the sleep may end without the lock.
    #[inline]
    pub(crate) fn served(&self) -> bool {
        self.node.state.load(Acquire) == SERVED
    }

    /// Whether it was woken to look again (meaningful under the lock).
    #[inline]
    pub(crate) fn poked(&self) -> bool {
        self.node.state.load(Relaxed) == POKED
    }

    /// Whether `g` holds the lock of its list.
    fn locked_by<S: ?Sized, B: Backend>(&self, g: &Guard<'_, S, B>) -> bool {
        ptr::eq(
            ptr::from_ref::<Lock<S, B>>(g.lock_ref()).cast::<()>(),
            self.lock,
        )
    }

    /// Its request, while it waits (not served), under the lock `g` of its
    /// list.
    pub(crate) fn waiting<'g, S: ?Sized, B: Backend>(
        &self,
        g: &'g mut Guard<'_, S, B>,
    ) -> Option<&'g mut W> {
        if !self.locked_by(g) || self.served() {
            return None;
        }
        // SAFETY: not served, so in its list (or taken out by its own task,
        // this one), whose lock `g` holds, exclusively borrowed for `'g`:
        // no waker reaches the entry meanwhile.
        Some(unsafe { &mut (*self.node.waiter.get()).w })
    }

    /// Takes it out of its list now, under its lock `g`, unless a waker
    /// served it (then `false`): for what the sleep does after it gave up
    /// (with the lock dropped: a waker could serve it meanwhile).
    pub(crate) fn leave<S: ?Sized, B: Backend>(&self, g: &mut Guard<'_, S, B>) -> bool {
        if !self.locked_by(g) || self.served() {
            return false;
        }
        let n = ptr::from_ref(self.node).cast_mut();
        // SAFETY: `n` is ours; under the lock of its list (`g`); in it
        // unless already taken out by this task.
        unsafe {
            if !(*(*n).links.get()).head.is_null() {
                unlink(n);
            }
        }
        true
    }
}

/// How a sleep ([`wait`]'s `sleep`) ended.
pub(crate) enum Slept<G, R> {
    /// With the lock held again (its guard).
    Locked(G, R),
    /// Served ([`Mine::served`]) and returning without the lock.
    Left(R),
}

/// How [`wait`] ended: the entry's request `W` (what a waker gave it, or
/// as the task left it) and the sleep's result, with the lock held again,
/// or without it if the sleep left served.
pub(crate) enum Waited<G, W, R> {
    Locked(G, W, R),
    Left(W, R),
    /// The list has no head ([`WaitList::has_room`]): nothing was linked.
    NoRoom(G, W),
}

/// Puts the current task in `list(g)` with request `w` (after the last
/// waiter as urgent as it or more if `by_prio`, as `wq_add`; else at the
/// tail), runs `sleep`, and takes the entry out of the list unless a
/// waker did; returns its request.  `sleep` gets the guard and the entry
/// ([`Mine`]) and gives the guard back ([`Slept::Locked`]), or leaves
/// without it once served ([`Slept::Left`]).
pub(crate) fn wait<'a, S: Unpin, B: Backend, W, R>(
    mut g: Guard<'a, S, B>,
    list: impl FnOnce(&mut S) -> &mut WaitList<W>,
    w: W,
    by_prio: bool,
    sleep: impl FnOnce(Guard<'a, S, B>, &Mine<'_, W>) -> Slept<Guard<'a, S, B>, R>,
) -> Waited<Guard<'a, S, B>, W, R> {
    let lock = g.lock_ref();
    let l = list(&mut g);
    if l.head.is_null() {
        return Waited::NoRoom(g, w);
    }
    let me: &Task = kernel::current!();
    // Never dropped as such: its request is moved out at the end.
    let node = ManuallyDrop::new(Node {
        state: Atomic::new(WAITING),
        links: UnsafeCell::new(Links {
            prev: ptr::null_mut(),
            next: ptr::null_mut(),
            head: l.head,
        }),
        waiter: UnsafeCell::new(Waiter {
            task: ptr::NonNull::from(me),
            done: false,
            w,
        }),
    });
    // The entry lives in this frame, which does not return before it is
    // out of the list again (below); it is not moved, only reached through
    // `n` and `mine` until then.
    let n = ptr::from_ref::<Node<W>>(&node).cast_mut();
    // SAFETY: `l.head` is the list's own head, `g` holds its lock, and `n`
    // stays live and in place while linked (above).
    unsafe { link(n, l.head, by_prio, task_prio(me)) };
    let mine = Mine {
        node: &node,
        lock: ptr::from_ref(lock).cast(),
    };
    let (g, r) = match sleep(g, &mine) {
        Slept::Left(r) if mine.served() => (None, r),
        Slept::Left(r) => (Some(lock.lock()), r),
        Slept::Locked(g, r) if mine.locked_by(&g) => (Some(g), r),
        Slept::Locked(g, r) => {
            drop(g);
            (Some(lock.lock()), r)
        }
    };
    // Served: out of the list and left alone by its waker (`SERVED` seen
    // with `Acquire`, stored last with `Release`).  Else under the lock of
    // its list (`g`): taken out if still in it.
    if g.is_some() && !mine.served() {
        // SAFETY: `n` is live; `g` holds the lock of its list.
        unsafe {
            if !(*(*n).links.get()).head.is_null() {
                unlink(n);
            }
        }
    }
    // SAFETY: the entry is out of every list, so nothing else reaches it;
    // its waiter is read once, and the entry is not dropped (`ManuallyDrop`).
    let w = unsafe { ptr::read(&(*node.waiter.get()).w) };
    match g {
        Some(g) => Waited::Locked(g, w, r),
        None => Waited::Left(w, r),
    }
}

/// Links entry `n` into the list of `head`: after the last entry whose
/// task is at least as urgent as `prio` (the waiters' priorities now, as
/// `wq_add` reads them, from the tail: equal priorities, the common case,
/// cost one step) if `by_prio`, else at the tail.
///
/// # Safety
///
/// `head` is a list's head, whose lock the caller holds; `n` is live, in
/// no list, and stays live and in place until it is out of it again.
unsafe fn link<W>(n: *mut Node<W>, head: *mut Head<W>, by_prio: bool, prio: i32) {
    // SAFETY: the caller's guarantees: the head and its entries are live
    // and ours under the lock.
    unsafe {
        let mut after = (*head).last;
        if by_prio {
            while !after.is_null() && task_prio((*(*after).waiter.get()).task()) > prio {
                after = (*(*after).links.get()).prev;
            }
        }
        let next = match after.is_null() {
            true => core::mem::replace(&mut (*head).first, n),
            false => core::mem::replace(&mut (*(*after).links.get()).next, n),
        };
        match next.is_null() {
            true => (*head).last = n,
            false => (*(*next).links.get()).prev = n,
        }
        let l = &mut *(*n).links.get();
        (l.prev, l.next, l.head) = (after, next, head);
    }
}
