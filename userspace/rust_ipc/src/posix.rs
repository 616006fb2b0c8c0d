//! POSIX message queues: `mq_open()` and friends over `/dev/rust_ipc`.

use crate::{
    deadline::Deadline,
    stats::{self, QueueStats},
    sys::{self, bad_timespec, c_name, ioctl, ptr},
    uapi::{self, ripc_mq_attr},
};
use rustix::{fs::OFlags, io::Errno};
use std::{
    ffi::OsStr,
    fmt, io,
    os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd},
};

/// `MQ_PRIO_MAX`: priorities are `0..MQ_PRIO_MAX`.
pub const MQ_PRIO_MAX: u32 = 32768;

/// A POSIX message queue descriptor: an open file of `/dev/rust_ipc` bound
/// to a named queue, the counterpart of an `mqd_t`.
///
/// It is opened with [`OpenOptions`] (or [`PosixQueue::open`] for an
/// existing queue) and closed when dropped.  As with a native `mqd_t`, the
/// queue itself lives on until it is [unlinked](PosixQueue::unlink) and its
/// last descriptor closed.
///
/// The descriptor is a real file descriptor ([`AsFd`], [`AsRawFd`]): `poll`
/// and `epoll` (and so mio, tokio's `AsyncFd`, ...) report `POLLIN` while a
/// message is queued and `POLLOUT` while one more fits.  Its methods take
/// `&self`: a `PosixQueue` can be shared by threads, which may send and
/// receive at the same time.
///
/// Errors are the native ones: `e.raw_os_error()` is what `mq_*()` would
/// set `errno` to (`EAGAIN`, `ETIMEDOUT`, `EMSGSIZE`, `EBADF`, ...).  A
/// blocked call interrupted by a signal is restarted, as native `mq_*`
/// calls, if the handler was installed with `SA_RESTART` and the call has
/// no timeout or an absolute one; else it fails with `EINTR`
/// ([`io::ErrorKind::Interrupted`]), and always with a relative timeout (a
/// [`std::time::Duration`]) if a handler runs, so that it never waits
/// longer than asked (a stop and continue, with no handler, lets it go on
/// for the time left).
///
/// # Examples
///
/// ```no_run
/// use rust_ipc::{OpenOptions, PosixQueue};
///
/// # fn main() -> std::io::Result<()> {
/// let q = OpenOptions::new()
///     .read(true)
///     .write(true)
///     .create(true)
///     .mode(0o600)
///     .max_msgs(8)
///     .msg_size(128)
///     .open("/jobs")?;
/// q.send(b"low", 1)?;
/// q.send(b"urgent", 9)?;
///
/// let mut buf = vec![0; q.attributes()?.msg_size as usize];
/// let (len, prio) = q.receive(&mut buf)?;
/// assert_eq!((&buf[..len], prio), (&b"urgent"[..], 9));
///
/// drop(q);
/// PosixQueue::unlink("/jobs")?;
/// # Ok(())
/// # }
/// ```
///
/// Waiting with a deadline (a [`Deadline`]: a `SystemTime` as native's, an
/// `Instant`, or a `Duration` from now):
///
/// ```no_run
/// use rust_ipc::PosixQueue;
/// use std::time::Duration;
///
/// # fn main() -> std::io::Result<()> {
/// let q = PosixQueue::open("/jobs")?;
/// let mut buf = [0u8; 8192];
/// match q.receive_timeout(&mut buf, Duration::from_secs(1)) {
///     Ok((len, prio)) => println!("{len} bytes at priority {prio}"),
///     // ETIMEDOUT
///     Err(e) if e.kind() == std::io::ErrorKind::TimedOut => println!("nothing for a second"),
///     Err(e) => return Err(e),
/// }
/// # Ok(())
/// # }
/// ```
pub struct PosixQueue {
    fd: OwnedFd,
    /// Whether `fd` is a file of the device ([`sys::is_device_file`]); the
    /// calls on one that is not fail as native's do on a descriptor that
    /// is not a queue, without an ioctl.
    device: bool,
}

/// Options and flags for opening or creating a [`PosixQueue`], the
/// arguments of `mq_open()` as a builder (like [`std::fs::OpenOptions`]).
///
/// The access mode is `O_RDWR` with [`read`](Self::read) and
/// [`write`](Self::write), `O_WRONLY` with `write` alone, and `O_RDONLY`
/// otherwise (as `mq_open`'s `oflag` 0).
///
/// [`max_msgs`](Self::max_msgs) and [`msg_size`](Self::msg_size) are the
/// `struct mq_attr` of a queue that is created; they are ignored when the
/// queue exists.  If only one of them is set, the other is what the module
/// would use with no attributes (`min(default, max)` of the current
/// limits, as native `mq_open`).
///
/// # Examples
///
/// ```no_run
/// use rust_ipc::OpenOptions;
///
/// # fn main() -> std::io::Result<()> {
/// // A new queue, which must not exist yet, for a writer that never blocks.
/// let tx = OpenOptions::new()
///     .write(true)
///     .create(true)
///     .exclusive(true)
///     .nonblocking(true)
///     .mode(0o640)
///     .max_msgs(4)
///     .msg_size(64)
///     .open("/events")?;
/// // A reader of the same queue.
/// let rx = OpenOptions::new().read(true).open("/events")?;
/// # drop((tx, rx));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions {
    read: bool,
    write: bool,
    create: bool,
    exclusive: bool,
    nonblocking: bool,
    mode: u32,
    max_msgs: Option<i64>,
    msg_size: Option<i64>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenOptions {
    /// No access, no creation, blocking, mode `0o600`.
    pub fn new() -> Self {
        OpenOptions {
            read: false,
            write: false,
            create: false,
            exclusive: false,
            nonblocking: false,
            mode: 0o600,
            max_msgs: None,
            msg_size: None,
        }
    }

    /// Open for receiving.
    pub fn read(&mut self, on: bool) -> &mut Self {
        self.read = on;
        self
    }

    /// Open for sending.
    pub fn write(&mut self, on: bool) -> &mut Self {
        self.write = on;
        self
    }

    /// Create the queue if it does not exist (`O_CREAT`).
    pub fn create(&mut self, on: bool) -> &mut Self {
        self.create = on;
        self
    }

    /// With [`create`](Self::create): fail with `EEXIST` if the queue
    /// exists (`O_EXCL`).
    pub fn exclusive(&mut self, on: bool) -> &mut Self {
        self.exclusive = on;
        self
    }

    /// Open the descriptor non-blocking (`O_NONBLOCK`): a send to a full
    /// queue or a receive from an empty one fails with `EAGAIN`.
    pub fn nonblocking(&mut self, on: bool) -> &mut Self {
        self.nonblocking = on;
        self
    }

    /// The permission bits of a queue that is created (less the umask);
    /// `0o600` unless set.
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }

    /// The capacity in messages (`mq_maxmsg`) of a queue that is created.
    pub fn max_msgs(&mut self, n: i64) -> &mut Self {
        self.max_msgs = Some(n);
        self
    }

    /// The largest message in bytes (`mq_msgsize`) of a queue that is
    /// created.
    pub fn msg_size(&mut self, n: i64) -> &mut Self {
        self.msg_size = Some(n);
        self
    }

    /// `mq_open(name, ...)`: opens a new file of the device and binds it to
    /// the queue `name` (`"/name"`).
    ///
    /// Errors are `mq_open`'s: `ENOENT` (no such queue and no `create`, or
    /// the module is not loaded and the device is missing), `EEXIST`,
    /// `EACCES`, `EINVAL` (a bad name or attributes), `ENAMETOOLONG`,
    /// `EMFILE`, `ENOSPC`, ...
    pub fn open(&self, name: impl AsRef<OsStr>) -> io::Result<PosixQueue> {
        let name = c_name(name.as_ref())?;
        let mut oflag = match (self.read, self.write) {
            (true, true) => OFlags::RDWR,
            (false, true) => OFlags::WRONLY,
            _ => OFlags::RDONLY,
        };
        if self.create {
            oflag |= OFlags::CREATE;
        }
        if self.exclusive {
            oflag |= OFlags::EXCL;
        }
        if self.nonblocking {
            oflag |= OFlags::NONBLOCK;
        }
        let attr = if self.create && (self.max_msgs.is_some() || self.msg_size.is_some()) {
            let (maxmsg, msgsize) = match (self.max_msgs, self.msg_size) {
                (Some(m), Some(s)) => (m, s),
                (m, s) => {
                    let l = crate::device::version()?.limits;
                    (
                        m.unwrap_or_else(|| i64::from(l.mq_msg_default.min(l.mq_msg_max))),
                        s.unwrap_or_else(|| i64::from(l.mq_msgsize_default.min(l.mq_msgsize_max))),
                    )
                }
            };
            Some(ripc_mq_attr {
                mq_maxmsg: maxmsg,
                mq_msgsize: msgsize,
                ..Default::default()
            })
        } else {
            None
        };
        let mut arg = uapi::ripc_mq_open {
            size: sys::size_of::<uapi::ripc_mq_open>(),
            oflag: oflag.bits(),
            mode: self.mode,
            __pad: 0,
            name: ptr(name.as_ptr()),
            attr: attr.as_ref().map_or(0, |a| ptr(a)),
        };
        // `RIPC_MQ_OPEN_FD` on the process-wide descriptor: a new
        // descriptor, without a path lookup of the device (as libripc).
        // SAFETY: `arg` is a `ripc_mq_open` whose name is a NUL-terminated
        // string and whose attr is 0 or a `ripc_mq_attr`, both alive.
        match sys::on_device(|dev| unsafe { ioctl(dev, uapi::RIPC_CMD_MQ_OPEN_FD, &mut arg) }) {
            Ok(n) => {
                return Ok(PosixQueue {
                    // SAFETY: the module installed a new descriptor, ours
                    // to own.
                    fd: unsafe { OwnedFd::from_raw_fd(n) },
                    device: true,
                });
            }
            Err(e) if e.raw_os_error() != Some(Errno::NOTTY.raw_os_error()) => return Err(e),
            // A module of ABI version 4 or older: a new file of the device,
            // bound with `RIPC_MQ_OPEN`.
            Err(_) => {}
        }
        let fd = sys::open_device_as(oflag & OFlags::RWMODE)?;
        // SAFETY: as above.
        unsafe { ioctl(fd.as_fd(), uapi::RIPC_CMD_MQ_OPEN, &mut arg) }?;
        Ok(PosixQueue { fd, device: true })
    }
}

/// The attributes of a queue and of its descriptor (`struct mq_attr`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attributes {
    /// The descriptor is non-blocking (`O_NONBLOCK` in `mq_flags`).
    pub nonblocking: bool,
    /// Capacity in messages (`mq_maxmsg`).
    pub max_msgs: i64,
    /// Largest message in bytes (`mq_msgsize`).
    pub msg_size: i64,
    /// Messages now queued (`mq_curmsgs`).
    pub cur_msgs: i64,
}

impl From<ripc_mq_attr> for Attributes {
    fn from(a: ripc_mq_attr) -> Self {
        Attributes {
            nonblocking: a.mq_flags & i64::from(OFlags::NONBLOCK.bits()) != 0,
            max_msgs: a.mq_maxmsg,
            msg_size: a.mq_msgsize,
            cur_msgs: a.mq_curmsgs,
        }
    }
}

/// What [`PosixQueue::notify`] registers (a `struct sigevent`).
///
/// The registration fires once, when a message arrives on an empty queue
/// while no receiver is blocked on it, and is then removed.  One process at
/// a time can be registered on a queue (`EBUSY` for the others).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notification {
    /// `SIGEV_SIGNAL`: send `signo` to the registering process, with
    /// `si_code == SI_MESGQ`, `si_value` = `value` (`sival_ptr`; `sival_int`
    /// is its first 4 bytes: its low 32 bits on a little-endian machine), and the sender's `si_pid`/`si_uid`.  Natively
    /// the signal is process-wide; the module makes it pending on the one
    /// thread `complete_signal()` would pick at the send (the leader if it
    /// does not block the signal, else the first thread that does not;
    /// if every thread blocks it, the leader).  So a program whose threads
    /// all block the signal and take it with `sigwaitinfo()` in a thread
    /// other than the leader never sees it: such a program waits on a
    /// [`NotifyFd`](crate::NotifyFd) instead.
    Signal {
        /// The signal number (1..=64).
        signo: i32,
        /// The `sigval` the signal carries.
        value: u64,
    },
    /// `SIGEV_NONE`: register, but deliver nothing (the queue is kept
    /// from other processes' registrations until the first message).
    None,
}

impl PosixQueue {
    /// Opens an existing queue for sending and receiving (`O_RDWR`).
    ///
    /// Use [`OpenOptions`] for anything else.
    pub fn open(name: impl AsRef<OsStr>) -> io::Result<PosixQueue> {
        OpenOptions::new().read(true).write(true).open(name)
    }

    /// `mq_unlink(name)`: removes the name; the queue itself goes when its
    /// last descriptor is closed.  `ENOENT` if there is no such queue.
    pub fn unlink(name: impl AsRef<OsStr>) -> io::Result<()> {
        let name = c_name(name.as_ref())?;
        let mut arg = uapi::ripc_mq_unlink {
            size: sys::size_of::<uapi::ripc_mq_unlink>(),
            __pad: 0,
            name: ptr(name.as_ptr()),
        };
        // SAFETY: `arg` is a `ripc_mq_unlink` pointing at a live C string.
        sys::on_device(|dev| unsafe { ioctl(dev, uapi::RIPC_CMD_MQ_UNLINK, &mut arg) })?;
        Ok(())
    }

    /// `mq_send()`: queues `msg` at priority `prio` (`0..MQ_PRIO_MAX`,
    /// higher first), blocking while the queue is full unless the
    /// descriptor is non-blocking (`EAGAIN`).
    ///
    /// `EMSGSIZE` if `msg` is longer than the queue's `msg_size`, `EBADF`
    /// if the descriptor is not open for writing, `EINVAL` for a bad
    /// priority.
    pub fn send(&self, msg: &[u8], prio: u32) -> io::Result<()> {
        // SAFETY: a send of `msg`, readable for its length.
        unsafe { self.xfer(uapi::RIPC_CMD_MQ_SEND, msg.as_ptr(), msg.len(), prio, None) }.map(drop)
    }

    /// `mq_timedsend()`: as [`send`](Self::send), but a send that would
    /// block past `deadline` fails with `ETIMEDOUT`.  The deadline is a
    /// [`Deadline`]: a [`SystemTime`](std::time::SystemTime) (native's
    /// absolute wall-clock time; one before the epoch is `EINVAL`), an
    /// [`Instant`](std::time::Instant) or a
    /// [`Duration`](std::time::Duration) from now (both `CLOCK_MONOTONIC`,
    /// a rust_ipc extension).
    pub fn send_timeout(
        &self,
        msg: &[u8],
        prio: u32,
        deadline: impl Into<Deadline>,
    ) -> io::Result<()> {
        // SAFETY: a send of `msg`, readable for its length.
        unsafe {
            self.xfer(
                uapi::RIPC_CMD_MQ_SEND,
                msg.as_ptr(),
                msg.len(),
                prio,
                Some(deadline.into()),
            )
        }
        .map(drop)
    }

    /// `mq_receive()`: takes the oldest message of the highest priority
    /// into `buf`, returning its length and priority; blocks while the
    /// queue is empty unless the descriptor is non-blocking (`EAGAIN`).
    ///
    /// `buf` must be at least the queue's `msg_size` long (`EMSGSIZE`
    /// otherwise, whatever the message's length, as native).
    pub fn receive(&self, buf: &mut [u8]) -> io::Result<(usize, u32)> {
        // SAFETY: a receive into `buf`, writable for its length.
        unsafe {
            self.xfer(
                uapi::RIPC_CMD_MQ_RECEIVE,
                buf.as_mut_ptr(),
                buf.len(),
                0,
                None,
            )
        }
    }

    /// `mq_timedreceive()`: as [`receive`](Self::receive), but a receive
    /// that would block past `deadline` fails with `ETIMEDOUT`; `deadline`
    /// as for [`send_timeout`](Self::send_timeout).
    pub fn receive_timeout(
        &self,
        buf: &mut [u8],
        deadline: impl Into<Deadline>,
    ) -> io::Result<(usize, u32)> {
        // SAFETY: a receive into `buf`, writable for its length.
        unsafe {
            self.xfer(
                uapi::RIPC_CMD_MQ_RECEIVE,
                buf.as_mut_ptr(),
                buf.len(),
                0,
                Some(deadline.into()),
            )
        }
    }

    /// Peek (a rust_ipc extension, `RIPC_MQ_PEEK`): copies the message at
    /// position `pos` in receive order (0: the one [`receive`](Self::receive)
    /// would take next; priorities high to low, FIFO within a priority)
    /// into `buf`, without removing it; returns its length and priority.
    /// Nothing in the queue changes.
    ///
    /// `ENOMSG` if `pos` is past the last message, `EMSGSIZE` if `buf` is
    /// shorter than the message (only its length counts, not `msg_size`),
    /// `EBADF` if the descriptor is not open for reading.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use rust_ipc::PosixQueue;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let q = PosixQueue::open("/jobs")?;
    /// let mut buf = vec![0; q.attributes()?.msg_size as usize];
    /// // Everything queued, in the order it would be received.
    /// let mut pos = 0;
    /// while let Ok((len, prio)) = q.peek(pos, &mut buf) {
    ///     println!("{pos}: priority {prio}, {len} bytes");
    ///     pos += 1;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn peek(&self, pos: usize, buf: &mut [u8]) -> io::Result<(usize, u32)> {
        let mut p = uapi::ripc_mq_peek {
            size: sys::size_of::<uapi::ripc_mq_peek>(),
            msg_prio: 0,
            msg_ptr: ptr(buf.as_mut_ptr()),
            msg_len: buf.len() as u64,
            pos: pos as u64,
        };
        // SAFETY: `p` is a `ripc_mq_peek` whose buffer is `buf`, written
        // for at most its length.
        let n = unsafe { self.call(uapi::RIPC_CMD_MQ_PEEK, &mut p, false) }?;
        Ok((within(n as usize, buf.len())?, p.msg_prio))
    }

    /// The bulk form of [`peek`](Self::peek) (`RIPC_MQ_PEEK_BATCH`): the
    /// messages at positions `pos`, `pos + 1`, ... into `bufs`, one each,
    /// in one call; returns the length and priority of each message copied
    /// (fewer than `bufs` at the end of the queue, or before a buffer that
    /// is too short).  An error if the first fails (`ENOMSG` past the end,
    /// `EMSGSIZE`); `EINVAL` for more than 1024 buffers.
    pub fn peek_many(&self, pos: usize, bufs: &mut [&mut [u8]]) -> io::Result<Vec<(usize, u32)>> {
        let mut items: Vec<uapi::ripc_mq_item> = bufs
            .iter_mut()
            .map(|b| uapi::ripc_mq_item {
                msg_ptr: ptr(b.as_mut_ptr()),
                msg_len: b.len() as u64,
                ..Default::default()
            })
            .collect();
        let mut a = uapi::ripc_mq_peek_batch {
            size: sys::size_of::<uapi::ripc_mq_peek_batch>(),
            count: u32::try_from(items.len()).unwrap_or(u32::MAX),
            items: ptr(items.as_mut_ptr()),
            pos: pos as u64,
        };
        // SAFETY: `a` is a `ripc_mq_peek_batch` over `items`, each of whose
        // buffers is one of `bufs`, written for at most its length.
        let n = unsafe { self.call(uapi::RIPC_CMD_MQ_PEEK_BATCH, &mut a, false) }? as usize;
        items
            .iter()
            .zip(bufs.iter())
            .take(n)
            .map(|(it, b)| Ok((within(it.msg_len as usize, b.len())?, it.msg_prio)))
            .collect()
    }

    /// A send or receive of `len` bytes at `msg`.
    ///
    /// # Safety
    ///
    /// `cmd` is `RIPC_CMD_MQ_SEND`, with `msg` valid for reads of `len`
    /// bytes, or `RIPC_CMD_MQ_RECEIVE`, with `msg` valid for writes of
    /// `len` bytes, for the call.
    unsafe fn xfer(
        &self,
        cmd: u32,
        msg: *const u8,
        len: usize,
        prio: u32,
        timeout: Option<Deadline>,
    ) -> io::Result<(usize, u32)> {
        let mut timeout = timeout.map(Deadline::to_abi);
        let mut x = uapi::ripc_mq_xfer {
            size: sys::size_of::<uapi::ripc_mq_xfer>(),
            msg_prio: prio,
            msg_ptr: ptr(msg),
            msg_len: len as u64,
            // The module writes the time left of a relative timeout
            // back to it when a signal interrupts the call.
            timeout: timeout
                .as_mut()
                .map_or(0, |(ts, _)| ptr(core::ptr::from_mut(ts))),
            clock: timeout.map(|(_, c)| c).unwrap_or_default(),
        };
        let send = cmd == uapi::RIPC_CMD_MQ_SEND;
        let bad = timeout.is_some_and(|(ts, _)| bad_timespec(&ts)) || (send && prio >= MQ_PRIO_MAX);
        // Native's own timeout (none, or absolute on CLOCK_REALTIME): the
        // register call, no argument struct.
        if x.clock.clockid == 0 && x.clock.flags == 0 && self.device {
            let mut prio_out = 0u32;
            let (cmd, third) = if send {
                (uapi::RIPC_CMD_MQ_TIMEDSEND, u64::from(prio))
            } else {
                (
                    uapi::RIPC_CMD_MQ_TIMEDRECEIVE,
                    ptr(std::ptr::addr_of_mut!(prio_out)),
                )
            };
            // SAFETY: the buffer is `len` bytes the caller lends (read for a send,
            // written for a receive: the function's contract), the priority pointer a
            // live `u32`, the timeout 0 or a live `ripc_timespec`.
            let r = unsafe {
                sys::ioctl_regs(
                    self.fd.as_fd(),
                    cmd,
                    [x.msg_ptr, x.msg_len, third, x.timeout],
                )
            };
            if let Some(r) = r {
                return within(self.regs_result(r, bad)?, len).map(|n| (n, prio_out));
            }
        }
        // SAFETY: `x` is a `ripc_mq_xfer` whose buffer is `len` bytes the
        // caller lends (read for a send, written for a receive: the
        // function's contract) and whose timeout is 0 or a live
        // `ripc_timespec`.
        let n = unsafe { self.call(cmd, &mut x, bad) }?;
        Ok((within(n as usize, len)?, x.msg_prio))
    }

    /// `mq_getattr()`.
    pub fn attributes(&self) -> io::Result<Attributes> {
        self.getsetattr(None)
    }

    /// `RIPC_IOC_STATS` (a rust_ipc extension): the queue's statistics.
    /// `EBADF` unless this descriptor was opened for reading.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use rust_ipc::PosixQueue;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let q = PosixQueue::open("/jobs")?;
    /// let s = q.stats()?;
    /// println!("{} sent, {} received, {} queued (at most {})", s.sent, s.received, s.msgs, s.peak_msgs);
    /// # Ok(())
    /// # }
    /// ```
    pub fn stats(&self) -> io::Result<QueueStats> {
        self.stats_call(false)
    }

    /// [`PosixQueue::stats`], then zeroes the counters (the peaks restart
    /// from the current depth): the queue's owner only (or `CAP_FOWNER`),
    /// else `EPERM`.
    pub fn reset_stats(&self) -> io::Result<QueueStats> {
        self.stats_call(true)
    }

    fn stats_call(&self, reset: bool) -> io::Result<QueueStats> {
        let mut a = stats::arg(uapi::RIPC_STATS_FILE as u32, 0, reset);
        if !self.device {
            return Err(sys::errno(Errno::BADF));
        }
        // A module without the command: its ENOTTY, as libripc's.
        stats::call(self.fd.as_fd(), &mut a)
    }

    /// `fchmod()` of the descriptor: the queue's mode (its `0o7777` bits;
    /// `RIPC_MQ_SETPERM`, ABI version 5), with native's checks: the
    /// queue's owner or `CAP_FOWNER` (`EPERM`), the set-group-ID bit kept
    /// only for a member of the queue's group or `CAP_FSETID`.  Later opens
    /// check the new mode.
    pub fn set_mode(&self, mode: u32) -> io::Result<()> {
        self.setperm(uapi::RIPC_SETPERM_MODE as u32, mode, u32::MAX, u32::MAX)
    }

    /// `fchown()` of the descriptor: the queue's owner and group (`None`
    /// leaves one as it is), with native's checks: `CAP_CHOWN`, or the
    /// owner giving the queue to one of its own groups (`EPERM`); `EINVAL`
    /// for an id the caller's user namespace does not map.  Clears the
    /// set-user-ID bit as native's.
    pub fn set_owner(&self, uid: Option<u32>, gid: Option<u32>) -> io::Result<()> {
        let (uid, gid) = (uid.unwrap_or(u32::MAX), gid.unwrap_or(u32::MAX));
        self.setperm(uapi::RIPC_SETPERM_OWNER as u32, 0, uid, gid)
    }

    fn setperm(&self, which: u32, mode: u32, uid: u32, gid: u32) -> io::Result<()> {
        let mut a = uapi::ripc_mq_setperm {
            size: sys::size_of::<uapi::ripc_mq_setperm>(),
            which,
            mode,
            uid,
            gid,
            __pad: 0,
        };
        if !self.device {
            return Err(sys::errno(Errno::BADF));
        }
        // A module without the command (before ABI version 5): its ENOTTY,
        // as libripc's.
        // SAFETY: `a` is a `ripc_mq_setperm`, only read.
        unsafe { ioctl(self.fd.as_fd(), uapi::RIPC_CMD_MQ_SETPERM, &mut a) }.map(drop)
    }

    /// `mq_setattr()` with `O_NONBLOCK` set or cleared in `mq_flags` (the
    /// only attribute that can change; it is the descriptor's file flag,
    /// as `fcntl(F_SETFL)` sets it).  Returns the attributes from before.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<Attributes> {
        let new = ripc_mq_attr {
            mq_flags: if on {
                i64::from(OFlags::NONBLOCK.bits())
            } else {
                0
            },
            ..Default::default()
        };
        self.getsetattr(Some(&new))
    }

    fn getsetattr(&self, new: Option<&ripc_mq_attr>) -> io::Result<Attributes> {
        let mut old = ripc_mq_attr::default();
        let mut arg = uapi::ripc_mq_getsetattr {
            size: sys::size_of::<uapi::ripc_mq_getsetattr>(),
            __pad: 0,
            new_attr: new.map_or(0, |a| ptr(a)),
            old_attr: ptr(std::ptr::addr_of_mut!(old)),
        };
        let bad = new.is_some_and(|a| a.mq_flags & !i64::from(OFlags::NONBLOCK.bits()) != 0);
        // SAFETY: `arg` is a `ripc_mq_getsetattr` whose new_attr is 0 or a
        // live `ripc_mq_attr` and whose old_attr is `old`, which is written.
        unsafe { self.call(uapi::RIPC_CMD_MQ_GETSETATTR, &mut arg, bad) }?;
        Ok(Attributes::from(old))
    }

    /// `mq_notify()`: registers this process for a notification when a
    /// message arrives on the empty queue; `EBUSY` if a process (this one
    /// included) is registered already.  See [`Notification`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use rust_ipc::{Notification, PosixQueue};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let q = PosixQueue::open("/jobs")?;
    /// // A single-threaded program: block SIGUSR1 first, then wait for
    /// // it with sigwaitinfo()/sigtimedwait(): si_value.sival_ptr is 42.
    /// // (A program with threads that all block it waits on a NotifyFd:
    /// // see Notification::Signal.)
    /// q.notify(Notification::Signal { signo: 10, value: 42 })?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn notify(&self, how: Notification) -> io::Result<()> {
        let ev = match how {
            Notification::Signal { signo, value } => uapi::ripc_sigevent {
                sigev_value: value,
                sigev_signo: signo,
                sigev_notify: uapi::RIPC_SIGEV_SIGNAL,
                ..Default::default()
            },
            Notification::None => uapi::ripc_sigevent {
                sigev_notify: uapi::RIPC_SIGEV_NONE,
                ..Default::default()
            },
        };
        // valid_signal(), and signal 0 is refused.
        let bad = matches!(how, Notification::Signal { signo, .. } if !(1..=64).contains(&signo));
        self.notify_raw(Some(&ev), bad)
    }

    /// Registers the notification descriptor `nfd` on the queue (a
    /// rust_ipc extension, `RIPC_SIGEV_FD`): with the rules of
    /// [`notify`](Self::notify) (`EBUSY` if the queue has a registration,
    /// one-shot, removed by [`remove_notification`](Self::remove_notification)
    /// or by this process closing a descriptor of the queue), but each
    /// firing puts a [`NotifyRecord`](crate::NotifyRecord) carrying `value`
    /// in `nfd`.  `EBUSY` also if `nfd` is registered on a queue already,
    /// `EAGAIN` if it holds `RIPC_NOTIFY_FD_PENDING_MAX` unread records.
    pub fn notify_fd(&self, nfd: &crate::NotifyFd, value: u64) -> io::Result<()> {
        let ev = uapi::ripc_sigevent {
            sigev_value: value,
            sigev_signo: nfd.as_raw_fd(),
            sigev_notify: uapi::RIPC_SIGEV_FD,
            ..Default::default()
        };
        self.notify_raw(Some(&ev), false)
    }

    /// `mq_notify(mqd, NULL)`: removes this process's registration (if it
    /// has none, nothing happens and the call succeeds).
    pub fn remove_notification(&self) -> io::Result<()> {
        self.notify_raw(None, false)
    }

    fn notify_raw(&self, ev: Option<&uapi::ripc_sigevent>, bad: bool) -> io::Result<()> {
        let mut arg = uapi::ripc_mq_notify {
            size: sys::size_of::<uapi::ripc_mq_notify>(),
            __pad: 0,
            sevp: ev.map_or(0, |e| ptr(e)),
        };
        // SAFETY: `arg` is a `ripc_mq_notify` whose sevp is 0 or a live
        // `ripc_sigevent`.
        unsafe { self.call(uapi::RIPC_CMD_MQ_NOTIFY, &mut arg, bad) }.map(drop)
    }

    /// Another descriptor of the same queue (`dup()`, close-on-exec): it
    /// shares the open file, so the non-blocking flag too.
    pub fn try_clone(&self) -> io::Result<PosixQueue> {
        Ok(PosixQueue {
            fd: self.fd.try_clone()?,
            device: self.device,
        })
    }

    /// An ioctl on the queue descriptor.  When the descriptor is not a file
    /// of the device (known at its wrapping: no call is made, `EBADF`), or
    /// the module says `EBADF`, the argument errors native reports before
    /// `EBADF` (`bad`) are applied here, as libripc does.
    ///
    /// # Safety
    ///
    /// As for [`sys::ioctl`]: `arg` is the argument struct of `cmd`, every
    /// pointer in it 0 or valid for what the command does.
    unsafe fn call<T>(&self, cmd: u32, arg: &mut T, bad: bool) -> io::Result<i32> {
        if !self.device {
            return self.regs_result(Err(sys::errno(Errno::BADF)), bad);
        }
        // SAFETY: by the function's contract.
        let r = unsafe { ioctl(self.fd.as_fd(), cmd, arg) };
        self.regs_result(r, bad)
    }

    /// A call's result on a descriptor that may not be a queue's: `EBADF`
    /// becomes `EINVAL` for arguments native refuses first (`bad`).  (Only
    /// the device's files reach the module; its `ENOTTY`, a command it does
    /// not know, stays.)
    fn regs_result<N>(&self, r: io::Result<N>, bad: bool) -> io::Result<N> {
        match r {
            Err(e) if e.raw_os_error() == Some(Errno::BADF.raw_os_error()) => {
                Err(sys::errno(if bad { Errno::INVAL } else { Errno::BADF }))
            }
            r => r,
        }
    }
}

/// A length the module returned for a buffer of `room` bytes: more (another
/// module's answer) is `EIO`, not a slice out of bounds in the caller.
fn within(n: usize, room: usize) -> io::Result<usize> {
    if n > room {
        return Err(sys::errno(Errno::IO));
    }
    Ok(n)
}

impl fmt::Debug for PosixQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PosixQueue")
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

impl AsFd for PosixQueue {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for PosixQueue {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl IntoRawFd for PosixQueue {
    fn into_raw_fd(self) -> RawFd {
        self.fd.into_raw_fd()
    }
}

impl FromRawFd for PosixQueue {
    /// Takes ownership of a queue descriptor (one from
    /// [`IntoRawFd::into_raw_fd`], or inherited across `exec`).
    ///
    /// # Safety
    ///
    /// `fd` must be an open descriptor that nothing else owns.  If it is not
    /// a bound file of `/dev/rust_ipc`, the calls fail with `EBADF`.
    unsafe fn from_raw_fd(fd: RawFd) -> Self {
        // SAFETY: by this function's contract.
        PosixQueue::from(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

impl From<PosixQueue> for OwnedFd {
    fn from(q: PosixQueue) -> OwnedFd {
        q.fd
    }
}

impl From<OwnedFd> for PosixQueue {
    /// Wraps a queue descriptor; if it is not a bound file of
    /// `/dev/rust_ipc`, the calls fail with `EBADF`.
    fn from(fd: OwnedFd) -> PosixQueue {
        let device = sys::is_device_file(fd.as_fd());
        PosixQueue { fd, device }
    }
}
