//! Per-queue statistics (`RIPC_IOC_STATS`, a rust_ipc extension): what a
//! queue has done since it was made or its counters were reset.

use crate::{
    sys::{ioctl, size_of},
    uapi,
};
use std::{
    io,
    os::fd::BorrowedFd,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// A queue's counters (`struct ripc_queue_stats`), from
/// [`PosixQueue::stats`](crate::PosixQueue::stats) or
/// [`SysvQueue::stats`](crate::SysvQueue::stats).
///
/// Each item of a batch counts as one call.  A call that fails counts
/// nothing, except that one that slept counts as blocked and one that
/// timed out as a timeout.  The times are those of the last such event, to
/// within a clock tick or two (`None`: there was none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Messages sent.
    pub sent: u64,
    /// Their bytes.
    pub sent_bytes: u64,
    /// Messages received (not `MSG_COPY`'s copies).
    pub received: u64,
    /// Their bytes (whole, if `MSG_NOERROR` cut them).
    pub received_bytes: u64,
    /// Messages sent straight to a blocked receiver (`pipelined_send`).
    pub handoffs: u64,
    /// Blocked senders' messages put in by the receive that made room
    /// (`pipelined_receive`; POSIX only).
    pub receive_handoffs: u64,
    /// Sends that slept for room.
    pub blocked_sends: u64,
    /// Receives that slept for a message.
    pub blocked_receives: u64,
    /// Sends and receives that ended in `ETIMEDOUT`.
    pub timeouts: u64,
    /// The most messages queued at once.
    pub peak_msgs: u64,
    /// The most bytes queued at once.
    pub peak_bytes: u64,
    /// Messages queued now.
    pub msgs: u64,
    /// Bytes queued now.
    pub bytes: u64,
    /// The last send.
    pub last_send: Option<SystemTime>,
    /// The last receive.
    pub last_receive: Option<SystemTime>,
    /// The last hand-off.
    pub last_handoff: Option<SystemTime>,
    /// The last receive hand-off.
    pub last_receive_handoff: Option<SystemTime>,
    /// The last send that slept.
    pub last_blocked_send: Option<SystemTime>,
    /// The last receive that slept.
    pub last_blocked_receive: Option<SystemTime>,
    /// The last timeout.
    pub last_timeout: Option<SystemTime>,
}

/// `CLOCK_REALTIME` nanoseconds as a time, 0 as none.
fn time(ns: i64) -> Option<SystemTime> {
    match ns {
        0 => None,
        n if n > 0 => Some(UNIX_EPOCH + Duration::from_nanos(n as u64)),
        n => Some(UNIX_EPOCH - Duration::from_nanos(n.unsigned_abs())),
    }
}

impl From<uapi::ripc_queue_stats> for QueueStats {
    fn from(s: uapi::ripc_queue_stats) -> Self {
        QueueStats {
            sent: s.sent,
            sent_bytes: s.sent_bytes,
            received: s.received,
            received_bytes: s.received_bytes,
            handoffs: s.handoffs,
            receive_handoffs: s.receive_handoffs,
            blocked_sends: s.blocked_sends,
            blocked_receives: s.blocked_receives,
            timeouts: s.timeouts,
            peak_msgs: s.peak_msgs,
            peak_bytes: s.peak_bytes,
            msgs: s.msgs,
            bytes: s.bytes,
            last_send: time(s.last_send_ns),
            last_receive: time(s.last_receive_ns),
            last_handoff: time(s.last_handoff_ns),
            last_receive_handoff: time(s.last_receive_handoff_ns),
            last_blocked_send: time(s.last_blocked_send_ns),
            last_blocked_receive: time(s.last_blocked_receive_ns),
            last_timeout: time(s.last_timeout_ns),
        }
    }
}

/// The argument of `RIPC_IOC_STATS` for `which` (`RIPC_STATS_FILE` or
/// `RIPC_STATS_SYSV`), `msqid` and, with `reset`, `RIPC_STATS_RESET`.
pub(crate) fn arg(which: u32, msqid: i32, reset: bool) -> uapi::ripc_stats {
    uapi::ripc_stats {
        size: size_of::<uapi::ripc_stats>(),
        which,
        msqid,
        flags: if reset {
            uapi::RIPC_STATS_RESET as u32
        } else {
            0
        },
        stats: Default::default(),
    }
}

/// `RIPC_IOC_STATS` on `fd` with `a`.
pub(crate) fn call(fd: BorrowedFd<'_>, a: &mut uapi::ripc_stats) -> io::Result<QueueStats> {
    // SAFETY: `a` is a `ripc_stats`, which has no pointers.
    unsafe { ioctl(fd, uapi::RIPC_CMD_IOC_STATS, a) }?;
    Ok(QueueStats::from(a.stats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(time(0), None);
        assert_eq!(time(1_500), Some(UNIX_EPOCH + Duration::from_nanos(1_500)));
        assert_eq!(time(-2), Some(UNIX_EPOCH - Duration::from_nanos(2)));
    }
}
