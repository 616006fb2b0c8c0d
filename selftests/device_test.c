// SPDX-License-Identifier: GPL-2.0
/*
 * The /dev/rust_ipc device itself: node, open, the ioctl dispatch and the
 * argument-struct rules of <linux/rust_ipc.h>.  rust_ipc only: every test
 * SKIPs when the device does not exist.
 */
#include "ripc_test.h"

#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

FIXTURE(dev) {
	int fd;
	char name[64];
	struct ripc_limits saved;	/* limits to restore, if saved.msgmnb */
};

FIXTURE_SETUP(dev)
{
	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	self->fd = SYS(open(RIPC_DEVICE, O_RDWR | O_CLOEXEC));
	snprintf(self->name, sizeof(self->name), "/ripc_dev_test_%d", getpid());
}

FIXTURE_TEARDOWN(dev)
{
	if (self->saved.mq_msgsize_max)	/* saved (never 0 then) */
		ripc_set_limits_fields(&self->saved, RIPC_LIMIT_ALL);
	ripc_mq_unlink(self->name);
}

TEST_F(dev, node_is_a_char_device_of_mode_0666)
{
	struct stat st;

	SYS(stat(RIPC_DEVICE, &st));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	ASSERT_EQ(0666u, st.st_mode & 07777);
}

TEST_F(dev, open_and_close)
{
	int ro = SYS(open(RIPC_DEVICE, O_RDONLY));
	int rw = SYS(open(RIPC_DEVICE, O_RDWR));

	SYS(close(ro));
	SYS(close(rw));
	SYS(close(self->fd));
	ASSERT_ERRNO(EBADF, close(self->fd));
}

TEST_F(dev, version_reports_abi_and_default_limits)
{
	struct ripc_version v;

	memset(&v, 0xa5, sizeof(v));
	v.size = sizeof(v);
	SYS(ioctl(self->fd, RIPC_IOC_VERSION, &v));
	ASSERT_EQ((__u32)RIPC_ABI_VERSION, v.abi_version);
	ASSERT_EQ(10u, v.limits.mq_msg_default);
	ASSERT_EQ(8192u, v.limits.mq_msgsize_default);
	ASSERT_EQ(10u, v.limits.mq_msg_max);
	ASSERT_EQ(8192u, v.limits.mq_msgsize_max);
	ASSERT_EQ(256u, v.limits.mq_queues_max);
	ASSERT_EQ(8192u, v.limits.msgmax);
	ASSERT_EQ(16384u, v.limits.msgmnb);
	ASSERT_EQ(32000u, v.limits.msgmni);
	/* The library call gives the same. */
	memset(&v, 0, sizeof(v));
	SYS(ripc_version(&v));
	ASSERT_EQ((__u32)RIPC_ABI_VERSION, v.abi_version);
	ASSERT_EQ(16384u, v.limits.msgmnb);
}

TEST_F(dev, unknown_command_is_enotty)
{
	struct ripc_version v = { .size = sizeof(v) };

	ASSERT_ERRNO(ENOTTY, ioctl(self->fd, _IO(RIPC_IOC_MAGIC, 0x7f)));
	ASSERT_ERRNO(ENOTTY, ioctl(self->fd, _IOWR(RIPC_IOC_MAGIC, 0x03, struct ripc_version), &v));
	ASSERT_ERRNO(ENOTTY, ioctl(self->fd, _IOWR(RIPC_IOC_MAGIC, 0x18, struct ripc_version), &v));
	ASSERT_ERRNO(ENOTTY, ioctl(self->fd, _IOWR(RIPC_IOC_MAGIC, 0xff, struct ripc_version), &v));
	/* Another magic, even with a known number. */
	ASSERT_ERRNO(ENOTTY, ioctl(self->fd, _IOWR('x', RIPC_NR_VERSION, struct ripc_version), &v));
	ASSERT_ERRNO(ENOTTY, ioctl(self->fd, _IOWR(RIPC_IOC_MAGIC + 1, RIPC_NR_VERSION,
						   struct ripc_version), &v));
	ASSERT_ERRNO(ENOTTY, ioctl(self->fd, 0x1234));
}

TEST_F(dev, command_size_bits_are_not_used)
{
	struct ripc_version v = { .size = sizeof(v) };

	SYS(ioctl(self->fd, _IOC(_IOC_READ | _IOC_WRITE, RIPC_IOC_MAGIC, RIPC_NR_VERSION, 0), &v));
	ASSERT_EQ((__u32)RIPC_ABI_VERSION, v.abi_version);
}

TEST_F(dev, version_bad_pointer_is_efault)
{
	void *none = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct ripc_version *ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, none);
	ASSERT_NE(MAP_FAILED, ro);
	ro->size = sizeof(*ro);
	SYS(mprotect(ro, PAGE, PROT_READ));	/* readable, not writable */
	ASSERT_ERRNO(EFAULT, ioctl(self->fd, RIPC_IOC_VERSION, NULL));
	ASSERT_ERRNO(EFAULT, ioctl(self->fd, RIPC_IOC_VERSION, (void *)1));
	ASSERT_ERRNO(EFAULT, ioctl(self->fd, RIPC_IOC_VERSION, none));
	ASSERT_ERRNO(EFAULT, ioctl(self->fd, RIPC_IOC_VERSION, ro));
}

TEST_F(dev, larger_struct_needs_zero_trailing_bytes)
{
	struct {
		struct ripc_version v;
		__u8 extra[16];
	} big;

	memset(&big, 0, sizeof(big));
	big.v.size = sizeof(big);
	SYS(ioctl(self->fd, RIPC_IOC_VERSION, &big));
	ASSERT_EQ((__u32)RIPC_ABI_VERSION, big.v.abi_version);
	ASSERT_EQ(8192u, big.v.limits.msgmax);

	memset(&big, 0, sizeof(big));
	big.v.size = sizeof(big);
	big.extra[5] = 1;
	ASSERT_ERRNO(E2BIG, ioctl(self->fd, RIPC_IOC_VERSION, &big));
}

/*
 * A struct shorter than the one the module knows is read zero-extended
 * and written back only as far as its size: a RIPC_MQ_PEEK with a size of
 * 4 (no buffer, length 0: a 0-byte message fits) gets the message, and its
 * priority is not written past those 4 bytes; with the whole struct it is.
 */
TEST_F(dev, a_shorter_struct_is_written_only_as_far_as_its_size)
{
	struct mq_attr a = { .mq_maxmsg = 4, .mq_msgsize = 16 };
	int q = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &a));
	union {
		struct ripc_mq_peek p;
		unsigned char b[sizeof(struct ripc_mq_peek)];
	} u;

	SYS(ripc_mq_send(q, "", 0, 7));
	memset(&u, 0xa5, sizeof(u));
	u.p.size = 4;
	ASSERT_EQ(0, ioctl(q, RIPC_MQ_PEEK, &u));
	ASSERT_EQ(4u, u.p.size);
	for (size_t i = 4; i < sizeof(u); i++) {
		ASSERT_EQ(0xa5, u.b[i]) TH_LOG("byte %zu written", i);
	}
	memset(&u, 0, sizeof(u));
	u.p.size = sizeof(u.p);
	u.p.msg_prio = 0xa5a5a5a5;
	ASSERT_EQ(0, ioctl(q, RIPC_MQ_PEEK, &u));
	ASSERT_EQ(7u, u.p.msg_prio);
	close(q);
}

#define RPTR(p) ((__u64)(uintptr_t)(p))

struct version_call {
	int fd;
	void *arg;
	int ret;
};

static void *call_version(void *p)
{
	struct version_call *c = p;

	c->ret = ioctl(c->fd, RIPC_IOC_VERSION, c->arg);
	return NULL;
}

/*
 * A struct shorter than the module's, at the end of a page: the module
 * reads no byte past its size (as copy_struct_from_user), so the next
 * page, under a userfaultfd, sees no fault and the call waits for none.
 * (It read the whole of its own struct first, into the next page.)
 */
TEST_F(dev, a_shorter_struct_at_the_end_of_a_page_reads_nothing_past_it)
{
	char *map = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct uffdio_register reg = { .range = { .len = PAGE },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct version_call c = { .fd = self->fd };
	struct pollfd p = { .events = POLLIN };
	unsigned int head[2] = { 8, 0 };
	pthread_t t;
	int uffd;

	ASSERT_NE(MAP_FAILED, map);
	uffd = uffd_open();
	if (uffd < 0)
		SKIP(return, "userfaultfd: %s", strerrorname_np(errno));
	reg.range.start = (__u64)(uintptr_t)(map + PAGE);
	SYS(ioctl(uffd, UFFDIO_REGISTER, &reg));
	c.arg = map + PAGE - sizeof(head);
	memcpy(c.arg, head, sizeof(head));	/* size 8: the size and the ABI version */
	ASSERT_EQ(0, pthread_create(&t, NULL, call_version, &c));
	p.fd = uffd;
	if (poll(&p, 1, 1000) == 1) {
		struct uffdio_zeropage z = { .range = { .start = reg.range.start, .len = PAGE } };

		ioctl(uffd, UFFDIO_ZEROPAGE, &z);	/* let the call end */
		pthread_join(t, NULL);
		ASSERT_TRUE(0) TH_LOG("the call read the page after its struct");
	}
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, c.ret);
	memcpy(head, c.arg, sizeof(head));
	ASSERT_EQ(8u, head[0]);
	ASSERT_LE(1u, head[1]);	/* the ABI version, written within the size */
	close(uffd);
	munmap(map, 2 * PAGE);
}

/* A command whose struct's reserved field (__pad) is at pad, with one
 * other field set (at off, width bytes of val; width 0: none) so that the
 * call with a zero pad gives something else than EINVAL; on_queue: its
 * msqid (at 4, ripc_msgrcv's and ripc_msg_batch's) a System V queue's. */
struct padded {
	const char *name;
	unsigned long cmd;
	size_t size, pad, off, width;
	long long val;
	int on_queue;
};

#define PADDED(c, s, f, w, v, q) \
	{ #c, c, sizeof(struct s), offsetof(struct s, __pad), f, w, v, q }

/*
 * ABI 6: the reserved fields of the module's own structs must be 0
 * (EINVAL), so that a later ABI may give them a meaning; with 0 there, the
 * same call gives another result.  (RIPC_MSG_NEXT_ID's set is 0 or 1.)
 */
TEST_F(dev, a_reserved_field_that_is_not_zero_is_einval)
{
	int id = SYS(ripc_msgget(IPC_PRIVATE, 0600));
	const struct padded cases[] = {
		PADDED(RIPC_MQ_OPEN, ripc_mq_open, 0, 0, 0, 0),	/* EFAULT (name) */
		PADDED(RIPC_MQ_OPEN_FD, ripc_mq_open, 0, 0, 0, 0),
		PADDED(RIPC_MQ_UNLINK, ripc_mq_unlink, 0, 0, 0, 0),
		PADDED(RIPC_MQ_SETPERM, ripc_mq_setperm, 0, 0, 0, 0),	/* EBADF */
		PADDED(RIPC_MQ_GETSETATTR, ripc_mq_getsetattr, 0, 0, 0, 0),
		PADDED(RIPC_MQ_NOTIFY, ripc_mq_notify, 0, 0, 0, 0),
		PADDED(RIPC_MQ_SEND_BATCH, ripc_mq_batch, 0, 0, 0, 0),
		PADDED(RIPC_MQ_RECEIVE_BATCH, ripc_mq_batch, 0, 0, 0, 0),
		PADDED(RIPC_MSGGET, ripc_msgget, offsetof(struct ripc_msgget, key), 4, 0x7e5a, 0),
		PADDED(RIPC_MSGSND, ripc_msgsnd, 0, 0, 0, 0),	/* EFAULT (mtype) */
		PADDED(RIPC_MSGRCV, ripc_msgrcv, offsetof(struct ripc_msgrcv, msgflg), 4, IPC_NOWAIT, 1),
		PADDED(RIPC_MSGCTL, ripc_msgctl, offsetof(struct ripc_msgctl, cmd), 4, IPC_INFO, 0),
		PADDED(RIPC_MSG_NEXT_ID, ripc_msg_next_id, 0, 0, 0, 0),
		PADDED(RIPC_MSGSND_BATCH, ripc_msg_batch, offsetof(struct ripc_msg_batch, msgflg), 4, IPC_NOWAIT, 1),
		PADDED(RIPC_MSGRCV_BATCH, ripc_msg_batch, offsetof(struct ripc_msg_batch, msgflg), 4, IPC_NOWAIT, 1),
		PADDED(RIPC_IOC_DUMP, ripc_dump, 0, 0, 0, 0),
		/* Last: the zero-pad call makes the file a notification descriptor. */
		PADDED(RIPC_NOTIFY_FD_BIND, ripc_notify_fd, 0, 0, 0, 0),
	};
	union {
		unsigned char b[256];
		__u64 align;
	} u;
	struct ripc_msg_next_id n = { .size = sizeof(n), .set = 2, .value = 5 };

	ASSERT_ERRNO(EINVAL, ioctl(self->fd, RIPC_MSG_NEXT_ID, &n));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct padded *c = &cases[i];
		long long val = c->val;
		int r[2], e[2];

		for (int pad = 0; pad < 2; pad++) {
			__u32 size = c->size, one = pad;

			memset(&u, 0, sizeof(u));
			memcpy(u.b, &size, sizeof(size));
			memcpy(u.b + c->pad, &one, sizeof(one));
			if (c->width)
				memcpy(u.b + c->off, &val, c->width);	/* little-endian */
			if (c->on_queue)
				memcpy(u.b + 4, &id, sizeof(id));
			errno = 0;
			r[pad] = ioctl(self->fd, c->cmd, &u);
			e[pad] = errno;
			if (r[pad] >= 0 && c->cmd == RIPC_MQ_OPEN_FD)
				close(r[pad]);
		}
		EXPECT_FALSE(r[0] == -1 && e[0] == EINVAL) TH_LOG("%s with a zero pad: EINVAL",
								   c->name);
		EXPECT_EQ(-1, r[1]) TH_LOG("%s with a pad: %d", c->name, r[1]);
		EXPECT_EQ(EINVAL, e[1]) TH_LOG("%s with a pad: %s", c->name, strerrorname_np(e[1]));
	}
	SYS(ripc_msgctl(id, IPC_RMID, NULL));
	/* A batch's items too: the first with a pad ends the batch there. */
	{
		struct mq_attr at = { .mq_maxmsg = 4, .mq_msgsize = 16 };
		int q = SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT | O_EXCL, 0600, &at));
		struct ripc_mq_item it[2] = { { RPTR("a"), 1, 1, 0 }, { RPTR("b"), 1, 1, 1 } };
		struct ripc_mq_batch b = { .size = sizeof(b), .count = 2, .items = RPTR(it),
					   .flags = 0 };

		ASSERT_EQ(1, ioctl(q, RIPC_MQ_SEND_BATCH, &b));
		b.items = RPTR(&it[1]);
		b.count = 1;
		ASSERT_ERRNO(EINVAL, ioctl(q, RIPC_MQ_SEND_BATCH, &b));
		it[1].__pad = 0;
		ASSERT_EQ(1, ioctl(q, RIPC_MQ_SEND_BATCH, &b));
		close(q);
	}
	id = ripc_msgget(0x7e5a, 0);
	if (id >= 0)
		ripc_msgctl(id, IPC_RMID, NULL);
}

TEST_F(dev, concurrent_opens_from_many_processes)
{
	pid_t pids[8];
	int go[2];
	char c;

	SYS(pipe(go));
	for (int i = 0; i < 8; i++) {
		pids[i] = fork_child();
		if (pids[i] == 0) {
			int fds[8];

			close(go[1]);
			CHILD_CHECK(read(go[0], &c, 1) == 0);	/* all start together */
			for (int j = 0; j < 8; j++)
				CHILD_CHECK((fds[j] = open(RIPC_DEVICE, O_RDWR)) >= 0);
			for (int j = 0; j < 8; j++) {
				struct ripc_version v = { .size = sizeof(v) };

				CHILD_CHECK(ioctl(fds[j], RIPC_IOC_VERSION, &v) == 0);
				CHILD_CHECK(v.abi_version == RIPC_ABI_VERSION);
				CHILD_CHECK(close(fds[j]) == 0);
			}
			_exit(0);
		}
		ASSERT_LT(0, pids[i]);
	}
	close(go[1]);
	for (int i = 0; i < 8; i++) {
		ASSERT_EQ(0, wait_child(pids[i])) TH_LOG("child %d", i);
	}
}

TEST_F(dev, queue_calls_on_an_unbound_file_are_ebadf)
{
	struct ripc_mq_xfer x = { .size = sizeof(x), .msg_ptr = (__u64)(uintptr_t)"x", .msg_len = 1 };
	struct ripc_mq_attr a;
	struct ripc_mq_getsetattr g = { .size = sizeof(g), .old_attr = (__u64)(uintptr_t)&a };
	struct ripc_sigevent ev = { .sigev_notify = RIPC_SIGEV_NONE };
	struct ripc_mq_notify n = { .size = sizeof(n), .sevp = (__u64)(uintptr_t)&ev };
	char buf[16];

	ASSERT_ERRNO(EBADF, ioctl(self->fd, RIPC_MQ_SEND, &x));
	x.msg_ptr = (__u64)(uintptr_t)buf;
	x.msg_len = sizeof(buf);
	ASSERT_ERRNO(EBADF, ioctl(self->fd, RIPC_MQ_RECEIVE, &x));
	ASSERT_ERRNO(EBADF, ioctl(self->fd, RIPC_MQ_GETSETATTR, &g));
	ASSERT_ERRNO(EBADF, ioctl(self->fd, RIPC_MQ_NOTIFY, &n));
}

TEST_F(dev, a_file_binds_to_one_queue_only)
{
	struct ripc_mq_open o = {
		.size = sizeof(o),
		.oflag = O_RDWR | O_CREAT,
		.mode = 0600,
		.name = (__u64)(uintptr_t)self->name,
	};
	struct ripc_mq_attr a;

	SYS(ioctl(self->fd, RIPC_MQ_OPEN, &o));
	ASSERT_ERRNO(EBUSY, ioctl(self->fd, RIPC_MQ_OPEN, &o));
	SYS(ripc_mq_getattr(self->fd, (struct mq_attr *)&a));
	ASSERT_EQ(10, a.mq_maxmsg);
}

/*
 * A RIPC_MQ_OPEN that fails (ENOENT, then EINVAL for a bad attr) leaves
 * the file unbound: a later one binds it.
 */
TEST_F(dev, a_failed_open_leaves_the_file_unbound)
{
	struct ripc_mq_attr bad = { .mq_maxmsg = 0, .mq_msgsize = 16 };
	struct ripc_mq_open o = {
		.size = sizeof(o),
		.oflag = O_RDWR,
		.mode = 0600,
		.name = (__u64)(uintptr_t)self->name,
	};
	unsigned int prio = 0;
	char buf[8192];

	ASSERT_ERRNO(ENOENT, ioctl(self->fd, RIPC_MQ_OPEN, &o));
	o.oflag = O_RDWR | O_CREAT | O_EXCL;
	o.attr = (__u64)(uintptr_t)&bad;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, RIPC_MQ_OPEN, &o));
	o.attr = 0;
	SYS(ioctl(self->fd, RIPC_MQ_OPEN, &o));
	SYS(ripc_mq_send(self->fd, "x", 1, 2));
	ASSERT_EQ(1, ripc_mq_receive(self->fd, buf, sizeof(buf), &prio));
	ASSERT_EQ(2U, prio);
}

/*
 * A device file bound by RIPC_MQ_OPEN takes O_NONBLOCK from oflag alone,
 * as native's mq_open makes its file from oflag: a device opened
 * O_NONBLOCK and bound without it blocks (mq_flags 0), one opened without
 * it and bound with it does not.
 */
TEST_F(dev, a_bound_file_is_nonblocking_only_if_oflag_asks)
{
	struct ripc_mq_open o = {
		.size = sizeof(o),
		.oflag = O_RDWR | O_CREAT,
		.mode = 0600,
		.name = (__u64)(uintptr_t)self->name,
	};
	struct timespec soon;
	struct ripc_mq_attr a;
	char buf[8192];
	int nb = SYS(open(RIPC_DEVICE, O_RDWR | O_NONBLOCK | O_CLOEXEC));

	SYS(ioctl(nb, RIPC_MQ_OPEN, &o));
	ASSERT_EQ(0, fcntl(nb, F_GETFL) & O_NONBLOCK);
	SYS(ripc_mq_getattr(nb, (struct mq_attr *)&a));
	ASSERT_EQ(0, a.mq_flags);
	/* It blocks: an empty queue times out rather than EAGAIN. */
	clock_gettime(CLOCK_REALTIME, &soon);
	soon.tv_nsec += 20 * 1000 * 1000;
	if (soon.tv_nsec >= 1000000000) {
		soon.tv_sec++;
		soon.tv_nsec -= 1000000000;
	}
	ASSERT_ERRNO(ETIMEDOUT, ripc_mq_timedreceive(nb, buf, sizeof(buf), NULL, &soon));
	SYS(close(nb));
	o.oflag = O_RDWR | O_NONBLOCK;
	SYS(ioctl(self->fd, RIPC_MQ_OPEN, &o));
	ASSERT_EQ(O_NONBLOCK, fcntl(self->fd, F_GETFL) & O_NONBLOCK);
	SYS(ripc_mq_getattr(self->fd, (struct mq_attr *)&a));
	ASSERT_EQ(O_NONBLOCK, a.mq_flags);
	ASSERT_ERRNO(EAGAIN, ripc_mq_receive(self->fd, buf, sizeof(buf), NULL));
}

/*
 * RIPC_MQ_OPEN_FD: a new close-on-exec descriptor of a new file of the
 * device, bound to the queue with oflag's access mode and O_NONBLOCK; the
 * file the call is made on stays unbound (it opens more); one not open for
 * reading and writing gives EBADF (no more rights than it has) and makes
 * nothing; O_PATH gives an O_PATH file (no call takes it), O_DIRECT EINVAL.
 */
TEST_F(dev, mq_open_fd_returns_a_new_bound_descriptor)
{
	struct ripc_mq_open o = {
		.size = sizeof(o),
		.oflag = O_WRONLY | O_CREAT | O_EXCL | O_NONBLOCK,
		.mode = 0600,
		.name = (__u64)(uintptr_t)self->name,
	};
	struct ripc_mq_attr a;
	struct stat st, dev;
	static char big[8192];
	unsigned int prio = 0;
	char buf[128];
	int ro = SYS(open(RIPC_DEVICE, O_RDONLY | O_CLOEXEC)), w, r, p;

	ASSERT_ERRNO(EBADF, ioctl(ro, RIPC_MQ_OPEN_FD, &o));
	SYS(close(ro));
	o.oflag = O_RDONLY;
	ASSERT_ERRNO(ENOENT, ioctl(self->fd, RIPC_MQ_OPEN_FD, &o));
	o.oflag = O_WRONLY | O_CREAT | O_EXCL | O_NONBLOCK;
	w = SYS(ioctl(self->fd, RIPC_MQ_OPEN_FD, &o));
	ASSERT_NE(self->fd, w);
	ASSERT_EQ(FD_CLOEXEC, fcntl(w, F_GETFD));
	ASSERT_EQ(O_WRONLY | O_NONBLOCK, fcntl(w, F_GETFL) & (O_ACCMODE | O_NONBLOCK));
	SYS(fstat(w, &st));
	SYS(fstat(self->fd, &dev));
	ASSERT_TRUE(S_ISCHR(st.st_mode));
	ASSERT_EQ(dev.st_rdev, st.st_rdev);
	/* Bound write-only: no status line; the queue is there. */
	ASSERT_ERRNO(EBADF, read(w, buf, sizeof(buf)));
	SYS(ripc_mq_getattr(w, (struct mq_attr *)&a));
	ASSERT_EQ(O_NONBLOCK, a.mq_flags);
	ASSERT_EQ(0, ripc_mq_send(w, "abc", 3, 5));
	/* The calling file is still unbound, and opens another. */
	ASSERT_ERRNO(EBADF, read(self->fd, buf, sizeof(buf)));
	ASSERT_ERRNO(EEXIST, ioctl(self->fd, RIPC_MQ_OPEN_FD, &o));
	o.oflag = O_RDONLY;
	r = SYS(ioctl(self->fd, RIPC_MQ_OPEN_FD, &o));
	ASSERT_EQ(O_RDONLY, fcntl(r, F_GETFL) & (O_ACCMODE | O_NONBLOCK));
	ASSERT_ERRNO(EMSGSIZE, ripc_mq_receive(r, buf, sizeof(buf), NULL));
	ASSERT_EQ(3, ripc_mq_receive(r, big, sizeof(big), &prio));
	ASSERT_EQ(0, memcmp(big, "abc", 3));
	ASSERT_EQ(5U, prio);
	o.oflag = O_RDONLY | O_PATH;
	p = SYS(ioctl(self->fd, RIPC_MQ_OPEN_FD, &o));
	ASSERT_EQ(O_PATH, fcntl(p, F_GETFL) & O_PATH);
	ASSERT_ERRNO(EBADF, ripc_mq_getattr(p, (struct mq_attr *)&a));
	ASSERT_ERRNO(EBADF, ripc_mq_fchmod(p, 0644));
	o.oflag = O_RDONLY | O_DIRECT;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, RIPC_MQ_OPEN_FD, &o));
	SYS(close(p));
	SYS(close(r));
	SYS(close(w));
}

/*
 * RIPC_MQ_OPEN on a file already bound is EBUSY and makes nothing, also
 * with O_PATH or O_DIRECT (which bind no file: they once made the queue
 * and returned 0 or EINVAL), and the file stays bound to its queue.
 */
TEST_F(dev, an_open_on_a_bound_file_is_ebusy_also_with_o_path)
{
	static const int extra[] = { 0, O_PATH, O_DIRECT };
	char other[80];
	struct ripc_mq_open o = {
		.size = sizeof(o),
		.oflag = O_RDWR | O_CREAT | O_EXCL,
		.mode = 0600,
		.name = (__u64)(uintptr_t)self->name,
	};
	unsigned int prio = 0;
	char buf[8192];

	SYS(ioctl(self->fd, RIPC_MQ_OPEN, &o));
	snprintf(other, sizeof(other), "%s_2", self->name);
	o.name = (__u64)(uintptr_t)other;
	for (size_t i = 0; i < ARRAY_SIZE(extra); i++) {
		o.oflag = O_RDWR | O_CREAT | extra[i];
		ASSERT_EQ(-1, ioctl(self->fd, RIPC_MQ_OPEN, &o)) TH_LOG("oflag %#x", o.oflag);
		ASSERT_EQ(EBUSY, errno) TH_LOG("oflag %#x", o.oflag);
		ASSERT_ERRNO(ENOENT, ripc_mq_open(other, O_RDONLY));
	}
	SYS(ripc_mq_send(self->fd, "bound", 5, 3));
	ASSERT_EQ(5, ripc_mq_receive(self->fd, buf, sizeof(buf), &prio));
	ASSERT_EQ(0, memcmp(buf, "bound", 5));
	ASSERT_EQ(3U, prio);
}

/*
 * A name without its leading slash is EINVAL from its first byte, as
 * glibc's mq_open() and mq_unlink() look at that byte alone: not EFAULT
 * for the rest, unterminated up to an unmapped page (native's own, through
 * glibc, in the same test).
 */
TEST_F(dev, a_name_without_a_slash_is_einval_from_its_first_byte)
{
	long page = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *name;
	struct ripc_mq_open o = { .size = sizeof(o), .oflag = O_RDWR | O_CREAT, .mode = 0600 };
	struct ripc_mq_unlink u = { .size = sizeof(u) };

	ASSERT_NE(MAP_FAILED, p);
	SYS(munmap(p + page, page));
	/* 16 bytes without a NUL, the page after them unmapped. */
	name = p + page - 16;
	memset(name, 'a', 16);
	o.name = u.name = (__u64)(uintptr_t)name;
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, RIPC_MQ_OPEN_FD, &o));
	ASSERT_ERRNO(EINVAL, ioctl(self->fd, RIPC_MQ_UNLINK, &u));
	ASSERT_ERRNO(EINVAL, mq_open(name, O_RDWR | O_CREAT, 0600, NULL));
	ASSERT_ERRNO(EINVAL, mq_unlink(name));
	/* With the slash, the name is read: the fault is EFAULT. */
	name[0] = '/';
	ASSERT_ERRNO(EFAULT, ioctl(self->fd, RIPC_MQ_OPEN_FD, &o));
	ASSERT_ERRNO(EFAULT, ioctl(self->fd, RIPC_MQ_UNLINK, &u));
	ASSERT_ERRNO(EFAULT, mq_open(name, O_RDWR | O_CREAT, 0600, NULL));
	ASSERT_ERRNO(EFAULT, mq_unlink(name));
	/* The first byte itself unreadable: EFAULT (glibc's own read faults). */
	o.name = u.name = (__u64)(uintptr_t)(p + page);
	ASSERT_ERRNO(EFAULT, ioctl(self->fd, RIPC_MQ_OPEN_FD, &o));
	ASSERT_ERRNO(EFAULT, ioctl(self->fd, RIPC_MQ_UNLINK, &u));
	SYS(munmap(p, page));
}

/*
 * A device file (open for reading and writing) bound to a queue opened
 * O_WRONLY reads no status line: EBADF, as native's read() of a
 * write-only descriptor, and nothing written; bound O_RDONLY it does.
 */
TEST_F(dev, a_file_bound_write_only_reads_no_status_line)
{
	struct ripc_mq_open o = {
		.size = sizeof(o),
		.oflag = O_WRONLY | O_CREAT,
		.mode = 0600,
		.name = (__u64)(uintptr_t)self->name,
	};
	char buf[128];
	int r;

	SYS(ioctl(self->fd, RIPC_MQ_OPEN, &o));
	memset(buf, 'x', sizeof(buf));
	ASSERT_ERRNO(EBADF, read(self->fd, buf, sizeof(buf)));
	ASSERT_EQ('x', buf[0]);
	r = SYS(open(RIPC_DEVICE, O_RDWR | O_CLOEXEC));
	o.oflag = O_RDONLY;
	SYS(ioctl(r, RIPC_MQ_OPEN, &o));
	ASSERT_EQ(60, read(r, buf, sizeof(buf)));
	ASSERT_EQ(0, memcmp(buf, "QSIZE:0 ", 8));
	SYS(close(r));
}

/*
 * A limit changes only where its sysctl file could be written: under a
 * read-only /proc/sys (a container's), EROFS for the module's limits and
 * msg_next_id as for the native files, and nothing changes.
 */
TEST_F(dev, limits_do_not_change_under_a_read_only_proc_sys)
{
	pid_t pid;

	REQUIRE_ROOT();
	pid = fork_child();
	if (pid == 0) {
		struct ripc_version v = { .size = sizeof(v) }, w = { .size = sizeof(w) };
		struct ripc_limits l;
		int old, next = 5;

		CHILD_CHECK(unshare(CLONE_NEWNS) == 0);
		CHILD_CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
		CHILD_CHECK(mount("/proc/sys", "/proc/sys", NULL, MS_BIND, NULL) == 0);
		CHILD_CHECK(mount(NULL, "/proc/sys", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY,
				  NULL) == 0);
		CHILD_CHECK(open("/proc/sys/kernel/msgmni", O_WRONLY) == -1 && errno == EROFS);
		CHILD_CHECK(open("/proc/sys/fs/mqueue/msg_max", O_WRONLY) == -1 && errno == EROFS);
		CHILD_CHECK(ripc_version(&v) == 0);
		l = v.limits;
		l.msgmni = v.limits.msgmni - 1;
		l.mq_msg_max = v.limits.mq_msg_max - 1;
		CHILD_CHECK(ripc_set_limits_fields(&l, RIPC_LIMIT_MSGMNI) == -1 && errno == EROFS);
		CHILD_CHECK(ripc_set_limits_fields(&l, RIPC_LIMIT_MQ_MSG_MAX) == -1 &&
			    errno == EROFS);
		CHILD_CHECK(ripc_set_limits(&l) == -1 && errno == EROFS);
		CHILD_CHECK(ripc_version(&w) == 0);
		CHILD_CHECK(!memcmp(&v.limits, &w.limits, sizeof(v.limits)));
		CHILD_CHECK(ripc_msg_next_id(&old, &next) == -1 && errno == EROFS);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

/* Writable regular files named as the sysctls of RIPC_LIMIT_MSGMNI,
 * RIPC_LIMIT_MQ_MSG_MAX and msg_next_id, under root. */
static int fake_sysctls(const char *root)
{
	static const char *const rel[] = {
		"/sys/kernel/msgmni", "/sys/fs/mqueue/msg_max", "/sys/kernel/msg_next_id",
	};
	char path[256];
	int fd;

	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", root, rel[i]);
		for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
			*s = 0;
			if (mkdir(path, 0755) && errno != EEXIST)
				return -1;
			*s = '/';
		}
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || close(fd))
			return -1;
	}
	return 0;
}

/* In a child, after fake_sysctls(): the module's limits refuse to change (EPERM). */
static int limits_refused(void)
{
	struct ripc_version v = { .size = sizeof(v) }, w = { .size = sizeof(w) };
	struct ripc_limits l;
	int old, next = 5;

	if (ripc_version(&v))
		return 1;
	l = v.limits;
	l.msgmni = v.limits.msgmni - 1;
	l.mq_msg_max = v.limits.mq_msg_max - 1;
	if (ripc_set_limits_fields(&l, RIPC_LIMIT_MSGMNI) != -1 || errno != EPERM)
		return 2;
	if (ripc_set_limits_fields(&l, RIPC_LIMIT_MQ_MSG_MAX) != -1 || errno != EPERM)
		return 3;
	if (ripc_version(&w) || memcmp(&v.limits, &w.limits, sizeof(v.limits)))
		return 4;
	if (ripc_msg_next_id(&old, &next) != -1 || errno != EPERM)
		return 5;
	if (ripc_msg_next_id(&old, NULL) || old == next)
		return 6;
	return 0;
}

/*
 * A file named as a sysctl that is not the sysctl (tmpfs over-mounted on
 * /proc/sys, or a chroot with a /proc/sys of its own: writing it changes
 * no native limit; another sysctl bound over it: writing it changes that
 * one) lets none of the module's limits change: EPERM.  Nor a
 * FIFO bound over the sysctl, and at once: what the path leads to is
 * looked at before it is opened (an open for writing of a FIFO waits for a
 * reader).
 */
TEST_F(dev, limits_do_not_change_through_a_file_that_is_not_the_sysctl)
{
	char root[64], proc[80];
	pid_t pid;

	REQUIRE_ROOT();
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(unshare(CLONE_NEWNS) == 0);
		CHILD_CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
		CHILD_CHECK(mount("none", "/proc/sys", "tmpfs", 0, NULL) == 0);
		CHILD_CHECK(fake_sysctls("/proc") == 0);
		_exit(limits_refused());
	}
	ASSERT_EQ(0, wait_child(pid));
	snprintf(root, sizeof(root), "/tmp/ripc_chroot_%d", getpid());
	snprintf(proc, sizeof(proc), "%s/proc", root);
	SYS(mkdir(root, 0755));
	pid = fork_child();
	if (pid == 0) {
		/* ripc_*() open the device before the chroot. */
		CHILD_CHECK(ripc_device_fd() >= 0);
		CHILD_CHECK(unshare(CLONE_NEWNS) == 0);
		CHILD_CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
		CHILD_CHECK(mount("none", root, "tmpfs", 0, NULL) == 0);
		CHILD_CHECK(fake_sysctls(proc) == 0);
		CHILD_CHECK(chroot(root) == 0 && chdir("/") == 0);
		_exit(limits_refused());
	}
	ASSERT_EQ(0, wait_child(pid));
	SYS(rmdir(root));
	pid = fork_child();
	if (pid == 0) {
		static const char *const sysctls[] = {
			"/proc/sys/kernel/msgmni", "/proc/sys/fs/mqueue/msg_max",
			"/proc/sys/kernel/msg_next_id",
		};
		char fifo[64];

		alarm(20);	/* a hang is the failure */
		snprintf(fifo, sizeof(fifo), "/tmp/ripc_fifo_%d", getpid());
		CHILD_CHECK(mkfifo(fifo, 0666) == 0);
		CHILD_CHECK(unshare(CLONE_NEWNS) == 0);
		CHILD_CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
		for (int i = 0; i < 3; i++)
			CHILD_CHECK(mount(fifo, sysctls[i], NULL, MS_BIND, NULL) == 0);
		unlink(fifo);
		_exit(limits_refused());
	}
	ASSERT_EQ(0, wait_child(pid));
	pid = fork_child();
	if (pid == 0) {
		/* Another sysctl bound over each: a write changes that one. */
		static const char *const over[][2] = {
			{ "/proc/sys/kernel/msgmax", "/proc/sys/kernel/msgmni" },
			{ "/proc/sys/fs/mqueue/msgsize_max", "/proc/sys/fs/mqueue/msg_max" },
			{ "/proc/sys/kernel/msgmnb", "/proc/sys/kernel/msg_next_id" },
		};

		CHILD_CHECK(unshare(CLONE_NEWNS) == 0);
		CHILD_CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
		for (int i = 0; i < 3; i++)
			CHILD_CHECK(mount(over[i][0], over[i][1], NULL, MS_BIND, NULL) == 0);
		_exit(limits_refused());
	}
	ASSERT_EQ(0, wait_child(pid));
}

struct opener {
	int fd;
	const char *name;
	long ret;
	int err;
};

static void *open_main(void *arg)
{
	struct opener *o = arg;
	struct ripc_mq_open a = {
		.size = sizeof(a),
		.oflag = O_RDWR | O_CREAT | O_EXCL,
		.mode = 0600,
		.name = (__u64)(uintptr_t)o->name,
	};

	o->ret = ioctl(o->fd, RIPC_MQ_OPEN, &a);
	o->err = errno;
	return NULL;
}

/*
 * Two RIPC_MQ_OPENs racing on one file: the one that finds the other
 * binding the file gets EBUSY and creates nothing (a queue it made would
 * stay named, bound to no descriptor).  Here the first waits for the page
 * of its name (a userfaultfd page) while the second comes.
 */
TEST_F(dev, a_racing_open_that_gets_ebusy_creates_nothing)
{
	char *trap = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	static char page[PAGE];
	char second[80];
	struct uffdio_register reg = { .range = { .start = (__u64)(uintptr_t)trap, .len = PAGE },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_copy c = { .dst = reg.range.start, .src = (__u64)(uintptr_t)page, .len = PAGE };
	struct opener first = { .fd = self->fd, .name = trap };
	struct opener other = { .fd = self->fd, .name = second };
	struct pollfd p = { .events = POLLIN };
	struct uffd_msg ev;
	pthread_t t;
	int uffd, q, e;

	ASSERT_NE(MAP_FAILED, trap);
	uffd = uffd_open();
	if (uffd < 0)
		SKIP(return, "userfaultfd: %s", strerrorname_np(errno));
	snprintf(page, sizeof(page), "%s", self->name);
	snprintf(second, sizeof(second), "%s_2", self->name);
	SYS(ioctl(uffd, UFFDIO_REGISTER, &reg));
	ASSERT_EQ(0, pthread_create(&t, NULL, open_main, &first));
	p.fd = uffd;
	ASSERT_EQ(1, poll(&p, 1, 5000)) TH_LOG("the first open did not fault on its name");
	ASSERT_EQ((ssize_t)sizeof(ev), read(uffd, &ev, sizeof(ev)));
	open_main(&other);
	SYS(ioctl(uffd, UFFDIO_COPY, &c));
	ASSERT_EQ(0, pthread_join(t, NULL));
	q = ripc_mq_open(second, O_RDONLY);
	e = errno;
	if (q >= 0) {
		ripc_mq_close(q);
		ripc_mq_unlink(second);
	}
	ASSERT_EQ(-1, other.ret) TH_LOG("the second open bound the file");
	ASSERT_EQ(EBUSY, other.err);
	ASSERT_EQ(0, first.ret) TH_LOG("first: %s", strerrorname_np(first.err));
	/* The second made no queue; the first made its own, and is bound. */
	ASSERT_EQ(-1, q) TH_LOG("the open that got EBUSY made its queue");
	ASSERT_EQ(ENOENT, e);
	SYS(ripc_mq_send(self->fd, "x", 1, 0));
	close(uffd);
	munmap(trap, PAGE);
}

/*
 * RIPC_MSG_NEXT_ID's set with a struct that cannot be written back (readable,
 * not writable) fails with EFAULT before anything is set.
 */
TEST_F(dev, a_msg_next_id_set_that_cannot_write_back_sets_nothing)
{
	struct ripc_msg_next_id get = { .size = sizeof(get) }, *rw, *ro;
	void *page;
	int before;

	SYS(ioctl(self->fd, RIPC_MSG_NEXT_ID, &get));
	before = get.value;
	ro = read_only_alias(&page);
	ASSERT_NE(MAP_FAILED, ro);
	rw = page;
	*rw = (struct ripc_msg_next_id){ .size = sizeof(*rw), .set = 1, .value = before + 7 };
	ASSERT_ERRNO(EFAULT, ioctl(self->fd, RIPC_MSG_NEXT_ID, ro));
	SYS(ioctl(self->fd, RIPC_MSG_NEXT_ID, &get));
	ASSERT_EQ(before, get.value);
	munmap(rw, PAGE);
	munmap(ro, PAGE);
}

TEST_F(dev, set_limits_needs_cap_sys_resource)
{
	pid_t pid;

	REQUIRE_ROOT();
	pid = fork_child();
	if (pid == 0) {
		struct ripc_limits l = { .msgmnb = 20000 };

		CHILD_CHECK(drop_privs() == 0);
		CHILD_CHECK(ripc_set_limits(&l) == -1 && errno == EPERM);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
}

TEST_F(dev, set_limits_changes_only_nonzero_fields)
{
	struct ripc_limits l = { .msgmnb = 20000, .mq_msg_max = 12 };
	struct ripc_version v;
	struct msqid_ds s;
	int id;

	REQUIRE_CAP(CAP_SYS_RESOURCE);
	SYS(ripc_version(&v));
	self->saved = v.limits;
	SYS(ripc_set_limits(&l));
	SYS(ripc_version(&v));
	ASSERT_EQ(20000u, v.limits.msgmnb);
	ASSERT_EQ(12u, v.limits.mq_msg_max);
	ASSERT_EQ(self->saved.msgmax, v.limits.msgmax);
	ASSERT_EQ(self->saved.mq_msgsize_max, v.limits.mq_msgsize_max);
	/* A new SysV queue takes qbytes from msgmnb. */
	id = SYS(ripc_msgget(IPC_PRIVATE, 0600));
	SYS(ripc_msgctl(id, IPC_STAT, &s));
	SYS(ripc_msgctl(id, IPC_RMID, NULL));
	ASSERT_EQ(20000ul, s.msg_qbytes);
}

/*
 * With a mask (ripc_set_limits.set), exactly the fields named are set, 0
 * too where the native sysctl takes it; an unknown bit or a value outside
 * a field's native range is EINVAL and changes nothing.
 */
TEST_F(dev, set_limits_with_a_mask_sets_exactly_those_fields)
{
	struct ripc_limits l = { .msgmnb = 777 };
	struct ripc_version v;

	REQUIRE_CAP(CAP_SYS_RESOURCE);
	SYS(ripc_version(&v));
	self->saved = v.limits;
	SYS(ripc_set_limits_fields(&l, RIPC_LIMIT_MSGMAX | RIPC_LIMIT_MSGMNI));
	SYS(ripc_version(&v));
	ASSERT_EQ(0u, v.limits.msgmax);
	ASSERT_EQ(0u, v.limits.msgmni);
	ASSERT_EQ(self->saved.msgmnb, v.limits.msgmnb);
	ASSERT_EQ(-1, ripc_msgget(IPC_PRIVATE, 0600));
	ASSERT_EQ(ENOSPC, errno);
	ASSERT_EQ(-1, ripc_set_limits_fields(&self->saved, 1U << 8));
	ASSERT_EQ(EINVAL, errno);
	l = (struct ripc_limits){ .msgmax = 5, .mq_msg_max = 0, .msgmnb = 0x80000000u };
	ASSERT_EQ(-1, ripc_set_limits_fields(&l, RIPC_LIMIT_MSGMAX | RIPC_LIMIT_MQ_MSG_MAX));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, ripc_set_limits_fields(&l, RIPC_LIMIT_MSGMAX | RIPC_LIMIT_MSGMNB));
	ASSERT_EQ(EINVAL, errno);
	l = (struct ripc_limits){ .mq_msgsize_max = 127 };
	ASSERT_EQ(-1, ripc_set_limits_fields(&l, RIPC_LIMIT_MQ_MSGSIZE_MAX));
	ASSERT_EQ(EINVAL, errno);
	SYS(ripc_version(&v));
	ASSERT_EQ(0u, v.limits.msgmax);
	ASSERT_EQ(self->saved.mq_msg_max, v.limits.mq_msg_max);
	ASSERT_EQ(self->saved.mq_msgsize_max, v.limits.mq_msgsize_max);
	l = (struct ripc_limits){ .mq_queues_max = 0xffffffffu };
	SYS(ripc_set_limits_fields(&l, RIPC_LIMIT_MQ_QUEUES_MAX));
	SYS(ripc_version(&v));
	ASSERT_EQ(0xffffffffu, v.limits.mq_queues_max);
	/* Without a mask, a 0 field is left alone. */
	l = (struct ripc_limits){ .msgmax = 0, .msgmni = 9 };
	SYS(ripc_set_limits(&l));
	SYS(ripc_version(&v));
	ASSERT_EQ(0u, v.limits.msgmax);
	ASSERT_EQ(9u, v.limits.msgmni);
	SYS(ripc_set_limits_fields(&self->saved, RIPC_LIMIT_ALL));
	SYS(ripc_version(&v));
	ASSERT_EQ(0, memcmp(&self->saved, &v.limits, sizeof(v.limits)));
}

TEST_F(dev, list_returns_full_length_and_truncates)
{
	static const unsigned int which[] = { RIPC_LIST_POSIX, RIPC_LIST_SYSV };
	static char buf[65536];
	int id = SYS(ripc_msgget(IPC_PRIVATE, 0600));

	SYS(ripc_mq_close(SYS(ripc_mq_open(self->name, O_RDWR | O_CREAT, 0600, NULL))));
	for (size_t i = 0; i < ARRAY_SIZE(which); i++) {
		ssize_t full = SYS(ripc_list(which[i], buf, sizeof(buf)));
		char small[8];

		ASSERT_LT(0, full);	/* at least a line for our queue */
		ASSERT_LT(full, (ssize_t)sizeof(buf));
		ASSERT_EQ((size_t)full, strlen(buf));
		memset(small, 'x', sizeof(small));
		ASSERT_EQ(full, ripc_list(which[i], small, sizeof(small)));
		ASSERT_EQ(0, small[sizeof(small) - 1]);
		ASSERT_EQ(0, strncmp(small, buf, sizeof(small) - 1));
	}
	SYS(ripc_msgctl(id, IPC_RMID, NULL));
}

/*
 * A POSIX name is any bytes but '/' and NUL: the listings show a control
 * character (C0, DEL, C1), a space, a line or paragraph separator and a
 * backslash as \ooo for each of its bytes (as /proc/mounts shows a path),
 * and so each byte above 0x7e of a name that is not UTF-8, so that no name
 * forges a line or a field or moves a terminal's cursor; other UTF-8
 * stays as it is.
 */
TEST_F(dev, list_escapes_what_would_forge_a_line_or_a_field)
{
	static const struct { const char *raw, *shown; } names[] = {
		{ "_a b\\c\n999 0 0 0600 fake", "_a\\040b\\134c\\012999\\0400\\0400\\0400600\\040fake" },
		{ "_\t\x7f", "_\\011\\177" },
		{ "_\xff\xfe" "e", "_\\377\\376e" },
		/* A space in a name that is not UTF-8. */
		{ "_\xff x", "_\\377\\040x" },
		{ "_\xc3\xa9t\xc3\xa9", "_\xc3\xa9t\xc3\xa9" },
		/* U+0085 (NEL, a C1 control) and U+2028 (line separator). */
		{ "_x\xc2\x85y\xe2\x80\xa8z", "_x\\302\\205y\\342\\200\\250z" },
	};
	static char buf[65536];
	char name[128], want[160];

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(name, sizeof(name), "%s%s", self->name, names[i].raw);
		SYS(ripc_mq_close(SYS(ripc_mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL))));
	}
	SYS(ripc_list(RIPC_LIST_POSIX, buf, sizeof(buf)));
	ASSERT_EQ(NULL, strstr(buf, "\n999")) TH_LOG("a forged line:\n%s", buf);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(want, sizeof(want), "\n%s%s ", self->name, names[i].shown);
		EXPECT_NE(NULL, strstr(buf, want)) TH_LOG("no line starts %s in\n%s", want + 1, buf);
	}
	/* The statistics table ends each line with the name. */
	SYS(ripc_list(RIPC_LIST_POSIX | RIPC_LIST_STATS, buf, sizeof(buf)));
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(want, sizeof(want), " %s%s\n", self->name, names[i].shown);
		EXPECT_NE(NULL, strstr(buf, want)) TH_LOG("no line ends %s in\n%s", want, buf);
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(name, sizeof(name), "%s%s", self->name, names[i].raw);
		SYS(ripc_mq_unlink(name));
	}
}

/*
 * The plain listings' columns keep their widths: a POSIX name is padded to
 * its column counting each \ooo as the 4 columns it takes, a value the
 * reader may not see is a "-" right-aligned in its column (here for a
 * caller who may not open the queue), and a negative System V key keeps
 * its sign, as /proc/sysvipc/msg's %10d.
 */
TEST_F(dev, list_columns_keep_their_widths_for_escapes_dashes_and_signs)
{
	static char buf[65536];
	static const char posix[] = "\n/e\\011x                  "
		"     0      0      600        -          -      -      -     -         -\n";
	char sysv[64];
	pid_t pid;
	int id;

	SYS(ripc_mq_close(SYS(ripc_mq_open("/e\tx", O_RDWR | O_CREAT | O_EXCL, 0600, NULL))));
	pid = fork_child();
	if (pid == 0) {
		CHILD_CHECK(drop_privs() == 0);
		CHILD_CHECK(ripc_list(RIPC_LIST_POSIX, buf, sizeof(buf)) > 0);
		if (!strstr(buf, posix))
			fprintf(stderr, "# no line %s in:\n%s", posix + 1, buf);
		CHILD_CHECK(strstr(buf, posix) != NULL);
		_exit(0);
	}
	ASSERT_EQ(0, wait_child(pid));
	SYS(ripc_mq_unlink("/e\tx"));
	id = SYS(ripc_msgget(-5, IPC_CREAT | IPC_EXCL | 0600));
	snprintf(sysv, sizeof(sysv), "\n        -5 %10d  ", id);
	SYS(ripc_list(RIPC_LIST_SYSV, buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, sysv)) TH_LOG("no line starts %s in\n%s", sysv + 1, buf);
	snprintf(sysv, sizeof(sysv), " -5 %d\n", id);
	SYS(ripc_list(RIPC_LIST_SYSV | RIPC_LIST_STATS, buf, sizeof(buf)));
	EXPECT_NE(NULL, strstr(buf, sysv)) TH_LOG("no line ends %s in\n%s", sysv, buf);
	SYS(ripc_msgctl(id, IPC_RMID, NULL));
}

/*
 * ripcctl msg-recv takes a message queued before msgmax was lowered below
 * its length (its buffer, sized from msgmax, grows on E2BIG; the message
 * stayed queued and was never received).
 */
TEST_F(dev, ripcctl_receives_a_message_longer_than_msgmax_is_now)
{
	static struct { long mtype; char mtext[12000]; } m = { .mtype = 3 };
	static char out[16384];
	struct ripc_limits big = { .msgmax = 16384, .msgmnb = 32768 }, small = { .msgmax = 8192 };
	const char *head = "received type 3: ";
	key_t key = 0x7e600000 | (getpid() & 0xffff);
	struct ripc_version v;
	char cmd[128], *at;
	size_t n;
	FILE *p;
	int id;

	REQUIRE_CAP(CAP_SYS_RESOURCE);
	SYS(ripc_version(&v));
	self->saved = v.limits;
	SYS(ripc_set_limits(&big));
	id = SYS(ripc_msgget(key, IPC_CREAT | IPC_EXCL | 0600));
	memset(m.mtext, 'q', sizeof(m.mtext));
	SYS(ripc_msgsnd(id, &m, sizeof(m.mtext), IPC_NOWAIT));
	SYS(ripc_set_limits(&small));
	snprintf(cmd, sizeof(cmd), "ripcctl msg-recv %#x 3 2>&1", (unsigned int)key);
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = 0;
	ASSERT_EQ(0, pclose(p)) TH_LOG("%s: %.200s", cmd, out);
	at = strstr(out, head);
	ASSERT_NE(NULL, at) TH_LOG("%.200s", out);
	at += strlen(head);
	ASSERT_EQ(sizeof(m.mtext) + 1, strlen(at));
	ASSERT_EQ(sizeof(m.mtext), strspn(at, "q"));
	ASSERT_EQ('\n', at[sizeof(m.mtext)]);
	ASSERT_ERRNO(ENOMSG, ripc_msgrcv(id, &m, sizeof(m.mtext), 0, IPC_NOWAIT));
	SYS(ripc_msgctl(id, IPC_RMID, NULL));
}

TEST_HARNESS_MAIN
