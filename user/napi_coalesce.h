/* SPDX-License-Identifier: MIT */
/*
 * napi_coalesce.h - receive interrupt coalescing in software: the kernel's
 * NAPI deferral of an interface (its sysfs gro_flush_timeout and
 * napi_defer_hard_irqs).
 *
 * With it off, every frame a veth (or a NIC without hardware moderation)
 * receives runs its own NAPI poll, and every poll that hands beamd a frame
 * wakes beamd: one wake-up per datagram, which then costs more than the
 * datagram. With a timeout T, a poll that found work re-arms a T timer instead
 * of re-enabling the interrupt: frames arriving meanwhile wait up to T and are
 * taken in one poll, one wake-up. A frame arriving on an idle interface is not
 * delayed.
 *
 * The files are per network namespace: the sysfs mounted at /sys shows the
 * interfaces of the namespace that mounted it, not necessarily the caller's
 * (`nsenter --net` keeps the old /sys). So both calls read and write through
 * a sysfs mounted for the caller's namespace, in a child process with its own
 * mount namespace, and check the interface index it shows.
 */
#ifndef BEAM_NAPI_COALESCE_H
#define BEAM_NAPI_COALESCE_H

#include <stdint.h>

#define NAPI_COALESCE_MAX_US 10000 /* 10 ms: above that it is a stall, not moderation */

struct napi_coalesce {
	uint32_t gro_flush_timeout_ns; /* 0: off */
	uint32_t defer_hard_irqs;      /* polls kept armed after one found no work */
};

/* Read @ifname's settings. Returns 0, -ENODEV, or -errno (reported with pr_err). */
int napi_coalesce_get(const char *ifname, struct napi_coalesce *out);

/* Write them. Returns 0, -ENODEV, -ERANGE (@in out of the kernel's range), or
 * -errno (reported with pr_err). */
int napi_coalesce_set(const char *ifname, const struct napi_coalesce *in);

/* The setting for --rx-coalesce-us @us: off for 0, else a @us timeout kept
 * armed for one idle poll. */
struct napi_coalesce napi_coalesce_from_us(uint32_t us);

#endif /* BEAM_NAPI_COALESCE_H */
