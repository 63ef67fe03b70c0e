// SPDX-License-Identifier: MIT
/*
 * hs-load.c - QUIC handshakes against beamd, as fast as they complete: C
 * connections at a time, each from a new UDP socket (a new source port and
 * a new random DCID), closed as soon as its handshake (TLS 1.3, ALPN
 * beam/1) is done and replaced by the next. Measures what the edge's
 * workers can accept, without starting a process per agent.
 *
 *   hs-load -t IPV4:PORT [-c CONNS] [-d SECONDS]
 *
 * Prints one JSON object: handshakes completed, failures, handshakes/s.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "log.h"
#include "netaddr.h"
#include "pktio_udp.h"
#include "quic.h"
#include "tls.h"

#define HS_MAX_CONNS 1024

struct hs;

struct slot {
	struct hs *hs;
	struct pktio *io;
	struct quic_ep *ep;
	struct quic_conn *c;
	struct event *restart; /* frees the endpoint outside its own callbacks */
	bool done;
};

struct hs {
	struct event_base *base;
	struct WOLFSSL_CTX *tls;
	struct pktio_addr edge;
	uint64_t ok, failed, end_ns;
	struct slot slots[HS_MAX_CONNS];
};

static void hs_handshake_cb(struct quic_conn *c, void *arg)
{
	struct slot *s = arg;
	struct timeval now = {0};

	(void)c;
	s->hs->ok++;
	s->done = true;
	event_add(s->restart, &now);
}

static void hs_close_cb(struct quic_conn *c, int err, uint64_t app, void *arg)
{
	struct slot *s = arg;
	struct timeval now = {0};

	(void)c;
	(void)err;
	(void)app;
	s->c = NULL;
	if (!s->done) {
		s->hs->failed++;
		s->done = true;
		event_add(s->restart, &now);
	}
}

static const struct quic_handlers hs_handlers = {
	.handshake_cb = hs_handshake_cb,
	.conn_close_cb = hs_close_cb,
};

static int slot_start(struct slot *s)
{
	/* a benchmark of the edge: the client checks no certificate */
	struct quic_ep_config qc = {.verify = TLS_VERIFY_NONE, .idle_timeout_ms = 5000};
	struct pktio_addr any = {0}, local;
	int err;

	any.in.sin_family = AF_INET;
	any.len = sizeof(any.in);
	err = pktio_udp_new(&s->io, &any, &s->hs->edge);
	if (err)
		return err;
	pktio_udp_local(s->io, &local);
	qc.tls = s->hs->tls;
	qc.max_streams_bidi = 4;
	err = quic_ep_new(&s->ep, s->hs->base, s->io, &qc, &hs_handlers, s);
	if (err)
		return err;
	s->done = false;
	return quic_ep_connect(s->ep, &local, &s->hs->edge, NULL, &s->c);
}

static void slot_restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct slot *s = arg;

	(void)fd;
	(void)what;
	quic_ep_free(s->ep, 0); /* closes the connection: the edge frees it at once */
	s->ep = NULL;
	s->c = NULL;
	if (quic_now_ns() >= s->hs->end_ns) {
		event_base_loopbreak(s->hs->base);
		return;
	}
	if (slot_start(s))
		s->hs->failed++;
}

static void usage(void)
{
	fprintf(stderr, "usage: hs-load -t IPV4:PORT [-c CONNS] [-d SECONDS]\n");
}

int main(int argc, char **argv)
{
	struct tls_client_config tc = {.verify = TLS_VERIFY_NONE};
	char host[NETADDR_HOST_MAX];
	const char *target = NULL;
	unsigned int conns = 32, i;
	double secs = 5;
	uint64_t t0, t1;
	struct hs *hs;
	uint16_t port;
	int opt;

	while ((opt = getopt(argc, argv, "t:c:d:h")) != -1) {
		switch (opt) {
		case 't':
			target = optarg;
			break;
		case 'c':
			conns = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'd':
			secs = strtod(optarg, NULL);
			break;
		default:
			usage();
			return 2;
		}
	}
	if (!target || !conns || conns > HS_MAX_CONNS || secs <= 0) {
		usage();
		return 2;
	}
	log_set_level(LOG_LVL_ERR);
	signal(SIGPIPE, SIG_IGN);
	wolfSSL_Init();
	hs = calloc(1, sizeof(*hs));
	if (!hs || netaddr_split(target, "0.0.0.0", host, sizeof(host), &port) ||
	    netaddr_resolve(host, port, AF_INET, &hs->edge)) {
		fprintf(stderr, "hs-load: bad target '%s'\n", target);
		return 2;
	}
	hs->base = event_base_new();
	if (!hs->base || tls_client_ctx_new(&hs->tls, &tc))
		return 1;
	t0 = quic_now_ns();
	hs->end_ns = t0 + (uint64_t)(secs * 1e9);
	for (i = 0; i < conns; i++) {
		hs->slots[i].hs = hs;
		hs->slots[i].restart = evtimer_new(hs->base, slot_restart_cb, &hs->slots[i]);
		if (!hs->slots[i].restart || slot_start(&hs->slots[i])) {
			fprintf(stderr, "hs-load: cannot start connection %u\n", i);
			return 1;
		}
	}
	event_base_dispatch(hs->base);
	t1 = quic_now_ns();
	printf("{\"target\":\"%s\",\"conns\":%u,\"duration_s\":%.3f,\"handshakes\":%llu,"
	       "\"failed\":%llu,\"per_s\":%.1f}\n",
	       target, conns, (t1 - t0) / 1e9, (unsigned long long)hs->ok,
	       (unsigned long long)hs->failed, hs->ok / ((t1 - t0) / 1e9));
	for (i = 0; i < conns; i++) {
		quic_ep_free(hs->slots[i].ep, 0);
		event_free(hs->slots[i].restart);
	}
	tls_ctx_free(hs->tls);
	event_base_free(hs->base);
	free(hs);
	wolfSSL_Cleanup();
	return 0;
}
