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

# tun_edge [beamd args...]: (re)start beamd; its log is $T_DIR/edge.log
tun_edge() {
	local listen="$EDGE_AGENT_HP:4433" xdp=()

	[[ -n ${TUN_XDP:-} ]] && xdp=(--xdp eth1)
	t_bg "$EDGE" edge beamd --listen "$listen" --tokens "$T_DIR/tokens" "${xdp[@]}" "$@" ||
		return 1
	t_wait_for 5 grep -q 'listening for agents' "$T_DIR/edge.log" || {
		cat "$T_DIR/edge.log" >&2
		return 1
	}
	FP=$(grep -o 'SHA256:[0-9a-f]*' "$T_DIR/edge.log" | tail -1)
}

# tun_agent_kind KIND NAME LOCALPORT [beam args...]: start an agent for a KIND
# tunnel (token $TUN_AGENT_TOKEN, default $TUN_TOKEN), wait for its tunnel
tun_agent_kind() {
	local kind=$1 name=$2 port=$3
	shift 3

	BEAM_TOKEN=${TUN_AGENT_TOKEN:-$TUN_TOKEN} t_bg "$AGENT" "$name" beam "$kind" "$port" \
		--edge "$EDGE_AGENT_HP:4433" --pin "$FP" "$@" || return 1
	t_wait_for 10 grep -q 'tunnel up' "$T_DIR/$name.log" || {
		cat "$T_DIR/$name.log" >&2
		return 1
	}
	PUB_PORT=$(grep -o "tunnel up: $kind://.*:[0-9]* ->" "$T_DIR/$name.log" | tail -1 |
		sed 's/.*:\([0-9]*\) ->/\1/')
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

