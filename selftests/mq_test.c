// SPDX-License-Identifier: GPL-2.0
/*
 * POSIX message queues: every test runs on the native queues (glibc mq_*)
 * and on rust_ipc (libripc), and expects the same results: return values,
 * errno, bytes.  The rules are those of /work/shared/native-semantics.md
 * (Linux 7.3 ipc/mqueue.c + glibc).
 */
#include "ripc_backends.h"

#include <dirent.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

FIXTURE(mq) {
	const struct mq_backend *be;
	char name[64];		/* the test's queue */
	char name2[NAME_MAX + 8];	/* a second name, if needed */
	long saved[NLIMITS];	/* limits to restore, if > 0 */
};

FIXTURE_VARIANT(mq) {
	const struct mq_backend *be;
};

FIXTURE_VARIANT_ADD(mq, native) { .be = &native_mq_be };
FIXTURE_VARIANT_ADD(mq, ripc) { .be = &ripc_mq_be };

FIXTURE_SETUP(mq)
{
	SETUP_BACKEND();
	snprintf(self->name, sizeof(self->name), "/ripc_test_%d", getpid());
	snprintf(self->name2, sizeof(self->name2), "/ripc_test_%d_b", getpid());
}

FIXTURE_TEARDOWN(mq)
{
	for (int i = 0; i < NLIMITS; i++)
		if (self->saved[i] > 0)
			self->be->set_limit(i, self->saved[i]);
	self->be->unlink(self->name);
	self->be->unlink(self->name2);
}

/* In test bodies: the backend under test. */
#define be (self->be)

/* How long a check that no notification comes waits for one (ms). */
#define QUIET_MS 100

/*
 * Creates (O_CREAT|O_EXCL) self->name with maxmsg x msgsize (0: defaults),
 * a queue of the backend under test (not the other's).
 */
#define MKQ(oflag, maxmsg, msgsize) ({ \
	struct mq_attr __a = { .mq_maxmsg = (maxmsg), .mq_msgsize = (msgsize) }; \
	mqd_t __q = (mqd_t)SYS(be->open(self->name, O_CREAT | O_EXCL | (oflag), 0600, \
					(maxmsg) ? &__a : NULL)); \
	ASSERT_TRUE(be->ours(__q)) TH_LOG("not a %s queue", be->name); \
	__q; \
})

#define ASSERT_ATTR(q, flags, maxmsg, msgsize, curmsgs) do { \
	struct mq_attr __a; \
	SYS(be->getattr(q, &__a)); \
	ASSERT_EQ(flags, __a.mq_flags); \
	ASSERT_EQ(maxmsg, __a.mq_maxmsg); \
	ASSERT_EQ(msgsize, __a.mq_msgsize); \
	ASSERT_EQ(curmsgs, __a.mq_curmsgs); \
} while (0)

/*
 * Receives one message into a buffer filled with POISON and checks its
 * length, priority and bytes (a string), and that no byte of the buffer
 * after the message was written.
 */
#define ASSERT_RECV(q, bufsz, str, prio) do { \
	char __b[bufsz]; \
	unsigned int __p = ~0u; \
	size_t __l = strlen(str); \
	memset(__b, POISON, sizeof(__b)); \
	ssize_t __n = be->receive(q, __b, sizeof(__b), &__p); \
	int __e = errno; \
	ASSERT_EQ((ssize_t)__l, __n) TH_LOG("errno %s", strerrorname_np(__e)); \
	ASSERT_EQ(0, memcmp(__b, str, __l)); \
	ASSERT_EQ((unsigned int)(prio), __p); \
	ASSERT_EQ(sizeof(__b), first_written(__b, __l, sizeof(__b))) \
		TH_LOG("a byte after the %zu of the message was written", __l); \
} while (0)

/* Sets a limit (as root) for the rest of the test; teardown restores it. */
#define SET_LIMIT(which, val) do { \
	long __old = be->set_limit(which, 0); \
	int __e = errno; \
	ASSERT_LT(0, __old) TH_LOG("reading %s: %s", limit_def[which].sysctl, \
				   strerrorname_np(__e)); \
	if (!self->saved[which]) \
		self->saved[which] = __old; \
	__e = be->set_limit(which, val) < 0 ? errno : 0; \
	ASSERT_EQ(0, __e) TH_LOG("cannot set %s: %s", limit_def[which].sysctl, \
				 strerrorname_np(__e)); \
	ASSERT_EQ((long)(val), be->set_limit(which, 0)); \
} while (0)

/* ---- names and open --------------------------------------------------- */

TEST_F(mq, name_without_leading_slash_is_einval)
{
	ASSERT_ERRNO(EINVAL, be->open("ripc_noslash", O_RDWR | O_CREAT, 0600, NULL));
	ASSERT_ERRNO(EINVAL, be->unlink("ripc_noslash"));
}

TEST_F(mq, name_slash_alone_is_enoent)
{
	ASSERT_ERRNO(ENOENT, be->open("/", O_RDWR | O_CREAT, 0600, NULL));
	ASSERT_ERRNO(ENOENT, be->open("/", O_RDWR));
}

TEST_F(mq, name_with_slash_dot_or_dotdot_is_eacces)
{
	static const char *const bad[] = { "/a/b", "//", "/.", "/..", "/ripc/" };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ASSERT_ERRNO(EACCES, be->open(bad[i], O_RDWR | O_CREAT, 0600, NULL));
}

TEST_F(mq, name_component_of_256_is_enametoolong)
{
	char name[NAME_MAX + 3] = "/";

	memset(name + 1, 'n', NAME_MAX + 1);
	name[NAME_MAX + 2] = 0;
	ASSERT_ERRNO(ENAMETOOLONG, be->open(name, O_RDWR | O_CREAT, 0600, NULL));
	/* 255 is fine. */
	memset(self->name2 + 1, 'n', NAME_MAX);
	self->name2[NAME_MAX + 1] = 0;
	SYS(be->close(SYS(be->open(self->name2, O_RDWR | O_CREAT | O_EXCL, 0600, NULL))));
	SYS(be->unlink(self->name2));
}

/*
 * What glibc passes the system call (the name after its slash) is refused
 * from PATH_MAX bytes on (getname), before it is looked at; one byte
 * shorter, the slash in it is EACCES.
 */
TEST_F(mq, name_of_path_max_bytes_after_the_slash_is_enametoolong_first)
{
	static char name[PATH_MAX + 2];

	name[0] = '/';
	memset(name + 1, 'n', PATH_MAX);
	name[2] = '/';
	ASSERT_ERRNO(ENAMETOOLONG, be->open(name, O_RDWR | O_CREAT, 0600, NULL));
	ASSERT_ERRNO(ENAMETOOLONG, be->unlink(name));
	name[PATH_MAX] = 0;
	ASSERT_ERRNO(EACCES, be->open(name, O_RDWR | O_CREAT, 0600, NULL));
	ASSERT_ERRNO(EACCES, be->unlink(name));
}

/*
 * getname reads PATH_MAX bytes after the slash and no more: a name whose
 * PATH_MAX bytes end a page, the next page not mapped, is ENAMETOOLONG,
 * not EFAULT (a byte past them is never read).
 */
TEST_F(mq, a_name_of_path_max_bytes_at_the_end_of_a_page_is_enametoolong)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t len = 2 * (size_t)page;
	char *map = mmap(NULL, len + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	char *name;

	ASSERT_NE(MAP_FAILED, map);
	SYS(mprotect(map + len, page, PROT_NONE));
	name = map + len - (PATH_MAX + 1);
	name[0] = '/';
	memset(name + 1, 'n', PATH_MAX);
	ASSERT_ERRNO(ENAMETOOLONG, be->open(name, O_RDWR | O_CREAT, 0600, NULL));
	ASSERT_ERRNO(ENAMETOOLONG, be->unlink(name));
	munmap(map, len + page);
}

/* mq_open reads its attr before the name (after glibc's check of the slash). */
TEST_F(mq, a_bad_attr_is_efault_before_the_name_is_looked_at)
{
	struct mq_attr *bad = (struct mq_attr *)8;

	ASSERT_ERRNO(EFAULT, be->open("/a/b", O_RDWR | O_CREAT, 0600, bad));
	ASSERT_ERRNO(EFAULT, be->open("/", O_RDWR | O_CREAT, 0600, bad));
	ASSERT_ERRNO(EINVAL, be->open("noslash", O_RDWR | O_CREAT, 0600, bad));
}

TEST_F(mq, open_missing_without_creat_is_enoent)
{
	ASSERT_ERRNO(ENOENT, be->open(self->name, O_RDWR));
	ASSERT_ERRNO(ENOENT, be->open(self->name, O_RDONLY | O_EXCL));
}

TEST_F(mq, creat_excl_on_existing_is_eexist)
{
	mqd_t q = MKQ(O_RDWR, 0, 0), q2;

	ASSERT_ERRNO(EEXIST, be->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL));
	/* Without O_EXCL it opens the same queue. */
	q2 = SYS(be->open(self->name, O_RDWR | O_CREAT, 0600, NULL));
	SYS(be->send(q, "x", 1, 0));
	ASSERT_ATTR(q2, 0, 10, 8192, 1);
}

TEST_F(mq, accmode_3_on_existing_is_einval)
{
	MKQ(O_RDWR, 0, 0);
	ASSERT_ERRNO(EINVAL, be->open(self->name, O_ACCMODE));
	ASSERT_ERRNO(EINVAL, be->open(self->name, O_ACCMODE | O_CREAT, 0600, NULL));
}

/*
 * prepare_open on an existing queue: O_EXCL counts only with O_CREAT (alone
 * it is ignored, as by open(2), and the queue opens).
 */
TEST_F(mq, excl_without_creat_opens_an_existing_queue)
{
	mqd_t q = MKQ(O_RDWR, 4, 16), q2;

	q2 = SYS(be->open(self->name, O_RDONLY | O_EXCL));
	SYS(be->send(q, "x", 1, 3));
	ASSERT_RECV(q2, 16, "x", 3);
	SYS(be->close(SYS(be->open(self->name, O_WRONLY | O_EXCL))));
}

/* prepare_open: EEXIST (O_CREAT|O_EXCL) before access mode 3's EINVAL. */
TEST_F(mq, eexist_comes_before_the_einval_of_accmode_3)
{
	MKQ(O_RDWR, 0, 0);
	ASSERT_ERRNO(EEXIST, be->open(self->name, O_ACCMODE | O_CREAT | O_EXCL, 0600, NULL));
}

TEST_F(mq, attr_maxmsg_or_msgsize_not_positive_is_einval)
{
	static const long bad[][2] = { { 0, 16 }, { -1, 16 }, { 4, 0 }, { 4, -1 }, { LONG_MIN, 1 } };

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct mq_attr a = { .mq_maxmsg = bad[i][0], .mq_msgsize = bad[i][1] };

		ASSERT_ERRNO(EINVAL, be->open(self->name, O_RDWR | O_CREAT, 0600, &a));
	}
	ASSERT_ERRNO(ENOENT, be->open(self->name, O_RDWR));
}

TEST_F(mq, attr_ignored_when_queue_exists)
{
	struct mq_attr a = { .mq_maxmsg = -1, .mq_msgsize = -1 };
	mqd_t q;

	MKQ(O_RDWR, 3, 16);
	q = SYS(be->open(self->name, O_RDWR | O_CREAT, 0600, &a));
	ASSERT_ATTR(q, 0, 3, 16, 0);
}

TEST_F(mq, attr_above_limits_unprivileged_is_einval)
{
	pid_t pid;

	REQUIRE_ROOT();
	pid = fork_child();
	if (pid == 0) {
		struct mq_attr big_n = { .mq_maxmsg = 11, .mq_msgsize = 16 };
		struct mq_attr big_s = { .mq_maxmsg = 1, .mq_msgsize = 8193 };
		struct mq_attr max = { .mq_maxmsg = 10, .mq_msgsize = 8192 };

		CHILD_CHECK(drop_privs() == 0);
		CHILD_CHECK(be->open(self->name, O_RDWR | O_CREAT, 0600, &big_n) == -1 &&
			    errno == EINVAL);
		CHILD_CHECK(be->open(self->name, O_RDWR | O_CREAT, 0600, &big_s) == -1 &&
			    errno == EINVAL);
		CHILD_CHECK(be->open(self->name, O_RDWR | O_CREAT, 0600, &max) >= 0);
		CHILD_CHECK(be->unlink(self->name) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

TEST_F(mq, attr_above_limits_allowed_with_cap_sys_resource)
{
	struct mq_attr a = { .mq_maxmsg = 65537, .mq_msgsize = 1 };
	mqd_t q;

	REQUIRE_CAP(CAP_SYS_RESOURCE);
	/* The hard caps stay: HARD_MSGMAX 65536, HARD_MSGSIZEMAX 16 MiB. */
	ASSERT_ERRNO(EINVAL, be->open(self->name, O_RDWR | O_CREAT, 0600, &a));
	a.mq_maxmsg = 1;
	a.mq_msgsize = (16 << 20) + 1;
	ASSERT_ERRNO(EINVAL, be->open(self->name, O_RDWR | O_CREAT, 0600, &a));
	q = MKQ(O_RDWR, 11, 8193);
	ASSERT_ATTR(q, 0, 11, 8193, 0);
}

/*
 * With CAP_SYS_RESOURCE, maxmsg may be HARD_MSGMAX (65536) itself.  Such a
 * queue is charged tree nodes for at most MQ_PRIO_MAX (32768) messages:
 * 65536 * (1 + 48) + 32768 * 48 bytes (a msg_msg and a tree node are 48
 * bytes each: rlimit_msgqueue_charge_is_exact) against RLIMIT_MSGQUEUE,
 * which binds root too.  Root's other queues, if any were left, count
 * too: the limit that must let the queue in has 64 KiB to spare (a tree
 * node per message would be 1.5 MiB more).
 */
TEST_F(mq, maxmsg_of_hard_msgmax_is_charged_at_most_32768_tree_nodes)
{
	struct mq_attr a = { .mq_maxmsg = 65536, .mq_msgsize = 1 };
	const rlim_t charge = 65536 * (1 + 48) + 32768 * 48;
	struct rlimit rl = { charge - 1, charge - 1 };
	mqd_t q;

	REQUIRE_CAP(CAP_SYS_RESOURCE);
	SYS(setrlimit(RLIMIT_MSGQUEUE, &rl));
	ASSERT_ERRNO(EMFILE, be->open(self->name, O_RDWR | O_CREAT, 0600, &a));
	rl.rlim_cur = rl.rlim_max = charge + 65536;
	SYS(setrlimit(RLIMIT_MSGQUEUE, &rl));
	q = SYS(be->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &a));
	ASSERT_TRUE(be->ours(q));
	ASSERT_ATTR(q, 0, 65536, 1, 0);
}

TEST_F(mq, null_attr_gives_defaults)
{
	mqd_t q = MKQ(O_RDWR, 0, 0);

	ASSERT_ATTR(q, 0, 10, 8192, 0);
}

/*
 * A POSIX limit that be->set_limit does not cover: fs.mqueue.<sysctl>
 * natively, the field at offset in struct ripc_limits on rust_ipc.  Sets it
 * if val > 0; returns the old value (or -1).
 */
static long other_limit(const struct mq_backend *b, const char *sysctl, size_t offset, long val)
{
	char path[64];

	if (b != &native_mq_be)
		return ripc_limit(offset, val);
	snprintf(path, sizeof(path), "/proc/sys/fs/mqueue/%s", sysctl);
	return sysctl_rw(path, val);
}

/*
 * NULL attr: maxmsg = min(msg_max, msg_default), msgsize =
 * min(msgsize_max, msgsize_default) (mqueue_get_inode).
 */
TEST_F(mq, null_attr_defaults_are_capped_by_the_maxima)
{
	const size_t off = offsetof(struct ripc_limits, mq_msg_max);
	long old = other_limit(be, "msg_max", off, 0);
	struct mq_attr a = { 0 };
	mqd_t q;
	int r, e;

	REQUIRE_ROOT();
	ASSERT_LT(0, old);
	SET_LIMIT(LIM_MSGSIZE_MAX, 4096);
	ASSERT_EQ(old, other_limit(be, "msg_max", off, 5));
	q = be->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
	e = errno;
	r = q < 0 ? -1 : be->getattr(q, &a);
	/* Restored before anything is asserted. */
	ASSERT_EQ(5, other_limit(be, "msg_max", off, old));
	ASSERT_EQ(0, r) TH_LOG("mq_open: %s", strerrorname_np(e));
	ASSERT_TRUE(be->ours(q));
	ASSERT_EQ(5, a.mq_maxmsg);
	ASSERT_EQ(4096, a.mq_msgsize);
}

TEST_F(mq, rlimit_msgqueue_exceeded_is_emfile)
{
	struct rlimit rl = { 1000, 1000 };

	SYS(setrlimit(RLIMIT_MSGQUEUE, &rl));
	ASSERT_ERRNO(EMFILE, be->open(self->name, O_RDWR | O_CREAT, 0600, NULL));
	MKQ(O_RDWR, 1, 1);	/* ~100 bytes fit */
}

TEST_F(mq, queues_max_reached_unprivileged_is_enospc)
{
	char third[80];
	long n;
	int e;
	pid_t pid;

	REQUIRE_ROOT();
	n = be->nqueues();
	e = errno;
	ASSERT_LE(0, n) TH_LOG("cannot count the %s queues: %s", be->name, strerrorname_np(e));
	/* (rust_ipc counts its own queues, not the native ones.) */
	SET_LIMIT(LIM_QUEUES_MAX, n + 1);
	pid = fork_child();
	if (pid == 0) {
		struct mq_attr a = { .mq_maxmsg = 2, .mq_msgsize = 16 };
		mqd_t q, q2;

		/* Without CAP_SYS_RESOURCE (root's would bypass the limit). */
		CHILD_CHECK(drop_privs() == 0);
		CHILD_CHECK((q = be->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &a)) >= 0);
		CHILD_CHECK(be->open(self->name2, O_RDWR | O_CREAT, 0600, &a) == -1 &&
			    errno == ENOSPC);
		CHILD_CHECK(be->open(self->name2, O_RDWR | O_CREAT, 0600, NULL) == -1 &&
			    errno == ENOSPC);
		/* Opening an existing queue creates nothing. */
		CHILD_CHECK((q2 = be->open(self->name, O_RDWR | O_CREAT, 0600, &a)) >= 0);
		CHILD_CHECK(be->open(self->name2, O_RDWR) == -1 && errno == ENOENT);
		/* A freed queue (unlinked, every descriptor closed) makes room again. */
		CHILD_CHECK(be->unlink(self->name) == 0);
		CHILD_CHECK(be->close(q) == 0 && be->close(q2) == 0);
		CHILD_CHECK(be->open(self->name2, O_RDWR | O_CREAT | O_EXCL, 0600, &a) >= 0);
		CHILD_CHECK(be->unlink(self->name2) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	/* CAP_SYS_RESOURCE goes past queues_max (root has it, unless it runs
	 * with a bounding set without it). */
	if (!have_cap(CAP_SYS_RESOURCE))
		SKIP(return, "going past queues_max needs CAP_SYS_RESOURCE");
	MKQ(O_RDWR, 2, 16);
	SYS(be->open(self->name2, O_RDWR | O_CREAT | O_EXCL, 0600, NULL));
	/* The limit still holds for one without it. */
	snprintf(third, sizeof(third), "%s_c", self->name);
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(drop_privs() == 0);
		CHILD_CHECK(be->open(third, O_RDWR | O_CREAT, 0600, NULL) == -1 && errno == ENOSPC);
		_exit(0);
	}
	e = wait_child(pid);
	be->unlink(third);
	ASSERT_EQ(0, e);
}

/*
 * Many names, made and unlinked in an order unlike the one they were made
 * in (rust_ipc's name table grows, shrinks and moves entries back over
 * the ones removed): each is found exactly while it exists.  In an IPC
 * namespace of the test's own.
 */
TEST_F(mq, many_names_made_and_unlinked_are_each_found_while_they_exist)
{
	enum { N = 1500 };
	struct mq_attr a = { .mq_maxmsg = 1, .mq_msgsize = 8 };
	char (*names)[64] = calloc(N, sizeof(*names));
	int q;

	REQUIRE_ROOT();
	ASSERT_NE(NULL, names);
	SYS(setrlimit(RLIMIT_MSGQUEUE, &(struct rlimit){ RLIM_INFINITY, RLIM_INFINITY }));
	SYS(unshare(CLONE_NEWIPC));
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "/many_%d_%x", i, i * 2654435761u);
		q = SYS(be->open(names[i], O_RDWR | O_CREAT | O_EXCL, 0600, &a));
		SYS(be->close(q));
	}
	/* Two of every three, from the last down. */
	for (int i = N - 1; i >= 0; i--)
		if (i % 3)
			SYS(be->unlink(names[i]));
	for (int i = 0; i < N; i++) {
		q = be->open(names[i], O_RDONLY);
		if (i % 3) {
			ASSERT_EQ(-1, q) TH_LOG("%s was unlinked", names[i]);
			ASSERT_EQ(ENOENT, errno);
		} else {
			ASSERT_LE(0, q) TH_LOG("%s: %s", names[i], strerrorname_np(errno));
			SYS(be->close(q));
		}
	}
	/* Made again, then every one unlinked, from the first up. */
	for (int i = 0; i < N; i++) {
		if (!(i % 3))
			continue;
		q = SYS(be->open(names[i], O_RDWR | O_CREAT | O_EXCL, 0600, &a));
		SYS(be->close(q));
	}
	for (int i = 0; i < N; i++)
		SYS(be->unlink(names[i]));
	for (int i = 0; i < N; i++)
		ASSERT_ERRNO(ENOENT, be->open(names[i], O_RDONLY));
	free(names);
}

/*
 * RLIMIT_MSGQUEUE charges the creator's (real) user
 * maxmsg * msgsize + maxmsg * sizeof(struct msg_msg) +
 * min(maxmsg, MQ_PRIO_MAX) * sizeof(struct posix_msg_tree_node): 2 x 100
 * gives 200 + 96 + 96 = 392 bytes.  Run as nobody, who has no queues.
 */
TEST_F(mq, rlimit_msgqueue_charge_is_exact)
{
	pid_t pid;

	REQUIRE_ROOT();
	pid = fork_child();
	if (pid == 0) {
		struct mq_attr a = { .mq_maxmsg = 2, .mq_msgsize = 100 };
		struct rlimit rl = { 391, 392 };
		mqd_t q;

		CHILD_CHECK(drop_privs() == 0);
		CHILD_CHECK(setrlimit(RLIMIT_MSGQUEUE, &rl) == 0);
		CHILD_CHECK(be->open(self->name, O_RDWR | O_CREAT, 0600, &a) == -1 &&
			    errno == EMFILE);
		CHILD_CHECK(be->open(self->name, O_RDWR) == -1 && errno == ENOENT);
		rl.rlim_cur = 392;
		CHILD_CHECK(setrlimit(RLIMIT_MSGQUEUE, &rl) == 0);
		CHILD_CHECK((q = be->open(self->name, O_RDWR | O_CREAT, 0600, &a)) >= 0);
		CHILD_CHECK(be->open(self->name2, O_RDWR | O_CREAT, 0600, &a) == -1 &&
			    errno == EMFILE);
		/* The smallest queue does not fit either. */
		a.mq_maxmsg = 1;
		a.mq_msgsize = 1;
		CHILD_CHECK(be->open(self->name2, O_RDWR | O_CREAT, 0600, &a) == -1 &&
			    errno == EMFILE);
		/* The charge goes with the queue (unlinked and closed). */
		CHILD_CHECK(be->unlink(self->name) == 0);
		CHILD_CHECK(be->close(q) == 0);
		a.mq_maxmsg = 2;
		a.mq_msgsize = 100;
		CHILD_CHECK(be->open(self->name2, O_RDWR | O_CREAT, 0600, &a) >= 0);
		CHILD_CHECK(be->unlink(self->name2) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

TEST_F(mq, open_checks_mode_and_umask)
{
	pid_t pid;

	REQUIRE_ROOT();
	umask(022);
	SYS(be->open(self->name, O_RDWR | O_CREAT, 0666, NULL));	/* 0644 */
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(drop_privs() == 0);
		CHILD_CHECK(be->open(self->name, O_RDONLY) >= 0);
		CHILD_CHECK(be->open(self->name, O_WRONLY) == -1 && errno == EACCES);
		CHILD_CHECK(be->open(self->name, O_RDWR) == -1 && errno == EACCES);
		/* Neither owner of the queue nor of the (sticky) directory. */
		CHILD_CHECK(be->unlink(self->name) == -1 && errno == EACCES);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/*
 * fchmod() and fchown() of a queue descriptor change the queue: later
 * opens check the new mode and owner; only the owner (or CAP_FOWNER /
 * CAP_CHOWN) may, an owner may give the queue only to one of its groups.
 * (rust_ipc's
 * descriptor is a file of the device: fchmod() of it changed the node.)
 */
TEST_F(mq, fchmod_and_fchown_change_the_queue_for_later_opens)
{
	struct stat before, after;
	int have_before;
	pid_t pid;
	mqd_t q;

	REQUIRE_ROOT();
	umask(022);
	/* The node is there for rust_ipc (its probe found it); natively too
	 * when the module is loaded, which a kernel without it need not be. */
	have_before = stat(RIPC_DEVICE, &before) == 0;
	if (be == &ripc_mq_be)
		ASSERT_TRUE(have_before) TH_LOG("stat %s: %s", RIPC_DEVICE, strerrorname_np(errno));
	q = SYS(be->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL));
	SYS(be->fchmod(q, 0604));
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(drop_privs() == 0);
		CHILD_CHECK(be->open(self->name, O_RDONLY) >= 0);
		CHILD_CHECK(be->open(self->name, O_WRONLY) == -1 && errno == EACCES);
		/* Not the owner. */
		CHILD_CHECK(be->fchmod(q, 0666) == -1 && errno == EPERM);
		CHILD_CHECK(be->fchown(q, NOBODY, -1) == -1 && errno == EPERM);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	/* Given to nobody, who then owns it. */
	SYS(be->fchown(q, NOBODY, NOBODY));
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(drop_privs() == 0);
		CHILD_CHECK(be->fchmod(q, 0600) == 0);
		CHILD_CHECK(be->open(self->name, O_RDWR) >= 0);
		CHILD_CHECK(be->fchown(q, -1, -1) == 0);
		CHILD_CHECK(be->fchown(q, NOBODY, NOBODY) == 0);
		/* Not to another user, nor to a group it is not in. */
		CHILD_CHECK(be->fchown(q, 0, -1) == -1 && errno == EPERM);
		CHILD_CHECK(be->fchown(q, -1, 0) == -1 && errno == EPERM);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	/* Root's open now needs its capability: still opens. */
	SYS(be->close(SYS(be->open(self->name, O_RDWR))));
	SYS(be->fchmod(q, 0));
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(drop_privs() == 0);
		CHILD_CHECK(be->open(self->name, O_RDONLY) == -1 && errno == EACCES);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	SYS(be->close(q));
	/* The device node is what it was. */
	if (!have_before)
		SKIP(return, "no %s to compare", RIPC_DEVICE);
	SYS(stat(RIPC_DEVICE, &after));
	ASSERT_EQ(before.st_mode, after.st_mode);
	ASSERT_EQ(before.st_uid, after.st_uid);
	ASSERT_EQ(before.st_gid, after.st_gid);
}

/* A queue's mode bits and owner: fstat() of its descriptor natively,
 * rust_ipc's listing ("/name uid gid mode ...") for its queues. */
static int queue_perm(const struct mq_backend *b, mqd_t q, const char *name,
		      unsigned int out[3])
{
	static char buf[1 << 16];
	size_t n = strlen(name);
	struct stat st;

	if (b == &native_mq_be) {
		if (fstat(q, &st))
			return -1;
		/* Under the drop-in (preload_test.sh) a file of the device. */
		if (S_ISCHR(st.st_mode))
			b = &ripc_mq_be;
	}
	if (b == &native_mq_be) {
		out[0] = st.st_mode & 07777;
		out[1] = st.st_uid;
		out[2] = st.st_gid;
		return 0;
	}
	if (ripc_list(RIPC_LIST_POSIX, buf, sizeof(buf)) < 0)
		return -1;
	for (char *l = buf; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, name, n) && l[n] == ' ' &&
		    sscanf(l + n, "%u %u %o", &out[1], &out[2], &out[0]) == 3)
			return 0;
	return -1;
}

#define ASSERT_PERM(mode, uid, gid) do { \
	unsigned int __p[3]; \
	ASSERT_EQ(0, queue_perm(be, q, self->name, __p)); \
	ASSERT_EQ((unsigned int)(mode), __p[0]); \
	ASSERT_EQ((unsigned int)(uid), __p[1]); \
	ASSERT_EQ((unsigned int)(gid), __p[2]); \
} while (0)

/*
 * Opens check, and creations own, the caller's fs uid (setfsuid), not its
 * effective uid: root with fsuid nobody (and so no DAC capability in
 * effect) is refused root's 0600 queue, and a queue it makes is nobody's.
 */
TEST_F(mq, open_and_creation_go_by_the_fsuid)
{
	unsigned int p[3];
	mqd_t q2;
	pid_t pid;

	REQUIRE_ROOT();
	umask(0);
	MKQ(O_RDWR, 4, 16);
	pid = fork_child();
	if (pid == 0) {
		setfsuid(NOBODY);
		CHILD_CHECK(setfsuid(-1) == NOBODY);
		CHILD_CHECK(be->open(self->name, O_RDONLY) == -1 && errno == EACCES);
		CHILD_CHECK(be->open(self->name2, O_RDWR | O_CREAT | O_EXCL, 0600, NULL) >= 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	q2 = SYS(be->open(self->name2, O_RDONLY));
	ASSERT_EQ(0, queue_perm(be, q2, self->name2, p));
	ASSERT_EQ(0600u, p[0]);
	ASSERT_EQ((unsigned int)NOBODY, p[1]);
	ASSERT_EQ(0u, p[2]);
}

/*
 * A new queue's mode is mq_open's mode & 07777 (vfs_mkobj's S_IALLUGO: the
 * set-ID and sticky bits stay), less every bit of the umask.
 */
TEST_F(mq, creation_mode_keeps_the_set_id_bits_less_the_whole_umask)
{
	mqd_t q;

	REQUIRE_ROOT();
	umask(0222);
	q = SYS(be->open(self->name, O_RDWR | O_CREAT | O_EXCL, 017777, NULL));
	ASSERT_PERM(07555, 0, 0);
	SYS(be->close(q));
}

/*
 * notify_change()'s rules for the set-ID bits: fchmod keeps set-group-ID
 * only for a caller in the queue's group or with CAP_FSETID; fchown clears
 * set-user-ID, and set-group-ID when group execute is set (or the caller
 * could not set it).
 */
TEST_F(mq, fchmod_and_fchown_treat_the_set_id_bits_as_native)
{
	pid_t pid;
	mqd_t q;

	REQUIRE_ROOT();
	umask(0);
	q = SYS(be->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL));
	ASSERT_PERM(0600, 0, 0);
	SYS(be->fchmod(q, 016750));	/* beyond 07777: ignored */
	ASSERT_PERM(06750, 0, 0);
	SYS(be->fchown(q, NOBODY, -1));
	ASSERT_PERM(0750, NOBODY, 0);
	SYS(be->fchmod(q, 02700));
	SYS(be->fchown(q, -1, -1));
	ASSERT_PERM(02700, NOBODY, 0);
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(drop_privs() == 0);
		/* The owner, not in group 0: the set-group-ID bit goes. */
		CHILD_CHECK(be->fchmod(q, 02640) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_PERM(0640, NOBODY, 0);
	SYS(be->close(q));
}

TEST_F(mq, descriptor_is_close_on_exec)
{
	mqd_t q = MKQ(O_RDWR, 0, 0);

	ASSERT_EQ(FD_CLOEXEC, SYS(fcntl(q, F_GETFD)));
}

/* The kernel's O_LARGEFILE on x86 (glibc's is 0 on 64-bit builds). */
#define KERNEL_O_LARGEFILE 0100000

/* F_GETFL gives mq_open's flags: the access mode and O_NONBLOCK, no
 * O_LARGEFILE (which an open() of a file on a 64-bit kernel has), and
 * O_LARGEFILE when mq_open is given it. */
TEST_F(mq, file_status_flags_are_mq_opens)
{
	mqd_t q = MKQ(O_RDWR | O_NONBLOCK, 0, 0), r, w;

	ASSERT_EQ(O_RDWR | O_NONBLOCK, SYS(fcntl(q, F_GETFL)));
	r = SYS(be->open(self->name, O_RDONLY));
	ASSERT_EQ(O_RDONLY, SYS(fcntl(r, F_GETFL)));
	w = SYS(be->open(self->name, O_WRONLY | KERNEL_O_LARGEFILE));
	ASSERT_EQ(O_WRONLY | KERNEL_O_LARGEFILE, SYS(fcntl(w, F_GETFL)));
	SYS(fcntl(r, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(O_RDONLY | O_NONBLOCK, SYS(fcntl(r, F_GETFL)));
	SYS(be->close(w));
	SYS(be->close(r));
}

/* The file keeps every flag mq_open is given but the four do_dentry_open
 * drops (O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC): O_CLOEXEC, O_APPEND, O_SYNC,
 * O_NOATIME, O_ASYNC, O_DIRECTORY and O_NOFOLLOW show in F_GETFL. */
TEST_F(mq, file_status_flags_keep_every_flag_but_the_creation_ones)
{
	const int kept = O_CLOEXEC | O_APPEND | O_SYNC | O_NOATIME | O_ASYNC | O_DIRECTORY |
			 O_NOFOLLOW;
	mqd_t q = SYS(be->open(self->name, O_RDWR | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | kept,
			       0600, NULL));
	mqd_t r = SYS(be->open(self->name, O_WRONLY | O_CLOEXEC | O_DSYNC));

	ASSERT_EQ(O_RDWR | kept, SYS(fcntl(q, F_GETFL)));
	ASSERT_EQ(O_WRONLY | O_CLOEXEC | O_DSYNC, SYS(fcntl(r, F_GETFL)));
	ASSERT_EQ(FD_CLOEXEC, SYS(fcntl(r, F_GETFD)));
	SYS(be->close(r));
	SYS(be->close(q));
}

/* ---- send and receive --------------------------------------------------- */

/* A receive whose priority's place faults (EFAULT) writes nothing to its
 * buffer: native's put_user of the priority comes before the text. */
TEST_F(mq, a_receive_whose_priority_faults_leaves_the_buffer_untouched)
{
	unsigned int *ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mqd_t q = MKQ(O_RDWR, 2, 8);
	char buf[8];

	ASSERT_NE(MAP_FAILED, ro);
	memset(buf, POISON, sizeof(buf));
	SYS(be->send(q, "abc", 3, 1));
	ASSERT_ERRNO(EFAULT, be->receive(q, buf, sizeof(buf), ro));
	ASSERT_EQ(sizeof(buf), first_written(buf, 0, sizeof(buf)));
	munmap(ro, PAGE);
}

TEST_F(mq, receive_highest_priority_first_fifo_within)
{
	static const struct { const char *s; unsigned int prio; } msgs[] = {
		{ "a1", 1 }, { "b5", 5 }, { "c1", 1 }, { "d5", 5 }, { "e0", 0 }, { "f32767", 32767 },
	};
	mqd_t q = MKQ(O_RDWR, 10, 64);

	for (size_t i = 0; i < ARRAY_SIZE(msgs); i++)
		SYS(be->send(q, msgs[i].s, strlen(msgs[i].s), msgs[i].prio));
	ASSERT_ATTR(q, 0, 10, 64, 6);
	ASSERT_RECV(q, 64, "f32767", 32767);
	ASSERT_RECV(q, 64, "b5", 5);
	ASSERT_RECV(q, 64, "d5", 5);
	ASSERT_RECV(q, 64, "a1", 1);
	ASSERT_RECV(q, 64, "c1", 1);
	ASSERT_RECV(q, 64, "e0", 0);
	ASSERT_ATTR(q, 0, 10, 64, 0);
}

TEST_F(mq, receive_with_null_prio)
{
	mqd_t q = MKQ(O_RDWR, 10, 64);
	char buf[64];

	SYS(be->send(q, "abc", 3, 9));
	memset(buf, POISON, sizeof(buf));
	ASSERT_EQ(3, be->receive(q, buf, sizeof(buf), NULL));
	ASSERT_EQ(0, memcmp(buf, "abc", 3));
	ASSERT_EQ(sizeof(buf), first_written(buf, 3, sizeof(buf)));
	ASSERT_ATTR(q, 0, 10, 64, 0);
}

TEST_F(mq, prio_32768_is_einval)
{
	mqd_t q = MKQ(O_RDWR, 10, 64);
	mqd_t ro = SYS(be->open(self->name, O_RDONLY));

	ASSERT_ERRNO(EINVAL, be->send(q, "x", 1, 32768));
	ASSERT_ERRNO(EINVAL, be->send(q, "x", 1, UINT_MAX));
	/* The priority is checked before the descriptor. */
	ASSERT_ERRNO(EINVAL, be->send(ro, "x", 1, 32768));
	ASSERT_ERRNO(EINVAL, be->send(-1, "x", 1, 32768));
	ASSERT_ATTR(q, 0, 10, 64, 0);
}

TEST_F(mq, send_on_rdonly_and_receive_on_wronly_are_ebadf)
{
	char buf[64];
	mqd_t q = MKQ(O_RDONLY, 10, 64);
	mqd_t wo = SYS(be->open(self->name, O_WRONLY));

	ASSERT_ERRNO(EBADF, be->send(q, "x", 1, 0));
	SYS(be->send(wo, "x", 1, 0));
	ASSERT_ERRNO(EBADF, be->receive(wo, buf, sizeof(buf), NULL));
	ASSERT_RECV(q, 64, "x", 0);
}

TEST_F(mq, calls_on_a_non_queue_descriptor_are_ebadf)
{
	struct sigevent sev = { .sigev_notify = SIGEV_NONE };
	struct mq_attr a;
	char buf[64];
	int p[2];

	SYS(pipe(p));
	ASSERT_ERRNO(EBADF, be->send(p[1], "x", 1, 0));
	ASSERT_ERRNO(EBADF, be->receive(p[0], buf, sizeof(buf), NULL));
	ASSERT_ERRNO(EBADF, be->getattr(p[0], &a));
	ASSERT_ERRNO(EBADF, be->notify(p[0], &sev));
	ASSERT_ERRNO(EBADF, be->send(-1, "x", 1, 0));
}

/*
 * On a descriptor that is not a queue, an argument native copies in first
 * and cannot read is EFAULT, before EBADF (prepare_timeout and the
 * copy_from_user of mq_getsetattr), and one it reads and refuses is
 * EINVAL: a library that checks them itself must not crash on the
 * unreadable one.  (mq_notify's sigevent glibc reads itself, and crashes.)
 */
TEST_F(mq, unreadable_argument_on_a_non_queue_descriptor_is_efault)
{
	const void *bad = (const void *)8;
	struct timespec past = { .tv_sec = 1 }, wrong = { .tv_nsec = -1 };
	char buf[64];
	int p[2];

	SYS(pipe(p));
	for (int fd = -1; fd != p[1] + 1; fd = fd < 0 ? p[0] : fd + 1) {
		ASSERT_ERRNO(EFAULT, be->timedsend(fd, "x", 1, 0, bad));
		ASSERT_ERRNO(EFAULT, be->timedreceive(fd, buf, sizeof(buf), NULL, bad));
		ASSERT_ERRNO(EFAULT, be->setattr(fd, bad, NULL));
		ASSERT_ERRNO(EINVAL, be->timedsend(fd, "x", 1, 0, &wrong));
		ASSERT_ERRNO(EINVAL, be->timedsend(fd, "x", 1, 32768, &past));
		ASSERT_ERRNO(EBADF, be->timedsend(fd, "x", 1, 0, &past));
		ASSERT_ERRNO(EBADF, be->timedreceive(fd, buf, sizeof(buf), NULL, &past));
	}
	close(p[0]);
	close(p[1]);
}

/*
 * A process that chroots into a directory without /dev (a privilege-
 * separated daemon) opens, creates, uses and removes queues afterwards, as
 * natively (the mqueue file system is the kernel's own): rust_ipc's
 * libripc opens queues through the descriptor of the device it holds
 * (RIPC_MQ_OPEN_FD), not through the node's path (it was ENOENT).
 */
TEST_F(mq, queues_open_after_a_chroot_without_the_device_node)
{
	char root[64];
	pid_t pid;

	REQUIRE_ROOT();
	snprintf(root, sizeof(root), "/tmp/ripc_mq_chroot_%d", getpid());
	SYS(mkdir(root, 0755));
	pid = fork_child();
	if (pid == 0) {
		struct mq_attr a = { .mq_maxmsg = 2, .mq_msgsize = 16 };
		unsigned int prio = 0;
		char buf[16];
		mqd_t q, q2;

		/* The process has used queues before the chroot. */
		CHILD_CHECK((q = be->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &a)) >= 0);
		CHILD_CHECK(chroot(root) == 0 && chdir("/") == 0);
		CHILD_CHECK((q2 = be->open(self->name2, O_RDWR | O_CREAT | O_EXCL, 0600, &a)) >= 0);
		CHILD_CHECK(be->send(q2, "chrooted", 8, 3) == 0);
		CHILD_CHECK(be->receive(q2, buf, sizeof(buf), &prio) == 8 && prio == 3 &&
			    !memcmp(buf, "chrooted", 8));
		CHILD_CHECK(be->close(q2) == 0);
		CHILD_CHECK((q2 = be->open(self->name, O_WRONLY)) >= 0);
		CHILD_CHECK(be->send(q2, "x", 1, 0) == 0);
		CHILD_CHECK(be->receive(q, buf, sizeof(buf), NULL) == 1 && buf[0] == 'x');
		CHILD_CHECK(be->unlink(self->name2) == 0);
		CHILD_CHECK(be->open(self->name2, O_RDONLY) == -1 && errno == ENOENT);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	SYS(rmdir(root));
}

/*
 * Leaves the process no descriptor to spare (RLIMIT_NOFILE at the lowest
 * free number), once what backend b opens on first use is open; *old gets
 * the limit to restore.  0, else -1.
 */
static int no_descriptor_to_spare(const struct mq_backend *b, int nul, struct rlimit *old)
{
	struct mq_attr attr = { 0 };
	struct rlimit low;
	int lowest;

	if (b->setattr(nul, &attr, NULL) != -1 || errno != EBADF)
		return -1;
	lowest = dup(nul);
	if (lowest < 0 || close(lowest) || getrlimit(RLIMIT_NOFILE, old))
		return -1;
	low = *old;
	low.rlim_cur = lowest;
	if (setrlimit(RLIMIT_NOFILE, &low))
		return -1;
	return dup(nul) == -1 && errno == EMFILE ? 0 : -1;
}

/*
 * At the descriptor limit mq_open fails with EMFILE where native's takes
 * its descriptor (do_mq_open): after the attributes' and getname()'s
 * errors (EFAULT, "/" alone ENOENT, PATH_MAX ENAMETOOLONG), before the
 * lookup's (a missing queue's ENOENT, EEXIST, EACCES).  rust_ipc opened a
 * new file of the device first: EMFILE for all.
 */
TEST_F(mq, at_the_descriptor_limit_emfile_comes_where_native_takes_the_descriptor)
{
	static char longname[PATH_MAX + 2];
	int nul = SYS(open("/dev/null", O_RDWR));
	mqd_t q = MKQ(O_RDWR, 2, 16);
	struct rlimit old;

	ASSERT_EQ(0, no_descriptor_to_spare(be, nul, &old));
	longname[0] = '/';
	memset(longname + 1, 'a', PATH_MAX);
	ASSERT_ERRNO(EFAULT, be->open(self->name2, O_RDWR | O_CREAT, 0600, (void *)8));
	ASSERT_ERRNO(ENOENT, be->open("/", O_RDONLY));
	ASSERT_ERRNO(ENAMETOOLONG, be->open(longname, O_RDONLY));
	ASSERT_ERRNO(EMFILE, be->open(self->name2, O_RDONLY));
	ASSERT_ERRNO(EMFILE, be->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL));
	ASSERT_ERRNO(EMFILE, be->open(self->name2, O_RDWR | O_CREAT, 0600, NULL));
	SYS(setrlimit(RLIMIT_NOFILE, &old));
	/* Nothing was made. */
	ASSERT_ERRNO(ENOENT, be->open(self->name2, O_RDONLY));
	SYS(be->close(q));
	close(nul);
}

/*
 * The same verdicts when the process has no descriptor to spare
 * (RLIMIT_NOFILE reached): a library that judged them through a descriptor
 * of its own (a pipe, as libripc once did, five system calls each) said
 * EFAULT for a readable timeout there.
 */
TEST_F(mq, non_queue_verdicts_need_no_new_descriptor)
{
	struct timespec past = { .tv_sec = 1 }, wrong = { .tv_nsec = -1 };
	struct sigevent bad = { .sigev_notify = 99 };
	struct mq_attr attr = { 0 };
	struct rlimit old;
	char buf[64];
	int nul = SYS(open("/dev/null", O_RDWR));

	ASSERT_EQ(0, no_descriptor_to_spare(be, nul, &old));
	ASSERT_ERRNO(EBADF, be->timedsend(nul, "x", 1, 0, &past));
	ASSERT_ERRNO(EBADF, be->timedreceive(nul, buf, sizeof(buf), NULL, &past));
	ASSERT_ERRNO(EBADF, be->setattr(nul, &attr, NULL));
	ASSERT_ERRNO(EINVAL, be->timedsend(nul, "x", 1, 0, &wrong));
	ASSERT_ERRNO(EINVAL, be->timedsend(nul, "x", 1, 32768, &past));
	ASSERT_ERRNO(EFAULT, be->timedreceive(nul, buf, sizeof(buf), NULL, (const void *)8));
	ASSERT_ERRNO(EINVAL, be->notify(nul, &bad));
	/* glibc's mq_open refuses a name without its slash before the system
	 * call: EINVAL, not the descriptor limit's EMFILE. */
	ASSERT_ERRNO(EINVAL, be->open("no_slash", O_RDONLY, 0, NULL));
	SYS(setrlimit(RLIMIT_NOFILE, &old));
	close(nul);
}

/* A send or receive on a descriptor that is not a queue, and its verdict. */
struct non_queue_call {
	int send;			/* mq_timedsend, else mq_timedreceive */
	unsigned int prio;		/* a send's priority */
	const struct timespec *ts;	/* the timeout (NULL: none) */
	int err;			/* native's errno */
};

#define UNREADABLE ((const struct timespec *)8)

static const struct timespec nq_past = { 1, 0 }, nq_nsec_1e9 = { 0, 1000000000 },
				nq_nsec_neg = { 0, -1 }, nq_sec_neg = { -1, 0 },
				nq_max_1e9 = { LONG_MAX, 1000000000 };

/*
 * In native's order (ipc/mqueue.c): the timeout is read (EFAULT) and
 * checked (EINVAL) first, by prepare_timeout(); then a send's priority
 * (EINVAL at MQ_PRIO_MAX); then the descriptor (EBADF).  A receive's
 * buffer and priority pointer are not looked at before that.
 */
static const struct non_queue_call non_queue_calls[] = {
	{ 1, 0, UNREADABLE, EFAULT },
	{ 0, 0, UNREADABLE, EFAULT },
	{ 1, 32768, UNREADABLE, EFAULT },	/* the timeout before the priority */
	{ 1, 0, &nq_nsec_1e9, EINVAL },
	{ 0, 0, &nq_nsec_1e9, EINVAL },
	{ 1, 32768, &nq_nsec_1e9, EINVAL },
	{ 1, 0, &nq_nsec_neg, EINVAL },
	{ 0, 0, &nq_sec_neg, EINVAL },
	{ 1, 0, &nq_max_1e9, EINVAL },
	{ 1, 32768, &nq_past, EINVAL },
	{ 1, 32768, NULL, EINVAL },
	{ 1, UINT_MAX, NULL, EINVAL },
	{ 1, 32767, &nq_past, EBADF },
	{ 1, 0, NULL, EBADF },
	{ 0, 0, &nq_past, EBADF },
	{ 0, 0, NULL, EBADF },
};

/* The call natively (the system call), or through libripc: -1 and errno. */
static long non_queue_call(int fd, const struct non_queue_call *c, int native)
{
	/* A receive's priority pointer that cannot be written: not used. */
	unsigned int *prio = (unsigned int *)8;
	char buf[64];

	if (native)
		return c->send ? syscall(SYS_mq_timedsend, fd, "x", 1, c->prio, c->ts) :
				 syscall(SYS_mq_timedreceive, fd, buf, sizeof(buf), prio, c->ts);
	return c->send ? ripc_mq_timedsend(fd, "x", 1, c->prio, c->ts) :
			 ripc_mq_timedreceive(fd, buf, sizeof(buf), prio, c->ts);
}

/* In a child: 0 if libripc's call gives the verdict, else a log line and 1. */
static int non_queue_check(int fd, unsigned int i, const char *how)
{
	const struct non_queue_call *c = &non_queue_calls[i];
	long r = non_queue_call(fd, c, 0);
	int e = errno;

	if (r == -1 && e == c->err)
		return 0;
	fprintf(stderr, "# %s: call %u on %d (%s, prio %u): %ld, %s, expected %s\n", how, i, fd,
		c->send ? "send" : "receive", c->prio, r, strerrorname_np(e) ?: "0",
		strerrorname_np(c->err));
	return 1;
}

/*
 * libripc's verdict on a descriptor that is not one of its queues comes
 * from the native mq_timedsend/mq_timedreceive (64-bit), and from the
 * module when the kernel has no POSIX queues and those are ENOSYS: the
 * other tests of such descriptors run on a kernel that has them, so they
 * check the native calls.  Here a seccomp filter makes the two ENOSYS (in a
 * child, so that it stays there) and libripc's calls on a pipe's two ends
 * and on -1 must still give native's verdicts, in native's order: first
 * the timeout (EFAULT unreadable, EINVAL out of range), then a send's
 * priority (EINVAL), then EBADF, as the same calls give natively without
 * the filter (checked first).  Both of the module's ways: its struct
 * commands, from a process whose libripc has not learnt the module's ABI
 * (a new child per call), and its register calls, after ripc_device_fd().
 */
TEST(non_queue_verdicts_come_from_the_module_when_the_native_calls_are_enosys)
{
	int p[2], fds[3], native = 1, rc;
	pid_t pid;

	if (!have_device())
		SKIP(return, RIPC_DEVICE " missing");
	SYS(pipe2(p, O_CLOEXEC));
	fds[0] = -1;
	fds[1] = p[0];
	fds[2] = p[1];
	/* The verdicts above are native's (a kernel with POSIX queues). */
	for (unsigned int f = 0; f < ARRAY_SIZE(fds) && native; f++) {
		for (unsigned int i = 0; i < ARRAY_SIZE(non_queue_calls); i++) {
			long r = non_queue_call(fds[f], &non_queue_calls[i], 1);
			int e = errno;

			if (r == -1 && e == ENOSYS) {
				TH_LOG("no native POSIX queues: the verdicts not compared");
				native = 0;
				break;
			}
			ASSERT_EQ(-1, r) TH_LOG("call %u on %d", i, fds[f]);
			ASSERT_EQ(non_queue_calls[i].err, e)
				TH_LOG("call %u on %d: %s natively", i, fds[f], strerrorname_np(e));
		}
	}
	pid = fork_child();
	if (pid == 0) {
		int bad = 0;

		/* A new child for each call, one after another: more than
		 * CHILD_TIMEOUT on a slow (debug) kernel. */
		alarm(60);
		CHILD_DENY_NATIVE_MQ_CALLS(ENOSYS);
		/* As a kernel without CONFIG_POSIX_MQUEUE. */
		CHILD_CHECK(syscall(SYS_mq_timedsend, p[1], "x", 1, 0, NULL) == -1 &&
			    errno == ENOSYS);
		CHILD_CHECK(syscall(SYS_mq_timedreceive, p[0], NULL, 0, NULL, NULL) == -1 &&
			    errno == ENOSYS);
		/* The struct commands: libripc has not opened the device yet. */
		CHILD_CHECK(ripc_device_fd_peek() < 0);
		for (unsigned int f = 0; f < ARRAY_SIZE(fds); f++) {
			for (unsigned int i = 0; i < ARRAY_SIZE(non_queue_calls); i++) {
				pid_t one = fork_child();

				if (one == 0) {
					CHILD_CHECK(ripc_device_fd_peek() < 0);
					_exit(non_queue_check(fds[f], i, "struct command"));
				}
				bad |= wait_child(one) != 0;
			}
		}
		/* The register calls. */
		CHILD_CHECK(ripc_device_fd() >= 0);
		for (unsigned int f = 0; f < ARRAY_SIZE(fds); f++)
			for (unsigned int i = 0; i < ARRAY_SIZE(non_queue_calls); i++)
				bad |= non_queue_check(fds[f], i, "register call");
		_exit(bad);
	}
	rc = wait_child(pid);
	if (rc == KSFT_SKIP)
		SKIP(return, "no seccomp filters in this kernel");
	ASSERT_EQ(0, rc);
	close(p[0]);
	close(p[1]);
}

/*
 * A native queue's descriptor (syscall(SYS_mq_open), which the drop-in
 * does not catch) is a queue for send and receive on both backends:
 * libripc's verdict on a descriptor that is not its own is the native
 * system call's, so the bytes, the priority and ETIMEDOUT are the native
 * queue's.  Skipped without native POSIX queues.
 */
/*
 * A descriptor of the native queues (the system call's mq_open) works
 * through every backend: libripc makes the native call when the kernel
 * refuses its ioctl on it.  Twice: before libripc has learnt the module's
 * ABI (its struct commands) and after (ripc_device_fd(): its register
 * calls).  errno is left alone by a call that succeeds, as glibc's.
 */
TEST_F(mq, send_and_receive_on_a_native_queue_descriptor)
{
	struct mq_attr a = { .mq_maxmsg = 2, .mq_msgsize = 16 };
	struct timespec past = { .tv_sec = 1 };
	char name[64], buf[16] = { 0 };
	unsigned int prio = 0;
	int nq, round;

	snprintf(name, sizeof(name), "ripc_native_%d", getpid());
	nq = syscall(SYS_mq_open, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &a);
	if (nq < 0 && errno == ENOSYS)
		SKIP(return, "no native POSIX queues");
	ASSERT_LE(0, nq);
	syscall(SYS_mq_unlink, name);
	for (round = 0; round < 2; round++) {
		if (round)
			ripc_device_fd();
		errno = 1234;
		ASSERT_EQ(0, be->send(nq, "hello", 5, 7));
		ASSERT_EQ(1234, errno);
		ASSERT_EQ(0, be->timedsend(nq, "second", 6, 2, &past));
		ASSERT_ERRNO(ETIMEDOUT, be->timedsend(nq, "x", 1, 0, &past));
		ASSERT_ERRNO(EMSGSIZE, be->receive(nq, buf, 8, NULL));
		errno = 1234;
		ASSERT_EQ(5, be->receive(nq, buf, sizeof(buf), &prio));
		ASSERT_EQ(1234, errno);
		ASSERT_EQ(7U, prio);
		ASSERT_EQ(0, memcmp(buf, "hello", 5));
		ASSERT_EQ(6, be->timedreceive(nq, buf, sizeof(buf), &prio, &past));
		ASSERT_EQ(2U, prio);
		ASSERT_EQ(0, memcmp(buf, "second", 6));
		ASSERT_ERRNO(ETIMEDOUT, be->timedreceive(nq, buf, sizeof(buf), NULL, &past));
	}
	close(nq);
}

/*
 * A descriptor refused as not a queue (libripc then makes the native call
 * first on it) that becomes one later, by dup2() or by a new queue taking
 * its number, works as a queue at once.
 */
TEST_F(mq, a_refused_descriptor_that_becomes_a_queue_is_one)
{
	struct timespec later = { .tv_sec = time(NULL) + 60 };
	struct timespec bad = { .tv_nsec = 1000000000 };
	mqd_t q = MKQ(O_RDWR, 4, 16);
	char buf[16] = { 0 };
	unsigned int prio = 0;
	int n = SYS(open("/dev/null", O_RDWR | O_CLOEXEC)), m;

	ASSERT_ERRNO(EBADF, be->send(n, "x", 1, 0));
	ASSERT_ERRNO(EBADF, be->send(n, "x", 1, 0));
	ASSERT_ERRNO(EINVAL, be->timedreceive(n, buf, sizeof(buf), NULL, &bad));
	ASSERT_ERRNO(EBADF, be->timedreceive(n, buf, sizeof(buf), NULL, &later));
	/* dup2() over it: its next calls are the queue's. */
	ASSERT_EQ(n, dup2(q, n));
	ASSERT_EQ(0, be->timedsend(n, "abc", 3, 5, &later));
	ASSERT_EQ(0, be->send(n, "de", 2, 1));
	ASSERT_EQ(3, be->receive(n, buf, sizeof(buf), &prio));
	ASSERT_EQ(5U, prio);
	ASSERT_EQ(0, memcmp(buf, "abc", 3));
	ASSERT_ERRNO(EINVAL, be->timedreceive(n, buf, sizeof(buf), NULL, &bad));
	/* A queue opened at a number that was refused. */
	m = SYS(open("/dev/null", O_RDWR | O_CLOEXEC));
	ASSERT_ERRNO(EBADF, be->receive(m, buf, sizeof(buf), NULL));
	ASSERT_EQ(0, close(m));
	ASSERT_EQ(m, SYS(be->open(self->name, O_RDWR)));
	ASSERT_EQ(2, be->timedreceive(m, buf, sizeof(buf), &prio, &later));
	ASSERT_EQ(1U, prio);
	ASSERT_EQ(0, memcmp(buf, "de", 2));
	ASSERT_EQ(0, be->close(m));
	ASSERT_EQ(0, close(n));
}

TEST_F(mq, send_longer_than_msgsize_is_emsgsize)
{
	char buf[65] = { 0 };
	mqd_t q = MKQ(O_RDWR, 10, 64);

	ASSERT_ERRNO(EMSGSIZE, be->send(q, buf, 65, 0));
	SYS(be->send(q, buf, 64, 0));
	ASSERT_ATTR(q, 0, 10, 64, 1);
}

/*
 * do_mq_timedsend: a message longer than msgsize is EMSGSIZE before its
 * bytes are read (a bad pointer's EFAULT).
 */
TEST_F(mq, send_longer_than_msgsize_is_emsgsize_before_efault)
{
	mqd_t q = MKQ(O_RDWR, 2, 8);

	ASSERT_ERRNO(EMSGSIZE, be->send(q, NULL, 9, 0));
	ASSERT_ERRNO(EMSGSIZE, be->send(q, (const char *)8, 9, 0));
	ASSERT_ERRNO(EFAULT, be->send(q, (const char *)8, 8, 0));
	ASSERT_ATTR(q, 0, 2, 8, 0);
}

TEST_F(mq, receive_buffer_smaller_than_msgsize_is_emsgsize)
{
	char buf[64];
	mqd_t q = MKQ(O_RDWR, 10, 64);

	SYS(be->send(q, "x", 1, 0));
	ASSERT_ERRNO(EMSGSIZE, be->receive(q, buf, 63, NULL));
	ASSERT_ATTR(q, 0, 10, 64, 1);
	ASSERT_RECV(q, 64, "x", 0);
}

TEST_F(mq, full_queue_nonblock_send_is_eagain)
{
	mqd_t q = MKQ(O_RDWR | O_NONBLOCK, 2, 8);

	SYS(be->send(q, "1", 1, 0));
	SYS(be->send(q, "2", 1, 0));
	ASSERT_ERRNO(EAGAIN, be->send(q, "3", 1, 0));
	ASSERT_ATTR(q, O_NONBLOCK, 2, 8, 2);
}

TEST_F(mq, empty_queue_nonblock_receive_is_eagain)
{
	char buf[8];
	mqd_t q = MKQ(O_RDWR | O_NONBLOCK, 2, 8);

	ASSERT_ERRNO(EAGAIN, be->receive(q, buf, sizeof(buf), NULL));
}

TEST_F(mq, invalid_timespec_is_einval_even_if_ready)
{
	static const struct timespec bad[] = {
		{ 0, 1000000000 }, { 0, -1 }, { -1, 0 }, { LONG_MAX, 1000000000 },
	};
	mqd_t q = MKQ(O_RDWR, 2, 8);
	mqd_t ro = SYS(be->open(self->name, O_RDONLY));
	char buf[8];

	SYS(be->send(q, "m", 1, 0));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		/* Neither call would block; the timespec is checked first. */
		ASSERT_ERRNO(EINVAL, be->timedsend(q, "x", 1, 0, &bad[i]));
		ASSERT_ERRNO(EINVAL, be->timedreceive(q, buf, sizeof(buf), NULL, &bad[i]));
		/* ... before the priority and before the access mode. */
		ASSERT_ERRNO(EINVAL, be->timedsend(ro, "x", 1, 32768, &bad[i]));
		ASSERT_ERRNO(EINVAL, be->timedreceive(-1, buf, sizeof(buf), NULL, &bad[i]));
	}
	ASSERT_ATTR(q, 0, 2, 8, 1);
}

/*
 * do_mq_timedreceive checks the timeout before the descriptor: a bad
 * tv_nsec on a queue open for writing only is EINVAL, not EBADF.
 */
TEST_F(mq, invalid_timespec_comes_before_ebadf_of_a_write_only_queue)
{
	static const struct timespec bad = { 0, 1000000000 };
	mqd_t q = MKQ(O_RDWR, 2, 8), wo = SYS(be->open(self->name, O_WRONLY));
	char buf[8];

	SYS(be->send(q, "m", 1, 0));
	ASSERT_ERRNO(EINVAL, be->timedreceive(wo, buf, sizeof(buf), NULL, &bad));
	ASSERT_ERRNO(EBADF, be->receive(wo, buf, sizeof(buf), NULL));
	ASSERT_ATTR(q, 0, 2, 8, 1);
}

TEST_F(mq, bad_timespec_or_buffer_pointer_is_efault)
{
	mqd_t q = MKQ(O_RDWR, 2, 8);
	char buf[8];

	ASSERT_ERRNO(EFAULT, be->timedsend(q, "x", 1, 0, (struct timespec *)1));
	ASSERT_ERRNO(EFAULT, be->timedreceive(q, buf, sizeof(buf), NULL, (struct timespec *)1));
	ASSERT_ERRNO(EFAULT, be->send(q, NULL, 1, 0));
	ASSERT_ATTR(q, 0, 2, 8, 0);
	/* (A receive into a bad buffer is EFAULT too; native loses the message.) */
	SYS(be->send(q, "x", 1, 0));
	ASSERT_ERRNO(EFAULT, be->receive(q, NULL, 8, NULL));
}

TEST_F(mq, past_deadline_is_etimedout_only_if_it_would_block)
{
	struct timespec past = { 1, 0 };
	mqd_t q = MKQ(O_RDWR, 1, 8);
	char buf[8];

	ASSERT_ERRNO(ETIMEDOUT, be->timedreceive(q, buf, sizeof(buf), NULL, &past));
	SYS(be->timedsend(q, "1", 1, 0, &past));
	ASSERT_ERRNO(ETIMEDOUT, be->timedsend(q, "2", 1, 0, &past));
	ASSERT_EQ(1, be->timedreceive(q, buf, sizeof(buf), NULL, &past));
	ASSERT_EQ('1', buf[0]);
}

/* How late a timed call may return after its deadline (TCG is slow). */
#define LATE_NS 300000000LL

TEST_F(mq, timed_receive_returns_no_earlier_than_deadline)
{
	struct timespec dl = { 0 }, now = { 0 };
	mqd_t q = MKQ(O_RDWR, 1, 8);
	char buf[8];

	/* A late return once is a stalled vCPU; a late timer, every time. */
	for (int t = 0; t < 3 && (t == 0 || ts_ns(now) >= ts_ns(dl) + LATE_NS); t++) {
		dl = deadline_ms(100);
		ASSERT_ERRNO(ETIMEDOUT, be->timedreceive(q, buf, sizeof(buf), NULL, &dl));
		clock_gettime(CLOCK_REALTIME, &now);
		ASSERT_GE(ts_ns(now), ts_ns(dl));
	}
	ASSERT_LT(ts_ns(now), ts_ns(dl) + LATE_NS) TH_LOG("%lld ms late",
							  (ts_ns(now) - ts_ns(dl)) / 1000000);
}

TEST_F(mq, timed_send_returns_no_earlier_than_deadline)
{
	struct timespec dl = { 0 }, now = { 0 };
	mqd_t q = MKQ(O_RDWR, 1, 8);

	SYS(be->send(q, "1", 1, 0));
	for (int t = 0; t < 3 && (t == 0 || ts_ns(now) >= ts_ns(dl) + LATE_NS); t++) {
		dl = deadline_ms(100);
		ASSERT_ERRNO(ETIMEDOUT, be->timedsend(q, "2", 1, 0, &dl));
		clock_gettime(CLOCK_REALTIME, &now);
		ASSERT_GE(ts_ns(now), ts_ns(dl));
	}
	ASSERT_LT(ts_ns(now), ts_ns(dl) + LATE_NS) TH_LOG("%lld ms late",
							  (ts_ns(now) - ts_ns(dl)) / 1000000);
	ASSERT_ATTR(q, 0, 1, 8, 1);
	ASSERT_RECV(q, 8, "1", 0);
}

TEST_F(mq, huge_deadline_does_not_wrap)
{
	struct timespec far = { LONG_MAX, 999999999 };
	mqd_t q = MKQ(O_RDWR, 1, 8);
	char buf[8];
	pid_t pid;

	SYS(set_handler(SIGUSR1, 0));
	pid = signal_when_blocked(SIGUSR1);
	/* It waits (until the signal) instead of timing out at once. */
	ASSERT_ERRNO(EINTR, be->timedreceive(q, buf, sizeof(buf), NULL, &far));
	ASSERT_EQ(0, wait_child(pid));
}

/* Sends messages of the given sizes, then receives and checks them. */
static void sizes_round_trip(struct __test_metadata *_metadata,
			     FIXTURE_DATA(mq) *self, long msgsize,
			     const size_t *sizes, size_t n)
{
	static char buf[4 * PAGE];
	unsigned int prio;
	mqd_t q = MKQ(O_RDWR, (long)n, msgsize);

	for (size_t i = 0; i < n; i++) {
		fill(buf, sizes[i], i + 1);
		SYS(be->send(q, buf, sizes[i], 3));
	}
	ASSERT_ATTR(q, 0, (long)n, msgsize, (long)n);
	for (size_t i = 0; i < n; i++) {
		memset(buf, 0, sizeof(buf));
		ASSERT_EQ((ssize_t)sizes[i], be->receive(q, buf, msgsize, &prio));
		ASSERT_TRUE(check(buf, sizes[i], i + 1)) TH_LOG("size %zu", sizes[i]);
		ASSERT_EQ(3u, prio);
	}
}

TEST_F(mq, message_sizes_byte_for_byte)
{
	const size_t sizes[] = { 0, 1, PAGE, 8192 };

	sizes_round_trip(_metadata, self, 8192, sizes, ARRAY_SIZE(sizes));
}

TEST_F(mq, three_page_messages_byte_for_byte)
{
	const size_t sizes[] = { 3 * PAGE, 3 * PAGE + 100, 2 * PAGE + 1 };

	/* msgsize above msgsize_max (8192) needs CAP_SYS_RESOURCE. */
	REQUIRE_CAP(CAP_SYS_RESOURCE);
	sizes_round_trip(_metadata, self, 3 * PAGE + 100, sizes, ARRAY_SIZE(sizes));
}

TEST_F(mq, raised_msgsize_max_allows_larger_messages_unprivileged)
{
	pid_t pid;

	REQUIRE_ROOT();
	SET_LIMIT(LIM_MSGSIZE_MAX, 3 * PAGE + 1);
	pid = fork_child();
	if (pid == 0) {
		static char buf[3 * PAGE + 2];
		struct mq_attr a = { .mq_maxmsg = 1, .mq_msgsize = 3 * PAGE + 2 };
		unsigned int prio = 0;
		mqd_t q;

		CHILD_CHECK(drop_privs() == 0);
		CHILD_CHECK(be->open(self->name, O_RDWR | O_CREAT, 0600, &a) == -1 &&
			    errno == EINVAL);
		a.mq_msgsize = 3 * PAGE + 1;
		CHILD_CHECK((q = be->open(self->name, O_RDWR | O_CREAT, 0600, &a)) >= 0);
		fill(buf, 3 * PAGE + 1, 42);
		CHILD_CHECK(be->send(q, buf, 3 * PAGE + 2, 1) == -1 && errno == EMSGSIZE);
		CHILD_CHECK(be->send(q, buf, 3 * PAGE + 1, 4) == 0);
		memset(buf, 0, sizeof(buf));
		CHILD_CHECK(be->receive(q, buf, 3 * PAGE, &prio) == -1 && errno == EMSGSIZE);
		CHILD_CHECK(be->receive(q, buf, sizeof(buf), &prio) == 3 * PAGE + 1);
		CHILD_CHECK(check(buf, 3 * PAGE + 1, 42) && prio == 4);
		CHILD_CHECK(buf[3 * PAGE + 1] == 0);
		CHILD_CHECK(be->unlink(self->name) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/* ---- attributes ------------------------------------------------------- */

TEST_F(mq, getattr_counts_messages)
{
	mqd_t q = MKQ(O_RDWR, 4, 16);

	for (int i = 0; i < 3; i++)
		SYS(be->send(q, "m", 1, 0));
	ASSERT_ATTR(q, 0, 4, 16, 3);
	ASSERT_RECV(q, 16, "m", 0);
	ASSERT_ATTR(q, 0, 4, 16, 2);
}

TEST_F(mq, setattr_changes_only_nonblock_and_returns_old)
{
	struct mq_attr set = { .mq_flags = O_NONBLOCK, .mq_maxmsg = 99, .mq_msgsize = 99,
			       .mq_curmsgs = 99 };
	struct mq_attr old;
	mqd_t q = MKQ(O_RDWR, 4, 16), q2 = SYS(be->open(self->name, O_RDWR)), d;
	char buf[16];

	SYS(be->send(q, "m", 1, 0));
	d = SYS(dup(q));
	memset(&old, 0xff, sizeof(old));
	SYS(be->setattr(q, &set, &old));
	ASSERT_EQ(0, old.mq_flags);
	ASSERT_EQ(4, old.mq_maxmsg);
	ASSERT_EQ(16, old.mq_msgsize);
	ASSERT_EQ(1, old.mq_curmsgs);
	ASSERT_ATTR(q, O_NONBLOCK, 4, 16, 1);
	/* A property of the open file description: shared by dup, not by open. */
	ASSERT_ATTR(d, O_NONBLOCK, 4, 16, 1);
	ASSERT_ATTR(q2, 0, 4, 16, 1);
	ASSERT_RECV(q, 16, "m", 0);
	ASSERT_ERRNO(EAGAIN, be->receive(q, buf, sizeof(buf), NULL));
	set.mq_flags = 0;
	SYS(be->setattr(q, &set, NULL));
	ASSERT_ATTR(q, 0, 4, 16, 0);
}

TEST_F(mq, setattr_other_flags_is_einval)
{
	struct mq_attr set = { .mq_flags = O_NONBLOCK | O_APPEND };
	mqd_t q = MKQ(O_RDWR, 4, 16);

	ASSERT_ERRNO(EINVAL, be->setattr(q, &set, NULL));
	set.mq_flags = O_RDWR;
	ASSERT_ERRNO(EINVAL, be->setattr(q, &set, NULL));
	/* Checked before the descriptor. */
	ASSERT_ERRNO(EINVAL, be->setattr(-1, &set, NULL));
	ASSERT_ATTR(q, 0, 4, 16, 0);
}

TEST_F(mq, fcntl_nonblock_is_seen_by_getattr)
{
	mqd_t q = MKQ(O_RDWR, 4, 16);
	char buf[16];

	SYS(fcntl(q, F_SETFL, O_NONBLOCK));
	ASSERT_ATTR(q, O_NONBLOCK, 4, 16, 0);
	ASSERT_ERRNO(EAGAIN, be->receive(q, buf, sizeof(buf), NULL));
	SYS(fcntl(q, F_SETFL, 0));
	ASSERT_ATTR(q, 0, 4, 16, 0);
}

/* ---- unlink ----------------------------------------------------------- */

TEST_F(mq, unlink_removes_name_but_open_queue_lives)
{
	mqd_t q = MKQ(O_RDWR, 4, 16), q2;

	SYS(be->send(q, "old", 3, 0));
	SYS(be->unlink(self->name));
	ASSERT_ERRNO(ENOENT, be->open(self->name, O_RDWR));
	ASSERT_ERRNO(ENOENT, be->unlink(self->name));
	SYS(be->send(q, "ol2", 3, 1));
	ASSERT_ATTR(q, 0, 4, 16, 2);
	/* A new queue of the same name is another, empty queue. */
	q2 = MKQ(O_RDWR, 2, 8);
	ASSERT_ATTR(q2, 0, 2, 8, 0);
	ASSERT_RECV(q, 16, "ol2", 1);
	ASSERT_RECV(q, 16, "old", 0);
}

TEST_F(mq, unlink_missing_is_enoent)
{
	ASSERT_ERRNO(ENOENT, be->unlink(self->name));
}

/* ---- blocking ----------------------------------------------------------- */

TEST_F(mq, blocked_receiver_is_woken_by_send)
{
	mqd_t q = MKQ(O_RDWR, 4, 16);
	pid_t pid = fork_child();

	if (pid == 0) {
		char buf[16];
		unsigned int prio;

		CHILD_CHECK(be->receive(q, buf, sizeof(buf), &prio) == 5);
		CHILD_CHECK(!memcmp(buf, "hello", 5) && prio == 7);
		_exit(0);
	}
	ASSERT_EQ(0, wait_blocked(pid));
	SYS(be->send(q, "hello", 5, 7));
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_ATTR(q, 0, 4, 16, 0);
}

TEST_F(mq, blocked_sender_is_woken_by_receive)
{
	mqd_t q = MKQ(O_RDWR, 1, 16);
	pid_t pid;

	SYS(be->send(q, "one", 3, 0));
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(be->send(q, "two", 3, 0) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_blocked(pid));
	ASSERT_RECV(q, 16, "one", 0);
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_RECV(q, 16, "two", 0);
}

TEST_F(mq, blocked_calls_interrupted_without_sa_restart_are_eintr)
{
	mqd_t q = MKQ(O_RDWR, 1, 16);
	char buf[16];
	pid_t pid;

	SYS(set_handler(SIGUSR1, 0));
	pid = signal_when_blocked(SIGUSR1);
	ASSERT_ERRNO(EINTR, be->receive(q, buf, sizeof(buf), NULL));
	ASSERT_EQ(0, wait_child(pid));
	SYS(be->send(q, "1", 1, 0));
	pid = signal_when_blocked(SIGUSR1);
	ASSERT_ERRNO(EINTR, be->send(q, "2", 1, 0));
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_EQ(2, *sig_hits);
	ASSERT_ATTR(q, 0, 1, 16, 1);
}

TEST_F(mq, blocked_receive_restarts_under_sa_restart)
{
	mqd_t q = MKQ(O_RDWR, 1, 16);
	pid_t pid;

	SYS(set_handler(SIGUSR1, SA_RESTART));
	pid = fork_child();
	if (pid == 0) {
		int blocked = wait_blocked(getppid());

		kill(getppid(), SIGUSR1);
		for (int i = 0; i < 3000 && !*sig_hits; i++)
			usleep(1000);
		blocked |= wait_blocked(getppid());	/* blocked again, after the handler */
		CHILD_CHECK(be->send(q, "late", 4, 2) == 0);
		CHILD_CHECK(blocked == 0);
		_exit(0);
	}
	ASSERT_RECV(q, 16, "late", 2);
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_EQ(1, *sig_hits);
}

/* A stop and continue (SIGSTOP, SIGCONT: no handler runs) does not end a
 * blocked receive or send (ERESTARTSYS: restarted). */
TEST_F(mq, blocked_calls_go_on_after_a_stop_and_continue)
{
	mqd_t q = MKQ(O_RDWR, 1, 16);
	char buf[16];

	for (int op = 0; op < 2; op++) {
		pid_t pid = fork_child();

		if (pid == 0) {
			int bad = stop_and_continue_parent();

			if (op == 0)
				bad |= be->send(q, "after", 5, 3);
			else
				bad |= be->receive(q, buf, sizeof(buf), NULL) != 5;
			_exit(bad ? 1 : 0);
		}
		if (op == 0)
			ASSERT_RECV(q, 16, "after", 3);
		else
			SYS(be->send(q, "later", 5, 4));
		ASSERT_EQ(0, wait_child(pid));
		if (op == 0)
			SYS(be->send(q, "full", 5, 1));	/* the next send blocks */
	}
	ASSERT_RECV(q, 16, "later", 4);
	ASSERT_ATTR(q, 0, 1, 16, 0);
}

/* ---- notification ------------------------------------------------------ */

TEST_F(mq, notify_signal_carries_sender_siginfo)
{
	void *value = (void *)0x123456789abcdef0UL;
	mqd_t q = MKQ(O_RDWR, 4, 16);
	siginfo_t si;
	pid_t pid;

	REQUIRE_ROOT();
	SYS(block_signal(SIGUSR1));
	SYS(notify_sig(be, q, SIGUSR1, value));
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(drop_privs() == 0);
		CHILD_CHECK(be->send(q, "n", 1, 0) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_EQ(SIGUSR1, take_signal(SIGUSR1, &si, 2000));
	ASSERT_EQ(SIGUSR1, si.si_signo);
	ASSERT_EQ(SI_MESGQ, si.si_code);
	ASSERT_EQ(value, si.si_value.sival_ptr);
	ASSERT_EQ(pid, si.si_pid);
	ASSERT_EQ((uid_t)NOBODY, si.si_uid);
}

struct send_n_arg {
	const struct mq_backend *backend;
	mqd_t q;
};

/* A thread that sends "n" (returns the send's result). */
static void *send_n(void *arg)
{
	struct send_n_arg *a = arg;

	return (void *)(long)a->backend->send(a->q, "n", 1, 0);
}

/*
 * The notification's si_pid is the sending process's (its thread group's
 * id, not the sending thread's), its si_uid the sender's real uid, not its
 * effective one (__do_notify: task_tgid_nr_ns(current), current_uid()).
 */
TEST_F(mq, notify_siginfo_names_the_sending_process_and_its_real_uid)
{
	mqd_t q = MKQ(O_RDWR, 4, 16);
	siginfo_t si;
	pid_t pid;

	REQUIRE_ROOT();
	SYS(block_signal(SIGUSR1));
	SYS(notify_sig(be, q, SIGUSR1, NULL));
	pid = fork_child();
	if (pid == 0) {
		struct send_n_arg arg = { be, q };
		pthread_t t;
		void *r = (void *)1L;

		/* Real uid nobody, effective uid root. */
		CHILD_CHECK(setresuid(NOBODY, 0, 0) == 0);
		CHILD_CHECK(pthread_create(&t, NULL, send_n, &arg) == 0);
		CHILD_CHECK(pthread_join(t, &r) == 0 && r == NULL);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_EQ(SIGUSR1, take_signal(SIGUSR1, &si, 2000));
	ASSERT_EQ(SI_MESGQ, si.si_code);
	ASSERT_EQ(pid, si.si_pid);
	ASSERT_EQ((uid_t)NOBODY, si.si_uid);
}

static volatile pid_t taker_tid;
static volatile int taker_started;

static void note_taker(int sig)
{
	(void)sig;
	taker_tid = (pid_t)syscall(SYS_gettid);
}

static void *wait_for_taker(void *arg)
{
	(void)arg;
	taker_started = 1;
	for (int i = 0; i < 400 && !taker_tid; i++)
		usleep(5000);
	return NULL;
}

/* The notification is process-directed: a thread that does not block the
 * signal takes it when the main thread blocks it (glibc's tst-mqueue5).  The
 * thread must be running: glibc starts a thread with every signal blocked,
 * and rust_ipc picks the thread at the send (README). */
TEST_F(mq, notify_signal_reaches_a_thread_that_accepts_it)
{
	struct sigaction sa = { .sa_handler = note_taker };
	mqd_t q = MKQ(O_RDWR, 4, 16);
	sigset_t set;
	pthread_t t;

	taker_tid = 0;
	taker_started = 0;
	sigemptyset(&sa.sa_mask);
	SYS(sigaction(SIGUSR2, &sa, NULL));
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	ASSERT_EQ(0, pthread_sigmask(SIG_UNBLOCK, &set, NULL));
	ASSERT_EQ(0, pthread_create(&t, NULL, wait_for_taker, NULL));
	ASSERT_EQ(0, pthread_sigmask(SIG_BLOCK, &set, NULL));
	for (int i = 0; i < 2000 && !taker_started; i++)
		usleep(1000);
	ASSERT_EQ(1, taker_started);
	SYS(notify_sig(be, q, SIGUSR2, NULL));
	SYS(be->send(q, "n", 1, 0));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_NE(0, taker_tid) TH_LOG("the signal did not arrive");
	ASSERT_NE(getpid(), taker_tid);
}

/* notify_passes_over_a_leader_with_a_signal_pending's thread: once the
 * leader waits for its vfork() child, a signal pending on it, sends. */
struct pending_leader {
	const struct mq_backend *backend;
	mqd_t q;
	pid_t leader;
	volatile pid_t child;	/* the vfork() child, once it runs */
	volatile int done;	/* the vfork() child's cue to exit */
	int bad;
	pid_t took;		/* who took the notification, right after the send */
};

static void *send_past_a_busy_leader(void *arg)
{
	struct pending_leader *p = arg;
	char path[64];

	/* Once the child runs, the leader's sleep is the vfork() wait. */
	for (int i = 0; i < 3000 && !p->child; i++)
		usleep(1000);
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", p->leader);
	p->bad = !p->child || wait_stat_state(path, 'D');
	if (!p->bad)
		p->bad = (int)syscall(SYS_tgkill, p->leader, p->leader, SIGUSR2);
	if (!p->bad)
		p->bad = p->backend->send(p->q, "n", 1, 0);
	p->took = taker_tid;
	p->done = 1;
	return NULL;
}

static void ignore_signal(int sig)
{
	(void)sig;
}

/*
 * The notification passes over a leader with a signal pending that does
 * not run (a vfork() parent's killable wait) for a thread that takes it
 * now, as complete_signal()'s wants_signal(): the sender itself here,
 * whose handler runs before its send returns.  rust_ipc sent it to the
 * leader, which took it when its child exited.
 */
TEST_F(mq, notify_passes_over_a_leader_with_a_signal_pending)
{
	struct sigaction note = { .sa_handler = note_taker };
	struct sigaction ignore = { .sa_handler = ignore_signal };
	static struct pending_leader p;
	sigset_t set;
	pthread_t t;
	pid_t child;

	p = (struct pending_leader){ .backend = be, .leader = getpid() };
	p.q = MKQ(O_RDWR, 4, 16);
	taker_tid = 0;
	sigemptyset(&note.sa_mask);
	sigemptyset(&ignore.sa_mask);
	SYS(sigaction(SIGUSR1, &note, NULL));
	SYS(sigaction(SIGUSR2, &ignore, NULL));
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	ASSERT_EQ(0, pthread_sigmask(SIG_UNBLOCK, &set, NULL));
	SYS(notify_sig(be, p.q, SIGUSR1, NULL));
	ASSERT_EQ(0, pthread_create(&t, NULL, send_past_a_busy_leader, &p));
	child = vfork();
	if (child == 0) {
		/* Shares the memory: says it runs, waits for the thread's cue
		 * (at most 5 s), with raw system calls only. */
		struct timespec ms = { 0, 1000000 };

		p.child = (pid_t)syscall(SYS_getpid);
		for (int i = 0; i < 5000 && !p.done; i++)
			syscall(SYS_nanosleep, &ms, NULL);
		_exit(0);
	}
	ASSERT_LT(0, child);
	ASSERT_EQ(0, wait_child(child));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, p.bad);
	ASSERT_NE(0, p.took) TH_LOG("the leader took it, %d", taker_tid);
	ASSERT_NE(getpid(), p.took);
	ASSERT_EQ(p.took, taker_tid);
}

/* notify_goes_to_a_sender_with_a_signal_pending's owner process, as its
 * threads record it, in memory it shares with the test. */
struct pending_sender {
	const struct mq_backend *backend;
	mqd_t q;
	int ready;		/* each thread writes a byte here once it takes SIGUSR1 */
	int go;			/* the sender reads its cue here */
	int idle[2];		/* the idle thread reads its cue to end here */
	pid_t sender, idle_tid;
	int sent;		/* the send's result */
	pid_t took;		/* the thread that took SIGUSR1, as the sender saw
				 * it right after its send */
	pid_t usr1, usr2;	/* the threads whose handlers ran */
	int usr1_code;		/* SIGUSR1's si_code */
	int usr1_runs;		/* how many times SIGUSR1's handler ran */
};

static struct pending_sender *ps;

static void note_usr1_of_a_send(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	__atomic_store_n(&ps->usr1_code, si->si_code, __ATOMIC_SEQ_CST);
	__atomic_store_n(&ps->usr1, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&ps->usr1_runs, 1, __ATOMIC_SEQ_CST);
}

static void note_usr2(int sig)
{
	(void)sig;
	__atomic_store_n(&ps->usr2, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
}

/* A thread of the owner (which inherits the leader's blocked SIGUSR1):
 * takes SIGUSR1, then says so. */
static int take_usr1_and_say_so(pid_t *tid)
{
	sigset_t set;

	*tid = (pid_t)syscall(SYS_gettid);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	if (pthread_sigmask(SIG_UNBLOCK, &set, NULL) || write(ps->ready, "r", 1) != 1)
		return -1;
	return 0;
}

/* The sender: on its cue (the tracer stops it until it has traced its
 * way to the send's entry), sends, and notes who took SIGUSR1 by then. */
static void *send_on_cue(void *arg)
{
	char c;

	(void)arg;
	ps->sent = -2;
	if (take_usr1_and_say_so(&ps->sender) || read(ps->go, &c, 1) != 1)
		return NULL;
	ps->sent = ps->backend->send(ps->q, "n", 1, 0);
	ps->took = __atomic_load_n(&ps->usr1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* The idle thread: sleeps (nothing pending) until the leader's cue. */
static void *idle_until_cued(void *arg)
{
	char c;

	(void)arg;
	if (take_usr1_and_say_so(&ps->idle_tid))
		return NULL;
	while (read(ps->idle[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* Whether a system call entry is a send to q: glibc's (mq_timedsend), or
 * libripc's ioctl (the ripc variant, and the native one under the drop-in). */
static bool enters_a_send(const struct __ptrace_syscall_info *si, mqd_t q)
{
	unsigned int cmd = (unsigned int)si->entry.args[1];

	if ((int)si->entry.args[0] != q)
		return false;
	return si->entry.nr == SYS_mq_timedsend ||
	       (si->entry.nr == SYS_ioctl && (cmd == RIPC_MQ_TIMEDSEND || cmd == RIPC_MQ_SEND));
}

/*
 * The sending thread takes the notification although it has a signal
 * pending: complete_signal()'s wants_signal() is "task_curr(p) ||
 * !task_sigpending(p)", and the sender is running.  The owner's threads,
 * in the order of the group's scan from curr_target (its leader, as no
 * signal went to the process before): the leader, which blocks SIGUSR1;
 * the sender, which enters its send with SIGUSR2 pending (a tracer stops
 * it at the entry, sends it SIGUSR2, detaches); an idle thread with
 * nothing pending, which would take it if the sender's pending signal
 * counted against it.  The sender's handlers run before its send returns.
 */
TEST_F(mq, notify_goes_to_a_sender_with_a_signal_pending)
{
	struct sigaction usr1 = { .sa_sigaction = note_usr1_of_a_send,
				  .sa_flags = SA_SIGINFO | SA_RESTART };
	struct sigaction usr2 = { .sa_handler = note_usr2, .sa_flags = SA_RESTART };
	int ready[2], go[2], st, stops = 0;
	pid_t pid, s;
	char c;

	ps = mmap(NULL, sizeof(*ps), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ps);
	*ps = (struct pending_sender){ .backend = be, .q = MKQ(O_RDWR, 4, 16) };
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		pthread_t sender, idle;
		sigset_t set;

		close(ready[0]);
		close(go[1]);
		ps->ready = ready[1];
		ps->go = go[0];
		CHILD_CHECK(pipe(ps->idle) == 0);
		sigemptyset(&usr1.sa_mask);
		sigemptyset(&usr2.sa_mask);
		CHILD_CHECK(sigaction(SIGUSR1, &usr1, NULL) == 0);
		CHILD_CHECK(sigaction(SIGUSR2, &usr2, NULL) == 0);
		sigemptyset(&set);
		sigaddset(&set, SIGUSR2);
		CHILD_CHECK(pthread_sigmask(SIG_UNBLOCK, &set, NULL) == 0);
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		CHILD_CHECK(pthread_sigmask(SIG_BLOCK, &set, NULL) == 0);
		CHILD_CHECK(notify_sig(be, ps->q, SIGUSR1, NULL) == 0);
		/* The group's threads in this order: leader, sender, idle. */
		CHILD_CHECK(pthread_create(&sender, NULL, send_on_cue, NULL) == 0);
		CHILD_CHECK(pthread_create(&idle, NULL, idle_until_cued, NULL) == 0);
		CHILD_CHECK(pthread_join(sender, NULL) == 0);
		CHILD_CHECK(write(ps->idle[1], "e", 1) == 1);
		CHILD_CHECK(pthread_join(idle, NULL) == 0);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	/* Both threads take SIGUSR1; the sender waits for its cue. */
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ(1, read(ready[0], &c, 1));
	s = ps->sender;
	ASSERT_LT(0, s);
	ASSERT_EQ(0, ptrace(PTRACE_SEIZE, s, NULL, (void *)(long)PTRACE_O_TRACESYSGOOD));
	ASSERT_EQ(0, ptrace(PTRACE_INTERRUPT, s, NULL, NULL));
	ASSERT_EQ(1, write(go[1], "g", 1));
	/* Its system calls, up to the send's entry. */
	for (;;) {
		struct __ptrace_syscall_info si;
		long sig = 0;

		ASSERT_EQ(s, waitpid(s, &st, __WALL));
		ASSERT_TRUE(WIFSTOPPED(st)) TH_LOG("the sender ended: status %#x", st);
		ASSERT_GT(100, ++stops) TH_LOG("no send among the sender's system calls");
		if (WSTOPSIG(st) == (SIGTRAP | 0x80)) {
			ASSERT_LT(0, ptrace(PTRACE_GET_SYSCALL_INFO, s, (void *)sizeof(si), &si));
			if (si.op == PTRACE_SYSCALL_INFO_ENTRY && enters_a_send(&si, ps->q))
				break;
		} else if (!(st >> 16)) {
			sig = WSTOPSIG(st);	/* a signal-delivery-stop: it goes on */
		}
		ASSERT_EQ(0, ptrace(PTRACE_SYSCALL, s, NULL, (void *)sig));
	}
	ASSERT_EQ(0, syscall(SYS_tgkill, pid, s, SIGUSR2));
	ASSERT_EQ(0, ptrace(PTRACE_DETACH, s, NULL, NULL));
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_EQ(0, ps->sent);
	ASSERT_EQ(s, ps->usr2);
	ASSERT_EQ(s, ps->took) TH_LOG("SIGUSR1 taken by %d, not the sender %d (idle: %d)",
				      ps->usr1, s, ps->idle_tid);
	ASSERT_EQ(1, ps->usr1_runs);
	ASSERT_EQ(SI_MESGQ, ps->usr1_code);
	close(ready[0]);
	close(go[1]);
	munmap(ps, sizeof(*ps));
}

TEST_F(mq, notify_second_registration_is_ebusy)
{
	struct sigevent none = { .sigev_notify = SIGEV_NONE };
	mqd_t q = MKQ(O_RDWR, 4, 16), q2 = SYS(be->open(self->name, O_RDONLY));

	SYS(be->notify(q, &none));
	ASSERT_ERRNO(EBUSY, be->notify(q, &none));
	ASSERT_ERRNO(EBUSY, notify_sig(be, q2, SIGUSR1, NULL));
}

TEST_F(mq, notify_is_one_shot)
{
	mqd_t q = MKQ(O_RDWR, 4, 16);
	char buf[16];
	siginfo_t si;

	SYS(block_signal(SIGUSR1));
	SYS(notify_sig(be, q, SIGUSR1, NULL));
	SYS(be->send(q, "1", 1, 0));
	ASSERT_EQ(SIGUSR1, take_signal(SIGUSR1, &si, 2000));
	ASSERT_EQ(getpid(), si.si_pid);
	SYS(be->receive(q, buf, sizeof(buf), NULL));
	SYS(be->send(q, "2", 1, 0));
	ASSERT_ERRNO(EAGAIN, take_signal(SIGUSR1, &si, QUIET_MS));
	/* Re-registration is allowed once it fired. */
	SYS(notify_sig(be, q, SIGUSR1, NULL));
}

TEST_F(mq, sigev_none_registration_is_one_shot_too)
{
	struct sigevent none = { .sigev_notify = SIGEV_NONE };
	mqd_t q = MKQ(O_RDWR, 4, 16);

	SYS(be->notify(q, &none));
	SYS(be->send(q, "1", 1, 0));
	SYS(be->notify(q, &none));
}

/* 7.3's do_mq_notify refuses signal 0 (older kernels accepted it). */
TEST_F(mq, notify_signo_0_is_einval)
{
	mqd_t q = MKQ(O_RDWR, 4, 16);

	ASSERT_ERRNO(EINVAL, notify_sig(be, q, 0, NULL));
	SYS(notify_sig(be, q, SIGUSR2, NULL));	/* nothing was registered */
}

/* valid_signal(): the highest signal, _NSIG (64), may be asked for. */
TEST_F(mq, notify_signo_64_is_valid)
{
	mqd_t q = MKQ(O_RDWR, 4, 16);
	siginfo_t si;

	SYS(block_signal(64));
	SYS(notify_sig(be, q, 64, NULL));
	SYS(be->send(q, "1", 1, 0));
	ASSERT_EQ(64, take_signal(64, &si, 2000));
	ASSERT_EQ(SI_MESGQ, si.si_code);
	ASSERT_EQ(getpid(), si.si_pid);
}

TEST_F(mq, notify_only_on_empty_to_nonempty)
{
	mqd_t q = MKQ(O_RDWR, 4, 16);
	char buf[16];
	siginfo_t si;

	SYS(block_signal(SIGUSR1));
	SYS(be->send(q, "1", 1, 0));
	SYS(notify_sig(be, q, SIGUSR1, NULL));
	SYS(be->send(q, "2", 1, 0));
	ASSERT_ERRNO(EAGAIN, take_signal(SIGUSR1, &si, QUIET_MS));
	ASSERT_ERRNO(EBUSY, notify_sig(be, q, SIGUSR1, NULL));	/* still registered */
	SYS(be->receive(q, buf, sizeof(buf), NULL));
	SYS(be->receive(q, buf, sizeof(buf), NULL));
	SYS(be->send(q, "3", 1, 0));
	ASSERT_EQ(SIGUSR1, take_signal(SIGUSR1, &si, 2000));
}

TEST_F(mq, notify_not_sent_when_receiver_waits)
{
	mqd_t q = MKQ(O_RDWR, 4, 16);
	siginfo_t si;
	pid_t pid;

	SYS(block_signal(SIGUSR1));
	SYS(notify_sig(be, q, SIGUSR1, NULL));
	pid = fork_child();
	if (pid == 0) {
		char buf[16];

		CHILD_CHECK(be->receive(q, buf, sizeof(buf), NULL) == 1);
		_exit(0);
	}
	ASSERT_EQ(0, wait_blocked(pid));
	SYS(be->send(q, "x", 1, 0));
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_ERRNO(EAGAIN, take_signal(SIGUSR1, &si, QUIET_MS));
	ASSERT_ERRNO(EBUSY, notify_sig(be, q, SIGUSR1, NULL));	/* not consumed */
}

TEST_F(mq, notify_invalid_sigevent_is_einval)
{
	struct sigevent sev = { .sigev_notify = 12345 };
	mqd_t q = MKQ(O_RDWR, 4, 16);

	ASSERT_ERRNO(EINVAL, be->notify(q, &sev));
	sev.sigev_notify = -1;
	ASSERT_ERRNO(EINVAL, be->notify(q, &sev));
	ASSERT_ERRNO(EINVAL, notify_sig(be, q, 65, NULL));
	ASSERT_ERRNO(EINVAL, notify_sig(be, q, -1, NULL));
	/* Checked before the descriptor. */
	sev.sigev_notify = 12345;
	ASSERT_ERRNO(EINVAL, be->notify(-1, &sev));
	/* Nothing was registered. */
	SYS(notify_sig(be, q, SIGUSR1, NULL));
}

TEST_F(mq, notify_null_removes_registration)
{
	mqd_t q = MKQ(O_RDWR, 4, 16);
	siginfo_t si;

	SYS(block_signal(SIGUSR1));
	SYS(notify_sig(be, q, SIGUSR1, NULL));
	SYS(be->notify(q, NULL));
	SYS(be->notify(q, NULL));	/* nothing registered: still 0 */
	SYS(be->send(q, "x", 1, 0));
	ASSERT_ERRNO(EAGAIN, take_signal(SIGUSR1, &si, QUIET_MS));
	SYS(notify_sig(be, q, SIGUSR1, NULL));
}

TEST_F(mq, notify_registration_belongs_to_the_process)
{
	mqd_t q = MKQ(O_RDWR, 4, 16);
	siginfo_t si;
	pid_t pid;

	SYS(block_signal(SIGUSR1));
	SYS(notify_sig(be, q, SIGUSR1, NULL));
	pid = fork_child();
	if (pid == 0) {
		/* Not the owner: NULL is a silent no-op, close does not remove. */
		CHILD_CHECK(be->notify(q, NULL) == 0);
		CHILD_CHECK(notify_sig(be, q, SIGUSR2, NULL) == -1 && errno == EBUSY);
		CHILD_CHECK(close(q) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	SYS(be->send(q, "x", 1, 0));
	ASSERT_EQ(SIGUSR1, take_signal(SIGUSR1, &si, 2000));
}

TEST_F(mq, notify_removed_when_owner_closes_any_descriptor)
{
	mqd_t q = MKQ(O_RDWR, 4, 16), q2 = SYS(be->open(self->name, O_RDONLY));

	SYS(notify_sig(be, q, SIGUSR1, NULL));
	SYS(be->close(q2));	/* another open of the queue */
	SYS(notify_sig(be, q, SIGUSR1, NULL));
	SYS(close(SYS(dup(q))));	/* a dup: same file, still a close */
	SYS(notify_sig(be, q, SIGUSR1, NULL));
}

/* ---- the descriptor ---------------------------------------------------- */

TEST_F(mq, poll_reports_readable_and_writable)
{
	mqd_t q = MKQ(O_RDWR, 2, 16);
	struct pollfd p = { .fd = q, .events = POLLIN | POLLOUT };
	char buf[16];

	ASSERT_EQ(1, poll(&p, 1, 0));
	ASSERT_EQ(POLLOUT, p.revents);
	SYS(be->send(q, "1", 1, 0));
	ASSERT_EQ(1, poll(&p, 1, 0));
	ASSERT_EQ(POLLIN | POLLOUT, p.revents);
	SYS(be->send(q, "2", 1, 0));
	ASSERT_EQ(1, poll(&p, 1, 0));
	ASSERT_EQ(POLLIN, p.revents);
	SYS(be->receive(q, buf, sizeof(buf), NULL));
	SYS(be->receive(q, buf, sizeof(buf), NULL));
	p.events = POLLIN;
	ASSERT_EQ(0, poll(&p, 1, 0));
}

/* The readable and writable masks carry POLLRDNORM and POLLWRNORM
 * (mqueue_poll_file). */
TEST_F(mq, poll_reports_rdnorm_and_wrnorm_with_in_and_out)
{
	mqd_t q = MKQ(O_RDWR, 1, 16);
	struct pollfd p = { .fd = q, .events = POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM };

	ASSERT_EQ(1, poll(&p, 1, 0));
	ASSERT_EQ(POLLOUT | POLLWRNORM, p.revents);
	SYS(be->send(q, "1", 1, 0));
	ASSERT_EQ(1, poll(&p, 1, 0));
	ASSERT_EQ(POLLIN | POLLRDNORM, p.revents);
	p.events = POLLRDNORM;
	ASSERT_EQ(1, poll(&p, 1, 0));
	ASSERT_EQ(POLLRDNORM, p.revents);
	ASSERT_RECV(q, 16, "1", 0);
	p.events = POLLWRNORM;
	ASSERT_EQ(1, poll(&p, 1, 0));
	ASSERT_EQ(POLLWRNORM, p.revents);
}

TEST_F(mq, poll_is_woken_by_send)
{
	mqd_t q = MKQ(O_RDWR, 2, 16);
	struct pollfd p = { .fd = q, .events = POLLIN };
	pid_t pid = fork_child();

	if (pid == 0) {
		int blocked = wait_blocked(getppid());

		CHILD_CHECK(be->send(q, "woken", 5, 7) == 0);
		CHILD_CHECK(blocked == 0);
		_exit(0);
	}
	ASSERT_EQ(1, poll(&p, 1, 5000));
	ASSERT_EQ(POLLIN, p.revents);
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_ATTR(q, 0, 2, 16, 1);
	ASSERT_RECV(q, 16, "woken", 7);
	ASSERT_ATTR(q, 0, 2, 16, 0);
}

/*
 * Pollers wake when a message goes into the queue or a receive frees room
 * in it, not when a send hands its message to a blocked receiver or a
 * receive lets a blocked sender's message in (pipelined_send and
 * pipelined_receive wake only that task): an edge-triggered epoll sees
 * events for the first two only.
 */
TEST_F(mq, hand_overs_wake_no_poller)
{
	mqd_t q = MKQ(O_RDWR, 1, 16);
	int ep = SYS(epoll_create1(EPOLL_CLOEXEC));
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET }, out[2];
	char buf[16];
	pid_t pid;

	SYS(epoll_ctl(ep, EPOLL_CTL_ADD, q, &ev));
	ASSERT_EQ(1, epoll_wait(ep, out, 2, 0));
	ASSERT_EQ((__u32)EPOLLOUT, out[0].events);
	ASSERT_EQ(0, epoll_wait(ep, out, 2, 0));
	/* A send to a blocked receiver. */
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(be->receive(q, buf, sizeof(buf), NULL) == 1 && buf[0] == 'a');
		_exit(0);
	}
	ASSERT_EQ(0, wait_blocked(pid));
	SYS(be->send(q, "a", 1, 0));
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_EQ(0, epoll_wait(ep, out, 2, 0));
	/* A send into the queue (now full). */
	SYS(be->send(q, "b", 1, 0));
	ASSERT_EQ(1, epoll_wait(ep, out, 2, 0));
	ASSERT_EQ((__u32)EPOLLIN, out[0].events);
	/* A receive that lets a blocked sender in. */
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(be->send(q, "c", 1, 0) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_blocked(pid));
	ASSERT_RECV(q, 16, "b", 0);
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_EQ(0, epoll_wait(ep, out, 2, 0));
	/* A receive that frees room. */
	ASSERT_RECV(q, 16, "c", 0);
	ASSERT_EQ(1, epoll_wait(ep, out, 2, 0));
	ASSERT_EQ((__u32)EPOLLOUT, out[0].events);
	close(ep);
}

/* The status line of an empty queue without a notification. */
#define EMPTY_STATUS "QSIZE:0          NOTIFY:0     SIGNO:0     NOTIFY_PID:0     \n"
#define EMPTY_STATUS_LEN ((ssize_t)sizeof(EMPTY_STATUS) - 1)

/* A read of the status line into memory that is not there: EFAULT. */
TEST_F(mq, status_read_into_an_unmapped_buffer_is_efault)
{
	mqd_t q = MKQ(O_RDWR, 2, 16);
	char *bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[128];

	ASSERT_NE(MAP_FAILED, bad);
	ASSERT_ERRNO(EFAULT, read(q, bad, 100));
	ASSERT_EQ(0, lseek(q, 0, SEEK_CUR));
	/* Then the whole line, from its start. */
	ASSERT_EQ(EMPTY_STATUS_LEN, read(q, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(EMPTY_STATUS, buf, EMPTY_STATUS_LEN));
	ASSERT_EQ(0, munmap(bad, 4096));
}

/*
 * A read at or past the end of the status line copies nothing and is 0
 * (simple_read_from_buffer looks at the position before the buffer), also
 * into memory that is not there; EFAULT only where there is a byte to copy.
 */
TEST_F(mq, status_read_at_the_end_into_an_unmapped_buffer_is_0)
{
	mqd_t q = MKQ(O_RDWR, 2, 16);
	char *bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char buf[128];

	ASSERT_NE(MAP_FAILED, bad);
	ASSERT_EQ(EMPTY_STATUS_LEN, read(q, buf, sizeof(buf)));
	ASSERT_EQ(0, read(q, bad, 100));
	ASSERT_EQ(EMPTY_STATUS_LEN, lseek(q, 0, SEEK_CUR));
	ASSERT_EQ(200, lseek(q, 200, SEEK_SET));
	ASSERT_EQ(0, read(q, bad, 100));
	ASSERT_EQ(EMPTY_STATUS_LEN - 1, lseek(q, EMPTY_STATUS_LEN - 1, SEEK_SET));
	ASSERT_ERRNO(EFAULT, read(q, bad, 100));
	ASSERT_EQ(0, munmap(bad, 4096));
}

/*
 * A queue's descriptor is a file of 80 bytes (the room of the status
 * line, FILENT_SIZE), which SEEK_END, SEEK_DATA and SEEK_HOLE count from,
 * with default_llseek's rules.
 */
TEST_F(mq, seek_end_data_and_hole_count_from_80_bytes)
{
	mqd_t q = MKQ(O_RDWR, 2, 16);
	char buf[128];

	ASSERT_EQ(80, lseek(q, 0, SEEK_END));
	ASSERT_EQ(0, read(q, buf, sizeof(buf)));
	ASSERT_EQ(70, lseek(q, -10, SEEK_END));
	ASSERT_ERRNO(EINVAL, lseek(q, -81, SEEK_END));
	ASSERT_EQ(200, lseek(q, 200, SEEK_SET));
	ASSERT_EQ(0, lseek(q, 0, SEEK_DATA));
	ASSERT_EQ(79, lseek(q, 79, SEEK_DATA));
	ASSERT_ERRNO(ENXIO, lseek(q, 80, SEEK_DATA));
	ASSERT_ERRNO(EINVAL, lseek(q, -1, SEEK_DATA));
	ASSERT_EQ(80, lseek(q, 5, SEEK_HOLE));
	ASSERT_ERRNO(ENXIO, lseek(q, 80, SEEK_HOLE));
	ASSERT_EQ(80, lseek(q, -1, SEEK_HOLE));
	ASSERT_EQ(0, lseek(q, 0, SEEK_SET));
	ASSERT_EQ(EMPTY_STATUS_LEN, read(q, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(EMPTY_STATUS, buf, EMPTY_STATUS_LEN));
}

/*
 * mq_open's oflag goes to dentry_open too, once the queue is opened or
 * made: O_DIRECT fails (EINVAL, the queue made stays), O_PATH gives a
 * descriptor that no queue call takes (EBADF).
 */
TEST_F(mq, open_with_o_direct_or_o_path_is_dentry_opens)
{
	char buf[8192];
	mqd_t q;

	ASSERT_ERRNO(EINVAL, be->open(self->name, O_RDWR | O_CREAT | O_DIRECT, 0600, NULL));
	ASSERT_ERRNO(EEXIST, be->open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL));
	ASSERT_ERRNO(EINVAL, be->open(self->name, O_RDONLY | O_DIRECT));
	q = SYS(be->open(self->name, O_RDWR | O_PATH));
	ASSERT_ERRNO(EBADF, be->send(q, "x", 1, 0));
	ASSERT_ERRNO(EBADF, be->receive(q, buf, sizeof(buf), NULL));
	ASSERT_ERRNO(EBADF, read(q, buf, sizeof(buf)));
	SYS(be->close(q));
	ASSERT_ERRNO(EEXIST, be->open(self->name, O_RDWR | O_PATH | O_CREAT | O_EXCL, 0600, NULL));
}

/* Reads the status line from a fresh descriptor and compares it. */
#define ASSERT_STATUS(qsize, notify, signo, pid) do { \
	char __want[128], __got[128] = { 0 }; \
	mqd_t __q = SYS(be->open(self->name, O_RDONLY)); \
	snprintf(__want, sizeof(__want), \
		 "QSIZE:%-10lu NOTIFY:%-5d SIGNO:%-5d NOTIFY_PID:%-6d\n", \
		 (unsigned long)(qsize), notify, signo, pid); \
	ASSERT_EQ((ssize_t)strlen(__want), read(__q, __got, sizeof(__got) - 1)); \
	ASSERT_STREQ(__want, __got); \
	ASSERT_EQ(0, read(__q, __got, sizeof(__got))); \
	SYS(be->close(__q)); \
} while (0)

TEST_F(mq, read_gives_the_status_line)
{
	struct sigevent none = { .sigev_notify = SIGEV_NONE };
	mqd_t q = MKQ(O_RDWR, 4, 64);

	ASSERT_STATUS(0, 0, 0, 0);
	SYS(be->send(q, "hello", 5, 0));
	SYS(be->send(q, "abc", 3, 9));
	SYS(be->send(q, "", 0, 1));
	ASSERT_STATUS(8, 0, 0, 0);
	SYS(notify_sig(be, q, SIGUSR2, NULL));
	ASSERT_STATUS(8, SIGEV_SIGNAL, SIGUSR2, getpid());
	SYS(be->notify(q, NULL));
	SYS(be->notify(q, &none));
	ASSERT_STATUS(8, SIGEV_NONE, 0, getpid());
}

/*
 * A descriptor opened write-only has no status line to read: EBADF, as
 * native's read() of a file without FMODE_READ (libripc opens the device
 * file with the queue's access mode, so the VFS refuses it; a device file
 * opened O_RDWR and bound write-only: device_test.c).
 */
/* QSIZE counts the bytes of the queued messages: a receive takes its own off. */
TEST_F(mq, status_qsize_drops_with_each_receive)
{
	mqd_t q = MKQ(O_RDWR, 4, 64);

	SYS(be->send(q, "hello", 5, 0));
	SYS(be->send(q, "abc", 3, 9));
	ASSERT_STATUS(8, 0, 0, 0);
	ASSERT_RECV(q, 64, "abc", 9);
	ASSERT_STATUS(5, 0, 0, 0);
	ASSERT_RECV(q, 64, "hello", 0);
	ASSERT_STATUS(0, 0, 0, 0);
}

TEST_F(mq, read_of_a_write_only_descriptor_is_ebadf)
{
	char buf[128] = { 0 };
	mqd_t q = MKQ(O_RDWR, 4, 64), w;

	SYS(be->send(q, "hello", 5, 0));
	w = SYS(be->open(self->name, O_WRONLY));
	ASSERT_ERRNO(EBADF, read(w, buf, sizeof(buf) - 1));
	ASSERT_EQ(0, buf[0]);
	SYS(be->close(w));
	ASSERT_STATUS(5, 0, 0, 0);
}

#define PRIO_PROBE_ENV "RIPC_PRIO_PROBE"

/*
 * In the image a test execs with PRIO_PROBE_ENV="q,backend" (backend 'n'
 * native, 'r' rust_ipc): a receive on the inherited q into a buffer whose
 * priority's place is not mapped.  Exits 0 for EFAULT, else 1 (a crash:
 * killed by a signal).
 */
static void __attribute__((constructor)) prio_probe(void)
{
	const char *v = getenv(PRIO_PROBE_ENV);
	const struct mq_backend *b;
	char buf[64];
	ssize_t n;
	char kind;
	int fd;

	if (!v || sscanf(v, "%d,%c", &fd, &kind) != 2)
		return;
	b = kind == 'r' ? &ripc_mq_be : &native_mq_be;
	n = b->receive(fd, buf, sizeof(buf), (unsigned int *)8);
	_exit(n == -1 && errno == EFAULT ? 0 : 1);
}

/*
 * A descriptor inherited across an exec, by an image that has made no
 * queue call of its own: a receive whose priority cannot be written is
 * EFAULT, as native's put_user (libripc wrote the priority itself on that
 * path, and crashed).
 */
TEST_F(mq, a_receive_on_an_inherited_descriptor_whose_priority_faults_is_efault)
{
	mqd_t q = MKQ(O_RDWR, 4, 16);
	pid_t pid;

	SYS(be->send(q, "x", 1, 0));
	pid = fork_child();
	if (pid == 0) {
		static char env[64], preload[512];
		const char *pre = getenv("LD_PRELOAD");
		/* The drop-in's run (mq_test under LD_PRELOAD) keeps it. */
		char *argv[] = { "mq_test", NULL }, *envp[] = { env, pre ? preload : NULL, NULL };

		if (pre)
			snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", pre);
		CHILD_CHECK(fcntl(q, F_SETFD, 0) == 0);
		snprintf(env, sizeof(env), PRIO_PROBE_ENV "=%d,%c", (int)q,
			 be == &ripc_mq_be ? 'r' : 'n');
		execve("/proc/self/exe", argv, envp);
		_exit(2);
	}
	ASSERT_EQ(0, wait_child(pid));
}

TEST_F(mq, closed_descriptor_is_ebadf)
{
	struct mq_attr a;
	char buf[16];
	mqd_t q = MKQ(O_RDWR, 4, 16);

	SYS(be->close(q));
	ASSERT_ERRNO(EBADF, be->send(q, "x", 1, 0));
	ASSERT_ERRNO(EBADF, be->receive(q, buf, sizeof(buf), NULL));
	ASSERT_ERRNO(EBADF, be->getattr(q, &a));
	ASSERT_ERRNO(EBADF, be->notify(q, NULL));
	ASSERT_ERRNO(EBADF, be->close(q));
}

/*
 * Crowds of blocked receivers, one after the other: 40 block on an empty
 * queue and each gets one of 40 messages, each message one receiver, then
 * 40 more (rust_ipc's waiter entries are on the receivers' stacks, linked
 * into the queue's list: a crowd's list is linked and emptied twice).
 */
TEST_F(mq, crowds_of_blocked_receivers_each_get_a_message)
{
	enum { CROWD = 40 };
	mqd_t q = MKQ(O_RDWR, 10, 16);

	for (int round = 0; round < 2; round++) {
		pid_t kids[CROWD];
		char m[2] = { '0', 0 };
		int got[CROWD] = { 0 };

		for (int i = 0; i < CROWD; i++) {
			kids[i] = fork_child();
			ASSERT_LE(0, kids[i]);
			if (kids[i] == 0) {
				char b[16];
				unsigned int p;

				CHILD_CHECK(be->receive(q, b, sizeof(b), &p) == 1);
				CHILD_CHECK(b[0] >= '0' && b[0] < '0' + CROWD && p == 3);
				/* Which message it got, for the parent. */
				_exit(10 + b[0] - '0');
			}
		}
		for (int i = 0; i < CROWD; i++)
			ASSERT_EQ(0, wait_blocked(kids[i]));
		for (int i = 0; i < CROWD; i++, m[0]++)
			SYS(be->send(q, m, 1, 3));
		/* Each message went to exactly one receiver. */
		for (int i = 0; i < CROWD; i++) {
			int r = wait_child(kids[i]);

			ASSERT_TRUE(r >= 10 && r < 10 + CROWD) TH_LOG("receiver %d: exit %d", i, r);
			got[r - 10]++;
		}
		for (int i = 0; i < CROWD; i++) {
			ASSERT_EQ(1, got[i]) TH_LOG("message %d", i);
		}
		ASSERT_ATTR(q, 0, 10, 16, 0);
	}
	SYS(be->close(q));
}

TEST_HARNESS_MAIN
