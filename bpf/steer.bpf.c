// SPDX-License-Identifier: MIT
/*
 * steer.bpf.c - beamd's sk_reuseport program: every worker has a UDP socket
 * on the QUIC port, and this program picks the socket of the worker that
 * owns the packet's connection, by the destination CID (beam_cid_worker()
 * in beam_maps.h). What it cannot read goes back to the kernel's own hash;
 * it never drops.
 */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>

#include "beam_maps.h"

#define UDP_HDR_LEN  8
#define LONG_HDR_LEN 6 /* first octet, version, DCID length */

/* workers: worker id -> its UDP socket */
struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, BEAM_WORKERS_MAX);
	__type(key, __u32);
	__type(value, __u64);
} workers SEC(".maps");

/* steer_stats: enum beam_steer -> datagrams */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BEAM_STEER__MAX);
	__type(key, __u32);
	__type(value, __u64);
} steer_stats SEC(".maps");

/* set by beamd between open and load */
const volatile __u32 nworkers = 1;

static __always_inline int count(__u32 what)
{
	__u64 *n = bpf_map_lookup_elem(&steer_stats, &what);

	if (n)
		*n += 1;
	return SK_PASS;
}

SEC("sk_reuseport")
int steer(struct sk_reuseport_md *md)
{
	__u8 cid[BEAM_CID_MAX_LEN] = {0};
	__u8 hdr[LONG_HDR_LEN];
	__u32 off = UDP_HDR_LEN, len, avail, key;

	/* md->len counts from the UDP header, where the program's offsets start */
	if (md->len < UDP_HDR_LEN + LONG_HDR_LEN)
		return count(BEAM_STEER_KERNEL);
	avail = md->len - UDP_HDR_LEN;
	if (bpf_skb_load_bytes(md, off, hdr, sizeof(hdr)))
		return count(BEAM_STEER_KERNEL);
	if (hdr[0] & 0x80) {
		/* long header (RFC 9000 17.2): DCID length, then the DCID */
		len = hdr[5];
		if (len > BEAM_CID_MAX_LEN || len > avail - LONG_HDR_LEN)
			return count(BEAM_STEER_KERNEL);
		off += LONG_HDR_LEN;
	} else {
		/* short header (17.3): no length; ours are BEAM_CID_LEN long */
		len = BEAM_CID_LEN;
		if (avail < 1 + BEAM_CID_LEN)
			return count(BEAM_STEER_KERNEL);
		off += 1;
	}
	if (len) {
		/* the verifier wants the length bounded away from 0 and the buffer */
		if (len < 1 || len > BEAM_CID_MAX_LEN)
			return count(BEAM_STEER_KERNEL);
		if (bpf_skb_load_bytes(md, off, cid, len))
			return count(BEAM_STEER_KERNEL);
	}
	key = beam_cid_worker(cid, len, nworkers);
	if (bpf_sk_select_reuseport(md, &workers, &key, 0))
		return count(BEAM_STEER_KERNEL);
	if (len == BEAM_CID_LEN && cid[0] == BEAM_CID_FIRST_OCTET &&
	    cid[BEAM_CID_WORKER_OFFSET] < nworkers)
		return count(BEAM_STEER_CID);
	return count(BEAM_STEER_HASH);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
