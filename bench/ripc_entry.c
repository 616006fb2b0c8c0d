// SPDX-License-Identifier: GPL-2.0
/*
 * ripc_entry: what it costs to reach a queue, in guest instructions per
 * call (scripts/bench --entry, with bench/out/insn_plugin.so): calls that
 * enter the kernel and fail before any message is copied (a full queue's
 * send, an empty queue's receive, a receive on a descriptor that is not a
 * queue), natively and through libripc, and the kernel's cheapest entries
 * a module could have (read, write and ioctl on /dev/null, and an ioctl
 * the module refuses); and a typed receive's walk: a msgsnd and a msgrcv
 * of its type that finds its message behind 0, 64 and 1024 of another
 * type (per call: the pair).
 *
 *   ripc_entry [N [NAME]]   N calls per measurement (default 20000); only
 *                           the measurement NAME if given, after the
 *                           executable mappings ("RIPC-MAPS" lines, as
 *                           ripc_bench --maps's: for a profile boot)
 *
 * Prints "RIPC-ENTRY name" before each measurement, whose START and END
 * markers (as ripc_bench --insn's) the plugin logs in the same order, and
 * "RIPC-INSN-CELL entry N 0 name N" after it (for bench/insn_report.py
 * --profile: per call), and "RIPC-ENTRY-NS name t" with its time in
 * nanoseconds per call (CLOCK_MONOTONIC; under the plugin, its time).
 * Static, so that no dynamic linking is measured.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/msg.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/rust_ipc.h>
#include "ripc.h"

#define START() __asm__ volatile(".byte 0x0f,0x1f,0x84,0x00,0x01,0x00,0x49,0x52" ::: "memory")
#define END() __asm__ volatile(".byte 0x0f,0x1f,0x84,0x00,0x02,0x00,0x49,0x52" ::: "memory")

static long n = 20000;
static const char *only;

/* Runs CALL n times between the markers; each must fail with ERR (0: return >= 0). */
#define MEASURE(name, err, call)                                                           \
	do {                                                                               \
		long i_, bad_ = 0;                                                         \
		struct timespec t0_, t1_;                                                  \
		if (only && strcmp(only, name))                                            \
			break;                                                             \
		printf("RIPC-ENTRY %s\n", name);                                           \
		fflush(stdout);                                                            \
		clock_gettime(CLOCK_MONOTONIC, &t0_);                                      \
		START();                                                                   \
		for (i_ = 0; i_ < n; i_++)                                                 \
			bad_ += (err) ? !((call) < 0 && errno == (err)) : (call) < 0;      \
		END();                                                                     \
		clock_gettime(CLOCK_MONOTONIC, &t1_);                                      \
		if (bad_) {                                                                \
			fprintf(stderr, "ripc_entry: %s: %ld calls gave another result\n", \
				name, bad_);                                               \
			exit(1);                                                           \
		}                                                                          \
		printf("RIPC-INSN-CELL entry %ld 0 %s %ld\n", n, name, n);                 \
		printf("RIPC-ENTRY-NS %s %.1f\n", name,                                   \
		       ((t1_.tv_sec - t0_.tv_sec) * 1e9 + (t1_.tv_nsec - t0_.tv_nsec)) / n); \
	} while (0)

static void die(const char *what)
{
	perror(what);
	exit(1);
}

struct msg64 {
	long mtype;
	char text[64];
};

int main(int argc, char **argv)
{
	struct mq_attr attr = { .mq_maxmsg = 1, .mq_msgsize = 64 };
	struct msqid_ds ds;
	struct msg64 m = { .mtype = 1 };
	struct timespec later = { .tv_sec = 1L << 40 };
	char buf[64] = "x";
	int nul, dev, nfull, nempty, rfull, rempty, sfull, sempty, qfull, qempty;

	if (argc > 1)
		n = atol(argv[1]);
	if (argc > 2)
		only = argv[2];
	nul = open("/dev/null", O_RDWR);
	dev = ripc_device_fd();
	if (nul < 0 || dev < 0)
		die("open");
	/* A full queue to send to and an empty one to receive from, each side. */
	mq_unlink("/entry-full");
	mq_unlink("/entry-empty");
	nfull = mq_open("/entry-full", O_RDWR | O_CREAT | O_NONBLOCK, 0600, &attr);
	nempty = mq_open("/entry-empty", O_RDWR | O_CREAT | O_NONBLOCK, 0600, &attr);
	rfull = ripc_mq_open("/entry-full", O_RDWR | O_CREAT | O_NONBLOCK, 0600, &attr);
	rempty = ripc_mq_open("/entry-empty", O_RDWR | O_CREAT | O_NONBLOCK, 0600, &attr);
	if (nfull < 0 || nempty < 0 || rfull < 0 || rempty < 0)
		die("mq_open");
	if (mq_send(nfull, buf, 64, 0) || ripc_mq_send(rfull, buf, 64, 0))
		die("mq_send");
	sfull = msgget(IPC_PRIVATE, 0600);
	sempty = msgget(IPC_PRIVATE, 0600);
	qfull = ripc_msgget(IPC_PRIVATE, 0600);
	qempty = ripc_msgget(IPC_PRIVATE, 0600);
	if (sfull < 0 || sempty < 0 || qfull < 0 || qempty < 0)
		die("msgget");
	if (msgctl(sfull, IPC_STAT, &ds))
		die("msgctl");
	ds.msg_qbytes = 64;
	if (msgctl(sfull, IPC_SET, &ds) || ripc_msgctl(qfull, IPC_SET, &ds))
		die("msgctl IPC_SET");
	if (msgsnd(sfull, &m, 64, 0) || ripc_msgsnd(qfull, &m, 64, 0))
		die("msgsnd");

	/* One measurement (a profile boot): the executable mappings, for
	 * bench/insn_report.py --profile to name user-space functions. */
	if (only) {
		char line[512], perms[8];
		FILE *f = fopen("/proc/self/maps", "re");

		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "%*s %7s", perms) == 1 && perms[2] == 'x')
				printf("RIPC-MAPS %s", line);
		if (f)
			fclose(f);
		fflush(stdout);
	}
	MEASURE("getppid", 0, syscall(SYS_getppid));
	MEASURE("ioctl-null", ENOTTY, ioctl(nul, RIPC_MQ_TIMEDSEND, 0));
	MEASURE("pwrite-null", 0, pwrite(nul, buf, 64, 0));
	MEASURE("pread-null", 0, pread(nul, buf, 64, 0));
	MEASURE("ioctl-module", ENOTTY, ioctl(dev, _IO(RIPC_IOC_MAGIC, 0x7f), 0));
	MEASURE("native-mq-send-full", EAGAIN, mq_send(nfull, buf, 64, 0));
	MEASURE("ripc-mq-send-full", EAGAIN, ripc_mq_send(rfull, buf, 64, 0));
	MEASURE("native-mq-receive-empty", EAGAIN, mq_receive(nempty, buf, 64, NULL));
	MEASURE("ripc-mq-receive-empty", EAGAIN, ripc_mq_receive(rempty, buf, 64, NULL));
	/* stress-ng --mq's receiver makes one of these per message. */
	MEASURE("native-mq-receive-not-a-queue", EBADF,
		mq_timedreceive(nul, buf, 64, NULL, &later));
	MEASURE("ripc-mq-receive-not-a-queue", EBADF,
		ripc_mq_timedreceive(nul, buf, 64, NULL, &later));
	MEASURE("native-mq-receive-emsgsize", EMSGSIZE, mq_receive(nempty, buf, 63, NULL));
	MEASURE("ripc-mq-receive-emsgsize", EMSGSIZE, ripc_mq_receive(rempty, buf, 63, NULL));
	MEASURE("native-mq-receive-fd-1", EBADF, mq_timedreceive(-1, buf, 64, NULL, &later));
	MEASURE("ripc-mq-receive-fd-1", EBADF, ripc_mq_timedreceive(-1, buf, 64, NULL, &later));
	MEASURE("native-msgsnd-full", EAGAIN, msgsnd(sfull, &m, 64, IPC_NOWAIT));
	MEASURE("ripc-msgsnd-full", EAGAIN, ripc_msgsnd(qfull, &m, 64, IPC_NOWAIT));
	MEASURE("native-msgrcv-empty", ENOMSG, msgrcv(sempty, &m, 64, 0, IPC_NOWAIT));
	MEASURE("ripc-msgrcv-empty", ENOMSG, ripc_msgrcv(qempty, &m, 64, 0, IPC_NOWAIT));

	/* A typed receive walks the messages of other types before its own. */
	{
		static const int past[] = { 0, 64, 1024 };
		int snat = msgget(IPC_PRIVATE, 0600), srip = ripc_msgget(IPC_PRIVATE, 0600), have = 0;
		struct msg64 other = { .mtype = 2 };
		char name[2][48];

		if (snat < 0 || srip < 0)
			die("msgget");
		ds.msg_qbytes = 2048 * 64;
		if (msgctl(snat, IPC_SET, &ds) || ripc_msgctl(srip, IPC_SET, &ds))
			die("msgctl IPC_SET");
		for (size_t k = 0; k < sizeof(past) / sizeof(past[0]); k++) {
			for (; have < past[k]; have++)
				if (msgsnd(snat, &other, 64, 0) || ripc_msgsnd(srip, &other, 64, 0))
					die("msgsnd");
			snprintf(name[0], sizeof(name[0]), "native-msgrcv-typed-past-%d", past[k]);
			snprintf(name[1], sizeof(name[1]), "ripc-msgrcv-typed-past-%d", past[k]);
			MEASURE(name[0], 0, msgsnd(snat, &m, 64, 0) ? -1 : msgrcv(snat, &m, 64, 1, 0));
			MEASURE(name[1], 0,
				ripc_msgsnd(srip, &m, 64, 0) ? -1 : ripc_msgrcv(srip, &m, 64, 1, 0));
		}
		msgctl(snat, IPC_RMID, NULL);
		ripc_msgctl(srip, IPC_RMID, NULL);
	}

	/* stress-ng --msg makes and removes a queue every few messages. */
	MEASURE("native-msgget-rmid", 0, msgctl(msgget(IPC_PRIVATE, IPC_CREAT | 0600), IPC_RMID, NULL));
	MEASURE("ripc-msgget-rmid", 0,
		ripc_msgctl(ripc_msgget(IPC_PRIVATE, IPC_CREAT | 0600), IPC_RMID, NULL));

	/* Looking up what exists (bench/ripc_scale times them with many
	 * other queues): a key, and a name opened and closed. */
	{
		int snat = msgget(0x52495043, IPC_CREAT | 0600);
		int srip = ripc_msgget(0x52495043, IPC_CREAT | 0600);

		if (snat < 0 || srip < 0)
			die("msgget(key)");
		MEASURE("native-msgget-key", 0, msgget(0x52495043, 0600) == snat ? 0 : -1);
		MEASURE("ripc-msgget-key", 0, ripc_msgget(0x52495043, 0600) == srip ? 0 : -1);
		msgctl(snat, IPC_RMID, NULL);
		ripc_msgctl(srip, IPC_RMID, NULL);
	}
	MEASURE("native-mq-open-close", 0, ({
			int q_ = mq_open("/entry-empty", O_RDWR);
			q_ < 0 ? -1 : close(q_);
		}));
	MEASURE("ripc-mq-open-close", 0, ({
			int q_ = ripc_mq_open("/entry-empty", O_RDWR);
			q_ < 0 ? -1 : close(q_);
		}));

	MEASURE("native-mq-open-close-unlink", 0, ({
			int q_ = mq_open("/entry-new", O_RDWR | O_CREAT, 0600, &attr);
			q_ < 0 ? -1 : (close(q_), mq_unlink("/entry-new"));
		}));
	MEASURE("ripc-mq-open-close-unlink", 0, ({
			int q_ = ripc_mq_open("/entry-new", O_RDWR | O_CREAT, 0600, &attr);
			q_ < 0 ? -1 : (close(q_), ripc_mq_unlink("/entry-new"));
		}));

	mq_unlink("/entry-full");
	mq_unlink("/entry-empty");
	ripc_mq_unlink("/entry-full");
	ripc_mq_unlink("/entry-empty");
	msgctl(sfull, IPC_RMID, NULL);
	msgctl(sempty, IPC_RMID, NULL);
	ripc_msgctl(qfull, IPC_RMID, NULL);
	ripc_msgctl(qempty, IPC_RMID, NULL);
	printf("RIPC-ENTRY-DONE %ld\n", n);
	return 0;
}
