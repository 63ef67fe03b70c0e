// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * impair.bpf.c - link impairment for tests: the kernel here has no netem, so
 * loss and reordering come from this tc program on a veth's egress.
 *
 * Loss: a packet is dropped with probability loss_ppm / 1e6.
 * Reordering: a packet is sent to a slow HTB class (reorder_classid, through
 * skb->priority) with probability reorder_ppm / 1e6, where it waits behind
 * the class's rate while later packets take the fast class and overtake it.
 * Only IPv4 and IPv6 are impaired; ARP and the rest pass, so links stay up.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

const volatile __u32 loss_ppm = 0;
const volatile __u32 reorder_ppm = 0;
const volatile __u32 reorder_classid = 0;

enum impair_counter {
	IMPAIR_SEEN = 0,
	IMPAIR_DROPPED,
	IMPAIR_REORDERED,
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

SEC("tc")
int impair(struct __sk_buff *skb)
{
	__u32 dice;

	if (skb->protocol != bpf_htons(ETH_P_IP) && skb->protocol != bpf_htons(ETH_P_IPV6))
		return TC_ACT_OK;
	count(IMPAIR_SEEN);

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
