// SPDX-License-Identifier: MIT
/*
 * xdp_empty.bpf.c - an XDP program that passes every frame: the reference the
 * XDP benchmark holds beam_xdp against, in the same attach mode.
 */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_empty(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
