# SPDX-License-Identifier: MIT
#
# bench/lib.sh - the bench's network, services and subjects, on top of the
# integration harness (tests/integration/lib.sh: per-run names, cleanup stack).
#
#   client ns  eth0 10.77.1.2 (+ .10-.13 for scale) --- eth0 10.77.1.1  edge ns
#   edge ns    eth1 10.77.2.1 ------------------------- eth0 10.77.2.2  private ns
#
# The private machine runs the services (nginx, iperf3, an echo server) on
# 0.0.0.0; a subject is a way to reach them from the client: "direct" routes
# through the edge's kernel, every other subject is a tunnel whose public side
# listens on the edge (10.77.1.1) and whose agent side runs on the private
# machine. A subject exports PUB_HTTP, PUB_IPERF_HOST/PORT and PUB_ECHO for the
# measurements, and EDGE_COMM/AGENT_COMM (process names) for CPU and memory;
# AGENT_NS says where the agent runs when that is not the private machine.

# shellcheck source=../tests/integration/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tests/integration/lib.sh"

B_EDGE_PUB=10.77.1.1
B_EDGE_PRIV=10.77.2.1
B_CLIENT=10.77.1.2
B_CLIENT_SRCS=(10.77.1.10 10.77.1.11 10.77.1.12 10.77.1.13)
B_PRIV=10.77.2.2
B_HTTP_PORT=8080
B_IPERF_PORT=5201
B_ECHO_PORT=7000
B_PIDS=$T_DIR/pids
mkdir -p "$B_PIDS"
# Processes still recorded when the run ends are killed, by pid, before the
# namespaces go.
t_defer "for f in $B_PIDS/*; do [ -f \"\$f\" ] && kill -KILL \$(cat \"\$f\") 2>/dev/null; done"

b_log() { printf 'bench: [%4ds] %s\n' "$SECONDS" "$*" >&2; }
b_now_us() { echo "${EPOCHREALTIME/./}"; }

# b_bg NS NAME CMD...: start CMD in NS, remember its pid under NAME.
b_bg() {
	local ns=$1 name=$2

	shift 2
	nsenter --net="/run/netns/$ns" "$@" >"$T_DIR/$name.log" 2>&1 &
	echo $! >"$B_PIDS/$name"
	disown $!
}

b_pid() { cat "$B_PIDS/$1" 2>/dev/null; }

# b_stop NAME: TERM, then KILL after a second; forget the pid.
b_stop() {
	local pid i

	pid=$(b_pid "$1") || return 0
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	rm -f "$B_PIDS/$1"
}

b_alive() { local pid; pid=$(b_pid "$1") && [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; }

b_ns() { nsenter --net="/run/netns/$1" "${@:2}"; }

# b_port_open NS HOST PORT: something accepts TCP there.
b_port_open() { b_ns "$1" bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null; }

b_topology() {
	local ns

	NS_CL=$(t_netns cl) && NS_ED=$(t_netns ed) && NS_PV=$(t_netns pv) || return 1
	t_veth eth0 "$NS_CL" eth0 "$NS_ED" || return 1
	t_veth eth1 "$NS_ED" eth0 "$NS_PV" || return 1
	ip -n "$NS_CL" addr add "$B_CLIENT/24" dev eth0
	for a in "${B_CLIENT_SRCS[@]}"; do
		ip -n "$NS_CL" addr add "$a/24" dev eth0
	done
	ip -n "$NS_ED" addr add "$B_EDGE_PUB/24" dev eth0
	ip -n "$NS_ED" addr add "$B_EDGE_PRIV/24" dev eth1
	ip -n "$NS_PV" addr add "$B_PRIV/24" dev eth0
	ip -n "$NS_CL" route add default via "$B_EDGE_PUB"
	ip -n "$NS_PV" route add default via "$B_EDGE_PRIV"
	# Per-namespace knobs only: forwarding for "direct", room for many
	# connections (ports, backlog), reuse of TIME_WAIT ports for the
	# one-connection-per-request runs. The client, which listens on nothing,
	# may use every port; the edge and the private machine keep their
	# outgoing connections above the ports the subjects listen on (below
	# 30000), or a relay's connection can take a port a tunnel asks for next.
	b_ns "$NS_ED" sysctl -qw net.ipv4.ip_forward=1
	for ns in "$NS_CL" "$NS_ED" "$NS_PV"; do
		b_ns "$ns" sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535 \
			net.ipv4.tcp_tw_reuse=1 net.ipv4.tcp_syncookies=0 || return 1
	done
	b_ns "$NS_CL" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" || return 1
	b_ns "$NS_ED" sysctl -qw net.ipv4.ip_local_port_range="30000 65535" || return 1
	b_ns "$NS_PV" sysctl -qw net.ipv4.ip_local_port_range="30000 65535" || return 1
}

b_nginx_start() {
	local d=$T_DIR/nginx

	mkdir -p "$d/www" "$d/tmp"
	head -c 100 /dev/zero | tr '\0' 'a' >"$d/www/small"
	head -c 65536 /dev/zero | tr '\0' 'b' >"$d/www/64k"
	cat >"$d/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile $(ulimit -n);
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections $(ulimit -n); multi_accept on; }
http {
	access_log off;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	keepalive_requests 10000000;
	keepalive_timeout 300s;
	sendfile on;
	tcp_nodelay on;
	default_type application/octet-stream;
	server {
		listen $B_HTTP_PORT reuseport backlog=65535;
		root $d/www;
	}
}
EOF
	b_bg "$NS_PV" nginx nginx -e "$d/error.log" -c "$d/nginx.conf" -p "$d"
	t_wait_for 5 b_port_open "$NS_PV" 127.0.0.1 "$B_HTTP_PORT" || { b_log "nginx did not start"; return 1; }
}

b_services_start() {
	b_nginx_start || return 1
	b_bg "$NS_PV" iperf3 iperf3 -s -p "$B_IPERF_PORT" --idle-timeout 30
	b_bg "$NS_PV" echo "$BENCH_BIN/connhold" serve "0.0.0.0:$B_ECHO_PORT"
	t_wait_for 5 b_port_open "$NS_PV" 127.0.0.1 "$B_IPERF_PORT" || { b_log "iperf3 -s did not start"; return 1; }
	t_wait_for 5 b_port_open "$NS_PV" 127.0.0.1 "$B_ECHO_PORT" || { b_log "echo server did not start"; return 1; }
}

# --- sshd on the edge, with host key, user key and config of this run only.
# sshd insists on /run/sshd (privilege separation); it gets a private mount
# namespace whose /run is an empty tmpfs, so the machine's /run is untouched.
b_sshd_start() {
	local d=$T_DIR/ssh

	mkdir -p "$d" && chmod 700 "$d"
	ssh-keygen -q -t ed25519 -N '' -f "$d/host_key" -C bench-host || return 1
	ssh-keygen -q -t ed25519 -N '' -f "$d/user_key" -C bench-user || return 1
	cp "$d/user_key.pub" "$d/authorized_keys"
	echo "[$B_EDGE_PRIV]:2222 $(cut -d' ' -f1,2 "$d/host_key.pub")" >"$d/known_hosts"
	cat >"$d/sshd_config" <<EOF
Port 2222
ListenAddress $B_EDGE_PRIV
HostKey $d/host_key
PidFile none
AuthorizedKeysFile $d/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
GatewayPorts clientspecified
AllowTcpForwarding yes
X11Forwarding no
PrintMotd no
Ciphers aes128-gcm@openssh.com,chacha20-poly1305@openssh.com
MaxStartups 1000
LogLevel ERROR
EOF
	b_bg "$NS_ED" sshd unshare --mount --propagation private \
		bash -c "mount -t tmpfs bench-run /run && mkdir -m 755 /run/sshd && exec /usr/sbin/sshd -D -e -f $d/sshd_config"
	t_wait_for 5 b_port_open "$NS_ED" "$B_EDGE_PRIV" 2222 || { b_log "sshd did not start"; cat "$T_DIR/sshd.log" >&2; return 1; }
}

# --- stunnel certificate
b_stunnel_prepare() {
	local d=$T_DIR/stunnel

	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=bench-stunnel -keyout "$d/key.pem" -out "$d/cert.pem" 2>/dev/null
}

# --- subjects. Each has sub_<name>_check (prints why it cannot run, returns 1),
# sub_<name>_start (exports PUB_*, EDGE_COMM, AGENT_COMM) and sub_<name>_stop.

sub_direct_check() { return 0; }
sub_direct_start() {
	PUB_HTTP=$B_PRIV:$B_HTTP_PORT PUB_IPERF_HOST=$B_PRIV PUB_IPERF_PORT=$B_IPERF_PORT
	PUB_ECHO=$B_PRIV:$B_ECHO_PORT EDGE_COMM= AGENT_COMM=
}
sub_direct_stop() { :; }

# socat: edge hop public:1100x -> private:2100x, agent hop -> 127.0.0.1:service.
sub_socat_check() { command -v socat >/dev/null || { echo "socat not installed"; return 1; }; }
sub_socat_start() {
	local i svc=("$B_HTTP_PORT" "$B_IPERF_PORT" "$B_ECHO_PORT")

	B_T0=$(b_now_us)
	for i in 0 1 2; do
		b_bg "$NS_PV" socat-a$i socat -b 131072 TCP-LISTEN:$((21000 + i)),bind=$B_PRIV,fork,reuseaddr,backlog=4096,nodelay \
			TCP:127.0.0.1:${svc[i]},nodelay
		b_bg "$NS_ED" socat-e$i socat -b 131072 TCP-LISTEN:$((11000 + i)),bind=$B_EDGE_PUB,fork,reuseaddr,backlog=4096,nodelay \
			TCP:$B_PRIV:$((21000 + i)),nodelay
	done
	PUB_HTTP=$B_EDGE_PUB:11000 PUB_IPERF_HOST=$B_EDGE_PUB PUB_IPERF_PORT=11001
	PUB_ECHO=$B_EDGE_PUB:11002 EDGE_COMM=socat AGENT_COMM=socat
}
sub_socat_stop() { local i; for i in 0 1 2; do b_stop socat-e$i; b_stop socat-a$i; done; }

# ssh -R: the agent (ssh client on the private machine) logs in to the edge's
# sshd and asks for three remote forwards on the public address.
b_ssh_start() {
	local cipher=$1 base=$2 d=$T_DIR/ssh

	B_T0=$(b_now_us)
	b_bg "$NS_PV" ssh-agent ssh -F /dev/null -N -T -p 2222 -i "$d/user_key" \
		-o BatchMode=yes -o ExitOnForwardFailure=yes -o IdentitiesOnly=yes \
		-o UserKnownHostsFile="$d/known_hosts" -o StrictHostKeyChecking=yes \
		-o Ciphers="$cipher" -o Compression=no -o ServerAliveInterval=0 \
		-R "$B_EDGE_PUB:$base:127.0.0.1:$B_HTTP_PORT" \
		-R "$B_EDGE_PUB:$((base + 1)):127.0.0.1:$B_IPERF_PORT" \
		-R "$B_EDGE_PUB:$((base + 2)):127.0.0.1:$B_ECHO_PORT" \
		root@"$B_EDGE_PRIV"
	PUB_HTTP=$B_EDGE_PUB:$base PUB_IPERF_HOST=$B_EDGE_PUB PUB_IPERF_PORT=$((base + 1))
	PUB_ECHO=$B_EDGE_PUB:$((base + 2)) EDGE_COMM=sshd AGENT_COMM=ssh
}
sub_ssh_check() {
	command -v ssh >/dev/null && [[ -x /usr/sbin/sshd ]] || { echo "openssh not installed"; return 1; }
}
sub_ssh-aes_check() { sub_ssh_check; }
sub_ssh-aes_start() { b_ssh_start aes128-gcm@openssh.com 12000; }
sub_ssh-aes_stop() { b_stop ssh-agent; }
# ssh -L: the client itself logs in to the edge's sshd and forwards three
# local ports (on its loopback) through it to the private machine's services;
# nothing runs on the private machine. The "agent" is the client's ssh.
sub_ssh-local_check() { sub_ssh_check; }
sub_ssh-local_start() {
	local d=$T_DIR/ssh

	B_T0=$(b_now_us)
	b_bg "$NS_CL" ssh-local ssh -F /dev/null -N -T -p 2222 -i "$d/user_key" \
		-o BatchMode=yes -o ExitOnForwardFailure=yes -o IdentitiesOnly=yes \
		-o UserKnownHostsFile="$d/known_hosts" -o StrictHostKeyChecking=yes \
		-o Ciphers=aes128-gcm@openssh.com -o Compression=no -o ServerAliveInterval=0 \
		-L "127.0.0.1:17000:$B_PRIV:$B_HTTP_PORT" \
		-L "127.0.0.1:17001:$B_PRIV:$B_IPERF_PORT" \
		-L "127.0.0.1:17002:$B_PRIV:$B_ECHO_PORT" \
		root@"$B_EDGE_PRIV"
	PUB_HTTP=127.0.0.1:17000 PUB_IPERF_HOST=127.0.0.1 PUB_IPERF_PORT=17001
	PUB_ECHO=127.0.0.1:17002 EDGE_COMM=sshd AGENT_COMM=ssh AGENT_NS=$NS_CL
}
sub_ssh-local_stop() { b_stop ssh-local; }
sub_ssh-chacha_check() { sub_ssh_check; }
sub_ssh-chacha_start() { b_ssh_start chacha20-poly1305@openssh.com 13000; }
sub_ssh-chacha_stop() { b_stop ssh-agent; }

# stunnel: a client-mode stunnel on the edge takes public plaintext and speaks
# TLS to a server-mode stunnel on the private machine, which hands the bytes
# to the service.
sub_stunnel_check() { command -v stunnel4 >/dev/null || { echo "stunnel4 not installed"; return 1; }; }
sub_stunnel_start() {
	local d=$T_DIR/stunnel i svc=("$B_HTTP_PORT" "$B_IPERF_PORT" "$B_ECHO_PORT")

	{
		printf 'foreground = yes\npid =\nsyslog = no\ndebug = 3\nsocket = l:TCP_NODELAY=1\nsocket = r:TCP_NODELAY=1\n'
		for i in 0 1 2; do
			printf '[s%d]\naccept = %s:%d\nconnect = 127.0.0.1:%d\ncert = %s\nkey = %s\n' \
				$i "$B_PRIV" $((24000 + i)) "${svc[i]}" "$d/cert.pem" "$d/key.pem"
		done
	} >"$d/agent.conf"
	{
		printf 'foreground = yes\npid =\nsyslog = no\ndebug = 3\nsocket = l:TCP_NODELAY=1\nsocket = r:TCP_NODELAY=1\n'
		for i in 0 1 2; do
			printf '[c%d]\nclient = yes\naccept = %s:%d\nconnect = %s:%d\nverifyPeer = yes\nCAfile = %s\n' \
				$i "$B_EDGE_PUB" $((14000 + i)) "$B_PRIV" $((24000 + i)) "$d/cert.pem"
		done
	} >"$d/edge.conf"
	B_T0=$(b_now_us)
	b_bg "$NS_PV" stunnel-a stunnel4 "$d/agent.conf"
	b_bg "$NS_ED" stunnel-e stunnel4 "$d/edge.conf"
	PUB_HTTP=$B_EDGE_PUB:14000 PUB_IPERF_HOST=$B_EDGE_PUB PUB_IPERF_PORT=14001
	PUB_ECHO=$B_EDGE_PUB:14002 EDGE_COMM=stunnel4 AGENT_COMM=stunnel4
}
sub_stunnel_stop() { b_stop stunnel-e; b_stop stunnel-a; }
# TLS 1.3 handshakes against stunnel's server side, from the edge (where its
# own client runs), counted when the server's session ticket arrives.
sub_stunnel_hsrate() { b_hsload "$NS_ED" tls -t "$B_PRIV:24000"; }

# --- beam. Detected by what the binaries say they can do, so the bench runs
# before the tunnel lands and reports "not available yet".
b_beam_check() {
	local out

	[[ -x $BEAM_BIN/beamd && -x $BEAM_BIN/beam ]] || { echo "beamd/beam not built"; return 1; }
	out=$("$BEAM_BIN/beamd" --help 2>&1)
	grep -q -- --listen <<<"$out" || { echo "not available yet (beamd has no --listen)"; return 1; }
	out=$("$BEAM_BIN/beam" --help 2>&1)
	grep -q -- --edge <<<"$out" || { echo "not available yet (beam has no --edge)"; return 1; }
	if [[ ${1:-} == xdp ]]; then
		grep -q -- --xdp < <("$BEAM_BIN/beamd" --help 2>&1) ||
			{ echo "not available yet (beamd has no --xdp)"; return 1; }
	fi
	return 0
}

# b_beam_start MODE BASE UDPPORT: beamd on the edge (MODE xdp adds --xdp eth1,
# the interface the agents arrive on), one agent per service.
b_beam_start() {
	local mode=$1 base=$2 udp=$3 d=$T_DIR/beam-$1 fp i svc=("$B_HTTP_PORT" "$B_IPERF_PORT" "$B_ECHO_PORT")
	local xdp=()

	mkdir -p "$d"
	B_BEAM_TOKEN=bench-$T_RUN-$RANDOM$RANDOM
	# one token per agent of the handshake step: beamd limits connections per token
	{
		echo "bench $B_BEAM_TOKEN"
		for ((i = 0; i < 200; i++)); do echo "hs$i $B_BEAM_TOKEN-hs$i"; done
	} >"$d/tokens"
	chmod 600 "$d/tokens"
	[[ $mode == xdp ]] && xdp=(--xdp eth1)
	# b_bg truncates the log in the background: an old log must not answer the wait below.
	rm -f "$T_DIR/beamd-$mode.log"
	# B_BEAMD_EXTRA: more beamd options, e.g. --no-maps for bench/metrics-cost.sh.
	# shellcheck disable=SC2086
	b_bg "$NS_ED" beamd-$mode "$BEAM_BIN/beamd" --listen "$B_EDGE_PRIV:$udp" --tokens "$d/tokens" "${xdp[@]}" ${B_BEAMD_EXTRA:-}
	t_wait_for 10 grep -qo 'SHA256:[A-Za-z0-9+/=:]*' "$T_DIR/beamd-$mode.log" ||
		{ b_log "beamd ($mode) printed no fingerprint"; return 1; }
	fp=$(grep -o 'SHA256:[A-Za-z0-9+/=:]*' "$T_DIR/beamd-$mode.log" | head -1)
	B_BEAM_FP=$fp
	# The fingerprint comes before the XDP attach and the AF_XDP socket:
	# agents start when beamd listens, or their first Initial is lost to the
	# attach and "agent start to tunnel up" counts a retransmission timeout.
	t_wait_for 10 grep -q 'listening for agents' "$T_DIR/beamd-$mode.log" ||
		{ b_log "beamd ($mode) is not listening"; return 1; }
	B_T0=$(b_now_us)
	for i in 0 1 2; do
		b_bg "$NS_PV" beam-$mode-$i env BEAM_TOKEN="$B_BEAM_TOKEN" "$BEAM_BIN/beam" tcp \
			"127.0.0.1:${svc[i]}" --edge "$B_EDGE_PRIV:$udp" --pin "$fp" --remote-port $((base + i))
	done
	PUB_HTTP=$B_EDGE_PUB:$base PUB_IPERF_HOST=$B_EDGE_PUB PUB_IPERF_PORT=$((base + 1))
	PUB_ECHO=$B_EDGE_PUB:$((base + 2)) EDGE_COMM=beamd AGENT_COMM=beam
}

# b_hsload NS ARGS...: bench/hsload's JSON line (handshakes a server finished
# per second, HS_CONNS in flight for HS_S seconds), or nothing.
b_hsload() {
	local ns=$1 out

	shift
	out=$(timeout $((${HS_S%.*} + 20)) nsenter --net="/run/netns/$ns" "$BENCH_BIN/hsload" "$@" \
		-c "$HS_CONNS" -d "$HS_S" 2>/dev/null | tail -1)
	jq -e .per_s <<<"$out" >/dev/null 2>&1 && echo "$out"
}

# Full 1-RTT QUIC + TLS 1.3 handshakes with HELLO against the running beamd,
# from the private machine, each from a new socket; the agents' tokens in turn
# (beamd limits connections per token).
b_beam_hsrate() {
	local toks

	toks=$(seq -f "$B_BEAM_TOKEN-hs%g" -s, 0 199)
	BEAM_TOKEN=$toks b_hsload "$NS_PV" quic -t "$B_EDGE_PRIV:4433" --pin "$B_BEAM_FP"
}

# b_beam_handshakes MODE K: K agents dial the running beamd at once; prints
# tunnels registered per second (each is a full QUIC + TLS 1.3 handshake and a
# REGISTER), or nothing when they did not all come up in 20 s.
b_beam_handshakes() {
	local mode=$1 k=$2 udp i t0 t1 up=0 deadline=$((SECONDS + 20))

	((k <= 200)) || k=200
	udp=4433
	t0=$(b_now_us)
	for ((i = 0; i < k; i++)); do
		b_bg "$NS_PV" hs-$mode-$i env BEAM_TOKEN="$B_BEAM_TOKEN-hs$i" "$BEAM_BIN/beam" tcp \
			"127.0.0.1:$B_HTTP_PORT" --edge "$B_EDGE_PRIV:$udp" --pin "$B_BEAM_FP" --name "hs$i"
	done
	while ((SECONDS < deadline)); do
		up=$(grep -l 'tunnel up' "$T_DIR"/hs-$mode-*.log 2>/dev/null | wc -l)
		((up >= k)) && break
		sleep 0.01
	done
	t1=$(b_now_us)
	for ((i = 0; i < k; i++)); do
		b_stop hs-$mode-$i
	done
	if ((up < k)); then
		b_log "beam ($mode): only $up of $k agents came up in 20 s"
		mkdir -p "$OUT/logs/hs-$mode-$REP"
		cp "$T_DIR"/hs-$mode-*.log "$T_DIR/beamd-$mode.log" "$OUT/logs/hs-$mode-$REP/" 2>/dev/null
	fi
	rm -f "$T_DIR"/hs-$mode-*.log
	((up >= k)) && awk -v k="$k" -v us=$((t1 - t0)) 'BEGIN { printf "%.1f\n", k / (us / 1e6) }'
}

# b_beam_resume: an agent's cold connect, then a reconnect with its session
# ticket (0-RTT) after the path to the edge went away. Prints "COLD_MS
# RESUMED_MS 0RTT" from the agent's own "tunnel usable N ms after
# (re)connecting (0-RTT ...)" lines (-vv), or nothing. The path is cut by
# taking the private machine's link down until the agent notices (1 s idle
# timeout) and brought back before its first retry (50-100 ms later), so the
# retry runs on a working path.
b_beam_resume() {
	local log=$T_DIR/rs.log deadline cold res ortt

	b_bg "$NS_PV" rs env BEAM_TOKEN="$B_BEAM_TOKEN" "$BEAM_BIN/beam" -vv tcp "127.0.0.1:$B_HTTP_PORT" \
		--edge "$B_EDGE_PRIV:4433" --pin "$B_BEAM_FP" --name rs --idle-timeout 1
	t_wait_for 10 grep -q 'tunnel usable' "$log" || { b_stop rs; return 1; }
	cold=$(grep -o 'tunnel usable [0-9.]* ms' "$log" | head -1 | awk '{ print $3 }')
	sleep 0.3
	ip -n "$NS_PV" link set eth0 down
	deadline=$((SECONDS + 5))
	until grep -q 'connection to the edge lost' "$log" || ((SECONDS >= deadline)); do
		sleep 0.005
	done
	ip -n "$NS_PV" link set eth0 up
	# a link going down takes its routes with it: "direct" needs the default back
	ip -n "$NS_PV" route replace default via "$B_EDGE_PRIV"
	t_wait_for 15 bash -c "[ \$(grep -c 'tunnel usable' '$log') -ge 2 ]"
	res=$(grep -o 'tunnel usable [0-9.]* ms.*' "$log" | sed -n 2p)
	b_stop rs
	[[ -n $cold && -n $res ]] || return 1
	ortt=$(grep -q '0-RTT accepted' <<<"$res" && echo 1 || echo 0)
	echo "$cold $(awk '{ print $3 }' <<<"$res") $ortt"
}

b_beam_stop() { local i; for i in 0 1 2; do b_stop beam-$1-$i; done; b_stop beamd-$1; }

sub_beam_check() { b_beam_check; }
# BEAM_SOCK_XDP_MODE=native|generic: beam's program on eth1 for the socket
# subject too (no AF_XDP socket: it passes beam's frames to the stack), as on
# an edge where beam-xdp attach runs and beamd has no --xdp: compares the two
# packet paths of one edge instead of "XDP or none" (on veth a program on eth1
# takes GSO away from its peer, whichever path beamd reads).
sub_beam_start() {
	if [[ -n ${BEAM_SOCK_XDP_MODE:-} ]]; then
		b_ns "$NS_ED" "$BEAM_BIN/beam-xdp" attach eth1 --mode "$BEAM_SOCK_XDP_MODE" \
			--port 4433 >/dev/null || return 1
	fi
	b_beam_start sock 15000 4433
}
sub_beam_stop() {
	b_beam_stop sock
	[[ -z ${BEAM_SOCK_XDP_MODE:-} ]] || b_ns "$NS_ED" "$BEAM_BIN/beam-xdp" detach eth1 >/dev/null 2>&1
}
sub_beam_handshakes() { b_beam_handshakes sock "$1"; }
sub_beam_hsrate() { b_beam_hsrate; }
sub_beam_resume() { b_beam_resume; }
sub_beam-xdp_check() { b_beam_check xdp; }
# beamd takes the partial checksums a sender on this host leaves to veth
# "hardware" (PKT_PARSE_PARTIAL), so the private machine keeps its offloads,
# the same for beam and beam-xdp.
# BEAM_XDP_MODE=native|generic: attach beam's program in that mode first
# (beamd then uses it); unset, beamd attaches it itself (auto: native here).
sub_beam-xdp_start() {
	if [[ -n ${BEAM_XDP_MODE:-} ]]; then
		b_ns "$NS_ED" "$BEAM_BIN/beam-xdp" attach eth1 --mode "$BEAM_XDP_MODE" --port 4433 \
			--steer >/dev/null || return 1
	fi
	b_beam_start xdp 16000 4433
}
sub_beam-xdp_stop() {
	# what went through the AF_XDP socket, to tell it from a silent fallback
	B_XSK_PACKETS=$(b_ns "$NS_ED" "$BEAM_BIN/beam-xdp" stats eth1 --json 2>/dev/null |
		jq -r '.reasons.to_xsk.packets // empty' 2>/dev/null)
	B_XSK_MODE=$(grep -o "AF_XDP socket on 'eth1' queue [0-9]* in [a-z -]* mode" "$T_DIR/beamd-xdp.log" | head -1)
	B_XDP_MODE=$(b_ns "$NS_ED" "$BEAM_BIN/beam-xdp" status eth1 2>/dev/null | grep -o 'native\|generic' | head -1)
	b_beam_stop xdp
	# beamd's last words: datagrams per path, AF_XDP or socket, each way
	B_XSK_PATHS=$(grep -o 'packet paths: .*' "$T_DIR/beamd-xdp.log" | tail -1)
	b_ns "$NS_ED" "$BEAM_BIN/beam-xdp" detach eth1 >/dev/null 2>&1
}
sub_beam-xdp_handshakes() { b_beam_handshakes xdp "$1"; }
sub_beam-xdp_hsrate() { b_beam_hsrate; }
sub_beam-xdp_resume() { b_beam_resume; }

# --- process accounting for a subject's tunnel processes in a namespace.

# b_procs NS COMM: pids in NS whose command name is COMM.
b_procs() {
	local pid

	[[ -n $2 ]] || return 0
	for pid in $(ip netns pids "$1" 2>/dev/null); do
		[[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$2" ]] && echo "$pid"
	done
}

# b_cpu_ticks NS COMM: utime+stime (+ reaped children's) of those processes, in clock ticks.
b_cpu_ticks() {
	local pid sum=0 f

	for pid in $(b_procs "$1" "$2"); do
		f=$(cut -d')' -f2- "/proc/$pid/stat" 2>/dev/null) || continue
		# fields after "comm)": 3 state ... 14 utime 15 stime 16 cutime 17 cstime
		sum=$((sum + $(awk '{ print $12 + $13 + $14 + $15 }' <<<"$f")))
	done
	echo "$sum"
}

# b_rss_kib NS COMM: summed VmRSS of those processes, in KiB.
b_rss_kib() {
	local pid sum=0 v

	for pid in $(b_procs "$1" "$2"); do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

# b_pss_kib NS COMM: summed proportional set sizes (PSS) in KiB, so pages that
# forked processes (socat, sshd) share are counted once, not once per process.
b_pss_kib() {
	local pid sum=0 v

	for pid in $(b_procs "$1" "$2"); do
		v=$(awk '/^Pss:/ { print $2; exit }' "/proc/$pid/smaps_rollup" 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}
