// SPDX-License-Identifier: GPL-2.0

//! rust_ipc: POSIX and System V message queues behind `/dev/rust_ipc`.
//!
//! The crate root holds the module and the device registration only; the
//! rest lives in `ipc/`, one file per concept.  The ABI is
//! `include/uapi/linux/rust_ipc.h`.

use kernel::prelude::*;

mod ipc;

module! {
    type: RustIpcModule,
    name: "rust_ipc",
    authors: ["rust_ipc developers"],
    description: "POSIX and System V message queues through /dev/rust_ipc",
    license: "GPL",
    params: {
        mq_msg_default: u32 { default: 10, description: "fs.mqueue.msg_default at load", },
        mq_msgsize_default: u32 { default: 8192, description: "fs.mqueue.msgsize_default at load", },
        mq_msg_max: u32 { default: 10, description: "fs.mqueue.msg_max at load", },
        mq_msgsize_max: u32 { default: 8192, description: "fs.mqueue.msgsize_max at load", },
        mq_queues_max: u32 { default: 256, description: "fs.mqueue.queues_max at load", },
        msgmax: u32 { default: 8192, description: "kernel.msgmax at load", },
        msgmnb: u32 { default: 16384, description: "kernel.msgmnb at load", },
        msgmni: u32 { default: 32000, description: "kernel.msgmni at load", },
    },
}

#[pin_data(PinnedDrop)]
struct RustIpcModule {
    #[pin]
    _dev: ipc::chardev::Registration,
    /// Dropped after `ipc::cleanup` has freed every message.
    _heads: ipc::kernel_api::HeadCaches,
}

impl kernel::InPlaceModule for RustIpcModule {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        ipc::limits::init(ipc::defs::ripc_limits {
            mq_msg_default: module_parameters::mq_msg_default.value(),
            mq_msgsize_default: module_parameters::mq_msgsize_default.value(),
            mq_msg_max: module_parameters::mq_msg_max.value(),
            mq_msgsize_max: module_parameters::mq_msgsize_max.value(),
            mq_queues_max: module_parameters::mq_queues_max.value(),
            msgmax: module_parameters::msgmax.value(),
            msgmnb: module_parameters::msgmnb.value(),
            msgmni: module_parameters::msgmni.value(),
        });
        ipc::init_globals();
        try_pin_init!(Self {
            // Before the device: no message is allocated without them.
            _heads: ipc::kernel_api::HeadCaches::new(ipc::msg::HEAD_USER_WINDOW)?,
            _dev <- ipc::chardev::Registration::register(c"rust_ipc"),
        })
    }
}

#[pinned_drop]
impl PinnedDrop for RustIpcModule {
    fn drop(self: Pin<&mut Self>) {
        ipc::cleanup();
    }
}
