#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_security.sh - nobody let in: beamd drops root to a user with four
# capabilities and still carries the tunnel; a tokens file others can read
# stops it; the token is in no log, metric or process title; pins are root's
# (0700); an agent refuses an edge whose certificate is not the pinned one,
# or fails --ca (unknown CA, another name), says which, and exits 1.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tunnel_lib.sh"
t_require_root
t_require_tools curl python3

METRICS=127.0.0.1:9464
tun_topo 4 || t_fail "could not build the namespaces"
t_ns "$EDGE" beam-xdp attach eth1 --mode generic --port 4433 >/dev/null ||
	t_fail "beam-xdp attach failed"
t_defer "nsenter --net=/run/netns/$EDGE $T_BUILD/beam-xdp detach eth1"
tun_http 8080 "secure hello $T_RUN" || t_fail "python3 http.server did not start"

# the capability sets beamd keeps: NET_BIND_SERVICE 10, NET_ADMIN 12, NET_RAW 13, BPF 39
WANT_CAPS=0000008000003400

# stop the beamd a test started (also after a failure in it), so the next one gets the port
stop_edge() {
	local pid

	pid=$(cat "$T_DIR/edge.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || return 0
	t_wait_for 30 bash -c "! kill -0 $pid 2>/dev/null"
}

tunnels_in_metrics() {
	tun_scrape >"$T_DIR/metrics.txt"
	grep -q '^beam_tunnels_active{kind="tcp"} 1' "$T_DIR/metrics.txt"
}

# every pin dir 0700 and every pin 0600, all root's (beamd --user must not chown them)
pins_still_root() {
	local f m

	for f in "$BEAM_PIN_ROOT" "$BEAM_PIN_ROOT"/*/ "$BEAM_PIN_ROOT"/*/*; do
		[[ -e $f ]] || continue
		m=$(stat -c '%a %u' "$f")
		if [[ -d $f ]]; then
			# beamd's own directory (maps of its own) is the only one it may own
			[[ $m == "700 0" || ($f == */beamd-* && $m == "700 65534") ]] || {
				t_log "$f: $m"
				return 1
			}
		elif [[ $m != "600 0" ]]; then
			t_log "$f: $m"
			return 1
		fi
	done
}

# user_edge_carries VERDICT REASON: the agent comes up through beamd --user, curl
# gets the page, /metrics shows the tunnel and XDP packets counted under
# VERDICT/REASON, and the pins stay root's
user_edge_carries() {
	local verdict=$1 reason=$2 got

	tun_agent agent 8080 || t_fail "the agent did not bring the tunnel up"
	got=$(t_ns "$CLI" curl -sS --max-time 10 "http://$EDGE_PUB_URL:$PUB_PORT/")
	[[ $got == "secure hello $T_RUN" ]] || t_fail "curl through the tunnel got '$got'"
	t_wait_for 5 tunnels_in_metrics || t_fail "no tunnel in /metrics"
	grep -q "^beam_xdp_packets_total{iface=\"eth1\",verdict=\"$verdict\",reason=\"$reason\"} [1-9]" \
		"$T_DIR/metrics.txt" || t_fail "no XDP $verdict/$reason packets in /metrics after the drop"
	pins_still_root || t_fail "beamd --user changed the pins"
}

# user_edge_stop PID: beamd --user (PID) logged no errors; stop it and the agent
user_edge_stop() {
	local pid=$1

	! grep -v ': debug: ' "$T_DIR/edge.log" | grep -E 'Permission denied|RLIMIT_MEMLOCK|error:' ||
		t_fail "beamd --user logged errors"
	kill "$(tun_pid agent)" "$pid"
	t_wait_for 30 bash -c "! kill -0 $pid 2>/dev/null" || t_fail "beamd did not stop"
}

proc_field() { awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$1/status"; }

test_beamd_drops_root_and_keeps_four_capabilities()
{
	local pid got

	id nobody >/dev/null 2>&1 || t_skip "no user 'nobody'"
	stop_edge
	tun_edge --user nobody --metrics "$METRICS" -v || t_fail "beamd --user nobody did not start"
	pid=$(tun_pid edge)
	grep -q 'running as uid 65534' "$T_DIR/edge.log" || t_fail "no log line for the drop"
	[[ $(proc_field "$pid" Uid) == 65534 ]] || t_fail "Uid: $(grep Uid "/proc/$pid/status")"
	[[ $(proc_field "$pid" Gid) == 65534 ]] || t_fail "Gid: $(grep Gid "/proc/$pid/status")"
	got=$(proc_field "$pid" CapEff)
	[[ $got == "$WANT_CAPS" ]] || t_fail "CapEff $got, want $WANT_CAPS"
	[[ $(proc_field "$pid" CapPrm) == "$WANT_CAPS" ]] || t_fail "CapPrm $(proc_field "$pid" CapPrm)"
	[[ $(proc_field "$pid" CapBnd) == "$WANT_CAPS" ]] || t_fail "CapBnd $(proc_field "$pid" CapBnd)"
	[[ $(proc_field "$pid" CapInh) == 0000000000000000 ]] || t_fail "CapInh not empty"
	[[ $(proc_field "$pid" NoNewPrivs) == 1 ]] || t_fail "no_new_privs not set"
	# every thread, the metrics server's too
	for t in /proc/"$pid"/task/*; do
		[[ $(awk '$1 == "CapEff:" { print $2 }' "$t/status") == "$WANT_CAPS" ]] ||
			t_fail "thread $t has other capabilities"
	done

	# and the tunnel works: agent up, curl through, XDP counters in /metrics
	user_edge_carries pass to_socket
	# scrapes after the drop read maps opened before it: no error per scrape
	tun_scrape >/dev/null
	user_edge_stop "$pid"
}

# AF_XDP too: the xsks pin is opened before the drop, the program stays attached
test_user_with_xdp_keeps_pins_root()
{
	local pid

	id nobody >/dev/null 2>&1 || t_skip "no user 'nobody'"
	stop_edge
	TUN_XDP=1 tun_edge --user nobody --metrics "$METRICS" || t_fail "beamd --user --xdp did not start"
	pid=$(tun_pid edge)
	grep -q 'XDP mode on' "$T_DIR/edge.log" || t_fail "no AF_XDP: $(grep -i xdp "$T_DIR/edge.log")"
	user_edge_carries redirect to_xsk
	user_edge_stop "$pid"
}

test_world_readable_tokens_refused()
{
	local rc=0

	cp "$T_DIR/tokens" "$T_DIR/tokens-open"
	chmod 644 "$T_DIR/tokens-open"
	t_ns "$EDGE" timeout 5 beamd --listen "$EDGE_AGENT_HP:4434" --tokens "$T_DIR/tokens-open" \
		>"$T_DIR/open.log" 2>&1 || rc=$?
	[[ $rc -ne 0 && $rc -ne 124 ]] || t_fail "beamd started with a world-readable tokens file (rc $rc)"
	grep -q "refusing tokens file '$T_DIR/tokens-open': readable or writable by other users" "$T_DIR/open.log" ||
		t_fail "no clear message: $(cat "$T_DIR/open.log")"
	chmod 602 "$T_DIR/tokens-open"
	rc=0
	t_ns "$EDGE" timeout 5 beamd --listen "$EDGE_AGENT_HP:4434" --tokens "$T_DIR/tokens-open" \
		>"$T_DIR/open.log" 2>&1 || rc=$?
	[[ $rc -ne 0 && $rc -ne 124 ]] || t_fail "beamd started with a world-writable tokens file"
	# the agent's --token-file too
	echo "$TUN_TOKEN" >"$T_DIR/agent-token"
	chmod 604 "$T_DIR/agent-token"
	rc=0
	t_ns "$AGENT" timeout 5 beam tcp 8080 --edge "$EDGE_AGENT_HP:4433" --insecure \
		--token-file "$T_DIR/agent-token" >"$T_DIR/agent-open.log" 2>&1 || rc=$?
	[[ $rc -ne 0 && $rc -ne 124 ]] || t_fail "the agent used a world-readable token file"
}

# beamd_fails WANT ARGS...: beamd must exit at start (1 or 2), saying WANT
beamd_fails() {
	local want=$1 rc=0
	shift

	t_ns "$EDGE" timeout 10 beamd --listen "$EDGE_AGENT_HP:4439" "$@" >"$T_DIR/fail.log" 2>&1 || rc=$?
	[[ $rc -ne 0 && $rc -ne 124 ]] && grep -qF -- "$want" "$T_DIR/fail.log" || {
		t_log "beamd $*: rc $rc: $(cat "$T_DIR/fail.log")"
		return 1
	}
}

test_beamd_startup_errors_named()
{
	local tk=$T_DIR/tokens

	beamd_fails "failed to open beam's maps for --iface 'nosuchif0': no such interface" \
		--tokens "$tk" --iface nosuchif0 || t_fail "--iface nosuchif0"
	beamd_fails "cannot use --iface 'lo': beam is not attached (beam-xdp attach lo)" \
		--tokens "$tk" --iface lo || t_fail "--iface lo"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=edge \
		-days 2 -keyout "$T_DIR/ec.key" -out "$T_DIR/ec.pem" 2>/dev/null || t_fail "openssl ec"
	chmod 600 "$T_DIR/ec.key"
	beamd_fails "failed to load certificate '/nonexist': No such file or directory" \
		--tokens "$tk" --cert /nonexist --key "$T_DIR/ec.key" || t_fail "--cert /nonexist"
	beamd_fails "failed to load key '/nonexist': No such file or directory" \
		--tokens "$tk" --cert "$T_DIR/ec.pem" --key /nonexist || t_fail "--key /nonexist"
	beamd_fails "failed to open tokens file '': No such file or directory" --tokens '' ||
		t_fail "--tokens ''"
	chmod 644 "$T_DIR/ec.key"
	beamd_fails "refusing key '$T_DIR/ec.key': readable or writable by other users (mode 644)" \
		--tokens "$tk" --cert "$T_DIR/ec.pem" --key "$T_DIR/ec.key" || t_fail "world-readable key"
	printf 'alice %s\nbob %s\n' "$TUN_TOKEN" "$TUN_TOKEN" >"$T_DIR/tokens-dup"
	chmod 600 "$T_DIR/tokens-dup"
	beamd_fails "'bob' has the same token as 'alice'" --tokens "$T_DIR/tokens-dup" ||
		t_fail "duplicate token"
	! grep -qF -- "$TUN_TOKEN" "$T_DIR/fail.log" || t_fail "the duplicate token was logged"
	# a --public address the host does not have: at start, not at the first REGISTER
	beamd_fails "cannot use --public '192.0.2.1' for public listeners: Cannot assign requested address (not an address of this host)" \
		--tokens "$tk" --public 192.0.2.1 || t_fail "--public 192.0.2.1"
}

# An RSA-1024 certificate is served (some clients still pin one) but beamd says it is weak.
test_beamd_weak_rsa_key_warned()
{
	local rc=0

	openssl req -x509 -newkey rsa:1024 -nodes -subj /CN=edge -days 2 -keyout "$T_DIR/rsa.key" \
		-out "$T_DIR/rsa.pem" 2>/dev/null || t_fail "openssl rsa:1024"
	chmod 600 "$T_DIR/rsa.key"
	t_ns "$EDGE" timeout 2 beamd --listen "$EDGE_AGENT_HP:4439" --tokens "$T_DIR/tokens" \
		--cert "$T_DIR/rsa.pem" --key "$T_DIR/rsa.key" >"$T_DIR/rsa.log" 2>&1 || rc=$?
	[[ $rc -eq 124 ]] || t_fail "beamd with an RSA-1024 certificate: rc $rc: $(cat "$T_DIR/rsa.log")"
	grep -qF "certificate '$T_DIR/rsa.pem' has a 1024-bit RSA key" "$T_DIR/rsa.log" ||
		t_fail "no warning: $(cat "$T_DIR/rsa.log")"
}

# An Ed25519 certificate: agents could not verify it, so beamd refuses it at start, saying why.
test_beamd_ed25519_certificate_refused()
{
	openssl genpkey -algorithm ed25519 -out "$T_DIR/ed.key" 2>/dev/null &&
		openssl req -new -x509 -key "$T_DIR/ed.key" -out "$T_DIR/ed.pem" -subj /CN=edge \
			-days 2 2>/dev/null || t_skip "openssl cannot make an Ed25519 certificate"
	chmod 600 "$T_DIR/ed.key"
	beamd_fails "failed to load certificate '$T_DIR/ed.pem': agents cannot verify its key type" \
		--tokens "$T_DIR/tokens" --cert "$T_DIR/ed.pem" --key "$T_DIR/ed.key" ||
		t_fail "an Ed25519 certificate was not refused with a reason"
}

# Without BPF rights: one line says the maps are off, libbpf's explanations only at -v.
test_beamd_maps_off_says_so_once()
{
	local rc=0

	id nobody >/dev/null 2>&1 || t_skip "no user 'nobody'"
	install -m 600 -o nobody "$T_DIR/tokens" "$T_DIR/tokens-nobody"
	chmod 755 "$T_DIR"
	t_ns "$EDGE" timeout 3 setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
		beamd --listen "$EDGE_AGENT_HP:4439" --tokens "$T_DIR/tokens-nobody" \
		>"$T_DIR/nobpf.log" 2>&1 || rc=$?
	t_log "$(cat "$T_DIR/nobpf.log")"
	[[ $rc -eq 124 ]] || t_fail "beamd without BPF rights did not run (rc $rc)"
	[[ $(grep -c 'BPF maps are off' "$T_DIR/nobpf.log") -eq 1 ]] || t_fail "not said once"
	! grep -qE 'libbpf|error:' "$T_DIR/nobpf.log" || t_fail "library or error lines without -v"
}

test_token_in_no_log_metric_or_title()
{
	local pid apid

	stop_edge
	tun_edge -vv --metrics "$METRICS" || t_fail "beamd did not start"
	pid=$(tun_pid edge)
	tun_agent agent 8080 -vv || t_fail "the agent did not come up"
	apid=$(tun_pid agent)
	t_ns "$CLI" curl -sS --max-time 10 "http://$EDGE_PUB_URL:$PUB_PORT/" >/dev/null
	# a wrong token is not logged either
	BEAM_TOKEN=wrong-$TUN_TOKEN t_ns "$AGENT" timeout 5 beam tcp 8080 -vv \
		--edge "$EDGE_AGENT_HP:4433" --pin "$FP" >"$T_DIR/wrong.log" 2>&1 || true
	grep -q 'authentication failed' "$T_DIR/edge.log" || t_fail "the wrong token was not refused"
	tun_scrape >"$T_DIR/metrics.txt"
	tr '\0' ' ' <"/proc/$pid/cmdline" >"$T_DIR/cmdline-edge"
	tr '\0' ' ' <"/proc/$apid/cmdline" >"$T_DIR/cmdline-agent"
	for f in edge.log agent.log wrong.log metrics.txt cmdline-edge cmdline-agent; do
		[[ -s $T_DIR/$f ]] || t_fail "$f is empty: nothing was checked"
		! grep -qF -- "$TUN_TOKEN" "$T_DIR/$f" || t_fail "the token appears in $f"
	done
	t_log "edge log $(wc -l <"$T_DIR/edge.log") lines, agent log $(wc -l <"$T_DIR/agent.log") lines: no token"
	kill "$apid" "$pid"
	# a sanitizer build takes a while to exit (leak check): the port must be free after
	t_wait_for 30 bash -c "! kill -0 $pid 2>/dev/null" || t_fail "beamd did not exit"
}

test_pins_are_root_only()
{
	local f mode

	[[ $(stat -c %a "$BEAM_PIN_ROOT") == 700 ]] || t_fail "pin root mode $(stat -c %a "$BEAM_PIN_ROOT")"
	# a fresh attach on another interface makes its directory 0700 too
	t_ns "$EDGE" beam-xdp attach eth0 --mode generic --port 4433 >/dev/null || t_fail "attach eth0"
	t_defer "nsenter --net=/run/netns/$EDGE $T_BUILD/beam-xdp detach eth0"
	mode=$(stat -c '%a %U' "$BEAM_PIN_ROOT/eth0")
	[[ $mode == "700 root" ]] || t_fail "pin dir eth0: $mode"
	for f in "$BEAM_PIN_ROOT"/eth0/*; do
		mode=$(stat -c %a "$f")
		[[ $mode == 600 ]] || t_fail "$f has mode $mode"
	done
	# nobody else gets through: an unprivileged user cannot open a pin
	if id nobody >/dev/null 2>&1 && command -v bpftool >/dev/null; then
		! setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
			bpftool map show pinned "$BEAM_PIN_ROOT/eth0/stats" >/dev/null 2>&1 ||
			t_fail "user nobody opened a pinned map"
	fi
}

test_agent_refuses_wrong_pin()
{
	local bad rc=0

	stop_edge
	tun_edge || t_fail "beamd did not start"
	bad=SHA256:$(printf '%064d' 0)
	BEAM_TOKEN=$TUN_TOKEN t_ns "$AGENT" timeout 5 beam tcp 8080 --edge "$EDGE_AGENT_HP:4433" \
		--pin "$bad" >"$T_DIR/badpin.log" 2>&1 || rc=$?
	! grep -q 'tunnel up' "$T_DIR/badpin.log" || t_fail "the agent accepted an edge with another certificate"
	grep -q 'does not match the pinned fingerprint' "$T_DIR/badpin.log" ||
		t_fail "no clear message: $(head -5 "$T_DIR/badpin.log")"
	# the edge registered nothing and never saw the token: no authentication at all
	! grep -q "authenticated as" "$T_DIR/edge.log" || t_fail "the edge authenticated the agent"
	kill "$(tun_pid edge)"
}

# a CA, and an edge certificate from it for edge.example (not the address dialled)
make_ca_cert() {
	local d=$T_DIR/ca

	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=beam-test-ca -keyout "$d/ca.key" -out "$d/ca.pem" >/dev/null 2>&1 &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=edge.example \
			-addext subjectAltName=DNS:edge.example -keyout "$d/edge.key" \
			-out "$d/edge.csr" >/dev/null 2>&1 &&
		openssl x509 -req -in "$d/edge.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
			-CAcreateserial -days 2 -copy_extensions copy -out "$d/edge.pem" >/dev/null 2>&1 &&
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
			-subj /CN=other-ca -keyout "$d/other.key" -out "$d/other.pem" >/dev/null 2>&1
}

# agent_cert_fail NAME ARGS...: run an agent that must refuse the edge and exit 1
agent_cert_fail() {
	local name=$1 rc=0
	shift

	BEAM_TOKEN=$TUN_TOKEN t_ns "$AGENT" timeout 20 beam tcp 8080 --edge "$EDGE_AGENT_HP:4433" \
		"$@" >"$T_DIR/$name.log" 2>&1 || rc=$?
	t_log "$name: exit $rc: $(grep -m1 'error' "$T_DIR/$name.log")"
	! grep -q 'tunnel up' "$T_DIR/$name.log" || t_fail "$name: the agent accepted the edge"
	((rc == 1)) || t_fail "$name: exit status $rc, not 1 (124: still retrying after 20 s)"
}

test_agent_exits_on_bad_certificate()
{
	stop_edge
	make_ca_cert || t_fail "openssl could not make the CA and certificate"
	tun_edge --cert "$T_DIR/ca/edge.pem" --key "$T_DIR/ca/edge.key" || t_fail "beamd did not start"
	agent_cert_fail cert-pin --pin "SHA256:$(printf '%064d' 0)"
	grep -q 'does not match the pinned fingerprint' "$T_DIR/cert-pin.log" ||
		t_fail "wrong pin: no clear message: $(head -3 "$T_DIR/cert-pin.log")"
	agent_cert_fail cert-name --ca "$T_DIR/ca/ca.pem"
	grep -q "edge.example.* is not for '$EDGE_AGENT_HP'" "$T_DIR/cert-name.log" ||
		t_fail "name mismatch: no clear message: $(head -3 "$T_DIR/cert-name.log")"
	agent_cert_fail cert-ca --ca "$T_DIR/ca/other.pem"
	grep -q 'not signed by a CA of --ca' "$T_DIR/cert-ca.log" ||
		t_fail "unknown CA: no clear message: $(head -3 "$T_DIR/cert-ca.log")"
	! grep -q "authenticated as" "$T_DIR/edge.log" || t_fail "the edge saw the token"
	stop_edge
}

# bad_agent: one run of an agent with a wrong token (4 s at most); its output
bad_agent() {
	BEAM_TOKEN=wrong-$TUN_TOKEN t_ns "$AGENT" timeout 4 beam tcp 8080 \
		--edge "$EDGE_AGENT_HP:4433" --pin "$FP" 2>&1
}

# throttled_then_up: wrong tokens from the agents' address until the edge throttles
# it, then a good agent from there; 0 once it was told it is throttled, kept
# running and came up, 2 when it came up unthrottled (a refill came first)
throttled_then_up() {
	local i out

	for ((i = 0; i < 40; i++)); do
		out=$(bad_agent) || true
		[[ $out == *"(throttled)"* ]] && break
		[[ $out == *"refused the token"* ]] || t_fail "wrong token: $out"
	done
	((i < 40)) || t_fail "40 wrong tokens and the edge never throttled the address"
	t_log "throttled after $i wrong tokens"
	: >"$T_DIR/good.log"
	tun_agent_bg tcp good 8080 || t_fail "the good agent did not start"
	t_wait_for 20 grep -qE 'throttled|tunnel up|refused the token' "$T_DIR/good.log" ||
		t_fail "the good agent said nothing: $(cat "$T_DIR/good.log")"
	! grep -q 'refused the token' "$T_DIR/good.log" ||
		t_fail "the good agent was told its token is wrong: $(cat "$T_DIR/good.log")"
	if ! grep -q throttled "$T_DIR/good.log"; then
		kill "$(tun_pid good)"
		return 2
	fi
	t_wait_for 40 grep -q 'tunnel up' "$T_DIR/good.log" ||
		t_fail "the throttled good agent never came up: $(cat "$T_DIR/good.log")"
	kill -0 "$(tun_pid good)" || t_fail "the good agent exited"
}

test_throttled_agent_waits()
{
	local try rc

	stop_edge
	tun_edge --workers 1 --metrics "$METRICS" || t_fail "beamd did not start"
	for try in 1 2 3; do
		rc=0
		throttled_then_up || rc=$?
		((rc == 2)) || break
		t_log "try $try: a refill let the good agent straight in; again"
	done
	((rc == 0)) || t_fail "the good agent was never throttled in 3 tries"
	grep -q 'refused unchecked: too many failed authentications' "$T_DIR/edge.log" ||
		t_fail "beamd did not log the throttle"
	t_ns "$CLI" curl -sS --max-time 10 "http://$EDGE_PUB_URL:$(tun_pub_port good)/" |
		grep -q "secure hello" || t_fail "no page through the tunnel"
	[[ $(tun_metric beam_agent_auth_throttled_total) -ge 2 ]] ||
		t_fail "beam_agent_auth_throttled_total: $(tun_metric beam_agent_auth_throttled_total)"
	kill "$(tun_pid good)"
	stop_edge
}

t_test test_beamd_drops_root_and_keeps_four_capabilities "--user: Uid, CapEff, threads, tunnel and metrics still work"
t_test test_user_with_xdp_keeps_pins_root "--user --xdp: AF_XDP works, pins stay root 0600, no errors"
t_test test_world_readable_tokens_refused "tokens files others may read or write are refused"
t_test test_beamd_startup_errors_named "beamd start-up errors name the interface, file and reason"
t_test test_beamd_weak_rsa_key_warned "an RSA-1024 certificate is served with a warning"
t_test test_beamd_ed25519_certificate_refused "an Ed25519 --cert is refused at start, saying why"
t_test test_beamd_maps_off_says_so_once "without BPF rights: maps off said once, no libbpf lines"
t_test test_token_in_no_log_metric_or_title "the token is in no -vv log, /metrics or cmdline"
t_test test_pins_are_root_only "pin directories 0700, pins 0600, closed to other users"
t_test test_agent_refuses_wrong_pin "an agent with a wrong --pin refuses the edge before sending its token"
t_test test_throttled_agent_waits "a good agent at a throttled address is told so, waits and comes up"
t_test test_agent_exits_on_bad_certificate "wrong pin, wrong name, unknown CA: the agent says which and exits 1"
t_done
