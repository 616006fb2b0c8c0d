// SPDX-License-Identifier: GPL-2.0
/*
 * ripc_scale: how rust_ipc's lookups, creations, listing and wake-ups scale
 * with the number of queues in the namespace and of blocked tasks, against
 * the native queues, in one boot (issue 13).
 *
 *   ripc_scale [--quick] [--runs R] [--iters I] [--sizes N1,...] [--waiters W1,...]
 *              [--rounds K] [--depth D] [--no-pin] [--json FILE|-] [--verbose]
 *
 * Namespace scale.  With N other queues in the namespace (N = 10, 1000,
 * 30000: N POSIX queues and N System V queues in each implementation, all
 * there at once), each of these is timed over I iterations (default 2000)
 * with CLOCK_MONOTONIC, R times (default 5), native and rust_ipc alternately
 * (the order rotated each run); the figure is the median, in ns per
 * operation:
 *   msgget-key      msgget(key, 0) of an existing key (the keys of the N
 *                   queues in turn, in a stride spread over the table)
 *   msgget-private  msgget(IPC_PRIVATE, IPC_CREAT) + msgctl(IPC_RMID): a
 *                   pair per iteration (a queue cannot be created alone I
 *                   times without growing the namespace)
 *   mq-open         mq_open(name, O_RDWR) of an existing name (the N names in
 *                   turn); the descriptors are closed, untimed, every 256
 *   mq-recreate     mq_unlink(name) + mq_open(name, O_CREAT | O_EXCL) of one
 *                   more name: a pair per iteration (descriptors closed
 *                   untimed every 256)
 *   list-page       the table of the N System V queues, read whole: native
 *                   open + read() of /proc/sysvipc/msg in 4 KiB reads +
 *                   close; rust_ipc ripc_list_page() in 4 KiB pages (ns per
 *                   listing; a listing is repeated max(1, 30000/N) times
 *                   per run)
 *   list-whole      rust_ipc: the older whole-table ripc_list() into a buffer
 *                   large enough (native: the same /proc/sysvipc/msg figure)
 * POSIX queues have mq_maxmsg 1 and mq_msgsize 16, so that 30000 of them
 * fit in memory and in RLIMIT_MSGQUEUE (raised to RLIM_INFINITY).
 *
 * Blocked waiters.  W tasks (processes; W = 32, 64, 128, 256) block in a
 * receive on one queue (POSIX mq_receive, System V msgrcv(type 0)); when
 * every one sleeps (/proc/PID/stat), the parent sends W messages, one call
 * each, and waits until every task has its message (each writes a byte to a
 * pipe): the time from the first send to the last byte, total and per task.
 * Each task then blocks again for the next round (K = 8 rounds per set of
 * tasks; they exit after the last one, outside the measurement); the figure
 * is the median of the R x K rounds.  The parent and its tasks run on one
 * CPU (--no-pin: on all), so that no wake-up of an idle vCPU (an IPI, which
 * the host's load delays by milliseconds) enters the time.  Linear in W:
 * time(256) / time(32) = 8.  The POSIX queue has mq_maxmsg = the largest W (--depth), the System
 * V queue the default msg_qbytes (16384: 1024 messages), so the sender never
 * blocks and only the wake-ups are measured.  (With --depth 10 --rounds 1
 * --no-pin, rust_ipc's POSIX sender blocks while receivers are still
 * blocked, since rust_ipc counts a message handed to a woken receiver as
 * taking room until it is copied out, which native does not; that shows a
 * lost wake-up in rust_ipc of 2026-12-03: the blocked sender's message goes
 * into the queue (Parts::delivered -> serve_senders) instead of to a waiting
 * receiver, which then sleeps on, and the run fails after 60 s with "N of W
 * messages received ... the queue holds K message(s)".)
 *
 * Targets (issue 13), in the table: rust_ipc within 1.2x of native at
 * every N and rust_ipc(30000) within 1.2x of rust_ipc(10) for the four
 * operations; the listing at least as fast as native's; the wake-ups linear
 * (here: time(Wmax)/time(W0) within 1.2x of Wmax/W0).  A missed target is
 * a result, not a failure: the exit status says whether the benchmark ran.
 *
 * --json -: the table between ===TABLE-BEGIN=== and ===TABLE-END===, the
 * JSON between ===JSON-BEGIN=== and ===JSON-END=== on stdout (as ripc_bench;
 * scripts/bench --scale keeps them in bench/results/scale.txt, scale.json).
 *
 * Must run as root (sysctls, RLIMIT_MSGQUEUE, the rust_ipc limits); every
 * sysctl and rust_ipc limit it changes is restored at exit and every queue
 * it creates is removed, also on failure.  Exit status: 0 on success, 1 on
 * a failure, 2 on a usage error or when /dev/rust_ipc is not usable.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <mqueue.h>
#include <poll.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define BENCH_PROG "ripc_scale"
#define BENCH_WATCHDOG "watchdog"
#define BENCH_NOTES 24
#define BENCH_NOTE_LEN 300
#include "bench_common.h"

#define MAXQ 32000          /* the largest N (IPCMNI is 32768) */
#define MAXSIZES 8
#define MAXW MAXKIDS        /* the most blocked tasks */
#define FD_BATCH 256        /* mq-open/mq-recreate: descriptors closed every 256 */
#define PAGE 4096           /* the listing's read and page size */
#define LIST_LINES 30000    /* a listing is repeated max(1, LIST_LINES / N) times */
#define KEY_BASE 0x52530000 /* System V keys: KEY_BASE + i */
#define WAIT_KEY (KEY_BASE - 1)
#define MSGSZ 16
#define NAMELEN 20

static const char TARGET[] = "/rscale-target";
static const char WAITQ[] = "/rscale-wait";

/* ---- implementations ------------------------------------------------------ */

enum { I_NATIVE, I_RIPC, NIMPL };

struct impl {
	const char *name;
	mqd_t (*mq_open)(const char *name, int oflag, ...);
	int (*mq_close)(mqd_t mqd);
	int (*mq_unlink)(const char *name);
	int (*mq_send)(mqd_t mqd, const char *p, size_t len, unsigned int prio);
	ssize_t (*mq_receive)(mqd_t mqd, char *p, size_t len, unsigned int *prio);
	int (*msgget)(key_t key, int msgflg);
	int (*msgsnd)(int msqid, const void *msgp, size_t msgsz, int msgflg);
	ssize_t (*msgrcv)(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg);
	int (*msgctl)(int msqid, int cmd, struct msqid_ds *buf);
};

static const struct impl IMPL[NIMPL] = {
	[I_NATIVE] = { "native", mq_open, mq_close, mq_unlink, mq_send, mq_receive,
		       msgget, msgsnd, msgrcv, msgctl },
	[I_RIPC] = { "rust_ipc", ripc_mq_open, ripc_mq_close, ripc_mq_unlink, ripc_mq_send,
		     ripc_mq_receive, ripc_msgget, ripc_msgsnd, ripc_msgrcv, ripc_msgctl },
};

/* ---- operations ------------------------------------------------------------ */

enum op { OP_MSGGET_KEY, OP_MSGGET_PRIVATE, OP_MQ_OPEN, OP_MQ_RECREATE, OP_LIST_PAGE,
	  OP_LIST_WHOLE, NOP };

static const char *const op_name[NOP] = {
	"msgget-key", "msgget-private", "mq-open", "mq-recreate", "list-page", "list-whole",
};
static const char *const op_label[NOP] = {
	"msgget(key), existing key",
	"msgget(IPC_PRIVATE)+IPC_RMID pair",
	"mq_open(name), existing name",
	"mq_unlink+mq_open(O_CREAT) pair",
	"list System V queues, 4 KiB pages",
	"list System V queues, whole table",
};
static const char *const op_desc[NOP] = {
	"msgget(key, 0) of an existing key, the N queues' keys in turn",
	"msgget(IPC_PRIVATE, IPC_CREAT|0600) then msgctl(IPC_RMID): one pair per iteration",
	"mq_open(name, O_RDWR) of an existing name, the N names in turn (closed untimed every 256)",
	"mq_unlink(name) then mq_open(name, O_CREAT|O_EXCL|O_RDWR) of one more queue: one pair per "
	"iteration (closed untimed every 256)",
	"one listing of the System V queues: native open+read(4096)+close of /proc/sysvipc/msg, "
	"rust_ipc ripc_list_page() with a 4096-byte buffer",
	"one listing of the System V queues: native as list-page, rust_ipc ripc_list() of the whole "
	"table into a buffer large enough",
};

/* ---- options and state ------------------------------------------------------ */

static int opt_iters = 2000, opt_depth, opt_pin = 1;
static int opt_rounds = 8;
static int sizes[MAXSIZES], nsizes;
static int waiters[8], nwaiters;
static int maxq;

static char (*names)[NAMELEN]; /* "/rscale.%05d" */
static int *ids[NIMPL];        /* System V ids of KEY_BASE + i */
static volatile int nmq[NIMPL], nsysv[NIMPL]; /* queues made so far */
static volatile int target_made[NIMPL], waitq_made[NIMPL], waitq_id[NIMPL] = { -1, -1 };
static volatile int private_id[NIMPL] = { -1, -1 };

static const char *list_page_kind = "libripc";
static ssize_t (*list_page)(unsigned int which, uint64_t *cursor, char *buf, size_t len);

/* ---- limits and cleanup -------------------------------------------------------- */

/* Plain system calls and libripc: also called from the signal handler. */
static void remove_queues(void)
{
	for (int m = 0; m < NIMPL; m++) {
		const struct impl *b = &IMPL[m];

		if (private_id[m] >= 0)
			b->msgctl(private_id[m], IPC_RMID, NULL);
		if (waitq_id[m] >= 0)
			b->msgctl(waitq_id[m], IPC_RMID, NULL);
		if (target_made[m])
			b->mq_unlink(TARGET);
		if (waitq_made[m])
			b->mq_unlink(WAITQ);
		/* From the last: rust_ipc's name table removes its tail cheaply. */
		for (int i = nmq[m] - 1; i >= 0; i--)
			b->mq_unlink(names[i]);
		for (int i = nsysv[m] - 1; i >= 0; i--)
			b->msgctl(ids[m][i], IPC_RMID, NULL);
		nmq[m] = nsysv[m] = 0;
	}
}

static void raise_limits(void)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	long mni = maxq + 64 > 32768 ? 32768 : maxq + 64;
	long qmax = maxq + 2 * FD_BATCH + 64;
	const struct ripc_limits want = { .msgmni = (__u32)mni, .mq_queues_max = (__u32)qmax };

	/* Native: kernel.msgmni (at most IPCMNI, 32768), fs.mqueue.queues_max
	 * (root with CAP_SYS_RESOURCE passes it anyway), RLIMIT_MSGQUEUE. */
	raise_sysctl("/proc/sys/kernel/msgmni", mni, 0);
	raise_sysctl("/proc/sys/fs/mqueue/queues_max", qmax, 0);
	if (setrlimit(RLIMIT_MSGQUEUE, &rl) < 0)
		note("setrlimit(RLIMIT_MSGQUEUE, unlimited): %s", strerror(errno));

	if (ripc_setup(&want) < 0) {
		fprintf(stderr, "ripc_scale: error: %s is not usable: %s (is the rust_ipc module loaded?)\n",
			RIPC_DEVICE, strerror(errno));
		cleanup_all();
		exit(2);
	}
}

/* ---- listing -------------------------------------------------------------------- */

/* A buffer for the whole table, grown to what ripc_list() says it needs. */
static char *whole;
static size_t whole_cap;

/* ripc_list() of the whole table into whole (grown as needed): its length, or -1. */
static ssize_t list_whole(unsigned int which)
{
	for (;;) {
		ssize_t r = ripc_list(which, whole, whole_cap);

		if (r < 0)
			return -1;
		if ((size_t)r < whole_cap)
			return r;
		free(whole);
		whole_cap = (size_t)r + (size_t)r / 8 + PAGE;
		whole = malloc(whole_cap);
		if (!whole)
			DIE_ERRNO("malloc");
	}
}

static long count_lines(const char *p, size_t n)
{
	long c = 0;

	for (const char *e = p + n; (p = memchr(p, '\n', (size_t)(e - p))); p++)
		c++;
	return c;
}

static int page_contract_broken;

/* One listing of the System V queues: its line count, or -1 with errno. */
static long list_once(int m, enum op op)
{
	static char buf[PAGE];
	long lines = 0;
	ssize_t r;

	if (m == I_NATIVE) {
		int fd = open("/proc/sysvipc/msg", O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			return -1;
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			lines += count_lines(buf, (size_t)r);
		close(fd);
		return r < 0 ? -1 : lines;
	}
	if (op == OP_LIST_WHOLE) {
		r = list_whole(RIPC_LIST_SYSV);
		return r < 0 ? -1 : count_lines(whole, (size_t)r);
	}
	uint64_t cursor = 0;

	while ((r = list_page(RIPC_LIST_SYSV, &cursor, buf, sizeof(buf))) > 0) {
		if ((size_t)r >= sizeof(buf)) {
			page_contract_broken = 1;
			errno = EOVERFLOW;
			return -1;
		}
		if (buf[r - 1] != '\n' || buf[r] != 0)
			page_contract_broken = 1;
		lines += count_lines(buf, (size_t)r);
	}
	return r < 0 ? -1 : lines;
}

/* ---- the namespace ---------------------------------------------------------------- */

static const struct mq_attr small_attr = { .mq_maxmsg = 1, .mq_msgsize = MSGSZ };

/* Grows both implementations' namespaces to n POSIX and n System V queues. */
static void populate(int n)
{
	for (int m = 0; m < NIMPL; m++) {
		const struct impl *b = &IMPL[m];
		uint64_t t0 = now_ns(), t1;
		int from = nmq[m];

		snprintf(ctx, sizeof(ctx), "creating %d %s POSIX queues", n, b->name);
		for (int i = nmq[m]; i < n; i++) {
			mqd_t q = b->mq_open(names[i], O_CREAT | O_EXCL | O_RDWR, 0600, &small_attr);

			if (q < 0)
				die("mq_open(%s, O_CREAT) with %d queues: %s", names[i], i, strerror(errno));
			b->mq_close(q);
			nmq[m] = i + 1;
		}
		t1 = now_ns();
		snprintf(ctx, sizeof(ctx), "creating %d %s System V queues", n, b->name);
		for (int i = nsysv[m]; i < n; i++) {
			int id = b->msgget(KEY_BASE + i, IPC_CREAT | IPC_EXCL | 0600);

			if (id < 0)
				die("msgget(%#x, IPC_CREAT) with %d queues: %s", KEY_BASE + i, i, strerror(errno));
			ids[m][i] = id;
			nsysv[m] = i + 1;
		}
		if (n > from)
			fprintf(stderr, "ripc_scale: %-8s: queues %d..%d made: POSIX %.0f ns, System V %.0f ns "
				"per queue\n", b->name, from, n - 1, (double)(t1 - t0) / (n - from),
				(double)(now_ns() - t1) / (n - from));
	}
}

/* MemAvailable of /proc/meminfo, in MiB, or -1. */
static long mem_available_mib(void)
{
	char line[128];
	long kib = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib < 0 ? -1 : kib / 1024;
}

/* A stride coprime with n, so that i * stride % n visits every queue. */
static long stride_for(long n)
{
	long p = 7919;

	for (;;) {
		long a = p, b = n;

		while (b) {
			long t = a % b;

			a = b;
			b = t;
		}
		if (a == 1)
			return p;
		p += 2;
	}
}

static void close_batch(const struct impl *b, mqd_t *fds, int *nfd)
{
	for (int j = 0; j < *nfd; j++)
		b->mq_close(fds[j]);
	*nfd = 0;
}

/*
 * Runs op iters times on implementation m with n queues; returns the timed
 * nanoseconds in all (the untimed closes excluded).
 */
static uint64_t run_op(int m, enum op op, int n, long iters)
{
	const struct impl *b = &IMPL[m];
	long stride = stride_for(n);
	mqd_t fds[FD_BATCH];
	int nfd = 0;
	uint64_t t, sum = 0;

	switch (op) {
	case OP_MSGGET_KEY:
		t = now_ns();
		for (long i = 0; i < iters; i++) {
			long k = i * stride % n;
			int id = b->msgget(KEY_BASE + (key_t)k, 0);

			if (id != ids[m][k])
				die("msgget(%#lx) = %d (%s), expected %d", KEY_BASE + k, id,
				    id < 0 ? strerror(errno) : "wrong id", ids[m][k]);
		}
		return now_ns() - t;
	case OP_MSGGET_PRIVATE:
		t = now_ns();
		for (long i = 0; i < iters; i++) {
			int id = b->msgget(IPC_PRIVATE, IPC_CREAT | 0600);

			if (id < 0)
				DIE_ERRNO("msgget(IPC_PRIVATE)");
			private_id[m] = id;
			if (b->msgctl(id, IPC_RMID, NULL) < 0)
				DIE_ERRNO("msgctl(IPC_RMID)");
			private_id[m] = -1;
		}
		return now_ns() - t;
	case OP_MQ_OPEN:
		for (long i = 0; i < iters;) {
			t = now_ns();
			for (; nfd < FD_BATCH && i < iters; i++) {
				mqd_t q = b->mq_open(names[i * stride % n], O_RDWR);

				if (q < 0)
					die("mq_open(%s): %s", names[i * stride % n], strerror(errno));
				fds[nfd++] = q;
			}
			sum += now_ns() - t;
			close_batch(b, fds, &nfd);
		}
		return sum;
	case OP_MQ_RECREATE:
		for (long i = 0; i < iters;) {
			t = now_ns();
			for (; nfd < FD_BATCH && i < iters; i++) {
				mqd_t q;

				if (b->mq_unlink(TARGET) < 0)
					DIE_ERRNO("mq_unlink");
				target_made[m] = 0;
				q = b->mq_open(TARGET, O_CREAT | O_EXCL | O_RDWR, 0600, &small_attr);
				if (q < 0)
					DIE_ERRNO("mq_open(O_CREAT)");
				target_made[m] = 1;
				fds[nfd++] = q;
			}
			sum += now_ns() - t;
			close_batch(b, fds, &nfd);
		}
		return sum;
	case OP_LIST_PAGE:
	case OP_LIST_WHOLE:
		t = now_ns();
		for (long i = 0; i < iters; i++) {
			long lines = list_once(m, op);

			if (lines < 0)
				return UINT64_MAX; /* the caller notes it */
			if (lines != n + 1 && i == 0)
				note("%s %s with %d queues: %ld lines, expected %d (header + queues)",
				     b->name, op_name[op], n, lines, n + 1);
		}
		return now_ns() - t;
	case NOP:
		break;
	}
	return 0;
}

/* ---- figures ---------------------------------------------------------------------- */

struct fig {
	const char *test; /* "scale" or "waiters" */
	int op;           /* enum op, or the family (0 POSIX, 1 System V) for waiters */
	int n;
	int m;
	long iters;
	int nruns;
	double runs[MAXR];
	double min, med, max;
	const char *error; /* why there is no figure */
};

#define MAXFIG 256
static struct fig figs[MAXFIG];
static int nfigs;

static struct fig *fig_get(const char *test, int op, int n, int m, long iters)
{
	for (int i = 0; i < nfigs; i++)
		if (figs[i].test == test && figs[i].op == op && figs[i].n == n && figs[i].m == m)
			return &figs[i];
	if (nfigs == MAXFIG)
		die("too many figures");
	figs[nfigs] = (struct fig){ .test = test, .op = op, .n = n, .m = m, .iters = iters };
	return &figs[nfigs++];
}

static double nan_(void)
{
	return __builtin_nan("");
}

static void fig_stats(void)
{
	for (int i = 0; i < nfigs; i++)
		runs_stats(figs[i].runs, figs[i].nruns, &figs[i].min, &figs[i].med, &figs[i].max);
}

static double med_of(const char *test, int op, int n, int m)
{
	for (int i = 0; i < nfigs; i++)
		if (figs[i].test == test && figs[i].op == op && figs[i].n == n && figs[i].m == m)
			return figs[i].med;
	return nan_();
}

static const char T_SCALE[] = "scale", T_WAITERS[] = "waiters";

static long iters_of(enum op op, int n)
{
	if (op == OP_LIST_PAGE || op == OP_LIST_WHOLE)
		return n >= LIST_LINES ? 1 : LIST_LINES / n;
	return opt_iters;
}

static void measure_scale(int n, int rep)
{
	for (int op = 0; op < NOP; op++) {
		long iters = iters_of(op, n);

		for (int k = 0; k < NIMPL; k++) {
			int m = (k + rep) % NIMPL;
			struct fig *f;
			uint64_t ns;

			/* Native's list-whole is its list-page figure (one way to read /proc). */
			if (op == OP_LIST_WHOLE && m == I_NATIVE)
				continue;
			f = fig_get(T_SCALE, op, n, m, iters);
			if (f->error)
				continue;
			snprintf(ctx, sizeof(ctx), "%s n=%d %s (run %d)", op_name[op], n, IMPL[m].name,
				 rep + 1);
			alarm(600);
			/* Warm-up, untimed. */
			if (op != OP_LIST_PAGE && op != OP_LIST_WHOLE)
				run_op(m, op, n, iters / 10 > 200 ? 200 : iters / 10);
			ns = run_op(m, op, n, iters);
			alarm(0);
			if (ns == UINT64_MAX) {
				static char why[2][160];

				snprintf(why[op == OP_LIST_WHOLE], sizeof(why[0]), "%s failed: %s",
					 op == OP_LIST_WHOLE ? "ripc_list" : "the listing", strerror(errno));
				f->error = why[op == OP_LIST_WHOLE];
				note("%s with %d queues, %s: %s", op_name[op], n, IMPL[m].name, f->error);
				continue;
			}
			f->runs[f->nruns++] = (double)ns / (double)iters;
			if (opt_verbose)
				fprintf(stderr, "ripc_scale: %s: %.0f ns/op\n", ctx, f->runs[f->nruns - 1]);
		}
	}
}

/* ---- blocked waiters -------------------------------------------------------------- */

static int ready_pipe[2] = { -1, -1 }, ack_pipe[2] = { -1, -1 }, exit_pipe[2] = { -1, -1 };

struct mbuf {
	long mtype;
	char mtext[MSGSZ];
};

static char task_state(pid_t pid);
static long queued_now(void);

/* Reads count bytes from the pipe fd; after 60 s without one, dies with the
 * tasks' states (what, got: what the bytes stand for). */
static void read_bytes(int fd, int count, const char *what)
{
	char buf[MAXW];
	int got = 0;

	while (got < count) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, 60000);
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			char st[MAXW + 1];

			for (int i = 0; i < nkids; i++)
				st[i] = task_state(kids[i]) ?: '?';
			st[nkids] = 0;
			die("%d of %d %s after 60 s; the queue holds %ld message(s); the tasks' states "
			    "(/proc/PID/stat): %s", got, count, what, queued_now(), st);
		}
		n = read(fd, buf, (size_t)(count - got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("reading the %s pipe: %s", what, n < 0 ? strerror(errno) : "EOF (a task died?)");
		got += (int)n;
	}
}

/* The state letter of /proc/PID/stat, or 0. */
static char task_state(pid_t pid)
{
	char path[64], buf[512], *p;
	int fd;
	ssize_t r;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return 0;
	buf[r] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

static void __attribute__((noreturn)) waiter(int m, int fam, mqd_t q, int id)
{
	const struct impl *b = &IMPL[m];
	struct mbuf msg;
	ssize_t r;

	is_child = 1;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	close(ready_pipe[0]);
	close(ack_pipe[0]);
	close(exit_pipe[1]);
	if (write(ready_pipe[1], "r", 1) != 1)
		die("write(ready): %s", strerror(errno));
	/* One message a round: a task back in its receive queues behind every
	 * task still waiting, and the W sends of a round serve W waiters. */
	for (int round = 0; round < opt_rounds; round++) {
		do {
			r = fam == 0 ? b->mq_receive(q, msg.mtext, MSGSZ, NULL)
				     : b->msgrcv(id, &msg, MSGSZ, 0, 0);
		} while (r < 0 && errno == EINTR);
		if (r != MSGSZ)
			die("%s receive: %zd (%s)", b->name, r, r < 0 ? strerror(errno) : "short");
		if (write(ack_pipe[1], "a", 1) != 1)
			die("write(ack): %s", strerror(errno));
	}
	/* Exit only after the measurement (EOF), so that no exit runs in it. */
	while (read(exit_pipe[0], &msg, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* The queue of run_waiters, for read_bytes' diagnostics. */
static int wq_m, wq_fam;
static mqd_t wq_q = -1;
static int wq_id = -1;

/* The messages in run_waiters' queue, or -1. */
static long queued_now(void)
{
	if (wq_fam == 0) {
		struct mq_attr a;

		return wq_q >= 0 && (wq_m == I_NATIVE ? mq_getattr(wq_q, &a) : ripc_mq_getattr(wq_q, &a)) == 0
			       ? a.mq_curmsgs : -1;
	}
	struct msqid_ds ds;

	return wq_id >= 0 && IMPL[wq_m].msgctl(wq_id, IPC_STAT, &ds) == 0 ? (long)ds.msg_qnum : -1;
}

/* W tasks blocked in a receive on one queue, W sends: the ns from the first
 * send until every task has its message. */
static void run_waiters(int m, int fam, int w, struct fig *f)
{
	const struct impl *b = &IMPL[m];
	struct mq_attr attr = { .mq_maxmsg = opt_depth, .mq_msgsize = MSGSZ };
	struct mbuf msg = { .mtype = 1 };
	mqd_t q = -1;
	int id = -1;
	size_t base;
	uint64_t t0, t1, deadline;

	if (fam == 0) {
		q = b->mq_open(WAITQ, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
		if (q < 0)
			DIE_ERRNO("mq_open(wait queue)");
		waitq_made[m] = 1;
	} else {
		id = b->msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		if (id < 0)
			DIE_ERRNO("msgget(wait queue)");
		waitq_id[m] = id;
	}
	wq_m = m;
	wq_fam = fam;
	wq_q = q;
	wq_id = id;
	if (pipe2(ready_pipe, O_CLOEXEC) < 0 || pipe2(ack_pipe, O_CLOEXEC) < 0 ||
	    pipe2(exit_pipe, O_CLOEXEC) < 0)
		DIE_ERRNO("pipe");
	fflush(NULL);
	for (int i = 0; i < w; i++) {
		pid_t pid = fork();

		if (pid < 0)
			DIE_ERRNO("fork");
		if (pid == 0)
			waiter(m, fam, q, id);
		kids[nkids++] = pid;
	}
	close(ready_pipe[1]);
	close(ack_pipe[1]);
	close(exit_pipe[0]);
	read_bytes(ready_pipe[0], w, "tasks ready");
	memset(msg.mtext, 'w', MSGSZ);
	base = strlen(ctx);
	for (int round = 0; round < opt_rounds; round++) {
		int asleep = 0;

		/* Every task past its write (or its ack): wait until each sleeps
		 * (in its receive: it blocks nowhere else). */
		snprintf(ctx + base, sizeof(ctx) - base, ": round %d: waiting for the tasks to sleep",
			 round + 1);
		deadline = now_ns() + 60000000000ull;
		while (asleep < w) {
			asleep = 0;
			for (int i = 0; i < w; i++)
				asleep += task_state(kids[i]) == 'S';
			if (asleep < w) {
				if (now_ns() > deadline)
					die("only %d of %d tasks asleep after 60 s", asleep, w);
				usleep(2000);
			}
		}
		snprintf(ctx + base, sizeof(ctx) - base, ": round %d: sending", round + 1);
		t0 = now_ns();
		for (int i = 0; i < w; i++) {
			int r = fam == 0 ? b->mq_send(q, msg.mtext, MSGSZ, 0) : b->msgsnd(id, &msg, MSGSZ, 0);

			if (r < 0)
				DIE_ERRNO("send");
		}
		read_bytes(ack_pipe[0], w, "messages received");
		t1 = now_ns();
		if (f->nruns < MAXR)
			f->runs[f->nruns++] = (double)(t1 - t0);
	}
	ctx[base] = 0;
	close(exit_pipe[1]);
	for (int i = 0; i < nkids; i++) {
		int st;

		while (waitpid(kids[i], &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			die("task %d ended with status %#x", i, st);
		kids[i] = 0;
	}
	nkids = 0;
	close(ready_pipe[0]);
	close(ack_pipe[0]);
	if (fam == 0) {
		b->mq_close(q);
		if (b->mq_unlink(WAITQ) < 0)
			DIE_ERRNO("mq_unlink(wait queue)");
		waitq_made[m] = 0;
	} else {
		if (b->msgctl(id, IPC_RMID, NULL) < 0)
			DIE_ERRNO("msgctl(IPC_RMID, wait queue)");
		waitq_id[m] = -1;
	}
}

static const char *const fam_name[2] = { "POSIX", "System V" };
static const char *const fam_key[2] = { "posix", "sysv" };

/* ---- output ------------------------------------------------------------------------ */

#define TARGET_RATIO 1.2  /* rust_ipc / native, and rust_ipc(Nmax) / rust_ipc(Nmin) */
#define TARGET_LIST 1.0   /* listing: rust_ipc / native */
#define TARGET_LINEAR 1.2 /* waiters: (t(Wmax)/t(W0)) / (Wmax/W0) */

/* The row's figures: native and rust_ipc medians, ratio, growth. */
struct row {
	double nat, rip, ratio, growth;
	int ratio_ok, growth_ok; /* 1 met, 0 missed, -1 no target here */
};

static struct row row_of(int op, int si)
{
	int n = sizes[si];
	struct row r;
	double lim = op >= OP_LIST_PAGE ? TARGET_LIST : TARGET_RATIO;

	r.nat = med_of(T_SCALE, op == OP_LIST_WHOLE ? OP_LIST_PAGE : op, n, I_NATIVE);
	r.rip = med_of(T_SCALE, op, n, I_RIPC);
	r.ratio = r.rip / r.nat;
	r.growth = op >= OP_LIST_PAGE ? nan_() : r.rip / med_of(T_SCALE, op, sizes[0], I_RIPC);
	r.ratio_ok = r.ratio == r.ratio ? r.ratio <= lim : 0;
	/* The listing's target is at 30000 (the largest N); the others' at every N. */
	if (op >= OP_LIST_PAGE && si != nsizes - 1)
		r.ratio_ok = -1;
	r.growth_ok = op < OP_LIST_PAGE && si == nsizes - 1 && nsizes > 1
			      ? (r.growth == r.growth ? r.growth <= TARGET_RATIO : 0) : -1;
	return r;
}

static double wait_med(int fam, int m, int w)
{
	return med_of(T_WAITERS, fam, w, m);
}

static double linearity(int fam, int m)
{
	int w0 = waiters[0], w1 = waiters[nwaiters - 1];

	return (wait_med(fam, m, w1) / wait_med(fam, m, w0)) / ((double)w1 / w0);
}

static void write_json(FILE *o, double elapsed)
{
	int first = 1;

	json_meta_begin(o);
	fprintf(o, ",\"runs\":%d,\"iters\":%d,\"waiter_rounds\":%d,\"waiters_pinned\":%s,\"quick\":%s",
		opt_runs, opt_iters, opt_rounds, opt_pin ? "true" : "false", opt_quick ? "true" : "false");
	fputs(",\"elapsed_s\":", o);
	json_num(o, elapsed);
	fputs(",\"sizes\":[", o);
	for (int i = 0; i < nsizes; i++)
		fprintf(o, "%s%d", i ? "," : "", sizes[i]);
	fputs("],\"waiters\":[", o);
	for (int i = 0; i < nwaiters; i++)
		fprintf(o, "%s%d", i ? "," : "", waiters[i]);
	fputs("],\"list_page\":", o);
	json_str(o, list_page_kind);
	fprintf(o, ",\"list_read_bytes\":%d,\"mq_attr\":{\"mq_maxmsg\":1,\"mq_msgsize\":%d}"
		",\"waiters_mq_maxmsg\":%d", PAGE, MSGSZ, opt_depth);
	fputs(",\"ops\":{", o);
	for (int op = 0; op < NOP; op++) {
		fputs(op ? "," : "", o);
		json_str(o, op_name[op]);
		fputc(':', o);
		json_str(o, op_desc[op]);
	}
	fputs("},\"ratio\":", o);
	json_str(o, "ratio = rust_ipc median / native median (times: < 1 means rust_ipc is faster); "
		    "growth = rust_ipc(N) / rust_ipc(smallest N); waiters: linearity = "
		    "(t(Wmax)/t(W0)) / (Wmax/W0), 1 = linear");
	json_meta_end(o);
	for (int i = 0; i < nfigs; i++) {
		struct fig *f = &figs[i];
		int w = f->test == T_WAITERS;

		fputs(first ? "" : ",\n", o);
		first = 0;
		fputs("{\"test\":", o);
		json_str(o, f->test);
		fputs(",\"op\":", o);
		json_str(o, w ? fam_key[f->op] : op_name[f->op]);
		fprintf(o, ",\"n\":%d,\"impl\":", f->n);
		json_str(o, IMPL[f->m].name);
		fputs(",\"unit\":", o);
		json_str(o, w ? "ns" : f->op >= OP_LIST_PAGE ? "ns/listing" : "ns/op");
		fprintf(o, ",\"iters\":%ld", f->iters);
		json_runs(o, f->runs, f->nruns, f->min, f->med, f->max);
		if (w) {
			fputs(",\"per_task_ns\":", o);
			json_num(o, f->med / f->n);
		}
		if (f->error) {
			fputs(",\"error\":", o);
			json_str(o, f->error);
		}
		fputc('}', o);
	}
	fputs("\n],\n\"table\":[\n", o);
	first = 1;
	for (int op = 0; op < NOP; op++) {
		for (int si = 0; si < nsizes; si++) {
			struct row r = row_of(op, si);

			fputs(first ? "" : ",\n", o);
			first = 0;
			fputs("{\"op\":", o);
			json_str(o, op_name[op]);
			fprintf(o, ",\"n\":%d,\"native\":", sizes[si]);
			json_num(o, r.nat);
			fputs(",\"rust_ipc\":", o);
			json_num(o, r.rip);
			fputs(",\"ratio\":", o);
			json_num(o, r.ratio);
			fputs(",\"growth\":", o);
			json_num(o, r.growth);
			if (r.ratio_ok >= 0)
				fprintf(o, ",\"ratio_target\":%g,\"ratio_met\":%s",
					op >= OP_LIST_PAGE ? TARGET_LIST : TARGET_RATIO,
					r.ratio_ok ? "true" : "false");
			if (r.growth_ok >= 0)
				fprintf(o, ",\"growth_target\":%g,\"growth_met\":%s", TARGET_RATIO,
					r.growth_ok ? "true" : "false");
			fputc('}', o);
		}
	}
	for (int fam = 0; fam < 2 && nwaiters > 1; fam++) {
		for (int m = 0; m < NIMPL; m++) {
			double lin = linearity(fam, m);

			fputs(",\n{\"op\":", o);
			json_str(o, fam ? "waiters-sysv" : "waiters-posix");
			fputs(",\"impl\":", o);
			json_str(o, IMPL[m].name);
			fputs(",\"linearity\":", o);
			json_num(o, lin);
			fprintf(o, ",\"linearity_target\":%g,\"linearity_met\":%s}", TARGET_LINEAR,
				lin == lin && lin <= TARGET_LINEAR ? "true" : "false");
		}
	}
	fputs("\n]}\n", o);
}

static void fmt_num(char *buf, size_t len, double v)
{
	if (v != v)
		snprintf(buf, len, "-");
	else if (v >= 100)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.1f", v);
}

static void fmt_ratio(char *buf, size_t len, double v)
{
	if (v != v)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.2f", v);
}

static void print_table(FILE *o)
{
	char a[32], b[32], c[32], d[32];

	fprintf(o, "ripc_scale: medians of %d runs; native and rust_ipc alternately in one boot.\n",
		opt_runs);
	fprintf(o, "N = other queues in the namespace (N POSIX and N System V queues in each "
		   "implementation); POSIX queues with mq_maxmsg 1, mq_msgsize %d.\n", MSGSZ);
	fprintf(o, "ratio = rust_ipc / native (< 1: rust_ipc faster); growth = rust_ipc(N) / "
		   "rust_ipc(%d).\n", sizes[0]);
	fprintf(o, "Targets (issue 13): ratio <= %.1f at every N and growth <= %.1f at N = %d; "
		   "listing: ratio <= %.1f at N = %d.\n\n", TARGET_RATIO, TARGET_RATIO,
		sizes[nsizes - 1], TARGET_LIST, sizes[nsizes - 1]);
	fprintf(o, "ns per operation, %d operations per run:\n", opt_iters);
	fprintf(o, "%-36s %6s %12s %14s %7s %7s  %s\n", "operation", "N", "native ns/op",
		"rust_ipc ns/op", "ratio", "growth", "targets");
	for (int op = 0; op < NOP; op++) {
		if (op == OP_LIST_PAGE)
			fprintf(o, "\nns per listing (of the N System V queues; repeated max(1, %d/N) "
				   "times per run):\n%-36s %6s %12s %14s %7s\n", LIST_LINES, "listing", "N",
				"native ns", "rust_ipc ns", "ratio");
		for (int si = 0; si < nsizes; si++) {
			struct row r = row_of(op, si);
			char tg[96] = "";

			fmt_num(a, sizeof(a), r.nat);
			fmt_num(b, sizeof(b), r.rip);
			fmt_ratio(c, sizeof(c), r.ratio);
			fmt_ratio(d, sizeof(d), r.growth);
			if (r.ratio_ok >= 0)
				snprintf(tg, sizeof(tg), "ratio %s", r.ratio_ok ? "met" : "MISSED");
			if (r.growth_ok >= 0)
				snprintf(tg + strlen(tg), sizeof(tg) - strlen(tg), ", growth %s",
					 r.growth_ok ? "met" : "MISSED");
			if (op < OP_LIST_PAGE)
				fprintf(o, "%-36s %6d %12s %14s %7s %7s  %s\n", si ? "" : op_label[op],
					sizes[si], a, b, c, d, tg);
			else
				fprintf(o, "%-36s %6d %12s %14s %7s  %s\n", si ? "" : op_label[op],
					sizes[si], op == OP_LIST_WHOLE ? "(as above)" : a, b, c, tg);
		}
	}
	fprintf(o, "list: native = open + read(%d bytes) to EOF + close of /proc/sysvipc/msg; rust_ipc 4 KiB "
		   "pages = ripc_list_page() (%s), whole table = ripc_list().\n", PAGE, list_page_kind);
	if (!nwaiters)
		return;
	fprintf(o, "\nW tasks blocked in a receive on one queue, then W sends: time until every task "
		   "has its message\n(medians of %d runs x %d rounds; %s; POSIX queue: mq_maxmsg %d, System V: "
		   "msg_qbytes 16384).\nlinearity = (t(%d)/t(%d)) / (%d/%d): 1 = linear (target <= %.1f).\n",
		opt_runs, opt_rounds, opt_pin ? "all tasks on one CPU" : "tasks on every CPU", opt_depth,
		waiters[nwaiters - 1], waiters[0], waiters[nwaiters - 1], waiters[0], TARGET_LINEAR);
	fprintf(o, "%-9s %-9s %5s %12s %12s %10s\n", "family", "impl", "W", "total us", "ns per task",
		"t(W)/t(W0)");
	for (int fam = 0; fam < 2; fam++) {
		for (int m = 0; m < NIMPL; m++) {
			for (int i = 0; i < nwaiters; i++) {
				double t = wait_med(fam, m, waiters[i]);

				fmt_num(a, sizeof(a), t / 1e3);
				fmt_num(b, sizeof(b), t / waiters[i]);
				fmt_ratio(c, sizeof(c), t / wait_med(fam, m, waiters[0]));
				fprintf(o, "%-9s %-9s %5d %12s %12s %10s\n", i ? "" : fam_name[fam],
					i ? "" : IMPL[m].name, waiters[i], a, b, c);
			}
			if (nwaiters > 1) {
				double lin = linearity(fam, m);

				fmt_ratio(c, sizeof(c), lin);
				fprintf(o, "%-9s %-9s linearity %s: %s\n", "", "", c,
					lin == lin && lin <= TARGET_LINEAR ? "linear (met)" : "NOT linear (MISSED)");
			}
		}
	}
}

/* ---- main -------------------------------------------------------------------------- */

static void usage(FILE *o)
{
	fprintf(o,
		"usage: ripc_scale [--quick] [--runs R] [--iters I] [--sizes N1,...] [--waiters W1,...]\n"
		"                  [--rounds K] [--depth D] [--no-pin] [--json FILE|-] [--verbose]\n"
		"  --quick        R=2, I=500, K=3, N=10,1000,3000, W=32,64 (smoke test)\n"
		"  --runs R       repetitions of every figure (default 5, at most %d)\n"
		"  --iters I      operations per timed run (default 2000)\n"
		"  --sizes LIST   numbers of other queues, ascending, 1..%d (default 10,1000,30000)\n"
		"  --waiters LIST blocked tasks, ascending, 1..%d (default 32,64,128,256; 0: none)\n"
		"  --depth D      mq_maxmsg of the waiters' POSIX queue (default: the largest W,\n"
		"                 so that the sender never blocks; e.g. 10 to block it)\n"
		"  --rounds K     waiters: rounds per set of tasks (default 8; quick 3)\n"
		"  --no-pin       the waiters on every CPU (default: all on the first one)\n"
		"  --json FILE    write the results as JSON; '-': to stdout between ===JSON-BEGIN===\n"
		"                 and ===JSON-END=== (the table between ===TABLE-BEGIN=== and\n"
		"                 ===TABLE-END===)\n"
		"  --verbose      every measurement on stderr\n",
		MAXR, MAXQ, MAXW);
}

static int parse_ints(char *arg, int *out, int max_n, int lo, int hi)
{
	int n = 0;

	if (lo == 0 && !strcmp(arg, "0"))
		return 0;
	for (char *tok = strtok(arg, ","); tok; tok = strtok(NULL, ",")) {
		long v = atol(tok);

		if (v < 1 || v > hi || n == max_n || (n && v <= out[n - 1]))
			return -1;
		out[n++] = (int)v;
	}
	return n;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' }, { "runs", required_argument, NULL, 'r' },
		{ "iters", required_argument, NULL, 'i' }, { "sizes", required_argument, NULL, 's' },
		{ "waiters", required_argument, NULL, 'w' }, { "json", required_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' },
		{ "depth", required_argument, NULL, 'd' }, { "no-pin", no_argument, NULL, 'P' },
		{ "rounds", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 }
	};
	char *size_arg = NULL, *wait_arg = NULL;
	int runs = -1, iters = -1, rounds = -1, opt, markers;
	uint64_t start = now_ns(), t;
	FILE *jf = NULL;

	while ((opt = next_opt(argc, argv, "qr:i:s:w:j:vhd:PR:", lo)) != -1) {
		switch (opt) {
		case 'i':
			iters = int_arg(optarg, "--iters", 1, 10000000);
			break;
		case 's':
			size_arg = optarg;
			break;
		case 'w':
			wait_arg = optarg;
			break;
		case 'P':
			opt_pin = 0;
			break;
		case 'R':
			rounds = int_arg(optarg, "--rounds", 1, MAXR);
			break;
		case 'd':
			opt_depth = int_arg(optarg, "--depth", 1, 65536);
			break;
		default:
			common_opt(opt, optarg, &runs);
		}
	}
	if (opt_quick) {
		opt_runs = 2;
		opt_iters = 500;
		opt_rounds = 3;
		sizes[nsizes++] = 10;
		sizes[nsizes++] = 1000;
		sizes[nsizes++] = 3000;
		waiters[nwaiters++] = 32;
		waiters[nwaiters++] = 64;
	} else {
		sizes[nsizes++] = 10;
		sizes[nsizes++] = 1000;
		sizes[nsizes++] = 30000;
		waiters[nwaiters++] = 32;
		waiters[nwaiters++] = 64;
		waiters[nwaiters++] = 128;
		waiters[nwaiters++] = 256;
	}
	if (size_arg && (nsizes = parse_ints(size_arg, sizes, MAXSIZES, 1, MAXQ)) <= 0) {
		fprintf(stderr, "ripc_scale: --sizes: ascending, 1..%d, at most %d\n", MAXQ, MAXSIZES);
		return 2;
	}
	if (wait_arg && (nwaiters = parse_ints(wait_arg, waiters, 8, 0, MAXW)) < 0) {
		fprintf(stderr, "ripc_scale: --waiters: ascending, 1..%d, at most 8 (0: none)\n", MAXW);
		return 2;
	}
	if (runs > 0)
		opt_runs = runs;
	if (iters > 0)
		opt_iters = iters;
	if (rounds > 0)
		opt_rounds = rounds;
	if (opt_runs * opt_rounds > MAXR) {
		fprintf(stderr, "ripc_scale: --runs x --rounds must be at most %d\n", MAXR);
		return 2;
	}
	maxq = sizes[nsizes - 1];
	if (!opt_depth)
		opt_depth = nwaiters ? waiters[nwaiters - 1] : 1;
	if (geteuid() != 0)
		fprintf(stderr, "ripc_scale: warning: not root: the limits cannot be raised\n");
	markers = json_open(opt_json, &jf);
	names = calloc((size_t)maxq, sizeof(*names));
	ids[I_NATIVE] = calloc((size_t)maxq, sizeof(int));
	ids[I_RIPC] = calloc((size_t)maxq, sizeof(int));
	if (!names || !ids[I_NATIVE] || !ids[I_RIPC])
		DIE_ERRNO("calloc");
	for (int i = 0; i < maxq; i++)
		snprintf(names[i], NAMELEN, "/rscale.%05d", i);
	list_page = ripc_list_page;

	install_handlers();

	raise_limits();
	if (ripc_device_fd() < 0) /* opened before any fork */
		DIE_ERRNO(RIPC_DEVICE);

	/* Blocked waiters first, in an empty namespace; on one CPU (the parent
	 * and its tasks), so that no cross-CPU wake-up (an IPI to an idle vCPU,
	 * which the host's load delays by milliseconds) enters the time. */
	cpu_set_t all_cpus, one_cpu;

	if (opt_pin && nwaiters) {
		if (sched_getaffinity(0, sizeof(all_cpus), &all_cpus) < 0)
			DIE_ERRNO("sched_getaffinity");
		CPU_ZERO(&one_cpu);
		for (int c = 0; c < CPU_SETSIZE; c++) {
			if (CPU_ISSET(c, &all_cpus)) {
				CPU_SET(c, &one_cpu);
				break;
			}
		}
		if (sched_setaffinity(0, sizeof(one_cpu), &one_cpu) < 0)
			DIE_ERRNO("sched_setaffinity");
	}
	t = now_ns();
	for (int rep = 0; rep < opt_runs && nwaiters; rep++) {
		for (int i = 0; i < nwaiters; i++) {
			for (int fam = 0; fam < 2; fam++) {
				for (int k = 0; k < NIMPL; k++) {
					int m = (k + rep) % NIMPL;
					struct fig *f = fig_get(T_WAITERS, fam, waiters[i], m, 1);

					snprintf(ctx, sizeof(ctx), "%d %s waiters, %s (run %d)", waiters[i],
						 fam_name[fam], IMPL[m].name, rep + 1);
					alarm(600);
					run_waiters(m, fam, waiters[i], f);
					alarm(0);
					if (opt_verbose)
						fprintf(stderr, "ripc_scale: %s: %.0f us (last round)\n", ctx,
							f->runs[f->nruns - 1] / 1e3);
				}
			}
		}
		fprintf(stderr, "ripc_scale: run %d/%d: waiters %6.1f s (total %6.1f s)\n", rep + 1,
			opt_runs, secs_since(t), secs_since(start));
	}

	if (opt_pin && nwaiters && sched_setaffinity(0, sizeof(all_cpus), &all_cpus) < 0)
		DIE_ERRNO("sched_setaffinity");

	/* The namespace, grown size by size. */
	long mem0 = mem_available_mib();

	for (int si = 0; si < nsizes; si++) {
		int n = sizes[si];

		alarm(1800);
		t = now_ns();
		populate(n);
		alarm(0);
		snprintf(ctx, sizeof(ctx), "creating the target queue");
		for (int m = 0; m < NIMPL; m++) {
			if (!target_made[m]) {
				mqd_t q = IMPL[m].mq_open(TARGET, O_CREAT | O_EXCL | O_RDWR, 0600, &small_attr);

				if (q < 0)
					DIE_ERRNO("mq_open(target)");
				target_made[m] = 1;
				IMPL[m].mq_close(q);
			}
		}
		fprintf(stderr, "ripc_scale: N=%d: namespaces filled in %.1f s\n", n, secs_since(t));
		if (si == nsizes - 1)
			note("MemAvailable %ld MiB with %d POSIX and %d System V queues in each implementation "
			     "(%ld MiB before the first)", mem_available_mib(), n, n, mem0);
		for (int rep = 0; rep < opt_runs; rep++) {
			t = now_ns();
			measure_scale(n, rep);
			fprintf(stderr, "ripc_scale: N=%d run %d/%d: %6.1f s (total %6.1f s)\n", n, rep + 1,
				opt_runs, secs_since(t), secs_since(start));
		}
	}
	if (page_contract_broken)
		note("ripc_list_page() broke its contract (a page not NUL-terminated, not whole lines, "
		     "or not shorter than the buffer)");

	snprintf(ctx, sizeof(ctx), "cleanup");
	t = now_ns();
	cleanup_all();
	fprintf(stderr, "ripc_scale: queues removed in %.1f s\n", secs_since(t));
	snprintf(ctx, sizeof(ctx), "output");
	fig_stats();
	double elapsed = secs_since(start);

	return emit_results(markers, 1, jf, opt_json, elapsed);
}
