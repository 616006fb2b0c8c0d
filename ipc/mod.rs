// SPDX-License-Identifier: GPL-2.0

//! The module's code, one file per concept.

pub(crate) mod chardev;
pub(crate) mod cred;
pub(crate) mod defs;
pub(crate) mod device;
pub(crate) mod engine;
pub(crate) mod fifo;
pub(crate) mod kernel_api;
pub(crate) mod kmem;
pub(crate) mod limits;
pub(crate) mod mqueue;
pub(crate) mod msg;
pub(crate) mod notify;
pub(crate) mod ns;
pub(crate) mod sysv;
pub(crate) mod wait;

/// Sets up the global registries (module load).
pub(crate) fn init_globals() {
    mqueue::init_globals();
    ns::init_globals();
}

/// Frees every queue (module unload).
pub(crate) fn cleanup() {
    // The queues first: their charges go back to mqueue's accounting.
    ns::cleanup();
    mqueue::cleanup();
}
