// SPDX-License-Identifier: MIT
/*
 * xsk-echo.c - answers every UDP datagram it receives with the same bytes,
 * through the AF_XDP back end (pktio_xsk): receive, parse, learn the path,
 * build headers and send back. The integration tests drive it from another
 * namespace and compare the answers byte for byte.
 *
 *   xsk-echo IFACE [--queue Q] [--count N] [--copy] [--strict-csum] [--no-register]
 *            [--gso-copies K] [--port P] [-v]
 *
 * With --port P only datagrams to UDP port P are taken (as beamd takes only its
 * --listen port); the others are counted ("refused other port: N").
 *
 * With --gso-copies K each answer is one GSO send of K copies of the payload
 * (gso_size = its length), which pktio_xsk must split into K frames.
 *
 * Runs until SIGTERM/SIGINT or N datagrams answered, then prints one line of
 * counters ("mode copy rx N tx N meta N bad N frames ok") on stdout. Also
 * prints "ready" once the socket is registered.
 */
#include "log.h"
#include "pktio_xsk.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 64

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: xsk-echo IFACE [--queue Q] [--count N] [--copy] [--strict-csum]\n"
		   "                      [--no-register] [--gso-copies K] [--port P] [-v]\n");
}

static void print_counters(struct pktio *io)
{
	struct pktio_xsk_stats st;
	uint64_t bad = 0;
	int i;

	pktio_xsk_stats(io, &st);
	for (i = 0; i < PKT_ERR__MAX; i++)
		bad += st.rx_bad[i];
	printf("mode %s rx %llu tx %llu frames_tx %llu meta %llu bad %llu no_route %llu "
	       "frames %s partial %llu\n",
	       pktio_xsk_mode(io), (unsigned long long)st.rx_pkts, (unsigned long long)st.tx_pkts,
	       (unsigned long long)st.tx_frames, (unsigned long long)st.rx_meta,
	       (unsigned long long)bad, (unsigned long long)st.tx_no_route,
	       pktio_xsk_frames_ok(io) ? "ok" : "LEAKED", (unsigned long long)st.rx_csum_partial);
	for (i = 1; i < PKT_ERR__MAX; i++)
		if (st.rx_bad[i])
			printf("refused %s: %llu\n", pkt_strerror(i),
			       (unsigned long long)st.rx_bad[i]);
	if (st.rx_other_port)
		printf("refused other port: %llu\n", (unsigned long long)st.rx_other_port);
	if (st.rx_vlan_unknown)
		printf("refused unknown VLAN: %llu\n", (unsigned long long)st.rx_vlan_unknown);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"queue", required_argument, NULL, 'q'},
		{"count", required_argument, NULL, 'n'},
		{"copy", no_argument, NULL, 'c'},
		{"strict-csum", no_argument, NULL, 's'},
		{"no-register", no_argument, NULL, 'r'},
		{"gso-copies", required_argument, NULL, 'g'},
		{"port", required_argument, NULL, 'p'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct pktio_xsk_cfg cfg = {0};
	struct pktio_pkt pkts[BATCH];
	unsigned long long count = 0, done = 0;
	struct pktio *io = NULL;
	static uint8_t train[BATCH][64 * 1500];
	unsigned int copies = 1;
	int c, err, verbosity = 0;

	log_set_ident("xsk-echo");
	while ((c = getopt_long(argc, argv, "q:n:csrg:p:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			cfg.queue = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'n':
			count = strtoull(optarg, NULL, 0);
			break;
		case 'c':
			cfg.copy_only = true;
			break;
		case 's':
			cfg.strict_csum = true;
			break;
		case 'r':
			cfg.no_register = true;
			break;
		case 'g':
			copies = (unsigned int)strtoul(optarg, NULL, 0);
			if (copies < 1 || copies > 64) {
				fprintf(stderr, "xsk-echo: --gso-copies wants 1..64\n");
				return 2;
			}
			break;
		case 'p':
			cfg.port = (uint16_t)strtoul(optarg, NULL, 0);
			break;
		case 'v':
			verbosity++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	cfg.ifname = argv[optind];
	log_set_verbosity(verbosity);
	log_hook_libraries();

	err = pktio_xsk_new(&io, &cfg);
	if (err) {
		pr_err("failed to open AF_XDP on '%s' queue %u: %s\n", cfg.ifname, cfg.queue,
		       strerror(-err));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("ready\n");
	fflush(stdout);

	while (!stop && (!count || done < count)) {
		struct pollfd pfd = {.fd = io->ops->fd(io), .events = POLLIN};
		int n, sent, i;

		n = io->ops->recv(io, pkts, BATCH);
		if (n < 0) {
			pr_err("failed to receive on '%s': %s\n", cfg.ifname, strerror(-n));
			break;
		}
		if (!n) {
			poll(&pfd, 1, 100);
			continue;
		}
		/* recv gave local = ours, peer = the sender: exactly what send wants. */
		for (i = 0; copies > 1 && i < n; i++) {
			unsigned int k;

			if (pkts[i].len > 1500 || !pkts[i].len)
				continue;
			for (k = 0; k < copies; k++)
				memcpy(train[i] + k * pkts[i].len, pkts[i].data, pkts[i].len);
			pkts[i].gso_size = (uint16_t)pkts[i].len;
			pkts[i].data = train[i];
			pkts[i].len *= copies;
		}
		for (i = 0; i < n;) {
			sent = io->ops->send(io, pkts + i, (unsigned int)(n - i));
			if (sent == -EAGAIN) {
				poll(&pfd, 1, 1);
				continue;
			}
			if (sent < 0) {
				pr_err("failed to send on '%s': %s\n", cfg.ifname, strerror(-sent));
				break;
			}
			i += sent;
		}
		done += (unsigned long long)n;
	}

	print_counters(io);
	io->ops->free(io);
	return 0;
}
