/* SPDX-License-Identifier: MIT */
/*
 * reuseport.h - steer QUIC datagrams among beamd's worker sockets (one
 * SO_REUSEPORT group) by the worker id in their connection IDs: loads
 * bpf/steer.bpf.c, fills its socket map and attaches it to the group.
 */
#ifndef BEAM_REUSEPORT_H
#define BEAM_REUSEPORT_H

#include "beam_maps.h"

#include <stdint.h>

struct reuseport;

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
