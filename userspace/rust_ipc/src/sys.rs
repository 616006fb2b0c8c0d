//! The ioctl plumbing shared by the POSIX and System V halves.

use crate::uapi::ripc_timespec;
use rustix::{
    fs::{Mode, OFlags},
    ioctl::{Ioctl, IoctlOutput, Opcode},
};
use std::{
    ffi::{c_void, CStr, CString, OsStr},
    io,
    os::{
        fd::{AsRawFd, BorrowedFd, IntoRawFd, OwnedFd},
        unix::ffi::OsStrExt,
    },
    sync::atomic::{
        AtomicU64,
        Ordering::{AcqRel, Acquire, Relaxed},
    },
    time::{SystemTime, UNIX_EPOCH},
};

/// The device path, from the header's `RIPC_DEVICE`.
pub(crate) const DEVICE: &CStr = match CStr::from_bytes_with_nul(crate::uapi::RIPC_DEVICE) {
    Ok(s) => s,
    Err(_) => panic!("RIPC_DEVICE is not a C string"),
};

/// One ioctl with a pointer to an argument struct; its output is the
/// ioctl's non-negative return value.
struct Call<T> {
    cmd: Opcode,
    arg: *mut T,
}

// SAFETY: `ioctl()` below makes callers promise that `arg` is `cmd`'s argument
// struct, every pointer in it valid for what the command does (nothing else is
// touched); the output is the plain return value: `output_from_ptr` reads no memory.
unsafe impl<T> Ioctl for Call<T> {
    type Output = IoctlOutput;
    const IS_MUTATING: bool = true;

    fn opcode(&self) -> Opcode {
        self.cmd
    }

    fn as_ptr(&mut self) -> *mut c_void {
        self.arg.cast()
    }

    unsafe fn output_from_ptr(out: IoctlOutput, _: *mut c_void) -> rustix::io::Result<IoctlOutput> {
        Ok(out)
    }
}

/// `ioctl(fd, cmd, arg)`, returning its (non-negative) result or the errno.
///
/// # Safety
///
/// `arg` must be the argument struct of `cmd` (as `<linux/rust_ipc.h>`
/// declares it), and every pointer in it must be 0 or valid for the reads
/// and writes that command makes, for the length it says.
pub(crate) unsafe fn ioctl<T>(fd: BorrowedFd<'_>, cmd: u32, arg: &mut T) -> io::Result<i32> {
    let call = Call {
        cmd: cmd as Opcode,
        arg,
    };
    // SAFETY: by this function's contract.
    unsafe { rustix::ioctl::ioctl(fd, call) }.map_err(io::Error::from)
}

/// A register call (`RIPC_MQ_TIMEDSEND`, ...; `<linux/rust_ipc.h>`):
/// `ioctl(fd, cmd, a)` with three more arguments in the system call's
/// registers, as `syscall(SYS_ioctl, fd, cmd, a, b, c, d)` makes it;
/// its (non-negative) result or the errno.  `None` where this crate does
/// not make them (other than 64-bit x86-64, or a module older than ABI
/// version 2, asked once with `RIPC_IOC_VERSION` on `fd`, or one that
/// answers `ENOTTY`, then asked again at the next call): the caller uses
/// the struct command.
///
/// # Safety
///
/// Every pointer among `args` must be 0 or valid for the reads and writes
/// that `cmd` makes, for the length it says.
#[allow(unused_variables)]
pub(crate) unsafe fn ioctl_regs(
    fd: BorrowedFd<'_>,
    cmd: u32,
    args: [u64; 4],
) -> Option<io::Result<usize>> {
    #[cfg(all(target_arch = "x86_64", target_pointer_width = "64"))]
    {
        use std::{
            os::fd::AsRawFd,
            sync::atomic::{AtomicU8, Ordering::Relaxed},
        };
        const SYS_IOCTL: isize = 16;
        // 0: not known yet, 1: the register calls, 2: the struct commands.
        // Learnt from the device only: a descriptor whose version call
        // fails (not the device's) tells nothing, and is not remembered.
        static REGS: AtomicU8 = AtomicU8::new(0);
        let regs = match REGS.load(Relaxed) {
            0 => match crate::device::version_on(fd) {
                Ok(v) => {
                    REGS.store(if v.abi >= 2 { 1 } else { 2 }, Relaxed);
                    v.abi >= 2
                }
                Err(_) => false,
            },
            known => known == 1,
        };
        if !regs {
            return None;
        }
        let ret: isize;
        // SAFETY: x86-64 `syscall` (ioctl, six arguments) changes only rax (the result),
        // rcx and r11; the kernel touches user memory only through the pointers in
        // `args`, valid by the caller's contract.
        unsafe {
            std::arch::asm!(
                "syscall",
                inlateout("rax") SYS_IOCTL => ret,
                in("rdi") fd.as_raw_fd() as isize,
                in("rsi") cmd as usize,
                in("rdx") args[0],
                in("r10") args[1],
                in("r8") args[2],
                in("r9") args[3],
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        if ret == -(rustix::io::Errno::NOTTY.raw_os_error() as isize) {
            // A module that does not know the register calls (another one
            // loaded since this process learnt it): learnt again at the
            // next call; this one takes the struct command.
            REGS.store(0, Relaxed);
            return None;
        }
        Some(if (-4095..0).contains(&ret) {
            Err(io::Error::from_raw_os_error(-ret as i32))
        } else {
            Ok(ret as usize)
        })
    }
    #[cfg(not(all(target_arch = "x86_64", target_pointer_width = "64")))]
    None
}

/// A new open file of the device (`O_RDWR | O_CLOEXEC`).
pub(crate) fn open_device() -> io::Result<OwnedFd> {
    open_device_as(OFlags::RDWR)
}

/// A new open file of the device with access mode `access` and
/// `O_CLOEXEC`: a queue descriptor is opened with the queue's access mode,
/// so that `fcntl(F_GETFL)` and `read()` see it as native ones do.
pub(crate) fn open_device_as(access: OFlags) -> io::Result<OwnedFd> {
    Ok(rustix::fs::open(
        DEVICE,
        access | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Whether `fd` is a file of the device (a character device of the
/// device node's number): a descriptor the crate did not open is looked at
/// once, so that the module's commands never go to another file, whose
/// driver could act on them or answer with its own error (an epoll
/// instance and `/dev/urandom` say `EINVAL`), where native's calls give
/// `EBADF`.
pub(crate) fn is_device_file(fd: BorrowedFd<'_>) -> bool {
    match device_number() {
        Some(dev) => rustix::fs::fstat(fd).is_ok_and(|st| is_chr(&st) && st.st_rdev == dev),
        // Neither the node nor sysfs (a chroot, a mount namespace given
        // only descriptors): the number of the file the crate opened, if
        // it did; else the module's answer decides.
        None => match DEVICE_RDEV.load(Relaxed) {
            u64::MAX => true,
            dev => rustix::fs::fstat(fd).is_ok_and(|st| is_chr(&st) && st.st_rdev == dev),
        },
    }
}

fn is_chr(st: &rustix::fs::Stat) -> bool {
    use rustix::fs::FileType;
    FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice
}

/// The device's number: its node's, else the one sysfs gives the misc
/// device (`MAJOR:MINOR`).  With sysfs showing misc devices and neither
/// that entry nor the module (not loaded), a number no file has; none
/// known otherwise (also for an error other than "not found": out of
/// descriptors, a path an LSM denies).
fn device_number() -> Option<rustix::fs::Dev> {
    use std::{io::ErrorKind::NotFound, path::Path};
    if let Ok(st) = rustix::fs::stat(DEVICE) {
        if is_chr(&st) {
            return Some(st.st_rdev);
        }
    }
    match std::fs::read_to_string(SYSFS_DEV) {
        Ok(s) => {
            let (maj, min) = s.trim().split_once(':')?;
            Some(rustix::fs::makedev(maj.parse().ok()?, min.parse().ok()?))
        }
        Err(e)
            if e.kind() == NotFound
                && Path::new(SYSFS_MISC).is_dir()
                && std::fs::metadata(SYSFS_MODULE).is_err_and(|e| e.kind() == NotFound) =>
        {
            Some(0)
        }
        Err(_) => None,
    }
}

/// Where sysfs shows the misc devices, this one's number, and the module.
const SYSFS_MISC: &str = "/sys/class/misc";
const SYSFS_DEV: &str = "/sys/class/misc/rust_ipc/dev";
const SYSFS_MODULE: &str = "/sys/module/rust_ipc";

/// The process-wide descriptor of the device with a generation, one
/// `u64`: the descriptor in the low 32 bits ([`NONE`]: none yet), the
/// number of times a lost one was forgotten above; and the device's number
/// once the crate opened it (`u64::MAX`: not known).
static DEVICE_FD: AtomicU64 = AtomicU64::new(NONE);
static DEVICE_RDEV: AtomicU64 = AtomicU64::new(u64::MAX);
const NONE: u64 = u32::MAX as u64;

/// The process-wide descriptor of the device, for the System V calls,
/// `mq_unlink` and the device-wide calls, with the word it was published
/// in: opened on first use (`O_CLOEXEC`), moved out of the program's way
/// as libripc's (a number of 512 or more, below `RLIMIT_NOFILE`: a
/// program's "lowest free" opens and its stale closes do not meet it), and
/// kept.  A failure to open it is not remembered, so a call made after the
/// module is loaded succeeds.  [`on_device`] makes a call on it.
fn device() -> io::Result<(BorrowedFd<'static>, u64)> {
    let mut word = DEVICE_FD.load(Acquire);
    let mut ours: Option<OwnedFd> = None;
    loop {
        if word & NONE != NONE {
            // Another thread's, if it won the race: ours is closed
            // (dropped).
            drop(ours);
            // SAFETY: the crate's own open descriptor, never closed by the
            // crate once published (a program that closes it anyway is
            // seen by `on_device`, which then leaves the number to the
            // program).
            return Ok((
                unsafe { BorrowedFd::borrow_raw((word & NONE) as i32) },
                word,
            ));
        }
        let fd = match ours.take() {
            Some(fd) => fd,
            None => {
                let fd = open_device()?;
                DEVICE_RDEV.store(rustix::fs::fstat(&fd)?.st_rdev, Relaxed);
                out_of_the_way(fd)
            }
        };
        let mine = (word & !NONE) | fd.as_raw_fd() as u64;
        match DEVICE_FD.compare_exchange(word, mine, AcqRel, Acquire) {
            Ok(_) => {
                let _ = fd.into_raw_fd();
                word = mine;
            }
            Err(theirs) => {
                ours = Some(fd);
                word = theirs;
            }
        }
    }
}

/// `fd` at a number of 512 or more (half of `RLIMIT_NOFILE` if that is
/// more, never above 4096, where the kernel's table would grow for it),
/// as libripc's `ripc_dup_high()`; `fd` itself where the limit leaves no
/// room.
fn out_of_the_way(fd: OwnedFd) -> OwnedFd {
    use rustix::process::{getrlimit, Resource};
    let limit = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    let floor = (limit / 2).clamp(512, 4096).min(limit.saturating_sub(1));
    if floor <= fd.as_raw_fd() as u64 {
        return fd;
    }
    rustix::io::fcntl_dupfd_cloexec(&fd, floor as i32).unwrap_or(fd)
}

/// Makes `call` on the process-wide descriptor of the device.  If it
/// fails as a call on a file that is no longer the device's would
/// (`EBADF`: the program closed it, with `close_range()` or `closefrom()`;
/// `ENOTTY` or `EINVAL`: another file took its number), `call` is made
/// once more: on the descriptor published since, if another thread
/// already made a new one, else, if the descriptor is indeed no longer a
/// file of the device open for reading and writing, on a new one (the
/// number left to the program: forgotten, in a new generation, so that a
/// thread that saw the old one does not take the new one for it).
pub(crate) fn on_device<R>(mut call: impl FnMut(BorrowedFd<'_>) -> io::Result<R>) -> io::Result<R> {
    let (fd, word) = device()?;
    match call(fd) {
        Err(e) if lost(&e) => {
            if DEVICE_FD.load(Acquire) == word {
                if still_device(fd) {
                    return Err(e);
                }
                // Only the first thread to see it forgets it.
                let forgotten = (word & !NONE).wrapping_add(1 << 32) | NONE;
                let _ = DEVICE_FD.compare_exchange(word, forgotten, AcqRel, Acquire);
            }
            call(device()?.0)
        }
        r => r,
    }
}

/// Whether `e` is what a call on a descriptor that is no longer the
/// device's would give.
fn lost(e: &io::Error) -> bool {
    use rustix::io::Errno;
    [Errno::BADF, Errno::NOTTY, Errno::INVAL]
        .iter()
        .any(|x| e.raw_os_error() == Some(x.raw_os_error()))
}

/// Whether `fd` is still a file of the device open for reading and
/// writing, as the crate opened it.
fn still_device(fd: BorrowedFd<'_>) -> bool {
    rustix::fs::fstat(fd).is_ok_and(|st| is_chr(&st) && st.st_rdev == DEVICE_RDEV.load(Relaxed))
        && rustix::fs::fcntl_getfl(fd).is_ok_and(|f| f & OFlags::RWMODE == OFlags::RDWR)
}

/// `size` for an argument struct.
pub(crate) const fn size_of<T>() -> u32 {
    std::mem::size_of::<T>() as u32
}

/// A pointer as the ABI's `__u64`.
pub(crate) fn ptr<T: ?Sized>(p: *const T) -> u64 {
    p.cast::<u8>() as usize as u64
}

/// A queue name as a C string; an interior NUL byte is `EINVAL`, and so
/// is a name without its leading slash, before any descriptor is taken
/// (glibc's `mq_open` and `mq_unlink` check it before their system call:
/// at the descriptor limit `EINVAL`, not `EMFILE`).
pub(crate) fn c_name(name: &OsStr) -> io::Result<CString> {
    let inval = || io::Error::from_raw_os_error(rustix::io::Errno::INVAL.raw_os_error());
    if name.as_bytes().first() != Some(&b'/') {
        return Err(inval());
    }
    CString::new(name.as_bytes()).map_err(|_| inval())
}

/// An absolute `CLOCK_REALTIME` deadline as the ABI's timespec.  A time
/// before the epoch gives a negative `tv_sec` (which the module rejects
/// with `EINVAL`, as native does); seconds saturate at the `i64` range.
pub(crate) fn timespec(t: SystemTime) -> ripc_timespec {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => ripc_timespec {
            tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(d.subsec_nanos()),
        },
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if d.subsec_nanos() == 0 {
                ripc_timespec {
                    tv_sec: -secs,
                    tv_nsec: 0,
                }
            } else {
                ripc_timespec {
                    tv_sec: (-secs).saturating_sub(1),
                    tv_nsec: 1_000_000_000 - i64::from(d.subsec_nanos()),
                }
            }
        }
    }
}

/// A timespec native rejects with `EINVAL` (`timespec64_valid` plus the
/// negative seconds that `mq_timedsend` refuses).
pub(crate) fn bad_timespec(ts: &ripc_timespec) -> bool {
    ts.tv_sec < 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1_000_000_000
}

/// The raw errno as an `io::Error`.
pub(crate) fn errno(e: rustix::io::Errno) -> io::Error {
    io::Error::from_raw_os_error(e.raw_os_error())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timespec_after_epoch() {
        let ts = timespec(UNIX_EPOCH + Duration::new(5, 7));
        assert_eq!((ts.tv_sec, ts.tv_nsec), (5, 7));
    }

    #[test]
    fn timespec_before_epoch() {
        let ts = timespec(UNIX_EPOCH - Duration::new(1, 250_000_000));
        assert_eq!((ts.tv_sec, ts.tv_nsec), (-2, 750_000_000));
        assert!(bad_timespec(&ts));
        let ts = timespec(UNIX_EPOCH - Duration::from_secs(3));
        assert_eq!((ts.tv_sec, ts.tv_nsec), (-3, 0));
    }

    #[test]
    fn names() {
        assert_eq!(c_name(OsStr::new("/q")).unwrap().as_bytes(), b"/q");
        for bad in ["/a\0b", "q", ""] {
            let e = c_name(OsStr::new(bad)).unwrap_err();
            assert_eq!(
                e.raw_os_error(),
                Some(rustix::io::Errno::INVAL.raw_os_error())
            );
        }
    }
}
