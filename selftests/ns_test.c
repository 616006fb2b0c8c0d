// SPDX-License-Identifier: GPL-2.0
/*
 * IPC namespaces: a process after unshare(CLONE_NEWIPC) sees none of its
 * parent namespace's POSIX names or System V keys and ids, and the parent
 * none of its; setns() goes back; when a namespace dies, its queues are
 * freed (observed through RLIMIT_MSGQUEUE, which is per user across
 * namespaces: the dead namespace's charge comes back).  Every test runs on
 * the native queues and on rust_ipc, in the same boot, and expects the same.
 * rust_ipc's listing (RIPC_IOC_LIST) shows only the caller's namespace.
 */
#include "ripc_test.h"

#include <grp.h>
#include <mqueue.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/stat.h>

struct ns_backend {
	const char *name;
	int (*probe)(void);
	mqd_t (*mq_open)(const char *name, int oflag, ...);
	int (*mq_close)(mqd_t mqd);
	int (*mq_unlink)(const char *name);
	int (*mq_send)(mqd_t mqd, const char *p, size_t len, unsigned int prio);
	ssize_t (*mq_receive)(mqd_t mqd, char *p, size_t len, unsigned int *prio);
	int (*mq_getattr)(mqd_t mqd, struct mq_attr *attr);
	int (*msgget)(key_t key, int msgflg);
	int (*msgsnd)(int msqid, const void *msgp, size_t msgsz, int msgflg);
	ssize_t (*msgrcv)(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg);
	int (*msgctl)(int msqid, int cmd, struct msqid_ds *buf);
	/* msg_next_id: *old gets it, then it is set to *new_value if given. */
	int (*next_id)(int *old, const int *new_value);
	int (*mq_fchmod)(mqd_t mqd, mode_t mode);
};

static int native_mq_fchmod(mqd_t mqd, mode_t mode)
{
	return fchmod(mqd, mode);
}

static int native_probe(void)
{
	return 0;
}

static int ripc_probe(void)
{
	return have_device() ? 0 : -1;
}

static const struct ns_backend native_be = {
	"native", native_probe, mq_open, mq_close, mq_unlink, mq_send, mq_receive,
	mq_getattr, msgget, msgsnd, msgrcv, msgctl, native_msg_next_id, native_mq_fchmod,
};

static const struct ns_backend ripc_be = {
	"rust_ipc", ripc_probe, ripc_mq_open, ripc_mq_close, ripc_mq_unlink, ripc_mq_send,
	ripc_mq_receive, ripc_mq_getattr, ripc_msgget, ripc_msgsnd, ripc_msgrcv, ripc_msgctl,
	ripc_msg_next_id, ripc_mq_fchmod,
};

FIXTURE(ns) {
	const struct ns_backend *be;
	char name[64];
	key_t key;
};

FIXTURE_VARIANT(ns) {
	const struct ns_backend *be;
};

FIXTURE_VARIANT_ADD(ns, native) { .be = &native_be };
FIXTURE_VARIANT_ADD(ns, ripc) { .be = &ripc_be };

FIXTURE_SETUP(ns)
{
	self->be = variant->be;
	if (geteuid() != 0)
		SKIP(return, "needs root (unshare(CLONE_NEWIPC))");
	if (self->be->probe())
		SKIP(return, "%s unavailable", self->be->name);
	if (access("/proc/self/ns/ipc", F_OK))
		SKIP(return, "no IPC namespaces");
	snprintf(self->name, sizeof(self->name), "/ns_test_%d", getpid());
	self->key = 0x4e000000 | getpid();
}

FIXTURE_TEARDOWN(ns)
{
	int id;

	self->be->mq_unlink(self->name);
	if ((id = self->be->msgget(self->key, 0)) >= 0)
		self->be->msgctl(id, IPC_RMID, NULL);
}

#define be (self->be)

struct m {
	long mtype;
	char text[16];
};

/* Creates the test's POSIX queue (one message "parent") and its System V
 * queue (one message "parent" of type 7); returns the queue descriptor. */
static int make_parent_queues(struct __test_metadata *_metadata, FIXTURE_DATA(ns) *self,
			      int *id)
{
	struct mq_attr attr = { .mq_maxmsg = 4, .mq_msgsize = 16 };
	struct m msg = { 7, "parent" };
	int mqd = SYS(be->mq_open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr));

	SYS(be->mq_send(mqd, "parent", 6, 1));
	*id = SYS(be->msgget(self->key, IPC_CREAT | IPC_EXCL | 0600));
	SYS(be->msgsnd(*id, &msg, 6, 0));
	return mqd;
}

/* The parent's queues still hold exactly their one message each: "parent"
 * of priority 1 and of type 7, and a receive writes nothing past it. */
static void check_parent_queues(struct __test_metadata *_metadata, FIXTURE_DATA(ns) *self,
				int mqd, int id)
{
	struct mq_attr a;
	struct msqid_ds ds;
	struct m msg;
	char buf[16];
	unsigned int prio = ~0u;

	SYS(be->mq_getattr(mqd, &a));
	ASSERT_EQ(1, a.mq_curmsgs);
	memset(buf, POISON, sizeof(buf));
	ASSERT_EQ(6, SYS(be->mq_receive(mqd, buf, sizeof(buf), &prio)));
	ASSERT_EQ(1u, prio);
	ASSERT_EQ(0, memcmp(buf, "parent", 6));
	ASSERT_EQ(sizeof(buf), first_written(buf, 6, sizeof(buf)));
	SYS(be->msgctl(id, IPC_STAT, &ds));
	ASSERT_EQ(1u, ds.msg_qnum);
	memset(&msg, POISON, sizeof(msg));
	ASSERT_EQ(6, SYS(be->msgrcv(id, &msg, sizeof(msg.text), 0, IPC_NOWAIT)));
	ASSERT_EQ(7, msg.mtype);
	ASSERT_EQ(0, memcmp(msg.text, "parent", 6));
	ASSERT_EQ(sizeof(msg.text), first_written(msg.text, 6, sizeof(msg.text)));
	be->mq_close(mqd);
}

TEST_F(ns, posix_names_are_per_namespace)
{
	struct mq_attr attr = { .mq_maxmsg = 4, .mq_msgsize = 16 }, a;
	int id, mqd = make_parent_queues(_metadata, self, &id);
	pid_t pid = fork_child();

	if (pid == 0) {
		int q;

		CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
		CHILD_CHECK(be->mq_open(self->name, O_RDWR) == -1 && errno == ENOENT);
		CHILD_CHECK(be->mq_unlink(self->name) == -1 && errno == ENOENT);
		q = be->mq_open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
		CHILD_CHECK(q >= 0);
		CHILD_CHECK(be->mq_getattr(q, &a) == 0 && a.mq_curmsgs == 0);
		CHILD_CHECK(be->mq_send(q, "child", 5, 2) == 0);
		CHILD_CHECK(be->mq_send(q, "child", 5, 2) == 0);
		CHILD_CHECK(be->mq_getattr(q, &a) == 0 && a.mq_curmsgs == 2);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	/* The child's same-named queue went with its namespace. */
	check_parent_queues(_metadata, self, mqd, id);
}

TEST_F(ns, sysv_keys_and_ids_are_per_namespace)
{
	int id, mqd = make_parent_queues(_metadata, self, &id);
	pid_t pid = fork_child();

	if (pid == 0) {
		struct msqid_ds ds;
		struct msginfo info;
		struct m msg = { 3, "child" };
		int mine;

		CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
		CHILD_CHECK(be->msgget(self->key, 0) == -1 && errno == ENOENT);
		CHILD_CHECK(be->msgctl(id, IPC_STAT, &ds) == -1 && errno == EINVAL);
		CHILD_CHECK(be->msgsnd(id, &msg, 5, IPC_NOWAIT) == -1 && errno == EINVAL);
		CHILD_CHECK(be->msgrcv(id, &msg, 16, 0, IPC_NOWAIT) == -1 && errno == EINVAL);
		CHILD_CHECK(be->msgctl(id, IPC_RMID, NULL) == -1 && errno == EINVAL);
		/* An empty namespace: no queue, no message; the highest index 0. */
		CHILD_CHECK(be->msgctl(0, MSG_INFO, (struct msqid_ds *)&info) == 0);
		CHILD_CHECK(info.msgpool == 0 && info.msgmap == 0 && info.msgtql == 0);
		/* The same key makes a new queue, with the first id of a fresh
		 * namespace. */
		mine = be->msgget(self->key, IPC_CREAT | IPC_EXCL | 0600);
		CHILD_CHECK(mine == 0);
		CHILD_CHECK(be->msgsnd(mine, &msg, 5, 0) == 0);
		CHILD_CHECK(be->msgctl(0, MSG_INFO, (struct msqid_ds *)&info) == 0);
		CHILD_CHECK(info.msgpool == 1 && info.msgmap == 1 && info.msgtql == 5);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	check_parent_queues(_metadata, self, mqd, id);
}

TEST_F(ns, setns_goes_back_to_the_parent_queues)
{
	int id, mqd = make_parent_queues(_metadata, self, &id);
	pid_t pid = fork_child();

	if (pid == 0) {
		int nsfd = open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC), q;
		struct mq_attr a;

		CHILD_CHECK(nsfd >= 0);
		CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
		CHILD_CHECK(be->msgget(self->key, 0) == -1 && errno == ENOENT);
		CHILD_CHECK(be->mq_open(self->name, O_RDONLY) == -1 && errno == ENOENT);
		CHILD_CHECK(setns(nsfd, CLONE_NEWIPC) == 0);
		CHILD_CHECK(be->msgget(self->key, 0) == id);
		q = be->mq_open(self->name, O_RDONLY);
		CHILD_CHECK(q >= 0);
		CHILD_CHECK(be->mq_getattr(q, &a) == 0 && a.mq_curmsgs == 1);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	check_parent_queues(_metadata, self, mqd, id);
}

/* A queue descriptor opened in one namespace keeps its queue after the
 * process moves to another (as a native mqueue descriptor does). */
TEST_F(ns, descriptor_keeps_its_queue_across_unshare)
{
	int id, mqd = make_parent_queues(_metadata, self, &id);
	pid_t pid = fork_child();

	if (pid == 0) {
		char buf[16];
		unsigned int prio;

		CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
		CHILD_CHECK(be->mq_receive(mqd, buf, sizeof(buf), &prio) == 6);
		CHILD_CHECK(memcmp(buf, "parent", 6) == 0 && prio == 1);
		CHILD_CHECK(be->mq_send(mqd, "parent", 6, 1) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	check_parent_queues(_metadata, self, mqd, id);
}

/*
 * A process that goes back and forth between seven namespaces with the
 * device descriptor it opened in the first (libripc's), more than the
 * module keeps for a file (4): each System V call reaches the namespace
 * the caller is in at that moment, twice around.  In each, the test's key
 * names a queue holding one message of the namespace's number.
 */
TEST_F(ns, calls_reach_the_callers_namespace_among_many_visited)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		enum { N = 7 };
		int nsfd[N], id;
		struct m msg;

		alarm(60);
		for (int i = 0; i < N; i++) {
			if (i > 0)
				CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
			nsfd[i] = open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC);
			CHILD_CHECK(nsfd[i] >= 0);
			id = be->msgget(self->key, IPC_CREAT | IPC_EXCL | 0600);
			msg.mtype = 100 + i;
			CHILD_CHECK(id >= 0 && be->msgsnd(id, &msg, 0, 0) == 0);
		}
		for (int round = 0; round < 2; round++) {
			for (int j = 0; j < N; j++) {
				int i = round ? N - 1 - j : j;

				CHILD_CHECK(setns(nsfd[i], CLONE_NEWIPC) == 0);
				id = be->msgget(self->key, 0);
				CHILD_CHECK(id >= 0);
				CHILD_CHECK(be->msgrcv(id, &msg, 0, 0, IPC_NOWAIT) == 0);
				CHILD_CHECK(msg.mtype == 100 + i);
				CHILD_CHECK(be->msgsnd(id, &msg, 0, 0) == 0);
			}
		}
		for (int i = 0; i < N; i++) {
			CHILD_CHECK(setns(nsfd[i], CLONE_NEWIPC) == 0);
			id = be->msgget(self->key, 0);
			CHILD_CHECK(id >= 0 && be->msgctl(id, IPC_RMID, NULL) == 0);
		}
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/* Creates a queue and removes it at once; its id, or -1. */
static int flash_queue(const struct ns_backend *b)
{
	int id = b->msgget(IPC_PRIVATE, 0600);

	if (id >= 0 && b->msgctl(id, IPC_RMID, NULL))
		return -1;
	return id;
}

/* In a fresh namespace, ids go as native's idr_alloc_cyclic makes them: the
 * next index after the last one, cycling through 64 indexes, the sequence
 * number advancing when the index wraps. */
TEST_F(ns, sysv_ids_are_allocated_as_native)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		int id[4];

		CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
		for (int i = 0; i < 3; i++)
			CHILD_CHECK((id[i] = be->msgget(IPC_PRIVATE, 0600)) == i);
		CHILD_CHECK(be->msgctl(id[0], IPC_RMID, NULL) == 0);
		/* Index 0 is free, but the cycle goes on from 3. */
		CHILD_CHECK((id[3] = be->msgget(IPC_PRIVATE, 0600)) == 3);
		for (int i = 1; i < 4; i++)
			CHILD_CHECK(be->msgctl(id[i], IPC_RMID, NULL) == 0);
		for (int i = 4; i < 64; i++)
			CHILD_CHECK(flash_queue(be) == i);
		/* Wrapped: index 0 with sequence number 1, and so on. */
		CHILD_CHECK(flash_queue(be) == 32768);
		CHILD_CHECK(flash_queue(be) == 32769);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/* A removed queue's id made again for a new queue (msg_next_id: the same
 * index and sequence number) names the new queue at once, also for a
 * caller whose last calls, on the same CPU, were on the removed one
 * (rust_ipc keeps each CPU's last queue for the next call). */
TEST_F(ns, an_id_made_again_names_the_new_queue)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		struct m msg = { 5, "old" };
		cpu_set_t one;
		int id, again;

		CPU_ZERO(&one);
		CPU_SET(0, &one);
		CHILD_CHECK(sched_setaffinity(0, sizeof(one), &one) == 0);
		CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
		for (int i = 0; i < 3; i++)
			CHILD_CHECK(flash_queue(be) == i);
		id = be->msgget(IPC_PRIVATE, 0600);
		CHILD_CHECK(id == 3);
		CHILD_CHECK(be->msgsnd(id, &msg, 3, 0) == 0);
		CHILD_CHECK(be->msgrcv(id, &msg, 16, 0, IPC_NOWAIT) == 3);
		CHILD_CHECK(be->msgctl(id, IPC_RMID, NULL) == 0);
		CHILD_CHECK(be->msgsnd(id, &msg, 3, IPC_NOWAIT) == -1 && errno == EINVAL);
		{
			int old;

			CHILD_CHECK(be->next_id(&old, &id) == 0 && old == -1);
		}
		again = be->msgget(IPC_PRIVATE, 0600);
		CHILD_CHECK(again == id);
		memcpy(msg.text, "new", 3);
		msg.mtype = 6;
		CHILD_CHECK(be->msgsnd(id, &msg, 3, IPC_NOWAIT) == 0);
		memset(&msg, 0, sizeof(msg));
		CHILD_CHECK(be->msgrcv(again, &msg, 16, 0, IPC_NOWAIT) == 3);
		CHILD_CHECK(msg.mtype == 6 && memcmp(msg.text, "new", 3) == 0);
		CHILD_CHECK(be->msgctl(again, IPC_RMID, NULL) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/*
 * msg_next_id is written only with CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN
 * over the namespace's user namespace: its sysctl is 0444, made 0666 by
 * that capability alone (ipc_permissions), so root (the file's owner)
 * without it may read it and gets EACCES for a write.
 */
TEST_F(ns, msg_next_id_is_written_only_with_checkpoint_restore_or_sys_admin)
{
	static const int caps[] = { -1, CAP_IPC_OWNER, CAP_DAC_OVERRIDE, CAP_SYS_RESOURCE,
				    CAP_CHECKPOINT_RESTORE, CAP_SYS_ADMIN };

	if (geteuid() != 0)
		SKIP(return, "needs uid 0");
	for (size_t i = 0; i < ARRAY_SIZE(caps); i++) {
		pid_t pid = fork_child();

		if (pid == 0) {
			int allowed = caps[i] == CAP_CHECKPOINT_RESTORE || caps[i] == CAP_SYS_ADMIN;
			int v = 0, seven = 7;

			CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
			CHILD_CHECK(caps_in_effect(caps[i], 0) == 0);
			CHILD_CHECK(be->next_id(&v, NULL) == 0 && v == -1);
			if (allowed) {
				CHILD_CHECK(be->next_id(&v, &seven) == 0);
				CHILD_CHECK(be->next_id(&v, NULL) == 0 && v == 7);
			} else {
				CHILD_CHECK(be->next_id(&v, &seven) == -1 && errno == EACCES);
				CHILD_CHECK(be->next_id(&v, NULL) == 0 && v == -1);
			}
			_exit(0);
		}
		ASSERT_EQ(0, wait_child(pid)) TH_LOG("capability %d", caps[i]);
	}
}

TEST_F(ns, msg_next_id_gives_the_next_id_once)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		int v, five = 5, far = 2 * 32768 + 3, one = 1, minus = -1;

		CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
		CHILD_CHECK(be->next_id(&v, NULL) == 0 && v == -1);
		CHILD_CHECK(be->msgget(IPC_PRIVATE, 0600) == 0);
		CHILD_CHECK(be->next_id(&v, &five) == 0 && v == -1);
		CHILD_CHECK(be->next_id(&v, NULL) == 0 && v == 5);
		CHILD_CHECK(be->msgget(IPC_PRIVATE, 0600) == 5);
		CHILD_CHECK(be->next_id(&v, NULL) == 0 && v == -1);
		/* The cycle did not move: it goes on from index 1. */
		CHILD_CHECK(be->msgget(IPC_PRIVATE, 0600) == 1);
		/* A taken index: the first free one above, same sequence. */
		CHILD_CHECK(be->next_id(&v, &one) == 0);
		CHILD_CHECK(be->msgget(IPC_PRIVATE, 0600) == 2);
		CHILD_CHECK(be->next_id(&v, &far) == 0);
		CHILD_CHECK(be->msgget(IPC_PRIVATE, 0600) == far);
		CHILD_CHECK(be->next_id(&v, &minus) == -1 && errno == EINVAL);
		CHILD_CHECK(be->next_id(&v, NULL) == 0 && v == -1);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

#define DEATH_UID 4242
/* What a queue of maxmsg 1, msgsize 1000 charges to RLIMIT_MSGQUEUE: the
 * message, its msg_msg and one priority node (ipc/mqueue.c). */
#define DEATH_CHARGE (1000 + 48 + 48)

/* Becomes DEATH_UID with RLIMIT_MSGQUEUE at one queue's charge. */
static int become_limited_user(void)
{
	struct rlimit r = { DEATH_CHARGE, DEATH_CHARGE };

	if (setrlimit(RLIMIT_MSGQUEUE, &r) || setgroups(0, NULL) ||
	    setresgid(DEATH_UID, DEATH_UID, DEATH_UID) ||
	    setresuid(DEATH_UID, DEATH_UID, DEATH_UID))
		return -1;
	return 0;
}

/* Whether DEATH_UID can create one more queue now, in this namespace. */
static int limited_user_can_create(const struct ns_backend *b, const char *name)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		struct mq_attr attr = { .mq_maxmsg = 1, .mq_msgsize = 1000 };
		int q;

		CHILD_CHECK(become_limited_user() == 0);
		q = b->mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
		if (q < 0) {
			CHILD_CHECK(errno == EMFILE);
			_exit(2);
		}
		CHILD_CHECK(b->mq_unlink(name) == 0);
		_exit(0);
	}
	return wait_child(pid);
}

TEST_F(ns, dead_namespace_frees_its_queues)
{
	int ready[2], go[2], rc = -1;
	pid_t pid;
	char c;

	SYS(pipe(ready));
	SYS(pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct mq_attr attr = { .mq_maxmsg = 1, .mq_msgsize = 1000 };
		char big[1000];
		struct m msg = { 1, "dying" };
		int q, id;

		close(ready[0]);
		close(go[1]);
		CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
		/* SysV queues with messages die with it too (kmemleak checks). */
		id = be->msgget(IPC_PRIVATE, 0600);
		CHILD_CHECK(id >= 0 && be->msgsnd(id, &msg, 5, 0) == 0);
		CHILD_CHECK(become_limited_user() == 0);
		q = be->mq_open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
		CHILD_CHECK(q >= 0);
		memset(big, 'x', sizeof(big));
		CHILD_CHECK(be->mq_send(q, big, sizeof(big), 0) == 0);
		CHILD_CHECK(write(ready[1], "r", 1) == 1);
		CHILD_CHECK(read(go[0], &c, 1) == 1);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	/* While the namespace lives, its queue holds the user's whole limit. */
	ASSERT_EQ(2, limited_user_can_create(be, self->name));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(0, wait_child(pid));
	/* The native frees a dead namespace from a work item: give it time. */
	for (int i = 0; i < 300 && rc != 0; i++) {
		rc = limited_user_can_create(be, self->name);
		if (rc == 2)
			usleep(10000);
	}
	ASSERT_EQ(0, rc);
	close(ready[0]);
	close(go[1]);
}

/* unshare(flag) in a new child: 0 if it worked, else its errno. */
static int unshare_errno(int flag)
{
	pid_t pid = fork_child();

	if (pid == 0)
		_exit(unshare(flag) ? errno : 0);
	return wait_child(pid);
}

/*
 * Tries unshare(flag) (CLONE_NEWIPC, CLONE_NEWPID) in a new child until it
 * works (ENOSPC: the user's max_ipc_namespaces or max_pid_namespaces is used
 * up).  Returns 0 if the first try made one, else the milliseconds until
 * one did (at least 1), or -1 after 10 s or on another error.
 */
static long ms_until_a_namespace_can_be_made(int flag)
{
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int tries = 0;; tries++) {
		pid_t pid = fork_child();

		if (pid == 0)
			_exit(unshare(flag) ? errno : 0);
		int rc = wait_child(pid);

		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (rc == 0)
			return tries ? (ts_ns(t1) - ts_ns(t0)) / 1000000 + 1 : 0;
		if (rc != ENOSPC || ts_ns(t1) - ts_ns(t0) > 10000000000LL)
			return -1;
		usleep(20000);
	}
}

/*
 * In a child of a new user namespace whose user.max_ipc_namespaces is 1:
 * a process makes an IPC namespace, uses it (rust_ipc: through a device
 * descriptor of its own, kept open until it exits if keep, else closed
 * first), checks that the limit holds while it lives (ENOSPC for another)
 * and exits; then a new IPC namespace is tried until it can be made.
 * Returns 0 if the first try made it, else the milliseconds until one did
 * (at least 1), or -1.
 */
static long ms_until_the_count_comes_back(const struct ns_backend *b, int keep)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
		if (b == &ripc_be) {
			/* Not through libripc, whose own descriptor would stay
			 * open until the exit. */
			struct ripc_msgget a = { sizeof(a), IPC_PRIVATE, 0600, 0 };
			int fd = open(RIPC_DEVICE, O_RDWR | O_CLOEXEC);

			CHILD_CHECK(fd >= 0 && ioctl(fd, RIPC_MSGGET, &a) >= 0);
			if (!keep)
				CHILD_CHECK(close(fd) == 0);
		} else {
			CHILD_CHECK(b->msgget(IPC_PRIVATE, 0600) >= 0);
		}
		/* The positive control: the count is used up meanwhile. */
		CHILD_CHECK(unshare_errno(CLONE_NEWIPC) == ENOSPC);
		_exit(0);
	}
	if (wait_child(pid))
		return -1;
	return ms_until_a_namespace_can_be_made(CLONE_NEWIPC);
}

/*
 * A dead namespace gives its user.max_ipc_namespaces count back: natively
 * at once (create_ipc_ns flushes the pending frees); on rust_ipc, which
 * holds a reference of its own, at once when the namespace's last process
 * had a device descriptor open as it exited, else within the sweep's
 * second.  Before the sweep, a namespace no later call looked at stayed
 * counted (ENOSPC for every later unshare(CLONE_NEWIPC)).
 */
TEST_F(ns, a_dead_namespace_gives_back_its_max_ipc_namespaces_count)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		long kept, closed;

		alarm(30);
		CHILD_CHECK(unshare(CLONE_NEWUSER) == 0);
		CHILD_CHECK(sysctl_rw("/proc/sys/user/max_ipc_namespaces", 1) > 1);
		CHILD_CHECK(sysctl_rw("/proc/sys/user/max_ipc_namespaces", 0) == 1);
		kept = ms_until_the_count_comes_back(be, 1);
		closed = ms_until_the_count_comes_back(be, 0);
		if (kept != 0 || closed < 0 || closed > (be == &ripc_be ? 4000 : 0))
			fprintf(stderr, "# %s: kept %ld ms, closed %ld ms\n", be->name, kept,
				closed);
		CHILD_CHECK(kept == 0);
		CHILD_CHECK(closed >= 0 && closed <= (be == &ripc_be ? 4000 : 0));
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/*
 * A removed System V queue keeps no pid: the pid namespace of its last
 * sender (a container's) goes once that container ends, so the user's
 * max_pid_namespaces count comes back, natively within RCU's time
 * (freeque puts msg_lspid and msg_lrpid).  rust_ipc's removed queue, which
 * its id index keeps until later removals, kept the sender's struct pid
 * and with it the whole pid namespace: ENOSPC for every later
 * unshare(CLONE_NEWPID).
 */
TEST_F(ns, a_removed_queue_keeps_no_pid_namespace)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		struct { long mtype; char mtext[8]; } m = { 1, "x" };
		long ms;
		pid_t c;
		int id;

		alarm(30);
		CHILD_CHECK(unshare(CLONE_NEWUSER | CLONE_NEWIPC) == 0);
		CHILD_CHECK(sysctl_rw("/proc/sys/user/max_pid_namespaces", 1) > 1);
		id = be->msgget(IPC_PRIVATE, 0666);
		CHILD_CHECK(id >= 0);
		c = fork_child();
		if (c == 0) {
			pid_t init;

			CHILD_CHECK(unshare(CLONE_NEWPID) == 0);
			init = fork_child();
			if (init == 0)
				_exit(be->msgsnd(id, &m, 1, 0) ? 1 : 0);
			_exit(wait_child(init));
		}
		CHILD_CHECK(wait_child(c) == 0);
		/* The limit holds while the queue keeps the sender's pid. */
		c = fork_child();
		if (c == 0)
			_exit(unshare(CLONE_NEWPID) ? errno : 0);
		CHILD_CHECK(wait_child(c) == ENOSPC);
		CHILD_CHECK(be->msgctl(id, IPC_RMID, NULL) == 0);
		ms = ms_until_a_namespace_can_be_made(CLONE_NEWPID);
		if (ms < 0 || ms > 2000)
			fprintf(stderr, "# %s: a pid namespace after %ld ms\n", be->name, ms);
		CHILD_CHECK(ms >= 0 && ms <= 2000);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/*
 * A process that leaves an IPC namespace (setns) with descriptors opened
 * in it open does not keep the namespace once no task is in it: its
 * user.max_ipc_namespaces count comes back (natively at once; on rust_ipc
 * within the sweep's second), a queue descriptor of it still works (a
 * native one keeps its queue's inode), and the calls on the descriptors
 * reach the namespace the process is in now, also once a new namespace
 * may have the dead one's address.  Before, a rust_ipc device descriptor
 * kept its namespace (its queues, its count and the native namespace)
 * until it was closed: ENOSPC for every later unshare(CLONE_NEWIPC).
 */
/*
 * In a child: a new user namespace mapping root (POSIX queues need the
 * caller's ids mapped) whose user.max_ipc_namespaces is 2, and a new IPC
 * namespace of it, the caller's home (setns may go back to it), so that
 * one more can be made until it dies.  The home's nsfs descriptor, or -1.
 */
static int home_of_two_namespaces(void)
{
	if (unshare(CLONE_NEWUSER) || write_file("/proc/self/setgroups", "deny") ||
	    write_file("/proc/self/uid_map", "0 0 1") || write_file("/proc/self/gid_map", "0 0 1") ||
	    sysctl_rw("/proc/sys/user/max_ipc_namespaces", 2) <= 2 || unshare(CLONE_NEWIPC))
		return -1;
	return open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC);
}

TEST_F(ns, leaving_a_namespace_with_its_descriptors_open_gives_it_back)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		struct mq_attr attr = { .mq_maxmsg = 4, .mq_msgsize = 16 };
		struct m msg = { 3, "left" };
		unsigned int prio = 0;
		char buf[16] = { 0 };
		int home, mqd, id;
		long ms;

		alarm(30);
		home = home_of_two_namespaces();
		CHILD_CHECK(home >= 0);
		/* The second and last one the limit allows, left with its
		 * queues and descriptors (libripc's device descriptor, the
		 * queue's) open. */
		CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
		mqd = be->mq_open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
		CHILD_CHECK(mqd >= 0);
		CHILD_CHECK(be->mq_send(mqd, "left", 4, 5) == 0);
		id = be->msgget(self->key, IPC_CREAT | IPC_EXCL | 0600);
		CHILD_CHECK(id >= 0 && be->msgsnd(id, &msg, 4, 0) == 0);
		/* The positive control: no third one while it lives. */
		CHILD_CHECK(unshare_errno(CLONE_NEWIPC) == ENOSPC);
		CHILD_CHECK(setns(home, CLONE_NEWIPC) == 0);
		ms = ms_until_a_namespace_can_be_made(CLONE_NEWIPC);
		if (ms < 0 || ms > (be == &ripc_be ? 4000 : 0))
			fprintf(stderr, "# %s: %ld ms\n", be->name, ms);
		CHILD_CHECK(ms >= 0 && ms <= (be == &ripc_be ? 4000 : 0));
		/* The queue descriptor: its queue and message. */
		CHILD_CHECK(be->mq_receive(mqd, buf, sizeof(buf), &prio) == 4);
		CHILD_CHECK(memcmp(buf, "left", 5) == 0 && prio == 5);
		CHILD_CHECK(be->mq_close(mqd) == 0);
		/* The calls reach home, which has neither name nor key. */
		CHILD_CHECK(be->mq_unlink(self->name) == -1 && errno == ENOENT);
		CHILD_CHECK(be->msgget(self->key, 0) == -1 && errno == ENOENT);
		id = be->msgget(self->key, IPC_CREAT | IPC_EXCL | 0600);
		CHILD_CHECK(id >= 0 && be->msgsnd(id, &msg, 4, 0) == 0);
		memset(&msg, 0, sizeof(msg));
		CHILD_CHECK(be->msgrcv(id, &msg, sizeof(msg.text), 0, IPC_NOWAIT) == 4);
		CHILD_CHECK(msg.mtype == 3 && memcmp(msg.text, "left", 5) == 0);
		CHILD_CHECK(be->msgctl(id, IPC_RMID, NULL) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/*
 * As uid (no capabilities): mq_open(name, O_CREAT | O_RDWR) if !unlink,
 * else mq_unlink(name).  Returns 0 or the call's errno.
 */
static int mq_name_as(const struct ns_backend *b, uid_t uid, int unlink, const char *name)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		int r;

		CHILD_CHECK(become_uid(uid) == 0);
		if (unlink) {
			r = b->mq_unlink(name);
		} else {
			r = b->mq_open(name, O_RDWR | O_CREAT, 0600, NULL);
			if (r >= 0)
				b->mq_close(r);
		}
		_exit(r < 0 ? errno : 0);
	}
	return wait_child(pid);
}

/* As root: mq_open(name, oflag) (closed again); 0 or its errno. */
static int mq_open_errno(const struct ns_backend *b, const char *name, int oflag)
{
	int q = b->mq_open(name, oflag, 0600, NULL);

	if (q < 0)
		return errno;
	b->mq_close(q);
	return 0;
}

/*
 * The root directory of a namespace's mqueue file system rules its names
 * as it is now: its mode (write and search permission to make or remove a
 * name, the sticky bit), its owner (who may remove any name of a sticky
 * root) and a read-only remount (EROFS for a creation, an open for writing and any
 * removal, before the name is looked up: before ENOENT, and before the
 * lookup's EACCES and ENAMETOOLONG).  rust_ipc's names are not in that directory,
 * but follow it as native's do.  Before, rust_ipc took the owner once, at
 * the namespace's first call, and neither the mode nor a remount.
 */
TEST_F(ns, the_mqueue_roots_mode_owner_and_remounts_rule_the_names)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		char dir[] = "/tmp/ns_test_mqXXXXXX", long_name[NAME_MAX + 3] = "/";

		CHILD_CHECK(unshare(CLONE_NEWIPC | CLONE_NEWNS) == 0);
		CHILD_CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
		CHILD_CHECK(mkdtemp(dir) != NULL);
		CHILD_CHECK(mount("mqueue", dir, "mqueue", 0, NULL) == 0);
		CHILD_CHECK(mq_name_as(be, 1000, 0, "/a") == 0);
		CHILD_CHECK(mq_name_as(be, 1001, 0, "/b") == 0);
		/* No write permission in the root: no name made or removed. */
		CHILD_CHECK(chmod(dir, 01770) == 0);
		CHILD_CHECK(mq_name_as(be, 1000, 0, "/c") == EACCES);
		CHILD_CHECK(mq_name_as(be, 1000, 1, "/a") == EACCES);
		/* Write without search permission: none either (may_create_dentry
		 * and may_delete_dentry ask for both). */
		CHILD_CHECK(chmod(dir, 0772) == 0);
		CHILD_CHECK(mq_name_as(be, 1000, 0, "/c") == EACCES);
		CHILD_CHECK(mq_name_as(be, 1000, 1, "/a") == EACCES);
		/* Not sticky: anyone who may write there removes any name. */
		CHILD_CHECK(chmod(dir, 0777) == 0);
		CHILD_CHECK(mq_name_as(be, 1001, 1, "/a") == 0);
		CHILD_CHECK(mq_name_as(be, 1000, 0, "/a") == 0);
		/* Sticky again, owned by 1000: 1000 removes 1001's name, not back. */
		CHILD_CHECK(chmod(dir, 01777) == 0);
		CHILD_CHECK(chown(dir, 1000, -1) == 0);
		CHILD_CHECK(mq_name_as(be, 1001, 1, "/a") == EACCES);
		CHILD_CHECK(mq_name_as(be, 1000, 1, "/b") == 0);
		/* Read-only, even for root. */
		CHILD_CHECK(mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0);
		CHILD_CHECK(mq_open_errno(be, "/new", O_RDWR | O_CREAT) == EROFS);
		CHILD_CHECK(mq_open_errno(be, "/a", O_WRONLY) == EROFS);
		CHILD_CHECK(mq_open_errno(be, "/a", O_RDONLY) == 0);
		CHILD_CHECK(mq_open_errno(be, "/missing", O_RDONLY) == ENOENT);
		CHILD_CHECK(mq_open_errno(be, "/.", O_RDONLY) == EACCES);
		CHILD_CHECK(be->mq_unlink("/a") == -1 && errno == EROFS);
		/* A removal is refused before the name is looked up. */
		CHILD_CHECK(be->mq_unlink("/missing") == -1 && errno == EROFS);
		CHILD_CHECK(be->mq_unlink("/.") == -1 && errno == EROFS);
		memset(long_name + 1, 'n', NAME_MAX + 1);
		CHILD_CHECK(be->mq_unlink(long_name) == -1 && errno == EROFS);
		CHILD_CHECK(be->mq_unlink("/") == -1 && errno == ENOENT);
		CHILD_CHECK(mount(NULL, dir, NULL, MS_REMOUNT, NULL) == 0);
		CHILD_CHECK(be->mq_unlink("/a") == 0);
		CHILD_CHECK(umount(dir) == 0 && rmdir(dir) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/*
 * A queue descriptor open for writing holds write access to its namespace's
 * mqueue file system, as a native one does (its open took it, until its
 * last close): a read-only remount fails with EBUSY meanwhile, also through
 * a dup of it; one open for reading alone, or a queue created by an open
 * for reading, holds none.  Before, rust_ipc's descriptors held none and
 * the remount went through.
 */
TEST_F(ns, a_queue_open_for_writing_keeps_its_mqueue_mount_writable)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		char dir[] = "/tmp/ns_test_mqXXXXXX";
		struct mq_attr a;
		int w, r, d;

		CHILD_CHECK(unshare(CLONE_NEWIPC | CLONE_NEWNS) == 0);
		CHILD_CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
		CHILD_CHECK(mkdtemp(dir) != NULL);
		CHILD_CHECK(mount("mqueue", dir, "mqueue", 0, NULL) == 0);
		w = be->mq_open("/w", O_WRONLY | O_CREAT, 0600, NULL);
		CHILD_CHECK(w >= 0);
		r = be->mq_open("/w", O_RDONLY);
		CHILD_CHECK(r >= 0);
		CHILD_CHECK(mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL) == -1 &&
			    errno == EBUSY);
		d = dup(w);
		CHILD_CHECK(d >= 0 && be->mq_close(w) == 0);
		CHILD_CHECK(mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL) == -1 &&
			    errno == EBUSY);
		CHILD_CHECK(close(d) == 0);
		/* Only the reader is left. */
		CHILD_CHECK(mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0);
		CHILD_CHECK(mq_open_errno(be, "/w", O_RDWR) == EROFS);
		CHILD_CHECK(be->mq_getattr(r, &a) == 0 && a.mq_curmsgs == 0);
		CHILD_CHECK(mount(NULL, dir, NULL, MS_REMOUNT, NULL) == 0);
		/* A queue made by an open for reading. */
		d = be->mq_open("/r", O_RDONLY | O_CREAT, 0600, NULL);
		CHILD_CHECK(d >= 0);
		CHILD_CHECK(mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0);
		CHILD_CHECK(mount(NULL, dir, NULL, MS_REMOUNT, NULL) == 0);
		CHILD_CHECK(be->mq_close(d) == 0 && be->mq_close(r) == 0);
		CHILD_CHECK(be->mq_unlink("/w") == 0 && be->mq_unlink("/r") == 0);
		CHILD_CHECK(umount(dir) == 0 && rmdir(dir) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/*
 * A queue descriptor keeps its namespace's mqueue mount after the namespace
 * died (native: the file's f_path.mnt), so its fchmod() is EROFS while that
 * file system is read-only and works once it is writable again.  The
 * namespace, of a user namespace whose user.max_ipc_namespaces is 2, is
 * known dead when a new one can be made.  Before, rust_ipc's fchmod of a
 * dead namespace's queue skipped the check (0 on a read-only mount).
 */
TEST_F(ns, a_dead_namespaces_queue_keeps_its_mqueue_mounts_read_only_state)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		char dir[] = "/tmp/ns_test_mqXXXXXX";
		int home, q;
		long ms;

		alarm(30);
		home = home_of_two_namespaces();
		CHILD_CHECK(home >= 0);
		CHILD_CHECK(unshare(CLONE_NEWIPC | CLONE_NEWNS) == 0);
		CHILD_CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
		CHILD_CHECK(mkdtemp(dir) != NULL);
		CHILD_CHECK(mount("mqueue", dir, "mqueue", 0, NULL) == 0);
		q = be->mq_open(self->name, O_RDONLY | O_CREAT, 0600, NULL);
		CHILD_CHECK(q >= 0);
		CHILD_CHECK(mount(NULL, dir, NULL, MS_REMOUNT | MS_RDONLY, NULL) == 0);
		CHILD_CHECK(be->mq_fchmod(q, 0640) == -1 && errno == EROFS);
		/* The positive control: no third one while it lives. */
		CHILD_CHECK(unshare_errno(CLONE_NEWIPC) == ENOSPC);
		/* The namespace dies; its mqueue file system stays mounted here. */
		CHILD_CHECK(setns(home, CLONE_NEWIPC) == 0);
		ms = ms_until_a_namespace_can_be_made(CLONE_NEWIPC);
		CHILD_CHECK(ms >= 0 && ms <= (be == &ripc_be ? 4000 : 0));
		CHILD_CHECK(be->mq_fchmod(q, 0640) == -1 && errno == EROFS);
		CHILD_CHECK(mount(NULL, dir, NULL, MS_REMOUNT, NULL) == 0);
		CHILD_CHECK(be->mq_fchmod(q, 0640) == 0);
		CHILD_CHECK(be->mq_close(q) == 0);
		CHILD_CHECK(umount(dir) == 0 && rmdir(dir) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/*
 * As uid and gid (no other group, no capability): the "/secret" line of the
 * POSIX listing, its nine fields after the name in f, and the errno of a
 * paged POSIX listing (0 if it works); 1 if the line is there, 0 if not,
 * -1 on an error.
 */
static int secret_line_as(uid_t uid, gid_t gid, char f[9][16], int *paged_errno)
{
	static char text[16384];
	int pipefd[2], n = -1;
	pid_t pid;

	if (pipe(pipefd))
		return -1;
	pid = fork_child();
	if (pid == 0) {
		uint64_t cursor = 0;
		char *l, name[16];
		int r = 0;

		CHILD_CHECK(setgroups(0, NULL) == 0 && setresgid(gid, gid, gid) == 0);
		CHILD_CHECK(setresuid(uid, uid, uid) == 0);
		CHILD_CHECK(ripc_list(RIPC_LIST_POSIX, text, sizeof(text)) >= 0);
		l = strstr(text, "\n/secret ");
		if (l)
			r = sscanf(l + 1, "%15s %15s %15s %15s %15s %15s %15s %15s %15s %15s", name,
				   f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]) == 10 ? 1 : -1;
		*paged_errno = ripc_list_page(RIPC_LIST_POSIX, &cursor, text, sizeof(text)) < 0 ?
			errno : 0;
		CHILD_CHECK(write(pipefd[1], &r, sizeof(r)) == sizeof(r));
		CHILD_CHECK(write(pipefd[1], f, 9 * 16) == 9 * 16);
		CHILD_CHECK(write(pipefd[1], paged_errno, sizeof(int)) == sizeof(int));
		_exit(0);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &n, sizeof(n)) != sizeof(n) || read(pipefd[0], f, 9 * 16) != 9 * 16 ||
	    read(pipefd[0], paged_errno, sizeof(int)) != sizeof(int))
		n = -1;
	close(pipefd[0]);
	return wait_child(pid) ? -1 : n;
}

/*
 * rust_ipc only (native's listing is /dev/mqueue: readdir, stat, read of
 * the QSIZE line): RIPC_IOC_LIST shows a queue's owner and mode to a
 * caller who may search the mqueue root (stat), its attributes
 * (mq_getattr) only to one who may open it, its bytes and notification
 * only to one who may read it (else "-"), and the names only to a caller
 * who may read the root (readdir: a paged POSIX listing is EACCES).
 * Before, any caller saw all of them.
 */
TEST_F(ns, listing_shows_of_a_queue_what_the_caller_may_see_natively)
{
	pid_t pid;

	if (be != &ripc_be)
		SKIP(return, "rust_ipc's listing");
	pid = fork_child();
	if (pid == 0) {
		char dir[] = "/tmp/ns_test_lsXXXXXX", f[9][16], text[4096];
		struct mq_attr a = { .mq_maxmsg = 3, .mq_msgsize = 16 };
		int paged;
		pid_t owner;

		CHILD_CHECK(unshare(CLONE_NEWIPC | CLONE_NEWNS) == 0);
		CHILD_CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
		CHILD_CHECK(mkdtemp(dir) != NULL);
		CHILD_CHECK(mount("mqueue", dir, "mqueue", 0, NULL) == 0);
		owner = fork_child();
		if (owner == 0) {
			int q;

			CHILD_CHECK(become_uid(1000) == 0);
			umask(0);
			q = ripc_mq_open("/secret", O_RDWR | O_CREAT, 0620, &a);
			CHILD_CHECK(q >= 0);
			CHILD_CHECK(ripc_mq_send(q, "ab", 2, 1) == 0 && ripc_mq_send(q, "cde", 3, 2) == 0);
			_exit(0);
		}
		CHILD_CHECK(wait_child(owner) == 0);
		/* The owner sees it all. */
		CHILD_CHECK(secret_line_as(1000, 1000, f, &paged) == 1 && paged == 0);
		CHILD_CHECK(!strcmp(f[0], "1000") && !strcmp(f[1], "1000") && !strcmp(f[2], "620"));
		CHILD_CHECK(!strcmp(f[3], "3") && !strcmp(f[4], "16") && !strcmp(f[5], "2"));
		CHILD_CHECK(!strcmp(f[6], "5") && !strcmp(f[7], "0") && !strcmp(f[8], "0"));
		/* Group 1000's write permission: the attributes, not the rest. */
		CHILD_CHECK(secret_line_as(1001, 1000, f, &paged) == 1 && paged == 0);
		CHILD_CHECK(!strcmp(f[3], "3") && !strcmp(f[4], "16") && !strcmp(f[5], "2"));
		CHILD_CHECK(!strcmp(f[6], "-") && !strcmp(f[7], "-") && !strcmp(f[8], "-"));
		/* Another user: owner and mode alone. */
		CHILD_CHECK(secret_line_as(1002, 1002, f, &paged) == 1 && paged == 0);
		CHILD_CHECK(!strcmp(f[0], "1000") && !strcmp(f[2], "620"));
		CHILD_CHECK(!strcmp(f[3], "-") && !strcmp(f[4], "-") && !strcmp(f[5], "-"));
		CHILD_CHECK(!strcmp(f[6], "-") && !strcmp(f[7], "-") && !strcmp(f[8], "-"));
		/* A root it may read and not search: no stat, so no owner or mode. */
		CHILD_CHECK(chmod(dir, 01744) == 0);
		CHILD_CHECK(secret_line_as(1002, 1002, f, &paged) == 1 && paged == 0);
		CHILD_CHECK(!strcmp(f[0], "-") && !strcmp(f[1], "-") && !strcmp(f[2], "-"));
		CHILD_CHECK(!strcmp(f[3], "-") && !strcmp(f[8], "-"));
		CHILD_CHECK(secret_line_as(1000, 1000, f, &paged) == 1 && paged == 0);
		CHILD_CHECK(!strcmp(f[0], "-") && !strcmp(f[3], "3") && !strcmp(f[6], "5"));
		/* A root it may not read: no names (root, CAP_DAC_OVERRIDE: all). */
		CHILD_CHECK(chmod(dir, 01733) == 0);
		CHILD_CHECK(secret_line_as(1002, 1002, f, &paged) == 0 && paged == EACCES);
		CHILD_CHECK(secret_line_as(1000, 1000, f, &paged) == 0 && paged == EACCES);
		CHILD_CHECK(ripc_list(RIPC_LIST_POSIX, text, sizeof(text)) >= 0);
		CHILD_CHECK(strstr(text, "\n/secret ") != NULL);
		CHILD_CHECK(ripc_mq_unlink("/secret") == 0);
		CHILD_CHECK(umount(dir) == 0 && rmdir(dir) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/*
 * rust_ipc only (native frees a dead namespace from a work item, which its
 * mq_open does not wait for): the RLIMIT_MSGQUEUE charge of a dead
 * namespace's queues never makes a creation EMFILE, since the module frees
 * the dead namespaces before it refuses.  Here the namespace's last
 * process closed its descriptors before it left, so nothing collected the
 * namespace at its exit; the next creation needs its charge at once.
 */
TEST_F(ns, a_dead_namespaces_charge_never_refuses_a_creation)
{
	pid_t pid;

	if (be != &ripc_be)
		SKIP(return, "native's frees are not waited for");
	pid = fork_child();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct mq_attr attr = { .mq_maxmsg = 1, .mq_msgsize = 1000 };
		int q;

		CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
		CHILD_CHECK(become_limited_user() == 0);
		q = be->mq_open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
		CHILD_CHECK(q >= 0);
		CHILD_CHECK(be->mq_close(q) == 0);
		/* The whole limit is held: a second queue is refused here. */
		CHILD_CHECK(be->mq_open("/ns_test_second", O_RDWR | O_CREAT | O_EXCL, 0600,
					&attr) == -1 && errno == EMFILE);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	ASSERT_EQ(0, limited_user_can_create(be, self->name));
}

/*
 * rust_ipc only: a dead namespace's names go when it is collected, also
 * while a device file opened in it stays open (the file keeps the empty
 * entry, as a native descriptor keeps only its own queue): the charge of
 * its queue, which no descriptor holds, comes back.
 */
TEST_F(ns, a_dead_namespaces_names_go_while_a_file_opened_in_it_stays_open)
{
	int home, fd;
	pid_t pid;

	if (be != &ripc_be)
		SKIP(return, "a rust_ipc device file");
	home = SYS(open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC));
	SYS(unshare(CLONE_NEWIPC));
	fd = SYS(open(RIPC_DEVICE, O_RDWR | O_CLOEXEC));
	pid = fork_child();
	if (pid == 0) {
		struct mq_attr attr = { .mq_maxmsg = 1, .mq_msgsize = 1000 };
		int q;

		CHILD_CHECK(become_limited_user() == 0);
		q = be->mq_open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
		CHILD_CHECK(q >= 0);
		CHILD_CHECK(be->mq_close(q) == 0);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	/* The positive control: its queue holds the user's whole limit. */
	ASSERT_EQ(2, limited_user_can_create(be, "/ns_test_second"));
	SYS(setns(home, CLONE_NEWIPC));
	close(home);
	ASSERT_EQ(0, limited_user_can_create(be, self->name));
	close(fd);
}

/* rust_ipc only: RIPC_IOC_LIST shows the caller's namespace alone. */
TEST_F(ns, listing_shows_only_the_callers_namespace)
{
	char text[16384], own[80];
	int id, mqd;
	pid_t pid;

	if (be != &ripc_be)
		SKIP(return, "rust_ipc's listing");
	mqd = make_parent_queues(_metadata, self, &id);
	SYS(ripc_list(RIPC_LIST_POSIX | RIPC_LIST_SYSV, text, sizeof(text)));
	ASSERT_NE(NULL, strstr(text, self->name));
	snprintf(own, sizeof(own), "%10d %10d ", self->key, id);
	ASSERT_NE(NULL, strstr(text, own));
	pid = fork_child();
	if (pid == 0) {
		char child_name[80];
		int q;

		CHILD_CHECK(unshare(CLONE_NEWIPC) == 0);
		CHILD_CHECK(ripc_list(RIPC_LIST_POSIX | RIPC_LIST_SYSV, text, sizeof(text)) >= 0);
		CHILD_CHECK(strstr(text, self->name) == NULL);
		CHILD_CHECK(strstr(text, own) == NULL);
		snprintf(child_name, sizeof(child_name), "%s_child", self->name);
		q = ripc_mq_open(child_name, O_RDWR | O_CREAT, 0600, NULL);
		CHILD_CHECK(q >= 0);
		CHILD_CHECK(ripc_list(RIPC_LIST_POSIX, text, sizeof(text)) >= 0);
		CHILD_CHECK(strstr(text, child_name) != NULL);
		CHILD_CHECK(strstr(text, self->name + 1) == strstr(text, child_name + 1));
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	SYS(ripc_list(RIPC_LIST_POSIX, text, sizeof(text)));
	ASSERT_EQ(NULL, strstr(text, "_child"));
	check_parent_queues(_metadata, self, mqd, id);
}

/*
 * Active objects of the 2 KiB kmalloc caches, or -1: kmalloc-2k's (plain),
 * kmalloc-cg-2k's (cgroup), or both (NULL); the caches shrunk first, so
 * that objects freed into a CPU's slabs, which slabinfo counts as active,
 * are counted as free.
 */
static long kmalloc_2k_objects(const char *which)
{
	char line[512], name[128];
	long total = -1, active;
	FILE *f;

	write_file("/sys/kernel/slab/kmalloc-2k/shrink", "1");
	write_file("/sys/kernel/slab/kmalloc-cg-2k/shrink", "1");
	f = fopen("/proc/slabinfo", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %ld", name, &active) == 2 &&
		    (which ? !strcmp(name, which) :
		     !strcmp(name, "kmalloc-2k") || !strcmp(name, "kmalloc-cg-2k")))
			total = (total < 0 ? 0 : total) + active;
	fclose(f);
	return total;
}

/*
 * rust_ipc only (native frees its idr nodes as ids go): a namespace whose
 * System V ids reached far (msg_next_id: 127 ids 256 apart, a 2 KiB chunk
 * of the id index each) dies while a device file opened in it stays open,
 * which keeps its emptied entry: the index's chunks are freed with its
 * queues, not kept until the file is closed (127 chunks, 254 KiB, were
 * kept before).  They are charged to the memory cgroup of the task that
 * made them (kmalloc-cg-2k): native's idr nodes are not, but they go with
 * their ids, and a chunk stays until its namespace dies.
 */
TEST(a_dead_namespaces_id_index_goes_while_a_file_holds_its_entry)
{
	enum { CHUNKS = 127 };
	long before, charged, after = -1;
	int home, fd;

	REQUIRE_ROOT();
	if (ripc_probe())
		SKIP(return, "no /dev/rust_ipc");
	ASSERT_LE(0, kmalloc_2k_objects(NULL));
	if (kmalloc_2k_objects("kmalloc-cg-2k") < 0)
		SKIP(return, "no kmalloc-cg-2k (no kernel memory accounting)");
	home = SYS(open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC));
	SYS(unshare(CLONE_NEWIPC));
	/* Opened in the new namespace: the file holds its entry. */
	fd = SYS(open(RIPC_DEVICE, O_RDWR | O_CLOEXEC));
	before = kmalloc_2k_objects(NULL);
	charged = kmalloc_2k_objects("kmalloc-cg-2k");
	for (int k = 0; k < CHUNKS; k++) {
		int next = k * 256, old, id;

		SYS(ripc_msg_next_id(&old, &next));
		id = SYS(ripc_msgget(IPC_PRIVATE, IPC_CREAT | 0600));
		ASSERT_EQ(k * 256, id);
		SYS(ripc_msgctl(id, IPC_RMID, NULL));
	}
	ASSERT_LE(before + CHUNKS - 16, kmalloc_2k_objects(NULL));
	ASSERT_LE(charged + CHUNKS - 16, kmalloc_2k_objects("kmalloc-cg-2k"));
	/* Left: the namespace dies (no task, no nsfs file), the sweep
	 * retires its entry within a few seconds. */
	SYS(setns(home, CLONE_NEWIPC));
	close(home);
	for (int i = 0; i < 100; i++) {
		after = kmalloc_2k_objects(NULL);
		if (after < before + 16)
			break;
		usleep(100000);
	}
	EXPECT_GT(before + 16, after) TH_LOG("%ld 2 KiB objects before, %ld after", before, after);
	close(fd);
}

TEST_HARNESS_MAIN
