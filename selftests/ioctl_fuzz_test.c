// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded ioctl fuzzer for /dev/rust_ipc (TAP).  Several processes, each
 * with two threads sharing its descriptors, issue random commands (valid numbers, neighbours, other magics) with random
 * argument structs: random size fields, and pointers that are NULL,
 * unaligned, unmapped, read-only, kernel addresses or at the end of a page;
 * queues are created, bound, unlinked and removed concurrently.  Blocking is
 * avoided with O_NONBLOCK/IPC_NOWAIT and past deadlines.  Threads now and
 * then move to a new IPC namespace (unshare), so that files are used from
 * namespaces other than their own and dead namespaces are collected while
 * the others run.  A watchdog kills a
 * stuck child.  The test passes if every child ran its calls without dying
 * and the device still works afterwards; the kernel log scan of vm-run
 * catches any oops, KASAN or lockdep report.
 *   FUZZ_SEED=n FUZZ_CALLS=n ioctl_fuzz_test
 */
#include "ripc_test.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#define PROCS 4

static __thread uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static char *page_ro, *page_end;

/* A pointer the kernel must survive. */
static uint64_t fuzz_ptr(void *good)
{
	switch (rnd() % 8) {
	case 0: return 0;
	case 1: return (uintptr_t)good + 1;
	case 2: return 0xffff888000000000ull + (rnd() & 0xffff);
	case 3: return (uintptr_t)page_ro;
	case 4: return (uintptr_t)page_end - (rnd() % 16);
	case 5: return 8;
	default: return (uintptr_t)good;
	}
}

static const unsigned nrs[] = {
	RIPC_NR_VERSION, RIPC_NR_SET_LIMITS, RIPC_NR_LIST, RIPC_NR_MQ_OPEN, RIPC_NR_MQ_UNLINK,
	RIPC_NR_MQ_SEND, RIPC_NR_MQ_RECEIVE, RIPC_NR_MQ_GETSETATTR, RIPC_NR_MQ_NOTIFY,
	RIPC_NR_MSGGET, RIPC_NR_MSGSND, RIPC_NR_MSGRCV, RIPC_NR_MSGCTL, RIPC_NR_MSG_BIND,
	RIPC_NR_MQ_SEND_BATCH, RIPC_NR_MQ_RECEIVE_BATCH, RIPC_NR_MSGSND_BATCH,
	RIPC_NR_MSGRCV_BATCH, RIPC_NR_MQ_PEEK, RIPC_NR_MQ_PEEK_BATCH, RIPC_NR_DUMP,
	RIPC_NR_RESTORE,
	RIPC_NR_STATS, RIPC_NR_MQ_TIMEDSEND, RIPC_NR_MQ_TIMEDRECEIVE, RIPC_NR_MSGSND_REGS,
	RIPC_NR_MSGRCV_REGS, RIPC_NR_MQ_OPEN_FD, RIPC_NR_MQ_SETPERM, RIPC_NR_NOTIFY_FD_OPEN,
};

struct fuzzer {
	unsigned seed;
	long calls;
	int *fds;	/* 8 descriptors, shared by the process's threads */
};

static void *fuzz_thread(void *p)
{
	static const char *names[] = { "/fz0", "/fz1", "/fz2", "fz", "/", "//x" };
	const struct fuzzer *f = p;
	union { __u64 q[64]; __u32 w[128]; } a;
	__u64 *arg = a.q, buf[1024], big[16384];
	struct ripc_timespec past = { 1, 0 };
	int *fds = f->fds;
	long calls = f->calls;

	rng = f->seed * 0x9e3779b97f4a7c15ull + 1;
	for (long c = 0; c < calls; c++) {
		int i = rnd() % 8, fd = fds[i];
		unsigned nr = nrs[rnd() % ARRAY_SIZE(nrs)] + (rnd() % 16 == 0 ? rnd() % 3 : 0);
		unsigned magic = rnd() % 32 ? RIPC_IOC_MAGIC : rnd() & 0xff;
		unsigned long cmd = _IOC(rnd() % 4, magic, nr, rnd() % 64);

		if (rnd() % 2048 == 0) {	/* to a fresh IPC namespace */
			unshare(CLONE_NEWIPC);
			continue;
		}
		if (fd < 0 || rnd() % 64 == 0) {	/* reopen: close races binds */
			if (fd >= 0)
				close(fd);
			fds[i] = fd = open(RIPC_DEVICE, O_RDWR | O_NONBLOCK | O_CLOEXEC);
			continue;
		}
		for (unsigned k = 0; k < 64; k++)
			arg[k] = rnd() % 4 ? rnd() % 4096 : rnd();
		/* A plausible size field most of the time. */
		a.w[0] = rnd() % 4 ? 40 + (rnd() % 5) * 8 : (__u32)rnd();
		/* Fields that are pointers in most structs: point them somewhere. */
		for (unsigned k = 1; k < 6; k++)
			if (rnd() % 2)
				arg[k] = fuzz_ptr(buf);
		if (nr == RIPC_NR_MQ_OPEN || nr == RIPC_NR_MQ_OPEN_FD || nr == RIPC_NR_MQ_UNLINK) {
			arg[1] = rnd() % 8 ? (uintptr_t)names[rnd() % ARRAY_SIZE(names)] : fuzz_ptr(buf);
			a.w[1] = O_RDWR | O_NONBLOCK | (rnd() % 2 ? O_CREAT : 0);
			arg[2] = rnd() % 4 ? 0 : fuzz_ptr(buf);
			if (nr != RIPC_NR_MQ_UNLINK) {	/* struct ripc_mq_open: name at 16 */
				arg[2] = arg[1];
				arg[3] = rnd() % 4 ? 0 : fuzz_ptr(buf);
			}
		}
		if (nr == RIPC_NR_MSGSND || nr == RIPC_NR_MSGRCV || nr == RIPC_NR_MSGSND_BATCH ||
		    nr == RIPC_NR_MSGRCV_BATCH)
			a.w[2] |= IPC_NOWAIT;
		if (rnd() % 2)
			arg[4] = (uintptr_t)&past;	/* a timeout field, often */
		if (nr == RIPC_NR_SET_LIMITS)
			continue;	/* would change the limits under the other tests */
		if (nr == RIPC_NR_DUMP)	/* a stream longer than buf would overrun it */
			arg[2] %= sizeof(buf) - 16;
		if (nr >= RIPC_NR_MQ_TIMEDSEND && nr <= RIPC_NR_MSGRCV_REGS && rnd() % 4) {
			/* A register call with its six arguments (else ioctl()'s three
			 * and whatever the other registers hold, below). */
			__u64 len = rnd() % 8 ? rnd() % sizeof(big) : rnd();
			/* Never no timeout: a file made blocking (setattr) would sleep. */
			__u64 ts = rnd() % 8 ? (uintptr_t)&past :
				   rnd() % 2 ? 8 : (uintptr_t)page_end - 4;
			__u64 id = RIPC_MSG_REGS_ID(rnd() % 4 ? rnd() % 4 : rnd(),
						    (rnd() % 8 ? 0 : rnd()) | IPC_NOWAIT);

			switch (nr) {
			case RIPC_NR_MQ_TIMEDSEND:
				syscall(SYS_ioctl, fd, cmd, fuzz_ptr(buf), len % sizeof(buf),
					rnd() % 4 ? rnd() % 32 : rnd(), ts);
				break;
			case RIPC_NR_MQ_TIMEDRECEIVE:
				syscall(SYS_ioctl, fd, cmd, fuzz_ptr(big), len,
					rnd() % 2 ? fuzz_ptr(buf) : 0, ts);
				break;
			case RIPC_NR_MSGSND_REGS:
				syscall(SYS_ioctl, fd, cmd, id, fuzz_ptr(buf), len % (sizeof(buf) - 8),
					rnd() % 8 ? 0 : rnd());
				break;
			default:
				syscall(SYS_ioctl, fd, cmd, id, fuzz_ptr(big), len % (sizeof(big) - 8),
					rnd() % 4 ? rnd() % 4 : rnd());
			}
		} else {
			long r = ioctl(fd, cmd, rnd() % 16 ? (void *)arg : (void *)(uintptr_t)fuzz_ptr(arg));

			/* A new descriptor (RIPC_MQ_OPEN_FD, RIPC_NOTIFY_FD_OPEN):
			 * used as one of the process's files, the one it replaces
			 * closed. */
			if (r > 2 && (nr == RIPC_NR_MQ_OPEN_FD || nr == RIPC_NR_NOTIFY_FD_OPEN) &&
			    magic == RIPC_IOC_MAGIC) {
				int j = rnd() % 8;

				if (fds[j] >= 0 && fds[j] != r)
					close(fds[j]);
				fds[j] = (int)r;
			}
		}
		if (rnd() % 128 == 0) {	/* remove what exists */
			struct ripc_msgctl m = { .size = sizeof(m), .msqid = (int)(rnd() % 4), .cmd = IPC_RMID };
			ioctl(fd, RIPC_MSGCTL, &m);
		}
	}
	return NULL;
}

/* One process: two threads (seeds seed and seed + 1000) on shared files. */
static void __attribute__((noreturn)) fuzz_child(unsigned seed, long calls)
{
	int fds[8];
	struct fuzzer f[2] = { { seed, calls / 2, fds }, { seed + 1000, calls - calls / 2, fds } };
	pthread_t t;

	for (int i = 0; i < 8; i++)
		fds[i] = open(RIPC_DEVICE, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (pthread_create(&t, NULL, fuzz_thread, &f[1]))
		_exit(2);
	fuzz_thread(&f[0]);
	if (pthread_join(t, NULL))
		_exit(2);
	_exit(0);
}

/* The harness's 30 s would stop a long run (make fuzz): the children's own
 * alarm (120 s + 10 ms per call) is the watchdog. */
FIXTURE(fz) {};
FIXTURE_SETUP(fz) {}
FIXTURE_TEARDOWN(fz) {}

TEST_F_TIMEOUT(fz, fuzz, 7200)
{
	const char *s = getenv("FUZZ_SEED"), *n = getenv("FUZZ_CALLS");
	unsigned seed = s ? (unsigned)atoi(s) : (unsigned)time(NULL);
	long calls = n ? atol(n) : 5000;
	pid_t pids[PROCS];
	char msg[8192];
	unsigned prio;
	int q;

	if (!have_device())
		SKIP(return, RIPC_DEVICE " does not exist");
	TH_LOG("seed %u, %d processes x 2 threads, %ld calls in all (FUZZ_SEED=%u to repeat)",
	       seed, PROCS, PROCS * calls, seed);
	page_ro = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page_ro);
	ASSERT_EQ(0, munmap(page_ro + 4096, 4096));
	/* The end of the readable page: page_end - k crosses into the hole. */
	page_end = page_ro + 4096;
	for (int i = 0; i < PROCS; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			alarm(120 + calls / 100);
			fuzz_child(seed + i, calls);
		}
	}
	for (int i = 0; i < PROCS; i++) {
		ASSERT_EQ(0, wait_child(pids[i])) TH_LOG("child %d (seed %u) died", i, seed + i);
	}
	/* The device still works. */
	ripc_mq_unlink("/fz_check");
	q = SYS(ripc_mq_open("/fz_check", O_RDWR | O_CREAT, 0600, NULL));
	SYS(ripc_mq_send(q, "ok", 2, 3));
	ASSERT_EQ(2, ripc_mq_receive(q, msg, sizeof(msg), &prio));
	ASSERT_EQ(0, memcmp(msg, "ok", 2));
	ASSERT_EQ(3u, prio);
	SYS(ripc_mq_unlink("/fz_check"));
	ripc_mq_unlink("/fz0");
	ripc_mq_unlink("/fz1");
	ripc_mq_unlink("/fz2");
	for (int id = 0; id < 8; id++)
		ripc_msgctl(id, IPC_RMID, NULL);
}

TEST_HARNESS_MAIN
