// SPDX-License-Identifier: GPL-2.0

//! Raw kernel memory for messages: the `kmalloc` of their blocks (one
//! `kmalloc` and one `kfree` per block, as `load_msg` and `free_msg` do,
//! where the kernel crate's allocator goes through `krealloc`: about 140
//! instructions more per message, measured with `scripts/bench --profile`),
//! and buffers filled without being zeroed first.

use core::mem::MaybeUninit;
use kernel::{bindings, prelude::*};

pub(crate) use crate::ipc::kernel_api::kmalloc;

/// Reads `out.len()` bytes from user memory at `src` into `out`, which
/// need not be initialised (a stack buffer is not zeroed first), and
/// returns them (`EFAULT` if any byte cannot be read).
///
/// One `copy_from_user()`, as `load_msg` makes: `UserSliceReader::read_raw`
/// does the same behind a bounds check of its own and an out-of-line call,
/// 25-30 instructions a message more (`scripts/bench --profile`).
pub(crate) fn read_user_into(src: usize, out: &mut [MaybeUninit<u8>]) -> Result<&[u8]> {
    let len = out.len();
    // SAFETY: `out` is valid for writes of `len` bytes; `copy_from_user`
    // checks the user range itself (`access_ok`) and fails on a fault.
    let left =
        unsafe { bindings::copy_from_user(out.as_mut_ptr().cast(), src as *const c_void, len) };
    if left != 0 {
        return Err(EFAULT);
    }
    // SAFETY: `copy_from_user` returned 0, so it wrote all `len` bytes of `out`.
    Ok(unsafe { core::slice::from_raw_parts(out.as_ptr().cast::<u8>(), len) })
}

/// `strncpy_from_user()`: copies the string at user `src` into `dst`, at
/// most `dst.len()` bytes, and returns its length: `dst.len()` if none of
/// them was the NUL (no byte after them is read; the kernel crate's
/// `strcpy_into_buf` cannot tell that case from a string that ends at the
/// last byte).  `EFAULT` if a byte it needed cannot be read.
pub(crate) fn strncpy_from_user(dst: &mut [u8], src: u64) -> Result<usize> {
    let count = isize::try_from(dst.len()).map_err(|_| EINVAL)?;
    // SAFETY: `dst` is valid for writes of `count` bytes; the call checks
    // the user range itself and stops at a fault.
    let r = unsafe { bindings::strncpy_from_user(dst.as_mut_ptr(), src as *const u8, count) };
    usize::try_from(r).map_err(|_| EFAULT)
}

/// [`strncpy_from_user`] into a buffer that need not be initialised (a
/// name's stack buffer is not zeroed first: 71 instructions an `mq_open`);
/// returns the bytes before the NUL, all of `dst` if none of them was the
/// NUL.
pub(crate) fn strncpy_from_user_uninit(dst: &mut [MaybeUninit<u8>], src: u64) -> Result<&[u8]> {
    let count = isize::try_from(dst.len()).map_err(|_| EINVAL)?;
    // SAFETY: `dst` is valid for writes of `count` bytes; the call checks
    // the user range itself and stops at a fault.
    let r =
        unsafe { bindings::strncpy_from_user(dst.as_mut_ptr().cast(), src as *const u8, count) };
    let len = usize::try_from(r).map_err(|_| EFAULT)?.min(dst.len());
    // SAFETY: `strncpy_from_user` returned `len`, so it wrote the first
    // `len` bytes of `dst` (at most `count`).
    Ok(unsafe { core::slice::from_raw_parts(dst.as_ptr().cast::<u8>(), len) })
}

/// Writes `src` to user memory at `dst` with one `copy_to_user()`, as
/// `store_msg` makes it (`EFAULT` if any byte cannot be written): without
/// `UserSliceWriter::write_slice`'s out-of-line call and bounds check, 30
/// instructions a message of a receive batch (`scripts/bench --profile`).
pub(crate) fn write_user_from(dst: usize, src: &[u8]) -> Result {
    let (to, len) = (dst as *mut c_void, src.len());
    // SAFETY: `src` is valid for reads of `len` bytes; `copy_to_user`
    // checks the user range itself (`access_ok`) and fails on a fault.
    let left = unsafe { bindings::copy_to_user(to, src.as_ptr().cast(), len) };
    if left != 0 {
        return Err(EFAULT);
    }
    Ok(())
}

/// Writes `src` to user memory at `dst` with one `_copy_to_user()` and
/// returns how many bytes it wrote: all, or those before the first that
/// faulted.  Without `copy_to_user`'s hardened-usercopy check of the kernel
/// buffer (as `UserSliceWriter::write_slice`: `src` is a slice, valid for
/// `len` bytes by its type), which cost a batch's write-back of its items,
/// in a `kvmalloc`'d array, 370 instructions.
pub(crate) fn write_user_prefix(dst: usize, src: &[u8]) -> usize {
    let (to, len) = (dst as *mut c_void, src.len());
    let n = len as kernel::ffi::c_ulong;
    // SAFETY: `src` is valid for reads of `len` bytes; `_copy_to_user`
    // checks the user range itself (`access_ok`) and stops at a fault; what
    // it leaves is at most `len`.
    let left = unsafe { bindings::_copy_to_user(to, src.as_ptr().cast(), n) };
    len - (left as usize).min(len)
}

/// Whether the `len` bytes at user address `addr` (at most two pages) are
/// mapped writable with their pages there now, without a fault: nothing is
/// written (a later write may still fault).
pub(crate) fn user_writable_now(addr: u64, len: usize) -> bool {
    // SAFETY: an FFI call without requirements: the helper checks the range
    // and takes and puts back the pages itself.
    unsafe { super::ffi::rust_ipc_user_writable_now(addr as usize, len) }
}

/// Writes `parts` one after the other at the start of `out` (which need
/// not be initialised) and returns the bytes written; `None` if they do not
/// fit.
pub(crate) fn concat_into<'a>(out: &'a mut [MaybeUninit<u8>], parts: &[&[u8]]) -> Option<&'a [u8]> {
    let mut n = 0;
    for p in parts {
        copy_into(out.get_mut(n..n + p.len())?, p);
        n += p.len();
    }
    let done = out.get(..n)?;
    // SAFETY: the loop above wrote each of the first `n` bytes.
    Some(unsafe { core::slice::from_raw_parts(done.as_ptr().cast::<u8>(), n) })
}

/// Copies `src` to the start of `dst` (as much as fits), with one
/// `memcpy` (a loop of `MaybeUninit::write` is not turned into one).
fn copy_into(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    let n = dst.len().min(src.len());
    // SAFETY: both ranges are `n` bytes inside their slices, and a `&mut`
    // slice cannot overlap a `&` one.
    unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr().cast::<u8>(), n) };
}
