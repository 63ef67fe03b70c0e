#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# workers.sh - beamd --workers 1 against --workers 2 in one run, interleaved
# (1 2 2 1 1 2 ...): QUIC handshakes per second from one client process
# (bench/hs-load, 32 at a time), how fast K agent processes register (each
# a full QUIC + TLS 1.3 handshake and a REGISTER; process start-up counts
# too), and requests per second over 50 keep-alive
# connections spread over 4 tunnels (4 agents: a tunnel is driven by the one
# worker that owns its agent's connection, so one tunnel cannot use two).
#
#   sudo bench/workers.sh [ROUNDS] [K]          OUT=dir (logs), SECS=5
#
# Prints each measurement, then the medians and the ratio 2 workers / 1.
# On this 2-core machine the agents, nginx and the load generator share the
# two cores with beamd: the ratio is what a second worker buys here, not
# what it buys on an edge with cores of its own.
set -uo pipefail

# shellcheck source=paths.sh
source "$(dirname "$0")/paths.sh"
ROUNDS=${1:-3}
K=${2:-60}
SECS=${SECS:-5}
NTUN=4
OUT=${OUT:-$(mktemp -d /tmp/beam-workers.XXXX)}
mkdir -p "$OUT"

[[ $(id -u) -eq 0 ]] || { echo "workers: needs root (network namespaces)" >&2; exit 1; }
for t in ip nsenter nginx jq; do
	command -v "$t" >/dev/null || { echo "workers: $t missing" >&2; exit 1; }
done
source "$BENCH_DIR/lib.sh"

b_topology || { b_log "could not build the namespaces"; exit 1; }
b_nginx_start || exit 1
TOKENS=$T_DIR/tokens
TOKEN=bench-$T_RUN-$RANDOM$RANDOM
echo "bench $TOKEN" >"$TOKENS"
chmod 600 "$TOKENS"

# edge_start W: beamd with W workers; sets FP
edge_start() {
	rm -f "$T_DIR/beamd.log"
	b_bg "$NS_ED" beamd "$BEAM_BIN/beamd" --listen "$B_EDGE_PRIV:4433" --tokens "$TOKENS" \
		--workers "$1" --limit conns-per-token=1000 --limit tunnels-per-token=1000
	t_wait_for 10 grep -q 'listening for agents' "$T_DIR/beamd.log" ||
		{ b_log "beamd did not start"; cat "$T_DIR/beamd.log" >&2; return 1; }
	FP=$(grep -o 'SHA256:[0-9a-f]*' "$T_DIR/beamd.log" | head -1)
}

# handshakes: K agents at once; prints agents registered per second
handshakes() {
	local i t0 t1 up=0 deadline=$((SECONDS + 30))

	rm -f "$T_DIR"/hs-*.log
	t0=$(b_now_us)
	for ((i = 0; i < K; i++)); do
		b_bg "$NS_PV" hs-$i env BEAM_TOKEN="$TOKEN" "$BEAM_BIN/beam" tcp \
			"127.0.0.1:$B_HTTP_PORT" --edge "$B_EDGE_PRIV:4433" --pin "$FP" --name "hs$i"
	done
	while ((SECONDS < deadline)); do
		up=$(grep -l 'tunnel up' "$T_DIR"/hs-*.log 2>/dev/null | wc -l)
		((up >= K)) && break
		sleep 0.01
	done
	t1=$(b_now_us)
	for ((i = 0; i < K; i++)); do
		b_stop hs-$i
	done
	((up >= K)) || { b_log "only $up of $K agents came up"; return 1; }
	awk -v k="$K" -v us=$((t1 - t0)) 'BEGIN { printf "%.1f\n", k / (us / 1e6) }'
}

# rps: NTUN agents, 50 keep-alive connections over their tunnels; prints req/s
rps() {
	local i per=$((50 / NTUN)) extra=$((50 % NTUN)) c total=0 port

	for ((i = 0; i < NTUN; i++)); do
		b_bg "$NS_PV" rq-$i env BEAM_TOKEN="$TOKEN" "$BEAM_BIN/beam" tcp \
			"127.0.0.1:$B_HTTP_PORT" --edge "$B_EDGE_PRIV:4433" --pin "$FP" --name "rq$i" \
			--remote-port $((20000 + i))
	done
	for ((i = 0; i < NTUN; i++)); do
		t_wait_for 10 grep -q 'tunnel up' "$T_DIR/rq-$i.log" || { b_log "agent rq$i"; return 1; }
	done
	for ((i = 0; i < NTUN; i++)); do
		c=$per
		((i < extra)) && c=$((c + 1))
		port=$((20000 + i))
		b_ns "$NS_CL" "$BENCH_BIN/loadgen" -t "$B_EDGE_PUB:$port" -p /small -c "$c" -r 0 \
			-d "$SECS" >"$T_DIR/lg-$i.json" 2>"$T_DIR/lg-$i.err" &
	done
	wait
	for ((i = 0; i < NTUN; i++)); do
		total=$(jq -r --argjson t "$total" '$t + .rps' "$T_DIR/lg-$i.json") || return 1
		b_stop rq-$i
	done
	printf '%.0f\n' "$total"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for ((r = 1; r <= ROUNDS; r++)); do
	order="1 2"
	((r % 2 == 0)) && order="2 1"
	for w in $order; do
		edge_start "$w" || exit 1
		hl=$(b_ns "$NS_PV" "$BENCH_BIN/hs-load" -t "$B_EDGE_PRIV:4433" -c 32 -d "$SECS" |
			jq -r .per_s) || hl=
		hs=$(handshakes) || hs=
		rq=$(rps) || rq=
		cp "$T_DIR/beamd.log" "$OUT/beamd-w$w-r$r.log"
		b_stop beamd
		b_log "round $r, $w worker(s): $hl handshakes/s, $hs agents registered/s, $rq req/s"
		[[ -n $hl ]] && echo "$hl" >>"$OUT/hsl-$w"
		[[ -n $hs ]] && echo "$hs" >>"$OUT/hs-$w"
		[[ -n $rq ]] && echo "$rq" >>"$OUT/rps-$w"
	done
done
for m in hsl hs rps; do
	a=$(median <"$OUT/$m-1" 2>/dev/null)
	b=$(median <"$OUT/$m-2" 2>/dev/null)
	[[ -n $a && -n $b ]] || continue
	awk -v m="$m" -v a="$a" -v b="$b" 'BEGIN {
		printf "%-4s median: 1 worker %.1f, 2 workers %.1f, ratio %.2f\n", m, a, b, b / a }'
done
echo "logs in $OUT"
