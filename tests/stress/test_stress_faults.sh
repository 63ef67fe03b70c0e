#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_stress_faults.sh - the long fault runs of `make stress`: 100 MiB through
# the tunnel under 5% and 20% loss with reordering on both ends of the
# edge-agent link, NAT rebindings of the agent mid-transfer, and the agent
# SIGKILLed and restarted again and again under a live public connection.
# Each adds its row to the table tests/run.sh prints (fault, runs, bytes
# moved, bytes lost, recovery).
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
REBINDS=${STRESS_REBINDS:-5}
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

test_stress_nat_rebinding() {
	local i

	for ((i = 1; i <= REBINDS; i++)); do
		fault_nat_rebind "agent-n$i" $((9300 + i))
	done
}

t_test test_stress_loss_5pct "$MIB MiB under 5% loss and 2% reordering both ways, SHA-256 equal"
t_test test_stress_loss_20pct "$MIB MiB under 20% loss and 2% reordering both ways, SHA-256 equal"
t_test test_stress_nat_rebinding "agent's port rebound mid-transfer x$REBINDS: QUIC migrates, SHA-256 equal"
t_test test_stress_agent_kills "the agent SIGKILLed $KILLS times: each time a reset, the same port back"
t_done
