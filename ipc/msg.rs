// SPDX-License-Identifier: GPL-2.0

//! Message storage, as `ipc/msgutil.c`: a message is a head of at most one
//! page of data plus a chain of page-sized segments, filled from and drained
//! to user memory segment by segment.  Both queue families store their
//! messages this way.  Allocation and copy-in happen before the caller takes
//! any queue lock; a fault or a failed allocation frees what was allocated.

use crate::ipc::kbuf::{concat_into, read_user_into, KBuf};
use core::mem::MaybeUninit;
use kernel::{
    alloc::flags::GFP_KERNEL_ACCOUNT,
    page::PAGE_SIZE,
    prelude::*,
    uaccess::{UserPtr, UserSlice},
};

/// Data bytes in the head and in each segment.
const DATALEN: usize = PAGE_SIZE;

/// Up to this size a System V message travels with its 8-byte type in one
/// user copy each way: a copy costs more than the bytes it moves.
const SMALL: usize = 248;

/// One message.
pub(crate) struct Msg {
    /// The System V type, or the POSIX priority.
    pub(crate) mtype: i64,
    /// Position in the queue's arrival order (set when queued).
    pub(crate) seq: u64,
    /// Bytes of text (the segments' lengths summed).
    len: usize,
    head: KBuf,
    /// The segments after the head, for messages longer than a page.
    chain: Option<KBox<KVec<KBuf>>>,
}

impl Msg {
    /// Copies a message of `len` bytes in from user memory (`load_msg`).
    /// The caller has bounded `len` by the queue's limit.
    pub(crate) fn load(src: u64, len: usize, mtype: i64) -> Result<Msg> {
        let src = src as usize;
        let first = len.min(DATALEN);
        let head = KBuf::from_user(src, first)?;
        let mut chain = None;
        let mut off = first;
        if off < len {
            let mut segs = KVec::with_capacity((len - off).div_ceil(DATALEN), GFP_KERNEL_ACCOUNT)?;
            while off < len {
                let n = (len - off).min(DATALEN);
                segs.push(
                    KBuf::from_user(src.wrapping_add(off), n)?,
                    GFP_KERNEL_ACCOUNT,
                )?;
                off += n;
            }
            chain = Some(KBox::new(segs, GFP_KERNEL_ACCOUNT)?);
        }
        Ok(Msg {
            mtype,
            seq: 0,
            len,
            head,
            chain,
        })
    }

    fn segs(&self) -> impl Iterator<Item = &[u8]> {
        Iterator::chain(
            core::iter::once(&self.head),
            self.chain.iter().flat_map(|c| c.iter()),
        )
        .map(KBuf::as_slice)
    }

    /// Loads a small `struct msgbuf` (the type, then `len` bytes of text)
    /// in one copy; `None` if it is not small or the copy faults (the caller
    /// then reads the parts one by one, for the exact error).
    pub(crate) fn load_typed(src: u64, len: usize) -> Option<Msg> {
        let mut buf = [MaybeUninit::<u8>::uninit(); 8 + SMALL];
        let bytes = read_user_into(src as usize, buf.get_mut(..8 + len)?).ok()?;
        let (ty, text) = bytes.split_at(8);
        let head = KBuf::from_slice(text).ok()?;
        Some(Msg {
            mtype: i64::from_ne_bytes(ty.try_into().ok()?),
            seq: 0,
            len,
            head,
            chain: None,
        })
    }

    /// Copies out the type and the first `len` bytes of text as a
    /// `struct msgbuf`: in one copy when small.
    pub(crate) fn store_typed(&self, dst: u64, len: usize) -> Result {
        let n = len.min(self.len());
        let mut buf = [MaybeUninit::<u8>::uninit(); 8 + SMALL];
        if let (None, Some(text)) = (&self.chain, self.head.as_slice().get(..n)) {
            if let Some(out) = concat_into(&mut buf, &[&self.mtype.to_ne_bytes(), text]) {
                return UserSlice::new(UserPtr::from_addr(dst as usize), out.len())
                    .writer()
                    .write_slice(out);
            }
        }
        UserSlice::new(UserPtr::from_addr(dst as usize), 8)
            .writer()
            .write(&self.mtype)?;
        self.store(dst.wrapping_add(8), n)
    }

    /// The message's length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Copies the first `len` bytes out to user memory (`store_msg`).
    pub(crate) fn store(&self, dst: u64, len: usize) -> Result {
        let mut w = UserSlice::new(UserPtr::from_addr(dst as usize), len.min(self.len())).writer();
        for seg in self.segs() {
            let n = seg.len().min(w.len());
            if n == 0 {
                break;
            }
            w.write_slice(&seg[..n])?;
        }
        Ok(())
    }

    /// A copy of this message (`copy_msg`, for `MSG_COPY`).
    pub(crate) fn duplicate(&self) -> Result<Msg> {
        let dup = |s: &KBuf| KBuf::from_slice(s.as_slice());
        let chain = match &self.chain {
            None => None,
            Some(c) => {
                let mut segs = KVec::with_capacity(c.len(), GFP_KERNEL_ACCOUNT)?;
                for seg in c.iter() {
                    segs.push(dup(seg)?, GFP_KERNEL_ACCOUNT)?;
                }
                Some(KBox::new(segs, GFP_KERNEL_ACCOUNT)?)
            }
        };
        Ok(Msg {
            mtype: self.mtype,
            seq: self.seq,
            len: self.len,
            head: dup(&self.head)?,
            chain,
        })
    }
}
