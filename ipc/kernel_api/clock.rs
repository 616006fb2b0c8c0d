// SPDX-License-Identifier: GPL-2.0

//! The clocks a timed call can wait on, and the sleep of a blocked call:
//! native `wq_sleep`'s, on an hrtimer of the caller's clock, with the
//! queue lock dropped meanwhile.

use kernel::{
    bindings,
    prelude::*,
    sync::lock::{Backend, Guard},
};

/// A clock of a deadline (`clockid_t`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Clock {
    Realtime,
    Monotonic,
    Boottime,
}

impl Clock {
    /// `CLOCK_REALTIME`, `CLOCK_MONOTONIC` or `CLOCK_BOOTTIME`; any other
    /// clock id is `EINVAL`.
    pub(crate) fn from_id(id: i32) -> Result<Clock> {
        match u32::try_from(id) {
            Ok(bindings::CLOCK_REALTIME) => Ok(Clock::Realtime),
            Ok(bindings::CLOCK_MONOTONIC) => Ok(Clock::Monotonic),
            Ok(bindings::CLOCK_BOOTTIME) => Ok(Clock::Boottime),
            _ => Err(EINVAL),
        }
    }

    fn id(self) -> bindings::clockid_t {
        let id = match self {
            Clock::Realtime => bindings::CLOCK_REALTIME,
            Clock::Monotonic => bindings::CLOCK_MONOTONIC,
            Clock::Boottime => bindings::CLOCK_BOOTTIME,
        };
        id as bindings::clockid_t
    }

    /// An absolute time `at` of this clock as the caller reads it (in its
    /// time namespace), as the host's clock counts it
    /// (`timens_ktime_to_host`, as `clock_nanosleep` converts its own).
    pub(crate) fn to_host(self, at: i64) -> i64 {
        match self {
            Clock::Realtime => at,
            // SAFETY: no preconditions: the helper reads the caller's time
            // namespace.
            c => unsafe { super::ffi::rust_ipc_timens_to_host(c.id(), at) },
        }
    }

    /// The clock's time now, in nanoseconds.
    pub(crate) fn now(self) -> i64 {
        // SAFETY: reading a clock has no preconditions.
        unsafe {
            match self {
                Clock::Realtime => bindings::ktime_get_real(),
                Clock::Monotonic => bindings::ktime_get(),
                Clock::Boottime => bindings::ktime_get_boottime(),
            }
        }
    }
}

/// A deadline's `struct timespec` at user `ptr`, read as native's timed
/// calls read theirs (`get_timespec64`: `EFAULT`; for a 32-bit caller the
/// upper half of `tv_nsec`, a `struct __timespec64`'s padding, cleared).
/// Returns `tv_sec` and `tv_nsec`, not validated.
pub(crate) fn read_timespec(ptr: u64) -> Result<(i64, i64)> {
    let mut ts = bindings::timespec64::default();
    // SAFETY: `ts` is valid for writes; `get_timespec64` checks the user
    // range itself (`copy_from_user`) and fails on a fault.
    let r = unsafe { bindings::get_timespec64(&mut ts, ptr as usize as *const _) };
    if r != 0 {
        return Err(EFAULT);
    }
    // `tv_nsec` is a C `long`: no wider than 64 bits.
    Ok((ts.tv_sec, ts.tv_nsec as i64))
}

/// Drops the lock that `g` holds, sleeps interruptibly until the task is
/// woken ([`kernel::task::Task::wake_up`]), a signal comes, or the time
/// `until` passes on its clock (`None`: no deadline), and takes the lock
/// again: native `wq_sleep`, on an hrtimer with no slack.  Unless `ready`,
/// asked first once the task runs again, finds what the task waited for
/// (its entry served): then that is returned (`Err`), and the lock is not
/// taken again.
///
/// The task is marked asleep before the lock is dropped, so a waker that
/// serves it under the lock and wakes it once it has dropped the lock is
/// never lost, whenever it comes (as [`kernel::sync::CondVar`]'s waits,
/// whose `Guard::do_unlocked` the kernel crate keeps to itself).  Returns
/// the guard and whether the deadline passed (also when it had passed
/// already); the caller then looks at its state and at `signal_pending()`,
/// since the task may also wake for none of these reasons.
pub(crate) fn sleep_unlocked<'a, T: ?Sized, B: Backend, R>(
    g: Guard<'a, T, B>,
    until: Option<(Clock, i64)>,
    ready: impl FnOnce() -> Option<R>,
) -> Result<(Guard<'a, T, B>, bool), R> {
    let (clock, at) = until.unwrap_or((Clock::Monotonic, i64::MAX));
    // SAFETY: no preconditions; the task is TASK_RUNNING again once the
    // sleep below returns, before the lock is taken again or not.
    unsafe { super::ffi::rust_ipc_set_interruptible() };
    let lock = g.lock_ref();
    drop(g);
    // SAFETY: no preconditions; any clock id and time are accepted.
    let r = unsafe { super::ffi::rust_ipc_sleep_until(clock.id(), at) };
    if let Some(x) = ready() {
        return Err(x);
    }
    Ok((lock.lock(), r == 0))
}
