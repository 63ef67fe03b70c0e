#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_flood.sh - an Initial flood at the edge while a real transfer runs.
# A flood namespace with 200 source addresses sends real client Initials
# (tools/initial-flood) at beamd's QUIC port through its own link to the edge,
# which has beam's XDP program attached: XDP drops what is over each source's
# Initial rate, beamd switches to Retry address validation past its threshold
# (a log line and beam_quic_retry_active), and a download through the tunnel
# keeps >= 80% of its throughput: the median over paired rounds, each a
# download alone and one under the flood, back to back in this same run.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tunnel_lib.sh"
source "$(dirname "$0")/faults_lib.sh"
t_require_root
t_require_tools python3 curl socat sha256sum

METRICS=127.0.0.1:9464
ROUNDS=${FLOOD_ROUNDS:-5}
FLOOD_PPS=${FLOOD_PPS:-10000}
tun_topo 4 || t_setup_fail "could not build the namespaces"
FLOOD=$(t_netns flood) || t_setup_fail "no flood namespace"
t_veth eth2 "$EDGE" eth0 "$FLOOD" || t_setup_fail "no flood link"
ip -n "$EDGE" addr add 10.77.3.1/24 dev eth2
SRCS=()
for i in $(seq 10 209); do
	ip -n "$FLOOD" addr add "10.77.3.$i/24" dev eth0
	SRCS+=("10.77.3.$i")
done
ip -n "$FLOOD" route add 10.77.2.0/24 via 10.77.3.1
# an agent needs an Initial or two per connect: 10/s per source is plenty
t_ns "$EDGE" beam-xdp attach eth2 --mode generic --port 4433 --initial-rate 10 >/dev/null || t_setup_fail "beam-xdp attach failed"
t_defer "nsenter --net=/run/netns/$EDGE $T_BUILD/beam-xdp detach eth2"
tun_edge --metrics "$METRICS" --retry-above 64 || t_setup_fail "beamd did not start"
fault_file 100
fault_file_service agent-f 9401 || t_setup_fail "no tunnel"

xdp_count() { t_ns "$EDGE" beam-xdp stats eth2 | awk -v r="$1" '$1 == r { print $3 }'; }
metric() { tun_metric "$1"; }

retry_active() { [[ $(metric beam_quic_retry_active) == 1 ]]; }
retry_inactive() { [[ $(metric beam_quic_retry_active) == 0 ]]; }

# one download through the tunnel, SHA-256 checked: its Mbit/s
dl_mbps() {
	fault_download "$PUB_PORT" 60
	[[ $F_GOT == "$F_SHA" ]] || t_fail "download: sha256 differs"
	mbps "$F_BYTES" "$F_MS"
}

# flood_on N / flood_off N: flooder N sends until it is stopped
flood_on() {
	t_bg "$FLOOD" "flooder-$1" "$T_BUILD/tools/initial-flood" "$EDGE_AGENT" 4433 300 \
		"$FLOOD_PPS" "${SRCS[@]}"
	t_wait_for 30 grep -q ready "$T_DIR/flooder-$1.log" || t_fail "flooder $1 did not start"
	sleep 1 # the flood's handshakes pile up: Retry switches on
	! retry_active || active=1
}

flood_off() {
	local pid

	pid=$(tun_pid "flooder-$1")
	kill "$pid"
	t_wait_for 10 bash -c "! kill -0 $pid 2>/dev/null" || t_fail "flooder $1 did not stop"
}

# Paired rounds, the order alternating (alone then flooded, flooded then alone):
# each pair's two downloads see the same machine, whatever else runs on it, and
# the median of the pairs' ratios is what must stay >= 0.8.
test_flood_initials_dropped_retry_on_throughput_kept() {
	local r alone flooded ratios=() ratio rate0 rate1 retries
	active=0

	rate0=$(xdp_count initial_rate)
	for ((r = 1; r <= ROUNDS; r++)); do
		if ((r % 2)); then
			alone=$(dl_mbps)
			flood_on "$r"
			flooded=$(dl_mbps)
			flood_off "$r"
		else
			flood_on "$r"
			flooded=$(dl_mbps)
			flood_off "$r"
			alone=$(dl_mbps)
		fi
		ratios+=("$(awk -v a="$flooded" -v b="$alone" 'BEGIN { printf "%.2f", b ? a / b : 0 }')")
		t_log "round $r: $alone Mbit/s alone, $flooded Mbit/s under the flood: ratio ${ratios[-1]}"
	done
	ratio=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	rate1=$(xdp_count initial_rate)
	retries=$(metric beam_quic_retries_total)
	t_log "flood: $FLOOD_PPS/s from ${#SRCS[@]} sources in $ROUNDS rounds; XDP initial_rate drops $((rate1 - rate0)); Retries $retries; retry active during the flood: $active"
	t_log "throughput ratios ${ratios[*]}: median $ratio"
	fault_row "Initial flood ($FLOOD_PPS/s)" "$ROUNDS" $((2 * ROUNDS * 100 << 20)) 0 \
		"median throughput ratio $ratio (${ratios[*]})"
	[[ -z ${FAULT_KEEP:-} ]] || cp "$T_DIR"/*.log "$T_DIR"/scrape.txt "$FAULT_KEEP"/
	((rate1 > rate0)) || t_fail "XDP dropped nothing over the Initial rate"
	grep -q 'new clients must pass a Retry first' "$T_DIR/edge.log" || t_fail "beamd did not switch to Retry"
	[[ $active == 1 ]] || t_fail "beam_quic_retry_active was $active during the flood"
	((retries > 0)) || t_fail "no Retry sent"
	# on the ASan+UBSan build the flooder and beamd cost twice the CPU: the ratio
	# measures the sanitizers there, not beam
	[[ $T_BUILD == */san ]] || awk -v r="$ratio" 'BEGIN { exit !(r >= 0.8) }' ||
		t_fail "throughput under the flood fell to $ratio of its own (median of ${ratios[*]})"
	# the flood's handshakes time out (10 s): Retry goes off again, and says so
	t_wait_for 30 retry_inactive || t_fail "Retry stayed on after the flood"
	grep -q 'Retry for new clients off again' "$T_DIR/edge.log" || t_fail "no log line for Retry off"
}

t_test test_flood_initials_dropped_retry_on_throughput_kept "XDP drops, Retry switches on, >= 80% throughput kept"
t_done
