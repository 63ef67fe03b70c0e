// SPDX-License-Identifier: MIT
/*
 * test_tunnel.c - beamd's tunnel registry against a hostile agent, in one
 * process over loopback: a raw QUIC client (the quic module) sends malformed
 * control messages, unknown types, huge lengths, a REGISTER for a taken port,
 * a bad token and extra streams; the edge answers with error codes and keeps
 * the other tunnels up. Also 0-RTT resumption.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <wolfssl/options.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <wolfssl/ssl.h>

#include "log.h"
#include "netaddr.h"
#include "pktio_udp.h"
#include "proto.h"
#include "quic.h"
#include "tls.h"
#include "tokens.h"
#include "tunnel.h"
#include "agent.h"
#include "test_addr.h"

#define TOKEN "good-token-123"

struct rx_msg {
	uint64_t type;
	uint64_t code; /* ERROR code */
	uint64_t port; /* REGISTERED port */
	uint64_t tunnel_id;
};

struct tclient {
	struct quic_ep *ep;
	struct pktio *io;
	struct quic_conn *c;
	struct quic_stream *ctrl;
	uint8_t rx[4096];
	size_t rx_len;
	struct rx_msg msgs[32];
	unsigned int nmsgs;
	unsigned int streams_opened; /* by the edge */
	unsigned int streams_reset;
	unsigned int pings; /* PINGs from the edge (not in @msgs) */
	int handshake;
	int closed;
	uint64_t close_app;
	struct quic_resume *resume;
};

struct env {
	struct event_base *base;
	struct tokens *tokens;
	WOLFSSL_CTX *server_tls;
	WOLFSSL_CTX *client_tls;
	struct edge *edge;
	struct pktio_addr edge_addr;
};

static int t_data_cb(struct quic_conn *c, struct quic_stream *s, const uint8_t *data, size_t len,
		     bool fin, bool early, void *arg)
{
	struct tclient *t = arg;
	size_t pos = 0;

	(void)c;
	(void)fin;
	(void)early;
	if (s != t->ctrl)
		return (int)len; /* a data stream from the edge: swallow */
	assert_true(t->rx_len + len <= sizeof(t->rx));
	memcpy(t->rx + t->rx_len, data, len);
	t->rx_len += len;
	while (pos < t->rx_len) {
		struct proto_msg m;
		size_t used;
		int err = proto_decode(t->rx + pos, t->rx_len - pos, &m, &used);

		if (err == -EAGAIN)
			break;
		assert_int_equal(err, 0);
		pos += used;
		if (m.type == PROTO_PING) {
			t->pings++;
			continue;
		}
		if (t->nmsgs < 32) {
			struct rx_msg *r = &t->msgs[t->nmsgs++];

			r->type = m.type;
			if (m.type == PROTO_ERROR)
				r->code = m.error.code;
			if (m.type == PROTO_REGISTERED) {
				r->port = m.registered.port;
				r->tunnel_id = m.registered.tunnel_id;
			}
		}
	}
	memmove(t->rx, t->rx + pos, t->rx_len - pos);
	t->rx_len -= pos;
	return (int)len;
}

static int t_open_cb(struct quic_conn *c, struct quic_stream *s, void *arg)
{
	struct tclient *t = arg;

	(void)c;
	(void)s;
	t->streams_opened++;
	return 0;
}

static void t_close_stream_cb(struct quic_conn *c, struct quic_stream *s, uint64_t app_err,
			      void *arg)
{
	struct tclient *t = arg;

	(void)c;
	if (s == t->ctrl)
		t->ctrl = NULL;
	if (app_err)
		t->streams_reset++;
}

static void t_handshake_cb(struct quic_conn *c, void *arg)
{
	(void)c;
	((struct tclient *)arg)->handshake = 1;
}

static void t_conn_close_cb(struct quic_conn *c, int err, uint64_t app, void *arg)
{
	struct tclient *t = arg;

	(void)err;
	t->closed = 1;
	t->close_app = app;
	t->resume = quic_conn_take_resume(c);
	t->c = NULL;
	t->ctrl = NULL;
}

static const struct quic_handlers t_handlers = {
	.stream_data_cb = t_data_cb,
	.stream_open_cb = t_open_cb,
	.stream_close_cb = t_close_stream_cb,
	.handshake_cb = t_handshake_cb,
	.conn_close_cb = t_conn_close_cb,
};

/* Run the loop until *@flag is non-zero (or a 5 s deadline). */
static bool run_until(struct env *e, volatile int *flag)
{
	uint64_t end = quic_now_ns() + 5000000000ull;

	while (!*flag && quic_now_ns() < end)
		event_base_loop(e->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	return *flag != 0;
}

static void run_for(struct env *e, unsigned int ms)
{
	uint64_t end = quic_now_ns() + ms * 1000000ull;

	while (quic_now_ns() < end)
		event_base_loop(e->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

static void client_start_to(struct env *e, struct tclient *t, const struct pktio_addr *to,
			    const struct quic_resume *resume)
{
	struct quic_ep_config qc = {.verify = TLS_VERIFY_NONE, .idle_timeout_ms = 5000};
	struct pktio_addr any = v4("127.0.0.1", 0), local;

	assert_int_equal(pktio_udp_new(&t->io, &any, to), 0);
	pktio_udp_local(t->io, &local);
	qc.tls = e->client_tls;
	qc.max_streams_bidi = 1000;
	assert_int_equal(quic_ep_new(&t->ep, e->base, t->io, &qc, &t_handlers, t), 0);
	assert_int_equal(quic_ep_connect(t->ep, &local, to, resume, &t->c), 0);
}

static void client_start(struct env *e, struct tclient *t, const struct quic_resume *resume)
{
	client_start_to(e, t, &e->edge_addr, resume);
}

static void client_ctrl(struct env *e, struct tclient *t)
{
	assert_true(run_until(e, &t->handshake));
	assert_int_equal(quic_stream_open(t->c, &t->ctrl), 0);
}

/* A QUIC server on 127.0.0.1 at a free port, its address in @addr. */
static void server_start(struct env *e, struct quic_ep_config *qc, const struct quic_handlers *h,
			 void *arg, struct quic_ep **ep, struct pktio_addr *addr)
{
	struct pktio *io;

	assert_int_equal(netaddr_resolve("127.0.0.1", 0, AF_INET, addr), 0);
	assert_int_equal(pktio_udp_new(&io, addr, NULL), 0);
	pktio_udp_local(io, addr);
	qc->tls = e->server_tls;
	assert_int_equal(quic_ep_new(ep, e->base, io, qc, h, arg), 0);
}

/* A socket of @type bound to 127.0.0.1 at a free port, its address in @addr. */
static int loopback_socket(int type, struct pktio_addr *addr)
{
	int fd = socket(AF_INET, type, 0);

	assert_true(fd >= 0);
	assert_int_equal(netaddr_resolve("127.0.0.1", 0, AF_INET, addr), 0);
	assert_int_equal(bind(fd, &addr->sa, addr->len), 0);
	addr->len = sizeof(addr->in);
	assert_int_equal(getsockname(fd, &addr->sa, &addr->len), 0);
	return fd;
}

static void send_raw(struct tclient *t, const void *buf, size_t len)
{
	assert_int_equal(quic_stream_write(t->ctrl, buf, len, false), 0);
	quic_conn_flush(t->c);
}

static void send_msg(struct tclient *t, const struct proto_msg *m)
{
	uint8_t buf[2048];
	int n = proto_encode(m, buf, sizeof(buf));

	assert_true(n > 0);
	send_raw(t, buf, (size_t)n);
}

static void send_hello(struct tclient *t, const char *token)
{
	static const uint8_t id[PROTO_AGENT_ID_LEN] = "agent-id-0123456";
	struct proto_msg m = {.type = PROTO_HELLO};

	m.hello.version = PROTO_VERSION;
	m.hello.agent_id = (struct proto_bytes){id, sizeof(id)};
	m.hello.token = (struct proto_bytes){(const uint8_t *)token, strlen(token)};
	send_msg(t, &m);
}

/* A new client to the edge, its control stream open and a HELLO with @token sent. */
static void client_hello(struct env *e, struct tclient *t, const char *token)
{
	client_start(e, t, NULL);
	client_ctrl(e, t);
	send_hello(t, token);
}

static void send_register_kind(struct tclient *t, uint64_t req, uint64_t kind, const char *name,
			       uint64_t port)
{
	struct proto_msg m = {.type = PROTO_REGISTER};

	m.reg.req_id = req;
	m.reg.kind = kind;
	m.reg.name = (struct proto_bytes){(const uint8_t *)name, strlen(name)};
	m.reg.port = port;
	send_msg(t, &m);
}

static void send_register(struct tclient *t, uint64_t req, const char *name, uint64_t port)
{
	send_register_kind(t, req, PROTO_KIND_TCP, name, port);
}

/* Wait for message number @i (0-based) and return it. */
static struct rx_msg *wait_msg(struct env *e, struct tclient *t, unsigned int i)
{
	uint64_t end = quic_now_ns() + 5000000000ull;

	while (t->nmsgs <= i && !t->closed && quic_now_ns() < end)
		event_base_loop(e->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	if (t->nmsgs <= i)
		fprintf(stderr, "waited for message %u, have %u\n", i, t->nmsgs);
	assert_true(t->nmsgs > i);
	return &t->msgs[i];
}

static void client_free(struct tclient *t)
{
	quic_ep_free(t->ep, 0);
	quic_resume_free(t->resume);
	memset(t, 0, sizeof(*t));
}

static int env_setup(void **state)
{
	struct edge_config ec = {0};
	struct tls_client_config tc = {.verify = TLS_VERIFY_NONE};
	char fp[TLS_FP_STR_LEN];
	struct env *e = calloc(1, sizeof(*e));

	log_set_level(getenv("TEST_VERBOSE") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	wolfSSL_Init();
	e->base = event_base_new();
	assert_int_equal(tokens_parse("alice " TOKEN "\n", "test", &e->tokens), 0);
	assert_int_equal(tls_server_ctx_new(&e->server_tls, NULL, NULL, fp), 0);
	assert_int_equal(tls_client_ctx_new(&e->client_tls, &tc), 0);
	assert_int_equal(netaddr_resolve("127.0.0.1", 0, AF_INET, &ec.listen), 0);
	assert_int_equal(netaddr_resolve("127.0.0.1", 0, AF_INET, &ec.public_bind), 0);
	assert_int_equal(netaddr_resolve("127.0.0.1", 0, AF_INET, &ec.http_listen), 0);
	ec.tokens = e->tokens;
	ec.tls = e->server_tls;
	ec.grace_s = 5;
	ec.idle_timeout_s = 5;
	assert_int_equal(edge_new(&e->edge, e->base, &ec), 0);
	edge_local(e->edge, &e->edge_addr);
	*state = e;
	return 0;
}

static int env_teardown(void **state)
{
	struct env *e = *state;

	edge_free(e->edge);
	tls_ctx_free(e->server_tls);
	tls_ctx_free(e->client_tls);
	tokens_free(e->tokens);
	event_base_free(e->base);
	free(e);
	return 0;
}

static int tcp_connect(uint16_t port)
{
	struct pktio_addr sa = v4("127.0.0.1", port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_int_equal(connect(fd, &sa.sa, sa.len), 0);
	return fd;
}

static void test_tunnel_hostile_control_messages(void **state)
{
	struct env *e = *state;
	struct tclient a = {0}, b = {0};
	uint8_t buf[64];
	struct rx_msg *m;
	uint16_t port;
	size_t n;
	int fd;

	client_start(e, &a, NULL);
	client_ctrl(e, &a);

	/* REGISTER before HELLO */
	send_register(&a, 1, "web", 0);
	m = wait_msg(e, &a, 0);
	assert_int_equal(m->type, PROTO_ERROR);
	assert_int_equal(m->code, PROTO_ERR_NOT_AUTHED);

	/* an unknown type, framed: answered and skipped */
	buf[0] = 0x2a;
	buf[1] = 3;
	memcpy(buf + 2, "abc", 3);
	send_raw(&a, buf, 5);
	m = wait_msg(e, &a, 1);
	assert_int_equal(m->code, PROTO_ERR_UNKNOWN_TYPE);

	/* a HELLO with a zero-length token: malformed */
	buf[0] = PROTO_HELLO;
	buf[1] = 1 + 1 + PROTO_AGENT_ID_LEN + 1;
	buf[2] = PROTO_VERSION;
	buf[3] = PROTO_AGENT_ID_LEN;
	memset(buf + 4, 'i', PROTO_AGENT_ID_LEN);
	buf[4 + PROTO_AGENT_ID_LEN] = 0;
	send_raw(&a, buf, 5 + PROTO_AGENT_ID_LEN);
	m = wait_msg(e, &a, 2);
	assert_int_equal(m->code, PROTO_ERR_MALFORMED);

	/* a data-stream header on the control stream is not a control message */
	buf[0] = PROTO_STREAM;
	buf[1] = 0;
	send_raw(&a, buf, 2);
	m = wait_msg(e, &a, 3);
	assert_int_equal(m->code, PROTO_ERR_UNKNOWN_TYPE);

	/* now a good HELLO and REGISTER */
	send_hello(&a, TOKEN);
	assert_int_equal(wait_msg(e, &a, 4)->type, PROTO_WELCOME);
	send_register(&a, 2, "web", 0);
	m = wait_msg(e, &a, 5);
	assert_int_equal(m->type, PROTO_REGISTERED);
	port = (uint16_t)m->port;
	assert_true(port > 0);

	/* a second agent asks for the taken port: refused, first tunnel untouched */
	client_hello(e, &b, TOKEN);
	assert_int_equal(wait_msg(e, &b, 0)->type, PROTO_WELCOME);
	send_register(&b, 7, "other", port);
	m = wait_msg(e, &b, 1);
	assert_int_equal(m->type, PROTO_ERROR);
	assert_int_equal(m->code, PROTO_ERR_PORT_TAKEN);

	/* a huge length: the edge gives up on b's connection, not on a's */
	n = proto_varint_put(buf, 8, PROTO_REGISTER);
	n += proto_varint_put(buf + n, 8, PROTO_VARINT_MAX);
	send_raw(&b, buf, n);
	assert_true(run_until(e, &b.closed));
	assert_int_equal(b.close_app, PROTO_ERR_MALFORMED);

	/* a's tunnel still carries a public connection */
	fd = tcp_connect(port);
	while (!a.streams_opened && !a.closed)
		event_base_loop(e->base, EVLOOP_ONCE);
	assert_int_equal(a.streams_opened, 1);
	assert_false(a.closed);
	close(fd);
	client_free(&b);
	client_free(&a);
}

/* Point @t's connected socket at @to: a sink that never answers silences it. */
static void client_redirect(struct tclient *t, const struct pktio_addr *to)
{
	assert_int_equal(connect(pktio_udp_fd(t->io), &to->sa, to->len), 0);
}

static void test_tunnel_takeover_live_refused(void **state)
{
	struct env *e = *state;
	struct tclient a = {0}, b = {0};
	struct rx_msg *m;

	client_hello(e, &a, TOKEN);
	send_register(&a, 1, "same", 0);
	m = wait_msg(e, &a, 1);
	assert_int_equal(m->type, PROTO_REGISTERED);

	/* the same token and tunnel name from another connection while the
	 * holder answers: refused, the holder keeps its tunnel */
	client_hello(e, &b, TOKEN);
	send_register(&b, 1, "same", 0);
	m = wait_msg(e, &b, 1);
	assert_int_equal(m->type, PROTO_ERROR);
	assert_int_equal(m->code, PROTO_ERR_IN_USE);
	run_for(e, 200);
	assert_false(a.closed);
	assert_int_equal(a.nmsgs, 2); /* WELCOME, REGISTERED: no ERROR no-tunnel */
	assert_int_equal(a.pings, 1); /* the probe it answered */
	/* the holder itself asking again is no claim: the same tunnel at once */
	send_register(&a, 2, "same", 0);
	m = wait_msg(e, &a, 2);
	assert_int_equal(m->type, PROTO_REGISTERED);
	client_free(&b);
	client_free(&a);
}

static void test_tunnel_takeover_silent_holder(void **state)
{
	struct env *e = *state;
	struct tclient a = {0}, b = {0};
	struct pktio_addr sink;
	struct rx_msg *m;
	uint64_t port;
	int fd;

	client_hello(e, &a, TOKEN);
	send_register(&a, 1, "same", 0);
	m = wait_msg(e, &a, 1);
	assert_int_equal(m->type, PROTO_REGISTERED);
	port = m->port;

	/* the holder goes silent (a killed agent): a socket that never reads */
	fd = loopback_socket(SOCK_DGRAM, &sink);
	client_redirect(&a, &sink);

	/* a new agent with the same token and name gets the tunnel and its port */
	client_hello(e, &b, TOKEN);
	send_register(&b, 1, "same", 0);
	m = wait_msg(e, &b, 1);
	assert_int_equal(m->type, PROTO_REGISTERED);
	assert_int_equal(m->port, port);
	/* heard again, the old connection learns it lost the tunnel: its agent stops */
	client_redirect(&a, &e->edge_addr);
	assert_true(run_until(e, &a.closed));
	assert_int_equal(a.close_app, PROTO_ERR_NO_TUNNEL);
	close(fd);
	client_free(&b);
	client_free(&a);
}

/* A new client @a says HELLO, then REGISTERs each of the @n names of @kind in
 * turn (request ids 1..n): each one gets the error bad-name. */
static void hello_then_bad_names(struct env *e, struct tclient *a, uint64_t kind,
				 const char *const *bad, unsigned int n)
{
	struct rx_msg *m;
	unsigned int i;

	client_hello(e, a, TOKEN);
	assert_int_equal(wait_msg(e, a, 0)->type, PROTO_WELCOME);
	for (i = 0; i < n; i++) {
		send_register_kind(a, i + 1, kind, bad[i], 0);
		m = wait_msg(e, a, i + 1);
		assert_int_equal(m->type, PROTO_ERROR);
		assert_int_equal(m->code, PROTO_ERR_BAD_NAME);
	}
}

static void test_tunnel_bad_names(void **state)
{
	static const char *const bad[] = {"\xff\xfe\x01"
					  "bin\\",
					  "a\nbeamd: info: forged", "x\"y", "tab\there"};
	unsigned int i = sizeof(bad) / sizeof(bad[0]);
	struct env *e = *state;
	struct tclient a = {0};

	hello_then_bad_names(e, &a, PROTO_KIND_TCP, bad, i);
	/* the default name forms, IPv4 and IPv6, still register */
	send_register(&a, 10, "tcp:127.0.0.1:8080", 0);
	assert_int_equal(wait_msg(e, &a, i + 1)->type, PROTO_REGISTERED);
	send_register(&a, 11, "tcp:[::1]:80", 0);
	assert_int_equal(wait_msg(e, &a, i + 2)->type, PROTO_REGISTERED);
	assert_false(a.closed);
	client_free(&a);
}

/* http host names: IP literals, empty labels and wildcards are bad-name */
static void test_tunnel_bad_http_names(void **state)
{
	static const char *const bad[] = {
		"10.77.2.1",   "10.77.2.1.", "127.1", "::1",  "[::1]",
		"[fd77:2::1]", "fd77:2::1",  "",      "a..b", "*.example.com",
	};
	unsigned int i = sizeof(bad) / sizeof(bad[0]);
	struct env *e = *state;
	struct tclient a = {0};

	hello_then_bad_names(e, &a, PROTO_KIND_HTTP, bad, i);
	send_register_kind(&a, 100, PROTO_KIND_HTTP, "App.Example", 0);
	assert_int_equal(wait_msg(e, &a, i + 1)->type, PROTO_REGISTERED);
	assert_false(a.closed);
	client_free(&a);
}

/* Last: it leaves 127.0.0.1 throttled for the edge of this run. */
static void test_tunnel_auth_throttled(void **state)
{
	struct env *e = *state;
	struct tclient a = {0};
	int i;

	/* more wrong tokens from one address than its bucket holds (10): past
	 * that they are refused unchecked, as throttled */
	for (i = 0; i < 12; i++) {
		client_hello(e, &a, "guess-token");
		assert_true(run_until(e, &a.closed));
		assert_int_equal(a.close_app, i < 10 ? PROTO_ERR_AUTH : PROTO_ERR_THROTTLED);
		client_free(&a);
	}
	/* now even the right token is refused unchecked, and told so: not "auth" */
	client_hello(e, &a, TOKEN);
	send_register(&a, 1, "after-guessing", 0);
	assert_true(run_until(e, &a.closed));
	assert_int_equal(a.close_app, PROTO_ERR_THROTTLED);
	assert_int_equal(a.nmsgs, 0); /* no WELCOME, no answer to the REGISTER */
	client_free(&a);
}

static void test_tunnel_bad_token_closes(void **state)
{
	struct env *e = *state;
	struct tclient a = {0};

	client_hello(e, &a, "wrong-token");
	assert_true(run_until(e, &a.closed));
	assert_int_equal(a.close_app, PROTO_ERR_AUTH);
	client_free(&a);
}

static void test_tunnel_agent_extra_stream_reset(void **state)
{
	struct env *e = *state;
	struct quic_stream *extra;
	struct tclient a = {0};

	client_hello(e, &a, TOKEN);
	assert_int_equal(wait_msg(e, &a, 0)->type, PROTO_WELCOME);
	/* only the control stream is the agent's to open */
	assert_int_equal(quic_stream_open(a.c, &extra), 0);
	assert_int_equal(quic_stream_write(extra, "junk", 4, false), 0);
	quic_conn_flush(a.c);
	run_for(e, 300);
	assert_int_equal(a.streams_reset, 1);
	assert_false(a.closed);
	client_free(&a);
}

static void test_tunnel_resume_0rtt(void **state)
{
	struct env *e = *state;
	struct quic_resume *r;
	struct tclient a = {0};

	client_hello(e, &a, TOKEN);
	send_register(&a, 1, "resume", 0);
	assert_int_equal(wait_msg(e, &a, 1)->type, PROTO_REGISTERED);
	run_for(e, 50); /* the session ticket follows the handshake */
	quic_conn_close(a.c, 0, "bye");
	assert_true(run_until(e, &a.closed));
	r = a.resume;
	a.resume = NULL;
	assert_non_null(r);
	client_free(&a);

	/* HELLO and REGISTER in 0-RTT, before the handshake completes */
	client_start(e, &a, r);
	assert_int_equal(quic_stream_open(a.c, &a.ctrl), 0);
	send_hello(&a, TOKEN);
	send_register(&a, 1, "resume", 0);
	assert_int_equal(wait_msg(e, &a, 1)->type, PROTO_REGISTERED);
	assert_true(quic_conn_early_accepted(a.c));
	quic_resume_free(r);
	client_free(&a);
}

/* Send @len bytes to @to from a fresh UDP socket; return the answer's length,
 * 0 for none within @wait_ms. */
static ssize_t udp_probe(struct env *e, const struct pktio_addr *to, const uint8_t *pkt, size_t len,
			 unsigned int wait_ms, uint8_t *ans, size_t cap)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	uint64_t end = quic_now_ns() + wait_ms * 1000000ull;
	ssize_t n = -1;

	assert_true(fd >= 0);
	assert_int_equal(sendto(fd, pkt, len, 0, &to->sa, to->len), (ssize_t)len);
	while (n < 0 && quic_now_ns() < end) {
		event_base_loop(e->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		n = recv(fd, ans, cap, 0);
	}
	close(fd);
	return n < 0 ? 0 : n;
}

/* In @pkt, a long header with version 0x1a2a3a4a and a DCID and SCID of 8
 * bytes each (at 6 and 15; their bytes are left as they are). */
static void vn_pkt(uint8_t *pkt)
{
	pkt[0] = 0xc0;
	pkt[1] = 0x1a, pkt[2] = 0x2a, pkt[3] = 0x3a, pkt[4] = 0x4a;
	pkt[5] = 8;
	pkt[14] = 8;
}

static void test_tunnel_version_negotiation(void **state)
{
	struct env *e = *state;
	uint8_t pkt[1200] = {0}, ans[1500];
	ssize_t n;
	int i, found = 0;

	vn_pkt(pkt);
	memset(pkt + 6, 0xd1, 8);
	memset(pkt + 15, 0x51, 8);
	n = udp_probe(e, &e->edge_addr, pkt, sizeof(pkt), 1000, ans, sizeof(ans));
	assert_true(n >= 7 + 16 + 4);
	assert_true(ans[0] & 0x80);
	assert_memory_equal(ans + 1, "\0\0\0\0", 4); /* version 0: Version Negotiation */
	/* DCID echoes our SCID, SCID our DCID (RFC 9000 17.2.1) */
	assert_int_equal(ans[5], 8);
	assert_memory_equal(ans + 6, pkt + 15, 8);
	for (i = 23; i + 4 <= n; i += 4)
		if (!memcmp(ans + i, "\0\0\0\1", 4))
			found = 1;
	assert_true(found);
}

static void test_tunnel_stateless_reset(void **state)
{
	struct env *e = *state;
	uint8_t pkt[100], ans[1500];
	ssize_t n;

	/* a short header for a connection the edge does not know */
	memset(pkt, 0x77, sizeof(pkt));
	pkt[0] = 0x40;
	n = udp_probe(e, &e->edge_addr, pkt, sizeof(pkt), 1000, ans, sizeof(ans));
	/* smaller than what triggered it, at least 21 bytes, fixed bit set */
	assert_true(n >= 21 && n < (ssize_t)sizeof(pkt));
	assert_int_equal(ans[0] & 0xc0, 0x40);
	/* an agent's PING (about 40 bytes) is answered too, still smaller */
	n = udp_probe(e, &e->edge_addr, pkt, 40, 1000, ans, sizeof(ans));
	assert_true(n >= 21 && n < 40);
	/* no reset fits below the smallest one: never answered, so resets that
	 * answer resets shrink until they stop (RFC 9000 10.3.3) */
	assert_int_equal(udp_probe(e, &e->edge_addr, pkt, 22, 1000, ans, sizeof(ans)), 0);
}

/* A fake edge that answers REGISTER and opens data streams of its choosing. */
struct fake_edge {
	struct quic_conn *c;
	struct quic_stream *ctrl;
	size_t ctrl_bytes;
	uint64_t reset_code[4];
	unsigned int nreset;
	int registered;
};

static int f_data_cb(struct quic_conn *c, struct quic_stream *s, const uint8_t *data, size_t len,
		     bool fin, bool early, void *arg)
{
	struct fake_edge *f = arg;
	struct proto_msg m = {.type = PROTO_REGISTERED};
	uint8_t buf[128];
	int n;

	(void)data;
	(void)fin;
	(void)early;
	if (s != f->ctrl)
		return (int)len;
	f->ctrl_bytes += len;
	if (f->registered)
		return (int)len;
	/* HELLO + REGISTER from beam's agent are about 60 bytes: answer once */
	m.registered.req_id = 1;
	m.registered.tunnel_id = 5;
	m.registered.port = 4321;
	m.registered.addr = (struct proto_bytes){(const uint8_t *)"x:4321", 6};
	n = proto_encode(&m, buf, sizeof(buf));
	assert_true(n > 0);
	quic_stream_write(s, buf, (size_t)n, false);
	f->registered = 1;
	f->c = c;
	return (int)len;
}

static int f_open_cb(struct quic_conn *c, struct quic_stream *s, void *arg)
{
	struct fake_edge *f = arg;

	(void)c;
	if (!f->ctrl)
		f->ctrl = s;
	return 0;
}

static void f_close_cb(struct quic_conn *c, struct quic_stream *s, uint64_t app_err, void *arg)
{
	struct fake_edge *f = arg;

	(void)c;
	if (s != f->ctrl && f->nreset < 4 && app_err)
		f->reset_code[f->nreset++] = app_err;
}

static const struct quic_handlers f_handlers = {
	.stream_data_cb = f_data_cb,
	.stream_open_cb = f_open_cb,
	.stream_close_cb = f_close_cb,
};

static void fake_stream(struct env *e, struct fake_edge *f, uint64_t tunnel_id)
{
	struct proto_stream_hdr h = {.tunnel_id = tunnel_id, .family = 4, .port = 999};
	struct quic_stream *s;
	uint8_t buf[PROTO_STREAM_HDR_MAX];
	int n;

	(void)e;
	assert_int_equal(quic_stream_open(f->c, &s), 0);
	n = proto_stream_hdr_encode(&h, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(quic_stream_write(s, buf, (size_t)n, false), 0);
	assert_int_equal(quic_stream_write(s, "GET / HTTP/1.0\r\n\r\n", 18, false), 0);
	quic_conn_flush(f->c);
}

static void test_tunnel_agent_refuses_bad_streams(void **state)
{
	struct env *e = *state;
	struct quic_ep_config qc = {.server = true, .idle_timeout_ms = 5000, .max_streams_bidi = 4};
	struct agent_config ac = {0};
	struct fake_edge f = {0};
	struct quic_ep *fep;
	struct agent *agent;

	/* a port nothing listens on: bind one, note it, close it */
	close(loopback_socket(SOCK_STREAM, &ac.target));

	server_start(e, &qc, &f_handlers, &f, &fep, &ac.edge);

	ac.edge_host = "127.0.0.1";
	ac.edge_port = ntohs(ac.edge.in.sin_port);
	snprintf(ac.target_str, sizeof(ac.target_str), "127.0.0.1:%u",
		 ntohs(ac.target.in.sin_port));
	ac.token = TOKEN;
	ac.tls = e->client_tls;
	ac.verify = TLS_VERIFY_NONE;
	ac.idle_timeout_s = 5;
	assert_int_equal(agent_new(&agent, e->base, &ac), 0);
	assert_true(run_until(e, &f.registered));
	run_for(e, 100);

	/* a stream for a tunnel the agent never registered: reset, bad-stream */
	fake_stream(e, &f, 99);
	run_for(e, 300);
	assert_int_equal(f.nreset, 1);
	assert_int_equal(f.reset_code[0], PROTO_ERR_BAD_STREAM);

	/* its own tunnel, but the local service refuses: reset, connection-refused */
	fake_stream(e, &f, 5);
	run_for(e, 300);
	assert_int_equal(f.nreset, 2);
	assert_int_equal(f.reset_code[1], PROTO_ERR_CONN_REFUSED);
	assert_int_equal(agent_exit_code(agent), 0);

	agent_free(agent);
	quic_ep_free(fep, 0);
}

/* Late packets for a closed connection: what the closing period answers. */
#define CLOSE_PKT_LEN 80

/* A bare QUIC server for the closing and draining periods. */
struct close_srv {
	struct quic_ep *ep;
	struct pktio_addr addr;
	struct quic_conn *c;
	int closed;
};

static void cs_new_cb(struct quic_conn *c, void *arg)
{
	((struct close_srv *)arg)->c = c;
}

static void cs_close_cb(struct quic_conn *c, int err, uint64_t app, void *arg)
{
	struct close_srv *cs = arg;

	(void)c;
	(void)err;
	(void)app;
	cs->c = NULL;
	cs->closed = 1;
}

static int cs_data_cb(struct quic_conn *c, struct quic_stream *s, const uint8_t *data, size_t len,
		      bool fin, bool early, void *arg)
{
	(void)c;
	(void)s;
	(void)data;
	(void)fin;
	(void)early;
	(void)arg;
	return (int)len;
}

static const struct quic_handlers cs_handlers = {
	.stream_data_cb = cs_data_cb,
	.conn_new_cb = cs_new_cb,
	.conn_close_cb = cs_close_cb,
};

/* A bare server and a client connected to it. */
struct close_pair {
	struct close_srv cs;
	struct tclient t;
	struct beam_cid scid; /* the server's connection ID */
	struct beam_cid ccid; /* the client's */
};

/* Server and client connected, 1-RTT packets seen both ways. */
static void close_setup(struct env *e, struct close_pair *p)
{
	struct close_srv *cs = &p->cs;
	struct tclient *t = &p->t;
	/* a period long enough for the probes below on a loaded machine */
	struct quic_ep_config qc = {.server = true, .idle_timeout_ms = 5000, .close_min_ms = 3000};

	server_start(e, &qc, &cs_handlers, cs, &cs->ep, &cs->addr);
	client_start_to(e, t, &cs->addr, NULL);
	client_ctrl(e, t);
	send_raw(t, "x", 1);
	run_for(e, 100);
	assert_non_null(cs->c);
	assert_int_equal(quic_conn_cid(cs->c, &p->scid), 0);
	assert_int_equal(quic_conn_cid(t->c, &p->ccid), 0);
}

static void close_teardown(struct close_pair *p)
{
	client_free(&p->t);
	quic_ep_free(p->cs.ep, 0);
}

/* @pkt (CLOSE_PKT_LEN bytes): a short-header packet for @cid. */
static void close_pkt(uint8_t *pkt, const struct beam_cid *cid)
{
	memset(pkt, 0x5a, CLOSE_PKT_LEN);
	pkt[0] = 0x40;
	memcpy(pkt + 1, cid->data, cid->len);
}

/* A short-header packet for @cid from a fresh socket: the answer's length,
 * 0 for none within @wait_ms. */
static ssize_t close_probe(struct env *e, struct close_srv *cs, const struct beam_cid *cid,
			   unsigned int wait_ms, uint8_t *ans, size_t cap)
{
	uint8_t pkt[CLOSE_PKT_LEN];

	close_pkt(pkt, cid);
	return udp_probe(e, &cs->addr, pkt, sizeof(pkt), wait_ms, ans, cap);
}

/* RFC 9000 10.2.1: after its CONNECTION_CLOSE the server answers the
 * connection's late packets with the same close (1st, 2nd, 4th ...) for its
 * closing period; then the IDs are gone and a stateless reset answers instead. */
static void test_quic_closing_period(void **state)
{
	struct env *e = *state;
	struct close_pair p = {0};
	uint8_t ans[1500];
	uint32_t lingering, draining;
	unsigned int answers = 0;
	uint64_t repeated, end;
	uint8_t pkt[CLOSE_PKT_LEN];
	ssize_t n;
	int i, fd;

	close_setup(e, &p);
	quic_conn_close(p.cs.c, 0x77, "bye");
	assert_true(run_until(e, &p.t.closed));
	assert_int_equal(p.t.close_app, 0x77);
	assert_true(p.cs.closed); /* the application was told at once */
	quic_ep_closing_state(p.cs.ep, &lingering, &draining, &repeated);
	assert_int_equal(lingering, 1);
	assert_int_equal(draining, 0);

	/* 16 late packets: the saved close answers the ones whose count is a
	 * power of two (the client's own late ACKs count too), always a short
	 * header to the client's connection ID, never a stateless reset */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	close_pkt(pkt, &p.scid);
	for (i = 0; i < 16; i++)
		assert_int_equal(sendto(fd, pkt, sizeof(pkt), 0, &p.cs.addr.sa, p.cs.addr.len),
				 (ssize_t)sizeof(pkt));
	end = quic_now_ns() + 300000000ull;
	while (quic_now_ns() < end) {
		event_base_loop(e->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		n = recv(fd, ans, sizeof(ans), 0);
		if (n <= 0)
			continue;
		assert_true(n > 1 + (ssize_t)p.ccid.len);
		assert_int_equal(ans[0] & 0xc0, 0x40);
		assert_memory_equal(ans + 1, p.ccid.data, p.ccid.len);
		answers++;
	}
	close(fd);
	assert_true(answers >= 2 && answers <= 5);
	quic_ep_closing_state(p.cs.ep, &lingering, &draining, &repeated);
	assert_true(repeated >= answers);
	assert_int_equal(lingering, 1);

	/* the period (three PTOs, here at least 3 s) ends */
	run_for(e, 3500);
	quic_ep_closing_state(p.cs.ep, &lingering, &draining, &repeated);
	assert_int_equal(lingering, 0);
	n = close_probe(e, &p.cs, &p.scid, 500, ans, sizeof(ans));
	/* a stateless reset, random bytes */
	assert_true(n > 0 && n < CLOSE_PKT_LEN);
	assert_memory_not_equal(ans + 1, p.ccid.data, p.ccid.len);
	close_teardown(&p);
}

/* RFC 9000 10.2.2: after the peer's CONNECTION_CLOSE the server sends nothing
 * more for that connection (no close, no stateless reset) for three PTOs. */
static void test_quic_draining_period(void **state)
{
	struct env *e = *state;
	struct close_pair p = {0};
	uint8_t ans[1500];
	uint32_t closing, draining;
	uint64_t repeated;

	close_setup(e, &p);
	quic_conn_close(p.t.c, 0x55, "client bye");
	assert_true(run_until(e, &p.cs.closed));
	quic_ep_closing_state(p.cs.ep, &closing, &draining, &repeated);
	assert_int_equal(closing, 0);
	assert_int_equal(draining, 1);
	assert_int_equal(close_probe(e, &p.cs, &p.scid, 100, ans, sizeof(ans)), 0);
	quic_ep_closing_state(p.cs.ep, &closing, &draining, &repeated);
	assert_int_equal(draining, 1);
	run_for(e, 3500);
	quic_ep_closing_state(p.cs.ep, &closing, &draining, &repeated);
	assert_int_equal(closing + draining, 0);
	assert_int_equal(repeated, 0);
	/* a stateless reset */
	assert_true(close_probe(e, &p.cs, &p.scid, 500, ans, sizeof(ans)) > 0);
	close_teardown(&p);
}

/* Retry, Version Negotiation and stateless resets share one token bucket:
 * 400 packets that each ask for one, at a rate of 50/s, get the burst (50) and
 * what the rate adds while they arrive, and every other one is counted. */
static void test_quic_stateless_rate(void **state)
{
	struct env *e = *state;
	struct quic_ep_config qc = {.server = true, .stateless_rate = 50};
	uint64_t limited[QUIC_STATELESS__MAX], t0, ms;
	struct close_srv cs = {0};
	unsigned int i, answers = 0;
	uint8_t pkt[1200], ans[1500];
	int fd;

	server_start(e, &qc, &cs_handlers, &cs, &cs.ep, &cs.addr);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	t0 = quic_now_ns();
	for (i = 0; i < 400; i++) {
		memset(pkt, 0x33 + (i & 0x3f), sizeof(pkt));
		if (i & 1) {
			pkt[0] = 0x40; /* short header, unknown CID: a stateless reset */
		} else {
			/* long header, unknown version: Version Negotiation */
			vn_pkt(pkt);
		}
		assert_int_equal(
			sendto(fd, pkt, (i & 1) ? 100 : sizeof(pkt), 0, &cs.addr.sa, cs.addr.len),
			(ssize_t)((i & 1) ? 100 : sizeof(pkt)));
		event_base_loop(e->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		while (recv(fd, ans, sizeof(ans), 0) > 0)
			answers++;
	}
	run_for(e, 50);
	while (recv(fd, ans, sizeof(ans), 0) > 0)
		answers++;
	ms = (quic_now_ns() - t0) / 1000000;
	close(fd);
	quic_ep_stateless_limited(cs.ep, limited);
	assert_true(answers >= 50);
	assert_true(answers <= 50 + 50 * ms / 1000 + 1);
	assert_int_equal(limited[QUIC_STATELESS_VN] + limited[QUIC_STATELESS_RESET] + answers, 400);
	assert_true(limited[QUIC_STATELESS_VN] > 0 && limited[QUIC_STATELESS_RESET] > 0);
	assert_int_equal(limited[QUIC_STATELESS_RETRY], 0);
	quic_ep_free(cs.ep, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tunnel_hostile_control_messages),
		cmocka_unit_test(test_tunnel_takeover_live_refused),
		cmocka_unit_test(test_tunnel_takeover_silent_holder),
		cmocka_unit_test(test_tunnel_bad_names),
		cmocka_unit_test(test_tunnel_bad_token_closes),
		cmocka_unit_test(test_tunnel_agent_extra_stream_reset),
		cmocka_unit_test(test_tunnel_resume_0rtt),
		cmocka_unit_test(test_tunnel_version_negotiation),
		cmocka_unit_test(test_tunnel_stateless_reset),
		cmocka_unit_test(test_tunnel_agent_refuses_bad_streams),
		cmocka_unit_test(test_quic_closing_period),
		cmocka_unit_test(test_quic_draining_period),
		cmocka_unit_test(test_quic_stateless_rate),
		cmocka_unit_test(test_tunnel_bad_http_names),
		cmocka_unit_test(test_tunnel_auth_throttled),
	};

	return cmocka_run_group_tests(tests, env_setup, env_teardown);
}
