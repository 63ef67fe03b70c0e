/* SPDX-License-Identifier: MIT */
/*
 * privdrop.h - beamd gives up root once its setup is done: it becomes an
 * unprivileged user and keeps only the capabilities the running daemon uses.
 *
 *   CAP_NET_ADMIN         XDP and AF_XDP socket options, socket buffer sizes
 *   CAP_BPF               map lookups and updates (conns, stats, xsks)
 *   CAP_NET_RAW           AF_XDP sockets
 *   CAP_NET_BIND_SERVICE  public listeners below port 1024
 *
 * Everything else goes from the effective, permitted, inheritable, ambient
 * and bounding sets, and no_new_privs is set, so no exec can win privileges
 * back. Capabilities belong to threads: drop before starting any thread.
 */
#ifndef BEAM_PRIVDROP_H
#define BEAM_PRIVDROP_H

#include <stdbool.h>
#include <sys/types.h>

/* Look up @user (a name or a numeric uid) into *@uid and *@gid (its primary
 * group). Returns 0, or -ENOENT after a message. */
int privdrop_lookup(const char *user, uid_t *uid, gid_t *gid);

/*
 * Become @uid:@gid with only the capabilities above (no supplementary
 * groups); RLIMIT_MEMLOCK is lifted when root may (a failure is no error). Must run as root, before
 * any thread exists. Returns 0 or -errno after a message; on failure the
 * caller must exit, the process may be half-changed.
 */
int privdrop_to(uid_t uid, gid_t gid);

/* Whether the calling thread holds capability @cap in its effective set. */
bool privdrop_has_cap(int cap);

#endif /* BEAM_PRIVDROP_H */
