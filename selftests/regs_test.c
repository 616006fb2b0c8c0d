// SPDX-License-Identifier: GPL-2.0
/*
 * The register calls of <linux/rust_ipc.h> (RIPC_MQ_TIMEDSEND,
 * RIPC_MQ_TIMEDRECEIVE, RIPC_MSGSND_REGS, RIPC_MSGRCV_REGS) made here with
 * syscall(SYS_ioctl, ...) directly: their register layout, what only they
 * have (a NULL or faulting priority pointer, the packed msqid and msgflg,
 * the reserved sixth argument).  The native semantics they share with the struct
 * commands are checked through libripc, which makes them, by mq_test.c and
 * msg_test.c on both backends.  rust_ipc only: SKIPs without the device.
 */
#include "ripc_test.h"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

static long regs(int fd, unsigned int cmd, __u64 a, __u64 b, __u64 c, __u64 d)
{
	return syscall(SYS_ioctl, fd, cmd, a, b, c, d);
}

#define P(p) ((__u64)(uintptr_t)(p))

FIXTURE(regs) {
	char name[64];
	int mqd;	/* a queue descriptor, maxmsg 4, msgsize 64 */
	int dev;	/* an unbound file of the device */
	int msqid;
	void *hole;	/* a page that is not mapped */
};

FIXTURE_SETUP(regs)
{
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 64 };

	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	snprintf(self->name, sizeof(self->name), "/ripc_regs_test_%d", getpid());
	self->mqd = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &a));
	self->dev = SYS(open(RIPC_DEVICE, O_RDWR | O_CLOEXEC));
	self->msqid = SYS(ripc_msgget(IPC_PRIVATE, 0600));
	self->hole = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->hole);
}

FIXTURE_TEARDOWN(regs)
{
	munmap(self->hole, PAGE);
	close(self->dev);
	close(self->mqd);
	ripc_mq_unlink(self->name);
	ripc_msgctl(self->msqid, IPC_RMID, NULL);
}

/* A kernel address: EFAULT from every user copy. */
#define KADDR 0xffff888000000000ull

static long curmsgs(int mqd)
{
	struct mq_attr a;

	return ripc_mq_getattr(mqd, &a) ? -1 : a.mq_curmsgs;
}

TEST_F(regs, mq_send_and_receive_in_registers)
{
	char buf[64];
	unsigned int prio = 0;

	ASSERT_EQ(0, regs(self->mqd, RIPC_MQ_TIMEDSEND, P("hello"), 5, 7, 0));
	ASSERT_EQ(0, regs(self->mqd, RIPC_MQ_TIMEDSEND, P("abc"), 3, 9, 0));
	ASSERT_EQ(3, regs(self->mqd, RIPC_MQ_TIMEDRECEIVE, P(buf), sizeof(buf), P(&prio), 0));
	ASSERT_EQ(9u, prio);
	ASSERT_EQ(0, memcmp(buf, "abc", 3));
	/* A NULL priority pointer: nothing written, as native. */
	ASSERT_EQ(5, regs(self->mqd, RIPC_MQ_TIMEDRECEIVE, P(buf), sizeof(buf), 0, 0));
	ASSERT_EQ(0, memcmp(buf, "hello", 5));
	ASSERT_EQ(0, curmsgs(self->mqd));
}

TEST_F(regs, mq_priority_is_the_low_32_bits_as_native_unsigned_int)
{
	char buf[64];
	unsigned int prio = 0;

	/* mq_timedsend's msg_prio is an unsigned int: the high half is not read. */
	ASSERT_EQ(0, regs(self->mqd, RIPC_MQ_TIMEDSEND, P("x"), 1, (1ull << 32) | 3, 0));
	ASSERT_ERRNO(EINVAL, regs(self->mqd, RIPC_MQ_TIMEDSEND, P("y"), 1, 32768, 0));
	ASSERT_EQ(1, regs(self->mqd, RIPC_MQ_TIMEDRECEIVE, P(buf), sizeof(buf), P(&prio), 0));
	ASSERT_EQ(3u, prio);
	ASSERT_EQ('x', buf[0]);
}

TEST_F(regs, mq_faulting_priority_pointer_is_efault_and_the_message_stays)
{
	char buf[64];
	unsigned int prio = 0;

	ASSERT_EQ(0, regs(self->mqd, RIPC_MQ_TIMEDSEND, P("keep"), 4, 2, 0));
	ASSERT_ERRNO(EFAULT, regs(self->mqd, RIPC_MQ_TIMEDRECEIVE, P(buf), sizeof(buf),
				  P(self->hole), 0));
	/* The put-back extension (README): native would have lost it. */
	ASSERT_EQ(1, curmsgs(self->mqd));
	ASSERT_EQ(4, regs(self->mqd, RIPC_MQ_TIMEDRECEIVE, P(buf), sizeof(buf), P(&prio), 0));
	ASSERT_EQ(2u, prio);
	ASSERT_EQ(0, memcmp(buf, "keep", 4));
}

TEST_F(regs, mq_kernel_address_priority_pointer_is_efault_and_the_message_stays)
{
	char buf[64];

	unsigned int prio = 0;

	ASSERT_EQ(0, regs(self->mqd, RIPC_MQ_TIMEDSEND, P("k"), 1, 1, 0));
	ASSERT_ERRNO(EFAULT, regs(self->mqd, RIPC_MQ_TIMEDRECEIVE, P(buf), sizeof(buf), KADDR, 0));
	ASSERT_EQ(1, curmsgs(self->mqd));
	ASSERT_EQ(1, regs(self->mqd, RIPC_MQ_TIMEDRECEIVE, P(buf), sizeof(buf), P(&prio), 0));
	ASSERT_EQ(1u, prio);
	ASSERT_EQ('k', buf[0]);
}

TEST_F(regs, mq_lengths_are_64_bit_size_t)
{
	char buf[64];

	/* Cut to 32 bits these would be a 1-byte send and a 0-byte buffer. */
	ASSERT_ERRNO(EMSGSIZE, regs(self->mqd, RIPC_MQ_TIMEDSEND, P("x"), (1ull << 32) | 1, 0, 0));
	ASSERT_EQ(0, curmsgs(self->mqd));
	ASSERT_EQ(0, regs(self->mqd, RIPC_MQ_TIMEDSEND, P("y"), 1, 0, 0));
	ASSERT_EQ(1, regs(self->mqd, RIPC_MQ_TIMEDRECEIVE, P(buf), 1ull << 32 | 0, 0, 0));
	ASSERT_EQ('y', buf[0]);
}

/*
 * A receive blocked in a register call, interrupted by a signal whose
 * handler has SA_RESTART, is restarted from the same saved registers and
 * then gets the message with its priority.
 */
TEST_F(regs, mq_blocked_receive_restarts_after_a_signal)
{
	pid_t pid;

	ASSERT_EQ(0, set_handler(SIGUSR1, SA_RESTART));
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char buf[64] = { 0 };
		unsigned int prio = 0;

		CHILD_CHECK(regs(self->mqd, RIPC_MQ_TIMEDRECEIVE, P(buf), sizeof(buf), P(&prio), 0) == 6);
		CHILD_CHECK(prio == 11 && memcmp(buf, "wakeup", 6) == 0);
		CHILD_CHECK(*sig_hits == 1);
		_exit(0);
	}
	ASSERT_EQ(0, wait_blocked(pid));
	SYS(kill(pid, SIGUSR1));
	while (!__atomic_load_n(sig_hits, __ATOMIC_SEQ_CST))
		usleep(1000);
	ASSERT_EQ(0, wait_blocked(pid));
	ASSERT_EQ(0, regs(self->mqd, RIPC_MQ_TIMEDSEND, P("wakeup"), 6, 11, 0));
	ASSERT_EQ(0, wait_child(pid));
}

/*
 * A large message handed straight to a blocked receiver (one copy): a NULL
 * priority pointer is not written; a faulting one (a kernel address) is
 * EFAULT after the text was delivered, and the message goes back, loaded
 * again from the buffer, as on the ordinary way
 * (mq_faulting_priority_pointer_is_efault_and_the_message_stays), where
 * native's put_user after the dequeue loses it.
 */
TEST_F(regs, mq_one_copy_receive_with_null_and_faulting_priority_pointers)
{
	struct mq_attr a = { .mq_maxmsg = 2, .mq_msgsize = 16384 };
	static char out[10000];
	char name[80];
	int big;

	snprintf(name, sizeof(name), "%s_big", self->name);
	big = SYS(ripc_mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a));
	fill(out, sizeof(out), 7);
	for (int round = 0; round < 2; round++) {
		pid_t pid = fork_child();

		ASSERT_LE(0, pid);
		if (pid == 0) {
			char *buf = malloc(16384);

			CHILD_CHECK(buf);
			memset(buf, 0, 16384);	/* the pages are there: pinned */
			if (round == 0) {
				CHILD_CHECK(regs(big, RIPC_MQ_TIMEDRECEIVE, P(buf), 16384, 0, 0) ==
					    sizeof(out));
				CHILD_CHECK(check(buf, sizeof(out), 7));
			} else {
				errno = 0;
				CHILD_CHECK(regs(big, RIPC_MQ_TIMEDRECEIVE, P(buf), 16384, KADDR, 0) == -1);
				CHILD_CHECK(errno == EFAULT);
			}
			_exit(0);
		}
		ASSERT_EQ(0, wait_blocked(pid));
		ASSERT_EQ(0, regs(big, RIPC_MQ_TIMEDSEND, P(out), sizeof(out), 4, 0));
		ASSERT_EQ(0, wait_child(pid));
		ASSERT_EQ(round, curmsgs(big));
	}
	{
		static char in[16384];
		unsigned int prio = 0;

		ASSERT_EQ((long)sizeof(out),
			  regs(big, RIPC_MQ_TIMEDRECEIVE, P(in), sizeof(in), P(&prio), 0));
		ASSERT_EQ(4u, prio);
		ASSERT_TRUE(check(in, sizeof(out), 7));
	}
	close(big);
	ripc_mq_unlink(name);
}

TEST_F(regs, mq_timeout_in_the_sixth_register)
{
	struct timespec past = { .tv_sec = 1 }, bad = { .tv_nsec = 1000000000 };
	char buf[64];

	ASSERT_ERRNO(ETIMEDOUT, regs(self->mqd, RIPC_MQ_TIMEDRECEIVE, P(buf), sizeof(buf), 0,
				     P(&past)));
	ASSERT_ERRNO(EINVAL, regs(self->mqd, RIPC_MQ_TIMEDRECEIVE, P(buf), sizeof(buf), 0,
				  P(&bad)));
	ASSERT_ERRNO(EFAULT, regs(self->mqd, RIPC_MQ_TIMEDSEND, P("x"), 1, 0, P(self->hole)));
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, regs(self->mqd, RIPC_MQ_TIMEDSEND, P("x"), 1, 0, P(&past)));
	ASSERT_ERRNO(ETIMEDOUT, regs(self->mqd, RIPC_MQ_TIMEDSEND, P("x"), 1, 0, P(&past)));
	ASSERT_EQ(4, curmsgs(self->mqd));
}

TEST_F(regs, mq_calls_on_an_unbound_file_are_ebadf)
{
	char buf[64];

	ASSERT_ERRNO(EBADF, regs(self->dev, RIPC_MQ_TIMEDSEND, P("x"), 1, 0, 0));
	ASSERT_ERRNO(EBADF, regs(self->dev, RIPC_MQ_TIMEDRECEIVE, P(buf), sizeof(buf), 0, 0));
}

/* RIPC_MSGSND_REGS and RIPC_MSGRCV_REGS on the fixture's queue. */
#define SND(msgp, sz) \
	regs(self->dev, RIPC_MSGSND_REGS, RIPC_MSG_REGS_ID(self->msqid, 0), P(msgp), sz, 0)
#define RCV(flg, msgp, sz, typ) \
	regs(self->dev, RIPC_MSGRCV_REGS, RIPC_MSG_REGS_ID(self->msqid, flg), P(msgp), sz, typ)

TEST_F(regs, msg_send_and_receive_in_registers)
{
	struct { long mtype; char mtext[16]; } m = { 5, "hello" }, r = { 0 };

	ASSERT_EQ(0, SND(&m, 5));
	m.mtype = 9;
	ASSERT_EQ(0, SND(&m, 3));
	/* msgtyp 9 in the sixth register: the second message. */
	ASSERT_EQ(3, RCV(0, &r, sizeof(r.mtext), 9));
	ASSERT_EQ(9, r.mtype);
	ASSERT_EQ(0, memcmp(r.mtext, "hel", 3));
	ASSERT_EQ(5, RCV(0, &r, sizeof(r.mtext), 0));
	ASSERT_EQ(5, r.mtype);
	ASSERT_EQ(0, memcmp(r.mtext, "hello", 5));
}

TEST_F(regs, msg_flags_ride_in_the_high_half_of_the_id)
{
	struct { long mtype; char mtext[16]; } m = { 1, "abcdef" }, r = { 0 };

	/* IPC_NOWAIT: an empty queue is ENOMSG at once, not a sleep. */
	ASSERT_ERRNO(ENOMSG, RCV(IPC_NOWAIT, &r, 16, 0));
	ASSERT_EQ(0, SND(&m, 6));
	/* Too small a buffer: E2BIG, and with MSG_NOERROR the text cut. */
	ASSERT_ERRNO(E2BIG, RCV(0, &r, 2, 0));
	ASSERT_EQ(2, RCV(MSG_NOERROR, &r, 2, 0));
	ASSERT_EQ(1, r.mtype);
	ASSERT_EQ(0, memcmp(r.mtext, "ab", 2));
	/* The rest of it went with it. */
	ASSERT_ERRNO(ENOMSG, RCV(IPC_NOWAIT, &r, 16, 0));
	/* A negative msqid in the low half is EINVAL, as native. */
	ASSERT_ERRNO(EINVAL, regs(self->dev, RIPC_MSGSND_REGS, RIPC_MSG_REGS_ID(-1, 0),
				  P(&m), 1, 0));
	ASSERT_ERRNO(EINVAL, regs(self->dev, RIPC_MSGRCV_REGS, RIPC_MSG_REGS_ID(-1, 0),
				  P(&r), 16, 0));
}

TEST_F(regs, msg_sizes_and_types_are_64_bit)
{
	struct { long mtype; char mtext[16]; } m = { 7, "sixsix" }, r = { 0 };

	/* Cut to 32 bits, these would be a 5-byte send and E2BIG below. */
	ASSERT_ERRNO(EINVAL, SND(&m, (1ull << 32) | 5));
	ASSERT_EQ(0, SND(&m, 6));
	m.mtype = 3;
	ASSERT_EQ(0, SND(&m, 3));
	m.mtype = 5;
	ASSERT_EQ(0, SND(&m, 4));
	/* msgtyp -5: the lowest type up to 5, a signed long. */
	ASSERT_EQ(3, RCV(0, &r, sizeof(r.mtext), (__u64)-5ll));
	ASSERT_EQ(3, r.mtype);
	/* A buffer size above 4 GiB holds the 6 bytes. */
	ASSERT_EQ(6, RCV(0, &r, (1ull << 32) | 5, 7));
	ASSERT_EQ(7, r.mtype);
	ASSERT_EQ(0, memcmp(r.mtext, "sixsix", 6));
}

TEST_F(regs, msgsnd_sixth_argument_must_be_zero)
{
	struct { long mtype; char mtext[4]; } m = { 1, "ab" };
	struct msqid_ds ds;

	ASSERT_ERRNO(EINVAL, regs(self->dev, RIPC_MSGSND_REGS, RIPC_MSG_REGS_ID(self->msqid, 0),
				  P(&m), 2, 1));
	SYS(ripc_msgctl(self->msqid, IPC_STAT, &ds));
	ASSERT_EQ(0, (long)ds.msg_qnum);
	ASSERT_EQ(0, (long)ds.msg_cbytes);
}

TEST_F(regs, msg_faulting_buffers_are_efault)
{
	struct { long mtype; char mtext[4]; } m = { 1, "ab" };
	struct msqid_ds ds;

	ASSERT_ERRNO(EFAULT, SND(self->hole, 2));
	ASSERT_EQ(0, SND(&m, 2));
	ASSERT_ERRNO(EFAULT, RCV(0, self->hole, 4, 0));
	/* Put back (the extension): still queued. */
	SYS(ripc_msgctl(self->msqid, IPC_STAT, &ds));
	ASSERT_EQ(1, (long)ds.msg_qnum);
	ASSERT_EQ(2, (long)ds.msg_cbytes);
	memset(&m, 0, sizeof(m));
	ASSERT_EQ(2, RCV(IPC_NOWAIT, &m, 4, 0));
	ASSERT_EQ(1, m.mtype);
	ASSERT_EQ(0, memcmp(m.mtext, "ab", 2));
}

TEST_HARNESS_MAIN
