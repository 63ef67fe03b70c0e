/* SPDX-License-Identifier: MIT */
/*
 * reuseport.h - steer QUIC datagrams among beamd's worker sockets (one
 * SO_REUSEPORT group) by the worker id in their connection IDs: loads
 * bpf/steer.bpf.c, fills its socket map and attaches it to the group.
 */
#ifndef BEAM_REUSEPORT_H
#define BEAM_REUSEPORT_H

#include "beam_maps.h"
#include "pktio.h"

#include <stdint.h>

struct reuseport;

/*
 * Is @a (@type SOCK_DGRAM or SOCK_STREAM) free for a new SO_REUSEPORT group?
 * The kernel lets any process of the same user join a group, so a second
 * beamd would silently share the first one's port: a probe socket binds @a
 * without SO_REUSEPORT first and is closed again. TCP probes set
 * SO_REUSEADDR: connections left in TIME_WAIT do not count, a listener does.
 * Port 0 always passes. Returns 0, -EADDRINUSE when taken, or -errno.
 */
int reuseport_probe(const struct pktio_addr *a, int type);

/*
 * Steer among @fds (@n, 2..BEAM_WORKERS_MAX bound UDP sockets of one
 * SO_REUSEPORT group; @fds[i] is worker i's). Returns 0, or -errno with
 * *@why (a constant) naming the step that failed (no BPF rights, an old
 * kernel); the caller says so, and the kernel's own hash then picks.
 */
int reuseport_attach(struct reuseport **out, const int *fds, unsigned int n, const char **why);

/* Datagrams steered so far, by enum beam_steer, summed over CPUs. */
int reuseport_stats(const struct reuseport *rp, uint64_t out[BEAM_STEER__MAX]);

/* Unload (the group keeps the program until its sockets close). Accepts NULL. */
void reuseport_free(struct reuseport *rp);

#endif /* BEAM_REUSEPORT_H */
