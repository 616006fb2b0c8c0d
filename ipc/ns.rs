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
//! the namespace is dead, and its entry goes, which frees every queue of it
//! that no descriptor still holds and drops the reference: at once when the
//! last file opened in it is released after its tasks have left it (a
//! process's files are released after it leaves its namespaces), else
//! within a second, by a periodic sweep that runs while the module holds a
//! namespace other than the initial one.  Native frees a dead namespace's
//! queues from a work item once its last reference goes (`free_ipc_ns`),
//! which also gives back its `max_ipc_namespaces` count; a module is not
//! told.  Module unload frees everything.

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
}

impl NsTable {
    pub(crate) const fn new() -> Self {
        NsTable { tree: None }
    }
}

impl Default for NsTable {
    fn default() -> Self {
        Self::new()
    }
}

/// The periodic sweep ([`kernel_api::sweep_later`]): every dead
/// namespace goes, each freed outside the global lock.  Returns whether a
/// namespace other than the initial one is left, to look again later.
pub(crate) fn sweep_dead() -> bool {
    loop {
        let mut all = globals::namespaces();
        let Some(tree) = all.tree.as_mut() else {
            return false;
        };
        let dead = tree.iter().find(|(_, n)| n.ns.last()).map(|(a, _)| *a);
        let Some(addr) = dead else {
            return tree.values().any(|n| !n.ns.is_init());
        };
        let gone = tree.remove(&addr);
        drop(all);
        drop(gone);
    }
}

impl Ns {
    /// The queues of the caller's namespace, made on its first use: a tree
    /// lookup.
    pub(crate) fn current() -> Result<Arc<Ns>> {
        let raw = kernel_api::current_ipc_ns() as usize;
        let found = globals::namespaces()
            .tree
            .as_ref()
            .and_then(|t| t.get(&raw).cloned());
        if let Some(ns) = found {
            return Ok(ns);
        }
        let ipc = IpcNsRef::current()?;
        let limits = Arc::new(Limits::new(ipc.is_init()), GFP_KERNEL_ACCOUNT)?;
        let ns = Arc::pin_init(
            try_pin_init!(Ns {
                mq <- MqNs::new(ipc.user_ns(), limits.clone()),
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
        drop(all);
        if !ns.ns.is_init() {
            kernel_api::sweep_later();
        }
        Ok(ns)
    }

    /// The release of a file opened in this namespace: if the namespace
    /// is dead, it goes now.  A process's files are released after it has
    /// left its namespaces (`do_exit`: `exit_files`, then
    /// `exit_nsproxy_namespaces`, then the task work that releases them),
    /// so the last process of a namespace that held the device open frees
    /// it as it exits, as native's last reference does.
    pub(crate) fn released(&self) {
        if !self.ns.last() {
            return;
        }
        let mut all = globals::namespaces();
        let gone = all.tree.as_mut().and_then(|tree| {
            let addr = self.ns.addr() as usize;
            let ours = tree.get(&addr).is_some_and(|n| core::ptr::eq(&**n, self));
            ours.then(|| tree.remove(&addr)).flatten()
        });
        drop(all);
        drop(gone);
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

    /// The `ipc_namespace` these queues are of.
    pub(crate) fn ipc(&self) -> &IpcNsRef {
        &self.ns
    }

    /// Whether this is the caller's namespace (the fast path of a file that
    /// caches the namespace it was opened in).
    pub(crate) fn is_current(&self) -> bool {
        core::ptr::eq(self.ns.addr(), kernel_api::current_ipc_ns())
    }
}
