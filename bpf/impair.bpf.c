// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * impair.bpf.c - link impairment for tests: the kernel here has no netem, so
 * loss and reordering come from this tc program on a veth's egress.
 *
 * Loss: a packet is dropped with probability loss_ppm / 1e6.
 * Reordering: a packet is sent to a slow HTB class (reorder_classid, through
 * skb->priority) with probability reorder_ppm / 1e6, where it waits behind
 * the class's rate while later packets take the fast class and overtake it.
 * Black hole: an IP packet longer than max_len bytes (IP header included) is
 * dropped, silently: no ICMP "packet too big" goes back, as on a path whose
 * MTU fell behind a filter. A GSO packet (a train not yet cut into segments)
 * is judged by the length of its segments.
 * Only IPv4 and IPv6 are impaired; ARP and the rest pass, so links stay up.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u32 loss_ppm = 0;
const volatile __u32 reorder_ppm = 0;
const volatile __u32 reorder_classid = 0;
const volatile __u32 max_len = 0; /* 0: no limit */

enum impair_counter {
	IMPAIR_SEEN = 0,
	IMPAIR_DROPPED,
	IMPAIR_REORDERED,
	IMPAIR_TOO_BIG,
	IMPAIR__MAX,
};

/* What the program did, per CPU: key = enum impair_counter, value = packets. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IMPAIR__MAX);
	__type(key, __u32);
	__type(value, __u64);
} impair_stats SEC(".maps");

static __always_inline void count(__u32 what)
{
	__u64 *v = bpf_map_lookup_elem(&impair_stats, &what);

	if (v)
		*v += 1;
}

/*
 * Bytes of IP, UDP or TCP headers in front of a GSO packet's payload, 0 if
 * they cannot be read (the packet is then judged whole).
 */
static __always_inline __u32 gso_headers(struct __sk_buff *skb)
{
	__u32 l3, proto;
	struct tcphdr th;
	__u8 b[sizeof(struct iphdr)];

	if (bpf_skb_load_bytes(skb, ETH_HLEN, b, sizeof(struct iphdr)))
		return 0;
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		l3 = (b[0] & 0xf) * 4;
		proto = b[9];
	} else {
		l3 = sizeof(struct ipv6hdr);
		proto = b[6]; /* extension headers are not walked: judged whole */
	}
	if (proto == IPPROTO_UDP)
		return l3 + sizeof(struct udphdr);
	if (proto != IPPROTO_TCP || l3 > 60)
		return 0;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + l3, &th, sizeof(th)))
		return 0;
	return l3 + th.doff * 4;
}

/* Length of the IP packet(s) @skb puts on the wire: a GSO packet's segments. */
static __always_inline __u32 ip_len(struct __sk_buff *skb)
{
	__u32 hdrs;

	if (skb->gso_segs > 1 && skb->gso_size) {
		hdrs = gso_headers(skb);
		if (hdrs)
			return hdrs + skb->gso_size;
	}
	return skb->len > ETH_HLEN ? skb->len - ETH_HLEN : 0;
}

SEC("tc")
int impair(struct __sk_buff *skb)
{
	__u32 dice;

	if (skb->protocol != bpf_htons(ETH_P_IP) && skb->protocol != bpf_htons(ETH_P_IPV6))
		return TC_ACT_OK;
	count(IMPAIR_SEEN);

	if (max_len && ip_len(skb) > max_len) {
		count(IMPAIR_TOO_BIG);
		return TC_ACT_SHOT;
	}

	dice = bpf_get_prandom_u32() % 1000000;
	if (dice < loss_ppm) {
		count(IMPAIR_DROPPED);
		return TC_ACT_SHOT;
	}
	if (reorder_classid && dice < loss_ppm + reorder_ppm) {
		/* clsact egress runs before the root qdisc, and HTB looks at
		 * skb->priority before its filters: this picks the slow class. */
		skb->priority = reorder_classid;
		count(IMPAIR_REORDERED);
	}
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
