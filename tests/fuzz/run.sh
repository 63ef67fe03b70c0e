#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# run.sh - run each libFuzzer target for FUZZ_TIME seconds, seeded from
# tests/fuzz/corpus/<name>/ and earlier crashes in tests/fuzz/regress/<name>/.
# New corpus entries go to build/fuzz/corpus/<name>/ (not committed); a crash
# stops with the input's path: copy it into tests/fuzz/regress/<name>/ once
# fixed, and `make test` replays it forever after.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FUZZ_TIME=${FUZZ_TIME:-30}
failed=0

for bin in "$@"; do
	name=$(basename "$bin")
	name=${name#fuzz_}
	work=$ROOT/build/fuzz/corpus/$name
	crashes=$ROOT/build/fuzz/crashes/$name
	mkdir -p "$work" "$crashes" "$ROOT/tests/fuzz/regress/$name"
	printf 'fuzz: %s for %ss\n' "$name" "$FUZZ_TIME"
	if ! "$bin" -max_total_time="$FUZZ_TIME" -max_len=4096 -timeout=5 -rss_limit_mb=2048 \
		-artifact_prefix="$crashes/" -print_final_stats=1 \
		"$work" "$ROOT/tests/fuzz/corpus/$name" "$ROOT/tests/fuzz/regress/$name" \
		>"$ROOT/build/fuzz/$name.log" 2>&1; then
		failed=$((failed + 1))
		echo "fuzz: $name FAILED: see build/fuzz/$name.log; inputs in $crashes/"
		grep -E 'ERROR|SUMMARY' "$ROOT/build/fuzz/$name.log" | head -5
	else
		grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$ROOT/build/fuzz/$name.log" |
			sed 's/^/  /'
	fi
done
[[ $failed -eq 0 ]]
