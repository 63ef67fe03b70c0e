// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * vlantag.bpf.c - a VLAN for tests on kernels without 802.1Q devices: on a
 * host's link, tag every frame it sends (one tag, or 802.1ad outside 802.1Q)
 * and strip the tags of the frames it receives, as a switch port in that VLAN
 * would. The tags go into the frame itself: a tag pushed as offload metadata
 * (bpf_skb_vlan_push) stays metadata across a veth when the device offloads
 * it, and XDP on the far side then sees an untagged frame, sometimes.
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

/* Insert one tag (@proto, @vid) right after the MAC addresses, in the frame;
 * where the room cannot be made (not IP: ARP), as metadata. */
static __always_inline int put_tag(struct __sk_buff *skb, __u16 proto, __u16 vid)
{
	__be16 type, tag[2] = {bpf_htons(proto), bpf_htons(vid)};

	if (bpf_skb_load_bytes(skb, 12, &type, sizeof(type)))
		return -1;
	if (bpf_skb_adjust_room(skb, 4, BPF_ADJ_ROOM_MAC, 0))
		return bpf_skb_vlan_push(skb, bpf_htons(proto), vid) ? -1 : 0;
	/* [dst src type][room] -> [dst src proto tci type] */
	if (bpf_skb_store_bytes(skb, 12, tag, sizeof(tag), 0) ||
	    bpf_skb_store_bytes(skb, 16, &type, sizeof(type), 0))
		return -1;
	return 0;
}

SEC("tc")
int vlantag_egress(struct __sk_buff *skb)
{
	if (ntags == 2 && put_tag(skb, ETH_P_8021Q, inner_vid))
		return TC_ACT_SHOT;
	if (put_tag(skb, outer_proto, outer_vid))
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
