#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_stress_faults.sh - the long fault runs of `make stress`: 100 MiB through
# the tunnel under 5% and 20% loss with reordering on both ends of the
# edge-agent link, a NAT rebinding of the agent mid-transfer, and the agent
# SIGKILLed and restarted again and again under a live public connection. Each adds its row to the table
# tests/run.sh prints (fault, runs, bytes moved, bytes lost, recovery).
T_LIB=$(cd "$(dirname "$0")/../integration" && pwd)
source "$T_LIB/lib.sh"
source "$T_LIB/tunnel_lib.sh"
source "$T_LIB/faults_lib.sh"
t_require_root
for tool in python3 socat openssl sha256sum; do
	command -v $tool >/dev/null || t_skip_all "$tool missing"
done
[[ -x $IMPAIR ]] || t_skip_all "tools/impair not built"

IDLE=30
KILLS=${STRESS_KILLS:-10}
MIB=${STRESS_MIB:-100}
tun_topo 4 || t_skip_all "could not build the namespaces"
t_ns "$EDGE" beam-xdp attach eth1 --mode generic --port 4433 >/dev/null || t_skip_all "beam-xdp attach failed"
t_defer "nsenter --net=/run/netns/$EDGE $T_BUILD/beam-xdp detach eth1"
tun_edge --grace 30 --idle-timeout "$IDLE" || t_skip_all "beamd did not start"
export FAULT_TIMEOUT=1200

test_stress_loss_5pct() {
	fault_loss_run 5 2 "$MIB" 9201
}

test_stress_loss_20pct() {
	fault_loss_run 20 2 "$MIB" 9202
}

test_stress_agent_kills() {
	local i up=0 reset=0 worst=0

	t_bg "$AGENT" zero-svc python3 "$T_ROOT/tests/integration/helpers/tunnel_svc.py" zero-server 9203
	t_wait_for 10 t_ns "$AGENT" bash -c "exec 3<>/dev/tcp/127.0.0.1/9203"
	tun_agent kill-0 9203
	for ((i = 1; i <= KILLS; i++)); do
		fault_agent_kill "kill-$((i - 1))" "kill-$i" 9203 $((IDLE / 2))
		up=$((up + F_UP_MS)) reset=$((reset + F_RESET_MS))
		((F_UP_MS > worst)) && worst=$F_UP_MS
	done
	fault_row "agent SIGKILL x$KILLS" "$KILLS" "-" 0 \
		"mean $((up / KILLS)) ms, worst $worst ms (reset mean $((reset / KILLS)) ms)"
}

# TODO(#9): after the rebinding the agent's connection sometimes stalls instead
# of migrating at once. Here (idle timeout 30 s) it passed 10 of 10 runs once
# timers could no longer be starved by a busy socket; moved into test_faults.sh
# (idle timeout 6 s, after the restart tests) it failed with the transfer cut
# at 25 MB: the stall outlasts a short idle timeout. Kept out of make test.
test_stress_nat_rebinding() {
	local aport nport rebind end

	fault_file 100
	fault_file_service agent-n 9106
	aport=$(t_ns "$AGENT" ss -Huanp | awk -v p="$(tun_pid agent-n)" '$0 ~ "pid=" p "," { n = split($(NF - 2), a, ":"); print a[n]; exit }')
	[[ -n $aport ]] || t_fail "could not find the agent's UDP port"
	# a NAT moves the agent to another port 0.3 s into the transfer
	(sleep 0.3; [[ ${NAT_DELTA:-1000} == 0 ]] ||
		t_ns "$AGENT" "$T_BUILD/tools/natrebind" attach eth0 --port 4433 --delta 1000
		now_ms >"$T_DIR/rebound.ms") &
	rebind=$!
	t_defer "nsenter --net=/run/netns/$AGENT $T_BUILD/tools/natrebind detach eth0"
	fault_download "$PUB_PORT" 120
	end=$(now_ms)
	wait $rebind
	(($(cat "$T_DIR/rebound.ms") < end)) || t_fail "the transfer ended before the rebinding"
	[[ ${NAT_DELTA:-1000} == 0 ]] || t_ns "$AGENT" "$T_BUILD/tools/natrebind" detach eth0
	nport=$((aport + 1000))
	t_log "agent port $aport, seen by the edge as $nport after the rebinding; $F_BYTES bytes in $F_MS ms"
	[[ -z ${FAULT_KEEP:-} ]] || cp "$T_DIR"/*.log "$FAULT_KEEP"/
	[[ $F_GOT == "$F_SHA" ]] || t_fail "sha256 differs across the rebinding ($F_BYTES bytes)"
	# the edge saw the new port carry the transfer (XDP flows), and the agent kept its connection
	t_ns "$EDGE" beam-xdp flows eth1 | grep -q ":$nport " || t_fail "no flow from port $nport at the edge"
	[[ $(grep -c 'tunnel up' "$T_DIR/agent-n.log") -eq 1 ]] || t_fail "the agent reconnected instead of migrating"
	fault_row "NAT rebinding" 1 "$F_BYTES" $(((100 << 20) - F_BYTES)) "-"
	kill "$(tun_pid agent-n)" "$(tun_pid agent-n-svc)"
}

tun_test test_stress_loss_5pct "$MIB MiB under 5% loss and 2% reordering both ways, SHA-256 equal"
tun_test test_stress_loss_20pct "$MIB MiB under 20% loss and 2% reordering both ways, SHA-256 equal"
tun_test test_stress_nat_rebinding "agent's port rebound mid-transfer: QUIC migrates, SHA-256 equal"
tun_test test_stress_agent_kills "the agent SIGKILLed $KILLS times: each time a reset, the same port back"
t_done
