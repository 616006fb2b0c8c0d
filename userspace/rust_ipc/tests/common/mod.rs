//! Helpers shared by the integration tests.
//!
//! The tests talk to the real module.  On a machine without it (no
//! `/dev/rust_ipc`) each test prints "skipped: /dev/rust_ipc missing" and
//! returns, so `cargo test` passes there; `scripts/crate-test` runs them in
//! the project's VM, where the module is loaded.

#![allow(dead_code)]

use std::{
    io,
    sync::atomic::{AtomicU32, Ordering},
};

/// Returns from the test when the device is missing.
#[macro_export]
macro_rules! require_device {
    () => {
        if !rust_ipc::device::available() {
            println!("skipped: /dev/rust_ipc missing");
            return;
        }
    };
}

/// The errno of a failed call, with the call's result in the message.
#[track_caller]
pub fn errno<T: std::fmt::Debug>(r: io::Result<T>) -> i32 {
    match r {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e
            .raw_os_error()
            .unwrap_or_else(|| panic!("error without errno: {e}")),
    }
}

/// A queue name no other test (or run) uses.
pub fn unique_name(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "/rsipc_{tag}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A System V key no other test (or run) uses.
pub fn unique_key() -> i32 {
    static N: AtomicU32 = AtomicU32::new(1);
    let n = N.fetch_add(1, Ordering::Relaxed);
    (0x5200_0000 | ((std::process::id() & 0xffff) << 8) | (n & 0xff)) as i32
}

/// A forked child process running `f`, for what needs a process of its own
/// (process-directed signals, a second registrant): `join` returns `f`'s
/// verdict.  The child only runs `f` and `_exit`s; it reports through a
/// pipe, since the test harness's output capture is not for it.
pub struct Child {
    pid: libc::pid_t,
    report: libc::c_int,
}

pub fn fork_child(f: impl FnOnce() -> Result<(), String>) -> Child {
    let mut p = [0; 2];
    // SAFETY: `p` is a writable `[c_int; 2]`, as pipe2 requires.
    assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fork takes no pointers; the child runs only `f` and then
    // `_exit`s, never returning or unwinding into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", io::Error::last_os_error());
    if pid == 0 {
        // SAFETY: `p[0]` is the child's copy of the read end, owned by nothing
        // else and not used again in the child.
        unsafe { libc::close(p[0]) };
        let verdict = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .unwrap_or_else(|_| Err("child panicked".into()));
        let msg = match verdict {
            Ok(()) => String::new(),
            Err(m) => m,
        };
        // SAFETY: `msg` is live, its pointer readable for `msg.len()` bytes;
        // `p[1]` is the child's write end; `_exit` ends the child at once.
        unsafe {
            libc::write(p[1], msg.as_ptr().cast(), msg.len());
            libc::_exit(if msg.is_empty() { 0 } else { 1 });
        }
    }
    // SAFETY: `p[1]` is the parent's copy of the write end, owned by nothing
    // else and not used again here.
    unsafe { libc::close(p[1]) };
    Child { pid, report: p[0] }
}

impl Child {
    pub fn join(self) -> Result<(), String> {
        let mut msg = Vec::new();
        let mut buf = [0u8; 256];
        loop {
            // SAFETY: `buf` is a live, writable array of `buf.len()` bytes;
            // `self.report` is the read end this `Child` owns, still open.
            let n = unsafe { libc::read(self.report, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
            msg.extend_from_slice(&buf[..n as usize]);
        }
        // SAFETY: `self.report` is owned by `self`, which `join` consumes, so
        // it is closed once and not used again.
        unsafe { libc::close(self.report) };
        let mut status = 0;
        // SAFETY: `status` is a live, writable `c_int`; `self.pid` is this
        // `Child`'s process, reaped only here.
        assert_eq!(unsafe { libc::waitpid(self.pid, &mut status, 0) }, self.pid);
        if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 && msg.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "child failed (status {status:#x}): {}",
                String::from_utf8_lossy(&msg)
            ))
        }
    }
}

/// A pipe for a child to say it is ready.
pub struct Signal {
    r: libc::c_int,
    w: libc::c_int,
}

impl Signal {
    pub fn new() -> Signal {
        let mut p = [0; 2];
        // SAFETY: `p` is a writable `[c_int; 2]`, as pipe2 requires.
        assert_eq!(unsafe { libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        Signal { r: p[0], w: p[1] }
    }
    /// In the child.
    pub fn post(&self) {
        // SAFETY: `b"!"` is a static buffer readable for the 1 byte written;
        // `self.w` is the write end this `Signal` owns.
        unsafe { libc::write(self.w, b"!".as_ptr().cast(), 1) };
    }
    /// In the parent: waits for `post` (fails if the child exits first).
    pub fn wait(&mut self) {
        if self.w >= 0 {
            // SAFETY: `self.w` is the write end this `Signal` owns; it is set
            // to -1 right after, so it is never closed twice.
            unsafe { libc::close(self.w) };
            self.w = -1;
        }
        let mut b = 0u8;
        // SAFETY: `b` is a live, writable byte, the 1 byte read; `self.r` is
        // the read end this `Signal` owns.
        let n = unsafe { libc::read(self.r, (&mut b as *mut u8).cast(), 1) };
        assert_eq!(n, 1, "the child never posted");
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        // SAFETY: `self.r` and (when not -1) `self.w` are descriptors this
        // `Signal` owns, closed once, here, and not used after.
        unsafe {
            libc::close(self.r);
            if self.w >= 0 {
                libc::close(self.w);
            }
        }
    }
}

/// `unshare(CLONE_NEWIPC)` (in a forked child): a new IPC namespace
/// without queues, with the default limits.
pub fn new_ipc_ns() -> Result<(), String> {
    // SAFETY: `unshare` takes only flags and touches no memory of ours; it is
    // called in a forked child, so only that child's IPC namespace changes.
    if unsafe { libc::unshare(libc::CLONE_NEWIPC) } == 0 {
        Ok(())
    } else {
        Err(format!("unshare: {}", std::io::Error::last_os_error()))
    }
}

/// `Err(what)` unless `ok`, for a forked child's verdict.
pub fn check(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what.to_string())
    }
}
