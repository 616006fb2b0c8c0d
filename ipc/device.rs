// SPDX-License-Identifier: GPL-2.0

//! The state of one open `/dev/rust_ipc` file and the ioctl dispatch.
//!
//! A fresh file is unbound: it serves the device-wide calls (version,
//! limits, listing, `mq_unlink`, the System V calls).  `RIPC_MQ_OPEN` binds
//! it once to a POSIX queue; from then on it is that queue's descriptor,
//! shared by `dup()` and `fork()` like a native mqueue descriptor.

#![deny(unsafe_code)]

use crate::ipc::{
    defs::*,
    limits,
    mqueue::{self, MqHandle},
    ns::Ns,
    sysv::{self, SysvQueue},
};
use core::fmt::Write;
use kernel::{
    fs::{File, Kiocb},
    ioctl::{_IOC_NR, _IOC_TYPE},
    iov::IovIterDest,
    miscdevice::{MiscDevice, MiscDeviceRegistration},
    prelude::*,
    sync::{poll::PollTable, Arc, SetOnce},
    uaccess::{UserPtr, UserSlice},
};

/// What a file is bound to.
enum Binding {
    /// A POSIX queue: the file is its descriptor.
    Mq(MqHandle),
    /// A System V queue, for `poll` (`RIPC_MSG_BIND`).
    Sysv(Arc<SysvQueue>),
}

/// The private data of an open file.
pub(crate) struct RipcFile {
    bound: SetOnce<Binding>,
    /// The IPC namespace the file was opened in: the one its calls use
    /// unless the caller is in another (after `setns`, `unshare`, or a
    /// descriptor passed across).
    ns: Arc<Ns>,
}

/// The caller's namespace: the file's own, or another one looked up.
enum NsOf<'a> {
    Cached(&'a Ns),
    Other(Arc<Ns>),
}

impl core::ops::Deref for NsOf<'_> {
    type Target = Ns;
    fn deref(&self) -> &Ns {
        match self {
            NsOf::Cached(n) => n,
            NsOf::Other(n) => n,
        }
    }
}

impl RipcFile {
    fn mq(&self) -> Option<&MqHandle> {
        match self.bound.as_ref() {
            Some(Binding::Mq(h)) => Some(h),
            _ => None,
        }
    }

    /// The caller's namespace.
    fn ns(&self) -> Result<NsOf<'_>> {
        if self.ns.is_current() {
            Ok(NsOf::Cached(&self.ns))
        } else {
            Ns::current().map(NsOf::Other)
        }
    }

    /// Binds the file once (`EBUSY` after that).
    fn bind(&self, b: Binding) -> Result {
        if self.bound.populate(b) {
            Ok(())
        } else {
            Err(EBUSY)
        }
    }
}

#[vtable]
impl MiscDevice for RipcFile {
    type Ptr = KBox<Self>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<KBox<Self>> {
        Ok(KBox::new(
            RipcFile {
                bound: SetOnce::new(),
                ns: Ns::current()?,
            },
            GFP_KERNEL_ACCOUNT,
        )?)
    }

    fn read_iter(mut kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        let me = kiocb.file();
        let h = me.mq().ok_or(EBADF)?;
        let mut text = TextBuf::new();
        h.status(&mut text).map_err(|_| ENOMEM)?;
        iov.simple_read_from_buffer(kiocb.ki_pos_mut(), text.as_bytes())
    }

    fn ioctl(me: &RipcFile, file: &File, cmd: u32, arg: usize) -> Result<isize> {
        if _IOC_TYPE(cmd) != RIPC_IOC_MAGIC {
            return Err(ENOTTY);
        }
        // The data path's four calls here, in a small stack frame; set-up,
        // control and batches in `control` (measured: 15 to 110
        // instructions a call less than one big `match`).
        match _IOC_NR(cmd) {
            RIPC_NR_MQ_SEND => mqueue::send(me.mq(), file, &read_arg(arg)?).map(|()| 0),
            RIPC_NR_MQ_RECEIVE => {
                let x: ripc_mq_xfer = read_arg(arg)?;
                // Only `msg_prio` changes (the second field).
                let prio_out = (arg as u64).wrapping_add(4);
                mqueue::receive(me.mq(), file, &x, prio_out).map(|n| n as isize)
            }
            RIPC_NR_MSGSND => sysv::msgsnd(&me.ns()?.sysv, &read_arg(arg)?).map(|()| 0),
            RIPC_NR_MSGRCV => sysv::msgrcv(&me.ns()?.sysv, &read_arg(arg)?).map(|n| n as isize),
            nr => me.control(file, nr, arg),
        }
    }
}

impl RipcFile {
    /// The ioctls other than the data path's (`MiscDevice::ioctl`).
    #[inline(never)]
    fn control(&self, file: &File, nr: u32, arg: usize) -> Result<isize> {
        let me = self;
        let mq = me.mq();
        match nr {
            RIPC_NR_VERSION => {
                let v: ripc_version = read_arg(arg)?;
                let out = ripc_version {
                    size: v.size,
                    abi_version: RIPC_ABI_VERSION,
                    limits: limits::get(),
                };
                write_arg(arg, &out, v.size)?;
                Ok(0)
            }
            RIPC_NR_SET_LIMITS => {
                let a: ripc_set_limits = read_arg(arg)?;
                if !crate::ipc::cred::capable(crate::ipc::cred::CAP_SYS_RESOURCE) {
                    return Err(EPERM);
                }
                limits::set(&a.limits)?;
                Ok(0)
            }
            RIPC_NR_LIST => list(&*me.ns()?, &read_arg(arg)?),
            RIPC_NR_MQ_OPEN => {
                let a: ripc_mq_open = read_arg(arg)?;
                if me.bound.as_ref().is_some() {
                    return Err(EBUSY);
                }
                me.bind(Binding::Mq(mqueue::open(&me.ns()?.mq, &a)?))?;
                if a.oflag & mqueue::O_NONBLOCK != 0 {
                    mqueue::set_nonblock(file, true);
                }
                Ok(0)
            }
            RIPC_NR_MQ_UNLINK => mqueue::unlink(&me.ns()?.mq, &read_arg(arg)?).map(|()| 0),
            RIPC_NR_MQ_GETSETATTR => mqueue::getsetattr(mq, file, &read_arg(arg)?).map(|()| 0),
            RIPC_NR_MQ_NOTIFY => mqueue::notify(mq, &read_arg(arg)?).map(|()| 0),
            RIPC_NR_MSGGET => sysv::msgget(&me.ns()?.sysv, &read_arg(arg)?).map(|id| id as isize),
            RIPC_NR_MSGCTL => sysv::msgctl(&me.ns()?.sysv, &read_arg(arg)?).map(|n| n as isize),
            RIPC_NR_MQ_SEND_BATCH => {
                mqueue::send_batch(mq, file, &read_arg(arg)?).map(|n| n as isize)
            }
            RIPC_NR_MQ_RECEIVE_BATCH => {
                mqueue::receive_batch(mq, file, &read_arg(arg)?).map(|n| n as isize)
            }
            RIPC_NR_MSGSND_BATCH => {
                sysv::msgsnd_batch(&me.ns()?.sysv, &read_arg(arg)?).map(|n| n as isize)
            }
            RIPC_NR_MSGRCV_BATCH => {
                sysv::msgrcv_batch(&me.ns()?.sysv, &read_arg(arg)?).map(|n| n as isize)
            }
            RIPC_NR_MSG_NEXT_ID => {
                let mut a: ripc_msg_next_id = read_arg(arg)?;
                a.value = sysv::next_id(&me.ns()?.sysv, &a)?;
                write_arg(arg, &a, a.size)?;
                Ok(0)
            }
            RIPC_NR_MSG_BIND => {
                let a: ripc_msgbind = read_arg(arg)?;
                if me.bound.as_ref().is_some() {
                    return Err(EBUSY);
                }
                me.bind(Binding::Sysv(sysv::bind(&me.ns()?.sysv, &a)?))
                    .map(|()| 0)
            }
            _ => Err(ENOTTY),
        }
    }
}

impl RipcFile {
    /// `poll` (added by [`crate::ipc::chardev`]).
    pub(crate) fn poll(&self, file: &File, table: &PollTable<'_>) -> u32 {
        match self.bound.as_ref() {
            Some(Binding::Mq(h)) => h.poll(file, table),
            Some(Binding::Sysv(q)) => q.poll(file, table),
            None => 0,
        }
    }

    /// `flush`, at every `close()` (added by [`crate::ipc::chardev`]).
    pub(crate) fn flush(&self) {
        if let Some(h) = self.mq() {
            h.flush();
        }
    }
}

/// `RIPC_IOC_LIST`: the table, truncated to the buffer and NUL-terminated;
/// returns its full length.
fn list(ns: &Ns, a: &ripc_list) -> Result<isize> {
    let mut text = TextBuf::new();
    if a.which & RIPC_LIST_POSIX != 0 {
        mqueue::list(&ns.mq, &mut text).map_err(|_| ENOMEM)?;
    }
    if a.which & RIPC_LIST_SYSV != 0 {
        sysv::list(&ns.sysv, &mut text).map_err(|_| ENOMEM)?;
    }
    let full = text.as_bytes().len();
    if a.buf_len > 0 {
        let n = full.min(a.buf_len as usize - 1);
        let mut w = UserSlice::new(UserPtr::from_addr(a.buf as usize), n + 1).writer();
        w.write_slice(&text.as_bytes()[..n])?;
        w.write_slice(&[0])?;
    }
    Ok(full as isize)
}

/// A growable text buffer for `core::fmt` output.
pub(crate) struct TextBuf(KVec<u8>);

impl TextBuf {
    pub(crate) fn new() -> Self {
        TextBuf(KVec::new())
    }
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Write for TextBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0
            .extend_from_slice(s.as_bytes(), GFP_KERNEL)
            .map_err(|_| core::fmt::Error)
    }
}
