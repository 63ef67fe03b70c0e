#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_xsk.sh - the AF_XDP back end on a veth pair: beam's XDP program steers
# QUIC-looking UDP to an AF_XDP socket, bench/xsk-echo (pktio_xsk) answers
# through AF_XDP TX with headers and checksums it built itself, and a client
# in the peer namespace checks every answer byte for byte. The peer kernel
# verifies our IPv4 and UDP checksums: a wrong one is an answer that never
# arrives. Also: IPv6, the stats map counting TO_XSK, and a
# SIGKILLed socket owner replaced without any cleanup.
source "$(dirname "$0")/lib.sh"
t_require_root
command -v python3 >/dev/null || t_skip_all "python3 missing"
command -v ethtool >/dev/null || t_skip_all "ethtool missing"

EDGE=$(t_netns edge)
PEER=$(t_netns peer)
t_veth eth0 "$EDGE" peer0 "$PEER"
ip -n "$EDGE" addr add 10.77.0.1/24 dev eth0
ip -n "$PEER" addr add 10.77.0.2/24 dev peer0
ip -n "$EDGE" addr add fd00:77::1/64 dev eth0 nodad
ip -n "$PEER" addr add fd00:77::2/64 dev peer0 nodad
# A local sender on veth leaves the UDP checksum to "hardware" (CHECKSUM_PARTIAL):
# the frame AF_XDP copies carries only the pseudo-header sum. Real NICs hand XDP
# complete frames; make the peer complete them too, so that every checksum is
# verified (test_xsk_partial_checksum turns it back on).
t_ns "$PEER" ethtool -K peer0 tx off >/dev/null

ECHO=$T_BUILD/bench/xsk-echo
CHECK=$T_ROOT/tests/tools/udp-echo-check.py

# Packets counted under reason $1 (a name of `beam-xdp stats --json`).
stat_packets()
{
	t_ns "$EDGE" beam-xdp stats eth0 --json |
		python3 -c "import json,sys; print(json.load(sys.stdin)['reasons']['$1']['packets'])"
}

# Frames counted under steering miss cause $1 (`beam-xdp stats --json`).
miss_packets()
{
	t_ns "$EDGE" beam-xdp stats eth0 --json |
		python3 -c "import json,sys; print(json.load(sys.stdin)['steer_misses']['$1'])"
}

# start_echo NAME [ARGS]: xsk-echo on eth0 queue 0, wait until it is registered.
# One left running by a failed test is stopped first: the queue takes one socket.
start_echo()
{
	local name=$1 pid try
	shift
	for pid in $(cat "$T_DIR/echo.pids" 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null && t_wait_for 5 bash -c "! kill -0 $pid 2>/dev/null"
	done
	# the kernel frees a closed AF_XDP socket's queue a moment after its
	# process is gone: EBUSY until then
	for try in $(seq 1 50); do
		t_bg "$EDGE" "$name" "$ECHO" eth0 "$@"
		cat "$T_DIR/$name.pid" >"$T_DIR/echo.pids"
		t_wait_for 5 grep -q 'ready\|resource busy' "$T_DIR/$name.log" || break
		grep -q ready "$T_DIR/$name.log" && return 0
		sleep 0.1
	done
	cat "$T_DIR/$name.log" >&2
	return 1
}

# stop_echo NAME: SIGTERM, wait for its counters line, print it.
stop_echo()
{
	kill -TERM "$(cat "$T_DIR/$1.pid")"
	t_wait_for 5 grep -q '^mode ' "$T_DIR/$1.log"
	grep -E '^(mode|refused)' "$T_DIR/$1.log"
}

# beam's XDP program, steering UDP port 4433; no Initial limit (not QUIC here).
t_ns "$EDGE" beam-xdp attach eth0 --port 4433 --no-rate-limit >/dev/null

test_xsk_echo_ipv4()
{
	local before after line

	before=$(stat_packets to_xsk)
	start_echo echo4
	t_ns "$PEER" python3 "$CHECK" 10.77.0.1 4433 300
	after=$(stat_packets to_xsk)
	line=$(stop_echo echo4)
	t_log "$line; stats TO_XSK +$((after - before))"
	# Every datagram went through the redirect, not the kernel's socket path.
	[[ $((after - before)) -ge 300 ]]
	grep -q 'mode copy rx 300 tx 300 frames_tx 300 meta 300 bad 0 no_route 0 frames ok partial 0' <<<"$line"
}

test_xsk_echo_ipv6()
{
	local line

	start_echo echo6
	t_ns "$PEER" python3 "$CHECK" fd00:77::1 4433 200 --max 1380
	line=$(stop_echo echo6)
	t_log "$line"
	grep -q 'rx 200 tx 200 .* bad 0 .* frames ok' <<<"$line"
}

test_xsk_gso_split()
{
	local line

	# Each answer is one GSO send of 5 copies: 5 frames, each a whole datagram.
	start_echo gso --gso-copies 5
	t_ns "$PEER" python3 "$CHECK" 10.77.0.1 4433 100 --copies 5 --max 1400
	line=$(stop_echo gso)
	t_log "$line"
	grep -q 'rx 100 tx 100 frames_tx 500 .* bad 0 .* frames ok' <<<"$line"
}

test_xsk_flood_then_still_answers()
{
	local line

	# More datagrams than the UMEM has frames, as fast as Python sends:
	# some are dropped, but no frame may leak and reception must go on.
	start_echo flood
	t_ns "$PEER" python3 "$CHECK" 10.77.0.1 4433 50 --flood 20000
	line=$(stop_echo flood)
	t_log "$line"
	grep -q 'bad 0 .* frames ok' <<<"$line"
}

test_xsk_partial_checksum()
{
	local line

	t_ns "$PEER" ethtool -K peer0 tx on >/dev/null
	start_echo partial
	t_ns "$PEER" python3 "$CHECK" 10.77.0.1 4433 40
	line=$(stop_echo partial)
	t_log "$line"
	grep -q 'rx 40 tx 40 .* bad 0 .* frames ok partial 40' <<<"$line"
	# --strict-csum refuses them: nothing comes back.
	start_echo strict --strict-csum
	! t_ns "$PEER" python3 "$CHECK" 10.77.0.1 4433 3 --timeout 0.3 >/dev/null 2>&1
	line=$(stop_echo strict)
	t_ns "$PEER" ethtool -K peer0 tx off >/dev/null
	grep -q 'refused bad UDP checksum: 3' <<<"$line"
}

test_xsk_gets_no_other_port()
{
	local line

	# Port 9 is not beam's: the program passes it, the socket never sees it.
	start_echo echoother
	! t_ns "$PEER" python3 "$CHECK" 10.77.0.1 9 3 --timeout 0.3 >/dev/null 2>&1
	line=$(stop_echo echoother)
	grep -q 'rx 0 tx 0' <<<"$line"
}

test_xsk_second_socket_on_queue_refused()
{
	start_echo first
	! t_ns "$EDGE" "$ECHO" eth0 --count 1 >"$T_DIR/second.log" 2>&1
	t_log "$(grep -m1 'failed' "$T_DIR/second.log")"
	grep -q 'Device or resource busy' "$T_DIR/second.log"
	stop_echo first >/dev/null
}

test_xsk_sigkill_then_restart()
{
	start_echo victim
	t_ns "$PEER" python3 "$CHECK" 10.77.0.1 4433 20
	kill -KILL "$(cat "$T_DIR/victim.pid")"
	# No cleanup in between: the kernel dropped the socket and its xsks entry.
	start_echo successor
	t_ns "$PEER" python3 "$CHECK" 10.77.0.1 4433 50 --seed 7
	stop_echo successor | grep -q 'rx 50 tx 50 .* frames ok'
}

# Two beam ports on the program, the socket's owner listens on one: frames for
# the other that reach its queue are dropped and counted, never answered.
test_xsk_takes_only_its_port()
{
	local line

	t_ns "$EDGE" beam-xdp attach eth0 --port 4433 --port 4434 --no-rate-limit >/dev/null
	start_echo own --port 4433
	! t_ns "$PEER" python3 "$CHECK" 10.77.0.1 4434 5 --timeout 0.3 >/dev/null 2>&1
	t_ns "$PEER" python3 "$CHECK" 10.77.0.1 4433 10
	line=$(stop_echo own)
	t_ns "$EDGE" beam-xdp attach eth0 --port 4433 >/dev/null
	t_log "$line"
	grep -q 'rx 10 tx 10 .* frames ok' <<<"$line" && grep -q 'refused other port: 5' <<<"$line"
}

# Steering on and no AF_XDP socket on the queue: QUIC goes to the kernel as
# to_socket, and beam-xdp stats says why (no_socket), in JSON and as a row.
test_xsk_steer_miss_no_socket()
{
	local before after sock_before sock_after row pid

	for pid in $(cat "$T_DIR/echo.pids" 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null && t_wait_for 5 bash -c "! kill -0 $pid 2>/dev/null"
	done
	before=$(miss_packets no_socket) && sock_before=$(stat_packets to_socket)
	! t_ns "$PEER" python3 "$CHECK" 10.77.0.1 4433 5 --timeout 0.2 >/dev/null 2>&1
	after=$(miss_packets no_socket) && sock_after=$(stat_packets to_socket)
	row=$(t_ns "$EDGE" beam-xdp stats eth0 | awk '$1 == "to_socket:no_socket" { print $2 }')
	t_log "no_socket +$((after - before)), to_socket +$((sock_after - sock_before)), row $row"
	[[ $((after - before)) -eq 5 && $((sock_after - sock_before)) -eq 5 && $row == "$after" ]]
}

t_test test_xsk_echo_ipv4 "300 IPv4 datagrams answered via AF_XDP byte for byte, stats count TO_XSK"
t_test test_xsk_echo_ipv6 "200 IPv6 datagrams answered via AF_XDP byte for byte"
t_test test_xsk_gso_split "a GSO send of 5 segments leaves as 5 frames, each checked"
t_test test_xsk_flood_then_still_answers "a flood of 20000 leaks no frame and reception goes on"
t_test test_xsk_partial_checksum "a local sender's partial checksums are taken, or refused when strict"
t_test test_xsk_gets_no_other_port "UDP to another port stays with the kernel"
t_test test_xsk_second_socket_on_queue_refused "a second socket on a taken queue is refused with EBUSY"
t_test test_xsk_sigkill_then_restart "after SIGKILL a new process takes the queue without cleanup"
t_test test_xsk_steer_miss_no_socket "no socket on the queue: to_socket, and stats count no_socket"
t_test test_xsk_takes_only_its_port "frames for a port not the socket owner's are dropped and counted"
t_done
