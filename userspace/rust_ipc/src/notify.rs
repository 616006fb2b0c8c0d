//! Notification descriptors: an `mq_notify` registration that is a file
//! (a rust_ipc extension, `RIPC_NOTIFY_FD_BIND` and `RIPC_SIGEV_FD`).

use crate::{
    sys::{self, ioctl},
    uapi,
};
use rustix::fs::OFlags;
use std::{
    io,
    os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd},
};

/// A notification descriptor: register it on a queue with
/// [`PosixQueue::notify_fd`](crate::PosixQueue::notify_fd); each time the
/// registration fires (by `mq_notify`'s rules: once, when a message
/// arrives on the empty queue while no receiver is blocked), it gets a
/// [`NotifyRecord`] and becomes readable.
///
/// It is a file descriptor ([`AsFd`]): `poll`/`epoll` (mio, tokio's
/// `AsyncFd`) report `POLLIN` while a record is unread, so an event loop
/// needs no signal handler, and `POLLPRI` (if asked for) once a
/// registration was removed without firing, until the next one or
/// [`NotifyFd::state`].  One queue at a time holds its registration
/// (`EBUSY` otherwise); the last close of the descriptor cancels the
/// registration (dropping it, unless a clone or a forked child still holds
/// the file).
///
/// # Examples
///
/// ```no_run
/// use rust_ipc::{NotifyFd, PosixQueue};
///
/// # fn main() -> std::io::Result<()> {
/// let q = PosixQueue::open("/jobs")?;
/// let n = NotifyFd::new(false)?;
/// q.notify_fd(&n, 42)?;
/// // ... poll(n.as_fd()) in an event loop, or block:
/// let r = n.read()?;
/// println!("value {} from pid {} uid {}", r.value, r.pid, r.uid);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct NotifyFd {
    fd: OwnedFd,
}

/// One firing of a [`NotifyFd`]'s registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotifyRecord {
    /// The registration's `sigval`.
    pub value: u64,
    /// The sender's process id in the reader's pid namespace (0 if it is
    /// not there), as `si_pid`.
    pub pid: i32,
    /// The sender's uid, mapped as `si_uid` is.
    pub uid: u32,
}

impl NotifyFd {
    /// A new notification descriptor (close-on-exec); `nonblocking` makes
    /// [`read`](Self::read) fail with `EAGAIN` (`WouldBlock`) instead of
    /// waiting.
    pub fn new(nonblocking: bool) -> io::Result<NotifyFd> {
        let flags = if nonblocking {
            OFlags::RDWR | OFlags::NONBLOCK
        } else {
            OFlags::RDWR
        };
        // `RIPC_NOTIFY_FD_OPEN` on the process-wide descriptor: no path
        // lookup of the device (as libripc); an older module: a new open
        // of the device, bound.
        let mut o = uapi::ripc_notify_fd_open {
            size: sys::size_of::<uapi::ripc_notify_fd_open>(),
            flags: (flags & OFlags::NONBLOCK).bits() | OFlags::CLOEXEC.bits(),
        };
        // SAFETY: `o` is a `ripc_notify_fd_open`, which has no pointers.
        match sys::on_device(|dev| unsafe { ioctl(dev, uapi::RIPC_CMD_NOTIFY_FD_OPEN, &mut o) }) {
            Ok(n) => {
                return Ok(NotifyFd {
                    // SAFETY: the module installed a new descriptor, ours
                    // to own.
                    fd: unsafe { OwnedFd::from_raw_fd(n) },
                });
            }
            Err(e) if e.raw_os_error() != Some(rustix::io::Errno::NOTTY.raw_os_error()) => {
                return Err(e)
            }
            Err(_) => {}
        }
        let fd = sys::open_device_as(flags)?;
        let mut arg = state_arg();
        // SAFETY: `arg` is a `ripc_notify_fd`, which has no pointers.
        unsafe { ioctl(fd.as_fd(), uapi::RIPC_CMD_NOTIFY_FD_BIND, &mut arg) }?;
        Ok(NotifyFd { fd })
    }

    /// The next record: waits for one (unless non-blocking: `EAGAIN`); a
    /// signal ends the wait with `EINTR` unless its handler has
    /// `SA_RESTART`.
    pub fn read(&self) -> io::Result<NotifyRecord> {
        let mut rec = uapi::ripc_notify_record::default();
        // SAFETY: the record is plain data without padding (8 + 4 + 4
        // bytes, bindgen's layout test), initialized, and every byte
        // pattern is a valid record.
        let bytes = unsafe {
            std::slice::from_raw_parts_mut(
                std::ptr::addr_of_mut!(rec).cast::<u8>(),
                std::mem::size_of_val(&rec),
            )
        };
        let len = bytes.len();
        if rustix::io::read(&self.fd, bytes)? != len {
            // A record cut short (another module's size): an errno, as
            // every error of the crate has.
            return Err(io::Error::from_raw_os_error(
                rustix::io::Errno::IO.raw_os_error(),
            ));
        }
        Ok(NotifyRecord {
            value: rec.sigev_value,
            pid: rec.pid,
            uid: rec.uid,
        })
    }

    /// Whether a queue holds its registration, and how many records are
    /// unread.
    pub fn state(&self) -> io::Result<(bool, u32)> {
        let mut arg = state_arg();
        // SAFETY: `arg` is a `ripc_notify_fd`, which has no pointers.
        unsafe { ioctl(self.fd.as_fd(), uapi::RIPC_CMD_NOTIFY_FD_STATE, &mut arg) }?;
        Ok((arg.armed != 0, arg.pending))
    }
}

fn state_arg() -> uapi::ripc_notify_fd {
    uapi::ripc_notify_fd {
        size: sys::size_of::<uapi::ripc_notify_fd>(),
        ..Default::default()
    }
}

impl AsFd for NotifyFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for NotifyFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
