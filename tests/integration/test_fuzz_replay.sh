#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_fuzz_replay.sh - every fuzz target over its seed corpus and every crash
# ever found (tests/fuzz/regress/): yesterday's crash must not come back.
source "$(dirname "$0")/lib.sh"

replay()
{
	local name=$1 files=()

	shopt -s nullglob
	files=("$T_ROOT/tests/fuzz/corpus/$name"/* "$T_ROOT/tests/fuzz/regress/$name"/*)
	[[ ${#files[@]} -gt 0 ]] || t_fail "no corpus for $name"
	"$T_BUILD/tests/fuzz/fuzz_$name" "${files[@]}" >"$T_DIR/$name.tap"
	! grep -q '^not ok' "$T_DIR/$name.tap"
	t_log "$name: ${#files[@]} inputs replayed"
}

for bin in "$T_BUILD"/tests/fuzz/fuzz_*; do
	[[ -x $bin && $bin != *.o && $bin != *.d ]] || continue
	name=$(basename "$bin")
	name=${name#fuzz_}
	eval "test_fuzz_replay_$name() { replay $name; }"
	t_test "test_fuzz_replay_$name" "the $name decoder survives its corpus and past crashes"
done
t_done
