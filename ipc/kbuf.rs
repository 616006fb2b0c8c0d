// SPDX-License-Identifier: GPL-2.0

//! A kmalloc'd byte buffer of fixed length: the head or a segment of a
//! message.  One `kmalloc` and one `kfree` each, as `load_msg` and
//! `free_msg` do: `KVec<u8>` allocates through the kernel crate's
//! allocator, whose `krealloc` path costs about 140 instructions more per
//! message (measured with `scripts/bench --profile`).  Charged to the
//! caller's memory cgroup (`GFP_KERNEL_ACCOUNT`), subject to failslab.

use core::{mem::MaybeUninit, ptr::NonNull};
use kernel::{
    bindings,
    prelude::*,
    uaccess::{UserPtr, UserSlice},
};

/// `len` initialised bytes at `ptr`, from `kmalloc`, owned.
pub(crate) struct KBuf {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: a `KBuf` owns its bytes exclusively (as a `KBox<[u8]>` does);
// `kfree` may be called from any task.
unsafe impl Send for KBuf {}
// SAFETY: `&KBuf` only gives `&[u8]`.
unsafe impl Sync for KBuf {}

impl KBuf {
    /// `len` uninitialised bytes (the caller fills all of them before it
    /// hands the buffer out).
    fn alloc(len: usize) -> Result<KBuf> {
        // SAFETY: kmalloc takes any size with these flags and returns NULL
        // or a block of at least that many bytes.
        let p = unsafe { kmalloc(len.max(1)) };
        let ptr = NonNull::new(p.cast::<u8>()).ok_or(ENOMEM)?;
        Ok(KBuf { ptr, len })
    }

    /// The bytes, to fill.
    fn uninit(&mut self) -> &mut [MaybeUninit<u8>] {
        // SAFETY: `ptr` is `len` bytes owned by `self`, borrowed mutably
        // here; `MaybeUninit` needs no initialisation.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr().cast(), self.len) }
    }

    /// A buffer of `len` bytes read from user memory at `src` (`EFAULT`
    /// if that faults).
    pub(crate) fn from_user(src: usize, len: usize) -> Result<KBuf> {
        let mut b = Self::alloc(len)?;
        UserSlice::new(UserPtr::from_addr(src), len)
            .reader()
            .read_raw(b.uninit())?;
        Ok(b)
    }

    /// A buffer holding a copy of `s`.
    pub(crate) fn from_slice(s: &[u8]) -> Result<KBuf> {
        let mut b = Self::alloc(s.len())?;
        copy_into(b.uninit(), s);
        Ok(b)
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` is `len` bytes owned by `self` and initialised:
        // `from_user` and `from_slice` fill all of them before returning.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for KBuf {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from kmalloc and is freed once, here.
        unsafe { bindings::kfree(self.ptr.as_ptr().cast()) };
    }
}

/// `kmalloc(size, GFP_KERNEL_ACCOUNT)`.
///
/// # Safety
///
/// None beyond the call's own: it returns NULL or `size` bytes.
#[cfg(not(CONFIG_KMALLOC_PARTITION_CACHES))]
unsafe fn kmalloc(size: usize) -> *mut c_void {
    // SAFETY: `__kmalloc_noprof` takes any size and gfp flags.
    unsafe { bindings::__kmalloc_noprof(size, bindings::GFP_KERNEL_ACCOUNT) }
}

/// `kmalloc(size, GFP_KERNEL_ACCOUNT)` where kmalloc takes a partition
/// token: through the kernel crate's `krealloc` helper.
///
/// # Safety
///
/// None beyond the call's own: it returns NULL or `size` bytes.
#[cfg(CONFIG_KMALLOC_PARTITION_CACHES)]
unsafe fn kmalloc(size: usize) -> *mut c_void {
    // SAFETY: krealloc of NULL allocates; alignment 1 and no node are valid.
    unsafe {
        bindings::krealloc_node_align(
            core::ptr::null(),
            size,
            1,
            bindings::GFP_KERNEL_ACCOUNT,
            bindings::NUMA_NO_NODE,
        )
    }
}

/// Reads `out.len()` bytes from user memory at `src` into `out`, which
/// need not be initialised (a stack buffer is not zeroed first), and
/// returns them.
pub(crate) fn read_user_into(src: usize, out: &mut [MaybeUninit<u8>]) -> Result<&[u8]> {
    let len = out.len();
    UserSlice::new(UserPtr::from_addr(src), len)
        .reader()
        .read_raw(out)?;
    // SAFETY: `read_raw` succeeded, so it wrote all `len` bytes of `out`.
    Ok(unsafe { core::slice::from_raw_parts(out.as_ptr().cast::<u8>(), len) })
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
