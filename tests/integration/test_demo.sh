#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_demo.sh - `make demo` as a new user sees it: it runs to the end, the
# file's SHA-256 is equal on both ends, bpftool shows flows, /metrics shows
# beam's counters, and nothing is left behind afterwards.
source "$(dirname "$0")/lib.sh"
t_require_root

run_demo() {
	BUILD=$T_BUILD bash "$T_ROOT/tools/demo.sh" </dev/null >"$T_DIR/demo.txt" 2>&1
}

test_demo_runs_the_main_job()
{
	local rc=0

	[[ ! -e /sys/fs/bpf/beam/eth0 ]] || t_skip "/sys/fs/bpf/beam/eth0 is in use"
	run_demo || rc=$?
	sed 's/^/# /' "$T_DIR/demo.txt"
	[[ $rc -eq 0 ]] || t_fail "the demo exited with $rc"
	grep -q 'SHA-256 equal on both ends' "$T_DIR/demo.txt" || t_fail "no equal SHA-256"
	grep -A30 'bpftool map dump pinned' "$T_DIR/demo.txt" | grep -q '"packets": [1-9]' ||
		t_fail "bpftool showed no flow"
	grep -q 'beam_tunnels_active{kind="tcp"} 1' "$T_DIR/demo.txt" || t_fail "no metrics shown"
	grep -q 'requests/s [0-9]' "$T_DIR/demo.txt" || t_fail "no load result"
	# Every line fits an 80-column terminal.
	! awk 'length > 80 { print; bad = 1 } END { exit !bad }' "$T_DIR/demo.txt" ||
		t_fail "output wider than 80 columns"
}

test_demo_leaves_nothing_behind()
{
	local run

	run=$(sed -n 's/^demo run \([0-9a-f]*\).*/\1/p' "$T_DIR/demo.txt")
	[[ -n $run ]] || t_fail "the demo did not say its run id"
	! ip netns list | grep -q "^b$run-" || t_fail "namespaces left: $(ip netns list | grep "b$run-")"
	[[ ! -e /sys/fs/bpf/beam/eth0 ]] || t_fail "pins left in /sys/fs/bpf/beam/eth0"
	! pgrep -f "beam-test-$run" >/dev/null || t_fail "processes left: $(pgrep -af "beam-test-$run")"
	! pgrep -f "10.99.0.1:4433" >/dev/null || t_fail "agent left running"
	! ls -d /tmp/beam-test-"$run".* 2>/dev/null || t_fail "temporary files left"
}

t_test test_demo_runs_the_main_job "make demo ends with equal SHA-256, flows from bpftool and metrics"
t_test test_demo_leaves_nothing_behind "no namespace, pin, process or file is left after the demo"
t_done
