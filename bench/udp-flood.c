// SPDX-License-Identifier: MIT
/*
 * udp-flood.c - a UDP packet generator for the XDP benchmark: sendmmsg() of
 * UDP GSO buffers, each cut into @size-byte datagrams by the kernel, so one
 * core sends well over a million small datagrams a second.
 *
 *   udp-flood -d 10.0.0.1 -p 9 [-s 16] [-t 2] [-g 32] [-b 8] [-f 0]
 *
 * -s payload bytes per datagram, -t seconds, -g datagrams per GSO buffer (1:
 * no GSO), -b buffers per sendmmsg(), -f the first payload byte (the rest are
 * zero). Prints "sent N datagrams in T s: R pps" on stdout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define MAX_BATCH 64
#define MAX_SEGS  64

struct flood_opts {
	const char *dst;
	unsigned int port, size, segs, batch, first;
	double seconds;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse(int argc, char **argv, struct flood_opts *o)
{
	int c;

	*o = (struct flood_opts){.port = 9, .size = 16, .segs = 32, .batch = 8, .seconds = 2};
	while ((c = getopt(argc, argv, "d:p:s:t:g:b:f:h")) != -1) {
		switch (c) {
		case 'd':
			o->dst = optarg;
			break;
		case 'p':
			o->port = atoi(optarg);
			break;
		case 's':
			o->size = atoi(optarg);
			break;
		case 't':
			o->seconds = atof(optarg);
			break;
		case 'g':
			o->segs = atoi(optarg);
			break;
		case 'b':
			o->batch = atoi(optarg);
			break;
		case 'f':
			o->first = strtoul(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr,
				"usage: udp-flood -d ADDR [-p PORT] [-s SIZE] [-t SECONDS]\n"
				"                 [-g SEGS] [-b BATCH] [-f BYTE]\n");
			return -1;
		}
	}
	if (!o->dst || !o->port || o->port > 65535 || !o->size || o->size > 1400 || !o->segs ||
	    o->segs > MAX_SEGS || !o->batch || o->batch > MAX_BATCH || o->seconds <= 0) {
		fprintf(stderr, "udp-flood: need -d ADDR; -s 1..1400, -g 1..%d, -b 1..%d\n",
			MAX_SEGS, MAX_BATCH);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct mmsghdr msgs[MAX_BATCH];
	static struct iovec iov[MAX_BATCH];
	struct sockaddr_in to = {.sin_family = AF_INET};
	unsigned long long sent = 0;
	double start, end, elapsed;
	struct flood_opts o;
	unsigned char *buf;
	int fd, seg, n, i;

	if (parse(argc, argv, &o))
		return 2;
	if (inet_pton(AF_INET, o.dst, &to.sin_addr) != 1) {
		fprintf(stderr, "udp-flood: invalid IPv4 address '%s'\n", o.dst);
		return 2;
	}
	to.sin_port = htons(o.port);

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("udp-flood: socket");
		return 1;
	}
	seg = o.size;
	if (o.segs > 1 && setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof(seg))) {
		fprintf(stderr, "udp-flood: no UDP GSO here (%s): one datagram per buffer\n",
			strerror(errno));
		o.segs = 1;
	}

	buf = calloc(o.segs, o.size);
	if (!buf)
		return 1;
	for (i = 0; i < (int)o.segs; i++)
		buf[i * o.size] = o.first;
	for (i = 0; i < (int)o.batch; i++) {
		iov[i].iov_base = buf;
		iov[i].iov_len = (size_t)o.size * o.segs;
		msgs[i].msg_hdr.msg_name = &to;
		msgs[i].msg_hdr.msg_namelen = sizeof(to);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	start = now_s();
	end = start + o.seconds;
	do {
		n = sendmmsg(fd, msgs, o.batch, 0);
		if (n > 0)
			sent += (unsigned long long)n * o.segs;
		else if (n < 0 && errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED &&
			 errno != EINTR) {
			perror("udp-flood: sendmmsg");
			return 1;
		}
	} while (now_s() < end);
	elapsed = now_s() - start;

	printf("sent %llu datagrams in %.3f s: %.0f pps\n", sent, elapsed, sent / elapsed);
	free(buf);
	close(fd);
	return 0;
}
