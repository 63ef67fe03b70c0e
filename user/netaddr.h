/* SPDX-License-Identifier: MIT */
/*
 * netaddr.h - "HOST:PORT" parsing and formatting for the command lines and
 * the logs: "1.2.3.4:80", "[2001:db8::1]:80", "name:80", or a bare "80".
 */
#ifndef BEAM_NETADDR_H
#define BEAM_NETADDR_H

#include "pktio.h"

#include <stddef.h>

#define NETADDR_STR_MAX	 64 /* "[v6 address]:port" and NUL */
#define NETADDR_HOST_MAX 256

/*
 * Split @s into @host (@cap bytes) and *@port. A bare port leaves @host as
 * @def_host. Brackets around an IPv6 host are removed. Returns 0 or -EINVAL.
 */
int netaddr_split(const char *s, const char *def_host, char *host, size_t cap, uint16_t *port);

/*
 * Resolve @host and @port (numeric or by name, getaddrinfo) into @out; with
 * @family AF_UNSPEC the first answer wins. Returns 0 or -EINVAL/-ENOENT after
 * a message.
 */
int netaddr_resolve(const char *host, uint16_t port, int family, struct pktio_addr *out);

/*
 * Like netaddr_resolve(), but keeps up to @max answers in @out, in the
 * resolver's order and without repeats (getaddrinfo names an address once
 * per socket type). Returns how many (at least 1) or -EINVAL/-ENOENT after
 * a message.
 */
int netaddr_resolve_all(const char *host, uint16_t port, int family, struct pktio_addr *out,
			size_t max);

/* Format @a as "1.2.3.4:80" or "[::1]:80" into @buf (NETADDR_STR_MAX). */
const char *netaddr_str(const struct pktio_addr *a, char *buf, size_t cap);

#endif /* BEAM_NETADDR_H */
