//! Generates the uapi layouts from the C header at build time.
//!
//! `include/uapi/linux/rust_ipc.h` is the single source of truth of the
//! ABI.  bindgen (through libclang) turns it into `$OUT_DIR/uapi.rs`, which
//! `src/uapi.rs` includes, so the C library, the module and this crate all
//! compile the same declarations:
//!
//! - every `struct ripc_*` with its exact layout, plus bindgen's layout
//!   tests (compile-time assertions of each struct's size, alignment and
//!   field offsets as clang computed them);
//! - every `RIPC_*` constant of the header;
//! - the ioctl command numbers, evaluated by clang from the header's own
//!   `_IOW`/`_IOWR` macros (bindgen cannot expand function-like macros, so
//!   each one is assigned to a `const __u32 RIPC_CMD_*` that clang folds, the
//!   kernel's `RUST_CONST_HELPER_*` trick);
//! - the System V flag and command values (`IPC_*`, `MSG_*`) from the
//!   system's `<linux/ipc.h>` and `<linux/msg.h>`.
//!
//! The header directory defaults to `../../include/uapi` (this crate lives
//! in `userspace/rust_ipc/` of the rust_ipc tree); `RIPC_UAPI_INCLUDE`
//! overrides it.  libclang is found by clang-sys (`LIBCLANG_PATH`, else
//! `llvm-config` on `PATH`, else the usual directories such as
//! `/usr/lib/llvm-*/lib`).

use std::{env, path::PathBuf};

/// The ioctl commands of the header, by their macro names.
const COMMANDS: &[&str] = &[
    "RIPC_IOC_VERSION",
    "RIPC_IOC_SET_LIMITS",
    "RIPC_IOC_LIST",
    "RIPC_MQ_OPEN",
    "RIPC_MQ_OPEN_FD",
    "RIPC_MQ_SETPERM",
    "RIPC_MQ_UNLINK",
    "RIPC_MQ_SEND",
    "RIPC_MQ_RECEIVE",
    "RIPC_MQ_GETSETATTR",
    "RIPC_MQ_NOTIFY",
    "RIPC_MSGGET",
    "RIPC_MSGSND",
    "RIPC_MSGRCV",
    "RIPC_MSGCTL",
    "RIPC_MSG_BIND",
    "RIPC_MSG_NEXT_ID",
    "RIPC_MQ_SEND_BATCH",
    "RIPC_MQ_RECEIVE_BATCH",
    "RIPC_MSGSND_BATCH",
    "RIPC_MSGRCV_BATCH",
    "RIPC_NOTIFY_FD_BIND",
    "RIPC_NOTIFY_FD_STATE",
    "RIPC_NOTIFY_FD_OPEN",
    "RIPC_MQ_PEEK",
    "RIPC_MQ_PEEK_BATCH",
    "RIPC_IOC_DUMP",
    "RIPC_IOC_RESTORE",
    "RIPC_IOC_STATS",
    "RIPC_MQ_TIMEDSEND",
    "RIPC_MQ_TIMEDRECEIVE",
    "RIPC_MSGSND_REGS",
    "RIPC_MSGRCV_REGS",
];

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let include = env::var_os("RIPC_UAPI_INCLUDE")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../include/uapi"));
    let header = include.join("linux/rust_ipc.h");
    assert!(
        header.is_file(),
        "{} not found: set RIPC_UAPI_INCLUDE to the directory holding linux/rust_ipc.h",
        header.display()
    );
    println!("cargo:rerun-if-changed={}", header.display());
    println!("cargo:rerun-if-env-changed=RIPC_UAPI_INCLUDE");
    println!("cargo:rerun-if-env-changed=LIBCLANG_PATH");

    let mut wrapper = String::from(
        "#include <linux/rust_ipc.h>\n#include <linux/ipc.h>\n#include <linux/msg.h>\n",
    );
    for c in COMMANDS {
        wrapper.push_str(&format!(
            "const __u32 {} = {c};\n",
            c.replacen("RIPC_", "RIPC_CMD_", 1)
        ));
    }

    let bindings = bindgen::Builder::default()
        .header_contents("rust_ipc_wrapper.h", &wrapper)
        .clang_arg(format!("-I{}", include.display()))
        .allowlist_type("ripc_.*")
        .allowlist_var("RIPC_.*")
        .allowlist_var("IPC_(CREAT|EXCL|NOWAIT|RMID|SET|STAT|INFO)")
        .allowlist_var("MSG_(NOERROR|EXCEPT|COPY|STAT|INFO|STAT_ANY)")
        .default_macro_constant_type(bindgen::MacroTypeVariation::Signed)
        .derive_default(true)
        .derive_debug(true)
        .derive_copy(true)
        .derive_eq(true)
        .layout_tests(true)
        .generate_comments(false)
        .use_core()
        .generate()
        .expect("bindgen failed on linux/rust_ipc.h");

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("uapi.rs");
    bindings
        .write_to_file(&out)
        .unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}
