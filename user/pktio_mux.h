/* SPDX-License-Identifier: MIT */
/*
 * pktio_mux.h - beamd's XDP mode: AF_XDP sockets and the UDP socket behind
 * one struct pktio, so the QUIC code needs no change.
 *
 * Receive takes from every back end: the AF_XDP socket of the worker's queue
 * gets what beam's XDP program steers there; the UDP socket gets what arrives
 * on queues without one (and anything the program passes). A connection may
 * show up on both paths (after a NAT rebinding, say): both feed the same
 * endpoint, whose connection IDs name the worker. IPv4 addresses from AF_XDP
 * are handed up IPv4-mapped when the socket is dual-stack, exactly as the
 * socket reports them, so a path looks the same whichever way it came.
 *
 * Send goes through AF_XDP when that back end has learned the way to the
 * peer (its MAC, from the peer's frames), else through the socket; when the
 * chosen back end is out of room, the other one takes the datagram. One fd
 * (an epoll set of all back ends) polls readable when any has data. An epoll
 * fd never polls writable, so send never answers -EAGAIN: a datagram no back
 * end can take now is dropped and counted, and QUIC loss recovery resends.
 */
#ifndef BEAM_PKTIO_MUX_H
#define BEAM_PKTIO_MUX_H

#include <stdbool.h>
#include <stdint.h>

#include "beam_maps.h"
#include "pkt_hdr.h"
#include "pktio.h"

#define PKTIO_MUX_MAX_XSK 8

struct pktio_mux_stats {
	uint64_t rx_xsk, rx_udp; /* datagrams received per path */
	uint64_t tx_xsk, tx_udp; /* datagrams (or GSO trains) sent per path */
	uint64_t tx_fallback;	 /* the first choice was out of room, the other took it */
	uint64_t tx_dropped;	 /* no back end could take it */
	/* frames the AF_XDP back ends refused, by reason */
	uint64_t xsk_rx_bad[PKT_ERR__MAX];
	uint64_t xsk_rx_other_port;	     /* refused: for another beamd's port */
	uint64_t xsk_rx_vlan_unknown;	     /* refused: a VLAN the host has no device for */
	uint64_t xsk_rx_vlan[PKT_MAX_VLANS]; /* taken with 1, 2 VLAN tags */
	/* the AF_XDP next-hop table (pktio_xsk_stats) */
	uint64_t hop_changed, hop_unproven, hop_kept;
	uint64_t tx_both_paths; /* datagrams sent on two paths while a switch waited */
};

/*
 * Put @udp and @nxsk AF_XDP back ends (pktio_xsk) behind one pktio, which
 * owns them once this succeeds (on failure they stay the caller's).
 * @v4_mapped: report IPv4 addresses from AF_XDP as IPv4-mapped IPv6 (the
 * socket is dual-stack). Returns 0 with *@out set, or -errno (-EINVAL for 0
 * or too many AF_XDP back ends).
 */
int pktio_mux_new(struct pktio **out, struct pktio *udp, struct pktio **xsks, unsigned int nxsk,
		  bool v4_mapped);

/* Counters since creation, the AF_XDP back ends' refusals summed in. */
void pktio_mux_stats(const struct pktio *io, struct pktio_mux_stats *st);

/* Name the worker that drives @io in its exit line ("worker N: packet paths: ..."). */
void pktio_mux_set_worker(struct pktio *io, unsigned int worker);

struct pktio_xdp_cfg {
	const char *ifname;	    /* the interface QUIC arrives on */
	const char *pin_root;	    /* NULL: $BEAM_PIN_ROOT or the default */
	uint16_t port;		    /* our UDP port, host order */
	uint32_t queue;		    /* the worker's RX queue */
	uint32_t workers;	    /* prepare: beamd's workers, for the program's check */
	struct beam_hist *xdp_hist; /* XDP-to-user delays, or NULL */
};

/*
 * The first half of pktio_mux_xdp(), for callers that need beam's program in
 * place early (beamd opens the interface's maps before its sockets): attach
 * it if @cfg->ifname has none, check it steers @cfg->port, and tell it
 * @cfg->workers (the queue of worker w is queue w). Returns 0, or
 * -errno after the one warning that says AF_XDP will not be used.
 */
int pktio_mux_xdp_prepare(const struct pktio_xdp_cfg *cfg);

/* RX queues of @ifname (ethtool channels), or -errno when the driver does not say. */
int pktio_xdp_queues(const char *ifname);

/*
 * beamd --xdp: attach beam's XDP program to @cfg->ifname if no program is
 * attached (steering @cfg->port), open an AF_XDP socket on @cfg->queue, and
 * replace *@io (the UDP back end, bound to our port) with a mux of both.
 * When any of that fails, say why in one warning, leave *@io as it was (the
 * socket path keeps working) and return the -errno.
 */
int pktio_mux_xdp(struct pktio **io, const struct pktio_xdp_cfg *cfg);

#endif /* BEAM_PKTIO_MUX_H */
