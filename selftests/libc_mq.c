// SPDX-License-Identifier: GPL-2.0
/*
 * What libc's mq_* and msg* functions do beyond mq_test.c and msg_test.c:
 * mq_notify(SIGEV_THREAD), blocked calls being cancellation points (and a
 * single-threaded process's cancellation of itself acting at mq_send and
 * msgsnd), and the numbering of the program's descriptors (the library's own descriptors
 * take no low number: a stale close is EBADF, open() gives the lowest).  Run
 * as it is, it checks glibc's native implementation (for SIGEV_THREAD a
 * netlink helper thread); run with LD_PRELOAD=libripc_preload.so, the
 * library's on /dev/rust_ipc (see libripc/preload.c), against the same
 * expectations.  preload_test.sh runs it both ways.  Built dynamically only
 * ($(OUT)/preload/libc_mq, linked with libgcc_s, which glibc's
 * pthread_cancel needs), hence not named *_test.c.
 */
#include "ripc_test.h"

#include <mqueue.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/single_threaded.h>
#include <sys/time.h>

/* How long a call that should not come is waited for. */
#define QUIET_MS 400
#define CALL_MS 3000

/* mq_receive (16-byte buffer) of q must give str with priority prio, and
 * write nothing more. */
#define ASSERT_MQ_RECV(q, str, prio) do { \
	char __b[16]; \
	unsigned int __p = ~0u; \
	size_t __l = strlen(str); \
	memset(__b, POISON, sizeof(__b)); \
	ASSERT_EQ((ssize_t)__l, mq_receive(q, __b, sizeof(__b), &__p)) \
		TH_LOG("mq_receive: %s", strerrorname_np(errno)); \
	ASSERT_EQ((unsigned int)(prio), __p); \
	ASSERT_EQ(0, memcmp(__b, str, __l)); \
	ASSERT_EQ(sizeof(__b), first_written(__b, __l, sizeof(__b))); \
} while (0)

/* msgrcv (IPC_NOWAIT, any type) of id must give a message of type and text
 * str, and write nothing more. */
#define ASSERT_MSG_RCV(id, type, str) do { \
	struct { long mtype; char mtext[16]; } __m; \
	size_t __l = strlen(str); \
	memset(&__m, POISON, sizeof(__m)); \
	ASSERT_EQ((ssize_t)__l, msgrcv(id, &__m, sizeof(__m.mtext), 0, IPC_NOWAIT)) \
		TH_LOG("msgrcv: %s", strerrorname_np(errno)); \
	ASSERT_EQ((long)(type), __m.mtype); \
	ASSERT_EQ(0, memcmp(__m.mtext, str, __l)); \
	ASSERT_EQ(sizeof(__m.mtext), first_written(__m.mtext, __l, sizeof(__m.mtext))); \
} while (0)

static sem_t calls;			/* posted by each notification */
static void *got_value;
static pthread_t got_thread;
static size_t got_stack, got_guard;
static cpu_set_t got_cpus;
static int got_policy, got_prio;
static int got_sigusr1_blocked;

static void notified(union sigval v)
{
	pthread_attr_t a;
	sigset_t cur;

	got_value = v.sival_ptr;
	got_thread = pthread_self();
	got_stack = got_guard = 0;
	CPU_ZERO(&got_cpus);
	if (!pthread_getattr_np(pthread_self(), &a)) {
		pthread_attr_getstacksize(&a, &got_stack);
		pthread_attr_getguardsize(&a, &got_guard);
		pthread_attr_destroy(&a);
	}
	pthread_getaffinity_np(pthread_self(), sizeof(got_cpus), &got_cpus);
	{
		struct sched_param sp = { 0 };

		got_policy = -1;
		if (!pthread_getschedparam(pthread_self(), &got_policy, &sp))
			got_prio = sp.sched_priority;
	}
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	got_sigusr1_blocked = sigismember(&cur, SIGUSR1);
	sem_post(&calls);
}

/* 1 if a notification function ran (or runs within ms). */
static int called_within(long ms)
{
	struct timespec dl = deadline_ms(ms);
	int r;

	while ((r = sem_timedwait(&calls, &dl)) && errno == EINTR)
		;
	return r == 0;
}

static int notify_thread(mqd_t q, void *value, pthread_attr_t *attr)
{
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD };

	sev.sigev_notify_function = notified;
	sev.sigev_value.sival_ptr = value;
	sev.sigev_notify_attributes = attr;
	return mq_notify(q, &sev);
}

static int notify_none(mqd_t q)
{
	struct sigevent sev = { .sigev_notify = SIGEV_NONE };

	return mq_notify(q, &sev);
}

FIXTURE(thr) {
	char name[64];
	mqd_t q;
};

FIXTURE_SETUP(thr)
{
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 16 };

	snprintf(self->name, sizeof(self->name), "/ripc_sevt_%d", getpid());
	ASSERT_EQ(0, sem_init(&calls, 0, 0));
	self->q = mq_open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
	if (self->q < 0 && (errno == ENOSYS || errno == ENOENT))
		SKIP(return, "no message queues: %s", strerrorname_np(errno));
	ASSERT_LE(0, self->q) TH_LOG("mq_open: %s", strerrorname_np(errno));
}

FIXTURE_TEARDOWN(thr)
{
	mq_unlink(self->name);
}

#define q (self->q)

TEST_F(thr, called_once_with_the_value_in_a_new_thread)
{
	SYS(block_signal(SIGUSR1));
	SYS(notify_thread(q, (void *)0x5eed, NULL));
	ASSERT_FALSE(called_within(QUIET_MS));
	SYS(mq_send(q, "x", 1, 0));
	ASSERT_TRUE(called_within(CALL_MS));
	ASSERT_EQ((void *)0x5eed, got_value);
	ASSERT_FALSE(pthread_equal(got_thread, pthread_self()));
	/* glibc's notification thread unblocks every signal. */
	ASSERT_EQ(0, got_sigusr1_blocked);
	/* One-shot: more messages, no more calls. */
	SYS(mq_send(q, "y", 1, 0));
	ASSERT_FALSE(called_within(QUIET_MS));
}

TEST_F(thr, reregistration_after_the_call_works)
{
	char buf[16];

	SYS(notify_thread(q, NULL, NULL));
	SYS(mq_send(q, "1", 1, 0));
	ASSERT_TRUE(called_within(CALL_MS));
	SYS(mq_receive(q, buf, sizeof(buf), NULL));
	SYS(notify_thread(q, (void *)2, NULL));
	SYS(mq_send(q, "2", 1, 0));
	ASSERT_TRUE(called_within(CALL_MS));
	ASSERT_EQ((void *)2, got_value);
}

TEST_F(thr, any_second_registration_is_ebusy)
{
	mqd_t q2 = SYS(mq_open(self->name, O_RDONLY));
	pid_t pid;

	SYS(notify_thread(q, NULL, NULL));
	ASSERT_ERRNO(EBUSY, notify_thread(q, NULL, NULL));
	ASSERT_ERRNO(EBUSY, notify_none(q));
	ASSERT_ERRNO(EBUSY, notify_thread(q2, NULL, NULL));
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(notify_none(q) == -1 && errno == EBUSY);
		CHILD_CHECK(notify_thread(q, NULL, NULL) == -1 && errno == EBUSY);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/* A registration that succeeds leaves errno as it was (after a failed one too). */
TEST_F(thr, a_registration_that_succeeds_leaves_errno_alone)
{
	char name2[80];
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 16 };
	mqd_t q2;

	snprintf(name2, sizeof(name2), "%s_2", self->name);
	q2 = SYS(mq_open(name2, O_RDWR | O_CREAT | O_EXCL, 0600, &a));
	errno = 1234;
	SYS(notify_thread(q, NULL, NULL));
	ASSERT_EQ(1234, errno);
	ASSERT_ERRNO(EBUSY, notify_thread(q, NULL, NULL));
	errno = 1234;
	SYS(notify_thread(q2, NULL, NULL));
	ASSERT_EQ(1234, errno);
	mq_close(q2);
	mq_unlink(name2);
}

TEST_F(thr, null_removes_it_through_any_descriptor)
{
	mqd_t q2 = SYS(mq_open(self->name, O_RDWR));

	SYS(notify_thread(q, NULL, NULL));
	SYS(mq_notify(q, NULL));
	SYS(mq_send(q, "x", 1, 0));
	ASSERT_FALSE(called_within(QUIET_MS));
	SYS(mq_receive(q, (char[16]){ 0 }, 16, NULL));
	/* Another descriptor of the queue, same owner process. */
	SYS(notify_thread(q, NULL, NULL));
	SYS(mq_notify(q2, NULL));
	SYS(mq_send(q, "x", 1, 0));
	ASSERT_FALSE(called_within(QUIET_MS));
	SYS(notify_none(q));	/* nothing left registered */
}

TEST_F(thr, closing_any_descriptor_of_the_queue_removes_it)
{
	mqd_t q2 = SYS(mq_open(self->name, O_RDWR));
	char buf[16];

	/* The registered descriptor itself. */
	SYS(notify_thread(q2, NULL, NULL));
	SYS(mq_close(q2));
	SYS(mq_send(q, "x", 1, 0));
	ASSERT_FALSE(called_within(QUIET_MS));
	SYS(mq_receive(q, buf, sizeof(buf), NULL));
	/* Another one (here a dup of it). */
	SYS(notify_thread(q, NULL, NULL));
	SYS(close(SYS(dup(q))));
	SYS(mq_send(q, "x", 1, 0));
	ASSERT_FALSE(called_within(QUIET_MS));
	SYS(notify_none(q));
}

static int close_returned;

/* Cancels itself, then closes *arg: close() is a cancellation point. */
static void *close_after_self_cancel(void *arg)
{
	pthread_cancel(pthread_self());
	close(*(int *)arg);
	__atomic_store_n(&close_returned, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Whether a thread that cancels itself, then closes fd, is cancelled
 * there, before close() returns (a cancellation point). */
static int cancelled_at_close(int fd)
{
	pthread_t t;
	void *res;

	close_returned = 0;
	if (pthread_create(&t, NULL, close_after_self_cancel, &fd) || pthread_join(t, &res))
		return 0;
	return res == PTHREAD_CANCELED && !__atomic_load_n(&close_returned, __ATOMIC_SEQ_CST);
}

/*
 * close() stays a cancellation point in a process with a SIGEV_THREAD
 * registration (the drop-in made every close() of such a process take its
 * lock with cancellation disabled).
 */
TEST_F(thr, close_stays_a_cancellation_point_while_registered)
{
	int fd = SYS(open("/dev/null", O_RDONLY | O_CLOEXEC));

	SYS(notify_thread(q, NULL, NULL));
	ASSERT_TRUE(cancelled_at_close(fd));
	/* The registration is intact. */
	SYS(mq_send(q, "x", 1, 0));
	ASSERT_TRUE(called_within(CALL_MS));
}

/*
 * The same for a number at or above 512, where the drop-in keeps its own
 * descriptors (its notification descriptor, its helper's epoll set): a
 * close of the program's own file there is a cancellation point too (the
 * drop-in took its lock, with cancellation disabled, for every number from
 * its lowest one up, and held it across the close).
 */
TEST_F(thr, close_of_a_high_number_stays_a_cancellation_point_while_registered)
{
	int low = SYS(open("/dev/null", O_RDONLY | O_CLOEXEC));
	int fd = SYS(fcntl(low, F_DUPFD_CLOEXEC, 700));

	close(low);
	SYS(notify_thread(q, NULL, NULL));
	ASSERT_TRUE(cancelled_at_close(fd));
	SYS(close(fd));
	SYS(mq_send(q, "x", 1, 0));
	ASSERT_TRUE(called_within(CALL_MS));
}

/*
 * A process that chroots into a directory without /dev registers and gets
 * SIGEV_THREAD calls afterwards, as glibc's (its netlink socket needs no
 * path): the drop-in makes each registration's notification descriptor
 * through the device descriptor it holds (it opened /dev/rust_ipc: ENOENT).
 */
TEST_F(thr, sigev_thread_registers_after_a_chroot)
{
	char root[64];
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root");
	snprintf(root, sizeof(root), "/tmp/ripc_sevt_chroot_%d", getpid());
	SYS(mkdir(root, 0755));
	pid = fork();
	if (pid == 0) {
		if (chroot(root) || chdir("/"))
			_exit(2);
		if (notify_thread(q, (void *)9, NULL))
			_exit(3);
		if (mq_send(q, "x", 1, 0))
			_exit(4);
		_exit(called_within(CALL_MS) && got_value == (void *)9 ? 0 : 5);
	}
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, wait_child(pid));
	SYS(rmdir(root));
}

TEST_F(thr, not_called_until_the_queue_empties_and_refills)
{
	char buf[16];

	SYS(mq_send(q, "1", 1, 0));
	SYS(notify_thread(q, NULL, NULL));
	SYS(mq_send(q, "2", 1, 0));
	ASSERT_FALSE(called_within(QUIET_MS));
	ASSERT_ERRNO(EBUSY, notify_none(q));	/* still registered */
	SYS(mq_receive(q, buf, sizeof(buf), NULL));
	SYS(mq_receive(q, buf, sizeof(buf), NULL));
	SYS(mq_send(q, "3", 1, 0));
	ASSERT_TRUE(called_within(CALL_MS));
}

TEST_F(thr, not_called_when_a_receiver_waits)
{
	pid_t pid;

	SYS(notify_thread(q, NULL, NULL));
	pid = fork_child();
	if (pid == 0) {
		char buf[16];

		CHILD_CHECK(mq_receive(q, buf, sizeof(buf), NULL) == 1);
		_exit(0);
	}
	ASSERT_EQ(0, wait_blocked(pid));
	SYS(mq_send(q, "x", 1, 0));
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_FALSE(called_within(QUIET_MS));
	ASSERT_ERRNO(EBUSY, notify_none(q));	/* not consumed */
}

TEST_F(thr, a_forked_child_is_not_the_owner)
{
	pid_t pid;

	SYS(notify_thread(q, NULL, NULL));
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(mq_notify(q, NULL) == 0);	/* a silent no-op */
		CHILD_CHECK(close(q) == 0);		/* does not remove it either */
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	SYS(mq_send(q, "x", 1, 0));
	ASSERT_TRUE(called_within(CALL_MS));
}

TEST_F(thr, thread_attributes_are_copied_and_used)
{
	size_t want = (1 << 20) + (64 << 10), guard = 3 * PAGE;
	cpu_set_t mine, one;
	pthread_attr_t a;
	int cpu = 0;

	ASSERT_EQ(0, pthread_getaffinity_np(pthread_self(), sizeof(mine), &mine));
	while (cpu < CPU_SETSIZE - 1 && !CPU_ISSET(cpu, &mine))
		cpu++;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	ASSERT_EQ(0, pthread_attr_init(&a));
	ASSERT_EQ(0, pthread_attr_setstacksize(&a, want));
	ASSERT_EQ(0, pthread_attr_setguardsize(&a, guard));
	ASSERT_EQ(0, pthread_attr_setaffinity_np(&a, sizeof(one), &one));
	SYS(notify_thread(q, NULL, &a));
	/* The caller may destroy them at once (glibc copies them). */
	pthread_attr_destroy(&a);
	memset(&a, 0xa5, sizeof(a));
	SYS(mq_send(q, "x", 1, 0));
	ASSERT_TRUE(called_within(CALL_MS));
	ASSERT_LE(want, got_stack);
	ASSERT_GT(want + (1 << 20), got_stack);
	/* Guard size and CPU affinity too (glibc's __pthread_attr_copy). */
	ASSERT_EQ(guard, got_guard);
	ASSERT_TRUE(CPU_EQUAL(&one, &got_cpus)) TH_LOG("ran on %d CPUs, not CPU %d only",
						       CPU_COUNT(&got_cpus), cpu);
}

static void *nothing(void *arg)
{
	return arg;
}

/*
 * An explicit scheduling policy and priority in the attributes are the
 * call thread's (SCHED_FIFO 1: needs CAP_SYS_NICE, skipped where a thread
 * cannot be made so).
 */
TEST_F(thr, thread_scheduling_attributes_are_copied_and_used)
{
	struct sched_param sp = { .sched_priority = 1 };
	pthread_attr_t a;
	pthread_t t;
	int err;

	ASSERT_EQ(0, pthread_attr_init(&a));
	ASSERT_EQ(0, pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED));
	ASSERT_EQ(0, pthread_attr_setschedpolicy(&a, SCHED_FIFO));
	ASSERT_EQ(0, pthread_attr_setschedparam(&a, &sp));
	err = pthread_create(&t, &a, nothing, NULL);
	if (err) {
		pthread_attr_destroy(&a);
		SKIP(return, "no SCHED_FIFO thread: %s", strerrorname_np(err));
	}
	ASSERT_EQ(0, pthread_join(t, NULL));
	SYS(notify_thread(q, NULL, &a));
	pthread_attr_destroy(&a);
	SYS(mq_send(q, "x", 1, 0));
	ASSERT_TRUE(called_within(CALL_MS));
	ASSERT_EQ(SCHED_FIFO, got_policy);
	ASSERT_EQ(1, got_prio);
}

/* The queue's status line shows the registration as native's: SIGEV_THREAD
 * (2), no signal, the owner's pid. */
TEST_F(thr, the_status_line_shows_it)
{
	int notify = -1, signo = -1, pid = -1;
	char buf[160];
	ssize_t n;

	SYS(notify_thread(q, NULL, NULL));
	n = SYS(pread(q, buf, sizeof(buf) - 1, 0));
	buf[n] = 0;
	ASSERT_EQ(3, sscanf(buf, "QSIZE:%*u NOTIFY:%d SIGNO:%d NOTIFY_PID:%d", &notify, &signo,
			    &pid)) TH_LOG("%s", buf);
	ASSERT_EQ(SIGEV_THREAD, notify);
	ASSERT_EQ(0, signo);
	ASSERT_EQ(getpid(), pid);
}

/* A receiver that empties the queue at once does not take the call away. */
TEST_F(thr, called_when_the_message_is_taken_at_once)
{
	char buf[16];

	SYS(notify_thread(q, (void *)7, NULL));
	SYS(mq_send(q, "x", 1, 0));
	SYS(mq_receive(q, buf, sizeof(buf), NULL));
	ASSERT_TRUE(called_within(CALL_MS));
	ASSERT_EQ((void *)7, got_value);
	ASSERT_FALSE(called_within(QUIET_MS));
}

static unsigned long seen_mask;

static void notified_bit(union sigval v)
{
	__atomic_or_fetch(&seen_mask, 1UL << v.sival_int, __ATOMIC_SEQ_CST);
	sem_post(&calls);
}

/* Registrations on several queues, each called once with its value. */
TEST_F(thr, several_queues_each_call_once)
{
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD, .sigev_notify_function = notified_bit };
	struct mq_attr a = { .mq_maxmsg = 2, .mq_msgsize = 16 };
	char name[80];
	mqd_t qs[8];

	seen_mask = 0;
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "%s_%d", self->name, i);
		qs[i] = SYS(mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a));
		SYS(mq_unlink(name));
		sev.sigev_value.sival_int = i;
		SYS(mq_notify(qs[i], &sev));
	}
	for (int i = 7; i >= 0; i--)
		SYS(mq_send(qs[i], "x", 1, 0));
	for (int i = 0; i < 8; i++)
		ASSERT_TRUE(called_within(CALL_MS));
	ASSERT_FALSE(called_within(QUIET_MS));
	ASSERT_EQ(0xffUL, __atomic_load_n(&seen_mask, __ATOMIC_SEQ_CST));
	for (int i = 0; i < 8; i++)
		SYS(mq_close(qs[i]));
}

static void close_700(int sig)
{
	int e = errno;

	(void)sig;
	close(700);
	errno = e;
}

/*
 * close() is async-signal-safe: a handler that closes a number (here one
 * not open, in the drop-in's range of its own descriptors once a
 * SIGEV_THREAD registration made one) while its thread forks returns, as
 * it does with glibc (the drop-in's fork handler held its lock with
 * signals unblocked, and the handler waited for ever for it).  300 forks
 * under a signal a millisecond take longer than the harness's 30 s on a
 * slow debug kernel: 120 s.
 */
TEST_F_TIMEOUT(thr, a_handler_that_closes_while_its_thread_forks_returns, 120)
{
	struct itimerval every = { { 0, 1000 }, { 0, 1000 } }, off = { 0 };
	struct sigaction sa = { .sa_handler = close_700, .sa_flags = SA_RESTART };

	ASSERT_EQ(0, notify_thread(q, NULL, NULL));
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &every, NULL));
	for (int i = 0; i < 300; i++) {
		pid_t pid = fork();
		int st = -1;

		if (pid == 0)
			_exit(0);
		ASSERT_LT(0, pid);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("child status %#x", st);
	}
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &off, NULL));
	/* The registration is there still. */
	ASSERT_EQ(0, mq_send(q, "x", 1, 0));
	ASSERT_TRUE(called_within(2000));
}

/* The process's threads, or -1. */
static int count_threads(void)
{
	return (int)count_entries("/proc/self/task");
}

/*
 * A close_range() over the numbers from 512 up (where the drop-in keeps
 * its notification descriptor and its helper's epoll set) between
 * registrations leaves the process one helper thread, as glibc's one
 * netlink helper (the drop-in's helper of a closed set waited on it for
 * ever: a thread more each time).
 */
TEST_F(thr, close_range_over_the_high_numbers_leaves_one_helper_thread)
{
	int first, now = -1;

	SYS(notify_thread(q, NULL, NULL));
	first = count_threads();
	ASSERT_LT(1, first);
	for (int i = 0; i < 5; i++) {
		SYS(close_range(512, ~0U, 0));
		SYS(mq_notify(q, NULL));
		SYS(notify_thread(q, NULL, NULL));
	}
	for (int ms = 0; ms < CALL_MS && (now = count_threads()) != first; ms += 10)
		usleep(10 * 1000);
	ASSERT_EQ(first, now);
	SYS(mq_send(q, "x", 1, 0));
	ASSERT_TRUE(called_within(CALL_MS));
}

/* A close_range() the kernel refuses (EINVAL) closes nothing: the
 * registration stays and is called. */
TEST_F(thr, a_close_range_that_fails_keeps_the_registration)
{
	ASSERT_EQ(0, notify_thread(q, (void *)7, NULL));
	ASSERT_EQ(-1, close_range(3, ~0U, 0x8));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, mq_send(q, "x", 1, 0));
	ASSERT_TRUE(called_within(2000));
	ASSERT_EQ((void *)7, got_value);
}

/*
 * A sigev_notify that is none of SIGEV_NONE, SIGEV_SIGNAL and SIGEV_THREAD
 * is EINVAL before the descriptor is looked at (do_mq_notify()), also
 * rust_ipc's own RIPC_SIGEV_FD value (0x100), which is libripc's
 * ripc_mq_notify_fd()'s and not glibc's mq_notify()'s (the drop-in took
 * sigev_signo for a notification descriptor: EBADF).
 */
TEST_F(thr, an_unknown_sigev_notify_is_einval_before_the_descriptor)
{
	struct sigevent sev = { .sigev_notify = 0x100, .sigev_signo = -1 };

	ASSERT_ERRNO(EINVAL, mq_notify(q, &sev));
	ASSERT_ERRNO(EINVAL, mq_notify(-1, &sev));
	sev.sigev_notify = 4;	/* SIGEV_THREAD_ID: timers only */
	sev.sigev_signo = SIGUSR1;
	ASSERT_ERRNO(EINVAL, mq_notify(q, &sev));
	/* Nothing was registered. */
	SYS(notify_none(q));
	SYS(mq_notify(q, NULL));
}

TEST_F(thr, bad_descriptor_is_ebadf)
{
	int p[2];

	SYS(pipe(p));
	ASSERT_ERRNO(EBADF, notify_thread(-1, NULL, NULL));
	ASSERT_ERRNO(EBADF, notify_thread(p[0], NULL, NULL));
	SYS(mq_close(q));
	ASSERT_ERRNO(EBADF, notify_thread(q, NULL, NULL));
}

#undef q

/* ---- cancellation ------------------------------------------------------ */

static pid_t blocked_tid;

static void *receive_mq(void *arg)
{
	char buf[16];

	blocked_tid = gettid();
	mq_receive(*(mqd_t *)arg, buf, sizeof(buf), NULL);
	return NULL;
}

static void *receive_msg(void *arg)
{
	struct { long mtype; char mtext[16]; } m;

	blocked_tid = gettid();
	msgrcv(*(int *)arg, &m, sizeof(m.mtext), 0, 0);
	return NULL;
}

/* Starts fn(arg), waits until it sleeps, cancels it: 0 if it was cancelled. */
static int cancel_blocked(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	void *res = NULL;

	blocked_tid = 0;
	if (pthread_create(&t, NULL, fn, arg))
		return -1;
	for (int i = 0; i < 3000 && !__atomic_load_n(&blocked_tid, __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	if (wait_blocked(blocked_tid) || pthread_cancel(t) || pthread_join(t, &res))
		return -1;
	return res == PTHREAD_CANCELED ? 0 : -1;
}

/* A new queue of 2 messages of 16 bytes, its name ("/ripc_TAG_PID")
 * unlinked at once: its descriptor, or -1 with errno. */
static mqd_t unnamed_queue(const char *tag)
{
	struct mq_attr a = { .mq_maxmsg = 2, .mq_msgsize = 16 };
	char name[64];
	mqd_t q;

	snprintf(name, sizeof(name), "/ripc_%s_%d", tag, getpid());
	q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
	if (q >= 0)
		mq_unlink(name);
	return q;
}

TEST(blocked_mq_receive_is_a_cancellation_point)
{
	mqd_t q;

	q = unnamed_queue("cancel");
	ASSERT_LE(0, q) TH_LOG("mq_open: %s", strerrorname_np(errno));
	ASSERT_EQ(0, cancel_blocked(receive_mq, &q));
	/* The queue is intact. */
	SYS(mq_send(q, "x", 1, 5));
	ASSERT_MQ_RECV(q, "x", 5);
}

/*
 * The same on a native queue's descriptor, which a program under the
 * drop-in may hold (one made with syscall(SYS_mq_open), which the drop-in
 * does not take): its receive is native's call and a cancellation point,
 * also once the drop-in knows the descriptor for none of the device's (a
 * first call on it looked), where a multi-threaded process makes native's
 * call at once (libripc's fd_native_now()).
 */
TEST(blocked_mq_receive_on_a_native_queue_descriptor_is_a_cancellation_point)
{
	struct mq_attr a = { .mq_maxmsg = 2, .mq_msgsize = 16 };
	struct timespec past = { 0, 0 };
	char name[64], buf[16];
	mqd_t q, other;

	/* A queue of the library's (the drop-in's: its device descriptor
	 * opened, which native's call at once needs). */
	other = unnamed_queue("cancel_other");
	ASSERT_LE(0, other) TH_LOG("mq_open: %s", strerrorname_np(errno));
	snprintf(name, sizeof(name), "ripc_native_cancel_%d", getpid());
	q = syscall(SYS_mq_open, name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
	if (q < 0 && errno == ENOSYS)
		SKIP(return, "no native POSIX message queues");
	ASSERT_LE(0, q) TH_LOG("mq_open: %s", strerrorname_np(errno));
	SYS(syscall(SYS_mq_unlink, name));
	ASSERT_ERRNO(ETIMEDOUT, mq_timedreceive(q, buf, sizeof(buf), NULL, &past));
	ASSERT_EQ(0, cancel_blocked(receive_mq, &q));
	/* The queue is intact. */
	SYS(mq_send(q, "x", 1, 5));
	ASSERT_MQ_RECV(q, "x", 5);
	SYS(close(q));
	SYS(mq_close(other));
}

TEST(blocked_msgrcv_is_a_cancellation_point)
{
	struct { long mtype; char mtext[16]; } m = { 7, "x" };
	int id = SYS(msgget(IPC_PRIVATE, 0600));

	ASSERT_EQ(0, cancel_blocked(receive_msg, &id));
	SYS(msgsnd(id, &m, 1, 0));
	ASSERT_MSG_RCV(id, 7, "x");
	SYS(msgctl(id, IPC_RMID, NULL));
}

/*
 * A process with one thread that cancels itself: the next cancellation
 * point acts.  glibc's mq_send and msgsnd skip the cancellation state in a
 * single-threaded process, but pthread_cancel turns that off; the drop-in
 * skips it too and must notice the pthread_cancel call.  The thread ends
 * before sending (so does the process, with status 0): 0, or the child's
 * status (3: the call returned, 4: not single-threaded).  Reading
 * __libc_single_threaded here gives this program its own copy of it (a
 * copy relocation), which glibc 2.36's pthread_cancel does not clear (it
 * clears libc's): the drop-in cannot rely on the flag alone.
 */
static int send_after_self_cancel(mqd_t q, int id)
{
	struct { long mtype; char mtext[16]; } m = { 1, "x" };
	pid_t pid;
	int st;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (!__libc_single_threaded)
			_exit(4);
		if (pthread_cancel(pthread_self()))
			_exit(2);
		if (id < 0)
			mq_send(q, "x", 1, 0);
		else
			msgsnd(id, &m, 1, 0);
		_exit(3);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

TEST(single_threaded_self_cancel_acts_at_mq_send)
{
	struct mq_attr a;
	char buf[16];
	mqd_t q;

	q = unnamed_queue("selfcancel");
	ASSERT_LE(0, q) TH_LOG("mq_open: %s", strerrorname_np(errno));
	/* A plain send first: the child inherits whatever the library set up. */
	SYS(mq_send(q, "y", 1, 0));
	ASSERT_EQ(1, mq_receive(q, buf, sizeof(buf), NULL));
	ASSERT_EQ(0, send_after_self_cancel(q, -1));
	SYS(mq_getattr(q, &a));
	ASSERT_EQ(0, a.mq_curmsgs);
	SYS(mq_close(q));
}

TEST(single_threaded_self_cancel_acts_at_msgsnd)
{
	struct { long mtype; char mtext[16]; } m = { 1, "y" };
	int id = SYS(msgget(IPC_PRIVATE, 0600));
	struct msqid_ds ds;

	SYS(msgsnd(id, &m, 1, 0));
	ASSERT_EQ(1, msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT));
	ASSERT_EQ(0, send_after_self_cancel(-1, id));
	SYS(msgctl(id, IPC_STAT, &ds));
	ASSERT_EQ(0, (long)ds.msg_qnum);
	SYS(msgctl(id, IPC_RMID, NULL));
}

/* ---- descriptors ------------------------------------------------------- */

/*
 * A queue descriptor closed twice is EBADF the second time, as any
 * descriptor, also when calls made in between had the library open a
 * descriptor of its own (System V calls and mq_unlink use the drop-in's
 * process-wide descriptor of the device): the library must not take the
 * freed number, or the program's stale close would close the library's.
 */
TEST(a_queue_descriptor_closed_twice_is_ebadf)
{
	struct mq_attr a = { .mq_maxmsg = 2, .mq_msgsize = 16 };
	struct { long mtype; char mtext[16]; } m = { 7, "x" };
	char name[64];
	mqd_t q;
	int id;

	snprintf(name, sizeof(name), "/ripc_stale_%d", getpid());
	q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
	ASSERT_LE(0, q) TH_LOG("mq_open: %s", strerrorname_np(errno));
	SYS(mq_close(q));
	id = SYS(msgget(IPC_PRIVATE, 0600));
	SYS(mq_unlink(name));
	ASSERT_ERRNO(EBADF, close(q));
	ASSERT_ERRNO(EBADF, mq_close(q));
	/* The library still works. */
	SYS(msgsnd(id, &m, 1, 0));
	ASSERT_MSG_RCV(id, 7, "x");
	SYS(msgctl(id, IPC_RMID, NULL));
	q = SYS(mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a));
	SYS(mq_send(q, "y", 1, 4));
	ASSERT_MQ_RECV(q, "y", 4);
	SYS(mq_close(q));
	SYS(mq_unlink(name));
}

/* A new queue /ripc_<tag>_<pid> (its name into name), read-write, 2 x 16 bytes. */
static mqd_t fresh_queue(const char *tag, char name[64])
{
	struct mq_attr a = { .mq_maxmsg = 2, .mq_msgsize = 16 };

	snprintf(name, 64, "/ripc_%s_%d", tag, getpid());
	return mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
}

/*
 * In a child as uid and gid (no supplementary groups): mq_open(name, oflag),
 * then, if it opened and mode is not -1, fchmod() of that descriptor.  The
 * child's exit code: 0, or the errno of the call that failed (99: could not
 * become uid/gid).
 */
static int open_as(const char *name, uid_t uid, gid_t gid, int oflag, int mode)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		mqd_t r;

		if (setgroups(0, NULL) || setgid(gid) || setuid(uid))
			_exit(99);
		r = mq_open(name, oflag);
		if (r < 0)
			_exit(errno);
		_exit(mode >= 0 && fchmod(r, mode) ? errno : 0);
	}
	return pid < 0 ? -1 : wait_child(pid);
}

/*
 * fchmod(), fchown() and fchownat(AT_EMPTY_PATH) of a queue descriptor
 * change the queue, not /dev/rust_ipc, which the drop-in's descriptor is a
 * file of (a root program's fchmod(q, 0600) made the node 0600 for every
 * user): each change is seen by a later open of another user, and the
 * device node keeps its mode, owner and group.
 */
TEST(fchmod_and_fchown_of_a_queue_change_the_queue_not_the_device)
{
	struct stat before, st;
	char name[64];
	mqd_t q;

	if (geteuid() != 0)
		SKIP(return, "needs root");
	ASSERT_EQ(0, stat(RIPC_DEVICE, &before));
	q = fresh_queue("fchmod", name);
	ASSERT_LE(0, q) TH_LOG("mq_open: %s", strerrorname_np(errno));
	SYS(fchmod(q, 0640));
	SYS(fchownat(q, "", 65534, -1, AT_EMPTY_PATH));
	SYS(fchown(q, -1, 65534));
	/* The group (fchown) reads (fchmod), and may not write. */
	EXPECT_EQ(0, open_as(name, 65533, 65534, O_RDONLY, -1));
	EXPECT_EQ(EACCES, open_as(name, 65533, 65534, O_WRONLY, -1));
	/* The owner (fchownat) reads and writes, and may fchmod the queue. */
	EXPECT_EQ(0, open_as(name, 65534, 65534, O_RDWR, 0600));
	/* Which then shuts the group out. */
	EXPECT_EQ(EACCES, open_as(name, 65533, 65534, O_RDONLY, -1));
	if (stat(RIPC_DEVICE, &st) == 0 &&
	    ((st.st_mode & 07777) != (before.st_mode & 07777) || st.st_uid != before.st_uid ||
	     st.st_gid != before.st_gid)) {
		chmod(RIPC_DEVICE, before.st_mode & 07777);
		chown(RIPC_DEVICE, before.st_uid, before.st_gid);
		ASSERT_EQ(before.st_mode & 07777, st.st_mode & 07777)
			TH_LOG("the device node was changed");
		ASSERT_EQ(before.st_uid, st.st_uid);
		ASSERT_EQ(before.st_gid, st.st_gid);
	}
	SYS(mq_close(q));
	SYS(mq_unlink(name));
}

/*
 * After a chroot into a directory without /dev and /sys, fchmod() and
 * fchown() of an ordinary file are the file's: the drop-in, which cannot
 * look at the device's node there, knows the device's number from its own
 * descriptor (it took every unknown file for the device's: ENOTTY).
 */
TEST(fchmod_of_a_file_after_a_chroot_is_the_files)
{
	char root[64], name[64];
	pid_t pid;
	mqd_t q;

	if (geteuid() != 0)
		SKIP(return, "needs root");
	snprintf(root, sizeof(root), "/tmp/ripc_fchmod_chroot_%d", getpid());
	SYS(mkdir(root, 0755));
	q = fresh_queue("fchmod_chroot", name);
	ASSERT_LE(0, q) TH_LOG("mq_open: %s", strerrorname_np(errno));
	pid = fork_child();
	if (pid == 0) {
		struct stat st;
		int fd;

		if (chroot(root) || chdir("/"))
			_exit(2);
		fd = open("/f", O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd < 0)
			_exit(3);
		if (fchmod(fd, 0640) || fchown(fd, 65534, 65534))
			_exit(4);
		if (fstat(fd, &st) || (st.st_mode & 07777) != 0640 || st.st_uid != 65534)
			_exit(5);
		/* The queue's still are the queue's. */
		_exit(fchmod(q, 0644) ? 6 : unlink("/f") ? 7 : 0);
	}
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, wait_child(pid));
	SYS(mq_close(q));
	SYS(mq_unlink(name));
	SYS(rmdir(root));
}

/* Every mq_* call on fd, which is not a queue, is EBADF (0), else -1. */
static int all_ebadf(int fd)
{
	struct timespec ts = { .tv_sec = 1 };
	struct sigevent sev = { .sigev_notify = SIGEV_NONE };
	struct mq_attr a = { 0 };
	char buf[16];

	if (mq_send(fd, "x", 1, 0) != -1 || errno != EBADF ||
	    mq_timedsend(fd, "x", 1, 0, &ts) != -1 || errno != EBADF ||
	    mq_receive(fd, buf, sizeof(buf), NULL) != -1 || errno != EBADF ||
	    mq_timedreceive(fd, buf, sizeof(buf), NULL, &ts) != -1 || errno != EBADF ||
	    mq_getattr(fd, &a) != -1 || errno != EBADF ||
	    mq_setattr(fd, &a, NULL) != -1 || errno != EBADF ||
	    mq_notify(fd, &sev) != -1 || errno != EBADF)
		return -1;
	return 0;
}

/*
 * A queue call on a descriptor of another file is EBADF, whatever that
 * file's driver makes of an ioctl (an epoll instance's and /dev/urandom's
 * refuse unknown ones with EINVAL; a DRM device's picks a handler by the
 * command's number): the library makes its ioctls on files of the device
 * only.  Also on the number of a queue descriptor closed since and taken by
 * such a file.
 */
TEST(queue_calls_on_another_file_are_ebadf)
{
	int ep = SYS(epoll_create1(EPOLL_CLOEXEC));
	int rnd = SYS(open("/dev/urandom", O_RDONLY | O_CLOEXEC));
	mqd_t q;

	ASSERT_EQ(0, all_ebadf(ep)) TH_LOG("epoll: %s", strerrorname_np(errno));
	ASSERT_EQ(0, all_ebadf(rnd)) TH_LOG("/dev/urandom: %s", strerrorname_np(errno));
	SYS(close(ep));
	q = unnamed_queue("other");
	ASSERT_LE(0, q) TH_LOG("mq_open: %s", strerrorname_np(errno));
	SYS(mq_send(q, "y", 1, 0));
	SYS(close(q));
	ep = SYS(epoll_create1(EPOLL_CLOEXEC));
	ASSERT_EQ(q, ep) TH_LOG("the epoll instance took another number");
	ASSERT_EQ(0, all_ebadf(ep)) TH_LOG("epoll on the old number: %s", strerrorname_np(errno));
	SYS(close(ep));
	SYS(close(rnd));
}

/*
 * The same without the device node (a tmpfs over /dev in a mount namespace
 * of its own, as a container handed only descriptors): libripc knows the
 * device by the number sysfs gives it.  It made its ioctl on the file then
 * (EINVAL from /dev/urandom's driver).
 */
TEST(queue_calls_on_another_file_are_ebadf_without_the_device_node)
{
	int rnd = SYS(open("/dev/urandom", O_RDONLY | O_CLOEXEC));
	int ep = SYS(epoll_create1(EPOLL_CLOEXEC));
	mqd_t q, d;

	REQUIRE_ROOT();
	q = unnamed_queue("nonode");
	ASSERT_LE(0, q) TH_LOG("mq_open: %s", strerrorname_np(errno));
	/* A number the library has not seen (dup by a raw system call): it
	 * must tell the queue's file from the others by sysfs's number. */
	d = SYS(syscall(SYS_dup, q));
	SYS(unshare(CLONE_NEWNS));
	SYS(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	SYS(mount("tmpfs", "/dev", "tmpfs", 0, NULL));
	ASSERT_NE(0, access("/dev/rust_ipc", F_OK));
	ASSERT_EQ(0, all_ebadf(rnd)) TH_LOG("/dev/urandom: %s", strerrorname_np(errno));
	ASSERT_EQ(0, all_ebadf(ep)) TH_LOG("epoll: %s", strerrorname_np(errno));
	SYS(mq_send(d, "z", 1, 2));
	ASSERT_MQ_RECV(q, "z", 2);
	SYS(close(ep));
	SYS(close(rnd));
	SYS(close(d));
	SYS(mq_close(q));
}

/*
 * A number that queue calls found not to be a queue (the drop-in remembers
 * such an open descriptor, so that its later calls make native's call at
 * once) is a queue for them once a queue descriptor takes it: dup()ed
 * there after a close(), a close_range(), an fclose() or a closedir() (the
 * last two close inside libc), or put there by dup2() or dup3().
 */
TEST(a_number_found_not_a_queue_is_one_once_a_queue_takes_it)
{
	int p[2], fd;
	FILE *f;
	DIR *d;
	mqd_t q;

	q = unnamed_queue("found");
	ASSERT_LE(0, q) TH_LOG("mq_open: %s", strerrorname_np(errno));
#define TAKEN_BY_A_QUEUE(num, how) do { \
		ASSERT_EQ(0, all_ebadf(num)) TH_LOG("%s: %s", how, strerrorname_np(errno)); \
		ASSERT_EQ(0, all_ebadf(num)) TH_LOG("%s again: %s", how, strerrorname_np(errno)); \
		CLOSE_IT; \
		fd = SYS(dup(q)); \
		ASSERT_EQ(num, fd) TH_LOG("%s: dup() took another number", how); \
		SYS(mq_send(fd, how, 1, 1)); \
		ASSERT_MQ_RECV(q, how, 1); \
		SYS(close(fd)); \
	} while (0)

	SYS(pipe2(p, O_CLOEXEC));
#define CLOSE_IT SYS(close(p[0]))
	TAKEN_BY_A_QUEUE(p[0], "c");
#undef CLOSE_IT
#define CLOSE_IT SYS(close_range(p[0], p[0], 0))
	fd = SYS(dup(p[1]));
	ASSERT_EQ(p[0], fd);
	TAKEN_BY_A_QUEUE(p[0], "r");
#undef CLOSE_IT
	f = fdopen(SYS(dup(p[1])), "w");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(p[0], fileno(f));
#define CLOSE_IT ASSERT_EQ(0, fclose(f))
	TAKEN_BY_A_QUEUE(p[0], "f");
#undef CLOSE_IT
	d = opendir("/");
	ASSERT_NE(NULL, d);
	ASSERT_EQ(p[0], dirfd(d));
#define CLOSE_IT ASSERT_EQ(0, closedir(d))
	TAKEN_BY_A_QUEUE(p[0], "d");
#undef CLOSE_IT
#undef TAKEN_BY_A_QUEUE

	ASSERT_EQ(0, all_ebadf(p[1])) TH_LOG("pipe: %s", strerrorname_np(errno));
	ASSERT_EQ(p[1], dup2(q, p[1]));
	SYS(mq_send(p[1], "b", 1, 2));
	ASSERT_MQ_RECV(q, "b", 2);
	SYS(close(p[1]));
	SYS(pipe2(p, O_CLOEXEC));
	ASSERT_EQ(0, all_ebadf(p[0])) TH_LOG("pipe: %s", strerrorname_np(errno));
	ASSERT_EQ(p[0], dup3(q, p[0], O_CLOEXEC));
	SYS(mq_send(p[0], "c", 1, 3));
	ASSERT_MQ_RECV(q, "c", 3);
	SYS(close(p[0]));
	SYS(close(p[1]));
	SYS(mq_close(q));
}

/*
 * The same on a number the library used for a moment: the drop-in opens a
 * SIGEV_THREAD registration's descriptor at the lowest free number and
 * moves it high; a file that then takes that number is not a queue.
 */
TEST(a_number_the_library_let_go_is_not_taken_for_a_queue)
{
	mqd_t q;
	int ep;

	q = unnamed_queue("let_go");
	ASSERT_LE(0, q) TH_LOG("mq_open: %s", strerrorname_np(errno));
	SYS(notify_thread(q, NULL, NULL));
	ep = SYS(epoll_create1(EPOLL_CLOEXEC));
	ASSERT_EQ(0, all_ebadf(ep)) TH_LOG("epoll (%d): %s", ep, strerrorname_np(errno));
	SYS(close(ep));
	SYS(mq_close(q));
}

/*
 * glibc's first mq_notify(SIGEV_THREAD) in a process opens its netlink
 * socket at the lowest free number, whatever the call's outcome, and keeps
 * it; later ones open nothing there.  The program's next descriptors are
 * numbered after it, natively and through the drop-in (which opened
 * nothing at a low number, so they were one lower).
 */
TEST(the_first_sigev_thread_call_keeps_the_lowest_free_number)
{
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD };
	int lo1, lo2, fd;
	mqd_t q;

	sev.sigev_notify_function = notified;
	q = unnamed_queue("first_thread");
	ASSERT_LE(0, q) TH_LOG("mq_open: %s", strerrorname_np(errno));
	lo1 = SYS(open("/dev/null", O_RDONLY));
	lo2 = SYS(open("/dev/null", O_RDONLY));
	SYS(close(lo1));
	SYS(close(lo2));
	ASSERT_ERRNO(EBADF, mq_notify(-1, &sev));
	fd = SYS(open("/dev/null", O_RDONLY));
	ASSERT_EQ(lo2, fd) TH_LOG("the first SIGEV_THREAD call kept no descriptor at %d", lo1);
	SYS(close(fd));
	SYS(mq_notify(q, &sev));
	fd = SYS(open("/dev/null", O_RDONLY));
	ASSERT_EQ(lo2, fd) TH_LOG("a later registration kept a descriptor at %d", lo2);
	SYS(close(fd));
	SYS(mq_notify(q, NULL));
	SYS(mq_close(q));
}

/* The process's address space in bytes (VmSize), or 0. */
static unsigned long vm_size(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	unsigned long kb = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %lu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb * 1024;
}

/*
 * glibc's first mq_notify(SIGEV_THREAD) starts its helper thread; if it
 * cannot (here: no address space left for even its small stack), it closes
 * the netlink socket it opened, and that call and every later SIGEV_THREAD
 * call of the process fail with ENOSYS, also once a thread could start; a
 * child it forks starts again (glibc's fork resets it).  The drop-in's
 * helper failure gave EAGAIN, kept the socket's number, and was tried
 * again in the process.
 */
TEST(a_helper_thread_that_cannot_start_makes_sigev_thread_enosys)
{
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD };
	struct rlimit as, tight;
	int lo, fd;
	pid_t pid;
	mqd_t q;

	sev.sigev_notify_function = notified;
	q = unnamed_queue("helper_enosys");
	ASSERT_LE(0, q) TH_LOG("mq_open: %s", strerrorname_np(errno));
	lo = SYS(open("/dev/null", O_RDONLY));
	SYS(close(lo));
	SYS(getrlimit(RLIMIT_AS, &as));
	tight = as;
	tight.rlim_cur = vm_size();
	ASSERT_LT((rlim_t)0, tight.rlim_cur);
	SYS(setrlimit(RLIMIT_AS, &tight));
	errno = 0;
	ASSERT_EQ(-1, mq_notify(q, &sev));
	ASSERT_EQ(ENOSYS, errno) TH_LOG("%s", strerrorname_np(errno));
	SYS(setrlimit(RLIMIT_AS, &as));
	ASSERT_ERRNO(ENOSYS, mq_notify(q, &sev));
	fd = SYS(open("/dev/null", O_RDONLY));
	ASSERT_EQ(lo, fd) TH_LOG("the socket's number %d was kept", lo);
	SYS(close(fd));
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(mq_notify(q, &sev) == 0);
		CHILD_CHECK(mq_notify(q, NULL) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_ERRNO(ENOSYS, mq_notify(q, &sev));
	SYS(mq_close(q));
}

/*
 * open() and mq_open() give the lowest free descriptor, also after calls
 * that had the library open a descriptor of its own.
 */
TEST(new_descriptors_are_the_lowest_free_after_queue_calls)
{
	struct mq_attr a = { .mq_maxmsg = 2, .mq_msgsize = 16 };
	int low1 = SYS(open("/dev/null", O_RDONLY));
	int low2 = SYS(open("/dev/null", O_RDONLY));
	char name[64];
	int id, fd;
	mqd_t q;

	SYS(close(low1));
	SYS(close(low2));
	snprintf(name, sizeof(name), "/ripc_lowest_%d", getpid());
	id = SYS(msgget(IPC_PRIVATE, 0600));
	ASSERT_ERRNO(ENOENT, mq_unlink(name));
	fd = SYS(open("/dev/null", O_RDONLY));
	ASSERT_EQ(low1, fd);
	q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
	ASSERT_EQ(low2, q) TH_LOG("mq_open: %s", strerrorname_np(errno));
	SYS(close(fd));
	SYS(mq_close(q));
	SYS(mq_unlink(name));
	SYS(msgctl(id, IPC_RMID, NULL));
}

/* Writes text to a limits file in one write at offset 0: 0 or the errno. */
static int write_limit(const char *path, const char *text)
{
	FILE *f = fopen(path, "r+");
	int r, e;

	if (!f)
		return errno;
	setvbuf(f, NULL, _IONBF, 0);
	r = fputs(text, f);
	e = errno;
	fclose(f);
	return r == EOF ? e : 0;
}

static long read_limit(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* open() and fopen() of a path the kernel cannot read: EFAULT, as
 * natively (the drop-in looks at the path only after the kernel has). */
TEST(open_and_fopen_of_an_unreadable_path_are_efault)
{
	char *bad = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, bad);
	ASSERT_ERRNO(EFAULT, open(bad, O_RDONLY));
	ASSERT_ERRNO(EFAULT, open(bad, O_WRONLY | O_CREAT, 0600));
	ASSERT_ERRNO(EFAULT, openat(AT_FDCWD, bad, O_RDONLY));
	errno = 0;
	ASSERT_EQ(NULL, fopen(bad, "r"));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, munmap(bad, PAGE));
}

/* A limits file parses a write as proc_dointvec: 0x and 0 prefixes; spaces alone are EINVAL. */
TEST(limits_files_parse_writes_as_proc_dointvec)
{
	const char *path = "/proc/sys/kernel/msgmni";
	long old;
	char text[32];

	REQUIRE_ROOT();
	old = read_limit(path);
	ASSERT_LT(0, old);
	ASSERT_EQ(0, write_limit(path, "0x21\n"));
	ASSERT_EQ(33, read_limit(path));
	ASSERT_EQ(0, write_limit(path, "041\n"));
	ASSERT_EQ(33, read_limit(path));
	ASSERT_EQ(EINVAL, write_limit(path, " \n"));
	ASSERT_EQ(33, read_limit(path));
	/* After the number: the end, ' ', '\t' or '\n' only. */
	ASSERT_EQ(EINVAL, write_limit(path, "34\r"));
	ASSERT_EQ(EINVAL, write_limit(path, "34x"));
	ASSERT_EQ(33, read_limit(path));
	ASSERT_EQ(0, write_limit(path, "35\t"));
	ASSERT_EQ(35, read_limit(path));
	/* Text after the number's spaces: not taken, and stdio's write of
	 * the rest (past offset 0) is ignored; the write succeeds. */
	ASSERT_EQ(0, write_limit(path, "36 x\n"));
	ASSERT_EQ(36, read_limit(path));
	snprintf(text, sizeof(text), "%ld\n", old);
	ASSERT_EQ(0, write_limit(path, text));
	ASSERT_EQ(old, read_limit(path));
}

/* The text a limits file reads ("" if it cannot be read). */
static const char *limit_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = 0;
	if (f) {
		if (!fgets(buf, (int)len, f))
			buf[0] = 0;
		fclose(f);
	}
	return buf;
}

/*
 * 0 and negative values as native's sysctls take them: msgmni, msgmax and
 * queues_max take 0 (and then act on it), queues_max takes -1 (read back
 * as -1), msg_max and msgmnb refuse 0 or -1 (below their minimum); a plus
 * sign is EINVAL.  The drop-in refused every 0 (the module's ABI had 0
 * for "unchanged").
 */
static const char *const zero_paths[] = {
	"/proc/sys/kernel/msgmni", "/proc/sys/kernel/msgmax",
	"/proc/sys/kernel/msgmnb", "/proc/sys/fs/mqueue/queues_max",
	"/proc/sys/fs/mqueue/msg_max",
};

/* The limits files' values, put back whatever the test's outcome. */
FIXTURE(zero) {
	char old[5][32];
	int id;
};

FIXTURE_SETUP(zero)
{
	self->id = -1;
	REQUIRE_ROOT();
	for (int i = 0; i < 5; i++)
		ASSERT_NE(0, limit_text(zero_paths[i], self->old[i], sizeof(self->old[i]))[0]);
}

FIXTURE_TEARDOWN(zero)
{
	for (int i = 0; i < 5; i++)
		if (self->old[i][0])
			write_limit(zero_paths[i], self->old[i]);
	if (self->id >= 0)
		msgctl(self->id, IPC_RMID, NULL);
}

TEST_F(zero, limits_files_take_zero_and_negatives_as_native)
{
	const char *const *paths = zero_paths;
	struct { long mtype; char mtext[4]; } m = { 1, "x" };
	char buf[32];
	int i;

	self->id = SYS(msgget(IPC_PRIVATE, 0600));
	ASSERT_EQ(0, write_limit(paths[0], "0\n"));
	ASSERT_STREQ("0\n", limit_text(paths[0], buf, sizeof(buf)));
	ASSERT_EQ(-1, msgget(IPC_PRIVATE, 0600));
	ASSERT_EQ(ENOSPC, errno);
	ASSERT_EQ(0, write_limit(paths[1], "0\n"));
	ASSERT_STREQ("0\n", limit_text(paths[1], buf, sizeof(buf)));
	ASSERT_EQ(-1, msgsnd(self->id, &m, 1, IPC_NOWAIT));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(EINVAL, write_limit(paths[2], "-1\n"));
	ASSERT_EQ(0, write_limit(paths[3], "-1\n"));
	ASSERT_STREQ("-1\n", limit_text(paths[3], buf, sizeof(buf)));
	ASSERT_EQ(0, write_limit(paths[3], "0\n"));
	ASSERT_STREQ("0\n", limit_text(paths[3], buf, sizeof(buf)));
	ASSERT_EQ(EINVAL, write_limit(paths[4], "0\n"));
	ASSERT_EQ(EINVAL, write_limit(paths[4], "-1\n"));
	ASSERT_EQ(EINVAL, write_limit(paths[4], "+5\n"));
	ASSERT_STREQ(self->old[4], limit_text(paths[4], buf, sizeof(buf)));
	ASSERT_STREQ(self->old[2], limit_text(paths[2], buf, sizeof(buf)));
	for (i = 0; i < 5; i++) {
		ASSERT_EQ(0, write_limit(paths[i], self->old[i]));
		ASSERT_STREQ(self->old[i], limit_text(paths[i], buf, sizeof(buf)));
	}
	SYS(msgsnd(self->id, &m, 1, IPC_NOWAIT));
}

/* The number of open descriptors of this process. */
static int count_fds(void)
{
	long n = count_entries("/proc/self/fd");

	return n < 0 ? -1 : (int)n - 1;	/* opendir's own */
}

/*
 * rounds vfork() children, each of which closes every descriptor from lo
 * on, then, if it sends, sends a message to the System V queue id (which
 * holds one), and exits; after each, the parent receives what the queue
 * holds and sends one again.  At the end the parent has the descriptors it
 * had.
 */
static void vfork_closers(struct __test_metadata *_metadata, int lo, int sends, int rounds)
{
	struct { long mtype; char mtext[4]; } m = { 1, "x" };
	int id = SYS(msgget(IPC_PRIVATE, 0600)), before, st;
	pid_t pid;

	SYS(msgsnd(id, &m, 1, 0));
	before = count_fds();
	ASSERT_LT(0, before);
	for (int i = 0; i < rounds; i++) {
		pid = vfork();
		if (pid == 0) {
			closefrom(lo);
			_exit(sends && msgsnd(id, &m, 1, IPC_NOWAIT) ? 2 : 0);
		}
		ASSERT_LT(0, pid);
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("child status %#x", st);
		for (int k = 0; k <= sends; k++) {
			memset(&m, 0, sizeof(m));
			ASSERT_EQ(1, msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT));
			ASSERT_EQ('x', m.mtext[0]);
		}
		SYS(msgsnd(id, &m, 1, 0));
	}
	ASSERT_EQ(before, count_fds());
	SYS(msgctl(id, IPC_RMID, NULL));
}

/*
 * A vfork() child that closes every descriptor before it exits closes its
 * own: the parent's System V calls go on with nothing reopened (the
 * drop-in forgot its device descriptor for the parent too, and opened a
 * new one per child: a leak).
 */
TEST(a_vfork_child_closing_descriptors_leaves_the_parent_alone)
{
	vfork_closers(_metadata, 0, 0, 5);
}

/*
 * A vfork() child that closes the descriptors it has and then makes a
 * queue call makes it on a descriptor of its own: the parent keeps its
 * device descriptor (before, the child's call forgot the parent's, in the
 * memory they share, and the parent opened the device again with the old
 * descriptor still open: one more a child).
 */
TEST(a_vfork_childs_call_after_closefrom_leaves_the_parent_its_descriptor)
{
	vfork_closers(_metadata, 3, 1, 3);
}

/*
 * A vfork() child that opens files the drop-in serves (a limits file,
 * /proc/sys/kernel/msg_next_id) before it would exec leaves the parent
 * alone: the parent's first queue call finds the device (the child's
 * descriptor of it was published as the library's, a number the parent
 * does not have: EBADF), and a file of the parent's own at the number of
 * the child's msg_next_id is the parent's (its writes went to the
 * library's msg_next_id and emptied the file).
 */
TEST(a_vfork_child_opening_served_files_leaves_the_parent_alone)
{
	struct { long mtype; char mtext[4]; } m = { 1, "x" };
	char path[64], buf[4] = { 0 };
	int id, st, fd;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root (msg_next_id)");
	pid = vfork();
	if (pid == 0) {
		int lim = open("/proc/sys/fs/mqueue/msg_max", O_RDONLY);
		int next = open("/proc/sys/kernel/msg_next_id", O_WRONLY);

		_exit(lim < 0 ? 2 : next < 0 ? 3 : 0);
	}
	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("child status %#x", st);
	id = msgget(IPC_PRIVATE, 0600);
	ASSERT_LE(0, id) TH_LOG("msgget: %s", strerrorname_np(errno));
	SYS(msgsnd(id, &m, 1, 0));
	memset(&m, 0, sizeof(m));
	ASSERT_EQ(1, msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT));
	ASSERT_EQ('x', m.mtext[0]);
	SYS(msgctl(id, IPC_RMID, NULL));
	snprintf(path, sizeof(path), "/tmp/ripc_vfork_open_%d", getpid());
	fd = SYS(open(path, O_RDWR | O_CREAT | O_EXCL, 0600));
	SYS(unlink(path));
	ASSERT_EQ(3, write(fd, "abc", 3));
	ASSERT_EQ(3, pread(fd, buf, 3, 0));
	ASSERT_EQ(0, memcmp(buf, "abc", 3));
	SYS(close(fd));
}

/*
 * A child of a raw fork (no atfork handler runs in it, so the drop-in
 * cannot tell it from a vfork() child) opens the device once, not once a
 * call: its queue calls leave its descriptors as they were.
 */
TEST(a_raw_fork_childs_queue_calls_keep_its_descriptors)
{
	pid_t pid = (pid_t)syscall(SYS_fork);
	int st;

	if (pid == 0) {
		int before, id;

		id = msgget(IPC_PRIVATE, 0600);
		if (id < 0 || msgctl(id, IPC_RMID, NULL))
			_exit(2);
		before = count_fds();
		for (int i = 0; i < 20; i++) {
			id = msgget(IPC_PRIVATE, 0600);
			if (id < 0 || msgctl(id, IPC_RMID, NULL))
				_exit(3);
		}
		_exit(count_fds() == before ? 0 : 4);
	}
	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("child status %#x", st);
}

/*
 * A raw fork child's first queue call takes no low number (natively none
 * is taken): the drop-in's descriptor of the device goes high there too,
 * so the child's next open() still gets the lowest free number.
 */
TEST(a_raw_fork_childs_device_descriptor_takes_no_low_number)
{
	pid_t pid = (pid_t)syscall(SYS_fork);
	int st;

	if (pid == 0) {
		int low = dup(2), id;

		if (low < 0 || close(low))
			_exit(2);
		id = msgget(IPC_PRIVATE, 0600);
		if (id < 0 || msgctl(id, IPC_RMID, NULL))
			_exit(3);
		_exit(open("/dev/null", O_RDONLY) == low ? 0 : 4);
	}
	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) TH_LOG("child status %#x", st);
}

/* How a child that calls call dies: its signal, or 0 if it returned. */
#define CHILD_SIGNAL(call) ({ \
	pid_t __p = fork(); \
	int __st = 0; \
	if (__p == 0) { \
		(void)(call); \
		_exit(0); \
	} \
	__p > 0 && waitpid(__p, &__st, 0) == __p && WIFSIGNALED(__st) ? WTERMSIG(__st) : 0; \
})

/*
 * mq_open() and mq_unlink() of a NULL name: glibc reads the name's first
 * byte, and the program gets SIGSEGV (the drop-in's libripc once returned
 * EFAULT).
 */
TEST(a_null_name_is_the_programs_sigsegv)
{
	const char *volatile none = NULL;	/* glibc declares the name nonnull */

	ASSERT_EQ(SIGSEGV, CHILD_SIGNAL(mq_open(none, O_RDONLY)));
	ASSERT_EQ(SIGSEGV, CHILD_SIGNAL(mq_open(none, O_RDWR | O_CREAT, 0600, NULL)));
	ASSERT_EQ(SIGSEGV, CHILD_SIGNAL(mq_unlink(none)));
}

/*
 * fchownat(AT_EMPTY_PATH) with a path that is not readable memory is the
 * kernel's EFAULT, on a queue's descriptor and on any other.
 */
TEST(fchownat_of_a_bad_path_is_efault)
{
	char name[64];
	mqd_t q = fresh_queue("fchownat", name);
	int nul = SYS(open("/dev/null", O_RDONLY));

	ASSERT_LE(0, q) TH_LOG("mq_open: %s", strerrorname_np(errno));
	ASSERT_ERRNO(EFAULT, fchownat(q, (const char *)1, -1, -1, AT_EMPTY_PATH));
	ASSERT_ERRNO(EFAULT, fchownat(nul, (const char *)1, -1, -1, AT_EMPTY_PATH));
	SYS(close(nul));
	SYS(mq_close(q));
	SYS(mq_unlink(name));
}

static volatile int nc_steps;

/* With a cancellation pending: mq_open, mq_close, msgget, msgctl, then the test point. */
static void *no_cancellation_points(void *name)
{
	mqd_t q2;
	int id;

	pthread_cancel(pthread_self());
	q2 = mq_open(name, O_RDWR);
	nc_steps += q2 >= 0;
	nc_steps += mq_close(q2) == 0;
	id = msgget(IPC_PRIVATE, 0600);
	nc_steps += id >= 0;
	nc_steps += msgctl(id, IPC_RMID, NULL) == 0;
	pthread_testcancel();
	nc_steps = -1;
	return NULL;
}

/* mq_open, mq_close, msgget and msgctl are not cancellation points (glibc). */
TEST(mq_open_mq_close_msgget_msgctl_are_not_cancellation_points)
{
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 16 };
	char name[64];
	pthread_t t;
	void *ret;
	mqd_t q;

	snprintf(name, sizeof(name), "/ripc_nocancel_%d", getpid());
	q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
	if (q < 0 && (errno == ENOSYS || errno == ENOENT))
		SKIP(return, "no message queues: %s", strerrorname_np(errno));
	ASSERT_LE(0, q);
	ASSERT_EQ(0, pthread_create(&t, NULL, no_cancellation_points, name));
	ASSERT_EQ(0, pthread_join(t, &ret));
	ASSERT_EQ(PTHREAD_CANCELED, ret);
	ASSERT_EQ(4, nc_steps);
	mq_close(q);
	mq_unlink(name);
}

static void *attr_calls_after_self_cancel(void *arg)
{
	int fd = *(int *)arg;
	struct sigevent none = { .sigev_notify = SIGEV_NONE };
	struct mq_attr a = { 0 };

	pthread_cancel(pthread_self());
	nc_steps += mq_getattr(fd, &a) == -1 && errno == EBADF;
	nc_steps += mq_setattr(fd, &a, NULL) == -1 && errno == EBADF;
	nc_steps += mq_notify(fd, &none) == -1 && errno == EBADF;
	pthread_testcancel();
	nc_steps = -1;
	return NULL;
}

/*
 * mq_getattr, mq_setattr and mq_notify are not cancellation points
 * (glibc), also when they are a process's first queue calls, on a file
 * that is not a queue (the drop-in then opened its device descriptor with
 * a cancellable open()).
 */
TEST(mq_getattr_mq_setattr_mq_notify_are_not_cancellation_points)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pthread_t t;
	void *ret;

	ASSERT_LE(0, fd);
	nc_steps = 0;
	ASSERT_EQ(0, pthread_create(&t, NULL, attr_calls_after_self_cancel, &fd));
	ASSERT_EQ(0, pthread_join(t, &ret));
	ASSERT_EQ(PTHREAD_CANCELED, ret);
	ASSERT_EQ(3, nc_steps);
	close(fd);
}

/*
 * A descriptor of /proc/sys/kernel/msg_next_id closed or replaced leaves
 * nothing behind: a file that gets its number is written as a file.
 */
TEST(a_closed_msg_next_id_descriptors_number_writes_the_file_that_reuses_it)
{
	char path[] = "/tmp/ripc_next_id_XXXXXX", buf[8] = { 0 };
	int fd, f;

	REQUIRE_ROOT();
	fd = open("/proc/sys/kernel/msg_next_id", O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, close_range(fd, fd, 0));
	f = mkstemp(path);
	ASSERT_EQ(fd, f);
	ASSERT_EQ(0, unlink(path));
	ASSERT_EQ(4, write(f, "1234", 4));
	ASSERT_EQ(4, pread(f, buf, sizeof(buf), 0));
	ASSERT_EQ(0, memcmp(buf, "1234", 4));
	/* Replaced by dup2: the same. */
	fd = open("/proc/sys/kernel/msg_next_id", O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(fd, dup2(f, fd));
	ASSERT_EQ(4, write(fd, "5678", 4));
	ASSERT_EQ(8, pread(f, buf, sizeof(buf), 0));
	ASSERT_EQ(0, memcmp(buf, "12345678", 8));
	close(fd);
	close(f);
}

/*
 * write() to /proc/sys/kernel/msg_next_id as proc_dointvec takes it: a NUL
 * or '\r' after the number is EINVAL (the offset stays), the number and
 * the spaces after it are taken and the rest is not (a shorter count), a
 * write past offset 0 is ignored (its whole count), and one that succeeds
 * leaves errno alone.
 */
TEST(msg_next_id_writes_as_proc_dointvec)
{
	int fd, id;

	REQUIRE_ROOT();
	fd = open("/proc/sys/kernel/msg_next_id", O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_ERRNO(EINVAL, write(fd, "5\r", 2));
	ASSERT_ERRNO(EINVAL, write(fd, "5", 2));	/* with its NUL */
	errno = EXDEV;
	ASSERT_EQ(3, write(fd, "7  8", 4));
	ASSERT_EQ(EXDEV, errno);
	ASSERT_EQ(1, write(fd, "9", 1));
	close(fd);
	/* 7 was set (not 5, 8 or 9): the next queue's id. */
	id = SYS(msgget(IPC_PRIVATE, 0600));
	SYS(msgctl(id, IPC_RMID, NULL));
	ASSERT_EQ(7, id);
}

/*
 * A limits file read through stdio has a descriptor, as natively: its
 * value can be read() from fileno() (C++'s ifstream reads so), and the
 * program's next descriptor does not get its number.
 */
TEST(a_limits_file_stream_has_a_descriptor)
{
	FILE *f = fopen("/proc/sys/kernel/msgmax", "r");
	char a[32] = { 0 }, b[32] = { 0 };
	int fd, next;

	ASSERT_NE(NULL, f);
	fd = fileno(f);
	ASSERT_LE(0, fd);
	ASSERT_LT(1, pread(fd, a, sizeof(a) - 1, 0));
	ASSERT_LT(0, atoi(a));
	ASSERT_EQ('\n', a[strlen(a) - 1]);
	ASSERT_NE(NULL, fgets(b, sizeof(b), f));
	ASSERT_STREQ(a, b);
	next = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, next);
	ASSERT_NE(fd, next);
	close(next);
	ASSERT_EQ(0, fclose(f));
}

/*
 * An open of a limits file fails as its flags make it fail natively, and
 * an O_PATH descriptor reads nothing.
 */
TEST(a_limits_file_open_fails_as_its_flags_make_it)
{
	const char *path = "/proc/sys/kernel/msgmax";
	char c;
	int fd;

	ASSERT_ERRNO(ENOTDIR, open(path, O_RDONLY | O_DIRECTORY));
	ASSERT_ERRNO(EEXIST, open(path, O_RDONLY | O_CREAT | O_EXCL, 0644));
	ASSERT_ERRNO(ENOTDIR, openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY));
	errno = 0;
	ASSERT_EQ(NULL, fopen(path, "wx"));
	ASSERT_EQ(EEXIST, errno);
	fd = open(path, O_PATH | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_ERRNO(EBADF, read(fd, &c, 1));
	close(fd);
}

/*
 * A write() to /proc/sys/kernel/msg_next_id from a buffer that cannot be
 * read fails with EFAULT, as natively (the drop-in read it and crashed),
 * at any offset: /proc reads the bytes before it looks at the offset.
 */
TEST(msg_next_id_write_of_an_unreadable_buffer_is_efault)
{
	char *bad = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd;

	REQUIRE_ROOT();
	ASSERT_NE(MAP_FAILED, bad);
	fd = open("/proc/sys/kernel/msg_next_id", O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_ERRNO(EFAULT, write(fd, bad, 4));
	ASSERT_EQ(1, lseek(fd, 1, SEEK_SET));
	ASSERT_ERRNO(EFAULT, write(fd, bad, 4));
	close(fd);
	ASSERT_EQ(0, munmap(bad, PAGE));
}

/*
 * /proc/sysvipc/msg shows the queues msgget() made, as they are (ipcs -q
 * reads it): through fopen() and open(), the header, then a line for the
 * queue with its key, mode, bytes, count, last sender and owner; a removed
 * queue's line is gone.
 */
static int sysvipc_msg_line(FILE *f, int id, long v[14])
{
	static const char header[] = "       key      msqid perms      cbytes       qnum lspid "
				     "lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n";
	char line[256];
	int found = 0;

	if (!fgets(line, sizeof(line), f) || strcmp(line, header))
		return -1;
	while (fgets(line, sizeof(line), f)) {
		long w[14];
		int n = sscanf(line, "%ld %ld %lo %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld", &w[0],
			       &w[1], &w[2], &w[3], &w[4], &w[5], &w[6], &w[7], &w[8], &w[9],
			       &w[10], &w[11], &w[12], &w[13]);

		if (n != 14 || line[strlen(line) - 1] != '\n')
			return -1;
		if (w[1] == id) {
			memcpy(v, w, sizeof(w));
			found++;
		}
	}
	return found;
}

TEST(sysvipc_msg_shows_the_queues_msgget_made)
{
	struct msgbuf_5 { long mtype; char text[5]; } m = { 3, "hello" };
	int id = SYS(msgget(IPC_PRIVATE, 0640));
	time_t before = time(NULL);
	long v[14];
	FILE *f;
	int fd;

	SYS(msgsnd(id, &m, 5, 0));
	f = fopen("/proc/sysvipc/msg", "re");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, sysvipc_msg_line(f, id, v));
	ASSERT_EQ(0, fclose(f));
	ASSERT_EQ(0, v[0]);		/* key: IPC_PRIVATE */
	ASSERT_EQ(0640, v[2]);
	ASSERT_EQ(5, v[3]);		/* cbytes */
	ASSERT_EQ(1, v[4]);		/* qnum */
	ASSERT_EQ(getpid(), v[5]);	/* lspid */
	ASSERT_EQ(0, v[6]);		/* lrpid */
	ASSERT_EQ((long)geteuid(), v[7]);
	ASSERT_EQ((long)getegid(), v[8]);
	ASSERT_EQ((long)geteuid(), v[9]);
	ASSERT_EQ((long)getegid(), v[10]);
	ASSERT_LE(before - 1, v[11]);	/* stime */
	ASSERT_EQ(0, v[12]);		/* rtime */
	ASSERT_LE(before - 1, v[13]);	/* ctime */
	fd = open("/proc/sysvipc/msg", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	f = fdopen(fd, "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, sysvipc_msg_line(f, id, v));
	ASSERT_EQ(5, v[3]);
	ASSERT_EQ(0, fclose(f));
	SYS(msgctl(id, IPC_RMID, NULL));
	f = fopen("/proc/sysvipc/msg", "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(0, sysvipc_msg_line(f, id, v));
	ASSERT_EQ(0, fclose(f));
}

/*
 * A limits file or /proc/sysvipc/msg opened for reading is read-only, as
 * the native file is: a write() is EBADF, F_GETFL says O_RDONLY (and
 * O_CLOEXEC is kept), and the text reads.
 */
TEST(a_limits_file_opened_for_reading_refuses_writes)
{
	static const char *const paths[] = { "/proc/sys/kernel/msgmax",
					     "/proc/sys/fs/mqueue/msg_max", "/proc/sysvipc/msg" };

	for (unsigned int i = 0; i < ARRAY_SIZE(paths); i++) {
		int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
		char b[8] = { 0 };

		ASSERT_LE(0, fd) TH_LOG("%s", paths[i]);
		ASSERT_ERRNO(EBADF, write(fd, "5", 1));
		ASSERT_EQ(O_RDONLY, fcntl(fd, F_GETFL) & O_ACCMODE);
		ASSERT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD));
		ASSERT_LT(0, read(fd, b, sizeof(b) - 1));
		ASSERT_NE(0, b[0]);
		close(fd);
	}
}

/*
 * A stream of a limits file or of /proc/sysvipc/msg opened for reading has
 * a close-on-exec descriptor exactly when its mode says "e", as fopen()
 * makes a native one.
 */
TEST(a_served_files_stream_is_close_on_exec_as_its_mode_says)
{
	static const char *const paths[] = { "/proc/sys/kernel/msgmax",
					     "/proc/sys/fs/mqueue/msg_max", "/proc/sysvipc/msg" };
	static const char *const modes[] = { "r", "re" };

	for (unsigned int i = 0; i < ARRAY_SIZE(paths); i++) {
		for (unsigned int m = 0; m < ARRAY_SIZE(modes); m++) {
			FILE *f = fopen(paths[i], modes[m]);
			int fl;

			ASSERT_NE(NULL, f) TH_LOG("%s", paths[i]);
			fl = fcntl(fileno(f), F_GETFD);
			ASSERT_EQ(m ? FD_CLOEXEC : 0, fl) TH_LOG("%s, \"%s\"", paths[i], modes[m]);
			ASSERT_EQ(0, fclose(f));
		}
	}
}

/*
 * msg_next_id opened for writing by a caller that may, then written after
 * it lost the capability: EPERM (/proc checks again at each write, before
 * it reads or parses the bytes, at any offset), where the open would have
 * failed with EACCES.
 */
TEST(msg_next_id_write_after_the_capability_is_dropped_is_eperm)
{
	char *bad = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pid_t pid;
	int fd;

	REQUIRE_ROOT();
	ASSERT_NE(MAP_FAILED, bad);
	fd = open("/proc/sys/kernel/msg_next_id", O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		CHILD_CHECK(caps_in_effect(-1, 0) == 0);
		CHILD_CHECK(write(fd, "100", 3) == -1 && errno == EPERM);
		CHILD_CHECK(write(fd, "x\n", 2) == -1 && errno == EPERM);
		CHILD_CHECK(write(fd, bad, 3) == -1 && errno == EPERM);
		CHILD_CHECK(lseek(fd, 1, SEEK_SET) == 1);
		CHILD_CHECK(write(fd, "100", 3) == -1 && errno == EPERM);
		CHILD_CHECK(open("/proc/sys/kernel/msg_next_id", O_WRONLY) == -1 &&
			    errno == EACCES);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	close(fd);
}

/*
 * Without /proc (a mount namespace that has none), a limits file cannot be
 * opened: ENOENT, as natively.
 */
/*
 * Where the kernel has no such sysctl (here its directory hidden under an
 * empty tmpfs) native's open() and fopen() are ENOENT; the drop-in serves
 * the file, and an open that so succeeds leaves errno as it was (it left
 * the native open's ENOENT).
 */
TEST(a_limits_file_served_without_its_sysctl_leaves_errno_alone)
{
	const char *pre = getenv("LD_PRELOAD");
	int dropin = pre && strstr(pre, "libripc_preload"), fd;
	FILE *f;

	REQUIRE_ROOT();
	SYS(unshare(CLONE_NEWNS));
	SYS(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	SYS(mount("none", "/proc/sys/fs/mqueue", "tmpfs", 0, NULL));
	errno = EXDEV;
	fd = open("/proc/sys/fs/mqueue/msg_max", O_RDONLY | O_CLOEXEC);
	if (dropin) {
		ASSERT_LE(0, fd) TH_LOG("open: %s", strerrorname_np(errno));
		ASSERT_EQ(EXDEV, errno);
		close(fd);
	} else {
		ASSERT_EQ(-1, fd);
		ASSERT_EQ(ENOENT, errno);
	}
	errno = EXDEV;
	f = fopen("/proc/sys/fs/mqueue/msgsize_max", "r");
	if (dropin) {
		ASSERT_NE(NULL, f) TH_LOG("fopen: %s", strerrorname_np(errno));
		ASSERT_EQ(EXDEV, errno);
		fclose(f);
	} else {
		ASSERT_EQ(NULL, f);
		ASSERT_EQ(ENOENT, errno);
	}
}

TEST(a_limits_file_without_proc_is_enoent)
{
	REQUIRE_ROOT();
	SYS(unshare(CLONE_NEWNS));
	SYS(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
	SYS(umount2("/proc", MNT_DETACH));
	ASSERT_ERRNO(ENOENT, open("/proc/sys/kernel/msgmax", O_RDONLY | O_CLOEXEC));
	ASSERT_ERRNO(ENOENT, open("/proc/sys/fs/mqueue/msg_max", O_RDONLY | O_CLOEXEC));
	errno = 0;
	ASSERT_EQ(NULL, fopen("/proc/sys/kernel/msgmnb", "r"));
	ASSERT_EQ(ENOENT, errno);
	errno = 0;
	ASSERT_EQ(NULL, fopen("/proc/sys/kernel/msgmnb", "w"));
	ASSERT_EQ(ENOENT, errno);
	ASSERT_ERRNO(ENOENT, open("/proc/sysvipc/msg", O_RDONLY | O_CLOEXEC));
}

/* glibc's _FORTIFY_SOURCE mq_open (mqueue.h declares it only with fortify). */
mqd_t __mq_open_2(const char *name, int oflag);

/*
 * __mq_open_2(), which a program built with _FORTIFY_SOURCE calls for a
 * two-argument mq_open(), opens a queue without O_CREAT, and with O_CREAT
 * (no mode, no attributes to read) ends the program with glibc's
 * fortify failure: SIGABRT.
 */
TEST(fortify_mq_open_with_o_creat_aborts)
{
	char name[64];
	mqd_t q = fresh_queue("fortify", name), q2;

	ASSERT_LE(0, q) TH_LOG("mq_open: %s", strerrorname_np(errno));
	q2 = SYS(__mq_open_2(name, O_RDWR));
	SYS(mq_send(q2, "f", 1, 3));
	ASSERT_MQ_RECV(q, "f", 3);
	SYS(mq_close(q2));
	ASSERT_EQ(SIGABRT, CHILD_SIGNAL(__mq_open_2(name, O_RDWR | O_CREAT)));
	SYS(mq_close(q));
	SYS(mq_unlink(name));
}

/* The descriptors open now without FD_CLOEXEC, a bit each below 1024. */
static void inheritable_fds(unsigned char map[128])
{
	memset(map, 0, 128);
	for (int fd = 0; fd < 1024; fd++) {
		int fl = fcntl(fd, F_GETFD);

		if (fl >= 0 && !(fl & FD_CLOEXEC))
			map[fd / 8] |= 1 << (fd % 8);
	}
}

/*
 * Queue descriptors are close-on-exec (native mq_open gives O_CLOEXEC
 * whatever oflag says), and the calls open no descriptor that an exec
 * would keep: no queue, System V or SIGEV_THREAD call (glibc's netlink
 * socket is SOCK_CLOEXEC) leaves the next program a descriptor.
 */
TEST(queue_calls_leave_no_descriptor_across_an_exec)
{
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD };
	unsigned char before[128], after[128];
	char name[64];
	int id, fd;
	mqd_t q;

	sev.sigev_notify_function = notified;
	inheritable_fds(before);
	q = fresh_queue("cloexec", name);
	ASSERT_LE(0, q) TH_LOG("mq_open: %s", strerrorname_np(errno));
	ASSERT_EQ(FD_CLOEXEC, fcntl(q, F_GETFD) & FD_CLOEXEC);
	id = SYS(msgget(IPC_PRIVATE, 0600));
	SYS(mq_notify(q, &sev));
	SYS(mq_unlink(name));
	inheritable_fds(after);
	for (fd = 0; fd < 1024; fd++) {
		ASSERT_EQ(before[fd / 8] >> (fd % 8) & 1, after[fd / 8] >> (fd % 8) & 1)
			TH_LOG("descriptor %d: exec would keep it", fd);
	}
	SYS(mq_notify(q, NULL));
	SYS(msgctl(id, IPC_RMID, NULL));
	SYS(mq_close(q));
}

/*
 * Under a small RLIMIT_NOFILE (here 16) too, the queue calls' own
 * descriptors (the library's device descriptor goes to the limit's last
 * number) leave the lowest free number to the program.
 */
TEST(new_descriptors_are_the_lowest_free_under_a_small_descriptor_limit)
{
	struct rlimit rl, small;
	int lo, fd, id;

	SYS(getrlimit(RLIMIT_NOFILE, &rl));
	small = rl;
	small.rlim_cur = 16;
	lo = SYS(open("/dev/null", O_RDONLY));
	ASSERT_GT(12, lo);
	SYS(close(lo));
	SYS(setrlimit(RLIMIT_NOFILE, &small));
	id = SYS(msgget(IPC_PRIVATE, 0600));
	fd = SYS(open("/dev/null", O_RDONLY));
	ASSERT_EQ(lo, fd);
	SYS(close(fd));
	SYS(msgctl(id, IPC_RMID, NULL));
	SYS(setrlimit(RLIMIT_NOFILE, &rl));
}

/*
 * Under a raised RLIMIT_NOFILE (4096) the library's own descriptors go to
 * the limit's upper half (2048 and up): the numbers from 512 up stay the
 * program's, as natively (at the usual limit of 1024 the library's first
 * descriptor is 512 itself: ripc_dup_high()).
 */
TEST(a_raised_descriptor_limit_leaves_512_to_the_program)
{
	struct rlimit rl, big;
	int id, fd, hi;

	SYS(getrlimit(RLIMIT_NOFILE, &rl));
	big = rl;
	big.rlim_cur = 4096;
	if (big.rlim_max < big.rlim_cur)
		big.rlim_max = big.rlim_cur;
	if (setrlimit(RLIMIT_NOFILE, &big))
		SKIP(return, "RLIMIT_NOFILE cannot be raised to 4096: %s", strerrorname_np(errno));
	fd = SYS(open("/dev/null", O_RDONLY | O_CLOEXEC));
	id = SYS(msgget(IPC_PRIVATE, 0600));
	hi = fcntl(fd, F_DUPFD_CLOEXEC, 512);
	ASSERT_EQ(512, hi) TH_LOG("F_DUPFD_CLOEXEC from 512 gave %d", hi);
	SYS(close(hi));
	SYS(close(fd));
	SYS(msgctl(id, IPC_RMID, NULL));
	SYS(setrlimit(RLIMIT_NOFILE, &rl));
}

/*
 * Under a small RLIMIT_NOFILE (16) the library's device descriptor takes
 * the limit's last number and no other: the program's opens take the
 * numbers that were free in turn, from the lowest, up to the one below it
 * (natively, up to the last).
 */
TEST(the_library_takes_only_the_last_number_under_a_small_descriptor_limit)
{
	int freefd[16], got[16], nfree = 0, ngot = 0, id, fd, i;
	struct rlimit rl, small;

	SYS(getrlimit(RLIMIT_NOFILE, &rl));
	small = rl;
	small.rlim_cur = 16;
	SYS(setrlimit(RLIMIT_NOFILE, &small));
	for (fd = 0; fd < 16; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			freefd[nfree++] = fd;
	ASSERT_LT(4, nfree);
	id = SYS(msgget(IPC_PRIVATE, 0600));
	while (ngot < 16 && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		got[ngot++] = fd;
	ASSERT_EQ(EMFILE, errno);
	ASSERT_LE(nfree - 1, ngot);
	for (i = 0; i < ngot; i++) {
		ASSERT_EQ(freefd[i], got[i]) TH_LOG("open %d of %d", i + 1, ngot);
	}
	for (i = 0; i < ngot; i++)
		SYS(close(got[i]));
	SYS(msgctl(id, IPC_RMID, NULL));
	SYS(setrlimit(RLIMIT_NOFILE, &rl));
}

/*
 * The first queue call of a process, which opens the library's device
 * descriptor, leaves errno as it was when it succeeds, also when that
 * descriptor cannot be moved high (the limit's last number is taken): it
 * stays where it was opened, and the failed move's EMFILE is not the
 * program's.
 */
TEST(a_first_queue_call_leaves_errno_alone_when_no_high_number_is_free)
{
	struct rlimit rl, small;
	int id, fd;

	SYS(getrlimit(RLIMIT_NOFILE, &rl));
	small = rl;
	small.rlim_cur = 16;
	SYS(setrlimit(RLIMIT_NOFILE, &small));
	fd = SYS(open("/dev/null", O_RDONLY | O_CLOEXEC));
	ASSERT_EQ(15, dup2(fd, 15));
	SYS(close(fd));
	errno = 4321;
	id = msgget(IPC_PRIVATE, 0600);
	ASSERT_LE(0, id) TH_LOG("msgget: %s", strerrorname_np(errno));
	ASSERT_EQ(4321, errno) TH_LOG("msgget: %s", strerrorname_np(errno));
	SYS(msgctl(id, IPC_RMID, NULL));
	SYS(close(15));
	SYS(setrlimit(RLIMIT_NOFILE, &rl));
}

/*
 * mq_open() and mq_unlink() of a name without its leading '/' are glibc's
 * EINVAL before any descriptor is needed: also with every descriptor
 * taken (not EMFILE).
 */
TEST(a_name_without_a_slash_is_einval_with_no_descriptor_free)
{
	struct rlimit rl, small;
	int fd, fds[32], n = 0;

	SYS(getrlimit(RLIMIT_NOFILE, &rl));
	small = rl;
	small.rlim_cur = 24;
	SYS(setrlimit(RLIMIT_NOFILE, &small));
	while (n < 32 && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
		fds[n++] = fd;
	ASSERT_EQ(EMFILE, errno);
	ASSERT_ERRNO(EINVAL, mq_open("ripc_noslash", O_RDONLY));
	ASSERT_ERRNO(EINVAL, mq_open("ripc_noslash", O_RDWR | O_CREAT, 0600, NULL));
	ASSERT_ERRNO(EINVAL, mq_unlink("ripc_noslash"));
	while (n)
		SYS(close(fds[--n]));
	SYS(setrlimit(RLIMIT_NOFILE, &rl));
}

/*
 * fchmod(), fchown() and fchownat(AT_EMPTY_PATH) of a file that is not a
 * queue which succeed leave errno as it was, as any successful call of
 * glibc's.
 */
TEST(fchmod_and_fchown_of_a_file_leave_errno_alone)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/ripc_fchmod_errno_%d", getpid());
	fd = SYS(open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
	SYS(unlink(path));
	errno = 0;
	ASSERT_EQ(0, fchmod(fd, 0640));
	ASSERT_EQ(0, errno) TH_LOG("fchmod: %s", strerrorname_np(errno));
	ASSERT_EQ(0, fchown(fd, -1, -1));
	ASSERT_EQ(0, errno) TH_LOG("fchown: %s", strerrorname_np(errno));
	ASSERT_EQ(0, fchownat(fd, "", -1, -1, AT_EMPTY_PATH));
	ASSERT_EQ(0, errno) TH_LOG("fchownat: %s", strerrorname_np(errno));
	SYS(close(fd));
}

TEST_HARNESS_MAIN
