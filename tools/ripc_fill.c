// SPDX-License-Identifier: GPL-2.0
/*
 * ripc_fill NAME KEY (a test helper): create a POSIX queue NAME and a System V queue KEY on
 * /dev/rust_ipc and leave messages of several sizes in both (used by the
 * module lifecycle test: unloading must free them).  Both are made new
 * (EEXIST if either exists), so that a second run fails rather than blocks
 * on a full queue.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/rust_ipc.h>

int main(int argc, char **argv)
{
	static char buf[3 * 4096 + 8];
	struct ripc_mq_attr attr = { .mq_maxmsg = 4, .mq_msgsize = 3 * 4096 };
	size_t sizes[] = { 0, 1, 4096, 3 * 4096 };
	int fd, dev, id;
	char *end;
	long long key;

	if (argc != 3)
		return 2;
	/* The key first: nothing is made for a command line that is wrong. */
	errno = 0;
	key = strtoll(argv[2], &end, 0);
	if (!*argv[2] || *end || errno || key < INT_MIN || key > UINT32_MAX || key == 0) {
		fprintf(stderr, "ripc_fill: not a System V key: '%s'\n", argv[2]);
		return 2;
	}
	memset(buf, 0x5a, sizeof(buf));
	fd = open(RIPC_DEVICE, O_RDWR | O_CLOEXEC);
	dev = open(RIPC_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0 || dev < 0)
		return perror("open"), 1;
	struct ripc_mq_open o = { .size = sizeof(o), .oflag = O_RDWR | O_CREAT | O_EXCL, .mode = 0600,
				  .name = (uintptr_t)argv[1], .attr = (uintptr_t)&attr };
	if (ioctl(fd, RIPC_MQ_OPEN, &o))
		return perror("RIPC_MQ_OPEN"), 1;
	struct ripc_msgget g = { .size = sizeof(g), .key = (int)key, .msgflg = 01000 | 02000 | 0600 };
	id = ioctl(dev, RIPC_MSGGET, &g);
	if (id < 0)
		return perror("RIPC_MSGGET"), 1;
	for (unsigned i = 0; i < 4; i++) {
		struct ripc_mq_xfer x = { .size = sizeof(x), .msg_prio = i, .msg_ptr = (uintptr_t)buf,
					  .msg_len = sizes[i] };
		if (ioctl(fd, RIPC_MQ_SEND, &x))
			return perror("RIPC_MQ_SEND"), 1;
		*(long *)buf = i + 1;
		struct ripc_msgsnd s = { .size = sizeof(s), .msqid = id, .msgp = (uintptr_t)buf,
					 .msgsz = sizes[i] > 8192 ? 8192 : sizes[i] };
		if (ioctl(dev, RIPC_MSGSND, &s))
			return perror("RIPC_MSGSND"), 1;
	}
	printf("queued 4 messages in %s and in key %s (id %d)\n", argv[1], argv[2], id);
	return 0;
}
