// SPDX-License-Identifier: MIT
/*
 * hsload.c - handshakes per second a server finishes, with many in flight and
 * no process start in the way.
 *
 *   hsload quic -t IP:PORT --pin SHA256:HEX [-c CONNS] [-d SECONDS]
 *        (tokens: $BEAM_TOKEN, several joined by commas are used in turn)
 *   hsload tls  -t IP:PORT [-c CONNS] [-d SECONDS]
 *
 * quic: beam's own client code (quic.c over a UDP socket, as the agent uses
 * it): a full 1-RTT QUIC + TLS 1.3 handshake with beamd, then HELLO on the
 * control stream; one handshake counts when WELCOME comes back, so beamd has
 * finished the handshake and authenticated the token. Each connection gets a
 * fresh socket, like a new agent, and is closed once counted.
 *
 * tls: the same for a TLS 1.3 server over TCP (stunnel's server side): TCP
 * connect, handshake (wolfSSL, no certificate check: the cost measured is the
 * server's), and one counts when the server's first NewSessionTicket arrives,
 * which a TLS 1.3 server sends only after it has checked the client's
 * Finished. A server that sends no ticket counts at the end of the client's
 * handshake (the report says "no ticket" then).
 *
 * Both keep CONNS handshakes in flight for SECONDS and print one JSON line:
 * {"mode", "handshakes", "errors", "seconds", "per_s", "p50_ms", "p99_ms",
 * "tickets"}.
 */
#include "log.h"
#include "netaddr.h"
#include "pktio_udp.h"
#include "proto.h"
#include "quic.h"
#include "tls.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#define MAX_CONNS	256
#define MAX_SAMPLES	(1u << 20)
#define CONN_TIMEOUT_MS 5000
#define MAX_TOKENS	256

struct opts {
	const char *mode;
	struct pktio_addr target;
	uint8_t pin[TLS_FP_LEN];
	unsigned int conns;
	double seconds;
	char *tokens[MAX_TOKENS]; /* used in turn: an edge limits connections per token */
	unsigned int ntokens;
};

/* Handshake times, shared by the TLS threads (under @lock). */
struct results {
	pthread_mutex_t lock;
	uint64_t done, errors, tickets;
	uint32_t *lat_us;
	size_t nlat;
};

static struct results res = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void record(uint64_t start_ns, bool ok, bool ticket)
{
	uint64_t us = (now_ns() - start_ns) / 1000;

	pthread_mutex_lock(&res.lock);
	if (!ok) {
		res.errors++;
	} else {
		res.done++;
		res.tickets += ticket;
		if (res.nlat < MAX_SAMPLES)
			res.lat_us[res.nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	}
	pthread_mutex_unlock(&res.lock);
}

/* ---- quic: beam's client against beamd ---- */

struct qslot {
	struct qload *q;
	struct quic_ep *ep;
	struct quic_conn *c;
	struct quic_stream *ctrl;
	struct event *restart;
	uint64_t start_ns;
	uint8_t rx[PROTO_MAX_PAYLOAD + 16];
	size_t rx_len;
	bool counted;
};

struct qload {
	const struct opts *o;
	struct event_base *base;
	struct WOLFSSL_CTX *tls;
	uint64_t end_ns;
	unsigned int next_token;
	struct qslot slots[MAX_CONNS];
};

static void qslot_start(struct qslot *s);

/* The connection is over (counted or failed): free it outside the engine's
 * callbacks, then start the next one. */
static void qslot_finish(struct qslot *s, bool ok)
{
	if (!s->counted)
		record(s->start_ns, ok, false);
	s->counted = true;
	event_active(s->restart, 0, 0);
}

static void q_handshake_cb(struct quic_conn *c, void *arg)
{
	struct qslot *s = quic_conn_user(c);
	struct proto_msg m = {.type = PROTO_HELLO};
	uint8_t id[PROTO_AGENT_ID_LEN], buf[PROTO_MAX_PAYLOAD + 16];
	const char *tok;
	int n;

	(void)arg;
	if (!s || quic_stream_open(c, &s->ctrl)) {
		if (s)
			qslot_finish(s, false);
		return;
	}
	if (getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id))
		memset(id, 0x5a, sizeof(id));
	m.hello.version = PROTO_VERSION;
	m.hello.agent_id.data = id;
	m.hello.agent_id.len = sizeof(id);
	tok = s->q->o->tokens[s->q->next_token++ % s->q->o->ntokens];
	m.hello.token.data = (const uint8_t *)tok;
	m.hello.token.len = strlen(tok);
	n = proto_encode(&m, buf, sizeof(buf));
	if (n < 0 || quic_stream_write(s->ctrl, buf, (size_t)n, false)) {
		qslot_finish(s, false);
		return;
	}
	quic_conn_flush(c);
}

static int q_stream_data_cb(struct quic_conn *c, struct quic_stream *st, const uint8_t *data,
			    size_t len, bool fin, bool early, void *arg)
{
	struct qslot *s = quic_conn_user(c);
	struct proto_msg m;
	size_t used = 0, take;
	int err;

	(void)st;
	(void)fin;
	(void)early;
	(void)arg;
	if (!s || s->counted)
		return (int)len;
	take = sizeof(s->rx) - s->rx_len;
	if (take > len)
		take = len;
	memcpy(s->rx + s->rx_len, data, take);
	s->rx_len += take;
	err = proto_decode(s->rx, s->rx_len, &m, &used);
	if (err == -EAGAIN && s->rx_len < sizeof(s->rx))
		return (int)len;
	qslot_finish(s, !err && m.type == PROTO_WELCOME);
	return (int)len;
}

static void q_conn_close_cb(struct quic_conn *c, int err, uint64_t app_code, void *arg)
{
	struct qslot *s = quic_conn_user(c);

	(void)err;
	(void)app_code;
	(void)arg;
	if (!s)
		return;
	s->c = NULL;
	s->ctrl = NULL;
	if (!s->counted)
		qslot_finish(s, false);
}

static const struct quic_handlers q_handlers = {
	.stream_data_cb = q_stream_data_cb,
	.handshake_cb = q_handshake_cb,
	.conn_close_cb = q_conn_close_cb,
};

static void qslot_stop(struct qslot *s)
{
	if (s->c)
		quic_conn_set_user(s->c, NULL);
	quic_ep_free(s->ep, 0);
	s->ep = NULL;
	s->c = NULL;
	s->ctrl = NULL;
}

static void qslot_restart_cb(evutil_socket_t fd, short what, void *arg)
{
	struct qslot *s = arg;

	(void)fd;
	(void)what;
	qslot_stop(s);
	if (now_ns() < s->q->end_ns)
		qslot_start(s);
}

/* A connection that hangs (lost packets, a server out of room) ends here. */
static void qslot_timeout_check(struct qslot *s)
{
	if (s->ep && !s->counted && now_ns() - s->start_ns > CONN_TIMEOUT_MS * 1000000ull)
		qslot_finish(s, false);
}

static void qslot_start(struct qslot *s)
{
	const struct opts *o = s->q->o;
	struct quic_ep_config qc = {0};
	struct pktio_addr any = {0}, local;
	struct pktio *io;

	s->counted = false;
	s->rx_len = 0;
	s->start_ns = now_ns();
	any.sa.sa_family = o->target.sa.sa_family;
	any.len = o->target.len;
	if (pktio_udp_new(&io, &any, &o->target)) {
		qslot_finish(s, false);
		return;
	}
	qc.server = false;
	qc.tls = s->q->tls;
	qc.verify = TLS_VERIFY_PIN;
	memcpy(qc.pin, o->pin, sizeof(qc.pin));
	qc.idle_timeout_ms = CONN_TIMEOUT_MS;
	if (quic_ep_new(&s->ep, s->q->base, io, &qc, &q_handlers, s)) {
		s->ep = NULL;
		qslot_finish(s, false);
		return;
	}
	if (pktio_udp_local(io, &local) ||
	    quic_ep_connect(s->ep, &local, &o->target, NULL, &s->c)) {
		s->c = NULL;
		qslot_finish(s, false);
		return;
	}
	quic_conn_set_user(s->c, s);
}

static void q_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct qload *q = arg;
	unsigned int i;
	bool busy = false;

	(void)fd;
	(void)what;
	for (i = 0; i < q->o->conns; i++) {
		qslot_timeout_check(&q->slots[i]);
		busy |= q->slots[i].ep != NULL;
	}
	if (now_ns() >= q->end_ns && !busy)
		event_base_loopbreak(q->base);
}

static int run_quic(const struct opts *o)
{
	struct tls_client_config tc = {.verify = TLS_VERIFY_PIN};
	struct timeval tick = {0, 50000};
	struct event *timer;
	struct qload *q;
	unsigned int i;
	int rc = 1;

	q = calloc(1, sizeof(*q));
	if (!q)
		return 1;
	q->o = o;
	memcpy(tc.pin, o->pin, sizeof(tc.pin));
	q->base = event_base_new();
	if (!q->base || tls_client_ctx_new(&q->tls, &tc))
		goto out;
	timer = event_new(q->base, -1, EV_PERSIST, q_tick_cb, q);
	if (!timer || event_add(timer, &tick))
		goto out;
	q->end_ns = now_ns() + (uint64_t)(o->seconds * 1e9);
	for (i = 0; i < o->conns; i++) {
		q->slots[i].q = q;
		q->slots[i].restart = event_new(q->base, -1, 0, qslot_restart_cb, &q->slots[i]);
		if (!q->slots[i].restart)
			goto out;
	}
	for (i = 0; i < o->conns; i++)
		qslot_start(&q->slots[i]);
	event_base_dispatch(q->base);
	for (i = 0; i < o->conns; i++) {
		qslot_stop(&q->slots[i]);
		event_free(q->slots[i].restart);
	}
	event_free(timer);
	rc = 0;
out:
	if (q->tls)
		tls_ctx_free(q->tls);
	if (q->base)
		event_base_free(q->base);
	free(q);
	return rc;
}

/* ---- tls: a TLS 1.3 server over TCP ---- */

struct tls_thread {
	const struct opts *o;
	WOLFSSL_CTX *ctx;
	uint64_t end_ns;
	pthread_t tid;
};

static int ticket_cb(WOLFSSL *ssl, const unsigned char *ticket, int len, void *arg)
{
	(void)ssl;
	(void)ticket;
	(void)len;
	*(bool *)arg = true;
	return 0;
}

/* Wait (up to the deadline) until the server's first ticket was read. */
static bool wait_ticket(WOLFSSL *ssl, int fd, const bool *got, uint64_t deadline_ns)
{
	char one_byte;

	while (!*got) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t now = now_ns();
		int r, e;

		if (now >= deadline_ns)
			return false;
		r = poll(&p, 1, (int)((deadline_ns - now) / 1000000ull) + 1);
		if (r <= 0)
			return false;
		r = wolfSSL_read(ssl, &one_byte, 1);
		if (r > 0)
			continue; /* application data: not expected, ignored */
		e = wolfSSL_get_error(ssl, r);
		if (e != WOLFSSL_ERROR_WANT_READ)
			return *got;
	}
	return true;
}

static bool tls_one(struct tls_thread *t, bool *ticket)
{
	uint64_t start = now_ns(), deadline = start + CONN_TIMEOUT_MS * 1000000ull;
	struct timeval tv = {CONN_TIMEOUT_MS / 1000, 0};
	WOLFSSL *ssl = NULL;
	bool got = false, ok = false;
	int fd, one = 1;

	*ticket = false;
	fd = socket(t->o->target.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, &t->o->target.sa, t->o->target.len))
		goto out;
	ssl = wolfSSL_new(t->ctx);
	if (!ssl || wolfSSL_set_fd(ssl, fd) != WOLFSSL_SUCCESS)
		goto out;
	wolfSSL_set_SessionTicket_cb(ssl, ticket_cb, &got);
	if (wolfSSL_connect(ssl) != WOLFSSL_SUCCESS)
		goto out;
	/* Non-blocking from here: a read returns once the ticket is in, not
	 * when application data (which never comes) would. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	*ticket = wait_ticket(ssl, fd, &got,
			      start + 200000000ull < deadline ? start + 200000000ull : deadline);
	ok = true;
out:
	if (ssl) {
		wolfSSL_shutdown(ssl);
		wolfSSL_free(ssl);
	}
	close(fd);
	return ok;
}

static void *tls_thread_main(void *arg)
{
	struct tls_thread *t = arg;

	while (now_ns() < t->end_ns) {
		uint64_t start = now_ns();
		bool ticket;
		bool ok = tls_one(t, &ticket);

		record(start, ok, ticket);
	}
	return NULL;
}

static int run_tls(const struct opts *o)
{
	struct tls_thread t[MAX_CONNS];
	WOLFSSL_CTX *ctx;
	unsigned int i, started = 0;

	wolfSSL_Init();
	ctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
	if (!ctx)
		return 1;
	/* The server's cost is measured, not ours: no chain to check. */
	wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
	for (i = 0; i < o->conns; i++) {
		t[i].o = o;
		t[i].ctx = ctx;
		t[i].end_ns = now_ns() + (uint64_t)(o->seconds * 1e9);
		if (pthread_create(&t[i].tid, NULL, tls_thread_main, &t[i]))
			break;
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(t[i].tid, NULL);
	wolfSSL_CTX_free(ctx);
	return started ? 0 : 1;
}

/* ---- main ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_ms(double p)
{
	size_t i;

	if (!res.nlat)
		return 0;
	i = (size_t)(p * (double)(res.nlat - 1));
	return res.lat_us[i] / 1000.0;
}

static void usage(void)
{
	fprintf(stderr, "usage: hsload quic|tls -t IP:PORT [--pin SHA256:HEX] [-c CONNS (16)] "
			"[-d SECONDS (3)]\n       (quic: token from $BEAM_TOKEN)\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"target", required_argument, NULL, 't'},
		{"pin", required_argument, NULL, 'p'},
		{"conns", required_argument, NULL, 'c'},
		{"duration", required_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	struct opts o = {.conns = 16, .seconds = 3};
	char host[256];
	uint16_t port = 0;
	const char *target = NULL, *pin = NULL;
	char *toks = NULL;
	uint64_t t0, t1;
	int c, rc;

	if (argc < 2 || (strcmp(argv[1], "quic") && strcmp(argv[1], "tls"))) {
		usage();
		return 2;
	}
	o.mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "t:p:c:d:", lopts, NULL)) != -1) {
		switch (c) {
		case 't':
			target = optarg;
			break;
		case 'p':
			pin = optarg;
			break;
		case 'c':
			o.conns = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'd':
			o.seconds = strtod(optarg, NULL);
			break;
		default:
			usage();
			return 2;
		}
	}
	if (!target || !o.conns || o.conns > MAX_CONNS || !(o.seconds > 0) || o.seconds > 3600 ||
	    netaddr_split(target, NULL, host, sizeof(host), &port) || !port ||
	    netaddr_resolve(host, port, AF_UNSPEC, &o.target)) {
		usage();
		return 2;
	}
	if (!strcmp(o.mode, "quic")) {
		const char *env = getenv("BEAM_TOKEN");
		char *save = NULL, *t;

		toks = env ? strdup(env) : NULL;
		for (t = toks ? strtok_r(toks, ",", &save) : NULL; t && o.ntokens < MAX_TOKENS;
		     t = strtok_r(NULL, ",", &save))
			o.tokens[o.ntokens++] = t;
		if (!pin || tls_pin_parse(pin, o.pin) || !o.ntokens) {
			fprintf(stderr, "hsload: quic needs --pin SHA256:HEX and $BEAM_TOKEN "
					"(one token, or several joined by commas)\n");
			free(toks);
			return 2;
		}
	}
	res.lat_us = calloc(MAX_SAMPLES, sizeof(*res.lat_us));
	if (!res.lat_us) {
		free(toks);
		return 1;
	}

	t0 = now_ns();
	rc = !strcmp(o.mode, "quic") ? run_quic(&o) : run_tls(&o);
	t1 = now_ns();
	free(toks);
	if (rc) {
		fprintf(stderr, "hsload: %s setup failed\n", o.mode);
		free(res.lat_us);
		return 1;
	}
	qsort(res.lat_us, res.nlat, sizeof(*res.lat_us), cmp_u32);
	printf("{\"mode\":\"%s\",\"conns\":%u,\"handshakes\":%llu,\"errors\":%llu,\"seconds\":%.3f,"
	       "\"per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"tickets\":%llu}\n",
	       o.mode, o.conns, (unsigned long long)res.done, (unsigned long long)res.errors,
	       (double)(t1 - t0) / 1e9, (double)res.done / ((double)(t1 - t0) / 1e9), pct_ms(0.5),
	       pct_ms(0.99), (unsigned long long)res.tickets);
	free(res.lat_us);
	return 0;
}
