/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the rust_ipc selftests (kselftest_harness.h based).
 *
 * - SYS(call) asserts that a call did not return -1 and gives its value;
 *   ASSERT_ERRNO(err, call) asserts that it returned -1 with errno err.
 * - Children are forked with fork_child() (they die by SIGALRM after
 *   CHILD_TIMEOUT seconds), check with CHILD_CHECK() (which _exit(1)s with a
 *   log line: a child never uses ASSERT_*) and end with _exit(0);
 *   wait_child() returns the exit code (128 + signal if killed).
 * - wait_blocked(pid) waits until a process sleeps ('S' in /proc/PID/stat),
 *   so a test knows a peer is blocked in a call before it acts.
 * - become_uid(id) makes a (forked) process uid/gid id without groups,
 *   drop_privs() uid/gid 65534.
 * - fill()/check() write and verify a byte pattern depending on a seed.
 * - read_text() reads a small file (/proc, cgroup), device_ioctl_fd() opens
 *   a device file and runs one ioctl on it (bind_new(): RIPC_MSG_BIND).
 * - ripcctl_path() finds the ripcctl tool, run_output() runs a shell command
 *   and gives its output and exit status.
 * - STAT_WITH(), ASSERT_QUEUE_WITH() and SET_QBYTES_WITH() check and set a
 *   System V queue through the msgctl the test calls; ASSERT_MSGINFO_LIMITS()
 *   checks the limits of IPC_INFO and MSG_INFO.
 */
#ifndef RIPC_TEST_H
#define RIPC_TEST_H

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "ripc.h"

#define CHILD_TIMEOUT 5
#define NOBODY 65534
#define PAGE 4096

#define SYS(call) ({ \
	long __r = (long)(call); \
	int __e = errno; \
	ASSERT_NE(-1, __r) TH_LOG("%s: %s", #call, strerrorname_np(__e)); \
	__r; \
})

#define ASSERT_ERRNO(err, call) do { \
	long __r = (long)(call); \
	int __e = errno; \
	ASSERT_EQ(-1, __r) TH_LOG("%s succeeded, expected %s", #call, strerrorname_np(err)); \
	ASSERT_EQ(err, __e) TH_LOG("%s: %s, expected %s", #call, \
				   strerrorname_np(__e), strerrorname_np(err)); \
} while (0)

#define REQUIRE_ROOT() do { \
	if (geteuid() != 0) \
		SKIP(return, "needs root"); \
} while (0)

#define REQUIRE_CAP(cap) do { \
	if (!have_cap(cap)) \
		SKIP(return, "needs " #cap); \
} while (0)

#define CHILD_CHECK(cond) do { \
	if (!(cond)) \
		__child_fail(__FILE__, __LINE__, #cond); \
} while (0)

static inline void __attribute__((noreturn))
__child_fail(const char *file, int line, const char *what)
{
	int e = errno;

	fprintf(stderr, "# %s:%d: child %d: check failed: %s (errno %s)\n",
		file, line, getpid(), what, strerrorname_np(e) ?: "0");
	_exit(1);
}

static inline pid_t fork_child(void)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		signal(SIGALRM, SIG_DFL);
		alarm(CHILD_TIMEOUT);
	}
	return pid;
}

static inline int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * Reads at most size - 1 bytes of file path into buf and ends them with a
 * NUL: their number (0 if the read gave nothing or failed), or -1 if the
 * file cannot be opened.
 */
static inline ssize_t read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = 0;
	return n;
}

/* 0 once pid sleeps interruptibly; -1 after ~3 s (or without /proc). */
static inline int wait_blocked(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	for (i = 0; i < 3000; i++) {
		n = read_text(path, buf, sizeof(buf));
		if (n < 0) {
			usleep(100000);	/* no /proc: hope 100 ms is enough */
			return -1;
		}
		if (n > 0) {
			p = strrchr(buf, ')');
			if (p && p[1] == ' ' && p[2] == 'S')
				return 0;
		}
		usleep(1000);
	}
	return -1;
}

/* 0 once the state letter of /proc/.../stat at path is state; -1 after
 * ~3 s. */
static inline int wait_stat_state(const char *path, char state)
{
	char buf[512], *p;

	for (int i = 0; i < 3000; i++) {
		ssize_t n = read_text(path, buf, sizeof(buf));

		p = n > 0 ? strrchr(buf, ')') : NULL;
		if (p && p[1] == ' ' && p[2] == state)
			return 0;
		usleep(1000);
	}
	return -1;
}

/* In a child: once the parent sleeps, stops it (SIGSTOP), waits until it
 * is stopped, continues it (SIGCONT: no handler runs), then waits until it
 * sleeps again; 0, or not 0 if it was not seen asleep or stopped. */
static inline int stop_and_continue_parent(void)
{
	int bad = wait_blocked(getppid());
	char path[64];

	kill(getppid(), SIGSTOP);
	snprintf(path, sizeof(path), "/proc/%d/stat", getppid());
	bad |= wait_stat_state(path, 'T');
	kill(getppid(), SIGCONT);
	return bad | wait_blocked(getppid());
}

/* Of a cgroup directory cg: the number in its file, or the one after "key "
 * in it; LONG_MAX for "max"; -1. */
static inline long cg_read(const char *cg, const char *file, const char *key)
{
	char path[256], buf[4096], *p = buf;

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	if (read_text(path, buf, sizeof(buf)) <= 0)
		return -1;
	if (key) {
		size_t k = strlen(key);

		while (strncmp(p, key, k) || p[k] != ' ') {
			p = strchr(p, '\n');
			if (!p)
				return -1;
			p++;
		}
		p += k + 1;
	}
	return strncmp(p, "max", 3) == 0 ? LONG_MAX : strtol(p, NULL, 10);
}

/* Whether the effective set has cap (a CAP_* number). */
static inline int have_cap(int cap)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return 0;
	return !!(d[cap / 32].effective & (1u << (cap % 32)));
}

/* Makes the caller uid and gid id (of its user namespace), without
 * supplementary groups and so without capabilities. */
static inline int become_uid(uid_t id)
{
	if (setgroups(0, NULL) || setresgid(id, id, id) || setresuid(id, id, id))
		return -1;
	return 0;
}

static inline int drop_privs(void)
{
	return become_uid(NOBODY);
}

static inline unsigned char pattern(size_t i, unsigned int seed)
{
	return (unsigned char)(seed * 31 + i * 7 + (i >> 8) + (i >> 16));
}

static inline void fill(void *buf, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		((unsigned char *)buf)[i] = pattern(i, seed);
}

/* 1 if buf holds the pattern of seed, else 0. */
static inline int check(const void *buf, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		if (((const unsigned char *)buf)[i] != pattern(i, seed))
			return 0;
	return 1;
}

/* The byte a buffer is filled with before a receive, to see what it writes. */
#define POISON 0xa5

/* The first byte of buf[from..len) that is not POISON (len if none). */
static inline size_t first_written(const void *buf, size_t from, size_t len)
{
	while (from < len && ((const unsigned char *)buf)[from] == POISON)
		from++;
	return from;
}

/* Signal handler that counts in memory shared with forked children. */
static volatile int *sig_hits;

static inline void count_signal(int sig)
{
	(void)sig;
	__atomic_add_fetch(sig_hits, 1, __ATOMIC_SEQ_CST);
}

/* Installs count_signal for sig with sa_flags (0 or SA_RESTART). */
static inline int set_handler(int sig, int flags)
{
	struct sigaction sa = { .sa_handler = count_signal, .sa_flags = flags };

	if (!sig_hits) {
		sig_hits = mmap(NULL, sizeof(*sig_hits), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (sig_hits == MAP_FAILED)
			return -1;
	}
	*sig_hits = 0;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

/* Forks a child that sends sig to this process once it is blocked. */
static inline pid_t signal_when_blocked(int sig)
{
	pid_t pid = fork_child();

	if (pid == 0) {
		int blocked = wait_blocked(getppid());

		kill(getppid(), sig);
		_exit(blocked ? 1 : 0);
	}
	return pid;
}

static inline int block_signal(int sig)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	return sigprocmask(SIG_BLOCK, &set, NULL);
}

/* sigtimedwait for one blocked signal: its number, or -1 (EAGAIN on timeout). */
static inline int take_signal(int sig, siginfo_t *si, long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, sig);
	return sigtimedwait(&set, si, &ts);
}

/* CLOCK_REALTIME now + ms (negative: in the past). */
static inline struct timespec deadline_ms(long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	} else if (ts.tv_nsec < 0) {
		ts.tv_sec--;
		ts.tv_nsec += 1000000000;
	}
	return ts;
}

static inline long long ts_ns(struct timespec ts)
{
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Pins the calling thread to one CPU. */
static inline int pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/*
 * A SCHED_FIFO thread on CPU 0 that wakes every millisecond and keeps how
 * late its latest wake-up was: how long something on CPU 0 kept
 * preemption off (waker_start: 0, or -1 if it cannot be SCHED_FIFO there;
 * waker_stop: the most late it was, in ns, since waker_start or the last
 * waker_take).
 */
struct waker {
	pthread_t t;
	int stop, running, failed;
	long long max_ns;
};

static inline void *waker_main(void *arg)
{
	struct sched_param sp = { .sched_priority = 50 };
	struct waker *w = arg;
	struct timespec next, now;

	if (pin_cpu(0) || sched_setscheduler(0, SCHED_FIFO, &sp)) {
		w->failed = 1;
		__atomic_store_n(&w->running, 1, __ATOMIC_SEQ_CST);
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &next);
	__atomic_store_n(&w->running, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&w->stop, __ATOMIC_SEQ_CST)) {
		long long late;

		next.tv_nsec += 1000000;
		if (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		late = (now.tv_sec - next.tv_sec) * 1000000000LL + now.tv_nsec - next.tv_nsec;
		if (late > __atomic_load_n(&w->max_ns, __ATOMIC_RELAXED))
			__atomic_store_n(&w->max_ns, late, __ATOMIC_RELAXED);
	}
	return NULL;
}

static inline int waker_start(struct waker *w)
{
	*w = (struct waker){ 0 };
	if (pthread_create(&w->t, NULL, waker_main, w))
		return -1;
	while (!__atomic_load_n(&w->running, __ATOMIC_SEQ_CST))
		usleep(1000);
	if (w->failed) {
		pthread_join(w->t, NULL);
		return -1;
	}
	/* Settled: its first wake-ups are not counted, nor the seconds in
	 * which the system itself keeps CPU 0 from it (measured in the QEMU
	 * guest's first seconds after boot: wake-ups about 50 ms late with
	 * nothing else running, the cause not found); it waits for a quiet
	 * second, at most 15. */
	usleep(20000);
	for (int i = 0; i < 15; i++) {
		__atomic_store_n(&w->max_ns, 0, __ATOMIC_RELAXED);
		usleep(1000000);
		if (__atomic_load_n(&w->max_ns, __ATOMIC_RELAXED) < 5000000)
			break;
	}
	__atomic_store_n(&w->max_ns, 0, __ATOMIC_RELAXED);
	return 0;
}

/* The most the waker was late since waker_start or the last waker_take. */
static inline long long waker_take(struct waker *w)
{
	return __atomic_exchange_n(&w->max_ns, 0, __ATOMIC_RELAXED);
}

static inline long long waker_stop(struct waker *w)
{
	__atomic_store_n(&w->stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(w->t, NULL);
	return w->max_ns;
}

static inline int have_device(void)
{
	return access(RIPC_DEVICE, F_OK) == 0;
}

/* A new descriptor of the device on which ioctl(cmd, arg) succeeded, or -1
 * with the errno of the open or of the ioctl. */
static inline int device_ioctl_fd(unsigned long cmd, void *arg)
{
	int fd = open(RIPC_DEVICE, O_RDWR | O_CLOEXEC), e;

	if (fd < 0)
		return -1;
	if (ioctl(fd, cmd, arg)) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* A new descriptor of the device bound to System V queue msqid
 * (RIPC_MSG_BIND), for poll; or -1 with errno. */
static inline int bind_new(int msqid)
{
	struct ripc_msgbind b = { .size = sizeof(b), .msqid = msqid };

	return device_ioctl_fd(RIPC_MSG_BIND, &b);
}

/*
 * System V queue checks through ctl, the msgctl a test calls (msgctl,
 * ripc_msgctl or a backend's): each test file defines its STAT(id),
 * ASSERT_QUEUE(id, qnum, cbytes) and SET_QBYTES(id, n) on these.
 *
 * STAT_WITH gives the IPC_STAT of id (asserting that it worked), into a
 * msqid_ds pre-filled with 0xa5 so that a field left unwritten shows.
 */
#define STAT_WITH(ctl, id) ({ \
	struct msqid_ds __d; \
	memset(&__d, 0xa5, sizeof(__d)); \
	SYS(ctl(id, IPC_STAT, &__d)); \
	__d; \
})

/* Asserts msg_qnum and msg_cbytes of id. */
#define ASSERT_QUEUE_WITH(ctl, id, qnum, cbytes) do { \
	struct msqid_ds __s = STAT_WITH(ctl, id); \
	ASSERT_EQ((msgqnum_t)(qnum), __s.msg_qnum); \
	ASSERT_EQ((unsigned long)(cbytes), __s.__msg_cbytes); \
} while (0)

/* Asserts the limits that IPC_INFO and MSG_INFO give in struct msginfo mi:
 * msgmax, msgmnb and msgmni as set, msgssz and msgseg the kernel's constants. */
#define ASSERT_MSGINFO_LIMITS(mi, max, mnb, mni) do { \
	ASSERT_EQ(max, (mi).msgmax); \
	ASSERT_EQ(mnb, (mi).msgmnb); \
	ASSERT_EQ(mni, (mi).msgmni); \
	ASSERT_EQ(16, (mi).msgssz); \
	ASSERT_EQ(0xffff, (mi).msgseg); \
} while (0)

/* Sets (as root) msg_qbytes of id to n. */
#define SET_QBYTES_WITH(ctl, id, n) do { \
	struct msqid_ds __s = STAT_WITH(ctl, id); \
	__s.msg_qbytes = (n); \
	SYS(ctl(id, IPC_SET, &__s)); \
} while (0)


/* The state letter of process pid ('S', 'R', ... from /proc/PID/stat), or 0. */
static inline char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_text(path, buf, sizeof(buf)) <= 0)
		return 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* Writes text to path (a /proc file); 0 or -1. */
static inline int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	return close(fd) == 0 && ok ? 0 : -1;
}

/* Writes val to the file cg/file of a cgroup directory cg. */
static inline int cg_write(const char *cg, const char *file, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return write_file(path, val);
}

/* Reads the number in a /proc/sys file and, if val > 0, writes val there;
 * returns the value it had, or -1. */
static inline long sysctl_rw(const char *path, long val)
{
	long old = -1;
	FILE *f = fopen(path, "r+");

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &old) != 1 || (val > 0 && (rewind(f), fprintf(f, "%ld\n", val) < 0)))
		old = -1;
	if (fclose(f))
		old = -1;
	return old;
}

/* The native msg_next_id of the caller's namespace: *old gets it, then it
 * is set to *value if given (as libripc's ripc_msg_next_id()). */
static inline int native_msg_next_id(int *old, const int *value)
{
	FILE *f = fopen("/proc/sys/kernel/msg_next_id", value ? "r+" : "r");
	int ok;

	if (!f)
		return -1;
	ok = fscanf(f, "%d", old) == 1;
	if (ok && value)
		ok = (rewind(f), fprintf(f, "%d\n", *value) > 0);
	if (fclose(f))
		ok = 0;
	return ok ? 0 : -1;
}

#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif

static inline long count_entries(const char *dir)
{
	struct dirent *d;
	long n = 0;
	DIR *dp = opendir(dir);

	if (!dp)
		return -1;
	while ((d = readdir(dp)))
		if (strcmp(d->d_name, ".") && strcmp(d->d_name, ".."))
			n++;
	closedir(dp);
	return n;
}

/* The native queues of this IPC namespace: the entries of its mqueue fs
 * (mounted for a moment if need be), or -1. */
static inline long native_nqueues(void)
{
	char dir[] = "/tmp/ripc_mqueue_XXXXXX";
	struct statfs st;
	long n;

	if (!statfs("/dev/mqueue", &st) && st.f_type == MQUEUE_MAGIC)
		return count_entries("/dev/mqueue");
	if (!mkdtemp(dir))
		return -1;
	n = mount("mqueue", dir, "mqueue", 0, NULL) ? -1 : count_entries(dir);
	umount2(dir, MNT_DETACH);
	rmdir(dir);
	return n;
}

/*
 * 1 on a KASAN kernel: freed objects wait in KASAN's quarantine (counted as
 * slab) and leave it in batches, megabytes at a time, so a slab delta of a
 * few hundred KiB means nothing there (it can even be negative).
 */
static inline int kasan_kernel(void)
{
	char line[256];
	int found = 0;
	FILE *f = fopen("/proc/kallsyms", "r");

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, " __asan_load8\n") != NULL;
	if (f)
		fclose(f);
	return found;
}

/* The ripcctl binary (/bin/ripcctl in the VM, tools/out/ripcctl in a tree), or NULL. */
static inline const char *ripcctl_path(void)
{
	static const char *const where[] = { "/bin/ripcctl", "tools/out/ripcctl",
					     "../tools/out/ripcctl" };

	for (unsigned int i = 0; i < ARRAY_SIZE(where); i++)
		if (access(where[i], X_OK) == 0)
			return where[i];
	return NULL;
}

/*
 * Runs the shell command cmd with its standard output in out (at most
 * size - 1 bytes, NUL-terminated): its exit status (128 + the signal if
 * killed), or -1 if it could not be run.
 */
static inline int run_output(const char *cmd, char *out, size_t size)
{
	FILE *f;
	size_t n;
	int st;

	fflush(stdout);
	fflush(stderr);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(out, 1, size - 1, f);
	out[n] = 0;
	st = pclose(f);
	if (st < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* failslab's knobs (debugfs; Documentation/fault-injection): read_knob()
 * reads one without its newline, write_knob() writes one; -1 on failure. */
#define FAILSLAB "/sys/kernel/debug/failslab/"

static inline int knob_open(const char *name, int flags)
{
	char path[128];

	snprintf(path, sizeof(path), FAILSLAB "%s", name);
	return open(path, flags | O_CLOEXEC);
}

static inline int read_knob(const char *name, char *val, size_t len)
{
	int fd = knob_open(name, O_RDONLY), n;

	if (fd < 0)
		return -1;
	n = read(fd, val, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	val[n] = 0;
	val[strcspn(val, "\n")] = 0;
	return 0;
}

static inline int write_knob(const char *name, const char *val)
{
	int fd = knob_open(name, O_WRONLY), n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (int)strlen(val) ? 0 : -1;
}

/* Only cap (none if -1) and, if resource, CAP_SYS_RESOURCE in effect (the
 * permitted set stays). */
static inline int caps_in_effect(int cap, int resource)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[0].effective = d[1].effective = 0;
	if (resource)
		d[CAP_SYS_RESOURCE / 32].effective |= 1u << (CAP_SYS_RESOURCE % 32);
	if (cap >= 0)
		d[cap / 32].effective |= 1u << (cap % 32);
	return syscall(SYS_capset, &h, d);
}

/* A read-only view of a page whose read-write view is *rw (both of one
 * memfd): a struct the kernel can read but not write back; or MAP_FAILED. */
static inline void *read_only_alias(void **rw)
{
	int fd = memfd_create("ripc_stats", MFD_CLOEXEC);
	void *ro;

	if (fd < 0 || ftruncate(fd, PAGE))
		return MAP_FAILED;
	*rw = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ro = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	return *rw == MAP_FAILED ? MAP_FAILED : ro;
}

/* A userfaultfd that handles kernel faults too (not UFFD_USER_MODE_ONLY,
 * allowed for a while through vm.unprivileged_userfaultfd if need be),
 * non-blocking, its API handshake made; or -1 with errno. */
static inline int uffd_open(void)
{
	static const char path[] = "/proc/sys/vm/unprivileged_userfaultfd";
	struct uffdio_api api = { .api = UFFD_API };
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK), e;
	long old;

	if (fd < 0 && errno == EPERM) {
		old = sysctl_rw(path, 1);
		fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
		e = errno;
		if (old == 0) {
			FILE *f = fopen(path, "w");

			if (f) {
				fputs("0\n", f);
				fclose(f);
			}
		}
		errno = e;
	}
	if (fd < 0)
		return -1;
	if (ioctl(fd, UFFDIO_API, &api)) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/*
 * In a child: the native mq_timedsend and mq_timedreceive fail with err
 * from now on (a seccomp filter: err ENOSYS is a kernel without
 * CONFIG_POSIX_MQUEUE); the child exits KSFT_SKIP if the kernel has no
 * CONFIG_SECCOMP_FILTER.
 */
#define CHILD_DENY_NATIVE_MQ_CALLS(err) do { \
	struct sock_filter __f[] = { \
		/* Another architecture's numbers (x32, i386): not these. */ \
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)), \
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0), \
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW), \
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)), \
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, __X32_SYSCALL_BIT, 2, 0), \
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mq_timedsend, 2, 0), \
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mq_timedreceive, 1, 0), \
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW), \
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err)), \
	}; \
	struct sock_fprog __prog = { .len = ARRAY_SIZE(__f), .filter = __f }; \
	CHILD_CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0); \
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &__prog)) { \
		CHILD_CHECK(errno == EINVAL); \
		_exit(KSFT_SKIP);	/* no CONFIG_SECCOMP_FILTER */ \
	} \
} while (0)

#endif /* RIPC_TEST_H */
