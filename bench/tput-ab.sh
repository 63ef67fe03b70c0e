#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tput-ab.sh - the throughput goals of one tunnel, fast enough to iterate on:
# iperf3 1 and 8 streams, up and down, through ssh -R (aes128-gcm) and beam,
# and optionally through a second beam build (REF=dir holding its beamd and
# beam) so a change is measured against its parent in the same run. Subjects
# alternate (A B A B, the order rotated each round); CPU seconds per GiB are
# utime+stime of the edge and agent processes during each iperf3 run.
#
#   sudo bench/tput-ab.sh [SECONDS] [ROUNDS]        REF=/tmp/ref-build  OUT=dir
#
# PERF=dir records `perf record -g` of beamd and the beam agents during each
# of beam's runs (PERF_SUBJECT=beam-xdp: of that subject's) into dir/TEST-ROUND.data
# for `perf report`; with PERF_TRACE=1,
# `perf trace -s` syscall counts instead (dir/TEST-ROUND.trace).
#
# Prints per test the median Gbit/s and CPU s/GiB of each subject and the
# ratios the goals of issues #4/#8 name. Not a replacement for `make bench`.
# TESTS may also name ka50-64k and ka1-small (keep-alive requests through the
# tunnel, see sample_requests): their columns are req/s and p99 ms.
set -uo pipefail

# shellcheck source=paths.sh
source "$(dirname "$0")/paths.sh"
SECS=${1:-3}
ROUNDS=${2:-3}
REF=${REF:-}
OUT=${OUT:-$(mktemp -d /tmp/beam-ab.XXXX)}
SUBJECTS=${SUBJECTS:-ssh-aes beam${REF:+ beam-ref}}
TESTS=${TESTS:-1-up 1-down 8-up 8-down}

[[ $(id -u) -eq 0 ]] || { echo "tput-ab: needs root (network namespaces)" >&2; exit 1; }
for t in ip nsenter iperf3 nginx jq; do
	command -v "$t" >/dev/null || { echo "tput-ab: $t missing" >&2; exit 1; }
done
[[ -z $REF || (-x $REF/beamd && -x $REF/beam) ]] || { echo "tput-ab: no beamd/beam in $REF" >&2; exit 1; }

source "$BENCH_DIR/lib.sh"

CLK_TCK=$(getconf CLK_TCK)
mkdir -p "$OUT"
RAW=$OUT/samples.txt
: >"$RAW"
REP=0

# the reference build: same topology, its own ports and names
sub_beam-ref_start() {
	local keep=$BEAM_BIN

	BEAM_BIN=$REF
	b_beam_start ref 16000 4434
	BEAM_BIN=$keep
}
sub_beam-ref_stop() { b_beam_stop ref; }

# udp_drops: datagrams the edge's and the private machine's UDP sockets dropped
# for a full receive buffer (QUIC losses that no link caused).
udp_drops() {
	local ns sum=0 v

	for ns in "$NS_ED" "$NS_PV"; do
		v=$(b_ns "$ns" awk '$1 == "Udp:" && $2 ~ /^[0-9]/ { print $6 }' /proc/net/snmp)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

# sample SUBJECT TEST: one iperf3 run; appends "subject test gbps cpu_s_per_gib udp_rcvbuf_drops".
sample() {
	local s=$1 test=$2 p=${2%-*} dir=${2#*-} args out e0 e1 a0 a1 d0 d1 bps bytes pids cg perf_pid=

	if [[ $test == ka* ]]; then
		sample_requests "$s" "$test"
		return
	fi
	args=(-c "$PUB_IPERF_HOST" -p "$PUB_IPERF_PORT" -t "$SECS" -P "$p" -J --connect-timeout 3000)
	[[ $dir == down ]] && args+=(-R)
	e0=$(b_cpu_ticks "$NS_ED" "$EDGE_COMM") a0=$(b_cpu_ticks "$NS_PV" "$AGENT_COMM")
	d0=$(udp_drops)
	if [[ -n ${PERF:-} && $s == "${PERF_SUBJECT:-beam}" ]]; then
		pids=$({ b_procs "$NS_ED" "$EDGE_COMM"; b_procs "$NS_PV" "$AGENT_COMM"; } | paste -sd,)
		read -ra cg <<<"${PERF_CG:--g}"
		mkdir -p "$PERF"
		if [[ -n ${PERF_TRACE:-} ]]; then
			perf trace -s -o "$PERF/$test-$REP.trace" -p "$pids" \
				-- sleep "$SECS" >/dev/null 2>&1 &
		else
			perf record -q "${cg[@]}" -o "$PERF/$test-$REP.data" -p "$pids" \
				-- sleep "$SECS" >/dev/null 2>&1 &
		fi
		perf_pid=$!
	fi
	out=$(timeout $((SECS + 20)) nsenter --net="/run/netns/$NS_CL" iperf3 "${args[@]}" 2>&1)
	e1=$(b_cpu_ticks "$NS_ED" "$EDGE_COMM") a1=$(b_cpu_ticks "$NS_PV" "$AGENT_COMM")
	[[ -n $perf_pid ]] && wait "$perf_pid"
	d1=$(udp_drops)
	bps=$(jq -r '.end.sum_received.bits_per_second // empty' <<<"$out" 2>/dev/null)
	bytes=$(jq -r '.end.sum_received.bytes // empty' <<<"$out" 2>/dev/null)
	if [[ -z $bps || -z $bytes || $bytes == 0 ]]; then
		b_log "$s $test: iperf3 failed: $(jq -r '.error // empty' <<<"$out" 2>/dev/null | head -c 200)"
		return 1
	fi
	awk -v s="$s" -v t="$test" -v bps="$bps" -v by="$bytes" -v ticks=$((e1 - e0 + a1 - a0)) \
		-v hz="$CLK_TCK" -v drops=$((d1 - d0)) 'BEGIN { printf "%s %s %.3f %.3f %d\n", s, t,
			bps / 1e9, ticks / hz / (by / 1073741824), drops }' | tee -a "$RAW" >&2
}

# sample_requests SUBJECT TEST: keep-alive HTTP through the tunnel (bench/loadgen
# against nginx): ka50-64k is 50 connections at saturation fetching 64 KiB,
# ka1-small one connection at 1000 req/s fetching 100 bytes. Appends
# "subject test req_per_s p99_ms errors".
sample_requests() {
	local s=$1 test=$2 args out

	case $test in
	ka50-64k) args=(-p /64k -c 50 -r 0) ;;
	ka1-small) args=(-p /small -c 1 -r 1000) ;;
	*) b_log "unknown test $test"; return 1 ;;
	esac
	out=$(timeout $((SECS + 20)) nsenter --net="/run/netns/$NS_CL" "$BENCH_BIN/loadgen" \
		-t "$PUB_HTTP" -d "$SECS" -T 5000 "${args[@]}" 2>&1 | tail -1)
	jq -e .requests <<<"$out" >/dev/null 2>&1 || { b_log "$s $test: loadgen failed: ${out:0:200}"; return 1; }
	jq -r --arg s "$s" --arg t "$test" '"\($s) \($t) \(.rps) \(.lat_ms.p99) \(.errors + .timeouts)"' \
		<<<"$out" | tee -a "$RAW" >&2
}

up() {
	"sub_$1_start" || return 1
	t_wait_for 15 b_port_open "$NS_CL" "$PUB_IPERF_HOST" "$PUB_IPERF_PORT" &&
		t_wait_for 15 b_port_open "$NS_CL" "${PUB_HTTP%:*}" "${PUB_HTTP#*:}"
}

main() {
	local s t rep i order subj

	read -ra subj <<<"$SUBJECTS"
	b_log "topology (run $T_RUN), ${SECS}s per test, $ROUNDS rounds, load $(cut -d' ' -f1-3 /proc/loadavg)"
	b_topology || exit 1
	b_bg "$NS_PV" iperf3 iperf3 -s -p "$B_IPERF_PORT" --idle-timeout 60
	t_wait_for 5 b_port_open "$NS_PV" 127.0.0.1 "$B_IPERF_PORT" || exit 1
	[[ " $TESTS " == *" ka"* ]] && { b_nginx_start || exit 1; }
	[[ " $SUBJECTS " == *" ssh-"* ]] && { b_sshd_start || exit 1; }
	for ((rep = 1; rep <= ROUNDS; rep++)); do
		REP=$rep
		for t in $TESTS; do
			order=()
			for ((i = 0; i < ${#subj[@]}; i++)); do
				order+=("${subj[(i + rep - 1) % ${#subj[@]}]}")
			done
			for s in "${order[@]}"; do
				up "$s" || { b_log "$s did not come up"; "sub_${s}_stop"; continue; }
				sample "$s" "$t"
				"sub_${s}_stop"
			done
		done
	done
	report
}

# median of the values on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

report() {
	local t s g c cs r g1 g8 d line

	echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg); samples in $RAW"
	printf '%-8s' test
	for s in $SUBJECTS; do printf ' %18s' "$s Gb/s cpu/GiB"; done
	echo
	for t in $TESTS; do
		line=$(printf '%-8s' "$t")
		for s in $SUBJECTS; do
			g=$(awk -v s="$s" -v t="$t" '$1 == s && $2 == t { print $3 }' "$RAW" | median)
			c=$(awk -v s="$s" -v t="$t" '$1 == s && $2 == t { print $4 }' "$RAW" | median)
			line+=$(printf ' %10s %7s' "$g" "$c")
			eval "G_${s//-/_}_${t//-/_}=$g C_${s//-/_}_${t//-/_}=$c"
		done
		echo "$line"
	done
	echo "ratios (medians): beam/ssh throughput, beam/ssh cpu per GiB${REF:+, beam/beam-ref throughput}"
	for t in $TESTS; do
		local k=${t//-/_}
		eval "g=\${G_beam_$k:-} s=\${G_ssh_aes_$k:-} c=\${C_beam_$k:-} cs=\${C_ssh_aes_$k:-} r=\${G_beam_ref_$k:-}"
		awk -v t="$t" -v g="$g" -v s="$s" -v c="$c" -v cs="$cs" -v r="$r" 'BEGIN {
			printf "%-8s tput %s  cpu %s", t, (s > 0 ? sprintf("%.2fx", g / s) : "-"),
				(cs > 0 ? sprintf("%.2fx", c / cs) : "-");
			if (r > 0) printf "  vs ref %.2fx", g / r;
			printf "\n" }'
	done
	for d in up down; do
		eval "g1=\${G_beam_1_$d:-} g8=\${G_beam_8_$d:-}"
		awk -v d="$d" -v a="$g1" -v b="$g8" 'BEGIN { if (a > 0 && b > 0) printf "beam 8 streams / 1 stream %s: %.2fx\n", d, b / a }'
	done
}

main
