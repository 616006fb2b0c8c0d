//! A safe Rust API over `/dev/rust_ipc`, the rust_ipc kernel module's
//! POSIX and System V message queues with native Linux semantics.
//!
//! - [`PosixQueue`] (opened with [`OpenOptions`]) is an `mqd_t`: a file
//!   descriptor of the device bound to a named queue, with `mq_send`,
//!   `mq_receive`, their timed forms, `mq_getattr`/`mq_setattr`,
//!   `mq_notify` and `mq_unlink`.  It implements [`AsFd`](std::os::fd::AsFd),
//!   so it can be polled.
//! - [`SysvQueue`] is a `msqid`: `msgget`, `msgsnd`, `msgrcv` (every
//!   [`Search`] mode, `MSG_COPY` as [`SysvQueue::copy`]) and `msgctl`.
//! - [`NotifyFd`] is a notification descriptor: an `mq_notify`
//!   registration that is a file, readable (and pollable) when it fires
//!   ([`PosixQueue::notify_fd`]).
//! - [`device`] has the device-wide calls (ABI version, limits, listing,
//!   and the checkpoint/restore of a namespace's queues:
//!   [`device::dump`], [`device::restore`]).
//! - [`QueueStats`]: a queue's statistics (a rust_ipc extension), from
//!   [`PosixQueue::stats`] and [`SysvQueue::stats`].
//!
//! Errors are [`std::io::Error`]s carrying the native errno:
//! `e.raw_os_error()` is exactly what the corresponding libc call would
//! leave in `errno`, so `e.kind()` works as for any other I/O error
//! (`WouldBlock` for `EAGAIN`, `TimedOut` for `ETIMEDOUT`, `NotFound` for
//! `ENOENT`, `AlreadyExists` for `EEXIST`, ...).
//!
//! # The ABI
//!
//! `include/uapi/linux/rust_ipc.h` is the single source of truth.  The
//! crate's build script runs bindgen (libclang) on it at build time, so the
//! argument structs, the constants and the ioctl command numbers in
//! [`uapi`] are what a C compiler makes of the header (bindgen's layout
//! tests assert every size and offset at compile time).  Building the crate
//! therefore needs libclang; `RIPC_UAPI_INCLUDE` points the build at
//! another copy of the header's directory.
//!
//! # Examples
//!
//! ```no_run
//! use rust_ipc::{OpenOptions, PosixQueue, RecvFlags, Search, SysvQueue};
//!
//! # fn main() -> std::io::Result<()> {
//! // POSIX
//! let q = OpenOptions::new().read(true).write(true).create(true).open("/demo")?;
//! q.send(b"hello", 0)?;
//! let mut buf = vec![0; q.attributes()?.msg_size as usize];
//! let (len, _prio) = q.receive(&mut buf)?;
//! assert_eq!(&buf[..len], b"hello");
//! PosixQueue::unlink("/demo")?;
//!
//! // System V
//! let s = SysvQueue::private(0o600)?;
//! s.send(7, b"typed", false)?;
//! let (len, mtype) = s.receive(&mut buf, Search::Type(7), RecvFlags::empty())?;
//! assert_eq!((&buf[..len], mtype), (&b"typed"[..], 7));
//! s.remove()?;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod deadline;
pub mod device;
mod notify;
mod posix;
mod stats;
mod sys;
mod sysv;
pub mod uapi;

pub use deadline::{Clock, Deadline};
pub use notify::{NotifyFd, NotifyRecord};
pub use posix::{Attributes, Notification, OpenOptions, PosixQueue, MQ_PRIO_MAX};
pub use stats::QueueStats;
pub use sysv::{MsgInfo, RecvFlags, Search, Stat, SysvQueue, IPC_CREAT, IPC_EXCL, IPC_PRIVATE};

/// The device path, `/dev/rust_ipc` (`RIPC_DEVICE`).
pub const DEVICE_PATH: &str = "/dev/rust_ipc";

#[cfg(test)]
mod tests {
    use super::uapi::*;
    use rustix::ioctl::opcode::{none, read_write, write};

    /// The command numbers clang evaluated from the header's `_IOW`/`_IOWR`
    /// macros agree with the ones computed from the magic, the numbers
    /// and bindgen's struct sizes.
    #[test]
    fn command_numbers() {
        let m = RIPC_IOC_MAGIC as u8;
        let n = |nr: i32| nr as u8;
        let cases = [
            (
                RIPC_CMD_IOC_VERSION,
                read_write::<ripc_version>(m, n(RIPC_NR_VERSION)),
            ),
            (
                RIPC_CMD_IOC_SET_LIMITS,
                write::<ripc_set_limits>(m, n(RIPC_NR_SET_LIMITS)),
            ),
            (
                RIPC_CMD_IOC_LIST,
                read_write::<ripc_list>(m, n(RIPC_NR_LIST)),
            ),
            (
                RIPC_CMD_MQ_OPEN,
                write::<ripc_mq_open>(m, n(RIPC_NR_MQ_OPEN)),
            ),
            (
                RIPC_CMD_MQ_OPEN_FD,
                write::<ripc_mq_open>(m, n(RIPC_NR_MQ_OPEN_FD)),
            ),
            (
                RIPC_CMD_MQ_SETPERM,
                write::<ripc_mq_setperm>(m, n(RIPC_NR_MQ_SETPERM)),
            ),
            (
                RIPC_CMD_MQ_UNLINK,
                write::<ripc_mq_unlink>(m, n(RIPC_NR_MQ_UNLINK)),
            ),
            (
                RIPC_CMD_MQ_SEND,
                write::<ripc_mq_xfer>(m, n(RIPC_NR_MQ_SEND)),
            ),
            (
                RIPC_CMD_MQ_RECEIVE,
                read_write::<ripc_mq_xfer>(m, n(RIPC_NR_MQ_RECEIVE)),
            ),
            (
                RIPC_CMD_MQ_GETSETATTR,
                read_write::<ripc_mq_getsetattr>(m, n(RIPC_NR_MQ_GETSETATTR)),
            ),
            (
                RIPC_CMD_MQ_NOTIFY,
                write::<ripc_mq_notify>(m, n(RIPC_NR_MQ_NOTIFY)),
            ),
            (RIPC_CMD_MSGGET, write::<ripc_msgget>(m, n(RIPC_NR_MSGGET))),
            (RIPC_CMD_MSGSND, write::<ripc_msgsnd>(m, n(RIPC_NR_MSGSND))),
            (
                RIPC_CMD_MSGRCV,
                read_write::<ripc_msgrcv>(m, n(RIPC_NR_MSGRCV)),
            ),
            (
                RIPC_CMD_MSGCTL,
                read_write::<ripc_msgctl>(m, n(RIPC_NR_MSGCTL)),
            ),
            (
                RIPC_CMD_MSG_BIND,
                write::<ripc_msgbind>(m, n(RIPC_NR_MSG_BIND)),
            ),
            (
                RIPC_CMD_NOTIFY_FD_BIND,
                read_write::<ripc_notify_fd>(m, n(RIPC_NR_NOTIFY_FD_BIND)),
            ),
            (
                RIPC_CMD_NOTIFY_FD_STATE,
                read_write::<ripc_notify_fd>(m, n(RIPC_NR_NOTIFY_FD_STATE)),
            ),
            (
                RIPC_CMD_NOTIFY_FD_OPEN,
                write::<ripc_notify_fd_open>(m, n(RIPC_NR_NOTIFY_FD_OPEN)),
            ),
            (
                RIPC_CMD_MQ_PEEK,
                read_write::<ripc_mq_peek>(m, n(RIPC_NR_MQ_PEEK)),
            ),
            (
                RIPC_CMD_MQ_PEEK_BATCH,
                read_write::<ripc_mq_peek_batch>(m, n(RIPC_NR_MQ_PEEK_BATCH)),
            ),
            (
                RIPC_CMD_IOC_DUMP,
                read_write::<ripc_dump>(m, n(RIPC_NR_DUMP)),
            ),
            (
                RIPC_CMD_IOC_RESTORE,
                write::<ripc_dump>(m, n(RIPC_NR_RESTORE)),
            ),
            (
                RIPC_CMD_IOC_STATS,
                read_write::<ripc_stats>(m, n(RIPC_NR_STATS)),
            ),
            (RIPC_CMD_MQ_TIMEDSEND, none(m, n(RIPC_NR_MQ_TIMEDSEND))),
            (
                RIPC_CMD_MQ_TIMEDRECEIVE,
                none(m, n(RIPC_NR_MQ_TIMEDRECEIVE)),
            ),
            (RIPC_CMD_MSGSND_REGS, none(m, n(RIPC_NR_MSGSND_REGS))),
            (RIPC_CMD_MSGRCV_REGS, none(m, n(RIPC_NR_MSGRCV_REGS))),
            (
                RIPC_CMD_MSG_NEXT_ID,
                read_write::<ripc_msg_next_id>(m, n(RIPC_NR_MSG_NEXT_ID)),
            ),
            (
                RIPC_CMD_MQ_SEND_BATCH,
                write::<ripc_mq_batch>(m, n(RIPC_NR_MQ_SEND_BATCH)),
            ),
            (
                RIPC_CMD_MQ_RECEIVE_BATCH,
                read_write::<ripc_mq_batch>(m, n(RIPC_NR_MQ_RECEIVE_BATCH)),
            ),
            (
                RIPC_CMD_MSGSND_BATCH,
                write::<ripc_msg_batch>(m, n(RIPC_NR_MSGSND_BATCH)),
            ),
            (
                RIPC_CMD_MSGRCV_BATCH,
                read_write::<ripc_msg_batch>(m, n(RIPC_NR_MSGRCV_BATCH)),
            ),
        ];
        for (i, (clang, rust)) in cases.into_iter().enumerate() {
            // Opcode is a c_uint on x86_64, another type elsewhere.
            #[allow(clippy::unnecessary_cast)]
            let rust = rust as u32;
            assert_eq!(clang, rust, "command #{i}");
        }
    }

    /// The header's device path is the one exported.
    #[test]
    fn device_path() {
        assert_eq!(RIPC_DEVICE, format!("{}\0", super::DEVICE_PATH).as_bytes());
    }

    /// The layouts the library passes straight through are the x86_64
    /// native ones (as libripc's static assertions check in C).
    #[test]
    fn native_sizes() {
        assert_eq!(std::mem::size_of::<ripc_mq_attr>(), 64);
        assert_eq!(std::mem::size_of::<ripc_timespec>(), 16);
        assert_eq!(std::mem::size_of::<ripc_sigevent>(), 64);
        assert_eq!(std::mem::size_of::<ripc_msqid_ds>(), 120);
        assert_eq!(std::mem::size_of::<ripc_msginfo>(), 32);
    }
}
