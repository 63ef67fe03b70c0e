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
t_require_tools python3 curl
SVC="python3 $(cd "$(dirname "$0")" && pwd)/helpers/http_svc.py"
HP=8000
METRICS=127.0.0.1:9464
NAGENTS=16

tun_topo 4 || t_setup_fail "could not build the namespaces"
tun_edge --workers 2 --grace 30 --http-listen "$EDGE_PUB:$HP" --metrics "$METRICS" ||
	t_setup_fail "beamd did not start"
grep -q 'steered to 2 workers by connection ID' "$T_DIR/edge.log" ||
	t_setup_fail "no sk_reuseport steering: $(cat "$T_DIR/edge.log")"
tun_http 8080 hello || t_setup_fail "python3 http.server did not start"
head -c $((2 << 20)) /dev/urandom >"$T_DIR/www/big.bin"

metric() { tun_metric "$1"; }

# all_published: the workers' counts show every agent's tunnel and connection
all_published() {
	local out

	out=$(tun_scrape) || return 1
	awk -v n="$NAGENTS" '$1 ~ /^beam_worker_tunnels\{/ { t += $2 }
		$1 ~ /^beam_worker_quic_connections\{/ { c += $2 }
		END { exit !(t >= n && c >= n) }' <<<"$out"
}

moved_counted() {
	[[ $(metric 'beam_worker_handoffs_total{worker="0",what="tunnel"}') -gt 0 ||
		$(metric 'beam_worker_handoffs_total{worker="1",what="tunnel"}') -gt 0 ]]
}

test_agents_spread() {
	local i w0 w1 port

	for ((i = 0; i < NAGENTS; i++)); do
		tun_agent "spread$i" 8080 --name "spread$i" || t_fail "agent $i did not come up"
		port[i]=$PUB_PORT
	done
	t_wait_for 5 all_published || t_fail "the workers do not show $NAGENTS tunnels"
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
	# workers publish their counts every 100 ms
	t_wait_for 3 moved_counted || t_fail "no tunnel hand-over counted in /metrics"
}

http_handed() {
	[[ $(($(metric 'beam_worker_handoffs_total{worker="0",what="http"}') +
		$(metric 'beam_worker_handoffs_total{worker="1",what="http"}'))) -gt 0 ]]
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
	t_wait_for 3 http_handed || true
	h0=$(metric 'beam_worker_handoffs_total{worker="0",what="http"}')
	h1=$(metric 'beam_worker_handoffs_total{worker="1",what="http"}')
	t_log "http connections handed to the tunnel's worker: $h0 from worker 0, $h1 from worker 1"
	[[ $((h0 + h1)) -gt 0 ]] || t_fail "24 connections, none accepted by the other worker"
}

test_token_limit_across_workers() {
	local i live hits

	# a beamd of its own, 2 workers, at most 3 connections for the token
	tun_beamd edge2 4444 --workers 2 --metrics 127.0.0.1:9465 --limit conns-per-token=3 ||
		t_fail "beamd 2 not up"
	for ((i = 0; i < 6; i++)); do
		FP=$(tun_fp edge2) TUN_EDGE_PORT=4444 tun_agent_bg tcp lim$i 8080 --name lim$i ||
			t_fail "agent $i"
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

# Without BPF rights the sk_reuseport program cannot load: one warning, the
# kernel's address hash picks the worker, and tunnels still work.
test_steer_fallback_without_bpf() {
	local i port

	command -v setpriv >/dev/null || t_skip "setpriv missing"
	t_bg "$EDGE" edge3 setpriv --bounding-set=-bpf,-sys_admin,-net_admin,-perfmon \
		beamd --listen "$EDGE_AGENT_HP:4455" --tokens "$T_DIR/tokens" --workers 2 ||
		t_fail "beamd without BPF rights"
	tun_listening edge3 || t_fail "beamd without BPF rights is not up"
	[[ $(grep -c "kernel's address hash" "$T_DIR/edge3.log") -eq 1 ]] ||
		t_fail "not one warning: $(cat "$T_DIR/edge3.log")"
	for ((i = 0; i < 6; i++)); do
		FP=$(tun_fp edge3) TUN_EDGE_PORT=4455 tun_agent_bg tcp nb$i 8080 --name nb$i ||
			t_fail "agent $i"
	done
	for ((i = 0; i < 6; i++)); do
		t_wait_for 10 grep -q 'tunnel up' "$T_DIR/nb$i.log" || t_fail "agent $i: $(cat "$T_DIR/nb$i.log")"
		port=$(tun_pub_port nb$i)
		[[ $(t_ns "$CLI" curl -sS --max-time 5 "http://$EDGE_PUB:$port/") == hello ]] ||
			t_fail "tunnel $i (port $port) does not carry"
	done
	for ((i = 0; i < 6; i++)); do
		kill "$(tun_pid nb$i)" 2>/dev/null
	done
	return 0
}

# beamd --xdp on a veth whose edge end has two RX queues: worker w owns the
# AF_XDP socket of queue w, the XDP program passes frames of the other
# worker's connections to the socket path, and every tunnel carries.
test_xdp_two_queues() {
	local ed ag a b i up=0 xsk sock w0 w1 json pin port

	ed=$(t_netns xe) && ag=$(t_netns xa) || t_fail "namespaces"
	a="x$T_RUN${RANDOM}a" b="x$T_RUN${RANDOM}b"
	ip link add "${a:0:15}" numrxqueues 2 numtxqueues 2 type veth peer name "${b:0:15}" \
		numrxqueues 2 numtxqueues 2 || t_fail "veth with 2 queues"
	ip link set "${a:0:15}" netns "$ed" name eth1 && ip link set "${b:0:15}" netns "$ag" name eth0 ||
		t_fail "veth into the namespaces"
	ip -n "$ed" addr add 10.78.1.1/24 dev eth1 && ip -n "$ag" addr add 10.78.1.2/24 dev eth0
	ip -n "$ed" link set eth1 up && ip -n "$ag" link set eth0 up
	t_defer "nsenter --net=/run/netns/$ed $T_BUILD/beam-xdp detach eth1 >/dev/null 2>&1"
	(cd "$T_DIR/www" && t_bg "$ag" xhttp python3 -m http.server 8080 --bind 127.0.0.1)
	t_wait_for 10 t_ns "$ag" bash -c "exec 3<>/dev/tcp/127.0.0.1/8080" || t_fail "http server"
	t_bg "$ed" xedge beamd --listen 10.78.1.1:4433 --tokens "$T_DIR/tokens" --xdp eth1 \
		--workers 2 --metrics 127.0.0.1:9466 || t_fail "beamd --xdp"
	tun_listening xedge || t_fail "beamd --xdp --workers 2 is not up"
	grep -q "AF_XDP on queue 0" "$T_DIR/xedge.log" && grep -q "AF_XDP on queue 1" "$T_DIR/xedge.log" ||
		t_fail "not one AF_XDP socket per worker: $(cat "$T_DIR/xedge.log")"
	! grep -q 'not used' "$T_DIR/xedge.log" || t_fail "AF_XDP fell back: $(cat "$T_DIR/xedge.log")"
	pin=$(tun_fp xedge)
	for ((i = 0; i < 12; i++)); do
		BEAM_TOKEN=$TUN_TOKEN t_bg "$ag" xag$i beam tcp 8080 --name xag$i \
			--edge 10.78.1.1:4433 --pin "$pin" || t_fail "agent $i"
	done
	for ((i = 0; i < 12; i++)); do
		t_wait_for 10 grep -q 'tunnel up' "$T_DIR/xag$i.log" || t_fail "agent $i: $(cat "$T_DIR/xag$i.log")"
		port=$(tun_pub_port xag$i)
		t_ns "$ed" curl -sS --max-time 10 -o "$T_DIR/x$i.bin" "http://127.0.0.1:$port/big.bin" ||
			t_fail "tunnel $i (port $port) does not carry"
		cmp -s "$T_DIR/x$i.bin" "$T_DIR/www/big.bin" || t_fail "tunnel $i: bytes differ"
		rm -f "$T_DIR/x$i.bin"
		up=$((up + 1))
	done
	json=$(t_ns "$ed" beam-xdp stats eth1 --json)
	xsk=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["reasons"]["to_xsk"]["packets"])' <<<"$json")
	sock=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["reasons"]["to_socket"]["packets"])' <<<"$json")
	w0=$(t_ns "$ed" curl -sS http://127.0.0.1:9466/metrics | awk '$1 == "beam_worker_quic_connections{worker=\"0\"}" { print $2 }')
	w1=$(t_ns "$ed" curl -sS http://127.0.0.1:9466/metrics | awk '$1 == "beam_worker_quic_connections{worker=\"1\"}" { print $2 }')
	t_log "$up tunnels carried 2 MiB each; XDP to_xsk $xsk, to_socket $sock; agents per worker $w0 / $w1"
	[[ $xsk -gt 1000 ]] || t_fail "AF_XDP carried only $xsk packets"
	[[ $w0 -gt 0 && $w1 -gt 0 ]] || t_fail "agents on one worker only: $w0 / $w1"
	for ((i = 0; i < 12; i++)); do
		kill "$(tun_pid xag$i)" 2>/dev/null
	done
	kill "$(tun_pid xedge)"
	t_wait_for 5 grep -q 'packet paths' "$T_DIR/xedge.log" || true
	return 0
}

# second_beamd NAME ARGS: a beamd with 2 workers on a port the first one holds
# must exit non-zero saying so, within 10 s, not join the first one's group
second_beamd() {
	local name=$1 rc=0
	shift

	t_ns "$EDGE" timeout 10 beamd --tokens "$T_DIR/tokens" --workers 2 "$@" \
		>"$T_DIR/$name.log" 2>&1 || rc=$?
	t_log "$name exited with $rc: $(grep error "$T_DIR/$name.log")"
	[[ $rc -ne 0 && $rc -ne 124 ]] || t_fail "$name: exit code $rc: $(cat "$T_DIR/$name.log")"
	grep -q 'Address already in use' "$T_DIR/$name.log" ||
		t_fail "$name: no 'Address already in use': $(cat "$T_DIR/$name.log")"
}

edge_gone() { ! t_ns "$EDGE" ss -Hlnu "sport = :4433" | grep -q .; }

# A second beamd on the QUIC or http port of a running one (both with 2
# workers) fails like a single worker's bind would; the first keeps serving;
# a restart right after SIGTERM binds both ports again.
test_second_beamd_refused() {
	local port i

	tun_agent dup 8080 --name dup || t_fail "agent did not come up"
	port=$PUB_PORT
	second_beamd dup_quic --listen "$EDGE_AGENT_HP:4433"
	second_beamd dup_http --listen "$EDGE_AGENT_HP:4437" --http-listen "$EDGE_PUB:$HP"
	for ((i = 0; i < 4; i++)); do
		[[ $(t_ns "$CLI" curl -sS --max-time 5 "http://$EDGE_PUB:$port/") == hello ]] ||
			t_fail "the first beamd's tunnel does not carry after the second one"
	done
	grep -q 'tunnel up' "$T_DIR/dup.log" && ! grep -qi 'reset\|gone' "$T_DIR/dup.log" ||
		t_fail "the agent lost its tunnel: $(cat "$T_DIR/dup.log")"
	# connections the edge closed itself leave TIME_WAIT on its http port
	# (a bad request: the edge answers and closes first)
	t_ns "$CLI" timeout 5 bash -c "exec 3<>/dev/tcp/$EDGE_PUB/$HP; printf 'BAD\r\n\r\n' >&3;
		cat <&3 >/dev/null" || true
	kill "$(tun_pid dup)" 2>/dev/null || true
	kill -TERM "$(tun_pid edge)"
	t_wait_for 10 edge_gone || t_fail "beamd did not stop on SIGTERM"
	t_log "after SIGTERM: $(t_ns "$EDGE" ss -Htan "sport = :$HP" | awk '{ print $1 }' | sort |
		uniq -c | xargs)"
	mv "$T_DIR/edge.log" "$T_DIR/edge.1.log"
	tun_edge --workers 2 --http-listen "$EDGE_PUB:$HP" || t_fail "restarted beamd did not bind"
	tun_agent dup2 8080 --name dup2 || t_fail "agent did not come up on the restarted beamd"
	[[ $(t_ns "$CLI" curl -sS --max-time 5 "http://$EDGE_PUB:$PUB_PORT/") == hello ]] ||
		t_fail "the restarted beamd's tunnel does not carry"
}

t_test test_agents_spread "16 agents spread over 2 workers, each tunnel carries"
t_test test_restart_on_other_worker "an agent restarted onto the other worker gets its port back"
t_test test_http_across_workers "http connections accepted by one worker reach the other's tunnel"
t_test test_token_limit_across_workers "conns-per-token counts the agents of every worker"
t_test test_steer_fallback_without_bpf "no BPF rights: one warning, the kernel's hash picks, tunnels work"
t_test test_xdp_two_queues "--xdp on 2 queues: one AF_XDP socket per worker, every tunnel carries"
t_test test_second_beamd_refused "a second beamd on the QUIC or http port fails, the first serves"
t_done
