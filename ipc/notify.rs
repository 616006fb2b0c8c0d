// SPDX-License-Identifier: GPL-2.0

//! `mq_notify` registrations, their signal (`__do_notify`), and
//! notification descriptors (`RIPC_SIGEV_FD`).
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
//!
//! A notification descriptor ([`NotifyFd`]) is a file of the device that
//! receives a record (the sigval, the sender's pid and uid) each time a
//! registration of it fires, as glibc's netlink socket receives native
//! `SIGEV_THREAD`'s.  It is registered on one queue at a time; the queue's
//! registration holds it, not the other way round, so closing it marks it
//! closed and a queue treats a registration of a closed descriptor as none
//! (it is dropped the next time the queue looks at it).

#![deny(unsafe_code)]

use crate::ipc::defs::{
    read_user, ripc_notify_record, ripc_sigevent, RIPC_NOTIFY_FD_PENDING_MAX, RIPC_SIGEV_FD,
    RIPC_SIGEV_NONE, RIPC_SIGEV_SIGNAL, RIPC_SIGEV_THREAD,
};
use crate::ipc::{
    chardev,
    kernel_api::{self, PidRef, UserNsRef},
};
use kernel::{
    bindings,
    fs::File,
    iov::IovIterDest,
    new_spinlock,
    prelude::*,
    sync::{
        poll::{PollCondVarBox, PollTable},
        Arc, SpinLock,
    },
    transmute::AsBytes,
};

/// One registration: the owner process and what to send it.
pub(crate) struct Notify {
    owner: PidRef,
    exec_id: u64,
    user_ns: UserNsRef,
    value: u64,
    how: How,
}

/// How a registration notifies.
pub(crate) enum How {
    /// `SIGEV_NONE`.
    Nothing,
    /// `SIGEV_SIGNAL` with this signal.
    Signal(u32),
    /// `RIPC_SIGEV_FD`: a record to this descriptor.
    Fd(Armed),
}

/// What a `RIPC_MQ_NOTIFY` asks for.
pub(crate) enum Request {
    Remove,
    Register { value: u64, how: Target },
}

/// The notification a request names (a descriptor is armed only once the
/// queue takes the registration).
pub(crate) enum Target {
    Nothing,
    Signal(u32),
    Fd(Arc<NotifyFd>),
}

/// Reads and validates the request (`sevp` 0: remove) before the
/// descriptor is looked at, in `do_mq_notify`'s order: `EFAULT`, then
/// `EINVAL` for an unknown `sigev_notify` or a signal outside `1..=_NSIG`.
/// `SIGEV_THREAD` needs glibc's netlink helper and is `EINVAL` here.  For
/// `RIPC_SIGEV_FD`, as native looks up the netlink socket: `EBADF` if
/// `sigev_signo` is no open descriptor, `EINVAL` if it is not a
/// notification descriptor.
pub(crate) fn parse(sevp: u64) -> Result<Request> {
    if sevp == 0 {
        return Ok(Request::Remove);
    }
    let ev: ripc_sigevent = read_user(sevp)?;
    let signo = ev.sigev_signo as u32;
    let how = match ev.sigev_notify as u32 {
        RIPC_SIGEV_NONE => Target::Nothing,
        RIPC_SIGEV_SIGNAL if (1..=bindings::_NSIG).contains(&signo) => Target::Signal(signo),
        RIPC_SIGEV_FD => Target::Fd(
            chardev::with_device_file(ev.sigev_signo, |f| f.and_then(|f| f.notify_fd().cloned()))?
                .ok_or(EINVAL)?,
        ),
        _ => return Err(EINVAL),
    };
    Ok(Request::Register {
        value: ev.sigev_value,
        how,
    })
}

impl Notify {
    /// A registration of the caller's process (a descriptor is armed here:
    /// `EBUSY` if it is registered elsewhere, `EAGAIN` if its records are
    /// unread up to the limit, `EBADF` if it was closed).
    pub(crate) fn new(value: u64, how: Target) -> Result<Notify> {
        let how = match how {
            Target::Nothing => How::Nothing,
            Target::Signal(s) => How::Signal(s),
            Target::Fd(fd) => How::Fd(fd.arm()?),
        };
        Ok(Notify {
            owner: PidRef::current(),
            exec_id: kernel_api::current_exec_id(),
            user_ns: UserNsRef::current(),
            value,
            how,
        })
    }

    /// The owner's pid as the caller's pid namespace sees it (`pid_vnr`).
    pub(crate) fn owner_vnr(&self) -> i32 {
        PidRef::vnr(Some(&self.owner))
    }

    /// Whether the caller's process owns the registration.
    pub(crate) fn owned_by_current(&self) -> bool {
        self.owner.is_current()
    }

    /// Whether the registration is still wanted: not one of a notification
    /// descriptor closed since (a queue drops such a one when it sees it).
    pub(crate) fn live(&self) -> bool {
        match &self.how {
            How::Fd(a) => !a.fd.state.lock().closed,
            _ => true,
        }
    }

    /// The `sigev_notify` value the status line shows: `SIGEV_SIGNAL` 0,
    /// `SIGEV_NONE` 1, and `SIGEV_THREAD` 2 for a descriptor (native's
    /// `SIGEV_THREAD` is delivered through one too).
    pub(crate) fn kind(&self) -> u32 {
        match self.how {
            How::Signal(_) => RIPC_SIGEV_SIGNAL,
            How::Nothing => RIPC_SIGEV_NONE,
            How::Fd(_) => RIPC_SIGEV_THREAD,
        }
    }

    /// The signal number (0 unless `SIGEV_SIGNAL`).
    pub(crate) fn signo(&self) -> u32 {
        match self.how {
            How::Signal(s) => s,
            _ => 0,
        }
    }

    /// Sends the notification (the registration is consumed: one-shot),
    /// from the caller: the task whose message went in.
    pub(crate) fn fire(self) {
        match &self.how {
            How::Signal(signo) => {
                kernel_api::mq_notify(&self.owner, self.exec_id, &self.user_ns, *signo, self.value)
            }
            How::Fd(a) => a.fd.post(
                a.serial,
                Record {
                    value: self.value,
                    pid: PidRef::current(),
                    uid: kernel_api::sender_uid(&self.user_ns),
                    user_ns: UserNsRef::current(),
                },
            ),
            How::Nothing => {}
        }
    }
}

/// One firing, as kept until it is read: the sender as a `struct pid` and
/// its uid as mapped for the registering process, with the sender's user
/// namespace (both are shown as the reader sees them).
struct Record {
    value: u64,
    pid: PidRef,
    uid: u32,
    user_ns: UserNsRef,
}

/// A notification descriptor.
#[pin_data]
pub(crate) struct NotifyFd {
    /// A spinlock: a queue takes it under its own (`lock`); nothing under
    /// it sleeps.
    #[pin]
    state: SpinLock<FdState>,
    /// Readers blocked in `read` and pollers.
    cv: PollCondVarBox,
}

struct FdState {
    /// The serial number of the registration a queue holds, 0 if none.
    armed: u64,
    /// The last registration was removed without firing, and neither a new
    /// one nor `RIPC_NOTIFY_FD_STATE` has come since (`POLLPRI`).
    cancelled: bool,
    next_serial: u64,
    closed: bool,
    /// Unread records, oldest first (room for the limit reserved at bind).
    records: KVec<Record>,
    /// Records taken by readers and not yet copied out: they may come back.
    out: usize,
}

/// The registration of a descriptor, held by a queue: dropped without
/// firing, it disarms the descriptor.
pub(crate) struct Armed {
    fd: Arc<NotifyFd>,
    serial: u64,
}

impl Drop for Armed {
    fn drop(&mut self) {
        let mut g = self.fd.state.lock();
        if g.armed != self.serial {
            // It fired (`post`).
            return;
        }
        g.armed = 0;
        g.cancelled = true;
        drop(g);
        // Pollers of `POLLPRI` (`wake_up` may be called under the queue's
        // lock: it does not sleep).
        self.fd.cv.notify_all();
    }
}

const PENDING_MAX: usize = RIPC_NOTIFY_FD_PENDING_MAX as usize;
const RECORD_SIZE: usize = size_of::<ripc_notify_record>();

impl NotifyFd {
    /// A new notification descriptor's state (`RIPC_NOTIFY_FD_BIND`).
    pub(crate) fn new() -> Result<Arc<NotifyFd>> {
        let records = KVec::with_capacity(PENDING_MAX, GFP_KERNEL_ACCOUNT)?;
        Arc::pin_init(
            try_pin_init!(NotifyFd {
                state <- new_spinlock!(FdState {
                    armed: 0,
                    cancelled: false,
                    next_serial: 1,
                    closed: false,
                    records,
                    out: 0,
                }),
                cv: PollCondVarBox::new(c"rust_ipc_notify_fd", kernel::static_lock_class!())?,
            }),
            GFP_KERNEL_ACCOUNT,
        )
    }

    fn arm(self: Arc<Self>) -> Result<Armed> {
        let mut g = self.state.lock();
        if g.closed {
            return Err(EBADF);
        }
        if g.armed != 0 {
            return Err(EBUSY);
        }
        if g.records.len() + g.out >= PENDING_MAX {
            return Err(EAGAIN);
        }
        let serial = g.next_serial;
        g.next_serial += 1;
        g.armed = serial;
        g.cancelled = false;
        drop(g);
        Ok(Armed { fd: self, serial })
    }

    /// The firing of registration `serial`: its record, then the wake-up.
    fn post(&self, serial: u64, r: Record) {
        let mut g = self.state.lock();
        if g.armed == serial {
            g.armed = 0;
        }
        // The room was checked when it was armed (a closed descriptor has
        // none: the record is dropped).
        if !g.closed {
            let _ = g.records.push_within_capacity(r);
        }
        drop(g);
        self.cv.notify_all();
    }

    /// `RIPC_NOTIFY_FD_STATE`: whether a queue holds its registration, and
    /// the unread records; the answer acknowledges a removal (`POLLPRI`
    /// ends).
    pub(crate) fn state(&self) -> (bool, usize) {
        let mut g = self.state.lock();
        g.cancelled = false;
        (g.armed != 0, g.records.len() + g.out)
    }

    /// The descriptor's last close: its registration is cancelled (the
    /// queue drops it when it next looks) and its records freed.
    pub(crate) fn close(&self) {
        let mut g = self.state.lock();
        g.closed = true;
        let records = core::mem::take(&mut g.records);
        drop(g);
        drop(records);
    }

    /// `poll`: `POLLIN` while a record is unread, `POLLPRI` once a
    /// registration was removed without firing, until the next one or the
    /// next `RIPC_NOTIFY_FD_STATE`.
    pub(crate) fn poll(&self, file: &File, table: &PollTable<'_>) -> u32 {
        table.register_wait(file, &self.cv);
        let g = self.state.lock();
        let mut mask = 0;
        if !g.records.is_empty() {
            mask |= bindings::POLLIN | bindings::POLLRDNORM;
        }
        if g.cancelled {
            mask |= bindings::POLLPRI;
        }
        mask
    }

    /// `read`: as many whole records as fit (`EINVAL` if none does), the
    /// first waited for unless `nonblock` (`EAGAIN`); a signal ends the
    /// wait (`ERESTARTSYS`).  A record is copied out without the lock and
    /// goes back at the head if the copy faults.
    pub(crate) fn read(&self, nonblock: bool, iov: &mut IovIterDest<'_>) -> Result<usize> {
        let want = iov.len() / RECORD_SIZE;
        if want == 0 {
            return Err(EINVAL);
        }
        let mut done = 0;
        while done < want {
            let mut g = self.state.lock();
            while g.records.is_empty() {
                if done > 0 {
                    return Ok(done * RECORD_SIZE);
                }
                if nonblock {
                    return Err(EAGAIN);
                }
                if self.cv.wait_interruptible(&mut g) {
                    return Err(ERESTARTSYS);
                }
            }
            let r = g.records.remove(0).map_err(|_| EINVAL)?;
            g.out += 1;
            drop(g);
            let rec = ripc_notify_record {
                sigev_value: r.value,
                pid: PidRef::vnr(Some(&r.pid)),
                uid: kernel_api::uid_for_reader(&r.user_ns, r.uid),
            };
            let copied = iov.copy_to_iter(rec.as_bytes()) == RECORD_SIZE;
            let mut g = self.state.lock();
            g.out -= 1;
            if !copied {
                // Back at the head: its room is still reserved (`out`).
                if !g.closed {
                    let _ = g.records.insert_within_capacity(0, r);
                }
                drop(g);
                // A reader or poller that found none while it was out
                // sleeps: it is there again.
                self.cv.notify_all();
                return if done > 0 {
                    Ok(done * RECORD_SIZE)
                } else {
                    Err(EFAULT)
                };
            }
            drop(g);
            drop(r);
            done += 1;
        }
        Ok(done * RECORD_SIZE)
    }
}
