// SPDX-License-Identifier: GPL-2.0
/*
 * Notification descriptors (a rust_ipc extension, RIPC_NOTIFY_FD_BIND and
 * RIPC_SIGEV_FD): a registration that is a file.  It fires by mq_notify's
 * rules (one-shot, EBUSY, only on empty -> non-empty with no receiver
 * blocked, removed by mq_notify(NULL) and by the owner's close of a queue
 * descriptor), puts one struct ripc_notify_record per firing in the
 * descriptor (sigval, the sender's pid and uid), and read(), poll() and
 * epoll work on it; closing it cancels the registration.  rust_ipc only
 * (native has no such descriptor; the firing rules are checked against
 * native in mq_test.c and libc_mq.c).
 */
#include "ripc_test.h"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/epoll.h>

#define REC sizeof(struct ripc_notify_record)
#define VALUE 0x1122334455667788ULL

FIXTURE(notify) {
	char name[64];
	mqd_t q;
	int nfd;
};

FIXTURE_SETUP(notify)
{
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 16 };

	if (!have_device())
		SKIP(return, "/dev/rust_ipc missing");
	snprintf(self->name, sizeof(self->name), "/ripc_nfd_%d", getpid());
	umask(0);
	self->q = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT | O_EXCL, 0666, &a));
	self->nfd = SYS(ripc_notify_fd_open(O_CLOEXEC));
}

FIXTURE_TEARDOWN(notify)
{
	ripc_mq_unlink(self->name);
}

#define q (self->q)
#define nfd (self->nfd)

static int arm(int mqd, int fd, unsigned long long value)
{
	return ripc_mq_notify_fd(mqd, fd, (union sigval){ .sival_ptr = (void *)(uintptr_t)value });
}

static int none(int mqd)
{
	struct sigevent sev = { .sigev_notify = SIGEV_NONE };

	return ripc_mq_notify(mqd, &sev);
}

/* { armed, pending } of a notification descriptor, or { -1, errno }. */
static struct { int armed, pending; } state(int fd)
{
	unsigned int a, p;

	if (ripc_notify_fd_state(fd, &a, &p))
		return (typeof(state(0))){ -1, errno };
	return (typeof(state(0))){ (int)a, (int)p };
}

#define ASSERT_STATE(fd, a, p) do { \
	typeof(state(0)) __s = state(fd); \
	ASSERT_EQ(a, __s.armed); \
	ASSERT_EQ(p, __s.pending); \
} while (0)

static int readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

static ssize_t read_nb(int fd, void *buf, size_t len)
{
	int fl = fcntl(fd, F_GETFL);
	ssize_t n;

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	n = read(fd, buf, len);
	fcntl(fd, F_SETFL, fl);
	return n;
}

/* The status line's NOTIFY, SIGNO and NOTIFY_PID fields (pid may be NULL). */
static int status(int mqd, int *notify, int *signo, int *pid)
{
	char buf[160];
	ssize_t n = pread(mqd, buf, sizeof(buf) - 1, 0);
	int owner;

	if (n < 0)
		return -1;
	buf[n] = 0;
	if (sscanf(buf, "QSIZE:%*u NOTIFY:%d SIGNO:%d NOTIFY_PID:%d", notify, signo, &owner) != 3)
		return -1;
	if (pid)
		*pid = owner;
	return 0;
}

/* A child of uid 4321 sends one message on the queue; returns its pid. */
static pid_t send_as(const char *name, uid_t uid)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		int w;

		CHILD_CHECK(become_uid(uid) == 0);
		w = ripc_mq_open(name, O_WRONLY);
		CHILD_CHECK(w >= 0);
		CHILD_CHECK(ripc_mq_send(w, "m", 1, 0) == 0);
		_exit(0);
	}
	return pid;
}

TEST_F(notify, fires_once_with_the_value_and_the_senders_pid_and_uid)
{
	struct ripc_notify_record got[2], want = { .sigev_value = VALUE, .uid = 4321 };
	pid_t pid;

	REQUIRE_ROOT();
	ASSERT_STATE(nfd, 0, 0);
	SYS(arm(q, nfd, VALUE));
	ASSERT_STATE(nfd, 1, 0);
	ASSERT_ERRNO(EAGAIN, read_nb(nfd, got, sizeof(got)));
	pid = send_as(self->name, 4321);
	ASSERT_EQ(0, wait_child(pid));
	want.pid = pid;
	ASSERT_STATE(nfd, 0, 1);
	/* A buffer for two records gets the one there is. */
	ASSERT_EQ((ssize_t)REC, read(nfd, got, sizeof(got)));
	ASSERT_EQ(0, memcmp(&want, &got[0], REC))
		TH_LOG("value %llx pid %d uid %u", (unsigned long long)got[0].sigev_value,
		       got[0].pid, got[0].uid);
	ASSERT_STATE(nfd, 0, 0);
	/* One-shot: the queue went 0 -> 1 -> 2, no second record. */
	SYS(ripc_mq_receive(q, (char[16]){ 0 }, 16, NULL));
	SYS(ripc_mq_send(q, "a", 1, 0));
	SYS(ripc_mq_send(q, "b", 1, 0));
	ASSERT_ERRNO(EAGAIN, read_nb(nfd, got, sizeof(got)));
	SYS(none(q));	/* the queue has no registration left */
}

/*
 * A process that chroots into a directory without /dev makes notification
 * descriptors afterwards (RIPC_NOTIFY_FD_OPEN on the device descriptor it
 * holds: the drop-in's SIGEV_THREAD needs one per registration), as glibc's
 * SIGEV_THREAD works in a chroot; the descriptor is one as usual (flags,
 * registration, record).  RIPC_NOTIFY_FD_OPEN itself: EBADF on a file of
 * the device not open for reading and writing, EINVAL for other flags.
 */
TEST_F(notify, a_notification_descriptor_opens_after_a_chroot)
{
	struct ripc_notify_fd_open o = { .size = sizeof(o), .flags = O_ACCMODE };
	char root[64];
	pid_t pid;
	int ro;

	REQUIRE_ROOT();
	ro = SYS(open(RIPC_DEVICE, O_RDONLY | O_CLOEXEC));
	ASSERT_ERRNO(EBADF, ioctl(ro, RIPC_NOTIFY_FD_OPEN, &o));
	SYS(close(ro));
	ASSERT_ERRNO(EINVAL, ioctl(ripc_device_fd(), RIPC_NOTIFY_FD_OPEN, &o));
	snprintf(root, sizeof(root), "/tmp/ripc_nfd_chroot_%d", getpid());
	SYS(mkdir(root, 0755));
	pid = fork_child();
	if (pid == 0) {
		struct ripc_notify_record r;
		int fd;

		CHILD_CHECK(chroot(root) == 0 && chdir("/") == 0);
		CHILD_CHECK((fd = ripc_notify_fd_open(O_NONBLOCK)) >= 0);
		CHILD_CHECK(fcntl(fd, F_GETFD) == 0);
		CHILD_CHECK((fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == (O_RDWR | O_NONBLOCK));
		CHILD_CHECK(read(fd, &r, sizeof(r)) == -1 && errno == EAGAIN);
		CHILD_CHECK(arm(q, fd, VALUE) == 0);
		CHILD_CHECK(ripc_mq_send(q, "x", 1, 0) == 0);
		CHILD_CHECK(read(fd, &r, sizeof(r)) == (ssize_t)REC && r.sigev_value == VALUE &&
			    r.pid == getpid());
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	SYS(rmdir(root));
}

TEST_F(notify, a_read_smaller_than_a_record_is_einval)
{
	char small[REC - 1];

	SYS(arm(q, nfd, 1));
	SYS(ripc_mq_send(q, "m", 1, 0));
	ASSERT_ERRNO(EINVAL, read(nfd, small, sizeof(small)));
	ASSERT_STATE(nfd, 0, 1);	/* the record is still there */
}

TEST_F(notify, a_read_into_a_bad_buffer_is_efault_and_keeps_the_record)
{
	void *bad = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct ripc_notify_record got;

	ASSERT_NE(MAP_FAILED, bad);
	SYS(arm(q, nfd, 7));
	SYS(ripc_mq_send(q, "m", 1, 0));
	ASSERT_ERRNO(EFAULT, read(nfd, bad, REC));
	ASSERT_STATE(nfd, 0, 1);
	ASSERT_EQ((ssize_t)REC, read(nfd, &got, REC));
	ASSERT_EQ(7ULL, got.sigev_value);
	ASSERT_EQ(getpid(), got.pid);
	ASSERT_EQ((__u32)getuid(), got.uid);
}

struct reader {
	int fd;
	void *buf;
	ssize_t ret;
	int err;
	pid_t tid;
};

static void *read_main(void *arg)
{
	struct reader *r = arg;

	__atomic_store_n(&r->tid, gettid(), __ATOMIC_RELEASE);
	r->ret = read(r->fd, r->buf, REC);
	r->err = errno;
	return NULL;
}

static void no_op(int sig)
{
	(void)sig;
}

/*
 * A record out with a reader whose copy then faults goes back, and a
 * reader that found none meanwhile and slept wakes up to it (it slept on:
 * the put-back woke nobody).  The first reader's buffer is a userfaultfd
 * page, made inaccessible while its copy waits for it.
 */
TEST_F(notify, a_reader_that_slept_while_a_record_was_out_gets_it_back)
{
	void *page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct uffdio_register reg = { .range = { .start = (__u64)(uintptr_t)page, .len = PAGE },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct sigaction sa = { .sa_handler = no_op };
	struct ripc_notify_record got = { 0 };
	struct reader a = { .fd = nfd, .buf = page }, b = { .fd = nfd, .buf = &got };
	struct pollfd p = { .events = POLLIN };
	struct uffd_msg ev;
	struct timespec dl;
	pthread_t at, bt;
	int uffd, b_done;

	ASSERT_NE(MAP_FAILED, page);
	uffd = uffd_open();
	if (uffd < 0)
		SKIP(return, "userfaultfd: %s", strerrorname_np(errno));
	SYS(ioctl(uffd, UFFDIO_REGISTER, &reg));
	SYS(sigaction(SIGUSR1, &sa, NULL));
	SYS(arm(q, nfd, 3));
	SYS(ripc_mq_send(q, "m", 1, 0));
	/* A takes the record and waits for its buffer's page. */
	ASSERT_EQ(0, pthread_create(&at, NULL, read_main, &a));
	p.fd = uffd;
	ASSERT_EQ(1, poll(&p, 1, 5000)) TH_LOG("the read did not fault on the page");
	ASSERT_EQ((ssize_t)sizeof(ev), read(uffd, &ev, sizeof(ev)));
	/* B finds no record and sleeps. */
	ASSERT_EQ(0, pthread_create(&bt, NULL, read_main, &b));
	while (!__atomic_load_n(&b.tid, __ATOMIC_ACQUIRE))
		usleep(1000);
	ASSERT_EQ(0, wait_blocked(b.tid));
	/* A's page can no longer be written: its copy fails. */
	SYS(mprotect(page, PAGE, PROT_NONE));
	SYS(ioctl(uffd, UFFDIO_WAKE, &reg.range));
	ASSERT_EQ(0, pthread_join(at, NULL));
	ASSERT_EQ(-1, a.ret);
	ASSERT_EQ(EFAULT, a.err);
	dl = deadline_ms(3000);
	b_done = pthread_timedjoin_np(bt, NULL, &dl) == 0;
	if (!b_done) {
		pthread_kill(bt, SIGUSR1);
		ASSERT_EQ(0, pthread_join(bt, NULL));
	}
	ASSERT_TRUE(b_done) TH_LOG("the sleeping reader was not woken");
	ASSERT_EQ((ssize_t)REC, b.ret);
	ASSERT_EQ(3ULL, got.sigev_value);
	close(uffd);
	munmap(page, PAGE);
}

struct stalled {
	mqd_t mqd;
	char *buf;
	ssize_t ret;
};

/* A receive into a buffer whose copy-out stalls. */
static void *stalled_main(void *arg)
{
	struct stalled *r = arg;

	r->ret = ripc_mq_receive(r->mqd, r->buf, 16, NULL);
	return NULL;
}

/*
 * A message out for delivery (its receive's copy stalled on a userfaultfd
 * page) holds no room, as native's: a send into the queue (maxmsg 1) that
 * shows no message goes in at once and posts its record, from its sender,
 * while that copy still waits.  (rust_ipc once made the sender wait for the
 * room until the copy was done.)
 */
TEST_F(notify, a_send_while_a_receive_copies_posts_its_record_at_once)
{
	struct mq_attr one = { .mq_maxmsg = 1, .mq_msgsize = 16 };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct ripc_notify_record got[2];
	struct ripc_queue_stats st;
	struct stalled r = { .ret = -2 };
	struct pollfd p = { .events = POLLIN };
	struct uffd_msg fault;
	char name[80];
	pthread_t t;
	pid_t pid;

	p.fd = uffd_open();
	if (p.fd < 0)
		SKIP(return, "userfaultfd: %s", strerrorname_np(errno));
	snprintf(name, sizeof(name), "%s_one", self->name);
	r.mqd = SYS(ripc_mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &one));
	SYS(ripc_mq_unlink(name));
	r.buf = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r.buf);
	reg.range.start = (unsigned long)r.buf;
	reg.range.len = PAGE;
	SYS(ioctl(p.fd, UFFDIO_REGISTER, &reg));
	SYS(ripc_mq_send(r.mqd, "a", 1, 0));
	ASSERT_EQ(0, pthread_create(&t, NULL, stalled_main, &r));
	ASSERT_EQ(1, poll(&p, 1, 3000)) TH_LOG("the receive did not fault");
	ASSERT_EQ((ssize_t)sizeof(fault), read(p.fd, &fault, sizeof(fault)));
	/* "a" is out for delivery: the queue shows no message. */
	SYS(arm(r.mqd, nfd, VALUE));
	pid = fork_child();
	if (pid == 0) {
		alarm(10);
		CHILD_CHECK(ripc_mq_send(r.mqd, "b", 1, 0) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid)) TH_LOG("the sender");
	ASSERT_STATE(nfd, 0, 1);
	ASSERT_EQ((ssize_t)REC, read_nb(nfd, got, sizeof(got)));
	ASSERT_EQ(VALUE, got[0].sigev_value);
	ASSERT_EQ(pid, got[0].pid);
	ASSERT_EQ(-2, r.ret) TH_LOG("the receive ended before its page came");
	SYS(ioctl(p.fd, UFFDIO_ZEROPAGE,
		  &(struct uffdio_zeropage){ .range = { (unsigned long)r.buf, PAGE } }));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(1, r.ret);
	ASSERT_EQ('a', r.buf[0]);
	SYS(ripc_mq_stats(r.mqd, &st, 0));
	ASSERT_EQ(0ULL, st.blocked_sends);
	SYS(ripc_mq_close(r.mqd));
}

TEST_F(notify, records_queue_up_and_one_read_takes_them_in_order)
{
	struct ripc_notify_record got[3];
	char buf[16];

	for (int i = 1; i <= 3; i++) {
		SYS(arm(q, nfd, i));
		SYS(ripc_mq_send(q, "m", 1, 0));
		SYS(ripc_mq_receive(q, buf, sizeof(buf), NULL));
	}
	ASSERT_STATE(nfd, 0, 3);
	/* Two and a half records of room: two are taken. */
	ASSERT_EQ((ssize_t)(2 * REC), read(nfd, got, 2 * REC + REC / 2));
	ASSERT_EQ(1ULL, got[0].sigev_value);
	ASSERT_EQ(2ULL, got[1].sigev_value);
	ASSERT_EQ((ssize_t)REC, read(nfd, got, sizeof(got)));
	ASSERT_EQ(3ULL, got[0].sigev_value);
}

TEST_F(notify, unread_records_are_limited)
{
	char buf[16];
	struct ripc_notify_record got;

	for (int i = 0; i < RIPC_NOTIFY_FD_PENDING_MAX; i++) {
		SYS(arm(q, nfd, i));
		SYS(ripc_mq_send(q, "m", 1, 0));
		SYS(ripc_mq_receive(q, buf, sizeof(buf), NULL));
	}
	ASSERT_STATE(nfd, 0, RIPC_NOTIFY_FD_PENDING_MAX);
	ASSERT_ERRNO(EAGAIN, arm(q, nfd, 99));
	SYS(none(q));	/* nothing was registered */
	SYS(ripc_mq_notify(q, NULL));
	ASSERT_EQ((ssize_t)REC, read(nfd, &got, REC));
	ASSERT_EQ(0ULL, got.sigev_value);
	SYS(arm(q, nfd, 99));
}

TEST_F(notify, poll_and_epoll_report_pollin_while_a_record_is_unread)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 42 }, out[2];
	struct ripc_notify_record got;
	int ep = SYS(epoll_create1(EPOLL_CLOEXEC));

	SYS(epoll_ctl(ep, EPOLL_CTL_ADD, nfd, &ev));
	SYS(arm(q, nfd, 5));
	ASSERT_EQ(0, readable(nfd));
	ASSERT_EQ(0, epoll_wait(ep, out, 2, 0));
	SYS(ripc_mq_send(q, "m", 1, 0));
	ASSERT_EQ(POLLIN, readable(nfd));
	ASSERT_EQ(1, epoll_wait(ep, out, 2, 0));
	ASSERT_EQ((uint32_t)EPOLLIN, out[0].events);
	ASSERT_EQ(42ULL, out[0].data.u64);
	ASSERT_EQ((ssize_t)REC, read(nfd, &got, REC));
	ASSERT_EQ(0, readable(nfd));
	ASSERT_EQ(0, epoll_wait(ep, out, 2, 0));
	close(ep);
}

/* A record makes the descriptor POLLRDNORM too, as a readable queue. */
TEST_F(notify, poll_reports_pollrdnorm_with_pollin)
{
	struct pollfd p = { .fd = nfd, .events = POLLIN | POLLRDNORM };
	struct ripc_notify_record got;

	SYS(arm(q, nfd, 5));
	ASSERT_EQ(0, poll(&p, 1, 0));
	SYS(ripc_mq_send(q, "m", 1, 0));
	ASSERT_EQ(1, poll(&p, 1, 0));
	ASSERT_EQ(POLLIN | POLLRDNORM, p.revents);
	ASSERT_EQ((ssize_t)REC, read(nfd, &got, REC));
	ASSERT_EQ(0, poll(&p, 1, 0));
}

/* An epoll_wait blocked before the firing wakes up for it. */
TEST_F(notify, a_blocked_epoll_wait_wakes_up)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0x1234567887654321ULL }, out;
	struct ripc_notify_record got;
	int ep = SYS(epoll_create1(EPOLL_CLOEXEC));
	pid_t pid;

	SYS(epoll_ctl(ep, EPOLL_CTL_ADD, nfd, &ev));
	SYS(arm(q, nfd, 5));
	pid = fork_child();
	if (pid == 0) {
		int blocked = wait_blocked(getppid());

		CHILD_CHECK(ripc_mq_send(q, "m", 1, 0) == 0);
		CHILD_CHECK(blocked == 0);
		_exit(0);
	}
	memset(&out, 0xa5, sizeof(out));
	ASSERT_EQ(1, epoll_wait(ep, &out, 1, 5000));
	ASSERT_EQ((uint32_t)EPOLLIN, out.events);
	ASSERT_EQ(0x1234567887654321ULL, out.data.u64);
	ASSERT_EQ(0, wait_child(pid));
	/* The record of that firing. */
	ASSERT_EQ((ssize_t)REC, read(nfd, &got, REC));
	ASSERT_EQ(5ULL, got.sigev_value);
	ASSERT_EQ(pid, got.pid);
	ASSERT_EQ((__u32)getuid(), got.uid);
	ASSERT_EQ(0, readable(nfd));
	close(ep);
}

TEST_F(notify, a_blocked_read_wakes_up_with_the_record)
{
	struct ripc_notify_record got;
	pid_t pid;

	SYS(arm(q, nfd, 9));
	pid = fork_child();
	if (pid == 0) {
		int blocked = wait_blocked(getppid());

		CHILD_CHECK(ripc_mq_send(q, "m", 1, 0) == 0);
		CHILD_CHECK(blocked == 0);
		_exit(0);
	}
	ASSERT_EQ((ssize_t)REC, read(nfd, &got, REC));
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_EQ(9ULL, got.sigev_value);
	ASSERT_EQ(pid, got.pid);
}

TEST_F(notify, a_nonblocking_descriptor_reads_eagain)
{
	struct ripc_notify_record got;
	int nb = SYS(ripc_notify_fd_open(O_NONBLOCK | O_CLOEXEC));

	ASSERT_ERRNO(EAGAIN, read(nb, &got, REC));
	SYS(arm(q, nb, 3));
	ASSERT_ERRNO(EAGAIN, read(nb, &got, REC));
	SYS(ripc_mq_send(q, "m", 1, 0));
	ASSERT_EQ((ssize_t)REC, read(nb, &got, REC));
	ASSERT_ERRNO(EAGAIN, read(nb, &got, REC));
	close(nb);
}

TEST_F(notify, a_signal_interrupts_a_blocked_read)
{
	struct ripc_notify_record got;
	pid_t pid;

	SYS(set_handler(SIGUSR1, 0));
	SYS(arm(q, nfd, 3));
	pid = signal_when_blocked(SIGUSR1);
	ASSERT_ERRNO(EINTR, read(nfd, &got, REC));
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_EQ(1, *sig_hits);
	ASSERT_STATE(nfd, 1, 0);	/* still registered */
	signal(SIGUSR1, SIG_DFL);
}

TEST_F(notify, a_read_restarts_under_sa_restart)
{
	struct ripc_notify_record got;
	pid_t pid;

	SYS(set_handler(SIGUSR1, SA_RESTART));
	SYS(arm(q, nfd, 4));
	pid = fork_child();
	if (pid == 0) {
		int blocked = wait_blocked(getppid());

		kill(getppid(), SIGUSR1);
		usleep(100 * 1000);
		blocked |= wait_blocked(getppid());
		CHILD_CHECK(ripc_mq_send(q, "m", 1, 0) == 0);
		CHILD_CHECK(blocked == 0);
		_exit(0);
	}
	ASSERT_EQ((ssize_t)REC, read(nfd, &got, REC));
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_EQ(1, *sig_hits);
	ASSERT_EQ(4ULL, got.sigev_value);
	signal(SIGUSR1, SIG_DFL);
}

TEST_F(notify, any_second_registration_is_ebusy)
{
	mqd_t q2 = SYS(ripc_mq_open(self->name, O_RDWR));
	int other = SYS(ripc_notify_fd_open(O_CLOEXEC));
	char name2[80];
	mqd_t r;

	SYS(arm(q, nfd, 1));
	ASSERT_ERRNO(EBUSY, arm(q, other, 2));
	ASSERT_ERRNO(EBUSY, arm(q2, nfd, 2));
	ASSERT_ERRNO(EBUSY, none(q2));
	/* One registration per notification descriptor. */
	snprintf(name2, sizeof(name2), "%s_b", self->name);
	r = SYS(ripc_mq_open(name2, O_RDWR | O_CREAT, 0600, NULL));
	SYS(ripc_mq_unlink(name2));
	ASSERT_ERRNO(EBUSY, arm(r, nfd, 3));
	SYS(arm(r, other, 3));
	ASSERT_STATE(other, 1, 0);
	/* Fired, it may be registered again, here on the other queue. */
	SYS(ripc_mq_send(q, "m", 1, 0));
	ASSERT_STATE(nfd, 0, 1);
	SYS(ripc_mq_notify(r, NULL));
	SYS(arm(r, nfd, 4));
	SYS(ripc_mq_send(r, "m", 1, 0));
	ASSERT_STATE(nfd, 0, 2);
	ASSERT_STATE(other, 0, 0);
	close(other);
	close(r);
}

TEST_F(notify, mq_notify_null_removes_it)
{
	SYS(arm(q, nfd, 1));
	SYS(ripc_mq_notify(q, NULL));
	ASSERT_STATE(nfd, 0, 0);
	SYS(ripc_mq_send(q, "m", 1, 0));
	ASSERT_STATE(nfd, 0, 0);
	SYS(none(q));
}

/*
 * Closing the notification descriptor (its last reference) removes the
 * registration at once: the queue's status line shows none (NOTIFY_PID 0,
 * as after mq_notify(NULL)), and another registration succeeds, by this
 * process or another, before any message came.  A registration that
 * outlived the close would show its owner there, make the next one EBUSY
 * and take the next firing; here the new registration gets the record.
 */
TEST_F(notify, closing_the_notification_descriptor_cancels_it)
{
	struct ripc_notify_record got;
	int notify, signo, owner, nfd2;
	pid_t pid;

	SYS(arm(q, nfd, 1));
	SYS(status(q, &notify, &signo, &owner));
	ASSERT_EQ(2, notify);	/* as native SIGEV_THREAD */
	ASSERT_EQ(0, signo);
	ASSERT_EQ(getpid(), owner);
	SYS(close(nfd));
	SYS(status(q, &notify, &signo, &owner));
	ASSERT_EQ(0, notify);
	ASSERT_EQ(0, owner);
	SYS(none(q));	/* the queue is free */
	SYS(ripc_mq_notify(q, NULL));
	/* Registered again and closed: no registration is left, before any
	 * message comes. */
	nfd = SYS(ripc_notify_fd_open(O_CLOEXEC));
	SYS(arm(q, nfd, 1));
	SYS(close(nfd));
	SYS(status(q, &notify, &signo, &owner));
	ASSERT_EQ(0, notify);
	ASSERT_EQ(0, owner);
	/* Another process may register (and remove its registration). */
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(none(q) == 0);
		CHILD_CHECK(status(q, &notify, &signo, &owner) == 0 && owner == getpid());
		CHILD_CHECK(ripc_mq_notify(q, NULL) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	/* So may another descriptor of this one, which the send then fires. */
	nfd2 = SYS(ripc_notify_fd_open(O_CLOEXEC));
	SYS(arm(q, nfd2, 2));
	SYS(ripc_mq_send(q, "m", 1, 0));
	ASSERT_STATE(nfd2, 0, 1);
	ASSERT_EQ((ssize_t)REC, read(nfd2, &got, REC));
	ASSERT_EQ(2ULL, got.sigev_value);
	ASSERT_EQ(getpid(), got.pid);
	SYS(none(q));
	close(nfd2);
}

TEST_F(notify, closing_a_duplicate_does_not_cancel_it)
{
	SYS(arm(q, nfd, 1));
	SYS(close(SYS(dup(nfd))));
	ASSERT_STATE(nfd, 1, 0);
	SYS(ripc_mq_send(q, "m", 1, 0));
	ASSERT_STATE(nfd, 0, 1);
}

TEST_F(notify, closing_a_queue_descriptor_removes_it)
{
	mqd_t q2 = SYS(ripc_mq_open(self->name, O_RDWR));

	SYS(arm(q2, nfd, 1));
	SYS(close(SYS(dup(q))));	/* any descriptor of the queue, by the owner */
	ASSERT_STATE(nfd, 0, 0);
	SYS(ripc_mq_send(q, "m", 1, 0));
	ASSERT_STATE(nfd, 0, 0);
	SYS(arm(q2, nfd, 2));
	SYS(close(q2));
	ASSERT_STATE(nfd, 0, 0);
}

/* The poll bits of a notification descriptor, asked for POLLIN and POLLPRI. */
static int polled(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLPRI };

	return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

/*
 * A registration removed without firing makes the descriptor report
 * POLLPRI (what libripc's SIGEV_THREAD helper waits for) until it is
 * registered again or its state is asked; a firing does not, nor a
 * descriptor never registered.
 */
TEST_F(notify, a_registration_removed_without_firing_reports_pollpri)
{
	struct epoll_event ev = { .events = EPOLLPRI | EPOLLONESHOT, .data.u64 = 7 }, out;
	struct ripc_notify_record got;
	mqd_t q2 = SYS(ripc_mq_open(self->name, O_RDWR));
	int ep = SYS(epoll_create1(EPOLL_CLOEXEC));
	pid_t pid;

	ASSERT_EQ(0, polled(nfd));
	SYS(arm(q, nfd, 1));
	ASSERT_EQ(0, polled(nfd));
	SYS(ripc_mq_send(q, "m", 1, 0));		/* fired */
	ASSERT_EQ(POLLIN, polled(nfd));
	ASSERT_EQ((ssize_t)REC, read(nfd, &got, REC));
	ASSERT_EQ(0, polled(nfd));
	/* Removed by mq_notify(NULL). */
	SYS(arm(q, nfd, 2));
	SYS(ripc_mq_notify(q, NULL));
	ASSERT_EQ(POLLPRI, polled(nfd));
	SYS(arm(q, nfd, 3));
	ASSERT_EQ(0, polled(nfd));
	/* Removed by the owner's close of a queue descriptor: an epoll_wait
	 * blocked before wakes up. */
	SYS(epoll_ctl(ep, EPOLL_CTL_ADD, nfd, &ev));
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(epoll_wait(ep, &out, 1, 5000) == 1);
		CHILD_CHECK(out.events == EPOLLPRI && out.data.u64 == 7);
		_exit(0);
	}
	ASSERT_EQ(0, wait_blocked(pid));
	SYS(close(q2));
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_EQ(POLLPRI, polled(nfd));
	ASSERT_STATE(nfd, 0, 0);		/* acknowledges it */
	ASSERT_EQ(0, polled(nfd));
	/* A firing after a new registration: POLLIN only. */
	SYS(arm(q, nfd, 4));
	SYS(ripc_mq_receive(q, (char[16]){ 0 }, 16, NULL));
	SYS(ripc_mq_send(q, "m", 1, 0));
	ASSERT_EQ(POLLIN, polled(nfd));
	close(ep);
}

TEST_F(notify, not_fired_when_a_receiver_is_blocked)
{
	pid_t pid;

	SYS(arm(q, nfd, 1));
	pid = fork_child();
	if (pid == 0) {
		char buf[16];

		CHILD_CHECK(ripc_mq_receive(q, buf, sizeof(buf), NULL) == 1);
		_exit(0);
	}
	ASSERT_EQ(0, wait_blocked(pid));
	SYS(ripc_mq_send(q, "x", 1, 0));
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_STATE(nfd, 1, 0);	/* not consumed */
	SYS(ripc_mq_send(q, "y", 1, 0));
	ASSERT_STATE(nfd, 0, 1);
}

TEST_F(notify, not_fired_until_the_queue_empties_and_refills)
{
	char buf[16];

	SYS(ripc_mq_send(q, "1", 1, 0));
	SYS(arm(q, nfd, 1));
	SYS(ripc_mq_send(q, "2", 1, 0));
	ASSERT_STATE(nfd, 1, 0);
	SYS(ripc_mq_receive(q, buf, sizeof(buf), NULL));
	SYS(ripc_mq_receive(q, buf, sizeof(buf), NULL));
	SYS(ripc_mq_send(q, "3", 1, 0));
	ASSERT_STATE(nfd, 0, 1);
}

TEST_F(notify, the_queue_removed_while_registered)
{
	SYS(arm(q, nfd, 1));
	SYS(ripc_mq_unlink(self->name));
	ASSERT_STATE(nfd, 1, 0);	/* the queue lives while open */
	SYS(ripc_mq_send(q, "m", 1, 0));
	ASSERT_STATE(nfd, 0, 1);
	SYS(arm(q, nfd, 2));
	SYS(close(q));			/* the last descriptor: the queue goes */
	ASSERT_STATE(nfd, 0, 1);
	/* The descriptor goes on working on another queue. */
	q = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL));
	SYS(arm(q, nfd, 3));
	SYS(ripc_mq_send(q, "m", 1, 0));
	ASSERT_STATE(nfd, 0, 2);
}

/* The queue's registration and the descriptor's file outlive the process
 * that closed neither. */
TEST_F(notify, a_forked_child_shares_the_descriptor_but_does_not_own_it)
{
	struct ripc_notify_record got;
	pid_t pid;

	SYS(arm(q, nfd, 6));
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(ripc_mq_notify(q, NULL) == 0);	/* not the owner: no-op */
		CHILD_CHECK(close(q) == 0);			/* nor does this remove it */
		CHILD_CHECK(close(nfd) == 0);			/* nor this (the parent holds it) */
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_STATE(nfd, 1, 0);
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(read(nfd, &got, REC) == (ssize_t)REC);	/* the child may read it */
		CHILD_CHECK(got.sigev_value == 6 && got.pid == getppid());
		_exit(0);
	}
	ASSERT_EQ(0, wait_blocked(pid));
	SYS(ripc_mq_send(q, "m", 1, 0));
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_STATE(nfd, 0, 0);
}

/* exec closes a close-on-exec notification descriptor, which cancels its
 * registration (the queue descriptor is kept open across the exec, so its
 * close does not remove it first). */
TEST_F(notify, exec_closes_it_and_cancels_the_registration)
{
	int notify = -1, signo, mine, p[2];
	pid_t pid;
	char c;

	SYS(pipe2(p, O_CLOEXEC));
	pid = fork_child();
	if (pid == 0) {
		mine = ripc_notify_fd_open(O_CLOEXEC);
		CHILD_CHECK(mine >= 0);
		CHILD_CHECK(arm(q, mine, 1) == 0);
		CHILD_CHECK(fcntl(q, F_SETFD, 0) == 0);
		CHILD_CHECK(write(p[1], "r", 1) == 1);
		execl("/bin/sleep", "sleep", "2", (char *)NULL);
		_exit(2);
	}
	ASSERT_EQ(1, read(p[0], &c, 1));	/* registered */
	for (int i = 0; i < 150; i++) {
		SYS(status(q, &notify, &signo, NULL));
		if (notify == 0)
			break;
		usleep(10 * 1000);
	}
	ASSERT_EQ(0, notify);
	ASSERT_EQ(0, waitpid(pid, NULL, WNOHANG));	/* still running, the queue open */
	SYS(none(q));
	ASSERT_EQ(0, wait_child(pid));
}

TEST_F(notify, bad_requests)
{
	struct ripc_notify_fd st = { .size = sizeof(st) };
	int p[2], dev;

	SYS(pipe2(p, O_CLOEXEC));
	ASSERT_ERRNO(EBADF, arm(q, -1, 0));
	ASSERT_ERRNO(EBADF, arm(q, 1000, 0));
	ASSERT_ERRNO(EINVAL, arm(q, p[0], 0));
	ASSERT_ERRNO(EINVAL, arm(q, q, 0));	/* a queue descriptor is no notification descriptor */
	/* The descriptor's errors come before the queue's EBADF, as native's. */
	ASSERT_ERRNO(EBADF, arm(nfd, nfd, 0));
	ASSERT_ERRNO(EBADF, ripc_mq_send(nfd, "m", 1, 0));
	ASSERT_ERRNO(EBUSY, ioctl(nfd, RIPC_NOTIFY_FD_BIND, &st));
	ASSERT_ERRNO(EBUSY, ioctl(q, RIPC_NOTIFY_FD_BIND, &st));
	ASSERT_ERRNO(EINVAL, ioctl(q, RIPC_NOTIFY_FD_STATE, &st));
	dev = SYS(open(RIPC_DEVICE, O_RDWR | O_CLOEXEC));
	ASSERT_ERRNO(EINVAL, ioctl(dev, RIPC_NOTIFY_FD_STATE, &st));
	/* A struct that cannot be written back: EFAULT, and the file is not
	 * bound (the next bind works). */
	{
		struct ripc_notify_fd *ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
						 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		ASSERT_NE(MAP_FAILED, ro);
		ro->size = sizeof(*ro);
		SYS(mprotect(ro, PAGE, PROT_READ));
		ASSERT_ERRNO(EFAULT, ioctl(dev, RIPC_NOTIFY_FD_BIND, ro));
		ASSERT_ERRNO(EINVAL, ioctl(dev, RIPC_NOTIFY_FD_STATE, &st));
		SYS(ioctl(dev, RIPC_NOTIFY_FD_BIND, &st));
		SYS(ioctl(dev, RIPC_NOTIFY_FD_STATE, &st));
		munmap(ro, PAGE);
	}
	ASSERT_ERRNO(ENOTTY, ioctl(p[0], RIPC_NOTIFY_FD_STATE, &st));
	ASSERT_ERRNO(EINVAL, ripc_notify_fd_open(O_APPEND));
	SYS(none(q));	/* nothing was registered */
	close(dev);
	close(p[0]);
	close(p[1]);
}

TEST_HARNESS_MAIN
