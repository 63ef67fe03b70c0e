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

t_test test_bad_xdp_interface_is_usage_error "--xdp with no such interface, or another --iface: exit 2"
t_test test_detach_refused_while_beamd_runs "detach under a running beamd is refused and names it"
t_test test_mode_change_keeps_beamd_going "attach in another mode keeps the maps: AF_XDP goes on, no error"
t_test test_forced_detach_is_reported_once "detach --force: beamd says once it is cut off; a new attach gets its AF_XDP socket back"
t_done
