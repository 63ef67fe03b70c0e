#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_metrics.sh - beamd's /metrics under a live tunnel: promtool accepts
# it, counters only grow, histograms are cumulative, a real Prometheus
# server scrapes it and answers queries, and the conns map that beamd keeps
# beside the XDP maps shows the agent's connection, then forgets it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/tunnel_lib.sh"
t_require_root
for tool in curl python3 promtool prometheus jq bpftool; do
	command -v "$tool" >/dev/null || t_skip_all "$tool missing (make deps installs it)"
done

METRICS=127.0.0.1:9464
tun_topo 4 || t_fail "could not build the namespaces"
# beam's XDP program on the interface agents come in by: beamd finds it and
# keeps its connections in the pinned conns map beside the flows.
t_ns "$EDGE" beam-xdp attach eth1 --mode generic --port 4433 >/dev/null || t_fail "beam-xdp attach failed"
t_defer "nsenter --net=/run/netns/$EDGE $T_BUILD/beam-xdp detach eth1"
tun_edge --metrics "$METRICS" || t_fail "beamd did not start"
tun_http 8080 hello || t_fail "python3 http.server did not start"
head -c $((64 << 20)) /dev/urandom >"$T_DIR/www/big.bin"
tun_agent agent 8080 || t_fail "the agent did not bring the tunnel up"
URL=http://$EDGE_PUB_URL:$PUB_PORT


# A slow download keeps a transfer running while the test looks.
slow_download() {
	t_bg "$CLI" download curl -sS --limit-rate 8M -o /dev/null "$URL/big.bin"
}

# Every counter sample (name_total, _bucket, _count, _sum) of scrape $1 is <= in $2.
counters_grow() {
	awk 'FNR == 1 { f++ }
	     /^#/ || NF != 2 { next }
	     $1 !~ /(_total|_bucket|_count|_sum)(\{|$)/ { next }
	     f == 1 { a[$1] = $2; next }
	     ($1 in a) && $2 + 0 < a[$1] + 0 { print "went down: " $1 " " a[$1] " -> " $2; bad = 1 }
	     END { exit bad }' "$1" "$2"
}

# Within each histogram, bucket counts never fall as le grows, and +Inf == _count.
buckets_cumulative() {
	awk '/_bucket\{/ {
		name = $1; sub(/_bucket\{.*/, "", name)
		if (name != last) { prev = 0; last = name }
		if ($2 + 0 < prev) { print "not cumulative: " $0; bad = 1 }
		prev = $2 + 0
		if ($1 ~ /le="\+Inf"/) inf[name] = $2
	     }
	     /_count / { name = $1; sub(/_count$/, "", name); cnt[name] = $2 }
	     END {
		for (n in inf) if (inf[n] != cnt[n]) { print "+Inf != count: " n; bad = 1 }
		exit bad
	     }' "$1"
}

test_metrics_scrape_during_transfer_is_valid()
{
	local bytes1 bytes2

	slow_download
	sleep 1.5
	tun_scrape >"$T_DIR/s1.txt"
	sleep 1.2
	tun_scrape >"$T_DIR/s2.txt"
	promtool check metrics <"$T_DIR/s1.txt" || t_fail "promtool rejects the first scrape"
	promtool check metrics <"$T_DIR/s2.txt" || t_fail "promtool rejects the second scrape"
	counters_grow "$T_DIR/s1.txt" "$T_DIR/s2.txt" || t_fail "a counter went down"
	buckets_cumulative "$T_DIR/s2.txt" || t_fail "a histogram is not cumulative"
	bytes1=$(awk '/^beam_tunnel_bytes_total\{.*to_public/ { print $2 }' "$T_DIR/s1.txt")
	bytes2=$(awk '/^beam_tunnel_bytes_total\{.*to_public/ { print $2 }' "$T_DIR/s2.txt")
	t_log "tunnel bytes to the public side: $bytes1 then $bytes2"
	[[ -n $bytes1 && $bytes2 -gt $bytes1 ]] || t_fail "tunnel bytes do not move during a transfer"
	grep -q '^beam_quic_connections{state="established"} 1$' "$T_DIR/s2.txt"
	grep -q '^beam_tunnels_active{kind="tcp"} 1$' "$T_DIR/s2.txt"
	grep -q '^beam_xdp_packets_total{iface="eth1",verdict="pass",reason="to_socket"} [1-9]' "$T_DIR/s2.txt"
	grep -q '^beam_flows_active{iface="eth1"} [1-9]' "$T_DIR/s2.txt"
	grep -q '^beam_handshake_duration_seconds_count 1$' "$T_DIR/s2.txt"
	grep -q '^process_resident_memory_bytes [1-9]' "$T_DIR/s2.txt"
	for m in process_cpu_seconds_total process_open_fds process_start_time_seconds \
		beam_rtt_seconds_count beam_ttfb_seconds_count beam_stream_duration_seconds_count \
		beam_xdp_to_user_seconds_count 'beam_streams_total{result="ok"}' beam_streams_active \
		'beam_xdp_bytes_total{iface="eth1"' 'beam_quic_handshakes_total{result="ok"}'; do
		grep -qF "$m" "$T_DIR/s2.txt" || t_fail "missing $m"
	done
	# Every family beamd serves is explained in the operator's manual.
	for m in $(awk '/^# TYPE/ { print $3 }' "$T_DIR/s2.txt"); do
		grep -qF "\`$m\`" "$T_ROOT/docs/operations.md" || t_fail "$m is not in docs/operations.md"
	done
}

test_metrics_odd_tunnel_names() {
	local rc name

	# names at the edge of what is allowed: label syntax, spaces, 64 bytes
	tun_agent odd1 8080 --name 'a{b}=c,d x' || t_fail "an allowed name was refused"
	name=$(printf 'n%.0s' {1..64})
	tun_agent odd2 8080 --name "$name" || t_fail "a 64-byte name was refused"
	sleep 1.2
	tun_scrape >"$T_DIR/odd.txt"
	promtool check metrics <"$T_DIR/odd.txt" || t_fail "promtool rejects /metrics with odd names"
	grep -q 'tunnel="a{b}=c,d x"' "$T_DIR/odd.txt" || t_fail "the odd name is not in /metrics"
	grep -q "tunnel=\"$name\"" "$T_DIR/odd.txt" || t_fail "the 64-byte name is not in /metrics"
	kill "$(tun_pid odd1)" "$(tun_pid odd2)"
	# what would forge a log line or break a label is refused by the agent
	# itself, and so is a name longer than 64 bytes (never cut)
	for name in $'\xff\xfe\x01bin\\' $'a\nbeamd: info: forged' 'say "hi"' "${name}n"; do
		rc=0
		BEAM_TOKEN=$TUN_TOKEN t_ns "$AGENT" timeout 5 beam tcp 8080 --edge "$EDGE_AGENT_HP:4433" \
			--pin "$FP" --name "$name" >"$T_DIR/badname.log" 2>&1 || rc=$?
		[[ $rc -eq 2 ]] || t_fail "name ${name@Q}: exit $rc, want 2: $(cat "$T_DIR/badname.log")"
		grep -q -- '--name' "$T_DIR/badname.log" || t_fail "no clear error: $(cat "$T_DIR/badname.log")"
	done
	! grep -q 'forged' "$T_DIR/edge.log"
}

metric() { awk -v m="$1" '$1 == m { print $2 + 0 }' "$2"; }

test_metrics_streams_active_counts_public_connections() {
	local agents i

	t_wait_for 30 bash -c "! kill -0 $(tun_pid download) 2>/dev/null" || t_fail "download still on"
	sleep 1.2
	tun_scrape >"$T_DIR/idle.txt"
	agents=$(metric 'beam_quic_connections{state="established"}' "$T_DIR/idle.txt")
	t_log "idle: $agents agent connections, streams_active $(metric beam_streams_active "$T_DIR/idle.txt")"
	[[ $agents -ge 1 ]] || t_fail "no agent connection"
	[[ $(metric beam_streams_active "$T_DIR/idle.txt") -eq 0 ]] ||
		t_fail "beam_streams_active counts control streams"
	# one public connection carried: exactly one
	t_bg "$CLI" dl-one curl -sS --limit-rate 1M -o /dev/null "$URL/big.bin"
	for ((i = 0; i < 50; i++)); do
		tun_scrape >"$T_DIR/one.txt"
		[[ $(metric beam_streams_active "$T_DIR/one.txt") -ge 1 ]] && break
		sleep 0.2
	done
	sleep 1.2 # one more publishing period: the count is settled
	tun_scrape >"$T_DIR/one.txt"
	[[ $(metric beam_streams_active "$T_DIR/one.txt") -eq 1 ]] ||
		t_fail "one download: beam_streams_active $(metric beam_streams_active "$T_DIR/one.txt")"
	kill "$(tun_pid dl-one)"
}

test_metrics_conns_map_shows_the_agent()
{
	local dump sport

	dump=$(t_ns "$EDGE" bpftool -j map dump pinned "$BEAM_PIN_ROOT/eth1/conns")
	t_log "conns: $(jq -c '[.[] | .formatted.value | {state, srtt_ns, bytes_in, tunnels}]' <<<"$dump")"
	jq -e 'length == 1' <<<"$dump" >/dev/null || t_fail "want one conns entry"
	jq -e '.[0].formatted.value.state == 1 and .[0].formatted.value.srtt_ns > 0 and
	       .[0].formatted.value.tunnels == 1' <<<"$dump" >/dev/null ||
		t_fail "the entry is not established with an RTT and a tunnel"
	# whose it is, and the agent's port as people read it (the flow's source port)
	jq -e --argjson pid "$(tun_pid edge)" '.[0].formatted.value.owner_pid == $pid' \
		<<<"$dump" >/dev/null || t_fail "owner_pid is not beamd's pid $(tun_pid edge)"
	# (flows of agents gone before are still there: one of the sports is its)
	sport=$(t_ns "$EDGE" bpftool -j map dump pinned "$BEAM_PIN_ROOT/eth1/flows" |
		jq -c '[.[].formatted | select(.key.dport == 4433) | .key.sport]')
	jq -e --argjson p "$sport" '.[0].formatted.value.peer_port as $x | $p | index($x) != null' \
		<<<"$dump" >/dev/null ||
		t_fail "conns peer_port is not a flow's source port $sport (byte order?)"
	# beam-xdp joins the agent's flow with its connection by DCID.
	t_ns "$EDGE" beam-xdp flows eth1 | tee "$T_DIR/flows.txt" | sed 's/^/# /'
	grep -E "^10\.77\.2\.2:[0-9]+ +10\.77\.2\.1:4433 .* established +[0-9.]+[num]?s" "$T_DIR/flows.txt" >/dev/null ||
		t_fail "beam-xdp flows does not show the flow's connection"
	t_ns "$EDGE" beam-xdp flows eth1 --json | jq -e '.[0].conn.state == "established"' >/dev/null ||
		t_fail "beam-xdp flows --json lacks the connection"
	t_ns "$EDGE" beam-xdp status eth1 | tee "$T_DIR/status.txt" | sed 's/^/# /'
	grep -qE "connections: 1 " "$T_DIR/status.txt" && grep -qE "10\.77\.2\.2:[0-9]+ +established" "$T_DIR/status.txt" ||
		t_fail "beam-xdp status does not list the connection"
}

test_metrics_http_answers()
{
	local code

	code=$(t_ns "$EDGE" curl -s -o /dev/null -w '%{http_code}' "http://$METRICS/nope")
	[[ $code == 404 ]] || t_fail "GET /nope: $code"
	code=$(t_ns "$EDGE" curl -s -o /dev/null -w '%{http_code}' -X POST "http://$METRICS/metrics")
	[[ $code == 405 ]] || t_fail "POST /metrics: $code"
	code=$(t_ns "$EDGE" curl -s -o /dev/null -w '%{http_code}' "http://$METRICS/healthz")
	[[ $code == 200 ]] || t_fail "GET /healthz: $code"
}

prom_query() {
	t_ns "$EDGE" curl -sS --max-time 5 -G "http://127.0.0.1:9090/api/v1/query" \
		--data-urlencode "query=$1"
}

test_metrics_real_prometheus_scrapes_it()
{
	local i got

	cat >"$T_DIR/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: beamd
    static_configs:
      - targets: ['$METRICS']
EOC
	t_bg "$EDGE" prometheus prometheus --config.file="$T_DIR/prometheus.yml" \
		--storage.tsdb.path="$T_DIR/prom-data" --web.listen-address=127.0.0.1:9090
	slow_download
	for i in $(seq 1 20); do
		t_ns "$CLI" curl -sS -o /dev/null "$URL/"
	done
	for i in $(seq 1 60); do
		got=$(prom_query 'sum(beam_streams_total)' 2>/dev/null | jq -r '.data.result[0].value[1] // empty' 2>/dev/null)
		[[ -n $got && $got != 0 ]] && break
		sleep 0.5
	done
	t_log "Prometheus: sum(beam_streams_total) = $got"
	[[ -n $got && $got -ge 20 ]] || t_fail "Prometheus has no beam_streams_total"
	got=$(prom_query 'histogram_quantile(0.9, sum by (le) (beam_ttfb_seconds_bucket))' |
		jq -r '.data.result[0].value[1] // empty')
	t_log "Prometheus: p90 of beam_ttfb_seconds = $got"
	[[ -n $got && $got != NaN ]] || t_fail "no TTFB quantile from Prometheus"
}

conns_count() { t_ns "$EDGE" bpftool -j map dump pinned "$BEAM_PIN_ROOT/eth1/conns" | jq length; }

# Another beamd on the same host shares the conns map: it must leave the first
# one's live entries alone, whether it fails at start or runs and stops.
test_metrics_second_beamd_keeps_first_conns()
{
	local pid rc=0

	[[ $(conns_count) == 1 ]] || t_fail "want the agent's one conns entry, have $(conns_count)"
	# the metrics address is taken: it fails after opening the maps
	t_ns "$EDGE" timeout 10 beamd --listen "$EDGE_AGENT_HP:4437" --tokens "$T_DIR/tokens" \
		--metrics "$METRICS" >"$T_DIR/second.log" 2>&1 || rc=$?
	[[ $rc -ne 0 && $rc -ne 124 ]] || t_fail "a second beamd on a taken metrics address ran (rc $rc)"
	t_bg "$EDGE" third beamd --listen "$EDGE_AGENT_HP:4438" --tokens "$T_DIR/tokens"
	t_wait_for 5 grep -q 'listening for agents' "$T_DIR/third.log" || t_fail "third beamd did not start"
	pid=$(tun_pid third)
	kill -TERM "$pid"
	t_wait_for 10 bash -c "! kill -0 $pid 2>/dev/null" || t_fail "third beamd did not stop"
	! grep -h 'removed .* entries' "$T_DIR/second.log" "$T_DIR/third.log" ||
		t_fail "a second beamd removed conns entries of a live one"
	[[ $(conns_count) == 1 ]] || t_fail "the first beamd's conns entry is gone: $(conns_count) left"
}

test_metrics_conns_entry_gone_with_the_agent()
{
	kill -TERM "$(tun_pid agent)"
	t_wait_for 10 bash -c "[[ \$(nsenter --net=/run/netns/$EDGE bpftool -j map dump pinned $BEAM_PIN_ROOT/eth1/conns | jq length) == 0 ]]" ||
		t_fail "the conns entry outlived the agent's connection"
}

test_metrics_beamd_exit_leaves_no_conns()
{
	tun_agent agent2 8080 || t_fail "the agent did not come back"
	t_wait_for 5 bash -c "[[ \$(nsenter --net=/run/netns/$EDGE bpftool -j map dump pinned $BEAM_PIN_ROOT/eth1/conns | jq length) == 1 ]]" ||
		t_fail "no conns entry for the new agent"
	kill -TERM "$(tun_pid edge)"
	t_wait_for 10 bash -c "! kill -0 $(tun_pid edge) 2>/dev/null"
	[[ $(t_ns "$EDGE" bpftool -j map dump pinned "$BEAM_PIN_ROOT/eth1/conns" | jq length) == 0 ]] ||
		t_fail "beamd left conns entries behind"
}

# A beamd killed with -9 leaves its entries: the next one removes them (its pid is gone).
test_metrics_killed_beamd_entries_removed()
{
	local pid

	tun_edge || t_fail "beamd did not start again"
	kill "$(tun_pid agent2)" 2>/dev/null # pinned the old beamd's certificate
	tun_agent agent3 8080 || t_fail "the agent did not come up"
	t_wait_for 10 bash -c "[[ \$(nsenter --net=/run/netns/$EDGE bpftool -j map dump pinned $BEAM_PIN_ROOT/eth1/conns | jq length) == 1 ]]" ||
		t_fail "no conns entry for the agent"
	pid=$(tun_pid edge)
	kill -KILL "$pid"
	t_wait_for 10 bash -c "! kill -0 $pid 2>/dev/null"
	[[ $(conns_count) == 1 ]] || t_fail "no entry left behind by the killed beamd"
	tun_edge || t_fail "beamd did not start after the kill"
	grep -q 'removed 1 stale entries from conns left by a beamd that no longer runs' \
		"$T_DIR/edge.log" || t_fail "the dead beamd's entry was not removed: $(grep -i conns "$T_DIR/edge.log")"
}

t_test test_metrics_scrape_during_transfer_is_valid "a scrape during a transfer passes promtool, counters grow, buckets cumulate"
t_test test_metrics_odd_tunnel_names "odd but allowed tunnel names pass promtool; hostile or long ones are refused"
t_test test_metrics_streams_active_counts_public_connections "beam_streams_active counts public connections, not control streams"
t_test test_metrics_conns_map_shows_the_agent "bpftool shows the agent's connection established with an RTT"
t_test test_metrics_http_answers "404 for unknown paths, 405 for POST, 200 from /healthz"
t_test test_metrics_real_prometheus_scrapes_it "a real Prometheus scrapes beamd and answers a TTFB quantile"
t_test test_metrics_second_beamd_keeps_first_conns "a second beamd leaves a live beamd's conns entries alone"
t_test test_metrics_conns_entry_gone_with_the_agent "the conns entry goes when the agent does"
t_test test_metrics_beamd_exit_leaves_no_conns "beamd's exit leaves no conns entries"
t_test test_metrics_killed_beamd_entries_removed "entries of a beamd killed with -9 go when the next one starts"
t_done
