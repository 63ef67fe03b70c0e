#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# run.sh - run beam's test suites and print one summary line.
#
# Every test program speaks TAP ("ok N - name", "not ok N - name",
# "ok N # SKIP why"): cmocka binaries through CMOCKA_MESSAGE_OUTPUT=TAP,
# integration scripts through tests/integration/lib.sh. A program that dies
# without reporting a failure counts as one failure.
#
# usage: tests/run.sh [unit] [bpf] [integration] [stress]   (default: all but stress)
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
export BUILD ROOT CMOCKA_MESSAGE_OUTPUT=TAP
LOGDIR=$BUILD/test-logs
mkdir -p "$LOGDIR"

suites=("$@")
[[ ${#suites[@]} -eq 0 ]] && suites=(unit bpf integration)

# Fault tests add rows here (tests/integration/faults_lib.sh); shown at the end.
export STRESS_TABLE=$LOGDIR/faults.tsv
rm -f "$STRESS_TABLE"

# A sanitizer build (make SANITIZE=1): every report lands in a file of its own,
# whichever program under test made it, and counts as a failure below.
SAN_DIR=$LOGDIR/sanitizers
if [[ $BUILD == */san ]]; then
	rm -rf "$SAN_DIR"
	mkdir -p "$SAN_DIR"
	chmod 1777 "$SAN_DIR" # beamd --user writes its reports as that user
	export ASAN_OPTIONS="log_path=$SAN_DIR/asan:log_exe_name=1:detect_leaks=1:abort_on_error=0"
	export UBSAN_OPTIONS="log_path=$SAN_DIR/ubsan:log_exe_name=1:print_stacktrace=1:halt_on_error=1"
	export LSAN_OPTIONS="suppressions=$ROOT/tests/lsan.supp:print_suppressions=0"
fi

passed=0 failed=0 skipped=0
failures=()

run_one() {
	local name=$1 log=$LOGDIR/$1.log rc p f s
	shift

	printf '== %s\n' "$name"
	"$@" >"$log" 2>&1 </dev/null
	rc=$?
	# cmocka 1.1.5 reports a skipped case as "not ok N # SKIP": a skip, not a failure.
	p=$(grep -cE '^ok [0-9]+' "$log" | head -1)
	s=$(grep -cE '^(not )?ok [0-9]+.*# (SKIP|skip)' "$log" | head -1)
	f=$(grep -E '^not ok [0-9]+' "$log" | grep -cvE '# (SKIP|skip)' | head -1)
	p=$((p - $(grep -cE '^ok [0-9]+.*# (SKIP|skip)' "$log" | head -1)))
	if [[ $rc -ne 0 && $f -eq 0 ]]; then
		f=1
		echo "not ok - $name exited with status $rc without reporting a failure" >>"$log"
	fi
	grep -E '^(not ok|ok [0-9]+.*# (SKIP|skip))' "$log" | sed 's/^/   /'
	[[ $f -gt 0 ]] && { failures+=("$name"); tail -n 30 "$log" | sed 's/^/   | /'; }
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

run_dir_bins() {
	local dir=$1 t

	for t in "$dir"/test_*; do
		[[ -x $t && ! -d $t && $t != *.o && $t != *.d ]] || continue
		run_one "$(basename "$t")" "$t"
	done
}

# Tests built for arm64 ($BUILD/aarch64, see the Makefile) run under
# qemu-user, called directly (no binfmt_misc), on the cross glibc. A missing
# build or emulator is a skip that says so; `make deps` installs both.
run_aarch64_bins() {
	local dir=$BUILD/aarch64 ran=0 t

	if ! command -v qemu-aarch64 >/dev/null; then
		run_one aarch64 printf 'ok 1 # SKIP qemu-aarch64 is not installed (make deps)\n'
		return
	fi
	for t in "$dir"/test_*; do
		[[ -x $t && ! -d $t ]] || continue
		run_one "$(basename "$t")-aarch64" qemu-aarch64 -L /usr/aarch64-linux-gnu "$t"
		ran=1
	done
	[[ $ran -eq 1 ]] || run_one aarch64 printf 'ok 1 # SKIP %s\n' \
		"no arm64 test build: aarch64-linux-gnu-gcc or .deps/aarch64 cmocka missing (make deps)"
}

run_dir_scripts() {
	local dir=$1 t

	for t in "$dir"/test_*.sh; do
		[[ -f $t ]] || continue
		run_one "$(basename "$t" .sh)" bash "$t"
	done
}

for suite in "${suites[@]}"; do
	case $suite in
	unit)
		run_dir_bins "$BUILD/tests/unit"
		run_aarch64_bins
		;;
	bpf) run_dir_bins "$BUILD/tests/bpf" ;;
	integration) run_dir_scripts "$ROOT/tests/integration" ;;
	stress) run_dir_scripts "$ROOT/tests/stress" ;;
	*) echo "run.sh: unknown suite '$suite'" >&2; exit 2 ;;
	esac
done

if [[ $BUILD == */san ]]; then
	for f in "$SAN_DIR"/*; do
		[[ -s $f ]] || continue
		printf 'not ok - sanitizer report %s\n' "$f"
		# the error line and the first stack (leaks: the allocation's), so a
		# report seen only in CI names the code
		if grep -q -E 'ERROR|runtime error' "$f"; then
			grep -m1 -E 'ERROR|runtime error' "$f" | sed 's/^/   | /'
			grep -m1 -A10 -E '^(Direct|Indirect) leak|^READ|^WRITE|^ +#0 ' "$f" | sed 's/^/   | /'
		else
			head -n 12 "$f" | sed 's/^/   | /' # a warning or a fatal error of the tool itself
		fi
		failures+=("$(basename "$f")")
		failed=$((failed + 1))
	done
fi

if [[ -s $STRESS_TABLE ]]; then
	printf '\n%-34s %5s %14s %11s  %s\n' fault runs "bytes moved" "bytes lost" recovery
	while IFS=$'\t' read -r fault runs moved lost rec; do
		printf '%-34s %5s %14s %11s  %s\n' "$fault" "$runs" "$moved" "$lost" "$rec"
	done <"$STRESS_TABLE"
	echo
fi

[[ ${#failures[@]} -gt 0 ]] && printf 'failed: %s (logs in %s)\n' "${failures[*]}" "$LOGDIR"
printf '%d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
[[ $failed -eq 0 ]]
