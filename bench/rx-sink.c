// SPDX-License-Identifier: MIT
/*
 * rx-sink.c - receive UDP datagrams as fast as possible through one of the
 * two receive paths beamd has, and say what each packet cost this process:
 *
 *   rx-sink --xsk IFACE [--queue Q]   AF_XDP through pktio_xsk (frames parsed,
 *                                     checksums verified in user space)
 *   rx-sink --udp PORT                a UDP socket drained with recvmmsg(),
 *                                     64 datagrams per call, as pktio_udp does
 *
 * Both wait in epoll_wait() when nothing is pending, or with --interval-us N sleep
 * N microseconds instead (interrupt moderation: batches grow, wake-ups stop
 * dominating, what is left is each path's own per-packet work). Counting
 * starts at the first
 * datagram and stops after --idle-ms without one (or --seconds). Prints one
 * line: "rx-sink path=xsk pkts=N secs=S cpu_s=C pps=P cpu_ns_per_pkt=X"
 * (cpu = this process, user + system, CLOCK_PROCESS_CPUTIME_ID).
 */
#include "log.h"
#include "pktio_xsk.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH	 64
#define DGRAM_SZ 2048

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct sink {
	struct pktio *io; /* --xsk */
	int fd;		  /* --udp */
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	uint8_t *bufs;
};

static int sink_recv(struct sink *s)
{
	struct pktio_pkt pkts[BATCH];
	int n;

	if (s->io)
		return s->io->ops->recv(s->io, pkts, BATCH);
	n = recvmmsg(s->fd, s->msgs, BATCH, MSG_DONTWAIT, NULL);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	return n;
}

static int udp_open(struct sink *s, int port)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
	int i, off = 0, rcvbuf = 4 << 20;

	s->fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (s->fd < 0)
		return -errno;
	setsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(s->fd, (struct sockaddr *)&a, sizeof(a)))
		return -errno;
	s->bufs = malloc((size_t)BATCH * DGRAM_SZ);
	if (!s->bufs)
		return -ENOMEM;
	for (i = 0; i < BATCH; i++) {
		s->iov[i].iov_base = s->bufs + (size_t)i * DGRAM_SZ;
		s->iov[i].iov_len = DGRAM_SZ;
		s->msgs[i].msg_hdr.msg_iov = &s->iov[i];
		s->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"xsk", required_argument, NULL, 'x'},
		{"udp", required_argument, NULL, 'u'},
		{"queue", required_argument, NULL, 'q'},
		{"seconds", required_argument, NULL, 's'},
		{"idle-ms", required_argument, NULL, 'i'},
		{"interval-us", required_argument, NULL, 'n'},
		{0},
	};
	double max_s = 30, idle_s = 0.3, t0 = 0, c0 = 0, t_last = 0, c_last = 0, t_cpu = 0;
	struct pktio_xsk_cfg xcfg = {0};
	struct sink s = {.fd = -1};
	unsigned long long pkts = 0, pkts_cpu = 0, calls = 0, polls = 0;
	const char *path = NULL;
	int c, err, ep, port = 0, interval_us = 0;
	double start;

	log_set_ident("rx-sink");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'x':
			xcfg.ifname = optarg;
			path = "xsk";
			break;
		case 'u':
			port = atoi(optarg);
			path = "udp";
			break;
		case 'q':
			xcfg.queue = (uint32_t)atoi(optarg);
			break;
		case 's':
			max_s = atof(optarg);
			break;
		case 'i':
			idle_s = atof(optarg) / 1000;
			break;
		case 'n':
			interval_us = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: rx-sink --xsk IFACE [--queue Q] | --udp PORT\n"
					"               [--interval-us N]\n");
			return 2;
		}
	}
	if (!path) {
		fprintf(stderr, "usage: rx-sink --xsk IFACE [--queue Q] | --udp PORT\n"
				"               [--interval-us N]\n");
		return 2;
	}
	log_hook_libraries();

	if (xcfg.ifname)
		err = pktio_xsk_new(&s.io, &xcfg);
	else
		err = udp_open(&s, port);
	if (err) {
		pr_err("failed to open the %s path: %s\n", path, strerror(-err));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);

	/* Wait the way beamd does: libevent's epoll back end, the fd registered
	 * once (poll() would add and remove a wait queue entry per call). */
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, s.io ? s.io->ops->fd(s.io) : s.fd,
				&(struct epoll_event){.events = EPOLLIN})) {
		pr_err("failed to set up epoll: %s\n", strerror(errno));
		return 1;
	}
	start = clock_s(CLOCK_MONOTONIC);
	for (;;) {
		struct epoll_event ev;
		double now = clock_s(CLOCK_MONOTONIC);
		int n;

		if (now - start > max_s || (pkts && now - t_last > idle_s))
			break;
		n = sink_recv(&s);
		if (n < 0) {
			pr_err("failed to receive: %s\n", strerror(-n));
			break;
		}
		if (!n) {
			polls++;
			if (interval_us) {
				struct timespec ts = {0, interval_us * 1000L};

				nanosleep(&ts, NULL);
			} else {
				epoll_wait(ep, &ev, 1, 10);
			}
			continue;
		}
		calls++;
		if (!pkts) {
			t0 = now;
			c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
			t_cpu = now;
		}
		pkts += (unsigned long long)n;
		t_last = clock_s(CLOCK_MONOTONIC);
		/* The process CPU clock is a system call (not in the vDSO): read
		 * per batch, it would charge both paths a syscall per wake-up
		 * that beamd does not make. Once per millisecond is enough. */
		if (t_last - t_cpu >= 1e-3) {
			c_last = clock_s(CLOCK_PROCESS_CPUTIME_ID);
			t_cpu = t_last;
			pkts_cpu = pkts;
		}
	}

	if (pkts_cpu && t_last > t0)
		printf("rx-sink path=%s pkts=%llu secs=%.3f cpu_s=%.3f pps=%.0f "
		       "cpu_ns_per_pkt=%.1f batch=%.1f polls=%llu\n",
		       path, pkts, t_last - t0, c_last - c0, pkts / (t_last - t0),
		       (c_last - c0) * 1e9 / pkts_cpu, (double)pkts / calls, polls);
	else
		printf("rx-sink path=%s pkts=%llu\n", path, pkts);
	{
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		printf("rx-sink rusage user_s=%.3f sys_s=%.3f\n",
		       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
		       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	}
	if (s.io) {
		struct pktio_xsk_stats st;

		pktio_xsk_stats(s.io, &st);
		printf("rx-sink xsk mode=%s meta=%llu\n", pktio_xsk_mode(s.io),
		       (unsigned long long)st.rx_meta);
		s.io->ops->free(s.io);
	}
	if (s.fd >= 0)
		close(s.fd);
	close(ep);
	free(s.bufs);
	return 0;
}
