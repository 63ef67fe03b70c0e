// SPDX-License-Identifier: MIT
/*
 * udp-blast.c - send UDP datagrams as fast as sendmmsg() goes, for receive
 * benchmarks. Payloads start with 0x41, so beam's XDP program reads them as
 * QUIC short-header packets and steers them like real traffic.
 *
 *   udp-blast HOST PORT [--seconds S] [--size BYTES] [--batch N]
 *
 * Prints "udp-blast sent=N secs=S pps=P".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH_MAX 256

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"seconds", required_argument, NULL, 's'},
		{"size", required_argument, NULL, 'z'},
		{"batch", required_argument, NULL, 'b'},
		{0},
	};
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *ai;
	static struct mmsghdr msgs[BATCH_MAX];
	static struct iovec iov[BATCH_MAX];
	static unsigned char payload[65507];
	unsigned long long sent = 0;
	int c, fd, i, batch = 64;
	double secs = 3, start, end;
	size_t size = 64;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			secs = atof(optarg);
			break;
		case 'z':
			size = (size_t)atoi(optarg);
			break;
		case 'b':
			batch = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (optind + 2 != argc || size < 17 || size > sizeof(payload) || batch < 1 ||
	    batch > BATCH_MAX) {
		fprintf(stderr, "usage: udp-blast HOST PORT [--seconds S] [--size 17..65507]\n"
				"                           [--batch 1..256]\n");
		return 2;
	}
	if (getaddrinfo(argv[optind], argv[optind + 1], &hints, &ai)) {
		fprintf(stderr, "udp-blast: cannot resolve '%s'\n", argv[optind]);
		return 2;
	}
	fd = socket(ai->ai_family, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		fprintf(stderr, "udp-blast: socket: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < (int)size; i++)
		payload[i] = (unsigned char)(i * 13);
	payload[0] = 0x41;
	for (i = 0; i < batch; i++) {
		iov[i].iov_base = payload;
		iov[i].iov_len = size;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	start = now_s();
	do {
		for (i = 0; i < 16; i++) {
			int n = sendmmsg(fd, msgs, (unsigned int)batch, 0);

			/* ECONNREFUSED: an ICMP error from an earlier datagram; go on. */
			if (n > 0)
				sent += (unsigned long long)n;
		}
		end = now_s();
	} while (end - start < secs);
	printf("udp-blast sent=%llu secs=%.3f pps=%.0f\n", sent, end - start, sent / (end - start));
	freeaddrinfo(ai);
	close(fd);
	return 0;
}
