// SPDX-License-Identifier: MIT
/*
 * connhold.c - many idle TCP connections through a tunnel, for the scale bench.
 *
 *   connhold serve ADDR:PORT
 *	an epoll echo server that holds as many connections as the file limit allows.
 *   connhold hold -t ADDR:PORT -n N [-s SRC,SRC,...] [-c INFLIGHT] [-g GOFILE] [-T SECONDS]
 *	opens N connections (spread over the source addresses, so more than one
 *	address's worth of ports can be used), checks each answers one echoed
 *	byte, prints "HELD <n>", holds them until GOFILE exists, then checks each
 *	answers again and prints a JSON summary.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CH_MAX_CONNS 1000000
#define CH_MAX_SRCS  16

enum ch_state {
	CH_NONE,
	CH_CONNECTING,
	CH_AWAIT, /* sent a byte, waiting for the echo */
	CH_HELD,
	CH_FAILED,
	CH_OK,
};

struct ch_conn {
	int fd;
	uint8_t state;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void raise_nofile(void)
{
	struct rlimit rl = {.rlim_cur = 1048576, .rlim_max = 1048576};
	FILE *f = fopen("/proc/sys/fs/nr_open", "r");
	unsigned long nr;

	if (f) {
		if (fscanf(f, "%lu", &nr) == 1)
			rl.rlim_cur = rl.rlim_max = nr;
		fclose(f);
	}
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int parse_addr(const char *s, struct sockaddr_in *sa, bool need_port)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t hl = colon ? (size_t)(colon - s) : strlen(s);
	char *end;
	long port = 0;

	if (hl >= sizeof(host) || (need_port && !colon))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (colon) {
		port = strtol(colon + 1, &end, 10);
		if (*end || port < 0 || port > 65535)
			return -EINVAL;
	}
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -EINVAL;
}

static int serve(const char *addr)
{
	struct epoll_event ev, evs[512];
	struct sockaddr_in sa;
	int lfd, ep, one = 1, i, n;
	char buf[4096];

	if (parse_addr(addr, &sa, true)) {
		fprintf(stderr, "connhold: bad address '%s'\n", addr);
		return 2;
	}
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 65535)) {
		fprintf(stderr, "connhold: cannot listen on %s: %s\n", addr, strerror(errno));
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev)) {
		fprintf(stderr, "connhold: epoll: %s\n", strerror(errno));
		return 1;
	}
	for (;;) {
		n = epoll_wait(ep, evs, 512, -1);
		if (n < 0 && errno != EINTR)
			return 1;
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			ssize_t r;

			if (fd == lfd) {
				int c;

				while ((c = accept4(lfd, NULL, NULL,
						    SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					ev.events = EPOLLIN;
					ev.data.fd = c;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev))
						close(c);
				}
				continue;
			}
			r = recv(fd, buf, sizeof(buf), 0);
			if (r > 0) {
				/* A few bytes of echo fit the send buffer; the rest is dropped. */
				if (send(fd, buf, (size_t)r, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
				    errno != EAGAIN)
					close(fd);
			} else if (r == 0 || errno != EAGAIN) {
				close(fd);
			}
		}
	}
}

struct holder {
	struct ch_conn *c;
	struct sockaddr_in target;
	struct sockaddr_in srcs[CH_MAX_SRCS];
	int nsrc;
	int n;
	int inflight_max;
	double timeout;
	int ep;
};

static void conn_fail(struct holder *h, int i)
{
	if (h->c[i].fd >= 0) {
		epoll_ctl(h->ep, EPOLL_CTL_DEL, h->c[i].fd, NULL);
		close(h->c[i].fd);
	}
	h->c[i].fd = -1;
	h->c[i].state = CH_FAILED;
}

static int conn_open(struct holder *h, int i)
{
	struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)i};
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	h->c[i].fd = fd;
	if (h->nsrc) {
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&h->srcs[i % h->nsrc], sizeof(h->srcs[0])))
			goto fail;
	}
	if (connect(fd, (struct sockaddr *)&h->target, sizeof(h->target)) && errno != EINPROGRESS)
		goto fail;
	h->c[i].state = CH_CONNECTING;
	if (epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &ev))
		goto fail;
	return 0;
fail:
	conn_fail(h, i);
	return 0;
}

/* Send one byte and wait for it back; on success the connection goes to @done. */
static void conn_ping(struct holder *h, int i, uint32_t op)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};

	if (send(h->c[i].fd, "p", 1, MSG_NOSIGNAL) != 1 ||
	    epoll_ctl(h->ep, (int)op, h->c[i].fd, &ev)) {
		conn_fail(h, i);
		return;
	}
	h->c[i].state = CH_AWAIT;
}

/*
 * Drive connections [0, n) from @from (CH_NONE: open and ping; CH_HELD: ping
 * again) to @done, at most inflight_max at a time. Returns how many made it.
 */
static int phase(struct holder *h, uint8_t from, uint8_t done, double deadline)
{
	struct epoll_event evs[1024];
	int next = 0, inflight = 0, ok = 0, i, k;

	while (next < h->n || inflight > 0) {
		while (inflight < h->inflight_max && next < h->n) {
			i = next++;
			if (h->c[i].state != from)
				continue;
			if (from == CH_NONE) {
				if (conn_open(h, i))
					return -1;
			} else {
				conn_ping(h, i, EPOLL_CTL_ADD);
			}
			if (h->c[i].state != CH_FAILED)
				inflight++;
		}
		if (now_s() > deadline)
			break;
		k = epoll_wait(h->ep, evs, 1024, 100);
		for (int e = 0; e < k; e++) {
			int err = 0;
			socklen_t len = sizeof(err);
			char b;

			i = (int)evs[e].data.u32;
			if (h->c[i].state == CH_CONNECTING) {
				if (getsockopt(h->c[i].fd, SOL_SOCKET, SO_ERROR, &err, &len) ||
				    err) {
					conn_fail(h, i);
					inflight--;
					continue;
				}
				conn_ping(h, i, EPOLL_CTL_MOD);
				if (h->c[i].state == CH_FAILED)
					inflight--;
				continue;
			}
			if (h->c[i].state != CH_AWAIT)
				continue;
			inflight--;
			if (recv(h->c[i].fd, &b, 1, 0) != 1) {
				conn_fail(h, i);
				continue;
			}
			epoll_ctl(h->ep, EPOLL_CTL_DEL, h->c[i].fd, NULL);
			h->c[i].state = done;
			ok++;
		}
	}
	/* what is still in flight at the deadline failed */
	for (i = 0; i < h->n; i++)
		if (h->c[i].state == CH_CONNECTING || h->c[i].state == CH_AWAIT)
			conn_fail(h, i);
	return ok;
}

static int hold(int argc, char **argv)
{
	const char *gofile = NULL, *target = NULL, *srcs = NULL;
	double t0, open_s, check_s, deadline;
	struct holder h = {.inflight_max = 1000, .timeout = 120};
	int c, held, answered;
	struct stat st;

	while ((c = getopt(argc, argv, "t:n:s:c:g:T:")) != -1) {
		switch (c) {
		case 't':
			target = optarg;
			break;
		case 'n':
			h.n = atoi(optarg);
			break;
		case 's':
			srcs = optarg;
			break;
		case 'c':
			h.inflight_max = atoi(optarg);
			break;
		case 'g':
			gofile = optarg;
			break;
		case 'T':
			h.timeout = atof(optarg);
			break;
		default:
			return 2;
		}
	}
	if (!target || parse_addr(target, &h.target, true) || h.n < 1 || h.n > CH_MAX_CONNS ||
	    h.inflight_max < 1 || h.timeout <= 0) {
		fprintf(stderr,
			"usage: connhold hold -t ADDR:PORT -n N [-s SRC,...] [-c INFLIGHT]\n"
			"                      [-g GOFILE] [-T SECONDS]\n");
		return 2;
	}
	if (srcs) {
		char *dup = strdup(srcs), *tok, *save = NULL;

		for (tok = strtok_r(dup, ",", &save); tok && h.nsrc < CH_MAX_SRCS;
		     tok = strtok_r(NULL, ",", &save)) {
			if (parse_addr(tok, &h.srcs[h.nsrc], false)) {
				fprintf(stderr, "connhold: bad source address '%s'\n", tok);
				return 2;
			}
			h.nsrc++;
		}
		free(dup);
	}
	h.c = calloc((size_t)h.n, sizeof(*h.c));
	h.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!h.c || h.ep < 0)
		return 1;
	for (c = 0; c < h.n; c++)
		h.c[c].fd = -1;

	t0 = now_s();
	held = phase(&h, CH_NONE, CH_HELD, t0 + h.timeout);
	open_s = now_s() - t0;
	if (held < 0) {
		fprintf(stderr, "connhold: cannot create sockets: %s\n", strerror(errno));
		return 1;
	}
	printf("HELD %d\n", held);
	fflush(stdout);

	deadline = now_s() + h.timeout;
	while (gofile && stat(gofile, &st) && now_s() < deadline)
		usleep(50000);

	t0 = now_s();
	answered = phase(&h, CH_HELD, CH_OK, t0 + h.timeout);
	check_s = now_s() - t0;
	printf("{\"target_n\":%d,\"held\":%d,\"answered\":%d,\"open_s\":%.3f,\"check_s\":%.3f}\n",
	       h.n, held, answered, open_s, check_s);
	free(h.c);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if (argc >= 3 && !strcmp(argv[1], "serve"))
		return serve(argv[2]);
	if (argc >= 2 && !strcmp(argv[1], "hold"))
		return hold(argc - 1, argv + 1);
	fprintf(stderr, "usage: connhold serve ADDR:PORT | connhold hold -t ADDR:PORT -n N ...\n");
	return 2;
}
