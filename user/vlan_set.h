/* SPDX-License-Identifier: MIT */
/*
 * vlan_set.h - the host's VLAN devices, to judge tagged frames from AF_XDP the
 * way the kernel would.
 *
 * The kernel hands a frame tagged with VLAN id V (802.1Q or 802.1ad) on
 * interface I to the VLAN device of I with that protocol and id, and drops it
 * when there is none or that device is down; a second tag is looked up the
 * same way on the first tag's device. A tag with id 0 that no device claims is
 * a priority tag: the kernel strips it and goes on with the same device.
 * Frames AF_XDP takes have bypassed all that; vlan_set_accepts() makes the
 * same decision from a copy of the VLAN devices learned with rtnetlink.
 *
 * The copy is read with one RTM_GETLINK dump (vlan_set_load()); a set holds at
 * most VLAN_SET_MAX devices. Not thread-safe: each owner loads its own.
 */
#ifndef BEAM_VLAN_SET_H
#define BEAM_VLAN_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VLAN_SET_MAX 8192 /* VLAN devices kept; more are left out with a warning */

/* One VLAN device: @ifindex sits on @parent and takes tag @proto/@vid. */
struct vlan_dev {
	int parent;
	uint16_t proto; /* host order: 0x8100 (802.1Q) or 0x88a8 (802.1ad) */
	uint16_t vid;	/* 0..4095 */
	int ifindex;
	bool up; /* IFF_UP: the kernel drops frames for a device that is down */
};

struct vlan_set {
	struct vlan_dev *devs; /* sorted by parent, proto, vid once loaded */
	size_t n, cap;
	bool truncated; /* the host had more than VLAN_SET_MAX of them */
};

/* An empty set: every tagged frame but priority tags is refused. */
void vlan_set_init(struct vlan_set *s);

/* Free what @s holds; it is empty again. NULL is fine. */
void vlan_set_fini(struct vlan_set *s);

/*
 * Add one device to @s (the loader's step, and the tests'), unsorted until
 * vlan_set_sort(). Returns 0, -ENOSPC past VLAN_SET_MAX (and sets truncated),
 * -EINVAL for a @vid over 4095, or -ENOMEM.
 */
int vlan_set_add(struct vlan_set *s, const struct vlan_dev *d);

/* Sort @s for vlan_set_accepts(); call after the last vlan_set_add(). */
void vlan_set_sort(struct vlan_set *s);

/*
 * Whether the kernel would take a frame that arrived on @ifindex with
 * @ntags tags (@tpid and @tci host order, outer first; TCI priority bits are
 * ignored): each tag names an up device of this set on the previous tag's
 * device (the first on @ifindex), or is a priority tag (id 0) no device
 * claims. True for @ntags 0. @ntags over 2 is false.
 */
bool vlan_set_accepts(const struct vlan_set *s, int ifindex, const uint16_t *tpid,
		      const uint16_t *tci, unsigned int ntags);

/*
 * Parse one buffer of an RTM_GETLINK dump (@len bytes at @buf, the answer to
 * request @seq) and add the VLAN devices it names to @s. Links of another
 * kind, of another sequence, or whose parent is in another namespace are
 * skipped. Returns 1 when the dump's NLMSG_DONE was in it, 0 when more is to
 * come, -EBADMSG for a message or attribute that overruns the buffer (nothing
 * past it is read), -EINTR when the kernel marked the dump inconsistent, or
 * the kernel's error from NLMSG_ERROR. -ENOSPC from vlan_set_add() is not an
 * error here: the set stays capped and truncated.
 */
int vlan_set_parse(struct vlan_set *s, const void *buf, size_t len, uint32_t seq);

/*
 * Replace the content of @s with the host's VLAN devices (of this network
 * namespace), read with one rtnetlink dump. On failure @s keeps what it had.
 * Returns 0 or -errno (socket, send or receive errors, -ETIMEDOUT when the
 * kernel does not answer within a second, vlan_set_parse()'s errors).
 */
int vlan_set_load(struct vlan_set *s);

#endif /* BEAM_VLAN_SET_H */
