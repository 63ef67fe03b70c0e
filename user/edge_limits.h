/* SPDX-License-Identifier: MIT */
/*
 * edge_limits.h - how long beamd waits for a public client that went silent.
 *
 * A public client that vanishes without a FIN (its link cut, its host gone)
 * leaves an established TCP connection on the edge, and with it a QUIC
 * stream and buffers. Keepalive probes and TCP_USER_TIMEOUT bound that to
 * the idle timeout, whether the connection was idle or sending.
 */
#ifndef BEAM_EDGE_LIMITS_H
#define BEAM_EDGE_LIMITS_H

/*
 * Make the kernel give up on @fd's peer after about @secs seconds without
 * an answer: keepalive from @secs / 2 of silence, probes every @secs / 6,
 * three of them, and unacknowledged data for at most @secs. 0 leaves the
 * socket alone. Failures are ignored (the socket still works, only slower
 * to notice a dead peer).
 */
void edge_limits_tcp_dead_peer(int fd, unsigned int secs);

#endif /* BEAM_EDGE_LIMITS_H */
