/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * rust_ipc: POSIX and System V message queues behind /dev/rust_ipc.
 *
 * This header is the single source of truth of the ABI: the module's Rust
 * view of it is generated from it by bindgen at build time.
 *
 * Conventions:
 *  - every argument struct starts with `__u32 size`, which the caller sets
 *    to sizeof(struct) as it knows it (the copy_struct_from_user rule: a
 *    shorter struct is zero-extended, a longer one must have only zero bytes
 *    past what the module knows, else E2BIG; a size below 4 is EINVAL, and
 *    one above a page E2BIG, as clone3's and openat2's; a struct is written
 *    back only as far as its size);
 *  - fields are fixed-width, pointers are __u64, padding is explicit, so
 *    32-bit and 64-bit callers share one layout; the padding fields of the
 *    module's own structs (__pad) must be 0, else EINVAL (ABI 6; a later
 *    ABI may give them a meaning), while those of the structs laid out as
 *    native's (ripc_sigevent, ripc_mq_attr, ripc_msqid_ds, ...) are
 *    ignored, as native ignores them;
 *  - the module dispatches on the ioctl type and number; the size bits of
 *    the command are not used (the `size` field is);
 *  - errors are the native ones: ioctl() returns -1 with errno set exactly
 *    as the corresponding mq_*()/msg*() call would.
 */
#ifndef _UAPI_LINUX_RUST_IPC_H
#define _UAPI_LINUX_RUST_IPC_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define RIPC_DEVICE "/dev/rust_ipc"
#define RIPC_ABI_VERSION 6             /* 2: the register calls (below); 3: ripc_set_limits.set, POLLPRI on notification descriptors; 4: a relative wait's time left written back (struct ripc_clock); 5: RIPC_MQ_OPEN_FD, RIPC_MQ_SETPERM, RIPC_NOTIFY_FD_OPEN; 6: reserved fields checked (EINVAL) */

/* Limits, as /proc/sys/fs/mqueue/ and /proc/sys/kernel/msg* show them. */
struct ripc_limits {
	__u32 mq_msg_default;     /* fs.mqueue.msg_default */
	__u32 mq_msgsize_default; /* fs.mqueue.msgsize_default */
	__u32 mq_msg_max;         /* fs.mqueue.msg_max */
	__u32 mq_msgsize_max;     /* fs.mqueue.msgsize_max */
	__u32 mq_queues_max;      /* fs.mqueue.queues_max */
	__u32 msgmax;             /* kernel.msgmax */
	__u32 msgmnb;             /* kernel.msgmnb */
	__u32 msgmni;             /* kernel.msgmni */
};

/* RIPC_IOC_VERSION: read the ABI version and the current limits. */
struct ripc_version {
	__u32 size;
	__u32 abi_version;              /* out */
	struct ripc_limits limits;      /* out */
};

/*
 * RIPC_IOC_SET_LIMITS: change limits (the namespace's root, else EPERM;
 * and only a limit whose native sysctl file the caller could open for
 * writing now, else that open's error: EROFS under a read-only /proc/sys,
 * ENOENT without /proc, the LSMs' refusal).
 * With set == 0, the fields that are not 0 are set (0 leaves a field
 * unchanged).  Otherwise exactly the fields whose RIPC_LIMIT_* bit is in
 * set are set, 0 too where the native sysctl takes it (queues_max, msgmax,
 * msgmnb, msgmni); an unknown bit is EINVAL.  Each value set must be in
 * its native sysctl's range (EINVAL, nothing changed): msg_default and
 * msg_max 1..65536, msgsize_default and msgsize_max 128..16 MiB,
 * queues_max any (native's int, -1 is 0xffffffff), msgmax and msgmnb
 * 0..INT_MAX, msgmni 0..32768.
 */
struct ripc_set_limits {
	__u32 size;
	__u32 set;                      /* in: RIPC_LIMIT_* bits, or 0 */
	struct ripc_limits limits;      /* in */
};

/* The bits of ripc_set_limits.set: one per field of struct ripc_limits, in order. */
#define RIPC_LIMIT_MQ_MSG_DEFAULT	(1U << 0)
#define RIPC_LIMIT_MQ_MSGSIZE_DEFAULT	(1U << 1)
#define RIPC_LIMIT_MQ_MSG_MAX		(1U << 2)
#define RIPC_LIMIT_MQ_MSGSIZE_MAX	(1U << 3)
#define RIPC_LIMIT_MQ_QUEUES_MAX	(1U << 4)
#define RIPC_LIMIT_MSGMAX		(1U << 5)
#define RIPC_LIMIT_MSGMNB		(1U << 6)
#define RIPC_LIMIT_MSGMNI		(1U << 7)
#define RIPC_LIMIT_ALL			0xffU

/* ---- POSIX queues ---------------------------------------------------- */

/* struct mq_attr: the layout of the 64-bit kernel's and glibc's. */
struct ripc_mq_attr {
	__s64 mq_flags;
	__s64 mq_maxmsg;
	__s64 mq_msgsize;
	__s64 mq_curmsgs;
	__s64 __reserved[4];
};

/*
 * A deadline (struct timespec, 64-bit): by default an absolute
 * CLOCK_REALTIME time, as mq_timedsend() takes; see struct ripc_clock.
 * The layout of struct __kernel_timespec, read as the kernel reads it: a
 * 32-bit caller's upper half of tv_nsec (the padding of its struct
 * __timespec64) is ignored.
 */
struct ripc_timespec {
	__s64 tv_sec;
	__s64 tv_nsec;
};

/*
 * The clock of a timed call (a rust_ipc extension), the last field of every
 * struct that has a timeout.  All zero (a caller that does not know the
 * field: the size rule zero-extends it) is native's absolute CLOCK_REALTIME
 * deadline.
 *  - clockid: CLOCK_REALTIME (0), CLOCK_MONOTONIC (1) or CLOCK_BOOTTIME
 *    (7); any other clock is EINVAL.
 *  - flags: RIPC_TIMEOUT_RELATIVE makes the timeout a time to wait from
 *    the call's start (tv_sec >= 0) instead of a time of the clock; a
 *    relative wait on CLOCK_REALTIME is not moved by clock changes (it
 *    counts as CLOCK_MONOTONIC, as relative timers do).  Other bits EINVAL.
 * The sleep is on an hrtimer of that clock with no slack (as native's
 * wq_sleep): an absolute CLOCK_REALTIME wait ends when the clock is set
 * past its deadline; CLOCK_MONOTONIC and CLOCK_BOOTTIME waits do not move
 * when CLOCK_REALTIME is set.  clockid and flags are checked (EINVAL) even
 * when timeout is 0, before the timespec is read.  When a signal
 * interrupts a call with a relative timeout, the time left is written back
 * to *timeout (as ppoll() does), and the call is restarted with it if no
 * handler runs (a stop and continue, a cgroup's freezer: the wait goes on
 * for what is left), else it fails with EINTR (SA_RESTART or not), so it
 * never waits longer than asked; if the time left cannot be written
 * (read-only memory), EINTR.  A call with an absolute timeout restarts as
 * without this struct.
 */
#define RIPC_TIMEOUT_RELATIVE 1

struct ripc_clock {
	__s32 clockid;
	__u32 flags;                    /* RIPC_TIMEOUT_RELATIVE */
};

/*
 * RIPC_MQ_OPEN: bind this file (an unbound open of /dev/rust_ipc) to the
 * named queue, like mq_open() returning a descriptor.  oflag takes
 * O_RDONLY/O_WRONLY/O_RDWR, O_CREAT, O_EXCL and O_NONBLOCK (the file's
 * O_NONBLOCK is set from oflag, also cleared, as fcntl(F_SETFL) would).  attr is 0 or a pointer to
 * a struct ripc_mq_attr used only when the queue is created.
 * A file can be bound once (EBUSY after that).
 *
 * RIPC_MQ_OPEN_FD (ABI version 5), with the same struct, on any file of the
 * device opened O_RDWR (else EBADF): mq_open() itself, returning a new
 * close-on-exec descriptor of a new file of the device bound to the queue,
 * as RIPC_MQ_OPEN binds one, without a path lookup of /dev/rust_ipc (after
 * a chroot, or in a mount namespace without the node, a process that holds
 * a file of the device opens queues).  Its errors come in native's order:
 * those of the name as getname() reads it, then EMFILE (ENFILE), then the
 * lookup's and the open's.  The new file is opened from the same path as
 * the file the call is made on, with oflag (all of it, as native's
 * dentry_open(): F_GETFL shows what native's shows), by the caller's
 * credentials (the LSMs' file_open hook runs; the node's permission bits
 * are not looked at again).
 */
struct ripc_mq_open {
	__u32 size;
	__u32 oflag;
	__u32 mode;
	__u32 __pad;
	__u64 name;                     /* const char *, "/name" */
	__u64 attr;                     /* const struct ripc_mq_attr * or 0 */
};

/*
 * RIPC_MQ_SETPERM (ABI version 5): fchmod() or fchown() of a POSIX queue
 * descriptor (this file, bound to the queue), which on a file of the
 * device would change /dev/rust_ipc itself.  which is RIPC_SETPERM_MODE
 * (mode: its 07777 bits, as chmod_common() sets them) or RIPC_SETPERM_OWNER
 * (uid and gid as the caller's user namespace sees them, -1 for
 * unchanged, as chown_common()); anything else EINVAL.  Native's checks in
 * native's order: EBADF unless the file is a POSIX queue's, EROFS on a
 * read-only mqueue mount, EINVAL for an id the caller's user namespace
 * does not map, EOVERFLOW for one the queue's namespace's owner does not
 * map, EPERM unless the caller owns the queue or has CAP_CHOWN (owner; an
 * owner may change the group to one of its own) and, for a mode change,
 * unless it owns it or has CAP_FOWNER, over its user namespace; a mode
 * loses its set-group-ID bit for a caller neither in the group nor with
 * CAP_FSETID, and a chown clears the set-user-ID bit and, as native's, the
 * set-group-ID bit.  Later opens check the new mode and owner.  libripc
 * ripc_mq_fchmod() and ripc_mq_fchown(); the drop-in's fchmod() and
 * fchown() on a queue descriptor.
 */
#define RIPC_SETPERM_MODE 1
#define RIPC_SETPERM_OWNER 2

struct ripc_mq_setperm {
	__u32 size;
	__u32 which;
	__u32 mode;
	__u32 uid;
	__u32 gid;
	__u32 __pad;
};

/* RIPC_MQ_UNLINK: mq_unlink(name); works on any file of the device. */
struct ripc_mq_unlink {
	__u32 size;
	__u32 __pad;
	__u64 name;                     /* const char * */
};

/*
 * RIPC_MQ_SEND / RIPC_MQ_RECEIVE: mq_timedsend() / mq_timedreceive().
 * timeout is 0 (wait forever) or a pointer to a struct ripc_timespec.
 * Receive returns the message length; it writes the priority to msg_prio.
 */
struct ripc_mq_xfer {
	__u32 size;
	__u32 msg_prio;                 /* in (send) or out (receive) */
	__u64 msg_ptr;                  /* buffer */
	__u64 msg_len;                  /* length (send) or buffer size (receive) */
	__u64 timeout;                  /* const struct ripc_timespec * or 0 */
	struct ripc_clock clock;        /* extension: the timeout's clock */
};

/*
 * RIPC_MQ_GETSETATTR: mq_getattr() (set_attr == 0) or mq_setattr().
 * old_attr receives the attributes from before the change.
 */
struct ripc_mq_getsetattr {
	__u32 size;
	__u32 __pad;
	__u64 new_attr;                 /* const struct ripc_mq_attr * or 0 */
	__u64 old_attr;                 /* struct ripc_mq_attr * or 0 */
};

#define RIPC_SIGEV_SIGNAL 0             /* = SIGEV_SIGNAL */
#define RIPC_SIGEV_NONE 1               /* = SIGEV_NONE */
#define RIPC_SIGEV_THREAD 2             /* = SIGEV_THREAD: rejected (EINVAL); libraries emulate it */

/* struct sigevent: the layout of the 64-bit kernel's and glibc's. */
struct ripc_sigevent {
	__u64 sigev_value;              /* sigval (sival_ptr / sival_int) */
	__s32 sigev_signo;
	__s32 sigev_notify;
	__u32 __pad[12];
};

/*
 * RIPC_MQ_NOTIFY: mq_notify(mqd, sevp).  sevp is 0 (remove the caller's
 * registration) or a pointer to a struct ripc_sigevent (a native struct
 * sigevent) with SIGEV_SIGNAL, SIGEV_NONE or RIPC_SIGEV_FD.  The signal
 * carries si_code SI_MESGQ, si_value, si_pid/si_uid of the sender; it is
 * sent to the thread of the registering process that the kernel's
 * complete_signal() would pick (native sends it process-wide: README,
 * "Differences a module cannot avoid").
 */
struct ripc_mq_notify {
	__u32 size;
	__u32 __pad;
	__u64 sevp;
};

/* ---- Notification descriptors (a rust_ipc extension) ---------------- */

/*
 * A notification descriptor is an open file of /dev/rust_ipc made one by
 * RIPC_NOTIFY_FD_BIND (an unbound file; EBUSY otherwise).  RIPC_MQ_NOTIFY
 * with sigev_notify = RIPC_SIGEV_FD and sigev_signo = that descriptor
 * registers it on a queue, with the rules of mq_notify (EBUSY if the queue
 * has a registration, one-shot, fires when the queue goes from empty to
 * non-empty with no receiver blocked, removed by mq_notify(mqd, NULL) or a
 * close of a queue descriptor by the registering process).  The errors,
 * in order: EBADF if sigev_signo is not an open descriptor, EINVAL if it
 * is not a notification descriptor; then the queue descriptor's EBADF and
 * the queue's EBUSY (a registration there); then EBUSY if the notification
 * descriptor is registered on a queue already (one registration at a
 * time), EAGAIN if it holds RIPC_NOTIFY_FD_PENDING_MAX unread records, and
 * EBADF if it was closed meanwhile.
 *
 * When it fires, the descriptor gets one struct ripc_notify_record and
 * becomes readable (POLLIN).  read() takes as many whole records as fit
 * (EINVAL if not one fits), blocks while there is none (interruptible;
 * EAGAIN with O_NONBLOCK).  A registration removed without firing (by
 * mq_notify(mqd, NULL), a close of a queue descriptor, the queue's removal)
 * makes the descriptor report POLLPRI (ABI version 3), until it is
 * registered again or RIPC_NOTIFY_FD_STATE is asked (which acknowledges it).
 * Closing the descriptor (its last reference) cancels its registration.  The queue's status line shows such a
 * registration as NOTIFY:2 (native SIGEV_THREAD, also delivered through a
 * descriptor) with SIGNO:0.
 */
#define RIPC_SIGEV_FD 0x100
#define RIPC_NOTIFY_FD_PENDING_MAX 16

/* What read() returns, one per firing. */
struct ripc_notify_record {
	__u64 sigev_value;              /* the registration's sigval */
	__s32 pid;                      /* the sender, as si_pid: its tgid in the reader's pid namespace (0 if not there) */
	__u32 uid;                      /* the sender's uid, mapped as si_uid is (owner's user namespace, then the reader's) */
};

/*
 * RIPC_NOTIFY_FD_BIND: make this file a notification descriptor.
 * RIPC_NOTIFY_FD_STATE: on a notification descriptor (else EINVAL), whether
 * a queue holds its registration and how many records are unread (after a
 * call that may have removed the registration, armed == 0 && pending == 0
 * means it was removed without firing).
 */
struct ripc_notify_fd {
	__u32 size;
	__u32 armed;                    /* out */
	__u32 pending;                  /* out */
	__u32 __pad;
};

/*
 * RIPC_NOTIFY_FD_OPEN (ABI version 5), on any file of the device open for
 * reading and writing (else EBADF): a new descriptor of a new file of the
 * device made a notification descriptor, as an open of /dev/rust_ipc and
 * RIPC_NOTIFY_FD_BIND make one, without a path lookup of the node (after a
 * chroot...); flags O_NONBLOCK and O_CLOEXEC, others EINVAL.  Returns the
 * descriptor.  libripc's ripc_notify_fd_open() uses it.
 */
struct ripc_notify_fd_open {
	__u32 size;
	__u32 flags;
};

/* ---- System V queues ------------------------------------------------- */

/* RIPC_MSGGET: msgget(key, msgflg); returns the id. */
struct ripc_msgget {
	__u32 size;
	__s32 key;
	__s32 msgflg;
	__u32 __pad;
};

/*
 * RIPC_MSGSND: msgsnd(msqid, msgp, msgsz, msgflg).
 * msgp points to { __s64 mtype; char mtext[]; } (the 64-bit struct msgbuf).
 * timeout (a rust_ipc extension) is 0 or a pointer to a struct
 * ripc_timespec, an absolute CLOCK_REALTIME time unless clock says
 * otherwise: a blocked call gives ETIMEDOUT then.
 */
struct ripc_msgsnd {
	__u32 size;
	__s32 msqid;
	__s32 msgflg;
	__u32 __pad;
	__u64 msgp;
	__s64 msgsz;
	__u64 timeout;
	struct ripc_clock clock;        /* the timeout's clock */
};

/*
 * RIPC_MSGRCV: msgrcv(msqid, msgp, msgsz, msgtyp, msgflg); returns the
 * length.  timeout as for RIPC_MSGSND.
 */
struct ripc_msgrcv {
	__u32 size;
	__s32 msqid;
	__s32 msgflg;
	__u32 __pad;
	__u64 msgp;
	__s64 msgsz;
	__s64 msgtyp;
	__u64 timeout;
	struct ripc_clock clock;        /* the timeout's clock */
};

/*
 * struct ipc64_perm and struct msqid64_ds with fixed-width fields: the
 * layout of x86_64's kernel and glibc (struct msqid_ds), so a native buffer
 * can be passed as it is.
 */
struct ripc_ipc_perm {
	__s32 key;
	__u32 uid;
	__u32 gid;
	__u32 cuid;
	__u32 cgid;
	__u16 mode;
	__u16 __pad1;
	__u16 seq;
	__u16 __pad2;
	__u32 __pad3;
	__u64 __unused1;
	__u64 __unused2;
};

struct ripc_msqid_ds {
	struct ripc_ipc_perm msg_perm;
	__s64 msg_stime;
	__s64 msg_rtime;
	__s64 msg_ctime;
	__u64 msg_cbytes;
	__u64 msg_qnum;
	__u64 msg_qbytes;
	__s32 msg_lspid;
	__s32 msg_lrpid;
	__u64 __unused4;
	__u64 __unused5;
};

/* struct msginfo (IPC_INFO / MSG_INFO), the layout of glibc's. */
struct ripc_msginfo {
	__s32 msgpool;
	__s32 msgmap;
	__s32 msgmax;
	__s32 msgmnb;
	__s32 msgmni;
	__s32 msgssz;
	__s32 msgtql;
	__u16 msgseg;
	__u16 __pad;
};

/*
 * RIPC_MSGCTL: msgctl(msqid, cmd, buf) for IPC_STAT, IPC_SET, IPC_RMID,
 * IPC_INFO, MSG_INFO, MSG_STAT, MSG_STAT_ANY.  buf points to a
 * struct ripc_msqid_ds, or a struct ripc_msginfo for IPC_INFO/MSG_INFO.
 */
struct ripc_msgctl {
	__u32 size;
	__s32 msqid;
	__s32 cmd;
	__u32 __pad;
	__u64 buf;
};

/*
 * RIPC_MSG_BIND (a rust_ipc extension): bind this file (an unbound open of
 * /dev/rust_ipc) to System V queue msqid, so that poll()/epoll on it report
 * POLLIN while a message is queued, POLLOUT while a message of 0 bytes
 * would fit, and POLLHUP|POLLERR once the queue is removed.  Needs read
 * permission on the queue (EACCES); a bad id is EINVAL; a bound file EBUSY.
 */
struct ripc_msgbind {
	__u32 size;
	__s32 msqid;
};

/*
 * RIPC_MSG_NEXT_ID: /proc/sys/kernel/msg_next_id of the caller's IPC
 * namespace (checkpoint/restore).  Always returns the value it had in
 * value (-1: unset).  set is 0 or 1 (else EINVAL, ABI 6).  With set = 1,
 * then sets it to value (0 to INT_MAX,
 * else EINVAL; needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN, else EACCES):
 * the next msgget that creates a queue gives it that id if its index is
 * free (else the next free index above it, with that sequence number; none:
 * ENOSPC), and the value goes back to -1.
 */
struct ripc_msg_next_id {
	__u32 size;
	__u32 set;
	__s32 value;
	__u32 __pad;
};

/* ---- Batches (a rust_ipc extension) ------------------------------------ */

/*
 * Up to RIPC_BATCH_MAX sends or receives in one call, with the semantics of
 * that many single calls in order (each may block, the deadline applies to
 * each; a relative timeout is counted once, from the call's start): the
 * first failure ends the batch; if it is the first item the call
 * fails with its errno, else the call returns the number of items done
 * (also when a signal interrupts an item's wait: a stop then ends a batch
 * with items done, and a relative timeout's time left is written back).
 * On a receive, each item's length is set to the received length (and
 * msg_prio / the mtype in the buffer as a single receive sets them).
 * With RIPC_BATCH_WAITFORONE (as recvmmsg's MSG_WAITFORONE), only the first
 * item may block: an item after it that would block ends the batch.  Other
 * flags are EINVAL.
 * The module takes the queue lock once for a part of the batch, up to 32
 * items and 64 KiB (or one larger message), and again for the next part
 * (so that a batch's searches and MSG_COPY copies do not keep the lock,
 * and preemption, off for long); a receive batch delivers what it has
 * before an item blocks (their sender may be waiting for an answer to
 * them).
 */
#define RIPC_BATCH_MAX 1024
#define RIPC_BATCH_WAITFORONE 1

struct ripc_mq_item {
	__u64 msg_ptr;
	__u64 msg_len;                  /* send: length; receive: buffer size in, length out */
	__u32 msg_prio;                 /* send: in; receive: out */
	__u32 __pad;
};

/* RIPC_MQ_SEND_BATCH / RIPC_MQ_RECEIVE_BATCH on a bound POSIX descriptor. */
struct ripc_mq_batch {
	__u32 size;
	__u32 count;
	__u64 items;                    /* struct ripc_mq_item[count] */
	__u64 timeout;                  /* const struct ripc_timespec * or 0 */
	__u32 flags;                    /* RIPC_BATCH_WAITFORONE */
	__u32 __pad;
	struct ripc_clock clock;        /* the timeout's clock */
};

struct ripc_msg_item {
	__u64 msgp;                     /* { __s64 mtype; char mtext[]; } */
	__s64 msgsz;                    /* send: length; receive: buffer size in, length out */
	__s64 msgtyp;                   /* receive: msgrcv's msgtyp */
};

/* RIPC_MSGSND_BATCH / RIPC_MSGRCV_BATCH: msgflg applies to every item. */
struct ripc_msg_batch {
	__u32 size;
	__s32 msqid;
	__s32 msgflg;
	__u32 count;
	__u64 items;                    /* struct ripc_msg_item[count] */
	__u64 timeout;                  /* const struct ripc_timespec * or 0 */
	__u32 flags;                    /* RIPC_BATCH_WAITFORONE */
	__u32 __pad;
	struct ripc_clock clock;        /* the timeout's clock */
};

/* ---- Listing ----------------------------------------------------------- */

/*
 * RIPC_IOC_LIST: a text table of the queues of the caller's IPC namespace,
 * like /proc/sysvipc/msg (every System V queue) and /dev/mqueue: the POSIX
 * names only for a caller who may read the namespace's mqueue root
 * (readdir; else the header alone, and EACCES for a RIPC_LIST_PAGE of
 * them), each queue's owner and mode only for one who may also search it
 * (stat), its maxmsg, msgsize and
 * message count only for a caller who may open it (mq_getattr), its bytes
 * and notification only for one who may read it (the QSIZE line), else
 * "-" in their place.  A POSIX name's control characters (C0, DEL, C1),
 * spaces, line and paragraph separators and backslashes are shown as \ooo
 * for each of their bytes (octal, as /proc/mounts shows paths), and so is
 * each byte above 0x7e of a name that is not UTF-8.
 *
 * Without RIPC_LIST_PAGE: writes the table into buf (NUL-terminated,
 * truncated to buf_len) and returns its full length without the NUL, so a
 * caller can retry with a larger buffer.
 *
 * With RIPC_LIST_PAGE (one of RIPC_LIST_POSIX or RIPC_LIST_SYSV): a page
 * of the table, as seq_file reads /proc/sysvipc/msg.  Start with cursor 0;
 * each call writes the whole lines that fit into buf (NUL-terminated; the
 * header line on the first page only), sets cursor to where the next call
 * goes on, and returns the bytes written without the NUL: 0 when the table
 * is done, EINVAL if buf cannot hold one line.  Queues made or removed
 * between calls appear or not, as in a directory read; none is listed
 * twice.  The kernel holds no more than one page of the table at a time.
 * A bit of which not defined here: EINVAL.
 */
#define RIPC_LIST_POSIX 1
#define RIPC_LIST_SYSV 2
#define RIPC_LIST_PAGE 0x100
/*
 * RIPC_LIST_STATS: the statistics table instead (struct ripc_queue_stats,
 * one line per queue the caller may read, as RIPC_IOC_STATS checks): a
 * header line, then per queue the fields of struct ripc_queue_stats in
 * their order, in decimal, separated by one space, then the queue: the
 * POSIX name (last; escaped as in the table), or the System V key and id.
 */
#define RIPC_LIST_STATS 0x200
struct ripc_list {
	__u32 size;
	__u32 which;                    /* RIPC_LIST_POSIX | RIPC_LIST_SYSV [| RIPC_LIST_PAGE] [| RIPC_LIST_STATS] */
	__u64 buf;
	__u64 buf_len;
	__u64 cursor;                   /* RIPC_LIST_PAGE: in and out */
};

/* ---- Peek, dump and restore (rust_ipc extensions) ---------------------- */

/*
 * RIPC_MQ_PEEK, on a POSIX descriptor open for reading (else EBADF, as
 * mq_receive): copies the message at position pos in receive order (0: the
 * one mq_receive would return next; priorities high to low, FIFO within a
 * priority) to msg_ptr and its priority to msg_prio, without removing it:
 * the queue, its counts and its waiters are untouched (like System V's
 * MSG_COPY).  Returns the message's length.  ENOMSG if pos is at or past
 * the number of queued messages (as MSG_COPY), EMSGSIZE if msg_len is
 * smaller than the message.  Never blocks.
 */
struct ripc_mq_peek {
	__u32 size;
	__u32 msg_prio;                 /* out */
	__u64 msg_ptr;                  /* buffer */
	__u64 msg_len;                  /* buffer size */
	__u64 pos;                      /* position in receive order */
};

/*
 * RIPC_MQ_PEEK_BATCH: copies the messages at positions pos, pos + 1, ...
 * into items[0..count) (count <= RIPC_BATCH_MAX, else EINVAL), each as
 * RIPC_MQ_PEEK would (msg_len: buffer size in, message length out;
 * msg_prio out), without removing any.  Returns how many were copied; the
 * first failure ends the batch (ENOMSG at the end of the queue, EMSGSIZE,
 * EFAULT): its errno if it is the first item, else the count done.  The
 * copies are taken under the queue lock up to 32 messages and 64 KiB at a
 * time (as a send batch loads them), so a queue that changes meanwhile is
 * seen part by part.
 */
struct ripc_mq_peek_batch {
	__u32 size;
	__u32 count;
	__u64 items;                    /* struct ripc_mq_item[count] */
	__u64 pos;                      /* position of items[0] */
};

/*
 * RIPC_IOC_DUMP: writes the rust_ipc queues of the caller's IPC namespace,
 * both families, as one stream (format below) to buf, and its length to
 * total.  If total > buf_len only the first buf_len bytes are written: call
 * again with a buffer of total bytes (the namespace may have grown: check
 * again).  RIPC_IOC_RESTORE: recreates the queues of the stream in buf
 * (buf_len bytes) in the caller's namespace, which must have none (no
 * POSIX name, no System V queue: EEXIST).  The whole stream is read and
 * every queue built before any becomes visible, so a failure creates
 * nothing: EINVAL if it is not a stream of this version (magic, version,
 * as far as the buffer goes), EBADMSG if it is truncated or corrupted
 * (lengths, checksum); then record by record, EBADMSG for a record whose
 * own fields are inconsistent, then the native errors of creating its
 * queue, then EBADMSG for a message that its queue cannot hold (size,
 * priority or type) as the messages are loaded (so a native error can
 * come before a later EBADMSG: a stream whose checksum holds was written
 * by a dump, only a crafted one has such records) (EINVAL for
 * an owner not mapped in the caller's user namespace, a POSIX size beyond
 * the limits or a System V message beyond msgmax; for POSIX queues, as
 * mq_open(O_CREAT) in the namespace's mqueue root: EROFS on a read-only
 * mount, EOVERFLOW for caller's fs ids or a queue owner that the IPC
 * namespace's user namespace does not map, EACCES without write and search
 * permission there; EPERM for a msg_qbytes above msgmnb, or a System V
 * queue holding more bytes or messages than both its msg_qbytes and msgmnb,
 * without CAP_SYS_RESOURCE, as IPC_SET; for a System V id record that sets
 * msg_next_id, the errors of writing that sysctl, as RIPC_MSG_NEXT_ID's:
 * EROFS under a read-only /proc/sys; ENOSPC, EMFILE, ENOMEM); EINTR if a
 * signal comes while the stream is checked or its messages are loaded.
 * A restored queue's statistics start at zero, as a new queue's (its
 * messages count as no sends), its peaks at what it holds.
 * Both need CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN over the user namespace
 * that owns the IPC namespace (EPERM); a restore of a POSIX queue owned, or
 * a System V queue created, by other ids than the caller's (fs ids,
 * effective ids) and its groups needs CAP_CHOWN too (EPERM).  The kernel holds one page of the
 * stream at a time (all of it only in a kept pass, below); a dump holds
 * a queue's lock while it writes 64 KiB of its messages at most (texts
 * and 16-byte heads; and the message that passes that mark: one message,
 * as msgrcv(MSG_COPY)), drops it and takes it again for the next part; a
 * queue whose messages change meanwhile has its record written again
 * (EAGAIN after eight times: a queue over 64 KiB that keeps changing; a
 * checkpoint tool freezes its processes first), so that each queue is
 * dumped as it was at one moment (the queues are not dumped at one
 * moment together).  It copies to buf without page faults
 * under those locks: a page of buf that is not there is faulted in with no lock
 * held and the dump starts again (a signal then: EINTR, or a restart under
 * SA_RESTART; EFAULT for a page that cannot be written).  A buffer touched
 * before the call dumps in one pass.  After four passes that met such a
 * page (pages that went away again: reclaim, writeback, another thread),
 * the next keeps the stream (as much as buf holds) in kernel memory,
 * allocated before the locks and charged to the caller (ENOMEM), and copies
 * it to buf after them (EAGAIN if the queues outgrow that room three
 * times).
 *
 * Stream version 1, little-endian:
 *   header:  "RIPCDUMP", u32 version (1), u32 header length (16)
 *   records: u32 kind, u32 0, u64 body length, body
 *     RIPC_DUMP_MQ (a POSIX queue, in creation order): u32 name length,
 *       u32 mode, u32 uid, u32 gid, u64 maxmsg, u64 msgsize, u64 messages,
 *       the name (without its '/'), the messages in receive order
 *     RIPC_DUMP_SYSV_IDS (the System V id allocator, once, before the
 *       queues): u32 seq, s32 last index (-1: none), u32 next index to
 *       try, s32 msg_next_id (-1: unset)
 *     RIPC_DUMP_SYSV (a System V queue, in index order): s32 key, s32 id
 *       (its sequence number * 32768 + index), u32 uid, gid, cuid, cgid,
 *       mode, 0, s64 stime, rtime, ctime, u64 qbytes, u64 messages, the
 *       messages in queue order
 *     a message: s64 priority or mtype, u64 length, its bytes
 *   trailer: "RIPCEND\0", u64 stream length, u32 0, u32 CRC-32 (zlib's)
 *            of every byte before it
 * Ids are as the dumper's user namespace sees them and are mapped into the
 * restorer's.  Not kept: unlinked POSIX queues still open, notification
 * registrations, blocked callers, messages out for delivery, and
 * msg_lspid/msg_lrpid (0 after a restore).
 */
#define RIPC_DUMP_VERSION 1
#define RIPC_DUMP_MQ 1
#define RIPC_DUMP_SYSV_IDS 2
#define RIPC_DUMP_SYSV 3

struct ripc_dump {
	__u32 size;
	__u32 __pad;
	__u64 buf;
	__u64 buf_len;
	__u64 total;                    /* RIPC_IOC_DUMP: out */
};

/* ---- Statistics (a rust_ipc extension) -------------------------------- */

/*
 * What a queue has done since it was made (or its counters were reset),
 * counted under the queue lock; each item of a batch counts as one call.
 * A failed call (EAGAIN, EMSGSIZE, EFAULT with its message put back, ...)
 * counts nothing, except that a call that slept counts as blocked and one
 * that timed out as a timeout (a receive is counted when its message
 * leaves the queue, and taken back if its copy faults and the message goes
 * back: the counts, and the time of the last receive if no receive was
 * counted since and the whole call failed; after a reset meanwhile,
 * nothing is; a one-copy receive whose priority cannot be written and
 * whose message goes back is taken back from the counts, even after a
 * reset, and the time stays; from a descriptor not open for writing its
 * message is lost, as native's, and stays counted as received, as does a
 * POSIX message that cannot go back: its priority needs a tree node and
 * none could be allocated, before the queue lock or under it).  The
 * times are CLOCK_REALTIME nanoseconds
 * of the last such event, 0 if there was none, to within a clock tick or
 * two: the module keeps the tick count (jiffies) of each event and gives
 * it on the clock as it reads now (a clock step moves past events with it;
 * time spent suspended is not counted).  A time reads the same each time.
 */
struct ripc_queue_stats {
	__u64 sent;                     /* messages sent */
	__u64 sent_bytes;               /* their text bytes */
	__u64 received;                 /* messages received (not MSG_COPY's copies) */
	__u64 received_bytes;           /* their bytes (whole, if MSG_NOERROR cut them) */
	__u64 handoffs;                 /* sent straight to a blocked receiver (pipelined_send) */
	__u64 receive_handoffs;         /* a blocked sender's message put in by the receive
					   that made room (pipelined_receive; POSIX only:
					   System V senders look again themselves) */
	__u64 blocked_sends;            /* sends that slept for room */
	__u64 blocked_receives;         /* receives that slept for a message */
	__u64 timeouts;                 /* sends and receives that ended in ETIMEDOUT */
	__u64 peak_msgs;                /* the most messages queued at once */
	__u64 peak_bytes;               /* the most bytes queued at once */
	__u64 msgs;                     /* messages queued now (mq_curmsgs, msg_qnum) */
	__u64 bytes;                    /* bytes queued now (QSIZE, msg_cbytes) */
	__s64 last_send_ns;
	__s64 last_receive_ns;
	__s64 last_handoff_ns;
	__s64 last_receive_handoff_ns;
	__s64 last_blocked_send_ns;
	__s64 last_blocked_receive_ns;
	__s64 last_timeout_ns;
};

#define RIPC_STATS_FILE 0               /* the queue this file is bound to */
#define RIPC_STATS_SYSV 1               /* System V queue msqid */
#define RIPC_STATS_RESET 1              /* flags: then zero the counters */

/*
 * RIPC_IOC_STATS: the statistics of one queue, into stats.
 *  - which = RIPC_STATS_FILE: the queue of this file: a POSIX descriptor
 *    open for reading (EBADF for a write-only or unbound file, as
 *    mq_receive), or a file bound with RIPC_MSG_BIND (read permission, as
 *    IPC_STAT: EACCES; EIDRM once the queue is removed);
 *  - which = RIPC_STATS_SYSV: System V queue msqid (EINVAL for a bad or
 *    removed id, EACCES without read permission, as IPC_STAT);
 *  - another which, or unknown flags: EINVAL.
 * With RIPC_STATS_RESET the counters are read and zeroed in one step (the
 * peaks restart from the current depth): by the queue's owner only (POSIX:
 * its uid, or CAP_FOWNER; System V: its owner or creator, or
 * CAP_SYS_ADMIN, as IPC_SET), else EPERM.
 */
struct ripc_stats {
	__u32 size;
	__u32 which;
	__s32 msqid;
	__u32 flags;
	struct ripc_queue_stats stats;  /* out */
};

#define RIPC_IOC_MAGIC 0xb9

/* Command numbers (the module dispatches on these). */
#define RIPC_NR_VERSION 0x00
#define RIPC_NR_SET_LIMITS 0x01
#define RIPC_NR_LIST 0x02
#define RIPC_NR_MQ_OPEN 0x10
#define RIPC_NR_MQ_UNLINK 0x11
#define RIPC_NR_MQ_SEND 0x12
#define RIPC_NR_MQ_RECEIVE 0x13
#define RIPC_NR_MQ_GETSETATTR 0x14
#define RIPC_NR_MQ_NOTIFY 0x15
#define RIPC_NR_MQ_OPEN_FD 0x16
#define RIPC_NR_MQ_SETPERM 0x17
#define RIPC_NR_MSGGET 0x20
#define RIPC_NR_MSGSND 0x21
#define RIPC_NR_MSGRCV 0x22
#define RIPC_NR_MSGCTL 0x23
#define RIPC_NR_MSG_BIND 0x24
#define RIPC_NR_MSG_NEXT_ID 0x25
#define RIPC_NR_MQ_SEND_BATCH 0x30
#define RIPC_NR_MQ_RECEIVE_BATCH 0x31
#define RIPC_NR_MSGSND_BATCH 0x32
#define RIPC_NR_MSGRCV_BATCH 0x33
#define RIPC_NR_MQ_PEEK 0x40
#define RIPC_NR_MQ_PEEK_BATCH 0x41
#define RIPC_NR_DUMP 0x42
#define RIPC_NR_RESTORE 0x43
#define RIPC_NR_NOTIFY_FD_BIND 0x60
#define RIPC_NR_NOTIFY_FD_STATE 0x61
#define RIPC_NR_NOTIFY_FD_OPEN 0x62
#define RIPC_NR_STATS 0x70
#define RIPC_NR_MQ_TIMEDSEND 0x80
#define RIPC_NR_MQ_TIMEDRECEIVE 0x81
#define RIPC_NR_MSGSND_REGS 0x82
#define RIPC_NR_MSGRCV_REGS 0x83

#define RIPC_IOC_VERSION	_IOWR(RIPC_IOC_MAGIC, RIPC_NR_VERSION, struct ripc_version)
#define RIPC_IOC_SET_LIMITS	_IOW(RIPC_IOC_MAGIC, RIPC_NR_SET_LIMITS, struct ripc_set_limits)
#define RIPC_IOC_LIST		_IOWR(RIPC_IOC_MAGIC, RIPC_NR_LIST, struct ripc_list)
#define RIPC_MQ_OPEN		_IOW(RIPC_IOC_MAGIC, RIPC_NR_MQ_OPEN, struct ripc_mq_open)
#define RIPC_MQ_UNLINK		_IOW(RIPC_IOC_MAGIC, RIPC_NR_MQ_UNLINK, struct ripc_mq_unlink)
#define RIPC_MQ_SEND		_IOW(RIPC_IOC_MAGIC, RIPC_NR_MQ_SEND, struct ripc_mq_xfer)
#define RIPC_MQ_RECEIVE		_IOWR(RIPC_IOC_MAGIC, RIPC_NR_MQ_RECEIVE, struct ripc_mq_xfer)
#define RIPC_MQ_GETSETATTR	_IOWR(RIPC_IOC_MAGIC, RIPC_NR_MQ_GETSETATTR, struct ripc_mq_getsetattr)
#define RIPC_MQ_NOTIFY		_IOW(RIPC_IOC_MAGIC, RIPC_NR_MQ_NOTIFY, struct ripc_mq_notify)
#define RIPC_MQ_OPEN_FD		_IOW(RIPC_IOC_MAGIC, RIPC_NR_MQ_OPEN_FD, struct ripc_mq_open)
#define RIPC_MQ_SETPERM		_IOW(RIPC_IOC_MAGIC, RIPC_NR_MQ_SETPERM, struct ripc_mq_setperm)
#define RIPC_MSGGET		_IOW(RIPC_IOC_MAGIC, RIPC_NR_MSGGET, struct ripc_msgget)
#define RIPC_MSGSND		_IOW(RIPC_IOC_MAGIC, RIPC_NR_MSGSND, struct ripc_msgsnd)
#define RIPC_MSGRCV		_IOWR(RIPC_IOC_MAGIC, RIPC_NR_MSGRCV, struct ripc_msgrcv)
#define RIPC_MSGCTL		_IOWR(RIPC_IOC_MAGIC, RIPC_NR_MSGCTL, struct ripc_msgctl)
#define RIPC_MSG_BIND		_IOW(RIPC_IOC_MAGIC, RIPC_NR_MSG_BIND, struct ripc_msgbind)
#define RIPC_MSG_NEXT_ID	_IOWR(RIPC_IOC_MAGIC, RIPC_NR_MSG_NEXT_ID, struct ripc_msg_next_id)
#define RIPC_MQ_SEND_BATCH	_IOW(RIPC_IOC_MAGIC, RIPC_NR_MQ_SEND_BATCH, struct ripc_mq_batch)
#define RIPC_MQ_RECEIVE_BATCH	_IOWR(RIPC_IOC_MAGIC, RIPC_NR_MQ_RECEIVE_BATCH, struct ripc_mq_batch)
#define RIPC_MSGSND_BATCH	_IOW(RIPC_IOC_MAGIC, RIPC_NR_MSGSND_BATCH, struct ripc_msg_batch)
#define RIPC_MSGRCV_BATCH	_IOWR(RIPC_IOC_MAGIC, RIPC_NR_MSGRCV_BATCH, struct ripc_msg_batch)
#define RIPC_MQ_PEEK		_IOWR(RIPC_IOC_MAGIC, RIPC_NR_MQ_PEEK, struct ripc_mq_peek)
#define RIPC_MQ_PEEK_BATCH	_IOWR(RIPC_IOC_MAGIC, RIPC_NR_MQ_PEEK_BATCH, struct ripc_mq_peek_batch)
#define RIPC_IOC_DUMP		_IOWR(RIPC_IOC_MAGIC, RIPC_NR_DUMP, struct ripc_dump)
#define RIPC_IOC_RESTORE	_IOW(RIPC_IOC_MAGIC, RIPC_NR_RESTORE, struct ripc_dump)
#define RIPC_NOTIFY_FD_BIND	_IOWR(RIPC_IOC_MAGIC, RIPC_NR_NOTIFY_FD_BIND, struct ripc_notify_fd)
#define RIPC_NOTIFY_FD_STATE	_IOWR(RIPC_IOC_MAGIC, RIPC_NR_NOTIFY_FD_STATE, struct ripc_notify_fd)
#define RIPC_NOTIFY_FD_OPEN	_IOW(RIPC_IOC_MAGIC, RIPC_NR_NOTIFY_FD_OPEN, struct ripc_notify_fd_open)
#define RIPC_IOC_STATS		_IOWR(RIPC_IOC_MAGIC, RIPC_NR_STATS, struct ripc_stats)

/*
 * The register calls (ABI version 2): the data path's four calls with
 * their arguments in the system call's registers, as the native calls
 * take them, instead of in an argument struct.  ioctl(2) carries three
 * arguments; these commands read the ioctl system call's six, so they
 * are made with syscall(2) (or the equivalent instruction), never with
 * libc's three-argument ioctl():
 *
 *   syscall(SYS_ioctl, mqd, RIPC_MQ_TIMEDSEND, msg_ptr, msg_len, msg_prio,
 *           abs_timeout)                  mq_timedsend(); returns 0
 *   syscall(SYS_ioctl, mqd, RIPC_MQ_TIMEDRECEIVE, msg_ptr, msg_len,
 *           msg_prio_ptr, abs_timeout)    mq_timedreceive(); returns the length
 *   syscall(SYS_ioctl, fd, RIPC_MSGSND_REGS, RIPC_MSG_REGS_ID(msqid, msgflg),
 *           msgp, msgsz, 0)               msgsnd(); returns 0
 *   syscall(SYS_ioctl, fd, RIPC_MSGRCV_REGS, RIPC_MSG_REGS_ID(msqid, msgflg),
 *           msgp, msgsz, msgtyp)          msgrcv(); returns the length
 *
 * Each argument has the native call's type and meaning: abs_timeout is a
 * const struct timespec * on CLOCK_REALTIME or NULL, msg_prio_ptr an
 * unsigned int * or NULL (not written then).  System V's five arguments
 * do not fit in four registers: msqid and msgflg share one.  A
 * RIPC_MSGSND_REGS with a sixth argument other than 0 is EINVAL.  A
 * 32-bit (compat) caller gets ENOTTY and uses the struct commands, which
 * also take the other clocks and relative timeouts.
 */
#define RIPC_MQ_TIMEDSEND	_IO(RIPC_IOC_MAGIC, RIPC_NR_MQ_TIMEDSEND)
#define RIPC_MQ_TIMEDRECEIVE	_IO(RIPC_IOC_MAGIC, RIPC_NR_MQ_TIMEDRECEIVE)
#define RIPC_MSGSND_REGS	_IO(RIPC_IOC_MAGIC, RIPC_NR_MSGSND_REGS)
#define RIPC_MSGRCV_REGS	_IO(RIPC_IOC_MAGIC, RIPC_NR_MSGRCV_REGS)
#define RIPC_MSG_REGS_ID(msqid, msgflg) \
	((__u64)(__u32)(msqid) | (__u64)(__u32)(msgflg) << 32)

#endif /* _UAPI_LINUX_RUST_IPC_H */
