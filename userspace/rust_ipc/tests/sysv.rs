//! System V queues against the real module (skipped without /dev/rust_ipc).

mod common;

use common::{check, errno, fork_child, new_ipc_ns, unique_key};
use rust_ipc::{RecvFlags, Search, SysvQueue, IPC_CREAT, IPC_EXCL};
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use std::{
    io::ErrorKind,
    thread,
    time::{Duration, Instant, SystemTime},
};

/// A private queue, removed when the guard drops.
struct Fresh(SysvQueue);

impl Drop for Fresh {
    fn drop(&mut self) {
        let _ = self.0.remove();
    }
}

fn fresh() -> Fresh {
    Fresh(SysvQueue::private(0o600).expect("msgget(IPC_PRIVATE)"))
}

/// Receives without waiting, as (text, mtype).
fn take(q: SysvQueue, search: Search) -> (String, i64) {
    let mut buf = [0u8; 64];
    let (n, t) = q.receive(&mut buf, search, RecvFlags::NOWAIT).unwrap();
    (String::from_utf8(buf[..n].to_vec()).unwrap(), t)
}

fn msg(text: &str, t: i64) -> (String, i64) {
    (text.to_string(), t)
}

#[test]
fn typed_receive_modes() {
    require_device!();
    let f = fresh();
    let q = f.0;
    for (t, text) in [
        (3, "a3"),
        (1, "b1"),
        (2, "c2"),
        (5, "d5"),
        (1, "e1"),
        (2, "f2"),
    ] {
        q.send(t, text.as_bytes(), false).unwrap();
    }
    // Type: the first of that type.
    assert_eq!(take(q, Search::Type(2)), msg("c2", 2));
    // Except: the first whose type differs.
    assert_eq!(take(q, Search::Except(3)), msg("b1", 1));
    // UpTo: the first of the lowest type <= t.
    assert_eq!(take(q, Search::UpTo(4)), msg("e1", 1));
    assert_eq!(take(q, Search::UpTo(4)), msg("f2", 2));
    assert_eq!(take(q, Search::UpTo(4)), msg("a3", 3));
    // No match: ENOMSG with NOWAIT.
    let mut buf = [0u8; 64];
    let r = q.receive(&mut buf, Search::UpTo(4), RecvFlags::NOWAIT);
    assert_eq!(errno(r), libc::ENOMSG);
    assert_eq!(
        errno(q.receive(&mut buf, Search::Type(9), RecvFlags::NOWAIT)),
        libc::ENOMSG
    );
    // Each search with t <= 0 is refused.
    for s in [
        Search::UpTo(0),
        Search::Type(0),
        Search::Type(-3),
        Search::Except(0),
        Search::Except(-1),
    ] {
        assert_eq!(
            errno(q.receive(&mut buf, s, RecvFlags::NOWAIT)),
            libc::EINVAL
        );
    }
    // Any: FIFO.
    assert_eq!(take(q, Search::Any), msg("d5", 5));
    assert_eq!(
        errno(q.receive(&mut buf, Search::Any, RecvFlags::NOWAIT)),
        libc::ENOMSG
    );
}

#[test]
fn send_errors_and_truncation() {
    require_device!();
    let f = fresh();
    let q = f.0;
    // mtype must be positive.
    assert_eq!(errno(q.send(0, b"x", true)), libc::EINVAL);
    assert_eq!(errno(q.send(-1, b"x", true)), libc::EINVAL);
    // Longer than msgmax.
    let msgmax = rust_ipc::device::version().unwrap().limits.msgmax as usize;
    assert_eq!(errno(q.send(1, &vec![0; msgmax + 1], true)), libc::EINVAL);
    q.send(1, &vec![7; msgmax], true).unwrap();
    let mut big = vec![0u8; msgmax];
    assert_eq!(
        q.receive(&mut big, Search::Any, RecvFlags::NOWAIT).unwrap(),
        (msgmax, 1)
    );
    assert!(big.iter().all(|&b| b == 7));

    // A message longer than the buffer: E2BIG and it stays, or truncated
    // with NOERROR.
    q.send(4, b"0123456789", true).unwrap();
    let mut small = [0u8; 4];
    assert_eq!(
        errno(q.receive(&mut small, Search::Any, RecvFlags::NOWAIT)),
        libc::E2BIG
    );
    assert_eq!(q.stat().unwrap().qnum, 1);
    let flags = RecvFlags::NOWAIT | RecvFlags::NOERROR;
    assert_eq!(q.receive(&mut small, Search::Any, flags).unwrap(), (4, 4));
    assert_eq!(&small, b"0123");
    assert_eq!(q.stat().unwrap().qnum, 0);
}

#[test]
fn full_queue_eagain_and_timeout() {
    require_device!();
    let f = fresh();
    let q = f.0;
    let mut st = q.stat().unwrap();
    st.qbytes = 16;
    q.set(&st).unwrap();
    q.send(1, &[1; 16], true).unwrap();
    let e = q.send(1, b"x", true).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EAGAIN));
    assert_eq!(e.kind(), ErrorKind::WouldBlock);
    let start = Instant::now();
    let deadline = SystemTime::now() + Duration::from_millis(100);
    assert_eq!(errno(q.send_timeout(1, b"x", deadline)), libc::ETIMEDOUT);
    assert!(start.elapsed() >= Duration::from_millis(90));

    let mut buf = [0u8; 16];
    q.receive(&mut buf, Search::Any, RecvFlags::empty())
        .unwrap();
    let start = Instant::now();
    let deadline = SystemTime::now() + Duration::from_millis(100);
    let r = q.receive_timeout(&mut buf, Search::Any, RecvFlags::empty(), deadline);
    assert_eq!(errno(r), libc::ETIMEDOUT);
    assert!(start.elapsed() >= Duration::from_millis(90));
}

#[test]
fn monotonic_deadlines() {
    require_device!();
    let f = fresh();
    let q = f.0;
    let mut buf = [0u8; 16];
    let ms = Duration::from_millis(30);
    let start = Instant::now();
    let r = q.receive_timeout(&mut buf, Search::Any, RecvFlags::empty(), ms);
    assert_eq!(errno(r), libc::ETIMEDOUT);
    assert!(start.elapsed() >= ms);
    let start = Instant::now();
    let r = q.receive_timeout(&mut buf, Search::Any, RecvFlags::empty(), start + ms);
    assert_eq!(errno(r), libc::ETIMEDOUT);
    assert!(start.elapsed() >= ms);
    let mut st = q.stat().unwrap();
    st.qbytes = 1;
    q.set(&st).unwrap();
    q.send(1, b"x", true).unwrap();
    let start = Instant::now();
    assert_eq!(errno(q.send_timeout(1, b"y", ms)), libc::ETIMEDOUT);
    assert!(start.elapsed() >= ms);
    let r = q.receive_timeout(&mut buf, Search::Any, RecvFlags::empty(), Duration::ZERO);
    assert_eq!(r.unwrap(), (1, 1));
}

#[test]
fn msg_copy() {
    require_device!();
    let f = fresh();
    let q = f.0;
    for (t, text) in [(1, "zero"), (2, "one"), (3, "two")] {
        q.send(t, text.as_bytes(), false).unwrap();
    }
    let mut buf = [0u8; 16];
    for (i, (t, text)) in [(1, "zero"), (2, "one"), (3, "two")]
        .into_iter()
        .enumerate()
    {
        let (n, mtype) = q.copy(i as i64, &mut buf, RecvFlags::empty()).unwrap();
        assert_eq!((&buf[..n], mtype), (text.as_bytes(), t));
    }
    // Past the end: ENOMSG; nothing was taken.
    assert_eq!(errno(q.copy(3, &mut buf, RecvFlags::empty())), libc::ENOMSG);
    assert_eq!(q.stat().unwrap().qnum, 3);
    // A short buffer: E2BIG; with NOERROR, EINVAL rather than a truncated
    // copy (native copy_msg() refuses a message longer than the copy).
    let mut small = [0u8; 2];
    assert_eq!(
        errno(q.copy(0, &mut small, RecvFlags::empty())),
        libc::E2BIG
    );
    assert_eq!(
        errno(q.copy(0, &mut small, RecvFlags::NOERROR)),
        libc::EINVAL
    );
    assert_eq!(q.copy(0, &mut buf, RecvFlags::NOERROR).unwrap(), (4, 1));
    assert_eq!(take(q, Search::Any), msg("zero", 1));
    assert_eq!(q.copy(0, &mut buf, RecvFlags::empty()).unwrap(), (3, 2));
}

#[test]
fn stat_counters() {
    require_device!();
    let key = unique_key();
    let q = SysvQueue::create(key, 0o640).unwrap();
    let _guard = Fresh(q);
    let pid = std::process::id() as i32;
    // SAFETY: geteuid and getegid have no preconditions and cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let limits = rust_ipc::device::version().unwrap().limits;

    let s = q.stat().unwrap();
    assert_eq!(s.key, key);
    assert_eq!(s.mode & 0o777, 0o640);
    assert_eq!((s.uid, s.gid, s.cuid, s.cgid), (uid, gid, uid, gid));
    assert_eq!(
        (s.qnum, s.cbytes, s.stime, s.rtime, s.lspid, s.lrpid),
        (0, 0, 0, 0, 0, 0)
    );
    assert!(s.ctime > 0);
    assert_eq!(s.qbytes, u64::from(limits.msgmnb));

    q.send(1, b"hello", false).unwrap();
    q.send(2, b"abc", false).unwrap();
    let s = q.stat().unwrap();
    assert_eq!(
        (s.qnum, s.cbytes, s.lspid, s.lrpid, s.rtime),
        (2, 8, pid, 0, 0)
    );
    assert!(s.stime > 0);

    let mut buf = [0u8; 8];
    q.receive(&mut buf, Search::Any, RecvFlags::empty())
        .unwrap();
    let s = q.stat().unwrap();
    assert_eq!((s.qnum, s.cbytes, s.lrpid), (1, 3, pid));
    assert!(s.rtime > 0);

    // IPC_SET: mode and capacity.
    let mut new = s;
    new.mode = 0o600;
    new.qbytes = 100;
    q.set(&new).unwrap();
    let s2 = q.stat().unwrap();
    assert_eq!((s2.mode & 0o777, s2.qbytes), (0o600, 100));
    assert!(s2.ctime >= s.ctime);

    // MSG_STAT by index finds the same queue.
    let max = SysvQueue::info().unwrap().max_index;
    let found = (0..=max)
        .filter_map(|i| SysvQueue::stat_index(i, false).ok())
        .find(|(fq, _)| *fq == q);
    let (_, st) = found.expect("MSG_STAT finds the queue");
    assert_eq!((st.key, st.qnum), (key, 1));
}

#[test]
fn get_create_eexist_enoent() {
    require_device!();
    let key = unique_key();
    let e = SysvQueue::get(key, 0).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let q = SysvQueue::create(key, 0o600).unwrap();
    let _guard = Fresh(q);
    let e = SysvQueue::create(key, 0o600).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EEXIST));
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert_eq!(
        errno(SysvQueue::get(key, IPC_CREAT | IPC_EXCL | 0o600)),
        libc::EEXIST
    );
    assert_eq!(SysvQueue::get(key, 0).unwrap(), q);
    assert_eq!(SysvQueue::get(key, IPC_CREAT | 0o600).unwrap(), q);
    assert_eq!(SysvQueue::from_id(q.id()), q);
    // Private queues are always new.
    let a = fresh();
    let b = fresh();
    assert_ne!(a.0, b.0);
}

#[test]
fn remove_then_einval() {
    require_device!();
    let q = SysvQueue::private(0o600).unwrap();
    q.send(1, b"gone soon", false).unwrap();
    q.remove().unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(errno(q.send(1, b"x", true)), libc::EINVAL);
    assert_eq!(
        errno(q.receive(&mut buf, Search::Any, RecvFlags::NOWAIT)),
        libc::EINVAL
    );
    assert_eq!(errno(q.copy(0, &mut buf, RecvFlags::empty())), libc::EINVAL);
    assert_eq!(errno(q.stat()), libc::EINVAL);
    assert_eq!(errno(q.set(&Default::default())), libc::EINVAL);
    assert_eq!(errno(q.remove()), libc::EINVAL);
    assert_eq!(errno(q.watch()), libc::EINVAL);
}

#[test]
fn remove_wakes_waiters_eidrm() {
    require_device!();
    let q = SysvQueue::private(0o600).unwrap();
    let t = thread::spawn(move || {
        let mut buf = [0u8; 8];
        q.receive(&mut buf, Search::Type(42), RecvFlags::empty())
    });
    thread::sleep(Duration::from_millis(100));
    q.remove().unwrap();
    assert_eq!(errno(t.join().unwrap()), libc::EIDRM);
}

#[test]
fn blocked_receiver_gets_its_type() {
    require_device!();
    let f = fresh();
    let q = f.0;
    let t = thread::spawn(move || {
        let mut buf = [0u8; 8];
        let (n, mtype) = q
            .receive(&mut buf, Search::Type(2), RecvFlags::empty())
            .unwrap();
        (buf[..n].to_vec(), mtype)
    });
    thread::sleep(Duration::from_millis(50));
    q.send(1, b"not me", false).unwrap();
    q.send(2, b"me", false).unwrap();
    assert_eq!(t.join().unwrap(), (b"me".to_vec(), 2));
    assert_eq!(take(q, Search::Any), msg("not me", 1));
}

/// `set_limits_fields`: an unknown bit or a value outside its native range
/// is `EINVAL` for the namespace's root (`EPERM` for anyone else, checked
/// first, as writing the sysctl), and nothing changes; the fields the mask
/// names are set, and only those (as root, in an IPC namespace of its own,
/// so that no other test sees its limits).
#[test]
fn set_limits_fields_checks_the_mask_and_the_ranges() {
    require_device!();
    use rust_ipc::{
        device::{set_limits_fields as set, version, Limits},
        uapi::{RIPC_LIMIT_MSGMAX as MSGMAX, RIPC_LIMIT_MSGMNI as MSGMNI},
    };
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let refused = Some(if root { libc::EINVAL } else { libc::EPERM });
    let child = fork_child(move || {
        if root {
            new_ipc_ns()?;
        }
        let now = || version().map(|v| v.limits).map_err(|e| e.to_string());
        let e = |r: std::io::Result<()>| r.err().and_then(|e| e.raw_os_error());
        let l = now()?;
        check(e(set(&l, 1 << 8)) == refused, "an unknown bit")?;
        let bad = Limits { msgmni: 32769, ..l };
        check(e(set(&bad, MSGMNI as u32)) == refused, "msgmni 32769")?;
        check(now()? == l, "a refused call changed the limits")?;
        if !root {
            return Ok(());
        }
        // Both fields differ; the mask names one, then the other.
        let new = Limits {
            msgmni: l.msgmni - 1,
            msgmax: l.msgmax / 2,
            ..l
        };
        set(&new, MSGMNI as u32).map_err(|e| e.to_string())?;
        check(
            now()?
                == Limits {
                    msgmni: l.msgmni - 1,
                    ..l
                },
            "msgmni alone",
        )?;
        set(&new, (MSGMAX | MSGMNI) as u32).map_err(|e| e.to_string())?;
        check(now()? == new, "msgmax and msgmni")
    });
    child.join().unwrap();
}

/// The process-wide descriptor of the device is out of the program's way
/// (512 and up, as libripc's), and a program that closes it anyway
/// (`close_range`), or puts another file at its number (`dup2`), does not
/// break the calls made on it: the crate opens another, and leaves the
/// other file alone.
#[test]
fn the_process_wide_descriptor_is_high_and_comes_back_when_closed() {
    require_device!();
    // The numbers of this process's descriptors of the device.
    fn device_fds() -> Vec<i32> {
        let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
            return Vec::new();
        };
        dir.filter_map(|e| {
            let e = e.ok()?;
            let to = std::fs::read_link(e.path()).ok()?;
            (to == std::path::Path::new("/dev/rust_ipc"))
                .then(|| e.file_name().to_str()?.parse().ok())
                .flatten()
        })
        .collect()
    }
    let child = fork_child(|| {
        let s = |e: std::io::Error| e.to_string();
        let q = SysvQueue::private(0o600).map_err(s)?;
        let r = (|| {
            let fds = device_fds();
            check(
                !fds.is_empty() && fds.iter().all(|&fd| fd >= 512),
                &format!("device descriptors {fds:?}"),
            )?;
            // From 512 up: the crate's descriptor (the child's report pipe,
            // low, stays).
            // SAFETY: close_range takes no pointers; only this child's
            // descriptors from 512 on are closed (no other thread runs here).
            if unsafe { libc::syscall(libc::SYS_close_range, 512u32, u32::MAX, 0u32) } != 0 {
                return Err(format!("close_range: {}", std::io::Error::last_os_error()));
            }
            q.send(1, b"after close_range", false).map_err(s)?;
            let fds = device_fds();
            check(
                fds.len() == 1 && fds[0] >= 512,
                &format!("reopened {fds:?}"),
            )?;
            let null = std::fs::File::open("/dev/null").map_err(s)?;
            // SAFETY: dup2 takes no pointers; the number is the crate's
            // descriptor, which this test replaces on purpose.
            if unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), fds[0]) } != fds[0] {
                return Err(format!("dup2: {}", std::io::Error::last_os_error()));
            }
            let mut buf = [0u8; 64];
            let (n, t) = q
                .receive(&mut buf, Search::Any, RecvFlags::NOWAIT)
                .map_err(s)?;
            check(
                (&buf[..n], t) == (&b"after close_range"[..], 1),
                "the message",
            )?;
            let at = std::fs::read_link(format!("/proc/self/fd/{}", fds[0])).map_err(s)?;
            check(
                at == std::path::Path::new("/dev/null"),
                "the program's file was left",
            )
        })();
        q.remove().map_err(s)?;
        r
    });
    child.join().unwrap();
}

#[test]
fn info_and_usage() {
    require_device!();
    let limits = rust_ipc::device::version().unwrap().limits;
    let info = SysvQueue::info().unwrap();
    assert_eq!(info.msgmax, limits.msgmax as i32);
    assert_eq!(info.msgmnb, limits.msgmnb as i32);
    assert_eq!(info.msgmni, limits.msgmni as i32);
    let f = fresh();
    f.0.send(1, b"12345", false).unwrap();
    let usage = SysvQueue::usage().unwrap();
    assert!(usage.msgpool >= 1, "{usage:?}");
    assert!(usage.msgmap >= 1, "{usage:?}");
    assert!(usage.msgtql >= 5, "{usage:?}");
    assert!(usage.max_index >= 0);
}

#[test]
fn watch_poll() {
    require_device!();
    let q = SysvQueue::private(0o600).unwrap();
    let w = q.watch().unwrap();
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let revents = |want: PollFlags| {
        let mut fds = [PollFd::new(&w, want)];
        poll(&mut fds, Some(&zero)).unwrap();
        fds[0].revents()
    };
    let both = PollFlags::IN | PollFlags::OUT;
    assert_eq!(revents(both), PollFlags::OUT);
    q.send(1, b"x", false).unwrap();
    assert_eq!(revents(both), both);
    q.remove().unwrap();
    let r = revents(PollFlags::IN);
    assert!(r.contains(PollFlags::HUP | PollFlags::ERR), "{r:?}");
}

#[test]
fn listing_shows_queue() {
    require_device!();
    let key = unique_key();
    let q = SysvQueue::create(key, 0o600).unwrap();
    let _guard = Fresh(q);
    let text = rust_ipc::device::list(rust_ipc::device::Listing::Sysv).unwrap();
    // Its row: the key and the id, the first two columns.
    let (key, id) = (key.to_string(), q.id().to_string());
    let row = |l: &str| {
        let mut f = l.split_whitespace();
        f.next() == Some(key.as_str()) && f.next() == Some(id.as_str())
    };
    assert!(text.lines().any(row), "{text}");
}

/// `stats`: exact counters after sends, a receive and a timeout; the
/// listing has the queue; a reset zeroes them; a removed id is `EINVAL`.
#[test]
fn statistics() {
    require_device!();
    let f = fresh();
    let q = f.0;
    let before = SystemTime::now();
    q.send(1, b"abc", false).unwrap();
    q.send(2, b"defgh", false).unwrap();
    assert_eq!(take(q, Search::Type(2)), msg("defgh", 2));
    let mut buf = [0u8; 8];
    let soon = SystemTime::now() + Duration::from_millis(20);
    let e = q.receive_timeout(&mut buf, Search::Type(9), RecvFlags::empty(), soon);
    assert_eq!(errno(e), libc::ETIMEDOUT);
    let s = q.stats().unwrap();
    assert_eq!(
        (s.sent, s.sent_bytes, s.received, s.received_bytes),
        (2, 8, 1, 5)
    );
    assert_eq!((s.handoffs, s.blocked_sends, s.blocked_receives), (0, 0, 1));
    assert_eq!((s.timeouts, s.peak_msgs, s.peak_bytes), (1, 2, 8));
    assert_eq!((s.msgs, s.bytes), (1, 3));
    let slack = Duration::from_millis(200);
    let sent = s.last_send.expect("a send");
    assert!(sent + slack >= before && sent <= SystemTime::now() + slack);
    assert!(s.last_timeout.is_some() && s.last_handoff.is_none());
    let table = rust_ipc::device::list_stats(rust_ipc::device::Listing::Sysv).unwrap();
    assert!(table.starts_with("sent sent_bytes "));
    let end = format!(" 0 {}", q.id());
    assert!(table.lines().any(|l| l.ends_with(&end)), "{table}");
    assert_eq!(q.reset_stats().unwrap(), s);
    let z = q.stats().unwrap();
    assert_eq!(
        (z.sent, z.received, z.peak_msgs, z.peak_bytes),
        (0, 0, 1, 3)
    );
    q.remove().unwrap();
    assert_eq!(errno(q.stats()), libc::EINVAL);
}

/// The process's pinned memory (`VmPin` of /proc/self/status), in kB.
fn vm_pin_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmPin:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A blocked receive of 8 KiB hands its buffer to the module (pinned while
/// it sleeps), so that a sender copies once, straight into it, as a C
/// caller's `msgrcv`: the crate's room for the mtype is memory that is
/// there, not a fresh allocation that the module cannot pin.  The bytes
/// and the type arrive exactly; the queue counts one hand-off.
#[test]
fn a_blocked_receive_takes_the_one_copy_way() {
    require_device!();
    let f = fresh();
    let q = f.0;
    assert_eq!(vm_pin_kb(), 0);
    let receiver = thread::spawn(move || {
        let mut buf = vec![0u8; 8192];
        let (n, t) = q
            .receive(&mut buf, Search::Any, RecvFlags::empty())
            .unwrap();
        (buf[..n].to_vec(), t)
    });
    let start = Instant::now();
    while vm_pin_kb() == 0 && start.elapsed() < Duration::from_secs(10) {
        thread::sleep(Duration::from_millis(5));
    }
    assert!(vm_pin_kb() >= 8, "VmPin {} kB", vm_pin_kb());
    let text: Vec<u8> = (0..8192u32).map(|i| (i * 7 + 3) as u8).collect();
    q.send(42, &text, false).unwrap();
    assert_eq!(receiver.join().unwrap(), (text, 42));
    assert_eq!(vm_pin_kb(), 0);
    let s = q.stats().unwrap();
    assert_eq!((s.sent, s.received, s.handoffs), (1, 1, 1));
}

/// A buffer far larger than any message (1 TiB, never touched): a send of
/// it is `EINVAL` and a receive into it from an empty queue `ENOMSG`, as
/// natively, not `ENOMEM` (nor a copy of it); a message received into it
/// arrives whole, and nothing past it is written.
#[test]
fn a_buffer_larger_than_any_message_costs_what_the_message_does() {
    require_device!();
    let f = fresh();
    let q = f.0;
    let len = 1usize << 40;
    // SAFETY: a new anonymous mapping at an address the kernel chooses.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        // `vm.overcommit_memory` 2 charges even `MAP_NORESERVE` mappings
        // (and the crate's own scratch mapping: ENOMEM there).
        let e = std::io::Error::last_os_error();
        assert_eq!(e.raw_os_error(), Some(libc::ENOMEM), "mmap");
        eprintln!("skipped: no 1 TiB mapping ({e})");
        return;
    }
    // SAFETY: the mapping is `len` bytes, zero-filled, used only here.
    let big = unsafe { std::slice::from_raw_parts_mut(p.cast::<u8>(), len) };
    assert_eq!(errno(q.send(1, big, true)), libc::EINVAL);
    assert_eq!(
        errno(q.receive(big, Search::Any, RecvFlags::NOWAIT)),
        libc::ENOMSG
    );
    let text: Vec<u8> = (0..8192u32).map(|i| (i % 251) as u8).collect();
    q.send(7, &text, true).unwrap();
    big[8192] = 0x5a;
    let (n, t) = q.receive(big, Search::Any, RecvFlags::NOWAIT).unwrap();
    assert_eq!((n, t), (8192, 7));
    assert_eq!(&big[..8192], &text[..]);
    assert_eq!(big[8192], 0x5a);
    // SAFETY: `big` is not used after this.
    assert_eq!(unsafe { libc::munmap(p, len) }, 0);
}
