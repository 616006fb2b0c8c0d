// SPDX-License-Identifier: GPL-2.0
/*
 * SIGEV_THREAD callback latency: the time from mq_send() on an empty queue
 * to the start of the mq_notify(SIGEV_THREAD) function, N times (default
 * 200, after 10 not counted), as median, 10th and 90th percentile.  With
 * "take" as the second argument the sender receives the message at once,
 * before the call (a receiver that empties the queue first).  A
 * measurement, not a test (it always exits 0 unless a call fails).  Run it
 * as it is for glibc on the native queues, and with
 * LD_PRELOAD=libripc_preload.so for the drop-in on rust_ipc, in one boot:
 *
 *	scripts/vm-run -- '/selftests/preload/notify_latency; \
 *		LD_PRELOAD=/selftests/libripc_preload.so /selftests/preload/notify_latency'
 *
 * Built dynamically only ($(OUT)/preload/notify_latency), as libc_mq.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 10

static sem_t called;
static struct timespec at;

static long long ns(struct timespec t)
{
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void notified(union sigval v)
{
	(void)v;
	clock_gettime(CLOCK_MONOTONIC, &at);
	sem_post(&called);
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct mq_attr attr = { .mq_maxmsg = 4, .mq_msgsize = 16 };
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD };
	int n = argc > 1 ? atoi(argv[1]) : 200;
	int take = argc > 2 && !strcmp(argv[2], "take");
	const char *who = getenv("LD_PRELOAD") ? "drop-in (rust_ipc)" : "glibc (native)";
	long long *lat;
	struct timespec t0;
	char name[64], buf[16];
	mqd_t q;

	if (n < 1 || !(lat = calloc(n, sizeof(*lat))))
		return 2;
	snprintf(name, sizeof(name), "/ripc_lat_%d", getpid());
	q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
	if (q < 0 || sem_init(&called, 0, 0)) {
		perror("mq_open");
		return 1;
	}
	mq_unlink(name);
	sev.sigev_notify_function = notified;
	for (int i = 0; i < n + WARMUP; i++) {
		if (mq_notify(q, &sev)) {
			perror("mq_notify");
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (mq_send(q, "x", 1, 0)) {
			perror("mq_send");
			return 1;
		}
		if (take && mq_receive(q, buf, sizeof(buf), NULL) != 1) {
			perror("mq_receive");
			return 1;
		}
		while (sem_wait(&called) && errno == EINTR)
			;
		if (i >= WARMUP)
			lat[i - WARMUP] = ns(at) - ns(t0);
		if (!take && mq_receive(q, buf, sizeof(buf), NULL) != 1) {
			perror("mq_receive");
			return 1;
		}
	}
	qsort(lat, n, sizeof(*lat), cmp);
	printf("notify_latency: %s%s: median %lld us, p10 %lld us, p90 %lld us (%d calls)\n",
	       who, take ? ", message taken at once" : "", lat[n / 2] / 1000, lat[n / 10] / 1000,
	       lat[n * 9 / 10] / 1000, n);
	mq_close(q);
	return 0;
}
