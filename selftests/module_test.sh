#!/bin/sh
# Module lifecycle tests (TAP), run in the VM with rust_ipc loaded from
# /rust_ipc.ko: rmmod is refused while a descriptor is open and works after;
# 20 load/unload cycles with queues left behind free everything (the debug
# kernel's kmemleak scan at the end of the run checks that); rmmod is refused
# while processes are blocked in calls and works once they are killed; a
# reload starts empty, with the limits of its own parameters; queues dumped
# to a file (RIPC_IOC_DUMP) before an unload are restored after the reload
# with every stat and byte (checkpoint_test's --fill, --describe, --drain).
KO=/rust_ipc.ko
n=0 fail=0
ok() { n=$((n+1)); echo "ok $n $1"; }
nok() { n=$((n+1)); fail=$((fail+1)); echo "not ok $n $1"; }
echo "TAP version 13"
echo "1..12"

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

# Waits (up to ~5 s) until process $1 sleeps.
sleeping() {
	i=0
	while [ $i -lt 50 ]; do
		[ "$(cut -d' ' -f3 /proc/$1/stat 2>/dev/null)" = S ] && return 0
		sleep 0.1; i=$((i+1))
	done
	return 1
}

insmod $KO
ripcctl mq-create /blocked >/dev/null
ripcctl mq-recv /blocked >/dev/null 2>&1 & r1=$!
ripcctl msg-send 0x7e58 1 x >/dev/null; ripcctl msg-recv 0x7e58 2 >/dev/null 2>&1 & r2=$!
if sleeping $r1 && sleeping $r2 && ! rmmod rust_ipc 2>/dev/null; then
	ok "rmmod_refused_while_calls_block"
else
	nok "rmmod_refused_while_calls_block"; grep -q '^rust_ipc ' /proc/modules || insmod $KO
fi
kill -9 $r1 $r2; wait $r1 $r2 2>/dev/null
if rmmod rust_ipc; then ok "rmmod_once_the_blocked_processes_are_killed"; else nok "rmmod_once_the_blocked_processes_are_killed"; fi

# Nothing survives a reload; limits come from the new load's parameters.
insmod $KO msgmnb=20000
ripcctl mq-create /survivor >/dev/null; ripcctl msg-send 0x7e57 1 kept >/dev/null
before=$(ripcctl list | grep -c -e survivor -e " $((0x7e57)) ")
param=$(ripcctl version | grep -c "msgmnb 20000 ")
rmmod rust_ipc; insmod $KO
after=$(ripcctl list | grep -c -e survivor -e " $((0x7e57)) ")
dflt=$(ripcctl version | grep -c "msgmnb 16384 ")
if [ "$before" = 2 ] && [ "$param" = 1 ] && [ "$after" = 0 ] && [ "$dflt" = 1 ]; then
	ok "reload_starts_empty_with_its_own_parameters"
else
	nok "reload_starts_empty_with_its_own_parameters (queues $before then $after, msgmnb param $param default $dflt)"
fi
# Checkpoint across a reload: the standard queues of checkpoint_test,
# dumped, the module reloaded, restored: the same description (every stat,
# every message's type, length and hash), the same stream, the same bytes.
CK=$(dirname "$0")/checkpoint_test
D=/tmp/module_test.ckpt
if $CK --fill && $CK --describe >$D.before && ripcctl dump >$D.dump &&
	rmmod rust_ipc && insmod $KO && ripcctl restore <$D.dump &&
	$CK --describe >$D.after && ripcctl dump >$D.dump2 &&
	cmp $D.before $D.after && cmp $D.dump $D.dump2 && $CK --drain; then
	ok "dump_reload_restore_gives_every_stat_and_byte_back"
else
	nok "dump_reload_restore_gives_every_stat_and_byte_back"
fi
rm -f $D.*
grep -q '^rust_ipc ' /proc/modules || insmod $KO
# ripcctl refuses a key, type, priority or count that is not a whole number
# (exit status 2, no queue made), and sends a text longer than 8 KiB whole
# (msgsnd refuses it at the default msgmax: exit status 1, where the text
# used to be cut to 8 KiB and sent).
bad=0
queues=$(ripcctl list | wc -l)
for args in "msg-send foo 1 x" "msg-send 08 1 x" "msg-send 12ab 1 x" "msg-send 0x7e59 type2 x" \
	"msg-recv 0x7e59 type2" "msg-recv 0x7e59 1 noerror" "mq-send /q high x" \
	"mq-send /q 4294967297 x" "mq-recv /q 5abc" "msg-rm foo" "mq-create /q 10"; do
	ripcctl $args >/dev/null 2>&1
	[ $? -eq 2 ] || { bad=1; echo "# ripcctl $args: not exit status 2"; }
done
made=$(( $(ripcctl list | wc -l) - queues ))
long=$(head -c 10000 /dev/zero | tr '\0' 'a')
ripcctl msg-send 0x7e5a 1 "$long" >/dev/null 2>&1; sent=$?
ripcctl msg-rm 0x7e5a
if [ $bad = 0 ] && [ "$made" = 0 ] && [ $sent = 1 ]; then
	ok "ripcctl_refuses_bad_numbers_and_sends_long_texts_whole"
else
	nok "ripcctl_refuses_bad_numbers_and_sends_long_texts_whole (bad $bad, made $made, sent $sent)"
fi
# A one-digit negative key is a key, not an option; top -n takes a whole
# count of at least 1 (exit status 2 otherwise); msg-recv takes a message as
# long as msgmax lets in (here 20000 bytes: it received 8 KiB at most).
rmmod rust_ipc && insmod $KO msgmax=20000 msgmnb=40000
bad=0
ripcctl msg-send -1 1 minus >/dev/null 2>&1 || { bad=1; echo "# msg-send -1"; }
got=$(ripcctl msg-recv -1 0 2>/dev/null)
case $got in *"received type 1: minus") ;; *) bad=1; echo "# msg-recv -1: $got" ;; esac
ripcctl msg-rm -1 || bad=1
for args in "top -n foo" "top -n 0" "top -n -3"; do
	ripcctl $args >/dev/null 2>&1
	[ $? -eq 2 ] || { bad=1; echo "# ripcctl $args: not exit status 2"; }
done
long=$(head -c 15000 /dev/zero | tr '\0' 'b')
ripcctl msg-send 0x7e5b 2 "$long" >/dev/null 2>&1 || { bad=1; echo "# msg-send 15000 B"; }
got=$(ripcctl msg-recv 0x7e5b 2 2>/dev/null)
ripcctl msg-rm 0x7e5b
# "[pid N] received type 2: " and the 15000 bytes
case $got in
"[pid "*"] received type 2: $long") ;;
*) bad=1; echo "# msg-recv of 15000 B: $(printf %s "$got" | wc -c) bytes out, not the text sent" ;;
esac
if [ $bad = 0 ]; then
	ok "ripcctl_takes_negative_keys_checks_top_counts_and_receives_up_to_msgmax"
else
	nok "ripcctl_takes_negative_keys_checks_top_counts_and_receives_up_to_msgmax"
fi
# msg-recv of a key with no queue fails (msgget: ENOENT, exit status 1) and
# makes none (it made one, and waited on it for ever); peek of an empty
# queue prints nothing and succeeds (it failed with ENOMSG).  (-t 1: the
# old msg-recv waited on the queue it made.)
bad=0
queues=$(ripcctl list | wc -l)
for key in 0x7e5c 0; do
	got=$(ripcctl msg-recv -t 1 $key 1 2>&1); st=$?
	[ $st -eq 1 ] || { bad=1; echo "# msg-recv of no queue ($key): exit status $st"; }
	case $got in *"msgget: No such file or directory"*) ;; *) bad=1; echo "# msg-recv $key: $got" ;; esac
done
# Key 0 is IPC_PRIVATE: msg-send and msg-rm of it fail too (they made a
# new queue, and sent to it or removed it, and succeeded).
for args in "msg-send 0 1 x" "msg-rm 0"; do
	got=$(ripcctl $args 2>&1); st=$?
	[ $st -eq 1 ] || { bad=1; echo "# ripcctl $args: exit status $st"; }
	case $got in *"No such file or directory"*) ;; *) bad=1; echo "# ripcctl $args: $got" ;; esac
done
[ "$(ripcctl list | wc -l)" = "$queues" ] || { bad=1; echo "# msg-recv, msg-send or msg-rm made a queue"; ripcctl msg-rm 0x7e5c; }
ripcctl mq-create /empty >/dev/null
got=$(ripcctl peek /empty 2>&1); st=$?
[ $st -eq 0 ] && [ -z "$got" ] || { bad=1; echo "# peek of an empty queue: $st: $got"; }
ripcctl mq-unlink /empty
if [ $bad = 0 ]; then
	ok "ripcctl_msg_recv_makes_no_queue_and_peek_of_an_empty_queue_succeeds"
else
	nok "ripcctl_msg_recv_makes_no_queue_and_peek_of_an_empty_queue_succeeds"
fi
# Leave the module empty for the scripts after this one.
if rmmod rust_ipc && insmod $KO; then ok "final_reload"; else nok "final_reload"; fi
[ $fail -eq 0 ]
