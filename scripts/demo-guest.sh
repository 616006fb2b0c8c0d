#!/bin/sh
# The guest side of `make demo` (runs in the VM with rust_ipc loaded).
set -e
echo "=== /dev/rust_ipc"
ls -l /dev/rust_ipc
ripcctl version

echo
echo "=== POSIX: two processes, prioritised messages, a notification signal"
ripcctl mq-create /demo 10 128
ripcctl mq-notify-recv /demo 3 1000 &   # notified, then drains after 1 s
sleep 1
ripcctl mq-send /demo 1 "low priority, sent first"
ripcctl mq-send /demo 9 "high priority, sent second"
ripcctl mq-send /demo 5 "middle priority, sent third"
wait
ripcctl mq-unlink /demo

echo
echo "=== System V: typed messages between two processes"
ripcctl msg-send 0x5eed 3 "type 3"
ripcctl msg-send 0x5eed 1 "type 1"
ripcctl msg-send 0x5eed 2 "type 2"
ripcctl msg-send 0x5eed 7 "type 7"
ripcctl list
ripcctl msg-recv 0x5eed 2          # the first of type 2
ripcctl msg-recv 0x5eed -5         # the lowest type <= 5
ripcctl msg-recv 0x5eed 7 e        # the first not of type 7 (MSG_EXCEPT)
( ripcctl msg-recv 0x5eed 9 & sleep 1; ripcctl msg-send 0x5eed 9 "handed to the blocked receiver"; wait )
ripcctl msg-recv 0x5eed 0          # what is left
ripcctl msg-rm 0x5eed
ripcctl list
