#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_tunnel_liveness.sh - an idle tunnel stays up on keep-alive PINGs; a
# peer that vanishes (link down, no close) is noticed within the idle timeout
# on both sides, and the agent comes back when the path does; a frozen peer
# that leaves data unanswered is dropped after --unresponsive-timeout.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tunnel_lib.sh"
t_require_root
t_require_tools python3 curl

IDLE=3
METRICS=127.0.0.1:9466 # the second edge's (edge-u)
tun_topo 4 || t_setup_fail "could not build the namespaces"
tun_edge --idle-timeout $IDLE --grace 30 || t_setup_fail "beamd did not start"
tun_http 8080 "alive $T_RUN" || t_setup_fail "python3 http.server did not start"
tun_agent agent 8080 --idle-timeout $IDLE -v || t_setup_fail "the agent did not bring the tunnel up"

get() { t_ns "$CLI" curl -sS --max-time 5 "http://$EDGE_PUB_URL:$PUB_PORT/"; }

test_idle_kept_alive() {
	# three idle timeouts without a byte of tunnel traffic
	sleep $((3 * IDLE))
	! grep -q "gone" "$T_DIR/edge.log" || t_fail "edge dropped an idle agent: $(grep gone "$T_DIR/edge.log")"
	[[ $(get) == "alive $T_RUN" ]]
	[[ $(grep -c 'authenticated as' "$T_DIR/edge.log") -eq 1 ]]
}

test_dead_peer_detected() {
	local t0 t1

	# the path dies silently: no CONNECTION_CLOSE can get through
	ip -n "$EDGE" link set eth1 down
	t0=$SECONDS
	t_wait_for $((IDLE + 5)) grep -q "gone" "$T_DIR/edge.log" ||
		t_fail "edge did not notice the dead agent"
	t1=$SECONDS
	t_log "edge noticed after $((t1 - t0)) s (idle timeout $IDLE s)"
	t_wait_for $((IDLE + 5)) grep -q "connection to the edge lost" "$T_DIR/agent.log" ||
		t_fail "agent did not notice the dead edge"
	# the path returns: the agent reconnects to the same port (grace period)
	ip -n "$EDGE" link set eth1 up
	t_wait_for 30 bash -c "[[ \$(grep -c 'tunnel up' $T_DIR/agent.log) -ge 2 ]]" ||
		t_fail "agent did not come back: $(tail -3 "$T_DIR/agent.log")"
	t_wait_for 10 bash -c "[[ \$(nsenter --net=/run/netns/$CLI curl -s --max-time 2 http://$EDGE_PUB_URL:$PUB_PORT/) == 'alive $T_RUN' ]]"
}

test_session_file_resumes() {
	# a new agent process resumes with 0-RTT from the session file
	tun_agent agent-s1 8080 -v --name resume --session-file "$T_DIR/session"
	t_wait_for 5 test -s "$T_DIR/session"
	[[ $(stat -c %a "$T_DIR/session") == 600 ]]
	kill "$(tun_pid agent-s1)"
	tun_agent agent-s2 8080 -v --name resume --session-file "$T_DIR/session"
	grep -q '0-RTT accepted' "$T_DIR/agent-s2.log" ||
		t_fail "no 0-RTT: $(grep -i 'usable\|session' "$T_DIR/agent-s2.log")"
	[[ $(get) == "alive $T_RUN" ]] # the same port came back too
	kill "$(tun_pid agent-s2)"
}

# A second edge with a long idle timeout: what ends a connection there is
# the unresponsive timeout (2 s), and each test says which one it was.
unresp_up() {
	[[ -s $T_DIR/edge-u.log ]] || tun_beamd edge-u 4436 --idle-timeout 60 \
		--unresponsive-timeout 2 --grace 30 --metrics "$METRICS" || return 1
	FP=$(tun_fp edge-u) TUN_EDGE_PORT=4436 tun_agent "$1" 8080 --idle-timeout 60 \
		--unresponsive-timeout 2 -v
}

test_frozen_agent_dropped() {
	local rc=0 port

	unresp_up agent-u || t_fail "tunnel through the second edge"
	port=$PUB_PORT
	kill -STOP "$(tun_pid agent-u)"
	t_defer "kill -CONT $(tun_pid agent-u) 2>/dev/null"
	# a request to the frozen agent: the edge gives up on it, not at 60 s
	t_ns "$CLI" curl -sS --max-time 30 "http://$EDGE_PUB_URL:$port/" >/dev/null 2>&1 || rc=$?
	((rc != 0 && rc != 28)) || t_fail "curl through a frozen agent: exit $rc (28: timed out)"
	grep -q "gone: answered nothing while data waited (unresponsive)" "$T_DIR/edge-u.log" ||
		t_fail "edge: $(grep gone "$T_DIR/edge-u.log")"
	# (workers publish their counts once a second)
	gone_counted() { [[ $(tun_metric 'beam_agent_disconnects_total{reason="unresponsive"}') == 1 ]]; }
	t_wait_for 5 gone_counted || t_fail "not counted: $(tun_scrape | grep disconnects)"
	# thawed, the agent learns it was dropped and comes back on its port
	kill -CONT "$(tun_pid agent-u)"
	t_wait_for 20 bash -c "[[ \$(grep -c 'tunnel up' $T_DIR/agent-u.log) -ge 2 ]]" ||
		t_fail "agent did not come back: $(tail -3 "$T_DIR/agent-u.log")"
	[[ $(tun_pub_port agent-u) == "$port" ]] || t_fail "came back on $(tun_pub_port agent-u)"
	[[ $(t_ns "$CLI" curl -sS --max-time 5 "http://$EDGE_PUB_URL:$port/") == "alive $T_RUN" ]]
	kill "$(tun_pid agent-u)"
}

test_frozen_edge_agent_reconnects() {
	local port

	unresp_up agent-v || t_fail "tunnel through the second edge"
	port=$PUB_PORT
	head -c $((64 << 20)) /dev/zero >"$T_DIR/www/big"
	# a slow download keeps the agent sending while the edge freezes
	t_bg "$CLI" slow-get curl -sS --limit-rate 2M -o /dev/null "http://$EDGE_PUB_URL:$port/big"
	sleep 1
	kill -STOP "$(tun_pid edge-u)"
	t_defer "kill -CONT $(tun_pid edge-u) 2>/dev/null"
	t_wait_for 20 grep -q "it answered nothing for 2 s while data waited (unresponsive)" \
		"$T_DIR/agent-v.log" || t_fail "agent: $(grep -i lost "$T_DIR/agent-v.log")"
	kill -CONT "$(tun_pid edge-u)"
	t_wait_for 20 bash -c "[[ \$(grep -c 'tunnel up' $T_DIR/agent-v.log) -ge 2 ]]" ||
		t_fail "agent did not come back: $(tail -3 "$T_DIR/agent-v.log")"
	[[ $(t_ns "$CLI" curl -sS --max-time 5 "http://$EDGE_PUB_URL:$port/") == "alive $T_RUN" ]]
	kill "$(tun_pid agent-v)" "$(tun_pid slow-get)" 2>/dev/null
	rm -f "$T_DIR/www/big"
}

t_test test_idle_kept_alive "an idle tunnel outlives three idle timeouts (keep-alive PINGs)"
t_test test_dead_peer_detected "a silent peer is noticed within the idle timeout; the agent returns"
t_test test_session_file_resumes "--session-file: a restarted agent resumes with 0-RTT"
t_test test_frozen_agent_dropped "a frozen agent is dropped once a request goes unanswered, not at the idle timeout"
t_test test_frozen_edge_agent_reconnects "an agent sending to a frozen edge gives up in 2 s and comes back"
t_done
