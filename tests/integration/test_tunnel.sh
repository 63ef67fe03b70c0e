#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_tunnel.sh - beamd and the beam agent carry real TCP services through
# QUIC across network namespaces: curl, 1 GiB both ways, half-close, refused
# local ports, backpressure, 1,000 concurrent connections, restarts of either
# side, and a wrong token.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tunnel_lib.sh"
t_require_root
t_require_tools python3 curl socat openssl sha256sum
ulimit -n 65536 2>/dev/null || ulimit -n 4096
SVC="python3 $(cd "$(dirname "$0")" && pwd)/helpers/tunnel_svc.py"

tun_topo 4 || t_setup_fail "could not build the namespaces"
# a certificate from files, so a restarted beamd keeps the agent's pin
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=beamd \
	-addext "subjectAltName=IP:10.77.2.1,DNS:beamd" \
	-keyout "$T_DIR/key.pem" -out "$T_DIR/cert.pem" >/dev/null 2>&1 ||
	t_setup_fail "openssl could not make a certificate"
EDGE_ARGS=(--grace 20 --cert "$T_DIR/cert.pem" --key "$T_DIR/key.pem")
tun_edge "${EDGE_ARGS[@]}" || t_setup_fail "beamd did not start"
tun_http 8080 "hello through beam $T_RUN" || t_setup_fail "python3 http.server did not start"
tun_agent agent 8080 || t_setup_fail "the agent did not bring the tunnel up"
HTTP_PORT=$PUB_PORT

get_index() {
	t_ns "$CLI" curl -sS --max-time 10 "http://$EDGE_PUB_URL:$1/"
}

index_ok() { [[ $(get_index "$1" 2>/dev/null) == "hello through beam $T_RUN" ]]; }

test_curl() {
	local got want

	got=$(get_index "$HTTP_PORT")
	[[ $got == "hello through beam $T_RUN" ]] || t_fail "curl got '$got'"
	grep -q "tunnel up: tcp://$EDGE_AGENT_HP:$HTTP_PORT -> 127.0.0.1:8080" "$T_DIR/agent.log"
	# the pin the agent used is the certificate's SHA-256
	want=$(openssl x509 -in "$T_DIR/cert.pem" -outform DER | sha256sum | cut -d' ' -f1)
	[[ $FP == "SHA256:$want" ]] || t_fail "edge logged $FP, certificate is $want"
	# several requests on fresh connections cost streams, not handshakes
	for i in 1 2 3 4 5; do get_index "$HTTP_PORT" >/dev/null; done
	[[ $(grep -c 'authenticated as' "$T_DIR/edge.log") -eq 1 ]]
}

test_1gib_both_ways() {
	local big=$T_DIR/big up down want

	head -c 1G /dev/urandom >"$big"
	want=$(sha256sum <"$big" | cut -d' ' -f1)
	# download: the service sends the file, the public client hashes what arrives
	t_bg "$AGENT" send-svc socat -u OPEN:"$big",rdonly TCP-LISTEN:9002,bind=127.0.0.1,reuseaddr
	tun_agent agent-dl 9002
	down=$(t_ns "$CLI" timeout 120 socat -u TCP:"$EDGE_PUB":"$PUB_PORT" - | sha256sum | cut -d' ' -f1)
	[[ $down == "$want" ]] || t_fail "download: sha256 $down, want $want"
	# upload: the public client sends the file, the service hashes it
	t_bg "$AGENT" recv-svc socat -u TCP-LISTEN:9001,bind=127.0.0.1,reuseaddr \
		SYSTEM:"sha256sum > $T_DIR/up.sha"
	tun_agent agent-ul 9001
	t_ns "$CLI" timeout 120 socat -u OPEN:"$big",rdonly TCP:"$EDGE_PUB":"$PUB_PORT"
	t_wait_for 30 test -s "$T_DIR/up.sha"
	up=$(cut -d' ' -f1 "$T_DIR/up.sha")
	rm -f "$big"
	[[ $up == "$want" ]] || t_fail "upload: sha256 $up, want $want"
}

test_half_close() {
	t_bg "$AGENT" hc-svc $SVC halfclose-server 9003
	t_wait_for 10 t_ns "$AGENT" bash -c "exec 3<>/dev/tcp/127.0.0.1/9003"
	tun_agent agent-hc 9003
	# the client sends, shuts its write side, and must still get the whole answer
	t_ns "$CLI" timeout 30 $SVC halfclose-client "$EDGE_PUB" "$PUB_PORT" 300000 | grep -q '^ok$'
	t_ns "$CLI" timeout 30 $SVC halfclose-client "$EDGE_PUB" "$PUB_PORT" 0 | grep -q '^ok$'
}

# Twenty 8 MiB echoes in a row on one agent connection, each client shutting
# its write side first: flow-control credit of bytes that reach TCP after QUIC
# closed the stream must come back, or the connection's window runs dry and
# the agent's data stops for good (it did at the 7th to 11th echo).
test_echo_credit_returns() {
	local f=$T_DIR/echo.in want got i

	t_bg "$AGENT" echo-svc $SVC echo-server 9013
	t_wait_for 10 t_ns "$AGENT" bash -c "exec 3<>/dev/tcp/127.0.0.1/9013"
	tun_agent agent-echo 9013
	head -c $((8 << 20)) /dev/urandom >"$f"
	want=$(sha256sum <"$f" | cut -d' ' -f1)
	for i in $(seq 1 20); do
		got=$(t_ns "$CLI" timeout 60 socat -t 30 -T 30 - TCP:"$EDGE_PUB":"$PUB_PORT" <"$f" |
			sha256sum | cut -d' ' -f1)
		[[ $got == "$want" ]] || t_fail "echo $i of 20 came back wrong or short"
	done
	rm -f "$f"
}

test_refused_local_port() {
	local out

	tun_agent agent-ref 9009 # nothing listens on 9009 yet
	out=$(t_ns "$CLI" timeout 10 $SVC expect-reset "$EDGE_PUB" "$PUB_PORT")
	t_log "$out"
	[[ $out == reset* ]] || t_fail "expected a reset, got '$out'"
	t_wait_for 5 grep -q 'refused' "$T_DIR/agent-ref.log"
	# the tunnel stays up: once the service exists, the next client gets through
	t_bg "$AGENT" ref-svc $SVC halfclose-server 9009
	t_wait_for 10 t_ns "$AGENT" bash -c "exec 3<>/dev/tcp/127.0.0.1/9009"
	t_ns "$CLI" timeout 30 $SVC halfclose-client "$EDGE_PUB" "$PUB_PORT" 1000 | grep -q '^ok$'
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

test_backpressure() {
	local edge_pid agent_pid out e0 a0 e1 a1

	edge_pid=$(tun_pid edge)
	# service -> slow public reader
	t_bg "$AGENT" zero-svc $SVC zero-server 9005
	t_wait_for 10 t_ns "$AGENT" bash -c "exec 3<>/dev/tcp/127.0.0.1/9005"
	tun_agent agent-bp 9005
	agent_pid=$(tun_pid agent-bp)
	e0=$(rss_kb "$edge_pid") a0=$(rss_kb "$agent_pid")
	t_ns "$CLI" timeout 60 $SVC slow-reader "$EDGE_PUB" "$PUB_PORT" 4 >"$T_DIR/slow.out" &
	sleep 3 # the reader is still asleep: everything upstream must have stopped
	e1=$(rss_kb "$edge_pid") a1=$(rss_kb "$agent_pid")
	t_log "slow reader: edge RSS ${e0}->${e1} KiB, agent RSS ${a0}->${a1} KiB"
	((e1 - e0 < 65536 && a1 - a0 < 65536)) || t_fail "memory grew with a stalled reader"
	wait $!
	grep -q '^read' "$T_DIR/slow.out"
	# public fast writer -> service that never reads
	t_bg "$AGENT" sink-svc $SVC sink-server 9006
	t_wait_for 10 t_ns "$AGENT" bash -c "exec 3<>/dev/tcp/127.0.0.1/9006"
	tun_agent agent-sink 9006
	agent_pid=$(tun_pid agent-sink)
	e0=$(rss_kb "$edge_pid") a0=$(rss_kb "$agent_pid")
	out=$(t_ns "$CLI" timeout 30 $SVC fast-writer "$EDGE_PUB" "$PUB_PORT" 4)
	e1=$(rss_kb "$edge_pid") a1=$(rss_kb "$agent_pid")
	t_log "stalled service: $out; edge RSS ${e0}->${e1} KiB, agent RSS ${a0}->${a1} KiB"
	# the writer was stopped: far less than 4 s of line rate got in
	((${out#sent } < 256 * 1024 * 1024)) || t_fail "writer was not slowed: $out"
	((e1 - e0 < 65536 && a1 - a0 < 65536)) || t_fail "memory grew with a stalled service"
}

test_1000_connections() {
	local out

	t_bg "$AGENT" echo-svc $SVC echo-server 9007
	t_wait_for 10 t_ns "$AGENT" bash -c "exec 3<>/dev/tcp/127.0.0.1/9007"
	tun_agent agent-many 9007
	tun_backlog_check "$PUB_PORT"
	out=$(t_ns "$CLI" timeout 120 $SVC many "$EDGE_PUB" "$PUB_PORT" 1000) || {
		t_log "${out//$'\n'/; }"
		return 1
	}
	t_log "${out//$'\n'/; }"
	grep -q 'completed: 1000 of 1000' <<<"$out"
}

test_agent_restart() {
	local old=$HTTP_PORT

	kill -KILL "$(tun_pid agent)"
	sleep 0.5
	# a new agent with the same token and tunnel comes back to the same port
	tun_agent agent2 8080
	[[ $PUB_PORT == "$old" ]] || t_fail "port $PUB_PORT after restart, had $old"
	[[ $(get_index "$PUB_PORT") == "hello through beam $T_RUN" ]]
}

test_public_dual_stack_and_port_taken() {
	local got rc=0

	# no --public: the listener takes IPv6 too (here ::1 inside the edge's namespace)
	got=$(t_ns "$EDGE" curl -sS --max-time 10 "http://[::1]:$HTTP_PORT/")
	[[ $got == "hello through beam $T_RUN" ]] || t_fail "over IPv6: '$got'"
	# a port another tunnel holds: the refusal names it
	BEAM_TOKEN=$TUN_TOKEN t_ns "$AGENT" timeout 10 beam tcp 8080 --edge "$EDGE_AGENT_HP:4433" \
		--pin "$FP" --name other --remote-port "$HTTP_PORT" >"$T_DIR/taken.log" 2>&1 || rc=$?
	[[ $rc -eq 1 ]] || t_fail "exit $rc, want 1: $(cat "$T_DIR/taken.log")"
	grep -q "edge refused: public port $HTTP_PORT is taken (port-taken)" "$T_DIR/taken.log" ||
		t_fail "port not named: $(cat "$T_DIR/taken.log")"
}

test_sighup_reloads_tokens() {
	local edge new=carol-token-$T_RUN-0123456789 rc=0 carol_port

	edge=$(tun_pid edge)
	cp "$T_DIR/tokens" "$T_DIR/tokens.orig"
	# a new token: carol gets in
	{ cat "$T_DIR/tokens.orig"; printf 'carol %s\n' "$new"; } >"$T_DIR/tokens"
	kill -HUP "$edge"
	t_wait_for 5 grep -q "tokens file .* reloaded: 3 tokens" "$T_DIR/edge.log" ||
		t_fail "no reload: $(tail -3 "$T_DIR/edge.log")"
	kill -0 "$edge" || t_fail "SIGHUP killed beamd"
	BEAM_TOKEN=$new t_bg "$AGENT" agent-carol beam tcp 8080 --edge "$EDGE_AGENT_HP:4433" \
		--pin "$FP" --name carol
	t_wait_for 10 grep -q 'tunnel up' "$T_DIR/agent-carol.log" ||
		t_fail "the new token is refused: $(tail -3 "$T_DIR/agent-carol.log")"
	carol_port=$(tun_pub_port agent-carol)
	index_ok "$carol_port" || t_fail "carol's tunnel does not answer"
	# carol's token removed: her connected agent is cut off at once, her port
	# freed; alice's agent, whose token stays, keeps its tunnel
	cp "$T_DIR/tokens.orig" "$T_DIR/tokens"
	kill -HUP "$edge"
	t_wait_for 5 grep -q "agent .* ('carol'): its token left the tokens file" "$T_DIR/edge.log" ||
		t_fail "carol's agent not cut off: $(tail -3 "$T_DIR/edge.log")"
	t_wait_for 5 bash -c "! kill -0 $(tun_pid agent-carol) 2>/dev/null" ||
		t_fail "carol's agent still runs: $(tail -3 "$T_DIR/agent-carol.log")"
	grep -q 'revoked the token: authentication failed' "$T_DIR/agent-carol.log" ||
		t_fail "carol's agent did not say why: $(tail -3 "$T_DIR/agent-carol.log")"
	! index_ok "$carol_port" || t_fail "a revoked token's port still answers"
	index_ok "$HTTP_PORT" || t_fail "an agent whose token stayed lost its tunnel"
	BEAM_TOKEN=$new t_ns "$AGENT" timeout 10 beam tcp 8080 --edge "$EDGE_AGENT_HP:4433" \
		--pin "$FP" --name carol-again >"$T_DIR/removed.log" 2>&1 || rc=$?
	[[ $rc -eq 1 ]] && grep -q 'authentication failed' "$T_DIR/removed.log" ||
		t_fail "a removed token got in (exit $rc): $(cat "$T_DIR/removed.log")"
	# a broken file: the tokens loaded before stay, nobody is cut off
	printf 'carol\n' >"$T_DIR/tokens"
	kill -HUP "$edge"
	t_wait_for 5 grep -q "failed to reload tokens file .* keeping the 2 tokens loaded before" \
		"$T_DIR/edge.log" || t_fail "no error for a broken file: $(tail -3 "$T_DIR/edge.log")"
	sleep 1.5
	index_ok "$HTTP_PORT" || t_fail "a broken reload cut off a good agent"
	cp "$T_DIR/tokens.orig" "$T_DIR/tokens"
}

test_duplicate_agent() {
	local port out reader

	t_bg "$AGENT" dup-svc $SVC zero-server 9012
	t_wait_for 10 t_ns "$AGENT" bash -c "exec 3<>/dev/tcp/127.0.0.1/9012"
	tun_agent agent-dup1 9012 --name dup
	port=$PUB_PORT
	t_ns "$CLI" timeout 60 $SVC paced-reader "$EDGE_PUB" "$port" 6 >"$T_DIR/dup.out" &
	reader=$!
	sleep 1
	# a second agent with the same token, name and port while the first one
	# serves a download: refused, it waits and asks again
	BEAM_TOKEN=$TUN_TOKEN t_bg "$AGENT" agent-dup2 beam tcp 9012 --edge "$EDGE_AGENT_HP:4433" \
		--pin "$FP" --name dup --remote-port "$port"
	t_wait_for 10 grep -q 'in use by another live agent' "$T_DIR/agent-dup2.log" ||
		t_fail "duplicate not refused: $(tail -3 "$T_DIR/agent-dup2.log")"
	wait "$reader" || t_fail "download cut by the duplicate: $(cat "$T_DIR/dup.out")"
	out=$(cat "$T_DIR/dup.out")
	t_log "download during the duplicate: $out"
	[[ $out == read* ]] || t_fail "download: $out"
	kill -0 "$(tun_pid agent-dup1)" || t_fail "the first agent stopped: $(tail -3 "$T_DIR/agent-dup1.log")"
	! grep -q 'took over' "$T_DIR/agent-dup1.log"
	! grep -q 'tunnel up' "$T_DIR/agent-dup2.log"
	# the first one dies: the waiting one takes the tunnel, on the same port
	kill -KILL "$(tun_pid agent-dup1)"
	t_wait_for 40 grep -q 'tunnel up' "$T_DIR/agent-dup2.log" ||
		t_fail "the second agent did not take over: $(tail -3 "$T_DIR/agent-dup2.log")"
	grep -q "tunnel up: tcp://$EDGE_AGENT_HP:$port " "$T_DIR/agent-dup2.log"
}

test_edge_restart() {
	local n

	n=$(grep -c 'tunnel up' "$T_DIR/agent2.log")
	kill -TERM "$(tun_pid edge)"
	t_wait_for 10 bash -c "! kill -0 $(tun_pid edge) 2>/dev/null"
	mv "$T_DIR/edge.log" "$T_DIR/edge-1.log"
	tun_edge "${EDGE_ARGS[@]}"
	# the agent notices, backs off, reconnects and registers its port again
	t_wait_for 30 bash -c "[[ \$(grep -c 'tunnel up' $T_DIR/agent2.log) -gt $n ]]" ||
		t_fail "agent did not come back: $(tail -5 "$T_DIR/agent2.log")"
	t_wait_for 10 index_ok "$HTTP_PORT"
}

test_ca_and_token_file() {
	local rc=0

	printf '# my token\n%s\n' "$TUN_TOKEN" >"$T_DIR/agent.token"
	chmod 600 "$T_DIR/agent.token"
	# a name of its own: the default one is the live main agent's tunnel
	t_bg "$AGENT" agent-ca beam tcp 8080 --edge "$EDGE_AGENT_HP:4433" --ca "$T_DIR/cert.pem" \
		--token-file "$T_DIR/agent.token" --name ca-check
	t_wait_for 10 grep -q 'tunnel up' "$T_DIR/agent-ca.log" ||
		t_fail "agent with --ca: $(cat "$T_DIR/agent-ca.log")"
	kill "$(tun_pid agent-ca)"
	# another CA: the edge is refused
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=other \
		-keyout "$T_DIR/okey.pem" -out "$T_DIR/other.pem" >/dev/null 2>&1
	t_ns "$AGENT" timeout 10 beam tcp 8080 --edge "$EDGE_AGENT_HP:4433" --ca "$T_DIR/other.pem" \
		--token-file "$T_DIR/agent.token" >"$T_DIR/other-ca.log" 2>&1 || rc=$?
	! grep -q 'tunnel up' "$T_DIR/other-ca.log"
	grep -q 'edge certificate .* by a CA of --ca' "$T_DIR/other-ca.log"
	[[ $rc -eq 1 ]] || t_fail "agent refusing the edge: exit status $rc, want 1"
	rc=0
	# a token file others can read is refused before dialing
	chmod 644 "$T_DIR/agent.token"
	t_ns "$AGENT" beam tcp 8080 --edge "$EDGE_AGENT_HP:4433" --pin "$FP" \
		--token-file "$T_DIR/agent.token" >"$T_DIR/perm.log" 2>&1 || rc=$?
	[[ $rc -eq 2 ]] && grep -q 'readable or writable by other users' "$T_DIR/perm.log"
}

test_wrong_token() {
	local rc=0

	BEAM_TOKEN=not-a-token t_ns "$AGENT" timeout 10 beam tcp 8080 --edge "$EDGE_AGENT_HP:4433" \
		--pin "$FP" >"$T_DIR/bad.log" 2>&1 || rc=$?
	[[ $rc -eq 1 ]] || t_fail "agent exit status $rc, want 1: $(cat "$T_DIR/bad.log")"
	grep -q 'authentication failed' "$T_DIR/bad.log"
	grep -q "agent 10.77.2.2:[0-9]*: authentication failed" "$T_DIR/edge.log"
	! grep -q 'tunnel up' "$T_DIR/bad.log"
	# a wrong pin: the agent refuses the edge before sending its token
	BEAM_TOKEN=$TUN_TOKEN t_ns "$AGENT" timeout 3 beam tcp 8080 --edge "$EDGE_AGENT_HP:4433" \
		--pin "SHA256:$(printf '%064d' 0)" >"$T_DIR/pin.log" 2>&1 || true
	grep -q 'does not match the pinned fingerprint' "$T_DIR/pin.log"
}

# The edge by name, through a hosts file in the agent's own mount namespace:
# first only an address where nothing answers, then the real one added. The
# agent must look the name up again and move on to the address that works.
test_edge_by_name() {
	local hosts=$T_DIR/hosts port

	echo "10.77.2.3 edge.beam.test" >"$hosts"
	BEAM_TOKEN=$TUN_TOKEN t_bg "$AGENT" byname unshare -m sh -c \
		"mount --bind $hosts /etc/hosts && exec beam tcp 8080 --name byname --edge edge.beam.test:4433 --pin $FP"
	t_wait_for 15 grep -q 'failed to connect to the edge edge.beam.test:4433: Connection timed out' "$T_DIR/byname.log" ||
		t_fail "no failed attempt at the dead address: $(tail -3 "$T_DIR/byname.log")"
	# same inode: the bind mount sees the change
	printf '10.77.2.3 edge.beam.test\n10.77.2.1 edge.beam.test\n' >"$hosts"
	t_wait_for 30 grep -q 'tunnel up' "$T_DIR/byname.log" ||
		t_fail "the agent never tried the new address: $(tail -5 "$T_DIR/byname.log")"
	grep -q 'connecting to the edge at 10.77.2.1:4433 (address 2 of 2)' "$T_DIR/byname.log" ||
		t_fail "the agent did not say which address it used"
	port=$(tun_pub_port byname)
	index_ok "$port" || t_fail "nothing served through the tunnel found by name"
	kill -TERM "$(tun_pid byname)"
}

t_test test_curl "curl reaches python3 http.server through the tunnel"
t_test test_half_close "a client that shuts its write side still gets the whole answer"
t_test test_echo_credit_returns "twenty 8 MiB echoes with half-close on one connection: credit comes back"
t_test test_refused_local_port "refused local port: prompt reset, agent logs it, tunnel stays"
t_test test_backpressure "slow reader and stalled service: writers slowed, memory bounded"
t_test test_1000_connections "1,000 concurrent public connections all complete"
t_test test_1gib_both_ways "1 GiB random both ways, SHA-256 equal"
t_test test_agent_restart "agent killed and restarted gets its port back"
t_test test_public_dual_stack_and_port_taken "public listeners take IPv6 too; port-taken names the port"
t_test test_sighup_reloads_tokens "SIGHUP reloads the tokens file: removed tokens cut off, a broken file kept"
t_test test_duplicate_agent "a second agent with the same name is refused while the first lives"
t_test test_edge_restart "beamd restarted: the agent reconnects and re-registers"
t_test test_ca_and_token_file "--ca verifies the edge; --token-file must be private"
t_test test_wrong_token "wrong token: clear error at the agent, logged at the edge"
t_test test_edge_by_name "the edge by name: looked up again, each address tried in turn"
[[ -n ${TUN_XDP:-} ]] && t_test tun_xdp_check "beamd --xdp: the agents' packets took the XSK redirect"
t_done
