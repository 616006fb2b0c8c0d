// SPDX-License-Identifier: GPL-2.0

//! The queues' lock: a spinlock, as native's (`info->lock` of an mqueue
//! inode, `ipc_lock_object`'s `kern_ipc_perm.lock`).
//!
//! Its holder runs with preemption disabled, so a real-time caller never
//! waits for a lower-priority holder that a middle-priority task keeps off
//! the CPU (`selftests/native_edge_test.c`, `*_rt_caller_does_not_wait_*`);
//! under `PREEMPT_RT` it is a sleeping lock that lends its waiters'
//! priority to its holder, as native's.  Nothing sleeps under it, as under
//! native's: what may sleep runs before the lock is taken (a message's
//! allocation and copy-in), after it is dropped (a copy to user memory that
//! may fault, freeing a receiver's pins, retiring `IPC_RMID`'s index
//! entry), or
//! with it dropped and taken again, the caller looking at the queue again
//! afterwards ([`unlocked`]: pinning a receiver's buffer, a waiter list's
//! head, a POSIX send's tree node for a new priority, a `MSG_COPY` or peek
//! copy that could not be allocated without sleeping: `Family::Need` in
//! the engine, and a tree node for a blocked sender that a receive lets
//! in), as native allocates these before its lock; where native allocates
//! under its lock, so does rust_ipc, without sleeping (a node when the one
//! made before failed, `GFP_ATOMIC` as `msg_insert`'s).
//!
//! It is the kernel crate's spinlock backend but for [`Lock::lock`]'s
//! assertion that the lock it has just taken is held ([`Backend::assert_is_held`]):
//! lockdep's, made only where lockdep is built in (the debug kernel);
//! elsewhere it would be a call for nothing twice a message.

use kernel::sync::lock::{spinlock::SpinLockBackend, Backend, Guard, Lock};

/// A spinlock as a [`Backend`] of [`Lock`] (the module's doc).
pub(crate) struct QueueLockBackend;

/// A lock of a queue's state.
pub(crate) type QueueLock<T> = Lock<T, QueueLockBackend>;

/// A [`QueueLock`] initialiser, as `kernel::new_spinlock!` makes a
/// `SpinLock`'s.
macro_rules! new_queue_lock {
    ($inner:expr $(,)?) => {
        $crate::ipc::kernel_api::lock::QueueLock::new(
            $inner,
            ::kernel::optional_name!(),
            ::kernel::static_lock_class!(),
        )
    };
}
pub(crate) use new_queue_lock;

// SAFETY: every operation is `SpinLockBackend`'s, which ensures mutual
// exclusion, but `assert_is_held`, which only asserts.
unsafe impl Backend for QueueLockBackend {
    type State = <SpinLockBackend as Backend>::State;
    type GuardState = <SpinLockBackend as Backend>::GuardState;

    #[inline]
    unsafe fn init(
        ptr: *mut Self::State,
        name: *const kernel::ffi::c_char,
        key: *mut kernel::bindings::lock_class_key,
    ) {
        // SAFETY: the caller's guarantees are `SpinLockBackend::init`'s.
        unsafe { SpinLockBackend::init(ptr, name, key) }
    }

    #[inline]
    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: the caller's guarantees are `SpinLockBackend::lock`'s.
        unsafe { SpinLockBackend::lock(ptr) }
    }

    #[inline]
    unsafe fn try_lock(ptr: *mut Self::State) -> Option<Self::GuardState> {
        // SAFETY: the caller's guarantees are `SpinLockBackend::try_lock`'s.
        unsafe { SpinLockBackend::try_lock(ptr) }
    }

    #[inline]
    unsafe fn unlock(ptr: *mut Self::State, state: &Self::GuardState) {
        // SAFETY: the caller's guarantees are `SpinLockBackend::unlock`'s.
        unsafe { SpinLockBackend::unlock(ptr, state) }
    }

    #[inline]
    unsafe fn assert_is_held(_ptr: *mut Self::State) {
        // SAFETY: the caller's guarantees are `SpinLockBackend::assert_is_held`'s.
        #[cfg(CONFIG_LOCKDEP)]
        unsafe {
            SpinLockBackend::assert_is_held(_ptr)
        }
    }
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
