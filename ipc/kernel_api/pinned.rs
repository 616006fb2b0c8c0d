// SPDX-License-Identifier: GPL-2.0

//! A blocked receiver's buffer, pinned, for the one-copy hand-off: a sender
//! copies its text from its own user memory straight into the receiver's
//! pages (user → user, as binder does), where the queues otherwise copy
//! twice (user → kernel message → user).
//!
//! The pages are pinned only if they are present (`FOLL_NOFAULT`), by the
//! receiver once it is on the waiter list, with the queue lock dropped
//! (pinning may wait for the receiver's `mmap_lock` or migrate pages out of
//! movable memory, `FOLL_LONGTERM`), and charged to its user's
//! `RLIMIT_MEMLOCK` as io_uring's registered buffers are (none past half
//! the limit, the other half left to the pinning a program asks for; a
//! task with `CAP_IPC_LOCK` is not charged) and counted in its
//! `VmPin`.  They are filled with page faults
//! disabled, under the queue lock, where a fault (on a `userfaultfd` page,
//! say) could stall every user of the queue.  Whoever finds a page missing
//! takes the ordinary way.  As with any pinned buffer, a receiver that
//! unmaps or remaps its buffer while it sleeps gets its message in the old
//! pages.

use super::ffi;
use kernel::{bindings, prelude::*};

/// The pages a [`Pinned`] keeps in itself: an 8 KiB buffer wherever it
/// starts (more take an allocated array).
const INLINE_PAGES: usize = 3;

/// User memory `[addr, addr + len)` of the current task, pinned for
/// writing.
///
/// # Invariants
///
/// [`Pinned::pages`] points at `npages` pages pinned by
/// `rust_ipc_pin_user_nofault()` for the range, which starts `start` bytes
/// into the first page: `inline` holds them if `heap` is null, else the
/// array at `heap` (the helper's); they stay pinned, charged to `user`
/// (the helper's reference, or null) and counted in the VmPin of `mm` (the
/// helper's reference), until `Drop`.
pub(crate) struct Pinned {
    inline: [*mut bindings::page; INLINE_PAGES],
    heap: *mut *mut bindings::page,
    user: *mut c_void,
    mm: *mut c_void,
    npages: c_int,
    addr: u64,
    start: usize,
    len: usize,
}

// SAFETY: the pinned pages and the array are not tied to a thread: any
// task may fill or unpin them.
unsafe impl Send for Pinned {}
// SAFETY: `&Pinned` gives no access that races (filling needs `&mut`).
unsafe impl Sync for Pinned {}

impl Pinned {
    /// Pins `[addr, addr + len)` if all its pages are there and writable
    /// now; `None` otherwise (or for an empty range).
    pub(crate) fn new(addr: u64, len: usize) -> Option<Pinned> {
        let mut p = Pinned {
            inline: [core::ptr::null_mut(); INLINE_PAGES],
            heap: core::ptr::null_mut(),
            user: core::ptr::null_mut(),
            mm: core::ptr::null_mut(),
            npages: 0,
            addr,
            start: (addr as usize) % kernel::page::PAGE_SIZE,
            len,
        };
        let inline = p.inline.as_mut_ptr();
        let mut pages = inline;
        // SAFETY: the helper checks the range, pins without faulting into
        // `inline` (`INLINE_PAGES` entries) or an array it allocates, and
        // sets `pages`, `user` and `mm` only when it returns a page count.
        let n = unsafe {
            ffi::rust_ipc_pin_user_nofault(
                addr as usize,
                len,
                inline,
                INLINE_PAGES as c_int,
                &mut pages,
                &mut p.user,
                &mut p.mm,
            )
        };
        if n == 0 {
            return None;
        }
        p.npages = n;
        if pages != inline {
            p.heap = pages;
        }
        Some(p)
    }

    /// The page array (see the type invariant).
    fn pages(&mut self) -> *mut *mut bindings::page {
        if self.heap.is_null() {
            self.inline.as_mut_ptr()
        } else {
            self.heap
        }
    }

    /// The pinned length.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether these are the pins of `[addr, addr + len)`.
    pub(crate) fn covers(&self, addr: u64, len: usize) -> bool {
        self.addr == addr && self.len == len
    }

    /// Copies `len` bytes from user memory at `src` (the current task's)
    /// to byte `off`, without a page fault: `EFAULT` if a source page is
    /// not there now (some bytes may have been written), or if the source
    /// overlaps those bytes in the receiver's own memory (nothing written).
    pub(crate) fn fill_from_user(&mut self, off: usize, src: u64, len: usize) -> Result {
        self.fill(off, src as usize as *const c_void, len, false)
    }

    /// Copies `data` to byte `off`.
    pub(crate) fn write(&mut self, off: usize, data: &[u8]) -> Result {
        self.fill(off, data.as_ptr().cast(), data.len(), true)
    }

    fn fill(&mut self, off: usize, src: *const c_void, len: usize, kernel: bool) -> Result {
        if off.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(EINVAL);
        }
        let pages = self.pages();
        // The bytes written are at `addr + off` in the receiver's `mm`
        // (which the helper only compares).  By the type invariant the
        // pages cover `[0, self.len)`, and `off + len` is within it.
        let dst = (self.addr as usize).wrapping_add(off);
        // SAFETY: the pages and the range as just said; a kernel `src` is
        // valid for `len` bytes (a slice), a user one is read without faults.
        let r = unsafe {
            ffi::rust_ipc_pinned_fill(pages, self.start, off, src, len, kernel, self.mm, dst)
        };
        if r == 0 {
            Ok(())
        } else {
            Err(EFAULT)
        }
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        let (pages, inline) = (self.pages(), self.inline.as_mut_ptr());
        // Never under a queue lock (a receiver's pins go after it,
        // `Parts::receive_run`): unpinning may sleep.
        // SAFETY: by the type invariant the pages are pinned, in `inline`
        // or the helper's array, charged to `user` and counted in `mm` (all
        // none or null if nothing was pinned); none is used again.
        unsafe { ffi::rust_ipc_unpin_user(pages, self.npages, inline, self.user, self.mm) };
    }
}
