// SPDX-License-Identifier: GPL-2.0

//! The module's code, one file per concept.

pub(crate) mod checkpoint;
pub(crate) mod device;
pub(crate) mod engine;
pub(crate) mod hashed;
pub(crate) mod kernel_api;
// The wrappers that hold `unsafe` live in kernel_api/; these are theirs.
pub(crate) use kernel_api::{
    chardev, cred, defs, fifo, lock, msg, percpu, pinned, rcu_index, tracked, waitq,
};
pub(crate) mod limits;
pub(crate) mod mqueue;
pub(crate) mod notify;
pub(crate) mod ns;
pub(crate) mod prios;
pub(crate) mod stats;
pub(crate) mod sysv;
pub(crate) mod text;
pub(crate) mod wait;

/// Sets up the global registries (module load).
pub(crate) fn init_globals() {
    kernel_api::globals::init();
}

/// Frees every queue (module unload).
pub(crate) fn cleanup() {
    kernel_api::sweep_stop();
    kernel_api::globals::cleanup();
}
