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

static void marker(unsigned int vcpu, void *which)
{
	char line[64];

	(void)vcpu;
	snprintf(line, sizeof(line), "RIPC-INSN %s %" PRIu64 "\n",
		 (uintptr_t)which == MARK_START ? "START" : "END", total());
	qemu_plugin_outs(line);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);

	(void)id;
	qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS,
					     (void *)(uintptr_t)n);
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		const unsigned char *b = qemu_plugin_insn_data(insn);
		uint32_t disp;

		if (qemu_plugin_insn_size(insn) != 8 || b[0] != 0x0f || b[1] != 0x1f ||
		    b[2] != 0x84 || b[3] != 0x00)
			continue;
		memcpy(&disp, b + 4, sizeof(disp));
		if (disp == MARK_START || disp == MARK_END)
			qemu_plugin_register_vcpu_insn_exec_cb(insn, marker, QEMU_PLUGIN_CB_NO_REGS,
							       (void *)(uintptr_t)disp);
	}
}

static void at_exit(qemu_plugin_id_t id, void *unused)
{
	char line[64];

	(void)id;
	(void)unused;
	snprintf(line, sizeof(line), "RIPC-INSN TOTAL %" PRIu64 "\n", total());
	qemu_plugin_outs(line);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info *info, int argc,
			       char **argv);
EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info *info, int argc,
			       char **argv)
{
	(void)info;
	(void)argc;
	(void)argv;
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
