#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_tunnel_ipv6.sh - the tunnel on an IPv6-only network: QUIC between agent
# and edge over IPv6, public clients over IPv6, a self-signed certificate made
# at start and pinned by the agent; http and udp tunnels over IPv6 too.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tunnel_lib.sh"
t_require_root
t_require_tools python3 curl socat sha256sum

tun_topo 6 || t_setup_fail "could not build the namespaces"
tun_edge --retry --http-listen "[$EDGE_PUB]:8000" || t_setup_fail "beamd did not start"
SVC="python3 $(cd "$(dirname "$0")" && pwd)/helpers/http_svc.py"
tun_http 8080 "hello over ipv6 $T_RUN" || t_setup_fail "python3 http.server did not start"

test_ipv6_curl() {
	local got

	# no IPv4 address anywhere on the path
	! ip -n "$EDGE" -4 addr show | grep -q 'inet 10\.'
	tun_agent agent 8080
	grep -q "tunnel up: tcp://\[fd77:2::1\]:$PUB_PORT -> 127.0.0.1:8080" "$T_DIR/agent.log"
	got=$(t_ns "$CLI" curl -sS --max-time 10 "http://[$EDGE_PUB]:$PUB_PORT/")
	[[ $got == "hello over ipv6 $T_RUN" ]] || t_fail "curl got '$got'"
	# the edge saw the agent's IPv6 address
	grep -q "agent \[fd77:2::2\]:[0-9]* authenticated" "$T_DIR/edge.log"
}

test_ipv6_transfer() {
	local big=$T_DIR/big want got

	head -c 64M /dev/urandom >"$big"
	want=$(sha256sum <"$big" | cut -d' ' -f1)
	t_bg "$AGENT" send-svc socat -u OPEN:"$big",rdonly TCP-LISTEN:9002,bind=127.0.0.1,reuseaddr
	tun_agent agent-dl 9002
	got=$(t_ns "$CLI" timeout 60 socat -u TCP6:"[$EDGE_PUB]":"$PUB_PORT" - | sha256sum | cut -d' ' -f1)
	[[ $got == "$want" ]] || t_fail "sha256 $got, want $want"
}

test_ipv6_http_and_udp() {
	local got

	BEAM_TOKEN=$TUN_TOKEN t_bg "$AGENT" agent-http beam http 8080 --hostname v6.beam.test \
		--edge "$EDGE_AGENT_HP:4433" --pin "$FP"
	t_bg "$AGENT" udp-echo $SVC udp-echo 9203
	BEAM_TOKEN=$TUN_TOKEN t_bg "$AGENT" agent-udp beam udp 9203 --remote-port 40200 \
		--edge "$EDGE_AGENT_HP:4433" --pin "$FP"
	t_wait_for 10 grep -q 'tunnel up' "$T_DIR/agent-http.log"
	t_wait_for 10 grep -q 'tunnel up' "$T_DIR/agent-udp.log"
	got=$(t_ns "$CLI" curl -sS --max-time 10 -H "Host: v6.beam.test" "http://[$EDGE_PUB]:8000/")
	[[ $got == "hello over ipv6 $T_RUN" ]] || t_fail "http tunnel: curl got '$got'"
	got=$(t_ns "$CLI" $SVC udp-clients "$EDGE_PUB" 40200 4) || t_fail "udp: $got"
}

test_ipv6_edge_named_in_brackets() {
	# nobody listens on 4499: the agent's message names the edge as [v6]:port
	TUN_EDGE_PORT=4499 tun_agent_bg tcp agent-nowhere 8080
	t_wait_for 20 grep -q 'failed to connect to the edge \[fd77:2::1\]:4499: ' \
		"$T_DIR/agent-nowhere.log" || t_fail "agent: $(tail -2 "$T_DIR/agent-nowhere.log")"
	kill "$(tun_pid agent-nowhere)"
}

t_test test_ipv6_curl "IPv6 only, with Retry: curl through the tunnel"
t_test test_ipv6_transfer "IPv6 only: 64 MiB intact"
t_test test_ipv6_http_and_udp "IPv6 only: an http tunnel by Host and a udp tunnel with 4 clients"
t_test test_ipv6_edge_named_in_brackets "an unreachable IPv6 edge is named [address]:port in the agent's log"
t_done
