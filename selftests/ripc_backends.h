/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The two backends a test body runs on: the native queues (glibc mq_* and
 * msg*) and rust_ipc (libripc), as tables of the same calls, so that one
 * fixture with a "native" and a "ripc" variant checks that both give the
 * same results.  Used by mq_test.c, msg_test.c and security_test.c.
 *
 * - struct mq_backend: POSIX queues, native_mq_be and ripc_mq_be.
 * - struct msg_backend: System V queues, native_msg_be and ripc_msg_be.
 * - probe() is 0 if the backend is usable, else -1 with errno; the limit
 *   calls set a limit if val > 0 and return its old value, or -1.
 * - SETUP_BACKEND() starts a FIXTURE_SETUP: the variant's backend, or SKIP.
 * - notify_sig(), snd() and msg_remove() are calls the tests share.
 */
#ifndef RIPC_BACKENDS_H
#define RIPC_BACKENDS_H

#include "ripc_test.h"

#include <stddef.h>

/*
 * In the FIXTURE_SETUP of a fixture whose self and variant hold a backend
 * be: takes the variant's backend, SKIPs the test if it is unusable.
 */
#define SETUP_BACKEND() do { \
	self->be = variant->be; \
	if (self->be->probe()) \
		SKIP(return, "%s message queues unavailable: %s", self->be->name, \
		     strerrorname_np(errno)); \
} while (0)

/* ---- POSIX ------------------------------------------------------------- */

/* The limits a test may change (the files of /proc/sys/fs/mqueue/). */
enum mq_limit { LIM_QUEUES_MAX, LIM_MSGSIZE_MAX, NLIMITS };

struct mq_backend {
	const char *name;
	int (*probe)(void);	/* 0 if usable, else -1 with errno */
	mqd_t (*open)(const char *name, int oflag, ...);
	int (*close)(mqd_t mqd);
	int (*unlink)(const char *name);
	int (*send)(mqd_t mqd, const char *p, size_t len, unsigned int prio);
	int (*timedsend)(mqd_t mqd, const char *p, size_t len, unsigned int prio,
			 const struct timespec *abs);
	ssize_t (*receive)(mqd_t mqd, char *p, size_t len, unsigned int *prio);
	ssize_t (*timedreceive)(mqd_t mqd, char *p, size_t len, unsigned int *prio,
				const struct timespec *abs);
	int (*getattr)(mqd_t mqd, struct mq_attr *attr);
	int (*setattr)(mqd_t mqd, const struct mq_attr *newattr, struct mq_attr *oldattr);
	int (*notify)(mqd_t mqd, const struct sigevent *sev);
	/* Sets limit which to val (if val > 0); returns the old value or -1. */
	long (*set_limit)(enum mq_limit which, long val);
	/* The number of queues that exist (with a name), or -1. */
	long (*nqueues)(void);
	/* fchmod() and fchown() of a queue descriptor. */
	int (*fchmod)(mqd_t mqd, mode_t mode);
	int (*fchown)(mqd_t mqd, uid_t owner, gid_t group);
	/* Whether mqd is a queue of this backend (not of the other one). */
	bool (*ours)(mqd_t mqd);
};

static const struct {
	const char *sysctl;	/* in /proc/sys/fs/mqueue/ */
	size_t offset;		/* in struct ripc_limits */
} limit_def[NLIMITS] = {
	[LIM_QUEUES_MAX] = { "queues_max", offsetof(struct ripc_limits, mq_queues_max) },
	[LIM_MSGSIZE_MAX] = { "msgsize_max", offsetof(struct ripc_limits, mq_msgsize_max) },
};

static inline int native_mq_probe(void)
{
	struct mq_attr a;

	/* EBADF if the kernel has POSIX queues, ENOSYS if not. */
	return mq_getattr(-1, &a) < 0 && errno == ENOSYS ? -1 : 0;
}

static inline long native_set_limit(enum mq_limit which, long val)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/sys/fs/mqueue/%s", limit_def[which].sysctl);
	return sysctl_rw(path, val);
}

static inline int ripc_probe(void)
{
	return have_device() ? 0 : -1;
}

/* The limit at offset in struct ripc_limits: sets it if val > 0, gives the old value. */
static inline long ripc_limit(size_t offset, long val)
{
	struct ripc_version v;
	struct ripc_limits l = { 0 };

	if (ripc_version(&v))
		return -1;
	if (val > 0) {
		*(__u32 *)((char *)&l + offset) = (__u32)val;
		if (ripc_set_limits(&l))
			return -1;
	}
	return *(__u32 *)((char *)&v.limits + offset);
}

static inline long ripc_set_limit(enum mq_limit which, long val)
{
	return ripc_limit(limit_def[which].offset, val);
}

/* The lines of the RIPC_LIST_POSIX table, without its header. */
static inline long ripc_nqueues(void)
{
	static char buf[1 << 20];
	long n = -1;

	if (ripc_list(RIPC_LIST_POSIX, buf, sizeof(buf)) < 0)
		return -1;
	for (char *p = buf; (p = strchr(p, '\n')); p++)
		n++;
	return n;
}

/*
 * Whether this program runs under the drop-in (preload_test.sh runs the
 * native variants with LD_PRELOAD=libripc_preload.so: their queues are
 * then rust_ipc's).
 */
static inline bool under_dropin(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "libripc_preload");
}

/* A rust_ipc queue descriptor is a file of the device bound to a queue. */
static inline bool ripc_mq_ours(mqd_t q)
{
	struct ripc_queue_stats st;

	return !ripc_mq_stats(q, &st, 0);
}

/* A native one is a file of the mqueue file system (a rust_ipc one under the drop-in). */
static inline bool native_mq_ours(mqd_t q)
{
	struct stat st;
	struct mq_attr a;

	if (under_dropin())
		return ripc_mq_ours(q);
	return !fstat(q, &st) && S_ISREG(st.st_mode) && !mq_getattr(q, &a);
}

static const struct mq_backend native_mq_be = {
	"native", native_mq_probe, mq_open, mq_close, mq_unlink, mq_send, mq_timedsend,
	mq_receive, mq_timedreceive, mq_getattr, mq_setattr, mq_notify,
	native_set_limit, native_nqueues, fchmod, fchown, native_mq_ours,
};

static const struct mq_backend ripc_mq_be = {
	"rust_ipc", ripc_probe, ripc_mq_open, ripc_mq_close, ripc_mq_unlink,
	ripc_mq_send, ripc_mq_timedsend, ripc_mq_receive, ripc_mq_timedreceive,
	ripc_mq_getattr, ripc_mq_setattr, ripc_mq_notify, ripc_set_limit, ripc_nqueues,
	ripc_mq_fchmod, ripc_mq_fchown, ripc_mq_ours,
};

/* Asks for signo with value in its siginfo when q gets a message. */
static inline int notify_sig(const struct mq_backend *b, mqd_t q, int signo, void *value)
{
	struct sigevent sev = {
		.sigev_notify = SIGEV_SIGNAL,
		.sigev_signo = signo,
		.sigev_value.sival_ptr = value,
	};

	return b->notify(q, &sev);
}

/* ---- System V ---------------------------------------------------------- */

struct msg_backend {
	const char *name;
	int (*probe)(void);	/* 0 if usable, else -1 with errno */
	int (*get)(key_t key, int msgflg);
	int (*snd)(int msqid, const void *msgp, size_t msgsz, int msgflg);
	ssize_t (*rcv)(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg);
	int (*ctl)(int msqid, int cmd, struct msqid_ds *buf);
	/* Sets kernel.msgmax to val (if val > 0); returns the old value or -1. */
	int (*msgmax)(int val);
	/* The same for kernel.msgmni. */
	int (*msgmni)(int val);
	/* Whether msqid is a queue of this backend (EACCES: one it may not read). */
	bool (*ours)(int msqid);
};

static inline int native_msg_probe(void)
{
	/* EINVAL if the kernel has SysV IPC, ENOSYS if not. */
	return msgctl(-1, IPC_STAT, NULL) < 0 && errno == ENOSYS ? -1 : 0;
}

static inline int native_msgmax(int val)
{
	return (int)sysctl_rw("/proc/sys/kernel/msgmax", val);
}

static inline int native_msgmni(int val)
{
	return (int)sysctl_rw("/proc/sys/kernel/msgmni", val);
}

static inline int ripc_msgmax(int val)
{
	return (int)ripc_limit(offsetof(struct ripc_limits, msgmax), val);
}

static inline int ripc_msgmni(int val)
{
	return (int)ripc_limit(offsetof(struct ripc_limits, msgmni), val);
}

static inline bool ripc_msg_ours(int id)
{
	struct ripc_queue_stats st;

	return !ripc_msg_stats(id, &st, 0) || errno == EACCES;
}

/* Under the drop-in, the native calls' queues are rust_ipc's. */
static inline bool native_msg_ours(int id)
{
	struct msqid_ds ds;

	if (under_dropin())
		return ripc_msg_ours(id);
	return !msgctl(id, IPC_STAT, &ds) || errno == EACCES;
}

static const struct msg_backend native_msg_be = {
	"native", native_msg_probe, msgget, msgsnd, msgrcv, msgctl, native_msgmax, native_msgmni,
	native_msg_ours,
};

static const struct msg_backend ripc_msg_be = {
	"rust_ipc", ripc_probe, ripc_msgget, ripc_msgsnd, ripc_msgrcv, ripc_msgctl,
	ripc_msgmax, ripc_msgmni, ripc_msg_ours,
};

struct mbuf {
	long mtype;
	char mtext[64];
};

/* Removes the queues a test made: the ids in ids[] and those of the keys. */
static inline void msg_remove(const struct msg_backend *b, const int *ids, int nids,
			      const key_t *keys, int nkeys)
{
	int id;

	for (int i = 0; i < nids; i++)
		b->ctl(ids[i], IPC_RMID, NULL);
	for (int i = 0; i < nkeys; i++)
		if ((id = b->get(keys[i], 0)) >= 0)
			b->ctl(id, IPC_RMID, NULL);
}

/* msgsnd of a string (without its NUL). */
static inline int snd(const struct msg_backend *b, int id, long type, const char *text, int flg)
{
	struct mbuf m = { .mtype = type };
	size_t n = strlen(text);

	memcpy(m.mtext, text, n);
	return b->snd(id, &m, n, flg);
}

#endif /* RIPC_BACKENDS_H */
