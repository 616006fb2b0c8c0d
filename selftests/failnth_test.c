// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation-failure injection into every rust_ipc call that allocates,
 * with /proc/thread-self/fail-nth (Documentation/fault-injection/
 * fault-injection.rst, "Systematic faults using fail-nth"): for n = 1, 2,
 * 3, ... the n-th fault site the calling task reaches fails; the file reads
 * back 0 when that fault was injected, and a positive count when the call
 * reached fewer than n sites (then it is disarmed and the loop ends).
 *
 * For each call, each injected failure must give a clean error (ENOMEM)
 * and leave the queue exactly as it was: checked with getattr/QSIZE or
 * IPC_STAT, then by receiving everything and comparing every byte with a
 * model of the queue.  A fault may also be absorbed: the call then succeeds
 * (or ends with its own errno, EFAULT for a faulting buffer, ETIMEDOUT for
 * a timed call) and its effect is checked like any success.  On the debug
 * kernel about half the fault points are kmemleak's: each allocation is
 * followed by one for kmemleak's metadata, which falls back to its pool.
 * The module's own fallbacks absorb others (a small System V message is
 * loaded again the slow way; a wake-up list entry, GFP_ATOMIC, wakes its
 * task at once), and so does the signal queue of a notification.
 * A batch that fails at item k > 0 returns k (a partial batch).
 *
 * Each call's figures are printed as TAP diagnostics, and the totals by
 * the last test ("N faults injected over M calls").  Leaks: scripts/vm-run
 * runs a kmemleak scan on the debug kernel after the tests; the
 * RLIMIT_MSGQUEUE charge and the System V queue count are checked here.
 *
 * The debug kernel has CONFIG_FAULT_INJECTION and CONFIG_FAILSLAB; the
 * tests SKIP where /proc/thread-self/fail-nth does not exist (the release
 * kernel).  failslab's ignore-gfp-wait is set to N (else GFP_KERNEL
 * allocations are never failed) and verbose to 0 (FAILNTH_VERBOSE=2 in the
 * environment: a stack trace per injected fault in dmesg) for the
 * duration, and restored afterwards.  Every user buffer is touched before
 * a call is armed (again after each fork(), for copy-on-write), so that no
 * page fault takes the injected fault instead of the module.
 *
 * rust_ipc only: every test SKIPs when the device does not exist.
 */
#include "ripc_test.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#define PTR(p) ((__u64)(uintptr_t)(p))
#define FAILNTH "/proc/thread-self/fail-nth"
#define MAX_N 2000		/* no call reaches that many fault sites */
#define MAXM 16			/* messages in a model queue */
#define BIG (3 * PAGE)		/* a 3-page message: head + 2 segments */
#define MSGSZ (4 * PAGE)	/* POSIX queue msgsize, System V msgmax */

/* ---- fail-nth ----------------------------------------------------------- */

static void fn_arm(int fd, int n)
{
	char b[16];
	int l = snprintf(b, sizeof(b), "%d", n);

	if (pwrite(fd, b, l, 0) != l)
		abort();
}

/* Whether the armed fault was injected; disarms it if it was not. */
static int fn_injected(int fd)
{
	char b[16] = { 0 };

	if (pread(fd, b, sizeof(b) - 1, 0) <= 0)
		abort();
	if (atoi(b) == 0)
		return 1;
	if (pwrite(fd, "0", 1, 0) != 1)
		abort();
	return 0;
}

/* ---- raw calls ---------------------------------------------------------- */

static long xmsgget(int dev, key_t key, int flg)
{
	struct ripc_msgget a = { .size = sizeof(a), .key = key, .msgflg = flg };

	return ioctl(dev, RIPC_MSGGET, &a);
}

static long xmsgsnd(int dev, int id, const void *msgp, long sz, int flg,
		    const struct ripc_timespec *to)
{
	struct ripc_msgsnd a = { .size = sizeof(a), .msqid = id, .msgflg = flg,
				 .msgp = PTR(msgp), .msgsz = sz, .timeout = PTR(to) };

	return ioctl(dev, RIPC_MSGSND, &a);
}

static long xmsgrcv(int dev, int id, void *msgp, long sz, long typ, int flg,
		    const struct ripc_timespec *to)
{
	struct ripc_msgrcv a = { .size = sizeof(a), .msqid = id, .msgflg = flg,
				 .msgp = PTR(msgp), .msgsz = sz, .msgtyp = typ,
				 .timeout = PTR(to) };

	return ioctl(dev, RIPC_MSGRCV, &a);
}

static long xmsgctl(int dev, int id, int cmd, void *buf)
{
	struct ripc_msgctl a = { .size = sizeof(a), .msqid = id, .cmd = cmd, .buf = PTR(buf) };

	return ioctl(dev, RIPC_MSGCTL, &a);
}

static long xmq_send(int fd, const void *p, size_t len, unsigned int prio,
		     const struct ripc_timespec *to)
{
	struct ripc_mq_xfer x = { .size = sizeof(x), .msg_prio = prio, .msg_ptr = PTR(p),
				  .msg_len = len, .timeout = PTR(to) };

	return ioctl(fd, RIPC_MQ_SEND, &x);
}

static long xmq_recv(int fd, void *p, size_t len, unsigned int *prio,
		     const struct ripc_timespec *to)
{
	struct ripc_mq_xfer x = { .size = sizeof(x), .msg_ptr = PTR(p), .msg_len = len,
				  .timeout = PTR(to) };
	long r = ioctl(fd, RIPC_MQ_RECEIVE, &x);

	if (prio)
		*prio = x.msg_prio;
	return r;
}

static long xmq_getattr(int fd, struct ripc_mq_attr *a)
{
	struct ripc_mq_getsetattr g = { .size = sizeof(g), .old_attr = PTR(a) };

	return ioctl(fd, RIPC_MQ_GETSETATTR, &g);
}

static long xmq_notify(int fd, const struct ripc_sigevent *sev)
{
	struct ripc_mq_notify n = { .size = sizeof(n), .sevp = PTR(sev) };

	return ioctl(fd, RIPC_MQ_NOTIFY, &n);
}

/* A new O_RDWR|O_NONBLOCK descriptor of queue name (created if needed). */
static int mq_make(const char *name, int flags, long maxmsg, long msgsize)
{
	struct ripc_mq_attr a = { .mq_maxmsg = maxmsg, .mq_msgsize = msgsize };
	struct ripc_mq_open o = { .size = sizeof(o), .oflag = O_RDWR | O_NONBLOCK | flags,
				  .mode = 0600, .name = PTR(name), .attr = PTR(&a) };

	return device_ioctl_fd(RIPC_MQ_OPEN, &o);
}

/* The QSIZE, NOTIFY and NOTIFY_PID fields of a POSIX descriptor's read(). */
static int mq_status(int fd, long *qsize, int *notify, int *npid)
{
	char line[256] = { 0 };
	int n = pread(fd, line, sizeof(line) - 1, 0), sig;

	if (n <= 0)
		return -1;
	if (sscanf(line, "QSIZE:%ld NOTIFY:%d SIGNO:%d NOTIFY_PID:%d",
		   qsize, notify, &sig, npid) != 4)
		return -1;
	return 0;
}

/* ---- queue models --------------------------------------------------------- */

struct spec {
	long type;		/* POSIX priority or System V mtype */
	unsigned int len;
	unsigned int seed;	/* the bytes are pattern(i, seed) */
};

struct model {
	int n;
	struct spec m[MAXM];
};

static void model_add(struct model *q, long type, unsigned int len, unsigned int seed)
{
	if (q->n < MAXM)
		q->m[q->n++] = (struct spec){ type, len, seed };
}

/* Removes the k-th message in arrival order. */
static void model_del(struct model *q, int k)
{
	memmove(&q->m[k], &q->m[k + 1], (q->n - k - 1) * sizeof(q->m[0]));
	q->n--;
}

static long model_bytes(const struct model *q)
{
	long s = 0;

	for (int i = 0; i < q->n; i++)
		s += q->m[i].len;
	return s;
}

/* Index (arrival order) of the message a POSIX receive takes next. */
static int mq_next(const struct model *q)
{
	int best = -1;

	for (int i = 0; i < q->n; i++)
		if (best < 0 || q->m[i].type > q->m[best].type)
			best = i;
	return best;
}

/* Page-aligned, pre-touched buffers (see the comment at the top). */
static char *msgbuf;	/* a text to send, 2 * MSGSZ */
static char *rcvbuf;	/* a receive buffer, 2 * MSGSZ */
static char *none;	/* a PROT_NONE page */

static void buffers(void)
{
	if (msgbuf)
		return;
	msgbuf = mmap(NULL, 4 * MSGSZ + PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (msgbuf == MAP_FAILED)
		abort();
	rcvbuf = msgbuf + 2 * MSGSZ;
	none = msgbuf + 4 * MSGSZ;
	memset(msgbuf, 1, 4 * MSGSZ);
	if (mprotect(none, PAGE, PROT_NONE))
		abort();
}

/* Writes to every page of the buffers: after a fork(), so that no
 * copy-on-write fault happens inside an armed call. */
static void touch(void)
{
	for (char *p = msgbuf; p < none; p += PAGE)
		*(volatile char *)p = *p;
}


/* Builds the struct msgbuf of s in msgbuf (mtype, then the text). */
static void *sv_msg(const struct spec *s)
{
	*(long *)msgbuf = s->type;
	fill(msgbuf + sizeof(long), s->len, s->seed);
	return msgbuf;
}

static int mq_put(int fd, const struct spec *s)
{
	fill(msgbuf, s->len, s->seed);
	return xmq_send(fd, msgbuf, s->len, s->type, NULL);
}

static int mq_fill(int fd, const struct model *q)
{
	for (int i = 0; i < q->n; i++)
		if (mq_put(fd, &q->m[i]))
			return -1;
	return 0;
}

/* Whether the buffer holds message s (POSIX: text only). */
static int same_text(const char *buf, long len, const struct spec *s)
{
	return len == (long)s->len && check(buf, s->len, s->seed);
}

/*
 * Checks a POSIX queue against the model: getattr's curmsgs, read()'s
 * QSIZE, then every message in receive order, byte for byte; leaves the
 * queue empty.  Returns 0 if all matched, else logs and returns -1.
 */
static int mq_verify(struct __test_metadata *_metadata, int fd, struct model q, const char *when)
{
	struct ripc_mq_attr a;
	unsigned int prio;
	long qsize, r;
	int nt, np, k, bad = 0;

	if (xmq_getattr(fd, &a) || mq_status(fd, &qsize, &nt, &np)) {
		TH_LOG("%s: getattr/read failed: %s", when, strerrorname_np(errno));
		return -1;
	}
	if (a.mq_curmsgs != q.n || qsize != model_bytes(&q)) {
		TH_LOG("%s: curmsgs %lld QSIZE %ld, expected %d and %ld", when,
		       (long long)a.mq_curmsgs, qsize, q.n, model_bytes(&q));
		bad = 1;
	}
	while ((k = mq_next(&q)) >= 0) {
		r = xmq_recv(fd, rcvbuf, MSGSZ, &prio, NULL);
		if (r < 0) {
			TH_LOG("%s: %d message(s) missing (receive: %s)", when, q.n,
			       strerrorname_np(errno));
			return -1;
		}
		if (!same_text(rcvbuf, r, &q.m[k]) || prio != q.m[k].type) {
			TH_LOG("%s: got %ld bytes prio %u, expected %u bytes prio %ld (seed %u)",
			       when, r, prio, q.m[k].len, q.m[k].type, q.m[k].seed);
			bad = 1;
		}
		model_del(&q, k);
	}
	r = xmq_recv(fd, rcvbuf, MSGSZ, &prio, NULL);
	if (r >= 0 || errno != EAGAIN) {
		TH_LOG("%s: an extra message of %ld bytes prio %u", when, r, prio);
		bad = 1;
		while (xmq_recv(fd, rcvbuf, MSGSZ, &prio, NULL) >= 0)
			;
	}
	return bad ? -1 : 0;
}

/* Sends the model's messages to a System V queue, from a child if asked (so
 * that msg_lspid is not the caller's pid). */
static int sv_fill(int dev, int id, const struct model *q, int from_child)
{
	pid_t pid;

	if (!from_child) {
		for (int i = 0; i < q->n; i++)
			if (xmsgsnd(dev, id, sv_msg(&q->m[i]), q->m[i].len, IPC_NOWAIT, NULL))
				return -1;
		return 0;
	}
	pid = fork_child();
	if (pid == 0)
		_exit(sv_fill(dev, id, q, 0) ? 1 : 0);
	touch();
	return wait_child(pid) ? -1 : 0;
}

static int sv_stat(int dev, int id, struct ripc_msqid_ds *ds)
{
	memset(ds, 0, sizeof(*ds));
	return xmsgctl(dev, id, IPC_STAT, ds);
}

/* As mq_verify, for a System V queue (FIFO order, IPC_STAT's counters). */
static int sv_verify(struct __test_metadata *_metadata, int dev, int id, struct model q,
		     const char *when)
{
	struct ripc_msqid_ds ds;
	long r;
	int bad = 0;

	if (sv_stat(dev, id, &ds)) {
		TH_LOG("%s: IPC_STAT: %s", when, strerrorname_np(errno));
		return -1;
	}
	if (ds.msg_qnum != (__u64)q.n || ds.msg_cbytes != (__u64)model_bytes(&q)) {
		TH_LOG("%s: qnum %llu cbytes %llu, expected %d and %ld", when,
		       (unsigned long long)ds.msg_qnum, (unsigned long long)ds.msg_cbytes,
		       q.n, model_bytes(&q));
		bad = 1;
	}
	while (q.n > 0) {
		r = xmsgrcv(dev, id, rcvbuf, MSGSZ, 0, IPC_NOWAIT, NULL);
		if (r < 0) {
			TH_LOG("%s: %d message(s) missing (msgrcv: %s)", when, q.n,
			       strerrorname_np(errno));
			return -1;
		}
		if (*(long *)rcvbuf != q.m[0].type ||
		    !same_text(rcvbuf + sizeof(long), r, &q.m[0])) {
			TH_LOG("%s: got %ld bytes type %ld, expected %u bytes type %ld (seed %u)",
			       when, r, *(long *)rcvbuf, q.m[0].len, q.m[0].type, q.m[0].seed);
			bad = 1;
		}
		model_del(&q, 0);
	}
	r = xmsgrcv(dev, id, rcvbuf, MSGSZ, 0, IPC_NOWAIT, NULL);
	if (r >= 0 || errno != ENOMSG) {
		TH_LOG("%s: an extra message of %ld bytes", when, r);
		bad = 1;
		while (xmsgrcv(dev, id, rcvbuf, MSGSZ, 0, IPC_NOWAIT, NULL) >= 0)
			;
	}
	return bad ? -1 : 0;
}

/* ---- the loop ------------------------------------------------------------- */

/* What one injection loop (one call, swept over n = 1, 2, ...) saw. */
struct tally {
	int loops;	/* (in the totals) the loops run */
	int injected;	/* faults injected = fault points the call reached */
	int failed;	/* ... that made the call fail cleanly */
	int partial;	/* ... that ended a batch early (a count returned) */
	int absorbed;	/* ... that the call survived (see the top comment) */
	int bad;	/* outcomes that were wrong: errno, queue or effect */
	int notes;	/* remarks (see the log) */
};

/* Totals over all tests (each TEST runs in its own process). */
static struct tally *grand;

static void __attribute__((constructor)) grand_init(void)
{
	grand = mmap(NULL, sizeof(*grand), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (grand == MAP_FAILED)
		grand = NULL;
}

static struct ripc_timespec rdl(long ms)
{
	struct timespec ts = deadline_ms(ms);

	return (struct ripc_timespec){ ts.tv_sec, ts.tv_nsec };
}

/*
 * Accounts one armed call at fail-nth n: inj, whether the fault was
 * injected, the call's result r and errno e, bad, whether the outcome was
 * wrong, and full, the count of a complete batch (0 for other calls).
 * Returns 1 when the loop is over: the call reached fewer than n fault
 * points (it ran without an injected fault), or n reached MAX_N (wrong).
 */
static int step(struct __test_metadata *_metadata, struct tally *t, const char *what,
		int n, int inj, long r, int e, int bad, long full)
{
	if (inj) {
		t->injected++;
		if (r < 0 && e == ENOMEM)
			t->failed++;
		else if (full && r < full)
			t->partial++;
		else
			t->absorbed++;
	}
	if (inj && n == MAX_N) {
		TH_LOG("%s: still failing at fail-nth %d", what, n);
		bad = 1;
	}
	if (bad) {
		TH_LOG("%s: wrong outcome at fail-nth %d (%s): result %ld, errno %s", what, n,
		       inj ? "fault injected" : "no fault injected", r,
		       r < 0 ? strerrorname_np(e) : "-");
		t->bad++;
	}
	return !inj || n == MAX_N;
}

/*
 * Prints the loop's figures (TAP diagnostics) and adds them to the totals.
 * allocates: whether the call reaches fault sites (allocations in the
 * calling task) at all, asserted both ways, so that an allocation that
 * leaves the call (or a new one in a call that had none) is seen.
 */
static void report(struct __test_metadata *_metadata, const char *what, struct tally *t,
		   int allocates)
{
	ksft_print_msg("%s: %d fault points: %d clean errors, %d partial batches, %d absorbed, %d wrong\n",
		       what, t->injected, t->failed, t->partial, t->absorbed, t->bad);
	if (grand) {
		__atomic_add_fetch(&grand->loops, 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&grand->injected, t->injected, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&grand->failed, t->failed, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&grand->partial, t->partial, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&grand->absorbed, t->absorbed, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&grand->bad, t->bad, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&grand->notes, t->notes, __ATOMIC_SEQ_CST);
	}
	EXPECT_EQ(0, t->bad) TH_LOG("%s: %d outcomes were wrong (see above)", what, t->bad);
	if (allocates) {
		EXPECT_LT(0, t->injected) TH_LOG("%s: no fault site reached", what);
	} else {
		EXPECT_EQ(0, t->injected) TH_LOG("%s: fault sites reached", what);
	}
}

/* Arms fail-nth n, makes the call (an expression), reads the outcome. */
#define ARMED(fnfd, n, r, e, inj, call) do { \
	fn_arm(fnfd, n); \
	r = (call); \
	e = errno; \
	inj = fn_injected(fnfd); \
} while (0)

/* ---- fixture -------------------------------------------------------------- */

FIXTURE(fnth) {
	int dev;
	int fn;			/* /proc/thread-self/fail-nth */
	char name[64];		/* a POSIX queue name */
	char name2[64];
	key_t key;
	int ids[8];
	int nids;
	int restore;		/* knobs and limits to restore */
	char igw[16], verbose[16];
	struct ripc_limits limits;
};

FIXTURE_SETUP(fnth)
{
	struct ripc_version v = { .size = sizeof(v) };
	struct ripc_limits l = { .msgmax = MSGSZ };

	self->fn = -1;
	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	if (access(FAILNTH, F_OK))
		SKIP(return, FAILNTH " does not exist (no CONFIG_FAULT_INJECTION)");
	REQUIRE_ROOT();
	if (read_knob("ignore-gfp-wait", self->igw, sizeof(self->igw)) ||
	    read_knob("verbose", self->verbose, sizeof(self->verbose)))
		SKIP(return, FAILSLAB " is missing (no CONFIG_FAILSLAB or debugfs)");
	self->dev = SYS(ripc_device_fd());
	SYS(ripc_version(&v));
	self->limits = v.limits;
	self->restore = 1;
	ASSERT_EQ(0, write_knob("ignore-gfp-wait", "N"));
	/* FAILNTH_VERBOSE=2: failslab logs a stack trace per injected fault. */
	ASSERT_EQ(0, write_knob("verbose", getenv("FAILNTH_VERBOSE") ?: "0"));
	/* Room for a 3-page System V message (root may exceed msgmnb). */
	SYS(ripc_set_limits(&l));
	self->fn = SYS(open(FAILNTH, O_RDWR | O_CLOEXEC));
	snprintf(self->name, sizeof(self->name), "/ripc_fnth_%d", getpid());
	snprintf(self->name2, sizeof(self->name2), "/ripc_fnth2_%d", getpid());
	self->key = 0x46000000 | getpid();
	buffers();
}

FIXTURE_TEARDOWN(fnth)
{
	int id;

	if (self->fn >= 0) {
		if (pwrite(self->fn, "0", 1, 0) != 1)
			TH_LOG("could not disarm fail-nth");
		close(self->fn);
	}
	if (!self->restore)
		return;
	write_knob("ignore-gfp-wait", self->igw);
	write_knob("verbose", self->verbose);
	ripc_set_limits_fields(&self->limits, RIPC_LIMIT_ALL);
	/* A test that stopped with msg_next_id set leaves it to no other. */
	ripc_msg_next_id(NULL, &(int){ -1 });
	for (int i = 0; i < self->nids; i++)
		xmsgctl(self->dev, self->ids[i], IPC_RMID, NULL);
	if ((id = xmsgget(self->dev, self->key, 0)) >= 0)
		xmsgctl(self->dev, id, IPC_RMID, NULL);
	ripc_mq_unlink(self->name);
	ripc_mq_unlink(self->name2);
}

/* A System V queue removed at teardown, with qbytes set to 8 pages. */
static int sv_make(struct __test_metadata *_metadata, FIXTURE_DATA(fnth) *self)
{
	struct ripc_msqid_ds ds;
	int id = SYS(xmsgget(self->dev, IPC_PRIVATE, IPC_CREAT | 0600));

	if (self->nids < (int)ARRAY_SIZE(self->ids))
		self->ids[self->nids++] = id;
	SYS(sv_stat(self->dev, id, &ds));
	ds.msg_qbytes = 8 * PAGE;
	SYS(xmsgctl(self->dev, id, IPC_SET, &ds));
	return id;
}

static void sv_drop(FIXTURE_DATA(fnth) *self, int id)
{
	xmsgctl(self->dev, id, IPC_RMID, NULL);
	for (int i = 0; i < self->nids; i++)
		if (self->ids[i] == id)
			self->ids[i] = self->ids[--self->nids];
}

/* The reference contents: three priorities/types, one 3-page message. */
static struct model base_model(void)
{
	struct model q = { 0 };

	model_add(&q, 3, 100, 1);
	model_add(&q, 7, 5000, 2);
	model_add(&q, 3, BIG, 3);
	model_add(&q, 1, 0, 4);
	return q;
}

/* ---- device --------------------------------------------------------------- */

TEST_F_TIMEOUT(fnth, device_open_list_and_read, 120)
{
	struct tally t = { 0 }, l = { 0 }, rd = { 0 };
	struct ripc_list a = { .size = sizeof(a), .which = RIPC_LIST_POSIX | RIPC_LIST_SYSV,
			       .buf = PTR(rcvbuf), .buf_len = MSGSZ };
	int q = SYS(mq_make(self->name, O_CREAT, 4, 64));
	long r;
	int e, inj, bad;

	/* open(): the file's private data. */
	for (int n = 1;; n++) {
		ARMED(self->fn, n, r, e, inj, open(RIPC_DEVICE, O_RDWR | O_CLOEXEC));
		bad = r < 0 && e != ENOMEM;
		if (r >= 0)
			close(r);
		if (step(_metadata, &t, "open", n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, "open(" RIPC_DEVICE ")", &t, 1);

	/* RIPC_IOC_LIST: the text table grows as it is written. */
	for (int n = 1;; n++) {
		memset(rcvbuf, 0xa5, 64);
		ARMED(self->fn, n, r, e, inj, ioctl(self->dev, RIPC_IOC_LIST, &a));
		bad = r < 0 ? e != ENOMEM || (unsigned char)rcvbuf[0] != 0xa5
			    : (size_t)r != strlen(rcvbuf);
		if (step(_metadata, &l, "list", n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, "RIPC_IOC_LIST", &l, 1);

	/* read() of a queue descriptor: the QSIZE line. */
	for (int n = 1;; n++) {
		ARMED(self->fn, n, r, e, inj, pread(q, rcvbuf, 256, 0));
		bad = r < 0 ? e != ENOMEM : r < 10 || memcmp(rcvbuf, "QSIZE:", 6);
		if (step(_metadata, &rd, "read", n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, "read() of a queue descriptor", &rd, 1);
	close(q);
}

/* ---- POSIX ---------------------------------------------------------------- */

/* Bytes one more uid-0 queue of maxmsg 1 may have (RLIMIT_MSGQUEUE): a
 * leaked charge would lower it. */
static long mq_headroom(const char *name)
{
	long lo = 0, hi = 32L << 20;

	while (lo < hi) {
		long mid = (lo + hi + 1) / 2;
		int fd = mq_make(name, O_CREAT | O_EXCL, 1, mid);

		if (fd >= 0) {
			close(fd);
			ripc_mq_unlink(name);
			lo = mid;
		} else {
			hi = mid - 1;
		}
	}
	return lo;
}

/* After a failed mq_open(O_CREAT|O_EXCL): no queue by that name, and the
 * file still unbound. */
static int mq_open_clean(int fd, const char *name)
{
	struct ripc_mq_attr a;
	int q = mq_make(name, 0, 1, 1);

	if (q >= 0) {
		close(q);
		return -1;
	}
	if (errno != ENOENT)
		return -1;
	return xmq_getattr(fd, &a) == -1 && errno == EBADF ? 0 : -1;
}

TEST_F_TIMEOUT(fnth, mq_open, 120)
{
	struct ripc_mq_attr at = { .mq_maxmsg = 8, .mq_msgsize = MSGSZ };
	struct ripc_mq_open o = { .size = sizeof(o), .oflag = O_RDWR | O_CREAT | O_EXCL,
				  .mode = 0600, .name = PTR(self->name), .attr = PTR(&at) };
	struct tally c = { 0 }, x = { 0 };
	long before = mq_headroom(self->name2), after, r;
	int fd = -1, e, inj, bad;

	/* Creation: the name, the queue and its charge. */
	for (int n = 1;; n++) {
		if (fd < 0)
			fd = SYS(open(RIPC_DEVICE, O_RDWR | O_CLOEXEC));
		ARMED(self->fn, n, r, e, inj, ioctl(fd, RIPC_MQ_OPEN, &o));
		if (r < 0) {
			bad = e != ENOMEM || mq_open_clean(fd, self->name);
		} else {
			bad = 0;
			close(fd);
			fd = -1;
			SYS(ripc_mq_unlink(self->name));
		}
		if (step(_metadata, &c, "mq_open create", n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, "RIPC_MQ_OPEN (create)", &c, 1);
	if (fd >= 0)
		close(fd);
	fd = -1;

	/* Opening an existing queue: binding a file of the device to it
	 * allocates nothing (the name is looked up where it was read), so no
	 * fault point is reached, and one that appears is seen. */
	close(SYS(mq_make(self->name, O_CREAT, 8, MSGSZ)));
	o.oflag = O_RDONLY;
	for (int n = 1;; n++) {
		if (fd < 0)
			fd = SYS(open(RIPC_DEVICE, O_RDWR | O_CLOEXEC));
		ARMED(self->fn, n, r, e, inj, ioctl(fd, RIPC_MQ_OPEN, &o));
		if (r < 0) {
			bad = e != ENOMEM || xmq_getattr(fd, &at) != -1 || errno != EBADF;
		} else {
			bad = 0;
			close(fd);
			fd = -1;
		}
		if (step(_metadata, &x, "mq_open existing", n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, "RIPC_MQ_OPEN (existing)", &x, 0);
	if (fd >= 0)
		close(fd);
	SYS(ripc_mq_unlink(self->name));

	/* Every failed creation gave its RLIMIT_MSGQUEUE charge back. */
	after = mq_headroom(self->name2);
	ASSERT_EQ(before, after) TH_LOG("uid 0's RLIMIT_MSGQUEUE headroom went from %ld to %ld bytes",
					before, after);
}

/*
 * Every armed call below starts from the same state: a new queue, filled
 * the same way, so that the n-th fault point is the same allocation in
 * every round (a queue keeps spare storage once it has grown).
 */

/* A new queue self->name of maxmsg messages of MSGSZ, holding q. */
static int mq_new(struct __test_metadata *_metadata, FIXTURE_DATA(fnth) *self, long maxmsg,
		  const struct model *q)
{
	int fd = SYS(mq_make(self->name, O_CREAT | O_EXCL, maxmsg, MSGSZ));

	if (q && mq_fill(fd, q)) {
		TH_LOG("filling the queue: %s", strerrorname_np(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void mq_del(FIXTURE_DATA(fnth) *self, int fd)
{
	close(fd);
	ripc_mq_unlink(self->name);
}

/* A second, blocking descriptor of self->name. */
static int mq_blocking(FIXTURE_DATA(fnth) *self, int oflag)
{
	struct ripc_mq_open o = { .size = sizeof(o), .oflag = oflag, .name = PTR(self->name) };

	return device_ioctl_fd(RIPC_MQ_OPEN, &o);
}

/* An armed send of s to a queue holding q. */
static void mq_send_case(struct __test_metadata *_metadata, FIXTURE_DATA(fnth) *self,
			 const char *what, struct model q, struct spec s)
{
	struct tally t = { 0 };
	struct model want;
	int fd, e, inj, bad;
	long r;

	for (int n = 1;; n++) {
		ASSERT_LE(0, fd = mq_new(_metadata, self, 8, &q));
		fill(msgbuf, s.len, s.seed);
		want = q;
		ARMED(self->fn, n, r, e, inj, xmq_send(fd, msgbuf, s.len, s.type, NULL));
		if (r == 0)
			model_add(&want, s.type, s.len, s.seed);
		bad = (r < 0 && e != ENOMEM) | mq_verify(_metadata, fd, want, what);
		mq_del(self, fd);
		if (step(_metadata, &t, what, n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, what, &t, 1);
	EXPECT_LT(0, t.failed) TH_LOG("%s: no fault made the call fail", what);
}

TEST_F_TIMEOUT(fnth, mq_send, 120)
{
	struct model q = base_model(), empty = { 0 };

	mq_send_case(_metadata, self, "mq send 100 B, existing priority", q, (struct spec){ 3, 100, 10 });
	mq_send_case(_metadata, self, "mq send 100 B, new priority", q, (struct spec){ 5, 100, 11 });
	mq_send_case(_metadata, self, "mq send 3 pages, new priority", q, (struct spec){ 9, BIG, 12 });
	mq_send_case(_metadata, self, "mq send 3 pages, empty queue", empty, (struct spec){ 2, BIG, 13 });
	mq_send_case(_metadata, self, "mq send 0 B, empty queue", empty, (struct spec){ 0, 0, 14 });
}

/* A timed send on a full queue: its waiter entry; ETIMEDOUT if it sleeps. */
TEST_F_TIMEOUT(fnth, mq_send_blocking_on_a_full_queue, 120)
{
	struct model full = { 0 };
	struct ripc_timespec to;
	struct tally t = { 0 };
	int fd, bfd, e, inj, bad;
	long r;

	model_add(&full, 1, 10, 20);
	model_add(&full, 1, 20, 21);
	fill(msgbuf, 30, 22);
	for (int n = 1;; n++) {
		ASSERT_LE(0, fd = mq_new(_metadata, self, 2, &full));
		bfd = SYS(mq_blocking(self, O_WRONLY));
		to = rdl(20);
		ARMED(self->fn, n, r, e, inj, xmq_send(bfd, msgbuf, 30, 1, &to));
		bad = r == 0 || (e != ENOMEM && e != ETIMEDOUT);
		bad |= mq_verify(_metadata, fd, full, "mq timed send on a full queue");
		close(bfd);
		mq_del(self, fd);
		if (step(_metadata, &t, "mq timed send", n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, "mq send, blocking on a full queue", &t, 1);
}

/* A send that fires the notification (empty -> one message): sent, the
 * signal comes and the registration is gone; not sent, it stays. */
TEST_F_TIMEOUT(fnth, mq_send_firing_a_notification, 120)
{
	struct ripc_sigevent sev = { .sigev_value = 77, .sigev_signo = SIGUSR1,
				     .sigev_notify = RIPC_SIGEV_SIGNAL };
	struct model want;
	struct tally t = { 0 };
	int fd, e, inj, bad, kind, npid;
	siginfo_t si;
	long r, qs;

	SYS(block_signal(SIGUSR1));
	fill(msgbuf, 40, 23);
	for (int n = 1;; n++) {
		ASSERT_LE(0, fd = mq_new(_metadata, self, 2, NULL));
		SYS(xmq_notify(fd, &sev));
		want = (struct model){ 0 };
		ARMED(self->fn, n, r, e, inj, xmq_send(fd, msgbuf, 40, 4, NULL));
		if (r == 0) {
			model_add(&want, 4, 40, 23);
			bad = take_signal(SIGUSR1, &si, 2000) != SIGUSR1;
			bad |= mq_status(fd, &qs, &kind, &npid) || npid != 0;
		} else {
			bad = e != ENOMEM || mq_status(fd, &qs, &kind, &npid) || npid != getpid();
		}
		bad |= mq_verify(_metadata, fd, want, "notify send");
		mq_del(self, fd);
		if (step(_metadata, &t, "mq send with notify", n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, "mq send firing a notification", &t, 1);
}

/*
 * A send to an empty queue on which a receiver is blocked: the message goes
 * straight to the receiver (pipelined_send), never through the queue.  A
 * failed send leaves the receiver blocked and the queue empty; the receiver
 * then gets the message of the next send, byte for byte.
 */
static void mq_pipelined_case(struct __test_metadata *_metadata, FIXTURE_DATA(fnth) *self,
			      const char *what, struct spec s)
{
	struct model empty = { 0 };
	struct tally t = { 0 };
	int fd, e, inj, bad;
	pid_t pid;
	long r;

	for (int n = 1;; n++) {
		ASSERT_LE(0, fd = mq_new(_metadata, self, 4, NULL));
		pid = fork_child();
		if (pid == 0) {
			int bfd = mq_blocking(self, O_RDONLY);
			unsigned int prio;

			CHILD_CHECK(bfd >= 0);
			r = xmq_recv(bfd, rcvbuf, MSGSZ, &prio, NULL);
			CHILD_CHECK(r >= 0 && same_text(rcvbuf, r, &s) && prio == s.type);
			_exit(0);
		}
		ASSERT_LT(0, pid);
		touch();
		ASSERT_EQ(0, wait_blocked(pid));
		fill(msgbuf, s.len, s.seed);
		ARMED(self->fn, n, r, e, inj, xmq_send(fd, msgbuf, s.len, s.type, NULL));
		bad = 0;
		if (r < 0) {
			/* Not sent: the receiver still waits on an empty queue. */
			bad = e != ENOMEM || waitpid(pid, NULL, WNOHANG) != 0;
			bad |= mq_verify(_metadata, fd, empty, what);
			bad |= xmq_send(fd, msgbuf, s.len, s.type, NULL) != 0;
		}
		bad |= wait_child(pid) != 0;
		bad |= mq_verify(_metadata, fd, empty, what);
		mq_del(self, fd);
		if (step(_metadata, &t, what, n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, what, &t, 1);
}

TEST_F_TIMEOUT(fnth, mq_send_to_a_blocked_receiver, 120)
{
	mq_pipelined_case(_metadata, self, "mq send 100 B to a blocked receiver",
			  (struct spec){ 4, 100, 33 });
	mq_pipelined_case(_metadata, self, "mq send 3 pages to a blocked receiver",
			  (struct spec){ 4, BIG, 34 });
}

/* An armed receive into buf from a queue holding the reference contents;
 * fault: the buffer faults (EFAULT, and the message must stay in place). */
static void mq_recv_case(struct __test_metadata *_metadata, FIXTURE_DATA(fnth) *self,
			 const char *what, void *buf, int fault)
{
	struct model q = base_model(), want;
	struct tally t = { 0 };
	int fd, e, inj, bad, k = mq_next(&q);
	unsigned int prio;
	long r;

	for (int n = 1;; n++) {
		ASSERT_LE(0, fd = mq_new(_metadata, self, 8, &q));
		want = q;
		if (!fault)
			memset(buf, 0, MSGSZ);
		ARMED(self->fn, n, r, e, inj, xmq_recv(fd, buf, MSGSZ, &prio, NULL));
		if (r >= 0) {
			bad = fault || !same_text(buf, r, &q.m[k]) || prio != q.m[k].type;
			model_del(&want, k);
		} else {
			bad = e != (fault ? EFAULT : ENOMEM);
		}
		bad |= mq_verify(_metadata, fd, want, what);
		mq_del(self, fd);
		if (step(_metadata, &t, what, n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, what, &t, 0);
}

TEST_F_TIMEOUT(fnth, mq_receive, 120)
{
	mq_recv_case(_metadata, self, "mq receive", rcvbuf, 0);
	/* README: a receive into a buffer that faults returns EFAULT and the
	 * message stays queued at its place. */
	mq_recv_case(_metadata, self, "mq receive, unmapped buffer", none, 1);
	mq_recv_case(_metadata, self, "mq receive, buffer faulting after 100 bytes", none - 100, 1);
}

/* A timed receive on an empty queue: its waiter entry, taken without a
 * memory cgroup charge if need be (native's is on its stack): it blocks
 * (ETIMEDOUT), never fails with ENOMEM. */
TEST_F_TIMEOUT(fnth, mq_receive_blocking_on_an_empty_queue, 120)
{
	struct ripc_timespec to;
	struct tally t = { 0 };
	int fd, bfd, e, inj, bad;
	unsigned int prio;
	long r;

	for (int n = 1;; n++) {
		ASSERT_LE(0, fd = mq_new(_metadata, self, 2, NULL));
		bfd = SYS(mq_blocking(self, O_RDONLY));
		to = rdl(20);
		ARMED(self->fn, n, r, e, inj, xmq_recv(bfd, rcvbuf, MSGSZ, &prio, &to));
		bad = r >= 0 || e != ETIMEDOUT;
		bad |= mq_verify(_metadata, fd, (struct model){ 0 }, "mq timed receive");
		close(bfd);
		mq_del(self, fd);
		if (step(_metadata, &t, "mq timed receive", n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, "mq receive, blocking on an empty queue", &t, 1);
}

/*
 * A receive from a full queue with a sender blocked: the sender's message
 * moves in (pipelined_receive), which needs a new FIFO for its priority.
 * Whatever fails, nothing is lost: the armed receive gives the head
 * message; if the sender is still blocked after it, the next receive must
 * move its message in; then the queue holds exactly the rest plus the
 * sender's message.  A sender left blocked on a queue with room is noted
 * (native does the same when msg_insert fails in pipelined_receive).
 */
/* A child blocked sending s on self->name (a full queue): its pid once it
 * sleeps, -1 if it could not be started or did not block. */
static pid_t mq_blocked_sender(FIXTURE_DATA(fnth) *self, const struct spec *s)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		int bfd = mq_blocking(self, O_WRONLY);

		CHILD_CHECK(bfd >= 0);
		fill(msgbuf, s->len, s->seed);
		CHILD_CHECK(xmq_send(bfd, msgbuf, s->len, s->type, NULL) == 0);
		_exit(0);
	}
	if (pid < 0)
		return -1;
	touch();
	if (wait_blocked(pid)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

TEST_F_TIMEOUT(fnth, mq_receive_with_a_blocked_sender, 120)
{
	static const struct spec sender = { 5, 300, 32 };
	struct model two = { 0 }, want;
	struct tally t = { 0 };
	int fd, e, inj, bad, st = 0, k;
	unsigned int prio;
	pid_t pid;
	long r, r2;

	model_add(&two, 2, 10, 30);
	model_add(&two, 2, 20, 31);
	for (int n = 1;; n++) {
		ASSERT_LE(0, fd = mq_new(_metadata, self, 2, &two));
		ASSERT_LT(0, pid = mq_blocked_sender(self, &sender));
		want = two;
		ARMED(self->fn, n, r, e, inj, xmq_recv(fd, rcvbuf, MSGSZ, &prio, NULL));
		if (r >= 0) {
			bad = !same_text(rcvbuf, r, &two.m[0]) || prio != two.m[0].type;
			model_del(&want, 0);
		} else {
			bad = e != ENOMEM;
		}
		/* A sender woken by the call is no longer sleeping ('S'). */
		if (proc_state(pid) != 'S') {
			waitpid(pid, &st, 0);
		} else {
			struct ripc_mq_attr a;

			SYS(xmq_getattr(fd, &a));
			if (a.mq_curmsgs < 2) {
				TH_LOG("note: at fail-nth %d the sender stays blocked on a queue with room (%lld of 2 messages)",
				       n, (long long)a.mq_curmsgs);
				t.notes++;
			}
			/* This receive takes the head and moves the sender's in. */
			k = mq_next(&want);
			r2 = xmq_recv(fd, rcvbuf, MSGSZ, &prio, NULL);
			bad |= k < 0 || r2 < 0 || !same_text(rcvbuf, r2, &want.m[k]);
			if (k >= 0)
				model_del(&want, k);
			waitpid(pid, &st, 0);
		}
		bad |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
		model_add(&want, sender.type, sender.len, sender.seed);
		bad |= mq_verify(_metadata, fd, want, "pipelined receive");
		mq_del(self, fd);
		if (step(_metadata, &t, "mq receive with a blocked sender", n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, "mq receive with a blocked sender", &t, 1);
}

/*
 * A blocked sender whose message needs a new tree node (its priority is
 * above the queue's, and the queue has no spare node), let in by a
 * receive: the receive makes the node before it takes the queue lock, as
 * native's mq_timedreceive makes its node_cache for pipelined_receive; when
 * that allocation fails, the one under the lock (GFP_ATOMIC, as
 * msg_insert's) takes its place and the sender still gets in.
 */
TEST_F_TIMEOUT(fnth, mq_receive_lets_a_sender_in_when_its_node_fails_before_the_lock, 120)
{
	static const struct spec sender = { 5, 300, 32 };
	struct model two = { 0 }, want;
	int fd, e, inj, st = 0, i;
	unsigned int prio;
	pid_t pid, w = 0;
	long r;

	model_add(&two, 2, 10, 30);
	model_add(&two, 2, 20, 31);
	ASSERT_LE(0, fd = mq_new(_metadata, self, 2, &two));
	ASSERT_LT(0, pid = mq_blocked_sender(self, &sender));
	ARMED(self->fn, 1, r, e, inj, xmq_recv(fd, rcvbuf, MSGSZ, &prio, NULL));
	EXPECT_EQ(1, inj) TH_LOG("no fault was injected");
	ASSERT_EQ((long)two.m[0].len, r) TH_LOG("mq_receive: %s", strerrorname_np(e));
	EXPECT_TRUE(same_text(rcvbuf, r, &two.m[0]));
	EXPECT_EQ(two.m[0].type, (long)prio);
	/* The sender got in with that receive: it returns by itself. */
	for (i = 0; i < 300 && w == 0; i++) {
		w = waitpid(pid, &st, WNOHANG);
		if (w == 0)
			usleep(10000);
	}
	EXPECT_EQ(pid, w) TH_LOG("the sender stays blocked on a queue with room");
	want = two;
	model_del(&want, 0);
	if (w != pid) {
		/* Free it: this receive takes the head and moves it in. */
		int k = mq_next(&want);

		SYS(xmq_recv(fd, rcvbuf, MSGSZ, &prio, NULL));
		model_del(&want, k);
		waitpid(pid, &st, 0);
	}
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	model_add(&want, sender.type, sender.len, sender.seed);
	EXPECT_EQ(0, mq_verify(_metadata, fd, want, "after the receive"));
	mq_del(self, fd);
}

TEST_F_TIMEOUT(fnth, mq_notify_and_getsetattr, 120)
{
	struct ripc_sigevent sev = { .sigev_value = 5, .sigev_signo = SIGUSR2,
				     .sigev_notify = RIPC_SIGEV_SIGNAL };
	struct ripc_mq_attr nw = { .mq_flags = 0 }, old;
	struct ripc_mq_getsetattr g = { .size = sizeof(g), .new_attr = PTR(&nw), .old_attr = PTR(&old) };
	struct tally t = { 0 }, s = { 0 };
	int fd = SYS(mq_make(self->name, O_CREAT, 4, 64)), e, inj, bad, kind, npid;
	long r, qs;

	for (int n = 1;; n++) {
		ARMED(self->fn, n, r, e, inj, xmq_notify(fd, &sev));
		bad = mq_status(fd, &qs, &kind, &npid);
		if (r == 0)
			bad |= npid != getpid() || xmq_notify(fd, NULL);
		else
			bad |= e != ENOMEM || npid != 0;
		if (step(_metadata, &t, "mq notify", n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, "mq notify (register)", &t, 0);

	for (int n = 1;; n++) {
		nw.mq_flags = (n & 1) ? 0 : O_NONBLOCK;
		memset(&old, 0xa5, sizeof(old));
		ARMED(self->fn, n, r, e, inj, ioctl(fd, RIPC_MQ_GETSETATTR, &g));
		bad = r < 0 ? e != ENOMEM
			    : old.mq_maxmsg != 4 || old.mq_msgsize != 64 ||
			      !!(fcntl(fd, F_GETFL) & O_NONBLOCK) != !!nw.mq_flags;
		if (step(_metadata, &s, "mq getsetattr", n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, "mq getsetattr", &s, 0);
	mq_del(self, fd);
}

static long mq_batch(int fd, unsigned long cmd, struct ripc_mq_item *it, unsigned int n)
{
	struct ripc_mq_batch b = { .size = sizeof(b), .count = n, .items = PTR(it) };

	return ioctl(fd, cmd, &b);
}

TEST_F_TIMEOUT(fnth, mq_batches, 120)
{
	static const struct spec add[4] = { { 3, 50, 40 }, { 9, BIG, 41 }, { 3, 0, 42 }, { 6, 700, 43 } };
	char *text[4] = { msgbuf, msgbuf + PAGE, msgbuf + 4 * PAGE, msgbuf + 5 * PAGE };
	char *out[3] = { msgbuf, msgbuf + MSGSZ, rcvbuf };
	struct model q = base_model(), want;
	struct tally s = { 0 }, rv = { 0 };
	struct ripc_mq_item it[4];
	int fd, e, inj, bad, k;
	long r;

	/* Send: the messages are loaded first; a failure at item k sends the
	 * first k (or fails the call if k is 0). */
	for (int n = 1;; n++) {
		ASSERT_LE(0, fd = mq_new(_metadata, self, 8, &q));
		want = q;
		for (int i = 0; i < 4; i++) {
			fill(text[i], add[i].len, add[i].seed);
			it[i] = (struct ripc_mq_item){ PTR(text[i]), add[i].len, add[i].type, 0 };
		}
		ARMED(self->fn, n, r, e, inj, mq_batch(fd, RIPC_MQ_SEND_BATCH, it, 4));
		for (int i = 0; i < r; i++)
			model_add(&want, add[i].type, add[i].len, add[i].seed);
		bad = (r < 0 && e != ENOMEM) || r == 0;
		bad |= mq_verify(_metadata, fd, want, "mq send batch");
		mq_del(self, fd);
		if (step(_metadata, &s, "mq send batch", n, inj, r, e, bad, 4))
			break;
	}
	report(_metadata, "mq send batch (4 items, one of 3 pages)", &s, 1);

	/* Receive: the messages are taken under the lock, then copied out. */
	for (int n = 1;; n++) {
		ASSERT_LE(0, fd = mq_new(_metadata, self, 8, &q));
		want = q;
		for (int i = 0; i < 3; i++)
			it[i] = (struct ripc_mq_item){ PTR(out[i]), MSGSZ, 0, 0 };
		ARMED(self->fn, n, r, e, inj, mq_batch(fd, RIPC_MQ_RECEIVE_BATCH, it, 3));
		bad = (r < 0 && e != ENOMEM) || r == 0;
		for (int i = 0; i < r && !bad; i++) {
			k = mq_next(&want);
			bad = !same_text(out[i], it[i].msg_len, &want.m[k]) ||
			      it[i].msg_prio != want.m[k].type;
			model_del(&want, k);
		}
		bad |= mq_verify(_metadata, fd, want, "mq receive batch");
		mq_del(self, fd);
		if (step(_metadata, &rv, "mq receive batch", n, inj, r, e, bad, 3))
			break;
	}
	report(_metadata, "mq receive batch (3 items)", &rv, 1);
}

/* ---- System V ----------------------------------------------------------- */

TEST_F_TIMEOUT(fnth, msgget_create, 120)
{
	struct ripc_msginfo before, after;
	struct tally t = { 0 };
	int e, inj, bad;
	long r;

	SYS(xmsgctl(self->dev, 0, MSG_INFO, &before));
	for (int n = 1;; n++) {
		ARMED(self->fn, n, r, e, inj,
		      xmsgget(self->dev, self->key, IPC_CREAT | IPC_EXCL | 0600));
		if (r < 0)
			bad = e != ENOMEM || xmsgget(self->dev, self->key, 0) != -1 || errno != ENOENT;
		else
			bad = xmsgctl(self->dev, r, IPC_RMID, NULL) != 0;
		if (step(_metadata, &t, "msgget", n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, "msgget (create)", &t, 1);
	SYS(xmsgctl(self->dev, 0, MSG_INFO, &after));
	ASSERT_EQ(before.msgpool, after.msgpool) TH_LOG("queues in use went from %d to %d",
							 before.msgpool, after.msgpool);
}

/*
 * msgget with msg_next_id set: native's ipc_idr_alloc takes msg_next_id
 * before the id table's and the key table's allocations, so a failure
 * there clears it, and one in making the queue itself (before) leaves it.
 * The fault sites come in that order: msg_next_id is kept up to some
 * fault point, cleared from it on, and the id is the one asked for when
 * the call succeeds.  (Each try asks for an index in a block of 256 that
 * no id has used, so that the id table has to grow for it.)
 */
TEST_F_TIMEOUT(fnth, msgget_create_at_msg_next_id, 120)
{
	struct tally t = { 0 };
	int e, inj, bad, next, want, cleared = 0;
	long r;

	for (int n = 1;; n++) {
		/* A block of 256 ids no try has used, below 32768 (IPCMNI). */
		ASSERT_GT(96, n);
		want = 3 * 32768 + 256 * (32 + n);
		SYS(ripc_msg_next_id(NULL, &want));
		ARMED(self->fn, n, r, e, inj,
		      xmsgget(self->dev, self->key, IPC_CREAT | IPC_EXCL | 0600));
		SYS(ripc_msg_next_id(&next, NULL));
		if (r < 0) {
			bad = e != ENOMEM || xmsgget(self->dev, self->key, 0) != -1 ||
			      errno != ENOENT;
			if (next == -1 && !cleared)
				cleared = n;
			else if (next != (cleared ? -1 : want))
				bad = 1;
		} else {
			bad = r != want || next != -1 || xmsgctl(self->dev, r, IPC_RMID, NULL) != 0;
		}
		if (step(_metadata, &t, "msgget at msg_next_id", n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, "msgget (create at msg_next_id)", &t, 1);
	ASSERT_NE(0, cleared) TH_LOG("no failure after the id was taken cleared msg_next_id");
	SYS(ripc_msg_next_id(&next, NULL));
	ASSERT_EQ(-1, next);
}

/* A new System V queue holding q, sent from a child if asked. */
static int sv_new(struct __test_metadata *_metadata, FIXTURE_DATA(fnth) *self,
		  const struct model *q, int from_child)
{
	int id = sv_make(_metadata, self);

	if (sv_fill(self->dev, id, q, from_child)) {
		TH_LOG("filling the queue failed");
		return -1;
	}
	return id;
}

/* An armed msgsnd of s to a queue holding q: a failure leaves every
 * IPC_STAT field as it was (q is sent by a child, so that msg_lspid is not
 * the caller's pid). */
static void sv_send_case(struct __test_metadata *_metadata, FIXTURE_DATA(fnth) *self,
			 const char *what, struct model q, struct spec s)
{
	struct ripc_msqid_ds before, now;
	struct tally t = { 0 };
	struct model want;
	int id, e, inj, bad;
	long r;

	for (int n = 1;; n++) {
		ASSERT_LE(0, id = sv_new(_metadata, self, &q, 1));
		want = q;
		SYS(sv_stat(self->dev, id, &before));
		sv_msg(&s);
		ARMED(self->fn, n, r, e, inj, xmsgsnd(self->dev, id, msgbuf, s.len, IPC_NOWAIT, NULL));
		if (r == 0) {
			model_add(&want, s.type, s.len, s.seed);
			bad = 0;
		} else {
			bad = e != ENOMEM;
			SYS(sv_stat(self->dev, id, &now));
			if (memcmp(&before, &now, sizeof(now))) {
				TH_LOG("%s: failed send changed IPC_STAT: lspid %d -> %d, stime %lld -> %lld, qnum %llu -> %llu",
				       what, before.msg_lspid, now.msg_lspid,
				       (long long)before.msg_stime, (long long)now.msg_stime,
				       (unsigned long long)before.msg_qnum,
				       (unsigned long long)now.msg_qnum);
				bad = 1;
			}
		}
		bad |= sv_verify(_metadata, self->dev, id, want, what);
		sv_drop(self, id);
		if (step(_metadata, &t, what, n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, what, &t, 1);
}

TEST_F_TIMEOUT(fnth, msgsnd, 120)
{
	struct model q = base_model(), empty = { 0 };

	sv_send_case(_metadata, self, "msgsnd 100 B", q, (struct spec){ 2, 100, 50 });
	sv_send_case(_metadata, self, "msgsnd 3 pages", q, (struct spec){ 4, BIG, 51 });
	sv_send_case(_metadata, self, "msgsnd 100 B, empty queue", empty, (struct spec){ 2, 100, 52 });
	sv_send_case(_metadata, self, "msgsnd 3 pages, empty queue", empty, (struct spec){ 5, BIG, 53 });
}

/*
 * A msgsnd to a queue on which a receiver of that type is blocked: handed
 * over (pipelined_send).  A failed send leaves the receiver blocked and
 * every IPC_STAT field as it was; the receiver then gets the next send's
 * message.
 */
static void sv_pipelined_case(struct __test_metadata *_metadata, FIXTURE_DATA(fnth) *self,
			      const char *what, struct spec s)
{
	struct ripc_msqid_ds before, now;
	struct tally t = { 0 };
	int id, e, inj, bad;
	pid_t pid;
	long r;

	for (int n = 1;; n++) {
		id = sv_make(_metadata, self);
		pid = fork_child();
		if (pid == 0) {
			r = xmsgrcv(self->dev, id, rcvbuf, MSGSZ, s.type, 0, NULL);
			CHILD_CHECK(r >= 0 && *(long *)rcvbuf == s.type &&
				    same_text(rcvbuf + sizeof(long), r, &s));
			_exit(0);
		}
		ASSERT_LT(0, pid);
		touch();
		ASSERT_EQ(0, wait_blocked(pid));
		SYS(sv_stat(self->dev, id, &before));
		sv_msg(&s);
		ARMED(self->fn, n, r, e, inj, xmsgsnd(self->dev, id, msgbuf, s.len, IPC_NOWAIT, NULL));
		bad = 0;
		if (r < 0) {
			bad = e != ENOMEM || waitpid(pid, NULL, WNOHANG) != 0;
			SYS(sv_stat(self->dev, id, &now));
			if (memcmp(&before, &now, sizeof(now))) {
				TH_LOG("%s: a failed send changed IPC_STAT", what);
				bad = 1;
			}
			bad |= xmsgsnd(self->dev, id, msgbuf, s.len, IPC_NOWAIT, NULL) != 0;
		}
		bad |= wait_child(pid) != 0;
		bad |= sv_verify(_metadata, self->dev, id, (struct model){ 0 }, what);
		sv_drop(self, id);
		if (step(_metadata, &t, what, n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, what, &t, 1);
}

TEST_F_TIMEOUT(fnth, msgsnd_to_a_blocked_receiver, 120)
{
	sv_pipelined_case(_metadata, self, "msgsnd 100 B to a blocked receiver",
			  (struct spec){ 6, 100, 54 });
	sv_pipelined_case(_metadata, self, "msgsnd 3 pages to a blocked receiver",
			  (struct spec){ 6, BIG, 55 });
}

/* A timed msgsnd on a full queue: its waiter entry; ETIMEDOUT if it sleeps. */
TEST_F_TIMEOUT(fnth, msgsnd_blocking_on_a_full_queue, 120)
{
	struct model full = { 0 };
	struct ripc_msqid_ds ds;
	struct ripc_timespec to;
	struct tally t = { 0 };
	int id, e, inj, bad;
	long r;

	model_add(&full, 1, 60, 60);
	for (int n = 1;; n++) {
		id = sv_make(_metadata, self);
		SYS(sv_stat(self->dev, id, &ds));
		ds.msg_qbytes = 100;
		SYS(xmsgctl(self->dev, id, IPC_SET, &ds));
		ASSERT_EQ(0, sv_fill(self->dev, id, &full, 0));
		sv_msg(&(struct spec){ 1, 60, 61 });
		to = rdl(20);
		ARMED(self->fn, n, r, e, inj, xmsgsnd(self->dev, id, msgbuf, 60, 0, &to));
		bad = r == 0 || (e != ENOMEM && e != ETIMEDOUT);
		bad |= sv_verify(_metadata, self->dev, id, full, "msgsnd on a full queue");
		sv_drop(self, id);
		if (step(_metadata, &t, "msgsnd on a full queue", n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, "msgsnd, blocking on a full queue", &t, 1);
}

/* An armed msgrcv(typ, flg) into buf from a queue holding the reference
 * contents: it takes (or copies, MSG_COPY) message k; fault: the buffer
 * faults (EFAULT, and the message must stay in place). */
static void sv_recv_case(struct __test_metadata *_metadata, FIXTURE_DATA(fnth) *self,
			 const char *what, void *buf, long typ, int flg, int k, int fault)
{
	struct model q = base_model(), want;
	struct tally t = { 0 };
	int id, e, inj, bad;
	long r;

	for (int n = 1;; n++) {
		ASSERT_LE(0, id = sv_new(_metadata, self, &q, 0));
		want = q;
		ARMED(self->fn, n, r, e, inj, xmsgrcv(self->dev, id, buf, MSGSZ, typ, flg, NULL));
		if (r >= 0) {
			bad = fault || *(long *)buf != q.m[k].type ||
			      !same_text((char *)buf + sizeof(long), r, &q.m[k]);
			if (!(flg & MSG_COPY))
				model_del(&want, k);
		} else {
			bad = e != (fault ? EFAULT : ENOMEM);
		}
		bad |= sv_verify(_metadata, self->dev, id, want, what);
		sv_drop(self, id);
		if (step(_metadata, &t, what, n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, what, &t, !!(flg & MSG_COPY));
}

TEST_F_TIMEOUT(fnth, msgrcv, 120)
{
	sv_recv_case(_metadata, self, "msgrcv type 0", rcvbuf, 0, IPC_NOWAIT, 0, 0);
	sv_recv_case(_metadata, self, "msgrcv type 7 (from the middle)", rcvbuf, 7, IPC_NOWAIT, 1, 0);
	sv_recv_case(_metadata, self, "msgrcv MSG_COPY #2 (3 pages)", rcvbuf, 2,
		     IPC_NOWAIT | MSG_COPY, 2, 0);
	sv_recv_case(_metadata, self, "msgrcv MSG_COPY #1", rcvbuf, 1, IPC_NOWAIT | MSG_COPY, 1, 0);
	/* README: the message stays queued at its place. */
	sv_recv_case(_metadata, self, "msgrcv, unmapped buffer", none, 7, IPC_NOWAIT, 1, 1);
	sv_recv_case(_metadata, self, "msgrcv, buffer faulting in the text", none - 300, 7,
		     IPC_NOWAIT, 1, 1);
}

/*
 * A copy (MSG_COPY, RIPC_MQ_PEEK) of a message of one block is allocated
 * under the queue lock, a spinlock, without sleeping; when that allocation
 * fails, its room is made with the lock dropped and the queue looked at
 * again: the first fault is absorbed, the copy is exact and the queue
 * unchanged.  A longer message's room is never allocated under the lock
 * (native's prepare_copy allocates before it): its first allocation is
 * made with the lock dropped, and a fault there is ENOMEM, as natively,
 * with the queue unchanged.  base_model: the 100 B message is send order
 * #0, receive order #1 (priority 3, after the 7); the 3-page one #2 in
 * both.
 */
static void copy_case(struct __test_metadata *_metadata, FIXTURE_DATA(fnth) *self,
		      struct model q, int k, int pos, int one_block)
{
	struct ripc_mq_peek pk = { .size = sizeof(pk), .msg_ptr = PTR(rcvbuf),
				   .msg_len = MSGSZ, .pos = pos };
	int id, fd, e, inj;
	long r;

	ASSERT_LE(0, id = sv_new(_metadata, self, &q, 0));
	touch();
	ARMED(self->fn, 1, r, e, inj,
	      xmsgrcv(self->dev, id, rcvbuf, MSGSZ, k, IPC_NOWAIT | MSG_COPY, NULL));
	EXPECT_EQ(1, inj) TH_LOG("no fault was injected");
	if (one_block) {
		ASSERT_EQ((long)q.m[k].len, r) TH_LOG("msgrcv(MSG_COPY): %s", strerrorname_np(e));
		EXPECT_EQ(q.m[k].type, *(long *)rcvbuf);
		EXPECT_TRUE(same_text(rcvbuf + sizeof(long), r, &q.m[k]));
	} else {
		EXPECT_EQ(-1, r);
		EXPECT_EQ(ENOMEM, e) TH_LOG("msgrcv(MSG_COPY): %s", strerrorname_np(e));
	}
	EXPECT_EQ(0, sv_verify(_metadata, self->dev, id, q, "after MSG_COPY"));
	sv_drop(self, id);

	ASSERT_LE(0, fd = mq_new(_metadata, self, MAXM, &q));
	touch();
	ARMED(self->fn, 1, r, e, inj, ioctl(fd, RIPC_MQ_PEEK, &pk));
	EXPECT_EQ(1, inj) TH_LOG("no fault was injected");
	if (one_block) {
		ASSERT_EQ((long)q.m[k].len, r) TH_LOG("RIPC_MQ_PEEK: %s", strerrorname_np(e));
		EXPECT_EQ((unsigned int)q.m[k].type, pk.msg_prio);
		EXPECT_TRUE(same_text(rcvbuf, r, &q.m[k]));
	} else {
		EXPECT_EQ(-1, r);
		EXPECT_EQ(ENOMEM, e) TH_LOG("RIPC_MQ_PEEK: %s", strerrorname_np(e));
	}
	EXPECT_EQ(0, mq_verify(_metadata, fd, q, "after RIPC_MQ_PEEK"));
	mq_del(self, fd);
}

TEST_F_TIMEOUT(fnth, a_copy_that_cannot_be_allocated_under_the_lock_is_made_without_it, 120)
{
	copy_case(_metadata, self, base_model(), 0, 1, 1);
}

TEST_F_TIMEOUT(fnth, a_copy_of_more_than_one_block_is_never_allocated_under_the_lock, 120)
{
	copy_case(_metadata, self, base_model(), 2, 2, 0);
}

/* A timed msgrcv on an empty queue: its waiter entry (as above: ETIMEDOUT,
 * never ENOMEM). */
TEST_F_TIMEOUT(fnth, msgrcv_blocking_on_an_empty_queue, 120)
{
	struct ripc_timespec to;
	struct tally t = { 0 };
	int id, e, inj, bad;
	long r;

	for (int n = 1;; n++) {
		id = sv_make(_metadata, self);
		to = rdl(20);
		ARMED(self->fn, n, r, e, inj, xmsgrcv(self->dev, id, rcvbuf, MSGSZ, 0, 0, &to));
		bad = r >= 0 || e != ETIMEDOUT;
		bad |= sv_verify(_metadata, self->dev, id, (struct model){ 0 }, "msgrcv timed");
		sv_drop(self, id);
		if (step(_metadata, &t, "msgrcv timed", n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, "msgrcv, blocking on an empty queue", &t, 1);
}

TEST_F_TIMEOUT(fnth, msgctl_and_bind, 120)
{
	struct model q = base_model();
	struct ripc_msqid_ds before, now, set;
	struct ripc_msgbind bd;
	struct tally st = { 0 }, s = { 0 }, b = { 0 };
	int id, fd, e, inj, bad;
	long r;

	ASSERT_LE(0, id = sv_new(_metadata, self, &q, 0));
	SYS(sv_stat(self->dev, id, &before));
	for (int n = 1;; n++) {
		memset(&now, 0xa5, sizeof(now));
		ARMED(self->fn, n, r, e, inj, xmsgctl(self->dev, id, IPC_STAT, &now));
		bad = r < 0 ? e != ENOMEM : memcmp(&before, &now, sizeof(now)) != 0;
		if (step(_metadata, &st, "IPC_STAT", n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, "msgctl IPC_STAT", &st, 0);

	for (int n = 1;; n++) {
		set = before;
		set.msg_qbytes = 9 * PAGE;
		set.msg_perm.mode = 0640;
		ARMED(self->fn, n, r, e, inj, xmsgctl(self->dev, id, IPC_SET, &set));
		SYS(sv_stat(self->dev, id, &now));
		if (r < 0) {
			bad = e != ENOMEM || now.msg_qbytes != before.msg_qbytes ||
			      now.msg_perm.mode != before.msg_perm.mode;
		} else {
			bad = now.msg_qbytes != 9 * PAGE || (now.msg_perm.mode & 0777) != 0640;
			SYS(xmsgctl(self->dev, id, IPC_SET, &before));
		}
		if (step(_metadata, &s, "IPC_SET", n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, "msgctl IPC_SET", &s, 0);

	bd = (struct ripc_msgbind){ .size = sizeof(bd), .msqid = id };
	for (int n = 1;; n++) {
		fd = SYS(open(RIPC_DEVICE, O_RDWR | O_CLOEXEC));
		ARMED(self->fn, n, r, e, inj, ioctl(fd, RIPC_MSG_BIND, &bd));
		/* A failed bind leaves the file unbound: binding again works. */
		bad = r < 0 && (e != ENOMEM || ioctl(fd, RIPC_MSG_BIND, &bd) != 0);
		close(fd);
		if (step(_metadata, &b, "RIPC_MSG_BIND", n, inj, r, e, bad, 0))
			break;
	}
	report(_metadata, "RIPC_MSG_BIND", &b, 0);
	ASSERT_EQ(0, sv_verify(_metadata, self->dev, id, q, "after msgctl"));
	sv_drop(self, id);
}

static long sv_batch(int dev, unsigned long cmd, int id, int flg, struct ripc_msg_item *it,
		     unsigned int n)
{
	struct ripc_msg_batch b = { .size = sizeof(b), .msqid = id, .msgflg = flg, .count = n,
				    .items = PTR(it) };

	return ioctl(dev, cmd, &b);
}

TEST_F_TIMEOUT(fnth, msg_batches, 120)
{
	static const struct spec add[4] = { { 2, 50, 70 }, { 9, BIG, 71 }, { 2, 0, 72 }, { 6, 700, 73 } };
	static const long typ[3] = { 3, 0, 1 };
	char *m[4] = { msgbuf, msgbuf + PAGE, msgbuf + 5 * PAGE, msgbuf + 6 * PAGE };
	char *out[3] = { msgbuf, msgbuf + MSGSZ, rcvbuf };
	struct model q = base_model(), want;
	struct ripc_msg_item it[4];
	struct tally s = { 0 }, rv = { 0 };
	int id, e, inj, bad, k;
	long r;

	for (int n = 1;; n++) {
		ASSERT_LE(0, id = sv_new(_metadata, self, &q, 0));
		want = q;
		for (int i = 0; i < 4; i++) {
			*(long *)m[i] = add[i].type;
			fill(m[i] + sizeof(long), add[i].len, add[i].seed);
			it[i] = (struct ripc_msg_item){ PTR(m[i]), add[i].len, 0 };
		}
		ARMED(self->fn, n, r, e, inj, sv_batch(self->dev, RIPC_MSGSND_BATCH, id, IPC_NOWAIT, it, 4));
		for (int i = 0; i < r; i++)
			model_add(&want, add[i].type, add[i].len, add[i].seed);
		bad = (r < 0 && e != ENOMEM) || r == 0;
		bad |= sv_verify(_metadata, self->dev, id, want, "msgsnd batch");
		sv_drop(self, id);
		if (step(_metadata, &s, "msgsnd batch", n, inj, r, e, bad, 4))
			break;
	}
	report(_metadata, "msgsnd batch (4 items, one of 3 pages)", &s, 1);

	/* Types 3, 0, 1: the first of type 3, the oldest left, the type 1. */
	for (int n = 1;; n++) {
		ASSERT_LE(0, id = sv_new(_metadata, self, &q, 0));
		want = q;
		for (int i = 0; i < 3; i++)
			it[i] = (struct ripc_msg_item){ PTR(out[i]), MSGSZ, typ[i] };
		ARMED(self->fn, n, r, e, inj, sv_batch(self->dev, RIPC_MSGRCV_BATCH, id, IPC_NOWAIT, it, 3));
		bad = (r < 0 && e != ENOMEM) || r == 0;
		for (int i = 0; i < r && !bad; i++) {
			for (k = 0; k < want.n && typ[i] && want.m[k].type != typ[i]; k++)
				;
			bad = k == want.n || *(long *)out[i] != want.m[k].type ||
			      !same_text(out[i] + sizeof(long), it[i].msgsz, &want.m[k]);
			if (!bad)
				model_del(&want, k);
		}
		bad |= sv_verify(_metadata, self->dev, id, want, "msgrcv batch");
		sv_drop(self, id);
		if (step(_metadata, &rv, "msgrcv batch", n, inj, r, e, bad, 3))
			break;
	}
	report(_metadata, "msgrcv batch (3 items)", &rv, 1);
}

/* Last: the totals of every test above (the README quotes this line). */
TEST_F(fnth, zz_totals)
{
	if (!grand || !grand->loops)
		SKIP(return, "no fault-injection loop ran");
	ksft_print_msg("%d faults injected over %d calls\n", grand->injected, grand->loops);
	ksft_print_msg("of which %d clean errors, %d partial batches, %d absorbed, %d wrong outcomes; %d notes\n",
		       grand->failed, grand->partial, grand->absorbed, grand->bad, grand->notes);
	ASSERT_EQ(0, grand->bad);
	/* Faults were really injected into the module (ignore-gfp-wait). */
	ASSERT_LT(0, grand->failed);
}

TEST_HARNESS_MAIN
