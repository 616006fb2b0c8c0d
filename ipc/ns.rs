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
//! process's files are released after it leaves its namespaces), else by a
//! sweep on the workqueue: kicked by an open that sees it dead, waited for
//! by a POSIX creation that `RLIMIT_MSGQUEUE` would refuse, run once a
//! second while the module holds a namespace other than the initial one,
//! and sooner (10 ms, then 20, 40 ... 640 ms apart) after a task exits in
//! such a namespace with a file of the device open ([`closed`]): a
//! container's last task is often its first, which never used the device
//! and waited for the one that did.
//! An entry that goes is retired in place: its System V queues are
//! removed, its POSIX names dropped and its reference given back, so a
//! device file opened in the namespace, which keeps its `Ns` while it is
//! open (a process that left with `setns` or `unshare`, a descriptor passed
//! on), keeps only the empty entry and the POSIX queues it is bound to, as
//! a native mqueue descriptor keeps its queue.  A file knows its
//! namespace by `ns_common.ns_id`, which no later namespace gets (an
//! address may be reused once the reference is given back).  Native frees
//! a dead namespace's queues from a work item once its last reference goes
//! (`free_ipc_ns`), which also gives back its `max_ipc_namespaces` count; a
//! module is not told.  Module unload frees everything.

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
    new_mutex,
    prelude::*,
    rbtree::{RBTree, RBTreeNode},
    sync::{
        atomic::{Atomic, Relaxed},
        Arc, Mutex,
    },
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
    /// Its `ns_common.ns_id` ([`Ns::is_current`]), 0 once retired.
    id: Atomic<u64>,
    /// Whether it is the initial namespace.
    init: bool,
    /// The reference on it, given back when the namespace dies
    /// ([`Ns::retire`]).  Last, so that the queues go before it.
    #[pin]
    ns: Mutex<Option<IpcNsRef>>,
}

/// The namespaces that have rust_ipc queues, by the address of their
/// `ipc_namespace` (a global, [`globals::namespaces`]).
pub(crate) struct NsTable {
    /// Made on first use (the tree cannot be made in a `const`).
    tree: Option<RBTree<usize, Arc<Ns>>>,
    /// Where the step of a sweep in [`Ns::current`] looks next.
    next: usize,
}

impl NsTable {
    pub(crate) const fn new() -> Self {
        NsTable {
            tree: None,
            next: 0,
        }
    }
}

impl Default for NsTable {
    fn default() -> Self {
        Self::new()
    }
}

/// Takes the entry that `pick` names out of the table, and retires it
/// outside the global lock.  The caller holds the sweep lock (`_sweeping`)
/// across, so that the release of a dead namespace's last file
/// ([`Ns::released`]) returns only once a namespace that another collector
/// took out is freed (its `max_ipc_namespaces` count back).  Returns
/// whether an entry went.
fn collect<G>(_sweeping: &G, pick: impl FnOnce(&mut NsTable) -> Option<usize>) -> bool {
    let mut all = globals::namespaces();
    let gone = pick(&mut all).and_then(|addr| all.tree.as_mut()?.remove(&addr));
    if let Some(n) = &gone {
        // Under the table's lock: a call that looks now does not take the
        // entry for its namespace (a namespace that comes back gets a new
        // one), before its queues go.
        n.id.store(0, Relaxed);
    }
    drop(all);
    if let Some(n) = &gone {
        n.retire();
    }
    gone.is_some()
}

/// The periodic sweep ([`kernel_api::sweep_later`]): every dead
/// namespace goes.  Returns whether a namespace other than the initial one
/// is left, to look again later.
pub(crate) fn sweep_dead() -> bool {
    let sweeping = globals::sweeping();
    // One look over the table finds the dead (each removal then takes the
    // lock once: not a look over the whole table for each).  Without
    // memory for the list, one at a time as they are found.
    let (dead, listed) = {
        let all = globals::namespaces();
        let mut v = KVec::new();
        let listed = all
            .tree
            .iter()
            .flatten()
            .filter(|(_, n)| n.dead())
            .all(|(a, _)| v.push(*a, GFP_KERNEL).is_ok());
        (v, listed)
    };
    for a in &dead {
        collect(&sweeping, |t| {
            t.tree.as_ref()?.get(a).filter(|n| n.dead()).map(|_| *a)
        });
    }
    if !listed {
        while collect(&sweeping, |t| {
            let tree = t.tree.as_ref()?;
            tree.iter().find(|(_, n)| n.dead()).map(|(a, _)| *a)
        }) {}
    }
    drop(sweeping);
    any_but_init()
}

/// A close of a file of the device: if the caller is exiting in a
/// namespace other than the initial one, which may die once it is gone,
/// the sweep looks sooner ([`kernel_api::sweep_soon`]).  The namespace's
/// last task may be one that never used the device, a container's first
/// process that waits for the child that did (`unshare --fork`) and exits
/// right after it; nothing else would tell the module before the sweep's
/// next second.
pub(crate) fn closed() {
    if kernel_api::exiting_in_child_ipc_ns() {
        kernel_api::sweep_soon();
    }
}

/// Whether the table has a namespace other than the initial one (which
/// never dies): else no sweep can free anything.
pub(crate) fn any_but_init() -> bool {
    let all = globals::namespaces();
    let tree = all.tree.as_ref();
    tree.is_some_and(|t| t.values().any(|n| !n.init))
}

impl Ns {
    /// The queues of the caller's namespace, made on its first use: a tree
    /// lookup.  Each call also looks at one other namespace, in turn, and
    /// if it is dead runs the sweep at once, on the workqueue (the caller
    /// may be `misc_open`, which holds `misc_mtx` for every misc device),
    /// so that namespaces that die at once go before the periodic sweep's
    /// second.  This runs at every open of the device, and when a file is
    /// used from another namespace than the one it was opened in.
    pub(crate) fn current() -> Result<Arc<Ns>> {
        let raw = kernel_api::current_ipc_ns() as usize;
        let mut all = globals::namespaces();
        let NsTable { tree, next } = &mut *all;
        let tree = tree.get_or_insert_with(RBTree::new);
        // The caller's own namespace is never dead (its nsproxy holds it).
        let seen = tree
            .cursor_lower_bound(next)
            .or_else(|| tree.cursor_front())
            .map(|c| (*c.current().0, c.current().1.dead()));
        let dead = seen.is_some_and(|(addr, dead)| {
            *next = addr.wrapping_add(1);
            dead
        });
        let found = tree.get(&raw).cloned();
        drop(all);
        if dead {
            kernel_api::sweep_now();
        }
        if let Some(ns) = found {
            return Ok(ns);
        }
        let ipc = IpcNsRef::current()?;
        let init = ipc.is_init();
        let limits = Arc::new(Limits::new(init), GFP_KERNEL_ACCOUNT)?;
        let ns = Arc::pin_init(
            try_pin_init!(Ns {
                mq <- MqNs::new(ipc.user_ns(), limits.clone()),
                sysv <- SysvNs::new(ipc.user_ns(), limits.clone()),
                limits,
                id: Atomic::new(ipc.id()),
                init,
                ns <- new_mutex!(Some(ipc)),
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
        if !init {
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
        let Some(addr) = self
            .ns
            .lock()
            .as_ref()
            .filter(|n| n.last())
            .map(|n| n.addr())
        else {
            return;
        };
        let addr = addr as usize;
        collect(&globals::sweeping(), |t| {
            let ours = t.tree.as_ref()?.get(&addr)?;
            core::ptr::eq(&**ours, self).then_some(addr)
        });
    }

    /// `RIPC_IOC_SET_LIMITS`: the namespace's root (uid 0 of the user
    /// namespace that owns it) may change its limits, as it may write its
    /// sysctls (`ipc_permissions`, `mq_permissions`); anyone else gets
    /// `EPERM`.  And only those whose sysctl file it could open for
    /// writing now ([`Limits::set`]: `EROFS` under a read-only
    /// `/proc/sys`).
    ///
    /// [`Limits::set`]: crate::ipc::limits::Limits::set
    pub(crate) fn set_limits(&self, l: &ripc_limits, set: u32) -> Result {
        if cred::Ids::current().euid != self.ipc()?.root_uid() {
            return Err(EPERM);
        }
        self.limits.set(l, set)
    }

    /// A reference on the `ipc_namespace` these queues are of: the caller's
    /// (`EINVAL` for a retired entry, which no call reaches: a namespace
    /// that a caller is in is not dead).
    pub(crate) fn ipc(&self) -> Result<IpcNsRef> {
        self.ns.lock().clone().ok_or(EINVAL)
    }

    /// Whether this is the caller's namespace (the fast path of a file that
    /// caches the namespace it was opened in; never for a retired entry).
    pub(crate) fn is_current(&self) -> bool {
        kernel_api::is_current_ipc_ns(&self.id)
    }

    /// Whether the namespace is dead: the module's reference is its last
    /// (a retired entry has none: not dead again).
    fn dead(&self) -> bool {
        self.ns.lock().as_ref().is_some_and(|n| n.last())
    }

    /// The namespace died and its entry left the table: its System V queues
    /// are removed (`free_ipcs`), its POSIX names dropped (a queue bound to
    /// a descriptor stays until its last close, as native's inode), and its
    /// reference given back.  A device file opened in it may still hold the
    /// entry, but no call reaches it any more: none is in the namespace,
    /// and a namespace that comes back gets a new entry, since the id that
    /// the files' fast path compares is cleared first.  Only one way back
    /// is left once the module's reference is the last: every holder of an
    /// active reference (a task's `nsproxy`, an nsfs inode) holds one of
    /// ours too, and `nsfs_fh_to_dentry` opens only an active namespace
    /// (`ns_get_unless_inactive`), so a file handle must have seen it
    /// active just before its last task or nsfs file went, and then takes
    /// its reference, the race that nsfs accepts ("we just allow its
    /// resurrection").
    fn retire(&self) {
        self.id.store(0, Relaxed);
        self.sysv.retire();
        self.mq.retire();
        let ns = self.ns.lock().take();
        drop(ns);
    }
}
