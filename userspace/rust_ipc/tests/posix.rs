//! POSIX queues against the real module (skipped without /dev/rust_ipc).

mod common;

use common::{errno, fork_child, unique_name};
use rust_ipc::{Clock, Deadline, Notification, OpenOptions, PosixQueue};
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use std::{
    io::ErrorKind,
    os::fd::{AsFd, OwnedFd},
    thread,
    time::{Duration, Instant, SystemTime},
};

/// A new queue (read-write, created exclusively) and its name; the name
/// is unlinked when the guard drops.
struct Fresh {
    q: PosixQueue,
    name: String,
}

impl Drop for Fresh {
    fn drop(&mut self) {
        let _ = PosixQueue::unlink(&self.name);
    }
}

fn fresh(tag: &str, max_msgs: i64, msg_size: i64) -> Fresh {
    let name = unique_name(tag);
    let q = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .exclusive(true)
        .mode(0o600)
        .max_msgs(max_msgs)
        .msg_size(msg_size)
        .open(&name)
        .expect("create queue");
    Fresh { q, name }
}

fn ready(fd: impl AsFd, events: PollFlags) -> PollFlags {
    let mut fds = [PollFd::new(&fd, events)];
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    poll(&mut fds, Some(&zero)).expect("poll");
    fds[0].revents()
}

#[test]
fn send_receive_by_priority() {
    require_device!();
    let f = fresh("prio", 10, 64);
    let q = &f.q;
    for (msg, prio) in [
        (&b"low"[..], 1),
        (b"high", 9),
        (b"mid", 5),
        (b"high-2", 9),
        (b"zero", 0),
    ] {
        q.send(msg, prio).unwrap();
    }
    assert_eq!(q.attributes().unwrap().cur_msgs, 5);
    let mut buf = [0u8; 64];
    let mut got = Vec::new();
    for _ in 0..5 {
        let (n, prio) = q.receive(&mut buf).unwrap();
        got.push((String::from_utf8(buf[..n].to_vec()).unwrap(), prio));
    }
    let want = [
        ("high", 9),
        ("high-2", 9),
        ("mid", 5),
        ("low", 1),
        ("zero", 0),
    ];
    let want: Vec<_> = want.iter().map(|&(m, p)| (m.to_string(), p)).collect();
    assert_eq!(got, want);
    assert_eq!(q.attributes().unwrap().cur_msgs, 0);

    // Empty messages and the largest ones pass too.
    q.send(b"", 3).unwrap();
    q.send(&[0xa5; 64], 3).unwrap();
    assert_eq!(q.receive(&mut buf).unwrap(), (0, 3));
    assert_eq!(q.receive(&mut buf).unwrap(), (64, 3));
    assert_eq!(buf, [0xa5; 64]);
}

#[test]
fn argument_errors() {
    require_device!();
    let f = fresh("args", 2, 16);
    // Longer than msg_size.
    assert_eq!(errno(f.q.send(&[0; 17], 0)), libc::EMSGSIZE);
    // A receive buffer shorter than msg_size, even for a short message.
    f.q.send(b"x", 0).unwrap();
    assert_eq!(errno(f.q.receive(&mut [0; 15])), libc::EMSGSIZE);
    // Priorities are below MQ_PRIO_MAX.
    assert_eq!(errno(f.q.send(b"x", rust_ipc::MQ_PRIO_MAX)), libc::EINVAL);
    f.q.send(b"y", rust_ipc::MQ_PRIO_MAX - 1).unwrap();
    // A read-only descriptor cannot send, a write-only one cannot receive.
    let ro = OpenOptions::new().read(true).open(&f.name).unwrap();
    assert_eq!(errno(ro.send(b"x", 0)), libc::EBADF);
    let wo = OpenOptions::new().write(true).open(&f.name).unwrap();
    assert_eq!(errno(wo.receive(&mut [0; 16])), libc::EBADF);
    // Bad names and attributes.
    assert_eq!(errno(PosixQueue::open("no-slash")), libc::EINVAL);
    assert_eq!(errno(PosixQueue::open("/a\0b")), libc::EINVAL);
    let bad = OpenOptions::new()
        .read(true)
        .create(true)
        .max_msgs(0)
        .msg_size(8)
        .open(unique_name("zero"));
    assert_eq!(errno(bad), libc::EINVAL);
}

/// glibc checks the slash before any system call: a process out of
/// descriptors gets `EINVAL` for a name without one, not `EMFILE`.
#[test]
fn a_name_without_its_slash_is_einval_at_the_descriptor_limit() {
    require_device!();
    let child = fork_child(|| {
        let none = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `none` is a live `rlimit`; only this forked child's limit
        // changes.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &none) } != 0 {
            return Err("setrlimit".into());
        }
        let e = errno(PosixQueue::open(unique_name("limit")));
        if e != libc::EMFILE {
            return Err(format!("a good name: errno {e}, expected EMFILE"));
        }
        let e = errno(PosixQueue::open("no-slash"));
        if e != libc::EINVAL {
            return Err(format!("no slash: errno {e}, expected EINVAL"));
        }
        Ok(())
    });
    child.join().unwrap();
}

#[test]
fn nonblocking_eagain() {
    require_device!();
    let f = fresh("nb", 2, 8);
    let q = OpenOptions::new()
        .read(true)
        .write(true)
        .nonblocking(true)
        .open(&f.name)
        .unwrap();
    assert!(q.attributes().unwrap().nonblocking);
    let mut buf = [0u8; 8];
    let e = q.receive(&mut buf).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EAGAIN));
    assert_eq!(e.kind(), ErrorKind::WouldBlock);
    q.send(b"1", 0).unwrap();
    q.send(b"2", 0).unwrap();
    assert_eq!(errno(q.send(b"3", 0)), libc::EAGAIN);

    // set_nonblocking is mq_setattr: it returns the old attributes, and
    // the flag belongs to the open file (a clone shares it).
    let old = f.q.set_nonblocking(true).unwrap();
    assert!(!old.nonblocking);
    assert_eq!((old.max_msgs, old.msg_size, old.cur_msgs), (2, 8, 2));
    let dup = f.q.try_clone().unwrap();
    assert!(dup.attributes().unwrap().nonblocking);
    assert_eq!(errno(dup.send(b"3", 0)), libc::EAGAIN);
    assert!(f.q.set_nonblocking(false).unwrap().nonblocking);
    assert!(!dup.attributes().unwrap().nonblocking);
    // The other descriptor's flag did not change.
    assert!(q.attributes().unwrap().nonblocking);
}

#[test]
fn timeouts() {
    require_device!();
    let f = fresh("timeout", 1, 8);
    let mut buf = [0u8; 8];
    let start = Instant::now();
    let e =
        f.q.receive_timeout(&mut buf, SystemTime::now() + Duration::from_millis(100))
            .unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ETIMEDOUT));
    assert_eq!(e.kind(), ErrorKind::TimedOut);
    assert!(
        start.elapsed() >= Duration::from_millis(90),
        "{:?}",
        start.elapsed()
    );

    f.q.send(b"full", 0).unwrap();
    let start = Instant::now();
    let deadline = SystemTime::now() + Duration::from_millis(100);
    assert_eq!(
        errno(f.q.send_timeout(b"more", 0, deadline)),
        libc::ETIMEDOUT
    );
    assert!(
        start.elapsed() >= Duration::from_millis(90),
        "{:?}",
        start.elapsed()
    );
    // A deadline already past: ETIMEDOUT at once.
    let past = SystemTime::now() - Duration::from_secs(1);
    assert_eq!(errno(f.q.send_timeout(b"more", 0, past)), libc::ETIMEDOUT);
    // When the call need not wait, the deadline does not matter.
    assert_eq!(f.q.receive_timeout(&mut buf, past).unwrap(), (4, 0));
    // A deadline before the epoch is an invalid timespec: EINVAL.
    let pre_epoch = SystemTime::UNIX_EPOCH - Duration::from_millis(1500);
    assert_eq!(
        errno(f.q.receive_timeout(&mut buf, pre_epoch)),
        libc::EINVAL
    );
}

/// Every kind of deadline of the extension: an `Instant`, a `Duration`
/// from now, and `CLOCK_BOOTTIME` both ways; none returns early, a bad
/// `Deadline` of the ABI's terms is `EINVAL`.
#[test]
fn monotonic_and_boottime_deadlines() {
    require_device!();
    let f = fresh("clock", 1, 8);
    let mut buf = [0u8; 8];
    let boot_now = || {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
        Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
    };
    let ms = Duration::from_millis(30);
    for i in 0..5 {
        // Each made just before its call, as an absolute one must be.
        let start = Instant::now();
        let d = match i {
            0 => Deadline::from(start + ms),
            1 => Deadline::from(ms),
            2 => Deadline::after(Clock::Boottime, ms),
            3 => Deadline::at(Clock::Boottime, boot_now() + ms),
            _ => Deadline::after(Clock::Realtime, ms),
        };
        let e = f.q.receive_timeout(&mut buf, d).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimedOut, "{d:?}");
        assert!(start.elapsed() >= ms, "{d:?}: {:?}", start.elapsed());
    }
    // A send on a full queue, to an Instant already past: at once.
    f.q.send(b"full", 2).unwrap();
    let past = Instant::now() - Duration::from_millis(1);
    assert_eq!(errno(f.q.send_timeout(b"more", 0, past)), libc::ETIMEDOUT);
    let start = Instant::now();
    assert_eq!(errno(f.q.send_timeout(b"more", 0, ms)), libc::ETIMEDOUT);
    assert!(start.elapsed() >= ms);
    // A message ready: the deadline does not matter.
    assert_eq!(
        f.q.receive_timeout(&mut buf, Duration::ZERO).unwrap(),
        (4, 2)
    );
}

#[test]
fn blocked_receiver_is_woken() {
    require_device!();
    let f = fresh("wake", 4, 16);
    let rx = f.q.try_clone().unwrap();
    let t = thread::spawn(move || {
        let mut buf = [0u8; 16];
        let (n, prio) = rx.receive(&mut buf).unwrap();
        (buf[..n].to_vec(), prio)
    });
    thread::sleep(Duration::from_millis(100));
    f.q.send(b"wake up", 7).unwrap();
    assert_eq!(t.join().unwrap(), (b"wake up".to_vec(), 7));
}

#[test]
fn attributes() {
    require_device!();
    let f = fresh("attr", 5, 100);
    let a = f.q.attributes().unwrap();
    assert_eq!(
        a,
        rust_ipc::Attributes {
            nonblocking: false,
            max_msgs: 5,
            msg_size: 100,
            cur_msgs: 0
        }
    );
    f.q.send(b"a", 0).unwrap();
    f.q.send(b"b", 0).unwrap();
    assert_eq!(f.q.attributes().unwrap().cur_msgs, 2);
    // Attributes are for creation only: opening again keeps the queue's.
    let again = OpenOptions::new()
        .read(true)
        .create(true)
        .max_msgs(9)
        .msg_size(9)
        .open(&f.name)
        .unwrap();
    let b = again.attributes().unwrap();
    assert_eq!((b.max_msgs, b.msg_size, b.cur_msgs), (5, 100, 2));

    // Only one attribute given: the other is the default.
    let limits = rust_ipc::device::version().unwrap().limits;
    let name = unique_name("half");
    let half = OpenOptions::new()
        .read(true)
        .create(true)
        .max_msgs(3)
        .open(&name)
        .unwrap();
    let h = half.attributes().unwrap();
    PosixQueue::unlink(&name).unwrap();
    assert_eq!(h.max_msgs, 3);
    assert_eq!(
        h.msg_size,
        i64::from(limits.mq_msgsize_default.min(limits.mq_msgsize_max))
    );
}

#[test]
fn unlink_and_enoent() {
    require_device!();
    let name = unique_name("unlink");
    let e = PosixQueue::open(&name).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let q = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .open(&name)
        .unwrap();
    PosixQueue::unlink(&name).unwrap();
    assert_eq!(errno(PosixQueue::unlink(&name)), libc::ENOENT);
    assert_eq!(errno(PosixQueue::open(&name)), libc::ENOENT);
    // The queue lives on for its open descriptor.
    q.send(b"still here", 1).unwrap();
    let mut buf = vec![0; q.attributes().unwrap().msg_size as usize];
    assert_eq!(q.receive(&mut buf).unwrap(), (10, 1));
}

#[test]
fn exclusive_create_eexist() {
    require_device!();
    let f = fresh("excl", 2, 8);
    let again = OpenOptions::new()
        .read(true)
        .create(true)
        .exclusive(true)
        .open(&f.name);
    let e = again.unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EEXIST));
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    // Without O_EXCL, O_CREAT opens the existing queue.
    OpenOptions::new()
        .read(true)
        .create(true)
        .open(&f.name)
        .unwrap();
}

#[test]
fn notify_registration_rules() {
    require_device!();
    let f = fresh("notify-none", 2, 8);
    f.q.notify(Notification::None).unwrap();
    // One registration per queue, even for the same process.
    assert_eq!(
        errno(f.q.notify(Notification::Signal {
            signo: libc::SIGUSR1,
            value: 1
        })),
        libc::EBUSY
    );
    f.q.remove_notification().unwrap();
    // Removing none is fine.
    f.q.remove_notification().unwrap();
    // Signal 0 and numbers past 64 are invalid.
    assert_eq!(
        errno(f.q.notify(Notification::Signal { signo: 0, value: 0 })),
        libc::EINVAL
    );
    assert_eq!(
        errno(f.q.notify(Notification::Signal {
            signo: 65,
            value: 0
        })),
        libc::EINVAL
    );
    // SIGEV_NONE: a message arriving removes the registration silently.
    f.q.notify(Notification::None).unwrap();
    f.q.send(b"x", 0).unwrap();
    f.q.notify(Notification::None).unwrap();
    f.q.remove_notification().unwrap();
}

/// The signal is process-directed, so it is tested in a forked child that
/// blocks it (the test harness's other threads do not) and waits for it
/// with sigtimedwait; the parent, another process, sends the message.
#[test]
fn notify_signal_sigwait() {
    require_device!();
    const SI_MESGQ: i32 = -3;
    const VALUE: u64 = 0x1234_5678_9abc;
    let f = fresh("notify-sig", 4, 16);
    let mut ready = common::Signal::new();
    let parent = std::process::id() as i32;
    // SAFETY: getuid() has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let q = &f.q;
    let child = fork_child(|| {
        // SAFETY: `sigset_t` is plain C data, valid all-zero (and emptied below).
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a live, writable `sigset_t`; sigprocmask allows a
        // null old-set pointer.  Only this forked child's mask changes.
        unsafe {
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR1);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
        q.notify(Notification::Signal {
            signo: libc::SIGUSR1,
            value: VALUE,
        })
        .map_err(|e| format!("notify: {e}"))?;
        ready.post();
        // SAFETY: `siginfo_t` is plain C data, for which all-zero is valid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let ts = libc::timespec {
            tv_sec: 20,
            tv_nsec: 0,
        };
        // SAFETY: `set`, `ts` are live and initialised, `info` is a live,
        // writable `siginfo_t`, as sigtimedwait requires.
        let sig = unsafe { libc::sigtimedwait(&set, &mut info, &ts) };
        if sig != libc::SIGUSR1 {
            return Err(format!(
                "sigtimedwait: {sig} {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: the union fields read are plain integers/pointers in `info`,
        // zeroed and then filled by the kernel (for SI_MESGQ: pid, uid, value).
        let (code, pid, suid, value) = unsafe {
            (
                info.si_code,
                info.si_pid(),
                info.si_uid(),
                info.si_value().sival_ptr as u64,
            )
        };
        if (code, pid, suid, value) != (SI_MESGQ, parent, uid, VALUE) {
            return Err(format!(
                "siginfo: code {code} pid {pid} uid {suid} value {value:#x}, \
                 want {SI_MESGQ} {parent} {uid} {VALUE:#x}"
            ));
        }
        // The registration is gone once it fired: registering works again.
        q.notify(Notification::None)
            .map_err(|e| format!("re-register: {e}"))?;
        q.remove_notification().map_err(|e| format!("remove: {e}"))
    });
    ready.wait();
    // The child is registered: this process cannot register.
    let busy = q.notify(Notification::Signal {
        signo: libc::SIGUSR2,
        value: 0,
    });
    f.q.send(b"ping", 0).unwrap();
    let verdict = child.join();
    assert_eq!(errno(busy), libc::EBUSY);
    verdict.unwrap();
    // The message is still queued (the notification takes nothing).
    assert_eq!(f.q.attributes().unwrap().cur_msgs, 1);
}

#[test]
fn poll_readiness() {
    require_device!();
    let f = fresh("poll", 2, 8);
    let both = PollFlags::IN | PollFlags::OUT;
    assert_eq!(ready(&f.q, both), PollFlags::OUT);
    f.q.send(b"1", 0).unwrap();
    assert_eq!(ready(&f.q, both), both);
    f.q.send(b"2", 0).unwrap();
    assert_eq!(ready(&f.q, both), PollFlags::IN);
    let mut buf = [0u8; 8];
    f.q.receive(&mut buf).unwrap();
    f.q.receive(&mut buf).unwrap();
    assert_eq!(ready(&f.q, both), PollFlags::OUT);

    // A poll that waits is woken by a send from another thread.
    let tx = f.q.try_clone().unwrap();
    let t = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        tx.send(b"later", 0).unwrap();
    });
    let mut fds = [PollFd::new(&f.q, PollFlags::IN)];
    let n = poll(&mut fds, None).unwrap();
    assert_eq!((n, fds[0].revents()), (1, PollFlags::IN));
    t.join().unwrap();
}

#[test]
fn fd_conversions() {
    require_device!();
    let f = fresh("fd", 2, 8);
    let fd: OwnedFd = f.q.try_clone().unwrap().into();
    let back = PosixQueue::from(fd);
    back.send(b"via fd", 2).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(f.q.receive(&mut buf).unwrap(), (6, 2));
}

/// A descriptor that is not a queue: EBADF, after the argument checks that
/// native makes first (EINVAL).  Needs no module: the crate sees that a
/// pipe is no file of the device when it wraps it, makes no call, and
/// answers as libripc does.
#[test]
fn not_a_queue_ebadf() {
    let mut p = [0; 2];
    // SAFETY: `p` is a writable `[c_int; 2]`, as pipe2 requires.
    assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: `p[0]` is the pipe's read end, just opened and owned by nothing
    // else; `q` takes it over (a non-queue descriptor is allowed: EBADF).
    let q = unsafe { <PosixQueue as std::os::fd::FromRawFd>::from_raw_fd(p[0]) };
    // SAFETY: `p[1]` is the pipe's write end, owned by nothing else; `_w` takes it.
    let _w = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(p[1]) };
    assert_eq!(errno(q.send(b"x", 0)), libc::EBADF);
    assert_eq!(errno(q.send(b"x", 40000)), libc::EINVAL);
    assert_eq!(errno(q.receive(&mut [0; 8])), libc::EBADF);
    let pre_epoch = SystemTime::UNIX_EPOCH - Duration::from_secs(1);
    assert_eq!(
        errno(q.receive_timeout(&mut [0; 8], pre_epoch)),
        libc::EINVAL
    );
    assert_eq!(errno(q.attributes()), libc::EBADF);
    assert_eq!(errno(q.set_nonblocking(true)), libc::EBADF);
    assert_eq!(
        errno(q.notify(Notification::Signal { signo: 0, value: 0 })),
        libc::EINVAL
    );
    assert_eq!(errno(q.notify(Notification::None)), libc::EBADF);
    assert_eq!(errno(q.remove_notification()), libc::EBADF);
}

/// Without the device node (a tmpfs over `/dev`, in a mount namespace of
/// its own, as a container given only descriptors) the device is known by
/// the number sysfs gives it: a queue's descriptor still works, another
/// file's is `EBADF` (it was `EINVAL`: the module's command went to that
/// file's driver).
#[test]
fn without_the_device_node_another_files_descriptor_is_ebadf() {
    require_device!();
    // SAFETY: no arguments.
    if unsafe { libc::geteuid() } != 0 {
        println!("skipped: not root");
        return;
    }
    let f = fresh("nonode", 2, 16);
    let rnd = OwnedFd::from(std::fs::File::open("/dev/urandom").expect("/dev/urandom"));
    // The queue's file as a descriptor the crate has not looked at: it
    // must tell it from the others by sysfs's number.
    let again = f.q.as_fd().try_clone_to_owned().expect("dup");
    let child = fork_child(|| {
        let c = |s: &str| std::ffi::CString::new(s).unwrap_or_default();
        let (root, dev, tmpfs) = (c("/"), c("/dev"), c("tmpfs"));
        // SAFETY: the strings are live and NUL-terminated (or null); only
        // this forked child's mount namespace changes.
        let ok = unsafe {
            libc::unshare(libc::CLONE_NEWNS) == 0
                && libc::mount(
                    std::ptr::null(),
                    root.as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ) == 0
                && libc::mount(
                    tmpfs.as_ptr(),
                    dev.as_ptr(),
                    tmpfs.as_ptr(),
                    0,
                    std::ptr::null(),
                ) == 0
        };
        if !ok {
            return Err(format!("mount: {}", std::io::Error::last_os_error()));
        }
        if std::path::Path::new("/dev/rust_ipc").exists() {
            return Err("the node is still there".into());
        }
        PosixQueue::from(again)
            .send(b"x", 1)
            .map_err(|e| format!("the queue's send: {e}"))?;
        let e = errno(PosixQueue::from(rnd).send(b"x", 0));
        if e != libc::EBADF {
            return Err(format!("another file's send: errno {e}, expected EBADF"));
        }
        Ok(())
    });
    child.join().unwrap();
    assert_eq!(f.q.attributes().unwrap().cur_msgs, 1);
}

/// A descriptor of another file whose driver answers an unknown ioctl with
/// EINVAL (an epoll instance, `/dev/urandom`): EBADF as natively, and the
/// module's commands never reach that driver.
#[test]
fn another_files_descriptor_is_ebadf() {
    // SAFETY: no pointer arguments; the result is checked below.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    assert!(ep >= 0);
    // SAFETY: `ep` was just opened and is owned by nothing else.
    let ep = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(ep) };
    let rnd = OwnedFd::from(std::fs::File::open("/dev/urandom").expect("/dev/urandom"));
    for fd in [ep, rnd] {
        let q = PosixQueue::from(fd);
        assert_eq!(errno(q.send(b"x", 0)), libc::EBADF);
        assert_eq!(errno(q.receive(&mut [0; 8])), libc::EBADF);
        assert_eq!(errno(q.attributes()), libc::EBADF);
        assert_eq!(errno(q.set_nonblocking(true)), libc::EBADF);
        assert_eq!(errno(q.notify(Notification::None)), libc::EBADF);
        assert_eq!(errno(q.stats()), libc::EBADF);
    }
}

#[test]
fn notify_fd_fires_once_and_is_pollable() {
    require_device!();
    let f = fresh("nfd", 4, 16);
    let q = &f.q;
    let n = rust_ipc::NotifyFd::new(true).expect("notify fd");
    assert_eq!(n.state().expect("state"), (false, 0));
    q.notify_fd(&n, 0xfeed).expect("register");
    assert_eq!(errno(q.notify_fd(&n, 1)), libc::EBUSY);
    assert_eq!(n.state().expect("state"), (true, 0));
    assert_eq!(ready(&n, PollFlags::IN), PollFlags::empty());
    assert_eq!(
        n.read().expect_err("nothing yet").kind(),
        ErrorKind::WouldBlock
    );
    q.send(b"m", 0).expect("send");
    assert_eq!(ready(&n, PollFlags::IN), PollFlags::IN);
    let r = n.read().expect("record");
    // SAFETY: getuid() has no preconditions.
    let uid = unsafe { libc::getuid() };
    assert_eq!(
        r,
        rust_ipc::NotifyRecord {
            value: 0xfeed,
            pid: std::process::id() as i32,
            uid,
        }
    );
    // One-shot.
    q.send(b"m", 0).expect("send");
    assert_eq!(
        n.read().expect_err("one-shot").kind(),
        ErrorKind::WouldBlock
    );
    assert_eq!(n.state().expect("state"), (false, 0));
    // Dropping the descriptor cancels a registration.
    let n2 = rust_ipc::NotifyFd::new(false).expect("notify fd");
    let mut buf = [0u8; 16];
    q.receive(&mut buf).expect("receive");
    q.receive(&mut buf).expect("receive");
    q.notify_fd(&n2, 1).expect("register");
    drop(n2);
    q.notify(Notification::None).expect("the queue is free");
}

#[test]
fn peek_in_receive_order_leaves_the_queue() {
    require_device!();
    let f = fresh("peek", 10, 6000);
    let q = &f.q;
    let big: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    for (msg, prio) in [(&b"low"[..], 1), (&big[..], 9), (b"mid", 5), (b"high", 9)] {
        q.send(msg, prio).unwrap();
    }
    let want: [(&[u8], u32); 4] = [(&big, 9), (b"high", 9), (b"mid", 5), (b"low", 1)];
    let mut buf = vec![0u8; 6000];
    for (pos, (msg, prio)) in want.iter().enumerate() {
        assert_eq!(q.peek(pos, &mut buf).unwrap(), (msg.len(), *prio));
        assert_eq!(&buf[..msg.len()], *msg);
    }
    assert_eq!(errno(q.peek(4, &mut buf)), libc::ENOMSG);
    assert_eq!(errno(q.peek(0, &mut buf[..4999])), libc::EMSGSIZE);
    let (mut a, mut b, mut c) = ([0u8; 5000], [0u8; 8], [0u8; 8]);
    let got = q
        .peek_many(1, &mut [&mut a[..], &mut b[..], &mut c[..]])
        .unwrap();
    assert_eq!(got, vec![(4, 9), (3, 5), (3, 1)]);
    assert_eq!(
        (&a[..4], &b[..3], &c[..3]),
        (&b"high"[..], &b"mid"[..], &b"low"[..])
    );
    assert_eq!(errno(q.peek_many(4, &mut [&mut a[..]])), libc::ENOMSG);
    // A write-only descriptor cannot peek.
    let wo = OpenOptions::new().write(true).open(&f.name).unwrap();
    assert_eq!(errno(wo.peek(0, &mut buf)), libc::EBADF);
    // Nothing moved.
    assert_eq!(q.attributes().unwrap().cur_msgs, 4);
    for (msg, prio) in want {
        assert_eq!(q.receive(&mut buf).unwrap(), (msg.len(), prio));
        assert_eq!(&buf[..msg.len()], msg);
    }
}

/// `stats`: exact counters after sends, a receive, a hand-off to a blocked
/// receiver and a failed send; `EBADF` on a write-only descriptor; the
/// owner's reset.
#[test]
fn statistics() {
    require_device!();
    let f = fresh("stats", 4, 64);
    let q = &f.q;
    q.send(b"one", 0).unwrap();
    q.send(b"three", 5).unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(q.receive(&mut buf).unwrap(), (5, 5));
    assert_eq!(errno(q.send(&[0; 65], 0)), libc::EMSGSIZE);
    let s = q.stats().unwrap();
    assert_eq!(
        (s.sent, s.sent_bytes, s.received, s.received_bytes),
        (2, 8, 1, 5)
    );
    assert_eq!((s.peak_msgs, s.peak_bytes, s.msgs, s.bytes), (2, 8, 1, 3));
    assert_eq!((s.handoffs, s.blocked_receives, s.timeouts), (0, 0, 0));
    assert!(s.last_send.is_some() && s.last_receive.is_some());
    assert!(s.last_handoff.is_none() && s.last_timeout.is_none());

    // A receiver that blocks gets the next message handed over.
    assert_eq!(q.receive(&mut buf).unwrap(), (3, 0));
    let receiver = {
        let r = q.try_clone().unwrap();
        thread::spawn(move || {
            let mut b = [0u8; 64];
            r.receive(&mut b).unwrap()
        })
    };
    while q.stats().unwrap().blocked_receives == 0 {
        thread::sleep(Duration::from_millis(5));
    }
    q.send(b"handed", 1).unwrap();
    assert_eq!(receiver.join().unwrap(), (6, 1));
    let s = q.stats().unwrap();
    assert_eq!(
        (s.sent, s.received, s.handoffs, s.blocked_receives),
        (3, 3, 1, 1)
    );
    assert_eq!((s.peak_msgs, s.msgs), (2, 0));
    assert_eq!(s.last_handoff, s.last_send);

    let wo = OpenOptions::new().write(true).open(&f.name).unwrap();
    assert_eq!(errno(wo.stats()), libc::EBADF);
    assert_eq!(q.reset_stats().unwrap(), s);
    assert_eq!(q.stats().unwrap(), rust_ipc::QueueStats::default());
    let table = rust_ipc::device::list_stats(rust_ipc::device::Listing::Posix).unwrap();
    let end = format!(" {}", f.name);
    assert!(table.lines().any(|l| l.ends_with(&end)), "{table}");
}

/// `set_mode` and `set_owner` (`fchmod`/`fchown` of the descriptor): a
/// user that may not open the queue may after a `set_mode`, owns it after a
/// `set_owner` (and then may change its mode), and may not give it away.
#[test]
fn set_mode_and_owner_change_who_may_open() {
    require_device!();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("skipped: not root");
        return;
    }
    let f = fresh("perm", 2, 16);
    let name = f.name.clone();
    let as_nobody = |f: fn(&str) -> Result<(), String>| {
        let name = name.clone();
        fork_child(move || {
            // SAFETY: plain calls with no pointers.
            if unsafe {
                libc::setgroups(0, core::ptr::null()) | libc::setgid(65534) | libc::setuid(65534)
            } != 0
            {
                return Err("setuid".into());
            }
            f(&name)
        })
        .join()
    };
    fn open(name: &str, read: bool) -> std::io::Result<PosixQueue> {
        OpenOptions::new().read(read).write(!read).open(name)
    }
    as_nobody(
        |n| match open(n, true).map(drop).map_err(|e| e.raw_os_error()) {
            Err(Some(libc::EACCES)) => Ok(()),
            r => Err(format!("open before set_mode: {r:?}")),
        },
    )
    .unwrap();
    f.q.set_mode(0o604).unwrap();
    as_nobody(|n| {
        let q = open(n, true).map_err(|e| format!("open: {e}"))?;
        match q.set_mode(0o666).map_err(|e| e.raw_os_error()) {
            Err(Some(libc::EPERM)) => Ok(()),
            r => Err(format!("set_mode by another user: {r:?}")),
        }
    })
    .unwrap();
    f.q.set_owner(Some(65534), None).unwrap();
    as_nobody(|n| {
        let q = open(n, true).map_err(|e| format!("open: {e}"))?;
        q.set_mode(0o600)
            .map_err(|e| format!("set_mode by the owner: {e}"))?;
        q.set_owner(None, Some(65534))
            .map_err(|e| format!("set_owner to its group: {e}"))?;
        match q.set_owner(Some(0), None).map_err(|e| e.raw_os_error()) {
            Err(Some(libc::EPERM)) => Ok(()),
            r => Err(format!("set_owner to root: {r:?}")),
        }
    })
    .unwrap();
}
