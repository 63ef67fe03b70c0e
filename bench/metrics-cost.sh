#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# metrics-cost.sh - what beamd's observability costs: tunnel throughput with
# the conns map, latency histograms and their 100 ms refresh (the default)
# against beamd --no-maps, in one run, alternating A B A B, same namespaces.
# Goal (issue 5): the updates cost at most 3% of tunnel throughput.
#
#   bench/metrics-cost.sh [OUT.json]   (ROUNDS=N, SECONDS_PER=N)
set -uo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
BENCH_BIN=$BUILD/bench
BEAM_BIN=$BUILD
OUT=${1:-$ROOT/bench/results/metrics.json}
ROUNDS=${ROUNDS:-6}
SECONDS_PER=${SECONDS_PER:-5}
# shellcheck source=lib.sh
source "$BENCH_DIR/lib.sh"
[[ $(id -u) -eq 0 ]] || { echo "metrics-cost: needs root (namespaces)" >&2; exit 1; }

b_topology || { b_log "could not build the namespaces"; exit 1; }
b_services_start || exit 1

# measure VARIANT: beamd with or without maps, one iperf3 stream through it;
# prints "GBIT_PER_S EDGE_CPU_S_PER_GIB".
measure() {
	local out bps bytes c0 c1

	if [[ $1 == off ]]; then B_BEAMD_EXTRA=--no-maps; else B_BEAMD_EXTRA=; fi
	b_beam_start sock 15000 4433 || return 1
	t_wait_for 15 b_port_open "$NS_CL" "$PUB_IPERF_HOST" "$PUB_IPERF_PORT" || {
		b_log "the tunnel did not come up: $(tail -n 3 "$T_DIR/beamd-sock.log" "$T_DIR/beam-sock-1.log" 2>&1 | tr '\n' ' ')"
		b_beam_stop sock
		return 1
	}
	c0=$(b_cpu_ticks "$NS_ED" beamd)
	out=$(timeout $((SECONDS_PER + 20)) nsenter --net="/run/netns/$NS_CL" iperf3 -c "$PUB_IPERF_HOST" \
		-p "$PUB_IPERF_PORT" -t "$SECONDS_PER" -J 2>&1)
	c1=$(b_cpu_ticks "$NS_ED" beamd)
	b_beam_stop sock
	bps=$(jq -r '.end.sum_received.bits_per_second // empty' <<<"$out" 2>/dev/null)
	bytes=$(jq -r '.end.sum_received.bytes // empty' <<<"$out" 2>/dev/null)
	[[ -n $bps && -n $bytes && $bytes != 0 ]] || return 1
	awk -v b="$bps" -v n="$bytes" -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" \
		'BEGIN { printf "%.3f %.3f\n", b / 1e9, c / hz / (n / 1073741824) }'
}

# Pairs, alternating which goes first; the ratio of each pair cancels what
# the shared machine did to both halves of it.
on=() off=() tput_ratios=() cpu_ratios=()
for ((r = 1; r <= ROUNDS; r++)); do
	order=(on off)
	((r % 2)) || order=(off on)
	declare -A m=()
	for v in "${order[@]}"; do
		m[$v]=$(measure "$v") || { b_log "round $r ($v) failed"; continue; }
		b_log "round $r: maps $v: ${m[$v]% *} Gbit/s, beamd ${m[$v]#* } CPU s/GiB"
	done
	[[ -n ${m[on]:-} && -n ${m[off]:-} ]] || continue
	on+=("${m[on]% *}") off+=("${m[off]% *}")
	tput_ratios+=("$(awk -v a="${m[on]% *}" -v b="${m[off]% *}" 'BEGIN { printf "%.3f", a / b }')")
	cpu_ratios+=("$(awk -v a="${m[on]#* }" -v b="${m[off]#* }" 'BEGIN { printf "%.3f", a / b }')")
	unset m
done
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
[[ ${#tput_ratios[@]} -gt 0 ]] || { b_log "no measurement"; exit 1; }
ratio=$(median "${tput_ratios[@]}") cpu=$(median "${cpu_ratios[@]}")
met=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.97) ? "true" : "false" }')
mkdir -p "$(dirname "$OUT")"
json() { local IFS=,; echo "[$*]"; }
jq -n --argjson on "$(json "${on[@]}")" --argjson off "$(json "${off[@]}")" \
	--argjson tr "$(json "${tput_ratios[@]}")" --argjson cr "$(json "${cpu_ratios[@]}")" \
	--argjson ratio "$ratio" --argjson cpu "$cpu" --argjson met "$met" \
	'{test: "metrics-cost", unit: "Gbit/s", maps_on: $on, maps_off: $off,
	  pair_ratios: $tr, cpu_per_gib_pair_ratios: $cr, ratio_on_to_off: $ratio,
	  cpu_per_gib_on_to_off: $cpu, goal: "throughput >= 0.97", met: $met}' >"$OUT"
printf 'throughput maps on/off, median of %d pairs: %s (pairs %s; goal >= 0.97): %s\n' \
	"${#tput_ratios[@]}" "$ratio" "${tput_ratios[*]}" "$([[ $met == true ]] && echo MET || echo NOT MET)"
printf 'beamd CPU s per GiB, maps on/off: %s (pairs %s)\n' "$cpu" "${cpu_ratios[*]}"
