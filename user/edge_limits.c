// SPDX-License-Identifier: MIT
/*
 * edge_limits.c - limit names and parsing, the per-source connection count,
 * and keepalive for idle public peers.
 */
#include "edge_limits.h"
#include "log.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SRC_BUCKETS 4096

static const char *const limit_names[EDGE_LIMIT__MAX] = {
	[EDGE_LIMIT_CONNS_PER_TOKEN] = "conns_per_token",
	[EDGE_LIMIT_TUNNELS_PER_TOKEN] = "tunnels_per_token",
	[EDGE_LIMIT_STREAMS_PER_TUNNEL] = "streams_per_tunnel",
	[EDGE_LIMIT_CONNS_PER_SOURCE] = "conns_per_source",
	[EDGE_LIMIT_UDP_FLOWS] = "udp_flows_per_tunnel",
	[EDGE_LIMIT_STREAM_BUFFERS] = "stream_buffers",
};

void edge_limits_default(struct edge_limits *l)
{
	l->max[EDGE_LIMIT_CONNS_PER_TOKEN] = 64; /* beam: one connection per tunnel */
	l->max[EDGE_LIMIT_TUNNELS_PER_TOKEN] = 64;
	l->max[EDGE_LIMIT_STREAMS_PER_TUNNEL] = 100000;
	l->max[EDGE_LIMIT_CONNS_PER_SOURCE] = 16384;
	l->max[EDGE_LIMIT_UDP_FLOWS] = 4096;
	l->max[EDGE_LIMIT_STREAM_BUFFERS] = 1ull << 30;
}

void edge_limits_help(FILE *out, int indent, int width)
{
	struct edge_limits d;
	int col = indent, n;
	unsigned int i;
	char item[64];

	edge_limits_default(&d);
	for (i = 0; i < EDGE_LIMIT__MAX; i++) {
		bool mb = i == EDGE_LIMIT_STREAM_BUFFERS;
		char *p;

		n = snprintf(item, sizeof(item), "%s%s (%llu)%s", limit_names[i], mb ? "_mb" : "",
			     (unsigned long long)(mb ? d.max[i] >> 20 : d.max[i]),
			     i + 1 < EDGE_LIMIT__MAX ? "," : "; repeat for several");
		if (n < 0 || (size_t)n >= sizeof(item))
			continue;
		for (p = item; *p && *p != ' '; p++)
			if (*p == '_')
				*p = '-';
		if (col > indent && col + 1 + n > width) {
			fprintf(out, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', out);
			col++;
		}
		fputs(item, out);
		col += n;
	}
	fputc('\n', out);
}

const char *edge_limit_name(enum edge_limit l)
{
	return (unsigned int)l < EDGE_LIMIT__MAX ? limit_names[l] : "unknown";
}

int edge_limits_parse(struct edge_limits *l, const char *spec)
{
	char name[32], *end;
	const char *eq = strchr(spec, '=');
	unsigned long long v;
	size_t n, i;

	if (!eq || (n = (size_t)(eq - spec)) == 0 || n >= sizeof(name))
		goto bad;
	for (i = 0; i < n; i++)
		name[i] = spec[i] == '-' ? '_' : spec[i];
	name[n] = '\0';
	errno = 0;
	v = strtoull(eq + 1, &end, 10);
	if (errno || *end || !eq[1] || !v || eq[1] == '-')
		goto bad;
	if (!strcmp(name, "stream_buffers_mb")) {
		if (v > 1ull << 30)
			goto bad;
		l->max[EDGE_LIMIT_STREAM_BUFFERS] = v << 20;
		return 0;
	}
	if (!strcmp(name, "udp_flows_per_tunnel") && v > 1u << 20)
		goto bad; /* what a flow table holds (udp_flow.h) */
	for (i = 0; i < EDGE_LIMIT_STREAM_BUFFERS; i++) {
		if (!strcmp(name, limit_names[i])) {
			l->max[i] = v;
			return 0;
		}
	}
bad:
	pr_err("invalid --limit '%s': want NAME=N, N > 0 (NAME: see beamd --help)", spec);
	return -EINVAL;
}

struct src_entry {
	struct src_entry *next;
	uint8_t addr[16];
	uint64_t n;
};

struct edge_src {
	struct src_entry *b[SRC_BUCKETS];
	uint64_t seed;
};

int edge_src_new(struct edge_src **out)
{
	struct edge_src *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->seed = (uint64_t)(uintptr_t)s * 0x9e3779b97f4a7c15ull;
	*out = s;
	return 0;
}

void edge_src_free(struct edge_src *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < SRC_BUCKETS; i++) {
		while (s->b[i]) {
			struct src_entry *e = s->b[i];

			s->b[i] = e->next;
			free(e);
		}
	}
	free(s);
}

/* The address as 16 bytes, IPv4 mapped, so both families share one table. */
static void src_key(const struct pktio_addr *a, uint8_t key[16])
{
	memset(key, 0, 16);
	if (a->sa.sa_family == AF_INET6) {
		memcpy(key, &a->in6.sin6_addr, 16);
	} else {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &a->in.sin_addr, 4);
	}
}

static struct src_entry **src_slot(struct edge_src *s, const uint8_t key[16])
{
	uint64_t h = s->seed;
	struct src_entry **pp;
	int i;

	for (i = 0; i < 16; i++)
		h = (h ^ key[i]) * 0x100000001b3ull;
	pp = &s->b[(h ^ h >> 32) % SRC_BUCKETS];
	while (*pp && memcmp((*pp)->addr, key, 16))
		pp = &(*pp)->next;
	return pp;
}

int edge_src_get(struct edge_src *s, const struct pktio_addr *a, uint64_t max)
{
	struct src_entry **pp, *e;
	uint8_t key[16];

	src_key(a, key);
	pp = src_slot(s, key);
	e = *pp;
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		memcpy(e->addr, key, 16);
		*pp = e;
	}
	if (e->n >= max)
		return -EBUSY;
	e->n++;
	return 0;
}

void edge_src_put(struct edge_src *s, const struct pktio_addr *a)
{
	struct src_entry **pp, *e;
	uint8_t key[16];

	src_key(a, key);
	pp = src_slot(s, key);
	e = *pp;
	if (!e)
		return;
	if (e->n > 1) {
		e->n--;
		return;
	}
	*pp = e->next;
	free(e);
}

void edge_limits_tcp_dead_peer(int fd, unsigned int secs)
{
	int one = 1, idle, intvl, cnt = 3;

	if (!secs)
		return;
	idle = secs / 2 ? (int)(secs / 2) : 1;
	intvl = secs / 6 ? (int)(secs / 6) : 1;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	/* No TCP_USER_TIMEOUT: Linux aborts a connection whose window stays
	 * closed that long even when the peer answers every probe, so a client
	 * that pauses its reading would be cut. The QUIC engine's sweep
	 * (quic_ep_config.tcp_peer_timeout_ms) handles peers gone with data
	 * outstanding, where keepalive does not run. */
}
