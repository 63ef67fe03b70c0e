#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# report.sh DIR - turn DIR/raw.jsonl (samples from bench/run.sh) into
# DIR/results.json, DIR/REPORT.md and DIR/*.png.
#
# Every table shows the median over the rounds and the min-max range, and
# ratios against ssh -R (aes128-gcm) and against the direct path. The goals
# of issue #8 are checked at the end, each with its measured ratio; a goal
# whose inputs are missing says NOT MEASURED, never MET.
set -uo pipefail

OUT=${1:?usage: report.sh DIR}
RAW=$OUT/raw.jsonl
REPORT=$OUT/REPORT.md
SUBJECTS_ALL="direct socat ssh-aes ssh-chacha ssh-local stunnel beam beam-xdp ngtcp2"
REF=ssh-aes
HS_XDP_NOTE="the XDP program in front of beamd limits Initials per source address (100/s, burst 200, by default) and this load comes from one address"
HS_NOTE="handshakes the server finished per second with 16 in flight, each from a new socket: beam a full 1-RTT QUIC + TLS 1.3 handshake and HELLO answered by WELCOME, stunnel's server a TCP connect and TLS 1.3 handshake counted when its session ticket (sent after it checked the client's Finished) arrives"
[[ -f $RAW ]] || { echo "report: $RAW missing" >&2; exit 1; }

# --- statistics: median, min, max, n per (subject, test, metric)
STATS_JSON=$(jq -s '
	def median: sort | if length == 0 then null
		elif length % 2 == 1 then .[length / 2 | floor]
		else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	group_by([.subject, .test, .metric]) | map({
		subject: .[0].subject, test: .[0].test, metric: .[0].metric,
		n: length, median: (map(.value) | median),
		min: (map(.value) | min), max: (map(.value) | max),
		values: map(.value)})' "$RAW") || { echo "report: cannot parse $RAW" >&2; exit 1; }

declare -A MED MIN MAX CNT
while IFS=$'\t' read -r s t m n med lo hi; do
	MED[$s|$t|$m]=$med MIN[$s|$t|$m]=$lo MAX[$s|$t|$m]=$hi CNT[$s|$t|$m]=$n
done < <(jq -r '.[] | [.subject, .test, .metric, .n, .median, .min, .max] | @tsv' <<<"$STATS_JSON")

declare -A AVAIL REASON
if [[ -f $OUT/status.jsonl ]]; then
	while IFS=$'\t' read -r s a r; do
		AVAIL[$s]=$a REASON[$s]=$r
	done < <(jq -r '[.subject, .available, .reason] | @tsv' "$OUT/status.jsonl")
fi

# subjects that have any sample, in the canonical order
SUBJECTS=()
for s in $SUBJECTS_ALL; do
	jq -e --arg s "$s" 'any(.[]; .subject == $s)' <<<"$STATS_JSON" >/dev/null && SUBJECTS+=("$s")
done

fmt() { awk -v v="$1" 'BEGIN { if (v == "") print "-"; else if (v + 0 >= 100) printf "%.0f", v; else if (v + 0 >= 10) printf "%.1f", v; else if (v + 0 >= 1) printf "%.2f", v; else printf "%.3g", v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print ""; else printf "%.2f", a / b }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && b != "" && a + 0 >= b + 0) }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && b != "" && a + 0 <= b + 0) }'; }

# cell S T M: "median (min-max)" or "-"
cell() {
	local k="$1|$2|$3"

	[[ -n ${MED[$k]:-} ]] || { echo "-"; return; }
	if [[ ${CNT[$k]} -gt 1 ]]; then
		echo "$(fmt "${MED[$k]}") ($(fmt "${MIN[$k]}")-$(fmt "${MAX[$k]}"))"
	else
		fmt "${MED[$k]}"
	fi
}
med() { echo "${MED[$1|$2|$3]:-}"; }

# table TEST METRIC TITLE UNIT: one row per subject with ratios to ssh -R and direct
table() {
	local t=$1 m=$2 s r1 r2 any=0

	for s in "${SUBJECTS[@]}"; do [[ -n $(med "$s" "$t" "$m") ]] && any=1; done
	((any)) || return 0
	printf '\n**%s** (%s)\n\n| subject | median (min-max) | x ssh -R | x direct |\n| --- | --- | --- | --- |\n' "$3" "$4"
	for s in "${SUBJECTS[@]}"; do
		[[ -n $(med "$s" "$t" "$m") || -n $(med "$s" "$t" failed) ]] || continue
		if [[ -z $(med "$s" "$t" "$m") ]]; then
			printf '| %s | failed | | |\n' "$s"
			continue
		fi
		r1=$(ratio "$(med "$s" "$t" "$m")" "$(med "$REF" "$t" "$m")")
		r2=$(ratio "$(med "$s" "$t" "$m")" "$(med direct "$t" "$m")")
		printf '| %s | %s | %s | %s |\n' "$s" "$(cell "$s" "$t" "$m")" "${r1:--}" "${r2:--}"
	done
}

latency_table() {
	local t=$1 s

	for s in "${SUBJECTS[@]}"; do [[ -n $(med "$s" "$t" rps) ]] && break; s=; done
	[[ -n $s ]] || return 0
	printf '\n**%s**\n\n| subject | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors | p99 x ssh -R | p99 x direct |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n' "$2"
	for s in "${SUBJECTS[@]}"; do
		if [[ -z $(med "$s" "$t" rps) ]]; then
			[[ -n $(med "$s" "$t" failed) ]] && printf '| %s | failed | | | | | | | |\n' "$s"
			continue
		fi
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$s" "$(cell "$s" "$t" rps)" \
			"$(cell "$s" "$t" p50_ms)" "$(cell "$s" "$t" p90_ms)" "$(cell "$s" "$t" p99_ms)" \
			"$(cell "$s" "$t" p999_ms)" "$(fmt "$(med "$s" "$t" errors)")" \
			"$(ratio "$(med "$s" "$t" p99_ms)" "$(med "$REF" "$t" p99_ms)")" \
			"$(ratio "$(med "$s" "$t" p99_ms)" "$(med direct "$t" p99_ms)")"
	done
}

# --- goals. goal SUBJECT TEXT VALUE OP LIMIT [NOTE]: one report line and one JSON entry.
GOALS=$OUT/goals.jsonl
: >"$GOALS"
goal() {
	local s=$1 text=$2 v=$3 op=$4 lim=$5 note=${6:-} st

	if [[ -z $v || -z $lim ]]; then
		st="NOT MEASURED"
	elif [[ $op == ge ]] && ge "$v" "$lim"; then
		st=MET
	elif [[ $op == le ]] && le "$v" "$lim"; then
		st=MET
	else
		st="NOT MET"
	fi
	jq -nc --arg s "$s" --arg g "$text" --arg v "$v" --arg op "$op" --arg l "$lim" --arg st "$st" \
		--arg note "$note" '{subject: $s, goal: $g, value: (if $v == "" then null else ($v | tonumber) end),
		op: $op, limit: (if $l == "" then null else ($l | tonumber) end), status: $st, note: $note}' >>"$GOALS"
}

sum() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print ""; else print a + b }'; }

# the largest scale level a subject held completely, and its KiB per connection
scale_best() {
	jq -r --arg s "$1" '[.[] | select(.subject == $s and (.test | startswith("scale-")) and .metric == "answered")
		| {n: (.test | ltrimstr("scale-") | tonumber), a: .median} | select(.a >= .n)] | max_by(.n) | .n // empty' \
		<<<"$STATS_JSON"
}

# How beam-xdp ran: XDP mode and datagrams per path (beamd's own count at exit).
xdp_note() {
	local nat=${MED[beam-xdp|afxdp|xdp_native]:-}

	printf 'XDP %s mode; beamd received %s datagrams via AF_XDP and %s via its socket, sent %s via AF_XDP and %s via the socket (medians per round)' \
		"$([[ $nat == 1 ]] && echo native || { [[ $nat == 0 ]] && echo generic || echo "?"; })" \
		"$(fmt "$(med beam-xdp afxdp rx_xsk)")" "$(fmt "$(med beam-xdp afxdp rx_socket)")" \
		"$(fmt "$(med beam-xdp afxdp tx_xsk)")" "$(fmt "$(med beam-xdp afxdp tx_socket)")"
}

check_goals() {
	local b why v

	for b in beam beam-xdp; do
		why=${REASON[$b]:-not run}
		if [[ ${AVAIL[$b]:-false} != true ]]; then
			goal "$b" "all goals" "" ge "" "$why"
			continue
		fi
		if [[ $b == beam-xdp ]]; then
			goal "$b" "the AF_XDP path carried the traffic (packets the XDP program redirected to the socket, median of rounds)" \
				"$(med "$b" afxdp to_xsk_packets)" ge 1 "0 means beamd fell back to its UDP socket"
			for t in tput-1-up tput-1-down tput-8-up tput-8-down; do
				goal "$b" "issue #6: tunnel throughput with AF_XDP never below the socket path's ($t, beam-xdp / beam)" \
					"$(ratio "$(med "$b" $t gbps)" "$(med beam $t gbps)")" ge 1 "$(xdp_note)"
			done
		fi
		for d in up down; do
			goal "$b" "one stream $d >= 1.3x ssh -R (aes128-gcm)" \
				"$(ratio "$(med "$b" tput-1-$d gbps)" "$(med "$REF" tput-1-$d gbps)")" ge 1.3
			goal "$b" "8 streams $d >= 1.3x ssh -R with 8 streams" \
				"$(ratio "$(med "$b" tput-8-$d gbps)" "$(med "$REF" tput-8-$d gbps)")" ge 1.3
			goal "$b" "8 streams $d >= 0.9x beam's own single stream" \
				"$(ratio "$(med "$b" tput-8-$d gbps)" "$(med "$b" tput-1-$d gbps)")" ge 0.9
			goal "$b" "CPU s per GiB (edge+agent, one stream $d) <= 0.8x ssh -R's" \
				"$(ratio "$(med "$b" tput-1-$d cpu_total_s_per_gib)" "$(med "$REF" tput-1-$d cpu_total_s_per_gib)")" le 0.8
		done
		goal "$b" "keep-alive, 1 connection, 1000 req/s: p99 <= 2x stunnel's" \
			"$(ratio "$(med "$b" lat-ka1-small-r1000 p99_ms)" "$(med stunnel lat-ka1-small-r1000 p99_ms)")" le 2
		goal "$b" "keep-alive, 1 connection, 1000 req/s: no 40 ms-class tail (p99 in ms, median of rounds; limit 20)" \
			"$(med "$b" lat-ka1-small-r1000 p99_ms)" le 20
		goal "$b" "keep-alive, 50 connections, saturation: req/s >= 1.5x stunnel" \
			"$(ratio "$(med "$b" lat-ka50-small-sat rps)" "$(med stunnel lat-ka50-small-sat rps)")" ge 1.5
		goal "$b" "keep-alive, 50 connections, saturation: req/s >= ssh -L's (aes128-gcm)" \
			"$(ratio "$(med "$b" lat-ka50-small-sat rps)" "$(med ssh-local lat-ka50-small-sat rps)")" ge 1
		goal "$b" "keep-alive, 50 connections, 5000 req/s: p99 <= stunnel's" \
			"$(ratio "$(med "$b" lat-ka50-small-r5000 p99_ms)" "$(med stunnel lat-ka50-small-r5000 p99_ms)")" le 1
		goal "$b" "one new connection per request, saturation: req/s >= ssh -L's" \
			"$(ratio "$(med "$b" lat-new-small-sat rps)" "$(med ssh-local lat-new-small-sat rps)")" ge 1
		goal "$b" "QUIC leg, one stream >= 1.5x the ngtcp2 0.12 example pair" \
			"$(ratio "$(med "$b" tput-1-up gbps)" "$(med ngtcp2 quicleg gbps)")" ge 1.5 \
			"beam's figure is its whole tunnel (two TCP legs plus QUIC, public upload = edge-to-agent), so it understates the QUIC leg"
		v=$(scale_best "$b")
		if [[ -n ${MAX[$b|scale|fd_capped]:-} ]]; then
			goal "$b" "100k concurrent idle connections held (largest level held, connections)" "" ge "" \
				"not measurable here: a process may open only $(jq -r '.nofile_limit' "$OUT/meta.json" 2>/dev/null) files on this machine (hard limit; raising it needs CAP_SYS_RESOURCE, which the bench does not have), so beamd cannot hold more sockets than that; ${v:-none} held"
		elif [[ -n ${MAX[$b|scale|tried_max]:-} ]] && ((${MAX[$b|scale|tried_max]%.*} < 100000)); then
			goal "$b" "100k concurrent idle connections held (largest level held, connections)" "" ge "" \
				"this run tried at most ${MAX[$b|scale|tried_max]%.*} (${v:-none} held)"
		else
			goal "$b" "100k concurrent idle connections held (largest level held, connections)" "${v:-}" ge 100000
		fi
		[[ -n $v ]] && v=$(med "$b" "scale-$v" kib_per_conn)
		goal "$b" "memory per idle tunnelled connection <= 8 KiB across edge and agent (at the largest level held)" \
			"$v" le 8
		v=$(med "$b" scale rss_edge_idle_kib)
		goal "$b" "beamd idle RSS < 16 MiB (MiB)" "$([[ -n $v ]] && ratio "$v" 1024)" le 16
		goal "$b" "agent start to tunnel usable <= 0.1x an ssh session's setup" \
			"$(ratio "$(med "$b" setup agent_up_ms)" "$(med "$REF" setup agent_up_ms)")" le 0.1
		goal "$b" "resumed reconnect (0-RTT) no slower than a full one (resumed / cold, the agent's own count)" \
			"$(ratio "$(med "$b" setup agent_resumed_ms)" "$(med "$b" setup agent_cold_internal_ms)")" le 1 \
			"0-RTT accepted in $(jq -r --arg s "$b" '[.[] | select(.subject == $s and .metric == "resumed_0rtt")] | if length == 0 then "-" else "\(.[0].values | add) of \(.[0].values | length)" end' <<<"$STATS_JSON") reconnects"
		why="bench/hsload, the same way for both: $HS_NOTE"
		[[ $b == beam-xdp ]] && why+="; $HS_XDP_NOTE"
		goal "$b" "handshakes per second at the edge >= stunnel's" \
			"$(ratio "$(med "$b" setup hs_per_s)" "$(med stunnel setup hs_per_s)")" ge 1 "$why"
	done
}

plots() {
	local s t f

	command -v gnuplot >/dev/null || { echo "report: gnuplot missing, no plots" >&2; return 0; }
	# throughput bars
	f=$OUT/throughput.dat
	{
		echo "# subject 1-up 1-down 8-up 8-down"
		for s in "${SUBJECTS[@]}"; do
			[[ -n $(med "$s" tput-1-up gbps) ]] || continue
			printf '%s' "$s"
			for t in tput-1-up tput-1-down tput-8-up tput-8-down; do printf ' %s' "$(med "$s" $t gbps)"; done
			echo
		done
	} | sed 's/  / 0 /g; s/ $/ 0/' >"$f"
	if grep -qv "^#" "$f"; then
		gnuplot <<EOF 2>>"$OUT/gnuplot.log"
set terminal pngcairo size 1000,560 font ",10"
set output "$OUT/throughput.png"
set title "iperf3 through each subject (median of rounds)"
set ylabel "Gbit/s"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top right
set grid ytics
set yrange [0:*]
plot "$f" using 2:xtic(1) title "1 stream up", '' using 3 title "1 stream down", '' using 4 title "8 streams up", '' using 5 title "8 streams down"
EOF
	fi
	# latency percentile curves
	for t in lat-ka1-small-r1000 lat-ka50-small-r5000 lat-ka50-small-sat; do
		f=$OUT/$t.dat
		: >"$f"
		local plot="" i=0
		for s in "${SUBJECTS[@]}"; do
			[[ -n $(med "$s" $t p50_ms) ]] || continue
			{
				echo "# $s"
				echo "0.30103 $(med "$s" $t p50_ms)"
				echo "1 $(med "$s" $t p90_ms)"
				echo "2 $(med "$s" $t p99_ms)"
				echo "3 $(med "$s" $t p999_ms)"
				echo "4 $(med "$s" $t p9999_ms)"
				printf '\n\n'
			} >>"$f"
			plot+="${plot:+, }\"$f\" index $i using 1:2 with linespoints title \"$s\""
			i=$((i + 1))
		done
		[[ -n $plot ]] || continue
		gnuplot <<EOF 2>>"$OUT/gnuplot.log"
set terminal pngcairo size 900,560 font ",10"
set output "$OUT/$t.png"
set title "latency by percentile, ${t#lat-} (corrected for coordinated omission)"
set xlabel "percentile"
set ylabel "ms"
set logscale y
set grid
set key top left
set xtics ("50" 0.30103, "90" 1, "99" 2, "99.9" 3, "99.99" 4)
plot $plot
EOF
	done
	# memory against connections
	f=$OUT/memory.dat
	: >"$f"
	local plot="" i=0
	for s in "${SUBJECTS[@]}"; do
		local rows
		rows=$(jq -r --arg s "$s" '[.[] | select(.subject == $s and (.test | startswith("scale-"))
			and (.metric == "pss_edge_kib" or .metric == "pss_agent_kib"))]
			| group_by(.test) | map({n: (.[0].test | ltrimstr("scale-") | tonumber),
			kib: (map(.median) | add)}) | sort_by(.n) | .[] | "\(.n) \(.kib / 1024)"' <<<"$STATS_JSON")
		[[ -n $rows ]] || continue
		{
			echo "# $s"
			echo "0 $(awk -v a="$(med "$s" scale pss_edge_idle_kib)" -v b="$(med "$s" scale pss_agent_idle_kib)" 'BEGIN { print (a + b) / 1024 }')"
			echo "$rows"
			printf '\n\n'
		} >>"$f"
		plot+="${plot:+, }\"$f\" index $i using 1:2 with linespoints title \"$s\""
		i=$((i + 1))
	done
	if [[ -n $plot ]]; then
		gnuplot <<EOF 2>>"$OUT/gnuplot.log"
set terminal pngcairo size 900,560 font ",10"
set output "$OUT/memory.png"
set title "memory (PSS) of edge + agent processes against idle connections held"
set xlabel "connections"
set ylabel "MiB"
set grid
set key top left
plot $plot
EOF
	fi
}

# xdp.json (bench/xdp-pps.sh) in tables, when it has the shape that script writes.
xdp_tables() {
	jq -er '
		def f: if type == "number" then (. * 1000 | round / 1000 | tostring) else (. // "-" | tostring) end;
		def ok(b): if b == true then "MET" elif b == false then "NOT MET" else "-" end;
		(.results | length > 0) as $have | select($have) |
		"| program | mode | pass pps | junk-to-beam pps | TCP Gbit/s |",
		"| --- | --- | --- | --- | --- |",
		(.results[] | "| \(.program) | \(.mode) | \(.pass_pps_median | f) | \(.junk_pps_median | f) | \(.tcp_gbps_median | f) |"),
		"",
		"The beam program against the empty one, same mode (median of per-round ratios; goals: pass >= \(.goals.pass_ratio_min | f)x, TCP >= \(.goals.tcp_ratio_min | f)x):",
		"",
		"| mode | pass ratio | junk ratio | TCP ratio | pass goal | TCP goal |",
		"| --- | --- | --- | --- | --- | --- |",
		(.beam_vs_empty | to_entries[] | "| \(.key) | \(.value.pass_ratio | f) | \(.value.junk_ratio | f) | \(.value.tcp_ratio | f) | \(ok(.value.pass_goal_met)) | \(ok(.value.tcp_goal_met)) |"),
		(if (.program_cost_ns | length) > 0 then
			"", "Program alone per frame (BPF_PROG_TEST_RUN):", "",
			"| frame | empty ns | beam ns |", "| --- | --- | --- |",
			(.program_cost_ns[] | "| \(.frame) | \(.empty_ns | f) | \(.beam_ns | f) |")
		else empty end)' "$1"
}

# afxdp.json (bench/afxdp-rx.sh) in tables.
afxdp_tables() {
	jq -er '
		def f: if type == "number" then (. * 1000 | round / 1000 | tostring) else (. // "-" | tostring) end;
		select(.median.xsk and .median.udp) |
		"Link: \(.link // "-"); \(.datagram_bytes // "-")-byte datagrams.", "",
		"| path | wait | packets/s | CPU ns per packet | batch |", "| --- | --- | --- | --- | --- |",
		(if .median_by_wait then
			(.median_by_wait | to_entries[] | .key as $w | .value | to_entries[] |
			 "| \(.key) | \($w) | \(.value.pps | f) | \(.value.cpu_ns_per_pkt | f) | \(.value.batch | f) |")
		else
			(.median | to_entries[] | "| \(.key) | poll | \(.value.pps | f) | \(.value.cpu_ns_per_pkt | f) | \(.value.batch | f) |")
		end),
		"",
		"poll: the receiver is woken per arrival (as beamd is on a veth with no interrupt moderation), so wake-ups dominate and the faster path, draining sooner, takes smaller batches; coalesced: woken by the kernel with the interface'"'"'s NAPI deferral on (what a NIC'"'"'s interrupt coalescing does); interval: it sleeps 500 us between drains, batches fill, and what is left is each path'"'"'s per-packet work.",
		"",
		"AF_XDP CPU per packet against recvmmsg, woken per arrival: \((.median.xsk.cpu_ns_per_pkt / .median.udp.cpu_ns_per_pkt) | f)x (issue #6 aims at <= 0.6x: \(if .median.xsk.cpu_ns_per_pkt / .median.udp.cpu_ns_per_pkt <= 0.6 then "MET" else "NOT MET" end))\(if .xsk_cpu_per_pkt_vs_recvmmsg.interval then "; drained in batches: \(.xsk_cpu_per_pkt_vs_recvmmsg.interval | f)x (\(if .xsk_cpu_per_pkt_vs_recvmmsg.interval <= 0.6 then "MET" else "NOT MET" end))" else "" end)\(if .xsk_cpu_per_pkt_vs_recvmmsg.coalesced then "; woken by the kernel with receive coalescing on (beam-xdp attach --rx-coalesce-us \(.coalesce_us)): \(.xsk_cpu_per_pkt_vs_recvmmsg.coalesced | f)x (\(if .xsk_cpu_per_pkt_vs_recvmmsg.coalesced <= 0.6 then "MET" else "NOT MET" end))" else "" end).",
		(if .tunnel_mbps_median then "", "Tunnel (afxdp-rx.sh, \(.tunnel_mb) MiB agent to public client): --xdp \(.tunnel_mbps_median.xsk | f) Mbit/s, socket \(.tunnel_mbps_median.udp | f) Mbit/s (median)." else empty end),
		(if .csum.csum_gbps then
			"", "Checksum routines (GB/s by buffer size; in use: \(.csum.csum_active // "-")):", "",
			"| routine | \(.csum.csum_gbps | to_entries[0].value | keys_unsorted | join(" | ")) |",
			"| --- |\(.csum.csum_gbps | to_entries[0].value | keys_unsorted | map(" --- |") | join(""))",
			(.csum.csum_gbps | to_entries[] | "| \(.key) | \(.value | to_entries | map(.value | f) | join(" | ")) |")
		else empty end)' "$1"
}

xdp_section() {
	local f name

	for name in xdp afxdp; do
		f=$OUT/$name.json
		printf '\n### %s\n\n' "$([[ $name == xdp ]] && echo "XDP program paths against an empty program (bench/xdp-pps.sh)" || echo "AF_XDP against recvmmsg (bench/afxdp-rx.sh)")"
		if [[ ! -f $f ]] || ! jq -e . "$f" >/dev/null 2>&1; then
			echo "NOT MEASURED: $(basename "$f") was not produced (the script is not on main yet, or it failed)."
			continue
		fi
		"${name}_tables" "$f" 2>/dev/null && continue
		# a shape this report does not know: every value, flattened
		printf '| key | value |\n| --- | --- |\n'
		jq -r 'paths(scalars) as $p | [($p | map(tostring) | join(".")), (getpath($p) | tostring)] | "| \(.[0]) | \(.[1]) |"' "$f"
	done
}

write_report() {
	local s q

	q=$(jq -r 'if .quick then "QUICK (one short round: indicative only)" else "full" end' "$OUT/meta.json" 2>/dev/null)
	{
		echo "# beam bench report"
		echo
		jq -r '"Run \(.date) on kernel \(.kernel), \(.cpus) CPUs, commit \(.commit); \(.reps) round(s), iperf3 \(.throughput_seconds) s, latency runs \(.latency_seconds) s, run took \(.run_seconds) s."' "$OUT/meta.json" 2>/dev/null
		echo "Mode: ${q:-unknown}. Medians over rounds with (min-max); ratios use medians."
		jq -r '"Machine load (1-minute load average) at start \(.loadavg_start), at end \(.loadavg_end): other work on the machine shares its \(.cpus) CPUs with the bench, and a load above about 1 means the numbers carry that noise."' "$OUT/meta.json" 2>/dev/null
		echo "Subjects were measured interleaved, round after round (A B C ... A B C ...), on one noisy 2-core host: read ratios, not absolute numbers."
		echo
		echo "## Subjects"
		echo
		echo "| subject | what | available |"
		echo "| --- | --- | --- |"
		for s in $SUBJECTS_ALL; do
			local what
			case $s in
			direct) what="no tunnel: the client reaches the service through the edge's kernel (the ceiling)" ;;
			socat) what="two socat hops (edge, agent), plain TCP, no crypto (the practical ceiling of this topology)" ;;
			ssh-aes) what="ssh -R remote forward, aes128-gcm@openssh.com (the reference for ratios)" ;;
			ssh-chacha) what="ssh -R remote forward, chacha20-poly1305@openssh.com" ;;
			ssh-local) what="ssh -L local forward, aes128-gcm@openssh.com: the client's own ssh into the edge's sshd, which connects on to the private machine (the reference of the 50-connection and new-connection goals)" ;;
			stunnel) what="stunnel client on the edge, stunnel server on the private machine, TLS between" ;;
			beam) what="beamd + beam agent, UDP socket back end" ;;
			beam-xdp) what="beamd --xdp (AF_XDP back end) + beam agent" ;;
			ngtcp2) what="Debian's ngtcp2 0.12 example server/client (gtlsserver/gtlsclient), one HTTP/3 download: the QUIC leg only" ;;
			esac
			if [[ ${AVAIL[$s]:-} == false ]]; then
				printf '| %s | %s | no: %s |\n' "$s" "$what" "${REASON[$s]}"
			elif [[ " ${SUBJECTS[*]} " == *" $s "* ]]; then
				printf '| %s | %s | yes |\n' "$s" "$what"
			else
				printf '| %s | %s | not run |\n' "$s" "$what"
			fi
		done

		echo
		echo "## Goals (issue #8)"
		echo
		echo "| subject | goal | measured | status |"
		echo "| --- | --- | --- | --- |"
		jq -r '"| \(.subject) | \(.goal) | \(if .value == null then "-" elif .value >= 100 then (.value | round | tostring) else (.value * 1000 | round / 1000 | tostring) end) | \(.status)\(if .note != "" then " (" + .note + ")" else "" end) |"' "$GOALS"

		echo
		echo "## 1. Bulk throughput (iperf3 through the tunnel)"
		echo
		echo "Up is public client to service, down is service to public client (iperf3 -R)."
		table tput-1-up gbps "one stream, up" "Gbit/s"
		table tput-1-down gbps "one stream, down" "Gbit/s"
		table tput-8-up gbps "8 streams, up" "Gbit/s"
		table tput-8-down gbps "8 streams, down" "Gbit/s"
		[[ -f $OUT/throughput.png ]] && printf '\n![throughput](throughput.png)\n'
		if [[ " ${SUBJECTS[*]} " == *" beam-xdp "* ]]; then
			echo
			echo "**beam against beam-xdp: what differs.** Both run the same beamd and agent with the same options and the private machine's offloads untouched; beam-xdp adds \`--xdp eth1\` on the edge's side facing the agents. No TCP leg crosses eth1 (the public side is the edge's eth0, the agent reaches its services over loopback): only QUIC does. $(xdp_note). On veth, a native XDP program on eth1 takes GSO away from its peer, the private machine's eth0: the agent's QUIC trains leave it as single datagrams, and each one reaches beamd alone through AF_XDP (copy mode, the only one veth has). The socket subject's trains cross veth whole (up to 64 KiB per skb, received as one GRO batch), which no physical link gives either path. In copy mode beamd sends GSO trains through its socket (one skb per train; an AF_XDP frame costs an skb each) and single datagrams through AF_XDP."
		fi

		echo
		echo "## 2. Request latency (bench/loadgen, corrected for coordinated omission)"
		echo
		echo "nginx on the private machine; small = 100-byte body, 64k = 65536-byte body. A fixed-rate run measures each request from the moment it was due, so a stall is charged to every request it delayed. 'sat' runs each connection closed-loop as fast as it answers."
		latency_table lat-ka1-small-r1000 "keep-alive, 1 connection, 1000 req/s, small"
		latency_table lat-ka1-small-sat "keep-alive, 1 connection, saturation, small"
		latency_table lat-ka1-64k-r500 "keep-alive, 1 connection, 500 req/s, 64 KiB"
		latency_table lat-ka50-small-r5000 "keep-alive, 50 connections, 5000 req/s, small"
		latency_table lat-ka50-small-sat "keep-alive, 50 connections, saturation, small"
		latency_table lat-ka50-64k-sat "keep-alive, 50 connections, saturation, 64 KiB"
		latency_table lat-new-small-r500 "one new connection per request, 500 req/s (up to 50 at once), small"
		latency_table lat-new-small-sat "one new connection per request, saturation (50 at once), small"
		for s in lat-ka1-small-r1000 lat-ka50-small-r5000 lat-ka50-small-sat; do
			[[ -f $OUT/$s.png ]] && printf '\n![%s](%s.png)\n' "$s" "$s"
		done

		echo
		echo "## 3. Connection setup"
		table lat-new-small-r500 fb_p50_ms "new public TCP connection to first response byte, p50 (500 new connections/s)" "ms"
		table lat-new-small-r500 fb_p99_ms "new public TCP connection to first response byte, p99" "ms"
		table setup agent_up_ms "agent start to tunnel usable (first GET through it answers), cold" "ms"
		table setup hs_per_s "handshakes the edge finished per second (bench/hsload, 16 in flight)" "1/s"
		echo
		echo
		echo "$HS_NOTE."
		table setup hs_p50_ms "one handshake under that load, p50" "ms"
		table setup agents_per_s "agents started at once, tunnels registered per second (each a full QUIC handshake, agent process start included)" "1/s"
		echo
		echo
		echo "beam only: the agent's own count (its -vv line 'tunnel usable N ms after (re)connecting') for its first connection and for a reconnect with its session ticket after the path to the edge went away (link down until the agent noticed, up before its retry)."
		table setup agent_cold_internal_ms "agent connect to tunnel usable, cold (full handshake)" "ms"
		table setup agent_resumed_ms "agent reconnect to tunnel usable, resumed (session ticket, 0-RTT when accepted)" "ms"

		echo
		echo "## 4. Scale: idle connections through one tunnel"
		echo
		echo "bench/connhold opens N connections to the echo service through the subject from 4 client addresses, checks each echoes a byte, holds them, measures the memory of the edge and agent processes, then checks each still echoes. Memory is RSS and PSS (proportional set size: pages shared between forked processes, as socat's and sshd's, counted once). KiB per connection = (PSS held - PSS idle) / held, edge + agent; kernel socket buffers are in neither."
		echo
		echo "| subject | connections | held | still answering | edge RSS MiB | edge PSS MiB | agent RSS MiB | agent PSS MiB | KiB per conn | open s |"
		echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
		jq -r 'def mib(v): if v then (v / 1024 * 10 | round / 10) else "-" end;
			[.[] | select(.test | startswith("scale-"))] | group_by([.subject, .test])
			| map({s: .[0].subject, n: (.[0].test | ltrimstr("scale-") | tonumber),
			   m: (map({key: .metric, value: .median}) | from_entries)}) | sort_by(.s, .n) | .[]
			| "| \(.s) | \(.n) | \(.m.held // "-") | \(.m.answered // "-") | \(mib(.m.rss_edge_kib)) | \(mib(.m.pss_edge_kib)) | \(mib(.m.rss_agent_kib)) | \(mib(.m.pss_agent_kib)) | \(if .m.kib_per_conn then (.m.kib_per_conn * 100 | round / 100) else "-" end) | \(.m.open_s // "-") |"' <<<"$STATS_JSON"
		local nofile levels skipped=""
		nofile=$(jq -r '.nofile_limit // empty' "$OUT/meta.json" 2>/dev/null)
		levels=$(jq -r '.scale_levels // empty' "$OUT/meta.json" 2>/dev/null)
		for s in $levels; do
			[[ -n $nofile ]] && ((s > nofile - 1000)) && skipped+="${skipped:+, }$s"
		done
		if [[ -n $skipped ]]; then
			echo
			echo "Not measured: $skipped connections. The bench asks for a hard limit of 1048576 open files and could not get it: this machine's hard limit per process (RLIMIT_NOFILE) is $nofile, and raising a hard limit needs CAP_SYS_RESOURCE, which the bench does not have here (prlimit and setrlimit fail with EPERM). Every idle tunnelled connection is one socket in the edge process (and one in the agent), so no level above $((nofile - 1000)) ($nofile less 1000 for each process's other files) can be held; that level is tried instead."
		fi
		echo
		echo "Idle RSS (tunnel up, no connections):"
		echo
		for s in "${SUBJECTS[@]}"; do
			[[ -n $(med "$s" scale rss_edge_idle_kib) ]] || continue
			echo "- $s: edge RSS $(fmt "$(ratio "$(med "$s" scale rss_edge_idle_kib)" 1024)") MiB (PSS $(fmt "$(ratio "$(med "$s" scale pss_edge_idle_kib)" 1024)")), agent RSS $(fmt "$(ratio "$(med "$s" scale rss_agent_idle_kib)" 1024)") MiB (PSS $(fmt "$(ratio "$(med "$s" scale pss_agent_idle_kib)" 1024)"))"
		done
		[[ -f $OUT/memory.png ]] && printf '\n![memory](memory.png)\n'

		echo
		echo "## 5. CPU seconds per GiB moved"
		echo
		echo "utime+stime (with reaped children) of the subject's edge and agent processes during each iperf3 run, over the bytes iperf3 received."
		table tput-1-up cpu_edge_s_per_gib "edge, one stream up" "CPU s/GiB"
		table tput-1-up cpu_agent_s_per_gib "agent, one stream up" "CPU s/GiB"
		table tput-1-up cpu_total_s_per_gib "edge + agent, one stream up" "CPU s/GiB"
		table tput-1-down cpu_total_s_per_gib "edge + agent, one stream down" "CPU s/GiB"
		table tput-8-up cpu_total_s_per_gib "edge + agent, 8 streams up" "CPU s/GiB"

		echo
		echo "## QUIC leg: the reference QUIC stack"
		table quicleg gbps "ngtcp2 0.12 example pair, one HTTP/3 download edge to private machine" "Gbit/s"
		echo
		echo "## 6. XDP"
		xdp_section
		echo
		echo "## Raw data"
		echo
		echo "results.json holds every sample (raw), the statistics and the goals; raw.jsonl is one sample per line."
	} >"$REPORT"
}

check_goals
plots
write_report
jq -n --slurpfile meta <(cat "$OUT/meta.json" 2>/dev/null || echo '{}') \
	--slurpfile status <(cat "$OUT/status.jsonl" 2>/dev/null) \
	--slurpfile goals "$GOALS" --slurpfile stats <(printf '%s\n' "$STATS_JSON") \
	--slurpfile samples "$RAW" \
	--slurpfile xdp <(cat "$OUT/xdp.json" 2>/dev/null) \
	--slurpfile afxdp <(cat "$OUT/afxdp.json" 2>/dev/null) \
	'{meta: ($meta[0] // {}), subjects: $status, goals: $goals, stats: $stats[0], samples: $samples,
	  xdp: ($xdp[0] // null), afxdp: ($afxdp[0] // null)}' >"$OUT/results.json" ||
	{ echo "report: cannot write results.json" >&2; exit 1; }
rm -f "$GOALS"
echo "report: $REPORT"
