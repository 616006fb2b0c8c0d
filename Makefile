# SPDX-License-Identifier: GPL-2.0
#
# rust_ipc: see README.md.  `make` builds rust_ipc.ko against KDIR (default:
# the project's own release kernel, built on first use by scripts/).
# `make check` runs every test in QEMU; `make demo` shows the module working.

KDIR ?=
export PATH := /usr/lib/llvm-19/bin:$(HOME)/.cargo/bin:$(PATH)
KMAKE = $(MAKE) -C $(KDIR) M=$(CURDIR) LLVM=1

.PHONY: all module setup kernels clippy fmt fmtcheck selftests check demo bench fuzz stress conformance mutate shell clean

all: module

ifeq ($(KDIR),)
module:
	@scripts/module-build release >/dev/null && cp "$$(scripts/module-build release)" rust_ipc.ko
	@echo "rust_ipc.ko built against the release kernel"
clippy:
	@scripts/module-build release --clippy >/dev/null
else
module:
	$(KMAKE) modules
clippy:
	$(KMAKE) CLIPPY=1 modules >.clippy.log 2>&1; rc=$$?; cat .clippy.log; \
		[ $$rc -eq 0 ] && ! grep -qE '^(warning|error)' .clippy.log
endif

setup:
	@scripts/setup >/dev/null

kernels: setup
	@scripts/kernel-build release >/dev/null
	@scripts/kernel-build debug >/dev/null

fmt:
	@scripts/rustfmt-all

fmtcheck:
	@scripts/rustfmt-all --check

selftests: setup
	@$(MAKE) -s -C selftests

# scripts/check runs the set-up itself, as a TAP step of its own.
check:
	@scripts/check

demo: setup
	@scripts/demo

bench: setup
	@scripts/bench

# The full fuzz run on the debug kernel: 4 processes x 2 threads, FUZZ_CALLS
# calls in all per process (default 25000: 10^5 calls), FUZZ_SEED to repeat.
FUZZ_CALLS ?= 25000
fuzz: setup
	@scripts/vm-run --kernel debug --timeout 5400 -- \
		FUZZ_CALLS=$(FUZZ_CALLS) $(if $(FUZZ_SEED),FUZZ_SEED=$(FUZZ_SEED)) /selftests/ioctl_fuzz_test

conformance: setup
	@scripts/conformance

stress: setup
	@scripts/stress

# Mutation testing: selftests/mutants/*.patch (MUTANTS= names to pick some).
mutate: setup
	@scripts/mutate $(MUTANTS)

shell: setup
	@scripts/vm-run --shell

clean:
	rm -f rust_ipc.ko .clippy.log
	rm -rf selftests/out libripc/out tools/out bench/out
	@[ -z "$(KDIR)" ] || $(KMAKE) clean
