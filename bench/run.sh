#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# run.sh - `make bench`: beam against its peers, side by side, in one run.
#
# Builds a client / edge / private-machine topology of network namespaces,
# starts the services on the private machine and then, round after round
# (A B C ... A B C ...), starts each subject, measures it and stops it again.
# Raw samples go to $OUT/raw.jsonl; bench/report.sh turns them into
# results.json, REPORT.md and the plots.
#
# Environment (all optional):
#   QUICK=1           short run (one round, short measurements), < 3 minutes
#   SUBJECTS="..."    subjects to run (default: all; see bench/README.md)
#   TESTS="..."       setup throughput latency quicleg scale xdp (default: all)
#   REPS, TPUT_S, LAT_S, SCALE_LEVELS, SCALE_SUBJECTS   override the mode's choices
#   OUT=DIR           where results go (default bench/results)
set -uo pipefail

# shellcheck source=paths.sh
source "$(dirname "$0")/paths.sh"
QUICK=${QUICK:-0}
[[ -n $QUICK ]] || QUICK=0
OUT=${OUT:-$BENCH_DIR/results}
ALL_SUBJECTS="direct socat ssh-aes ssh-chacha ssh-local stunnel beam beam-xdp"
QUICK_SUBJECTS="direct ssh-aes ssh-local stunnel beam beam-xdp"
TESTS=${TESTS:-setup throughput latency quicleg scale xdp}
if [[ $QUICK != 0 ]]; then
	# fewer subjects and shorter steps: ssh-chacha and socat only in the full
	# run, and the scale step for the tunnels only
	SUBJECTS=${SUBJECTS:-$QUICK_SUBJECTS}
	SCALE_SUBJECTS=${SCALE_SUBJECTS:-ssh-aes stunnel beam beam-xdp}
	REPS=${REPS:-1} TPUT_S=${TPUT_S:-1} LAT_S=${LAT_S:-0.5} SCALE_LEVELS=${SCALE_LEVELS:-1000}
	# HS_AGENTS=0: no agents-registered step (hsload measures handshakes)
	QUIC_MIB=${QUIC_MIB:-64} HS_AGENTS=${HS_AGENTS:-0} HS_S=${HS_S:-1}
else
	SUBJECTS=${SUBJECTS:-$ALL_SUBJECTS}
	SCALE_SUBJECTS=${SCALE_SUBJECTS:-direct socat ssh-aes stunnel beam beam-xdp}
	REPS=${REPS:-3} TPUT_S=${TPUT_S:-4} LAT_S=${LAT_S:-3} SCALE_LEVELS=${SCALE_LEVELS:-10000 50000 100000}
	QUIC_MIB=${QUIC_MIB:-256} HS_AGENTS=${HS_AGENTS:-50} HS_S=${HS_S:-3}
fi
# stunnel runs a thread per connection on each side and socat a process;
# pid_max (32768 here) is shared with everything else on the machine, so they
# are held to levels that cannot starve other programs of pids.
STUNNEL_SCALE_MAX=${STUNNEL_SCALE_MAX:-2000}
# handshakes in flight for bench/hsload (beamd: 32 connections per token, the
# load generator takes 200 tokens in turn)
HS_CONNS=${HS_CONNS:-16}
SOCAT_SCALE_MAX=${SOCAT_SCALE_MAX:-1000}
# ssh polls every channel on every wakeup: opening connections slows down as
# they add up (about 350/s at 5k, slower on a loaded machine), so it stops at
# 5k to keep the run short.
SSH_SCALE_MAX=${SSH_SCALE_MAX:-5000}

[[ $(id -u) -eq 0 ]] || { echo "bench: needs root (network namespaces); run 'sudo make bench'" >&2; exit 1; }
for t in loadgen connhold hsload; do
	[[ -x $BENCH_BIN/$t ]] || { echo "bench: $BENCH_BIN/$t missing; run 'make'" >&2; exit 1; }
done
for t in ip nsenter iperf3 nginx jq curl; do
	command -v "$t" >/dev/null || { echo "bench: $t missing; run 'make deps'" >&2; exit 1; }
done

source "$BENCH_DIR/lib.sh"

mkdir -p "$OUT"
RAW=$OUT/raw.jsonl
: >"$RAW"
rm -rf "$OUT"/*.png "$OUT/logs" "$OUT/REPORT.md" "$OUT/results.json" "$OUT/status.jsonl" "$OUT/meta.json"
CLK_TCK=$(getconf CLK_TCK)
REP=0
# Room for 100k connections in every process the bench starts, as far as the
# machine lets us: without CAP_SYS_RESOURCE the hard limit cannot be raised, and
# then no process (beamd included) can hold more sockets than that.
ulimit -Hn 1048576 2>/dev/null
ulimit -n "$(ulimit -Hn)"
NOFILE=$(ulimit -n)
FD_CAP=$((NOFILE - 1000))

has_test() { [[ " $TESTS " == *" $1 "* ]]; }

# rec SUBJECT TEST METRIC VALUE: one raw sample.
rec() {
	[[ -n $4 && $4 != null ]] || return 0
	printf '{"subject":"%s","test":"%s","metric":"%s","rep":%d,"value":%s}\n' \
		"$1" "$2" "$3" "$REP" "$4" >>"$RAW"
}

status() {
	printf '{"subject":"%s","available":%s,"reason":%s}\n' "$1" "$2" \
		"$(jq -Rn --arg r "$3" '$r')" >>"$OUT/status.jsonl"
}

div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "null"; else printf "%.6g\n", a / b }'; }

# keep_logs SUBJECT: the run's process logs survive a failed start in $OUT/logs.
keep_logs() {
	mkdir -p "$OUT/logs/$1-$REP"
	cp "$T_DIR"/*.log "$OUT/logs/$1-$REP/" 2>/dev/null
	b_log "$1: logs kept in $OUT/logs/$1-$REP"
}

# --- one subject up: start it, wait until an HTTP GET through it works.
subject_up() {
	local s=$1 t0 t1 rc

	B_T0= AGENT_NS=$NS_PV
	t0=$(b_now_us)
	"sub_${s}_start" || { b_log "$s: start failed"; return 1; }
	[[ -n $B_T0 ]] || B_T0=$t0
	b_ns "$NS_CL" "$BENCH_BIN/loadgen" -t "$PUB_HTTP" --wait-up 15 >/dev/null
	rc=$?
	t1=$(b_now_us)
	[[ $rc -eq 0 ]] || { b_log "$s: tunnel did not come up in 15 s"; keep_logs "$s"; return 1; }
	t_wait_for 10 b_port_open "$NS_CL" "$PUB_IPERF_HOST" "$PUB_IPERF_PORT" &&
		t_wait_for 10 b_port_open "$NS_CL" "${PUB_ECHO%:*}" "${PUB_ECHO#*:}" ||
		{ b_log "$s: iperf3 or echo tunnel not up"; keep_logs "$s"; return 1; }
	[[ $s != direct ]] && has_test setup && rec "$s" setup agent_up_ms "$(div $((t1 - B_T0)) 1000)"
	return 0
}

measure_throughput() {
	local s=$1 p dir args out e0 e1 a0 a1 bps bytes gib test

	for p in 1 8; do
		for dir in up down; do
			test=tput-$p-$dir
			args=(-c "$PUB_IPERF_HOST" -p "$PUB_IPERF_PORT" -t "$TPUT_S" -P "$p" -J --connect-timeout 3000)
			[[ $dir == down ]] && args+=(-R)
			e0=$(b_cpu_ticks "$NS_ED" "$EDGE_COMM") a0=$(b_cpu_ticks "$AGENT_NS" "$AGENT_COMM")
			out=$(timeout $((TPUT_S + 20)) nsenter --net="/run/netns/$NS_CL" iperf3 "${args[@]}" 2>&1)
			# socat's per-connection children count once reaped by their parent
			[[ $EDGE_COMM == socat ]] && sleep 0.3
			e1=$(b_cpu_ticks "$NS_ED" "$EDGE_COMM") a1=$(b_cpu_ticks "$AGENT_NS" "$AGENT_COMM")
			bps=$(jq -r '.end.sum_received.bits_per_second // empty' <<<"$out" 2>/dev/null)
			bytes=$(jq -r '.end.sum_received.bytes // empty' <<<"$out" 2>/dev/null)
			if [[ -z $bps || -z $bytes || $bytes == 0 ]]; then
				b_log "$s $test: iperf3 failed: $(jq -r '.error // empty' <<<"$out" 2>/dev/null | head -c 200)"
				rec "$s" "$test" failed 1
				continue
			fi
			rec "$s" "$test" gbps "$(div "$bps" 1e9)"
			b_log "$s $test: $(div "$bps" 1e9) Gbit/s"
			[[ -n $EDGE_COMM ]] || continue
			gib=$(div "$bytes" 1073741824)
			rec "$s" "$test" cpu_edge_s_per_gib "$(div "$(div $((e1 - e0)) "$CLK_TCK")" "$gib")"
			rec "$s" "$test" cpu_agent_s_per_gib "$(div "$(div $((a1 - a0)) "$CLK_TCK")" "$gib")"
			rec "$s" "$test" cpu_total_s_per_gib "$(div "$(div $((e1 - e0 + a1 - a0)) "$CLK_TCK")" "$gib")"
		done
	done
}

QUICK_LAT_SKIP="ka1-small-sat ka1-64k-r500 ka50-64k-sat"
# name path conns rate(0 = saturation) newconn
LAT_CONFIGS=(
	"ka1-small-r1000 /small 1 1000 0"
	"ka1-small-sat /small 1 0 0"
	"ka1-64k-r500 /64k 1 500 0"
	"ka50-small-r5000 /small 50 5000 0"
	"ka50-small-sat /small 50 0 0"
	"ka50-64k-sat /64k 50 0 0"
	"new-small-r500 /small 50 500 1"
	"new-small-sat /small 50 0 1"
)

measure_latency() {
	local s=$1 cfg name path conns rate nc args out m

	for cfg in "${LAT_CONFIGS[@]}"; do
		read -r name path conns rate nc <<<"$cfg"
		# QUICK: only the runs the goals and the setup tables read
		[[ $QUICK != 0 && " $QUICK_LAT_SKIP " == *" $name "* ]] && continue
		args=(-t "$PUB_HTTP" -p "$path" -c "$conns" -r "$rate" -d "$LAT_S" -T 5000)
		[[ $nc == 1 ]] && args+=(-n)
		out=$(timeout $((${LAT_S%.*} + 20)) nsenter --net="/run/netns/$NS_CL" "$BENCH_BIN/loadgen" "${args[@]}" 2>&1 | tail -1)
		if ! jq -e .requests <<<"$out" >/dev/null 2>&1; then
			b_log "$s lat-$name: loadgen failed: ${out:0:200}"
			rec "$s" "lat-$name" failed 1
			continue
		fi
		rec "$s" "lat-$name" rps "$(jq .rps <<<"$out")"
		rec "$s" "lat-$name" errors "$(jq '.errors + .timeouts' <<<"$out")"
		for m in p50 p90 p99 p999 p9999 max; do
			rec "$s" "lat-$name" "${m}_ms" "$(jq ".lat_ms.$m" <<<"$out")"
		done
		if [[ $nc == 1 ]]; then
			rec "$s" "lat-$name" fb_p50_ms "$(jq .fb_ms.p50 <<<"$out")"
			rec "$s" "lat-$name" fb_p99_ms "$(jq .fb_ms.p99 <<<"$out")"
		fi
		b_log "$s lat-$name: $(jq -r '"\(.rps) req/s p50 \(.lat_ms.p50) ms p99 \(.lat_ms.p99) ms errors \(.errors + .timeouts)"' <<<"$out")"
	done
}

# The reference QUIC stack: Debian's ngtcp2 0.12 example server on the edge
# sends one file to the example client on the private machine (one stream,
# the edge-to-agent direction of a tunnel).
QUIC_SRV=
quic_prepare() {
	local d=$T_DIR/h3

	t_defer "rm -rf /dev/shm/beam-bench-$T_RUN"
	QUIC_SRV=$(command -v gtlsserver || echo /usr/sbin/gtlsserver)
	[[ -x $QUIC_SRV ]] && command -v gtlsclient >/dev/null || return 1
	mkdir -p "$d"
	head -c $((QUIC_MIB * 1048576)) /dev/zero >"$d/big"
	b_bg "$NS_ED" gtlsserver "$QUIC_SRV" -q -d "$d" "$B_EDGE_PRIV" 4443 \
		"$T_DIR/stunnel/key.pem" "$T_DIR/stunnel/cert.pem"
	sleep 0.3
	b_alive gtlsserver
}

# The download lands in tmpfs and its size is checked: the example client
# also exits 0 when the server answered 404.
measure_quic_pair() {
	local t0 t1 us dl=/dev/shm/beam-bench-$T_RUN size

	mkdir -p "$dl" && rm -f "$dl/big"
	t0=$(b_now_us)
	if ! timeout 60 nsenter --net="/run/netns/$NS_PV" gtlsclient -q --no-quic-dump --no-http-dump \
		--exit-on-all-streams-close --max-data=64M --max-stream-data-bidi-local=32M \
		--download="$dl" "$B_EDGE_PRIV" 4443 "https://$B_EDGE_PRIV:4443/big" \
		>"$T_DIR/gtlsclient.log" 2>&1; then
		b_log "ngtcp2 pair: client failed: $(tail -c 200 "$T_DIR/gtlsclient.log")"
		rec ngtcp2 quicleg failed 1
		return
	fi
	t1=$(b_now_us)
	size=$(stat -c %s "$dl/big" 2>/dev/null || echo 0)
	rm -f "$dl/big"
	if ((size != QUIC_MIB * 1048576)); then
		b_log "ngtcp2 pair: downloaded $size bytes, not $((QUIC_MIB * 1048576))"
		rec ngtcp2 quicleg failed 1
		return
	fi
	us=$((t1 - t0))
	rec ngtcp2 quicleg gbps "$(div $((QUIC_MIB * 1048576 * 8)) "$((us * 1000))")"
	b_log "ngtcp2 pair: $QUIC_MIB MiB in $((us / 1000)) ms"
}

# --- scale: N idle connections through the subject's echo tunnel.
measure_scale() {
	local s=$1 n out pid e0 a0 e1 a1 pe0 pa0 pe1 pa1 held answered go srcs max=0

	srcs=$(IFS=,; echo "${B_CLIENT_SRCS[*]}")
	[[ $s == stunnel ]] && max=$STUNNEL_SCALE_MAX
	[[ $s == socat ]] && max=$SOCAT_SCALE_MAX
	[[ $s == ssh-aes ]] && max=$SSH_SCALE_MAX
	e0=$(b_rss_kib "$NS_ED" "$EDGE_COMM") a0=$(b_rss_kib "$AGENT_NS" "$AGENT_COMM")
	pe0=$(b_pss_kib "$NS_ED" "$EDGE_COMM") pa0=$(b_pss_kib "$AGENT_NS" "$AGENT_COMM")
	rec "$s" scale rss_edge_idle_kib "$e0"
	rec "$s" scale rss_agent_idle_kib "$a0"
	rec "$s" scale pss_edge_idle_kib "$pe0"
	rec "$s" scale pss_agent_idle_kib "$pa0"
	for n in $SCALE_LEVELS; do
		if ((max && n > max)); then
			b_log "$s scale: $n not tried (held to $max, see bench/README.md)"
			n=$max
		fi
		if ((n > FD_CAP)); then
			b_log "$s scale: $n not tried: a process may open only $NOFILE files here; trying $FD_CAP"
			rec "$s" scale fd_capped "$n"
			n=$FD_CAP
		fi
		out=$T_DIR/hold-$s-$n.out go=$T_DIR/hold-$s-$n.go
		nsenter --net="/run/netns/$NS_CL" "$BENCH_BIN/connhold" hold -t "$PUB_ECHO" -n "$n" \
			-s "$srcs" -c 128 -g "$go" -T 90 >"$out" 2>&1 &
		pid=$!
		echo "$pid" >"$B_PIDS/connhold"
		while kill -0 "$pid" 2>/dev/null && ! grep -q '^HELD' "$out" 2>/dev/null; do sleep 0.2; done
		sleep 1
		e1=$(b_rss_kib "$NS_ED" "$EDGE_COMM") a1=$(b_rss_kib "$AGENT_NS" "$AGENT_COMM")
		pe1=$(b_pss_kib "$NS_ED" "$EDGE_COMM") pa1=$(b_pss_kib "$AGENT_NS" "$AGENT_COMM")
		touch "$go"
		wait "$pid"
		rm -f "$B_PIDS/connhold"
		held=$(grep '^{' "$out" | jq -r .held 2>/dev/null)
		answered=$(grep '^{' "$out" | jq -r .answered 2>/dev/null)
		[[ -n $held && -n $answered ]] || { b_log "$s scale $n: connhold failed: $(tail -c 200 "$out")"; rec "$s" "scale-$n" answered 0; break; }
		rec "$s" scale tried_max "$n"
		rec "$s" "scale-$n" held "$held"
		rec "$s" "scale-$n" answered "$answered"
		rec "$s" "scale-$n" open_s "$(grep '^{' "$out" | jq .open_s)"
		if [[ -n $EDGE_COMM ]]; then
			rec "$s" "scale-$n" rss_edge_kib "$e1"
			rec "$s" "scale-$n" rss_agent_kib "$a1"
			rec "$s" "scale-$n" pss_edge_kib "$pe1"
			rec "$s" "scale-$n" pss_agent_kib "$pa1"
			rec "$s" "scale-$n" kib_per_conn "$(div $((pe1 - pe0 + pa1 - pa0)) "$held")"
		fi
		b_log "$s scale $n: held $held answered $answered, edge RSS $e1 KiB PSS $pe1 KiB, agent RSS $a1 KiB PSS $pa1 KiB"
		((answered >= n)) || break
		((max && n >= max)) && break
		((n >= FD_CAP)) && break
		# let the tunnel drop the closed connections before the next level
		sleep 2
	done
}

# The XDP and AF_XDP helpers' own benches, called as they are (they build
# their own namespaces); their JSON goes into the report as it is.
run_xdp_scripts() {
	local rounds=3 secs=3 xdp_rounds=5 xdp_secs=1 tun_mb=512

	# xdp-pps.sh: with no program on either veth pair the two pairs already
	# differ by up to 15% per round on this loaded host (its "noise floor"),
	# as much as the 0.85 goal allows: 3 rounds could not tell a slower
	# program from noise. 5 rounds (its own default), the median of the
	# per-round ratios; 1 s samples keep the full run under 30 minutes.
	[[ $QUICK != 0 ]] && rounds=1 secs=1 xdp_rounds=1 xdp_secs=1 tun_mb=128
	if [[ -f $BENCH_DIR/xdp-pps.sh ]]; then
		b_log "running bench/xdp-pps.sh"
		BUILD=$BUILD QUICK=$QUICK REPS=$xdp_rounds SECS=$xdp_secs timeout 900 bash "$BENCH_DIR/xdp-pps.sh" "$OUT/xdp.json" \
			>"$OUT/xdp-pps.log" 2>&1 || b_log "xdp-pps.sh failed: $(tail -c 300 "$OUT/xdp-pps.log")"
	else
		b_log "bench/xdp-pps.sh not on this branch yet"
	fi
	if [[ -f $BENCH_DIR/afxdp-rx.sh ]]; then
		b_log "running bench/afxdp-rx.sh"
		BUILD=$BUILD OUT=$OUT/afxdp.json TUN_MB=$tun_mb timeout 900 bash "$BENCH_DIR/afxdp-rx.sh" "$rounds" "$secs" \
			>"$OUT/afxdp-rx.log" 2>&1 || b_log "afxdp-rx.sh failed: $(tail -c 300 "$OUT/afxdp-rx.log")"
	else
		b_log "bench/afxdp-rx.sh not on this branch yet"
	fi
}

main() {
	local s rep i v v0 v1 v2 v3 order avail=() reason start=$SECONDS LOAD_START

	LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
	b_log "topology (run $T_RUN)"
	b_topology || exit 1
	b_services_start || exit 1
	for s in $SUBJECTS; do
		if ! declare -F "sub_${s}_start" >/dev/null; then
			b_log "unknown subject '$s' (known: $ALL_SUBJECTS)"
			exit 2
		fi
		if reason=$("sub_${s}_check"); then
			avail+=("$s")
			status "$s" true '""'
		else
			b_log "$s: $reason"
			status "$s" false "$reason"
		fi
	done
	[[ " ${avail[*]} " == *" ssh-"* ]] && { b_sshd_start || exit 1; }
	b_stunnel_prepare || exit 1
	has_test quicleg && { quic_prepare || { b_log "ngtcp2 example pair not available"; status ngtcp2 false "ngtcp2-client/ngtcp2-server not installed"; }; }

	for ((rep = 1; rep <= REPS; rep++)); do
		REP=$rep
		# rotate the order each round so no subject always runs first
		order=()
		for ((i = 0; i < ${#avail[@]}; i++)); do
			order+=("${avail[(i + rep - 1) % ${#avail[@]}]}")
		done
		for s in "${order[@]}"; do
			b_log "round $rep/$REPS: $s"
			if ! subject_up "$s"; then
				rec "$s" setup failed 1
				"sub_${s}_stop"
				continue
			fi
			has_test throughput && measure_throughput "$s"
			has_test latency && measure_latency "$s"
			if has_test setup && ((HS_AGENTS > 0)) && declare -F "sub_${s}_handshakes" >/dev/null; then
				v=$("sub_${s}_handshakes" "$HS_AGENTS")
				b_log "$s: $HS_AGENTS agents registered at ${v:-?} per second"
				rec "$s" setup agents_per_s "$v"
			fi
			if has_test setup && declare -F "sub_${s}_hsrate" >/dev/null; then
				v=$("sub_${s}_hsrate")
				b_log "$s: handshakes at the edge: ${v:-hsload failed}"
				if [[ -n $v ]]; then
					rec "$s" setup hs_per_s "$(jq .per_s <<<"$v")"
					rec "$s" setup hs_errors "$(jq .errors <<<"$v")"
					rec "$s" setup hs_p50_ms "$(jq .p50_ms <<<"$v")"
					rec "$s" setup hs_tickets "$(jq .tickets <<<"$v")"
				fi
			fi
			if has_test setup && declare -F "sub_${s}_resume" >/dev/null; then
				read -r v0 v1 v2 < <("sub_${s}_resume")
				b_log "$s: agent's own count: cold ${v0:-?} ms, resumed ${v1:-?} ms (0-RTT accepted: ${v2:-?})"
				rec "$s" setup agent_cold_internal_ms "${v0:-}"
				rec "$s" setup agent_resumed_ms "${v1:-}"
				rec "$s" setup resumed_0rtt "${v2:-}"
			fi
			"sub_${s}_stop"
			if [[ $s == beam-xdp ]]; then
				rec "$s" afxdp to_xsk_packets "${B_XSK_PACKETS:-0}"
				# "packet paths: AF_XDP rx N tx N, socket rx N tx N, ..."
				read -r v0 v1 v2 v3 < <(sed 's/[^0-9 ]//g' <<<"${B_XSK_PATHS:-}" | awk '{ print $1, $2, $3, $4 }')
				rec "$s" afxdp rx_xsk "${v0:-}"
				rec "$s" afxdp tx_xsk "${v1:-}"
				rec "$s" afxdp rx_socket "${v2:-}"
				rec "$s" afxdp tx_socket "${v3:-}"
				[[ $B_XDP_MODE == native ]] && rec "$s" afxdp xdp_native 1
				[[ $B_XDP_MODE == generic ]] && rec "$s" afxdp xdp_native 0
				b_log "beam-xdp: XDP ${B_XDP_MODE:-?} mode, ${B_XSK_PATHS:-no path counts}"
				b_log "beam-xdp: ${B_XSK_PACKETS:-no} packets went to the AF_XDP socket (${B_XSK_MODE:-beamd did not report an AF_XDP socket})"
			fi
		done
		has_test quicleg && b_alive gtlsserver && measure_quic_pair
	done
	b_stop gtlsserver

	if has_test scale; then
		REP=1
		for s in "${avail[@]}"; do
			[[ " $SCALE_SUBJECTS " == *" $s "* ]] || continue
			b_log "scale: $s"
			subject_up "$s" || { "sub_${s}_stop"; continue; }
			measure_scale "$s"
			"sub_${s}_stop"
		done
	fi
	has_test xdp && run_xdp_scripts

	jq -n --arg date "$(date -u +%FT%TZ)" --arg kernel "$(uname -r)" --argjson cpus "$(nproc)" \
		--argjson quick "$([[ $QUICK != 0 ]] && echo true || echo false)" --argjson reps "$REPS" \
		--argjson tput_s "$TPUT_S" --argjson lat_s "$LAT_S" --arg levels "$SCALE_LEVELS" \
		--argjson seconds $((SECONDS - start)) --arg tests "$TESTS" --argjson nofile "$NOFILE" \
		--arg load0 "$LOAD_START" --arg load1 "$(cut -d' ' -f1 /proc/loadavg)" \
		--arg commit "${BENCH_COMMIT:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)}" \
		'{date: $date, kernel: $kernel, cpus: $cpus, quick: $quick, reps: $reps,
		  throughput_seconds: $tput_s, latency_seconds: $lat_s, scale_levels: $levels,
		  tests: $tests, run_seconds: $seconds, commit: $commit, nofile_limit: $nofile,
		  loadavg_start: ($load0 | tonumber), loadavg_end: ($load1 | tonumber)}' >"$OUT/meta.json"
	bash "$BENCH_DIR/report.sh" "$OUT" || { b_log "report failed"; exit 1; }
	b_log "done in $((SECONDS - start)) s: $OUT/REPORT.md"
}

main
