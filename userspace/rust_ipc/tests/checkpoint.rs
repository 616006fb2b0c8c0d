//! Dump and restore against the real module (skipped without
//! /dev/rust_ipc), in IPC namespaces of their own (a forked child).

mod common;

use common::{check, errno, fork_child, new_ipc_ns};
use rust_ipc::{device, OpenOptions, PosixQueue, RecvFlags, Search, SysvQueue};

#[test]
fn dump_then_restore_in_a_fresh_namespace() {
    require_device!();
    let child = fork_child(|| {
        new_ipc_ns()?;
        let e = |e: std::io::Error| e.to_string();
        let q = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .max_msgs(4)
            .msg_size(64)
            .open("/ckpt_crate")
            .map_err(e)?;
        q.send(b"one", 1).map_err(e)?;
        q.send(b"two", 7).map_err(e)?;
        let s = SysvQueue::get(0x7e5b_0001, 0o640 | rust_ipc::IPC_CREAT).map_err(e)?;
        s.send(3, b"typed", false).map_err(e)?;
        let stat = s.stat().map_err(e)?;
        let stream = device::dump().map_err(e)?;
        check(stream.starts_with(b"RIPCDUMP"), "magic")?;
        // Not into the namespace it came from.
        check(errno(device::restore(&stream)) == libc::EEXIST, "EEXIST")?;

        new_ipc_ns()?;
        let mut bad = stream.clone();
        bad[30] ^= 1;
        check(errno(device::restore(&bad)) == libc::EBADMSG, "EBADMSG")?;
        check(
            errno(device::restore(&stream[..stream.len() - 1])) == libc::EBADMSG,
            "truncated",
        )?;
        device::restore(&stream).map_err(e)?;
        let q = PosixQueue::open("/ckpt_crate").map_err(e)?;
        let mut buf = [0u8; 64];
        check(
            q.receive(&mut buf).map_err(e)? == (3, 7) && &buf[..3] == b"two",
            "two",
        )?;
        check(
            q.receive(&mut buf).map_err(e)? == (3, 1) && &buf[..3] == b"one",
            "one",
        )?;
        let s2 = SysvQueue::get(0x7e5b_0001, 0).map_err(e)?;
        check(s2 == s, "same id")?;
        // Every field but the last sender's and receiver's pids (0 now).
        let restored = s2.stat().map_err(e)?;
        check(restored.lspid == 0 && restored.lrpid == 0, "pids")?;
        let stat = rust_ipc::Stat {
            lspid: 0,
            lrpid: 0,
            ..stat
        };
        check(restored == stat, "same stat")?;
        let (n, t) = s2
            .receive(&mut buf, Search::Any, RecvFlags::NOWAIT)
            .map_err(e)?;
        check((&buf[..n], t) == (&b"typed"[..], 3), "typed")
    });
    child.join().unwrap();
}
