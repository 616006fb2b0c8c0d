// SPDX-License-Identifier: GPL-2.0
/*
 * Offsets of kernel struct fields that the Rust bindings leave opaque,
 * generated at build time the way the kernel makes asm-offsets.h: this file
 * is only compiled to assembly (never linked), and Kbuild turns its "->"
 * markers into Rust constants ($(obj)/rust_ipc_offsets.rs, see Kbuild).
 */
#include <linux/kbuild.h>
#include <linux/ipc_namespace.h>

int main(void)
{
	/* struct ipc_namespace is opaque in bindings::; its ns_common is not. */
	OFFSET(IPC_NAMESPACE_NS, ipc_namespace, ns);
	return 0;
}
