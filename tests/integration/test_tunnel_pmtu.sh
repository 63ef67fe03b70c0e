#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_tunnel_pmtu.sh - a path MTU black hole under a live tunnel (user/pmtu.h):
# mid-transfer, both ends of the edge-agent link start dropping IP packets
# longer than 1300 bytes without a word (no ICMP). Full-size QUIC packets
# (1472 bytes of UDP payload after path MTU discovery) vanish; both sides
# must fall back to 1200-byte packets and finish the transfer on the same
# connection: no reconnect, SHA-256 equal, the fallback logged and counted.
# A udp tunnel (datagrams only) gets the same fallback from beamd, and none on
# a clean path carrying datagrams of mixed sizes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tunnel_lib.sh"
source "$(dirname "$0")/faults_lib.sh"
t_require_root
t_require_tools python3 curl socat openssl sha256sum
[[ -x $IMPAIR ]] || t_skip_all "tools/impair not built"

METRICS=127.0.0.1:9464
tun_topo 4 || t_setup_fail "could not build the namespaces"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=beamd \
	-keyout "$T_DIR/key.pem" -out "$T_DIR/cert.pem" >/dev/null 2>&1 ||
	t_setup_fail "openssl could not make a certificate"
tun_edge --metrics "$METRICS" --cert "$T_DIR/cert.pem" --key "$T_DIR/key.pem" ||
	t_setup_fail "beamd did not start"

# black_hole LEN: drop IP packets longer than LEN on both ends of the edge-agent link
black_hole() {
	t_defer "nsenter --net=/run/netns/$EDGE $IMPAIR detach eth1; nsenter --net=/run/netns/$AGENT $IMPAIR detach eth0"
	t_ns "$EDGE" "$IMPAIR" attach eth1 --max-len "$1" &&
		t_ns "$AGENT" "$IMPAIR" attach eth0 --max-len "$1"
}
too_big() { t_ns "$1" "$IMPAIR" stats "$2" | awk '$1 == "too_big" { print $2 }'; }
disconnects() {
	tun_scrape | awk '$1 ~ /^beam_agent_disconnects_total/ { n += $2 } END { print n + 0 }'
}

# echo_run: $F_FILE (fault_file) through the echo tunnel and back (both
# directions busy at once); sets F_GOT (SHA-256 of what came back), F_BYTES, F_MS
echo_run() {
	local t0

	t0=$(now_ms)
	t_ns "$CLI" timeout 120 socat -t 60 -T 60 - TCP:"$EDGE_PUB_URL":"$PUB_PORT" <"$F_FILE" |
		tee >(wc -c >"$T_DIR/echo.bytes") | sha256sum | cut -d' ' -f1 >"$T_DIR/echo.sha"
	F_MS=$(($(now_ms) - t0))
	sleep 0.1
	F_GOT=$(cat "$T_DIR/echo.sha")
	F_BYTES=$(cat "$T_DIR/echo.bytes")
}

# A udp tunnel carries datagrams only (no stream data to prove the path by):
# full-size ones are proven by their acknowledgements. On a clean path, a mix
# of sizes never looks like a black hole; in one, beamd falls back, the small
# datagrams keep flowing, and the big ones are dropped where they enter.
test_pmtu_udp_tunnel() {
	local out sb gb ss gs holes0 holes too_big0 too_big

	t_bg "$AGENT" udp-echo python3 "$T_ROOT/tests/integration/helpers/http_svc.py" udp-echo 9202
	tun_agent_kind udp agent-u 9202 || t_fail "the udp agent did not come up"
	out=$(t_ns "$CLI" python3 "$T_ROOT/tests/integration/helpers/http_svc.py" udp-mix \
		"$EDGE_PUB" "$PUB_PORT" 3 1380 200 200)
	t_log "clean path: $out"
	read -r _ sb gb _ ss gs <<<"$out"
	((gb * 10 >= sb * 9 && gs * 10 >= ss * 9)) || t_fail "answers missing on a clean path: $out"
	! grep -q 'path MTU black hole' "$T_DIR/agent-u.log" "$T_DIR/edge.log" ||
		t_fail "a black hole seen on a clean path: $(grep -h 'path MTU' "$T_DIR/agent-u.log" "$T_DIR/edge.log")"
	holes0=$(tun_metric beam_pmtu_black_holes_total)
	too_big0=$(tun_metric 'beam_udp_dropped_total{reason="too_big"}')
	(sleep 1 && black_hole 1300) &
	out=$(t_ns "$CLI" python3 "$T_ROOT/tests/integration/helpers/http_svc.py" udp-mix \
		"$EDGE_PUB" "$PUB_PORT" 5 1380 200 200)
	wait $! || t_fail "the black hole did not start"
	t_log "black hole after 1 s: $out"
	grep -h 'path MTU' "$T_DIR/agent-u.log" "$T_DIR/edge.log" | sed 's/^/# /'
	read -r _ sb gb _ ss gs <<<"$out"
	((gs * 10 >= ss * 7)) || t_fail "small datagrams stopped in the black hole: $out"
	((gb * 10 < sb * 4)) || t_fail "big datagrams got through a 1300-byte path: $out"
	# only beamd sends big datagrams into the hole: the agent answers what
	# reaches it, and no big one does
	grep -q 'path MTU black hole on .*: sending 1200-byte packets' "$T_DIR/edge.log" ||
		t_fail "no fallback logged by beamd"
	holes=$(tun_metric beam_pmtu_black_holes_total)
	((holes > holes0)) || t_fail "beam_pmtu_black_holes_total stayed at $holes"
	too_big=$(tun_metric 'beam_udp_dropped_total{reason="too_big"}')
	t_log "black holes $holes0 -> $holes; big datagrams dropped at the edge $too_big0 -> $too_big"
	((too_big > too_big0)) || t_fail "no big datagram counted as too big at the edge"
	[[ $(grep -c 'tunnel up' "$T_DIR/agent-u.log") -eq 1 ]] || t_fail "the agent reconnected"
	t_ns "$EDGE" "$IMPAIR" detach eth1
	t_ns "$AGENT" "$IMPAIR" detach eth0
	kill "$(tun_pid agent-u)" "$(tun_pid udp-echo)"
}

test_pmtu_black_hole_mid_transfer() {
	local mib=256 t0 t_agent t_edge end n_agent n_edge holes hole run disc0

	t_bg "$AGENT" echo-svc python3 "$T_ROOT/tests/integration/helpers/tunnel_svc.py" \
		echo-server 9201
	t_wait_for 10 t_ns "$AGENT" bash -c "exec 3<>/dev/tcp/127.0.0.1/9201"
	tun_agent agent-m 9201
	disc0=$(disconnects) # earlier tests' agents went away

	fault_file 8
	echo_run
	[[ $F_GOT == "$F_SHA" ]] || t_fail "echo before the black hole: sha256 differs"
	t_log "before: 8 MiB each way in $F_MS ms, $(mbps $((2 * F_BYTES)) "$F_MS") Mbit/s both ways"
	fault_file "$mib"
	(
		sleep 0.3
		black_hole 1300
		now_ms >"$T_DIR/hole.ms"
	) &
	hole=$!
	(
		echo_run
		echo "$F_MS" >"$T_DIR/echo.ms"
	) &
	run=$!
	t_wait_for 10 test -s "$T_DIR/hole.ms" || t_fail "the black hole did not start"
	t0=$(cat "$T_DIR/hole.ms")
	t_wait_for 15 grep -q 'path MTU black hole on' "$T_DIR/agent-m.log" || true
	t_agent=$(($(now_ms) - t0))
	t_wait_for 15 grep -q 'path MTU black hole on' "$T_DIR/edge.log" || true
	t_edge=$(($(now_ms) - t0))
	wait "$hole" "$run"
	end=$(now_ms)
	F_GOT=$(cat "$T_DIR/echo.sha")
	F_BYTES=$(cat "$T_DIR/echo.bytes")
	F_MS=$(cat "$T_DIR/echo.ms")
	n_agent=$(too_big "$AGENT" eth0)
	n_edge=$(too_big "$EDGE" eth1)
	t_log "black hole from $((t0 - end + F_MS)) ms into the transfer: agent fell back after" \
		"<= ${t_agent} ms, edge after <= ${t_edge} ms; $F_BYTES of $((mib << 20)) bytes back" \
		"in $F_MS ms; dropped: agent $n_agent, edge $n_edge"
	grep -h 'path MTU' "$T_DIR/agent-m.log" "$T_DIR/edge.log" | sed 's/^/# /'
	((t0 + t_agent < end && t0 + t_edge < end)) || t_fail "the transfer ended before the fallbacks"
	((n_agent > 0 && n_edge > 0)) || t_fail "the black hole dropped nothing: agent $n_agent, edge $n_edge"
	[[ $F_GOT == "$F_SHA" ]] ||
		t_fail "sha256 $F_GOT, want $F_SHA ($F_BYTES of $((mib << 20)) bytes)"
	[[ $(grep -c 'tunnel up' "$T_DIR/agent-m.log") -eq 1 ]] ||
		t_fail "the agent reconnected: $(grep -v 'path MTU' "$T_DIR/agent-m.log" | tail -3)"
	! grep -q 'connection to the edge lost' "$T_DIR/agent-m.log" || t_fail "the agent lost the edge"
	[[ $(disconnects) -eq $disc0 ]] || t_fail "beamd counted $(($(disconnects) - disc0)) agent disconnects"
	grep -q 'path MTU black hole on .*: sending 1200-byte packets (was 1472)' "$T_DIR/agent-m.log" ||
		t_fail "no fallback logged by the agent"
	grep -q 'path MTU black hole on .*: sending 1200-byte packets (was 1472)' "$T_DIR/edge.log" ||
		t_fail "no fallback logged by beamd"
	holes=$(tun_metric beam_pmtu_black_holes_total)
	[[ $holes -ge 1 ]] || t_fail "beam_pmtu_black_holes_total is '$holes'"

	# still in the black hole, within the hold: 1200-byte packets carry it all
	fault_file 16
	echo_run
	[[ $F_GOT == "$F_SHA" ]] || t_fail "echo after the fallback: sha256 differs ($F_BYTES of $((16 << 20)) bytes back in $F_MS ms)"
	t_log "after: 16 MiB each way in $F_MS ms, $(mbps $((2 * F_BYTES)) "$F_MS") Mbit/s both ways"
	[[ $(grep -c 'tunnel up' "$T_DIR/agent-m.log") -eq 1 ]] || t_fail "the agent reconnected"
	kill "$(tun_pid agent-m)" "$(tun_pid echo-svc)"
}

t_test test_pmtu_udp_tunnel "udp tunnel: no black hole on a clean path; in one, beamd falls back, small datagrams flow"
t_test test_pmtu_black_hole_mid_transfer "MTU falls to 1300 mid-transfer, no ICMP: same connection, 1200-byte packets, SHA-256 equal"
t_done
