// SPDX-License-Identifier: GPL-2.0

//! POSIX message queues (the model is `ipc/mqueue.c`).
//!
//! Queues live in a name registry; `RIPC_MQ_OPEN` looks one up (or creates
//! it) once and binds the file to it, so send and receive touch only their
//! own queue.  Messages are kept in a tree of per-priority FIFOs: the next
//! to receive is the oldest of the highest priority.

#![deny(unsafe_code)]

use crate::ipc::checkpoint::{self, Reader, Writer, MSG_HEAD};
use crate::ipc::device::{Lines, Push};
use crate::ipc::{
    cred::{self, Ids},
    defs::*,
    engine::{
        self, Arrival, DirectAt, EngineState, Family, Given, Parts, Pick, QueueState, Taken,
        DIRECT_MIN, DIRECT_TEXT_MAX,
    },
    hashed::{Entry, Hashed},
    kernel_api::{self, globals, HashKey, IpcNsRef, MqMount, MqWriter, UserNsRef},
    limits::{Limits, HARD_MSGMAX, HARD_MSGSIZEMAX},
    lock::{new_queue_lock, QueueLock},
    msg::{Lender, Msg, Spare},
    notify::{self, Notify, Request},
    ns::Ns,
    pinned::Pinned,
    prios::{self, Node, Prios},
    stats::{self, Counted, Stats},
    tracked::Tracked,
    wait::{self, outcome, Blocking, Deadline, OnSignal, PollQueue, WaitList, WakeQ},
};
use core::{fmt::Write, mem::MaybeUninit};
use kernel::{
    bindings,
    fs::File,
    new_mutex,
    prelude::*,
    rbtree::{RBTree, RBTreeNode},
    sync::{
        atomic::{Atomic, Relaxed},
        Arc, Mutex,
    },
    task::Task,
};

/// `MQ_PRIO_MAX`.
const MQ_PRIO_MAX: u32 = 32768;
/// `NAME_MAX` and `PATH_MAX`.
const NAME_MAX: usize = 255;
const PATH_MAX: usize = 4096;
/// The size native charges against `RLIMIT_MSGQUEUE` per priority node
/// (per message slot: [`kernel_api::msg_msg_size`]).
const TREE_NODE_SIZE: u64 = size_of::<PosixMsgTreeNode>() as u64;

/// `ipc/mqueue.c`'s `struct posix_msg_tree_node`, private to that file:
/// only its size is used, made of the kernel's own types.
#[repr(C)]
struct PosixMsgTreeNode {
    _rb_node: bindings::rb_node,
    _msg_list: bindings::list_head,
    _priority: core::ffi::c_int,
}

const O_ACCMODE: u32 = bindings::O_ACCMODE;
const O_WRONLY: u32 = bindings::O_WRONLY;
const O_RDWR: u32 = bindings::O_RDWR;
const O_CREAT: u32 = bindings::O_CREAT;
const O_EXCL: u32 = bindings::O_EXCL;
pub(crate) const O_NONBLOCK: u32 = bindings::O_NONBLOCK;

/// Bytes charged against `RLIMIT_MSGQUEUE`, per user of a user namespace
/// (native: `ucounts`, the `UCOUNT_RLIMIT_MSGQUEUE` count of (user
/// namespace, uid)).  The table is a global ([`globals::mq_accounting`]).
pub(crate) struct Acct {
    users: KVec<AcctEntry>,
}

/// One user's charge; the entry holds its namespace while it is charged.
struct AcctEntry {
    ns: UserNsRef,
    uid: u32,
    bytes: u64,
}

impl Acct {
    pub(crate) const fn new() -> Self {
        Acct { users: KVec::new() }
    }

    fn find(&self, ns: usize, uid: u32) -> Option<usize> {
        self.users
            .iter()
            .position(|u| u.ns.addr() == ns && u.uid == uid)
    }
}

impl Default for Acct {
    fn default() -> Self {
        Self::new()
    }
}

/// The POSIX queues of one IPC namespace (native: its mqueue mount).
#[pin_data]
pub(crate) struct MqNs {
    #[pin]
    names: Mutex<Names>,
    /// The user namespace that owns the IPC namespace, as it owns its
    /// mqueue file system (`s_user_ns`).
    user_ns: UserNsRef,
    limits: Arc<Limits>,
    /// Queues that exist, named or not (`mq_queues_count`).
    queues: Arc<Atomic<u32>>,
}

impl MqNs {
    pub(crate) fn new(user_ns: UserNsRef, limits: Arc<Limits>) -> impl PinInit<Self, Error> {
        try_pin_init!(MqNs {
            names <- new_mutex!(Names::new()),
            user_ns,
            limits,
            queues: Arc::new(Atomic::new(0), GFP_KERNEL_ACCOUNT)?,
        })
    }

    /// The namespace died: its names go, as its mqueue mount does; a queue
    /// that a descriptor is bound to stays until its last close.  No call
    /// holds the lock of a dead namespace's names, so a try takes it (the
    /// sweep never waits for a names lock, which a creation holds while it
    /// waits for the sweep: `Charge::new`); one that a call still holds (a
    /// namespace that came back, [`Ns`]) keeps the names until the entry
    /// goes.
    ///
    /// [`Ns`]: crate::ipc::ns::Ns
    pub(crate) fn retire(&self) {
        let names = self
            .names
            .try_lock()
            .map(|mut n| core::mem::replace(&mut *n, Names::new()));
        drop(names);
    }
}

/// A queue name (its bytes after the leading slash), as the names keep
/// it (a call's name is a borrow of what it read).
struct Name(KVec<u8>);

impl Name {
    fn new(name: &[u8]) -> Result<Name> {
        let mut v = KVec::with_capacity(name.len(), GFP_KERNEL_ACCOUNT)?;
        v.extend_from_slice(name, GFP_KERNEL_ACCOUNT)?;
        Ok(Name(v))
    }
}

/// A namespace's queue names (native: the dentries of its mqueue mount):
/// found by name in a [`Hashed`] table (a lookup among 30 000 names
/// touches one entry and its name, where a tree lookup walked some 15
/// nodes and names), and listed in the order they were made, so that a
/// paged listing goes on from a number (its cursor).
struct Names {
    by_name: Hashed<Named>,
    by_serial: RBTree<u64, (Name, Arc<MqQueue>)>,
    next_serial: u64,
}

/// A name's entry: its serial (its place in `by_serial`) and queue.
struct Named {
    name: Name,
    serial: u64,
    q: Arc<MqQueue>,
}

impl Entry for Named {
    type Key = [u8];

    fn key(&self) -> &[u8] {
        &self.name.0
    }

    fn hash(key: &[u8], seed: &HashKey) -> u32 {
        seed.hash_bytes(key)
    }
}

impl Names {
    fn new() -> Self {
        Names {
            // Not charged to the task that makes it grow, as native's
            // shared hash tables are not: its queues are.
            by_name: Hashed::new(GFP_KERNEL),
            by_serial: RBTree::new(),
            next_serial: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    fn get(&self, name: &[u8]) -> Option<&Arc<MqQueue>> {
        self.by_name.get(name).map(|e| &e.q)
    }

    /// Adds `name` (not yet present) for `q`; nothing is changed on ENOMEM.
    fn add(&mut self, name: &[u8], q: &Arc<MqQueue>) -> Result {
        let serial = self.next_serial;
        let b = RBTreeNode::new(serial, (Name::new(name)?, q.clone()), GFP_KERNEL_ACCOUNT)?;
        let name = Name::new(name)?;
        self.by_name.reserve()?;
        self.by_name.insert(Named {
            name,
            serial,
            q: q.clone(),
        });
        self.by_serial.insert(b);
        self.next_serial += 1;
        Ok(())
    }

    /// Removes `name`; returns its queue.
    fn remove(&mut self, name: &[u8]) -> Option<Arc<MqQueue>> {
        let e = self.by_name.remove(name)?;
        self.by_serial.remove(&e.serial);
        Some(e.q)
    }
}

/// What one queue costs: a place in its namespace's count, and bytes
/// charged to its creator at each level of its `ucounts` chain (all
/// released when the queue is freed).
struct Charge {
    /// Held for its drop.
    _queues: QueueCount,
    /// (user namespace, uid) of each level.
    levels: KVec<(usize, u32)>,
    bytes: u64,
}

impl Charge {
    /// Charges the new queue that `queues` counts, `bytes` as
    /// `inc_rlimit_ucounts` does: to the caller's (user namespace, uid),
    /// against its `RLIMIT_MSGQUEUE`, then to each namespace's creator up
    /// to the initial namespace, against the limit that creator had: the
    /// native `EMFILE` rule, in containers too.  Before it refuses, the
    /// queues of namespaces that died are freed (their charges may be in
    /// the way: a sweep is run and waited for, once).
    fn new(queues: QueueCount, ids: &Ids, bytes: u64) -> Result<Charge> {
        // The chain: (namespace, uid, limit) of each level.
        let mut chain = KVec::new();
        chain.push(
            (UserNsRef::current(), ids.uid, kernel_api::rlimit_msgqueue()),
            GFP_KERNEL,
        )?;
        while let Some(up) = chain.last().and_then(|(n, _, _)| n.up()) {
            chain.push(up, GFP_KERNEL)?;
        }
        let mut levels = KVec::with_capacity(chain.len(), GFP_KERNEL_ACCOUNT)?;
        let mut swept = false;
        let mut a = loop {
            let mut a = globals::mq_accounting();
            a.users.reserve(chain.len(), GFP_KERNEL)?;
            // `inc_rlimit_ucounts`' counts are `long`s: a total past
            // `LONG_MAX` is over any limit, and the caller's own reaching it
            // is too (`LONG_MAX` is its "over" value).
            let over = chain.iter().enumerate().any(|(i, (n, uid, limit))| {
                let used = a
                    .find(n.addr(), *uid)
                    .and_then(|i| a.users.get(i))
                    .map_or(0, |u| u.bytes);
                let max = (*limit).min(i64::MAX as u64 - u64::from(i == 0));
                used.checked_add(bytes).is_none_or(|t| t > max)
            });
            if !over {
                break a;
            }
            drop(a);
            // The caller holds at most `ns.names`, which the sweep never
            // waits for (a dead namespace's names are taken with a try:
            // `MqNs::retire`).
            // Only a namespace other than the initial one can die: with
            // none, nothing is waited for.
            if swept || !crate::ipc::ns::any_but_init() {
                return Err(EMFILE);
            }
            kernel_api::sweep_flush();
            swept = true;
        };
        for (n, uid, _) in chain.drain_all() {
            let _ = levels.push_within_capacity((n.addr(), uid));
            match a.find(n.addr(), uid).and_then(|i| a.users.get_mut(i)) {
                Some(u) => u.bytes += bytes,
                None => {
                    let _ = a
                        .users
                        .push_within_capacity(AcctEntry { ns: n, uid, bytes });
                }
            }
        }
        Ok(Charge {
            _queues: queues,
            levels,
            bytes,
        })
    }
}

/// A queue counted in its namespace's `mq_queues_count` (uncounted when
/// dropped).
struct QueueCount(Arc<Atomic<u32>>);

impl QueueCount {
    /// `mqueue_create_attr`'s check and count, as one step (native makes
    /// both under `mq_lock`): `ENOSPC` at `queues_max` without
    /// `CAP_SYS_RESOURCE`, counting nothing.  A creation that fails later
    /// was counted meanwhile, as native's.
    fn take(ns: &MqNs, max: u32) -> Result<QueueCount> {
        let mut was = ns.queues.load(Relaxed);
        let mut resource = None;
        loop {
            if was >= max && !*resource.get_or_insert_with(|| cred::capable(cred::CAP_SYS_RESOURCE))
            {
                return Err(ENOSPC);
            }
            match ns.queues.cmpxchg(was, was.saturating_add(1), Relaxed) {
                Ok(_) => return Ok(QueueCount(ns.queues.clone())),
                Err(now) => was = now,
            }
        }
    }
}

impl Drop for QueueCount {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        let mut a = globals::mq_accounting();
        for &(ns, uid) in self.levels.iter() {
            let Some(i) = a.find(ns, uid) else { continue };
            let left = a
                .users
                .get(i)
                .map_or(0, |u| u.bytes.saturating_sub(self.bytes));
            if left == 0 {
                let _ = a.users.remove(i);
            } else if let Some(u) = a.users.get_mut(i) {
                u.bytes = left;
            }
        }
    }
}

struct MqState {
    /// The messages (a dump walks them a part at a time).
    prios: Tracked<Prios>,
    curmsgs: usize,
    qsize: u64,
    seq: u64,
    receivers: WaitList<MqWait>,
    senders: WaitList<MqSend>,
    notify: Option<Notify>,
    /// The messages put back into the empty queue that fire `notify` (their
    /// receive's copy faulted): those of this place in the send order on.
    /// Every one (0) if it was registered while the queue showed no
    /// message; else those sent after it was registered.  (One registered
    /// while that message was queued does not fire: for its registrant the
    /// message never left.)
    notify_from: u64,
    /// The queue's `maxmsg` (for the engine's calls, which see only the
    /// state).
    maxmsg: usize,
    /// Whether a sender waits, whether it was polled.
    engine: EngineState,
    stats: Stats,
}

impl Counted for MqState {
    fn stats(&mut self) -> &mut Stats {
        &mut self.stats
    }

    fn depth(&self) -> (u64, u64) {
        (self.curmsgs as u64, self.qsize)
    }
}

impl MqState {
    /// Sends `m` (its place in the send order set): to the first blocked
    /// receiver (`pipelined_send`, no notification then), else into its
    /// FIFO, with the notification if the queue was empty and `notify` (a
    /// send; not the message of a blocked sender that a receive lets in,
    /// as native's `pipelined_receive`); counted.
    fn send_one(&mut self, mut m: Msg, notify: bool, wq: &mut WakeQ) -> Result {
        // Its place in the send order, kept if it comes back (put-back)
        // after a hand-over.
        m.set_seq(self.seq);
        self.seq += 1;
        let len = m.len();
        if let Some(m) =
            engine::hand_over::<Self>(&mut self.receivers, &mut self.stats, m, wq, |_| {})
        {
            self.put(m, false, &mut None)?;
            let (msgs, bytes) = self.depth();
            self.stats.queued(len, msgs, bytes);
            if notify {
                // `__do_notify`: the registration, and the pollers.
                self.engine.queued();
                if self.first_fires() {
                    self.fire_notify();
                }
            }
        } else {
            self.stats.handed(len);
        }
        Ok(())
    }

    /// `__do_notify`: the registration fires (and ends) when a message goes
    /// into the queue and is its only one (no receiver was waiting).
    #[inline]
    fn first_fires(&self) -> bool {
        self.curmsgs == 1 && self.notify.is_some()
    }

    /// The registration fires and ends, from the task whose message went in
    /// (the signal's sender: its pid and uid as the owner sees them, and
    /// `send_signal_locked`'s view of the sender's namespaces).
    #[cold]
    fn fire_notify(&mut self) {
        if let Some(n) = self.notify.take() {
            n.fire();
        }
    }

    /// The registration, if any: one of a notification descriptor closed
    /// since is dropped here (it counts as none).
    fn registration(&mut self) -> Option<&Notify> {
        if self.notify.as_ref().is_some_and(|n| !n.live()) {
            self.notify = None;
        }
        self.notify.as_ref()
    }

    /// Whether the queue has no room (`do_mq_timedsend`, and `POLLOUT`):
    /// its messages fill `maxmsg` (or more, after a put-back).
    fn full(&self) -> bool {
        self.curmsgs >= self.maxmsg
    }

    /// Queues `m` at the tail of its FIFO, or `back` in its old place.
    fn put(&mut self, m: Msg, back: bool, node: &mut Node) -> Result {
        let len = m.len() as u64;
        self.prios.put(m, back, node)?;
        self.curmsgs += 1;
        self.qsize += len;
        Ok(())
    }

    /// Removes the oldest message of the highest priority.
    fn take(&mut self) -> Option<Taken<Node>> {
        let (m, node) = self.prios.pop()?;
        self.curmsgs -= 1;
        self.qsize -= m.len() as u64;
        Some(Taken::new(m, node))
    }

    /// The queued messages in receive order.
    fn in_order(&self) -> impl Iterator<Item = &Msg> {
        self.prios.iter()
    }
}

impl QueueState for MqState {
    type Extra = Node;

    fn engine(&mut self) -> &mut EngineState {
        &mut self.engine
    }

    fn offer(&mut self, m: Msg, wq: &mut WakeQ) -> Option<Msg> {
        engine::hand_over::<Self>(&mut self.receivers, &mut self.stats, m, wq, |_| {})
    }

    fn ready_to_go_back(node: &mut Node) {
        prios::ready_node(node);
    }

    fn reinsert(&mut self, m: Msg, mut node: Node) -> bool {
        // The node travelled with the message, or was made for it before
        // the lock (`ready_to_go_back`): a priority emptied by another
        // message and freed since takes it; else it is the spare.
        let seq = m.seq();
        let back = self.put(m, true, &mut node);
        self.prios.recycle(&mut node);
        if let Err(e) = back {
            // Once: under the queue lock, and memory pressure may lose many.
            kernel::pr_warn_once!("rust_ipc: a message could not go back ({:?})\n", e);
            return false;
        }
        // Back in the empty queue, and its registrant saw the queue without
        // it: its sender now is the caller, whose receive could not
        // deliver it.
        if self.first_fires() && seq >= self.notify_from {
            self.fire_notify();
        }
        let (msgs, bytes) = self.depth();
        self.stats.peak(msgs, bytes);
        true
    }

    fn recycle(&mut self, node: &mut Node) {
        self.prios.recycle(node);
    }

    /// `pipelined_receive`: the first blocked sender's message goes in while
    /// there is room (if its FIFO cannot be made, it stays blocked), without
    /// a notification.
    fn serve_senders(&mut self, wq: &mut WakeQ) -> bool {
        while !self.full() {
            let Some(prio) = self
                .senders
                .first()
                .and_then(|s| s.w.as_ref().map(|m| m.mtype() as u32))
            else {
                return false;
            };
            if self.prios.reserve(prio).is_err() {
                return true;
            }
            // Its node is reserved: nothing to allocate.
            let Some(m) = self.senders.first().and_then(|s| s.w.take()) else {
                return false;
            };
            if self.send_one(m, false, wq).is_ok() {
                self.stats.handed_in();
            }
            self.senders.serve_first(wq, |_| {});
        }
        self.senders.any_waiting()
    }

    fn removed(&self) -> bool {
        false
    }
}

/// A blocked POSIX sender: its message, until a receive lets it in.
pub(crate) type MqSend = Option<Msg>;

/// A blocked POSIX receiver: what it is given, and its buffer if pinned.
pub(crate) struct MqWait {
    got: Option<Given>,
    direct: Option<KBox<Pinned>>,
}

impl Family for MqState {
    const ON_SIGNAL: OnSignal = OnSignal::RestartSys;
    const BY_PRIO: bool = true;
    const NO_MESSAGE: Error = EAGAIN;
    type SendWait = MqSend;
    type RecvWait = MqWait;
    type Want = Option<DirectAt>;

    fn senders(&mut self) -> &mut WaitList<MqSend> {
        &mut self.senders
    }

    fn receivers(&mut self) -> &mut WaitList<MqWait> {
        &mut self.receivers
    }

    #[inline]
    fn admit(&self, _: usize, _: bool) -> Result<bool> {
        Ok(!self.full())
    }

    type Need = ();
    type Supply = prios::NewNode;

    #[inline]
    fn need_to_send(&self, m: &Msg) -> Option<()> {
        self.prios.needs_node(m.mtype() as u32).then_some(())
    }

    /// Native's rule: a node whenever there is no spare (the priority a
    /// sender's message needs a node for is known only once the receive
    /// has taken its message).
    fn need_to_receive(&self) -> Option<()> {
        self.prios.no_spare().then_some(())
    }

    fn make((): ()) -> Result<Self::Supply> {
        prios::new_node()
    }

    fn supply(&mut self, node: Self::Supply) {
        self.prios.supply(node);
    }

    #[inline]
    fn sender_waits(&self, m: Msg) -> (MqSend, Option<Msg>) {
        (Some(m), None)
    }

    fn unsent(w: &mut MqSend) -> Option<Msg> {
        w.take()
    }

    #[inline]
    fn send(&mut self, m: Msg, wq: &mut WakeQ) -> Result {
        self.send_one(m, true, wq)
    }

    #[inline]
    fn take_for(&mut self, _: &Option<DirectAt>) -> Result<Option<Taken<Node>>> {
        Ok(self.take())
    }

    #[inline]
    fn receiver_waits(&self, w: &Option<DirectAt>) -> (MqWait, Option<DirectAt>) {
        let e = MqWait {
            got: None,
            direct: None,
        };
        (e, *w)
    }

    fn attach(w: &mut MqWait, pinned: KBox<Pinned>) {
        w.direct = Some(pinned);
    }

    fn detach(w: &mut MqWait) -> Option<KBox<Pinned>> {
        w.direct.take()
    }

    /// The first blocked receiver takes any message.
    #[inline]
    fn pick(_: &MqWait, _: i64, _: usize) -> Pick {
        Pick::Take
    }

    #[inline]
    fn give(w: &mut MqWait, got: Result<Given>) {
        w.got = got.ok();
    }

    #[inline]
    fn given(w: MqWait) -> Option<Result<Given>> {
        w.got.map(Ok)
    }

    /// The text (the woken receiver writes the priority).
    fn fill(w: &mut MqWait, src: u64, len: usize, _: i64) -> Option<usize> {
        let d = w.direct.as_deref_mut()?;
        d.fill_from_user(0, src, len).ok()?;
        Some(len)
    }

    fn sent_direct(&mut self, len: usize, _: &Task) {
        self.seq += 1;
        self.stats.handed(len);
    }

    fn direct_seq(&self) -> u64 {
        self.seq
    }
}

/// A POSIX queue.
#[pin_data]
pub(crate) struct MqQueue {
    maxmsg: usize,
    msgsize: usize,
    /// Owner, group and mode: changed by `RIPC_MQ_SETPERM` (`fchmod`,
    /// `fchown`) under the queue lock, read without it, as an inode's.
    uid: Atomic<u32>,
    gid: Atomic<u32>,
    mode: Atomic<u32>,
    _charge: Charge,
    #[pin]
    state: QueueLock<MqState>,
    poll: PollQueue,
    spare: Spare,
}

impl MqQueue {
    fn uid(&self) -> u32 {
        self.uid.load(Relaxed)
    }

    fn gid(&self) -> u32 {
        self.gid.load(Relaxed)
    }

    fn mode(&self) -> u32 {
        self.mode.load(Relaxed)
    }

    fn parts(&self) -> Parts<'_, MqState> {
        Parts {
            state: &self.state,
            poll: &self.poll,
            spare: &self.spare,
        }
    }
}

/// A file bound to a queue: the queue and the access of its open (open
/// for writing, it holds write access to the mqueue mount, as a native
/// descriptor does: a read-only remount fails with `EBUSY` meanwhile).
pub(crate) struct MqHandle {
    q: Arc<MqQueue>,
    /// The namespace the queue is in (`RIPC_MQ_SETPERM`'s user namespace).
    ns: Arc<Ns>,
    /// Its mqueue mount, held as a native queue file holds its own
    /// (`f_path.mnt`), also after the namespace died: `RIPC_MQ_SETPERM`'s
    /// `EROFS`.
    mnt: Option<MqMount>,
    read: bool,
    write: bool,
    _writer: Option<MqWriter>,
}

/// Reads a queue name the way `mq_open` sees it: glibc wants one leading
/// slash (`EINVAL`); the rest is what the system call gets (`getname`:
/// `ENAMETOOLONG` from `PATH_MAX` bytes on), the file name (`ENOENT` if
/// empty, `EACCES` for `.`, `..` or another slash, `ENAMETOOLONG` past
/// `NAME_MAX`).  `looked_up` runs between the system call's checks and the
/// lookup's (`mq_unlink`'s `mnt_want_write` comes between them).  The
/// name is read into `small` (a longer one is always refused) and returned
/// without its slash.
fn read_name<'a>(
    ptr: u64,
    small: &'a mut NameBuf,
    looked_up: impl FnOnce() -> Result,
) -> Result<&'a [u8]> {
    // glibc looks at the first byte alone (`EINVAL`): a name without the
    // slash is not read on, where the rest may fault.
    if read_user::<u8>(ptr)? != b'/' {
        return Err(EINVAL);
    }
    // A name that fits (a slash, NAME_MAX bytes, the NUL, and one byte to
    // tell a longer one) is read onto the caller's stack, not zeroed first,
    // and looked up from there: zeroing and allocating the PATH_MAX buffer
    // cost about 1 400 instructions an `mq_open`, a copy of the name about
    // 260, zeroing the stack buffer 71.
    let name = kernel_api::kmem::strncpy_from_user_uninit(small, ptr)?;
    if name.len() <= NAME_MAX + 1 {
        return check_name(name, looked_up);
    }
    // A longer one: the slash and the `PATH_MAX` bytes `getname` reads
    // after it, no more (a name that fills them, unterminated, is too long;
    // a byte after them is not read, as natively: no `EFAULT` from it).
    // Its checks fail (it is longer than `NAME_MAX`), with the error of
    // the first that does.
    let mut buf = KVec::from_elem(0u8, PATH_MAX + 1, GFP_KERNEL)?;
    let n = kernel_api::kmem::strncpy_from_user(&mut buf, ptr)?;
    check_name(buf.get(..n).unwrap_or(&buf), looked_up)?;
    Err(ENAMETOOLONG)
}

/// A name's buffer for [`read_name`]: a slash, `NAME_MAX` bytes, the NUL,
/// and one byte to tell a longer name.
type NameBuf = [MaybeUninit<u8>; NAME_MAX + 3];

/// The checks of [`read_name`] on the name read; the name without its
/// slash.
fn check_name(name: &[u8], looked_up: impl FnOnce() -> Result) -> Result<&[u8]> {
    let Some(rest) = name.strip_prefix(b"/") else {
        return Err(EINVAL);
    };
    if rest.len() >= PATH_MAX {
        return Err(ENAMETOOLONG);
    }
    if rest.is_empty() {
        return Err(ENOENT);
    }
    looked_up()?;
    if rest == b"." || rest == b".." || rest.contains(&b'/') {
        return Err(EACCES);
    }
    if rest.len() > NAME_MAX {
        return Err(ENAMETOOLONG);
    }
    Ok(rest)
}

/// `RIPC_MQ_OPEN`: the handle the file is bound to.  `ipc` is the IPC
/// namespace whose mqueue root native would make the name in.  `fd` runs
/// where `do_mq_open` takes its descriptor (`RIPC_MQ_OPEN_FD`'s
/// reservation): after `getname`'s checks, before the lookup's.
pub(crate) fn open(
    of: &Arc<Ns>,
    ipc: &IpcNsRef,
    a: &ripc_mq_open,
    fd: impl FnOnce() -> Result,
) -> Result<MqHandle> {
    let ns = &of.mq;
    // glibc refuses a name without its slash before the system call, which
    // reads `attr` before the name.
    let mut named = false;
    let mut small: NameBuf = [MaybeUninit::uninit(); NAME_MAX + 3];
    let name = read_name(a.name, &mut small, || {
        named = true;
        Ok(())
    });
    if matches!(name, Err(e) if e == EINVAL) {
        return Err(EINVAL);
    }
    let attr: Option<ripc_mq_attr> = match a.attr {
        0 => None,
        p => Some(read_user(p)?),
    };
    if named {
        fd()?;
    }
    let name = name?;
    let ids = Ids::current();
    let acc = a.oflag & O_ACCMODE;
    let read = acc == 0 || acc == O_RDWR;
    let write = acc == O_WRONLY || acc == O_RDWR;
    let mut names = ns.names.lock();
    if let Some(q) = names.get(name) {
        if a.oflag & (O_CREAT | O_EXCL) == O_CREAT | O_EXCL {
            return Err(EEXIST);
        }
        if acc == O_ACCMODE {
            return Err(EINVAL);
        }
        // inode_permission: a read-only file system first (sb_permission).
        if write && ipc.mq_root().readonly {
            return Err(EROFS);
        }
        let want = (if read { 4 } else { 0 }) | (if write { 2 } else { 0 });
        if !q.permits(ids.fsuid, want, true) {
            return Err(EACCES);
        }
        // dentry_open's write access (`EROFS` on a read-only mount).
        let mnt = ipc.mq_mount();
        let writer = match &mnt {
            Some(m) if write => Some(m.writer()?),
            _ => None,
        };
        return Ok(MqHandle {
            q: q.clone(),
            ns: of.clone(),
            mnt,
            read,
            write,
            _writer: writer,
        });
    }
    if a.oflag & O_CREAT == 0 {
        return Err(ENOENT);
    }
    let writer = creatable(ns, ipc)?;
    let mode = a.mode & 0o7777 & !cred::current_umask();
    let q = MqQueue::new(ns, &ids, (ids.fsuid, ids.fsgid), mode, attr)?;
    names.add(name, &q)?;
    Ok(MqHandle {
        q,
        ns: of.clone(),
        mnt: ipc.mq_mount(),
        read,
        write,
        // The creation's write access, kept by a descriptor open for
        // writing (native's takes its own in dentry_open).
        _writer: if write { writer } else { None },
    })
}

/// prepare_open's `mnt_want_write` (`EROFS`; the write access, held while
/// the queue is made, is returned), then may_create_dentry: a caller whose
/// fs ids the namespace's owner does not map (a host's task that joined a
/// container's IPC namespace alone) cannot own a new queue there, and the
/// root directory must let the caller write in it.
fn creatable(ns: &MqNs, ipc: &IpcNsRef) -> Result<Option<MqWriter>> {
    let writer = ipc.mq_writer()?;
    if !ns.user_ns.fsids_mapped() {
        return Err(EOVERFLOW);
    }
    ipc.mq_root_writable()?;
    Ok(writer)
}

impl MqQueue {
    /// `generic_permission`: whether a caller of fs uid `fsuid` may open
    /// the queue for `want` (4: read, 2: write); the DAC capabilities count
    /// over the caller's user namespace, for a queue whose owner is mapped
    /// there.
    /// A listing's check (not `audit`) leaves no audit record of a denial.
    fn permits(&self, fsuid: u32, want: u32, audit: bool) -> bool {
        let have = cred::granted(self.mode(), fsuid, &[self.uid()], &[self.gid()]);
        let cap = |c| kernel_api::capable_wrt_ids(self.uid(), self.gid(), c, audit);
        want & !have == 0
            || (want == 4 && cap(bindings::CAP_DAC_READ_SEARCH))
            || cap(cred::CAP_DAC_OVERRIDE)
    }

    /// `mqueue_create_attr` + `mqueue_get_inode`, with their checks in order,
    /// for a queue owned by `owner` (uid, gid): a `mq_open(O_CREAT)` or a
    /// restore's queue (built aside, without `ns.names`: the count is
    /// taken in one step).
    fn new(
        ns: &MqNs,
        ids: &Ids,
        owner: (u32, u32),
        mode: u32,
        attr: Option<ripc_mq_attr>,
    ) -> Result<Arc<MqQueue>> {
        let l = ns.limits.get();
        let count = QueueCount::take(ns, l.mq_queues_max)?;
        let (maxmsg, msgsize) = match attr {
            Some(a) => (a.mq_maxmsg, a.mq_msgsize),
            None => (
                i64::from(l.mq_msg_max.min(l.mq_msg_default)),
                i64::from(l.mq_msgsize_max.min(l.mq_msgsize_default)),
            ),
        };
        if maxmsg <= 0 || msgsize <= 0 {
            return Err(EINVAL);
        }
        // Asked where native asks (an LSM's audit record as native's): at
        // `queues_max` only, and after the sizes' sign.
        let (cap_n, cap_s) = if cred::capable(cred::CAP_SYS_RESOURCE) {
            (HARD_MSGMAX, HARD_MSGSIZEMAX)
        } else {
            (l.mq_msg_max, l.mq_msgsize_max)
        };
        if maxmsg > i64::from(cap_n) || msgsize > i64::from(cap_s) {
            return Err(EINVAL);
        }
        let (n, s) = (maxmsg as u64, msgsize as u64);
        let slot = kernel_api::msg_msg_size() as u64;
        let tree = n * slot + n.min(u64::from(MQ_PRIO_MAX)) * TREE_NODE_SIZE;
        let bytes = (n * s).checked_add(tree).ok_or(EOVERFLOW)?;
        let charge = Charge::new(count, ids, bytes)?;
        Arc::pin_init(
            try_pin_init!(MqQueue {
                maxmsg: n as usize,
                msgsize: s as usize,
                uid: Atomic::new(owner.0),
                gid: Atomic::new(owner.1),
                mode: Atomic::new(mode),
                _charge: charge,
                state <- new_queue_lock!(MqState {
                    prios: Tracked::new(Prios::new()),
                    curmsgs: 0,
                    qsize: 0,
                    seq: 0,
                    receivers: WaitList::new(),
                    senders: WaitList::new(),
                    notify: None,
                    notify_from: 0,
                    maxmsg: n as usize,
                    engine: EngineState::default(),
                    stats: Stats::default(),
                }),
                poll: PollQueue::new()?,
                spare: Spare::new(),
            }),
            GFP_KERNEL_ACCOUNT,
        )
    }
}

/// `RIPC_MQ_UNLINK`: the name goes at once; the queue lives on while open.
/// `ipc` is the IPC namespace whose mqueue root native would remove the
/// name from.
pub(crate) fn unlink(ns: &MqNs, ipc: &IpcNsRef, a: &ripc_mq_unlink) -> Result {
    // `mnt_want_write` before the name is looked up (`EROFS`), held until
    // the name is gone.
    let mut _writer = None;
    let mut small: NameBuf = [MaybeUninit::uninit(); NAME_MAX + 3];
    let name = read_name(a.name, &mut small, || {
        _writer = ipc.mq_writer()?;
        Ok(())
    })?;
    let root = ipc.mq_root();
    let ids = Ids::current();
    let mut names = ns.names.lock();
    let (owner, group) = names.get(name).map(|q| (q.uid(), q.gid())).ok_or(ENOENT)?;
    // may_delete_dentry: write and search on the root directory, then, if
    // it is sticky (`check_sticky`, as it is made), only the queue's owner,
    // the directory's owner or CAP_FOWNER (over the caller's user
    // namespace, the queue's ids mapped there) may remove a name.  Native
    // returns EPERM for the sticky rule and glibc turns it into EACCES.
    ipc.mq_root_writable()?;
    if root.sticky
        && ids.fsuid != owner
        && ids.fsuid != root.uid
        && !kernel_api::capable_wrt_ids(owner, group, bindings::CAP_FOWNER, true)
    {
        return Err(EACCES);
    }
    let gone = names.remove(name).ok_or(ENOENT)?;
    drop(names);
    drop(gone);
    Ok(())
}

/// The access a call needs.
fn handle(h: Option<&MqHandle>, need_write: bool) -> Result<&MqHandle> {
    match h {
        Some(h) if (need_write && h.write) || (!need_write && h.read) => Ok(h),
        _ => Err(EBADF),
    }
}

fn nonblock(file: &File) -> bool {
    file.flags() & O_NONBLOCK != 0
}

/// `RIPC_MQ_SEND`, in `do_mq_timedsend`'s order of checks.
pub(crate) fn send(h: Option<&MqHandle>, file: &File, x: &ripc_mq_xfer) -> Result {
    let deadline = Deadline::from_user(x.timeout, &x.clock)?;
    if x.msg_prio >= MQ_PRIO_MAX {
        return Err(EINVAL);
    }
    let q = &handle(h, true)?.q;
    // A large message straight into a blocked receiver's buffer, if one
    // waits with it pinned (one copy); else the ordinary way.
    if (DIRECT_MIN as u64..=q.msgsize.min(DIRECT_TEXT_MAX) as u64).contains(&x.msg_len) {
        let direct = q
            .parts()
            .send_direct(x.msg_ptr, x.msg_len as usize, x.msg_prio.into());
        if let Some(r) = direct {
            return r;
        }
    }
    let m = load(q, x.msg_ptr, x.msg_len, x.msg_prio, Some(&q.spare))?;
    let b = Blocking {
        nonblock: nonblock(file),
        first_only: false,
        deadline,
    };
    let (done, err) = q.parts().send_run(core::iter::once(m), b);
    outcome(done, err).map(|_| ())
}

/// A message to send: `EMSGSIZE`, then `EFAULT` as native checks them.
fn load(q: &MqQueue, ptr: u64, len: u64, prio: u32, heads: impl Lender) -> Result<Msg> {
    if len > q.msgsize as u64 {
        return Err(EMSGSIZE);
    }
    Msg::load(ptr, len as usize, i64::from(prio), heads)
}

/// `RIPC_MQ_RECEIVE`: returns the length; the priority goes to the user
/// address `prio_out` (the argument struct's field, or a register call's
/// pointer: none if 0, as native's `NULL`).  A fault on either copy puts
/// the message back.
pub(crate) fn receive(
    h: Option<&MqHandle>,
    file: &File,
    x: &ripc_mq_xfer,
    prio_out: u64,
) -> Result<usize> {
    let deadline = Deadline::from_user(x.timeout, &x.clock)?;
    let h = handle(h, false)?;
    let q = &h.q;
    if x.msg_len < q.msgsize as u64 {
        return Err(EMSGSIZE);
    }
    let b = Blocking {
        nonblock: nonblock(file),
        first_only: false,
        deadline,
    };
    // The text, then the priority: under the queue lock if neither copy
    // can fault right now and the text is short (`LOCKED_COPY_MAX`), else
    // after it ([`Parts::got`]).
    let parts = q.parts();
    let mut got = None;
    // A large buffer may be filled straight by a sender (one copy), unless
    // the priority's place is in it: native writes the priority, then the
    // text over it, an order a text already written cannot keep.  Only as
    // much as a message sent the one-copy way can fill is pinned.
    let at = DirectAt::new(x.msg_ptr, q.msgsize.min(DIRECT_TEXT_MAX))
        .filter(|_| {
            prio_out == 0
                || prio_out >= x.msg_ptr.saturating_add(q.msgsize as u64)
                || prio_out.saturating_add(4) <= x.msg_ptr
        })
        .map(|at| DirectAt {
            after: prio_out,
            ..at
        });
    let now = |m: &Msg| copy_nofault(m, x.msg_ptr, prio_out);
    let mut away = None;
    let (_, err) = parts.receive_run(core::iter::once(at), b, Some(&mut away), |g, a, wq| {
        got = Some(parts.got(g, a, true, wq, now));
    });
    let got = match away {
        Some(a) => parts.got_unlocked(a, now),
        None => got.ok_or(err.unwrap_or(EINVAL))?,
    };
    // Filled by its sender, the priority is ours to write; if its place
    // faults, the message goes back as after a faulted copy, loaded again
    // from the buffer its sender filled, in its place in the send order
    // (native's `put_user` after the dequeue loses it).  Its text is then
    // only in that buffer, which the receiver could have changed: it goes
    // back only from a descriptor that may send (else it is lost, as
    // native's), so that a reader cannot put a text of its own in a queue.
    parts.finish(
        got,
        |m| copy_out(m, x.msg_ptr, prio_out),
        |n, prio, seq| {
            write_prio(prio_out, prio as u32)
                .map(|()| n)
                .inspect_err(|_| {
                    if !h.write {
                        return;
                    }
                    if let Ok(mut msg) = Msg::load(x.msg_ptr, n, prio, None) {
                        msg.set_seq(seq);
                        let mut extra = Node::default();
                        MqState::ready_to_go_back(&mut extra);
                        parts.put_back(core::iter::once(Taken::new(msg, extra)), None);
                    }
                })
        },
    )
}

/// Writes a received message's priority to `prio_out`, unless it is 0.
fn write_prio(prio_out: u64, prio: u32) -> Result {
    if prio_out == 0 {
        return Ok(());
    }
    write_user(prio_out, &prio)
}

/// A single receive's or peek's copy under the queue lock: the text to
/// `ptr`, the priority to `prio_out`, without a page fault (else `EFAULT`,
/// and [`copy_out`] after the lock); returns the length.
fn copy_nofault(m: &Msg, ptr: u64, prio_out: u64) -> Result<usize> {
    // The priority first, as native's `put_user` before `store_msg`.
    if prio_out != 0 {
        kernel_api::put_u32_nofault(prio_out, m.mtype() as u32)?;
    }
    m.store_nofault(ptr, m.len())?;
    Ok(m.len())
}

/// [`copy_nofault`] after the lock, where the copy may fault.
fn copy_out(m: &Msg, ptr: u64, prio_out: u64) -> Result<usize> {
    write_prio(prio_out, m.mtype() as u32)?;
    m.store(ptr, m.len())?;
    Ok(m.len())
}

/// `RIPC_MQ_PEEK`: a copy of the message at `p.pos` in receive order, made
/// under the queue lock (as `MSG_COPY`'s `copy_msg`) and copied out as a
/// receive is ([`Parts::got`] with no room: the original stays queued);
/// returns its length, its priority goes to `prio_out`.
pub(crate) fn peek(h: Option<&MqHandle>, p: &ripc_mq_peek, prio_out: u64) -> Result<usize> {
    let q = &handle(h, false)?.q;
    let pos = usize::try_from(p.pos).unwrap_or(usize::MAX);
    let parts = q.parts();
    let mut wq = WakeQ::new();
    let mut room = None;
    let (mut g, copy) = loop {
        let g = q.state.lock();
        let m = g.in_order().nth(pos).ok_or(ENOMSG)?;
        if p.msg_len < m.len() as u64 {
            return Err(EMSGSIZE);
        }
        match m.duplicate(&mut room) {
            Ok(copy) => break (g, copy),
            Err(n) => {
                drop(g);
                // Again (the message changed since the room was made): one
                // that any message there fits ([`Msg::duplicate`]); the old
                // one freed first.
                let n = if room.take().is_some() { q.msgsize } else { n };
                room = Some(Msg::blank(n)?);
            }
        }
    };
    let t = Taken::new(copy, None);
    let got = parts.got(&mut g, Arrival::Taken(t, None), false, &mut wq, |m| {
        copy_nofault(m, p.msg_ptr, prio_out)
    });
    drop(g);
    parts.finish(got, |m| copy_out(m, p.msg_ptr, prio_out), |n, _, _| Ok(n))
}

/// `RIPC_MQ_PEEK_BATCH`: copies of the messages from `b.pos` on, taken
/// under the queue lock a part at a time (up to [`wait::PART_MSGS`]
/// messages and [`wait::PART_BYTES`] bytes, or one larger message) and
/// copied out with their items after it; returns how many were copied.
pub(crate) fn peek_batch(h: Option<&MqHandle>, b: &ripc_mq_peek_batch) -> Result<usize> {
    if b.count > RIPC_BATCH_MAX {
        return Err(EINVAL);
    }
    let q = &handle(h, false)?.q;
    let (mut items, read_err) = read_items::<ripc_mq_item>(b.items, b.count as usize)?;
    let pos = usize::try_from(b.pos).unwrap_or(usize::MAX);
    let mut done = 0;
    // Room for a copy that could not be allocated under the lock.
    let mut room = None;
    while done < items.len() {
        let mut got = KVec::with_capacity(wait::PART_MSGS, GFP_KERNEL_ACCOUNT)?;
        let (mut err, mut need) = (None, None);
        let g = q.state.lock();
        let (mut msgs, mut bytes) = (g.in_order().skip(pos.saturating_add(done)), 0);
        for it in items.iter().skip(done) {
            if got.len() == wait::PART_MSGS || bytes >= wait::PART_BYTES {
                break;
            }
            let Some(m) = msgs.next() else {
                err = Some(ENOMSG);
                break;
            };
            if it.msg_len < m.len() as u64 {
                err = Some(EMSGSIZE);
                break;
            }
            match m.duplicate(&mut room) {
                Ok(msg) => {
                    bytes += msg.len();
                    let _ = got.push_within_capacity(Taken::new(msg, None));
                }
                Err(n) => {
                    need = Some(n);
                    break;
                }
            }
        }
        drop(msgs);
        drop(g);
        if let Some(n) = need {
            // Made with the lock dropped; the part ends before that copy.
            // A room there did not fit (the message changed since it was
            // made, or a shorter one used none): one that any message of
            // the queue fits ([`Msg::duplicate`]), the old one freed first.
            let n = if room.take().is_some() { q.msgsize } else { n };
            match Msg::blank(n) {
                Ok(r) if got.is_empty() => {
                    room = Some(r);
                    continue;
                }
                Ok(r) => room = Some(r),
                Err(e) => err = Some(e),
            }
        }
        let part = items.get_mut(done..done + got.len()).unwrap_or(&mut []);
        let addr = item_addr::<ripc_mq_item>(b.items, done);
        let (n, store_err) = q.parts().finish_batch(addr, part, got, None, |it, _, m| {
            it.msg_len = m.len() as u64;
            it.msg_prio = m.mtype() as u32;
            m.store(it.msg_ptr, m.len())
        });
        done += n;
        if let Some(e) = store_err.or(err) {
            return outcome(done, Some(e));
        }
        if n == 0 {
            break;
        }
    }
    outcome(done, read_err)
}

/// `RIPC_MQ_SEND_BATCH`: the messages are loaded, then sent under one
/// lock, a part at a time ([`wait::send_parts`]); returns how many were sent.
pub(crate) fn send_batch(h: Option<&MqHandle>, file: &File, b: &ripc_mq_batch) -> Result<usize> {
    let (count, blocking) = Blocking::batch(b.count, b.flags, nonblock(file), b.timeout, &b.clock)?;
    let (items, err) = read_items::<ripc_mq_item>(b.items, count)?;
    // The first item's checks in a single send's order: its priority, then
    // the descriptor.
    if items.first().is_some_and(|it| it.msg_prio >= MQ_PRIO_MAX) {
        return Err(EINVAL);
    }
    let q = &handle(h, true)?.q;
    wait::send_parts(
        &items,
        err,
        blocking,
        |n| q.parts().lend_heads(n),
        |it, heads| {
            if it.msg_prio >= MQ_PRIO_MAX {
                return Err(EINVAL);
            }
            load(q, it.msg_ptr, it.msg_len, it.msg_prio, heads)
        },
        |mut msgs, b| q.parts().send_run(msgs.drain_all(), b),
    )
}

/// `RIPC_MQ_RECEIVE_BATCH`: takes the messages under one lock, then copies
/// each out and writes its item back; returns how many were received.
pub(crate) fn receive_batch(h: Option<&MqHandle>, file: &File, b: &ripc_mq_batch) -> Result<usize> {
    let (count, blocking) = Blocking::batch(b.count, b.flags, nonblock(file), b.timeout, &b.clock)?;
    let q = &handle(h, false)?.q;
    let (mut items, mut err) = read_items::<ripc_mq_item>(b.items, count)?;
    if let Some(k) = items.iter().position(|it| it.msg_len < q.msgsize as u64) {
        items.truncate(k);
        err = Some(EMSGSIZE);
    }
    if items.is_empty() {
        return outcome(0, err);
    }
    let (done, err) = q.parts().receive_batch(
        b.items,
        &mut items,
        |_| Some(None),
        blocking,
        true,
        |it, m| {
            it.msg_len = m.len() as u64;
            it.msg_prio = m.mtype() as u32;
            m.store(it.msg_ptr, m.len())
        },
    );
    outcome(done, err)
}

/// `RIPC_MQ_GETSETATTR`.
pub(crate) fn getsetattr(h: Option<&MqHandle>, file: &File, a: &ripc_mq_getsetattr) -> Result {
    let new: Option<ripc_mq_attr> = match a.new_attr {
        0 => None,
        p => Some(read_user(p)?),
    };
    if let Some(n) = &new {
        if n.mq_flags & !i64::from(O_NONBLOCK) != 0 {
            return Err(EINVAL);
        }
    }
    let q = &h.ok_or(EBADF)?.q;
    // The old flags read and the new set under the queue lock, as native's
    // under `info->lock`: of two racing calls, the second returns the
    // first's flags.
    let g = q.state.lock();
    let old = ripc_mq_attr {
        mq_flags: i64::from(file.flags() & O_NONBLOCK),
        mq_maxmsg: q.maxmsg as i64,
        mq_msgsize: q.msgsize as i64,
        mq_curmsgs: g.curmsgs as i64,
        ..Default::default()
    };
    if let Some(n) = &new {
        set_nonblock(file, n.mq_flags != 0);
    }
    drop(g);
    if a.old_attr != 0 {
        write_user(a.old_attr, &old)?;
    }
    Ok(())
}

/// `RIPC_IOC_STATS` of a POSIX descriptor (open for reading, else
/// `EBADF`); `reset` (the queue's owner or `CAP_FOWNER`, else `EPERM`)
/// then zeroes the counters.
pub(crate) fn stats(h: Option<&MqHandle>, reset: bool) -> Result<ripc_queue_stats> {
    let q = &handle(h, false)?.q;
    if reset
        && Ids::current().fsuid != q.uid()
        && !kernel_api::capable_wrt_uid(q.uid(), bindings::CAP_FOWNER)
    {
        return Err(EPERM);
    }
    Ok(q.state.lock().read_stats(reset))
}

/// Sets or clears `O_NONBLOCK` on the open file, as `fcntl(F_SETFL)` does.
fn set_nonblock(file: &File, on: bool) {
    kernel_api::set_file_flags(file, O_NONBLOCK, if on { O_NONBLOCK } else { 0 });
}

/// The file flags a bound file takes from `mq_open`'s `oflag`, as native's
/// file has its `oflag`: `O_NONBLOCK` and `O_LARGEFILE` only if asked (an
/// open of the device may have set the one and forced on the other; native's
/// `mq_open` makes its file from `oflag` alone).
pub(crate) fn bound_flags(file: &File, oflag: u32) {
    kernel_api::set_file_flags(file, bindings::O_LARGEFILE | O_NONBLOCK, oflag);
}

/// `RIPC_MQ_SETPERM`: `fchmod` or `fchown` of the queue, with the checks of
/// `chmod_common`/`chown_common`, `notify_change` and `setattr_prepare`, in
/// their order, in the queue's namespace (whose mqueue mount must be
/// writable, `EROFS`, also after the namespace died, as native's file keeps
/// its mount).
pub(crate) fn setperm(h: Option<&MqHandle>, a: &ripc_mq_setperm) -> Result {
    const SUID: u32 = bindings::S_ISUID;
    const SGID: u32 = bindings::S_ISGID;
    const XGRP: u32 = bindings::S_IXGRP;
    let h = h.ok_or(EBADF)?;
    let (q, ns) = (&h.q, &h.ns.mq);
    let chown = match a.which {
        RIPC_SETPERM_MODE => false,
        RIPC_SETPERM_OWNER => true,
        _ => return Err(EINVAL),
    };
    let _writer = h.mnt.as_ref().map(MqMount::writer).transpose()?;
    // The ids as the caller's user namespace maps them; -1 leaves one.
    let id = |v: u32, map: fn(u32) -> Result<u32>| match v {
        u32::MAX => Ok(None),
        v => map(v).map(Some),
    };
    let (to_uid, to_gid) = match chown {
        true => (id(a.uid, cred::user_to_uid)?, id(a.gid, cred::user_to_gid)?),
        false => (None, None),
    };
    let fsuid = Ids::current().fsuid;
    loop {
        let (uid, gid, mode) = (q.uid(), q.gid(), q.mode());
        let cap = |c| kernel_api::capable_wrt_ids(uid, gid, c, true);
        let owns = fsuid == uid;
        let (new_uid, new_gid) = (to_uid.unwrap_or(uid), to_gid.unwrap_or(gid));
        let new_mode = if chown {
            if !ns.user_ns.maps(new_uid, new_gid) {
                return Err(EOVERFLOW);
            }
            // chown_ok, chgrp_ok.
            let uid_ok = |u| owns && u == uid;
            let gid_ok = |g| owns && (g == gid || cred::in_group(g));
            if (to_uid.is_some_and(|u| !uid_ok(u)) || to_gid.is_some_and(|g| !gid_ok(g)))
                && !cap(bindings::CAP_CHOWN)
            {
                return Err(EPERM);
            }
            // ATTR_KILL_SUID, and ATTR_KILL_SGID if setattr_should_drop_sgid.
            let mut m = mode & !SUID;
            if mode & SGID != 0
                && (mode & XGRP != 0 || !(cred::in_group(gid) || cap(bindings::CAP_FSETID)))
            {
                m &= !SGID;
            }
            (m != mode).then_some(m)
        } else {
            Some(a.mode & 0o7777)
        };
        // setattr_prepare's ATTR_MODE: the owner or CAP_FOWNER, and the
        // set-group-ID bit only for the (new) group's members or CAP_FSETID.
        let new_mode = match new_mode {
            Some(_) if !owns && !kernel_api::capable_wrt_uid(uid, bindings::CAP_FOWNER) => {
                return Err(EPERM)
            }
            Some(m) if !(cred::in_group(new_gid) || cap(bindings::CAP_FSETID)) => Some(m & !SGID),
            m => m,
        };
        // Stored under the queue lock unless another change came meanwhile
        // (then checked again, as if after it: native's inode lock).
        let _g = q.state.lock();
        if (q.uid(), q.gid(), q.mode()) != (uid, gid, mode) {
            continue;
        }
        q.uid.store(new_uid, Relaxed);
        q.gid.store(new_gid, Relaxed);
        q.mode.store(new_mode.unwrap_or(mode), Relaxed);
        return Ok(());
    }
}

/// `RIPC_MQ_NOTIFY`.
pub(crate) fn notify(h: Option<&MqHandle>, a: &ripc_mq_notify) -> Result {
    let req = notify::parse(a.sevp)?;
    let q = &h.ok_or(EBADF)?.q;
    let mut g = q.state.lock();
    match req {
        Request::Remove => {
            if g.notify.as_ref().is_some_and(Notify::owned_by_current) {
                g.notify = None;
            }
        }
        Request::Register { value, how } => {
            if g.registration().is_some() {
                return Err(EBUSY);
            }
            g.notify = Some(Notify::new(value, how)?);
            g.notify_from = if g.curmsgs == 0 { 0 } else { g.seq };
        }
    }
    Ok(())
}

impl MqHandle {
    /// Whether the queue was opened for reading (`O_RDONLY`, `O_RDWR`).
    pub(crate) fn may_read(&self) -> bool {
        self.read
    }

    /// `close()` of a descriptor by the owner drops its registration
    /// (`mqueue_flush_file`).
    pub(crate) fn flush(&self) {
        let mut g = self.q.state.lock();
        if g.notify.as_ref().is_some_and(Notify::owned_by_current) {
            g.notify = None;
        }
    }

    /// `EPOLLIN` if a message is queued, `EPOLLOUT` if a send gets in.
    pub(crate) fn poll(&self, file: &File, table: &kernel::sync::poll::PollTable<'_>) -> u32 {
        let g = self.q.parts().poll_lock(file, table);
        let mut mask = 0;
        if g.curmsgs > 0 {
            mask |= bindings::POLLIN | bindings::POLLRDNORM;
        }
        if !g.full() {
            mask |= bindings::POLLOUT | bindings::POLLWRNORM;
        }
        mask
    }

    /// The native status line that `read()` returns.
    pub(crate) fn status(&self, out: &mut impl Write) -> core::fmt::Result {
        let mut g = self.q.state.lock();
        let (kind, signo, pid) = g
            .registration()
            .map_or((0, 0, 0), |n| (n.kind(), n.signo(), n.owner_vnr()));
        let qsize = g.qsize;
        // Written after the lock: `out` may allocate.
        drop(g);
        writeln!(
            out,
            "QSIZE:{:<10} NOTIFY:{:<5} SIGNO:{:<5} NOTIFY_PID:{:<6}",
            qsize, kind, signo, pid
        )
    }
}

/// `RIPC_IOC_LIST`: one line per named queue, in the order they were
/// made, from `cursor` (0: the header first; else the serial number + 1 of
/// the next queue); returns where to go on, and whether `out` was full
/// before the end.  A page of lines at a time under the names lock.
/// `stats`: the statistics table instead (`RIPC_LIST_STATS`), of the
/// queues the caller may read.  As natively: the names only for a caller
/// who may read the mqueue root (`root.0`: `readdir`, else the header
/// alone), a queue's owner and mode only for one who may also search it
/// (`root.1`: `stat`), its attributes (`mq_getattr`) only for one who may
/// open it, its bytes and notification (the `QSIZE:` line) only for one who
/// may read it; else `-`.
pub(crate) fn list(
    ns: &MqNs,
    out: &mut Lines,
    cursor: u64,
    stats: bool,
    root: (bool, bool),
) -> Result<(u64, bool)> {
    let (readable, searchable) = root;
    let plain = b"name                        uid    gid     mode   maxmsg    msgsize   msgs  bytes signo notifypid";
    if out.header(cursor, stats, b" name", plain) {
        return Ok((0, true));
    }
    if !readable {
        return Ok((0, false));
    }
    let fsuid = Ids::current().fsuid;
    let mut next = cursor.saturating_sub(1);
    loop {
        let names = ns.names.lock();
        let end = names.next_serial + 1;
        let stop = loop {
            // The tree's cursor does not move on its own: a lookup a line.
            let Some(c) = names.by_serial.cursor_lower_bound(&next) else {
                break Some((end, false));
            };
            let (&serial, (n, q)) = c.current();
            // Before the queue lock (a spinlock): the capability checks
            // go through the LSMs.
            let read = q.permits(fsuid, 4, false);
            let open = read || (!stats && q.permits(fsuid, 2, false));
            let mut g = q.state.lock();
            let (signo, pid) = g
                .registration()
                .map_or((0, 0), |n| (n.signo(), n.owner_vnr()));
            let pushed = if !stats {
                out.line(|t| {
                    t.bytes(b"/").name_l(&n.0, 23).sp();
                    t.dec_r_or_dash(searchable.then(|| cred::uid_to_user(q.uid())), 6)
                        .sp();
                    t.dec_r_or_dash(searchable.then(|| cred::gid_to_user(q.gid())), 6)
                        .sp();
                    match searchable {
                        true => t.oct_r(q.mode(), 8).sp(),
                        false => t.dec_r_or_dash(None::<u32>, 8).sp(),
                    };
                    t.dec_r_or_dash(open.then_some(q.maxmsg), 8).sp();
                    t.dec_r_or_dash(open.then_some(q.msgsize), 10).sp();
                    t.dec_r_or_dash(open.then_some(g.curmsgs), 6).sp();
                    t.dec_r_or_dash(read.then_some(g.qsize), 6).sp();
                    t.dec_r_or_dash(read.then_some(signo), 5).sp();
                    t.dec_r_or_dash(read.then_some(pid), 9);
                })
            } else if read {
                let s = g.read_stats(false);
                out.line(|t| {
                    stats::row(t, &s).bytes(b" /").name_l(&n.0, 0);
                })
            } else {
                Push::Taken
            };
            match pushed {
                Push::Taken => next = serial + 1,
                Push::Flush => break None,
                Push::Full => break Some((serial + 1, true)),
            }
        };
        drop(names);
        out.flush()?;
        if let Some(r) = stop {
            return Ok(r);
        }
    }
}

/// Whether the namespace has no queue name (a restore's condition).
pub(crate) fn is_empty(ns: &MqNs) -> bool {
    ns.names.lock().is_empty()
}

/// The fixed part of a POSIX queue's record (`RIPC_DUMP_MQ`).
const MQ_RECORD: u64 = 40;

/// `RIPC_IOC_DUMP`'s POSIX records: each named queue in the order they
/// were made, its messages in receive order, under the names lock and the
/// queue's lock (a part at a time: [`checkpoint::queue_record`]).
pub(crate) fn dump(ns: &MqNs, w: &mut Writer) -> Result {
    let fsuid = Ids::current().fsuid;
    let names = ns.names.lock();
    for (_, (name, q)) in names.by_serial.iter() {
        // Read as an open for reading would let it be (`EACCES`).
        if !q.permits(fsuid, 4, true) {
            return Err(EACCES);
        }
        checkpoint::queue_record(
            w,
            &q.state,
            |g| &g.prios,
            |g, w| {
                let text = g.curmsgs as u64 * MSG_HEAD + g.qsize;
                w.record(RIPC_DUMP_MQ, MQ_RECORD + name.0.len() as u64 + text)?;
                w.u32(name.0.len() as u32)?;
                w.u32(q.mode())?;
                w.u32(cred::uid_to_user(q.uid()))?;
                w.u32(cred::gid_to_user(q.gid()))?;
                w.u64(q.maxmsg as u64)?;
                w.u64(q.msgsize as u64)?;
                w.u64(g.curmsgs as u64)?;
                w.put(&name.0)
            },
        )?;
        // Between queues, the dump may be preempted (and between parts of
        // a large queue's messages: `queue_record`).
        kernel_api::cond_resched();
    }
    Ok(())
}

/// A restore's POSIX queues, built aside until [`Restore::install`].
pub(crate) struct Restore {
    names: Names,
    /// The checks of a creation in the mqueue root, made once.
    root_checked: bool,
    /// The creation's write access to the mqueue mount, held until the
    /// names are installed.
    _writer: Option<MqWriter>,
}

impl Restore {
    pub(crate) fn new() -> Self {
        Restore {
            names: Names::new(),
            root_checked: false,
            _writer: None,
        }
    }

    /// One queue's record: the queue made as `mq_open(O_CREAT)` makes it
    /// in `ipc`'s mqueue root (`EROFS`, `EOVERFLOW`, `EACCES` as there; its
    /// limits, `RLIMIT_MSGQUEUE` charged to the caller), with its owner
    /// (`EOVERFLOW` if the namespace's owner does not map it, as a `chown`
    /// of an mqueue file; `EPERM` if a `chown` by the caller could not give
    /// it: [`cred::may_give`]), mode and attributes, then its messages sent
    /// in order.
    pub(crate) fn queue(&mut self, ns: &MqNs, ipc: &IpcNsRef, r: &mut Reader) -> Result {
        let name_len = r.u32()? as usize;
        let mode = r.u32()?;
        let (uid, gid) = (r.u32()?, r.u32()?);
        let (maxmsg, msgsize, n) = (r.u64()?, r.u64()?, r.u64()?);
        if name_len == 0 || name_len > NAME_MAX || mode > 0o7777 {
            return Err(EBADMSG);
        }
        let name = r.bytes(name_len)?;
        let bad = |c: &u8| *c == b'/' || *c == 0;
        if name == b"." || name == b".." || name.iter().any(bad) {
            return Err(EBADMSG);
        }
        if self.names.get(&name).is_some() {
            return Err(EBADMSG);
        }
        let attr = ripc_mq_attr {
            mq_maxmsg: i64::try_from(maxmsg).map_err(|_| EBADMSG)?,
            mq_msgsize: i64::try_from(msgsize).map_err(|_| EBADMSG)?,
            ..Default::default()
        };
        // The record's own checks first, then the native ones.
        if !self.root_checked {
            self._writer = creatable(ns, ipc)?;
            self.root_checked = true;
        }
        let (uid, gid) = (cred::user_to_uid(uid)?, cred::user_to_gid(gid)?);
        if !ns.user_ns.maps(uid, gid) {
            return Err(EOVERFLOW);
        }
        // More than `maxmsg` messages: a
        // put-back into a queue that senders filled meanwhile
        // ([`Parts::put_back`]); more than a send could put in, as for
        // sizes past the limits, only with `CAP_SYS_RESOURCE`.
        if n > maxmsg && !cred::capable(cred::CAP_SYS_RESOURCE) {
            return Err(EPERM);
        }
        let me = Ids::current();
        let q = MqQueue::new(ns, &me, (uid, gid), mode, Some(attr))?;
        // As a `fchown` after the `mq_open` (which made it).
        cred::may_give(uid, gid, (me.fsuid, me.fsgid))?;
        // A node made before the lock, used if a message needs one.
        let mut node = None;
        for _ in 0..n {
            let mut m = r.msg(q.msgsize, EBADMSG)?;
            if !(0..i64::from(MQ_PRIO_MAX)).contains(&m.mtype()) {
                return Err(EBADMSG);
            }
            if node.is_none() {
                node = Some(prios::new_node()?);
            }
            let mut g = q.state.lock();
            m.set_seq(g.seq);
            g.seq += 1;
            g.put(m, false, &mut node)?;
        }
        // Its statistics start at zero, as a new queue's (the restored
        // messages count as no sends), its peaks at what it holds.
        let mut g = q.state.lock();
        let (msgs, bytes) = g.depth();
        g.stats.peak(msgs, bytes);
        drop(g);
        self.names.add(&name, &q)
    }

    /// Puts the restored names in place, if the namespace has none (else
    /// `EEXIST`) and `then` (the other family's install) succeeds, under
    /// the names lock.
    pub(crate) fn install(mut self, ns: &MqNs, then: impl FnOnce() -> Result) -> Result {
        let mut names = ns.names.lock();
        if !names.is_empty() {
            return Err(EEXIST);
        }
        then()?;
        core::mem::swap(&mut *names, &mut self.names);
        Ok(())
    }
}
