#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_proxy_protocol.sh - beam tcp/http --proxy-protocol v1|v2: nginx on the
# private machine listens with proxy_protocol and answers with the address it
# was told, which must be the public client's, not the agent's; the destination
# must be the edge address the agent reached, with the tunnel's public port.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tunnel_lib.sh"
t_require_root
t_require_tools nginx curl
HP=8000

tun_topo 4 || t_setup_fail "could not build the namespaces"
tun_edge --http-listen "$EDGE_PUB:$HP" || t_setup_fail "beamd did not start"
chmod 755 "$T_DIR"
cat >"$T_DIR/nginx.conf" <<EOC
worker_processes 1;
daemon off;
pid $T_DIR/nginx.pid;
error_log $T_DIR/nginx-error.log;
events { worker_connections 256; }
http {
	access_log off;
	server {
		listen 127.0.0.1:9201 proxy_protocol;
		return 200 "client \$proxy_protocol_addr \$proxy_protocol_port to \$proxy_protocol_server_addr \$proxy_protocol_server_port\n";
	}
}
EOC
t_bg "$AGENT" nginx nginx -c "$T_DIR/nginx.conf" || t_setup_fail "nginx"
t_wait_for 10 t_ns "$AGENT" bash -c 'exec 3<>/dev/tcp/127.0.0.1/9201' || t_setup_fail "nginx did not start"

# who_am_i PORT LOCALPORT [curl args]: what nginx says about the client
who_am_i() {
	local port=$1 lport=$2
	shift 2

	t_ns "$CLI" curl -sS --max-time 10 --local-port "$lport" "$@" "http://$EDGE_PUB:$port/"
}

# tcp_sees_client VERSION LOCALPORT: through a tcp tunnel with --proxy-protocol
# vVERSION, nginx sees the public client's address and LOCALPORT
tcp_sees_client() {
	local v=$1 lport=$2 got

	tun_agent "pp$v" 9201 --name "pp$v" --proxy-protocol "v$v" || return 1
	got=$(who_am_i "$PUB_PORT" "$lport")
	[[ $got == "client 10.77.1.2 $lport to $EDGE_AGENT $PUB_PORT" ]] ||
		t_fail "nginx saw '$got'"
}

test_tcp_v1() { tcp_sees_client 1 40501; }

test_tcp_v2() { tcp_sees_client 2 40502; }

test_http_v2() {
	local got

	tun_agent_kind http pph 9201 --hostname pp.example --proxy-protocol v2 ||
		t_fail "no http tunnel"
	got=$(who_am_i "$HP" 40503 -H 'Host: pp.example')
	[[ $got == "client 10.77.1.2 40503 to $EDGE_AGENT $HP" ]] || t_fail "nginx saw '$got'"
}

# an edge listening on the wildcard address: REGISTERED names 0.0.0.0, yet the
# destination is the edge address the agent reached, in both versions and for http
test_wildcard_listen() {
	local v got

	t_bg "$EDGE" wild beamd --listen 0.0.0.0:4434 --tokens "$T_DIR/tokens" \
		--http-listen "$EDGE_PUB:8001" || return 1
	tun_listening wild || return 1
	for v in 1 2; do
		TUN_EDGE_PORT=4434 FP=$(tun_fp wild) tun_agent "wild$v" 9201 --name "wild$v" \
			--proxy-protocol "v$v" || return 1
		got=$(who_am_i "$PUB_PORT" "4051$v")
		[[ $got == "client 10.77.1.2 4051$v to $EDGE_AGENT $PUB_PORT" ]] ||
			t_fail "v$v: nginx saw '$got'"
	done
	TUN_EDGE_PORT=4434 FP=$(tun_fp wild) tun_agent_kind http wildh 9201 \
		--hostname wild.example --proxy-protocol v1 || return 1
	got=$(who_am_i 8001 40513 -H 'Host: wild.example')
	[[ $got == "client 10.77.1.2 40513 to $EDGE_AGENT 8001" ]] ||
		t_fail "http: nginx saw '$got'"
}

# without the header nginx refuses the connection: the header is what it read
test_without_header_refused() {
	tun_agent plain 9201 --name plain || return 1
	! who_am_i "$PUB_PORT" 40504 2>/dev/null | grep -q client || t_fail "nginx answered without a header"
}

test_udp_refused() {
	local out rc=0

	out=$(BEAM_TOKEN=$TUN_TOKEN t_ns "$AGENT" beam udp 9201 --edge "$EDGE_AGENT_HP:4433" \
		--pin "$FP" --proxy-protocol v1 2>&1) || rc=$?
	[[ $rc == 2 && $out == *"--proxy-protocol is for tcp and http tunnels"* ]] ||
		t_fail "rc $rc: $out"
	out=$(BEAM_TOKEN=$TUN_TOKEN t_ns "$AGENT" beam tcp 9201 --edge "$EDGE_AGENT_HP:4433" \
		--pin "$FP" --proxy-protocol v3 2>&1) || rc=$?
	[[ $out == *"invalid --proxy-protocol 'v3': want v1 or v2"* ]] || t_fail "$out"
}

t_test test_tcp_v1 "tcp tunnel, PROXY v1: nginx sees the public client's address and port"
t_test test_tcp_v2 "tcp tunnel, PROXY v2: nginx sees the public client's address and port"
t_test test_http_v2 "http tunnel, PROXY v2: nginx sees the public client's address"
t_test test_wildcard_listen "beamd on 0.0.0.0: the destination is the edge address the agent reached"
t_test test_without_header_refused "without --proxy-protocol a proxy_protocol listener refuses"
t_test test_udp_refused "udp tunnels and unknown versions are refused on the command line"
t_done
