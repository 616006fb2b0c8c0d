// SPDX-License-Identifier: GPL-2.0

//! The module's wrappers over the kernel: each reaches one kernel function,
//! or one static inline or macro through the C helpers beside this file
//! (`helpers.c`, compiled into the module by Kbuild, as `rust/helpers/`
//! serves the kernel crate), so that no kernel struct layout is read from
//! Rust.  Every `unsafe` that these need is here, next to the invariant
//! that makes it sound; the callers are safe Rust.

use core::ptr::NonNull;
use kernel::{bindings, prelude::*, sync::atomic::Atomic, task::Task};

pub(crate) mod chardev;
pub(crate) mod clock;
pub(crate) mod cred;
pub(crate) mod defs;
pub(crate) mod fifo;
pub(crate) mod globals;
pub(crate) mod kmem;
pub(crate) mod lock;
pub(crate) mod msg;
pub(crate) mod percpu;
pub(crate) mod pinned;
pub(crate) mod rcu_index;
pub(crate) mod tracked;
pub(crate) mod waitq;

mod ffi {
    use kernel::{bindings, prelude::*};

    // `struct pid` and `struct user_namespace` end in a flexible array,
    // which bindgen gives a zero-sized type: Rust passes only pointers to
    // them, never reads them.
    #[allow(improper_ctypes)]
    extern "C" {
        pub(super) fn rust_ipc_msg_buckets_create(useroffset: u32, usersize: u32) -> c_int;
        pub(super) fn rust_ipc_msg_buckets_destroy();
        pub(super) fn rust_ipc_kmalloc(
            size: usize,
            flags: bindings::gfp_t,
            head: bool,
        ) -> *mut c_void;
        pub(super) fn rust_ipc_kmalloc_nowait(size: usize, head: bool) -> *mut c_void;
        pub(super) fn rust_ipc_mq_llseek(
            file: *mut bindings::file,
            offset: bindings::loff_t,
            whence: c_int,
        ) -> bindings::loff_t;
        pub(super) fn rust_ipc_charged_to() -> c_ulong;
        pub(super) fn rust_ipc_current_ipc_ns() -> *mut bindings::ipc_namespace;
        pub(super) fn rust_ipc_is_current_ipc_ns(id: *const u64) -> bool;
        pub(super) fn rust_ipc_ipc_ns_id(ns: *mut bindings::ipc_namespace) -> u64;
        pub(super) fn rust_ipc_get_ipc_ns(
            ns: *mut bindings::ipc_namespace,
        ) -> *mut bindings::ipc_namespace;
        pub(super) fn rust_ipc_put_ipc_ns(ns: *mut bindings::ipc_namespace);
        pub(super) fn rust_ipc_ipc_ns_last_ref(ns: *mut bindings::ipc_namespace) -> bool;
        pub(super) fn rust_ipc_get_ipc_ns_user_ns(
            ns: *mut bindings::ipc_namespace,
        ) -> *mut bindings::user_namespace;
        pub(super) fn rust_ipc_mq_root(
            ns: *mut bindings::ipc_namespace,
            mode: *mut bindings::umode_t,
            uid: *mut bindings::kuid_t,
        ) -> bool;
        pub(super) fn rust_ipc_mq_root_permission(
            ns: *mut bindings::ipc_namespace,
            mask: c_int,
        ) -> c_int;
        pub(super) fn rust_ipc_mq_mnt_get(
            ns: *mut bindings::ipc_namespace,
        ) -> *mut bindings::vfsmount;
        pub(super) fn rust_ipc_mnt_put(mnt: *mut bindings::vfsmount);
        pub(super) fn rust_ipc_mnt_get_write(mnt: *mut bindings::vfsmount) -> c_int;
        pub(super) fn rust_ipc_mnt_put_write(mnt: *mut bindings::vfsmount);
        pub(super) fn rust_ipc_get_current_user_ns() -> *mut bindings::user_namespace;
        pub(super) fn rust_ipc_put_user_ns(ns: *mut bindings::user_namespace);
        pub(super) fn rust_ipc_fsids_mapped(ns: *mut bindings::user_namespace) -> bool;
        pub(super) fn rust_ipc_ids_mapped(
            ns: *mut bindings::user_namespace,
            uid: bindings::kuid_t,
            gid: bindings::kgid_t,
        ) -> bool;
        pub(super) fn rust_ipc_capable_wrt_ids(
            uid: bindings::kuid_t,
            gid: bindings::kgid_t,
            cap: c_int,
            audit: bool,
        ) -> bool;
        pub(super) fn rust_ipc_capable_wrt_uid(uid: bindings::kuid_t, cap: c_int) -> bool;
        pub(super) fn rust_ipc_current_ids(
            uid: *mut bindings::kuid_t,
            euid: *mut bindings::kuid_t,
            egid: *mut bindings::kgid_t,
            fsuid: *mut bindings::kuid_t,
            fsgid: *mut bindings::kgid_t,
        );
        pub(super) fn rust_ipc_current_umask() -> c_int;
        pub(super) fn rust_ipc_current_euid() -> bindings::kuid_t;
        pub(super) fn rust_ipc_file_set_flags(file: *mut bindings::file, mask: u32, flags: u32);
        pub(super) fn rust_ipc_set_interruptible();
        pub(super) fn rust_ipc_task_pid(task: *mut bindings::task_struct) -> *mut bindings::pid;
        pub(super) fn rust_ipc_sleep_until(
            clock: bindings::clockid_t,
            expires: bindings::ktime_t,
        ) -> c_int;
        pub(super) fn rust_ipc_coarse_mono_ns() -> i64;
        pub(super) fn rust_ipc_real_offset_ns() -> i64;
        pub(super) fn rust_ipc_rlimit_msgqueue() -> c_ulong;
        pub(super) fn rust_ipc_task_prio(t: *mut bindings::task_struct) -> c_int;
        pub(super) fn rust_ipc_current_tgid() -> *mut bindings::pid;
        pub(super) fn rust_ipc_get_pid(pid: *mut bindings::pid) -> *mut bindings::pid;
        pub(super) fn rust_ipc_current_exec_id() -> u64;
        pub(super) fn rust_ipc_msg_msg_size() -> usize;
        pub(super) fn rust_ipc_cond_resched();
        pub(super) fn rust_ipc_sweep_later();
        pub(super) fn rust_ipc_sweep_soon();
        pub(super) fn rust_ipc_exiting_in_child_ipc_ns() -> bool;
        pub(super) fn rust_ipc_sweep_now();
        pub(super) fn rust_ipc_sweep_flush();
        pub(super) fn rust_ipc_sweep_stop();
        pub(super) fn rust_ipc_pin_user_nofault(
            addr: usize,
            len: usize,
            inline_pages: *mut *mut bindings::page,
            ninline: c_int,
            pages: *mut *mut *mut bindings::page,
            user: *mut *mut c_void,
            mm: *mut *mut c_void,
        ) -> c_int;
        pub(super) fn rust_ipc_user_writable_now(addr: usize, len: usize) -> bool;
        pub(super) fn rust_ipc_unpin_user(
            pages: *mut *mut bindings::page,
            npages: c_int,
            inline_pages: *mut *mut bindings::page,
            user: *mut c_void,
            mm: *mut c_void,
        );
        pub(super) fn rust_ipc_pinned_fill(
            pages: *mut *mut bindings::page,
            start: usize,
            off: usize,
            src: *const c_void,
            len: usize,
            src_kernel: bool,
            mm: *mut c_void,
            dst: usize,
        ) -> c_int;
        pub(super) fn rust_ipc_timens_to_host(clock: bindings::clockid_t, at: i64) -> i64;
        pub(super) fn rust_ipc_put_u32_nofault(dst: *mut u32, val: u32) -> c_int;
        pub(super) fn rust_ipc_ioctl_args(cmd: c_uint, arg: c_ulong, rest: *mut c_ulong) -> bool;
        pub(super) fn rust_ipc_msgsnd_regs(
            cmd: c_uint,
            arg: c_ulong,
            a: *mut super::defs::ripc_msgsnd,
        ) -> c_int;
        pub(super) fn rust_ipc_msgrcv_regs(
            cmd: c_uint,
            arg: c_ulong,
            a: *mut super::defs::ripc_msgrcv,
        ) -> c_int;
        pub(super) fn rust_ipc_read_user_words(dst: *mut u64, src: *const u64, n: c_uint) -> c_int;
        pub(super) fn rust_ipc_percpu_slots() -> *mut c_void;
        pub(super) fn rust_ipc_percpu_take(slots: *mut c_void) -> *mut c_void;
        pub(super) fn rust_ipc_percpu_put(slots: *mut c_void, p: *mut c_void) -> bool;
        pub(super) fn rust_ipc_percpu_pop_any(slots: *mut c_void, cpu: *mut c_int) -> *mut c_void;
        pub(super) fn rust_ipc_percpu_counts() -> *mut c_void;
        pub(super) fn rust_ipc_percpu_count(counts: *mut c_void, msgs: i64, bytes: i64);
        pub(super) fn rust_ipc_percpu_counts_sum(
            counts: *mut c_void,
            msgs: *mut i64,
            bytes: *mut i64,
        );
        pub(super) fn rust_ipc_ipc_ns_is_init(ns: *mut bindings::ipc_namespace) -> bool;
        pub(super) fn rust_ipc_ipc_ns_root_uid(
            ns: *mut bindings::ipc_namespace,
        ) -> bindings::kuid_t;
        pub(super) fn rust_ipc_sysctl_writable(path: *const c_char) -> c_int;
        pub(super) fn rust_ipc_user_ns_up(
            ns: *mut bindings::user_namespace,
            parent: *mut *mut bindings::user_namespace,
            owner: *mut bindings::kuid_t,
            max: *mut c_long,
        ) -> bool;
        pub(super) fn rust_ipc_mq_notify(
            owner: *mut bindings::pid,
            exec_id: u64,
            owner_user_ns: *mut bindings::user_namespace,
            sig: c_int,
            value: u64,
        );
        pub(super) fn rust_ipc_sender_uid(owner_user_ns: *mut bindings::user_namespace) -> u32;
        pub(super) fn rust_ipc_uid_for_reader(
            sender_user_ns: *mut bindings::user_namespace,
            uid: u32,
        ) -> u32;
        pub(super) fn rust_ipc_kiocb_nowait(iocb: *mut bindings::kiocb) -> bool;
        pub(super) fn rust_ipc_file_private(
            file: *mut bindings::file,
            flush: *const c_void,
        ) -> *mut c_void;
        pub(super) fn rust_ipc_reopen(
            src: *mut bindings::file,
            flags: c_int,
        ) -> *mut bindings::file;
        pub(super) fn rust_ipc_crc32(crc: u32, p: *const c_void, len: usize) -> u32;
        pub(super) fn rust_ipc_jhash_1word(v: u32, seed: u32) -> u32;
        pub(super) fn rust_ipc_jhash(p: *const c_void, len: u32, seed: u32) -> u32;
    }
}

/// `kmalloc(size, GFP_KERNEL_ACCOUNT)`, or with `atomic` without sleeping
/// (`GFP_NOWAIT | __GFP_ACCOUNT`, no warning: the caller holds a queue
/// lock and fails with `ENOMEM`): NULL or a block of `size` bytes, aligned
/// to at least 8, which the caller frees with `kfree`.  A message's `head`
/// comes from the heads' own caches ([`HeadCaches`]).
#[inline]
pub(crate) fn kmalloc(size: usize, atomic: bool, head: bool) -> *mut c_void {
    if atomic {
        // SAFETY: `kmalloc` takes any size; the heads' caches exist while
        // the module is loaded (`HeadCaches`).
        unsafe { ffi::rust_ipc_kmalloc_nowait(size, head) }
    } else {
        // SAFETY: as above, with these gfp flags.
        unsafe { ffi::rust_ipc_kmalloc(size, bindings::GFP_KERNEL_ACCOUNT, head) }
    }
}

/// What a [`kmalloc`] of the caller's would be charged to (its memory
/// cgroup's object), for comparisons only: two equal values without bit 0
/// are the same charge; a value with bit 0 set matches none (the helper).
#[inline(always)]
pub(crate) fn charged_to() -> usize {
    // SAFETY: no preconditions; reads only the current task's fields.
    unsafe { ffi::rust_ipc_charged_to() as usize }
}

/// The caches message heads are allocated from, as native's `msg_msg`
/// heads are (`msg_buckets`, `CONFIG_SLAB_BUCKETS`): kmalloc-sized caches
/// of their own, `rust_ipc_msg-*`, so that the text a user puts in a
/// message lies next to no other kind of kernel object.  Made at load,
/// before any message; destroyed when this is dropped, at unload, after
/// the last message is freed.  One for the module.
pub(crate) struct HeadCaches(());

impl HeadCaches {
    /// Makes the caches: only `window` of a head (an offset and a length:
    /// its type and text) may be copied to or from user memory
    /// (`CONFIG_HARDENED_USERCOPY`).
    pub(crate) fn new(window: (u32, u32)) -> Result<Self> {
        // SAFETY: called once, at load, before any message is allocated.
        kernel::error::to_result(unsafe { ffi::rust_ipc_msg_buckets_create(window.0, window.1) })?;
        Ok(HeadCaches(()))
    }
}

impl Drop for HeadCaches {
    fn drop(&mut self) {
        // SAFETY: at unload, after every queue and message was freed
        // (`ipc::cleanup`) and with no file of the device open: no head is
        // allocated or freed any more.
        unsafe { ffi::rust_ipc_msg_buckets_destroy() };
    }
}

/// The caller's IPC namespace, for comparisons only (no reference held).
pub(crate) fn current_ipc_ns() -> *const c_void {
    // SAFETY: no preconditions; the pointer is only compared.
    unsafe { ffi::rust_ipc_current_ipc_ns() }.cast()
}

/// Whether `id` holds the unique id of the caller's IPC namespace
/// (`ns_common.ns_id`: never 0, never reused, unlike its address); false
/// late in exit, when the task has none.
pub(crate) fn is_current_ipc_ns(id: &Atomic<u64>) -> bool {
    // SAFETY: `id` is valid for reads for the call; the helper reads it
    // once with `READ_ONCE` (on a 32-bit kernel two loads, which can tear:
    // harmless, as the id only ever goes from a value to 0).
    unsafe { ffi::rust_ipc_is_current_ipc_ns(id.as_ptr()) }
}

/// A counted reference on an `ipc_namespace` (`get_ipc_ns`/`put_ipc_ns`).
///
/// # Invariants
///
/// `self.0` is a namespace this value holds one reference on.
pub(crate) struct IpcNsRef(*mut bindings::ipc_namespace);

// SAFETY: the pointer is a counted reference, usable from any thread.
unsafe impl Send for IpcNsRef {}
// SAFETY: `&IpcNsRef` only reads the address and the atomic count.
unsafe impl Sync for IpcNsRef {}

impl IpcNsRef {
    /// A reference on the caller's namespace (`EINVAL` late in exit, when
    /// the task has none).
    pub(crate) fn current() -> Result<IpcNsRef> {
        // SAFETY: no preconditions.
        let ns = unsafe { ffi::rust_ipc_current_ipc_ns() };
        if ns.is_null() {
            return Err(EINVAL);
        }
        // SAFETY: the caller's nsproxy holds a reference on `ns` while the
        // caller runs, so it is live; we take our own.
        // INVARIANT: that reference is ours.
        Ok(IpcNsRef(unsafe { ffi::rust_ipc_get_ipc_ns(ns) }))
    }

    /// The namespace's address, for comparisons.
    pub(crate) fn addr(&self) -> *const c_void {
        self.0.cast()
    }

    /// The namespace's unique id (`ns_common.ns_id`), never that of
    /// another namespace, also after this one is freed.
    pub(crate) fn id(&self) -> u64 {
        // SAFETY: by the invariant the namespace is live.
        unsafe { ffi::rust_ipc_ipc_ns_id(self.0) }
    }

    /// Whether this reference is the namespace's last one: then no task or
    /// file can reach it any more, nor enter it (nsfs refuses an inactive
    /// namespace; a mount of its mqueue file system may still find it
    /// through its superblock, which `put_ipc_ns` serialises with).
    pub(crate) fn last(&self) -> bool {
        // SAFETY: by the invariant the namespace is live.
        unsafe { ffi::rust_ipc_ipc_ns_last_ref(self.0) }
    }

    /// The user namespace that owns this IPC namespace (`ns->user_ns`).
    pub(crate) fn user_ns(&self) -> UserNsRef {
        // SAFETY: by the invariant the namespace is live; the helper takes
        // a reference on its user namespace for the result.
        UserNsRef(unsafe { ffi::rust_ipc_get_ipc_ns_user_ns(self.0) })
    }

    /// Whether this is the initial IPC namespace.
    pub(crate) fn is_init(&self) -> bool {
        // SAFETY: only compares the address.
        unsafe { ffi::rust_ipc_ipc_ns_is_init(self.0) }
    }

    /// The owner of the namespace's sysctls: uid 0 of its user namespace.
    pub(crate) fn root_uid(&self) -> u32 {
        // SAFETY: by the invariant the namespace is live.
        unsafe { ffi::rust_ipc_ipc_ns_root_uid(self.0) }.val
    }

    /// The namespace's mqueue root directory as it is now, where native
    /// makes and removes the queue names.
    pub(crate) fn mq_root(&self) -> MqRoot {
        let mut mode: bindings::umode_t = 0;
        let mut uid = bindings::kuid_t { val: 0 };
        // SAFETY: by the invariant the namespace is live; `mode` and `uid`
        // are valid for writes.
        let readonly = unsafe { ffi::rust_ipc_mq_root(self.0, &mut mode, &mut uid) };
        MqRoot {
            sticky: u32::from(mode) & bindings::S_ISVTX != 0,
            uid: uid.val,
            readonly,
        }
    }

    /// `inode_permission(MAY_WRITE | MAY_EXEC)` on the namespace's mqueue
    /// root: whether the caller may make or remove a name there (`EACCES`).
    pub(crate) fn mq_root_writable(&self) -> Result {
        self.mq_root_permission(bindings::MAY_WRITE | bindings::MAY_EXEC)
    }

    /// `inode_permission(MAY_READ)` on the namespace's mqueue root: whether
    /// the caller may list the queue names there (`EACCES`).
    pub(crate) fn mq_root_readable(&self) -> Result {
        self.mq_root_permission(bindings::MAY_READ)
    }

    /// `inode_permission(MAY_EXEC)` on the namespace's mqueue root: whether
    /// the caller may `stat` a queue there (the path walk's search).
    pub(crate) fn mq_root_searchable(&self) -> bool {
        self.mq_root_permission(bindings::MAY_EXEC).is_ok()
    }

    /// Write access to the namespace's mqueue mount ([`MqMount::writer`]).
    /// `None` without POSIX queues.
    pub(crate) fn mq_writer(&self) -> Result<Option<MqWriter>> {
        self.mq_mount().map(|m| m.writer()).transpose()
    }

    /// A reference on the namespace's mqueue mount, `None` without POSIX
    /// queues.
    pub(crate) fn mq_mount(&self) -> Option<MqMount> {
        // SAFETY: by the invariant the namespace is live (its `mq_mnt` with
        // it).
        let mnt = unsafe { ffi::rust_ipc_mq_mnt_get(self.0) };
        // INVARIANT: the helper took a reference, if it gave a mount.
        NonNull::new(mnt).map(MqMount)
    }

    fn mq_root_permission(&self, mask: u32) -> Result {
        // SAFETY: by the invariant the namespace is live.
        kernel::error::to_result(unsafe { ffi::rust_ipc_mq_root_permission(self.0, mask as c_int) })
    }
}

/// A reference on an IPC namespace's mqueue mount ([`IpcNsRef::mq_mount`]),
/// which outlives the namespace, as a native queue descriptor's mount does.
/// Dropped only where the caller may sleep (not under a spinlock): the last
/// `mntput` of a dead namespace's internal mount frees it (`cleanup_mnt`).
///
/// # Invariants
///
/// `self.0` is a mount on which this value holds a reference (`mntget`).
pub(crate) struct MqMount(NonNull<bindings::vfsmount>);

// SAFETY: the reference may be given back from any thread.
unsafe impl Send for MqMount {}
// SAFETY: `&MqMount` only takes write access, which any thread may.
unsafe impl Sync for MqMount {}

impl MqMount {
    /// Write access to the mount (`EROFS` on a read-only one), held until
    /// the result is dropped: a read-only remount of the mqueue file system
    /// fails with `EBUSY` meanwhile, as while a native queue is open for
    /// writing.
    pub(crate) fn writer(&self) -> Result<MqWriter> {
        // SAFETY: by the invariant the mount is live.
        kernel::error::to_result(unsafe { ffi::rust_ipc_mnt_get_write(self.0.as_ptr()) })?;
        // INVARIANT: the helper took write access and a reference.
        Ok(MqWriter(self.0))
    }
}

impl Drop for MqMount {
    fn drop(&mut self) {
        // SAFETY: by the invariant the reference is held, given back once.
        unsafe { ffi::rust_ipc_mnt_put(self.0.as_ptr()) };
    }
}

/// Write access to an IPC namespace's mqueue mount ([`MqMount::writer`]);
/// dropped only where the caller may sleep, as [`MqMount`].
///
/// # Invariants
///
/// `self.0` is a mount on which this value holds write access
/// (`mnt_get_write_access`) and a reference (`mntget`).
pub(crate) struct MqWriter(NonNull<bindings::vfsmount>);

// SAFETY: the access and the reference may be given back from any thread.
unsafe impl Send for MqWriter {}
// SAFETY: `&MqWriter` gives nothing to use.
unsafe impl Sync for MqWriter {}

impl Drop for MqWriter {
    fn drop(&mut self) {
        // SAFETY: by the invariant both are held, given back once here.
        unsafe { ffi::rust_ipc_mnt_put_write(self.0.as_ptr()) };
    }
}

/// What a name's creation or removal reads of an mqueue root directory
/// ([`IpcNsRef::mq_root`]).
pub(crate) struct MqRoot {
    /// The sticky bit: only a name's owner, the directory's owner or
    /// `CAP_FOWNER` may remove it (`check_sticky`).
    pub(crate) sticky: bool,
    /// The directory's owner.
    pub(crate) uid: u32,
    /// A read-only mount: `EROFS` for a creation, a removal or an open
    /// for writing.
    pub(crate) readonly: bool,
}

impl Clone for IpcNsRef {
    fn clone(&self) -> Self {
        // SAFETY: by the invariant the namespace is live; the new
        // reference is the clone's.
        IpcNsRef(unsafe { ffi::rust_ipc_get_ipc_ns(self.0) })
    }
}

impl Drop for IpcNsRef {
    fn drop(&mut self) {
        // SAFETY: by the invariant we own one reference, given back here.
        unsafe { ffi::rust_ipc_put_ipc_ns(self.0) };
    }
}

/// A counted reference on the caller's user namespace at the time it was
/// taken (`get_user_ns(current_user_ns())`).
///
/// # Invariants
///
/// `self.0` is a user namespace this value holds one reference on.
pub(crate) struct UserNsRef(*mut bindings::user_namespace);

// SAFETY: a counted reference, usable from any thread.
unsafe impl Send for UserNsRef {}
// SAFETY: `&UserNsRef` is only passed to the kernel, which reads it.
unsafe impl Sync for UserNsRef {}

impl UserNsRef {
    pub(crate) fn current() -> UserNsRef {
        // INVARIANT: the helper takes a reference for us.
        // SAFETY: no preconditions.
        UserNsRef(unsafe { ffi::rust_ipc_get_current_user_ns() })
    }

    /// The namespace's address, for comparisons.
    pub(crate) fn addr(&self) -> usize {
        self.0 as usize
    }

    /// The next level of the `RLIMIT_MSGQUEUE` charge (`ucounts`) above a
    /// user of this namespace: the parent namespace, the uid that made this
    /// one, and the limit it had then; `None` at the initial namespace.
    pub(crate) fn up(&self) -> Option<(UserNsRef, u32, u64)> {
        let mut parent = core::ptr::null_mut();
        let mut owner = bindings::kuid_t { val: 0 };
        let mut max: c_long = 0;
        // SAFETY: by the invariant the namespace is live; the helper takes
        // a reference on the parent for us when it returns true.
        let up = unsafe { ffi::rust_ipc_user_ns_up(self.0, &mut parent, &mut owner, &mut max) };
        // INVARIANT: `parent` is the reference the helper took.
        up.then(|| (UserNsRef(parent), owner.val, max.max(0) as u64))
    }

    /// Whether the caller's fs uid and gid have a mapping in this user
    /// namespace (`fsuidgid_has_mapping` of a file system it owns).
    pub(crate) fn fsids_mapped(&self) -> bool {
        // SAFETY: by the invariant the namespace is live.
        unsafe { ffi::rust_ipc_fsids_mapped(self.0) }
    }

    /// Whether kernel ids `uid` and `gid` have a mapping in this user
    /// namespace.
    pub(crate) fn maps(&self, uid: u32, gid: u32) -> bool {
        let (uid, gid) = (bindings::kuid_t { val: uid }, bindings::kgid_t { val: gid });
        // SAFETY: by the invariant the namespace is live.
        unsafe { ffi::rust_ipc_ids_mapped(self.0, uid, gid) }
    }

    /// `ns_capable(ns, cap)`: whether the caller has `cap` over this user
    /// namespace.
    pub(crate) fn capable(&self, cap: u32) -> bool {
        // SAFETY: by the invariant the namespace is live.
        unsafe { bindings::ns_capable(self.0, cap as c_int) }
    }

    /// [`Self::capable`] without an audit record of a denial
    /// (`ns_capable_noaudit`), for a check that only probes.
    pub(crate) fn capable_noaudit(&self, cap: u32) -> bool {
        // SAFETY: by the invariant the namespace is live.
        unsafe { bindings::ns_capable_noaudit(self.0, cap as c_int) }
    }
}

impl Drop for UserNsRef {
    fn drop(&mut self) {
        // SAFETY: by the invariant we own one reference.
        unsafe { ffi::rust_ipc_put_user_ns(self.0) };
    }
}

/// A counted reference on a `struct pid`: a process as every pid namespace
/// names it (native keeps `q_lspid`, `q_lrpid` and `notify_owner` so).
///
/// # Invariants
///
/// `self.0` is a `struct pid` this value holds one reference on.
pub(crate) struct PidRef(*mut bindings::pid);

// SAFETY: a counted reference, usable from any thread.
unsafe impl Send for PidRef {}
// SAFETY: `&PidRef` only reads the address or asks the kernel for a number.
unsafe impl Sync for PidRef {}

impl PidRef {
    /// The caller's process (`get_pid(task_tgid(current))`).
    pub(crate) fn current() -> PidRef {
        // SAFETY: `task_tgid(current)` is live while the caller runs; the
        // helper takes our reference.
        // INVARIANT: that reference.
        PidRef(unsafe { ffi::rust_ipc_get_pid(ffi::rust_ipc_current_tgid()) })
    }

    /// Whether this is the caller's process.
    pub(crate) fn is_current(&self) -> bool {
        // SAFETY: no preconditions; the pointer is only compared.
        core::ptr::eq(self.0, unsafe { ffi::rust_ipc_current_tgid() })
    }

    /// Sets `slot` to the caller's process (`ipc_update_pid`): no reference
    /// is taken or dropped when it already is.
    pub(crate) fn set_current(slot: &mut Option<PidRef>) {
        if !slot.as_ref().is_some_and(PidRef::is_current) {
            *slot = Some(PidRef::current());
        }
    }

    /// Sets `slot` to `task`'s own pid (`ipc_update_pid` of `task_pid`: a
    /// thread's, as native's `pipelined_send` records its receiver).
    pub(crate) fn set_task(slot: &mut Option<PidRef>, task: &kernel::task::Task) {
        // SAFETY: `task` is a live task (borrowed), a blocked waiter that
        // has not exited; its `struct pid` lives as long as it, and is only
        // compared here.
        let pid = unsafe { ffi::rust_ipc_task_pid(task.as_ptr()) };
        if !slot.as_ref().is_some_and(|p| core::ptr::eq(p.0, pid)) {
            // SAFETY: as above; the helper takes our reference.
            // INVARIANT: that reference.
            *slot = Some(PidRef(unsafe { ffi::rust_ipc_get_pid(pid) }));
        }
    }

    /// `pid_vnr`: the number as the caller's pid namespace sees it, 0 if
    /// it is not visible there (or for none).
    pub(crate) fn vnr(p: Option<&PidRef>) -> i32 {
        match p {
            // SAFETY: by the invariant the pid is live.
            Some(p) => unsafe { bindings::pid_vnr(p.0) },
            None => 0,
        }
    }
}

impl Drop for PidRef {
    fn drop(&mut self) {
        // SAFETY: by the invariant we own one reference.
        unsafe { bindings::put_pid(self.0) };
    }
}

/// The ids of the caller's credentials, as raw kernel ids.
pub(crate) fn current_ids() -> [u32; 5] {
    let mut k = [bindings::kuid_t { val: 0 }; 3];
    let mut g = [bindings::kgid_t { val: 0 }; 2];
    let [uid, euid, fsuid] = &mut k;
    let [egid, fsgid] = &mut g;
    // SAFETY: five valid places to write to.
    unsafe { ffi::rust_ipc_current_ids(uid, euid, egid, fsuid, fsgid) };
    [k[0].val, k[1].val, g[0].val, k[2].val, g[1].val]
}

/// The caller's effective uid (`current_euid()`), alone: what a System V
/// permission check needs.
pub(crate) fn current_euid() -> u32 {
    // SAFETY: no preconditions.
    unsafe { ffi::rust_ipc_current_euid() }.val
}

/// `capable_wrt_inode_uidgid` for an object owned by `uid` and `gid`
/// (unless `audit`, without an audit record of a denial: a listing's check).
pub(crate) fn capable_wrt_ids(uid: u32, gid: u32, cap: u32, audit: bool) -> bool {
    // SAFETY: plain call on the caller's credentials.
    unsafe {
        ffi::rust_ipc_capable_wrt_ids(
            bindings::kuid_t { val: uid },
            bindings::kgid_t { val: gid },
            cap as c_int,
            audit,
        )
    }
}

/// `inode_owner_or_capable`'s capability: `cap` over the caller's user
/// namespace for an object whose owner `uid` is mapped there.
pub(crate) fn capable_wrt_uid(uid: u32, cap: u32) -> bool {
    // SAFETY: plain call on the caller's credentials.
    unsafe { ffi::rust_ipc_capable_wrt_uid(bindings::kuid_t { val: uid }, cap as c_int) }
}

/// `current_umask()`.
pub(crate) fn current_umask() -> u32 {
    // SAFETY: no preconditions.
    unsafe { ffi::rust_ipc_current_umask() as u32 }
}

/// `rlimit(RLIMIT_MSGQUEUE)` of the caller.
pub(crate) fn rlimit_msgqueue() -> u64 {
    // SAFETY: no preconditions.
    unsafe { ffi::rust_ipc_rlimit_msgqueue() as u64 }
}

/// `t`'s scheduling priority now (lower: more urgent).
pub(crate) fn task_prio(t: &Task) -> i32 {
    // SAFETY: `t` is a live task for the call; the helper only reads its
    // `prio`.
    unsafe { ffi::rust_ipc_task_prio(t.as_ptr()) }
}

/// The caller's `self_exec_id`.
pub(crate) fn current_exec_id() -> u64 {
    // SAFETY: no preconditions.
    unsafe { ffi::rust_ipc_current_exec_id() }
}

/// `sizeof(struct msg_msg)`, what native's `mq_open` charges against
/// `RLIMIT_MSGQUEUE` per message slot.
pub(crate) fn msg_msg_size() -> usize {
    // SAFETY: no preconditions.
    unsafe { ffi::rust_ipc_msg_msg_size() }
}

/// `__do_notify`'s signal: `sig` with `SI_MESGQ` and `value` to the
/// process `owner`, unless it has exec'd since `exec_id` was read; the
/// caller's (the sender's) pid and uid mapped into the owner's namespaces.
pub(crate) fn mq_notify(owner: &PidRef, exec_id: u64, user_ns: &UserNsRef, sig: u32, value: u64) {
    // SAFETY: both references are live (their invariants), `sig` is a
    // signal number the caller checked.
    unsafe { ffi::rust_ipc_mq_notify(owner.0, exec_id, user_ns.0, sig as c_int, value) };
}

/// A notification record's sender uid: the caller's uid mapped into
/// `owner_user_ns` (the registering process's), as `__do_notify` maps
/// `si_uid`.
pub(crate) fn sender_uid(owner_user_ns: &UserNsRef) -> u32 {
    // SAFETY: the reference is live (its invariant).
    unsafe { ffi::rust_ipc_sender_uid(owner_user_ns.0) }
}

/// A record's uid (mapped in `sender_user_ns`, the sender's) as the caller
/// sees it: unchanged in the same user namespace, else remapped as the
/// signal code remaps `si_uid` for a receiver in another one.
pub(crate) fn uid_for_reader(sender_user_ns: &UserNsRef, uid: u32) -> u32 {
    // SAFETY: the reference is live (its invariant).
    unsafe { ffi::rust_ipc_uid_for_reader(sender_user_ns.0, uid) }
}

/// Whether a read must not block (`O_NONBLOCK` or `IOCB_NOWAIT`).
pub(crate) fn kiocb_nowait<T: kernel::types::ForeignOwnable>(k: &kernel::fs::Kiocb<'_, T>) -> bool {
    // SAFETY: the kiocb and its file are valid for the read call that
    // lent `k`.
    unsafe { ffi::rust_ipc_kiocb_nowait(k.as_raw()) }
}

/// `copy_to_user_nofault`: copies `src` to user memory at `dst` without
/// taking a page fault (so it may run under the queue lock); `EFAULT` if
/// the memory is not mapped and writable right now.
pub(crate) fn copy_to_user_nofault(dst: u64, src: &[u8]) -> Result {
    // SAFETY: `src` is valid for reads of its length; the function checks
    // `dst` with `access_ok` and copies with page faults disabled.
    let r = unsafe {
        bindings::copy_to_user_nofault(dst as usize as *mut c_void, src.as_ptr().cast(), src.len())
    };
    if r == 0 {
        Ok(())
    } else {
        Err(EFAULT)
    }
}

/// `fault_in_writeable`: faults in the user pages of `len` bytes at `addr`
/// for writing (taking page faults: never under a queue lock); whether all
/// of them are there now.
pub(crate) fn fault_in_writeable(addr: u64, len: u64) -> bool {
    let Ok(len) = usize::try_from(len) else {
        return false;
    };
    // SAFETY: the function checks the range as user memory and touches it
    // with user accesses only; any address is safe to pass.
    unsafe { bindings::fault_in_writeable(addr as usize as *mut c_char, len) == 0 }
}

/// Whether the caller may open the sysctl file `path` (under `/proc/sys`)
/// for writing, as the native way to change what it stands for must
/// (`rust_ipc_sysctl_writable`: its mount's read-only state, its
/// permission, the LSMs; `EPERM` if what it opens is not that sysctl of a
/// proc file system); nothing is written.
pub(crate) fn sysctl_writable(path: &CStr) -> Result {
    // SAFETY: `path` is a NUL-terminated string for the call.
    let r = unsafe { ffi::rust_ipc_sysctl_writable(path.as_char_ptr()) };
    if r == 0 {
        Ok(())
    } else {
        Err(Error::from_errno(r))
    }
}

/// [`copy_to_user_nofault`] of one `u32` (`put_user` with page faults
/// disabled).
pub(crate) fn put_u32_nofault(dst: u64, val: u32) -> Result {
    // SAFETY: `put_user` checks `dst` as a user address (`access_ok`), and
    // with page faults disabled a missing page is `-EFAULT`, not a sleep.
    let r = unsafe { ffi::rust_ipc_put_u32_nofault(dst as usize as *mut u32, val) };
    if r == 0 {
        Ok(())
    } else {
        Err(EFAULT)
    }
}

/// `cond_resched()`: a scheduling point in a long loop, none under a queue
/// lock (a spinlock: [`lock`]).
pub(crate) fn cond_resched() {
    // SAFETY: called from process context (the callers are the message copy
    // and free loops); the helper skips it where preemption is disabled.
    unsafe { ffi::rust_ipc_cond_resched() };
}

/// Arms the periodic sweep of dead namespaces (`helpers.c`): within a
/// second, [`crate::ipc::ns::sweep_dead`] runs on the system workqueue, and
/// again every second for as long as it asks to.
pub(crate) fn sweep_later() {
    // SAFETY: no preconditions; the work item is static in the module.
    unsafe { ffi::rust_ipc_sweep_later() };
}

/// Whether the caller is exiting (closing its files) in an IPC namespace
/// other than the initial one.
pub(crate) fn exiting_in_child_ipc_ns() -> bool {
    // SAFETY: no preconditions; the helper reads the current task's own
    // flags and namespaces.
    unsafe { ffi::rust_ipc_exiting_in_child_ipc_ns() }
}

/// Makes the sweep's next looks come sooner: 10 ms from now, then 20, 40
/// ... 640 ms apart, then every second again (`helpers.c`), without putting
/// off one due sooner.
pub(crate) fn sweep_soon() {
    // SAFETY: no preconditions; the work item is static in the module.
    unsafe { ffi::rust_ipc_sweep_soon() };
}

/// Runs the sweep now, on the workqueue, rather than in the caller (which
/// may hold a lock others wait on: `misc_open` holds `misc_mtx`).
pub(crate) fn sweep_now() {
    // SAFETY: no preconditions; the work item is static in the module.
    unsafe { ffi::rust_ipc_sweep_now() };
}

/// Runs a sweep that starts now and waits for it.  The caller holds no
/// lock the sweep waits for (the namespaces', the collection's, an entry's
/// reference lock, a System V id table's, a queue's or the POSIX
/// accounting's; a dead namespace's names are taken with a try).
pub(crate) fn sweep_flush() {
    // SAFETY: process context, holding none of the sweep's locks (above).
    unsafe { ffi::rust_ipc_sweep_flush() }
}

/// Stops the sweep for good (module unload, before the namespaces go).
pub(crate) fn sweep_stop() {
    // SAFETY: called from process context, at unload, where nothing arms
    // the sweep again.
    unsafe { ffi::rust_ipc_sweep_stop() };
}

/// The sweep's body, called by its work item in `helpers.c`: frees the
/// dead namespaces, and says whether to look again.  Its name is the
/// module's own (`rust_ipc_` prefix) and its signature the declaration's in
/// `helpers.h`.
#[no_mangle]
pub(crate) extern "C" fn rust_ipc_sweep_namespaces() -> bool {
    crate::ipc::ns::sweep_dead()
}

/// Sets an open file's flags of `mask` (`O_NONBLOCK`, `O_LARGEFILE`) to
/// those of `flags`, as `fcntl(F_SETFL)` and `do_mq_getsetattr` do (under
/// `f_lock`).
pub(crate) fn set_file_flags(file: &kernel::fs::File, mask: u32, flags: u32) {
    // SAFETY: `file` borrows a valid file for the duration of the call.
    unsafe { ffi::rust_ipc_file_set_flags(file.as_ptr(), mask, flags) };
}

/// `ktime_get_real_seconds()`.
pub(crate) fn real_seconds() -> i64 {
    // SAFETY: reading the clock has no preconditions.
    unsafe { bindings::ktime_get_real_seconds() }
}

/// `crc32_le(crc, data)`: the CRC-32 of zlib (seed `!0`, result inverted
/// by the caller), continued over `data`.
pub(crate) fn crc32(crc: u32, data: &[u8]) -> u32 {
    // SAFETY: `data` is valid for reads of its length.
    unsafe { ffi::rust_ipc_crc32(crc, data.as_ptr().cast(), data.len()) }
}

/// A random seed for [`HashKey::hash`], as native's hash tables have a
/// random seed of their own (`rhashtable`'s `hash_rnd`, with which it
/// hashes keys by `jhash`): values picked to collide under one seed spread
/// under another.  `jhash` is not a keyed pseudo-random function as
/// `hsiphash` is (which the tables used until 2026-12-07: 43 instructions
/// more a `msgget`); the tables are as hard to flood as native's.
pub(crate) struct HashKey(u32);

impl HashKey {
    pub(crate) fn random() -> Self {
        // SAFETY: `get_random_u32` has no preconditions.
        HashKey(unsafe { bindings::get_random_u32() })
    }

    /// `jhash_1word(v, seed)`.
    pub(crate) fn hash(&self, v: u32) -> u32 {
        // SAFETY: a pure function of its arguments.
        unsafe { ffi::rust_ipc_jhash_1word(v, self.0) }
    }

    /// `jhash(b, len, seed)` (any alignment: `jhash` reads with
    /// `get_unaligned`); `b` is at most `u32::MAX` bytes (a name: 255).
    pub(crate) fn hash_bytes(&self, b: &[u8]) -> u32 {
        let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
        // SAFETY: `b` is valid for reads of `len <= b.len()` bytes for the
        // duration of the call.
        unsafe { ffi::rust_ipc_jhash(b.as_ptr().cast(), len, self.0) }
    }
}

/// `get_jiffies_64()`: the tick count (on 64-bit kernels one load of
/// `jiffies`, as the inline function reads it; on 32-bit ones, whose
/// `jiffies` is 32 bits and wraps 5 minutes after boot, the exported
/// function that reads `jiffies_64` whole).
#[inline(always)]
pub(crate) fn jiffies() -> u64 {
    #[cfg(CONFIG_64BIT)]
    // SAFETY: `jiffies` is an exported word that the timer tick updates; a
    // volatile read of it is what `READ_ONCE(jiffies)` does.
    let j = unsafe { core::ptr::read_volatile(core::ptr::addr_of!(bindings::jiffies)) as u64 };
    #[cfg(not(CONFIG_64BIT))]
    // SAFETY: no preconditions.
    let j = unsafe { bindings::get_jiffies_64() };
    j
}

/// `jiffies64_to_nsecs()`: a number of ticks in nanoseconds.
pub(crate) fn jiffies_to_ns(j: u64) -> u64 {
    // SAFETY: a plain conversion.
    unsafe { bindings::jiffies64_to_nsecs(j) }
}

/// `ktime_get_coarse_ns()`: CLOCK_MONOTONIC as of the last tick.
pub(crate) fn coarse_mono_ns() -> i64 {
    // SAFETY: reading the clock has no preconditions.
    unsafe { ffi::rust_ipc_coarse_mono_ns() }
}

/// `ktime_mono_to_real(0)`: what CLOCK_REALTIME is ahead of
/// CLOCK_MONOTONIC (it changes when the clock is set: a step).
pub(crate) fn real_offset_ns() -> i64 {
    // SAFETY: reading the offset has no preconditions.
    unsafe { ffi::rust_ipc_real_offset_ns() }
}
