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

#![deny(unsafe_code)]

use crate::ipc::{
    kernel_api::{self, globals, IpcNsRef},
    mqueue::MqNs,
    sysv::SysvNs,
};
use kernel::{prelude::*, sync::Arc};

/// The rust_ipc queues of one IPC namespace.
#[pin_data]
pub(crate) struct Ns {
    #[pin]
    pub(crate) mq: MqNs,
    #[pin]
    pub(crate) sysv: SysvNs,
    /// Last, so that the queues go before the namespace reference.
    ns: IpcNsRef,
}

impl Ns {
    /// The queues of the caller's namespace, made on its first use.  Dead
    /// namespaces are collected here too: this runs at every open of the
    /// device, and when a file is used from another namespace than the one
    /// it was opened in.
    pub(crate) fn current() -> Result<Arc<Ns>> {
        let raw = kernel_api::current_ipc_ns();
        let mut all = globals::namespaces();
        // The caller's own namespace is never dead: its nsproxy holds it.
        all.retain(|n| !n.ns.last());
        if let Some(ns) = all.iter().find(|n| core::ptr::eq(n.ns.addr(), raw)) {
            return Ok(ns.clone());
        }
        let ipc = IpcNsRef::current()?;
        let ns = Arc::pin_init(
            try_pin_init!(Ns {
                mq <- MqNs::new(ipc.mq_root_uid()),
                sysv <- SysvNs::new(ipc.user_ns()),
                ns: ipc,
            }),
            GFP_KERNEL_ACCOUNT,
        )?;
        all.push(ns.clone(), GFP_KERNEL_ACCOUNT)?;
        Ok(ns)
    }

    /// Whether this is the caller's namespace (the fast path of a file that
    /// caches the namespace it was opened in).
    pub(crate) fn is_current(&self) -> bool {
        core::ptr::eq(self.ns.addr(), kernel_api::current_ipc_ns())
    }
}
