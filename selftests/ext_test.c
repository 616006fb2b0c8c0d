// SPDX-License-Identifier: GPL-2.0
/*
 * rust_ipc's extensions and documented differences from the native queues
 * (README, "Intended differences"): System V timeouts, EFAULT that keeps
 * the message, RIPC_MSG_BIND poll/epoll on a System V queue, the listing,
 * SIGEV_THREAD and the notification's target thread.  rust_ipc only: every
 * test SKIPs when the device does not exist.
 */
#include "ripc_test.h"

#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#define NKEYS 4

FIXTURE(ext) {
	int dev;		/* libripc's process-wide device descriptor */
	char name[64];		/* a POSIX queue name */
	key_t key[NKEYS];	/* System V keys */
	int ids[8];		/* System V queues to remove in teardown */
	int nids;
};

FIXTURE_SETUP(ext)
{
	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	self->dev = SYS(ripc_device_fd());
	snprintf(self->name, sizeof(self->name), "/ripc_ext_test_%d", getpid());
	for (int i = 0; i < NKEYS; i++)
		self->key[i] = 0x50000000 | (getpid() << 4) | i;
}

FIXTURE_TEARDOWN(ext)
{
	int id;

	for (int i = 0; i < self->nids; i++)
		ripc_msgctl(self->ids[i], IPC_RMID, NULL);
	for (int i = 0; i < NKEYS; i++)
		if ((id = ripc_msgget(self->key[i], 0)) >= 0)
			ripc_msgctl(id, IPC_RMID, NULL);
	ripc_mq_unlink(self->name);
}

#define PTR(p) ((__u64)(uintptr_t)(p))

/* Creates a System V queue (removed at teardown). */
#define MKQ(key, mode) ({ \
	int __id = SYS(ripc_msgget(key, IPC_CREAT | IPC_EXCL | (mode))); \
	if (self->nids < (int)ARRAY_SIZE(self->ids)) \
		self->ids[self->nids++] = __id; \
	__id; \
})

struct mbuf {
	long mtype;
	char mtext[64];
};

/* RIPC_MSGSND of a string (without its NUL) with a timeout pointer. */
static int tsnd(int dev, int id, long type, const char *text, int flg, const void *timeout)
{
	struct mbuf m = { .mtype = type };
	size_t n = strlen(text);
	struct ripc_msgsnd a = {
		.size = sizeof(a), .msqid = id, .msgflg = flg,
		.msgp = PTR(&m), .msgsz = (__s64)n, .timeout = PTR(timeout),
	};

	memcpy(m.mtext, text, n);
	return ioctl(dev, RIPC_MSGSND, &a);
}

/* RIPC_MSGRCV into m with a timeout pointer. */
static int trcv(int dev, int id, void *m, long sz, long typ, int flg, const void *timeout)
{
	struct ripc_msgrcv a = {
		.size = sizeof(a), .msqid = id, .msgflg = flg, .msgp = PTR(m),
		.msgsz = sz, .msgtyp = typ, .timeout = PTR(timeout),
	};

	return ioctl(dev, RIPC_MSGRCV, &a);
}

static int snd(int id, long type, const char *text)
{
	struct mbuf m = { .mtype = type };
	size_t n = strlen(text);

	memcpy(m.mtext, text, n);
	return ripc_msgsnd(id, &m, n, IPC_NOWAIT);
}

static struct ripc_timespec rts(struct timespec ts)
{
	return (struct ripc_timespec){ ts.tv_sec, ts.tv_nsec };
}

/* msgrcv (IPC_NOWAIT) into a struct mbuf; checks length, type and bytes. */
#define ASSERT_RCV(id, typ, want_type, want_text) do { \
	struct mbuf __m = { 0 }; \
	ssize_t __n = ripc_msgrcv(id, &__m, sizeof(__m.mtext), typ, IPC_NOWAIT); \
	int __e = errno; \
	ASSERT_EQ((ssize_t)strlen(want_text), __n) TH_LOG("errno %s", strerrorname_np(__e)); \
	ASSERT_EQ((long)(want_type), __m.mtype); \
	ASSERT_EQ(0, memcmp(__m.mtext, want_text, strlen(want_text))); \
} while (0)

#define STAT(id) STAT_WITH(ripc_msgctl, id)
#define ASSERT_QUEUE(id, qnum, cbytes) ASSERT_QUEUE_WITH(ripc_msgctl, id, qnum, cbytes)
#define SET_QBYTES(id, n) SET_QBYTES_WITH(ripc_msgctl, id, n)

/* ---- System V timeouts -------------------------------------------------- */

/* How late a timed call may return after its deadline (TCG is slow). */
#define LATE_NS 300000000LL
#define ON_TIME(now, dl) (ts_ns(now) < (dl).tv_sec * 1000000000LL + (dl).tv_nsec + LATE_NS)

TEST_F(ext, sysv_timed_receive_times_out_no_earlier_than_the_deadline)
{
	int id = MKQ(self->key[0], 0600);
	struct ripc_timespec dl;
	struct timespec now = { 0 };
	struct mbuf m;

	/* A late return once is a stalled vCPU; a late timer, every time. */
	for (int t = 0; t < 3 && (t == 0 || !ON_TIME(now, dl)); t++) {
		dl = rts(deadline_ms(50));
		ASSERT_ERRNO(ETIMEDOUT, trcv(self->dev, id, &m, 64, 0, 0, &dl));
		clock_gettime(CLOCK_REALTIME, &now);
		ASSERT_GE(ts_ns(now), dl.tv_sec * 1000000000LL + dl.tv_nsec);
	}
	ASSERT_LT(ts_ns(now), dl.tv_sec * 1000000000LL + dl.tv_nsec + LATE_NS)
		TH_LOG("%lld ms late", (ts_ns(now) - dl.tv_sec * 1000000000LL - dl.tv_nsec) / 1000000);
	/* A past deadline without a matching message: at once. */
	SYS(snd(id, 1, "x"));
	dl = rts(deadline_ms(-1000));
	ASSERT_ERRNO(ETIMEDOUT, trcv(self->dev, id, &m, 64, 2, 0, &dl));
	ASSERT_QUEUE(id, 1, 1);
}

TEST_F(ext, sysv_timed_send_times_out_no_earlier_than_the_deadline)
{
	int id = MKQ(self->key[0], 0600);
	struct ripc_timespec dl;
	struct timespec now;

	SET_QBYTES(id, 4);
	SYS(snd(id, 1, "abcd"));
	for (int t = 0; t < 3 && (t == 0 || !ON_TIME(now, dl)); t++) {
		dl = rts(deadline_ms(50));
		ASSERT_ERRNO(ETIMEDOUT, tsnd(self->dev, id, 2, "efgh", 0, &dl));
		clock_gettime(CLOCK_REALTIME, &now);
		ASSERT_GE(ts_ns(now), dl.tv_sec * 1000000000LL + dl.tv_nsec);
	}
	ASSERT_LT(ts_ns(now), dl.tv_sec * 1000000000LL + dl.tv_nsec + LATE_NS)
		TH_LOG("%lld ms late", (ts_ns(now) - dl.tv_sec * 1000000000LL - dl.tv_nsec) / 1000000);
	ASSERT_QUEUE(id, 1, 4);
	ASSERT_RCV(id, 0, 1, "abcd");
}

TEST_F(ext, sysv_timed_calls_succeed_before_the_deadline)
{
	int id = MKQ(self->key[0], 0600);
	struct ripc_timespec dl = rts(deadline_ms(-1000)), far;
	struct mbuf m = { 0 };
	pid_t pid;

	/* A past deadline is fine when the call need not block. */
	SYS(tsnd(self->dev, id, 3, "now", 0, &dl));
	ASSERT_EQ(3, trcv(self->dev, id, &m, 64, 0, 0, &dl));
	ASSERT_EQ(3, m.mtype);
	ASSERT_EQ(0, memcmp(m.mtext, "now", 3));
	ASSERT_ERRNO(ETIMEDOUT, trcv(self->dev, id, &m, 64, 0, 0, &dl));
	/* IPC_NOWAIT still wins over a deadline. */
	ASSERT_ERRNO(ENOMSG, trcv(self->dev, id, &m, 64, 0, IPC_NOWAIT, &dl));
	/* A blocked timed receive gets a message sent before the deadline. */
	far = rts(deadline_ms(CHILD_TIMEOUT * 1000));
	pid = fork_child();
	if (pid == 0) {
		int blocked = wait_blocked(getppid());

		CHILD_CHECK(snd(id, 7, "late") == 0);
		CHILD_CHECK(blocked == 0);
		_exit(0);
	}
	memset(&m, 0, sizeof(m));
	ASSERT_EQ(4, trcv(self->dev, id, &m, 64, 7, 0, &far));
	ASSERT_EQ(7, m.mtype);
	ASSERT_EQ(0, memcmp(m.mtext, "late", 4));
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_QUEUE(id, 0, 0);
}

TEST_F(ext, sysv_invalid_timespec_is_einval_and_bad_pointer_efault)
{
	static const struct ripc_timespec bad[] = {
		{ 0, 1000000000 }, { 0, -1 }, { -1, 0 }, { INT64_MIN, 0 },
	};
	int id = MKQ(self->key[0], 0600);
	struct mbuf m;

	/* A message is ready and there is room: the timespec is checked anyway. */
	SYS(snd(id, 1, "x"));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_ERRNO(EINVAL, tsnd(self->dev, id, 1, "y", 0, &bad[i]));
		ASSERT_ERRNO(EINVAL, trcv(self->dev, id, &m, 64, 0, 0, &bad[i]));
	}
	ASSERT_ERRNO(EFAULT, tsnd(self->dev, id, 1, "y", 0, (void *)1));
	ASSERT_ERRNO(EFAULT, trcv(self->dev, id, &m, 64, 0, 0, (void *)1));
	ASSERT_QUEUE(id, 1, 1);
	/* libripc's relative timeouts, which it copies: EFAULT, no crash. */
	m.mtype = 1;
	ASSERT_ERRNO(EFAULT, ripc_msgsnd_clock(id, &m, 1, 0, CLOCK_MONOTONIC, 0, (void *)8));
	ASSERT_ERRNO(EFAULT, ripc_msgrcv_clock(id, &m, 64, 0, 0, CLOCK_MONOTONIC, 0, (void *)8));
	ASSERT_QUEUE(id, 1, 1);
}

/* The same for POSIX's clock variants with a relative timeout. */
TEST_F(ext, posix_relative_timeout_at_a_bad_pointer_is_efault)
{
	struct mq_attr a = { .mq_maxmsg = 1, .mq_msgsize = 16 };
	int q = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT, 0600, &a));
	char buf[16];

	SYS(ripc_mq_send(q, "x", 1, 0));
	ASSERT_ERRNO(EFAULT, ripc_mq_clocksend(q, "y", 1, 0, CLOCK_MONOTONIC, 0, (void *)8));
	ASSERT_ERRNO(EFAULT, ripc_mq_clocksend(q, "y", 1, 0, CLOCK_REALTIME, 0, (void *)8));
	ASSERT_ERRNO(EFAULT, ripc_mq_clockreceive(q, buf, sizeof(buf), NULL, CLOCK_BOOTTIME, 0,
						  (void *)8));
	ASSERT_EQ(1, ripc_mq_receive(q, buf, sizeof(buf), NULL));
	SYS(ripc_mq_close(q));
	ripc_mq_unlink(self->name);
}

/* ---- EFAULT keeps the message ------------------------------------------- */

TEST_F(ext, posix_receive_into_a_bad_buffer_keeps_the_message)
{
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 16 };
	mqd_t q = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &a));
	char *none = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned int prio = 0;
	char buf[16];

	ASSERT_NE(MAP_FAILED, none);
	SYS(ripc_mq_send(q, "abc", 3, 5));
	ASSERT_ERRNO(EFAULT, ripc_mq_receive(q, NULL, 16, &prio));
	ASSERT_ERRNO(EFAULT, ripc_mq_receive(q, none, 16, &prio));
	SYS(ripc_mq_getattr(q, &a));
	ASSERT_EQ(1, a.mq_curmsgs);
	ASSERT_EQ(3, ripc_mq_receive(q, buf, sizeof(buf), &prio));
	ASSERT_EQ(0, memcmp(buf, "abc", 3));
	ASSERT_EQ(5u, prio);
	/* It goes back at its place: first of its priority. */
	SYS(ripc_mq_send(q, "m1", 2, 5));
	SYS(ripc_mq_send(q, "m2", 2, 5));
	SYS(ripc_mq_send(q, "lo", 2, 1));
	ASSERT_ERRNO(EFAULT, ripc_mq_receive(q, none, 16, &prio));
	SYS(ripc_mq_getattr(q, &a));
	ASSERT_EQ(3, a.mq_curmsgs);
	ASSERT_EQ(2, ripc_mq_receive(q, buf, sizeof(buf), &prio));
	ASSERT_EQ(0, memcmp(buf, "m1", 2));
	ASSERT_EQ(5u, prio);
	ASSERT_EQ(2, ripc_mq_receive(q, buf, sizeof(buf), &prio));
	ASSERT_EQ(0, memcmp(buf, "m2", 2));
	ASSERT_EQ(2, ripc_mq_receive(q, buf, sizeof(buf), &prio));
	ASSERT_EQ(0, memcmp(buf, "lo", 2));
	ASSERT_EQ(1u, prio);
}

TEST_F(ext, posix_partly_copied_message_is_kept_whole)
{
	static char msg[5000], buf[8192];
	struct mq_attr a = { .mq_maxmsg = 2, .mq_msgsize = 8192 };
	mqd_t q = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &a));
	char *pages = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned int prio = 0;

	ASSERT_NE(MAP_FAILED, pages);
	SYS(munmap(pages + PAGE, PAGE));
	fill(msg, sizeof(msg), 9);
	SYS(ripc_mq_send(q, msg, sizeof(msg), 2));
	/* 100 bytes can be written, then the copy faults. */
	ASSERT_ERRNO(EFAULT, ripc_mq_receive(q, pages + PAGE - 100, 8192, &prio));
	SYS(ripc_mq_getattr(q, &a));
	ASSERT_EQ(1, a.mq_curmsgs);
	ASSERT_EQ((ssize_t)sizeof(msg), ripc_mq_receive(q, buf, sizeof(buf), &prio));
	ASSERT_TRUE(check(buf, sizeof(msg), 9));
	ASSERT_EQ(2u, prio);
}

TEST_F(ext, sysv_receive_into_a_bad_buffer_keeps_the_message)
{
	int id = MKQ(self->key[0], 0600);
	char *pages = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, pages);
	SYS(munmap(pages + PAGE, PAGE));
	SYS(snd(id, 1, "a"));
	SYS(snd(id, 2, "b"));
	SYS(snd(id, 3, "c"));
	ASSERT_ERRNO(EFAULT, ripc_msgrcv(id, (void *)1, 64, 2, IPC_NOWAIT));
	ASSERT_QUEUE(id, 3, 3);
	/* mtype writable, mtext not. */
	ASSERT_ERRNO(EFAULT, ripc_msgrcv(id, pages + PAGE - sizeof(long), 64, 2, IPC_NOWAIT));
	ASSERT_ERRNO(EFAULT, ripc_msgrcv(id, NULL, 64, 0, IPC_NOWAIT));
	ASSERT_QUEUE(id, 3, 3);
	ASSERT_RCV(id, 0, 1, "a");
	ASSERT_RCV(id, 0, 2, "b");
	ASSERT_RCV(id, 0, 3, "c");
	ASSERT_QUEUE(id, 0, 0);
}

/* ---- RIPC_MSG_BIND: poll on a System V queue ----------------------------- */

/* Binds the device file fd to msqid (bind_new() of ripc_test.h opens a new one). */
static int msg_bind(int fd, int msqid)
{
	struct ripc_msgbind b = { .size = sizeof(b), .msqid = msqid };

	return ioctl(fd, RIPC_MSG_BIND, &b);
}

/* poll(fd, POLLIN|POLLOUT, 0): the revents. */
static int revents(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };

	return poll(&p, 1, 0) < 0 ? -1 : p.revents;
}

TEST_F(ext, msg_bind_poll_reports_readable_and_writable)
{
	int id = MKQ(self->key[0], 0600), fd = SYS(bind_new(id));
	struct mbuf m = { .mtype = 1 };
	struct pollfd p = { .fd = fd, .events = POLLIN };

	ASSERT_EQ(POLLOUT, revents(fd));
	SYS(snd(id, 1, "x"));
	ASSERT_EQ(POLLIN | POLLOUT, revents(fd));
	/* Full: one message, qbytes 1 (a message of 0 bytes no longer fits). */
	SET_QBYTES(id, 1);
	ASSERT_EQ(POLLIN, revents(fd));
	ASSERT_ERRNO(EAGAIN, ripc_msgsnd(id, &m, 0, IPC_NOWAIT));
	ASSERT_RCV(id, 0, 1, "x");
	ASSERT_EQ(POLLOUT, revents(fd));
	/* Only the events asked for. */
	ASSERT_EQ(0, poll(&p, 1, 0));
}

/* The readable and writable masks carry POLLRDNORM and POLLWRNORM, as a
 * POSIX queue's. */
TEST_F(ext, msg_bind_poll_reports_rdnorm_and_wrnorm_with_in_and_out)
{
	int id = MKQ(self->key[0], 0600), fd = SYS(bind_new(id));
	struct pollfd p = { .fd = fd,
			    .events = POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM };

	ASSERT_EQ(1, poll(&p, 1, 0));
	ASSERT_EQ(POLLOUT | POLLWRNORM, p.revents);
	SYS(snd(id, 1, "x"));
	SET_QBYTES(id, 1);
	ASSERT_EQ(1, poll(&p, 1, 0));
	ASSERT_EQ(POLLIN | POLLRDNORM, p.revents);
	p.events = POLLRDNORM;
	ASSERT_EQ(1, poll(&p, 1, 0));
	ASSERT_EQ(POLLRDNORM, p.revents);
	ASSERT_RCV(id, 0, 1, "x");
	p.events = POLLWRNORM;
	ASSERT_EQ(1, poll(&p, 1, 0));
	ASSERT_EQ(POLLWRNORM, p.revents);
}

TEST_F(ext, msg_bind_blocked_poll_is_woken_by_send)
{
	int id = MKQ(self->key[0], 0600), fd = SYS(bind_new(id));
	pid_t pid = fork_child();

	if (pid == 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		CHILD_CHECK(poll(&p, 1, 2000) == 1 && p.revents == POLLIN);
		_exit(0);
	}
	ASSERT_EQ(0, wait_blocked(pid));
	SYS(snd(id, 4, "wake"));
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_QUEUE(id, 1, 4);
}

TEST_F(ext, msg_bind_epoll_is_woken_by_send)
{
	int id = MKQ(self->key[0], 0600), fd = SYS(bind_new(id));
	int lt = SYS(epoll_create1(EPOLL_CLOEXEC)), et = SYS(epoll_create1(EPOLL_CLOEXEC));
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 7 };
	struct epoll_event out[2];
	pid_t pid;

	SYS(epoll_ctl(lt, EPOLL_CTL_ADD, fd, &ev));
	ev.events = EPOLLIN | EPOLLET;
	ev.data.u64 = 8;
	SYS(epoll_ctl(et, EPOLL_CTL_ADD, fd, &ev));
	ASSERT_EQ(0, epoll_wait(lt, out, 2, 0));
	ASSERT_EQ(0, epoll_wait(et, out, 2, 0));
	pid = fork_child();
	if (pid == 0) {
		int blocked = wait_blocked(getppid());

		CHILD_CHECK(snd(id, 1, "e") == 0);
		CHILD_CHECK(blocked == 0);
		_exit(0);
	}
	ASSERT_EQ(1, epoll_wait(et, out, 2, 2000));
	ASSERT_EQ((__u32)EPOLLIN, out[0].events);
	ASSERT_EQ(8u, out[0].data.u64);
	ASSERT_EQ(0, wait_child(pid));
	/* Edge-triggered: once per change; level-triggered: while queued. */
	ASSERT_EQ(0, epoll_wait(et, out, 2, 0));
	ASSERT_EQ(1, epoll_wait(lt, out, 2, 0));
	ASSERT_EQ((__u32)EPOLLIN, out[0].events);
	ASSERT_EQ(7u, out[0].data.u64);
	ASSERT_EQ(1, epoll_wait(lt, out, 2, 0));
	SYS(snd(id, 1, "f"));
	ASSERT_EQ(1, epoll_wait(et, out, 2, 0));
	ASSERT_EQ(0, epoll_wait(et, out, 2, 0));
	ASSERT_RCV(id, 0, 1, "e");
	ASSERT_RCV(id, 0, 1, "f");
	ASSERT_EQ(0, epoll_wait(lt, out, 2, 0));
}

TEST_F(ext, msg_bind_poll_after_ipc_rmid_is_pollhup_pollerr)
{
	int id = SYS(ripc_msgget(self->key[0], IPC_CREAT | 0600));
	int fd = SYS(bind_new(id)), fd2 = SYS(bind_new(id)), r;
	pid_t pid = fork_child();

	if (pid == 0) {
		struct pollfd p = { .fd = fd2, .events = POLLIN };

		/* A blocked poll is woken by the removal. */
		CHILD_CHECK(poll(&p, 1, 2000) == 1);
		CHILD_CHECK((p.revents & (POLLHUP | POLLERR)) == (POLLHUP | POLLERR));
		_exit(0);
	}
	ASSERT_EQ(0, wait_blocked(pid));
	SYS(ripc_msgctl(id, IPC_RMID, NULL));
	ASSERT_EQ(0, wait_child(pid));
	r = revents(fd);
	ASSERT_EQ(POLLHUP | POLLERR, r & (POLLHUP | POLLERR));
	ASSERT_ERRNO(EINVAL, msg_bind(SYS(open(RIPC_DEVICE, O_RDWR | O_CLOEXEC)), id));
}

TEST_F(ext, msg_bind_errors)
{
	int id = MKQ(self->key[0], 0600), gone, fd, mq;
	struct ripc_mq_open o = {
		.size = sizeof(o), .oflag = O_RDWR | O_CREAT, .mode = 0600,
		.name = PTR(self->name),
	};
	struct mq_attr a;
	pid_t pid;

	gone = SYS(ripc_msgget(self->key[1], IPC_CREAT | 0600));
	SYS(ripc_msgctl(gone, IPC_RMID, NULL));
	fd = SYS(open(RIPC_DEVICE, O_RDWR | O_CLOEXEC));
	ASSERT_ERRNO(EINVAL, msg_bind(fd, -1));
	ASSERT_ERRNO(EINVAL, msg_bind(fd, gone));
	ASSERT_ERRNO(EINVAL, msg_bind(fd, 0x7ffffff0));
	ASSERT_ERRNO(EFAULT, ioctl(fd, RIPC_MSG_BIND, NULL));
	/* The failed calls left the file unbound. */
	SYS(msg_bind(fd, id));
	ASSERT_ERRNO(EBUSY, msg_bind(fd, id));
	ASSERT_ERRNO(EBUSY, ioctl(fd, RIPC_MQ_OPEN, &o));
	/* A file bound to a POSIX queue. */
	mq = SYS(open(RIPC_DEVICE, O_RDWR | O_CLOEXEC));
	SYS(ioctl(mq, RIPC_MQ_OPEN, &o));
	ASSERT_ERRNO(EBUSY, msg_bind(mq, id));
	/* The POSIX calls are EBADF on a System V bound file. */
	ASSERT_ERRNO(EBADF, ripc_mq_getattr(fd, &a));
	if (geteuid() != 0)
		SKIP(return, "the rest needs root");
	pid = fork_child();
	if (pid == 0) {
		/* Mode 0600, owned by root: no read permission for nobody. */
		CHILD_CHECK(drop_privs() == 0);
		CHILD_CHECK(bind_new(id) == -1 && errno == EACCES);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

TEST_F(ext, msg_bind_needs_read_not_write_permission)
{
	int r = MKQ(self->key[0], 0604), w = MKQ(self->key[1], 0602);
	pid_t pid;

	REQUIRE_ROOT();
	pid = fork_child();
	if (pid == 0) {
		int fd;

		CHILD_CHECK(drop_privs() == 0);
		CHILD_CHECK((fd = bind_new(r)) >= 0);
		CHILD_CHECK(revents(fd) == POLLOUT);
		CHILD_CHECK(bind_new(w) == -1 && errno == EACCES);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/* ---- listing ------------------------------------------------------------ */

/* Whether a line of text starts (after blanks) with word followed by a blank. */
static int has_line(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *p = l + strspn(l, " ");

		if (!strncmp(p, word, n) && (p[n] == ' ' || p[n] == '\t'))
			return 1;
	}
	return 0;
}

TEST_F(ext, list_shows_posix_names_and_sysv_keys)
{
	static char buf[1 << 20];
	char key[16], idkey[40];
	const char *line;
	ssize_t np, ns, nb;
	int id = MKQ(self->key[0], 0600);

	SYS(ripc_mq_close(SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT, 0600, NULL))));
	snprintf(key, sizeof(key), "%d", self->key[0]);
	snprintf(idkey, sizeof(idkey), "%d", id);

	np = SYS(ripc_list(RIPC_LIST_POSIX, buf, sizeof(buf)));
	ASSERT_EQ((size_t)np, strlen(buf));
	ASSERT_TRUE(has_line(buf, self->name)) TH_LOG("no line for %s in:\n%s", self->name, buf);
	ASSERT_FALSE(has_line(buf, key));
	/* The columns line up: the queue's line (its name fits the name
	 * column) is as long as the header. */
	line = strstr(buf, self->name);
	ASSERT_NE(NULL, line);
	ASSERT_EQ(strcspn(buf, "\n"), strcspn(line, "\n")) TH_LOG("in:\n%s", buf);

	ns = SYS(ripc_list(RIPC_LIST_SYSV, buf, sizeof(buf)));
	ASSERT_EQ((size_t)ns, strlen(buf));
	ASSERT_TRUE(has_line(buf, key)) TH_LOG("no line for key %s in:\n%s", key, buf);
	ASSERT_NE(NULL, strstr(buf, idkey));
	ASSERT_FALSE(has_line(buf, self->name));

	nb = SYS(ripc_list(RIPC_LIST_POSIX | RIPC_LIST_SYSV, buf, sizeof(buf)));
	ASSERT_EQ(np + ns, nb);
	ASSERT_TRUE(has_line(buf, self->name));
	ASSERT_TRUE(has_line(buf, key));

	/* Gone once unlinked / removed. */
	SYS(ripc_mq_unlink(self->name));
	SYS(ripc_msgctl(id, IPC_RMID, NULL));
	self->nids = 0;
	SYS(ripc_list(RIPC_LIST_POSIX | RIPC_LIST_SYSV, buf, sizeof(buf)));
	ASSERT_FALSE(has_line(buf, self->name));
	ASSERT_FALSE(has_line(buf, key));
}

TEST_F(ext, list_truncates_with_a_nul_and_returns_the_full_length)
{
	static char full[1 << 20];
	char *small = malloc(1 << 20);
	ssize_t n;

	ASSERT_NE(NULL, small);
	SYS(ripc_mq_close(SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT, 0600, NULL))));
	n = SYS(ripc_list(RIPC_LIST_POSIX, full, sizeof(full)));
	ASSERT_LT(1, n);
	/* 1 byte: only the NUL. */
	memset(small, 'x', 16);
	ASSERT_EQ(n, ripc_list(RIPC_LIST_POSIX, small, 1));
	ASSERT_EQ(0, small[0]);
	ASSERT_EQ('x', small[1]);
	/* One byte short: all but the last character. */
	memset(small, 'x', n + 2);
	ASSERT_EQ(n, ripc_list(RIPC_LIST_POSIX, small, n));
	ASSERT_EQ(0, small[n - 1]);
	ASSERT_EQ(0, strncmp(small, full, n - 1));
	ASSERT_EQ('x', small[n]);
	/* Exactly enough. */
	memset(small, 'x', n + 2);
	ASSERT_EQ(n, ripc_list(RIPC_LIST_POSIX, small, n + 1));
	ASSERT_STREQ(full, small);
	ASSERT_EQ('x', small[n + 1]);
	free(small);
}

/* Unknown bits of which are EINVAL, paged or not; nothing is written. */
TEST_F(ext, list_with_an_unknown_which_bit_is_einval)
{
	char buf[256];

	memset(buf, 'x', sizeof(buf));
	ASSERT_ERRNO(EINVAL, ripc_list(0x400, buf, sizeof(buf)));
	ASSERT_ERRNO(EINVAL, ripc_list(RIPC_LIST_POSIX | 0x400, buf, sizeof(buf)));
	ASSERT_ERRNO(EINVAL, ripc_list(RIPC_LIST_SYSV | RIPC_LIST_STATS | 0x10000, buf,
				       sizeof(buf)));
	ASSERT_EQ('x', buf[0]);
	SYS(ripc_list(RIPC_LIST_POSIX | RIPC_LIST_SYSV | RIPC_LIST_STATS, buf, sizeof(buf)));
}

/*
 * Reads a whole table with RIPC_LIST_PAGE and a buffer of len bytes into
 * out; checks that every page is whole lines; returns the pages read or -1.
 */
static int read_pages(unsigned int which, size_t len, char *out, size_t outlen)
{
	char *page = malloc(len);
	uint64_t cursor = 0;
	size_t at = 0;
	int pages = 0;
	ssize_t n;

	if (!page)
		return -1;
	out[0] = 0;
	while ((n = ripc_list_page(which, &cursor, page, len)) > 0) {
		if ((size_t)n != strlen(page) || page[n - 1] != '\n' || (size_t)n >= len ||
		    at + n >= outlen)
			break;
		memcpy(out + at, page, n + 1);
		at += n;
		pages++;
	}
	free(page);
	return n == 0 ? pages : -1;
}

/*
 * RIPC_LIST_PAGE: the pages, each whole lines within the buffer, add up to
 * the table the unpaged call gives, header once; a buffer too small for a
 * line is EINVAL; a queue removed between two pages is not listed again and
 * none is listed twice.
 */
TEST_F(ext, list_pages_add_up_to_the_whole_table)
{
	static char full[1 << 16], paged[1 << 16];
	char probe[64];
	uint64_t cursor = 0;
	int ids[40];
	char *line2;

	/* A namespace of its own, where ids follow creation order (the index
	 * allocator's cursor starts at 0): in the caller's, the queues other
	 * tests made and removed could have moved the cursor near its wrap,
	 * the last ids then taking the lowest indices, before the cursor. */
	REQUIRE_CAP(CAP_SYS_ADMIN);
	SYS(unshare(CLONE_NEWIPC));
	for (int i = 0; i < 40; i++)
		ids[i] = SYS(ripc_msgget(IPC_PRIVATE, 0600));
	SYS(ripc_mq_close(SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT, 0600, NULL))));
	for (unsigned int w = RIPC_LIST_POSIX; w <= RIPC_LIST_SYSV; w++) {
		SYS(ripc_list(w, full, sizeof(full)));
		/* 150 bytes: one line a page. */
		ASSERT_LE(2, read_pages(w, 150, paged, sizeof(paged)));
		ASSERT_STREQ(full, paged);
		ASSERT_EQ(1, read_pages(w, sizeof(paged), paged, sizeof(paged)));
		ASSERT_STREQ(full, paged);
	}
	ASSERT_LE(41, read_pages(RIPC_LIST_SYSV, 150, paged, sizeof(paged)));
	/* Not even the header fits. */
	ASSERT_ERRNO(EINVAL, ripc_list_page(RIPC_LIST_SYSV, &cursor, probe, 20));
	ASSERT_EQ((uint64_t)0, cursor);
	ASSERT_ERRNO(EINVAL, ripc_list_page(RIPC_LIST_POSIX | RIPC_LIST_SYSV, &cursor, probe,
					    sizeof(probe)));
	/* A page of the header and the first queue, then the first goes. */
	ASSERT_LT(0, ripc_list_page(RIPC_LIST_SYSV, &cursor, full, strchr(strchr(paged, '\n') + 1, '\n') - paged + 2));
	line2 = strchr(full, '\n') + 1;
	ASSERT_NE(NULL, strchr(line2, '\n'));
	ASSERT_EQ(NULL, strchr(strchr(line2, '\n') + 1, '\n'));
	SYS(ripc_msgctl(ids[0], IPC_RMID, NULL));
	SYS(ripc_msgctl(ids[1], IPC_RMID, NULL));
	ASSERT_LT(0, ripc_list_page(RIPC_LIST_SYSV, &cursor, paged, sizeof(paged)));
	ASSERT_EQ(NULL, strstr(paged, line2)) TH_LOG("listed again:\n%s", paged);
	snprintf(probe, sizeof(probe), " %10d ", ids[1]);
	ASSERT_EQ(NULL, strstr(paged, probe));
	snprintf(probe, sizeof(probe), " %10d ", ids[39]);
	ASSERT_NE(NULL, strstr(paged, probe));
	ASSERT_EQ(0, ripc_list_page(RIPC_LIST_SYSV, &cursor, paged, sizeof(paged)));
	for (int i = 2; i < 40; i++)
		SYS(ripc_msgctl(ids[i], IPC_RMID, NULL));
}

/* ---- mq_notify ------------------------------------------------------------ */

TEST_F(ext, notify_sigev_thread_is_einval)
{
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD };
	struct sigevent none = { .sigev_notify = SIGEV_NONE };
	struct ripc_sigevent rsev = { .sigev_notify = RIPC_SIGEV_THREAD };
	struct ripc_mq_notify n = { .size = sizeof(n), .sevp = PTR(&rsev) };
	mqd_t q = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT, 0600, NULL));

	ASSERT_ERRNO(EINVAL, ripc_mq_notify(q, &sev));
	ASSERT_ERRNO(EINVAL, ioctl(q, RIPC_MQ_NOTIFY, &n));
	/* Nothing was registered. */
	SYS(ripc_mq_notify(q, &none));
}

struct reg_thread {
	mqd_t q;
	int ret, err;
	int ready[2];		/* the thread writes once it has registered */
	int done[2];		/* the leader writes when it is done */
	sigset_t pending;	/* this thread's view after the leader got the signal */
};

/* The mask of a status line of /proc/self/task/TID/status ("SigPnd",
 * "ShdPnd"), or 0 if it cannot be read. */
static unsigned long long pending_mask(pid_t tid, const char *field)
{
	char path[64], line[256];
	unsigned long long m = 0;
	size_t n = strlen(field);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			m = strtoull(line + n + 1, NULL, 16);
	if (f)
		fclose(f);
	return m;
}

static void *register_and_wait(void *arg)
{
	struct reg_thread *t = arg;
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };
	char c;

	t->ret = ripc_mq_notify(t->q, &sev);
	t->err = errno;
	/* Stay alive (SIGUSR1 blocked, inherited) until the leader is done. */
	if (write(t->ready[1], "r", 1) != 1 || read(t->done[0], &c, 1) != 1)
		t->ret = -2;
	sigpending(&t->pending);
	return NULL;
}

TEST_F(ext, notify_goes_to_the_thread_group_leader)
{
	struct reg_thread t = { .q = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT, 0600, NULL)) };
	pthread_t th;
	siginfo_t si;
	pid_t pid;
	char c;

	SYS(block_signal(SIGUSR1));	/* the thread inherits the mask */
	SYS(pipe2(t.ready, O_CLOEXEC));
	SYS(pipe2(t.done, O_CLOEXEC));
	ASSERT_EQ(0, pthread_create(&th, NULL, register_and_wait, &t));
	ASSERT_EQ(1, read(t.ready[0], &c, 1));
	ASSERT_EQ(0, t.ret) TH_LOG("thread's mq_notify: %s", strerrorname_np(t.err));
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(ripc_mq_send(t.q, "n", 1, 0) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	/* Pending on the leader (every thread blocks it), not process-wide:
	 * the send made it pending before it returned. */
	ASSERT_EQ(1ull << (SIGUSR1 - 1), pending_mask(getpid(), "SigPnd") & (1ull << (SIGUSR1 - 1)));
	ASSERT_EQ(0ull, pending_mask(getpid(), "ShdPnd") & (1ull << (SIGUSR1 - 1)));
	/* The leader, which did not register, takes it. */
	ASSERT_EQ(SIGUSR1, take_signal(SIGUSR1, &si, 2000));
	ASSERT_EQ(SI_MESGQ, si.si_code);
	ASSERT_EQ(pid, si.si_pid);
	SYS(write(t.done[1], "d", 1));
	ASSERT_EQ(0, pthread_join(th, NULL));
	ASSERT_EQ(0, t.ret);
	/* Delivered once: nothing left pending for the other thread. */
	ASSERT_FALSE(sigismember(&t.pending, SIGUSR1));
}

/* The other thread of a process whose main thread exits: once the leader
 * is a zombie it says so (ready), then reads SIGUSR1 from a signalfd
 * (which sees its own and the process's pending signals): the process's
 * exit status is 0 if a notification came (SI_MESGQ) within 2 s. */
struct after_leader {
	pid_t leader;
	int ready;
};

static void *read_after_the_leader_exits(void *arg)
{
	struct after_leader *a = arg;
	struct signalfd_siginfo ssi;
	char path[64];
	sigset_t set;
	int sfd;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", a->leader);
	if (sfd < 0 || wait_stat_state(path, 'Z') || write(a->ready, "z", 1) != 1)
		_exit(2);
	struct pollfd pfd = { .fd = sfd, .events = POLLIN };

	if (poll(&pfd, 1, 2000) != 1 || read(sfd, &ssi, sizeof(ssi)) != sizeof(ssi))
		_exit(1);
	_exit(ssi.ssi_signo == SIGUSR1 && ssi.ssi_code == SI_MESGQ ? 0 : 3);
}

/*
 * A notification for a process whose main thread has exited
 * (pthread_exit()) while its other thread blocks the signal and reads it
 * from a signalfd goes to that thread: natively process-wide, here to a
 * live thread (it went to the exited leader and was lost).
 */
TEST_F(ext, notify_of_a_process_whose_leader_exited_goes_to_a_live_thread)
{
	int q = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT, 0600, NULL)), ready[2];
	char c;
	pid_t pid;

	SYS(pipe2(ready, O_CLOEXEC));
	pid = fork_child();
	if (pid == 0) {
		struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };
		static struct after_leader a;
		pthread_t th;

		a.leader = getpid();
		a.ready = ready[1];
		CHILD_CHECK(block_signal(SIGUSR1) == 0);
		CHILD_CHECK(ripc_mq_notify(q, &sev) == 0);
		CHILD_CHECK(pthread_create(&th, NULL, read_after_the_leader_exits, &a) == 0);
		pthread_exit(NULL);
	}
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	SYS(ripc_mq_send(q, "n", 1, 0));
	ASSERT_EQ(0, wait_child(pid));
	close(ready[0]);
}

static pid_t cancel_tid;

static void *ripc_receive_blocked(void *arg)
{
	char buf[8192];

	__atomic_store_n(&cancel_tid, gettid(), __ATOMIC_SEQ_CST);
	ripc_mq_receive(*(int *)arg, buf, sizeof(buf), NULL);
	return NULL;
}

static void *ripc_msgrcv_blocked(void *arg)
{
	struct { long mtype; char mtext[16]; } m;

	__atomic_store_n(&cancel_tid, gettid(), __ATOMIC_SEQ_CST);
	ripc_msgrcv(*(int *)arg, &m, sizeof(m.mtext), 0, 0);
	return NULL;
}

/* Starts fn(arg), waits until it sleeps, cancels it: the thread's result. */
static void *cancel_when_blocked(void *(*fn)(void *), void *arg)
{
	void *res = NULL;
	pthread_t t;

	__atomic_store_n(&cancel_tid, 0, __ATOMIC_SEQ_CST);
	if (pthread_create(&t, NULL, fn, arg))
		return NULL;
	for (int i = 0; i < 3000 && !__atomic_load_n(&cancel_tid, __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	if (wait_blocked(__atomic_load_n(&cancel_tid, __ATOMIC_SEQ_CST)) || pthread_cancel(t))
		return NULL;
	/* A call that is no cancellation point stays blocked: not joined. */
	for (int i = 0; i < 3000; i++) {
		if (pthread_tryjoin_np(t, &res) == 0)
			return res;
		usleep(1000);
	}
	return NULL;
}

#ifdef __x86_64__
static int lost_listener = -1, lost_unwound;

static void lost_unwinds(void *arg)
{
	(void)arg;
	__atomic_store_n(&lost_unwound, 1, __ATOMIC_RELEASE);
}

/* A blocking receive on a queue whose process-wide descriptor the program
 * closed behind libripc's back, under a seccomp filter that hands this
 * thread's openat calls to the main thread (which answers them). */
static void *lost_device_receiver(void *arg)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = 4, .filter = f };
	static struct { long mtype; char mtext[16]; } m;
	int fd;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return (void *)1;
	fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			  SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
			  &prog);
	if (fd < 0)
		return (void *)2;
	__atomic_store_n(&lost_listener, fd, __ATOMIC_RELEASE);
	pthread_cleanup_push(lost_unwinds, NULL);
	ripc_msgrcv(*(int *)arg, &m, sizeof(m.mtext), 0, 0);
	pthread_cleanup_pop(0);
	return (void *)3;
}

/* The open descriptors of the device (st_rdev rdev); the last in *last. */
static int device_fds(dev_t rdev, int *last)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	struct stat st;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] != '.' && fd != dirfd(d) && !fstat(fd, &st) &&
		    S_ISCHR(st.st_mode) && st.st_rdev == rdev) {
			n++;
			*last = fd;
		}
	}
	closedir(d);
	return n;
}

/*
 * A cancellable call (a blocking msgrcv, in its asynchronous cancellation
 * region) that finds the process-wide descriptor gone (closed by the
 * program without the drop-in) opens the device again with cancellation
 * disabled: a pthread_cancel() that comes while the open is under way acts
 * only once the new descriptor is libripc's, and none is leaked.  The
 * open is held (a seccomp filter's user notification, answered by the
 * main thread) while the cancel is sent, then let through: the signal
 * would act as the open returns.
 */
TEST(a_call_cancelled_while_it_opens_the_device_again_leaks_no_descriptor)
{
	pid_t pid;

	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	pid = fork_child();
	if (pid == 0) {
		struct seccomp_notif req;
		struct seccomp_notif_resp resp;
		struct stat dev;
		int id, fd, listener, cancelled = 0, last = -1;
		void *res = NULL;
		pthread_t t;

		CHILD_CHECK(stat(RIPC_DEVICE, &dev) == 0);
		CHILD_CHECK((id = ripc_msgget(IPC_PRIVATE, 0600)) >= 0);
		CHILD_CHECK((fd = ripc_device_fd()) >= 0);
		CHILD_CHECK(syscall(SYS_close, fd) == 0);
		CHILD_CHECK(pthread_create(&t, NULL, lost_device_receiver, &id) == 0);
		for (int i = 0; (listener = __atomic_load_n(&lost_listener, __ATOMIC_ACQUIRE)) < 0;
		     i++) {
			CHILD_CHECK(i < 5000 && pthread_tryjoin_np(t, &res) != 0);
			usleep(1000);
		}
		for (int i = 0; pthread_tryjoin_np(t, &res) != 0; i++) {
			struct pollfd p = { .fd = listener, .events = POLLIN };

			CHILD_CHECK(i < 500);
			if (poll(&p, 1, 10) != 1)
				continue;
			memset(&req, 0, sizeof(req));
			if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req))
				continue;
			if (!cancelled && req.data.nr == SYS_openat &&
			    !strcmp((const char *)(uintptr_t)req.data.args[1], RIPC_DEVICE)) {
				CHILD_CHECK(pthread_cancel(t) == 0);
				cancelled = 1;
			}
			resp = (struct seccomp_notif_resp){ .id = req.id,
							    .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE };
			ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
		}
		CHILD_CHECK(cancelled);
		/* Ended by the cancellation (glibc 2.36 gives its result as NULL,
		 * not PTHREAD_CANCELED, when pthread_setcancelstate() acts on it). */
		CHILD_CHECK(__atomic_load_n(&lost_unwound, __ATOMIC_ACQUIRE));
		CHILD_CHECK(res == PTHREAD_CANCELED || res == NULL);
		/* One descriptor of the device, and it is libripc's. */
		CHILD_CHECK(device_fds(dev.st_rdev, &last) == 1);
		CHILD_CHECK(ripc_device_fd() == last);
		CHILD_CHECK(ripc_msgctl(id, IPC_RMID, NULL) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}
#endif

/*
 * libripc's blocking calls are cancellation points, as glibc's: a thread
 * blocked in ripc_mq_receive() or ripc_msgrcv() ends at pthread_cancel()
 * (PTHREAD_CANCELED), and the queues are intact.  Before, only the
 * drop-in's wrappers were, and such a thread stayed blocked.
 */
TEST_F(ext, ripc_blocking_calls_are_cancellation_points)
{
	struct { long mtype; char mtext[16]; } m = { 7, "x" };
	int q = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT, 0600, NULL));
	int id = SYS(ripc_msgget(IPC_PRIVATE, 0600));
	char buf[8192];
	unsigned int prio = 0;

	ASSERT_EQ(PTHREAD_CANCELED, cancel_when_blocked(ripc_receive_blocked, &q));
	ASSERT_EQ(PTHREAD_CANCELED, cancel_when_blocked(ripc_msgrcv_blocked, &id));
	SYS(ripc_mq_send(q, "y", 1, 5));
	ASSERT_EQ(1, ripc_mq_receive(q, buf, sizeof(buf), &prio));
	ASSERT_EQ('y', buf[0]);
	ASSERT_EQ(5U, prio);
	SYS(ripc_msgsnd(id, &m, 1, 0));
	memset(&m, 0, sizeof(m));
	ASSERT_EQ(1, ripc_msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT));
	ASSERT_EQ(7, m.mtype);
	ASSERT_EQ('x', m.mtext[0]);
	SYS(ripc_msgctl(id, IPC_RMID, NULL));
	SYS(ripc_mq_close(q));
}

/*
 * A program that links libripc and closes the library's device descriptor
 * (closefrom() after its first call), or puts another file on its number:
 * the next System V calls open the device again and succeed, errno left
 * alone.  Before, they failed with EBADF, an errno msgsnd never gives, or
 * sent the module's commands to the other file.
 */
/*
 * Takes libripc's device descriptor from it: closes it (how 0) or puts
 * another file on its number (how 1: /dev/null; how 2: a queue of the
 * program's opened read-only, a file of the device too, on which the
 * module refuses mq_open with EBADF; the caller's to close).  Its number,
 * or -1.
 */
static int lose_device(int how)
{
	int dev = ripc_device_fd_peek(), other;

	if (dev < 0)
		return -1;
	if (how == 0)
		return syscall(SYS_close, dev) ? -1 : dev;
	if (how == 1) {
		other = open("/dev/null", O_RDWR | O_CLOEXEC);
	} else {
		other = ripc_mq_open("/ripc_ext_lose", O_RDONLY | O_CREAT, 0600, NULL);
		ripc_mq_unlink("/ripc_ext_lose");
	}
	if (other < 0 || dup2(other, dev) != dev || close(other))
		return -1;
	return dev;
}

TEST_F(ext, a_device_descriptor_the_program_closed_is_opened_again)
{
	struct { long mtype; char mtext[16]; } m = { 3, "again" };
	struct msqid_ds ds;
	int id = SYS(ripc_msgget(IPC_PRIVATE, 0600)), dev;

	for (int k = 0; k < 2; k++) {
		dev = SYS(lose_device(k));
		errno = 4242;
		ASSERT_EQ(0, ripc_msgsnd(id, &m, 5, IPC_NOWAIT));
		ASSERT_EQ(4242, errno);
		/* The other file stays the program's. */
		if (k == 1) {
			ASSERT_NE(dev, ripc_device_fd_peek());
			SYS(close(dev));
		}
		memset(&m, 0, sizeof(m));
		ASSERT_EQ(5, ripc_msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT));
		ASSERT_EQ(3, m.mtype);
		ASSERT_EQ(0, memcmp(m.mtext, "again", 5));
	}
	/* The struct commands too (msgctl). */
	SYS(lose_device(0));
	errno = 4242;
	ASSERT_EQ(0, ripc_msgctl(id, IPC_STAT, &ds));
	ASSERT_EQ(4242, errno);
	ASSERT_EQ(0u, ds.msg_qnum);
	SYS(ripc_msgctl(id, IPC_RMID, NULL));
	/* And mq_open and the notification descriptors' open, which make
	 * their ioctl on it (not EBADF, nor the other file's ENOTTY taken
	 * for an older module's; nor, on a read-only queue at its number,
	 * EBADF for good: before, the queue passed for the device's own). */
	for (int k = 0; k < 3; k++) {
		int q, nfd;

		dev = SYS(lose_device(k));
		errno = 4242;
		q = ripc_mq_open(self->name, O_RDWR | O_CREAT, 0600, NULL);
		ASSERT_LE(0, q) TH_LOG("mq_open %d: %s", k, strerrorname_np(errno));
		ASSERT_EQ(4242, errno);
		if (k)
			SYS(close(dev));
		dev = SYS(lose_device(k));
		nfd = ripc_notify_fd_open(O_CLOEXEC);
		ASSERT_LE(0, nfd) TH_LOG("notify_fd_open %d: %s", k, strerrorname_np(errno));
		ASSERT_EQ(4242, errno);
		if (k)
			SYS(close(dev));
		SYS(ripc_mq_notify_fd(q, nfd, (union sigval){ .sival_int = 1 }));
		SYS(close(nfd));
		SYS(ripc_mq_close(q));
		SYS(ripc_mq_unlink(self->name));
	}
}

static void *nothing(void *arg)
{
	return arg;
}

/*
 * A send and a receive on a native queue's descriptor (syscall(SYS_mq_open))
 * through libripc, in a process that has had a second thread (so that they
 * are cancellation points) and cannot open the device (at its descriptor
 * limit): they succeed, errno left alone.  Before, the failed open of the
 * device made ahead of the cancellable call left its EMFILE.
 */
TEST_F(ext, a_native_queues_calls_leave_errno_alone_when_the_device_cannot_open)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		struct mq_attr a = { .mq_maxmsg = 2, .mq_msgsize = 16 };
		int dev = ripc_device_fd_peek(), nq, lowest;
		unsigned int prio = 0;
		struct rlimit rl;
		char buf[16];
		pthread_t t;

		if (dev >= 0) {
			ripc_device_forget((unsigned int)dev, (unsigned int)dev);
			close(dev);
		}
		nq = (int)syscall(SYS_mq_open, self->name + 1, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
		CHILD_CHECK(nq >= 0);
		syscall(SYS_mq_unlink, self->name + 1);
		CHILD_CHECK(pthread_create(&t, NULL, nothing, NULL) == 0);
		CHILD_CHECK(pthread_join(t, NULL) == 0);
		lowest = dup(0);
		CHILD_CHECK(lowest >= 0 && close(lowest) == 0);
		CHILD_CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
		rl.rlim_cur = (rlim_t)lowest;
		CHILD_CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
		CHILD_CHECK(ripc_device_fd() == -1 && errno == EMFILE);
		errno = 4242;
		CHILD_CHECK(ripc_mq_send(nq, "x", 1, 3) == 0);
		CHILD_CHECK(errno == 4242);
		CHILD_CHECK(ripc_mq_receive(nq, buf, sizeof(buf), &prio) == 1);
		CHILD_CHECK(errno == 4242 && buf[0] == 'x' && prio == 3);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

static volatile int nc_steps;

static void *open_close_after_self_cancel(void *name)
{
	int q2;

	pthread_cancel(pthread_self());
	q2 = ripc_mq_open(name, O_RDWR);
	nc_steps += q2 >= 0;
	nc_steps += ripc_mq_close(q2) == 0;
	pthread_testcancel();
	nc_steps = -1;
	return NULL;
}

/* libripc's mq_open and mq_close are not cancellation points (glibc's are
 * not): the cancellation acts at the next one, both done. */
TEST_F(ext, ripc_mq_open_and_mq_close_are_not_cancellation_points)
{
	int q = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT, 0600, NULL));
	pthread_t t;
	void *ret;

	nc_steps = 0;
	ASSERT_EQ(0, pthread_create(&t, NULL, open_close_after_self_cancel, self->name));
	ASSERT_EQ(0, pthread_join(t, &ret));
	ASSERT_EQ(PTHREAD_CANCELED, ret);
	ASSERT_EQ(2, nc_steps);
	SYS(ripc_mq_close(q));
}

/* ---- Batches ------------------------------------------------------------ */

static long mq_batch(int fd, unsigned long cmd, struct ripc_mq_item *it, unsigned n, unsigned flags)
{
	struct ripc_mq_batch b = { .size = sizeof(b), .count = n, .items = PTR(it), .flags = flags };

	return ioctl(fd, cmd, &b);
}

static long msg_batch(int dev, unsigned long cmd, int id, int flg, struct ripc_msg_item *it,
		      unsigned n, unsigned flags)
{
	struct ripc_msg_batch b = { .size = sizeof(b), .msqid = id, .msgflg = flg, .count = n,
				    .items = PTR(it), .flags = flags };

	return ioctl(dev, cmd, &b);
}

/*
 * A stale ripc_mq_close() of the number libripc's device descriptor has
 * (a queue's, closed before, that the device descriptor took) closes it,
 * as glibc's mq_close would close whatever has the number; libripc's next
 * call opens the device again instead of failing with EBADF.
 */
TEST_F(ext, a_stale_mq_close_of_the_device_descriptor_leaves_libripc_working)
{
	int id;

	SYS(ripc_mq_close(SYS(ripc_device_fd())));
	id = SYS(ripc_msgget(IPC_PRIVATE, 0600));
	if (self->nids < (int)ARRAY_SIZE(self->ids))
		self->ids[self->nids++] = id;
	SYS(ripc_msgsnd(id, &(struct { long t; char c; }){ 1, 'x' }, 1, 0));
	ASSERT_RCV(id, 0, 1, "x");
}

TEST_F(ext, mq_batches_keep_priority_order_and_report_lengths)
{
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 16 };
	int q = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT | O_NONBLOCK, 0600, &a));
	char out[4][16];
	struct ripc_mq_item s[3] = {
		{ PTR("low"), 3, 1, 0 }, { PTR("high"), 4, 9, 0 }, { PTR(""), 0, 1, 0 },
	}, r[4];

	ASSERT_EQ(3, mq_batch(q, RIPC_MQ_SEND_BATCH, s, 3, 0));
	for (int i = 0; i < 4; i++)
		r[i] = (struct ripc_mq_item){ PTR(out[i]), sizeof(out[i]), 77, 0 };
	/* Three queued, four asked, non-blocking: the fourth ends the batch. */
	ASSERT_EQ(3, mq_batch(q, RIPC_MQ_RECEIVE_BATCH, r, 4, 0));
	ASSERT_EQ(4u, r[0].msg_len);
	ASSERT_EQ(9u, r[0].msg_prio);
	ASSERT_EQ(0, memcmp(out[0], "high", 4));
	ASSERT_EQ(3u, r[1].msg_len);
	ASSERT_EQ(1u, r[1].msg_prio);
	ASSERT_EQ(0, memcmp(out[1], "low", 3));
	ASSERT_EQ(0u, r[2].msg_len);
	ASSERT_EQ(16u, r[3].msg_len);	/* untouched */
	for (int i = 0; i < 4; i++)
		r[i].msg_len = sizeof(out[i]);	/* received lengths were written back */
	ASSERT_ERRNO(EAGAIN, mq_batch(q, RIPC_MQ_RECEIVE_BATCH, r, 4, 0));
	ASSERT_EQ(0, mq_batch(q, RIPC_MQ_RECEIVE_BATCH, r, 0, 0));
	ASSERT_ERRNO(EINVAL, mq_batch(q, RIPC_MQ_RECEIVE_BATCH, r, RIPC_BATCH_MAX + 1, 0));
	/* Unknown flags are refused (room for later ones). */
	ASSERT_ERRNO(EINVAL, mq_batch(q, RIPC_MQ_RECEIVE_BATCH, r, 1, RIPC_BATCH_WAITFORONE << 1));
	ASSERT_ERRNO(EINVAL, mq_batch(q, RIPC_MQ_SEND_BATCH, r, 1, 1u << 31));
}

TEST_F(ext, mq_batch_errors_end_the_batch_at_the_failing_item)
{
	struct mq_attr a = { .mq_maxmsg = 2, .mq_msgsize = 8 }, at;
	int q = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT | O_NONBLOCK, 0600, &a));
	char buf[2][8];
	struct ripc_mq_item s[3] = { { PTR("a"), 1, 0, 0 }, { PTR("b"), 1, 0, 0 }, { PTR("c"), 1, 0, 0 } };
	struct ripc_mq_item big[2] = { { PTR("x"), 9, 0, 0 }, { PTR("y"), 1, 0, 0 } };
	struct ripc_mq_item prio[1] = { { PTR("x"), 1, 32768, 0 } };
	struct ripc_mq_item r[2] = { { PTR(buf[0]), 8, 0, 0 }, { PTR(buf[1]), 7, 0, 0 } };

	ASSERT_ERRNO(EMSGSIZE, mq_batch(q, RIPC_MQ_SEND_BATCH, big, 2, 0));
	ASSERT_ERRNO(EINVAL, mq_batch(q, RIPC_MQ_SEND_BATCH, prio, 1, 0));
	/* As a single send: the priority before the descriptor's mode. */
	{
		int ro = SYS(ripc_mq_open(self->name, O_RDONLY));

		ASSERT_ERRNO(EINVAL, ripc_mq_send(ro, "x", 1, 32768));
		ASSERT_ERRNO(EINVAL, mq_batch(ro, RIPC_MQ_SEND_BATCH, prio, 1, 0));
		ASSERT_ERRNO(EBADF, mq_batch(ro, RIPC_MQ_SEND_BATCH, s, 1, 0));
		close(ro);
	}
	/* A full queue ends a non-blocking batch: two of three. */
	ASSERT_EQ(2, mq_batch(q, RIPC_MQ_SEND_BATCH, s, 3, 0));
	ASSERT_ERRNO(EAGAIN, mq_batch(q, RIPC_MQ_SEND_BATCH, s + 2, 1, 0));
	/* The second buffer is smaller than mq_msgsize: one of two. */
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(1, mq_batch(q, RIPC_MQ_RECEIVE_BATCH, r, 2, 0));
	ASSERT_EQ(1u, r[0].msg_len);
	ASSERT_EQ('a', buf[0][0]);
	ASSERT_EQ(0, buf[1][0]);
	SYS(ripc_mq_getattr(q, &at));
	ASSERT_EQ(1, at.mq_curmsgs);
	/* A bad buffer keeps the message. */
	r[0].msg_ptr = 8;
	r[0].msg_len = 8;
	ASSERT_ERRNO(EFAULT, mq_batch(q, RIPC_MQ_RECEIVE_BATCH, r, 1, 0));
	SYS(ripc_mq_getattr(q, &at));
	ASSERT_EQ(1, at.mq_curmsgs);
	ASSERT_EQ(1, ripc_mq_receive(q, buf[0], sizeof(buf[0]), NULL));
	ASSERT_EQ('b', buf[0][0]);
}

TEST_F(ext, mq_batch_waitforone_returns_what_is_there_after_blocking)
{
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 8 };
	int q = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT, 0600, &a));
	char buf[3][8];
	struct ripc_mq_item r[3];
	pid_t pid = fork_child();

	if (pid == 0) {
		int blocked = wait_blocked(getppid());

		CHILD_CHECK(ripc_mq_send(q, "1", 1, 3) == 0);
		CHILD_CHECK(blocked == 0);
		_exit(0);
	}
	memset(buf, 0xa5, sizeof(buf));
	for (int i = 0; i < 3; i++)
		r[i] = (struct ripc_mq_item){ PTR(buf[i]), 8, 0, 0 };
	ASSERT_EQ(1, mq_batch(q, RIPC_MQ_RECEIVE_BATCH, r, 3, RIPC_BATCH_WAITFORONE));
	ASSERT_EQ(1u, r[0].msg_len);
	ASSERT_EQ(3u, r[0].msg_prio);
	ASSERT_EQ('1', buf[0][0]);
	/* The others untouched. */
	ASSERT_EQ(0xa5, (unsigned char)buf[1][0]);
	ASSERT_EQ(8u, r[1].msg_len);
	ASSERT_EQ(0, wait_child(pid));
}

TEST_F(ext, sysv_batches_follow_each_items_type)
{
	int id = MKQ(self->key[0], 0600);
	struct mbuf m[3] = { { 1, "one" }, { 2, "two" }, { 3, "three" } }, o[3];
	struct ripc_msg_item s[3] = {
		{ PTR(&m[0]), 3, 0 }, { PTR(&m[1]), 3, 0 }, { PTR(&m[2]), 5, 0 },
	};
	struct ripc_msg_item r[3] = {
		{ PTR(&o[0]), 64, 2 }, { PTR(&o[1]), 64, 0 }, { PTR(&o[2]), 64, -5 },
	};

	ASSERT_EQ(3, msg_batch(self->dev, RIPC_MSGSND_BATCH, id, 0, s, 3, 0));
	ASSERT_QUEUE(id, 3, 11);
	ASSERT_EQ(3, msg_batch(self->dev, RIPC_MSGRCV_BATCH, id, IPC_NOWAIT, r, 3, 0));
	ASSERT_EQ(2, o[0].mtype);
	ASSERT_EQ(3, r[0].msgsz);
	ASSERT_EQ(0, memcmp(o[0].mtext, "two", 3));
	ASSERT_EQ(1, o[1].mtype);
	ASSERT_EQ(0, memcmp(o[1].mtext, "one", 3));
	ASSERT_EQ(3, o[2].mtype);
	ASSERT_EQ(5, r[2].msgsz);
	ASSERT_EQ(0, memcmp(o[2].mtext, "three", 5));
	ASSERT_QUEUE(id, 0, 0);
	ASSERT_ERRNO(ENOMSG, msg_batch(self->dev, RIPC_MSGRCV_BATCH, id, IPC_NOWAIT, r, 3, 0));
}

TEST_F(ext, sysv_batch_errors_end_the_batch_at_the_failing_item)
{
	int id = MKQ(self->key[0], 0600);
	struct mbuf m[2] = { { 1, "a" }, { 0, "b" } }, o[2];
	struct ripc_msg_item s[2] = { { PTR(&m[0]), 1, 0 }, { PTR(&m[1]), 1, 0 } };
	struct ripc_msg_item r[2] = { { PTR(&o[0]), 64, 0 }, { 8, 64, 0 } };

	/* mtype 0 in the second item: one sent. */
	ASSERT_EQ(1, msg_batch(self->dev, RIPC_MSGSND_BATCH, id, 0, s, 2, 0));
	ASSERT_ERRNO(EINVAL, msg_batch(self->dev, RIPC_MSGSND_BATCH, id, 0, s + 1, 1, 0));
	m[1].mtype = 2;
	ASSERT_EQ(1, msg_batch(self->dev, RIPC_MSGSND_BATCH, id, 0, s + 1, 1, 0));
	/* A bad buffer in the second item: one received, the other stays. */
	ASSERT_EQ(1, msg_batch(self->dev, RIPC_MSGRCV_BATCH, id, IPC_NOWAIT, r, 2, 0));
	ASSERT_EQ(1, o[0].mtype);
	ASSERT_QUEUE(id, 1, 1);
	ASSERT_RCV(id, 0, 2, "b");
	ASSERT_ERRNO(EINVAL, msg_batch(self->dev, RIPC_MSGRCV_BATCH, -1, 0, r, 1, 0));
	/* As single calls: a negative id is msgsnd's EINVAL only after the
	 * mtype is read (EFAULT first); a MSG_COPY buffer that cannot be read
	 * is EFAULT before the id is looked up (native's prepare_copy). */
	{
		struct ripc_msg_item bad = { 8, 1, 0 };
		struct ripc_msg_item copy = { 8, 64, 0 };

		ASSERT_ERRNO(EFAULT, ripc_msgsnd(-1, (void *)8, 1, 0));
		ASSERT_ERRNO(EFAULT, msg_batch(self->dev, RIPC_MSGSND_BATCH, -1, 0, &bad, 1, 0));
		ASSERT_ERRNO(EINVAL, msg_batch(self->dev, RIPC_MSGSND_BATCH, -1, 0, s, 1, 0));
		ASSERT_ERRNO(EFAULT, ripc_msgrcv(0x7ffffff, (void *)8, 64, 0,
						 MSG_COPY | IPC_NOWAIT));
		ASSERT_ERRNO(EFAULT, msg_batch(self->dev, RIPC_MSGRCV_BATCH, 0x7ffffff,
					       MSG_COPY | IPC_NOWAIT, &copy, 1, 0));
	}
	/* Unknown flags are refused, on a queue with a message for the call. */
	ASSERT_EQ(1, msg_batch(self->dev, RIPC_MSGSND_BATCH, id, 0, s, 1, 0));
	ASSERT_ERRNO(EINVAL, msg_batch(self->dev, RIPC_MSGRCV_BATCH, id, IPC_NOWAIT, r, 1, 2));
	ASSERT_ERRNO(EINVAL, msg_batch(self->dev, RIPC_MSGSND_BATCH, id, 0, s, 1, 1u << 31));
	ASSERT_QUEUE(id, 1, 1);
}

/*
 * MSG_NOERROR in a receive batch cuts each item's text to its msgsz, as a
 * single msgrcv: the item reports the length copied, and nothing is written
 * past it.
 */
TEST_F(ext, a_sysv_receive_batch_with_msg_noerror_cuts_each_text_to_its_item)
{
	int id = MKQ(self->key[0], 0600);
	struct mbuf m = { 1, "three" }, o[2];
	struct ripc_msg_item s[2] = { { PTR(&m), 5, 0 }, { PTR(&m), 5, 0 } };
	struct ripc_msg_item r[2] = { { PTR(&o[0]), 3, 0 }, { PTR(&o[1]), 64, 0 } };

	ASSERT_EQ(2, msg_batch(self->dev, RIPC_MSGSND_BATCH, id, 0, s, 2, 0));
	memset(o, 0xa5, sizeof(o));
	ASSERT_EQ(2, msg_batch(self->dev, RIPC_MSGRCV_BATCH, id, IPC_NOWAIT | MSG_NOERROR,
			       r, 2, 0));
	ASSERT_EQ(3, r[0].msgsz);
	ASSERT_EQ(0, memcmp(o[0].mtext, "thr", 3));
	ASSERT_EQ(0xa5, (unsigned char)o[0].mtext[3]);
	ASSERT_EQ(5, r[1].msgsz);
	ASSERT_EQ(0, memcmp(o[1].mtext, "three", 5));
	ASSERT_QUEUE(id, 0, 0);
}

/*
 * A batch whose item array runs into a page that cannot be read is the
 * items before that page (as many single calls, the next of which faults):
 * two sent of three; an array that cannot be read at all is EFAULT.
 */
TEST_F(ext, a_batch_whose_items_run_into_an_unreadable_page_sends_those_before)
{
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 8 }, at;
	int q = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT | O_NONBLOCK, 0600, &a));
	char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	struct ripc_mq_item *it;

	ASSERT_NE(MAP_FAILED, p);
	SYS(mprotect(p + PAGE, PAGE, PROT_NONE));
	it = (struct ripc_mq_item *)(p + PAGE) - 2;
	it[0] = (struct ripc_mq_item){ PTR("a"), 1, 0, 0 };
	it[1] = (struct ripc_mq_item){ PTR("b"), 1, 0, 0 };
	ASSERT_EQ(2, mq_batch(q, RIPC_MQ_SEND_BATCH, it, 3, 0));
	SYS(ripc_mq_getattr(q, &at));
	ASSERT_EQ(2, at.mq_curmsgs);
	ASSERT_ERRNO(EFAULT, mq_batch(q, RIPC_MQ_SEND_BATCH, it + 2, 1, 0));
	SYS(ripc_mq_getattr(q, &at));
	ASSERT_EQ(2, at.mq_curmsgs);
	munmap(p, 2 * PAGE);
}

/* Sends n zero-length messages of type mtype in batches: 0, or -1. */
static int send_zero_length(int dev, int id, long mtype, int n)
{
	static struct ripc_msg_item items[RIPC_BATCH_MAX];
	struct mbuf m = { mtype, "" };

	for (int sent = 0; sent < n;) {
		int k = n - sent < RIPC_BATCH_MAX ? n - sent : RIPC_BATCH_MAX;

		for (int i = 0; i < k; i++)
			items[i] = (struct ripc_msg_item){ PTR(&m), 0, 0 };
		if (msg_batch(dev, RIPC_MSGSND_BATCH, id, IPC_NOWAIT, items, k, 0) != k)
			return -1;
		sent += k;
	}
	return 0;
}

/*
 * A typed System V receive batch takes the queue lock a part at a time:
 * each item's search (msgtyp -2: past FAR messages of type 3 to the type
 * 2 ones behind them) is made under it, as native makes one a call, and a
 * real-time task on the batch's CPU, waking every millisecond, is never
 * late by a quarter of the batch (it was by most of it, NEAR searches
 * under one lock hold).  Up to three batches: the first within the bound
 * passes (a late wake-up may be the emulated host's own stall).
 */
TEST_F(ext, a_typed_sysv_receive_batch_holds_the_lock_a_part_at_a_time)
{
	enum { FAR = 4096, NEAR = RIPC_BATCH_MAX };
	static struct ripc_msg_item items[NEAR];
	static struct mbuf o[NEAR];
	int id = MKQ(self->key[0], 0600);
	long long late = 0, took = 0;
	struct waker w;

	SYS(send_zero_length(self->dev, id, 3, FAR));
	SYS(pin_cpu(0));
	for (int run = 0; run < 3; run++) {
		struct timespec a, b;
		long n;

		SYS(send_zero_length(self->dev, id, 2, NEAR));
		ASSERT_QUEUE(id, FAR + NEAR, 0);
		for (int i = 0; i < NEAR; i++)
			items[i] = (struct ripc_msg_item){ PTR(&o[i]), 64, -2 };
		if (waker_start(&w))
			SKIP(return, "no SCHED_FIFO on CPU 0");
		clock_gettime(CLOCK_MONOTONIC, &a);
		n = msg_batch(self->dev, RIPC_MSGRCV_BATCH, id, IPC_NOWAIT, items, NEAR, 0);
		clock_gettime(CLOCK_MONOTONIC, &b);
		late = waker_stop(&w);
		took = ts_ns(b) - ts_ns(a);
		ASSERT_EQ(NEAR, n) TH_LOG("batch: %s", strerrorname_np(errno));
		for (int i = 0; i < NEAR; i++) {
			ASSERT_EQ(2, o[i].mtype);
			ASSERT_EQ(0, items[i].msgsz);
		}
		ASSERT_QUEUE(id, FAR, 0);
		TH_LOG("the batch took %lld us; the waker was %lld us late at most",
		       took / 1000, late / 1000);
		if (late < took / 4)
			break;
	}
	ASSERT_LT(late, took / 4);
}

/*
 * A blocking batch of more receives than the queue holds messages: as
 * many single receives, it delivers what it has before it waits for more,
 * and a sender blocked for room goes on (when a message out for delivery
 * held its room, a batch that held its first messages' room while it
 * waited waited for ever: here, until its 3-second timeout).
 */
TEST_F(ext, a_blocking_batch_larger_than_the_queue_gets_every_message)
{
	struct mq_attr a = { .mq_maxmsg = 2, .mq_msgsize = 8 };
	int q = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT, 0600, &a));
	struct ripc_timespec t = { .tv_sec = 3 };
	char buf[6][8];
	struct ripc_mq_item r[6];
	struct ripc_mq_batch b = { .size = sizeof(b), .count = 6, .items = PTR(r),
				   .timeout = PTR(&t),
				   .clock = { CLOCK_MONOTONIC, RIPC_TIMEOUT_RELATIVE } };
	pid_t pid = fork_child();

	if (pid == 0) {
		for (char c = '0'; c < '6'; c++)
			CHILD_CHECK(ripc_mq_send(q, &c, 1, 0) == 0);
		_exit(0);
	}
	for (int i = 0; i < 6; i++)
		r[i] = (struct ripc_mq_item){ PTR(buf[i]), 8, 0, 0 };
	ASSERT_EQ(6, ioctl(q, RIPC_MQ_RECEIVE_BATCH, &b));
	for (int i = 0; i < 6; i++) {
		ASSERT_EQ(1u, r[i].msg_len);
		ASSERT_EQ('0' + i, buf[i][0]);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/* Sets msg_qbytes of queue id. */
static int set_qbytes(int id, unsigned long n)
{
	struct msqid_ds ds;

	if (ripc_msgctl(id, IPC_STAT, &ds))
		return -1;
	ds.msg_qbytes = n;
	return ripc_msgctl(id, IPC_SET, &ds);
}

/*
 * A queue keeps the heads of the messages its receives deliver, up to
 * 32 KiB of them, and lends them to its next sends' loads (a send batch's
 * loads take a part's worth at once).  Three rounds of 48 messages of
 * mixed sizes (4 000, 16, 1 000 and 0 bytes: a head too small or too large
 * for the next message stays for a later one), each sent in one batch and
 * received in one, every byte, length and type checked; past the bound a
 * receive batch's delivered messages are freed, not kept and not put back:
 * the queue is empty after each round.
 */
#define KEEP_N 48
#define KEEP_LEN 4000

static const int keep_len[4] = { KEEP_LEN, 16, 1000, 0 };

static struct { long mtype; char mtext[KEEP_LEN]; } keep_out[KEEP_N], keep_in[KEEP_N];

static void keep_fill(int round)
{
	for (int i = 0; i < KEEP_N; i++) {
		keep_out[i].mtype = 1 + i;
		for (int j = 0; j < KEEP_LEN; j++)
			keep_out[i].mtext[j] = (char)(round * 131 + i * 7 + j);
	}
	memset(keep_in, 0, sizeof(keep_in));
}

TEST_F(ext, mq_batches_reuse_kept_heads_with_every_byte_exact)
{
	struct mq_attr a = { .mq_maxmsg = KEEP_N, .mq_msgsize = KEEP_LEN };
	struct ripc_mq_item s[KEEP_N], r[KEEP_N];
	unsigned int prio;
	int q;

	REQUIRE_ROOT();	/* mq_maxmsg past fs.mqueue.msg_max */
	q = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT | O_NONBLOCK, 0600, &a));
	for (int round = 0; round < 3; round++) {
		keep_fill(round);
		for (int i = 0; i < KEEP_N; i++) {
			s[i] = (struct ripc_mq_item){ PTR(keep_out[i].mtext), keep_len[i % 4], 5, 0 };
			r[i] = (struct ripc_mq_item){ PTR(keep_in[i].mtext), KEEP_LEN, 0, 0 };
		}
		ASSERT_EQ(KEEP_N, mq_batch(q, RIPC_MQ_SEND_BATCH, s, KEEP_N, 0));
		ASSERT_EQ(KEEP_N, mq_batch(q, RIPC_MQ_RECEIVE_BATCH, r, KEEP_N, 0));
		for (int i = 0; i < KEEP_N; i++) {
			ASSERT_EQ((__u64)keep_len[i % 4], r[i].msg_len) TH_LOG("round %d, %d", round, i);
			ASSERT_EQ(5u, r[i].msg_prio);
			ASSERT_EQ(0, memcmp(keep_in[i].mtext, keep_out[i].mtext, keep_len[i % 4]))
				TH_LOG("round %d, message %d", round, i);
		}
		ASSERT_ERRNO(EAGAIN, ripc_mq_receive(q, keep_in[0].mtext, KEEP_LEN, &prio));
	}
	SYS(ripc_mq_close(q));
}

TEST_F(ext, sysv_batches_reuse_kept_heads_with_every_byte_exact)
{
	struct ripc_msg_item s[KEEP_N], r[KEEP_N];
	int id = MKQ(self->key[0], 0600);

	REQUIRE_ROOT();	/* msg_qbytes past msgmnb */
	SYS(set_qbytes(id, KEEP_N * KEEP_LEN));
	for (int round = 0; round < 3; round++) {
		keep_fill(round);
		for (int i = 0; i < KEEP_N; i++) {
			s[i] = (struct ripc_msg_item){ PTR(&keep_out[i]), keep_len[i % 4], 0 };
			r[i] = (struct ripc_msg_item){ PTR(&keep_in[i]), KEEP_LEN, 0 };
		}
		ASSERT_EQ(KEEP_N, msg_batch(self->dev, RIPC_MSGSND_BATCH, id, 0, s, KEEP_N, 0));
		ASSERT_EQ(KEEP_N, msg_batch(self->dev, RIPC_MSGRCV_BATCH, id, IPC_NOWAIT, r, KEEP_N,
					    0));
		for (int i = 0; i < KEEP_N; i++) {
			ASSERT_EQ(keep_len[i % 4], r[i].msgsz) TH_LOG("round %d, message %d", round, i);
			ASSERT_EQ(1 + i, keep_in[i].mtype);
			ASSERT_EQ(0, memcmp(keep_in[i].mtext, keep_out[i].mtext, keep_len[i % 4]))
				TH_LOG("round %d, message %d", round, i);
		}
		ASSERT_QUEUE(id, 0, 0);
	}
}

/*
 * A message of more than a head (4 048 bytes of text) is a head and
 * segments, and a queue keeps the head of a message of one block that a
 * receive delivered for its next send: sizes around a head's and a
 * segment's bounds, one send and one receive at a time through one queue,
 * so that each send may find the blocks of the message before it, every
 * byte, length and type checked, and nothing written past the length.
 */
static const int long_len[] = { 4096, 4096, 4100, 4097, 8000, 7000, 8192, 8192, 4049,
				6000, 5500, 0, 8192, 4048, 5000, 4096 };

#define LONG_MAX_LEN 8192

static struct { long mtype; char mtext[LONG_MAX_LEN + 64]; } long_out, long_in;

static void long_fill(int step)
{
	long_out.mtype = 1 + step;
	for (int j = 0; j < LONG_MAX_LEN; j++)
		long_out.mtext[j] = (char)(step * 37 + j * 11 + (j >> 8));
	memset(&long_in, 0xAA, sizeof(long_in));
}

static int long_tail_untouched(int len)
{
	for (int j = len; j < (int)sizeof(long_in.mtext); j++)
		if ((unsigned char)long_in.mtext[j] != 0xAA)
			return 0;
	return 1;
}

TEST_F(ext, mq_messages_around_a_heads_size_keep_every_byte)
{
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = LONG_MAX_LEN };
	unsigned int prio;
	int q = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT | O_NONBLOCK, 0600, &a));

	for (int round = 0; round < 2; round++)
		for (int i = 0; i < (int)ARRAY_SIZE(long_len); i++) {
			int len = long_len[i];

			long_fill(round * 100 + i);
			SYS(ripc_mq_send(q, long_out.mtext, len, 3));
			ASSERT_EQ(len, ripc_mq_receive(q, long_in.mtext, LONG_MAX_LEN, &prio))
				TH_LOG("step %d", i);
			ASSERT_EQ(3u, prio);
			ASSERT_EQ(0, memcmp(long_in.mtext, long_out.mtext, len)) TH_LOG("step %d", i);
			ASSERT_TRUE(long_tail_untouched(len)) TH_LOG("step %d", i);
		}
	ASSERT_ERRNO(EAGAIN, ripc_mq_receive(q, long_in.mtext, LONG_MAX_LEN, &prio));
	SYS(ripc_mq_close(q));
}

TEST_F(ext, sysv_messages_around_a_heads_size_keep_every_byte)
{
	int id = MKQ(self->key[0], 0600);

	for (int round = 0; round < 2; round++)
		for (int i = 0; i < (int)ARRAY_SIZE(long_len); i++) {
			int len = long_len[i];

			long_fill(round * 100 + i);
			SYS(ripc_msgsnd(id, &long_out, len, 0));
			ASSERT_EQ(len, ripc_msgrcv(id, &long_in, LONG_MAX_LEN, 0, IPC_NOWAIT))
				TH_LOG("step %d", i);
			ASSERT_EQ(long_out.mtype, long_in.mtype);
			ASSERT_EQ(0, memcmp(long_in.mtext, long_out.mtext, len)) TH_LOG("step %d", i);
			ASSERT_TRUE(long_tail_untouched(len)) TH_LOG("step %d", i);
		}
	ASSERT_QUEUE(id, 0, 0);
}

TEST_F(ext, a_blocking_sysv_batch_larger_than_the_queue_gets_every_message)
{
	int id = MKQ(self->key[0], 0600);
	struct ripc_timespec t = { .tv_sec = 3 };
	struct mbuf o[6];
	struct ripc_msg_item r[6];
	struct ripc_msg_batch b = { .size = sizeof(b), .msqid = id, .count = 6, .items = PTR(r),
				    .timeout = PTR(&t),
				    .clock = { CLOCK_MONOTONIC, RIPC_TIMEOUT_RELATIVE } };
	pid_t pid;

	SYS(set_qbytes(id, 2));		/* room for two 1-byte messages */
	pid = fork_child();
	if (pid == 0) {
		for (char c = '0'; c < '6'; c++) {
			struct mbuf m = { 1, { c } };

			CHILD_CHECK(ripc_msgsnd(id, &m, 1, 0) == 0);
		}
		_exit(0);
	}
	for (int i = 0; i < 6; i++)
		r[i] = (struct ripc_msg_item){ PTR(&o[i]), 64, 0 };
	ASSERT_EQ(6, ioctl(self->dev, RIPC_MSGRCV_BATCH, &b));
	for (int i = 0; i < 6; i++) {
		ASSERT_EQ(1, r[i].msgsz);
		ASSERT_EQ('0' + i, o[i].mtext[0]);
	}
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_QUEUE(id, 0, 0);
}

/* A blocking send batch of "012" (three 1-byte messages), with a relative
 * 3-second timeout: how many it sent. */
static long send_012_within_3s(int q)
{
	struct ripc_timespec t = { .tv_sec = 3 };
	struct ripc_mq_item s[3];
	struct ripc_mq_batch b = { .size = sizeof(b), .count = 3, .items = PTR(s),
				   .timeout = PTR(&t),
				   .clock = { CLOCK_MONOTONIC, RIPC_TIMEOUT_RELATIVE } };

	for (int i = 0; i < 3; i++)
		s[i] = (struct ripc_mq_item){ PTR("012" + i), 1, 0, 0 };
	return ioctl(q, RIPC_MQ_SEND_BATCH, &b);
}

/*
 * A blocking send batch of more messages than the queue holds, with a
 * receiver blocked: as many single sends, its first message wakes that
 * receiver before the batch waits for room (a batch that kept it asleep
 * would wait for ever for the room that message holds: here, until its
 * 3-second timeout, having sent 1).
 */
TEST_F(ext, a_blocking_send_batch_larger_than_the_queue_wakes_its_receiver_first)
{
	struct mq_attr a = { .mq_maxmsg = 1, .mq_msgsize = 8 };
	int q = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT, 0600, &a));
	pid_t pid = fork_child();

	if (pid == 0) {
		for (char c = '0'; c < '3'; c++) {
			char got[8] = { 0 };

			CHILD_CHECK(ripc_mq_receive(q, got, sizeof(got), NULL) == 1);
			CHILD_CHECK(got[0] == c);
		}
		_exit(0);
	}
	ASSERT_EQ(0, wait_blocked(pid));
	ASSERT_EQ(3, send_012_within_3s(q));
	ASSERT_EQ(0, wait_child(pid));
}

TEST_F(ext, a_blocking_sysv_send_batch_larger_than_the_queue_wakes_its_receiver_first)
{
	int id = MKQ(self->key[0], 0600);
	struct ripc_timespec t = { .tv_sec = 3 };
	struct mbuf o[3];
	struct ripc_msg_item s[3];
	struct ripc_msg_batch b = { .size = sizeof(b), .msqid = id, .count = 3, .items = PTR(s),
				    .timeout = PTR(&t),
				    .clock = { CLOCK_MONOTONIC, RIPC_TIMEOUT_RELATIVE } };
	pid_t pid;

	SYS(set_qbytes(id, 1));		/* room for one 1-byte message */
	pid = fork_child();
	if (pid == 0) {
		for (char c = '0'; c < '3'; c++) {
			struct mbuf m = { 0 };

			CHILD_CHECK(ripc_msgrcv(id, &m, sizeof(m.mtext), 0, 0) == 1);
			CHILD_CHECK(m.mtype == 1 && m.mtext[0] == c);
		}
		_exit(0);
	}
	ASSERT_EQ(0, wait_blocked(pid));
	for (int i = 0; i < 3; i++) {
		o[i] = (struct mbuf){ 1, { (char)('0' + i) } };
		s[i] = (struct ripc_msg_item){ PTR(&o[i]), 1, 0 };
	}
	ASSERT_EQ(3, ioctl(self->dev, RIPC_MSGSND_BATCH, &b));
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_QUEUE(id, 0, 0);
}

/*
 * An event loop's consumer: poll() for POLLIN, then non-blocking receives
 * until EAGAIN.  A blocking send batch larger than the queue wakes it
 * before it waits for room, as single sends would (a batch that woke
 * pollers only at its end would wait for ever for a consumer still in
 * poll(): here, until its 3-second timeout, having sent 2).
 */
TEST_F(ext, a_blocking_send_batch_larger_than_the_queue_wakes_a_poller_first)
{
	struct mq_attr a = { .mq_maxmsg = 2, .mq_msgsize = 8 };
	int q = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT, 0600, &a));
	pid_t pid = fork_child();

	if (pid == 0) {
		int r = ripc_mq_open(self->name, O_RDONLY | O_NONBLOCK, 0, NULL);
		char want = '0';

		CHILD_CHECK(r >= 0);
		while (want < '3') {
			struct pollfd p = { .fd = r, .events = POLLIN };
			char got[8];
			ssize_t n;

			CHILD_CHECK(poll(&p, 1, 5000) == 1);
			while ((n = ripc_mq_receive(r, got, sizeof(got), NULL)) == 1)
				CHILD_CHECK(got[0] == want++);
			CHILD_CHECK(n == -1 && errno == EAGAIN);
		}
		_exit(0);
	}
	ASSERT_EQ(0, wait_blocked(pid));
	ASSERT_EQ(3, send_012_within_3s(q));
	ASSERT_EQ(0, wait_child(pid));
}

/*
 * A send or receive that a rust_ipc queue refuses for its open mode (EBADF,
 * after the checks native makes first) is the module's verdict: libripc
 * makes no mq_timedsend/mq_timedreceive system call for it, so a sandbox
 * that denies those (here with EPERM) still gets EBADF.
 */
TEST_F(ext, a_call_a_queue_refuses_for_its_mode_makes_no_native_call)
{
	pid_t pid;
	int rc;

	pid = fork_child();
	if (pid == 0) {
		struct timespec dl = deadline_ms(1000);
		mqd_t w, r;
		char buf[64];

		w = ripc_mq_open(self->name, O_WRONLY | O_CREAT | O_EXCL, 0600, NULL);
		r = ripc_mq_open(self->name, O_RDONLY);
		CHILD_CHECK(w >= 0 && r >= 0);
		CHILD_DENY_NATIVE_MQ_CALLS(EPERM);
		CHILD_CHECK(syscall(SYS_mq_timedreceive, w, buf, 64, NULL, NULL) == -1 &&
			    errno == EPERM);
		CHILD_CHECK(ripc_mq_receive(w, buf, sizeof(buf), NULL) == -1 && errno == EBADF);
		CHILD_CHECK(ripc_mq_timedreceive(w, buf, sizeof(buf), NULL, &dl) == -1 &&
			    errno == EBADF);
		CHILD_CHECK(ripc_mq_clockreceive(w, buf, sizeof(buf), NULL, CLOCK_MONOTONIC, 0,
						 &(struct timespec){ 1, 0 }) == -1 &&
			    errno == EBADF);
		CHILD_CHECK(ripc_mq_send(r, "x", 1, 0) == -1 && errno == EBADF);
		CHILD_CHECK(ripc_mq_timedsend(r, "x", 1, 0, &dl) == -1 && errno == EBADF);
		CHILD_CHECK(ripc_mq_clocksend(r, "x", 1, 0, CLOCK_MONOTONIC, 0,
					      &(struct timespec){ 1, 0 }) == -1 &&
			    errno == EBADF);
		_exit(0);
	}
	rc = wait_child(pid);
	ripc_mq_unlink(self->name);
	if (rc == KSFT_SKIP)
		SKIP(return, "no seccomp filters in this kernel");
	ASSERT_EQ(0, rc);
}

TEST_HARNESS_MAIN
