#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_tunnel_xdp.sh - the tunnel with `beamd --xdp eth1` (eth1: where agents
# reach the edge): QUIC arrives through beam's XDP program and an AF_XDP
# socket, answers leave through AF_XDP TX with headers and checksums beamd
# built, and the tunnel carries what it carries over the socket path: curl,
# 1 GiB with an equal SHA-256, 1,000 concurrent connections. The stats map
# must show the packets took the XSK redirect, not the socket. Forged frames
# with the agent's IP must not redirect beamd's replies. Then: SIGKILL
# beamd and start it again on the same interface with no cleanup, and the
# fallback to the socket path when AF_XDP cannot be had (queue taken, no
# capabilities), and generic mode, where GRO trains too big for AF_XDP take
# the socket path.
#
# BIG_MB (default 1024) sizes the big transfer.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tunnel_lib.sh"
t_require_root
t_require_tools python3 curl socat openssl

BIG_MB=${BIG_MB:-1024}
MANY=$T_ROOT/tests/tools/tcp-many.py
KEY=000102030405060708090a0b0c0d0e0f

tun_topo 4 || t_setup_fail "could not build the namespaces"
tun_edge --grace 20 --xdp eth1 --metrics 127.0.0.1:9109 || t_setup_fail "beamd did not start"
echo "hello through beam $T_RUN" >"$T_DIR/www-index"
mkdir -p "$T_DIR/www" && mv "$T_DIR/www-index" "$T_DIR/www/index.html"
tun_http 8080 || t_setup_fail "python3 http.server did not start"
tun_agent agent 8080 || t_setup_fail "the agent did not bring the tunnel up"
WEB_PORT=$PUB_PORT

# Deterministic pseudo-random bytes: AES-128-CTR of zeros, $1 MiB of them
# (openssl dies of SIGPIPE when head is done: that is the normal end).
stream() {
	{ openssl enc -aes-128-ctr -nosalt -K $KEY -iv 0 -in /dev/zero 2>/dev/null || true; } |
		head -c $(($1 << 20))
}

# Packets counted under reason $1 on eth1 (`beam-xdp stats --json`).
stat_packets() {
	t_ns "$EDGE" beam-xdp stats eth1 --json |
		python3 -c "import json,sys; print(json.load(sys.stdin)['reasons']['$1']['packets'])"
}

# big_tunnel NAME MB PORT: a server of MB MiB of stream() on local PORT (started
# once) behind a new agent NAME; sets PUB_PORT. Tests run in subshells: each
# one sets up what it uses.
big_tunnel() {
	if [[ ! -f $T_DIR/stream-$3.sh ]]; then
		declare -f stream >"$T_DIR/stream-$3.sh"
		echo "KEY=$KEY; stream $2" >>"$T_DIR/stream-$3.sh"
		t_bg "$AGENT" "bigsrv-$3" socat TCP-LISTEN:$3,bind=127.0.0.1,reuseaddr,fork \
			EXEC:"bash $T_DIR/stream-$3.sh"
	fi
	tun_agent "$1" "$3" || t_fail "agent $1 did not come up"
}

# wait_size FILE BYTES: until FILE holds at least BYTES (or 60 s).
wait_size() {
	t_wait_for 60 bash -c "[[ \$(stat -c %s '$1' 2>/dev/null || echo 0) -ge $2 ]]"
}

test_xdp_mode_on() {
	grep -q "XDP mode on 'eth1': AF_XDP on queue 0 (copy)" "$T_DIR/edge.log"
	t_ns "$EDGE" beam-xdp status eth1 | grep -q beam
}

test_xdp_curl() {
	local got before after

	before=$(stat_packets to_xsk)
	got=$(t_ns "$CLI" curl -sS --max-time 10 "http://$EDGE_PUB_URL:$WEB_PORT/")
	[[ $got == "hello through beam $T_RUN" ]] || t_fail "curl got '$got'"
	after=$(stat_packets to_xsk)
	t_log "to_xsk +$((after - before)) for one curl"
	[[ $after -gt $before ]]
}

test_xdp_big_transfer_sha256() {
	local want got before after sock_before sock_after start secs

	big_tunnel agentbig "$BIG_MB" 9001
	want=$(stream "$BIG_MB" | sha256sum | cut -d' ' -f1)
	before=$(stat_packets to_xsk)
	sock_before=$(stat_packets to_socket)
	start=$SECONDS
	got=$(t_ns "$CLI" timeout 600 socat -u TCP:$EDGE_PUB:$PUB_PORT - | sha256sum | cut -d' ' -f1)
	secs=$((SECONDS - start))
	after=$(stat_packets to_xsk)
	sock_after=$(stat_packets to_socket)
	t_log "$BIG_MB MiB in ${secs}s; to_xsk +$((after - before)), to_socket +$((sock_after - sock_before))"
	[[ $got == "$want" ]] || t_fail "sha256 $got, want $want"
	# The agent's QUIC packets went through the XSK redirect, not the socket.
	[[ $((after - before)) -gt $((BIG_MB * 100)) ]]
	[[ $((sock_after - sock_before)) -lt $(((after - before) / 100 + 10)) ]]
}

test_xdp_to_user_latency_metric() {
	local count

	# XDP stamps each redirected frame; beamd turns the stamps into a histogram.
	count=$(t_ns "$EDGE" curl -sS --max-time 5 http://127.0.0.1:9109/metrics |
		awk '$1 == "beam_xdp_to_user_seconds_count" { print $2 }')
	t_log "beam_xdp_to_user_seconds_count $count"
	[[ ${count%.*} -gt 100 ]]
}

# quiet_fallback: the start of edge.log (up to "listening for agents") says why
# AF_XDP is off in one warning, with no error and no library line (those are for -v)
quiet_fallback() {
	local head=$T_DIR/edge-start.log

	t_wait_for 5 grep -q 'listening for agents' "$T_DIR/edge.log"
	sed -n '1,/listening for agents/p' "$T_DIR/edge.log" >"$head"
	[[ $(grep -c 'warning: .*\(AF_XDP\|xsks\|XDP\)' "$head") -eq 1 ]] ||
		t_fail "not one warning: $(grep 'warning:' "$head")"
	! grep -E 'libbpf|libxdp|error:' "$head" || t_fail "library or error lines without -v"
}

# xdp_metric NAME{LABELS}: one sample's value in a fresh scrape of beamd (0 if absent)
xdp_metric() {
	t_ns "$EDGE" curl -sS --max-time 5 http://127.0.0.1:9109/metrics |
		awk -v m="$1" '$1 == m { v = $2 } END { print v + 0 }'
}

# csum_drops_reach N: beamd counted at least N frames with a bad UDP checksum
csum_drops_reach() {
	[[ $(xdp_metric 'beam_xsk_rx_dropped_total{reason="udp_checksum"}') -ge $1 ]]
}

test_xdp_path_metrics() {
	local scrape=$T_DIR/paths.txt xin xout bad0 bad1 m

	# beamd's own view of its packet paths: what went through AF_XDP, and
	# the frames it refused there, by reason.
	t_ns "$EDGE" curl -sS --max-time 5 http://127.0.0.1:9109/metrics >"$scrape"
	xin=$(awk '$1 == "beam_packets_total{path=\"af_xdp\",direction=\"in\"}" { print $2 }' "$scrape")
	xout=$(awk '$1 == "beam_packets_total{path=\"af_xdp\",direction=\"out\"}" { print $2 }' "$scrape")
	t_log "af_xdp in $xin out $xout"
	[[ ${xin:-0} -gt 1000 && ${xout:-0} -gt 100 ]] || t_fail "AF_XDP counters did not grow"
	grep -q '^beam_packets_total{path="socket",direction="in"} [0-9]' "$scrape" ||
		t_fail "no socket path sample"
	# why steering left frames to the socket: one sample per cause
	[[ $(grep -c '^beam_xdp_steer_misses_total{iface="eth1",cause="[a-z_]*"} [0-9]' \
		"$scrape") == 4 ]] || t_fail "no beam_xdp_steer_misses_total samples for eth1"
	if command -v promtool >/dev/null; then
		promtool check metrics <"$scrape" || t_fail "promtool rejects /metrics"
	else
		t_log "promtool missing: format not checked"
	fi
	for m in $(awk '/^# TYPE/ { print $3 }' "$scrape"); do
		grep -qF "\`$m\`" "$T_ROOT/docs/operations.md" || t_fail "$m is not in docs/operations.md"
	done

	# Short-header QUIC to beamd's port with a wrong UDP checksum: XDP
	# steers it (it does not verify checksums), beamd refuses it.
	bad0=$(xdp_metric 'beam_xsk_rx_dropped_total{reason="udp_checksum"}')
	t_ns "$AGENT" python3 "$T_ROOT/tests/tools/udp-bad-csum.py" 10.77.2.2 "$EDGE_AGENT" 4433 50 ||
		t_fail "could not send the frames"
	t_wait_for 5 csum_drops_reach $((bad0 + 50)) || true
	bad1=$(xdp_metric 'beam_xsk_rx_dropped_total{reason="udp_checksum"}')
	t_log "udp_checksum drops: $bad0 then $bad1"
	[[ $bad1 -ge $((bad0 + 50)) ]] || t_fail "bad checksums not counted ($bad0 -> $bad1)"
}

# vlan_count_reach TAGS N: beamd counted at least N AF_XDP frames with TAGS tags
vlan_count_reach() {
	[[ $(xdp_metric "beam_xsk_rx_vlan_tagged_total{tags=\"$1\"}") -ge $2 ]]
}

# vlan_unknown_reach N: beamd refused at least N AF_XDP frames for unknown VLANs
vlan_unknown_reach() {
	[[ $(xdp_metric 'beam_xsk_rx_dropped_total{reason="vlan_unknown"}') -ge $1 ]]
}

edge_mac() { ip -n "$EDGE" -o link show eth1 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2; }

test_xdp_vlan_tagged_counted() {
	local mac tags vids taken v0 v1 u0 u1

	# Tagged frames the kernel would take are taken (two tags at most) and
	# the operator sees how many: priority tags (VLAN 0) always; 802.1Q 100,
	# and 802.1ad 100 with 802.1Q 101 inside, once the edge has those VLANs
	# (kernels with 802.1Q devices). Tags the edge has no VLAN device for are
	# refused, as the kernel refuses them, and counted.
	taken="0 0,0"
	if vlan_ok; then
		ip -n "$EDGE" link add link eth1 name e1q100 up type vlan id 100 &&
			ip -n "$EDGE" link add link eth1 name e1ad100 up type vlan proto 802.1ad id 100 &&
			ip -n "$EDGE" link add link e1ad100 name e1ad100q101 up type vlan id 101 ||
			t_fail "could not add the edge's VLAN devices"
		taken="$taken 100 100,101"
	else
		t_log "this kernel has no 802.1Q devices: only priority tags can be taken"
	fi
	mac=$(edge_mac)
	[[ -n $mac ]] || t_fail "no MAC for the edge's eth1"
	for vids in $taken; do
		tags=$(tr ',' '\n' <<<"$vids" | wc -l)
		v0=$(xdp_metric "beam_xsk_rx_vlan_tagged_total{tags=\"$tags\"}")
		t_ns "$AGENT" python3 "$T_ROOT/tests/tools/udp-vlan.py" eth0 "$mac" 10.77.2.2 \
			"$EDGE_AGENT" 4433 20 "$tags" "$vids" || t_fail "could not send the frames"
		t_wait_for 5 vlan_count_reach "$tags" $((v0 + 20)) || true
		v1=$(xdp_metric "beam_xsk_rx_vlan_tagged_total{tags=\"$tags\"}")
		t_log "frames with VLAN(s) $vids: taken $v0 then $v1"
		[[ $v1 -ge $((v0 + 20)) ]] || t_fail "frames with VLAN(s) $vids not taken ($v0 -> $v1)"
	done
	# 802.1Q 102; 802.1ad 100 with 802.1Q 102 inside; 802.1ad 101 with 802.1Q
	# 100 inside; a priority tag around 802.1Q 102: no such devices
	for vids in 102 100,102 101,100 0,102; do
		tags=$(tr ',' '\n' <<<"$vids" | wc -l)
		u0=$(xdp_metric 'beam_xsk_rx_dropped_total{reason="vlan_unknown"}')
		v0=$(xdp_metric "beam_xsk_rx_vlan_tagged_total{tags=\"$tags\"}")
		t_ns "$AGENT" python3 "$T_ROOT/tests/tools/udp-vlan.py" eth0 "$mac" 10.77.2.2 \
			"$EDGE_AGENT" 4433 20 "$tags" "$vids" || t_fail "could not send the frames"
		t_wait_for 5 vlan_unknown_reach $((u0 + 20)) || true
		u1=$(xdp_metric 'beam_xsk_rx_dropped_total{reason="vlan_unknown"}')
		v1=$(xdp_metric "beam_xsk_rx_vlan_tagged_total{tags=\"$tags\"}")
		t_log "frames with VLAN(s) $vids: vlan_unknown $u0 then $u1, taken +$((v1 - v0))"
		[[ $u1 -ge $((u0 + 20)) && $v1 -eq $v0 ]] ||
			t_fail "frames for VLAN(s) $vids not refused ($u0 -> $u1, taken +$((v1 - v0)))"
	done
	if [[ $taken == *100* ]]; then
		ip -n "$EDGE" link del e1ad100q101 && ip -n "$EDGE" link del e1ad100 &&
			ip -n "$EDGE" link del e1q100
	fi
}

# vlan_ok: this kernel has 802.1Q devices (CONFIG_VLAN_8021Q)
vlan_ok() {
	ip -n "$EDGE" link add link eth1 name e1probe type vlan id 4000 2>/dev/null &&
		ip -n "$EDGE" link del e1probe
}

# vlan_host NAME ADDR VLANTAG-ARGS...: a host NAME (namespace) on the agents' link
# at 10.77.2.ADDR (a macvlan on the agent namespace's eth0) whose every frame
# carries the tags tools/vlantag puts on (--vid N [--ad] [--inner N]); it
# knows the edge's MAC (who answers ARP on a VLAN depends on the VLAN). Sets VNS.
vlan_host() {
	local name=$1 addr=$2
	shift 2

	VNS=$(t_netns "$name") || return 1
	ip -n "$AGENT" link add link eth0 name "mv$addr" type macvlan mode bridge &&
		ip -n "$AGENT" link set "mv$addr" netns "$VNS" &&
		ip -n "$VNS" addr add "10.77.2.$addr/24" dev "mv$addr" &&
		ip -n "$VNS" link set "mv$addr" up &&
		ip -n "$VNS" neigh add 10.77.2.1 lladdr "$(edge_mac)" dev "mv$addr" nud permanent &&
		t_ns "$VNS" "$T_BUILD/tools/vlantag" attach "mv$addr" "$@"
}

# vlan_agent NS NAME: an agent in NS for a tunnel to local port 9 (never dialled)
vlan_agent() {
	BEAM_TOKEN=$TUN_TOKEN t_bg "$1" "$2" beam tcp 9 --edge "$EDGE_AGENT_HP:4433" --pin "$FP"
}

# vlan_agent_ups NS NAME N: start and stop an agent in NS N times; prints how
# many times its tunnel came up
vlan_agent_ups() {
	local i ok=0

	for i in $(seq 1 "$3"); do
		vlan_agent "$1" "$2$i"
		t_wait_for 15 grep -q 'tunnel up' "$T_DIR/$2$i.log" && ok=$((ok + 1))
		kill -TERM "$(tun_pid "$2$i")"
		t_wait_for 5 bash -c "! kill -0 $(tun_pid "$2$i") 2>/dev/null"
	done
	echo "$ok"
}

# An agent behind a VLAN the edge has comes up every time: priority tags
# (VLAN 0, no device needed), and VLAN 200 once the edge has eth1.200 (kernels
# with 802.1Q devices). One behind VLAN 210, which the edge has not, never
# does: AF_XDP refuses its frames as the kernel would, and counts them; once
# the edge gets a VLAN 210 device, that agent gets in without a restart.
test_xdp_agent_behind_vlan() {
	local ns ok u0 u1 v0 v1 vlans xsk0 sock0

	vlan_host vprio 30 --vid 0 || t_fail "could not build the priority-tagged host"
	v0=$(xdp_metric 'beam_xsk_rx_vlan_tagged_total{tags="1"}')
	xsk0=$(stat_packets to_xsk) sock0=$(stat_packets to_socket)
	ok=$(vlan_agent_ups "$VNS" vprio 3)
	v1=$(xdp_metric 'beam_xsk_rx_vlan_tagged_total{tags="1"}')
	t_log "agent behind priority tags (VLAN 0): up $ok of 3, tagged frames taken +$((v1 - v0))," \
		"XDP to_xsk +$(($(stat_packets to_xsk) - xsk0)) to_socket +$(($(stat_packets to_socket) - sock0))"
	[[ $ok == 3 ]] || t_fail "an agent sending priority tags came up $ok times of 3"
	# TODO(#6): now and then (1 run in 3-6 here) none of the three agents'
	# frames is counted tagged although the tool tags them in the frame; the
	# cause is not found. The VLAN 210 half below proves tags arrive. The log
	# line above says which path the frames took, and the steering misses
	# follow when it happens.
	if [[ $v1 -le $v0 ]]; then
		t_ns "$EDGE" beam-xdp stats eth1 | sed 's/^/# /' >&2
		ok=$(vlan_agent_ups "$VNS" vprio-again 3)
		v1=$(xdp_metric 'beam_xsk_rx_vlan_tagged_total{tags="1"}')
		t_log "again: up $ok of 3, tagged frames taken +$((v1 - v0))"
	fi
	[[ $v1 -gt $v0 ]] || t_fail "the agent's frames did not arrive tagged"

	vlans=no && vlan_ok && vlans=yes
	if [[ $vlans == yes ]]; then
		ip -n "$EDGE" link add link eth1 name eth1.200 up type vlan id 200 ||
			t_fail "could not add the edge's VLAN 200"
		vlan_host vgood 31 --vid 200 || t_fail "could not build the VLAN 200 host"
		ok=$(vlan_agent_ups "$VNS" vgood 3)
		t_log "agent behind VLAN 200 (the edge has it): up $ok of 3"
		[[ $ok == 3 ]] || t_fail "an agent behind the edge's VLAN 200 came up $ok times of 3"
	else
		t_log "this kernel has no 802.1Q devices: the edge cannot have a VLAN, parts skipped"
	fi

	vlan_host vbad 32 --vid 210 || t_fail "could not build the VLAN 210 host"
	ns=$VNS
	u0=$(xdp_metric 'beam_xsk_rx_dropped_total{reason="vlan_unknown"}')
	vlan_agent "$ns" vbad
	t_wait_for 10 vlan_unknown_reach $((u0 + 1)) || true
	sleep 2 # the Initial's first retransmissions
	u1=$(xdp_metric 'beam_xsk_rx_dropped_total{reason="vlan_unknown"}')
	t_log "agent behind VLAN 210 (the edge has none): vlan_unknown $u0 then $u1"
	! grep -q 'tunnel up' "$T_DIR/vbad.log" ||
		t_fail "an agent behind VLAN 210, which the edge lacks, came up through AF_XDP"
	[[ $u1 -gt $u0 ]] || t_fail "its frames were not counted as vlan_unknown"

	if [[ $vlans == yes ]]; then
		# the edge gets VLAN 210 while beamd runs: the agent's next try gets in
		ip -n "$EDGE" link add link eth1 name eth1.210 up type vlan id 210 ||
			t_fail "could not add the edge's VLAN 210"
		t_wait_for 40 grep -q 'tunnel up' "$T_DIR/vbad.log" ||
			t_fail "VLAN 210 added on the edge, the agent behind it still not up"
		ip -n "$EDGE" link del eth1.210 && ip -n "$EDGE" link del eth1.200
	fi
	kill -TERM "$(tun_pid vbad)"
}

test_xdp_thousand_connections() {
	local before after

	t_bg "$AGENT" echosrv python3 "$MANY" serve 9002
	t_wait_for 10 grep -q ready "$T_DIR/echosrv.log"
	tun_agent agentecho 9002
	before=$(stat_packets to_xsk)
	t_ns "$CLI" python3 "$MANY" run "$EDGE_PUB" "$PUB_PORT" 1000
	after=$(stat_packets to_xsk)
	t_log "to_xsk +$((after - before)) for 1000 connections"
	[[ $after -gt $((before + 1000)) ]]
}

test_xdp_both_paths_one_connection() {
	local want got xsk0 sock0 xsk1 sock1 size=$((256 << 20)) out=$T_DIR/both.out pid

	# 256 MiB while steering goes off and on at each quarter: the same QUIC
	# connection arrives now through the socket, now through AF_XDP.
	big_tunnel agentboth 256 9003
	want=$(stream 256 | sha256sum | cut -d' ' -f1)
	xsk0=$(stat_packets to_xsk)
	sock0=$(stat_packets to_socket)
	t_ns "$EDGE" beam-xdp attach eth1 --no-steer >/dev/null
	t_ns "$CLI" timeout 300 socat -u TCP:$EDGE_PUB:$PUB_PORT - >"$out" &
	pid=$!
	wait_size "$out" $((size / 4))
	t_ns "$EDGE" beam-xdp attach eth1 --steer >/dev/null
	wait_size "$out" $((size / 2))
	t_ns "$EDGE" beam-xdp attach eth1 --no-steer >/dev/null
	wait_size "$out" $((size * 3 / 4))
	t_ns "$EDGE" beam-xdp attach eth1 --steer >/dev/null
	wait $pid
	got=$(sha256sum <"$out" | cut -d' ' -f1)
	rm -f "$out"
	xsk1=$(stat_packets to_xsk)
	sock1=$(stat_packets to_socket)
	t_log "to_xsk +$((xsk1 - xsk0)), to_socket +$((sock1 - sock0))"
	[[ $got == "$want" ]] || t_fail "sha256 $got, want $want"
	[[ $((xsk1 - xsk0)) -gt 1000 && $((sock1 - sock0)) -gt 1000 ]]
}

# timed_fetch SHA: one download of the big tunnel at $PUB_PORT; sets FETCH_MS
# and fails unless its SHA-256 is SHA.
timed_fetch() {
	local start got

	start=$(date +%s%3N)
	got=$(t_ns "$CLI" timeout 300 socat -u TCP:$EDGE_PUB:$PUB_PORT - | sha256sum | cut -d' ' -f1)
	FETCH_MS=$(($(date +%s%3N) - start))
	[[ $got == "$1" ]] || t_fail "sha256 $got, want $1"
}

# forge NAME [--sport N]: forged frames from the agent's IP with another MAC
# during one timed download; sets SENT, TO_FAKE, ANSWERED.
forge() {
	local name=$1 res edge_mac
	shift

	edge_mac=$(ip -n "$EDGE" -br link show eth1 | awk '{ print $3 }')
	t_bg "$AGENT" "$name" python3 "$T_ROOT/tests/tools/forge-nexthop.py" eth0 --src 10.77.2.2 \
		--dst 10.77.2.1 --dst-mac "$edge_mac" --fake-mac $FAKE_MAC --stop "$T_DIR/$name.stop" "$@"
	t_wait_for 10 grep -q ready "$T_DIR/$name.log" || t_fail "forge-nexthop.py did not start"
	timed_fetch "$WANT"
	touch "$T_DIR/$name.stop"
	t_wait_for 10 grep -q '^sent' "$T_DIR/$name.log" || t_fail "forge-nexthop.py did not finish"
	res=$(grep '^sent' "$T_DIR/$name.log")
	read -r _ SENT _ TO_FAKE _ ANSWERED <<<"$res"
}

test_xdp_forged_next_hop() {
	local ref port unproven FAKE_MAC=02:66:6f:72:67:65 WANT SENT TO_FAKE ANSWERED

	# Frames from the agent's own IP but another MAC (no QUIC keys behind
	# them) must not move beamd's replies to that MAC: the next hop of a
	# peer QUIC authenticated changes only with packets QUIC accepted. First
	# from random ports (each is a new peer: its stateless resets go to the
	# forger, rightly), then from the agent's own port.
	big_tunnel agentforge 128 9005
	WANT=$(stream 128 | sha256sum | cut -d' ' -f1)
	timed_fetch "$WANT"
	ref=$FETCH_MS
	forge forge
	t_log "128 MiB in $ref ms alone, $FETCH_MS ms under $SENT forged frames" \
		"(x$(awk -v a="$FETCH_MS" -v b="$ref" 'BEGIN { printf "%.2f", a / b }')); $TO_FAKE frames" \
		"to the fake MAC for the agent, $ANSWERED answers to the forged ports"
	((SENT > 1000)) || t_fail "only $SENT forged frames went out"
	((TO_FAKE == 0)) || t_fail "$TO_FAKE frames went to the forged MAC $FAKE_MAC"
	port=$(t_ns "$AGENT" ss -Hunp | grep "pid=$(tun_pid agentforge)," | grep -o '10\.77\.2\.2:[0-9]*' |
		sed 's/.*://' | head -1)
	[[ $port =~ ^[0-9]+$ ]] || t_fail "no UDP port for the agent: $(t_ns "$AGENT" ss -Hunp)"
	unproven=$(xdp_metric 'beam_xsk_next_hop_events_total{event="unproven"}')
	forge forge-port --sport "$port"
	unproven=$(($(xdp_metric 'beam_xsk_next_hop_events_total{event="unproven"}') - unproven))
	t_log "from the agent's port $port: $SENT forged frames, $TO_FAKE to the fake MAC," \
		"next-hop events unproven +$unproven"
	((SENT > 1000)) || t_fail "only $SENT forged frames went out"
	((TO_FAKE == 0)) || t_fail "$TO_FAKE frames went to the forged MAC $FAKE_MAC"
	((unproven >= 100)) || t_fail "/metrics counted $unproven unproven frames"
	[[ $(xdp_metric 'beam_xsk_next_hop_events_total{event="changed"}') == 0 ]] ||
		t_fail "/metrics counts a next-hop change"
}

test_xdp_replayed_next_hop() {
	local agent_mac FAKE_MAC=02:72:65:70:6c:79 WANT SENT TO_FAKE ANSWERED

	# Genuine packets of the agent, resent by someone on the link with another
	# MAC, open under the connection's keys; ngtcp2 drops them as duplicates
	# but its read still succeeds. They must not move the replies either.
	big_tunnel agentreplay 64 9006
	WANT=$(stream 64 | sha256sum | cut -d' ' -f1)
	agent_mac=$(ip -n "$AGENT" -br link show eth0 | awk '{ print $3 }')
	forge replay --replay "$agent_mac"
	t_log "64 MiB in $FETCH_MS ms under $SENT replayed packets; $TO_FAKE frames to the replayer's MAC"
	((SENT > 1000)) || t_fail "only $SENT packets replayed"
	((TO_FAKE == 0)) || t_fail "$TO_FAKE frames went to the replayer's MAC $FAKE_MAC"
}

test_xdp_agent_changes_mac() {
	local mac0 changed both ref ms mover WANT NEW_MAC=02:6e:65:77:6d:63

	# The agent's own MAC changes mid-download (new hardware, a failover).
	# Its packets, accepted by QUIC, come from the new MAC; until the switch
	# is decided (1 s alone on the new path), beamd answers on both paths, so
	# the download goes on at once instead of stalling for the wait.
	big_tunnel agentmac 256 9007
	WANT=$(stream 256 | sha256sum | cut -d' ' -f1)
	timed_fetch "$WANT"
	ref=$FETCH_MS
	changed=$(xdp_metric 'beam_xsk_next_hop_events_total{event="changed"}')
	both=$(xdp_metric beam_xsk_tx_both_paths_total)
	mac0=$(ip -n "$AGENT" -br link show eth0 | awk '{ print $3 }')
	t_defer "ip -n $AGENT link set dev eth0 address $mac0; ip -n $EDGE neigh flush dev eth1"
	(sleep 0.3 && ip -n "$AGENT" link set dev eth0 address $NEW_MAC &&
		ip -n "$EDGE" neigh flush dev eth1) &
	mover=$!
	timed_fetch "$WANT"
	wait "$mover"
	ms=$FETCH_MS
	changed=$(($(xdp_metric 'beam_xsk_next_hop_events_total{event="changed"}') - changed))
	both=$(($(xdp_metric beam_xsk_tx_both_paths_total) - both))
	t_log "256 MiB in $ref ms, $ms ms with the agent's MAC changed 0.3 s in" \
		"(x$(awk -v a="$ms" -v b="$ref" 'BEGIN { printf "%.2f", a / b }'));" \
		"next hop changed +$changed, datagrams sent on both paths +$both"
	((changed >= 1)) || t_fail "beamd never took the agent's new MAC"
	((both > 0)) || t_fail "nothing went out on both paths while the switch waited"
	ip -n "$AGENT" link set dev eth0 address "$mac0"
	ip -n "$EDGE" neigh flush dev eth1
	kill "$(tun_pid agentmac)"
}

test_xdp_sigkill_restart() {
	local got

	kill -KILL "$(tun_pid edge)"
	t_wait_for 5 bash -c "! kill -0 $(tun_pid edge) 2>/dev/null"
	# Same interface, no cleanup: the XDP link stays, the socket's xsks
	# entry went with the process.
	tun_edge --grace 20 --xdp eth1
	grep -q "XDP mode on 'eth1'" "$T_DIR/edge.log"
	tun_agent agent2 8080 --name after-sigkill
	got=$(t_ns "$CLI" curl -sS --max-time 10 "http://$EDGE_PUB_URL:$PUB_PORT/")
	[[ $got == "hello through beam $T_RUN" ]]
}

test_xdp_dual_stack_socket() {
	local got before after

	# A dual-stack socket reports IPv4 peers IPv4-mapped; AF_XDP frames must
	# look the same, or one agent would be two paths.
	kill -TERM "$(tun_pid edge)"
	t_wait_for 5 bash -c "! kill -0 $(tun_pid edge) 2>/dev/null"
	tun_edge --grace 20 --xdp eth1 --listen "[::]:4433"
	tun_agent agent5 8080 --name dual-stack
	before=$(stat_packets to_xsk)
	got=$(t_ns "$CLI" curl -sS --max-time 10 "http://$EDGE_PUB_URL:$PUB_PORT/")
	after=$(stat_packets to_xsk)
	[[ $got == "hello through beam $T_RUN" ]]
	[[ $after -gt $before ]]
	grep -q "authenticated as 'alice'" "$T_DIR/edge.log"
}

test_xdp_fallback_when_queue_taken() {
	local got

	kill -TERM "$(tun_pid edge)"
	t_wait_for 5 bash -c "! kill -0 $(tun_pid edge) 2>/dev/null"
	# The beamd that stopped sent its answers through AF_XDP TX too.
	t_log "$(grep -o 'packet paths: .*' "$T_DIR/edge.log")"
	grep -qE 'worker 0: packet paths: AF_XDP rx [1-9][0-9]* tx [1-9]' "$T_DIR/edge.log"
	# Another program holds queue 0 (bound, not in beam's xsks): beamd says
	# why once and runs on the socket.
	t_bg "$EDGE" squatter "$T_BUILD/bench/xsk-echo" eth1 --no-register
	t_wait_for 5 grep -q ready "$T_DIR/squatter.log"
	tun_edge --grace 20 --xdp eth1
	[[ $(grep -c 'AF_XDP on .eth1. queue 0 not used' "$T_DIR/edge.log") -eq 1 ]]
	t_log "$(grep 'not used' "$T_DIR/edge.log")"
	quiet_fallback
	tun_agent agent3 8080 --name queue-taken
	got=$(t_ns "$CLI" curl -sS --max-time 10 "http://$EDGE_PUB_URL:$PUB_PORT/")
	kill -TERM "$(tun_pid squatter)"
	# The queue is free only once the squatter is gone: the next test binds it.
	t_wait_for 10 bash -c "! kill -0 $(tun_pid squatter) 2>/dev/null"
	[[ $got == "hello through beam $T_RUN" ]]
}

test_xdp_generic_mode_splits_by_size() {
	local want got xsk0 sock0 xsk1 sock1 out=$T_DIR/generic.out

	kill -TERM "$(tun_pid edge)"
	t_wait_for 5 bash -c "! kill -0 $(tun_pid edge) 2>/dev/null"
	# Generic XDP sees the agent's GSO trains whole, bigger than a UMEM frame:
	# the program passes those to the socket and redirects what fits.
	t_ns "$EDGE" beam-xdp attach eth1 --mode generic >/dev/null
	tun_edge --grace 20 --xdp eth1
	grep -q "XDP mode on 'eth1': AF_XDP on queue 0" "$T_DIR/edge.log" ||
		t_fail "beamd did not use AF_XDP behind generic XDP: $(grep -i xdp "$T_DIR/edge.log")"
	big_tunnel agentgen 64 9004
	want=$(stream 64 | sha256sum | cut -d' ' -f1)
	xsk0=$(stat_packets to_xsk)
	sock0=$(stat_packets to_socket)
	# once in a CI run this download ended early without a word: say how
	t_ns "$CLI" timeout 300 socat -u TCP:$EDGE_PUB:$PUB_PORT - >"$out" ||
		t_fail "download ended early (rc $?, $(stat -c %s "$out") bytes): edge: $(tail -3 "$T_DIR/edge.log"); agent: $(tail -3 "$T_DIR/agentgen.log")"
	got=$(sha256sum <"$out" | cut -d' ' -f1)
	rm -f "$out"
	xsk1=$(stat_packets to_xsk)
	sock1=$(stat_packets to_socket)
	t_log "generic mode: to_xsk +$((xsk1 - xsk0)), to_socket +$((sock1 - sock0))"
	t_ns "$EDGE" beam-xdp attach eth1 --mode native >/dev/null
	[[ $got == "$want" ]] || t_fail "sha256 $got, want $want"
	[[ $((xsk1 - xsk0)) -gt 0 ]] || t_fail "nothing went through AF_XDP"
}

test_xdp_fallback_without_rights() {
	local got

	command -v setpriv >/dev/null || t_skip "setpriv missing"
	kill -TERM "$(tun_pid edge)"
	t_wait_for 5 bash -c "! kill -0 $(tun_pid edge) 2>/dev/null"
	# Root still, but without the capabilities BPF and AF_XDP need.
	t_bg "$EDGE" edge setpriv --bounding-set=-bpf,-sys_admin,-net_admin,-net_raw,-perfmon \
		beamd --listen "$EDGE_AGENT_HP:4433" --tokens "$T_DIR/tokens" --grace 20 --xdp eth1
	tun_listening edge || t_fail "beamd without the capabilities is not up"
	FP=$(tun_fp edge)
	t_log "$(grep 'not used' "$T_DIR/edge.log")"
	[[ $(grep -c 'AF_XDP on .eth1. queue 0 not used' "$T_DIR/edge.log") -eq 1 ]]
	quiet_fallback
	# its own name: the agents of the tests before come back with the default one
	tun_agent agent6 8080 --name nocaps
	got=$(t_ns "$CLI" curl -sS --max-time 10 "http://$EDGE_PUB_URL:$PUB_PORT/")
	[[ $got == "hello through beam $T_RUN" ]]
}

t_test test_xdp_mode_on "beamd --xdp eth1 attached beam's program and an AF_XDP socket"
t_test test_xdp_curl "curl through the tunnel, counted as XSK redirects"
t_test test_xdp_big_transfer_sha256 "$BIG_MB MiB through the tunnel, SHA-256 equal, via AF_XDP"
t_test test_xdp_to_user_latency_metric "/metrics has the XDP-to-user delay of the redirected packets"
t_test test_xdp_path_metrics "/metrics: AF_XDP packets by path, bad UDP checksums by reason"
t_test test_xdp_vlan_tagged_counted "/metrics counts AF_XDP frames with one and two VLAN tags the edge has, refuses the others"
t_test test_xdp_agent_behind_vlan "an agent behind the edge's VLAN comes up, one behind another VLAN is refused and counted"
t_test test_xdp_thousand_connections "1,000 concurrent connections, each echoed byte for byte"
t_test test_xdp_both_paths_one_connection "one connection over both paths (steering toggled), SHA-256 equal"
t_test test_xdp_forged_next_hop "forged frames with the agent's IP and another MAC: no reply goes to that MAC"
t_test test_xdp_replayed_next_hop "genuine packets replayed with another MAC: no reply goes to that MAC"
t_test test_xdp_agent_changes_mac "the agent's MAC changes mid-download: answers on both paths until the switch, SHA-256 equal"
t_test test_xdp_sigkill_restart "SIGKILL beamd, a new one takes the interface without cleanup"
t_test test_xdp_dual_stack_socket "beamd on [::]:4433 with --xdp: IPv4 agents over AF_XDP"
t_test test_xdp_fallback_when_queue_taken "queue taken: one warning, the socket path carries the tunnel"
t_test test_xdp_generic_mode_splits_by_size "generic mode: frames that fit go to AF_XDP, GRO trains to the socket, 64 MiB intact"
t_test test_xdp_fallback_without_rights "no BPF/AF_XDP capabilities: one warning, the socket path works"
t_done
