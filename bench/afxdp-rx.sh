#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# afxdp-rx.sh - receive cost of beamd's two packet paths on one veth pair, in
# one run: the AF_XDP back end (pktio_xsk: beam's XDP program redirects, the
# frame is parsed and its checksums verified in user space) against a UDP
# socket drained with recvmmsg(). A sender in the peer namespace blasts
# 64-byte QUIC-looking datagrams with sendmmsg for a few seconds per round;
# the receiver reports packets/s and its own CPU time per packet. Three ways
# to wait:
#   poll       woken per arrival: epoll on a veth as it comes (no interrupt
#              moderation), so every datagram's NAPI poll wakes the reader
#              and the wake-ups, the same on both paths, dominate
#   coalesced  epoll, with the interface's NAPI deferral on (beam-xdp attach
#              --rx-coalesce-us COALESCE_US, default 20): the kernel's own
#              moderation, as a NIC's interrupt coalescing would do
#   interval   no epoll: sleep 500 us between drains (batches fill; what is
#              left is each path's per-packet work)
# Rounds alternate between the paths and the median of each is kept, because
# this machine is shared and noisy. XDP_MODE=generic attaches in generic mode.
#
# Then tunnel throughput with each path: beamd with and without --xdp, the
# agent sending TUN_MB MiB (default 512) through the tunnel to a public
# client, rounds alternating. Also records the checksum routines' speed
# (bench/csum-speed).
#
#   bench/afxdp-rx.sh [ROUNDS (3)] [SECONDS (3)]    (root)
#
# Writes bench/results/afxdp.json and prints a summary.
source "$(dirname "$0")/../tests/integration/lib.sh"
source "$(dirname "$0")/../tests/integration/tunnel_lib.sh"
t_require_root

ROUNDS=${1:-3}
SECS=${2:-3}
SIZE=${SIZE:-64}
OUT=${OUT:-$T_ROOT/bench/results/afxdp.json}
SINK=$T_BUILD/bench/rx-sink
BLAST=$T_BUILD/bench/udp-blast

TUN_MB=${TUN_MB:-512}
COALESCE_US=${COALESCE_US:-20}
KEY=000102030405060708090a0b0c0d0e0f

RXE=$(t_netns rxe)
PEER=$(t_netns rxp)
t_veth eth0 "$RXE" peer0 "$PEER"
ip -n "$RXE" addr add 10.79.0.1/24 dev eth0
ip -n "$PEER" addr add 10.79.0.2/24 dev peer0
# Complete UDP checksums in the sender (see tests/integration/test_xsk.sh).
t_ns "$PEER" ethtool -K peer0 tx off >/dev/null
t_ns "$RXE" beam-xdp attach eth0 --port 4433 --no-rate-limit ${XDP_MODE:+--mode $XDP_MODE} |
	sed 's/^/# /'

# round PATH WAIT N: one timed round; prints the receiver's result line.
round()
{
	local path=$1 wait=$2 n=$3 args

	if [[ $path == xsk ]]; then
		args=(--xsk eth0)
	else
		args=(--udp 4433)
	fi
	[[ $wait == interval ]] && args+=(--interval-us 500)
	t_ns "$RXE" beam-xdp attach eth0 --rx-coalesce-us \
		"$([[ $wait == coalesced ]] && echo "$COALESCE_US" || echo 0)" >/dev/null || return 1
	n=$wait-$n
	# Receiver on CPU 1, sender (and the veth softirq it runs) on CPU 0.
	t_bg "$RXE" "sink-$path-$n" taskset -c 1 "$SINK" "${args[@]}" --seconds $((SECS + 10))
	t_wait_for 5 grep -q ready "$T_DIR/sink-$path-$n.log" || {
		cat "$T_DIR/sink-$path-$n.log" >&2
		return 1
	}
	t_ns "$PEER" taskset -c 0 "$BLAST" 10.79.0.1 4433 --seconds "$SECS" --size "$SIZE" >/dev/null
	t_wait_for $((SECS + 15)) grep -q '^rx-sink path=' "$T_DIR/sink-$path-$n.log"
	echo "$(grep '^rx-sink path=' "$T_DIR/sink-$path-$n.log") wait=$wait"
}

results=()
for ((i = 1; i <= ROUNDS; i++)); do
	for wait in poll coalesced interval; do
		for path in xsk udp; do
			line=$(round "$path" "$wait" "$i") || exit 1
			echo "# round $i: $line"
			results+=("$line")
		done
	done
done

# ---- tunnel throughput, socket path against --xdp ----
tun_topo 4 || exit 1
{
	echo "KEY=$KEY"
	echo "{ openssl enc -aes-128-ctr -nosalt -K \$KEY -iv 0 -in /dev/zero 2>/dev/null || true; } | head -c $((TUN_MB << 20))"
} >"$T_DIR/stream.sh"
t_bg "$AGENT" bigsrv socat TCP-LISTEN:9001,bind=127.0.0.1,reuseaddr,fork EXEC:"bash $T_DIR/stream.sh"
# beam's program on eth1 for both paths, as on a real edge: the socket path
# gets what it passes (no AF_XDP socket registered), --xdp what it steers.
t_ns "$EDGE" beam-xdp attach eth1 --port 4433 ${XDP_MODE:+--mode $XDP_MODE} | sed 's/^/# /'

# tun_round PATH N: restart beamd on PATH, a fresh agent, one timed transfer;
# prints "tunnel path=PATH mbps=M secs=S".
tun_round()
{
	local path=$1 n=$2 args=(--grace 5) start end bytes

	[[ $path == xsk ]] && args+=(--xdp eth1)
	if [[ -f $T_DIR/edge.pid ]]; then
		kill -TERM "$(tun_pid edge)" 2>/dev/null
		t_wait_for 5 bash -c "! kill -0 $(tun_pid edge) 2>/dev/null"
	fi
	tun_edge "${args[@]}" >&2 || return 1
	tun_agent "agent-$path-$n" 9001 >&2 || return 1
	start=$(date +%s.%N)
	bytes=$(t_ns "$CLI" timeout 300 socat -u TCP:$EDGE_PUB:$PUB_PORT - | wc -c)
	end=$(date +%s.%N)
	kill -TERM "$(tun_pid "agent-$path-$n")"
	[[ $bytes -eq $((TUN_MB << 20)) ]] || { echo "# $path: got $bytes bytes" >&2; return 1; }
	echo "tunnel path=$path mbps=$(echo "$bytes * 8 / ($end - $start) / 1000000" | bc -l | cut -c1-7) secs=$(echo "$end - $start" | bc -l | cut -c1-6)"
}

for ((i = 1; i <= ROUNDS; i++)); do
	for path in udp xsk; do
		line=$(tun_round "$path" "$i") || exit 1
		echo "# round $i: $line"
		results+=("$line")
	done
done

csum_json=$("$T_BUILD/bench/csum-speed" --json | tail -1)
mode=$(grep -ho 'in [a-z-]* mode' "$T_DIR"/sink-xsk-poll-1.log | head -1)
xdp_mode=$(t_ns "$RXE" beam-xdp status eth0 | grep -o 'native\|generic' | head -1)

export TUN_MB OUT COALESCE_US
printf '%s\n' "${results[@]}" | python3 -c '
import json, statistics, sys, os, platform, time
rows, tun = [], []
for line in sys.stdin:
    kv = dict(f.split("=", 1) for f in line.split()[1:])
    (tun if line.startswith("tunnel") else rows).append(kv)
def med(path, wait, key):
    return statistics.median(float(r[key]) for r in rows if r["path"] == path and r["wait"] == wait)
out = {
    "bench": "afxdp-rx",
    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "kernel": platform.release(),
    "link": "veth, beam XDP program " + sys.argv[4] + ", AF_XDP " + sys.argv[2],
    "datagram_bytes": int(sys.argv[3]),
    "rounds": rows,
    "median_by_wait": {w: {p: {"pps": med(p, w, "pps"), "cpu_ns_per_pkt": med(p, w, "cpu_ns_per_pkt"),
                               "batch": med(p, w, "batch")} for p in ("xsk", "udp")}
                       for w in ("poll", "coalesced", "interval")},
    "csum": json.loads(sys.argv[1]),
}
# "median": the poll mode (woken per arrival, as the event loop of beamd is), the
# figure bench/report.sh reads; the moderated one is beside it.
out["median"] = out["median_by_wait"]["poll"]
out["xsk_cpu_per_pkt_vs_recvmmsg"] = {
    w: round(out["median_by_wait"][w]["xsk"]["cpu_ns_per_pkt"] /
             out["median_by_wait"][w]["udp"]["cpu_ns_per_pkt"], 3)
    for w in ("poll", "coalesced", "interval")}
out["coalesce_us"] = int(os.environ["COALESCE_US"])
out["goal"] = "AF_XDP CPU per received packet <= 0.6x recvmmsg"
out["tunnel_mb"] = int(os.environ["TUN_MB"])
out["tunnel_rounds"] = tun
out["tunnel_mbps_median"] = {p: statistics.median(float(r["mbps"]) for r in tun if r["path"] == p)
                             for p in ("xsk", "udp")}
out["tunnel_goal"] = "tunnel throughput with AF_XDP never below the socket path"
json.dump(out, open(os.environ["OUT"], "w"), indent=1)
for w in ("poll", "coalesced", "interval"):
    m = out["median_by_wait"][w]
    print("%-9s AF_XDP  : %8.0f pkt/s  %7.1f ns CPU/pkt  (batch %.1f)" % (w, m["xsk"]["pps"], m["xsk"]["cpu_ns_per_pkt"], m["xsk"]["batch"]))
    print("%-9s recvmmsg: %8.0f pkt/s  %7.1f ns CPU/pkt  (batch %.1f)" % (w, m["udp"]["pps"], m["udp"]["cpu_ns_per_pkt"], m["udp"]["batch"]))
    print("%-9s AF_XDP / recvmmsg CPU per packet: %.2fx (goal <= 0.6x)" % (w, out["xsk_cpu_per_pkt_vs_recvmmsg"][w]))
t = out["tunnel_mbps_median"]
print("tunnel %d MiB: --xdp %.0f Mbit/s, socket %.0f Mbit/s (median of %d)" % (out["tunnel_mb"], t["xsk"], t["udp"], len(tun) // 2))
' "$csum_json" "${mode:-unknown mode}" "$SIZE" "${xdp_mode:-unknown} mode"
echo "wrote $OUT"
