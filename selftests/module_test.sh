#!/bin/sh
# Module lifecycle tests (TAP), run in the VM with rust_ipc loaded from
# /rust_ipc.ko: rmmod is refused while a descriptor is open and works after;
# 20 load/unload cycles with queues left behind free everything (the debug
# kernel's kmemleak scan at the end of the run checks that).
KO=/rust_ipc.ko
n=0 fail=0
ok() { n=$((n+1)); echo "ok $n $1"; }
nok() { n=$((n+1)); fail=$((fail+1)); echo "not ok $n $1"; }
echo "TAP version 13"
echo "1..4"

grep -q '^rust_ipc ' /proc/modules || insmod $KO
[ "$(stat -c %a /dev/rust_ipc)" = 666 ] && ok "device_mode_is_0666" || nok "device_mode_is_0666"

exec 3</dev/rust_ipc
if rmmod rust_ipc 2>/dev/null; then nok "rmmod_refused_while_open"; insmod $KO; else ok "rmmod_refused_while_open"; fi
exec 3<&-
if rmmod rust_ipc; then ok "rmmod_after_close"; else nok "rmmod_after_close"; fi

cycles=0
i=0
while [ $i -lt 20 ]; do
	insmod $KO || break
	# Leave queues of both kinds behind, with messages, to be freed by rmmod.
	ripc_fill "/cycle$i" $((0x5000 + i)) >/dev/null 2>&1 || break
	rmmod rust_ipc || break
	i=$((i+1)); cycles=$i
done
[ $cycles -eq 20 ] && ok "load_fill_unload_20_times" || nok "load_fill_unload_20_times (stopped after $cycles)"
insmod $KO
[ $fail -eq 0 ]
