//! Device-wide calls: the ABI version, the limits and the listing.

use crate::{
    sys::{self, ioctl, ptr},
    uapi,
};
use rustix::io::Errno;
use std::{io, os::fd::BorrowedFd, path::Path};

/// The limits of the module, as `/proc/sys/fs/mqueue/` and
/// `/proc/sys/kernel/msg*` show them natively (`struct ripc_limits`).
pub type Limits = uapi::ripc_limits;

/// What [`version`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version {
    /// The module's ABI version (`RIPC_ABI_VERSION` of the header it was
    /// built with).
    pub abi: u32,
    /// Its current limits.
    pub limits: Limits,
}

/// The ABI version of the header this crate was built from.
pub const ABI_VERSION: u32 = uapi::RIPC_ABI_VERSION as u32;

/// Whether `/dev/rust_ipc` exists (the module is loaded).
pub fn available() -> bool {
    Path::new(sys::DEVICE.to_str().expect("ASCII path")).exists()
}

/// `RIPC_IOC_VERSION`: the module's ABI version and current limits.
///
/// # Examples
///
/// ```no_run
/// # fn main() -> std::io::Result<()> {
/// let v = rust_ipc::device::version()?;
/// assert_eq!(v.abi, rust_ipc::device::ABI_VERSION);
/// println!("POSIX queues hold at most {} messages", v.limits.mq_msg_max);
/// # Ok(())
/// # }
/// ```
pub fn version() -> io::Result<Version> {
    sys::on_device(version_on)
}

pub(crate) fn version_on(fd: BorrowedFd<'_>) -> io::Result<Version> {
    let mut v = uapi::ripc_version {
        size: sys::size_of::<uapi::ripc_version>(),
        ..Default::default()
    };
    // SAFETY: `v` is a `ripc_version`, which has no pointers.
    unsafe { ioctl(fd, uapi::RIPC_CMD_IOC_VERSION, &mut v) }?;
    Ok(Version {
        abi: v.abi_version,
        limits: v.limits,
    })
}

/// `RIPC_IOC_SET_LIMITS`: changes the limits whose fields are not 0
/// (`EPERM` unless the caller is its IPC namespace's root, `EINVAL`
/// outside a native sysctl's range).
pub fn set_limits(limits: &Limits) -> io::Result<()> {
    set_limits_fields(limits, 0)
}

/// `RIPC_IOC_SET_LIMITS` with a mask: changes exactly the limits whose
/// `uapi::RIPC_LIMIT_*` bit is in `set` (`as u32`), 0 too where the native sysctl
/// takes it (`queues_max`, `msgmax`, `msgmnb`, `msgmni`); `set` 0 is
/// [`set_limits`].  `EOPNOTSUPP` from a module before ABI 3 (which would
/// take the mask for 0).
pub fn set_limits_fields(limits: &Limits, set: u32) -> io::Result<()> {
    if set != 0 && version()?.abi < 3 {
        return Err(sys::errno(rustix::io::Errno::OPNOTSUPP));
    }
    let mut a = uapi::ripc_set_limits {
        size: sys::size_of::<uapi::ripc_set_limits>(),
        set,
        limits: *limits,
    };
    // SAFETY: `a` is a `ripc_set_limits`, which has no pointers.
    sys::on_device(|dev| unsafe { ioctl(dev, uapi::RIPC_CMD_IOC_SET_LIMITS, &mut a) })?;
    Ok(())
}

/// Which queues [`list`] shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    /// The POSIX queues.
    Posix,
    /// The System V queues (like `/proc/sysvipc/msg`).
    Sysv,
    /// Both.
    All,
}

/// `RIPC_IOC_LIST`: the module's text table of its queues, read a page at
/// a time (`RIPC_LIST_PAGE`).  Of the POSIX queues, what native shows the
/// caller (the uapi header): `EACCES` for [`Listing::Posix`] where the
/// caller may not read the namespace's mqueue root, whose names
/// [`Listing::All`] then leaves out.
pub fn list(which: Listing) -> io::Result<String> {
    list_as(which, 0)
}

/// `RIPC_IOC_LIST` with `RIPC_LIST_STATS` (a rust_ipc extension): the
/// statistics of every queue the caller may read, a line each: a header,
/// then the fields of [`QueueStats`](crate::QueueStats) in their order (the
/// times as nanoseconds, 0 for none), then the POSIX name or the System V
/// key and id.  POSIX names as [`list`] gives them (`EACCES` for
/// [`Listing::Posix`] where the caller may not read the mqueue root).
pub fn list_stats(which: Listing) -> io::Result<String> {
    list_as(which, uapi::RIPC_LIST_STATS as u32)
}

fn list_as(which: Listing, flags: u32) -> io::Result<String> {
    let tables: &[u32] = match which {
        Listing::Posix => &[uapi::RIPC_LIST_POSIX as u32],
        Listing::Sysv => &[uapi::RIPC_LIST_SYSV as u32],
        Listing::All => &[uapi::RIPC_LIST_POSIX as u32, uapi::RIPC_LIST_SYSV as u32],
    };
    let mut out = String::new();
    let mut buf = vec![0u8; 4096];
    for &table in tables {
        let mut cursor = 0;
        loop {
            let mut a = uapi::ripc_list {
                size: sys::size_of::<uapi::ripc_list>(),
                which: table | uapi::RIPC_LIST_PAGE as u32 | flags,
                buf: ptr(buf.as_mut_ptr()),
                buf_len: buf.len() as u64,
                cursor,
            };
            // SAFETY: `a` is a `ripc_list` whose buffer is `buf`, `buf_len`
            // bytes long.
            let n = match sys::on_device(|dev| unsafe {
                ioctl(dev, uapi::RIPC_CMD_IOC_LIST, &mut a)
            }) {
                Ok(n) => n as usize,
                // The POSIX names, where the caller may not read the
                // namespace's mqueue root: none, in a listing of both.
                Err(e)
                    if matches!(which, Listing::All)
                        && table == uapi::RIPC_LIST_POSIX as u32
                        && e.raw_os_error() == Some(Errno::ACCESS.raw_os_error()) =>
                {
                    break
                }
                Err(e) => return Err(e),
            };
            if n == 0 {
                break;
            }
            out.push_str(&String::from_utf8_lossy(&buf[..n.min(buf.len())]));
            cursor = a.cursor;
        }
    }
    Ok(out)
}

/// `RIPC_IOC_DUMP`: the rust_ipc queues of the caller's IPC namespace, both
/// families (names, ids, attributes, owners, modes, times, every message in
/// order), as one versioned, checksummed stream (its format is in
/// `<linux/rust_ipc.h>`), for [`restore`].
///
/// `EPERM` without `CAP_CHECKPOINT_RESTORE` or `CAP_SYS_ADMIN` over the
/// user namespace that owns the IPC namespace.
///
/// # Examples
///
/// ```no_run
/// # fn main() -> std::io::Result<()> {
/// let stream = rust_ipc::device::dump()?;
/// std::fs::write("/tmp/queues.ripc", &stream)?;
/// // Later, in an IPC namespace without queues (after a reboot, a module
/// // reload, or in a new container):
/// rust_ipc::device::restore(&std::fs::read("/tmp/queues.ripc")?)?;
/// # Ok(())
/// # }
/// ```
pub fn dump() -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 1 << 16];
    loop {
        // Its pages there first: the module copies without page faults
        // under its locks, and for a page that is not there faults it in
        // after them and dumps again (one pass instead of two).  A zeroed
        // allocation may be pages never touched: a byte of each is written.
        for i in (0..buf.len()).step_by(4096) {
            // SAFETY: `i` is within `buf`.
            unsafe { core::ptr::write_volatile(buf.as_mut_ptr().add(i), 0) };
        }
        let mut a = uapi::ripc_dump {
            size: sys::size_of::<uapi::ripc_dump>(),
            buf: ptr(buf.as_mut_ptr()),
            buf_len: buf.len() as u64,
            ..Default::default()
        };
        // SAFETY: `a` is a `ripc_dump` whose buffer is `buf`, written for
        // at most `buf_len` bytes.
        sys::on_device(|dev| unsafe { ioctl(dev, uapi::RIPC_CMD_IOC_DUMP, &mut a) })?;
        // More than a read could return here: EOVERFLOW, as libripc's.
        if a.total > isize::MAX as u64 {
            return Err(sys::errno(Errno::OVERFLOW));
        }
        let total = usize::try_from(a.total).unwrap_or(usize::MAX);
        if total <= buf.len() {
            buf.truncate(total);
            return Ok(buf);
        }
        // It grew between the calls: some room for more growth.  A stream
        // that this address space cannot hold (a 32-bit one) is ENOMEM,
        // not an overflow or an abort.
        let want = total
            .checked_add(total / 8)
            .ok_or_else(|| sys::errno(Errno::NOMEM))?;
        buf.try_reserve_exact(want - buf.len())
            .map_err(|_| sys::errno(Errno::NOMEM))?;
        buf.resize(want, 0);
    }
}

/// `RIPC_IOC_RESTORE`: recreates the queues of a [`dump`] stream in the
/// caller's IPC namespace, with the same names, ids, order, times and
/// owners.  The whole stream is checked and every queue built before any
/// appears, so a failure creates nothing: `EEXIST` if the namespace has a
/// queue, `EINVAL` if the stream is not one of this version, `EBADMSG` if
/// it is truncated or corrupted, `EPERM` as for [`dump`] (and without
/// `CAP_CHOWN` for a POSIX queue owned, or a System V queue created, by
/// other ids than the caller's and its groups).
pub fn restore(stream: &[u8]) -> io::Result<()> {
    let mut a = uapi::ripc_dump {
        size: sys::size_of::<uapi::ripc_dump>(),
        buf: ptr(stream.as_ptr()),
        buf_len: stream.len() as u64,
        ..Default::default()
    };
    // SAFETY: `a` is a `ripc_dump` whose buffer is `stream`, only read.
    sys::on_device(|dev| unsafe { ioctl(dev, uapi::RIPC_CMD_IOC_RESTORE, &mut a) })?;
    Ok(())
}
