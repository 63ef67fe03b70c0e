// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * natrebind.bpf.c - a NAT rebinding for tests: on the agent's link, move the
 * UDP source port of its packets to the edge by @delta on egress and move the
 * destination port of the answers back on ingress, as a NAT that lost its
 * mapping and picked a new port would. The agent never knows; the edge sees
 * its peer's address change mid-connection. IPv4 and IPv6, no IP options
 * (the test links have none).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u16 edge_port = 4433; /* host order */
const volatile __u16 delta = 1000;

/* Offset of the UDP header, or -1 when the packet is not plain UDP. */
static __always_inline int udp_off(struct __sk_buff *skb)
{
	void *end = (void *)(long)skb->data_end;
	void *data = (void *)(long)skb->data;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
			return -1;
		return sizeof(*eth) + sizeof(*ip);
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_UDP)
			return -1;
		return sizeof(*eth) + sizeof(*ip6);
	}
	return -1;
}

static __always_inline void rewrite(struct __sk_buff *skb, int off, int field, __be16 from,
				    __be16 to)
{
	bpf_l4_csum_replace(skb, off + offsetof(struct udphdr, check), from, to,
			    BPF_F_MARK_MANGLED_0 | sizeof(__u16));
	bpf_skb_store_bytes(skb, off + field, &to, sizeof(to), BPF_F_RECOMPUTE_CSUM);
}

SEC("tc")
int rebind_egress(struct __sk_buff *skb)
{
	int off = udp_off(skb);
	struct udphdr *udp;
	__be16 old;

	if (off < 0 || bpf_skb_pull_data(skb, off + sizeof(*udp)))
		return TC_ACT_OK;
	udp = (void *)(long)skb->data + off;
	if ((void *)(udp + 1) > (void *)(long)skb->data_end || udp->dest != bpf_htons(edge_port))
		return TC_ACT_OK;
	old = udp->source;
	rewrite(skb, off, offsetof(struct udphdr, source), old, bpf_htons(bpf_ntohs(old) + delta));
	return TC_ACT_OK;
}

SEC("tc")
int rebind_ingress(struct __sk_buff *skb)
{
	int off = udp_off(skb);
	struct udphdr *udp;
	__be16 old;

	if (off < 0 || bpf_skb_pull_data(skb, off + sizeof(*udp)))
		return TC_ACT_OK;
	udp = (void *)(long)skb->data + off;
	if ((void *)(udp + 1) > (void *)(long)skb->data_end || udp->source != bpf_htons(edge_port))
		return TC_ACT_OK;
	old = udp->dest;
	rewrite(skb, off, offsetof(struct udphdr, dest), old, bpf_htons(bpf_ntohs(old) - delta));
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
