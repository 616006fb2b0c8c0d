// SPDX-License-Identifier: GPL-2.0

//! The caller's credentials and capabilities, for the native permission
//! rules: POSIX queues check the fs ids like `inode_permission`, System V
//! queues the effective ids like `ipcperms`.  Ids are kept as raw kernel
//! ids (`kuid_t.val`, `kgid_t.val`) and converted at the user boundary.

use kernel::{bindings, prelude::*, task::Task};

pub(crate) use bindings::{CAP_DAC_OVERRIDE, CAP_IPC_OWNER, CAP_SYS_ADMIN, CAP_SYS_RESOURCE};

/// The ids of the current task.
#[derive(Clone, Copy)]
pub(crate) struct Ids {
    pub(crate) uid: u32,
    pub(crate) euid: u32,
    pub(crate) egid: u32,
    pub(crate) fsuid: u32,
    pub(crate) fsgid: u32,
}

impl Ids {
    pub(crate) fn current() -> Ids {
        // SAFETY: `current->cred` is valid while the task runs and only the
        // task itself replaces it, so reading it from the task is safe.
        let c = unsafe { &*(*Task::current_raw()).cred };
        Ids {
            uid: c.uid.val,
            euid: c.euid.val,
            egid: c.egid.val,
            fsuid: c.fsuid.val,
            fsgid: c.fsgid.val,
        }
    }
}

/// `capable(cap)` for the current task.
pub(crate) fn capable(cap: u32) -> bool {
    // SAFETY: `capable` has no preconditions.
    unsafe { bindings::capable(cap as c_int) }
}

/// Whether the current task is in group `gid` by its fsgid or
/// supplementary groups (`in_group_p`).
pub(crate) fn in_group(gid: u32) -> bool {
    // SAFETY: plain call on the current credentials.
    unsafe { bindings::in_group_p(bindings::kgid_t { val: gid }) != 0 }
}

/// The rwx bits of `mode` that apply to a caller with uid `uid`: the owner
/// bits if it is one of `owners`, the group bits if it is in one of `groups`
/// (`in_group_p`), else the other bits.
pub(crate) fn granted(mode: u32, uid: u32, owners: &[u32], groups: &[u32]) -> u32 {
    if owners.contains(&uid) {
        (mode >> 6) & 7
    } else if groups.iter().any(|&g| in_group(g)) {
        (mode >> 3) & 7
    } else {
        mode & 7
    }
}

/// A kernel uid as the caller's user namespace sees it (`from_kuid_munged`).
#[cfg(CONFIG_USER_NS)]
pub(crate) fn uid_to_user(kuid: u32) -> u32 {
    // SAFETY: plain conversion in the current user namespace.
    unsafe {
        bindings::from_kuid_munged(bindings::current_user_ns(), bindings::kuid_t { val: kuid })
    }
}

/// A kernel gid as the caller's user namespace sees it (`from_kgid_munged`).
#[cfg(CONFIG_USER_NS)]
pub(crate) fn gid_to_user(kgid: u32) -> u32 {
    // SAFETY: as above.
    unsafe {
        bindings::from_kgid_munged(bindings::current_user_ns(), bindings::kgid_t { val: kgid })
    }
}

/// A user's uid as a kernel uid (`EINVAL` if it has no mapping).
#[cfg(CONFIG_USER_NS)]
pub(crate) fn user_to_uid(uid: u32) -> Result<u32> {
    // SAFETY: as above.
    let k = unsafe { bindings::make_kuid(bindings::current_user_ns(), uid) };
    valid(k.val)
}

/// A user's gid as a kernel gid (`EINVAL` if it has no mapping).
#[cfg(CONFIG_USER_NS)]
pub(crate) fn user_to_gid(gid: u32) -> Result<u32> {
    // SAFETY: as above.
    let k = unsafe { bindings::make_kgid(bindings::current_user_ns(), gid) };
    valid(k.val)
}

// Without user namespaces the kernel ids are the user-visible ones.
#[cfg(not(CONFIG_USER_NS))]
pub(crate) fn uid_to_user(kuid: u32) -> u32 {
    kuid
}
#[cfg(not(CONFIG_USER_NS))]
pub(crate) fn gid_to_user(kgid: u32) -> u32 {
    kgid
}
#[cfg(not(CONFIG_USER_NS))]
pub(crate) fn user_to_uid(uid: u32) -> Result<u32> {
    valid(uid)
}
#[cfg(not(CONFIG_USER_NS))]
pub(crate) fn user_to_gid(gid: u32) -> Result<u32> {
    valid(gid)
}

/// `uid_valid`/`gid_valid`: -1 is no id.
fn valid(id: u32) -> Result<u32> {
    if id == u32::MAX {
        Err(EINVAL)
    } else {
        Ok(id)
    }
}

/// The head of `struct fs_struct` (`include/linux/fs_struct.h`), which
/// bindgen leaves opaque: `current_umask()` is an inline function with no
/// export, so this is the one place that reads the field.
#[cfg(not(CONFIG_RANDSTRUCT))]
#[repr(C)]
struct FsStructHead {
    users: c_int,
    seq: bindings::seqlock_t,
    umask: c_int,
}

/// `current_umask()`.
#[cfg(not(CONFIG_RANDSTRUCT))]
pub(crate) fn current_umask() -> u32 {
    // SAFETY: a user task's `fs` is valid while it runs; without
    // CONFIG_RANDSTRUCT `struct fs_struct` starts with the fields of
    // `FsStructHead`, in that order.
    unsafe {
        let fs = (*Task::current_raw()).fs.cast::<FsStructHead>();
        if fs.is_null() {
            0o022
        } else {
            (*fs).umask as u32
        }
    }
}

/// Checks, at load, that the Rust bindings' `struct task_struct` agrees with
/// the kernel's on the fields this module reads directly (`cred`, `tgid`,
/// and those around them).  bindgen drops the alignment of an empty aligned
/// struct (with `CONFIG_SCHEDSTATS=n`, `struct sched_statistics`), and then
/// every later field is misplaced; the module refuses to load rather than
/// read the wrong memory.
pub(crate) fn check_layout() -> Result {
    let task = Task::current_raw();
    // SAFETY: `get_task_cred` takes a reference on the current task's
    // credentials, released just below.
    let real = unsafe { bindings::get_task_cred(task) };
    // SAFETY: reading two pointers/ints of the running task; `real` is a
    // counted reference.
    let (direct, tgid, tgid_fn) = unsafe {
        let d = (*task).real_cred;
        let t = (*task).tgid;
        bindings::put_cred(real);
        (d, t, bindings::task_tgid_nr_ns(task, core::ptr::null_mut()))
    };
    if direct != real || tgid != tgid_fn {
        pr_err!(
            "rust_ipc: the Rust bindings of struct task_struct do not match the kernel's \
             (bindgen dropped an alignment); build the kernel with CONFIG_SCHEDSTATS=y\n"
        );
        return Err(ENOEXEC);
    }
    Ok(())
}
