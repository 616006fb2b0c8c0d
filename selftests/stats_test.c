// SPDX-License-Identifier: GPL-2.0
/*
 * Per-queue statistics (README, "Extensions"): RIPC_IOC_STATS
 * (ripc_mq_stats, ripc_msg_stats), the RIPC_LIST_STATS table, and
 * `ripcctl stat` / `ripcctl top`.  rust_ipc only (native has no such
 * counters): every test SKIPs when the device does not exist.
 *
 * The `stats` fixture runs each rule on a POSIX and on a System V queue:
 * after a known sequence of calls every counter has an exact value (sends,
 * receives, a hand-off to a blocked receiver, a sender blocked on a full
 * queue, timeouts, batches, an 8192-byte message over several segments,
 * the peak depth), the times lie between the clock read before and after
 * their event, and calls that fail (EAGAIN, EMSGSIZE, E2BIG, EFAULT with
 * the message put back) change nothing.  The `handles` fixture checks the
 * errors of the call itself (EBADF, EINVAL, EACCES, EIDRM, EPERM), a
 * removed queue, the reset, the listing and the tool.
 */
#include "ripc_test.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#define PTR(p) ((__u64)(uintptr_t)(p))
#define MAXLEN 8192		/* msgsize (POSIX) and msgmax (System V) */
#define SMALL 10		/* the size of the messages that fill a queue */
#define SLACK_NS 200000000LL	/* a time is its event's within this (ticks, late ticks) */
#define NFIELDS 20		/* __u64 fields of struct ripc_queue_stats */
#define NCOUNTS 13		/* of which counters (the rest are times) */

static const char *const field[NFIELDS] = {
	"sent", "sent_bytes", "received", "received_bytes", "handoffs", "receive_handoffs",
	"blocked_sends", "blocked_receives", "timeouts", "peak_msgs", "peak_bytes", "msgs",
	"bytes", "last_send_ns", "last_receive_ns", "last_handoff_ns",
	"last_receive_handoff_ns", "last_blocked_send_ns", "last_blocked_receive_ns",
	"last_timeout_ns",
};
_Static_assert(sizeof(struct ripc_queue_stats) == NFIELDS * 8, "fields");

static char diff[256];

/* The first of the first n fields in which a and b differ, or NULL. */
static const char *differ(const struct ripc_queue_stats *a, const struct ripc_queue_stats *b,
			  int n)
{
	__u64 x[NFIELDS], y[NFIELDS];

	memcpy(x, a, sizeof(x));
	memcpy(y, b, sizeof(y));
	for (int i = 0; i < n; i++)
		if (x[i] != y[i]) {
			snprintf(diff, sizeof(diff), "%s is %llu, expected %llu", field[i],
				 (unsigned long long)x[i], (unsigned long long)y[i]);
			return diff;
		}
	return NULL;
}

/* The counters of st are those given (fields not named: 0). */
#define ASSERT_COUNTS(st, ...) do { \
	struct ripc_queue_stats __w = { __VA_ARGS__ }; \
	const char *__d = differ(&(st), &__w, NCOUNTS); \
	ASSERT_TRUE(__d == NULL) TH_LOG("%s", __d); \
} while (0)

/* Every field of a equals b's (times too: they read the same each time). */
#define ASSERT_SAME(a, b) do { \
	const char *__d = differ(&(a), &(b), NFIELDS); \
	ASSERT_TRUE(__d == NULL) TH_LOG("%s", __d); \
} while (0)

static long long now_ns(void)
{
	return ts_ns(deadline_ms(0));
}

/* Time t (ns) is that of an event between before and after. */
#define ASSERT_WHEN(t, before, after) do { \
	long long __t = (long long)(t); \
	ASSERT_TRUE(__t >= (before) - SLACK_NS && __t <= (after) + SLACK_NS) \
		TH_LOG(#t " %lld not within [%lld, %lld]", __t, (before), (after)); \
} while (0)

/* A message buffer as System V lays it out; POSIX uses the text alone. */
struct mbig {
	long mtype;
	char text[MAXLEN + 64];
};

/* ---- one queue of either family ---------------------------------------- */

FIXTURE(stats) {
	int sysv;
	int dev;		/* libripc's device descriptor */
	char name[64];
	int mq, mqnb;		/* POSIX descriptors: blocking, O_NONBLOCK */
	int id;			/* System V id */
	char *none;		/* a PROT_NONE page */
};

FIXTURE_VARIANT(stats) {
	int sysv;
};

FIXTURE_VARIANT_ADD(stats, posix) { .sysv = 0 };
FIXTURE_VARIANT_ADD(stats, sysv) { .sysv = 1 };

FIXTURE_SETUP(stats)
{
	self->mq = self->mqnb = self->id = -1;
	self->none = MAP_FAILED;
	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	self->sysv = variant->sysv;
	self->dev = SYS(ripc_device_fd());
	snprintf(self->name, sizeof(self->name), "/ripc_stats_test_%d", getpid());
	self->none = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->none);
}

FIXTURE_TEARDOWN(stats)
{
	if (self->mq >= 0)
		close(self->mq);
	if (self->mqnb >= 0)
		close(self->mqnb);
	ripc_mq_unlink(self->name);
	if (self->id >= 0)
		ripc_msgctl(self->id, IPC_RMID, NULL);
	if (self->none != MAP_FAILED)
		munmap(self->none, PAGE);
}

/*
 * Makes the test's queue: full with full_at messages of SMALL bytes (POSIX
 * mq_maxmsg, System V msg_qbytes = full_at * SMALL), or, for 0, room for
 * ten messages of MAXLEN bytes (POSIX) or the default msg_qbytes.
 */
static int open_q(FIXTURE_DATA(stats) *self, int full_at)
{
	if (self->sysv) {
		struct msqid_ds ds;

		self->id = ripc_msgget(IPC_PRIVATE, 0600);
		if (self->id < 0 || !full_at)
			return self->id < 0 ? -1 : 0;
		if (ripc_msgctl(self->id, IPC_STAT, &ds))
			return -1;
		ds.msg_qbytes = full_at * SMALL;
		return ripc_msgctl(self->id, IPC_SET, &ds);
	}
	struct mq_attr a = { .mq_maxmsg = full_at ? full_at : 10, .mq_msgsize = MAXLEN };

	self->mq = ripc_mq_open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
	if (self->mq < 0)
		return -1;
	self->mqnb = ripc_mq_open(self->name, O_RDWR | O_NONBLOCK);
	return self->mqnb < 0 ? -1 : 0;
}

/* Sends len bytes of pattern seed (type 1, priority 0); nb: without
 * blocking; ts: an absolute deadline or NULL. */
static int q_send(FIXTURE_DATA(stats) *self, size_t len, unsigned int seed, int nb,
		  const struct timespec *ts)
{
	static struct mbig m;

	m.mtype = 1;
	fill(m.text, len, seed);
	if (!self->sysv)
		return ripc_mq_timedsend(nb ? self->mqnb : self->mq, m.text, len, 0, ts);
	struct ripc_msgsnd a = {
		.size = sizeof(a), .msqid = self->id, .msgflg = nb ? IPC_NOWAIT : 0,
		.msgp = PTR(&m), .msgsz = (__s64)len, .timeout = PTR(ts),
	};
	return ioctl(self->dev, RIPC_MSGSND, &a);
}

/* Receives into text (System V: its mtype in the 8 bytes before), a
 * buffer of size bytes; returns the length. */
static ssize_t q_recv_at(FIXTURE_DATA(stats) *self, char *text, size_t size, int nb,
			 const struct timespec *ts)
{
	unsigned int prio;

	if (!self->sysv)
		return ripc_mq_timedreceive(nb ? self->mqnb : self->mq, text, size, &prio, ts);
	struct ripc_msgrcv a = {
		.size = sizeof(a), .msqid = self->id, .msgflg = nb ? IPC_NOWAIT : 0,
		.msgp = PTR(text - sizeof(long)), .msgsz = (__s64)size, .timeout = PTR(ts),
	};
	return ioctl(self->dev, RIPC_MSGRCV, &a);
}

/* Receives the next message (without blocking) and checks it: len bytes
 * of pattern seed. */
static int q_recv(FIXTURE_DATA(stats) *self, size_t len, unsigned int seed)
{
	static struct mbig m;

	if (q_recv_at(self, m.text, MAXLEN, 1, NULL) != (ssize_t)len)
		return -1;
	return check(m.text, len, seed) ? 0 : -1;
}

static int q_stats(FIXTURE_DATA(stats) *self, struct ripc_queue_stats *st)
{
	return self->sysv ? ripc_msg_stats(self->id, st, 0) : ripc_mq_stats(self->mq, st, 0);
}

#define STATS() ({ \
	struct ripc_queue_stats __s; \
	SYS(q_stats(self, &__s)); \
	__s; \
})

/* A batch of n items, each msg_ptr/msgp at bufs[i] (System V: its mtype)
 * with len[i] bytes; send or receive (RIPC_BATCH_WAITFORONE). */
static long q_batch(FIXTURE_DATA(stats) *self, int send, int n, struct mbig **bufs,
		    const size_t *len)
{
	struct ripc_mq_item mi[8] = { 0 };
	struct ripc_msg_item si[8] = { 0 };

	for (int i = 0; i < n; i++) {
		mi[i] = (struct ripc_mq_item){ .msg_ptr = PTR(bufs[i]->text), .msg_len = len[i] };
		si[i] = (struct ripc_msg_item){ .msgp = PTR(bufs[i]), .msgsz = (__s64)len[i] };
	}
	if (!self->sysv) {
		struct ripc_mq_batch b = { .size = sizeof(b), .count = n, .items = PTR(mi),
					   .flags = RIPC_BATCH_WAITFORONE };

		return ioctl(self->mq, send ? RIPC_MQ_SEND_BATCH : RIPC_MQ_RECEIVE_BATCH, &b);
	}
	struct ripc_msg_batch b = { .size = sizeof(b), .msqid = self->id, .count = n,
				    .items = PTR(si), .flags = RIPC_BATCH_WAITFORONE };

	return ioctl(self->dev, send ? RIPC_MSGSND_BATCH : RIPC_MSGRCV_BATCH, &b);
}

/* ---- counters after known sequences ------------------------------------ */

TEST_F(stats, sends_receives_and_the_peak_depth_are_counted)
{
	struct ripc_queue_stats st;
	long long t0, t1, t2, t3;

	SYS(open_q(self, 0));
	st = STATS();
	ASSERT_COUNTS(st, 0);
	ASSERT_EQ(0, st.last_send_ns);
	ASSERT_EQ(0, st.last_receive_ns);

	t0 = now_ns();
	SYS(q_send(self, 10, 1, 1, NULL));
	SYS(q_send(self, 20, 2, 1, NULL));
	SYS(q_send(self, 30, 3, 1, NULL));
	t1 = now_ns();
	SYS(q_recv(self, 10, 1));
	t2 = now_ns();
	st = STATS();
	ASSERT_COUNTS(st, .sent = 3, .sent_bytes = 60, .received = 1, .received_bytes = 10,
		      .peak_msgs = 3, .peak_bytes = 60, .msgs = 2, .bytes = 50);
	ASSERT_WHEN(st.last_send_ns, t0, t1);
	ASSERT_WHEN(st.last_receive_ns, t1, t2);
	ASSERT_EQ(0, st.last_handoff_ns);
	ASSERT_EQ(0, st.last_blocked_send_ns);
	ASSERT_EQ(0, st.last_blocked_receive_ns);
	ASSERT_EQ(0, st.last_timeout_ns);

	/* The peak stays; the depth follows. */
	SYS(q_recv(self, 20, 2));
	SYS(q_recv(self, 30, 3));
	SYS(q_send(self, 5, 4, 1, NULL));
	t3 = now_ns();
	st = STATS();
	ASSERT_COUNTS(st, .sent = 4, .sent_bytes = 65, .received = 3, .received_bytes = 60,
		      .peak_msgs = 3, .peak_bytes = 60, .msgs = 1, .bytes = 5);
	ASSERT_WHEN(st.last_send_ns, t2, t3);
}

TEST_F(stats, a_message_given_to_a_blocked_receiver_is_a_handoff)
{
	struct ripc_queue_stats st;
	long long t0, t1;
	pid_t pid;

	SYS(open_q(self, 0));
	t0 = now_ns();
	pid = fork_child();
	if (pid == 0) {
		static struct mbig m;

		CHILD_CHECK(q_recv_at(self, m.text, MAXLEN, 0, NULL) == 100);
		CHILD_CHECK(check(m.text, 100, 7));
		_exit(0);
	}
	ASSERT_EQ(0, wait_blocked(pid));
	st = STATS();
	ASSERT_COUNTS(st, .blocked_receives = 1);
	SYS(q_send(self, 100, 7, 1, NULL));
	ASSERT_EQ(0, wait_child(pid));
	t1 = now_ns();
	/* It never was in the queue: no depth, no peak. */
	st = STATS();
	ASSERT_COUNTS(st, .sent = 1, .sent_bytes = 100, .received = 1, .received_bytes = 100,
		      .handoffs = 1, .blocked_receives = 1);
	ASSERT_WHEN(st.last_blocked_receive_ns, t0, t1);
	ASSERT_WHEN(st.last_handoff_ns, t0, t1);
	ASSERT_EQ(st.last_send_ns, st.last_handoff_ns);
	ASSERT_WHEN(st.last_receive_ns, st.last_handoff_ns, t1);
}

TEST_F(stats, a_sender_blocked_on_a_full_queue_is_counted_once)
{
	struct ripc_queue_stats st;
	long long t0, t1;
	pid_t pid;

	SYS(open_q(self, 2));
	SYS(q_send(self, SMALL, 1, 1, NULL));
	SYS(q_send(self, SMALL, 2, 1, NULL));
	ASSERT_ERRNO(EAGAIN, q_send(self, SMALL, 3, 1, NULL));
	t0 = now_ns();
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(q_send(self, SMALL, 3, 0, NULL) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_blocked(pid));
	st = STATS();
	ASSERT_COUNTS(st, .sent = 2, .sent_bytes = 20, .blocked_sends = 1, .peak_msgs = 2,
		      .peak_bytes = 20, .msgs = 2, .bytes = 20);
	SYS(q_recv(self, SMALL, 1));
	ASSERT_EQ(0, wait_child(pid));
	t1 = now_ns();
	st = STATS();
	/*
	 * POSIX: the receive that made room put the sender's message in
	 * (pipelined_receive); a System V sender looks again itself.
	 */
	ASSERT_COUNTS(st, .sent = 3, .sent_bytes = 30, .received = 1, .received_bytes = SMALL,
		      .receive_handoffs = self->sysv ? 0 : 1, .blocked_sends = 1,
		      .peak_msgs = 2, .peak_bytes = 20, .msgs = 2, .bytes = 20);
	ASSERT_WHEN(st.last_blocked_send_ns, t0, t1);
	ASSERT_WHEN(st.last_send_ns, st.last_blocked_send_ns, t1);
	if (self->sysv) {
		ASSERT_EQ(0, st.last_receive_handoff_ns);
	} else {
		ASSERT_WHEN(st.last_receive_handoff_ns, st.last_blocked_send_ns, t1);
	}
	SYS(q_recv(self, SMALL, 2));
	SYS(q_recv(self, SMALL, 3));
}

TEST_F(stats, timeouts_are_counted_and_only_a_call_that_slept_blocked)
{
	struct timespec soon, past = deadline_ms(-1000);
	struct ripc_queue_stats st;
	static struct mbig m;
	long long t0, t1;

	SYS(open_q(self, 1));
	t0 = now_ns();
	soon = deadline_ms(50);
	ASSERT_ERRNO(ETIMEDOUT, q_recv_at(self, m.text, MAXLEN, 0, &soon));
	/* A deadline already past times out without sleeping. */
	ASSERT_ERRNO(ETIMEDOUT, q_recv_at(self, m.text, MAXLEN, 0, &past));
	st = STATS();
	ASSERT_COUNTS(st, .blocked_receives = 1, .timeouts = 2);
	SYS(q_send(self, SMALL, 1, 1, NULL));
	soon = deadline_ms(50);
	ASSERT_ERRNO(ETIMEDOUT, q_send(self, SMALL, 2, 0, &soon));
	ASSERT_ERRNO(ETIMEDOUT, q_send(self, SMALL, 2, 0, &past));
	t1 = now_ns();
	st = STATS();
	ASSERT_COUNTS(st, .sent = 1, .sent_bytes = SMALL, .blocked_sends = 1,
		      .blocked_receives = 1, .timeouts = 4, .peak_msgs = 1, .peak_bytes = SMALL,
		      .msgs = 1, .bytes = SMALL);
	ASSERT_WHEN(st.last_timeout_ns, st.last_blocked_send_ns, t1);
	ASSERT_WHEN(st.last_blocked_receive_ns, t0, st.last_timeout_ns);
	ASSERT_WHEN(st.last_blocked_send_ns, st.last_blocked_receive_ns, t1);
}

TEST_F(stats, a_batch_counts_each_message)
{
	static struct mbig b[8];
	struct mbig *bufs[8];
	size_t len[8];
	struct ripc_queue_stats st;

	SYS(open_q(self, 0));
	for (int i = 0; i < 8; i++) {
		bufs[i] = &b[i];
		b[i].mtype = 1;
		len[i] = i + 1;
		fill(b[i].text, len[i], 10 + i);
	}
	ASSERT_EQ(5, q_batch(self, 1, 5, bufs, len));
	st = STATS();
	ASSERT_COUNTS(st, .sent = 5, .sent_bytes = 15, .peak_msgs = 5, .peak_bytes = 15, .msgs = 5,
		      .bytes = 15);
	memset(b, 0, sizeof(b));
	for (int i = 0; i < 8; i++)
		len[i] = MAXLEN;
	/* Eight asked, five there: the rest would block. */
	ASSERT_EQ(5, q_batch(self, 0, 8, bufs, len));
	for (int i = 0; i < 5; i++)
		ASSERT_TRUE(check(b[i].text, i + 1, 10 + i));
	st = STATS();
	ASSERT_COUNTS(st, .sent = 5, .sent_bytes = 15, .received = 5, .received_bytes = 15,
		      .peak_msgs = 5, .peak_bytes = 15);
}

/*
 * A batch that takes three messages and delivers none (its first buffer
 * faults) puts them back as if they had never left: the count, the bytes
 * and the time of the last receive are the earlier receive's again.
 */
TEST_F(stats, a_batch_that_delivers_nothing_takes_its_receives_back)
{
	static struct mbig b[3];
	struct mbig *bufs[3] = { (struct mbig *)self->none, &b[1], &b[2] };
	size_t len[3] = { MAXLEN, MAXLEN, MAXLEN };
	struct ripc_queue_stats before, after;

	SYS(open_q(self, 0));
	SYS(q_send(self, 5, 1, 1, NULL));
	SYS(q_recv(self, 5, 1));
	usleep(50000);		/* a few ticks: the batch's receives' time differs */
	for (unsigned int i = 0; i < 3; i++)
		SYS(q_send(self, 7 + i, 20 + i, 1, NULL));
	before = STATS();
	ASSERT_COUNTS(before, .sent = 4, .sent_bytes = 29, .received = 1, .received_bytes = 5,
		      .peak_msgs = 3, .peak_bytes = 24, .msgs = 3, .bytes = 24);
	ASSERT_ERRNO(EFAULT, q_batch(self, 0, 3, bufs, len));
	after = STATS();
	ASSERT_SAME(after, before);
	for (unsigned int i = 0; i < 3; i++)
		SYS(q_recv(self, 7 + i, 20 + i));
}

/*
 * An 8192-byte message (a head and two segments) counts its bytes, whether
 * it is delivered under the queue lock or after it (into a page not yet
 * mapped in, whose copy must fault it in).
 */
TEST_F(stats, a_multi_segment_message_counts_all_its_bytes)
{
	char *fresh = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
	static struct mbig m;
	struct ripc_queue_stats st;

	ASSERT_NE(MAP_FAILED, fresh);
	SYS(open_q(self, 0));
	SYS(q_send(self, MAXLEN, 5, 1, NULL));
	SYS(q_send(self, 5000, 6, 1, NULL));
	ASSERT_EQ(MAXLEN, q_recv_at(self, fresh + sizeof(long), MAXLEN, 1, NULL));
	ASSERT_TRUE(check(fresh + sizeof(long), MAXLEN, 5));
	st = STATS();
	ASSERT_COUNTS(st, .sent = 2, .sent_bytes = MAXLEN + 5000, .received = 1,
		      .received_bytes = MAXLEN, .peak_msgs = 2, .peak_bytes = MAXLEN + 5000,
		      .msgs = 1, .bytes = 5000);
	ASSERT_EQ(5000, q_recv_at(self, m.text, MAXLEN, 1, NULL));
	ASSERT_TRUE(check(m.text, 5000, 6));
	st = STATS();
	ASSERT_COUNTS(st, .sent = 2, .sent_bytes = MAXLEN + 5000, .received = 2,
		      .received_bytes = MAXLEN + 5000, .peak_msgs = 2,
		      .peak_bytes = MAXLEN + 5000);
	munmap(fresh, 3 * PAGE);
}

/*
 * Calls that fail leave every field as it was, the times too: EAGAIN (or
 * ENOMSG), EMSGSIZE (System V: EINVAL, E2BIG), EFAULT on a send, and
 * EFAULT on a receive and on a batch, whose message goes back.
 */
TEST_F(stats, failed_calls_change_nothing)
{
	struct ripc_queue_stats before, after;
	static struct mbig m;
	struct mbig *bufs[1] = { (struct mbig *)self->none };
	size_t len[1] = { MAXLEN };
	int nomsg = self->sysv ? ENOMSG : EAGAIN;
	int toolong = self->sysv ? EINVAL : EMSGSIZE;

	SYS(open_q(self, 2));
	ASSERT_ERRNO(nomsg, q_recv_at(self, m.text, MAXLEN, 1, NULL));
	SYS(q_send(self, SMALL, 1, 1, NULL));
	before = STATS();
	ASSERT_COUNTS(before, .sent = 1, .sent_bytes = SMALL, .peak_msgs = 1,
		      .peak_bytes = SMALL, .msgs = 1, .bytes = SMALL);

	ASSERT_ERRNO(toolong, q_send(self, MAXLEN + 1, 2, 1, NULL));
	ASSERT_ERRNO(self->sysv ? E2BIG : EMSGSIZE, q_recv_at(self, m.text, SMALL - 1, 1, NULL));
	ASSERT_ERRNO(EFAULT, self->sysv ? ripc_msgsnd(self->id, self->none, SMALL, IPC_NOWAIT)
					: ripc_mq_send(self->mq, self->none, SMALL, 0));
	ASSERT_ERRNO(EFAULT, q_recv_at(self, self->none + sizeof(long), MAXLEN, 1, NULL));
	ASSERT_ERRNO(EFAULT, q_batch(self, 0, 1, bufs, len));
	after = STATS();
	ASSERT_SAME(after, before);

	/* Full: a send that would block. */
	SYS(q_send(self, SMALL, 2, 1, NULL));
	before = STATS();
	ASSERT_ERRNO(EAGAIN, q_send(self, SMALL, 3, 1, NULL));
	after = STATS();
	ASSERT_SAME(after, before);

	/* The messages put back are the ones received, in order. */
	SYS(q_recv(self, SMALL, 1));
	SYS(q_recv(self, SMALL, 2));
	after = STATS();
	ASSERT_COUNTS(after, .sent = 2, .sent_bytes = 2 * SMALL, .received = 2,
		      .received_bytes = 2 * SMALL, .peak_msgs = 2, .peak_bytes = 2 * SMALL);
}

/* Steps CLOCK_REALTIME by s seconds. */
static int step_clock(long s)
{
	struct timespec t;

	if (clock_gettime(CLOCK_REALTIME, &t))
		return -1;
	t.tv_sec += s;
	return clock_settime(CLOCK_REALTIME, &t);
}

#define STEP 100000		/* s */
#define STEP_SLACK_NS 50000000LL	/* a step is made within this of its aim */

/*
 * The times are kept as ticks and given on the realtime clock through the
 * clock's offset as it is when they are read: a step of the clock moves
 * them with it, and a step back brings them back (they read the same each
 * time while the ticks keep with the clock: ipc/stats.rs).
 */
TEST_F(stats, a_clock_step_moves_the_times_with_it)
{
	struct ripc_queue_stats st, stepped, back;
	long long d;

	if (geteuid() != 0)
		SKIP(return, "setting the clock needs root");
	SYS(open_q(self, 0));
	SYS(q_send(self, SMALL, 1, 1, NULL));
	st = STATS();
	SYS(step_clock(STEP));
	stepped = STATS();
	SYS(step_clock(-STEP));
	back = STATS();
	d = (long long)(stepped.last_send_ns - st.last_send_ns) - STEP * 1000000000LL;
	EXPECT_TRUE(llabs(d) < STEP_SLACK_NS) TH_LOG("moved %lld ns off the step", d);
	d = (long long)(back.last_send_ns - st.last_send_ns);
	EXPECT_TRUE(llabs(d) < 2 * STEP_SLACK_NS) TH_LOG("%lld ns off after the step back", d);
	ASSERT_COUNTS(back, .sent = 1, .sent_bytes = SMALL, .peak_msgs = 1,
		      .peak_bytes = SMALL, .msgs = 1, .bytes = SMALL);
}

/*
 * A reset whose struct cannot be written back (readable, not writable)
 * fails with EFAULT before the counters are reset: none is lost.
 */
TEST_F(stats, a_reset_that_cannot_write_back_resets_nothing)
{
	struct ripc_stats *rw, *ro;
	void *page;

	SYS(open_q(self, 2));
	SYS(q_send(self, SMALL, 1, 1, NULL));
	ro = read_only_alias(&page);
	ASSERT_NE(MAP_FAILED, ro);
	rw = page;
	*rw = (struct ripc_stats){ .size = sizeof(*rw), .msqid = self->id,
				   .which = self->sysv ? RIPC_STATS_SYSV : RIPC_STATS_FILE,
				   .flags = RIPC_STATS_RESET };
	ASSERT_ERRNO(EFAULT, ioctl(self->sysv ? self->dev : self->mq, RIPC_IOC_STATS, ro));
	ASSERT_EQ(1, (long)STATS().sent);
	munmap(rw, PAGE);
	munmap(ro, PAGE);
}

TEST_F(stats, the_listing_has_the_same_counters)
{
	static char table[1 << 16];
	struct ripc_queue_stats st, listed;
	__u64 v[NFIELDS];
	char tail[96], head[512], *line = NULL;

	SYS(open_q(self, 0));
	SYS(q_send(self, 10, 1, 1, NULL));
	SYS(q_send(self, 20, 2, 1, NULL));
	SYS(q_recv(self, 10, 1));
	SYS(ripc_list((self->sysv ? RIPC_LIST_SYSV : RIPC_LIST_POSIX) | RIPC_LIST_STATS, table,
		      sizeof(table)));
	st = STATS();
	/* The header names the columns in the order of the fields. */
	snprintf(head, sizeof(head), "sent sent_bytes received received_bytes handoffs "
		 "receive_handoffs blocked_sends blocked_receives timeouts peak_msgs "
		 "peak_bytes msgs bytes last_send_ns last_receive_ns last_handoff_ns "
		 "last_receive_handoff_ns last_blocked_send_ns last_blocked_receive_ns "
		 "last_timeout_ns %s\n", self->sysv ? "key msqid" : "name");
	ASSERT_EQ(0, strncmp(table, head, strlen(head))) TH_LOG("header:\n%s", table);
	if (self->sysv)
		snprintf(tail, sizeof(tail), " 0 %d\n", self->id);
	else
		snprintf(tail, sizeof(tail), " %s\n", self->name);
	for (char *p = strchr(table, '\n') + 1; *p; p = strchr(p, '\n') + 1) {
		char *nl = strchr(p, '\n');

		if ((size_t)(nl + 1 - p) > strlen(tail) &&
		    !strncmp(nl + 1 - strlen(tail), tail, strlen(tail)))
			line = p;
	}
	ASSERT_NE(NULL, line) TH_LOG("no line ending in '%s' in:\n%s", tail, table);
	for (int i = 0; i < NFIELDS; i++) {
		char *end;

		v[i] = strtoull(line, &end, 10);
		ASSERT_EQ(' ', *end);
		line = end + 1;
	}
	memcpy(&listed, v, sizeof(listed));
	ASSERT_SAME(listed, st);
	ASSERT_COUNTS(st, .sent = 2, .sent_bytes = 30, .received = 1, .received_bytes = 10,
		      .peak_msgs = 2, .peak_bytes = 30, .msgs = 1, .bytes = 20);
}

/* ---- the call's own errors, removal, reset, the tool --------------------- */

FIXTURE(handles) {
	char name[64];
	int ids[4];
	int nids;
};

FIXTURE_SETUP(handles)
{
	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	snprintf(self->name, sizeof(self->name), "/ripc_stats_handles_%d", getpid());
}

FIXTURE_TEARDOWN(handles)
{
	for (int i = 0; i < self->nids; i++)
		ripc_msgctl(self->ids[i], IPC_RMID, NULL);
	ripc_mq_unlink(self->name);
}

#define MKQ(mode) ({ \
	int __id = SYS(ripc_msgget(IPC_PRIVATE, mode)); \
	self->ids[self->nids++] = __id; \
	__id; \
})

/* RIPC_IOC_STATS on fd with which, msqid, flags. */
static int raw_stats(int fd, unsigned int which, int msqid, unsigned int flags)
{
	struct ripc_stats a = { .size = sizeof(a), .which = which, .msqid = msqid, .flags = flags };

	return ioctl(fd, RIPC_IOC_STATS, &a);
}

TEST_F(handles, bad_handles_are_ebadf_einval_and_eidrm)
{
	struct ripc_queue_stats st;
	int mq = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT, 0600, NULL));
	int wo = SYS(ripc_mq_open(self->name, O_WRONLY));
	int dev = SYS(open(RIPC_DEVICE, O_RDWR | O_CLOEXEC));
	int null = SYS(open("/dev/null", O_RDONLY | O_CLOEXEC));
	int id = MKQ(0600), bound, removed;

	SYS(ripc_mq_stats(mq, &st, 0));
	/* POSIX: as mq_receive, a descriptor open for reading. */
	ASSERT_ERRNO(EBADF, ripc_mq_stats(wo, &st, 0));
	ASSERT_ERRNO(EBADF, ripc_mq_stats(dev, &st, 0));
	ASSERT_ERRNO(EBADF, ripc_mq_stats(null, &st, 0));
	ASSERT_ERRNO(EBADF, ripc_mq_stats(-1, &st, 0));
	ASSERT_ERRNO(EINVAL, ripc_mq_stats(mq, &st, 2));
	ASSERT_ERRNO(EINVAL, ripc_mq_stats(null, &st, 2));
	ASSERT_ERRNO(EINVAL, raw_stats(mq, 2, 0, 0));
	/* System V: as IPC_STAT. */
	SYS(ripc_msg_stats(id, &st, 0));
	ASSERT_ERRNO(EINVAL, ripc_msg_stats(-1, &st, 0));
	/* Its index with another sequence number. */
	ASSERT_ERRNO(EINVAL, ripc_msg_stats(id + 32768, &st, 0));
	ASSERT_ERRNO(EINVAL, ripc_msg_stats(id, &st, 4));
	removed = SYS(ripc_msgget(IPC_PRIVATE, 0600));
	bound = SYS(bind_new(removed));
	SYS(raw_stats(bound, RIPC_STATS_FILE, 0, 0));
	SYS(ripc_msgctl(removed, IPC_RMID, NULL));
	ASSERT_ERRNO(EINVAL, ripc_msg_stats(removed, &st, 0));
	/* A file bound to it still names it: removed. */
	ASSERT_ERRNO(EIDRM, raw_stats(bound, RIPC_STATS_FILE, 0, 0));
	close(bound);
	close(null);
	close(dev);
	close(wo);
	close(mq);
}

/*
 * Read permission as IPC_STAT (System V) or as an open for reading
 * (POSIX); a reset by the owner (or creator) only.
 */
TEST_F(handles, reading_needs_read_permission_and_a_reset_the_owner)
{
	struct ripc_queue_stats st;
	int mq = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT, 0604, NULL));
	int priv = MKQ(0600), open_to_all = MKQ(0604);
	struct { long mtype; char t[4]; } m = { 1, "abc" };
	pid_t pid;

	REQUIRE_ROOT();
	SYS(ripc_mq_send(mq, "abcd", 4, 0));
	SYS(ripc_msgsnd(open_to_all, &m, 3, 0));
	pid = fork_child();
	if (pid == 0) {
		int ro;

		CHILD_CHECK(drop_privs() == 0);
		CHILD_CHECK(ripc_msg_stats(priv, &st, 0) == -1 && errno == EACCES);
		CHILD_CHECK(ripc_msg_stats(open_to_all, &st, 0) == 0 && st.sent == 1);
		CHILD_CHECK(ripc_msg_stats(open_to_all, &st, RIPC_STATS_RESET) == -1 &&
			    errno == EPERM);
		CHILD_CHECK(ripc_mq_open(self->name, O_WRONLY) == -1 && errno == EACCES);
		ro = ripc_mq_open(self->name, O_RDONLY);
		CHILD_CHECK(ro >= 0);
		CHILD_CHECK(ripc_mq_stats(ro, &st, 0) == 0 && st.sent == 1 && st.sent_bytes == 4);
		CHILD_CHECK(ripc_mq_stats(ro, &st, RIPC_STATS_RESET) == -1 && errno == EPERM);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));

	/* The owner's reset gives the counters, then zeroes them; the peaks
	 * restart from the depth. */
	SYS(ripc_mq_stats(mq, &st, RIPC_STATS_RESET));
	ASSERT_EQ(1ULL, st.sent);
	ASSERT_EQ(1ULL, st.peak_msgs);
	SYS(ripc_mq_stats(mq, &st, 0));
	ASSERT_COUNTS(st, .peak_msgs = 1, .peak_bytes = 4, .msgs = 1, .bytes = 4);
	ASSERT_EQ(0, st.last_send_ns);
	SYS(ripc_msg_stats(open_to_all, &st, RIPC_STATS_RESET));
	ASSERT_EQ(3ULL, st.sent_bytes);
	SYS(ripc_msg_stats(open_to_all, &st, 0));
	ASSERT_COUNTS(st, .peak_msgs = 1, .peak_bytes = 3, .msgs = 1, .bytes = 3);
	close(mq);
}

/* An unlinked POSIX queue lives on while open, and so do its counters. */
TEST_F(handles, an_unlinked_posix_queue_keeps_counting)
{
	struct ripc_queue_stats st;
	int mq = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT, 0600, NULL));
	char buf[8192];
	unsigned int prio;

	SYS(ripc_mq_send(mq, "ab", 2, 0));
	SYS(ripc_mq_unlink(self->name));
	SYS(ripc_mq_send(mq, "cde", 3, 0));
	ASSERT_EQ(2, ripc_mq_receive(mq, buf, sizeof(buf), &prio));
	SYS(ripc_mq_stats(mq, &st, 0));
	ASSERT_COUNTS(st, .sent = 2, .sent_bytes = 5, .received = 1, .received_bytes = 2,
		      .peak_msgs = 2, .peak_bytes = 5, .msgs = 1, .bytes = 3);
	close(mq);
}

/* The statistics table lists only the queues the caller may read. */
TEST_F(handles, the_listing_shows_only_readable_queues)
{
	static char table[1 << 16];
	char idtail[32], nametail[80];
	int priv = MKQ(0600), open_to_all = MKQ(0604);
	pid_t pid;

	REQUIRE_ROOT();
	SYS(ripc_mq_close(SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT, 0600, NULL))));
	snprintf(nametail, sizeof(nametail), " %s\n", self->name);
	SYS(ripc_list(RIPC_LIST_POSIX | RIPC_LIST_SYSV | RIPC_LIST_STATS, table, sizeof(table)));
	ASSERT_NE(NULL, strstr(table, nametail));
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(drop_privs() == 0);
		CHILD_CHECK(ripc_list(RIPC_LIST_POSIX | RIPC_LIST_SYSV | RIPC_LIST_STATS, table,
				      sizeof(table)) > 0);
		snprintf(idtail, sizeof(idtail), " 0 %d\n", priv);
		CHILD_CHECK(strstr(table, idtail) == NULL);
		CHILD_CHECK(strstr(table, nametail) == NULL);
		snprintf(idtail, sizeof(idtail), " 0 %d\n", open_to_all);
		CHILD_CHECK(strstr(table, idtail) != NULL);
		/* The plain listing shows every queue, as /proc/sysvipc/msg. */
		CHILD_CHECK(ripc_list(RIPC_LIST_POSIX, table, sizeof(table)) > 0);
		CHILD_CHECK(strstr(table, self->name) != NULL);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/* ---- ripcctl ------------------------------------------------------------ */

/* The value of field name in `ripcctl stat` output out, or -1. */
static long long stat_field(const char *out, const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "\n%s ", name);
	p = strstr(out, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* Runs `tool stat what` with its output in out: its exit status, or -1. */
static int tool_stat(const char *tool, const char *what, char *out, size_t size)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "%s stat %s", tool, what);
	return run_output(cmd, out, size);
}

TEST_F(handles, ripcctl_stat_prints_the_counters)
{
	const char *tool = ripcctl_path();
	char idtext[16], out[4096];
	int mq, id = MKQ(0600);
	struct { long mtype; char t[8]; } m = { 3, "1234567" };

	if (!tool)
		SKIP(return, "no ripcctl");
	mq = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT, 0600, NULL));
	SYS(ripc_mq_send(mq, "hello", 5, 1));
	SYS(ripc_mq_send(mq, "hi", 2, 1));
	SYS(ripc_msgsnd(id, &m, 7, 0));

	ASSERT_EQ(0, tool_stat(tool, self->name, out, sizeof(out)));
	ASSERT_EQ(2, stat_field(out, "sent")) TH_LOG("%s", out);
	ASSERT_EQ(7, stat_field(out, "sent_bytes"));
	ASSERT_EQ(0, stat_field(out, "received"));
	ASSERT_EQ(2, stat_field(out, "peak_msgs"));
	ASSERT_EQ(0, stat_field(out, "last_receive_ns"));
	ASSERT_LT(0, stat_field(out, "last_send_ns"));

	snprintf(idtext, sizeof(idtext), "%d", id);
	ASSERT_EQ(0, tool_stat(tool, idtext, out, sizeof(out)));
	ASSERT_EQ(1, stat_field(out, "sent")) TH_LOG("%s", out);
	ASSERT_EQ(7, stat_field(out, "bytes"));
	close(mq);
}

/*
 * `ripcctl top -n 2`: the second view shows the traffic since the first,
 * busiest first.  The test sends once it has read the first view (which
 * ripcctl prints after it took its counters), so the sends fall in the
 * second view's interval.
 */
TEST_F(handles, ripcctl_top_sorts_by_traffic_since_the_last_view)
{
	const char *tool = ripcctl_path();
	char cmd[256], line[8192], x[80], y[80];
	int mx, my, views = 0, rows = 0;
	unsigned long long msgs[2] = { 0, 0 };
	char first[2][300] = { "", "" };
	FILE *f;

	if (!tool)
		SKIP(return, "no ripcctl");
	snprintf(x, sizeof(x), "%s_x", self->name);
	snprintf(y, sizeof(y), "%s_y", self->name);
	mx = SYS(ripc_mq_open(x, O_RDWR | O_CREAT, 0600, NULL));
	my = SYS(ripc_mq_open(y, O_RDWR | O_CREAT, 0600, NULL));
	/* Before the first view: x is busier in all. */
	for (int i = 0; i < 9; i++) {
		SYS(ripc_mq_send(mx, "x", 1, 0));
		SYS(ripc_mq_receive(mx, line, sizeof(line), NULL));
	}
	snprintf(cmd, sizeof(cmd), "%s top -n 2", tool);
	f = popen(cmd, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long m, b;
		char q[300];

		if (!strncmp(line, "ripcctl top:", 12)) {
			views++;
			rows = 0;
			continue;
		}
		if (line[0] == '\n' && views == 1) {
			/* The first view is out: now the traffic of the second. */
			for (int i = 0; i < 3; i++)
				SYS(ripc_mq_send(mx, "x", 1, 0));
			for (int i = 0; i < 7; i++)
				SYS(ripc_mq_send(my, "yy", 2, 0));
			continue;
		}
		if (views == 2 && rows < 2 &&
		    sscanf(line, "%llu %llu %*u %*u %*u %*u %*u %*u %*u %*u %299s", &m, &b, q) == 3) {
			msgs[rows] = m;
			snprintf(first[rows], sizeof(first[rows]), "%s", q);
			rows++;
		}
	}
	ASSERT_EQ(0, pclose(f));
	ASSERT_EQ(2, views);
	ASSERT_STREQ(y, first[0]);
	ASSERT_EQ(7ULL, msgs[0]);
	ASSERT_STREQ(x, first[1]);
	ASSERT_EQ(3ULL, msgs[1]);
	close(mx);
	close(my);
	ripc_mq_unlink(x);
	ripc_mq_unlink(y);
}

TEST_HARNESS_MAIN
