// SPDX-License-Identifier: GPL-2.0
/*
 * ripcctl: look at and drive rust_ipc queues from the shell (ipcs, ipcrm and
 * ls /dev/mqueue together).
 *
 *   ripcctl version                      ABI version and limits
 *   ripcctl list                         every queue of both kinds
 *   ripcctl mq-create NAME [MAXMSG MSGSIZE]
 *   ripcctl mq-send NAME PRIO TEXT
 *   ripcctl mq-recv NAME [COUNT]         receive COUNT messages (default 1)
 *   ripcctl mq-notify-recv NAME COUNT [MS]
 *                                        register SIGUSR1 notification, wait
 *                                        for it, print the siginfo, wait MS
 *                                        milliseconds, receive COUNT
 *   ripcctl mq-watch NAME [COUNT]        register a notification descriptor,
 *                                        wait for COUNT firings (default 1,
 *                                        re-registering after each: a queue
 *                                        that others drain), print each record
 *   ripcctl mq-unlink NAME
 *   ripcctl msg-send KEY TYPE TEXT       (creates the queue if needed)
 *   ripcctl msg-recv KEY TYPE [FLAGS]    TYPE as msgrcv's msgtyp; FLAGS: e (MSG_EXCEPT)
 *   ripcctl msg-rm KEY
 *   ripcctl peek NAME [POS]              print the message at POS in receive order
 *                                        (default: every message), leaving it queued
 *   ripcctl dump > FILE                  the namespace's queues as a stream
 *   ripcctl restore < FILE               recreate them (in a namespace with none)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <unistd.h>
#include "ripc.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static int fail(const char *what)
{
	fprintf(stderr, "ripcctl: %s: %s\n", what, strerror(errno));
	return 1;
}

static int mq_recv(int fd, long n)
{
	struct mq_attr a;
	if (ripc_mq_getattr(fd, &a))
		return fail("getattr");
	char *buf = malloc(a.mq_msgsize + 1);
	for (long i = 0; i < n; i++) {
		unsigned prio;
		ssize_t len = ripc_mq_receive(fd, buf, a.mq_msgsize, &prio);
		if (len < 0)
			return fail("mq_receive");
		printf("[pid %d] received prio %u: %.*s\n", getpid(), prio, (int)len, buf);
	}
	free(buf);
	return 0;
}

/* Prints the messages of queue NAME at positions from on (all of them, or one). */
static int peek(const char *name, size_t from, int all)
{
	struct ripc_mq_item items[64];
	struct mq_attr a;
	size_t pos = from;
	int fd = ripc_mq_open(name, O_RDONLY);
	char *buf;

	if (fd < 0 || ripc_mq_getattr(fd, &a))
		return fail("mq_open");
	buf = malloc(ARRAY_LEN(items) * a.mq_msgsize + 1);
	if (!buf)
		return fail("malloc");
	for (;;) {
		unsigned int want = all ? ARRAY_LEN(items) : 1;
		int n;

		for (unsigned int i = 0; i < want; i++)
			items[i] = (struct ripc_mq_item){ .msg_ptr = (uintptr_t)(buf + i * a.mq_msgsize),
							  .msg_len = a.mq_msgsize };
		n = ripc_mq_peek_batch(fd, items, want, pos);
		if (n < 0 && errno == ENOMSG && all && pos > from)
			break;
		if (n < 0)
			return fail("peek");
		for (int i = 0; i < n; i++, pos++)
			printf("[%zu] prio %u, %llu bytes: %.*s\n", pos, items[i].msg_prio,
			       (unsigned long long)items[i].msg_len, (int)items[i].msg_len,
			       buf + i * a.mq_msgsize);
		if (!all || (unsigned int)n < want)
			break;
	}
	free(buf);
	return 0;
}

static int dump(void)
{
	void *buf;
	size_t len;

	if (isatty(STDOUT_FILENO)) {
		fprintf(stderr, "ripcctl: dump writes a binary stream: redirect it to a file\n");
		return 2;
	}
	if (ripc_dump_alloc(&buf, &len))
		return fail("dump");
	if (fwrite(buf, 1, len, stdout) != len || fflush(stdout))
		return fail("write");
	free(buf);
	return 0;
}

static int restore(void)
{
	size_t len = 0, size = 1 << 16;
	char *buf = malloc(size);
	size_t n;

	while (buf && (n = fread(buf + len, 1, size - len, stdin)) > 0) {
		char *bigger;

		len += n;
		if (len < size)
			continue;
		bigger = realloc(buf, size *= 2);
		if (!bigger)
			free(buf);
		buf = bigger;
	}
	if (!buf)
		return fail("malloc");
	if (ferror(stdin))
		return fail("read");
	if (ripc_restore(buf, len))
		return fail("restore");
	free(buf);
	return 0;
}

static int msgq(const char *key, int create)
{
	return ripc_msgget((key_t)strtol(key, NULL, 0), create ? IPC_CREAT | 0666 : 0);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "help";
	int fd, id;

	if (!strcmp(cmd, "version")) {
		struct ripc_version v = { .size = sizeof(v) };
		if (ripc_version(&v))
			return fail("version");
		struct ripc_limits *l = &v.limits;
		printf("rust_ipc ABI %u\n", v.abi_version);
		printf("mqueue: msg_default %u msgsize_default %u msg_max %u msgsize_max %u queues_max %u\n",
		       l->mq_msg_default, l->mq_msgsize_default, l->mq_msg_max, l->mq_msgsize_max,
		       l->mq_queues_max);
		printf("sysv: msgmax %u msgmnb %u msgmni %u\n", l->msgmax, l->msgmnb, l->msgmni);
		return 0;
	}
	if (!strcmp(cmd, "list")) {
		/* A page at a time: any number of queues, bounded memory. */
		static const struct { unsigned int which; const char *title; } t[] = {
			{ RIPC_LIST_POSIX, "POSIX queues" }, { RIPC_LIST_SYSV, "System V queues" },
		};
		char buf[4096];

		for (int i = 0; i < 2; i++) {
			uint64_t cursor = 0;
			ssize_t n;

			printf("%s:\n", t[i].title);
			while ((n = ripc_list_page(t[i].which, &cursor, buf, sizeof(buf))) > 0)
				fputs(buf, stdout);
			if (n < 0)
				return fail("list");
		}
		return 0;
	}
	if (!strcmp(cmd, "mq-create") && argc >= 3) {
		struct mq_attr a = { .mq_maxmsg = argc > 4 ? atol(argv[3]) : 10,
				     .mq_msgsize = argc > 4 ? atol(argv[4]) : 128 };
		fd = ripc_mq_open(argv[2], O_RDWR | O_CREAT, 0644, &a);
		return fd < 0 ? fail("mq_open") : 0;
	}
	if (!strcmp(cmd, "mq-send") && argc == 5) {
		fd = ripc_mq_open(argv[2], O_WRONLY);
		if (fd < 0 || ripc_mq_send(fd, argv[4], strlen(argv[4]), atoi(argv[3])))
			return fail("mq_send");
		printf("[pid %d] sent prio %s: %s\n", getpid(), argv[3], argv[4]);
		return 0;
	}
	if (!strcmp(cmd, "mq-recv") && argc >= 3) {
		fd = ripc_mq_open(argv[2], O_RDONLY);
		return fd < 0 ? fail("mq_open") : mq_recv(fd, argc > 3 ? atol(argv[3]) : 1);
	}
	if (!strcmp(cmd, "mq-notify-recv") && (argc == 4 || argc == 5)) {
		sigset_t set;
		siginfo_t si;
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigprocmask(SIG_BLOCK, &set, NULL);
		fd = ripc_mq_open(argv[2], O_RDONLY);
		struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1,
				       .sigev_value.sival_int = 42 };
		if (fd < 0 || ripc_mq_notify(fd, &ev))
			return fail("mq_notify");
		printf("[pid %d] waiting for the notification of %s\n", getpid(), argv[2]);
		fflush(stdout);
		if (sigwaitinfo(&set, &si) < 0)
			return fail("sigwaitinfo");
		printf("[pid %d] notified: signo %d code %s value %d from pid %d uid %d\n", getpid(),
		       si.si_signo, si.si_code == SI_MESGQ ? "SI_MESGQ" : "?", si.si_value.sival_int,
		       si.si_pid, si.si_uid);
		if (argc == 5)
			usleep(atoi(argv[4]) * 1000);
		return mq_recv(fd, atol(argv[3]));
	}
	if (!strcmp(cmd, "mq-watch") && (argc == 3 || argc == 4)) {
		long count = argc == 4 ? atol(argv[3]) : 1;
		struct ripc_notify_record r;
		int nfd = ripc_notify_fd_open(O_CLOEXEC);

		fd = ripc_mq_open(argv[2], O_RDONLY);
		if (fd < 0 || nfd < 0)
			return fail("mq_open");
		for (long i = 0; i < count; i++) {
			if (ripc_mq_notify_fd(fd, nfd, (union sigval){ .sival_int = (int)i }))
				return fail("mq_notify");
			if (i == 0) {
				printf("[pid %d] watching %s\n", getpid(), argv[2]);
				fflush(stdout);
			}
			if (read(nfd, &r, sizeof(r)) != sizeof(r))
				return fail("read");
			printf("[pid %d] notified: value %llu from pid %d uid %u\n", getpid(),
			       (unsigned long long)r.sigev_value, r.pid, r.uid);
			fflush(stdout);
		}
		return 0;
	}
	if (!strcmp(cmd, "mq-unlink") && argc == 3)
		return ripc_mq_unlink(argv[2]) ? fail("mq_unlink") : 0;
	if (!strcmp(cmd, "msg-send") && argc == 5) {
		struct { long mtype; char mtext[8192]; } m;
		size_t n = strlen(argv[4]);
		if (n > sizeof(m.mtext))
			n = sizeof(m.mtext);
		m.mtype = atol(argv[3]);
		memcpy(m.mtext, argv[4], n);
		if ((id = msgq(argv[2], 1)) < 0 || ripc_msgsnd(id, &m, n, 0))
			return fail("msgsnd");
		printf("[pid %d] sent type %ld: %s\n", getpid(), m.mtype, argv[4]);
		return 0;
	}
	if (!strcmp(cmd, "msg-recv") && argc >= 4) {
		struct { long mtype; char mtext[8192]; } m;
		int flg = argc > 4 && strchr(argv[4], 'e') ? MSG_EXCEPT : 0;
		ssize_t n;
		if ((id = msgq(argv[2], 1)) < 0 ||
		    (n = ripc_msgrcv(id, &m, sizeof(m.mtext), atol(argv[3]), flg)) < 0)
			return fail("msgrcv");
		printf("[pid %d] received type %ld: %.*s\n", getpid(), m.mtype, (int)n, m.mtext);
		return 0;
	}
	if (!strcmp(cmd, "msg-rm") && argc == 3) {
		if ((id = msgq(argv[2], 0)) < 0 || ripc_msgctl(id, IPC_RMID, NULL))
			return fail("msgctl(IPC_RMID)");
		return 0;
	}
	if (!strcmp(cmd, "peek") && (argc == 3 || argc == 4))
		return peek(argv[2], argc == 4 ? strtoul(argv[3], NULL, 0) : 0, argc == 3);
	if (!strcmp(cmd, "dump") && argc == 2)
		return dump();
	if (!strcmp(cmd, "restore") && argc == 2)
		return restore();
	fprintf(stderr, "usage: see the comment at the top of tools/ripcctl.c\n");
	return 2;
}
