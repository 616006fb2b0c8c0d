// SPDX-License-Identifier: GPL-2.0

//! The limits: the module's equivalents of `/proc/sys/fs/mqueue/*` and
//! `kernel.msg{max,mnb,mni}`, per IPC namespace as native's.  The module
//! parameters give the initial namespace's values at load, the native
//! defaults a new namespace's; `RIPC_IOC_SET_LIMITS` changes the caller's
//! namespace's (its root may, as it may write those sysctls),
//! `RIPC_IOC_VERSION` reads them.

#![deny(unsafe_code)]

use crate::ipc::defs::ripc_limits;
use kernel::{
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
};

/// Hard ceilings, as the native `HARD_MSGMAX`, `HARD_MSGSIZEMAX`, `IPCMNI`.
pub(crate) const HARD_MSGMAX: u32 = 65536;
pub(crate) const HARD_MSGSIZEMAX: u32 = 16 * 1024 * 1024;
pub(crate) const IPCMNI: u32 = 32768;
/// The native sysctls' lower bounds (`msg_max`/`msgsize_max` ≥ 1/128).
const MIN_MSGMAX: u32 = 1;
const MIN_MSGSIZEMAX: u32 = 128;

/// The native defaults of a new IPC namespace (`DFLT_*`, `MSGMAX`,
/// `MSGMNB`, `MSGMNI`).
const DEFAULTS: ripc_limits = ripc_limits {
    mq_msg_default: 10,
    mq_msgsize_default: 8192,
    mq_msg_max: 10,
    mq_msgsize_max: 8192,
    mq_queues_max: 256,
    msgmax: 8192,
    msgmnb: 16384,
    msgmni: 32000,
};

/// The limits of one IPC namespace, as native keeps its sysctls per
/// namespace.
pub(crate) struct Limits([Atomic<u32>; 8]);

/// The initial namespace's limits at load (the module parameters).
static AT_LOAD: Limits = Limits([const { Atomic::new(0) }; 8]);

fn to_array(l: &ripc_limits) -> [u32; 8] {
    [
        l.mq_msg_default,
        l.mq_msgsize_default,
        l.mq_msg_max,
        l.mq_msgsize_max,
        l.mq_queues_max,
        l.msgmax,
        l.msgmnb,
        l.msgmni,
    ]
}

impl Limits {
    /// The limits of a namespace when rust_ipc first sees it: the module
    /// parameters for the initial namespace, the native defaults for any
    /// other (as a new namespace's sysctls start).
    pub(crate) fn new(initial_ns: bool) -> Limits {
        let l = if initial_ns { AT_LOAD.get() } else { DEFAULTS };
        Limits(to_array(&l).map(Atomic::new))
    }

    /// The current limits.
    pub(crate) fn get(&self) -> ripc_limits {
        let v = self.0.each_ref().map(|a| a.load(Relaxed));
        ripc_limits {
            mq_msg_default: v[0],
            mq_msgsize_default: v[1],
            mq_msg_max: v[2],
            mq_msgsize_max: v[3],
            mq_queues_max: v[4],
            msgmax: v[5],
            msgmnb: v[6],
            msgmni: v[7],
        }
    }

    /// `msgmax` alone: every System V send reads it.
    pub(crate) fn msgmax(&self) -> u32 {
        let [.., msgmax, _, _] = &self.0;
        msgmax.load(Relaxed)
    }

    /// Changes the limits that are non-zero in `l` (`EINVAL` if out of
    /// range).
    pub(crate) fn set(&self, l: &ripc_limits) -> Result {
        validate(l)?;
        for (a, v) in self.0.iter().zip(to_array(l)) {
            if v != 0 {
                a.store(v, Relaxed);
            }
        }
        Ok(())
    }
}

/// Checks the native sysctl ranges; 0 means "unchanged".
fn validate(l: &ripc_limits) -> Result {
    let ok = |v: u32, lo: u32, hi: u32| v == 0 || (lo..=hi).contains(&v);
    let fine = ok(l.mq_msg_default, MIN_MSGMAX, HARD_MSGMAX)
        && ok(l.mq_msgsize_default, MIN_MSGSIZEMAX, HARD_MSGSIZEMAX)
        && ok(l.mq_msg_max, MIN_MSGMAX, HARD_MSGMAX)
        && ok(l.mq_msgsize_max, MIN_MSGSIZEMAX, HARD_MSGSIZEMAX)
        && ok(l.mq_queues_max, 1, u32::MAX)
        && ok(l.msgmax, 1, i32::MAX as u32)
        && ok(l.msgmnb, 1, i32::MAX as u32)
        && ok(l.msgmni, 1, IPCMNI);
    if fine {
        Ok(())
    } else {
        Err(EINVAL)
    }
}

/// Sets the initial namespace's values at load from the module parameters
/// (out-of-range ones fall back to the native defaults).
pub(crate) fn init(l: ripc_limits) {
    let l = if validate(&l).is_ok() {
        l
    } else {
        pr_warn!("rust_ipc: a limit parameter is out of range; using the defaults\n");
        DEFAULTS
    };
    for (a, v) in AT_LOAD.0.iter().zip(to_array(&l)) {
        a.store(v, Relaxed);
    }
}
