// SPDX-License-Identifier: GPL-2.0
/*
 * A 32-bit program on /dev/rust_ipc.  Built -m32 (i386), without libripc
 * (which passes the native 64-bit structs through and does not build for
 * i386), it drives the device with the uapi's struct commands, as a 32-bit
 * program has to, and runs the same steps with glibc's calls on the native
 * queues (the kernel's 32-bit system calls: the oracle), in the same boot:
 * the results, the bytes, the errnos, the notification's siginfo as a
 * 32-bit process receives it, and a blocked call's restart after a signal
 * (the ioctl through compat_ptr_ioctl, restarted as an i386 system call).
 * The register calls, which read a 64-bit caller's registers, give a
 * 32-bit caller ENOTTY and leave the queue as it was.  Needs a kernel with
 * CONFIG_IA32_EMULATION (the test kernels have it, as distro kernels do).
 */
#include "ripc_test.h"

#include <mqueue.h>
#include <sys/msg.h>

#ifdef __LP64__
#error "compat_test.c is built -m32: it tests the module's 32-bit callers"
#endif

/*
 * Every uapi struct has the size of the 64-bit ABI (explicit padding, each
 * __u64 at a multiple of 8), so that one layout serves both.
 */
#define SAME_SIZE(s, n) _Static_assert(sizeof(struct s) == (n), #s " differs from its 64-bit size")
SAME_SIZE(ripc_clock, 8);
SAME_SIZE(ripc_dump, 32);
SAME_SIZE(ripc_ipc_perm, 48);
SAME_SIZE(ripc_limits, 32);
SAME_SIZE(ripc_list, 32);
SAME_SIZE(ripc_mq_attr, 64);
SAME_SIZE(ripc_mq_batch, 40);
SAME_SIZE(ripc_mq_getsetattr, 24);
SAME_SIZE(ripc_mq_item, 24);
SAME_SIZE(ripc_mq_notify, 16);
SAME_SIZE(ripc_mq_open, 32);
SAME_SIZE(ripc_mq_peek, 32);
SAME_SIZE(ripc_mq_peek_batch, 24);
SAME_SIZE(ripc_mq_setperm, 24);
SAME_SIZE(ripc_mq_unlink, 16);
SAME_SIZE(ripc_mq_xfer, 40);
SAME_SIZE(ripc_msg_batch, 48);
SAME_SIZE(ripc_msg_item, 24);
SAME_SIZE(ripc_msg_next_id, 16);
SAME_SIZE(ripc_msgbind, 8);
SAME_SIZE(ripc_msgctl, 24);
SAME_SIZE(ripc_msgget, 16);
SAME_SIZE(ripc_msginfo, 32);
SAME_SIZE(ripc_msgrcv, 56);
SAME_SIZE(ripc_msgsnd, 48);
SAME_SIZE(ripc_msqid_ds, 120);
SAME_SIZE(ripc_notify_fd, 16);
SAME_SIZE(ripc_notify_fd_open, 8);
SAME_SIZE(ripc_notify_record, 16);
SAME_SIZE(ripc_queue_stats, 160);
SAME_SIZE(ripc_set_limits, 40);
SAME_SIZE(ripc_sigevent, 64);
SAME_SIZE(ripc_stats, 176);
SAME_SIZE(ripc_timespec, 16);
SAME_SIZE(ripc_version, 40);

#define P(p) ((__u64)(uintptr_t)(p))

/* A POSIX queue of either kind: glibc's mqd_t, or a bound file of the device. */
struct q {
	int ripc;
	int fd;
};

static int q_send(struct q *q, const char *m, size_t len, unsigned int prio,
		  const struct timespec *ts)
{
	struct ripc_timespec t = { ts ? ts->tv_sec : 0, ts ? ts->tv_nsec : 0 };
	struct ripc_mq_xfer x = { .size = sizeof(x), .msg_prio = prio, .msg_ptr = P(m),
				  .msg_len = len, .timeout = ts ? P(&t) : 0 };

	if (!q->ripc)
		return ts ? mq_timedsend(q->fd, m, len, prio, ts) : mq_send(q->fd, m, len, prio);
	return ioctl(q->fd, RIPC_MQ_SEND, &x);
}

static long q_receive(struct q *q, char *m, size_t len, unsigned int *prio,
		      const struct timespec *ts)
{
	struct ripc_timespec t = { ts ? ts->tv_sec : 0, ts ? ts->tv_nsec : 0 };
	struct ripc_mq_xfer x = { .size = sizeof(x), .msg_ptr = P(m), .msg_len = len,
				  .timeout = ts ? P(&t) : 0 };
	long r;

	if (!q->ripc)
		return ts ? mq_timedreceive(q->fd, m, len, prio, ts) : mq_receive(q->fd, m, len, prio);
	r = ioctl(q->fd, RIPC_MQ_RECEIVE, &x);
	if (r >= 0)
		*prio = x.msg_prio;
	return r;
}

/* mq_getattr or mq_setattr (set: the new flags), as glibc's struct mq_attr. */
static int q_attr(struct q *q, const long *set, struct mq_attr *old)
{
	struct ripc_mq_attr n = { .mq_flags = set ? *set : 0 }, o;
	struct ripc_mq_getsetattr g = { .size = sizeof(g), .new_attr = set ? P(&n) : 0,
					.old_attr = P(&o) };
	struct mq_attr na = { .mq_flags = set ? *set : 0 };

	if (!q->ripc)
		return set ? mq_setattr(q->fd, &na, old) : mq_getattr(q->fd, old);
	memset(&o, POISON, sizeof(o));
	if (ioctl(q->fd, RIPC_MQ_GETSETATTR, &g))
		return -1;
	*old = (struct mq_attr){ .mq_flags = o.mq_flags, .mq_maxmsg = o.mq_maxmsg,
				 .mq_msgsize = o.mq_msgsize, .mq_curmsgs = o.mq_curmsgs };
	return 0;
}

static int q_notify(struct q *q, int signo, int value)
{
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = signo,
			       .sigev_value.sival_int = value };
	struct ripc_sigevent rev = { .sigev_value = (__u32)value, .sigev_signo = signo,
				     .sigev_notify = RIPC_SIGEV_SIGNAL };
	struct ripc_mq_notify n = { .size = sizeof(n), .sevp = P(&rev) };

	if (!q->ripc)
		return mq_notify(q->fd, &ev);
	return ioctl(q->fd, RIPC_MQ_NOTIFY, &n);
}

/* A System V queue of either kind: msqid, and the device file for the calls. */
struct sq {
	int ripc;
	int dev;
	int id;
};

/* Either kind's message: i386's struct msgbuf has a 4-byte mtype, the
 * uapi's { __s64 mtype; char mtext[]; } an 8-byte one. */
struct native_msg {
	long mtype;
	char mtext[16];
};

struct ripc_msg {
	__s64 mtype;
	char mtext[16];
};

static int sq_send(struct sq *q, long mtype, const char *text, long sz, int flg)
{
	struct native_msg n = { .mtype = mtype };
	struct ripc_msg r = { .mtype = mtype };
	struct ripc_msgsnd a = { .size = sizeof(a), .msqid = q->id, .msgflg = flg,
				 .msgp = P(&r), .msgsz = sz };

	memcpy(n.mtext, text, strnlen(text, sizeof(n.mtext)));
	memcpy(r.mtext, text, strnlen(text, sizeof(r.mtext)));
	if (!q->ripc)
		return msgsnd(q->id, &n, sz, flg);
	return ioctl(q->dev, RIPC_MSGSND, &a);
}

/* msgrcv: the length, the mtype in *mtype, the text in text[0..sz). */
static long sq_receive(struct sq *q, long *mtype, char *text, long sz, long typ, int flg)
{
	struct native_msg n;
	struct ripc_msg r;
	struct ripc_msgrcv a = { .size = sizeof(a), .msqid = q->id, .msgflg = flg,
				 .msgp = P(&r), .msgsz = sz, .msgtyp = typ };
	long len;

	memset(&n, POISON, sizeof(n));
	memset(&r, POISON, sizeof(r));
	if (!q->ripc) {
		len = msgrcv(q->id, &n, sz, typ, flg);
		*mtype = n.mtype;
		memcpy(text, n.mtext, sizeof(n.mtext));
	} else {
		len = ioctl(q->dev, RIPC_MSGRCV, &a);
		*mtype = r.mtype;
		memcpy(text, r.mtext, sizeof(r.mtext));
	}
	return len;
}

/* IPC_STAT's fields a test compares, from either kind. */
struct qstat {
	long long qnum, cbytes, qbytes, lspid, lrpid, mode, uid, cuid, stime, rtime;
};

static int sq_stat(struct sq *q, struct qstat *s)
{
	struct msqid_ds n;
	struct ripc_msqid_ds r;
	struct ripc_msgctl a = { .size = sizeof(a), .msqid = q->id, .cmd = IPC_STAT,
				 .buf = P(&r) };

	if (!q->ripc) {
		if (msgctl(q->id, IPC_STAT, &n))
			return -1;
		*s = (struct qstat){ n.msg_qnum, n.__msg_cbytes, n.msg_qbytes, n.msg_lspid,
				     n.msg_lrpid, n.msg_perm.mode, n.msg_perm.uid,
				     n.msg_perm.cuid, n.msg_stime, n.msg_rtime };
		return 0;
	}
	if (ioctl(q->dev, RIPC_MSGCTL, &a))
		return -1;
	*s = (struct qstat){ r.msg_qnum, r.msg_cbytes, r.msg_qbytes, r.msg_lspid, r.msg_lrpid,
			     r.msg_perm.mode, r.msg_perm.uid, r.msg_perm.cuid, r.msg_stime,
			     r.msg_rtime };
	return 0;
}

static int sq_remove(struct sq *q)
{
	struct ripc_msgctl a = { .size = sizeof(a), .msqid = q->id, .cmd = IPC_RMID };

	if (!q->ripc)
		return msgctl(q->id, IPC_RMID, NULL);
	return ioctl(q->dev, RIPC_MSGCTL, &a);
}

FIXTURE(compat) {
	int dev;		/* an unbound file of the device */
	char name[2][64];	/* [0] native, [1] rust_ipc */
	struct q q[2];		/* maxmsg 4, msgsize 64 */
	struct sq sq[2];
};

FIXTURE_SETUP(compat)
{
	struct mq_attr na = { .mq_maxmsg = 4, .mq_msgsize = 64 };
	struct ripc_mq_attr ra = { .mq_maxmsg = 4, .mq_msgsize = 64 };
	struct ripc_mq_open o = { .size = sizeof(o), .oflag = O_RDWR | O_CREAT | O_EXCL,
				  .mode = 0600, .attr = P(&ra) };
	struct ripc_msgget g = { .size = sizeof(g), .key = IPC_PRIVATE, .msgflg = 0600 };

	self->dev = -1;
	self->q[0].fd = self->q[1].fd = self->sq[0].id = self->sq[1].id = -1;
	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	for (int i = 0; i < 2; i++)
		snprintf(self->name[i], sizeof(self->name[i]), "/ripc_compat_%d_%d", getpid(), i);
	self->dev = SYS(open(RIPC_DEVICE, O_RDWR | O_CLOEXEC));
	self->q[0] = (struct q){ 0, SYS(mq_open(self->name[0], O_RDWR | O_CREAT | O_EXCL, 0600, &na)) };
	o.name = P(self->name[1]);
	self->q[1] = (struct q){ 1, SYS(device_ioctl_fd(RIPC_MQ_OPEN, &o)) };
	self->sq[0] = (struct sq){ 0, self->dev, SYS(msgget(IPC_PRIVATE, 0600)) };
	self->sq[1] = (struct sq){ 1, self->dev, SYS(ioctl(self->dev, RIPC_MSGGET, &g)) };
}

FIXTURE_TEARDOWN(compat)
{
	struct ripc_mq_unlink u = { .size = sizeof(u), .name = P(self->name[1]) };

	if (self->dev < 0)
		return;
	close(self->q[0].fd);
	close(self->q[1].fd);
	mq_unlink(self->name[0]);
	ioctl(self->dev, RIPC_MQ_UNLINK, &u);
	sq_remove(&self->sq[0]);
	sq_remove(&self->sq[1]);
	close(self->dev);
}

TEST_F(compat, the_register_calls_give_a_32_bit_caller_enotty)
{
	struct ripc_version v = { .size = sizeof(v) };
	char m[8] = "abcdefg", buf[64];
	unsigned int prio = 7;
	struct mq_attr a;
	struct qstat s;
	long id = self->sq[1].id;

	SYS(ioctl(self->dev, RIPC_IOC_VERSION, &v));
	ASSERT_EQ((__u32)RIPC_ABI_VERSION, v.abi_version);
	/* syscall()'s arguments are 32-bit longs here, as an i386 caller's. */
	ASSERT_ERRNO(ENOTTY, syscall(SYS_ioctl, self->q[1].fd, RIPC_MQ_TIMEDSEND,
				     (long)(uintptr_t)m, 8L, 1L, 0L));
	ASSERT_ERRNO(ENOTTY, syscall(SYS_ioctl, self->q[1].fd, RIPC_MQ_TIMEDRECEIVE,
				     (long)(uintptr_t)buf, 64L, (long)(uintptr_t)&prio, 0L));
	ASSERT_ERRNO(ENOTTY, syscall(SYS_ioctl, self->dev, RIPC_MSGSND_REGS, id,
				     (long)(uintptr_t)m, 8L, 0L));
	ASSERT_ERRNO(ENOTTY, syscall(SYS_ioctl, self->dev, RIPC_MSGRCV_REGS, id,
				     (long)(uintptr_t)buf, 64L, 0L));
	ASSERT_EQ(7u, prio);
	SYS(q_attr(&self->q[1], NULL, &a));
	ASSERT_EQ(0, a.mq_curmsgs);
	SYS(sq_stat(&self->sq[1], &s));
	ASSERT_EQ(0, s.qnum);
	/* The struct command after them works. */
	SYS(q_send(&self->q[1], m, 8, 1, NULL));
	SYS(q_attr(&self->q[1], NULL, &a));
	ASSERT_EQ(1, a.mq_curmsgs);
}

TEST_F(compat, posix_calls_as_native)
{
	static const struct { const char *text; unsigned int prio; } sent[] = {
		{ "one", 1 }, { "two", 5 }, { "three", 3 }, { "four!", 5 },
	};
	static const int order[] = { 1, 3, 2, 0 };
	long nonblock = O_NONBLOCK;

	for (int k = 0; k < 2; k++) {
		struct q *q = &self->q[k];
		struct timespec past = deadline_ms(-1000), soon = deadline_ms(20);
		struct timespec bad = { past.tv_sec, 1000000000 };
		char buf[64];
		unsigned int prio;
		struct mq_attr a;

		TH_LOG("%s", k ? "rust_ipc" : "native");
		for (int i = 0; i < 4; i++)
			ASSERT_EQ(0, q_send(q, sent[i].text, strlen(sent[i].text) + 1, sent[i].prio, NULL));
		ASSERT_ERRNO(ETIMEDOUT, q_send(q, "x", 1, 0, &past));
		ASSERT_ERRNO(EMSGSIZE, q_send(q, buf, 65, 0, NULL));
		ASSERT_ERRNO(EINVAL, q_send(q, "x", 1, 32768, NULL));
		SYS(q_attr(q, NULL, &a));
		ASSERT_EQ(0, a.mq_flags);
		ASSERT_EQ(4, a.mq_maxmsg);
		ASSERT_EQ(64, a.mq_msgsize);
		ASSERT_EQ(4, a.mq_curmsgs);
		ASSERT_ERRNO(EMSGSIZE, q_receive(q, buf, 63, &prio, NULL));
		for (int i = 0; i < 4; i++) {
			const char *t = sent[order[i]].text;

			memset(buf, POISON, sizeof(buf));
			ASSERT_EQ((long)strlen(t) + 1, q_receive(q, buf, sizeof(buf), &prio, NULL));
			ASSERT_STREQ(t, buf);
			ASSERT_EQ(sent[order[i]].prio, prio);
			ASSERT_EQ(sizeof(buf), first_written(buf, strlen(t) + 1, sizeof(buf)));
		}
		ASSERT_ERRNO(ETIMEDOUT, q_receive(q, buf, sizeof(buf), &prio, &soon));
		ASSERT_ERRNO(EINVAL, q_receive(q, buf, sizeof(buf), &prio, &bad));
		SYS(q_attr(q, &nonblock, &a));
		ASSERT_EQ(0, a.mq_flags);
		ASSERT_ERRNO(EAGAIN, q_receive(q, buf, sizeof(buf), &prio, NULL));
		SYS(q_attr(q, NULL, &a));
		ASSERT_EQ(O_NONBLOCK, a.mq_flags);
	}
}

/*
 * An i386 program's struct __timespec64 has 32 bits of padding after its
 * tv_nsec, which its C code need not set; native's get_timespec64() clears
 * them for a compat caller (so garbage there is neither EINVAL nor a
 * negative tv_nsec), and the module reads its deadlines the same way.
 */
struct ts64 {
	int64_t tv_sec;
	uint32_t tv_nsec;
	uint32_t pad;
};
_Static_assert(sizeof(struct ts64) == sizeof(struct ripc_timespec), "ts64");

static long ts64_receive(struct q *q, char *m, size_t len, const struct ts64 *ts)
{
	struct ripc_mq_xfer x = { .size = sizeof(x), .msg_ptr = P(m), .msg_len = len,
				  .timeout = P(ts) };
	unsigned int prio;

	if (!q->ripc)
		return syscall(SYS_mq_timedreceive_time64, q->fd, m, len, &prio, ts);
	return ioctl(q->fd, RIPC_MQ_RECEIVE, &x);
}

static long ts64_send(struct q *q, const char *m, size_t len, const struct ts64 *ts)
{
	struct ripc_mq_xfer x = { .size = sizeof(x), .msg_ptr = P(m), .msg_len = len,
				  .timeout = P(ts) };

	if (!q->ripc)
		return syscall(SYS_mq_timedsend_time64, q->fd, m, len, 0, ts);
	return ioctl(q->fd, RIPC_MQ_SEND, &x);
}

TEST_F(compat, a_timespec64s_padding_is_ignored_as_natively)
{
	struct timespec past = deadline_ms(-1000);
	const struct ts64 garbage[] = {
		{ past.tv_sec, 5, 0xdeadbeef },
		{ past.tv_sec, 999999999, 0xffffffff },	/* negative as 64 bits */
	};
	const struct ts64 bad = { past.tv_sec, 1000000000, 0xdeadbeef };
	char buf[64] = "m";

	for (int k = 0; k < 2; k++) {
		struct q *q = &self->q[k];

		TH_LOG("%s", k ? "rust_ipc" : "native");
		for (int i = 0; i < 2; i++)
			ASSERT_ERRNO(ETIMEDOUT, ts64_receive(q, buf, sizeof(buf), &garbage[i]));
		ASSERT_ERRNO(EINVAL, ts64_receive(q, buf, sizeof(buf), &bad));
		for (int i = 0; i < 4; i++)
			ASSERT_EQ(0, ts64_send(q, "m", 1, &garbage[i & 1]));
		for (int i = 0; i < 2; i++)
			ASSERT_ERRNO(ETIMEDOUT, ts64_send(q, "x", 1, &garbage[i]));
		ASSERT_ERRNO(EINVAL, ts64_send(q, "x", 1, &bad));
		ASSERT_EQ(1, ts64_receive(q, buf, sizeof(buf), &garbage[0]));
		ASSERT_EQ('m', buf[0]);
	}
}

TEST_F(compat, the_notification_signal_reaches_a_32_bit_process_as_natively)
{
	ASSERT_EQ(0, block_signal(SIGUSR1));
	for (int k = 0; k < 2; k++) {
		struct q *q = &self->q[k];
		siginfo_t si;

		TH_LOG("%s", k ? "rust_ipc" : "native");
		SYS(q_notify(q, SIGUSR1, 0x5a5a1234));
		ASSERT_ERRNO(EBUSY, q_notify(q, SIGUSR1, 1));
		SYS(q_send(q, "x", 1, 0, NULL));
		memset(&si, 0, sizeof(si));
		ASSERT_EQ(SIGUSR1, take_signal(SIGUSR1, &si, 2000));
		ASSERT_EQ(SI_MESGQ, si.si_code);
		ASSERT_EQ(0x5a5a1234, si.si_value.sival_int);
		ASSERT_EQ(getpid(), si.si_pid);
		ASSERT_EQ(getuid(), si.si_uid);
		/* One-shot: registered again, then taken back by NULL. */
		SYS(q_notify(q, SIGUSR1, 2));
	}
}

/* A receive blocked on an empty queue is interrupted by a handled signal
 * with SA_RESTART, then gets the message sent after it: POSIX restarts the
 * call (ERESTARTSYS), System V's msgrcv does not (ERESTARTNOHAND: EINTR). */
TEST_F(compat, a_blocked_receive_after_a_sa_restart_signal_as_natively)
{
	ASSERT_EQ(0, set_handler(SIGUSR2, SA_RESTART));
	for (int k = 0; k < 2; k++) {
		char buf[64], text[16];
		unsigned int prio = 0;
		long mtype = 0;
		pid_t pid;

		TH_LOG("%s", k ? "rust_ipc" : "native");
		*sig_hits = 0;
		pid = fork_child();
		if (pid == 0) {
			int blocked = wait_blocked(getppid());

			kill(getppid(), SIGUSR2);
			usleep(100000);
			blocked |= wait_blocked(getppid());
			CHILD_CHECK(q_send(&self->q[k], "late", 5, 9, NULL) == 0);
			CHILD_CHECK(blocked == 0);
			_exit(0);
		}
		memset(buf, POISON, sizeof(buf));
		ASSERT_EQ(5, q_receive(&self->q[k], buf, sizeof(buf), &prio, NULL));
		ASSERT_STREQ("late", buf);
		ASSERT_EQ(9u, prio);
		ASSERT_EQ(1, *sig_hits);
		ASSERT_EQ(0, wait_child(pid));

		*sig_hits = 0;
		pid = signal_when_blocked(SIGUSR2);
		ASSERT_ERRNO(EINTR, sq_receive(&self->sq[k], &mtype, text, sizeof(text), 0, 0));
		ASSERT_EQ(1, *sig_hits);
		ASSERT_EQ(0, wait_child(pid));
	}
}

TEST_F(compat, system_v_calls_as_native)
{
	for (int k = 0; k < 2; k++) {
		struct sq *q = &self->sq[k];
		char text[16];
		struct qstat s;
		long mtype;

		TH_LOG("%s", k ? "rust_ipc" : "native");
		ASSERT_EQ(0, sq_send(q, 3, "c", 1, 0));
		ASSERT_EQ(0, sq_send(q, 1, "a", 1, 0));
		ASSERT_EQ(0, sq_send(q, 2, "bb", 2, 0));
		ASSERT_EQ(0, sq_send(q, 3, "cc", 2, 0));
		ASSERT_ERRNO(EINVAL, sq_send(q, 0, "z", 1, 0));
		ASSERT_ERRNO(EINVAL, sq_send(q, 1, "z", -1, 0));
		SYS(sq_stat(q, &s));
		ASSERT_EQ(4, s.qnum);
		ASSERT_EQ(6, s.cbytes);
		ASSERT_EQ(16384, s.qbytes);
		ASSERT_EQ(getpid(), s.lspid);
		ASSERT_EQ(0, s.lrpid);
		ASSERT_EQ(0600, s.mode & 0777);
		ASSERT_EQ(getuid(), s.uid);
		ASSERT_EQ(getuid(), s.cuid);
		ASSERT_NE(0, s.stime);
		ASSERT_EQ(0, s.rtime);

		ASSERT_EQ(1, sq_receive(q, &mtype, text, sizeof(text), -2, 0));
		ASSERT_EQ(1, mtype);
		ASSERT_EQ(0, memcmp(text, "a", 1));
		ASSERT_EQ(POISON, (unsigned char)text[1]);
		ASSERT_EQ(2, sq_receive(q, &mtype, text, sizeof(text), 3, MSG_EXCEPT));
		ASSERT_EQ(2, mtype);
		ASSERT_EQ(0, memcmp(text, "bb", 2));
		ASSERT_EQ(1, sq_receive(q, &mtype, text, sizeof(text), 0, 0));
		ASSERT_EQ(3, mtype);
		ASSERT_EQ('c', text[0]);
		ASSERT_ERRNO(E2BIG, sq_receive(q, &mtype, text, 1, 0, 0));
		ASSERT_EQ(1, sq_receive(q, &mtype, text, 1, 0, MSG_NOERROR));
		ASSERT_EQ(3, mtype);
		ASSERT_EQ('c', text[0]);
		ASSERT_EQ(POISON, (unsigned char)text[1]);
		ASSERT_ERRNO(ENOMSG, sq_receive(q, &mtype, text, sizeof(text), 0, IPC_NOWAIT));
		SYS(sq_stat(q, &s));
		ASSERT_EQ(0, s.qnum);
		ASSERT_EQ(0, s.cbytes);
		ASSERT_EQ(getpid(), s.lrpid);
		ASSERT_NE(0, s.rtime);

		SYS(sq_remove(q));
		ASSERT_ERRNO(EINVAL, sq_send(q, 1, "z", 1, 0));
		ASSERT_ERRNO(EINVAL, sq_stat(q, &s));
		q->id = -1;
	}
}

/* A pointer field is the uapi's __u64: its upper half is not cut off for a
 * 32-bit caller (such an address is no mapping of it), so nothing of the
 * caller's memory below 4 GiB is used in its place. */
TEST_F(compat, a_pointer_field_with_its_upper_half_set_is_efault)
{
	char m[8] = "abcdefg", buf[64];
	struct ripc_mq_xfer x = { .size = sizeof(x), .msg_ptr = P(m) | 1ull << 32,
				  .msg_len = sizeof(m) };
	struct ripc_mq_open o = { .size = sizeof(o), .oflag = O_RDWR,
				  .name = P(self->name[1]) | 1ull << 32 };
	struct ripc_msg r = { .mtype = 1 };
	struct ripc_msgsnd s = { .size = sizeof(s), .msqid = self->sq[1].id,
				 .msgp = P(&r) | 1ull << 32, .msgsz = 1 };
	struct mq_attr a;
	struct qstat st;
	unsigned int prio;

	ASSERT_ERRNO(EFAULT, ioctl(self->q[1].fd, RIPC_MQ_SEND, &x));
	ASSERT_ERRNO(EFAULT, device_ioctl_fd(RIPC_MQ_OPEN, &o));
	ASSERT_ERRNO(EFAULT, ioctl(self->dev, RIPC_MSGSND, &s));
	SYS(q_attr(&self->q[1], NULL, &a));
	ASSERT_EQ(0, a.mq_curmsgs);
	SYS(sq_stat(&self->sq[1], &st));
	ASSERT_EQ(0, st.qnum);
	/* The same calls with the pointers as they are. */
	x.msg_ptr = P(m);
	SYS(ioctl(self->q[1].fd, RIPC_MQ_SEND, &x));
	memset(buf, POISON, sizeof(buf));
	ASSERT_EQ(8, q_receive(&self->q[1], buf, sizeof(buf), &prio, NULL));
	ASSERT_EQ(0, memcmp(buf, m, 8));
	s.msgp = P(&r);
	SYS(ioctl(self->dev, RIPC_MSGSND, &s));
	SYS(sq_stat(&self->sq[1], &st));
	ASSERT_EQ(1, st.qnum);
}

TEST_HARNESS_MAIN
