# SPDX-License-Identifier: MIT
#
# lib.sh - harness for integration tests: TAP output, per-run names, and a
# cleanup stack that runs on every exit, also after a failure or Ctrl-C.
#
#   source "$(dirname "$0")/lib.sh"
#   t_require_root            # skips the whole file with a reason otherwise
#   t_require_tools curl      # likewise unless each tool is on the PATH
#   ns=$(t_netns edge)        # namespace "b<run>-edge", removed at exit
#   t_veth eth0 "$ns" peer0 "$ns2"
#   t_bg "$ns" name cmd ...   # background process in a namespace, killed at exit
#   t_test test_function "what it checks"   # one function per test
#   t_done
#
# Test functions return non-zero (or call t_fail) on failure; they run in a
# subshell with `set -e`, so any failing command fails the test.

set -uo pipefail

T_ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
T_BUILD=${BUILD:-$T_ROOT/build}
[[ $T_BUILD == /* ]] || T_BUILD=$T_ROOT/$T_BUILD
T_RUN=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n' | cut -c1-6)
T_DIR=$(mktemp -d "/tmp/beam-test-$T_RUN.XXXX")
T_N=0
T_FAILED=0
T_CLEANUP=$T_DIR/cleanup.sh
: >"$T_CLEANUP"
# Pins are global across namespaces: every run gets its own pin root.
export BEAM_PIN_ROOT=/sys/fs/bpf/beam-t$T_RUN
export PATH=$T_BUILD:$PATH

t_log() { printf '# %s\n' "$*"; }

# Register a shell command to run at exit; later registrations run first.
t_defer() { printf '%s\n' "$*" | cat - "$T_CLEANUP" >"$T_CLEANUP.new" && mv "$T_CLEANUP.new" "$T_CLEANUP"; }

t_cleanup() {
	local rc=$?

	trap - EXIT INT TERM
	bash "$T_CLEANUP" >/dev/null 2>&1
	# Only the per-run pin root is ours to remove wholesale.
	[[ $BEAM_PIN_ROOT == /sys/fs/bpf/beam-t$T_RUN ]] && rm -rf "$BEAM_PIN_ROOT" 2>/dev/null
	rm -rf "$T_DIR"
	exit $rc
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

t_skip_all() {
	echo "1..0 # SKIP $*"
	echo "ok 1 # SKIP $*"
	exit 0
}

# t_setup_fail REASON: what every test of the file needs failed (a daemon did
# not start, the namespaces could not be built): that is a failure, not a skip.
t_setup_fail() {
	echo "not ok 1 - setup: $*"
	echo "1..1"
	exit 1
}

# t_require_tools TOOL...: skip the whole file unless every TOOL is on the PATH.
t_require_tools() {
	local tool

	for tool in "$@"; do
		command -v "$tool" >/dev/null || t_skip_all "$tool missing"
	done
}

t_require_root() {
	[[ $(id -u) -eq 0 ]] || t_skip_all "needs root (network namespaces, BPF); run 'sudo make test'"
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf ||
		t_skip_all "bpffs is not mounted at /sys/fs/bpf and mounting it failed"
	command -v ip >/dev/null || t_skip_all "iproute2 missing; run 'make deps'"
}

# t_netns ROLE: create namespace b<run>-ROLE with loopback up, print its name.
t_netns() {
	local name="b$T_RUN-$1"

	ip netns add "$name" || return 1
	t_defer "ip netns pids $name | xargs -r kill -9; ip netns del $name"
	ip -n "$name" link set lo up
	echo "$name"
}

# t_veth IF_A NS_A IF_B NS_B: a veth pair between two namespaces, both up.
t_veth() {
	local tmp_a="v$T_RUN${RANDOM}a" tmp_b="v$T_RUN${RANDOM}b"

	ip link add "${tmp_a:0:15}" type veth peer name "${tmp_b:0:15}" || return 1
	ip link set "${tmp_a:0:15}" netns "$2" name "$1" &&
		ip link set "${tmp_b:0:15}" netns "$4" name "$3" &&
		ip -n "$2" link set "$1" up && ip -n "$4" link set "$3" up
}

# t_bg NS NAME CMD...: run CMD in NS in the background, output in $T_DIR/NAME.log.
# NS "-" runs in the current namespace. nsenter keeps /sys (and bpffs) visible.
t_bg() {
	local ns=$1 name=$2 pid
	shift 2

	if [[ $ns == - ]]; then
		"$@" >"$T_DIR/$name.log" 2>&1 &
	else
		nsenter --net="/run/netns/$ns" "$@" >"$T_DIR/$name.log" 2>&1 &
	fi
	pid=$!
	echo "$pid" >"$T_DIR/$name.pid"
	t_defer "kill -TERM $pid 2>/dev/null; sleep 0.2; kill -KILL $pid 2>/dev/null"
}

# t_ns NS CMD...: run CMD inside a namespace without hiding bpffs.
t_ns() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

# t_wait_for TIMEOUT_S CMD...: poll CMD every 50 ms until it succeeds.
t_wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS >= deadline)) && return 1
		sleep 0.05
	done
}

t_fail() {
	echo "# FAIL: $*" >&2
	exit 1
}

# t_test FUNC DESCRIPTION: run one test function and print its TAP line;
# ONLY="func1 func2" in the environment runs only those (debugging).
t_test() {
	local fn=$1 desc=$2 rc

	[[ -z ${ONLY:-} || " $ONLY " == *" $fn "* ]] || return 0
	T_N=$((T_N + 1))
	touch "$T_DIR/.test-start"
	(set -e; "$fn")
	rc=$?
	if [[ $rc -eq 0 ]]; then
		echo "ok $T_N - $fn: $desc"
	elif [[ $rc -eq 77 ]]; then
		echo "ok $T_N - $fn # SKIP $(cat "$T_DIR/skip-reason" 2>/dev/null)"
	else
		echo "not ok $T_N - $fn: $desc"
		t_log_problems
		T_FAILED=$((T_FAILED + 1))
	fi
}

# After a failed test: the last warnings and errors of every program log the
# test wrote to, so that a failure seen only in CI says what the daemons saw.
t_log_problems() {
	local f

	for f in "$T_DIR"/*.log; do
		[[ -f $f && $f -nt $T_DIR/.test-start ]] || continue
		grep -aE 'warning|error|fatal|gone|reset|ERROR' "$f" | tail -n 6 |
			sed "s|^|# $(basename "$f"): |"
	done
}

# t_skip REASON: inside a test function, skip this test.
t_skip() {
	echo "$*" >"$T_DIR/skip-reason"
	exit 77
}

t_done() {
	echo "1..$T_N"
	[[ $T_FAILED -eq 0 ]]
}
