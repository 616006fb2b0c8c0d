/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What ripc_bench and ripc_scale share: the clock, notes, fatal errors and
 * the signal handler, the child processes, the sysctls and rust_ipc limits
 * raised and restored at exit, the options both take, the statistics of a
 * figure's runs, the JSON's common parts and the results on stdout (the
 * ===TABLE-*=== and ===JSON-*=== blocks scripts/bench cuts out).
 *
 * A program defines, before including it:
 *	BENCH_PROG      its name, the prefix of its messages ("ripc_bench")
 *	BENCH_WATCHDOG  what expired on SIGALRM ("parent watchdog")
 *	BENCH_NOTES, BENCH_NOTE_LEN  how many notes it keeps, and how long
 * and defines, after it:
 *	remove_queues()  removes the queues it made (cleanup_all(), also from
 *			 the signal handler: plain system calls and libripc only)
 *	usage(o)         its usage message (common_opt(), next_opt())
 *	print_table(o), write_json(o, elapsed)  its results (emit_results())
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ripc.h"

#define MAXR 64        /* the most runs of a figure */
#define MAXKIDS 1024   /* the most child processes at once */
#define MAXSYSCTL 8    /* the most sysctls raised */

static void remove_queues(void);
static void usage(FILE *o);
static void print_table(FILE *o);
static void write_json(FILE *o, double elapsed);

/* The options both take (common_opt()). */
static int opt_runs = 5, opt_quick, opt_verbose;
static const char *opt_json;

static int is_child;
static char child_role[64] = "child";
static char ctx[160] = "setup"; /* what the parent is doing, for errors */
static pid_t kids[MAXKIDS];
static int nkids;

static char notes[BENCH_NOTES][BENCH_NOTE_LEN];
static int nnotes;

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	if (nnotes >= BENCH_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(notes[nnotes++], sizeof(notes[0]), fmt, ap);
	va_end(ap);
	fprintf(stderr, BENCH_PROG ": note: %s\n", notes[nnotes - 1]);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double secs_since(uint64_t t)
{
	return (double)(now_ns() - t) / 1e9;
}

/* ---- limits and cleanup ---------------------------------------------------- */

/* A sysctl raised, with its old value (restored at exit). */
struct saved_sysctl {
	const char *path;
	char old[64];
	int changed;
};
static struct saved_sysctl sysctls[MAXSYSCTL];
static int nsysctls;

static struct ripc_limits ripc_old_limits;
static int ripc_limits_changed;
static unsigned ripc_abi;
static volatile sig_atomic_t cleaned;

static void write_str_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, s, strlen(s)) < 0) {
		/* reported by the caller if it matters */
	}
	close(fd);
}

/* Only plain system calls and libripc: also called from the signal handler. */
static void cleanup_all(void)
{
	if (is_child || cleaned)
		return;
	cleaned = 1;
	remove_queues();
	if (ripc_limits_changed) {
		ripc_limits_changed = 0;
		if (ripc_set_limits_fields(&ripc_old_limits, RIPC_LIMIT_ALL) < 0) {
			static const char m[] = BENCH_PROG ": warning: could not restore the rust_ipc limits\n";

			if (write(2, m, sizeof(m) - 1) < 0) {
			}
		}
	}
	for (int i = 0; i < nsysctls; i++) {
		if (sysctls[i].changed) {
			sysctls[i].changed = 0;
			write_str_file(sysctls[i].path, sysctls[i].old);
		}
	}
}

static void kill_kids(void)
{
	for (int i = 0; i < nkids; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGKILL);
	for (int i = 0; i < nkids; i++) {
		if (kids[i] > 0) {
			while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR)
				;
			kids[i] = 0;
		}
	}
	nkids = 0;
}

static void on_signal(int sig)
{
	static const char alrm[] = BENCH_PROG ": error: " BENCH_WATCHDOG " expired (hang?); cleaning up\n";
	static const char intr[] = BENCH_PROG ": interrupted; cleaning up\n";
	static const char whl[] = BENCH_PROG ": (while: ";

	if (is_child)
		_exit(1);
	if (write(2, sig == SIGALRM ? alrm : intr, sig == SIGALRM ? sizeof(alrm) - 1 : sizeof(intr) - 1) < 0 ||
	    write(2, whl, sizeof(whl) - 1) < 0 || write(2, ctx, strlen(ctx)) < 0 ||
	    write(2, ")\n", 2) < 0) {
	}
	for (int i = 0; i < nkids; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGKILL);
	cleanup_all();
	_exit(sig == SIGALRM ? 1 : 128 + sig);
}

/* Removes what is made and restores the limits at exit, also on a signal. */
static void install_handlers(void)
{
	atexit(cleanup_all);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGALRM, on_signal);
	signal(SIGPIPE, SIG_IGN); /* a dead pipe peer shows as EPIPE, reported by the child */
}

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (is_child) {
		dprintf(2, BENCH_PROG ": %s: %s: %s\n", ctx, child_role, msg);
		_exit(1);
	}
	fflush(stdout);
	fprintf(stderr, BENCH_PROG ": error: %s: %s\n", ctx, msg);
	kill_kids();
	cleanup_all();
	exit(1);
}

#define DIE_ERRNO(what) die("%s: %s", (what), strerror(errno))

/*
 * Raises the sysctl at path to want (exact: to exactly want; else to at least
 * want), remembering the old value for cleanup_all().  A sysctl that cannot
 * be read or set is left alone, with a note.
 */
static void raise_sysctl(const char *path, long want, int exact)
{
	struct saved_sysctl *s = &sysctls[nsysctls];
	char buf[64];
	int fd;
	ssize_t n;
	long old;

	if (nsysctls == MAXSYSCTL)
		die("more than %d sysctls", MAXSYSCTL);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		note("%s: %s (left alone)", path, strerror(errno));
		return;
	}
	n = read(fd, s->old, sizeof(s->old) - 1);
	close(fd);
	if (n <= 0) {
		note("%s: cannot read it (left alone)", path);
		return;
	}
	s->old[n] = 0;
	old = strtol(s->old, NULL, 10);
	if (old == want || (!exact && old > want))
		return;
	snprintf(buf, sizeof(buf), "%ld\n", want);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, buf, strlen(buf)) < 0) {
		note("%s: cannot set it to %ld: %s", path, want, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	s->path = path;
	s->changed = 1;
	nsysctls++;
}

/*
 * rust_ipc's ABI version (ripc_abi) and limits, each of want's non-zero
 * fields raised to it if lower (the old limits restored by cleanup_all()).
 * Exits 2 on another ABI version; -1 with errno when the device is not
 * usable (the caller says so).
 */
static int ripc_setup(const struct ripc_limits *want)
{
	struct ripc_version v;
	struct ripc_limits l = { 0 };
	int any = 0;

	if (ripc_version(&v) < 0)
		return -1;
	ripc_abi = v.abi_version;
	if (v.abi_version != RIPC_ABI_VERSION) {
		fprintf(stderr, BENCH_PROG ": error: %s has ABI version %u, this build expects %u\n",
			RIPC_DEVICE, v.abi_version, RIPC_ABI_VERSION);
		cleanup_all();
		exit(2);
	}
	ripc_old_limits = v.limits;
#define RAISE(f) do { if (v.limits.f < want->f) { l.f = want->f; any = 1; } } while (0)
	RAISE(mq_msg_default);
	RAISE(mq_msgsize_default);
	RAISE(mq_msg_max);
	RAISE(mq_msgsize_max);
	RAISE(mq_queues_max);
	RAISE(msgmax);
	RAISE(msgmnb);
	RAISE(msgmni);
#undef RAISE
	if (any) {
		if (ripc_set_limits(&l) < 0)
			DIE_ERRNO("ripc_set_limits");
		ripc_limits_changed = 1;
	}
	return 0;
}

/* ---- options ------------------------------------------------------------------ */

/* The value of option name (e.g. "--runs"), lo..hi; exits 2 if it is not. */
static int int_arg(const char *arg, const char *name, int lo, int hi)
{
	int v = atoi(arg);

	if (v < lo || v > hi) {
		fprintf(stderr, BENCH_PROG ": %s must be %d..%d\n", name, lo, hi);
		exit(2);
	}
	return v;
}

/*
 * The options both take, as getopt_long() returns them: -q --quick, -r
 * --runs R (into *runs), -j --json FILE, -v --verbose, -h --help (exits 0),
 * and anything else (exits 2).
 */
static void common_opt(int opt, const char *arg, int *runs)
{
	switch (opt) {
	case 'q':
		opt_quick = 1;
		break;
	case 'r':
		*runs = int_arg(arg, "--runs", 1, MAXR);
		break;
	case 'j':
		opt_json = arg;
		break;
	case 'v':
		opt_verbose = 1;
		break;
	case 'h':
		usage(stdout);
		exit(0);
	default:
		usage(stderr);
		exit(2);
	}
}

/* getopt_long(), and at the end an operand is a usage error (exits 2). */
static int next_opt(int argc, char **argv, const char *optstring, const struct option *lo)
{
	int opt = getopt_long(argc, argv, optstring, lo, NULL);

	if (opt == -1 && optind < argc) {
		usage(stderr);
		exit(2);
	}
	return opt;
}

/*
 * --json path: 1 when it is "-" or /dev/stdout (the results between marker
 * lines on stdout), else 0 and *jf the file opened for writing (NULL without
 * --json); exits 2 if it cannot be opened.
 */
static int json_open(const char *path, FILE **jf)
{
	*jf = NULL;
	if (!path)
		return 0;
	if (!strcmp(path, "-") || !strcmp(path, "/dev/stdout"))
		return 1;
	*jf = fopen(path, "w");
	if (!*jf) {
		fprintf(stderr, BENCH_PROG ": %s: %s\n", path, strerror(errno));
		exit(2);
	}
	return 0;
}

/* ---- figures ------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The minimum, median and maximum of n runs (NaN without any). */
static void runs_stats(const double *runs, int n, double *min, double *med, double *max)
{
	double s[MAXR];

	*min = *med = *max = __builtin_nan("");
	if (n <= 0)
		return;
	memcpy(s, runs, sizeof(double) * (size_t)n);
	qsort(s, (size_t)n, sizeof(double), cmp_double);
	*min = s[0];
	*max = s[n - 1];
	*med = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* ---- output ------------------------------------------------------------------- */

static void json_num(FILE *o, double v)
{
	if (v != v || v > 1e300 || v < -1e300)
		fputs("null", o);
	else
		fprintf(o, "%.6g", v);
}

static void json_str(FILE *o, const char *s)
{
	fputc('"', o);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(o, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(o, "\\u%04x", *s);
		else
			fputc(*s, o);
	}
	fputc('"', o);
}

static void cpu_model(char *buf, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "re");

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && p) {
			p += 1 + strspn(p + 1, " \t");
			p[strcspn(p, "\n")] = 0;
			snprintf(buf, len, "%s", p);
			break;
		}
	}
	fclose(f);
}

/* A figure's ,"runs":[...],"min":,"median":,"max": (the record's keys). */
static void json_runs(FILE *o, const double *runs, int n, double min, double med, double max)
{
	fputs(",\"runs\":[", o);
	for (int k = 0; k < n; k++) {
		fputs(k ? "," : "", o);
		json_num(o, runs[k]);
	}
	fputs("],\"min\":", o);
	json_num(o, min);
	fputs(",\"median\":", o);
	json_num(o, med);
	fputs(",\"max\":", o);
	json_num(o, max);
}

/* The JSON's start: {"meta":{ and its fields tool to ripc_abi (the program's follow). */
static void json_meta_begin(FILE *o)
{
	struct utsname u;
	char date[64], cpu[128];
	time_t now = time(NULL);

	uname(&u);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	cpu_model(cpu, sizeof(cpu));
	fputs("{\"meta\":{\"tool\":\"" BENCH_PROG "\",\"kernel\":", o);
	json_str(o, u.release);
	fputs(",\"machine\":", o);
	json_str(o, u.machine);
	fputs(",\"date\":", o);
	json_str(o, date);
	fputs(",\"cpu\":", o);
	json_str(o, cpu);
	fprintf(o, ",\"cpus_online\":%ld,\"ripc_abi\":", sysconf(_SC_NPROCESSORS_ONLN));
	json_num(o, ripc_abi ? (double)ripc_abi : __builtin_nan(""));
}

/* The meta's last field, the notes, and the start of the records. */
static void json_meta_end(FILE *o)
{
	fputs(",\"notes\":[", o);
	for (int i = 0; i < nnotes; i++) {
		fputs(i ? "," : "", o);
		json_str(o, notes[i]);
	}
	fputs("]},\n\"records\":[\n", o);
}

/*
 * The results on stdout: with markers (--json -), the table between
 * ===TABLE-BEGIN=== and ===TABLE-END===, the JSON between ===JSON-BEGIN===
 * and ===JSON-END===; else the table (if table) and the JSON into jf (if
 * any).  Then the "done" line.  Returns the exit status.
 */
static int emit_results(int markers, int table, FILE *jf, const char *json_path, double elapsed)
{
	fflush(stderr);
	if (markers) {
		puts("===TABLE-BEGIN===");
		print_table(stdout);
		puts("===TABLE-END===");
		puts("===JSON-BEGIN===");
		write_json(stdout, elapsed);
		puts("===JSON-END===");
	} else if (table) {
		print_table(stdout);
		if (jf) {
			write_json(jf, elapsed);
			if (fclose(jf) != 0) {
				fprintf(stderr, BENCH_PROG ": %s: %s\n", json_path, strerror(errno));
				return 1;
			}
		}
	}
	printf(BENCH_PROG ": done in %.1f s\n", elapsed);
	if (fflush(stdout) != 0)
		return 1;
	return 0;
}

#endif /* BENCH_COMMON_H */
