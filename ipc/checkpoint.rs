// SPDX-License-Identifier: GPL-2.0

//! Checkpoint and restore of an IPC namespace's queues (`RIPC_IOC_DUMP`,
//! `RIPC_IOC_RESTORE`), in the stream format the uapi header describes.
//!
//! A dump writes each family's queues under that family's table lock and
//! each queue's lock, a part of a large queue's messages at a time
//! ([`queue_record`]; [`mqueue::dump`], [`sysv::dump`]) through a
//! [`Writer`] that holds one page of the stream and copies it out without
//! page faults: a page of the buffer that is not there is faulted in after
//! the locks are dropped, and the dump starts again ([`dump`]), so no
//! lock waits on the caller's memory (a `userfaultfd` or FUSE mapping).
//! After [`NOFAULT_PASSES`] such passes (pages that keep going away:
//! reclaim, writeback, another thread of the caller), a pass keeps the
//! stream in kernel memory (charged to the caller, allocated before the
//! locks) and copies it out once they are dropped, with page faults: a
//! dump ends, and no pass faults or allocates under a lock.  A restore reads the
//! stream twice: once to check its frame and checksum a page at a time
//! ([`verify`]), once to build every queue and message aside, unseen
//! ([`mqueue::Restore`], [`sysv::Restore`]); only then are both families'
//! tables put in place, under their locks, if the namespace has no queue.
//! Any failure before that drops what was built: nothing is created.

#![deny(unsafe_code)]

use crate::ipc::{
    defs::*,
    kernel_api,
    lock::QueueLock,
    mqueue,
    msg::Msg,
    ns::Ns,
    sysv,
    tracked::{Tracked, Walk, Walked},
};
use kernel::{
    alloc::KVVec,
    page::PAGE_SIZE,
    prelude::*,
    transmute::FromBytes,
    uaccess::{UserPtr, UserSlice},
};

const MAGIC: &[u8; 8] = b"RIPCDUMP";
const END_MAGIC: &[u8; 8] = b"RIPCEND\0";
const HEADER_LEN: u64 = 16;
const TRAILER_LEN: u64 = 24;
/// A message's header in the stream (type, length).
pub(crate) const MSG_HEAD: u64 = 16;

/// The stream being written to the caller's buffer, a page at a time:
/// bytes past the buffer's end are only counted (and checksummed).
pub(crate) struct Writer {
    buf: u64,
    len: u64,
    /// Bytes of the stream before `page`.
    pos: u64,
    crc: u32,
    page: KVec<u8>,
    /// Where the buffer first faulted: from there on, bytes are only
    /// counted, as past its end.
    fault: Option<u64>,
    /// The stream of a pass that keeps it, as much of it as the buffer
    /// holds, kept here under the locks (in room allocated before them) and
    /// copied out after them.
    kept: Option<KVVec<u8>>,
    /// The kept stream outgrew its room (the queues grew): only counted.
    outgrown: bool,
    /// `page` as it was at the last [`Writer::spot`].
    spot_page: KVec<u8>,
}

/// Where a queue's record starts in the stream, to write it again from
/// there ([`Writer::rewind`]) when its queue changed while it was written.
struct Spot {
    pos: u64,
    crc: u32,
    kept: usize,
    fault: Option<u64>,
    outgrown: bool,
}

/// Passes of a dump that copy straight to the buffer, without page faults,
/// before those that keep the stream in kernel memory (each pass faults
/// in what the last one missed).
const NOFAULT_PASSES: u32 = 4;

/// Passes that keep the stream, each with room for the last one's and an
/// eighth more, before a dump whose queues keep growing gives up
/// (`EAGAIN`).
const KEPT_PASSES: u32 = 3;

impl Writer {
    /// A pass's writer; `keep`: one that keeps the stream, with room for
    /// `expect` bytes and an eighth more (as much as the buffer holds),
    /// charged to the caller.
    fn new(buf: u64, len: u64, keep: Option<u64>) -> Result<Self> {
        let kept = match keep {
            Some(expect) => {
                let room = expect.saturating_add(expect / 8).min(len);
                let n = usize::try_from(room).map_err(|_| ENOMEM)?;
                Some(KVVec::with_capacity(n, GFP_KERNEL_ACCOUNT | __GFP_NOWARN)?)
            }
            None => None,
        };
        Ok(Writer {
            buf,
            len,
            pos: 0,
            crc: !0,
            page: KVec::with_capacity(PAGE_SIZE, GFP_KERNEL)?,
            fault: None,
            kept,
            outgrown: false,
            spot_page: KVec::with_capacity(PAGE_SIZE, GFP_KERNEL)?,
        })
    }

    /// Where the stream is now.
    fn spot(&mut self) -> Result<Spot> {
        self.spot_page.clear();
        // Within its capacity (a page): nothing is allocated.
        self.spot_page.extend_from_slice(&self.page, GFP_KERNEL)?;
        Ok(Spot {
            pos: self.pos,
            crc: self.crc,
            kept: self.kept.as_ref().map_or(0, |k| k.len()),
            fault: self.fault,
            outgrown: self.outgrown,
        })
    }

    /// Takes the stream back to `at`, the last [`Writer::spot`]: what was
    /// written to the buffer since is written again.
    fn rewind(&mut self, at: Spot) -> Result {
        self.page.clear();
        // Within its capacity (a page): nothing is allocated.
        self.page.extend_from_slice(&self.spot_page, GFP_KERNEL)?;
        if let Some(k) = self.kept.as_mut() {
            k.truncate(at.kept);
        }
        (self.pos, self.crc, self.fault, self.outgrown) = (at.pos, at.crc, at.fault, at.outgrown);
        Ok(())
    }

    pub(crate) fn put(&mut self, mut b: &[u8]) -> Result {
        self.crc = kernel_api::crc32(self.crc, b);
        while !b.is_empty() {
            let room = PAGE_SIZE - self.page.len();
            if room == 0 {
                self.flush()?;
                continue;
            }
            let (now, rest) = b.split_at(b.len().min(room));
            // Within the page's capacity: nothing is allocated.
            self.page.extend_from_slice(now, GFP_KERNEL)?;
            b = rest;
        }
        Ok(())
    }

    pub(crate) fn u32(&mut self, v: u32) -> Result {
        self.put(&v.to_le_bytes())
    }

    pub(crate) fn i32(&mut self, v: i32) -> Result {
        self.put(&v.to_le_bytes())
    }

    pub(crate) fn u64(&mut self, v: u64) -> Result {
        self.put(&v.to_le_bytes())
    }

    pub(crate) fn i64(&mut self, v: i64) -> Result {
        self.put(&v.to_le_bytes())
    }

    /// A record's header: its kind and the length of its body.
    pub(crate) fn record(&mut self, kind: u32, body: u64) -> Result {
        self.u32(kind)?;
        self.u32(0)?;
        self.u64(body)
    }

    /// A message: its type or priority, its length, its text.
    pub(crate) fn msg(&mut self, m: &Msg) -> Result {
        self.i64(m.mtype())?;
        self.u64(m.len() as u64)?;
        m.segs().try_for_each(|s| self.put(s))
    }

    /// Copies the page out, as much of it as the buffer holds, without a
    /// page fault (under the table and queue locks); from a page that is
    /// not there on, it only counts.  The last pass keeps it instead.
    fn flush(&mut self) -> Result {
        let n = self.page.len();
        let fits = (self.len.saturating_sub(self.pos) as usize).min(n);
        if let Some(part) = self.page.get(..fits).filter(|p| !p.is_empty()) {
            let at = self.buf.wrapping_add(self.pos);
            if let Some(kept) = self.kept.as_mut() {
                // Under the locks, nothing is allocated: within its room,
                // else it only counts from here.
                let room = kept.capacity() - kept.len();
                if self.outgrown || part.len() > room {
                    self.outgrown = true;
                } else {
                    kept.extend_from_slice(part, GFP_NOWAIT)?;
                }
            } else if self.fault.is_none() && kernel_api::copy_to_user_nofault(at, part).is_err() {
                self.fault = Some(at);
            }
        }
        self.pos += n as u64;
        self.page.clear();
        Ok(())
    }

    /// The trailer; returns the stream's length.
    fn finish(&mut self) -> Result<u64> {
        let total = self.pos + self.page.len() as u64 + TRAILER_LEN;
        self.put(END_MAGIC)?;
        self.u64(total)?;
        self.u32(0)?;
        let crc = !self.crc;
        self.u32(crc)?;
        self.flush()?;
        Ok(total)
    }
}

/// Bytes of messages (their text and 16-byte heads in the stream) that a
/// dump writes under a queue's lock before it drops the lock (after the
/// message that reaches them) and takes it again, so that a large queue's
/// record does not keep the lock, and preemption off, for the whole queue:
/// as much as a one-copy send copies under it ([`DIRECT_TEXT_MAX`]), and at
/// most one message more, as native's `msgrcv(MSG_COPY)` copies one
/// message under its lock.
///
/// [`DIRECT_TEXT_MAX`]: crate::ipc::engine::DIRECT_TEXT_MAX
const HOLD: usize = 64 << 10;

/// Times a queue's record is written again because the queue changed while
/// its lock was dropped, before the dump gives up (`EAGAIN`).
const RECORD_TRIES: u32 = 8;

/// One queue's record: its head, written by `head` under the queue's lock,
/// then its messages (`msgs`), [`HOLD`] bytes at a time under the lock.  If
/// the messages changed while the lock was dropped, the record is written
/// again from its start, so that it is the queue as it was at one moment.
pub(crate) fn queue_record<S, T: Walk>(
    w: &mut Writer,
    lock: &QueueLock<S>,
    msgs: impl Fn(&S) -> &Tracked<T>,
    mut head: impl FnMut(&S, &mut Writer) -> Result,
) -> Result {
    for _ in 0..RECORD_TRIES {
        let start = w.spot()?;
        let mut g = lock.lock();
        head(&g, w)?;
        let mut from = None;
        loop {
            let mut left = HOLD;
            let walked = msgs(&g).walk_from(from.as_ref(), |m| {
                w.msg(m)?;
                left = left.saturating_sub(MSG_HEAD as usize + m.len());
                Ok(left > 0)
            })?;
            match walked {
                Walked::All => return Ok(()),
                Walked::Stopped(mark) => from = Some(mark),
                Walked::Changed => break,
            }
            drop(g);
            kernel_api::cond_resched();
            g = lock.lock();
        }
        drop(g);
        w.rewind(start)?;
        kernel_api::cond_resched();
    }
    Err(EAGAIN)
}

/// A restore's view of a part of the stream in user memory, from `at` to
/// `end`: every read past `end` is `EBADMSG` (a truncated record).
pub(crate) struct Reader {
    at: u64,
    end: u64,
}

impl Reader {
    /// The `len` bytes at `at` (which the caller checked do not wrap).
    fn new(at: u64, len: u64) -> Self {
        Reader { at, end: at + len }
    }

    fn take<T: FromBytes>(&mut self) -> Result<T> {
        let v = read_user(self.skip(size_of::<T>() as u64)?)?;
        Ok(v)
    }

    pub(crate) fn u32(&mut self) -> Result<u32> {
        self.take::<[u8; 4]>().map(u32::from_le_bytes)
    }

    pub(crate) fn i32(&mut self) -> Result<i32> {
        self.take::<[u8; 4]>().map(i32::from_le_bytes)
    }

    pub(crate) fn u64(&mut self) -> Result<u64> {
        self.take::<[u8; 8]>().map(u64::from_le_bytes)
    }

    pub(crate) fn i64(&mut self) -> Result<i64> {
        self.take::<[u8; 8]>().map(i64::from_le_bytes)
    }

    /// Passes over `n` bytes; returns their user address.
    pub(crate) fn skip(&mut self, n: u64) -> Result<u64> {
        if n > self.end.saturating_sub(self.at) {
            return Err(EBADMSG);
        }
        let at = self.at;
        self.at += n;
        Ok(at)
    }

    /// The next `n` bytes (a name: the caller bounds `n`).
    pub(crate) fn bytes(&mut self, n: usize) -> Result<KVec<u8>> {
        let at = self.skip(n as u64)?;
        let mut v = KVec::from_elem(0u8, n, GFP_KERNEL_ACCOUNT)?;
        UserSlice::new(UserPtr::from_addr(at as usize), n)
            .reader()
            .read_slice(&mut v)?;
        Ok(v)
    }

    /// A message, loaded as a send loads it: its type or priority (the
    /// caller checks it) and at most `max` bytes (else `too_long`).
    /// A stream of many messages takes long: a signal ends it (`EINTR`).
    pub(crate) fn msg(&mut self, max: usize, too_long: Error) -> Result<Msg> {
        let mtype = self.i64()?;
        let len = self.u64()?;
        let at = self.skip(len)?;
        if len > max as u64 {
            return Err(too_long);
        }
        kernel_api::cond_resched();
        if kernel::current!().signal_pending() {
            return Err(EINTR);
        }
        Msg::load(at, len as usize, mtype, None)
    }

    /// The next record (its kind and body), `None` at the end.
    fn record(&mut self) -> Result<Option<(u32, Reader)>> {
        if self.at == self.end {
            return Ok(None);
        }
        let kind = self.u32()?;
        if self.u32()? != 0 {
            return Err(EBADMSG);
        }
        let len = self.u64()?;
        let at = self.skip(len)?;
        Ok(Some((kind, Reader::new(at, len))))
    }

    /// A record must be read whole.
    fn done(&self) -> Result {
        if self.at == self.end {
            Ok(())
        } else {
            Err(EBADMSG)
        }
    }
}

/// Dumping and restoring need `CAP_CHECKPOINT_RESTORE` or `CAP_SYS_ADMIN`
/// over the user namespace that owns the IPC namespace (and a dump, read
/// permission on every queue: [`mqueue::dump`], [`sysv::dump`]).
fn allowed(ns: &Ns) -> Result {
    if ns.sysv.checkpoint_capable(true) {
        Ok(())
    } else {
        Err(EPERM)
    }
}

/// `RIPC_IOC_DUMP`: returns the stream's length.
pub(crate) fn dump(ns: &Ns, a: &ripc_dump) -> Result<u64> {
    allowed(ns)?;
    // A buffer past the end of the address space faults as a copy would.
    let buf_end = a.buf.checked_add(a.buf_len).ok_or(EFAULT)?;
    let mut keep = None;
    for pass in 1..=NOFAULT_PASSES + KEPT_PASSES {
        let mut w = Writer::new(a.buf, a.buf_len, keep)?;
        w.put(MAGIC)?;
        w.u32(RIPC_DUMP_VERSION)?;
        w.u32(HEADER_LEN as u32)?;
        mqueue::dump(&ns.mq, &mut w)?;
        sysv::dump(&ns.sysv, &mut w)?;
        let total = w.finish()?;
        if let Some(kept) = w.kept.take() {
            if w.outgrown {
                keep = Some(total);
                continue;
            }
            // No lock is held: a copy that may fault (and wait: a signal
            // then ends it as a signal ends the passes above).
            let copied = UserSlice::new(UserPtr::from_addr(a.buf as usize), kept.len())
                .writer()
                .write_slice(&kept);
            if copied.is_err() && kernel::current!().signal_pending() {
                return Err(ERESTARTSYS);
            }
            return copied.map(|()| total);
        }
        let Some(at) = w.fault else {
            return Ok(total);
        };
        // No lock is held here: the rest of the stream's part of the
        // buffer is faulted in (a wait is the caller's alone), and the
        // dump starts again, as the queues may have changed meanwhile.
        // `at` is below both ends (a page was to go there).
        let end = buf_end.min(a.buf.wrapping_add(total));
        let faulted = kernel_api::fault_in_writeable(at, end.saturating_sub(at));
        if kernel::current!().signal_pending() {
            return Err(ERESTARTSYS);
        }
        if !faulted {
            return Err(EFAULT);
        }
        if pass >= NOFAULT_PASSES {
            keep = Some(total);
        }
    }
    Err(EAGAIN)
}

/// The stream's frame: its header (`EINVAL` if it is not a stream of this
/// version), its trailer and its checksum (`EBADMSG`), read a page at a
/// time before anything in it is believed.
fn verify(buf: u64, len: u64) -> Result {
    // What there is of the magic and the version first: a short buffer
    // that is not a stream of this version is `EINVAL`, a short one that
    // is, truncated (`EBADMSG`).
    let mut want = [0u8; 12];
    want[..8].copy_from_slice(MAGIC);
    want[8..].copy_from_slice(&RIPC_DUMP_VERSION.to_le_bytes());
    let n = len.min(want.len() as u64) as usize;
    let mut got = [0u8; 12];
    let (got, want) = (&mut got[..n], &want[..n]);
    UserSlice::new(UserPtr::from_addr(buf as usize), n)
        .reader()
        .read_slice(got)?;
    if got != want {
        return Err(EINVAL);
    }
    if len < HEADER_LEN + TRAILER_LEN {
        return Err(EBADMSG);
    }
    let mut head = Reader::new(buf + 12, HEADER_LEN - 12);
    let header_len = head.u32()?;
    let mut tail = Reader::new(buf + (len - TRAILER_LEN), TRAILER_LEN);
    let (end, total) = (tail.take::<[u8; 8]>()?, tail.u64()?);
    let (pad, crc) = (tail.u32()?, tail.u32()?);
    if header_len != HEADER_LEN as u32 || end != *END_MAGIC || total != len || pad != 0 {
        return Err(EBADMSG);
    }
    let mut page = KVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL)?;
    let (mut at, mut sum) = (0u64, !0u32);
    while at < len - 4 {
        let n = ((len - 4 - at) as usize).min(PAGE_SIZE);
        let chunk = page.get_mut(..n).ok_or(EINVAL)?;
        UserSlice::new(UserPtr::from_addr((buf + at) as usize), n)
            .reader()
            .read_slice(chunk)?;
        sum = kernel_api::crc32(sum, chunk);
        at += n as u64;
        kernel_api::cond_resched();
        // A stream as long as the address space takes long: a signal ends it.
        if kernel::current!().signal_pending() {
            return Err(EINTR);
        }
    }
    if !sum != crc {
        return Err(EBADMSG);
    }
    Ok(())
}

/// `RIPC_IOC_RESTORE`.
pub(crate) fn restore(ns: &Ns, a: &ripc_dump) -> Result {
    allowed(ns)?;
    // A stream that would end past the address space cannot be read.
    a.buf.checked_add(a.buf_len).ok_or(EFAULT)?;
    verify(a.buf, a.buf_len)?;
    if !mqueue::is_empty(&ns.mq) || !sysv::is_empty(&ns.sysv) {
        return Err(EEXIST);
    }
    let mut r = Reader::new(a.buf + HEADER_LEN, a.buf_len - HEADER_LEN - TRAILER_LEN);
    let mut mq = mqueue::Restore::new();
    let mut msg = sysv::Restore::new();
    let ipc = ns.ipc()?;
    while let Some((kind, mut rec)) = r.record()? {
        match kind {
            RIPC_DUMP_MQ => mq.queue(&ns.mq, &ipc, &mut rec)?,
            RIPC_DUMP_SYSV_IDS => msg.ids(&mut rec)?,
            RIPC_DUMP_SYSV => msg.queue(&ns.sysv, &mut rec)?,
            _ => return Err(EBADMSG),
        }
        rec.done()?;
    }
    // Both tables in place, or neither.
    mq.install(&ns.mq, || msg.install(&ns.sysv))
}
