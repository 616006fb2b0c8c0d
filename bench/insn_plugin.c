// SPDX-License-Identifier: GPL-2.0
/*
 * insn_plugin.so: a QEMU TCG plugin that counts the guest's executed
 * instructions (every vCPU, kernel and user) and prints the running total
 * each time the guest executes a marker instruction, so that a benchmark
 * can take the instructions a phase cost, free of the host's timing noise.
 *
 *   qemu-system-x86_64 ... -plugin bench/out/insn_plugin.so -d plugin -D FILE
 *
 * The markers are the 8-byte no-ops
 *	nopl RIPC_INSN_START(%rax,%rax,1)	0f 1f 84 00 01 00 49 52
 *	nopl RIPC_INSN_END(%rax,%rax,1)		0f 1f 84 00 02 00 49 52
 * (bench/ripc_bench.c, --insn), which no compiler emits (its padding
 * no-ops have displacement 0).  Each prints one line to QEMU's log:
 *	RIPC-INSN START|END <instructions executed so far, all vCPUs>
 * and the plugin prints "RIPC-INSN TOTAL n" when QEMU exits.
 *
 * With the argument profile=on (-plugin insn_plugin.so,profile=on), it also
 * keeps, for the instructions executed between a START and the next END,
 * a count per translation block's first guest address, and prints them at
 * exit as "RIPC-PROF address count" lines (the busiest 4000): with the
 * guest's /proc/kallsyms, bench/insn_report.py --profile makes a profile
 * by function of the marked phases.  It also counts the `pause` instructions
 * (f3 90, a spinning waiter's cpu_relax()) executed in those phases and
 * prints "RIPC-PAUSE n" at exit: under TCG each costs far more time than
 * an ordinary instruction (QEMU leaves its execution loop on a `pause`:
 * about 130 ns here, against about 1 ns for a `nop`), so lock contention
 * shows in the time much more than in the instruction count.
 *
 * A translation block counts as a whole when it starts (as QEMU's own
 * contrib/plugins/insn.c does), so a count can be off by the rest of the
 * block a marker is in, or of a block an interrupt cut short: a few
 * instructions per phase.  Each vCPU adds to its own counter (no atomics
 * on the hot path); a marker reads them all.
 *
 * QEMU's plugin API (version 1, QEMU 7.2) is a C ABI; the few declarations
 * used are below, so that nothing of QEMU's source is needed.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- QEMU's plugin API, as far as used ---------------------------------- */

typedef uint64_t qemu_plugin_id_t;
struct qemu_info;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
typedef void (*vcpu_udata_cb)(unsigned int vcpu_index, void *userdata);
typedef void (*tb_trans_cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*udata_cb)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, vcpu_udata_cb cb,
					  enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, vcpu_udata_cb cb,
					    enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, udata_cb cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
void qemu_plugin_outs(const char *string);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);

#define EXPORT __attribute__((visibility("default")))
EXPORT int qemu_plugin_version = 1;

/* ---- the counter ---------------------------------------------------------- */

#define MAX_VCPUS 64
#define MARK_START 0x52490001u
#define MARK_END 0x52490002u

/* One cache line per vCPU: the vCPU threads do not share lines. */
static struct {
	uint64_t n;
	char pad[56];
} count[MAX_VCPUS];

/*
 * The profile: per vCPU, an open-addressing table from a block's address to
 * its block index; per block, the instructions it ran while active.  A
 * block's data is made at translation (under QEMU's translation lock).
 */
#define MAX_BLOCKS (1 << 19)
#define PROF_VCPUS 8
struct block {
	uint64_t vaddr;
	uint64_t n_insns;
	uint64_t n_pause;
	uint64_t ran[PROF_VCPUS];
};
static int profile;
static int active; /* between a START and an END */
static struct block *blocks;
static uint32_t nblocks;
/* Blocks translated between a START and an END (code translated again). */
static uint64_t trans_active;
/* `pause` instructions run between a START and an END, per vCPU. */
static struct {
	uint64_t n;
	char pad[56];
} paused[PROF_VCPUS];

static uint64_t total(void)
{
	uint64_t t = 0;

	for (int i = 0; i < MAX_VCPUS; i++)
		t += __atomic_load_n(&count[i].n, __ATOMIC_RELAXED);
	return t;
}

static void tb_exec(unsigned int vcpu, void *n_insns)
{
	if (vcpu < MAX_VCPUS)
		__atomic_store_n(&count[vcpu].n, count[vcpu].n + (uintptr_t)n_insns,
				 __ATOMIC_RELAXED);
}

static void tb_exec_profiled(unsigned int vcpu, void *blockp)
{
	struct block *b = blockp;

	if (vcpu >= PROF_VCPUS)
		return;
	__atomic_store_n(&count[vcpu].n, count[vcpu].n + b->n_insns, __ATOMIC_RELAXED);
	if (__atomic_load_n(&active, __ATOMIC_RELAXED)) {
		b->ran[vcpu] += b->n_insns;
		paused[vcpu].n += b->n_pause;
	}
}

static void marker(unsigned int vcpu, void *which)
{
	char line[64];

	(void)vcpu;
	__atomic_store_n(&active, (uintptr_t)which == MARK_START, __ATOMIC_RELAXED);
	snprintf(line, sizeof(line), "RIPC-INSN %s %" PRIu64 "\n",
		 (uintptr_t)which == MARK_START ? "START" : "END", total());
	qemu_plugin_outs(line);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);
	struct block *pb = NULL;

	(void)id;
	if (__atomic_load_n(&active, __ATOMIC_RELAXED))
		__atomic_fetch_add(&trans_active, 1, __ATOMIC_RELAXED);
	if (profile && nblocks < MAX_BLOCKS) {
		/* A block translated again (after a flush) gets a new entry. */
		pb = &blocks[nblocks++];
		pb->vaddr = qemu_plugin_tb_vaddr(tb);
		pb->n_insns = n;
		qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec_profiled, QEMU_PLUGIN_CB_NO_REGS, pb);
	} else {
		qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS,
						     (void *)(uintptr_t)n);
	}
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		const unsigned char *b = qemu_plugin_insn_data(insn);
		uint32_t disp;

		if (pb && qemu_plugin_insn_size(insn) == 2 && b[0] == 0xf3 && b[1] == 0x90)
			pb->n_pause++;
		if (qemu_plugin_insn_size(insn) != 8 || b[0] != 0x0f || b[1] != 0x1f ||
		    b[2] != 0x84 || b[3] != 0x00)
			continue;
		memcpy(&disp, b + 4, sizeof(disp));
		if (disp == MARK_START || disp == MARK_END)
			qemu_plugin_register_vcpu_insn_exec_cb(insn, marker, QEMU_PLUGIN_CB_NO_REGS,
							       (void *)(uintptr_t)disp);
	}
}

static int by_ran(const void *a, const void *b)
{
	uint64_t x = ((const struct block *)a)->ran[0], y = ((const struct block *)b)->ran[0];

	return x < y ? 1 : x > y ? -1 : 0;
}

static void at_exit(qemu_plugin_id_t id, void *unused)
{
	char line[64];

	(void)id;
	(void)unused;
	if (profile) {
		/* Sum the vCPUs into ran[0]; the busiest blocks first. */
		for (uint32_t i = 0; i < nblocks; i++)
			for (int v = 1; v < PROF_VCPUS; v++)
				blocks[i].ran[0] += blocks[i].ran[v];
		qsort(blocks, nblocks, sizeof(*blocks), by_ran);
		for (uint32_t i = 0; i < nblocks && i < 4000 && blocks[i].ran[0]; i++) {
			snprintf(line, sizeof(line), "RIPC-PROF %" PRIx64 " %" PRIu64 " %" PRIu64 "\n",
				 blocks[i].vaddr, blocks[i].ran[0], blocks[i].n_insns);
			qemu_plugin_outs(line);
		}
	}
	snprintf(line, sizeof(line), "RIPC-TRANS %" PRIu64 "\n", trans_active);
	qemu_plugin_outs(line);
	if (profile) {
		uint64_t p = 0;

		for (int v = 0; v < PROF_VCPUS; v++)
			p += paused[v].n;
		snprintf(line, sizeof(line), "RIPC-PAUSE %" PRIu64 "\n", p);
		qemu_plugin_outs(line);
	}
	snprintf(line, sizeof(line), "RIPC-INSN TOTAL %" PRIu64 "\n", total());
	qemu_plugin_outs(line);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info *info, int argc,
			       char **argv);
EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info *info, int argc,
			       char **argv)
{
	(void)info;
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "profile=on"))
			profile = 1;
	if (profile) {
		blocks = calloc(MAX_BLOCKS, sizeof(*blocks));
		if (!blocks)
			return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
