//! System V message queues: `msgget()` and friends over `/dev/rust_ipc`.

use crate::{
    deadline::Deadline,
    stats::{self, QueueStats},
    sys::{self, ioctl, ptr},
    uapi::{self, ripc_msqid_ds},
};
use rustix::io::Errno;
use std::{
    cell::RefCell,
    fmt, io,
    ops::{BitOr, BitOrAssign},
    os::fd::OwnedFd,
};

/// `IPC_PRIVATE`: the key of a queue that only its id finds.
pub const IPC_PRIVATE: i32 = 0;
/// `IPC_CREAT`, for [`SysvQueue::get`].
pub const IPC_CREAT: i32 = uapi::IPC_CREAT;
/// `IPC_EXCL`, for [`SysvQueue::get`].
pub const IPC_EXCL: i32 = uapi::IPC_EXCL;

/// A System V message queue, by its id (`msqid`).
///
/// The queue is a kernel object named by a key: it exists until it is
/// [removed](SysvQueue::remove), whatever happens to this value, which is
/// only the id (it is `Copy`).  Every call goes through one process-wide
/// descriptor of `/dev/rust_ipc`, opened on first use with `O_CLOEXEC`.
///
/// Errors are the native ones: `e.raw_os_error()` is what `msgget()`,
/// `msgsnd()`, `msgrcv()` or `msgctl()` would set `errno` to (`ENOMSG`,
/// `EAGAIN`, `E2BIG`, `EIDRM`, `EINVAL` for an id that no longer names a
/// queue, ...).  If the device cannot be opened, the error is `open()`'s
/// (`ENOENT` when the module is not loaded).
///
/// # Examples
///
/// ```no_run
/// use rust_ipc::{RecvFlags, Search, SysvQueue};
///
/// # fn main() -> std::io::Result<()> {
/// let q = SysvQueue::private(0o600)?;
/// q.send(1, b"first", false)?;
/// q.send(2, b"second", false)?;
/// q.send(1, b"third", false)?;
///
/// let mut buf = [0u8; 64];
/// // The first message of type 2.
/// let (len, mtype) = q.receive(&mut buf, Search::Type(2), RecvFlags::NOWAIT)?;
/// assert_eq!((&buf[..len], mtype), (&b"second"[..], 2));
/// // A look at what is now at index 1, without taking it (MSG_COPY).
/// let (len, _) = q.copy(1, &mut buf, RecvFlags::empty())?;
/// assert_eq!(&buf[..len], b"third");
///
/// assert_eq!(q.stat()?.qnum, 2);
/// q.remove()?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SysvQueue {
    id: i32,
}

/// How [`SysvQueue::receive`] picks a message (`msgrcv`'s `msgtyp` and
/// `MSG_EXCEPT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Search {
    /// The first message (`msgtyp == 0`).
    Any,
    /// The first message of type `t` (`msgtyp == t`, `t > 0`).
    Type(i64),
    /// The first message whose type is not `t` (`msgtyp == t` with
    /// `MSG_EXCEPT`, `t > 0`).
    Except(i64),
    /// The first message of the lowest type that is at most `t`
    /// (`msgtyp == -t`, `t > 0`).
    ///
    /// Each search with `t <= 0` is refused with `EINVAL` (without asking
    /// the module): it would be another search (`Type(-3)` is `msgtyp ==
    /// -3`, `Except(0)` takes any message), or none.
    UpTo(i64),
}

/// Flags of [`SysvQueue::receive`] and [`SysvQueue::copy`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RecvFlags(i32);

impl RecvFlags {
    /// `IPC_NOWAIT`: fail with `ENOMSG` instead of waiting for a message.
    pub const NOWAIT: RecvFlags = RecvFlags(uapi::IPC_NOWAIT);
    /// `MSG_NOERROR`: truncate a message longer than the buffer instead of
    /// failing with `E2BIG`.
    pub const NOERROR: RecvFlags = RecvFlags(uapi::MSG_NOERROR);

    /// No flags.
    pub const fn empty() -> RecvFlags {
        RecvFlags(0)
    }

    /// Whether all of `other`'s flags are set.
    pub const fn contains(self, other: RecvFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// The `msgflg` bits.
    pub const fn bits(self) -> i32 {
        self.0
    }
}

impl BitOr for RecvFlags {
    type Output = RecvFlags;
    fn bitor(self, rhs: RecvFlags) -> RecvFlags {
        RecvFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for RecvFlags {
    fn bitor_assign(&mut self, rhs: RecvFlags) {
        self.0 |= rhs.0;
    }
}

/// A queue's `struct msqid_ds` (`IPC_STAT`).
///
/// Times are seconds since the epoch (0: never).  To change the owner, the
/// mode or the capacity, change them in a `Stat` and pass it to
/// [`SysvQueue::set`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    /// The key the queue was created with (`IPC_PRIVATE`: 0).
    pub key: i32,
    /// Owner's user id (settable).
    pub uid: u32,
    /// Owner's group id (settable).
    pub gid: u32,
    /// Creator's user id.
    pub cuid: u32,
    /// Creator's group id.
    pub cgid: u32,
    /// Permission bits (the low 9 are settable).
    pub mode: u16,
    /// Slot usage sequence number.
    pub seq: u16,
    /// Time of the last `msgsnd`.
    pub stime: i64,
    /// Time of the last `msgrcv`.
    pub rtime: i64,
    /// Time of the last change (creation or `IPC_SET`).
    pub ctime: i64,
    /// Bytes now queued (`msg_cbytes`).
    pub cbytes: u64,
    /// Messages now queued (`msg_qnum`).
    pub qnum: u64,
    /// Capacity in bytes (`msg_qbytes`, settable: raising it past
    /// `msgmnb` needs `CAP_SYS_RESOURCE`).
    pub qbytes: u64,
    /// Process id of the last `msgsnd`.
    pub lspid: i32,
    /// Process id of the last `msgrcv`.
    pub lrpid: i32,
}

impl From<&ripc_msqid_ds> for Stat {
    fn from(d: &ripc_msqid_ds) -> Stat {
        Stat {
            key: d.msg_perm.key,
            uid: d.msg_perm.uid,
            gid: d.msg_perm.gid,
            cuid: d.msg_perm.cuid,
            cgid: d.msg_perm.cgid,
            mode: d.msg_perm.mode,
            seq: d.msg_perm.seq,
            stime: d.msg_stime,
            rtime: d.msg_rtime,
            ctime: d.msg_ctime,
            cbytes: d.msg_cbytes,
            qnum: d.msg_qnum,
            qbytes: d.msg_qbytes,
            lspid: d.msg_lspid,
            lrpid: d.msg_lrpid,
        }
    }
}

/// System-wide figures (`struct msginfo`): [`SysvQueue::info`] gives the
/// limits (`IPC_INFO`), [`SysvQueue::usage`] the usage (`MSG_INFO`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsgInfo {
    /// `IPC_INFO`: the pool size in KiB; `MSG_INFO`: queues in use.
    pub msgpool: i32,
    /// `IPC_INFO`: `MSGMNB`, the compile-time default (16384), not the
    /// sysctl; `MSG_INFO`: messages queued in all queues.
    pub msgmap: i32,
    /// The largest message (`kernel.msgmax`).
    pub msgmax: i32,
    /// The default queue capacity in bytes (`kernel.msgmnb`).
    pub msgmnb: i32,
    /// The largest number of queues (`kernel.msgmni`).
    pub msgmni: i32,
    /// Segment size (16, unused).
    pub msgssz: i32,
    /// `IPC_INFO`: `MSGMNB`, the compile-time default (16384), not the
    /// sysctl; `MSG_INFO`: bytes queued in all queues.
    pub msgtql: i32,
    /// Segments (unused).
    pub msgseg: u16,
    /// The highest index in use in the queue table (for
    /// [`SysvQueue::stat_index`]).
    pub max_index: i32,
}

impl SysvQueue {
    /// `msgget(key, flags)`: the queue with `key`, created if `flags` has
    /// [`IPC_CREAT`] (with the low 9 bits of `flags` as its mode); with
    /// [`IPC_EXCL`] too, `EEXIST` if it exists.  `ENOENT` if there is no
    /// such queue and no `IPC_CREAT`; `EACCES` if the mode bits in `flags`
    /// ask for more than the queue allows.
    pub fn get(key: i32, flags: i32) -> io::Result<SysvQueue> {
        let mut a = uapi::ripc_msgget {
            size: sys::size_of::<uapi::ripc_msgget>(),
            key,
            msgflg: flags,
            __pad: 0,
        };
        // SAFETY: `a` is a `ripc_msgget`, which has no pointers.
        let id = sys::on_device(|dev| unsafe { ioctl(dev, uapi::RIPC_CMD_MSGGET, &mut a) })?;
        Ok(SysvQueue { id })
    }

    /// A new queue with `key` and permission bits `mode`
    /// (`msgget(key, IPC_CREAT | IPC_EXCL | mode)`): `EEXIST` if the key
    /// is taken.
    pub fn create(key: i32, mode: u32) -> io::Result<SysvQueue> {
        Self::get(key, IPC_CREAT | IPC_EXCL | (mode & 0o777) as i32)
    }

    /// A new queue no key finds (`msgget(IPC_PRIVATE, IPC_CREAT | mode)`).
    pub fn private(mode: u32) -> io::Result<SysvQueue> {
        Self::get(IPC_PRIVATE, IPC_CREAT | (mode & 0o777) as i32)
    }

    /// The queue with id `id` (as another process's `msgget` returned it);
    /// nothing is checked until the first call.
    pub const fn from_id(id: i32) -> SysvQueue {
        SysvQueue { id }
    }

    /// The queue's id (`msqid`).
    pub const fn id(self) -> i32 {
        self.id
    }

    /// `msgsnd()`: queues `data` with type `mtype` (> 0, else `EINVAL`).
    /// While the queue is full, it waits, or with `nowait` fails with
    /// `EAGAIN`.  `EINVAL` if `data` is longer than `msgmax`; `EIDRM` if
    /// the queue is removed while waiting.
    pub fn send(self, mtype: i64, data: &[u8], nowait: bool) -> io::Result<()> {
        let flg = if nowait { uapi::IPC_NOWAIT } else { 0 };
        self.send_raw(mtype, data, flg, None)
    }

    /// As [`send`](Self::send) (waiting), but a send still waiting at
    /// `deadline` fails with `ETIMEDOUT` (a rust_ipc extension).  The
    /// deadline is a [`Deadline`]: a [`SystemTime`](std::time::SystemTime)
    /// (absolute wall-clock time), an [`Instant`](std::time::Instant) or a
    /// [`Duration`](std::time::Duration) from now (`CLOCK_MONOTONIC`).
    pub fn send_timeout(
        self,
        mtype: i64,
        data: &[u8],
        deadline: impl Into<Deadline>,
    ) -> io::Result<()> {
        self.send_raw(mtype, data, 0, Some(deadline.into()))
    }

    fn send_raw(
        self,
        mtype: i64,
        data: &[u8],
        msgflg: i32,
        timeout: Option<Deadline>,
    ) -> io::Result<()> {
        // Longer than any `msgmax` (an `int`): `EINVAL` as natively, before
        // a copy of it is made.
        if data.len() > i32::MAX as usize {
            return Err(sys::errno(Errno::INVAL));
        }
        // The native struct msgbuf: { long mtype; char mtext[]; }.
        if data.len() > MSGBUF_KEEP - 8 {
            let mut msg = Vec::new();
            msg.try_reserve_exact(data.len().saturating_add(8))
                .map_err(|_| sys::errno(Errno::NOMEM))?;
            msg.extend_from_slice(&mtype.to_ne_bytes());
            msg.extend_from_slice(data);
            return self.send_msgbuf(&msg, msgflg, timeout);
        }
        with_msgbuf(data.len(), |msg| {
            msg[..8].copy_from_slice(&mtype.to_ne_bytes());
            msg[8..].copy_from_slice(data);
            self.send_msgbuf(msg, msgflg, timeout)
        })
    }

    /// Sends `msg`, a native `struct msgbuf` (the mtype, then the text).
    fn send_msgbuf(self, msg: &[u8], msgflg: i32, timeout: Option<Deadline>) -> io::Result<()> {
        let mut timeout = timeout.map(Deadline::to_abi);
        let mut a = uapi::ripc_msgsnd {
            size: sys::size_of::<uapi::ripc_msgsnd>(),
            msqid: self.id,
            msgflg,
            __pad: 0,
            msgp: ptr(msg.as_ptr()),
            msgsz: msg.len().saturating_sub(8) as i64,
            // The module writes the time left of a relative timeout
            // back to it when a signal interrupts the call.
            timeout: timeout
                .as_mut()
                .map_or(0, |(ts, _)| ptr(core::ptr::from_mut(ts))),
            clock: timeout.map(|(_, c)| c).unwrap_or_default(),
        };
        sys::on_device(|dev| {
            if a.timeout == 0 {
                // SAFETY: msgp is a msgbuf of 8 + msgsz bytes.
                let r = unsafe {
                    sys::ioctl_regs(
                        dev,
                        uapi::RIPC_CMD_MSGSND_REGS,
                        [regs_id(self.id, msgflg), a.msgp, a.msgsz as u64, 0],
                    )
                };
                if let Some(r) = r {
                    return r.map(drop);
                }
            }
            // SAFETY: `a` is a `ripc_msgsnd` whose msgp is a msgbuf of
            // 8 + msgsz bytes and whose timeout is 0 or a live timespec.
            unsafe { ioctl(dev, uapi::RIPC_CMD_MSGSND, &mut a) }.map(drop)
        })
    }

    /// `msgrcv()`: takes the first message that `search` picks into `buf`,
    /// returning its length and type.
    ///
    /// With no matching message it waits, or with [`RecvFlags::NOWAIT`]
    /// fails with `ENOMSG`.  A message longer than `buf` fails with `E2BIG`
    /// (and stays queued) unless [`RecvFlags::NOERROR`] truncates it.
    /// `EIDRM` if the queue is removed while waiting.
    pub fn receive(
        self,
        buf: &mut [u8],
        search: Search,
        flags: RecvFlags,
    ) -> io::Result<(usize, i64)> {
        let (msgtyp, flg) = search_args(search)?;
        self.receive_raw(buf, msgtyp, flg | flags.0, None)
    }

    /// As [`receive`](Self::receive), but a receive still waiting at
    /// `deadline` fails with `ETIMEDOUT` (a rust_ipc extension); `deadline`
    /// as for [`send_timeout`](Self::send_timeout).
    pub fn receive_timeout(
        self,
        buf: &mut [u8],
        search: Search,
        flags: RecvFlags,
        deadline: impl Into<Deadline>,
    ) -> io::Result<(usize, i64)> {
        let (msgtyp, flg) = search_args(search)?;
        self.receive_raw(buf, msgtyp, flg | flags.0, Some(deadline.into()))
    }

    /// `msgrcv(..., index, MSG_COPY | IPC_NOWAIT | flags)`: a copy of the
    /// message at position `index` (0 is the oldest), which stays queued.
    /// `ENOMSG` if there are not that many messages.  It never waits
    /// (`MSG_COPY` requires `IPC_NOWAIT`, which is always added).
    ///
    /// A message longer than `buf` fails with `E2BIG`, and with
    /// [`RecvFlags::NOERROR`] with `EINVAL`: as natively, `MSG_COPY` does
    /// not truncate (the kernel's `copy_msg()` refuses a message larger
    /// than the copy buffer), so `buf` should be `msgmax` long to see any
    /// message.
    pub fn copy(self, index: i64, buf: &mut [u8], flags: RecvFlags) -> io::Result<(usize, i64)> {
        self.receive_raw(
            buf,
            index,
            uapi::MSG_COPY | uapi::IPC_NOWAIT | flags.0,
            None,
        )
    }

    fn receive_raw(
        self,
        buf: &mut [u8],
        msgtyp: i64,
        msgflg: i32,
        timeout: Option<Deadline>,
    ) -> io::Result<(usize, i64)> {
        // No message is longer than `msgmax` (an `int`): a larger buffer
        // takes what one of `i32::MAX` bytes does.
        let text = buf.len().min(i32::MAX as usize);
        if text > MSGBUF_KEEP - 8 {
            // A larger buffer is the call's own, which only the module's
            // writes fill: a buffer larger than any message costs what the
            // message does.
            let room = Scratch::new(text + 8)?;
            // SAFETY: `room` is `8 + text` writable bytes.
            let n = unsafe { self.receive_msgbuf(room.ptr, text, msgtyp, msgflg, timeout) }?;
            if n > text {
                return Err(sys::errno(Errno::IO));
            }
            return unpack(room.bytes(8 + n), buf, n);
        }
        with_msgbuf(text, |msg| {
            // SAFETY: `msg` is `8 + text` bytes long.
            let n =
                unsafe { self.receive_msgbuf(msg.as_mut_ptr(), text, msgtyp, msgflg, timeout) }?;
            unpack(msg, buf, n)
        })
    }

    /// Receives into `msg`, room for a native `struct msgbuf` with `text`
    /// bytes of text (the mtype, then the text); returns the text's length.
    ///
    /// # Safety
    ///
    /// `msg` is valid for writes of `8 + text` bytes for the call.
    unsafe fn receive_msgbuf(
        self,
        msg: *mut u8,
        text: usize,
        msgtyp: i64,
        msgflg: i32,
        timeout: Option<Deadline>,
    ) -> io::Result<usize> {
        let mut timeout = timeout.map(Deadline::to_abi);
        let mut a = uapi::ripc_msgrcv {
            size: sys::size_of::<uapi::ripc_msgrcv>(),
            msqid: self.id,
            msgflg,
            __pad: 0,
            msgp: ptr(msg),
            msgsz: text as i64,
            msgtyp,
            // The module writes the time left of a relative timeout
            // back to it when a signal interrupts the call.
            timeout: timeout
                .as_mut()
                .map_or(0, |(ts, _)| ptr(core::ptr::from_mut(ts))),
            clock: timeout.map(|(_, c)| c).unwrap_or_default(),
        };
        sys::on_device(|dev| {
            let regs = if a.timeout == 0 {
                let args = [
                    regs_id(self.id, msgflg),
                    a.msgp,
                    a.msgsz as u64,
                    msgtyp as u64,
                ];
                // SAFETY: msgp has room for 8 + msgsz bytes; the other
                // arguments are no pointers.
                unsafe { sys::ioctl_regs(dev, uapi::RIPC_CMD_MSGRCV_REGS, args) }
            } else {
                None
            };
            match regs {
                Some(r) => r,
                // SAFETY: `a` is a `ripc_msgrcv` whose msgp has room for
                // 8 + msgsz bytes and whose timeout is 0 or a live timespec.
                None => unsafe { ioctl(dev, uapi::RIPC_CMD_MSGRCV, &mut a) }.map(|n| n as usize),
            }
        })
    }

    /// `RIPC_IOC_STATS` (a rust_ipc extension): the queue's statistics.
    /// Needs read permission, as [`SysvQueue::stat`] (`EACCES`); `EINVAL`
    /// for an id that names no queue.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use rust_ipc::SysvQueue;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let q = SysvQueue::private(0o600)?;
    /// q.send(1, b"hello", false)?;
    /// let s = q.stats()?;
    /// assert_eq!((s.sent, s.sent_bytes, s.peak_msgs), (1, 5, 1));
    /// q.remove()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn stats(self) -> io::Result<QueueStats> {
        let mut a = stats::arg(uapi::RIPC_STATS_SYSV as u32, self.id, false);
        sys::on_device(|dev| stats::call(dev, &mut a))
    }

    /// [`SysvQueue::stats`], then zeroes the counters (the peaks restart
    /// from the current depth): the queue's owner or creator only (or
    /// `CAP_SYS_ADMIN`), as [`SysvQueue::set`], else `EPERM`.
    pub fn reset_stats(self) -> io::Result<QueueStats> {
        let mut a = stats::arg(uapi::RIPC_STATS_SYSV as u32, self.id, true);
        sys::on_device(|dev| stats::call(dev, &mut a))
    }

    /// `msgctl(IPC_STAT)`: the queue's state and counters.
    pub fn stat(self) -> io::Result<Stat> {
        let mut ds = ripc_msqid_ds::default();
        // SAFETY: `ds` is a live `ripc_msqid_ds`.
        unsafe { self.ctl(uapi::IPC_STAT, std::ptr::addr_of_mut!(ds).cast()) }?;
        Ok(Stat::from(&ds))
    }

    /// `msgctl(MSG_STAT)` (or `MSG_STAT_ANY`, which skips the read
    /// permission check): the queue at `index` of the queue table (`0..=`
    /// [`MsgInfo::max_index`]) and its state.  `EINVAL` for an unused slot.
    pub fn stat_index(index: i32, any: bool) -> io::Result<(SysvQueue, Stat)> {
        let mut ds = ripc_msqid_ds::default();
        let cmd = if any {
            uapi::MSG_STAT_ANY
        } else {
            uapi::MSG_STAT
        };
        // SAFETY: `ds` is a live `ripc_msqid_ds`.
        let id = unsafe { SysvQueue { id: index }.ctl(cmd, std::ptr::addr_of_mut!(ds).cast()) }?;
        Ok((SysvQueue { id }, Stat::from(&ds)))
    }

    /// `msgctl(IPC_SET)`: sets the owner (`uid`, `gid`), the low 9 bits of
    /// `mode` and the capacity (`qbytes`) from `stat`; the other fields are
    /// ignored.  `EPERM` unless the caller owns or created the queue (or
    /// has `CAP_SYS_ADMIN`).
    pub fn set(self, stat: &Stat) -> io::Result<()> {
        let mut ds = ripc_msqid_ds::default();
        ds.msg_perm.uid = stat.uid;
        ds.msg_perm.gid = stat.gid;
        ds.msg_perm.mode = stat.mode;
        ds.msg_qbytes = stat.qbytes;
        // SAFETY: `ds` is a live `ripc_msqid_ds`.
        unsafe { self.ctl(uapi::IPC_SET, std::ptr::addr_of_mut!(ds).cast()) }?;
        Ok(())
    }

    /// `msgctl(IPC_RMID)`: removes the queue at once; waiting senders and
    /// receivers fail with `EIDRM`, and later calls with this id with
    /// `EINVAL`.
    pub fn remove(self) -> io::Result<()> {
        // SAFETY: `IPC_RMID` with a null buffer.
        unsafe { self.ctl(uapi::IPC_RMID, std::ptr::null_mut()) }?;
        Ok(())
    }

    /// `msgctl(0, IPC_INFO)`: the limits.
    pub fn info() -> io::Result<MsgInfo> {
        Self::msginfo(uapi::IPC_INFO)
    }

    /// `msgctl(0, MSG_INFO)`: the usage (queues, messages and bytes in
    /// all queues; see [`MsgInfo`]).
    pub fn usage() -> io::Result<MsgInfo> {
        Self::msginfo(uapi::MSG_INFO)
    }

    fn msginfo(cmd: i32) -> io::Result<MsgInfo> {
        let mut i = uapi::ripc_msginfo::default();
        // SAFETY: `i` is a live `ripc_msginfo`, and `cmd` an INFO command.
        let max_index = unsafe { SysvQueue { id: 0 }.ctl(cmd, std::ptr::addr_of_mut!(i).cast()) }?;
        Ok(MsgInfo {
            msgpool: i.msgpool,
            msgmap: i.msgmap,
            msgmax: i.msgmax,
            msgmnb: i.msgmnb,
            msgmni: i.msgmni,
            msgssz: i.msgssz,
            msgtql: i.msgtql,
            msgseg: i.msgseg,
            max_index,
        })
    }

    /// `msgctl(msqid, cmd, buf)`.
    ///
    /// # Safety
    ///
    /// `buf` is null for `IPC_RMID`, else valid for reads and writes of
    /// the struct `cmd` takes: a `ripc_msqid_ds` for the STAT and SET
    /// commands, a `ripc_msginfo` for the INFO ones.
    unsafe fn ctl(self, cmd: i32, buf: *mut u8) -> io::Result<i32> {
        let mut a = uapi::ripc_msgctl {
            size: sys::size_of::<uapi::ripc_msgctl>(),
            msqid: self.id,
            cmd,
            __pad: 0,
            buf: ptr(buf),
        };
        // SAFETY: `a` is a `ripc_msgctl` whose buf is what `cmd` takes (the
        // function's contract).
        sys::on_device(|dev| unsafe { ioctl(dev, uapi::RIPC_CMD_MSGCTL, &mut a) })
    }

    /// `RIPC_MSG_BIND` (a rust_ipc extension): a new descriptor for
    /// `poll`/`epoll` on this queue, which reports `POLLIN` while a message
    /// is queued, `POLLOUT` while an empty message would fit, and
    /// `POLLHUP | POLLERR` once the queue is removed.  `EACCES` without
    /// read permission, `EINVAL` for a bad id.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use rust_ipc::SysvQueue;
    /// use std::os::fd::AsFd;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let q = SysvQueue::private(0o600)?;
    /// let watch = q.watch()?;
    /// // Register watch.as_fd() with epoll, mio, tokio's AsyncFd, ...
    /// # let _ = watch.as_fd();
    /// # Ok(())
    /// # }
    /// ```
    pub fn watch(self) -> io::Result<OwnedFd> {
        let fd = sys::open_device()?;
        let mut a = uapi::ripc_msgbind {
            size: sys::size_of::<uapi::ripc_msgbind>(),
            msqid: self.id,
        };
        // SAFETY: `a` is a `ripc_msgbind`, which has no pointers.
        unsafe {
            ioctl(
                std::os::fd::AsFd::as_fd(&fd),
                uapi::RIPC_CMD_MSG_BIND,
                &mut a,
            )
        }?;
        Ok(fd)
    }
}

/// The most a thread keeps of its message buffer between calls: a one-copy
/// hand-over's 64 KiB text and its mtype (a larger buffer is the call's own).
const MSGBUF_KEEP: usize = 8 + 64 * 1024;

thread_local! {
    /// A thread's room for a native `struct msgbuf`, reused: its pages are
    /// written once (zeroed), so that the module can pin them for a
    /// one-copy hand-over, which takes only pages that are there.
    static MSGBUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Private anonymous memory for a receive into a buffer larger than
/// [`MSGBUF_KEEP`], mapped with `MAP_NORESERVE`: nothing is charged for its
/// size, and its pages come only as the module writes the message (a 1 TiB
/// buffer and an empty queue give `ENOMSG`, as natively, not `ENOMEM`; but
/// under `vm.overcommit_memory` 2, which charges every private mapping, a
/// buffer beyond the commit limit is `ENOMEM`).
struct Scratch {
    ptr: *mut u8,
    len: usize,
}

impl Scratch {
    fn new(len: usize) -> io::Result<Self> {
        use rustix::mm::{mmap_anonymous, MapFlags, ProtFlags};
        let prot = ProtFlags::READ | ProtFlags::WRITE;
        let flags = MapFlags::PRIVATE | MapFlags::NORESERVE;
        // SAFETY: a new mapping, at an address the kernel chooses: no
        // memory of this program changes.
        let p = unsafe { mmap_anonymous(std::ptr::null_mut(), len, prot, flags) }?;
        Ok(Self { ptr: p.cast(), len })
    }

    /// Its first `n` bytes (at most its length).
    fn bytes(&self, n: usize) -> &[u8] {
        // SAFETY: the mapping is `len` readable bytes, initialized (zeros
        // where nothing was written), and lives as long as `self`; a
        // mapping of `n` bytes made, `n` is at most `isize::MAX`.
        unsafe { std::slice::from_raw_parts(self.ptr, n.min(self.len)) }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // SAFETY: `ptr` and `len` are this mapping's, which nothing uses
        // any more.  A failure cannot be reported from `drop`.
        let _ = unsafe { rustix::mm::munmap(self.ptr.cast(), self.len) };
    }
}

/// A received msgbuf's type and text, `n` bytes of it into `buf`; the
/// module writes at most the text's room: a longer result (another module)
/// is `EIO`, not a panic.
fn unpack(msg: &[u8], buf: &mut [u8], n: usize) -> io::Result<(usize, i64)> {
    let eio = || sys::errno(Errno::IO);
    let text = msg.get(8..).and_then(|t| t.get(..n)).ok_or_else(eio)?;
    buf.get_mut(..n).ok_or_else(eio)?.copy_from_slice(text);
    let mut mtype = [0; 8];
    mtype.copy_from_slice(msg.get(..8).ok_or_else(eio)?);
    Ok((n, i64::from_ne_bytes(mtype)))
}

/// Runs `f` on initialized room for a native `struct msgbuf` of `text` bytes of
/// text (at most [`MSGBUF_KEEP`] in all): the thread's own if it is free
/// (not in use by a call that a signal handler interrupted), else a new
/// one.  `ENOMEM` if it cannot be had.
fn with_msgbuf<R>(text: usize, f: impl FnOnce(&mut [u8]) -> io::Result<R>) -> io::Result<R> {
    fn room(v: &mut Vec<u8>, len: usize) -> io::Result<&mut [u8]> {
        if v.len() < len {
            v.try_reserve_exact(len - v.len())
                .map_err(|_| sys::errno(Errno::NOMEM))?;
            v.resize(len, 0);
        }
        Ok(&mut v[..len])
    }
    let len = text
        .checked_add(8)
        .ok_or_else(|| sys::errno(Errno::NOMEM))?;
    let mut f = Some(f);
    if len <= MSGBUF_KEEP {
        let r = MSGBUF.try_with(|b| {
            let mut b = b.try_borrow_mut().ok()?;
            let f = f.take()?;
            Some(room(&mut b, len).and_then(f))
        });
        if let Ok(Some(r)) = r {
            return r;
        }
    }
    let f = f.ok_or_else(|| sys::errno(Errno::NOMEM))?;
    f(room(&mut Vec::new(), len)?)
}

/// `msgrcv`'s `msgtyp` and extra flags for a search.
fn search_args(s: Search) -> io::Result<(i64, i32)> {
    Ok(match s {
        Search::Any => (0, 0),
        Search::Type(t) if t > 0 => (t, 0),
        Search::Except(t) if t > 0 => (t, uapi::MSG_EXCEPT),
        Search::UpTo(t) if t > 0 => (-t, 0),
        // Another search than the one named (Type(-3) as UpTo(3),
        // Except(0) as Any): refused.
        _ => return Err(sys::errno(Errno::INVAL)),
    })
}

/// `RIPC_MSG_REGS_ID(msqid, msgflg)`: a register call's first argument.
fn regs_id(msqid: i32, msgflg: i32) -> u64 {
    u64::from(msqid as u32) | u64::from(msgflg as u32) << 32
}

impl fmt::Debug for SysvQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SysvQueue").field("id", &self.id).finish()
    }
}
