#!/bin/sh
# Third-party suites, unmodified: the kernel tree's
# tools/testing/selftests/mqueue/mq_open_tests.c and ipc/msgque.c, built
# dynamically by selftests/Makefile into thirdparty/.  Each runs natively and
# then with LD_PRELOAD=libripc_preload.so (on rust_ipc) in the same boot.
# TAP, unnumbered, plan at the end:
#  - mq_open_tests prints PASS/FAIL lines and exits 0 anyway: one TAP line
#    per run and per PASS/FAIL line (matched by position: a check's text
#    says how it went), plus whether the run ended normally;
#  - msgque reports only failures: one TAP line per run for "create, fill,
#    MSG_STAT + MSG_COPY dump, check" and one for "restore through
#    msg_next_id, check".
# The native run is the reference: rust_ipc must pass every check native
# passes.  A check native fails is not a rust_ipc matter: it is reported as
# SKIP (for both runs), with the reason.
# msgque's restore step writes /proc/sys/kernel/msg_next_id with open() and
# write(): the preload serves that file from RIPC_MSG_NEXT_ID.
# Under the preload both suites' reads and writes of /proc/sys/fs/mqueue/*
# and /proc/sys/kernel/msg* reach the module's limits (libripc/preload.c):
# the native sysctls must come out untouched, the module's restored.
here=$(cd "$(dirname "$0")" && pwd)
d=$here
[ -d "$d/thirdparty" ] || d=$here/out	# on a build host: selftests/out
so=$d/libripc_preload.so
tp=$d/thirdparty
work=$(mktemp -d "${TMPDIR:-/tmp}/thirdparty.XXXXXX")
trap 'rm -rf "$work"' EXIT
tap=$work/tap

echo "TAP version 13"
echo "# mq_open_tests and msgque (Linux tools/testing/selftests), unmodified: native, then rust_ipc through libripc_preload.so"
ok() { echo "ok - $*" | tee -a "$tap"; }
nok() { echo "not ok - $*" | tee -a "$tap"; }

have_ripc=1
[ -e /dev/rust_ipc ] || have_ripc=0
sysctls() { for f in /proc/sys/fs/mqueue/* /proc/sys/kernel/msgm*; do echo "$f $(cat "$f")"; done; }
limits() { ripcctl version 2>/dev/null | grep -v ABI; }

# suite NAME RUN(native|rust_ipc) BINARY: runs it, output into $work/NAME.RUN
# and here as comments
suite() {
	out=$work/$1.$2
	if [ "$2" = rust_ipc ]; then
		# The loader's log of the bindings, for binds below.
		LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT=$out.bind LD_PRELOAD=$so \
			"$3" >"$out" 2>&1
	else
		"$3" >"$out" 2>&1
	fi
	echo $? >"$out.rc"
	echo "# --- $1, $2 (exit $(cat "$out.rc")):"
	sed 's/^/#   /' "$out"
}

# binds NAME BINARY SYMBOL...: in the rust_ipc run, the symbols bound to the
# preload (a library the loader could not preload would leave the suite on
# the native queues)
binds() {
	name=$1 bin=$2
	shift 2
	missing=
	for sym in "$@"; do
		cat "$work/$name.rust_ipc.bind".* 2>/dev/null |
			grep -F "binding file $bin [0] to $so [0]: normal symbol" |
			grep -qF "\`$sym'" || missing="$missing $sym"
	done
	if [ -z "$missing" ]; then
		ok "$name rust_ipc: $* bind to libripc_preload.so"
	else
		nok "$name rust_ipc:$missing bind to libripc_preload.so"
	fi
}

# checks FILE: "STATUS<tab>TEXT" for each PASS/FAIL line of mq_open_tests
# (a line starting in lower case continues the one before it)
checks() {
	awk '
	/(PASS|FAIL)[ \t]*$/ {
		line = $0
		sub(/[ \t]+$/, "", line)
		st = substr(line, length(line) - 3)
		sub(/[ \t:]*(PASS|FAIL)$/, "", line)
		if (line ~ /^[a-z]/)
			line = prev " " line
		gsub(/[ \t]+/, " ", line)
		print st "\t" line
		prev = ""
		next
	}
	{ prev = $0 }' "$1"
}

# ---- mq_open_tests ----------------------------------------------------------
before_sysctls=$(sysctls)
suite mq_open_tests native "$tp/mq_open_tests"
[ "$(sysctls)" = "$before_sysctls" ] && ok "mq_open_tests native: the native sysctls are restored" \
	|| nok "mq_open_tests native: the native sysctls are restored"
checks "$work/mq_open_tests.native" >"$work/mq.native.checks"
native_rc=$(cat "$work/mq_open_tests.native.rc")
if [ "$native_rc" = 0 ] && [ -s "$work/mq.native.checks" ]; then
	ok "mq_open_tests native: ran to the end"
elif [ "$native_rc" -ge 126 ] || [ ! -s "$work/mq.native.checks" ]; then
	# It could not run at all (126, 127: not executable, a library
	# missing), or made no check: every comparison below would be empty.
	nok "mq_open_tests native: ran (exit $native_rc, $(wc -l <"$work/mq.native.checks") checks)"
else
	ok "mq_open_tests native: ran to the end # SKIP native stops with exit $native_rc"
fi

if [ $have_ripc = 1 ]; then
	before_limits=$(limits)
	suite mq_open_tests rust_ipc "$tp/mq_open_tests"
	binds mq_open_tests "$tp/mq_open_tests" mq_open mq_getattr mq_close mq_unlink fopen
	checks "$work/mq_open_tests.rust_ipc" >"$work/mq.rust.checks"
	rust_rc=$(cat "$work/mq_open_tests.rust_ipc.rc")
	if [ "$rust_rc" = 0 ]; then
		ok "mq_open_tests rust_ipc: ran to the end"
	elif [ "$native_rc" != 0 ]; then
		ok "mq_open_tests rust_ipc: ran to the end # SKIP native stops too (exit $native_rc)"
	else
		nok "mq_open_tests rust_ipc: ran to the end (exit $rust_rc)"
	fi
	[ "$(sysctls)" = "$before_sysctls" ] && ok "mq_open_tests rust_ipc: the native sysctls are untouched" \
		|| nok "mq_open_tests rust_ipc: the native sysctls are untouched"
	[ "$(limits)" = "$before_limits" ] && ok "mq_open_tests rust_ipc: the module's limits are restored" \
		|| nok "mq_open_tests rust_ipc: the module's limits are restored (before: $before_limits; after: $(limits))"
else
	: >"$work/mq.rust.checks"
fi

# One line per check and run, by position.
awk -F '\t' -v have_ripc=$have_ripc '
NR == FNR { ns[FNR] = $1; nt[FNR] = $2; nn = FNR; next }
{ rs[FNR] = $1; rt[FNR] = $2; rn = FNR }
END {
	n = nn > rn ? nn : rn
	for (i = 1; i <= n; i++) {
		name = "mq_open_tests check " i
		if (i > nn)
			printf "ok - %s native: (none) # SKIP native has fewer checks\n", name
		else if (ns[i] == "PASS")
			printf "ok - %s native: %s\n", name, nt[i]
		else
			printf "ok - %s native: %s # SKIP native FAILs it\n", name, nt[i]
		if (!have_ripc)
			printf "ok - %s rust_ipc # SKIP /dev/rust_ipc missing\n", name
		else if (i > nn || ns[i] != "PASS")
			printf "ok - %s rust_ipc: %s # SKIP native %s this check\n", name,
			       (i > rn ? "(none)" : rt[i] " " rs[i]), (i > nn ? "lacks" : "FAILs")
		else if (i > rn)
			printf "not ok - %s rust_ipc: no result, the run stopped before it\n", name
		else if (rs[i] == "PASS" && rt[i] == nt[i])
			printf "ok - %s rust_ipc: %s\n", name, rt[i]
		else if (rs[i] == "PASS")
			printf "not ok - %s rust_ipc: %s (native: %s): another branch of the check\n", name, rt[i], nt[i]
		else
			printf "not ok - %s rust_ipc: %s FAIL (native: %s PASS)\n", name, rt[i], nt[i]
	}
}' "$work/mq.native.checks" "$work/mq.rust.checks" | tee -a "$tap"

# ---- msgque -----------------------------------------------------------------
# msgque_result RUN: "ok" / "restore" (only the msg_next_id step failed) / "fail: TEXT"
msgque_result() {
	out=$work/msgque.$1
	rc=$(cat "$out.rc")
	first=$(grep '^not ok' "$out" | head -n 1 | sed 's/^not ok [0-9]* //')
	if [ "$rc" = 0 ] && [ -z "$first" ]; then
		echo ok
	elif [ "$rc" = 4 ]; then
		echo "skip: $(grep -i skip "$out" | head -n 1)"
	else
		case $first in
		*msg_next_id*) echo restore ;;
		*) echo "fail: ${first:-exit $rc}" ;;
		esac
	fi
}
dump="msgque %s: create, fill, MSG_STAT + MSG_COPY dump, check and destroy"
restore="msgque %s: restore through msg_next_id, check"

suite msgque native "$tp/msgque"
nat=$(msgque_result native)
nat_rc=$(cat "$work/msgque.native.rc")
[ "$nat_rc" -lt 126 ] && ok "msgque native: ran" || nok "msgque native: ran (exit $nat_rc: could not run)"
case $nat in
ok)	ok "$(printf "$dump" native)"; ok "$(printf "$restore" native)" ;;
restore) ok "$(printf "$dump" native)"; ok "$(printf "$restore" native) # SKIP native fails it" ;;
*)	ok "$(printf "$dump" native) # SKIP native: $nat"; ok "$(printf "$restore" native) # SKIP native: $nat" ;;
esac

if [ $have_ripc = 1 ]; then
	suite msgque rust_ipc "$tp/msgque"
	binds msgque "$tp/msgque" msgget msgsnd msgrcv msgctl open write
	rust=$(msgque_result rust_ipc)
	case $nat in ok | restore) ;; *) rust="native:$nat" ;; esac
	case $rust in
	ok)	ok "$(printf "$dump" rust_ipc)"; ok "$(printf "$restore" rust_ipc)" ;;
	restore)
		ok "$(printf "$dump" rust_ipc)"
		nok "$(printf "$restore" rust_ipc) (native passes it)" ;;
	native:*)
		ok "$(printf "$dump" rust_ipc) # SKIP ${rust#native:}"
		ok "$(printf "$restore" rust_ipc) # SKIP ${rust#native:}" ;;
	*)	nok "$(printf "$dump" rust_ipc) ($rust)"
		nok "$(printf "$restore" rust_ipc) (not reached)" ;;
	esac
	[ "$(sysctls)" = "$before_sysctls" ] && ok "msgque rust_ipc: the native sysctls are untouched" \
		|| nok "msgque rust_ipc: the native sysctls are untouched"
else
	ok "$(printf "$dump" rust_ipc) # SKIP /dev/rust_ipc missing"
	ok "$(printf "$restore" rust_ipc) # SKIP /dev/rust_ipc missing"
fi

echo "1..$(grep -cE '^(not )?ok ' "$tap")"
! grep -q '^not ok ' "$tap"
