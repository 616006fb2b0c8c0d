/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libripc: the libc-like C interface to /dev/rust_ipc.
 *
 * Every function mirrors its libc namesake (mq_open -> ripc_mq_open,
 * msgsnd -> ripc_msgsnd, ...): same arguments, same glibc types, same
 * return values.  On failure they return -1 and set errno to exactly what
 * the native call would; they never print.
 *
 * POSIX queues: ripc_mq_open() opens a new file of /dev/rust_ipc
 * (with oflag, close-on-exec, as native's file) bound to the named queue; that file
 * descriptor is the queue descriptor (an mqd_t is an int on Linux), so
 * close(), dup(), fork(), fcntl(F_SETFL, O_NONBLOCK), poll() and read()
 * work on it as they do on a native mqd_t.  On a descriptor that is not a
 * rust_ipc queue file the calls fail with EBADF, after the argument checks
 * native makes first (EFAULT or EINVAL for a bad timeout, priority,
 * mq_attr or sigevent).  A send or receive with a CLOCK_REALTIME absolute
 * timeout or none (ripc_mq_send(), ripc_mq_timedsend(), ripc_mq_receive(),
 * ripc_mq_timedreceive()) is then the native system call itself (in an
 * LP64 build, where the kernel has it), so on a native queue's descriptor
 * (syscall(SYS_mq_open)) it sends or receives there, and a seccomp filter
 * on mq_timedsend/mq_timedreceive sees it; the other calls judge such a
 * descriptor through the module (EBADF).
 *
 * The blocking calls (ripc_mq_send(), ripc_mq_receive(), ripc_msgsnd(),
 * ripc_msgrcv() and their timed and clock variants) are cancellation
 * points, as glibc's are (pthread_cancel() ends a thread blocked in one).
 *
 * System V queues, ripc_mq_unlink() and the device calls use one
 * process-wide descriptor of /dev/rust_ipc, opened on first use
 * (O_CLOEXEC, at a high number, thread-safe; opened again if the program
 * closes it, with closefrom() say, or puts another file on its number).  If the device cannot be opened they fail with
 * the errno of open() (ENOENT when the module is not loaded).
 *
 * Structures are passed to the module as they are: struct mq_attr,
 * struct timespec, struct msqid_ds, struct msginfo and the native
 * struct msgbuf ({ long mtype; char mtext[]; }) have the layouts of
 * <linux/rust_ipc.h> on x86_64 (checked at compile time in ripc.c).
 *
 * Build with -I include/uapi (for <linux/rust_ipc.h>); link libripc.a or
 * libripc.so.
 */
#ifndef RIPC_H
#define RIPC_H

#include <mqueue.h>
#include <stdint.h>
#include <signal.h>
#include <sys/msg.h>
#include <sys/types.h>
#include <time.h>

#include <linux/rust_ipc.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- POSIX message queues ------------------------------------------- */

/*
 * mq_open(): int ripc_mq_open(name, oflag [, mode_t mode, struct mq_attr *attr]).
 * mode and attr are read only when oflag has O_CREAT.  Returns the new
 * descriptor (O_CLOEXEC) or -1.
 */
int ripc_mq_open(const char *name, int oflag, ...);
/* mq_close(): close(mqd). */
int ripc_mq_close(int mqd);
/* mq_unlink(). */
int ripc_mq_unlink(const char *name);
/*
 * fchmod() and fchown() of a queue descriptor (RIPC_MQ_SETPERM): the
 * queue's mode and owner, with native's checks and errors, where fchmod()
 * and fchown() of the descriptor itself would change /dev/rust_ipc (EBADF
 * for a descriptor that is not a rust_ipc POSIX queue's).  The drop-in's
 * fchmod() and fchown() call these for queue descriptors.
 */
int ripc_mq_fchmod(int mqd, mode_t mode);
int ripc_mq_fchown(int mqd, uid_t owner, gid_t group);

/* mq_send() / mq_timedsend(); abs_timeout is an absolute CLOCK_REALTIME time. */
int ripc_mq_send(int mqd, const char *msg_ptr, size_t msg_len, unsigned int msg_prio);
int ripc_mq_timedsend(int mqd, const char *msg_ptr, size_t msg_len,
		      unsigned int msg_prio, const struct timespec *abs_timeout);

/* mq_receive() / mq_timedreceive(): the message length, or -1. */
ssize_t ripc_mq_receive(int mqd, char *msg_ptr, size_t msg_len, unsigned int *msg_prio);
ssize_t ripc_mq_timedreceive(int mqd, char *msg_ptr, size_t msg_len,
			     unsigned int *msg_prio, const struct timespec *abs_timeout);

/*
 * Extension: mq_timedsend() / mq_timedreceive() on a clock of the caller's
 * choice (as QNX's mq_clocksend() / mq_clockreceive()).  clockid is
 * CLOCK_REALTIME, CLOCK_MONOTONIC or CLOCK_BOOTTIME (else EINVAL); flags
 * are clock_nanosleep()'s: TIMER_ABSTIME makes timeout a time of that
 * clock, 0 a time to wait from now (a relative CLOCK_REALTIME wait is not
 * moved by clock changes); other flags EINVAL.  timeout NULL waits
 * forever.  A call with a relative timeout that a signal interrupts fails
 * with EINTR if a handler runs (SA_RESTART or not), and goes on for the
 * time left if none does (a stop and continue, a cgroup's freezer); the
 * module gets a copy of *timeout (which libripc reads, as glibc's ppoll()
 * does), so the caller's stays as given.  The wait is an hrtimer of that clock, as
 * native's: CLOCK_MONOTONIC and CLOCK_BOOTTIME waits do not move when the
 * wall clock is set.  With a clock other than an absolute CLOCK_REALTIME
 * (the struct command), and with any clock on a module older than ABI 2
 * (no register calls), libripc writes *msg_prio itself, after the
 * message was taken: a pointer that cannot be written is the caller's
 * crash, not EFAULT (as with the relative timeout it reads).
 */
int ripc_mq_clocksend(int mqd, const char *msg_ptr, size_t msg_len, unsigned int msg_prio,
		      clockid_t clockid, int flags, const struct timespec *timeout);
ssize_t ripc_mq_clockreceive(int mqd, char *msg_ptr, size_t msg_len, unsigned int *msg_prio,
			     clockid_t clockid, int flags, const struct timespec *timeout);

/* mq_getattr() / mq_setattr() (only O_NONBLOCK of mq_flags can change). */
int ripc_mq_getattr(int mqd, struct mq_attr *attr);
int ripc_mq_setattr(int mqd, const struct mq_attr *newattr, struct mq_attr *oldattr);

/*
 * mq_notify(): NULL removes the registration; SIGEV_SIGNAL, SIGEV_NONE and
 * RIPC_SIGEV_FD (see ripc_mq_notify_fd()) are supported.  SIGEV_THREAD is
 * not emulated here: it is passed to the module, which rejects it with
 * EINVAL (libripc_preload.so's mq_notify builds it on notification
 * descriptors: see preload.c).
 */
int ripc_mq_notify(int mqd, const struct sigevent *sevp);

/*
 * Notification descriptors (a rust_ipc extension; see <linux/rust_ipc.h>).
 *
 * ripc_notify_fd_open(): a new notification descriptor (flags: 0,
 * O_NONBLOCK and/or O_CLOEXEC), or -1.  ripc_mq_notify_fd(): registers it
 * on the queue mqd as mq_notify() would register the process (EBUSY, the
 * one-shot rule, removal by mq_notify(mqd, NULL) and by the owner's close
 * of mqd); each firing puts a struct ripc_notify_record (value, sender's
 * pid and uid) in it: read(), poll() and epoll work on it, and closing it
 * cancels the registration.  ripc_notify_fd_state(): whether a queue
 * holds its registration (*armed) and how many records are unread
 * (*pending); either pointer may be NULL.
 */
int ripc_notify_fd_open(int flags);
int ripc_mq_notify_fd(int mqd, int nfd, union sigval value);
int ripc_notify_fd_state(int nfd, unsigned int *armed, unsigned int *pending);
/*
 * Peek (a rust_ipc extension, RIPC_MQ_PEEK): copies the message at position
 * pos in receive order (0: the one mq_receive would return next) into
 * msg_ptr, and its priority into *msg_prio if not NULL, without removing
 * it.  Returns its length, or -1: ENOMSG past the last message, EMSGSIZE
 * if msg_len is smaller than the message, EBADF if mqd is not a queue
 * descriptor open for reading.
 */
ssize_t ripc_mq_peek(int mqd, char *msg_ptr, size_t msg_len, unsigned int *msg_prio,
		     size_t pos);
/*
 * RIPC_MQ_PEEK_BATCH: the messages at positions pos, pos + 1, ... into
 * items[0..count) (msg_ptr and msg_len, the buffer size, in; msg_len, the
 * length, and msg_prio out).  Returns how many were copied (the first
 * failure ends the batch: -1 with its errno if it is the first item).
 */
int ripc_mq_peek_batch(int mqd, struct ripc_mq_item *items, unsigned int count, size_t pos);
/*
 * Extension: the statistics of the queue of descriptor mqd (open for
 * reading, else EBADF) into *st (RIPC_IOC_STATS); flags 0 or
 * RIPC_STATS_RESET (then zero the counters: the queue's owner, else
 * EPERM).  0, or -1 with errno.
 */
int ripc_mq_stats(int mqd, struct ripc_queue_stats *st, unsigned int flags);

/* ---- System V message queues ---------------------------------------- */

int ripc_msgget(key_t key, int msgflg);
/* msgp points to a struct msgbuf: { long mtype; char mtext[msgsz]; }. */
int ripc_msgsnd(int msqid, const void *msgp, size_t msgsz, int msgflg);
ssize_t ripc_msgrcv(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg);
/*
 * Extension: msgsnd() / msgrcv() with a timeout (ETIMEDOUT once it passes,
 * where native blocks forever); clockid, flags and timeout as for
 * ripc_mq_clocksend().  A signal gives EINTR, as msgsnd()/msgrcv().
 */
int ripc_msgsnd_clock(int msqid, const void *msgp, size_t msgsz, int msgflg,
		      clockid_t clockid, int flags, const struct timespec *timeout);
ssize_t ripc_msgrcv_clock(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg,
			  clockid_t clockid, int flags, const struct timespec *timeout);
/* buf is a struct msqid_ds, or a struct msginfo for IPC_INFO/MSG_INFO. */
int ripc_msgctl(int msqid, int cmd, struct msqid_ds *buf);
/* /proc/sys/kernel/msg_next_id of the caller's IPC namespace: *old gets its
 * value (-1: unset), then, if new_value is not NULL, it is set to
 * *new_value (0 to INT_MAX; CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN, else
 * EACCES).
 * 0, or -1 with errno. */
int ripc_msg_next_id(int *old, const int *new_value);

/*
 * Extension: the statistics of System V queue msqid (read permission as
 * IPC_STAT: EACCES; a bad or removed id: EINVAL) into *st; flags as for
 * ripc_mq_stats (the owner or creator may reset, as IPC_SET).
 */
int ripc_msg_stats(int msqid, struct ripc_queue_stats *st, unsigned int flags);

/* ---- Device ----------------------------------------------------------- */

/* RIPC_IOC_VERSION: fills *v (sets v->size itself). */
int ripc_version(struct ripc_version *v);
/*
 * RIPC_IOC_SET_LIMITS: the fields that are not 0 (0 fields stay unchanged);
 * EPERM unless the caller is its IPC namespace's root, the error of an
 * open for writing of the field's native sysctl file if that fails (EROFS
 * under a read-only /proc/sys, as a container's), EINVAL outside the
 * native sysctl's range.
 */
int ripc_set_limits(const struct ripc_limits *limits);
/*
 * The fields whose RIPC_LIMIT_* bit is in set, 0 too where the native
 * sysctl takes it (set 0: as ripc_set_limits()); EOPNOTSUPP from a module
 * before ABI 3.
 */
int ripc_set_limits_fields(const struct ripc_limits *limits, unsigned int set);
/*
 * RIPC_IOC_LIST: writes the table of RIPC_LIST_POSIX or RIPC_LIST_SYSV
 * queues into buf (NUL-terminated, truncated to len); returns the full
 * length without the NUL.
 */
ssize_t ripc_list(unsigned int which, char *buf, size_t len);
/*
 * RIPC_IOC_LIST with RIPC_LIST_PAGE: a page of the table of RIPC_LIST_POSIX
 * or RIPC_LIST_SYSV (with RIPC_LIST_STATS: of their statistics).  Start with *cursor = 0; each call writes the whole
 * lines that fit into buf (NUL-terminated; the header on the first page),
 * advances *cursor and returns the bytes written, 0 at the end, or -1 with
 * errno (EINVAL if buf cannot hold one line; EACCES for RIPC_LIST_POSIX if
 * the caller may not read the namespace's mqueue root, as ls /dev/mqueue).
 */
ssize_t ripc_list_page(unsigned int which, uint64_t *cursor, char *buf, size_t len);

/*
 * Checkpoint and restore (RIPC_IOC_DUMP, RIPC_IOC_RESTORE; the stream format
 * is in <linux/rust_ipc.h>).  Both need CAP_CHECKPOINT_RESTORE or
 * CAP_SYS_ADMIN over the IPC namespace's user namespace (EPERM); a restore
 * of a POSIX queue owned, or a System V queue created, by other ids than
 * the caller's and its groups needs CAP_CHOWN too (EPERM).
 *
 * ripc_dump(): writes the stream of the caller's IPC namespace's queues to
 * buf, at most len bytes, and returns its whole length (larger than len:
 * call again with a buffer that large), or -1 (EOVERFLOW for a length
 * past SSIZE_MAX, on 32-bit systems).  ripc_dump_alloc(): the
 * whole stream in a malloc'd buffer (*out, *len; the caller frees it);
 * 0 or -1.  ripc_restore(): recreates the queues of the stream in the
 * caller's namespace, which must have none (EEXIST); EINVAL or EBADMSG for
 * a stream that is not one, truncated or corrupted, with nothing created.
 */
ssize_t ripc_dump(void *buf, size_t len);
int ripc_dump_alloc(void **out, size_t *len);
int ripc_restore(const void *buf, size_t len);

/*
 * The process-wide descriptor of /dev/rust_ipc (opened on first use), or -1.
 * It is kept at a high number (ripc_dup_high()) when the limits allow, so
 * that the program's descriptors are numbered as without it.
 */
int ripc_device_fd(void);
/*
 * A duplicate of fd (F_DUPFD_CLOEXEC) at the lowest free number at or above
 * max(512, half the soft RLIMIT_NOFILE), but at most 4096 and below that
 * limit, for a descriptor the library keeps for its own use; or -1 (EINVAL
 * if fd is at or above that floor already, EMFILE if nothing is free there).
 * The caller closes fd.
 */
int ripc_dup_high(int fd);
/*
 * For a caller about to close descriptors lo..hi (close, close_range, dup2
 * onto it): if the process-wide descriptor is among them, forget it, so that
 * the next call opens the device again instead of using a stale number.
 * Returns 1 if it was forgotten.
 */
int ripc_device_forget(unsigned int lo, unsigned int hi);
/*
 * For a caller that has closed descriptors lo..hi: if the process-wide
 * descriptor is among them and is no longer the file the library opened
 * (it was published while the close ran, after the caller's
 * ripc_device_forget()), forget it.
 */
void ripc_device_recheck(unsigned int lo, unsigned int hi);
/*
 * For a caller that has closed (or replaced: dup2) descriptors lo..hi: the
 * library forgets them as files of the device.  A queue call makes its
 * ioctl only on a descriptor known to be one (learnt when the library opens
 * it, else by fstat once), so that another file (a DRM device, an epoll
 * instance) never sees the module's commands and the call gets native's
 * EBADF; ripc_mq_close() and the drop-in's close(), close_range(),
 * closefrom(), dup2() and dup3() call this.  A program that closes a queue
 * or notification descriptor with plain close() and not through the
 * drop-in should call it too, before a later call on that number.
 */
void ripc_fd_forget(unsigned int lo, unsigned int hi);
/*
 * For the drop-in, whose close(), dup2() ... forget every number they close
 * or replace: from now on, in the calling process (a fork child calls it
 * again), an open descriptor found not to be a file of the device is
 * remembered as such until it is forgotten (its calls then make native's
 * call at once, without an fstat).
 */
void ripc_fd_remember_foreign(void);
/*
 * Learns whether fd is a file of the device (an fstat, once per number) and,
 * if it is not, opens the process-wide descriptor, so that a queue call on
 * fd right after opens no descriptor of its own: the drop-in calls it before
 * it enables asynchronous cancellation around a blocking call.
 */
void ripc_fd_resolve(int fd);
/* Whether fd is a file of the device (a queue's descriptor, say): the
 * library's own check, errno left alone. */
int ripc_fd_is_device(int fd);
/* The process-wide descriptor if it is open now (without opening it), or -1. */
int ripc_device_fd_peek(void);
/*
 * For the drop-in, whose pthread_cancel() calls it: the program has called
 * pthread_cancel, so every blocking call is a cancellation point from now
 * on, also in a program that never made a second thread.
 */
void ripc_cancel_noted(void);

#ifdef __cplusplus
}
#endif

#endif /* RIPC_H */
