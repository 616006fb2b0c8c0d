// SPDX-License-Identifier: GPL-2.0

//! The limits: the module's equivalents of `/proc/sys/fs/mqueue/*` and
//! `kernel.msg{max,mnb,mni}`, per IPC namespace as native's.  The module
//! parameters give the initial namespace's values at load, the native
//! defaults a new namespace's; `RIPC_IOC_SET_LIMITS` changes the caller's
//! namespace's (its root may, as it may write those sysctls, and only
//! while it could open them for writing),
//! `RIPC_IOC_VERSION` reads them.

#![deny(unsafe_code)]

use crate::ipc::{defs::ripc_limits, kernel_api};
use kernel::{
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
};

/// Hard ceilings, as the native `HARD_MSGMAX`, `HARD_MSGSIZEMAX`, `IPCMNI`.
pub(crate) const HARD_MSGMAX: u32 = 65536;
pub(crate) const HARD_MSGSIZEMAX: u32 = 16 * 1024 * 1024;
pub(crate) const IPCMNI: u32 = 32768;

/// The native sysctls' ranges, in the fields' order: `msg_default` and
/// `msg_max` 1 (`MIN_MSGMAX`) to `HARD_MSGMAX`, the sizes 128
/// (`MIN_MSGSIZEMAX`) to `HARD_MSGSIZEMAX`, `queues_max` any int
/// (`proc_dointvec`, kept unsigned), `msgmax` and `msgmnb` 0 to `INT_MAX`,
/// `msgmni` 0 to `IPCMNI`.
const RANGES: [(u32, u32); 8] = [
    (1, HARD_MSGMAX),
    (128, HARD_MSGSIZEMAX),
    (1, HARD_MSGMAX),
    (128, HARD_MSGSIZEMAX),
    (0, u32::MAX),
    (0, i32::MAX as u32),
    (0, i32::MAX as u32),
    (0, IPCMNI),
];

/// Every `RIPC_LIMIT_*` bit (one per field).
const ALL: u32 = (1 << RANGES.len()) - 1;

/// The native sysctl file of each field, in the fields' order.
const SYSCTLS: [&CStr; 8] = [
    c"/proc/sys/fs/mqueue/msg_default",
    c"/proc/sys/fs/mqueue/msgsize_default",
    c"/proc/sys/fs/mqueue/msg_max",
    c"/proc/sys/fs/mqueue/msgsize_max",
    c"/proc/sys/fs/mqueue/queues_max",
    c"/proc/sys/kernel/msgmax",
    c"/proc/sys/kernel/msgmnb",
    c"/proc/sys/kernel/msgmni",
];

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

    /// Changes the limits whose bits are in `set` or, if `set` is 0, those
    /// that are not 0 in `l` (`RIPC_IOC_SET_LIMITS`); `EINVAL`, nothing
    /// changed, for an unknown bit or a value out of its native range.
    pub(crate) fn set(&self, l: &ripc_limits, set: u32) -> Result {
        let v = to_array(l);
        let set = if set != 0 {
            set
        } else {
            v.iter()
                .enumerate()
                .filter(|&(_, &x)| x != 0)
                .fold(0, |m, (i, _)| m | (1 << i))
        };
        if set & !ALL != 0 {
            return Err(EINVAL);
        }
        // Each field only as its sysctl file could be written now (a
        // container's read-only `/proc/sys`: `EROFS`, as native's write,
        // before the value's range).
        for (i, path) in SYSCTLS.iter().enumerate() {
            if set & (1 << i) != 0 {
                kernel_api::sysctl_writable(path)?;
            }
        }
        if !in_range(&v, set) {
            return Err(EINVAL);
        }
        for (i, (a, v)) in self.0.iter().zip(v).enumerate() {
            if set & (1 << i) != 0 {
                a.store(v, Relaxed);
            }
        }
        Ok(())
    }
}

/// Whether `set` has only known bits and each field it names is in its
/// native range.
fn in_range(v: &[u32; 8], set: u32) -> bool {
    set & !ALL == 0
        && v.iter()
            .zip(RANGES)
            .enumerate()
            .all(|(i, (&x, (lo, hi)))| set & (1 << i) == 0 || (lo..=hi).contains(&x))
}

/// Sets the initial namespace's values at load from the module parameters
/// (if one is out of its native range, the native defaults).
pub(crate) fn init(l: ripc_limits) {
    let l = if in_range(&to_array(&l), ALL) {
        l
    } else {
        pr_warn!("rust_ipc: a limit parameter is out of range; using the defaults\n");
        DEFAULTS
    };
    for (a, v) in AT_LOAD.0.iter().zip(to_array(&l)) {
        a.store(v, Relaxed);
    }
}
