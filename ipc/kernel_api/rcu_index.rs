// SPDX-License-Identifier: GPL-2.0

//! A table of [`Arc`]s by index that readers search without a lock: the
//! System V ids' lookup (native: the idr of `struct ipc_ids`, read under
//! `rcu_read_lock()` by `ipc_obtain_object_check`).
//!
//! A reader takes an entry's reference inside an RCU read-side critical
//! section.  Writers take the index's own lock; an entry a writer replaces
//! keeps the table's reference until an RCU grace period has passed
//! (polled: `get_state_synchronize_rcu`), so a reader that loaded it just
//! before can still take its own.  A write does not wait for the grace
//! period (it drops the references whose grace period has passed, and waits
//! only when it has no room to list one); [`RcuIndex::release`] waits for
//! one, once, for everything.
//!
//! The entries live in chunks of [`CHUNK`], allocated when first written
//! and kept until the index is dropped or emptied for good
//! ([`RcuIndex::release`], after a grace period), so that a reader never
//! sees an array move or go.

use kernel::{
    alloc::kvec::PushError,
    bindings,
    ffi::c_ulong,
    new_mutex,
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, Full, Relaxed, Release},
        rcu, Arc, ArcBorrow, Mutex,
    },
};

/// Entries per chunk.
pub(crate) const CHUNK: usize = 256;

type Chunk<T> = [Atomic<*mut T>; CHUNK];

/// Up to `N * CHUNK` entries of `Arc<T>`.
///
/// # Invariants
///
/// A non-null chunk pointer comes from `KBox::into_raw` and stays valid
/// until `Drop`, or, once [`RcuIndex::release`] took it out, until a grace
/// period has passed; it is looked at ([`RcuIndex::chunk`]) only inside an
/// RCU read-side critical section, with `retired` locked (which `release`
/// takes it out under), or under a spinlock (a read-side critical section
/// too: preemption is off, or, under `PREEMPT_RT`, `spin_lock` takes
/// `rcu_read_lock`).  A non-null entry pointer comes from `Arc::into_raw`: the
/// entry owns that reference until a writer replaces it, and then
/// `retired` owns it until a grace period that started after the
/// replacement has ended (or, in a chunk `release` took out, until a grace
/// period that started after that has ended).
#[pin_data(PinnedDrop)]
pub(crate) struct RcuIndex<T: Send + Sync, const N: usize> {
    chunks: [Atomic<*mut Chunk<T>>; N],
    /// The writers' lock, with the replaced references.
    #[pin]
    retired: Mutex<Retired<T>>,
}

/// Replaced references, each with the grace period after which it may be
/// dropped (a cookie of `get_state_synchronize_rcu`), oldest first, the
/// grace period this index asked for, if it has not ended yet, and the
/// tick it last asked at.  Asking wakes RCU's kthread: it is asked for only
/// once [`ASK_AT`] references wait, one at a time, and at most once a tick
/// until [`ASK_NOW`] wait (an `IPC_RMID` cost 20 µs under QEMU when every
/// removal asked; a `msgget` + `IPC_RMID` 9.8 µs against native's 2.5
/// when each removal asked as soon as the last grace period had ended, and
/// 9.3 µs against 5.8 when it asked every 16 removals: a grace period, and
/// RCU's kthread preempting the caller, every 16 removals, 6 000
/// involuntary context switches in 100 000 where native's had 140-260:
/// its `call_rcu`s start grace periods from the tick).  Fewer (fewer than
/// [`ASK_NOW`] if a grace period asked in this tick has ended) wait for a
/// grace period someone else starts and the index's next write, or for
/// the index's end: a removed queue's messages are freed at once, only its
/// shell waits.
struct Retired<T> {
    list: KVec<(c_ulong, Arc<T>)>,
    asked: Option<c_ulong>,
    asked_at: u64,
}

/// How many replaced references wait before the index asks for a grace
/// period, and how many before it asks again within the tick it asked in.
const ASK_AT: usize = 16;
const ASK_NOW: usize = 256;

/// Whether the grace period of `cookie` has ended.
fn ended(cookie: c_ulong) -> bool {
    // SAFETY: an FFI call without requirements.
    unsafe { bindings::poll_state_synchronize_rcu(cookie) }
}

impl<T> Retired<T> {
    /// Drops the references no reader can hold any more (grace periods
    /// end in order), and asks for a grace period if some wait and none
    /// is coming.
    fn reap(&mut self) {
        // The oldest first: if its grace period goes on, so do the others'.
        if self.list.first().is_some_and(|&(cookie, _)| ended(cookie)) {
            let mut over = true;
            self.list.retain(|(cookie, _)| {
                over = over && ended(*cookie);
                !over
            });
        }
        if self.asked.is_some_and(ended) {
            self.asked = None;
        }
        if self.asked.is_none() && self.list.len() >= ASK_AT {
            let now = super::jiffies();
            if now != self.asked_at || self.list.len() >= ASK_NOW {
                self.asked_at = now;
                // SAFETY: an FFI call without requirements.
                self.asked = Some(unsafe { bindings::start_poll_synchronize_rcu() });
            }
        }
    }
}

// SAFETY: the index owns `Arc<T>` references (`T: Send + Sync`) and chunk
// memory that any thread may free.
unsafe impl<T: Send + Sync, const N: usize> Send for RcuIndex<T, N> {}
// SAFETY: readers only load pointers atomically and clone `Arc<T>`s;
// writers serialize on `retired`, but `unpublish`, one atomic exchange that
// takes an entry's reference once.
unsafe impl<T: Send + Sync, const N: usize> Sync for RcuIndex<T, N> {}

impl<T: Send + Sync, const N: usize> RcuIndex<T, N> {
    /// An empty index.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            chunks: [const { Atomic::new(core::ptr::null_mut()) }; N],
            retired <- new_mutex!(Retired {
                list: KVec::new(),
                asked: None,
                asked_at: 0,
            }),
        })
    }

    /// Makes the chunk of entry `idx` if there is none yet (`ENOMEM`, or
    /// `EINVAL` beyond the index): a [`RcuIndex::set`] of it then needs no
    /// memory.  Call with `retired` locked, or before the index is shared.
    fn make_chunk(&self, idx: usize) -> Result {
        let slot = self.chunks.get(idx / CHUNK).ok_or(EINVAL)?;
        if slot.load(Relaxed).is_null() {
            // Charged to the caller's memory cgroup, where native's idr
            // nodes are not: they are freed as ids go, and a chunk stays
            // until the index is dropped or released (2 KiB for every 256
            // ids ever used), so that a namespace's user cannot keep
            // uncharged memory with no queue.
            let c = KBox::new(
                [const { Atomic::new(core::ptr::null_mut()) }; CHUNK],
                GFP_KERNEL_ACCOUNT,
            )?;
            // INVARIANT: from `KBox::into_raw`, freed only in `Drop` or
            // a grace period after `release` took it out; the release
            // store publishes its initialised entries.
            slot.store(KBox::into_raw(c), Release);
        }
        Ok(())
    }

    /// Makes the chunks of entries `idxs` (see [`RcuIndex::make_chunk`]), so
    /// that setting them cannot fail.
    pub(crate) fn reserve(&self, mut idxs: impl Iterator<Item = usize>) -> Result {
        let _retired = self.retired.lock();
        idxs.try_for_each(|i| self.make_chunk(i))
    }

    /// The chunk of entry `idx`, if it has been allocated.  Call inside an
    /// RCU read-side critical section, with `retired` locked, or under a
    /// spinlock, and use it only there (the type invariant).
    fn chunk(&self, idx: usize) -> Option<&Chunk<T>> {
        let c = self.chunks.get(idx / CHUNK)?.load(Acquire);
        // The caller stays in a read-side critical section (`rcu::read_lock`
        // or a spinlock's) or holds `retired`, as this function requires.
        // SAFETY: so by the type invariant a non-null chunk is valid here.
        unsafe { c.as_ref() }
    }

    /// A new reference to entry `idx`, if it is set and `ok` accepts it.
    pub(crate) fn get(&self, idx: usize, ok: impl FnOnce(&T) -> bool) -> Option<Arc<T>> {
        let _rcu = rcu::read_lock();
        let e = self.chunk(idx)?.get(idx % CHUNK)?.load(Acquire);
        if e.is_null() {
            return None;
        }
        // By the type invariant `e` came from `Arc::into_raw`, and its
        // reference is dropped no sooner than a grace period after it was
        // replaced, or after its chunk was taken out (`release`): the
        // read-side critical section above began before that grace period
        // could end.
        // SAFETY: so the reference is still held while `b` is used.
        let b = unsafe { ArcBorrow::from_raw(e) };
        ok(&b).then(|| b.into())
    }

    /// Empties the index for good (its namespace died): every replaced
    /// reference, every entry left and every chunk go after one grace
    /// period, which starts after they were taken out and so ends after
    /// every reader that could still reach them (the replaced references'
    /// cookies are not asked again: a polled check can miss a normal grace
    /// period that ran beside an expedited one).  A dead namespace's entry
    /// may outlive it for as long as a file holds it: it keeps no chunk.
    /// A write after this makes its chunk again, so a [`RcuIndex::reserve`]
    /// holds only if no `release` comes between it and its `set` (the
    /// caller's rule: a namespace is released only once dead, when no call
    /// reaches it to reserve).
    pub(crate) fn release(&self) {
        let mut taken = [core::ptr::null_mut(); N];
        let list = {
            let mut retired = self.retired.lock();
            for (slot, t) in self.chunks.iter().zip(taken.iter_mut()) {
                *t = slot.xchg(core::ptr::null_mut(), Full);
            }
            core::mem::take(&mut retired.list)
        };
        if list.is_empty() && taken.iter().all(|c| c.is_null()) {
            return;
        }
        rcu::synchronize_rcu();
        drop(list);
        for c in taken {
            // SAFETY: taken out of the index under `retired` (each once),
            // and a grace period has passed since: no reader reaches it.
            unsafe { Self::free_chunk(c) };
        }
    }

    /// Frees chunk `c` (null: nothing) with the references its entries hold.
    ///
    /// # Safety
    ///
    /// `c` is null or a chunk pointer of this index (from `KBox::into_raw`)
    /// that the index no longer holds and that no reader can reach.
    unsafe fn free_chunk(c: *mut Chunk<T>) {
        if c.is_null() {
            return;
        }
        // SAFETY: by the function's safety requirement.
        let c = unsafe { KBox::from_raw(c) };
        for e in c.iter() {
            let e = e.load(Relaxed);
            if !e.is_null() {
                // SAFETY: the entry owns the reference from
                // `Arc::into_raw` (the type invariant).
                drop(unsafe { Arc::from_raw(e) });
            }
        }
    }

    /// Sets entry `idx` to `v` (`ENOMEM` if its chunk cannot be made, or
    /// `EINVAL` beyond the index).  The reference it replaces is dropped
    /// after a grace period.
    pub(crate) fn set(&self, idx: usize, v: Option<Arc<T>>) -> Result {
        let mut retired = self.retired.lock();
        retired.reap();
        if v.is_some() {
            self.make_chunk(idx)?;
        } else if self.chunk(idx).is_none() {
            return Ok(());
        }
        let chunk = self.chunk(idx).ok_or(EINVAL)?;
        let entry = chunk.get(idx % CHUNK).ok_or(EINVAL)?;
        // INVARIANT: the entry owns the new reference.
        let new = v.map_or(core::ptr::null_mut(), |a| a.into_raw().cast_mut());
        let old = entry.xchg(new, Full);
        // SAFETY: `old` is null or came from `Arc::into_raw`, the entry's
        // reference, which nothing else owns now.
        Self::retire_locked(&mut retired, unsafe { Unpublished::from_raw(old) });
        Ok(())
    }

    /// Empties entry `idx` without sleeping or allocating (under a
    /// spinlock): from now on readers do not find it.  The reference it
    /// held comes back, for [`RcuIndex::retire`] once no spinlock is held.
    pub(crate) fn unpublish(&self, idx: usize) -> Unpublished<T> {
        // A read-side critical section of its own (nested in the caller's
        // spinlock's): the chunk stays while it is used, whoever calls.
        let _rcu = rcu::read_lock();
        let Some(entry) = self.chunk(idx).and_then(|c| c.get(idx % CHUNK)) else {
            return Unpublished(None);
        };
        let old = entry.xchg(core::ptr::null_mut(), Full);
        // SAFETY: `old` is null or came from `Arc::into_raw`, the entry's
        // reference, which nothing else owns now (an exchange takes it
        // once).
        unsafe { Unpublished::from_raw(old) }
    }

    /// Drops the reference `unpublish` took out after a grace period (may
    /// sleep).
    pub(crate) fn retire(&self, old: Unpublished<T>) {
        if old.0.is_some() {
            let mut retired = self.retired.lock();
            retired.reap();
            Self::retire_locked(&mut retired, old);
        }
    }

    fn retire_locked(retired: &mut Retired<T>, mut old: Unpublished<T>) {
        let Some(old) = old.0.take() else {
            return;
        };
        // Room to retire it, or a wait below (not charged: the list is the
        // namespace's, shared by its queues' users, as native's idr).
        let _ = retired.list.reserve(1, GFP_KERNEL);
        // SAFETY: an FFI call without requirements.
        let cookie = unsafe { bindings::get_state_synchronize_rcu() };
        match retired.list.push_within_capacity((cookie, old)) {
            Ok(()) => retired.reap(),
            Err(PushError((_, old))) => {
                // INVARIANT: dropped only once the readers that could hold
                // it are gone.
                rcu::synchronize_rcu();
                drop(old);
            }
        }
    }
}

/// A reference taken out of an [`RcuIndex`] that readers who loaded it
/// before may still be taking: retired with [`RcuIndex::retire`] (dropped
/// on its own, it waits for a grace period first).
#[must_use]
pub(crate) struct Unpublished<T: Send + Sync>(Option<Arc<T>>);

impl<T: Send + Sync> Unpublished<T> {
    /// # Safety
    ///
    /// `p` is null or an index entry's reference (from `Arc::into_raw`)
    /// that the entry no longer holds.
    unsafe fn from_raw(p: *mut T) -> Self {
        // SAFETY: by the function's safety requirement.
        Unpublished((!p.is_null()).then(|| unsafe { Arc::from_raw(p) }))
    }
}

impl<T: Send + Sync> Drop for Unpublished<T> {
    fn drop(&mut self) {
        if let Some(old) = self.0.take() {
            // Never under a queue lock (a spinlock).
            kernel::task::might_sleep();
            rcu::synchronize_rcu();
            drop(old);
        }
    }
}

#[pinned_drop]
impl<T: Send + Sync, const N: usize> PinnedDrop for RcuIndex<T, N> {
    fn drop(self: Pin<&mut Self>) {
        // No reader borrows the index any more.
        for slot in &self.chunks {
            // SAFETY: by the type invariant a chunk the index still holds
            // came from `KBox::into_raw` and is freed only here, and no
            // reader is left.
            unsafe { Self::free_chunk(slot.load(Relaxed)) };
        }
    }
}
