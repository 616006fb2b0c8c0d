// SPDX-License-Identifier: GPL-2.0

//! The module's two global registries, each behind a mutex: the IPC
//! namespaces that have rust_ipc queues, and the `RLIMIT_MSGQUEUE` charges
//! of POSIX queues per user; and the lock of the collection of dead
//! namespaces.  Set up at load, emptied at unload.

use crate::ipc::{mqueue::Acct, ns::NsTable};
use core::ops::DerefMut;
use kernel::prelude::*;

kernel::sync::global_lock! {
    // SAFETY: `init` is called in the module initialiser, before any use.
    unsafe(uninit) static NAMESPACES: Mutex<NsTable> = NsTable::new();
}

kernel::sync::global_lock! {
    // SAFETY: `init` is called in the module initialiser, before any use.
    unsafe(uninit) static MQ_ACCOUNTING: Mutex<Acct> = Acct::new();
}

kernel::sync::global_lock! {
    // SAFETY: `init` is called in the module initialiser, before any use.
    unsafe(uninit) static SWEEPING: Mutex<()> = ();
}

/// Sets the registries up (module load, before the device is registered).
pub(crate) fn init() {
    // SAFETY: called once, from the module initialiser, before any use.
    unsafe {
        NAMESPACES.init();
        MQ_ACCOUNTING.init();
        SWEEPING.init();
    }
}

/// Frees every namespace's queues, then the accounting table (module
/// unload: the queues' charges go back first).
pub(crate) fn cleanup() {
    drop(core::mem::take(&mut *NAMESPACES.lock()));
    drop(core::mem::take(&mut *MQ_ACCOUNTING.lock()));
}

/// The namespaces, locked.
pub(crate) fn namespaces() -> impl DerefMut<Target = NsTable> {
    NAMESPACES.lock()
}

/// The lock held across taking a dead namespace out of the table and
/// freeing it (`ns.rs`), taken before [`namespaces`].
pub(crate) fn sweeping() -> impl Sized {
    SWEEPING.lock()
}

/// The POSIX accounting table, locked.
pub(crate) fn mq_accounting() -> impl DerefMut<Target = Acct> {
    MQ_ACCOUNTING.lock()
}
