// SPDX-License-Identifier: GPL-2.0
/*
 * One copy (README, "Performance"): a single send of a large message (8 KiB
 * and more) to a receiver that is already blocked goes straight from the
 * sender's buffer into the receiver's, whose pages the receiver pinned when
 * it went to sleep; otherwise (a page not there on either side, a small
 * message, a batch) the ordinary way, through a kernel message.  The
 * receiver must not be able to tell: these tests run the same steps on the
 * native queues and on rust_ipc in one boot and check the exact bytes,
 * lengths, priorities and types, System V's selection, MSG_NOERROR and
 * E2BIG, and the fall-backs (a sender buffer or a receiver buffer whose
 * pages are not there yet, a message longer than the pinned buffer, a
 * send that faults).
 */
#include "ripc_backends.h"

#include <pthread.h>
#include <sched.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>

#define BIG 8192		/* mq_msgsize and msgmax's default; the one-copy size */
#define MQNAME "/ripc_one_copy"

/* ---- POSIX ------------------------------------------------------------- */

FIXTURE(mq) {
	const struct mq_backend *be;
	mqd_t q;
};

FIXTURE_VARIANT(mq) {
	const struct mq_backend *be;
};

FIXTURE_VARIANT_ADD(mq, native) { .be = &native_mq_be };
FIXTURE_VARIANT_ADD(mq, ripc) { .be = &ripc_mq_be };

FIXTURE_SETUP(mq)
{
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = BIG };

	SETUP_BACKEND();
	self->be->unlink(MQNAME);
	self->q = self->be->open(MQNAME, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
	ASSERT_NE((mqd_t)-1, self->q);
}

FIXTURE_TEARDOWN(mq)
{
	if (self->q != (mqd_t)-1)
		self->be->close(self->q);
	self->be->unlink(MQNAME);
}

/* A number of /proc/PID/status (VmPin in kB, a count), or -1. */
static long status_field(pid_t pid, const char *name)
{
	char path[64], line[128];
	size_t n = strlen(name);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ':' && sscanf(line + n + 1, "%ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * Whether pid's VmPin (kB) is what a receiver blocked on a BIG buffer
 * pins: nothing natively (native), the buffer's 2 or 3 pages on rust_ipc
 * (it need not be page-aligned).
 */
static int pins_its_buffer(pid_t pid, int native, long *pinned)
{
	*pinned = status_field(pid, "VmPin");
	if (native)
		return *pinned == 0;
	return *pinned == BIG / 1024 || *pinned == BIG / 1024 + 4;
}

/*
 * A child blocks in a receive into rbuf (BIG bytes; a fresh, untouched
 * mapping if fresh_rbuf) and checks that it gets want bytes of pattern
 * seed with priority prio.
 */
static pid_t mq_receiver(const struct mq_backend *be, mqd_t q, int fresh_rbuf, size_t want,
			 unsigned int seed, unsigned int prio)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		static char heap[BIG];
		char *rbuf = heap;
		unsigned int got_prio = ~0u;
		ssize_t n;

		if (fresh_rbuf) {
			rbuf = mmap(NULL, BIG, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			CHILD_CHECK(rbuf != MAP_FAILED);
		} else {
			memset(rbuf, 0x5a, BIG);	/* its pages present */
		}
		n = be->receive(q, rbuf, BIG, &got_prio);
		CHILD_CHECK(n == (ssize_t)want);
		CHILD_CHECK(got_prio == prio);
		CHILD_CHECK(check(rbuf, want, seed));
		_exit(0);
	}
	return pid;
}

/* A big message to a blocked receiver: every byte and the priority. */
TEST_F(mq, a_big_message_to_a_blocked_receiver_arrives_whole)
{
	static char msg[BIG];
	pid_t pid = mq_receiver(self->be, self->q, 0, BIG, 11, 7);

	ASSERT_EQ(0, wait_blocked(pid));
	fill(msg, BIG, 11);
	SYS(self->be->send(self->q, msg, BIG, 7));
	ASSERT_EQ(0, wait_child(pid));
}

/*
 * The priority's place inside the receive buffer: natively the priority
 * is written first and the text over it, so the text arrives whole (one
 * copy would have the receiver write the priority over the sender's text).
 */
TEST_F(mq, a_priority_pointer_inside_the_buffer_leaves_the_text_whole)
{
	static char msg[BIG];
	pid_t pid = fork_child();

	if (pid == 0) {
		static char rbuf[BIG];

		memset(rbuf, 0x5a, BIG);	/* its pages present */
		CHILD_CHECK(self->be->receive(self->q, rbuf, BIG, (unsigned int *)(rbuf + 64)) ==
			    BIG);
		CHILD_CHECK(check(rbuf, BIG, 13));
		_exit(0);
	}
	ASSERT_EQ(0, wait_blocked(pid));
	fill(msg, BIG, 13);
	SYS(self->be->send(self->q, msg, BIG, 9));
	ASSERT_EQ(0, wait_child(pid));
}

/* Round trips both ways, as a ping-pong does, with other priorities. */
TEST_F(mq, round_trips_keep_every_byte_and_priority)
{
	static char msg[BIG];

	for (unsigned int i = 0; i < 8; i++) {
		pid_t pid = mq_receiver(self->be, self->q, 0, BIG - i, 20 + i, i * 1000);

		ASSERT_EQ(0, wait_blocked(pid));
		fill(msg, BIG - i, 20 + i);
		SYS(self->be->send(self->q, msg, BIG - i, i * 1000));
		ASSERT_EQ(0, wait_child(pid));
	}
}

/*
 * The sender's buffer is a fresh mapping (its pages not there: no one
 * copy); the receiver gets its bytes (zeros) all the same.  Its own buffer
 * was pinned (VmPin: its 2 or 3 pages on rust_ipc, nothing natively), so
 * the way taken is the sender's doing (which way:
 * a_sender_text_not_yet_there_reaches_a_remapped_buffer_the_ordinary_way).
 */
TEST_F(mq, a_sender_buffer_not_yet_there_goes_the_ordinary_way)
{
	char *msg = mmap(NULL, BIG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long pinned;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, msg);
	pid = fork_child();
	if (pid == 0) {
		static char rbuf[BIG];
		unsigned int prio = ~0u;

		memset(rbuf, 0x5a, BIG);
		CHILD_CHECK(self->be->receive(self->q, rbuf, BIG, &prio) == BIG);
		CHILD_CHECK(prio == 3);
		for (size_t i = 0; i < BIG; i++)
			CHILD_CHECK(rbuf[i] == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_blocked(pid));
	ASSERT_TRUE(pins_its_buffer(pid, self->be == &native_mq_be, &pinned))
		TH_LOG("VmPin %ld kB", pinned);
	SYS(self->be->send(self->q, msg, BIG, 3));
	ASSERT_EQ(0, wait_child(pid));
	munmap(msg, BIG);
}

/*
 * The receiver's buffer is a fresh mapping: not pinned, the ordinary way.
 * rust_ipc pins only pages that are there (FOLL_NOFAULT), so the blocked
 * receiver's VmPin is 0, as natively; a buffer that is there shows 8 KiB
 * (a_blocked_receivers_pinned_buffer_shows_in_vmpin), and so would this
 * one from a module that faulted it in to pin it.
 */
TEST_F(mq, a_receiver_buffer_not_yet_there_goes_the_ordinary_way)
{
	static char msg[BIG];
	pid_t pid = mq_receiver(self->be, self->q, 1, BIG, 31, 2);

	ASSERT_EQ(0, wait_blocked(pid));
	ASSERT_EQ(0, status_field(pid, "VmPin"));
	fill(msg, BIG, 31);
	SYS(self->be->send(self->q, msg, BIG, 2));
	ASSERT_EQ(0, wait_child(pid));
}

/*
 * A receive whose priority cannot be written (its place read-only) fails
 * with EFAULT.  Natively the message is lost (put_user after the dequeue);
 * rust_ipc puts it back ("Extensions": a receive that faults loses
 * nothing), also when the message went straight into a blocked receiver's
 * buffer: it goes back loaded again from that buffer.
 */
struct receiver {
	const struct mq_backend *be;
	mqd_t q;
	char *buf;
	unsigned int *prio;
	ssize_t got;
	int err;
	pid_t tid;
};

static void *receiver_main(void *arg)
{
	struct receiver *r = arg;

	__atomic_store_n(&r->tid, gettid(), __ATOMIC_RELEASE);
	r->got = r->be->receive(r->q, r->buf, BIG, r->prio);
	r->err = errno;
	return NULL;
}

static int start_receiver(pthread_t *t, struct receiver *r)
{
	if (pthread_create(t, NULL, receiver_main, r))
		return -1;
	while (!__atomic_load_n(&r->tid, __ATOMIC_ACQUIRE))
		usleep(1000);
	return 0;
}

/* A child's thread blocks in a receive into rbuf whose priority's place,
 * prio, is writable when it blocks (so that a sender may fill its buffer,
 * rust_ipc's one copy) and read-only once it sleeps: EFAULT.  Returns once
 * it is so. */
static pid_t priority_faulting_receiver(const struct mq_backend *be, mqd_t q, char *rbuf,
					unsigned int *prio)
{
	int *ready = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			  -1, 0);
	pid_t pid;

	if (ready == MAP_FAILED)
		return -1;
	pid = fork_child();
	if (pid == 0) {
		struct receiver r = { .be = be, .q = q, .buf = rbuf, .prio = prio };
		pthread_t t;

		memset(rbuf, 0x5a, BIG);
		*prio = 0;
		CHILD_CHECK(start_receiver(&t, &r) == 0);
		CHILD_CHECK(wait_blocked(r.tid) == 0);
		CHILD_CHECK(mprotect(prio, PAGE, PROT_READ) == 0);
		__atomic_store_n(ready, 1, __ATOMIC_RELEASE);
		CHILD_CHECK(pthread_join(t, NULL) == 0);
		CHILD_CHECK(r.got == -1 && r.err == EFAULT);
		_exit(0);
	}
	for (int i = 0; i < 5000 && !__atomic_load_n(ready, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	munmap(ready, sizeof(int));
	return pid;
}

TEST_F(mq, a_receive_whose_priority_faults_loses_nothing_on_rust_ipc)
{
	static char msg[BIG], rbuf[BIG];
	unsigned int *ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);
	unsigned int prio = 0;
	struct mq_attr a;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, ro);
	pid = priority_faulting_receiver(self->be, self->q, rbuf, ro);
	fill(msg, BIG, 41);
	SYS(self->be->send(self->q, msg, BIG, 5));
	ASSERT_EQ(0, wait_child(pid));
	SYS(self->be->getattr(self->q, &a));
	if (self->be == &native_mq_be) {
		ASSERT_EQ(0, a.mq_curmsgs);
	} else {
		struct ripc_queue_stats st;

		ASSERT_EQ(1, a.mq_curmsgs);
		/* Sent once, received by no one yet. */
		SYS(ripc_mq_stats(self->q, &st, 0));
		ASSERT_EQ(1, (long)st.sent);
		ASSERT_EQ(0, (long)st.received);
		ASSERT_EQ(BIG, self->be->receive(self->q, rbuf, BIG, &prio));
		ASSERT_EQ(5u, prio);
		ASSERT_TRUE(check(rbuf, BIG, 41));
	}
	munmap(ro, PAGE);
}

/*
 * From a descriptor open only for reading, a message its sender copied
 * straight into the receiver's buffer is lost when the priority faults, as
 * natively: its text is then only in that buffer, which a reader could have
 * changed, and a reader may not put a text of its own in the queue.
 */
TEST_F(mq, a_reader_whose_priority_faults_after_one_copy_puts_nothing_back)
{
	static char msg[BIG], rbuf[BIG];
	unsigned int *ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);
	struct mq_attr a;
	mqd_t r;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, ro);
	r = SYS(self->be->open(MQNAME, O_RDONLY));
	pid = priority_faulting_receiver(self->be, r, rbuf, ro);
	fill(msg, BIG, 43);
	SYS(self->be->send(self->q, msg, BIG, 5));
	ASSERT_EQ(0, wait_child(pid));
	SYS(self->be->getattr(self->q, &a));
	ASSERT_EQ(0, a.mq_curmsgs);
	if (self->be == &ripc_mq_be) {
		struct ripc_queue_stats st;

		/* Straight into the buffer, and received (not taken back). */
		SYS(ripc_mq_stats(self->q, &st, 0));
		ASSERT_EQ(1, (long)st.handoffs);
		ASSERT_EQ(1, (long)st.received);
	}
	SYS(self->be->close(r));
	munmap(ro, PAGE);
}

/*
 * A receive whose priority's place is already read-only when it blocks
 * gets nothing in its buffer (EFAULT), as natively (put_user before
 * store_msg): no sender fills it straight (one copy), whose text could not
 * be taken back out of it.  rust_ipc puts the message back; native loses
 * it.
 */
TEST_F(mq, a_priority_place_read_only_when_the_receiver_blocks_leaves_its_buffer_untouched)
{
	static char msg[BIG], rbuf[BIG];
	unsigned int *ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);
	struct receiver r = { .be = self->be, .buf = rbuf };
	struct mq_attr a;
	pthread_t t;

	ASSERT_NE(MAP_FAILED, ro);
	*ro = 0;	/* its page there, read-only */
	SYS(mprotect(ro, PAGE, PROT_READ));
	r.prio = ro;
	r.q = SYS(self->be->open(MQNAME, O_RDONLY));
	memset(rbuf, POISON, BIG);
	ASSERT_EQ(0, start_receiver(&t, &r));
	ASSERT_EQ(0, wait_blocked(r.tid));
	fill(msg, BIG, 44);
	SYS(self->be->send(self->q, msg, BIG, 5));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(-1, r.got);
	ASSERT_EQ(EFAULT, r.err);
	ASSERT_EQ((size_t)BIG, first_written(rbuf, 0, BIG)) TH_LOG("the receiver's buffer was written");
	SYS(self->be->getattr(self->q, &a));
	ASSERT_EQ(self->be == &native_mq_be ? 0 : 1, a.mq_curmsgs);
	SYS(self->be->close(r.q));
	munmap(ro, PAGE);
}

/*
 * rust_ipc's statistics: a message its sender copied into a blocked
 * receiver's buffer is counted received at once, and taken back if the
 * receiver then cannot write its priority and puts it back.  A reset
 * between the two (the sender SCHED_FIFO on the receiver's CPU, so that
 * the receiver runs only after it) leaves nothing to take back: the
 * counts stay at 0 (they wrapped to 2^64 - 1).
 */
TEST_F(mq, a_stats_reset_before_a_put_back_leaves_the_counts_at_zero)
{
	static char msg[BIG], rbuf[BIG];
	unsigned int *ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);
	struct sched_param fifo = { .sched_priority = 1 }, other = { 0 };
	struct ripc_queue_stats st;
	cpu_set_t one;
	pid_t pid;

	if (self->be == &native_mq_be)
		SKIP(return, "rust_ipc's statistics");
	REQUIRE_ROOT();
	ASSERT_NE(MAP_FAILED, ro);
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	SYS(sched_setaffinity(0, sizeof(one), &one));
	pid = priority_faulting_receiver(self->be, self->q, rbuf, ro);
	fill(msg, BIG, 42);
	SYS(sched_setscheduler(0, SCHED_FIFO, &fifo));
	SYS(self->be->send(self->q, msg, BIG, 6));
	SYS(ripc_mq_stats(self->q, &st, RIPC_STATS_RESET));
	SYS(sched_setscheduler(0, SCHED_OTHER, &other));
	/* What the reset saw: sent and received, not yet put back. */
	ASSERT_EQ(1, (long)st.received);
	ASSERT_EQ(0, wait_child(pid));
	SYS(ripc_mq_stats(self->q, &st, 0));
	ASSERT_EQ(0, (long long)st.received);
	ASSERT_EQ(0, (long long)st.received_bytes);
	ASSERT_EQ(1, (long)st.msgs);
	ASSERT_EQ(BIG, self->be->receive(self->q, rbuf, BIG, NULL));
	ASSERT_TRUE(check(rbuf, BIG, 42));
	munmap(ro, PAGE);
}

/*
 * rust_ipc puts back what a receive could not deliver, in its place in the
 * send order: M1, taken by a receive whose copy waits for its buffer's
 * page (userfaultfd) and then faults, goes back before M2 of the same
 * priority, sent after it straight into a blocked receiver's buffer and
 * put back first (that receiver's priority faulted).  M2 went back at the
 * head of its priority, before M1.  Native loses both (EFAULT after the
 * dequeue).
 */
TEST_F(mq, messages_put_back_keep_their_send_order_after_one_copy)
{
	static char msg[BIG], rbuf[BIG], r2buf[BIG];
	size_t len = 3 * PAGE;
	char *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned int *ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);
	struct uffdio_register reg = { .range = { .start = (__u64)(uintptr_t)map, .len = len },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct receiver r1 = { .be = self->be, .q = self->q, .buf = map };
	struct receiver r2 = { .be = self->be, .q = self->q, .buf = r2buf, .prio = ro };
	struct pollfd p = { .events = POLLIN };
	struct uffd_msg ev;
	pthread_t t1, t2;
	int uffd;

	if (self->be == &native_mq_be)
		SKIP(return, "rust_ipc's put-back");
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_NE(MAP_FAILED, ro);
	uffd = uffd_open();
	if (uffd < 0)
		SKIP(return, "userfaultfd: %s", strerrorname_np(errno));
	SYS(ioctl(uffd, UFFDIO_REGISTER, &reg));
	/* M1 is not the queue's first message (whose place is 0). */
	SYS(self->be->send(self->q, "first", 5, 5));
	ASSERT_EQ(5, self->be->receive(self->q, rbuf, BIG, NULL));
	fill(msg, BIG, 51);
	SYS(self->be->send(self->q, msg, BIG, 5));
	/* R1 takes M1; its copy waits for the page. */
	ASSERT_EQ(0, start_receiver(&t1, &r1));
	p.fd = uffd;
	ASSERT_EQ(1, poll(&p, 1, 5000)) TH_LOG("the receive did not fault on its buffer");
	ASSERT_EQ((ssize_t)sizeof(ev), read(uffd, &ev, sizeof(ev)));
	/* R2 blocks on the empty queue, its buffer pinned; M2 goes into it. */
	memset(r2buf, 0x5a, BIG);
	*ro = 0;	/* there when R2 blocks */
	ASSERT_EQ(0, start_receiver(&t2, &r2));
	ASSERT_EQ(0, wait_blocked(r2.tid));
	/* Writable when R2 went to sleep (its buffer pinned), not now. */
	SYS(mprotect(ro, PAGE, PROT_READ));
	fill(msg, BIG, 52);
	SYS(self->be->send(self->q, msg, BIG, 5));
	ASSERT_EQ(0, pthread_join(t2, NULL));
	ASSERT_EQ(-1, r2.got);
	ASSERT_EQ(EFAULT, r2.err);
	/* R1's copy fails: M1 goes back too. */
	SYS(mprotect(map, len, PROT_NONE));
	SYS(ioctl(uffd, UFFDIO_WAKE, &reg.range));
	ASSERT_EQ(0, pthread_join(t1, NULL));
	ASSERT_EQ(-1, r1.got);
	ASSERT_EQ(EFAULT, r1.err);
	/* In the send order: M1, then M2. */
	ASSERT_EQ(BIG, self->be->receive(self->q, rbuf, BIG, NULL));
	ASSERT_TRUE(check(rbuf, BIG, 51)) TH_LOG("M2 came back before M1");
	ASSERT_EQ(BIG, self->be->receive(self->q, rbuf, BIG, NULL));
	ASSERT_TRUE(check(rbuf, BIG, 52));
	close(uffd);
	munmap(map, len);
	munmap(ro, PAGE);
}

/* A message sent with no receiver blocked is queued, then received. */
TEST_F(mq, without_a_blocked_receiver_the_message_is_queued)
{
	static char msg[BIG], rbuf[BIG];
	unsigned int prio = 0;
	struct mq_attr a;

	fill(msg, BIG, 41);
	SYS(self->be->send(self->q, msg, BIG, 9));
	SYS(self->be->getattr(self->q, &a));
	ASSERT_EQ(1, a.mq_curmsgs);
	ASSERT_EQ(BIG, self->be->receive(self->q, rbuf, BIG, &prio));
	ASSERT_EQ(9u, prio);
	ASSERT_TRUE(check(rbuf, BIG, 41));
}

/*
 * A blocked receiver's pinned buffer shows in its VmPin, as io_uring's
 * registered buffers do, until its receive returns (native pins nothing).
 */
TEST_F(mq, a_blocked_receivers_pinned_buffer_shows_in_vmpin)
{
	static char msg[BIG];
	pid_t pid = mq_receiver(self->be, self->q, 0, BIG, 31, 2);
	long pinned;

	ASSERT_EQ(0, wait_blocked(pid));
	EXPECT_TRUE(pins_its_buffer(pid, self->be == &native_mq_be, &pinned))
		TH_LOG("VmPin %ld kB", pinned);
	fill(msg, BIG, 31);
	SYS(self->be->send(self->q, msg, BIG, 2));
	ASSERT_EQ(0, wait_child(pid));
}

/*
 * A receive buffer larger than one copy's 64 KiB (and a System V type) has
 * only that much pinned while it sleeps, since a sender copies into it
 * under the queue's spinlock: a message that fits is copied straight in, a
 * longer one takes the ordinary way; both arrive whole (native pins
 * nothing).  Only the 64 KiB need be there (a POSIX buffer once pinned a
 * page more, for a System V type it never holds: a buffer of which only
 * 64 KiB had been touched got no one copy).
 */
TEST_F(mq, a_large_buffer_pins_only_one_copys_64_kib)
{
	enum { SIZE = 256 << 10 };
	static const size_t lens[] = { 16 << 10, 128 << 10, SIZE, 64 << 10 };
	static const size_t there[] = { SIZE, SIZE, SIZE, 64 << 10 };
	struct mq_attr a = { .mq_maxmsg = 2, .mq_msgsize = SIZE };
	char *msg = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mqd_t q;

	REQUIRE_ROOT();		/* mq_msgsize above msgsize_max */
	ASSERT_NE(MAP_FAILED, msg);
	self->be->unlink(MQNAME "_large");
	q = self->be->open(MQNAME "_large", O_RDWR | O_CREAT | O_EXCL, 0600, &a);
	ASSERT_NE((mqd_t)-1, q);
	for (unsigned int i = 0; i < ARRAY_SIZE(lens); i++) {
		pid_t pid = fork_child();
		long pinned;

		ASSERT_LE(0, pid);
		if (pid == 0) {
			char *rbuf = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			unsigned int prio = ~0u;

			CHILD_CHECK(rbuf != MAP_FAILED);
			memset(rbuf, 0x5a, there[i]);	/* those pages present */
			CHILD_CHECK(self->be->receive(q, rbuf, SIZE, &prio) == (ssize_t)lens[i]);
			CHILD_CHECK(prio == i);
			CHILD_CHECK(check(rbuf, lens[i], 40 + i));
			_exit(0);
		}
		ASSERT_EQ(0, wait_blocked(pid));
		pinned = status_field(pid, "VmPin");
		/* native: nothing; rust_ipc: 64 KiB, 16 pages. */
		EXPECT_EQ(self->be == &native_mq_be ? 0 : 64, pinned) TH_LOG("buffer %u", i);
		fill(msg, lens[i], 40 + i);
		SYS(self->be->send(q, msg, lens[i], i));
		ASSERT_EQ(0, wait_child(pid));
	}
	self->be->close(q);
	self->be->unlink(MQNAME "_large");
	munmap(msg, SIZE);
}

struct remapped {
	const struct mq_backend *be;
	mqd_t q;
	char *buf;
	ssize_t got;
	unsigned int prio;
	pid_t tid;
};

static void *remapped_receive(void *arg)
{
	struct remapped *r = arg;

	__atomic_store_n(&r->tid, gettid(), __ATOMIC_RELEASE);
	r->got = r->be->receive(r->q, r->buf, BIG, &r->prio);
	return NULL;
}

/* Starts remapped_receive() in thread t; 0 once it is blocked. */
static int start_remapped(struct remapped *r, pthread_t *t)
{
	if (pthread_create(t, NULL, remapped_receive, r))
		return -1;
	while (!__atomic_load_n(&r->tid, __ATOMIC_ACQUIRE))
		usleep(1000);
	return wait_blocked(r->tid);
}

/*
 * In a child of nobody's with RLIMIT_MEMLOCK of memlock bytes: a receive
 * of BIG bytes blocks in another thread, its buffer is replaced by a new
 * mapping, then a message (fill(seed)) is sent.  0 if the receive got it
 * and the new mapping has it, or, if pinned, stays zero (the message went
 * into the pages pinned before).
 */
static int remapped_under_memlock(const struct mq_backend *be, mqd_t q, long memlock, int seed,
				  int pinned, int timeouts)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		static char msg[BIG];
		struct remapped r = { .be = be, .q = q };
		struct rlimit rl = { memlock, memlock };
		pthread_t t;

		CHILD_CHECK(drop_privs() == 0);
		CHILD_CHECK(setrlimit(RLIMIT_MEMLOCK, &rl) == 0);
		r.buf = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHILD_CHECK(r.buf != MAP_FAILED);
		memset(r.buf, 0x5a, BIG);	/* its pages there: pinnable */
		/* Receives that block (pinning, if they may) and time out. */
		for (int i = 0; i < timeouts; i++) {
			struct timespec at;

			clock_gettime(CLOCK_REALTIME, &at);
			at.tv_nsec += 1000 * 1000;
			if (at.tv_nsec >= 1000000000L) {
				at.tv_sec++;
				at.tv_nsec -= 1000000000L;
			}
			CHILD_CHECK(be->timedreceive(q, r.buf, BIG, NULL, &at) == -1 &&
				    errno == ETIMEDOUT);
		}
		CHILD_CHECK(status_field(getpid(), "VmPin") == 0);
		CHILD_CHECK(start_remapped(&r, &t) == 0);
		/* A new mapping (its pages not there yet) where the buffer was. */
		CHILD_CHECK(mmap(r.buf, BIG, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == r.buf);
		fill(msg, BIG, seed);
		CHILD_CHECK(be->send(q, msg, BIG, 4) == 0);
		CHILD_CHECK(pthread_join(t, NULL) == 0);
		CHILD_CHECK(r.got == BIG && r.prio == 4);
		if (pinned) {
			for (size_t i = 0; i < BIG; i++)
				CHILD_CHECK(r.buf[i] == 0);
		} else {
			CHILD_CHECK(check(r.buf, BIG, seed));
		}
		_exit(0);
	}
	return wait_child(pid);
}

/*
 * A receiver's pinned pages are charged to RLIMIT_MEMLOCK (as io_uring's
 * registered buffers): at 0, without CAP_IPC_LOCK, nothing is pinned and
 * the message goes the ordinary way.  Seen here as native's behaviour
 * when the blocked receiver's buffer is replaced by a new mapping before
 * the message comes: the message is in the new mapping (a pinned buffer
 * would have got it in the old pages).
 */
TEST_F(mq, under_rlimit_memlock_0_a_remapped_buffer_gets_the_message_as_native)
{
	REQUIRE_ROOT();
	ASSERT_EQ(0, remapped_under_memlock(self->be, self->q, 0, 23, 0, 0));
}

/*
 * One copy pins at most half of the user's RLIMIT_MEMLOCK: the rest stays
 * for the pinning a program asks for (io_uring's registered buffers,
 * MSG_ZEROCOPY, RDMA), which an optimisation must not starve.  A buffer of
 * two pages (BIG) is pinned under a limit of four pages, not under one of
 * two.  Seen by a buffer remapped while its receiver sleeps: a pinned one
 * gets the message in its old pages (the new mapping stays zero), else it
 * is in the new mapping, as native's always is.
 */
TEST_F(mq, one_copy_pins_at_most_half_of_rlimit_memlock)
{
	long page = sysconf(_SC_PAGESIZE);

	REQUIRE_ROOT();
	ASSERT_EQ(0, remapped_under_memlock(self->be, self->q, 2 * page, 31, 0, 0));
	ASSERT_EQ(0, remapped_under_memlock(self->be, self->q, 4 * page, 37,
					    self->be != &native_mq_be, 0));
}

/*
 * A receive that pinned its buffer and timed out gives the pages and their
 * RLIMIT_MEMLOCK charge back: after 200 of them, under a limit of four
 * pages (one copy may pin two), VmPin is 0 and the next blocked receive is
 * pinned again (its message in the old pages of a remapped buffer).
 */
TEST_F(mq, receives_that_time_out_give_their_pins_back)
{
	long page = sysconf(_SC_PAGESIZE);

	REQUIRE_ROOT();
	ASSERT_EQ(0, remapped_under_memlock(self->be, self->q, 4 * page, 41,
					    self->be != &native_mq_be, 200));
}

/*
 * That the one copy is made: a blocked receiver's buffer, pinned when it
 * blocked, is replaced by a new mapping before the message comes.
 * Natively the message is copied to the buffer's address after the
 * receiver wakes, so it is in the new mapping; rust_ipc's sender wrote it
 * into the pages pinned before, so the new mapping stays zero (the
 * difference "One copy for large messages" in the README states), while
 * the receive returns the message's length and priority on both.
 */
TEST_F(mq, a_message_for_a_blocked_receiver_is_copied_once_into_its_pinned_pages)
{
	static char msg[BIG];
	struct remapped r = { .be = self->be, .q = self->q };
	pthread_t t;
	size_t zero = 0;

	r.buf = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r.buf);
	memset(r.buf, 0x5a, BIG);	/* its pages there: pinnable */
	ASSERT_EQ(0, start_remapped(&r, &t));
	ASSERT_EQ(r.buf, mmap(r.buf, BIG, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	fill(msg, BIG, 29);
	ASSERT_EQ(0, self->be->send(self->q, msg, BIG, 6));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(BIG, r.got);
	ASSERT_EQ(6U, r.prio);
	if (self->be == &native_mq_be) {
		EXPECT_TRUE(check(r.buf, BIG, 29));
	} else {
		while (zero < BIG && !r.buf[zero])
			zero++;
		EXPECT_EQ((size_t)BIG, zero) TH_LOG("byte %zu of the new mapping written", zero);
	}
	munmap(r.buf, BIG);
}

/*
 * Which way a sender's text whose pages are not there goes: the blocked
 * receiver's buffer is pinned (8 KiB in VmPin on rust_ipc), then replaced
 * by a new mapping, and the text is sent from a private mapping of a memfd
 * that holds it, never touched (its pages not in the sender's page tables:
 * rust_ipc's copy with page faults off cannot read them).  The ordinary
 * way copies the message to the receiver's address once the receiver has
 * woken, so the new mapping gets it, as natively; had it been copied
 * straight into the pinned pages, the new mapping would stay zero (as in
 * a_message_for_a_blocked_receiver_is_copied_once_into_its_pinned_pages).
 */
TEST_F(mq, a_sender_text_not_yet_there_reaches_a_remapped_buffer_the_ordinary_way)
{
	static char msg[BIG];
	struct remapped r = { .be = self->be, .q = self->q };
	int fd = SYS(memfd_create("ripc_one_copy_text", MFD_CLOEXEC));
	pthread_t t;
	char *text;

	fill(msg, BIG, 47);
	ASSERT_EQ(BIG, write(fd, msg, BIG));
	text = mmap(NULL, BIG, PROT_READ, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, text);
	r.buf = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r.buf);
	memset(r.buf, 0x5a, BIG);	/* its pages there: pinnable */
	ASSERT_EQ(0, start_remapped(&r, &t));
	/* The receiver's side is ready for one copy (a page-aligned 8 KiB). */
	ASSERT_EQ(self->be == &native_mq_be ? 0 : BIG / 1024, status_field(getpid(), "VmPin"));
	ASSERT_EQ(r.buf, mmap(r.buf, BIG, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	SYS(self->be->send(self->q, text, BIG, 6));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(BIG, r.got);
	ASSERT_EQ(6U, r.prio);
	ASSERT_TRUE(check(r.buf, BIG, 47)) TH_LOG("the message is not in the new mapping");
	munmap(r.buf, BIG);
	munmap(text, BIG);
	close(fd);
}

/*
 * Another thread of the process is blocked in a receive into a buffer that
 * the message's own text overlaps (the text at area, the buffer 100 bytes
 * further): native loads the whole text before the receiver copies it, so
 * the receiver gets it as sent.  A copy straight from the one into the
 * other would read bytes it had already overwritten; rust_ipc takes the
 * ordinary way for such a source.
 */
TEST_F(mq, a_text_that_overlaps_the_blocked_receivers_buffer_arrives_as_sent)
{
	static char area[3 * BIG];
	struct remapped r = { .be = self->be, .q = self->q, .buf = area + 100 };
	pthread_t t;

	memset(area, 0x5a, sizeof(area));	/* every page there: pinnable */
	fill(area, BIG, 41);
	ASSERT_EQ(0, start_remapped(&r, &t));
	SYS(self->be->send(self->q, area, BIG, 5));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(BIG, r.got);
	ASSERT_EQ(5u, r.prio);
	ASSERT_TRUE(check(r.buf, BIG, 41));
	ASSERT_EQ(0x5a, (unsigned char)area[100 + BIG]);
}

/* Writes each page of [p, p + len) with what it holds: mapped, writable. */
static void touch_pages(char *p, size_t len)
{
	for (size_t i = 0; i < len; i += 4096)
		((volatile char *)p)[i] = p[i];
}

/*
 * A receiver in another process blocked on a buffer in shared memory
 * (MAP_SHARED) where the sender's text is too, 100 bytes before it: native
 * loads the whole text before the receiver copies it, so the receiver gets
 * it as sent.  The two processes' addresses differ, so nothing tells the
 * sender the text and the buffer are the same pages: rust_ipc pins only
 * private anonymous pages for one copy, and takes the ordinary way for a
 * buffer in shared memory or a file.
 */
TEST_F(mq, a_text_in_shared_memory_under_a_blocked_receivers_buffer_arrives_as_sent)
{
	char *area = mmap(NULL, 3 * BIG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	ASSERT_NE(MAP_FAILED, area);
	memset(area, 0x5a, 3 * BIG);	/* every page there: pinnable */
	fill(area, BIG, 43);
	pid = fork_child();
	if (pid == 0) {
		unsigned int prio = ~0u;

		/* Its pages mapped writable in the child too: pinnable. */
		touch_pages(area, 3 * BIG);
		CHILD_CHECK(self->be->receive(self->q, area + 100, BIG, &prio) == BIG);
		CHILD_CHECK(prio == 4);
		CHILD_CHECK(check(area + 100, BIG, 43));
		_exit(0);
	}
	ASSERT_EQ(0, wait_blocked(pid));
	SYS(self->be->send(self->q, area, BIG, 4));
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_TRUE(check(area + 100, BIG, 43));
	ASSERT_EQ(0x5a, (unsigned char)area[100 + BIG]);
	munmap(area, 3 * BIG);
}

/* ---- System V ---------------------------------------------------------- */

FIXTURE(msg) {
	const struct msg_backend *be;
	int id;
};

FIXTURE_VARIANT(msg) {
	const struct msg_backend *be;
};

FIXTURE_VARIANT_ADD(msg, native) { .be = &native_msg_be };
FIXTURE_VARIANT_ADD(msg, ripc) { .be = &ripc_msg_be };

FIXTURE_SETUP(msg)
{
	SETUP_BACKEND();
	self->id = self->be->get(IPC_PRIVATE, 0600);
	ASSERT_LE(0, self->id);
}

FIXTURE_TEARDOWN(msg)
{
	if (self->id >= 0)
		self->be->ctl(self->id, IPC_RMID, NULL);
}

struct bigbuf {
	long mtype;
	char mtext[BIG];
};

/*
 * A child blocks in msgrcv(msgtyp, bufsz, flags) and checks the result:
 * want bytes of pattern seed and type mtype, or the error err.
 */
static pid_t msg_receiver(const struct msg_backend *be, int id, long msgtyp, size_t bufsz,
			  int flags, ssize_t want, unsigned int seed, long mtype, int err)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		static struct bigbuf b;
		ssize_t n;

		memset(&b, 0x5a, sizeof(b));
		n = be->rcv(id, &b, bufsz, msgtyp, flags);
		if (err) {
			CHILD_CHECK(n == -1 && errno == err);
			_exit(0);
		}
		CHILD_CHECK(n == want);
		CHILD_CHECK(b.mtype == mtype);
		CHILD_CHECK(check(b.mtext, want, seed));
		/* Nothing written past the message. */
		for (size_t i = want; i < sizeof(b.mtext); i++)
			CHILD_CHECK(b.mtext[i] == 0x5a);
		_exit(0);
	}
	return pid;
}

static int msg_send(const struct msg_backend *be, int id, long mtype, size_t len,
		    unsigned int seed)
{
	static struct bigbuf b;

	b.mtype = mtype;
	fill(b.mtext, len, seed);
	return be->snd(id, &b, len, 0);
}

/* A big message to a blocked receiver: every byte and the type. */
TEST_F(msg, a_big_message_to_a_blocked_receiver_arrives_whole)
{
	pid_t pid = msg_receiver(self->be, self->id, 0, BIG, 0, BIG, 12, 4, 0);

	ASSERT_EQ(0, wait_blocked(pid));
	SYS(msg_send(self->be, self->id, 4, BIG, 12));
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_QUEUE_WITH(self->be->ctl, self->id, 0, 0);
}

/*
 * IPC_SET wakes blocked receivers to look again (native's expunge_all with
 * EAGAIN): one that sleeps again keeps the pins it had (it pinned its
 * buffer again and held both sets, seen in VmPin; native pins nothing).
 */
TEST_F(msg, a_receiver_woken_to_look_again_keeps_its_pins)
{
	pid_t pid = msg_receiver(self->be, self->id, 0, BIG, 0, BIG, 13, 6, 0);
	struct msqid_ds ds;
	long pinned, switches;

	ASSERT_EQ(0, wait_blocked(pid));
	switches = status_field(pid, "voluntary_ctxt_switches");
	ASSERT_TRUE(pins_its_buffer(pid, self->be == &native_msg_be, &pinned))
		TH_LOG("VmPin %ld kB", pinned);
	SYS(self->be->ctl(self->id, IPC_STAT, &ds));
	SYS(self->be->ctl(self->id, IPC_SET, &ds));
	/* It woke and went to sleep again. */
	for (int i = 0; i < 3000 && status_field(pid, "voluntary_ctxt_switches") == switches; i++)
		usleep(1000);
	ASSERT_LT(switches, status_field(pid, "voluntary_ctxt_switches"));
	ASSERT_EQ(0, wait_blocked(pid));
	EXPECT_EQ(pinned, status_field(pid, "VmPin"));
	SYS(msg_send(self->be, self->id, 6, BIG, 13));
	ASSERT_EQ(0, wait_child(pid));
}

/*
 * Selection on the way: a receiver of type 9 lets a type-5 message pass
 * (it is queued), then takes its own; a receiver whose buffer is too small
 * gets E2BIG and the next one the message; MSG_NOERROR cuts it.
 */
TEST_F(msg, selection_e2big_and_msg_noerror_as_native)
{
	pid_t p9 = msg_receiver(self->be, self->id, 9, BIG, 0, BIG, 13, 9, 0);
	pid_t small, cut;
	static struct bigbuf b;

	ASSERT_EQ(0, wait_blocked(p9));
	SYS(msg_send(self->be, self->id, 5, BIG, 14));
	ASSERT_QUEUE_WITH(self->be->ctl, self->id, 1, BIG);
	SYS(msg_send(self->be, self->id, 9, BIG, 13));
	ASSERT_EQ(0, wait_child(p9));
	ASSERT_EQ(BIG, self->be->rcv(self->id, &b, BIG, 5, IPC_NOWAIT));
	ASSERT_TRUE(check(b.mtext, BIG, 14));

	small = msg_receiver(self->be, self->id, 0, BIG - 8, 0, 0, 0, 0, E2BIG);
	ASSERT_EQ(0, wait_blocked(small));
	cut = msg_receiver(self->be, self->id, 0, BIG - 8, MSG_NOERROR, BIG - 8, 15, 6, 0);
	ASSERT_EQ(0, wait_blocked(cut));
	SYS(msg_send(self->be, self->id, 6, BIG, 15));
	ASSERT_EQ(0, wait_child(small));
	ASSERT_EQ(0, wait_child(cut));
	ASSERT_QUEUE_WITH(self->be->ctl, self->id, 0, 0);
}

/* The sender's buffer is a fresh mapping: the ordinary way, zeros. */
TEST_F(msg, a_sender_buffer_not_yet_there_goes_the_ordinary_way)
{
	struct bigbuf *b = mmap(NULL, 2 * BIG, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	ASSERT_NE(MAP_FAILED, b);
	pid = fork_child();
	if (pid == 0) {
		static struct bigbuf r;

		memset(&r, 0x5a, sizeof(r));
		CHILD_CHECK(self->be->rcv(self->id, &r, BIG, 0, 0) == BIG);
		CHILD_CHECK(r.mtype == 8);
		for (size_t i = 0; i < BIG; i++)
			CHILD_CHECK(r.mtext[i] == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_blocked(pid));
	b->mtype = 8;		/* only the type's page is there */
	SYS(self->be->snd(self->id, b, BIG, 0));
	ASSERT_EQ(0, wait_child(pid));
	munmap(b, 2 * BIG);
}

/*
 * A receiver blocked with a buffer larger than msgmax pins only msgmax of
 * it: a longer message sent after msgmax was raised must still arrive
 * whole (the ordinary way), as natively, not cut to what was pinned.
 */
TEST_F(msg, a_message_longer_than_msgmax_when_the_receiver_blocked_arrives_whole)
{
	enum { LONG = 20000, BUF = 65536 };
	static struct {
		long mtype;
		char mtext[BUF];
	} b;
	struct msqid_ds ds;
	int old, sent;
	pid_t pid;

	REQUIRE_ROOT();
	SYS(self->be->ctl(self->id, IPC_STAT, &ds));
	ds.msg_qbytes = BUF;
	SYS(self->be->ctl(self->id, IPC_SET, &ds));
	old = self->be->msgmax(0);
	ASSERT_EQ(BIG, old);
	pid = fork_child();
	if (pid == 0) {
		memset(&b, 0x5a, sizeof(b));
		CHILD_CHECK(self->be->rcv(self->id, &b, BUF, 0, 0) == LONG);
		CHILD_CHECK(b.mtype == 3);
		CHILD_CHECK(check(b.mtext, LONG, 18));
		_exit(0);
	}
	ASSERT_EQ(0, wait_blocked(pid));
	ASSERT_EQ(BIG, self->be->msgmax(BUF));
	b.mtype = 3;
	fill(b.mtext, LONG, 18);
	sent = self->be->snd(self->id, &b, LONG, 0);
	self->be->msgmax(old);
	ASSERT_EQ(0, sent);
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_QUEUE_WITH(self->be->ctl, self->id, 0, 0);
}

/*
 * A send whose text faults (EFAULT) wakes nobody: native loads the message
 * before it looks at a receiver, so a receiver whose buffer is too small
 * for it does not get E2BIG, and the next messages go to the receivers in
 * their order.
 */
TEST_F(msg, a_send_that_faults_gives_no_receiver_e2big)
{
	long page = sysconf(_SC_PAGESIZE);
	char *map = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	struct bigbuf *b = (struct bigbuf *)map;
	pid_t small, big;

	ASSERT_NE(MAP_FAILED, map);
	memset(map, 'x', 2 * page);	/* two pages there, the text's end not */
	SYS(mprotect(map + 2 * page, page, PROT_NONE));
	b->mtype = 1;
	small = msg_receiver(self->be, self->id, 0, 10, 0, 5, 16, 1, 0);
	ASSERT_EQ(0, wait_blocked(small));
	big = msg_receiver(self->be, self->id, 0, BIG, 0, 16, 17, 2, 0);
	ASSERT_EQ(0, wait_blocked(big));
	ASSERT_EQ(-1, self->be->snd(self->id, b, BIG, 0));
	ASSERT_EQ(EFAULT, errno);
	SYS(msg_send(self->be, self->id, 1, 5, 16));
	ASSERT_EQ(0, wait_child(small));
	/* Nothing of the failed send was written into the big buffer. */
	SYS(msg_send(self->be, self->id, 2, 16, 17));
	ASSERT_EQ(0, wait_child(big));
	ASSERT_QUEUE_WITH(self->be->ctl, self->id, 0, 0);
	munmap(map, 3 * page);
}

/*
 * A message longer than a blocked MSG_NOERROR receiver's buffer, whose
 * text's last bytes (beyond what the receiver would get) are not
 * readable: native reads the whole text first (load_msg) and gives EFAULT,
 * delivering nothing; rust_ipc too (such a message takes the ordinary way,
 * not the copy of the receiver's share straight into its pinned buffer).
 */
TEST_F(msg, a_send_whose_tail_faults_is_efault_for_a_msg_noerror_receiver_as_native)
{
	long page = sysconf(_SC_PAGESIZE);
	char *map = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	/* mtype and BIG - 4 bytes of text end at map + 3 pages; 4 more do not. */
	struct bigbuf *b = (struct bigbuf *)(map + 3 * page - sizeof(long) - (BIG - 4));
	pid_t pid;

	ASSERT_NE(MAP_FAILED, map);
	memset(map, 'x', 3 * page);
	SYS(mprotect(map + 3 * page, page, PROT_NONE));
	b->mtype = 1;
	/* Its buffer (BIG - 4 bytes of text) pinned: 8 + BIG - 4 >= 8 KiB. */
	pid = msg_receiver(self->be, self->id, 0, BIG - 4, MSG_NOERROR, 16, 19, 2, 0);
	ASSERT_EQ(0, wait_blocked(pid));
	ASSERT_EQ(-1, self->be->snd(self->id, b, BIG, 0));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_QUEUE_WITH(self->be->ctl, self->id, 0, 0);
	/* The receiver got nothing: the next message is its own. */
	SYS(msg_send(self->be, self->id, 2, 16, 19));
	ASSERT_EQ(0, wait_child(pid));
	munmap(map, 4 * page);
}

struct sysv_reader {
	const struct msg_backend *be;
	int id;
	char *buf;
	ssize_t got;
	pid_t tid;
};

static void *sysv_receive(void *arg)
{
	struct sysv_reader *r = arg;

	__atomic_store_n(&r->tid, gettid(), __ATOMIC_RELEASE);
	r->got = r->be->rcv(r->id, r->buf, BIG, 0, 0);
	return NULL;
}

/*
 * The same in one process with a memfd mapped twice: a thread blocked on
 * a buffer in one mapping, the sender's text in the other, 100 bytes
 * before the buffer in the file (the same pages at other addresses of the
 * same mm, which an address check does not see): as sent.
 */
TEST_F(msg, a_text_in_another_mapping_of_a_blocked_receivers_buffer_arrives_as_sent)
{
	int fd = SYS(memfd_create("ripc_one_copy", MFD_CLOEXEC));
	struct sysv_reader r = { .be = self->be, .id = self->id };
	size_t len = 3 * BIG;
	pthread_t t;
	char *a;

	SYS(ftruncate(fd, (off_t)len));
	a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	r.buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, r.buf);
	memset(a, 0x5a, len);	/* every page there: pinnable */
	*(long *)a = 3;
	fill(a + sizeof(long), BIG, 44);
	touch_pages(r.buf, len);	/* mapped writable at both addresses */
	r.buf += 100;
	ASSERT_EQ(0, pthread_create(&t, NULL, sysv_receive, &r));
	while (!__atomic_load_n(&r.tid, __ATOMIC_ACQUIRE))
		usleep(1000);
	ASSERT_EQ(0, wait_blocked(r.tid));
	SYS(self->be->snd(self->id, a, BIG, 0));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(BIG, r.got);
	ASSERT_EQ(3, *(long *)r.buf);
	ASSERT_TRUE(check(r.buf + sizeof(long), BIG, 44));
	munmap(a, len);
	munmap(r.buf - 100, len);
	close(fd);
}

/* Whether [p, p + len) holds only byte c. */
static int all_bytes(const char *p, size_t len, char c)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

/*
 * That the one copy is made for System V too (the POSIX test's twin): a
 * thread blocks in msgrcv on a touched private buffer (the type and BIG
 * bytes of text: 3 pages pinned on rust_ipc), whose pages are then moved
 * elsewhere (mremap MREMAP_DONTUNMAP, which leaves the buffer's range
 * empty, as a new mapping with MAP_FIXED would, and keeps the old pages in
 * view at "old"), and a message of BIG bytes is sent.  Natively the
 * message is copied to the buffer's address after the receiver wakes: the
 * new pages get the type and text, the old ones keep their 0x5a.
 * rust_ipc's sender wrote type and text into the pages pinned before: they
 * are at "old" and the buffer's range stays zero.  msgrcv returns BIG on
 * both.
 */
TEST_F(msg, a_message_for_a_blocked_receiver_is_copied_once_into_its_pinned_pages)
{
	struct sysv_reader r = { .be = self->be, .id = self->id };
	size_t len = sizeof(struct bigbuf), maplen = (len + PAGE - 1) / PAGE * PAGE;
	char *old;
	pthread_t t;

	r.buf = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r.buf);
	memset(r.buf, 0x5a, len);	/* its pages there: pinnable */
	ASSERT_EQ(0, pthread_create(&t, NULL, sysv_receive, &r));
	while (!__atomic_load_n(&r.tid, __ATOMIC_ACQUIRE))
		usleep(1000);
	ASSERT_EQ(0, wait_blocked(r.tid));
	/* Pinned on rust_ipc: the type and BIG bytes, 3 pages. */
	ASSERT_EQ(self->be == &native_msg_be ? 0 : 12, status_field(getpid(), "VmPin"));
	/* (DONTUNMAP takes the same length, whole pages, and a new address:
	 * NULL, anywhere; glibc reads it for this flag too.) */
	old = mremap(r.buf, maplen, maplen, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	ASSERT_NE(MAP_FAILED, old) TH_LOG("mremap: %s", strerrorname_np(errno));
	SYS(msg_send(self->be, self->id, 4, BIG, 29));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(BIG, r.got);
	if (self->be == &native_msg_be) {
		ASSERT_EQ(4, *(long *)r.buf);
		EXPECT_TRUE(check(r.buf + sizeof(long), BIG, 29));
		EXPECT_TRUE(all_bytes(old, len, 0x5a)) TH_LOG("the old pages were written");
	} else {
		size_t zero = 0;

		while (zero < len && !r.buf[zero])
			zero++;
		EXPECT_EQ(len, zero) TH_LOG("byte %zu of the new pages written", zero);
		ASSERT_EQ(4, *(long *)old);
		EXPECT_TRUE(check(old + sizeof(long), BIG, 29));
	}
	ASSERT_QUEUE_WITH(self->be->ctl, self->id, 0, 0);
	munmap(r.buf, maplen);
	munmap(old, maplen);
}

TEST_HARNESS_MAIN
