// SPDX-License-Identifier: GPL-2.0

//! The queues' lock: a kernel `struct mutex` whose holder runs with
//! preemption disabled, as native's holders of a queue's spinlock
//! (`info->lock`, `ipc_lock_object`) do.
//!
//! Nothing preempts a holder inside its critical section, so a real-time
//! caller never waits for a lower-priority holder that a middle-priority
//! task keeps off the CPU.  With a plain mutex it did, for as long as that
//! task ran (measured: 150 ms, where native took 75 us:
//! `selftests/native_edge_test.c`, `*_rt_caller_does_not_wait_*`); an
//! `rt_mutex`, whose priority inheritance bounds that wait, made two-vCPU
//! streaming three times slower (its contended unlock wakes the waiter,
//! where a mutex's waiters spin on a running holder).  The few things that
//! may sleep under the lock (a waiter list that grows, a new priority's
//! node, a `MSG_COPY` duplicate, a dump's pause every page, the status
//! text, `IPC_RMID`'s index update, and seldom an unpin) run in
//! [`sleepable`], preemptible again, still holding the lock; a receiver
//! pins and unpins its buffer with the lock dropped ([`unlocked`]); a long
//! message freed under it skips `cond_resched`, `IPC_RMID` frees its
//! messages after it, and a notification descriptor's state is a
//! spinlock.  The helpers count, per CPU, whether the task running there
//! holds a queue lock (it cannot migrate while it does, and [`sleepable`]
//! hands the count back for its preemptible stretch): that is how
//! [`sleepable`] knows it runs under one, and it leaves any other atomic
//! context (a spinlock; an RCU read side where that disables preemption)
//! atomic.  Under
//! `PREEMPT_RT` a mutex inherits its waiters' priority, as native's
//! spinlocks do there, and the C helpers leave preemption alone.
//!
//! Lock and unlock are C helpers (`rust_ipc_queue_lock`, ...); the lock is
//! taken with `mutex_trylock` under disabled preemption first, so that an
//! uncontended holder is never preemptible at all (`mutex_lock` returns
//! through a preemption point; contended, a waiter that gets the lock
//! there can still be preempted before it disables preemption).  That cost
//! 60 instructions a 64 B message when it came (1 794 → 1 856 POSIX, 2 173
//! → 2 238 System V, `scripts/bench --insn`), and no time measurably.  [`Lock::lock`] asserts through
//! [`Backend::assert_is_held`] that the lock it has just taken is held:
//! lockdep's assertion, only where lockdep is built in (the debug kernel);
//! elsewhere it would be a call for nothing twice a message.

use kernel::{
    bindings,
    ffi::c_char,
    sync::lock::{mutex::MutexBackend, Backend, Guard, Lock},
};

/// A mutex held with preemption disabled, as a [`Backend`] of [`Lock`]
/// (the module's doc).
pub(crate) struct QueueMutexBackend;

/// A lock of a queue's state.
pub(crate) type QueueMutex<T> = Lock<T, QueueMutexBackend>;

/// A [`QueueMutex`] initialiser, as `kernel::new_mutex!` makes a `Mutex`'s.
macro_rules! new_queue_mutex {
    ($inner:expr $(,)?) => {
        $crate::ipc::kernel_api::lock::QueueMutex::new(
            $inner,
            ::kernel::optional_name!(),
            ::kernel::static_lock_class!(),
        )
    };
}
pub(crate) use new_queue_mutex;

// SAFETY: the helpers take and release the `struct mutex` as `MutexBackend`
// does (`mutex_lock`, `mutex_trylock`, `mutex_unlock`), which ensures mutual
// exclusion; disabling preemption while it is held changes nothing to that.
unsafe impl Backend for QueueMutexBackend {
    type State = bindings::mutex;
    type GuardState = ();

    #[inline]
    unsafe fn init(ptr: *mut Self::State, name: *const c_char, key: *mut bindings::lock_class_key) {
        // SAFETY: the caller's guarantees are `MutexBackend::init`'s.
        unsafe { MutexBackend::init(ptr, name, key) }
    }

    #[inline]
    unsafe fn lock(ptr: *mut Self::State) {
        // SAFETY: the caller has initialised the mutex at `ptr` (`init`).
        unsafe { super::ffi::rust_ipc_queue_lock(ptr) }
    }

    #[inline]
    unsafe fn try_lock(ptr: *mut Self::State) -> Option<()> {
        // SAFETY: the caller has initialised the mutex at `ptr` (`init`).
        unsafe { super::ffi::rust_ipc_queue_trylock(ptr) }.then_some(())
    }

    #[inline]
    unsafe fn unlock(ptr: *mut Self::State, (): &()) {
        // SAFETY: the caller owns the mutex at `ptr`, taken by `lock` or
        // `try_lock`, which disabled preemption.
        unsafe { super::ffi::rust_ipc_queue_unlock(ptr) }
    }

    #[inline]
    unsafe fn assert_is_held(_ptr: *mut Self::State) {
        // SAFETY: the caller's guarantees are `MutexBackend::assert_is_held`'s.
        #[cfg(CONFIG_LOCKDEP)]
        unsafe {
            MutexBackend::assert_is_held(_ptr)
        }
    }
}

/// Runs `f`, which may sleep, where a queue lock may be held: preemptible
/// again for its duration (the module's doc).  Without a queue lock held,
/// it only runs `f`.
pub(crate) fn sleepable<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: no preconditions: it enables preemption only for the holder
    // of a queue lock, undoing that lock's own `preempt_disable`, and says
    // whether it did.
    let enabled = unsafe { super::ffi::rust_ipc_queue_sleepable_begin() };
    let r = f();
    // SAFETY: it disables preemption again only if `begin` enabled it.
    unsafe { super::ffi::rust_ipc_queue_sleepable_end(enabled) };
    r
}

/// Runs `f` with the lock of `g` dropped, and takes it again (as
/// [`kernel::sync::CondVar`]'s waits do with `Guard::do_unlocked`, which
/// the kernel crate keeps to itself): for what must not run under it.
pub(crate) fn unlocked<T: ?Sized, B: Backend, R>(
    g: &mut Guard<'_, T, B>,
    f: impl FnOnce() -> R,
) -> R {
    let lock = g.lock_ref();
    // The guard is moved out of `*g` and dropped, which unlocks; a guard of
    // the same lock is written back into `*g` below, before anything can
    // use it (`g` is this function's exclusive borrow).
    // SAFETY: as just said; nothing in between can unwind (the kernel
    // does not unwind).
    drop(unsafe { core::ptr::read(g) });
    let r = f();
    // SAFETY: `*g` was moved out above, so it is overwritten without being
    // dropped, with a guard of the lock it held.
    unsafe { core::ptr::write(g, lock.lock()) };
    r
}
