// SPDX-License-Identifier: MIT
/*
 * http_route.c - the public HTTP listener: read a request head, hand the
 * connection to the tunnel its host names, or answer the client here.
 */
#include "http_route.h"
#include "edge_limits.h"
#include "http_head.h"
#include "log.h"
#include "netaddr.h"
#include "quic.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#define HEAD_TIMEOUT_MS	 10000
#define WAITING_MAX	 1024
#define PER_SOURCE_MIN	 16	    /* a source's share of WAITING_MAX: 1/8, >= this */
#define LINGER_MS	 1000	    /* after an error answer, read what still comes */
#define LINGER_BYTES_MAX (64 << 10) /* ... but no more than this */

struct front_conn {
	struct http_front *f;
	struct front_conn *next, *prev;
	struct event *ev;
	struct pktio_addr peer;
	uint64_t deadline_ns;
	int fd;
	bool lingering;
	bool taken_back;  /* handed back to answer: not counted in waiting, no source slot */
	bool src_counted; /* holds one of its source's head slots in f->heads */
	size_t len;	  /* head bytes in @buf; discarded bytes while lingering */
	uint8_t buf[HTTP_HEAD_MAX];
};

struct http_front {
	struct event_base *base;
	struct http_front_config cfg;
	struct evconnlistener *lst;
	struct front_conn *conns;
	struct edge_src *heads; /* connections reading their head, per source address */
	struct http_front_stats st;
};

static void conn_ev_cb(evutil_socket_t fd, short what, void *arg);

static void conn_unlink(struct front_conn *fc)
{
	struct http_front *f = fc->f;

	if (fc->prev)
		fc->prev->next = fc->next;
	else
		f->conns = fc->next;
	if (fc->next)
		fc->next->prev = fc->prev;
	if (!fc->taken_back)
		f->st.waiting--;
	if (fc->src_counted)
		edge_src_put(f->heads, &fc->peer);
}

/* Drop @fc; its fd is closed unless it was handed over (-1). */
static void conn_free(struct front_conn *fc, bool release)
{
	struct http_front *f = fc->f;

	conn_unlink(fc);
	event_free(fc->ev);
	if (fc->fd >= 0)
		close(fc->fd);
	if (release && !fc->taken_back && f->cfg.release)
		f->cfg.release(f->cfg.arg, &fc->peer);
	free(fc);
}

/* Wait for @fc's socket until its deadline; false when it has passed. */
static bool conn_rearm(struct front_conn *fc)
{
	uint64_t now = quic_now_ns(), left;
	struct timeval tv;

	if (now >= fc->deadline_ns)
		return false;
	left = fc->deadline_ns - now;
	tv.tv_sec = (time_t)(left / 1000000000ull);
	tv.tv_usec = (suseconds_t)(left % 1000000000ull / 1000);
	return !event_add(fc->ev, &tv);
}

/*
 * Answer @status with a short text body and close: our side is shut at
 * once, the client's bytes are read and dropped for a moment, so its kernel
 * does not see a reset before it read the answer.
 */
static void conn_answer(struct front_conn *fc, int status, const char *reason, const char *body)
{
	char resp[512];
	int n;

	n = snprintf(resp, sizeof(resp),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		     status, reason, strlen(body), body);
	if (n > 0 && (size_t)n < sizeof(resp))
		(void)send(fc->fd, resp, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	shutdown(fc->fd, SHUT_WR);
	fc->lingering = true;
	fc->len = 0;
	fc->deadline_ns = quic_now_ns() + (uint64_t)LINGER_MS * 1000000;
	if (!conn_rearm(fc))
		conn_free(fc, true);
}

static void conn_route(struct front_conn *fc, const struct http_head *h)
{
	struct http_front *f = fc->f;
	int err;

	err = f->cfg.route(f->cfg.arg, h->host, fc->fd, &fc->peer, fc->buf, fc->len);
	if (!err) {
		f->st.routed++;
		fc->fd = -1;
		conn_free(fc, false);
		return;
	}
	switch (err) {
	case -ENOENT:
		f->st.not_found++;
		conn_answer(fc, 404, "Not Found", "beam: no tunnel for this host\n");
		break;
	case -ENOTCONN:
		f->st.unavailable++;
		conn_answer(fc, 503, "Service Unavailable",
			    "beam: the tunnel's agent is offline\n");
		break;
	case -EBUSY:
		f->st.unavailable++;
		conn_answer(fc, 503, "Service Unavailable", "beam: too busy\n");
		break;
	default:
		f->st.failed++;
		conn_answer(fc, 502, "Bad Gateway",
			    "beam: the tunnel could not take the request\n");
		break;
	}
}

static void conn_read_head(struct front_conn *fc)
{
	struct http_front *f = fc->f;
	char addr[NETADDR_STR_MAX];
	struct http_head h;
	ssize_t n;
	int err;

	n = recv(fc->fd, fc->buf + fc->len, sizeof(fc->buf) - fc->len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		if (!conn_rearm(fc))
			goto timeout;
		return;
	}
	if (n <= 0) {
		conn_free(fc, true); /* gone before asking anything */
		return;
	}
	fc->len += (size_t)n;
	err = http_head_parse(fc->buf, fc->len, &h);
	if (!err) {
		conn_route(fc, &h);
		return;
	}
	if (err == -EBADMSG) {
		f->st.bad_request++;
		pr_info_rl("http: bad request from %s: %s",
			   netaddr_str(&fc->peer, addr, sizeof(addr)), h.why);
		conn_answer(fc, 400, "Bad Request", "beam: bad request\n");
		return;
	}
	if (fc->len == sizeof(fc->buf)) {
		f->st.too_large++;
		conn_answer(fc, 431, "Request Header Fields Too Large",
			    "beam: request head too large\n");
		return;
	}
	if (conn_rearm(fc))
		return;
timeout:
	f->st.timeout++;
	conn_answer(fc, 408, "Request Timeout", "beam: request head not complete in time\n");
}

static void conn_linger(struct front_conn *fc, short what)
{
	uint8_t sink[4096];
	ssize_t n;

	if (what & EV_TIMEOUT) {
		conn_free(fc, true);
		return;
	}
	n = recv(fc->fd, sink, sizeof(sink), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		if (!conn_rearm(fc))
			conn_free(fc, true);
		return;
	}
	if (n > 0)
		fc->len += (size_t)n;
	if (n <= 0 || fc->len > LINGER_BYTES_MAX || !conn_rearm(fc))
		conn_free(fc, true);
}

static void conn_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct front_conn *fc = arg;

	(void)fd;
	if (fc->lingering) {
		conn_linger(fc, what);
		return;
	}
	if (what & EV_TIMEOUT) {
		fc->f->st.timeout++;
		conn_answer(fc, 408, "Request Timeout",
			    "beam: request head not complete in time\n");
		return;
	}
	conn_read_head(fc);
}

/* A new front connection for @fd from @peer, in @f's list; NULL when out of
 * memory (the caller keeps @fd). */
static struct front_conn *conn_new(struct http_front *f, int fd, const struct pktio_addr *peer)
{
	struct front_conn *fc = malloc(sizeof(*fc));

	if (!fc)
		return NULL;
	memset(fc, 0, offsetof(struct front_conn, buf));
	fc->f = f;
	fc->fd = fd;
	fc->peer = *peer;
	fc->ev = event_new(f->base, fd, EV_READ, conn_ev_cb, fc);
	if (!fc->ev) {
		free(fc);
		return NULL;
	}
	fc->next = f->conns;
	if (f->conns)
		f->conns->prev = fc;
	f->conns = fc;
	return fc;
}

void http_front_fail(struct http_front *f, int fd)
{
	struct pktio_addr peer = {.len = sizeof(peer.in6)};
	struct front_conn *fc;

	if (getpeername(fd, &peer.sa, &peer.len))
		peer.len = 0;
	fc = conn_new(f, fd, &peer);
	if (!fc) {
		close(fd);
		return;
	}
	fc->taken_back = true;
	f->st.failed++;
	conn_answer(fc, 502, "Bad Gateway", "beam: the tunnel's service did not answer\n");
}

static void front_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			    int salen, void *arg)
{
	struct http_front *f = arg;
	struct front_conn *fc;
	struct pktio_addr peer = {0};
	char addr[NETADDR_STR_MAX];
	int err;

	(void)l;
	if ((size_t)salen <= sizeof(peer.in6)) {
		memcpy(&peer.sa, sa, (size_t)salen);
		peer.len = (socklen_t)salen;
	}
	if (f->st.waiting >= f->cfg.max_waiting) {
		f->st.refused++;
		pr_warn_rl("http: %llu connections are reading their request head: refusing more",
			   (unsigned long long)f->st.waiting);
		close(fd);
		return;
	}
	/* once 3/4 of the head slots are taken, a source holding its share
	 * gets no more: a slowloris from one address cannot lock everyone else
	 * out, and a burst of quick clients behind one address still fits */
	err = edge_src_get(f->heads, &peer,
			   f->st.waiting >= f->cfg.max_waiting - f->cfg.max_waiting / 4
				   ? f->cfg.max_waiting_per_source
				   : UINT64_MAX);
	if (err == -EBUSY) {
		f->st.refused_source++;
		pr_warn_rl("http: %s holds %u+ unfinished request heads: refusing more from it",
			   netaddr_str(&peer, addr, sizeof(addr)), f->cfg.max_waiting_per_source);
		close(fd);
		return;
	}
	if (err) {
		f->st.refused++;
		close(fd);
		return;
	}
	if (f->cfg.admit && f->cfg.admit(f->cfg.arg, &peer)) {
		edge_src_put(f->heads, &peer);
		f->st.refused++;
		close(fd);
		return;
	}
	fc = conn_new(f, fd, &peer);
	if (!fc)
		goto err_release;
	fc->src_counted = true;
	fc->deadline_ns = quic_now_ns() + (uint64_t)f->cfg.head_timeout_ms * 1000000;
	f->st.waiting++;
	if (!conn_rearm(fc))
		conn_free(fc, true);
	return;

err_release:
	edge_src_put(f->heads, &peer);
	close(fd);
	if (f->cfg.release)
		f->cfg.release(f->cfg.arg, &peer);
}

int http_front_new(struct http_front **out, struct event_base *base,
		   const struct http_front_config *cfg)
{
	struct pktio_addr a = cfg->listen;
	char buf[NETADDR_STR_MAX];
	struct http_front *f;
	int fd, one = 1, zero = 0, err;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->base = base;
	f->cfg = *cfg;
	if (!f->cfg.head_timeout_ms)
		f->cfg.head_timeout_ms = HEAD_TIMEOUT_MS;
	if (!f->cfg.max_waiting)
		f->cfg.max_waiting = WAITING_MAX;
	if (!f->cfg.max_waiting_per_source)
		f->cfg.max_waiting_per_source = f->cfg.max_waiting / 8 > PER_SOURCE_MIN
							? f->cfg.max_waiting / 8
							: PER_SOURCE_MIN;
	err = edge_src_new(&f->heads);
	if (err)
		goto err_free;
	fd = socket(a.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		goto err_free;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::]:PORT takes IPv4 clients too, whatever net.ipv6.bindv6only says */
	if (a.sa.sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (cfg->reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one))) {
		err = -errno;
		close(fd);
		goto err_free;
	}
	if (bind(fd, &a.sa, a.len) || listen(fd, 4096)) {
		err = -errno;
		close(fd);
		goto err_free;
	}
	f->cfg.listen.len = sizeof(f->cfg.listen.in6);
	getsockname(fd, &f->cfg.listen.sa, &f->cfg.listen.len);
	/* backlog 0: keep listen()'s 4096 (-1 would set 128 again) */
	f->lst = evconnlistener_new(base, front_accept_cb, f, LEV_OPT_CLOSE_ON_FREE, 0, fd);
	if (!f->lst) {
		close(fd);
		err = -ENOMEM;
		goto err_free;
	}
	pr_info("listening for public http on tcp %s",
		netaddr_str(&f->cfg.listen, buf, sizeof(buf)));
	*out = f;
	return 0;

err_free:
	pr_err("failed to listen for public http on %s: %s",
	       netaddr_str(&cfg->listen, buf, sizeof(buf)), strerror(-err));
	edge_src_free(f->heads);
	free(f);
	return err;
}

void http_front_local(const struct http_front *f, struct pktio_addr *out)
{
	*out = f->cfg.listen;
}

void http_front_stats(const struct http_front *f, struct http_front_stats *out)
{
	*out = f->st;
}

void http_front_free(struct http_front *f)
{
	if (!f)
		return;
	while (f->conns)
		conn_free(f->conns, true);
	evconnlistener_free(f->lst);
	edge_src_free(f->heads);
	free(f);
}
