// SPDX-License-Identifier: GPL-2.0

//! The uapi, `include/uapi/linux/rust_ipc.h`, as bindgen generated it at
//! build time, and the one way argument structs are copied in and out.

#![allow(
    non_camel_case_types,
    non_upper_case_globals,
    dead_code,
    unreachable_pub,
    missing_docs,
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    clippy::ptr_as_ptr,
    clippy::cast_lossless,
    clippy::ref_as_ptr
)]

use super::{ffi, kmem};
use kernel::{
    prelude::*,
    transmute::{AsBytes, FromBytes},
    uaccess::{UserPtr, UserSlice},
};

include!(env!("RUST_IPC_UAPI_RS"));

macro_rules! plain_data {
    ($($t:ty),* $(,)?) => {$(
        // SAFETY: the uapi structs hold only integers (and arrays and structs
        // of integers) with explicit padding fields, so every bit pattern is
        // valid and there are no uninitialised padding bytes.
        unsafe impl FromBytes for $t {}
        // SAFETY: as above.
        unsafe impl AsBytes for $t {}
    )*};
}

plain_data!(
    ripc_limits,
    ripc_version,
    ripc_set_limits,
    ripc_mq_attr,
    ripc_timespec,
    ripc_clock,
    ripc_mq_open,
    ripc_mq_unlink,
    ripc_mq_setperm,
    ripc_mq_xfer,
    ripc_mq_getsetattr,
    ripc_mq_notify,
    ripc_sigevent,
    ripc_msgget,
    ripc_msgsnd,
    ripc_msgrcv,
    ripc_ipc_perm,
    ripc_msqid_ds,
    ripc_msginfo,
    ripc_msgctl,
    ripc_msgbind,
    ripc_msg_next_id,
    ripc_mq_item,
    ripc_mq_batch,
    ripc_msg_item,
    ripc_msg_batch,
    ripc_list,
    ripc_notify_fd,
    ripc_notify_fd_open,
    ripc_notify_record,
    ripc_mq_peek,
    ripc_mq_peek_batch,
    ripc_dump,
    ripc_queue_stats,
    ripc_stats,
);

/// An ioctl argument struct that starts with `__u32 size`.
pub(crate) trait SizedArg: FromBytes + AsBytes + Default {
    /// Whether its reserved fields (`__pad`) are 0: else [`read_arg`] is
    /// `EINVAL`, so that a later ABI may give them a meaning without this
    /// module taking what a caller of that ABI puts there for nothing.
    /// (The structs laid out as native's, `struct sigevent`, `mq_attr`,
    /// `msqid64_ds`, keep native's rule: their reserved fields are
    /// ignored.)
    fn reserved_clear(&self) -> bool {
        true
    }
}

macro_rules! sized_args {
    ($($t:ident $([$($f:ident),+])?),* $(,)?) => {$(
        impl SizedArg for $t {
            $(fn reserved_clear(&self) -> bool {
                true $(&& self.$f == 0)+
            })?
        }
    )*};
}

sized_args!(
    ripc_version,
    ripc_set_limits,
    ripc_list,
    ripc_mq_open[__pad],
    ripc_mq_unlink[__pad],
    ripc_mq_setperm[__pad],
    ripc_mq_xfer,
    ripc_mq_getsetattr[__pad],
    ripc_mq_notify[__pad],
    ripc_msgget[__pad],
    ripc_msgsnd[__pad],
    ripc_msgrcv[__pad],
    ripc_msgctl[__pad],
    ripc_msgbind,
    ripc_msg_next_id[__pad],
    ripc_mq_batch[__pad],
    ripc_msg_batch[__pad],
    ripc_notify_fd[__pad],
    ripc_notify_fd_open,
    ripc_mq_peek,
    ripc_mq_peek_batch,
    ripc_dump[__pad],
    ripc_stats,
);

/// Reads an argument struct with the `copy_struct_from_user` rule: the
/// caller's `size` says how much it knows; a shorter struct is zero-extended,
/// a longer one must be zero past what the module knows (else `E2BIG`).
#[inline(always)]
pub(crate) fn read_arg<T: SizedArg>(arg: usize) -> Result<T> {
    let ksize = size_of::<T>();
    // Fast path, one copy of a constant size ([`read_words`]): a caller of
    // this ABI version, whose struct is exactly as large as ours.  Only
    // within the page `size` is in: a shorter struct at the end of a page
    // must not have the next page read (a `userfaultfd` or FUSE page would
    // see it, as `copy_struct_from_user` never reads past `size`).
    let in_page = arg % kernel::page::PAGE_SIZE + ksize <= kernel::page::PAGE_SIZE;
    let size_field = |v: &T| -> usize {
        v.as_bytes()
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .map_or(0, |b| u32::from_ne_bytes(b) as usize)
    };
    if let Some(val) = in_page.then(|| read_words::<T>(arg)).flatten() {
        if size_field(&val) == ksize {
            return val.reserved_clear().then_some(val).ok_or(EINVAL);
        }
    }
    let mut reader = UserSlice::new(UserPtr::from_addr(arg), size_of::<u32>()).reader();
    let usize_ = reader.read::<u32>()? as usize;
    if usize_ < size_of::<u32>() {
        return Err(EINVAL);
    }
    if usize_ > kernel::page::PAGE_SIZE {
        return Err(E2BIG);
    }
    let mut val = T::default();
    let n = usize_.min(ksize);
    let mut reader = UserSlice::new(UserPtr::from_addr(arg), usize_).reader();
    reader.read_slice(&mut val.as_bytes_mut()[..n])?;
    // The size read a second time with the rest may differ (another thread
    // changed it): the one checked stands, as the size written back.
    if let Some(size) = val.as_bytes_mut().get_mut(..4) {
        size.copy_from_slice(&(usize_ as u32).to_ne_bytes());
    }
    // Anything the caller knows beyond our struct must be zero.
    let mut rest = usize_ - n;
    let mut chunk = [0u8; 64];
    while rest > 0 {
        let k = rest.min(chunk.len());
        reader.read_slice(&mut chunk[..k])?;
        if chunk[..k].iter().any(|&b| b != 0) {
            return Err(E2BIG);
        }
        rest -= k;
    }
    val.reserved_clear().then_some(val).ok_or(EINVAL)
}

/// The fast path's copy of a `T`: a struct whose size is a multiple of 8
/// and whose alignment is 8 (the data path's argument structs, a timeout,
/// a System V message's type) is read in one user-access section straight
/// into place (measured: about 60 instructions a call less than
/// `copy_from_user`); any other `T` in one `copy_from_user`, as is a user
/// pointer that is not 8-aligned except on x86-64 (where a word load need
/// not be aligned; an architecture with strict alignment could refuse it).
/// `None` if it faults.
fn read_words<T: FromBytes>(arg: usize) -> Option<T> {
    let ksize = size_of::<T>();
    let aligned = cfg!(CONFIG_X86_64) || arg % 8 == 0;
    if ksize % 8 != 0 || core::mem::align_of::<T>() < 8 || !aligned {
        return UserSlice::new(UserPtr::from_addr(arg), ksize)
            .reader()
            .read::<T>()
            .ok();
    }
    let mut val = core::mem::MaybeUninit::<T>::uninit();
    let n = (ksize / 8) as c_uint;
    // SAFETY: `val` is valid for writes of `ksize` bytes, 8-aligned: `n`
    // words; the helper checks `arg` as a user pointer.
    let r = unsafe { ffi::rust_ipc_read_user_words(val.as_mut_ptr().cast(), arg as *const u64, n) };
    // SAFETY: on success all `ksize` bytes were written, and any bytes are
    // a valid `T` (`FromBytes`).
    (r == 0).then(|| unsafe { val.assume_init() })
}

/// The fourth to sixth arguments of the caller's `ioctl(2)` system call
/// (a register call, `RIPC_MQ_TIMEDSEND` ...): `ENOTTY` if the call is not
/// a native 64-bit `ioctl` with `cmd` and `arg` (a 32-bit caller).
#[inline(always)]
pub(crate) fn ioctl_regs(cmd: u32, arg: usize) -> Result<[u64; 3]> {
    let mut rest: [c_ulong; 3] = [0; 3];
    // SAFETY: `rest` is valid for writes of three `unsigned long`s.
    if unsafe { ffi::rust_ipc_ioctl_args(cmd, arg as c_ulong, rest.as_mut_ptr()) } {
        Ok(rest.map(|r| r as u64))
    } else {
        Err(ENOTTY)
    }
}

/// `RIPC_MSGSND_REGS`' arguments (the uapi header) into `a`, a zeroed
/// [`ripc_msgsnd`]: `ENOTTY` as [`ioctl_regs`], `EINVAL` for a sixth
/// argument other than 0.
#[inline(always)]
pub(crate) fn msgsnd_regs(cmd: u32, arg: usize, a: &mut ripc_msgsnd) -> Result {
    // SAFETY: `a` is valid for writes of a `struct ripc_msgsnd`, the type
    // the helper writes (bindgen'd from the same uapi header).
    ok_or_errno(unsafe { ffi::rust_ipc_msgsnd_regs(cmd, arg as c_ulong, a) })
}

/// `RIPC_MSGRCV_REGS`' arguments (the uapi header) into `a`, a zeroed
/// [`ripc_msgrcv`]: `ENOTTY` as [`ioctl_regs`].
#[inline(always)]
pub(crate) fn msgrcv_regs(cmd: u32, arg: usize, a: &mut ripc_msgrcv) -> Result {
    // SAFETY: `a` is valid for writes of a `struct ripc_msgrcv`, the type
    // the helper writes (bindgen'd from the same uapi header).
    ok_or_errno(unsafe { ffi::rust_ipc_msgrcv_regs(cmd, arg as c_ulong, a) })
}

/// A helper's 0 or negative errno as a `Result`: the success test inline
/// (the kernel crate's `to_result`, a call out of line, took 5
/// instructions a register call).
#[inline(always)]
fn ok_or_errno(r: c_int) -> Result {
    if r == 0 {
        Ok(())
    } else {
        kernel::error::to_result(r)
    }
}

/// Writes `val` back to the caller's struct, at most the `size` it knows.
pub(crate) fn write_arg<T: SizedArg>(arg: usize, val: &T, usize_: u32) -> Result {
    let n = (usize_ as usize).min(size_of::<T>());
    UserSlice::new(UserPtr::from_addr(arg), n)
        .writer()
        .write_slice(&val.as_bytes()[..n])
}

/// Reads a plain struct (no size header) from a user pointer
/// ([`read_words`]).
pub(crate) fn read_user<T: FromBytes>(ptr: u64) -> Result<T> {
    read_words(ptr as usize).ok_or(EFAULT)
}

/// Writes a plain struct (no size header) to a user pointer.
pub(crate) fn write_user<T: AsBytes>(ptr: u64, val: &T) -> Result {
    UserSlice::new(UserPtr::from_addr(ptr as usize), size_of::<T>())
        .writer()
        .write(val)
}

/// The address of item `i` of a user array of `T` at `items`.
pub(crate) fn item_addr<T>(items: u64, i: usize) -> u64 {
    items.wrapping_add((i * size_of::<T>()) as u64)
}

/// The item of a user array that lies across a page boundary, if one does,
/// as the call read it (before it changed it): what [`write_items`] gives
/// back to the part of it written before a fault at that boundary.  One: a
/// batch writes its items back a part at a time, no longer than a page.
pub(crate) struct Across<T> {
    at: usize,
    item: T,
}

impl<T: Copy + Default> Across<T> {
    /// That of `vals`, the items of the user array at `items`.
    pub(crate) fn save(items: u64, vals: &[T]) -> Self {
        let (size, page, start) = (size_of::<T>(), kernel::page::PAGE_SIZE, items as usize);
        let end = start.saturating_add(vals.len().saturating_mul(size));
        let off = (start / page)
            .saturating_add(1)
            .saturating_mul(page)
            .wrapping_sub(start);
        match vals.get(off.checked_div(size).unwrap_or(usize::MAX)) {
            Some(v) if start.saturating_add(off) < end && off % size != 0 => Across {
                at: off / size,
                item: *v,
            },
            _ => Across {
                at: usize::MAX,
                item: T::default(),
            },
        }
    }
}

/// Writes `vals` to the user array at `items` in one copy; returns how many
/// items were written whole.  Every item is written or left as it was: a
/// copy that stops at a fault (at a page boundary) in the middle of an item
/// gives the part it wrote the bytes it had (`across`, saved before the
/// call changed them).
pub(crate) fn write_items<T: AsBytes + Copy + Default>(
    items: u64,
    vals: &[T],
    across: &Across<T>,
) -> usize {
    let size = size_of::<T>().max(1);
    let bytes = vals.as_bytes();
    let written = kmem::write_user_prefix(items as usize, bytes);
    if written == bytes.len() {
        return vals.len();
    }
    let (i, part) = (written / size, written % size);
    if let Some(old) = Some(&across.item).filter(|_| part > 0 && across.at == i) {
        let at = item_addr::<T>(items, i) as usize;
        kmem::write_user_prefix(at, old.as_bytes().get(..part).unwrap_or(&[]));
    }
    i.min(vals.len())
}

/// An item of a batch's array: its reserved field must be 0, as an argument
/// struct's ([`SizedArg::reserved_clear`]).
pub(crate) trait Item: FromBytes {
    fn reserved_clear(&self) -> bool {
        true
    }
}

impl Item for ripc_mq_item {
    fn reserved_clear(&self) -> bool {
        self.__pad == 0
    }
}

impl Item for ripc_msg_item {}

/// Reads the `count` items of a user array of `T` at `items` in one copy
/// (a batch's items).  If that copy faults, the items are read one by one
/// instead, to find the first that cannot be read: the items before it are
/// returned with the error; so are those before the first whose reserved
/// field is not 0, with `EINVAL`.  (`kvmalloc`: 1 024 items need not be
/// physically contiguous.)
pub(crate) fn read_items<T: Item>(items: u64, count: usize) -> Result<(KVVec<T>, Option<Error>)> {
    let mut out = KVVec::<T>::with_capacity(count, GFP_KERNEL_ACCOUNT)?;
    let spare = out.spare_capacity_mut();
    let len = count.min(spare.len()) * size_of::<T>();
    // SAFETY: `spare` is `len` bytes or more of writable memory that we own,
    // and a byte may be uninitialised in `MaybeUninit<u8>`.
    let bytes = unsafe { core::slice::from_raw_parts_mut(spare.as_mut_ptr().cast(), len) };
    let mut reader = UserSlice::new(UserPtr::from_addr(items as usize), len).reader();
    if reader.read_raw(bytes).is_ok() {
        // SAFETY: the first `count` slots were just filled from user memory,
        // and every bit pattern is a valid `T` (`FromBytes`).
        unsafe { out.inc_len(len / size_of::<T>().max(1)) };
        // All at once first (no branch an item), then which.
        if !out.iter().fold(true, |ok, it| ok & it.reserved_clear()) {
            let k = out.iter().position(|it| !it.reserved_clear()).unwrap_or(0);
            out.truncate(k);
            return Ok((out, Some(EINVAL)));
        }
        return Ok((out, None));
    }
    for i in 0..count {
        match read_user::<T>(item_addr::<T>(items, i)) {
            Ok(it) if !it.reserved_clear() => return Ok((out, Some(EINVAL))),
            Ok(it) => {
                let _ = out.push_within_capacity(it);
            }
            Err(e) => return Ok((out, Some(e))),
        }
    }
    Ok((out, None))
}
