#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_impair.sh - the test link impairment (bpf/impair.bpf.c) really loses
# and reorders packets, so the fault tests that rely on it mean something.
source "$(dirname "$0")/lib.sh"
t_require_root

A=$(t_netns a)
B=$(t_netns b)
t_veth eth0 "$A" eth0 "$B"
ip -n "$A" addr add 10.77.0.1/24 dev eth0
ip -n "$B" addr add 10.77.0.2/24 dev eth0
IMPAIR=$T_BUILD/tools/impair
SEQ=$T_ROOT/tests/tools/udp-seq.py

# send_and_count N: N datagrams from A to B; prints "received R inversions I".
send_and_count()
{
	t_bg "$B" recv python3 "$SEQ" recv 5001 "$1" 2
	t_wait_for 5 grep -q ready "$T_DIR/recv.log"
	t_ns "$A" python3 "$SEQ" send 10.77.0.2 5001 "$1"
	t_wait_for 10 grep -q received "$T_DIR/recv.log"
	grep received "$T_DIR/recv.log"
}

test_impair_loss_drops_about_the_asked_share()
{
	local got

	t_ns "$A" "$IMPAIR" attach eth0 --loss 20
	got=$(send_and_count 4000 | awk '{ print $2 }')
	t_log "20% loss: $got of 4000 arrived"
	t_ns "$A" "$IMPAIR" stats eth0 | sed 's/^/# /'
	# Binomial(4000, 0.8): mean 3200, sd 25; a wide window never flakes.
	[[ $got -ge 3000 && $got -le 3400 ]]
}

test_impair_reorder_keeps_every_packet()
{
	local line got inv

	t_ns "$A" "$IMPAIR" attach eth0 --reorder 10 --slow-rate 1mbit
	line=$(send_and_count 2000)
	got=$(awk '{ print $2 }' <<<"$line")
	inv=$(awk '{ print $4 }' <<<"$line")
	t_log "10% reorder: $got of 2000 arrived, $inv inversions"
	[[ $got -eq 2000 && $inv -gt 20 ]]
}

# send_sized N SIZE PORT: N datagrams of SIZE bytes from A to B; prints how many arrived
send_sized()
{
	t_bg "$B" "recv$3" python3 "$SEQ" recv "$3" "$1" 1
	t_wait_for 5 grep -q ready "$T_DIR/recv$3.log"
	t_ns "$A" python3 "$SEQ" send 10.77.0.2 "$3" "$1" "$2"
	t_wait_for 10 grep -q received "$T_DIR/recv$3.log"
	awk '/received/ { print $2 }' "$T_DIR/recv$3.log"
}

test_impair_max_len_is_a_silent_black_hole()
{
	local fit big icmp0 icmp1 dropped

	# 1272 bytes of UDP payload make a 1300-byte IPv4 packet, 1273 one more
	t_ns "$A" "$IMPAIR" attach eth0 --max-len 1300 >/dev/null
	icmp0=$(t_ns "$A" awk '$1 == "Icmp:" && $2 ~ /^[0-9]/ { print $2 }' /proc/net/snmp)
	fit=$(send_sized 200 1272 5002)
	big=$(send_sized 200 1273 5003)
	icmp1=$(t_ns "$A" awk '$1 == "Icmp:" && $2 ~ /^[0-9]/ { print $2 }' /proc/net/snmp)
	dropped=$(t_ns "$A" "$IMPAIR" stats eth0 | awk '$1 == "too_big" { print $2 }')
	t_log "max-len 1300: $fit of 200 1300-byte packets arrived, $big of 200 1301-byte ones; too_big $dropped"
	[[ $fit -eq 200 && $big -eq 0 && $dropped -eq 200 ]] || return 1
	# nothing told the sender: no ICMP came back to A
	[[ $icmp0 == "$icmp1" ]] || t_fail "A received ICMP messages: $icmp0 -> $icmp1"
}

test_impair_detach_restores_the_link()
{
	local got

	t_ns "$A" "$IMPAIR" attach eth0 --loss 50
	t_ns "$A" "$IMPAIR" detach eth0
	got=$(send_and_count 1000 | awk '{ print $2 }')
	[[ $got -eq 1000 ]]
	! tc -n "$A" qdisc show dev eth0 | grep -qE 'htb|clsact'
}

t_test test_impair_loss_drops_about_the_asked_share "--loss 20 drops close to 20% of datagrams"
t_test test_impair_reorder_keeps_every_packet "--reorder 10 reorders datagrams and loses none"
t_test test_impair_max_len_is_a_silent_black_hole "--max-len 1300 drops longer IP packets, sends no ICMP"
t_test test_impair_detach_restores_the_link "detach removes the filter: nothing is lost"
t_done
