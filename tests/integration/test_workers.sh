#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_workers.sh - beamd --workers 2: agents spread over both workers (seen
# per worker in /metrics), an agent restarted onto the other worker gets its
# tunnel and port back (the tunnel's sockets move to that worker), public
# HTTP connections accepted by one worker reach a tunnel another worker
# drives, and the per-token limit counts across workers.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tunnel_lib.sh"
t_require_root
for tool in python3 curl; do
	command -v $tool >/dev/null || t_skip_all "$tool missing"
done
SVC="python3 $(cd "$(dirname "$0")" && pwd)/helpers/http_svc.py"
HP=8000
METRICS=127.0.0.1:9464
NAGENTS=16

tun_topo 4 || t_setup_fail "could not build the namespaces"
tun_edge --workers 2 --grace 30 --http-listen "$EDGE_PUB:$HP" --metrics "$METRICS" ||
	t_setup_fail "beamd did not start"
grep -q 'steered to 2 workers by connection ID' "$T_DIR/edge.log" ||
	t_setup_fail "no sk_reuseport steering: $(cat "$T_DIR/edge.log")"
echo hello >"$T_DIR/www-index" && mkdir -p "$T_DIR/www" && mv "$T_DIR/www-index" "$T_DIR/www/index.html"
tun_http 8080 || t_setup_fail "python3 http.server did not start"

scrape() { t_ns "$EDGE" curl -sS --max-time 5 "http://$METRICS/metrics"; }
# metric NAME{LABELS}: its value in a fresh scrape (0 when absent)
metric() { scrape | awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }'; }

test_agents_spread() {
	local i w0 w1 port

	for ((i = 0; i < NAGENTS; i++)); do
		tun_agent "spread$i" 8080 --name "spread$i" || t_fail "agent $i did not come up"
		port[i]=$PUB_PORT
	done
	t_wait_for 5 bash -c "[[ \$(t_ns $EDGE curl -sS http://$METRICS/metrics | awk '\$1 ~ /^beam_worker_tunnels/ { s += \$2 } END { print s + 0 }') -ge $NAGENTS ]]" 2>/dev/null || true
	w0=$(metric 'beam_worker_quic_connections{worker="0"}')
	w1=$(metric 'beam_worker_quic_connections{worker="1"}')
	t_log "agents per worker: $w0 and $w1"
	[[ $((w0 + w1)) -ge $NAGENTS ]] || t_fail "only $((w0 + w1)) connections of $NAGENTS"
	[[ $w0 -gt 0 && $w1 -gt 0 ]] || t_fail "all agents on one worker: $w0 / $w1"
	[[ $(metric beam_workers) == 2 ]] || t_fail "beam_workers is not 2"
	# every tunnel carries, whichever worker drives it
	for ((i = 0; i < NAGENTS; i += 3)); do
		[[ $(t_ns "$CLI" curl -sS --max-time 5 "http://$EDGE_PUB:${port[i]}/") == hello ]] ||
			t_fail "tunnel $i (port ${port[i]}) does not carry"
	done
	for ((i = 0; i < NAGENTS; i++)); do
		kill "$(tun_pid "spread$i")" 2>/dev/null
	done
	return 0
}

test_restart_on_other_worker() {
	local port try moved=0 before after

	tun_agent mover 8080 --name mover || t_fail "agent did not come up"
	port=$PUB_PORT
	for ((try = 1; try <= 12; try++)); do
		before=$(grep -c 'handed from worker' "$T_DIR/edge.log" || true)
		kill -9 "$(tun_pid mover)"
		mv "$T_DIR/mover.log" "$T_DIR/mover.$try.log"
		tun_agent mover 8080 --name mover || t_fail "agent did not come back (try $try)"
		[[ $PUB_PORT == "$port" ]] || t_fail "port $port became $PUB_PORT after a restart"
		[[ $(t_ns "$CLI" curl -sS --max-time 5 "http://$EDGE_PUB:$port/") == hello ]] ||
			t_fail "port $port does not carry after restart $try"
		after=$(grep -c 'handed from worker' "$T_DIR/edge.log" || true)
		if [[ $after -gt $before ]]; then
			moved=$try
			break
		fi
	done
	[[ $moved -gt 0 ]] || t_fail "12 restarts and the agent never landed on the other worker"
	t_log "restart $moved landed on the other worker: $(grep 'handed from worker' "$T_DIR/edge.log" | tail -1)"
	[[ $(metric 'beam_worker_handoffs_total{worker="0",what="tunnel"}') -gt 0 ||
		$(metric 'beam_worker_handoffs_total{worker="1",what="tunnel"}') -gt 0 ]] ||
		t_fail "no tunnel hand-over counted in /metrics"
}

test_http_across_workers() {
	local i body h0 h1

	t_bg "$AGENT" svc $SVC server 9101 one || t_fail "service"
	t_wait_for 10 t_ns "$AGENT" bash -c "exec 3<>/dev/tcp/127.0.0.1/9101" || t_fail "service"
	BEAM_TOKEN=$TUN_TOKEN t_bg "$AGENT" web beam http 9101 --hostname one.beam.test \
		--edge "$EDGE_AGENT_HP:4433" --pin "$FP" || t_fail "http agent"
	t_wait_for 10 grep -q 'tunnel up' "$T_DIR/web.log" || t_fail "http tunnel not up"
	# each request a new connection (a new source port): the kernel spreads
	# them over both workers' listeners
	for ((i = 0; i < 24; i++)); do
		body=$(t_ns "$CLI" curl -sS --max-time 5 -H "Host: one.beam.test" \
			"http://$EDGE_PUB:$HP/who")
		[[ $body == "one "* ]] || t_fail "request $i got '$body'"
	done
	h0=$(metric 'beam_worker_handoffs_total{worker="0",what="http"}')
	h1=$(metric 'beam_worker_handoffs_total{worker="1",what="http"}')
	t_log "http connections handed to the tunnel's worker: $h0 from worker 0, $h1 from worker 1"
	[[ $((h0 + h1)) -gt 0 ]] || t_fail "24 connections, none accepted by the other worker"
}

test_token_limit_across_workers() {
	local i live hits

	# a beamd of its own, 2 workers, at most 3 connections for the token
	t_bg "$EDGE" edge2 beamd --listen "$EDGE_AGENT_HP:4444" --tokens "$T_DIR/tokens" \
		--workers 2 --metrics 127.0.0.1:9465 --limit conns-per-token=3 || t_fail "beamd 2"
	t_wait_for 5 grep -q 'listening for agents' "$T_DIR/edge2.log" || t_fail "beamd 2 not up"
	local fp2
	fp2=$(grep -o 'SHA256:[0-9a-f]*' "$T_DIR/edge2.log" | tail -1)
	for ((i = 0; i < 6; i++)); do
		BEAM_TOKEN=$TUN_TOKEN t_bg "$AGENT" lim$i beam tcp 8080 --name lim$i \
			--edge "$EDGE_AGENT_HP:4444" --pin "$fp2" || t_fail "agent $i"
	done
	t_wait_for 10 bash -c "[[ \$(cat $T_DIR/lim*.log | grep -c 'tunnel up') -ge 3 ]]" ||
		t_fail "3 agents did not come up"
	sleep 1
	live=$(cat "$T_DIR"/lim*.log | grep -c 'tunnel up')
	hits=$(t_ns "$EDGE" curl -sS http://127.0.0.1:9465/metrics |
		awk '$1 == "beam_limit_hits_total{limit=\"conns_per_token\"}" { print $2 + 0 }')
	t_log "tunnels up: $live of 6, conns_per_token hits: $hits"
	[[ $live -eq 3 ]] || t_fail "$live agents got in with a limit of 3"
	[[ $hits -ge 3 ]] || t_fail "only $hits refusals counted"
}

t_test test_agents_spread "16 agents spread over 2 workers, each tunnel carries"
t_test test_restart_on_other_worker "an agent restarted onto the other worker gets its port back"
t_test test_http_across_workers "http connections accepted by one worker reach the other's tunnel"
t_test test_token_limit_across_workers "conns-per-token counts the agents of every worker"
t_done
