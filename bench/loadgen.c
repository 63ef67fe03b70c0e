// SPDX-License-Identifier: MIT
/*
 * loadgen.c - constant-rate HTTP/1.1 load generator for the bench.
 *
 * Each of C connections sends GETs on its own schedule so the connections
 * together offer R requests per second. A request's latency is measured from
 * the time it was scheduled to go out, not from when it went out: when the
 * server (or the tunnel in front of it) stalls, the requests that should have
 * been sent meanwhile are charged the stall (no coordinated omission). With
 * -r 0 every connection sends its next request as soon as the last answer is
 * in (saturation) and latency is measured from the actual send.
 *
 * With -n every request opens a new connection (and the latency includes the
 * TCP handshake); the time from connect() to the first response byte is kept
 * in a second histogram.
 *
 * --wait-up S polls one GET until it succeeds (tunnel up) or S seconds pass.
 *
 * Prints one JSON object on stdout. Latencies in milliseconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LG_MAX_CONNS 10000
#define LG_HDR_MAX   8192
#define LG_MAX_BODY  (1ULL << 36)
#define LG_SUB_BITS  6
#define LG_SUB	     (1 << LG_SUB_BITS)
#define LG_LINEAR    (2 * LG_SUB)
#define LG_BUCKETS   (LG_LINEAR + 58 * LG_SUB)

/*
 * Log-linear histogram of nanoseconds: values below 128 have a bucket each;
 * above, every power of two is split in 64 buckets (1.6% resolution at most).
 */
struct hist {
	uint64_t count[LG_BUCKETS];
	uint64_t n;
	uint64_t max;
	double sum;
};

enum lg_state {
	LG_IDLE, /* no request in flight; fd may hold a kept-alive connection */
	LG_CONNECTING,
	LG_SENDING,
	LG_READING,
};

struct slot {
	enum lg_state state;
	int fd;
	uint64_t due_ns;    /* when the next request is scheduled */
	uint64_t origin_ns; /* what the in-flight request's latency is measured from */
	uint64_t conn_ns;   /* connect() of the in-flight request's connection */
	size_t sent;
	size_t hlen;
	bool hdr_done;
	bool fb_seen;
	bool server_close;
	uint64_t body_left;
	char *hdr;
};

struct lg {
	struct sockaddr_in addr;
	const char *target;
	const char *path;
	char req[512];
	size_t req_len;
	int conns;
	double rate;
	double duration;
	bool new_conn;
	uint64_t timeout_ns;
	int ep;
	struct slot *slots;
	struct hist lat;
	struct hist fb;
	uint64_t ok;
	uint64_t errors;
	uint64_t timeouts;
	uint64_t bytes;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int hist_index(uint64_t v)
{
	int msb, shift;

	if (v < LG_LINEAR)
		return (int)v;
	msb = 63 - __builtin_clzll(v);
	shift = msb - LG_SUB_BITS;
	if (shift > 58)
		return LG_BUCKETS - 1;
	return LG_LINEAR + (shift - 1) * LG_SUB + (int)((v >> shift) - LG_SUB);
}

/* The middle of a bucket, the value reported for it. */
static uint64_t hist_value(int idx)
{
	int shift;
	uint64_t lo;

	if (idx < LG_LINEAR)
		return (uint64_t)idx;
	shift = (idx - LG_LINEAR) / LG_SUB + 1;
	lo = (uint64_t)((idx - LG_LINEAR) % LG_SUB + LG_SUB) << shift;
	return lo + (1ULL << shift) / 2;
}

static void hist_add(struct hist *h, uint64_t v)
{
	h->count[hist_index(v)]++;
	h->n++;
	h->sum += (double)v;
	if (v > h->max)
		h->max = v;
}

static double hist_pct_ms(const struct hist *h, double pct)
{
	uint64_t want, seen = 0;
	int i;

	if (!h->n)
		return 0;
	want = (uint64_t)(pct / 100.0 * (double)h->n);
	if (want >= h->n)
		want = h->n - 1;
	for (i = 0; i < LG_BUCKETS; i++) {
		seen += h->count[i];
		if (seen > want) {
			uint64_t v = hist_value(i);

			return (double)(v > h->max ? h->max : v) / 1e6;
		}
	}
	return (double)h->max / 1e6;
}

static void hist_print(const char *name, const struct hist *h)
{
	printf("\"%s\":{\"n\":%llu,\"p50\":%.4f,\"p90\":%.4f,\"p99\":%.4f,\"p999\":%.4f,"
	       "\"p9999\":%.4f,\"max\":%.4f,\"mean\":%.4f}",
	       name, (unsigned long long)h->n, hist_pct_ms(h, 50), hist_pct_ms(h, 90),
	       hist_pct_ms(h, 99), hist_pct_ms(h, 99.9), hist_pct_ms(h, 99.99),
	       (double)h->max / 1e6, h->n ? h->sum / (double)h->n / 1e6 : 0.0);
}

static int parse_target(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535)
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -EINVAL;
	return 0;
}

static void raise_nofile(rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_max < want) {
		rl.rlim_max = want;
		rl.rlim_cur = want;
		if (!setrlimit(RLIMIT_NOFILE, &rl))
			return;
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static void slot_close(struct lg *g, struct slot *s)
{
	if (s->fd >= 0) {
		epoll_ctl(g->ep, EPOLL_CTL_DEL, s->fd, NULL);
		close(s->fd);
	}
	s->fd = -1;
}

static int slot_watch(struct lg *g, struct slot *s, uint32_t events, int op)
{
	struct epoll_event ev = {.events = events, .data.ptr = s};

	return epoll_ctl(g->ep, op, s->fd, &ev) ? -errno : 0;
}

/* The request is over (well or not): schedule the slot's next one. */
static void slot_done(struct lg *g, struct slot *s, bool keep)
{
	uint64_t now = now_ns();

	if (!keep || g->new_conn || s->server_close)
		slot_close(g, s);
	else
		slot_watch(g, s, 0, EPOLL_CTL_MOD);
	s->state = LG_IDLE;
	if (g->rate > 0)
		s->due_ns += (uint64_t)(1e9 * g->conns / g->rate);
	else
		s->due_ns = now;
}

static void slot_fail(struct lg *g, struct slot *s)
{
	g->errors++;
	slot_done(g, s, false);
}

static void slot_send(struct lg *g, struct slot *s)
{
	ssize_t n;

	while (s->sent < g->req_len) {
		n = send(s->fd, g->req + s->sent, g->req_len - s->sent, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN) {
				slot_watch(g, s, EPOLLOUT, EPOLL_CTL_MOD);
				s->state = LG_SENDING;
				return;
			}
			slot_fail(g, s);
			return;
		}
		s->sent += (size_t)n;
	}
	s->state = LG_READING;
	s->hlen = 0;
	s->hdr_done = false;
	s->server_close = false;
	s->body_left = 0;
	if (slot_watch(g, s, EPOLLIN, EPOLL_CTL_MOD))
		slot_fail(g, s);
}

static void slot_connect(struct lg *g, struct slot *s)
{
	int one = 1;

	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		slot_fail(g, s);
		return;
	}
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->conn_ns = now_ns();
	s->fb_seen = false;
	if (connect(s->fd, (struct sockaddr *)&g->addr, sizeof(g->addr)) && errno != EINPROGRESS) {
		close(s->fd);
		s->fd = -1;
		slot_fail(g, s);
		return;
	}
	s->state = LG_CONNECTING;
	if (slot_watch(g, s, EPOLLOUT, EPOLL_CTL_ADD))
		slot_fail(g, s);
}

static void slot_start(struct lg *g, struct slot *s, uint64_t now)
{
	s->origin_ns = g->rate > 0 ? s->due_ns : now;
	s->sent = 0;
	if (s->fd < 0) {
		slot_connect(g, s);
		return;
	}
	s->conn_ns = now;
	s->fb_seen = true;
	slot_send(g, s);
}

/* Headers are complete in s->hdr[0..end): check the status, find the body length. */
static int parse_headers(struct slot *s, size_t end)
{
	char *line, *next, *stop = s->hdr + end;
	bool have_len = false;

	if (end < 12 || (memcmp(s->hdr, "HTTP/1.1 200", 12) && memcmp(s->hdr, "HTTP/1.0 200", 12)))
		return -EPROTO;
	for (line = memchr(s->hdr, '\n', end); line && line < stop; line = next) {
		line++;
		next = memchr(line, '\n', (size_t)(stop - line));
		if (!next)
			break;
		*next = '\0';
		if (!strncasecmp(line, "content-length:", 15)) {
			char *e;
			unsigned long long v = strtoull(line + 15, &e, 10);

			if (v > LG_MAX_BODY)
				return -EPROTO;
			s->body_left = v;
			have_len = true;
		} else if (!strncasecmp(line, "connection:", 11) &&
			   strcasestr(line + 11, "close")) {
			s->server_close = true;
		}
	}
	return have_len ? 0 : -EPROTO;
}

static void slot_read(struct lg *g, struct slot *s)
{
	static char buf[65536];
	ssize_t n;
	size_t off;

	for (;;) {
		n = recv(s->fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EAGAIN)
				return;
			slot_fail(g, s);
			return;
		}
		if (n == 0) {
			slot_fail(g, s);
			return;
		}
		if (!s->fb_seen) {
			hist_add(&g->fb, now_ns() - s->conn_ns);
			s->fb_seen = true;
		}
		g->bytes += (uint64_t)n;
		off = 0;
		if (!s->hdr_done) {
			size_t take = (size_t)n, old = s->hlen;
			char *e;

			if (take > LG_HDR_MAX - 1 - s->hlen)
				take = LG_HDR_MAX - 1 - s->hlen;
			memcpy(s->hdr + s->hlen, buf, take);
			s->hlen += take;
			s->hdr[s->hlen] = '\0';
			e = strstr(s->hdr, "\r\n\r\n");
			if (!e) {
				if (s->hlen >= LG_HDR_MAX - 1)
					slot_fail(g, s);
				continue;
			}
			/* the body starts this far into this read */
			off = (size_t)(e + 4 - s->hdr) - old;
			if (parse_headers(s, (size_t)(e + 4 - s->hdr))) {
				slot_fail(g, s);
				return;
			}
			s->hdr_done = true;
		}
		if ((uint64_t)n - off > s->body_left) {
			slot_fail(g, s); /* more than announced: not an answer we understand */
			return;
		}
		s->body_left -= (uint64_t)n - off;
		if (!s->body_left) {
			hist_add(&g->lat, now_ns() - s->origin_ns);
			g->ok++;
			slot_done(g, s, true);
			return;
		}
	}
}

static void slot_event(struct lg *g, struct slot *s, uint32_t ev)
{
	int err = 0;
	socklen_t len = sizeof(err);

	switch (s->state) {
	case LG_CONNECTING:
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
			slot_fail(g, s);
			return;
		}
		slot_send(g, s);
		break;
	case LG_SENDING:
		slot_send(g, s);
		break;
	case LG_READING:
		slot_read(g, s);
		break;
	case LG_IDLE:
		/* the server closed a kept-alive connection */
		if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
			slot_close(g, s);
		break;
	}
}

static int run(struct lg *g)
{
	struct epoll_event evs[256];
	uint64_t start, end, now;
	int i, n;

	g->ep = epoll_create1(EPOLL_CLOEXEC);
	if (g->ep < 0)
		return -errno;
	start = now_ns();
	end = start + (uint64_t)(g->duration * 1e9);
	for (i = 0; i < g->conns; i++) {
		g->slots[i].fd = -1;
		g->slots[i].state = LG_IDLE;
		g->slots[i].due_ns = g->rate > 0 ? start + (uint64_t)(1e9 * i / g->rate) : start;
	}
	while ((now = now_ns()) < end) {
		uint64_t next = end;
		struct timespec ts;

		for (i = 0; i < g->conns; i++) {
			struct slot *s = &g->slots[i];

			if (s->state == LG_IDLE) {
				if (s->due_ns <= now) {
					slot_start(g, s, now);
					continue;
				}
				if (s->due_ns < next)
					next = s->due_ns;
			} else if (now - s->origin_ns > g->timeout_ns && now > s->origin_ns) {
				g->timeouts++;
				slot_fail(g, s);
			}
		}
		for (i = 0; i < g->conns; i++)
			if (g->slots[i].state == LG_IDLE && g->slots[i].due_ns < next)
				next = g->slots[i].due_ns;
		now = now_ns();
		if (next > now + 10000000)
			next = now + 10000000;
		ts.tv_sec = 0;
		ts.tv_nsec = next > now ? (long)(next - now) : 0;
		n = epoll_pwait2(g->ep, evs, 256, &ts, NULL);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (i = 0; i < n; i++)
			slot_event(g, evs[i].data.ptr, evs[i].events);
	}
	for (i = 0; i < g->conns; i++)
		slot_close(g, &g->slots[i]);
	close(g->ep);
	return 0;
}

/* One blocking GET with a short timeout: 0 when it answered 200. */
static int probe_once(struct lg *g)
{
	struct timeval tv = {.tv_sec = 0, .tv_usec = 300000};
	char buf[512];
	int fd, ok = -1;
	ssize_t n;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (!connect(fd, (struct sockaddr *)&g->addr, sizeof(g->addr)) &&
	    send(fd, g->req, g->req_len, MSG_NOSIGNAL) == (ssize_t)g->req_len) {
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n >= 12 && !memcmp(buf + 9, "200", 3))
			ok = 0;
	}
	close(fd);
	return ok;
}

static int wait_up(struct lg *g, double seconds)
{
	uint64_t start = now_ns(), deadline = start + (uint64_t)(seconds * 1e9);
	struct timespec pause = {.tv_sec = 0, .tv_nsec = 2000000};
	unsigned int tries = 0;

	while (now_ns() < deadline) {
		tries++;
		if (!probe_once(g)) {
			printf("{\"up_ms\":%.3f,\"tries\":%u}\n", (double)(now_ns() - start) / 1e6,
			       tries);
			return 0;
		}
		nanosleep(&pause, NULL);
	}
	fprintf(stderr, "loadgen: %s did not answer GET %s within %.1f s\n", g->target, g->path,
		seconds);
	return 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: loadgen -t IPV4:PORT [-p PATH] [-c CONNS] [-r RATE|0] [-d SECONDS]\n"
		"               [-n] [-T TIMEOUT_MS] [--wait-up SECONDS]\n");
}

/* Free @g and its slots (a sanitizer build checks that nothing leaks). */
static void lg_free(struct lg *g)
{
	int c;

	if (g->slots)
		for (c = 0; c < g->conns; c++)
			free(g->slots[c].hdr);
	free(g->slots);
	free(g);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"target", required_argument, NULL, 't'},
		{"path", required_argument, NULL, 'p'},
		{"conns", required_argument, NULL, 'c'},
		{"rate", required_argument, NULL, 'r'},
		{"duration", required_argument, NULL, 'd'},
		{"new-conn", no_argument, NULL, 'n'},
		{"timeout", required_argument, NULL, 'T'},
		{"wait-up", required_argument, NULL, 'W'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct lg *g;
	double wait = 0;
	int c, err;

	g = calloc(1, sizeof(*g));
	if (!g)
		return 1;
	g->path = "/small";
	g->conns = 1;
	g->duration = 3;
	g->timeout_ns = 5000000000ULL;
	while ((c = getopt_long(argc, argv, "t:p:c:r:d:nT:h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			g->target = optarg;
			break;
		case 'p':
			g->path = optarg;
			break;
		case 'c':
			g->conns = atoi(optarg);
			break;
		case 'r':
			g->rate = atof(optarg);
			break;
		case 'd':
			g->duration = atof(optarg);
			break;
		case 'n':
			g->new_conn = true;
			break;
		case 'T':
			g->timeout_ns = (uint64_t)atol(optarg) * 1000000ULL;
			break;
		case 'W':
			wait = atof(optarg);
			break;
		default:
			usage();
			return c == 'h' ? 0 : 2;
		}
	}
	if (!g->target || parse_target(g->target, &g->addr) || g->conns < 1 ||
	    g->conns > LG_MAX_CONNS || g->rate < 0 || g->duration <= 0 || g->duration > 3600 ||
	    strlen(g->path) > 256 || g->path[0] != '/' || !g->timeout_ns) {
		usage();
		return 2;
	}
	g->req_len = (size_t)snprintf(g->req, sizeof(g->req),
				      "GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", g->path, g->target,
				      g->new_conn || wait > 0 ? "Connection: close\r\n" : "");
	signal(SIGPIPE, SIG_IGN);
	if (wait > 0) {
		err = wait_up(g, wait);
		lg_free(g);
		return err;
	}

	raise_nofile((rlim_t)g->conns + 64);
	g->slots = calloc((size_t)g->conns, sizeof(*g->slots));
	if (!g->slots) {
		lg_free(g);
		return 1;
	}
	for (c = 0; c < g->conns; c++) {
		g->slots[c].hdr = malloc(LG_HDR_MAX);
		if (!g->slots[c].hdr) {
			lg_free(g);
			return 1;
		}
	}
	err = run(g);
	if (err) {
		fprintf(stderr, "loadgen: event loop failed: %s\n", strerror(-err));
		lg_free(g);
		return 1;
	}
	printf("{\"target\":\"%s\",\"path\":\"%s\",\"conns\":%d,\"rate\":%.1f,\"mode\":\"%s\","
	       "\"duration_s\":%.3f,\"requests\":%llu,\"errors\":%llu,\"timeouts\":%llu,"
	       "\"rps\":%.1f,\"bytes\":%llu,",
	       g->target, g->path, g->conns, g->rate, g->new_conn ? "newconn" : "keepalive",
	       g->duration, (unsigned long long)g->ok, (unsigned long long)g->errors,
	       (unsigned long long)g->timeouts, (double)g->ok / g->duration,
	       (unsigned long long)g->bytes);
	hist_print("lat_ms", &g->lat);
	printf(",");
	hist_print("fb_ms", &g->fb);
	printf("}\n");
	lg_free(g);
	return 0;
}
