// SPDX-License-Identifier: MIT
/*
 * netaddr.c - address parsing, resolution and formatting.
 */
#include "netaddr.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	long v;

	if (!*s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int netaddr_split(const char *s, const char *def_host, char *host, size_t cap, uint16_t *port)
{
	const char *colon;
	size_t hl;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		hl = (size_t)(rb - s - 1);
		if (hl >= cap)
			return -EINVAL;
		memcpy(host, s + 1, hl);
		host[hl] = '\0';
		return parse_port(rb + 2, port);
	}
	colon = strrchr(s, ':');
	if (!colon) {
		if (!def_host || strlen(def_host) >= cap)
			return -EINVAL;
		strcpy(host, def_host);
		return parse_port(s, port);
	}
	if (strchr(s, ':') != colon)
		return -EINVAL; /* a bare IPv6 address needs brackets */
	hl = (size_t)(colon - s);
	if (hl >= cap)
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (!hl && def_host) {
		if (strlen(def_host) >= cap)
			return -EINVAL;
		strcpy(host, def_host);
	}
	return parse_port(colon + 1, port);
}

int netaddr_resolve_all(const char *host, uint16_t port, int family, struct pktio_addr *out,
			size_t max)
{
	struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_DGRAM}, *res, *ai;
	size_t n = 0, i;
	char ps[8];
	int rv;

	snprintf(ps, sizeof(ps), "%u", port);
	rv = getaddrinfo(host, ps, &hints, &res);
	if (rv) {
		pr_err("failed to resolve '%s': %s", host, gai_strerror(rv));
		return -ENOENT;
	}
	for (ai = res; ai && n < max; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(out->in6) ||
		    (ai->ai_family != AF_INET && ai->ai_family != AF_INET6))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		memcpy(&out[n].sa, ai->ai_addr, ai->ai_addrlen);
		out[n].len = ai->ai_addrlen;
		for (i = 0; i < n; i++)
			if (out[i].len == out[n].len && !memcmp(&out[i].sa, &out[n].sa, out[n].len))
				break;
		if (i == n)
			n++;
	}
	freeaddrinfo(res);
	if (!n) {
		pr_err("failed to resolve '%s': no IPv4 or IPv6 address", host);
		return -EINVAL;
	}
	return (int)n;
}

int netaddr_resolve(const char *host, uint16_t port, int family, struct pktio_addr *out)
{
	int n = netaddr_resolve_all(host, port, family, out, 1);

	return n < 0 ? n : 0;
}

const char *netaddr_str(const struct pktio_addr *a, char *buf, size_t cap)
{
	char h[INET6_ADDRSTRLEN];

	if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->in.sin_addr, h, sizeof(h));
		snprintf(buf, cap, "%s:%u", h, ntohs(a->in.sin_port));
	} else if (a->sa.sa_family == AF_INET6) {
		if (IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr)) {
			inet_ntop(AF_INET, &a->in6.sin6_addr.s6_addr[12], h, sizeof(h));
			snprintf(buf, cap, "%s:%u", h, ntohs(a->in6.sin6_port));
		} else {
			inet_ntop(AF_INET6, &a->in6.sin6_addr, h, sizeof(h));
			snprintf(buf, cap, "[%s]:%u", h, ntohs(a->in6.sin6_port));
		}
	} else {
		snprintf(buf, cap, "?");
	}
	return buf;
}
