/* SPDX-License-Identifier: MIT */
/*
 * pktio_udp.h - the UDP socket back end of struct pktio: recvmmsg/sendmmsg
 * in batches, UDP GSO on send and GRO on receive where the kernel has them,
 * ECN and the local address of each datagram, big socket buffers. The
 * default back end; it always works.
 */
#ifndef BEAM_PKTIO_UDP_H
#define BEAM_PKTIO_UDP_H

#include "pktio.h"

#include <stdbool.h>

#define PKTIO_UDP_BATCH	   32	     /* datagrams per recvmmsg/sendmmsg */
#define PKTIO_UDP_RX_SIZE  65536     /* one receive slot: a GRO train can fill it */
#define PKTIO_UDP_BUF_SIZE (2 << 20) /* more only lets CUBIC queue longer */

/*
 * Open a non-blocking UDP socket bound to @bind (an IPv6 wildcard address
 * takes IPv4 too). With @peer set, the socket is connected to it (an agent
 * talks to one edge). Returns 0 and the back end in *@out, or -errno with a
 * message naming the address.
 */
int pktio_udp_new(struct pktio **out, const struct pktio_addr *bind, const struct pktio_addr *peer);

/*
 * The same, unconnected, with SO_REUSEPORT: one socket per worker on one
 * port; the kernel (or an sk_reuseport program) picks the socket a datagram
 * goes to.
 */
int pktio_udp_new_shared(struct pktio **out, const struct pktio_addr *bind);

/*
 * Ask for PKTIO_UDP_BUF_SIZE receive and send buffers on @fd (past
 * net.core.[rw]mem_max with CAP_NET_ADMIN); warns (rate-limited) when the
 * kernel caps them. Every socket of a back end gets this; others may too.
 */
void pktio_udp_size_buffers(int fd);

/* The socket (still owned by @io), for the sk_reuseport map. */
int pktio_udp_fd(struct pktio *io);

/* The address the socket is bound to (port filled in after bind to port 0). */
int pktio_udp_local(struct pktio *io, struct pktio_addr *out);

/* Whether the kernel accepted UDP_SEGMENT (GSO) on this socket. */
bool pktio_udp_has_gso(struct pktio *io);

#endif /* BEAM_PKTIO_UDP_H */
