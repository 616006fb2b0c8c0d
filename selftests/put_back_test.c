// SPDX-License-Identifier: GPL-2.0
/*
 * "EFAULT keeps the message" (README, "Intended differences"): a receive
 * whose copy to the user buffer faults loses nothing, and the queue behaves
 * as if the message had never left.  rust_ipc only (native frees the
 * message): every test SKIPs when the device or userfaultfd is missing.
 *
 * The copy-out is stalled deterministically with userfaultfd.  Receiver A,
 * a thread of the test, receives into a buffer in a "trap" page registered
 * with the test's userfaultfd (UFFDIO_REGISTER_MODE_MISSING, never filled;
 * or UFFDIO_REGISTER_MODE_WP on a populated, write-protected page, to stall
 * a batch's item write-back only).  Kernel faults are handled too (the
 * descriptor is made without UFFD_USER_MODE_ONLY), so the module's copy to
 * that page sleeps in handle_userfault() after the message has left the
 * queue, with no lock held; the test knows it when the fault event is read
 * from the userfaultfd.  While A waits, the test starts peers (forked
 * processes: receivers, pollers, senders) and waits until each sleeps in
 * its system call (/proc/PID/stat and /proc/PID/syscall).  Then it makes
 * A's copy fail: the trap page is replaced by a PROT_NONE mapping (mmap
 * MAP_FIXED, which unmaps the registered range and leaves nothing at that
 * address that could be mapped again) and the fault is woken with
 * UFFDIO_WAKE; the retried fault finds no access and the copy returns
 * EFAULT.  Every wait is bounded; peers die by SIGALRM and are killed in
 * the teardown.
 *
 * While A's copy waits, its message is A's alone: a receiver finds the
 * queue without it (and blocks), a poller sees no POLLIN for it, and its
 * room is free, as native's: a sender gets in, a poller sees POLLOUT.
 * After the EFAULT, the tests check that it is back as if it had never
 * left: handed at once to a receiver that blocked meanwhile (and matches
 * it), before any newer message; else in the queue at its old place, by
 * priority and send order, with POLLIN for pollers; mq_curmsgs, msg_qnum
 * and msg_cbytes right, above mq_maxmsg or msg_qbytes if senders filled
 * the queue meanwhile (blocked senders then stay blocked until it has
 * room again).
 */
#include "ripc_test.h"

#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#define PTR(p) ((__u64)(uintptr_t)(p))
#define TIMEOUT 60		/* seconds, per test (harness) */
#define WAIT_MS 3000		/* how long a peer may take to see a put-back */
#define PEER_TIMEOUT 20		/* seconds: a peer's alarm() */
#define POLL_MS 10000		/* a poller's poll() timeout */
#define MSGSIZE 64		/* mq_msgsize of the POSIX queues */
#define NPEERS 4

#define RCV_MS 2000		/* how long a receive of the test itself may wait */

static char why[512];		/* what went wrong, for TH_LOG */

static int __attribute__((format(printf, 1, 2))) note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return -1;
}

static const char *ename(int e)
{
	return strerrorname_np(e) ?: "0";
}

/* ---- userfaultfd: A, the receiver whose copy-out stalls ---------------- */

enum a_call { A_MQ_RECEIVE, A_MQ_BATCH, A_MSGRCV, A_MSG_BATCH };

struct stall {
	int uffd;		/* -1: none */
	int wp;			/* trap registered for write-protect faults */
	char *area;		/* two pages: an ordinary one, then the trap */
	char *trap;
	int armed;		/* the trap is registered */
	int live;		/* A's thread not joined yet */
	pthread_t thr;
	pid_t tid;		/* A's thread id, once it runs */
	int done;		/* A's call returned */
	/* A's call */
	enum a_call call;
	int fd;			/* POSIX queue descriptor or System V id */
	void *buf;
	size_t len;
	long typ;
	void *items;
	unsigned int count;
	/* its outcome */
	long ret;
	int err;
	unsigned int prio;
	int nth_left;		/* A's fail-nth after its call (-1: none) */
	struct uffd_msg fault;
};

/* Maps the two pages: the first ordinary, the second (the trap) left
 * empty, or for wp populated (the caller may write it before stall_arm). */
static int stall_map(struct stall *s, int wp)
{
	s->wp = wp;
	s->area = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->area == MAP_FAILED) {
		s->area = NULL;
		return note("mmap: %s", ename(errno));
	}
	s->trap = s->area + PAGE;
	memset(s->area, 0, wp ? 2 * PAGE : PAGE);
	return 0;
}

/* Registers the trap page.  From here on the test must not touch it
 * (MISSING: not even read it), or write it (WP). */
static int stall_arm(struct stall *s)
{
	struct uffdio_register reg = {
		.range = { .start = PTR(s->trap), .len = PAGE },
		.mode = s->wp ? UFFDIO_REGISTER_MODE_WP : UFFDIO_REGISTER_MODE_MISSING,
	};
	struct uffdio_writeprotect w = { .range = reg.range, .mode = UFFDIO_WRITEPROTECT_MODE_WP };

	if (ioctl(s->uffd, UFFDIO_REGISTER, &reg))
		return note("UFFDIO_REGISTER (%s): %s", s->wp ? "WP" : "MISSING", ename(errno));
	s->armed = 1;
	if (s->wp && ioctl(s->uffd, UFFDIO_WRITEPROTECT, &w))
		return note("UFFDIO_WRITEPROTECT: %s", ename(errno));
	return 0;
}

/* Maps and arms the trap for A's single receive (A_MQ_RECEIVE, or A_MSGRCV
 * of typ) on fd of MSGSIZE bytes into the trap page; stall_start (or
 * stall_launch) then runs it. */
static int stall_receive(struct stall *s, enum a_call call, int fd, long typ)
{
	if (stall_map(s, 0) || stall_arm(s))
		return -1;
	s->call = call;
	s->fd = fd;
	s->buf = s->trap;
	s->len = MSGSIZE;
	s->typ = typ;
	return 0;
}

/* Sets A's receive batch (A_MQ_BATCH or A_MSG_BATCH) of count items on fd;
 * the caller maps and arms the trap around the items. */
static void stall_batch(struct stall *s, enum a_call call, int fd, void *items,
			unsigned int count)
{
	s->call = call;
	s->fd = fd;
	s->items = items;
	s->count = count;
}

static long mq_batch(int fd, unsigned long cmd, void *items, unsigned int n)
{
	struct ripc_mq_batch b = { .size = sizeof(b), .count = n, .items = PTR(items) };

	return ioctl(fd, cmd, &b);
}

static long msg_batch(int id, unsigned long cmd, void *items, unsigned int n)
{
	struct ripc_msg_batch b = {
		.size = sizeof(b), .msqid = id, .count = n, .items = PTR(items),
	};

	return ioctl(ripc_device_fd(), cmd, &b);
}

/*
 * /proc/self/task/TID/fail-nth (Documentation/fault-injection): writes n
 * (n > 0) to make that thread's n-th fault-injectable allocation fail, and
 * returns 0; else (n <= 0) reads it: 0 once the fault was injected.  -1
 * where the file does not exist (a kernel without CONFIG_FAULT_INJECTION).
 */
static int thread_fail_nth(pid_t tid, int n)
{
	char path[64];
	FILE *f;
	int v = -1;

	snprintf(path, sizeof(path), "/proc/self/task/%d/fail-nth", tid ? tid : gettid());
	f = fopen(path, n > 0 ? "w" : "r");
	if (!f)
		return -1;
	if (n > 0)
		v = fprintf(f, "%d", n) > 0 ? 0 : -1;
	else if (fscanf(f, "%d", &v) != 1)
		v = -1;
	if (fclose(f))
		v = -1;
	return v;
}

static void *stall_main(void *arg)
{
	struct stall *s = arg;
	long r = -1;

	__atomic_store_n(&s->tid, gettid(), __ATOMIC_RELEASE);
	switch (s->call) {
	case A_MQ_RECEIVE:
		r = ripc_mq_receive(s->fd, s->buf, s->len, &s->prio);
		break;
	case A_MQ_BATCH:
		r = mq_batch(s->fd, RIPC_MQ_RECEIVE_BATCH, s->items, s->count);
		break;
	case A_MSGRCV:
		r = ripc_msgrcv(s->fd, s->buf, s->len, s->typ, 0);
		break;
	case A_MSG_BATCH:
		r = msg_batch(s->fd, RIPC_MSGRCV_BATCH, s->items, s->count);
		break;
	}
	s->err = errno;
	s->ret = r;
	s->nth_left = thread_fail_nth(0, -1);
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Starts A's thread; returns once it runs (its tid is known). */
static int stall_launch(struct stall *s)
{
	int e;

	s->done = 0;
	s->tid = 0;
	s->ret = -2;
	e = pthread_create(&s->thr, NULL, stall_main, s);
	if (e)
		return note("pthread_create: %s", ename(e));
	s->live = 1;
	for (int i = 0; i < 5000 && !__atomic_load_n(&s->tid, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	return s->tid ? 0 : note("A's thread did not start");
}

/* Waits (at most 5 s) for A's fault on the trap page, and reads it. */
static int stall_wait_fault(struct stall *s)
{
	for (int i = 0; i < 500; i++) {
		struct pollfd p = { .fd = s->uffd, .events = POLLIN };
		int n = poll(&p, 1, 10);
		__u64 addr, flags;
		ssize_t r;

		if (n < 0)
			return note("poll(uffd): %s", ename(errno));
		if (n == 1) {
			r = read(s->uffd, &s->fault, sizeof(s->fault));
			/* A fault poll saw may be gone by the read (its thread
			 * retried it): look again. */
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r != sizeof(s->fault))
				return note("read(uffd): %zd, %s", r, ename(errno));
			if (s->fault.event != UFFD_EVENT_PAGEFAULT)
				return note("userfaultfd event %u, not a page fault", s->fault.event);
			addr = s->fault.arg.pagefault.address;
			flags = s->fault.arg.pagefault.flags;
			if (addr < PTR(s->trap) || addr >= PTR(s->trap) + PAGE)
				return note("fault at %#llx, not in the trap page %p",
					    (unsigned long long)addr, s->trap);
			if (!(flags & UFFD_PAGEFAULT_FLAG_WRITE) ||
			    !(flags & UFFD_PAGEFAULT_FLAG_WP) != !s->wp)
				return note("fault flags %#llx (wp trap: %d)",
					    (unsigned long long)flags, s->wp);
			return 0;
		}
		if (__atomic_load_n(&s->done, __ATOMIC_ACQUIRE))
			return note("A's call returned %ld (%s) without faulting on the trap page",
				    s->ret, s->ret < 0 ? ename(s->err) : "no error");
	}
	return note("A did not fault on the trap page within 5 s (done %d)", s->done);
}

static int stall_start(struct stall *s)
{
	return stall_launch(s) ?: stall_wait_fault(s);
}

static int stall_join(struct stall *s, long ms)
{
	struct timespec dl = deadline_ms(ms);
	int e = pthread_timedjoin_np(s->thr, NULL, &dl);

	if (e)
		return note("A is still in its call %ld ms after its fault was failed (%s)",
			    ms, ename(e));
	s->live = 0;
	return 0;
}

/* Makes the stalled copy fail: nothing accessible at the trap any more,
 * then the fault is woken; waits (5 s at most) for A's call to return. */
static int stall_fail(struct stall *s)
{
	struct uffdio_range r = { .start = PTR(s->trap), .len = PAGE };

	if (mmap(s->trap, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != s->trap)
		return note("mmap(PROT_NONE, MAP_FIXED) over the trap: %s", ename(errno));
	s->armed = 0;
	if (ioctl(s->uffd, UFFDIO_WAKE, &r))
		return note("UFFDIO_WAKE: %s", ename(errno));
	return stall_join(s, 5000);
}

/* Lets the stalled copy succeed: the trap page is filled with zeroes and
 * the fault woken; waits (5 s at most) for A's call to return. */
static int stall_succeed(struct stall *s)
{
	struct uffdio_zeropage z = { .range = { .start = PTR(s->trap), .len = PAGE } };

	if (ioctl(s->uffd, UFFDIO_ZEROPAGE, &z))
		return note("UFFDIO_ZEROPAGE: %s", ename(errno));
	return stall_join(s, 5000);
}

/* Teardown, first: A's copy is made to fail if it still waits (then the
 * queues go, and stall_cleanup joins A). */
static void stall_release(struct stall *s)
{
	struct uffdio_range r = { .start = PTR(s->trap), .len = PAGE };

	if (s->live) {
		if (s->armed)
			mmap(s->trap, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		s->armed = 0;
		ioctl(s->uffd, UFFDIO_WAKE, &r);
	}
}

/* Teardown, last: joins A (1 s at most), unmaps, closes the userfaultfd. */
static void stall_cleanup(struct stall *s)
{
	if (s->live && stall_join(s, 1000))
		return;		/* blocked elsewhere: the process exit ends it */
	if (s->area)
		munmap(s->area, 2 * PAGE);
	s->area = NULL;
	if (s->uffd >= 0)
		close(s->uffd);
	s->uffd = -1;
}

/* ---- peers: forked receivers, senders and pollers ---------------------- */

enum peer_call { P_MQ_RECEIVE, P_MQ_SEND, P_MSGRCV, P_MSGSND, P_POLL };

struct peer {			/* in memory shared with the peer */
	long ret;
	int err;
	unsigned int prio;
	int revents;
	long ms;		/* how long its poll() took */
	char buf[PAGE];		/* POSIX */
	struct {		/* System V */
		long mtype;
		char mtext[PAGE];
	} m;
};

FIXTURE(put_back) {
	char name[64];		/* the POSIX queue */
	key_t key;		/* the System V queue */
	int id;			/* its id, or -1 */
	pid_t pid[NPEERS];	/* peers not reaped yet (0: none) */
	struct peer *peer;	/* [NPEERS], shared */
	struct stall st;	/* A */
};

FIXTURE_SETUP(put_back)
{
	int id;

	self->id = -1;
	self->st.uffd = -1;
	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	SYS(ripc_device_fd());
	snprintf(self->name, sizeof(self->name), "/ripc_put_back_test_%d", getpid());
	self->key = 0x60000000 | (getpid() & 0xfffffff);
	ripc_mq_unlink(self->name);
	if ((id = ripc_msgget(self->key, 0)) >= 0)
		ripc_msgctl(id, IPC_RMID, NULL);
	self->peer = mmap(NULL, NPEERS * sizeof(struct peer), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->peer);
	self->st.uffd = uffd_open();
	if (self->st.uffd < 0)
		SKIP(return, "userfaultfd: %s", ename(errno));
}

FIXTURE_TEARDOWN(put_back)
{
	stall_release(&self->st);
	for (int i = 0; i < NPEERS; i++) {
		if (self->pid[i] > 0) {
			kill(self->pid[i], SIGKILL);
			waitpid(self->pid[i], NULL, 0);
			self->pid[i] = 0;
		}
	}
	if (self->id >= 0)
		ripc_msgctl(self->id, IPC_RMID, NULL);
	ripc_mq_unlink(self->name);
	stall_cleanup(&self->st);
}

/* Starts peer i: call on fd (a POSIX queue, a System V id or a file to
 * poll) with arg (buffer size, priority, msgtyp or mtype; a poller's
 * events, 0 for POLLIN) and text. */
static pid_t peer_start(FIXTURE_DATA(put_back) *self, int i, enum peer_call call, int fd,
			long arg, const char *text)
{
	struct peer *p = &self->peer[i];
	pid_t pid;

	memset(p, 0, sizeof(*p));
	p->ret = -2;
	pid = fork_child();
	if (pid == 0) {
		struct { long mtype; char mtext[MSGSIZE]; } m = { .mtype = arg };
		struct pollfd pf = { .fd = fd, .events = arg ? arg : POLLIN };
		struct timespec t0, t1;

		alarm(PEER_TIMEOUT);
		switch (call) {
		case P_MQ_RECEIVE:
			p->ret = ripc_mq_receive(fd, p->buf, arg, &p->prio);
			break;
		case P_MQ_SEND:
			p->ret = ripc_mq_send(fd, text, strlen(text), arg);
			break;
		case P_MSGRCV:
			p->ret = ripc_msgrcv(fd, &p->m, sizeof(p->m.mtext), arg, 0);
			break;
		case P_MSGSND:
			memcpy(m.mtext, text, strlen(text));
			p->ret = ripc_msgsnd(fd, &m, strlen(text), 0);
			break;
		case P_POLL:
			clock_gettime(CLOCK_MONOTONIC, &t0);
			p->ret = poll(&pf, 1, POLL_MS);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			p->revents = pf.revents;
			p->ms = (ts_ns(t1) - ts_ns(t0)) / 1000000;
			break;
		}
		p->err = errno;
		_exit(0);
	}
	if (pid > 0)
		self->pid[i] = pid;
	return pid;
}

/* The number of the system call task tid sleeps in, -1 if it runs, -2 if
 * /proc/TID/syscall cannot tell. */
static long proc_syscall(pid_t tid)
{
	char path[64], buf[256];
	long nr;

	snprintf(path, sizeof(path), "/proc/%d/syscall", tid);
	if (read_text(path, buf, sizeof(buf)) <= 0)
		return -2;
	if (sscanf(buf, "%ld", &nr) != 1)
		return -1;
	return nr;
}

/* 0 once task tid sleeps in system call nr or nr2 (at most 3 s). */
static int wait_sleeping(pid_t tid, long nr, long nr2, const char *who)
{
	char st = 0;
	long sc = -3;

	for (int i = 0; i < 3000; i++) {
		st = proc_state(tid);
		if (st == 'S') {
			sc = proc_syscall(tid);
			if (sc == nr || sc == nr2 || sc == -2)
				return 0;
		} else if (st == 0 || st == 'Z' || st == 'X') {
			return note("%s ended before it blocked", who);
		}
		usleep(1000);
	}
	return note("%s did not block in system call %ld within 3 s (state %c, system call %ld)",
		    who, nr, st ?: '?', sc);
}

/* 0 once peer i, started with call, sleeps in it: poll or ppoll for a
 * poller, else the device's ioctl. */
static int peer_wait_sleeping(FIXTURE_DATA(put_back) *self, int i, enum peer_call call,
			      const char *who)
{
	if (call == P_POLL)
		return wait_sleeping(self->pid[i], SYS_poll, SYS_ppoll, who);
	return wait_sleeping(self->pid[i], SYS_ioctl, SYS_ioctl, who);
}

/* Peer i's exit code once it has exited (waiting up to ms), -1 if it still runs. */
static int peer_wait(FIXTURE_DATA(put_back) *self, int i, int ms)
{
	int status;

	if (self->pid[i] <= 0)
		return -2;
	for (int t = 0;; t++) {
		pid_t r = waitpid(self->pid[i], &status, WNOHANG);

		if (r == self->pid[i]) {
			self->pid[i] = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		if (r < 0)
			return -2;
		if (t >= ms)
			return -1;
		usleep(1000);
	}
}

/* Whether peer i has exited (it is not reaped here). */
static int peer_exited(FIXTURE_DATA(put_back) *self, int i)
{
	siginfo_t si = { 0 };

	return self->pid[i] <= 0 ||
	       waitid(P_PID, self->pid[i], &si, WEXITED | WNOHANG | WNOWAIT) || si.si_pid;
}

/* Whether peer i still sleeps in its call. */
static int peer_blocked(FIXTURE_DATA(put_back) *self, int i)
{
	return !peer_exited(self, i) && proc_state(self->pid[i]) == 'S';
}

/* Waits (WAIT_MS at most) for peer i's call to end: 0, else -1 and why. */
static int peer_end(FIXTURE_DATA(put_back) *self, int i, const char *who)
{
	int rc = peer_wait(self, i, WAIT_MS);

	if (rc == -1)
		return note("%s is still blocked %d ms after A's EFAULT", who, WAIT_MS);
	if (rc)
		return note("%s exited with %d", who, rc);
	return 0;
}

/* Peer i (a POSIX receiver) got exactly text at prio, at once. */
static int peer_got_mq(FIXTURE_DATA(put_back) *self, int i, const char *who, const char *text,
		       unsigned int prio)
{
	struct peer *p = &self->peer[i];
	size_t n = strlen(text);

	if (peer_end(self, i, who))
		return -1;
	if (p->ret < 0)
		return note("%s's receive failed: %s", who, ename(p->err));
	if ((size_t)p->ret != n || memcmp(p->buf, text, n) || p->prio != prio)
		return note("%s got \"%.*s\" prio %u, expected \"%s\" prio %u", who,
			    (int)(p->ret < MSGSIZE ? p->ret : MSGSIZE), p->buf, p->prio, text, prio);
	return 0;
}

/* Peer i (a System V receiver) got exactly text with mtype, at once. */
static int peer_got_msg(FIXTURE_DATA(put_back) *self, int i, const char *who, long mtype,
			const char *text)
{
	struct peer *p = &self->peer[i];
	size_t n = strlen(text);

	if (peer_end(self, i, who))
		return -1;
	if (p->ret < 0)
		return note("%s's msgrcv failed: %s", who, ename(p->err));
	if ((size_t)p->ret != n || memcmp(p->m.mtext, text, n) || p->m.mtype != mtype)
		return note("%s got \"%.*s\" mtype %ld, expected \"%s\" mtype %ld", who,
			    (int)(p->ret < MSGSIZE ? p->ret : MSGSIZE), p->m.mtext, p->m.mtype,
			    text, mtype);
	return 0;
}

/* Peer i (a poller) saw POLLIN, at once. */
static int peer_polled(FIXTURE_DATA(put_back) *self, int i)
{
	struct peer *p = &self->peer[i];

	if (peer_end(self, i, "the poller"))
		return -1;
	if (p->ret != 1 || p->revents != POLLIN)
		return note("the poller's poll returned %ld (%s) with revents %#x after %ld ms, "
			    "expected POLLIN", p->ret, p->ret < 0 ? ename(p->err) : "no error",
			    p->revents, p->ms);
	return 0;
}

/* ---- queues ------------------------------------------------------------ */

static mqd_t mq_new(FIXTURE_DATA(put_back) *self, long maxmsg)
{
	struct mq_attr a = { .mq_maxmsg = maxmsg, .mq_msgsize = MSGSIZE };

	return ripc_mq_open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
}

static long curmsgs(mqd_t q)
{
	struct mq_attr a;

	return ripc_mq_getattr(q, &a) ? -1 : a.mq_curmsgs;
}

static int mq_snd(mqd_t q, const char *text, unsigned int prio)
{
	return ripc_mq_send(q, text, strlen(text), prio);
}

/* Receives one message (waiting RCV_MS at most): 0 if it is text at prio. */
static int mq_expect(mqd_t q, const char *text, unsigned int prio)
{
	char b[PAGE];
	unsigned int p = ~0u;
	struct timespec dl = deadline_ms(RCV_MS);
	ssize_t r = ripc_mq_timedreceive(q, b, sizeof(b), &p, &dl);

	if (r < 0)
		return note("receive: %s, expected \"%s\" prio %u", ename(errno), text, prio);
	if ((size_t)r != strlen(text) || memcmp(b, text, r) || p != prio)
		return note("received \"%.*s\" prio %u, expected \"%s\" prio %u",
			    (int)(r < MSGSIZE ? r : MSGSIZE), b, p, text, prio);
	return 0;
}

/* A blocks on the empty queue q; a send hands "handed" (priority 2)
 * straight to A (pipelined), whose copy stalls on the trap. */
static int stall_handed(struct stall *a, mqd_t q)
{
	if (stall_receive(a, A_MQ_RECEIVE, q, 0) || stall_launch(a) ||
	    wait_sleeping(a->tid, SYS_ioctl, SYS_ioctl, "A"))
		return -1;
	if (mq_snd(q, "handed", 2))
		return note("send \"handed\": %s", ename(errno));
	return stall_wait_fault(a);
}

static int msg_new(FIXTURE_DATA(put_back) *self)
{
	self->id = ripc_msgget(self->key, IPC_CREAT | IPC_EXCL | 0600);
	return self->id;
}

static int snd(int id, long type, const char *text)
{
	struct { long mtype; char mtext[MSGSIZE]; } m = { .mtype = type };

	memcpy(m.mtext, text, strlen(text));
	return ripc_msgsnd(id, &m, strlen(text), IPC_NOWAIT);
}

/* msgrcv(typ) waiting RCV_MS at most: the length, the text in text[]. */
static long msg_take(int id, long typ, long *mtype, char *text, size_t size)
{
	struct { long mtype; char mtext[PAGE]; } m = { 0 };
	struct ripc_timespec dl;
	struct timespec d = deadline_ms(RCV_MS);
	struct ripc_msgrcv a = {
		.size = sizeof(a), .msqid = id, .msgp = PTR(&m),
		.msgsz = sizeof(m.mtext), .msgtyp = typ, .timeout = PTR(&dl),
	};
	long r;

	dl.tv_sec = d.tv_sec;
	dl.tv_nsec = d.tv_nsec;
	r = ioctl(ripc_device_fd(), RIPC_MSGRCV, &a);
	if (r >= 0) {
		*mtype = m.mtype;
		snprintf(text, size, "%.*s", (int)r, m.mtext);
	}
	return r;
}

/* Receives one message of typ (RCV_MS at most): 0 if it is text with mtype. */
static int msg_expect(int id, long typ, long mtype, const char *text)
{
	char got[MSGSIZE + 1];
	long t = 0, r = msg_take(id, typ, &t, got, sizeof(got));

	if (r < 0)
		return note("msgrcv(type %ld): %s, expected \"%s\" mtype %ld", typ,
			    ename(errno), text, mtype);
	if (strcmp(got, text) || t != mtype)
		return note("msgrcv(type %ld) got \"%s\" mtype %ld, expected \"%s\" mtype %ld",
			    typ, got, t, text, mtype);
	return 0;
}

static struct msqid_ds stat_q(int id)
{
	struct msqid_ds d;

	memset(&d, 0, sizeof(d));
	if (ripc_msgctl(id, IPC_STAT, &d))
		d.msg_qnum = (msgqnum_t)-1;
	return d;
}

#define EXPECT_QUEUE(id, qnum, cbytes) do { \
	struct msqid_ds __s = stat_q(id); \
	EXPECT_EQ((msgqnum_t)(qnum), __s.msg_qnum); \
	EXPECT_EQ((unsigned long)(cbytes), __s.__msg_cbytes); \
} while (0)

#define CHECK(call) ASSERT_EQ(0, (call)) TH_LOG("%s", why)
#define EXPECT_OK(call) EXPECT_EQ(0, (call)) TH_LOG("%s", why)

/* Starts peer i (peer_start) and waits until it sleeps in its call. */
#define PEER_BLOCKS(i, call, fd, arg, text, who) do { \
	ASSERT_LT(0, peer_start(self, i, call, fd, arg, text)); \
	CHECK(peer_wait_sleeping(self, i, call, who)); \
} while (0)

/* A's call has returned -1 with EFAULT. */
#define ASSERT_A_EFAULT() do { \
	ASSERT_EQ(-1, self->st.ret) TH_LOG("A's call returned %ld, expected EFAULT", self->st.ret); \
	ASSERT_EQ(EFAULT, self->st.err) TH_LOG("A's call: %s, expected EFAULT", ename(self->st.err)); \
} while (0)

/* ---- POSIX -------------------------------------------------------------- */

/* A single receive faults while B is blocked: B gets the message at once
 * (a newer one sent right after A's EFAULT does not overtake it). */
TEST_F_TIMEOUT(put_back, posix_receive_goes_to_the_blocked_receiver, TIMEOUT)
{
	struct stall *a = &self->st;
	mqd_t q = SYS(mq_new(self, 4));

	SYS(mq_snd(q, "first", 3));
	CHECK(stall_receive(a, A_MQ_RECEIVE, q, 0));
	CHECK(stall_start(a));
	PEER_BLOCKS(0, P_MQ_RECEIVE, q, MSGSIZE, NULL, "B");
	CHECK(stall_fail(a));
	ASSERT_A_EFAULT();
	SYS(mq_snd(q, "newer", 3));
	EXPECT_OK(peer_got_mq(self, 0, "B", "first", 3));
	EXPECT_EQ(1, curmsgs(q));
	CHECK(mq_expect(q, "newer", 3));
	EXPECT_EQ(0, curmsgs(q));
}

/* A single receive faults while a poller waits on the empty queue: the
 * message is back, the poller sees POLLIN, and it is received first. */
TEST_F_TIMEOUT(put_back, posix_receive_wakes_a_poller, TIMEOUT)
{
	struct stall *a = &self->st;
	mqd_t q = SYS(mq_new(self, 4));

	SYS(mq_snd(q, "polled", 4));
	CHECK(stall_receive(a, A_MQ_RECEIVE, q, 0));
	CHECK(stall_start(a));
	PEER_BLOCKS(0, P_POLL, q, 0, NULL, "the poller");
	CHECK(stall_fail(a));
	ASSERT_A_EFAULT();
	EXPECT_OK(peer_polled(self, 0));
	EXPECT_EQ(1, curmsgs(q));
	SYS(mq_snd(q, "newer", 4));
	CHECK(mq_expect(q, "polled", 4));
	CHECK(mq_expect(q, "newer", 4));
	EXPECT_EQ(0, curmsgs(q));
}

/* No receiver waits: the message goes back to its place, first of its
 * priority, before the older messages behind it and the ones sent while
 * A's copy stalled; a higher priority sent meanwhile comes first. */
TEST_F_TIMEOUT(put_back, posix_receive_without_a_receiver_keeps_its_place, TIMEOUT)
{
	struct stall *a = &self->st;
	mqd_t q = SYS(mq_new(self, 8));

	SYS(mq_snd(q, "m0", 5));
	SYS(mq_snd(q, "m1", 5));
	SYS(mq_snd(q, "low", 1));
	CHECK(stall_receive(a, A_MQ_RECEIVE, q, 0));
	CHECK(stall_start(a));
	SYS(mq_snd(q, "n", 5));
	SYS(mq_snd(q, "high", 7));
	CHECK(stall_fail(a));
	ASSERT_A_EFAULT();
	EXPECT_EQ(5, curmsgs(q));
	CHECK(mq_expect(q, "high", 7));
	CHECK(mq_expect(q, "m0", 5));
	CHECK(mq_expect(q, "m1", 5));
	CHECK(mq_expect(q, "n", 5));
	CHECK(mq_expect(q, "low", 1));
	EXPECT_EQ(0, curmsgs(q));
}

/* The message that goes back was the last of the highest priority: the
 * next priority moved up meanwhile and received one of its messages, and
 * a lower one was sent; the message goes back first, above both. */
TEST_F_TIMEOUT(put_back, posix_last_of_its_priority_goes_back_above_the_next, TIMEOUT)
{
	struct stall *a = &self->st;
	mqd_t q = SYS(mq_new(self, 8));
	char b[MSGSIZE];
	unsigned int p;

	SYS(mq_snd(q, "top", 9));
	SYS(mq_snd(q, "mid0", 4));
	SYS(mq_snd(q, "mid1", 4));
	CHECK(stall_receive(a, A_MQ_RECEIVE, q, 0));
	CHECK(stall_start(a));
	EXPECT_EQ(4, ripc_mq_receive(q, b, sizeof(b), &p));
	EXPECT_EQ(0, memcmp(b, "mid0", 4));
	EXPECT_EQ(4u, p);
	SYS(mq_snd(q, "low", 2));
	CHECK(stall_fail(a));
	ASSERT_A_EFAULT();
	EXPECT_EQ(3, curmsgs(q));
	CHECK(mq_expect(q, "top", 9));
	CHECK(mq_expect(q, "mid1", 4));
	CHECK(mq_expect(q, "low", 2));
	EXPECT_EQ(0, curmsgs(q));
}

/* A's receive takes m0 (priority 5) and stalls; m1 is received, so that
 * priority 5 empties and priority 1's node comes out of the tree, and
 * "high" (7) puts priority 1 back in with it (the queue's spare): m0's
 * place then needs a node of its own.  0, or -1 (why says why). */
static int stall_m0_needing_a_node(struct stall *a, mqd_t q)
{
	char b[MSGSIZE];
	unsigned int p;

	if (mq_snd(q, "m0", 5) || mq_snd(q, "m1", 5) || mq_snd(q, "low", 1))
		return note("a send: %s", ename(errno));
	if (stall_receive(a, A_MQ_RECEIVE, q, 0) || stall_start(a))
		return -1;
	if (ripc_mq_receive(q, b, sizeof(b), &p) != 2 || memcmp(b, "m1", 2))
		return note("m1 was not received: %s", ename(errno));
	if (mq_snd(q, "high", 7))
		return note("high: %s", ename(errno));
	return 0;
}

/*
 * The message out for delivery needs a new tree node to go back (its
 * priority emptied meanwhile and the freed node went to another priority),
 * and the node's allocation before the queue lock fails (fail-nth on A's
 * thread, the debug kernel): the one under the lock (GFP_ATOMIC, as
 * native's msg_insert) takes its place, and the message goes back.
 */
TEST_F_TIMEOUT(put_back, posix_goes_back_when_its_node_cannot_be_made_before_the_lock, TIMEOUT)
{
	struct stall *a = &self->st;
	mqd_t q = SYS(mq_new(self, 8));
	char igw[16];
	int r;

	CHECK(stall_m0_needing_a_node(a, q));
	/* failslab fails allocations that may sleep only with ignore-gfp-wait N. */
	if (read_knob("ignore-gfp-wait", igw, sizeof(igw)) || write_knob("ignore-gfp-wait", "N") ||
	    thread_fail_nth(a->tid, 1)) {
		CHECK(stall_fail(a));
		SKIP(return, "no fail-nth or failslab (CONFIG_FAULT_INJECTION, CONFIG_FAILSLAB)");
	}
	r = stall_fail(a);
	write_knob("ignore-gfp-wait", igw);
	CHECK(r);
	ASSERT_A_EFAULT();
	ASSERT_EQ(0, a->nth_left) TH_LOG("the injected failure was not used (fail-nth %d)",
					 a->nth_left);
	EXPECT_EQ(3, curmsgs(q));
	CHECK(mq_expect(q, "high", 7));
	CHECK(mq_expect(q, "m0", 5));
	CHECK(mq_expect(q, "low", 1));
	EXPECT_EQ(0, curmsgs(q));
}

/* Sets failslab's knobs to FS_KNOBS[i] = val[i] (saving the old values in
 * old[i] if old) and, if on, thread tid's make-it-fail: 0, or -1. */
static const char *const FS_KNOBS[] = { "task-filter", "probability", "interval", "times",
					"ignore-gfp-wait" };
#define FS_N ((int)(sizeof(FS_KNOBS) / sizeof(FS_KNOBS[0])))

static int failslab_set(pid_t tid, const char *const *val, char (*old)[16], int on)
{
	char path[64];

	for (int i = 0; i < FS_N; i++)
		if ((old && read_knob(FS_KNOBS[i], old[i], sizeof(old[i]))) ||
		    write_knob(FS_KNOBS[i], val[i]))
			return -1;
	if (!on)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/task/%d/make-it-fail", tid);
	return write_file(path, "1");
}

/* As above, with the node's allocation under the lock failing too
 * (failslab fails A's next two slab allocations: the node before the lock,
 * then GFP_ATOMIC's under it): m0 cannot go back and is lost (as natively:
 * EFAULT, the message gone; the kernel log warns once), and its receive
 * stays counted, count and bytes (it was taken back from the statistics,
 * as a message that went back). */
TEST_F_TIMEOUT(put_back, posix_a_message_that_cannot_go_back_stays_received, TIMEOUT)
{
	static const char *const arm[FS_N] = { "Y", "100", "1", "2", "N" };
	struct stall *a = &self->st;
	mqd_t q = SYS(mq_new(self, 8));
	struct ripc_queue_stats st;
	char old[FS_N][16], times[16];
	const char *restore[FS_N];
	int r;

	CHECK(stall_m0_needing_a_node(a, q));
	if (failslab_set(a->tid, arm, old, 1)) {
		CHECK(stall_fail(a));
		SKIP(return, "no failslab task filter (CONFIG_FAULT_INJECTION, CONFIG_FAILSLAB)");
	}
	r = stall_fail(a);
	EXPECT_EQ(0, read_knob("times", times, sizeof(times)));
	for (int i = 0; i < FS_N; i++)
		restore[i] = old[i];
	EXPECT_EQ(0, failslab_set(a->tid, restore, NULL, 0));
	CHECK(r);
	ASSERT_A_EFAULT();
	EXPECT_STREQ("0", times) TH_LOG("failslab's two failures were not both used");
	EXPECT_EQ(2, curmsgs(q));
	SYS(ripc_mq_stats(q, &st, 0));
	EXPECT_EQ(2ULL, st.received);
	EXPECT_EQ(4ULL, st.received_bytes);
	CHECK(mq_expect(q, "high", 7));
	CHECK(mq_expect(q, "low", 1));
	EXPECT_EQ(0, curmsgs(q));
}

/* A blocks on the empty queue; a send hands its message straight to A
 * (pipelined), whose copy faults; B, blocked meanwhile, gets it. */
TEST_F_TIMEOUT(put_back, posix_handed_over_message_goes_to_the_next_receiver, TIMEOUT)
{
	struct stall *a = &self->st;
	mqd_t q = SYS(mq_new(self, 4));

	CHECK(stall_handed(a, q));
	PEER_BLOCKS(0, P_MQ_RECEIVE, q, MSGSIZE, NULL, "B");
	CHECK(stall_fail(a));
	ASSERT_A_EFAULT();
	SYS(mq_snd(q, "newer", 2));
	EXPECT_OK(peer_got_mq(self, 0, "B", "handed", 2));
	EXPECT_EQ(1, curmsgs(q));
	CHECK(mq_expect(q, "newer", 2));
}

/* A receive batch takes four messages; the store of the third faults.
 * The batch returns 2 (the first two items written back, the others
 * untouched); the third message goes to B (blocked meanwhile) at once,
 * before a newer one, the fourth back to the queue.  (No poller here: B's
 * own receive wakes pollers; the next test has one alone.) */
TEST_F_TIMEOUT(put_back, posix_batch_store_fault_puts_back_the_rest, TIMEOUT)
{
	static char buf[4][MSGSIZE];
	struct stall *a = &self->st;
	struct ripc_mq_item it[4];
	mqd_t q = SYS(mq_new(self, 8));

	SYS(mq_snd(q, "b0", 9));
	SYS(mq_snd(q, "b1", 5));
	SYS(mq_snd(q, "b2", 5));
	SYS(mq_snd(q, "b3", 1));
	CHECK(stall_map(a, 0));
	CHECK(stall_arm(a));
	memset(buf, 0xee, sizeof(buf));
	for (int i = 0; i < 4; i++)
		it[i] = (struct ripc_mq_item){ PTR(i == 2 ? (void *)a->trap : buf[i]), MSGSIZE, 77, 0 };
	stall_batch(a, A_MQ_BATCH, q, it, 4);
	CHECK(stall_start(a));
	PEER_BLOCKS(0, P_MQ_RECEIVE, q, MSGSIZE, NULL, "B");
	CHECK(stall_fail(a));
	ASSERT_EQ(2, a->ret) TH_LOG("A's batch: %s", a->ret < 0 ? ename(a->err) : "");
	SYS(mq_snd(q, "newer", 1));
	EXPECT_EQ(2u, it[0].msg_len);
	EXPECT_EQ(9u, it[0].msg_prio);
	EXPECT_EQ(0, memcmp(buf[0], "b0", 2));
	EXPECT_EQ(2u, it[1].msg_len);
	EXPECT_EQ(5u, it[1].msg_prio);
	EXPECT_EQ(0, memcmp(buf[1], "b1", 2));
	/* Not reported: their items are as they were. */
	EXPECT_EQ((__u64)MSGSIZE, it[2].msg_len);
	EXPECT_EQ(77u, it[2].msg_prio);
	EXPECT_EQ((__u64)MSGSIZE, it[3].msg_len);
	EXPECT_EQ(77u, it[3].msg_prio);
	EXPECT_EQ((char)0xee, buf[3][0]);
	EXPECT_OK(peer_got_mq(self, 0, "B", "b2", 5));
	EXPECT_EQ(2, curmsgs(q));
	CHECK(mq_expect(q, "b3", 1));
	CHECK(mq_expect(q, "newer", 1));
	EXPECT_EQ(0, curmsgs(q));
}

/*
 * A's receive batch blocks on the empty queue: "lo" (priority 1) is handed
 * to it, then, before it runs (the sender SCHED_FIFO on its CPU), "hi"
 * (priority 9) is queued, which A's batch then takes after "lo".  Its copy
 * stalls and fails while B blocks on the empty queue: B gets "hi", as it
 * would have had neither left (it got "lo", offered first in the order the
 * batch took them), and "lo" is queued.
 */
TEST_F_TIMEOUT(put_back, posix_batch_put_back_offers_in_receive_order, TIMEOUT)
{
	static char buf[MSGSIZE];
	struct sched_param fifo = { .sched_priority = 1 }, other = { 0 };
	struct stall *a = &self->st;
	struct ripc_mq_item it[2];
	mqd_t q = SYS(mq_new(self, 8));
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	SYS(sched_setaffinity(0, sizeof(one), &one));
	CHECK(stall_map(a, 0));
	CHECK(stall_arm(a));
	it[0] = (struct ripc_mq_item){ PTR(a->trap), MSGSIZE, 0, 0 };
	it[1] = (struct ripc_mq_item){ PTR(buf), MSGSIZE, 0, 0 };
	stall_batch(a, A_MQ_BATCH, q, it, 2);
	CHECK(stall_launch(a));
	CHECK(wait_sleeping(a->tid, SYS_ioctl, SYS_ioctl, "A"));
	SYS(sched_setscheduler(0, SCHED_FIFO, &fifo));
	SYS(mq_snd(q, "lo", 1));
	SYS(mq_snd(q, "hi", 9));
	SYS(sched_setscheduler(0, SCHED_OTHER, &other));
	CHECK(stall_wait_fault(a));
	EXPECT_EQ(0, curmsgs(q));	/* A took both */
	PEER_BLOCKS(0, P_MQ_RECEIVE, q, MSGSIZE, NULL, "B");
	CHECK(stall_fail(a));
	ASSERT_A_EFAULT();
	EXPECT_OK(peer_got_mq(self, 0, "B", "hi", 9));
	EXPECT_EQ(1, curmsgs(q));
	CHECK(mq_expect(q, "lo", 1));
	EXPECT_EQ(0, curmsgs(q));
}

/* A receive batch whose item array runs into a read-only page: the item
 * across the boundary is not reported and is left as it was, its part in
 * the writable page too (it was half written); its message goes back. */
TEST_F_TIMEOUT(put_back, posix_batch_item_across_a_read_only_page_is_left_whole, TIMEOUT)
{
	static char buf[2][MSGSIZE];
	char *map = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct ripc_mq_item *it;
	mqd_t q = SYS(mq_new(self, 8));

	ASSERT_NE(MAP_FAILED, map);
	/* Item 1's pointer and length in the first page, its priority not. */
	it = (struct ripc_mq_item *)(map + PAGE - 16 - sizeof(*it));
	for (int i = 0; i < 2; i++)
		it[i] = (struct ripc_mq_item){ PTR(buf[i]), MSGSIZE, 77, 0 };
	SYS(mprotect(map + PAGE, PAGE, PROT_READ));
	SYS(mq_snd(q, "a", 3));
	SYS(mq_snd(q, "bb", 3));
	ASSERT_EQ(1, mq_batch(q, RIPC_MQ_RECEIVE_BATCH, it, 2));
	EXPECT_EQ(1u, it[0].msg_len);
	EXPECT_EQ(3u, it[0].msg_prio);
	EXPECT_EQ((__u64)MSGSIZE, it[1].msg_len) TH_LOG("the unreported item was half written");
	EXPECT_EQ(77u, it[1].msg_prio);
	EXPECT_EQ(1, curmsgs(q));
	CHECK(mq_expect(q, "bb", 3));
	munmap(map, 2 * PAGE);
}

/* A receive batch stores three messages, then the write-back of its items
 * faults after the first item (write-protected page): it returns 1; the
 * two unreported messages go back to the queue in their order, and a
 * poller waiting on the (then empty) queue sees POLLIN. */
TEST_F_TIMEOUT(put_back, posix_batch_write_back_fault_puts_back_the_unreported, TIMEOUT)
{
	static char buf[3][MSGSIZE];
	struct stall *a = &self->st;
	struct ripc_mq_item *it;
	mqd_t q = SYS(mq_new(self, 8));

	SYS(mq_snd(q, "w0", 1));
	SYS(mq_snd(q, "w1", 1));
	SYS(mq_snd(q, "w2", 1));
	CHECK(stall_map(a, 1));
	/* Item 0 at the end of the ordinary page, items 1 and 2 in the trap. */
	it = (struct ripc_mq_item *)(a->trap - sizeof(*it));
	for (int i = 0; i < 3; i++)
		it[i] = (struct ripc_mq_item){ PTR(buf[i]), MSGSIZE, 77, 0 };
	CHECK(stall_arm(a));
	stall_batch(a, A_MQ_BATCH, q, it, 3);
	CHECK(stall_start(a));
	PEER_BLOCKS(0, P_POLL, q, 0, NULL, "the poller");
	CHECK(stall_fail(a));
	ASSERT_EQ(1, a->ret) TH_LOG("A's batch: %s", a->ret < 0 ? ename(a->err) : "");
	EXPECT_EQ(2u, it[0].msg_len);
	EXPECT_EQ(1u, it[0].msg_prio);
	EXPECT_EQ(0, memcmp(buf[0], "w0", 2));
	EXPECT_OK(peer_polled(self, 0));
	EXPECT_EQ(2, curmsgs(q));
	SYS(mq_snd(q, "newer", 1));
	CHECK(mq_expect(q, "w1", 1));
	CHECK(mq_expect(q, "w2", 1));
	CHECK(mq_expect(q, "newer", 1));
	EXPECT_EQ(0, curmsgs(q));
}

/* A full queue (maxmsg 2) with two blocked senders: A's receive takes q0
 * and its copy stalls.  The room q0 leaves is free at once, as native's:
 * the first sender gets in (in A's critical section, as native's
 * pipelined_receive), the second stays blocked on the full queue.  A's
 * EFAULT puts q0 back in its old place although the queue is full:
 * mq_curmsgs is 3, above maxmsg, until it is drained, and no sender gets
 * in until there is room; every message is received once, in order. */
TEST_F_TIMEOUT(put_back, posix_room_is_free_at_once_and_a_put_back_may_pass_maxmsg, TIMEOUT)
{
	static const char *const order[] = { "q0", "q1", "x1", "x2" };
	struct stall *a = &self->st;
	mqd_t q = SYS(mq_new(self, 2));

	SYS(mq_snd(q, "q0", 0));
	SYS(mq_snd(q, "q1", 0));
	PEER_BLOCKS(0, P_MQ_SEND, q, 0, "x1", "sender 1");
	PEER_BLOCKS(1, P_MQ_SEND, q, 0, "x2", "sender 2");
	CHECK(stall_receive(a, A_MQ_RECEIVE, q, 0));
	CHECK(stall_start(a));
	ASSERT_EQ(0, peer_wait(self, 0, WAIT_MS))
		TH_LOG("sender 1 still waits for the room A's message left");
	EXPECT_EQ(0, self->peer[0].ret) TH_LOG("sender 1: %s", ename(self->peer[0].err));
	EXPECT_EQ(2, curmsgs(q));
	EXPECT_TRUE(peer_blocked(self, 1)) TH_LOG("sender 2 left its send on a full queue");
	CHECK(stall_fail(a));
	ASSERT_A_EFAULT();
	EXPECT_EQ(3, curmsgs(q)) TH_LOG("q0 is not back");
	CHECK(mq_expect(q, order[0], 0));
	EXPECT_EQ(2, curmsgs(q));
	EXPECT_TRUE(peer_blocked(self, 1)) TH_LOG("sender 2 got into a full queue");
	for (int i = 1; i < 4; i++)
		CHECK(mq_expect(q, order[i], 0));
	EXPECT_EQ(0, peer_wait(self, 1, WAIT_MS)) TH_LOG("sender 2");
	EXPECT_EQ(0, self->peer[1].ret) TH_LOG("sender 2: %s", ename(self->peer[1].err));
	EXPECT_EQ(0, curmsgs(q));
}

/*
 * A queue above maxmsg after a put-back dumps and restores as it is; more
 * messages than maxmsg (more than a send could put in, as sizes past the
 * limits) need CAP_SYS_RESOURCE: EPERM without it, and nothing is made.
 * (It was EBADMSG with any capability: such a checkpoint could never be
 * restored.)
 */
TEST_F_TIMEOUT(put_back, posix_a_queue_above_maxmsg_restores_with_sys_resource, TIMEOUT)
{
	struct stall *a = &self->st;
	void *dump;
	size_t len;
	pid_t pid;
	mqd_t q;

	/* A namespace of its own: the dump holds this queue only. */
	SYS(unshare(CLONE_NEWIPC));
	q = SYS(mq_new(self, 1));
	SYS(mq_snd(q, "q0", 3));
	CHECK(stall_receive(a, A_MQ_RECEIVE, q, 0));
	CHECK(stall_start(a));
	SYS(mq_snd(q, "x1", 3));
	CHECK(stall_fail(a));
	ASSERT_A_EFAULT();
	ASSERT_EQ(2, curmsgs(q));
	SYS(ripc_dump_alloc(&dump, &len));
	pid = fork_child();
	if (pid == 0) {
		struct mq_attr at;
		unsigned int prio;
		char b[MSGSIZE];
		mqd_t r;

		CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
		CHILD_CHECK(caps_in_effect(CAP_CHECKPOINT_RESTORE, 0) == 0);
		CHILD_CHECK(ripc_restore(dump, len) == -1 && errno == EPERM);
		CHILD_CHECK(ripc_mq_open(self->name, O_RDONLY) == -1 && errno == ENOENT);
		CHILD_CHECK(caps_in_effect(CAP_CHECKPOINT_RESTORE, 1) == 0);
		CHILD_CHECK(ripc_restore(dump, len) == 0);
		r = ripc_mq_open(self->name, O_RDONLY | O_NONBLOCK);
		CHILD_CHECK(r >= 0 && ripc_mq_getattr(r, &at) == 0);
		CHILD_CHECK(at.mq_curmsgs == 2 && at.mq_maxmsg == 1);
		CHILD_CHECK(ripc_mq_receive(r, b, sizeof(b), &prio) == 2 && !memcmp(b, "q0", 2));
		CHILD_CHECK(ripc_mq_receive(r, b, sizeof(b), &prio) == 2 && !memcmp(b, "x1", 2));
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	free(dump);
}

/* "zero" sent to q and received, the queue's first receive: its time to
 * at; then a few ticks, so that a later receive's time shows. */
static int receive_zero(mqd_t q, __s64 *at)
{
	struct ripc_queue_stats st;

	if (mq_snd(q, "zero", 1) || mq_expect(q, "zero", 1))
		return -1;
	if (ripc_mq_stats(q, &st, 0))
		return note("RIPC_IOC_STATS: %s", ename(errno));
	if (st.received != 1)
		return note("%llu received, expected 1", (unsigned long long)st.received);
	*at = st.last_receive_ns;
	usleep(50000);
	return 0;
}

/*
 * A receive is counted when its message leaves the queue; a put-back takes
 * it back, count and time: after A's EFAULT the statistics are those of
 * before A's receive.  A reset while A's copy waits counts A's receive no
 * more, and its put-back then takes nothing back (it took back the receive
 * counted after the reset).
 */
TEST_F_TIMEOUT(put_back, posix_a_put_back_takes_its_receive_back_from_the_statistics, TIMEOUT)
{
	struct stall *a = &self->st;
	mqd_t q = SYS(mq_new(self, 4));
	struct ripc_queue_stats st;
	__s64 before;

	CHECK(receive_zero(q, &before));
	SYS(mq_snd(q, "first", 1));
	SYS(mq_snd(q, "second", 1));
	CHECK(stall_receive(a, A_MQ_RECEIVE, q, 0));
	CHECK(stall_start(a));
	CHECK(stall_fail(a));
	ASSERT_A_EFAULT();
	SYS(ripc_mq_stats(q, &st, 0));
	EXPECT_EQ(1ULL, st.received);
	EXPECT_EQ(4ULL, st.received_bytes);
	EXPECT_EQ(before, st.last_receive_ns) TH_LOG("the time of a receive that failed");

	CHECK(stall_receive(a, A_MQ_RECEIVE, q, 0));
	CHECK(stall_start(a));
	SYS(ripc_mq_stats(q, &st, RIPC_STATS_RESET));
	EXPECT_EQ(2ULL, st.received) TH_LOG("A's receive is counted while its copy waits");
	CHECK(mq_expect(q, "second", 1));
	CHECK(stall_fail(a));
	ASSERT_A_EFAULT();
	SYS(ripc_mq_stats(q, &st, 0));
	EXPECT_EQ(1ULL, st.received) TH_LOG("the put-back took back a receive of after the reset");
	EXPECT_EQ(6ULL, st.received_bytes);
	CHECK(mq_expect(q, "first", 1));
}

/* "a" and "b" (priority 1) sent to q, then A's receive takes "a" and
 * stalls, and, a few ticks later, b's (the fixture's userfaultfd) "b". */
static int stall_a_then_b(struct stall *a, struct stall *b, mqd_t q)
{
	if (mq_snd(q, "a", 1) || mq_snd(q, "b", 1))
		return note("send: %s", ename(errno));
	if (stall_receive(a, A_MQ_RECEIVE, q, 0) || stall_start(a))
		return -1;
	usleep(50000);		/* a few ticks between A's and B's receives */
	return stall_receive(b, A_MQ_RECEIVE, q, 0) ?: stall_start(b);
}

/*
 * Two receives whose copies stall, A's then B's, put back in that order
 * with a receive C delivered in between: the time of the last receive
 * stays C's (B's put-back once took it back to a time no receive had, C's
 * less the time between A's and B's receives).
 */
TEST_F_TIMEOUT(put_back, posix_put_backs_in_taking_order_keep_a_later_receive_time, TIMEOUT)
{
	struct stall *a = &self->st, b = { .uffd = self->st.uffd };
	mqd_t q = SYS(mq_new(self, 4));
	struct ripc_queue_stats st;
	__s64 c_time;

	CHECK(stall_a_then_b(a, &b, q));
	CHECK(stall_fail(a));
	ASSERT_A_EFAULT();
	usleep(50000);
	CHECK(mq_expect(q, "a", 1));
	SYS(ripc_mq_stats(q, &st, 0));
	c_time = st.last_receive_ns;
	CHECK(stall_fail(&b));
	EXPECT_EQ(-1, b.ret);
	EXPECT_EQ(EFAULT, b.err);
	SYS(ripc_mq_stats(q, &st, 0));
	EXPECT_EQ(1ULL, st.received);
	EXPECT_EQ(c_time, st.last_receive_ns) TH_LOG("C's time was taken back");
	b.uffd = -1;		/* the fixture's */
	stall_cleanup(&b);
	CHECK(mq_expect(q, "b", 1));
}

/*
 * Two receives taken back in their taking order (A, then B, the later):
 * the last receive's time is the one before both, not A's (a receive taken
 * back too).  rust_ipc's statistics.
 */
TEST_F_TIMEOUT(put_back, posix_put_backs_in_taking_order_leave_the_time_before_both, TIMEOUT)
{
	struct stall *a = &self->st, b = { .uffd = self->st.uffd };
	mqd_t q = SYS(mq_new(self, 4));
	struct ripc_queue_stats st;
	__s64 before;

	CHECK(receive_zero(q, &before));
	CHECK(stall_a_then_b(a, &b, q));
	CHECK(stall_fail(a));
	ASSERT_A_EFAULT();
	CHECK(stall_fail(&b));
	EXPECT_EQ(-1, b.ret);
	EXPECT_EQ(EFAULT, b.err);
	SYS(ripc_mq_stats(q, &st, 0));
	EXPECT_EQ(1ULL, st.received);
	EXPECT_EQ(before, st.last_receive_ns) TH_LOG("A's time came back, %lld ns after",
						     (long long)(st.last_receive_ns - before));
	b.uffd = -1;		/* the fixture's */
	stall_cleanup(&b);
	CHECK(mq_expect(q, "a", 1));
	CHECK(mq_expect(q, "b", 1));
}

/*
 * A message handed to A (native's pipelined_send) never had room in the
 * queue: while A's copy stalls, the queue (maxmsg 1) is empty and
 * writable, POLLOUT says so, a send goes in at once, and the queue is then
 * full for the next one.  (rust_ipc once held the room until A had
 * delivered, so a reader stalling its copy kept writers out.)
 */
TEST_F_TIMEOUT(put_back, posix_a_handed_message_holds_no_room_while_its_copy_waits, TIMEOUT)
{
	struct stall *a = &self->st;
	mqd_t q = SYS(mq_new(self, 1));
	struct timespec past = deadline_ms(-1000);
	struct pollfd pf = { .fd = q, .events = POLLOUT };

	CHECK(stall_handed(a, q));
	EXPECT_EQ(0, curmsgs(q));
	ASSERT_EQ(1, poll(&pf, 1, 0)) TH_LOG("no POLLOUT while A's copy waits");
	ASSERT_EQ(POLLOUT, pf.revents);
	ASSERT_EQ(0, ripc_mq_timedsend(q, "second", 6, 5, &past))
		TH_LOG("send while A's copy waits: %s", ename(errno));
	EXPECT_EQ(1, curmsgs(q));
	ASSERT_EQ(0, poll(&pf, 1, 0)) TH_LOG("POLLOUT on a full queue");
	ASSERT_ERRNO(ETIMEDOUT, ripc_mq_timedsend(q, "third", 5, 4, &past));
	CHECK(stall_succeed(a));
	ASSERT_EQ(6, a->ret) TH_LOG("A's receive: %s", a->ret < 0 ? ename(a->err) : "");
	EXPECT_EQ(2U, a->prio);
	CHECK(mq_expect(q, "second", 5));
	EXPECT_EQ(0, curmsgs(q));
}

/*
 * The same for a message taken from a full queue (maxmsg 1): a poller for
 * POLLOUT is woken by the receive that takes it, while A's copy still
 * stalls (it once slept until A delivered).
 */
TEST_F_TIMEOUT(put_back, posix_a_receive_whose_copy_waits_wakes_a_pollout_poller, TIMEOUT)
{
	struct stall *a = &self->st;
	struct peer *p = &self->peer[0];
	mqd_t q = SYS(mq_new(self, 1));

	SYS(mq_snd(q, "first", 1));
	PEER_BLOCKS(0, P_POLL, q, POLLOUT, NULL, "the poller");
	CHECK(stall_receive(a, A_MQ_RECEIVE, q, 0));
	CHECK(stall_start(a));
	CHECK(peer_end(self, 0, "the poller"));
	EXPECT_EQ(1, p->ret) TH_LOG("the poller's poll: %ld (%s) after %ld ms", p->ret,
				    p->ret < 0 ? ename(p->err) : "no error", p->ms);
	EXPECT_EQ(POLLOUT, p->revents);
	EXPECT_EQ(0, curmsgs(q));
	CHECK(stall_succeed(a));
	ASSERT_EQ(5, a->ret) TH_LOG("A's receive: %s", a->ret < 0 ? ename(a->err) : "");
	EXPECT_EQ(1U, a->prio);
	EXPECT_EQ(0, curmsgs(q));
}

/*
 * Notifications (mq_notify) of messages that go into a queue seen empty:
 * SIGUSR1 blocked in every thread (A inherits the mask), so the signal
 * waits for take_signal().
 */
static int block_sigusr1(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	return pthread_sigmask(SIG_BLOCK, &set, NULL) ? -1 : 0;
}

static int mq_notify_sigusr1(mqd_t q, int value)
{
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1,
			       .sigev_value.sival_int = value };

	return ripc_mq_notify(q, &ev);
}

/*
 * Peer 0 sends "second" (priority 5) into q, which has room: its call
 * ends at once, and SIGUSR1 comes with value, from it: 0, else -1 with
 * why.
 */
static int send_notifies(FIXTURE_DATA(put_back) *self, mqd_t q, int value)
{
	struct peer *p = &self->peer[0];
	pid_t sender = peer_start(self, 0, P_MQ_SEND, q, 5, "second");
	siginfo_t si;

	if (sender < 0)
		return note("fork: %s", ename(errno));
	if (peer_wait(self, 0, WAIT_MS) || p->ret)
		return note("the sender: %ld (%s)", p->ret, ename(p->err));
	if (take_signal(SIGUSR1, &si, WAIT_MS) != SIGUSR1)
		return note("no notification");
	if (si.si_code != SI_MESGQ || si.si_value.sival_int != value || si.si_pid != sender ||
	    si.si_uid != getuid())
		return note("notification code %d value %d pid %d uid %u, expected %d %d %d %u",
			    si.si_code, si.si_value.sival_int, si.si_pid, si.si_uid, SI_MESGQ,
			    value, sender, getuid());
	return 0;
}

/*
 * While A's copy of a handed message stalls, the queue (maxmsg 1) shows no
 * message and has room: a registration made then fires, from the sender,
 * when a send puts a message in, at once (rust_ipc once made that sender
 * wait for A's room, and sent its notification when it got in).
 */
TEST_F_TIMEOUT(put_back, posix_a_send_while_a_handed_message_is_out_notifies_from_its_sender,
	       TIMEOUT)
{
	struct stall *a = &self->st;
	mqd_t q = SYS(mq_new(self, 1));

	SYS(block_sigusr1());
	CHECK(stall_handed(a, q));
	ASSERT_EQ(0, curmsgs(q));
	SYS(mq_notify_sigusr1(q, 41));
	CHECK(send_notifies(self, q, 41));
	EXPECT_EQ(1, curmsgs(q));
	CHECK(stall_succeed(a));
	ASSERT_EQ(6, a->ret) TH_LOG("A's receive: %s", a->ret < 0 ? ename(a->err) : "");
	CHECK(mq_expect(q, "second", 5));
}

/* The same through a notification descriptor: its record names the
 * sender (pid and uid). */
TEST_F_TIMEOUT(put_back, posix_a_send_while_a_handed_message_is_out_posts_its_record, TIMEOUT)
{
	struct stall *a = &self->st;
	mqd_t q = SYS(mq_new(self, 1));
	struct ripc_notify_record rec;
	struct pollfd pf = { .events = POLLIN };
	pid_t sender;
	int nfd;

	nfd = SYS(ripc_notify_fd_open(O_NONBLOCK | O_CLOEXEC));
	CHECK(stall_handed(a, q));
	ASSERT_EQ(0, curmsgs(q));
	SYS(ripc_mq_notify_fd(q, nfd, (union sigval){ .sival_int = 45 }));
	sender = peer_start(self, 0, P_MQ_SEND, q, 5, "second");
	ASSERT_LT(0, sender);
	EXPECT_EQ(0, peer_wait(self, 0, WAIT_MS)) TH_LOG("the sender");
	EXPECT_EQ(0, self->peer[0].ret) TH_LOG("the sender: %s", ename(self->peer[0].err));
	pf.fd = nfd;
	ASSERT_EQ(1, poll(&pf, 1, WAIT_MS)) TH_LOG("no record");
	ASSERT_EQ((ssize_t)sizeof(rec), read(nfd, &rec, sizeof(rec)));
	EXPECT_EQ(45, (int)rec.sigev_value);
	EXPECT_EQ(sender, rec.pid) TH_LOG("not from the sender");
	EXPECT_EQ(getuid(), rec.uid);
	CHECK(stall_succeed(a));
	ASSERT_EQ(6, a->ret) TH_LOG("A's receive: %s", a->ret < 0 ? ename(a->err) : "");
	CHECK(mq_expect(q, "second", 5));
	close(nfd);
}

/*
 * A registration made while a message is queued does not fire when a
 * receive takes that message and lets a blocked sender's in, as native's
 * pipelined_receive (the same critical section) does not, though here the
 * receive's copy stalls after the lock; the registration stays, and fires
 * for the next message into the empty queue.
 */
TEST_F_TIMEOUT(put_back, posix_a_registration_made_with_a_message_queued_stays_when_a_sender_is_let_in,
	       TIMEOUT)
{
	struct stall *a = &self->st;
	mqd_t q = SYS(mq_new(self, 1));
	siginfo_t si;

	SYS(block_sigusr1());
	SYS(mq_snd(q, "first", 1));
	PEER_BLOCKS(0, P_MQ_SEND, q, 5, "second", "the sender");
	SYS(mq_notify_sigusr1(q, 43));
	CHECK(stall_receive(a, A_MQ_RECEIVE, q, 0));
	CHECK(stall_start(a));
	EXPECT_EQ(0, peer_wait(self, 0, WAIT_MS)) TH_LOG("the sender");
	EXPECT_EQ(0, self->peer[0].ret) TH_LOG("the sender: %s", ename(self->peer[0].err));
	EXPECT_EQ(1, curmsgs(q));
	EXPECT_EQ(-1, take_signal(SIGUSR1, &si, 300)) TH_LOG("notified, native is not");
	EXPECT_EQ(EAGAIN, errno);
	CHECK(stall_succeed(a));
	ASSERT_EQ(5, a->ret) TH_LOG("A's receive: %s", a->ret < 0 ? ename(a->err) : "");
	EXPECT_EQ(1U, a->prio);
	ASSERT_ERRNO(EBUSY, mq_notify_sigusr1(q, 44));
	CHECK(mq_expect(q, "second", 5));
	SYS(mq_snd(q, "third", 2));
	ASSERT_EQ(SIGUSR1, take_signal(SIGUSR1, &si, WAIT_MS)) TH_LOG("no notification");
	EXPECT_EQ(43, si.si_value.sival_int);
	EXPECT_EQ(getpid(), si.si_pid);
}

/*
 * A registration made while a message was queued fires, from the sender,
 * for a send into the queue that a receive emptied while that receive's
 * copy still stalls (rust_ipc once made that sender wait for the room).
 */
TEST_F_TIMEOUT(put_back, posix_a_send_into_a_queue_emptied_by_a_waiting_copy_notifies,
	       TIMEOUT)
{
	struct stall *a = &self->st;
	mqd_t q = SYS(mq_new(self, 1));

	SYS(block_sigusr1());
	SYS(mq_snd(q, "first", 1));
	SYS(mq_notify_sigusr1(q, 46));
	CHECK(stall_receive(a, A_MQ_RECEIVE, q, 0));
	CHECK(stall_start(a));
	EXPECT_EQ(0, curmsgs(q));
	CHECK(send_notifies(self, q, 46));
	CHECK(stall_succeed(a));
	ASSERT_EQ(5, a->ret) TH_LOG("A's receive: %s", a->ret < 0 ? ename(a->err) : "");
	CHECK(mq_expect(q, "second", 5));
}

/*
 * A message whose copy faults goes back into a queue that showed none
 * while it was out: a registration made meanwhile fires, from the
 * receiver whose copy failed.
 */
TEST_F_TIMEOUT(put_back, posix_a_message_put_back_into_a_queue_seen_empty_fires_the_notification,
	       TIMEOUT)
{
	struct stall *a = &self->st;
	mqd_t q = SYS(mq_new(self, 4));
	siginfo_t si;

	SYS(block_sigusr1());
	CHECK(stall_handed(a, q));
	ASSERT_EQ(0, curmsgs(q));
	SYS(mq_notify_sigusr1(q, 42));
	CHECK(stall_fail(a));
	ASSERT_A_EFAULT();
	ASSERT_EQ(SIGUSR1, take_signal(SIGUSR1, &si, WAIT_MS)) TH_LOG("no notification");
	EXPECT_EQ(SI_MESGQ, si.si_code);
	EXPECT_EQ(42, si.si_value.sival_int);
	EXPECT_EQ(getpid(), si.si_pid);
	EXPECT_EQ(1, curmsgs(q));
	CHECK(mq_expect(q, "handed", 2));
}

/*
 * A registration made while a message was queued, then the queue emptied
 * by a receive: a message sent after the registration, handed to a
 * blocked receiver (no notification: a receiver waited, as native's
 * pipelined_send), goes back into the empty queue when that receiver's
 * copy faults, and fires the registration (its registrant never saw that
 * message queued; rust_ipc once left it silent until the queue emptied
 * and filled again).
 */
TEST_F_TIMEOUT(put_back, posix_a_message_sent_after_the_registration_fires_it_when_it_goes_back,
	       TIMEOUT)
{
	struct stall *a = &self->st;
	mqd_t q = SYS(mq_new(self, 4));
	siginfo_t si;

	SYS(block_sigusr1());
	SYS(mq_snd(q, "first", 1));
	SYS(mq_notify_sigusr1(q, 47));
	CHECK(mq_expect(q, "first", 1));
	CHECK(stall_handed(a, q));
	ASSERT_EQ(0, curmsgs(q));
	EXPECT_EQ(-1, take_signal(SIGUSR1, &si, 100)) TH_LOG("notified of a handed message");
	CHECK(stall_fail(a));
	ASSERT_A_EFAULT();
	ASSERT_EQ(SIGUSR1, take_signal(SIGUSR1, &si, WAIT_MS)) TH_LOG("no notification");
	EXPECT_EQ(SI_MESGQ, si.si_code);
	EXPECT_EQ(47, si.si_value.sival_int);
	EXPECT_EQ(getpid(), si.si_pid);
	EXPECT_EQ(1, curmsgs(q));
	CHECK(mq_expect(q, "handed", 2));
	SYS(mq_notify_sigusr1(q, 48));
}

/* ---- System V ------------------------------------------------------------ */

/* A typed msgrcv faults while B waits for that type (behind a receiver of
 * another type): B gets the message at once, before a newer one of its
 * type; the other receiver stays blocked; counts come back right. */
TEST_F_TIMEOUT(put_back, sysv_msgrcv_goes_to_the_blocked_typed_receiver, TIMEOUT)
{
	struct stall *a = &self->st;
	int id = SYS(msg_new(self));

	SYS(snd(id, 1, "a"));
	SYS(snd(id, 2, "typed"));
	CHECK(stall_receive(a, A_MSGRCV, id, 2));
	CHECK(stall_start(a));
	PEER_BLOCKS(1, P_MSGRCV, id, 3, NULL, "the type 3 receiver");
	PEER_BLOCKS(0, P_MSGRCV, id, 2, NULL, "B");
	CHECK(stall_fail(a));
	ASSERT_A_EFAULT();
	SYS(snd(id, 2, "newer!"));
	EXPECT_OK(peer_got_msg(self, 0, "B", 2, "typed"));
	EXPECT_TRUE(peer_blocked(self, 1)) TH_LOG("the type 3 receiver left its msgrcv");
	EXPECT_QUEUE(id, 2, 1 + 6);
	SYS(snd(id, 3, "three"));
	EXPECT_OK(peer_got_msg(self, 1, "the type 3 receiver", 3, "three"));
	CHECK(msg_expect(id, 0, 1, "a"));
	CHECK(msg_expect(id, 0, 2, "newer!"));
	EXPECT_QUEUE(id, 0, 0);
}

/* msgrcv faults while a poller waits on the queue (bound with
 * RIPC_MSG_BIND) and a receiver of another type waits: the poller sees
 * POLLIN, the receiver stays blocked, the message is received first. */
TEST_F_TIMEOUT(put_back, sysv_msgrcv_wakes_a_poller, TIMEOUT)
{
	struct stall *a = &self->st;
	int id = SYS(msg_new(self)), fd = SYS(bind_new(id));

	SYS(snd(id, 1, "polled"));
	CHECK(stall_receive(a, A_MSGRCV, id, 0));
	CHECK(stall_start(a));
	PEER_BLOCKS(1, P_MSGRCV, id, 5, NULL, "the type 5 receiver");
	PEER_BLOCKS(0, P_POLL, fd, 0, NULL, "the poller");
	CHECK(stall_fail(a));
	ASSERT_A_EFAULT();
	EXPECT_OK(peer_polled(self, 0));
	EXPECT_TRUE(peer_blocked(self, 1)) TH_LOG("the type 5 receiver left its msgrcv");
	EXPECT_QUEUE(id, 1, 6);
	SYS(snd(id, 1, "newer"));
	CHECK(msg_expect(id, 0, 1, "polled"));
	CHECK(msg_expect(id, 0, 1, "newer"));
	SYS(snd(id, 5, "five"));
	EXPECT_OK(peer_got_msg(self, 1, "the type 5 receiver", 5, "five"));
	EXPECT_QUEUE(id, 0, 0);
	close(fd);
}

/* No receiver waits: a message taken from the middle (typed msgrcv) goes
 * back to its place, after the older and before the newer ones. */
TEST_F_TIMEOUT(put_back, sysv_msgrcv_without_a_receiver_keeps_its_place, TIMEOUT)
{
	static const struct { long t; const char *s; } order[] = {
		{ 1, "a" }, { 2, "b" }, { 1, "c" }, { 2, "d" }, { 1, "e" },
	};
	struct stall *a = &self->st;
	int id = SYS(msg_new(self));

	SYS(snd(id, 1, "a"));
	SYS(snd(id, 2, "b"));
	SYS(snd(id, 1, "c"));
	CHECK(stall_receive(a, A_MSGRCV, id, 2));
	CHECK(stall_start(a));
	SYS(snd(id, 2, "d"));
	SYS(snd(id, 1, "e"));
	CHECK(stall_fail(a));
	ASSERT_A_EFAULT();
	EXPECT_QUEUE(id, 5, 5);
	for (size_t i = 0; i < ARRAY_SIZE(order); i++)
		CHECK(msg_expect(id, 0, order[i].t, order[i].s));
	EXPECT_QUEUE(id, 0, 0);
}

/* A blocks in a typed msgrcv behind an older message of another type; a
 * send hands its message straight to A (pipelined), whose copy faults:
 * the message goes back where its send put it, after the older message
 * and before the one sent during the stall. */
TEST_F_TIMEOUT(put_back, sysv_handed_over_message_keeps_its_send_order, TIMEOUT)
{
	struct stall *a = &self->st;
	int id = SYS(msg_new(self));

	/* A message in and out first, so that "a" is not the queue's first. */
	SYS(snd(id, 1, "x"));
	CHECK(msg_expect(id, 0, 1, "x"));
	SYS(snd(id, 1, "a"));
	CHECK(stall_receive(a, A_MSGRCV, id, 2));
	CHECK(stall_launch(a));
	CHECK(wait_sleeping(a->tid, SYS_ioctl, SYS_ioctl, "A"));
	SYS(snd(id, 2, "p"));
	CHECK(stall_wait_fault(a));
	SYS(snd(id, 1, "c"));
	CHECK(stall_fail(a));
	ASSERT_A_EFAULT();
	EXPECT_QUEUE(id, 3, 3);
	CHECK(msg_expect(id, 0, 1, "a"));
	CHECK(msg_expect(id, 0, 2, "p"));
	CHECK(msg_expect(id, 0, 1, "c"));
	EXPECT_QUEUE(id, 0, 0);
}

/* A receive batch (types 0, 2, 0, 0) takes four messages; the store of
 * the third faults.  It returns 2; the third message (type 1) goes at once
 * to B, which waits for type 1, before a newer type 1 message; the fourth
 * goes back to the queue.  (No poller: B's own receive wakes pollers.) */
TEST_F_TIMEOUT(put_back, sysv_batch_store_fault_puts_back_the_rest, TIMEOUT)
{
	static struct { long mtype; char mtext[MSGSIZE]; } buf[4];
	static const long typ[4] = { 0, 2, 0, 0 };
	struct stall *a = &self->st;
	int id = SYS(msg_new(self));
	struct ripc_msg_item it[4];

	SYS(snd(id, 1, "m0"));
	SYS(snd(id, 2, "m1"));
	SYS(snd(id, 1, "m2"));
	SYS(snd(id, 3, "m3"));
	CHECK(stall_map(a, 0));
	CHECK(stall_arm(a));
	memset(buf, 0xee, sizeof(buf));
	for (int i = 0; i < 4; i++)
		it[i] = (struct ripc_msg_item){
			PTR(i == 2 ? (void *)a->trap : (void *)&buf[i]), MSGSIZE, typ[i]
		};
	stall_batch(a, A_MSG_BATCH, id, it, 4);
	CHECK(stall_start(a));
	PEER_BLOCKS(0, P_MSGRCV, id, 1, NULL, "B");
	CHECK(stall_fail(a));
	ASSERT_EQ(2, a->ret) TH_LOG("A's batch: %s", a->ret < 0 ? ename(a->err) : "");
	SYS(snd(id, 1, "newer"));
	EXPECT_EQ(2, it[0].msgsz);
	EXPECT_EQ(1, buf[0].mtype);
	EXPECT_EQ(0, memcmp(buf[0].mtext, "m0", 2));
	EXPECT_EQ(2, it[1].msgsz);
	EXPECT_EQ(2, buf[1].mtype);
	EXPECT_EQ(0, memcmp(buf[1].mtext, "m1", 2));
	EXPECT_EQ(MSGSIZE, it[2].msgsz);
	EXPECT_EQ(MSGSIZE, it[3].msgsz);
	EXPECT_EQ((char)0xee, buf[3].mtext[0]);
	EXPECT_OK(peer_got_msg(self, 0, "B", 1, "m2"));
	EXPECT_QUEUE(id, 2, 2 + 5);
	CHECK(msg_expect(id, 0, 3, "m3"));
	CHECK(msg_expect(id, 0, 1, "newer"));
	EXPECT_QUEUE(id, 0, 0);
}

/* A receive batch stores both messages, then the write-back of its items
 * (all in a write-protected page) faults: EFAULT, and both messages go
 * back to the queue in their order; a poller sees POLLIN, a receiver of
 * another type stays blocked. */
TEST_F_TIMEOUT(put_back, sysv_batch_write_back_fault_puts_back_every_message, TIMEOUT)
{
	static struct { long mtype; char mtext[MSGSIZE]; } buf[2];
	struct stall *a = &self->st;
	int id = SYS(msg_new(self)), fd = SYS(bind_new(id));
	struct ripc_msg_item *it;
	struct ripc_queue_stats st;
	__s64 before;

	SYS(snd(id, 1, "zero"));
	CHECK(msg_expect(id, 0, 1, "zero"));
	SYS(ripc_msg_stats(id, &st, 0));
	before = st.last_receive_ns;
	usleep(50000);		/* a few ticks: the batch's receives would show */
	SYS(snd(id, 1, "v0"));
	SYS(snd(id, 1, "v1"));
	CHECK(stall_map(a, 1));
	it = (struct ripc_msg_item *)a->trap;
	for (int i = 0; i < 2; i++)
		it[i] = (struct ripc_msg_item){ PTR(&buf[i]), MSGSIZE, 0 };
	CHECK(stall_arm(a));
	stall_batch(a, A_MSG_BATCH, id, it, 2);
	CHECK(stall_start(a));
	PEER_BLOCKS(1, P_MSGRCV, id, 9, NULL, "the type 9 receiver");
	PEER_BLOCKS(0, P_POLL, fd, 0, NULL, "the poller");
	CHECK(stall_fail(a));
	ASSERT_A_EFAULT();
	EXPECT_OK(peer_polled(self, 0));
	EXPECT_TRUE(peer_blocked(self, 1)) TH_LOG("the type 9 receiver left its msgrcv");
	EXPECT_QUEUE(id, 2, 4);
	/* Its receives are taken back, count and time. */
	SYS(ripc_msg_stats(id, &st, 0));
	EXPECT_EQ(1ULL, st.received);
	EXPECT_EQ(4ULL, st.received_bytes);
	EXPECT_EQ(before, st.last_receive_ns);
	SYS(snd(id, 1, "newer"));
	CHECK(msg_expect(id, 0, 1, "v0"));
	CHECK(msg_expect(id, 0, 1, "v1"));
	CHECK(msg_expect(id, 0, 1, "newer"));
	SYS(snd(id, 9, "nine"));
	EXPECT_OK(peer_got_msg(self, 1, "the type 9 receiver", 9, "nine"));
	EXPECT_QUEUE(id, 0, 0);
	close(fd);
}

/* A's batch of two System V receives (msgtyp t0, then t1) on id, its
 * items in the trap page (their write-back stalls), started: 0, or -1
 * (why says why). */
static int stall_msg_batch2(struct stall *a, int id, long t0, long t1)
{
	static struct { long mtype; char mtext[MSGSIZE]; } buf[2];
	struct ripc_msg_item *it;

	if (stall_map(a, 1))
		return -1;
	it = (struct ripc_msg_item *)a->trap;
	it[0] = (struct ripc_msg_item){ PTR(&buf[0]), MSGSIZE, t0 };
	it[1] = (struct ripc_msg_item){ PTR(&buf[1]), MSGSIZE, t1 };
	if (stall_arm(a))
		return -1;
	stall_batch(a, A_MSG_BATCH, id, it, 2);
	return stall_start(a);
}

/* A batch whose items took two messages by their own searches, the newer
 * first (item 0: type 5, item 1: any type), puts both back when its
 * write-back faults: a receiver of any type that blocked meanwhile gets
 * the older, as if neither had left (they were offered in item order, and
 * it got the newer). */
TEST_F_TIMEOUT(put_back, sysv_batch_put_back_offers_in_send_order, TIMEOUT)
{
	struct stall *a = &self->st;
	int id = SYS(msg_new(self));

	SYS(snd(id, 1, "old"));
	SYS(snd(id, 5, "new"));
	CHECK(stall_msg_batch2(a, id, 5, 0));
	PEER_BLOCKS(0, P_MSGRCV, id, 0, NULL, "the receiver of any type");
	CHECK(stall_fail(a));
	ASSERT_A_EFAULT();
	EXPECT_OK(peer_got_msg(self, 0, "the receiver of any type", 1, "old"));
	EXPECT_QUEUE(id, 1, 3);
	CHECK(msg_expect(id, 0, 5, "new"));
}

/* A batch takes two messages, type 5 (the older) and type 2, and puts
 * both back when its write-back faults: a msgtyp -10 receiver that blocked
 * meanwhile gets the type 2 one, the lowest type, as if neither had left
 * (offered in send order, it got the type 5 one, the first that matched,
 * and a receiver of any type the other); a type 5 receiver that blocked
 * after it gets the type 5 one, and the receiver of any type, which blocked
 * last, waits for the next message. */
TEST_F_TIMEOUT(put_back, sysv_put_back_gives_a_negative_type_receiver_the_lowest_type, TIMEOUT)
{
	struct stall *a = &self->st;
	int id = SYS(msg_new(self));

	SYS(snd(id, 5, "five"));
	SYS(snd(id, 2, "two"));
	CHECK(stall_msg_batch2(a, id, 0, 0));
	PEER_BLOCKS(0, P_MSGRCV, id, -10, NULL, "the msgtyp -10 receiver");
	PEER_BLOCKS(1, P_MSGRCV, id, 5, NULL, "the type 5 receiver");
	PEER_BLOCKS(2, P_MSGRCV, id, 0, NULL, "the receiver of any type");
	CHECK(stall_fail(a));
	ASSERT_A_EFAULT();
	EXPECT_OK(peer_got_msg(self, 0, "the msgtyp -10 receiver", 2, "two"));
	EXPECT_OK(peer_got_msg(self, 1, "the type 5 receiver", 5, "five"));
	EXPECT_TRUE(peer_blocked(self, 2)) TH_LOG("the receiver of any type left its msgrcv");
	EXPECT_QUEUE(id, 0, 0);
	SYS(snd(id, 7, "seven"));
	EXPECT_OK(peer_got_msg(self, 2, "the receiver of any type", 7, "seven"));
	EXPECT_QUEUE(id, 0, 0);
}

/* A full queue (msg_qbytes 8, two 4-byte messages) with two blocked
 * senders: A's msgrcv takes q0q0 and its copy stalls.  The room is free at
 * once, as native's: both senders are woken (ss_wakeup), one gets in, the
 * other sleeps again.  A's EFAULT puts q0q0 back in its old place although
 * the queue is full: msg_cbytes 12 is above msg_qbytes until it is
 * drained, and the other sender gets in only when there is room; every
 * message is received once, q0q0 first. */
TEST_F_TIMEOUT(put_back, sysv_room_is_free_at_once_and_a_put_back_may_pass_qbytes, TIMEOUT)
{
	static const char *const text[] = { "x1x1", "x2x2" };
	struct stall *a = &self->st;
	int id = SYS(msg_new(self)), first = -1;
	struct msqid_ds s = stat_q(id);

	s.msg_qbytes = 8;
	SYS(ripc_msgctl(id, IPC_SET, &s));
	SYS(snd(id, 1, "q0q0"));
	SYS(snd(id, 1, "q1q1"));
	PEER_BLOCKS(0, P_MSGSND, id, 1, text[0], "sender 1");
	PEER_BLOCKS(1, P_MSGSND, id, 1, text[1], "sender 2");
	CHECK(stall_receive(a, A_MSGRCV, id, 0));
	CHECK(stall_start(a));
	for (int i = 0; i < WAIT_MS && first < 0; i++) {
		if (peer_exited(self, 0))
			first = 0;
		else if (peer_exited(self, 1))
			first = 1;
		else
			usleep(1000);
	}
	ASSERT_LE(0, first) TH_LOG("no sender got the room A's message left");
	EXPECT_EQ(0, peer_wait(self, first, WAIT_MS));
	EXPECT_EQ(0, self->peer[first].ret) TH_LOG("%s", ename(self->peer[first].err));
	CHECK(peer_wait_sleeping(self, 1 - first, P_MSGSND, "the other sender"));
	EXPECT_QUEUE(id, 2, 8);
	CHECK(stall_fail(a));
	ASSERT_A_EFAULT();
	EXPECT_QUEUE(id, 3, 12);
	EXPECT_TRUE(peer_blocked(self, 1 - first)) TH_LOG("a sender got into a queue above qbytes");
	CHECK(msg_expect(id, 0, 1, "q0q0"));
	EXPECT_QUEUE(id, 2, 8);
	EXPECT_TRUE(peer_blocked(self, 1 - first)) TH_LOG("a sender got into a full queue");
	CHECK(msg_expect(id, 0, 1, "q1q1"));
	CHECK(msg_expect(id, 0, 1, text[first]));
	CHECK(msg_expect(id, 0, 1, text[1 - first]));
	EXPECT_EQ(0, peer_wait(self, 1 - first, WAIT_MS)) TH_LOG("the other sender");
	EXPECT_EQ(0, self->peer[1 - first].ret)
		TH_LOG("the other sender: %s", ename(self->peer[1 - first].err));
	EXPECT_QUEUE(id, 0, 0);
}

TEST_HARNESS_MAIN
