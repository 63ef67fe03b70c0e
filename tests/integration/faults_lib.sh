# SPDX-License-Identifier: MIT
#
# faults_lib.sh - helpers shared by tests/integration/test_faults.sh and the
# long runs in tests/stress/: link impairment on both ends of the edge-agent
# link, timed transfers with SHA-256, and one row per fault for the table
# `make stress` prints ($STRESS_TABLE, tab-separated: fault, runs, bytes
# moved, bytes lost, recovery).
# shellcheck disable=SC2034

IMPAIR=$T_BUILD/tools/impair
FAULT_SVC="python3 $T_ROOT/tests/integration/helpers/fault_svc.py"

now_ms() { date +%s%3N; }

# fault_row FAULT RUNS MOVED LOST RECOVERY
fault_row() {
	t_log "fault '$1': runs $2, bytes moved $3, bytes lost $4, recovery $5"
	[[ -z ${STRESS_TABLE:-} ]] || printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$STRESS_TABLE"
}

# fault_impair LOSS REORDER: loss and reordering on both ends of the edge-agent link
fault_impair() {
	local args=(--loss "$1")

	[[ $2 == 0 ]] || args+=(--reorder "$2" --slow-rate "${FAULT_SLOW_RATE:-100mbit}")
	t_defer "nsenter --net=/run/netns/$EDGE $IMPAIR detach eth1; nsenter --net=/run/netns/$AGENT $IMPAIR detach eth0"
	t_ns "$EDGE" "$IMPAIR" attach eth1 "${args[@]}" >/dev/null &&
		t_ns "$AGENT" "$IMPAIR" attach eth0 "${args[@]}" >/dev/null
}

fault_unimpair() {
	t_ns "$EDGE" "$IMPAIR" detach eth1
	t_ns "$AGENT" "$IMPAIR" detach eth0
}

# fault_file MIB: a random file, its path in F_FILE and SHA-256 in F_SHA
fault_file() {
	F_FILE=$T_DIR/file-$1
	[[ -f $F_FILE ]] || head -c $(($1 << 20)) /dev/urandom >"$F_FILE"
	F_SHA=$(sha256sum <"$F_FILE" | cut -d' ' -f1)
}

# fault_file_service NAME PORT: serve $F_FILE to every connection on PORT and
# bring a tunnel NAME up for it (sets PUB_PORT)
fault_file_service() {
	# -U: from the right address to the left; each child opens the file anew
	t_bg "$AGENT" "$1-svc" socat -U TCP-LISTEN:"$2",bind=127.0.0.1,reuseaddr,fork \
		OPEN:"$F_FILE",rdonly
	t_wait_for 10 t_ns "$AGENT" bash -c "exec 3<>/dev/tcp/127.0.0.1/$2"
	tun_agent "$1" "$2"
}

# fault_download PORT TIMEOUT: fetch through the tunnel; sets F_GOT (sha),
# F_BYTES (bytes received) and F_MS (duration)
fault_download() {
	local t0

	t0=$(now_ms)
	t_ns "$CLI" timeout "$2" socat -u TCP:"$EDGE_PUB":"$1" - |
		tee >(wc -c >"$T_DIR/dl.bytes") | sha256sum | cut -d' ' -f1 >"$T_DIR/dl.sha"
	F_MS=$(($(now_ms) - t0))
	sleep 0.1
	F_GOT=$(cat "$T_DIR/dl.sha")
	F_BYTES=$(cat "$T_DIR/dl.bytes")
}

# mbps BYTES MS
mbps() { awk -v b="$1" -v ms="$2" 'BEGIN { printf "%.1f", ms ? b * 8 / ms / 1000 : 0 }'; }

# fault_loss_run LOSS REORDER MIB PORT: MIB through the impaired link, SHA-256 equal
fault_loss_run() {
	local loss=$1 reorder=$2 mib=$3 port=$4 name

	name=loss$loss
	fault_file "$mib"
	fault_file_service "agent-$name" "$port"
	fault_impair "$loss" "$reorder" || t_fail "impair attach failed"
	fault_download "$PUB_PORT" "${FAULT_TIMEOUT:-300}"
	t_ns "$EDGE" "$IMPAIR" stats eth1 | tr '\n' ' ' | sed 's/^/# edge eth1: /'
	echo
	fault_unimpair
	t_log "$loss% loss, $reorder% reorder: $F_BYTES bytes in $F_MS ms, $(mbps "$F_BYTES" "$F_MS") Mbit/s"
	fault_row "loss $loss% reorder $reorder%" 1 "$F_BYTES" $(((mib << 20) - F_BYTES)) "-"
	[[ $F_GOT == "$F_SHA" ]] || t_fail "sha256 $F_GOT, want $F_SHA ($F_BYTES of $((mib << 20)) bytes)"
	kill "$(tun_pid "agent-$name")" "$(tun_pid "agent-$name-svc")" 2>/dev/null || true
}

# fault_agent_kill OLD NEW LOCALPORT BOUND_S: with a public client reading a
# stream from agent OLD (serving LOCALPORT, which streams without end), SIGKILL
# OLD and start agent NEW at once. NEW must get the same public port, the
# client a reset (or EOF) within BOUND_S, and the tunnel must carry data again.
# Sets F_UP_MS (kill to tunnel up) and F_RESET_MS (kill to the client's end).
fault_agent_kill() {
	local old_port t0 out

	old_port=$PUB_PORT
	t_bg "$CLI" reader-"$2" $FAULT_SVC read-until-close "$EDGE_PUB" "$PUB_PORT"
	sleep 1
	t0=$(now_ms)
	kill -KILL "$(tun_pid "$1")"
	# the same token and tunnel name come back at once: the same port
	tun_agent "$2" "$3" || t_fail "agent $2 did not come up"
	F_UP_MS=$(($(now_ms) - t0))
	[[ $PUB_PORT == "$old_port" ]] || t_fail "port $PUB_PORT after the restart, had $old_port"
	# the old connection would time out on its own; the reset must come first
	t_wait_for "$4" bash -c "! kill -0 $(tun_pid reader-"$2") 2>/dev/null" ||
		t_fail "the public client was not reset within $4 s"
	F_RESET_MS=$(($(now_ms) - t0))
	out=$(cat "$T_DIR/reader-$2.log")
	t_log "public client: '$out' ${F_RESET_MS} ms after the kill; tunnel back in ${F_UP_MS} ms"
	[[ $out == reset* || $out == eof* ]] || t_fail "reader: $out"
	out=$(t_ns "$CLI" timeout 10 socat -u TCP:"$EDGE_PUB":"$PUB_PORT" - 2>/dev/null |
		head -c 1000000 | wc -c || true)
	[[ $out -eq 1000000 ]] || t_fail "the tunnel does not carry data after the restart ($out bytes)"
}

# fault_nat_rebind NAME LOCALPORT: 100 MiB from a new agent NAME while a NAT
# (tools/natrebind on the agent's link) moves its UDP port by 1000, 0.3 s into
# the transfer. The connection must migrate: SHA-256 equal, the edge sees the
# new port, the agent never reconnects. NAT_DELTA=0 leaves the port alone (a
# reference run). Sets F_MS.
# The connection lines of beam-xdp status eth1 (beamd's conns map entries).
conns_lines() {
	t_ns "$EDGE" beam-xdp status eth1 | awk '$2 ~ /^(handshake|established|draining|closing)$/'
}

# conns_show_port PORT: whether a conns entry has peer port PORT.
conns_show_port() {
	conns_lines | grep -q ":$1 "
}

fault_nat_rebind() {
	local aport nport rebind end delta=${NAT_DELTA:-1000}

	fault_file 100
	fault_file_service "$1" "$2"
	aport=$(t_ns "$AGENT" ss -Huanp | awk -v p="$(tun_pid "$1")" \
		'$0 ~ "pid=" p "," { n = split($(NF - 2), a, ":"); print a[n]; exit }')
	[[ -n $aport ]] || t_fail "could not find the agent's UDP port"
	t_defer "nsenter --net=/run/netns/$AGENT $T_BUILD/tools/natrebind detach eth0 2>/dev/null"
	(
		sleep 0.3
		[[ $delta == 0 ]] ||
			t_ns "$AGENT" "$T_BUILD/tools/natrebind" attach eth0 --port 4433 --delta "$delta"
		now_ms >"$T_DIR/rebound.ms"
	) &
	rebind=$!
	fault_download "$PUB_PORT" 120
	end=$(now_ms)
	wait $rebind
	nport=$((aport + delta))
	# beamd refreshes its conns entry every 100 ms: it must show the new port
	# while the rebinding holds (detaching it moves the agent back)
	t_wait_for 3 conns_show_port "$nport" ||
		t_fail "beam-xdp status shows no connection from port $nport: $(conns_lines)"
	[[ $delta == 0 ]] || t_ns "$AGENT" "$T_BUILD/tools/natrebind" detach eth0
	(($(cat "$T_DIR/rebound.ms") < end)) || t_fail "the transfer ended before the rebinding"
	t_log "agent port $aport, seen by the edge as $nport: $F_BYTES bytes in $F_MS ms"
	[[ $F_GOT == "$F_SHA" ]] || t_fail "sha256 differs across the rebinding ($F_BYTES bytes)"
	t_ns "$EDGE" beam-xdp flows eth1 | grep -q ":$nport " || t_fail "no flow from port $nport at the edge"
	[[ $(grep -c 'tunnel up' "$T_DIR/$1.log") -eq 1 ]] ||
		t_fail "the agent reconnected instead of migrating"
	fault_row "NAT rebinding" 1 "$F_BYTES" $(((100 << 20) - F_BYTES)) "${F_MS} ms transfer"
	kill "$(tun_pid "$1")" "$(tun_pid "$1-svc")"
}

# fault_nat_rebind_idle NAME LOCALPORT: the NAT moves an idle agent's port;
# then a public client fetches 8 MiB. The edge's first packets go to the dead
# mapping: the agent's next keep-alive (a third of the idle timeout in force)
# shows the edge the new port, and the fetch must complete on the same
# connection. Sets F_MS (the fetch, stall included).
fault_nat_rebind_idle() {
	local aport

	fault_file 8
	fault_file_service "$1" "$2"
	fault_download "$PUB_PORT" 30
	[[ $F_GOT == "$F_SHA" ]] || t_fail "download before the rebinding failed"
	aport=$(t_ns "$AGENT" ss -Huanp | awk -v p="$(tun_pid "$1")" \
		'$0 ~ "pid=" p "," { n = split($(NF - 2), a, ":"); print a[n]; exit }')
	[[ -n $aport ]] || t_fail "could not find the agent's UDP port"
	t_defer "nsenter --net=/run/netns/$AGENT $T_BUILD/tools/natrebind detach eth0 2>/dev/null"
	t_ns "$AGENT" "$T_BUILD/tools/natrebind" attach eth0 --port 4433 --delta 2000 >/dev/null
	fault_download "$PUB_PORT" 60
	t_wait_for 3 conns_show_port $((aport + 2000)) ||
		t_fail "beam-xdp status shows no connection from port $((aport + 2000)): $(conns_lines)"
	t_ns "$AGENT" "$T_BUILD/tools/natrebind" detach eth0
	t_log "idle agent's port $aport rebound to $((aport + 2000)): 8 MiB fetched in $F_MS ms"
	[[ $F_GOT == "$F_SHA" ]] || t_fail "sha256 differs after the rebinding ($F_BYTES bytes)"
	t_ns "$EDGE" beam-xdp flows eth1 | grep -q ":$((aport + 2000)) " ||
		t_fail "no flow from port $((aport + 2000)) at the edge"
	[[ $(grep -c 'tunnel up' "$T_DIR/$1.log") -eq 1 ]] ||
		t_fail "the agent reconnected instead of migrating"
	fault_row "NAT rebinding, idle agent" 1 $((2 * F_BYTES)) 0 "${F_MS} ms fetch"
	kill "$(tun_pid "$1")" "$(tun_pid "$1-svc")"
}
