// SPDX-License-Identifier: GPL-2.0

//! The caller's credentials and capabilities, for the native permission
//! rules: POSIX queues check the fs ids like `inode_permission`, System V
//! queues the effective ids like `ipcperms`.  Ids are kept as raw kernel
//! ids (`kuid_t.val`, `kgid_t.val`) and converted at the user boundary.

use crate::ipc::kernel_api;
use kernel::{bindings, prelude::*};

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
        let [uid, euid, egid, fsuid, fsgid] = kernel_api::current_ids();
        Ids {
            uid,
            euid,
            egid,
            fsuid,
            fsgid,
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

/// Whether a restore may make an object owned by `uid` and `gid` where the
/// caller would own it as `own` (its fs ids for a POSIX queue, its
/// effective ids for a System V queue's creator): what `chown_ok` and
/// `chgrp_ok` let the owner of a file give it, itself and one of its groups,
/// else `CAP_CHOWN` (`EPERM`); `CAP_CHECKPOINT_RESTORE` gives nothing away.
pub(crate) fn may_give(uid: u32, gid: u32, own: (u32, u32)) -> Result {
    if (uid == own.0 && (gid == own.1 || in_group(gid)))
        || kernel_api::capable_wrt_ids(uid, gid, bindings::CAP_CHOWN, true)
    {
        Ok(())
    } else {
        Err(EPERM)
    }
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

/// `current_umask()`.
pub(crate) fn current_umask() -> u32 {
    kernel_api::current_umask()
}
