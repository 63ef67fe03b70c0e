#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# afxdp-rx.sh - receive cost of beamd's two packet paths on one veth pair, in
# one run: the AF_XDP back end (pktio_xsk: beam's XDP program redirects, the
# frame is parsed and its checksums verified in user space) against a UDP
# socket drained with recvmmsg(). A sender in the peer namespace blasts
# 64-byte QUIC-looking datagrams with sendmmsg for a few seconds per round;
# the receiver reports packets/s and its own CPU time per packet. Rounds
# alternate between the paths and the median of each is kept, because this
# machine is shared and noisy.
#
# Also records the checksum routines' speed (bench/csum-speed).
#
#   bench/afxdp-rx.sh [ROUNDS (3)] [SECONDS (3)]    (root)
#
# Writes bench/results/afxdp.json and prints a summary.
source "$(dirname "$0")/../tests/integration/lib.sh"
t_require_root

ROUNDS=${1:-3}
SECS=${2:-3}
SIZE=${SIZE:-64}
OUT=${OUT:-$T_ROOT/bench/results/afxdp.json}
SINK=$T_BUILD/bench/rx-sink
BLAST=$T_BUILD/bench/udp-blast

EDGE=$(t_netns edge)
PEER=$(t_netns peer)
t_veth eth0 "$EDGE" peer0 "$PEER"
ip -n "$EDGE" addr add 10.77.0.1/24 dev eth0
ip -n "$PEER" addr add 10.77.0.2/24 dev peer0
# Complete UDP checksums in the sender (see tests/integration/test_xsk.sh).
t_ns "$PEER" ethtool -K peer0 tx off >/dev/null
t_ns "$EDGE" beam-xdp attach eth0 --port 4433 --no-rate-limit | sed 's/^/# /'

# round PATH N: one timed round; prints the receiver's result line.
round()
{
	local path=$1 n=$2 args

	if [[ $path == xsk ]]; then
		args=(--xsk eth0)
	else
		args=(--udp 4433)
	fi
	# Receiver on CPU 1, sender (and the veth softirq it runs) on CPU 0.
	t_bg "$EDGE" "sink-$path-$n" taskset -c 1 "$SINK" "${args[@]}" --seconds $((SECS + 10))
	t_wait_for 5 grep -q ready "$T_DIR/sink-$path-$n.log" || {
		cat "$T_DIR/sink-$path-$n.log" >&2
		return 1
	}
	t_ns "$PEER" taskset -c 0 "$BLAST" 10.77.0.1 4433 --seconds "$SECS" --size "$SIZE" >/dev/null
	t_wait_for $((SECS + 15)) grep -q '^rx-sink path=' "$T_DIR/sink-$path-$n.log"
	grep '^rx-sink path=' "$T_DIR/sink-$path-$n.log"
}

results=()
for ((i = 1; i <= ROUNDS; i++)); do
	for path in xsk udp; do
		line=$(round "$path" "$i") || exit 1
		echo "# round $i: $line"
		results+=("$line")
	done
done

csum_json=$("$T_BUILD/bench/csum-speed" --json | tail -1)
mode=$(grep -ho 'in [a-z-]* mode' "$T_DIR"/sink-xsk-1.log | head -1)

printf '%s\n' "${results[@]}" | python3 -c '
import json, statistics, sys, os, platform, time
rows = []
for line in sys.stdin:
    kv = dict(f.split("=", 1) for f in line.split()[1:])
    rows.append(kv)
def med(path, key):
    return statistics.median(float(r[key]) for r in rows if r["path"] == path)
out = {
    "bench": "afxdp-rx",
    "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "kernel": platform.release(),
    "link": "veth, beam XDP program native, AF_XDP " + sys.argv[2],
    "datagram_bytes": int(sys.argv[3]),
    "rounds": rows,
    "median": {p: {"pps": med(p, "pps"), "cpu_ns_per_pkt": med(p, "cpu_ns_per_pkt"),
                   "batch": med(p, "batch")} for p in ("xsk", "udp")},
    "csum": json.loads(sys.argv[1]),
}
out["xsk_cpu_per_pkt_vs_recvmmsg"] = round(out["median"]["xsk"]["cpu_ns_per_pkt"] /
                                           out["median"]["udp"]["cpu_ns_per_pkt"], 3)
out["goal"] = "AF_XDP CPU per received packet <= 0.6x recvmmsg"
out["tunnel_throughput"] = "not measured here: TODO(#6)"
json.dump(out, open(os.environ["OUT"], "w"), indent=1)
m = out["median"]
print("AF_XDP  : %8.0f pkt/s  %7.1f ns CPU/pkt  (batch %.1f)" % (m["xsk"]["pps"], m["xsk"]["cpu_ns_per_pkt"], m["xsk"]["batch"]))
print("recvmmsg: %8.0f pkt/s  %7.1f ns CPU/pkt  (batch %.1f)" % (m["udp"]["pps"], m["udp"]["cpu_ns_per_pkt"], m["udp"]["batch"]))
print("AF_XDP / recvmmsg CPU per packet: %.2fx (goal <= 0.6x)" % out["xsk_cpu_per_pkt_vs_recvmmsg"])
' "$csum_json" "${mode:-unknown mode}" "$SIZE"
echo "wrote $OUT"
