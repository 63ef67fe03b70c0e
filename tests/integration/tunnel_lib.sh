# SPDX-License-Identifier: MIT
#
# tunnel_lib.sh - topology and helpers shared by the test_tunnel*.sh scripts.
#
#   client ns (public client) --veth-- edge ns (beamd) --veth-- agent ns (beam + service)
#
# tun_topo [4|6]   build it; sets CLI EDGE AGENT (namespaces), EDGE_PUB (address
#                  public clients dial), EDGE_AGENT (address agents dial)
# tun_edge ARGS    start beamd in the edge namespace (tokens made here), sets FP
# tun_agent NAME PORT ARGS  start an agent for local PORT, waits for "tunnel up",
#                  sets PUB_PORT
# tun_agent_kind KIND NAME PORT ARGS  the same for a KIND (tcp, http, udp) tunnel
# tun_agent_bg KIND NAME PORT ARGS  start one without waiting (TUN_EDGE_PORT, FP)
# tun_beamd NAME PORT ARGS  another beamd in the edge namespace; tun_fp NAME its pin
# tun_scrape       beamd's /metrics at $METRICS (HOST:PORT)
# tun_metric NAME{LABELS}  one sample's value in a fresh scrape
# shellcheck disable=SC2034

TUN_TOKEN=tok-$T_RUN-secret

tun_topo() {
	local fam=${1:-4}

	# TUN_KEEP_LOGS=DIR keeps every log of the run there (debugging)
	[[ -n ${TUN_KEEP_LOGS:-} ]] && t_defer "mkdir -p $TUN_KEEP_LOGS && cp $T_DIR/*.log $TUN_KEEP_LOGS/"
	CLI=$(t_netns cli) && EDGE=$(t_netns edge) && AGENT=$(t_netns agent) || return 1
	t_veth eth0 "$EDGE" eth0 "$CLI" || return 1
	t_veth eth1 "$EDGE" eth0 "$AGENT" || return 1
	if [[ $fam == 6 ]]; then
		ip -n "$EDGE" addr add fd77:1::1/64 dev eth0 nodad
		ip -n "$CLI" addr add fd77:1::2/64 dev eth0 nodad
		ip -n "$EDGE" addr add fd77:2::1/64 dev eth1 nodad
		ip -n "$AGENT" addr add fd77:2::2/64 dev eth0 nodad
		EDGE_PUB=fd77:1::1 EDGE_AGENT=fd77:2::1
		EDGE_PUB_URL="[fd77:1::1]" EDGE_AGENT_HP="[fd77:2::1]"
	else
		ip -n "$EDGE" addr add 10.77.1.1/24 dev eth0
		ip -n "$CLI" addr add 10.77.1.2/24 dev eth0
		ip -n "$EDGE" addr add 10.77.2.1/24 dev eth1
		ip -n "$AGENT" addr add 10.77.2.2/24 dev eth0
		EDGE_PUB=10.77.1.1 EDGE_AGENT=10.77.2.1
		EDGE_PUB_URL=10.77.1.1 EDGE_AGENT_HP=10.77.2.1
	fi
	printf 'alice %s\n# a comment\nbob other-token\n' "$TUN_TOKEN" >"$T_DIR/tokens"
	chmod 600 "$T_DIR/tokens"
}

# tun_listening NAME: wait until the beamd logging to $T_DIR/NAME.log listens for
# agents; its log on stderr if it does not
tun_listening() {
	t_wait_for 10 grep -q 'listening for agents' "$T_DIR/$1.log" || {
		cat "$T_DIR/$1.log" >&2
		return 1
	}
}

# tun_fp NAME: the certificate fingerprint the beamd logging to $T_DIR/NAME.log printed
tun_fp() { grep -o 'SHA256:[0-9a-f]*' "$T_DIR/$1.log" | tail -1; }

# tun_beamd NAME PORT [beamd args...]: a beamd in the edge namespace, agents dial PORT
tun_beamd() {
	local name=$1 port=$2
	shift 2

	t_bg "$EDGE" "$name" beamd --listen "$EDGE_AGENT_HP:$port" --tokens "$T_DIR/tokens" "$@" ||
		return 1
	tun_listening "$name"
}

# tun_edge [beamd args...]: (re)start beamd; its log is $T_DIR/edge.log
tun_edge() {
	local xdp=()

	[[ -n ${TUN_XDP:-} ]] && xdp=(--xdp eth1)
	tun_beamd edge 4433 "${xdp[@]}" "$@" || return 1
	FP=$(tun_fp edge)
}

# tun_agent_bg KIND NAME LOCALPORT [beam args...]: start an agent for a KIND tunnel
# (token $TUN_AGENT_TOKEN, default $TUN_TOKEN) to the edge's port
# ${TUN_EDGE_PORT:-4433}, pinned to $FP; it does not wait for the tunnel
tun_agent_bg() {
	local kind=$1 name=$2 port=$3
	shift 3

	BEAM_TOKEN=${TUN_AGENT_TOKEN:-$TUN_TOKEN} t_bg "$AGENT" "$name" beam "$kind" "$port" \
		--edge "$EDGE_AGENT_HP:${TUN_EDGE_PORT:-4433}" --pin "$FP" "$@"
}

# tun_pub_port NAME: the public port of the last tunnel agent NAME brought up
tun_pub_port() {
	grep -o 'tunnel up: [a-z]*://.*:[0-9]* ->' "$T_DIR/$1.log" | tail -1 |
		sed 's/.*:\([0-9]*\) ->/\1/'
}

# tun_agent_kind KIND NAME LOCALPORT [beam args...]: tun_agent_bg, then wait for
# the tunnel; sets PUB_PORT
tun_agent_kind() {
	tun_agent_bg "$@" || return 1
	t_wait_for 10 grep -q 'tunnel up' "$T_DIR/$2.log" || {
		cat "$T_DIR/$2.log" >&2
		return 1
	}
	PUB_PORT=$(tun_pub_port "$2")
}

# tun_agent NAME LOCALPORT [beam args...]: start an agent for a tcp tunnel
tun_agent() { tun_agent_kind tcp "$@"; }

# tun_scrape: beamd's /metrics, $METRICS (HOST:PORT) dialled from the edge namespace
tun_scrape() { t_ns "$EDGE" curl -sS --max-time 5 "http://$METRICS/metrics"; }

# tun_metric NAME{LABELS}: that sample's value in a fresh scrape, nothing when it is
# absent (the whole scrape is read first: an awk that stops early fails curl's write)
tun_metric() {
	local out

	out=$(tun_scrape) || return 1
	awk -v k="$1" '$1 == k { print $2 }' <<<"$out"
}

# tun_http PORT [INDEX]: a real HTTP server (python3 -m http.server) on 127.0.0.1:PORT
# in the agent namespace, serving $T_DIR/www; with INDEX, index.html is that line
tun_http() {
	mkdir -p "$T_DIR/www"
	[[ -z ${2:-} ]] || echo "$2" >"$T_DIR/www/index.html"
	(cd "$T_DIR/www" && t_bg "$AGENT" http python3 -m http.server "$1" --bind 127.0.0.1)
	t_wait_for 10 t_ns "$AGENT" bash -c "exec 3<>/dev/tcp/127.0.0.1/$1"
}

tun_pid() { cat "$T_DIR/$1.pid"; }

# tun_backlog_check PORT: the edge's public listener on PORT has the 4096
# accept queue beamd asks for (a short one turns bursts into SYN cookies and
# resets)
tun_backlog_check() {
	local q

	q=$(t_ns "$EDGE" ss -Hlnt "sport = :$1" | awk '{print $3; exit}')
	[[ $q == 4096 ]] || t_fail "listener on port $1 has accept queue '$q', want 4096"
}

# TUN_XDP=1 (test_tunnel_over_xdp.sh): tun_edge runs beamd with --xdp eth1, the
# agents' side, and tun_xdp_check asserts that the agents' QUIC packets took
# beam's XSK redirect (not the socket) and beamd did not fall back.
tun_xdp_check() {
	local json xsk sock

	! grep -q 'AF_XDP on .* not used' "$T_DIR/edge.log"
	json=$(t_ns "$EDGE" beam-xdp stats eth1 --json)
	xsk=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["reasons"]["to_xsk"]["packets"])' <<<"$json")
	sock=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["reasons"]["to_socket"]["packets"])' <<<"$json")
	t_log "stats on eth1: to_xsk $xsk, to_socket $sock"
	[[ $xsk -gt 100000 && $sock -lt $((xsk / 100 + 100)) ]]
}

