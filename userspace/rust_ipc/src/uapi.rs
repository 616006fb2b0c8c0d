//! The raw ABI of `/dev/rust_ipc`: `include/uapi/linux/rust_ipc.h` as
//! bindgen generated it at build time (see `build.rs`).
//!
//! Every `ripc_*` struct has the C layout, which bindgen's layout tests
//! (compile-time assertions on size, alignment and field offsets) pin to
//! what clang computed from the header.  The `RIPC_CMD_*` constants are the
//! header's ioctl command macros (`RIPC_MQ_OPEN`, ...) as clang evaluated
//! them; `IPC_*` and `MSG_*` come from the system's `<linux/ipc.h>` and
//! `<linux/msg.h>`.
//!
//! The safe API ([`PosixQueue`](crate::PosixQueue),
//! [`SysvQueue`](crate::SysvQueue)) is built on these; they are public for
//! callers that need a call the safe API does not wrap (the send and
//! receive batches, `RIPC_MSG_NEXT_ID`).

#![allow(
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    missing_docs,
    dead_code,
    clippy::all,
    clippy::pedantic
)]

include!(concat!(env!("OUT_DIR"), "/uapi.rs"));
