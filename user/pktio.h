/* SPDX-License-Identifier: MIT */
/*
 * pktio.h - the packet I/O interface between the QUIC engine and its two
 * back ends: UDP sockets with recvmmsg/sendmmsg (pktio_udp.c, the default
 * that always works) and AF_XDP (pktio_xsk.c). The QUIC code sees only this.
 */
#ifndef BEAM_PKTIO_H
#define BEAM_PKTIO_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

/* A socket address of either family; @len is 0 when unset. */
struct pktio_addr {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	};
	socklen_t len;
};

/* One UDP datagram (or, with @gso_size, a train of equal-sized ones). */
struct pktio_pkt {
	uint8_t *data;	   /* UDP payload; received: the back end's until the next recv */
	uint32_t len;	   /* bytes at @data */
	uint16_t gso_size; /* send: segment size if @len > it; recv: GRO segment size or 0 */
	uint8_t ecn;	   /* the two ECN bits of the IP header */
	uint8_t pad;
	struct pktio_addr local; /* our address the datagram came to or leaves from */
	struct pktio_addr peer;	 /* the remote address */
	uint64_t xdp_rx_ns;	 /* arrival time stamped by XDP (CLOCK_MONOTONIC), 0 if none */
	uint32_t rx_ref;	 /* received: the back end's handle for ops->accepted, 0 if none */
};

/* A back end's own handles fit in the low bits; a back end over others (pktio_mux.c)
 * keeps which of them received the packet in the bits above. */
#define PKTIO_REF_BITS 24

struct pktio;

struct pktio_ops {
	const char *name;
	/* Receive up to @max datagrams into @pkts. Returns the number received (0 when
	 * nothing is pending) or -errno. */
	int (*recv)(struct pktio *io, struct pktio_pkt *pkts, unsigned int max);
	/* Send @n datagrams. Returns how many left (a prefix of @pkts), -EAGAIN when
	 * none could be sent now, or another -errno. */
	int (*send)(struct pktio *io, const struct pktio_pkt *pkts, unsigned int n);
	/* Optional (NULL: nothing to learn). The QUIC engine tells the back end that
	 * @pkt, received by the last recv and carrying a nonzero @rx_ref, belonged to an
	 * established connection and passed its packet protection: where it came from is
	 * now proven. A back end that learns how to reach a peer from what it receives
	 * (AF_XDP: next-hop MAC, VLAN tags) trusts only such packets to change what it
	 * knows. A stale or foreign @rx_ref is ignored. */
	void (*accepted)(struct pktio *io, const struct pktio_pkt *pkt);
	/* A descriptor that polls readable when recv has something. */
	int (*fd)(struct pktio *io);
	/* Release everything; accepts NULL. */
	void (*free)(struct pktio *io);
};

/* Every back end embeds this first. */
struct pktio {
	const struct pktio_ops *ops;
};

#endif /* BEAM_PKTIO_H */
