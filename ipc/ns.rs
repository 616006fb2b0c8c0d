// SPDX-License-Identifier: GPL-2.0

//! IPC namespaces: every `struct ipc_namespace` has its own set of rust_ipc
//! queues (POSIX names and System V keys and ids), as it has its own native
//! mqueue mount and `ipc_ids`.  A call works on the queues of the caller's
//! namespace at the time of the call (`current->nsproxy->ipc_ns`).
//!
//! Lifetime: the first call from a namespace makes its [`Ns`], which holds
//! a reference on the `ipc_namespace` (so its address cannot be reused while
//! the entry exists).  When that reference is the last one left (every task
//! has left the namespace, no `/proc/*/ns/ipc` file or bind mount pins it),
//! the namespace is dead: the next lookup of any namespace removes its
//! entry, which frees every queue of it that no descriptor still holds and
//! drops the reference.  The native frees a dead namespace's queues the same
//! way (`free_ipc_ns`), from a work item.  Module unload frees everything.

use crate::ipc::{mqueue::MqNs, sysv::SysvNs};
use kernel::{bindings, prelude::*, sync::Arc, task::Task};

include!(env!("RUST_IPC_OFFSETS_RS"));

/// `CLONE_NEWIPC` and `IPC_NS_INIT_INO`, for the check at load.
const CLONE_NEWIPC: u32 = 0x0800_0000;
const IPC_NS_INIT_INO: u32 = 0xEFFF_FFFF;

extern "C" {
    /// `ipc/namespace.c`, exported; not in `bindings::`.
    fn put_ipc_ns(ns: *mut bindings::ipc_namespace);
}

/// A counted reference on an `ipc_namespace` (none is taken on the initial
/// namespace, which lives forever and whose count the kernel keeps at 1).
struct NsRef(*mut bindings::ipc_namespace);

// SAFETY: the pointer is a counted reference, usable from any thread.
unsafe impl Send for NsRef {}
// SAFETY: only the address and the atomic count are read through `&NsRef`.
unsafe impl Sync for NsRef {}

impl NsRef {
    fn common(ns: *mut bindings::ipc_namespace) -> *mut bindings::ns_common {
        ns.wrapping_byte_add(IPC_NAMESPACE_NS).cast()
    }

    fn is_init(ns: *mut bindings::ipc_namespace) -> bool {
        core::ptr::eq(ns, &raw mut bindings::init_ipc_ns)
    }

    /// Takes a reference on `ns` (`get_ipc_ns`).
    ///
    /// # Safety
    ///
    /// `ns` must be a live namespace the caller holds a reference on.
    unsafe fn get(ns: *mut bindings::ipc_namespace) -> NsRef {
        if !Self::is_init(ns) {
            // SAFETY: `ns` is live (the caller's own reference), and its
            // `ns_common` is at the offset Kbuild computed.
            unsafe {
                bindings::refcount_inc(&raw mut (*Self::common(ns)).__bindgen_anon_1.__ns_ref)
            };
        }
        NsRef(ns)
    }

    /// Whether this reference is the namespace's last one: then no task,
    /// file or mount can reach it any more, and no new reference can appear
    /// but through this one.
    fn last(&self) -> bool {
        if Self::is_init(self.0) {
            return false;
        }
        // SAFETY: we hold a reference, so the namespace is live.
        let n = unsafe {
            bindings::atomic_read(&raw const (*Self::common(self.0)).__bindgen_anon_1.__ns_ref.refs)
        };
        n == 1
    }
}

impl Drop for NsRef {
    fn drop(&mut self) {
        if !Self::is_init(self.0) {
            // SAFETY: we own one reference, given back here.
            unsafe { put_ipc_ns(self.0) };
        }
    }
}

/// The rust_ipc queues of one IPC namespace.
#[pin_data]
pub(crate) struct Ns {
    #[pin]
    pub(crate) mq: MqNs,
    #[pin]
    pub(crate) sysv: SysvNs,
    /// Last, so that the queues go before the namespace reference.
    ns: NsRef,
}

kernel::sync::global_lock! {
    // SAFETY: `init` is called in the module initialiser, before any use.
    unsafe(uninit) static NAMESPACES: Mutex<KVec<Arc<Ns>>> = KVec::new();
}

pub(crate) fn init_globals() {
    // SAFETY: called once, from the module initialiser.
    unsafe { NAMESPACES.init() };
}

/// Frees every namespace's queues (module unload).
pub(crate) fn cleanup() {
    drop(core::mem::take(&mut *NAMESPACES.lock()));
}

/// The caller's `ipc_namespace` (`current->nsproxy->ipc_ns`).
fn current_raw() -> Result<*mut bindings::ipc_namespace> {
    // SAFETY: only the task itself changes its `nsproxy`, so reading it
    // from the task is safe; it is NULL only late in `do_exit`.
    let nsproxy = unsafe { (*Task::current_raw()).nsproxy };
    if nsproxy.is_null() {
        return Err(EINVAL);
    }
    // SAFETY: a task's nsproxy holds a reference on its namespaces.
    Ok(unsafe { (*nsproxy).ipc_ns })
}

impl Ns {
    /// The queues of the caller's namespace, made on its first use.  Dead
    /// namespaces are collected here too: this runs at every open of the
    /// device, and when a file is used from another namespace than the one
    /// it was opened in.
    pub(crate) fn current() -> Result<Arc<Ns>> {
        let raw = current_raw()?;
        let mut all = NAMESPACES.lock();
        // The caller's own namespace is never dead: its nsproxy holds it.
        all.retain(|n| !n.ns.last());
        if let Some(ns) = all.iter().find(|n| core::ptr::eq(n.ns.0, raw)) {
            return Ok(ns.clone());
        }
        let ns = Arc::pin_init(
            try_pin_init!(Ns {
                mq <- MqNs::new(),
                sysv <- SysvNs::new(),
                // SAFETY: `raw` is the caller's namespace, which its nsproxy
                // keeps alive during the call.
                ns: unsafe { NsRef::get(raw) },
            }),
            GFP_KERNEL,
        )?;
        all.push(ns.clone(), GFP_KERNEL)?;
        Ok(ns)
    }

    /// Whether this is the caller's namespace (the fast path of a file that
    /// caches the namespace it was opened in).
    pub(crate) fn is_current(&self) -> bool {
        current_raw().is_ok_and(|raw| core::ptr::eq(self.ns.0, raw))
    }
}

/// Checks, at load, that the generated offset finds the initial
/// namespace's `ns_common` where the bindings expect its fields.
pub(crate) fn check_layout() -> Result {
    let c = NsRef::common(&raw mut bindings::init_ipc_ns);
    // SAFETY: `init_ipc_ns` is a static of the kernel; `c` points inside it
    // at the offset of its `ns` field.
    let (ty, inum) = unsafe { ((*c).ns_type, (*c).inum) };
    if ty != CLONE_NEWIPC || inum != IPC_NS_INIT_INO {
        pr_err!("rust_ipc: struct ipc_namespace's ns_common is not where expected\n");
        return Err(ENOEXEC);
    }
    Ok(())
}
