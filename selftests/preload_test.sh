#!/bin/sh
# The drop-in libripc_preload.so (libripc/preload.c), TAP, run by run_all in
# the VM.  mq_test.c and msg_test.c built dynamically (preload/) run their
# *native* variant, unmodified, with LD_PRELOAD=libripc_preload.so: their
# glibc mq_*/msg* calls and their fopen() of /proc/sys/fs/mqueue/* and
# /proc/sys/kernel/msg* land on rust_ipc, so the native expectations are
# checked on the module through the drop-in.  Their TAP names say
# "preload" where the harness says "native".  Then preload/libc_mq
# (mq_notify SIGEV_THREAD, cancellation of blocked calls, descriptor
# numbering) runs natively (glibc, the reference) and through the preload
# (the library's).
#
# One test cannot be redirected: mq.*.queues_max_reached_unprivileged_is_enospc
# counts the queues in /dev/mqueue (the native ones) to set queues_max to
# "count + 1".  It runs only if that count equals rust_ipc's (both are 0 in
# a fresh boot); otherwise it is reported as SKIP.
here=$(cd "$(dirname "$0")" && pwd)
d=$here
[ -d "$d/preload" ] || d=$here/out	# on a build host: selftests/out
so=$d/libripc_preload.so
tmp=${TMPDIR:-/tmp}/preload_test.$$
rc=0

echo "# libripc_preload.so: the native variants of mq_test and msg_test on rust_ipc"
if [ ! -e /dev/rust_ipc ]; then
	echo "ok - preload # SKIP /dev/rust_ipc missing (module not loaded)"
	exit 0
fi

# run NAME PRELOAD(1|0) BINARY ARGS...: the binary's TAP (through the
# preload: test names say "preload")
run() {
	name=$1 pre=$2
	shift 2
	echo "# === $name"
	{
		if [ "$pre" = 1 ]; then
			LD_PRELOAD=$so "$@"
		else
			"$@"
		fi
		echo $? >"$tmp"
	} 2>&1 | if [ "$pre" = 1 ]; then sed -E 's/ (mq|msg)\.native\./ \1.preload./g; s/ (thr|global)\.([a-z])/ \1.preload.\2/g'; else cat; fi
	[ "$(cat "$tmp")" = 0 ] || rc=1
	rm -f "$tmp"
}

# binds BINARY SYMBOL...: the symbols bind to the preload (a library the
# loader could not preload would leave the program on the native queues)
binds() {
	bin=$1
	shift
	b=$(LD_BIND_NOW=1 LD_DEBUG=bindings LD_PRELOAD=$so "$bin" -l 2>&1 |
	    grep -F "binding file $bin [0] to $so [0]: normal symbol")
	missing=
	for sym in "$@"; do
		echo "$b" | grep -qF "\`$sym'" || missing="$missing $sym"
	done
	if [ -z "$missing" ]; then
		echo "ok - preload: ${bin#"$d"/} binds $* to libripc_preload.so"
	else
		echo "not ok - preload: ${bin#"$d"/} binds$missing to libripc_preload.so"
		rc=1
	fi
}
binds "$d/preload/mq_test" mq_open mq_close mq_unlink mq_send mq_timedsend mq_receive \
	mq_timedreceive mq_getattr mq_setattr mq_notify fopen close
binds "$d/preload/msg_test" msgget msgsnd msgrcv msgctl fopen
binds "$d/preload/libc_mq" mq_open mq_close mq_unlink mq_send mq_receive mq_notify close \
	msgget msgsnd msgrcv msgctl

excl=
native_n=$(ls -A /dev/mqueue 2>/dev/null | wc -l)
ripc_n=$(ripcctl list 2>/dev/null | sed -n '/^POSIX queues:/,/^System V queues:/p' | grep -c '^/')
if ! command -v ripcctl >/dev/null || [ "$native_n" != "$ripc_n" ]; then
	excl="-T queues_max_reached_unprivileged_is_enospc"
	echo "ok - mq.preload.queues_max_reached_unprivileged_is_enospc # SKIP it counts" \
	     "/dev/mqueue ($native_n native queues) as rust_ipc's (${ripc_n:-?})"
fi

# shellcheck disable=SC2086
run "preload/mq_test -v native (through the preload)" 1 "$d/preload/mq_test" $excl -v native
run "preload/msg_test -v native (through the preload)" 1 "$d/preload/msg_test" -v native
run "preload/libc_mq (native glibc, the reference)" 0 "$d/preload/libc_mq"
run "preload/libc_mq (through the preload)" 1 "$d/preload/libc_mq"
exit $rc
