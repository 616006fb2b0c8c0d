// SPDX-License-Identifier: GPL-2.0

//! System V message queues (the model is `ipc/msg.c`): keys, ids with a
//! sequence number, typed FIFO queues, and `msgctl`.

#![deny(unsafe_code)]

use crate::ipc::checkpoint::{self, Reader, Writer, MSG_HEAD};
use crate::ipc::device::{Lines, Push};
use crate::ipc::{
    cred::{self, Ids},
    defs::*,
    engine::{
        self, DirectAt, EngineState, Family, Given, Parts, Pick, QueueState, Taken, DIRECT_MIN,
        DIRECT_TEXT_MAX,
    },
    fifo::{Fifo, Spot},
    hashed::{Entry, Hashed},
    kernel_api::{self, HashKey, PidRef, UserNsRef},
    limits::{Limits, IPCMNI},
    lock::{new_queue_lock, QueueLock},
    msg::{Lender, Msg, Spare},
    percpu::{ArcPerCpu, Counts},
    pinned::Pinned,
    rcu_index::{self, RcuIndex},
    stats::{self, Counted, Stats},
    tracked::Tracked,
    wait::{self, outcome, Blocking, Deadline, OnSignal, PollQueue, WaitList, WakeQ},
};
use core::ops::ControlFlow;
use kernel::{
    bindings,
    fs::File,
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        poll::PollTable,
        Arc, Mutex,
    },
    task::Task,
};

const IPC_CREAT: i32 = 0o1000;
const IPC_EXCL: i32 = 0o2000;
const IPC_NOWAIT: i32 = 0o4000;
const MSG_NOERROR: i32 = 0o10000;
const MSG_EXCEPT: i32 = 0o20000;
const MSG_COPY: i32 = 0o40000;
const IPC_RMID: i32 = 0;
const IPC_SET: i32 = 1;
const IPC_STAT: i32 = 2;
const IPC_INFO: i32 = 3;
const MSG_STAT: i32 = 11;
const MSG_INFO: i32 = 12;
const MSG_STAT_ANY: i32 = 13;
/// `ipcmni_seq_max()` without `ipcmni_extend`.
const SEQ_MAX: u32 = (i32::MAX as u32) / IPCMNI;
/// `MSGMNB`, `MSGMNI`, `MSGSSZ`, `MSGSEG` as `msgctl_info` reports them.
const MSGMNB: i32 = 16384;
const MSGPOOL: i32 = 32000 * MSGMNB / 1024;

/// What a namespace's queues share: the messages and bytes queued in all of
/// them (counted per CPU: one counter bumped by every message made a sender
/// and a receiver on two CPUs fight over its cache line), the user
/// namespace that owns the IPC namespace, over which the privileges of
/// `ipcperms` and `msgctl_down` count, and the namespace's limits.
struct Shared {
    /// The messages queued in the namespace and their bytes (native
    /// `msg_hdrs`, `msg_bytes`), for `MSG_INFO`.
    counts: Counts,
    user_ns: UserNsRef,
    limits: Arc<Limits>,
}

/// `MIN_CYCLE`: the smallest range the index allocation cycles through.
const MIN_CYCLE: usize = 64;

/// A namespace's ids (`struct ipc_ids`: its idr, and its key hash as a
/// tree from key to id).
struct Table {
    slots: KVVec<Option<Arc<SysvQueue>>>,
    keys: Keys,
    in_use: u32,
    /// `seq`, `last_idx`, the idr's cyclic cursor and `next_id`.
    seq: u32,
    last_idx: Option<usize>,
    cursor: usize,
    next_id: i32,
}

impl Table {
    fn new() -> Self {
        Table {
            slots: KVVec::new(),
            keys: Keys::new(),
            in_use: 0,
            seq: 0,
            last_idx: None,
            cursor: 0,
            next_id: -1,
        }
    }

    /// The queue of id `id` (`ipc_obtain_object_check`).
    fn get(&self, id: i32) -> Option<&Arc<SysvQueue>> {
        match self.slots.get((id as u32 % IPCMNI) as usize) {
            Some(Some(q)) if id >= 0 && q.id == id => Some(q),
            _ => None,
        }
    }

    fn is_free(&self, i: usize) -> bool {
        !matches!(self.slots.get(i), Some(Some(_)))
    }

    /// `ipc_idr_alloc`, without its effects: the index and sequence number
    /// of the next queue.  `msg_next_id` if set (the first free index from
    /// its own, with its sequence number), else the next free index after
    /// the last one in a cycle over max(in_use × 3/2, 64) indexes, with the
    /// sequence number advanced when the index did not grow.
    fn next(&self) -> Option<(usize, u32)> {
        if self.next_id >= 0 {
            let (start, seq) = (self.next_id as u32 % IPCMNI, self.next_id as u32 / IPCMNI);
            let idx = (start as usize..IPCMNI as usize).find(|&i| self.is_free(i))?;
            return Some((idx, seq));
        }
        let max = (self.in_use as usize * 3 / 2).clamp(MIN_CYCLE, IPCMNI as usize);
        let from = self.cursor.min(max);
        let idx = Iterator::chain(from..max, 0..from).find(|&i| self.is_free(i))?;
        let seq = match self.last_idx {
            Some(last) if idx <= last => {
                if self.seq + 1 >= SEQ_MAX {
                    0
                } else {
                    self.seq + 1
                }
            }
            _ => self.seq,
        };
        Some((idx, seq))
    }

    /// Grows the table to hold index `idx`, so that [`Table::insert`]
    /// there cannot fail.
    fn make_room(&mut self, idx: usize) -> Result {
        while self.slots.len() <= idx {
            self.slots.push(None, GFP_KERNEL)?;
        }
        Ok(())
    }

    /// Puts `q` at the `idx` and `seq` that [`Table::next`] gave (after
    /// [`Table::make_room`]).
    fn insert(&mut self, idx: usize, seq: u32, q: Arc<SysvQueue>) {
        if let Some(s) = self.slots.get_mut(idx) {
            *s = Some(q);
        }
        self.in_use += 1;
        if self.next_id >= 0 {
            self.next_id = -1;
        } else {
            (self.seq, self.last_idx, self.cursor) = (seq, Some(idx), idx + 1);
        }
    }
}

/// A namespace's keys, each to its queue's id (native: the `key_ht`
/// rhashtable of `struct ipc_ids`), in a [`Hashed`] table: `msgget` of a key
/// among 30 000 touches one entry.  Key 0 (`IPC_PRIVATE`, never looked
/// up) is not added.
struct Keys(Hashed<(i32, i32)>);

impl Entry for (i32, i32) {
    type Key = i32;

    fn key(&self) -> &i32 {
        &self.0
    }

    fn hash(key: &i32, seed: &HashKey) -> u32 {
        seed.hash(*key as u32)
    }
}

impl Keys {
    fn new() -> Self {
        Keys(Hashed::new(GFP_KERNEL))
    }

    /// The id of the queue with `key`.
    fn get(&self, key: i32) -> Option<i32> {
        self.0.get(&key).map(|&(_, id)| id)
    }

    /// Room for one more key, so that [`Keys::insert`] cannot fail.
    fn reserve(&mut self) -> Result {
        self.0.reserve()
    }

    /// Adds `key` (not in the table; after [`Keys::reserve`]).
    fn insert(&mut self, key: i32, id: i32) {
        if key != 0 {
            self.0.insert((key, id));
        }
    }

    fn remove(&mut self, key: i32) {
        if key != 0 {
            self.0.remove(&key);
        }
    }
}

/// The System V queues of one IPC namespace (native: its `ipc_ids`).
#[pin_data]
pub(crate) struct SysvNs {
    #[pin]
    ids: Mutex<Table>,
    /// The table's queues by index again, for the lookups of the data
    /// path: no lock, no shared write but the queue's reference count.
    /// Written under `ids` with the table's slots.
    #[pin]
    index: Index,
    /// The last queue a data call used on each CPU ([`find`]).
    last: ArcPerCpu<SysvQueue>,
    shared: Arc<Shared>,
}

/// [`SysvNs::index`]: an entry for every index an id can have.
type Index = RcuIndex<SysvQueue, { IPCMNI as usize / rcu_index::CHUNK }>;

impl SysvNs {
    pub(crate) fn new(user_ns: UserNsRef, limits: Arc<Limits>) -> impl PinInit<Self, Error> {
        try_pin_init!(SysvNs {
            ids <- new_mutex!(Table::new()),
            index <- Index::new(),
            last: ArcPerCpu::new()?,
            shared: Arc::new(
                Shared {
                    counts: Counts::new()?,
                    user_ns,
                    limits,
                },
                GFP_KERNEL_ACCOUNT
            )?,
        })
    }

    /// The namespace died (`free_ipcs`): every queue is removed, its
    /// messages freed, and no lookup finds it again; the index's references
    /// and its chunks are freed after a grace period, waited for here.  (A CPU's last
    /// queue stays in its slot, emptied, until the namespace's entry goes:
    /// the slots are the running CPU's only.)
    pub(crate) fn retire(&self) {
        let mut t = self.ids.lock();
        for (idx, q) in t.slots.iter().enumerate() {
            if let Some(q) = q {
                q.gone.store(true, Relaxed);
                // Unsetting needs no memory: it cannot fail.
                let _ = self.index.set(idx, None);
            }
        }
        let old = core::mem::replace(&mut *t, Table::new());
        drop(t);
        drop(old);
        self.index.release();
    }

    /// `checkpoint_restore_ns_capable` over the user namespace that owns
    /// the IPC namespace: `CAP_CHECKPOINT_RESTORE` or `CAP_SYS_ADMIN`; its
    /// `_noaudit` form unless `audit`.
    pub(crate) fn checkpoint_capable(&self, audit: bool) -> bool {
        let user_ns = &self.shared.user_ns;
        let cap = |c| {
            if audit {
                user_ns.capable(c)
            } else {
                user_ns.capable_noaudit(c)
            }
        };
        cap(bindings::CAP_CHECKPOINT_RESTORE) || cap(cred::CAP_SYS_ADMIN)
    }
}

/// What a removed queue gives back ([`SysvState::free_all`]), dropped
/// after its lock.
struct Freed {
    _msgs: Fifo,
    _spares: Option<Msg>,
    _pids: [Option<PidRef>; 2],
}

/// The namespace goes (`free_ipcs`): every queue is removed.
impl Drop for Table {
    fn drop(&mut self) {
        for q in core::mem::take(&mut self.slots).into_iter().flatten() {
            // The waiters are woken, and what was freed goes, after the
            // lock (the guard is a temporary of the first statement).
            let mut wq = WakeQ::new();
            let freed = q.state.lock().free_all(&mut wq);
            drop(freed);
            drop(wq);
            q.spare.close();
            q.poll.notify();
        }
    }
}

/// How `msgrcv` picks a message (`convert_mode`).
#[derive(Clone, Copy, PartialEq)]
enum Search {
    Any,
    Equal(i64),
    NotEqual(i64),
    LessEqual(i64),
    Number(i64),
}

impl Search {
    fn new(msgtyp: i64, flg: i32) -> Search {
        if flg & MSG_COPY != 0 {
            Search::Number(msgtyp)
        } else if msgtyp == 0 {
            Search::Any
        } else if msgtyp < 0 {
            Search::LessEqual(msgtyp.checked_neg().unwrap_or(i64::MAX))
        } else if flg & MSG_EXCEPT != 0 {
            Search::NotEqual(msgtyp)
        } else {
            Search::Equal(msgtyp)
        }
    }

    /// `testmsg`.
    fn matches(self, t: i64) -> bool {
        match self {
            Search::Any | Search::Number(_) => true,
            Search::Equal(x) => t == x,
            Search::NotEqual(x) => t != x,
            Search::LessEqual(x) => t <= x,
        }
    }
}

/// A blocked receiver: its search, its buffer size (`r_maxsize`), and what
/// a sender or `msgctl` hands it.
pub(crate) struct RecvWait {
    search: Search,
    bufsz: usize,
    /// `MSG_NOERROR`: a longer message is cut to `bufsz`.
    noerror: bool,
    got: Option<Result<Given>>,
    /// Its buffer (the type, then the text), if pinned for one copy.
    direct: Option<KBox<Pinned>>,
}

struct Perm {
    uid: u32,
    gid: u32,
    cuid: u32,
    cgid: u32,
    mode: u32,
}

struct SysvState {
    perm: Perm,
    stime: i64,
    rtime: i64,
    ctime: i64,
    cbytes: u64,
    qbytes: u64,
    lspid: Option<PidRef>,
    lrpid: Option<PidRef>,
    seq: u64,
    deleted: bool,
    /// The messages (a dump walks them a part at a time).
    msgs: Tracked<Fifo>,
    receivers: WaitList<RecvWait>,
    /// Blocked senders and their message sizes; served means "look again".
    senders: WaitList<usize>,
    shared: Arc<Shared>,
    /// Whether a sender waits, whether it was polled.
    engine: EngineState,
    stats: Stats,
    /// A `MSG_COPY` copy not allocated under the lock ([`Msg::duplicate`]): its
    /// length, then the room made for it with the lock dropped, for the
    /// same call's next look ([`Family::Need`]) (a look always follows in
    /// that critical section); a room that look leaves unused stays here
    /// until the call frees it after the lock ([`drop_copy_room`]).
    copy_need: Option<usize>,
    copy_room: Option<Msg>,
}

impl Counted for SysvState {
    fn stats(&mut self) -> &mut Stats {
        &mut self.stats
    }

    fn depth(&self) -> (u64, u64) {
        (self.msgs.len() as u64, self.cbytes)
    }
}

fn now() -> i64 {
    kernel_api::real_seconds()
}

/// A message of `len` bytes in (`sign` 1) or out (-1) of a queue holding
/// `cbytes`: its bytes and the namespace's totals (`msg_bytes`, `msg_hdrs`).
fn account(cbytes: &mut u64, shared: &Shared, len: usize, sign: i64) {
    *cbytes = (*cbytes as i64 + sign * len as i64) as u64;
    shared.counts.add(sign, sign * len as i64);
}

/// A message handed to blocked receiver `t` (`pipelined_send`): `lrpid` is
/// that thread's pid, `rtime` the time of the send.
fn pipelined(lrpid: &mut Option<PidRef>, rtime: &mut i64, t: &Task) {
    PidRef::set_task(lrpid, t);
    *rtime = now();
}

impl SysvState {
    /// `ipcperms`: whether the caller has the rwx bits asked in `flag`.
    fn allowed(&self, flag: i32) -> bool {
        self.allowed_audit(flag, true)
    }

    /// [`Self::allowed`]; a listing's check (not `audit`) leaves no audit
    /// record of a denied capability (as the POSIX listing's).
    fn allowed_audit(&self, flag: i32, audit: bool) -> bool {
        self.mode_allows(flag)
            || match audit {
                true => self.shared.user_ns.capable(cred::CAP_IPC_OWNER),
                false => self.shared.user_ns.capable_noaudit(cred::CAP_IPC_OWNER),
            }
    }

    /// [`Self::allowed`] by the mode bits alone, without `CAP_IPC_OWNER`.
    fn mode_allows(&self, flag: i32) -> bool {
        let req = ((flag >> 6) | (flag >> 3) | flag) as u32 & 7;
        let p = &self.perm;
        let granted = cred::granted(
            p.mode,
            kernel_api::current_euid(),
            &[p.cuid, p.uid],
            &[p.cgid, p.gid],
        );
        req & !granted == 0
    }

    /// `msgctl_down`'s rule: whether the caller is the queue's owner or
    /// creator, or has `CAP_SYS_ADMIN` over the IPC namespace's user
    /// namespace.
    fn owned(&self) -> bool {
        let euid = Ids::current().euid;
        euid == self.perm.cuid
            || euid == self.perm.uid
            || self.shared.user_ns.capable(cred::CAP_SYS_ADMIN)
    }

    /// A sender put a message in (or straight into a receiver's buffer).
    fn sender_ran(&mut self) {
        PidRef::set_current(&mut self.lspid);
        self.stime = now();
    }

    /// `msg_fits_inqueue`.
    fn fits(&self, size: usize) -> bool {
        self.cbytes + size as u64 <= self.qbytes && (self.msgs.len() as u64) < self.qbytes
    }

    /// `find_msg`: the message of `msgs` `search` selects, with its handle
    /// (a borrow of `msgs` only: the state's other fields stay free).
    fn find(msgs: &Fifo, search: Search) -> Option<(usize, &Msg)> {
        match search {
            Search::Any => msgs.iter().next(),
            Search::Number(n) => msgs.iter().nth(n.try_into().ok()?),
            Search::LessEqual(_) => {
                let mut best: Option<(usize, &Msg)> = None;
                for (i, m) in msgs.iter() {
                    if search.matches(m.mtype()) && best.is_none_or(|(_, b)| m.mtype() < b.mtype())
                    {
                        best = Some((i, m));
                        if m.mtype() == 1 {
                            break;
                        }
                    }
                }
                best
            }
            _ => msgs.iter().find(|(_, m)| search.matches(m.mtype())),
        }
    }

    /// The message `search` selects, where it can be taken out: one walk
    /// for every search but `msgtyp < 0`'s, whose lowest type is known
    /// only at the queue's end (a second walk, to it).
    fn spot(msgs: &mut Tracked<Fifo>, search: Search) -> Option<Spot<'_>> {
        match search {
            Search::Any => msgs.spot(0),
            Search::Number(_) | Search::LessEqual(_) => {
                let i = Self::find(msgs, search)?.0;
                msgs.spot(i)
            }
            Search::Equal(x) => msgs.spot_where(|m| m.mtype() == x),
            Search::NotEqual(x) => msgs.spot_where(|m| m.mtype() != x),
        }
    }

    fn account(&mut self, len: usize, sign: i64) {
        account(&mut self.cbytes, &self.shared, len, sign);
    }

    /// `ss_wakeup`: wake every sender whose message fits the queue as it
    /// is now, in order; one that then finds no room sleeps again.  Returns
    /// whether a sender is still blocked.  They are woken now, under the
    /// lock (a spinlock: preemption off), as native's `wake_up_q()` runs in
    /// its RCU read-side section (not preemptible without
    /// `CONFIG_PREEMPT_RCU`, as on the project's kernels): every one is
    /// woken before any runs, the most urgent runs first and takes the
    /// room, and no task can take it between the unlock and the wake-ups
    /// (a single sender woken after the lock could lose the room to a
    /// sender woken earlier that had not run yet, off the list here; native
    /// keeps that one on its list, wakes it again with the other, and the
    /// more urgent runs first).  The tasks queued before them
    /// (receivers an `IPC_SET` pokes) are woken first, as native's
    /// `wake_q` has them.
    fn wake_senders(&mut self, wq: &mut WakeQ, all: bool) -> bool {
        let (cbytes, qnum, qbytes) = (self.cbytes, self.msgs.len() as u64, self.qbytes);
        let fits = |w: usize| all || (cbytes + w as u64 <= qbytes && qnum < qbytes);
        let mut left = false;
        self.senders.each(|s| {
            if fits(s.w) {
                wq.flush();
                s.wake_now();
            } else {
                left = true;
            }
            ControlFlow::Continue(())
        });
        left
    }

    /// `freeque`: every waiter gets `EIDRM`, and the messages and the
    /// last sender's and receiver's pids are returned, to be freed after
    /// the lock (native frees them after unlocking its spinlock): a removed
    /// queue that something still holds (a CPU's last queue, the index's
    /// retired entries) keeps no pid, and so no pid namespace, alive.
    fn free_all(&mut self, wq: &mut WakeQ) -> Freed {
        self.deleted = true;
        self.receivers.wake_all(wq, |r| r.got = Some(Err(EIDRM)));
        self.senders.wake_all(wq, |_| {});
        let msgs = core::mem::replace(&mut *self.msgs, Fifo::new());
        self.shared
            .counts
            .add(-(msgs.len() as i64), -(self.cbytes as i64));
        self.cbytes = 0;
        Freed {
            _msgs: msgs,
            _spares: self.engine.take_spares(),
            _pids: [self.lspid.take(), self.lrpid.take()],
        }
    }
}

impl QueueState for SysvState {
    type Extra = ();

    fn engine(&mut self) -> &mut EngineState {
        &mut self.engine
    }

    /// Every message goes back into the queue first: a blocked receiver's
    /// own search then chooses among them all ([`Self::after_put_back`]).
    fn offer(&mut self, m: Msg, _wq: &mut WakeQ) -> Option<Msg> {
        Some(m)
    }

    /// Each blocked receiver, in arrival order, is given what its own
    /// search finds in the queue now (`find_msg`), as it would have had the
    /// messages that went back never left: a `msgtyp < 0` receiver the
    /// lowest type among them, not the first in send order.  It blocked
    /// when the queue had nothing for it, so only a receiver whose search
    /// matches one of their types (`back`) searches, and none once they
    /// are all taken.  Then the queue's peak (not counting the instant they
    /// were all in).
    fn after_put_back(&mut self, back: Option<&[i64]>, wq: &mut WakeQ) {
        let SysvState {
            msgs,
            receivers,
            lrpid,
            rtime,
            cbytes,
            shared,
            stats,
            ..
        } = self;
        let mut left = back.map_or(usize::MAX, |b| b.len());
        receivers.each(|r| {
            if left == 0 {
                return ControlFlow::Break(());
            }
            if back.is_some_and(|b| !b.iter().any(|&t| r.w.search.matches(t))) {
                return ControlFlow::Continue(());
            }
            let Some(spot) = Self::spot(msgs, r.w.search) else {
                return ControlFlow::Continue(());
            };
            let Some((len, mtype)) = spot.msg().map(|m| (m.len(), m.mtype())) else {
                return ControlFlow::Continue(());
            };
            match Self::pick(&r.w, mtype, len) {
                Pick::Pass => return ControlFlow::Continue(()),
                Pick::Fail(e) => Self::give(&mut r.w, Err(e)),
                Pick::Take => {
                    let Some(m) = spot.take() else {
                        return ControlFlow::Break(());
                    };
                    account(cbytes, shared, len, -1);
                    pipelined(lrpid, rtime, r.task());
                    let receipt = stats.took(len);
                    Self::give(&mut r.w, Ok(Given::Msg(m, receipt)));
                    left = left.saturating_sub(1);
                }
            }
            r.wake(wq);
            ControlFlow::Continue(())
        });
        let (msgs, bytes) = self.depth();
        self.stats.peak(msgs, bytes);
    }

    /// Its peak is counted after the blocked receivers got theirs
    /// ([`Self::after_put_back`]).
    fn reinsert(&mut self, m: Msg, (): ()) -> bool {
        let len = m.len();
        self.msgs.reinsert(m);
        self.account(len, 1);
        true
    }

    fn serve_senders(&mut self, wq: &mut WakeQ) -> bool {
        self.wake_senders(wq, false)
    }

    fn removed(&self) -> bool {
        self.deleted
    }
}

impl Family for SysvState {
    const ON_SIGNAL: OnSignal = OnSignal::RestartNoHand;
    const BY_PRIO: bool = false;
    const NO_MESSAGE: Error = ENOMSG;
    type SendWait = usize;
    type RecvWait = RecvWait;
    type Want = Want;

    fn senders(&mut self) -> &mut WaitList<usize> {
        &mut self.senders
    }

    fn receivers(&mut self) -> &mut WaitList<RecvWait> {
        &mut self.receivers
    }

    /// `do_msgsnd`'s order: `EACCES`, then `EIDRM`; a sender woken from its
    /// sleep looks for `EIDRM` first ("raced with RMID?").
    #[inline]
    fn admit(&self, len: usize, woken: bool) -> Result<bool> {
        if woken && self.deleted {
            Err(EIDRM)
        } else if !self.allowed(0o222) {
            Err(EACCES)
        } else if self.deleted {
            Err(EIDRM)
        } else {
            Ok(self.fits(len))
        }
    }

    /// One copy only for a sender the mode bits let in: one that needs
    /// `CAP_IPC_OWNER` (or is refused) goes the ordinary way, whose check
    /// is the one its LSM and audit see, as native's single `ipcperms`.
    #[inline]
    fn admit_direct(&self, len: usize) -> bool {
        !self.deleted && self.mode_allows(0o222) && self.fits(len)
    }

    type Need = usize;
    type Supply = Msg;

    fn take_need(&mut self) -> Option<usize> {
        self.copy_need.take()
    }

    fn make(len: usize) -> Result<Msg> {
        Msg::blank(len)
    }

    fn supply(&mut self, room: Msg) {
        self.copy_room = Some(room);
    }

    fn spare(&mut self) -> Option<Msg> {
        self.copy_room.take()
    }

    #[inline]
    fn sender_waits(&self, m: Msg) -> (usize, Option<Msg>) {
        (m.len(), Some(m))
    }

    #[inline]
    fn send(&mut self, mut m: Msg, wq: &mut WakeQ) -> Result {
        self.sender_ran();
        // Its place in the send order, kept if it comes back (put-back)
        // after a hand-over.
        m.set_seq(self.seq);
        self.seq += 1;
        let size = m.len();
        if let Some(m) =
            engine::hand_over::<Self>(&mut self.receivers, &mut self.stats, m, wq, |t| {
                pipelined(&mut self.lrpid, &mut self.rtime, t)
            })
        {
            self.msgs.push(m);
            self.account(size, 1);
            self.engine.queued();
            let (msgs, bytes) = self.depth();
            self.stats.queued(size, msgs, bytes);
        } else {
            self.stats.handed(size);
        }
        Ok(())
    }

    #[inline]
    fn take_for(&mut self, w: &Want) -> Result<Option<Taken<()>>> {
        Ok(self.receive(w)?.map(|msg| Taken::new(msg, ())))
    }

    /// A single receive's buffer is pinned for one copy: the type and as
    /// much text as a message can have.
    #[inline]
    fn receiver_waits(&self, w: &Want) -> (RecvWait, Option<DirectAt>) {
        let text = w.bufsz.min(self.shared.limits.msgmax() as usize);
        let at = match w.kind {
            Kind::Direct(p) => DirectAt::new(p, size_of::<i64>() + text),
            _ => None,
        };
        let e = RecvWait {
            search: w.search,
            bufsz: w.bufsz,
            noerror: w.noerror,
            got: None,
            direct: None,
        };
        (e, at)
    }

    fn attach(w: &mut RecvWait, pinned: KBox<Pinned>) {
        w.direct = Some(pinned);
    }

    fn detach(w: &mut RecvWait) -> Option<KBox<Pinned>> {
        w.direct.take()
    }

    /// `pipelined_send`'s test: the first whose search matches; one whose
    /// buffer is too small gets `E2BIG` on the way.
    #[inline]
    fn pick(r: &RecvWait, mtype: i64, len: usize) -> Pick {
        match (r.search.matches(mtype), !r.noerror && r.bufsz < len) {
            (false, _) => Pick::Pass,
            (true, true) => Pick::Fail(E2BIG),
            (true, false) => Pick::Take,
        }
    }

    #[inline]
    fn give(r: &mut RecvWait, got: Result<Given>) {
        r.got = Some(got);
    }

    /// `EAGAIN`: woken to look again (`msg_qbytes` changed).
    #[inline]
    fn given(w: RecvWait) -> Option<Result<Given>> {
        match w.got {
            Some(Err(e)) if e == EAGAIN => None,
            got => got,
        }
    }

    /// A `struct msgbuf`: the type, then the text.  A message longer than
    /// the buffer (cut by `MSG_NOERROR`) goes the ordinary way, which reads
    /// all of it first (`EFAULT` for a bad tail, as native's `load_msg`),
    /// and so does one longer than the pinned text (`msgmax` when the
    /// receiver blocked, raised since).
    fn fill(w: &mut RecvWait, src: u64, len: usize, mtype: i64) -> Option<usize> {
        let d = w.direct.as_deref_mut()?;
        let head = size_of::<i64>();
        if len > w.bufsz || len > d.len().saturating_sub(head) {
            return None;
        }
        // The text first: if it cannot be copied, nothing is written.
        d.fill_from_user(head, src, len).ok()?;
        d.write(0, &mtype.to_ne_bytes()).ok()?;
        Some(len)
    }

    fn sent_direct(&mut self, len: usize, receiver: &Task) {
        self.sender_ran();
        pipelined(&mut self.lrpid, &mut self.rtime, receiver);
        self.stats.handed(len);
    }

    #[inline]
    fn received(&mut self, w: &Want) {
        if w.copy().is_none() {
            PidRef::set_current(&mut self.lrpid);
            self.rtime = now();
        }
    }
}

/// A System V queue.
#[pin_data]
pub(crate) struct SysvQueue {
    key: i32,
    id: i32,
    /// Set once the queue has left the index (`IPC_RMID`), under the ids
    /// lock: a CPU's last queue ([`find`]) is used only while this is
    /// clear.
    gone: Atomic<bool>,
    #[pin]
    state: QueueLock<SysvState>,
    poll: PollQueue,
    spare: Spare,
}

impl SysvQueue {
    fn parts(&self) -> Parts<'_, SysvState> {
        Parts {
            state: &self.state,
            poll: &self.poll,
            spare: &self.spare,
        }
    }

    /// `poll` on a file bound with `RIPC_MSG_BIND`.
    pub(crate) fn poll(&self, file: &File, table: &PollTable<'_>) -> u32 {
        let g = self.parts().poll_lock(file, table);
        if g.deleted {
            return bindings::POLLHUP | bindings::POLLERR;
        }
        let mut mask = 0;
        if !g.msgs.is_empty() {
            mask |= bindings::POLLIN | bindings::POLLRDNORM;
        }
        if g.fits(0) {
            mask |= bindings::POLLOUT | bindings::POLLWRNORM;
        }
        mask
    }

    /// A queue with no message (`newque`), not yet in the table.
    fn new(
        ns: &SysvNs,
        key: i32,
        id: i32,
        perm: Perm,
        ctime: i64,
        qbytes: u64,
    ) -> Result<Arc<SysvQueue>> {
        Arc::pin_init(
            try_pin_init!(SysvQueue {
                key,
                id,
                gone: Atomic::new(false),
                state <- new_queue_lock!(SysvState {
                    perm,
                    stime: 0,
                    rtime: 0,
                    ctime,
                    cbytes: 0,
                    qbytes,
                    lspid: None,
                    lrpid: None,
                    seq: 0,
                    deleted: false,
                    msgs: Tracked::new(Fifo::new()),
                    receivers: WaitList::new(),
                    senders: WaitList::new(),
                    shared: ns.shared.clone(),
                    engine: EngineState::default(),
                    stats: Stats::default(),
                    copy_need: None,
                    copy_room: None,
                }),
                poll: PollQueue::new()?,
                spare: Spare::new(),
            }),
            GFP_KERNEL_ACCOUNT,
        )
    }
}

/// `RIPC_MSG_BIND`: the queue a file is bound to for `poll`.
pub(crate) fn bind(ns: &SysvNs, a: &ripc_msgbind) -> Result<Arc<SysvQueue>> {
    let q = lookup(ns, a.msqid)?;
    if !q.state.lock().allowed(0o444) {
        return Err(EACCES);
    }
    Ok(q)
}

/// Looks an id up (`ipc_obtain_object_check`, under RCU as native): `EINVAL`
/// for a bad, stale or removed id.
fn lookup(ns: &SysvNs, id: i32) -> Result<Arc<SysvQueue>> {
    if id < 0 {
        return Err(EINVAL);
    }
    ns.index
        .get((id as u32 % IPCMNI) as usize, |q| q.id == id)
        .ok_or(EINVAL)
}

/// The queue of `id` for a data call: the last one a data call used on this
/// CPU, if the id still names it (it has not left the index: a removed
/// queue's id gives `EINVAL`, as a looked-up one's), else looked up.  One
/// flag of the queue says so (`gone`, read without a lock: a removal that
/// it misses is one that comes between a native lookup and its lock, which
/// gives `EIDRM` under the lock, as natively).  A stream between two tasks,
/// each on its CPU, finds its queue without a lookup and without a
/// reference count that both write.  Given back with [`keep`].  (A removed
/// queue, its messages freed, stays in a CPU's slot until that CPU's next
/// data call in the namespace, or the namespace's end.)
#[inline(always)]
fn find(ns: &SysvNs, id: i32) -> Result<Arc<SysvQueue>> {
    if let Some(q) = ns.last.take() {
        if q.id == id && !q.gone.load(Relaxed) {
            return Ok(q);
        }
    }
    lookup(ns, id)
}

/// The queue a data call used, kept for the next on this CPU.
fn keep(ns: &SysvNs, q: Arc<SysvQueue>) {
    ns.last.put(q);
}

/// `RIPC_MSGGET`.
pub(crate) fn msgget(ns: &SysvNs, a: &ripc_msgget) -> Result<i32> {
    let mut t = ns.ids.lock();
    if a.key != 0 {
        if let Some(q) = t.keys.get(a.key).and_then(|id| t.get(id)) {
            if a.msgflg & (IPC_CREAT | IPC_EXCL) == IPC_CREAT | IPC_EXCL {
                return Err(EEXIST);
            }
            if !q.state.lock().allowed(a.msgflg) {
                return Err(EACCES);
            }
            return Ok(q.id);
        }
        if a.msgflg & IPC_CREAT == 0 {
            return Err(ENOENT);
        }
    }
    // newque + ipc_addid.
    let l = ns.shared.limits.get();
    if t.in_use >= l.msgmni.min(IPCMNI) {
        return Err(ENOSPC);
    }
    let Some((idx, seq)) = t.next() else {
        t.next_id = -1;
        return Err(ENOSPC);
    };
    let id = (idx as u32 + seq * IPCMNI) as i32;
    let ids = Ids::current();
    let perm = Perm {
        uid: ids.euid,
        gid: ids.egid,
        cuid: ids.euid,
        cgid: ids.egid,
        mode: (a.msgflg & 0o777) as u32,
    };
    let q = SysvQueue::new(ns, a.key, id, perm, now(), u64::from(l.msgmnb))?;
    // Native's `ipc_idr_alloc` takes `msg_next_id` before its allocations
    // in the idr and the key table can fail: a failure there clears it.
    let room = |t: &mut Table| -> Result {
        if a.key != 0 {
            t.keys.reserve()?;
        }
        t.make_room(idx)?;
        // Published last: once in the index a lookup may find it, so nothing
        // after may fail (native's `ipc_addid` marks it deleted if it does).
        ns.index.set(idx, Some(q.clone()))
    };
    if let Err(e) = room(&mut t) {
        t.next_id = -1;
        return Err(e);
    }
    t.insert(idx, seq, q);
    t.keys.insert(a.key, id);
    Ok(id)
}

/// `RIPC_MSG_NEXT_ID`: `msg_next_id` as it was, after setting it if asked.
pub(crate) fn next_id(ns: &SysvNs, a: &ripc_msg_next_id) -> Result<i32> {
    if a.set != 0 {
        // The sysctl's rule (ipc_permissions): mode 0444, made 0666 by
        // checkpoint_restore_ns_capable(ns->user_ns) alone (its owner gets
        // 0444's owner bits); an open for writing then gives EACCES.  The
        // sysctl's check is `checkpoint_restore_ns_capable_noaudit`.
        if !ns.checkpoint_capable(false) {
            return Err(EACCES);
        }
        // As that file could be written now (`EROFS` under a read-only
        // `/proc/sys`).
        kernel_api::sysctl_writable(c"/proc/sys/kernel/msg_next_id")?;
        if a.value < 0 {
            return Err(EINVAL);
        }
    }
    let mut t = ns.ids.lock();
    let old = t.next_id;
    if a.set != 0 {
        t.next_id = a.value;
    }
    Ok(old)
}

/// Reads and checks one message to send, in `do_msgsnd`'s order: the
/// mtype (`EFAULT` first), the size, the mtype's value, then the text
/// (into a head `heads` lends if it fits).
fn load(msgmax: u32, msgp: u64, msgsz: i64, msqid: i32, heads: impl Lender) -> Result<Msg> {
    let valid = msgsz <= i64::from(msgmax) && msgsz >= 0 && msqid >= 0;
    if valid {
        if let Some(m) = Msg::load_typed(msgp, msgsz as usize, heads) {
            return if m.mtype() < 1 { Err(EINVAL) } else { Ok(m) };
        }
    }
    let mtype: i64 = read_user(msgp)?;
    if !valid {
        return Err(EINVAL);
    }
    if mtype < 1 {
        return Err(EINVAL);
    }
    Msg::load(msgp.wrapping_add(8), msgsz as usize, mtype, None::<&Spare>)
}

/// `RIPC_MSGSND`, in `do_msgsnd`'s order of checks.
pub(crate) fn msgsnd(ns: &SysvNs, a: &ripc_msgsnd) -> Result {
    if let Some(r) = msgsnd_direct(ns, a) {
        return r;
    }
    // The queue first, for its spare head; its error after the message's
    // and the timeout's (native looks it up after `load_msg`).
    let q = match find(ns, a.msqid) {
        Ok(q) => q,
        Err(e) => return Err(unknown_queue(ns, a, e)),
    };
    let msgmax = ns.shared.limits.msgmax();
    let (m, deadline) = match load(msgmax, a.msgp, a.msgsz, a.msqid, Some(&q.spare))
        .and_then(|m| Ok((m, Deadline::from_user(a.timeout, &a.clock)?)))
    {
        Ok(md) => md,
        Err(e) => {
            keep(ns, q);
            return Err(e);
        }
    };
    if q.gone.load(Relaxed) {
        // Removed while the message was copied in: native's lookup, after
        // its copy, would have found no queue.
        keep(ns, q);
        return Err(EINVAL);
    }
    let b = Blocking {
        nonblock: a.msgflg & IPC_NOWAIT != 0,
        first_only: false,
        deadline,
    };
    let (done, err) = q.parts().send_run(core::iter::once(m), b);
    keep(ns, q);
    outcome(done, err).map(|_| ())
}

/// The error of a `msgsnd` to an id that names no queue (`e`): the
/// message's and the timeout's first, as native's order of checks.
#[cold]
fn unknown_queue(ns: &SysvNs, a: &ripc_msgsnd, e: Error) -> Error {
    let m = load(
        ns.shared.limits.msgmax(),
        a.msgp,
        a.msgsz,
        a.msqid,
        None::<&Spare>,
    );
    m.and_then(|_| Deadline::from_user(a.timeout, &a.clock))
        .err()
        .unwrap_or(e)
}

/// A large message straight into a blocked receiver's buffer, if one
/// waits with it pinned (one copy).  `None` (the ordinary way) also for any
/// error, which the ordinary way then gives in `do_msgsnd`'s order.  What
/// this read (`msgmax`, the timeout, the type) the ordinary way reads
/// again, and uses alone: passing it on cost the common path of every
/// `msgsnd` 8 to 28 instructions (2026-12-06, three ways measured).
fn msgsnd_direct(ns: &SysvNs, a: &ripc_msgsnd) -> Option<Result> {
    let len = usize::try_from(a.msgsz).ok()?;
    if !(DIRECT_MIN..=DIRECT_TEXT_MAX).contains(&len)
        || a.msgsz > i64::from(ns.shared.limits.msgmax())
        || a.msqid < 0
    {
        return None;
    }
    Deadline::from_user(a.timeout, &a.clock).ok()?;
    let mtype: i64 = read_user(a.msgp).ok()?;
    if mtype < 1 {
        return None;
    }
    let q = lookup(ns, a.msqid).ok()?;
    q.parts().send_direct(a.msgp.wrapping_add(8), len, mtype)
}

/// One receive: its search and its buffer.
#[derive(Clone, Copy)]
struct Want {
    search: Search,
    bufsz: usize,
    noerror: bool,
    kind: Kind,
}

/// What a receive does with the message it finds.
#[derive(Clone, Copy)]
enum Kind {
    /// Takes it.
    Take,
    /// Takes it: a single blocking receive, whose `struct msgbuf` is here,
    /// for a sender to fill straight (one copy).
    Direct(u64),
    /// Copies it (`MSG_COPY`), if it is no longer than this limit:
    /// `min(bufsz, msgmax)`, `msgmax` read once, as `prepare_copy`'s.
    Copy(usize),
}

/// `prepare_copy`'s fault: native loads `min(bufsz, msgmax)` bytes
/// (`len`) of a `MSG_COPY` buffer before it looks the queue up (`EFAULT`
/// first).  A byte of each page faults as that copy would.
fn copy_buffer_readable(buf: u64, len: usize) -> Result {
    let end = buf.checked_add(len as u64).ok_or(EFAULT)?;
    let mut at = buf;
    while at < end {
        read_user::<u8>(at)?;
        kernel_api::cond_resched();
        match (at | (PAGE_SIZE as u64 - 1)).checked_add(1) {
            Some(next) => at = next,
            None => break,
        }
    }
    Ok(())
}

impl Want {
    /// `msgrcv`'s argument checks; a copy's buffer is read as
    /// `prepare_copy`'s ([`Want::copy_checks`]), `msgmax` read once.
    #[inline]
    fn new(
        msgmax: impl FnOnce() -> u32,
        msgp: u64,
        msgsz: i64,
        msgtyp: i64,
        flg: i32,
    ) -> Result<Want> {
        if msgsz < 0 {
            return Err(EINVAL);
        }
        let w = Self::of(msgsz, msgtyp, flg, (flg & MSG_COPY != 0).then(msgmax));
        if let Some(most) = w.copy() {
            Self::copy_checks(msgp, most, flg)?;
        }
        Ok(w)
    }

    /// The receive of arguments [`Want::new`] accepts (`msgsz` is not
    /// negative); a copy's (`MSG_COPY`) with `msgmax`.
    #[inline]
    fn of(msgsz: i64, msgtyp: i64, flg: i32, copy_msgmax: Option<u32>) -> Want {
        let bufsz = msgsz as usize;
        Want {
            search: Search::new(msgtyp, flg),
            bufsz,
            noerror: flg & MSG_NOERROR != 0,
            kind: copy_msgmax.map_or(Kind::Take, |m| Kind::Copy(bufsz.min(m as usize))),
        }
    }

    /// A `MSG_COPY` receive's checks, whose limit is `most`.
    #[cold]
    #[inline(never)]
    fn copy_checks(msgp: u64, most: usize, flg: i32) -> Result {
        if flg & IPC_NOWAIT == 0 || flg & MSG_EXCEPT != 0 {
            return Err(EINVAL);
        }
        // Native's `prepare_copy` on a kernel without checkpoint/restore.
        if cfg!(not(CONFIG_CHECKPOINT_RESTORE)) {
            return Err(ENOSYS);
        }
        copy_buffer_readable(msgp, most)
    }

    /// A copy's limit, if it is one.
    #[inline]
    fn copy(&self) -> Option<usize> {
        match self.kind {
            Kind::Copy(most) => Some(most),
            _ => None,
        }
    }
}

impl SysvState {
    /// One look at the queue for `w`: the message it gets, `None` if it
    /// must wait, or its error.
    fn receive(&mut self, w: &Want) -> Result<Option<Msg>> {
        if !self.allowed(0o444) {
            return Err(EACCES);
        }
        if self.deleted {
            return Err(EIDRM);
        }
        let fits = |len| {
            if w.bufsz < len && !w.noerror {
                return Err(E2BIG);
            }
            Ok(len)
        };
        if let Some(most) = w.copy() {
            let Some((_, found)) = Self::find(&self.msgs, w.search) else {
                return Ok(None);
            };
            let len = fits(found.len())?;
            // copy_msg's quirk: larger than min(msgsz, msgmax) is EINVAL.
            if len > most {
                return Err(EINVAL);
            }
            // The room made for this look, if any; left in the state if
            // this look does not use it, for the call to free after the
            // lock ([`drop_copy_room`]).
            let mut room = self.copy_room.take();
            let made = room.is_some();
            let copy = found.duplicate(&mut room);
            self.copy_room = room;
            return copy.map(Some).map_err(|n| {
                // A room made for a message that changed since: one that
                // any message this call may copy fits ([`Msg::duplicate`]).
                self.copy_need = Some(if made { most } else { n });
                ENOMEM
            });
        }
        let Some(spot) = Self::spot(&mut self.msgs, w.search) else {
            return Ok(None);
        };
        fits(spot.msg().map_or(0, Msg::len))?;
        let m = spot.take().ok_or(ENOMSG)?;
        self.account(m.len(), -1);
        // Its room is free: the caller lets senders in.
        Ok(Some(m))
    }
}

/// `RIPC_MSGRCV`, in `do_msgrcv`'s order of checks; returns the length.
pub(crate) fn msgrcv(ns: &SysvNs, a: &ripc_msgrcv) -> Result<usize> {
    if a.msqid < 0 {
        return Err(EINVAL);
    }
    let mut w = Want::new(
        || ns.shared.limits.msgmax(),
        a.msgp,
        a.msgsz,
        a.msgtyp,
        a.msgflg,
    )?;
    if let Kind::Take = w.kind {
        // A blocking receive may be filled straight by its sender (one copy).
        w.kind = Kind::Direct(a.msgp);
    }
    let b = Blocking {
        nonblock: a.msgflg & IPC_NOWAIT != 0,
        first_only: false,
        deadline: Deadline::from_user(a.timeout, &a.clock)?,
    };
    let q = find(ns, a.msqid)?;
    // The mtype and at most `bufsz` bytes of text: under the queue lock if
    // the copy cannot fault right now and is short (`LOCKED_COPY_MAX`),
    // else after it, where a fault puts the message back as if it had
    // never left (unlike native, nothing is lost).  A copy (MSG_COPY) has
    // no room: the original stays queued.
    let parts = q.parts();
    let mut got = None;
    let now = |m: &Msg| {
        let n = m.len().min(w.bufsz);
        m.store_typed_nofault(a.msgp, n).map(|()| n)
    };
    let mut away = None;
    let (_, err) = parts.receive_run(core::iter::once(w), b, Some(&mut away), |g, arrival, wq| {
        got = Some(parts.got(g, arrival, w.copy().is_none(), wq, now));
    });
    let got = match away {
        Some(a) => Ok(parts.got_unlocked(a, now)),
        None => got.ok_or(err.unwrap_or(EINVAL)),
    };
    let r = got.and_then(|got| {
        parts.finish(
            got,
            |m| {
                let n = m.len().min(w.bufsz);
                m.store_typed(a.msgp, n).map(|()| n)
            },
            |n, _, _| Ok(n),
        )
    });
    if w.copy().is_some() {
        drop_copy_room(&q);
    }
    keep(ns, q);
    r
}

/// Frees a `MSG_COPY` room its call's looks left unused (the queue
/// changed between the look it was made for and the next), after the
/// queue lock: native's `free_copy` after `ipc_unlock_object`.
#[cold]
fn drop_copy_room(q: &SysvQueue) {
    let room = q.state.lock().copy_room.take();
    drop(room);
}

/// A batch's count and blocking, after `msgsnd`'s and `msgrcv`'s first check.
fn batch_args(b: &ripc_msg_batch) -> Result<(usize, Blocking)> {
    let nonblock = b.msgflg & IPC_NOWAIT != 0;
    Blocking::batch(b.count, b.flags, nonblock, b.timeout, &b.clock)
}

/// `RIPC_MSGSND_BATCH`: the messages are loaded, then sent under one lock,
/// a part at a time ([`wait::send_parts`]); returns how many were sent.  A
/// negative `msqid` is each load's `EINVAL`, after its mtype is read, as
/// `msgsnd`'s.
pub(crate) fn msgsnd_batch(ns: &SysvNs, b: &ripc_msg_batch) -> Result<usize> {
    let (count, blocking) = batch_args(b)?;
    let (items, err) = read_items::<ripc_msg_item>(b.items, count)?;
    // The queue first, for its kept heads; the id looked up again once the
    // first messages are loaded, as `msgsnd` does, if it named none or its
    // queue was removed meanwhile.
    let found = lookup(ns, b.msqid).ok();
    let mut q = None;
    wait::send_parts(
        &items,
        err,
        blocking,
        |n| {
            found
                .as_ref()
                .map(|q| q.parts().lend_heads(n))
                .unwrap_or_default()
        },
        |it, heads| load(ns.shared.limits.msgmax(), it.msgp, it.msgsz, b.msqid, heads),
        |mut msgs, blocking| {
            if q.is_none() {
                q = match &found {
                    Some(f) if !f.gone.load(Relaxed) => Some(f.clone()),
                    _ => match lookup(ns, b.msqid) {
                        Ok(f) => Some(f),
                        Err(e) => return (0, Some(e)),
                    },
                };
            }
            match &q {
                Some(q) => q.parts().send_run(msgs.drain_all(), blocking),
                None => (0, Some(EINVAL)),
            }
        },
    )
}

/// `RIPC_MSGRCV_BATCH`: receives under one lock, then copies each message
/// out and writes its length to its item; returns how many were received.
pub(crate) fn msgrcv_batch(ns: &SysvNs, b: &ripc_msg_batch) -> Result<usize> {
    if b.msqid < 0 {
        return Err(EINVAL);
    }
    let (count, blocking) = batch_args(b)?;
    let (mut items, mut err) = read_items::<ripc_msg_item>(b.items, count)?;
    // Each item's checks as `msgrcv`'s, a copy's buffer read too, before
    // any receive, with `msgmax` read once; the runs make each item's
    // receive again from it ([`Want::of`]), a copy's with that `msgmax`.
    let (flg, msgmax) = (b.msgflg, ns.shared.limits.msgmax());
    let bad = items
        .iter()
        .map(|it| Want::new(|| msgmax, it.msgp, it.msgsz, it.msgtyp, flg))
        .enumerate()
        .find_map(|(k, w)| w.err().map(|e| (k, e)));
    if let Some((k, e)) = bad {
        items.truncate(k);
        err = Some(e);
    }
    if items.is_empty() {
        return outcome(0, err);
    }
    let q = lookup(ns, b.msqid)?;
    let copy = (flg & MSG_COPY != 0).then_some(msgmax);
    let want = |it: &ripc_msg_item| Some(Want::of(it.msgsz, it.msgtyp, flg, copy));
    let (done, err) = q.parts().receive_batch(
        b.items,
        &mut items,
        want,
        blocking,
        copy.is_none(),
        |it, m| {
            let len = m.len().min(it.msgsz as usize);
            it.msgsz = len as i64;
            m.store_typed(it.msgp, len)
        },
    );
    if copy.is_some() {
        drop_copy_room(&q);
    }
    outcome(done, err)
}

/// `RIPC_MSGCTL`.
pub(crate) fn msgctl(ns: &SysvNs, a: &ripc_msgctl) -> Result<i32> {
    if a.msqid < 0 || a.cmd < 0 {
        return Err(EINVAL);
    }
    match a.cmd {
        IPC_INFO | MSG_INFO => info(ns, a),
        IPC_STAT | MSG_STAT | MSG_STAT_ANY => stat(ns, a),
        IPC_SET | IPC_RMID => down(ns, a),
        _ => Err(EINVAL),
    }
}

fn info(ns: &SysvNs, a: &ripc_msgctl) -> Result<i32> {
    let l = ns.shared.limits.get();
    let t = ns.ids.lock();
    let max_idx = t.slots.iter().rposition(|s| s.is_some()).unwrap_or(0);
    let max_idx = i32::try_from(max_idx).unwrap_or(i32::MAX);
    // min_t(int, sum, INT_MAX), as msgctl_info gives the totals: min_t
    // casts the 64-bit sum to int first, so a total past 2 GiB comes out
    // truncated (its low 32 bits), not clamped.
    let total = |v: i64| v as i32;
    let (pool, map, tql) = if a.cmd == MSG_INFO {
        let (msgs, bytes) = ns.shared.counts.sum();
        (t.in_use as i32, total(msgs), total(bytes))
    } else {
        (MSGPOOL, MSGMNB, MSGMNB)
    };
    drop(t);
    let info = ripc_msginfo {
        msgpool: pool,
        msgmap: map,
        msgmax: l.msgmax as i32,
        msgmnb: l.msgmnb as i32,
        msgmni: l.msgmni as i32,
        msgssz: 16,
        msgtql: tql,
        msgseg: 0xffff,
        __pad: 0,
    };
    write_user(a.buf, &info)?;
    Ok(max_idx)
}

fn stat(ns: &SysvNs, a: &ripc_msgctl) -> Result<i32> {
    let q = if a.cmd == IPC_STAT {
        lookup(ns, a.msqid)?
    } else {
        // An index, masked as `ipcid_to_idx` does.
        let t = ns.ids.lock();
        match t.slots.get((a.msqid as u32 % IPCMNI) as usize) {
            Some(Some(q)) => q.clone(),
            _ => return Err(EINVAL),
        }
    };
    let g = q.state.lock();
    if a.cmd != MSG_STAT_ANY && !g.allowed(0o444) {
        return Err(EACCES);
    }
    // `msgctl_stat`: removed between the lookup and the lock.
    if g.deleted {
        return Err(EIDRM);
    }
    let p = &g.perm;
    let ds = ripc_msqid_ds {
        msg_perm: ripc_ipc_perm {
            key: q.key,
            uid: cred::uid_to_user(p.uid),
            gid: cred::gid_to_user(p.gid),
            cuid: cred::uid_to_user(p.cuid),
            cgid: cred::gid_to_user(p.cgid),
            mode: p.mode as u16,
            seq: (q.id as u32 / IPCMNI) as u16,
            ..Default::default()
        },
        msg_stime: g.stime,
        msg_rtime: g.rtime,
        msg_ctime: g.ctime,
        msg_cbytes: g.cbytes,
        msg_qnum: g.msgs.len() as u64,
        msg_qbytes: g.qbytes,
        msg_lspid: PidRef::vnr(g.lspid.as_ref()),
        msg_lrpid: PidRef::vnr(g.lrpid.as_ref()),
        ..Default::default()
    };
    drop(g);
    write_user(a.buf, &ds)?;
    Ok(if a.cmd == IPC_STAT { 0 } else { q.id })
}

/// `RIPC_IOC_STATS` of System V queue `msqid`, looked up as `IPC_STAT`
/// does (`EINVAL`).
pub(crate) fn stats_of_id(ns: &SysvNs, msqid: i32, reset: bool) -> Result<ripc_queue_stats> {
    stats(&*lookup(ns, msqid)?, reset)
}

/// `RIPC_IOC_STATS` of a System V queue, in `IPC_STAT`'s order of checks
/// (`EACCES`, then `EIDRM`); `reset` (as `IPC_SET`: else `EPERM`) then
/// zeroes the counters.
pub(crate) fn stats(q: &SysvQueue, reset: bool) -> Result<ripc_queue_stats> {
    let mut g = q.state.lock();
    if !g.allowed(0o444) {
        return Err(EACCES);
    }
    if g.deleted {
        return Err(EIDRM);
    }
    if reset && !g.owned() {
        return Err(EPERM);
    }
    Ok(g.read_stats(reset))
}

/// `msgctl_down`: `IPC_SET` and `IPC_RMID`.
fn down(ns: &SysvNs, a: &ripc_msgctl) -> Result<i32> {
    let new: Option<ripc_msqid_ds> = if a.cmd == IPC_SET {
        Some(read_user(a.buf)?)
    } else {
        None
    };
    let mut wq = WakeQ::new();
    // The id table stays locked (the native `down_write` of the ids'
    // rwsem), so that a removed queue leaves the table in the same critical
    // section in which it is marked removed: once a call has seen EIDRM,
    // every later lookup of the id gives EINVAL.
    let mut t = ns.ids.lock();
    let q = t.get(a.msqid).cloned().ok_or(EINVAL)?;
    let mut g = q.state.lock();
    if !g.owned() {
        return Err(EPERM);
    }
    let Some(n) = new else {
        let freed = g.free_all(&mut wq);
        let idx = (q.id as u32 % IPCMNI) as usize;
        let mut out = None;
        if let Some(s) = t.slots.get_mut(idx) {
            *s = None;
            t.in_use -= 1;
            // Under the queue lock, as native's `ipc_rmid`: a lookup after
            // the EIDRM it gave fails (the index, and a CPU's last queue in
            // `find`).  Its reference is retired after the lock (that may
            // sleep: a mutex, a grace period).
            out = Some(ns.index.unpublish(idx));
            q.gone.store(true, Relaxed);
        }
        drop(g);
        if let Some(o) = out {
            ns.index.retire(o);
        }
        t.keys.remove(q.key);
        drop(t);
        drop(freed);
        q.spare.close();
        q.poll.notify();
        return Ok(0);
    };
    drop(t);
    // msgctl_down() takes msg_qbytes as an int, compared with the unsigned
    // msgmnb; q_qbytes gets it sign-extended.
    let qbytes = n.msg_qbytes as i32;
    if qbytes as u32 > ns.shared.limits.get().msgmnb && !cred::capable(cred::CAP_SYS_RESOURCE) {
        return Err(EPERM);
    }
    let uid = cred::user_to_uid(n.msg_perm.uid)?;
    let gid = cred::user_to_gid(n.msg_perm.gid)?;
    g.perm.uid = uid;
    g.perm.gid = gid;
    g.perm.mode = (g.perm.mode & !0o777) | (u32::from(n.msg_perm.mode) & 0o777);
    g.qbytes = i64::from(qbytes) as u64;
    g.ctime = now();
    // expunge_all(-EAGAIN): receivers look again (permissions changed),
    // served meanwhile if a send or a removal comes before they run.
    g.receivers.poke_all(&mut wq, |r| r.got = Some(Err(EAGAIN)));
    g.wake_senders(&mut wq, false);
    drop(g);
    q.poll.notify();
    Ok(0)
}

/// `RIPC_IOC_LIST`: one line per queue, like `/proc/sysvipc/msg`, in
/// index order from `cursor` (0: the header first; else the index + 1 of
/// the next slot to look at); returns where to go on, and whether `out`
/// was full before the end.  A page of lines at a time under the ids lock.
/// `stats`: the statistics table instead (`RIPC_LIST_STATS`), of the
/// queues the caller may read.
pub(crate) fn list(ns: &SysvNs, out: &mut Lines, cursor: u64, stats: bool) -> Result<(u64, bool)> {
    let plain = b"       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime";
    if out.header(cursor, stats, b" key msqid", plain) {
        return Ok((0, true));
    }
    let mut idx = usize::try_from(cursor.saturating_sub(1)).unwrap_or(usize::MAX);
    loop {
        let t = ns.ids.lock();
        let stop = loop {
            let Some((i, q)) = t
                .slots
                .iter()
                .enumerate()
                .skip(idx)
                .find_map(|(i, s)| s.as_ref().map(|q| (i, q)))
            else {
                break Some((t.slots.len() as u64 + 1, false));
            };
            let mut g = q.state.lock();
            let p = &g.perm;
            let pushed = if stats {
                if g.allowed_audit(0o444, false) {
                    let s = g.read_stats(false);
                    out.line(|t| {
                        stats::row(t, &s).sp().dec(q.key).sp().dec(q.id);
                    })
                } else {
                    Push::Taken
                }
            } else {
                // /proc/sysvipc/msg's line (sysvipc_msg_proc_show).
                out.line(|t| {
                    t.dec_r(q.key, 10).sp().dec_r(q.id, 10).bytes(b"  ");
                    t.oct_r(p.mode, 4).bytes(b"  ").dec_r(g.cbytes, 10).sp();
                    t.dec_r(g.msgs.len(), 10).sp();
                    t.dec_r(PidRef::vnr(g.lspid.as_ref()), 5).sp();
                    t.dec_r(PidRef::vnr(g.lrpid.as_ref()), 5).sp();
                    t.dec_r(cred::uid_to_user(p.uid), 5).sp();
                    t.dec_r(cred::gid_to_user(p.gid), 5).sp();
                    t.dec_r(cred::uid_to_user(p.cuid), 5).sp();
                    t.dec_r(cred::gid_to_user(p.cgid), 5).sp();
                    t.dec_r(g.stime, 10).sp().dec_r(g.rtime, 10).sp();
                    t.dec_r(g.ctime, 10);
                })
            };
            match pushed {
                Push::Taken => idx = i + 1,
                Push::Flush => break None,
                Push::Full => break Some((i as u64 + 1, true)),
            }
        };
        drop(t);
        out.flush()?;
        if let Some(r) = stop {
            return Ok(r);
        }
    }
}

/// Whether the namespace has no queue (a restore's condition).
pub(crate) fn is_empty(ns: &SysvNs) -> bool {
    ns.ids.lock().in_use == 0
}

/// The fixed part of a System V queue's record (`RIPC_DUMP_SYSV`).
const SYSV_RECORD: u64 = 72;

/// `RIPC_IOC_DUMP`'s System V records: the id allocator's state, then each
/// queue in index order with its messages in queue order, under the ids
/// lock and the queue's lock (a part at a time:
/// [`checkpoint::queue_record`]).
pub(crate) fn dump(ns: &SysvNs, w: &mut Writer) -> Result {
    let t = ns.ids.lock();
    w.record(RIPC_DUMP_SYSV_IDS, 16)?;
    w.u32(t.seq)?;
    w.i32(t.last_idx.map_or(-1, |i| i as i32))?;
    w.u32(t.cursor as u32)?;
    w.i32(t.next_id)?;
    for q in t.slots.iter().flatten() {
        checkpoint::queue_record(
            w,
            &q.state,
            |g| &g.msgs,
            |g, w| {
                // Read as `msgrcv(MSG_COPY)` would let it be (`EACCES`).
                if !g.allowed(0o444) {
                    return Err(EACCES);
                }
                let text = g.msgs.len() as u64 * MSG_HEAD + g.cbytes;
                w.record(RIPC_DUMP_SYSV, SYSV_RECORD + text)?;
                let p = &g.perm;
                w.i32(q.key)?;
                w.i32(q.id)?;
                for id in [
                    cred::uid_to_user(p.uid),
                    cred::gid_to_user(p.gid),
                    cred::uid_to_user(p.cuid),
                    cred::gid_to_user(p.cgid),
                    p.mode,
                    0,
                ] {
                    w.u32(id)?;
                }
                for time in [g.stime, g.rtime, g.ctime] {
                    w.i64(time)?;
                }
                w.u64(g.qbytes)?;
                w.u64(g.msgs.len() as u64)
            },
        )?;
        // As a POSIX dump's: preemptible between queues.
        kernel_api::cond_resched();
    }
    Ok(())
}

/// A restore's System V queues, built aside in a table of their own until
/// [`Restore::install`].
pub(crate) struct Restore {
    t: Table,
    /// The id allocator's record was read.
    ids: bool,
}

impl Restore {
    pub(crate) fn new() -> Self {
        Restore {
            t: Table::new(),
            ids: false,
        }
    }

    /// The id allocator's record (once): its sequence number, last index,
    /// cursor and `msg_next_id`.
    pub(crate) fn ids(&mut self, r: &mut Reader) -> Result {
        let (seq, last, cursor, next_id) = (r.u32()?, r.i32()?, r.u32()?, r.i32()?);
        if self.ids || seq >= SEQ_MAX || last < -1 || last >= IPCMNI as i32 {
            return Err(EBADMSG);
        }
        if cursor > IPCMNI || next_id < -1 {
            return Err(EBADMSG);
        }
        // A `msg_next_id` that the stream sets is set as through its sysctl,
        // whose file must be writable now (`EROFS` under a read-only
        // `/proc/sys`), as `RIPC_MSG_NEXT_ID`'s.
        if next_id >= 0 {
            kernel_api::sysctl_writable(c"/proc/sys/kernel/msg_next_id")?;
        }
        self.ids = true;
        self.t.seq = seq;
        self.t.last_idx = usize::try_from(last).ok();
        self.t.cursor = cursor as usize;
        self.t.next_id = next_id;
        Ok(())
    }

    /// One queue's record, after the allocator's: the queue at its id, with
    /// its key, owner, creator (`EPERM` if the caller could not give a file
    /// to it), mode, times and `msg_qbytes`, then its
    /// messages in order (each at most `msgmax`, else `EINVAL`, as
    /// `msgsnd`; in all no more than `msg_qbytes` or `msgmnb` bytes and
    /// messages, else `EPERM` without `CAP_SYS_RESOURCE`), counted in the
    /// namespace's totals as sent.
    pub(crate) fn queue(&mut self, ns: &SysvNs, r: &mut Reader) -> Result {
        let (key, id) = (r.i32()?, r.i32()?);
        let mut ids = [0u32; 6];
        for v in ids.iter_mut() {
            *v = r.u32()?;
        }
        let [uid, gid, cuid, cgid, mode, pad] = ids;
        let (stime, rtime, ctime) = (r.i64()?, r.i64()?, r.i64()?);
        let (qbytes, n) = (r.u64()?, r.u64()?);
        let (idx, seq) = ((id as u32 % IPCMNI) as usize, id as u32 / IPCMNI);
        let taken = self.t.keys.get(key).is_some();
        // Any id: `msg_next_id` gives sequence numbers up to `INT_MAX` / 32768,
        // beyond the cycle's.
        if !self.ids || id < 0 || !self.t.is_free(idx) || taken {
            return Err(EBADMSG);
        }
        if mode > 0o777 || pad != 0 {
            return Err(EBADMSG);
        }
        // The record's own checks first, then the native ones.  As
        // `IPC_SET`: above msgmnb takes CAP_SYS_RESOURCE.  The limits are
        // read once (a concurrent `RIPC_SET_LIMITS`).
        let limits = ns.shared.limits.get();
        let msgmnb = u64::from(limits.msgmnb);
        if qbytes > msgmnb && !cred::capable(cred::CAP_SYS_RESOURCE) {
            return Err(EPERM);
        }
        if self.t.in_use >= limits.msgmni.min(IPCMNI) {
            return Err(ENOSPC);
        }
        let perm = Perm {
            uid: cred::user_to_uid(uid)?,
            gid: cred::user_to_gid(gid)?,
            cuid: cred::user_to_uid(cuid)?,
            cgid: cred::user_to_gid(cgid)?,
            mode,
        };
        // Its owner is any, as the creator's `IPC_SET` sets it; its creator
        // the caller, else one it could give a file ([`cred::may_give`]).
        let me = Ids::current();
        cred::may_give(perm.cuid, perm.cgid, (me.euid, me.egid))?;
        let q = SysvQueue::new(ns, key, id, perm, ctime, qbytes)?;
        if key != 0 {
            self.t.keys.reserve()?;
        }
        // In the table first, so that a failure below frees its messages
        // with the table, taking them out of the namespace's totals.
        let t = &mut self.t;
        let alloc = (t.seq, t.last_idx, t.cursor, t.next_id);
        t.make_room(idx)?;
        t.insert(idx, seq, q.clone());
        (t.seq, t.last_idx, t.cursor, t.next_id) = alloc;
        self.t.keys.insert(key, id);
        let msgmax = limits.msgmax as usize;
        // What the queue holds: no more than a send could have put in
        // (`msg_fits_inqueue`: bytes and messages up to `msg_qbytes`), or
        // than `msgmnb` (a queue whose `msg_qbytes` was lowered below its
        // bytes), unless the caller may raise `msg_qbytes` past `msgmnb`
        // (also for a queue that a put-back took past both: `put_back`).
        let most = qbytes.max(msgmnb);
        let (mut bytes, mut count, mut resource) = (0u64, 0u64, None);
        for _ in 0..n {
            let mut m = r.msg(msgmax, EINVAL)?;
            if m.mtype() < 1 {
                return Err(EBADMSG);
            }
            bytes += m.len() as u64;
            count += 1;
            if (bytes > most || count > most)
                && !*resource.get_or_insert_with(|| cred::capable(cred::CAP_SYS_RESOURCE))
            {
                return Err(EPERM);
            }
            let mut g = q.state.lock();
            m.set_seq(g.seq);
            g.seq += 1;
            let len = m.len();
            g.msgs.push(m);
            g.account(len, 1);
        }
        let mut g = q.state.lock();
        (g.stime, g.rtime) = (stime, rtime);
        // Its statistics start at zero, as a new queue's (the restored
        // messages count as no sends), its peaks at what it holds.
        let (msgs, bytes) = g.depth();
        g.stats.peak(msgs, bytes);
        Ok(())
    }

    /// Puts the restored table in place (`EEXIST` if the namespace has a
    /// queue), under the ids lock.
    pub(crate) fn install(&mut self, ns: &SysvNs) -> Result {
        let mut t = ns.ids.lock();
        if t.in_use != 0 {
            return Err(EEXIST);
        }
        // The index's memory first: once a queue is published, a lookup
        // may use it, so nothing after that may fail.
        let used = self.t.slots.iter().enumerate().filter(|(_, q)| q.is_some());
        ns.index.reserve(used.map(|(i, _)| i))?;
        if !self.ids {
            // A stream without System V records: the allocator stays as
            // it is (its sequence number, a `msg_next_id` set before).
            (self.t.seq, self.t.last_idx) = (t.seq, t.last_idx);
            (self.t.cursor, self.t.next_id) = (t.cursor, t.next_id);
        }
        core::mem::swap(&mut *t, &mut self.t);
        for (i, q) in t.slots.iter().enumerate() {
            if let Some(q) = q {
                // Its chunk is there: it cannot fail.
                let _ = ns.index.set(i, Some(q.clone()));
            }
        }
        Ok(())
    }
}
