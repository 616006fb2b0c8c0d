// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's static inlines and macros that rust_ipc needs, as small
 * functions its Rust code calls (the way rust/helpers/ serves the kernel
 * crate): no kernel struct layout is read or guessed on the Rust side.
 * The Rust wrappers over these are in ipc/kernel_api/.
 */
#include <linux/capability.h>
#include <linux/compat.h>
#include <linux/crc32.h>
#include <linux/cred.h>
#include <linux/dcache.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fs_struct.h>
#include <linux/hrtimer.h>
#include <linux/ipc_namespace.h>
#include <linux/magic.h>
#include <linux/memcontrol.h>
#include <linux/highmem.h>
#include <linux/jhash.h>
#include <linux/mm.h>
#include <linux/mount.h>
#include <linux/msg.h>
#include <linux/namei.h>
#include <linux/nsproxy.h>
#include <linux/percpu.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task_stack.h>
#include <linux/sched/task.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/timekeeping.h>
#include <linux/time_namespace.h>
#include <linux/user_namespace.h>
#include <linux/workqueue.h>
#include <asm/syscall.h>
#include <asm/unistd.h>

#include "helpers.h"
#include "../../include/uapi/linux/rust_ipc.h"

/*
 * The caches message heads come from, as native's msg_msg heads come from
 * msg_buckets (ipc/msgutil.c): kmalloc-sized caches, "rust_ipc_msg-*",
 * that no other kind of object shares, so that the text a user puts in a
 * message lies next to no other kernel object (CONFIG_SLAB_BUCKETS; without
 * it kmem_buckets_create() returns ZERO_SIZE_PTR and kmem_buckets_alloc()
 * is kmalloc()).  Only useroffset.. of a head (its type and text) may be
 * copied to or from user memory (CONFIG_HARDENED_USERCOPY).  Made at load,
 * before any message; destroyed at unload, after the last one is freed.
 */
static kmem_buckets *msg_buckets;

int rust_ipc_msg_buckets_create(unsigned int useroffset, unsigned int usersize)
{
	msg_buckets = kmem_buckets_create("rust_ipc_msg", SLAB_ACCOUNT, useroffset, usersize, NULL);
	return msg_buckets ? 0 : -ENOMEM;
}

/*
 * The kernel has no kmem_buckets_destroy() (its users are built in): each
 * cache of the set once (an index may share another's cache), then the set
 * itself, a slab object that kfree() takes.
 */
void rust_ipc_msg_buckets_destroy(void)
{
	kmem_buckets *b = msg_buckets;
	unsigned int i, j;

	msg_buckets = NULL;
	if (ZERO_OR_NULL_PTR(b))
		return;
	for (i = 0; i < ARRAY_SIZE(*b); i++) {
		for (j = 0; j < i && (*b)[j] != (*b)[i]; j++)
			;
		if ((*b)[i] && j == i)
			kmem_cache_destroy((*b)[i]);
	}
	kfree(b);
}

/*
 * kmalloc(), with the allocation-profiling hooks of the inline; a message
 * head (head) from the heads' caches, as load_msg()'s.
 */
void *rust_ipc_kmalloc(size_t size, gfp_t flags, bool head)
{
	return head ? kmem_buckets_alloc(msg_buckets, size, flags) : kmalloc(size, flags);
}

/*
 * default_llseek() of a POSIX queue's file, with the size of an mqueue
 * inode (FILENT_SIZE in ipc/mqueue.c: 80, the status line's room) where the
 * device inode's is 0: SEEK_END, SEEK_DATA and SEEK_HOLE count from it.
 * generic_file_llseek_size() with no bound, but for default_llseek()'s
 * signed compare of a negative offset: EINVAL for SEEK_DATA, the size for
 * SEEK_HOLE.
 */
#define RUST_IPC_FILENT_SIZE 80

loff_t rust_ipc_mq_llseek(struct file *file, loff_t offset, int whence)
{
	if (offset < 0 && whence == SEEK_DATA)
		return -EINVAL;
	if (offset < 0 && whence == SEEK_HOLE)
		return vfs_setpos(file, RUST_IPC_FILENT_SIZE, OFFSET_MAX);
	return generic_file_llseek_size(file, offset, whence, OFFSET_MAX, RUST_IPC_FILENT_SIZE);
}

/*
 * What a kmalloc() of current's would be charged to, for comparisons only
 * (a queue's spare message head, ipc/kernel_api/msg.rs): current's cached
 * obj_cgroup of its memory cgroup (what current_obj_cgroup() returns in a
 * task), with bit 0 set when that cannot be told from it alone (an update
 * of the cache is pending, or a remote charge, set_active_memcg(), is on):
 * such a value never matches.  0 while no kmalloc is charged (before the
 * first memory cgroup below the root comes online, and without
 * CONFIG_MEMCG).
 */
unsigned long rust_ipc_charged_to(void)
{
#ifdef CONFIG_MEMCG
	if (!memcg_kmem_online())
		return 0;
	return (unsigned long)READ_ONCE(current->objcg) | !!current->active_memcg;
#else
	return 0;
#endif
}

/* Under a queue lock (a spinlock): charged, never sleeping, no warning. */
void *rust_ipc_kmalloc_nowait(size_t size, bool head)
{
	return rust_ipc_kmalloc(size, GFP_NOWAIT | __GFP_ACCOUNT | __GFP_NOWARN, head);
}

/* The caller's IPC namespace, no reference taken (NULL late in exit). */
struct ipc_namespace *rust_ipc_current_ipc_ns(void)
{
	struct nsproxy *nsp = current->nsproxy;

	return nsp ? nsp->ipc_ns : NULL;
}

/*
 * Whether current is exiting (do_exit() closing its files, which it does
 * before it leaves its namespaces) in an IPC namespace other than the
 * initial one.
 */
bool rust_ipc_exiting_in_child_ipc_ns(void)
{
	struct nsproxy *nsp = current->nsproxy;

	return (current->flags & PF_EXITING) && nsp && nsp->ipc_ns != &init_ipc_ns;
}

/*
 * Whether *id (read once, as atomic64_read()) is the unique id of the
 * caller's IPC namespace (ns_common's ns_id, never 0 and never reused,
 * unlike its address); false late in exit, when the task has none.
 */
bool rust_ipc_is_current_ipc_ns(const u64 *id)
{
	struct nsproxy *nsp = current->nsproxy;

	return nsp && READ_ONCE(*id) == nsp->ipc_ns->ns.ns_id;
}

u64 rust_ipc_ipc_ns_id(struct ipc_namespace *ns)
{
	return ns->ns.ns_id;
}

struct ipc_namespace *rust_ipc_get_ipc_ns(struct ipc_namespace *ns)
{
	return get_ipc_ns(ns);
}

void rust_ipc_put_ipc_ns(struct ipc_namespace *ns)
{
	put_ipc_ns(ns);
}

/*
 * Whether the caller's reference is the namespace's last one.  The initial
 * namespace is not counted (its count stays 1) and never dies.
 */
bool rust_ipc_ipc_ns_last_ref(struct ipc_namespace *ns)
{
	return ns != &init_ipc_ns && ns_ref_read(ns) == 1;
}

/*
 * The sweep of dead namespaces (ns.rs): a delayed work on the system
 * workqueue, once a second while the module holds a namespace other than
 * the initial one.  Native frees a namespace from a work item when its
 * last reference goes; nothing tells a module, which holds a reference of
 * its own, so rust_ipc looks.  rust_ipc_sweep_namespaces() is the Rust
 * side: it frees the dead ones and says whether to look again.
 *
 * A task that exits in a namespace other than the initial one with a file
 * of the device open makes the next looks come sooner
 * (rust_ipc_sweep_soon()): 10 ms after it, then each twice as long after
 * the last as the one before, up to 640 ms, then the second again.  A
 * container's last process is often not the one that used the queues
 * (unshare --fork: the parent that made the namespaces waits for its
 * child, then exits): it leaves the namespace dead a moment after that
 * child, a moment that a loaded machine makes longer.
 */
#define RUST_IPC_SWEEP_SOON msecs_to_jiffies(10)
/* The sooner looks after the first one (20, 40 ... 640 ms apart). */
#define RUST_IPC_SWEEP_SOON_AFTER 6

/* How many of those are left (none: every second). */
static atomic_t rust_ipc_sweep_soon_left = ATOMIC_INIT(0);

static void rust_ipc_sweep_fn(struct work_struct *work)
{
	int left;

	if (!rust_ipc_sweep_namespaces()) {
		atomic_set(&rust_ipc_sweep_soon_left, 0);
		return;
	}
	left = atomic_dec_if_positive(&rust_ipc_sweep_soon_left);
	if (left >= 0)
		schedule_delayed_work(to_delayed_work(work),
				      RUST_IPC_SWEEP_SOON << (RUST_IPC_SWEEP_SOON_AFTER - left));
	else
		schedule_delayed_work(to_delayed_work(work), HZ);
}

static DECLARE_DELAYED_WORK(rust_ipc_sweep_work, rust_ipc_sweep_fn);

/* Arms the sweep (a no-op while it is pending). */
void rust_ipc_sweep_later(void)
{
	schedule_delayed_work(&rust_ipc_sweep_work, HZ);
}

/*
 * The sooner looks, from RUST_IPC_SWEEP_SOON on (a task that used the
 * device is exiting in a namespace other than the initial one).  Brought
 * forward only, never put off: a look due sooner stays as it is (the check
 * and the change race with the work's own re-arming at worst into one
 * look more, or one at the time it had).
 */
void rust_ipc_sweep_soon(void)
{
	struct delayed_work *w = &rust_ipc_sweep_work;
	unsigned long at = jiffies + RUST_IPC_SWEEP_SOON;

	atomic_set(&rust_ipc_sweep_soon_left, RUST_IPC_SWEEP_SOON_AFTER);
	if (!delayed_work_pending(w) || time_after(READ_ONCE(w->timer.expires), at))
		mod_delayed_work(system_percpu_wq, w, RUST_IPC_SWEEP_SOON);
}

/* Runs the sweep now, on the workqueue (a dead namespace was seen). */
void rust_ipc_sweep_now(void)
{
	mod_delayed_work(system_percpu_wq, &rust_ipc_sweep_work, 0);
}

/*
 * Runs a sweep now, one that starts after this call, and waits for it (as
 * create_ipc_ns() flushes free_ipc_work before it refuses): it takes the
 * collection lock, so a namespace another collector took out is freed
 * too by the time it returns.
 */
void rust_ipc_sweep_flush(void)
{
	mod_delayed_work(system_percpu_wq, &rust_ipc_sweep_work, 0);
	flush_delayed_work(&rust_ipc_sweep_work);
}

/* Module unload: no sweep runs or is pending after this. */
void rust_ipc_sweep_stop(void)
{
	cancel_delayed_work_sync(&rust_ipc_sweep_work);
}

/* The user namespace that owns ns, with a reference. */
struct user_namespace *rust_ipc_get_ipc_ns_user_ns(struct ipc_namespace *ns)
{
	return get_user_ns(ns->user_ns);
}

/*
 * The root directory of ns's mqueue mount, where native's mq_open() and
 * mq_unlink() make and remove the names, as it is now (its owner may chmod
 * or chown it, and it may be remounted read-only): its mode and owner in
 * *mode and *uid (the sticky rule of check_sticky()), and whether the mount
 * is read-only (mnt_want_write()'s EROFS; the internal mount of ns is never
 * made read-only itself, so this is its superblock's state, which
 * inode_permission() checks for a write too).  Without the mqueue file
 * system: a sticky 01777 directory of root's, writable.
 */
bool rust_ipc_mq_root(struct ipc_namespace *ns, umode_t *mode, kuid_t *uid)
{
#ifdef CONFIG_POSIX_MQUEUE
	if (ns->mq_mnt) {
		struct inode *dir = d_inode(ns->mq_mnt->mnt_root);

		*mode = READ_ONCE(dir->i_mode);
		*uid = dir->i_uid;
		return __mnt_is_readonly(ns->mq_mnt);
	}
#endif
	*mode = S_IFDIR | 01777;
	*uid = GLOBAL_ROOT_UID;
	return false;
}

/*
 * inode_permission() on the mqueue root of ns (DAC with the capabilities
 * over the caller's user namespace, then the LSMs, audited as natively),
 * 0 or -EACCES (or -EROFS for a write, on a read-only remount): write and
 * search for may_create_dentry() and may_delete_dentry(), read for a
 * listing (readdir), search for a queue's owner and mode in it (stat).
 */
int rust_ipc_mq_root_permission(struct ipc_namespace *ns, int mask)
{
#ifdef CONFIG_POSIX_MQUEUE
	if (ns->mq_mnt)
		return inode_permission(&nop_mnt_idmap, d_inode(ns->mq_mnt->mnt_root), mask);
#endif
	return 0;
}

/*
 * A reference on the namespace's mqueue mount (NULL without POSIX queues),
 * as a native queue descriptor holds one on it (its f_path.mnt) for as
 * long as it is open, also after the namespace died (free_ipc_ns()'s
 * mntput() of ns->mq_mnt then leaves the mount to its last reference).
 */
struct vfsmount *rust_ipc_mq_mnt_get(struct ipc_namespace *ns)
{
#ifdef CONFIG_POSIX_MQUEUE
	if (ns->mq_mnt)
		return mntget(ns->mq_mnt);
#endif
	return NULL;
}

void rust_ipc_mnt_put(struct vfsmount *mnt)
{
	mntput(mnt);
}

/*
 * Write access to a mount, as a native queue descriptor open for writing
 * holds it on its mqueue mount (do_dentry_open()'s mnt_get_write_access(),
 * until its last fput), as do_mq_open() holds it while it creates a queue
 * and as chmod_common()/vfs_fchown() hold it: while it is held, a read-only
 * remount of the mqueue file system fails with EBUSY
 * (sb_prepare_remount_readonly()).  -EROFS on a read-only mount; else a
 * reference on the mount is taken with the access.
 */
int rust_ipc_mnt_get_write(struct vfsmount *mnt)
{
	int err = mnt_get_write_access(mnt);

	if (!err)
		mntget(mnt);
	return err;
}

void rust_ipc_mnt_put_write(struct vfsmount *mnt)
{
	mnt_put_write_access(mnt);
	mntput(mnt);
}

struct user_namespace *rust_ipc_get_current_user_ns(void)
{
	return get_user_ns(current_user_ns());
}

void rust_ipc_put_user_ns(struct user_namespace *ns)
{
	put_user_ns(ns);
}

/*
 * capable_wrt_inode_uidgid() for an object owned by uid and gid (a queue
 * is an inode of the mqueue fs natively): cap over the caller's user
 * namespace, and both ids mapped in it.
 */
bool rust_ipc_capable_wrt_ids(kuid_t uid, kgid_t gid, int cap, bool audit)
{
	struct user_namespace *ns = current_user_ns();

	return (audit ? ns_capable(ns, cap) : ns_capable_noaudit(ns, cap)) &&
	       kuid_has_mapping(ns, uid) && kgid_has_mapping(ns, gid);
}

/*
 * inode_owner_or_capable()'s capability: cap over the caller's user
 * namespace, for an object whose owner uid is mapped there (its group
 * need not be).
 */
bool rust_ipc_capable_wrt_uid(kuid_t uid, int cap)
{
	struct user_namespace *ns = current_user_ns();

	return kuid_has_mapping(ns, uid) && ns_capable(ns, cap);
}

/*
 * fsuidgid_has_mapping() of a superblock owned by ns: whether the caller's
 * fs uid and gid have a mapping in ns (may_create_dentry()'s EOVERFLOW
 * check, for an mqueue file system, whose owner is its IPC namespace's).
 */
bool rust_ipc_fsids_mapped(struct user_namespace *ns)
{
	return kuid_has_mapping(ns, current_fsuid()) && kgid_has_mapping(ns, current_fsgid());
}

bool rust_ipc_ids_mapped(struct user_namespace *ns, kuid_t uid, kgid_t gid)
{
	return kuid_has_mapping(ns, uid) && kgid_has_mapping(ns, gid);
}

/* The ids of the caller's credentials. */
void rust_ipc_current_ids(kuid_t *uid, kuid_t *euid, kgid_t *egid,
			  kuid_t *fsuid, kgid_t *fsgid)
{
	const struct cred *c = current_cred();

	*uid = c->uid;
	*euid = c->euid;
	*egid = c->egid;
	*fsuid = c->fsuid;
	*fsgid = c->fsgid;
}

int rust_ipc_current_umask(void)
{
	return current->fs ? current_umask() : 0022;
}

unsigned long rust_ipc_rlimit_msgqueue(void)
{
	return rlimit(RLIMIT_MSGQUEUE);
}

/* A task's scheduling priority now (lower: more urgent), as wq_add reads a
 * waiter's: it changes while the task sleeps (nice, sched_setscheduler,
 * priority inheritance). */
int rust_ipc_task_prio(struct task_struct *t)
{
	return READ_ONCE(t->prio);
}

/* The caller's thread-group pid, no reference taken (valid while it runs). */
struct pid *rust_ipc_current_tgid(void)
{
	return task_tgid(current);
}

struct pid *rust_ipc_get_pid(struct pid *pid)
{
	return get_pid(pid);
}

struct pid *rust_ipc_task_pid(struct task_struct *task)
{
	return task_pid(task);
}

u64 rust_ipc_current_exec_id(void)
{
	return current->self_exec_id;
}

/* What mq_open() charges against RLIMIT_MSGQUEUE per message slot
 * (mqueue_get_inode()): struct msg_msg's size, which bindgen sees opaque. */
size_t rust_ipc_msg_msg_size(void)
{
	return sizeof(struct msg_msg);
}

/* A thread of the group that takes sig when it runs: not exiting, not
 * blocking it. */
static bool takes(struct task_struct *t, int sig)
{
	return !(t->flags & PF_EXITING) && !sigismember(&t->blocked, sig);
}

/* One that would take it now (complete_signal()'s wants_signal(), but for
 * its preference of a running thread, of which task_curr() is not exported
 * and only the caller is known here): one that takes it, is neither
 * stopped nor traced, and has no signal pending (one that does, in a
 * killable sleep as a vfork() parent's, may not run for long) or is the
 * caller. */
static bool wants(struct task_struct *t, int sig)
{
	return takes(t, sig) && !task_is_stopped_or_traced(t) &&
	       (t == current || !task_sigpending(t));
}

/*
 * __do_notify()'s SIGEV_SIGNAL: the siginfo native sends, to the owner
 * process if it has not exec'd since it registered.  Native sends it
 * process-wide with do_send_sig_info(), which is not exported; here it
 * goes with send_sig_info() to the thread complete_signal() would pick:
 * the leader if it wants sig, else the first thread that does from the
 * group's curr_target on (which then points to it, as natively); if none
 * does (natively the signal then waits process-wide), the first that
 * takes it when it runs (stopped, traced), else the leader (where it
 * then waits), or, if the leader has exited (a pthread_exit() of main),
 * the first thread that has not (an exiting thread's private signals go
 * with it).
 */
void rust_ipc_mq_notify(struct pid *owner, u64 exec_id,
			struct user_namespace *owner_user_ns, int sig, u64 value)
{
	struct task_struct *task, *t, *target = NULL;
	struct sighand_struct *sighand;
	struct kernel_siginfo info;
	unsigned long flags;

	clear_siginfo(&info);
	info.si_signo = sig;
	info.si_errno = 0;
	info.si_code = SI_MESGQ;
	info.si_value.sival_ptr = (void __user *)(unsigned long)value;

	rcu_read_lock();
	info.si_pid = task_tgid_nr_ns(current, ns_of_pid(owner));
	info.si_uid = from_kuid_munged(owner_user_ns, current_uid());
	task = pid_task(owner, PIDTYPE_TGID);
	if (task && task->self_exec_id == exec_id) {
		target = task;
		/*
		 * The threads' masks and states under siglock (the leader's
		 * too), as lock_task_sighand() (not exported) takes it:
		 * sighand_struct is freed by RCU.
		 */
		sighand = rcu_dereference(task->sighand);
		if (sighand) {
			spin_lock_irqsave(&sighand->siglock, flags);
			if (sighand == rcu_access_pointer(task->sighand) && !wants(task, sig)) {
				struct task_struct *later = NULL, *live = NULL;
				struct task_struct *start = task->signal->curr_target;

				t = start;
				do {
					if (wants(t, sig)) {
						task->signal->curr_target = t;
						later = live = NULL;
						target = t;
						break;
					}
					if (!later && takes(t, sig))
						later = t;
					if (!live && !(t->flags & PF_EXITING))
						live = t;
					t = next_thread(t);
				} while (t != start);
				if (later)
					target = later;
				else if (live)
					target = live;
			}
			spin_unlock_irqrestore(&sighand->siglock, flags);
		}
		get_task_struct(target);
	}
	rcu_read_unlock();
	if (target) {
		send_sig_info(sig, &info, target);
		put_task_struct(target);
	}
}

/* cond_resched(), between the segments of a long message (msgutil.c). */
void rust_ipc_cond_resched(void)
{
	/*
	 * Never under a queue lock (a spinlock: a message may be freed under
	 * it).  Without CONFIG_PREEMPT_COUNT nothing tells whether one is
	 * held, and under PREEMPT_RT a spinlock leaves preemption on (and
	 * cond_resched() does nothing there but its debug check), so there it
	 * is skipped.
	 */
	if (!IS_ENABLED(CONFIG_PREEMPT_RT) && IS_ENABLED(CONFIG_PREEMPT_COUNT) && preemptible())
		cond_resched();
}

/*
 * One step up a ucounts chain (inc_rlimit_ucounts): the ucounts of (ns, uid)
 * is charged, then that of ns's creator, (ns->parent, ns->owner), against
 * the RLIMIT_MSGQUEUE the creator had (ns->rlimit_max).  False at the
 * initial namespace, the top.
 */
bool rust_ipc_user_ns_up(struct user_namespace *ns, struct user_namespace **parent,
			 kuid_t *owner, long *max)
{
	if (!ns->parent)
		return false;
	*parent = get_user_ns(ns->parent);
	*owner = ns->owner;
	*max = get_userns_rlimit_max(ns, UCOUNT_RLIMIT_MSGQUEUE);
	return true;
}

bool rust_ipc_ipc_ns_is_init(struct ipc_namespace *ns)
{
	return ns == &init_ipc_ns;
}

/*
 * Whether the caller could open the sysctl file at path ("/proc/sys/...")
 * for writing, as the native way to change what it stands for must: the
 * path looked up from the caller's root (its mount namespace, a chroot),
 * the mount's read-only state (EROFS: a container's read-only /proc/sys),
 * the file's permission (the sysctl's own: ipc_permissions,
 * mq_permissions) and the LSMs' file_open.  What it opens must be that
 * sysctl, a file of a proc file system at that path in it: a file of the
 * same name elsewhere (in a chroot, over-mounted on /proc/sys) changes no
 * native limit when written, so it lets none of the module's change
 * (EPERM).  0 or -errno; nothing is written.
 */
int rust_ipc_sysctl_writable(const char *path)
{
	struct path p;
	struct file *f;
	char buf[64], *in_proc;
	int err = kern_path(path, LOOKUP_FOLLOW, &p);

	if (err)
		return err;
	/*
	 * What the path leads to is looked at before anything is opened: the
	 * open of another file (a FIFO or a device bound over the sysctl)
	 * could wait or act.  Then that same path is opened, as open(2) would
	 * (may_open()'s permission check, then the open: the mount's write
	 * access, the LSMs' file_open).
	 */
	in_proc = dentry_path_raw(p.dentry, buf, sizeof(buf));
	if (p.dentry->d_sb->s_magic != PROC_SUPER_MAGIC || IS_ERR(in_proc) ||
	    strcmp(in_proc, path + strlen("/proc")) || !d_is_reg(p.dentry)) {
		err = -EPERM;
		goto out;
	}
	err = inode_permission(mnt_idmap(p.mnt), d_inode(p.dentry), MAY_OPEN | MAY_WRITE);
	if (err)
		goto out;
	f = dentry_open(&p, O_WRONLY, current_cred());
	if (IS_ERR(f))
		err = PTR_ERR(f);
	else
		fput(f);
out:
	path_put(&p);
	return err;
}

/*
 * The owner of ns's sysctls (ipc_set_ownership, mq_set_ownership): uid 0 of
 * the user namespace that owns it, or global root if that has no mapping.
 */

kuid_t rust_ipc_ipc_ns_root_uid(struct ipc_namespace *ns)
{
	kuid_t uid = make_kuid(ns->user_ns, 0);

	return uid_valid(uid) ? uid : GLOBAL_ROOT_UID;
}

kuid_t rust_ipc_current_euid(void)
{
	return current_euid();
}

/* Sets an open file's flags of mask to those of flags, under f_lock (as setfl()). */
void rust_ipc_file_set_flags(struct file *file, unsigned int mask, unsigned int flags)
{
	spin_lock(&file->f_lock);
	file->f_flags = (file->f_flags & ~mask) | (flags & mask);
	spin_unlock(&file->f_lock);
}

/*
 * A notification record's sender uid (notification descriptors), the
 * caller's: mapped into the registering process's user namespace as
 * __do_notify() maps si_uid.
 */
u32 rust_ipc_sender_uid(struct user_namespace *owner_user_ns)
{
	return from_kuid_munged(owner_user_ns, current_uid());
}

/*
 * The same uid as the reader sees it: what the signal code does to si_uid
 * when sender and receiver are in different user namespaces
 * (__send_signal_locked()), with the reader in the receiver's place.
 */
u32 rust_ipc_uid_for_reader(struct user_namespace *sender_user_ns, u32 uid)
{
	struct user_namespace *ns = current_user_ns();

	if (ns == sender_user_ns)
		return uid;
	return from_kuid_munged(ns, make_kuid(sender_user_ns, uid));
}

/* A read that must not block: O_NONBLOCK on the file, or IOCB_NOWAIT. */
bool rust_ipc_kiocb_nowait(struct kiocb *iocb)
{
	return (iocb->ki_flags & IOCB_NOWAIT) || (iocb->ki_filp->f_flags & O_NONBLOCK);
}

/*
 * The private data of file if it is a file of this module's device (its
 * f_op->flush is the module's), else NULL.
 */
void *rust_ipc_file_private(struct file *file, const void *flush)
{
	return file->f_op && (const void *)file->f_op->flush == flush ? file->private_data : NULL;
}

/*
 * A new open file of what src is a file of, opened again from its path
 * with flags and the caller's credentials, as file_clone_open() does with
 * the file's own: the device's open runs (the module's), and the LSMs'
 * file_open hook.  The node's permission is not looked at again (the
 * callers ask for src open for reading and writing: no more rights than
 * it has, which an open descriptor keeps after a chmod or a change of
 * ids, as any file's).  An ERR_PTR on failure.
 */
struct file *rust_ipc_reopen(struct file *src, int flags)
{
	return dentry_open(&src->f_path, flags, current_cred());
}

/*
 * Reads n 8-byte words at src into dst in one user-access section
 * (unsafe_get_user): an ioctl's small argument struct costs a few moves,
 * where copy_from_user goes through _copy_from_user and rep movs.
 */
int rust_ipc_read_user_words(u64 *dst, const u64 __user *src, unsigned int n)
{
	unsigned int i;

	might_fault();
	scoped_user_read_access_size(src, n * sizeof(u64), efault)
		for (i = 0; i < n; i++)
			unsafe_get_user(dst[i], &src[i], efault);
	return 0;
efault:
	return -EFAULT;
}

/*
 * The fourth to sixth arguments of the caller's ioctl(2) system call, for
 * the commands that take theirs in registers (RIPC_MQ_TIMEDSEND, ...):
 * syscall_get_arguments(), as seccomp and ptrace read them.  False unless
 * the current system call is a native 64-bit ioctl() with this cmd and arg
 * (not a compat caller, a 32-bit kernel, a kernel thread or a user worker,
 * whose saved registers are not its own system call's).
 */
bool rust_ipc_ioctl_args(unsigned int cmd, unsigned long arg, unsigned long *rest)
{
	struct pt_regs *regs = task_pt_regs(current);
	unsigned long args[6];

	if (!IS_ENABLED(CONFIG_64BIT) || (current->flags & (PF_KTHREAD | PF_USER_WORKER)) ||
	    in_compat_syscall() || syscall_get_nr(current, regs) != __NR_ioctl)
		return false;
	syscall_get_arguments(current, regs, args);
	if ((unsigned int)args[1] != cmd || args[2] != arg)
		return false;
	rest[0] = args[3];
	rest[1] = args[4];
	rest[2] = args[5];
	return true;
}

/*
 * RIPC_MSGSND_REGS' and RIPC_MSGRCV_REGS' arguments (the uapi header) into
 * the struct of the struct command, zeroed by the caller:
 * RIPC_MSG_REGS_ID(msqid, msgflg) in arg, then msgp, msgsz and a receive's
 * msgtyp (a send's sixth argument must be 0: -EINVAL).  -ENOTTY where
 * rust_ipc_ioctl_args() finds no register call.  One call, with
 * rust_ipc_ioctl_args() inlined: the Rust function that did this took 29
 * instructions of its own a call.
 */
int rust_ipc_msgsnd_regs(unsigned int cmd, unsigned long arg, struct ripc_msgsnd *a)
{
	unsigned long rest[3];

	if (!rust_ipc_ioctl_args(cmd, arg, rest))
		return -ENOTTY;
	if (rest[2])
		return -EINVAL;
	a->msqid = (s32)arg;
	a->msgflg = (s32)upper_32_bits(arg);
	a->msgp = rest[0];
	a->msgsz = (s64)rest[1];
	return 0;
}

int rust_ipc_msgrcv_regs(unsigned int cmd, unsigned long arg, struct ripc_msgrcv *a)
{
	unsigned long rest[3];

	if (!rust_ipc_ioctl_args(cmd, arg, rest))
		return -ENOTTY;
	a->msqid = (s32)arg;
	a->msgflg = (s32)upper_32_bits(arg);
	a->msgp = rest[0];
	a->msgsz = (s64)rest[1];
	a->msgtyp = (s64)rest[2];
	return 0;
}

/*
 * put_user() of a u32 with page faults disabled: copy_to_user_nofault()
 * for one word (a received message's priority under the queue lock),
 * without its call and rep movs.  -EFAULT if the page is not there.
 */
int rust_ipc_put_u32_nofault(u32 __user *dst, u32 val)
{
	int ret;

	pagefault_disable();
	ret = put_user(val, dst);
	pagefault_enable();
	return ret;
}

/*
 * jhash_1word() and jhash(): the hash native's rhashtable gives its keys
 * (with a random seed of each table's, its hash_rnd).
 */
u32 rust_ipc_jhash_1word(u32 v, u32 seed)
{
	return jhash_1word(v, seed);
}

u32 rust_ipc_jhash(const void *p, u32 len, u32 seed)
{
	return jhash(p, len, seed);
}

/* crc32_le(): zlib's CRC-32 without its inversions (lib/crc/). */
u32 rust_ipc_crc32(u32 crc, const void *p, size_t len)
{
	return crc32_le(crc, p, len);
}

/*
 * The sleep of native mqueue's wq_sleep(), in two halves around the
 * caller's unlock of its queue lock.  The first marks the task asleep while
 * the lock is held: a waker serves the task under that lock and wakes it
 * (wake_up_process()) after dropping it, so a wake-up that comes between
 * the unlock and the schedule() puts the task back to TASK_RUNNING and the
 * schedule() returns at once: none is lost.
 */
void rust_ipc_set_interruptible(void)
{
	set_current_state(TASK_INTERRUPTIBLE);
}

/*
 * The second half, without the lock: sleeps until woken, signalled, or
 * the absolute time expires on clock (KTIME_MAX: no deadline), on an
 * hrtimer with no slack, as wq_sleep().  A CLOCK_REALTIME timer expires
 * when the clock is set past it; CLOCK_MONOTONIC and CLOCK_BOOTTIME ones
 * do not move when it is set.  Returns 0 if the timer expired (also for a
 * time already past), else -EINTR; the task is TASK_RUNNING again.
 */
int rust_ipc_sleep_until(clockid_t clock, ktime_t expires)
{
	/*
	 * No deadline: schedule() itself, as do_msgrcv() sleeps
	 * (schedule_hrtimeout_range_clock() does the same for no timer, after
	 * a call and a frame with a timer in it).
	 */
	if (expires == KTIME_MAX) {
		schedule();
		return -EINTR;
	}
	return schedule_hrtimeout_range_clock(&expires, 0, HRTIMER_MODE_ABS, clock);
}

/*
 * An absolute time on clock, as the caller reads that clock in its time
 * namespace, as the host's clock counts it (timens_ktime_to_host(), as
 * clock_nanosleep(), timerfd and futex convert theirs): CLOCK_MONOTONIC
 * and CLOCK_BOOTTIME move by the namespace's offsets, CLOCK_REALTIME is
 * the same everywhere.
 */
s64 rust_ipc_timens_to_host(clockid_t clock, s64 at)
{
	return timens_ktime_to_host(clock, at);
}

/* CLOCK_MONOTONIC as of the last tick (no clock source read). */
s64 rust_ipc_coarse_mono_ns(void)
{
	return ktime_get_coarse_ns();
}

/* CLOCK_REALTIME less CLOCK_MONOTONIC: moves only when the clock is set. */
s64 rust_ipc_real_offset_ns(void)
{
	return ktime_mono_to_real(0);
}

#if defined(CONFIG_NET) || defined(CONFIG_IO_URING) || \
	defined(CONFIG_VFIO_PCI_ZDEV_KVM) || IS_ENABLED(CONFIG_IOMMUFD) || \
	defined(CONFIG_SECRETMEM)
/*
 * Charges n pinned pages to the caller's user and RLIMIT_MEMLOCK, as
 * io_uring's registered buffers are (__io_account_mem): returns the user
 * charged (a reference), NULL without a charge (CAP_IPC_LOCK, which
 * io_uring does not charge either), or an ERR_PTR past half the limit:
 * the other half stays for the pinning a program asks for (io_uring's
 * buffers, MSG_ZEROCOPY, RDMA, which count in the same locked_vm), which
 * one copy, an optimisation, must not starve.
 */
static struct user_struct *charge_pinned(unsigned long n)
{
	struct user_struct *user = current_user();
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	unsigned long cur;

	if (ns_capable_noaudit(&init_user_ns, CAP_IPC_LOCK))
		return NULL;
	cur = atomic_long_read(&user->locked_vm);
	do {
		if (cur + n > limit / 2)
			return ERR_PTR(-ENOMEM);
	} while (!atomic_long_try_cmpxchg(&user->locked_vm, &cur, cur + n));
	return get_uid(user);
}

static void uncharge_pinned(struct user_struct *user, unsigned long n)
{
	if (user) {
		atomic_long_sub(n, &user->locked_vm);
		free_uid(user);
	}
}
#else
/*
 * No user_struct.locked_vm to charge on this kernel: only a caller with
 * CAP_IPC_LOCK pins; another's receive takes the ordinary copy, so that no
 * user pins memory without a bound.
 */
static struct user_struct *charge_pinned(unsigned long n)
{
	return ns_capable_noaudit(&init_user_ns, CAP_IPC_LOCK) ? NULL : ERR_PTR(-ENOMEM);
}

static void uncharge_pinned(struct user_struct *user, unsigned long n)
{
}
#endif

/*
 * Whether every pinned page is an anonymous one.  Pinned for writing (its
 * page table entry writable, so not shared copy-on-write; copied, not
 * shared, by a fork while pinned), such a page is mapped by the receiver
 * alone, at the receiver's address: a sender reaches it only through that
 * address, in the receiver's mm, which rust_ipc_pinned_fill() checks.  A
 * page of a shared mapping or of a file (shmem, a memfd, System V shm, the
 * page cache) may also be mapped where the sender's text is, in its own
 * process or another: a copy from there into it would read bytes it had
 * already overwritten, where the ordinary way reads the whole text first.
 */
static bool pinned_private(struct page **p, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		if (!folio_test_anon(page_folio(p[i])))
			return false;
	return true;
}

/*
 * One copy (a sender's text straight into a blocked receiver's buffer):
 * the receiver's buffer [addr, addr + len) pinned for writing, only if its
 * pages are present now (FOLL_NOFAULT), charged to RLIMIT_MEMLOCK (*user:
 * the user charged, or NULL) and counted in the caller's VmPin (*mm, a
 * reference).  Called without the queue lock: pinning may
 * wait for the caller's mmap_lock or migrate pages (FOLL_LONGTERM: the pin
 * lasts as long as the receiver sleeps).  The page array is the caller's
 * inline one if it has room for them (ninline entries), else allocated.
 * Returns the number of pages and sets *pages, or returns 0 if the pages
 * are not all there, not all private (pinned_private()) or the limit is
 * reached.
 */
int rust_ipc_pin_user_nofault(unsigned long addr, size_t len, struct page **inline_pages,
			      int ninline, struct page ***pages, struct user_struct **user,
			      struct mm_struct **mm)
{
	unsigned long first = addr >> PAGE_SHIFT, last = (addr + len - 1) >> PAGE_SHIFT;
	unsigned long n = last - first + 1;
	struct page **p = inline_pages;
	struct user_struct *charged;
	int got;

	if (!len || addr + len < addr || n > INT_MAX)
		return 0;
	charged = charge_pinned(n);
	if (IS_ERR(charged))
		return 0;
	if (n > ninline) {
		p = kvmalloc_array(n, sizeof(*p), GFP_KERNEL_ACCOUNT);
		if (!p) {
			uncharge_pinned(charged, n);
			return 0;
		}
	}
	got = pin_user_pages_fast(addr & PAGE_MASK, n, FOLL_WRITE | FOLL_LONGTERM | FOLL_NOFAULT, p);
	if (got == (int)n && pinned_private(p, n)) {
		*pages = p;
		*user = charged;
		/* Shown as VmPin, as io_uring's registered buffers are. */
		*mm = current->mm;
		mmgrab(*mm);
		atomic64_add(n, &(*mm)->pinned_vm);
		return n;
	}
	if (got > 0)
		unpin_user_pages(p, got);
	if (p != inline_pages)
		kvfree(p);
	uncharge_pinned(charged, n);
	return 0;
}

/*
 * Whether the len bytes at addr (at most two pages) are mapped writable
 * with their pages there now: taken and put back at once without a fault
 * (get_user_pages_fast_only() with FOLL_WRITE), so nothing is written or
 * allocated.  A later write may still fault (a sibling's munmap()).
 */
bool rust_ipc_user_writable_now(unsigned long addr, size_t len)
{
	unsigned long first = addr >> PAGE_SHIFT, last = (addr + len - 1) >> PAGE_SHIFT;
	int n = last - first + 1, got;
	struct page *p[2];

	if (!len || addr + len < addr || last - first >= ARRAY_SIZE(p) ||
	    !access_ok((void __user *)addr, len))
		return false;
	got = get_user_pages_fast_only(addr & PAGE_MASK, n, FOLL_WRITE, p);
	for (int i = 0; i < got; i++)
		put_page(p[i]);
	return got == n;
}

/*
 * Unpins (and marks dirty) what rust_ipc_pin_user_nofault() pinned, takes
 * back its charge and its VmPin count, and frees the page array if it was allocated (not
 * inline_pages).
 */
void rust_ipc_unpin_user(struct page **pages, int npages, struct page **inline_pages,
			 struct user_struct *user, struct mm_struct *mm)
{
	unpin_user_pages_dirty_lock(pages, npages, true);
	uncharge_pinned(user, npages);
	if (mm) {
		atomic64_sub(npages, &mm->pinned_vm);
		mmdrop(mm);
	}
	if (pages != inline_pages)
		kvfree(pages);
}

/*
 * Copies len bytes into the pinned buffer at byte off (the buffer starts
 * start bytes into its first page): from user memory at src (checked with
 * access_ok) with page faults disabled, as copy_from_user_nofault() but
 * once for all the pages (-EFAULT if a page is not there: the caller then
 * takes the ordinary way), or from kernel memory (src_kernel).  The
 * buffer's bytes being written are at user address dst of mm: a source
 * that overlaps them in the same mm (another thread of the receiver) is
 * -EFAULT too, since a copy from it would read bytes it has already
 * overwritten, where the ordinary way reads the whole source first.
 */
int rust_ipc_pinned_fill(struct page **pages, size_t start, size_t off,
			 const void *src, size_t len, bool src_kernel,
			 const struct mm_struct *mm, unsigned long dst)
{
	int ret = 0;

	if (!src_kernel && !access_ok((const void __user *)src, len))
		return -EFAULT;
	/* Overlap in the same mm: the addresses as the MMU sees them (LAM/TBI
	 * tags are not part of them). */
	if (!src_kernel && current->mm == mm &&
	    untagged_addr((unsigned long)src) < untagged_addr(dst) + len &&
	    untagged_addr(dst) < untagged_addr((unsigned long)src) + len)
		return -EFAULT;
	pagefault_disable();
	/*
	 * Every page of a user source is there before anything is written: a
	 * fill that faulted half-way would leave part of a message in the
	 * buffer of a receiver that then gets another one, or none.  (Another
	 * thread of the sender that unmaps the source right now, or the kernel
	 * migrating or reclaiming one of its pages, can still make the copy
	 * below fail part-way; the receiver's buffer then holds part of a
	 * message it does not get.)
	 */
	if (!src_kernel) {
		const char __user *p = (const char __user *)src, *end = p + len;
		char c;

		for (; p < end; p = (const char __user *)PAGE_ALIGN((unsigned long)p + 1)) {
			if (__get_user(c, p)) {
				pagefault_enable();
				return -EFAULT;
			}
		}
	}
	while (len) {
		size_t pos = start + off, in = offset_in_page(pos);
		size_t n = min_t(size_t, len, PAGE_SIZE - in);
		char *k = kmap_local_page(pages[pos >> PAGE_SHIFT]);

		if (src_kernel)
			memcpy(k + in, src, n);
		else if (__copy_from_user_inatomic(k + in, (const void __user *)src, n))
			ret = -EFAULT;
		flush_dcache_page(pages[pos >> PAGE_SHIFT]);	/* as memcpy_to_page() */
		kunmap_local(k);
		if (ret)
			break;
		src = (const char *)src + n;
		off += n;
		len -= n;
	}
	pagefault_enable();
	return ret;
}

/*
 * A pointer per CPU (rust_ipc's per-CPU cache of a System V namespace's
 * last queue): each CPU takes and gives back its own slot with this_cpu
 * operations, which need no lock and write no cache line another CPU
 * writes.  A task that moves to another CPU in between gives back to that
 * one's slot.
 */
void __percpu *rust_ipc_percpu_slots(void)
{
	return alloc_percpu_gfp(void *, GFP_KERNEL_ACCOUNT);
}

void *rust_ipc_percpu_take(void __percpu *slots)
{
	return this_cpu_xchg(*(void * __percpu *)slots, NULL);
}

/* Stores p in this CPU's slot if it is empty; false if it was not. */
bool rust_ipc_percpu_put(void __percpu *slots, void *p)
{
	return this_cpu_cmpxchg(*(void * __percpu *)slots, NULL, p) == NULL;
}

/*
 * Empties the first full slot of the possible CPUs from *cpu on and returns
 * what it held, with *cpu past it; NULL once all are empty (when nothing
 * else uses the slots any more).  Start with *cpu = 0.
 */
void *rust_ipc_percpu_pop_any(void __percpu *slots, int *cpu)
{
	int c;

	for (c = cpumask_next(*cpu - 1, cpu_possible_mask); c < nr_cpu_ids;
	     c = cpumask_next(c, cpu_possible_mask)) {
		void **s = per_cpu_ptr((void * __percpu *)slots, c);
		void *p = *s;

		if (p) {
			*s = NULL;
			*cpu = c + 1;
			return p;
		}
	}
	*cpu = nr_cpu_ids;
	return NULL;
}

/*
 * A namespace's System V message and byte counts, per CPU (native: the
 * msg_hdrs and msg_bytes percpu_counters): each call adds to its CPU's,
 * msgctl(MSG_INFO) sums them.  Words, which a reader on another CPU reads
 * whole on every architecture (a 64-bit count could tear on a 32-bit
 * one); a CPU's count may wrap (one CPU adds, another takes away), the
 * sum modulo the word is the total, which is below LONG_MAX.
 */
struct rust_ipc_counts {
	long msgs;
	long bytes;
};

void __percpu *rust_ipc_percpu_counts(void)
{
	return alloc_percpu_gfp(struct rust_ipc_counts, GFP_KERNEL_ACCOUNT);
}

void rust_ipc_percpu_count(void __percpu *counts, s64 msgs, s64 bytes)
{
	struct rust_ipc_counts __percpu *c = counts;

	this_cpu_add(c->msgs, (long)msgs);
	this_cpu_add(c->bytes, (long)bytes);
}

void rust_ipc_percpu_counts_sum(void __percpu *counts, s64 *msgs, s64 *bytes)
{
	struct rust_ipc_counts __percpu *c = counts;
	unsigned long m = 0, b = 0;
	int cpu;

	for_each_possible_cpu(cpu) {
		m += (unsigned long)READ_ONCE(per_cpu_ptr(c, cpu)->msgs);
		b += (unsigned long)READ_ONCE(per_cpu_ptr(c, cpu)->bytes);
	}
	*msgs = (long)m;
	*bytes = (long)b;
}
