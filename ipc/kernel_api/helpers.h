/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The C helpers of rust_ipc (helpers.c): the kernel's static inlines and
 * macros as functions its Rust code calls (ipc/kernel_api/mod.rs declares
 * the same).
 */
#ifndef RUST_IPC_HELPERS_H
#define RUST_IPC_HELPERS_H

#include <linux/types.h>
#include <linux/ktime.h>
#include <linux/uidgid.h>

struct file;
struct kiocb;
struct page;
struct ipc_namespace;
struct pid;
struct user_namespace;

int rust_ipc_msg_buckets_create(unsigned int useroffset, unsigned int usersize);
void rust_ipc_msg_buckets_destroy(void);
void *rust_ipc_kmalloc(size_t size, gfp_t flags, bool head);
unsigned long rust_ipc_charged_to(void);
void *rust_ipc_kmalloc_nowait(size_t size, bool head);
loff_t rust_ipc_mq_llseek(struct file *file, loff_t offset, int whence);
struct ipc_namespace *rust_ipc_current_ipc_ns(void);
bool rust_ipc_exiting_in_child_ipc_ns(void);
bool rust_ipc_is_current_ipc_ns(const u64 *id);
u64 rust_ipc_ipc_ns_id(struct ipc_namespace *ns);
struct ipc_namespace *rust_ipc_get_ipc_ns(struct ipc_namespace *ns);
void rust_ipc_put_ipc_ns(struct ipc_namespace *ns);
bool rust_ipc_ipc_ns_last_ref(struct ipc_namespace *ns);
bool rust_ipc_sweep_namespaces(void); /* Rust: ns.rs */
void rust_ipc_sweep_later(void);
void rust_ipc_sweep_soon(void);
void rust_ipc_sweep_now(void);
void rust_ipc_sweep_flush(void);
void rust_ipc_sweep_stop(void);
struct user_namespace *rust_ipc_get_ipc_ns_user_ns(struct ipc_namespace *ns);
bool rust_ipc_mq_root(struct ipc_namespace *ns, umode_t *mode, kuid_t *uid);
int rust_ipc_mq_root_permission(struct ipc_namespace *ns, int mask);
struct vfsmount *rust_ipc_mq_mnt_get(struct ipc_namespace *ns);
void rust_ipc_mnt_put(struct vfsmount *mnt);
int rust_ipc_mnt_get_write(struct vfsmount *mnt);
void rust_ipc_mnt_put_write(struct vfsmount *mnt);
struct user_namespace *rust_ipc_get_current_user_ns(void);
void rust_ipc_put_user_ns(struct user_namespace *ns);
bool rust_ipc_capable_wrt_ids(kuid_t uid, kgid_t gid, int cap, bool audit);
bool rust_ipc_fsids_mapped(struct user_namespace *ns);
bool rust_ipc_ids_mapped(struct user_namespace *ns, kuid_t uid, kgid_t gid);
void rust_ipc_current_ids(kuid_t *uid, kuid_t *euid, kgid_t *egid,
			  kuid_t *fsuid, kgid_t *fsgid);
int rust_ipc_current_umask(void);
unsigned long rust_ipc_rlimit_msgqueue(void);
int rust_ipc_task_prio(struct task_struct *t);
struct pid *rust_ipc_current_tgid(void);
struct pid *rust_ipc_get_pid(struct pid *pid);
struct pid *rust_ipc_task_pid(struct task_struct *task);
u64 rust_ipc_current_exec_id(void);
size_t rust_ipc_msg_msg_size(void);
void rust_ipc_mq_notify(struct pid *owner, u64 exec_id,
			struct user_namespace *owner_user_ns, int sig, u64 value);
void rust_ipc_cond_resched(void);
int rust_ipc_put_u32_nofault(u32 __user *dst, u32 val);
bool rust_ipc_ioctl_args(unsigned int cmd, unsigned long arg, unsigned long *rest);
struct ripc_msgsnd;
struct ripc_msgrcv;
int rust_ipc_msgsnd_regs(unsigned int cmd, unsigned long arg, struct ripc_msgsnd *a);
int rust_ipc_msgrcv_regs(unsigned int cmd, unsigned long arg, struct ripc_msgrcv *a);
int rust_ipc_read_user_words(u64 *dst, const u64 __user *src, unsigned int n);
bool rust_ipc_user_ns_up(struct user_namespace *ns, struct user_namespace **parent,
			 kuid_t *owner, long *max);
bool rust_ipc_ipc_ns_is_init(struct ipc_namespace *ns);
kuid_t rust_ipc_ipc_ns_root_uid(struct ipc_namespace *ns);
int rust_ipc_sysctl_writable(const char *path);
kuid_t rust_ipc_current_euid(void);
void rust_ipc_file_set_flags(struct file *file, unsigned int mask, unsigned int flags);
u32 rust_ipc_sender_uid(struct user_namespace *owner_user_ns);
u32 rust_ipc_uid_for_reader(struct user_namespace *sender_user_ns, u32 uid);
bool rust_ipc_kiocb_nowait(struct kiocb *iocb);
void *rust_ipc_file_private(struct file *file, const void *flush);
struct file *rust_ipc_reopen(struct file *src, int flags);
bool rust_ipc_capable_wrt_uid(kuid_t uid, int cap);
u32 rust_ipc_crc32(u32 crc, const void *p, size_t len);
u32 rust_ipc_jhash_1word(u32 v, u32 seed);
u32 rust_ipc_jhash(const void *p, u32 len, u32 seed);
void rust_ipc_set_interruptible(void);
s64 rust_ipc_timens_to_host(clockid_t clock, s64 at);
int rust_ipc_sleep_until(clockid_t clock, ktime_t expires);
s64 rust_ipc_coarse_mono_ns(void);
s64 rust_ipc_real_offset_ns(void);

struct user_struct;
struct mm_struct;
int rust_ipc_pin_user_nofault(unsigned long addr, size_t len, struct page **inline_pages,
			      int ninline, struct page ***pages, struct user_struct **user,
			      struct mm_struct **mm);
bool rust_ipc_user_writable_now(unsigned long addr, size_t len);
void rust_ipc_unpin_user(struct page **pages, int npages, struct page **inline_pages,
			 struct user_struct *user, struct mm_struct *mm);
int rust_ipc_pinned_fill(struct page **pages, size_t start, size_t off,
			 const void *src, size_t len, bool src_kernel,
			 const struct mm_struct *mm, unsigned long dst);

void __percpu *rust_ipc_percpu_slots(void);
void *rust_ipc_percpu_take(void __percpu *slots);
bool rust_ipc_percpu_put(void __percpu *slots, void *p);
void *rust_ipc_percpu_pop_any(void __percpu *slots, int *cpu);
void __percpu *rust_ipc_percpu_counts(void);
void rust_ipc_percpu_count(void __percpu *counts, s64 msgs, s64 bytes);
void rust_ipc_percpu_counts_sum(void __percpu *counts, s64 *msgs, s64 *bytes);

#endif /* RUST_IPC_HELPERS_H */
