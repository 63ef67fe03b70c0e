#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_xdp_in_use.sh - beam-xdp and a running `beamd --xdp eth1` that holds the
# program's maps: detach refuses and names beamd unless --force; an attach in
# another mode keeps the maps, and beamd carries on; a forced detach makes
# beamd say once, as an error, that its AF_XDP path and conns are cut off, and
# a new attach (new maps) gets beamd's AF_XDP socket registered in them.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tunnel_lib.sh"
t_require_root
t_require_tools curl python3

tun_topo 4 || t_setup_fail "could not build the namespaces"
t_ns "$EDGE" beam-xdp attach eth1 --mode native --port 4433 >/dev/null ||
	t_setup_fail "beam-xdp attach failed"
t_defer "nsenter --net=/run/netns/$EDGE $T_BUILD/beam-xdp detach --force eth1"
tun_http 8080 "in use $T_RUN" || t_setup_fail "python3 http.server did not start"
TUN_XDP=1 tun_edge || t_setup_fail "beamd --xdp did not start"
grep -q "XDP mode on 'eth1'" "$T_DIR/edge.log" || t_setup_fail "beamd did not use AF_XDP"
tun_agent agent 8080 || t_setup_fail "the agent did not bring the tunnel up"

xsk_packets() {
	t_ns "$EDGE" beam-xdp stats eth1 --json |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["reasons"]["to_xsk"]["packets"])'
}

curl_ok() {
	[[ $(t_ns "$CLI" curl -sS --max-time 10 "http://$EDGE_PUB_URL:$PUB_PORT/") == "in use $T_RUN" ]]
}

test_detach_refused_while_beamd_runs()
{
	local out rc=0

	out=$(t_ns "$EDGE" beam-xdp detach eth1 2>&1) || rc=$?
	t_log "$out"
	[[ $rc -ne 0 ]] || t_fail "detach went through under a running beamd"
	grep -q "refusing to detach from 'eth1': beamd $(tun_pid edge) uses its maps" <<<"$out" ||
		t_fail "the refusal does not name beamd: $out"
	t_ns "$EDGE" beam-xdp status eth1 | grep -q "beam's XDP program" || t_fail "beam is gone from eth1"
	curl_ok || t_fail "the tunnel broke"
}

# xsk_carries WHEN: a request through the tunnel still works and adds to the
# packets XDP redirected to beamd's AF_XDP socket
xsk_carries() {
	local before after

	before=$(xsk_packets)
	curl_ok || t_fail "the tunnel broke $1"
	after=$(xsk_packets)
	t_log "$1: to_xsk $before -> $after"
	[[ $after -gt $before ]] || t_fail "nothing reached the AF_XDP socket $1"
}

test_mode_change_keeps_beamd_going()
{
	t_ns "$EDGE" beam-xdp attach eth1 --mode generic >/dev/null || t_fail "attach --mode generic"
	t_wait_for 5 grep -q "beam's XDP program on 'eth1' has a new link over the same maps" \
		"$T_DIR/edge.log" || t_fail "beamd did not take the new link on"
	sleep 3 # past the grace beamd gives a missing link
	xsk_carries "after the mode change"
	! grep -q 'error:' "$T_DIR/edge.log" || t_fail "beamd logged an error: $(grep error: "$T_DIR/edge.log")"
}

test_forced_detach_is_reported_once()
{
	local out

	out=$(t_ns "$EDGE" beam-xdp detach --force eth1 2>&1) || t_fail "detach --force failed: $out"
	grep -q "detaching from 'eth1' under beamd" <<<"$out" || t_fail "no warning: $out"
	t_wait_for 8 grep -q "beam's XDP program on 'eth1' was detached" "$T_DIR/edge.log" ||
		t_fail "beamd did not notice its program went"
	sleep 2
	[[ $(grep -c "beam's XDP program on 'eth1' was detached" "$T_DIR/edge.log") -eq 1 ]] ||
		t_fail "said more than once"
	# the socket path still carries the tunnel
	curl_ok || t_fail "the tunnel broke without XDP"

	# a new attach makes new maps: beamd (root) puts its AF_XDP socket in them
	t_ns "$EDGE" beam-xdp attach eth1 --mode generic >/dev/null || t_fail "attach again"
	t_wait_for 5 grep -q "came back with new maps: 1 AF_XDP socket registered" "$T_DIR/edge.log" ||
		t_fail "beamd did not register its socket in the new xsks map"
	xsk_carries "after the new attach (new maps)"
}

# beamd_usage WANT ARGS...: beamd exits 2 at once (configuration error), saying WANT
beamd_usage()
{
	local want=$1 rc=0
	shift

	t_ns "$EDGE" timeout 10 beamd --listen "$EDGE_AGENT_HP:4439" --tokens "$T_DIR/tokens" "$@" \
		>"$T_DIR/usage.log" 2>&1 || rc=$?
	[[ $rc -eq 2 ]] && grep -qF -- "$want" "$T_DIR/usage.log" || {
		t_log "beamd $*: rc $rc: $(cat "$T_DIR/usage.log")"
		return 1
	}
}

test_bad_xdp_interface_is_usage_error()
{
	beamd_usage "invalid --xdp 'nosuch0': no such interface" --xdp nosuch0 ||
		t_fail "--xdp nosuch0"
	beamd_usage "invalid --xdp '': no such interface" --xdp '' || t_fail "--xdp ''"
	beamd_usage "--xdp 'eth1' and --iface 'lo' differ" --xdp eth1 --iface lo ||
		t_fail "--xdp eth1 --iface lo"
}

config_workers()
{
	bpftool -j map dump pinned "$BEAM_PIN_ROOT/eth1/config" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["formatted"]["value"]["workers"])'
}

# A second beamd --xdp on eth1 (another port) leaves AF_XDP to the first: it
# says why once, runs on its UDP socket, and does not touch the config's
# worker count; agents of each beamd reach their own (pinned certificates).
test_second_beamd_stays_off_xdp()
{
	local workers i fp2 pid2 pub=$PUB_PORT

	t_ns "$EDGE" beam-xdp attach eth1 --port 4433 --port 4434 >/dev/null ||
		t_fail "attach with two ports"
	workers=$(config_workers)
	tun_beamd edge2 4434 --xdp eth1 --workers 2 || t_fail "the second beamd did not start"
	fp2=$(tun_fp edge2)
	pid2=$(tun_pid edge2)
	t_log "$(grep 'not used' "$T_DIR/edge2.log")"
	[[ $(grep -c "AF_XDP on 'eth1' queue 0 not used.*beamd $(tun_pid edge) holds its xsks map" \
		"$T_DIR/edge2.log") -eq 1 ]] || t_fail "the second beamd did not say once why: $(cat "$T_DIR/edge2.log")"
	! grep -q "XDP mode on" "$T_DIR/edge2.log" || t_fail "the second beamd took a queue"
	[[ $(config_workers) == "$workers" ]] || t_fail "config workers $workers -> $(config_workers)"
	t_ns "$EDGE" beam-xdp status eth1 | grep -q "steering on (AF_XDP for port 4433, $workers worker" ||
		t_fail "status does not name the AF_XDP port: $(t_ns "$EDGE" beam-xdp status eth1 | head -3)"
	# agents of both, on source ports the queues spread
	for i in 1 2 3 4; do
		tun_agent "a1-$i" 8080 --name "one-$i" || t_fail "agent $i of the first beamd"
		FP=$fp2 TUN_EDGE_PORT=4434 tun_agent "a2-$i" 8080 --name "two-$i" ||
			t_fail "agent $i of the second beamd"
	done
	kill -TERM "$pid2"
	t_wait_for 5 bash -c "! kill -0 $pid2 2>/dev/null" || t_fail "the second beamd did not stop"
	[[ $(config_workers) == "$workers" ]] || t_fail "config workers after exit: $(config_workers)"
	PUB_PORT=$pub
	xsk_carries "with a second beamd on eth1"
}

# eth1 deleted and made again under beamd: its AF_XDP socket stays bound to the
# dead interface, so beamd takes it out of xsks (one warning) and QUIC reaches
# its UDP socket; a new agent brings a tunnel up and curl goes through.
test_recreated_interface_falls_back_to_socket()
{
	local before after pub

	ip -n "$EDGE" link del eth1 || t_fail "cannot delete eth1"
	t_veth eth1 "$EDGE" eth0 "$AGENT" || t_fail "cannot re-create eth1"
	ip -n "$EDGE" addr add 10.77.2.1/24 dev eth1
	ip -n "$AGENT" addr add 10.77.2.2/24 dev eth0
	t_ns "$EDGE" beam-xdp attach eth1 >/dev/null || t_fail "attach on the new eth1"
	t_wait_for 5 grep -q "interface 'eth1' was deleted or re-created" "$T_DIR/edge.log" ||
		t_fail "beamd did not notice eth1 went: $(tail -5 "$T_DIR/edge.log")"
	t_log "$(grep "deleted or re-created" "$T_DIR/edge.log")"
	tun_agent anew 8080 --name after-recreate || t_fail "no agent came up after the re-creation"
	before=$(xsk_packets)
	curl_ok || t_fail "curl through the new tunnel failed"
	after=$(xsk_packets)
	[[ $after -eq $before ]] || t_fail "XDP redirected $((after - before)) frames to a dead socket"
	[[ $(grep -c "deleted or re-created" "$T_DIR/edge.log") -eq 1 ]] || t_fail "said more than once"
}

# A beamd that reads eth1's maps without AF_XDP (--iface, no --xdp) does not
# hold xsks, so a beamd --xdp started after it gets AF_XDP.
test_iface_beamd_leaves_xdp_free()
{
	t_ns "$EDGE" beam-xdp attach eth1 --port 4433 --port 4434 >/dev/null ||
		t_fail "attach with two ports"
	kill -TERM "$(tun_pid edge)"
	t_wait_for 5 bash -c "! kill -0 $(tun_pid edge) 2>/dev/null" || t_fail "beamd did not stop"
	tun_beamd edge3 4434 --iface eth1 || t_fail "beamd --iface eth1 did not start"
	tun_beamd edge4 4433 --xdp eth1 || t_fail "beamd --xdp eth1 did not start"
	t_log "$(grep -h "XDP mode on\|not used" "$T_DIR/edge4.log")"
	grep -q "XDP mode on 'eth1'" "$T_DIR/edge4.log" ||
		t_fail "beamd --xdp was kept off AF_XDP: $(grep 'not used' "$T_DIR/edge4.log")"
	kill -TERM "$(tun_pid edge3)" "$(tun_pid edge4)"
}

t_test test_bad_xdp_interface_is_usage_error "--xdp with no such interface, or another --iface: exit 2"
t_test test_second_beamd_stays_off_xdp "a second beamd --xdp on eth1 keeps off AF_XDP and the config; agents reach their own"
t_test test_detach_refused_while_beamd_runs "detach under a running beamd is refused and names it"
t_test test_mode_change_keeps_beamd_going "attach in another mode keeps the maps: AF_XDP goes on, no error"
t_test test_forced_detach_is_reported_once "detach --force: beamd says once it is cut off; a new attach gets its AF_XDP socket back"
t_test test_recreated_interface_falls_back_to_socket "eth1 deleted and re-created under beamd: AF_XDP off (one warning), a new agent's tunnel works"
t_test test_iface_beamd_leaves_xdp_free "a beamd with --iface and no --xdp does not keep a later beamd --xdp off AF_XDP"
t_done
