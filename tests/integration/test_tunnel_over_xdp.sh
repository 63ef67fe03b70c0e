#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_tunnel_over_xdp.sh - every tunnel test of test_tunnel.sh (curl, 1 GiB
# both ways, 1,000 connections, restarts, ...) again with `beamd --xdp eth1`:
# the agents' QUIC packets arrive through beam's XDP program and an AF_XDP
# socket, beamd answers through AF_XDP TX, and a last test checks the stats
# map counted them as XSK redirects.
TUN_XDP=1 exec bash "$(dirname "$0")/test_tunnel.sh" "$@"
