/* SPDX-License-Identifier: MIT */
/*
 * proxy_proto.h - the PROXY protocol header (HAProxy's spec, versions 1 and
 * 2) that the agent can put in front of each connection to the local
 * service, so that the service (nginx, HAProxy, ...) sees the public
 * client's address instead of the agent's.
 */
#ifndef BEAM_PROXY_PROTO_H
#define BEAM_PROXY_PROTO_H

#include "pktio.h"

#include <stddef.h>
#include <stdint.h>

/* v1: one text line; v2: binary, 16 bytes plus the addresses. */
#define PROXY_PROTO_MAX 108

enum proxy_proto_version {
	PROXY_PROTO_NONE = 0,
	PROXY_PROTO_V1,
	PROXY_PROTO_V2,
	PROXY_PROTO__MAX,
};

/* "v1" or "v2" (also "1", "2"); PROXY_PROTO_NONE for anything else. */
enum proxy_proto_version proxy_proto_parse(const char *s);

/*
 * Write the header for a TCP connection from @src (the public client) to
 * @dst (the address it reached) into @buf. @dst may be NULL or of another
 * family (an IPv4 client reaching an IPv6 edge): it is then the zero address
 * of @src's family with @dst's port (0 without @dst). An IPv4-mapped IPv6
 * @src is written as IPv4. Returns the header's length, or -EINVAL (unknown
 * version or family) or -ENOSPC (@cap too small; PROXY_PROTO_MAX always fits).
 */
int proxy_proto_encode(enum proxy_proto_version v, const struct pktio_addr *src,
		       const struct pktio_addr *dst, uint8_t *buf, size_t cap);

#endif /* BEAM_PROXY_PROTO_H */
