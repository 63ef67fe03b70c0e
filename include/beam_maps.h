/* SPDX-License-Identifier: MIT */
/*
 * beam_maps.h - the contract between the XDP program (bpf/) and user space
 * (user/): key and value of every map, the verdict and reason enums, limits,
 * and the layout of the connection IDs beamd issues.
 *
 * Compiles on both sides: only <linux/types.h> types (or vmlinux.h's, when a
 * BPF program includes that first), fixed widths, explicit padding, no
 * pointers. Nothing here is defined a second time anywhere else.
 */
#ifndef BEAM_MAPS_H
#define BEAM_MAPS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Pins live in BEAM_PIN_ROOT/<ifname>/; the BEAM_PIN_ROOT environment
 * variable or --pin-root overrides the root (tests use one per run). */
#define BEAM_PIN_ROOT_DEFAULT "/sys/fs/bpf/beam"

#define BEAM_MAX_PORTS	 8     /* UDP ports the XDP program treats as beam's */
#define BEAM_FLOWS_MAX	 65536 /* entries in the flows LRU */
#define BEAM_CONNS_MAX	 65536 /* live QUIC connections beamd tracks */
#define BEAM_RATE_MAX	 65536 /* sources tracked by the Initial rate limiter */
#define BEAM_XSKS_MAX	 64    /* RX queues that can carry an AF_XDP socket */
#define BEAM_CID_MAX_LEN 20    /* RFC 9000 section 17.2: at most 20 bytes */

/*
 * Connection IDs beamd issues follow QUIC-LB (draft-ietf-quic-load-balancers):
 * octet 0 carries the config rotation bits (top 3) and the ID length minus
 * one (low 5), octet 1 the id of the worker that owns the connection, the rest
 * is random. Steering needs no lookup and survives NAT rebinding.
 */
#define BEAM_CID_LEN	       16
#define BEAM_CID_ROTATION      0u
#define BEAM_CID_WORKER_OFFSET 1

/* The first octet of every CID beamd issues. */
#define BEAM_CID_FIRST_OCTET ((__u8)((BEAM_CID_ROTATION << 5) | ((BEAM_CID_LEN - 1) & 0x1f)))
#define BEAM_WORKERS_MAX     64 /* beamd --workers; the sk_reuseport map's size */

/*
 * The worker that owns a QUIC packet with destination CID @dcid (@len
 * bytes, in a buffer of BEAM_CID_MAX_LEN zeroed past @len), among
 * @nworkers (>= 1): the worker octet of a CID that has beamd's layout and
 * names a worker that exists; else a hash of the length and the CID bytes,
 * so every packet a client sends with its own first DCID (Initial, 0-RTT)
 * goes to one worker. The sk_reuseport program, the XDP program and the
 * tests all use this one function.
 */
static inline __u32 beam_cid_worker(const __u8 dcid[BEAM_CID_MAX_LEN], __u32 len, __u32 nworkers)
{
	__u32 h = 2166136261u ^ len, i;

	if (nworkers <= 1)
		return 0;
	if (len == BEAM_CID_LEN && dcid[0] == BEAM_CID_FIRST_OCTET &&
	    dcid[BEAM_CID_WORKER_OFFSET] < nworkers)
		return dcid[BEAM_CID_WORKER_OFFSET];
	/* FNV-1a over the whole zero-padded buffer: a loop with no exit that
	 * depends on the data costs the verifier one pass, not one per length */
	for (i = 0; i < BEAM_CID_MAX_LEN; i++)
		h = (h ^ dcid[i]) * 16777619u;
	return h % nworkers;
}

/* steer_stats: per-CPU array of the sk_reuseport program, key = enum
 * beam_steer, value = datagrams (__u64). */
enum beam_steer {
	BEAM_STEER_CID = 0, /* by the worker octet of one of beamd's CIDs */
	BEAM_STEER_HASH,    /* by the hash of a client-chosen CID */
	BEAM_STEER_KERNEL,  /* not QUIC enough to read, or no socket: the kernel's hash */
	BEAM_STEER__MAX,
};

/* What the XDP program did with a frame. */
enum beam_verdict {
	BEAM_VERDICT_PASS = 0,
	BEAM_VERDICT_DROP,
	BEAM_VERDICT_REDIRECT,
	BEAM_VERDICT__MAX,
};

/* Why: the index of the stats map. Each reason belongs to one verdict. */
enum beam_reason {
	BEAM_REASON_NOT_IP = 0,	     /* pass: ARP and other non-IP traffic */
	BEAM_REASON_NOT_UDP,	     /* pass: IP, but not UDP */
	BEAM_REASON_OTHER_PORT,	     /* pass: UDP to a port that is not beam's */
	BEAM_REASON_FRAGMENT,	     /* pass: an IP fragment, never parsed as UDP */
	BEAM_REASON_UNKNOWN_VERSION, /* pass: beamd answers with Version Negotiation */
	BEAM_REASON_TO_SOCKET,	     /* pass: QUIC for beamd's UDP socket */
	BEAM_REASON_TO_XSK,	     /* redirect: QUIC to this queue's AF_XDP socket */
	BEAM_REASON_MALFORMED,	     /* drop: truncated or inconsistent headers */
	BEAM_REASON_SHORT_INITIAL,   /* drop: client Initial in a datagram < 1200 bytes */
	BEAM_REASON_INITIAL_RATE,    /* drop: Initials from one source over the rate */
	BEAM_REASON_BAD_HEADER,	     /* pass: L2/L3/UDP headers cut short or inconsistent
				      * before the destination port is known; the kernel
				      * judges those, beam cannot tell they were its own */
	BEAM_REASON__MAX,
};

static inline enum beam_verdict beam_reason_verdict(enum beam_reason reason)
{
	switch (reason) {
	case BEAM_REASON_TO_XSK:
		return BEAM_VERDICT_REDIRECT;
	case BEAM_REASON_MALFORMED:
	case BEAM_REASON_SHORT_INITIAL:
	case BEAM_REASON_INITIAL_RATE:
		return BEAM_VERDICT_DROP;
	default:
		return BEAM_VERDICT_PASS;
	}
}

/*
 * steer_misses: per-CPU array, key = enum beam_steer_miss, value = frames
 * (__u64). Why a frame counted as BEAM_REASON_TO_SOCKET was not redirected
 * although BEAM_CFG_STEER is on: the first of the checks below that failed,
 * in the order the program makes them. Nothing is counted with steering off.
 */
enum beam_steer_miss {
	BEAM_STEER_MISS_OTHER_PORT = 0, /* a port of another beamd than xsk_port's */
	BEAM_STEER_MISS_TOO_BIG,	/* frame and metadata exceed BEAM_XSK_FRAME_SIZE */
	BEAM_STEER_MISS_OTHER_WORKER,	/* the DCID names another worker than the queue's */
	BEAM_STEER_MISS_NO_SOCKET,	/* no AF_XDP socket on the queue, or it went away */
	BEAM_STEER_MISS__MAX,
};

/* stats: per-CPU array, key = enum beam_reason, value = what it counted;
 * bytes are whole frames as XDP saw them (Ethernet header included). */
struct beam_counter {
	__u64 packets;
	__u64 bytes;
};
_Static_assert(sizeof(struct beam_counter) == 16, "beam_counter layout");

/* flows: LRU hash. IPv4 addresses are stored IPv4-mapped (::ffff:a.b.c.d),
 * so one key serves both families. Ports in host byte order, so bpftool
 * prints them as they are written. */
struct beam_flow_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport; /* host byte order */
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};
_Static_assert(sizeof(struct beam_flow_key) == 40, "beam_flow_key layout");

struct beam_flow {
	__u64 packets;
	__u64 bytes;
	__u64 first_seen_ns; /* bpf_ktime_get_coarse_ns(): CLOCK_MONOTONIC, tick resolution */
	__u64 last_seen_ns;
	__u64 quic_long;   /* QUIC long-header packets */
	__u64 quic_short;  /* QUIC short-header packets */
	__u32 last_reason; /* enum beam_reason of the last packet */
	__u8 dcid_len;	   /* last DCID seen, to join with conns */
	__u8 pad[3];
	__u8 dcid[BEAM_CID_MAX_LEN];
	__u8 pad2[4];
};
_Static_assert(sizeof(struct beam_flow) == 80, "beam_flow layout");

/* conns: hash, key = a connection ID beamd issued, written by beamd. */
struct beam_cid {
	__u8 len;
	__u8 data[BEAM_CID_MAX_LEN];
	__u8 pad[3];
};
_Static_assert(sizeof(struct beam_cid) == 24, "beam_cid layout");

enum beam_conn_state {
	BEAM_CONN_HANDSHAKE = 0,
	BEAM_CONN_ESTABLISHED,
	BEAM_CONN_DRAINING,
	BEAM_CONN_CLOSING,
	BEAM_CONN__MAX,
};

struct beam_conn {
	__u8 peer_addr[16]; /* IPv4-mapped for IPv4 */
	__u16 peer_port;    /* host byte order, so bpftool prints it as written */
	__u16 worker;
	__u32 state; /* enum beam_conn_state */
	__u64 srtt_ns;
	__u64 bytes_in;
	__u64 bytes_out;
	__u32 streams_open;
	__u32 tunnels;
	__u64 created_ns; /* CLOCK_MONOTONIC, comparable with bpf_ktime_get_ns() */
	__u64 last_active_ns;
	__u32 owner_pid; /* the beamd that wrote it: several may share one conns map */
	__u32 pad;
};
_Static_assert(sizeof(struct beam_conn) == 80, "beam_conn layout");

/* latency: mmapable array of log2 histograms, key = enum beam_hist_id.
 * Bucket i counts samples v (ns) with 2^i <= v < 2^(i+1); bucket 0 also v < 1. */
#define BEAM_HIST_BUCKETS 64

enum beam_hist_id {
	BEAM_HIST_HANDSHAKE = 0, /* QUIC handshake duration */
	BEAM_HIST_RTT,		 /* RTT samples */
	BEAM_HIST_TTFB,		 /* public accept to first byte back from the service */
	BEAM_HIST_STREAM,	 /* stream lifetime */
	BEAM_HIST_XDP_TO_USER,	 /* XDP metadata timestamp to user-space receive */
	BEAM_HIST__MAX,
};

struct beam_hist {
	__u64 count;
	__u64 sum_ns;
	__u64 buckets[BEAM_HIST_BUCKETS];
};
_Static_assert(sizeof(struct beam_hist) == 528, "beam_hist layout");

/* config: array with one entry (key 0), read by XDP on every packet, written
 * by beam-xdp and beamd; changes take effect without reloading the program. */
enum beam_config_flags {
	BEAM_CFG_STEER = 1u << 0,      /* redirect QUIC to AF_XDP sockets */
	BEAM_CFG_RATE_LIMIT = 1u << 1, /* enforce the Initial rate limit */
};

struct beam_config {
	__u16 ports[BEAM_MAX_PORTS]; /* host byte order (bpftool shows 4433), 0 = unused slot */
	__u32 flags;		     /* enum beam_config_flags */
	__u32 initial_rate;	     /* Initials per second per source address, 0: no limit */
	__u32 initial_burst;	     /* bucket depth */
	/* beamd's workers: a frame whose DCID names a worker other than its
	 * queue's (beam_cid_worker) goes to the UDP socket, whose sk_reuseport
	 * program finds that worker; 0, 1: no check */
	__u16 workers;
	/* the port of the beamd whose AF_XDP sockets are in xsks (host order):
	 * the other ports' frames go to the kernel, where their beamds' UDP
	 * sockets are; 0: every port above (one beamd, or an older one) */
	__u16 xsk_port;
};
_Static_assert(sizeof(struct beam_config) == 32, "beam_config layout");

/* rate: LRU hash, key = source address (__u8[16], IPv4-mapped), token bucket.
 * The program clamps initial_rate to BEAM_INITIAL_RATE_MAX (keeps the refill
 * arithmetic inside 64 bits); rate 0 means no per-source limit at all (the
 * bucket is skipped); burst 0 with a rate drops every Initial while the flag
 * is on. */
#define BEAM_INITIAL_RATE_MAX 500000u
struct beam_rate {
	__u64 last_ns;
	__u64 tokens; /* scaled by BEAM_RATE_SCALE for sub-token precision */
};
#define BEAM_RATE_SCALE 1024u
_Static_assert(sizeof(struct beam_rate) == 16, "beam_rate layout");

/* Bytes of one UMEM frame of beamd's AF_XDP sockets (no headroom). A frame
 * that would not fit with its metadata (a GRO-merged train in generic mode)
 * is passed to the UDP socket instead of redirected. */
#define BEAM_XSK_FRAME_SIZE 2048

/* XDP metadata in front of a frame redirected to AF_XDP. */
struct beam_xdp_meta {
	__u64 rx_ns; /* bpf_ktime_get_ns() when XDP steered the frame */
};
_Static_assert(sizeof(struct beam_xdp_meta) == 8, "beam_xdp_meta layout");

#endif /* BEAM_MAPS_H */
