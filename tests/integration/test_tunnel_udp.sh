#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_tunnel_udp.sh - udp tunnels: public datagrams travel as QUIC DATAGRAM
# frames to the agent, which keeps a socket per public client to a real UDP
# service; answers go back to the right client; what cannot fit is dropped
# and counted.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tunnel_lib.sh"
t_require_root
t_require_tools python3 curl socat
SVC="python3 $(cd "$(dirname "$0")" && pwd)/helpers/http_svc.py"
METRICS=127.0.0.1:9464

tun_topo 4 || t_setup_fail "could not build the namespaces"
tun_edge --grace 20 --metrics "$METRICS" || t_setup_fail "beamd did not start"

# udp_agent NAME LOCALPORT [args]: an agent for a udp tunnel; sets UDP_PORT
udp_agent() { tun_agent_kind udp "$@" && UDP_PORT=$PUB_PORT; }

# metric NAME LABELS: one sample of beamd's /metrics
metric() { tun_metric "$1{$2}"; }

metric_at_least() { [[ $(metric "$1" "$2") -ge $3 ]]; }

# a real UDP service: socat forks a process per client that answers each datagram
t_bg "$AGENT" socat-echo socat UDP4-RECVFROM:9201,bind=127.0.0.1,fork EXEC:cat ||
	t_setup_fail "socat echo"
t_bg "$AGENT" py-echo $SVC udp-echo 9202 || t_setup_fail "python udp echo"
udp_agent agent-udp 9202 || t_setup_fail "the udp agent did not come up"

test_socat_service() {
	local out

	udp_agent agent-socat 9201 --remote-port 40053
	[[ $UDP_PORT == 40053 ]] || t_fail "asked for 40053, got $UDP_PORT"
	out=$(t_ns "$CLI" bash -c "echo hello-beam | socat -t 3 - UDP4:$EDGE_PUB:40053")
	[[ $out == "hello-beam" ]] || t_fail "socat answer '$out'"
}

test_two_clients_not_crossed() {
	local out

	out=$(t_ns "$CLI" $SVC udp-clients "$EDGE_PUB" "$UDP_PORT" 2) || t_fail "$out"
	[[ $out == "ok 2" ]] || t_fail "$out"
	out=$(t_ns "$CLI" $SVC udp-clients "$EDGE_PUB" "$UDP_PORT" 16) || t_fail "$out"
	[[ $out == "ok 16" ]] || t_fail "$out"
	# every client got each of its 50 answers: the edge sent at least 900
	# (counts are published every 100 ms)
	t_wait_for 3 metric_at_least beam_udp_datagrams_total 'direction="to_public"' 900 ||
		t_fail "to_public: $(metric beam_udp_datagrams_total 'direction="to_public"')"
}

test_oversized_counted() {
	local before after out

	before=$(metric beam_udp_dropped_total 'reason="too_big"')
	out=$(t_ns "$CLI" $SVC udp-send "$EDGE_PUB" "$UDP_PORT" 8000)
	[[ $out == "no answer" ]] || t_fail "an 8000 byte datagram got '$out'"
	t_wait_for 3 metric_at_least beam_udp_dropped_total 'reason="too_big"' $((before + 1)) || true
	after=$(metric beam_udp_dropped_total 'reason="too_big"')
	[[ $after -eq $((before + 1)) ]] || t_fail "too_big went $before -> $after"
	# a datagram that fits still goes through, and nothing crashed
	out=$(t_ns "$CLI" $SVC udp-send "$EDGE_PUB" "$UDP_PORT" 1000)
	[[ $out == "answer 1005" ]] || t_fail "a 1000 byte datagram got '$out'"
	kill -0 "$(tun_pid edge)" && kill -0 "$(tun_pid agent-udp)"
}

# every beam_udp_dropped_total sample, summed
drops_sum() {
	local out

	out=$(tun_scrape) || return 1
	awk '$1 ~ /^beam_udp_dropped_total\{/ { n += $2 } END { print n + 0 }' <<<"$out"
}

drops_at_least() { [[ $(drops_sum) -ge $1 ]]; }

# 500 clients at once, one datagram each, 5 times: the public socket's buffer
# takes the burst, and whatever is lost anyway is counted
test_burst_answered_or_counted() {
	local before after out sent answered lost

	before=$(drops_sum)
	out=$(t_ns "$CLI" $SVC udp-burst "$EDGE_PUB" "$UDP_PORT" 500 5) || t_fail "$out"
	read -r _ sent _ answered <<<"$out"
	lost=$((sent - answered))
	# counts are published every 100 ms
	t_wait_for 3 drops_at_least $((before + lost)) || true
	after=$(drops_sum)
	t_log "burst: $answered of $sent answered; drops counted: $((after - before))," \
		"socket_full $(metric beam_udp_dropped_total 'reason="socket_full"')"
	[[ $sent -eq 2500 ]] || t_fail "sent only $sent"
	[[ $lost -le $((after - before)) ]] || t_fail "$lost lost, $((after - before)) counted"
}

# the edge stopped while one client floods: the kernel drops what the public
# socket cannot hold, and beamd counts it as socket_full
test_socket_full_counted() {
	local before after out

	before=$(metric beam_udp_dropped_total 'reason="socket_full"')
	kill -STOP "$(tun_pid edge)"
	out=$(t_ns "$CLI" $SVC udp-blast "$EDGE_PUB" "$UDP_PORT" 30000) || true
	kill -CONT "$(tun_pid edge)"
	t_wait_for 5 metric_at_least beam_udp_dropped_total 'reason="socket_full"' \
		$((before + 1)) || true
	after=$(metric beam_udp_dropped_total 'reason="socket_full"')
	t_log "flood while stopped: $out; socket_full $before -> $after"
	[[ $after -gt $before ]] || t_fail "socket_full went $before -> $after"
}

test_agent_gone_counted_then_back() {
	local before after out

	kill "$(tun_pid agent-udp)"
	t_wait_for 10 grep -q "kept 20 s" "$T_DIR/edge.log"
	before=$(metric beam_udp_dropped_total 'reason="no_agent"')
	t_ns "$CLI" $SVC udp-send "$EDGE_PUB" "$UDP_PORT" 10 >/dev/null
	t_wait_for 3 metric_at_least beam_udp_dropped_total 'reason="no_agent"' $((before + 1)) || true
	after=$(metric beam_udp_dropped_total 'reason="no_agent"')
	[[ $after -gt $before ]] || t_fail "no_agent went $before -> $after"
	udp_agent agent-udp2 9202 --remote-port "$UDP_PORT"
	out=$(t_ns "$CLI" $SVC udp-clients "$EDGE_PUB" "$UDP_PORT" 2) || t_fail "$out"
}

test_http_refused_without_listener() {
	BEAM_TOKEN=$TUN_TOKEN t_bg "$AGENT" agent-http beam http 9202 --hostname x.beam.test \
		--edge "$EDGE_AGENT_HP:4433" --pin "$FP"
	t_wait_for 10 bash -c "! kill -0 $(tun_pid agent-http) 2>/dev/null" || t_fail "agent still runs"
	grep -q 'no http tunnels.*(unsupported)' "$T_DIR/agent-http.log" ||
		t_fail "$(cat "$T_DIR/agent-http.log")"
}

test_flow_limit_counted() {
	local out i

	# a second edge whose udp tunnels track two public clients at most
	tun_beamd edge-lim 4434 --metrics 127.0.0.1:9465 --limit udp-flows-per-tunnel=2
	FP=$(tun_fp edge-lim) TUN_EDGE_PORT=4434 tun_agent_kind udp agent-lim 9202 --remote-port 40100
	for i in 1 2 3; do
		out=$(t_ns "$CLI" $SVC udp-send "$EDGE_PUB" 40100 10)
		t_log "client $i: $out"
		if ((i < 3)); then [[ $out == "answer 15" ]]; else [[ $out == "no answer" ]]; fi
	done
	METRICS=127.0.0.1:9465 t_wait_for 3 metric_at_least beam_udp_dropped_total \
		'reason="flow_limit"' 1
	[[ $(METRICS=127.0.0.1:9465 metric beam_limit_hits_total 'limit="udp_flows_per_tunnel"') -ge 1 ]]
}

t_test test_socat_service "a socat UDP service answers through the tunnel on the asked port"
t_test test_two_clients_not_crossed "2 and 16 public clients at once: every answer to its own client"
t_test test_oversized_counted "an oversized datagram is dropped and counted; smaller ones pass"
t_test test_burst_answered_or_counted "500 clients at once, 5 times: all answered, or every loss counted"
t_test test_socket_full_counted "datagrams the kernel drops at a full public socket are counted"
t_test test_flow_limit_counted "past udp-flows-per-tunnel a new client is dropped and counted"
t_test test_http_refused_without_listener "an edge without --http-listen refuses http tunnels (unsupported)"
t_test test_agent_gone_counted_then_back "agent gone: datagrams counted as no_agent; it comes back"
t_done
