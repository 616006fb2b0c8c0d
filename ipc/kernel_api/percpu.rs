// SPDX-License-Identifier: GPL-2.0

//! Per-CPU data of a System V namespace, so that the two sides of a stream,
//! each on its CPU, write no cache line in common besides their queue's:
//! a cache of the last queue used on each CPU ([`ArcPerCpu`]), and the
//! namespace's message and byte counts ([`Counts`]).  Each CPU uses its
//! own slot with `this_cpu` operations, without a lock; a task that moves
//! to another CPU meanwhile uses that one's.

use super::ffi;
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{prelude::*, sync::Arc};

/// At most one `Arc<T>` per CPU: a System V namespace's last queue used on
/// each CPU, which the next call there on the same id uses without a
/// lookup, and without writing the queue's reference count (a cache line
/// that the other side of a stream would write too).
///
/// # Invariants
///
/// `slots` comes from `rust_ipc_percpu_slots` (`alloc_percpu`) and is freed
/// only in `Drop`.  A non-null slot comes from `Arc::into_raw` and owns
/// that reference.
pub(crate) struct ArcPerCpu<T: Send + Sync> {
    slots: NonNull<c_void>,
    _owns: PhantomData<Arc<T>>,
}

// SAFETY: the slots own `Arc<T>`s (`T: Send + Sync`), moved in and out with
// per-CPU atomic operations.
unsafe impl<T: Send + Sync> Send for ArcPerCpu<T> {}
// SAFETY: as above: one taker at a time gets a slot's reference.
unsafe impl<T: Send + Sync> Sync for ArcPerCpu<T> {}

impl<T: Send + Sync> ArcPerCpu<T> {
    /// Empty slots, one per possible CPU (`ENOMEM`).
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: an FFI call without requirements.
        let slots = unsafe { ffi::rust_ipc_percpu_slots() };
        Ok(Self {
            // INVARIANT: from `alloc_percpu`, zeroed: every slot empty.
            slots: NonNull::new(slots).ok_or(ENOMEM)?,
            _owns: PhantomData,
        })
    }

    /// The running CPU's reference, if its slot has one (empty after).
    pub(crate) fn take(&self) -> Option<Arc<T>> {
        // SAFETY: `slots` is valid (type invariant).
        let p = unsafe { ffi::rust_ipc_percpu_take(self.slots.as_ptr()) };
        if p.is_null() {
            return None;
        }
        // SAFETY: by the type invariant `p` came from `Arc::into_raw`; the
        // exchange moved its reference out of the slot, to this caller only.
        Some(unsafe { Arc::from_raw(p.cast::<T>()) })
    }

    /// Keeps `a` in the running CPU's slot if it is empty (else `a` is
    /// dropped).
    pub(crate) fn put(&self, a: Arc<T>) {
        let p = a.into_raw().cast_mut().cast::<c_void>();
        // INVARIANT: on success the slot owns the reference of `p`.
        // SAFETY: `slots` is valid (type invariant).
        if !unsafe { ffi::rust_ipc_percpu_put(self.slots.as_ptr(), p) } {
            // SAFETY: `p` came from `Arc::into_raw` above and was not
            // stored: this is still its only owner.
            drop(unsafe { Arc::from_raw(p.cast::<T>()) });
        }
    }
}

impl<T: Send + Sync> Drop for ArcPerCpu<T> {
    fn drop(&mut self) {
        // One pass over the CPUs.
        let mut cpu = 0;
        loop {
            // SAFETY: `slots` is valid, and nothing else uses it any more
            // (`&mut self`); `cpu` is valid for writes.
            let p = unsafe { ffi::rust_ipc_percpu_pop_any(self.slots.as_ptr(), &mut cpu) };
            if p.is_null() {
                break;
            }
            // SAFETY: the slot owned this reference from `Arc::into_raw`.
            drop(unsafe { Arc::from_raw(p.cast::<T>()) });
        }
        // SAFETY: from `alloc_percpu` (type invariant), freed only here.
        unsafe { kernel::bindings::free_percpu(self.slots.as_ptr()) };
    }
}

/// Counts of messages and bytes, added to per CPU and summed when read
/// (native: a `percpu_counter`, as `msg_hdrs` and `msg_bytes`).
///
/// # Invariants
///
/// `counts` comes from `rust_ipc_percpu_counts` (`alloc_percpu`) and is
/// freed only in `Drop`.
pub(crate) struct Counts {
    counts: NonNull<c_void>,
}

// SAFETY: per-CPU integers, changed only with `this_cpu` operations.
unsafe impl Send for Counts {}
// SAFETY: as above.
unsafe impl Sync for Counts {}

impl Counts {
    /// Zero counts (`ENOMEM`).
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: an FFI call without requirements.
        let counts = unsafe { ffi::rust_ipc_percpu_counts() };
        Ok(Self {
            // INVARIANT: from `alloc_percpu`, zeroed.
            counts: NonNull::new(counts).ok_or(ENOMEM)?,
        })
    }

    /// Adds `msgs` and `bytes` (either may be negative) on this CPU.
    pub(crate) fn add(&self, msgs: i64, bytes: i64) {
        // SAFETY: `counts` is valid (type invariant).
        unsafe { ffi::rust_ipc_percpu_count(self.counts.as_ptr(), msgs, bytes) };
    }

    /// The sums over every CPU: messages and bytes, read while others may
    /// add (a CPU's count may be negative, and so may a sum read between
    /// a send counted on one CPU and its receive on another: `MSG_INFO`
    /// gives its low 32 bits, as native's `min_t(int, ...)` of its
    /// `percpu_counter_sum`).
    pub(crate) fn sum(&self) -> (i64, i64) {
        let (mut msgs, mut bytes) = (0, 0);
        // SAFETY: `counts` is valid (type invariant); the pointers are to
        // locals.
        unsafe { ffi::rust_ipc_percpu_counts_sum(self.counts.as_ptr(), &mut msgs, &mut bytes) };
        (msgs, bytes)
    }
}

impl Drop for Counts {
    fn drop(&mut self) {
        // SAFETY: from `alloc_percpu` (type invariant), freed only here.
        unsafe { kernel::bindings::free_percpu(self.counts.as_ptr()) };
    }
}
