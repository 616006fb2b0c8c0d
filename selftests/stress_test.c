// SPDX-License-Identifier: GPL-2.0
/*
 * Stress: many processes moving checksummed messages over both queue
 * families at once, with signal storms, SIGKILLs and queues destroyed under
 * their users, then strict accounting.  Runs on rust_ipc and, with the same
 * code, on the native queues (which proves the harness itself).
 *
 *   STRESS_MSGS=n   messages of the two main streams together (default 4000;
 *                   `make stress` runs 1000000 on the debug kernel)
 *   STRESS_SEED=n   the random seed (printed; default: the time); it fixes
 *                   each process's choices, not the interleaving
 *   STRESS_STALL=s  seconds without any message moved that count as a hang
 *                   (default 120)
 *
 * What runs at once (one test per backend, `-v ripc` or `-v native`):
 *
 * - Main POSIX stream: MQ_PROD producers send STRESS_MSGS/2 messages to one
 *   queue (10 x 8192), MQ_CONS consumers receive them.  Main System V
 *   stream: the same with MSG_PROD/MSG_CONS over one queue (qbytes 16384).
 *   Every message has a header (stream, producer, class = priority index or
 *   type - 1, sequence number per (producer, class), index per producer,
 *   length) and a 64-bit checksum over header and payload; sizes are random
 *   up to the maximum (8192), with the segment edges (248, 4048, 4096,
 *   8136, ...) favoured, so a quarter of the messages span several pages.
 *   Each call is, at random, blocking, non-blocking (retried on EAGAIN or
 *   ENOMSG) or timed (deadlines in the past, a few ms ahead, or 1 s ahead;
 *   retried on ETIMEDOUT; System V timed calls are rust_ipc's timeout
 *   extension, so the native run has none).  System V consumers receive by
 *   type 0, by a positive type, by a negative type, with MSG_EXCEPT, into a
 *   64-byte buffer (E2BIG: the message must stay queued), and peek with
 *   MSG_COPY; consumer 0 takes type 0 only, which guarantees progress.
 *   A consumer verifies length and checksum, that the priority or type
 *   matches the header (and the type the mode asked for), that sequence
 *   numbers per (producer, class) strictly increase in what it receives,
 *   and claims the message in a shared owner table (a second claim is a
 *   duplicate).  The end is signalled by stop messages queued after all
 *   data (priority 0; for System V, one per consumer and type).  At the end
 *   every message must have been received exactly once, the POSIX queue
 *   must be empty and the System V queue must hold only the stop messages
 *   nobody needed.
 *
 * - Signal storm: a signaller sends SIGUSR1 (single and in bursts) to the
 *   main producers and consumers, half of which have their handler with
 *   SA_RESTART.  EINTR is retried; a POSIX call under SA_RESTART must never
 *   fail with EINTR (the native call restarts); msgsnd/msgrcv fail with
 *   EINTR with a handler whatever SA_RESTART (they are never restarted).
 *
 * - Kill streams (one per family): a supervisor runs one producer and
 *   K_CONS consumers on their own queue (same message mix, same checks) and
 *   SIGKILLs one of them at a random time (up to 20 ms + STRESS_MSGS us
 *   apart), then starts a new one in its place; the stream goes on while
 *   the main streams run and until MIN_KILLS kills (at least
 *   max(200, STRESS_MSGS/20) messages, at most max(4000, STRESS_MSGS/10)).  Each
 *   victim publishes its state in shared memory around each call, and a
 *   consumer receives into a shared buffer whose header it clears first,
 *   so the accounting stays exact: a producer killed in a send makes that
 *   one message "maybe sent" (its successor goes on with the next index
 *   and sequence number, so nothing is sent twice); a consumer killed
 *   inside a receive either has the whole message in its buffer (a receive
 *   that took a message completes its copy before the kill takes effect),
 *   which the supervisor verifies and records, or took none; one killed
 *   before recording what it verified has it recorded by the supervisor.
 *   At the end: every message sent for sure was received exactly once,
 *   a "maybe sent" one at most once, nothing corrupted.
 *
 * - Scratch queues destroyed under their users: POSIX hammers (two
 *   threads: one calls timed/non-blocking send, receive and getattr in a
 *   loop, the other close()s the descriptor at random) while an unlinker
 *   unlinks, creates and opens the names; System V hammers (blocking,
 *   non-blocking and timed msgsnd/msgrcv, IPC_STAT, IPC_RMID) while a
 *   remover IPC_RMIDs the keys' queues.  Each call must succeed or fail
 *   with exactly the errno the situation allows (EBADF after close,
 *   EIDRM for a sleeper whose queue is removed, EINVAL for a stale id, and
 *   EINVAL again on the next call with that id, ENOENT/EEXIST for names),
 *   and nobody may hang.
 *
 * A stall detector fails the test (and names the processes that sleep,
 * with their kernel wait channel) when no message moves for STRESS_STALL
 * seconds.  The test prints "# ..." lines with what moved and what held.
 */
#include "ripc_test.h"

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>

#define MSGMAX 8192		/* mq_msgsize and msgmax */
#define MQ_MAXMSG 10
#define NPRIO 5
#define NTYPE 4			/* System V types 1..NTYPE */
#define NCLS 5			/* max(NPRIO, NTYPE) */
#define STOP 0xffff		/* class of a stop message */
#define MAGIC 0x53545253u

#define MQ_PROD 3
#define MQ_CONS 3
#define MSG_PROD 3
#define MSG_CONS 3
#define MAX_PROD 3
#define K_CONS 2		/* consumers per kill stream */
#define MIN_KILLS 20		/* per kill stream, if it can hold enough messages */
#define MQ_HAMMERS 2
#define MSG_HAMMERS 3
#define NSCR 2			/* scratch names / keys */

static const unsigned int prios[NPRIO] = { 0, 1, 9, 31, 32767 };

/* ---- backends ---------------------------------------------------------- */

struct backend {
	const char *name;
	int (*probe)(void);
	mqd_t (*mq_open)(const char *name, int oflag, ...);
	int (*mq_close)(mqd_t mqd);
	int (*mq_unlink)(const char *name);
	int (*mq_send)(mqd_t mqd, const char *p, size_t len, unsigned int prio);
	int (*mq_timedsend)(mqd_t mqd, const char *p, size_t len, unsigned int prio,
			    const struct timespec *abs);
	ssize_t (*mq_receive)(mqd_t mqd, char *p, size_t len, unsigned int *prio);
	ssize_t (*mq_timedreceive)(mqd_t mqd, char *p, size_t len, unsigned int *prio,
				   const struct timespec *abs);
	int (*mq_getattr)(mqd_t mqd, struct mq_attr *attr);
	int (*msgget)(key_t key, int msgflg);
	int (*msgsnd)(int msqid, const void *msgp, size_t msgsz, int msgflg);
	ssize_t (*msgrcv)(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg);
	int (*msgctl)(int msqid, int cmd, struct msqid_ds *buf);
	/* msgsnd/msgrcv with an absolute CLOCK_REALTIME deadline, or NULL. */
	int (*msgsnd_until)(int msqid, const void *msgp, size_t msgsz, int msgflg,
			    const struct timespec *abs);
	ssize_t (*msgrcv_until)(int msqid, void *msgp, size_t msgsz, long msgtyp,
				int msgflg, const struct timespec *abs);
};

static int native_probe(void)
{
	struct mq_attr a;

	if (mq_getattr(-1, &a) < 0 && errno == ENOSYS)
		return -1;
	return msgctl(-1, IPC_STAT, NULL) < 0 && errno == ENOSYS ? -1 : 0;
}

static int ripc_probe(void)
{
	return have_device() ? 0 : -1;
}

/* rust_ipc's RIPC_MSGSND/RIPC_MSGRCV with their timeout (an extension). */
static int ripc_msgsnd_until(int msqid, const void *msgp, size_t msgsz, int msgflg,
			     const struct timespec *abs)
{
	struct ripc_msgsnd a = {
		.size = sizeof(a), .msqid = msqid, .msgflg = msgflg,
		.msgp = (uintptr_t)msgp, .msgsz = (__s64)msgsz, .timeout = (uintptr_t)abs,
	};
	int fd = ripc_device_fd();

	if (fd < 0)
		return -1;
	return ioctl(fd, RIPC_MSGSND, &a) < 0 ? -1 : 0;
}

static ssize_t ripc_msgrcv_until(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg,
				 const struct timespec *abs)
{
	struct ripc_msgrcv a = {
		.size = sizeof(a), .msqid = msqid, .msgflg = msgflg, .msgp = (uintptr_t)msgp,
		.msgsz = (__s64)msgsz, .msgtyp = msgtyp, .timeout = (uintptr_t)abs,
	};
	int fd = ripc_device_fd();

	if (fd < 0)
		return -1;
	return ioctl(fd, RIPC_MSGRCV, &a);
}

static const struct backend native_be = {
	"native", native_probe, mq_open, mq_close, mq_unlink, mq_send, mq_timedsend,
	mq_receive, mq_timedreceive, mq_getattr, msgget, msgsnd, msgrcv, msgctl, NULL, NULL,
};

static const struct backend ripc_be = {
	"rust_ipc", ripc_probe, ripc_mq_open, ripc_mq_close, ripc_mq_unlink, ripc_mq_send,
	ripc_mq_timedsend, ripc_mq_receive, ripc_mq_timedreceive, ripc_mq_getattr,
	ripc_msgget, ripc_msgsnd, ripc_msgrcv, ripc_msgctl, ripc_msgsnd_until, ripc_msgrcv_until,
};

/* ---- shared state ------------------------------------------------------ */

enum { ST_MQ, ST_MSG, ST_KMQ, ST_KMSG, NSTREAMS, ST_SCR = NSTREAMS };
static const char *const stream_name[] = { "POSIX", "System V", "POSIX kill", "System V kill" };

static int is_sysv(int stream)
{
	return stream == ST_MSG || stream == ST_KMSG;
}

struct stream {
	uint32_t nprod, per_prod;
	size_t owner_off;	/* into S->words: uint32_t owner[nprod * per_prod] */
	long moved, bytes, stops;
};

/* struct msgbuf with room for the largest message. */
struct mbuf {
	long mtype;
	union {
		char text[MSGMAX + 64];
		uint64_t align;
	};
};

/* A kill-stream process's published state (see the top comment). */
enum { K_IDLE, K_SENDING, K_RECEIVING, K_GOT, K_RECORDED };

struct kslot {
	int state;
	uint32_t cur;		/* index sent or received */
	uint32_t cur_cls;	/* its class (producer) */
	uint32_t owner;		/* the consumer's owner id */
	uint32_t next;		/* producer: next index to send */
	uint32_t seq[NCLS];	/* producer: next sequence number per class */
	struct mbuf m;		/* consumer: its receive buffer, seen by the supervisor */
};

struct kstate {
	struct kslot slot[1 + K_CONS];
	size_t maybe_off;	/* into S->words: bitmap of "maybe sent" indexes */
	long kills, kills_blocked, kills_prod_sending, kills_in_receive, kills_recovered;
	long kills_got, missing, missing_maybe;
	uint32_t sent;		/* messages the producer went through */
};

enum counter {
	C_PROGRESS, C_EINTR_MQ, C_EINTR_MSG, C_SIG_SENT, C_SIG_HANDLED, C_ETIMEDOUT,
	C_EAGAIN, C_ENOMSG, C_E2BIG, C_COPY, C_COPY_ENOMSG, C_BLOCKED_CALLS,
	C_SCR_MOVED, C_SCR_OPS, C_SCR_CLOSES, C_SCR_EBADF, C_SCR_UNLINKS, C_SCR_ENOENT,
	C_SCR_EEXIST, C_SCR_RMIDS, C_SCR_EIDRM, C_SCR_EINVAL, C_SCR_STALE, C_SCR_TIMEOUTS,
	NCOUNTERS
};

#define MAX_TARGETS 16

struct shm {
	int failed;
	char why[512];
	uint64_t seed;
	int stall_s;
	int kill_gap_us;	/* longest time between two kills */
	uint32_t kill_min;	/* a kill stream sends at least this many, */
	int main_done;		/* and goes on until the main producers are done */
				/* and MIN_KILLS victims were killed (or it is full) */
	long cnt[NCOUNTERS];
	int copy_unsupported;
	uint32_t next_owner;
	int sig_stop, scratch_stop, msg_hammers_left;
	unsigned long qbytes;	/* of a new System V queue */
	pid_t targets[MAX_TARGETS];
	int ntargets;
	char mq_name[NSTREAMS][48];
	int msqid[NSTREAMS];
	char scr_name[NSCR][48];
	key_t scr_key[NSCR];
	struct stream st[NSTREAMS];
	struct kstate ks[2];
	size_t nwords;
	uint64_t words[];
};

static struct shm *S;
static const struct backend *B;
static uint64_t rng;
static const char *who = "test";
static int restart;		/* this process's SIGUSR1 handler has SA_RESTART */
static pid_t forker;		/* the process that forked this one */

#define ADD(x, n) __atomic_add_fetch(&(x), (n), __ATOMIC_RELAXED)
#define CNT(c) ADD(S->cnt[c], 1)
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	char m[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	if (!__atomic_exchange_n(&S->failed, 1, __ATOMIC_SEQ_CST))
		snprintf(S->why, sizeof(S->why), "%s (%s, pid %d)", m, who, getpid());
	fprintf(stderr, "# stress: %s (pid %d): %s\n", who, getpid(), m);
	_exit(1);
}

static const char *en(int e)
{
	return strerrorname_np(e) ?: "0";
}

static void on_usr1(int sig)
{
	(void)sig;
	CNT(C_SIG_HANDLED);
}

/* Start of every forked process: name, seed, death with the parent. */
static void child_init(const char *name, uint64_t salt, int handler)
{
	who = name;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != forker)
		_exit(1);	/* it died already */
	rng = (S->seed ^ (salt * 0x9e3779b97f4a7c15ull)) | 1;
	for (int i = 0; i < 8; i++)
		rnd();
	if (handler) {
		struct sigaction sa = { .sa_handler = on_usr1 };

		restart = handler == 2;
		sa.sa_flags = restart ? SA_RESTART : 0;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
	}
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* proc_state() ('?' if unknown), and /proc/PID/wchan into wchan if given. */
static char state_and_wchan(pid_t pid, char *wchan, size_t wlen)
{
	char path[64], st;
	ssize_t n;
	int fd;

	if (wchan) {
		wchan[0] = 0;
		snprintf(path, sizeof(path), "/proc/%d/wchan", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, wchan, wlen - 1);
			wchan[n > 0 ? n : 0] = 0;
			close(fd);
		}
	}
	st = proc_state(pid);
	return st ? st : '?';
}

/* ---- messages ---------------------------------------------------------- */

struct hdr {
	uint32_t magic;
	uint16_t stream;
	uint16_t prod;
	uint16_t cls;		/* priority index / type - 1, or STOP */
	uint16_t pad;
	uint32_t seq;		/* per (producer, class); a stop's type */
	uint32_t idx;		/* per producer */
	uint32_t len;		/* of the whole message */
	uint64_t sum;
};

#define HDR ((size_t)sizeof(struct hdr))

/* A 64-bit word-wise checksum of the message with its sum field as 0. */
static uint64_t msg_sum(const void *p, size_t len)
{
	const unsigned char *b = p;
	uint64_t x = 0xcbf29ce484222325ull, w;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		if (i == offsetof(struct hdr, sum))
			continue;
		memcpy(&w, b + i, 8);
		x = (x ^ w) * 0x100000001b3ull;
		x ^= x >> 29;
	}
	for (; i < len; i++)
		x = (x ^ b[i]) * 0x100000001b3ull;
	return x ^ len;
}

static void build(void *buf, int stream, unsigned int prod, unsigned int cls, uint32_t seq,
		  uint32_t idx, size_t len)
{
	struct hdr *h = buf;
	unsigned char *b = buf;
	uint64_t s = rnd() | 1;

	for (size_t i = HDR; i < len; i += 8) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		memcpy(b + i, &s, len - i < 8 ? len - i : 8);
	}
	*h = (struct hdr){ MAGIC, (uint16_t)stream, (uint16_t)prod, (uint16_t)cls, 0, seq, idx,
			   (uint32_t)len, 0 };
	h->sum = msg_sum(buf, len);
}

/* Random sizes up to the maximum, the segment edges favoured. */
static size_t pick_len(void)
{
	static const unsigned short edge[] = {
		HDR, HDR + 1, 63, 64, 65, 248, 249, 256, 4047, 4048, 4049, 4095, 4096, 4097,
		4104, 8135, 8136, 8137, 8191, MSGMAX,
	};
	uint64_t r = rnd();

	switch (r % 8) {
	case 0:
		return edge[(r >> 8) % ARRAY_SIZE(edge)];
	case 1: case 2: case 3:
		return HDR + (r >> 8) % (MSGMAX - HDR + 1);
	default:
		return HDR + (r >> 8) % 480;
	}
}

/* Checks a received message: length, header, checksum. */
static const struct hdr *verify(const void *buf, ssize_t n, int stream)
{
	const struct hdr *h = buf;
	const struct stream *st = stream < NSTREAMS ? &S->st[stream] : NULL;

	if (n < (ssize_t)HDR)
		fail("%s: received %zd bytes, shorter than any message sent", stream < NSTREAMS ?
		     stream_name[stream] : "scratch", n);
	if (h->magic != MAGIC || h->stream != stream)
		fail("%s: received a message with magic %#x stream %u", stream < NSTREAMS ?
		     stream_name[stream] : "scratch", h->magic, h->stream);
	if (h->len != n)
		fail("%s: producer %u message %u: %zd bytes received, %u sent",
		     stream < NSTREAMS ? stream_name[stream] : "scratch", h->prod, h->idx, n, h->len);
	if (h->sum != msg_sum(buf, n))
		fail("%s: producer %u message %u (%zd bytes): checksum mismatch (corrupted)",
		     stream < NSTREAMS ? stream_name[stream] : "scratch", h->prod, h->idx, n);
	if (!st || h->cls == STOP)
		return h;
	if (h->prod >= st->nprod || h->idx >= st->per_prod ||
	    h->cls >= (is_sysv(stream) ? NTYPE : NPRIO))
		fail("%s: header out of range: producer %u index %u class %u", stream_name[stream],
		     h->prod, h->idx, h->cls);
	return h;
}

static uint32_t *owners(int stream)
{
	return (uint32_t *)(S->words + S->st[stream].owner_off);
}

/* Claims a message for owner id; a second claim is a duplicate. */
static int claim(int stream, unsigned int prod, uint32_t idx, uint32_t owner, uint32_t *prev)
{
	uint32_t *o = owners(stream) + (size_t)prod * S->st[stream].per_prod + idx;

	*prev = 0;
	return __atomic_compare_exchange_n(o, prev, owner, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static void record(int stream, const struct hdr *h, uint32_t owner)
{
	uint32_t prev;

	if (!claim(stream, h->prod, h->idx, owner, &prev))
		fail("%s: producer %u message %u (class %u seq %u) received twice (owners %u and %u)",
		     stream_name[stream], h->prod, h->idx, h->cls, h->seq, prev, owner);
	ADD(S->st[stream].moved, 1);
	ADD(S->st[stream].bytes, h->len);
	CNT(C_PROGRESS);
}

/* ---- one send / one receive, in a random mode, retried -------------------- */

static struct timespec pick_deadline(void)
{
	static const short ms[] = { -1, 0, 1, 2, 5, 1000 };

	return deadline_ms(ms[rnd() % ARRAY_SIZE(ms)]);
}

/* qb: blocking descriptor, qn: O_NONBLOCK descriptor of the same queue. */
static void mq_put(mqd_t qb, mqd_t qn, const void *buf, size_t len, unsigned int prio)
{
	for (;;) {
		int mode = rnd() % 3, r, e;
		struct timespec ts = pick_deadline();

		if (mode == 0)
			r = B->mq_send(qb, buf, len, prio);
		else if (mode == 1)
			r = B->mq_send(qn, buf, len, prio);
		else
			r = B->mq_timedsend(qb, buf, len, prio, &ts);
		if (!r)
			return;
		e = errno;
		if (e == EINTR && mode != 1 && !restart) {
			CNT(C_EINTR_MQ);
		} else if (e == EAGAIN && mode == 1) {
			CNT(C_EAGAIN);
			sched_yield();
		} else if (e == ETIMEDOUT && mode == 2) {
			CNT(C_ETIMEDOUT);
		} else {
			fail("mq_%ssend of %zu bytes: %s%s", mode == 2 ? "timed" : mode ? "(nonblock) " : "",
			     len, en(e), e == EINTR ? " under SA_RESTART (must restart)" : "");
		}
	}
}

static ssize_t mq_get(mqd_t qb, mqd_t qn, void *buf, unsigned int *prio)
{
	for (;;) {
		int mode = rnd() % 3, e;
		size_t sz = MSGMAX + (rnd() % 4 ? 0 : rnd() % 64);
		struct timespec ts = pick_deadline();
		ssize_t n;

		if (mode == 0)
			n = B->mq_receive(qb, buf, sz, prio);
		else if (mode == 1)
			n = B->mq_receive(qn, buf, sz, prio);
		else
			n = B->mq_timedreceive(qb, buf, sz, prio, &ts);
		if (n >= 0)
			return n;
		e = errno;
		if (e == EINTR && mode != 1 && !restart) {
			CNT(C_EINTR_MQ);
		} else if (e == EAGAIN && mode == 1) {
			CNT(C_EAGAIN);
			sched_yield();
		} else if (e == ETIMEDOUT && mode == 2) {
			CNT(C_ETIMEDOUT);
		} else {
			fail("mq_%sreceive: %s%s", mode == 2 ? "timed" : mode ? "(nonblock) " : "", en(e),
			     e == EINTR ? " under SA_RESTART (must restart)" : "");
		}
	}
}

static int wait_mode(void)
{
	return rnd() % (B->msgsnd_until ? 3 : 2);	/* 0 blocking, 1 IPC_NOWAIT, 2 timed */
}

static void msg_put(int id, struct mbuf *m, size_t len)
{
	for (;;) {
		int mode = wait_mode(), r, e;
		struct timespec ts = pick_deadline();

		if (mode == 2)
			r = B->msgsnd_until(id, m, len, 0, &ts);
		else
			r = B->msgsnd(id, m, len, mode ? IPC_NOWAIT : 0);
		if (!r)
			return;
		e = errno;
		if (e == EINTR && mode != 1) {
			CNT(C_EINTR_MSG);
		} else if (e == EAGAIN && mode == 1) {
			CNT(C_EAGAIN);
			sched_yield();
		} else if (e == ETIMEDOUT && mode == 2) {
			CNT(C_ETIMEDOUT);
		} else {
			fail("msgsnd (%s) of type %ld, %zu bytes: %s",
			     mode == 2 ? "timed" : mode ? "IPC_NOWAIT" : "blocking", m->mtype, len, en(e));
		}
	}
}

/* MSG_COPY of a random position: must be a whole, intact message, or ENOMSG. */
static void msg_peek(int id, int stream)
{
	static struct mbuf peek;	/* never the receive buffer (see account()) */
	struct mbuf *m = &peek;
	ssize_t n;

	if (LOAD(S->copy_unsupported))
		return;
	n = B->msgrcv(id, m, MSGMAX, rnd() % 4, MSG_COPY | IPC_NOWAIT);
	if (n >= 0) {
		const struct hdr *h = verify(m->text, n, stream);

		if (m->mtype != (h->cls == STOP ? (long)h->seq : (long)h->cls + 1))
			fail("MSG_COPY: type %ld for a message of class %u", m->mtype, h->cls);
		CNT(C_COPY);
	} else if (errno == ENOMSG) {
		CNT(C_COPY_ENOMSG);
	} else if (errno == ENOSYS && B == &native_be) {
		STORE(S->copy_unsupported, 1);	/* no CONFIG_CHECKPOINT_RESTORE */
	} else {
		fail("msgrcv(MSG_COPY | IPC_NOWAIT): %s", en(errno));
	}
}

/*
 * One System V receive in a random search mode; the designated consumer
 * takes type 0 only (the others could all wait for types that are not
 * queued while the queue is full of others).
 */
static ssize_t msg_get(int id, int stream, struct mbuf *m, int designated)
{
	for (;;) {
		long typ = 0;
		int flg = 0, mode = wait_mode(), e;
		size_t sz = MSGMAX;
		struct timespec ts = pick_deadline();
		ssize_t n;

		if (!designated) {
			switch (rnd() % 10) {
			case 0: case 1: case 2:
				break;
			case 3: case 4:
				typ = 1 + rnd() % NTYPE;
				break;
			case 5: case 6:
				typ = -(long)(1 + rnd() % NTYPE);
				break;
			case 7:
				typ = 1 + rnd() % NTYPE;
				flg |= MSG_EXCEPT;
				break;
			case 8:
				sz = 64;	/* E2BIG unless the message is small; it stays */
				break;
			default:
				msg_peek(id, stream);
				continue;
			}
		}
		if (sz == MSGMAX && rnd() % 8 == 0)
			flg |= MSG_NOERROR;	/* never truncates: the buffer holds the maximum */
		m->mtype = 0;
		if (mode == 2)
			n = B->msgrcv_until(id, m, sz, typ, flg, &ts);
		else
			n = B->msgrcv(id, m, sz, typ, flg | (mode ? IPC_NOWAIT : 0));
		if (n >= 0) {
			if (m->mtype < 1 || m->mtype > NTYPE ||
			    (typ > 0 && !(flg & MSG_EXCEPT) && m->mtype != typ) ||
			    (typ > 0 && (flg & MSG_EXCEPT) && m->mtype == typ) ||
			    (typ < 0 && m->mtype > -typ))
				fail("msgrcv(type %ld%s) returned a message of type %ld", typ,
				     flg & MSG_EXCEPT ? ", MSG_EXCEPT" : "", m->mtype);
			if ((size_t)n > sz)
				fail("msgrcv into %zu bytes returned %zd", sz, n);
			return n;
		}
		e = errno;
		if (e == EINTR && mode != 1) {
			CNT(C_EINTR_MSG);
		} else if (e == ENOMSG && mode == 1) {
			CNT(C_ENOMSG);
			sched_yield();
		} else if (e == ETIMEDOUT && mode == 2) {
			CNT(C_ETIMEDOUT);
		} else if (e == E2BIG && sz < MSGMAX) {
			CNT(C_E2BIG);
		} else {
			fail("msgrcv(type %ld, flags %#x, %s): %s", typ, flg,
			     mode == 2 ? "timed" : mode ? "IPC_NOWAIT" : "blocking", en(e));
		}
	}
}

/* ---- producers and consumers ------------------------------------------- */

static void open_pair(int stream, int oflag, mqd_t *qb, mqd_t *qn)
{
	*qb = B->mq_open(S->mq_name[stream], oflag);
	*qn = B->mq_open(S->mq_name[stream], oflag | O_NONBLOCK);
	if (*qb < 0 || *qn < 0)
		fail("mq_open(%s): %s", S->mq_name[stream], en(errno));
}

/*
 * Sends the producer's messages; ks (kill streams) publishes the progress so
 * that a successor continues where a killed one stopped.
 */
static void __attribute__((noreturn)) producer(int stream, unsigned int prod, struct kslot *ks)
{
	static struct mbuf m;
	uint32_t seq[NCLS] = { 0 };
	uint32_t idx = 0;
	mqd_t qb = -1, qn = -1;

	if (!is_sysv(stream))
		open_pair(stream, O_WRONLY, &qb, &qn);
	if (ks) {
		idx = LOAD(ks->next);
		for (int c = 0; c < NCLS; c++)
			seq[c] = LOAD(ks->seq[c]);
	}
	for (; idx < S->st[stream].per_prod; idx++) {
		if (ks && idx >= S->kill_min && LOAD(S->main_done) &&
		    LOAD(S->ks[stream - ST_KMQ].kills) >= MIN_KILLS)
			break;
		unsigned int cls = rnd() % (is_sysv(stream) ? NTYPE : NPRIO);
		size_t len = pick_len();

		build(m.text, stream, prod, cls, seq[cls], idx, len);
		if (ks) {
			STORE(ks->cur, idx);
			STORE(ks->cur_cls, cls);
			STORE(ks->state, K_SENDING);
		}
		if (is_sysv(stream)) {
			m.mtype = cls + 1;
			msg_put(S->msqid[stream], &m, len);
		} else {
			mq_put(qb, qn, m.text, len, prios[cls]);
		}
		seq[cls]++;
		if (ks) {
			STORE(ks->seq[cls], seq[cls]);
			STORE(ks->next, idx + 1);
			STORE(ks->state, K_IDLE);
		}
	}
	_exit(0);
}

/* Receives until a stop message; cons 0 is the designated System V one. */
static void __attribute__((noreturn)) consumer(int stream, int cons, struct kslot *ks)
{
	static struct mbuf own;
	static uint32_t next_seq[MAX_PROD][NCLS];	/* lowest sequence number still allowed */
	struct mbuf *mp = ks ? &ks->m : &own;
	uint32_t owner = ADD(S->next_owner, 1);
	mqd_t qb = -1, qn = -1;

	if (!is_sysv(stream))
		open_pair(stream, O_RDONLY, &qb, &qn);
	if (ks) {
		/* Fault the buffer in: a copy to it then cannot fail under SIGKILL. */
		memset(mp, 0, sizeof(*mp));
		STORE(ks->owner, owner);
	}
	for (;;) {
		const struct hdr *h;
		unsigned int prio = ~0u;
		ssize_t n;

		if (ks) {
			/* A header in the buffer now means a message was received. */
			STORE(((struct hdr *)mp->text)->magic, 0);
			STORE(ks->state, K_RECEIVING);
		}
		if (is_sysv(stream))
			n = msg_get(S->msqid[stream], stream, mp, cons == 0);
		else
			n = mq_get(qb, qn, mp->text, &prio);
		h = verify(mp->text, n, stream);
		if (h->cls == STOP) {
			if (is_sysv(stream) ? mp->mtype != (long)h->seq : prio != 0)
				fail("%s: stop message with priority/type %ld", stream_name[stream],
				     is_sysv(stream) ? mp->mtype : (long)prio);
			ADD(S->st[stream].stops, 1);
			if (ks)
				STORE(ks->state, K_IDLE);
			_exit(0);
		}
		if (is_sysv(stream) ? mp->mtype != (long)h->cls + 1 : prio != prios[h->cls])
			fail("%s: producer %u message %u: class %u received with priority/type %ld",
			     stream_name[stream], h->prod, h->idx, h->cls,
			     is_sysv(stream) ? mp->mtype : (long)prio);
		if (h->seq < next_seq[h->prod][h->cls])
			fail("%s: producer %u %s %u: sequence number %u after %u (order broken)",
			     stream_name[stream], h->prod, is_sysv(stream) ? "type" : "priority",
			     is_sysv(stream) ? h->cls + 1u : prios[h->cls], h->seq,
			     next_seq[h->prod][h->cls] - 1);
		next_seq[h->prod][h->cls] = h->seq + 1;
		if (ks) {
			STORE(ks->cur, h->idx);
			STORE(ks->state, K_GOT);
		}
		record(stream, h, owner);
		if (ks)
			STORE(ks->state, K_RECORDED);
	}
}

/* Queues the stop messages of a stream (after all its data). */
static void send_stops(int stream, int ncons)
{
	static struct mbuf m;

	if (is_sysv(stream)) {
		for (int t = 1; t <= NTYPE; t++)
			for (int i = 0; i < ncons; i++) {
				build(m.text, stream, 0, STOP, t, 0, HDR);
				m.mtype = t;
				msg_put(S->msqid[stream], &m, HDR);
			}
	} else {
		mqd_t qb, qn;

		open_pair(stream, O_WRONLY, &qb, &qn);
		for (int i = 0; i < ncons; i++) {
			build(m.text, stream, 0, STOP, 0, 0, HDR);
			mq_put(qb, qn, m.text, HDR, 0);
		}
		B->mq_close(qb);
		B->mq_close(qn);
	}
}

/*
 * After every consumer stopped: the POSIX queue must be empty, the System V
 * queue must hold exactly the stop messages nobody took.  Returns 0 or fails.
 */
static void drain_check(int stream, int ncons)
{
	static struct mbuf m;
	long stops = 0;
	ssize_t n;

	if (is_sysv(stream)) {
		while ((n = B->msgrcv(S->msqid[stream], &m, MSGMAX, 0, IPC_NOWAIT)) >= 0) {
			const struct hdr *h = verify(m.text, n, stream);

			if (h->cls != STOP)
				fail("%s: producer %u message %u still queued after the consumers stopped",
				     stream_name[stream], h->prod, h->idx);
			stops++;
		}
		if (errno != ENOMSG)
			fail("%s: draining: %s", stream_name[stream], en(errno));
		if (stops != (long)ncons * (NTYPE - 1))
			fail("%s: %ld stop messages left, expected %d", stream_name[stream], stops,
			     ncons * (NTYPE - 1));
	} else {
		mqd_t q = B->mq_open(S->mq_name[stream], O_RDONLY | O_NONBLOCK);
		unsigned int prio;

		if (q < 0)
			fail("mq_open(%s): %s", S->mq_name[stream], en(errno));
		n = B->mq_receive(q, m.text, MSGMAX, &prio);
		if (n >= 0 || errno != EAGAIN)
			fail("%s: queue not empty after the consumers stopped (%zd, %s)",
			     stream_name[stream], n, en(errno));
		B->mq_close(q);
	}
}

/* ---- signal storm ------------------------------------------------------- */

static void __attribute__((noreturn)) signaller(void)
{
	while (!LOAD(S->sig_stop)) {
		int n = LOAD(S->ntargets), burst = rnd() % 8 ? 1 : 8;
		pid_t pid = n ? LOAD(S->targets[rnd() % n]) : 0;

		for (int i = 0; pid > 0 && i < burst; i++)
			if (!kill(pid, SIGUSR1))
				CNT(C_SIG_SENT);
		sleep_us(rnd() % 4000);
	}
	_exit(0);
}

/* ---- kill streams -------------------------------------------------------- */

static pid_t spawn_victim(int stream, int slot, uint64_t salt)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	forker = getpid();
	pid = fork();
	if (pid < 0)
		fail("fork: %s", en(errno));
	if (pid == 0) {
		struct kslot *ks = &S->ks[stream - ST_KMQ].slot[slot];

		/* SIGUSR1 stays ignored: the storm is for the main streams. */
		child_init(slot ? "kill-stream consumer" : "kill-stream producer", salt, 0);
		if (slot == 0)
			producer(stream, 0, ks);
		consumer(stream, slot - 1, ks);
	}
	return pid;
}

/* Accounts for a victim killed in its published state, and resets it. */
static void account(int stream, int slot)
{
	struct kstate *k = &S->ks[stream - ST_KMQ];
	struct kslot *s = &k->slot[slot];
	int state = LOAD(s->state);
	uint32_t prev;

	if (slot == 0 && state == K_SENDING) {
		/* The message may or may not be queued: never send that index again. */
		uint32_t cur = LOAD(s->cur);

		S->words[k->maybe_off + cur / 64] |= 1ull << (cur % 64);
		k->kills_prod_sending++;
		STORE(s->seq[s->cur_cls], s->seq[s->cur_cls] + 1);
		STORE(s->next, cur + 1);
	} else if (slot && state == K_RECEIVING) {
		/*
		 * A receive either takes a message and copies all of it to the
		 * buffer before the kill takes effect (on the way back to user
		 * space), or takes none: so a header in the buffer is a message
		 * received, and an empty buffer is none.
		 */
		const struct hdr *h = (const struct hdr *)s->m.text;

		k->kills_in_receive++;
		if (LOAD(h->magic)) {
			if (h->len < HDR || h->len > MSGMAX)
				fail("%s: a killed consumer's buffer holds a %u-byte header",
				     stream_name[stream], h->len);
			verify(s->m.text, h->len, stream);
			if (h->cls == STOP)
				fail("%s: a stop message before the end", stream_name[stream]);
			if (!claim(stream, 0, h->idx, s->owner, &prev))
				fail("%s: message %u received twice (owners %u and %u)",
				     stream_name[stream], h->idx, prev, s->owner);
			ADD(S->st[stream].moved, 1);
			CNT(C_PROGRESS);
			k->kills_recovered++;
		}
	} else if (slot && state == K_GOT) {
		/* Took and verified message cur; it may have claimed it already. */
		if (claim(stream, 0, s->cur, s->owner, &prev)) {
			ADD(S->st[stream].moved, 1);
			CNT(C_PROGRESS);
		} else if (prev != s->owner) {
			fail("%s: message %u received twice (owners %u and %u)", stream_name[stream],
			     s->cur, prev, s->owner);
		}
		k->kills_got++;
	}
	STORE(s->state, K_IDLE);
}

static void __attribute__((noreturn)) supervisor(int stream)
{
	struct kstate *k = &S->ks[stream - ST_KMQ];
	pid_t pid[1 + K_CONS];
	uint64_t spawns = 0;
	int status;

	for (int i = 0; i <= K_CONS; i++)
		pid[i] = spawn_victim(stream, i, ((uint64_t)stream << 32) + spawns++);
	for (;;) {
		int v, r;
		char st;

		sleep_us(rnd() % S->kill_gap_us);
		if (LOAD(S->failed))
			_exit(1);
		r = waitpid(pid[0], &status, WNOHANG);
		if (r == pid[0]) {
			if (!WIFEXITED(status) || WEXITSTATUS(status))
				fail("%s: the producer died (status %#x)", stream_name[stream], status);
			break;
		}
		for (int i = 1; i <= K_CONS; i++)
			if (waitpid(pid[i], &status, WNOHANG) == pid[i])
				fail("%s: consumer ended early (status %#x)", stream_name[stream], status);
		v = rnd() % (1 + K_CONS);
		st = state_and_wchan(pid[v], NULL, 0);
		kill(pid[v], SIGKILL);
		if (waitpid(pid[v], &status, 0) != pid[v])
			fail("waitpid: %s", en(errno));
		if (v == 0 && WIFEXITED(status) && !WEXITSTATUS(status))
			break;		/* the producer finished first */
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
			fail("%s: %s ended with status %#x", stream_name[stream],
			     v ? "a consumer" : "the producer", status);
		ADD(k->kills, 1);
		if (st == 'S')
			k->kills_blocked++;
		account(stream, v);
		pid[v] = spawn_victim(stream, v, ((uint64_t)stream << 32) + spawns++);
	}
	send_stops(stream, K_CONS);
	for (int i = 1; i <= K_CONS; i++)
		if (waitpid(pid[i], &status, 0) != pid[i] || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			fail("%s: consumer ended with status %#x", stream_name[stream], status);
	drain_check(stream, K_CONS);
	k->sent = LOAD(k->slot[0].next);
	for (uint32_t i = k->sent; i < S->st[stream].per_prod; i++)
		if (owners(stream)[i])
			fail("%s: message %u received, but never sent", stream_name[stream], i);
	for (uint32_t i = 0; i < k->sent; i++) {
		if (owners(stream)[i])
			continue;
		if (S->words[k->maybe_off + i / 64] & (1ull << (i % 64)))
			k->missing_maybe++;
		else
			k->missing++;
	}
	if (k->missing)
		fail("%s: %ld messages lost (sent for sure, never received)", stream_name[stream],
		     k->missing);
	_exit(0);
}

/* ---- scratch queues destroyed under their users --------------------------- */

struct mq_hammer {
	int fd;
	int closed;		/* set after close(fd), cleared after a new open */
	int stop;
	uint64_t seed;
};

static void *mq_closer(void *arg)
{
	struct mq_hammer *h = arg;
	uint64_t r = h->seed;	/* its own generator: rng is the other thread's */

	while (!LOAD(h->stop)) {
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		sleep_us(r % 40000);
		if (LOAD(h->closed))
			continue;
		if (close(LOAD(h->fd)))
			fail("close of a queue descriptor: %s", en(errno));
		CNT(C_SCR_CLOSES);
		STORE(h->closed, 1);
	}
	return NULL;
}

static mqd_t scr_open(int *nonblock)
{
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = MSGMAX };
	const char *name = S->scr_name[rnd() % NSCR];
	mqd_t q;

	*nonblock = rnd() % 2;
	q = B->mq_open(name, O_RDWR | O_CREAT | (*nonblock ? O_NONBLOCK : 0), 0600, &a);
	if (q < 0)
		fail("mq_open(%s, O_CREAT): %s", name, en(errno));
	return q;
}

static void __attribute__((noreturn)) mq_hammer(void)
{
	static struct mq_hammer h;
	static struct mbuf m;
	pthread_t t;
	int nonblock;

	h.fd = scr_open(&nonblock);
	h.seed = rnd() | 1;
	if (pthread_create(&t, NULL, mq_closer, &h))
		fail("pthread_create");
	while (!LOAD(S->scratch_stop)) {
		sleep_us(rnd() % 16000);	/* a background load, not the main one */

		int was_closed = LOAD(h.closed), op = rnd() % 3, e;
		struct timespec ts = deadline_ms(rnd() % 4);
		struct mq_attr a;
		unsigned int prio;
		ssize_t n;
		size_t len;

		CNT(C_SCR_OPS);
		if (op == 0) {
			len = pick_len();
			build(m.text, ST_SCR, 0, 0, 0, 0, len);
			n = B->mq_timedsend(h.fd, m.text, len, rnd() % 4, &ts);
		} else if (op == 1) {
			n = B->mq_timedreceive(h.fd, m.text, MSGMAX, &prio, &ts);
			if (n >= 0) {
				verify(m.text, n, ST_SCR);
				CNT(C_SCR_MOVED);
				CNT(C_PROGRESS);
			}
		} else {
			n = B->mq_getattr(h.fd, &a);
			if (!n && (a.mq_maxmsg != 4 || a.mq_msgsize != MSGMAX ||
				   (a.mq_flags & O_NONBLOCK) != (nonblock ? O_NONBLOCK : 0)))
				fail("mq_getattr: maxmsg %ld msgsize %ld flags %#lx", a.mq_maxmsg,
				     a.mq_msgsize, a.mq_flags);
		}
		e = n < 0 ? errno : 0;
		if (was_closed && e != EBADF)
			fail("op %d on a closed queue descriptor: %s, expected EBADF", op, en(e));
		if (e == EBADF) {
			CNT(C_SCR_EBADF);
			while (!LOAD(h.closed))	/* the closer is between close() and the flag */
				sched_yield();
			STORE(h.fd, scr_open(&nonblock));
			STORE(h.closed, 0);
		} else if (e == (nonblock ? EAGAIN : ETIMEDOUT) && op < 2) {
			CNT(C_SCR_TIMEOUTS);
		} else if (e) {
			fail("scratch %s: %s", op == 0 ? "mq_timedsend" : op == 1 ? "mq_timedreceive" :
			     "mq_getattr", en(e));
		}
	}
	STORE(h.stop, 1);
	pthread_join(t, NULL);
	_exit(0);
}

static void __attribute__((noreturn)) mq_unlinker(void)
{
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = MSGMAX };

	while (!LOAD(S->scratch_stop)) {
		const char *name = S->scr_name[rnd() % NSCR];
		mqd_t q;

		sleep_us(rnd() % 30000);
		switch (rnd() % 3) {
		case 0:
			if (!B->mq_unlink(name))
				CNT(C_SCR_UNLINKS);
			else if (errno == ENOENT)
				CNT(C_SCR_ENOENT);
			else
				fail("mq_unlink(%s): %s", name, en(errno));
			break;
		case 1:
			q = B->mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
			if (q >= 0)
				B->mq_close(q);
			else if (errno == EEXIST)
				CNT(C_SCR_EEXIST);
			else
				fail("mq_open(%s, O_CREAT | O_EXCL): %s", name, en(errno));
			break;
		default:
			q = B->mq_open(name, O_RDONLY);
			if (q >= 0)
				B->mq_close(q);
			else if (errno == ENOENT)
				CNT(C_SCR_ENOENT);
			else
				fail("mq_open(%s): %s", name, en(errno));
		}
	}
	_exit(0);
}

/* Allowed failures of a call on a System V id that may be removed at any time. */
/* wait: 0 blocking (or not a wait), else the errno of IPC_NOWAIT (1) or timed (2) mode. */
static void scr_msg_err(const char *call, int id, int *dead, int e, int wait, int wait_err)
{
	if (*dead && e != EINVAL)
		fail("%s on id %d, removed before: %s, expected EINVAL", call, id, en(e));
	if (*dead)
		CNT(C_SCR_STALE);
	if (e == EIDRM || e == EINVAL) {
		CNT(e == EIDRM ? C_SCR_EIDRM : C_SCR_EINVAL);
		*dead = 1;
	} else if (wait && e == wait_err) {
		CNT(C_SCR_TIMEOUTS);
	} else {
		fail("scratch %s on id %d: %s", call, id, en(e));
	}
}

static void __attribute__((noreturn)) msg_hammer(void)
{
	static struct mbuf m;

	while (!LOAD(S->scratch_stop)) {
		key_t key = S->scr_key[rnd() % NSCR];
		int id = B->msgget(key, IPC_CREAT | 0600), dead = 0;

		if (id < 0)
			fail("msgget(%#x, IPC_CREAT): %s", key, en(errno));
		for (int i = 1 + rnd() % 8; i > 0 && !LOAD(S->scratch_stop); i--) {
			int op = rnd() % 16, mode = wait_mode(), r;
			struct timespec ts = deadline_ms(rnd() % 4);
			struct msqid_ds ds;
			size_t len;
			ssize_t n;

			sleep_us(rnd() % 12000);
			CNT(C_SCR_OPS);
			if (op < 6) {
				len = pick_len();
				build(m.text, ST_SCR, 0, 0, 0, 0, len);
				m.mtype = 1 + rnd() % NTYPE;
				r = mode == 2 ? B->msgsnd_until(id, &m, len, 0, &ts) :
					B->msgsnd(id, &m, len, mode ? IPC_NOWAIT : 0);
				if (r)
					scr_msg_err("msgsnd", id, &dead, errno, mode,
						    mode == 2 ? ETIMEDOUT : EAGAIN);
				else if (dead)
					fail("msgsnd on id %d succeeded after it was removed", id);
			} else if (op < 12) {
				long typ = (long)(rnd() % 3) - 1;

				n = mode == 2 ? B->msgrcv_until(id, &m, MSGMAX, typ, 0, &ts) :
					B->msgrcv(id, &m, MSGMAX, typ, mode ? IPC_NOWAIT : 0);
				if (n >= 0) {
					if (dead)
						fail("msgrcv on id %d succeeded after it was removed", id);
					verify(m.text, n, ST_SCR);
					CNT(C_SCR_MOVED);
					CNT(C_PROGRESS);
				} else {
					scr_msg_err("msgrcv", id, &dead, errno, mode,
						    mode == 2 ? ETIMEDOUT : ENOMSG);
				}
			} else if (op < 15) {
				if (B->msgctl(id, IPC_STAT, &ds))
					scr_msg_err("msgctl(IPC_STAT)", id, &dead, errno, 0, 0);
				else if (dead || ds.msg_qbytes != S->qbytes)
					fail("IPC_STAT on id %d%s: qbytes %lu", id,
					     dead ? " (removed before)" : "", (unsigned long)ds.msg_qbytes);
			} else {
				/* IPC_RMID is serialised with removal: EINVAL, never EIDRM. */
				int r = B->msgctl(id, IPC_RMID, NULL), e = errno;

				if (r && e != EINVAL)
					fail("msgctl(%d, IPC_RMID): %s (expected success or EINVAL)",
					     id, en(e));
				else if (r)
					scr_msg_err("msgctl(IPC_RMID)", id, &dead, EINVAL, 0, 0);
				else if (dead)
					fail("IPC_RMID on id %d succeeded after it was removed", id);
				else
					CNT(C_SCR_RMIDS);
				dead = 1;
			}
		}
	}
	ADD(S->msg_hammers_left, -1);
	_exit(0);
}

static void __attribute__((noreturn)) msg_remover(void)
{
	while (LOAD(S->msg_hammers_left) > 0) {
		key_t key = S->scr_key[rnd() % NSCR];
		int id;

		sleep_us(rnd() % 20000);
		id = B->msgget(key, 0);
		if (id < 0) {
			if (errno != ENOENT)
				fail("msgget(%#x, 0): %s", key, en(errno));
			CNT(C_SCR_ENOENT);
		} else if (!B->msgctl(id, IPC_RMID, NULL)) {
			CNT(C_SCR_RMIDS);
		} else if (errno == EINVAL) {
			CNT(C_SCR_EINVAL);	/* a hammer removed it first */
		} else {
			fail("msgctl(%d, IPC_RMID): %s", id, en(errno));
		}
	}
	_exit(0);
}

/* ---- the test ------------------------------------------------------------ */

enum role {
	R_MQ_PROD, R_MQ_CONS, R_MSG_PROD, R_MSG_CONS, R_SIGNALLER, R_SUPERVISOR, R_MQ_HAMMER,
	R_MQ_UNLINKER, R_MSG_HAMMER, R_MSG_REMOVER, R_STOPPER, NROLES
};
static const char *const role_name[] = {
	"POSIX producer", "POSIX consumer", "System V producer", "System V consumer",
	"signaller", "kill-stream supervisor", "POSIX scratch hammer", "POSIX unlinker",
	"System V scratch hammer", "System V remover", "stop sender",
};

struct kid {
	pid_t pid;
	enum role role;
	int idx;
	int exited;
	int status;
};

#define MAX_KIDS 32

static struct kid kids[MAX_KIDS];
static int nkids;

static void spawn(enum role role, int idx)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	forker = getpid();
	pid = fork();
	if (pid < 0)
		fail("fork: %s", en(errno));
	if (pid == 0) {
		int main_part = role <= R_MSG_CONS;

		child_init(role_name[role], role * 64 + idx + 1, main_part ? 1 + idx % 2 : 0);
		switch (role) {
		case R_MQ_PROD: producer(ST_MQ, idx, NULL);
		case R_MQ_CONS: consumer(ST_MQ, idx, NULL);
		case R_MSG_PROD: producer(ST_MSG, idx, NULL);
		case R_MSG_CONS: consumer(ST_MSG, idx, NULL);
		case R_SIGNALLER: signaller();
		case R_SUPERVISOR: supervisor(idx ? ST_KMSG : ST_KMQ);
		case R_MQ_HAMMER: mq_hammer();
		case R_MQ_UNLINKER: mq_unlinker();
		case R_MSG_HAMMER: msg_hammer();
		case R_MSG_REMOVER: msg_remover();
		case R_STOPPER:
			send_stops(idx ? ST_MSG : ST_MQ, idx ? MSG_CONS : MQ_CONS);
			_exit(0);
		default: _exit(1);
		}
	}
	kids[nkids++] = (struct kid){ .pid = pid, .role = role, .idx = idx };
	if (role <= R_MSG_CONS)
		S->targets[S->ntargets++] = pid;
}

static int left(enum role role)
{
	int n = 0;

	for (int i = 0; i < nkids; i++)
		n += kids[i].role == role && !kids[i].exited;
	return n;
}

static long env_long(const char *name, long def)
{
	const char *s = getenv(name);

	return s && *s ? strtol(s, NULL, 0) : def;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

FIXTURE(stress) {
	size_t shm_len;
};

FIXTURE_VARIANT(stress) {
	const struct backend *be;
};

FIXTURE_VARIANT_ADD(stress, native) { .be = &native_be };
FIXTURE_VARIANT_ADD(stress, ripc) { .be = &ripc_be };

FIXTURE_SETUP(stress)
{
	B = variant->be;
	if (B->probe())
		SKIP(return, "%s message queues unavailable: %s", B->name, en(errno));
}

FIXTURE_TEARDOWN(stress)
{
	if (!S)
		return;
	for (int i = 0; i < NSTREAMS; i++) {
		if (S->mq_name[i][0])
			B->mq_unlink(S->mq_name[i]);
		if (S->msqid[i] > 0)
			B->msgctl(S->msqid[i], IPC_RMID, NULL);
	}
	for (int i = 0; i < NSCR; i++) {
		int id = B->msgget(S->scr_key[i], 0);

		B->mq_unlink(S->scr_name[i]);
		if (id >= 0)
			B->msgctl(id, IPC_RMID, NULL);
	}
}

/* Kills and reaps every child (after a failure). */
static void kill_all(void)
{
	for (int i = 0; i < nkids; i++)
		if (!kids[i].exited)
			kill(kids[i].pid, SIGKILL);
}

/* Names the processes that have not exited, with their state and wait channel. */
static void show_stuck(void)
{
	char wchan[64];

	for (int i = 0; i < nkids; i++)
		if (!kids[i].exited) {
			char st = state_and_wchan(kids[i].pid, wchan, sizeof(wchan));

			printf("#   %s %d (pid %d): state %c, wchan %s\n", role_name[kids[i].role],
			       kids[i].idx, kids[i].pid, st, wchan[0] ? wchan : "?");
		}
	fflush(stdout);
}

TEST_F_TIMEOUT(stress, mixed, 36000)
{
	long msgs = env_long("STRESS_MSGS", 4000);
	uint64_t seed = (uint64_t)env_long("STRESS_SEED", (long)time(NULL) ^ getpid());
	int stall_s = (int)env_long("STRESS_STALL", 120);
	/* A kill stream runs as long as the main streams, within these bounds. */
	uint32_t kill_msgs = msgs / 10 > 4000 ? msgs / 10 : 4000;
	uint32_t kill_min = msgs / 20 > 200 ? msgs / 20 : 200;
	struct mq_attr attr = { .mq_maxmsg = MQ_MAXMSG, .mq_msgsize = MSGMAX };
	size_t words = 0, len;
	int stops_sent[2] = { 0 }, stopped = 0, abort = 0;
	double t0 = now_s(), last_move = t0, last_print = t0, elapsed;
	long last_progress = -1, moved = 0, bytes = 0;
	char fail_why[600] = "";

	ASSERT_LT(0, msgs);
	/* Owner tables of the four streams and the two "maybe sent" bitmaps. */
	uint32_t per_prod[NSTREAMS] = {
		(uint32_t)((msgs / 2 + MQ_PROD - 1) / MQ_PROD),
		(uint32_t)((msgs - msgs / 2 + MSG_PROD - 1) / MSG_PROD),
		kill_msgs, kill_msgs,
	};
	uint32_t nprod[NSTREAMS] = { MQ_PROD, MSG_PROD, 1, 1 };
	size_t owner_off[NSTREAMS], maybe_off[2];

	for (int i = 0; i < NSTREAMS; i++) {
		owner_off[i] = words;
		words += ((size_t)nprod[i] * per_prod[i] * 4 + 7) / 8;
	}
	for (int i = 0; i < 2; i++) {
		maybe_off[i] = words;
		words += (kill_msgs + 63) / 64;
	}
	len = sizeof(struct shm) + words * 8;
	self->shm_len = len;
	S = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, S);
	S->seed = seed;
	S->stall_s = stall_s;
	S->kill_gap_us = 20000 + (msgs < 2000000 ? msgs : 2000000);
	S->kill_min = kill_min;
	S->nwords = words;
	for (int i = 0; i < NSTREAMS; i++) {
		S->st[i] = (struct stream){ .nprod = nprod[i], .per_prod = per_prod[i],
					    .owner_off = owner_off[i] };
		S->msqid[i] = -1;
	}
	for (int i = 0; i < 2; i++)
		S->ks[i].maybe_off = maybe_off[i];
	rng = seed | 1;
	printf("# %s: %ld messages in the main streams, %u to %u in each kill stream, seed %llu "
	       "(STRESS_MSGS, STRESS_SEED)\n", B->name,
	       (long)MQ_PROD * per_prod[ST_MQ] + (long)MSG_PROD * per_prod[ST_MSG], kill_min, kill_msgs,
	       (unsigned long long)seed);
	fflush(stdout);

	/* Queues. */
	for (int i = 0; i < NSTREAMS; i++) {
		int fd;

		snprintf(S->mq_name[i], sizeof(S->mq_name[i]), "/ripc_stress_%d_%d", getpid(), i);
		if (is_sysv(i)) {
			S->msqid[i] = SYS(B->msgget(IPC_PRIVATE, IPC_CREAT | 0600));
			S->mq_name[i][0] = 0;
		} else {
			B->mq_unlink(S->mq_name[i]);
			fd = SYS(B->mq_open(S->mq_name[i], O_RDWR | O_CREAT | O_EXCL, 0600, &attr));
			B->mq_close(fd);
		}
	}
	for (int i = 0; i < NSCR; i++) {
		snprintf(S->scr_name[i], sizeof(S->scr_name[i]), "/ripc_stress_%d_scr%d", getpid(), i);
		S->scr_key[i] = 0x53000000 | (getpid() << 4) | i;
		B->mq_unlink(S->scr_name[i]);
	}
	S->msg_hammers_left = MSG_HAMMERS;
	{
		struct msqid_ds ds;

		SYS(B->msgctl(S->msqid[ST_MSG], IPC_STAT, &ds));
		S->qbytes = ds.msg_qbytes;
	}

	/*
	 * Everything forked inherits SIGUSR1 ignored; the main participants
	 * install their handler.  (So a stray signal after a pid is reused
	 * within this tree kills nobody.)
	 */
	signal(SIGUSR1, SIG_IGN);
	for (int i = 0; i < MQ_CONS; i++)
		spawn(R_MQ_CONS, i);
	for (int i = 0; i < MSG_CONS; i++)
		spawn(R_MSG_CONS, i);
	for (int i = 0; i < MQ_PROD; i++)
		spawn(R_MQ_PROD, i);
	for (int i = 0; i < MSG_PROD; i++)
		spawn(R_MSG_PROD, i);
	spawn(R_SIGNALLER, 0);
	spawn(R_SUPERVISOR, 0);
	spawn(R_SUPERVISOR, 1);
	for (int i = 0; i < MQ_HAMMERS; i++)
		spawn(R_MQ_HAMMER, i);
	spawn(R_MQ_UNLINKER, 0);
	for (int i = 0; i < MSG_HAMMERS; i++)
		spawn(R_MSG_HAMMER, i);
	spawn(R_MSG_REMOVER, 0);

	/*
	 * Watch: peek at exits without reaping (waitid WNOWAIT), so that no pid
	 * is reused while the signaller may still target it; queue the stop
	 * messages once a stream's producers are done; stop the storm and the
	 * scratch users once the streams are done; fail on any abnormal exit
	 * or on a stall.
	 */
	for (;;) {
		int running = 0;

		for (int i = 0; i < nkids; i++) {
			siginfo_t si = { 0 };

			if (kids[i].exited)
				continue;
			if (waitid(P_PID, kids[i].pid, &si, WEXITED | WNOHANG | WNOWAIT) || !si.si_pid) {
				running++;
				continue;
			}
			kids[i].exited = 1;
			kids[i].status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
			last_move = now_s();
			if (kids[i].status && !abort) {
				abort = 1;
				snprintf(fail_why, sizeof(fail_why), "%s %d (pid %d) %s %d%s%s",
					 role_name[kids[i].role], kids[i].idx, kids[i].pid,
					 si.si_code == CLD_EXITED ? "exited with" : "killed by signal",
					 si.si_status, S->failed ? ": " : "", S->failed ? S->why : "");
			}
		}
		if (abort || !running)
			break;
		if (!stops_sent[0] && !left(R_MQ_PROD)) {
			stops_sent[0] = 1;
			spawn(R_STOPPER, 0);
		}
		if (!stops_sent[1] && !left(R_MSG_PROD)) {
			stops_sent[1] = 1;
			spawn(R_STOPPER, 1);
		}
		if (stops_sent[0] && stops_sent[1])
			STORE(S->main_done, 1);
		if (!stopped && !left(R_MQ_CONS) && !left(R_MSG_CONS) && !left(R_SUPERVISOR)) {
			stopped = 1;
			STORE(S->sig_stop, 1);
			STORE(S->scratch_stop, 1);
		}
		if (now_s() - last_print >= 60) {	/* long runs: a sign of life */
			long m = 0;

			for (int s = 0; s < NSTREAMS; s++)
				m += LOAD(S->st[s].moved);
			last_print = now_s();
			printf("# %s: %.0f s: %ld messages moved in the streams\n", B->name,
			       last_print - t0, m);
			fflush(stdout);
		}
		if (LOAD(S->cnt[C_PROGRESS]) != last_progress) {
			last_progress = LOAD(S->cnt[C_PROGRESS]);
			last_move = now_s();
		} else if (now_s() - last_move > stall_s) {
			abort = 1;
			snprintf(fail_why, sizeof(fail_why),
				 "no message moved and no process ended for %d s (hang?)", stall_s);
			printf("# stall: the processes still running:\n");
			show_stuck();
			break;
		}
		usleep(20000);
	}
	if (abort)
		kill_all();
	for (int i = 0; i < nkids; i++)
		waitpid(kids[i].pid, NULL, 0);
	elapsed = now_s() - t0;
	ASSERT_EQ(0, abort) TH_LOG("%s", fail_why);

	/* The end states of the main queues, and every message exactly once. */
	{
		pid_t pid = fork_child();

		if (pid == 0) {
			alarm(60);
			who = "final check";
			drain_check(ST_MQ, MQ_CONS);
			drain_check(ST_MSG, MSG_CONS);
			_exit(0);
		}
		ASSERT_EQ(0, wait_child(pid)) TH_LOG("%s", S->why);
	}
	for (int s = 0; s < NSTREAMS; s++) {
		struct stream *st = &S->st[s];

		if (s < ST_KMQ) {
			long missing = 0;
			uint32_t mp = 0, mi = 0;

			for (uint32_t p = 0; p < st->nprod; p++)
				for (uint32_t i = 0; i < st->per_prod; i++)
					if (!owners(s)[(size_t)p * st->per_prod + i] && !missing++) {
						mp = p;
						mi = i;
					}
			ASSERT_EQ(0, missing) TH_LOG("%s: %ld messages lost, the first: producer %u "
						     "message %u", stream_name[s], missing, mp, mi);
			ASSERT_EQ((long)st->nprod * st->per_prod, st->moved);
		}
		moved += st->moved;
		bytes += st->bytes;
	}
	ASSERT_EQ(MQ_CONS, S->st[ST_MQ].stops);
	ASSERT_EQ(MSG_CONS, S->st[ST_MSG].stops);
	moved += S->cnt[C_SCR_MOVED];
	printf("# %s: moved %ld messages (%.1f MiB checked) in %.1f s (%.0f/s): POSIX %ld, "
	       "System V %ld, kill streams %ld + %ld, scratch %ld\n", B->name, moved,
	       bytes / 1048576.0, elapsed, moved / elapsed, S->st[ST_MQ].moved, S->st[ST_MSG].moved,
	       S->st[ST_KMQ].moved, S->st[ST_KMSG].moved, S->cnt[C_SCR_MOVED]);
	printf("# %s: invariants held: none lost, none duplicated, none corrupted (length and "
	       "checksum), per-(producer, priority) and per-(producer, type) order, types as "
	       "asked, POSIX queue empty and System V queue holding only the %d spare stops\n",
	       B->name, MSG_CONS * (NTYPE - 1));
	printf("# %s: signals: %ld SIGUSR1 sent, %ld handled; EINTR retried: POSIX %ld (never "
	       "under SA_RESTART), System V %ld; ETIMEDOUT %ld, EAGAIN %ld, ENOMSG %ld, "
	       "E2BIG (message kept) %ld, MSG_COPY %ld (+%ld ENOMSG%s)\n", B->name,
	       S->cnt[C_SIG_SENT], S->cnt[C_SIG_HANDLED], S->cnt[C_EINTR_MQ], S->cnt[C_EINTR_MSG],
	       S->cnt[C_ETIMEDOUT], S->cnt[C_EAGAIN], S->cnt[C_ENOMSG], S->cnt[C_E2BIG],
	       S->cnt[C_COPY], S->cnt[C_COPY_ENOMSG],
	       S->copy_unsupported ? "; MSG_COPY unsupported here" : "");
	for (int k = 0; k < 2; k++) {
		struct kstate *ks = &S->ks[k];

		printf("# %s: %s stream: %ld SIGKILLs (%ld asleep in a call): producer %ld in a "
		       "send, consumers %ld in a receive (%ld had the message in their buffer), "
		       "%ld with a message not yet recorded; %u messages: %ld received once, "
		       "%ld not received of the %ld maybe sent, 0 lost\n", B->name,
		       stream_name[ST_KMQ + k], ks->kills, ks->kills_blocked, ks->kills_prod_sending,
		       ks->kills_in_receive, ks->kills_recovered, ks->kills_got, ks->sent,
		       S->st[ST_KMQ + k].moved, ks->missing_maybe, ks->kills_prod_sending);
	}
	printf("# %s: scratch queues: %ld calls, %ld closes (then EBADF %ld), %ld unlinks, "
	       "%ld IPC_RMIDs, EIDRM %ld, EINVAL %ld (stale id again: %ld), ENOENT %ld, "
	       "EEXIST %ld, timeouts %ld\n", B->name, S->cnt[C_SCR_OPS], S->cnt[C_SCR_CLOSES],
	       S->cnt[C_SCR_EBADF], S->cnt[C_SCR_UNLINKS], S->cnt[C_SCR_RMIDS],
	       S->cnt[C_SCR_EIDRM], S->cnt[C_SCR_EINVAL], S->cnt[C_SCR_STALE],
	       S->cnt[C_SCR_ENOENT], S->cnt[C_SCR_EEXIST], S->cnt[C_SCR_TIMEOUTS]);
	fflush(stdout);
	/* What the run was to exercise, it did. */
	for (int k = 0; k < 2; k++) {
		ASSERT_LT(0, S->ks[k].kills) TH_LOG("%s stream: no SIGKILL", stream_name[ST_KMQ + k]);
	}
	ASSERT_LT(0, S->cnt[C_SIG_HANDLED]) TH_LOG("no SIGUSR1 handled");
	ASSERT_LT(0, S->cnt[C_SCR_RMIDS]) TH_LOG("no scratch queue removed");
	ASSERT_LT(0, S->cnt[C_SCR_STALE]) TH_LOG("no call on a removed queue's stale id");
	ASSERT_LT(0, S->cnt[C_E2BIG]) TH_LOG("no E2BIG that kept its message");
	if (!S->copy_unsupported) {
		ASSERT_LT(0, S->cnt[C_COPY]) TH_LOG("no MSG_COPY");
	}
}

TEST_HARNESS_MAIN
