// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libripc_preload.so: runs the message queues of an unmodified, dynamically
 * linked program on /dev/rust_ipc instead of the kernel's:
 *
 *	LD_PRELOAD=/path/to/libripc_preload.so program [args]
 *
 * Symbols.  It defines mq_open (and glibc's fortify __mq_open_2), mq_close,
 * mq_unlink, mq_send, mq_timedsend, mq_receive, mq_timedreceive, mq_notify,
 * mq_getattr, mq_setattr, msgget, msgsnd, msgrcv and msgctl, and wraps
 * pthread_cancel (only noting that it was called, for the cancellation
 * points below).  The definitions are unversioned, so they take both the mq_*@GLIBC_2.34
 * (libc) and the older mq_*@GLIBC_2.3.4 (librt) references.  On x86_64
 * time_t is 64-bit: glibc 2.36 has no __*_time64 variants there (nm -D of a
 * program built here references plain mq_timedsend@GLIBC_2.34 and
 * msgctl@GLIBC_2.2.5), so there are none to define.  libripc does the
 * work: errors are the native ones, in the native order (a bad timeout,
 * priority, mq_flags or sigevent is EINVAL before EBADF on a descriptor
 * that is not a rust_ipc queue; mq_unlink's EPERM is EACCES, as glibc
 * makes it).  mq_send/mq_receive (timed or not), msgsnd and msgrcv stay
 * cancellation points: the ioctl runs with asynchronous cancellation
 * enabled (a cancellation that comes just as it returns acts then, and a
 * message it received is lost, as with glibc's own wrappers until its bug
 * 12683 was fixed, after the 2.36 tested here), except, as in
 * glibc's own wrappers, in a process that never had a second thread and
 * never called pthread_cancel (libripc's cancel_possible(), told of
 * pthread_cancel by the wrapper below): then nothing can cancel the call,
 * and it costs one test.
 * mq_open, mq_close, mq_unlink, mq_notify, msgget and msgctl are not
 * cancellation points, as in glibc, though they may open or close a
 * descriptor (NOCANCEL below).
 *
 * Descriptors.  A queue descriptor is a real descriptor of /dev/rust_ipc,
 * opened O_CLOEXEC (mqd_t is an int), so close, dup, fork, poll, select,
 * epoll, read (the status line) and fcntl(F_SETFL, O_NONBLOCK) work on it as
 * on a native one.  mq_close is close(), as glibc's: it closes any
 * descriptor.  System V calls, mq_unlink and the limits below use one
 * process-wide descriptor of the device, opened on first use and moved to a
 * high number (ripc_dup_high(): from 512, or half the descriptor limit
 * if higher), as are the SIGEV_THREAD
 * helper's epoll set and notification descriptors, so that the program's
 * descriptors are numbered as natively and its stale close of a number it
 * freed is EBADF as natively.  If the program closes the device's (close,
 * close_range, closefrom, dup2/dup3 onto it, all wrapped here for that),
 * the next call opens the device again (not for a vfork() child's closes,
 * which are of its own descriptors while the library's memory is the
 * parent's: a process other than the one that loaded the library or last
 * fork()ed leaves that state alone; a child of _Fork() or a raw clone
 * counts as such too).  Without the module loaded,
 * mq_open, msgget and the others fail with ENOENT.
 *
 * Notification.  SIGEV_SIGNAL and SIGEV_NONE go to the module, which keeps
 * the native rules (EBUSY for any second registration, the owner is the
 * process, one-shot, removed when the owner closes any descriptor of the
 * queue, a forked child is not the owner).  The module sends the signal to
 * the owner's thread complete_signal() would pick (README).  SIGEV_THREAD is built, as
 * glibc builds it on its netlink socket, on the module's notification
 * descriptors (RIPC_SIGEV_FD):
 *  - mq_notify(SIGEV_THREAD) opens a notification descriptor and registers
 *    it on the queue, so EBUSY, ownership, one-shot, the "empty to
 *    non-empty with no receiver waiting" condition and the removal on close
 *    are the module's, and the status line says NOTIFY:2 as native's;
 *  - one helper thread per process (started by the first
 *    mq_notify(SIGEV_THREAD), whatever its outcome, with a small stack and
 *    every signal blocked) sleeps in epoll_wait on the
 *    registrations' descriptors, with no periodic wake-up.  A firing makes
 *    the descriptor readable at once: the helper starts a detached thread
 *    (and waits for it to start, as glibc's does), which closes the
 *    descriptor when the call is over.  The thread has a copy of
 *    sigev_notify_attributes (stack and guard size, scope, scheduling,
 *    affinity), which unblocks every signal and calls
 *    sigev_notify_function(sigev_value) once, as glibc's does;
 *  - a registration removed without firing (a close of a descriptor of
 *    its queue, the queue's removal) makes its descriptor report POLLPRI:
 *    the helper then gives the descriptor back, with no call;
 *  - after mq_notify(NULL), before a new SIGEV_THREAD registration, and
 *    after a close, close_range, closefrom, dup2 or dup3 that reaches the
 *    library's own (high) descriptors, the library asks the module
 *    about each of its descriptors (RIPC_NOTIFY_FD_STATE): one that is no
 *    longer registered and holds no record was removed and is given back
 *    without a call; one with a record fired, and its call is made.  The
 *    module's answer is exact, so no removal is taken for a firing or the
 *    reverse.  Other closes take no lock and make no extra call: close()
 *    stays a cancellation point, as glibc's.
 * Limits of the emulation:
 *  - the helper is one more thread in the process, and each registration
 *    holds a (high) descriptor until it is removed or its call
 *    returns;
 *  - a program that closes the library's descriptors (closefrom(3),
 *    close_range over them) cancels the registrations whose descriptors
 *    it closes (NOTIFY:0, a new mq_notify succeeds), where closing glibc's
 *    netlink socket leaves native registrations in place that never call
 *    (NOTIFY:2, EBUSY until they fire); if it closes the epoll set, a new one and a new helper
 *    take over at the next such call, and the old helper ends when it
 *    next wakes; so does an execve (the descriptors are close-on-exec),
 *    where glibc's netlink socket closes and the registration stays;
 *  - a stack address in the attributes is not copied (each call gets its
 *    own stack), nor a signal mask (the thread unblocks everything anyway);
 *  - glibc's first mq_notify(SIGEV_THREAD) in a process (whatever its
 *    outcome) opens a netlink socket at the lowest free number and keeps
 *    it, ENOSYS if it cannot, and starts its helper thread (if that fails,
 *    it closes the socket, and every SIGEV_THREAD call is ENOSYS from then
 *    on); the library opens the same socket then, keeps it unused, and
 *    starts its own helper the same way, so that the program's later
 *    descriptors are numbered as natively and a helper that cannot start
 *    gives what glibc gives.  A program that closes it (a stale close of that number)
 *    breaks native SIGEV_THREAD (EBADF from then on); here nothing changes;
 *  - a close of one of the library's own numbers (a stale close: the
 *    library keeps a bit for each), and a closefrom() or close_range(),
 *    holds the library's lock across the call, with cancellation disabled
 *    and signals blocked; a close() or dup2() of any other number takes
 *    no lock.
 *
 * Limits files.  fopen/fopen64 and open/open64/openat/openat64 (and the
 * fortify __open*_2) of exactly these paths are served from the module's
 * limits (RIPC_IOC_VERSION / RIPC_IOC_SET_LIMITS) instead of the native
 * sysctls, so programs that tune or read them see and change rust_ipc's:
 *	/proc/sys/fs/mqueue/{msg_default,msgsize_default,msg_max,msgsize_max,queues_max}
 *	/proc/sys/kernel/{msgmax,msgmnb,msgmni}
 * An fopen stream reads the value at offset 0 (as /proc does) and a write at
 * offset 0 sets it (EINVAL outside the native ranges, 0 where native takes
 * it; EPERM unless the caller is the namespace's root); opening still
 * needs the native file's permission; a stream opened for reading is
 * one over open()'s snapshot, with a descriptor (fileno(), C++ streams).
 * open() of these paths gives a read-only snapshot (a memfd), after the
 * native open, whose failure (its flags': O_DIRECTORY, O_EXCL...) stands,
 * as does its O_PATH descriptor; open() for writing fails with EROFS: use
 * fopen, or libripc's ripc_set_limits_fields() (procps sysctl(8) -w and a shell's
 * "echo > file" open() the file and write through stdio, whose writes no
 * preload can see: they get EROFS).  /proc/sys/kernel/msg_next_id is served from
 * RIPC_MSG_NEXT_ID the same way, except that open() for writing works too:
 * a write() to that descriptor sets it, at its offset and parsed as /proc
 * parses it (one such descriptor at a time, until it is closed or replaced:
 * close, close_range, closefrom, dup2, dup3).  The descriptor is known by
 * its number: stdio's writes to it (dprintf, fdopen) go to the memfd and set
 * nothing; a close inside libc (fclose of an fdopen'd stream, freopen,
 * pclose, closedir) lets it go as close() does, but one by a raw system
 * call is not seen, so a file that then takes the number has its write()s
 * taken as msg_next_id's.  Other paths, and other spellings of these
 * (relative, "..", symlinks, /proc/self/...), are untouched.  Where the
 * kernel has no such sysctl (ENOENT while /proc is mounted) the file is
 * served all the same; without /proc the open fails, as natively.
 *
 * /proc/sysvipc/msg (ipcs -q reads it), opened for reading by those calls
 * and that exact path, is a snapshot (a memfd) of the module's System V
 * queues in the caller's namespace, in that file's format (RIPC_IOC_LIST),
 * after the native open, whose failure stands.
 *
 * Not caught (they reach the native queues, or see them):
 *  - syscall(SYS_mq_open, ...) (mq_send, mq_receive and their timed
 *    variants on the descriptor it gives are the native calls: libripc
 *    makes the native system call on a descriptor that is not its own;
 *    mq_getattr, mq_setattr and mq_notify say EBADF), SYS_mq_unlink, SYS_mq_timedsend,
 *    SYS_mq_timedreceive, SYS_mq_notify, SYS_mq_getsetattr, SYS_msgget,
 *    SYS_msgsnd, SYS_msgrcv, SYS_msgctl, and inline "syscall" instructions
 *    (Go, some runtimes and static helpers do that);
 *  - statically linked programs, 32-bit programs, and set-user-ID or
 *    set-group-ID programs (the loader ignores LD_PRELOAD for them);
 *  - the mqueue file system: ls/rm/stat in /dev/mqueue, mounting it;
 *    open()/fopen() of the limits and of /proc/sysvipc/msg by any other
 *    path than the exact ones above;
 *  - children that exec with an environment without LD_PRELOAD.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/vfs.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/magic.h>

#include "ripc.h"

#define EXPORT __attribute__((visibility("default")))

/*
 * The next definitions (libc's) of the functions wrapped here, looked up
 * by preload_init() (dlsym takes the loader's lock: not in a signal handler
 * that calls close() or write() first), else on first use (one that libc
 * lacks aborts then).
 */
#define REAL_NAMES(X) X(__open64_2) X(__open_2) X(__openat64_2) X(__openat_2) X(close) \
	X(close_range) X(closedir) X(closefrom) X(dup2) X(dup3) X(fchmod) X(fchown) X(fchownat) \
	X(fclose) \
	X(fopen) X(fopen64) \
	X(freopen) X(freopen64) X(open) X(open64) X(openat) X(openat64) X(pclose) \
	X(pthread_cancel) X(write)
#define REAL_PTR(name) static void *real_##name;
REAL_NAMES(REAL_PTR)

static void *real_sym(void **p, const char *name)
{
	void *q = __atomic_load_n(p, __ATOMIC_ACQUIRE);

	if (q)
		return q;
	q = dlsym(RTLD_NEXT, name);
	if (!q) {
		static const char msg[] = "libripc_preload: a libc symbol is missing\n";

		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(127);
		abort();
	}
	__atomic_store_n(p, q, __ATOMIC_RELEASE);
	return q;
}

#define REAL(name) ((__typeof__(&name))real_sym(&real_##name, #name))

/*
 * A call that glibc makes without a cancellation point (mq_open, mq_close,
 * mq_unlink, mq_notify, msgget, msgctl) but that opens or closes a
 * descriptor here (the device's, the queue's, a notification descriptor's):
 * deferred cancellation is held off around it, so that a pending
 * cancellation neither acts there nor leaks a descriptor.
 */
#define NOCANCEL(call) ({ \
	int __cs, __e; \
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &__cs); \
	__typeof__(call) __r = (call); \
	__e = errno; \
	pthread_setcancelstate(__cs, NULL); \
	errno = __e; \
	__r; \
})

/* ---- SIGEV_THREAD on notification descriptors (see the top of the file) -- */

struct treg {
	struct treg *next;
	struct treg *next_call;		/* the helper's list of calls to start */
	int calling;			/* fired: its call runs (the thread frees it) */
	int nfd;			/* its notification descriptor (-1: closed by the program) */
	uint64_t tag;			/* its epoll tag */
	void (*fn)(union sigval);
	union sigval value;
	pthread_attr_t attr;		/* detached, with the caller's attributes */
};

static pthread_mutex_t tlock = PTHREAD_MUTEX_INITIALIZER;
static struct treg *regs;		/* registered, not yet called */
static int nregs;			/* length of regs, read without the lock */
static int epfd = -1;			/* the helper's epoll set (-1: none) */
/*
 * The helper of epfd's set, while helper_on; and one whose set a close of
 * the program's took (closing_begin()), cancelled by closing_end() (a
 * closed epoll set does not wake an epoll_wait() on it).  Such
 * a helper never exits on its own: if it wakes first, it waits for its
 * cancellation (helper()), so the one cancelled is alive.  Only if
 * pthread_cancel() can work: glibc's loads libgcc_s for its unwinding and
 * aborts the program where it cannot (may_cancel, learnt by
 * netlink_open() outside the lock); else a stale helper ends when it
 * next wakes, if ever.
 */
static pthread_t helper_tid, stale_tid;
static int helper_on, stale_on, may_cancel;
static uint64_t next_tag = 1;
#define IDLE_MAX 4
static int idle[IDLE_MAX];		/* clean descriptors kept for reuse */
static int nidle;
static unsigned long closes_locked;	/* closes that took the lock, counted under it */
static pthread_once_t netlink_once = PTHREAD_ONCE_INIT;
static int netlink_fd = -1;		/* glibc's socket's stand-in, kept */

/*
 * The library's own descriptors (notification descriptors, the epoll set) by
 * number, so that a program's close() of any other number takes no lock
 * and stays a plain cancellation point: a bit for each number below
 * MINE_FDS, and mine_far once one was at MINE_FDS or above (then a close
 * there takes the lock, which finds the exact answer).
 */
#define MINE_FDS 65536
#define MINE_BITS (8 * sizeof(unsigned long))
static unsigned long mine_fds[MINE_FDS / MINE_BITS];
static int mine_far;

static void mine_mark(int fd, int on)
{
	unsigned long bit;

	if (fd < 0)
		return;
	if (fd >= MINE_FDS) {
		if (on)
			__atomic_store_n(&mine_far, 1, __ATOMIC_RELEASE);
		return;
	}
	bit = 1UL << (fd % MINE_BITS);
	if (on)
		__atomic_fetch_or(&mine_fds[fd / MINE_BITS], bit, __ATOMIC_RELEASE);
	else
		__atomic_fetch_and(&mine_fds[fd / MINE_BITS], ~bit, __ATOMIC_RELEASE);
}

/* Whether any of lo..hi may be one of the library's descriptors. */
static int mine_in(unsigned int lo, unsigned int hi)
{
	if (hi >= MINE_FDS && __atomic_load_n(&mine_far, __ATOMIC_ACQUIRE))
		return 1;
	if (lo >= MINE_FDS)
		return 0;
	if (hi >= MINE_FDS)
		hi = MINE_FDS - 1;
	for (unsigned int w = lo / MINE_BITS; w <= hi / MINE_BITS; w++) {
		unsigned long m = __atomic_load_n(&mine_fds[w], __ATOMIC_ACQUIRE);

		if (w == lo / MINE_BITS)
			m &= ~0UL << (lo % MINE_BITS);
		if (w == hi / MINE_BITS)
			m &= ~0UL >> (MINE_BITS - 1 - hi % MINE_BITS);
		if (m)
			return 1;
	}
	return 0;
}

static void drop(struct treg *r)
{
	pthread_attr_destroy(&r->attr);
	free(r);
}

static void unlink_reg(struct treg **pp)
{
	*pp = (*pp)->next;
	__atomic_sub_fetch(&nregs, 1, __ATOMIC_RELEASE);
}

/* Closes a descriptor of the library's (a notification descriptor), which
 * libripc may know as a file of the device: it forgets the number. */
static void close_mine(int fd)
{
	/* Forgotten before the close too (a new file may take the number at
	 * once) and after it (a queue call that looked meanwhile). */
	ripc_fd_forget(fd, fd);
	REAL(close)(fd);
	mine_mark(fd, 0);
	ripc_fd_forget(fd, fd);
}

/* fd moved out of the program's way (ripc_dup_high()), or fd itself. */
static int move_high(int fd)
{
	int err = errno, high = ripc_dup_high(fd);

	errno = err;		/* its failure only keeps fd where it is */
	if (high >= 0) {
		close_mine(fd);
		fd = high;
	}
	mine_mark(fd, 1);
	return fd;
}

/* A clean notification descriptor (not registered, no record): kept for
 * the next registration, or closed. */
static void retire_locked(int nfd)
{
	if (nidle < IDLE_MAX)
		idle[nidle++] = nfd;
	else
		close_mine(nfd);
}

/*
 * Drops the registration *pp if the module no longer holds it and it has
 * no record to read: it was removed without firing (mq_notify(NULL), a
 * close of the queue's descriptor, even behind the library's back, the
 * queue's removal); returns 1 if so.  One with a record fired: the helper
 * reads it.  A notification descriptor that is no longer one (closed
 * behind the library's back) was cancelled.
 */
static int sweep_one_locked(struct treg **pp)
{
	struct treg *r = *pp;
	unsigned int armed, pending;

	if (!ripc_notify_fd_state(r->nfd, &armed, &pending)) {
		if (armed || pending)
			return 0;
		retire_locked(r->nfd);
	}
	unlink_reg(pp);
	drop(r);
	return 1;
}

/* sweep_one_locked() over every registration whose call is not running. */
static void sweep_locked(void)
{
	struct treg **pp = &regs;

	while (*pp)
		if ((*pp)->calling || !sweep_one_locked(pp))
			pp = &(*pp)->next;
}

/*
 * The lock is taken with cancellation disabled (the calls made under it are
 * cancellation points) and signals blocked (a handler may close() too).
 * The guard is written and read with signals blocked only: a handler's
 * fork() (prepare_fork()'s lock() on the same thread's fork_guard) cannot
 * overwrite the state an outer lock() saved before it is restored.
 */
struct guard {
	int cs;
	sigset_t mask;
};

static void lock(struct guard *g)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &g->mask);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &g->cs);
	pthread_mutex_lock(&tlock);
}

static void unlock(struct guard *g)
{
	pthread_mutex_unlock(&tlock);
	pthread_setcancelstate(g->cs, NULL);
	pthread_sigmask(SIG_SETMASK, &g->mask, NULL);
}

/* A fired registration, as its call thread knows it (a child forked in
 * the call has dropped it: the tag tells). */
struct fired {
	struct treg *r;
	uint64_t tag;
};

/* Its call is over (or could not start): its descriptor's record is read
 * (the descriptor is kept for another registration) and it is forgotten. */
static void call_done(void *arg)
{
	const struct fired *f = arg;
	struct ripc_notify_record rec;
	struct treg **pp;
	struct guard g;
	int nfd;

	lock(&g);
	for (pp = &regs; *pp && (*pp != f->r || (*pp)->tag != f->tag); pp = &(*pp)->next)
		;
	if (*pp) {
		nfd = f->r->nfd;
		if (nfd >= 0 && read(nfd, &rec, sizeof(rec)) == sizeof(rec))
			retire_locked(nfd);
		else if (nfd >= 0)
			close_mine(nfd);
		unlink_reg(pp);
		drop(f->r);
	}
	unlock(&g);
}

struct call {
	struct fired f;
	sem_t started;
};

static void *call_main(void *arg)
{
	struct call *c = arg;
	struct fired f = c->f;
	void (*fn)(union sigval) = f.r->fn;
	union sigval value = f.r->value;
	sigset_t all;

	sem_post(&c->started);	/* c is the helper's: it may go on */
	sigfillset(&all);
	pthread_sigmask(SIG_UNBLOCK, &all, NULL);
	pthread_cleanup_push(call_done, &f);
	fn(value);
	pthread_cleanup_pop(1);
	return NULL;
}

/*
 * Starts the calls of the fired registrations go, each in a new thread,
 * waiting for it to start (as glibc's helper waits at a barrier); each
 * thread closes its registration's descriptor once the call is over.
 */
static void start_calls(struct treg *go)
{
	struct treg *r;
	struct call c;
	pthread_t t;

	while ((r = go)) {
		go = r->next_call;
		c.f = (struct fired){ r, r->tag };
		sem_init(&c.started, 0, 0);
		if (!pthread_create(&t, &r->attr, call_main, &c))
			while (sem_wait(&c.started) && errno == EINTR)
				;
		else
			call_done(&c.f);	/* lost, as glibc loses it */
		sem_destroy(&c.started);
	}
}

/* Adds r's descriptor to the epoll set ep (or re-arms it there). */
static int watch(int ep, const struct treg *r, int fresh)
{
	/* One-shot: a fired descriptor stays readable until its call is over;
	 * POLLPRI: its registration was removed without firing. */
	struct epoll_event ev = { .events = EPOLLIN | EPOLLPRI | EPOLLONESHOT,
				  .data.u64 = r->tag };

	if (!fresh && !epoll_ctl(ep, EPOLL_CTL_MOD, r->nfd, &ev))
		return 0;
	return epoll_ctl(ep, EPOLL_CTL_ADD, r->nfd, &ev);
}

/*
 * The helper: blocked in epoll_wait on the notification descriptors; a
 * readable one fired (it holds its record): its call is started; one that
 * reports POLLPRI lost its registration without firing: it is given back.
 * It serves one epoll set: if the program closed that set (closefrom,
 * close_range), it is cancelled (closing_end()) in its epoll_wait() or,
 * woken first, while it waits for that, and a new helper serves a new set.
 */
static void *helper(void *arg)
{
	int ep = (int)(intptr_t)arg, n, i, cs;
	struct epoll_event ev[16];
	struct treg **pp, *r, *go;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	for (;;) {
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &cs);
		n = epoll_wait(ep, ev, 16, -1);
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
		pthread_mutex_lock(&tlock);
		if (!helper_on || !pthread_equal(helper_tid, pthread_self()) ||
		    (n < 0 && errno != EINTR)) {
			int mine = helper_on && pthread_equal(helper_tid, pthread_self());

			if (mine) {
				helper_on = 0;
				__atomic_store_n(&epfd, -1, __ATOMIC_RELEASE);	/* unusable: the next registration makes a new one */
			}
			pthread_mutex_unlock(&tlock);
			if (!mine && may_cancel) {
				/* Stale: closing_end() cancels it. */
				pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &cs);
				for (;;)
					pause();
			}
			return NULL;
		}
		go = NULL;
		for (i = 0; i < n; i++) {
			for (pp = &regs; (r = *pp) && r->tag != ev[i].data.u64; pp = &r->next)
				;
			if (!r || r->calling)
				continue;
			/* Readable: it holds its record, it fired. */
			if (ev[i].events & EPOLLIN) {
				r->calling = 1;
				r->next_call = go;
				go = r;
			} else if (ev[i].events & EPOLLPRI) {
				/* Removed without firing (a close of the queue's
				 * descriptor, say): given back here, not by every
				 * close() of the process. */
				if (!sweep_one_locked(pp))
					watch(ep, r, 0);
			}
		}
		pthread_mutex_unlock(&tlock);
		start_calls(go);
	}
	return NULL;
}

/* The helper's stack beyond PTHREAD_STACK_MIN: its loop and a pthread_create(). */
#define HELPER_STACK (64 << 10)

/* The epoll set and its helper, made if there is none. */
static int start_helper_locked(void)
{
	sigset_t all, old;
	pthread_attr_t a;
	struct treg *r;
	pthread_t t;
	int ep, err;

	if (epfd >= 0)
		return 0;
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -1;
	ep = move_high(ep);
	for (r = regs; r; r = r->next)
		if (!r->calling)
			watch(ep, r, 1);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	/* A small stack, as glibc's helper has (__pthread_get_minstack()). */
	pthread_attr_setstacksize(&a, PTHREAD_STACK_MIN + HELPER_STACK);
	err = pthread_create(&t, &a, helper, (void *)(intptr_t)ep);
	pthread_attr_destroy(&a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		close_mine(ep);
		errno = err;
		return -1;
	}
	helper_tid = t;
	helper_on = 1;
	__atomic_store_n(&epfd, ep, __ATOMIC_RELEASE);
	return 0;
}

/*
 * glibc's init_mq_netlink(), run once by the first SIGEV_THREAD call: its
 * socket (inherited by a fork), then its helper thread.  If the helper
 * cannot start, the socket is closed again and this and every later
 * SIGEV_THREAD call of the process fail with ENOSYS, as glibc's.  A fork
 * child runs it again at its first such call (glibc's fork resets its
 * once: __mq_notify_fork_subprocess()).
 */
static void netlink_open(void)
{
	struct guard g;
	int err;

	if (netlink_fd < 0)
		netlink_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (netlink_fd < 0)
		return;
	/* What glibc's pthread_cancel() loads (it aborts without it), loaded
	 * here, outside the lock, and kept. */
	if (!may_cancel && dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NODELETE))
		may_cancel = 1;
	lock(&g);
	err = start_helper_locked();
	unlock(&g);
	if (err) {
		REAL(close)(netlink_fd);
		netlink_fd = -1;
	}
}

/* After a call that may have removed registrations of this process. */
static void settle_locked(void)
{
	int e = errno;

	sweep_locked();
	if (regs)
		start_helper_locked();
	errno = e;
}

static void settle(void)
{
	struct guard g;

	if (!__atomic_load_n(&nregs, __ATOMIC_ACQUIRE))
		return;
	lock(&g);
	settle_locked();
	unlock(&g);
}

/* A detached copy of the caller's thread attributes (NULL: defaults). */
static int copy_attr(pthread_attr_t *dst, const pthread_attr_t *src)
{
	struct sched_param sp;
	cpu_set_t cpus;
	size_t sz;
	int v, err = pthread_attr_init(dst);

	if (err)
		return err;
	pthread_attr_setdetachstate(dst, PTHREAD_CREATE_DETACHED);
	if (!src)
		return 0;
	if (!pthread_attr_getstacksize(src, &sz))
		pthread_attr_setstacksize(dst, sz);
	if (!pthread_attr_getguardsize(src, &sz))
		pthread_attr_setguardsize(dst, sz);
	if (!pthread_attr_getscope(src, &v))
		pthread_attr_setscope(dst, v);
	if (!pthread_attr_getschedpolicy(src, &v))
		pthread_attr_setschedpolicy(dst, v);
	if (!pthread_attr_getschedparam(src, &sp))
		pthread_attr_setschedparam(dst, &sp);
	if (!pthread_attr_getinheritsched(src, &v))
		pthread_attr_setinheritsched(dst, v);
	if (!pthread_attr_getaffinity_np(src, sizeof(cpus), &cpus) &&
	    CPU_COUNT(&cpus) < CPU_SETSIZE)
		pthread_attr_setaffinity_np(dst, sizeof(cpus), &cpus);
	return 0;
}

static int notify_thread(mqd_t mqd, const struct sigevent *sev)
{
	int saved = errno;	/* a registration that succeeds leaves errno alone */
	struct treg *r;
	struct guard g;
	int err, nfd, fresh = 0, ret = -1;

	pthread_once(&netlink_once, netlink_open);
	if (netlink_fd < 0) {
		errno = ENOSYS;
		return -1;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -1;
	err = copy_attr(&r->attr, sev->sigev_notify_attributes);
	if (err) {
		free(r);
		errno = err;
		return -1;
	}
	r->fn = sev->sigev_notify_function;
	r->value = sev->sigev_value;
	lock(&g);
	sweep_locked();
	nfd = nidle ? idle[--nidle] : -1;
	while (nfd < 0) {
		unsigned long gen = closes_locked;
		unsigned int armed, pending;

		/* A new one, opened without the lock (ripc_notify_fd_open() may close()). */
		unlock(&g);
		nfd = ripc_notify_fd_open(O_NONBLOCK | O_CLOEXEC);
		if (nfd < 0) {
			drop(r);
			return -1;
		}
		nfd = move_high(nfd);
		fresh = 1;
		lock(&g);
		/* A closefrom() or close_range() that ran meanwhile may have
		 * closed it (and a file may have its number now): made again
		 * unless it is still a notification descriptor. */
		if (closes_locked != gen && ripc_notify_fd_state(nfd, &armed, &pending)) {
			mine_mark(nfd, 0);
			ripc_fd_forget(nfd, nfd);
			nfd = -1;
		}
	}
	r->nfd = nfd;
	if (start_helper_locked() || ripc_mq_notify_fd(mqd, nfd, r->value)) {
		err = errno;
		retire_locked(nfd);	/* not registered */
	} else {
		r->tag = next_tag++;
		if (!watch(epfd, r, fresh)) {
			r->next = regs;
			regs = r;
			__atomic_add_fetch(&nregs, 1, __ATOMIC_RELEASE);
			ret = 0;
		}
		err = errno;
		if (ret)
			close_mine(nfd);	/* cancels the registration */
	}
	unlock(&g);
	if (ret)
		drop(r);
	errno = ret ? err : saved;
	return ret;
}

/* The descriptor open() gave for writing msg_next_id (-1: none). */
static int next_id_fd = -1;

/*
 * Descriptors first..last are closed or replaced: if msg_next_id's is one of
 * them, its number no longer stands for it (a file that reuses the number
 * is written as a file).
 */
static void next_id_gone(unsigned int first, unsigned int last)
{
	int fd = __atomic_load_n(&next_id_fd, __ATOMIC_ACQUIRE);

	if (fd >= 0 && (unsigned int)fd >= first && (unsigned int)fd <= last)
		__atomic_compare_exchange_n(&next_id_fd, &fd, -1, 0, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE);
}

/* The process the library's state is of (a vfork() child shares it). */
static pid_t state_pid;

/* Whether this is a vfork() child: it shares the library's memory, not
 * its descriptors, so what it opens must not become the parent's state. */
static int vfork_child(void)
{
	pid_t s = __atomic_load_n(&state_pid, __ATOMIC_RELAXED);

	/* 0: before the constructor (a library's constructor that runs
	 * first), the process's own. */
	return s && getpid() != s;
}

static int in_range(int fd, unsigned int lo, unsigned int hi)
{
	return fd >= 0 && (unsigned int)fd >= lo && (unsigned int)fd <= hi;
}

/*
 * Descriptors lo..hi are about to be closed or replaced: libripc forgets
 * them as files of the device (and again after the call: closing_end(),
 * for a number another thread looked at meanwhile; before it too, for a
 * call that a cancellation ends), and the library lets go of those of its
 * own among them.  Returns 1 with the lock held, until closing_end(), if
 * the call may close any of the library's own descriptors: a range
 * (closefrom, close_range: none of its descriptors is made in the range
 * while it runs), or a number that is one of them (a stale close).  A
 * close of any other number takes no lock: one that lingers (a socket's
 * SO_LINGER, a dead network file system) keeps no other thread waiting
 * and stays interruptible by a signal and cancellable.
 */
static int closing_begin(unsigned int lo, unsigned int hi, struct guard *g)
{
	struct treg **pp, *r;
	int mine = lo != hi || mine_in(lo, hi);

	ripc_fd_forget(lo, hi);
	/* None of the library's descriptors in range (the common case):
	 * nothing more to do, even with registrations (one that the close
	 * removes reports POLLPRI to the helper, which gives it back). */
	if (!mine && !in_range(ripc_device_fd_peek(), lo, hi) &&
	    !in_range(__atomic_load_n(&next_id_fd, __ATOMIC_ACQUIRE), lo, hi))
		return 0;
	/* A vfork() child shares the library's memory but not its
	 * descriptors: what it closes is its own, and the parent's state is
	 * left alone. */
	if (vfork_child())
		return 0;
	ripc_device_forget(lo, hi);
	next_id_gone(lo, hi);
	if (!mine)
		return 0;
	lock(g);
	closes_locked++;
	for (pp = &regs; (r = *pp);) {
		if (!in_range(r->nfd, lo, hi)) {
			pp = &r->next;
			continue;
		}
		mine_mark(r->nfd, 0);
		if (r->calling) {
			r->nfd = -1;	/* the helper must not close the number */
			pp = &r->next;
		} else {
			unlink_reg(pp);	/* the close cancels it */
			drop(r);
		}
	}
	for (int i = 0; i < nidle;)
		if (in_range(idle[i], lo, hi)) {
			mine_mark(idle[i], 0);
			idle[i] = idle[--nidle];
		} else {
			i++;
		}
	if (in_range(epfd, lo, hi)) {
		mine_mark(epfd, 0);
		__atomic_store_n(&epfd, -1, __ATOMIC_RELEASE);	/* closing_end() makes another */
		stale_tid = helper_tid;
		stale_on = helper_on && may_cancel;
		helper_on = 0;
	}
	return 1;
}

/*
 * fork() holds the lock across the clone, with signals blocked as lock()
 * blocks them: a handler of the forking thread that closes a descriptor of
 * the library's range (closing_begin() takes the lock) would otherwise
 * wait for ever for the lock its own thread holds.  Its own guard per
 * thread, for two threads that fork at once.
 */
static __thread struct guard fork_guard;

static void prepare_fork(void)
{
	lock(&fork_guard);
}

static void parent_fork(void)
{
	unlock(&fork_guard);
}

/* The child owns no registration and has no helper. */
static void child_fork(void)
{
	struct treg *r;

	while ((r = regs)) {
		regs = r->next;
		if (r->nfd >= 0)
			close_mine(r->nfd);
		drop(r);
	}
	nregs = 0;
	state_pid = getpid();
	ripc_fd_remember_foreign();
	while (nidle)
		close_mine(idle[--nidle]);
	if (epfd >= 0) {
		close_mine(epfd);
		epfd = -1;
	}
	helper_on = stale_on = 0;	/* the parent's threads are not the child's */
	/* The socket (netlink_fd) is inherited as glibc's; the child's first
	 * SIGEV_THREAD call runs netlink_open() again (a socket if there is
	 * none, the child's helper), as glibc's fork resets its once. */
	netlink_once = (pthread_once_t)PTHREAD_ONCE_INIT;
	pthread_mutex_init(&tlock, NULL);
	pthread_setcancelstate(fork_guard.cs, NULL);	/* signals still blocked: unlock()'s order */
	pthread_sigmask(SIG_SETMASK, &fork_guard.mask, NULL);
}

__attribute__((constructor)) static void preload_init(void)
{
#define REAL_LOAD(name) __atomic_store_n(&real_##name, dlsym(RTLD_NEXT, #name), __ATOMIC_RELEASE);
	REAL_NAMES(REAL_LOAD)
	state_pid = getpid();
	pthread_atfork(prepare_fork, parent_fork, child_fork);
	ripc_fd_remember_foreign();
}

/* ---- POSIX message queues ------------------------------------------- */

/* glibc's mq_open() and mq_unlink() read the name's first byte before
 * anything else: a NULL name is the program's SIGSEGV, as natively (not
 * libripc's EFAULT). */
static void glibc_reads(const char *name)
{
	(void)*(const volatile char *)name;
}

EXPORT mqd_t mq_open(const char *name, int oflag, ...)
{
	mode_t mode = 0;
	struct mq_attr *attr = NULL;

	glibc_reads(name);
	if (oflag & O_CREAT) {
		va_list ap;

		va_start(ap, oflag);
		mode = va_arg(ap, mode_t);
		attr = va_arg(ap, struct mq_attr *);
		va_end(ap);
	}
	return NOCANCEL(ripc_mq_open(name, oflag, mode, attr));
}

/* glibc's _FORTIFY_SOURCE mq_open with two arguments. */
EXPORT mqd_t __mq_open_2(const char *name, int oflag)
{
	if (oflag & O_CREAT) {
		static const char msg[] =
			"*** invalid mq_open call: O_CREAT without mode and attr ***: terminated\n";

		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(127);
		abort();
	}
	glibc_reads(name);
	return NOCANCEL(ripc_mq_open(name, oflag));
}

EXPORT int mq_close(mqd_t mqd)
{
	return NOCANCEL(close(mqd));
}

/*
 * fchmod(), fchown() and fchownat(fd, "", ..., AT_EMPTY_PATH) of a queue
 * descriptor change the queue's mode and owner, as natively (on the file
 * of the device itself they would change /dev/rust_ipc); any other
 * descriptor, a file of the device that is not a POSIX queue's included,
 * gets the call itself.
 */
EXPORT int fchmod(int fd, mode_t mode)
{
	int err = errno, r = ripc_mq_fchmod(fd, mode);

	if (r == 0 || errno != EBADF)
		return r;
	errno = err;
	return REAL(fchmod)(fd, mode);
}

EXPORT int fchown(int fd, uid_t owner, gid_t group)
{
	int err = errno, r = ripc_mq_fchown(fd, owner, group);

	if (r == 0 || errno != EBADF)
		return r;
	errno = err;
	return REAL(fchown)(fd, owner, group);
}

/*
 * Whether path is "": read only once the kernel has read it (a faccessat2
 * of it that does not fail with EFAULT; relative to dirfd, a file of the
 * device, so that a relative name is ENOTDIR without a lookup), so that a
 * bad pointer gets the real call's EFAULT, as natively, not a fault here.
 */
static int empty_path(int dirfd, const char *path)
{
	const char *volatile p = path;
	int err = errno, readable;

	readable = p && (syscall(SYS_faccessat2, dirfd, p, F_OK, AT_EMPTY_PATH | AT_EACCESS) == 0 ||
			 errno != EFAULT);
	errno = err;
	return readable && !p[0];
}

/* fchownat(fd, "", ..., AT_EMPTY_PATH) is fchown(fd) (systemd's way). */
EXPORT int fchownat(int dirfd, const char *path, uid_t owner, gid_t group, int flags)
{
	if ((flags & AT_EMPTY_PATH) && !(flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) &&
	    ripc_fd_is_device(dirfd) && empty_path(dirfd, path)) {
		int err = errno, r = ripc_mq_fchown(dirfd, owner, group);

		if (r == 0 || errno != EBADF)
			return r;
		errno = err;
	}
	return REAL(fchownat)(dirfd, path, owner, group, flags);
}

EXPORT int mq_unlink(const char *name)
{
	glibc_reads(name);
	return NOCANCEL(ripc_mq_unlink(name));
}

/* Cancellation points, as glibc's: libripc's are (ripc.h). */
EXPORT int mq_timedsend(mqd_t mqd, const char *msg_ptr, size_t msg_len, unsigned int msg_prio,
			const struct timespec *abs_timeout)
{
	return ripc_mq_timedsend(mqd, msg_ptr, msg_len, msg_prio, abs_timeout);
}

EXPORT int mq_send(mqd_t mqd, const char *msg_ptr, size_t msg_len, unsigned int msg_prio)
{
	return ripc_mq_timedsend(mqd, msg_ptr, msg_len, msg_prio, NULL);
}

EXPORT ssize_t mq_timedreceive(mqd_t mqd, char *msg_ptr, size_t msg_len,
			       unsigned int *msg_prio, const struct timespec *abs_timeout)
{
	return ripc_mq_timedreceive(mqd, msg_ptr, msg_len, msg_prio, abs_timeout);
}

EXPORT ssize_t mq_receive(mqd_t mqd, char *msg_ptr, size_t msg_len, unsigned int *msg_prio)
{
	return ripc_mq_timedreceive(mqd, msg_ptr, msg_len, msg_prio, NULL);
}

/* Not cancellation points (glibc's are not), though the library may open
 * its device descriptor in them. */
EXPORT int mq_getattr(mqd_t mqd, struct mq_attr *attr)
{
	return NOCANCEL(ripc_mq_getattr(mqd, attr));
}

EXPORT int mq_setattr(mqd_t mqd, const struct mq_attr *newattr, struct mq_attr *oldattr)
{
	return NOCANCEL(ripc_mq_setattr(mqd, newattr, oldattr));
}

EXPORT int mq_notify(mqd_t mqd, const struct sigevent *sev)
{
	int ret;

	/* Native takes only these (do_mq_notify(): EINVAL before the
	 * descriptor is looked at); the module's own RIPC_SIGEV_FD is
	 * libripc's ripc_mq_notify_fd(), not glibc's mq_notify(). */
	if (sev && sev->sigev_notify != SIGEV_NONE && sev->sigev_notify != SIGEV_SIGNAL &&
	    sev->sigev_notify != SIGEV_THREAD) {
		errno = EINVAL;
		return -1;
	}
	if (sev && sev->sigev_notify == SIGEV_THREAD)
		return NOCANCEL(notify_thread(mqd, sev));
	ret = NOCANCEL(ripc_mq_notify(mqd, sev));
	if (!sev)
		settle();
	return ret;
}

/* ---- System V message queues ---------------------------------------- */

EXPORT int msgget(key_t key, int msgflg)
{
	return NOCANCEL(ripc_msgget(key, msgflg));
}

/* Cancellation points, as glibc's: libripc's are (ripc.h). */
EXPORT int msgsnd(int msqid, const void *msgp, size_t msgsz, int msgflg)
{
	return ripc_msgsnd(msqid, msgp, msgsz, msgflg);
}

EXPORT ssize_t msgrcv(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg)
{
	return ripc_msgrcv(msqid, msgp, msgsz, msgtyp, msgflg);
}

/* ---- Cancellation ----------------------------------------------------- */

/* Only noted (libripc's cancellation points: ripc_cancel_noted()). */
EXPORT int pthread_cancel(pthread_t thread)
{
	ripc_cancel_noted();
	return REAL(pthread_cancel)(thread);
}

EXPORT int msgctl(int msqid, int cmd, struct msqid_ds *buf)
{
	return NOCANCEL(ripc_msgctl(msqid, cmd, buf));
}

/* ---- Closing descriptors -------------------------------------------- */

/* After descriptors lo..hi were closed or replaced: libripc forgets them as
 * files of the device (ripc_fd_forget()), and the device's descriptor if
 * it is among them and no longer the device's (published while the call
 * ran, then closed by it); if closing_begin() took the lock (locked), the
 * registrations are looked at again, a helper started for them if the
 * call closed the epoll set, and the lock dropped. */
static void closing_end(unsigned int lo, unsigned int hi, int locked, struct guard *g)
{
	ripc_fd_forget(lo, hi);
	if (in_range(ripc_device_fd_peek(), lo, hi) &&
	    !vfork_child())
		ripc_device_recheck(lo, hi);
	if (locked) {
		/* Alive (a stale helper that woke first waits for this), and
		 * cancelled before a new set is made: the new set may take the
		 * closed one's number, and the stale helper, back from its
		 * calls, must not wait on it (it would take an event of the new
		 * helper's, and the call would never start). */
		if (stale_on)
			pthread_cancel(stale_tid);
		stale_on = 0;
		settle_locked();
		unlock(g);
	}
}

/* call, which closes or replaces descriptors lo..hi (lo < 0: none). */
#define CLOSING(lo, hi, call) ({ \
	struct guard __g; \
	int __lo = (lo), __l = __lo >= 0 && closing_begin(__lo, (hi), &__g); \
	__typeof__(call) __r = (call); \
	if (__lo >= 0) \
		closing_end(__lo, (hi), __l, &__g); \
	__r; \
})

EXPORT int close(int fd)
{
	return CLOSING(fd, fd, REAL(close)(fd));
}

EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	struct guard g;
	/* Only a call that closes (not CLOEXEC, nor one the kernel refuses
	 * with EINVAL: an unknown flag, first > last) lets numbers go. */
	int closes = !(flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) &&
		     !(flags & CLOSE_RANGE_CLOEXEC) && first <= last;
	int locked = closes && closing_begin(first, last, &g);
	int ret = REAL(close_range)(first, last, flags);

	if (closes)
		closing_end(first, last, locked, &g);
	return ret;
}

EXPORT void closefrom(int lowfd)
{
	struct guard g;
	int locked = closing_begin(lowfd < 0 ? 0 : lowfd, UINT_MAX, &g);

	REAL(closefrom)(lowfd);
	closing_end(lowfd < 0 ? 0 : lowfd, UINT_MAX, locked, &g);
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	struct guard g;
	int valid = oldfd != newfd && newfd >= 0 && !(flags & ~O_CLOEXEC) &&
		    fcntl(oldfd, F_GETFD) >= 0;
	int locked = valid && closing_begin(newfd, newfd, &g);
	int ret = REAL(dup3)(oldfd, newfd, flags);

	if (valid)
		closing_end(newfd, newfd, locked, &g);
	return ret;
}

EXPORT int dup2(int oldfd, int newfd)
{
	struct guard g;
	int valid = oldfd != newfd && newfd >= 0 && fcntl(oldfd, F_GETFD) >= 0;
	int locked = valid && closing_begin(newfd, newfd, &g);
	int ret = REAL(dup2)(oldfd, newfd);

	if (valid)
		closing_end(newfd, newfd, locked, &g);
	return ret;
}

/*
 * stdio and dirent close their descriptor inside libc, where close() is not
 * called: the number is let go of here too, so that libripc takes neither a
 * queue descriptor it knew nor another file it found not to be one
 * (ripc_fd_remember_foreign()) for the file that takes the number next.
 * Such a stream holds none of the library's notification descriptors, so
 * the library's lock is not taken (fclose may flush to a pipe, pclose
 * waits for its child); the device's and msg_next_id's numbers are let go
 * of as closing_begin() does, if the program made a stream of one.  The
 * number is forgotten before the call (which may be cancelled in pclose's
 * wait or freopen's open) and after it (another thread may have looked at
 * it meanwhile).  fcloseall() closes no descriptor (glibc's only flushes).
 */
static int closing_in_libc(int fd)
{
	if (fd < 0)
		return fd;
	if ((in_range(ripc_device_fd_peek(), fd, fd) ||
	     in_range(__atomic_load_n(&next_id_fd, __ATOMIC_ACQUIRE), fd, fd)) &&
	    !vfork_child()) {
		ripc_device_forget(fd, fd);
		next_id_gone(fd, fd);
	}
	ripc_fd_forget(fd, fd);
	return fd;
}

#define CLOSING_IN_LIBC(fd, call) ({ \
	int __fd = closing_in_libc(fd); \
	__typeof__(call) __r = (call); \
	if (__fd >= 0) \
		ripc_fd_forget(__fd, __fd); \
	__r; \
})

static int stream_fd(FILE *f)
{
	int err = errno, fd = f ? fileno(f) : -1;	/* -1 for a stream with none */

	errno = err;
	return fd;
}

EXPORT int fclose(FILE *f)
{
	return CLOSING_IN_LIBC(stream_fd(f), REAL(fclose)(f));
}

EXPORT int pclose(FILE *f)
{
	return CLOSING_IN_LIBC(stream_fd(f), REAL(pclose)(f));
}

EXPORT FILE *freopen(const char *path, const char *mode, FILE *f)
{
	return CLOSING_IN_LIBC(stream_fd(f), REAL(freopen)(path, mode, f));
}

EXPORT FILE *freopen64(const char *path, const char *mode, FILE *f)
{
	return CLOSING_IN_LIBC(stream_fd(f), REAL(freopen64)(path, mode, f));
}

/* (closedir's argument is declared nonnull: glibc's gives EINVAL for NULL.) */
static __attribute__((noipa)) int dir_fd(void *d)
{
	return d ? dirfd(d) : -1;
}

EXPORT int closedir(DIR *d)
{
	return CLOSING_IN_LIBC(dir_fd(d), REAL(closedir)(d));
}

/* ---- The limits files --------------------------------------------------- */

#define NEXT_ID ((size_t)-1)

static const struct sysctl {
	const char *path;
	size_t off;		/* in struct ripc_limits */
} sysctls[] = {
	{ "/proc/sys/fs/mqueue/msg_default", offsetof(struct ripc_limits, mq_msg_default) },
	{ "/proc/sys/fs/mqueue/msgsize_default", offsetof(struct ripc_limits, mq_msgsize_default) },
	{ "/proc/sys/fs/mqueue/msg_max", offsetof(struct ripc_limits, mq_msg_max) },
	{ "/proc/sys/fs/mqueue/msgsize_max", offsetof(struct ripc_limits, mq_msgsize_max) },
	{ "/proc/sys/fs/mqueue/queues_max", offsetof(struct ripc_limits, mq_queues_max) },
	{ "/proc/sys/kernel/msgmax", offsetof(struct ripc_limits, msgmax) },
	{ "/proc/sys/kernel/msgmnb", offsetof(struct ripc_limits, msgmnb) },
	{ "/proc/sys/kernel/msgmni", offsetof(struct ripc_limits, msgmni) },
	/* Not a limit: RIPC_MSG_NEXT_ID (a signed value, -1 when unset). */
	{ "/proc/sys/kernel/msg_next_id", NEXT_ID },
};

static const struct sysctl *find_sysctl(const char *path)
{
	if (!path || strncmp(path, "/proc/sys/", 10))
		return NULL;
	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++)
		if (!strcmp(path, sysctls[i].path))
			return &sysctls[i];
	return NULL;
}

/* The value as /proc shows it (an int, "%d\n"): its length, or -1. */
static int limit_text(const struct sysctl *s, char *buf, size_t len)
{
	struct ripc_version v;
	__u32 val;
	int id;

	if (s->off == NEXT_ID)
		return ripc_msg_next_id(&id, NULL) ? -1 : snprintf(buf, len, "%d\n", id);
	if (ripc_version(&v))
		return -1;
	memcpy(&val, (char *)&v.limits + s->off, sizeof(val));
	return snprintf(buf, len, "%d\n", (int)val);
}

/*
 * A write at offset 0, parsed as proc_dointvec does for one value (spaces,
 * a sign, 0x10 and 010 too, an int, then the end or ' ', '\t', '\n'); the
 * module checks the sysctl's range (EINVAL), 0 included where native takes
 * it.  Returns the bytes taken: the number and the spaces after it, the
 * rest left, as native's write comes back shorter; or -1 with errno.  errno
 * is left alone on success.
 */
static ssize_t limit_write(const struct sysctl *s, const char *buf, size_t size)
{
	struct ripc_limits l = { 0 };
	const char *p = buf, *lim = buf + size;
	char num[22], *end;		/* proc_get_long's TMPBUFLEN */
	unsigned long v;
	int neg = 0, val, saved = errno, bad, r;
	size_t n, room;

	if (!size)
		return 0;	/* nothing written */
	while (p < lim && isspace((unsigned char)*p))
		p++;
	if (p < lim && *p == '-' && lim - p > 1) {
		neg = 1;
		p++;
	}
	/* At most 21 characters with the sign, as proc_get_long reads them. */
	room = sizeof(num) - 1 - neg;
	n = (size_t)(lim - p) < room ? (size_t)(lim - p) : room;
	memcpy(num, p, n);
	num[n] = 0;
	if (!isdigit((unsigned char)num[0]))
		goto inval;	/* spaces alone too, as proc_dointvec */
	errno = 0;
	v = strtoul(num, &end, 0);	/* as proc_get_long */
	bad = errno;
	errno = saved;
	if (bad || (size_t)(end - num) == room || v > (unsigned long)INT_MAX + neg)
		goto inval;
	p += end - num;
	if (p < lim && *p != ' ' && *p != '\t' && *p != '\n')
		goto inval;	/* proc_wspace_sep: a NUL or '\r' is not one */
	while (p < lim && isspace((unsigned char)*p))
		p++;
	val = neg ? (int)-(long)v : (int)v;
	if (s->off == NEXT_ID) {
		int old;

		/* The file was opened for writing: /proc checks again at each
		 * write, and a caller that lost the capability since gets
		 * EPERM (proc_sys_call_handler), where an open gets EACCES. */
		r = ripc_msg_next_id(&old, &val);
		if (r && errno == EACCES)
			errno = EPERM;
	} else {
		memcpy((char *)&l + s->off, &val, sizeof(val));
		/* The bits follow struct ripc_limits' fields. */
		r = ripc_set_limits_fields(&l, 1U << (s->off / sizeof(__u32)));
	}
	return r ? -1 : p - buf;
inval:
	errno = EINVAL;
	return -1;
}

struct sysctl_file {
	const struct sysctl *s;
	off64_t pos;
};

static ssize_t sf_read(void *cookie, char *buf, size_t size)
{
	struct sysctl_file *f = cookie;
	char text[16];
	int n;

	if (f->pos)
		return 0;	/* /proc reads the value only at offset 0 */
	n = limit_text(f->s, text, sizeof(text));
	if (n < 0)
		return -1;
	if ((size_t)n > size)
		n = (int)size;
	memcpy(buf, text, n);
	f->pos += n;
	return n;
}

/*
 * Whether the caller may write the sysctl now, checked first at each write
 * as /proc checks it (proc_sys_call_handler: EPERM, before the bytes are
 * read or parsed, at any offset): the native file's permission, if the
 * kernel has it, else the module's own check when the value is set.  0,
 * or -1 with errno EPERM.
 */
static int sysctl_write_allowed(const struct sysctl *s)
{
	int saved = errno, fd = REAL(open)(s->path, O_WRONLY | O_CLOEXEC);

	if (fd >= 0)
		REAL(close)(fd);
	else if (errno == EACCES || errno == EPERM) {
		errno = EPERM;
		return -1;
	}
	errno = saved;
	return 0;
}

static ssize_t sf_write(void *cookie, const char *buf, size_t size)
{
	struct sysctl_file *f = cookie;

	if (sysctl_write_allowed(f->s))
		return -1;
	/* Past offset 0 a write is ignored (sysctl_writes_strict).  The whole
	 * count is reported: stdio takes a shorter one for an error (natively
	 * its write loop sends the rest, which /proc then ignores). */
	if (!f->pos && limit_write(f->s, buf, size) < 0)
		return -1;
	f->pos += size;
	return size;
}

static int sf_seek(void *cookie, off64_t *off, int whence)
{
	struct sysctl_file *f = cookie;
	off64_t pos = whence == SEEK_CUR ? f->pos + *off : *off;

	if (pos < 0 || (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END)) {
		errno = EINVAL;
		return -1;
	}
	*off = f->pos = pos;
	return 0;
}

static int sf_close(void *cookie)
{
	free(cookie);
	return 0;
}

/*
 * Whether a native open's ENOENT means that the kernel has no such sysctl
 * (no CONFIG_POSIX_MQUEUE or CONFIG_SYSVIPC: the drop-in serves the file),
 * rather than that there is no /proc (a chroot, a mount namespace without
 * it: the open fails, as natively).  errno is kept.
 */
static int no_such_sysctl(void)
{
	int saved = errno, proc;
	struct statfs sf;

	proc = !statfs("/proc", &sf) && sf.f_type == PROC_SUPER_MAGIC;
	errno = saved;
	return saved == ENOENT && proc;
}

static int sysctl_open(const char *path, int flags, int *fd);

static FILE *sysctl_fopen(const struct sysctl *s, const char *path, const char *mode,
			  FILE *(*real)(const char *, const char *))
{
	static const cookie_io_functions_t io = {
		.read = sf_read, .write = sf_write, .seek = sf_seek, .close = sf_close,
	};
	struct sysctl_file *f;
	char text[16];
	FILE *probe, *fp;

	/* Opening needs the native file's permission (when it exists). */
	probe = real(path, mode);
	if (probe)
		fclose(probe);
	else if (!no_such_sysctl())
		return NULL;
	/* For reading, a stream of open()'s snapshot: it has a descriptor, as
	 * native's (fileno(), C++ streams that read() it, the numbering of
	 * the program's next descriptors). */
	if (mode[0] == 'r' && !strchr(mode, '+')) {
		int fd, err;

		sysctl_open(path, O_RDONLY | (strchr(mode, 'e') ? O_CLOEXEC : 0), &fd);
		if (fd < 0)
			return NULL;
		fp = fdopen(fd, mode);
		if (!fp) {
			err = errno;
			REAL(close)(fd);
			errno = err;
		}
		return fp;
	}
	if (limit_text(s, text, sizeof(text)) < 0)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->s = s;
	fp = fopencookie(f, mode, io);
	if (!fp)
		free(f);
	return fp;
}

/*
 * Whether the native open of a limits file's path gave something else
 * than its sysctl (fd, or -1 with errno): a path the kernel cannot read
 * (EFAULT), or a file that is not /proc's (a chroot's or a build root's
 * plain /proc/sys/...), which the program keeps, as natively.
 */
static int not_the_sysctl(int fd)
{
	struct statfs sf;

	if (fd < 0)
		return errno == EFAULT;
	return fstatfs(fd, &sf) || sf.f_type != PROC_SUPER_MAGIC;
}

/*
 * Makes the snapshot memfd fd read-only, as the file it stands for was
 * opened (a write() is EBADF, F_GETFL says O_RDONLY): its own file opened
 * again for reading through /proc/self/fd, put at fd's number (dup3,
 * cloexec kept).  0, or -1 with errno (fd is left as it was).
 */
static int snapshot_read_only(int fd, int cloexec)
{
	char path[32];
	int ro, err;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = REAL(open)(path, O_RDONLY | O_CLOEXEC);
	if (ro < 0)
		return -1;
	err = REAL(dup3)(ro, fd, cloexec ? O_CLOEXEC : 0) < 0 ? errno : 0;
	REAL(close)(ro);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

/* ---- /proc/sysvipc/msg --------------------------------------------------- */

#define SYSVIPC_MSG "/proc/sysvipc/msg"

/* Whether the native open (fd, with flags) of path is /proc/sysvipc/msg,
 * for reading: its text is then the module's queues'. */
static int is_sysvipc_msg(const char *path, int flags, int fd)
{
	return (flags & O_ACCMODE) == O_RDONLY && !strcmp(path, SYSVIPC_MSG) &&
	       !not_the_sysctl(fd);
}

/*
 * In place of a native descriptor of /proc/sysvipc/msg (closed first, so
 * that this one takes its number): a memfd with
 * the module's System V queues as that file shows the native ones (the
 * header, then a line per queue of the caller's IPC namespace, as
 * sysvipc_msg_proc_show: RIPC_IOC_LIST), at offset 0; flags' O_CLOEXEC
 * kept.  A snapshot of the open, where /proc's file is read as it is at
 * each read (ipcs reads it once).  -1 with errno on failure.
 */
static int sysvipc_msg_open(int flags)
{
	uint64_t cursor = 0;
	char buf[8192];
	ssize_t n;
	int fd, err;

	fd = memfd_create("rust_ipc-sysvipc-msg", flags & O_CLOEXEC ? MFD_CLOEXEC : 0);
	if (fd < 0)
		return -1;
	while ((n = ripc_list_page(RIPC_LIST_SYSV, &cursor, buf, sizeof(buf))) > 0) {
		ssize_t w = REAL(write)(fd, buf, n);

		if (w != n) {
			if (w >= 0)
				errno = ENOSPC;	/* a short write: the memfd's room */
			n = -1;
			break;
		}
	}
	if (n || lseek(fd, 0, SEEK_SET) || snapshot_read_only(fd, flags & O_CLOEXEC)) {
		err = errno;
		REAL(close)(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* The native fopen first: path is read only once the kernel has read it
 * (a bad pointer gets the native EFAULT, not a crash). */
static FILE *any_fopen(const char *path, const char *mode,
		       FILE *(*real)(const char *, const char *))
{
	int err = errno;
	FILE *fp = real(path, mode);
	const struct sysctl *s;

	if (fp && mode[0] == 'r' && !strchr(mode, '+') && is_sysvipc_msg(path, O_RDONLY, fileno(fp))) {
		int fd;

		fclose(fp);
		fd = sysvipc_msg_open(strchr(mode, 'e') ? O_CLOEXEC : 0);
		fp = fd < 0 ? NULL : fdopen(fd, mode);
		if (fd >= 0 && !fp) {
			int e = errno;

			REAL(close)(fd);
			errno = e;
		}
		if (fp)
			errno = err;
		return fp;
	}
	if ((!fp && errno == EFAULT) || !(s = find_sysctl(path)) ||
	    (fp && not_the_sysctl(fileno(fp))))
		return fp;
	if (fp)
		fclose(fp);
	fp = sysctl_fopen(s, path, mode, real);
	/* Served: errno as the caller had it (see after_open()). */
	if (fp)
		errno = err;
	return fp;
}

EXPORT FILE *fopen(const char *path, const char *mode)
{
	return any_fopen(path, mode, REAL(fopen));
}

EXPORT FILE *fopen64(const char *path, const char *mode)
{
	return any_fopen(path, mode, REAL(fopen64));
}

/*
 * The bytes of a write() to a sysctl, read as /proc reads them before
 * anything else (proc_sys_call_handler): all of them, ENOMEM from
 * KMALLOC_MAX_SIZE (a page << MAX_PAGE_ORDER's default 10) on, EFAULT
 * where one cannot be read.  The kernel reads them, into a memfd of this
 * call's own (not the descriptor's fd, but at the descriptor limit:
 * another thread's or a fork child's write at the same time would read
 * these bytes, or empty them), so that a
 * bad pointer fails as natively instead of crashing the program
 * (process_vm_readv() would do it without a file, but container seccomp
 * profiles refuse it).  A malloc'd copy to free, or NULL with errno.
 */
static char *proc_write_bytes(int fd, const void *buf, size_t size)
{
	int saved = errno, err, scratch;
	ssize_t n;
	char *k;

	if (size >= (size_t)sysconf(_SC_PAGESIZE) << 10) {
		errno = ENOMEM;
		return NULL;
	}
	k = malloc(size ? size : 1);
	if (!k || !size)
		return k;
	/* At the descriptor limit, the descriptor's own memfd (emptied after). */
	scratch = memfd_create("rust_ipc-write", MFD_CLOEXEC);
	n = pwrite(scratch >= 0 ? scratch : fd, buf, size, 0);
	if (n == (ssize_t)size)
		n = pread(scratch >= 0 ? scratch : fd, k, size, 0);
	err = n < 0 ? errno : EFAULT;	/* short: a byte past the first could not be read */
	if (scratch >= 0)
		close_mine(scratch);
	else
		(void)ftruncate(fd, 0);
	if (n == (ssize_t)size) {
		errno = saved;
		return k;
	}
	free(k);
	errno = err;
	return NULL;
}

/* write() to it: sets msg_next_id (from one write at offset 0, as /proc:
 * the number and its spaces taken, the count that says so returned). */
EXPORT ssize_t write(int fd, const void *buf, size_t size)
{
	static const struct sysctl *s;

	if (fd < 0 || fd != __atomic_load_n(&next_id_fd, __ATOMIC_ACQUIRE))
		return REAL(write)(fd, buf, size);
	if (!s)
		s = find_sysctl("/proc/sys/kernel/msg_next_id");
	if (sysctl_write_allowed(s))
		return -1;
	off_t pos = lseek(fd, 0, SEEK_CUR);
	ssize_t n = (ssize_t)size;
	char *k = proc_write_bytes(fd, buf, size);

	if (!k)
		return -1;
	/* At the descriptor's offset, as /proc: past 0 a write is ignored
	 * (sysctl_writes_strict); the offset moves by what is taken. */
	if (pos <= 0)
		n = limit_write(s, k, size);
	free(k);
	if (n < 0)
		return -1;
	lseek(fd, n, SEEK_CUR);
	return n;
}

/*
 * open() of a limits file: a read-only snapshot (EROFS for writing), but
 * msg_next_id may be opened for writing (a write() sets it).  Returns 0 if
 * path is not one of them.
 */
static int sysctl_open(const char *path, int flags, int *fd)
{
	const struct sysctl *s = find_sysctl(path);
	char text[16];
	int n, probe;

	if (!s)
		return 0;
	*fd = -1;
	if ((flags & O_ACCMODE) != O_RDONLY && s->off != NEXT_ID) {
		errno = EROFS;
		return 1;
	}
	probe = REAL(open)(path, (flags & O_ACCMODE) | O_CLOEXEC);
	if (probe >= 0)
		REAL(close)(probe);
	else if (!no_such_sysctl())
		return 1;
	n = limit_text(s, text, sizeof(text));
	if (n < 0)
		return 1;
	*fd = memfd_create("rust_ipc-limit", flags & O_CLOEXEC ? MFD_CLOEXEC : 0);
	if (*fd < 0)
		return 1;
	if (REAL(write)(*fd, text, n) != n || lseek(*fd, 0, SEEK_SET) ||
	    ((flags & O_ACCMODE) == O_RDONLY && snapshot_read_only(*fd, flags & O_CLOEXEC))) {
		n = errno;
		REAL(close)(*fd);
		*fd = -1;
		errno = n;
	} else if ((flags & O_ACCMODE) != O_RDONLY && !vfork_child()) {
		/* Not a vfork() child's: the parent's file of that number would
		 * be taken for it (the child's writes then set nothing). */
		__atomic_store_n(&next_id_fd, *fd, __ATOMIC_RELEASE);
	}
	return 1;
}

/*
 * After the native open (fd, or -1 with errno): a limits file's snapshot
 * in its place.  path is read only once the kernel has read it (a bad
 * pointer gets the native EFAULT, not a crash).
 */
static int after_open(int fd, const char *path, int flags, int err)
{
	/* The native open's failure stands (a bad pointer's EFAULT, and what
	 * its flags give: O_DIRECTORY's ENOTDIR, O_EXCL's EEXIST, O_NOATIME's
	 * EPERM, a permission's EACCES...) but where the kernel has no such
	 * sysctl (ENOENT with /proc there); so does an O_PATH descriptor,
	 * which reads and writes nothing. */
	if (fd >= 0 && !(flags & O_PATH) && is_sysvipc_msg(path, flags, fd)) {
		REAL(close)(fd);
		fd = sysvipc_msg_open(flags);
	} else if ((fd < 0 && errno != ENOENT) || (fd >= 0 && (flags & O_PATH)) ||
		   !find_sysctl(path) || (fd < 0 && !no_such_sysctl()) || not_the_sysctl(fd)) {
		return fd;
	} else {
		if (fd >= 0)
			REAL(close)(fd);
		sysctl_open(path, flags, &fd);
	}
	/* Served: errno as the caller had it (the native open's ENOENT where
	 * the kernel has no such sysctl). */
	if (fd >= 0)
		errno = err;
	return fd;
}

static mode_t open_mode(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

EXPORT int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	int err = errno;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return after_open(REAL(open)(path, flags, mode), path, flags, err);
}

EXPORT int open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	int err = errno;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return after_open(REAL(open64)(path, flags, mode), path, flags, err);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	int err = errno;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return after_open(REAL(openat)(dirfd, path, flags, mode), path, flags, err);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	int err = errno;

	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	return after_open(REAL(openat64)(dirfd, path, flags, mode), path, flags, err);
}

/* glibc's _FORTIFY_SOURCE entry points (open without a mode). */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

EXPORT int __open_2(const char *path, int flags)
{
	int err = errno;

	return after_open(REAL(__open_2)(path, flags), path, flags, err);
}

EXPORT int __open64_2(const char *path, int flags)
{
	int err = errno;

	return after_open(REAL(__open64_2)(path, flags), path, flags, err);
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	int err = errno;

	return after_open(REAL(__openat_2)(dirfd, path, flags), path, flags, err);
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	int err = errno;

	return after_open(REAL(__openat64_2)(dirfd, path, flags), path, flags, err);
}
