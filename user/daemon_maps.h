/* SPDX-License-Identifier: MIT */
/*
 * daemon_maps.h - the BPF maps beamd writes: `conns` (one entry per live QUIC
 * connection) and `latency` (log2 histograms, mmapped so recording a sample
 * is a plain atomic add, no syscall).
 *
 * With beam's XDP program attached (beam-xdp attach IFACE) beamd uses the
 * maps pinned for that interface, so `bpftool map dump pinned
 * <root>/IFACE/conns` shows its connections beside the flows. Without it,
 * beamd creates the same maps itself and pins them under <root>/beamd-PORT/
 * (removed at exit). Without BPF rights it keeps the histograms in memory,
 * says so once, and skips conns.
 */
#ifndef BEAM_DAEMON_MAPS_H
#define BEAM_DAEMON_MAPS_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "beam_maps.h"
#include "xdp_loader.h"

struct daemon_maps {
	struct xdp_maps m;	   /* conns and latency open (-1 when in memory) */
	char ifname[IF_NAMESIZE];  /* interface whose pinned maps are used, "" if none */
	char own_dir[PATH_MAX];	   /* where beamd pinned maps of its own, "" if none */
	struct beam_hist *latency; /* BEAM_HIST__MAX histograms: the mmapped map or heap */
	size_t latency_map_len;	   /* bytes mmapped, 0 when on the heap */
	bool bpf;		   /* false: BPF maps are off, histograms in memory */
	bool conns_written;	   /* beamd has put an entry in conns */
	__u32 pid;		   /* owner_pid of the conns entries this beamd writes */
	int link;		   /* beam's XDP link on @ifname, opened at start; -1 if none */
	unsigned int link_misses;  /* checks in a row that found no usable link */
	bool link_lost;		   /* the link went and that was said */
	int ifindex;		   /* of @ifname when opened, 0 if none */
	bool xsk_off;		   /* @ifname went away: AF_XDP retired until restart */
};

/*
 * Open the maps: those pinned for @ifname when it is not NULL (-ENOENT when
 * beam is not attached there); else those of the one interface with beam
 * attached under the pin root (the first, with a warning, when several);
 * else maps of beamd's own, pinned under <root>/beamd-@port. Never fails for lack of BPF: it
 * falls back to memory. Returns 0, or -errno when @ifname was given and its
 * maps cannot be opened. Entries in conns whose owner_pid is no running
 * beamd are removed; those of a live beamd sharing the map stay.
 */
int daemon_maps_open(struct daemon_maps *d, const char *pin_root, const char *ifname,
		     uint16_t port);

/* Remove this beamd's entries from conns (only those: the map may be shared),
 * unpin its own maps, unmap; accepts a closed @d. */
void daemon_maps_close(struct daemon_maps *d);

/*
 * Whether beam's program still runs on @d->ifname with the maps beamd holds
 * (call it every second or so, from one thread). When the link opened at
 * start was detached: a new pinned link over the same maps (beam-xdp attach
 * in another mode) is taken on with an info line; one over new maps (detach,
 * then attach) gets beamd's AF_XDP sockets put in its xsks map, with a
 * warning that conns stays in the old map; with no usable link for 3 s, one
 * error says AF_XDP receive and conns are cut off. beamd --user cannot open
 * the pins any more: for it every new link is a loss.
 */
void daemon_maps_check_link(struct daemon_maps *d, const char *pin_root);

/* Insert or refresh the conns entry of @cid, with owner_pid set to this
 * process. Returns 0 or -errno (rate-limited message). */
int daemon_maps_conn_put(struct daemon_maps *d, const struct beam_cid *cid,
			 const struct beam_conn *conn);

/* Delete the conns entry of @cid; a missing entry is fine. */
void daemon_maps_conn_del(struct daemon_maps *d, const struct beam_cid *cid);

#endif /* BEAM_DAEMON_MAPS_H */
