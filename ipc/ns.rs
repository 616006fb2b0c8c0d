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
    cred,
    defs::ripc_limits,
    kernel_api::{self, globals, IpcNsRef},
    limits::Limits,
    mqueue::MqNs,
    sysv::SysvNs,
};
use kernel::{
    prelude::*,
    rbtree::{RBTree, RBTreeNode},
    sync::Arc,
};

/// The rust_ipc queues of one IPC namespace.
#[pin_data]
pub(crate) struct Ns {
    #[pin]
    pub(crate) mq: MqNs,
    #[pin]
    pub(crate) sysv: SysvNs,
    /// The namespace's limits (native: its sysctls).
    pub(crate) limits: Arc<Limits>,
    /// Last, so that the queues go before the namespace reference.
    ns: IpcNsRef,
}

/// The namespaces that have rust_ipc queues, by the address of their
/// `ipc_namespace` (a global, [`globals::namespaces`]).
pub(crate) struct NsTable {
    /// Made on first use (the tree cannot be made in a `const`).
    tree: Option<RBTree<usize, Arc<Ns>>>,
    /// Where the sweep for dead namespaces looks next.
    sweep: usize,
}

impl NsTable {
    pub(crate) const fn new() -> Self {
        NsTable {
            tree: None,
            sweep: 0,
        }
    }
}

impl Default for NsTable {
    fn default() -> Self {
        Self::new()
    }
}

impl Ns {
    /// The queues of the caller's namespace, made on its first use: a tree
    /// lookup.  Each call also looks at one other namespace, in turn, and
    /// frees it if it is dead: a dead namespace is collected within as many
    /// calls as there are namespaces.  This runs at every open of the
    /// device, and when a file is used from another namespace than the one
    /// it was opened in.
    pub(crate) fn current() -> Result<Arc<Ns>> {
        let raw = kernel_api::current_ipc_ns() as usize;
        let mut all = globals::namespaces();
        let NsTable { tree, sweep } = &mut *all;
        let tree = tree.get_or_insert_with(RBTree::new);
        // The sweep: the caller's own namespace is never dead (its nsproxy
        // holds it).
        let seen = tree
            .cursor_lower_bound(sweep)
            .or_else(|| tree.cursor_front())
            .map(|c| (*c.current().0, c.current().1.ns.last()));
        let dead = if let Some((addr, dead)) = seen {
            *sweep = addr.wrapping_add(1);
            dead.then(|| tree.remove(&addr)).flatten()
        } else {
            None
        };
        let found = tree.get(&raw).cloned();
        drop(all);
        // A dead namespace's queues are freed outside the global lock.
        drop(dead);
        if let Some(ns) = found {
            return Ok(ns);
        }
        let ipc = IpcNsRef::current()?;
        let limits = Arc::new(Limits::new(ipc.is_init()), GFP_KERNEL_ACCOUNT)?;
        let ns = Arc::pin_init(
            try_pin_init!(Ns {
                mq <- MqNs::new(ipc.mq_root_uid(), ipc.user_ns(), limits.clone()),
                sysv <- SysvNs::new(ipc.user_ns(), limits.clone()),
                limits,
                ns: ipc,
            }),
            GFP_KERNEL_ACCOUNT,
        )?;
        let node = RBTreeNode::new(raw, ns.clone(), GFP_KERNEL_ACCOUNT)?;
        let mut all = globals::namespaces();
        let tree = all.tree.get_or_insert_with(RBTree::new);
        // Made twice by two racing first calls: the first one made stays.
        if let Some(first) = tree.get(&raw) {
            return Ok(first.clone());
        }
        tree.insert(node);
        Ok(ns)
    }

    /// `RIPC_IOC_SET_LIMITS`: the namespace's root (uid 0 of the user
    /// namespace that owns it) may change its limits, as it may write its
    /// sysctls (`ipc_permissions`, `mq_permissions`); anyone else gets
    /// `EPERM`.
    pub(crate) fn set_limits(&self, l: &ripc_limits, set: u32) -> Result {
        if cred::Ids::current().euid != self.ns.root_uid() {
            return Err(EPERM);
        }
        self.limits.set(l, set)
    }

    /// Whether this is the caller's namespace (the fast path of a file that
    /// caches the namespace it was opened in).
    pub(crate) fn is_current(&self) -> bool {
        core::ptr::eq(self.ns.addr(), kernel_api::current_ipc_ns())
    }
}
