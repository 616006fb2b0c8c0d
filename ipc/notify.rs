// SPDX-License-Identifier: GPL-2.0

//! `mq_notify` registrations and their signal (`__do_notify`).
//!
//! A registration keeps what native keeps: the owner process as a `struct
//! pid` (so that every pid namespace names it right), its `self_exec_id`
//! (a process that has exec'd since does not get the signal, native's
//! check against `pid_task(notify_owner, PIDTYPE_TGID)`), and its user
//! namespace (for `si_uid`).  The native call signals the owner with
//! `do_send_sig_info`, which is not exported to modules; rust_ipc sends the
//! same siginfo with `send_sig_info` to the thread `complete_signal` would
//! pick (see `kernel_api/helpers.c`): the signal is then pending on that
//! thread, not process-wide (README).

#![deny(unsafe_code)]

use crate::ipc::defs::{read_user, ripc_sigevent, RIPC_SIGEV_NONE, RIPC_SIGEV_SIGNAL};
use crate::ipc::kernel_api::{self, PidRef, UserNsRef};
use kernel::{bindings, prelude::*};

/// One registration: the owner process and what to send it.
pub(crate) struct Notify {
    owner: PidRef,
    exec_id: u64,
    user_ns: UserNsRef,
    signo: u32,
    value: u64,
    signal: bool,
}
/// What a `RIPC_MQ_NOTIFY` asks for.
pub(crate) enum Request {
    Remove,
    Register {
        signo: u32,
        value: u64,
        signal: bool,
    },
}

/// Reads and validates the request (`sevp` 0: remove) before the
/// descriptor is looked at, in `do_mq_notify`'s order: `EFAULT`, then
/// `EINVAL` for an unknown `sigev_notify` or a signal outside `1..=_NSIG`.
/// `SIGEV_THREAD` needs glibc's netlink helper and is `EINVAL` here.
pub(crate) fn parse(sevp: u64) -> Result<Request> {
    if sevp == 0 {
        return Ok(Request::Remove);
    }
    let ev: ripc_sigevent = read_user(sevp)?;
    let signo = ev.sigev_signo as u32;
    match ev.sigev_notify as u32 {
        RIPC_SIGEV_NONE => Ok(Request::Register {
            signo: 0,
            value: ev.sigev_value,
            signal: false,
        }),
        RIPC_SIGEV_SIGNAL if (1..=bindings::_NSIG).contains(&signo) => Ok(Request::Register {
            signo,
            value: ev.sigev_value,
            signal: true,
        }),
        _ => Err(EINVAL),
    }
}

impl Notify {
    pub(crate) fn new(signo: u32, value: u64, signal: bool) -> Notify {
        Notify {
            owner: PidRef::current(),
            exec_id: kernel_api::current_exec_id(),
            user_ns: UserNsRef::current(),
            signo,
            value,
            signal,
        }
    }

    /// The owner's pid as the caller's pid namespace sees it (`pid_vnr`).
    pub(crate) fn owner_vnr(&self) -> i32 {
        PidRef::vnr(Some(&self.owner))
    }

    /// Whether the caller's process owns the registration.
    pub(crate) fn owned_by_current(&self) -> bool {
        self.owner.is_current()
    }

    /// The `sigev_notify` value (`SIGEV_SIGNAL` 0 or `SIGEV_NONE` 1).
    pub(crate) fn kind(&self) -> u32 {
        if self.signal {
            RIPC_SIGEV_SIGNAL
        } else {
            RIPC_SIGEV_NONE
        }
    }

    /// The signal number (0 for `SIGEV_NONE`).
    pub(crate) fn signo(&self) -> u32 {
        if self.signal {
            self.signo
        } else {
            0
        }
    }

    /// Sends the notification (the registration is consumed: one-shot).
    pub(crate) fn fire(self) {
        if self.signal && self.signo != 0 {
            kernel_api::mq_notify(
                &self.owner,
                self.exec_id,
                &self.user_ns,
                self.signo,
                self.value,
            );
        }
    }
}
