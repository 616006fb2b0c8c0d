// SPDX-License-Identifier: GPL-2.0

//! Message storage, as `ipc/msgutil.c`: a message is a head of at most one
//! page of data plus a chain of page-sized segments, filled from and drained
//! to user memory segment by segment.  Both queue families store their
//! messages this way.  Allocation and copy-in happen before the caller takes
//! any queue lock; a fault or a failed allocation frees what was allocated.

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
    head: KVec<u8>,
    /// The segments after the head, for messages longer than a page.
    chain: Option<KBox<KVec<KVec<u8>>>>,
}

/// Reads `len` bytes at `src` into a new page-bounded buffer.
fn load_seg(src: usize, len: usize) -> Result<KVec<u8>> {
    let mut seg = KVec::with_capacity(len, GFP_KERNEL_ACCOUNT)?;
    UserSlice::new(UserPtr::from_addr(src), len).read_all(&mut seg, GFP_KERNEL_ACCOUNT)?;
    Ok(seg)
}

impl Msg {
    /// Copies a message of `len` bytes in from user memory (`load_msg`).
    /// The caller has bounded `len` by the queue's limit.
    pub(crate) fn load(src: u64, len: usize, mtype: i64) -> Result<Msg> {
        let src = src as usize;
        let first = len.min(DATALEN);
        let head = load_seg(src, first)?;
        let mut chain = None;
        let mut off = first;
        if off < len {
            let mut segs = KVec::with_capacity((len - off).div_ceil(DATALEN), GFP_KERNEL_ACCOUNT)?;
            while off < len {
                let n = (len - off).min(DATALEN);
                segs.push(load_seg(src.wrapping_add(off), n)?, GFP_KERNEL_ACCOUNT)?;
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

    fn segs(&self) -> impl Iterator<Item = &KVec<u8>> {
        Iterator::chain(
            core::iter::once(&self.head),
            self.chain.iter().flat_map(|c| c.iter()),
        )
    }

    /// Loads a small `struct msgbuf` (the type, then `len` bytes of text)
    /// in one copy; `None` if it is not small or the copy faults (the caller
    /// then reads the parts one by one, for the exact error).
    pub(crate) fn load_typed(src: u64, len: usize) -> Option<Msg> {
        let mut buf = [0u8; 8 + SMALL];
        let bytes = buf.get_mut(..8 + len)?;
        UserSlice::new(UserPtr::from_addr(src as usize), 8 + len)
            .reader()
            .read_slice(bytes)
            .ok()?;
        let (ty, text) = bytes.split_at(8);
        let mut head = KVec::with_capacity(len, GFP_KERNEL_ACCOUNT).ok()?;
        head.extend_from_slice(text, GFP_KERNEL_ACCOUNT).ok()?;
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
        let mut buf = [0u8; 8 + SMALL];
        if let (Some(out), None, Some(text)) =
            (buf.get_mut(..8 + n), &self.chain, self.head.get(..n))
        {
            let (ty, rest) = out.split_at_mut(8);
            ty.copy_from_slice(&self.mtype.to_ne_bytes());
            rest.copy_from_slice(text);
            return UserSlice::new(UserPtr::from_addr(dst as usize), 8 + n)
                .writer()
                .write_slice(out);
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
        let dup = |s: &KVec<u8>| -> Result<KVec<u8>> {
            let mut v = KVec::with_capacity(s.len(), GFP_KERNEL_ACCOUNT)?;
            v.extend_from_slice(s, GFP_KERNEL_ACCOUNT)?;
            Ok(v)
        };
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
