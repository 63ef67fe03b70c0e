#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_tunnel_http.sh - http tunnels: one public HTTP listener on beamd routes
# each connection by Host to the agent that registered that host name; the
# edge answers 400/404/431/503 itself; bodies arrive intact; keep-alive
# connections stay on their tunnel.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tunnel_lib.sh"
t_require_root
t_require_tools python3 curl sha256sum
SVC="python3 $(cd "$(dirname "$0")" && pwd)/helpers/http_svc.py"
ulimit -n 65536 2>/dev/null || ulimit -n 4096
HP=8000 # beamd's public http port
METRICS=127.0.0.1:9464

tun_topo 4 || t_setup_fail "could not build the namespaces"
tun_edge --grace 20 --http-listen "$EDGE_PUB:$HP" --metrics "$METRICS" || t_setup_fail "beamd did not start"
grep -q "listening for public http on tcp $EDGE_PUB:$HP" "$T_DIR/edge.log" ||
	t_setup_fail "beamd does not listen for http"

# http_agent NAME HOSTNAME LOCALPORT [args]: an agent for an http tunnel
http_agent() { tun_agent_kind http "$1" "$3" --hostname "$2" "${@:4}"; }

t_bg "$AGENT" svc-one $SVC server 9101 one || t_setup_fail "service one"
t_bg "$AGENT" svc-two $SVC server 9102 two || t_setup_fail "service two"
for port in 9101 9102; do
	t_wait_for 10 t_ns "$AGENT" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" || t_setup_fail "services"
done
http_agent agent-one one.beam.test 9101 || t_setup_fail "agent one"
http_agent agent-two Two.Beam.Test 9102 || t_setup_fail "agent two"

# get HOSTHEADER PATH [curl args]: a request to the public listener
get() {
	local host=$1 path=$2
	shift 2
	t_ns "$CLI" curl -sS --max-time 10 -H "Host: $host" "$@" "http://$EDGE_PUB:$HP$path"
}

status() { get "$1" / -o /dev/null -w '%{http_code}' "${@:2}"; }

test_two_hosts_two_agents() {
	local a b

	grep -q "tunnel up: http://one.beam.test:$HP -> 127.0.0.1:9101" "$T_DIR/agent-one.log"
	a=$(get one.beam.test /who)
	b=$(get two.beam.test /who)
	[[ $a == "one "* && $b == "two "* ]] || t_fail "one got '$a', two got '$b'"
	# the Host the service sees is the one the client sent, untouched
	[[ $a == *" one.beam.test" ]] || t_fail "service one saw '$a'"
	# case does not matter, a port in Host does not matter, a trailing dot neither
	[[ $(get ONE.Beam.TEST:$HP /who) == "one "* ]] || t_fail "upper case Host not routed"
	[[ $(get two.beam.test. /who) == "two "* ]] || t_fail "Host with trailing dot not routed"
	# absolute-form request target: its authority wins over Host
	[[ $(t_ns "$CLI" curl -sS --max-time 10 --request-target "http://two.beam.test/who" \
		-H "Host: one.beam.test" "http://$EDGE_PUB:$HP/") == "two "* ]] ||
		t_fail "absolute-form target not routed by its authority"
}

test_unknown_host_404() {
	local body

	[[ $(status nobody.beam.test) == 404 ]] || t_fail "unknown host not 404"
	body=$(get nobody.beam.test /)
	[[ $body == *"no tunnel for this host"* ]] || t_fail "404 body '$body'"
}

test_bad_requests() {
	local out f=$T_DIR/req

	raw() {
		printf "$1" >"$f"
		t_ns "$CLI" $SVC raw "$EDGE_PUB" "$HP" "$f"
	}
	out=$(raw 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n')
	[[ $out == "HTTP/1.1 400 "* ]] || t_fail "no Host: '$out'"
	out=$(raw 'GET / HTTP/1.1\r\nHost: one.beam.test\r\nHost: two.beam.test\r\n\r\n')
	[[ $out == "HTTP/1.1 400 "* ]] || t_fail "two Host fields: '$out'"
	out=$(raw '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03')
	[[ $out == "HTTP/1.1 400 "* ]] || t_fail "TLS bytes: '$out'"
	out=$(raw 'GET / HTTP/1.1\r\nHost: one.beam.test\r\n folded\r\n\r\n')
	[[ $out == "HTTP/1.1 400 "* ]] || t_fail "folded line: '$out'"
	head -c 9000 /dev/zero | tr '\0' a >"$T_DIR/long"
	{ printf 'GET / HTTP/1.1\r\nHost: one.beam.test\r\nX-Long: '; cat "$T_DIR/long"; } >"$f"
	out=$(t_ns "$CLI" $SVC raw "$EDGE_PUB" "$HP" "$f")
	[[ $out == "HTTP/1.1 431 "* ]] || t_fail "oversize head: '$out'"
	# the tunnels are untouched
	[[ $(get one.beam.test /who) == "one "* ]]
}

test_large_body_both_ways() {
	local big=$T_DIR/big want got

	head -c 64M /dev/urandom >"$big"
	want=$(sha256sum <"$big" | cut -d' ' -f1)
	got=$(get one.beam.test /up --data-binary @"$big" -H 'Expect:')
	[[ $got == "$want" ]] || t_fail "upload: service hashed $got, want $want"
	want=$(python3 -c '
import hashlib,sys
b = hashlib.sha256(b"seed").digest() * 2048
h = hashlib.sha256()
n = 64 << 20
while n:
    k = min(n, len(b)); h.update(b[:k]); n -= k
print(h.hexdigest())')
	got=$(get two.beam.test /big/$((64 << 20)) | sha256sum | cut -d' ' -f1)
	[[ $got == "$want" ]] || t_fail "download: $got, want $want"
}

test_keep_alive_stays_on_its_tunnel() {
	local out ports

	# three requests on one client connection (curl reuses it): one stream,
	# so the service sees them all from one agent-side connection
	out=$(get one.beam.test /who -: "http://$EDGE_PUB:$HP/who" -H "Host: one.beam.test" \
		-: "http://$EDGE_PUB:$HP/who" -H "Host: one.beam.test" -v 2>&1)
	[[ $(grep -c '^one ' <<<"$out") -eq 3 ]] || t_fail "keep-alive answers: $out"
	grep -qi 're-using existing connection' <<<"$out" || t_fail "curl did not reuse: $out"
	ports=$(grep '^one ' <<<"$out" | cut -d' ' -f2 | sort -u | wc -l)
	[[ $ports -eq 1 ]] || t_fail "keep-alive requests came from $ports connections"
	# a second request naming another host on the same connection stays put
	out=$(get one.beam.test /who -: "http://$EDGE_PUB:$HP/who" -H "Host: two.beam.test" 2>&1)
	[[ $(grep -c '^one ' <<<"$out") -eq 2 ]] || t_fail "connection moved tunnel: $out"
}

test_slow_head_408_others_served() {
	local out

	# a client that never finishes its head holds only its own connection
	t_ns "$CLI" python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
s.sendall(b"GET / HTTP/1.1\r\nHost: one.be")
print(s.recv(4096).split(b"\r\n", 1)[0].decode())' "$EDGE_PUB" "$HP" >"$T_DIR/slow.out" &
	local pid=$!
	for _ in 1 2 3 4 5; do
		[[ $(get one.beam.test /who) == "one "* ]] || t_fail "a slow client held others up"
	done
	wait "$pid" || t_fail "the slow client saw no answer"
	out=$(cat "$T_DIR/slow.out")
	[[ $out == "HTTP/1.1 408 "* ]] || t_fail "slow head: '$out'"
}

test_one_source_cannot_take_every_head_slot() {
	local pid out n

	# 2,600 unfinished heads from 10.77.1.2: more than both workers' 1,024 slots
	t_ns "$CLI" python3 -c '
import socket, sys, time
socks = []
for i in range(int(sys.argv[3])):
    s = socket.socket()
    try:
        s.connect((sys.argv[1], int(sys.argv[2])))
        s.send(b"G")
    except OSError:
        pass
    socks.append(s)
print("held", flush=True)
time.sleep(6)' "$EDGE_PUB" "$HP" 2600 >"$T_DIR/loris.out" &
	pid=$!
	t_wait_for 30 grep -q held "$T_DIR/loris.out" || t_fail "the slow client did not start"
	# another address of the client namespace is still served
	ip -n "$CLI" addr add 10.77.1.3/24 dev eth0
	out=$(t_ns "$CLI" curl -sS --max-time 5 --interface 10.77.1.3 -H 'Host: one.beam.test' \
		"http://$EDGE_PUB:$HP/who" 2>&1)
	[[ $out == "one "* ]] || t_fail "a second source was locked out: '$out'"
	n=$(tun_metric 'beam_http_requests_total{code="refused-source"}')
	((n > 0)) || t_fail "refused-source not counted: '$n'"
	grep -q 'http: 10.77.1.2:[0-9]* holds 128+ unfinished request heads: refusing more' \
		"$T_DIR/edge.log" || t_fail "no log line naming the source"
	wait "$pid"
}

test_1000_connections_at_once() {
	local out

	tun_backlog_check "$HP"
	out=$(t_ns "$CLI" $SVC many-get "$EDGE_PUB" "$HP" one.beam.test 1000)
	[[ $out == "1000/1000 answered 200" ]] || t_fail "$out"
}

test_host_taken_by_other_token() {
	BEAM_TOKEN=other-token t_bg "$AGENT" agent-bob beam http 9101 \
		--hostname one.beam.test --edge "$EDGE_AGENT_HP:4433" --pin "$FP"
	t_wait_for 10 grep -q 'edge refused' "$T_DIR/agent-bob.log" || t_fail "bob not refused"
	grep -q "edge refused host name 'one.beam.test': .*(name-taken)" "$T_DIR/agent-bob.log" ||
		t_fail "$(cat "$T_DIR/agent-bob.log")"
	t_wait_for 5 bash -c "! kill -0 $(tun_pid agent-bob) 2>/dev/null" || t_fail "bob still runs"
	[[ $(get one.beam.test /who) == "one "* ]]
}

# beam refuses what the edge would (bad-name) before it dials: exit 2, the value named;
# the edge's own refusal of each is in tests/unit/test_tunnel.c
test_bad_hostname_refused() {
	local h out rc

	for h in 'bad..name' '' '*.beam.test' "$EDGE_PUB" "$EDGE_AGENT" 127.1 '::1' '[::1]' \
		'[fd77:1::1]' 'one.beam.test:8000'; do
		rc=0
		out=$(BEAM_TOKEN=$TUN_TOKEN t_ns "$AGENT" timeout 10 beam http 9101 --hostname "$h" \
			--edge "$EDGE_AGENT_HP:4433" --pin "$FP" 2>&1) || rc=$?
		[[ $rc == 2 && $out == *"invalid --hostname '$h': "* ]] ||
			t_fail "--hostname '$h': rc $rc: $out"
	done
	! grep -q 'invalid http host name' "$T_DIR/edge.log" || t_fail "beam dialled the edge"
}

test_host_names_count_against_tunnel_limit() {
	local i

	# a second edge whose token may hold one tunnel
	tun_beamd edge-lim 4434 --http-listen "$EDGE_PUB:8001" --limit tunnels-per-token=1
	for i in 1 2; do
		FP=$(tun_fp edge-lim) TUN_EDGE_PORT=4434 tun_agent_bg http "agent-lim$i" 9101 \
			--hostname "lim$i.beam.test"
		t_wait_for 10 grep -q 'tunnel up\|edge refused' "$T_DIR/agent-lim$i.log"
	done
	grep -q 'tunnel up' "$T_DIR/agent-lim1.log" || t_fail "$(cat "$T_DIR/agent-lim1.log")"
	grep -q 'edge refused: too many tunnels for this token (limit)' "$T_DIR/agent-lim2.log" ||
		t_fail "$(cat "$T_DIR/agent-lim2.log")"
	[[ $(t_ns "$CLI" curl -s -o /dev/null -w '%{http_code}' -H 'Host: lim2.beam.test' \
		"http://$EDGE_PUB:8001/") == 404 ]]
}

# metric_is NAME VALUE: the edge's /metrics shows NAME at VALUE (soon)
metric_eq() { [[ $(tun_metric "$1") == "$2" ]]; }
metric_is() { t_wait_for 5 metric_eq "$1" "$2"; }

test_service_down_502() {
	local n out

	# nothing listens on 9199 behind this tunnel: the agent's connect is refused
	http_agent agent-down down.beam.test 9199 || t_fail "agent for a dead service"
	n=$(tun_metric 'beam_http_requests_total{code="502"}')
	out=$(get down.beam.test / -w '\n%{http_code}')
	[[ $out == *"did not answer"*502 ]] || t_fail "service down: '$out'"
	metric_is 'beam_http_requests_total{code="502"}' $((n + 1)) ||
		t_fail "502 not counted: $(tun_metric 'beam_http_requests_total{code="502"}')"
	# a client that resets its own request mid-body gets no 502 and is not
	# counted as one: only the next failed request is
	t_ns "$CLI" python3 -c '
import socket, struct, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
s.sendall(b"POST /up HTTP/1.1\r\nHost: one.beam.test\r\nContent-Length: 100000\r\n\r\nab")
time.sleep(0.5)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()' "$EDGE_PUB" "$HP" || t_fail "the resetting client failed"
	[[ $(status down.beam.test) == 502 ]] || t_fail "service down, second request: not 502"
	metric_is 'beam_http_requests_total{code="502"}' $((n + 2)) ||
		t_fail "502s: $(tun_metric 'beam_http_requests_total{code="502"}'), want $((n + 2))"
	# a service that reads the request and closes without a byte: 502 as well
	t_bg "$AGENT" svc-mute python3 -c '
import socket
l = socket.create_server(("127.0.0.1", 9198))
while True:
    c, _ = l.accept()
    c.recv(65536)
    c.close()'
	t_wait_for 10 t_ns "$AGENT" bash -c "exec 3<>/dev/tcp/127.0.0.1/9198" || t_fail "mute service"
	http_agent agent-mute mute.beam.test 9198 || t_fail "agent for a mute service"
	out=$(get mute.beam.test / -w '\n%{http_code}')
	[[ $out == *"did not answer"*502 ]] || t_fail "mute service: '$out'"
	metric_is 'beam_http_requests_total{code="502"}' $((n + 3)) ||
		t_fail "502s: $(tun_metric 'beam_http_requests_total{code="502"}'), want $((n + 3))"
	# a service that answers is untouched
	[[ $(get one.beam.test /who) == "one "* ]]
}

test_agent_killed_502_not_empty() {
	local out reset='beam_streams_total{result="reset"}'

	# a second edge that gives up on an agent leaving a request unanswered
	# for 2 s (its idle timeout, 60 s, is longer than curl waits)
	tun_beamd edge-idle 4435 --http-listen "$EDGE_PUB:8002" --unresponsive-timeout 2 \
		--idle-timeout 60 --grace 20 --metrics 127.0.0.1:9465
	FP=$(tun_fp edge-idle) TUN_EDGE_PORT=4435 tun_agent_kind http agent-idle 9101 \
		--hostname idle.beam.test || t_fail "agent for the idle edge"
	out=$(t_ns "$CLI" curl -sS --max-time 10 -H 'Host: idle.beam.test' \
		"http://$EDGE_PUB:8002/who")
	[[ $out == "one "* ]] || t_fail "before the kill: '$out'"
	kill -9 "$(tun_pid agent-idle)"
	# in flight while the edge still believes in the agent: answered when it gives up
	out=$(t_ns "$CLI" curl -sS --max-time 20 -H 'Host: idle.beam.test' \
		-w '\n%{http_code}' "http://$EDGE_PUB:8002/who" 2>&1)
	[[ $out == *50[23] ]] || t_fail "agent killed: '$out'"
	t_log "agent killed: $(tail -1 <<<"$out")"
	grep -q "gone: answered nothing while data waited (unresponsive)" "$T_DIR/edge-idle.log" ||
		t_fail "edge: $(grep gone "$T_DIR/edge-idle.log")"
	# the streams cut with their agent's connection count as reset
	cut_counted() { (($(METRICS=127.0.0.1:9465 tun_metric "$reset" || echo 0) >= 1)); }
	t_wait_for 5 cut_counted || t_fail "$reset: $(METRICS=127.0.0.1:9465 tun_metric "$reset")"
}

test_agent_gone_503_then_back() {
	kill "$(tun_pid agent-two)"
	t_wait_for 10 grep -q "kept 20 s" "$T_DIR/edge.log"
	[[ $(status two.beam.test) == 503 ]] || t_fail "agent gone: not 503"
	http_agent agent-two2 two.beam.test 9102
	[[ $(get two.beam.test /who) == "two "* ]] || t_fail "tunnel did not come back"
}

t_test test_two_hosts_two_agents "two hosts through one listener reach two agents' services"
t_test test_unknown_host_404 "an unknown Host gets 404 with a short body"
t_test test_bad_requests "no Host, two Hosts, TLS bytes, folded lines: 400; oversize head: 431"
t_test test_large_body_both_ways "64 MiB up and down through http with equal SHA-256"
t_test test_keep_alive_stays_on_its_tunnel "keep-alive requests stay on one connection and tunnel"
t_test test_slow_head_408_others_served "an unfinished head gets 408 in time; others are served meanwhile"
t_test test_one_source_cannot_take_every_head_slot "one source's slow heads leave head slots to others"
t_test test_1000_connections_at_once "1,000 public connections open at once through one http tunnel"
t_test test_host_taken_by_other_token "a host name of another token: REGISTER error name-taken"
t_test test_bad_hostname_refused "IP literals, wildcards, bad labels: beam exits 2 before dialling"
t_test test_host_names_count_against_tunnel_limit "host names count against tunnels-per-token"
t_test test_service_down_502 "a tunnel whose service is down: 502, counted in /metrics"
t_test test_agent_killed_502_not_empty "an agent killed mid-request: 502/503, not an empty reply"
t_test test_agent_gone_503_then_back "agent gone: 503 during the grace period; it comes back"
t_done
