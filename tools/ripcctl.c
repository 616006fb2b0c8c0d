// SPDX-License-Identifier: GPL-2.0
/*
 * ripcctl: look at and drive rust_ipc queues from the shell (ipcs, ipcrm and
 * ls /dev/mqueue together).
 *
 *   ripcctl version                      ABI version and limits
 *   ripcctl list                         every queue of both kinds
 *   ripcctl mq-create NAME [MAXMSG MSGSIZE]
 *   ripcctl mq-send [TIMEOUT] NAME PRIO TEXT
 *   ripcctl mq-recv [TIMEOUT] NAME [COUNT]
 *                                        receive COUNT messages (default 1)
 *   ripcctl mq-notify-recv NAME COUNT [MS]
 *                                        register SIGUSR1 notification, wait
 *                                        for it, print the siginfo, wait MS
 *                                        milliseconds, receive COUNT
 *   ripcctl mq-watch NAME [COUNT]        register a notification descriptor,
 *                                        wait for COUNT firings (default 1,
 *                                        re-registering after each: a queue
 *                                        that others drain), print each record
 *   ripcctl mq-unlink NAME
 *   ripcctl msg-send [TIMEOUT] KEY TYPE TEXT
 *                                        (creates the queue if needed)
 *   ripcctl msg-recv [TIMEOUT] KEY TYPE [FLAGS]
 *                                        TYPE as msgrcv's msgtyp; FLAGS: e (MSG_EXCEPT);
 *                                        no queue of KEY: ENOENT (msgget)
 *   ripcctl msg-rm KEY
 *   ripcctl peek NAME [POS]              print the message at POS in receive order
 *                                        (default: every message), leaving it queued
 *   ripcctl dump > FILE                  the namespace's queues as a stream
 *   ripcctl restore < FILE               recreate them (in a namespace with none)
 *   ripcctl stat [-r] NAME|ID            the statistics of POSIX queue NAME
 *                                        (/name) or System V queue ID;
 *                                        -r: then reset them (the owner)
 *   ripcctl top [-n COUNT]               a live view of every queue, refreshed
 *                                        once a second, busiest first (the
 *                                        messages sent and received since
 *                                        the last view); -n: COUNT views
 *
 * TIMEOUT, options of the four send and receive commands before their
 * arguments (-- ends them; without them the commands block as long as
 * they must):
 *   -t SECONDS   give up after SECONDS (a decimal, e.g. 0.3) with ETIMEDOUT
 *                ("Connection timed out", exit status 1); each call of
 *                mq-recv COUNT waits at most that long
 *   -c CLOCK     realtime (the default, as mq_timedreceive), monotonic or
 *                boottime: the clock the wait is on (ripc_mq_clockreceive
 *                and the others)
 *   -a           SECONDS is a time of that clock (as clock_gettime gives
 *                it: `date +%s.%N` for realtime), not a time to wait
 * A wait of -t alone is never moved by a step of the wall clock; one of
 * -a -c realtime ends when the clock is set past SECONDS (as native's).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <time.h>
#include <unistd.h>
#include "ripc.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static int fail(const char *what)
{
	fprintf(stderr, "ripcctl: %s: %s\n", what, strerror(errno));
	return 1;
}

static int fail_usage(void)
{
	fprintf(stderr, "usage: see the comment at the top of tools/ripcctl.c\n");
	return 2;
}

/*
 * A number argument: decimal, 0x hex or 0 octal (strtoll's base 0), whole
 * and within [lo, hi]; else the usage, exit status 2 (a key, a type or a
 * priority that is not what was meant would reach another queue or
 * message).
 */
static long long num(const char *s, long long lo, long long hi)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (!*s || *end || errno || v < lo || v > hi) {
		fprintf(stderr, "ripcctl: not a number in [%lld, %lld]: '%s'\n", lo, hi, s);
		exit(fail_usage());
	}
	return v;
}

/* A timeout of the send and receive commands: -t SECONDS [-c CLOCK] [-a]. */
struct timeout {
	clockid_t clock;
	int flags;                      /* TIMER_ABSTIME or 0 */
	const struct timespec *ts;      /* NULL: wait forever */
	struct timespec value;
};

/* SECONDS as a decimal with at most 9 places, into *ts; -1 if it is not one. */
static int parse_seconds(const char *s, struct timespec *ts)
{
	const char *p = s;
	long long sec = 0;
	long nsec = 0;
	int places = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (sec > (INT64_MAX - 9) / 10)
			return -1;
		sec = sec * 10 + (*p - '0');
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, places++) {
			if (places == 9)
				return -1;
			nsec = nsec * 10 + (*p - '0');
		}
	}
	if (*p)
		return -1;
	for (; places < 9; places++)
		nsec *= 10;
	*ts = (struct timespec){ .tv_sec = sec, .tv_nsec = nsec };
	return 0;
}

/*
 * Takes the TIMEOUT options that follow the command (argv[2] on) into *t
 * and removes them from argv; returns the new argc, or -1 on a bad option.
 */
static int timeout_opts(int argc, char **argv, struct timeout *t)
{
	static const struct { const char *name; clockid_t id; } clocks[] = {
		{ "realtime", CLOCK_REALTIME }, { "monotonic", CLOCK_MONOTONIC },
		{ "boottime", CLOCK_BOOTTIME },
	};
	int i = 2, clock_set = 0;
	size_t k;

	*t = (struct timeout){ .clock = CLOCK_REALTIME };
	/* "-1" is a KEY (a negative int), not an option. */
	for (; i < argc && argv[i][0] == '-' && argv[i][1] && !argv[i][2] &&
	       (argv[i][1] < '0' || argv[i][1] > '9'); i++) {
		char opt = argv[i][1];

		if (opt == '-') {       /* "--": the end of the options */
			i++;
			break;
		}
		if (opt == 'a') {
			t->flags = TIMER_ABSTIME;
			continue;
		}
		if ((opt != 't' && opt != 'c') || ++i == argc)
			return -1;
		if (opt == 't') {
			if (parse_seconds(argv[i], &t->value))
				return -1;
			t->ts = &t->value;
			continue;
		}
		for (k = 0; k < ARRAY_LEN(clocks) && strcmp(argv[i], clocks[k].name); k++)
			;
		if (k == ARRAY_LEN(clocks))
			return -1;
		t->clock = clocks[k].id;
		clock_set = 1;
	}
	/* -c and -a qualify -t: alone they are a mistake. */
	if (!t->ts && (clock_set || t->flags))
		return -1;
	memmove(argv + 2, argv + i, (argc - i + 1) * sizeof(*argv));
	return argc - (i - 2);
}

static int mq_recv(int fd, long n, const struct timeout *t)
{
	struct mq_attr a;
	if (ripc_mq_getattr(fd, &a))
		return fail("getattr");
	char *buf = malloc(a.mq_msgsize + 1);
	if (!buf)
		return fail("malloc");
	for (long i = 0; i < n; i++) {
		unsigned prio;
		ssize_t len = ripc_mq_clockreceive(fd, buf, a.mq_msgsize, &prio, t->clock,
						   t->flags, t->ts);
		if (len < 0)
			return fail("mq_receive");
		printf("[pid %d] received prio %u: %.*s\n", getpid(), prio, (int)len, buf);
	}
	free(buf);
	return 0;
}

/* Prints the messages of queue NAME at positions from on (all of them, or one). */
static int peek(const char *name, size_t from, int all)
{
	struct ripc_mq_item items[64];
	struct mq_attr a;
	size_t pos = from;
	int fd = ripc_mq_open(name, O_RDONLY);
	unsigned int want = 1;
	char *buf;

	if (fd < 0)
		return fail("mq_open");
	if (ripc_mq_getattr(fd, &a))
		return fail("mq_getattr");
	/* As many messages a call as fit in 1 MiB of buffers (at least one):
	 * a queue of large messages does not make a huge buffer. */
	while (all && want < ARRAY_LEN(items) && (want + 1) * a.mq_msgsize <= 1 << 20)
		want++;
	buf = malloc(want * a.mq_msgsize + 1);
	if (!buf)
		return fail("malloc");
	for (;;) {
		int n;

		for (unsigned int i = 0; i < want; i++)
			items[i] = (struct ripc_mq_item){ .msg_ptr = (uintptr_t)(buf + i * a.mq_msgsize),
							  .msg_len = a.mq_msgsize };
		n = ripc_mq_peek_batch(fd, items, want, pos);
		/* The end of the queue (an empty one prints nothing). */
		if (n < 0 && errno == ENOMSG && all)
			break;
		if (n < 0)
			return fail("peek");
		for (int i = 0; i < n; i++, pos++)
			printf("[%zu] prio %u, %llu bytes: %.*s\n", pos, items[i].msg_prio,
			       (unsigned long long)items[i].msg_len, (int)items[i].msg_len,
			       buf + i * a.mq_msgsize);
		if (!all || (unsigned int)n < want)
			break;
	}
	free(buf);
	return 0;
}

static int dump(void)
{
	void *buf;
	size_t len;

	if (isatty(STDOUT_FILENO)) {
		fprintf(stderr, "ripcctl: dump writes a binary stream: redirect it to a file\n");
		return 2;
	}
	if (ripc_dump_alloc(&buf, &len))
		return fail("dump");
	if (fwrite(buf, 1, len, stdout) != len || fflush(stdout))
		return fail("write");
	free(buf);
	return 0;
}

static int restore(void)
{
	size_t len = 0, size = 1 << 16;
	char *buf = malloc(size);
	size_t n;

	while (buf && (n = fread(buf + len, 1, size - len, stdin)) > 0) {
		char *bigger;

		len += n;
		if (len < size)
			continue;
		bigger = realloc(buf, size *= 2);
		if (!bigger)
			free(buf);
		buf = bigger;
	}
	if (!buf)
		return fail("malloc");
	if (ferror(stdin))
		return fail("read");
	if (ripc_restore(buf, len))
		return fail("restore");
	free(buf);
	return 0;
}

static int msgq(const char *key, int create)
{
	/* A key as ipcs shows it (0x...), or a negative int. */
	key_t k = (key_t)num(key, INT_MIN, UINT32_MAX);

	if (k == IPC_PRIVATE) {
		/* Key 0 is IPC_PRIVATE: msgget would make a new queue. */
		errno = ENOENT;
		return -1;
	}
	return ripc_msgget(k, create ? IPC_CREAT | 0666 : 0);
}

/* ---- stat and top ------------------------------------------------------ */

/* The fields of struct ripc_queue_stats, in order (all 64-bit). */
static const char *const stat_names[] = {
	"sent", "sent_bytes", "received", "received_bytes", "handoffs", "receive_handoffs",
	"blocked_sends", "blocked_receives", "timeouts", "peak_msgs", "peak_bytes", "msgs",
	"bytes", "last_send_ns", "last_receive_ns", "last_handoff_ns",
	"last_receive_handoff_ns", "last_blocked_send_ns", "last_blocked_receive_ns",
	"last_timeout_ns",
};
#define NSTAT (sizeof(stat_names) / sizeof(stat_names[0]))
#define FIRST_TIME 13
_Static_assert(NSTAT * 8 == sizeof(struct ripc_queue_stats), "stat_names");

static int stat_cmd(int argc, char **argv)
{
	int reset = argc == 4 && !strcmp(argv[2], "-r");
	const char *q = argv[argc - 1];
	struct ripc_queue_stats st;
	uint64_t v[NSTAT];
	int rc, fd = -1;

	if (argc != 3 + reset)
		return fail_usage();
	if (q[0] == '/') {
		if ((fd = ripc_mq_open(q, O_RDONLY)) < 0)
			return fail("mq_open");
		rc = ripc_mq_stats(fd, &st, reset ? RIPC_STATS_RESET : 0);
		ripc_mq_close(fd);
	} else {
		rc = ripc_msg_stats((int)num(q, INT_MIN, INT_MAX), &st, reset ? RIPC_STATS_RESET : 0);
	}
	if (rc)
		return fail("stats");
	memcpy(v, &st, sizeof(v));
	printf("%s (%s)\n", q, q[0] == '/' ? "POSIX" : "System V");
	for (unsigned int i = 0; i < NSTAT; i++) {
		char when[64] = "";

		if (i >= FIRST_TIME) {
			/* Times are signed: one before the epoch (a clock step) too. */
			int64_t ns = (int64_t)v[i];
			time_t t = (time_t)(ns / 1000000000 - (ns % 1000000000 < 0));
			struct tm tm;

			if (ns && gmtime_r(&t, &tm))
				strftime(when, sizeof(when), "  %Y-%m-%d %H:%M:%S UTC", &tm);
			printf("%-24s %lld%s\n", stat_names[i], (long long)ns, when);
			continue;
		}
		printf("%-24s %llu%s\n", stat_names[i], (unsigned long long)v[i], when);
	}
	return 0;
}

/*
 * One queue in a view of top: its name (a POSIX name as the list escapes
 * it: "/" and up to NAME_MAX bytes of four characters each), and its
 * counters.
 */
struct qrow {
	char name[1 + 255 * 4 + 1];
	uint64_t v[NSTAT];
	uint64_t dmsgs, dbytes;         /* since the last refresh */
};

struct snapshot {
	struct qrow *rows;
	size_t n, cap;
};

/*
 * Adds the RIPC_LIST_STATS table of which to s: a line is the counters,
 * then the POSIX name or the System V key and id.
 */
static int snapshot_add(struct snapshot *s, unsigned int which)
{
	uint64_t cursor = 0;
	char buf[8192];
	ssize_t n;

	while ((n = ripc_list_page(which | RIPC_LIST_STATS, &cursor, buf, sizeof(buf))) > 0) {
		for (char *line = buf, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
			struct qrow r = { .name = "" };
			char *p = line;
			unsigned int i;

			*nl = 0;
			for (i = 0; i < NSTAT; i++) {
				char *end;

				r.v[i] = strtoull(p, &end, 10);
				if (end == p || *end != ' ')
					break;
				p = end + 1;
			}
			if (i < NSTAT)
				continue;       /* the header */
			if (which == RIPC_LIST_POSIX) {
				snprintf(r.name, sizeof(r.name), "%s", p);
			} else {
				long key = 0, id = 0;

				sscanf(p, "%ld %ld", &key, &id);
				snprintf(r.name, sizeof(r.name), "%ld (key 0x%x)", id, (unsigned int)key);
			}
			if (s->n == s->cap) {
				size_t cap = s->cap ? 2 * s->cap : 64;
				struct qrow *rows = realloc(s->rows, cap * sizeof(*rows));

				if (!rows)
					return -1;
				s->rows = rows;
				s->cap = cap;
			}
			s->rows[s->n++] = r;
		}
	}
	/* POSIX names the caller may not list (the mqueue root): none. */
	if (n < 0 && errno == EACCES && which == RIPC_LIST_POSIX)
		return 0;
	return n < 0 ? -1 : 0;
}

static int snapshot_take(struct snapshot *s)
{
	s->n = 0;
	return snapshot_add(s, RIPC_LIST_POSIX) || snapshot_add(s, RIPC_LIST_SYSV) ? -1 : 0;
}

static int busiest_first(const void *a, const void *b)
{
	const struct qrow *x = a, *y = b;

	if (x->dmsgs != y->dmsgs)
		return x->dmsgs < y->dmsgs ? 1 : -1;
	if (x->dbytes != y->dbytes)
		return x->dbytes < y->dbytes ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* The traffic of each queue of cur since prev (all of it if new or reset). */
static void traffic(struct snapshot *cur, const struct snapshot *prev)
{
	for (size_t i = 0; i < cur->n; i++) {
		struct qrow *r = &cur->rows[i];
		uint64_t m = r->v[0] + r->v[2], b = r->v[1] + r->v[3];

		r->dmsgs = m;
		r->dbytes = b;
		for (size_t j = 0; j < prev->n; j++) {
			const struct qrow *p = &prev->rows[j];
			uint64_t pm = p->v[0] + p->v[2], pb = p->v[1] + p->v[3];

			if (!strcmp(p->name, r->name) && pm <= m && pb <= b) {
				r->dmsgs = m - pm;
				r->dbytes = b - pb;
				break;
			}
		}
	}
	qsort(cur->rows, cur->n, sizeof(*cur->rows), busiest_first);
}

static int top_cmd(int argc, char **argv)
{
	struct snapshot a = { 0 }, b = { 0 }, *prev = &a, *cur = &b;
	long count = -1;
	int rc = 0;

	if (argc == 4 && !strcmp(argv[2], "-n"))
		count = num(argv[3], 1, LONG_MAX);
	else if (argc != 2)
		return fail_usage();
	if (snapshot_take(prev))
		return fail("list");
	for (long k = 0; count < 0 || k < count; k++) {
		struct snapshot *t;
		char when[32];
		time_t now;
		struct tm tm;

		sleep(1);
		if (snapshot_take(cur)) {
			rc = fail("list");
			break;
		}
		traffic(cur, prev);
		now = time(NULL);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&now, &tm));
		if (isatty(STDOUT_FILENO))
			fputs("\033[H\033[2J", stdout);
		printf("ripcctl top: %s, %zu queues; MSGS, BYTES: sent and received since the last view\n",
		       when, cur->n);
		printf("%8s %10s %6s %6s %10s %10s %8s %6s %6s %6s  %s\n", "MSGS", "BYTES", "DEPTH",
		       "PEAK", "SENT", "RECEIVED", "HANDOFFS", "BLK_S", "BLK_R", "TMO", "QUEUE");
		for (size_t i = 0; i < cur->n; i++) {
			const struct qrow *r = &cur->rows[i];

			printf("%8llu %10llu %6llu %6llu %10llu %10llu %8llu %6llu %6llu %6llu  %s\n",
			       (unsigned long long)r->dmsgs, (unsigned long long)r->dbytes,
			       (unsigned long long)r->v[11], (unsigned long long)r->v[9],
			       (unsigned long long)r->v[0], (unsigned long long)r->v[2],
			       (unsigned long long)(r->v[4] + r->v[5]), (unsigned long long)r->v[6],
			       (unsigned long long)r->v[7], (unsigned long long)r->v[8], r->name);
		}
		putchar('\n');
		fflush(stdout);
		t = prev;
		prev = cur;
		cur = t;
	}
	free(a.rows);
	free(b.rows);
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "help";
	struct timeout tmo = { .clock = CLOCK_REALTIME };
	int fd, id;

	if (!strcmp(cmd, "mq-send") || !strcmp(cmd, "mq-recv") || !strcmp(cmd, "msg-send") ||
	    !strcmp(cmd, "msg-recv")) {
		argc = timeout_opts(argc, argv, &tmo);
		if (argc < 0)
			return fail_usage();
	}

	if (!strcmp(cmd, "version")) {
		struct ripc_version v = { .size = sizeof(v) };
		if (ripc_version(&v))
			return fail("version");
		struct ripc_limits *l = &v.limits;
		printf("rust_ipc ABI %u\n", v.abi_version);
		printf("mqueue: msg_default %u msgsize_default %u msg_max %u msgsize_max %u queues_max %u\n",
		       l->mq_msg_default, l->mq_msgsize_default, l->mq_msg_max, l->mq_msgsize_max,
		       l->mq_queues_max);
		printf("sysv: msgmax %u msgmnb %u msgmni %u\n", l->msgmax, l->msgmnb, l->msgmni);
		return 0;
	}
	if (!strcmp(cmd, "list")) {
		/* A page at a time: any number of queues, bounded memory. */
		static const struct { unsigned int which; const char *title; } t[] = {
			{ RIPC_LIST_POSIX, "POSIX queues" }, { RIPC_LIST_SYSV, "System V queues" },
		};
		char buf[4096];

		for (int i = 0; i < 2; i++) {
			uint64_t cursor = 0;
			ssize_t n;

			printf("%s:\n", t[i].title);
			while ((n = ripc_list_page(t[i].which, &cursor, buf, sizeof(buf))) > 0)
				fputs(buf, stdout);
			if (n < 0 && errno == EACCES && t[i].which == RIPC_LIST_POSIX)
				printf("(the names are not readable: %s)\n", strerror(errno));
			else if (n < 0)
				return fail("list");
		}
		return 0;
	}
	if (!strcmp(cmd, "mq-create") && (argc == 3 || argc == 5)) {
		struct mq_attr a = { .mq_maxmsg = argc == 5 ? num(argv[3], 0, LONG_MAX) : 10,
				     .mq_msgsize = argc == 5 ? num(argv[4], 0, LONG_MAX) : 128 };
		fd = ripc_mq_open(argv[2], O_RDWR | O_CREAT, 0644, &a);
		return fd < 0 ? fail("mq_open") : 0;
	}
	if (!strcmp(cmd, "mq-send") && argc == 5) {
		unsigned int prio = (unsigned int)num(argv[3], 0, UINT_MAX);

		fd = ripc_mq_open(argv[2], O_WRONLY);
		if (fd < 0)
			return fail("mq_open");
		if (ripc_mq_clocksend(fd, argv[4], strlen(argv[4]), prio, tmo.clock, tmo.flags,
				      tmo.ts))
			return fail("mq_send");
		printf("[pid %d] sent prio %u: %s\n", getpid(), prio, argv[4]);
		return 0;
	}
	if (!strcmp(cmd, "mq-recv") && (argc == 3 || argc == 4)) {
		long count = argc == 4 ? num(argv[3], 0, LONG_MAX) : 1;

		fd = ripc_mq_open(argv[2], O_RDONLY);
		return fd < 0 ? fail("mq_open") : mq_recv(fd, count, &tmo);
	}
	if (!strcmp(cmd, "mq-notify-recv") && (argc == 4 || argc == 5)) {
		long count = num(argv[3], 0, LONG_MAX), ms = argc == 5 ? num(argv[4], 0, 3600000) : 0;
		sigset_t set;
		siginfo_t si;
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigprocmask(SIG_BLOCK, &set, NULL);
		fd = ripc_mq_open(argv[2], O_RDONLY);
		struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1,
				       .sigev_value.sival_int = 42 };
		if (fd < 0)
			return fail("mq_open");
		if (ripc_mq_notify(fd, &ev))
			return fail("mq_notify");
		printf("[pid %d] waiting for the notification of %s\n", getpid(), argv[2]);
		fflush(stdout);
		if (sigwaitinfo(&set, &si) < 0)
			return fail("sigwaitinfo");
		printf("[pid %d] notified: signo %d code %s value %d from pid %d uid %u\n", getpid(),
		       si.si_signo, si.si_code == SI_MESGQ ? "SI_MESGQ" : "?", si.si_value.sival_int,
		       si.si_pid, si.si_uid);
		if (ms)
			usleep((useconds_t)ms * 1000);
		return mq_recv(fd, count, &tmo);
	}
	if (!strcmp(cmd, "mq-watch") && (argc == 3 || argc == 4)) {
		long count = argc == 4 ? num(argv[3], 0, LONG_MAX) : 1;
		struct ripc_notify_record r;
		int nfd = ripc_notify_fd_open(O_CLOEXEC);

		if (nfd < 0)
			return fail("ripc_notify_fd_open");
		fd = ripc_mq_open(argv[2], O_RDONLY);
		if (fd < 0)
			return fail("mq_open");
		for (long i = 0; i < count; i++) {
			if (ripc_mq_notify_fd(fd, nfd, (union sigval){ .sival_ptr = (void *)(uintptr_t)i }))
				return fail("mq_notify");
			if (i == 0) {
				printf("[pid %d] watching %s\n", getpid(), argv[2]);
				fflush(stdout);
			}
			ssize_t got = read(nfd, &r, sizeof(r));

			if (got != sizeof(r)) {
				if (got >= 0)
					errno = EIO;    /* a short record */
				return fail("read");
			}
			printf("[pid %d] notified: value %llu from pid %d uid %u\n", getpid(),
			       (unsigned long long)r.sigev_value, r.pid, r.uid);
			fflush(stdout);
		}
		return 0;
	}
	if (!strcmp(cmd, "mq-unlink") && argc == 3)
		return ripc_mq_unlink(argv[2]) ? fail("mq_unlink") : 0;
	if (!strcmp(cmd, "msg-send") && argc == 5) {
		/* The whole text, whatever its length (msgsnd says if it is too long). */
		size_t n = strlen(argv[4]);
		long mtype = num(argv[3], LONG_MIN, LONG_MAX);
		char *m = malloc(sizeof(long) + n);

		if (!m)
			return fail("malloc");
		memcpy(m, &mtype, sizeof(long));
		memcpy(m + sizeof(long), argv[4], n);
		if ((id = msgq(argv[2], 1)) < 0 ||
		    ripc_msgsnd_clock(id, m, n, 0, tmo.clock, tmo.flags, tmo.ts))
			return fail("msgsnd");
		printf("[pid %d] sent type %ld: %s\n", getpid(), mtype, argv[4]);
		free(m);
		return 0;
	}
	if (!strcmp(cmd, "msg-recv") && (argc == 4 || (argc == 5 && !strcmp(argv[4], "e")))) {
		long type = num(argv[3], LONG_MIN, LONG_MAX);
		int flg = argc == 5 ? MSG_EXCEPT : 0;
		struct ripc_version v = { .size = sizeof(v) };
		/* Room for the largest message the namespace lets in (msgmax). */
		size_t max = ripc_version(&v) ? 8192 : v.limits.msgmax;
		struct { long mtype; char mtext[]; } *m = malloc(sizeof(*m) + max), *more;
		ssize_t n;

		if (!m)
			return fail("malloc");
		if ((id = msgq(argv[2], 0)) < 0)
			return fail("msgget");
		/* A message queued before msgmax was lowered is longer: more room. */
		while ((n = ripc_msgrcv_clock(id, m, max, type, flg, tmo.clock, tmo.flags,
					      tmo.ts)) < 0 && errno == E2BIG && max < INT_MAX / 2) {
			max = max ? max * 2 : 8192;	/* msgmax may be 0 */
			more = realloc(m, sizeof(*m) + max);
			if (!more)
				return fail("malloc");
			m = more;
		}
		if (n < 0)
			return fail("msgrcv");
		printf("[pid %d] received type %ld: %.*s\n", getpid(), m->mtype, (int)n, m->mtext);
		free(m);
		return 0;
	}
	if (!strcmp(cmd, "stat"))
		return stat_cmd(argc, argv);
	if (!strcmp(cmd, "top"))
		return top_cmd(argc, argv);
	if (!strcmp(cmd, "msg-rm") && argc == 3) {
		if ((id = msgq(argv[2], 0)) < 0 || ripc_msgctl(id, IPC_RMID, NULL))
			return fail("msgctl(IPC_RMID)");
		return 0;
	}
	if (!strcmp(cmd, "peek") && (argc == 3 || argc == 4))
		return peek(argv[2], argc == 4 ? (unsigned long)num(argv[3], 0, LONG_MAX) : 0,
			    argc == 3);
	if (!strcmp(cmd, "dump") && argc == 2)
		return dump();
	if (!strcmp(cmd, "restore") && argc == 2)
		return restore();
	return fail_usage();
}
