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
 * the others run.  A call that blocks all the same (a file a fuzzed setattr
 * made blocking, no timeout; a register call whose other registers hold
 * what they held, no IPC_NOWAIT) is interrupted by a signal each thread
 * gets every 100 ms (EINTR).  A watchdog kills a
 * stuck child.  The test passes if every child ran its calls without dying,
 * the device still works afterwards and each of the main commands (open,
 * send and receive of both kinds of queue, msgget) succeeded at least once
 * (a fuzzer whose every call is refused at the door would test nothing
 * behind it); the kernel log scan of vm-run catches any oops, KASAN or
 * lockdep report.
 *   FUZZ_SEED=n FUZZ_CALLS=n ioctl_fuzz_test
 */
#include "ripc_test.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
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

/* The calls that succeeded (r >= 0), per command number of the device's
 * magic: shared by every process and thread of the run. */
static unsigned long *succeeded;	/* [256] */

static void count(unsigned magic, unsigned nr, long r)
{
	if (r >= 0 && magic == RIPC_IOC_MAGIC && nr < 256)
		__atomic_add_fetch(&succeeded[nr], 1, __ATOMIC_RELAXED);
}

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

/* An argument struct: random words, or one of the main commands' structs. */
union fuzz_arg {
	__u64 q[64];
	__u32 w[128];
	struct ripc_mq_open open;
	struct ripc_mq_xfer xfer;
	struct ripc_msgget get;
	struct ripc_msgsnd snd;
	struct ripc_msgrcv rcv;
};

/* The keys of the System V queues well-formed calls make (removed at the end). */
#define FUZZ_KEY 0x5a0f0000
#define FUZZ_KEYS 4

/* The ids the process's msggets returned lately (its threads share them). */
static int fuzz_ids[4];

/* The 32-bit word of a command's struct that is its reserved field
 * (__pad, EINVAL unless 0 since ABI 6), or 0 if it has none. */
static unsigned pad_word(unsigned nr)
{
#define PAD_WORD(s) (offsetof(struct s, __pad) / 4)
	switch (nr) {
	case RIPC_NR_MQ_OPEN:
	case RIPC_NR_MQ_OPEN_FD:
		return PAD_WORD(ripc_mq_open);
	case RIPC_NR_MQ_UNLINK:
		return PAD_WORD(ripc_mq_unlink);
	case RIPC_NR_MQ_SETPERM:
		return PAD_WORD(ripc_mq_setperm);
	case RIPC_NR_MQ_GETSETATTR:
		return PAD_WORD(ripc_mq_getsetattr);
	case RIPC_NR_MQ_NOTIFY:
		return PAD_WORD(ripc_mq_notify);
	case RIPC_NR_MSGGET:
		return PAD_WORD(ripc_msgget);
	case RIPC_NR_MSGSND:
		return PAD_WORD(ripc_msgsnd);
	case RIPC_NR_MSGRCV:
		return PAD_WORD(ripc_msgrcv);
	case RIPC_NR_MSGCTL:
		return PAD_WORD(ripc_msgctl);
	case RIPC_NR_MSG_NEXT_ID:
		return PAD_WORD(ripc_msg_next_id);
	case RIPC_NR_MQ_SEND_BATCH:
	case RIPC_NR_MQ_RECEIVE_BATCH:
		return PAD_WORD(ripc_mq_batch);
	case RIPC_NR_MSGSND_BATCH:
	case RIPC_NR_MSGRCV_BATCH:
		return PAD_WORD(ripc_msg_batch);
	case RIPC_NR_NOTIFY_FD_BIND:
	case RIPC_NR_NOTIFY_FD_STATE:
		return PAD_WORD(ripc_notify_fd);
	case RIPC_NR_DUMP:
	case RIPC_NR_RESTORE:
		return PAD_WORD(ripc_dump);
	}
	return 0;
#undef PAD_WORD
}

/*
 * A well-formed call of a main command (open, send and receive of both
 * kinds, msgget): the struct's own size and valid fields, with a pointer or
 * a queue of the fuzzer's.  Random sizes and fields alone get next to
 * none of these past the argument checks (a size larger than the struct
 * must be zero past it: E2BIG), so nothing behind them would be fuzzed.
 * Other commands' arguments stay as they are.
 */
static void well_formed(unsigned nr, union fuzz_arg *a, __u64 *buf, __u64 *big,
		       const struct ripc_timespec *past)
{
	static const char *names[] = { "/fz0", "/fz1", "/fz2" };
	int id = (int)(rnd() % 4);

	if (rnd() % 4)
		id = __atomic_load_n(&fuzz_ids[rnd() % 4], __ATOMIC_RELAXED);
	/* (Only the struct is read: its size is its own.) */
	switch (nr) {
	case RIPC_NR_MQ_OPEN:
	case RIPC_NR_MQ_OPEN_FD:
		a->open = (struct ripc_mq_open){
			.size = sizeof(a->open), .oflag = O_RDWR | O_NONBLOCK | O_CREAT,
			.mode = 0600, .name = (uintptr_t)names[rnd() % ARRAY_SIZE(names)],
		};
		break;
	case RIPC_NR_MQ_SEND:
		a->xfer = (struct ripc_mq_xfer){
			.size = sizeof(a->xfer), .msg_prio = rnd() % 32, .msg_ptr = (uintptr_t)buf,
			.msg_len = rnd() % 64, .timeout = (uintptr_t)past,
		};
		break;
	case RIPC_NR_MQ_RECEIVE:
		a->xfer = (struct ripc_mq_xfer){
			.size = sizeof(a->xfer), .msg_ptr = (uintptr_t)big,
			.msg_len = 16384 * sizeof(*big), .timeout = (uintptr_t)past,
		};
		break;
	case RIPC_NR_MSGGET:
		a->get = (struct ripc_msgget){
			.size = sizeof(a->get), .key = FUZZ_KEY + rnd() % FUZZ_KEYS,
			.msgflg = IPC_CREAT | 0600,
		};
		break;
	case RIPC_NR_MSGSND:
		buf[0] = 1 + rnd() % 3;		/* the mtype */
		a->snd = (struct ripc_msgsnd){
			.size = sizeof(a->snd), .msqid = id, .msgflg = IPC_NOWAIT,
			.msgp = (uintptr_t)buf, .msgsz = rnd() % 64, .timeout = (uintptr_t)past,
		};
		break;
	case RIPC_NR_MSGRCV:
		a->rcv = (struct ripc_msgrcv){
			.size = sizeof(a->rcv), .msqid = id, .msgflg = IPC_NOWAIT,
			.msgp = (uintptr_t)big, .msgsz = 16384 * sizeof(*big) - 8,
			.msgtyp = rnd() % 2 ? 0 : rnd() % 4, .timeout = (uintptr_t)past,
		};
		break;
	}
}

static void interrupted(int sig)
{
	(void)sig;
}

/* SIGUSR1 to the calling thread every ms milliseconds (*t: its timer). */
static int interrupt_every(long ms, timer_t *t)
{
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGUSR1 };
	struct itimerspec its = { { 0, ms * 1000000 }, { 0, ms * 1000000 } };

	sev._sigev_un._tid = gettid();	/* sigev_notify_thread_id */
	if (timer_create(CLOCK_MONOTONIC, &sev, t))
		return -1;
	return timer_settime(*t, 0, &its, NULL);
}

static void *fuzz_thread(void *p)
{
	static const char *names[] = { "/fz0", "/fz1", "/fz2", "fz", "/", "//x" };
	const struct fuzzer *f = p;
	union fuzz_arg a;
	__u64 *arg = a.q, buf[1024], big[16384];
	struct ripc_timespec past = { 1, 0 };
	int *fds = f->fds;
	long calls = f->calls;
	timer_t timer;

	if (interrupt_every(100, &timer))
		_exit(3);
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
			__u64 name = rnd() % 8 ? (uintptr_t)names[rnd() % ARRAY_SIZE(names)] :
						 fuzz_ptr(buf);

			if (nr == RIPC_NR_MQ_UNLINK) {	/* struct ripc_mq_unlink: name at 8 */
				arg[1] = name;
			} else {	/* struct ripc_mq_open: mode at 8, name at 16 */
				a.w[1] = O_RDWR | O_NONBLOCK | (rnd() % 2 ? O_CREAT : 0);
				arg[1] = 0600;
				arg[2] = name;
				arg[3] = rnd() % 4 ? 0 : fuzz_ptr(buf);
			}
		}
		/* Reserved fields 0 most of the time (else EINVAL at once). */
		if (magic == RIPC_IOC_MAGIC && pad_word(nr) && rnd() % 8)
			a.w[pad_word(nr)] = 0;
		if (nr == RIPC_NR_MSGSND || nr == RIPC_NR_MSGRCV || nr == RIPC_NR_MSGSND_BATCH ||
		    nr == RIPC_NR_MSGRCV_BATCH)
			a.w[2] |= IPC_NOWAIT;
		if (rnd() % 2)
			arg[4] = (uintptr_t)&past;	/* a timeout field, often */
		if (nr == RIPC_NR_SET_LIMITS)
			continue;	/* would change the limits under the other tests */
		if (nr == RIPC_NR_DUMP)	/* a stream longer than buf would overrun it */
			arg[2] %= sizeof(buf) - 16;
		if (magic == RIPC_IOC_MAGIC && rnd() % 4 == 0)
			well_formed(nr, &a, buf, big, &past);
		if (nr >= RIPC_NR_MQ_TIMEDSEND && nr <= RIPC_NR_MSGRCV_REGS && rnd() % 4) {
			/* A register call with its six arguments (else ioctl()'s three
			 * and whatever the other registers hold, below). */
			__u64 len = rnd() % 8 ? rnd() % sizeof(big) : rnd();
			/* Never no timeout: a file made blocking (setattr) would sleep. */
			__u64 ts = rnd() % 8 ? (uintptr_t)&past :
				   rnd() % 2 ? 8 : (uintptr_t)page_end - 4;
			__u64 id = RIPC_MSG_REGS_ID(rnd() % 4 ? rnd() % 4 : rnd(),
						    (rnd() % 8 ? 0 : rnd()) | IPC_NOWAIT);
			long r;

			switch (nr) {
			case RIPC_NR_MQ_TIMEDSEND:
				r = syscall(SYS_ioctl, fd, cmd, fuzz_ptr(buf), len % sizeof(buf),
					    rnd() % 4 ? rnd() % 32 : rnd(), ts);
				break;
			case RIPC_NR_MQ_TIMEDRECEIVE:
				r = syscall(SYS_ioctl, fd, cmd, fuzz_ptr(big), len,
					    rnd() % 2 ? fuzz_ptr(buf) : 0, ts);
				break;
			case RIPC_NR_MSGSND_REGS:
				r = syscall(SYS_ioctl, fd, cmd, id, fuzz_ptr(buf),
					    len % (sizeof(buf) - 8), rnd() % 8 ? 0 : rnd());
				break;
			default:
				r = syscall(SYS_ioctl, fd, cmd, id, fuzz_ptr(big),
					    len % (sizeof(big) - 8), rnd() % 4 ? rnd() % 4 : rnd());
			}
			count(magic, nr, r);
		} else {
			long r = ioctl(fd, cmd, rnd() % 16 ? (void *)arg : (void *)(uintptr_t)fuzz_ptr(arg));

			count(magic, nr, r);
			if (r >= 0 && nr == RIPC_NR_MSGGET && magic == RIPC_IOC_MAGIC)
				__atomic_store_n(&fuzz_ids[rnd() % 4], (int)r, __ATOMIC_RELAXED);

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
	timer_delete(timer);
	return NULL;
}

/* One process: two threads (seeds seed and seed + 1000) on shared files. */
static void __attribute__((noreturn)) fuzz_child(unsigned seed, long calls)
{
	struct sigaction sa = { .sa_handler = interrupted };	/* no SA_RESTART */
	int fds[8];
	struct fuzzer f[2] = { { seed, calls / 2, fds }, { seed + 1000, calls - calls / 2, fds } };
	pthread_t t;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		_exit(3);
	/* The POSIX queues it makes (maxmsg 10 of 8 KiB each by default) would
	 * reach RLIMIT_MSGQUEUE after a few, and every open after them would
	 * be EMFILE; the names it makes (three a namespace) bound them. */
	setrlimit(RLIMIT_MSGQUEUE, &(struct rlimit){ RLIM_INFINITY, RLIM_INFINITY });
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
	static const struct {
		unsigned nr;
		const char *name;
	} main_cmds[] = {
		{ RIPC_NR_MQ_OPEN, "RIPC_MQ_OPEN" }, { RIPC_NR_MQ_SEND, "RIPC_MQ_SEND" },
		{ RIPC_NR_MQ_RECEIVE, "RIPC_MQ_RECEIVE" }, { RIPC_NR_MSGGET, "RIPC_MSGGET" },
		{ RIPC_NR_MSGSND, "RIPC_MSGSND" }, { RIPC_NR_MSGRCV, "RIPC_MSGRCV" },
	};
	pid_t pids[PROCS];
	char msg[8192], *guard;
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
	/*
	 * The counts between two pages no one may touch: a thread's stack may
	 * be mapped right below them, and a fuzzed receive into its buffer may
	 * write past the stack's end (a long message, a random length); it
	 * gets EFAULT there, as it did at page_ro before the counts came.
	 */
	guard = mmap(NULL, 3 * PAGE, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, guard);
	succeeded = (unsigned long *)(guard + PAGE);
	ASSERT_EQ(0, mprotect(succeeded, PAGE, PROT_READ | PROT_WRITE));
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
	for (unsigned i = 0; i < ARRAY_SIZE(main_cmds); i++)
		TH_LOG("%s succeeded %lu times", main_cmds[i].name, succeeded[main_cmds[i].nr]);
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
	for (int k = 0; k < FUZZ_KEYS; k++)
		if ((q = ripc_msgget(FUZZ_KEY + k, 0)) >= 0)
			ripc_msgctl(q, IPC_RMID, NULL);
	/* The calls got past the argument checks into the queues (in a run of
	 * 2 000 calls or more: a few dozen successes of each expected). */
	for (unsigned i = 0; calls >= 2000 && i < ARRAY_SIZE(main_cmds); i++) {
		ASSERT_LT(0UL, succeeded[main_cmds[i].nr])
			TH_LOG("no %s succeeded (seed %u)", main_cmds[i].name, seed);
	}
	munmap(guard, 3 * PAGE);
}

TEST_HARNESS_MAIN
