// SPDX-License-Identifier: MIT
/*
 * agent.c - the beam agent.
 *
 * One QUIC connection to the edge at a time. The control stream carries
 * HELLO and REGISTER (in 0-RTT when resuming: both are idempotent); every
 * stream the edge opens starts with a header naming the tunnel and the
 * public client, then carries that client's bytes, which the agent pipes to
 * a fresh TCP connection to the local service.
 */
#include "agent.h"
#include "log.h"
#include "netaddr.h"
#include "pktio_udp.h"
#include "proto.h"
#include "quic.h"
#include "udp_local.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 15000
#define CTRL_BUF_MAX   (2 * (PROTO_MAX_PAYLOAD + 16))
#define EDGE_ADDRS_MAX 8

struct agent {
	struct event_base *base;
	struct agent_config cfg;
	char name[PROTO_MAX_NAME + 1];
	uint8_t agent_id[PROTO_AGENT_ID_LEN];
	struct quic_ep *ep;
	struct pktio *io; /* owned by ep */
	struct quic_conn *c;
	struct quic_stream *ctrl;
	struct quic_resume *resume;
	struct event *retry;
	unsigned int attempt;
	/* the edge's addresses, resolved again before each reconnect; a failed
	 * attempt moves on to the next one */
	struct pktio_addr edge[EDGE_ADDRS_MAX];
	unsigned int nedge, cur_edge;
	char edge_label[NETADDR_HOST_MAX + 8]; /* "host:port", "[v6]:port": for messages */
	uint64_t tunnel_id;
	uint16_t public_port;	       /* asked again after a reconnect */
	struct pktio_addr public_addr; /* the tunnel's public address, for PROXY headers */
	bool up;
	bool stopping;
	bool in_use; /* refused: a live agent holds the tunnel; retry later */
	int exit_code;
	uint8_t rx[CTRL_BUF_MAX];
	size_t rx_len;
	uint64_t started_ns;
	struct udp_local *udp; /* udp tunnels: a socket per public flow */
	uint64_t udp_too_big, udp_queue_full, udp_no_edge;
};

/* Per data stream until its header is read. */
struct hdr_state {
	uint8_t buf[PROTO_STREAM_HDR_MAX];
	size_t len;
};

static void agent_connect(struct agent *a);

/* ---- udp tunnels -------------------------------------------------------- */

/* The local service answered flow @flow_id: back to the edge as a DATAGRAM. */
static void agent_udp_reply(void *arg, uint64_t flow_id, const uint8_t *data, size_t len)
{
	struct proto_dgram_hdr h = {.tunnel_id = 0, .flow_id = flow_id};
	uint8_t buf[PROTO_DGRAM_HDR_MAX + 1500];
	struct agent *a = arg;
	int n, err;

	if (!a->c || !a->tunnel_id) {
		a->udp_no_edge++;
		return;
	}
	h.tunnel_id = a->tunnel_id;
	n = proto_dgram_hdr_encode(&h, buf, PROTO_DGRAM_HDR_MAX);
	if (n < 0 || len > sizeof(buf) - (size_t)n ||
	    (size_t)n + len > quic_conn_datagram_max(a->c)) {
		a->udp_too_big++;
		pr_warn_rl(
			"dropped a %zu byte service answer: exceeds a QUIC datagram (%zu so far)",
			len, (size_t)a->udp_too_big);
		return;
	}
	memcpy(buf + n, data, len);
	err = quic_conn_send_datagram(a->c, buf, (size_t)n + len);
	if (err == -ENOBUFS || err == -ENOMEM) {
		a->udp_queue_full++;
		pr_warn_rl(
			"dropped answers of the local service: datagram queue full (%llu so far)",
			(unsigned long long)a->udp_queue_full);
	} else if (err) {
		a->udp_no_edge++;
	}
}

static void agent_udp_flush(void *arg)
{
	struct agent *a = arg;

	if (a->c)
		quic_conn_flush(a->c);
}

/* A public client's datagram from the edge: to its flow's socket. */
static void agent_datagram_cb(struct quic_conn *c, const uint8_t *data, size_t len, void *arg)
{
	struct proto_dgram_hdr h;
	struct agent *a = arg;
	int n;

	(void)c;
	n = proto_dgram_hdr_decode(data, len, &h);
	if (n < 0 || !a->udp || h.tunnel_id != a->tunnel_id) {
		pr_warn_rl("edge sent a datagram that is not for our udp tunnel");
		return;
	}
	udp_local_send(a->udp, h.flow_id, data + n, len - (size_t)n);
}

/* Keep @r for the next connection, and in the session file for the next process. */
static void agent_keep_resume(struct agent *a, struct quic_resume *r)
{
	int err;

	if (!r)
		return;
	quic_resume_free(a->resume);
	a->resume = r;
	if (!a->cfg.session_file)
		return;
	err = quic_resume_save(r, a->cfg.session_file);
	if (err)
		pr_warn_rl("failed to save the session to '%s': %s", a->cfg.session_file,
			   strerror(-err));
}

static void ctrl_send(struct agent *a, const struct proto_msg *m)
{
	uint8_t buf[PROTO_MAX_PAYLOAD + 16];
	int n = proto_encode(m, buf, sizeof(buf));

	if (n < 0) {
		pr_err("failed to encode control message: %s", strerror(-n));
		return;
	}
	quic_stream_write(a->ctrl, buf, (size_t)n, false);
}

/* REGISTER the tunnel: the asked port, or the one we had before a reconnect. */
static void send_register(struct agent *a)
{
	struct proto_msg m = {.type = PROTO_REGISTER};

	m.reg.req_id = 1;
	m.reg.kind = a->cfg.kind;
	m.reg.name.data = (const uint8_t *)a->name;
	m.reg.name.len = strlen(a->name);
	m.reg.port = a->cfg.remote_port ? a->cfg.remote_port : a->public_port;
	ctrl_send(a, &m);
}

/* HELLO then REGISTER: both idempotent, so they may go in 0-RTT. */
static void agent_start_control(struct agent *a)
{
	struct proto_msg m = {.type = PROTO_HELLO};
	int err;

	err = quic_stream_open(a->c, &a->ctrl);
	if (err) {
		pr_debug("control stream not open yet: %s", strerror(-err));
		a->ctrl = NULL;
		return;
	}
	a->rx_len = 0;
	m.hello.version = PROTO_VERSION;
	m.hello.agent_id.data = a->agent_id;
	m.hello.agent_id.len = sizeof(a->agent_id);
	m.hello.token.data = (const uint8_t *)a->cfg.token;
	m.hello.token.len = strlen(a->cfg.token);
	ctrl_send(a, &m);

	send_register(a);
	quic_conn_flush(a->c);
}

static void agent_fatal(struct agent *a, int code)
{
	a->exit_code = code;
	event_base_loopbreak(a->base);
}

/* An IPv4-mapped IPv6 address in @p becomes the IPv4 address it carries. */
static void addr_unmap(struct pktio_addr *p)
{
	struct sockaddr_in in = {.sin_family = AF_INET};

	if (p->sa.sa_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&p->in6.sin6_addr))
		return;
	in.sin_port = p->in6.sin6_port;
	memcpy(&in.sin_addr, &p->in6.sin6_addr.s6_addr[12], 4);
	memset(p, 0, sizeof(*p));
	p->in = in;
	p->len = sizeof(p->in);
}

/* Whether @p names one host: not the wildcard, multicast or broadcast. */
static bool addr_unicast(const struct pktio_addr *p)
{
	uint32_t h;

	if (p->sa.sa_family == AF_INET6)
		return !IN6_IS_ADDR_UNSPECIFIED(&p->in6.sin6_addr) &&
		       !IN6_IS_ADDR_MULTICAST(&p->in6.sin6_addr);
	if (p->sa.sa_family != AF_INET)
		return false;
	h = ntohl(p->in.sin_addr.s_addr);
	return h != INADDR_ANY && h != INADDR_BROADCAST && !IN_MULTICAST(h);
}

/*
 * The destination in PROXY headers: the tunnel's public port on the edge
 * address the agent reached. REGISTERED reports "host:port"; when its host is
 * no unicast literal (an edge listening on a wildcard, an http host name),
 * the address our QUIC connection reached stands in for it.
 */
static void public_addr_of(struct agent *a, const struct proto_bytes *addr)
{
	char host[NETADDR_HOST_MAX] = "", text[PROTO_MAX_ADDR + 1];
	struct pktio_addr *p = &a->public_addr;
	uint16_t port;

	snprintf(text, sizeof(text), "%.*s", (int)addr->len, (const char *)addr->data);
	if (netaddr_split(text, NULL, host, sizeof(host), &port))
		host[0] = '\0';
	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET6, host, &p->in6.sin6_addr) == 1) {
		p->in6.sin6_family = AF_INET6;
		p->len = sizeof(p->in6);
	} else if (inet_pton(AF_INET, host, &p->in.sin_addr) == 1) {
		p->in.sin_family = AF_INET;
		p->len = sizeof(p->in);
	}
	addr_unmap(p);
	if (!addr_unicast(p) && a->c) {
		*p = *quic_conn_peer(a->c);
		addr_unmap(p);
	}
	if (!addr_unicast(p)) {
		memset(p, 0, sizeof(*p));
		p->in.sin_family = AF_INET;
		p->len = sizeof(p->in);
	}
	if (p->sa.sa_family == AF_INET6)
		p->in6.sin6_port = htons(a->public_port);
	else
		p->in.sin_port = htons(a->public_port);
}

/* "tunnel up: KIND://PUBLIC -> LOCAL", the line users (and tests) look for. */
static void print_tunnel_up(const struct agent *a)
{
	const char *kind = a->cfg.kind == PROTO_KIND_UDP ? "udp" : "tcp";

	if (a->cfg.kind == PROTO_KIND_HTTP && a->public_port == 80)
		printf("tunnel up: http://%s -> %s\n", a->name, a->cfg.target_str);
	else if (a->cfg.kind == PROTO_KIND_HTTP)
		printf("tunnel up: http://%s:%u -> %s\n", a->name, a->public_port,
		       a->cfg.target_str);
	else
		printf(strchr(a->cfg.edge_host, ':') ? "tunnel up: %s://[%s]:%u -> %s\n"
						     : "tunnel up: %s://%s:%u -> %s\n",
		       kind, a->cfg.edge_host, a->public_port, a->cfg.target_str);
	fflush(stdout);
}

static void handle_msg(struct agent *a, const struct proto_msg *m)
{
	char reason[PROTO_MAX_REASON + 1];

	switch (m->type) {
	case PROTO_WELCOME:
		pr_debug("edge accepted us as '%.*s'", (int)m->welcome.name.len,
			 (const char *)m->welcome.name.data);
		break;
	case PROTO_REGISTERED:
		a->tunnel_id = m->registered.tunnel_id;
		a->public_port = (uint16_t)m->registered.port;
		public_addr_of(a, &m->registered.addr);
		a->attempt = 0;
		if (!a->up || log_enabled(LOG_LVL_INFO))
			print_tunnel_up(a);
		pr_debug("tunnel usable %.1f ms after (re)connecting (0-RTT %s)",
			 (double)(quic_now_ns() - a->started_ns) / 1e6,
			 quic_conn_early_accepted(a->c) ? "accepted" : "not used");
		a->up = true;
		if (a->cfg.session_file)
			agent_keep_resume(a, quic_conn_take_resume(a->c));
		break;
	case PROTO_ERROR:
		snprintf(reason, sizeof(reason), "%.*s", (int)m->error.reason.len,
			 (const char *)m->error.reason.data);
		if (m->error.code == PROTO_ERR_PORT_TAKEN && !a->cfg.remote_port &&
		    a->public_port) {
			/* only remembered from before a restart of the edge: take any port */
			pr_warn("public port %u was taken while we were away: asking for another",
				a->public_port);
			a->public_port = 0;
			send_register(a);
			quic_conn_flush(a->c);
			break;
		}
		if (m->error.code == PROTO_ERR_NO_TUNNEL && m->error.req_id) {
			/* the tunnel went away while the edge moved it to us: anew */
			pr_info("edge: %s", reason);
			send_register(a);
			quic_conn_flush(a->c);
			break;
		}
		if (m->error.code == PROTO_ERR_IN_USE) {
			/* another agent with our token serves this tunnel and lives:
			 * wait and ask again, to take over once it is gone */
			pr_err("tunnel '%s' refused: in use by another live agent (%s); retrying",
			       a->name, reason);
			a->in_use = true;
			quic_conn_close(a->c, PROTO_ERR_NONE, "tunnel in use by another agent");
			break;
		}
		if (m->error.code == PROTO_ERR_BAD_NAME || m->error.code == PROTO_ERR_NAME_TAKEN)
			/* about our name: say which, the edge's reason may not */
			pr_err("edge refused %s '%s': %s (%s)",
			       a->cfg.kind == PROTO_KIND_HTTP ? "host name" : "tunnel name",
			       a->name, reason, proto_err_name(m->error.code));
		else
			pr_err("edge refused: %s (%s)", reason, proto_err_name(m->error.code));
		if (m->error.code == PROTO_ERR_PORT_TAKEN || m->error.code == PROTO_ERR_AUTH ||
		    m->error.code == PROTO_ERR_PORT_DENIED ||
		    m->error.code == PROTO_ERR_UNSUPPORTED ||
		    m->error.code == PROTO_ERR_NAME_TAKEN || m->error.code == PROTO_ERR_BAD_NAME)
			agent_fatal(a, 1);
		break;
	case PROTO_PING:
		break; /* the edge checks that we live: the QUIC ACK answers it */
	case PROTO_GOAWAY:
		pr_info("edge is going away: %.*s", (int)m->goaway.reason.len,
			(const char *)m->goaway.reason.data);
		break;
	default:
		pr_warn_rl("edge sent unexpected control message type 0x%llx",
			   (unsigned long long)m->type);
		break;
	}
}

static int ctrl_data(struct agent *a, const uint8_t *data, size_t len)
{
	size_t off = 0;

	while (off < len) {
		size_t n = sizeof(a->rx) - a->rx_len, pos = 0;

		if (n > len - off)
			n = len - off;
		memcpy(a->rx + a->rx_len, data + off, n);
		a->rx_len += n;
		off += n;
		while (pos < a->rx_len) {
			struct proto_msg m;
			size_t used = 0;
			int err = proto_decode(a->rx + pos, a->rx_len - pos, &m, &used);

			if (err == -EAGAIN)
				break;
			if (err == -EMSGSIZE)
				return -EMSGSIZE;
			pos += used;
			if (err) {
				pr_warn_rl("edge sent a bad control message (type 0x%llx): %s",
					   (unsigned long long)m.type, strerror(-err));
				continue;
			}
			handle_msg(a, &m);
		}
		memmove(a->rx, a->rx + pos, a->rx_len - pos);
		a->rx_len -= pos;
		if (a->rx_len == sizeof(a->rx))
			return -EMSGSIZE;
	}
	return 0;
}

/* The PROXY header for a public client: who it is and what it reached. */
static int send_proxy_header(struct agent *a, struct quic_stream *s,
			     const struct proto_stream_hdr *hdr)
{
	struct pktio_addr src = {0};
	uint8_t buf[PROXY_PROTO_MAX];
	int n;

	if (hdr->family == 6) {
		src.in6.sin6_family = AF_INET6;
		memcpy(&src.in6.sin6_addr, hdr->addr, 16);
		src.in6.sin6_port = htons(hdr->port);
		src.len = sizeof(src.in6);
	} else {
		src.in.sin_family = AF_INET;
		memcpy(&src.in.sin_addr, hdr->addr, 4);
		src.in.sin_port = htons(hdr->port);
		src.len = sizeof(src.in);
	}
	n = proxy_proto_encode(a->cfg.proxy, &src, &a->public_addr, buf, sizeof(buf));
	if (n < 0)
		return n;
	return quic_stream_tcp_prefix(s, buf, (size_t)n);
}

static int connect_local(struct agent *a, struct quic_stream *s)
{
	int fd, err;

	fd = socket(a->cfg.target.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, &a->cfg.target.sa, a->cfg.target.len) && errno != EINPROGRESS) {
		err = -errno;
		close(fd);
		return err;
	}
	return quic_stream_attach_tcp(s, fd, true);
}

static int data_stream(struct agent *a, struct quic_stream *s, const uint8_t *data, size_t len)
{
	struct hdr_state *h = quic_stream_user(s);
	struct proto_stream_hdr hdr;
	size_t take = sizeof(h->buf) - h->len;
	int n, err;

	if (take > len)
		take = len;
	memcpy(h->buf + h->len, data, take);
	n = proto_stream_hdr_decode(h->buf, h->len + take, &hdr);
	if (n == -EAGAIN) {
		if (h->len + take == sizeof(h->buf))
			return -EBADMSG;
		h->len += take;
		return (int)len;
	}
	if (n < 0 || hdr.tunnel_id != a->tunnel_id) {
		pr_warn_rl("edge opened a stream for unknown tunnel %llu",
			   (unsigned long long)hdr.tunnel_id);
		quic_stream_set_user(s, NULL);
		free(h);
		quic_stream_reset(s, PROTO_ERR_BAD_STREAM);
		return (int)len;
	}
	/* header complete: the bytes after it belong to the public client */
	take = (size_t)n - h->len;
	quic_stream_set_user(s, NULL);
	free(h);
	err = connect_local(a, s);
	if (err) {
		pr_warn_rl("failed to connect to local service %s: %s", a->cfg.target_str,
			   strerror(-err));
		quic_stream_reset(s, err == -ECONNREFUSED ? PROTO_ERR_CONN_REFUSED
							  : PROTO_ERR_CONN_FAILED);
		return (int)len;
	}
	if (a->cfg.proxy) {
		err = send_proxy_header(a, s, &hdr);
		if (err) {
			pr_warn_rl("failed to write a PROXY header for stream %lld: %s",
				   (long long)quic_stream_id(s), strerror(-err));
			quic_stream_reset(s, PROTO_ERR_INTERNAL);
			return (int)len;
		}
	}
	return (int)take;
}

static int agent_stream_data_cb(struct quic_conn *c, struct quic_stream *s, const uint8_t *data,
				size_t len, bool fin, bool early, void *arg)
{
	struct agent *a = arg;

	(void)c;
	(void)early;
	if (s == a->ctrl) {
		if (ctrl_data(a, data, len)) {
			quic_conn_close(c, PROTO_ERR_MALFORMED, "control message too long");
			return (int)len;
		}
		if (fin)
			quic_conn_close(c, PROTO_ERR_NONE, "control stream closed");
		return (int)len;
	}
	if (!quic_stream_user(s))
		return -EPROTO;
	return data_stream(a, s, data, len);
}

static int agent_stream_open_cb(struct quic_conn *c, struct quic_stream *s, void *arg)
{
	struct hdr_state *h;

	(void)c;
	(void)arg;
	if (!(quic_stream_id(s) & 1))
		return -EPROTO; /* the edge opens server-initiated streams only */
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	quic_stream_set_user(s, h);
	return 0;
}

static void agent_stream_close_cb(struct quic_conn *c, struct quic_stream *s, uint64_t app_err,
				  void *arg)
{
	struct agent *a = arg;

	(void)c;
	if (s == a->ctrl) {
		a->ctrl = NULL;
		return;
	}
	free(quic_stream_user(s));
	quic_stream_set_user(s, NULL);
	if (app_err == PROTO_ERR_CONN_REFUSED)
		pr_warn_rl("local service %s refused a connection: public client reset",
			   a->cfg.target_str);
	else if (app_err == PROTO_ERR_CONN_FAILED)
		pr_warn_rl("could not connect to local service %s: public client reset",
			   a->cfg.target_str);
}

static void agent_handshake_cb(struct quic_conn *c, void *arg)
{
	struct agent *a = arg;

	(void)c;
	pr_debug("QUIC handshake with the edge done in %.1f ms",
		 (double)quic_conn_stats(c)->handshake_ns / 1e6);
	if (!a->ctrl)
		agent_start_control(a);
}

static void agent_early_rejected_cb(struct quic_conn *c, void *arg)
{
	struct agent *a = arg;

	(void)c;
	pr_debug("edge rejected 0-RTT: sending HELLO again after the handshake");
	a->ctrl = NULL;
}

static void schedule_reconnect(struct agent *a)
{
	uint64_t ms = BACKOFF_MIN_MS, r = 0;
	struct timeval tv;
	unsigned int i;

	for (i = 0; i < a->attempt && ms < BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	/* full jitter on the upper half: many agents do not return in step */
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = 0;
	ms = ms / 2 + r % (ms / 2 + 1);
	a->attempt++;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	pr_info("reconnecting to the edge in %llu ms", (unsigned long long)ms);
	evtimer_add(a->retry, &tv);
}

/* Try again later than a lost connection would: what refused us (a limit,
 * the throttle, a live holder of our tunnel) lasts seconds at least. */
static void reconnect_slowly(struct agent *a)
{
	a->up = false;
	if (a->attempt < 6)
		a->attempt = 6;
	schedule_reconnect(a);
}

static void agent_conn_close_cb(struct quic_conn *c, int err, uint64_t app, void *arg)
{
	struct agent *a = arg;
	struct quic_resume *r;

	r = quic_conn_take_resume(c);
	agent_keep_resume(a, r);
	a->c = NULL;
	a->ctrl = NULL;
	/* flow numbers belong to the edge's tunnel: a new edge counts anew */
	if (a->udp)
		udp_local_reset(a->udp);
	if (err == -EKEYREJECTED) {
		/* the same certificate comes back on every try: only the user can fix it */
		pr_err("edge %s: its certificate failed verification; stopping", a->edge_label);
		agent_fatal(a, 1);
		return;
	}
	if (app == PROTO_ERR_AUTH) {
		/* up a moment ago: the edge's tokens file lost our token (SIGHUP) */
		pr_err("edge %s %s the token: authentication failed", a->edge_label,
		       a->up ? "revoked" : "refused");
		agent_fatal(a, 1);
		return;
	}
	if (app == PROTO_ERR_NO_TUNNEL) {
		/* a newer agent with our token and tunnel name took over: coming
		 * back would take it back and the two would chase each other */
		pr_err("edge %s: another agent took over this tunnel; stopping", a->edge_label);
		agent_fatal(a, 1);
		return;
	}
	if (app == PROTO_ERR_THROTTLED && !a->exit_code && !a->stopping) {
		/* others at our address failed too often: the edge did not look
		 * at our token; it lets one try through every few seconds */
		pr_err("edge %s: too many failed logins from this address (throttled); retrying",
		       a->edge_label);
		reconnect_slowly(a);
		return;
	}
	if (app == PROTO_ERR_LIMIT && !a->exit_code && !a->stopping) {
		pr_err("edge %s refused: too many connections for this token (limit); retrying",
		       a->edge_label);
		reconnect_slowly(a);
		return;
	}
	if (app == PROTO_ERR_VERSION) {
		pr_err("edge %s does not speak beam/1 version %d", a->edge_label, PROTO_VERSION);
		agent_fatal(a, 1);
		return;
	}
	if (a->exit_code || a->stopping)
		return;
	if (a->in_use) {
		a->in_use = false;
		reconnect_slowly(a); /* the holder may serve for long */
		return;
	}
	if (a->up && err == -EHOSTUNREACH)
		pr_warn("connection to the edge lost: it answered nothing for %u s while data "
			"waited (unresponsive)",
			a->cfg.unresponsive_s);
	else if (a->up)
		pr_warn("connection to the edge lost: %s%s%s", strerror(-err), app ? ", " : "",
			app ? proto_err_name(app) : "");
	else
		pr_warn("failed to connect to the edge %s: %s", a->edge_label, strerror(-err));
	if (!a->up)
		a->cur_edge++;
	a->up = false;
	schedule_reconnect(a);
}

static const struct quic_handlers agent_handlers = {
	.stream_data_cb = agent_stream_data_cb,
	.stream_open_cb = agent_stream_open_cb,
	.stream_close_cb = agent_stream_close_cb,
	.handshake_cb = agent_handshake_cb,
	.conn_close_cb = agent_conn_close_cb,
	.early_rejected_cb = agent_early_rejected_cb,
	.datagram_cb = agent_datagram_cb,
};

static int agent_open_ep(struct agent *a)
{
	struct quic_ep_config qc = {0};
	struct pktio_addr any = {0};
	struct pktio *io;
	int err;

	any.sa.sa_family = a->edge[a->cur_edge].sa.sa_family;
	any.len = a->edge[a->cur_edge].len;
	err = pktio_udp_new(&io, &any, &a->edge[a->cur_edge]);
	if (err)
		return err;
	a->io = io;
	qc.server = false;
	qc.tls = a->cfg.tls;
	qc.verify = a->cfg.verify;
	memcpy(qc.pin, a->cfg.pin, sizeof(qc.pin));
	qc.sni = a->cfg.edge_host;
	qc.idle_timeout_ms = (uint64_t)a->cfg.idle_timeout_s * 1000;
	qc.unresponsive_ms = a->cfg.unresponsive_s ? a->cfg.unresponsive_s * 1000 : UINT32_MAX;
	/* the edge opens one stream per public connection: grant plenty */
	qc.max_streams_bidi = 1000000;
	qc.datagrams = a->cfg.kind == PROTO_KIND_UDP;
	return quic_ep_new(&a->ep, a->base, io, &qc, &agent_handlers, a);
}

/*
 * Resolve the edge's name again: its address may have moved while we were
 * away. A failed lookup keeps the addresses we had.
 */
static void agent_resolve_edge(struct agent *a)
{
	struct pktio_addr found[EDGE_ADDRS_MAX];
	int n;

	if (!a->cfg.edge_host)
		return;
	n = netaddr_resolve_all(a->cfg.edge_host, a->cfg.edge_port, AF_UNSPEC, found,
				EDGE_ADDRS_MAX);
	if (n <= 0)
		return;
	memcpy(a->edge, found, (size_t)n * sizeof(found[0]));
	a->nedge = (unsigned int)n;
}

static void agent_connect(struct agent *a)
{
	char buf[NETADDR_STR_MAX];
	struct pktio_addr local;
	int err;

	a->started_ns = quic_now_ns();
	if (a->attempt)
		agent_resolve_edge(a);
	a->cur_edge %= a->nedge;
	if (a->nedge > 1)
		pr_info("connecting to the edge at %s (address %u of %u)",
			netaddr_str(&a->edge[a->cur_edge], buf, sizeof(buf)), a->cur_edge + 1,
			a->nedge);
	/* a fresh socket (new port) each time: the old path may be dead state at the edge */
	quic_ep_free(a->ep, PROTO_ERR_SHUTDOWN);
	a->ep = NULL;
	err = agent_open_ep(a);
	if (err) {
		schedule_reconnect(a);
		return;
	}
	pktio_udp_local(a->io, &local);
	err = quic_ep_connect(a->ep, &local, &a->edge[a->cur_edge], a->resume, &a->c);
	if (err) {
		schedule_reconnect(a);
		return;
	}
	if (a->resume)
		agent_start_control(a); /* 0-RTT: HELLO and REGISTER go right away */
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	agent_connect(arg);
}

int agent_new(struct agent **out, struct event_base *base, const struct agent_config *cfg)
{
	struct agent *a;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->base = base;
	a->cfg = *cfg;
	if (cfg->edge_host)
		snprintf(a->edge_label, sizeof(a->edge_label),
			 strchr(cfg->edge_host, ':') ? "[%s]:%u" : "%s:%u", cfg->edge_host,
			 cfg->edge_port);
	else
		netaddr_str(&cfg->edge, a->edge_label, sizeof(a->edge_label));
	a->started_ns = quic_now_ns();
	a->edge[0] = cfg->edge;
	a->nedge = 1;
	agent_resolve_edge(a);
	if (cfg->name)
		snprintf(a->name, sizeof(a->name), "%s", cfg->name);
	else
		snprintf(a->name, sizeof(a->name), "%s:%.59s",
			 cfg->kind == PROTO_KIND_UDP ? "udp" : "tcp", cfg->target_str);
	/* host names have no case: show the one the edge routes by */
	for (char *p = a->name; cfg->kind == PROTO_KIND_HTTP && *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (getrandom(a->agent_id, sizeof(a->agent_id), 0) != sizeof(a->agent_id)) {
		free(a);
		return -EIO;
	}
	if (cfg->session_file) {
		int err = quic_resume_load(cfg->session_file, &a->resume);

		if (err == -EPERM)
			pr_warn("ignoring session file '%s': readable or writable by other users",
				cfg->session_file);
		else if (err && err != -ENOENT)
			pr_warn("ignoring session file '%s': %s", cfg->session_file,
				strerror(-err));
		else if (!err)
			pr_debug("resuming from session file '%s' (0-RTT)", cfg->session_file);
	}
	if (cfg->kind == PROTO_KIND_UDP) {
		struct udp_local_config uc = {
			.target = cfg->target,
			.reply = agent_udp_reply,
			.flush = agent_udp_flush,
			.arg = a,
		};
		int err = udp_local_new(&a->udp, base, &uc);

		if (err) {
			free(a);
			return err;
		}
	}
	a->retry = evtimer_new(base, retry_cb, a);
	if (!a->retry) {
		udp_local_free(a->udp);
		free(a);
		return -ENOMEM;
	}
	agent_connect(a);
	*out = a;
	return 0;
}

int agent_exit_code(const struct agent *a)
{
	return a->exit_code;
}

void agent_free(struct agent *a)
{
	if (!a)
		return;
	a->stopping = true;
	quic_ep_free(a->ep, PROTO_ERR_SHUTDOWN);
	quic_resume_free(a->resume);
	event_free(a->retry);
	udp_local_free(a->udp);
	free(a);
}
