// SPDX-License-Identifier: GPL-2.0

//! Message storage, as `ipc/msgutil.c`: a message is one kmalloc'd head
//! holding a header (as `struct msg_msg`) and the first part of the text,
//! plus a chain of page-sized segments for the rest; filled from and
//! drained to user memory segment by segment.  Both queue families store
//! their messages this way, and queue them by linking the headers
//! ([`Fifo`](crate::ipc::fifo::Fifo)).  Allocation and copy-in happen before
//! the caller takes any queue lock; a fault or a failed allocation frees
//! what was allocated.

use crate::ipc::kernel_api;
use crate::ipc::kernel_api::kmem::{concat_into, kmalloc, read_user_into, write_user_from};
use core::{mem::MaybeUninit, ptr::NonNull};
use kernel::{
    bindings,
    page::PAGE_SIZE,
    prelude::*,
    sync::atomic::{Acquire, Atomic, Full, Relaxed},
};

/// The header at the start of a message's head allocation; the first
/// `len.min(HEAD_DATA)` bytes of text follow it.  `mtype` comes last, so
/// that the type and the text are laid out as a `struct msgbuf`: a System V
/// message moves in and out with one user copy.
#[repr(C)]
struct Node {
    /// The next message of the FIFO this one is queued in.
    next: Option<Msg>,
    /// Position in the queue's arrival order (set when queued).
    seq: u64,
    /// Bytes of text, head and chain.
    len: u32,
    /// Bytes of the head block as allocated, this header included (a
    /// message loaded into a spare head keeps the spare's: [`Spare`]).
    size: u32,
    /// The segments after the head, for messages longer than the head.
    chain: Option<Seg>,
    /// What the head block is charged to ([`kernel_api::charged_to`] of
    /// the task that allocated it), compared only ([`Spare`]).
    charged: usize,
    /// The System V type, or the POSIX priority.
    mtype: i64,
}

// The text starts right after `mtype`, with no padding in between.
const _: () = assert!(core::mem::offset_of!(Node, mtype) + size_of::<i64>() == size_of::<Node>());
// The header is native's `struct msg_msg`'s size on 64-bit kernels, so
// that a head holds `DATALEN_MSG` bytes of text as native's.
#[cfg(CONFIG_64BIT)]
const _: () = assert!(size_of::<Node>() == 48);

/// Text bytes in the head (`DATALEN_MSG`: a page with the header).
const HEAD_DATA: usize = PAGE_SIZE - size_of::<Node>();

/// The part of a head that user memory is copied to and from: `mtype` and
/// the text after it (an offset and a length, for [`HeadCaches`]).
///
/// [`HeadCaches`]: kernel_api::HeadCaches
pub(crate) const HEAD_USER_WINDOW: (u32, u32) = (
    core::mem::offset_of!(Node, mtype) as u32,
    (size_of::<i64>() + HEAD_DATA) as u32,
);

/// The header of a segment (`struct msg_msgseg`); text follows it.
#[repr(C)]
struct SegHead {
    next: Option<Seg>,
}

/// Text bytes in each segment (`DATALEN_SEG`: a page with the header).
const SEG_DATA: usize = PAGE_SIZE - size_of::<SegHead>();

/// A segment of a message's text after the head.
///
/// # Invariants
///
/// `self.0` points to a kmalloc'd block, owned by this `Seg`, that starts
/// with an initialised `SegHead` and holds at least the segment's share of
/// the text after it: `SEG_DATA` bytes, the last segment of a message the
/// rest (a copy's room may hold more: [`Msg::duplicate`]).  The
/// message ([`Msg`]) knows the shares; the text is initialised once the
/// message's constructor returned.
struct Seg(NonNull<SegHead>);

// SAFETY: as for `Msg`: a `Seg` owns its block exclusively.
unsafe impl Send for Seg {}
// SAFETY: `&Seg` only reads.
unsafe impl Sync for Seg {}

impl Seg {
    /// A segment of `n` text bytes, not yet filled.
    fn alloc(n: usize) -> Result<Seg> {
        let p = kmalloc(size_of::<SegHead>() + n, false, false).cast::<SegHead>();
        let p = NonNull::new(p).ok_or(ENOMEM)?;
        // SAFETY: `p` is at least `size_of::<SegHead>()` bytes, aligned for
        // it (kmalloc aligns to 8), not yet initialised.
        unsafe { p.as_ptr().write(SegHead { next: None }) };
        Ok(Seg(p))
    }

    fn next(&self) -> Option<&Seg> {
        // SAFETY: an initialised `SegHead` owned by `self` (invariant).
        unsafe { self.0.as_ref() }.next.as_ref()
    }

    fn next_mut(&mut self) -> &mut Option<Seg> {
        // SAFETY: as in `next`, exclusive through `&mut self`.
        &mut unsafe { self.0.as_mut() }.next
    }

    /// The text, at most `n` bytes of it: the caller passes the segment's
    /// share (`Msg::segs`).
    fn text(&self, n: usize) -> &[u8] {
        let n = n.min(SEG_DATA);
        // SAFETY: the share of this segment is `n` bytes after its header,
        // in its block, initialised (invariant), borrowed with `self`.
        unsafe { core::slice::from_raw_parts(self.0.as_ptr().add(1).cast::<u8>(), n) }
    }

    /// The text to fill: `n` bytes, the segment's share, at `alloc`.
    fn text_uninit(&mut self, n: usize) -> &mut [MaybeUninit<u8>] {
        let n = n.min(SEG_DATA);
        // SAFETY: as in `text`, exclusive through `&mut self`; `MaybeUninit`
        // needs no initialisation.
        unsafe {
            core::slice::from_raw_parts_mut(self.0.as_ptr().add(1).cast::<MaybeUninit<u8>>(), n)
        }
    }
}

impl Drop for Seg {
    fn drop(&mut self) {
        // The rest of the chain, one segment at a time (no recursion).
        let mut next = self.next_mut().take();
        while let Some(mut s) = next {
            next = s.next_mut().take();
            kernel_api::cond_resched();
        }
        // SAFETY: the block came from kmalloc (`alloc`) and is freed once;
        // its `SegHead` holds nothing to drop now.
        unsafe { bindings::kfree(self.0.as_ptr().cast()) };
    }
}

/// Builds the chain of segments of a message's text after its head: `len`
/// bytes, each segment filled by `fill` (its text to fill, and the offset
/// of that text from the start of the chain); with the queue lock dropped
/// (it may sleep).
fn build_chain(
    len: usize,
    mut fill: impl FnMut(&mut [MaybeUninit<u8>], usize) -> Result,
) -> Result<Option<Seg>> {
    let mut chain = None;
    let mut link = &mut chain;
    let mut off = 0;
    while off < len {
        let n = (len - off).min(SEG_DATA);
        kernel_api::cond_resched();
        let mut s = Seg::alloc(n)?;
        fill(s.text_uninit(n), off)?;
        off += n;
        link = link.insert(s).next_mut();
    }
    Ok(chain)
}

/// One message.
///
/// # Invariants
///
/// `self.0` points to a kmalloc'd block of at least `size_of::<Node>() +
/// len.min(HEAD_DATA)` bytes, owned by this `Msg`, that starts with an
/// initialised `Node` whose `len` is that `len`; the text bytes after it are
/// initialised once the constructor that made it returned.
pub(crate) struct Msg(NonNull<Node>);

/// Where a message is ([`Msg::at`]): its head block, which stays where it
/// is while the message exists.
#[derive(Clone, Copy)]
pub(crate) struct MsgAt(NonNull<Node>);

impl MsgAt {
    /// The message after this one in its FIFO.
    ///
    /// # Safety
    ///
    /// The message this was taken from exists, and its link is not changed,
    /// for `'a`.
    pub(crate) unsafe fn next<'a>(self) -> Option<&'a Msg> {
        // SAFETY: the message's block holds its initialised `Node` (`Msg`'s
        // invariant) for `'a`, and its link is not written meanwhile (the
        // caller's guarantee).
        unsafe { (*self.0.as_ptr()).next.as_ref() }
    }
}

// SAFETY: a `Msg` owns its head block and the `Node` in it exclusively (as
// a `KBox<Node>` would), and every part of a `Node` may move between tasks.
unsafe impl Send for Msg {}
// SAFETY: `&Msg` only reads.
unsafe impl Sync for Msg {}

impl Msg {
    /// A message of `len` bytes whose head text is not yet filled: in a
    /// head `heads` lends if it has one that fits ([`Lender`]), else in a
    /// new one.
    #[inline(always)]
    fn alloc(mtype: i64, len: usize, atomic: bool, mut heads: impl Lender) -> Result<Msg> {
        // A message never nears 4 GiB (the limits); one that would is
        // refused as native refuses a size it cannot allocate.
        let len32 = u32::try_from(len).map_err(|_| ENOMEM)?;
        let size = size_of::<Node>() + len.min(HEAD_DATA);
        let (p, size, charged) = match heads.lend(size) {
            Some(m) => {
                let (size, charged) = (m.node().size, m.node().charged);
                // Its `Node` holds nothing to drop ([`Lender`]), and is
                // written over below: the block is this message's now.
                (core::mem::ManuallyDrop::new(m).0, size, charged)
            }
            None => {
                let p = NonNull::new(kmalloc(size, atomic, true).cast::<Node>()).ok_or(ENOMEM)?;
                // After the allocation, which updated what it reads.
                (p, size as u32, kernel_api::charged_to())
            }
        };
        let node = Node {
            next: None,
            mtype,
            seq: 0,
            len: len32,
            size,
            chain: None,
            charged,
        };
        // `p` is a new block of `size_of::<Node>() + len.min(HEAD_DATA)` bytes,
        // or a spare at least that large whose old `Node` owns nothing.
        // SAFETY: so `p` is large enough, owned here, and aligned for `Node`
        // (kmalloc aligns to at least 8 bytes, `Node`'s alignment).
        unsafe { p.as_ptr().write(node) };
        // INVARIANT: the block holds a `Node` of this `len`.
        Ok(Msg(p))
    }

    fn node(&self) -> &Node {
        // SAFETY: by the type invariant `self.0` is an initialised `Node`
        // owned by `self`.
        unsafe { self.0.as_ref() }
    }

    fn node_mut(&mut self) -> &mut Node {
        // SAFETY: as in `node`, and `&mut self` makes the access exclusive.
        unsafe { self.0.as_mut() }
    }

    /// The head's text bytes, uninitialised or not.
    fn head_raw(&self) -> (*mut u8, usize) {
        let n = self.len().min(HEAD_DATA);
        // SAFETY: the text follows the `Node` in the same block (type
        // invariant), so one `Node` past its start is inside the block.
        (unsafe { self.0.as_ptr().add(1) }.cast::<u8>(), n)
    }

    /// `mtype` and the head's text, contiguous (`Node`'s layout): a
    /// `struct msgbuf` of the head.
    fn typed_raw(&self) -> (*mut u8, usize) {
        let n = self.len().min(HEAD_DATA);
        let at = core::mem::offset_of!(Node, mtype);
        // SAFETY: `mtype` is inside the block's `Node` (type invariant).
        (
            unsafe { self.0.as_ptr().cast::<u8>().add(at) },
            size_of::<i64>() + n,
        )
    }

    /// The type and the head's text, to fill (constructors only).
    fn typed_uninit(&mut self) -> &mut [MaybeUninit<u8>] {
        let (p, n) = self.typed_raw();
        // SAFETY: `mtype` and the head's text are `n` contiguous bytes of
        // this message's block (`typed_raw`, the layout assertion above),
        // borrowed mutably with `self`; any bit pattern is a valid `i64`.
        unsafe { core::slice::from_raw_parts_mut(p.cast::<MaybeUninit<u8>>(), n) }
    }

    /// The type and the head's text as a `struct msgbuf`.
    fn typed(&self) -> &[u8] {
        let (p, n) = self.typed_raw();
        // SAFETY: as in `typed_uninit`; both parts are initialised (type
        // invariant), borrowed with `self`.
        unsafe { core::slice::from_raw_parts(p, n) }
    }

    /// The head's text, to fill (constructors only).
    fn head_uninit(&mut self) -> &mut [MaybeUninit<u8>] {
        let (p, n) = self.head_raw();
        // SAFETY: `p` is `n` bytes of this message's block (`head_raw`),
        // borrowed mutably with `self`; `MaybeUninit` needs no init.
        unsafe { core::slice::from_raw_parts_mut(p.cast::<MaybeUninit<u8>>(), n) }
    }

    /// The head's text.
    fn head(&self) -> &[u8] {
        let (p, n) = self.head_raw();
        // SAFETY: `p` is `n` bytes of this message's block, initialised by
        // the constructor (type invariant), borrowed with `self`.
        unsafe { core::slice::from_raw_parts(p, n) }
    }

    /// Copies a message of `len` bytes in from user memory (`load_msg`),
    /// into a head `heads` lends if it fits.  The caller has bounded `len`
    /// by the queue's limit.
    pub(crate) fn load(src: u64, len: usize, mtype: i64, heads: impl Lender) -> Result<Msg> {
        let src = src as usize;
        let mut m = Msg::alloc(mtype, len, false, heads)?;
        let first = m.head_uninit().len();
        read_user_into(src, m.head_uninit())?;
        m.node_mut().chain = build_chain(len - first, |text, off| {
            read_user_into(src.wrapping_add(first + off), text).map(|_| ())
        })?;
        Ok(m)
    }

    /// The text: the head's, then each segment's share.
    pub(crate) fn segs(&self) -> impl Iterator<Item = &[u8]> {
        let head = self.head();
        let mut rest = self.len() - head.len();
        let chain = core::iter::successors(self.node().chain.as_ref(), |s| s.next());
        Iterator::chain(
            core::iter::once(head),
            chain.map(move |s| {
                let t = s.text(rest);
                rest -= t.len();
                t
            }),
        )
    }

    /// Loads a `struct msgbuf` (the type, then `len` bytes of text): the
    /// type and the head's text in one copy, straight into the message;
    /// `None` on any failure (the caller then reads the parts one by one,
    /// for the exact error).
    pub(crate) fn load_typed(src: u64, len: usize, heads: impl Lender) -> Option<Msg> {
        let src = src as usize;
        let mut m = Msg::alloc(0, len, false, heads).ok()?;
        let first = read_user_into(src, m.typed_uninit()).ok()?.len();
        let rest = src.wrapping_add(first);
        m.node_mut().chain = build_chain(len - (first - size_of::<i64>()), |text, off| {
            read_user_into(rest.wrapping_add(off), text).map(|_| ())
        })
        .ok()?;
        Some(m)
    }

    /// Copies out the type and the first `len` bytes of text as a
    /// `struct msgbuf` (the type and the head's text in one copy).
    pub(crate) fn store_typed(&self, dst: u64, len: usize) -> Result {
        let n = size_of::<i64>() + len.min(self.len());
        if let Some(all) = self.typed().get(..n) {
            // The common case: all of it is in the head.
            return write_user_from(dst as usize, all);
        }
        let parts = Iterator::chain(core::iter::once(self.typed()), self.segs().skip(1));
        store_parts(dst, n, parts)
    }

    /// The bytes of its head block as allocated, header included (at
    /// least the header's).
    #[inline(always)]
    fn block_size(&self) -> u64 {
        u64::from(self.node().size)
    }

    /// Whether the message is its head alone (no segments).
    pub(crate) fn one_block(&self) -> bool {
        self.node().chain.is_none()
    }

    /// The message's length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.node().len as usize
    }

    /// The System V type, or the POSIX priority.
    pub(crate) fn mtype(&self) -> i64 {
        self.node().mtype
    }

    /// Position in the queue's arrival order.
    pub(crate) fn seq(&self) -> u64 {
        self.node().seq
    }

    pub(crate) fn set_seq(&mut self, seq: u64) {
        self.node_mut().seq = seq;
    }

    /// The link to the next message of the FIFO this one is in: for
    /// [`Fifo`](crate::ipc::fifo::Fifo) only.
    pub(crate) fn next(&self) -> Option<&Msg> {
        self.node().next.as_ref()
    }

    /// Where this message is, to find the one after it again
    /// ([`Tracked`](crate::ipc::tracked::Tracked) only).
    pub(crate) fn at(&self) -> MsgAt {
        MsgAt(self.0)
    }

    /// The link, to change (for `Fifo` only).  Its address stays the same
    /// while the message exists (it is in the message's block).
    pub(crate) fn next_mut(&mut self) -> &mut Option<Msg> {
        &mut self.node_mut().next
    }

    /// Copies the first `len` bytes out to user memory (`store_msg`).
    pub(crate) fn store(&self, dst: u64, len: usize) -> Result {
        let n = len.min(self.len());
        if let Some(all) = self.head().get(..n) {
            // The common case: all of it is in the head.
            return write_user_from(dst as usize, all);
        }
        store_parts(dst, n, self.segs())
    }

    /// [`Msg::store`] without a page fault, for at most [`LOCKED_COPY_MAX`]
    /// bytes in the message's head (`EFAULT` else, or if the memory is not
    /// there right now): the copy a receive may do under the queue lock.
    pub(crate) fn store_nofault(&self, dst: u64, len: usize) -> Result {
        let text = self
            .head()
            .get(..len)
            .filter(|t| t.len() <= LOCKED_COPY_MAX)
            .ok_or(EFAULT)?;
        crate::ipc::kernel_api::copy_to_user_nofault(dst, text)
    }

    /// [`Msg::store_typed`] without a page fault (as [`Msg::store_nofault`]).
    pub(crate) fn store_typed_nofault(&self, dst: u64, len: usize) -> Result {
        let n = size_of::<i64>() + len.min(self.len());
        let all = self
            .typed()
            .get(..n)
            .filter(|t| t.len() <= size_of::<i64>() + LOCKED_COPY_MAX)
            .ok_or(EFAULT)?;
        crate::ipc::kernel_api::copy_to_user_nofault(dst, all)
    }

    /// Room for a copy of a message of up to `len` bytes ([`Msg::duplicate`]),
    /// made where it may sleep (before a queue lock, as native's
    /// `prepare_copy`); its text is zeros.
    pub(crate) fn blank(len: usize) -> Result<Msg> {
        let mut m = Msg::alloc(0, len, false, None)?;
        let first = m.head_uninit().len();
        m.head_uninit().fill(MaybeUninit::new(0));
        m.node_mut().chain = build_chain(len - first, |text, _| {
            text.fill(MaybeUninit::new(0));
            Ok(())
        })?;
        Ok(m)
    }

    /// A copy of this message (`copy_msg`, for `MSG_COPY` and peeks), made
    /// under the queue lock: into `room` if it is there and holds this
    /// message's length (its blocks past that length go with the copy:
    /// nothing is freed under the lock), else, for a message of one block,
    /// allocated without sleeping ([`kmalloc`]); `Err(len)` if that fails
    /// or the message has segments, for the caller to make `room` with the
    /// lock dropped ([`Msg::blank`]; the room there, of no use for it,
    /// freed then too) and look again: of that length, and if the message
    /// it finds then changed, of the longest it could copy, so that a call
    /// makes at most two (native's `prepare_copy` makes one, of
    /// `min(msgsz, msgmax)`, before the lock).  Under the lock no more
    /// than one block is allocated.  A `room` it does not use is left in
    /// `room`.
    pub(crate) fn duplicate(&self, room: &mut Option<Msg>) -> core::result::Result<Msg, usize> {
        match room.take() {
            Some(r) if r.len() >= self.len() => Ok(self.copy_into(r)),
            other => {
                *room = other;
                if self.node().chain.is_some() {
                    return Err(self.len());
                }
                self.duplicate_now().map_err(|_| self.len())
            }
        }
    }

    /// A copy of a message of one block, allocated without sleeping.
    fn duplicate_now(&self) -> Result<Msg> {
        let mut m = Msg::alloc(self.mtype(), self.len(), true, None)?;
        concat_into(m.head_uninit(), &[self.head()]).ok_or(EINVAL)?;
        m.set_seq(self.seq());
        Ok(m)
    }

    /// Copies this message into `room`, at least as long: its text, type
    /// and place in the send order.  Segments of `room` past this length
    /// stay in its chain, their share empty, and go with the copy after
    /// the caller's lock.
    fn copy_into(&self, mut room: Msg) -> Msg {
        let head = self.head();
        let _ = concat_into(room.head_uninit(), &[head]);
        let node = room.node_mut();
        let mut link = &mut node.chain;
        for part in self.segs().skip(1) {
            let Some(seg) = link else {
                break;
            };
            // Its share is at least `part`'s: `room` is at least as long.
            let _ = concat_into(seg.text_uninit(part.len()), &[part]);
            link = seg.next_mut();
        }
        // INVARIANT: the head block holds at least this length's share, and
        // every segment at least its share, now written (none for those
        // past this length).
        node.len = self.node().len;
        node.mtype = self.mtype();
        node.seq = self.seq();
        room
    }
}

/// The most text a receive copies out under its queue lock
/// ([`Msg::store_nofault`]); a longer message is copied after the lock.
/// Under the lock the other side of a stream waits for the copy: measured
/// in one boot (2 vCPUs, streams against native, 2026-12-03, when a copy
/// after the lock took the lock again to count the receive), 1 KiB
/// messages ran at 0.89-0.93 copied under the lock and 0.78-0.81 after it,
/// 3.5 KiB ones at 0.76-0.80 under it and 0.87-0.92 after it (and 4 KiB
/// messages of a head and a segment, 0.72-0.78 under it, 1.02-1.06 after).
pub(crate) const LOCKED_COPY_MAX: usize = 2048;

/// Writes the first `len` bytes of `parts`, one after the other, to user
/// memory at `dst`.
fn store_parts<'a>(dst: u64, len: usize, parts: impl Iterator<Item = &'a [u8]>) -> Result {
    let (mut at, mut left) = (dst as usize, len);
    for p in parts {
        let Some(part) = p.get(..p.len().min(left)).filter(|p| !p.is_empty()) else {
            break;
        };
        write_user_from(at, part)?;
        at = at.wrapping_add(part.len());
        left -= part.len();
    }
    Ok(())
}

/// Where a load finds a kept head to reuse ([`Msg::load`]): a queue's
/// [`Spare`] slot, heads lent out of its [`Kept`] ones, or none.  A head
/// lent is one message block, unlinked, with no chain, whose `Node` owns
/// nothing, and [`Msg::lendable`] for the size asked: the load writes its
/// own `Node` and text over it.
pub(crate) trait Lender {
    /// A head for a head block of `size` bytes (header included), if there
    /// is one.
    fn lend(&mut self, size: usize) -> Option<Msg>;
}

impl Lender for Option<&Spare> {
    #[inline(always)]
    fn lend(&mut self, size: usize) -> Option<Msg> {
        self.and_then(|s| s.take(size))
    }
}

impl Lender for &mut Kept {
    #[inline(always)]
    fn lend(&mut self, size: usize) -> Option<Msg> {
        self.take(size)
    }
}

impl Msg {
    /// Whether this head, kept, may hold a head of `size` bytes (header
    /// included) for the caller: at least as large and less than twice
    /// that (the waste of kmalloc's size classes), and charged to what the
    /// caller's own `kmalloc` would charge (the same memory cgroup: what
    /// native's `kmalloc` in `load_msg` would charge; bit 0 set, "cannot
    /// tell", matches nothing).
    #[inline(always)]
    fn lendable(&self, size: usize) -> bool {
        let (cap, charged) = (self.node().size as usize, self.node().charged);
        let fits = size <= cap && size * 2 > cap;
        fits && charged & 1 == 0 && charged == kernel_api::charged_to()
    }
}

/// A queue's spare message head: the head of a message a receive
/// delivered, kept for the queue's next send instead of freed and
/// allocated again (as `fs/pipe.c` keeps the pages its readers release for
/// its writers: `anon_pipe_put_page`, `anon_pipe_get_page`), which saves a
/// stream's `kmalloc` and `kfree` (and their memory cgroup charge) on
/// every message.  A send takes it only if a new head would be charged to
/// what it is charged to (the same memory cgroup: what native's `kmalloc`
/// in `load_msg` would charge) and it is at least as large as the head
/// needed and less than twice that (the waste of kmalloc's size classes);
/// else the send frees it and allocates, as native.  A message with
/// segments is freed as before.  The slot is filled under the queue lock
/// from the heads the state keeps ([`Kept`]), or by a receive after its
/// lock ([`Spare::give`]); it is emptied when the queue is removed
/// ([`Spare::close`]) or dropped.
///
/// # Invariants
///
/// `head` is null or a [`Msg`]'s block (from `Msg::into_raw`) whose `Node`
/// has no link and no chain, owned by the slot.
pub(crate) struct Spare {
    head: Atomic<*mut Node>,
    closed: Atomic<bool>,
}

// SAFETY: the slot owns at most one message block, which any task may
// take or free (as a `Msg`, which is `Send`); every access is atomic.
unsafe impl Send for Spare {}
// SAFETY: as above: shared access is only the atomic exchanges.
unsafe impl Sync for Spare {}

impl Spare {
    pub(crate) const fn new() -> Self {
        Spare {
            head: Atomic::new(core::ptr::null_mut()),
            closed: Atomic::new(false),
        }
    }

    /// Whether the slot is empty.
    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.head.load(Relaxed).is_null()
    }

    /// The spare head, taken out of the slot, if there is one.
    fn take_any(&self) -> Option<Msg> {
        // INVARIANT: an exchange takes the slot's block once; by the type
        // invariant it is a message's block, whose ownership moves here.
        NonNull::new(self.head.xchg(core::ptr::null_mut(), Acquire)).map(Msg)
    }

    /// The spare head, if it can hold a head of `size` bytes (header
    /// included) charged to what the caller's allocation would be
    /// ([`Msg::lendable`]); a spare that cannot is freed.  Its text is
    /// stale: the caller writes its own.
    #[inline(always)]
    fn take(&self, size: usize) -> Option<Msg> {
        // A look first: an empty slot costs no exchange.
        if self.is_empty() {
            return None;
        }
        let m = self.take_any()?;
        if m.lendable(size) {
            return Some(m);
        }
        drop(m);
        None
    }

    /// Puts `m`, a message of one block, unlinked, in the slot if it is
    /// empty, else gives it back.
    #[inline(always)]
    fn put(&self, m: Msg) -> core::result::Result<(), Msg> {
        let p = core::mem::ManuallyDrop::new(m).0;
        // INVARIANT: the caller's message: one block, unlinked; owned by
        // the slot if the exchange succeeds.
        match self.head.cmpxchg(core::ptr::null_mut(), p.as_ptr(), Full) {
            Ok(_) => Ok(()),
            Err(_) => Err(Msg(p)),
        }
    }

    /// Keeps `m`, delivered by a receive after its lock (no longer in the
    /// queue), in the slot if it is empty and `m` is one block; else frees
    /// it.
    #[inline(always)]
    pub(crate) fn give(&self, m: Msg) {
        if m.node().chain.is_some() || m.next().is_some() || !self.is_empty() {
            return;
        }
        if self.put(m).is_ok() && self.closed.load(Relaxed) {
            // After the exchange (ordered by its full barrier): a `close`
            // before it is seen here, or sees the head in the slot.
            drop(self.take_any());
        }
    }

    /// The queue was removed: its spare head is freed, and none is kept
    /// again (a receive that took its message before the removal may
    /// still give one).
    pub(crate) fn close(&self) {
        self.closed.store(true, Relaxed);
        // Ordered after the store by the exchange's full barrier.
        drop(self.take_any());
    }
}

impl Drop for Spare {
    fn drop(&mut self) {
        drop(self.take_any());
    }
}

/// The most bytes the heads a queue keeps may have, headers included: 8
/// pages, as many as a pipe keeps for its writers (`PIPE_PREALLOC_MAX`),
/// and so the most memory a queue holds beyond what native's would (with
/// the slot's one head), charged to the memory cgroups of the senders that
/// allocated it.
const KEPT_MAX: u64 = 8 * PAGE_SIZE as u64;

/// How many of the heads lent to a send batch's part a load looks at for
/// one that fits its message ([`Kept::take`]).
const LEND_LOOK: usize = 4;

/// The heads a queue's state keeps under its lock for its [`Spare`] slot,
/// linked through their headers, with their blocks' bytes: at most
/// [`KEPT_MAX`].
#[derive(Default)]
pub(crate) struct Kept {
    top: Option<Msg>,
    bytes: u64,
}

impl Kept {
    /// Keeps `m`, which a receive delivered under the queue lock (out of
    /// the queue): in `spare` if it is empty, else here if their blocks
    /// stay within [`KEPT_MAX`] bytes; else gives it back, to be freed
    /// after the lock.  Only a message of one block is kept.
    #[inline(always)]
    pub(crate) fn keep(&mut self, m: Msg, spare: &Spare) -> Option<Msg> {
        if m.node().chain.is_some() {
            return Some(m);
        }
        let m = match spare.is_empty() {
            true => spare.put(m).err()?,
            false => m,
        };
        let bytes = self.bytes + m.block_size();
        if bytes > KEPT_MAX {
            return Some(m);
        }
        self.push(m);
        self.bytes = bytes;
        None
    }

    /// Links `m`, unlinked, on top.
    #[inline(always)]
    fn push(&mut self, mut m: Msg) {
        let below = self.top.take();
        // Both replaced values are `None` (`m` is in no list, the top was
        // just taken): nothing to drop.
        core::mem::forget(core::mem::replace(m.next_mut(), below));
        core::mem::forget(self.top.replace(m));
    }

    /// The top head, unlinked.
    #[inline(always)]
    fn pop(&mut self) -> Option<Msg> {
        let mut m = self.top.take()?;
        let below = m.next_mut().take();
        // The top was just taken: `None`, nothing to drop.
        core::mem::forget(core::mem::replace(&mut self.top, below));
        Some(m)
    }

    /// Fills `spare`, if it is empty, with a kept head (under the queue
    /// lock).
    #[inline(always)]
    pub(crate) fn refill(&mut self, spare: &Spare) {
        if !spare.is_empty() {
            return;
        }
        let Some(m) = self.pop() else {
            return;
        };
        let bytes = m.block_size();
        match spare.put(m) {
            Ok(()) => self.bytes -= bytes,
            // Filled by a receive after its lock meanwhile: kept again.
            Err(m) => self.push(m),
        }
    }

    /// Up to `n` kept heads, taken out to be lent to a send batch's loads
    /// ([`Lender`]) after the lock; what they do not use is freed with
    /// the returned heads.
    pub(crate) fn lend_out(&mut self, n: usize) -> Kept {
        let mut out = Kept::default();
        for _ in 0..n {
            let Some(m) = self.pop() else { break };
            let bytes = m.block_size();
            self.bytes -= bytes;
            out.bytes += bytes;
            out.push(m);
        }
        out
    }

    /// The first of the top [`LEND_LOOK`] heads that is
    /// [`Msg::lendable`] for `size`, unlinked; else none, and they stay (a
    /// later message of another size may use them).
    #[inline(always)]
    fn take(&mut self, size: usize) -> Option<Msg> {
        if self.top.as_ref()?.lendable(size) {
            let m = self.pop()?;
            self.bytes -= m.block_size();
            return Some(m);
        }
        self.take_below(size)
    }

    /// [`Kept::take`] below the top: a part of a batch with messages of
    /// several sizes.
    #[inline(never)]
    fn take_below(&mut self, size: usize) -> Option<Msg> {
        let heads = core::iter::successors(self.top.as_ref(), |m| m.next());
        let depth = heads.take(LEND_LOOK).position(|m| m.lendable(size))?;
        let mut link = &mut self.top;
        for _ in 0..depth {
            link = link.as_mut()?.next_mut();
        }
        let mut m = link.take()?;
        // `link` was just emptied: nothing to drop.
        core::mem::forget(core::mem::replace(link, m.next_mut().take()));
        self.bytes -= m.block_size();
        Some(m)
    }

    /// Every kept head, to be freed after the lock (the queue was
    /// removed).
    pub(crate) fn take_all(&mut self) -> Option<Msg> {
        self.bytes = 0;
        self.top.take()
    }
}

impl Drop for Msg {
    fn drop(&mut self) {
        // The messages linked after this one go too, one at a time (a
        // recursive drop of a long FIFO would overflow the stack).
        let mut next = self.next_mut().take();
        while let Some(mut m) = next {
            next = m.next_mut().take();
        }
        // SAFETY: the block holds an initialised `Node` (type invariant),
        // dropped once, here (its `next` is `None` now: only the chain goes).
        unsafe { core::ptr::drop_in_place(self.0.as_ptr()) };
        // SAFETY: the block came from kmalloc (`alloc`) and is freed once.
        unsafe { bindings::kfree(self.0.as_ptr().cast()) };
    }
}
