// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libripc: thin libc-like wrappers over the /dev/rust_ipc ioctls.
 * See ripc.h for the interface and <linux/rust_ipc.h> for the ABI.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/single_threaded.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/futex.h>
#include <unistd.h>

#include "ripc.h"

/* The native structures are passed straight through: check their layouts. */
#define SAME_FIELD(a, fa, b, fb) \
	_Static_assert(offsetof(a, fa) == offsetof(b, fb) && \
		       sizeof(((a *)0)->fa) == sizeof(((b *)0)->fb), #a "." #fa)
_Static_assert(sizeof(struct mq_attr) == sizeof(struct ripc_mq_attr), "mq_attr");
SAME_FIELD(struct mq_attr, mq_flags, struct ripc_mq_attr, mq_flags);
SAME_FIELD(struct mq_attr, mq_maxmsg, struct ripc_mq_attr, mq_maxmsg);
SAME_FIELD(struct mq_attr, mq_msgsize, struct ripc_mq_attr, mq_msgsize);
SAME_FIELD(struct mq_attr, mq_curmsgs, struct ripc_mq_attr, mq_curmsgs);
_Static_assert(sizeof(struct timespec) == sizeof(struct ripc_timespec), "timespec");
SAME_FIELD(struct timespec, tv_sec, struct ripc_timespec, tv_sec);
SAME_FIELD(struct timespec, tv_nsec, struct ripc_timespec, tv_nsec);
_Static_assert(sizeof(struct sigevent) == sizeof(struct ripc_sigevent), "sigevent");
SAME_FIELD(struct sigevent, sigev_value, struct ripc_sigevent, sigev_value);
SAME_FIELD(struct sigevent, sigev_signo, struct ripc_sigevent, sigev_signo);
SAME_FIELD(struct sigevent, sigev_notify, struct ripc_sigevent, sigev_notify);
_Static_assert(sizeof(struct msqid_ds) == sizeof(struct ripc_msqid_ds), "msqid_ds");
SAME_FIELD(struct msqid_ds, msg_perm.__key, struct ripc_msqid_ds, msg_perm.key);
SAME_FIELD(struct msqid_ds, msg_perm.uid, struct ripc_msqid_ds, msg_perm.uid);
SAME_FIELD(struct msqid_ds, msg_perm.gid, struct ripc_msqid_ds, msg_perm.gid);
SAME_FIELD(struct msqid_ds, msg_perm.cuid, struct ripc_msqid_ds, msg_perm.cuid);
SAME_FIELD(struct msqid_ds, msg_perm.cgid, struct ripc_msqid_ds, msg_perm.cgid);
/* glibc's mode is a 32-bit mode_t over the kernel's 16-bit mode + __pad1. */
_Static_assert(offsetof(struct msqid_ds, msg_perm.mode) ==
	       offsetof(struct ripc_msqid_ds, msg_perm.mode), "msg_perm.mode");
SAME_FIELD(struct msqid_ds, msg_perm.__seq, struct ripc_msqid_ds, msg_perm.seq);
SAME_FIELD(struct msqid_ds, msg_stime, struct ripc_msqid_ds, msg_stime);
SAME_FIELD(struct msqid_ds, msg_rtime, struct ripc_msqid_ds, msg_rtime);
SAME_FIELD(struct msqid_ds, msg_ctime, struct ripc_msqid_ds, msg_ctime);
SAME_FIELD(struct msqid_ds, __msg_cbytes, struct ripc_msqid_ds, msg_cbytes);
SAME_FIELD(struct msqid_ds, msg_qnum, struct ripc_msqid_ds, msg_qnum);
SAME_FIELD(struct msqid_ds, msg_qbytes, struct ripc_msqid_ds, msg_qbytes);
SAME_FIELD(struct msqid_ds, msg_lspid, struct ripc_msqid_ds, msg_lspid);
SAME_FIELD(struct msqid_ds, msg_lrpid, struct ripc_msqid_ds, msg_lrpid);
_Static_assert(sizeof(struct msginfo) == sizeof(struct ripc_msginfo), "msginfo");
SAME_FIELD(struct msginfo, msgpool, struct ripc_msginfo, msgpool);
SAME_FIELD(struct msginfo, msgtql, struct ripc_msginfo, msgtql);
SAME_FIELD(struct msginfo, msgseg, struct ripc_msginfo, msgseg);
_Static_assert(SIGEV_SIGNAL == RIPC_SIGEV_SIGNAL && SIGEV_NONE == RIPC_SIGEV_NONE &&
	       SIGEV_THREAD == RIPC_SIGEV_THREAD, "sigev_notify values");

#define PTR(p) ((__u64)(uintptr_t)(p))

static int devfd = -1;

/* Closes one of the library's own descriptors with the raw system call:
 * not the drop-in's close() (whose bookkeeping may take a lock the caller
 * holds), no cancellation point, errno kept; the number is forgotten (a
 * queue call of another thread may have found it a file of the device
 * while it was open). */
static void close_own(int fd)
{
	int err = errno;

	/* Before the close too: the number is free at once, and another
	 * thread's open may take it before the forget after. */
	if (fd >= 0)
		ripc_fd_forget((unsigned int)fd, (unsigned int)fd);
	syscall(SYS_close, fd);
	if (fd >= 0)
		ripc_fd_forget((unsigned int)fd, (unsigned int)fd);
	errno = err;
}

/* A new file of the device, with the raw system call: no cancellation
 * point (glibc's mq_open is none, nor are the calls that open the
 * library's process-wide descriptor on first use). */
static int open_device(int flags)
{
	return (int)syscall(SYS_openat, AT_FDCWD, RIPC_DEVICE, flags);
}

/*
 * The descriptors known to be files of the device, a bit each below
 * KNOWN_FDS.  A queue call makes its ioctl only on one of these: on any
 * other file the driver could act on the command (a DRM device picks its
 * handler by the command's number alone) or give its own error (an epoll
 * instance: EINVAL), where native's calls give EBADF.  A descriptor not
 * known yet is looked at once (fstat: a character device of the device's
 * number).  The library knows the descriptors it opens; ripc_fd_forget()
 * (ripc_mq_close(), the drop-in's close(), dup2() ...) forgets closed
 * numbers.
 *
 * Under the drop-in, whose close(), close_range(), closefrom(), dup2() and
 * dup3() forget what they close or replace, an open descriptor found not to
 * be one is also remembered (foreign_fds), so that a program that keeps
 * calling mq_timedreceive() on one (stress-ng's --mq, on its standard
 * input) makes only native's call, without an fstat each time: such a
 * number can become a file of the device only after a close or a dup2
 * that forgets it (the drop-in's close() and its kin, and fclose(),
 * freopen(), pclose() and closedir(), which close inside libc), or a close
 * by a raw system call, which the drop-in cannot see.  A library caller's own close() forgets nothing, so
 * outside the drop-in nothing foreign is remembered (a dup() of a queue
 * descriptor may take the number of a closed socket).  A closed number is
 * never remembered: open() may reuse it.  Nor is anything in a process the
 * drop-in has not said so for (a vfork() child, which shares this memory
 * but not the descriptors; a child of a raw clone()).
 */
#define KNOWN_FDS 65536
#define LONG_BITS (8 * sizeof(unsigned long))
static unsigned long known_fds[KNOWN_FDS / LONG_BITS];
static unsigned long foreign_fds[KNOWN_FDS / LONG_BITS];
static pid_t foreign_pid;	/* the drop-in's process: ripc_fd_remember_foreign() */
static dev_t device_rdev;	/* 0: not known yet */

#define FD_BIT(map, fd) (__atomic_load_n(&(map)[(fd) / LONG_BITS], __ATOMIC_RELAXED) >> \
			 ((fd) % LONG_BITS) & 1)

static void fd_set_bit(unsigned long *map, int fd, int on)
{
	unsigned long bit = 1UL << (fd % LONG_BITS);

	if (on)
		__atomic_fetch_or(&map[fd / LONG_BITS], bit, __ATOMIC_RELAXED);
	else if (FD_BIT(map, fd))
		__atomic_fetch_and(&map[fd / LONG_BITS], ~bit, __ATOMIC_RELAXED);
}

static void fd_learn(int fd)
{
	if ((unsigned int)fd < KNOWN_FDS) {
		fd_set_bit(known_fds, fd, 1);
		fd_set_bit(foreign_fds, fd, 0);
	}
}

void ripc_fd_remember_foreign(void)
{
	__atomic_store_n(&foreign_pid, getpid(), __ATOMIC_RELAXED);
}

static void forget_in(unsigned long *map, unsigned int lo, unsigned int hi)
{
	for (unsigned int fd = lo; fd <= hi;) {
		unsigned int bit = fd % LONG_BITS, n = LONG_BITS - bit;
		unsigned long mask;

		if (n > hi - fd + 1)
			n = hi - fd + 1;
		mask = (n == LONG_BITS ? ~0UL : ((1UL << n) - 1)) << bit;
		if (__atomic_load_n(&map[fd / LONG_BITS], __ATOMIC_RELAXED) & mask)
			__atomic_fetch_and(&map[fd / LONG_BITS], ~mask, __ATOMIC_RELAXED);
		fd += n;
	}
}

/* Counts the forgets, before each clears its bits: fd_check() undoes what
 * it learnt if one came while it looked (a close and a dup by another
 * thread between its fstat and its bit). */
static unsigned long forget_gen;

void ripc_fd_forget(unsigned int lo, unsigned int hi)
{
	if (hi >= KNOWN_FDS)
		hi = KNOWN_FDS - 1;
	__atomic_fetch_add(&forget_gen, 1, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	forget_in(known_fds, lo, hi);
	forget_in(foreign_fds, lo, hi);
}

static void learn_abi(int fd);

/*
 * The device's number when its node is not there to be looked at: the one
 * sysfs gives the misc device ("MAJOR:MINOR"), or, with sysfs showing misc
 * devices and neither that entry nor the module (not loaded), a number no
 * file has (-1); 0 (not known) otherwise, also for an error other than
 * ENOENT (out of descriptors, a path an LSM denies).  Raw system calls: not
 * the drop-in's close(), which would forget descriptors, nor cancellation
 * points.
 */
static dev_t sysfs_rdev(void)
{
	char buf[32], *p = buf;
	unsigned long num[2] = { 0, 0 };
	int old, tmp;
	long fd;
	ssize_t n;
	struct stat st;

	/* A call may be in CANCELLABLE's asynchronous region: no cancellation
	 * between the open and the close (a leaked descriptor). */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	fd = syscall(SYS_openat, AT_FDCWD, "/sys/class/misc/rust_ipc/dev", O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -errno : syscall(SYS_read, (int)fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		syscall(SYS_close, (int)fd);
	pthread_setcancelstate(old, &tmp);
	if (fd < 0)
		return n == -ENOENT && stat("/sys/class/misc", &st) == 0 &&
		       S_ISDIR(st.st_mode) && stat("/sys/module/rust_ipc", &st) != 0 &&
		       errno == ENOENT ? (dev_t)-1 : 0;
	if (n <= 0)
		return 0;
	buf[n] = 0;
	for (int i = 0; i < 2; i++, p++) {
		if (*p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			num[i] = num[i] * 10 + (unsigned long)(*p++ - '0');
		if (*p != (i ? '\n' : ':'))
			return 0;
	}
	return makedev(num[0], num[1]);
}

/* Whether fd, not known yet, is a file of the device (then known, and the
 * module's ABI learnt from it: a descriptor inherited across an exec makes
 * the register calls too, whose priority the module writes itself). */
static __attribute__((noinline, cold)) int fd_check(int fd)
{
	dev_t dev = __atomic_load_n(&device_rdev, __ATOMIC_RELAXED);
	unsigned long gen = __atomic_load_n(&forget_gen, __ATOMIC_SEQ_CST), *map = NULL;
	int err = errno, ours;
	struct stat st;
	pid_t fp;

	if (!dev && stat(RIPC_DEVICE, &st) == 0 && S_ISCHR(st.st_mode)) {
		dev = st.st_rdev;
		__atomic_store_n(&device_rdev, dev, __ATOMIC_RELAXED);
	}
	/* No node (a chroot, a mount namespace given only descriptors): sysfs
	 * may tell (not kept: the module may be loaded later). */
	if (!dev) {
		dev = sysfs_rdev();
		errno = err;
	}
	if (!dev) {
		/* Nothing to compare with: the module's answer decides, as
		 * before the check; nothing is learnt. */
		errno = err;
		return 1;
	}
	if (fstat(fd, &st)) {
		errno = err;
		return 0;
	}
	ours = S_ISCHR(st.st_mode) && st.st_rdev == dev;
	errno = err;
	if (ours)
		learn_abi(fd);
	if ((unsigned int)fd >= KNOWN_FDS)
		return ours;
	if (ours)
		map = known_fds;
	else if ((fp = __atomic_load_n(&foreign_pid, __ATOMIC_RELAXED)) && fp == getpid())
		map = foreign_fds;
	if (map) {
		fd_set_bit(map, fd, 1);
		/* Either this sees a forget that came since the fstat, or that
		 * forget's clearing comes after the bit and clears it. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(&forget_gen, __ATOMIC_SEQ_CST) != gen)
			fd_set_bit(map, fd, 0);
	}
	return ours;
}

/* Whether fd is a file of the device: may the library's ioctls go to it. */
static inline __attribute__((always_inline)) int fd_ours(int fd)
{
	if ((unsigned int)fd < KNOWN_FDS) {
		if (FD_BIT(known_fds, fd))
			return 1;
		if (FD_BIT(foreign_fds, fd))
			return 0;
	}
	return fd >= 0 && fd_check(fd);
}

/* Never above this: the kernel's descriptor table grows to cover the number. */
#define HIGH_FD_MAX 4096

int ripc_dup_high(int fd)
{
	struct rlimit rl;
	rlim_t floor = 512;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -1;
	if (rl.rlim_cur / 2 > floor)
		floor = rl.rlim_cur / 2;
	if (floor > HIGH_FD_MAX)
		floor = HIGH_FD_MAX;
	if (floor >= rl.rlim_cur)
		floor = rl.rlim_cur ? rl.rlim_cur - 1 : 0;
	if (fd < 0 || floor <= (rlim_t)fd) {
		errno = EINVAL;
		return -1;
	}
	return fcntl(fd, F_DUPFD_CLOEXEC, (int)floor);
}

/*
 * What the fast paths look at, in one word that one load reads: bits only
 * ever set.  REGS_YES and REGS_NO: whether to make the register calls
 * (below), once known; CANCEL_CALLED: the program called pthread_cancel
 * (ripc_cancel_noted(), cancel_possible()).
 */
#define REGS_YES 1
#define REGS_NO 2
#define CANCEL_CALLED 4
static int call_state;

#define CALL_STATE() __atomic_load_n(&call_state, __ATOMIC_RELAXED)

/*
 * Whether to make the register calls (<linux/rust_ipc.h>): a 64-bit (LP64)
 * build, whose registers hold a System V call's packed msqid and msgflg
 * (an x32 or 32-bit one uses the struct commands), on a module of ABI
 * version 2 or later: REGS_YES, else REGS_NO, neither while not known
 * yet; learnt with RIPC_IOC_VERSION on the first file of the device the
 * library opens (ripc_device_fd(), ripc_mq_open()).  Until then (a
 * descriptor passed from another process) the struct commands serve.
 */
#ifdef __LP64__
#define USE_REGS() (CALL_STATE() & REGS_YES)
#define REGS_UNKNOWN() (!(CALL_STATE() & (REGS_YES | REGS_NO)))

static void learn_abi(int fd)
{
	struct ripc_version v = { .size = sizeof(v) };
	int err = errno;

	if (REGS_UNKNOWN() && ioctl(fd, RIPC_IOC_VERSION, &v) == 0)
		__atomic_fetch_or(&call_state, v.abi_version >= 2 ? REGS_YES : REGS_NO,
				  __ATOMIC_RELAXED);
	errno = err;
}
#else
static void learn_abi(int fd)
{
	(void)fd;
}

#define USE_REGS() 0
#define REGS_UNKNOWN() 0
#endif

/* Whether fd is (still) a file of the device, by its number. */
static int still_device(int fd)
{
	int err = errno, ok;
	struct stat st;

	ok = fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) &&
	     st.st_rdev == __atomic_load_n(&device_rdev, __ATOMIC_RELAXED);
	errno = err;
	return ok;
}

/* Whether fd is (still) a descriptor the library's device calls can be
 * made on: a file of the device open for reading and writing, as the
 * library opens its own (a queue of the program's opened read-only or
 * write-only at its number is not: the module refuses mq_open there with
 * EBADF). */
static int device_usable(int fd)
{
	int err = errno, ok;

	ok = still_device(fd) && ((int)syscall(SYS_fcntl, fd, F_GETFL) & O_ACCMODE) == O_RDWR;
	errno = err;
	return ok;
}

/* The descriptor of the device of a child the drop-in's fork handler did
 * not see (ripc_device_fd()), and the pid it is of. */
static pid_t child_pid;
static int child_fd = -1;

static int child_device_fd(void)
{
	pid_t me = getpid();
	int fd, high, err = errno;
	struct stat st;

	fd = __atomic_load_n(&child_fd, __ATOMIC_ACQUIRE);
	if (__atomic_load_n(&child_pid, __ATOMIC_ACQUIRE) == me && fd >= 0 && device_usable(fd))
		return fd;
	fd = open_device(O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* Out of the program's way, as the parent's (ripc_device_fd()). */
	high = ripc_dup_high(fd);
	if (high >= 0) {
		close_own(fd);
		fd = high;
	}
	learn_abi(fd);
	if (!fstat(fd, &st))
		__atomic_store_n(&device_rdev, st.st_rdev, __ATOMIC_RELAXED);
	__atomic_store_n(&child_fd, fd, __ATOMIC_RELEASE);
	__atomic_store_n(&child_pid, me, __ATOMIC_RELEASE);
	errno = err;
	return fd;
}

static int device_open(void);

/*
 * The process-wide descriptor, opened on first use.  Opened with
 * cancellation disabled: a call in CANCELLABLE's asynchronous region may
 * open it (another thread's closefrom() forgot it just before), and the
 * descriptor must be published (or closed) before a cancellation acts.
 */
int ripc_device_fd(void)
{
	int fd = __atomic_load_n(&devfd, __ATOMIC_ACQUIRE), old, tmp, e;

	if (fd >= 0)
		return fd;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	fd = device_open();
	e = errno;
	pthread_setcancelstate(old, &tmp);
	errno = e;
	return fd;
}

static int device_open(void)
{
	int fd, expected, high, err;
	unsigned long gen;
	struct stat st;
	pid_t fp;

	/* A child the drop-in's fork handler did not see: a vfork() child,
	 * which shares this memory but not its descriptors, or one of a raw
	 * fork or clone.  Its own (close-on-exec) descriptor, kept for its
	 * pid and never published (the parent would take a vfork child's
	 * number for the device's). */
	fp = __atomic_load_n(&foreign_pid, __ATOMIC_RELAXED);
	if (fp && fp != getpid())
		return child_device_fd();
	err = errno;
	for (;;) {
		gen = __atomic_load_n(&forget_gen, __ATOMIC_SEQ_CST);
		fd = open_device(O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return -1;
		learn_abi(fd);
		if (fstat(fd, &st)) {
			close_own(fd);
			return -1;
		}
		/* The device's number, known from now on (fd_check() compares
		 * with it: after a chroot the node is not there to look at). */
		__atomic_store_n(&device_rdev, st.st_rdev, __ATOMIC_RELAXED);
		/* Out of the program's way (its stale closes, "lowest free" opens). */
		high = ripc_dup_high(fd);
		errno = err;		/* a call that succeeds leaves errno alone */
		if (high >= 0) {
			close_own(fd);
			fd = high;
		}
		/* Another thread may have won the race: keep its descriptor. */
		expected = -1;
		if (!__atomic_compare_exchange_n(&devfd, &expected, fd, 0,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			close_own(fd);
			return expected;
		}
		/* A close by another thread (closefrom(), close_range()) that
		 * took the number before it was published went unseen by its
		 * ripc_device_forget(): then the number may no longer be ours
		 * (not closed here: it may be another file now). */
		if (__atomic_load_n(&forget_gen, __ATOMIC_SEQ_CST) == gen || device_usable(fd))
			return fd;
		__atomic_compare_exchange_n(&devfd, &fd, -1, 0, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE);
	}
}

void ripc_device_recheck(unsigned int lo, unsigned int hi)
{
	int fd = __atomic_load_n(&devfd, __ATOMIC_ACQUIRE);

	if (fd >= 0 && (unsigned int)fd >= lo && (unsigned int)fd <= hi && !device_usable(fd))
		__atomic_compare_exchange_n(&devfd, &fd, -1, 0, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE);
}

int ripc_device_fd_peek(void)
{
	return __atomic_load_n(&devfd, __ATOMIC_ACQUIRE);
}

int ripc_device_forget(unsigned int lo, unsigned int hi)
{
	int fd = __atomic_load_n(&devfd, __ATOMIC_ACQUIRE);

	if (fd < 0 || (unsigned int)fd < lo || (unsigned int)fd > hi)
		return 0;
	return __atomic_compare_exchange_n(&devfd, &fd, -1, 0, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

int ripc_fd_is_device(int fd)
{
	int err = errno, r = fd_ours(fd);

	errno = err;
	return r;
}

void ripc_fd_resolve(int fd)
{
	int err = errno;

	/* A device that cannot be opened is the call's to report, or not
	 * (a native queue's descriptor): errno left alone. */
	if (!fd_ours(fd) && ripc_device_fd() < 0)
		errno = err;
}

/* ripc_device_fd(), its common case inline. */
static inline __attribute__((always_inline)) int device_fd(void)
{
	int fd = __atomic_load_n(&devfd, __ATOMIC_ACQUIRE);

	return fd >= 0 ? fd : ripc_device_fd();
}

/* ---- Cancellation points ------------------------------------------ */

/* CANCEL_CALLED, set for good once the program calls pthread_cancel (the
 * drop-in tells). */
void ripc_cancel_noted(void)
{
	__atomic_fetch_or(&call_state, CANCEL_CALLED, __ATOMIC_RELAXED);
}

/*
 * Can anything cancel the calling thread during a call?  Not in a process
 * that never had a second thread (__libc_single_threaded stays false once
 * one was made, also in children forked after it) and never called
 * pthread_cancel: no other thread exists to cancel it, and a cancellation
 * the thread asks for itself is pthread_cancel's.  This is glibc's own
 * test (2.36, x86_64: SYSCALL_CANCEL skips the cancellation state when
 * SINGLE_THREAD_P, libc's single-threaded flag, which pthread_create and
 * pthread_cancel clear).  The flag seen here is the program's copy when it
 * has one (a copy relocation: a program that reads __libc_single_threaded),
 * which pthread_create clears and pthread_cancel does not: hence
 * CANCEL_CALLED, which the drop-in sets (libc_mq.c tests both cases).
 */
static inline __attribute__((always_inline)) int cancel_possible(void)
{
	return !__libc_single_threaded || (CALL_STATE() & CANCEL_CALLED);
}

/*
 * The register calls' fast paths: !cancel_possible() && USE_REGS(), in
 * one test of the state word.
 */
#ifdef __LP64__
#define FAST_REGS() (__libc_single_threaded && CALL_STATE() == REGS_YES)
#else
#define FAST_REGS() 0
#endif

/*
 * A blocking call is a cancellation point, as glibc's SYSCALL_CANCEL: the
 * system call runs with asynchronous cancellation enabled (a cancellation
 * that comes just as it returns acts then, and a message it received is
 * lost, as with glibc's own wrappers until its bug 12683 was fixed, after
 * the 2.36 tested here).  Used only when cancel_possible(), out
 * of line, so that the common path of a call is one test more; whatever
 * may open a descriptor (the device's) is done before, or with
 * cancellation disabled (ripc_device_fd(), device_again(), sysfs_rdev()), so that a
 * cancellation leaks none.
 */
#define CANCELLABLE(call) ({ \
	int __old, __tmp, __e; \
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &__old); \
	__typeof__(call) __r = (call); \
	__e = errno; \
	pthread_setcanceltype(__old, &__tmp); \
	errno = __e; \
	__r; \
})

/*
 * After a call on the process-wide descriptor fd failed with err: the
 * descriptor to make it on once more if fd is no longer a file of the
 * device (the program closed it, by its closefrom() or close_range() after
 * a first call, without the drop-in: EBADF; or another file took the
 * number and refused the command: ENOTTY), -1 and errno if none can be
 * opened, or -2 if fd is still the device's (the module gives a device
 * call EBADF or ENOTTY only on a file that is the device's, which stays).
 * A lost descriptor is forgotten, but not by a vfork() child, whose closes
 * are its own: the number stays the parent's, in memory they share, and
 * the child makes the call on a descriptor of its own.  With cancellation
 * disabled: a call may be in CANCELLABLE's asynchronous region, and a
 * descriptor opened here must be kept before a cancellation can act.
 */
static __attribute__((noinline, cold)) int device_again(int fd, int err)
{
	int old, tmp, e;
	pid_t fp;

	if ((err != EBADF && err != ENOTTY) || device_usable(fd))
		return -2;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	fp = __atomic_load_n(&foreign_pid, __ATOMIC_RELAXED);
	if (fp && fp != getpid()) {
		fd = child_device_fd();
	} else {
		/* Forgotten here, or by another thread that met it too. */
		ripc_device_forget((unsigned int)fd, (unsigned int)fd);
		fd = device_fd();
	}
	e = errno;
	pthread_setcancelstate(old, &tmp);
	errno = e;
	return fd;
}

/* An ioctl on the process-wide device descriptor. */
static long dev_ioctl(unsigned long cmd, void *arg)
{
	int fd = device_fd(), err = errno;
	long ret;

	if (fd < 0)
		return -1;
	ret = ioctl(fd, cmd, arg);
	if (ret < 0) {
		int e = errno;

		errno = err;
		fd = device_again(fd, e);
		if (fd == -2)
			errno = e;
		else
			ret = fd < 0 ? -1 : ioctl(fd, cmd, arg);
	}
	return ret;
}

/* The six arguments of a register call's ioctl(2) system call. */
struct regs_call {
	long fd;
	unsigned long cmd;
	__u64 a, b, c, d;
};

/*
 * A register call (<linux/rust_ipc.h>): ioctl(fd, cmd, a) with three more
 * arguments in the system call's registers, as syscall(SYS_ioctl, fd, cmd,
 * a, b, c, d) makes it; the kernel's result, -errno on failure.  On x86-64
 * the instruction is inline (libc's syscall() shuffles its seven arguments
 * first), and the result is not turned into errno here: a fast path that
 * reads errno calls __errno_location() and keeps its arguments across it.
 * The arguments but cmd are in and out of their registers: the system call
 * leaves them as they were, and a fast path that passes them on to its
 * failure path after the call (*r, a local: all in registers) then keeps
 * no copy of them in registers it must save (measured: 8 to 10
 * instructions a call, 2026-12-07).
 */
static inline __attribute__((always_inline)) long ioctl_regs_call(struct regs_call *r)
{
#ifdef __x86_64__
	register __u64 r10 __asm__("r10") = r->b;
	register __u64 r8 __asm__("r8") = r->c;
	register __u64 r9 __asm__("r9") = r->d;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret), "+D"(r->fd), "+d"(r->a), "+r"(r10), "+r"(r8), "+r"(r9)
			 : "0"((long)SYS_ioctl), "S"(r->cmd)
			 : "rcx", "r11", "memory");
	r->b = r10;
	r->c = r8;
	r->d = r9;
	return ret;
#else
	/* errno as the inline instruction leaves it: untouched. */
	int saved = errno;
	long ret = syscall(SYS_ioctl, r->fd, r->cmd, r->a, r->b, r->c, r->d);

	if (ret < 0) {
		ret = -errno;
		errno = saved;
	}
	return ret;
#endif
}

/* ioctl_regs_call() of the arguments. */
static inline __attribute__((always_inline)) long
ioctl_regs_raw(int fd, unsigned int cmd, __u64 a, __u64 b, __u64 c, __u64 d)
{
	struct regs_call r = { fd, cmd, a, b, c, d };

	return ioctl_regs_call(&r);
}

/* Whether a raw result is an error (-4095 to -1, as the kernel returns). */
#define RAW_ERR(ret) ((unsigned long)(ret) > -4096UL)

/*
 * Whether a failed call's raw error ret is one that only the module gives
 * (a full or empty queue without waiting, a timeout): its verdict as it
 * is (raw_fail(), a tail call), without the checks for a descriptor that
 * is no longer the device's (made for EBADF and ENOTTY), so that a
 * non-blocking call on a full or empty queue costs no more than it must.
 */
#define PLAIN_ERR(ret) ((ret) == -EAGAIN || (ret) == -ENOMSG || (ret) == -ETIMEDOUT)

/* A raw error as libc returns it: -1 and errno. */
static __attribute__((noinline, cold)) long raw_fail(long ret)
{
	errno = (int)-ret;
	return -1;
}

/* A register call's handling of a failure that is not plain (its fast
 * path's *_failed()): -1 and errno, or the call made again. */
typedef long (*regs_failed_fn)(int fd, long ret, __u64 a, __u64 b, __u64 c, __u64 d);

/*
 * The register call r as a cancellation point (CANCELLABLE), where
 * something may cancel the caller (cancel_possible()): on r->fd, a file of
 * the device the library knows (a queue's, or the process-wide one), so
 * that nothing opens a descriptor in the asynchronous region but failed
 * (whose openings disable cancellation).  What glibc's wrappers do in a
 * multi-threaded process, its system call with asynchronous cancellation
 * around it, without the way through the clock and struct commands
 * (mq_send_cancellable() ...), which cost a call as much again (measured
 * with ripc_bench --threaded, 2026-12-07).  The result as the fast path's:
 * the kernel's, or -1 and errno.
 */
static inline __attribute__((always_inline)) long
regs_cancellable(struct regs_call *r, regs_failed_fn failed)
{
	int old, tmp, e;
	long ret;

	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old);
	ret = ioctl_regs_call(r);
	if (!RAW_ERR(ret)) {
		pthread_setcanceltype(old, &tmp);
		return ret;
	}
	ret = PLAIN_ERR(ret) ? raw_fail(ret) : failed((int)r->fd, ret, r->a, r->b, r->c, r->d);
	e = errno;
	pthread_setcanceltype(old, &tmp);
	errno = e;
	return ret;
}

/* A register call: -1 and errno on failure. */
static inline __attribute__((always_inline)) long
ioctl_regs(int fd, unsigned int cmd, __u64 a, __u64 b, __u64 c, __u64 d)
{
	long ret = ioctl_regs_raw(fd, cmd, a, b, c, d);

	return RAW_ERR(ret) ? raw_fail(ret) : ret;
}

/* A failed register call ret on the process-wide descriptor fd: made once
 * more on a new one if fd was lost (device_again()), else its error. */
static __attribute__((noinline, cold)) long
dev_regs_fail(long ret, int fd, unsigned int cmd, __u64 a, __u64 b, __u64 c, __u64 d)
{
	fd = device_again(fd, (int)-ret);
	if (fd == -2)
		return raw_fail(ret);
	return fd < 0 ? -1 : ioctl_regs(fd, cmd, a, b, c, d);
}

/* A register call on the process-wide descriptor: -1 and errno on failure. */
static inline __attribute__((always_inline)) long
dev_regs(unsigned int cmd, __u64 a, __u64 b, __u64 c, __u64 d)
{
	int fd = device_fd();
	long ret;

	if (fd < 0)
		return -1;
	ret = ioctl_regs_raw(fd, cmd, a, b, c, d);
	return RAW_ERR(ret) ? dev_regs_fail(ret, fd, cmd, a, b, c, d) : ret;
}

/*
 * Whether a RIPC_MQ_NOTIFY's sigevent asks for SIGEV_THREAD, after the
 * module refused it with EINVAL: the module read it first (an unreadable
 * one is EFAULT), so reading its sigev_notify here cannot fault.
 */
static int sigev_thread(const void *arg)
{
	const struct sigevent *u =
		(const struct sigevent *)(uintptr_t)((const struct ripc_mq_notify *)arg)->sevp;

	return u && u->sigev_notify == SIGEV_THREAD;
}

/*
 * The error of a call on a descriptor that is not a queue: another file
 * (ENOTTY) or none (EBADF), so the module never saw the call.  Native
 * checks some arguments before it finds that out (the timeout, the
 * priority, a new mq_attr, a sigevent: EFAULT or EINVAL, then EBADF), and
 * so does the module on a file of the device that is not a queue: a call
 * without a native twin (getattr/setattr, notify, another clock's timeout;
 * sends and receives make the native call, native_twin()) goes again to the
 * process-wide device file, which never is one, and its error is the
 * verdict.  The module reads the caller's pointers, as
 * native's copy_from_user does, where reading them here could crash on a
 * bad one.  SIGEV_THREAD is libripc's and the drop-in's (the module refuses
 * it): that verdict is read here.  Without the device (not loaded, or no
 * descriptor left to open it with) there is no verdict on the arguments:
 * EBADF.  The device descriptor is libripc's (ripc_device_forget()): a
 * program that closes it behind the library's back, and then has a queue
 * take its number, would have this call made on that queue.
 */
static __attribute__((noinline, cold)) long not_a_queue(unsigned long cmd, void *arg)
{
	if (device_fd() < 0 || dev_ioctl(cmd, arg) >= 0)
		errno = EBADF;
	else if (cmd == RIPC_MQ_NOTIFY && errno == EINVAL && sigev_thread(arg))
		errno = EBADF;
	return -1;
}

#ifdef __LP64__
/*
 * The verdict on a send or receive with an absolute CLOCK_REALTIME timeout,
 * or none (cmd: RIPC_MQ_TIMEDSEND or RIPC_MQ_TIMEDRECEIVE), on a descriptor
 * that is not a rust_ipc queue: the native system call on it, so the result
 * is native's by construction, at native's cost: the timeout and priority
 * checks, then EBADF, or a native queue's own result if the descriptor is
 * one (a program that mixes syscall(SYS_mq_open) with the drop-in keeps
 * those queues).  errno is "saved" again if the call succeeds, as glibc's
 * wrappers leave it.  -1 with ENOSYS without native POSIX queues.  LP64
 * only: there the arguments are the native call's longs and its timespec.
 */
static long native_twin(int mqd, unsigned int cmd, __u64 a, __u64 b, __u64 c, __u64 d,
			int saved)
{
	long nr = cmd == RIPC_MQ_TIMEDSEND ? SYS_mq_timedsend : SYS_mq_timedreceive;
	long ret = syscall(nr, mqd, a, b, c, d);

	if (ret >= 0)
		errno = saved;
	return ret;
}
#endif

/*
 * A register call's verdict on a descriptor that is not a queue (only made
 * once the module's register calls are known, USE_REGS(): LP64):
 * native_twin(), or without native POSIX queues the module's on the
 * process-wide device file (which is never a queue).
 */
static __attribute__((noinline, cold)) long
not_a_queue_regs(int mqd, unsigned int cmd, __u64 a, __u64 b, __u64 c, __u64 d)
{
#ifdef __LP64__
	long ret = native_twin(mqd, cmd, a, b, c, d, errno);

	if (ret >= 0 || errno != ENOSYS)
		return ret;
#else
	(void)mqd;
#endif
	if (device_fd() < 0 || dev_regs(cmd, a, b, c, d) >= 0)
		errno = EBADF;
	return -1;
}

/*
 * An ioctl on a queue descriptor; on a descriptor that is not a queue, the
 * arguments native checks first decide the error if "first", else EBADF.
 */
static long mq_ioctl(int mqd, unsigned long cmd, void *arg, int first)
{
	long ret;

	if (!fd_ours(mqd)) {
		errno = EBADF;
		return first ? not_a_queue(cmd, arg) : -1;
	}
	ret = ioctl(mqd, cmd, arg);

	if (ret < 0 && (errno == ENOTTY || errno == EBADF)) {
		if (first)
			return not_a_queue(cmd, arg);
		errno = EBADF;
	}
	return ret;
}

/*
 * Whether the error err of an ioctl made on mqd, a file of the device
 * (fd_ours()), is the module's verdict, final: not ENOTTY (another file
 * took the number since) nor the VFS's EBADF (the number was closed).  The
 * module's own EBADF (a queue not open for the call, a file bound to no
 * queue) comes after the checks native makes first, so it is final too:
 * told from the VFS's by the number being open.  errno stays err.
 */
static __attribute__((noinline, cold)) int module_verdict(int mqd, int err)
{
	int open;

	if (err != EBADF)
		return err != ENOTTY;
	open = fcntl(mqd, F_GETFD) >= 0;
	errno = err;
	return open;
}

/* Whether fd is a descriptor this process knows as a file of the device. */
static inline __attribute__((always_inline)) int fd_known(int fd)
{
	return (unsigned int)fd < KNOWN_FDS && FD_BIT(known_fds, fd);
}

/*
 * Whether a POSIX register call on fd, known not to be a file of the device
 * (none, or one the drop-in found foreign), where something may cancel the
 * caller, can be native's call at once (not_a_queue_regs(), as a
 * cancellation point): when the process-wide descriptor is open, which
 * not_a_queue_regs() may need without native POSIX queues, so that nothing
 * opens one in the asynchronous region.
 */
static inline __attribute__((always_inline)) int fd_native_now(int fd)
{
	return (fd < 0 || ((unsigned int)fd < KNOWN_FDS && FD_BIT(foreign_fds, fd))) &&
	       __atomic_load_n(&devfd, __ATOMIC_ACQUIRE) >= 0;
}

/*
 * A POSIX register call on queue descriptor mqd failed with ret: its
 * error, or the verdict on a descriptor that is not a queue (mq_regs()).
 */
static __attribute__((noinline, cold)) long
mq_regs_failed(int mqd, long ret, unsigned int cmd, __u64 a, __u64 b, __u64 c, __u64 d)
{
	if (!module_verdict(mqd, (int)-ret))
		return not_a_queue_regs(mqd, cmd, a, b, c, d);
	return raw_fail(ret);
}

/* A POSIX register call on a queue descriptor (see mq_ioctl()). */
static inline __attribute__((always_inline)) long
mq_regs(int mqd, unsigned int cmd, __u64 ptr, __u64 len, __u64 prio, const struct timespec *ts)
{
	long ret;

	/* Not a file of the device (or none): the verdict at once. */
	if (!fd_ours(mqd))
		return not_a_queue_regs(mqd, cmd, ptr, len, prio, PTR(ts));
	ret = ioctl_regs_raw(mqd, cmd, ptr, len, prio, PTR(ts));
	if (!RAW_ERR(ret))
		return ret;
	return mq_regs_failed(mqd, ret, cmd, ptr, len, prio, PTR(ts));
}

/*
 * The error of a struct send or receive (RIPC_MQ_SEND, RIPC_MQ_RECEIVE),
 * errno set (saved: errno before the call): on a descriptor that is not a
 * queue, the native call's result when the call has a native twin (a
 * CLOCK_REALTIME absolute timeout, or none; LP64), so that it does not
 * depend on whether the library has learnt the module's ABI yet, else (and
 * without native POSIX queues) the module's verdict through the struct
 * command.  prio: the priority to send, or where a received one goes.
 */
static __attribute__((noinline, cold)) long
xfer_not_a_queue(int mqd, unsigned long cmd, struct ripc_mq_xfer *x, __u64 prio, int saved)
{
	if (errno != ENOTTY && errno != EBADF)
		return -1;
#ifdef __LP64__
	if (x->clock.clockid == CLOCK_REALTIME && !x->clock.flags) {
		long ret = native_twin(mqd,
				       cmd == RIPC_MQ_SEND ? RIPC_MQ_TIMEDSEND : RIPC_MQ_TIMEDRECEIVE,
				       x->msg_ptr, x->msg_len, prio, x->timeout, saved);

		if (ret >= 0 || errno != ENOSYS)
			return ret;
	}
#else
	(void)mqd;
	(void)prio;
	(void)saved;
#endif
	return not_a_queue(cmd, x);
}

/*
 * The module's struct ripc_clock for clock_nanosleep()-style arguments
 * (flags TIMER_ABSTIME or 0); -1 with EINVAL for other flags.  A relative
 * timeout goes to the module as a copy in *left (*timeout then points to
 * it): the module writes the time left back when a signal interrupts the
 * call, and restarts it with that, so the caller's timespec stays as given
 * (glibc's ppoll() copies its timeout so).
 */
/*
 * Copies the caller's timespec at ts as the kernel reads one: a pointer it
 * cannot read is EFAULT, not a crash.  The kernel is asked first: a futex
 * wait reads its timeout before anything else, and on a word that does
 * not hold the value it waits for returns at once (EAGAIN), or EINVAL
 * for a timespec out of range; only EFAULT says the pointer is bad.
 */
static int read_timespec(const struct timespec *ts, struct timespec *out)
{
	int word = 0, saved = errno;

	if (syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 1, ts, NULL, 0) < 0 && errno == EFAULT)
		return -1;
	errno = saved;
	*out = *ts;
	return 0;
}

static int clock_arg(struct ripc_clock *c, __u64 *timeout, struct ripc_timespec *left,
		     clockid_t clockid, int flags)
{
	const struct timespec *ts = (const struct timespec *)(uintptr_t)*timeout;

	if (flags & ~TIMER_ABSTIME) {
		errno = EINVAL;
		return -1;
	}
	c->clockid = clockid;
	c->flags = flags & TIMER_ABSTIME ? 0 : RIPC_TIMEOUT_RELATIVE;
	/* Another clock is the module's EINVAL, before it reads the timespec. */
	if (c->flags && ts &&
	    (clockid == CLOCK_REALTIME || clockid == CLOCK_MONOTONIC || clockid == CLOCK_BOOTTIME)) {
		struct timespec t;

		if (read_timespec(ts, &t))
			return -1;
		*left = (struct ripc_timespec){ .tv_sec = t.tv_sec, .tv_nsec = t.tv_nsec };
		*timeout = PTR(left);
	}
	return 0;
}

/* ---- POSIX message queues ------------------------------------------- */

/* A new file of the device (opened with flags) on which ioctl(cmd, arg)
 * binds it: the descriptor, or -1 with the errno of the open or the ioctl. */
static int open_bound(int flags, unsigned long cmd, void *arg)
{
	int fd = open_device(flags);

	if (fd < 0)
		return -1;
	if (ioctl(fd, cmd, arg) < 0) {
		close_own(fd);
		return -1;
	}
	learn_abi(fd);
	fd_learn(fd);
	return fd;
}

/* 1 once the module refused RIPC_MQ_OPEN_FD (ENOTTY: ABI version 4 or older,
 * without RIPC_NOTIFY_FD_OPEN either). */
static int no_open_fd;

/*
 * mq_open(): RIPC_MQ_OPEN_FD on the process-wide descriptor (no path lookup:
 * queues open after a chroot, or where the node is not there, once the
 * process holds the device; the descriptor is taken where native's is, after
 * the name's checks), else, on an older module, a new open of the device
 * bound with RIPC_MQ_OPEN.
 */
static int mq_open_fd(struct ripc_mq_open *arg, int oflag)
{
	int fd, err = errno;

	if (!__atomic_load_n(&no_open_fd, __ATOMIC_RELAXED)) {
		fd = (int)dev_ioctl(RIPC_MQ_OPEN_FD, arg);
		if (fd >= 0) {
			fd_learn(fd);
			return fd;
		}
		if (errno != ENOTTY)
			return -1;
		__atomic_store_n(&no_open_fd, 1, __ATOMIC_RELAXED);
		errno = err;	/* a call that succeeds leaves errno alone */
	}
	return open_bound((oflag & O_ACCMODE) | O_CLOEXEC, RIPC_MQ_OPEN, arg);
}

int ripc_mq_open(const char *name, int oflag, ...)
{
	struct ripc_mq_open arg = {
		.size = sizeof(arg),
		.oflag = (__u32)oflag,
		.name = PTR(name),
	};

	if (oflag & O_CREAT) {
		va_list ap;

		va_start(ap, oflag);
		arg.mode = va_arg(ap, mode_t);
		arg.attr = PTR(va_arg(ap, struct mq_attr *));
		va_end(ap);
	}
	/* glibc's own check, before any descriptor is taken (at the
	 * descriptor limit, EINVAL and not EMFILE); the module checks the
	 * name again, and a null one (EFAULT). */
	if (name && name[0] != '/') {
		errno = EINVAL;
		return -1;
	}
	return mq_open_fd(&arg, oflag);
}

int ripc_mq_close(int mqd)
{
	int ret;

	/* A stale close of the number the library's device descriptor has
	 * now (a queue's number, closed before and taken by it): the next
	 * call opens the device again, as after the drop-in's close(). */
	if (mqd >= 0) {
		ripc_device_forget((unsigned int)mqd, (unsigned int)mqd);
		/* Before the close too (as close_own()): the number is free at
		 * once, and another thread's open may take it. */
		ripc_fd_forget((unsigned int)mqd, (unsigned int)mqd);
	}
	/* Not a cancellation point, as glibc's mq_close. */
	ret = (int)syscall(SYS_close, mqd);
	if (mqd >= 0)
		ripc_fd_forget((unsigned int)mqd, (unsigned int)mqd);
	return ret;
}

/* RIPC_MQ_SETPERM on a queue descriptor; EBADF on any other file (ENOTTY
 * from one taken for the device's while its number was not known; a file of
 * the device keeps ENOTTY, a module without the command: the drop-in must
 * not pass the call to the device's node). */
static int setperm(int mqd, struct ripc_mq_setperm *a)
{
	if (!fd_ours(mqd)) {
		errno = EBADF;
		return -1;
	}
	if (ioctl(mqd, RIPC_MQ_SETPERM, a) < 0) {
		if (errno == ENOTTY && !still_device(mqd))
			errno = EBADF;
		return -1;
	}
	return 0;
}

int ripc_mq_fchmod(int mqd, mode_t mode)
{
	struct ripc_mq_setperm a = { .size = sizeof(a), .which = RIPC_SETPERM_MODE,
				     .mode = mode };

	return setperm(mqd, &a);
}

int ripc_mq_fchown(int mqd, uid_t owner, gid_t group)
{
	struct ripc_mq_setperm a = { .size = sizeof(a), .which = RIPC_SETPERM_OWNER,
				     .uid = owner, .gid = group };

	return setperm(mqd, &a);
}

int ripc_mq_unlink(const char *name)
{
	struct ripc_mq_unlink arg = { .size = sizeof(arg), .name = PTR(name) };

	/* glibc's own check, before the device is opened (EINVAL, not EMFILE). */
	if (name && name[0] != '/') {
		errno = EINVAL;
		return -1;
	}
	return dev_ioctl(RIPC_MQ_UNLINK, &arg);
}

/* ripc_mq_clocksend() through the struct command (mq_send_clock()). */
static __attribute__((noinline)) int
mq_send_struct(int mqd, const char *msg_ptr, size_t msg_len, unsigned int msg_prio,
	       clockid_t clockid, int flags, const struct timespec *timeout)
{
	struct ripc_mq_xfer arg = {
		.size = sizeof(arg),
		.msg_prio = msg_prio,
		.msg_ptr = PTR(msg_ptr),
		.msg_len = msg_len,
		.timeout = PTR(timeout),
	};
	struct ripc_timespec left;
	int saved = errno;

	if (clock_arg(&arg.clock, &arg.timeout, &left, clockid, flags) < 0)
		return -1;
	if (!fd_ours(mqd))
		errno = EBADF;
	else if (ioctl(mqd, RIPC_MQ_SEND, &arg) == 0)
		return 0;
	else if (module_verdict(mqd, errno))
		return -1;
	return xfer_not_a_queue(mqd, RIPC_MQ_SEND, &arg, msg_prio, saved) < 0 ? -1 : 0;
}

/*
 * The body of ripc_mq_clocksend(), inlined into its variants (the clock
 * constant): the register call when it can carry the call, else the
 * struct command, out of line so that the register path builds no struct.
 */
static inline __attribute__((always_inline)) int
mq_send_clock(int mqd, const char *msg_ptr, size_t msg_len, unsigned int msg_prio,
	      clockid_t clockid, int flags, const struct timespec *timeout)
{
	if (clockid == CLOCK_REALTIME && flags == TIMER_ABSTIME && USE_REGS())
		return mq_regs(mqd, RIPC_MQ_TIMEDSEND, PTR(msg_ptr), msg_len, msg_prio,
			       timeout) < 0 ? -1 : 0;
	return mq_send_struct(mqd, msg_ptr, msg_len, msg_prio, clockid, flags, timeout);
}

/* mq_send_clock() as a cancellation point (CANCELLABLE). */
static __attribute__((noinline)) int
mq_send_cancellable(int mqd, const char *msg_ptr, size_t msg_len, unsigned int msg_prio,
		    clockid_t clockid, int flags, const struct timespec *timeout)
{
	ripc_fd_resolve(mqd);
	return CANCELLABLE(mq_send_clock(mqd, msg_ptr, msg_len, msg_prio, clockid, flags, timeout));
}

int ripc_mq_clocksend(int mqd, const char *msg_ptr, size_t msg_len, unsigned int msg_prio,
		      clockid_t clockid, int flags, const struct timespec *timeout)
{
	if (cancel_possible())
		return mq_send_cancellable(mqd, msg_ptr, msg_len, msg_prio, clockid, flags,
					   timeout);
	return mq_send_clock(mqd, msg_ptr, msg_len, msg_prio, clockid, flags, timeout);
}

/* ripc_mq_timedsend()'s register call on mqd failed with ret. */
static __attribute__((noinline, cold)) long
mq_timedsend_failed(int mqd, long ret, __u64 ptr, __u64 len, __u64 prio, __u64 ts)
{
	return mq_regs_failed(mqd, ret, RIPC_MQ_TIMEDSEND, ptr, len, prio, ts) < 0 ? -1 : 0;
}

/* ripc_mq_timedsend() but for its register call on a known queue
 * descriptor where nothing can cancel the caller. */
static __attribute__((noinline)) int
mq_timedsend_other(int mqd, const char *msg_ptr, size_t msg_len, unsigned int msg_prio,
		   const struct timespec *abs_timeout)
{
	struct regs_call r = { mqd, RIPC_MQ_TIMEDSEND, PTR(msg_ptr), msg_len, msg_prio,
			       PTR(abs_timeout) };

	if (cancel_possible() && USE_REGS() && fd_known(mqd))
		return (int)regs_cancellable(&r, mq_timedsend_failed);
	if (cancel_possible() && USE_REGS() && fd_native_now(mqd))
		return CANCELLABLE(not_a_queue_regs(mqd, r.cmd, r.a, r.b, r.c, r.d)) < 0 ? -1 : 0;
	if (cancel_possible())
		return mq_send_cancellable(mqd, msg_ptr, msg_len, msg_prio, CLOCK_REALTIME,
					   TIMER_ABSTIME, abs_timeout);
	return mq_send_clock(mqd, msg_ptr, msg_len, msg_prio, CLOCK_REALTIME, TIMER_ABSTIME,
			     abs_timeout);
}

/*
 * As ripc_msgsnd(): the common case (a known queue descriptor, nothing to
 * cancel the caller) inline, everything else a tail call of at most six
 * arguments.
 */
int ripc_mq_timedsend(int mqd, const char *msg_ptr, size_t msg_len,
		      unsigned int msg_prio, const struct timespec *abs_timeout)
{
	struct regs_call r = { mqd, RIPC_MQ_TIMEDSEND, PTR(msg_ptr), msg_len, msg_prio,
			       PTR(abs_timeout) };
	long ret;

	if (!FAST_REGS() || !fd_known(mqd))
		return mq_timedsend_other(mqd, msg_ptr, msg_len, msg_prio, abs_timeout);
	ret = ioctl_regs_call(&r);
	if (RAW_ERR(ret) && PLAIN_ERR(ret))
		return raw_fail(ret);
	if (RAW_ERR(ret))
		return mq_timedsend_failed((int)r.fd, ret, r.a, r.b, r.c, r.d);
	return 0;
}

int ripc_mq_send(int mqd, const char *msg_ptr, size_t msg_len, unsigned int msg_prio)
{
	return ripc_mq_timedsend(mqd, msg_ptr, msg_len, msg_prio, NULL);
}

/* ripc_mq_clockreceive() through the struct command (mq_receive_clock()). */
static __attribute__((noinline)) ssize_t
mq_receive_struct(int mqd, char *msg_ptr, size_t msg_len, unsigned int *msg_prio,
		  clockid_t clockid, int flags, const struct timespec *timeout)
{
	struct ripc_mq_xfer arg = {
		.size = sizeof(arg),
		.msg_ptr = PTR(msg_ptr),
		.msg_len = msg_len,
		.timeout = PTR(timeout),
	};
	struct ripc_timespec left;
	int saved = errno;
	long ret;

	if (clock_arg(&arg.clock, &arg.timeout, &left, clockid, flags) < 0)
		return -1;
	if (fd_ours(mqd)) {
		ret = ioctl(mqd, RIPC_MQ_RECEIVE, &arg);
		if (ret < 0 && module_verdict(mqd, errno))
			return -1;
	} else {
		errno = EBADF;
		ret = -1;
	}
	if (ret < 0)
		return xfer_not_a_queue(mqd, RIPC_MQ_RECEIVE, &arg, PTR(msg_prio), saved);
	if (msg_prio)
		*msg_prio = arg.msg_prio;
	return ret;
}

/* The body of ripc_mq_clockreceive(), inlined into its variants (as mq_send_clock()). */
static inline __attribute__((always_inline)) ssize_t
mq_receive_clock(int mqd, char *msg_ptr, size_t msg_len, unsigned int *msg_prio,
		 clockid_t clockid, int flags, const struct timespec *timeout)
{
	/* Not known yet (a descriptor inherited across an exec, in an image
	 * that opened no file of the device): learnt from the descriptor
	 * (fd_check()), so that the module writes the priority, as native's
	 * put_user (EFAULT), where the struct command's caller writes it. */
	if (clockid == CLOCK_REALTIME && flags == TIMER_ABSTIME &&
	    (USE_REGS() || (REGS_UNKNOWN() && fd_ours(mqd) && USE_REGS())))
		return mq_regs(mqd, RIPC_MQ_TIMEDRECEIVE, PTR(msg_ptr), msg_len, PTR(msg_prio),
			       timeout);
	return mq_receive_struct(mqd, msg_ptr, msg_len, msg_prio, clockid, flags, timeout);
}

/* mq_receive_clock() as a cancellation point (CANCELLABLE). */
static __attribute__((noinline)) ssize_t
mq_receive_cancellable(int mqd, char *msg_ptr, size_t msg_len, unsigned int *msg_prio,
		       clockid_t clockid, int flags, const struct timespec *timeout)
{
	ripc_fd_resolve(mqd);
	return CANCELLABLE(mq_receive_clock(mqd, msg_ptr, msg_len, msg_prio, clockid, flags,
					    timeout));
}

ssize_t ripc_mq_clockreceive(int mqd, char *msg_ptr, size_t msg_len, unsigned int *msg_prio,
			     clockid_t clockid, int flags, const struct timespec *timeout)
{
	if (cancel_possible())
		return mq_receive_cancellable(mqd, msg_ptr, msg_len, msg_prio, clockid, flags,
					      timeout);
	return mq_receive_clock(mqd, msg_ptr, msg_len, msg_prio, clockid, flags, timeout);
}

/* ripc_mq_timedreceive()'s register call on mqd failed with ret. */
static __attribute__((noinline, cold)) long
mq_timedreceive_failed(int mqd, long ret, __u64 ptr, __u64 len, __u64 prio, __u64 ts)
{
	return mq_regs_failed(mqd, ret, RIPC_MQ_TIMEDRECEIVE, ptr, len, prio, ts);
}

/* ripc_mq_timedreceive() but for its register call on a known queue
 * descriptor where nothing can cancel the caller. */
static __attribute__((noinline)) ssize_t
mq_timedreceive_other(int mqd, char *msg_ptr, size_t msg_len, unsigned int *msg_prio,
		      const struct timespec *abs_timeout)
{
	struct regs_call r = { mqd, RIPC_MQ_TIMEDRECEIVE, PTR(msg_ptr), msg_len, PTR(msg_prio),
			       PTR(abs_timeout) };

	if (cancel_possible() && USE_REGS() && fd_known(mqd))
		return regs_cancellable(&r, mq_timedreceive_failed);
	if (cancel_possible() && USE_REGS() && fd_native_now(mqd))
		return CANCELLABLE(not_a_queue_regs(mqd, r.cmd, r.a, r.b, r.c, r.d));
	if (cancel_possible())
		return mq_receive_cancellable(mqd, msg_ptr, msg_len, msg_prio, CLOCK_REALTIME,
					      TIMER_ABSTIME, abs_timeout);
	return mq_receive_clock(mqd, msg_ptr, msg_len, msg_prio, CLOCK_REALTIME, TIMER_ABSTIME,
				abs_timeout);
}

/* As ripc_mq_timedsend(). */
ssize_t ripc_mq_timedreceive(int mqd, char *msg_ptr, size_t msg_len,
			     unsigned int *msg_prio, const struct timespec *abs_timeout)
{
	struct regs_call r = { mqd, RIPC_MQ_TIMEDRECEIVE, PTR(msg_ptr), msg_len, PTR(msg_prio),
			       PTR(abs_timeout) };
	long ret;

	if (!FAST_REGS() || !fd_known(mqd))
		return mq_timedreceive_other(mqd, msg_ptr, msg_len, msg_prio, abs_timeout);
	ret = ioctl_regs_call(&r);
	if (RAW_ERR(ret) && PLAIN_ERR(ret))
		return raw_fail(ret);
	if (RAW_ERR(ret))
		return mq_timedreceive_failed((int)r.fd, ret, r.a, r.b, r.c, r.d);
	return ret;
}

ssize_t ripc_mq_receive(int mqd, char *msg_ptr, size_t msg_len, unsigned int *msg_prio)
{
	return ripc_mq_timedreceive(mqd, msg_ptr, msg_len, msg_prio, NULL);
}

int ripc_mq_setattr(int mqd, const struct mq_attr *newattr, struct mq_attr *oldattr)
{
	struct ripc_mq_getsetattr arg = {
		.size = sizeof(arg),
		.new_attr = PTR(newattr),
		.old_attr = PTR(oldattr),
	};

	return mq_ioctl(mqd, RIPC_MQ_GETSETATTR, &arg, 1) < 0 ? -1 : 0;
}

int ripc_mq_getattr(int mqd, struct mq_attr *attr)
{
	return ripc_mq_setattr(mqd, NULL, attr);
}

int ripc_mq_notify(int mqd, const struct sigevent *sevp)
{
	struct ripc_mq_notify arg = { .size = sizeof(arg), .sevp = PTR(sevp) };

	return mq_ioctl(mqd, RIPC_MQ_NOTIFY, &arg, 1) < 0 ? -1 : 0;
}

int ripc_notify_fd_open(int flags)
{
	struct ripc_notify_fd arg = { .size = sizeof(arg) };

	struct ripc_notify_fd_open o = { .size = sizeof(o), .flags = (__u32)flags };
	int fd, err = errno;

	if (flags & ~(O_NONBLOCK | O_CLOEXEC)) {
		errno = EINVAL;
		return -1;
	}
	/* RIPC_NOTIFY_FD_OPEN on the process-wide descriptor (no path lookup),
	 * else, on an older module, a new open of the device bound. */
	if (!__atomic_load_n(&no_open_fd, __ATOMIC_RELAXED)) {
		fd = (int)dev_ioctl(RIPC_NOTIFY_FD_OPEN, &o);
		if (fd >= 0) {
			fd_learn(fd);
			return fd;
		}
		if (errno != ENOTTY)
			return -1;
		__atomic_store_n(&no_open_fd, 1, __ATOMIC_RELAXED);
		errno = err;	/* a call that succeeds leaves errno alone */
	}
	return open_bound(O_RDWR | flags, RIPC_NOTIFY_FD_BIND, &arg);
}

int ripc_mq_notify_fd(int mqd, int nfd, union sigval value)
{
	struct sigevent sev = { .sigev_notify = RIPC_SIGEV_FD, .sigev_signo = nfd,
				.sigev_value = value };

	return ripc_mq_notify(mqd, &sev);
}

int ripc_notify_fd_state(int nfd, unsigned int *armed, unsigned int *pending)
{
	struct ripc_notify_fd arg = { .size = sizeof(arg) };

	if (!fd_ours(nfd)) {
		/* EBADF for no open descriptor, else not a notification one. */
		if (fcntl(nfd, F_GETFD) >= 0)
			errno = EINVAL;
		return -1;
	}
	if (ioctl(nfd, RIPC_NOTIFY_FD_STATE, &arg) < 0)
		return -1;
	if (armed)
		*armed = arg.armed;
	if (pending)
		*pending = arg.pending;
	return 0;
}

ssize_t ripc_mq_peek(int mqd, char *msg_ptr, size_t msg_len, unsigned int *msg_prio,
		     size_t pos)
{
	struct ripc_mq_peek arg = {
		.size = sizeof(arg),
		.msg_ptr = PTR(msg_ptr),
		.msg_len = msg_len,
		.pos = pos,
	};
	long ret = mq_ioctl(mqd, RIPC_MQ_PEEK, &arg, 0);

	if (ret >= 0 && msg_prio)
		*msg_prio = arg.msg_prio;
	return ret;
}

int ripc_mq_peek_batch(int mqd, struct ripc_mq_item *items, unsigned int count, size_t pos)
{
	struct ripc_mq_peek_batch arg = {
		.size = sizeof(arg),
		.count = count,
		.items = PTR(items),
		.pos = pos,
	};

	return mq_ioctl(mqd, RIPC_MQ_PEEK_BATCH, &arg, 0);
}

/* RIPC_IOC_STATS of which/msqid on fd (a queue descriptor, or the device's). */
static int stats_call(int fd, unsigned int which, int msqid, struct ripc_queue_stats *st,
		      unsigned int flags)
{
	struct ripc_stats arg = { .size = sizeof(arg), .which = which, .msqid = msqid,
				  .flags = flags };
	long r = which == RIPC_STATS_FILE ? mq_ioctl(fd, RIPC_IOC_STATS, &arg, 1)
					  : dev_ioctl(RIPC_IOC_STATS, &arg);

	if (r < 0)
		return -1;
	*st = arg.stats;
	return 0;
}

int ripc_mq_stats(int mqd, struct ripc_queue_stats *st, unsigned int flags)
{
	return stats_call(mqd, RIPC_STATS_FILE, 0, st, flags);
}

/* ---- System V message queues ---------------------------------------- */

int ripc_msgget(key_t key, int msgflg)
{
	struct ripc_msgget arg = { .size = sizeof(arg), .key = key, .msgflg = msgflg };

	return dev_ioctl(RIPC_MSGGET, &arg);
}

/* ripc_msgsnd_clock() through the struct command (msgsnd_clock()). */
static __attribute__((noinline)) int
msgsnd_struct(int msqid, const void *msgp, size_t msgsz, int msgflg,
	      clockid_t clockid, int flags, const struct timespec *timeout)
{
	struct ripc_msgsnd arg = {
		.size = sizeof(arg),
		.msqid = msqid,
		.msgflg = msgflg,
		.msgp = PTR(msgp),
		.msgsz = (__s64)msgsz,
		.timeout = PTR(timeout),
	};
	struct ripc_timespec left;

	if (clock_arg(&arg.clock, &arg.timeout, &left, clockid, flags) < 0)
		return -1;
	return dev_ioctl(RIPC_MSGSND, &arg) < 0 ? -1 : 0;
}

/* The body of ripc_msgsnd_clock(), inlined into its variants (as mq_send_clock()). */
static inline __attribute__((always_inline)) int
msgsnd_clock(int msqid, const void *msgp, size_t msgsz, int msgflg,
	     clockid_t clockid, int flags, const struct timespec *timeout)
{
	if (!timeout && clockid == CLOCK_REALTIME && flags == TIMER_ABSTIME && USE_REGS())
		return dev_regs(RIPC_MSGSND_REGS, RIPC_MSG_REGS_ID(msqid, msgflg), PTR(msgp),
				msgsz, 0) < 0 ? -1 : 0;
	return msgsnd_struct(msqid, msgp, msgsz, msgflg, clockid, flags, timeout);
}

/* msgsnd_clock() as a cancellation point (CANCELLABLE). */
static __attribute__((noinline)) int
msgsnd_cancellable(int msqid, const void *msgp, size_t msgsz, int msgflg,
		   clockid_t clockid, int flags, const struct timespec *timeout)
{
	if (device_fd() < 0)
		return -1;
	return CANCELLABLE(msgsnd_clock(msqid, msgp, msgsz, msgflg, clockid, flags, timeout));
}

int ripc_msgsnd_clock(int msqid, const void *msgp, size_t msgsz, int msgflg,
		      clockid_t clockid, int flags, const struct timespec *timeout)
{
	if (cancel_possible())
		return msgsnd_cancellable(msqid, msgp, msgsz, msgflg, clockid, flags, timeout);
	return msgsnd_clock(msqid, msgp, msgsz, msgflg, clockid, flags, timeout);
}

/* ripc_msgsnd()'s register call on fd failed with ret (dev_regs_fail();
 * zero: its sixth argument, 0). */
static __attribute__((noinline, cold)) long
msgsnd_regs_failed(int fd, long ret, __u64 id, __u64 msgp, __u64 msgsz, __u64 zero)
{
	return dev_regs_fail(ret, fd, RIPC_MSGSND_REGS, id, msgp, msgsz, zero) < 0 ? -1 : 0;
}

/* ripc_msgsnd() but for its register call on an open device descriptor
 * where nothing can cancel the caller. */
static __attribute__((noinline)) int
msgsnd_other(int msqid, const void *msgp, size_t msgsz, int msgflg)
{
	struct regs_call r = { 0, RIPC_MSGSND_REGS, RIPC_MSG_REGS_ID(msqid, msgflg), PTR(msgp),
			       msgsz, 0 };

	if (cancel_possible() && USE_REGS() &&
	    (r.fd = __atomic_load_n(&devfd, __ATOMIC_ACQUIRE)) >= 0)
		return (int)regs_cancellable(&r, msgsnd_regs_failed);
	if (cancel_possible())
		return msgsnd_cancellable(msqid, msgp, msgsz, msgflg, CLOCK_REALTIME,
					  TIMER_ABSTIME, NULL);
	return msgsnd_clock(msqid, msgp, msgsz, msgflg, CLOCK_REALTIME, TIMER_ABSTIME, NULL);
}

/*
 * The common case inline: one register call on the open device descriptor,
 * where nothing can cancel the caller; everything else, the failure
 * included, a tail call of at most six arguments (the register call's own,
 * which the system call leaves in their registers), so that this path
 * saves no register and builds no frame.
 */
int ripc_msgsnd(int msqid, const void *msgp, size_t msgsz, int msgflg)
{
	struct regs_call r = { 0, RIPC_MSGSND_REGS, RIPC_MSG_REGS_ID(msqid, msgflg), PTR(msgp),
			       msgsz, 0 };
	long ret;

	if (!FAST_REGS() || (r.fd = __atomic_load_n(&devfd, __ATOMIC_ACQUIRE)) < 0)
		return msgsnd_other(msqid, msgp, msgsz, msgflg);
	ret = ioctl_regs_call(&r);
	if (RAW_ERR(ret) && PLAIN_ERR(ret))
		return raw_fail(ret);
	if (RAW_ERR(ret))
		return msgsnd_regs_failed((int)r.fd, ret, r.a, r.b, r.c, r.d);
	return 0;
}

/* ripc_msgrcv_clock() through the struct command (msgrcv_clock()). */
static __attribute__((noinline)) ssize_t
msgrcv_struct(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg,
	      clockid_t clockid, int flags, const struct timespec *timeout)
{
	struct ripc_msgrcv arg = {
		.size = sizeof(arg),
		.msqid = msqid,
		.msgflg = msgflg,
		.msgp = PTR(msgp),
		.msgsz = (__s64)msgsz,
		.msgtyp = msgtyp,
		.timeout = PTR(timeout),
	};
	struct ripc_timespec left;

	if (clock_arg(&arg.clock, &arg.timeout, &left, clockid, flags) < 0)
		return -1;
	return dev_ioctl(RIPC_MSGRCV, &arg);
}

/* The body of ripc_msgrcv_clock(), inlined into its variants (as mq_send_clock()). */
static inline __attribute__((always_inline)) ssize_t
msgrcv_clock(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg,
	     clockid_t clockid, int flags, const struct timespec *timeout)
{
	if (!timeout && clockid == CLOCK_REALTIME && flags == TIMER_ABSTIME && USE_REGS())
		return dev_regs(RIPC_MSGRCV_REGS, RIPC_MSG_REGS_ID(msqid, msgflg), PTR(msgp),
				msgsz, (__u64)msgtyp);
	return msgrcv_struct(msqid, msgp, msgsz, msgtyp, msgflg, clockid, flags, timeout);
}

/* msgrcv_clock() as a cancellation point (CANCELLABLE). */
static __attribute__((noinline)) ssize_t
msgrcv_cancellable(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg,
		   clockid_t clockid, int flags, const struct timespec *timeout)
{
	if (device_fd() < 0)
		return -1;
	return CANCELLABLE(msgrcv_clock(msqid, msgp, msgsz, msgtyp, msgflg, clockid, flags,
					timeout));
}

ssize_t ripc_msgrcv_clock(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg,
			  clockid_t clockid, int flags, const struct timespec *timeout)
{
	if (cancel_possible())
		return msgrcv_cancellable(msqid, msgp, msgsz, msgtyp, msgflg, clockid, flags,
					  timeout);
	return msgrcv_clock(msqid, msgp, msgsz, msgtyp, msgflg, clockid, flags, timeout);
}

/* ripc_msgrcv()'s register call on fd failed with ret (dev_regs_fail()). */
static __attribute__((noinline, cold)) long
msgrcv_regs_failed(int fd, long ret, __u64 id, __u64 msgp, __u64 msgsz, __u64 msgtyp)
{
	return dev_regs_fail(ret, fd, RIPC_MSGRCV_REGS, id, msgp, msgsz, msgtyp);
}

/* ripc_msgrcv() but for its register call on an open device descriptor
 * where nothing can cancel the caller. */
static __attribute__((noinline)) ssize_t
msgrcv_other(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg)
{
	struct regs_call r = { 0, RIPC_MSGRCV_REGS, RIPC_MSG_REGS_ID(msqid, msgflg), PTR(msgp),
			       msgsz, (__u64)msgtyp };

	if (cancel_possible() && USE_REGS() &&
	    (r.fd = __atomic_load_n(&devfd, __ATOMIC_ACQUIRE)) >= 0)
		return regs_cancellable(&r, msgrcv_regs_failed);
	if (cancel_possible())
		return msgrcv_cancellable(msqid, msgp, msgsz, msgtyp, msgflg, CLOCK_REALTIME,
					  TIMER_ABSTIME, NULL);
	return msgrcv_clock(msqid, msgp, msgsz, msgtyp, msgflg, CLOCK_REALTIME, TIMER_ABSTIME,
			    NULL);
}

/* As ripc_msgsnd(): the common case inline, all else a tail call. */
ssize_t ripc_msgrcv(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg)
{
	struct regs_call r = { 0, RIPC_MSGRCV_REGS, RIPC_MSG_REGS_ID(msqid, msgflg), PTR(msgp),
			       msgsz, (__u64)msgtyp };
	long ret;

	if (!FAST_REGS() || (r.fd = __atomic_load_n(&devfd, __ATOMIC_ACQUIRE)) < 0)
		return msgrcv_other(msqid, msgp, msgsz, msgtyp, msgflg);
	ret = ioctl_regs_call(&r);
	if (RAW_ERR(ret) && PLAIN_ERR(ret))
		return raw_fail(ret);
	if (RAW_ERR(ret))
		return msgrcv_regs_failed((int)r.fd, ret, r.a, r.b, r.c, r.d);
	return ret;
}

int ripc_msgctl(int msqid, int cmd, struct msqid_ds *buf)
{
	struct ripc_msgctl arg = {
		.size = sizeof(arg),
		.msqid = msqid,
		.cmd = cmd,
		.buf = PTR(buf),
	};

	return dev_ioctl(RIPC_MSGCTL, &arg);
}

int ripc_msg_stats(int msqid, struct ripc_queue_stats *st, unsigned int flags)
{
	return stats_call(-1, RIPC_STATS_SYSV, msqid, st, flags);
}

int ripc_msg_next_id(int *old, const int *new_value)
{
	struct ripc_msg_next_id arg = {
		.size = sizeof(arg),
		.set = new_value != NULL,
		.value = new_value ? *new_value : 0,
	};

	if (dev_ioctl(RIPC_MSG_NEXT_ID, &arg) < 0)
		return -1;
	if (old)
		*old = arg.value;
	return 0;
}

/* ---- Device ----------------------------------------------------------- */

int ripc_version(struct ripc_version *v)
{
	v->size = sizeof(*v);
	return dev_ioctl(RIPC_IOC_VERSION, v) < 0 ? -1 : 0;
}

int ripc_set_limits_fields(const struct ripc_limits *limits, unsigned int set)
{
	struct ripc_set_limits arg = { .size = sizeof(arg), .set = set, .limits = *limits };
	struct ripc_version v;

	/* A module before ABI 3 would take set for 0 (the fields not 0). */
	if (set && !ripc_version(&v) && v.abi_version < 3) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return dev_ioctl(RIPC_IOC_SET_LIMITS, &arg) < 0 ? -1 : 0;
}

int ripc_set_limits(const struct ripc_limits *limits)
{
	return ripc_set_limits_fields(limits, 0);
}

ssize_t ripc_list(unsigned int which, char *buf, size_t len)
{
	struct ripc_list arg = {
		.size = sizeof(arg),
		.which = which,
		.buf = PTR(buf),
		.buf_len = len,
	};

	return dev_ioctl(RIPC_IOC_LIST, &arg);
}

ssize_t ripc_list_page(unsigned int which, uint64_t *cursor, char *buf, size_t len)
{
	struct ripc_list arg = {
		.size = sizeof(arg),
		.which = which | RIPC_LIST_PAGE,
		.buf = PTR(buf),
		.buf_len = len,
		.cursor = *cursor,
	};
	ssize_t n = dev_ioctl(RIPC_IOC_LIST, &arg);

	if (n >= 0)
		*cursor = arg.cursor;
	return n;
}

ssize_t ripc_dump(void *buf, size_t len)
{
	struct ripc_dump arg = { .size = sizeof(arg), .buf = PTR(buf), .buf_len = len };

	if (dev_ioctl(RIPC_IOC_DUMP, &arg) < 0)
		return -1;
	if (arg.total > SSIZE_MAX) {	/* a 32-bit caller's: its length does not fit */
		errno = EOVERFLOW;
		return -1;
	}
	return (ssize_t)arg.total;
}

int ripc_dump_alloc(void **out, size_t *len)
{
	size_t size = 1 << 16;
	void *buf = NULL;

	for (;;) {
		void *bigger = realloc(buf, size);
		ssize_t n;

		if (!bigger) {
			free(buf);
			errno = ENOMEM;
			return -1;
		}
		buf = bigger;
		/* Its pages there first: the module copies without page faults
		 * under its locks, and for a page that is not there faults it
		 * in after them and dumps again (one pass instead of two). */
		memset(buf, 0, size);
		n = ripc_dump(buf, size);
		if (n < 0) {
			int e = errno;

			free(buf);
			errno = e;
			return -1;
		}
		if ((size_t)n <= size) {
			*out = buf;
			*len = (size_t)n;
			return 0;
		}
		/* It grew between the calls: some room for more growth. */
		size = (size_t)n + (size_t)n / 8;
	}
}

int ripc_restore(const void *buf, size_t len)
{
	struct ripc_dump arg = { .size = sizeof(arg), .buf = PTR(buf), .buf_len = len };

	return dev_ioctl(RIPC_IOC_RESTORE, &arg) < 0 ? -1 : 0;
}
