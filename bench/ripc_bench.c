// SPDX-License-Identifier: GPL-2.0
/*
 * ripc_bench: rust_ipc's queues against the native ones (and pipes and unix
 * datagram sockets), all in one run.
 *
 *   ripc_bench [--quick] [--runs R] [--json FILE|-] [--only C1,C2,...] [--insn]
 *              [--tests T1,T2,...] [--sizes S1,...] [--n N1,...] [--target SECONDS]
 *              [--verbose]
 *              [--preload PATH] [--maps]
 *
 * Contenders: ripc-mq, native-mq, ripc-sysv, native-sysv, pipe, unix-dgram,
 * ripc-mq-batch, ripc-sysv-batch (RIPC_*_BATCH with 32 items a call; stream
 * test only), dropin-mq, dropin-sysv (pingpong and stream only: the drop-in
 * with an unmodified program, see below).  Tests: pingpong, stream, contention (N senders and N
 * receivers on one queue: "contention-shared"; N sender/receiver pairs on N
 * queues: "contention-pairs"), memory (kernel memory per queued message).
 *
 * Every channel holds 64 messages: POSIX queues have mq_maxmsg 64, System V
 * queues msg_qbytes = 64 * size, pipes F_SETPIPE_SZ >= 64 * size, the
 * socketpair SO_SNDBUF for 64 datagrams and net.unix.max_dgram_qlen = 64.
 * The message count of a measurement is calibrated once per cell (test, N,
 * size) on a native contender so that it takes about --target seconds; the
 * same count is then used for every contender.  Each figure is measured R
 * times: the outer loop is the repetition, the inner one goes over the
 * contenders (in an order rotated each repetition).
 *
 * --insn: under QEMU with bench/out/insn_plugin.so (scripts/bench --insn),
 * each pingpong and stream measurement (and contention's, if --tests names
 * it: M is then all N pairs' messages) is bracketed by the plugin's marker
 * instructions (mark()), and a line
 *	RIPC-INSN-CELL test n size contender M
 * follows it on stdout: the plugin's log then holds the guest instructions
 * (all vCPUs, kernel and user) each measurement took, which
 * bench/insn_report.py turns into instructions per message (per round trip
 * for pingpong) and the ratio to native: figures the host's load does not
 * move.  Elsewhere the markers are no-ops.
 *
 * The drop-in contenders are this very program's native-mq and native-sysv
 * (glibc's mq_send, msgsnd...) run under LD_PRELOAD=libripc_preload.so
 * (--preload, default $RIPC_PRELOAD or /selftests/libripc_preload.so), so
 * ripc_bench is linked dynamically.  Each of their measurements re-executes
 * ripc_bench (/proc/self/exe --dropin-child ...) with LD_PRELOAD set; that
 * process checks that mq_send and msgsnd are the preload's, measures as the
 * native contender does and hands its figures back on a pipe.  So the
 * drop-in takes its turn among the other contenders of a cell, with the same
 * message count, in the same boot.
 *
 * --maps (with --insn): each process that measures prints its executable
 * mappings ("RIPC-MAPS" lines) before its first measurement, so that
 * bench/insn_report.py --profile can name the user-space functions
 * (scripts/bench --profile turns address-space randomisation off for that).
 *
 * Must run as root (sysctls, RLIMIT_MSGQUEUE, CAP_SYS_RESOURCE for the
 * queue sizes); every sysctl and rust_ipc limit it changes is restored at
 * exit, and every queue it creates is removed, also on failure.
 * Exit status: 0 on success, 1 on a failure, 2 on a usage error or when a
 * selected contender cannot run (e.g. /dev/rust_ipc missing).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <mqueue.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define BENCH_PROG "ripc_bench"
#define BENCH_WATCHDOG "parent watchdog"
#define BENCH_NOTES 16
#define BENCH_NOTE_LEN 240
#include "bench_common.h"

#define MAXPROC 16
#define BATCH_K 32
#define DEPTH 64
#define WARM 32
#define MAXFIG 1024
#define MAXCELL 128
#define MAXRES 64
#define MEM_MSGS 60000
#define MEM_MSGS_BIG 1000 /* for 65536-byte messages */
#define BIG_SIZE 65536
/* kernel.msgmnb: the largest msg_qbytes asked for, so IPC_SET needs no CAP_SYS_RESOURCE. */
#define MSGMNB (MEM_MSGS_BIG * BIG_SIZE)

/* ---- contenders --------------------------------------------------------- */

enum fam { F_MQ, F_SYSV, F_PIPE, F_DGRAM };

struct contender {
	const char *name;
	int fam;
	int ripc;
	int batch;
	int native; /* index of the contender its ratio is taken against */
	int dropin; /* the contender it runs under LD_PRELOAD (a native one), or -1 */
	int lib;    /* for a drop-in: the libripc contender it is compared with */
	int selected;
	const char *skip; /* why it is skipped, or NULL */
};

enum { C_RMQ, C_NMQ, C_RSYSV, C_NSYSV, C_PIPE, C_DGRAM, C_RMQB, C_RSYSVB, C_DMQ, C_DSYSV,
       NCONT };

/* A drop-in contender counts as rust_ipc's (it needs the module and its limits). */
static struct contender C[NCONT] = {
	[C_RMQ] = { "ripc-mq", F_MQ, 1, 0, C_NMQ, -1, -1, 0, NULL },
	[C_NMQ] = { "native-mq", F_MQ, 0, 0, C_NMQ, -1, -1, 0, NULL },
	[C_RSYSV] = { "ripc-sysv", F_SYSV, 1, 0, C_NSYSV, -1, -1, 0, NULL },
	[C_NSYSV] = { "native-sysv", F_SYSV, 0, 0, C_NSYSV, -1, -1, 0, NULL },
	[C_PIPE] = { "pipe", F_PIPE, 0, 0, C_NMQ, -1, -1, 0, NULL },
	[C_DGRAM] = { "unix-dgram", F_DGRAM, 0, 0, C_NMQ, -1, -1, 0, NULL },
	[C_RMQB] = { "ripc-mq-batch", F_MQ, 1, 1, C_NMQ, -1, -1, 0, NULL },
	[C_RSYSVB] = { "ripc-sysv-batch", F_SYSV, 1, 1, C_NSYSV, -1, -1, 0, NULL },
	[C_DMQ] = { "dropin-mq", F_MQ, 1, 0, C_NMQ, C_NMQ, C_RMQ, 0, NULL },
	[C_DSYSV] = { "dropin-sysv", F_SYSV, 1, 0, C_NSYSV, C_NSYSV, C_RSYSV, 0, NULL },
};

/* Calibration preference: natives first. */
static const int ref_order[NCONT] = { C_NMQ, C_NSYSV, C_PIPE, C_DGRAM,
				      C_RMQ, C_RSYSV, C_RMQB, C_RSYSVB, C_DMQ, C_DSYSV };

/* ---- tests and units ---------------------------------------------------- */

enum test { T_PINGPONG, T_STREAM, T_SHARED, T_PAIRS, T_MEMORY, NTEST };
static const char *const test_name[NTEST] = {
	"pingpong", "stream", "contention-shared", "contention-pairs", "memory"
};
static const char *const test_desc[NTEST] = {
	"one message each way per round trip, two queues",
	"one sender, one receiver, M messages",
	"N senders and N receivers on ONE queue (pipe/socketpair: one shared)",
	"N independent sender/receiver pairs on N queues",
	"kernel memory per queued message (60000 messages up to 512 bytes, 10000 of 4096, 1000 of 65536)",
};

enum unit { U_RTS, U_RTT_MED, U_RTT_P99, U_MSGS, U_MBS, U_BPM, U_SLAB, NUNIT };
static const char *const unit_name[NUNIT] = {
	"rt/s", "rtt-median-us", "rtt-p99-us", "msg/s", "MB/s", "B/msg", "slab-B/msg"
};
static const char *const unit_desc[NUNIT] = {
	"round trips/s", "median round-trip time, us", "p99 round-trip time, us",
	"messages/s", "MB/s (1e6 bytes)", "bytes of kernel memory per queued message (MemFree delta)",
	"bytes of slab objects per queued message (/proc/slabinfo active objects)"
};
static const int unit_lower_better[NUNIT] = { 0, 1, 1, 0, 0, 1, 1 };

static int test_has_contender(int t, int ci)
{
	if (C[ci].batch)
		return t == T_STREAM;
	if (C[ci].dropin >= 0)
		return t == T_STREAM || t == T_PINGPONG;
	if (t == T_MEMORY)
		return C[ci].fam == F_MQ || C[ci].fam == F_SYSV;
	return 1;
}

/* ---- options and global state ------------------------------------------ */

static int opt_insn, opt_maps, opt_fifo_pingpong, opt_threaded, opt_memcg,
	opt_tests = (1 << NTEST) - 1, tests_given;
static const char *opt_preload;
static double opt_target = 0.2;
static int watchdog_s = 60;

static size_t sizes[8];
static int nsizes;
static int ns_list[4];
static int nns;

struct shm {
	long remaining;
	long receiving; /* contention: receivers not done yet (the last marks the end) */
	uint64_t t_end[MAXPROC];
	long count[MAXPROC];
	double v[4];
};
static struct shm *shm;

/* ---- the queues made, removed at exit ----------------------------------- */

enum { R_NONE, R_NMQ, R_RMQ, R_NSYSV, R_RSYSV };
struct res {
	int kind;
	int id;
	char name[48];
};
static struct res resv[MAXRES];

static int res_add(int kind, int id, const char *name)
{
	for (int i = 0; i < MAXRES; i++) {
		if (resv[i].kind == R_NONE) {
			resv[i].kind = kind;
			resv[i].id = id;
			snprintf(resv[i].name, sizeof(resv[i].name), "%s", name ? name : "");
			return i;
		}
	}
	return -1;
}

static int res_remove(int slot)
{
	struct res *r = &resv[slot];
	int rc = 0;

	switch (r->kind) {
	case R_NMQ:
		rc = mq_unlink(r->name);
		break;
	case R_RMQ:
		rc = ripc_mq_unlink(r->name);
		break;
	case R_NSYSV:
		rc = msgctl(r->id, IPC_RMID, NULL);
		break;
	case R_RSYSV:
		rc = ripc_msgctl(r->id, IPC_RMID, NULL);
		break;
	}
	r->kind = R_NONE;
	return rc;
}

/* Plain system calls and libripc: also called from the signal handler. */
static void remove_queues(void)
{
	for (int i = 0; i < MAXRES; i++)
		if (resv[i].kind != R_NONE)
			res_remove(i);
}

/* ---- limits --------------------------------------------------------------- */

static rlim_t mq_rlimit = RLIM_INFINITY;

static void raise_native_limits(void)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

	raise_sysctl("/proc/sys/fs/mqueue/msgsize_max", BIG_SIZE, 0);
	raise_sysctl("/proc/sys/fs/mqueue/msg_max", MEM_MSGS, 0);
	raise_sysctl("/proc/sys/kernel/msgmax", BIG_SIZE, 0);
	raise_sysctl("/proc/sys/kernel/msgmnb", MSGMNB, 0);
	raise_sysctl("/proc/sys/net/unix/max_dgram_qlen", DEPTH, 1);
	raise_sysctl("/proc/sys/fs/pipe-max-size", DEPTH * BIG_SIZE, 0); /* for F_SETPIPE_SZ */
	if (setrlimit(RLIMIT_MSGQUEUE, &rl) < 0) {
		int e = errno;

		if (getrlimit(RLIMIT_MSGQUEUE, &rl) == 0) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_MSGQUEUE, &rl);
		}
		mq_rlimit = rl.rlim_cur;
		note("setrlimit(RLIMIT_MSGQUEUE, unlimited): %s; POSIX queues are limited to %llu bytes "
		     "in all (the memory test queues fewer messages to fit)",
		     strerror(e), (unsigned long long)rl.rlim_cur);
	}
}

static int any_selected(int ripc)
{
	for (int i = 0; i < NCONT; i++)
		if (C[i].selected && !C[i].skip && C[i].ripc == ripc)
			return 1;
	return 0;
}

static void setup_ripc(void)
{
	const struct ripc_limits want = { .mq_msg_max = MEM_MSGS, .mq_msgsize_max = BIG_SIZE,
					  .msgmax = BIG_SIZE, .msgmnb = MSGMNB };

	if (ripc_setup(&want) < 0) {
		fprintf(stderr,
			"ripc_bench: error: a rust_ipc contender is selected but %s is not usable: %s\n"
			"ripc_bench: (is the rust_ipc module loaded?)  To bench without it, run with\n"
			"ripc_bench:   --only native-mq,native-sysv,pipe,unix-dgram\n",
			RIPC_DEVICE, strerror(errno));
		cleanup_all();
		exit(2);
	}
}

/* ---- channels --------------------------------------------------------------- */

/*
 * A one-way channel: messages written with sfd (or msqid) are read with rfd
 * (or msqid).  For a POSIX queue sfd == rfd (O_RDWR).
 */
struct chan {
	int ci;
	size_t size;
	int sfd, rfd;
	int id;
	int own;  /* closes sfd/rfd and removes the queue */
	int slot; /* registry slot, or -1 */
	int nowait;
};

static void chan_open(struct chan *ch, int ci, size_t size, long depth, int nowait)
{
	static int seq;
	const struct contender *c = &C[ci];
	char name[48];

	memset(ch, 0, sizeof(*ch));
	ch->ci = ci;
	ch->size = size;
	ch->sfd = ch->rfd = ch->id = -1;
	ch->own = 1;
	ch->slot = -1;
	ch->nowait = nowait;
	switch (c->fam) {
	case F_MQ: {
		struct mq_attr a = { .mq_maxmsg = depth, .mq_msgsize = (long)size };
		int fl = O_RDWR | O_CREAT | O_EXCL | (nowait ? O_NONBLOCK : 0);
		int fd;

		snprintf(name, sizeof(name), "/ripc_bench.%d.%d", (int)getpid(), seq++);
		fd = c->ripc ? ripc_mq_open(name, fl, 0600, &a) : (int)mq_open(name, fl, 0600, &a);
		if (fd < 0)
			die("%s(%s, maxmsg %ld, msgsize %zu): %s%s", c->ripc ? "ripc_mq_open" : "mq_open",
			    name, depth, size, strerror(errno),
			    errno == EMFILE ? " (RLIMIT_MSGQUEUE too small? run as root with CAP_SYS_RESOURCE)" : "");
		ch->slot = res_add(c->ripc ? R_RMQ : R_NMQ, 0, name);
		if (ch->slot < 0)
			die("too many queues");
		ch->sfd = ch->rfd = fd;
		break;
	}
	case F_SYSV: {
		struct msqid_ds ds;
		int id = c->ripc ? ripc_msgget(IPC_PRIVATE, IPC_CREAT | 0600)
				 : msgget(IPC_PRIVATE, IPC_CREAT | 0600);

		if (id < 0)
			DIE_ERRNO(c->ripc ? "ripc_msgget" : "msgget");
		ch->slot = res_add(c->ripc ? R_RSYSV : R_NSYSV, id, NULL);
		if (ch->slot < 0)
			die("too many queues");
		ch->id = id;
		if ((c->ripc ? ripc_msgctl(id, IPC_STAT, &ds) : msgctl(id, IPC_STAT, &ds)) < 0)
			DIE_ERRNO("msgctl(IPC_STAT)");
		ds.msg_qbytes = (msglen_t)(depth * (long)size);
		if ((c->ripc ? ripc_msgctl(id, IPC_SET, &ds) : msgctl(id, IPC_SET, &ds)) < 0)
			die("msgctl(IPC_SET, msg_qbytes %ld): %s", depth * (long)size, strerror(errno));
		break;
	}
	case F_PIPE: {
		int p[2];
		long want = depth * (long)size;
		static int warned;

		if (pipe(p) < 0)
			DIE_ERRNO("pipe");
		if (want < 4096)
			want = 4096;
		if (fcntl(p[1], F_SETPIPE_SZ, (int)want) < 0 && !warned) {
			warned = 1;
			note("pipe: F_SETPIPE_SZ %ld: %s (default pipe size kept)", want, strerror(errno));
		}
		ch->rfd = p[0];
		ch->sfd = p[1];
		break;
	}
	case F_DGRAM: {
		int sv[2];
		int buf = (int)(depth * ((long)size + 1024));
		static int warned;

		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
			DIE_ERRNO("socketpair");
		for (int i = 0; i < 2; i++) {
			if (setsockopt(sv[i], SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0 &&
			    setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf)) < 0 && !warned) {
				warned = 1;
				note("unix-dgram: SO_SNDBUF %d: %s", buf, strerror(errno));
			}
		}
		ch->sfd = sv[0];
		ch->rfd = sv[1];
		break;
	}
	}
}

static void chan_close(struct chan *ch)
{
	if (!ch->own)
		return;
	if (ch->sfd >= 0)
		close(ch->sfd);
	if (ch->rfd >= 0 && ch->rfd != ch->sfd)
		close(ch->rfd);
	ch->sfd = ch->rfd = -1;
	if (ch->slot >= 0) {
		int kind = resv[ch->slot].kind;

		if (res_remove(ch->slot) < 0)
			DIE_ERRNO(kind == R_NMQ || kind == R_RMQ ? "mq_unlink" : "msgctl(IPC_RMID)");
		ch->slot = -1;
	}
}

/* Two channels for a ping-pong: one each way (one socketpair for unix-dgram). */
static void chan_pair_open(struct chan ch[2], int ci, size_t size)
{
	chan_open(&ch[0], ci, size, DEPTH, 0);
	if (C[ci].fam == F_DGRAM) {
		ch[1] = ch[0];
		ch[1].sfd = ch[0].rfd;
		ch[1].rfd = ch[0].sfd;
		ch[1].own = 0;
		ch[1].slot = -1;
	} else {
		chan_open(&ch[1], ci, size, DEPTH, 0);
	}
}

/* { long mtype; char mtext[]; }: the System V layout, used by every family. */
struct mbuf {
	long mtype;
	char mtext[];
};

static struct mbuf *mbuf_new(size_t size)
{
	struct mbuf *b;

	if (posix_memalign((void **)&b, 64, sizeof(*b) + size))
		die("out of memory");
	memset(b, 0x5a, sizeof(*b) + size);
	b->mtype = 1;
	return b;
}

static void stamp(struct mbuf *b, uint64_t seq)
{
	memcpy(b->mtext, &seq, sizeof(seq));
}

static uint64_t stamp_of(const struct mbuf *b)
{
	uint64_t seq;

	memcpy(&seq, b->mtext, sizeof(seq));
	return seq;
}

/* The byte at i of message seq's text past its stamp (a copy that drops,
 * repeats or shifts bytes shows). */
static char text_byte(uint64_t seq, size_t i)
{
	return (char)(seq * 131 + i * 7 + i / 4096 + 1);
}

/* Fills message seq's whole text past its stamp (not in a timed loop but
 * for one message: every contender alike). */
static void fill_text(struct mbuf *b, size_t size, uint64_t seq)
{
	for (size_t i = sizeof(seq); i < size; i++)
		b->mtext[i] = text_byte(seq, i);
}

/* Dies unless b holds message seq's whole text, as fill_text() made it. */
static void check_text(const struct mbuf *b, size_t size, uint64_t seq)
{
	for (size_t i = sizeof(seq); i < size; i++)
		if (b->mtext[i] != text_byte(seq, i))
			die("message %llu: byte %zu of %zu differs", (unsigned long long)seq, i, size);
}

static void send_one(const struct chan *ch, struct mbuf *b)
{
	const struct contender *c = &C[ch->ci];
	size_t size = ch->size;
	ssize_t r;

	switch (c->fam) {
	case F_MQ:
		do
			r = c->ripc ? ripc_mq_send(ch->sfd, b->mtext, size, 0)
				    : mq_send(ch->sfd, b->mtext, size, 0);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			DIE_ERRNO(c->ripc ? "ripc_mq_send" : "mq_send");
		break;
	case F_SYSV: {
		int fl = ch->nowait ? IPC_NOWAIT : 0;

		do
			r = c->ripc ? ripc_msgsnd(ch->id, b, size, fl) : msgsnd(ch->id, b, size, fl);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			DIE_ERRNO(c->ripc ? "ripc_msgsnd" : "msgsnd");
		break;
	}
	case F_PIPE:
		for (size_t done = 0; done < size; done += (size_t)r) {
			r = write(ch->sfd, b->mtext + done, size - done);
			if (r < 0 && errno == EINTR)
				r = 0;
			else if (r <= 0)
				DIE_ERRNO("write(pipe)");
		}
		break;
	case F_DGRAM:
		do
			r = send(ch->sfd, b->mtext, size, 0);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			DIE_ERRNO("send(unix-dgram)");
		if ((size_t)r != size)
			die("send(unix-dgram): sent %zd of %zu bytes", r, size);
		break;
	}
}

static void recv_one(const struct chan *ch, struct mbuf *b)
{
	const struct contender *c = &C[ch->ci];
	size_t size = ch->size;
	unsigned prio;
	ssize_t r;

	switch (c->fam) {
	case F_MQ:
		do
			r = c->ripc ? ripc_mq_receive(ch->rfd, b->mtext, size, &prio)
				    : mq_receive(ch->rfd, b->mtext, size, &prio);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			DIE_ERRNO(c->ripc ? "ripc_mq_receive" : "mq_receive");
		break;
	case F_SYSV: {
		int fl = ch->nowait ? IPC_NOWAIT : 0;

		do
			r = c->ripc ? ripc_msgrcv(ch->id, b, size, 0, fl) : msgrcv(ch->id, b, size, 0, fl);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			DIE_ERRNO(c->ripc ? "ripc_msgrcv" : "msgrcv");
		break;
	}
	case F_PIPE: {
		size_t done = 0;

		while (done < size) {
			r = read(ch->rfd, b->mtext + done, size - done);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				DIE_ERRNO("read(pipe)");
			if (r == 0)
				die("read(pipe): unexpected end of file");
			done += (size_t)r;
		}
		r = (ssize_t)done;
		break;
	}
	case F_DGRAM:
		do
			r = recv(ch->rfd, b->mtext, size, 0);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			DIE_ERRNO("recv(unix-dgram)");
		break;
	default:
		r = -1;
	}
	if ((size_t)r != size)
		die("%s: received %zd bytes, expected %zu", c->name, r, size);
}

/* A batch of count <= BATCH_K; returns the number of items done (>= 1). */
static long xfer_batch(const struct chan *ch, struct mbuf **bufs, int count, int receive)
{
	const struct contender *c = &C[ch->ci];
	long r;

	if (c->fam == F_MQ) {
		struct ripc_mq_item it[BATCH_K];
		struct ripc_mq_batch b = { .size = sizeof(b), .count = (__u32)count,
					   .items = (uintptr_t)it,
					   .flags = receive ? RIPC_BATCH_WAITFORONE : 0 };

		for (int i = 0; i < count; i++)
			it[i] = (struct ripc_mq_item){ .msg_ptr = (uintptr_t)bufs[i]->mtext,
						       .msg_len = ch->size };
		do
			r = ioctl(receive ? ch->rfd : ch->sfd,
				  receive ? RIPC_MQ_RECEIVE_BATCH : RIPC_MQ_SEND_BATCH, &b);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			DIE_ERRNO(receive ? "RIPC_MQ_RECEIVE_BATCH" : "RIPC_MQ_SEND_BATCH");
		if (r == 0 || r > count)
			die("RIPC_MQ_%s_BATCH of %d returned %ld", receive ? "RECEIVE" : "SEND", count, r);
		if (receive)
			for (long i = 0; i < r; i++)
				if (it[i].msg_len != ch->size)
					die("RIPC_MQ_RECEIVE_BATCH: item %ld has %llu bytes, expected %zu",
					    i, (unsigned long long)it[i].msg_len, ch->size);
	} else {
		struct ripc_msg_item it[BATCH_K];
		struct ripc_msg_batch b = { .size = sizeof(b), .msqid = ch->id,
					    .msgflg = ch->nowait ? IPC_NOWAIT : 0,
					    .count = (__u32)count, .items = (uintptr_t)it,
					    .flags = receive ? RIPC_BATCH_WAITFORONE : 0 };

		for (int i = 0; i < count; i++)
			it[i] = (struct ripc_msg_item){ .msgp = (uintptr_t)bufs[i],
							.msgsz = (__s64)ch->size };
		do
			r = ioctl(ripc_device_fd(), receive ? RIPC_MSGRCV_BATCH : RIPC_MSGSND_BATCH, &b);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			DIE_ERRNO(receive ? "RIPC_MSGRCV_BATCH" : "RIPC_MSGSND_BATCH");
		if (r == 0 || r > count)
			die("RIPC_MSG%s_BATCH of %d returned %ld", receive ? "RCV" : "SND", count, r);
		if (receive)
			for (long i = 0; i < r; i++)
				if (it[i].msgsz != (__s64)ch->size)
					die("RIPC_MSGRCV_BATCH: item %ld has %lld bytes, expected %zu",
					    i, (long long)it[i].msgsz, ch->size);
	}
	return r;
}

/* ---- process groups ------------------------------------------------------ */

static int ready_pipe[2] = { -1, -1 }, go_pipe[2] = { -1, -1 };

/*
 * A stream's two processes under --insn (marking): SCHED_FIFO at one
 * priority, so that on the one vCPU of the counting boot a task runs until
 * it blocks: the sender fills the queue, then the receiver empties it,
 * whatever the host's speed.  In the fair class a woken receiver preempts
 * its sender or not depending on the time each has had, which the host's
 * speed moves: the same module's 64 B System V stream measured 2 300 to
 * 4 800 instructions a message from run to run on one host (2026-12-04),
 * where another host had given the same count within 1%.  The same for every
 * contender, native and rust_ipc.  Ping-pong blocks at every message in
 * any class, and stays in the fair class, where its count moves ±1.5% with
 * the timer ticks a round trip sees (--fifo-pingpong runs it SCHED_FIFO too,
 * to compare two builds).
 */
static void insn_sched(void)
{
	struct sched_param sp = { .sched_priority = 1 };

	if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0)
		die("--insn: SCHED_FIFO: %s (the counts would follow the host's speed)",
		    strerror(errno));
}

/* Children call it once set up: the parent starts the clock when all are. */
static void barrier_wait(void)
{
	char c = 0;
	ssize_t r;

	if (write(ready_pipe[1], &c, 1) != 1)
		DIE_ERRNO("barrier: write");
	do
		r = read(go_pipe[0], &c, 1);
	while (r < 0 && errno == EINTR);
	if (r != 0)
		die("barrier: unexpected read result %zd", r);
}

typedef void (*role_fn)(int idx, void *arg);

/* --threaded: a second thread of the measuring process's, idle until it
 * exits (blocked in pause()). */
static void *idle_thread(void *unused)
{
	(void)unused;
	for (;;)
		pause();
	return NULL;
}

/*
 * --threaded: makes the calling process multi-threaded, as most programs
 * that use queues are (a pool, a signal or timer thread), so that glibc's
 * wrappers and libripc take their paths for such a process (the
 * cancellation points' asynchronous region, where a process that never had
 * a second thread needs none).
 */
static void start_idle_thread(void)
{
	pthread_t t;
	int err;

	if (!opt_threaded)
		return;
	err = pthread_create(&t, NULL, idle_thread, NULL);
	if (err) {
		errno = err;
		DIE_ERRNO("pthread_create");
	}
}

static void __attribute__((noreturn)) child_main(int idx, role_fn fn, void *arg)
{
	start_idle_thread();
	is_child = 1;
	nkids = 0;
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGALRM, SIG_DFL);
	snprintf(child_role, sizeof(child_role), "child %d", idx);
	alarm((unsigned)watchdog_s);
	close(ready_pipe[0]);
	close(go_pipe[1]);
	fn(idx, arg);
	_exit(0);
}

static void describe_status(char *buf, size_t len, int idx, int st)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "child %d exited with status %d", idx, WEXITSTATUS(st));
	else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
		snprintf(buf, len, "child %d made no progress within the %d s watchdog (hang?)",
			 idx, watchdog_s);
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "child %d was killed by signal %d (%s)", idx, WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "child %d: status %#x", idx, st);
}

/* Forks nproc children running fn; returns the time the start barrier opened. */
/*
 * The markers of bench/insn_plugin.c: 8-byte no-ops whose displacement
 * ("RI" 1 and 2) no compiler emits.  marking is set around the measurements
 * of --insn (children inherit it at fork), not around calibrations.
 */
static int marking;

static void mark(int end)
{
	if (!marking)
		return;
	if (end)
		asm volatile(".byte 0x0f, 0x1f, 0x84, 0x00, 0x02, 0x00, 0x49, 0x52" ::: "memory");
	else
		asm volatile(".byte 0x0f, 0x1f, 0x84, 0x00, 0x01, 0x00, 0x49, 0x52" ::: "memory");
}

static void pingpong_role(int idx, void *arg);

static uint64_t run_group(int nproc, role_fn fn, void *arg)
{
	char failure[256] = "";
	char buf[MAXPROC];
	int got = 0, left;
	uint64_t t0;

	if (pipe(ready_pipe) < 0 || pipe(go_pipe) < 0)
		DIE_ERRNO("pipe");
	fflush(stdout);
	fflush(stderr);
	nkids = 0;
	for (int i = 0; i < nproc; i++) {
		pid_t pid = fork();

		if (pid < 0)
			DIE_ERRNO("fork");
		if (pid == 0)
			child_main(i, fn, arg);
		kids[nkids++] = pid;
	}
	close(ready_pipe[1]);
	close(go_pipe[0]);
	alarm((unsigned)watchdog_s + 15);
	while (got < nproc) {
		ssize_t r = read(ready_pipe[0], buf, (size_t)(nproc - got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* a child died before the barrier */
		got += (int)r;
	}
	t0 = now_ns();
	if (fn != pingpong_role)
		mark(0);
	close(go_pipe[1]);
	close(ready_pipe[0]);
	for (left = nkids; left > 0;) {
		int st, idx = -1;
		pid_t pid = waitpid(-1, &st, 0);

		if (pid < 0) {
			if (errno == EINTR)
				continue;
			DIE_ERRNO("waitpid");
		}
		for (int i = 0; i < nkids; i++)
			if (kids[i] == pid)
				idx = i;
		if (idx < 0)
			continue;
		kids[idx] = 0;
		left--;
		if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0) && !failure[0]) {
			describe_status(failure, sizeof(failure), idx, st);
			for (int i = 0; i < nkids; i++)
				if (kids[i] > 0)
					kill(kids[i], SIGKILL);
		}
	}
	alarm(0);
	nkids = 0;
	if (failure[0])
		die("%s", failure);
	if (got < nproc)
		die("a child exited before the start barrier");
	return t0;
}

/* ---- the tests ------------------------------------------------------------- */

struct job {
	struct chan *ch;
	int nch;
	int n;
	long m;
	size_t size;
	int batch;
	int shared;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void pingpong_role(int idx, void *arg)
{
	struct job *j = arg;
	struct mbuf *b = mbuf_new(j->size);
	long m = j->m;

	if (marking && opt_fifo_pingpong)
		insn_sched();
	if (idx == 1) {
		snprintf(child_role, sizeof(child_role), "ponger");
		barrier_wait();
		for (long i = 0; i < WARM + m; i++) {
			recv_one(&j->ch[0], b);
			send_one(&j->ch[1], b);
		}
		return;
	}
	snprintf(child_role, sizeof(child_role), "pinger");
	struct mbuf *r = mbuf_new(j->size);
	uint64_t *t = calloc((size_t)m + 1, sizeof(*t));

	if (!t)
		die("out of memory");
	barrier_wait();
	/* The warm-up's round trips check every byte (both directions). */
	for (long i = 0; i < WARM; i++) {
		stamp(b, (uint64_t)i);
		fill_text(b, j->size, (uint64_t)i);
		memset(r->mtext, 0, j->size);
		send_one(&j->ch[0], b);
		recv_one(&j->ch[1], r);
		if (stamp_of(r) != (uint64_t)i)
			die("warm-up round trip %ld: got message %llu back", i,
			    (unsigned long long)stamp_of(r));
		check_text(r, j->size, (uint64_t)i);
	}
	mark(0);
	t[0] = now_ns();
	for (long i = 0; i < m; i++) {
		stamp(b, (uint64_t)i);
		send_one(&j->ch[0], b);
		recv_one(&j->ch[1], r);
		t[i + 1] = now_ns();
		if (stamp_of(r) != (uint64_t)i)
			die("round trip %ld: got message %llu back", i, (unsigned long long)stamp_of(r));
	}
	mark(1);
	double total = (double)(t[m] - t[0]) / 1e9;

	for (long i = 0; i < m; i++)
		t[i] = t[i + 1] - t[i];
	qsort(t, (size_t)m, sizeof(*t), cmp_u64);
	long p99 = (long)((double)m * 0.99 + 0.999999) - 1;

	if (p99 < 0)
		p99 = 0;
	shm->v[0] = total > 0 ? (double)m / total : 0;
	shm->v[1] = (m % 2 ? (double)t[m / 2] : ((double)t[m / 2 - 1] + (double)t[m / 2]) / 2) / 1e3;
	shm->v[2] = (double)t[p99] / 1e3;
	shm->v[3] = total;
}

static void stream_role(int idx, void *arg)
{
	struct job *j = arg;
	struct mbuf *bufs[BATCH_K], *last = NULL;
	int nb = j->batch ? BATCH_K : 1;
	long m = j->m;

	/* Every message carries message m - 1's text (only its stamp
	 * differs): the receiver checks the last one's whole text after the
	 * measurement. */
	for (int i = 0; i < nb; i++) {
		bufs[i] = mbuf_new(j->size);
		if (idx == 0)
			fill_text(bufs[i], j->size, (uint64_t)(m - 1));
	}
	snprintf(child_role, sizeof(child_role), idx ? "receiver" : "sender");
	if (marking)
		insn_sched();
	barrier_wait();
	for (long done = 0; done < m;) {
		long k = m - done < nb ? m - done : nb;

		if (idx == 0) {
			for (long i = 0; i < k; i++)
				stamp(bufs[i], (uint64_t)(done + i));
			if (j->batch) {
				done += xfer_batch(&j->ch[0], bufs, (int)k, 0);
			} else {
				send_one(&j->ch[0], bufs[0]);
				done++;
			}
		} else {
			long got = 1;

			if (j->batch)
				got = xfer_batch(&j->ch[0], bufs, (int)k, 1);
			else
				recv_one(&j->ch[0], bufs[0]);
			for (long i = 0; i < got; i++)
				if (stamp_of(bufs[i]) != (uint64_t)(done + i))
					die("message %ld arrived as number %llu (order or content broken)",
					    done + i, (unsigned long long)stamp_of(bufs[i]));
			if (done + got == m)
				last = bufs[got - 1];
			done += got;
		}
	}
	if (idx == 1) {
		mark(1);
		shm->t_end[idx] = now_ns();
		shm->count[idx] = m;
		if (last)
			check_text(last, j->size, (uint64_t)(m - 1));
	}
}

static void contention_role(int idx, void *arg)
{
	struct job *j = arg;
	struct mbuf *b = mbuf_new(j->size);
	int sender = idx < j->n;
	const struct chan *ch = &j->ch[(sender ? idx : idx - j->n) % j->nch];
	long count = 0;

	snprintf(child_role, sizeof(child_role), "%s %d", sender ? "sender" : "receiver",
		 sender ? idx : idx - j->n);
	barrier_wait();
	if (sender) {
		for (long i = 0; i < j->m; i++)
			send_one(ch, b);
		return;
	}
	if (j->shared) {
		/* Claim a message first: exactly n * m receives happen in all. */
		while (__atomic_fetch_sub(&shm->remaining, 1, __ATOMIC_SEQ_CST) > 0) {
			recv_one(ch, b);
			count++;
		}
	} else {
		for (; count < j->m; count++)
			recv_one(ch, b);
	}
	if (__atomic_sub_fetch(&shm->receiving, 1, __ATOMIC_SEQ_CST) == 0)
		mark(1);
	shm->t_end[idx] = now_ns();
	shm->count[idx] = count;
}

/*
 * One measurement; out[] gets the figures of the test's units.  Returns the
 * measured time in seconds (what the calibration scales).
 */
static double measure_dropin(int test, int n, size_t size, int ci, long m, double out[3]);

static double measure(int test, int n, size_t size, int ci, long m, double out[3])
{
	struct chan ch[MAXPROC];
	struct job j = { .ch = ch, .n = n, .m = m, .size = size, .batch = C[ci].batch };
	double el = 0;

	if (C[ci].dropin >= 0)
		return measure_dropin(test, n, size, ci, m, out);
	memset(shm, 0, sizeof(*shm));
	switch (test) {
	case T_PINGPONG:
		j.nch = 2;
		chan_pair_open(ch, ci, size);
		run_group(2, pingpong_role, &j);
		out[0] = shm->v[0];
		out[1] = shm->v[1];
		out[2] = shm->v[2];
		el = shm->v[3];
		break;
	case T_STREAM: {
		uint64_t t0;

		j.nch = 1;
		chan_open(&ch[0], ci, size, DEPTH, 0);
		t0 = run_group(2, stream_role, &j);
		el = (double)(shm->t_end[1] - t0) / 1e9;
		out[0] = (double)m / el;
		out[1] = (double)m * (double)size / el / 1e6;
		break;
	}
	case T_SHARED:
	case T_PAIRS: {
		uint64_t t0, tend = 0;
		long total = 0;

		j.shared = test == T_SHARED;
		j.nch = j.shared ? 1 : n;
		for (int i = 0; i < j.nch; i++)
			chan_open(&ch[i], ci, size, DEPTH, 0);
		shm->remaining = (long)n * m;
		shm->receiving = n;
		t0 = run_group(2 * n, contention_role, &j);
		for (int i = n; i < 2 * n; i++) {
			total += shm->count[i];
			if (shm->t_end[i] > tend)
				tend = shm->t_end[i];
		}
		if (total != (long)n * m)
			die("receivers got %ld messages, expected %ld", total, (long)n * m);
		el = (double)(tend - t0) / 1e9;
		out[0] = (double)total / el;
		break;
	}
	}
	for (int i = 0; i < j.nch; i++)
		chan_close(&ch[i]);
	if (el <= 0)
		die("measured a non-positive time");
	return el;
}

/* ---- the drop-in: this program again, under LD_PRELOAD ------------------------ */

/*
 * The executable mappings of this process, for insn_report.py --profile
 * (--maps): "RIPC-MAPS start-end perms offset dev inode path" lines.
 */
static void print_maps(void)
{
	static int done;
	char line[512];
	FILE *f;

	if (!opt_maps || done)
		return;
	done = 1;
	f = fopen("/proc/self/maps", "re");
	if (!f)
		DIE_ERRNO("/proc/self/maps");
	while (fgets(line, sizeof(line), f)) {
		char perms[8];

		if (sscanf(line, "%*s %7s", perms) == 1 && perms[2] == 'x')
			printf("RIPC-MAPS %s", line);
	}
	fclose(f);
	fflush(stdout);
}

/*
 * Runs "ripc_bench --dropin-child TEST N SIZE CONTENDER M WATCHDOG FD MARK"
 * under LD_PRELOAD=opt_preload and reads its figures ("%a %a %a %a": out[0..2]
 * and the time, as measure() gives them).  TEST -1 only checks that the
 * drop-in is in effect.  Returns 0, or -1 with the reason in why.
 */
static int run_dropin(int test, int n, size_t size, int ci, long m, double out[3], double *el,
		      char *why, size_t whylen)
{
	char a[8][32], line[256];
	int p[2], st;
	size_t got = 0;
	ssize_t r;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		DIE_ERRNO("pipe");
	snprintf(a[0], sizeof(a[0]), "%d", test);
	snprintf(a[1], sizeof(a[1]), "%d", n);
	snprintf(a[2], sizeof(a[2]), "%zu", size);
	snprintf(a[3], sizeof(a[3]), "%s", C[C[ci].dropin].name);
	snprintf(a[4], sizeof(a[4]), "%ld", m);
	snprintf(a[5], sizeof(a[5]), "%d", watchdog_s);
	snprintf(a[6], sizeof(a[6]), "%d", p[1]);
	snprintf(a[7], sizeof(a[7]), "%d",
		 marking | opt_maps << 1 | opt_fifo_pingpong << 2 | opt_threaded << 3);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		DIE_ERRNO("fork");
	if (pid == 0) {
		char *argv[] = { "ripc_bench", "--dropin-child", a[0], a[1], a[2], a[3], a[4], a[5],
				 a[6], a[7], NULL };

		close(p[0]);
		if (fcntl(p[1], F_SETFD, 0) < 0 || setenv("LD_PRELOAD", opt_preload, 1) < 0)
			_exit(127);
		execv("/proc/self/exe", argv);
		dprintf(2, "ripc_bench: exec /proc/self/exe: %s\n", strerror(errno));
		_exit(127);
	}
	close(p[1]);
	kids[0] = pid;
	nkids = 1;
	alarm((unsigned)watchdog_s * 2 + 30);
	while (got < sizeof(line) - 1) {
		r = read(p[0], line + got, sizeof(line) - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	line[got] = 0;
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			DIE_ERRNO("waitpid");
	alarm(0);
	kids[0] = 0;
	nkids = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		describe_status(why, whylen, 0, st);
		return -1;
	}
	if (sscanf(line, "%la %la %la %la", &out[0], &out[1], &out[2], el) != 4) {
		snprintf(why, whylen, "no figures from the drop-in run");
		return -1;
	}
	return 0;
}

static double measure_dropin(int test, int n, size_t size, int ci, long m, double out[3])
{
	char why[256];
	double el;

	if (run_dropin(test, n, size, ci, m, out, &el, why, sizeof(why)))
		die("%s (ripc_bench under LD_PRELOAD=%s): %s", C[ci].name, opt_preload, why);
	return el;
}

/* Can the drop-in contenders run?  NULL, or why not. */
static const char *probe_dropin(int ci)
{
	static char why[512];
	char r[200];
	double out[3], el;

	if (access(opt_preload, R_OK)) {
		snprintf(why, sizeof(why), "%s: %s (--preload PATH)", opt_preload, strerror(errno));
		return why;
	}
	snprintf(ctx, sizeof(ctx), "probing %s", C[ci].name);
	if (run_dropin(-1, 1, 16, ci, 0, out, &el, r, sizeof(r))) {
		snprintf(why, sizeof(why), "the drop-in is not in effect under LD_PRELOAD=%s (%s)",
			 opt_preload, r);
		return why;
	}
	return NULL;
}

static int lookup_contender_index(const char *s)
{
	for (int i = 0; i < NCONT; i++)
		if (!strcmp(s, C[i].name))
			return i;
	return -1;
}

/*
 * The process run_dropin() starts, under LD_PRELOAD: the program's own
 * mq_* and msg* calls must bind to libripc_preload.so (else it would measure
 * the native queues), then it measures the native contender.
 */
static int dropin_child(int argc, char **argv)
{
	static const struct {
		const char *name;
		void *fn;
	} syms[] = {
		{ "mq_open", (void *)mq_open }, { "mq_send", (void *)mq_send },
		{ "mq_receive", (void *)mq_receive }, { "mq_unlink", (void *)mq_unlink },
		{ "msgget", (void *)msgget }, { "msgsnd", (void *)msgsnd },
		{ "msgrcv", (void *)msgrcv }, { "msgctl", (void *)msgctl },
	};
	double out[3] = { 0, 0, 0 }, el = 0;
	int test, n, ci, fd, flags;
	size_t size;
	long m;

	if (argc != 10 || (ci = lookup_contender_index(argv[5])) < 0 || C[ci].dropin >= 0) {
		fprintf(stderr, "ripc_bench: --dropin-child: for ripc_bench's own use\n");
		return 2;
	}
	test = atoi(argv[2]);
	n = atoi(argv[3]);
	size = (size_t)atol(argv[4]);
	m = atol(argv[6]);
	watchdog_s = atoi(argv[7]);
	fd = atoi(argv[8]);
	flags = atoi(argv[9]);
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		Dl_info di;

		if (!dladdr(syms[i].fn, &di) || !di.dli_fname || !strstr(di.dli_fname, "libripc_preload")) {
			fprintf(stderr, "ripc_bench: drop-in: %s is not libripc_preload.so's (it is %s's)\n",
				syms[i].name, di.dli_fname ? di.dli_fname : "?");
			return 1;
		}
	}
	if (test >= 0) {
		shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (shm == MAP_FAILED)
			DIE_ERRNO("mmap");
		install_handlers();
		opt_maps = flags >> 1 & 1;
		opt_fifo_pingpong = flags >> 2 & 1;
		opt_threaded = flags >> 3 & 1;
		print_maps();
		snprintf(ctx, sizeof(ctx), "%s n=%d size=%zu under LD_PRELOAD", C[ci].name, n, size);
		marking = flags & 1;
		el = measure(test, n, size, ci, m, out);
		marking = 0;
	}
	if (dprintf(fd, "%a %a %a %a\n", out[0], out[1], out[2], el) < 0)
		DIE_ERRNO("drop-in: writing the figures");
	return 0;
}

struct meminfo {
	long memfree, avail, slab; /* kB */
};

static void read_meminfo(struct meminfo *mi)
{
	char line[256];
	FILE *f;

	/* Fold the per-CPU vmstat deltas into the global counters first. */
	write_str_file("/proc/sys/vm/stat_refresh", "1\n");
	f = fopen("/proc/meminfo", "re");
	if (!f)
		DIE_ERRNO("/proc/meminfo");
	mi->memfree = mi->avail = mi->slab = -1;
	while (fgets(line, sizeof(line), f)) {
		long v;

		if (sscanf(line, "MemFree: %ld", &v) == 1)
			mi->memfree = v;
		else if (sscanf(line, "MemAvailable: %ld", &v) == 1)
			mi->avail = v;
		else if (sscanf(line, "Slab: %ld", &v) == 1)
			mi->slab = v;
	}
	fclose(f);
	if (mi->memfree < 0 || mi->slab < 0)
		die("/proc/meminfo: no MemFree or Slab line");
}

static long mem_msgs(size_t size, int ci)
{
	long count = size >= BIG_SIZE ? MEM_MSGS_BIG : size > 512 ? MEM_MSGS / 6 : MEM_MSGS;

	/* Without CAP_SYS_RESOURCE a POSIX queue must fit RLIMIT_MSGQUEUE. */
	if (C[ci].fam == F_MQ && mq_rlimit != RLIM_INFINITY) {
		long fit = (long)(mq_rlimit * 3 / 4 / (size + 64));

		if (fit < count)
			count = fit;
	}
	return count;
}

/*
 * Bytes of live slab objects: the sum of active_objs * objsize over
 * /proc/slabinfo.  Unlike the Slab line of /proc/meminfo (whole slab pages),
 * it does not depend on how full the caches were before the measurement.
 */
static double slab_object_bytes(void)
{
	char line[512], name[128];
	double total = 0;
	FILE *f = fopen("/proc/slabinfo", "re");

	if (!f)
		DIE_ERRNO("/proc/slabinfo");
	while (fgets(line, sizeof(line), f)) {
		long active, num, objsize;

		if (sscanf(line, "%127s %ld %ld %ld", name, &active, &num, &objsize) == 4)
			total += (double)active * (double)objsize;
	}
	fclose(f);
	return total;
}

/* Kernel memory per queued message: out[0] by MemFree, out[1] by slab objects. */
static void measure_memory(size_t size, int ci, double out[2])
{
	long count = mem_msgs(size, ci);
	struct mbuf *b = mbuf_new(size);
	struct meminfo before, after;
	struct chan ch;

	alarm((unsigned)watchdog_s);
	chan_open(&ch, ci, size, count, 1);
	read_meminfo(&before);
	double objs = slab_object_bytes();
	for (long i = 0; i < count; i++)
		send_one(&ch, b);
	objs = slab_object_bytes() - objs;
	read_meminfo(&after);
	chan_close(&ch);
	alarm(0);
	free(b);
	out[0] = (double)(before.memfree - after.memfree) * 1024.0 / (double)count;
	out[1] = objs / (double)count;
}

/* ---- figures --------------------------------------------------------------- */

struct fig {
	int test, n, ci, unit;
	size_t size;
	long m;
	int nruns;
	double runs[MAXR];
	double min, med, max, ratio; /* ratio: NaN when unknown */
	double lratio;		     /* a drop-in's, to its libripc contender, paired (NaN: none) */
};
static struct fig figs[MAXFIG];
static int nfigs;

static struct fig *fig_get(int test, int n, size_t size, int ci, int unit, int create)
{
	for (int i = 0; i < nfigs; i++) {
		struct fig *f = &figs[i];

		if (f->test == test && f->n == n && f->size == size && f->ci == ci && f->unit == unit)
			return f;
	}
	if (!create)
		return NULL;
	if (nfigs >= MAXFIG)
		die("too many figures");
	figs[nfigs] = (struct fig){ .test = test, .n = n, .size = size, .ci = ci, .unit = unit };
	return &figs[nfigs++];
}

static void fig_add(int test, int n, size_t size, int ci, int unit, long m, double v)
{
	struct fig *f = fig_get(test, n, size, ci, unit, 1);

	if (f->nruns < MAXR)
		f->runs[f->nruns++] = v;
	f->m = m;
}

/* f's median against the contender ref's of the same cell, > 1: f is better (NaN: none). */
static double fig_ratio(const struct fig *f, int ref)
{
	struct fig *r = ref < 0 ? NULL : fig_get(f->test, f->n, f->size, ref, f->unit, 0);

	if (!r || r->nruns == 0)
		return __builtin_nan("");
	/* A lower-is-better figure of 0 or less (MemFree's delta when the
	 * caches' warm state hid the messages) has no meaningful ratio. */
	if (unit_lower_better[f->unit])
		return f->med > 0 && r->med > 0 ? r->med / f->med : __builtin_nan("");
	return r->med > 0 ? f->med / r->med : __builtin_nan("");
}

/*
 * The median of f's per-repetition ratios to ref's (> 1: f is better; NaN:
 * none): the two figures of a repetition are measured seconds apart, so a
 * change of the host's speed between repetitions cancels out.
 */
static double fig_ratio_paired(const struct fig *f, int ref)
{
	struct fig *r = ref < 0 ? NULL : fig_get(f->test, f->n, f->size, ref, f->unit, 0);
	double v[MAXR], min, med, max;
	int n = 0;

	for (int k = 0; r && k < f->nruns && k < r->nruns; k++)
		if (f->runs[k] > 0 && r->runs[k] > 0)
			v[n++] = unit_lower_better[f->unit] ? r->runs[k] / f->runs[k]
							    : f->runs[k] / r->runs[k];
	if (!n)
		return __builtin_nan("");
	runs_stats(v, n, &min, &med, &max);
	return med;
}

static void fig_stats(void)
{
	for (int i = 0; i < nfigs; i++)
		runs_stats(figs[i].runs, figs[i].nruns, &figs[i].min, &figs[i].med, &figs[i].max);
	for (int i = 0; i < nfigs; i++) {
		figs[i].ratio = fig_ratio(&figs[i], C[figs[i].ci].native);
		figs[i].lratio = fig_ratio_paired(&figs[i], C[figs[i].ci].lib);
	}
}

/* ---- output ------------------------------------------------------------------ */

static void write_json(FILE *o, double elapsed)
{
	int first = 1;

	json_meta_begin(o);
	fprintf(o, ",\"runs\":%d,\"quick\":%s,\"target_s\":", opt_runs, opt_quick ? "true" : "false");
	json_num(o, opt_target);
	fputs(",\"elapsed_s\":", o);
	json_num(o, elapsed);
	fprintf(o, ",\"depth\":%d,\"batch_k\":%d,\"memory_messages\":%d,\"memory_messages_65536\":%d"
		   ",\"memcg\":%s",
		DEPTH, BATCH_K, MEM_MSGS, MEM_MSGS_BIG, opt_memcg ? "true" : "false");
	fputs(",\"sizes\":[", o);
	for (int i = 0; i < nsizes; i++)
		fprintf(o, "%s%zu", i ? "," : "", sizes[i]);
	fputs("],\"contenders\":[", o);
	for (int i = 0, k = 0; i < NCONT; i++)
		if (C[i].selected && !C[i].skip) {
			fputs(k++ ? "," : "", o);
			json_str(o, C[i].name);
		}
	fputs("],\"skipped\":{", o);
	for (int i = 0, k = 0; i < NCONT; i++)
		if (C[i].selected && C[i].skip) {
			fputs(k++ ? "," : "", o);
			json_str(o, C[i].name);
			fputc(':', o);
			json_str(o, C[i].skip);
		}
	fputs("},\"ratio\":", o);
	json_str(o, "ratio_to_native = median / median of the native of the family (ripc-mq, ripc-mq-batch, "
		    "dropin-mq, pipe, unix-dgram: native-mq; ripc-sysv, ripc-sysv-batch, dropin-sysv: "
		    "native-sysv) for higher-is-better units; native / contender for lower-is-better units "
		    "(latency, memory): > 1 always means the contender beats the native; ratio_to_libripc "
		    "(drop-in contenders: the native contender under LD_PRELOAD=libripc_preload.so): against "
		    "libripc's single calls (ripc-mq, ripc-sysv), the median of the ratios of each repetition's "
		    "two runs (seconds apart, so that the host's changes of speed between repetitions cancel)");
	json_meta_end(o);
	for (int i = 0; i < nfigs; i++) {
		struct fig *f = &figs[i];

		if (!first)
			fputs(",\n", o);
		first = 0;
		fputs("{\"test\":", o);
		json_str(o, test_name[f->test]);
		fprintf(o, ",\"n\":%d,\"size\":%zu,\"contender\":", f->n, f->size);
		json_str(o, C[f->ci].name);
		fputs(",\"unit\":", o);
		json_str(o, unit_name[f->unit]);
		fprintf(o, ",\"better\":\"%s\",\"messages\":%ld",
			unit_lower_better[f->unit] ? "lower" : "higher", f->m);
		json_runs(o, f->runs, f->nruns, f->min, f->med, f->max);
		fputs(",\"ratio_to_native\":", o);
		json_num(o, f->ratio);
		if (C[f->ci].lib >= 0) {
			fputs(",\"libripc\":", o);
			json_str(o, C[C[f->ci].lib].name);
			fputs(",\"ratio_to_libripc\":", o);
			json_num(o, f->lratio);
		}
		fputc('}', o);
	}
	fputs("\n]}\n", o);
}

static void fmt_val(char *buf, size_t len, double v)
{
	if (v != v)
		snprintf(buf, len, "-");
	else if (v >= 1e7)
		snprintf(buf, len, "%.2fM", v / 1e6);
	else if (v >= 1e5)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else if (v >= 1e3)
		snprintf(buf, len, "%.0f", v);
	else if (v >= 10)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.2f", v);
}

static void print_table(FILE *o)
{
	static const int units_of[NTEST][4] = {
		[T_PINGPONG] = { U_RTS, U_RTT_MED, U_RTT_P99, -1 },
		[T_STREAM] = { U_MSGS, U_MBS, -1 },
		[T_SHARED] = { U_MSGS, -1 },
		[T_PAIRS] = { U_MSGS, -1 },
		[T_MEMORY] = { U_BPM, U_SLAB, -1 },
	};
	/* A contender against its native (vs_lib 0) or its libripc contender (1). */
	static const struct {
		int ci, vs_lib;
		const char *hdr;
	} ratio_cols[] = {
		{ C_RMQ, 0, "mq-ratio" }, { C_RSYSV, 0, "sysv-ratio" }, { C_RMQB, 0, "mqB-ratio" },
		{ C_RSYSVB, 0, "sysvB-ratio" }, { C_DMQ, 0, "dmq-ratio" }, { C_DSYSV, 0, "dsysv-ratio" },
		{ C_DMQ, 1, "dmq/ripc" }, { C_DSYSV, 1, "dsysv/ripc" },
	};
#define NRATIO ((int)(sizeof(ratio_cols) / sizeof(ratio_cols[0])))

	fprintf(o, "ripc_bench results: medians of %d runs (min..max in the JSON).\n", opt_runs);
	fprintf(o, "mq-ratio = ripc-mq vs native-mq, sysv-ratio = ripc-sysv vs native-sysv, "
		   "mqB/sysvB = the batched ripc paths vs the same natives,\n"
		   "dmq/dsysv = the drop-in (native-mq/native-sysv under LD_PRELOAD=libripc_preload.so) "
		   "vs the same natives,\ndmq/ripc, dsysv/ripc = the drop-in vs libripc's single calls "
		   "(ripc-mq, ripc-sysv): the median of each repetition's ratio.\n");
	for (int t = 0; t < NTEST; t++) {
		for (int u = 0; units_of[t][u] >= 0; u++) {
			int unit = units_of[t][u], cols[NCONT], ncols = 0, rc[NRATIO], nrc = 0, any = 0;

			for (int i = 0; i < nfigs; i++)
				if (figs[i].test == t && figs[i].unit == unit)
					any = 1;
			if (!any)
				continue;
			for (int ci = 0; ci < NCONT; ci++)
				if (C[ci].selected && !C[ci].skip && test_has_contender(t, ci))
					cols[ncols++] = ci;
			for (int k = 0; k < NRATIO; k++) {
				int ci = ratio_cols[k].ci;
				int ref = ratio_cols[k].vs_lib ? C[ci].lib : C[ci].native;

				if (C[ci].selected && !C[ci].skip && test_has_contender(t, ci) &&
				    C[ref].selected && !C[ref].skip)
					rc[nrc++] = k;
			}
			fprintf(o, "\n== %s: %s -- %s\n", test_name[t], unit_desc[unit], test_desc[t]);
			if (unit_lower_better[unit])
				fprintf(o, "   (lower is better; ratio = native / ripc, so > 1 means rust_ipc is better)\n");
			else
				fprintf(o, "   (higher is better; ratio = ripc / native, so > 1 means rust_ipc is better)\n");
			fprintf(o, "%3s %6s", "n", "size");
			for (int c = 0; c < ncols; c++) {
				int w = (int)strlen(C[cols[c]].name);

				fprintf(o, " %*s", w < 9 ? 9 : w, C[cols[c]].name);
			}
			fprintf(o, " |");
			for (int k = 0; k < nrc; k++)
				fprintf(o, " %11s", ratio_cols[rc[k]].hdr);
			fputc('\n', o);
			for (int ns = 0; ns < 3; ns++) {
				for (int s = 0; s < nsizes; s++) {
					int n = (t == T_SHARED || t == T_PAIRS) ? ns_list[ns] : 1;
					char v[32];

					if ((t == T_SHARED || t == T_PAIRS) ? ns >= nns : ns > 0)
						continue;
					any = 0;
					for (int c = 0; c < ncols; c++)
						if (fig_get(t, n, sizes[s], cols[c], unit, 0))
							any = 1;
					if (!any)
						continue;
					fprintf(o, "%3d %6zu", n, sizes[s]);
					for (int c = 0; c < ncols; c++) {
						struct fig *f = fig_get(t, n, sizes[s], cols[c], unit, 0);
						int w = (int)strlen(C[cols[c]].name);

						fmt_val(v, sizeof(v), f ? f->med : __builtin_nan(""));
						fprintf(o, " %*s", w < 9 ? 9 : w, v);
					}
					fprintf(o, " |");
					for (int k = 0; k < nrc; k++) {
						struct fig *f = fig_get(t, n, sizes[s], ratio_cols[rc[k]].ci, unit, 0);
						double v = !f ? __builtin_nan("") : ratio_cols[rc[k]].vs_lib ? f->lratio : f->ratio;

						if (v == v)
							fprintf(o, " %11.2f", v);
						else
							fprintf(o, " %11s", "-");
					}
					if (t == T_MEMORY) {
						long lo = -1, hi = -1;

						for (int c = 0; c < ncols; c++) {
							struct fig *f = fig_get(t, n, sizes[s], cols[c], unit, 0);

							if (!f)
								continue;
							if (lo < 0 || f->m < lo)
								lo = f->m;
							if (f->m > hi)
								hi = f->m;
						}
						if (lo != hi)
							fprintf(o, "   (%ld..%ld messages)", lo, hi);
						else if (lo != MEM_MSGS)
							fprintf(o, "   (%ld messages)", lo);
					}
					fputc('\n', o);
				}
			}
		}
	}
}

/* ---- driver ------------------------------------------------------------------ */

struct cell {
	int test, n;
	size_t size;
	long m;
};
static struct cell cells[MAXCELL];
static int ncells;

static int ref_contender(int test)
{
	for (int i = 0; i < NCONT; i++) {
		int ci = ref_order[i];

		if (C[ci].selected && !C[ci].skip && !C[ci].batch && test_has_contender(test, ci))
			return ci;
	}
	for (int ci = 0; ci < NCONT; ci++)
		if (C[ci].selected && !C[ci].skip && test_has_contender(test, ci))
			return ci;
	return -1;
}

static long calibrate(const struct cell *c, int ref)
{
	long mmin = opt_quick ? 50 : 200, mmax = 1000000;
	long m = opt_quick ? 32 : 64;
	double out[3], el;

	for (;;) {
		snprintf(ctx, sizeof(ctx), "calibrating %s n=%d size=%zu on %s (M=%ld)",
			 test_name[c->test], c->n, c->size, C[ref].name, m);
		el = measure(c->test, c->n, c->size, ref, m, out);
		if (el >= opt_target / 4 || m >= mmax)
			break;
		m *= el < opt_target / 64 ? 8 : 2;
	}
	m = (long)((double)m * opt_target / el);
	if (m < mmin)
		m = mmin;
	if (m > mmax)
		m = mmax;
	if (opt_verbose)
		fprintf(stderr, "ripc_bench: %s n=%d size=%zu: M=%ld\n", test_name[c->test], c->n,
			c->size, m);
	return m;
}

static void add_cells(void)
{
	for (int t = 0; t < NTEST; t++) {
		if (!(opt_tests & (1 << t)) || ref_contender(t) < 0)
			continue;
		for (int k = 0; k < (t == T_SHARED || t == T_PAIRS ? nns : 1); k++)
			for (int s = 0; s < nsizes; s++)
				cells[ncells++] = (struct cell){ t, (t == T_SHARED || t == T_PAIRS) ? ns_list[k] : 1,
								 sizes[s], 0 };
	}
}

static void run_cell(struct cell *c, int rep)
{
	int list[NCONT], nl = 0;

	for (int ci = 0; ci < NCONT; ci++)
		if (C[ci].selected && !C[ci].skip && test_has_contender(c->test, ci))
			list[nl++] = ci;
	if (c->test != T_MEMORY && c->m == 0)
		c->m = calibrate(c, ref_contender(c->test));
	for (int k = 0; k < nl; k++) {
		int ci = list[(k + rep) % nl];
		double out[3];

		snprintf(ctx, sizeof(ctx), "%s n=%d size=%zu %s (run %d)", test_name[c->test], c->n,
			 c->size, C[ci].name, rep + 1);
		if (opt_insn) {
			/* No memory test (main() keeps to the others); a
			 * contention cell's M is its messages, N x m. */
			if (C[ci].dropin < 0)
				print_maps();
			marking = 1;
			measure(c->test, c->n, c->size, ci, c->m, out);
			marking = 0;
			printf("RIPC-INSN-CELL %s %d %zu %s %ld\n", test_name[c->test], c->n, c->size,
			       C[ci].name,
			       c->test == T_SHARED || c->test == T_PAIRS ? (long)c->n * c->m : c->m);
			fflush(stdout);
			continue;
		}
		switch (c->test) {
		case T_PINGPONG:
			measure(c->test, c->n, c->size, ci, c->m, out);
			fig_add(c->test, c->n, c->size, ci, U_RTS, c->m, out[0]);
			fig_add(c->test, c->n, c->size, ci, U_RTT_MED, c->m, out[1]);
			fig_add(c->test, c->n, c->size, ci, U_RTT_P99, c->m, out[2]);
			break;
		case T_STREAM:
			measure(c->test, c->n, c->size, ci, c->m, out);
			fig_add(c->test, c->n, c->size, ci, U_MSGS, c->m, out[0]);
			fig_add(c->test, c->n, c->size, ci, U_MBS, c->m, out[1]);
			break;
		case T_SHARED:
		case T_PAIRS:
			measure(c->test, c->n, c->size, ci, c->m, out);
			fig_add(c->test, c->n, c->size, ci, U_MSGS, c->m, out[0]);
			break;
		case T_MEMORY:
			measure_memory(c->size, ci, out);
			fig_add(c->test, c->n, c->size, ci, U_BPM, mem_msgs(c->size, ci), out[0]);
			fig_add(c->test, c->n, c->size, ci, U_SLAB, mem_msgs(c->size, ci), out[1]);
			break;
		}
		if (opt_verbose)
			fprintf(stderr, "ripc_bench: %s: %.4g\n", ctx, out[0]);
	}
}

/* Does the module take batches?  (ENOTTY/EINVAL: no.) */
static const char *probe_batch(int ci)
{
	static char why[128];
	struct mbuf *b = mbuf_new(16);
	struct chan ch;
	const char *res = NULL;

	snprintf(ctx, sizeof(ctx), "probing %s", C[ci].name);
	chan_open(&ch, ci, 16, 1, 1);
	for (int receive = 0; receive < 2 && !res; receive++) {
		long r;

		if (C[ci].fam == F_MQ) {
			struct ripc_mq_item it = { .msg_ptr = (uintptr_t)b->mtext, .msg_len = 16 };
			struct ripc_mq_batch mb = { .size = sizeof(mb), .count = 1, .items = (uintptr_t)&it };

			r = ioctl(ch.sfd, receive ? RIPC_MQ_RECEIVE_BATCH : RIPC_MQ_SEND_BATCH, &mb);
		} else {
			struct ripc_msg_item it = { .msgp = (uintptr_t)b, .msgsz = 16 };
			struct ripc_msg_batch sb = { .size = sizeof(sb), .msqid = ch.id, .msgflg = IPC_NOWAIT,
						     .count = 1, .items = (uintptr_t)&it };

			r = ioctl(ripc_device_fd(), receive ? RIPC_MSGRCV_BATCH : RIPC_MSGSND_BATCH, &sb);
		}
		if (r < 0 && (errno == ENOTTY || errno == EINVAL || errno == EOPNOTSUPP)) {
			snprintf(why, sizeof(why), "the module does not take batch %ss (%s)",
				 receive ? "receive" : "send", strerror(errno));
			res = why;
		} else if (r != 1) {
			die("batch %s of 1 item returned %ld (%s)", receive ? "receive" : "send", r,
			    r < 0 ? strerror(errno) : "expected 1");
		}
	}
	chan_close(&ch);
	free(b);
	return res;
}

static void usage(FILE *o)
{
	fprintf(o,
		"usage: ripc_bench [--quick] [--runs R] [--json FILE|-] [--only C1,C2,...]\n"
		"                  [--tests T1,...] [--sizes S1,...] [--n N1,...] [--target SECONDS]\n"
		"                  [--verbose]\n"
		"                  [--insn] [--maps] [--fifo-pingpong] [--threaded] [--preload PATH]\n"
		"                  [--memcg]\n"
		"  --quick       R=2, sizes 64 and 4096, N=1,2, short measurements (smoke test)\n"
		"  --runs R      repetitions of every figure (default 5, at most %d)\n"
		"  --json FILE   write the results as JSON; '-' (or /dev/stdout): to stdout\n"
		"                between ===JSON-BEGIN=== and ===JSON-END=== lines (and the\n"
		"                table between ===TABLE-BEGIN=== and ===TABLE-END===)\n"
		"  --only LIST   contenders: ripc-mq,native-mq,ripc-sysv,native-sysv,pipe,\n"
		"                unix-dgram,ripc-mq-batch,ripc-sysv-batch,dropin-mq,dropin-sysv\n"
		"                (default: all)\n"
		"  --tests LIST  pingpong,stream,contention,memory (default: all)\n"
		"  --sizes LIST  message sizes in bytes, 16..65536 (default 16,64,512,4096,65536)\n"
		"  --n LIST      contention's senders and receivers, 1..8 each (default 1,2,4)\n"
		"  --target S    seconds one measurement should take (default 0.2; quick 0.03)\n"
		"  --verbose     print every measurement on stderr\n"
		"  --insn        mark pingpong and stream for bench/insn_plugin.so (instruction\n"
		"                counts under QEMU; scripts/bench --insn); no timing table;\n"
		"                contention too if --tests names it (per message, all N pairs)\n"
		"  --maps        with --insn: print the executable mappings of each measuring\n"
		"                process (RIPC-MAPS lines, for insn_report.py --profile)\n"
		"  --memcg       run in a new child memory cgroup of /sys/fs/cgroup (cgroup v2,\n"
		"                memory controller on), as a container's or a systemd service's\n"
		"                processes do: both sides' messages are charged to it\n"
		"  --fifo-pingpong  with --insn: ping-pong's two processes SCHED_FIFO as a\n"
		"                stream's are, so that its count does not follow the timer\n"
		"                ticks a round trip sees (within 0.2%% from run to run, to\n"
		"                compare two builds; make bench keeps ping-pong in the\n"
		"                fair class, where programs run)\n"
		"  --threaded    each measuring process has a second, idle thread, as most\n"
		"                programs do: glibc's wrappers and libripc take their paths\n"
		"                for a multi-threaded process (cancellation points)\n"
		"  --preload P   the drop-in for dropin-mq and dropin-sysv (default\n"
		"                $RIPC_PRELOAD, else /selftests/libripc_preload.so)\n",
		MAXR);
}

static int parse_list(char *arg, const char *what, int (*lookup)(const char *))
{
	int mask = 0;

	for (char *tok = strtok(arg, ","); tok; tok = strtok(NULL, ",")) {
		int i = lookup(tok);

		if (i < 0) {
			fprintf(stderr, "ripc_bench: unknown %s '%s'\n", what, tok);
			usage(stderr);
			exit(2);
		}
		mask |= i;
	}
	return mask;
}

static int lookup_contender(const char *s)
{
	for (int i = 0; i < NCONT; i++)
		if (!strcmp(s, C[i].name))
			return 1 << i;
	return -1;
}

static int lookup_test(const char *s)
{
	if (!strcmp(s, "pingpong"))
		return 1 << T_PINGPONG;
	if (!strcmp(s, "stream"))
		return 1 << T_STREAM;
	if (!strcmp(s, "contention"))
		return 1 << T_SHARED | 1 << T_PAIRS;
	if (!strcmp(s, "contention-shared"))
		return 1 << T_SHARED;
	if (!strcmp(s, "contention-pairs"))
		return 1 << T_PAIRS;
	if (!strcmp(s, "memory"))
		return 1 << T_MEMORY;
	return -1;
}

/*
 * --memcg: this process (and the children it forks) into a new memory
 * cgroup, a child of the cgroup v2 root, so that every message's kmalloc
 * (GFP_KERNEL_ACCOUNT, native's and the module's) is charged to it as in
 * a container or a systemd service; in the root cgroup nothing is.
 */
static char memcg_dir[64];

static void enter_memcg(void)
{
	char pid[24], path[96];
	struct stat st;

	snprintf(memcg_dir, sizeof(memcg_dir), "/sys/fs/cgroup/ripc_bench.%d", (int)getpid());
	if (mkdir(memcg_dir, 0755) < 0)
		DIE_ERRNO("--memcg: mkdir /sys/fs/cgroup/ripc_bench.PID (cgroup v2 mounted?)");
	snprintf(path, sizeof(path), "%s/memory.current", memcg_dir);
	if (stat(path, &st) < 0)
		die("--memcg: no %s: the memory controller is not on for the root's children",
		    path);
	snprintf(path, sizeof(path), "%s/cgroup.procs", memcg_dir);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, pid, strlen(pid)) < 0)
		DIE_ERRNO("--memcg: joining the new cgroup");
	close(fd);
}

/* Back to the root cgroup, and the child removed (its charges stay with it). */
static void leave_memcg(void)
{
	char pid[24];

	if (!memcg_dir[0])
		return;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	write_str_file("/sys/fs/cgroup/cgroup.procs", pid);
	if (rmdir(memcg_dir) < 0)
		note("--memcg: could not remove %s: %s", memcg_dir, strerror(errno));
	memcg_dir[0] = 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' }, { "runs", required_argument, NULL, 'r' },
		{ "json", required_argument, NULL, 'j' }, { "only", required_argument, NULL, 'o' },
		{ "tests", required_argument, NULL, 't' }, { "target", required_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' },
		{ "insn", no_argument, NULL, 'I' }, { "sizes", required_argument, NULL, 's' },
		{ "maps", no_argument, NULL, 'M' }, { "preload", required_argument, NULL, 'P' },
		{ "fifo-pingpong", no_argument, NULL, 'F' }, { "n", required_argument, NULL, 'N' },
		{ "memcg", no_argument, NULL, 'G' }, { "threaded", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 }
	};
	int only = 0, runs = -1, opt, markers;
	char *size_arg = NULL, *n_arg = NULL;
	double target = -1;
	uint64_t start = now_ns(), t;
	FILE *jf = NULL;

	if (argc > 1 && !strcmp(argv[1], "--dropin-child"))
		return dropin_child(argc, argv);
	opt_preload = getenv("RIPC_PRELOAD");
	if (!opt_preload || !*opt_preload)
		opt_preload = "/selftests/libripc_preload.so";
	while ((opt = next_opt(argc, argv, "qr:j:o:t:T:vhIs:MP:FN:GH", lo)) != -1) {
		switch (opt) {
		case 'I':
			opt_insn = 1;
			break;
		case 'M':
			opt_maps = 1;
			break;
		case 'F':
			opt_fifo_pingpong = 1;
			break;
		case 'H':
			opt_threaded = 1;
			break;
		case 'G':
			opt_memcg = 1;
			break;
		case 'P':
			opt_preload = optarg;
			break;
		case 's':
			size_arg = optarg;
			break;
		case 'N':
			n_arg = optarg;
			break;
		case 'o':
			only = parse_list(optarg, "contender", lookup_contender);
			break;
		case 't':
			opt_tests = parse_list(optarg, "test", lookup_test);
			tests_given = 1;
			break;
		case 'T':
			target = atof(optarg);
			if (!(target > 0 && target <= 60)) {
				fprintf(stderr, "ripc_bench: --target must be in (0, 60]\n");
				return 2;
			}
			break;
		default:
			common_opt(opt, optarg, &runs);
		}
	}
	if (opt_quick) {
		opt_runs = 2;
		opt_target = 0.03;
		watchdog_s = 30;
		sizes[nsizes++] = 64;
		sizes[nsizes++] = 4096;
		ns_list[nns++] = 1;
		ns_list[nns++] = 2;
	} else {
		static const size_t all[] = { 16, 64, 512, 4096, BIG_SIZE };

		for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
			sizes[nsizes++] = all[i];
		ns_list[nns++] = 1;
		ns_list[nns++] = 2;
		ns_list[nns++] = 4;
	}
	if (size_arg) {
		nsizes = 0;
		for (char *tok = strtok(size_arg, ","); tok; tok = strtok(NULL, ",")) {
			long v = atol(tok);

			if (v < 16 || v > BIG_SIZE || nsizes == (int)(sizeof(sizes) / sizeof(sizes[0]))) {
				fprintf(stderr, "ripc_bench: --sizes: 16..%d bytes, at most %zu sizes\n",
					BIG_SIZE, sizeof(sizes) / sizeof(sizes[0]));
				return 2;
			}
			sizes[nsizes++] = (size_t)v;
		}
	}
	if (n_arg) {
		nns = 0;
		for (char *tok = strtok(n_arg, ","); tok; tok = strtok(NULL, ",")) {
			long v = atol(tok);

			if (v < 1 || v > MAXPROC / 2 || nns == (int)(sizeof(ns_list) / sizeof(ns_list[0]))) {
				fprintf(stderr, "ripc_bench: --n: 1..%d, at most %zu values\n", MAXPROC / 2,
					sizeof(ns_list) / sizeof(ns_list[0]));
				return 2;
			}
			ns_list[nns++] = (int)v;
		}
	}
	if (runs > 0)
		opt_runs = runs;
	if (target > 0)
		opt_target = target;
	if (watchdog_s < opt_target * 100)
		watchdog_s = (int)(opt_target * 100);
	for (int i = 0; i < NCONT; i++)
		C[i].selected = only ? !!(only & (1 << i)) : 1;
	if (opt_insn) {
		/* Pingpong and stream, unless --tests asks for contention too. */
		opt_tests &= tests_given ? ~(1 << T_MEMORY) : 1 << T_PINGPONG | 1 << T_STREAM;
		if (opt_json) {
			fprintf(stderr, "ripc_bench: --insn has no JSON (bench/insn_report.py makes it)\n");
			return 2;
		}
	}
	if (geteuid() != 0)
		fprintf(stderr, "ripc_bench: warning: not root: the limits cannot be raised, "
				"large queues will fail\n");
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		DIE_ERRNO("mmap");
	markers = json_open(opt_json, &jf);
	install_handlers();

	if (opt_memcg)
		enter_memcg();
	raise_native_limits();
	if (any_selected(1)) {
		setup_ripc();
		for (int ci = 0; ci < NCONT; ci++) {
			if (C[ci].selected && (C[ci].batch || C[ci].dropin >= 0)) {
				C[ci].skip = C[ci].batch ? probe_batch(ci) : probe_dropin(ci);
				if (C[ci].skip && only) {
					fprintf(stderr, "ripc_bench: error: %s: %s\n", C[ci].name, C[ci].skip);
					cleanup_all();
					return 2;
				}
				if (C[ci].skip)
					note("%s skipped: %s", C[ci].name, C[ci].skip);
			}
		}
	}
	for (int i = 0; i < nsysctls; i++)
		if (sysctls[i].changed && opt_verbose)
			fprintf(stderr, "ripc_bench: %s raised (was %.*s)\n", sysctls[i].path, (int)strcspn(sysctls[i].old, "\n"), sysctls[i].old);

	add_cells();
	if (ncells == 0) {
		fprintf(stderr, "ripc_bench: nothing to run with these --only/--tests\n");
		cleanup_all();
		return 2;
	}
	fprintf(stderr, "ripc_bench: %d runs of %d cells, ~%.2f s per measurement%s\n", opt_runs,
		ncells, opt_target, opt_quick ? " (quick)" : "");
	for (int rep = 0; rep < opt_runs; rep++) {
		for (int test = 0; test < NTEST; test++) {
			int did = 0;

			t = now_ns();
			for (int i = 0; i < ncells; i++) {
				if (cells[i].test == test) {
					run_cell(&cells[i], rep);
					did = 1;
				}
			}
			if (did)
				fprintf(stderr, "ripc_bench: run %d/%d: %-17s %6.1f s (total %6.1f s)\n",
					rep + 1, opt_runs, test_name[test], secs_since(t), secs_since(start));
		}
	}
	snprintf(ctx, sizeof(ctx), "output");
	fig_stats();
	double elapsed = secs_since(start);

	cleanup_all();
	leave_memcg();
	return emit_results(markers, !opt_insn, jf, opt_json, elapsed);
}
