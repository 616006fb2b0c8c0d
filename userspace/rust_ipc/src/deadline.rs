//! When a timed call gives up: a [`Deadline`] on one of the clocks the
//! module can wait on (a rust_ipc extension; native `mq_timedsend` knows
//! only an absolute `CLOCK_REALTIME` time).

use crate::{
    sys::timespec,
    uapi::{ripc_clock, ripc_timespec, RIPC_TIMEOUT_RELATIVE},
};
use rustix::time::{clock_gettime, ClockId};
use std::time::{Duration, Instant, SystemTime};

/// A clock a timed call can wait on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// `CLOCK_REALTIME`, the wall clock ([`SystemTime`]): an absolute wait
    /// ends when the clock is set past it.
    Realtime,
    /// `CLOCK_MONOTONIC` ([`Instant`]): not moved when the wall clock is
    /// set; stops while the system is suspended.
    Monotonic,
    /// `CLOCK_BOOTTIME`: `CLOCK_MONOTONIC` that also counts suspend.
    Boottime,
}

impl Clock {
    fn id(self) -> i32 {
        match self {
            Clock::Realtime => 0,
            Clock::Monotonic => 1,
            Clock::Boottime => 7,
        }
    }
}

/// When a timed call gives up with `ETIMEDOUT` (`ErrorKind::TimedOut`).
///
/// The `*_timeout` methods of [`PosixQueue`](crate::PosixQueue) and
/// [`SysvQueue`](crate::SysvQueue) take anything that converts into one:
/// an [`Instant`] (`CLOCK_MONOTONIC`, absolute: a wall-clock step does not
/// move it), a [`SystemTime`] (`CLOCK_REALTIME`, absolute, native's
/// deadline: setting the clock past it ends the wait), or a [`Duration`]
/// (a time to wait from the call's start, on `CLOCK_MONOTONIC`).  A call
/// with a relative timeout that a signal interrupts fails with `EINTR` if
/// a handler runs (`SA_RESTART` or not), so it never waits longer than
/// asked, and goes on for the time left if none does (a stop and
/// continue, a cgroup's freezer).
///
/// The module sleeps on an hrtimer of that clock, as native does: the call
/// never returns before its deadline.
///
/// ```no_run
/// use rust_ipc::{Clock, Deadline, PosixQueue};
/// use std::time::{Duration, Instant};
///
/// # fn main() -> std::io::Result<()> {
/// let q = PosixQueue::open("/jobs")?;
/// let mut buf = [0u8; 8192];
/// // At most 5 ms from now, whatever happens to the wall clock.
/// let _ = q.receive_timeout(&mut buf, Duration::from_millis(5));
/// // Until a monotonic instant, shared by several calls.
/// let until = Instant::now() + Duration::from_secs(1);
/// let _ = q.receive_timeout(&mut buf, until);
/// // 10 s of CLOCK_BOOTTIME (counting a suspend).
/// let _ = q.receive_timeout(&mut buf, Deadline::after(Clock::Boottime, Duration::from_secs(10)));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    clock: Clock,
    /// The timespec (a `SystemTime` before the epoch has a negative
    /// `tv_sec`, which the module refuses as native does).
    sec: i64,
    nsec: i64,
    absolute: bool,
}

impl Deadline {
    /// The time `time` of `clock` (since its epoch: 1970 for
    /// [`Clock::Realtime`], boot for the others).
    pub fn at(clock: Clock, time: Duration) -> Self {
        Self::new(clock, time, true)
    }

    /// `time` from the call's start, counted on `clock` (a relative
    /// [`Clock::Realtime`] wait is one of [`Clock::Monotonic`]).
    pub fn after(clock: Clock, time: Duration) -> Self {
        Self::new(clock, time, false)
    }

    fn new(clock: Clock, time: Duration, absolute: bool) -> Self {
        Deadline {
            clock,
            sec: i64::try_from(time.as_secs()).unwrap_or(i64::MAX),
            nsec: i64::from(time.subsec_nanos()),
            absolute,
        }
    }

    /// The ABI's timespec and clock.
    pub(crate) fn to_abi(self) -> (ripc_timespec, ripc_clock) {
        let ts = ripc_timespec {
            tv_sec: self.sec,
            tv_nsec: self.nsec,
        };
        let clock = ripc_clock {
            clockid: self.clock.id(),
            flags: if self.absolute {
                0
            } else {
                RIPC_TIMEOUT_RELATIVE as u32
            },
        };
        (ts, clock)
    }
}

/// `CLOCK_MONOTONIC`, absolute.  The instant is placed on the clock by
/// reading it after [`Instant::now`]: the deadline is at or a little after
/// the instant, never before.
impl From<Instant> for Deadline {
    fn from(t: Instant) -> Self {
        let now = Instant::now();
        let mono = clock_gettime(ClockId::Monotonic);
        let mono = Duration::new(mono.tv_sec as u64, mono.tv_nsec as u32);
        let time = if t >= now {
            mono.saturating_add(t - now)
        } else {
            mono.saturating_sub(now - t)
        };
        Deadline::at(Clock::Monotonic, time)
    }
}

/// `CLOCK_REALTIME`, absolute (a time before the epoch is `EINVAL`, as
/// native says of a negative `tv_sec`).
impl From<SystemTime> for Deadline {
    fn from(t: SystemTime) -> Self {
        let ts = timespec(t);
        Deadline {
            clock: Clock::Realtime,
            sec: ts.tv_sec,
            nsec: ts.tv_nsec,
            absolute: true,
        }
    }
}

/// A time to wait from the call's start, on `CLOCK_MONOTONIC`.
impl From<Duration> for Deadline {
    fn from(d: Duration) -> Self {
        Deadline::after(Clock::Monotonic, d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mono_now() -> Duration {
        let t = clock_gettime(ClockId::Monotonic);
        Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
    }

    #[test]
    fn instant_is_monotonic_absolute_never_early() {
        let before = mono_now();
        let d = Deadline::from(Instant::now() + Duration::from_secs(2));
        let after = mono_now();
        let (ts, c) = d.to_abi();
        assert_eq!((c.clockid, c.flags), (1, 0));
        let at = Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
        assert!(at >= before + Duration::from_secs(2));
        assert!(at <= after + Duration::from_secs(2));
        // A past instant stays in the past.
        let (ts, _) = Deadline::from(Instant::now() - Duration::from_millis(5)).to_abi();
        assert!(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32) < mono_now());
    }

    #[test]
    fn duration_is_relative_and_system_time_is_native() {
        let (ts, c) = Deadline::from(Duration::new(3, 7)).to_abi();
        assert_eq!((ts.tv_sec, ts.tv_nsec), (3, 7));
        assert_eq!((c.clockid, c.flags), (1, RIPC_TIMEOUT_RELATIVE as u32));
        let (ts, c) = Deadline::from(SystemTime::UNIX_EPOCH + Duration::new(5, 9)).to_abi();
        assert_eq!((ts.tv_sec, ts.tv_nsec), (5, 9));
        assert_eq!((c.clockid, c.flags), (0, 0));
        let (ts, _) = Deadline::from(SystemTime::UNIX_EPOCH - Duration::from_secs(1)).to_abi();
        assert!(ts.tv_sec < 0);
        let (ts, c) = Deadline::after(Clock::Boottime, Duration::MAX).to_abi();
        assert_eq!((ts.tv_sec, c.clockid), (i64::MAX, 7));
    }
}
