// SPDX-License-Identifier: GPL-2.0

//! The queues' lock: a kernel `struct mutex`, as [`kernel::sync::Mutex`] is,
//! without a call per acquisition that does nothing in a kernel built
//! without lockdep.
//!
//! [`Lock::lock`] asserts through [`Backend::assert_is_held`] that the lock
//! it has just taken is held.  [`MutexBackend`]'s assertion is a call to a
//! C helper (`mutex_assert_is_held`; the kernel crate's helpers are not
//! inlined into Rust with this toolchain, see the README) around
//! `lockdep_assert_held()`, which is empty without `CONFIG_LOCKDEP`: 18
//! instructions for nothing, twice a message (a send and a receive).
//! [`QueueMutexBackend`] is [`MutexBackend`] in every operation and makes
//! that assertion only where lockdep is built in (the debug kernel).

use kernel::{
    bindings,
    ffi::c_char,
    sync::lock::{mutex::MutexBackend, Backend, Lock},
};

/// [`MutexBackend`], asserting only with lockdep (the module's doc).
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

// SAFETY: every operation is `MutexBackend`'s, whose `struct mutex` ensures
// mutual exclusion; only `assert_is_held` is left empty where lockdep is not
// built in, where `lockdep_assert_held()` is empty too.
unsafe impl Backend for QueueMutexBackend {
    type State = bindings::mutex;
    type GuardState = <MutexBackend as Backend>::GuardState;

    #[inline]
    unsafe fn init(ptr: *mut Self::State, name: *const c_char, key: *mut bindings::lock_class_key) {
        // SAFETY: the caller's guarantees are `MutexBackend::init`'s.
        unsafe { MutexBackend::init(ptr, name, key) }
    }

    #[inline]
    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: the caller's guarantees are `MutexBackend::lock`'s.
        unsafe { MutexBackend::lock(ptr) }
    }

    #[inline]
    unsafe fn try_lock(ptr: *mut Self::State) -> Option<Self::GuardState> {
        // SAFETY: the caller's guarantees are `MutexBackend::try_lock`'s.
        unsafe { MutexBackend::try_lock(ptr) }
    }

    #[inline]
    unsafe fn unlock(ptr: *mut Self::State, guard_state: &Self::GuardState) {
        // SAFETY: the caller's guarantees are `MutexBackend::unlock`'s.
        unsafe { MutexBackend::unlock(ptr, guard_state) }
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
