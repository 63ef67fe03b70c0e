#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_bench.sh - `make bench` still works: a tiny run (direct and the socat
# relay, short throughput, latency and scale steps) produces a REPORT.md and a
# results.json that parse and hold what the report promises, and the run
# leaves no namespace behind.
source "$(dirname "$0")/lib.sh"

t_require_root
for tool in iperf3 nginx socat jq; do
	command -v "$tool" >/dev/null || t_skip_all "$tool missing; run 'make deps'"
done
[[ -x $T_BUILD/bench/loadgen && -x $T_BUILD/bench/connhold ]] || t_skip_all "bench tools not built; run 'make'"

OUT=$T_DIR/bench

test_tiny_bench_run()
{
	OUT=$OUT SUBJECTS="direct socat" TESTS="setup throughput latency scale" QUICK=1 REPS=1 \
		TPUT_S=1 LAT_S=0.3 SCALE_LEVELS=200 SCALE_SUBJECTS="direct socat" BUILD=$T_BUILD \
		timeout 120 bash "$T_ROOT/bench/run.sh" >"$T_DIR/bench.log" 2>&1 ||
		{ tail -n 20 "$T_DIR/bench.log" | sed 's/^/# /'; t_fail "bench/run.sh failed"; }
	grep -o 'topology (run [0-9a-f]*)' "$T_DIR/bench.log" | sed 's/^/# /'
}

test_results_json_parses()
{
	local f=$OUT/results.json n

	[[ -f $f ]] || t_fail "results.json missing"
	jq -e '.meta.reps == 1 and (.subjects | length) == 2' "$f" >/dev/null || t_fail "meta/subjects wrong"
	for s in direct socat; do
		n=$(jq --arg s "$s" '[.stats[] | select(.subject == $s and .test == "tput-1-up" and .metric == "gbps")] | length' "$f")
		[[ $n -eq 1 ]] || t_fail "no throughput for $s"
		jq -e --arg s "$s" 'any(.stats[]; .subject == $s and .test == "lat-ka1-small-r1000" and .metric == "p99_ms" and .median > 0)' \
			"$f" >/dev/null || t_fail "no latency for $s"
		jq -e --arg s "$s" 'any(.stats[]; .subject == $s and .test == "scale-200" and .metric == "answered" and .median == 200)' \
			"$f" >/dev/null || t_fail "$s did not hold 200 connections"
	done
	jq -e 'any(.stats[]; .subject == "socat" and .test == "tput-1-up" and .metric == "cpu_total_s_per_gib" and .median > 0)' \
		"$f" >/dev/null || t_fail "no CPU accounting for socat"
	jq -e 'any(.stats[]; .subject == "socat" and .test == "setup" and .metric == "agent_up_ms")' \
		"$f" >/dev/null || t_fail "no setup time for socat"
	jq -e '[.samples[] | select(.metric == "failed")] | length == 0' "$f" >/dev/null ||
		t_fail "some steps failed: $(jq -c '[.samples[] | select(.metric == "failed")]' "$f")"
	# beam was not asked for: its goals must say so, never MET
	jq -e '[.goals[] | select(.status == "MET")] | length == 0' "$f" >/dev/null ||
		t_fail "a goal is MET without beam having run"
}

test_report_has_sections()
{
	local f=$OUT/REPORT.md s

	[[ -s $f ]] || t_fail "REPORT.md missing"
	for s in '## Goals' '## 1. Bulk throughput' '## 2. Request latency' '## 3. Connection setup' \
		'## 4. Scale' '## 5. CPU seconds per GiB' '## 6. XDP' '| socat |'; do
		grep -qF -- "$s" "$f" || t_fail "REPORT.md lacks '$s'"
	done
	if command -v gnuplot >/dev/null; then
		[[ -s $OUT/throughput.png ]] || t_fail "throughput.png missing"
		file "$OUT/throughput.png" 2>/dev/null | grep -q PNG || head -c 8 "$OUT/throughput.png" | grep -q PNG ||
			t_fail "throughput.png is not a PNG"
	fi
}

test_no_namespace_left()
{
	local run

	run=$(grep -o 'topology (run [0-9a-f]*)' "$T_DIR/bench.log" | awk '{ print $3 }' | tr -d ')')
	[[ -n $run ]] || t_fail "run id not in the log"
	! ip netns list | grep -q "^b$run-" || t_fail "namespaces b$run-* left behind"
}

# loadgen against a port nobody listens on must count errors, not invent answers.
test_loadgen_counts_errors()
{
	local ns out

	ns=$(t_netns lg)
	out=$(t_ns "$ns" "$T_BUILD/bench/loadgen" -t 127.0.0.1:9 -c 2 -r 200 -d 0.3)
	t_log "$out"
	jq -e '.requests == 0 and .errors > 0' <<<"$out" >/dev/null || t_fail "loadgen did not report errors"
}

t_test test_tiny_bench_run "bench/run.sh runs direct and socat in its tiny mode"
t_test test_results_json_parses "results.json parses and holds throughput, latency, scale, CPU, setup"
t_test test_report_has_sections "REPORT.md has every section and the plots exist"
t_test test_no_namespace_left "the bench removed its namespaces"
t_test test_loadgen_counts_errors "loadgen counts refused connections as errors"
t_done
