# Sourced by the scripts: common paths. Not executable on its own.
RUST_IPC_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUST_IPC_CACHE=${RUST_IPC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rust_ipc}
export KSRC=${KSRC:-$RUST_IPC_CACHE/src/linux-source-7.3}
export PATH=/usr/lib/llvm-19/bin:$HOME/.cargo/bin:$PATH
# Build directory of a kernel flavour, keyed by the hash of its config
# fragments and of the Rust toolchain (a module must be built by the rustc
# and bindgen its kernel was: a toolchain update builds the kernels again).
kernel_dir() {
	local flavour=$1 frags=("$RUST_IPC_TOP/scripts/config/release.config")
	[ "$flavour" = release ] || frags+=("$RUST_IPC_TOP/scripts/config/$flavour.config")
	local hash
	hash=$({ cat "${frags[@]}"; rustc --version 2>/dev/null; bindgen --version 2>/dev/null; } |
		sha256sum | cut -c1-12)
	echo "$RUST_IPC_CACHE/build/7.3-$flavour-$hash"
}
# The lock of a flavour's kernel build directory (flock(1) on fd 9): held
# by kernel-build (exclusive: it may build or delete the directory) and by
# module-build (shared, while it builds against it).
kernel_lock() {
	mkdir -p "$RUST_IPC_CACHE/build"
	exec 9>"$RUST_IPC_CACHE/build/.lock-$1"
	flock "${2:--x}" 9
}
# What else a built kernel was built from, checked by kernel-build against
# the build directory's record (not in the directory's name: a change builds
# the directory again): the source tree and its Debian package's version,
# and the compiler.
kernel_inputs() {
	realpath "$KSRC"; cat "$KSRC/.unpacked" 2>/dev/null
	{ clang --version 2>/dev/null || echo "clang: none"; } | sed -n 1p
}
# The selftests and libripc of the tree at $1 built and installed into $2 as
# the VM's /selftests holds them: the binaries (selftests/out: the drop-in,
# preload/, thirdparty/ ...), run_all and the *_test.sh scripts (vm-run;
# scripts/mutate, for a mutant of user space, in its copy of the tree).
selftests_install() {
	make -s -C "$1/selftests" >/dev/null &&
		mkdir -p "$2" &&
		cp -r "$1/selftests/out/." "$2/" &&
		cp "$1/selftests/run_all" "$1"/selftests/*_test.sh "$2/"
}
