#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_xdp_attach.sh - beam-xdp on a real interface: a veth pair between two
# namespaces of this test, beam's program attached in native mode on the edge
# side, real UDP sent from the peer. Checks the pins, the flow counts (through
# bpftool and through beam-xdp), what the edge's socket received, an in-place
# reattach that keeps the counts, refusal of a foreign program, and detach.
source "$(dirname "$0")/lib.sh"

t_require_root
command -v bpftool >/dev/null || t_skip_all "bpftool missing; run 'make deps'"
command -v python3 >/dev/null || t_skip_all "python3 missing; run 'make deps'"
[[ -x $T_BUILD/beam-xdp ]] || t_skip_all "build/beam-xdp missing; run 'make'"

EDGE=$(t_netns edge) || t_fail "cannot create namespace"
PEER=$(t_netns peer) || t_fail "cannot create namespace"
t_veth eth0 "$EDGE" peer0 "$PEER" || t_fail "cannot create veth pair"
t_veth eth1 "$EDGE" peer1 "$PEER" || t_fail "cannot create second veth pair"
ip -n "$EDGE" addr add 10.77.0.1/24 dev eth0
ip -n "$PEER" addr add 10.77.0.2/24 dev peer0
ip -n "$EDGE" addr add 10.78.0.1/24 dev eth1
ip -n "$PEER" addr add 10.78.0.2/24 dev peer1
ip -n "$EDGE" addr add fd00:77::1/64 dev eth0 nodad
ip -n "$PEER" addr add fd00:77::2/64 dev peer0 nodad
PINS=$BEAM_PIN_ROOT/eth0
SPORT=40123

# send_udp COUNT KIND: datagrams from the peer (source port SPORT) to 10.77.0.1:4433.
# KIND short: a 1-RTT packet with a 16-byte DCID; initial: a v1 Initial of 300 bytes.
send_udp() {
	t_ns "$PEER" python3 - "$1" "$2" "$SPORT" <<'EOF'
import socket, sys
count, kind, sport = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
if kind == "short":
    pkt = bytes([0x41]) + bytes(range(0xa0, 0xb0)) + b"x" * 40
else:
    pkt = bytes([0xc3, 0, 0, 0, 1, 8]) + bytes(8) + bytes([0]) + b"\0" * 285
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.0.2", sport))
for _ in range(count):
    s.sendto(pkt, ("10.77.0.1", 4433))
EOF
}

# bpftool_packets: packets of our flow in `bpftool map dump pinned .../flows`
# (with BTF its plain output is JSON with field names).
bpftool_packets() {
	bpftool map dump pinned "$PINS/flows" | python3 -c '
import json, struct, sys
sport = int(sys.argv[1])  # host byte order in the key
n = 0
for e in json.load(sys.stdin):
    k = e["key"]
    if k["sport"] == sport and k["saddr"][10:] == [255, 255, 10, 77, 0, 2]:
        n = e["value"]["packets"]
print(n)' "$SPORT"
}

# beam_packets: the same flow through `beam-xdp flows --json`.
beam_packets() {
	t_ns "$EDGE" beam-xdp flows eth0 --json | python3 -c '
import json, sys
print(sum(f["packets"] for f in json.load(sys.stdin)
          if f["src"] == "10.77.0.2" and f["sport"] == int(sys.argv[1])))' "$SPORT"
}

reason_packets() {
	t_ns "$EDGE" beam-xdp stats eth0 --json |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["reasons"][sys.argv[1]]["packets"])' "$1"
}

test_attach_native() {
	local out

	out=$(t_ns "$EDGE" beam-xdp attach eth0 --mode native)
	t_log "$out"
	grep -q "native mode" <<<"$out" || t_fail "not attached in native mode: $out"
	for f in link xsks stats flows config rate conns latency; do
		[[ -e $PINS/$f ]] || t_fail "pin $PINS/$f missing"
	done
	[[ $(stat -c %a "$PINS") == 700 ]] || t_fail "pin directory mode $(stat -c %a "$PINS"), expected 700"
	bpftool link show pinned "$PINS/link" | grep -q xdp || t_fail "pinned link is not an XDP link"
	t_ns "$EDGE" ip link show eth0 | grep -q "prog/xdp id" || t_fail "eth0 shows no native XDP program"
	bpftool map show pinned "$PINS/flows" | grep -q btf_id || t_fail "flows map has no BTF"
}

test_udp_counted() {
	local got

	t_bg "$EDGE" sink python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.77.0.1", 4433))
n = 0
while True:
    s.recv(2048)
    n += 1
    open(sys.argv[1] + ".tmp", "w").write(str(n))
    __import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])' "$T_DIR/sink.count"
	t_wait_for 5 t_ns "$EDGE" ss -uln "sport = :4433" -H | grep -q 4433 || sleep 0.5

	send_udp 7 short
	send_udp 1 initial # 300 bytes: a short Initial, dropped at XDP
	t_wait_for 5 test -s "$T_DIR/sink.count" || t_fail "the edge's socket received nothing"
	sleep 0.3

	got=$(bpftool_packets)
	t_log "bpftool: flow 10.77.0.2:$SPORT has $got packets"
	[[ $got == 8 ]] || t_fail "bpftool shows $got packets for the flow, expected 8"
	got=$(beam_packets)
	[[ $got == 8 ]] || t_fail "beam-xdp flows shows $got packets, expected 8"
	t_ns "$EDGE" beam-xdp flows eth0 | sed 's/^/# /'
	t_ns "$EDGE" beam-xdp flows eth0 | grep -q "10.77.0.2:$SPORT .* 8 " ||
		t_fail "beam-xdp flows table does not show the flow with 8 packets"
	[[ $(reason_packets short_initial) == 1 ]] || t_fail "short Initial not counted as dropped"
	[[ $(reason_packets to_socket) == 7 ]] || t_fail "to_socket is $(reason_packets to_socket), expected 7"
	[[ $(cat "$T_DIR/sink.count") == 7 ]] ||
		t_fail "the socket received $(cat "$T_DIR/sink.count") datagrams, expected 7 (the short Initial must not arrive)"
}

test_reattach_keeps_counts() {
	local before after out link_before link_after

	before=$(bpftool link show pinned "$PINS/link" | awk '/prog/ { for (i = 1; i < NF; i++) if ($i == "prog") print $(i + 1) }')
	link_before=$(bpftool link show pinned "$PINS/link" | awk -F: 'NR == 1 { print $1 }')
	out=$(t_ns "$EDGE" beam-xdp attach eth0)
	t_log "$out"
	grep -q "replaced" <<<"$out" || t_fail "second attach did not replace in place: $out"
	after=$(bpftool link show pinned "$PINS/link" | awk '/prog/ { for (i = 1; i < NF; i++) if ($i == "prog") print $(i + 1) }')
	link_after=$(bpftool link show pinned "$PINS/link" | awk -F: 'NR == 1 { print $1 }')
	[[ -n $before && $before != "$after" ]] || t_fail "program id did not change ($before -> $after)"
	[[ $link_before == "$link_after" ]] || t_fail "the link changed ($link_before -> $link_after): not an in-place update"
	[[ $(bpftool_packets) == 8 ]] || t_fail "reattach lost the flow count: $(bpftool_packets)"
	send_udp 3 short
	sleep 0.2
	[[ $(bpftool_packets) == 11 ]] || t_fail "after 3 more: $(bpftool_packets) packets, expected 11"
	[[ $(reason_packets to_socket) == 10 ]] || t_fail "stats reset by reattach"
}

# IPv6 from the peer: the flow is keyed by the IPv6 addresses themselves.
test_ipv6_flow() {
	local got

	t_ns "$PEER" python3 -c '
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("fd00:77::2", 40125))
for _ in range(4):
    s.sendto(bytes([0x41]) + bytes(range(0xa0, 0xb0)) + b"z" * 40, ("fd00:77::1", 4433))'
	sleep 0.2
	got=$(t_ns "$EDGE" beam-xdp flows eth0 --json | python3 -c '
import json, sys
print(sum(f["packets"] for f in json.load(sys.stdin)
          if f["src"] == "fd00:77::2" and f["sport"] == 40125 and f["dport"] == 4433))')
	[[ $got == 4 ]] || t_fail "IPv6 flow shows $got packets, expected 4"
	bpftool map dump pinned "$PINS/flows" | python3 -c '
import json, sys
want = [0xfd, 0, 0, 0x77] + [0] * 11 + [2]
sys.exit(0 if any(e["key"]["saddr"] == want and e["value"]["packets"] == 4
                  for e in json.load(sys.stdin)) else 1)' ||
		t_fail "bpftool does not show the IPv6 flow with 4 packets"
	t_ns "$EDGE" beam-xdp flows eth0 | grep -q "\[fd00:77::2\]:40125" ||
		t_fail "beam-xdp flows does not print the IPv6 endpoint"
}

# Datagrams keep flowing while the program is replaced twice: every one of
# them must be counted by a beam program, so none met the interface without one.
test_reattach_under_traffic() {
	local before after pid

	before=$(bpftool_packets)
	t_ns "$PEER" python3 - "$SPORT" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.77.0.2", int(sys.argv[1])))
pkt = bytes([0x41]) + bytes(range(0xa0, 0xb0)) + b"y" * 40
for i in range(2000):
    s.sendto(pkt, ("10.77.0.1", 4433))
    if i % 20 == 0:
        time.sleep(0.005)
EOF
	pid=$!
	sleep 0.1
	t_ns "$EDGE" beam-xdp attach eth0 >/dev/null
	t_ns "$EDGE" beam-xdp attach eth0 --port 4433 >/dev/null
	wait "$pid"
	sleep 0.2
	after=$(bpftool_packets)
	t_log "flow count $before -> $after while reattaching twice"
	[[ $((after - before)) == 2000 ]] || t_fail "$((after - before)) of 2000 datagrams counted across reattach"
}

# bpftool shows ports as people write them; --initial-rate 0 is "no limit";
# --initial-burst alone on a replace keeps the rate
test_config_readable_and_rate_zero() {
	local out

	t_ns "$EDGE" beam-xdp attach eth1 --mode generic --port 4433 --port 9443 \
		--initial-rate 0 >/dev/null || t_fail "attach --initial-rate 0 failed"
	out=$(bpftool -j map dump pinned "$BEAM_PIN_ROOT/eth1/config")
	t_log "config: $(jq -c ".[0].formatted.value" <<<"$out" 2>/dev/null || echo "$out")"
	python3 -c '
import json, sys
v = json.load(sys.stdin)[0]["formatted"]["value"]
assert v["ports"][:2] == [4433, 9443], v["ports"]
assert v["initial_rate"] == 0, v' <<<"$out" || t_fail "config ports are not in host order: $out"
	out=$(t_ns "$EDGE" beam-xdp status eth1)
	grep -q "Initial limit off (--initial-rate 0" <<<"$out" || t_fail "status: $out"
	t_ns "$EDGE" beam-xdp attach eth1 --initial-rate 50 >/dev/null || t_fail "set rate 50"
	t_ns "$EDGE" beam-xdp attach eth1 --initial-burst 7 >/dev/null ||
		t_fail "--initial-burst alone on a replace was refused"
	grep -q "Initial limit 50/s, burst 7" <<<"$(t_ns "$EDGE" beam-xdp status eth1)" ||
		t_fail "burst alone: $(t_ns "$EDGE" beam-xdp status eth1)"
	t_ns "$EDGE" beam-xdp detach eth1 >/dev/null
}

# A mode change that fails (native XDP on veth cannot take MTU 9000) puts the
# old program back in its old mode; ERANGE is explained, also by auto mode.
test_failed_mode_change_restores() {
	local out rc=0 id_before

	t_ns "$PEER" ip link set dev peer1 mtu 9000 && t_ns "$EDGE" ip link set dev eth1 mtu 9000 ||
		t_fail "cannot set MTU 9000"
	t_ns "$EDGE" beam-xdp attach eth1 --mode generic >/dev/null || t_fail "attach generic"
	id_before=$(t_ns "$EDGE" ip -d link show eth1 | grep -o 'prog/xdp id [0-9]*')
	out=$(t_ns "$EDGE" beam-xdp attach eth1 --mode native 2>&1) || rc=$?
	t_log "$out"
	[[ $rc -eq 1 ]] || t_fail "attach --mode native at MTU 9000: rc=$rc"
	grep -q "MTU 9000 too large for native XDP on driver 'veth'; try --mode generic or a smaller MTU" \
		<<<"$out" || t_fail "ERANGE not explained: $out"
	t_ns "$EDGE" beam-xdp status eth1 | grep -q "beam's XDP program, id .*generic" ||
		t_fail "the failed attach left eth1 without beam's generic program: $(t_ns "$EDGE" beam-xdp status eth1)"
	[[ $(t_ns "$EDGE" ip -d link show eth1 | grep -o 'prog/xdp id [0-9]*') == "$id_before" ]] ||
		t_fail "not the previous program back ($id_before)"
	[[ -e $BEAM_PIN_ROOT/eth1/link ]] || t_fail "the restored link is not pinned"
	t_ns "$EDGE" beam-xdp detach eth1 >/dev/null
	out=$(t_ns "$EDGE" beam-xdp attach eth1 2>&1) || t_fail "auto attach at MTU 9000: $out"
	t_log "$out"
	grep -q "auto chose generic: native attach failed on driver 'veth' (MTU 9000 too large" \
		<<<"$out" || t_fail "auto fallback does not explain ERANGE: $out"
	t_ns "$EDGE" beam-xdp detach eth1 >/dev/null
	t_ns "$EDGE" ip link set dev eth1 mtu 1500 && t_ns "$PEER" ip link set dev peer1 mtu 1500
}

test_foreign_program_refused() {
	local out rc=0

	t_ns "$EDGE" ip link set dev eth1 xdpgeneric obj "$T_BUILD/bpf/xdp_empty.bpf.o" sec xdp ||
		t_fail "cannot attach the foreign program"
	out=$(t_ns "$EDGE" beam-xdp attach eth1 2>&1) || rc=$?
	t_log "$out"
	[[ $rc -ne 0 ]] || t_fail "attach over a foreign program succeeded without --force"
	grep -q "xdp_empty" <<<"$out" || t_fail "the refusal does not name the program: $out"
	t_ns "$EDGE" beam-xdp status eth1 | grep -q "not beam's" || t_fail "status does not call it foreign"
	[[ ! -e $BEAM_PIN_ROOT/eth1/link ]] || t_fail "a link was pinned for eth1"

	out=$(t_ns "$EDGE" beam-xdp attach eth1 --force --mode generic 2>&1)
	t_log "$out"
	t_ns "$EDGE" beam-xdp status eth1 | grep -q "beam's XDP program, id .*generic" ||
		t_fail "--force did not put beam's program on eth1"
	t_ns "$EDGE" beam-xdp detach eth1
}

# rename_link OLD NEW: rename an interface of the edge namespace (it must be down)
rename_link() {
	ip -n "$EDGE" link set dev "$1" down && ip -n "$EDGE" link set dev "$1" name "$2" &&
		ip -n "$EDGE" link set dev "$2" up
}

test_renamed_interface_keeps_its_pins() {
	local out rc=0

	t_ns "$EDGE" beam-xdp attach eth1 --mode generic >/dev/null || t_fail "attach eth1 failed"
	t_defer "ip -n $EDGE link set dev wan1 down; ip -n $EDGE link set dev wan1 name eth1; ip -n $EDGE link set dev eth1 up"
	rename_link eth1 wan1 || t_fail "cannot rename eth1"
	# the old name is no interface now: detach by it refuses and names the new one
	out=$(t_ns "$EDGE" beam-xdp detach eth1 2>&1) || rc=$?
	t_log "detach eth1 after the rename: $out"
	((rc != 0)) || t_fail "detach by the old name succeeded"
	grep -q "wan1" <<<"$out" || t_fail "the refusal does not name wan1: $out"
	t_ns "$EDGE" ip link show wan1 | grep -q "prog/xdp" || t_fail "the program left wan1"
	# so do status, flows and stats
	for cmd in status flows stats; do
		rc=0
		out=$(t_ns "$EDGE" beam-xdp $cmd eth1 2>&1) || rc=$?
		((rc != 0)) && grep -q "belong to 'wan1'" <<<"$out" ||
			t_fail "$cmd by the old name: rc $rc: $out"
	done
	# the new name finds beam's program and its pins, which move to it
	out=$(t_ns "$EDGE" beam-xdp status wan1 2>&1)
	t_log "$out"
	grep -q "beam's XDP program, id .*generic" <<<"$out" || t_fail "status wan1: $out"
	[[ -e $BEAM_PIN_ROOT/wan1/link && ! -e $BEAM_PIN_ROOT/eth1 ]] ||
		t_fail "pins did not follow: $(ls "$BEAM_PIN_ROOT")"
	out=$(t_ns "$EDGE" beam-xdp attach wan1 --mode generic 2>&1) || t_fail "attach wan1: $out"
	[[ $(ls "$BEAM_PIN_ROOT/wan1" | wc -l) -ge 8 ]] || t_fail "pins of wan1: $(ls "$BEAM_PIN_ROOT/wan1")"
	# renamed back, `status` with no name lists it under its name of now
	rename_link wan1 eth1 || t_fail "cannot rename wan1 back"
	out=$(t_ns "$EDGE" beam-xdp status)
	t_log "$out"
	grep -q "^eth1: beam's XDP program" <<<"$out" && ! grep -q "wan1" <<<"$out" ||
		t_fail "status lists: $out"
	[[ -e $BEAM_PIN_ROOT/eth1/link ]] || t_fail "pins did not follow back: $(ls "$BEAM_PIN_ROOT")"
	t_ns "$EDGE" beam-xdp detach eth1 >/dev/null || t_fail "detach eth1 failed"
	[[ ! -e $BEAM_PIN_ROOT/eth1 ]] || t_fail "pins left for eth1"
}

# c1 renamed away to e1, then c0 renamed to c1: the directory c1 holds e1's
# live pins. They go to e1; c1's own (c0's) come to c1; each detach takes its
# own interface only.
test_renamed_onto_another_name() {
	local out

	t_veth c0 "$EDGE" d0 "$PEER" && t_veth c1 "$EDGE" d1 "$PEER" || t_fail "cannot create veths"
	t_ns "$EDGE" beam-xdp attach c0 --mode generic --port 5000 >/dev/null || t_fail "attach c0"
	t_ns "$EDGE" beam-xdp attach c1 --mode generic --port 6000 >/dev/null || t_fail "attach c1"
	rename_link c1 e1 && rename_link c0 c1 || t_fail "cannot rename"
	out=$(t_ns "$EDGE" beam-xdp status)
	t_log "$out"
	grep -q "^c1: beam's XDP program" <<<"$out" && grep -q "^e1: beam's XDP program" <<<"$out" ||
		t_fail "status does not list c1 and e1 as beam's: $out"
	t_ns "$EDGE" beam-xdp status e1 | grep -q "ports: 6000" || t_fail "e1 does not show its own pins"
	t_ns "$EDGE" beam-xdp status c1 | grep -q "ports: 5000" || t_fail "c1 does not show its own pins"
	t_ns "$EDGE" beam-xdp detach c1 >/dev/null || t_fail "detach c1"
	t_ns "$EDGE" ip link show e1 | grep -q "prog/xdp" || t_fail "detach c1 took e1's program"
	t_ns "$EDGE" beam-xdp status e1 | grep -q "beam's XDP program" || t_fail "e1 lost its pins"
	t_ns "$EDGE" beam-xdp detach e1 >/dev/null || t_fail "detach e1"
	[[ ! -e $BEAM_PIN_ROOT/c1 && ! -e $BEAM_PIN_ROOT/e1 && ! -e $BEAM_PIN_ROOT/c0 ]] ||
		t_fail "pins left: $(ls "$BEAM_PIN_ROOT")"
	ip -n "$EDGE" link del c1
	ip -n "$EDGE" link del e1
}

test_detach_leaves_nothing() {
	local out

	out=$(t_ns "$EDGE" beam-xdp detach eth0)
	t_log "$out"
	[[ ! -e $PINS ]] || t_fail "pins left in $PINS: $(ls "$PINS")"
	! t_ns "$EDGE" ip link show eth0 | grep -q "xdp" || t_fail "eth0 still has an XDP program"
	! t_ns "$EDGE" bpftool net show dev eth0 | grep -q "beam_xdp" || t_fail "bpftool still shows beam_xdp"
	out=$(t_ns "$EDGE" beam-xdp detach eth0)
	grep -q "nothing" <<<"$out" || t_fail "second detach said: $out"
}

test_errors_name_the_cause() {
	local out rc=0

	out=$(t_ns "$EDGE" beam-xdp attach nosuch0 2>&1) || rc=$?
	[[ $rc -ne 0 ]] && grep -q "no such interface 'nosuch0'" <<<"$out" ||
		t_fail "bad interface: rc=$rc, '$out'"
	rc=0
	out=$(t_ns "$EDGE" beam-xdp attach eth0 --mode bogus 2>&1) || rc=$?
	[[ $rc -ne 0 ]] && grep -q "invalid --mode 'bogus'" <<<"$out" || t_fail "bad mode: '$out'"
	# one range in every --port message, 0, negative, signed or spaced alike
	for p in 0 -5 65536 +7 " 5"; do
		rc=0
		out=$(t_ns "$EDGE" beam-xdp attach eth0 --port "$p" 2>&1) || rc=$?
		[[ $rc -eq 2 ]] && grep -q "invalid --port '$p': expected a number from 1 to 65535" <<<"$out" ||
			t_fail "--port $p: rc=$rc '$out'"
	done
	rc=0
	out=$(t_ns "$EDGE" beam-xdp attach eth0 --port 4433 --port 4433 2>&1) || rc=$?
	[[ $rc -eq 2 ]] && grep -q "invalid --port 4433: given twice" <<<"$out" ||
		t_fail "--port 4433 --port 4433: rc=$rc '$out'"
	rc=0
	out=$(t_ns "$EDGE" beam-xdp attach eth0 --initial-burst 0 2>&1) || rc=$?
	[[ $rc -eq 2 ]] && grep -q "invalid --initial-burst 0: .*admits no Initial" <<<"$out" ||
		t_fail "--initial-burst 0: rc=$rc '$out'"
	rc=0
	out=$(t_ns "$EDGE" beam-xdp attach '' 2>&1) || rc=$?
	[[ $rc -eq 2 ]] && grep -q "invalid interface ''" <<<"$out" || t_fail "attach '': rc=$rc '$out'"
	rc=0
	out=$(t_ns "$EDGE" beam-xdp status --pin-root '' 2>&1) || rc=$?
	[[ $rc -eq 2 ]] && grep -q "invalid --pin-root ''" <<<"$out" || t_fail "--pin-root '': rc=$rc '$out'"
	rc=0
	out=$(ip netns exec "$EDGE" "$T_BUILD/beam-xdp" --pin-root /sys/fs/bpf/beam-x attach eth0 2>&1) || rc=$?
	[[ $rc -ne 0 ]] && grep -q "ip netns exec. hides /sys/fs/bpf" <<<"$out" ||
		t_fail "pin root under ip netns exec: rc=$rc '$out'"
	rc=0
	out=$(t_ns "$EDGE" setpriv --reuid=65534 beam-xdp attach eth0 2>&1) || rc=$?
	[[ $rc -ne 0 ]] && grep -q "needs root" <<<"$out" || t_fail "not root: rc=$rc '$out'"
}

# --rx-coalesce-us writes the NAPI deferral of the interface in beam-xdp's own
# network namespace (through a sysfs mounted for it: `nsenter --net` keeps the
# host's /sys). The interface's name exists nowhere else, so writing through the
# wrong sysfs fails here instead of changing another namespace's interface.
test_rx_coalescing() {
	local out rc=0 host_before host_after

	t_veth bxco0 "$EDGE" bxco1 "$PEER" || t_fail "cannot create veth pair"
	host_before=$(cat /sys/class/net/*/gro_flush_timeout /sys/class/net/*/napi_defer_hard_irqs)
	out=$(t_ns "$EDGE" beam-xdp attach bxco0 --rx-coalesce-us 20) || t_fail "attach: $out"
	t_log "$out"
	grep -q "receive coalescing on bxco0: 20 us (was off)" <<<"$out" || t_fail "attach said: $out"
	[[ $(ip netns exec "$EDGE" cat /sys/class/net/bxco0/gro_flush_timeout) == 20000 &&
		$(ip netns exec "$EDGE" cat /sys/class/net/bxco0/napi_defer_hard_irqs) == 1 ]] ||
		t_fail "bxco0 in $EDGE not set: $(ip netns exec "$EDGE" cat /sys/class/net/bxco0/gro_flush_timeout)"
	t_ns "$EDGE" beam-xdp status bxco0 | grep -q "receive coalescing: 20 us" ||
		t_fail "status: $(t_ns "$EDGE" beam-xdp status bxco0)"
	host_after=$(cat /sys/class/net/*/gro_flush_timeout /sys/class/net/*/napi_defer_hard_irqs)
	[[ $host_before == "$host_after" ]] || t_fail "an interface of the host's namespace changed"

	# out of range: refused before anything is attached or written
	out=$(t_ns "$EDGE" beam-xdp attach bxco0 --rx-coalesce-us 10001 2>&1) || rc=$?
	[[ $rc -eq 2 ]] && grep -q "invalid --rx-coalesce-us '10001': expected a number from 0 to 10000" <<<"$out" ||
		t_fail "--rx-coalesce-us 10001: rc=$rc '$out'"
	# without the right to mount a sysfs, the host's /sys is recognised as another
	# namespace's and nothing is written through it
	rc=0
	out=$(nsenter --net="/run/netns/$EDGE" setpriv --bounding-set -sys_admin \
		"$T_BUILD/beam-xdp" attach bxco0 --rx-coalesce-us 30 2>&1) || rc=$?
	[[ $rc -ne 0 ]] && grep -q "another network namespace's" <<<"$out" || t_fail "no CAP_SYS_ADMIN: rc=$rc '$out'"
	[[ $(ip netns exec "$EDGE" cat /sys/class/net/bxco0/gro_flush_timeout) == 20000 ]] ||
		t_fail "the failed attempt changed bxco0"

	# under `ip netns exec` (and on the host) /sys is this namespace's own
	# already: the fresh mount is refused with EBUSY, which proves it. bpffs
	# is hidden there, so the pins go to one mounted for the command alone
	# (they go with it, and the program with them).
	t_veth bxco2 "$EDGE" bxco3 "$PEER" || t_fail "cannot create veth pair"
	out=$(ip netns exec "$EDGE" sh -c "mount -t bpf bpf /sys/fs/bpf &&
		exec $T_BUILD/beam-xdp --pin-root /sys/fs/bpf/t attach bxco2 --rx-coalesce-us 15" 2>&1) ||
		t_fail "under ip netns exec: $out"
	[[ $(ip netns exec "$EDGE" cat /sys/class/net/bxco2/gro_flush_timeout) == 15000 ]] ||
		t_fail "under ip netns exec, bxco2 not set: $out"
	# lo has index 1 and no address in every namespace: without CAP_SYS_ADMIN
	# the host's /sys cannot be told from ours, so nothing is written
	rc=0
	out=$(nsenter --net="/run/netns/$EDGE" setpriv --bounding-set -sys_admin \
		"$T_BUILD/beam-xdp" attach lo --rx-coalesce-us 30 2>&1) || rc=$?
	[[ $rc -ne 0 ]] && grep -q "cannot be told from it" <<<"$out" || t_fail "lo without CAP_SYS_ADMIN: rc=$rc '$out'"
	t_ns "$EDGE" beam-xdp detach lo >/dev/null 2>&1

	out=$(t_ns "$EDGE" beam-xdp attach bxco0 --rx-coalesce-us 0) || t_fail "attach 0: $out"
	grep -q "receive coalescing on bxco0: off (was 20 us)" <<<"$out" || t_fail "attach 0 said: $out"
	[[ $(ip netns exec "$EDGE" cat /sys/class/net/bxco0/gro_flush_timeout) == 0 &&
		$(ip netns exec "$EDGE" cat /sys/class/net/bxco0/napi_defer_hard_irqs) == 0 ]] ||
		t_fail "--rx-coalesce-us 0 left it on"
	t_ns "$EDGE" beam-xdp detach bxco0 >/dev/null
}

# A kernel without BTF: hide /sys/kernel/btf in a mount namespace of its own.
test_no_btf_is_named() {
	local out rc=0

	command -v unshare >/dev/null || t_skip "unshare missing"
	out=$(unshare -m bash -c "mount -t tmpfs none /sys/kernel/btf &&
		nsenter --net=/run/netns/$EDGE $T_BUILD/beam-xdp attach eth0" 2>&1) || rc=$?
	[[ $rc -ne 0 ]] && grep -q "kernel has no BTF (/sys/kernel/btf/vmlinux: No such file or directory)" <<<"$out" ||
		t_fail "no BTF: rc=$rc '$out'"
	! t_ns "$EDGE" ip link show eth0 | grep -q xdp || t_fail "a program got attached without BTF"
}

t_test test_attach_native "beam-xdp attach --mode native pins link and maps (0700), XDP runs on eth0"
t_test test_udp_counted "real UDP from the peer: bpftool and beam-xdp flows agree, short Initial dropped"
t_test test_reattach_keeps_counts "attach again replaces the program in place; counts survive"
t_test test_ipv6_flow "IPv6 UDP from the peer is counted under its own addresses"
t_test test_reattach_under_traffic "2000 datagrams across two reattaches: every one counted"
t_test test_config_readable_and_rate_zero "config ports in host order for bpftool; --initial-rate 0 is off; burst alone"
t_test test_failed_mode_change_restores "a failed mode change puts the old program back; ERANGE explained"
t_test test_foreign_program_refused "a foreign XDP program is refused and named; --force replaces it"
t_test test_renamed_interface_keeps_its_pins "a renamed interface keeps beam's program and pins: found by ifindex, moved, old name refused"
t_test test_renamed_onto_another_name "an interface renamed onto another's old name: each keeps its own pins, detach takes its own"
t_test test_detach_leaves_nothing "detach removes program and pins; a second detach is a no-op"
t_test test_errors_name_the_cause "errors name the interface, the option, missing root"
t_test test_rx_coalescing "--rx-coalesce-us sets the NAPI deferral in beam-xdp's namespace, 0 clears it"
t_test test_no_btf_is_named "a kernel without BTF: a clear error, nothing attached"
t_done
