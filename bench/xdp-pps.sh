#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# xdp-pps.sh - what beam's XDP program costs, against an empty XDP program
# (XDP_PASS only) in the same attach mode, in the same run.
#
#   bench/xdp-pps.sh [OUT.json]      (default bench/results/xdp.json)
#   env: REPS (5 rounds), SECS (1, per packet-rate sample), TCP_SECS (2), QUICK=1 (1 round)
#
# Two namespaces of its own joined by a veth pair; bench/udp-flood sends from
# the peer. Measured on the edge side's eth0 (frames that XDP took in per
# second, from the interface's rx_packets):
#   pass: 16-byte UDP to port 9, not beam's: XDP_PASS and up the stack
#   junk: 16-byte UDP to beam's port 4433, too short for QUIC: beam drops it
#         (XDP_DROP, reason malformed); the empty program passes it up
#   tcp:  iperf3 from peer to edge, unrelated to beam
# for no program, the empty program and beam's, in native and in generic mode,
# in rounds: each round measures the empty program and beam's back to back in
# each mode (alternating which goes first), and the per-round ratios' median
# is the result, so load from elsewhere hits both alike. It also times the
# program alone per frame with bench/xdp-prog-cost (BPF_PROG_TEST_RUN). Goals: beam >= 0.85x the empty program's packet rate, TCP
# >= 0.9x, each in the same mode.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
OUT=${1:-$ROOT/bench/results/xdp.json}
REPS=${REPS:-5}
SECS=${SECS:-1}
TCP_SECS=${TCP_SECS:-2}
if [[ ${QUICK:-} == 1 ]]; then
	REPS=1 SECS=1 TCP_SECS=1
fi

[[ $(id -u) -eq 0 ]] || { echo "xdp-pps: needs root (namespaces, XDP)" >&2; exit 1; }
for tool in ip ethtool iperf3 python3 nsenter; do
	command -v $tool >/dev/null || { echo "xdp-pps: $tool missing (make deps)" >&2; exit 1; }
done
for f in "$BUILD/beam-xdp" "$BUILD/bench/udp-flood" "$BUILD/bpf/xdp_empty.bpf.o"; do
	[[ -e $f ]] || { echo "xdp-pps: $f missing: run make" >&2; exit 1; }
done

RUN=$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
EDGE=bxb$RUN-e
PEER=bxb$RUN-p
TMP=$(mktemp -d "/tmp/beam-xdp-bench-$RUN.XXXX")
export BEAM_PIN_ROOT=/sys/fs/bpf/beam-bench-$RUN
cleanup() {
	# Only processes of this run live in its namespaces.
	ip netns pids "$EDGE" 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns pids "$PEER" 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns del "$EDGE" 2>/dev/null
	ip netns del "$PEER" 2>/dev/null
	rm -rf "$BEAM_PIN_ROOT" "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_edge() { nsenter --net="/run/netns/$EDGE" "$@"; }
in_peer() { nsenter --net="/run/netns/$PEER" "$@"; }

ip netns add "$EDGE"
ip netns add "$PEER"
ip -n "$EDGE" link set lo up
# Two identical veth pairs: eth0-peer0 (10.99.0.0/24), eth1-peer1 (10.99.1.0/24).
for i in 0 1; do
	ip link add "bxb${RUN}a$i" type veth peer name "bxb${RUN}b$i"
	ip link set "bxb${RUN}a$i" netns "$EDGE" name "eth$i"
	ip link set "bxb${RUN}b$i" netns "$PEER" name "peer$i"
	ip -n "$EDGE" addr add "10.99.$i.1/24" dev "eth$i"
	ip -n "$PEER" addr add "10.99.$i.2/24" dev "peer$i"
	ip -n "$EDGE" link set "eth$i" up
	ip -n "$PEER" link set "peer$i" up
	# Segment GSO buffers before the veth, so XDP sees one frame per datagram.
	in_peer ethtool -K "peer$i" tx-udp-segmentation off >/dev/null 2>&1 || true
	nsenter --net="/run/netns/$EDGE" iperf3 -s -B "10.99.$i.1" -p $((5201 + i)) >/dev/null 2>&1 &
done
sleep 0.3

attach() { # IFACE PROG MODE
	case $2 in
	none) ;;
	empty)
		ip -n "$EDGE" link set dev "$1" "$([[ $3 == native ]] && echo xdpdrv || echo xdpgeneric)" \
			obj "$BUILD/bpf/xdp_empty.bpf.o" sec xdp
		;;
	beam) in_edge "$BUILD/beam-xdp" attach "$1" --mode "$3" >/dev/null ;;
	esac
}

detach() { # IFACE PROG MODE
	case $2 in
	none) ;;
	empty) ip -n "$EDGE" link set dev "$1" "$([[ $3 == native ]] && echo xdpdrv || echo xdpgeneric)" off ;;
	beam) in_edge "$BUILD/beam-xdp" detach "$1" >/dev/null ;;
	esac
}

rx_packets() { # IFACE
	ip -n "$EDGE" -s -j link show dev "$1" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["packets"])'
}

# pps PORT: flood both pairs at once; prints "pps_eth0 pps_eth1".
pps() {
	local a0 a1 b0 b1 t0 t1 p0 p1

	a0=$(rx_packets eth0)
	a1=$(rx_packets eth1)
	t0=$(date +%s.%N)
	nsenter --net="/run/netns/$PEER" "$BUILD/bench/udp-flood" -d 10.99.0.1 -p "$1" -s 16 -t "$SECS" >/dev/null &
	p0=$!
	nsenter --net="/run/netns/$PEER" "$BUILD/bench/udp-flood" -d 10.99.1.1 -p "$1" -s 16 -t "$SECS" >/dev/null &
	p1=$!
	wait "$p0" "$p1"
	sleep 0.05
	t1=$(date +%s.%N)
	b0=$(rx_packets eth0)
	b1=$(rx_packets eth1)
	python3 -c "d = $t1 - $t0; print(round(($b0 - $a0) / d), round(($b1 - $a1) / d))"
}

# tcp_gbps: iperf3 over both pairs at once; prints "gbps_eth0 gbps_eth1".
tcp_gbps() {
	local i pids=()

	for i in 0 1; do
		nsenter --net="/run/netns/$PEER" iperf3 -c "10.99.$i.1" -p $((5201 + i)) -t "$TCP_SECS" -J \
			>"$TMP/iperf$i.json" 2>/dev/null &
		pids+=($!)
	done
	wait "${pids[@]}" || true
	for i in 0 1; do
		python3 -c 'import json, sys; print(round(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9, 3))' \
			"$TMP/iperf$i.json" 2>/dev/null || echo 0
	done | paste -sd' '
}

SAMPLES=$TMP/samples.tsv
: >"$SAMPLES"
echo "xdp-pps: $REPS rounds, ${SECS}s packet-rate samples, ${TCP_SECS}s TCP, two veth pairs in $EDGE/$PEER" >&2

sample() { # ROUND MODE PROG_ETH0 PROG_ETH1
	local p j t

	attach eth0 "$3" "$2"
	attach eth1 "$4" "$2"
	read -r -a p <<<"$(pps 9)"
	read -r -a j <<<"$(pps 4433)"
	read -r -a t <<<"$(tcp_gbps)"
	detach eth0 "$3" "$2"
	detach eth1 "$4" "$2"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${p[0]}" "${j[0]}" "${t[0]}" \
		"$4" "${p[1]}" "${j[1]}" "${t[1]}" >>"$SAMPLES"
	printf '  round %d %-7s  eth0 %-5s pass %8s junk %8s tcp %6s | eth1 %-5s pass %8s junk %8s tcp %6s\n' \
		"$1" "$2" "$3" "${p[0]}" "${j[0]}" "${t[0]}" "$4" "${p[1]}" "${j[1]}" "${t[1]}" >&2
}

# beam's program and the empty one run at the same time on the two pairs,
# under the same load from elsewhere; which pair gets which alternates by
# round. "none" on both pairs shows how far two identical pairs disagree.
for ((round = 1; round <= REPS; round++)); do
	sample "$round" - none none
	for mode in native generic; do
		if ((round % 2)); then
			sample "$round" "$mode" beam empty
		else
			sample "$round" "$mode" empty beam
		fi
	done
done
"$BUILD/bench/xdp-prog-cost" >"$TMP/cost.txt" 2>&1 || true

mkdir -p "$(dirname "$OUT")"
python3 - "$SAMPLES" "$OUT" "$REPS" "$SECS" "$TCP_SECS" "$(uname -r)" "$TMP/cost.txt" <<'EOF'
import json, statistics, sys

samples, out, reps, secs, tcp_secs, kernel, cost_file = sys.argv[1:]
rows, pairs = {}, []
for line in open(samples):
    f = line.rstrip("\n").split("\t")
    rnd, mode = f[0], f[1]
    side = []
    for prog, p, j, t in (f[2:6], f[6:10]):
        v = {"pass": int(p), "junk": int(j), "tcp": float(t)}
        r = rows.setdefault((prog, mode), {"pass": [], "junk": [], "tcp": []})
        for m in v:
            r[m].append(v[m])
        side.append((prog, v))
    pairs.append((rnd, mode, side))
med = {k: {m: statistics.median(v[m]) for m in v} for k, v in rows.items()}

cost = []
for line in open(cost_file):
    f = line.split()
    if len(f) == 3 and f[0] != "frame":
        cost.append({"frame": f[0], "empty_ns": float(f[1]), "beam_ns": float(f[2])})

results = []
for (prog, mode), v in rows.items():
    results.append({"program": prog, "mode": mode,
                    "pass_pps": v["pass"], "junk_pps": v["junk"], "tcp_gbps": v["tcp"],
                    "pass_pps_median": med[(prog, mode)]["pass"],
                    "junk_pps_median": med[(prog, mode)]["junk"],
                    "tcp_gbps_median": med[(prog, mode)]["tcp"]})

def paired(mode, metric, num="beam", den="empty"):
    """Median over rounds of num / den, measured at the same time."""
    rs = []
    for rnd, m, side in pairs:
        if m != mode:
            continue
        if num == den:  # the same program on both pairs: eth0 / eth1
            a, b = side[0][1], side[1][1]
            if side[0][0] == num and side[1][0] == num and b[metric]:
                rs.append(a[metric] / b[metric])
            continue
        v = dict(side)
        if num in v and den in v and v[den][metric]:
            rs.append(v[num][metric] / v[den][metric])
    return (round(statistics.median(rs), 3) if rs else None), [round(r, 3) for r in sorted(rs)]

noise = {}
for metric in ("pass", "junk", "tcp"):
    noise[metric + "_ratio"], noise[metric + "_ratios"] = paired("-", metric, "none", "none")

compare = {}
for mode in ("native", "generic"):
    compare[mode] = {}
    for metric in ("pass", "junk", "tcp"):
        compare[mode][metric + "_ratio"], compare[mode][metric + "_ratios"] = paired(mode, metric)
    compare[mode]["pass_goal_met"] = compare[mode]["pass_ratio"] is not None and compare[mode]["pass_ratio"] >= 0.85
    compare[mode]["tcp_goal_met"] = compare[mode]["tcp_ratio"] is not None and compare[mode]["tcp_ratio"] >= 0.9

doc = {"benchmark": "xdp-pps", "kernel": kernel, "link": "veth between two namespaces",
       "repetitions": int(reps), "sample_seconds": float(secs), "tcp_seconds": float(tcp_secs),
       "packet": "16-byte UDP payload; pass = to port 9 (not beam's), junk = to beam's port 4433 (malformed QUIC)",
       "goals": {"pass_ratio_min": 0.85, "tcp_ratio_min": 0.9},
       "results": results, "beam_vs_empty": compare, "program_cost_ns": cost,
       "noise_floor_eth0_vs_eth1_no_program": noise,
       "note": "beam and the empty program run at the same time on two identical veth pairs (swapped every round); ratios are medians over rounds of the simultaneous beam/empty values; absolute rates are per pair while both pairs are loaded"}
json.dump(doc, open(out, "w"), indent=2)

print(f"{'program':<8} {'mode':<8} {'pass pps':>12} {'junk pps':>12} {'tcp Gbit/s':>11}")
for (prog, mode), m in sorted(med.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    print(f"{prog:<8} {mode:<8} {m['pass']:>12,.0f} {m['junk']:>12,.0f} {m['tcp']:>11.2f}")
print()
print(f"noise floor (no program on either pair, eth0/eth1): pass {noise['pass_ratio']}x {noise['pass_ratios']}, tcp {noise['tcp_ratio']}x {noise['tcp_ratios']}")
for mode, c in compare.items():
    if c["pass_ratio"] is None:
        continue
    print(f"beam / empty, {mode:<7}: pass {c['pass_ratio']:.2f}x (goal >= 0.85: {'met' if c['pass_goal_met'] else 'NOT met'}), "
          f"junk {c['junk_ratio']:.2f}x, tcp {c['tcp_ratio']:.2f}x (goal >= 0.9: {'met' if c['tcp_goal_met'] else 'NOT met'})")
    print(f"  per-round pass ratios {c['pass_ratios']}, tcp ratios {c['tcp_ratios']}")
if cost:
    print()
    print("program alone (BPF_PROG_TEST_RUN, ns per frame, includes ~25 ns of test-run overhead):")
    for c in cost:
        print(f"  {c['frame']:<20} empty {c['empty_ns']:6.1f}  beam {c['beam_ns']:6.1f}")
print(f"{reps} rounds; rates per pair with both pairs loaded at once; JSON in {out}")
EOF
