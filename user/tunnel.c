// SPDX-License-Identifier: MIT
/*
 * tunnel.c - beamd's tunnel registry.
 *
 * A session is an agent's QUIC connection; its first bidirectional stream is
 * the control stream. A tunnel is a public TCP listener owned by a session.
 * When the session goes, its tunnels stay (listener bound, new clients
 * reset) for the grace period; a REGISTER with the same token name and
 * tunnel name in that time takes the tunnel back with its port.
 */
#include "tunnel.h"
#include "daemon_maps.h"
#include "edge_hub.h"
#include "edge_stats.h"
#include "hist.h"
#include "edge_limits.h"
#include "http_head.h"
#include "http_route.h"
#include "log.h"
#include "netaddr.h"
#include "pktio_mux.h"
#include "pktio_udp.h"
#include "proto.h"
#include "quic.h"
#include "tcp_tail.h"
#include "tokens.h"
#include "udp_pub.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#define CTRL_BUF_MAX (2 * (PROTO_MAX_PAYLOAD + 16))
/* failed HELLOs: counted for this many source addresses, a burst of this
 * many each, then one more per AUTH_FAIL_REFILL ns */
#define AUTH_SRC_SLOTS	  256
#define AUTH_FAIL_BURST	  10
#define AUTH_FAIL_REFILL  (5 * 1000000000ull)
#define PENDING_MAX	  4096 /* public connections waiting for a stream, per tunnel */
#define TUNNELS_PER_AGENT 64
#define TUNNEL_ID_BUCKETS 256 /* ids are sequential: id % 256 spreads them evenly */

struct session;

struct pending_conn {
	struct pending_conn *next;
	int fd;
	struct pktio_addr peer;
	uint8_t *head; /* http: bytes read to route it, sent first */
	size_t head_len;
};

/* One public connection carried as a stream: what its close gives back. */
struct pub_stream {
	struct tunnel *t; /* NULL once the tunnel is gone */
	struct pub_stream *next, *prev;
	struct pktio_addr peer;
};

struct tunnel {
	struct edge *e;
	struct tunnel *next;
	struct tunnel *id_next; /* chain of its bucket in edge.by_id */
	struct session *sess;	/* NULL while in the grace period */
	uint64_t id;
	uint16_t port;
	char token_name[TOKENS_MAX_NAME + 1];
	char name[PROTO_MAX_NAME + 1];
	struct evconnlistener *lst; /* tcp only; http shares the edge's front */
	struct udp_pub *udp;	    /* udp only: the public socket and its flows */
	struct event *grace;
	struct pending_conn *pend_head, *pend_tail;
	unsigned int npend;
	struct pub_stream *streams; /* open public connections */
	uint64_t nstreams;
	uint64_t conns_total;
	struct quic_bytes bytes; /* rx: to the public client, tx: from it */
	uint8_t kind;		 /* enum proto_kind */
	bool claimed;		 /* another agent asked for it: its holder is probed */
};

struct session {
	struct edge *e;
	struct session *next;
	struct quic_conn *c;
	struct quic_stream *ctrl;
	bool authed;
	bool refused; /* closing after a failed HELLO: ignore what follows it */
	bool revoked; /* its token left the tokens file: no grace for its tunnels */
	char token_name[TOKENS_MAX_NAME + 1];
	/* the token it authenticated with, to check again after a reload; wiped */
	uint8_t token[TOKENS_MAX_TOKEN];
	size_t token_len;
	char peer[NETADDR_STR_MAX];
	uint8_t rx[CTRL_BUF_MAX];
	size_t rx_len;
	unsigned int ntunnels;
	uint64_t serial;     /* tells a hand-over reply this session from a new one */
	bool counted;	     /* holds one of its token's connection slots in the hub */
	struct beam_cid cid; /* its key in the conns map, len 0 until put */
};

/* Failed authentications of one source address: a token bucket. */
struct auth_src {
	uint8_t addr[16]; /* IPv6, or IPv4-mapped */
	uint64_t last_ns; /* last refill; 0: a free slot */
	unsigned int left;
};

struct edge {
	struct event_base *base;
	struct edge_config cfg;
	struct quic_ep *ep;
	struct session *sessions;
	struct tunnel *tunnels;
	struct tunnel *by_id[TUNNEL_ID_BUCKETS]; /* every datagram looks its tunnel up */
	struct claim *claims;			 /* REGISTERs waiting for a holder's probe */
	struct edge_hub *hub;			 /* shared with the other workers */
	int udp_fd;				 /* the QUIC socket, owned by the ep */
	struct pktio *mux; /* the ep's back end in XDP mode (read for /metrics), or NULL */
	bool own_hub;	   /* made by edge_new for a lone edge */
	uint64_t next_serial;
	/* Counts for /metrics; the cumulative ones include closed connections. */
	struct edge_stats *stats;
	struct event *stats_ev;
	struct event *tokens_ev; /* every second: was the tokens file reloaded? */
	uint64_t tokens_gen;	 /* the tokens_generation its sessions were checked at */
	uint64_t handshakes_ok, handshakes_failed, auth_failed, auth_throttled;
	uint64_t agents_gone[EDGE_GONE__MAX];
	struct auth_src auth_srcs[AUTH_SRC_SLOTS]; /* the least recently seen is reused */
	uint64_t handoffs_tunnel, handoffs_http;   /* taken from / sent to other workers */
	uint64_t limit_hits[EDGE_LIMIT__MAX];
	uint64_t closed_streams_ok, closed_streams_reset, closed_bytes_in, closed_bytes_out;
	struct http_front *http; /* the public HTTP listener, or NULL */
	uint16_t http_port;
	uint64_t udp_to_agent, udp_to_public;
	uint64_t udp_drops[EDGE_UDP_DROP__MAX];
	struct udp_pub_stats udp_closed; /* counts of udp tunnels already freed */
};

static void tunnel_drain(struct tunnel *t);

static void pending_free(struct pending_conn *p)
{
	free(p->head);
	free(p);
}

/* A limit refuses @what: count it, say so (rate-limited). */
/* Count a refusal by limit @l and log it; @fmt says what was refused and
 * whose it was (the tunnel, token or address that hit the limit). */
__attribute__((format(printf, 3, 4))) static void limit_hit(struct edge *e, enum edge_limit l,
							    const char *fmt, ...)
{
	char what[160];
	va_list ap;

	e->limit_hits[l]++;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	pr_warn_rl("limit %s=%llu reached: refusing %s", edge_limit_name(l),
		   (unsigned long long)e->cfg.limits.max[l], what);
}

/* limit_hit for a public connection from @peer. */
static void limit_hit_src(struct edge *e, const struct pktio_addr *peer)
{
	char addr[NETADDR_STR_MAX];

	limit_hit(e, EDGE_LIMIT_CONNS_PER_SOURCE, "a public connection from %s",
		  netaddr_str(peer, addr, sizeof(addr)));
}

/* A public connection that was counted against its source is gone. */
static void pub_gone(struct edge *e, const struct pktio_addr *peer)
{
	edge_hub_src_put(e->hub, peer);
}

/* ---- control messages -------------------------------------------------- */

static void ctrl_send(struct session *ss, const struct proto_msg *m)
{
	uint8_t buf[PROTO_MAX_PAYLOAD + 16];
	int n;

	if (!ss->ctrl)
		return;
	n = proto_encode(m, buf, sizeof(buf));
	if (n < 0) {
		pr_err("failed to encode control message type %llu: %s",
		       (unsigned long long)m->type, strerror(-n));
		return;
	}
	quic_stream_write(ss->ctrl, buf, (size_t)n, false);
}

static void ctrl_error(struct session *ss, uint64_t code, uint64_t req, const char *reason)
{
	struct proto_msg m = {.type = PROTO_ERROR};

	m.error.code = code;
	m.error.req_id = req;
	m.error.reason.data = (const uint8_t *)reason;
	m.error.reason.len = strlen(reason);
	ctrl_send(ss, &m);
}

/* The failure bucket of @peer, refilled up to now; a new or reused slot when absent. */
static struct auth_src *auth_src_get(struct edge *e, const struct pktio_addr *peer)
{
	struct auth_src *a, *lru = &e->auth_srcs[0];
	uint64_t now = quic_now_ns(), n;
	uint8_t key[16] = {0};
	unsigned int i;

	if (peer->sa.sa_family == AF_INET6) {
		memcpy(key, &peer->in6.sin6_addr, 16);
		/* one IPv6 host has a /64 to pick from: count the prefix */
		if (!IN6_IS_ADDR_V4MAPPED(&peer->in6.sin6_addr))
			memset(&key[8], 0, 8);
	} else {
		key[10] = key[11] = 0xff;
		memcpy(&key[12], &peer->in.sin_addr, 4);
	}
	for (i = 0; i < AUTH_SRC_SLOTS; i++) {
		a = &e->auth_srcs[i];
		if (a->last_ns && !memcmp(a->addr, key, sizeof(key)))
			goto refill;
		if (a->last_ns < lru->last_ns)
			lru = a;
	}
	a = lru;
	memcpy(a->addr, key, sizeof(key));
	a->left = AUTH_FAIL_BURST;
	a->last_ns = now;
	return a;
refill:
	n = (now - a->last_ns) / AUTH_FAIL_REFILL;
	if (n) {
		a->left = n >= AUTH_FAIL_BURST - a->left ? AUTH_FAIL_BURST
							 : a->left + (unsigned int)n;
		a->last_ns += n * AUTH_FAIL_REFILL;
	}
	if (a->left == AUTH_FAIL_BURST)
		a->last_ns = now;
	return a;
}

static void handle_hello(struct session *ss, const struct proto_msg *m)
{
	struct auth_src *src = NULL;
	struct proto_msg w = {.type = PROTO_WELCOME};
	char name[TOKENS_MAX_NAME + 1];

	if (m->hello.version != PROTO_VERSION) {
		pr_warn("agent %s: unsupported beam protocol version %llu", ss->peer,
			(unsigned long long)m->hello.version);
		ss->refused = true;
		quic_conn_close(ss->c, PROTO_ERR_VERSION, "unsupported protocol version");
		return;
	}
	if (!ss->authed) {
		src = auth_src_get(ss->e, quic_conn_peer(ss->c));
		if (!src->left) {
			/* a guesser: not even a look at its token; a distinct
			 * code, so a good agent behind the same address waits */
			ss->e->auth_throttled++;
			pr_warn_rl("agent %s: refused unchecked: too many failed authentications",
				   ss->peer);
			ss->refused = true;
			quic_conn_close(ss->c, PROTO_ERR_THROTTLED,
					"too many failed authentications from this address");
			return;
		}
	}
	if (tokens_lookup(ss->e->cfg.tokens, m->hello.token.data, m->hello.token.len, name)) {
		ss->e->auth_failed++;
		if (src)
			src->left--;
		pr_warn_rl("agent %s: authentication failed: unknown token", ss->peer);
		ss->refused = true;
		quic_conn_close(ss->c, PROTO_ERR_AUTH, "authentication failed: unknown token");
		return;
	}
	if (ss->authed && strcmp(name, ss->token_name)) {
		ss->refused = true;
		quic_conn_close(ss->c, PROTO_ERR_AUTH, "a second HELLO with another token");
		return;
	}
	if (!ss->authed) {
		int err = edge_hub_token_conn_get(
			ss->e->hub, name, ss->e->cfg.limits.max[EDGE_LIMIT_CONNS_PER_TOKEN]);

		if (err == -EBUSY) {
			limit_hit(ss->e, EDGE_LIMIT_CONNS_PER_TOKEN,
				  "an agent connection from %s for token '%s'", ss->peer, name);
			ss->refused = true;
			quic_conn_close(ss->c, PROTO_ERR_LIMIT,
					"too many connections for this token");
			return;
		}
		if (err) {
			ss->refused = true;
			quic_conn_close(ss->c, PROTO_ERR_INTERNAL, "out of memory");
			return;
		}
		ss->counted = true;
	}
	ss->authed = true;
	snprintf(ss->token_name, sizeof(ss->token_name), "%s", name);
	/* a token that matched is no longer than the table's longest */
	ss->token_len =
		m->hello.token.len < sizeof(ss->token) ? m->hello.token.len : sizeof(ss->token);
	memcpy(ss->token, m->hello.token.data, ss->token_len);
	pr_info("agent %s authenticated as '%s'", ss->peer, name);
	w.welcome.version = PROTO_VERSION;
	w.welcome.grace_s = ss->e->cfg.grace_s;
	w.welcome.name.data = (const uint8_t *)ss->token_name;
	w.welcome.name.len = strlen(ss->token_name);
	ctrl_send(ss, &w);
}

/* Free @t; @forget: also drop it from the registry (not when it moves to
 * another worker, which gets dups of its sockets). */
static void tunnel_destroy(struct tunnel *t, bool forget)
{
	struct edge *e = t->e;
	struct tunnel **pp;

	if (forget) {
		edge_hub_lock(e->hub);
		edge_hub_del(e->hub, t->id);
		edge_hub_unlock(e->hub);
	}
	for (pp = &e->tunnels; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	for (pp = &e->by_id[t->id % TUNNEL_ID_BUCKETS]; *pp; pp = &(*pp)->id_next) {
		if (*pp == t) {
			*pp = t->id_next;
			break;
		}
	}
	while (t->pend_head) {
		struct pending_conn *p = t->pend_head;

		t->pend_head = p->next;
		close(p->fd);
		pub_gone(e, &p->peer);
		pending_free(p);
	}
	for (struct pub_stream *ps = t->streams; ps; ps = ps->next)
		ps->t = NULL; /* the streams live on until they close */
	if (t->sess) {
		t->sess->ntunnels--;
		quic_conn_forget_bytes(t->sess->c, &t->bytes);
	}
	if (t->lst)
		evconnlistener_free(t->lst);
	if (t->udp) {
		struct udp_pub_stats us;

		udp_pub_stats(t->udp, &us);
		e->udp_closed.drop_flows += us.drop_flows;
		e->udp_closed.drop_noflow += us.drop_noflow;
		e->udp_closed.drop_send += us.drop_send;
		e->udp_closed.drop_full += us.drop_full;
		udp_pub_free(t->udp);
	}
	if (t->grace)
		event_free(t->grace);
	free(t);
}

static void tunnel_free(struct tunnel *t)
{
	tunnel_destroy(t, true);
}

static void reset_fd(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* Close public connection @fd that its tunnel failed: an http client that got
 * nothing yet hears 502 from the front, others see a reset. */
static void pub_abort(struct edge *e, int fd, bool http)
{
	if (http && e->http)
		http_front_fail(e->http, fd);
	else
		reset_fd(fd);
}

/* Carry one public connection to the agent: a new stream, header, the
 * @head bytes already read from @fd (http), then the connection's bytes. */
static int tunnel_open_stream(struct tunnel *t, int fd, const struct pktio_addr *peer,
			      const uint8_t *head, size_t head_len)
{
	struct proto_stream_hdr h = {.tunnel_id = t->id};
	uint8_t buf[PROTO_STREAM_HDR_MAX];
	struct pub_stream *ps;
	struct quic_stream *s;
	int n, err;

	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return -ENOMEM;
	err = quic_stream_open(t->sess->c, &s);
	if (err) {
		free(ps);
		return err;
	}
	if (peer->sa.sa_family == AF_INET6 && !IN6_IS_ADDR_V4MAPPED(&peer->in6.sin6_addr)) {
		h.family = 6;
		memcpy(h.addr, &peer->in6.sin6_addr, 16);
		h.port = ntohs(peer->in6.sin6_port);
	} else if (peer->sa.sa_family == AF_INET6) {
		h.family = 4;
		memcpy(h.addr, &peer->in6.sin6_addr.s6_addr[12], 4);
		h.port = ntohs(peer->in6.sin6_port);
	} else {
		h.family = 4;
		memcpy(h.addr, &peer->in.sin_addr, 4);
		h.port = ntohs(peer->in.sin_port);
	}
	n = proto_stream_hdr_encode(&h, buf, sizeof(buf));
	if (n < 0 || quic_stream_write(s, buf, (size_t)n, false) ||
	    (head_len && quic_stream_write(s, head, head_len, false))) {
		quic_stream_reset(s, PROTO_ERR_INTERNAL);
		free(ps);
		return -EIO;
	}
	ps->t = t;
	ps->peer = *peer;
	ps->next = t->streams;
	if (t->streams)
		t->streams->prev = ps;
	t->streams = ps;
	t->nstreams++;
	quic_stream_set_user(s, ps);
	quic_stream_set_bytes(s, &t->bytes);
	if (t->kind == PROTO_KIND_HTTP)
		quic_stream_handoff_on_abort(s);
	t->conns_total++;
	/* the stream owns @fd from here, also when this fails: it resets it */
	quic_stream_attach_tcp(s, fd, false);
	return 0;
}

/*
 * Take public connection @fd for @t (the tcp listener, or the http front
 * with the @head bytes it read): a stream now, or a place in the queue of
 * connections waiting for stream credit or the handshake. Returns 0 (@fd
 * and its source slot are the tunnel's), or -errno with @fd left to the
 * caller: -ENOTCONN the agent is away, -EBUSY a limit.
 */
static int tunnel_take(struct tunnel *t, int fd, const struct pktio_addr *peer, const uint8_t *head,
		       size_t head_len)
{
	struct edge *e = t->e;
	struct pending_conn *p;
	int err;

	if (!t->sess)
		return -ENOTCONN; /* the agent is gone: refuse until it returns */
	if (t->nstreams + t->npend >= e->cfg.limits.max[EDGE_LIMIT_STREAMS_PER_TUNNEL]) {
		limit_hit(e, EDGE_LIMIT_STREAMS_PER_TUNNEL,
			  "a public connection to tunnel %llu ('%s')", (unsigned long long)t->id,
			  t->name);
		return -EBUSY;
	}
	if (edge_hub_buffers(e->hub, e->cfg.worker_id, quic_ep_buffer_bytes(e->ep)) >=
	    e->cfg.limits.max[EDGE_LIMIT_STREAM_BUFFERS]) {
		limit_hit(e, EDGE_LIMIT_STREAM_BUFFERS, "a public connection to tunnel %llu ('%s')",
			  (unsigned long long)t->id, t->name);
		return -EBUSY;
	}
	edge_limits_tcp_dead_peer(fd, e->cfg.idle_timeout_s);
	if (!t->pend_head && quic_conn_handshake_done(t->sess->c)) {
		err = tunnel_open_stream(t, fd, peer, head, head_len);
		if (!err) {
			quic_conn_flush(t->sess->c);
			return 0;
		}
		if (err != -EAGAIN)
			return err;
	}
	/* no stream credit yet (or tunnel data before the handshake finished): wait */
	if (t->npend >= PENDING_MAX || !(p = calloc(1, sizeof(*p)))) {
		pr_warn_rl("tunnel %llu: too many public connections waiting for the agent",
			   (unsigned long long)t->id);
		return -EBUSY;
	}
	if (head_len) {
		p->head = malloc(head_len);
		if (!p->head) {
			free(p);
			return -ENOMEM;
		}
		memcpy(p->head, head, head_len);
		p->head_len = head_len;
	}
	p->fd = fd;
	p->peer = *peer;
	if (t->pend_tail)
		t->pend_tail->next = p;
	else
		t->pend_head = p;
	t->pend_tail = p;
	t->npend++;
	return 0;
}

static void tunnel_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			     int salen, void *arg)
{
	struct tunnel *t = arg;
	struct edge *e = t->e;
	struct pktio_addr peer = {0};
	int err;

	(void)l;
	if ((size_t)salen <= sizeof(peer.in6)) {
		memcpy(&peer.sa, sa, (size_t)salen);
		peer.len = (socklen_t)salen;
	}
	if (!t->sess) {
		reset_fd(fd);
		return;
	}
	err = edge_hub_src_get(e->hub, &peer, e->cfg.limits.max[EDGE_LIMIT_CONNS_PER_SOURCE]);
	if (err) {
		if (err == -EBUSY)
			limit_hit_src(e, &peer);
		reset_fd(fd);
		return;
	}
	err = tunnel_take(t, fd, &peer, NULL, 0);
	if (err) {
		reset_fd(fd);
		pub_gone(e, &peer);
	}
}

/* ---- the public HTTP front: routing by host ----------------------------- */

static int edge_http_admit(void *arg, const struct pktio_addr *peer)
{
	struct edge *e = arg;
	int err;

	err = edge_hub_src_get(e->hub, peer, e->cfg.limits.max[EDGE_LIMIT_CONNS_PER_SOURCE]);
	if (err == -EBUSY)
		limit_hit_src(e, peer);
	return err;
}

static void edge_http_release(void *arg, const struct pktio_addr *peer)
{
	pub_gone(arg, peer);
}

static void tunnel_drain(struct tunnel *t)
{
	while (t->pend_head && t->sess && quic_conn_handshake_done(t->sess->c)) {
		struct pending_conn *p = t->pend_head;
		int err = tunnel_open_stream(t, p->fd, &p->peer, p->head, p->head_len);

		if (err == -EAGAIN)
			break;
		if (err) {
			pub_abort(t->e, p->fd, p->head_len);
			pub_gone(t->e, &p->peer);
		}
		t->pend_head = p->next;
		if (!t->pend_head)
			t->pend_tail = NULL;
		t->npend--;
		pending_free(p);
	}
	if (t->sess)
		quic_conn_flush(t->sess->c);
}

static int tunnel_listen(struct edge *e, uint16_t port, struct evconnlistener **out,
			 uint16_t *bound)
{
	struct pktio_addr a = e->cfg.public_bind;
	struct evconnlistener *l;
	int fd, one = 1, zero = 0, err;

	if (a.sa.sa_family == AF_INET6)
		a.in6.sin6_port = htons(port);
	else
		a.in.sin_port = htons(port);
	fd = socket(a.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a.sa.sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, &a.sa, a.len) || listen(fd, 4096)) {
		err = -errno;
		close(fd);
		return err;
	}
	a.len = sizeof(a.in6);
	getsockname(fd, &a.sa, &a.len);
	*bound = ntohs(a.sa.sa_family == AF_INET6 ? a.in6.sin6_port : a.in.sin_port);
	/* backlog 0: keep listen()'s 4096; -1 would make libevent listen(fd, 128)
	 * again, and a burst of connections would overflow into SYN cookies */
	l = evconnlistener_new(e->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE, 0, fd);
	if (!l) {
		close(fd);
		return -ENOMEM;
	}
	*out = l;
	return 0;
}

/* ---- udp tunnels: datagrams both ways ---------------------------------- */

static void udp_drop(struct edge *e, enum edge_udp_drop why)
{
	e->udp_drops[why]++;
}

/* A public client's datagram: to the agent as one DATAGRAM frame. */
static void tunnel_udp_recv(void *arg, uint64_t flow_id, const uint8_t *data, size_t len)
{
	struct proto_dgram_hdr h = {.flow_id = flow_id};
	uint8_t buf[PROTO_DGRAM_HDR_MAX + 1500];
	struct tunnel *t = arg;
	struct edge *e = t->e;
	int n, err;

	if (!t->sess || !quic_conn_handshake_done(t->sess->c)) {
		udp_drop(e, EDGE_UDP_DROP_NO_AGENT);
		return;
	}
	h.tunnel_id = t->id;
	n = proto_dgram_hdr_encode(&h, buf, PROTO_DGRAM_HDR_MAX);
	if (n < 0 || len > sizeof(buf) - (size_t)n ||
	    (size_t)n + len > quic_conn_datagram_max(t->sess->c)) {
		udp_drop(e, EDGE_UDP_DROP_TOO_BIG);
		return;
	}
	memcpy(buf + n, data, len);
	err = quic_conn_send_datagram(t->sess->c, buf, (size_t)n + len);
	if (!err) {
		e->udp_to_agent++;
		t->bytes.tx += len;
		return;
	}
	if (err == -ENOBUFS || err == -ENOMEM)
		udp_drop(e, EDGE_UDP_DROP_QUEUE_FULL);
	else if (err == -EMSGSIZE)
		udp_drop(e, EDGE_UDP_DROP_TOO_BIG);
	else
		udp_drop(e, EDGE_UDP_DROP_NO_AGENT);
}

/* After a batch of public datagrams: send them in as few trains as can be. */
static void tunnel_udp_flush(void *arg)
{
	struct tunnel *t = arg;

	if (t->sess)
		quic_conn_flush(t->sess->c);
}

/* Open @t's public socket on @port, or adopt @fd (a moved tunnel's) when >= 0. */
static int tunnel_udp_open(struct tunnel *t, uint16_t port, int fd)
{
	struct udp_pub_config uc = {
		.bind = t->e->cfg.public_bind,
		.max_flows = (unsigned int)t->e->cfg.limits.max[EDGE_LIMIT_UDP_FLOWS],
		.adopt = fd >= 0,
		.fd = fd,
		.recv = tunnel_udp_recv,
		.flush = tunnel_udp_flush,
		.arg = t,
	};
	int err;

	if (uc.bind.sa.sa_family == AF_INET6)
		uc.bind.in6.sin6_port = htons(port);
	else
		uc.bind.in.sin_port = htons(port);
	err = udp_pub_new(&t->udp, t->e->base, &uc);
	if (!err)
		t->port = udp_pub_port(t->udp);
	return err;
}

static struct tunnel *tunnel_by_id(struct edge *e, uint64_t id)
{
	struct tunnel *t;

	for (t = e->by_id[id % TUNNEL_ID_BUCKETS]; t; t = t->id_next)
		if (t->id == id)
			return t;
	return NULL;
}

/* A new or adopted tunnel joins this worker's list and id table (its id set). */
static void tunnel_link(struct edge *e, struct tunnel *t)
{
	struct tunnel **b = &e->by_id[t->id % TUNNEL_ID_BUCKETS];

	t->next = e->tunnels;
	e->tunnels = t;
	t->id_next = *b;
	*b = t;
}

/* A DATAGRAM frame from an agent: the answer for one public flow. */
static void edge_datagram_cb(struct quic_conn *c, const uint8_t *data, size_t len, void *arg)
{
	struct session *ss = quic_conn_user(c);
	struct proto_dgram_hdr h;
	struct edge *e = arg;
	struct tunnel *t;
	int n;

	n = proto_dgram_hdr_decode(data, len, &h);
	if (n < 0) {
		udp_drop(e, EDGE_UDP_DROP_MALFORMED);
		return;
	}
	t = tunnel_by_id(e, h.tunnel_id);
	if (!t || !ss || t->sess != ss || !t->udp) {
		udp_drop(e, EDGE_UDP_DROP_MALFORMED);
		pr_debug_rl("agent sent a datagram for tunnel %llu it does not own",
			    (unsigned long long)h.tunnel_id);
		return;
	}
	if (udp_pub_send(t->udp, h.flow_id, data + n, len - (size_t)n))
		return; /* counted by udp_pub */
	e->udp_to_public++;
	t->bytes.rx += len - (size_t)n;
}

static void send_registered(struct session *ss, uint64_t req, struct tunnel *t)
{
	struct proto_msg m = {.type = PROTO_REGISTERED};
	char addr[NETADDR_STR_MAX + 8], host[NETADDR_STR_MAX];
	struct pktio_addr local = ss->e->cfg.listen;
	char *colon;

	/* the public host is the edge address the agent reached; the port is the tunnel's */
	netaddr_str(&local, host, sizeof(host));
	colon = strrchr(host, ':');
	if (colon)
		*colon = '\0';
	if (t->kind == PROTO_KIND_HTTP)
		snprintf(addr, sizeof(addr), "%.48s:%u", t->name, t->port);
	else
		snprintf(addr, sizeof(addr), "%s:%u", host, t->port);
	m.registered.req_id = req;
	m.registered.tunnel_id = t->id;
	m.registered.port = t->port;
	m.registered.addr.data = (const uint8_t *)addr;
	m.registered.addr.len = strlen(addr);
	if (m.registered.addr.len > PROTO_MAX_ADDR)
		m.registered.addr.len = PROTO_MAX_ADDR;
	ctrl_send(ss, &m);
}

static void grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tunnel *t = arg;

	(void)fd;
	(void)what;
	pr_info("tunnel %llu (port %u, '%s'): agent did not return in the grace period; port freed",
		(unsigned long long)t->id, t->port, t->token_name);
	tunnel_free(t);
}

static void tunnel_attach(struct tunnel *t, struct session *ss)
{
	t->sess = ss;
	ss->ntunnels++;
	if (t->grace)
		event_del(t->grace);
	if (t->lst)
		evconnlistener_enable(t->lst);
}

/*
 * Check what a REGISTER of @kind asks for: its name into @name (an http
 * tunnel's is its host name, normalized), the public port into @port.
 * Returns 0, or -1 after answering the ERROR.
 */
static int register_check(struct session *ss, const struct proto_msg *m, char *name, uint16_t *port)
{
	char printable[PROTO_MAX_NAME + 1], reason[PROTO_MAX_REASON];
	struct edge *e = ss->e;
	const char *why;

	*port = (uint16_t)m->reg.port;
	memcpy(name, m->reg.name.data, m->reg.name.len);
	name[m->reg.name.len] = '\0';
	switch (m->reg.kind) {
	case PROTO_KIND_TCP:
	case PROTO_KIND_UDP:
		if (proto_name_valid(m->reg.name.data, m->reg.name.len))
			return 0;
		pr_warn_rl("agent %s ('%s'): bad tunnel name '%s': unprintable, quote or backslash",
			   ss->peer, ss->token_name,
			   proto_name_printable(m->reg.name.data, m->reg.name.len, printable,
						sizeof(printable)));
		ctrl_error(ss, PROTO_ERR_BAD_NAME, m->reg.req_id,
			   "invalid tunnel name: printable ASCII without quotes or backslash");
		return -1;
	case PROTO_KIND_HTTP:
		if (!e->http) {
			ctrl_error(ss, PROTO_ERR_UNSUPPORTED, m->reg.req_id,
				   "this edge serves no http tunnels (beamd --http-listen)");
			return -1;
		}
		why = http_hostname_check((const char *)m->reg.name.data, m->reg.name.len, name,
					  PROTO_MAX_NAME + 1);
		if (why) {
			pr_warn_rl("agent %s ('%s'): invalid http host name '%s': %s", ss->peer,
				   ss->token_name,
				   proto_name_printable(m->reg.name.data, m->reg.name.len,
							printable, sizeof(printable)),
				   why);
			snprintf(reason, sizeof(reason), "invalid host name: %s", why);
			ctrl_error(ss, PROTO_ERR_BAD_NAME, m->reg.req_id, reason);
			return -1;
		}
		if (*port && *port != e->http_port) {
			ctrl_error(ss, PROTO_ERR_PORT_DENIED, m->reg.req_id,
				   "http tunnels share the edge's http port");
			return -1;
		}
		*port = e->http_port;
		return 0;
	default:
		ctrl_error(ss, PROTO_ERR_UNSUPPORTED, m->reg.req_id, "unknown tunnel kind");
		return -1;
	}
}

/* The session @ss of this worker still alive with serial @serial, or NULL. */
static struct session *session_find(struct edge *e, const struct session *ss, uint64_t serial)
{
	struct session *o;

	for (o = e->sessions; o; o = o->next)
		if (o == ss && o->serial == serial)
			return o;
	return NULL;
}

/* ---- hand-overs between workers ---------------------------------------- */

enum edge_msg_type {
	EDGE_MSG_HANDOVER, /* to a tunnel's owner: give it to worker @to */
	EDGE_MSG_ADOPT,	   /* to worker @to: here is the tunnel and its sockets */
	EDGE_MSG_HTTP,	   /* to a tunnel's owner: a routed public HTTP connection */
};

struct edge_msg {
	struct hub_msg hdr;
	struct edge_hub *hub;
	uint64_t tunnel_id;
	/* HANDOVER, ADOPT: the session that asked, on worker @to */
	struct session *ss;
	uint64_t serial;
	uint64_t req_id;
	unsigned int to;
	/* ADOPT: the tunnel; @gone when it vanished before it could move,
	 * @refused when a live agent holds it */
	bool gone;
	bool refused;
	uint8_t kind;
	uint16_t port;
	int lfd, ufd; /* its public sockets, -1 when none */
	uint64_t conns_total;
	struct quic_bytes bytes;
	char token_name[TOKENS_MAX_NAME + 1];
	char name[PROTO_MAX_NAME + 1];
	/* HTTP: the public connection and the head bytes read from it */
	int fd;
	struct pktio_addr peer;
	size_t head_len;
	uint8_t head[];
};

static struct edge_msg *edge_msg_new(struct edge *e, enum edge_msg_type type, size_t head_len)
{
	struct edge_msg *m = calloc(1, sizeof(*m) + head_len);

	if (!m)
		return NULL;
	m->hdr.type = type;
	m->hub = e->hub;
	m->lfd = m->ufd = m->fd = -1;
	return m;
}

/* An undelivered message (shutdown): close what it carries. */
static void edge_msg_free(struct hub_msg *hm)
{
	struct edge_msg *m = (struct edge_msg *)hm;

	if (m->lfd >= 0)
		close(m->lfd);
	if (m->ufd >= 0)
		close(m->ufd);
	if (m->fd >= 0) {
		reset_fd(m->fd);
		edge_hub_src_put(m->hub, &m->peer);
	}
	free(m);
}

/* The registry entry of tunnel @id is settled: owned by @worker, routable. */
static void hub_settle(struct edge *e, uint64_t id, unsigned int worker)
{
	struct hub_tunnel *ht;

	edge_hub_lock(e->hub);
	ht = edge_hub_by_id(e->hub, id);
	if (ht) {
		ht->worker = (uint8_t)worker;
		ht->moving = false;
	}
	edge_hub_unlock(e->hub);
}

/* A returning agent's tunnel is held by @t->sess, another connection of
 * this worker: take it from that connection. */
static void tunnel_unhook(struct tunnel *t, const char *to_peer)
{
	struct session *old = t->sess;

	pr_info("tunnel %llu: moved from agent %s to %s ('%s')", (unsigned long long)t->id,
		old->peer, to_peer, t->token_name);
	old->ntunnels--;
	t->sess = NULL;
	/* the old connection of a restarted agent: its public connections lead
	 * nowhere, reset them now, not at its idle timeout */
	if (!old->ntunnels)
		quic_conn_close(old->c, PROTO_ERR_NO_TUNNEL,
				"tunnel taken over by a new connection");
	else
		ctrl_error(old, PROTO_ERR_NO_TUNNEL, 0, "tunnel taken over by a new connection");
}

/* Give @t, a tunnel of this worker, to session @ss of this worker. */
static void tunnel_give(struct tunnel *t, struct session *ss, uint64_t req_id)
{
	if (t->sess == ss) {
		send_registered(ss, req_id, t);
		return;
	}
	if (t->sess)
		tunnel_unhook(t, ss->peer);
	else
		pr_info("tunnel %llu: port %u back to '%s' (%s)", (unsigned long long)t->id,
			t->port, ss->token_name, ss->peer);
	tunnel_attach(t, ss);
	quic_conn_stats(ss->c)->tunnels = ss->ntunnels;
	send_registered(ss, req_id, t);
}

/* The requester of tunnel @id on worker @to: the ADOPT that answers it. */
static struct edge_msg *adopt_new(struct edge *e, uint64_t id, unsigned int to, struct session *ss,
				  uint64_t serial, uint64_t req_id)
{
	struct edge_msg *a = edge_msg_new(e, EDGE_MSG_ADOPT, 0);

	if (!a) {
		pr_err("failed to hand tunnel %llu to worker %u: out of memory",
		       (unsigned long long)id, to);
		hub_settle(e, id, e->cfg.worker_id);
		return NULL;
	}
	a->tunnel_id = id;
	a->ss = ss;
	a->serial = serial;
	a->req_id = req_id;
	a->to = to;
	return a;
}

/* Move tunnel @id of this worker to session @ss of worker @to. */
static void tunnel_hand(struct edge *e, uint64_t id, unsigned int to, struct session *ss,
			uint64_t serial, uint64_t req_id)
{
	struct tunnel *t = tunnel_by_id(e, id);
	struct edge_msg *a = adopt_new(e, id, to, ss, serial, req_id);
	int err;

	if (!a)
		return;
	if (!t) {
		a->gone = true;
		goto post;
	}
	if (t->sess)
		tunnel_unhook(t, "another worker");
	a->kind = t->kind;
	a->port = t->port;
	a->conns_total = t->conns_total;
	a->bytes = t->bytes;
	snprintf(a->token_name, sizeof(a->token_name), "%s", t->token_name);
	snprintf(a->name, sizeof(a->name), "%s", t->name);
	/* dups: freeing the tunnel here closes its own descriptors */
	if (t->lst)
		a->lfd = fcntl(evconnlistener_get_fd(t->lst), F_DUPFD_CLOEXEC, 0);
	if (t->udp) {
		err = udp_pub_dup_fd(t->udp);
		a->ufd = err < 0 ? -1 : err;
	}
	pr_info("tunnel %llu: handed from worker %u to worker %u", (unsigned long long)t->id,
		e->cfg.worker_id, to);
	tunnel_destroy(t, false);
post:
	edge_hub_post(e->hub, to, &a->hdr);
}

/* ---- claims: a REGISTER for a tunnel another connection holds ---------- */

#define CLAIM_WAIT_MIN_NS (500 * 1000000ull)
#define CLAIM_WAIT_MAX_NS (3000 * 1000000ull)

/*
 * A REGISTER (from this worker or another one) for a tunnel a connection of
 * this worker holds. The holder gets a PING on its control stream; a packet
 * from it within three PTOs shows a live agent, and the claim is refused
 * (in-use). Otherwise the holder is gone or silent (a restarted agent) and
 * the tunnel moves to the claimant.
 */
struct claim {
	struct claim *next;
	struct edge *e;
	struct event *timer;
	uint64_t tunnel_id;
	struct session *holder; /* with its serial: it may go meanwhile */
	uint64_t holder_serial;
	uint64_t sent_ns; /* when the PING went */
	/* who asked: session @ss of worker @to; @remote when not this worker */
	bool remote;
	unsigned int to;
	struct session *ss;
	uint64_t serial;
	uint64_t req_id;
};

static void claim_free(struct claim *cl)
{
	struct claim **pp;

	for (pp = &cl->e->claims; *pp; pp = &(*pp)->next) {
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	}
	if (cl->timer)
		event_free(cl->timer);
	free(cl);
}

/* Tell the claimant of @cl that a live agent holds the tunnel. */
static void claim_refuse(struct edge *e, const struct claim *cl, const char *reason)
{
	struct session *ss;
	struct edge_msg *a;

	if (cl->remote) {
		a = adopt_new(e, cl->tunnel_id, cl->to, cl->ss, cl->serial, cl->req_id);
		if (!a)
			return;
		a->refused = true;
		edge_hub_post(e->hub, cl->to, &a->hdr);
		return;
	}
	ss = session_find(e, cl->ss, cl->serial);
	if (!ss)
		return;
	ctrl_error(ss, PROTO_ERR_IN_USE, cl->req_id, reason);
	quic_conn_flush(ss->c);
}

static void claim_cb(evutil_socket_t fd, short what, void *arg)
{
	struct claim *cl = arg;
	struct edge *e = cl->e;
	struct tunnel *t = tunnel_by_id(e, cl->tunnel_id);
	struct session *holder = session_find(e, cl->holder, cl->holder_serial);
	struct hub_tunnel *ht;
	struct session *ss;

	(void)fd;
	(void)what;
	if (t)
		t->claimed = false;
	if (t && holder && t->sess == holder &&
	    quic_conn_stats(holder->c)->last_rx_ns > cl->sent_ns) {
		pr_warn("tunnel %llu ('%s' of '%s'): refused to a second agent: holder %s is alive",
			(unsigned long long)t->id, t->name, t->token_name, holder->peer);
		claim_refuse(e, cl, "tunnel in use by a live agent");
	} else if (cl->remote) {
		if (t) {
			edge_hub_lock(e->hub);
			ht = edge_hub_by_id(e->hub, t->id);
			if (ht)
				ht->moving = true;
			edge_hub_unlock(e->hub);
		}
		tunnel_hand(e, cl->tunnel_id, cl->to, cl->ss, cl->serial, cl->req_id);
	} else if ((ss = session_find(e, cl->ss, cl->serial))) {
		if (t)
			tunnel_give(t, ss, cl->req_id);
		else
			ctrl_error(ss, PROTO_ERR_NO_TUNNEL, cl->req_id,
				   "the tunnel went away meanwhile; register again");
		quic_conn_flush(ss->c);
	}
	claim_free(cl);
}

/* Session @ss of worker @to asks for @t, held by a connection of this worker. */
static void claim_start(struct edge *e, struct tunnel *t, bool remote, unsigned int to,
			struct session *ss, uint64_t serial, uint64_t req_id)
{
	struct proto_msg ping = {.type = PROTO_PING};
	struct session *holder = t->sess;
	struct claim *cl;
	struct timeval tv;
	uint64_t wait;

	cl = t->claimed ? NULL : calloc(1, sizeof(*cl));
	if (cl)
		cl->timer = evtimer_new(e->base, claim_cb, cl);
	if (!cl || !cl->timer) {
		struct claim tmp = {.tunnel_id = t->id,
				    .remote = remote,
				    .to = to,
				    .ss = ss,
				    .serial = serial,
				    .req_id = req_id};

		free(cl);
		claim_refuse(e, &tmp,
			     t->claimed ? "another agent is claiming this tunnel"
					: "out of memory");
		return;
	}
	cl->e = e;
	cl->tunnel_id = t->id;
	cl->holder = holder;
	cl->holder_serial = holder->serial;
	cl->remote = remote;
	cl->to = to;
	cl->ss = ss;
	cl->serial = serial;
	cl->req_id = req_id;
	cl->sent_ns = quic_now_ns();
	ctrl_send(holder, &ping);
	quic_conn_flush(holder->c);
	wait = 3 * quic_conn_pto_ns(holder->c);
	if (wait < CLAIM_WAIT_MIN_NS)
		wait = CLAIM_WAIT_MIN_NS;
	if (wait > CLAIM_WAIT_MAX_NS)
		wait = CLAIM_WAIT_MAX_NS;
	tv.tv_sec = (time_t)(wait / 1000000000ull);
	tv.tv_usec = (suseconds_t)((wait % 1000000000ull) / 1000);
	evtimer_add(cl->timer, &tv);
	cl->next = e->claims;
	e->claims = cl;
	t->claimed = true;
	pr_info("tunnel %llu ('%s' of '%s'): another agent asks for it; probing holder %s",
		(unsigned long long)t->id, t->name, t->token_name, holder->peer);
}

/* The owner of a tunnel a session of worker @m->to asked for: move it there,
 * unless a live agent here holds it. */
static void edge_msg_handover(struct edge *e, struct edge_msg *m)
{
	struct tunnel *t = tunnel_by_id(e, m->tunnel_id);

	if (t && t->sess) {
		/* routable while its holder is probed */
		hub_settle(e, t->id, e->cfg.worker_id);
		claim_start(e, t, true, m->to, m->ss, m->serial, m->req_id);
		return;
	}
	tunnel_hand(e, m->tunnel_id, m->to, m->ss, m->serial, m->req_id);
}

/* A moved tunnel arrives: adopt its sockets, give it to the session that asked. */
static void edge_msg_adopt(struct edge *e, struct edge_msg *m)
{
	struct session *ss = session_find(e, m->ss, m->serial);
	struct tunnel *t;
	int err = 0;

	if (m->refused) {
		if (ss)
			ctrl_error(ss, PROTO_ERR_IN_USE, m->req_id,
				   "tunnel in use by a live agent");
		goto flush;
	}
	if (m->gone) {
		if (ss)
			ctrl_error(ss, PROTO_ERR_NO_TUNNEL, m->req_id,
				   "the tunnel went away meanwhile; register again");
		goto flush;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		err = -ENOMEM;
		goto fail;
	}
	t->e = e;
	t->id = m->tunnel_id;
	t->kind = m->kind;
	t->port = m->port;
	t->conns_total = m->conns_total;
	t->bytes = m->bytes;
	snprintf(t->token_name, sizeof(t->token_name), "%s", m->token_name);
	snprintf(t->name, sizeof(t->name), "%s", m->name);
	if (t->kind == PROTO_KIND_TCP && m->lfd >= 0) {
		/* backlog 0: the socket listens already */
		t->lst = evconnlistener_new(e->base, tunnel_accept_cb, t, LEV_OPT_CLOSE_ON_FREE, 0,
					    m->lfd);
		if (t->lst)
			m->lfd = -1;
		else
			err = -ENOMEM;
	} else if (t->kind == PROTO_KIND_TCP) {
		err = tunnel_listen(e, t->port, &t->lst, &t->port);
		if (!err)
			evconnlistener_set_cb(t->lst, tunnel_accept_cb, t);
	} else if (t->kind == PROTO_KIND_UDP) {
		err = tunnel_udp_open(t, t->port, m->ufd);
		m->ufd = -1; /* adopted, or closed by the failure */
	}
	t->grace = evtimer_new(e->base, grace_cb, t);
	if (err || !t->grace) {
		if (t->lst)
			evconnlistener_free(t->lst);
		udp_pub_free(t->udp);
		if (t->grace)
			event_free(t->grace);
		free(t);
		err = err ? err : -ENOMEM;
		goto fail;
	}
	tunnel_link(e, t);
	e->handoffs_tunnel++;
	hub_settle(e, t->id, e->cfg.worker_id);
	if (ss && ss->ntunnels < TUNNELS_PER_AGENT) {
		tunnel_give(t, ss, m->req_id);
	} else {
		struct timeval tv = {.tv_sec = e->cfg.grace_s ? e->cfg.grace_s : 1};

		/* the agent went while its tunnel moved (or holds too many):
		 * keep it as if it had gone here */
		evtimer_add(t->grace, &tv);
		if (ss)
			ctrl_error(ss, PROTO_ERR_LIMIT, m->req_id, "too many tunnels");
	}
	goto flush;

fail:
	pr_err("failed to take over tunnel %llu on worker %u: %s", (unsigned long long)m->tunnel_id,
	       e->cfg.worker_id, strerror(-err));
	edge_hub_lock(e->hub);
	edge_hub_del(e->hub, m->tunnel_id);
	edge_hub_unlock(e->hub);
	if (ss)
		ctrl_error(ss, PROTO_ERR_INTERNAL, m->req_id, strerror(-err));
flush:
	if (ss)
		quic_conn_flush(ss->c);
}

/* Answer a public HTTP connection the tunnel's worker could not take. */
static void http_unavailable(int fd)
{
	static const char msg[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
				  "Connection: close\r\n\r\n";
	ssize_t n = send(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);

	(void)n; /* best effort: the client sees a close either way */
	close(fd);
}

static void edge_msg_http(struct edge *e, struct edge_msg *m)
{
	struct tunnel *t = tunnel_by_id(e, m->tunnel_id);
	int err = t ? tunnel_take(t, m->fd, &m->peer, m->head, m->head_len) : -ENOTCONN;

	if (err) {
		http_unavailable(m->fd);
		pub_gone(e, &m->peer);
	}
	m->fd = -1;
}

static void edge_inbox_cb(struct hub_msg *hm, void *arg)
{
	struct edge_msg *m = (struct edge_msg *)hm;
	struct edge *e = arg;

	switch (m->hdr.type) {
	case EDGE_MSG_HANDOVER:
		edge_msg_handover(e, m);
		break;
	case EDGE_MSG_ADOPT:
		edge_msg_adopt(e, m);
		break;
	case EDGE_MSG_HTTP:
		edge_msg_http(e, m);
		break;
	}
	edge_msg_free(hm);
}

/* Ask worker @owner for tunnel @id on behalf of @ss (REGISTERED follows on adopt). */
static void tunnel_request(struct session *ss, unsigned int owner, uint64_t id, uint64_t req_id)
{
	struct edge *e = ss->e;
	struct edge_msg *m = edge_msg_new(e, EDGE_MSG_HANDOVER, 0);

	if (!m) {
		hub_settle(e, id, owner);
		ctrl_error(ss, PROTO_ERR_INTERNAL, req_id, "out of memory");
		return;
	}
	m->tunnel_id = id;
	m->ss = ss;
	m->serial = ss->serial;
	m->req_id = req_id;
	m->to = e->cfg.worker_id;
	pr_debug("tunnel %llu: asking worker %u for it", (unsigned long long)id, owner);
	if (edge_hub_post(e->hub, owner, &m->hdr))
		ctrl_error(ss, PROTO_ERR_INTERNAL, req_id, "worker shutting down");
}

static int http_route_to_tunnel(void *arg, const char *host, int fd, const struct pktio_addr *peer,
				const uint8_t *head, size_t len)
{
	struct edge *e = arg;
	struct hub_tunnel *ht;
	struct edge_msg *m;
	unsigned int owner;
	struct tunnel *t;
	uint64_t id;
	bool moving;

	edge_hub_lock(e->hub);
	ht = edge_hub_by_host(e->hub, host);
	if (ht) {
		owner = ht->worker;
		id = ht->id;
		moving = ht->moving;
	}
	edge_hub_unlock(e->hub);
	if (!ht)
		return -ENOENT;
	if (moving)
		return -ENOTCONN;
	if (owner == e->cfg.worker_id) {
		t = tunnel_by_id(e, id);
		return t ? tunnel_take(t, fd, peer, head, len) : -ENOTCONN;
	}
	/* another worker drives the tunnel: the connection goes to its loop */
	m = edge_msg_new(e, EDGE_MSG_HTTP, len);
	if (!m)
		return -ENOMEM;
	m->tunnel_id = id;
	m->fd = fd;
	m->peer = *peer;
	m->head_len = len;
	memcpy(m->head, head, len);
	edge_hub_post(e->hub, owner, &m->hdr); /* from here the message owns @fd */
	e->handoffs_http++;
	return 0;
}

/* A new tunnel: reserved in the registry under the lock, with the checks. */
static int register_new(struct session *ss, const struct proto_msg *m, const char *name,
			uint8_t kind, uint16_t port)
{
	struct edge *e = ss->e;
	const struct hub_tunnel *ht;
	char other[TOKENS_MAX_NAME + 1], reason[96];
	uint64_t id, n;
	struct tunnel *t;
	int err;

	edge_hub_lock(e->hub);
	if (kind == PROTO_KIND_HTTP && (ht = edge_hub_by_host(e->hub, name))) {
		id = ht->id;
		snprintf(other, sizeof(other), "%s", ht->token_name);
		edge_hub_unlock(e->hub);
		pr_warn("agent %s ('%s'): http host name '%s' is taken by tunnel %llu of '%s'",
			ss->peer, ss->token_name, name, (unsigned long long)id, other);
		ctrl_error(ss, PROTO_ERR_NAME_TAKEN, m->reg.req_id,
			   "host name taken by another token");
		return -1;
	}
	if (kind != PROTO_KIND_HTTP && port && (ht = edge_hub_by_port(e->hub, kind, port))) {
		id = ht->id;
		edge_hub_unlock(e->hub);
		pr_warn("agent %s ('%s'): public port %u is taken by tunnel %llu", ss->peer,
			ss->token_name, port, (unsigned long long)id);
		snprintf(reason, sizeof(reason), "public port %u is taken", port);
		ctrl_error(ss, PROTO_ERR_PORT_TAKEN, m->reg.req_id, reason);
		return -1;
	}
	n = edge_hub_token_tunnels(e->hub, ss->token_name);
	if (n >= e->cfg.limits.max[EDGE_LIMIT_TUNNELS_PER_TOKEN]) {
		edge_hub_unlock(e->hub);
		limit_hit(e, EDGE_LIMIT_TUNNELS_PER_TOKEN, "a REGISTER from %s ('%s')", ss->peer,
			  ss->token_name);
		ctrl_error(ss, PROTO_ERR_LIMIT, m->reg.req_id, "too many tunnels for this token");
		return -1;
	}
	if (ss->ntunnels >= TUNNELS_PER_AGENT) {
		edge_hub_unlock(e->hub);
		ctrl_error(ss, PROTO_ERR_LIMIT, m->reg.req_id, "too many tunnels");
		return -1;
	}
	ht = edge_hub_add(e->hub, kind, port, ss->token_name, name, e->cfg.worker_id);
	id = ht ? ht->id : 0;
	edge_hub_unlock(e->hub);
	t = ht ? calloc(1, sizeof(*t)) : NULL;
	if (!t) {
		err = -ENOMEM;
		goto err_hub;
	}
	t->e = e;
	t->kind = kind;
	t->port = port;
	if (kind == PROTO_KIND_TCP)
		err = tunnel_listen(e, port, &t->lst, &t->port);
	else if (kind == PROTO_KIND_UDP)
		err = tunnel_udp_open(t, port, -1);
	else
		err = 0;
	if (err) {
		pr_warn("agent %s ('%s'): failed to listen on public port %u: %s", ss->peer,
			ss->token_name, port, strerror(-err));
		free(t);
		goto err_hub;
	}
	if (t->lst)
		evconnlistener_set_cb(t->lst, tunnel_accept_cb, t);
	t->grace = evtimer_new(e->base, grace_cb, t);
	t->id = id;
	snprintf(t->token_name, sizeof(t->token_name), "%s", ss->token_name);
	snprintf(t->name, sizeof(t->name), "%s", name);
	edge_hub_lock(e->hub);
	ht = edge_hub_by_id(e->hub, id);
	if (ht)
		((struct hub_tunnel *)ht)->port = t->port;
	edge_hub_unlock(e->hub);
	tunnel_link(e, t);
	tunnel_attach(t, ss);
	quic_conn_stats(ss->c)->tunnels = ss->ntunnels;
	pr_info("tunnel %llu up: %s port %u for '%s' (%s), name '%s'", (unsigned long long)t->id,
		kind == PROTO_KIND_HTTP	 ? "http"
		: kind == PROTO_KIND_UDP ? "udp"
					 : "tcp",
		t->port, ss->token_name, ss->peer, t->name);
	send_registered(ss, m->reg.req_id, t);
	return 0;

err_hub:
	if (id) {
		edge_hub_lock(e->hub);
		edge_hub_del(e->hub, id);
		edge_hub_unlock(e->hub);
	}
	if (err == -ENOMEM)
		ctrl_error(ss, PROTO_ERR_INTERNAL, m->reg.req_id, "out of memory");
	else {
		snprintf(reason, sizeof(reason), "public port %u: %s", port, strerror(-err));
		ctrl_error(ss, err == -EADDRINUSE ? PROTO_ERR_PORT_TAKEN : PROTO_ERR_PORT_DENIED,
			   m->reg.req_id, reason);
	}
	return -1;
}

static void handle_register(struct session *ss, const struct proto_msg *m)
{
	struct edge *e = ss->e;
	char name[PROTO_MAX_NAME + 1];
	struct hub_tunnel *ht;
	uint8_t kind = (uint8_t)m->reg.kind;
	unsigned int owner = 0;
	bool moving = false;
	struct tunnel *t;
	uint64_t id = 0;
	uint16_t port;

	if (!ss->authed) {
		pr_warn("agent %s: REGISTER before a successful HELLO", ss->peer);
		ctrl_error(ss, PROTO_ERR_NOT_AUTHED, m->reg.req_id, "not authenticated");
		return;
	}
	if (register_check(ss, m, name, &port))
		return;

	/* the same agent's tunnel again (a 0-RTT replay or a re-register), or its
	 * reservation from the grace period: on this worker or another one */
	edge_hub_lock(e->hub);
	ht = edge_hub_find(e->hub, kind, ss->token_name, name, port);
	if (ht) {
		id = ht->id;
		owner = ht->worker;
		moving = ht->moving;
		if (!moving && owner != e->cfg.worker_id)
			ht->moving = true;
	}
	edge_hub_unlock(e->hub);
	if (ht && moving) {
		ctrl_error(ss, PROTO_ERR_IN_USE, m->reg.req_id,
			   "the tunnel is moving between workers; register again");
		return;
	}
	if (ht && owner != e->cfg.worker_id) {
		tunnel_request(ss, owner, id, m->reg.req_id);
		return;
	}
	if (ht) {
		t = tunnel_by_id(e, id);
		if (t && t->sess && t->sess != ss)
			claim_start(e, t, false, e->cfg.worker_id, ss, ss->serial, m->reg.req_id);
		else if (t)
			tunnel_give(t, ss, m->reg.req_id);
		else
			ctrl_error(ss, PROTO_ERR_INTERNAL, m->reg.req_id, "tunnel lost");
		return;
	}
	register_new(ss, m, name, kind, port);
}

static void handle_unregister(struct session *ss, const struct proto_msg *m)
{
	struct tunnel *t;

	for (t = ss->e->tunnels; t; t = t->next) {
		if (t->id == m->unregister.tunnel_id && t->sess == ss) {
			pr_info("tunnel %llu: unregistered by its agent",
				(unsigned long long)t->id);
			tunnel_free(t);
			return;
		}
	}
	ctrl_error(ss, PROTO_ERR_NO_TUNNEL, 0, "no such tunnel");
}

/* Parse every whole message in the buffer; returns -EMSGSIZE to give up. */
static int ctrl_parse(struct session *ss, bool early)
{
	size_t off = 0;
	int err = 0;

	while (off < ss->rx_len && !ss->refused) {
		struct proto_msg m;
		size_t used = 0;

		err = proto_decode(ss->rx + off, ss->rx_len - off, &m, &used);
		if (err == -EAGAIN) {
			err = 0;
			break;
		}
		if (err == -EMSGSIZE) {
			pr_warn_rl("agent %s: control message longer than %d bytes", ss->peer,
				   PROTO_MAX_PAYLOAD);
			break;
		}
		off += used;
		if (err == -ENOMSG) {
			pr_warn_rl("agent %s: unknown control message type 0x%llx", ss->peer,
				   (unsigned long long)m.type);
			ctrl_error(ss, PROTO_ERR_UNKNOWN_TYPE, 0, "unknown message type");
			continue;
		}
		if (err == -EBADMSG) {
			pr_warn_rl("agent %s: malformed control message type 0x%llx", ss->peer,
				   (unsigned long long)m.type);
			ctrl_error(ss, PROTO_ERR_MALFORMED, 0, "malformed message");
			continue;
		}
		/* 0-RTT may carry only what is safe to replay */
		if (early && m.type != PROTO_HELLO && m.type != PROTO_REGISTER) {
			ctrl_error(ss, PROTO_ERR_MALFORMED, 0, "not allowed in 0-RTT");
			continue;
		}
		switch (m.type) {
		case PROTO_HELLO:
			handle_hello(ss, &m);
			break;
		case PROTO_REGISTER:
			handle_register(ss, &m);
			break;
		case PROTO_UNREGISTER:
			handle_unregister(ss, &m);
			break;
		default:
			pr_warn_rl("agent %s: unexpected control message type 0x%llx", ss->peer,
				   (unsigned long long)m.type);
			ctrl_error(ss, PROTO_ERR_UNKNOWN_TYPE, 0, "unexpected message type");
			break;
		}
	}
	memmove(ss->rx, ss->rx + off, ss->rx_len - off);
	ss->rx_len -= off;
	return err == -EMSGSIZE ? err : 0;
}

/* ---- QUIC handlers ------------------------------------------------------ */

static int edge_stream_data_cb(struct quic_conn *c, struct quic_stream *s, const uint8_t *data,
			       size_t len, bool fin, bool early, void *arg)
{
	struct session *ss = quic_conn_user(c);
	size_t off = 0;

	(void)arg;
	if (!ss || s != ss->ctrl) {
		pr_warn_rl("agent sent data on a stream it may not use (%lld)",
			   (long long)quic_stream_id(s));
		return -EPROTO;
	}
	while (off < len) {
		size_t n = sizeof(ss->rx) - ss->rx_len;

		if (n > len - off)
			n = len - off;
		memcpy(ss->rx + ss->rx_len, data + off, n);
		ss->rx_len += n;
		off += n;
		if (ctrl_parse(ss, early)) {
			quic_conn_close(c, PROTO_ERR_MALFORMED, "control message too long");
			return (int)len;
		}
		if (ss->rx_len == sizeof(ss->rx)) {
			quic_conn_close(c, PROTO_ERR_MALFORMED, "control stream overflow");
			return (int)len;
		}
	}
	if (fin) {
		pr_info("agent %s closed its control stream", ss->peer);
		quic_conn_close(c, PROTO_ERR_NONE, "control stream closed");
	}
	return (int)len;
}

static int edge_stream_open_cb(struct quic_conn *c, struct quic_stream *s, void *arg)
{
	struct session *ss = quic_conn_user(c);

	(void)arg;
	if (ss && !ss->ctrl) {
		ss->ctrl = s;
		return 0;
	}
	pr_warn_rl("agent %s opened stream %lld: only its first stream (control) is allowed",
		   ss ? ss->peer : "?", (long long)quic_stream_id(s));
	return -EPROTO;
}

static void edge_tcp_abort_cb(struct quic_conn *c, int fd, void *arg)
{
	(void)c;
	pub_abort(arg, fd, true); /* only http streams hand their socket back */
}

static void edge_stream_close_cb(struct quic_conn *c, struct quic_stream *s, uint64_t app_err,
				 void *arg)
{
	struct session *ss = quic_conn_user(c);
	struct pub_stream *ps = quic_stream_user(s);
	struct edge *e = arg;
	struct tunnel *t = NULL;

	if (ps && (!ss || s != ss->ctrl)) {
		t = ps->t;
		if (t) {
			if (ps->prev)
				ps->prev->next = ps->next;
			else
				t->streams = ps->next;
			if (ps->next)
				ps->next->prev = ps->prev;
			t->nstreams--;
		}
		pub_gone(e, &ps->peer);
		quic_stream_set_user(s, NULL);
		free(ps);
	}
	if (ss && s == ss->ctrl) {
		ss->ctrl = NULL;
		if (!app_err)
			return;
		pr_warn("agent %s: control stream reset (%s)", ss->peer, proto_err_name(app_err));
		quic_conn_close(c, PROTO_ERR_MALFORMED, "control stream reset");
		return;
	}
	if (t && app_err == PROTO_ERR_CONN_REFUSED)
		pr_info_rl("tunnel %llu: the agent's local service refused a connection",
			   (unsigned long long)t->id);
}

static void edge_conn_new_cb(struct quic_conn *c, void *arg)
{
	struct edge *e = arg;
	struct session *ss = calloc(1, sizeof(*ss));

	if (!ss) {
		quic_conn_close(c, PROTO_ERR_INTERNAL, "out of memory");
		return;
	}
	ss->e = e;
	ss->c = c;
	ss->serial = ++e->next_serial;
	netaddr_str(quic_conn_peer(c), ss->peer, sizeof(ss->peer));
	ss->next = e->sessions;
	e->sessions = ss;
	quic_conn_set_user(c, ss);
	pr_debug("QUIC connection from %s", ss->peer);
}

static void edge_ready(struct quic_conn *c, void *arg)
{
	struct session *ss = quic_conn_user(c);
	struct edge *e = arg;
	struct tunnel *t;

	if (!ss)
		return;
	for (t = e->tunnels; t; t = t->next)
		if (t->sess == ss && t->pend_head)
			tunnel_drain(t);
}

static void edge_handshake_cb(struct quic_conn *c, void *arg)
{
	struct edge *e = arg;

	e->handshakes_ok++;
	edge_ready(c, arg);
}

/* Fold a closing connection's counts into the edge's totals, drop its conns entry. */
static void stats_conn_gone(struct edge *e, struct session *ss)
{
	const struct quic_conn_stats *qs = quic_conn_stats(ss->c);

	if (!quic_conn_handshake_done(ss->c))
		e->handshakes_failed++;
	e->closed_streams_ok += qs->streams_ok;
	/* streams still open when their connection ends were cut */
	e->closed_streams_reset += qs->streams_reset + qs->streams_open;
	e->closed_bytes_in += qs->bytes_in;
	e->closed_bytes_out += qs->bytes_out;
	if (ss->cid.len && e->cfg.maps)
		daemon_maps_conn_del(e->cfg.maps, &ss->cid);
}

static void conn_entry(struct session *ss, const struct quic_conn_stats *qs,
		       enum beam_conn_state state, struct beam_conn *out)
{
	const struct pktio_addr *peer = quic_conn_peer(ss->c);

	memset(out, 0, sizeof(*out));
	if (peer->sa.sa_family == AF_INET6) {
		memcpy(out->peer_addr, &peer->in6.sin6_addr, 16);
		out->peer_port = ntohs(peer->in6.sin6_port);
	} else {
		out->peer_addr[10] = 0xff;
		out->peer_addr[11] = 0xff;
		memcpy(&out->peer_addr[12], &peer->in.sin_addr, 4);
		out->peer_port = ntohs(peer->in.sin_port);
	}
	out->worker = ss->e->cfg.worker_id;
	out->state = state;
	out->srtt_ns = qs->srtt_ns;
	out->bytes_in = qs->bytes_in;
	out->bytes_out = qs->bytes_out;
	out->streams_open = (__u32)qs->streams_open;
	out->tunnels = ss->ntunnels;
	out->created_ns = qs->created_ns;
	out->last_active_ns = qs->last_rx_ns ? qs->last_rx_ns : qs->created_ns;
}

/* One session's share of the counts; refreshes its conns entry and takes an RTT sample. */
static void stats_session(struct edge *e, struct session *ss, struct edge_stats *st)
{
	const struct quic_conn_stats *qs = quic_conn_stats(ss->c);
	enum beam_conn_state state = quic_conn_state(ss->c);
	struct beam_conn entry;
	struct beam_cid cid;

	st->conns[state]++;
	/* public connections only: not the agent's control stream */
	st->streams_active += qs->streams_open - (ss->ctrl && qs->streams_open ? 1 : 0);
	st->streams_ok += qs->streams_ok;
	st->streams_reset += qs->streams_reset;
	st->quic_bytes_in += qs->bytes_in;
	st->quic_bytes_out += qs->bytes_out;
	if (state == BEAM_CONN_ESTABLISHED && qs->latest_rtt_ns && e->cfg.maps)
		hist_record(&e->cfg.maps->latency[BEAM_HIST_RTT], qs->latest_rtt_ns);
	if (!e->cfg.maps)
		return;
	if (quic_conn_cid(ss->c, &cid))
		return;
	/* The peer switched connection IDs: move the entry to the new key. */
	if (ss->cid.len && memcmp(&cid, &ss->cid, sizeof(cid)))
		daemon_maps_conn_del(e->cfg.maps, &ss->cid);
	ss->cid = cid;
	conn_entry(ss, qs, state, &entry);
	daemon_maps_conn_put(e->cfg.maps, &ss->cid, &entry);
}

static void stats_tunnel(struct tunnel *t, struct edge_stats *st)
{
	struct edge_tunnel_stats *ts;

	if (t->sess)
		st->tunnels_active[t->kind < PROTO_KIND__MAX ? t->kind : PROTO_KIND_TCP]++;
	else
		st->tunnels_grace++;
	if (st->ntunnels >= EDGE_STATS_TUNNELS_MAX)
		return;
	ts = &st->tunnels[st->ntunnels++];
	ts->id = t->id;
	ts->to_public = t->bytes.rx;
	ts->from_public = t->bytes.tx;
	ts->conns_total = t->conns_total;
	ts->port = t->port;
	ts->kind = t->kind;
	ts->connected = t->sess != NULL;
	snprintf(ts->name, sizeof(ts->name), "%s", t->name);
	snprintf(ts->token, sizeof(ts->token), "%s", t->token_name);
}

static void stats_udp(struct edge *e, struct edge_stats *st)
{
	struct udp_pub_stats sum = e->udp_closed;
	struct tunnel *t;

	for (t = e->tunnels; t; t = t->next) {
		struct udp_pub_stats us;

		if (!t->udp)
			continue;
		udp_pub_stats(t->udp, &us);
		sum.drop_flows += us.drop_flows;
		sum.drop_noflow += us.drop_noflow;
		sum.drop_send += us.drop_send;
		sum.drop_full += us.drop_full;
		sum.flows += us.flows;
	}
	st->udp_to_agent = e->udp_to_agent;
	st->udp_to_public = e->udp_to_public;
	st->udp_flows = sum.flows;
	memcpy(st->udp_drops, e->udp_drops, sizeof(st->udp_drops));
	st->udp_drops[EDGE_UDP_DROP_FLOW_LIMIT] += sum.drop_flows;
	st->limit_hits[EDGE_LIMIT_UDP_FLOWS] += sum.drop_flows;
	st->udp_drops[EDGE_UDP_DROP_NO_FLOW] += sum.drop_noflow;
	st->udp_drops[EDGE_UDP_DROP_SEND_FAILED] += sum.drop_send;
	st->udp_drops[EDGE_UDP_DROP_SOCKET_FULL] += sum.drop_full;
}

static void stats_http(struct edge *e, struct edge_stats *st)
{
	struct http_front_stats hs;

	if (!e->http)
		return;
	http_front_stats(e->http, &hs);
	st->http_on = true;
	st->http_routed = hs.routed;
	st->http_waiting = hs.waiting;
	st->http_answered[EDGE_HTTP_400] = hs.bad_request;
	st->http_answered[EDGE_HTTP_404] = hs.not_found;
	st->http_answered[EDGE_HTTP_408] = hs.timeout;
	st->http_answered[EDGE_HTTP_431] = hs.too_large;
	st->http_answered[EDGE_HTTP_502] = hs.failed;
	st->http_answered[EDGE_HTTP_503] = hs.unavailable;
	st->http_answered[EDGE_HTTP_REFUSED] = hs.refused;
	st->http_answered[EDGE_HTTP_REFUSED_SOURCE] = hs.refused_source;
}

/* Every EDGE_STATS_PERIOD_MS: gather, refresh conns, publish for /metrics. */
static void stats_paths(struct edge *e, struct edge_stats *st)
{
	struct pktio_mux_stats ms;

	if (!e->mux)
		return;
	pktio_mux_stats(e->mux, &ms);
	st->xsk_on = true;
	st->xsk_rx = ms.rx_xsk;
	st->xsk_tx = ms.tx_xsk;
	st->sock_rx = ms.rx_udp;
	st->sock_tx = ms.tx_udp;
	st->path_fallbacks = ms.tx_fallback;
	st->path_dropped = ms.tx_dropped;
	memcpy(st->xsk_rx_bad, ms.xsk_rx_bad, sizeof(st->xsk_rx_bad));
	st->xsk_rx_other_port = ms.xsk_rx_other_port;
	st->xsk_rx_vlan_unknown = ms.xsk_rx_vlan_unknown;
	memcpy(st->xsk_rx_vlan, ms.xsk_rx_vlan, sizeof(st->xsk_rx_vlan));
	st->hop_changed = ms.hop_changed;
	st->hop_unproven = ms.hop_unproven;
	st->hop_kept = ms.hop_kept;
	st->xsk_tx_both_paths = ms.tx_both_paths;
}

static void stats_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct edge *e = arg;
	struct edge_stats *st = e->stats;
	uint32_t closing, draining;
	struct tcp_tails_stats tails;
	struct session *ss;
	struct tunnel *t;
	uint64_t repeated;

	(void)fd;
	(void)what;
	memset(st, 0, offsetof(struct edge_stats, tunnels));
	st->handshakes_ok = e->handshakes_ok;
	st->handshakes_failed = e->handshakes_failed;
	st->auth_failed = e->auth_failed;
	st->auth_throttled = e->auth_throttled;
	memcpy(st->agents_gone, e->agents_gone, sizeof(st->agents_gone));
	st->handoffs_tunnel = e->handoffs_tunnel;
	st->handoffs_http = e->handoffs_http;
	memcpy(st->limit_hits, e->limit_hits, sizeof(st->limit_hits));
	st->stream_buffer_bytes = quic_ep_buffer_bytes(e->ep);
	quic_ep_retry_state(e->ep, &st->retry_active, &st->retries_sent,
			    &st->handshakes_in_progress);
	quic_ep_stateless_limited(e->ep, st->stateless_limited);
	st->pmtu_black_holes = quic_ep_pmtu_black_holes(e->ep);
	quic_ep_tails(e->ep, &tails);
	st->tails_active = tails.open;
	st->tails_completed = tails.completed;
	st->tails_reset = tails.reset;
	quic_ep_closing_state(e->ep, &closing, &draining, &repeated);
	/* closed for the edge already, still in their closing or draining period */
	st->conns[BEAM_CONN_CLOSING] += closing;
	st->conns[BEAM_CONN_DRAINING] += draining;
	st->streams_ok = e->closed_streams_ok;
	st->streams_reset = e->closed_streams_reset;
	st->quic_bytes_in = e->closed_bytes_in;
	st->quic_bytes_out = e->closed_bytes_out;
	for (ss = e->sessions; ss; ss = ss->next)
		stats_session(e, ss, st);
	for (t = e->tunnels; t; t = t->next)
		stats_tunnel(t, st);
	stats_udp(e, st);
	stats_http(e, st);
	stats_paths(e, st);
	edge_stats_publish(e->cfg.pub, e->cfg.worker_id, st);
}

/* How a connection ended, for beam_agent_disconnects_total (@err as below). */
static enum edge_agent_gone close_why(int err)
{
	switch (err) {
	case -ECONNRESET:
		return EDGE_GONE_CLOSED;
	case -ECONNABORTED:
		return EDGE_GONE_BEAMD;
	case -ETIMEDOUT:
		return EDGE_GONE_IDLE;
	case -EHOSTUNREACH:
		return EDGE_GONE_UNRESPONSIVE;
	default:
		return EDGE_GONE_ERROR;
	}
}

/* How a connection ended, in words for the log (quic_handlers.conn_close_cb's @err). */
static const char *close_how(int err)
{
	switch (err) {
	case -ECONNRESET:
		return "closed by the agent";
	case -ECONNABORTED:
		return "closed by beamd";
	case -ETIMEDOUT:
		return "silent past the idle timeout";
	case -EHOSTUNREACH:
		return "answered nothing while data waited (unresponsive)";
	default:
		return strerror(-err);
	}
}

static void session_free(struct session *ss)
{
	explicit_bzero(ss->token, sizeof(ss->token));
	free(ss);
}

/*
 * After a reload of the tokens file (SIGHUP), every agent connected with a
 * token that is no longer there, or now names another entry, is cut off: a
 * revoked token must not keep its tunnels. They get no grace period.
 */
static void tokens_check_cb(evutil_socket_t fd, short what, void *arg)
{
	char name[TOKENS_MAX_NAME + 1];
	struct edge *e = arg;
	struct session *ss;
	uint64_t gen;

	(void)fd;
	(void)what;
	gen = tokens_generation(e->cfg.tokens);
	if (gen == e->tokens_gen)
		return;
	e->tokens_gen = gen;
	for (ss = e->sessions; ss; ss = ss->next) {
		if (!ss->authed || ss->refused)
			continue;
		if (!tokens_lookup(e->cfg.tokens, ss->token, ss->token_len, name) &&
		    !strcmp(name, ss->token_name))
			continue;
		pr_warn("agent %s ('%s'): its token left the tokens file: disconnecting it",
			ss->peer, ss->token_name);
		ss->refused = true;
		ss->revoked = true;
		quic_conn_close(ss->c, PROTO_ERR_AUTH, "token revoked");
	}
}

static void edge_conn_close_cb(struct quic_conn *c, int err, uint64_t app, void *arg)
{
	struct session *ss = quic_conn_user(c), **pp;
	struct edge *e = arg;
	struct tunnel *t, *next;

	if (!ss)
		return;
	stats_conn_gone(e, ss);
	if (ss->counted)
		edge_hub_token_conn_put(e->hub, ss->token_name);
	if (ss->authed) {
		e->agents_gone[close_why(err)]++;
		pr_info("agent %s ('%s') gone: %s%s%s%s", ss->peer, ss->token_name, close_how(err),
			app ? " (" : "", app ? proto_err_name(app) : "", app ? ")" : "");
	}
	for (t = e->tunnels; t; t = next) {
		struct timeval tv = {.tv_sec = e->cfg.grace_s};

		next = t->next;
		if (t->sess != ss)
			continue;
		t->sess = NULL;
		ss->ntunnels--;
		while (t->pend_head) {
			struct pending_conn *p = t->pend_head;

			t->pend_head = p->next;
			pub_abort(e, p->fd, p->head_len);
			pub_gone(e, &p->peer);
			pending_free(p);
		}
		t->pend_tail = NULL;
		t->npend = 0;
		if (!e->cfg.grace_s || ss->revoked) {
			tunnel_free(t);
			continue;
		}
		evtimer_add(t->grace, &tv);
		pr_info("tunnel %llu: port %u kept %u s for '%s' to return",
			(unsigned long long)t->id, t->port, e->cfg.grace_s, t->token_name);
	}
	for (pp = &e->sessions; *pp; pp = &(*pp)->next) {
		if (*pp == ss) {
			*pp = ss->next;
			break;
		}
	}
	quic_conn_set_user(c, NULL);
	session_free(ss);
}

static const struct quic_handlers edge_handlers = {
	.stream_data_cb = edge_stream_data_cb,
	.stream_open_cb = edge_stream_open_cb,
	.stream_close_cb = edge_stream_close_cb,
	.tcp_abort_cb = edge_tcp_abort_cb,
	.conn_new_cb = edge_conn_new_cb,
	.handshake_cb = edge_handshake_cb,
	.conn_close_cb = edge_conn_close_cb,
	.streams_cb = edge_ready,
	.datagram_cb = edge_datagram_cb,
};

int edge_new(struct edge **out, struct event_base *base, const struct edge_config *cfg)
{
	struct quic_ep_config qc = {0};
	char buf[NETADDR_STR_MAX];
	struct edge_limits dflt;
	struct pktio *io;
	struct edge *e;
	unsigned int i;
	bool gso;
	int err;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->base = base;
	e->cfg = *cfg;
	edge_limits_default(&dflt);
	for (i = 0; i < EDGE_LIMIT__MAX; i++)
		if (!e->cfg.limits.max[i])
			e->cfg.limits.max[i] = dflt.max[i];
	e->hub = cfg->hub;
	if (!e->hub) {
		err = edge_hub_new(&e->hub, 1);
		if (err) {
			free(e);
			return err;
		}
		e->own_hub = true;
		e->cfg.worker_id = 0;
	}
	err = edge_hub_inbox_open(e->hub, e->cfg.worker_id, base, edge_inbox_cb, edge_msg_free, e);
	if (err)
		goto err_hub;
	if (cfg->reuseport)
		err = pktio_udp_new_shared(&io, &cfg->listen);
	else
		err = pktio_udp_new(&io, &cfg->listen, NULL);
	if (err) {
		pr_err("failed to listen for QUIC on %s: %s",
		       netaddr_str(&cfg->listen, buf, sizeof(buf)), strerror(-err));
		goto err_inbox;
	}
	pktio_udp_local(io, &e->cfg.listen);
	e->udp_fd = pktio_udp_fd(io);
	gso = pktio_udp_has_gso(io);
	if (cfg->xdp_ifname && cfg->worker_id && pktio_xdp_queues(cfg->xdp_ifname) > 0 &&
	    (int)cfg->worker_id >= pktio_xdp_queues(cfg->xdp_ifname)) {
		/* no queue of its own: the XDP program passes this worker's frames
		 * to the socket path, where sk_reuseport finds this socket */
		pr_info("worker %u: '%s' has no RX queue %u: receiving on its UDP socket",
			cfg->worker_id, cfg->xdp_ifname, cfg->worker_id);
	} else if (cfg->xdp_ifname) {
		struct pktio_xdp_cfg xc = {
			.ifname = cfg->xdp_ifname,
			.pin_root = cfg->pin_root,
			.port = ntohs(e->cfg.listen.in.sin_port), /* same offset in in6 */
			.queue = cfg->worker_id,
		};

		/* On failure io stays the socket back end, and that is all. */
		if (!pktio_mux_xdp(&io, &xc)) {
			pktio_mux_set_worker(io, cfg->worker_id);
			e->mux = io;
		}
	}
	qc.server = true;
	qc.worker_id = cfg->worker_id;
	qc.idle_timeout_ms = (uint64_t)cfg->idle_timeout_s * 1000;
	qc.unresponsive_ms = cfg->unresponsive_s ? cfg->unresponsive_s * 1000 : UINT32_MAX;
	qc.tcp_peer_timeout_ms = cfg->idle_timeout_s * 1000;
	qc.reset_secret = cfg->reset_secret;
	qc.retry = cfg->retry;
	qc.retry_above = cfg->retry_above;
	qc.stateless_rate = cfg->stateless_rate;
	qc.tls = cfg->tls;
	qc.max_streams_bidi = 4; /* agents open only the control stream */
	qc.datagrams = true;	 /* udp tunnels */
	qc.latency = cfg->maps ? cfg->maps->latency : NULL;
	err = quic_ep_new(&e->ep, base, io, &qc, &edge_handlers, e);
	if (err)
		goto err_inbox;
	if (cfg->http_listen.len) {
		struct http_front_config hc = {
			.listen = cfg->http_listen,
			.reuseport = cfg->reuseport,
			.route = http_route_to_tunnel,
			.admit = edge_http_admit,
			.release = edge_http_release,
			.arg = e,
		};
		struct pktio_addr local;

		err = http_front_new(&e->http, base, &hc);
		if (err) {
			edge_free(e);
			return err;
		}
		http_front_local(e->http, &local);
		e->http_port = ntohs(local.sa.sa_family == AF_INET6 ? local.in6.sin6_port
								    : local.in.sin_port);
	}
	{
		struct timeval second = {.tv_sec = 1};

		e->tokens_gen = tokens_generation(e->cfg.tokens);
		e->tokens_ev = event_new(base, -1, EV_PERSIST, tokens_check_cb, e);
		if (!e->tokens_ev || event_add(e->tokens_ev, &second)) {
			pr_err("failed to start the tokens timer: out of memory");
			edge_free(e);
			return -ENOMEM;
		}
	}
	if (cfg->pub) {
		struct timeval period = {.tv_usec = EDGE_STATS_PERIOD_MS * 1000};

		e->stats = calloc(1, sizeof(*e->stats));
		e->stats_ev = event_new(base, -1, EV_PERSIST, stats_tick_cb, e);
		if (!e->stats || !e->stats_ev || event_add(e->stats_ev, &period)) {
			pr_err("failed to start the statistics timer: out of memory");
			edge_free(e);
			return -ENOMEM;
		}
	}
	if (e->own_hub)
		pr_info("listening for agents on udp %s (GSO %s)",
			netaddr_str(&e->cfg.listen, buf, sizeof(buf)), gso ? "on" : "off");
	else
		pr_info("worker %u: QUIC on udp %s (GSO %s)", e->cfg.worker_id,
			netaddr_str(&e->cfg.listen, buf, sizeof(buf)), gso ? "on" : "off");
	*out = e;
	return 0;

err_inbox:
	edge_hub_inbox_close(e->hub, e->cfg.worker_id);
err_hub:
	if (e->own_hub)
		edge_hub_free(e->hub);
	free(e);
	return err;
}

int edge_udp_fd(const struct edge *e)
{
	return e->udp_fd;
}

void edge_local(const struct edge *e, struct pktio_addr *out)
{
	*out = e->cfg.listen;
}

void edge_http_local(const struct edge *e, struct pktio_addr *out)
{
	if (e->http)
		http_front_local(e->http, out);
	else
		*out = e->cfg.http_listen;
}

void edge_free(struct edge *e)
{
	if (!e)
		return;
	while (e->claims)
		claim_free(e->claims);
	if (e->stats_ev)
		event_free(e->stats_ev);
	if (e->tokens_ev)
		event_free(e->tokens_ev);
	free(e->stats);
	edge_hub_inbox_close(e->hub, e->cfg.worker_id);
	http_front_free(e->http);
	e->http = NULL; /* streams closed below reset their http clients */
	quic_ep_free(e->ep, PROTO_ERR_SHUTDOWN);
	while (e->tunnels)
		tunnel_free(e->tunnels);
	while (e->sessions) {
		struct session *ss = e->sessions;

		e->sessions = ss->next;
		session_free(ss);
	}
	if (e->own_hub)
		edge_hub_free(e->hub);
	free(e);
}
