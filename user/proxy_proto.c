// SPDX-License-Identifier: MIT
/*
 * proxy_proto.c - PROXY protocol v1 and v2 headers for the agent's
 * connections to the local service. The addresses come from the edge (the
 * stream header) and from the tunnel's public address; nothing here parses
 * network input.
 */
#include "proxy_proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* v2: the 12-byte signature, then version 2 / command PROXY. */
static const uint8_t v2_sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
				   0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
#define V2_VER_PROXY 0x21
#define V2_TCP4	     0x11
#define V2_TCP6	     0x21

/* One endpoint as the header carries it: family 4 or 6, 16 address bytes. */
struct endpoint {
	int family;
	uint8_t addr[16];
	uint16_t port; /* host byte order */
};

static int endpoint_of(const struct pktio_addr *a, struct endpoint *e)
{
	memset(e, 0, sizeof(*e));
	if (a->sa.sa_family == AF_INET) {
		e->family = 4;
		memcpy(e->addr, &a->in.sin_addr, 4);
		e->port = ntohs(a->in.sin_port);
		return 0;
	}
	if (a->sa.sa_family != AF_INET6)
		return -EINVAL;
	e->port = ntohs(a->in6.sin6_port);
	if (IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr)) {
		e->family = 4;
		memcpy(e->addr, &a->in6.sin6_addr.s6_addr[12], 4);
	} else {
		e->family = 6;
		memcpy(e->addr, &a->in6.sin6_addr, 16);
	}
	return 0;
}

enum proxy_proto_version proxy_proto_parse(const char *s)
{
	if (!strcmp(s, "v1") || !strcmp(s, "1"))
		return PROXY_PROTO_V1;
	if (!strcmp(s, "v2") || !strcmp(s, "2"))
		return PROXY_PROTO_V2;
	return PROXY_PROTO_NONE;
}

static int encode_v1(const struct endpoint *s, const struct endpoint *d, uint8_t *buf, size_t cap)
{
	int af = s->family == 4 ? AF_INET : AF_INET6;
	char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN];
	int n;

	inet_ntop(af, s->addr, sa, sizeof(sa));
	inet_ntop(af, d->addr, da, sizeof(da));
	n = snprintf((char *)buf, cap, "PROXY TCP%d %s %s %u %u\r\n", s->family, sa, da, s->port,
		     d->port);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

static int encode_v2(const struct endpoint *s, const struct endpoint *d, uint8_t *buf, size_t cap)
{
	size_t alen = s->family == 4 ? 4 : 16, body = 2 * alen + 4, n = 16 + body;
	uint8_t *p = buf + 16;

	if (cap < n)
		return -ENOSPC;
	memcpy(buf, v2_sig, sizeof(v2_sig));
	buf[12] = V2_VER_PROXY;
	buf[13] = s->family == 4 ? V2_TCP4 : V2_TCP6;
	buf[14] = (uint8_t)(body >> 8);
	buf[15] = (uint8_t)body;
	memcpy(p, s->addr, alen);
	memcpy(p + alen, d->addr, alen);
	p += 2 * alen;
	p[0] = (uint8_t)(s->port >> 8);
	p[1] = (uint8_t)s->port;
	p[2] = (uint8_t)(d->port >> 8);
	p[3] = (uint8_t)d->port;
	return (int)n;
}

int proxy_proto_encode(enum proxy_proto_version v, const struct pktio_addr *src,
		       const struct pktio_addr *dst, uint8_t *buf, size_t cap)
{
	struct endpoint s, d;

	if (endpoint_of(src, &s))
		return -EINVAL;
	if (!dst || endpoint_of(dst, &d) || d.family != s.family) {
		uint16_t port = dst ? d.port : 0;

		memset(&d, 0, sizeof(d));
		d.family = s.family;
		d.port = port;
	}
	if (v == PROXY_PROTO_V1)
		return encode_v1(&s, &d, buf, cap);
	if (v == PROXY_PROTO_V2)
		return encode_v2(&s, &d, buf, cap);
	return -EINVAL;
}
