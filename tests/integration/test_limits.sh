#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_limits.sh - each limit of beamd (--limit) refuses the newest comer,
# counts it in beam_limit_hits_total{limit=...}, logs it, and leaves what it
# had admitted working: connections and tunnels per token, streams per tunnel,
# public connections per source address, memory for stream buffers.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tunnel_lib.sh"
source "$(dirname "$0")/faults_lib.sh"
t_require_root
t_require_tools python3 curl

METRICS=127.0.0.1:9464
ECHO="python3 $T_ROOT/tests/integration/helpers/tunnel_svc.py echo-server"
tun_topo 4 || t_setup_fail "could not build the namespaces"
tun_edge --metrics "$METRICS" --limit conns-per-token=2 --limit tunnels-per-token=1 \
	--limit streams-per-tunnel=3 --limit conns-per-source=5 || t_setup_fail "beamd did not start"
t_bg "$AGENT" echo-svc $ECHO 9301
t_wait_for 10 t_ns "$AGENT" bash -c "exec 3<>/dev/tcp/127.0.0.1/9301" || t_setup_fail "no echo service"
tun_agent agent-a 9301 --name a || t_setup_fail "the first agent did not come up"
A_PORT=$PUB_PORT

hits() { tun_metric "beam_limit_hits_total{limit=\"$1\"}"; }
buffers_below() { (($(tun_metric beam_stream_buffer_bytes) < $1)); }

hits_ge() { (($(hits "$1") >= $2)); }

# conns HOLDER PORT N EXTRA: start a holder of N echo connections, wait for its verdict
conns() {
	t_bg "$CLI" "$1" $FAULT_SVC conns "$EDGE_PUB" "$2" "$3" "$4"
	t_wait_for 20 grep -qE '^(ok|conn)' "$T_DIR/$1.log" || t_fail "$1: no verdict"
	grep -q '^ok$' "$T_DIR/$1.log" || t_fail "$1: $(cat "$T_DIR/$1.log")"
}

test_limit_tunnels_and_conns_per_token() {
	# a second connection with alice's token is fine, a second tunnel is not
	BEAM_TOKEN=$TUN_TOKEN t_bg "$AGENT" agent-b beam tcp 9301 --name b \
		--edge "$EDGE_AGENT_HP:4433" --pin "$FP"
	t_wait_for 10 grep -q 'too many tunnels for this token' "$T_DIR/agent-b.log" ||
		t_fail "agent b: $(cat "$T_DIR/agent-b.log")"
	! grep -q 'tunnel up' "$T_DIR/agent-b.log" || t_fail "agent b got a tunnel"
	t_wait_for 3 hits_ge tunnels_per_token 1 || t_fail "no tunnels_per_token hit counted"
	# a third connection is refused outright
	BEAM_TOKEN=$TUN_TOKEN t_bg "$AGENT" agent-c beam tcp 9301 --name c \
		--edge "$EDGE_AGENT_HP:4433" --pin "$FP"
	t_wait_for 10 grep -q 'limit conns_per_token=2 reached' "$T_DIR/edge.log" ||
		t_fail "no log line for conns_per_token"
	t_wait_for 3 hits_ge conns_per_token 1 || t_fail "no conns_per_token hit counted"
	! grep -q 'tunnel up' "$T_DIR/agent-c.log" || t_fail "agent c got a tunnel"
	# the refused agent is told why, and the edge does not log its REGISTER
	t_wait_for 10 grep -q 'refused: too many connections for this token (limit)' \
		"$T_DIR/agent-c.log" || t_fail "agent c not told: $(tail -3 "$T_DIR/agent-c.log")"
	! grep -q 'REGISTER before a successful HELLO' "$T_DIR/edge.log" ||
		t_fail "beamd logged the refused agent's REGISTER"
	# the first agent's tunnel carries on
	conns holder-a0 "$A_PORT" 1 none
	kill "$(tun_pid agent-b)" "$(tun_pid agent-c)" "$(tun_pid holder-a0)"
	grep 'limit' "$T_DIR/edge.log" | sort -u | sed 's/^/# /'
}

test_limit_streams_per_tunnel() {
	# three held connections, the fourth is reset, the three still echo
	conns holder-a "$A_PORT" 3 reset
	t_wait_for 3 hits_ge streams_per_tunnel 1 || t_fail "no streams_per_tunnel hit counted"
	grep -q 'limit streams_per_tunnel=3 reached' "$T_DIR/edge.log" || t_fail "no log line"
}

test_limit_conns_per_source() {
	# bob's tunnel: 3 of alice's held plus 2 here make 5 from this address
	TUN_AGENT_TOKEN=other-token tun_agent agent-bob 9301 --name bob ||
		t_fail "bob's agent is not up"
	conns holder-bob "$PUB_PORT" 2 reset
	t_wait_for 3 hits_ge conns_per_source 1 || t_fail "no conns_per_source hit counted"
	# the count follows closes: with alice's three gone, a sixth would be refused
	# if they were still counted
	kill "$(tun_pid holder-a)"
	sleep 1
	conns holder-bob2 "$PUB_PORT" 1 none
	kill "$(tun_pid holder-bob)" "$(tun_pid holder-bob2)" "$(tun_pid agent-bob)"
}

test_limit_stream_buffers() {
	local out

	kill "$(tun_pid agent-a)"
	kill "$(tun_pid edge)"
	t_wait_for 10 bash -c "! kill -0 $(tun_pid edge) 2>/dev/null"
	mv "$T_DIR/edge.log" "$T_DIR/edge-1.log"
	tun_edge --metrics "$METRICS" --limit stream-buffers-mb=1 || t_fail "beamd did not restart"
	t_bg "$AGENT" stall-svc $FAULT_SVC stall-echo-server 9302
	t_wait_for 10 t_ns "$AGENT" bash -c "exec 3<>/dev/tcp/127.0.0.1/9302"
	tun_agent agent-m 9302
	t_bg "$CLI" staller $FAULT_SVC stall-hold "$EDGE_PUB" "$PUB_PORT"
	t_wait_for 10 grep -q stalled "$T_DIR/staller.log" || t_fail "the stalled client did not fill"
	out=$(tun_metric beam_stream_buffer_bytes)
	t_log "$(cat "$T_DIR/staller.log"), edge holds $out bytes of stream buffers"
	# the next public connection is refused while the buffers are full
	conns holder-m0 "$PUB_PORT" 0 reset
	t_wait_for 3 hits_ge stream_buffers 1 || t_fail "no stream_buffers hit counted"
	# once the stalled client and service go, the buffers go, and connections are admitted
	kill "$(tun_pid staller)" "$(tun_pid stall-svc)"
	t_bg "$AGENT" stall-svc2 $FAULT_SVC stall-echo-server 9302
	t_wait_for 10 t_ns "$AGENT" bash -c "exec 3<>/dev/tcp/127.0.0.1/9302"
	t_wait_for 10 buffers_below 1048576 ||
		t_fail "the buffers were not freed"
	conns holder-m1 "$PUB_PORT" 1 none
}

t_test test_limit_tunnels_and_conns_per_token "a second tunnel and a third connection of one token refused"
t_test test_limit_streams_per_tunnel "the fourth public connection of a 3-stream tunnel is reset"
t_test test_limit_conns_per_source "the sixth connection from one address is reset, counts follow closes"
t_test test_limit_stream_buffers "full stream buffers refuse new public connections until they drain"
t_done
