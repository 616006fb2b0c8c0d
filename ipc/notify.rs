// SPDX-License-Identifier: GPL-2.0

//! `mq_notify` registrations and their signal (`__do_notify`).
//!
//! The native call signals the owner process with `kill_pid_info`, which is
//! not exported to modules.  rust_ipc sends the same siginfo (`SI_MESGQ`,
//! `si_value`, the sender's tgid and uid) with `send_sig_info` to one thread
//! of the owner process, chosen as `complete_signal` would: the leader if it
//! does not block the signal, else the first live thread that does not.
//! The signal is then pending on that thread, not process-wide (README).

use crate::ipc::cred::{uid_to_user, Ids};
use crate::ipc::defs::{read_user, ripc_sigevent, RIPC_SIGEV_NONE, RIPC_SIGEV_SIGNAL};
use kernel::{bindings, prelude::*, sync::aref::ARef, task::Task};

const SI_MESGQ: c_int = -3;

/// One registration: the owner process and what to send it.
pub(crate) struct Notify {
    /// The owner's thread-group leader.
    leader: ARef<Task>,
    tgid: i32,
    exec_id: u64,
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

/// The current process's tgid.
pub(crate) fn current_tgid() -> i32 {
    kernel::current!().tgid()
}

impl Notify {
    pub(crate) fn new(signo: u32, value: u64, signal: bool) -> Notify {
        let cur = kernel::current!();
        let leader = cur.group_leader();
        Notify {
            leader: ARef::from(leader),
            tgid: cur.tgid(),
            // SAFETY: reading a plain field of a live task.
            exec_id: unsafe { (*leader.as_ptr()).self_exec_id },
            signo,
            value,
            signal,
        }
    }

    /// The owner's pid as the caller's pid namespace sees it (`pid_vnr`).
    pub(crate) fn owner_vnr(&self) -> i32 {
        // SAFETY: `leader` is a task we hold a reference on; a null
        // namespace means the current task's.
        unsafe { bindings::task_tgid_nr_ns(self.leader.as_ptr(), core::ptr::null_mut()) }
    }

    /// The owner's tgid (global: for identity, not for display).
    pub(crate) fn owner(&self) -> i32 {
        self.tgid
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
        if !self.signal {
            return;
        }
        let cur = kernel::current!();
        let task = self.leader.as_ptr();
        // SAFETY: reading a plain field of a task we hold a reference on.
        if unsafe { (*task).self_exec_id } != self.exec_id {
            return;
        }
        // SAFETY: `kernel_siginfo` is plain data; all zeroes is valid.
        let mut info: bindings::kernel_siginfo = unsafe { core::mem::zeroed() };
        let si = &mut info.__bindgen_anon_1;
        si.si_signo = self.signo as c_int;
        si.si_code = SI_MESGQ;
        // `_rt` is the member of the union that `SI_MESGQ` uses.
        // The sender's tgid as the owner's pid namespace sees it.
        // SAFETY: `task` is a task we hold a reference on, and `cur` the
        // running task.
        si._sifields._rt._pid =
            unsafe { bindings::task_tgid_nr_ns(cur.as_ptr(), bindings::task_active_pid_ns(task)) };
        si._sifields._rt._uid = uid_to_user(Ids::current().uid);
        si._sifields._rt._sigval.sival_ptr = self.value as *mut c_void;
        let _rcu = kernel::sync::rcu::read_lock();
        let target = taker(task, self.signo);
        // SAFETY: `info` is a valid siginfo, `target` the leader (a task we
        // hold a reference on) or one of its threads, which the RCU read
        // lock keeps valid, and `signo` a valid signal (checked in `parse`).
        unsafe { bindings::send_sig_info(self.signo as c_int, &mut info, target) };
    }
}

/// The thread of `leader`'s group that takes `signo`, as `complete_signal`
/// picks it: the leader if it does not block it, else the first live
/// thread that does not, else the leader (the signal waits there).  Call
/// under the RCU read lock, which keeps the threads found valid.
fn taker(leader: *mut bindings::task_struct, signo: u32) -> *mut bindings::task_struct {
    let wants = |t: *mut bindings::task_struct| {
        let bit = u64::from(signo - 1);
        // SAFETY: `t` is a task kept valid by the caller's RCU read lock;
        // its `blocked` set and `flags` are plain words.
        let (blocked, flags) = unsafe { ((*t).blocked.sig[0] as u64, (*t).flags) };
        flags & bindings::PF_EXITING == 0 && (bit >= 64 || blocked & (1 << bit) == 0)
    };
    if wants(leader) {
        return leader;
    }
    // `for_each_thread`: the group's threads are on `signal->thread_head`,
    // linked through `task_struct.thread_node`; the leader and its signal
    // struct are valid (a counted reference), the entries under RCU.
    // SAFETY: a walk of that RCU list under the caller's RCU read lock.
    unsafe {
        let head = &raw mut (*(*leader).signal).thread_head;
        let mut node = core::ptr::read_volatile(&raw const (*head).next);
        while !core::ptr::eq(node, head) {
            let t = node
                .byte_sub(core::mem::offset_of!(bindings::task_struct, thread_node))
                .cast::<bindings::task_struct>();
            if wants(t) {
                return t;
            }
            node = core::ptr::read_volatile(&raw const (*node).next);
        }
    }
    leader
}
