// SPDX-License-Identifier: GPL-2.0
/*
 * Peek and checkpoint/restore (rust_ipc extensions, no native counterpart):
 * RIPC_MQ_PEEK and RIPC_MQ_PEEK_BATCH copy POSIX messages in receive order
 * without removing them; RIPC_IOC_DUMP and RIPC_IOC_RESTORE save the queues
 * of both families of an IPC namespace as a stream and recreate them
 * exactly in an empty one.  Every test SKIPs when the device does not
 * exist; the dump/restore tests run in IPC namespaces of their own.
 *
 * Modes for selftests/module_test.sh (the unload/reload case), in the
 * caller's namespace: "checkpoint_test --fill" makes the standard queues,
 * "--describe" prints every stat and a hash of every message (touching
 * nothing), "--drain" receives everything and checks each byte (exit 0 if
 * all is as filled).
 */
#include "ripc_test.h"

#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define PTR(p) ((__u64)(uintptr_t)(p))
#define BIG 8192

/* ---- The standard queues ------------------------------------------------ */

static const struct mq_spec {
	const char *name;
	long maxmsg, msgsize;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	int nmsgs;
} MQS[] = {
	{ "/ckpt_alpha", 16, 8192, 0640, 0, 0, 12 },
	{ "/ckpt_beta", 5, 100, 0604, 4242, 4343, 5 },
	{ "/ckpt_gamma", 40, 6000, 0600, 0, 0, 30 },
};

static unsigned int mq_prio(int q, int j)
{
	return (unsigned int)((j * 7 + q) % 5) * 1000 + (unsigned int)(j % 3);
}

static size_t mq_len(int q, int j)
{
	return (size_t)(j * 977 + q * 131) % (size_t)(MQS[q].msgsize + 1);
}

#define MQ_SEED(q, j) (1000u * (q) + (j))

static const struct msg_spec {
	key_t key;
	int mode;
	int chown;		/* IPC_SET to 4242:4343 and qbytes 50000 */
	int nmsgs;
} MSGS[] = {
	{ 0x7e5a0001, 0600, 0, 6 },
	{ 0x7e5a0002, 0640, 1, 10 },
	{ IPC_PRIVATE, 0666, 0, 3 },
};

static long msg_type(int q, int j)
{
	return (j * 5 + q) % 9 + 1;
}

static size_t msg_len(int q, int j)
{
	return q == 1 ? (size_t)(j * 1499) % (BIG + 1) : (size_t)(j * 311 + 7) % 1000;
}

#define MSG_SEED(q, j) (5000u + 100u * (q) + (j))
#define NEXT_ID (3 * 32768 + 100)

struct big {
	long mtype;
	char mtext[BIG];
};

/* A failed check in the helpers below: prints it, returns its line. */
#define CK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "# %s:%d: %s (errno %s)\n", __FILE__, __LINE__, #cond, \
			strerrorname_np(errno) ?: "0"); \
		return __LINE__; \
	} \
} while (0)

/* The positions of queue q's messages in receive order (stable by priority). */
static void mq_order(int q, int *order)
{
	int n = MQS[q].nmsgs;

	for (int i = 0; i < n; i++)
		order[i] = i;
	for (int i = 1; i < n; i++)
		for (int k = i; k > 0 && mq_prio(q, order[k]) > mq_prio(q, order[k - 1]); k--) {
			int t = order[k];

			order[k] = order[k - 1];
			order[k - 1] = t;
		}
}

/* The System V queue of spec q (IPC_PRIVATE: the one with key 0), or -1. */
static int msg_id(int q)
{
	struct msqid_ds ds;
	struct msginfo mi;
	int max;

	if (MSGS[q].key != IPC_PRIVATE)
		return ripc_msgget(MSGS[q].key, 0);
	max = ripc_msgctl(0, MSG_INFO, (struct msqid_ds *)&mi);
	for (int i = 0; i <= max; i++) {
		int id = ripc_msgctl(i, MSG_STAT_ANY, &ds);

		if (id >= 0 && ds.msg_perm.__key == IPC_PRIVATE)
			return id;
	}
	return -1;
}

/* Makes the standard queues in the caller's (empty) namespace. */
static int fill_std(void)
{
	static char buf[BIG];
	struct big m;
	mode_t old = umask(0);
	int id;

	for (int q = 0; q < (int)ARRAY_SIZE(MQS); q++) {
		const struct mq_spec *s = &MQS[q];
		struct mq_attr a = { .mq_maxmsg = s->maxmsg, .mq_msgsize = s->msgsize };
		int fd;

		setfsuid(s->uid);
		setfsgid(s->gid);
		fd = ripc_mq_open(s->name, O_RDWR | O_CREAT | O_EXCL, s->mode, &a);
		setfsuid(0);
		setfsgid(0);
		CK(fd >= 0);
		for (int j = 0; j < s->nmsgs; j++) {
			fill(buf, mq_len(q, j), MQ_SEED(q, j));
			CK(ripc_mq_send(fd, buf, mq_len(q, j), mq_prio(q, j)) == 0);
		}
		close(fd);
	}
	umask(old);
	/* Ids with sequence numbers: 70 queues made and removed cycle the index. */
	for (int i = 0; i < 70; i++) {
		CK((id = ripc_msgget(IPC_PRIVATE, 0600)) >= 0);
		CK(ripc_msgctl(id, IPC_RMID, NULL) == 0);
	}
	for (int q = 0; q < (int)ARRAY_SIZE(MSGS); q++) {
		struct msqid_ds ds;

		CK((id = ripc_msgget(MSGS[q].key, IPC_CREAT | IPC_EXCL | MSGS[q].mode)) >= 0);
		if (q == 0) {
			/* A hole in the indexes; rtime set by a receive. */
			int hole = ripc_msgget(0x7e5a0003, IPC_CREAT | 0600);

			CK(hole >= 0 && ripc_msgctl(hole, IPC_RMID, NULL) == 0);
			m.mtype = 99;
			CK(ripc_msgsnd(id, &m, 3, 0) == 0);
			CK(ripc_msgrcv(id, &m, BIG, 99, IPC_NOWAIT) == 3);
		}
		if (MSGS[q].chown) {
			CK(ripc_msgctl(id, IPC_STAT, &ds) == 0);
			ds.msg_perm.uid = 4242;
			ds.msg_perm.gid = 4343;
			ds.msg_qbytes = 50000;
			CK(ripc_msgctl(id, IPC_SET, &ds) == 0);
		}
		for (int j = 0; j < MSGS[q].nmsgs; j++) {
			m.mtype = msg_type(q, j);
			fill(m.mtext, msg_len(q, j), MSG_SEED(q, j));
			CK(ripc_msgsnd(id, &m, msg_len(q, j), IPC_NOWAIT) == 0);
		}
	}
	CK(ripc_msg_next_id(NULL, &(int){ NEXT_ID }) == 0);
	return 0;
}

static unsigned long long hash(const void *p, size_t n)
{
	unsigned long long h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ULL;
	return h;
}

/*
 * Every stat of the caller's namespace's queues (but msg_lspid/msg_lrpid,
 * which a restore cannot give back) and the length, priority or type and
 * hash of every message, touching nothing: the POSIX table, mq_getattr and
 * peeks; MSG_STAT_ANY and MSG_COPY; MSG_INFO; msg_next_id.
 */
static int describe(FILE *f)
{
	static char table[1 << 16], buf[BIG];
	struct msginfo mi;
	struct big m;
	int max, next;

	CK(ripc_list(RIPC_LIST_POSIX, table, sizeof(table)) >= 0);
	fputs(table, f);
	for (int q = 0; q < (int)ARRAY_SIZE(MQS); q++) {
		int fd = ripc_mq_open(MQS[q].name, O_RDONLY);
		struct mq_attr a;
		unsigned int prio;
		ssize_t n;

		if (fd < 0)
			continue;
		CK(ripc_mq_getattr(fd, &a) == 0);
		fprintf(f, "%s maxmsg %ld msgsize %ld curmsgs %ld\n", MQS[q].name, a.mq_maxmsg,
			a.mq_msgsize, a.mq_curmsgs);
		for (size_t pos = 0; (n = ripc_mq_peek(fd, buf, sizeof(buf), &prio, pos)) >= 0; pos++)
			fprintf(f, "  [%zu] prio %u len %zd hash %llx\n", pos, prio, n, hash(buf, n));
		CK(errno == ENOMSG);
		close(fd);
	}
	max = ripc_msgctl(0, MSG_INFO, (struct msqid_ds *)&mi);
	CK(max >= 0);
	fprintf(f, "msgpool %d msgmap %d msgtql %d\n", mi.msgpool, mi.msgmap, mi.msgtql);
	for (int i = 0; i <= max; i++) {
		struct msqid_ds d;
		int id = ripc_msgctl(i, MSG_STAT_ANY, &d);
		ssize_t n;

		if (id < 0)
			continue;
		fprintf(f, "id %d key %#x seq %u uid %u gid %u cuid %u cgid %u mode %o qbytes %lu "
			"qnum %lu cbytes %lu stime %ld rtime %ld ctime %ld\n", id, d.msg_perm.__key,
			d.msg_perm.__seq, d.msg_perm.uid, d.msg_perm.gid, d.msg_perm.cuid,
			d.msg_perm.cgid, d.msg_perm.mode, d.msg_qbytes, d.msg_qnum, d.__msg_cbytes,
			d.msg_stime, d.msg_rtime, d.msg_ctime);
		for (long k = 0; (n = ripc_msgrcv(id, &m, BIG, k, MSG_COPY | IPC_NOWAIT)) >= 0; k++)
			fprintf(f, "  [%ld] type %ld len %zd hash %llx\n", k, m.mtype, n,
				hash(m.mtext, n));
		CK(errno == ENOMSG);
	}
	CK(ripc_msg_next_id(&next, NULL) == 0);
	fprintf(f, "msg_next_id %d\n", next);
	return 0;
}

/* describe() into a malloc'd string (*out). */
static int describe_str(char **out)
{
	size_t len;
	FILE *f = open_memstream(out, &len);
	int r;

	if (!f)
		return __LINE__;
	r = describe(f);
	fclose(f);
	return r;
}

/* Receives every message of the standard queues and checks each byte. */
static int drain_std(void)
{
	static char buf[BIG];
	struct big m;
	unsigned int prio;
	int order[64], id;

	for (int q = 0; q < (int)ARRAY_SIZE(MQS); q++) {
		int fd = ripc_mq_open(MQS[q].name, O_RDONLY | O_NONBLOCK);

		CK(fd >= 0);
		mq_order(q, order);
		for (int i = 0; i < MQS[q].nmsgs; i++) {
			int j = order[i];

			CK(ripc_mq_receive(fd, buf, sizeof(buf), &prio) == (ssize_t)mq_len(q, j));
			CK(prio == mq_prio(q, j));
			CK(check(buf, mq_len(q, j), MQ_SEED(q, j)));
		}
		CK(ripc_mq_receive(fd, buf, sizeof(buf), &prio) == -1 && errno == EAGAIN);
		close(fd);
	}
	for (int q = 0; q < (int)ARRAY_SIZE(MSGS); q++) {
		CK((id = msg_id(q)) >= 0);
		for (int j = 0; j < MSGS[q].nmsgs; j++) {
			CK(ripc_msgrcv(id, &m, BIG, 0, IPC_NOWAIT) == (ssize_t)msg_len(q, j));
			CK(m.mtype == msg_type(q, j));
			CK(check(m.mtext, msg_len(q, j), MSG_SEED(q, j)));
		}
		CK(ripc_msgrcv(id, &m, BIG, 0, IPC_NOWAIT) == -1 && errno == ENOMSG);
	}
	return 0;
}

/* Whether the caller's namespace has no rust_ipc queue: 1, 0, or -1. */
static int ns_empty(void)
{
	static char buf[1 << 16];
	struct msginfo mi;
	ssize_t n = ripc_list(RIPC_LIST_POSIX, buf, sizeof(buf));
	int lines = 0;

	if (n < 0 || ripc_msgctl(0, MSG_INFO, (struct msqid_ds *)&mi) < 0)
		return -1;
	for (char *p = buf; (p = strchr(p, '\n')); p++)
		lines++;
	return lines == 1 && mi.msgpool == 0 && mi.msgmap == 0;
}

/* ---- Peek ----------------------------------------------------------------- */

FIXTURE(peek) {
	char name[64];
	int q;
};

/* Priorities and lengths of the peek tests' messages, in send order. */
static const unsigned int PRIOS[] = { 3, 7, 3, 0, 7, 5 };
static const size_t LENS[] = { 10, 5000, 0, 8192, 33, 4096 };
/* Their receive order. */
static const int ORDER[] = { 1, 4, 5, 0, 2, 3 };

FIXTURE_SETUP(peek)
{
	struct mq_attr a = { .mq_maxmsg = 10, .mq_msgsize = BIG };
	static char buf[BIG];

	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	snprintf(self->name, sizeof(self->name), "/ripc_peek_test_%d", getpid());
	self->q = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &a));
	for (size_t i = 0; i < ARRAY_SIZE(PRIOS); i++) {
		fill(buf, LENS[i], 40 + i);
		SYS(ripc_mq_send(self->q, buf, LENS[i], PRIOS[i]));
	}
}

FIXTURE_TEARDOWN(peek)
{
	ripc_mq_unlink(self->name);
}

/* Receives everything: the messages of PRIOS/LENS in ORDER, exact bytes. */
#define ASSERT_ALL_THERE(q) do { \
	static char __b[BIG]; \
	struct mq_attr __a; \
	unsigned int __p; \
	SYS(ripc_mq_getattr(q, &__a)); \
	ASSERT_EQ((long)ARRAY_SIZE(ORDER), __a.mq_curmsgs); \
	for (size_t __i = 0; __i < ARRAY_SIZE(ORDER); __i++) { \
		int __j = ORDER[__i]; \
		ASSERT_EQ((ssize_t)LENS[__j], ripc_mq_receive(q, __b, sizeof(__b), &__p)); \
		ASSERT_EQ(PRIOS[__j], __p); \
		ASSERT_TRUE(check(__b, LENS[__j], 40 + __j)); \
	} \
} while (0)

TEST_F(peek, each_position_in_receive_order_with_priority_and_bytes)
{
	static char buf[BIG];
	unsigned int prio;

	for (int round = 0; round < 2; round++)
		for (size_t pos = 0; pos < ARRAY_SIZE(ORDER); pos++) {
			int j = ORDER[pos];

			memset(buf, 0xa5, sizeof(buf));
			prio = 12345;
			ASSERT_EQ((ssize_t)LENS[j], ripc_mq_peek(self->q, buf, sizeof(buf), &prio, pos));
			ASSERT_EQ(PRIOS[j], prio);
			ASSERT_TRUE(check(buf, LENS[j], 40 + j));
			/* Nothing written past the message. */
			if (LENS[j] < sizeof(buf))
				ASSERT_EQ((char)0xa5, buf[LENS[j]]);
		}
	ASSERT_ALL_THERE(self->q);
}

TEST_F(peek, batch_copies_many_in_one_call)
{
	static char bufs[8][BIG];
	struct ripc_mq_item it[8];

	for (int i = 0; i < 8; i++)
		it[i] = (struct ripc_mq_item){ .msg_ptr = PTR(bufs[i]), .msg_len = BIG,
					       .msg_prio = 999 };
	/* From position 1 on, more items than messages: the rest of the queue. */
	ASSERT_EQ(5, ripc_mq_peek_batch(self->q, it, 8, 1));
	for (int i = 0; i < 5; i++) {
		int j = ORDER[i + 1];

		ASSERT_EQ(LENS[j], it[i].msg_len);
		ASSERT_EQ(PRIOS[j], it[i].msg_prio);
		ASSERT_TRUE(check(bufs[i], LENS[j], 40 + j));
	}
	ASSERT_EQ((__u64)BIG, it[5].msg_len);
	ASSERT_EQ(999u, it[5].msg_prio);
	/* All of it from 0. */
	for (int i = 0; i < 8; i++)
		it[i].msg_len = BIG;
	ASSERT_EQ(6, ripc_mq_peek_batch(self->q, it, 6, 0));
	ASSERT_EQ(LENS[ORDER[0]], it[0].msg_len);
	ASSERT_EQ(LENS[ORDER[5]], it[5].msg_len);
	ASSERT_TRUE(check(bufs[5], LENS[ORDER[5]], 40 + ORDER[5]));
	/* A small buffer ends the batch there (EMSGSIZE if it is the first). */
	for (int i = 0; i < 8; i++)
		it[i].msg_len = BIG;
	it[2].msg_len = LENS[ORDER[2]] - 1;
	ASSERT_EQ(2, ripc_mq_peek_batch(self->q, it, 8, 0));
	ASSERT_ERRNO(EMSGSIZE, ripc_mq_peek_batch(self->q, it + 2, 6, 2));
	/* Past the end, and too many items. */
	it[0].msg_len = BIG;
	ASSERT_ERRNO(ENOMSG, ripc_mq_peek_batch(self->q, it, 1, 6));
	ASSERT_ERRNO(EINVAL, ripc_mq_peek_batch(self->q, it, RIPC_BATCH_MAX + 1, 0));
	ASSERT_EQ(0, ripc_mq_peek_batch(self->q, it, 0, 0));
	ASSERT_ALL_THERE(self->q);
}

TEST_F(peek, errors_leave_the_queue_untouched)
{
	static char buf[BIG];
	unsigned int prio;
	int wo = SYS(ripc_mq_open(self->name, O_WRONLY));
	int unbound = SYS(open(RIPC_DEVICE, O_RDWR | O_CLOEXEC));
	int file = SYS(open("/proc/self/stat", O_RDONLY | O_CLOEXEC));
	struct ripc_mq_item it = { .msg_ptr = PTR(buf), .msg_len = BIG };

	ASSERT_ERRNO(EBADF, ripc_mq_peek(-1, buf, sizeof(buf), &prio, 0));
	ASSERT_ERRNO(EBADF, ripc_mq_peek(wo, buf, sizeof(buf), &prio, 0));
	ASSERT_ERRNO(EBADF, ripc_mq_peek(unbound, buf, sizeof(buf), &prio, 0));
	ASSERT_ERRNO(EBADF, ripc_mq_peek(file, buf, sizeof(buf), &prio, 0));
	ASSERT_ERRNO(EBADF, ripc_mq_peek_batch(wo, &it, 1, 0));
	ASSERT_ERRNO(ENOMSG, ripc_mq_peek(self->q, buf, sizeof(buf), &prio, 6));
	ASSERT_ERRNO(ENOMSG, ripc_mq_peek(self->q, buf, sizeof(buf), &prio, SIZE_MAX));
	/* The buffer is compared with the message, not with mq_msgsize. */
	ASSERT_ERRNO(EMSGSIZE, ripc_mq_peek(self->q, buf, LENS[1] - 1, &prio, 0));
	ASSERT_EQ((ssize_t)LENS[1], ripc_mq_peek(self->q, buf, LENS[1], &prio, 0));
	ASSERT_EQ(0, ripc_mq_peek(self->q, NULL, 0, &prio, 4));
	ASSERT_EQ(3u, prio);
	ASSERT_ERRNO(EFAULT, ripc_mq_peek(self->q, NULL, BIG, &prio, 0));
	ASSERT_ERRNO(EFAULT, ripc_mq_peek(self->q, (char *)1, BIG, &prio, 5));
	it.msg_ptr = 1;
	ASSERT_ERRNO(EFAULT, ripc_mq_peek_batch(self->q, &it, 1, 0));
	ASSERT_ERRNO(EFAULT, ripc_mq_peek_batch(self->q, (void *)1, 1, 0));
	close(wo);
	close(unbound);
	close(file);
	ASSERT_ALL_THERE(self->q);
}

TEST(peek_batch_of_many_messages_in_parts)
{
	static char msg[BIG], bufs[200][1000];
	struct mq_attr a = { .mq_maxmsg = 200, .mq_msgsize = 2000 };
	struct ripc_mq_item it[200];
	int order[150], n = 0, q;
	char name[64];

	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	REQUIRE_CAP(CAP_SYS_RESOURCE);
	snprintf(name, sizeof(name), "/ripc_peek_many_%d", getpid());
	q = SYS(ripc_mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a));
	ripc_mq_unlink(name);
	/* 150 messages in 4 priorities: several parts of 32 messages. */
	for (int i = 0; i < 150; i++) {
		fill(msg, 100 + i * 5, 300 + i);
		SYS(ripc_mq_send(q, msg, 100 + i * 5, (unsigned int)(i % 4)));
	}
	for (int p = 3; p >= 0; p--)
		for (int i = p; i < 150; i += 4)
			order[n++] = i;
	for (int i = 0; i < 200; i++)
		it[i] = (struct ripc_mq_item){ .msg_ptr = PTR(bufs[i]), .msg_len = sizeof(bufs[i]) };
	ASSERT_EQ(147, ripc_mq_peek_batch(q, it, 200, 3));
	for (int k = 3; k < 150; k++) {
		int i = order[k];

		ASSERT_EQ((__u64)(100 + i * 5), it[k - 3].msg_len);
		ASSERT_EQ((__u32)(i % 4), it[k - 3].msg_prio);
		ASSERT_TRUE(check(bufs[k - 3], 100 + i * 5, 300 + i));
	}
	SYS(ripc_mq_getattr(q, &a));
	ASSERT_EQ(150, a.mq_curmsgs);
	close(q);
}

/*
 * msg_next_id gives any id up to INT_MAX, so a sequence number up to
 * INT_MAX / 32768 = 65535, one more than the allocation's cycle reaches:
 * such a queue dumps and comes back with its id (it was refused with
 * EBADMSG, so a namespace that held one could never be restored).
 */
TEST(a_queue_with_the_highest_id_comes_back)
{
	int top = INT_MAX - 32768 + 5, id, v;
	struct { long mtype; char c[4]; } m = { 3, "top" }, r;
	void *dump;
	size_t len;

	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	REQUIRE_CAP(CAP_CHECKPOINT_RESTORE);
	SYS(unshare(CLONE_NEWIPC));
	SYS(ripc_msg_next_id(&v, &top));
	id = SYS(ripc_msgget(0x5eed, IPC_CREAT | 0600));
	ASSERT_EQ(top, id);
	ASSERT_EQ(65535, id / 32768);
	SYS(ripc_msgsnd(id, &m, sizeof(m.c), 0));
	SYS(ripc_dump_alloc(&dump, &len));
	SYS(unshare(CLONE_NEWIPC));
	SYS(ripc_restore(dump, len));
	free(dump);
	ASSERT_EQ(top, ripc_msgget(0x5eed, 0));
	ASSERT_EQ((ssize_t)sizeof(r.c), ripc_msgrcv(top, &r, sizeof(r.c), 0, IPC_NOWAIT));
	ASSERT_EQ(3, r.mtype);
	ASSERT_EQ(0, memcmp(r.c, "top", 4));
	SYS(ripc_msgctl(top, IPC_RMID, NULL));
}

/* zlib's CRC-32, as the stream's trailer has it. */
static uint32_t crc32_z(const unsigned char *p, size_t n)
{
	uint32_t c = ~0u;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c >> 1 ^ (0xedb88320u & -(c & 1));
	}
	return ~c;
}

/*
 * A stream without System V records (here one with no record at all: its
 * header and trailer) leaves the namespace's System V id allocator as it
 * is: a msg_next_id set before stays, and so does the next id.
 */
TEST(a_stream_without_system_v_records_keeps_the_id_allocator)
{
	unsigned char s[40] = "RIPCDUMP";
	uint32_t v32, crc;
	uint64_t total = sizeof(s);
	int set = 5 * 32768 + 7, next, id;

	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	REQUIRE_CAP(CAP_SYS_ADMIN);
	v32 = RIPC_DUMP_VERSION;
	memcpy(s + 8, &v32, 4);
	v32 = 16;
	memcpy(s + 12, &v32, 4);
	memcpy(s + 16, "RIPCEND", 8);
	memcpy(s + 24, &total, 8);
	crc = crc32_z(s, 36);
	memcpy(s + 36, &crc, 4);
	SYS(unshare(CLONE_NEWIPC));
	id = SYS(ripc_msgget(IPC_PRIVATE, 0600));
	SYS(ripc_msgctl(id, IPC_RMID, NULL));
	SYS(ripc_msg_next_id(NULL, &set));
	SYS(ripc_restore(s, sizeof(s)));
	SYS(ripc_msg_next_id(&next, NULL));
	ASSERT_EQ(set, next);
	id = SYS(ripc_msgget(IPC_PRIVATE, 0600));
	ASSERT_EQ(set, id);
	SYS(ripc_msgctl(id, IPC_RMID, NULL));
}

/* Frames the stream of len bytes in s (its records there already): the
 * header, and the trailer with the stream's length and checksum. */
static void frame(unsigned char *s, size_t len)
{
	uint32_t v32 = RIPC_DUMP_VERSION, crc;
	uint64_t total = len;

	memcpy(s, "RIPCDUMP", 8);
	memcpy(s + 8, &v32, 4);
	v32 = 16;
	memcpy(s + 12, &v32, 4);
	memcpy(s + len - 24, "RIPCEND", 8);
	memcpy(s + len - 16, &total, 8);
	memset(s + len - 8, 0, 4);
	crc = crc32_z(s, len - 4);
	memcpy(s + len - 4, &crc, 4);
}

/*
 * A record is read to its end: the System V id allocator's record with
 * four bytes after its fields (its length says 20) is EBADMSG and sets
 * nothing; the same record without them (16) restores, and sets
 * msg_next_id (-1 in it).
 */
TEST(a_record_with_bytes_after_its_fields_is_ebadmsg)
{
	unsigned char s[16 + 16 + 20 + 24] = { 0 };
	/* seq, last index, cursor, msg_next_id */
	int32_t ids[4] = { 0, -1, 0, -1 };
	uint32_t head[4] = { RIPC_DUMP_SYSV_IDS, 0, 20, 0 };
	int set = 5 * 32768 + 7, next;

	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	REQUIRE_CAP(CAP_SYS_ADMIN);
	SYS(unshare(CLONE_NEWIPC));
	SYS(ripc_msg_next_id(NULL, &set));
	memcpy(s + 16, head, sizeof(head));
	memcpy(s + 32, ids, sizeof(ids));
	frame(s, sizeof(s));
	ASSERT_ERRNO(EBADMSG, ripc_restore(s, sizeof(s)));
	SYS(ripc_msg_next_id(&next, NULL));
	ASSERT_EQ(set, next);
	head[2] = 16;
	memcpy(s + 16, head, sizeof(head));
	frame(s, sizeof(s) - 4);
	SYS(ripc_restore(s, sizeof(s) - 4));
	SYS(ripc_msg_next_id(&next, NULL));
	ASSERT_EQ(-1, next);
}

/*
 * A buffer shorter than the magic and the version is compared as far as
 * it goes, not past it: "RIPCDUMP" in 8 bytes (or its first 5) is a
 * truncated stream (EBADMSG) whatever follows it in memory; 8 bytes that
 * are not the magic are not a stream (EINVAL).
 */
TEST(a_buffer_shorter_than_the_version_is_read_no_further)
{
	unsigned char s[12];

	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	REQUIRE_CAP(CAP_SYS_ADMIN);
	SYS(unshare(CLONE_NEWIPC));
	memcpy(s, "RIPCDUMP", 8);
	memset(s + 8, 0xff, 4);
	ASSERT_ERRNO(EBADMSG, ripc_restore(s, 8));
	ASSERT_ERRNO(EBADMSG, ripc_restore(s, 5));
	s[7] = 'Q';
	ASSERT_ERRNO(EINVAL, ripc_restore(s, 8));
	ASSERT_EQ(1, ns_empty());
}

/*
 * A stream that sets msg_next_id restores only where that sysctl could be
 * written: under a read-only /proc/sys (a container's), EROFS as for
 * RIPC_MSG_NEXT_ID, and nothing is made; where it can be, it is set.
 */
TEST(a_restore_that_sets_msg_next_id_needs_its_sysctl_writable)
{
	int set = 3 * 32768 + 11, next, id;
	size_t len;
	void *dump;
	pid_t pid;

	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	REQUIRE_CAP(CAP_SYS_ADMIN);
	SYS(unshare(CLONE_NEWIPC));
	id = SYS(ripc_msgget(IPC_PRIVATE, 0600));
	SYS(ripc_msg_next_id(NULL, &set));
	SYS(ripc_dump_alloc(&dump, &len));
	SYS(ripc_msgctl(id, IPC_RMID, NULL));
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(unshare(CLONE_NEWNS | CLONE_NEWIPC) == 0);
		CHILD_CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
		CHILD_CHECK(mount("/proc/sys", "/proc/sys", NULL, MS_BIND, NULL) == 0);
		CHILD_CHECK(mount(NULL, "/proc/sys", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY,
				  NULL) == 0);
		CHILD_CHECK(ripc_restore(dump, len) == -1 && errno == EROFS);
		CHILD_CHECK(ripc_msg_next_id(&next, NULL) == 0 && next == -1);
		CHILD_CHECK(ripc_msgctl(id, IPC_STAT, &(struct msqid_ds){ 0 }) == -1 &&
			    errno == EINVAL);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	SYS(unshare(CLONE_NEWIPC));
	SYS(ripc_restore(dump, len));
	SYS(ripc_msg_next_id(&next, NULL));
	ASSERT_EQ(set, next);
	SYS(ripc_msgctl(id, IPC_RMID, NULL));
	free(dump);
}

/* ---- Dump and restore ----------------------------------------------------- */

FIXTURE(ckpt) {
	void *dump;
	size_t len;
	char *before;
};

/* A new IPC namespace for the test (its process is the harness's fork),
 * with the standard queues, their description and their dump. */
FIXTURE_SETUP(ckpt)
{
	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	REQUIRE_CAP(CAP_SYS_ADMIN);
	/* Several namespaces' copies of the queues are charged at once. */
	SYS(setrlimit(RLIMIT_MSGQUEUE, &(struct rlimit){ RLIM_INFINITY, RLIM_INFINITY }));
	SYS(unshare(CLONE_NEWIPC));
	ASSERT_EQ(0, fill_std());
	ASSERT_EQ(0, describe_str(&self->before));
	SYS(ripc_dump_alloc(&self->dump, &self->len));
}

FIXTURE_TEARDOWN(ckpt)
{
	free(self->dump);
	free(self->before);
}

TEST_F(ckpt, restore_in_a_fresh_namespace_gives_every_stat_and_byte_back)
{
	void *again;
	size_t len;
	char *after;
	int next_before, next_after, id_before, id_after;

	/* The original goes on: the next IPC_PRIVATE id it gives. */
	SYS(ripc_msg_next_id(&next_before, NULL));
	SYS(unshare(CLONE_NEWIPC));
	ASSERT_EQ(1, ns_empty());
	SYS(ripc_restore(self->dump, self->len));
	ASSERT_EQ(0, describe_str(&after));
	ASSERT_STREQ(self->before, after);
	free(after);
	/* The stream of the restored namespace is the same, byte for byte. */
	SYS(ripc_dump_alloc(&again, &len));
	ASSERT_EQ(self->len, len);
	ASSERT_EQ(0, memcmp(self->dump, again, len));
	free(again);
	/* Ids go on as they would have (msg_next_id, then the cycle). */
	SYS(ripc_msg_next_id(&next_after, NULL));
	ASSERT_EQ(NEXT_ID, next_before);
	ASSERT_EQ(NEXT_ID, next_after);
	id_after = SYS(ripc_msgget(IPC_PRIVATE, 0600));
	ASSERT_EQ(NEXT_ID, id_after);
	id_after = SYS(ripc_msgget(IPC_PRIVATE, 0600));
	/* In a second restored namespace: every message, received, is what
	 * was sent; then the same two calls give the same ids. */
	SYS(unshare(CLONE_NEWIPC));
	SYS(ripc_restore(self->dump, self->len));
	ASSERT_EQ(0, drain_std());
	SYS(ripc_msgget(IPC_PRIVATE, 0600));
	id_before = SYS(ripc_msgget(IPC_PRIVATE, 0600));
	ASSERT_EQ(id_before, id_after);
	ASSERT_NE(0, id_after / 32768) TH_LOG("sequence numbers are not trivial");
}

/*
 * A restored queue's statistics start as those of a new queue sent its
 * messages: the peaks are at least what it holds (they were 0).
 */
TEST_F(ckpt, a_restored_queues_peaks_are_at_least_what_it_holds)
{
	struct ripc_queue_stats st;
	__u64 mq_bytes = 0, msg_bytes = 0;
	int fd, id;

	for (int j = 0; j < MQS[0].nmsgs; j++)
		mq_bytes += mq_len(0, j);
	for (int j = 0; j < MSGS[1].nmsgs; j++)
		msg_bytes += msg_len(1, j);
	SYS(unshare(CLONE_NEWIPC));
	SYS(ripc_restore(self->dump, self->len));
	fd = SYS(ripc_mq_open(MQS[0].name, O_RDONLY));
	SYS(ripc_mq_stats(fd, &st, 0));
	ASSERT_EQ((__u64)MQS[0].nmsgs, st.msgs);
	ASSERT_EQ(mq_bytes, st.bytes);
	ASSERT_LE(st.msgs, st.peak_msgs);
	ASSERT_LE(st.bytes, st.peak_bytes);
	close(fd);
	id = SYS(ripc_msgget(MSGS[1].key, 0));
	SYS(ripc_msg_stats(id, &st, 0));
	ASSERT_EQ((__u64)MSGS[1].nmsgs, st.msgs);
	ASSERT_EQ(msg_bytes, st.bytes);
	ASSERT_LE(st.msgs, st.peak_msgs);
	ASSERT_LE(st.bytes, st.peak_bytes);
}

TEST_F(ckpt, restore_into_a_namespace_with_queues_is_eexist_and_creates_nothing)
{
	unsigned char *bad = malloc(self->len);
	char *after;
	uint32_t crc;
	int fd, id;

	ASSERT_NE(NULL, bad);
	/* The dumped namespace itself. */
	ASSERT_ERRNO(EEXIST, ripc_restore(self->dump, self->len));
	ASSERT_EQ(0, describe_str(&after));
	ASSERT_STREQ(self->before, after);
	free(after);
	/* A namespace with one POSIX queue of another name. */
	SYS(unshare(CLONE_NEWIPC));
	fd = SYS(ripc_mq_open("/other", O_RDWR | O_CREAT, 0600, NULL));
	ASSERT_ERRNO(EEXIST, ripc_restore(self->dump, self->len));
	ASSERT_ERRNO(ENOENT, ripc_mq_open(MQS[0].name, O_RDONLY));
	ASSERT_ERRNO(ENOENT, ripc_msgget(MSGS[0].key, 0));
	close(fd);
	SYS(ripc_mq_unlink("/other"));
	/* One with a System V queue only; EEXIST also for a stream whose
	 * first record's kind would be refused (EBADMSG): the namespace is
	 * looked at before any record. */
	id = SYS(ripc_msgget(0x1234, IPC_CREAT | 0600));
	ASSERT_ERRNO(EEXIST, ripc_restore(self->dump, self->len));
	memcpy(bad, self->dump, self->len);
	bad[16] = 99;
	crc = crc32_z(bad, self->len - 4);
	memcpy(bad + self->len - 4, &crc, 4);
	ASSERT_ERRNO(EEXIST, ripc_restore(bad, self->len));
	free(bad);
	ASSERT_ERRNO(ENOENT, ripc_mq_open(MQS[0].name, O_RDONLY));
	SYS(ripc_msgctl(id, IPC_RMID, NULL));
	ASSERT_EQ(1, ns_empty());
	/* Once empty, it works. */
	SYS(ripc_restore(self->dump, self->len));
	ASSERT_EQ(0, drain_std());
}

TEST_F(ckpt, truncated_or_corrupted_streams_are_refused_and_create_nothing)
{
	unsigned char *s = malloc(self->len + 16);
	size_t cuts[] = { 0, 8, 16, 39, 40, self->len / 2, self->len - 24, self->len - 1 };
	/* A record header, a name, a message's length, text, the trailer. */
	size_t flips[] = { 16, 20, 24, 60, 100, 1000, self->len / 2, self->len - 20,
			   self->len - 9, self->len - 1 };

	ASSERT_NE(NULL, s);
	SYS(unshare(CLONE_NEWIPC));
	for (size_t i = 0; i < ARRAY_SIZE(cuts); i++) {
		ASSERT_ERRNO(EBADMSG, ripc_restore(self->dump, cuts[i]));
		ASSERT_EQ(1, ns_empty());
	}
	for (size_t i = 0; i < ARRAY_SIZE(flips); i++) {
		memcpy(s, self->dump, self->len);
		s[flips[i]] ^= 0x10;
		ASSERT_ERRNO(EBADMSG, ripc_restore(s, self->len));
		ASSERT_EQ(1, ns_empty());
	}
	/* Bytes after the trailer. */
	memcpy(s, self->dump, self->len);
	memset(s + self->len, 0, 16);
	ASSERT_ERRNO(EBADMSG, ripc_restore(s, self->len + 16));
	/* Not a stream of this version: the magic, the version; also in
	 * buffers too short for a stream (a short stream of this version is
	 * a truncated one, above). */
	for (size_t at = 0; at < 12; at += 11) {
		memcpy(s, self->dump, self->len);
		s[at] ^= 1;
		ASSERT_ERRNO(EINVAL, ripc_restore(s, self->len));
		ASSERT_ERRNO(EINVAL, ripc_restore(s, 16));
		ASSERT_ERRNO(EINVAL, ripc_restore(s, at + 1));
	}
	ASSERT_ERRNO(EFAULT, ripc_restore((void *)1, self->len));
	ASSERT_EQ(1, ns_empty());
	/* The stream itself is fine. */
	SYS(ripc_restore(self->dump, self->len));
	ASSERT_EQ(0, drain_std());
	free(s);
}

TEST_F(ckpt, small_buffer_gets_the_length_and_a_prefix)
{
	unsigned char *s = malloc(self->len + 1);

	ASSERT_NE(NULL, s);
	memset(s, 0xa5, self->len + 1);
	ASSERT_EQ((ssize_t)self->len, ripc_dump(s, 100));
	ASSERT_EQ(0, memcmp(s, self->dump, 100));
	ASSERT_EQ(0xa5, s[100]);
	ASSERT_EQ((ssize_t)self->len, ripc_dump(NULL, 0));
	ASSERT_EQ((ssize_t)self->len, ripc_dump(s, self->len + 1));
	ASSERT_EQ(0, memcmp(s, self->dump, self->len));
	ASSERT_EQ(0, memcmp(s, "RIPCDUMP", 8));
	ASSERT_EQ(0, memcmp(s + self->len - 24, "RIPCEND", 8));
	ASSERT_ERRNO(EFAULT, ripc_dump((void *)1, self->len));
	/* A buffer whose end passes the address space's (it spun), also
	 * when the stream would fit in the part of it that is there:
	 * nothing is written. */
	ASSERT_ERRNO(EFAULT, ripc_dump((void *)-16L, PAGE));
	memset(s, 0xa5, self->len + 1);
	ASSERT_ERRNO(EFAULT, ripc_dump(s, SIZE_MAX));
	ASSERT_EQ(0xa5, s[0]);
	free(s);
}

struct dumper {
	void *buf;
	size_t len;
	ssize_t ret;
	int err;
};

static void *dump_main(void *arg)
{
	struct dumper *d = arg;

	d->ret = ripc_dump(d->buf, d->len);
	d->err = errno;
	return NULL;
}

static int ops_done;

/* What the dump's locks would block: a lookup by name, a POSIX send, a
 * System V lookup by key and send. */
static void *ops_main(void *arg)
{
	struct { long mtype; char mtext[4]; } m = { 1, "x" };
	mqd_t q = ripc_mq_open("/ckpt_alpha", O_RDWR | O_NONBLOCK);
	int id = ripc_msgget(MSGS[0].key, 0);

	(void)arg;
	if (q >= 0 && ripc_mq_send(q, "x", 1, 0) == 0 && id >= 0 &&
	    ripc_msgsnd(id, &m, 1, IPC_NOWAIT) == 0)
		__atomic_store_n(&ops_done, 1, __ATOMIC_SEQ_CST);
	if (q >= 0)
		ripc_mq_close(q);
	return NULL;
}

/*
 * A dump whose buffer has a page that is not there (here a userfaultfd
 * page, resolved only at the end) waits for it with no lock held: the
 * namespace's queues work meanwhile (a dump copied its stream under the
 * names and queue locks, so a stalled page stalled them all).  Once the
 * page comes, the dump completes.
 */
TEST_F(ckpt, a_dump_waiting_for_its_buffer_holds_no_lock)
{
	size_t size = (self->len + 2 * PAGE) & ~(size_t)(PAGE - 1);
	char *buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct uffdio_register reg = { .range = { .start = (__u64)(uintptr_t)(buf + PAGE),
						  .len = PAGE },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_zeropage z = { .range = reg.range };
	struct dumper d = { .buf = buf, .len = size };
	struct pollfd p = { .events = POLLIN };
	struct uffd_msg ev;
	struct timespec dl;
	char *want, *got;
	pthread_t dt, ot;
	int uffd, ops_in_time;

	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_LT((size_t)2 * PAGE, self->len) TH_LOG("the stream must span the trap page");
	uffd = uffd_open();
	if (uffd < 0)
		SKIP(return, "userfaultfd: %s", strerrorname_np(errno));
	memset(buf, 0, PAGE);
	memset(buf + 2 * PAGE, 0, size - 2 * PAGE);
	SYS(ioctl(uffd, UFFDIO_REGISTER, &reg));
	ops_done = 0;
	ASSERT_EQ(0, pthread_create(&dt, NULL, dump_main, &d));
	p.fd = uffd;
	ASSERT_EQ(1, poll(&p, 1, 5000)) TH_LOG("the dump did not fault on the page");
	ASSERT_EQ((ssize_t)sizeof(ev), read(uffd, &ev, sizeof(ev)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, ev.event);
	/* The dump waits for the page: the queues work meanwhile. */
	ASSERT_EQ(0, pthread_create(&ot, NULL, ops_main, NULL));
	dl = deadline_ms(3000);
	ops_in_time = pthread_timedjoin_np(ot, NULL, &dl) == 0;
	SYS(ioctl(uffd, UFFDIO_ZEROPAGE, &z));
	if (!ops_in_time)
		ASSERT_EQ(0, pthread_join(ot, NULL));
	ASSERT_EQ(0, pthread_join(dt, NULL));
	ASSERT_TRUE(ops_in_time) TH_LOG("the queues waited for the dump's page");
	ASSERT_EQ(1, __atomic_load_n(&ops_done, __ATOMIC_SEQ_CST));
	/* The dump came out whole, with the two messages sent meanwhile. */
	ASSERT_LT(self->len, (size_t)d.ret) TH_LOG("dump: %zd (%s)", d.ret, strerrorname_np(d.err));
	ASSERT_EQ(0, memcmp(buf, "RIPCDUMP", 8));
	ASSERT_EQ(0, memcmp(buf + d.ret - 24, "RIPCEND", 8));
	/* Restored, it is the namespace as it is now: every queue, message
	 * and stat, the two messages (one "x" each) included. */
	ASSERT_EQ(0, describe_str(&want));
	ASSERT_NE(NULL, strstr(want, "len 1 hash")) TH_LOG("no 1-byte message:\n%s", want);
	SYS(unshare(CLONE_NEWIPC));
	SYS(ripc_restore(buf, (size_t)d.ret));
	ASSERT_EQ(0, describe_str(&got));
	ASSERT_STREQ(want, got);
	free(want);
	free(got);
	close(uffd);
	munmap(buf, size);
}

static int churn_stop;

/* Takes a message and sends it back, until told to stop; the number of
 * rounds, or -1 if a call failed. */
static void *churn_main(void *arg)
{
	static char text[8192];
	mqd_t q = *(mqd_t *)arg;
	long n = 0;

	while (!__atomic_load_n(&churn_stop, __ATOMIC_RELAXED)) {
		if (ripc_mq_receive(q, text, sizeof(text), NULL) != (ssize_t)sizeof(text) ||
		    ripc_mq_send(q, text, sizeof(text), 0))
			return (void *)-1L;
		n++;
	}
	return (void *)n;
}

/*
 * A dump writes a long queue's record a part at a time (64 KiB), dropping
 * the queue's lock in between; a queue that changed meanwhile has its
 * record written again from its start (or the dump fails, EAGAIN, after 8
 * tries), so that it is the queue as it was at one moment.  Here a thread
 * takes a message of 8 KiB and sends one back, again and again, while
 * dumps are made of the queue of 32: each dump restores a queue of 31 or
 * 32 messages, never one with the message taken after the dump wrote it
 * and the one sent back after that (33).
 */
TEST(a_dump_of_a_queue_changing_between_its_parts_is_the_queue_at_one_moment)
{
	pid_t pid;

	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	REQUIRE_CAP(CAP_SYS_ADMIN);
	pid = fork_child();
	if (pid == 0) {
		struct mq_attr a = { .mq_maxmsg = 32, .mq_msgsize = 8192 };
		struct timespec t0, t1;
		static char text[8192];
		int good = 0, busy = 0, bad = 0, why = 0;
		pthread_t t;
		void *rounds;
		mqd_t q;

		CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
		CHILD_CHECK(setrlimit(RLIMIT_MSGQUEUE,
				      &(struct rlimit){ RLIM_INFINITY, RLIM_INFINITY }) == 0);
		CHILD_CHECK((q = ripc_mq_open("/churn", O_RDWR | O_CREAT, 0600, &a)) >= 0);
		for (int i = 0; i < 32; i++)
			CHILD_CHECK(ripc_mq_send(q, text, sizeof(text), 0) == 0);
		churn_stop = 0;
		CHILD_CHECK(pthread_create(&t, NULL, churn_main, &q) == 0);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0; i < 300 && !bad; i++) {
			size_t len;
			void *dump;
			pid_t c;

			clock_gettime(CLOCK_MONOTONIC, &t1);
			if (t1.tv_sec - t0.tv_sec >= 5)
				break;
			if (ripc_dump_alloc(&dump, &len)) {
				CHILD_CHECK(errno == EAGAIN);
				busy++;
				continue;
			}
			c = fork();
			if (c == 0) {
				struct mq_attr g;
				mqd_t r;

				if (unshare(CLONE_NEWIPC) || ripc_restore(dump, len))
					_exit(2);
				r = ripc_mq_open("/churn", O_RDONLY, 0, NULL);
				if (r < 0 || ripc_mq_getattr(r, &g))
					_exit(3);
				_exit(g.mq_curmsgs == 31 || g.mq_curmsgs == 32 ? 0 : 4);
			}
			CHILD_CHECK(c > 0);
			why = wait_child(c);
			if (why)
				bad++;
			else
				good++;
			free(dump);
		}
		__atomic_store_n(&churn_stop, 1, __ATOMIC_RELAXED);
		CHILD_CHECK(pthread_join(t, &rounds) == 0);
		fprintf(stderr, "# %d dumps restored, %d EAGAIN, %d not at one moment "
			"(2: not restored, 3: no queue, 4: not 31 or 32 messages: %d); %ld rounds\n",
			good, busy, bad, why, (long)rounds);
		CHILD_CHECK((long)rounds > 0);
		CHILD_CHECK(bad == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/* Sets the effective capabilities to CAP_SYS_RESOURCE (the queues' sizes
 * are beyond a new namespace's limits) and cap (-1: no other). */
static int only_cap(int cap)
{
	return caps_in_effect(cap, 1);
}

/* Only cap, cap2 and CAP_SYS_RESOURCE in effect. */
static int only_caps(int cap, int cap2)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (caps_in_effect(cap, 1) || syscall(SYS_capget, &h, d))
		return -1;
	d[cap2 / 32].effective |= 1u << (cap2 % 32);
	return syscall(SYS_capset, &h, d);
}

/* Becomes uid (gid, no supplementary groups) with only capability cap, or two. */
static int become_uid_with(uid_t uid, int cap, int cap2)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { 0 };

	d[cap / 32].effective |= 1u << (cap % 32);
	if (cap2 >= 0)
		d[cap2 / 32].effective |= 1u << (cap2 % 32);
	d[0].permitted = d[0].effective;
	d[1].permitted = d[1].effective;
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) || setgroups(0, NULL) ||
	    setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
		return -1;
	return syscall(SYS_capset, &h, d) ? -1 : 0;
}

/* In a child of a child: a dump as uid 1000 with CAP_CHECKPOINT_RESTORE
 * (and cap2): 0 if it succeeds, else its errno. */
static int dump_as_other(int cap2)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		char buf[4096];

		if (become_uid_with(1000, CAP_CHECKPOINT_RESTORE, cap2))
			_exit(100);
		_exit(ripc_dump(buf, sizeof(buf)) > 0 ? 0 : errno);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * A dump reads every queue only as the dumper could read it natively: a
 * System V queue with read permission or CAP_IPC_OWNER (msgrcv(MSG_COPY):
 * ipcperms), a POSIX queue as an open for reading would (its mode, or
 * CAP_DAC_READ_SEARCH); else EACCES.
 */
TEST_F(ckpt, dump_needs_read_permission_on_every_queue)
{
	REQUIRE_CAP(CAP_SYS_ADMIN);
	pid_t pid = fork_child();

	if (pid == 0) {
		struct msqid_ds ds;
		int id, fd;

		CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
		CHILD_CHECK(dump_as_other(-1) == 0);
		CHILD_CHECK((id = ripc_msgget(IPC_PRIVATE, IPC_CREAT | 0600)) >= 0);
		CHILD_CHECK(dump_as_other(-1) == EACCES);
		CHILD_CHECK(dump_as_other(CAP_IPC_OWNER) == 0);
		CHILD_CHECK(ripc_msgctl(id, IPC_STAT, &ds) == 0);
		ds.msg_perm.mode = 0604;
		CHILD_CHECK(ripc_msgctl(id, IPC_SET, &ds) == 0);
		CHILD_CHECK(dump_as_other(-1) == 0);
		CHILD_CHECK((fd = ripc_mq_open("/ckpt_private", O_RDWR | O_CREAT | O_EXCL, 0600,
					       NULL)) >= 0);
		CHILD_CHECK(dump_as_other(-1) == EACCES);
		CHILD_CHECK(dump_as_other(CAP_DAC_READ_SEARCH) == 0);
		CHILD_CHECK(ripc_mq_close(fd) == 0 && ripc_mq_unlink("/ckpt_private") == 0);
		CHILD_CHECK((fd = ripc_mq_open("/ckpt_private", O_RDWR | O_CREAT | O_EXCL, 0604,
					       NULL)) >= 0);
		CHILD_CHECK(dump_as_other(-1) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

TEST_F(ckpt, dump_and_restore_need_checkpoint_restore_or_sys_admin)
{
	static const int caps[] = { -1, CAP_IPC_OWNER, CAP_CHECKPOINT_RESTORE, CAP_SYS_ADMIN };

	for (size_t i = 0; i < ARRAY_SIZE(caps); i++) {
		pid_t pid = fork_child();

		if (pid == 0) {
			int allowed = caps[i] == CAP_CHECKPOINT_RESTORE || caps[i] == CAP_SYS_ADMIN;
			char buf[64];

			CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
			CHILD_CHECK(only_cap(caps[i]) == 0);
			if (allowed) {
				CHILD_CHECK(ripc_dump(buf, sizeof(buf)) > 0);
				/* Its POSIX queues are other users': CAP_CHOWN too
				 * (a_restore_gives_a_queue_away_only_with_cap_chown). */
				CHILD_CHECK(ripc_restore(self->dump, self->len) == -1 &&
					    errno == EPERM);
				CHILD_CHECK(ns_empty() == 1);
				CHILD_CHECK(only_caps(caps[i], CAP_CHOWN) == 0);
				CHILD_CHECK(ripc_restore(self->dump, self->len) == 0);
				CHILD_CHECK(drain_std() == 0);
			} else {
				CHILD_CHECK(ripc_dump(buf, sizeof(buf)) == -1 && errno == EPERM);
				CHILD_CHECK(ripc_restore(self->dump, self->len) == -1 && errno == EPERM);
				CHILD_CHECK(ns_empty() == 1);
			}
			_exit(0);
		}
		ASSERT_EQ(0, wait_child(pid)) TH_LOG("capability %d", caps[i]);
	}
	/* Nor as another user. */
	pid_t pid = fork_child();

	if (pid == 0) {
		CHILD_CHECK(drop_privs() == 0);
		CHILD_CHECK(ripc_dump(NULL, 0) == -1 && errno == EPERM);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/*
 * A System V queue's msg_qbytes above msgmnb is restored only with
 * CAP_SYS_RESOURCE, as IPC_SET sets it: else EPERM, and nothing is created.
 */
/* In a child: the stream restores with CAP_CHECKPOINT_RESTORE and
 * CAP_SYS_RESOURCE, and without the latter is EPERM and makes nothing. */
static void restores_only_with_sys_resource(void *dump, size_t len)
{
	CHILD_CHECK(caps_in_effect(CAP_CHECKPOINT_RESTORE, 0) == 0);
	CHILD_CHECK(ripc_restore(dump, len) == -1 && errno == EPERM);
	CHILD_CHECK(ns_empty() == 1);
	CHILD_CHECK(caps_in_effect(CAP_CHECKPOINT_RESTORE, 1) == 0);
	CHILD_CHECK(ripc_restore(dump, len) == 0);
}

/*
 * A restored System V queue holds no more than a send could have put in it:
 * at most max(msg_qbytes, msgmnb) bytes and as many messages, else EPERM
 * without CAP_SYS_RESOURCE (as raising msg_qbytes past msgmnb needs), and
 * nothing is created.  Such queues come from a msg_qbytes raised, filled,
 * then lowered.  Before, a stream put any number of messages on any queue.
 */
TEST_F(ckpt, restoring_more_than_msgmnb_holds_needs_sys_resource)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		struct { long mtype; char text[1000]; } m = { 1, "held" };
		/* Bytes past msgmnb (16 384) in 17 messages, or messages past it. */
		const int count[2] = { 17, 16385 }, size[2] = { 1000, 0 };

		alarm(60);	/* 16 402 sends and four restores: slow on the debug kernel */
		CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
		for (int k = 0; k < 2; k++) {
			struct msqid_ds ds;
			void *dump;
			size_t len;
			int id = ripc_msgget(IPC_PRIVATE, 0600);

			CHILD_CHECK(id >= 0 && ripc_msgctl(id, IPC_STAT, &ds) == 0);
			ds.msg_qbytes = 50000;
			CHILD_CHECK(ripc_msgctl(id, IPC_SET, &ds) == 0);
			for (int i = 0; i < count[k]; i++)
				CHILD_CHECK(ripc_msgsnd(id, &m, size[k], IPC_NOWAIT) == 0);
			ds.msg_qbytes = 16384;
			CHILD_CHECK(ripc_msgctl(id, IPC_SET, &ds) == 0);
			CHILD_CHECK(ripc_dump_alloc(&dump, &len) == 0);
			CHILD_CHECK(ripc_msgctl(id, IPC_RMID, NULL) == 0);
			restores_only_with_sys_resource(dump, len);
			CHILD_CHECK(ripc_msgctl(id, IPC_STAT, &ds) == 0);
			CHILD_CHECK(ds.msg_qnum == (msgqnum_t)count[k]);
			CHILD_CHECK(ds.msg_cbytes == (unsigned long)(count[k] * size[k]));
			CHILD_CHECK(ds.msg_qbytes == 16384);
			CHILD_CHECK(ripc_msgctl(id, IPC_RMID, NULL) == 0);
			free(dump);
		}
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/*
 * A restored POSIX queue is made as mq_open(O_CREAT) makes one in the
 * namespace's mqueue root: EROFS on a read-only mount, EACCES without write
 * permission there; and its owner must be mapped by the user namespace that
 * owns the IPC namespace (EOVERFLOW, as a chown of an mqueue file), as for a
 * host's root that joined a container's IPC namespace alone.  Nothing is
 * created then.  Before, the queues were made anyway.
 */
TEST(a_posix_restore_obeys_the_mqueue_root_and_its_owners_mapping)
{
	pid_t pid;

	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	REQUIRE_CAP(CAP_SYS_ADMIN);
	pid = fork_child();
	if (pid == 0) {
		char dir[] = "/tmp/ckpt_mqXXXXXX", c;
		int ready[2], go[2], fd;
		void *dump;
		size_t len;
		pid_t owner, c1;

		/* A queue of uid 1000's, dumped. */
		CHILD_CHECK(unshare(CLONE_NEWIPC | CLONE_NEWNS) == 0);
		owner = fork_child();
		if (owner == 0) {
			CHILD_CHECK(become_uid(1000) == 0);
			CHILD_CHECK(ripc_mq_open("/own", O_RDWR | O_CREAT, 0600, NULL) >= 0);
			_exit(0);
		}
		CHILD_CHECK(wait_child(owner) == 0);
		CHILD_CHECK(ripc_dump_alloc(&dump, &len) == 0);
		/* A fresh namespace whose mqueue root is read-only, then not the
		 * caller's to write in (without CAP_DAC_OVERRIDE), then writable. */
		CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
		CHILD_CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
		CHILD_CHECK(mkdtemp(dir) != NULL);
		CHILD_CHECK(mount("mqueue", dir, "mqueue", 0, NULL) == 0);
		CHILD_CHECK(mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0);
		CHILD_CHECK(ripc_restore(dump, len) == -1 && errno == EROFS);
		CHILD_CHECK(ns_empty() == 1);
		CHILD_CHECK(mount(NULL, dir, NULL, MS_REMOUNT, NULL) == 0);
		CHILD_CHECK(chown(dir, 1000, -1) == 0 && chmod(dir, 0755) == 0);
		c1 = fork_child();
		if (c1 == 0) {
			CHILD_CHECK(caps_in_effect(CAP_CHECKPOINT_RESTORE, 0) == 0);
			CHILD_CHECK(ripc_restore(dump, len) == -1 && errno == EACCES);
			CHILD_CHECK(ns_empty() == 1);
			_exit(0);
		}
		CHILD_CHECK(wait_child(c1) == 0);
		CHILD_CHECK(chmod(dir, 01777) == 0);
		CHILD_CHECK(ripc_restore(dump, len) == 0);
		CHILD_CHECK(ripc_mq_unlink("/own") == 0);
		CHILD_CHECK(umount(dir) == 0 && rmdir(dir) == 0);
		/* A container's IPC namespace whose user namespace maps root alone. */
		CHILD_CHECK(pipe(ready) == 0 && pipe(go) == 0);
		c1 = fork_child();
		if (c1 == 0) {
			CHILD_CHECK(unshare(CLONE_NEWUSER) == 0);
			CHILD_CHECK(write_file("/proc/self/setgroups", "deny") == 0);
			CHILD_CHECK(write_file("/proc/self/uid_map", "0 0 1") == 0);
			CHILD_CHECK(write_file("/proc/self/gid_map", "0 0 1") == 0);
			CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
			CHILD_CHECK(write(ready[1], "r", 1) == 1);
			CHILD_CHECK(read(go[0], &c, 1) == 1);
			_exit(0);
		}
		CHILD_CHECK(read(ready[0], &c, 1) == 1);
		{
			char path[64];

			snprintf(path, sizeof(path), "/proc/%d/ns/ipc", c1);
			fd = open(path, O_RDONLY | O_CLOEXEC);
		}
		CHILD_CHECK(fd >= 0 && setns(fd, CLONE_NEWIPC) == 0);
		CHILD_CHECK(ripc_restore(dump, len) == -1 && errno == EOVERFLOW);
		CHILD_CHECK(ns_empty() == 1);
		CHILD_CHECK(write(go[1], "g", 1) == 1);
		CHILD_CHECK(wait_child(c1) == 0);
		free(dump);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/*
 * A restored queue's owner is one the restorer could give a file it made
 * (chown's rules): itself and one of its groups, else CAP_CHOWN; for a
 * System V queue that is its creator (its owner is any, as the creator's
 * IPC_SET sets it).  CAP_CHECKPOINT_RESTORE (or CAP_SYS_ADMIN) alone
 * restores root's queues (a System V one owned by uid 4242), not uid
 * 1000's (EPERM, nothing created); with CAP_CHOWN too, it does.  Before,
 * the restorer could plant queues of any owner and creator.
 */
TEST(a_restore_gives_a_queue_away_only_with_cap_chown)
{
	pid_t pid;

	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	REQUIRE_CAP(CAP_SYS_ADMIN);
	pid = fork_child();
	if (pid == 0) {
		void *mine, *theirs[2];
		size_t mine_len, theirs_len[2];
		struct msqid_ds ds;
		pid_t owner, c1;
		int fd, id;

		CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
		CHILD_CHECK((fd = ripc_mq_open("/mine", O_RDWR | O_CREAT, 0600, NULL)) >= 0);
		close(fd);
		CHILD_CHECK((id = ripc_msgget(IPC_PRIVATE, 0600)) >= 0);
		CHILD_CHECK(ripc_msgctl(id, IPC_STAT, &ds) == 0);
		ds.msg_perm.uid = 4242;
		CHILD_CHECK(ripc_msgctl(id, IPC_SET, &ds) == 0);
		CHILD_CHECK(ripc_dump_alloc(&mine, &mine_len) == 0);
		/* uid 1000's POSIX queue, then its System V queue. */
		for (int k = 0; k < 2; k++) {
			CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
			owner = fork_child();
			if (owner == 0) {
				CHILD_CHECK(become_uid(1000) == 0);
				if (k == 0)
					CHILD_CHECK(ripc_mq_open("/theirs", O_RDWR | O_CREAT, 0600,
								 NULL) >= 0);
				else
					CHILD_CHECK(ripc_msgget(IPC_PRIVATE, 0600) >= 0);
				_exit(0);
			}
			CHILD_CHECK(wait_child(owner) == 0);
			CHILD_CHECK(ripc_dump_alloc(&theirs[k], &theirs_len[k]) == 0);
		}
		for (int cap = 0; cap < 2; cap++) {
			CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
			c1 = fork_child();
			if (c1 == 0) {
				CHILD_CHECK(caps_in_effect(cap ? CAP_SYS_ADMIN : CAP_CHECKPOINT_RESTORE,
							   0) == 0);
				for (int k = 0; k < 2; k++) {
					CHILD_CHECK(ripc_restore(theirs[k], theirs_len[k]) == -1 &&
						    errno == EPERM);
					CHILD_CHECK(ns_empty() == 1);
				}
				CHILD_CHECK(ripc_restore(mine, mine_len) == 0);
				CHILD_CHECK(ripc_msgctl(id, IPC_STAT, &ds) == 0);
				CHILD_CHECK(ds.msg_perm.uid == 4242 && ds.msg_perm.cuid == 0);
				CHILD_CHECK(ripc_msgctl(id, IPC_RMID, NULL) == 0);
				CHILD_CHECK((fd = ripc_mq_open("/mine", O_RDWR, 0, NULL)) >= 0);
				CHILD_CHECK(ripc_mq_unlink("/mine") == 0);
				_exit(0);
			}
			CHILD_CHECK(wait_child(c1) == 0);
		}
		/* With CAP_CHOWN (root's whole set): uid 1000's queues, as dumped. */
		for (int k = 0; k < 2; k++) {
			CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
			CHILD_CHECK(ripc_restore(theirs[k], theirs_len[k]) == 0);
			owner = fork_child();
			if (owner == 0) {
				struct msginfo info;
				int last;

				CHILD_CHECK(become_uid(1000) == 0);
				if (k == 0) {
					CHILD_CHECK((fd = ripc_mq_open("/theirs", O_RDWR, 0, NULL)) >= 0);
					CHILD_CHECK(ripc_mq_fchmod(fd, 0640) == 0);
					CHILD_CHECK(ripc_mq_unlink("/theirs") == 0);
				} else {
					last = ripc_msgctl(0, MSG_INFO, (struct msqid_ds *)&info);
					CHILD_CHECK(last >= 0);
					CHILD_CHECK((id = ripc_msgctl(last, MSG_STAT, &ds)) >= 0);
					CHILD_CHECK(ds.msg_perm.cuid == 1000 && ds.msg_perm.uid == 1000);
					CHILD_CHECK(ripc_msgctl(id, IPC_RMID, NULL) == 0);
				}
				_exit(0);
			}
			CHILD_CHECK(wait_child(owner) == 0);
			free(theirs[k]);
		}
		free(mine);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/*
 * Without CAP_CHOWN a restorer may give a queue one of its supplementary
 * groups, as chown's chgrp_ok lets a file's owner give it any group it is
 * in (in_group_p): root's POSIX queue of group 4242 is restored with only
 * CAP_CHECKPOINT_RESTORE by a restorer in group 4242, and refused (EPERM,
 * nothing made) to one that is not.
 */
TEST(a_restore_gives_a_queue_a_supplementary_group_of_the_restorer)
{
	pid_t pid;

	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	REQUIRE_CAP(CAP_SYS_ADMIN);
	pid = fork_child();
	if (pid == 0) {
		gid_t group = 4242;
		size_t len;
		void *dump;
		int fd;

		CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
		CHILD_CHECK((fd = ripc_mq_open("/grp", O_RDWR | O_CREAT, 0660, NULL)) >= 0);
		CHILD_CHECK(ripc_mq_fchown(fd, -1, group) == 0);
		close(fd);
		CHILD_CHECK(ripc_dump_alloc(&dump, &len) == 0);
		for (int member = 0; member < 2; member++) {
			pid_t c1;

			CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
			c1 = fork_child();
			if (c1 == 0) {
				CHILD_CHECK(setresgid(0, 0, 0) == 0);
				CHILD_CHECK(setgroups(member, &group) == 0);
				CHILD_CHECK(caps_in_effect(CAP_CHECKPOINT_RESTORE, 0) == 0);
				if (member) {
					CHILD_CHECK(ripc_restore(dump, len) == 0);
					CHILD_CHECK((fd = ripc_mq_open("/grp", O_RDWR, 0, NULL)) >= 0);
					close(fd);
					CHILD_CHECK(ripc_mq_unlink("/grp") == 0);
				} else {
					CHILD_CHECK(ripc_restore(dump, len) == -1 && errno == EPERM);
					CHILD_CHECK(ns_empty() == 1);
				}
				_exit(0);
			}
			CHILD_CHECK(wait_child(c1) == 0);
		}
		free(dump);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

TEST_F(ckpt, restoring_qbytes_above_msgmnb_needs_sys_resource)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		struct msqid_ds ds;
		void *dump;
		size_t len;
		int id;

		CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
		id = ripc_msgget(IPC_PRIVATE, 0600);
		CHILD_CHECK(id >= 0);
		CHILD_CHECK(ripc_msgctl(id, IPC_STAT, &ds) == 0);
		ds.msg_qbytes = 50000;
		CHILD_CHECK(ripc_msgctl(id, IPC_SET, &ds) == 0);
		CHILD_CHECK(ripc_dump_alloc(&dump, &len) == 0);
		CHILD_CHECK(ripc_msgctl(id, IPC_RMID, NULL) == 0);
		/* The record's own checks come first: with a mode no queue has
		 * (its checksum made again), EBADMSG and not EPERM.  The queue's
		 * record follows the header (16 bytes) and the id allocator's
		 * record (32): its mode is the 7th word of its body. */
		{
			unsigned char *bad = malloc(len);
			uint32_t mode = 07777, crc;

			CHILD_CHECK(bad != NULL && len > 92);
			memcpy(bad, dump, len);
			CHILD_CHECK(memcmp(bad + 88, &(uint32_t){ 0600 }, 4) == 0);
			memcpy(bad + 88, &mode, 4);
			crc = crc32_z(bad, len - 4);
			memcpy(bad + len - 4, &crc, 4);
			CHILD_CHECK(caps_in_effect(CAP_CHECKPOINT_RESTORE, 0) == 0);
			CHILD_CHECK(ripc_restore(bad, len) == -1 && errno == EBADMSG);
			CHILD_CHECK(ns_empty() == 1);
			free(bad);
		}
		restores_only_with_sys_resource(dump, len);
		CHILD_CHECK(ripc_msgctl(id, IPC_STAT, &ds) == 0 && ds.msg_qbytes == 50000);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/* ---- Crafted streams: a real dump with one field made invalid ------------ */

/*
 * A small namespace's dump, patched one field at a time and its checksum
 * made again, so that only the record checks of mqueue.rs and sysv.rs
 * (Restore::queue, Restore::ids) and checkpoint.rs (Reader) can refuse it.
 * The fields are found by reading the stream as checkpoint.rs writes it
 * (cs_parse), not at offsets of one layout.  The namespace: POSIX "/a"
 * (two messages of CS_MQ_TEXT bytes, priorities 1 and 2), "/bb" and "/cc"
 * (empty; names of one and two bytes, so that ".", ".." and a duplicate
 * fit without moving anything), and System V queues CS_KEY1 (two messages
 * of CS_SYSV_TEXT bytes, types 1 and 2) and CS_KEY2 (empty), in that order.
 */
#define CS_MQ_SIZE 64
#define CS_MQ_TEXT 40
#define CS_SYSV_TEXT 4096
#define CS_KEY1 0x7e5c0001
#define CS_KEY2 0x7e5c0002
#define CS_KEY3 0x7e5c0003

static const char *const CS_NAMES[] = { "/a", "/bb", "/cc" };
static const key_t CS_KEYS[] = { CS_KEY1, CS_KEY2 };

/* The fields a case patches. */
enum cs_field {
	CS_NONE,		/* none: the stream as dumped, its checksum made again */
	CS_KIND,		/* a record header's kind */
	CS_PAD,			/* a record header's u32 0 */
	CS_NAME,		/* a POSIX name's bytes (its length as it is) */
	CS_MSGSIZE,		/* a POSIX queue's msgsize */
	CS_TYPE,		/* a message's priority or mtype */
	CS_LEN,			/* message j's length: up to the end of message j + 1 */
	CS_KEY,			/* a System V queue's key */
	CS_SYSV_PAD,		/* the u32 0 after a System V queue's mode */
	CS_TRAILER_PAD,		/* the trailer's u32 0 */
	CS_MSG_LEN,		/* message j's length: v */
	CS_HEADER_LEN,		/* the header's length (16) */
	CS_TRAILER_TOTAL,	/* the trailer's stream length: the length + v */
};

struct cs_patch {
	const char *what;
	int err;		/* the restore's errno */
	enum cs_field field;
	__u32 kind;		/* in the q-th record of this kind */
	int q, j;		/* (message j of it) */
	int64_t v;		/* the value written */
	char name[4];		/* CS_NAME: the name's new bytes */
};

/* A record of the stream: offsets of its header, body, name, messages. */
#define CS_RECS 8
#define CS_MSGS 2

struct cs_rec {
	__u32 kind;
	size_t head, body;
	uint64_t len;		/* of its body */
	__u32 name_len;		/* RIPC_DUMP_MQ: the name, at name */
	size_t name;
	uint64_t n;		/* its messages: each one's head, at msg[j] */
	size_t msg[CS_MSGS];
	uint64_t msg_len[CS_MSGS];
};

struct cs_map {
	int n;
	struct cs_rec rec[CS_RECS];
};

/* The stream is little-endian. */
static uint64_t cs_get(const unsigned char *p, int bytes)
{
	uint64_t v = 0;

	while (bytes--)
		v = v << 8 | p[bytes];
	return v;
}

static void cs_put(unsigned char *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++, v >>= 8)
		p[i] = (unsigned char)v;
}

/*
 * Reads the stream as checkpoint.rs frames it (dump, Writer::record,
 * Writer::msg, Writer::finish) with the bodies of mqueue.rs's and sysv.rs's
 * dump (MQ_RECORD, SYSV_RECORD): 0, or the line of the failed check.
 * Every length must account for every byte, as Reader::done requires.
 */
static int cs_parse(const unsigned char *s, size_t len, struct cs_map *m)
{
	size_t at = 16, end;

	CK(len >= 16 + 24 && memcmp(s, "RIPCDUMP", 8) == 0);
	CK(cs_get(s + 8, 4) == RIPC_DUMP_VERSION && cs_get(s + 12, 4) == 16);
	end = len - 24;
	CK(memcmp(s + end, "RIPCEND", 8) == 0 && cs_get(s + end + 8, 8) == len);
	CK(cs_get(s + end + 16, 4) == 0 && cs_get(s + len - 4, 4) == crc32_z(s, len - 4));
	for (m->n = 0; at < end; m->n++) {
		struct cs_rec *r = &m->rec[m->n];
		size_t fixed = 0, p, rec_end;

		CK(m->n < CS_RECS && end - at >= 16);
		r->head = at;
		r->kind = cs_get(s + at, 4);
		CK(cs_get(s + at + 4, 4) == 0);
		r->len = cs_get(s + at + 8, 8);
		r->body = at + 16;
		CK(r->len <= end - r->body);
		rec_end = r->body + r->len;
		r->n = 0;
		CK(r->kind == RIPC_DUMP_MQ || r->kind == RIPC_DUMP_SYSV_IDS ||
		   r->kind == RIPC_DUMP_SYSV);
		if (r->kind == RIPC_DUMP_MQ) {
			/* name length, mode, uid, gid, maxmsg, msgsize, messages */
			CK(r->len >= 40);
			r->name_len = cs_get(s + r->body, 4);
			r->n = cs_get(s + r->body + 32, 8);
			r->name = r->body + 40;
			fixed = 40 + (size_t)r->name_len;
		} else if (r->kind == RIPC_DUMP_SYSV_IDS) {
			fixed = 16;
		} else {
			/* key, id, 6 u32 (uid ... mode, 0), 3 times, qbytes, messages */
			CK(r->len >= 72);
			r->n = cs_get(s + r->body + 64, 8);
			fixed = 72;
		}
		CK(fixed <= r->len && r->n <= CS_MSGS);
		p = r->body + fixed;
		for (uint64_t j = 0; j < r->n; j++) {
			/* s64 priority or type, u64 length, the text */
			CK(rec_end - p >= 16);
			r->msg[j] = p;
			r->msg_len[j] = cs_get(s + p + 8, 8);
			CK(r->msg_len[j] <= rec_end - p - 16);
			p += 16 + r->msg_len[j];
		}
		CK(p == rec_end);
		at = rec_end;
	}
	return 0;
}

/* The q-th record of a kind, or NULL. */
static const struct cs_rec *cs_find(const struct cs_map *m, __u32 kind, int q)
{
	for (int i = 0; i < m->n; i++)
		if (m->rec[i].kind == kind && q-- == 0)
			return &m->rec[i];
	return NULL;
}

/* Copies the stream dump (of len bytes, which m maps) to s, patches the
 * field of c there and makes its checksum again: 0, or the line of the
 * failed check. */
static int cs_apply(unsigned char *s, const unsigned char *dump, size_t len,
		    const struct cs_map *m, const struct cs_patch *c)
{
	const struct cs_rec *r = cs_find(m, c->kind, c->q);

	memcpy(s, dump, len);
	CK(r != NULL || c->field == CS_NONE || c->field == CS_TRAILER_PAD ||
	   c->field == CS_HEADER_LEN || c->field == CS_TRAILER_TOTAL);
	switch (c->field) {
	case CS_NONE:
		break;
	case CS_KIND:
		cs_put(s + r->head, c->v, 4);
		break;
	case CS_PAD:
		cs_put(s + r->head + 4, c->v, 4);
		break;
	case CS_NAME:
		CK(r->kind == RIPC_DUMP_MQ && r->name_len <= sizeof(c->name));
		memcpy(s + r->name, c->name, r->name_len);
		break;
	case CS_MSGSIZE:
		CK(r->kind == RIPC_DUMP_MQ);
		cs_put(s + r->body + 24, c->v, 8);
		break;
	case CS_TYPE:
		CK((uint64_t)c->j < r->n);
		cs_put(s + r->msg[c->j], c->v, 8);
		break;
	case CS_LEN:
		/* Still within the record: only the length check can refuse it. */
		CK((uint64_t)c->j + 1 < r->n);
		cs_put(s + r->msg[c->j] + 8, r->msg_len[c->j] + 16 + r->msg_len[c->j + 1], 8);
		break;
	case CS_KEY:
		CK(r->kind == RIPC_DUMP_SYSV);
		cs_put(s + r->body, c->v, 4);
		break;
	case CS_SYSV_PAD:
		CK(r->kind == RIPC_DUMP_SYSV);
		cs_put(s + r->body + 28, c->v, 4);
		break;
	case CS_TRAILER_PAD:
		cs_put(s + len - 8, c->v, 4);
		break;
	case CS_MSG_LEN:
		CK((uint64_t)c->j < r->n);
		cs_put(s + r->msg[c->j] + 8, c->v, 8);
		break;
	case CS_HEADER_LEN:
		cs_put(s + 12, c->v, 4);
		break;
	case CS_TRAILER_TOTAL:
		cs_put(s + len - 16, len + c->v, 8);
		break;
	}
	cs_put(s + len - 4, crc32_z(s, len - 4), 4);
	return 0;
}

/* Makes the namespace of the crafted streams in the caller's (empty) one. */
static int cs_make(void)
{
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = CS_MQ_SIZE };
	struct { long mtype; char text[CS_SYSV_TEXT]; } m;
	char buf[CS_MQ_TEXT];
	int fd, id;

	for (int q = 0; q < (int)ARRAY_SIZE(CS_NAMES); q++) {
		fd = ripc_mq_open(CS_NAMES[q], O_RDWR | O_CREAT | O_EXCL, 0600, &a);
		CK(fd >= 0);
		for (int j = 0; q == 0 && j < 2; j++) {
			fill(buf, CS_MQ_TEXT, 1 + j);
			CK(ripc_mq_send(fd, buf, CS_MQ_TEXT, 1 + j) == 0);
		}
		close(fd);
	}
	for (int q = 0; q < (int)ARRAY_SIZE(CS_KEYS); q++) {
		CK((id = ripc_msgget(CS_KEYS[q], IPC_CREAT | IPC_EXCL | 0600)) >= 0);
		for (int j = 0; q == 0 && j < 2; j++) {
			m.mtype = 1 + j;
			fill(m.text, CS_SYSV_TEXT, 11 + j);
			CK(ripc_msgsnd(id, &m, CS_SYSV_TEXT, IPC_NOWAIT) == 0);
		}
	}
	return 0;
}

/* Whether the caller's namespace has none of those queues, nor any other. */
static int cs_nothing(void)
{
	CK(ns_empty() == 1);
	for (int q = 0; q < (int)ARRAY_SIZE(CS_NAMES); q++)
		CK(ripc_mq_open(CS_NAMES[q], O_RDONLY) == -1 && errno == ENOENT);
	for (int q = 0; q < (int)ARRAY_SIZE(CS_KEYS); q++)
		CK(ripc_msgget(CS_KEYS[q], 0) == -1 && errno == ENOENT);
	return 0;
}

/* Whether the caller's namespace is the one cs_make made, each message. */
static int cs_check(void)
{
	struct { long mtype; char text[CS_SYSV_TEXT]; } m;
	char buf[CS_MQ_SIZE];
	struct msqid_ds ds;
	struct mq_attr a;
	unsigned int prio;
	int fd, id;

	for (int q = 0; q < (int)ARRAY_SIZE(CS_NAMES); q++) {
		CK((fd = ripc_mq_open(CS_NAMES[q], O_RDONLY | O_NONBLOCK)) >= 0);
		CK(ripc_mq_getattr(fd, &a) == 0);
		CK(a.mq_maxmsg == 4 && a.mq_msgsize == CS_MQ_SIZE && a.mq_curmsgs == (q ? 0 : 2));
		/* Receive order: priority 2's first. */
		for (int j = 0; q == 0 && j < 2; j++) {
			CK(ripc_mq_receive(fd, buf, sizeof(buf), &prio) == CS_MQ_TEXT);
			CK(prio == 2u - j && check(buf, CS_MQ_TEXT, 2 - j));
		}
		close(fd);
	}
	CK((id = ripc_msgget(CS_KEY1, 0)) >= 0);
	for (int j = 0; j < 2; j++) {
		CK(ripc_msgrcv(id, &m, CS_SYSV_TEXT, 0, IPC_NOWAIT) == CS_SYSV_TEXT);
		CK(m.mtype == 1 + j && check(m.text, CS_SYSV_TEXT, 11 + j));
	}
	CK((id = ripc_msgget(CS_KEY2, 0)) >= 0);
	CK(ripc_msgctl(id, IPC_STAT, &ds) == 0 && ds.msg_qnum == 0);
	return 0;
}

/*
 * In a new IPC namespace: the namespace of the crafted streams, its dump
 * and its map, checked to be the layout that the cases count on, and room
 * for a patched copy (scratch).
 */
static void cs_setup(struct __test_metadata *_metadata, unsigned char **dump, size_t *len,
		     struct cs_map *m, unsigned char **scratch)
{
	const struct cs_rec *r;
	struct msginfo mi;

	/* Each namespace's restored POSIX queues are charged until it goes. */
	SYS(setrlimit(RLIMIT_MSGQUEUE, &(struct rlimit){ RLIM_INFINITY, RLIM_INFINITY }));
	SYS(unshare(CLONE_NEWIPC));
	/* A new namespace's msgmax (the restoring ones' too) holds each System
	 * V message, not two of them and a head (the CS_LEN case). */
	SYS(ripc_msgctl(0, IPC_INFO, (struct msqid_ds *)&mi));
	ASSERT_LE(CS_SYSV_TEXT, mi.msgmax);
	ASSERT_GT(2 * CS_SYSV_TEXT + 16, mi.msgmax);
	ASSERT_EQ(0, cs_make());
	SYS(ripc_dump_alloc((void **)dump, len));
	*scratch = malloc(*len);
	ASSERT_NE(NULL, *scratch);
	ASSERT_EQ(0, cs_parse(*dump, *len, m));
	ASSERT_EQ(6, m->n);
	for (int q = 0; q < (int)ARRAY_SIZE(CS_NAMES); q++) {
		r = cs_find(m, RIPC_DUMP_MQ, q);
		ASSERT_NE(NULL, r);
		ASSERT_EQ(strlen(CS_NAMES[q]) - 1, r->name_len);
		ASSERT_EQ(0, memcmp(*dump + r->name, CS_NAMES[q] + 1, r->name_len));
		ASSERT_EQ((uint64_t)(q ? 0 : 2), r->n);
	}
	r = cs_find(m, RIPC_DUMP_MQ, 0);
	for (int j = 0; j < 2; j++) {
		ASSERT_EQ((uint64_t)(2 - j), cs_get(*dump + r->msg[j], 8));
		ASSERT_EQ((uint64_t)CS_MQ_TEXT, r->msg_len[j]);
	}
	ASSERT_NE(NULL, cs_find(m, RIPC_DUMP_SYSV_IDS, 0));
	for (int q = 0; q < (int)ARRAY_SIZE(CS_KEYS); q++) {
		r = cs_find(m, RIPC_DUMP_SYSV, q);
		ASSERT_NE(NULL, r);
		ASSERT_EQ((uint64_t)(uint32_t)CS_KEYS[q], cs_get(*dump + r->body, 4));
		ASSERT_EQ((uint64_t)0600, cs_get(*dump + r->body + 24, 4));
		ASSERT_EQ((uint64_t)(q ? 0 : 2), r->n);
	}
	r = cs_find(m, RIPC_DUMP_SYSV, 0);
	for (int j = 0; j < 2; j++) {
		ASSERT_EQ((uint64_t)(1 + j), cs_get(*dump + r->msg[j], 8));
		ASSERT_EQ((uint64_t)CS_SYSV_TEXT, r->msg_len[j]);
	}
}

/*
 * The positive control of the patching: the stream with its checksum made
 * again is the dump byte for byte and restores every queue and message;
 * each field that a case below makes invalid, given a valid value instead
 * in the same way, restores with that value (so a case's error is its
 * field's, not a checksum or an offset that cs_apply got wrong).
 */
TEST(a_dump_patched_with_valid_values_restores_as_patched)
{
	static const struct cs_patch good[] = {
		{ "as dumped", 0, CS_NONE, .kind = 0 },
		{ "POSIX priority 32767", 0, CS_TYPE, RIPC_DUMP_MQ, .v = 32767 },
		{ "POSIX msgsize 40", 0, CS_MSGSIZE, RIPC_DUMP_MQ, .v = CS_MQ_TEXT },
		{ "POSIX name bx", 0, CS_NAME, RIPC_DUMP_MQ, .q = 1, .name = "bx" },
		{ "System V type 7", 0, CS_TYPE, RIPC_DUMP_SYSV, .j = 1, .v = 7 },
		{ "System V key CS_KEY3", 0, CS_KEY, RIPC_DUMP_SYSV, .q = 1, .v = CS_KEY3 },
	};
	struct { long mtype; char text[CS_SYSV_TEXT]; } msg;
	char buf[CS_MQ_SIZE];
	unsigned char *dump, *s;
	struct mq_attr a;
	unsigned int prio;
	struct cs_map m;
	size_t len;
	int fd, id;

	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	REQUIRE_CAP(CAP_SYS_ADMIN);
	cs_setup(_metadata, &dump, &len, &m, &s);
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		const struct cs_patch *c = &good[i];

		ASSERT_EQ(0, cs_apply(s, dump, len, &m, c)) TH_LOG("%s", c->what);
		SYS(unshare(CLONE_NEWIPC));
		ASSERT_EQ(0, ripc_restore(s, len))
			TH_LOG("%s: %s", c->what, strerrorname_np(errno));
		switch (c->field) {
		case CS_NONE:
			ASSERT_EQ(0, memcmp(s, dump, len));
			ASSERT_EQ(0, cs_check());
			break;
		case CS_TYPE:
			if (c->kind == RIPC_DUMP_MQ) {
				/* The first message (priority 2's) comes first still. */
				fd = SYS(ripc_mq_open("/a", O_RDONLY | O_NONBLOCK));
				ASSERT_EQ(CS_MQ_TEXT, ripc_mq_receive(fd, buf, sizeof(buf), &prio));
				ASSERT_EQ(32767u, prio);
				ASSERT_TRUE(check(buf, CS_MQ_TEXT, 2));
				close(fd);
			} else {
				id = SYS(ripc_msgget(CS_KEY1, 0));
				ASSERT_EQ(CS_SYSV_TEXT, ripc_msgrcv(id, &msg, CS_SYSV_TEXT, 7,
								    IPC_NOWAIT));
				ASSERT_TRUE(check(msg.text, CS_SYSV_TEXT, 12));
				/* It was type 2's: none is left. */
				ASSERT_ERRNO(ENOMSG, ripc_msgrcv(id, &msg, CS_SYSV_TEXT, 2,
								 IPC_NOWAIT));
			}
			break;
		case CS_MSGSIZE:
			fd = SYS(ripc_mq_open("/a", O_RDONLY | O_NONBLOCK));
			SYS(ripc_mq_getattr(fd, &a));
			ASSERT_EQ(CS_MQ_TEXT, a.mq_msgsize);
			ASSERT_EQ(2, a.mq_curmsgs);
			close(fd);
			break;
		case CS_NAME:
			fd = SYS(ripc_mq_open("/bx", O_RDONLY));
			close(fd);
			ASSERT_ERRNO(ENOENT, ripc_mq_open("/bb", O_RDONLY));
			break;
		case CS_KEY:
			SYS(ripc_msgget(CS_KEY3, 0));
			ASSERT_ERRNO(ENOENT, ripc_msgget(CS_KEY2, 0));
			break;
		default:
			ASSERT_TRUE(0) TH_LOG("%s: no check", c->what);
		}
	}
	free(s);
	free(dump);
}

/*
 * One field of a real dump made invalid (and the checksum made again) is
 * refused with the errno of the check that reads that field, and nothing
 * is created: no POSIX name, no System V key, no queue at all; the
 * namespace still takes the stream as dumped (else EEXIST).  Records that
 * a failing one follows were built aside and are dropped.  Not covered: a
 * name length of 0 or past NAME_MAX and a message count or record length
 * that disagrees with the bytes, which move what follows (truncated_or_
 * corrupted_streams_are_refused_and_create_nothing flips such bytes).
 */
TEST(a_dump_with_one_invalid_field_is_refused_and_creates_nothing)
{
	static const struct cs_patch bad[] = {
		/* mqueue.rs Restore::queue: the priority is 0 .. MQ_PRIO_MAX - 1. */
		{ "POSIX priority 32768", EBADMSG, CS_TYPE, RIPC_DUMP_MQ, .v = 32768 },
		{ "POSIX priority -1", EBADMSG, CS_TYPE, RIPC_DUMP_MQ, .j = 1, .v = -1 },
		/* Reader::msg(q.msgsize, EBADMSG): a message past msgsize, its
		 * queue's msgsize made one byte short, or its length made to
		 * take the next message in. */
		{ "POSIX msgsize 39 < a message's 40", EBADMSG, CS_MSGSIZE, RIPC_DUMP_MQ,
		  .v = CS_MQ_TEXT - 1 },
		{ "POSIX message of 96 > msgsize 64", EBADMSG, CS_LEN, RIPC_DUMP_MQ, .j = 0 },
		/* The names a path cannot have, and one name twice. */
		{ "POSIX name .", EBADMSG, CS_NAME, RIPC_DUMP_MQ, .name = "." },
		{ "POSIX name ..", EBADMSG, CS_NAME, RIPC_DUMP_MQ, .q = 1, .name = ".." },
		{ "POSIX name b/", EBADMSG, CS_NAME, RIPC_DUMP_MQ, .q = 1, .name = "b/" },
		{ "POSIX name b\\0", EBADMSG, CS_NAME, RIPC_DUMP_MQ, .q = 1, .name = "b" },
		{ "POSIX name bb twice", EBADMSG, CS_NAME, RIPC_DUMP_MQ, .q = 2, .name = "bb" },
		/* sysv.rs Restore::queue: a type is at least 1. */
		{ "System V type 0", EBADMSG, CS_TYPE, RIPC_DUMP_SYSV, .v = 0 },
		{ "System V type -5", EBADMSG, CS_TYPE, RIPC_DUMP_SYSV, .j = 1, .v = -5 },
		/* Reader::msg(msgmax, EINVAL), as msgsnd. */
		{ "System V message of 8208 > msgmax", EINVAL, CS_LEN, RIPC_DUMP_SYSV, .j = 0 },
		/* A length past its record's end is a truncated record first,
		 * though it is past msgmax too. */
		{ "System V message past its record", EBADMSG, CS_MSG_LEN, RIPC_DUMP_SYSV,
		  .v = 1ull << 40 },
		{ "System V key CS_KEY1 twice", EBADMSG, CS_KEY, RIPC_DUMP_SYSV, .q = 1, .v = CS_KEY1 },
		{ "System V pad after the mode", EBADMSG, CS_SYSV_PAD, RIPC_DUMP_SYSV, .v = 1 },
		/* checkpoint.rs Reader::record, restore, verify. */
		{ "POSIX record's header pad", EBADMSG, CS_PAD, RIPC_DUMP_MQ, .v = 1 },
		{ "System V record's header pad", EBADMSG, CS_PAD, RIPC_DUMP_SYSV, .q = 1,
		  .v = 0x80000000 },
		{ "record kind 4", EBADMSG, CS_KIND, RIPC_DUMP_SYSV, .q = 1, .v = 4 },
		{ "trailer pad", EBADMSG, CS_TRAILER_PAD, .v = 1 },
		{ "header length 17", EBADMSG, CS_HEADER_LEN, .v = 17 },
		{ "trailer's length one short", EBADMSG, CS_TRAILER_TOTAL, .v = -1 },
	};
	unsigned char *dump, *s;
	struct cs_map m;
	size_t len;

	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	REQUIRE_CAP(CAP_SYS_ADMIN);
	cs_setup(_metadata, &dump, &len, &m, &s);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		const struct cs_patch *c = &bad[i];
		int r, e;

		ASSERT_EQ(0, cs_apply(s, dump, len, &m, c)) TH_LOG("%s", c->what);
		ASSERT_NE(0, memcmp(s, dump, len - 4)) TH_LOG("%s: nothing patched", c->what);
		SYS(unshare(CLONE_NEWIPC));
		r = ripc_restore(s, len);
		e = errno;
		ASSERT_EQ(-1, r) TH_LOG("%s: restored", c->what);
		ASSERT_EQ(c->err, e) TH_LOG("%s: %s, expected %s", c->what, strerrorname_np(e),
					    strerrorname_np(c->err));
		ASSERT_EQ(0, cs_nothing()) TH_LOG("%s: something was made", c->what);
		/* Nor anything that a restore meets (EEXIST): the stream as
		 * dumped restores there. */
		ASSERT_EQ(0, ripc_restore(dump, len))
			TH_LOG("%s: then as dumped: %s", c->what, strerrorname_np(errno));
	}
	free(s);
	free(dump);
}

/* ---- A dump of a large queue, and of a changing one ----------------------- */

/*
 * The large queue: LQ_N messages, POSIX priorities (System V types less
 * one) 0-3, so that a dump writes its messages in many parts: System V's
 * of 5000 or 8192 bytes (12 MiB), parts ending anywhere; POSIX's of 8192
 * (16 MiB), eight to a part, so that parts end inside a priority's FIFO
 * and on its last message (the next part starts at the next priority).
 */
#define LQ_N 2048
#define LQ_NAME "/ckpt_large"

static size_t lq_len(int posix, int i)
{
	return posix || i % 3 == 0 ? BIG : 5000;
}

/* Makes and fills the large queue of a family in the caller's namespace:
 * its descriptor or id, or -1. */
static int lq_make(int posix)
{
	static struct big m;
	struct msqid_ds ds;
	int q;

	if (posix) {
		struct mq_attr a = { .mq_maxmsg = LQ_N, .mq_msgsize = BIG };

		q = ripc_mq_open(LQ_NAME, O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK, 0600, &a);
	} else {
		q = ripc_msgget(IPC_PRIVATE, 0600);
		if (q >= 0 && ripc_msgctl(q, IPC_STAT, &ds) == 0) {
			ds.msg_qbytes = 32 << 20;
			if (ripc_msgctl(q, IPC_SET, &ds))
				return -1;
		}
	}
	for (int i = 0; q >= 0 && i < LQ_N; i++) {
		m.mtype = i % 4 + 1;
		fill(m.mtext, lq_len(posix, i), 7000u + i);
		if (posix ? ripc_mq_send(q, m.mtext, lq_len(posix, i), i % 4) :
			    ripc_msgsnd(q, &m, lq_len(posix, i), IPC_NOWAIT))
			return -1;
	}
	return q;
}

/* Receives the large queue (its descriptor or id) and checks that it is
 * every message lq_make sent, in receive order, byte for byte: 0, or the
 * line of the failed check. */
static int lq_check(int posix, int q)
{
	static struct big m;
	unsigned int prio;

	for (int k = 0; k < LQ_N; k++) {
		/* POSIX: priority 3's messages first; System V: send order. */
		int i = posix ? k % (LQ_N / 4) * 4 + 3 - k / (LQ_N / 4) : k;
		ssize_t n = posix ? ripc_mq_receive(q, m.mtext, BIG, &prio) :
				    ripc_msgrcv(q, &m, BIG, 0, IPC_NOWAIT);

		CK(n == (ssize_t)lq_len(posix, i));
		CK(posix ? prio == (unsigned int)i % 4 : m.mtype == i % 4 + 1);
		CK(check(m.mtext, lq_len(posix, i), 7000u + i));
	}
	if (posix)
		CK(ripc_mq_receive(q, m.mtext, BIG, &prio) == -1 && errno == EAGAIN);
	else
		CK(ripc_msgrcv(q, &m, BIG, 0, IPC_NOWAIT) == -1 && errno == ENOMSG);
	return 0;
}

/*
 * A dump of a large queue (12 or 16 MiB) keeps its lock, and so preemption, off
 * for a part of it at a time: a real-time task on the dumper's CPU, waking
 * every millisecond, is never late by a quarter of a dump (it was by most
 * of one, the whole queue being written under its lock).  The stream
 * restores the queue exactly.
 */
static void large_queue_dump(struct __test_metadata *_metadata, int posix)
{
	long long took = 0, late = 0;
	struct waker w;
	ssize_t n = 0, len;
	size_t size;
	char *buf;
	int q;

	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	REQUIRE_CAP(CAP_SYS_ADMIN);
	REQUIRE_CAP(CAP_SYS_RESOURCE);
	SYS(setrlimit(RLIMIT_MSGQUEUE, &(struct rlimit){ RLIM_INFINITY, RLIM_INFINITY }));
	SYS(unshare(CLONE_NEWIPC));
	SYS(pin_cpu(0));
	q = SYS(lq_make(posix));
	len = SYS(ripc_dump(NULL, 0));
	size = (size_t)len + PAGE;
	buf = malloc(size);
	ASSERT_NE(NULL, buf);
	memset(buf, 0, size);
	if (waker_start(&w))
		SKIP(return, "no SCHED_FIFO on CPU 0");
	/* Up to three dumps: the first within the bound passes (a late
	 * wake-up may be the emulated host's own stall). */
	for (int i = 0; i < 3; i++) {
		struct timespec a, b;

		waker_take(&w);
		clock_gettime(CLOCK_MONOTONIC, &a);
		n = ripc_dump(buf, size);
		clock_gettime(CLOCK_MONOTONIC, &b);
		late = waker_take(&w);
		took = ts_ns(b) - ts_ns(a);
		if (n != len)
			break;
		TH_LOG("dump of %zd bytes: %lld us; the waker was %lld us late at most",
		       len, took / 1000, late / 1000);
		if (late < took / 4)
			break;
	}
	waker_stop(&w);
	ASSERT_EQ(len, n) TH_LOG("dump: %s", strerrorname_np(errno));
	ASSERT_LT(late, took / 4);
	/* Restored in a new namespace, it is the queue, byte for byte. */
	SYS(unshare(CLONE_NEWIPC));
	SYS(ripc_restore(buf, (size_t)n));
	if (posix) {
		close(q);
		q = SYS(ripc_mq_open(LQ_NAME, O_RDONLY | O_NONBLOCK));
	}
	ASSERT_EQ(0, lq_check(posix, q));
	free(buf);
}

TEST(a_dump_of_a_large_posix_queue_holds_its_lock_a_part_at_a_time)
{
	large_queue_dump(_metadata, 1);
}

TEST(a_dump_of_a_large_system_v_queue_holds_its_lock_a_part_at_a_time)
{
	large_queue_dump(_metadata, 0);
}

/*
 * The changing queue: CQ_N messages of 1 KiB (its dump is several parts),
 * each starting with its number, that a rotator on CPU 1 receives and
 * sends back, one at a time, while CPU 0 dumps.
 */
#define CQ_N 256
#define CQ_LEN 1024
#define CQ_NAME "/ckpt_rotating"

struct rotator {
	int posix, q, stop, pause_us, failed, look;
	long turns;
};

static void *rotator_main(void *arg)
{
	struct rotator *r = arg;
	struct big m;
	unsigned int prio;

	pin_cpu(1);
	while (!__atomic_load_n(&r->stop, __ATOMIC_SEQ_CST)) {
		ssize_t n;

		if (r->look) {
			/* System V receives that take nothing: a type that is
			 * not there (ENOMSG, a walk of the whole queue), a
			 * buffer too small for the first message (E2BIG). */
			if (ripc_msgrcv(r->q, &m, BIG, 2, IPC_NOWAIT) != -1 || errno != ENOMSG ||
			    ripc_msgrcv(r->q, &m, 1, 1, IPC_NOWAIT) != -1 || errno != E2BIG) {
				r->failed = errno ?: -1;
				break;
			}
			r->turns++;
			if (r->pause_us)
				usleep(r->pause_us);
			continue;
		}
		n = r->posix ? ripc_mq_receive(r->q, m.mtext, BIG, &prio) :
			       ripc_msgrcv(r->q, &m, BIG, 0, IPC_NOWAIT);

		if (n != CQ_LEN ||
		    (r->posix ? ripc_mq_send(r->q, m.mtext, CQ_LEN, prio) :
				ripc_msgsnd(r->q, &m, CQ_LEN, IPC_NOWAIT))) {
			r->failed = errno ?: -1;
			break;
		}
		r->turns++;
		if (r->pause_us)
			usleep(r->pause_us);
	}
	return NULL;
}

/* Restores a stream of the changing queue in a new namespace (in a child)
 * and checks that it is the queue at one moment: CQ_N messages, or CQ_N - 1
 * (one out with the rotator), in turn from any one, each whole. */
static int cq_check(int posix, int id, const void *dump, size_t len)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		struct big m;
		unsigned int prio, first = 0;
		int q, got = 0;

		CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
		CHILD_CHECK(ripc_restore(dump, len) == 0);
		q = posix ? ripc_mq_open(CQ_NAME, O_RDONLY | O_NONBLOCK) : id;
		CHILD_CHECK(q >= 0);
		for (;;) {
			ssize_t n = posix ? ripc_mq_receive(q, m.mtext, BIG, &prio) :
					    ripc_msgrcv(q, &m, BIG, 0, IPC_NOWAIT);
			unsigned int num;

			if (n < 0)
				break;
			CHILD_CHECK(n == CQ_LEN);
			memcpy(&num, m.mtext, sizeof(num));
			if (!got)
				first = num;
			CHILD_CHECK(num == (first + got) % CQ_N);
			CHILD_CHECK(check(m.mtext + sizeof(num), CQ_LEN - sizeof(num), num));
			got++;
		}
		CHILD_CHECK(errno == (posix ? EAGAIN : ENOMSG));
		CHILD_CHECK(got == CQ_N || got == CQ_N - 1);
		_exit(0);
	}
	return wait_child(pid);
}

/*
 * A dump of a queue that changes while it is written (its lock dropped
 * between parts) writes its record again: every stream that comes out is
 * the queue as it was at one moment (EAGAIN when it kept changing), with
 * the rotator running flat out, then pausing between turns (where dumps
 * come out).
 */
static void changing_queue_dump(struct __test_metadata *_metadata, int posix, int look)
{
	struct rotator r = { .posix = posix, .look = look };
	int ok[2] = { 0 }, again[2] = { 0 };
	long turns[2];
	size_t size = CQ_N * (CQ_LEN + 64) + 4 * PAGE;
	char *buf = malloc(size);
	struct big m;
	pthread_t t;

	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	REQUIRE_CAP(CAP_SYS_ADMIN);
	ASSERT_NE(NULL, buf);
	memset(buf, 0, size);
	SYS(setrlimit(RLIMIT_MSGQUEUE, &(struct rlimit){ RLIM_INFINITY, RLIM_INFINITY }));
	SYS(unshare(CLONE_NEWIPC));
	SYS(pin_cpu(0));
	if (posix) {
		struct mq_attr a = { .mq_maxmsg = CQ_N, .mq_msgsize = CQ_LEN };

		r.q = SYS(ripc_mq_open(CQ_NAME, O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK, 0600, &a));
	} else {
		struct msqid_ds ds;

		r.q = SYS(ripc_msgget(IPC_PRIVATE, 0600));
		SYS(ripc_msgctl(r.q, IPC_STAT, &ds));
		ds.msg_qbytes = CQ_N * CQ_LEN;
		SYS(ripc_msgctl(r.q, IPC_SET, &ds));
	}
	for (unsigned int i = 0; i < CQ_N; i++) {
		m.mtype = 1;
		memcpy(m.mtext, &i, sizeof(i));
		fill(m.mtext + sizeof(i), CQ_LEN - sizeof(i), i);
		SYS(posix ? ripc_mq_send(r.q, m.mtext, CQ_LEN, 1) :
			    ripc_msgsnd(r.q, &m, CQ_LEN, IPC_NOWAIT));
	}
	for (int phase = 0; phase < 2; phase++) {
		r.pause_us = phase ? 50000 : 0;
		r.stop = 0;
		ASSERT_EQ(0, pthread_create(&t, NULL, rotator_main, &r));
		for (int i = 0; i < 10; i++) {
			ssize_t n = ripc_dump(buf, size);

			if (n < 0) {
				ASSERT_EQ(EAGAIN, errno);
				again[phase]++;
				continue;
			}
			ASSERT_GT(size, (size_t)n);
			ASSERT_EQ(0, cq_check(posix, r.q, buf, (size_t)n));
			ok[phase]++;
		}
		__atomic_store_n(&r.stop, 1, __ATOMIC_SEQ_CST);
		ASSERT_EQ(0, pthread_join(t, NULL));
		ASSERT_EQ(0, r.failed) TH_LOG("the rotator failed: %s", strerrorname_np(r.failed));
		turns[phase] = r.turns;
		r.turns = 0;
	}
	TH_LOG("flat out: %ld turns, %d dumps whole, %d EAGAIN; pausing: %ld turns, %d whole, %d EAGAIN",
	       turns[0], ok[0], again[0], turns[1], ok[1], again[1]);
	ASSERT_LT(0, turns[0]);
	ASSERT_LT(0, turns[1]);
	ASSERT_LT(0, ok[1]);
	/* Looks that take nothing change nothing: every dump comes out. */
	if (look)
		ASSERT_EQ(0, again[0] + again[1]);
	free(buf);
}

TEST(a_dump_of_a_changing_posix_queue_is_the_queue_at_one_moment)
{
	changing_queue_dump(_metadata, 1, 0);
}

TEST(a_dump_of_a_changing_system_v_queue_is_the_queue_at_one_moment)
{
	changing_queue_dump(_metadata, 0, 0);
}

/*
 * System V receives that take nothing while a queue is dumped (a type
 * that is not there, a buffer too small) do not make the dump write its
 * record again: every dump comes out whole (they once counted as changes,
 * and a dump under such looks could end in EAGAIN).
 */
TEST(a_dump_of_a_system_v_queue_that_receivers_only_look_at_comes_out)
{
	changing_queue_dump(_metadata, 0, 1);
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--fill"))
		return fill_std() ? 1 : 0;
	if (argc == 2 && !strcmp(argv[1], "--describe"))
		return describe(stdout) ? 1 : 0;
	if (argc == 2 && !strcmp(argv[1], "--drain"))
		return drain_std() ? 1 : 0;
	return test_harness_run(argc, argv);
}
