// SPDX-License-Identifier: MIT
/*
 * initial-flood.c - a QUIC Initial flood for tests: real client Initials (a
 * TLS ClientHello each, made by beam's own QUIC engine and captured instead
 * of sent), replayed from many source addresses as fast as the socket takes
 * them. Nothing answers the edge: every handshake it begins stays open until
 * it times out, which is what makes a flood expensive.
 *
 *   initial-flood EDGE_IP PORT SECONDS PPS SRC_IP...   (PPS 0: as fast as it goes)
 *
 * Prints "sent N". Test use only, inside the test namespaces.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "log.h"
#include "quic.h"
#include "tls.h"

#define NINITIALS 2048
#define MAX_SRCS  256

struct capture {
	struct pktio io;
	int pipe[2];
	uint8_t *last;
	size_t last_len;
};

static int cap_recv(struct pktio *io, struct pktio_pkt *pkts, unsigned int max)
{
	(void)io;
	(void)pkts;
	(void)max;
	return 0;
}

static int cap_send(struct pktio *io, const struct pktio_pkt *pkts, unsigned int n)
{
	struct capture *c = (struct capture *)io;

	if (n && !c->last && pkts[0].len >= 1200) {
		c->last = malloc(pkts[0].len);
		if (c->last) {
			memcpy(c->last, pkts[0].data, pkts[0].len);
			c->last_len = pkts[0].len;
		}
	}
	return (int)n;
}

static int cap_fd(struct pktio *io)
{
	return ((struct capture *)io)->pipe[0];
}

static void cap_free(struct pktio *io)
{
	(void)io; /* the capture lives in main */
}

static const struct pktio_ops cap_ops = {
	.name = "capture",
	.recv = cap_recv,
	.send = cap_send,
	.fd = cap_fd,
	.free = cap_free,
};

static const struct quic_handlers no_handlers;

/* One Initial datagram with a fresh connection ID and ClientHello. */
static int make_initial(struct event_base *base, WOLFSSL_CTX *tls, const struct pktio_addr *edge,
			uint8_t **out, size_t *out_len)
{
	struct quic_ep_config qc = {.tls = tls, .verify = TLS_VERIFY_NONE, .sni = "beamd"};
	struct capture cap = {.io.ops = &cap_ops};
	struct pktio_addr local = {0};
	struct quic_conn *c;
	struct quic_ep *ep;
	int err;

	if (pipe(cap.pipe))
		return -errno;
	local.in.sin_family = AF_INET;
	local.len = sizeof(local.in);
	err = quic_ep_new(&ep, base, &cap.io, &qc, &no_handlers, NULL);
	if (!err) {
		err = quic_ep_connect(ep, &local, edge, NULL, &c);
		quic_ep_free(ep, 0);
	}
	close(cap.pipe[0]);
	close(cap.pipe[1]);
	if (err)
		return err;
	if (!cap.last)
		return -EIO;
	*out = cap.last;
	*out_len = cap.last_len;
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t *initials[NINITIALS];
	static size_t lens[NINITIALS];
	struct tls_client_config tc = {.verify = TLS_VERIFY_NONE};
	int fds[MAX_SRCS], nsrc = 0, i, err;
	struct pktio_addr edge = {0};
	unsigned long long sent = 0;
	struct event_base *base;
	struct timespec now, end;
	WOLFSSL_CTX *tls;
	struct timespec start;
	double secs, pps;

	if (argc < 6) {
		fprintf(stderr, "usage: initial-flood EDGE_IP PORT SECONDS PPS SRC_IP...\n");
		return 2;
	}
	log_set_ident("initial-flood");
	edge.in.sin_family = AF_INET;
	edge.in.sin_port = htons((uint16_t)atoi(argv[2]));
	edge.len = sizeof(edge.in);
	if (inet_pton(AF_INET, argv[1], &edge.in.sin_addr) != 1)
		return 2;
	secs = atof(argv[3]);
	pps = atof(argv[4]);
	for (i = 5; i < argc && nsrc < MAX_SRCS; i++) {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

		if (fd < 0 || inet_pton(AF_INET, argv[i], &sa.sin_addr) != 1 ||
		    bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			fprintf(stderr, "initial-flood: cannot use source %s: %s\n", argv[i],
				strerror(errno));
			return 1;
		}
		fds[nsrc++] = fd;
	}

	wolfSSL_Init();
	if (tls_client_ctx_new(&tls, &tc))
		return 1;
	base = event_base_new();
	for (i = 0; i < NINITIALS; i++) {
		err = make_initial(base, tls, &edge, &initials[i], &lens[i]);
		if (err) {
			fprintf(stderr, "initial-flood: failed to make an Initial: %s\n",
				strerror(-err));
			return 1;
		}
	}
	printf("ready %d initials, %d sources\n", NINITIALS, nsrc);
	fflush(stdout);

	clock_gettime(CLOCK_MONOTONIC, &start);
	end = start;
	end.tv_sec += (time_t)secs;
	for (i = 0;; i++) {
		int s = i % nsrc, k = (int)(sent % NINITIALS);

		if ((i & 255) == 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec > end.tv_sec ||
			    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
				break;
			/* pace: never ahead of PPS */
			while (pps > 0 &&
			       (double)sent > pps * ((double)(now.tv_sec - start.tv_sec) +
						     (now.tv_nsec - start.tv_nsec) / 1e9)) {
				usleep(1000);
				clock_gettime(CLOCK_MONOTONIC, &now);
			}
		}
		if (sendto(fds[s], initials[k], lens[k], 0, &edge.sa, edge.len) > 0)
			sent++;
		else if (errno == EAGAIN)
			usleep(100);
	}
	printf("sent %llu\n", sent);
	for (i = 0; i < NINITIALS; i++)
		free(initials[i]);
	event_base_free(base);
	tls_ctx_free(tls);
	wolfSSL_Cleanup();
	return 0;
}
