// SPDX-License-Identifier: GPL-2.0

//! The state of one open `/dev/rust_ipc` file and the ioctl dispatch.
//!
//! A fresh file is unbound: it serves the device-wide calls (version,
//! limits, listing, `mq_unlink`, the System V calls).  `RIPC_MQ_OPEN` binds
//! it once to a POSIX queue; from then on it is that queue's descriptor,
//! shared by `dup()` and `fork()` like a native mqueue descriptor.

#![deny(unsafe_code)]

use crate::ipc::{
    checkpoint,
    defs::*,
    kernel_api::{self, chardev},
    mqueue::{self, MqHandle},
    notify::NotifyFd,
    ns::{self, Ns},
    sysv::{self, SysvQueue},
    text::Text,
};
use core::fmt::Write;
use kernel::{
    bindings,
    fs::{file::FileDescriptorReservation, File, Kiocb},
    ioctl::{_IOC_NR, _IOC_TYPE},
    iov::IovIterDest,
    miscdevice::{MiscDevice, MiscDeviceRegistration},
    page::PAGE_SIZE,
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, Release},
        poll::PollTable,
        Arc, SetOnce,
    },
    uaccess::{UserPtr, UserSlice},
};

/// What a file is bound to.
enum Binding {
    /// A POSIX queue: the file is its descriptor.
    Mq(MqHandle),
    /// A System V queue, for `poll` (`RIPC_MSG_BIND`).
    Sysv(Arc<SysvQueue>),
    /// A notification descriptor (`RIPC_NOTIFY_FD_BIND`).
    Notify(NotifyBinding),
}

/// A notification descriptor's state, held by its file: the file's last
/// close cancels its registration.
struct NotifyBinding(Arc<NotifyFd>);

impl Drop for NotifyBinding {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// The private data of an open file.
pub(crate) struct RipcFile {
    bound: SetOnce<Binding>,
    /// Set by the thread that binds the file, and kept once it is bound
    /// ([`RipcFile::bind`]).
    binding: Atomic<bool>,
    /// The IPC namespace the file was opened in: the one its calls use
    /// unless the caller is in another (after `setns`, `unshare`, or a
    /// descriptor passed across).
    ns: Arc<Ns>,
    /// The first other namespaces its calls were made from, kept until the
    /// file's release ([`RipcFile::ns`]).
    other: [SetOnce<Arc<Ns>>; OTHER_NS],
}

/// How many other namespaces a file keeps ([`RipcFile::ns`]).
const OTHER_NS: usize = 4;

impl Drop for RipcFile {
    fn drop(&mut self) {
        self.ns.released();
        for n in self.other.iter().filter_map(SetOnce::as_ref) {
            n.released();
        }
    }
}

/// The caller's namespace: the file's own, or another one looked up.
enum NsOf<'a> {
    Cached(&'a Arc<Ns>),
    Other(Arc<Ns>),
}

impl NsOf<'_> {
    /// A reference of its own on the namespace.
    fn arc(&self) -> Arc<Ns> {
        match self {
            NsOf::Cached(n) => Arc::clone(n),
            NsOf::Other(n) => n.clone(),
        }
    }
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
    /// Whether the file is a POSIX queue's descriptor (its `llseek`).
    pub(crate) fn is_mq(&self) -> bool {
        self.mq().is_some()
    }

    fn mq(&self) -> Option<&MqHandle> {
        match self.bound.as_ref() {
            Some(Binding::Mq(h)) => Some(h),
            _ => None,
        }
    }

    /// The notification descriptor this file is, if it is one.
    pub(crate) fn notify_fd(&self) -> Option<&Arc<NotifyFd>> {
        match self.bound.as_ref() {
            Some(Binding::Notify(n)) => Some(&n.0),
            _ => None,
        }
    }

    /// The caller's namespace: the file's own, or one of the other
    /// namespaces its calls were made from, kept: no lock and no reference
    /// count of a call's own, as for the file's own.  Else looked up in the
    /// table of namespaces ([`Ns::current`], under its global lock, with a
    /// reference: a 64 B System V send and receive took 3.35 us where the
    /// file's own namespace's took 2.75, measured in one boot, for a process
    /// that went on with a descriptor opened before its `unshare`; with
    /// the namespace kept, as the own one's), and kept if there is room.
    fn ns(&self) -> Result<NsOf<'_>> {
        if self.ns.is_current() {
            return Ok(NsOf::Cached(&self.ns));
        }
        self.other_ns()
    }

    #[inline(never)]
    fn other_ns(&self) -> Result<NsOf<'_>> {
        let mut free = None;
        for slot in &self.other {
            match slot.as_ref() {
                Some(n) if n.is_current() => return Ok(NsOf::Cached(n)),
                Some(_) => {}
                None => {
                    free.get_or_insert(slot);
                }
            }
        }
        let n = Ns::current()?;
        if let Some(slot) = free {
            // Kept unless another thread took the slot meanwhile.
            slot.populate(n.clone());
        }
        Ok(NsOf::Other(n))
    }

    /// Binds the file once, to what `make` gives (`EBUSY` once it is bound,
    /// or while another thread binds it).  Only the thread that will bind
    /// the file runs `make`: two racing `RIPC_MQ_OPEN`s on one file cannot
    /// both create a queue, one of them then left named but bound to no
    /// descriptor.  A `make` that fails leaves the file unbound.
    fn bind(&self, make: impl FnOnce() -> Result<Binding>) -> Result {
        // The flag stays set once the file is bound: one claim succeeds,
        // besides those whose `make` failed.
        if self.binding.xchg(true, Acquire) {
            return Err(EBUSY);
        }
        match make() {
            Ok(b) => {
                // Only the claim's holder populates: it always does.
                if self.bound.populate(b) {
                    Ok(())
                } else {
                    Err(EBUSY)
                }
            }
            Err(e) => {
                self.binding.store(false, Release);
                Err(e)
            }
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
                binding: Atomic::new(false),
                ns: Ns::current()?,
                other: [const { SetOnce::new() }; OTHER_NS],
            },
            GFP_KERNEL_ACCOUNT,
        )?)
    }

    fn read_iter(mut kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        let me = kiocb.file();
        if let Some(n) = me.notify_fd() {
            return n.read(kernel_api::kiocb_nowait(&kiocb), iov);
        }
        // A queue opened for reading (native's `vfs_read` on a descriptor
        // without `FMODE_READ`: `EBADF`; the device file itself is open
        // for reading and writing whatever the queue's mode).
        let h = me.mq().filter(|h| h.may_read()).ok_or(EBADF)?;
        let mut text = TextBuf::new();
        h.status(&mut text).map_err(|_| ENOMEM)?;
        let (pos, want) = (*kiocb.ki_pos_mut(), iov.len());
        let n = iov.simple_read_from_buffer(kiocb.ki_pos_mut(), text.as_bytes())?;
        // libfs's `simple_read_from_buffer`: `EFAULT` where nothing of a
        // part that is there could be copied (the kernel crate's gives 0).
        if n == 0 && want > 0 && usize::try_from(pos).is_ok_and(|p| p < text.as_bytes().len()) {
            return Err(EFAULT);
        }
        Ok(n)
    }
}

impl RipcFile {
    /// The ioctls: the device's `unlocked_ioctl` ([`chardev`]'s entry, which
    /// inlines this; the kernel crate's `MiscDevice::ioctl` trampoline, a
    /// call of its own, took about 17 instructions a call more).
    ///
    /// [`chardev`]: crate::ipc::kernel_api::chardev
    #[inline(always)]
    pub(crate) fn ioctl(&self, file: &File, cmd: u32, arg: usize) -> Result<isize> {
        let me = self;
        if _IOC_TYPE(cmd) != RIPC_IOC_MAGIC {
            return Err(ENOTTY);
        }
        // The data path's four calls here, in a small stack frame; set-up,
        // control and batches in `control` (measured: 15 to 110
        // instructions a call less than one big `match`).  Each is reached
        // from one place, its argument struct or its register call's
        // arguments (the uapi header) read into the same struct, so that it
        // is inlined once.
        match _IOC_NR(cmd) {
            nr @ (RIPC_NR_MQ_SEND | RIPC_NR_MQ_TIMEDSEND) => {
                let x = if nr == RIPC_NR_MQ_SEND {
                    read_arg(arg)?
                } else {
                    mq_regs(cmd, arg, false)?.0
                };
                mqueue::send(me.mq(), file, &x).map(|()| 0)
            }
            nr @ (RIPC_NR_MQ_RECEIVE | RIPC_NR_MQ_TIMEDRECEIVE) => {
                let (x, prio_out) = if nr == RIPC_NR_MQ_RECEIVE {
                    // Only `msg_prio` changes (the second field).
                    (read_arg(arg)?, (arg as u64).wrapping_add(4))
                } else {
                    mq_regs(cmd, arg, true)?
                };
                mqueue::receive(me.mq(), file, &x, prio_out).map(|n| n as isize)
            }
            nr @ (RIPC_NR_MSGSND | RIPC_NR_MSGSND_REGS) => {
                let mut a = ripc_msgsnd::default();
                if nr == RIPC_NR_MSGSND {
                    a = read_arg(arg)?;
                } else {
                    msgsnd_regs(cmd, arg, &mut a)?;
                }
                sysv::msgsnd(&me.ns()?.sysv, &a).map(|()| 0)
            }
            nr @ (RIPC_NR_MSGRCV | RIPC_NR_MSGRCV_REGS) => {
                let mut a = ripc_msgrcv::default();
                if nr == RIPC_NR_MSGRCV {
                    a = read_arg(arg)?;
                } else {
                    msgrcv_regs(cmd, arg, &mut a)?;
                }
                sysv::msgrcv(&me.ns()?.sysv, &a).map(|n| n as isize)
            }
            nr => me.control(file, nr, arg),
        }
    }
}

// The register calls' arguments (the uapi header) into the structs of
// the struct commands.  System V's two are a C helper each
// (`defs::msgsnd_regs`, `defs::msgrcv_regs`), which fills the struct: a
// Rust function inline grew `ioctl` past the size at which `sysv::msgsnd`
// stays inlined in it, and one out of line took 29 instructions a call of
// its own.

/// A POSIX register call's arguments as [`ripc_mq_xfer`] (an absolute
/// `CLOCK_REALTIME` timeout: the zero `clock`, as `mq_timedsend` takes)
/// and, for a receive, where its priority goes.
#[inline(always)]
fn mq_regs(cmd: u32, arg: usize, receive: bool) -> Result<(ripc_mq_xfer, u64)> {
    let [len, prio, timeout] = ioctl_regs(cmd, arg)?;
    let x = ripc_mq_xfer {
        msg_prio: if receive { 0 } else { prio as u32 },
        msg_ptr: arg as u64,
        msg_len: len,
        timeout,
        ..Default::default()
    };
    Ok((x, prio))
}

impl RipcFile {
    /// `RIPC_MQ_OPEN_FD`: `mq_open` itself, on a file of the device open
    /// for reading and writing (no more rights than it has: else `EBADF`):
    /// a new close-on-exec descriptor of a new file of the device, bound to
    /// the queue as `RIPC_MQ_OPEN` binds one (an `O_PATH` file for
    /// `O_PATH`, as native's), reserved where `do_mq_open` takes its own.
    fn mq_open_fd(&self, file: &File, a: &ripc_mq_open) -> Result<isize> {
        if file.flags() & bindings::O_ACCMODE != bindings::O_RDWR {
            return Err(EBADF);
        }
        let ns = self.ns()?;
        let mut fd = None;
        let h = mqueue::open(&ns.arc(), &ns.ipc()?, a, || {
            fd = Some(FileDescriptorReservation::get_unused_fd_flags(
                bindings::O_CLOEXEC,
            )?);
            Ok(())
        })?;
        // Reserved once the name was read, which an opened queue's was.
        let fd = fd.ok_or(EINVAL)?;
        let path = a.oflag & bindings::O_PATH;
        // `do_dentry_open`: an `O_PATH` file before the `O_DIRECT` check.
        if path == 0 && a.oflag & bindings::O_DIRECT != 0 {
            return Err(EINVAL);
        }
        // Native's `dentry_open(&path, oflag, ...)`: the file keeps every
        // flag of `oflag` but those `do_dentry_open` drops (`O_CREAT`,
        // `O_EXCL`, `O_NOCTTY`, `O_TRUNC`; an `O_PATH` file keeps them too),
        // which `F_GETFL` shows (`O_CLOEXEC`, `O_APPEND`, `O_SYNC`, ...).
        let new = chardev::reopen(file, a.oflag, |f| f.bind(|| Ok(Binding::Mq(h))))?;
        let n = fd.reserved_fd();
        fd.fd_install(new);
        Ok(n as isize)
    }

    /// `RIPC_NOTIFY_FD_OPEN`: a new descriptor of a new file of the device
    /// made a notification descriptor, on a file open for reading and
    /// writing (else `EBADF`).
    fn notify_fd_open(&self, file: &File, a: &ripc_notify_fd_open) -> Result<isize> {
        let (nonblock, cloexec) = (bindings::O_NONBLOCK, bindings::O_CLOEXEC);
        if file.flags() & bindings::O_ACCMODE != bindings::O_RDWR {
            return Err(EBADF);
        }
        if a.flags & !(nonblock | cloexec) != 0 {
            return Err(EINVAL);
        }
        let fd = FileDescriptorReservation::get_unused_fd_flags(a.flags & cloexec)?;
        let new = chardev::reopen(file, bindings::O_RDWR | (a.flags & nonblock), |f| {
            f.bind(|| Ok(Binding::Notify(NotifyBinding(NotifyFd::new()?))))
        })?;
        let n = fd.reserved_fd();
        fd.fd_install(new);
        Ok(n as isize)
    }

    /// The ioctls other than the data path's ([`RipcFile::ioctl`]).
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
                    limits: me.ns()?.limits.get(),
                };
                write_arg(arg, &out, v.size)?;
                Ok(0)
            }
            RIPC_NR_SET_LIMITS => {
                let a: ripc_set_limits = read_arg(arg)?;
                me.ns()?.set_limits(&a.limits, a.set)?;
                Ok(0)
            }
            RIPC_NR_LIST => list(&*me.ns()?, arg, read_arg(arg)?),
            RIPC_NR_MQ_OPEN => {
                let a: ripc_mq_open = read_arg(arg)?;
                // `dentry_open` of the queue opened or made: `O_PATH` gives a
                // descriptor that no queue call takes (the file stays
                // unbound: `EBADF`), then `O_DIRECT` fails (`EINVAL`; a
                // queue made stays).  A bound file's open is `EBUSY` first,
                // as any other, and makes nothing.
                if a.oflag & (bindings::O_PATH | bindings::O_DIRECT) != 0 {
                    if me.binding.load(Acquire) {
                        return Err(EBUSY);
                    }
                    let ns = me.ns()?;
                    mqueue::open(&ns.arc(), &ns.ipc()?, &a, || Ok(()))?;
                    return if a.oflag & bindings::O_PATH != 0 {
                        Ok(0)
                    } else {
                        Err(EINVAL)
                    };
                }
                me.bind(|| {
                    let ns = me.ns()?;
                    Ok(Binding::Mq(mqueue::open(
                        &ns.arc(),
                        &ns.ipc()?,
                        &a,
                        || Ok(()),
                    )?))
                })?;
                mqueue::bound_flags(file, a.oflag);
                Ok(0)
            }
            RIPC_NR_MQ_OPEN_FD => me.mq_open_fd(file, &read_arg(arg)?),
            RIPC_NR_NOTIFY_FD_OPEN => me.notify_fd_open(file, &read_arg(arg)?),
            RIPC_NR_MQ_SETPERM => mqueue::setperm(mq, &read_arg(arg)?).map(|()| 0),
            RIPC_NR_MQ_UNLINK => {
                let ns = me.ns()?;
                mqueue::unlink(&ns.mq, &ns.ipc()?, &read_arg(arg)?).map(|()| 0)
            }
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
                // 0 reads, 1 sets: other values are kept for later ABIs.
                if a.set > 1 {
                    return Err(EINVAL);
                }
                if a.set != 0 {
                    // A struct that cannot be written back fails before
                    // anything is set.
                    write_arg(arg, &a, a.size)?;
                }
                a.value = sysv::next_id(&me.ns()?.sysv, &a)?;
                write_arg(arg, &a, a.size)?;
                Ok(0)
            }
            RIPC_NR_MSG_BIND => {
                let a: ripc_msgbind = read_arg(arg)?;
                me.bind(|| Ok(Binding::Sysv(sysv::bind(&me.ns()?.sysv, &a)?)))
                    .map(|()| 0)
            }
            RIPC_NR_NOTIFY_FD_BIND | RIPC_NR_NOTIFY_FD_STATE => {
                let mut a: ripc_notify_fd = read_arg(arg)?;
                if nr == RIPC_NR_NOTIFY_FD_BIND {
                    // A struct that cannot be written back fails before the
                    // file is bound.
                    write_arg(arg, &a, a.size)?;
                    me.bind(|| Ok(Binding::Notify(NotifyBinding(NotifyFd::new()?))))?;
                }
                let (armed, pending) = me.notify_fd().ok_or(EINVAL)?.state();
                a.armed = u32::from(armed);
                a.pending = pending as u32;
                write_arg(arg, &a, a.size)?;
                Ok(0)
            }
            RIPC_NR_MQ_PEEK => {
                let p: ripc_mq_peek = read_arg(arg)?;
                // Only `msg_prio` changes (the second field), where the
                // caller's struct has it (a `size` of 4 peeks a 0-byte
                // message, and gets no priority).
                let prio_out = if p.size >= 8 {
                    (arg as u64).wrapping_add(4)
                } else {
                    0
                };
                mqueue::peek(mq, &p, prio_out).map(|n| n as isize)
            }
            RIPC_NR_MQ_PEEK_BATCH => mqueue::peek_batch(mq, &read_arg(arg)?).map(|n| n as isize),
            RIPC_NR_DUMP => {
                let mut a: ripc_dump = read_arg(arg)?;
                a.total = checkpoint::dump(&*me.ns()?, &a)?;
                write_arg(arg, &a, a.size)?;
                Ok(0)
            }
            RIPC_NR_RESTORE => checkpoint::restore(&*me.ns()?, &read_arg(arg)?).map(|()| 0),
            RIPC_NR_STATS => {
                let mut a: ripc_stats = read_arg(arg)?;
                if a.flags & !RIPC_STATS_RESET != 0 {
                    return Err(EINVAL);
                }
                let reset = a.flags & RIPC_STATS_RESET != 0;
                if reset {
                    // A struct that cannot be written back fails before the
                    // counts are reset (and lost).
                    write_arg(arg, &a, a.size)?;
                }
                a.stats = match (a.which, me.bound.as_ref()) {
                    (RIPC_STATS_SYSV, _) => sysv::stats_of_id(&me.ns()?.sysv, a.msqid, reset)?,
                    (RIPC_STATS_FILE, Some(Binding::Sysv(q))) => sysv::stats(q, reset)?,
                    (RIPC_STATS_FILE, _) => mqueue::stats(mq, reset)?,
                    _ => return Err(EINVAL),
                };
                write_arg(arg, &a, a.size)?;
                Ok(0)
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
            Some(Binding::Notify(n)) => n.0.poll(file, table),
            None => 0,
        }
    }

    /// `flush`, at every `close()` (added by [`crate::ipc::chardev`]).
    pub(crate) fn flush(&self) {
        if let Some(h) = self.mq() {
            h.flush();
        }
        ns::closed();
    }
}

/// `RIPC_IOC_LIST`: the whole table (truncated to the buffer; returns its
/// full length) or, with `RIPC_LIST_PAGE`, a page of it from the cursor
/// (returns the bytes written, 0 at the end).  Either way the table is
/// written a line at a time: no more than a line is held in kernel memory.
fn list(ns: &Ns, arg: usize, mut a: ripc_list) -> Result<isize> {
    if a.which & !(RIPC_LIST_POSIX | RIPC_LIST_SYSV | RIPC_LIST_PAGE | RIPC_LIST_STATS) != 0 {
        return Err(EINVAL);
    }
    let paged = a.which & RIPC_LIST_PAGE != 0;
    let stats = a.which & RIPC_LIST_STATS != 0;
    let mut out = Lines::new(a.buf, a.buf_len, paged)?;
    if paged {
        let (next, more) = match a.which & !(RIPC_LIST_PAGE | RIPC_LIST_STATS) {
            RIPC_LIST_POSIX => {
                // `readdir` of the mqueue root.
                let ipc = ns.ipc()?;
                ipc.mq_root_readable()?;
                let root = (true, ipc.mq_root_searchable());
                mqueue::list(&ns.mq, &mut out, a.cursor, stats, root)?
            }
            RIPC_LIST_SYSV => sysv::list(&ns.sysv, &mut out, a.cursor, stats)?,
            _ => return Err(EINVAL),
        };
        if out.written == 0 && more {
            // Not even one line fits.
            return Err(EINVAL);
        }
        a.cursor = next;
        out.finish()?;
        write_arg(arg, &a, a.size)?;
        return Ok(out.written as isize);
    }
    if a.which & RIPC_LIST_POSIX != 0 {
        let ipc = ns.ipc()?;
        let root = (ipc.mq_root_readable().is_ok(), ipc.mq_root_searchable());
        mqueue::list(&ns.mq, &mut out, 0, stats, root)?;
    }
    if a.which & RIPC_LIST_SYSV != 0 {
        sysv::list(&ns.sysv, &mut out, 0, stats)?;
    }
    out.finish()?;
    Ok(out.total as isize)
}

/// The listing's output.  Lines are written under the queue locks into
/// one page of kernel memory, which is copied to the caller's buffer after
/// the locks are dropped (a copy to user memory may fault and wait): a copy
/// and a lock per page, not per line.  Whole lines only when `paged` (a line
/// that does not fit ends the page), else a prefix of the whole text.
pub(crate) struct Lines {
    buf: u64,
    /// Room for text: the buffer less its NUL.
    room: usize,
    paged: bool,
    /// Whether the buffer has room for the NUL (`buf_len` > 0).
    nul: bool,
    /// Bytes copied out so far.
    written: usize,
    /// The length of the whole text (unpaged).
    total: usize,
    /// The page; its first `used` bytes are lines not yet copied out.
    page: KVec<u8>,
    used: usize,
}

/// What became of a line given to [`Lines::line`].
#[derive(PartialEq)]
pub(crate) enum Push {
    /// Taken (or, past the buffer of an unpaged listing, only counted).
    Taken,
    /// The page is full: drop the locks, [`Lines::flush`], give it again.
    Flush,
    /// The caller's buffer is full (paged): the listing stops before it.
    Full,
}

impl Lines {
    fn new(buf: u64, len: u64, paged: bool) -> Result<Self> {
        Ok(Lines {
            buf,
            room: usize::try_from(len).unwrap_or(usize::MAX).saturating_sub(1),
            paged,
            nul: len > 0,
            written: 0,
            total: 0,
            page: KVec::from_elem(0, PAGE_SIZE, GFP_KERNEL)?,
            used: 0,
        })
    }

    /// One line (what `write` writes, and a newline), written under the
    /// queue locks straight into the page.
    pub(crate) fn line(&mut self, write: impl FnOnce(&mut Text<'_>)) -> Push {
        let used = self.used;
        let rest = self.page.get_mut(used..).unwrap_or(&mut []);
        let page_left = rest.len();
        let mut text = Text::new(rest);
        write(&mut text);
        text.bytes(b"\n");
        let len = text.len();
        let left = self.room.saturating_sub(self.written + used);
        if self.paged && len > left {
            return Push::Full;
        }
        let keep = len.min(left);
        // A line longer than a page (none is: names are at most 255 bytes)
        // is cut rather than flushed for ever.
        if keep > page_left && used > 0 {
            return Push::Flush;
        }
        self.used += keep.min(page_left);
        self.total += len;
        Push::Taken
    }

    /// A listing's header line, at its start (`cursor` 0): the statistics
    /// table's columns then `stats_tail` (`RIPC_LIST_STATS`), else `plain`.
    /// Returns whether `out` was already full.
    pub(crate) fn header(
        &mut self,
        cursor: u64,
        stats: bool,
        stats_tail: &[u8],
        plain: &[u8],
    ) -> bool {
        cursor == 0
            && self.line(|t| {
                if stats {
                    crate::ipc::stats::header(t).bytes(stats_tail);
                } else {
                    t.bytes(plain);
                }
            }) == Push::Full
    }

    /// Copies the page out (call without the queue locks).
    pub(crate) fn flush(&mut self) -> Result {
        if self.used > 0 {
            let at = self.buf.wrapping_add(self.written as u64) as usize;
            let lines = self.page.get(..self.used).unwrap_or(&[]);
            UserSlice::new(UserPtr::from_addr(at), lines.len())
                .writer()
                .write_slice(lines)?;
            self.written += lines.len();
            self.used = 0;
        }
        Ok(())
    }

    /// The NUL after the text (if the buffer has room for it).
    fn finish(&mut self) -> Result {
        self.flush()?;
        if !self.nul {
            return Ok(());
        }
        let at = self.buf.wrapping_add(self.written as u64);
        write_user(at, &0u8)
    }
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
