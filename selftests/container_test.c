// SPDX-License-Identifier: GPL-2.0
/*
 * Containers (issue 12, "native-exact in containers"): user, pid, IPC and
 * mount namespaces together, as container runtimes make them, and each of
 * them alone where that is what a rule is about.  Every test runs on the
 * native queues and on rust_ipc in the same boot and expects the same
 * values: the native run proves the expectation.
 *
 * The container is started the way a runtime does it for an unprivileged
 * user: a child of the (root) test becomes uid/gid UNPRIV, unshares the
 * namespaces, and the root parent writes its maps (as newuidmap would):
 * ids 0..65535 of the container are BASE..BASE+65535 outside.  The child
 * then becomes uid/gid 0 in there, with every capability over its user
 * namespace and none outside, and with a new pid namespace forks the
 * container's init (pid 1), which runs the test's container side.
 *
 * What is checked:
 * - container root (uid 0 in the user namespace that owns the IPC
 *   namespace) owns what it makes and has CAP_IPC_OWNER, CAP_SYS_ADMIN,
 *   CAP_DAC_OVERRIDE and CAP_FOWNER over the queues of its other uids;
 *   those other uids have none;
 * - nothing of the host's queues is visible in a new IPC namespace, and
 *   root of a user namespace that keeps the host's IPC namespace has no
 *   capability over the host's queues;
 * - pids (msg_lspid, msg_lrpid, NOTIFY_PID, si_pid) are given as the pid
 *   namespace of the one who looks sees them (0 when it cannot see them);
 * - uids and gids (msg_perm, si_uid) are given as the user namespace of
 *   the one who looks sees them (65534 when unmapped), and IPC_SET takes
 *   only mapped ids (EINVAL);
 * - a notification descriptor's record (rust_ipc) gives the sender's pid
 *   and uid as native's si_pid and si_uid, and as its reader sees them.
 */
#include "ripc_backends.h"

#include <poll.h>
#include <pthread.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <sched.h>

#define BASE 100000		/* the host id of the container's id 0 */
#define RANGE 65536		/* ids mapped */
#define UNPRIV 1000		/* the user who starts the container */
#define FULL (CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNS)

/* ---- checks in children (they never use ASSERT_*) ------------------- */

#define C_EQ(want, got) do { \
	long long __w = (long long)(want), __g = (long long)(got); \
	int __e = errno; \
	if (__w != __g) { \
		fprintf(stderr, "# %s:%d: child %d: %s is %lld, expected %lld (errno %s)\n", \
			__FILE__, __LINE__, getpid(), #got, __g, __w, \
			strerrorname_np(__e) ?: "0"); \
		_exit(1); \
	} \
} while (0)

/* The call must succeed: gives its value. */
#define C_OK(call) ({ \
	long __r = (long)(call); \
	int __e = errno; \
	if (__r == -1) { \
		fprintf(stderr, "# %s:%d: child %d: %s failed: %s\n", __FILE__, __LINE__, \
			getpid(), #call, strerrorname_np(__e)); \
		_exit(1); \
	} \
	__r; \
})

/* The call must fail with err. */
#define C_ERR(err, call) do { \
	long __r = (long)(call); \
	int __e = errno; \
	if (__r != -1 || __e != (err)) { \
		fprintf(stderr, "# %s:%d: child %d: %s returned %ld (%s), expected %s\n", \
			__FILE__, __LINE__, getpid(), #call, __r, \
			__r == -1 ? strerrorname_np(__e) : "no error", strerrorname_np(err)); \
		_exit(1); \
	} \
} while (0)

/* msg_perm of ds, in a child / in the test. */
#define C_PERM(ds, u, g, cu, cg, m) do { \
	C_EQ(u, (ds).msg_perm.uid); \
	C_EQ(g, (ds).msg_perm.gid); \
	C_EQ(cu, (ds).msg_perm.cuid); \
	C_EQ(cg, (ds).msg_perm.cgid); \
	C_EQ(m, (ds).msg_perm.mode); \
} while (0)

#define ASSERT_PERM(ds, u, g, cu, cg, m) do { \
	ASSERT_EQ((__typeof__((ds).msg_perm.uid))(u), (ds).msg_perm.uid); \
	ASSERT_EQ((__typeof__((ds).msg_perm.gid))(g), (ds).msg_perm.gid); \
	ASSERT_EQ((__typeof__((ds).msg_perm.cuid))(cu), (ds).msg_perm.cuid); \
	ASSERT_EQ((__typeof__((ds).msg_perm.cgid))(cg), (ds).msg_perm.cgid); \
	ASSERT_EQ((__typeof__((ds).msg_perm.mode))(m), (ds).msg_perm.mode); \
} while (0)

/*
 * The status line that read() gives on descriptor q, from its start.  Not
 * through a new descriptor: the owner of a notification that closes any
 * descriptor of the queue removes it (natively, mqueue_flush_file).
 */
static int status_line(mqd_t q, char *out, size_t n)
{
	ssize_t r;

	if (lseek(q, 0, SEEK_SET) != 0)
		return -1;
	r = read(q, out, n - 1);
	if (r < 0)
		return -1;
	out[r] = 0;
	return 0;
}

static void status_want(char *out, size_t n, unsigned long qsize, int signo, int pid)
{
	/* NOTIFY: is sigev_notify, SIGEV_SIGNAL (0) in every test here. */
	snprintf(out, n, "QSIZE:%-10lu NOTIFY:%-5d SIGNO:%-5d NOTIFY_PID:%-6d\n",
		 qsize, SIGEV_SIGNAL, signo, pid);
}

#define C_STATUS(q, qsize, signo, pid) do { \
	char __want[128], __got[128]; \
	status_want(__want, sizeof(__want), qsize, signo, pid); \
	C_OK(status_line(q, __got, sizeof(__got))); \
	if (strcmp(__want, __got)) { \
		fprintf(stderr, "# %s:%d: child %d: status line \"%.*s\", expected \"%.*s\"\n", \
			__FILE__, __LINE__, getpid(), (int)strlen(__got) - 1, __got, \
			(int)strlen(__want) - 1, __want); \
		_exit(1); \
	} \
} while (0)

#define ASSERT_STATUS(q, qsize, signo, pid) do { \
	char __want[128], __got[128]; \
	status_want(__want, sizeof(__want), qsize, signo, pid); \
	SYS(status_line(q, __got, sizeof(__got))); \
	ASSERT_STREQ(__want, __got); \
} while (0)

/* The notification signal signo, which must be pending: its siginfo into
 * si, which must give the sender as pid and uid. */
#define C_NOTIFICATION(signo, si, pid, uid) do { \
	C_EQ(signo, take_signal(signo, &(si), 2000)); \
	C_EQ(SI_MESGQ, (si).si_code); \
	C_EQ(pid, (si).si_pid); \
	C_EQ(uid, (si).si_uid); \
} while (0)

#define ASSERT_NOTIFICATION(signo, si, pid, uid) do { \
	ASSERT_EQ(signo, take_signal(signo, &(si), 2000)); \
	ASSERT_EQ(SI_MESGQ, (si).si_code); \
	ASSERT_EQ((pid_t)(pid), (si).si_pid); \
	ASSERT_EQ((uid_t)(uid), (si).si_uid); \
} while (0)

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	return close(fd) || !ok ? -1 : 0;
}

/* pid 1 of a pid namespace ignores a default SIGALRM: end by a handler. */
static void alarm_exit(int sig)
{
	_exit(128 + sig);
}

/* ---- the fixture -------------------------------------------------------- */

FIXTURE(container) {
	const struct mq_backend *mq;
	const struct msg_backend *sv;
	char name[64];
	key_t key;
	pid_t outer;		/* the test's child, which unshared */
	pid_t init;		/* the container's init, as the test sees it */
	int up[2];		/* container -> test */
	int down[2];		/* test -> container */
	char cg[128];		/* if set, the cgroup the container starts in */
};

FIXTURE_VARIANT(container) {
	const struct mq_backend *mq;
	const struct msg_backend *sv;
};

FIXTURE_VARIANT_ADD(container, native) { .mq = &native_mq_be, .sv = &native_msg_be };
FIXTURE_VARIANT_ADD(container, ripc) { .mq = &ripc_mq_be, .sv = &ripc_msg_be };

/* Whether a root child can make every namespace a container has. */
static int namespaces_work(void)
{
	pid_t pid = fork_child();

	if (pid == 0)
		_exit(unshare(FULL) ? 1 : 0);
	return wait_child(pid) == 0;
}

FIXTURE_SETUP(container)
{
	self->mq = variant->mq;
	self->sv = variant->sv;
	self->up[0] = self->up[1] = self->down[0] = self->down[1] = -1;
	snprintf(self->name, sizeof(self->name), "/ripc_ctr_%d", getpid());
	self->key = 0x43000000 | getpid();
	if (self->mq->probe() || self->sv->probe())
		SKIP(return, "%s message queues unavailable", self->mq->name);
	REQUIRE_ROOT();
	if (!access("/proc/sys/kernel/unprivileged_userns_clone", F_OK))
		sysctl_rw("/proc/sys/kernel/unprivileged_userns_clone", 1);
	if (!namespaces_work())
		SKIP(return, "no user, pid, IPC or mount namespaces");
	umask(0);
	/* A write to a container that ended early fails (EPIPE), not kills. */
	signal(SIGPIPE, SIG_IGN);
}

FIXTURE_TEARDOWN(container)
{
	int id;

	if (self->outer > 0) {
		kill(self->outer, SIGKILL);
		if (self->init > 0)
			kill(self->init, SIGKILL);
		waitpid(self->outer, NULL, 0);
	}
	for (int i = 0; i < 2; i++) {
		if (self->up[i] >= 0)
			close(self->up[i]);
		if (self->down[i] >= 0)
			close(self->down[i]);
	}
	self->mq->unlink(self->name);
	if ((id = self->sv->get(self->key, 0)) >= 0)
		self->sv->ctl(id, IPC_RMID, NULL);
	if (self->cg[0])
		for (int i = 0; i < 200 && rmdir(self->cg) && errno == EBUSY; i++)
			usleep(10000);
}

#define mq (self->mq)
#define sv (self->sv)

/* In a child: msgrcv (IPC_NOWAIT, any type) of id must give a message of
 * type want_type and text want_text (a string), and write nothing more. */
#define C_RCV(id, want_type, want_text) do { \
	struct mbuf __m; \
	size_t __l = strlen(want_text); \
	memset(&__m, POISON, sizeof(__m)); \
	C_EQ(__l, sv->rcv(id, &__m, sizeof(__m.mtext), 0, IPC_NOWAIT)); \
	C_EQ(want_type, __m.mtype); \
	C_EQ(0, memcmp(__m.mtext, want_text, __l)); \
	C_EQ(sizeof(__m.mtext), first_written(__m.mtext, __l, sizeof(__m.mtext))); \
} while (0)

/* mq receive of q must give want_text (a string) with priority want_prio,
 * and write nothing more; EQ checks each (C_EQ in a child, ASSERT_EQ in
 * the test). */
#define MQ_RECV_CHECKED(EQ, q, want_text, want_prio) do { \
	char __b[16]; \
	unsigned int __p = ~0u; \
	size_t __l = strlen(want_text); \
	memset(__b, POISON, sizeof(__b)); \
	EQ((ssize_t)__l, mq->receive(q, __b, sizeof(__b), &__p)); \
	EQ((unsigned int)(want_prio), __p); \
	EQ(0, memcmp(__b, want_text, __l)); \
	EQ(sizeof(__b), first_written(__b, __l, sizeof(__b))); \
} while (0)
#define C_RECV(q, want_text, want_prio) MQ_RECV_CHECKED(C_EQ, q, want_text, want_prio)
#define ASSERT_RECV(q, want_text, want_prio) MQ_RECV_CHECKED(ASSERT_EQ, q, want_text, want_prio)

/*
 * Starts a container with the namespaces of flags (CLONE_NEW*).  Like
 * fork(), returns twice: 0 in the container's process that runs the test's
 * container side (pid 1 with CLONE_NEWPID, else the unsharing child), which
 * ends with _exit(); in the test, that process's pid as the test sees it.
 *
 * With CLONE_NEWUSER the child becomes UNPRIV before it unshares, the test
 * writes its maps (0 BASE RANGE), and the child becomes 0 in there.
 *
 * If self->cg is set, the child first moves itself into that cgroup, exempt
 * from the OOM killer (oom_score_adj -1000, which its children inherit),
 * and gives itself 30 s instead of CHILD_TIMEOUT.
 */
static pid_t start_container(struct __test_metadata *_metadata,
			     FIXTURE_DATA(container) *self, int flags)
{
	int ready[2], go[2];
	pid_t outer, init;
	char c, path[64], map[64];

	SYS(pipe2(ready, O_CLOEXEC));
	SYS(pipe2(go, O_CLOEXEC));
	SYS(pipe2(self->up, O_CLOEXEC));
	SYS(pipe2(self->down, O_CLOEXEC));
	outer = fork_child();
	ASSERT_LE(0, outer);
	if (outer == 0) {
		close(ready[0]);
		close(go[1]);
		close(self->up[0]);
		close(self->down[1]);
		if (self->cg[0]) {
			alarm(30);
			CHILD_CHECK(write_file("/proc/self/oom_score_adj", "-1000") == 0);
			CHILD_CHECK(cg_write(self->cg, "cgroup.procs", "0") == 0);
		}
		if (flags & CLONE_NEWUSER)
			CHILD_CHECK(become_uid(UNPRIV) == 0);
		CHILD_CHECK(unshare(flags) == 0);
		CHILD_CHECK(write(ready[1], "u", 1) == 1);
		CHILD_CHECK(read(go[0], &c, 1) == 1);
		if (flags & CLONE_NEWUSER)
			CHILD_CHECK(become_uid(0) == 0);
		init = getpid();
		if (flags & CLONE_NEWPID) {
			init = fork_child();
			CHILD_CHECK(init >= 0);
			if (init > 0) {
				close(self->up[1]);
				close(self->down[0]);
				CHILD_CHECK(write(ready[1], &init, sizeof(init)) == sizeof(init));
				_exit(wait_child(init));
			}
			signal(SIGALRM, alarm_exit);
		} else {
			CHILD_CHECK(write(ready[1], &init, sizeof(init)) == sizeof(init));
		}
		close(ready[1]);
		close(go[0]);
		self->up[0] = self->down[1] = -1;
		return 0;
	}
	self->outer = outer;
	close(ready[1]);
	close(go[0]);
	close(self->up[1]);
	close(self->down[0]);
	self->up[1] = self->down[0] = -1;
	ASSERT_EQ(1, read(ready[0], &c, 1)) TH_LOG("the container did not start");
	if (flags & CLONE_NEWUSER) {
		snprintf(map, sizeof(map), "0 %d %d\n", BASE, RANGE);
		snprintf(path, sizeof(path), "/proc/%d/uid_map", outer);
		SYS(write_text(path, map));
		snprintf(path, sizeof(path), "/proc/%d/gid_map", outer);
		SYS(write_text(path, map));
	}
	ASSERT_EQ(1, write(go[1], "m", 1));
	ASSERT_EQ((ssize_t)sizeof(init), read(ready[0], &init, sizeof(init)));
	close(ready[0]);
	close(go[1]);
	self->init = init;
	return init;
}

/* Waits for the container; its exit code (its init's). */
static int end_container(FIXTURE_DATA(container) *self)
{
	int rc;

	close(self->down[1]);
	self->down[1] = -1;
	rc = wait_child(self->outer);
	self->outer = 0;
	close(self->up[0]);
	self->up[0] = -1;
	return rc;
}

/* In the container: tells the test c; waits for the test's c. */
#define C_TELL(c) CHILD_CHECK(write(self->up[1], (char[]){ c }, 1) == 1)
#define C_AWAIT(c) do { \
	char __c = 0; \
	CHILD_CHECK(read(self->down[0], &__c, 1) == 1 && __c == (c)); \
} while (0)

/* In the test: the same the other way. */
#define TELL(c) ASSERT_EQ(1, write(self->down[1], (char[]){ c }, 1))
#define AWAIT(c) do { \
	char __c = 0; \
	ASSERT_EQ(1, read(self->up[0], &__c, 1)) TH_LOG("the container ended early"); \
	ASSERT_EQ(c, __c); \
} while (0)

/* The attributes of every POSIX queue made here.  The test and its
 * container use the same name and key (self->name, self->key), each in its
 * own IPC namespace unless the container keeps the test's. */
#define ATTR (&(struct mq_attr){ .mq_maxmsg = 4, .mq_msgsize = 16 })

/*
 * In a child with no capability over the queues of key and name (0600, of
 * another uid, each holding a message) and no class of their permission
 * bits: msgget without permission bits finds the System V queue, every
 * other call is refused (EACCES; EPERM for IPC_SET and IPC_RMID).  text:
 * what the refused msgsnd would send.
 */
static void c_refused(FIXTURE_DATA(container) *self, int id, const char *text)
{
	struct msqid_ds ds;
	struct mbuf m;

	/* No permission asked, none checked. */
	C_EQ(id, sv->get(self->key, 0));
	C_ERR(EACCES, sv->get(self->key, 0400));
	C_ERR(EACCES, sv->ctl(id, IPC_STAT, &ds));
	C_ERR(EACCES, snd(sv, id, 1, text, IPC_NOWAIT));
	C_ERR(EACCES, sv->rcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT));
	memset(&ds, 0, sizeof(ds));
	ds.msg_perm.mode = 0666;
	C_ERR(EPERM, sv->ctl(id, IPC_SET, &ds));
	C_ERR(EPERM, sv->ctl(id, IPC_RMID, NULL));
	C_ERR(EACCES, mq->open(self->name, O_RDONLY));
	C_ERR(EACCES, mq->open(self->name, O_WRONLY));
	/* The kernel's EPERM (sticky directory), which glibc makes EACCES. */
	C_ERR(EACCES, mq->unlink(self->name));
}

/* ---- 1. container root over its namespace ------------------------------ */

/* In a new user, pid and IPC namespace, container root creates, uses,
 * changes and removes queues of both families: ids and pids are those of
 * its namespaces. */
TEST_F(container, container_root_owns_its_queues)
{
	pid_t init = start_container(_metadata, self, FULL);

	if (init == 0) {
		struct msqid_ds ds;
		pid_t pid;
		int id, q;

		C_EQ(1, getpid());
		C_EQ(0, getuid());
		C_EQ(0, getgid());
		id = C_OK(sv->get(self->key, IPC_CREAT | IPC_EXCL | 0600));
		C_EQ(0, id);	/* the first id of a fresh namespace */
		C_OK(snd(sv, id, 1, "one", 0));
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		C_PERM(ds, 0, 0, 0, 0, 0600);
		C_EQ(self->key, ds.msg_perm.__key);
		C_EQ(1, ds.msg_qnum);
		C_EQ(1, ds.msg_lspid);
		C_EQ(0, ds.msg_lrpid);
		pid = fork_child();
		if (pid == 0) {
			C_RCV(id, 1, "one");
			_exit(0);
		}
		C_EQ(2, pid);
		C_EQ(0, wait_child(pid));
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		C_EQ(0, ds.msg_qnum);
		C_EQ(1, ds.msg_lspid);
		C_EQ(2, ds.msg_lrpid);
		ds.msg_perm.uid = 5;
		ds.msg_perm.gid = 6;
		ds.msg_perm.mode = 0640;
		C_OK(sv->ctl(id, IPC_SET, &ds));
		memset(&ds, 0, sizeof(ds));
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		C_PERM(ds, 5, 6, 0, 0, 0640);
		C_OK(sv->ctl(id, IPC_RMID, NULL));
		C_ERR(EINVAL, sv->ctl(id, IPC_STAT, &ds));
		C_ERR(ENOENT, sv->get(self->key, 0));

		q = C_OK(mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, ATTR));
		C_OK(mq->send(q, "one", 3, 1));
		C_STATUS(q, 3, 0, 0);
		C_RECV(q, "one", 1);
		C_OK(mq->unlink(self->name));
		C_ERR(ENOENT, mq->open(self->name, O_RDONLY));
		C_OK(mq->close(q));
		_exit(0);
	}
	ASSERT_EQ(0, end_container(self));
}

/* Container root opens, reads, changes and removes the 0600 queues of
 * another uid of the container (CAP_IPC_OWNER and CAP_SYS_ADMIN for
 * System V, CAP_DAC_OVERRIDE and CAP_FOWNER for POSIX, over the user
 * namespace that owns the IPC namespace). */
TEST_F(container, container_root_overrides_another_uids_queues)
{
	pid_t init = start_container(_metadata, self, FULL);

	if (init == 0) {
		struct msqid_ds ds;
		pid_t pid;
		int id, q;

		pid = fork_child();
		if (pid == 0) {
			C_OK(become_uid(1));
			id = C_OK(sv->get(self->key, IPC_CREAT | IPC_EXCL | 0600));
			C_OK(snd(sv, id, 1, "from1", 0));
			q = C_OK(mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, ATTR));
			C_OK(mq->send(q, "from1", 5, 4));
			_exit(0);
		}
		C_EQ(0, wait_child(pid));
		id = C_OK(sv->get(self->key, 0600));
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		C_PERM(ds, 1, 1, 1, 1, 0600);
		C_EQ(2, ds.msg_lspid);
		C_RCV(id, 1, "from1");
		C_OK(snd(sv, id, 2, "root", IPC_NOWAIT));
		ds.msg_perm.mode = 0660;
		C_OK(sv->ctl(id, IPC_SET, &ds));
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		C_PERM(ds, 1, 1, 1, 1, 0660);
		C_EQ(1, ds.msg_lspid);
		C_EQ(1, ds.msg_lrpid);
		C_EQ(1, ds.msg_qnum);
		C_OK(sv->ctl(id, IPC_RMID, NULL));
		C_ERR(ENOENT, sv->get(self->key, 0));

		q = C_OK(mq->open(self->name, O_RDWR));
		C_RECV(q, "from1", 4);
		C_OK(mq->send(q, "root", 4, 0));
		C_OK(mq->close(q));
		C_OK(mq->unlink(self->name));
		C_ERR(ENOENT, mq->open(self->name, O_RDONLY));
		_exit(0);
	}
	ASSERT_EQ(0, end_container(self));
}

/*
 * RLIMIT_MSGQUEUE in a container is charged per (user namespace, uid) and
 * up the chain, to the user who made the namespace (ucounts), exactly: a
 * queue's 392 bytes (2 x 100, mq_test's exact charge) against the
 * creator's own rlimit now, and the container's creator's against the
 * rlimit it had when it made the namespace (here 2 x 392 - 1: two
 * container uids each within their own limit cannot together pass their
 * creator's; after one queue goes, the other fits).
 */
TEST_F(container, rlimit_msgqueue_charge_is_exact_at_both_levels)
{
	struct rlimit lim = { 2 * 392 - 1, 1000000 };
	struct rlimit old;
	pid_t init;

	SYS(getrlimit(RLIMIT_MSGQUEUE, &old));
	SYS(setrlimit(RLIMIT_MSGQUEUE, &lim));
	init = start_container(_metadata, self, FULL);
	if (init > 0)
		SYS(setrlimit(RLIMIT_MSGQUEUE, &old));
	if (init == 0) {
		struct mq_attr a = { .mq_maxmsg = 2, .mq_msgsize = 100 };
		struct rlimit rl = { 391, 1000000 };
		unsigned int prio = 0;
		char other[80], buf[100];
		pid_t pid;
		int q;

		snprintf(other, sizeof(other), "%s_u1", self->name);
		/* The first level: the rlimit now. */
		C_OK(setrlimit(RLIMIT_MSGQUEUE, &rl));
		C_ERR(EMFILE, mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &a));
		C_ERR(ENOENT, mq->open(self->name, O_RDWR));
		rl.rlim_cur = 392;
		C_OK(setrlimit(RLIMIT_MSGQUEUE, &rl));
		q = C_OK(mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &a));
		rl.rlim_cur = 1000000;
		C_OK(setrlimit(RLIMIT_MSGQUEUE, &rl));
		/* The creator's level: 392 + 392 > 783. */
		pid = fork_child();
		if (pid == 0) {
			C_OK(become_uid(1));
			C_ERR(EMFILE, mq->open(other, O_RDWR | O_CREAT | O_EXCL, 0600, &a));
			C_ERR(ENOENT, mq->open(other, O_RDWR));
			_exit(0);
		}
		C_EQ(0, wait_child(pid));
		C_OK(mq->close(q));
		C_OK(mq->unlink(self->name));
		pid = fork_child();
		if (pid == 0) {
			C_OK(become_uid(1));
			q = C_OK(mq->open(other, O_RDWR | O_CREAT | O_EXCL, 0600, &a));
			C_OK(mq->send(q, "one", 3, 1));
			C_EQ(3, mq->receive(q, buf, sizeof(buf), &prio));
			C_EQ(0, memcmp(buf, "one", 3));
			C_EQ(1, prio);
			C_OK(mq->close(q));
			C_OK(mq->unlink(other));
			_exit(0);
		}
		C_EQ(0, wait_child(pid));
		_exit(0);
	}
	ASSERT_EQ(0, end_container(self));
}

/*
 * A limit of the caller's namespace, through the backend (native if native,
 * else rust_ipc): sysctl under /proc/sys/, the field at offset of struct
 * ripc_limits; set to val if val > 0; its old value, or -1 with errno.
 */
static long ns_limit(int native, const char *sysctl, size_t offset, long val)
{
	char path[64];

	if (!native)
		return ripc_limit(offset, val);
	snprintf(path, sizeof(path), "/proc/sys/%s", sysctl);
	return sysctl_rw(path, val);
}

/* fs.mqueue.FIELD and kernel.FIELD of the caller's namespace. */
#define MQ_LIMIT(field, val) ns_limit(mq == &native_mq_be, "fs/mqueue/" #field, \
				      offsetof(struct ripc_limits, mq_##field), val)
#define SV_LIMIT(field, val) ns_limit(sv == &native_msg_be, "kernel/" #field, \
				      offsetof(struct ripc_limits, field), val)

/* The attributes of q (mq_maxmsg, mq_msgsize, mq_curmsgs) must be these. */
#define C_ATTR(q, maxmsg, msgsize, curmsgs) do { \
	struct mq_attr __a; \
	memset(&__a, POISON, sizeof(__a)); \
	C_OK(mq->getattr(q, &__a)); \
	C_EQ(maxmsg, __a.mq_maxmsg); \
	C_EQ(msgsize, __a.mq_msgsize); \
	C_EQ(curmsgs, __a.mq_curmsgs); \
} while (0)

/* In a child of the host: into the IPC namespace of the container whose
 * init is pid. */
#define C_ENTER_IPC_NS(pid) do { \
	char __path[64]; \
	snprintf(__path, sizeof(__path), "/proc/%d/ns/ipc", (pid)); \
	C_OK(setns(C_OK(open(__path, O_RDONLY | O_CLOEXEC)), CLONE_NEWIPC)); \
} while (0)

/* A new queue opened with attr has maxmsg x msgsize; then it goes. */
#define C_NEW_QUEUE_IS(attr, maxmsg, msgsize) do { \
	mqd_t __q = C_OK(mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, attr)); \
	C_ATTR(__q, maxmsg, msgsize, 0); \
	C_OK(mq->close(__q)); \
	C_OK(mq->unlink(self->name)); \
} while (0)

/*
 * The limits are per IPC namespace (the sysctls): a new namespace starts
 * from the native defaults, its root changes them for it alone, and its
 * other uids may not (native: EACCES opening the sysctl for writing;
 * rust_ipc's RIPC_SET_LIMITS: EPERM).  What it sets rules its namespace:
 * msgsize_max bounds mq_open's mq_msgsize; a queue made without attributes
 * gets msg_default and msgsize_default, each no more than msg_max and
 * msgsize_max (mqueue_get_inode); msg_max and msg_default take 1..65536
 * (HARD_MSGMAX, proc_dointvec_minmax: EINVAL past it, nothing changed); a
 * new System V queue's msg_qbytes is msgmnb.
 */
TEST_F(container, limits_are_per_namespace_and_set_by_its_root)
{
	int host_msgmax = SYS(sv->msgmax(0));
	long host_msgsize_max = SYS(mq->set_limit(LIM_MSGSIZE_MAX, 0));
	long host_msg_max = SYS(MQ_LIMIT(msg_max, 0));
	long host_msg_default = SYS(MQ_LIMIT(msg_default, 0));
	long host_msgsize_default = SYS(MQ_LIMIT(msgsize_default, 0));
	long host_msgmnb = SYS(SV_LIMIT(msgmnb, 0));
	pid_t init = start_container(_metadata, self, FULL);

	if (init == 0) {
		static struct { long mtype; char mtext[8200]; } m = { .mtype = 1 };
		int nope = sv == &native_msg_be ? EACCES : EPERM;
		struct msqid_ds ds;
		pid_t pid;
		int id;

		C_EQ(8192, sv->msgmax(0));
		C_EQ(8192, mq->set_limit(LIM_MSGSIZE_MAX, 0));
		C_EQ(8192, sv->msgmax(4000));
		C_EQ(4000, sv->msgmax(0));
		C_EQ(8192, mq->set_limit(LIM_MSGSIZE_MAX, 16384));
		C_EQ(16384, mq->set_limit(LIM_MSGSIZE_MAX, 0));
		/* mq_msgsize up to msgsize_max, not past it. */
		C_NEW_QUEUE_IS((&(struct mq_attr){ .mq_maxmsg = 1, .mq_msgsize = 16384 }), 1, 16384);
		C_ERR(EINVAL, mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600,
				       &(struct mq_attr){ .mq_maxmsg = 1, .mq_msgsize = 16385 }));
		C_ERR(ENOENT, mq->open(self->name, O_RDWR));
		/* A queue without attributes: the namespace's defaults. */
		C_EQ(10, MQ_LIMIT(msg_max, 20));
		C_EQ(10, MQ_LIMIT(msg_default, 15));
		C_EQ(8192, MQ_LIMIT(msgsize_default, 1000));
		C_NEW_QUEUE_IS(NULL, 15, 1000);
		/* A default above its maximum: the maximum. */
		C_EQ(15, MQ_LIMIT(msg_default, 30));
		C_EQ(1000, MQ_LIMIT(msgsize_default, 20000));
		C_NEW_QUEUE_IS(NULL, 20, 16384);
		/* msg_max: HARD_MSGMAX at most. */
		C_EQ(20, MQ_LIMIT(msg_max, 65536));
		C_ERR(EINVAL, MQ_LIMIT(msg_max, 65537));
		C_EQ(65536, MQ_LIMIT(msg_max, 0));
		/* msgmnb: a new queue's msg_qbytes. */
		C_EQ(16384, SV_LIMIT(msgmnb, 12345));
		id = C_OK(sv->get(IPC_PRIVATE, 0600));
		memset(&ds, POISON, sizeof(ds));
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		C_EQ(12345, ds.msg_qbytes);
		C_OK(sv->ctl(id, IPC_RMID, NULL));
		id = C_OK(sv->get(IPC_PRIVATE, 0600));
		C_ERR(EINVAL, sv->snd(id, &m, 4001, IPC_NOWAIT));
		C_OK(sv->snd(id, &m, 4000, IPC_NOWAIT));
		C_OK(sv->ctl(id, IPC_RMID, NULL));
		pid = fork_child();
		if (pid == 0) {
			C_OK(become_uid(1));
			C_ERR(nope, sv->msgmax(5000));
			_exit(0);
		}
		C_EQ(0, wait_child(pid));
		C_EQ(4000, sv->msgmax(0));
		pid = fork_child();
		if (pid == 0) {
			/* Another of its uids (65534, the overflow uid's number, mapped here). */
			C_OK(become_uid(65534));
			C_ERR(nope, mq->set_limit(LIM_MSGSIZE_MAX, 8192));
			_exit(0);
		}
		C_EQ(0, wait_child(pid));
		_exit(0);
	}
	ASSERT_EQ(0, end_container(self));
	ASSERT_EQ(host_msgmax, sv->msgmax(0));
	ASSERT_EQ(host_msgsize_max, mq->set_limit(LIM_MSGSIZE_MAX, 0));
	ASSERT_EQ(host_msg_max, MQ_LIMIT(msg_max, 0));
	ASSERT_EQ(host_msg_default, MQ_LIMIT(msg_default, 0));
	ASSERT_EQ(host_msgsize_default, MQ_LIMIT(msgsize_default, 0));
	ASSERT_EQ(host_msgmnb, SV_LIMIT(msgmnb, 0));
}

/*
 * Container root is bound by the limits that native lets only a capability
 * in the initial user namespace pass (capable(CAP_SYS_RESOURCE), not the
 * namespace's): mq_open past msg_max or msgsize_max (EINVAL), a queue past
 * queues_max (ENOSPC), IPC_SET of msg_qbytes past msgmnb (EPERM), msgget
 * past msgmni (ENOSPC).  Each refusal makes nothing and leaves the queues
 * as they were; at the limit, each call succeeds.
 */
TEST_F(container, container_root_is_bound_by_the_limits_only_host_root_passes)
{
	pid_t init = start_container(_metadata, self, FULL);

	if (init == 0) {
		struct mq_attr deep = { .mq_maxmsg = 11, .mq_msgsize = 16 };
		struct mq_attr wide = { .mq_maxmsg = 1, .mq_msgsize = 8193 };
		struct mq_attr most = { .mq_maxmsg = 10, .mq_msgsize = 8192 };
		struct msqid_ds ds;
		char n2[80];
		mqd_t q1, q2;
		int id1, id2;

		/* A new namespace's msg_max (10) and msgsize_max (8192). */
		C_ERR(EINVAL, mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &deep));
		C_ERR(EINVAL, mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &wide));
		C_ERR(ENOENT, mq->open(self->name, O_RDWR));
		q1 = C_OK(mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &most));
		/* queues_max: not a second queue while it is 1. */
		C_EQ(256, mq->set_limit(LIM_QUEUES_MAX, 1));
		snprintf(n2, sizeof(n2), "%s_2", self->name);
		C_ERR(ENOSPC, mq->open(n2, O_RDWR | O_CREAT, 0600, ATTR));
		C_ERR(ENOENT, mq->open(n2, O_RDWR));
		C_EQ(1, mq->set_limit(LIM_QUEUES_MAX, 2));
		q2 = C_OK(mq->open(n2, O_RDWR | O_CREAT | O_EXCL, 0600, ATTR));
		C_OK(mq->getattr(q1, &most));
		C_EQ(10, most.mq_maxmsg);
		C_EQ(8192, most.mq_msgsize);
		C_EQ(0, most.mq_curmsgs);
		C_OK(mq->send(q2, "two", 3, 2));
		C_RECV(q2, "two", 2);
		/* A new namespace's msgmnb (16384): msg_qbytes up to it only. */
		id1 = C_OK(sv->get(IPC_PRIVATE, 0600));
		C_OK(sv->ctl(id1, IPC_STAT, &ds));
		C_EQ(16384, ds.msg_qbytes);
		ds.msg_qbytes = 16385;
		C_ERR(EPERM, sv->ctl(id1, IPC_SET, &ds));
		C_OK(sv->ctl(id1, IPC_STAT, &ds));
		C_EQ(16384, ds.msg_qbytes);
		ds.msg_qbytes = 100;
		C_OK(sv->ctl(id1, IPC_SET, &ds));
		ds.msg_qbytes = 16384;
		C_OK(sv->ctl(id1, IPC_SET, &ds));
		C_OK(sv->ctl(id1, IPC_STAT, &ds));
		C_EQ(16384, ds.msg_qbytes);
		/* msgmni: not a second queue while it is 1. */
		C_EQ(32000, sv->msgmni(1));
		C_ERR(ENOSPC, sv->get(IPC_PRIVATE, 0600));
		C_ERR(ENOSPC, sv->get(self->key, IPC_CREAT | 0600));
		C_ERR(ENOENT, sv->get(self->key, 0600));
		C_EQ(1, sv->msgmni(2));
		id2 = C_OK(sv->get(self->key, IPC_CREAT | IPC_EXCL | 0600));
		C_OK(snd(sv, id1, 1, "one", IPC_NOWAIT));
		C_OK(snd(sv, id2, 2, "two", IPC_NOWAIT));
		C_RCV(id1, 1, "one");
		C_RCV(id2, 2, "two");
		_exit(0);
	}
	ASSERT_EQ(0, end_container(self));
}

/* msg_next_id of the caller's namespace through backend b: *old gets it,
 * then it is set to *value if given. */
static int next_id(const struct msg_backend *b, int *old, const int *value)
{
	return b == &native_msg_be ? native_msg_next_id(old, value) : ripc_msg_next_id(old, value);
}

/*
 * Container root has CAP_CHECKPOINT_RESTORE (and CAP_SYS_ADMIN) over its
 * IPC namespace's user namespace: it sets that namespace's msg_next_id
 * (a restore in a container), and the next msgget gives that id, once.
 * Another of its uids may read it, not write it (EACCES).
 */
TEST_F(container, container_root_sets_its_namespaces_msg_next_id)
{
	pid_t init = start_container(_metadata, self, FULL);

	if (init == 0) {
		int v = 0, seven = 7;
		pid_t pid;

		C_OK(next_id(sv, &v, NULL));
		C_EQ(-1, v);
		pid = fork_child();
		if (pid == 0) {
			C_OK(become_uid(1));
			C_ERR(EACCES, next_id(sv, &v, &seven));
			C_OK(next_id(sv, &v, NULL));
			C_EQ(-1, v);
			_exit(0);
		}
		C_EQ(0, wait_child(pid));
		C_OK(next_id(sv, &v, &seven));
		C_OK(next_id(sv, &v, NULL));
		C_EQ(7, v);
		C_EQ(7, sv->get(IPC_PRIVATE, 0600));
		C_OK(next_id(sv, &v, NULL));
		C_EQ(-1, v);
		C_OK(snd(sv, 7, 3, "seven", IPC_NOWAIT));
		C_RCV(7, 3, "seven");
		_exit(0);
	}
	ASSERT_EQ(0, end_container(self));
}

/* The other uids of the container have no capability: container root's
 * 0600 queues are closed to them. */
TEST_F(container, other_container_uids_are_refused)
{
	pid_t init = start_container(_metadata, self, FULL);

	if (init == 0) {
		struct msqid_ds ds;
		struct mq_attr a;
		pid_t pid;
		int id, q;

		id = C_OK(sv->get(self->key, IPC_CREAT | IPC_EXCL | 0600));
		C_OK(snd(sv, id, 1, "root", 0));
		q = C_OK(mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, ATTR));
		C_OK(mq->send(q, "root", 4, 0));
		pid = fork_child();
		if (pid == 0) {
			C_OK(become_uid(2));
			c_refused(self, id, "two");
			_exit(0);
		}
		C_EQ(0, wait_child(pid));
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		C_PERM(ds, 0, 0, 0, 0, 0600);
		C_EQ(1, ds.msg_qnum);
		C_OK(mq->getattr(q, &a));
		C_EQ(1, a.mq_curmsgs);
		_exit(0);
	}
	ASSERT_EQ(0, end_container(self));
}

/* ---- 2. no access to the host's queues --------------------------------- */

/* The host's queues: System V self->key and POSIX self->name (whose
 * descriptor it gives), of mode, each holding the message "host". */
static mqd_t host_queues(struct __test_metadata *_metadata, FIXTURE_DATA(container) *self,
			 int mode, int *id)
{
	mqd_t q;

	*id = SYS(sv->get(self->key, IPC_CREAT | IPC_EXCL | mode));
	SYS(snd(sv, *id, 1, "host", 0));
	q = SYS(mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, mode, ATTR));
	SYS(mq->send(q, "host", 4, 0));
	return q;
}

/* After the container: each of the host's queues still holds its message,
 * "host" of type 1 or priority 0, which is then taken (q is closed);
 * gives the IPC_STAT of id from before. */
static struct msqid_ds host_queues_kept(struct __test_metadata *_metadata,
					FIXTURE_DATA(container) *self, int id, mqd_t q)
{
	struct msqid_ds ds;
	struct mq_attr a;
	struct mbuf m;

	SYS(sv->ctl(id, IPC_STAT, &ds));
	ASSERT_EQ(1u, ds.msg_qnum);
	SYS(mq->getattr(q, &a));
	ASSERT_EQ(1, a.mq_curmsgs);
	memset(&m, POISON, sizeof(m));
	ASSERT_EQ(4, sv->rcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT));
	ASSERT_EQ(1, m.mtype);
	ASSERT_EQ(0, memcmp(m.mtext, "host", 4));
	ASSERT_RECV(q, "host", 0);
	SYS(mq->close(q));
	return ds;
}

/* The host's queues (0666, each with a message) do not exist in the
 * container's IPC namespace; the same name and key make new queues there;
 * the host's are untouched. */
TEST_F(container, container_does_not_see_the_hosts_queues)
{
	struct msqid_ds ds;
	struct mq_attr a;
	int id, q;
	pid_t init;

	q = host_queues(_metadata, self, 0666, &id);
	init = start_container(_metadata, self, FULL);
	if (init == 0) {
		struct mbuf m;
		int mine;

		C_ERR(ENOENT, sv->get(self->key, 0));
		C_ERR(EINVAL, sv->ctl(id, IPC_STAT, &ds));
		C_ERR(EINVAL, snd(sv, id, 1, "x", IPC_NOWAIT));
		C_ERR(EINVAL, sv->rcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT));
		C_ERR(EINVAL, sv->ctl(id, IPC_RMID, NULL));
		C_ERR(ENOENT, mq->open(self->name, O_RDONLY));
		C_ERR(ENOENT, mq->unlink(self->name));
		mine = C_OK(sv->get(self->key, IPC_CREAT | IPC_EXCL | 0600));
		C_EQ(0, mine);
		C_OK(sv->ctl(mine, IPC_RMID, NULL));
		mine = C_OK(mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, ATTR));
		C_OK(mq->getattr(mine, &a));
		C_EQ(0, a.mq_curmsgs);
		C_OK(mq->unlink(self->name));
		_exit(0);
	}
	ASSERT_EQ(0, end_container(self));
	ds = host_queues_kept(_metadata, self, id, q);
	ASSERT_EQ(getpid(), ds.msg_lspid);
}

/* Root of a user namespace that keeps the host's IPC namespace (which
 * init_user_ns owns) has no capability over the host's 0600 queues: only
 * the classes of the permission bits apply, as to any other user. */
TEST_F(container, userns_root_has_no_capability_over_host_queues)
{
	struct msqid_ds ds;
	int id, q;
	pid_t init;

	q = host_queues(_metadata, self, 0600, &id);
	init = start_container(_metadata, self, CLONE_NEWUSER);
	if (init == 0) {
		C_EQ(0, geteuid());
		C_EQ(1, have_cap(CAP_IPC_OWNER));	/* in its own namespace */
		c_refused(self, id, "x");
		_exit(0);
	}
	ASSERT_EQ(0, end_container(self));
	ds = host_queues_kept(_metadata, self, id, q);
	ASSERT_PERM(ds, 0, 0, 0, 0, 0600);
}

/*
 * Root of a user namespace that keeps the host's IPC namespace has its
 * capabilities over a host queue only where its namespace maps the queue's
 * ids: CAP_DAC_OVERRIDE over a 0600 queue of its uid 3 and group 3, not
 * over one of its uid 3 and the host's group 0, which it does not map
 * (capable_wrt_inode_uidgid: EACCES); and CAP_FOWNER not over a 0666 queue
 * of host root, which it opens as any other user but may not fchmod
 * (inode_owner_or_capable: EPERM).
 */
TEST_F(container, userns_root_has_capabilities_only_over_queues_whose_ids_it_maps)
{
	char mapped[80], host_root[80];
	mqd_t q, m, h;
	pid_t init;
	int rc;

	snprintf(mapped, sizeof(mapped), "%s_m", self->name);
	snprintf(host_root, sizeof(host_root), "%s_h", self->name);
	q = SYS(mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, ATTR));
	SYS(mq->fchown(q, BASE + 3, 0));
	m = SYS(mq->open(mapped, O_RDWR | O_CREAT | O_EXCL, 0600, ATTR));
	SYS(mq->fchown(m, BASE + 3, BASE + 3));
	h = SYS(mq->open(host_root, O_RDWR | O_CREAT | O_EXCL, 0666, ATTR));
	init = start_container(_metadata, self, CLONE_NEWUSER);
	if (init == 0) {
		mqd_t c;

		C_EQ(1, have_cap(CAP_DAC_OVERRIDE));
		C_OK(mq->close(C_OK(mq->open(mapped, O_RDWR))));
		C_ERR(EACCES, mq->open(self->name, O_RDONLY));
		C_ERR(EACCES, mq->open(self->name, O_WRONLY));
		c = C_OK(mq->open(host_root, O_RDWR));
		C_ERR(EPERM, mq->fchmod(c, 0600));
		C_OK(mq->close(c));
		_exit(0);
	}
	rc = end_container(self);
	mq->unlink(mapped);
	mq->unlink(host_root);
	ASSERT_EQ(0, rc);
	SYS(mq->close(m));
	SYS(mq->close(q));
	SYS(mq->close(h));
}

/* ---- 3. pids across pid namespaces -------------------------------------- */

/* A process in a child pid namespace sends and receives on a queue of the
 * test's IPC namespace: it sees its own pid (1), the test sees the pid
 * fork() gave. */
TEST_F(container, host_sees_child_pid_namespace_pids)
{
	struct msqid_ds ds;
	int id = SYS(sv->get(self->key, IPC_CREAT | IPC_EXCL | 0600));
	pid_t init = start_container(_metadata, self, CLONE_NEWPID);

	if (init == 0) {
		C_EQ(1, getpid());
		C_OK(snd(sv, id, 1, "x", 0));
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		C_EQ(1, ds.msg_lspid);
		C_EQ(0, ds.msg_lrpid);
		C_TELL('s');
		C_AWAIT('r');
		C_RCV(id, 1, "x");
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		C_EQ(1, ds.msg_lspid);
		C_EQ(1, ds.msg_lrpid);
		_exit(0);
	}
	ASSERT_LT(1, init);
	AWAIT('s');
	SYS(sv->ctl(id, IPC_STAT, &ds));
	ASSERT_EQ(init, ds.msg_lspid);
	ASSERT_EQ(0, ds.msg_lrpid);
	TELL('r');
	ASSERT_EQ(0, end_container(self));
	SYS(sv->ctl(id, IPC_STAT, &ds));
	ASSERT_EQ(init, ds.msg_lspid);
	ASSERT_EQ(init, ds.msg_lrpid);
}

/* A process in a child pid namespace cannot see the test's pid: 0. */
TEST_F(container, child_pid_namespace_sees_zero_for_outside_pids)
{
	struct msqid_ds ds;
	int id = SYS(sv->get(self->key, IPC_CREAT | IPC_EXCL | 0600));
	pid_t init;

	SYS(snd(sv, id, 1, "x", 0));
	init = start_container(_metadata, self, CLONE_NEWPID);
	if (init == 0) {
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		C_EQ(0, ds.msg_lspid);
		C_EQ(0, ds.msg_lrpid);
		C_RCV(id, 1, "x");
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		C_EQ(0, ds.msg_lspid);
		C_EQ(1, ds.msg_lrpid);
		_exit(0);
	}
	ASSERT_EQ(0, end_container(self));
	SYS(sv->ctl(id, IPC_STAT, &ds));
	ASSERT_EQ(getpid(), ds.msg_lspid);
	ASSERT_EQ(init, ds.msg_lrpid);
}

/* ---- 4. POSIX notification across pid namespaces ----------------------- */

/* NOTIFY_PID of the status line is the owner's pid as the reader's pid
 * namespace sees it: the container's init reads 1 and the test its pid
 * outside; when the test registers, the container reads 0. */
TEST_F(container, notify_pid_is_seen_from_the_readers_pid_namespace)
{
	mqd_t q = SYS(mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, ATTR));
	pid_t init = start_container(_metadata, self, CLONE_NEWPID);

	if (init == 0) {
		mqd_t mine = C_OK(mq->open(self->name, O_RDONLY));

		C_OK(notify_sig(mq, mine, SIGUSR1, NULL));
		C_STATUS(mine, 0, SIGUSR1, 1);
		C_TELL('r');
		C_AWAIT('g');
		C_OK(mq->close(mine));	/* the owner's close unregisters */
		mine = C_OK(mq->open(self->name, O_RDONLY));
		C_STATUS(mine, 0, 0, 0);
		C_TELL('c');
		C_AWAIT('n');
		C_STATUS(mine, 0, SIGUSR2, 0);
		_exit(0);
	}
	AWAIT('r');
	ASSERT_STATUS(q, 0, SIGUSR1, init);
	TELL('g');
	AWAIT('c');
	ASSERT_STATUS(q, 0, 0, 0);
	SYS(notify_sig(mq, q, SIGUSR2, NULL));
	ASSERT_STATUS(q, 0, SIGUSR2, getpid());
	TELL('n');
	ASSERT_EQ(0, end_container(self));
	SYS(mq->close(q));
}

/* si_pid of the notification is the sender's pid as the owner's pid
 * namespace sees it: the container's init as the test sees it; the test,
 * outside the container's pid namespace, as 0; a process of the container
 * as the container sees it. */
TEST_F(container, notification_si_pid_is_seen_from_the_owners_pid_namespace)
{
	mqd_t q = SYS(mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, ATTR));
	siginfo_t si;
	pid_t init;

	SYS(block_signal(SIGUSR1));
	SYS(notify_sig(mq, q, SIGUSR1, &si));
	init = start_container(_metadata, self, CLONE_NEWPID);
	if (init == 0) {
		mqd_t mine = C_OK(mq->open(self->name, O_RDWR));
		pid_t pid;

		C_OK(mq->send(mine, "a", 1, 0));
		C_TELL('s');
		C_AWAIT('r');
		C_OK(block_signal(SIGUSR2));
		C_OK(notify_sig(mq, mine, SIGUSR2, NULL));
		C_TELL('n');
		C_AWAIT('s');
		C_NOTIFICATION(SIGUSR2, si, 0, 0);
		C_RECV(mine, "b", 0);
		C_OK(notify_sig(mq, mine, SIGUSR2, NULL));
		pid = fork_child();
		if (pid == 0) {
			C_OK(mq->send(mine, "c", 1, 0));
			_exit(0);
		}
		C_EQ(2, pid);
		C_EQ(0, wait_child(pid));
		C_NOTIFICATION(SIGUSR2, si, 2, 0);
		C_RECV(mine, "c", 0);
		_exit(0);
	}
	AWAIT('s');
	ASSERT_NOTIFICATION(SIGUSR1, si, init, 0);
	ASSERT_RECV(q, "a", 0);
	TELL('r');
	AWAIT('n');
	SYS(mq->send(q, "b", 1, 0));
	TELL('s');
	ASSERT_EQ(0, end_container(self));
	SYS(mq->close(q));
}

struct stalled_receive {
	const struct mq_backend *be;
	mqd_t q;
	char *buf;
	ssize_t ret;
};

static void *stalled_receive_main(void *arg)
{
	struct stalled_receive *r = arg;

	r->ret = r->be->receive(r->q, r->buf, 16, NULL);
	return NULL;
}

/* 0 once pid has exited (a zombie) or is gone (reaped); -1 if it has
 * not within ~2 s (a sender still asleep in its send, say). */
static int wait_exited(pid_t pid)
{
	for (int i = 0; i < 2000; i++) {
		char c = proc_state(pid);

		if (c == 'Z' || c == 0)
			return 0;
		usleep(1000);
	}
	return -1;
}

/*
 * The container's process 2 sends to a queue (maxmsg 1) whose only message
 * is being copied out by a receive of the test (outside the container's pid
 * namespace), stalled on a userfaultfd page.  Its message goes in and
 * notifies at once, from the sender: si_pid 2 as the container sees it.
 * (rust_ipc once held the room of a message out for delivery until its
 * copy was done: the sender waited, was let in by the receive, and its
 * notification, sent from the receiver, had si_pid 0.)
 */
TEST_F(container, notification_of_a_send_while_a_receive_copies_comes_from_its_sender)
{
	struct mq_attr one = { .mq_maxmsg = 1, .mq_msgsize = 16 };
	mqd_t q = SYS(mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &one));
	pid_t *sender = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct stalled_receive r = { .be = mq, .q = q, .ret = -2 };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct pollfd p = { .events = POLLIN };
	struct uffd_msg fault;
	pthread_t t;
	siginfo_t si;
	pid_t init;

	ASSERT_NE(MAP_FAILED, sender);
	p.fd = uffd_open();
	if (p.fd < 0)
		SKIP(return, "userfaultfd: %s", strerrorname_np(errno));
	r.buf = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r.buf);
	reg.range.start = (unsigned long)r.buf;
	reg.range.len = PAGE;
	SYS(ioctl(p.fd, UFFDIO_REGISTER, &reg));
	SYS(mq->send(q, "a", 1, 0));
	init = start_container(_metadata, self, CLONE_NEWPID);
	if (init == 0) {
		mqd_t mine = C_OK(mq->open(self->name, O_RDWR));
		pid_t pid;

		C_OK(block_signal(SIGUSR1));
		C_OK(notify_sig(mq, mine, SIGUSR1, NULL));
		C_TELL('n');
		C_AWAIT('s');
		pid = fork_child();
		if (pid == 0) {
			char self_pid[16] = "";

			/* Its pid as the test sees it (the test's /proc). */
			C_OK(readlink("/proc/self", self_pid, sizeof(self_pid) - 1));
			*sender = atoi(self_pid);
			C_OK(mq->send(mine, "b", 1, 0));
			_exit(0);
		}
		C_EQ(2, pid);
		C_TELL('b');
		C_EQ(0, wait_child(pid));
		C_NOTIFICATION(SIGUSR1, si, 2, 0);
		C_RECV(mine, "b", 0);
		_exit(0);
	}
	AWAIT('n');
	ASSERT_EQ(0, pthread_create(&t, NULL, stalled_receive_main, &r));
	ASSERT_EQ(1, poll(&p, 1, 3000)) TH_LOG("the receive did not fault");
	ASSERT_EQ((ssize_t)sizeof(fault), read(p.fd, &fault, sizeof(fault)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, fault.event);
	TELL('s');
	AWAIT('b');
	for (int i = 0; i < 3000 && !*sender; i++)
		usleep(1000);
	ASSERT_LT(0, *sender);
	/* Its send did not wait for the stalled receive: it is done. */
	ASSERT_EQ(0, wait_exited(*sender)) TH_LOG("the sender is still there, state %c",
						   proc_state(*sender));
	/* The container saw its notification and received "b", while the
	 * receive still waits for its page. */
	ASSERT_EQ(0, end_container(self));
	SYS(ioctl(p.fd, UFFDIO_ZEROPAGE,
		  &(struct uffdio_zeropage){ .range = { (unsigned long)r.buf, PAGE } }));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(1, r.ret);
	ASSERT_EQ('a', r.buf[0]);
	if (mq == &ripc_mq_be) {
		struct ripc_queue_stats st;

		SYS(ripc_mq_stats(q, &st, 0));
		ASSERT_EQ(0ULL, st.blocked_sends);
	}
	SYS(mq->close(q));
}

/*
 * si_uid with the owner and the sender in different user namespaces.  The
 * native path computes it twice: ipc/mqueue.c maps the sender's uid into
 * the owner's user namespace, then the signal code (send_signal_locked)
 * takes that number as a uid of the sender's namespace and maps it into
 * the owner's again.  So it is the sender's uid only when both are in the
 * same user namespace, and the overflow uid (65534) otherwise, here: even
 * for a sender whose uid is mapped in the owner's namespace.
 */
TEST_F(container, notification_si_uid_across_user_namespaces)
{
	mqd_t q = SYS(mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0666, ATTR));
	siginfo_t si;
	pid_t init, pid;

	init = start_container(_metadata, self, CLONE_NEWUSER | CLONE_NEWPID);
	if (init == 0) {
		mqd_t mine = C_OK(mq->open(self->name, O_RDWR));

		C_OK(block_signal(SIGUSR1));
		C_OK(notify_sig(mq, mine, SIGUSR1, NULL));
		C_TELL('n');
		C_AWAIT('s');
		/* From host root: uid 0 is not mapped in the container. */
		C_NOTIFICATION(SIGUSR1, si, 0, NOBODY);
		C_RECV(mine, "a", 0);
		C_OK(notify_sig(mq, mine, SIGUSR1, NULL));
		C_TELL('n');
		C_AWAIT('s');
		/* From host uid BASE + 5, the container's uid 5. */
		C_NOTIFICATION(SIGUSR1, si, 0, NOBODY);
		C_RECV(mine, "b", 0);
		/* From the container's uid 5: the same namespace. */
		C_OK(notify_sig(mq, mine, SIGUSR1, NULL));
		pid = fork_child();
		if (pid == 0) {
			C_OK(become_uid(5));
			C_OK(mq->send(mine, "c", 1, 0));
			_exit(0);
		}
		C_EQ(2, pid);
		C_EQ(0, wait_child(pid));
		C_NOTIFICATION(SIGUSR1, si, 2, 5);
		C_RECV(mine, "c", 0);
		C_OK(mq->close(mine));
		C_TELL('d');
		/* To the test: from container root (host uid BASE). */
		C_AWAIT('n');
		mine = C_OK(mq->open(self->name, O_WRONLY));
		C_OK(mq->send(mine, "d", 1, 0));
		C_TELL('s');
		_exit(0);
	}
	AWAIT('n');
	SYS(mq->send(q, "a", 1, 0));
	TELL('s');
	AWAIT('n');
	pid = fork_child();
	if (pid == 0) {
		C_OK(become_uid(BASE + 5));
		C_OK(mq->send(q, "b", 1, 0));
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	TELL('s');
	AWAIT('d');
	SYS(block_signal(SIGUSR2));
	SYS(notify_sig(mq, q, SIGUSR2, NULL));
	TELL('n');
	AWAIT('s');
	ASSERT_NOTIFICATION(SIGUSR2, si, init, NOBODY);
	ASSERT_RECV(q, "d", 0);
	ASSERT_EQ(0, end_container(self));
	SYS(mq->close(q));
}

/*
 * Notification descriptors (a rust_ipc extension) across namespaces.  The
 * caller registers on q: on rust_ipc the notification descriptor nfd
 * (RIPC_SIGEV_FD), natively SIGUSR1 (blocked), so that the pid and uid a
 * descriptor's record gives are checked against the siginfo of native's
 * signal in the same boot, where the owner reads them.
 */
#define NOTIFY_VALUE 7

static int arm_notify(FIXTURE_DATA(container) *self, mqd_t q, int nfd)
{
	if (mq == &ripc_mq_be)
		return ripc_mq_notify_fd(q, nfd,
					 (union sigval){ .sival_ptr = (void *)NOTIFY_VALUE });
	return notify_sig(mq, q, SIGUSR1, (void *)NOTIFY_VALUE);
}

/*
 * The sender of the notification that fired (within 2 s): the record read
 * from nfd, or the siginfo of SIGUSR1, into *pid and *uid; 0, or -1 if
 * none came or it is not the notification.
 */
static int take_notify(FIXTURE_DATA(container) *self, int nfd, pid_t *pid, uid_t *uid)
{
	struct pollfd p = { .fd = nfd, .events = POLLIN };
	struct ripc_notify_record r;
	siginfo_t si;

	if (mq == &ripc_mq_be) {
		if (poll(&p, 1, 2000) != 1 || read(nfd, &r, sizeof(r)) != sizeof(r) ||
		    r.sigev_value != NOTIFY_VALUE)
			return -1;
		*pid = r.pid;
		*uid = r.uid;
		return 0;
	}
	if (take_signal(SIGUSR1, &si, 2000) != SIGUSR1 || si.si_code != SI_MESGQ ||
	    si.si_value.sival_int != NOTIFY_VALUE)
		return -1;
	*pid = si.si_pid;
	*uid = si.si_uid;
	return 0;
}

#define C_NOTIFIED(nfd, want_pid, want_uid) do { \
	pid_t __p; \
	uid_t __u; \
	C_OK(take_notify(self, nfd, &__p, &__u)); \
	C_EQ(want_pid, __p); \
	C_EQ(want_uid, __u); \
} while (0)

#define ASSERT_NOTIFIED(nfd, want_pid, want_uid) do { \
	pid_t __p; \
	uid_t __u; \
	SYS(take_notify(self, nfd, &__p, &__u)); \
	ASSERT_EQ((pid_t)(want_pid), __p); \
	ASSERT_EQ((uid_t)(want_uid), __u); \
} while (0)

/*
 * A notification descriptor's record gives the sender as the signal would:
 * its pid as the reader's pid namespace sees it (0 if it cannot), its uid
 * mapped into the owner's user namespace and then, as the signal code does,
 * into the reader's (so the overflow uid across user namespaces, as
 * notification_si_uid_across_user_namespaces shows).  Natively the same
 * steps check si_pid and si_uid.  On rust_ipc only, a record read by
 * another process than the registration's owner: the container's own
 * notification read by the host gives the container's init as the host
 * sees it and container root as host uid BASE; the host's read by the
 * container gives pid 0 and uid 65534.
 */
TEST_F(container, notification_descriptor_gives_the_sender_as_the_reader_sees_it)
{
	mqd_t q = SYS(mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0666, ATTR));
	int ripc = mq == &ripc_mq_be;
	int nfd = ripc ? SYS(ripc_notify_fd_open(O_CLOEXEC | O_NONBLOCK)) : -1;
	pid_t init, pid;

	SYS(block_signal(SIGUSR1));
	init = start_container(_metadata, self, CLONE_NEWUSER | CLONE_NEWPID);
	if (init == 0) {
		mqd_t mine = C_OK(mq->open(self->name, O_RDWR));

		/* From host root: not in this pid namespace, uid 0 unmapped. */
		C_OK(arm_notify(self, mine, nfd));
		C_TELL('n');
		C_AWAIT('s');
		C_NOTIFIED(nfd, 0, NOBODY);
		C_RECV(mine, "a", 0);
		/* From host uid BASE + 5 (the container's 5): see above. */
		C_OK(arm_notify(self, mine, nfd));
		C_TELL('n');
		C_AWAIT('s');
		C_NOTIFIED(nfd, 0, NOBODY);
		C_RECV(mine, "b", 0);
		/* From the container's uid 5, its pid 2. */
		C_OK(arm_notify(self, mine, nfd));
		pid = fork_child();
		if (pid == 0) {
			C_OK(become_uid(5));
			C_OK(mq->send(mine, "c", 1, 0));
			_exit(0);
		}
		C_EQ(2, pid);
		C_EQ(0, wait_child(pid));
		C_NOTIFIED(nfd, 2, 5);
		C_RECV(mine, "c", 0);
		C_OK(mq->close(mine));
		C_TELL('d');
		/* To the test: from container root. */
		C_AWAIT('n');
		mine = C_OK(mq->open(self->name, O_RDWR));
		C_OK(mq->send(mine, "d", 1, 0));
		C_TELL('s');
		if (ripc) {
			/* Its own notification, sent by itself, read by the test. */
			C_AWAIT('r');
			C_OK(arm_notify(self, mine, nfd));
			C_OK(mq->send(mine, "e", 1, 0));
			C_RECV(mine, "e", 0);
			C_TELL('e');
			/* The test's, sent by the test, read here. */
			C_AWAIT('h');
			C_NOTIFIED(nfd, 0, NOBODY);
		}
		_exit(0);
	}
	AWAIT('n');
	SYS(mq->send(q, "a", 1, 0));
	TELL('s');
	AWAIT('n');
	pid = fork_child();
	if (pid == 0) {
		C_OK(become_uid(BASE + 5));
		C_OK(mq->send(q, "b", 1, 0));
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	TELL('s');
	AWAIT('d');
	SYS(arm_notify(self, q, nfd));
	TELL('n');
	AWAIT('s');
	/* Container root is host uid BASE, which the double mapping loses. */
	ASSERT_NOTIFIED(nfd, init, NOBODY);
	ASSERT_RECV(q, "d", 0);
	if (ripc) {
		TELL('r');
		AWAIT('e');
		/* Owner and sender the container's init, reader the host. */
		ASSERT_NOTIFIED(nfd, init, BASE);
		SYS(arm_notify(self, q, nfd));
		SYS(mq->send(q, "f", 1, 0));
		ASSERT_RECV(q, "f", 0);
		TELL('h');
		close(nfd);
	}
	ASSERT_EQ(0, end_container(self));
	SYS(mq->close(q));
}

/* ---- 5. uids and gids in every structure ------------------------------- */

/* IPC_STAT in a user namespace gives the ids mapped into it, 65534 for
 * those that are not; the owner there may give the queue only ids mapped
 * there (EINVAL), and the host sees what it gave as host ids. */
TEST_F(container, stat_in_a_userns_shows_mapped_ids_and_overflowuid)
{
	struct msqid_ds ds;
	int id = SYS(sv->get(self->key, IPC_CREAT | IPC_EXCL | 0644));
	pid_t init;

	SYS(sv->ctl(id, IPC_STAT, &ds));
	ds.msg_perm.uid = BASE + 7;
	ds.msg_perm.gid = BASE + 8;
	SYS(sv->ctl(id, IPC_SET, &ds));
	SYS(snd(sv, id, 1, "host", 0));
	init = start_container(_metadata, self, CLONE_NEWUSER);
	if (init == 0) {
		pid_t pid;

		C_OK(sv->ctl(id, IPC_STAT, &ds));
		C_PERM(ds, 7, 8, NOBODY, NOBODY, 0644);
		C_EQ(getppid(), ds.msg_lspid);	/* the same pid namespace */
		pid = fork_child();
		if (pid == 0) {
			C_OK(become_uid(7));	/* the owner, host uid BASE + 7 */
			C_OK(sv->ctl(id, IPC_STAT, &ds));
			ds.msg_perm.uid = RANGE;
			C_ERR(EINVAL, sv->ctl(id, IPC_SET, &ds));
			ds.msg_perm.uid = 9;
			ds.msg_perm.gid = RANGE;
			C_ERR(EINVAL, sv->ctl(id, IPC_SET, &ds));
			ds.msg_perm.gid = (gid_t)-1;
			C_ERR(EINVAL, sv->ctl(id, IPC_SET, &ds));
			ds.msg_perm.uid = (uid_t)-1;
			ds.msg_perm.gid = 10;
			C_ERR(EINVAL, sv->ctl(id, IPC_SET, &ds));
			C_OK(sv->ctl(id, IPC_STAT, &ds));
			C_PERM(ds, 7, 8, NOBODY, NOBODY, 0644);
			ds.msg_perm.uid = 9;
			ds.msg_perm.gid = 10;
			C_OK(sv->ctl(id, IPC_SET, &ds));
			C_OK(sv->ctl(id, IPC_STAT, &ds));
			C_PERM(ds, 9, 10, NOBODY, NOBODY, 0644);
			/* No longer the owner. */
			C_ERR(EPERM, sv->ctl(id, IPC_SET, &ds));
			_exit(0);
		}
		C_EQ(0, wait_child(pid));
		_exit(0);
	}
	ASSERT_EQ(0, end_container(self));
	SYS(sv->ctl(id, IPC_STAT, &ds));
	ASSERT_PERM(ds, BASE + 9, BASE + 10, 0, 0, 0644);
}

/* Container root may give its queue any id mapped in the container
 * (0..65535) and no other (EINVAL); a uid of the container that is not
 * the owner gets EPERM first. */
TEST_F(container, ipc_set_with_an_unmapped_id_is_einval)
{
	pid_t init = start_container(_metadata, self, FULL);

	if (init == 0) {
		struct msqid_ds ds;
		pid_t pid;
		int id = C_OK(sv->get(IPC_PRIVATE, 0600));

		C_OK(sv->ctl(id, IPC_STAT, &ds));
		ds.msg_perm.uid = RANGE;
		C_ERR(EINVAL, sv->ctl(id, IPC_SET, &ds));
		ds.msg_perm.uid = 0;
		ds.msg_perm.gid = RANGE;
		C_ERR(EINVAL, sv->ctl(id, IPC_SET, &ds));
		ds.msg_perm.uid = (uid_t)-1;
		ds.msg_perm.gid = 0;
		C_ERR(EINVAL, sv->ctl(id, IPC_SET, &ds));
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		C_PERM(ds, 0, 0, 0, 0, 0600);
		pid = fork_child();
		if (pid == 0) {
			C_OK(become_uid(3));
			ds.msg_perm.uid = RANGE;
			C_ERR(EPERM, sv->ctl(id, IPC_SET, &ds));
			_exit(0);
		}
		C_EQ(0, wait_child(pid));
		ds.msg_perm.uid = RANGE - 1;
		ds.msg_perm.gid = RANGE - 1;
		C_OK(sv->ctl(id, IPC_SET, &ds));
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		C_PERM(ds, RANGE - 1, RANGE - 1, 0, 0, 0600);
		C_OK(sv->ctl(id, IPC_RMID, NULL));
		_exit(0);
	}
	ASSERT_EQ(0, end_container(self));
}

/*
 * Ownership is by kernel uid, not by the number IPC_STAT shows.  Host root
 * (setns) makes a 0600 queue in the container's IPC namespace: owner and
 * creator host uid and gid 0, which the container does not map, so it sees
 * them as 65534.  The container's own uid 65534 (host BASE + 65534) is not
 * that owner (ipcperms, ipcctl_obtain_check compare kuids): EACCES for
 * IPC_STAT, msgrcv, msgsnd and msgget asking for permission, EPERM for
 * IPC_SET and IPC_RMID.  Container root reads and receives it all the same
 * (CAP_IPC_OWNER over the namespace's user namespace), and its IPC_SET of
 * IPC_STAT's values with a new mode (ipc_update_perm: make_kuid of the ids
 * it passes) gives the queue to its own uid and gid 65534, which may then
 * use and change it; the creator stays host root.
 */
TEST_F(container, ownership_is_by_kernel_uid_not_by_the_overflow_number)
{
	pid_t init = start_container(_metadata, self, FULL), pid;

	if (init == 0) {
		struct msqid_ds ds;
		struct mbuf m;
		int id;

		C_TELL('r');
		C_AWAIT('m');
		id = C_OK(sv->get(self->key, 0));
		C_EQ(0, id);
		pid = fork_child();
		if (pid == 0) {
			C_OK(become_uid(NOBODY));
			C_EQ(id, sv->get(self->key, 0));
			C_ERR(EACCES, sv->get(self->key, 0400));
			C_ERR(EACCES, sv->ctl(id, IPC_STAT, &ds));
			C_ERR(EACCES, sv->rcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT));
			C_ERR(EACCES, snd(sv, id, 2, "nobody", IPC_NOWAIT));
			memset(&ds, 0, sizeof(ds));
			ds.msg_perm.uid = ds.msg_perm.gid = NOBODY;
			ds.msg_perm.mode = 0666;
			C_ERR(EPERM, sv->ctl(id, IPC_SET, &ds));
			C_ERR(EPERM, sv->ctl(id, IPC_RMID, NULL));
			_exit(0);
		}
		C_EQ(0, wait_child(pid));
		memset(&ds, POISON, sizeof(ds));
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		C_PERM(ds, NOBODY, NOBODY, NOBODY, NOBODY, 0600);
		C_EQ(1, ds.msg_qnum);
		C_EQ(0, ds.msg_lspid);	/* the host's sender is not visible */
		C_RCV(id, 9, "host");
		/* The same numbers, a new mode: now the container's 65534. */
		ds.msg_perm.mode = 0640;
		C_OK(sv->ctl(id, IPC_SET, &ds));
		memset(&ds, POISON, sizeof(ds));
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		C_PERM(ds, NOBODY, NOBODY, NOBODY, NOBODY, 0640);
		C_EQ(1, ds.msg_lrpid);
		pid = fork_child();
		if (pid == 0) {
			C_OK(become_uid(NOBODY));
			C_EQ(id, sv->get(self->key, 0600));
			C_OK(sv->ctl(id, IPC_STAT, &ds));
			C_PERM(ds, NOBODY, NOBODY, NOBODY, NOBODY, 0640);
			C_OK(snd(sv, id, 2, "nobody", IPC_NOWAIT));
			C_RCV(id, 2, "nobody");
			ds.msg_perm.mode = 0600;
			C_OK(sv->ctl(id, IPC_SET, &ds));
			_exit(0);
		}
		C_EQ(0, wait_child(pid));
		pid = fork_child();
		if (pid == 0) {
			/* Another of its uids: no class of 0600. */
			C_OK(become_uid(3));
			C_ERR(EACCES, sv->ctl(id, IPC_STAT, &ds));
			_exit(0);
		}
		C_EQ(0, wait_child(pid));
		C_TELL('s');
		C_AWAIT('h');
		_exit(0);
	}
	AWAIT('r');
	pid = fork_child();
	if (pid == 0) {
		struct msqid_ds ds;
		int id;

		C_ENTER_IPC_NS(init);
		id = C_OK(sv->get(self->key, IPC_CREAT | IPC_EXCL | 0600));
		C_EQ(0, id);
		C_OK(snd(sv, id, 9, "host", 0));
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		C_PERM(ds, 0, 0, 0, 0, 0600);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	TELL('m');
	AWAIT('s');
	pid = fork_child();
	if (pid == 0) {
		struct msqid_ds ds;

		C_ENTER_IPC_NS(init);
		memset(&ds, POISON, sizeof(ds));
		C_OK(sv->ctl(0, IPC_STAT, &ds));
		C_PERM(ds, BASE + NOBODY, BASE + NOBODY, 0, 0, 0600);
		C_EQ(0, ds.msg_qnum);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	TELL('h');
	ASSERT_EQ(0, end_container(self));
}

/*
 * fchmod and fchown of a POSIX queue descriptor in a container: an id the
 * container's user namespace does not map is EINVAL; the owner may change
 * the mode, not give the queue to another uid; container root may do both
 * over a queue whose owner its namespace maps (CAP_FOWNER, CAP_CHOWN over
 * it), and later opens check what they set.
 */
TEST_F(container, fchmod_and_fchown_of_a_queue_in_a_user_namespace)
{
	pid_t init = start_container(_metadata, self, FULL);

	if (init == 0) {
		pid_t pid;
		mqd_t q;

		q = C_OK(mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, ATTR));
		C_ERR(EINVAL, mq->fchown(q, RANGE, -1));
		C_ERR(EINVAL, mq->fchown(q, -1, RANGE));
		C_OK(mq->fchown(q, 3, 3));
		pid = fork_child();
		if (pid == 0) {
			C_OK(become_uid(3));
			C_OK(mq->fchmod(q, 0604));
			C_ERR(EPERM, mq->fchown(q, 0, -1));
			_exit(0);
		}
		C_EQ(0, wait_child(pid));
		pid = fork_child();
		if (pid == 0) {
			C_OK(become_uid(4));
			C_OK(mq->close(C_OK(mq->open(self->name, O_RDONLY))));
			C_ERR(EACCES, mq->open(self->name, O_WRONLY));
			C_ERR(EPERM, mq->fchmod(q, 0666));
			_exit(0);
		}
		C_EQ(0, wait_child(pid));
		/* The container's root may change both, and later opens and
		 * calls of the queue's former owner see what it set. */
		C_OK(mq->fchmod(q, 0));
		C_OK(mq->fchown(q, 0, 0));
		pid = fork_child();
		if (pid == 0) {
			C_OK(become_uid(3));
			C_ERR(EACCES, mq->open(self->name, O_RDONLY));
			C_ERR(EPERM, mq->fchmod(q, 0600));
			_exit(0);
		}
		C_EQ(0, wait_child(pid));
		C_OK(mq->unlink(self->name));
		C_OK(mq->close(q));
		_exit(0);
	}
	ASSERT_EQ(0, end_container(self));
}

/*
 * The host, entering the container's IPC namespace (setns, as root of the
 * initial namespaces), sees the container's ids as host ids (BASE + id),
 * its pids as the host's pid namespace sees them (NOTIFY_PID, msg_lspid),
 * and its notification to the container's init carries si_pid 0 and
 * si_uid 65534.  Host root may raise a queue's msg_qbytes there past the
 * namespace's msgmnb (capable(CAP_SYS_RESOURCE): in the initial user
 * namespace, which container root lacks), and the container reads it.
 */
TEST_F(container, host_sees_container_ids_and_pids_as_its_own)
{
	pid_t init = start_container(_metadata, self, FULL), pid;

	if (init == 0) {
		struct msqid_ds ds;
		siginfo_t si;
		int id;
		mqd_t q;

		id = C_OK(sv->get(self->key, IPC_CREAT | IPC_EXCL | 0600));
		C_OK(snd(sv, id, 1, "c", 0));
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		ds.msg_perm.uid = 5;
		ds.msg_perm.gid = 6;
		C_OK(sv->ctl(id, IPC_SET, &ds));
		q = C_OK(mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, ATTR));
		C_OK(block_signal(SIGUSR1));
		C_OK(notify_sig(mq, q, SIGUSR1, NULL));
		C_TELL('r');
		C_AWAIT('s');
		C_NOTIFICATION(SIGUSR1, si, 0, NOBODY);
		C_RECV(q, "host", 0);
		memset(&ds, POISON, sizeof(ds));
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		C_PERM(ds, 5, 6, 0, 0, 0600);
		C_EQ(0, ds.msg_lrpid);	/* the host's receiver is not visible */
		C_EQ(16384 + 4096, ds.msg_qbytes);	/* what the host set */
		C_EQ(0, ds.msg_qnum);
		/* Container root's IPC_SET may not carry it, even unchanged
		 * (msgctl_down checks the value, not a raise); it may lower it. */
		C_ERR(EPERM, sv->ctl(id, IPC_SET, &ds));
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		C_EQ(16384 + 4096, ds.msg_qbytes);
		ds.msg_qbytes = 16384;
		C_OK(sv->ctl(id, IPC_SET, &ds));
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		C_EQ(16384, ds.msg_qbytes);
		_exit(0);
	}
	AWAIT('r');
	pid = fork_child();
	if (pid == 0) {
		struct msqid_ds ds;
		mqd_t q;
		int id;

		C_ENTER_IPC_NS(init);
		id = C_OK(sv->get(self->key, 0));
		C_EQ(0, id);
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		C_PERM(ds, BASE + 5, BASE + 6, BASE, BASE, 0600);
		C_EQ(init, ds.msg_lspid);
		C_EQ(1, ds.msg_qnum);
		C_RCV(id, 1, "c");
		/* Past the container namespace's msgmnb (16384). */
		C_EQ(16384, ds.msg_qbytes);
		ds.msg_qbytes = 16384 + 4096;
		C_OK(sv->ctl(id, IPC_SET, &ds));
		memset(&ds, POISON, sizeof(ds));
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		C_EQ(16384 + 4096, ds.msg_qbytes);
		C_PERM(ds, BASE + 5, BASE + 6, BASE, BASE, 0600);
		q = C_OK(mq->open(self->name, O_RDWR));
		C_STATUS(q, 0, SIGUSR1, init);
		C_OK(mq->send(q, "host", 4, 0));
		/*
		 * may_create_dentry: the host's uid 0 has no mapping in the
		 * container's user namespace, which owns its mqueue file
		 * system, so it cannot own a new queue there (EOVERFLOW, before
		 * the limits' checks); nothing is made.
		 */
		C_ERR(EOVERFLOW, mq->open("/made_by_host", O_RDWR | O_CREAT | O_EXCL, 0600, ATTR));
		C_ERR(ENOENT, mq->open("/made_by_host", O_RDWR));
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	TELL('s');
	ASSERT_EQ(0, end_container(self));
}

/*
 * may_create_dentry: a creator in the container's IPC namespace (the host,
 * entering it) whose fs uid the container's user namespace maps but whose
 * fs gid it does not (host gid 0) cannot own a new queue there either
 * (EOVERFLOW, nothing made); with its fs gid mapped too it can.
 */
TEST_F(container, a_creator_whose_fs_gid_the_container_does_not_map_gets_eoverflow)
{
	pid_t init = start_container(_metadata, self, FULL), pid;

	if (init == 0) {
		C_TELL('r');
		C_AWAIT('s');
		_exit(0);
	}
	AWAIT('r');
	pid = fork_child();
	if (pid == 0) {
		mqd_t q;

		C_ENTER_IPC_NS(init);
		setfsuid(BASE + 1);
		C_EQ(BASE + 1, setfsuid(-1));
		C_EQ(0, setfsgid(-1));
		C_ERR(EOVERFLOW, mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, ATTR));
		C_ERR(ENOENT, mq->open(self->name, O_RDWR));
		setfsgid(BASE + 1);
		C_EQ(BASE + 1, setfsgid(-1));
		q = C_OK(mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, ATTR));
		C_OK(mq->close(q));
		C_OK(mq->unlink(self->name));
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	TELL('s');
	ASSERT_EQ(0, end_container(self));
}

/* ---- 6. a container in a memory cgroup --------------------------------- */

#define CGROOT "/sys/fs/cgroup"
#define CG_MAX (8L << 20)	/* memory.max of the container's cgroup */
#define FILL_MSG 8192		/* the fill's messages (msgmax, msgsize_max) */

/* Touches the stack the container's fill will use: no page (or page table)
 * to charge once the cgroup is full (a user fault there would retry for
 * ever, with no process the OOM killer may take). */
static void __attribute__((noinline)) prefault_stack(void)
{
	volatile char pad[128 << 10];

	for (size_t i = 0; i < sizeof(pad); i += 256)
		pad[i] = 1;
}

/* What the container's fill did (shared with the test, faulted in first). */
struct memcg_fill {
	int ready, done;
	long qbytes;		/* msg_qbytes of its System V queue */
	long sv_sent, sv_err;	/* System V: sends that worked, the failed one's errno */
	long sv_qnum;		/* msg_qnum after it */
	long sv_back, sv_bad;	/* messages received back, how many not as sent */
	long mq_sent, mq_err;	/* POSIX: the same */
	long mq_curmsgs;	/* mq_curmsgs after it */
};

static struct { long mtype; char mtext[FILL_MSG]; } fill_msg, fill_rcv;

/* A ready flag of the container's fill, within ms. */
static int wait_flag(volatile int *flag, int ms)
{
	for (int i = 0; i < ms && !__atomic_load_n(flag, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE) ? 0 : -1;
}

/*
 * A container (user, pid, IPC and mount namespaces) started in a memory
 * cgroup of memory.max 8 MiB (no swap), its processes exempt from the OOM
 * killer.  Its root raises its namespace's msgmnb (16 MiB) and msg_max
 * (2048), which a new System V queue (msg_qbytes) and a POSIX queue of
 * 2048 x 8 KiB take, and fills the System V queue until a send fails:
 * exactly ENOMEM (native: load_msg's allocation, charged to the cgroup),
 * the queue as it was; it receives half back, byte for byte, then fills
 * the POSIX queue until a send fails: ENOMEM (do_mq_timedsend's load_msg)
 * too.  The messages were charged to the cgroup, which stayed within
 * memory.max, and no process was OOM-killed.  When the container ends, its
 * IPC namespace dies and its queues are freed: memory.current falls back
 * to what it was before the fills (within 512 KiB) within 4 s (natively
 * at once, from a work item; rust_ipc frees a dead namespace's queues
 * within a second or two).
 */
TEST_F(container, a_container_in_a_memory_cgroup_gets_enomem_and_its_end_uncharges)
{
	struct memcg_fill *r = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct rlimit inf = { RLIM_INFINITY, RLIM_INFINITY }, old;
	long base, cur, peak, after = -1, kept, slack;
	struct timespec t0, t1;
	char ctl[256] = "";
	int ms = -1;
	pid_t init;

	ASSERT_NE(MAP_FAILED, r);
	memset(r, 0, PAGE);	/* faulted in here, charged to the test */
	if (read_text(CGROOT "/cgroup.subtree_control", ctl, sizeof(ctl)) < 0 ||
	    !strstr(ctl, "memory"))
		SKIP(return, "no cgroup2 memory controller at " CGROOT);
	snprintf(self->cg, sizeof(self->cg), CGROOT "/ripc_ctr_%d", getpid());
	SYS(mkdir(self->cg, 0755));
	snprintf(ctl, sizeof(ctl), "%ld", CG_MAX);
	SYS(cg_write(self->cg, "memory.max", ctl));
	if (cg_read(self->cg, "memory.swap.max", NULL) >= 0)
		SYS(cg_write(self->cg, "memory.swap.max", "0"));
	ASSERT_EQ(CG_MAX, cg_read(self->cg, "memory.max", NULL));
	/* A queue of 16 MiB, whatever RLIMIT_MSGQUEUE the test had. */
	SYS(getrlimit(RLIMIT_MSGQUEUE, &old));
	SYS(setrlimit(RLIMIT_MSGQUEUE, &inf));
	init = start_container(_metadata, self, FULL);
	if (init > 0)
		SYS(setrlimit(RLIMIT_MSGQUEUE, &old));
	if (init == 0) {
		struct mq_attr big = { .mq_maxmsg = 2048, .mq_msgsize = FILL_MSG };
		struct msqid_ds ds;
		struct mq_attr a;
		int id;
		mqd_t q;

		alarm(30);
		C_EQ(16384, SV_LIMIT(msgmnb, 16 << 20));
		C_EQ(10, MQ_LIMIT(msg_max, 2048));
		id = C_OK(sv->get(IPC_PRIVATE, 0600));
		C_OK(sv->ctl(id, IPC_STAT, &ds));
		r->qbytes = ds.msg_qbytes;
		q = C_OK(mq->open(self->name, O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK, 0600, &big));
		memset(fill_msg.mtext, 'f', sizeof(fill_msg.mtext));
		fill_msg.mtype = 3;
		memset(&fill_rcv, 0, sizeof(fill_rcv));
		prefault_stack();
		__atomic_store_n(&r->ready, 1, __ATOMIC_RELEASE);
		C_AWAIT('g');
		while (sv->snd(id, &fill_msg, FILL_MSG, IPC_NOWAIT) == 0)
			r->sv_sent++;
		r->sv_err = errno;
		r->sv_qnum = sv->ctl(id, IPC_STAT, &ds) ? -1 : (long)ds.msg_qnum;
		for (; r->sv_back < r->sv_sent / 2; r->sv_back++) {
			fill_rcv.mtype = 0;
			fill_rcv.mtext[0] = fill_rcv.mtext[FILL_MSG - 1] = 0;
			if (sv->rcv(id, &fill_rcv, FILL_MSG, 0, IPC_NOWAIT) != FILL_MSG ||
			    fill_rcv.mtype != 3 || memcmp(fill_rcv.mtext, fill_msg.mtext, FILL_MSG))
				r->sv_bad++;
		}
		while (mq->send(q, fill_msg.mtext, FILL_MSG, 1) == 0)
			r->mq_sent++;
		r->mq_err = errno;
		r->mq_curmsgs = mq->getattr(q, &a) ? -1 : a.mq_curmsgs;
		__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
		/* Ends with both queues full: its namespace's death frees them. */
		C_AWAIT('e');
		_exit(0);
	}
	ASSERT_EQ(0, wait_flag(&r->ready, 5000)) TH_LOG("the container did not get ready");
	base = cg_read(self->cg, "memory.current", NULL);
	ASSERT_LE(0, base);
	TELL('g');
	ASSERT_EQ(0, wait_flag(&r->done, 20000)) TH_LOG("the container's fill did not end");
	cur = cg_read(self->cg, "memory.current", NULL);
	peak = cg_read(self->cg, "memory.peak", NULL);
	TH_LOG("%s: memory.current %ld before the fills, %ld after (peak %ld); System V: %ld "
	       "sent, then %s, %ld received back; POSIX: %ld sent, then %s; oom events %ld",
	       mq->name, base, cur, peak, r->sv_sent, strerrorname_np(r->sv_err) ?: "0",
	       r->sv_back, r->mq_sent, strerrorname_np(r->mq_err) ?: "0",
	       cg_read(self->cg, "memory.events", "oom"));
	ASSERT_EQ(16 << 20, r->qbytes);
	ASSERT_EQ(ENOMEM, r->sv_err);
	/* At least half of what memory.max left went into messages. */
	ASSERT_LE((CG_MAX - base) / 2, r->sv_sent * FILL_MSG);
	ASSERT_EQ(r->sv_sent, r->sv_qnum);
	ASSERT_EQ(r->sv_sent / 2, r->sv_back);
	ASSERT_EQ(0, r->sv_bad);
	ASSERT_EQ(ENOMEM, r->mq_err);
	/* The room the receives freed went into POSIX messages. */
	ASSERT_LE(r->sv_back / 2, r->mq_sent);
	ASSERT_EQ(r->mq_sent, r->mq_curmsgs);
	/* (Not base + the messages: the fills' reclaim took some of base.) */
	ASSERT_LE((r->sv_sent - r->sv_back + r->mq_sent) * FILL_MSG, cur)
		TH_LOG("the messages are not charged to the cgroup");
	ASSERT_LE(cur, CG_MAX);
	ASSERT_LE(peak, CG_MAX);
	ASSERT_EQ(0, cg_read(self->cg, "memory.events", "oom_kill"));
	/* The container lives past rust_ipc's first sweep after its namespace
	 * was made (a second), so that a later sweep must free it: the fills
	 * alone can take less. */
	usleep(1500000);
	TELL('e');
	ASSERT_EQ(0, end_container(self));
	/* Beside 512 KiB, what each CPU's charge stock may keep (a batch of
	 * 64 pages), counted in memory.current though nothing uses it; well
	 * below what the fills charged, or the check could not fail. */
	slack = (512L << 10) + sysconf(_SC_NPROCESSORS_ONLN) * 64 * sysconf(_SC_PAGESIZE);
	ASSERT_GT((peak - base) / 2, slack);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 400; i++) {
		after = cg_read(self->cg, "memory.current", NULL);
		if (after >= 0 && after <= base + slack)
			break;
		usleep(10000);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (ts_ns(t1) - ts_ns(t0)) / 1000000;
	kept = after - base;
	TH_LOG("%s: memory.current %ld once the container ended, after %d ms (%+ld from before "
	       "the fills)", mq->name, after, ms, kept);
	ASSERT_LE(0, after);
	ASSERT_GE(base + slack, after) TH_LOG("the dead namespace's queues stay charged");
	ASSERT_EQ(0, cg_read(self->cg, "memory.events", "oom_kill"));
}

/*
 * A container's root at its max_ipc_namespaces limit (1) makes a new IPC
 * namespace once its last one ended, as a container runtime starting the
 * next container does: natively at once (create_ipc_ns() waits for the
 * frees pending), with rust_ipc once the module has let the dead namespace
 * go.  The namespace's last task is the one that made it and never used
 * the queues, which its child did (unshare --fork): rust_ipc's sweep looks
 * again 10 ms after that child exits, then 20, 40, ... ms apart, not at its
 * next second (a round then waited about 1 s: a new namespace arms that
 * second when its first call makes its entry).  Each round's wait:
 * natively none; rust_ipc's tens of milliseconds, below ROUND_MS even when
 * the first task exits 150 ms after its child (the look at 310 ms).
 *
 * Round LATE's first task holds no file of the device (it closes every
 * descriptor from 3 up, which its child's library opens again) and exits
 * 1.2 s after its child, when the sooner looks have ended: only the sweep's
 * second can let that namespace go, within LATE_MS of its end.
 */
#define ROUNDS 6
#define LATE (ROUNDS - 2)
#define ROUND_MS 500
#define LATE_MS 2000

struct ns_rounds {
	int ms[ROUNDS];		/* how long the round's unshare waited */
	int refused[ROUNDS];	/* how often it got ENOSPC */
};

TEST_F(container, a_user_at_its_ipc_namespace_limit_makes_one_soon_after_its_last_ended)
{
	struct ns_rounds *r = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t init;

	ASSERT_NE(MAP_FAILED, r);
	memset(r, 0xff, sizeof(*r));
	init = start_container(_metadata, self, FULL);
	if (init == 0) {
		C_OK(write_text("/proc/sys/user/max_ipc_namespaces", "1"));
		for (int i = 0; i < ROUNDS; i++) {
			pid_t first = C_OK(fork_child()), child;
			struct timespec t0, t1;
			int refused = 0;

			if (first == 0) {
				/* Its namespace, at the limit until the last
				 * round's is freed. */
				clock_gettime(CLOCK_MONOTONIC, &t0);
				while (unshare(CLONE_NEWIPC)) {
					C_EQ(ENOSPC, errno);
					clock_gettime(CLOCK_MONOTONIC, &t1);
					C_EQ(1, ts_ns(t1) - ts_ns(t0) < 3000000000LL);
					refused++;
					usleep(1000);
				}
				clock_gettime(CLOCK_MONOTONIC, &t1);
				r->ms[i] = (ts_ns(t1) - ts_ns(t0)) / 1000000;
				r->refused[i] = refused;
				if (i == LATE)
					closefrom(3);
				child = C_OK(fork_child());
				if (child == 0) {
					mqd_t q;
					int id;

					/* The limit holds: a second is refused. */
					C_ERR(ENOSPC, unshare(CLONE_NEWIPC));
					id = C_OK(sv->get(IPC_PRIVATE, 0600));
					C_OK(snd(sv, id, 1, "kept", IPC_NOWAIT));
					q = C_OK(mq->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600,
							  ATTR));
					C_OK(mq->send(q, "kept", 4, 1));
					_exit(0);
				}
				C_EQ(0, wait_child(child));
				if (i == LATE)
					usleep(1200000);
				_exit(0);
			}
			C_EQ(0, wait_child(first));
		}
		_exit(0);
	}
	ASSERT_EQ(0, end_container(self));
	for (int i = 0; i < ROUNDS; i++) {
		TH_LOG("%s: round %d: unshare(CLONE_NEWIPC) waited %d ms (%d times ENOSPC)",
		       mq->name, i, r->ms[i], r->refused[i]);
		ASSERT_LE(0, r->ms[i]);
		ASSERT_GE(i == LATE + 1 ? LATE_MS : ROUND_MS, r->ms[i])
			TH_LOG("the last namespace was let go late");
	}
	/* The first round's is the container root's first namespace. */
	ASSERT_EQ(0, r->refused[0]);
}

TEST_HARNESS_MAIN
