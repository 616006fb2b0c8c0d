// SPDX-License-Identifier: GPL-2.0

//! The `/dev/rust_ipc` registration.
//!
//! 7.3's [`MiscDeviceRegistration`] offers neither a device mode nor the
//! `poll` and `flush` file operations that a queue descriptor needs.  This is
//! the one small wrapper that adds them: it takes the file operations the
//! kernel crate builds for [`RipcFile`] (open, release, read), copies them
//! into a table of its own with `ioctl`, `poll`, `flush` and `llseek` added,
//! and registers the misc device with mode 0666.
//!
//! [`MiscDeviceRegistration`]: kernel::miscdevice::MiscDeviceRegistration

use crate::ipc::device::RipcFile;
use core::ptr::NonNull;
use kernel::{
    bindings,
    error::to_result,
    fs::File,
    miscdevice::{MiscDevice, MiscDeviceOptions},
    prelude::*,
    sync::{aref::ARef, poll::PollTable},
    types::{ForeignOwnable, Opaque},
};

type Ptr = <RipcFile as MiscDevice>::Ptr;

/// A registered `/dev/rust_ipc`.
///
/// # Invariants
///
/// `misc` is registered with `misc_register()` and points at `fops`; both
/// stay pinned until `Drop` deregisters the device.
#[pin_data(PinnedDrop)]
pub(crate) struct Registration {
    #[pin]
    fops: Opaque<bindings::file_operations>,
    #[pin]
    misc: Opaque<bindings::miscdevice>,
}

// SAFETY: `misc_deregister` may be called from any thread, and the
// registration has no `&self` methods that touch the C structs.
unsafe impl Send for Registration {}
// SAFETY: as above.
unsafe impl Sync for Registration {}

impl Registration {
    pub(crate) fn register(name: &'static CStr) -> impl PinInit<Self, Error> {
        let raw = MiscDeviceOptions { name }.into_raw::<RipcFile>();
        try_pin_init!(&this in Self {
            fops <- Opaque::ffi_init(move |slot: *mut bindings::file_operations| {
                // SAFETY: `raw.fops` points at the kernel crate's static
                // vtable for `RipcFile`; `slot` is valid for writes.
                unsafe {
                    slot.write(bindings::file_operations {
                        unlocked_ioctl: Some(ioctl),
                        // `None` without `CONFIG_COMPAT`.
                        compat_ioctl: bindings::compat_ptr_ioctl,
                        poll: Some(poll),
                        flush: Some(flush),
                        llseek: Some(llseek),
                        ..*raw.fops
                    })
                };
            }),
            misc <- Opaque::try_ffi_init(move |slot: *mut bindings::miscdevice| {
                let mut misc = raw;
                // SAFETY: `this` is pinned; `fops` was initialised above and
                // lives as long as the registration.
                misc.fops = Opaque::cast_into(unsafe {
                    core::ptr::addr_of!((*this.as_ptr()).fops)
                });
                misc.mode = 0o666;
                // SAFETY: `slot` is valid for writes.
                unsafe { slot.write(misc) };
                // SAFETY: `slot` holds a complete miscdevice whose name and
                // fops outlive it; `Drop` deregisters it before it is freed.
                to_result(unsafe { bindings::misc_register(slot) })
            }),
        })
    }
}

#[pinned_drop]
impl PinnedDrop for Registration {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: by the type invariant the device is registered.
        unsafe { bindings::misc_deregister(self.misc.get()) };
    }
}

/// # Safety
///
/// `file` is an open file of this device, whose `private_data` the kernel
/// crate's `open` set to a `Ptr` that `release` has not yet taken back.
unsafe fn private<'a>(file: *mut bindings::file) -> <Ptr as ForeignOwnable>::Borrowed<'a> {
    // SAFETY: by the function's safety requirement.
    unsafe { <Ptr as ForeignOwnable>::borrow((*file).private_data) }
}

/// `unlocked_ioctl` file operation: [`RipcFile::ioctl`] inlined (a 32-bit
/// caller's `compat_ioctl` is `compat_ptr_ioctl`, which calls this).
///
/// # Safety
///
/// Called by the VFS with a valid open file of this device.
unsafe extern "C" fn ioctl(file: *mut bindings::file, cmd: c_uint, arg: c_ulong) -> c_long {
    // SAFETY: the VFS calls `unlocked_ioctl` between `open` and `release`.
    let dev = unsafe { private(file) };
    // SAFETY: `file` is valid for the call and no fdget_pos region is open.
    let f = unsafe { File::from_raw_file(file) };
    match dev.ioctl(f, cmd, arg) {
        Ok(n) => n as c_long,
        Err(e) => e.to_errno() as c_long,
    }
}

/// `llseek` file operation: a POSIX queue's file has the size of an mqueue
/// inode (`rust_ipc_mq_llseek`), any other file of the device the device
/// inode's (`default_llseek`).
///
/// # Safety
///
/// Called by the VFS with a valid open file of this device.
unsafe extern "C" fn llseek(
    file: *mut bindings::file,
    offset: bindings::loff_t,
    whence: c_int,
) -> bindings::loff_t {
    // SAFETY: the VFS calls `llseek` between `open` and `release`.
    let dev = unsafe { private(file) };
    if dev.is_mq() {
        // SAFETY: `file` is valid for the call; the helper takes any
        // offset and whence.
        unsafe { super::ffi::rust_ipc_mq_llseek(file, offset, whence) }
    } else {
        // SAFETY: as above.
        unsafe { bindings::default_llseek(file, offset, whence) }
    }
}

/// `poll` file operation.
///
/// # Safety
///
/// Called by the VFS with a valid open file of this device and a valid (or
/// null) poll table.
unsafe extern "C" fn poll(
    file: *mut bindings::file,
    wait: *mut bindings::poll_table_struct,
) -> bindings::__poll_t {
    // SAFETY: the VFS calls `poll` between `open` and `release`.
    let dev = unsafe { private(file) };
    // SAFETY: `file` is valid for the call and no fdget_pos region is open.
    let f = unsafe { File::from_raw_file(file) };
    // SAFETY: `wait` is null or a valid poll table for the call.
    let table = unsafe { PollTable::from_raw(wait) };
    dev.poll(f, &table)
}

/// `flush` file operation: runs at every `close()` of a descriptor.
///
/// # Safety
///
/// Called by the VFS with a valid open file of this device.
unsafe extern "C" fn flush(file: *mut bindings::file, _id: bindings::fl_owner_t) -> c_int {
    // SAFETY: the VFS calls `flush` between `open` and `release`.
    let dev = unsafe { private(file) };
    dev.flush();
    0
}

/// The private data of `file` if it is a file of this device, else null.
///
/// # Safety
///
/// `file` is a valid file that the caller holds a reference on.
unsafe fn device_private(file: *mut bindings::file) -> *mut c_void {
    let flush_fn: unsafe extern "C" fn(*mut bindings::file, bindings::fl_owner_t) -> c_int = flush;
    // SAFETY: by the function's safety requirement; the helper only
    // compares its `f_op->flush` and reads its `private_data`.
    unsafe { super::ffi::rust_ipc_file_private(file, flush_fn as *const c_void) }
}

/// A new file of this device, opened again from the path of `file` (one of
/// its files) with `flags` by the caller's credentials, and what `f` makes
/// of its private data (the queue it binds it to; not called for an
/// `O_PATH` file, which has none): `RIPC_MQ_OPEN_FD`'s new descriptor's
/// file.  The device's `open` runs, as does the LSMs' `file_open` hook.
pub(crate) fn reopen(
    file: &File,
    flags: u32,
    f: impl FnOnce(&RipcFile) -> Result,
) -> Result<ARef<File>> {
    // The bits as they are (native's `mq_open` takes an `int`).
    let flags = flags as c_int;
    // SAFETY: `file` is valid for the call; the helper opens its path again
    // (`dentry_open`), which holds its own references.
    let p =
        kernel::error::from_err_ptr(unsafe { super::ffi::rust_ipc_reopen(file.as_ptr(), flags) })?;
    let p = NonNull::new(p).ok_or(ENOMEM)?;
    // SAFETY: `p` is a new file whose one reference `dentry_open` gave us,
    // which the `ARef` takes over; no `fdget_pos` region is open on a file
    // in no descriptor table.
    let new: ARef<File> = unsafe { ARef::from_raw(p.cast()) };
    if flags as u32 & bindings::O_PATH != 0 {
        return Ok(new);
    }
    // SAFETY: `new` holds a reference on the file.
    let priv_data = unsafe { device_private(new.as_ptr()) };
    if priv_data.is_null() {
        return Err(EBADF);
    }
    // SAFETY: `f_op->flush` is this module's only on files of this device,
    // whose `open` set `private_data` to a `Ptr`; `new` keeps `release`
    // from taking it back until after the call.
    let dev = unsafe { <Ptr as ForeignOwnable>::borrow(priv_data) };
    f(dev)?;
    Ok(new)
}

/// Calls `f` with the private data of the open file `fd` of the caller if
/// it is a file of this device (else with `None`); `EBADF` if `fd` is not
/// an open descriptor.  The file is held for the call.
pub(crate) fn with_device_file<R>(fd: i32, f: impl FnOnce(Option<&RipcFile>) -> R) -> Result<R> {
    let file = kernel::fs::LocalFile::fget(u32::try_from(fd).map_err(|_| EBADF)?)?;
    // SAFETY: `file` holds a reference on the file.
    let p = unsafe { device_private(file.as_ptr()) };
    if p.is_null() {
        return Ok(f(None));
    }
    // `f_op->flush` is this module's only on files of this device, whose
    // `open` set `private_data` to a `Ptr` before the file could be
    // installed in a descriptor table.
    // SAFETY: as just said; the file reference we hold keeps `release`
    // from taking `private_data` back until after the call.
    let dev = unsafe { <Ptr as ForeignOwnable>::borrow(p) };
    Ok(f(Some(dev)))
}
