// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * vlantag.bpf.c - a VLAN for tests on kernels without 802.1Q devices: on a
 * host's link, tag every frame it sends (one tag, or 802.1ad outside 802.1Q)
 * and strip the tags of the frames it receives, as a switch port in that VLAN
 * would. The tags are pushed as offload metadata; the link must not offload
 * them (a macvlan does not: the kernel writes them into the frame).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u16 outer_proto = ETH_P_8021Q; /* host order */
const volatile __u16 outer_vid = 0;
const volatile __u16 inner_vid = 0;
const volatile __u8 ntags = 1; /* 2: outer_proto/outer_vid around 802.1Q inner_vid */

SEC("tc")
int vlantag_egress(struct __sk_buff *skb)
{
	if (ntags == 2 && bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), inner_vid))
		return TC_ACT_SHOT;
	if (bpf_skb_vlan_push(skb, bpf_htons(outer_proto), outer_vid))
		return TC_ACT_SHOT;
	return TC_ACT_OK;
}

SEC("tc")
int vlantag_ingress(struct __sk_buff *skb)
{
	/* the kernel has moved the outer tag to the metadata; each pop takes
	 * it and moves the next one there */
	bpf_skb_vlan_pop(skb);
	if (ntags == 2)
		bpf_skb_vlan_pop(skb);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
