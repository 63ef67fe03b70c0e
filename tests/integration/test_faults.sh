#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_faults.sh - the tunnel survives faults: 100 MiB under 1% loss and
# reordering on both ends of the edge-agent link, the agent SIGKILLed
# mid-transfer, beamd restarted under a live XDP program (also after a
# SIGKILL: a stateless reset tells the agent at once), a stalled local
# service, a public client vanishing without a FIN, one pausing its reads
# for twice the idle timeout, and a NAT rebinding of the agent mid-transfer
# and while idle. Each logs its numbers; 5% and 20% loss and repeated
# rebindings are in tests/stress/.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tunnel_lib.sh"
source "$(dirname "$0")/faults_lib.sh"
t_require_root
t_require_tools python3 curl socat openssl sha256sum
[[ -x $IMPAIR ]] || t_skip_all "tools/impair not built"

IDLE=6
METRICS=127.0.0.1:9464
tun_topo 4 || t_setup_fail "could not build the namespaces"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=beamd \
	-keyout "$T_DIR/key.pem" -out "$T_DIR/cert.pem" >/dev/null 2>&1 ||
	t_setup_fail "openssl could not make a certificate"
t_ns "$EDGE" beam-xdp attach eth1 --mode generic --port 4433 >/dev/null || t_setup_fail "beam-xdp attach failed"
t_defer "nsenter --net=/run/netns/$EDGE $T_BUILD/beam-xdp detach eth1"
EDGE_ARGS=(--grace 20 --idle-timeout "$IDLE" --metrics "$METRICS" --cert "$T_DIR/cert.pem"
	--key "$T_DIR/key.pem")
tun_edge "${EDGE_ARGS[@]}" || t_setup_fail "beamd did not start"

metric() { tun_metric "$1"; }
streams_at_least() { (($(metric beam_streams_active) >= $1)); }
streams_at_most() { (($(metric beam_streams_active) <= $1)); }
# zero_svc_up NAME PORT: a service sending zeros and a tunnel NAME for it
zero_svc_up() {
	t_bg "$AGENT" "$1-svc" python3 "$T_ROOT/tests/integration/helpers/tunnel_svc.py" zero-server "$2"
	t_wait_for 10 t_ns "$AGENT" bash -c "exec 3<>/dev/tcp/127.0.0.1/$2"
	tun_agent "$1" "$2"
}
xdp_to_socket() { t_ns "$EDGE" beam-xdp stats eth1 | awk '$1 == "to_socket" { print $3 }'; }

test_fault_loss_1pct() {
	fault_loss_run 1 1 100 9101
}

test_fault_agent_sigkill() {
	t_bg "$AGENT" zero-svc python3 "$T_ROOT/tests/integration/helpers/tunnel_svc.py" zero-server 9102
	t_wait_for 10 t_ns "$AGENT" bash -c "exec 3<>/dev/tcp/127.0.0.1/9102"
	tun_agent agent-k0 9102
	fault_agent_kill agent-k0 agent-k1 9102 $((IDLE / 2))
	fault_row "agent SIGKILL" 1 "-" 0 "${F_UP_MS} ms (reset ${F_RESET_MS} ms)"
	kill "$(tun_pid agent-k1)" "$(tun_pid zero-svc)"
}

test_fault_beamd_restart() {
	local n0 n1 n t0 t_up link0 link1

	fault_file 8
	fault_file_service agent-r 9103
	fault_download "$PUB_PORT" 30
	[[ $F_GOT == "$F_SHA" ]] || t_fail "download before the restart failed"
	n0=$(xdp_to_socket)
	link0=$(t_ns "$EDGE" beam-xdp status eth1 | head -1)
	n=$(grep -c 'tunnel up' "$T_DIR/agent-r.log")
	kill -TERM "$(tun_pid edge)"
	t_wait_for 10 bash -c "! kill -0 $(tun_pid edge) 2>/dev/null" || t_fail "beamd did not stop"
	t0=$(now_ms)
	# told by beamd's close (application error shutdown), not by its idle timeout
	t_wait_for 5 grep -q 'connection to the edge lost: .*shutdown' "$T_DIR/agent-r.log" ||
		t_fail "the agent did not hear beamd go away: $(tail -2 "$T_DIR/agent-r.log")"
	# beamd gone: the program, its pins and its counters stay
	link1=$(t_ns "$EDGE" beam-xdp status eth1 | head -1)
	[[ $link1 == "$link0" ]] || t_fail "XDP changed while beamd was down: '$link0' -> '$link1'"
	[[ -e $BEAM_PIN_ROOT/eth1/stats && -e $BEAM_PIN_ROOT/eth1/link ]] || t_fail "pins gone"
	mv "$T_DIR/edge.log" "$T_DIR/edge-before-restart.log"
	tun_edge "${EDGE_ARGS[@]}" || t_fail "beamd did not start again"
	t_wait_for 30 bash -c "[[ \$(grep -c 'tunnel up' $T_DIR/agent-r.log) -gt $n ]]" ||
		t_fail "the agent did not come back: $(tail -3 "$T_DIR/agent-r.log")"
	t_up=$(($(now_ms) - t0))
	fault_download "$PUB_PORT" 30
	[[ $F_GOT == "$F_SHA" ]] || t_fail "download after the restart: sha256 differs"
	n1=$(xdp_to_socket)
	t_log "XDP to_socket packets $n0 before the restart, $n1 after; agent back in ${t_up} ms"
	((n1 > n0)) || t_fail "XDP counters did not continue: $n0 -> $n1"
	[[ $(t_ns "$EDGE" beam-xdp status eth1 | head -1) == "$link0" ]] || t_fail "the XDP program was replaced"
	fault_row "beamd restart" 1 $((2 * F_BYTES)) 0 "${t_up} ms"
	kill "$(tun_pid agent-r)" "$(tun_pid agent-r-svc)"
}

test_fault_beamd_sigkill() {
	local n t0 t_up lost

	zero_svc_up agent-x 9108
	n=$(grep -c 'tunnel up' "$T_DIR/agent-x.log")
	kill -KILL "$(tun_pid edge)"
	t_wait_for 10 bash -c "! kill -0 $(tun_pid edge) 2>/dev/null" || t_fail "beamd did not die"
	mv "$T_DIR/edge.log" "$T_DIR/edge-before-kill.log"
	tun_edge "${EDGE_ARGS[@]}" || t_fail "beamd did not start again"
	t0=$(now_ms)
	# the agent's next PING meets the new beamd, which knows the old one's
	# reset secret (the same --key): a stateless reset, not the idle timeout
	t_wait_for $((3 * IDLE)) bash -c "[[ \$(grep -c 'tunnel up' $T_DIR/agent-x.log) -gt $n ]]" ||
		t_fail "the agent did not come back: $(tail -3 "$T_DIR/agent-x.log")"
	t_up=$(($(now_ms) - t0))
	lost=$(grep 'connection to the edge lost' "$T_DIR/agent-x.log" | tail -1)
	t_log "agent back ${t_up} ms after beamd restarted (idle timeout ${IDLE} s): $lost"
	[[ $lost == *"reset by peer"* ]] || t_fail "the agent waited for its idle timeout: $lost"
	((t_up < IDLE * 1000)) || t_fail "the agent took ${t_up} ms, idle timeout ${IDLE} s"
	fault_row "beamd SIGKILL" 1 "-" 0 "${t_up} ms"
	kill "$(tun_pid agent-x)" "$(tun_pid agent-x-svc)"
}

test_fault_stalled_service() {
	local out t0

	t_bg "$AGENT" stall-svc $FAULT_SVC stall-echo-server 9104
	t_wait_for 10 t_ns "$AGENT" bash -c "exec 3<>/dev/tcp/127.0.0.1/9104"
	tun_agent agent-s 9104
	t0=$(now_ms)
	out=$(t_ns "$CLI" timeout 60 $FAULT_SVC stall-client "$EDGE_PUB" "$PUB_PORT" 20) ||
		t_fail "echo streams beside a stalled one failed: $out"
	t_log "$out in $(($(now_ms) - t0)) ms"
	[[ $out == "ok 20 "* ]] || t_fail "$out"
	fault_row "stalled service" 1 $((20 * 2 << 20)) 0 "-"
	kill "$(tun_pid agent-s)" "$(tun_pid stall-svc)"
}

test_fault_client_vanishes() {
	local base t0 t_free now

	t_bg "$AGENT" zero-svc2 python3 "$T_ROOT/tests/integration/helpers/tunnel_svc.py" zero-server 9105
	t_wait_for 10 t_ns "$AGENT" bash -c "exec 3<>/dev/tcp/127.0.0.1/9105"
	tun_agent agent-v 9105
	sleep 0.3
	base=$(metric beam_streams_active)
	t_bg "$CLI" holder $FAULT_SVC hold "$EDGE_PUB" "$PUB_PORT"
	t_wait_for 10 grep -q held "$T_DIR/holder.log" || t_fail "the client did not connect"
	t_wait_for 5 streams_at_least $((base + 2)) ||
		t_fail "no streams for the client's connections (base $base)"
	# the client's packets go nowhere from now on, then it dies: no FIN, no RST
	t_ns "$CLI" "$IMPAIR" attach eth0 --loss 100 >/dev/null
	t_defer "nsenter --net=/run/netns/$CLI $IMPAIR detach eth0"
	kill -KILL "$(tun_pid holder)"
	t0=$(now_ms)
	t_wait_for $((2 * IDLE + 2)) streams_at_most "$base" ||
		t_fail "streams still open $((2 * IDLE + 2)) s after the client vanished: $(metric beam_streams_active) (base $base)"
	t_free=$(($(now_ms) - t0))
	t_log "streams back to $base ${t_free} ms after the client vanished (idle timeout ${IDLE} s)"
	t_ns "$CLI" "$IMPAIR" detach eth0
	fault_row "client vanished" 1 "-" 0 "${t_free} ms"
	kill "$(tun_pid agent-v)" "$(tun_pid zero-svc2)"
}

test_fault_client_pauses() {
	local out

	fault_file 32
	fault_file_service agent-p 9107
	# a reader that stops for twice the idle timeout is alive: its window
	# probes are answered, and it gets every byte after the pause
	out=$(t_ns "$CLI" timeout $((4 * IDLE + 60)) $FAULT_SVC pause-read "$EDGE_PUB" "$PUB_PORT" \
		$((4 << 20)) $((2 * IDLE + 2)))
	t_log "paused reader: $out"
	[[ $out == "eof $((32 << 20)) $F_SHA" ]] ||
		t_fail "a client paused for $((2 * IDLE + 2)) s lost its download: $out (want eof $((32 << 20)))"
	fault_row "client paused" 1 $((32 << 20)) 0 "-"
	kill "$(tun_pid agent-p)" "$(tun_pid agent-p-svc)"
}

# The agent goes after its service sent everything, while the public client is
# not reading: beamd holds the last bytes, and they must still reach the client.
test_fault_agent_gone_after_sending() {
	local out done0

	fault_file 1 # within beamd's first stream window: the agent sends it all at once
	fault_file_service agent-g 9109
	done0=$(metric 'beam_stream_tails_total{result="completed"}')
	t_bg "$CLI" pauser $FAULT_SVC pause-read "$EDGE_PUB" "$PUB_PORT" 65536 6
	sleep 2
	kill "$(tun_pid agent-g)"
	t_wait_for 20 grep -qE "^(eof|reset)" "$T_DIR/pauser.log" ||
		t_fail "the paused client got no end of its download"
	out=$(<"$T_DIR/pauser.log")
	t_log "paused reader, agent gone: $out"
	[[ $out == "eof $((1 << 20)) $F_SHA" ]] ||
		t_fail "the client lost the bytes beamd held when the agent went: $out (want eof $((1 << 20)))"
	tails_done_above() { (($(metric 'beam_stream_tails_total{result="completed"}') > $1)); }
	t_wait_for 5 tails_done_above "$done0" ||
		t_fail "beam_stream_tails_total{result=\"completed\"} stayed at $done0"
	fault_row "agent gone, client paused" 1 $((1 << 20)) 0 "-"
	kill "$(tun_pid agent-g-svc)"
}

# The same, but the client never reads again (its kernel answers window
# probes): nobody waits on a tail, so it is reset after two idle timeouts
# without progress instead of holding its bytes and socket forever.
test_fault_tail_never_read() {
	local reset0 t0

	fault_file 1
	fault_file_service agent-nr 9110
	reset0=$(metric 'beam_stream_tails_total{result="reset"}')
	t_bg "$CLI" never-reader $FAULT_SVC pause-read "$EDGE_PUB" "$PUB_PORT" 65536 600
	sleep 2
	kill "$(tun_pid agent-nr)"
	t0=$(now_ms)
	tails_reset_above() { (($(metric 'beam_stream_tails_total{result="reset"}') > $1)); }
	t_wait_for $((4 * IDLE)) tails_reset_above "$reset0" ||
		t_fail "the tail of a client that never reads was still there after $((4 * IDLE)) s"
	t_log "tail of a client that never reads reset $(($(now_ms) - t0)) ms after the agent went" \
		"(idle timeout $IDLE s); tails active: $(metric beam_stream_tails_active)"
	[[ $(metric beam_stream_tails_active) == 0 ]] || t_fail "tails still active"
	kill "$(tun_pid never-reader)" "$(tun_pid agent-nr-svc)"
}

test_fault_nat_rebinding() {
	fault_nat_rebind agent-n 9106
}

test_fault_nat_rebinding_idle() {
	fault_nat_rebind_idle agent-i 9107
}

t_test test_fault_loss_1pct "100 MiB under 1% loss and reordering both ways, SHA-256 equal"
t_test test_fault_agent_sigkill "agent SIGKILLed mid-transfer: client reset at once, same port back"
t_test test_fault_beamd_restart "beamd restarted: agent back, XDP program, pins and counters carry on"
t_test test_fault_beamd_sigkill "beamd SIGKILLed and restarted: a stateless reset brings the agent back at once"
t_test test_fault_stalled_service "one stalled stream does not stop 20 others"
t_test test_fault_client_vanishes "public client gone without FIN: streams freed within the idle timeout"
t_test test_fault_client_pauses "public client pausing its reads for 2x the idle timeout keeps its connection"
t_test test_fault_agent_gone_after_sending "agent gone while beamd holds its last bytes: a paused client still gets them all"
t_test test_fault_tail_never_read "agent gone, client never reads: its tail is reset after two idle timeouts, not kept forever"
t_test test_fault_nat_rebinding "agent's port rebound mid-transfer: QUIC migrates, SHA-256 equal"
t_test test_fault_nat_rebinding_idle "idle agent's port rebound: next fetch migrates, SHA-256 equal"
t_done
