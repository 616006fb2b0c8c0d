// SPDX-License-Identifier: GPL-2.0
/*
 * Native edge cases, each test run on the native queues (glibc mq_* and
 * msg*) and on rust_ipc (libripc) in the same boot, the native run being
 * the oracle (Linux 7.3 ipc/mqueue.c, ipc/msg.c):
 *
 * - real-time waiters: blocked POSIX senders and receivers wait in
 *   task->prio order (wq_add: the highest priority first, FIFO among
 *   equals; SCHED_FIFO before SCHED_OTHER, and by nice within SCHED_OTHER);
 *   System V receivers are handed messages in arrival order whatever
 *   their priority, and System V senders all woken for room, the most
 *   urgent running first (compared with native's order in the same test);
 * - the memory cgroup: messages are charged to the sender's memory cgroup
 *   (GFP_KERNEL_ACCOUNT); at memory.max a send fails with ENOMEM (the
 *   filler is exempt from the OOM killer, oom_score_adj -1000, so the
 *   charge fails instead of killing it), the charge shows in
 *   memory.current and never passes memory.max;
 * - mq_notify and exec: an owner that has exec'd since it registered (from
 *   its leader or from another thread) is not signalled (self_exec_id), and
 *   an exec that closes the owner's descriptor drops the registration (the
 *   control: the exec'd image's own registration is signalled);
 * - System V details: MSG_STAT/MSG_STAT_ANY take the index modulo IPCMNI
 *   (ipcid_to_idx); a blocked sender woken by IPC_RMID gets EIDRM even if
 *   its write permission was revoked (after a sleep the queue is checked
 *   first), while IPC_SET wakes the senders that now fit and every
 *   receiver, and each re-checks its permission first (EACCES);
 *   IPC_INFO/MSG_INFO values and return values.
 */
#include "ripc_backends.h"

#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/resource.h>

#define IPCMNI 32768
#define NQ 32			/* queues a memory cgroup fill or test may use */
#define NKIDS 32
#define CGROOT "/sys/fs/cgroup"
#define CG_MAX (8L << 20)	/* memory.max of the test's cgroup */
#define SV_QBYTES (3 << 20)	/* System V fill: msg_qbytes of each queue */
#define SV_MSGSZ 8192		/* ... and its messages (msgmax) */
#define MQ_MAXMSG 48		/* POSIX fill: 48 x 64 KiB = 3 MiB per queue */
#define MQ_MSGSIZE 65536
#define EXEC_ENV "RIPC_EDGE_EXEC"

/* ---- helpers ------------------------------------------------------------ */

/* Zeroed memory shared with forked children. */
static void *shared(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, n);
	return p;
}

/* One byte from fd within ms milliseconds, or -1 (timeout, EOF, error). */
static int read_byte(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	unsigned char c;

	if (poll(&p, 1, ms) != 1 || read(fd, &c, 1) != 1)
		return -1;
	return c;
}

/* ---- the fixture ---------------------------------------------------------- */

enum sysv_limit { L_MSGMAX, L_MSGMNB, L_MSGMNI, NSVLIMITS };

/* kernel.msgmax/msgmnb/msgmni of backend b: set to val if val > 0; the old value. */
static long sysv_limit(const struct msg_backend *b, enum sysv_limit l, long val)
{
	static const char *const path[] = {
		"/proc/sys/kernel/msgmax", "/proc/sys/kernel/msgmnb", "/proc/sys/kernel/msgmni",
	};
	static const size_t off[] = {
		offsetof(struct ripc_limits, msgmax), offsetof(struct ripc_limits, msgmnb),
		offsetof(struct ripc_limits, msgmni),
	};

	return b == &native_msg_be ? sysctl_rw(path[l], val) : ripc_limit(off[l], val);
}

/* msg_next_id of backend b's namespace: the next created queue gets id. */
static int set_next_id(const struct msg_backend *b, int id)
{
	char v[16];
	int old;

	if (b != &native_msg_be)
		return ripc_msg_next_id(&old, &id);
	snprintf(v, sizeof(v), "%d", id);
	return write_file("/proc/sys/kernel/msg_next_id", v);
}

FIXTURE(edge) {
	const struct mq_backend *posix;
	const struct msg_backend *sysv;
	char name[NQ][64];	/* POSIX names, unlinked at teardown */
	int ids[NQ + 8];	/* System V ids, removed at teardown */
	int nids;
	pid_t kids[NKIDS];	/* children not reaped yet, SIGKILLed at teardown */
	char cg[128];		/* the test's cgroup, removed at teardown */
	char cg2[128];		/* a second one, removed at teardown */
	long saved[NSVLIMITS];	/* System V limits to restore, if > 0 */
};

FIXTURE_VARIANT(edge) {
	const struct mq_backend *posix;
	const struct msg_backend *sysv;
};

FIXTURE_VARIANT_ADD(edge, native) { .posix = &native_mq_be, .sysv = &native_msg_be };
FIXTURE_VARIANT_ADD(edge, ripc) { .posix = &ripc_mq_be, .sysv = &ripc_msg_be };

FIXTURE_SETUP(edge)
{
	self->posix = variant->posix;
	self->sysv = variant->sysv;
	if (self->posix->probe() || self->sysv->probe())
		SKIP(return, "%s message queues unavailable: %s", self->posix->name,
		     strerrorname_np(errno));
	for (int i = 0; i < NQ; i++)
		snprintf(self->name[i], sizeof(self->name[i]), "/ripc_edge_%d_%d", getpid(), i);
}

FIXTURE_TEARDOWN(edge)
{
	for (int i = 0; i < NKIDS; i++)
		if (self->kids[i] > 0) {
			kill(self->kids[i], SIGKILL);
			waitpid(self->kids[i], NULL, 0);
		}
	for (int i = 0; i < self->nids; i++)
		self->sysv->ctl(self->ids[i], IPC_RMID, NULL);
	for (int i = 0; i < NQ; i++)
		self->posix->unlink(self->name[i]);
	for (int i = 0; i < NSVLIMITS; i++)
		if (self->saved[i] > 0)
			sysv_limit(self->sysv, i, self->saved[i]);
	if (self->cg[0])
		for (int i = 0; i < 200 && rmdir(self->cg) && errno == EBUSY; i++)
			usleep(10000);
	if (self->cg2[0])
		for (int i = 0; i < 200 && rmdir(self->cg2) && errno == EBUSY; i++)
			usleep(10000);
}

/* In test bodies: the variant's two backends. */
#define posix (self->posix)
#define sysv (self->sysv)

/* Remembers a child for teardown (which SIGKILLs it if it is still there). */
static void track(FIXTURE_DATA(edge) *self, pid_t pid)
{
	for (int i = 0; i < NKIDS; i++)
		if (!self->kids[i]) {
			self->kids[i] = pid;
			return;
		}
}

/* wait_child() for a tracked child. */
static int reap(FIXTURE_DATA(edge) *self, pid_t pid)
{
	for (int i = 0; i < NKIDS; i++)
		if (self->kids[i] == pid)
			self->kids[i] = 0;
	return wait_child(pid);
}

/* Remembers a System V queue for teardown. */
static int keep_id(FIXTURE_DATA(edge) *self, int id)
{
	if (id >= 0 && self->nids < (int)ARRAY_SIZE(self->ids))
		self->ids[self->nids++] = id;
	return id;
}

/* A System V queue (IPC_PRIVATE, mode), removed at teardown. */
#define MKQ(mode) keep_id(self, SYS(sysv->get(IPC_PRIVATE, IPC_CREAT | (mode))))

#define STAT(id) STAT_WITH(sysv->ctl, id)
#define ASSERT_QUEUE(id, qnum, cbytes) ASSERT_QUEUE_WITH(sysv->ctl, id, qnum, cbytes)

/* IPC_SET of owner uid, mode and msg_qbytes (as root). */
#define SET(id, owner, perms, bytes) do { \
	struct msqid_ds __s = STAT(id); \
	__s.msg_perm.uid = (owner); \
	__s.msg_perm.mode = (perms); \
	__s.msg_qbytes = (bytes); \
	SYS(sysv->ctl(id, IPC_SET, &__s)); \
} while (0)

/* Sets a System V limit for the rest of the test; teardown restores it. */
#define SET_SVLIMIT(l, val) do { \
	long __old = sysv_limit(sysv, l, 0); \
	ASSERT_LT(0, __old); \
	if (!self->saved[l]) \
		self->saved[l] = __old; \
	long __set = sysv_limit(sysv, l, val); \
	int __e = errno; \
	ASSERT_EQ(__old, __set) TH_LOG("cannot set limit %d: %s", l, strerrorname_np(__e)); \
	ASSERT_EQ((long)(val), sysv_limit(sysv, l, 0)); \
} while (0)

/* ---- real-time waiters ------------------------------------------------------ */

/* A waiter's scheduling: SCHED_FIFO with priority prio, or SCHED_OTHER with nice prio. */
struct waiter {
	int policy;
	int prio;
};

static int become_waiter(const struct waiter *w)
{
	struct sched_param sp = { .sched_priority = w->policy == SCHED_OTHER ? 0 : w->prio };

	if (sched_setscheduler(0, w->policy, &sp))
		return -1;
	return w->policy == SCHED_OTHER ? setpriority(PRIO_PROCESS, 0, w->prio) : 0;
}

/* Whether a child of this process may become SCHED_FIFO. */
static int rt_allowed(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct sched_param sp = { .sched_priority = 1 };

		_exit(sched_setscheduler(0, SCHED_FIFO, &sp) ? 1 : 0);
	}
	return pid > 0 && wait_child(pid) == 0;
}

/*
 * Pins the test (so every child it forks) to CPU 0, and SKIPs if SCHED_FIFO
 * is not allowed.  On one CPU the RT waiters run as soon as they are woken,
 * the parent (SCHED_OTHER) when they have blocked.
 */
#define REQUIRE_RT() do { \
	cpu_set_t __set; \
	REQUIRE_ROOT(); \
	CPU_ZERO(&__set); \
	CPU_SET(0, &__set); \
	SYS(sched_setaffinity(0, sizeof(__set), &__set)); \
	if (!rt_allowed()) \
		SKIP(return, "SCHED_FIFO not allowed"); \
} while (0)

/* What a waiter child does once it runs with its scheduling: i is its rank of arrival. */
typedef void (*wait_op)(FIXTURE_DATA(edge) *self, int q, int i, int *got);

/*
 * Forks a child per waiter, in order, each blocked (in op on q) before the
 * next is forked, so that they block in that order.
 */
static void start_waiters(struct __test_metadata *_metadata, FIXTURE_DATA(edge) *self,
			  const struct waiter *w, int n, wait_op op, int q, int *got)
{
	ASSERT_NE(NULL, got);
	for (int i = 0; i < n; i++)
		got[i] = -1;
	for (int i = 0; i < n; i++) {
		pid_t pid = fork_child();

		ASSERT_LE(0, pid);
		if (pid == 0) {
			CHILD_CHECK(become_waiter(&w[i]) == 0);
			op(self, q, i, got);
			_exit(0);
		}
		track(self, pid);
		ASSERT_EQ(0, wait_blocked(pid)) TH_LOG("waiter %d did not block", i);
	}
}

static void reap_waiters(struct __test_metadata *_metadata, FIXTURE_DATA(edge) *self)
{
	for (int i = 0; i < NKIDS; i++) {
		if (self->kids[i] > 0) {
			ASSERT_EQ(0, reap(self, self->kids[i]));
		}
	}
}

/* got[i]: the number of the message ("m<number>") waiter i received. */
static void posix_receive(FIXTURE_DATA(edge) *self, int q, int i, int *got)
{
	char buf[16];

	CHILD_CHECK(posix->receive(q, buf, sizeof(buf), NULL) == 2 && buf[0] == 'm');
	got[i] = buf[1] - '0';
}

/* Sends "s<i>". */
static void posix_send(FIXTURE_DATA(edge) *self, int q, int i, int *got)
{
	char msg[2] = { 's', (char)('0' + i) };

	(void)got;
	CHILD_CHECK(posix->send(q, msg, 2, 0) == 0);
}

static void sysv_receive(FIXTURE_DATA(edge) *self, int q, int i, int *got)
{
	struct mbuf m;

	CHILD_CHECK(sysv->rcv(q, &m, sizeof(m.mtext), 0, 0) == 2 && m.mtext[0] == 'm');
	got[i] = m.mtext[1] - '0';
}

/* Logs who was served when, then checks that waiter order[k] was served k-th
 * (got the k-th message, or had its message received k-th). */
#define ASSERT_SERVED(got, order, n) do { \
	for (int __k = 0; __k < (n); __k++) \
		TH_LOG("%s: waiter %d served as number %d", posix->name, __k, (got)[__k] + 1); \
	for (int __k = 0; __k < (n); __k++) { \
		ASSERT_EQ(__k, (got)[(order)[__k]]) \
			TH_LOG("waiter %d should have been served as number %d", (order)[__k], __k + 1); \
	} \
} while (0)

/*
 * Waiters blocked in this order: SCHED_OTHER, then SCHED_FIFO 10, 30, 20, 30.
 * Native (wq_add): 30 (the first), 30 (the second), 20, 10, SCHED_OTHER.
 */
static const struct waiter rt5[] = {
	{ SCHED_OTHER, 0 }, { SCHED_FIFO, 10 }, { SCHED_FIFO, 30 }, { SCHED_FIFO, 20 },
	{ SCHED_FIFO, 30 },
};
static const int rt5_order[] = { 2, 4, 3, 1, 0 };

/*
 * Blocks the n waiters w[] (in that order) in a receive on an empty POSIX
 * queue, then sends "m0", "m1", ...: waiter order[k] must get the k-th.
 */
static void posix_receivers_served(struct __test_metadata *_metadata, FIXTURE_DATA(edge) *self,
				   const struct waiter *w, int n, const int *order)
{
	struct mq_attr a = { .mq_maxmsg = 8, .mq_msgsize = 16 };
	int *got = shared(sizeof(int) * n);
	mqd_t q;

	q = SYS(posix->open(self->name[0], O_RDWR | O_CREAT | O_EXCL, 0600, &a));
	start_waiters(_metadata, self, w, n, posix_receive, q, got);
	for (int k = 0; k < n; k++) {
		char msg[2] = { 'm', (char)('0' + k) };

		SYS(posix->send(q, msg, 2, 0));
	}
	reap_waiters(_metadata, self);
	ASSERT_SERVED(got, order, n);
}

TEST_F(edge, posix_blocked_receivers_are_served_by_priority_then_fifo)
{
	REQUIRE_RT();
	posix_receivers_served(_metadata, self, rt5, ARRAY_SIZE(rt5), rt5_order);
}

TEST_F(edge, posix_blocked_senders_are_served_by_priority_then_fifo)
{
	struct mq_attr a = { .mq_maxmsg = 1, .mq_msgsize = 16 };
	int got[ARRAY_SIZE(rt5)], unused[ARRAY_SIZE(rt5)];
	char buf[16];
	mqd_t q;

	REQUIRE_RT();
	q = SYS(posix->open(self->name[0], O_RDWR | O_CREAT | O_EXCL, 0600, &a));
	SYS(posix->send(q, "full", 4, 0));
	start_waiters(_metadata, self, rt5, ARRAY_SIZE(rt5), posix_send, q, unused);
	memset(got, 0xff, sizeof(got));
	/* Each receive makes room for one sender: whose message comes next. */
	ASSERT_EQ(4, posix->receive(q, buf, sizeof(buf), NULL));
	for (int k = 0; k < (int)ARRAY_SIZE(rt5); k++) {
		struct timespec dl = deadline_ms(3000);

		ASSERT_EQ(2, posix->timedreceive(q, buf, sizeof(buf), NULL, &dl));
		ASSERT_EQ('s', buf[0]);
		got[buf[1] - '0'] = k;
	}
	reap_waiters(_metadata, self);
	ASSERT_SERVED(got, rt5_order, (int)ARRAY_SIZE(rt5));
}

/* SCHED_OTHER waiters are ordered by nice (task->prio = 120 + nice). */
TEST_F(edge, posix_blocked_receivers_of_normal_policy_are_served_by_nice)
{
	static const struct waiter w[] = {
		{ SCHED_OTHER, 10 }, { SCHED_OTHER, 0 }, { SCHED_OTHER, -10 }, { SCHED_OTHER, 0 },
	};
	static const int order[] = { 2, 1, 3, 0 };

	REQUIRE_RT();
	posix_receivers_served(_metadata, self, w, ARRAY_SIZE(w), order);
}

/*
 * A waiter's priority is read as it is when the next one blocks (wq_add
 * reads each waiter's task->prio): A and B block at nice 0, A is reniced
 * to -20 while it waits, then C blocks at nice -10.  Native: A (now the
 * most urgent), C, B.  (Ordered by the priorities they blocked with, C
 * went before both.)
 */
TEST_F(edge, posix_a_waiter_reniced_while_it_waits_keeps_its_new_place)
{
	static const struct waiter w[] = {
		{ SCHED_OTHER, 0 }, { SCHED_OTHER, 0 }, { SCHED_OTHER, -10 },
	};
	static const int order[] = { 0, 2, 1 };
	struct mq_attr a = { .mq_maxmsg = 8, .mq_msgsize = 16 };
	int *got = shared(sizeof(int) * ARRAY_SIZE(w));
	mqd_t q;

	REQUIRE_RT();
	q = SYS(posix->open(self->name[0], O_RDWR | O_CREAT | O_EXCL, 0600, &a));
	start_waiters(_metadata, self, w, 2, posix_receive, q, got);
	SYS(setpriority(PRIO_PROCESS, self->kids[0], -20));
	got[2] = -1;
	start_waiters(_metadata, self, &w[2], 1, posix_receive, q, got + 2);
	for (int k = 0; k < (int)ARRAY_SIZE(w); k++) {
		char msg[2] = { 'm', (char)('0' + k) };

		SYS(posix->send(q, msg, 2, 0));
	}
	reap_waiters(_metadata, self);
	ASSERT_SERVED(got, order, (int)ARRAY_SIZE(w));
}

/* System V receivers are served in arrival order whatever their priority. */
TEST_F(edge, sysv_blocked_receivers_are_served_fifo_whatever_the_priority)
{
	static const int fifo[] = { 0, 1, 2, 3, 4 };
	int *got = shared(sizeof(int) * ARRAY_SIZE(rt5));
	int id;

	REQUIRE_RT();
	id = MKQ(0600);
	start_waiters(_metadata, self, rt5, ARRAY_SIZE(rt5), sysv_receive, id, got);
	for (int k = 0; k < (int)ARRAY_SIZE(rt5); k++) {
		char msg[3] = { 'm', (char)('0' + k), 0 };

		SYS(snd(sysv, id, 1, msg, 0));
	}
	reap_waiters(_metadata, self);
	ASSERT_SERVED(got, fifo, (int)ARRAY_SIZE(rt5));
	ASSERT_QUEUE(id, 0, 0);
}

/* Sends "s<i>" to a System V queue (blocking). */
static void sysv_send(FIXTURE_DATA(edge) *self, int q, int i, int *got)
{
	char msg[3] = { 's', (char)('0' + i), 0 };

	(void)got;
	CHILD_CHECK(snd(sysv, q, 1, msg, 0) == 0);
}

/*
 * System V senders blocked on a full queue (rt5, in that order; a queue of
 * one 2-byte message), then each receive makes room for one: got[i] is the
 * place in which sender i's message came.
 */
static void sysv_senders_served(struct __test_metadata *_metadata, FIXTURE_DATA(edge) *self,
				int *got)
{
	int unused[ARRAY_SIZE(rt5)];
	struct msqid_ds ds;
	struct mbuf m;
	int id;

	/* Not kept for the teardown, which removes with the variant's backend. */
	id = SYS(sysv->get(IPC_PRIVATE, IPC_CREAT | 0600));
	SYS(sysv->ctl(id, IPC_STAT, &ds));
	ds.msg_qbytes = 2;
	SYS(sysv->ctl(id, IPC_SET, &ds));
	SYS(snd(sysv, id, 1, "fu", 0));
	start_waiters(_metadata, self, rt5, ARRAY_SIZE(rt5), sysv_send, id, unused);
	for (int i = 0; i < (int)ARRAY_SIZE(rt5); i++)
		got[i] = -1;
	memset(&m, 0, sizeof(m));
	ASSERT_EQ(2, sysv->rcv(id, &m, sizeof(m.mtext), 0, 0));
	ASSERT_EQ(0, memcmp(m.mtext, "fu", 2));
	for (int k = 0; k < (int)ARRAY_SIZE(rt5); k++) {
		memset(&m, 0, sizeof(m));
		ASSERT_EQ(2, sysv->rcv(id, &m, sizeof(m.mtext), 0, 0));
		ASSERT_EQ('s', m.mtext[0]);
		ASSERT_LE('0', m.mtext[1]);
		ASSERT_GE('4', m.mtext[1]);
		ASSERT_EQ(-1, got[m.mtext[1] - '0']);
		got[m.mtext[1] - '0'] = k;
	}
	reap_waiters(_metadata, self);
	ASSERT_QUEUE(id, 0, 0);
	SYS(sysv->ctl(id, IPC_RMID, NULL));
}

/*
 * System V senders blocked on a full queue: a receive that makes room
 * wakes every sender whose message fits (ss_wakeup), the first to run
 * takes the room, the others sleep again.  Native wakes them in an RCU
 * read-side section: where it is not preemptible (no CONFIG_PREEMPT_RCU,
 * as on the project's kernels), all are woken before any runs, and on one
 * CPU the most urgent runs first (by priority, then in arrival order, as
 * POSIX's); where it is, the first woken may run at once.  rust_ipc's
 * senders must come in native's order, run in the same test.
 */
TEST_F(edge, sysv_blocked_senders_are_served_in_natives_order)
{
	const struct msg_backend *mine = sysv;
	int want[ARRAY_SIZE(rt5)], got[ARRAY_SIZE(rt5)];

	REQUIRE_RT();
	sysv = &native_msg_be;
	sysv_senders_served(_metadata, self, want);
	sysv = mine;
	for (int k = 0; k < (int)ARRAY_SIZE(rt5); k++)
		TH_LOG("native: sender %d served as number %d", k, want[k] + 1);
	if (mine == &native_msg_be)
		return;
	sysv_senders_served(_metadata, self, got);
	for (int k = 0; k < (int)ARRAY_SIZE(rt5); k++) {
		ASSERT_EQ(want[k], got[k]) TH_LOG("%s: sender %d served as number %d, native's as %d",
						   sysv->name, k, got[k] + 1, want[k] + 1);
	}
}

/* ---- a waiter woken with a signal pending ----------------------------------- */

static void on_usr1(int sig)
{
	(void)sig;
}

/* SIGUSR1 caught by a handler without SA_RESTART. */
static void catch_usr1(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };

	sigaction(SIGUSR1, &sa, NULL);
}

/* got[i]: 0 if the send of "y" succeeded, else its errno. */
static void sysv_send_caught(FIXTURE_DATA(edge) *self, int q, int i, int *got)
{
	catch_usr1();
	got[i] = snd(sysv, q, 2, "y", 0) ? errno : 0;
}

static void posix_send_caught(FIXTURE_DATA(edge) *self, int q, int i, int *got)
{
	catch_usr1();
	got[i] = posix->send(q, "y", 1, 0) ? errno : 0;
}

/* got[i]: the length received, else -errno. */
static void sysv_receive_caught(FIXTURE_DATA(edge) *self, int q, int i, int *got)
{
	struct mbuf m;
	long r;

	catch_usr1();
	r = sysv->rcv(q, &m, sizeof(m.mtext), 0, 0);
	got[i] = r < 0 ? -errno : m.mtext[0] == 'm' ? (int)r : 0;
}

static void posix_receive_caught(FIXTURE_DATA(edge) *self, int q, int i, int *got)
{
	char buf[16];
	long r;

	catch_usr1();
	r = posix->receive(q, buf, sizeof(buf), NULL);
	got[i] = r < 0 ? -errno : buf[0] == 'm' ? (int)r : 0;
}

static const struct waiter fifo10 = { SCHED_FIFO, 10 };

/*
 * The waiter (SCHED_FIFO 10, blocked, on CPU 0) is woken by what the test
 * does as SCHED_FIFO 20 on the same CPU, then signalled before it can run:
 * it wakes with the signal pending.
 */
#define SERVE_THEN_SIGNAL(serve) do { \
	struct sched_param __sp = { .sched_priority = 20 }; \
	SYS(sched_setscheduler(0, SCHED_FIFO, &__sp)); \
	serve; \
	SYS(kill(self->kids[0], SIGUSR1)); \
	__sp.sched_priority = 0; \
	SYS(sched_setscheduler(0, SCHED_OTHER, &__sp)); \
	reap_waiters(_metadata, self); \
} while (0)

/*
 * A System V sender woken for room looks for a signal before it looks for
 * room again (do_msgsnd: "raced with RMID?", then signal_pending): EINTR,
 * and its message is not sent, although there is room.
 */
TEST_F(edge, sysv_sender_woken_for_room_with_a_signal_pending_gets_eintr)
{
	int *got = shared(sizeof(int)), id;
	struct mbuf m;

	REQUIRE_RT();
	id = MKQ(0600);
	SET(id, 0, 0600, 4);
	SYS(snd(sysv, id, 1, "full", IPC_NOWAIT));
	start_waiters(_metadata, self, &fifo10, 1, sysv_send_caught, id, got);
	SERVE_THEN_SIGNAL(ASSERT_EQ(4, sysv->rcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT)));
	ASSERT_EQ(EINTR, *got);
	ASSERT_QUEUE(id, 0, 0);
}

/* A System V receiver handed a message keeps it, signal or not. */
TEST_F(edge, sysv_receiver_handed_a_message_with_a_signal_pending_returns_it)
{
	int *got = shared(sizeof(int)), id;

	REQUIRE_RT();
	id = MKQ(0600);
	start_waiters(_metadata, self, &fifo10, 1, sysv_receive_caught, id, got);
	SERVE_THEN_SIGNAL(SYS(snd(sysv, id, 1, "m1", 0)));
	ASSERT_EQ(2, *got);
	ASSERT_QUEUE(id, 0, 0);
}

/*
 * A POSIX sender is sent by the receive that makes room
 * (pipelined_receive, STATE_READY): it succeeds, signal or not.
 */
TEST_F(edge, posix_sender_let_in_with_a_signal_pending_has_sent)
{
	struct mq_attr a = { .mq_maxmsg = 1, .mq_msgsize = 16 };
	int *got = shared(sizeof(int));
	char buf[16];
	mqd_t q;

	REQUIRE_RT();
	q = SYS(posix->open(self->name[0], O_RDWR | O_CREAT | O_EXCL, 0600, &a));
	SYS(posix->send(q, "full", 4, 0));
	start_waiters(_metadata, self, &fifo10, 1, posix_send_caught, q, got);
	SERVE_THEN_SIGNAL(ASSERT_EQ(4, posix->receive(q, buf, sizeof(buf), NULL)));
	ASSERT_EQ(0, *got);
	ASSERT_EQ(1, posix->receive(q, buf, sizeof(buf), NULL));
	ASSERT_EQ('y', buf[0]);
}

TEST_F(edge, posix_receiver_handed_a_message_with_a_signal_pending_returns_it)
{
	struct mq_attr a = { .mq_maxmsg = 1, .mq_msgsize = 16 };
	int *got = shared(sizeof(int));
	struct mq_attr now;
	mqd_t q;

	REQUIRE_RT();
	q = SYS(posix->open(self->name[0], O_RDWR | O_CREAT | O_EXCL, 0600, &a));
	start_waiters(_metadata, self, &fifo10, 1, posix_receive_caught, q, got);
	SERVE_THEN_SIGNAL(SYS(posix->send(q, "m1", 2, 0)));
	ASSERT_EQ(2, *got);
	SYS(posix->getattr(q, &now));
	ASSERT_EQ(0, now.mq_curmsgs);
}

/* sysv_receive_caught, as uid 1000 with no capability. */
static void sysv_receive_caught_as_user(FIXTURE_DATA(edge) *self, int q, int i, int *got)
{
	CHILD_CHECK(setresgid(1000, 1000, 1000) == 0 && setresuid(1000, 1000, 1000) == 0);
	sysv_receive_caught(self, q, i, got);
}

/* Serves as SCHED_FIFO 20 on the waiter's CPU: it runs only after. */
#define AS_FIFO20(serve) do { \
	struct sched_param __sp = { .sched_priority = 20 }; \
	SYS(sched_setscheduler(0, SCHED_FIFO, &__sp)); \
	serve; \
	__sp.sched_priority = 0; \
	SYS(sched_setscheduler(0, SCHED_OTHER, &__sp)); \
} while (0)

/*
 * IPC_SET wakes the blocked System V receivers to look again
 * (expunge_all(-EAGAIN)) but leaves them on the queue's receiver list
 * until they run: a receiver that wakes with a signal pending returns
 * EINTR (do_msgrcv looks for a signal before it looks at the queue again,
 * here at a mode it may no longer read: rust_ipc's gave EACCES).
 */
TEST_F(edge, sysv_receiver_woken_by_ipc_set_with_a_signal_pending_gets_eintr)
{
	int *got = shared(sizeof(int)), id;

	REQUIRE_RT();
	id = MKQ(0666);
	start_waiters(_metadata, self, &fifo10, 1, sysv_receive_caught_as_user, id, got);
	SERVE_THEN_SIGNAL(SET(id, 0, 0600, 16384));
	ASSERT_EQ(-EINTR, *got);
}

/* ... and one that the queue's removal reaches before it runs gets EIDRM
 * (rust_ipc's looked again: EACCES). */
TEST_F(edge, sysv_receiver_woken_by_ipc_set_then_removal_gets_eidrm)
{
	int *got = shared(sizeof(int)), id;

	REQUIRE_RT();
	id = MKQ(0666);
	start_waiters(_metadata, self, &fifo10, 1, sysv_receive_caught_as_user, id, got);
	AS_FIFO20({
		SET(id, 0, 0600, 16384);
		SYS(sysv->ctl(id, IPC_RMID, NULL));
	});
	reap_waiters(_metadata, self);
	ASSERT_EQ(-EIDRM, *got);
}

/* ... and a message sent before it runs is handed to it (pipelined_send):
 * the queue shows none, and msg_lrpid is the receiver's (rust_ipc's queued
 * it, for any receiver to take). */
TEST_F(edge, sysv_receiver_woken_by_ipc_set_is_handed_a_message_sent_before_it_runs)
{
	int *got = shared(sizeof(int)), id;
	struct msqid_ds ds;
	pid_t receiver;

	REQUIRE_RT();
	id = MKQ(0666);
	start_waiters(_metadata, self, &fifo10, 1, sysv_receive_caught, id, got);
	receiver = self->kids[0];
	AS_FIFO20({
		SET(id, 0, 0666, 16384);
		SYS(snd(sysv, id, 1, "m1", 0));
		ds = STAT(id);
	});
	reap_waiters(_metadata, self);
	EXPECT_EQ(0UL, (unsigned long)ds.msg_qnum);
	EXPECT_EQ(receiver, ds.msg_lrpid);
	ASSERT_EQ(2, *got);
	ASSERT_QUEUE(id, 0, 0);
}

/*
 * A real-time caller and a preempted lower-priority one (no unbounded
 * priority inversion).  On CPU 0: L (SCHED_OTHER) sends and receives on a
 * queue without a pause; M (SCHED_FIFO 50) wakes every PI_PERIOD_MS and
 * spins for PI_SPIN_MS, preempting L wherever it is; 2 ms into each spin H
 * (SCHED_FIFO 90) sends and receives on the same queue.  Native takes the
 * queue's spinlock with preemption disabled, so M never preempts L inside
 * it and H never waits for M's spin; a queue lock that L could hold while
 * preempted (a plain mutex) would make H wait until M stops spinning.
 */
#define PI_ROUNDS 10
#define PI_PERIOD_MS 250
#define PI_SPIN_MS 150
#define PI_LIMIT_MS 50		/* H's send + receive, at most (TCG's hiccups included) */
#define PI_MSGSZ 2048		/* long enough for L to be often inside the lock */

struct pi_run {
	volatile int stop;	/* L stops */
	long t0;		/* CLOCK_MONOTONIC ns of round 0 */
	long worst_ns;		/* H's slowest send + receive */
	int slow;		/* H's rounds over PI_LIMIT_MS */
	long l_ops;		/* L's sends + receives */
};

/* One send and one receive of PI_MSGSZ bytes on q; 0, or -1 with errno. */
typedef int (*pi_op)(FIXTURE_DATA(edge) *self, int q, int nowait);

static int pi_posix(FIXTURE_DATA(edge) *self, int q, int nowait)
{
	char buf[PI_MSGSZ] = "pi";
	struct timespec dl = deadline_ms(3000);

	(void)nowait;
	if (posix->timedsend(q, buf, sizeof(buf), 1, &dl))
		return -1;
	return posix->timedreceive(q, buf, sizeof(buf), NULL, &dl) == sizeof(buf) ? 0 : -1;
}

static int pi_sysv(FIXTURE_DATA(edge) *self, int q, int nowait)
{
	struct {
		long mtype;
		char mtext[PI_MSGSZ];
	} m = { .mtype = 1, .mtext = "pi" };
	int flg = nowait ? IPC_NOWAIT : 0;

	if (sysv->snd(q, &m, sizeof(m.mtext), flg))
		return -1;
	return sysv->rcv(q, &m, sizeof(m.mtext), 0, flg) == sizeof(m.mtext) ? 0 : -1;
}

static long mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void sleep_until_ns(long ns)
{
	struct timespec t = { .tv_sec = ns / 1000000000L, .tv_nsec = ns % 1000000000L };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
		;
}

static pid_t pi_child(FIXTURE_DATA(edge) *self, int policy, int prio)
{
	struct waiter w = { policy, prio };
	pid_t pid = fork_child();

	if (pid == 0 && become_waiter(&w))
		_exit(2);
	if (pid > 0)
		track(self, pid);
	return pid;
}

static void no_priority_inversion(struct __test_metadata *_metadata, FIXTURE_DATA(edge) *self,
				  pi_op op, int q)
{
	struct pi_run *run = shared(sizeof(*run));
	pid_t l, m, h;

	ASSERT_NE(NULL, run);
	run->t0 = mono_ns() + 100 * 1000000L;
	l = pi_child(self, SCHED_OTHER, 0);
	ASSERT_LE(0, l);
	if (l == 0) {
		while (!run->stop) {
			if (op(self, q, 1) && errno != EAGAIN && errno != ENOMSG)
				_exit(3);
			run->l_ops += 2;
		}
		_exit(0);
	}
	m = pi_child(self, SCHED_FIFO, 50);
	ASSERT_LE(0, m);
	if (m == 0) {
		for (int r = 0; r < PI_ROUNDS; r++) {
			long at = run->t0 + r * PI_PERIOD_MS * 1000000L;

			sleep_until_ns(at);
			while (mono_ns() < at + PI_SPIN_MS * 1000000L)
				;
		}
		_exit(0);
	}
	h = pi_child(self, SCHED_FIFO, 90);
	ASSERT_LE(0, h);
	if (h == 0) {
		for (int r = 0; r < PI_ROUNDS; r++) {
			long t;

			sleep_until_ns(run->t0 + r * PI_PERIOD_MS * 1000000L + 2000000L);
			t = mono_ns();
			CHILD_CHECK(op(self, q, 0) == 0);
			t = mono_ns() - t;
			if (t > run->worst_ns)
				run->worst_ns = t;
			run->slow += t > PI_LIMIT_MS * 1000000L;
		}
		_exit(0);
	}
	ASSERT_EQ(0, reap(self, h));
	ASSERT_EQ(0, reap(self, m));
	run->stop = 1;
	ASSERT_EQ(0, reap(self, l));
	TH_LOG("%s: H's slowest send + receive %ld us, %d of %d rounds over %d ms; L made %ld calls",
	       posix->name, run->worst_ns / 1000, run->slow, PI_ROUNDS, PI_LIMIT_MS, run->l_ops);
	/* One round may meet a host hiccup longer than the limit (two vCPU
	 * threads of TCG on a loaded host); a lock L holds while preempted
	 * makes most rounds wait for M's whole spin. */
	ASSERT_GE(1, run->slow);
	ASSERT_LT(1000, run->l_ops);
}

TEST_F(edge, posix_rt_caller_does_not_wait_for_a_preempted_lower_priority_caller)
{
	struct mq_attr a = { .mq_maxmsg = 8, .mq_msgsize = PI_MSGSZ };

	REQUIRE_RT();
	no_priority_inversion(_metadata, self, pi_posix,
			      SYS(posix->open(self->name[0], O_RDWR | O_CREAT | O_EXCL, 0600, &a)));
}

TEST_F(edge, sysv_rt_caller_does_not_wait_for_a_preempted_lower_priority_caller)
{
	REQUIRE_RT();
	no_priority_inversion(_metadata, self, pi_sysv, MKQ(0600));
}

/* ---- the memory cgroup -------------------------------------------------------- */

/*
 * Creates the test's cgroup with memory.max CG_MAX (memory.swap.max 0 if
 * there is swap accounting), or SKIPs without the memory controller.
 */
#define MAKE_CGROUP() do { \
	char __b[256] = "", __p[sizeof(self->cg)]; \
	int __fd = open(CGROOT "/cgroup.subtree_control", O_RDONLY | O_CLOEXEC); \
	if (__fd >= 0) { \
		if (read(__fd, __b, sizeof(__b) - 1) < 0) \
			__b[0] = 0; \
		close(__fd); \
	} \
	if (!strstr(__b, "memory")) \
		SKIP(return, "no cgroup2 memory controller at " CGROOT); \
	snprintf(__p, sizeof(__p), CGROOT "/ripc_edge_%d", getpid()); \
	SYS(mkdir(__p, 0755)); \
	memcpy(self->cg, __p, sizeof(self->cg)); \
	snprintf(__b, sizeof(__b), "%ld", CG_MAX); \
	SYS(cg_write(self->cg, "memory.max", __b)); \
	if (cg_read(self->cg, "memory.swap.max", NULL) >= 0) \
		SYS(cg_write(self->cg, "memory.swap.max", "0")); \
	ASSERT_EQ(CG_MAX, cg_read(self->cg, "memory.max", NULL)); \
} while (0)

/* What a filler child did: shared with the parent. */
enum fill_op { FILL_NONE, FILL_CREATE, FILL_SET, FILL_SEND };

struct fill {
	int ids[NQ];		/* System V: the queues it made */
	int nq;			/* queues made */
	int op;			/* the call that failed (FILL_NONE: none did) */
	int err;		/* its errno */
	long msgs, bytes;	/* messages and bytes queued */
	/* After a send failed with ENOMEM (fill_sysv(), fill_posix()): */
	long last_msgs;		/* messages queued in its queue before */
	long depth;		/* that queue's depth then (stat, getattr) */
	long got;		/* a receive's length from it */
	int exact;		/* 1 if that receive gave the message sent, byte for byte */
	int resent;		/* a send's errno after that receive, 0 if it was queued */
};

/* A fill's receive buffers, written by the filler before it enters the
 * cgroup (a page first written in there would be charged to it). */
static struct { long mtype; char mtext[SV_MSGSZ]; } sv_rcv_msg;
static char mq_rcv_msg[MQ_MSGSIZE];

/*
 * Touches the stack the filler will use, so that no page (or page table)
 * has to be allocated, and charged, once it is in the cgroup: a user page
 * fault over memory.max with no process to kill would retry for ever.
 */
static void __attribute__((noinline)) prefault_stack(void)
{
	volatile char pad[128 << 10];

	for (size_t i = 0; i < sizeof(pad); i += 256)
		pad[i] = 1;
}

/*
 * The filler child's start: everything it will touch faulted in, exempt
 * from the OOM killer, RLIMIT_MSGQUEUE unlimited; tells the parent (which
 * moves it into the cgroup) and waits for its go.
 */
static void filler_ready(struct fill *f, int ready_fd, int go_fd, int ripc)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	cpu_set_t one;
	char c;

	/* On one CPU: the charge a receive gives back stays in that CPU's
	 * stock for the send after it (fill_sysv(), fill_posix()). */
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	CHILD_CHECK(sched_setaffinity(0, sizeof(one), &one) == 0);
	prefault_stack();
	f->op = FILL_NONE;
	CHILD_CHECK(write_file("/proc/self/oom_score_adj", "-1000") == 0);
	CHILD_CHECK(setrlimit(RLIMIT_MSGQUEUE, &rl) == 0);
	if (ripc)	/* libripc's System V descriptor, opened on first use */
		CHILD_CHECK(ripc_device_fd() >= 0);
	memset(&sv_rcv_msg, 0, sizeof(sv_rcv_msg));
	memset(mq_rcv_msg, 0, sizeof(mq_rcv_msg));
	CHILD_CHECK(write(ready_fd, "r", 1) == 1);
	CHILD_CHECK(read(go_fd, &c, 1) == 1 && c == 'g');
}

static struct { long mtype; char mtext[SV_MSGSZ]; } sv_fill_msg;
static char mq_fill_msg[MQ_MSGSIZE];

/* Notes that call op of a fill failed (with errno): -1. */
static int fill_failed(struct fill *f, int op)
{
	f->op = op;
	f->err = errno;
	return -1;
}

/* After a fill's send of size bytes returned r: 1 if it was queued (send
 * again), 0 once the queue is full (EAGAIN), else -1 (fill_failed). */
static int fill_sent(struct fill *f, int r, long size)
{
	if (r == 0) {
		f->msgs++;
		f->last_msgs++;
		f->bytes += size;
		return 1;
	}
	return errno == EAGAIN ? 0 : fill_failed(f, FILL_SEND);
}

/* System V: queues of SV_QBYTES filled with IPC_NOWAIT until a call fails. */
static void fill_sysv(const struct msg_backend *b, struct fill *f)
{
	int r;

	for (int q = 0; q < NQ; q++) {
		struct msqid_ds ds;
		int id = b->get(IPC_PRIVATE, IPC_CREAT | 0600);

		if (id < 0) {
			fill_failed(f, FILL_CREATE);
			return;
		}
		f->ids[f->nq++] = id;
		f->last_msgs = 0;
		if (b->ctl(id, IPC_STAT, &ds) ||
		    (ds.msg_qbytes = SV_QBYTES, b->ctl(id, IPC_SET, &ds))) {
			fill_failed(f, FILL_SET);
			return;
		}
		while ((r = fill_sent(f, b->snd(id, &sv_fill_msg, SV_MSGSZ, IPC_NOWAIT), SV_MSGSZ)))
			if (r < 0)
				break;
		if (r < 0) {
			/* The failed send left the queue as it was. */
			f->depth = b->ctl(id, IPC_STAT, &ds) ? -1 : (long)ds.msg_qnum;
			f->got = b->rcv(id, &sv_rcv_msg, SV_MSGSZ, 0, IPC_NOWAIT);
			f->exact = sv_rcv_msg.mtype == 1 &&
				   !memcmp(sv_rcv_msg.mtext, sv_fill_msg.mtext, SV_MSGSZ);
			f->resent = b->snd(id, &sv_fill_msg, SV_MSGSZ, IPC_NOWAIT) ? errno : 0;
			return;
		}
	}
}

/* POSIX: queues of MQ_MAXMSG x MQ_MSGSIZE filled with O_NONBLOCK until a call fails. */
static void fill_posix(FIXTURE_DATA(edge) *self, struct fill *f)
{
	struct mq_attr a = { .mq_maxmsg = MQ_MAXMSG, .mq_msgsize = MQ_MSGSIZE };
	int r;

	for (int i = 0; i < NQ; i++) {
		mqd_t q = posix->open(self->name[i], O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK,
				      0600, &a);
		unsigned int prio = ~0u;

		if (q < 0) {
			fill_failed(f, FILL_CREATE);
			return;
		}
		f->nq++;
		f->last_msgs = 0;
		while ((r = fill_sent(f, posix->send(q, mq_fill_msg, MQ_MSGSIZE, 3), MQ_MSGSIZE)))
			if (r < 0)
				break;
		if (r < 0) {
			/* The failed send left the queue as it was. */
			f->depth = posix->getattr(q, &a) ? -1 : a.mq_curmsgs;
			f->got = posix->receive(q, mq_rcv_msg, MQ_MSGSIZE, &prio);
			f->exact = prio == 3 && !memcmp(mq_rcv_msg, mq_fill_msg, MQ_MSGSIZE);
			f->resent = posix->send(q, mq_fill_msg, MQ_MSGSIZE, 3) ? errno : 0;
			return;
		}
	}
}

/*
 * Runs a filler (fill_sysv or fill_posix) in a child moved into a fresh
 * cgroup, then checks what native does: the send that passes memory.max
 * fails with ENOMEM (after at least half of memory.max was queued), the
 * messages are charged (memory.current rose by at least the bytes queued),
 * memory.current and memory.peak stay <= memory.max, nobody was OOM-killed.
 */
static void memcg_fill(struct __test_metadata *_metadata, FIXTURE_DATA(edge) *self,
		       int family_sysv)
{
	struct fill *f = shared(sizeof(*f));
	int ready[2], go[2];
	long base, cur, peak, max, after;
	char pid_s[32];
	pid_t pid;

	ASSERT_NE(NULL, f);
	memset(&sv_fill_msg, 'x', sizeof(sv_fill_msg));
	sv_fill_msg.mtype = 1;
	memset(mq_fill_msg, 'y', sizeof(mq_fill_msg));
	SYS(pipe(ready));
	SYS(pipe(go));
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		alarm(20);
		filler_ready(f, ready[1], go[0], sysv == &ripc_msg_be);
		if (family_sysv)
			fill_sysv(sysv, f);
		else
			fill_posix(self, f);
		_exit(0);
	}
	track(self, pid);
	ASSERT_EQ('r', read_byte(ready[0], 5000));
	snprintf(pid_s, sizeof(pid_s), "%d", pid);
	SYS(cg_write(self->cg, "cgroup.procs", pid_s));
	base = cg_read(self->cg, "memory.current", NULL);
	ASSERT_LE(0, base);
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(0, reap(self, pid)) TH_LOG("the filler did not exit normally");
	for (int i = 0; family_sysv && i < f->nq; i++)
		keep_id(self, f->ids[i]);
	cur = cg_read(self->cg, "memory.current", NULL);
	peak = cg_read(self->cg, "memory.peak", NULL);
	max = cg_read(self->cg, "memory.max", NULL);
	TH_LOG("%s: %d queues, %ld messages, %ld bytes; call %d failed with %s; "
	       "memory.current %ld before, %ld after, peak %ld, max %ld; oom events %ld",
	       posix->name, f->nq, f->msgs, f->bytes, f->op, strerrorname_np(f->err) ?: "0",
	       base, cur, peak, max, cg_read(self->cg, "memory.events", "oom"));
	ASSERT_EQ(FILL_SEND, f->op) TH_LOG("no send failed within %d queues", NQ);
	ASSERT_EQ(ENOMEM, f->err);
	/* KASAN's redzones make each message's objects larger there. */
	ASSERT_LE(CG_MAX / (kasan_kernel() ? 4 : 2), f->bytes);
	ASSERT_LE(base + f->bytes, cur) TH_LOG("the messages are not charged to the cgroup");
	ASSERT_LE(cur, max);
	/* memory.peak: cgroup v2 since Linux 5.19. */
	ASSERT_LE(0, peak);
	ASSERT_LE(peak, max);
	ASSERT_EQ(0, cg_read(self->cg, "memory.events", "oom_kill"));
	/* The send that failed left its queue as it was: its messages there,
	 * a receive gives one whole, and then a send fits again. */
	ASSERT_EQ(f->last_msgs, f->depth);
	ASSERT_EQ(family_sysv ? SV_MSGSZ : MQ_MSGSIZE, f->got);
	ASSERT_EQ(1, f->exact);
	ASSERT_EQ(0, f->resent) TH_LOG("the send after a receive: %s", strerrorname_np(f->resent));
	/* Freeing the messages gives the charge back. */
	if (family_sysv) {
		for (int i = 0; i < f->nq; i++)
			SYS(sysv->ctl(f->ids[i], IPC_RMID, NULL));
		self->nids = 0;
	} else {
		for (int i = 0; i < f->nq; i++)
			SYS(posix->unlink(self->name[i]));
	}
	after = cg_read(self->cg, "memory.current", NULL);
	TH_LOG("%s: memory.current %ld after removing the queues", posix->name, after);
	ASSERT_GE(cur - f->bytes + (512 << 10), after);
}

/*
 * What a task blocked in a receive batch holds while it waits (its items,
 * 24 KiB for RIPC_BATCH_MAX System V items, and the room for a part's
 * messages) is charged to its memory cgroup, as the memory a blocked
 * native call holds (its stack) is: 32 batches blocked on an empty queue
 * raise the cgroup's "kernel" memory by at least their items' 768 KiB.
 * (32: enough pages that reading memory.stat flushes the cgroup's
 * statistics, which it does only past a number of changes; else they wait
 * for the periodic flush, a deferrable timer that an idle guest CPU held
 * back past the test's 5 s with 8 batches of 33 KiB.)  rust_ipc's own
 * (native has no batches).
 */
TEST_F(edge, blocked_receive_batches_are_charged_to_their_memory_cgroup)
{
	enum { KIDS = 32, HELD = KIDS * RIPC_BATCH_MAX * sizeof(struct ripc_msg_item) };
	static struct ripc_msg_item items[RIPC_BATCH_MAX];
	static long buf[2];
	int go[2], id, dev;
	long base, cur = -1;
	pid_t kids[KIDS];

	if (sysv != &ripc_msg_be)
		SKIP(return, "rust_ipc's batches");
	REQUIRE_ROOT();
	MAKE_CGROUP();
	id = keep_id(self, SYS(sysv->get(IPC_PRIVATE, 0600)));
	dev = SYS(ripc_device_fd());
	for (int j = 0; j < RIPC_BATCH_MAX; j++)
		items[j] = (struct ripc_msg_item){ (__u64)(uintptr_t)buf, sizeof(buf[1]), 0 };
	SYS(pipe(go));
	for (int i = 0; i < KIDS; i++) {
		char pid_s[32], c;

		kids[i] = fork_child();
		ASSERT_LE(0, kids[i]);
		if (kids[i] == 0) {
			struct ripc_msg_batch b = { .size = sizeof(b), .msqid = id,
						    .count = RIPC_BATCH_MAX,
						    .items = (__u64)(uintptr_t)items };

			prefault_stack();
			CHILD_CHECK(read(go[0], &c, 1) == 1);
			CHILD_CHECK(ioctl(dev, RIPC_MSGRCV_BATCH, &b) == -1 && errno == EIDRM);
			_exit(0);
		}
		track(self, kids[i]);
		snprintf(pid_s, sizeof(pid_s), "%d", kids[i]);
		SYS(cg_write(self->cg, "cgroup.procs", pid_s));
	}
	base = cg_read(self->cg, "memory.stat", "kernel");
	ASSERT_LE(0, base);
	for (int i = 0; i < KIDS; i++)
		ASSERT_EQ(1, write(go[1], "g", 1));
	/* Every batch asleep on the queue (a receive counted as blocked once
	 * it is listed as a waiter: then IPC_RMID gives it EIDRM, where a
	 * batch that had not looked the id up yet got EINVAL), then its
	 * memory. */
	for (int t = 0; t < 500; t++) {
		struct ripc_queue_stats st;

		ASSERT_EQ(0, ripc_msg_stats(id, &st, 0));
		if (st.blocked_receives >= KIDS)
			break;
		ASSERT_GT(499, t) TH_LOG("%llu of %d batches blocked",
					 (unsigned long long)st.blocked_receives, KIDS);
		usleep(10000);
	}
	for (int t = 0; t < 500; t++) {
		cur = cg_read(self->cg, "memory.stat", "kernel");
		if (cur - base >= HELD)
			break;
		usleep(10000);
	}
	TH_LOG("kernel memory of the cgroup: %ld before, %ld with %d blocked batches", base, cur,
	       KIDS);
	EXPECT_LE(HELD, cur - base);
	SYS(sysv->ctl(id, IPC_RMID, NULL));
	self->nids = 0;
	for (int i = 0; i < KIDS; i++)
		ASSERT_EQ(0, reap(self, kids[i]));
}

/*
 * A message is charged to the memory cgroup of the task that sends it
 * (load_msg()'s GFP_KERNEL_ACCOUNT), whichever cgroup's tasks used the
 * queue before: a child in the test's cgroup streams SHARE_N messages of
 * SHARE_LEN bytes through each of NQ queues (each message one 2 KiB block,
 * short enough to be copied out under the queue lock: rust_ipc then keeps
 * up to 32 KiB of their heads for the queue's next sends), then a child in
 * a second cgroup fills them, and that cgroup's memory.current rises by at
 * least half of the NQ * SHARE_N blocks (a first charge may have taken a
 * batch of 64 pages ahead, so half).  Lending it the heads charged to the
 * first cgroup would leave the second charged for none.
 */
#define SHARE_N 17
#define SHARE_LEN 2000

static struct { long mtype; char mtext[SHARE_LEN]; } share_msg, share_rcv;
/* The length of share_child()'s messages (<= SHARE_LEN), and its rounds;
 * whether it sends and receives each queue's messages in one batch each
 * (rust_ipc's RIPC_*_BATCH; at most DRAIN_N). */
static int share_len = SHARE_LEN, share_rounds = 1, share_batch;

#define DRAIN_N 512

/* share_child()'s batches: their items, and the received messages (user
 * memory the child writes before it joins its cgroup, so that the cgroup
 * is charged for the queues' memory alone). */
static struct { long mtype; char mtext[SHARE_LEN]; } share_rcvs[DRAIN_N];
static struct ripc_msg_item share_si[DRAIN_N];
static struct ripc_mq_item share_mi[DRAIN_N];

/* share_child()'s n messages to (recv: from) queue q of family_sysv in one
 * rust_ipc batch, received ones into share_rcvs: how many went, or -1. */
static long share_batch_xfer(int family_sysv, int q, int n, int recv)
{
	struct ripc_msg_item *si = share_si;
	struct ripc_mq_item *mi = share_mi;

	for (int i = 0; i < n; i++) {
		void *buf = recv ? (void *)&share_rcvs[i] : (void *)&share_msg;

		si[i] = (struct ripc_msg_item){ (__u64)(uintptr_t)buf, recv ? SHARE_LEN : share_len,
						0 };
		mi[i] = (struct ripc_mq_item){ (__u64)(uintptr_t)((char *)buf + sizeof(long)),
					       recv ? SHARE_LEN : share_len, 1, 0 };
	}
	if (family_sysv) {
		struct ripc_msg_batch b = { .size = sizeof(b), .msqid = q, .msgflg = IPC_NOWAIT,
					    .count = n, .items = (__u64)(uintptr_t)si };

		return ioctl(ripc_device_fd(), recv ? RIPC_MSGRCV_BATCH : RIPC_MSGSND_BATCH, &b);
	}
	struct ripc_mq_batch b = { .size = sizeof(b), .count = n, .items = (__u64)(uintptr_t)mi };

	return ioctl(q, recv ? RIPC_MQ_RECEIVE_BATCH : RIPC_MQ_SEND_BATCH, &b);
}

/* A child of share_by_cgroup() and drain_in_cgroup(): moved into its
 * cgroup by the parent, then, share_rounds times, sends n messages of
 * share_len bytes to each of the nq queues of q and, if recv, receives
 * them back, checked byte for byte; says 'd' once done. */
static void share_child(FIXTURE_DATA(edge) *self, int family_sysv, const int *q, int nq, int n,
			int recv, int ready_fd, int go_fd, int done_fd)
{
	char c;

	prefault_stack();
	CHILD_CHECK(write_file("/proc/self/oom_score_adj", "-1000") == 0);
	if (family_sysv && sysv == &ripc_msg_be)
		CHILD_CHECK(ripc_device_fd() >= 0);
	if (share_batch) {
		memset(share_rcvs, 0, sizeof(share_rcvs));
		memset(share_si, 0, sizeof(share_si));
		memset(share_mi, 0, sizeof(share_mi));
	}
	CHILD_CHECK(write(ready_fd, "r", 1) == 1);
	CHILD_CHECK(read(go_fd, &c, 1) == 1 && c == 'g');
	for (int r = 0; r < share_rounds * nq; r++) {
		int k = r % nq;

		if (share_batch) {
			CHILD_CHECK(share_batch_xfer(family_sysv, q[k], n, 0) == n);
			memset(share_rcvs, 0, sizeof(share_rcvs));
			CHILD_CHECK(!recv || share_batch_xfer(family_sysv, q[k], n, 1) == n);
			for (int i = 0; recv && i < n; i++) {
				CHILD_CHECK(!family_sysv || share_rcvs[i].mtype == share_msg.mtype);
				CHILD_CHECK(!memcmp(share_rcvs[i].mtext, share_msg.mtext, share_len));
			}
			continue;
		}
		for (int i = 0; i < n; i++)
			CHILD_CHECK(family_sysv
				    ? sysv->snd(q[k], &share_msg, share_len, IPC_NOWAIT) == 0
				    : posix->send(q[k], share_msg.mtext, share_len, 1) == 0);
		for (int i = 0; recv && i < n; i++) {
			memset(&share_rcv, 0, sizeof(share_rcv));
			if (family_sysv) {
				CHILD_CHECK(sysv->rcv(q[k], &share_rcv, SHARE_LEN, 0,
						      IPC_NOWAIT) == share_len);
				CHILD_CHECK(share_rcv.mtype == share_msg.mtype);
			} else {
				CHILD_CHECK(posix->receive(q[k], share_rcv.mtext, SHARE_LEN,
							   NULL) == share_len);
			}
			CHILD_CHECK(!memcmp(share_rcv.mtext, share_msg.mtext, share_len));
		}
	}
	CHILD_CHECK(write(done_fd, "d", 1) == 1);
	CHILD_CHECK(read(go_fd, &c, 1) == 1 && c == 'x');
}

/* nq queues for n messages of SHARE_LEN bytes each, into q (the POSIX ones
 * named self->name[i], unlinked at teardown, the System V ones removed
 * then). */
static void share_queues(struct __test_metadata *_metadata, FIXTURE_DATA(edge) *self,
			 int family_sysv, int *q, int nq, int n)
{
	struct mq_attr a = { .mq_maxmsg = n, .mq_msgsize = SHARE_LEN };
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

	SYS(setrlimit(RLIMIT_MSGQUEUE, &rl));
	for (int k = 0; k < nq; k++) {
		if (family_sysv) {
			q[k] = MKQ(0600);
			SET(q[k], 0, 0600, n * SHARE_LEN);
		} else {
			q[k] = SYS(posix->open(self->name[k], O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK,
					       0600, &a));
		}
	}
}

/* A round of share_child() (nq queues of q, n messages each, received back
 * if recv) in a child moved into cgroup cg: cg's memory.current once the
 * child is in it, and once it is done. */
static void share_round(struct __test_metadata *_metadata, FIXTURE_DATA(edge) *self,
			int family_sysv, const int *q, int nq, int n, int recv, const char *cg,
			long *before, long *after)
{
	int ready[2], go[2], done[2];
	char pid_s[32];
	pid_t pid;

	SYS(pipe(ready));
	SYS(pipe(go));
	SYS(pipe(done));
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		share_child(self, family_sysv, q, nq, n, recv, ready[1], go[0], done[1]);
		_exit(0);
	}
	track(self, pid);
	ASSERT_EQ('r', read_byte(ready[0], 5000));
	snprintf(pid_s, sizeof(pid_s), "%d", pid);
	SYS(cg_write(cg, "cgroup.procs", pid_s));
	*before = cg_read(cg, "memory.current", NULL);
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ('d', read_byte(done[0], 20000)) TH_LOG("the child in %s did not finish", cg);
	*after = cg_read(cg, "memory.current", NULL);
	ASSERT_EQ(1, write(go[1], "x", 1));
	ASSERT_EQ(0, reap(self, pid));
	for (int i = 0; i < 2; i++) {
		close(ready[i]);
		close(go[i]);
		close(done[i]);
	}
}

static void share_by_cgroup(struct __test_metadata *_metadata, FIXTURE_DATA(edge) *self,
			    int family_sysv)
{
	long base = -1, cur = -1, unused;
	int q[NQ];

	REQUIRE_ROOT();
	MAKE_CGROUP();
	snprintf(self->cg2, sizeof(self->cg2), CGROOT "/ripc_edge_%d_b", getpid());
	SYS(mkdir(self->cg2, 0755));
	memset(share_msg.mtext, 's', SHARE_LEN);
	share_msg.mtype = 7;
	share_queues(_metadata, self, family_sysv, q, NQ, SHARE_N);
	share_round(_metadata, self, family_sysv, q, NQ, SHARE_N, 1, self->cg, &unused, &unused);
	share_round(_metadata, self, family_sysv, q, NQ, SHARE_N, 0, self->cg2, &base, &cur);
	TH_LOG("%s: the second cgroup's memory.current %ld before its %d sends, %ld after (+%ld)",
	       family_sysv ? sysv->name : posix->name, base, NQ * SHARE_N, cur, cur - base);
	ASSERT_LE(0, base);
	ASSERT_LE(base + NQ * SHARE_N * 2048L / 2, cur)
		TH_LOG("the second cgroup's messages are not charged to it");
	for (int k = 0; !family_sysv && k < NQ; k++)
		SYS(posix->close(q[k]));
}

TEST_F(edge, sysv_messages_are_charged_to_their_senders_memory_cgroup_on_a_shared_queue)
{
	share_by_cgroup(_metadata, self, 1);
}

TEST_F(edge, posix_messages_are_charged_to_their_senders_memory_cgroup_on_a_shared_queue)
{
	share_by_cgroup(_metadata, self, 0);
}

/* The same with rust_ipc's batches, which lend a part's worth of a queue's
 * kept heads to a send batch's loads at once. */
TEST_F(edge, sysv_batched_messages_are_charged_to_their_senders_memory_cgroup)
{
	if (sysv != &ripc_msg_be)
		SKIP(return, "rust_ipc's batches");
	share_batch = 1;
	share_by_cgroup(_metadata, self, 1);
}

TEST_F(edge, posix_batched_messages_are_charged_to_their_senders_memory_cgroup)
{
	if (posix != &ripc_mq_be)
		SKIP(return, "rust_ipc's batches");
	share_batch = 1;
	share_by_cgroup(_metadata, self, 0);
}

/*
 * Receiving a queue's messages gives their memory back to the cgroup they
 * were charged to: a child of the test's cgroup sends DRAIN_N messages of
 * len bytes to one queue and receives them, rounds times, and the
 * cgroup's memory.current is then no more than 512 KiB above where it
 * was (a batch of 64 pages charged ahead, and for rust_ipc the heads of at
 * most 32 KiB its queue keeps for its next sends): about 1 MiB of 2 000
 * byte messages once, or 32 768 empty ones in rounds of 512 (each a
 * 48-byte header in a 64-byte block).
 */

static void drain_in_cgroup(struct __test_metadata *_metadata, FIXTURE_DATA(edge) *self,
			    int family_sysv, int len, int rounds)
{
	long base = -1, cur = -1;
	int q;

	REQUIRE_ROOT();
	MAKE_CGROUP();
	memset(share_msg.mtext, 'd', SHARE_LEN);
	share_msg.mtype = 3;
	share_len = len;
	share_rounds = rounds;
	share_queues(_metadata, self, family_sysv, &q, 1, DRAIN_N);
	share_round(_metadata, self, family_sysv, &q, 1, DRAIN_N, 1, self->cg, &base, &cur);
	TH_LOG("%s: memory.current %ld before %d x %d messages of %d bytes sent and received, "
	       "%ld after (%+ld)", family_sysv ? sysv->name : posix->name, base, rounds, DRAIN_N,
	       len, cur, cur - base);
	ASSERT_LE(0, base);
	ASSERT_GE(base + (512L << 10), cur) TH_LOG("the received messages' memory stays charged");
	if (!family_sysv)
		SYS(posix->close(q));
}

TEST_F(edge, sysv_received_messages_memory_goes_back_to_their_cgroup)
{
	drain_in_cgroup(_metadata, self, 1, SHARE_LEN, 1);
}

TEST_F(edge, posix_received_messages_memory_goes_back_to_their_cgroup)
{
	drain_in_cgroup(_metadata, self, 0, SHARE_LEN, 1);
}

TEST_F(edge, sysv_received_empty_messages_memory_goes_back_to_their_cgroup)
{
	drain_in_cgroup(_metadata, self, 1, 0, 64);
}

TEST_F(edge, posix_received_empty_messages_memory_goes_back_to_their_cgroup)
{
	drain_in_cgroup(_metadata, self, 0, 0, 64);
}

/* The same with rust_ipc's batches, whose receives keep their delivered
 * messages' heads under the same bound. */
static void drain_batched(struct __test_metadata *_metadata, FIXTURE_DATA(edge) *self,
			  int family_sysv, int len, int rounds)
{
	if (family_sysv ? sysv != &ripc_msg_be : posix != &ripc_mq_be)
		SKIP(return, "rust_ipc's batches");
	share_batch = 1;
	drain_in_cgroup(_metadata, self, family_sysv, len, rounds);
}

TEST_F(edge, sysv_batch_received_messages_memory_goes_back_to_their_cgroup)
{
	drain_batched(_metadata, self, 1, SHARE_LEN, 1);
}

TEST_F(edge, posix_batch_received_messages_memory_goes_back_to_their_cgroup)
{
	drain_batched(_metadata, self, 0, SHARE_LEN, 1);
}

TEST_F(edge, sysv_batch_received_empty_messages_memory_goes_back_to_their_cgroup)
{
	drain_batched(_metadata, self, 1, 0, 64);
}

TEST_F(edge, posix_batch_received_empty_messages_memory_goes_back_to_their_cgroup)
{
	drain_batched(_metadata, self, 0, 0, 64);
}

/*
 * A System V send whose text copy stalls (on a userfaultfd page) while its
 * queue is removed fails with EINVAL: native's do_msgsnd copies the message
 * in (load_msg) before it looks the id up, and by then the id names no
 * queue.  rust_ipc finds the queue before the copy (for the queue's spare
 * head), and looks at it again after.
 */
struct stalled_send {
	const struct msg_backend *b;
	int id, ret, err, batch;
	void *msg;
};

static void *stalled_send_main(void *arg)
{
	struct stalled_send *s = arg;
	struct ripc_msg_item it = { (__u64)(uintptr_t)s->msg, 64, 0 };
	struct ripc_msg_batch b = { .size = sizeof(b), .msqid = s->id, .count = 1,
				    .items = (__u64)(uintptr_t)&it };

	if (s->batch)
		s->ret = ioctl(ripc_device_fd(), RIPC_MSGSND_BATCH, &b);
	else
		s->ret = s->b->snd(s->id, s->msg, 64, 0);
	s->err = errno;
	return NULL;
}

/* (batch: the same send as a batch of one, which rust_ipc's RIPC_MSGSND_BATCH
 * makes with msgsnd's order of checks.) */
static void stalled_send_queue_goes(struct __test_metadata *_metadata,
				    FIXTURE_DATA(edge) *self, int batch)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct stalled_send s = { .b = sysv, .ret = 1, .batch = batch };
	struct uffdio_register reg;
	struct uffdio_zeropage zp;
	struct uffd_msg um;
	struct pollfd p;
	pthread_t t;
	char *area;
	int uffd;

	uffd = uffd_open();
	if (uffd < 0)
		SKIP(return, "no userfaultfd: %s", strerror(errno));
	area = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	/* The type at the end of the first page, the text on the second,
	 * registered missing: the copy of the text waits for the test. */
	*(long *)(area + pg - 8) = 1;
	reg = (struct uffdio_register){ .range = { (unsigned long)area + pg, pg },
					.mode = UFFDIO_REGISTER_MODE_MISSING };
	SYS(ioctl(uffd, UFFDIO_REGISTER, &reg));
	s.id = MKQ(0600);
	s.msg = area + pg - 8;
	ASSERT_EQ(0, pthread_create(&t, NULL, stalled_send_main, &s));
	p = (struct pollfd){ .fd = uffd, .events = POLLIN };
	ASSERT_EQ(1, poll(&p, 1, 5000)) TH_LOG("the send's copy did not fault");
	ASSERT_EQ((ssize_t)sizeof(um), read(uffd, &um, sizeof(um)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, um.event);
	SYS(sysv->ctl(s.id, IPC_RMID, NULL));
	self->nids = 0;
	zp = (struct uffdio_zeropage){ .range = { (unsigned long)area + pg, pg } };
	SYS(ioctl(uffd, UFFDIO_ZEROPAGE, &zp));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(-1, s.ret);
	EXPECT_EQ(EINVAL, s.err) TH_LOG("%s", strerrorname_np(s.err));
	close(uffd);
	munmap(area, 2 * pg);
}

TEST_F(edge, sysv_send_whose_copy_stalls_while_its_queue_goes_is_einval)
{
	stalled_send_queue_goes(_metadata, self, 0);
}

TEST_F(edge, sysv_send_batch_whose_copy_stalls_while_its_queue_goes_is_einval)
{
	if (sysv != &ripc_msg_be)
		SKIP(return, "rust_ipc's batches");
	stalled_send_queue_goes(_metadata, self, 1);
}

TEST_F(edge, sysv_messages_are_charged_to_the_memory_cgroup_enomem_at_its_max)
{
	REQUIRE_ROOT();
	MAKE_CGROUP();
	memcg_fill(_metadata, self, 1);
}

TEST_F(edge, posix_messages_are_charged_to_the_memory_cgroup_enomem_at_its_max)
{
	REQUIRE_ROOT();
	MAKE_CGROUP();
	memcg_fill(_metadata, self, 0);
}

/* ---- mq_notify and exec --------------------------------------------------- */

/*
 * In the image an exec_owner child execs (this binary again, with EXEC_ENV
 * set to "in,out,q,backend"): if q >= 0, registers SIGUSR1 on it itself
 * (backend 'n' native, 'r' rust_ipc); says 'r' on out, waits for the
 * parent's 'g' on in, then says '1' if SIGUSR1 (blocked across the exec)
 * is pending, else '0'.
 */
static void __attribute__((constructor)) exec_probe(void)
{
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	const char *v = getenv(EXEC_ENV);
	int in, out, q;
	sigset_t set;
	char c, kind;

	if (!v || sscanf(v, "%d,%d,%d,%c", &in, &out, &q, &kind) != 4)
		return;
	alarm(10);
	if (q >= 0 && notify_sig(kind == 'r' ? &ripc_mq_be : &native_mq_be, q, SIGUSR1, NULL))
		_exit(4);
	if (write(out, "r", 1) != 1 || read(in, &c, 1) != 1)
		_exit(2);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	c = sigtimedwait(&set, NULL, &ts) == SIGUSR1 ? '1' : '0';
	_exit(write(out, &c, 1) == 1 ? 0 : 3);
}

static void exec_self(char *env)
{
	char *argv[] = { "native_edge_test", NULL };
	char *envp[] = { env, NULL };

	execve("/proc/self/exe", argv, envp);
}

static void *exec_from_thread(void *env)
{
	exec_self(env);
	return NULL;
}

/* Who registers on the queue, and whether the descriptor stays open across the exec. */
enum exec_case {
	KEEP_FD,		/* the child registers, keeps its descriptor */
	CLOSE_FD,		/* the child registers, its descriptor is close-on-exec */
	IMAGE_REGISTERS,	/* the exec'd image registers (the control) */
};

/*
 * A child (SIGUSR1 blocked) registers SIGUSR1 on q, then execs this binary,
 * from its leader or from a second thread.  Native: the exec'd image gets
 * no signal when a message arrives (self_exec_id changed); a descriptor
 * kept open across the exec keeps the registration (EBUSY for another
 * process until the message uses it up), a closed one drops it.  The
 * control: a registration the exec'd image makes itself is signalled.
 */
static void exec_owner(struct __test_metadata *_metadata, FIXTURE_DATA(edge) *self,
		       enum exec_case how, int from_thread)
{
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 16 };
	int to[2], from[2];
	mqd_t q;
	pid_t pid;

	q = SYS(posix->open(self->name[0], O_RDWR | O_CREAT | O_EXCL, 0600, &a));
	SYS(pipe(to));
	SYS(pipe(from));
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		static char env[64];
		pthread_t t;

		close(to[1]);
		close(from[0]);
		snprintf(env, sizeof(env), EXEC_ENV "=%d,%d,%d,%c", to[0], from[1],
			 how == IMAGE_REGISTERS ? q : -1, posix == &ripc_mq_be ? 'r' : 'n');
		CHILD_CHECK(block_signal(SIGUSR1) == 0);
		if (how != CLOSE_FD)
			CHILD_CHECK(fcntl(q, F_SETFD, 0) == 0);
		if (how != IMAGE_REGISTERS)
			CHILD_CHECK(notify_sig(posix, q, SIGUSR1, NULL) == 0);
		if (from_thread) {
			CHILD_CHECK(pthread_create(&t, NULL, exec_from_thread, env) == 0);
			pthread_join(t, NULL);
		} else {
			exec_self(env);
		}
		_exit(99);	/* the exec failed */
	}
	track(self, pid);
	close(to[0]);
	close(from[1]);
	ASSERT_EQ('r', read_byte(from[0], 5000)) TH_LOG("the exec'd image did not start");
	if (how == CLOSE_FD) {
		SYS(notify_sig(posix, q, SIGUSR2, NULL));
		SYS(posix->notify(q, NULL));
	} else {
		ASSERT_ERRNO(EBUSY, notify_sig(posix, q, SIGUSR2, NULL));
	}
	SYS(posix->send(q, "x", 1, 0));
	ASSERT_EQ(1, write(to[1], "g", 1));
	if (how == IMAGE_REGISTERS) {
		ASSERT_EQ('1', read_byte(from[0], 5000)) TH_LOG("the probe missed the signal");
	} else {
		ASSERT_EQ('0', read_byte(from[0], 5000)) TH_LOG("the exec'd image got the signal");
	}
	/* The message used the registration up (or there was none). */
	SYS(notify_sig(posix, q, SIGUSR2, NULL));
	SYS(posix->notify(q, NULL));
	ASSERT_EQ(0, reap(self, pid));
	close(to[1]);
	close(from[0]);
}

TEST_F(edge, notify_not_sent_after_the_owner_execs_keeping_its_descriptor)
{
	exec_owner(_metadata, self, KEEP_FD, 0);
}

TEST_F(edge, notify_not_sent_after_a_second_thread_of_the_owner_execs)
{
	exec_owner(_metadata, self, KEEP_FD, 1);
}

TEST_F(edge, exec_closing_the_owners_descriptor_drops_the_registration)
{
	exec_owner(_metadata, self, CLOSE_FD, 0);
}

TEST_F(edge, thread_exec_closing_the_owners_descriptor_drops_the_registration)
{
	exec_owner(_metadata, self, CLOSE_FD, 1);
}

TEST_F(edge, notify_sent_to_an_image_that_registered_after_its_exec)
{
	exec_owner(_metadata, self, IMAGE_REGISTERS, 1);
}

/*
 * A receive that lets a blocked sender's message into the queue does not
 * notify (pipelined_receive queues it without __do_notify), even if the
 * queue then holds one message: the registration stays (EBUSY for another),
 * and the next send to the empty queue uses it (SIGEV_NONE: it is removed).
 */
TEST_F(edge, notify_not_sent_when_a_receive_lets_a_blocked_senders_message_in)
{
	struct mq_attr a = { .mq_maxmsg = 1, .mq_msgsize = 16 };
	struct sigevent none = { .sigev_notify = SIGEV_NONE };
	char buf[16];
	mqd_t q;
	pid_t pid;

	q = SYS(posix->open(self->name[0], O_RDWR | O_CREAT | O_EXCL, 0600, &a));
	SYS(posix->send(q, "A", 1, 0));
	SYS(posix->notify(q, &none));
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		CHILD_CHECK(posix->send(q, "B", 1, 0) == 0);
		_exit(0);
	}
	track(self, pid);
	ASSERT_EQ(0, wait_blocked(pid));
	ASSERT_EQ(1, posix->receive(q, buf, sizeof(buf), NULL));
	ASSERT_EQ('A', buf[0]);
	ASSERT_EQ(0, reap(self, pid));
	ASSERT_EQ(-1, posix->notify(q, &none));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(1, posix->receive(q, buf, sizeof(buf), NULL));
	ASSERT_EQ('B', buf[0]);
	SYS(posix->send(q, "C", 1, 0));
	SYS(posix->notify(q, &none));
}

static pid_t usr1_tid;
static int result_fd = -1, started_fd = -1;

static void on_usr1_note_tid(int sig)
{
	(void)sig;
	__atomic_store_n(&usr1_tid, gettid(), __ATOMIC_SEQ_CST);
}

/* The second thread: says it runs (glibc starts a thread with every
 * signal blocked: a notification then would wait for it, natively too, but
 * on the stopped leader here: "Differences"), waits for SIGUSR1's handler
 * to have run, then writes its own tid and the handler's. */
static void *second_waits_for_usr1(void *arg)
{
	pid_t pair[2] = { gettid(), 0 };

	(void)arg;
	if (write(started_fd, "r", 1) != 1)
		return NULL;
	for (int i = 0; i < 10000 && !__atomic_load_n(&usr1_tid, __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	pair[1] = __atomic_load_n(&usr1_tid, __ATOMIC_SEQ_CST);
	if (write(result_fd, pair, sizeof(pair)) != sizeof(pair))
		return NULL;
	return NULL;
}

/*
 * The notification signal goes to a thread of the owner that can take it
 * now: with the owner's leader stopped by a tracer (PTRACE_INTERRUPT) and a
 * second thread sleeping, a send's SIGUSR1 runs its handler on the second
 * thread at once (native: complete_signal() passes over a traced thread).
 * Before, rust_ipc's signal waited on the stopped leader.
 */
TEST_F(edge, notify_goes_to_a_thread_that_runs_when_the_leader_is_traced)
{
	struct pollfd pfd;
	int ready[2], go[2], res[2], st;
	pid_t pid, pair[2] = { 0, 0 };
	char c;
	mqd_t q;

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(res));
	q = SYS(posix->open(self->name[0], O_RDWR | O_CREAT | O_EXCL, 0600, NULL));
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = on_usr1_note_tid, .sa_flags = SA_RESTART };
		pthread_t t;

		result_fd = res[1];
		started_fd = ready[1];
		CHILD_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
		CHILD_CHECK(notify_sig(posix, q, SIGUSR1, NULL) == 0);
		CHILD_CHECK(pthread_create(&t, NULL, second_waits_for_usr1, NULL) == 0);
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		CHILD_CHECK(pthread_join(t, NULL) == 0);
		_exit(0);
	}
	track(self, pid);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ(0, wait_blocked(pid));
	ASSERT_EQ(0, ptrace(PTRACE_SEIZE, pid, 0, 0));
	ASSERT_EQ(0, ptrace(PTRACE_INTERRUPT, pid, 0, 0));
	ASSERT_EQ(pid, waitpid(pid, &st, __WALL));
	ASSERT_TRUE(WIFSTOPPED(st));
	SYS(posix->send(q, "x", 1, 0));
	pfd = (struct pollfd){ .fd = res[0], .events = POLLIN };
	ASSERT_EQ(1, poll(&pfd, 1, 3000)) TH_LOG("no handler ran within 3 s");
	ASSERT_EQ((ssize_t)sizeof(pair), read(res[0], pair, sizeof(pair)));
	ASSERT_EQ(pair[0], pair[1]) TH_LOG("handler on %d, not the second thread %d", pair[1],
					   pair[0]);
	ASSERT_EQ(0, ptrace(PTRACE_DETACH, pid, 0, 0));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(0, reap(self, pid));
	SYS(posix->close(q));
	for (int i = 0; i < 2; i++) {
		close(ready[i]);
		close(go[i]);
		close(res[i]);
	}
}

/* ---- System V details ------------------------------------------------------- */

/* MSG_STAT and MSG_STAT_ANY look the index up modulo IPCMNI (ipcid_to_idx). */
TEST_F(edge, msg_stat_masks_the_index_with_ipcmni)
{
	static const int ks[] = { 1, 2, 3, 65535 };
	int id = MKQ(0600), idx = id % IPCMNI, seq = id / IPCMNI;
	struct msqid_ds s;
	struct msginfo mi;
	int max;

	SYS(snd(sysv, id, 1, "abc", 0));
	ASSERT_EQ(id, sysv->ctl(idx, MSG_STAT, &s));
	for (size_t i = 0; i < ARRAY_SIZE(ks); i++) {
		int masked = idx + ks[i] * IPCMNI;

		memset(&s, 0, sizeof(s));
		ASSERT_EQ(id, sysv->ctl(masked, MSG_STAT, &s))
			TH_LOG("index %d: %s", masked, strerrorname_np(errno));
		ASSERT_EQ(1ul, s.msg_qnum);
		ASSERT_EQ(3ul, s.__msg_cbytes);
		ASSERT_EQ(id, sysv->ctl(masked, MSG_STAT_ANY, &s))
			TH_LOG("index %d: %s", masked, strerrorname_np(errno));
		/* IPC_STAT takes an id: its sequence number must match. */
		if (ks[i] != seq) {
			ASSERT_ERRNO(EINVAL, sysv->ctl(masked, IPC_STAT, &s));
		}
	}
	/* An unused index is EINVAL whatever the bits above it. */
	max = SYS(sysv->ctl(0, MSG_INFO, (struct msqid_ds *)&mi));
	ASSERT_GT(IPCMNI - 1, max);
	ASSERT_ERRNO(EINVAL, sysv->ctl(max + 1 + IPCMNI, MSG_STAT, &s));
	ASSERT_ERRNO(EINVAL, sysv->ctl(max + 1 + IPCMNI, MSG_STAT_ANY, &s));
}

enum sv_call { SV_SEND, SV_RECEIVE };

/*
 * Forks a child, uid/gid uid, that blocks in a call on queue id: a send of
 * text with type, or a receive (of any type) that must give text with type.
 * The call must end with err (0: done).  Returns the child's pid (tracked)
 * once it blocks.
 */
static pid_t blocked_child(struct __test_metadata *_metadata, FIXTURE_DATA(edge) *self,
			   int id, uid_t uid, enum sv_call call, long type, const char *text,
			   int err)
{
	pid_t pid = fork_child();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct mbuf m;
		long r;

		CHILD_CHECK(become_uid(uid) == 0);
		if (call == SV_SEND)
			r = snd(sysv, id, type, text, 0);
		else
			r = sysv->rcv(id, &m, sizeof(m.mtext), 0, 0);
		if (err) {
			CHILD_CHECK(r == -1 && errno == err);
		} else if (call == SV_SEND) {
			CHILD_CHECK(r == 0);
		} else {
			CHILD_CHECK(r == (long)strlen(text));
			CHILD_CHECK(m.mtype == type && !memcmp(m.mtext, text, r));
		}
		_exit(0);
	}
	track(self, pid);
	ASSERT_EQ(0, wait_blocked(pid));
	return pid;
}

/*
 * A blocked sender whose write permission is revoked sleeps on while the
 * queue stays full; IPC_RMID then wakes it with EIDRM: after a sleep, the
 * sender checks that the queue is still there before it loops to the
 * permission check.
 */
TEST_F(edge, blocked_sender_revoked_then_removed_gets_eidrm)
{
	int id = MKQ(0666);
	pid_t pid;

	REQUIRE_ROOT();
	SET(id, 0, 0666, 4);
	SYS(snd(sysv, id, 1, "full", IPC_NOWAIT));
	pid = blocked_child(_metadata, self, id, NOBODY, SV_SEND, 2, "y", EIDRM);
	SET(id, 0, 0644, 4);
	usleep(100000);
	ASSERT_EQ('S', proc_state(pid));
	SYS(sysv->ctl(id, IPC_RMID, NULL));
	ASSERT_EQ(0, reap(self, pid));
	ASSERT_ERRNO(EINVAL, sysv->ctl(id, IPC_STAT, &(struct msqid_ds){ 0 }));
}

/*
 * IPC_SET that makes room wakes the blocked senders that now fit; each
 * re-checks its write permission first: it sends if it still may, else
 * gets EACCES (and its message is not queued).
 */
TEST_F(edge, ipc_set_wakes_senders_that_now_fit_and_they_recheck_permission)
{
	int id = MKQ(0666);
	pid_t pid;

	REQUIRE_ROOT();
	SET(id, 0, 0666, 4);
	SYS(snd(sysv, id, 1, "full", IPC_NOWAIT));
	/* Room, write permission kept: it sends. */
	pid = blocked_child(_metadata, self, id, NOBODY, SV_SEND, 2, "y", 0);
	SET(id, 0, 0666, 5);
	ASSERT_EQ(0, reap(self, pid));
	ASSERT_QUEUE(id, 2, 5);
	/* Room, write permission revoked in the same IPC_SET: EACCES. */
	pid = blocked_child(_metadata, self, id, NOBODY, SV_SEND, 3, "z", EACCES);
	SET(id, 0, 0644, 6);
	ASSERT_EQ(0, reap(self, pid));
	ASSERT_QUEUE(id, 2, 5);
}

/*
 * IPC_SET wakes every blocked receiver; each re-checks its read permission:
 * one that lost it gets EACCES, one that kept it sleeps again and takes the
 * next message.
 */
TEST_F(edge, ipc_set_wakes_receivers_and_only_those_without_read_permission_fail)
{
	int id = MKQ(0666);
	pid_t owner, other;

	REQUIRE_ROOT();
	owner = blocked_child(_metadata, self, id, NOBODY, SV_RECEIVE, 7, "next", 0);
	other = blocked_child(_metadata, self, id, NOBODY - 1, SV_RECEIVE, 0, NULL, EACCES);
	/* NOBODY owns it now, with read and write for the owner only. */
	SET(id, NOBODY, 0600, 16384);
	ASSERT_EQ(0, reap(self, other));
	usleep(100000);
	ASSERT_EQ(0, wait_blocked(owner));
	ASSERT_QUEUE(id, 0, 0);
	SYS(snd(sysv, id, 7, "next", 0));
	ASSERT_EQ(0, reap(self, owner));
	ASSERT_QUEUE(id, 0, 0);
}

/*
 * IPC_INFO and MSG_INFO report msgmax, msgmnb and msgmni as set; IPC_INFO's
 * msgpool, msgmap and msgtql are constants (MSGPOOL, MSGMAP, MSGTQL of the
 * default limits), whatever the limits; a new queue gets the new msgmnb.
 */
TEST_F(edge, info_limits_follow_the_settings_while_ipc_info_pool_stays_constant)
{
	struct msginfo mi;
	static struct { long mtype; char mtext[4001]; } m = { .mtype = 1 };
	int id;

	REQUIRE_ROOT();
	SET_SVLIMIT(L_MSGMAX, 4000);
	SET_SVLIMIT(L_MSGMNB, 20000);
	SET_SVLIMIT(L_MSGMNI, 1000);
	for (int c = 0; c < 2; c++) {
		int cmd = c ? MSG_INFO : IPC_INFO;

		memset(&mi, 0xa5, sizeof(mi));
		ASSERT_LE(0, sysv->ctl(0, cmd, (struct msqid_ds *)&mi));
		ASSERT_MSGINFO_LIMITS(mi, 4000, 20000, 1000);
		if (cmd == IPC_INFO) {
			ASSERT_EQ(512000, mi.msgpool);
			ASSERT_EQ(16384, mi.msgmap);
			ASSERT_EQ(16384, mi.msgtql);
		}
	}
	id = MKQ(0600);
	ASSERT_EQ(20000ul, STAT(id).msg_qbytes);
	ASSERT_ERRNO(EINVAL, sysv->snd(id, &m, 4001, IPC_NOWAIT));
	SYS(sysv->snd(id, &m, 4000, IPC_NOWAIT));
	ASSERT_QUEUE(id, 1, 4000);
}

/* What a MSG_STAT_ANY walk over every index finds. */
struct walk {
	int max;		/* the highest index in use, -1 if none */
	int n;			/* queues */
	long qnum, cbytes;	/* their messages and bytes */
};

static struct walk walk_indexes(const struct msg_backend *b)
{
	struct walk w = { -1, 0, 0, 0 };
	struct msqid_ds s;

	for (int i = 0; i < IPCMNI; i++)
		if (b->ctl(i, MSG_STAT_ANY, &s) >= 0) {
			w.max = i;
			w.n++;
			w.qnum += s.msg_qnum;
			w.cbytes += s.__msg_cbytes;
		}
	return w;
}

/*
 * IPC_INFO and MSG_INFO return the highest index in use (0 if none), and
 * MSG_INFO counts the queues (msgpool), messages (msgmap) and bytes
 * (msgtql): all as a walk over the indexes finds them.  mi gets MSG_INFO's
 * struct and top the calls' return value.
 */
#define ASSERT_INFO_IS_THE_WALK(w, mi, top) do { \
	int __i = SYS(sysv->ctl(0, IPC_INFO, (struct msqid_ds *)&mi)); \
	int __m; \
	memset(&mi, 0xa5, sizeof(mi)); \
	__m = SYS(sysv->ctl(0, MSG_INFO, (struct msqid_ds *)&mi)); \
	w = walk_indexes(sysv); \
	ASSERT_EQ(w.max < 0 ? 0 : w.max, __i); \
	ASSERT_EQ(__i, __m); \
	ASSERT_EQ(w.n, mi.msgpool); \
	ASSERT_EQ(w.qnum, mi.msgmap); \
	ASSERT_EQ(w.cbytes, mi.msgtql); \
	top = __i; \
} while (0)

/* What MSG_INFO counts changed by since mi0: queues, messages, bytes. */
#define ASSERT_INFO_CHANGE(mi0, mi, queues, msgs, bytes) do { \
	ASSERT_EQ((mi0).msgpool + (queues), (mi).msgpool); \
	ASSERT_EQ((mi0).msgmap + (msgs), (mi).msgmap); \
	ASSERT_EQ((mi0).msgtql + (bytes), (mi).msgtql); \
} while (0)

TEST_F(edge, info_returns_the_highest_index_and_msg_info_the_totals)
{
	struct msginfo mi0, mi;
	struct walk w;
	int top, low, ret0, ret;

	REQUIRE_ROOT();
	ASSERT_INFO_IS_THE_WALK(w, mi0, ret0);
	top = ret0 + 1000;
	ASSERT_GT(IPCMNI, top);
	SYS(set_next_id(sysv, top));
	ASSERT_EQ(top, MKQ(0600));
	SYS(snd(sysv, top, 1, "0123456789", 0));
	SYS(snd(sysv, top, 2, "01234", 0));
	ASSERT_INFO_IS_THE_WALK(w, mi, ret);
	/* One queue, 2 messages, 15 bytes more; top the highest index. */
	ASSERT_INFO_CHANGE(mi0, mi, 1, 2, 15);
	ASSERT_EQ(top, ret);
	ASSERT_EQ(top, w.max);
	low = MKQ(0600);
	ASSERT_GT(top, low % IPCMNI);
	SYS(snd(sysv, low, 1, "abc", 0));
	ASSERT_INFO_IS_THE_WALK(w, mi, ret);
	ASSERT_INFO_CHANGE(mi0, mi, 2, 3, 18);
	ASSERT_EQ(top, ret);
	ASSERT_EQ(top, w.max);
	/* Removing the top queue brings the highest index down. */
	SYS(sysv->ctl(top, IPC_RMID, NULL));
	ASSERT_INFO_IS_THE_WALK(w, mi, ret);
	ASSERT_INFO_CHANGE(mi0, mi, 1, 1, 3);
	ASSERT_EQ(ret0 > low % IPCMNI ? ret0 : low % IPCMNI, ret);
	ASSERT_GT(top, w.max);
	ASSERT_LE(low % IPCMNI, w.max);
}

/*
 * In a new IPC namespace: no queue (MSG_INFO all 0, return 0), the first
 * queue gets id 0, the next id 1; the info calls ignore msqid.
 */
TEST_F(edge, info_in_a_fresh_ipc_namespace)
{
	pid_t pid;

	REQUIRE_CAP(CAP_SYS_ADMIN);
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct msginfo mi;
		int a, b;

		CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
		memset(&mi, 0xa5, sizeof(mi));
		CHILD_CHECK(sysv->ctl(123456, MSG_INFO, (struct msqid_ds *)&mi) == 0);
		CHILD_CHECK(mi.msgpool == 0 && mi.msgmap == 0 && mi.msgtql == 0);
		CHILD_CHECK(sysv->ctl(123456, IPC_INFO, (struct msqid_ds *)&mi) == 0);
		CHILD_CHECK((a = sysv->get(IPC_PRIVATE, 0600)) == 0);
		CHILD_CHECK((b = sysv->get(IPC_PRIVATE, 0600)) == 1);
		CHILD_CHECK(snd(sysv, a, 1, "abc", 0) == 0);
		CHILD_CHECK(snd(sysv, b, 1, "defgh", 0) == 0);
		CHILD_CHECK(sysv->ctl(0, MSG_INFO, (struct msqid_ds *)&mi) == 1);
		CHILD_CHECK(mi.msgpool == 2 && mi.msgmap == 2 && mi.msgtql == 8);
		CHILD_CHECK(sysv->ctl(b, IPC_RMID, NULL) == 0);
		CHILD_CHECK(sysv->ctl(0, MSG_INFO, (struct msqid_ds *)&mi) == 0);
		CHILD_CHECK(mi.msgpool == 1 && mi.msgmap == 1 && mi.msgtql == 3);
		CHILD_CHECK(sysv->ctl(a, IPC_RMID, NULL) == 0);
		CHILD_CHECK(sysv->ctl(0, IPC_INFO, (struct msqid_ds *)&mi) == 0);
		_exit(0);
	}
	track(self, pid);
	ASSERT_EQ(0, reap(self, pid));
}

TEST_HARNESS_MAIN
