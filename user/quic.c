// SPDX-License-Identifier: MIT
/*
 * quic.c - the QUIC engine: endpoints, connections and streams on ngtcp2 and
 * wolfSSL, packets through struct pktio, sockets and timers through libevent.
 *
 * Hot path: a receive batch is fed to ngtcp2 packet by packet; stream bytes
 * for TCP are queued and written to the sockets once per batch; then each
 * touched connection writes as many packets as congestion control allows,
 * coalesced into GSO trains. Stream data read from TCP stays in its chunk
 * until the peer acknowledges it, so ngtcp2 never needs a copy.
 */
#include <wolfssl/options.h>

#include "quic.h"
#include "quic_pn.h"
#include "tcp_tail.h"
#include "hist.h"
#include "log.h"
#include "proto.h"
#include "beam_maps.h"
#include "netaddr.h"
#include "pmtu.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_wolfssl.h>
#include <wolfssl/ssl.h>
#include <wolfssl/openssl/evp.h>
#include <wolfssl/wolfcrypt/aes.h>

#define CHUNK_SIZE	 (64 * 1024)
#define CONN_SENDBUF_MAX (64u << 20) /* read from all of a connection's sockets, not acked */
#define CHUNK_POOL_MAX	 32
#define RX_BATCH	 32
#define TX_MAX_PKTS	 64    /* packets in one GSO train / one write batch */
#define TX_TRAIN_BYTES	 65000 /* a GSO train is one UDP datagram to the kernel: < 64 KiB */
#define TX_PKT_MAX	 1500  /* room for one packet in the train buffer */
#define TX_BATCHES	 16    /* write batches per call before yielding to the loop */
#define RX_ROUNDS	 8     /* recv batches per readable event */
#define CID_TABLE_BITS	 16
#define TCP_READS_MAX	 16 /* reads per readable event, so one stream cannot starve */
#define STATIC_SECRET	 32
#define RETRY_TOKEN_TTL	 (10 * NGTCP2_SECONDS)
#define DGRAM_QUEUE_MAX	 512 /* DATAGRAM frames waiting to be sent, per connection */
/* short header (1 + CID 20 + packet number 4), AEAD tag 16, DATAGRAM frame type
 * and length (1 + 8): what a packet adds around a datagram, at most */
#define DGRAM_OVERHEAD 50

/* A buffer chunk: [off, len) holds bytes not yet consumed. */
struct chunk {
	struct chunk *next;
	uint32_t off;
	uint32_t len;
	uint8_t data[CHUNK_SIZE];
};

struct chunkq {
	struct chunk *head;
	struct chunk *tail;
};

struct cid_entry {
	struct cid_entry *next;
	struct quic_conn *conn;
	uint8_t len;
	uint8_t data[NGTCP2_MAX_CIDLEN];
};

struct quic_stream {
	struct quic_conn *c;
	int64_t id;
	void *user;
	int fd;
	struct event *rev;
	struct event *wev;
	/* to QUIC: bytes at stream offsets [sq_base, sq_end) are in sq */
	struct chunkq sq;
	uint64_t sq_base;
	struct chunk *sq_cur; /* the chunk holding sq_sent, or NULL: start at the head */
	uint64_t sq_cur_off;  /* stream offset of sq_cur->data[0] */
	uint64_t sq_sent;
	uint64_t sq_end;
	/* to TCP: bytes received, not yet written to the socket */
	struct chunkq rq;
	uint64_t rq_len;
	uint64_t rq_local; /* bytes at the head of rq that the peer did not send */
	uint64_t created_ns;
	uint64_t first_byte_ns;
	uint64_t first_rx_ns; /* first stream byte from the peer on a bridged stream */
	uint64_t reset_code;
	struct quic_bytes *bytes;    /* the owner's counters, or NULL */
	unsigned int fin_queued : 1; /* FIN after sq_end */
	unsigned int fin_sent : 1;
	unsigned int rfin : 1;	      /* peer's FIN received */
	unsigned int tcp_rd_eof : 1;  /* TCP read side done */
	unsigned int tcp_wr_shut : 1; /* TCP write side shut */
	unsigned int connecting : 1;
	unsigned int reading : 1;     /* rev armed */
	unsigned int writing : 1;     /* wev armed */
	unsigned int quic_closed : 1; /* ngtcp2 is done with it */
	unsigned int is_reset : 1;
	unsigned int dead : 1;
	unsigned int in_sendq : 1;
	unsigned int in_flushq : 1;
	unsigned int blocked : 1;	/* flow control: wait for extend_max_stream_data */
	unsigned int tcp_sent : 1;	/* wrote to the socket since the last sweep saw it idle */
	unsigned int tcp_suspect : 1;	/* the last sweep found the peer silent */
	unsigned int tcp_wrote : 1;	/* the TCP peer got at least one byte */
	unsigned int abort_handoff : 1; /* ending before tcp_wrote hands the fd over */
	unsigned int tcp_failed : 1;	/* the TCP side itself failed: nobody to answer */
	unsigned int full_unproven : 1; /* a full-size packet's data from full_off is not acked */
	uint64_t full_off;
	struct quic_stream *sendq_next;
	struct quic_stream *flushq_next;
	struct quic_stream *dead_next;
	struct quic_stream *all_next;
	struct quic_stream *all_prev;
};

/* One DATAGRAM frame's payload waiting for room in a packet. */
struct dgram {
	struct dgram *next;
	size_t len;
	uint8_t data[];
};

/* A datagram the socket refused, with the path it was made for: a migration
 * may have moved the connection since. */
struct pending_tx {
	ngtcp2_path_storage ps;
	uint8_t data[];
};

struct quic_resume {
	WOLFSSL_SESSION *session;
	size_t tp_len;
	uint8_t tp[256];
};

struct quic_conn {
	struct quic_ep *ep;
	ngtcp2_conn *conn;
	WOLFSSL *ssl;
	ngtcp2_crypto_conn_ref conn_ref;
	struct event *timer;
	void *user;
	struct pktio_addr local;
	struct pktio_addr peer;
	struct quic_stream *streams; /* every live stream */
	struct quic_stream *sendq_head, *sendq_tail;
	struct quic_stream *flushq;
	struct quic_stream *dead;
	struct quic_conn *next, *prev;
	struct quic_conn *touched_next;
	struct quic_conn_stats stats;
	/* packets ngtcp2 made that the socket refused (EAGAIN): sent first */
	struct pending_tx *pending;
	size_t pending_len;
	uint16_t pending_gso;
	uint8_t pending_ecn;
	/* The DCID the peer last used in a short-header packet: one we issued. */
	uint8_t used_cid[NGTCP2_MAX_CIDLEN];
	uint8_t used_cid_len;
	unsigned int touched : 1;
	unsigned int closing : 1; /* finalize from the loop */
	unsigned int handshake_done : 1;
	unsigned int early_rejected : 1;
	unsigned int in_write : 1;
	unsigned int counted_hs : 1;  /* in ep->handshaking */
	unsigned int in_read : 1;     /* inside ngtcp2_conn_read_pkt: no writes from callbacks */
	unsigned int sq_over : 1;     /* sq_total reached CONN_SENDBUF_MAX: sockets paused */
	unsigned int cert_failed : 1; /* client: the peer's certificate failed our check */
	unsigned int waiting : 1;     /* client: data to send, none in flight: probing */
	uint64_t unanswered_since;    /* data in flight since, nothing heard (0: no) */
	uint32_t sends_unanswered;    /* sends (datagrams or GSO trains) since the last arrival */
	int64_t rx_largest_pn;	      /* largest 1-RTT packet number opened, -1: none */
	uint32_t nblocked;	      /* streams waiting for flow control credit */
	uint64_t sq_total;	      /* bytes in the send buffers of all streams */
	struct dgram *dgq_head, *dgq_tail; /* DATAGRAM frames to send */
	unsigned int dgq_len;
	unsigned int close_wanted : 1;
	uint64_t close_wanted_code;
	char close_wanted_reason[128];
	int close_err;
	uint64_t close_app;
	/* the closing period (RFC 9000 10.2.1): our CONNECTION_CLOSE packet,
	 * sent again to a peer that keeps sending, at its 1st, 2nd, 4th ... packet */
	uint8_t *close_pkt;
	size_t close_pkt_len;
	uint32_t close_rx;
	uint32_t close_next;
	unsigned int lingering : 1; /* the application is told; CIDs kept until the timer */
	struct pmtu pmtu;	    /* black-hole detection, see pmtu.h */
	uint64_t dgram_id;	    /* the id of the last datagram ngtcp2 took */
	uint64_t dgram_written;	    /* that id if the packet just written holds it, else 0 */
	unsigned int tx_full : 1;   /* this write sent a full-size packet (pmtu.h) */
	unsigned int tx_small : 1;  /* and a shorter one */
	unsigned int tx_any : 1;    /* and wrote anything at all */
};

struct quic_ep {
	struct event_base *base;
	struct pktio *io;
	struct event *rev;
	struct event *wev;
	struct event *tcp_sweep; /* dead TCP peers, see ep_tcp_sweep_cb */
	struct tcp_tails *tails; /* sockets of streams that outlived their connection */
	struct quic_ep_config cfg;
	struct quic_handlers h;
	void *arg;
	struct quic_conn *conns;
	struct quic_conn *touched;
	struct quic_conn *tx_blocked; /* not a list: any blocked conn re-arms wev */
	struct cid_entry **cids;
	uint64_t cid_seed;
	uint8_t secret[STATIC_SECRET];		     /* Retry tokens */
	uint8_t reset_secret[QUIC_RESET_SECRET_LEN]; /* stateless reset tokens */
	struct chunk *pool;
	unsigned int pool_len;
	uint64_t chunks_out;  /* chunks holding stream bytes now */
	uint32_t handshaking; /* server connections still in their handshake */
	bool retry_on;	      /* Retry for new clients because of load */
	uint64_t retries_sent;
	uint32_t lingering;	  /* connections in their closing or draining period */
	uint32_t lingering_drain; /* of those, draining */
	uint64_t closes_repeated;
	uint64_t pmtu_black_holes; /* connections' fallbacks to PMTU_SAFE */
	bool freeing;
	/* token bucket for packets without a connection, in nanoseconds of credit:
	 * each costs 1 s / stateless_rate, credit grows with time up to 1 s */
	uint64_t sl_credit;
	uint64_t sl_last;
	uint64_t sl_limited[QUIC_STATELESS__MAX];
	uint8_t *txbuf;
	struct pktio_pkt rx[RX_BATCH];
};

static void stream_maybe_free(struct quic_stream *s);
static void conn_after_io(struct quic_conn *c);
static void conn_fail_liberr(struct quic_conn *c, int liberr);
static void stream_tcp_close(struct quic_stream *s, bool reset);
static void stream_tcp_release(struct quic_stream *s);
static void stream_flush_tcp(struct quic_stream *s);
static void conn_keep_alive(struct quic_conn *c);
static uint64_t conn_keep_alive_ns(const struct quic_conn *c);
static void ep_send_raw(struct quic_ep *ep, const struct pktio_pkt *in, uint8_t *buf, size_t len);

uint64_t quic_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- chunks ---------------------------------------------------------- */

static struct chunk *chunk_get(struct quic_ep *ep)
{
	struct chunk *k = ep->pool;

	if (k) {
		ep->pool = k->next;
		ep->pool_len--;
	} else {
		k = malloc(sizeof(*k));
		if (!k)
			return NULL;
	}
	k->next = NULL;
	k->off = 0;
	k->len = 0;
	ep->chunks_out++;
	return k;
}

static void chunk_put(struct quic_ep *ep, struct chunk *k)
{
	ep->chunks_out--;
	if (ep->pool_len >= CHUNK_POOL_MAX) {
		free(k);
		return;
	}
	k->next = ep->pool;
	ep->pool = k;
	ep->pool_len++;
}

static void chunkq_free(struct quic_ep *ep, struct chunkq *q)
{
	while (q->head) {
		struct chunk *k = q->head;

		q->head = k->next;
		chunk_put(ep, k);
	}
	q->tail = NULL;
}

/* Room at the tail, adding a chunk when the last one is full. */
static struct chunk *chunkq_tail_room(struct quic_ep *ep, struct chunkq *q)
{
	struct chunk *k = q->tail;

	if (k && k->len < CHUNK_SIZE)
		return k;
	k = chunk_get(ep);
	if (!k)
		return NULL;
	if (q->tail)
		q->tail->next = k;
	else
		q->head = k;
	q->tail = k;
	return k;
}

static int chunkq_append(struct quic_ep *ep, struct chunkq *q, const uint8_t *data, size_t len)
{
	while (len) {
		struct chunk *k = chunkq_tail_room(ep, q);
		size_t n;

		if (!k)
			return -ENOMEM;
		n = CHUNK_SIZE - k->len;
		if (n > len)
			n = len;
		memcpy(k->data + k->len, data, n);
		k->len += (uint32_t)n;
		data += n;
		len -= n;
	}
	return 0;
}

/* ---- connection ID table -------------------------------------------- */

static size_t cid_hash(const struct quic_ep *ep, const uint8_t *data, size_t len)
{
	uint64_t h = ep->cid_seed ^ 0xcbf29ce484222325ull;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= data[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 29;
	return (size_t)(h & ((1u << CID_TABLE_BITS) - 1));
}

static struct quic_conn *cid_find(struct quic_ep *ep, const uint8_t *data, size_t len)
{
	struct cid_entry *e;

	for (e = ep->cids[cid_hash(ep, data, len)]; e; e = e->next)
		if (e->len == len && !memcmp(e->data, data, len))
			return e->conn;
	return NULL;
}

static int cid_add(struct quic_ep *ep, const ngtcp2_cid *cid, struct quic_conn *c)
{
	size_t b = cid_hash(ep, cid->data, cid->datalen);
	struct cid_entry *e;

	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->conn = c;
	e->len = (uint8_t)cid->datalen;
	memcpy(e->data, cid->data, cid->datalen);
	e->next = ep->cids[b];
	ep->cids[b] = e;
	return 0;
}

static void cid_del(struct quic_ep *ep, const uint8_t *data, size_t len)
{
	struct cid_entry **pp = &ep->cids[cid_hash(ep, data, len)], *e;

	for (; (e = *pp); pp = &e->next) {
		if (e->len == len && !memcmp(e->data, data, len)) {
			*pp = e->next;
			free(e);
			return;
		}
	}
}

/* QUIC-LB layout (include/beam_maps.h): rotation+length, worker id, random. */
static int cid_make(struct quic_ep *ep, ngtcp2_cid *cid)
{
	uint8_t buf[BEAM_CID_LEN];

	if (getrandom(buf, sizeof(buf), 0) != sizeof(buf))
		return -EIO;
	if (ep->cfg.server) {
		buf[0] = (uint8_t)((BEAM_CID_ROTATION << 5) | ((BEAM_CID_LEN - 1) & 0x1f));
		buf[BEAM_CID_WORKER_OFFSET] = ep->cfg.worker_id;
	}
	ngtcp2_cid_init(cid, buf, sizeof(buf));
	return 0;
}

/* ---- sending ---------------------------------------------------------- */

static void pkt_from_path(struct pktio_pkt *p, const ngtcp2_path *path)
{
	memset(p, 0, sizeof(*p));
	if (path->local.addrlen <= sizeof(p->local.in6)) {
		memcpy(&p->local.sa, path->local.addr, path->local.addrlen);
		p->local.len = path->local.addrlen;
	}
	if (path->remote.addrlen <= sizeof(p->peer.in6)) {
		memcpy(&p->peer.sa, path->remote.addr, path->remote.addrlen);
		p->peer.len = path->remote.addrlen;
	}
}

/* Send one datagram or GSO train; on EAGAIN keep it in the connection. */
static int conn_send(struct quic_conn *c, const ngtcp2_path *path, uint8_t ecn, uint8_t *data,
		     size_t len, size_t gso)
{
	struct quic_ep *ep = c->ep;
	struct pktio_pkt p;
	int n;

	pkt_from_path(&p, path);
	p.data = data;
	p.len = (uint32_t)len;
	p.gso_size = len > gso ? (uint16_t)gso : 0;
	p.ecn = ecn;
	n = ep->io->ops->send(ep->io, &p, 1);
	if (n == 1) {
		c->stats.bytes_out += len;
		c->stats.pkts_out += gso ? (len + gso - 1) / gso : 1;
		c->sends_unanswered++;
		return 0;
	}
	if (n == -EAGAIN || n == 0) {
		c->pending = malloc(sizeof(*c->pending) + len);
		if (!c->pending)
			return -ENOMEM;
		ngtcp2_path_storage_zero(&c->pending->ps);
		ngtcp2_path_copy(&c->pending->ps.path, path);
		memcpy(c->pending->data, data, len);
		c->pending_len = len;
		c->pending_gso = (uint16_t)gso;
		c->pending_ecn = ecn;
		event_add(ep->wev, NULL);
		return -EAGAIN;
	}
	/* other errors (EMSGSIZE, unreachable): the packets are lost, QUIC recovers */
	pr_debug_rl("failed to send %zu bytes of QUIC packets: %s", len, strerror(-n));
	return 0;
}

static int conn_send_pending(struct quic_conn *c)
{
	struct pending_tx *p = c->pending;
	int err;

	if (!p)
		return 0;
	c->pending = NULL;
	err = conn_send(c, &p->ps.path, c->pending_ecn, p->data, c->pending_len, c->pending_gso);
	free(p);
	return err;
}

static void sendq_push(struct quic_stream *s)
{
	struct quic_conn *c = s->c;

	if (s->in_sendq || s->dead || s->quic_closed)
		return;
	s->in_sendq = 1;
	s->sendq_next = NULL;
	if (c->sendq_tail)
		c->sendq_tail->sendq_next = s;
	else
		c->sendq_head = s;
	c->sendq_tail = s;
}

static struct quic_stream *sendq_pop(struct quic_conn *c)
{
	struct quic_stream *s = c->sendq_head;

	if (!s)
		return NULL;
	c->sendq_head = s->sendq_next;
	if (!c->sendq_head)
		c->sendq_tail = NULL;
	s->in_sendq = 0;
	s->sendq_next = NULL;
	return s;
}

static bool stream_has_tx(const struct quic_stream *s)
{
	return !s->quic_closed && !s->is_reset &&
	       (s->sq_sent < s->sq_end || (s->fin_queued && !s->fin_sent));
}

/*
 * Point @vec at up to @want unsent bytes of @s (one packet's worth: handing
 * ngtcp2 more only makes both sides walk chunk headers that stay cold);
 * returns the number of entries, *all says whether they reach sq_end.
 */
static size_t stream_tx_vec(struct quic_stream *s, ngtcp2_vec *vec, size_t max, size_t want,
			    bool *all)
{
	struct chunk *k;
	uint64_t off;
	size_t n = 0, got = 0;

	if (!s->sq_cur) {
		s->sq_cur = s->sq.head;
		s->sq_cur_off = s->sq_base;
	}
	/* the cursor keeps this O(1) per packet however much is buffered */
	while (s->sq_cur && s->sq_cur->next && s->sq_cur_off + s->sq_cur->len <= s->sq_sent) {
		s->sq_cur_off += s->sq_cur->len;
		s->sq_cur = s->sq_cur->next;
	}
	off = s->sq_cur_off;
	for (k = s->sq_cur; k && n < max && got < want; k = k->next) {
		uint64_t end = off + k->len;

		if (end > s->sq_sent) {
			size_t skip = (size_t)(s->sq_sent > off ? s->sq_sent - off : 0);

			vec[n].base = k->data + skip;
			vec[n].len = k->len - skip;
			got += vec[n].len;
			n++;
		}
		off = end;
	}
	*all = s->sq_sent + got >= s->sq_end;
	return n;
}

static void stream_account_tx(struct quic_stream *s, ngtcp2_ssize datalen, uint32_t flags)
{
	if (datalen > 0)
		s->sq_sent += (uint64_t)datalen;
	if ((flags & NGTCP2_WRITE_STREAM_FLAG_FIN) && s->sq_sent == s->sq_end)
		s->fin_sent = 1;
}

static void dgq_pop(struct quic_conn *c)
{
	struct dgram *d = c->dgq_head;

	c->dgq_head = d->next;
	if (!c->dgq_head)
		c->dgq_tail = NULL;
	c->dgq_len--;
	free(d);
}

/*
 * Put the first queued datagram in a packet (RFC 9221). Returns the packet's
 * length, 0 when nothing can be sent now (congestion), or -1 after failing
 * the connection. A datagram the peer refuses is dropped and counted.
 */
static ngtcp2_ssize conn_write_dgram(struct quic_conn *c, ngtcp2_path *path, ngtcp2_pkt_info *pi,
				     uint8_t *dest, size_t destlen, uint64_t ts)
{
	while (c->dgq_head) {
		struct dgram *d = c->dgq_head;
		ngtcp2_vec v = {.base = d->data, .len = d->len};
		ngtcp2_ssize n;
		int accepted = 0;

		/* queued before the path MTU fell (pmtu.h): it fits no packet now */
		if (d->len + DGRAM_OVERHEAD > destlen) {
			c->stats.dgrams_dropped++;
			dgq_pop(c);
			continue;
		}
		n = ngtcp2_conn_writev_datagram(c->conn, path, pi, dest, destlen, &accepted, 0,
						c->dgram_id + 1, &v, 1, ts);
		if (n == NGTCP2_ERR_INVALID_STATE || n == NGTCP2_ERR_INVALID_ARGUMENT) {
			c->stats.dgrams_dropped++;
			dgq_pop(c);
			continue;
		}
		if (n < 0) {
			conn_fail_liberr(c, (int)n);
			return -1;
		}
		if (accepted) {
			c->stats.dgrams_out++;
			c->dgram_written = ++c->dgram_id;
			dgq_pop(c);
		}
		return n;
	}
	return 0;
}

/*
 * Write one batch: up to TX_MAX_PKTS packets of equal size into one GSO
 * train. Returns packets written, 0 when ngtcp2 had nothing (or may not send
 * now), or -errno.
 */
static int conn_write_batch(struct quic_conn *c, uint64_t ts)
{
	size_t path_max = ngtcp2_conn_get_path_max_tx_udp_payload_size(c->conn);
	size_t max_udp = ngtcp2_conn_get_max_tx_udp_payload_size(c->conn);
	struct quic_stream *last = NULL, *first = NULL;
	uint8_t *buf = c->ep->txbuf;
	ngtcp2_path_storage ps, train;
	size_t off = 0, gso = 0;
	uint64_t first_off = 0;
	ngtcp2_pkt_info pi;
	int npkts = 0, max_pkts, err;
	uint8_t ecn = 0;

	ngtcp2_path_storage_zero(&ps);
	ngtcp2_path_storage_zero(&train);
	if (max_udp > TX_PKT_MAX)
		max_udp = TX_PKT_MAX;
	max_udp = pmtu_limit(&c->pmtu, max_udp);
	max_pkts = (int)(TX_TRAIN_BYTES / max_udp);
	if (max_pkts > TX_MAX_PKTS)
		max_pkts = TX_MAX_PKTS;
	while (npkts < max_pkts) {
		struct quic_stream *s = c->sendq_head;
		ngtcp2_ssize nwrite, ndatalen = -1;
		uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
		bool all = true, dgram = false;
		ngtcp2_vec vec[4];
		size_t nvec = 0;

		if (c->dgq_head && c->handshake_done) {
			c->dgram_written = 0;
			nwrite = conn_write_dgram(c, &ps.path, &pi, buf + off, max_udp, ts);
			if (nwrite < 0)
				return -EPROTO;
			dgram = nwrite > 0;
			if (dgram)
				goto written;
		}
		if (s && !stream_has_tx(s)) {
			sendq_pop(c);
			continue;
		}
		if (s) {
			nvec = stream_tx_vec(s, vec, 4, max_udp, &all);
			if (s->fin_queued && all)
				flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
		}
		nwrite = ngtcp2_conn_writev_stream(c->conn, &ps.path, &pi, buf + off, max_udp,
						   &ndatalen, flags, s ? s->id : -1, vec, nvec, ts);
		if (s)
			if (nwrite < 0) {
				switch (nwrite) {
				case NGTCP2_ERR_STREAM_DATA_BLOCKED:
					c->nblocked += !s->blocked;
					s->blocked = 1;
					sendq_pop(c);
					continue;
				case NGTCP2_ERR_STREAM_SHUT_WR:
				case NGTCP2_ERR_STREAM_NOT_FOUND:
					sendq_pop(c);
					continue;
				case NGTCP2_ERR_WRITE_MORE:
					if (!first && ndatalen > 0) {
						first = s;
						first_off = s->sq_sent;
					}
					stream_account_tx(s, ndatalen, flags);
					if (!stream_has_tx(s))
						sendq_pop(c);
					continue;
				default:
					conn_fail_liberr(c, (int)nwrite);
					return -EPROTO;
				}
			}
		if (s && ndatalen >= 0) {
			if (!first && ndatalen > 0) {
				first = s;
				first_off = s->sq_sent;
			}
			stream_account_tx(s, ndatalen, flags);
			if (stream_has_tx(s))
				last = s;
			else
				sendq_pop(c);
		}
	written:
		if (nwrite == 0)
			break;
		if (dgram && c->dgram_written) {
			pmtu_dgram_sent(&c->pmtu, c->dgram_written,
					pmtu_dgram_is_full((size_t)nwrite, path_max), ts);
		} else if (!dgram && pmtu_is_full((size_t)nwrite, path_max)) {
			/* stream data, new or sent again */
			if (first && !first->full_unproven) {
				first->full_unproven = 1;
				first->full_off = first_off;
			}
			pmtu_full_sent(&c->pmtu, ts);
		}
		first = NULL;
		c->tx_any = 1;
		/* a shorter tail may fit a path that lost the full size */
		if ((size_t)nwrite > PMTU_SAFE && (size_t)nwrite >= path_max)
			c->tx_full = 1;
		else
			c->tx_small = 1;
		if (!off) {
			gso = (size_t)nwrite;
			ecn = pi.ecn;
			ngtcp2_path_copy(&train.path, &ps.path);
		} else if (!ngtcp2_path_eq(&train.path, &ps.path) || (size_t)nwrite > gso ||
			   pi.ecn != ecn) {
			/* While a migration is validated ngtcp2 probes the old path
			 * too: a train goes to one address, so this packet goes alone.
			 * So does one longer than the train's first (the kernel would
			 * cut it at the segment size) or with another ECN marking. */
			err = conn_send(c, &train.path, ecn, buf, off, gso);
			if (err)
				return err;
			err = conn_send(c, &ps.path, pi.ecn, buf + off, (size_t)nwrite,
					(size_t)nwrite);
			return err ? err : npkts + 1;
		}
		off += (size_t)nwrite;
		npkts++;
		/* a short packet ends the train */
		if ((size_t)nwrite < gso)
			break;
	}
	/*
	 * Round robin by train, not by packet: a stream with more to send goes
	 * to the back after its train. Runs of one stream let the peer queue
	 * and write each socket once per receive batch instead of once per
	 * stream in it, and still share the connection evenly.
	 */
	if (last && last == c->sendq_head && last->sendq_next) {
		sendq_pop(c);
		sendq_push(last);
	}
	if (!off)
		return 0;
	err = conn_send(c, &train.path, ecn, buf, off, gso);
	if (err)
		return err;
	return npkts;
}

/* How long data may wait for a word from the peer before it counts as gone. */
static uint64_t conn_unresponsive_ns(const struct quic_conn *c)
{
	uint64_t t = (uint64_t)c->ep->cfg.unresponsive_ms * NGTCP2_MILLISECONDS;
	uint64_t pto6 = 6 * ngtcp2_conn_get_pto(c->conn);

	return t > pto6 ? t : pto6;
}

/*
 * Time alone is not enough: on a very lossy path (20% each way) PTO backoff
 * can leave a live peer unheard for seconds with only two or three probes
 * sent. Also wanting QUIC_UNANSWERED_SENDS sends since it was last heard makes
 * a false verdict need that many round trips lost in a row. Sends, not
 * packets: a GSO train is lost whole where nothing segments it (veth).
 */
#define QUIC_UNANSWERED_SENDS 8

static bool conn_unanswered_enough(const struct quic_conn *c)
{
	return c->unanswered_since && c->ep->cfg.unresponsive_ms != UINT32_MAX &&
	       c->sends_unanswered >= QUIC_UNANSWERED_SENDS;
}

static bool conn_unresponsive(const struct quic_conn *c, uint64_t now)
{
	return conn_unanswered_enough(c) && now - c->unanswered_since >= conn_unresponsive_ns(c);
}

static void conn_update_timer(struct quic_conn *c)
{
	uint64_t pmtu_exp = pmtu_deadline(&c->pmtu, ngtcp2_conn_get_pto(c->conn));
	ngtcp2_tstamp exp = ngtcp2_conn_get_expiry(c->conn);
	uint64_t now = quic_now_ns();
	struct timeval tv = {0};

	if (pmtu_exp < exp)
		exp = pmtu_exp;

	/* short of packets, the next PTO probe brings this back here */
	if (conn_unanswered_enough(c)) {
		uint64_t gone = c->unanswered_since + conn_unresponsive_ns(c);

		if (gone < exp)
			exp = gone;
	}
	if (exp == UINT64_MAX) {
		event_del(c->timer);
		return;
	}
	if (exp > now) {
		uint64_t d = exp - now;

		tv.tv_sec = (time_t)(d / 1000000000ull);
		tv.tv_usec = (suseconds_t)((d % 1000000000ull) / 1000);
	}
	event_add(c->timer, &tv);
}

/* Count and tell what pmtu.h decided for @c (rare: at most a few a minute). */
static void conn_pmtu_event(struct quic_conn *c, enum pmtu_event ev)
{
	char peer[NETADDR_STR_MAX];

	netaddr_str(&c->peer, peer, sizeof(peer));
	switch (ev) {
	case PMTU_FALLBACK:
		pr_debug("path MTU to %s: full-size packets unacknowledged: trying %u-byte ones",
			 peer, PMTU_SAFE);
		break;
	case PMTU_HOLE:
		c->ep->pmtu_black_holes++;
		c->stats.pmtu_holes++;
		pr_warn("path MTU black hole on %s: sending %u-byte packets (was %u) for %llu s",
			peer, PMTU_SAFE, c->pmtu.was,
			(unsigned long long)(c->pmtu.hold_ns / NGTCP2_SECONDS));
		break;
	case PMTU_LIFT:
		pr_debug("path MTU to %s: trying %u-byte packets again", peer, c->pmtu.was);
		break;
	case PMTU_CONFIRMED:
		pr_info("path MTU to %s: %u-byte packets get through again", peer, c->pmtu.was);
		break;
	default:
		break;
	}
}

/* The newest packet the peer acknowledged was written at @ts - latest RTT:
 * if that write was of full-size packets only, they get through (pmtu.h). */
static void conn_pmtu_rtt_sample(struct quic_conn *c, uint64_t ts)
{
	ngtcp2_conn_info ci;

	ngtcp2_conn_get_conn_info(c->conn, &ci);
	if (ci.latest_rtt && ci.latest_rtt < ts &&
	    pmtu_acked_sent_at(&c->pmtu, ts - ci.latest_rtt) == PMTU_CONFIRMED)
		conn_pmtu_event(c, PMTU_CONFIRMED);
}

/*
 * Full-size packets unproven for too long while small ones may pass: send
 * small ones only (see pmtu.h). @idle: nothing in flight and nothing written
 * now; nothing in flight alone would not do: packets declared lost leave the
 * count too, and go out again. The proofs pending on each stream
 * belong to packets sent before the cap; one arriving later must not end the
 * trial that follows it.
 */
static void conn_pmtu_check(struct quic_conn *c, bool idle, uint64_t now)
{
	size_t size = ngtcp2_conn_get_path_max_tx_udp_payload_size(c->conn);
	enum pmtu_event ev;
	struct quic_stream *s;

	if (idle)
		pmtu_idle(&c->pmtu);
	ev = pmtu_check(&c->pmtu, ngtcp2_conn_get_pto(c->conn),
			size > TX_PKT_MAX ? TX_PKT_MAX : size, now);
	if (ev == PMTU_NONE)
		return;
	if (ev == PMTU_FALLBACK) {
		for (s = c->streams; s; s = s->all_next)
			s->full_unproven = 0;
	}
	conn_pmtu_event(c, ev);
}

/*
 * An agent with data to send, none of it in flight, waits on the edge for
 * flow control credit; if that credit went to a NAT mapping that just died,
 * nothing but the agent's next packet can show the edge the new one. So while
 * it waits it pings every two PTOs (at least 200 ms) instead of every third
 * of the idle timeout; the edge's answer on the new path then acknowledges
 * packets sent after the lost credit, which declares it lost and resends it.
 */
static void conn_probe_when_waiting(struct quic_conn *c, const ngtcp2_conn_info *ci)
{
	bool waiting = !c->ep->cfg.server && !ci->bytes_in_flight && c->handshake_done &&
		       (c->nblocked || c->sendq_head);
	uint64_t t;

	if (waiting == c->waiting)
		return;
	c->waiting = waiting;
	if (!waiting) {
		conn_keep_alive(c);
		return;
	}
	t = 2 * ngtcp2_conn_get_pto(c->conn);
	if (t < 200 * NGTCP2_MILLISECONDS)
		t = 200 * NGTCP2_MILLISECONDS;
	if (t < conn_keep_alive_ns(c))
		ngtcp2_conn_set_keep_alive_timeout(c->conn, t);
}

static void conn_write(struct quic_conn *c)
{
	ngtcp2_conn_info ci;
	uint64_t ts;
	int i, n;

	if (c->closing || c->pending)
		return;
	c->in_write = 1;
	c->tx_full = 0;
	c->tx_small = 0;
	c->tx_any = 0;
	ts = quic_now_ns();
	for (i = 0; i < TX_BATCHES; i++) {
		n = conn_write_batch(c, ts);
		if (n <= 0)
			break;
	}
	if (c->tx_full && !c->tx_small)
		pmtu_full_write(&c->pmtu, ts);
	c->in_write = 0;
	if (c->closing)
		return;
	ngtcp2_conn_update_pkt_tx_time(c->conn, ts);
	ngtcp2_conn_get_conn_info(c->conn, &ci);
	c->stats.srtt_ns = ci.smoothed_rtt;
	c->stats.latest_rtt_ns = ci.latest_rtt;
	/* Cleared by every packet that opens (conn_read); handshakes have
	 * their own timeout. */
	if (!ci.bytes_in_flight || !ngtcp2_conn_get_handshake_completed(c->conn))
		c->unanswered_since = 0;
	else if (!c->unanswered_since)
		c->unanswered_since = ts;
	if (ngtcp2_conn_get_handshake_completed(c->conn))
		conn_pmtu_check(c, !ci.bytes_in_flight && !c->tx_any, quic_now_ns());
	conn_probe_when_waiting(c, &ci);
	conn_update_timer(c);
}

/* ---- closing ---------------------------------------------------------- */

static void conn_schedule_finalize(struct quic_conn *c, int err, uint64_t app)
{
	struct timeval tv = {0};

	if (c->closing)
		return;
	c->closing = 1;
	c->close_err = err;
	c->close_app = app;
	event_del(c->timer);
	event_add(c->timer, &tv);
}

/* Send a CONNECTION_CLOSE and keep the packet for the closing period. */
static void conn_send_close(struct quic_conn *c, const ngtcp2_ccerr *ccerr)
{
	ngtcp2_path_storage ps;
	ngtcp2_pkt_info pi;
	ngtcp2_ssize n;

	if (ngtcp2_conn_in_closing_period(c->conn) || ngtcp2_conn_in_draining_period(c->conn))
		return;
	ngtcp2_path_storage_zero(&ps);
	n = ngtcp2_conn_write_connection_close(c->conn, &ps.path, &pi, c->ep->txbuf, TX_PKT_MAX,
					       ccerr, quic_now_ns());
	if (n > 0) {
		free(c->pending);
		c->pending = NULL;
		conn_send(c, &ps.path, pi.ecn, c->ep->txbuf, (size_t)n, (size_t)n);
		c->close_pkt = malloc((size_t)n);
		if (c->close_pkt) {
			memcpy(c->close_pkt, c->ep->txbuf, (size_t)n);
			c->close_pkt_len = (size_t)n;
			c->close_next = 1;
		}
	}
}

/*
 * The peer answered none of what we sent for conn_unresponsive_ns(): it
 * died, or the path to it did. Its streams fail now, not at the idle
 * timeout (a public client of a dead agent would wait that long). The
 * CONNECTION_CLOSE tells a peer that only lost its way back.
 */
static void conn_close_unresponsive(struct quic_conn *c)
{
	ngtcp2_ccerr ccerr;

	pr_debug("QUIC peer answered none of %u sends in %llu ms: closing", c->sends_unanswered,
		 (unsigned long long)((quic_now_ns() - c->unanswered_since) / NGTCP2_MILLISECONDS));
	ngtcp2_ccerr_default(&ccerr);
	conn_send_close(c, &ccerr);
	conn_schedule_finalize(c, -EHOSTUNREACH, 0);
}

static void conn_fail_liberr(struct quic_conn *c, int liberr)
{
	ngtcp2_ccerr ccerr;

	ngtcp2_ccerr_default(&ccerr);
	if (liberr == NGTCP2_ERR_CRYPTO)
		ngtcp2_ccerr_set_tls_alert(&ccerr, ngtcp2_conn_get_tls_alert(c->conn), NULL, 0);
	else
		ngtcp2_ccerr_set_liberr(&ccerr, liberr, NULL, 0);
	pr_debug("closing QUIC connection: %s", ngtcp2_strerror(liberr));
	conn_send_close(c, &ccerr);
	conn_schedule_finalize(c, c->cert_failed ? -EKEYREJECTED : -EPROTO, 0);
}

void quic_conn_close(struct quic_conn *c, uint64_t app_code, const char *reason)
{
	ngtcp2_ccerr ccerr;

	if (c->closing)
		return;
	if (c->in_read) {
		/* ngtcp2 may not write a CONNECTION_CLOSE from inside its callbacks */
		if (!c->close_wanted) {
			c->close_wanted = 1;
			c->close_wanted_code = app_code;
			snprintf(c->close_wanted_reason, sizeof(c->close_wanted_reason), "%s",
				 reason ? reason : "");
		}
		return;
	}
	ngtcp2_ccerr_default(&ccerr);
	ngtcp2_ccerr_set_application_error(&ccerr, app_code, (const uint8_t *)reason,
					   reason ? strlen(reason) : 0);
	conn_send_close(c, &ccerr);
	conn_schedule_finalize(c, -ECONNABORTED, app_code);
}

static void stream_unlink(struct quic_stream *s)
{
	struct quic_conn *c = s->c;

	if (s->all_prev)
		s->all_prev->all_next = s->all_next;
	else
		c->streams = s->all_next;
	if (s->all_next)
		s->all_next->all_prev = s->all_prev;
}

static void stream_destroy(struct quic_stream *s)
{
	struct quic_ep *ep = s->c->ep;

	if (s->fd >= 0)
		stream_tcp_close(s, true);
	/* bytes from the peer that TCP will never get: their connection credit
	 * comes back (see stream_flush_tcp) */
	if (!s->c->closing && s->rq_len > s->rq_local)
		ngtcp2_conn_extend_max_offset(s->c->conn, s->rq_len - s->rq_local);
	s->c->sq_total -= s->sq_end - s->sq_base;
	s->c->nblocked -= s->blocked;
	chunkq_free(ep, &s->sq);
	chunkq_free(ep, &s->rq);
	stream_unlink(s);
	free(s);
}

static void conn_remove_cids(struct quic_conn *c)
{
	struct quic_ep *ep = c->ep;
	ngtcp2_cid *scids;
	size_t n, i;

	n = ngtcp2_conn_get_scid(c->conn, NULL);
	scids = calloc(n ? n : 1, sizeof(*scids));
	if (scids) {
		n = ngtcp2_conn_get_scid(c->conn, scids);
		for (i = 0; i < n; i++)
			cid_del(ep, scids[i].data, scids[i].datalen);
		free(scids);
	}
	if (ep->cfg.server) {
		const ngtcp2_cid *odcid = ngtcp2_conn_get_client_initial_dcid(c->conn);

		cid_del(ep, odcid->data, odcid->datalen);
	}
}

/*
 * @s dies with its connection. When the peer sent all it had (its FIN is in)
 * and the socket has yet to take all of it, or to acknowledge it, a tail
 * takes over (tcp_tail.h): those bytes were accepted. True when one did.
 */
static bool stream_tail_off(struct quic_stream *s)
{
	struct chunk *k;
	uint8_t *buf;
	size_t len = 0;
	int err;

	if (s->fd < 0 || s->connecting || s->is_reset || !s->rfin || !s->c->ep->tails)
		return false;
	if (s->abort_handoff && !s->tcp_wrote && !s->rq.head)
		return false; /* nothing for the client yet: its owner answers it instead */
	for (k = s->rq.head; k; k = k->next)
		len += k->len - k->off;
	err = tcp_tail_adopt(s->c->ep->tails, s->fd, len, s->tcp_wr_shut, &buf);
	if (!err) {
		for (k = s->rq.head; k; k = k->next) {
			memcpy(buf, k->data + k->off, k->len - k->off);
			buf += k->len - k->off;
		}
	} else {
		pr_warn_rl("stream %lld: could not keep its last %llu bytes for TCP: %s",
			   (long long)s->id, (unsigned long long)s->rq_len, strerror(-err));
		return false;
	}
	stream_tcp_release(s);
	chunkq_free(s->c->ep, &s->rq);
	s->rq_len = 0;
	s->rq_local = 0;
	return true;
}

static void conn_free_streams(struct quic_conn *c)
{
	struct quic_ep *ep = c->ep;

	while (c->streams) {
		struct quic_stream *s = c->streams;
		uint64_t code = s->is_reset ? s->reset_code : PROTO_ERR_SHUTDOWN;

		if (stream_tail_off(s))
			code = 0; /* its bytes go on: it ended well */
		/* every stream not yet dead is told once, also one whose QUIC side
		 * closed while its socket was still being written (its owner frees
		 * what it hung on it) */
		if (!s->dead && ep->h.stream_close_cb)
			ep->h.stream_close_cb(c, s, code, ep->arg);
		stream_destroy(s);
	}
}

static void conn_free(struct quic_conn *c)
{
	struct quic_ep *ep = c->ep;

	conn_free_streams(c);
	conn_remove_cids(c);
	if (c->lingering) {
		ep->lingering--;
		if (!c->close_pkt)
			ep->lingering_drain--;
	}
	if (c->counted_hs)
		ep->handshaking--;
	if (c->prev)
		c->prev->next = c->next;
	else
		ep->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->timer)
		event_free(c->timer);
	ngtcp2_conn_del(c->conn);
	if (c->ssl)
		wolfSSL_free(c->ssl);
	free(c->pending);
	free(c->close_pkt);
	while (c->dgq_head)
		dgq_pop(c);
	free(c);
}

/*
 * RFC 9000 section 10.2: after our CONNECTION_CLOSE (closing period) or the
 * peer's (draining period) the edge keeps the connection's IDs for three PTOs,
 * so that its late packets get the close again (closing) or nothing (draining)
 * rather than stateless resets or a new connection. The application was told
 * already; streams are gone. A client has no IDs to keep for anyone, and a
 * failed handshake is freed at once: a flood of them must not pile up.
 */
static bool conn_linger(struct quic_conn *c)
{
	struct quic_ep *ep = c->ep;
	struct timeval tv;
	uint64_t d;

	if (!ep->cfg.server || ep->freeing || !c->handshake_done ||
	    (!c->close_pkt && !ngtcp2_conn_in_draining_period(c->conn)))
		return false;
	/* at least a floor: our PTO may be well below the peer's */
	d = 3 * ngtcp2_conn_get_pto(c->conn);
	if (d < ep->cfg.close_min_ms * NGTCP2_MILLISECONDS)
		d = ep->cfg.close_min_ms * NGTCP2_MILLISECONDS;
	tv.tv_sec = (time_t)(d / 1000000000ull);
	tv.tv_usec = (suseconds_t)((d % 1000000000ull) / 1000);
	c->lingering = 1;
	ep->lingering++;
	if (!c->close_pkt)
		ep->lingering_drain++;
	event_del(c->timer);
	event_add(c->timer, &tv);
	return true;
}

static void conn_finalize(struct quic_conn *c)
{
	struct quic_ep *ep = c->ep;
	const ngtcp2_ccerr *cc = ngtcp2_conn_get_ccerr(c->conn);
	uint64_t app = c->close_app;

	if (!app && cc && cc->type == NGTCP2_CCERR_TYPE_APPLICATION)
		app = cc->error_code;
	if (ep->h.conn_close_cb)
		ep->h.conn_close_cb(c, c->close_err, app, ep->arg);
	conn_free_streams(c);
	c->user = NULL;
	if (!conn_linger(c))
		conn_free(c);
}

/* ---- streams: TCP side ------------------------------------------------ */

static void stream_reap(struct quic_conn *c)
{
	while (c->dead) {
		struct quic_stream *s = c->dead;

		c->dead = s->dead_next;
		stream_destroy(s);
	}
}

/* Free @s once neither ngtcp2 nor its socket needs it. */
static void stream_maybe_free(struct quic_stream *s)
{
	struct quic_conn *c = s->c;
	struct quic_ep *ep = c->ep;

	if (s->dead || !s->quic_closed || s->fd >= 0)
		return;
	s->dead = 1;
	c->stats.streams_open--;
	if (s->is_reset)
		c->stats.streams_reset++;
	else
		c->stats.streams_ok++;
	c->stats.stream_ns_sum += quic_now_ns() - s->created_ns;
	if (ep->cfg.latency)
		hist_record(&ep->cfg.latency[BEAM_HIST_STREAM], quic_now_ns() - s->created_ns);
	if (ep->h.stream_close_cb)
		ep->h.stream_close_cb(c, s, s->is_reset ? s->reset_code : 0, ep->arg);
	s->dead_next = c->dead;
	c->dead = s;
}

/*
 * The stream ends before its TCP peer got a byte: give the socket to the
 * owner (quic_stream_handoff_on_abort) if it wants it. True when it took it.
 */
static bool stream_tcp_handoff(struct quic_stream *s)
{
	struct quic_ep *ep = s->c->ep;
	int fd = s->fd;

	if (fd < 0 || !s->abort_handoff || s->tcp_wrote || s->tcp_failed || !ep->h.tcp_abort_cb)
		return false;
	stream_tcp_release(s);
	ep->h.tcp_abort_cb(s->c, fd, ep->arg);
	return true;
}

/* @s lets go of its socket, open, for someone else to own. */
static void stream_tcp_release(struct quic_stream *s)
{
	if (s->rev)
		event_free(s->rev);
	if (s->wev)
		event_free(s->wev);
	s->rev = s->wev = NULL;
	s->reading = s->writing = 0;
	s->fd = -1;
}

static void stream_tcp_close(struct quic_stream *s, bool reset)
{
	int fd;

	if (s->fd < 0)
		return;
	if (reset && stream_tcp_handoff(s))
		return; /* the owner answers the peer itself: no reset */
	if (reset) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		/* SO_LINGER 0: close() sends an RST, the peer sees a reset */
		setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	fd = s->fd;
	stream_tcp_release(s);
	close(fd);
}

/* A TCP side failed or the peer reset: reset both. */
static void stream_abort(struct quic_stream *s, uint64_t code)
{
	struct quic_conn *c = s->c;

	if (!s->is_reset) {
		s->is_reset = 1;
		s->reset_code = code;
	}
	if (!s->quic_closed)
		ngtcp2_conn_shutdown_stream(c->conn, 0, s->id, code);
	stream_tcp_close(s, true);
	/* ngtcp2 gives back the credit of what it still holds, we of what we do */
	if (!c->closing && s->rq_len > s->rq_local)
		ngtcp2_conn_extend_max_offset(c->conn, s->rq_len - s->rq_local);
	chunkq_free(c->ep, &s->rq);
	s->rq_len = 0;
	s->rq_local = 0;
	stream_maybe_free(s);
}

void quic_stream_reset(struct quic_stream *s, uint64_t code)
{
	stream_abort(s, code);
}

static uint64_t sq_buffered(const struct quic_stream *s)
{
	return s->sq_end - s->sq_base;
}

static void stream_update_read(struct quic_stream *s)
{
	struct quic_conn *c = s->c;
	bool want = s->fd >= 0 && !s->connecting && !s->tcp_rd_eof && !s->is_reset &&
		    sq_buffered(s) < c->ep->cfg.sendbuf_max;

	/* a budget for the whole connection too: many slow streams must not add up */
	if (want && c->sq_total >= CONN_SENDBUF_MAX) {
		want = false;
		c->sq_over = 1;
	}

	if (want && !s->reading) {
		event_add(s->rev, NULL);
		s->reading = 1;
	} else if (!want && s->reading) {
		event_del(s->rev);
		s->reading = 0;
	}
}

/* Account @delta bytes of send buffer; below half the budget, paused sockets resume. */
static void conn_sq_add(struct quic_conn *c, int64_t delta)
{
	struct quic_stream *s;

	c->sq_total += (uint64_t)delta;
	if (!c->sq_over || c->sq_total >= CONN_SENDBUF_MAX / 2)
		return;
	c->sq_over = 0;
	for (s = c->streams; s; s = s->all_next)
		if (s->fd >= 0 && !s->reading && !s->dead)
			stream_update_read(s);
}

static void stream_tcp_done_check(struct quic_stream *s)
{
	if (s->fd >= 0 && s->tcp_rd_eof && s->tcp_wr_shut && s->quic_closed)
		stream_tcp_close(s, false);
	stream_maybe_free(s);
}

static void tcp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct quic_stream *s = arg;
	struct quic_conn *c = s->c;
	struct quic_ep *ep = c->ep;
	int i;

	(void)what;
	for (i = 0; i < TCP_READS_MAX && sq_buffered(s) < ep->cfg.sendbuf_max &&
		    c->sq_total < CONN_SENDBUF_MAX;
	     i++) {
		struct chunk *k = chunkq_tail_room(ep, &s->sq);
		ssize_t n;

		if (!k) {
			stream_abort(s, PROTO_ERR_INTERNAL);
			goto out;
		}
		n = read(fd, k->data + k->len, CHUNK_SIZE - k->len);
		if (n > 0) {
			k->len += (uint32_t)n;
			s->sq_end += (uint64_t)n;
			c->sq_total += (uint64_t)n;
			if (s->bytes)
				s->bytes->tx += (uint64_t)n;
			if (!s->first_byte_ns) {
				s->first_byte_ns = quic_now_ns();
				c->stats.ttfb_ns_sum += s->first_byte_ns - s->created_ns;
			}
			continue;
		}
		if (n == 0) {
			s->tcp_rd_eof = 1;
			s->fin_queued = 1;
			break;
		}
		if (errno == EAGAIN || errno == EINTR)
			break;
		pr_debug_rl("stream %lld: TCP read failed: %s", (long long)s->id, strerror(errno));
		s->tcp_failed = 1;
		stream_abort(s, PROTO_ERR_TCP_RESET);
		goto out;
	}
	if (stream_has_tx(s))
		sendq_push(s);
	stream_update_read(s);
out:
	conn_after_io(c);
}

static void stream_flushq_add(struct quic_stream *s)
{
	struct quic_conn *c = s->c;

	if (s->in_flushq)
		return;
	s->in_flushq = 1;
	s->flushq_next = c->flushq;
	c->flushq = s;
}

/* Write queued bytes to the socket; return QUIC credit for what it took. */
static void stream_flush_tcp(struct quic_stream *s)
{
	struct quic_conn *c = s->c;
	uint64_t written = 0;

	if (s->fd < 0 || s->connecting)
		return;
	while (s->rq.head) {
		struct iovec iov[16];
		struct chunk *k;
		int n = 0;
		ssize_t w;

		for (k = s->rq.head; k && n < 16; k = k->next, n++) {
			iov[n].iov_base = k->data + k->off;
			iov[n].iov_len = k->len - k->off;
		}
		w = writev(s->fd, iov, n);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			pr_debug_rl("stream %lld: TCP write failed: %s", (long long)s->id,
				    strerror(errno));
			s->tcp_failed = 1;
			stream_abort(s, PROTO_ERR_TCP_RESET);
			return;
		}
		written += (uint64_t)w;
		s->tcp_sent = 1;
		s->tcp_wrote |= w > 0;
		while (w > 0) {
			k = s->rq.head;
			size_t avail = k->len - k->off;

			if ((size_t)w < avail) {
				k->off += (uint32_t)w;
				break;
			}
			w -= (ssize_t)avail;
			s->rq.head = k->next;
			if (!s->rq.head)
				s->rq.tail = NULL;
			chunk_put(c->ep, k);
		}
	}
	s->rq_len -= written;
	if (s->rq_local) {
		/* our own prefix: it took no flow-control credit, so it gives none back */
		uint64_t own = written < s->rq_local ? written : s->rq_local;

		s->rq_local -= own;
		written -= own;
	}
	/* A stream QUIC is done with (both FINs through) may still hold bytes
	 * for TCP: they took connection credit, which must come back too, or
	 * every such stream shrinks the window until the connection stalls. */
	if (written) {
		if (!s->quic_closed)
			ngtcp2_conn_extend_max_stream_offset(c->conn, s->id, written);
		ngtcp2_conn_extend_max_offset(c->conn, written);
	}
	if (s->rq.head) {
		if (!s->writing) {
			event_add(s->wev, NULL);
			s->writing = 1;
		}
		return;
	}
	if (s->writing) {
		event_del(s->wev);
		s->writing = 0;
	}
	if (s->rfin && !s->tcp_wr_shut && stream_tcp_handoff(s)) {
		/* the peer ended without a byte for TCP: the owner answers; the
		 * stream ends cleanly, with the bytes the TCP side already sent */
		s->tcp_rd_eof = s->tcp_wr_shut = 1;
		s->fin_queued = 1;
		if (stream_has_tx(s))
			sendq_push(s);
		stream_maybe_free(s);
		return;
	}
	if (s->rfin && !s->tcp_wr_shut) {
		shutdown(s->fd, SHUT_WR);
		s->tcp_wr_shut = 1;
	}
	stream_tcp_done_check(s);
}

static void tcp_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct quic_stream *s = arg;
	struct quic_conn *c = s->c;

	(void)what;
	if (s->connecting) {
		int soerr = 0;
		socklen_t len = sizeof(soerr);

		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
		if (soerr == EINPROGRESS || soerr == EALREADY)
			return;
		event_del(s->wev);
		s->writing = 0;
		s->connecting = 0;
		if (soerr) {
			pr_warn_rl("local connect for stream %lld failed: %s", (long long)s->id,
				   strerror(soerr));
			stream_abort(s, soerr == ECONNREFUSED ? PROTO_ERR_CONN_REFUSED
							      : PROTO_ERR_CONN_FAILED);
			conn_after_io(c);
			return;
		}
		stream_update_read(s);
	}
	stream_flush_tcp(s);
	conn_after_io(c);
}

int quic_stream_attach_tcp(struct quic_stream *s, int fd, bool connecting)
{
	struct event_base *base = s->c->ep->base;
	int one = 1;

	s->fd = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->rev = event_new(base, fd, EV_READ | EV_PERSIST, tcp_read_cb, s);
	s->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, tcp_write_cb, s);
	if (!s->rev || !s->wev) {
		stream_abort(s, PROTO_ERR_INTERNAL);
		return -ENOMEM;
	}
	s->connecting = connecting;
	if (connecting) {
		event_add(s->wev, NULL);
		s->writing = 1;
	} else {
		stream_update_read(s);
		if (s->rq.head || s->rfin)
			stream_flushq_add(s);
	}
	return 0;
}

int quic_stream_tcp_prefix(struct quic_stream *s, const void *data, size_t len)
{
	int err;

	if (s->fd < 0 || s->rq.head)
		return -EINVAL;
	err = chunkq_append(s->c->ep, &s->rq, data, len);
	if (err)
		return err;
	s->rq_len += len;
	s->rq_local += len;
	return 0;
}

/* ---- streams: QUIC side ----------------------------------------------- */

static struct quic_stream *stream_new(struct quic_conn *c, int64_t id)
{
	struct quic_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->c = c;
	s->id = id;
	s->fd = -1;
	s->created_ns = quic_now_ns();
	s->all_next = c->streams;
	if (c->streams)
		c->streams->all_prev = s;
	c->streams = s;
	c->stats.streams_open++;
	c->stats.streams_total++;
	ngtcp2_conn_set_stream_user_data(c->conn, id, s);
	return s;
}

int quic_stream_open(struct quic_conn *c, struct quic_stream **out)
{
	struct quic_stream *s;
	int64_t id;
	int rv;

	if (c->closing)
		return -ENOTCONN;
	rv = ngtcp2_conn_open_bidi_stream(c->conn, &id, NULL);
	if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED)
		return -EAGAIN;
	if (rv)
		return -EIO;
	s = stream_new(c, id);
	if (!s) {
		ngtcp2_conn_shutdown_stream(c->conn, 0, id, PROTO_ERR_INTERNAL);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

int quic_stream_write(struct quic_stream *s, const void *data, size_t len, bool fin)
{
	int err;

	if (s->fin_queued || s->is_reset || s->quic_closed)
		return -EPIPE;
	err = chunkq_append(s->c->ep, &s->sq, data, len);
	if (err)
		return err;
	s->sq_end += len;
	s->c->sq_total += len;
	if (fin)
		s->fin_queued = 1;
	sendq_push(s);
	return 0;
}

static int recv_stream_data_cb(ngtcp2_conn *conn, uint32_t flags, int64_t stream_id,
			       uint64_t offset, const uint8_t *data, size_t datalen,
			       void *user_data, void *stream_user_data)
{
	struct quic_stream *s = stream_user_data;
	struct quic_conn *c = user_data;
	struct quic_ep *ep = c->ep;
	bool fin = flags & NGTCP2_STREAM_DATA_FLAG_FIN;
	size_t used = 0;

	(void)offset;
	if (!s || s->is_reset)
		goto credit;
	if (s->bytes)
		s->bytes->rx += datalen;
	/* Edge: the first byte back from the agent's local service on a public
	 * connection's stream is its time to first byte. */
	if (s->fd >= 0 && !s->first_rx_ns && datalen) {
		s->first_rx_ns = quic_now_ns();
		if (ep->cfg.latency)
			hist_record(&ep->cfg.latency[BEAM_HIST_TTFB],
				    s->first_rx_ns - s->created_ns);
	}
	if (s->fd < 0 && !s->rq.head) {
		int n = ep->h.stream_data_cb(c, s, data, datalen, fin,
					     flags & NGTCP2_STREAM_DATA_FLAG_0RTT, ep->arg);

		if (n < 0) {
			stream_abort(s, PROTO_ERR_MALFORMED);
			goto credit;
		}
		if (s->dead || s->is_reset)
			goto credit;
		used = (size_t)n;
		ngtcp2_conn_extend_max_stream_offset(conn, stream_id, used);
		ngtcp2_conn_extend_max_offset(conn, used);
		if (used >= datalen && (s->fd < 0 || !fin))
			return 0;
	}
	/* bridged (or about to be): queue for the socket, credit comes when written */
	if (chunkq_append(ep, &s->rq, data + used, datalen - used)) {
		stream_abort(s, PROTO_ERR_INTERNAL);
		return 0;
	}
	s->rq_len += datalen - used;
	if (fin)
		s->rfin = 1;
	stream_flushq_add(s);
	return 0;
credit:
	ngtcp2_conn_extend_max_stream_offset(conn, stream_id, datalen - used);
	ngtcp2_conn_extend_max_offset(conn, datalen - used);
	return 0;
}

static int acked_stream_data_offset_cb(ngtcp2_conn *conn, int64_t stream_id, uint64_t offset,
				       uint64_t datalen, void *user_data, void *stream_user_data)
{
	struct quic_stream *s = stream_user_data;
	struct quic_conn *c = user_data;
	uint64_t acked = offset + datalen;

	(void)conn;
	(void)stream_id;
	if (!s)
		return 0;
	if (s->full_unproven && acked > s->full_off) {
		s->full_unproven = 0;
		if (pmtu_full_acked(&c->pmtu) == PMTU_CONFIRMED)
			conn_pmtu_event(c, PMTU_CONFIRMED);
	}
	if (c->pmtu.cap && pmtu_delivered(&c->pmtu) == PMTU_HOLE)
		conn_pmtu_event(c, PMTU_HOLE);
	/* free whole chunks the peer has acknowledged */
	while (s->sq.head && s->sq_base + s->sq.head->len <= acked &&
	       (s->sq.head->len == CHUNK_SIZE || s->sq_base + s->sq.head->len == s->sq_end)) {
		struct chunk *k = s->sq.head;

		if (s->sq_cur == k)
			s->sq_cur = NULL;
		s->sq_base += k->len;
		s->sq.head = k->next;
		if (!s->sq.head)
			s->sq.tail = NULL;
		conn_sq_add(c, -(int64_t)k->len);
		chunk_put(c->ep, k);
	}
	if (s->fd >= 0 && !s->reading)
		stream_update_read(s);
	return 0;
}

static int stream_open_cb(ngtcp2_conn *conn, int64_t stream_id, void *user_data)
{
	struct quic_conn *c = user_data;
	struct quic_ep *ep = c->ep;
	struct quic_stream *s;

	if (!ngtcp2_is_bidi_stream(stream_id)) {
		ngtcp2_conn_shutdown_stream(conn, 0, stream_id, PROTO_ERR_BAD_STREAM);
		return 0;
	}
	s = stream_new(c, stream_id);
	if (!s)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	if (ep->h.stream_open_cb && ep->h.stream_open_cb(c, s, ep->arg))
		stream_abort(s, PROTO_ERR_BAD_STREAM);
	return 0;
}

static int stream_close_cb(ngtcp2_conn *conn, uint32_t flags, int64_t stream_id,
			   uint64_t app_error_code, void *user_data, void *stream_user_data)
{
	struct quic_stream *s = stream_user_data;

	(void)user_data;
	if (!ngtcp2_conn_is_local_stream(conn, stream_id))
		ngtcp2_conn_extend_max_streams_bidi(conn, 1);
	if (!s)
		return 0;
	s->quic_closed = 1;
	if ((flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) && app_error_code &&
	    !s->is_reset) {
		s->is_reset = 1;
		s->reset_code = app_error_code;
		stream_tcp_close(s, true);
	}
	if (s->fd >= 0 && s->tcp_rd_eof && s->tcp_wr_shut)
		stream_tcp_close(s, false);
	stream_maybe_free(s);
	return 0;
}

/* The peer reset its sending side or asked us to stop: reset the TCP side. */
static int stream_reset_cb(ngtcp2_conn *conn, int64_t stream_id, uint64_t final_size,
			   uint64_t app_error_code, void *user_data, void *stream_user_data)
{
	struct quic_stream *s = stream_user_data;

	(void)conn;
	(void)stream_id;
	(void)final_size;
	(void)user_data;
	if (s && !s->is_reset)
		stream_abort(s, app_error_code ? app_error_code : PROTO_ERR_TCP_RESET);
	return 0;
}

static int stream_stop_sending_cb(ngtcp2_conn *conn, int64_t stream_id, uint64_t app_error_code,
				  void *user_data, void *stream_user_data)
{
	return stream_reset_cb(conn, stream_id, 0, app_error_code, user_data, stream_user_data);
}

static int extend_max_stream_data_cb(ngtcp2_conn *conn, int64_t stream_id, uint64_t max_data,
				     void *user_data, void *stream_user_data)
{
	struct quic_stream *s = stream_user_data;

	(void)conn;
	(void)stream_id;
	(void)max_data;
	(void)user_data;
	if (s && s->blocked) {
		s->blocked = 0;
		s->c->nblocked--;
		sendq_push(s);
	}
	return 0;
}

static int extend_max_local_streams_bidi_cb(ngtcp2_conn *conn, uint64_t max_streams,
					    void *user_data)
{
	struct quic_conn *c = user_data;

	(void)conn;
	(void)max_streams;
	if (c->ep->h.streams_cb)
		c->ep->h.streams_cb(c, c->ep->arg);
	return 0;
}

/* ---- connection callbacks --------------------------------------------- */

static void rand_cb(uint8_t *dest, size_t destlen, const ngtcp2_rand_ctx *rand_ctx)
{
	(void)rand_ctx;
	if (getrandom(dest, destlen, 0) != (ssize_t)destlen)
		memset(dest, 0, destlen);
}

static int get_new_connection_id_cb(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token,
				    size_t cidlen, void *user_data)
{
	struct quic_conn *c = user_data;
	struct quic_ep *ep = c->ep;

	(void)conn;
	(void)cidlen;
	if (cid_make(ep, cid))
		return NGTCP2_ERR_CALLBACK_FAILURE;
	if (ngtcp2_crypto_generate_stateless_reset_token(token, ep->reset_secret,
							 sizeof(ep->reset_secret), cid))
		return NGTCP2_ERR_CALLBACK_FAILURE;
	if (ep->cfg.server && cid_add(ep, cid, c))
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return 0;
}

static int remove_connection_id_cb(ngtcp2_conn *conn, const ngtcp2_cid *cid, void *user_data)
{
	struct quic_conn *c = user_data;

	(void)conn;
	if (c->ep->cfg.server)
		cid_del(c->ep, cid->data, cid->datalen);
	return 0;
}

static int handshake_completed_cb(ngtcp2_conn *conn, void *user_data)
{
	struct quic_conn *c = user_data;
	struct quic_ep *ep = c->ep;

	(void)conn;
	/* a resumed session shows no certificate: the ticket came from a connection
	 * whose certificate passed this check */
	if (!ep->cfg.server && ep->cfg.verify == TLS_VERIFY_PIN &&
	    !wolfSSL_session_reused(c->ssl)) {
		char seen[TLS_FP_STR_LEN] = "none";
		int err = tls_check_pin(c->ssl, ep->cfg.pin, seen);

		if (err) {
			pr_err("edge certificate %s does not match the pinned fingerprint: refused",
			       seen);
			c->cert_failed = 1;
			return NGTCP2_ERR_CALLBACK_FAILURE;
		}
	}
	c->handshake_done = 1;
	conn_keep_alive(c);
	if (c->counted_hs) {
		c->counted_hs = 0;
		ep->handshaking--;
	}
	c->stats.handshake_ns = quic_now_ns() - c->stats.created_ns;
	if (ep->cfg.latency)
		hist_record(&ep->cfg.latency[BEAM_HIST_HANDSHAKE], c->stats.handshake_ns);
	if (ep->h.handshake_cb)
		ep->h.handshake_cb(c, ep->arg);
	return 0;
}

static int tls_early_data_rejected_cb(ngtcp2_conn *conn, void *user_data)
{
	struct quic_conn *c = user_data;

	(void)conn;
	c->early_rejected = 1;
	/* ngtcp2 dropped the streams opened in 0-RTT; forget ours */
	for (struct quic_stream *s = c->streams; s; s = s->all_next) {
		if (!s->quic_closed) {
			ngtcp2_conn_set_stream_user_data(c->conn, s->id, NULL);
			s->quic_closed = 1;
			s->is_reset = 1;
			s->reset_code = PROTO_ERR_SHUTDOWN;
			stream_maybe_free(s);
		}
	}
	c->sendq_head = c->sendq_tail = NULL;
	if (c->ep->h.early_rejected_cb)
		c->ep->h.early_rejected_cb(c, c->ep->arg);
	return 0;
}

static ngtcp2_conn *get_conn_cb(ngtcp2_crypto_conn_ref *ref)
{
	return ((struct quic_conn *)ref->user_data)->conn;
}

/*
 * AES-GCM packet protection straight through wolfCrypt's one-shot calls on the
 * key schedule ngtcp2's wolfSSL back end already built in its EVP context:
 * the EVP init/update/final/ctrl sequence costs more than the cipher on
 * 1400-byte packets. Other AEADs (ChaCha20-Poly1305) keep the generic path.
 */
static Aes *aead_gcm_key(const ngtcp2_crypto_aead *aead, const ngtcp2_crypto_aead_ctx *aead_ctx)
{
	const WOLFSSL_EVP_CIPHER *cipher = aead->native_handle;

	/* wolfSSL's ciphers are pointers to its static name strings: compare
	 * pointers per packet, wolfSSL_EVP_CIPHER_nid() strcmp()s a table */
	if (cipher != wolfSSL_EVP_aes_128_gcm() && cipher != wolfSSL_EVP_aes_256_gcm())
		return NULL;
	return &((WOLFSSL_EVP_CIPHER_CTX *)aead_ctx->native_handle)->cipher.aes;
}

static int encrypt_cb(uint8_t *dest, const ngtcp2_crypto_aead *aead,
		      const ngtcp2_crypto_aead_ctx *aead_ctx, const uint8_t *plaintext,
		      size_t plaintextlen, const uint8_t *nonce, size_t noncelen,
		      const uint8_t *aad, size_t aadlen)
{
	Aes *aes = aead_gcm_key(aead, aead_ctx);

	if (!aes)
		return ngtcp2_crypto_encrypt_cb(dest, aead, aead_ctx, plaintext, plaintextlen,
						nonce, noncelen, aad, aadlen);
	if (wc_AesGcmEncrypt(aes, dest, plaintext, (word32)plaintextlen, nonce, (word32)noncelen,
			     dest + plaintextlen, AES_BLOCK_SIZE, aad, (word32)aadlen))
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return 0;
}

/*
 * Packets that passed AEAD on this thread, and the packet number of the last
 * short-header one as its header carries it (bits 0: none). The callback has
 * no connection argument; conn_read compares the count around
 * ngtcp2_conn_read_pkt, which returns 0 also for packets it dropped
 * (undecryptable ones, and duplicates, which it drops after they opened).
 */
static _Thread_local uint64_t aead_opened;
static _Thread_local uint64_t aead_short_pn;
static _Thread_local unsigned int aead_short_bits;

static void aead_note_opened(const uint8_t *aad, size_t aadlen)
{
	aead_opened++;
	if (!quic_pn_from_short_header(aad, aadlen, &aead_short_pn, &aead_short_bits))
		aead_short_bits = 0;
}

static int decrypt_cb(uint8_t *dest, const ngtcp2_crypto_aead *aead,
		      const ngtcp2_crypto_aead_ctx *aead_ctx, const uint8_t *ciphertext,
		      size_t ciphertextlen, const uint8_t *nonce, size_t noncelen,
		      const uint8_t *aad, size_t aadlen)
{
	Aes *aes = aead_gcm_key(aead, aead_ctx);
	size_t len;
	int rv;

	if (!aes) {
		rv = ngtcp2_crypto_decrypt_cb(dest, aead, aead_ctx, ciphertext, ciphertextlen,
					      nonce, noncelen, aad, aadlen);
		if (!rv)
			aead_note_opened(aad, aadlen);
		return rv;
	}
	if (ciphertextlen < AES_BLOCK_SIZE)
		return NGTCP2_ERR_DECRYPT;
	len = ciphertextlen - AES_BLOCK_SIZE;
	if (wc_AesGcmDecrypt(aes, dest, ciphertext, (word32)len, nonce, (word32)noncelen,
			     ciphertext + len, AES_BLOCK_SIZE, aad, (word32)aadlen))
		return NGTCP2_ERR_DECRYPT;
	aead_note_opened(aad, aadlen);
	return 0;
}

/*
 * Header protection for AES suites is one AES block of the sample (RFC 9001,
 * 5.4.3). wolfSSL hands ngtcp2 an AES-CTR context for it and ngtcp2 drives
 * it through EVP init/update/final per packet; the first CTR keystream block
 * is that same AES block, so encrypt the sample directly with the key
 * schedule already in the context. ChaCha20 keeps the generic path.
 */
static int hp_mask_cb(uint8_t *dest, const ngtcp2_crypto_cipher *hp,
		      const ngtcp2_crypto_cipher_ctx *hp_ctx, const uint8_t *sample)
{
	const WOLFSSL_EVP_CIPHER *cipher = hp->native_handle;
	WOLFSSL_EVP_CIPHER_CTX *ctx = hp_ctx->native_handle;

	if (cipher != wolfSSL_EVP_aes_128_ctr() && cipher != wolfSSL_EVP_aes_256_ctr())
		return ngtcp2_crypto_hp_mask_cb(dest, hp, hp_ctx, sample);
	/* dest has room for NGTCP2_HP_SAMPLELEN (one AES block) bytes */
	if (wc_AesEncryptDirect(&ctx->cipher.aes, dest, sample))
		return NGTCP2_ERR_CALLBACK_FAILURE;
	return 0;
}

/* The packet of a datagram we sent was declared lost (pmtu.h). */
static int lost_datagram_cb(ngtcp2_conn *conn, uint64_t dgram_id, void *user_data)
{
	struct quic_conn *c = user_data;

	(void)conn;
	pmtu_dgram_lost(&c->pmtu, dgram_id);
	return 0;
}

/* The packet of a datagram we sent was acknowledged (pmtu.h). */
static int ack_datagram_cb(ngtcp2_conn *conn, uint64_t dgram_id, void *user_data)
{
	struct quic_conn *c = user_data;
	enum pmtu_event ev = pmtu_dgram_acked(&c->pmtu, dgram_id);

	(void)conn;
	if (ev != PMTU_NONE)
		conn_pmtu_event(c, ev);
	return 0;
}

static int recv_datagram_cb(ngtcp2_conn *conn, uint32_t flags, const uint8_t *data, size_t datalen,
			    void *user_data)
{
	struct quic_conn *c = user_data;
	struct quic_ep *ep = c->ep;

	(void)conn;
	(void)flags;
	c->stats.dgrams_in++;
	if (ep->h.datagram_cb)
		ep->h.datagram_cb(c, data, datalen, ep->arg);
	return 0;
}

static void fill_callbacks(ngtcp2_callbacks *cb, bool server)
{
	memset(cb, 0, sizeof(*cb));
	if (server) {
		cb->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
	} else {
		cb->client_initial = ngtcp2_crypto_client_initial_cb;
		cb->recv_retry = ngtcp2_crypto_recv_retry_cb;
		cb->tls_early_data_rejected = tls_early_data_rejected_cb;
	}
	cb->recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
	cb->encrypt = encrypt_cb;
	cb->decrypt = decrypt_cb;
	cb->hp_mask = hp_mask_cb;
	cb->update_key = ngtcp2_crypto_update_key_cb;
	cb->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
	cb->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
	cb->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
	cb->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
	cb->rand = rand_cb;
	cb->get_new_connection_id = get_new_connection_id_cb;
	cb->remove_connection_id = remove_connection_id_cb;
	cb->handshake_completed = handshake_completed_cb;
	cb->recv_stream_data = recv_stream_data_cb;
	cb->acked_stream_data_offset = acked_stream_data_offset_cb;
	cb->stream_open = stream_open_cb;
	cb->stream_close = stream_close_cb;
	cb->stream_reset = stream_reset_cb;
	cb->stream_stop_sending = stream_stop_sending_cb;
	cb->extend_max_stream_data = extend_max_stream_data_cb;
	cb->extend_max_local_streams_bidi = extend_max_local_streams_bidi_cb;
	cb->recv_datagram = recv_datagram_cb;
	cb->ack_datagram = ack_datagram_cb;
	cb->lost_datagram = lost_datagram_cb;
}

static void ngtcp2_log_cb(void *user_data, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	(void)user_data;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_printf(LOG_LVL_TRACE, "ngtcp2: %s", line);
}

static const uint16_t pmtud_probes[] = {1342, 1406, 1444, 1452, 1472};

static void fill_settings(struct quic_ep *ep, ngtcp2_settings *st, ngtcp2_transport_params *tp)
{
	const struct quic_ep_config *cfg = &ep->cfg;

	ngtcp2_settings_default(st);
	st->initial_ts = quic_now_ns();
	/* CUBIC: ngtcp2's BBR paced bursts of many small responses down to two
	 * thirds of CUBIC's request rate here, at no gain in bulk throughput; the
	 * queue CUBIC builds is bounded by the 2 MiB socket buffers (pktio_udp.h) */
	st->cc_algo = NGTCP2_CC_ALGO_CUBIC;
	st->max_window = cfg->conn_window_max;
	st->max_stream_window = cfg->stream_window_max;
	/* Path MTU discovery (the socket sets DF) up to a 1500-byte MTU: 1472 is
	 * its IPv4 payload, 1452 its IPv6 one; smaller steps for tunnels and
	 * PPPoE. A probe that does not fit is lost and the size stays. */
	st->max_tx_udp_payload_size = 1472;
	st->pmtud_probes = pmtud_probes;
	st->pmtud_probeslen = sizeof(pmtud_probes) / sizeof(pmtud_probes[0]);
	st->handshake_timeout = 10 * NGTCP2_SECONDS;
	st->initial_rtt = 10 * NGTCP2_MILLISECONDS;
	if (log_enabled(LOG_LVL_TRACE))
		st->log_printf = ngtcp2_log_cb;

	ngtcp2_transport_params_default(tp);
	tp->initial_max_stream_data_bidi_local = cfg->stream_window;
	tp->initial_max_stream_data_bidi_remote = cfg->stream_window;
	tp->initial_max_stream_data_uni = 0;
	tp->initial_max_data = cfg->stream_window * 16;
	tp->initial_max_streams_bidi = cfg->max_streams_bidi;
	tp->initial_max_streams_uni = 0;
	tp->max_idle_timeout = cfg->idle_timeout_ms * NGTCP2_MILLISECONDS;
	tp->active_connection_id_limit = 4;
	tp->disable_active_migration = 0;
	if (cfg->datagrams)
		tp->max_datagram_frame_size = 65535;
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct quic_conn *c = arg;
	int rv;

	(void)fd;
	(void)what;
	if (c->lingering) {
		conn_free(c);
		return;
	}
	if (c->closing) {
		conn_finalize(c);
		return;
	}
	if (conn_unresponsive(c, quic_now_ns())) {
		conn_close_unresponsive(c);
		return;
	}
	rv = ngtcp2_conn_handle_expiry(c->conn, quic_now_ns());
	if (rv == NGTCP2_ERR_IDLE_CLOSE) {
		pr_debug("QUIC connection idle past the timeout: closing");
		conn_schedule_finalize(c, -ETIMEDOUT, 0);
		return;
	}
	if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
		/* nobody answered: there is no one to send a close to */
		pr_debug("QUIC handshake timed out: closing");
		conn_schedule_finalize(c, -ETIMEDOUT, 0);
		return;
	}
	if (rv) {
		conn_fail_liberr(c, rv);
		return;
	}
	conn_after_io(c);
}

static struct quic_conn *conn_alloc(struct quic_ep *ep, const struct pktio_addr *local,
				    const struct pktio_addr *peer)
{
	struct quic_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->ep = ep;
	c->local = *local;
	c->peer = *peer;
	pmtu_init(&c->pmtu);
	c->rx_largest_pn = -1;
	c->conn_ref.get_conn = get_conn_cb;
	c->conn_ref.user_data = c;
	c->stats.created_ns = quic_now_ns();
	c->timer = evtimer_new(ep->base, conn_timer_cb, c);
	if (!c->timer) {
		free(c);
		return NULL;
	}
	c->next = ep->conns;
	if (ep->conns)
		ep->conns->prev = c;
	ep->conns = c;
	return c;
}

/*
 * PINGs at a third of the idle timeout keep NAT state and the peer's timer
 * alive. The timeout in force is the smaller of ours and the peer's (RFC 9000
 * section 10.1), known once its transport parameters are: an agent that
 * pinged by its own longer one fell silent for longer than the edge waits.
 * That silence also broke NAT rebinding: the edge's packets go to the old,
 * dead mapping, so the agent's next packet is the only thing that can tell
 * the edge where it is now, and an agent waiting for flow control credit or
 * just idle sends nothing else.
 * An agent pings at least every 4/5 of its unresponsive timeout (4 s by
 * default, assuming the edge's is the same): after a rebinding, the edge's
 * data to the old mapping goes unanswered, and the agent's ping must reach it
 * before the edge gives the agent up (conn_unresponsive).
 * A waiting agent pings sooner still (conn_probe_when_waiting).
 * TODO(#9): an idle agent is found only at its next keep-alive (4 s by
 * default): until then new public connections wait.
 */
static uint64_t conn_keep_alive_ns(const struct quic_conn *c)
{
	const ngtcp2_transport_params *rp = ngtcp2_conn_get_remote_transport_params(c->conn);
	uint64_t idle = c->ep->cfg.idle_timeout_ms * NGTCP2_MILLISECONDS, every;
	uint32_t unresp = c->ep->cfg.unresponsive_ms;

	if (rp && rp->max_idle_timeout && rp->max_idle_timeout < idle)
		idle = rp->max_idle_timeout;
	every = idle / 3;
	if (!c->ep->cfg.server && unresp != UINT32_MAX &&
	    (uint64_t)unresp * NGTCP2_MILLISECONDS * 4 / 5 < every)
		every = (uint64_t)unresp * NGTCP2_MILLISECONDS * 4 / 5;
	return every;
}

static void conn_keep_alive(struct quic_conn *c)
{
	ngtcp2_conn_set_keep_alive_timeout(c->conn, conn_keep_alive_ns(c));
}

static void path_init(ngtcp2_path *path, const struct pktio_addr *local,
		      const struct pktio_addr *peer)
{
	path->local.addr = (ngtcp2_sockaddr *)&local->sa;
	path->local.addrlen = local->len;
	path->remote.addr = (ngtcp2_sockaddr *)&peer->sa;
	path->remote.addrlen = peer->len;
	path->user_data = NULL;
}

/* After reading or a socket event: flush TCP, write packets, re-arm the timer. */
static void conn_after_io(struct quic_conn *c)
{
	while (c->flushq) {
		struct quic_stream *s = c->flushq;

		c->flushq = s->flushq_next;
		s->in_flushq = 0;
		if (!s->dead)
			stream_flush_tcp(s);
	}
	if (!c->closing)
		conn_write(c);
	stream_reap(c);
}

/* ---- endpoint: receiving ---------------------------------------------- */

static void ep_touch(struct quic_ep *ep, struct quic_conn *c)
{
	if (c->touched)
		return;
	c->touched = 1;
	c->touched_next = ep->touched;
	ep->touched = c;
}

static const char *tls_alert_name(uint8_t alert)
{
	switch (alert) {
	case 40:
		return "handshake failure";
	case 42:
		return "bad certificate";
	case 45:
		return "certificate expired";
	case 46:
		return "certificate unknown";
	case 48:
		return "unknown CA: the certificate does not chain to the trusted CA";
	case 80:
		return "internal error";
	case 116:
		return "certificate required";
	case 120:
		return "no application protocol (ALPN beam/1)";
	default:
		return "TLS alert";
	}
}

static void log_handshake_failure(struct quic_conn *c, int rv)
{
	char peer[NETADDR_STR_MAX];
	uint8_t alert = ngtcp2_conn_get_tls_alert(c->conn);

	if (c->cert_failed)
		return; /* said already, with the reason */
	netaddr_str(&c->peer, peer, sizeof(peer));
	if (rv == NGTCP2_ERR_CRYPTO && alert)
		pr_warn_rl("TLS handshake with %s failed: %s (alert %u)", peer,
			   tls_alert_name(alert), alert);
	else
		pr_info_rl("QUIC handshake with %s failed: %s", peer, ngtcp2_strerror(rv));
}

/* ngtcp2 moved the connection to another path (a migration, a NAT
 * rebinding): follow it, so that quic_conn_peer() and the conns map show
 * the address the peer uses now. */
static void conn_track_path(struct quic_conn *c)
{
	const ngtcp2_path *ps = ngtcp2_conn_get_path(c->conn);
	char from[NETADDR_STR_MAX], to[NETADDR_STR_MAX];
	socklen_t rlen = ps->remote.addrlen, llen = ps->local.addrlen;

	if (!rlen || rlen > sizeof(c->peer.in6) || llen > sizeof(c->local.in6))
		return;
	if (rlen == c->peer.len && !memcmp(ps->remote.addr, &c->peer.sa, rlen))
		return;
	netaddr_str(&c->peer, from, sizeof(from));
	memset(&c->peer, 0, sizeof(c->peer));
	memcpy(&c->peer.sa, ps->remote.addr, rlen);
	c->peer.len = rlen;
	if (llen) {
		memset(&c->local, 0, sizeof(c->local));
		memcpy(&c->local.sa, ps->local.addr, llen);
		c->local.len = llen;
	}
	netaddr_str(&c->peer, to, sizeof(to));
	pr_info_rl("QUIC connection from %s moved to %s", from, to);
}

static void conn_read(struct quic_conn *c, const struct pktio_pkt *p, const uint8_t *data,
		      size_t len)
{
	ngtcp2_pkt_info pi = {.ecn = p->ecn};
	uint64_t ts, opened;
	ngtcp2_path path;
	bool fresh;
	int rv;

	if (c->closing) {
		/* answered from where it came; the doubling gap bounds what a
		 * spoofed source can draw (log2 of the packets sent to us) */
		if (c->close_pkt && ++c->close_rx >= c->close_next) {
			c->close_next = c->close_next < (1u << 30) ? c->close_next * 2 : UINT32_MAX;
			ep_send_raw(c->ep, p, c->close_pkt, c->close_pkt_len);
			c->ep->closes_repeated++;
		}
		return;
	}
	path_init(&path, &p->local, &p->peer);
	ts = quic_now_ns();
	c->stats.bytes_in += len;
	c->stats.pkts_in++;
	c->stats.last_rx_ns = ts;
	c->in_read = 1;
	opened = aead_opened;
	aead_short_bits = 0;
	rv = ngtcp2_conn_read_pkt(c->conn, &path, &pi, data, len, ts);
	c->in_read = 0;
	if (rv == 0 && (c->pmtu.stall_since || c->pmtu.trial))
		conn_pmtu_rtt_sample(c, ts);
	/* Only a packet that opened under the connection's keys shows that the
	 * peer lives, and only a 1-RTT one newer than every one before it shows
	 * where it is: a forged packet with its DCID does not open, and a genuine
	 * one replayed by someone on the link opens but is not new (ngtcp2 drops
	 * it as a duplicate, after opening it, and still returns 0). Long-header
	 * packets (handshake, 0-RTT) never vouch for a path. */
	fresh = aead_opened != opened && aead_short_bits &&
		quic_pn_advance(&c->rx_largest_pn,
				quic_pn_decode(c->rx_largest_pn, aead_short_pn, aead_short_bits));
	if (fresh || (aead_opened != opened && !aead_short_bits)) {
		c->unanswered_since = 0;
		c->sends_unanswered = 0;
	}
	if (c->close_wanted && !c->closing) {
		quic_conn_close(c, c->close_wanted_code, c->close_wanted_reason);
		return;
	}
	if (rv == 0) {
		/* Authenticated under keys of an established connection, and new:
		 * the back end may now trust the frame's path (next hop). */
		if (p->rx_ref && c->handshake_done && fresh && c->ep->io->ops->accepted)
			c->ep->io->ops->accepted(c->ep->io, p);
		if (c->handshake_done)
			conn_track_path(c);
		ep_touch(c->ep, c);
		return;
	}
	switch (rv) {
	case NGTCP2_ERR_DRAINING:
		conn_schedule_finalize(c, -ECONNRESET, 0);
		break;
	case NGTCP2_ERR_DROP_CONN:
		conn_schedule_finalize(c, -ECONNRESET, 0);
		break;
	case NGTCP2_ERR_CALLBACK_FAILURE:
		conn_fail_liberr(c, rv);
		break;
	default:
		if (!c->handshake_done)
			log_handshake_failure(c, rv);
		conn_fail_liberr(c, rv);
		break;
	}
}

static void ep_send_raw(struct quic_ep *ep, const struct pktio_pkt *in, uint8_t *buf, size_t len)
{
	struct pktio_pkt p = {
		.data = buf,
		.len = (uint32_t)len,
		.local = in->local,
		.peer = in->peer,
	};

	ep->io->ops->send(ep->io, &p, 1);
}

/*
 * Retry, Version Negotiation and stateless reset answer a stranger's packet
 * without any state, so a spoofed source could make us send them at line rate
 * to a victim (reflection). None is larger than what triggered it; together
 * they get cfg.stateless_rate per second, with a burst of one second's worth.
 */
static bool ep_stateless_ok(struct quic_ep *ep, enum quic_stateless kind)
{
	uint64_t now = quic_now_ns(), cost = 1000000000ull / ep->cfg.stateless_rate;

	ep->sl_credit += now - ep->sl_last;
	if (ep->sl_credit > 1000000000ull)
		ep->sl_credit = 1000000000ull;
	ep->sl_last = now;
	if (ep->sl_credit < cost) {
		if (!ep->sl_limited[QUIC_STATELESS_RETRY] && !ep->sl_limited[QUIC_STATELESS_VN] &&
		    !ep->sl_limited[QUIC_STATELESS_RESET])
			pr_warn("over %u Retry, VN and reset packets a second: dropping the rest",
				ep->cfg.stateless_rate);
		ep->sl_limited[kind]++;
		return false;
	}
	ep->sl_credit -= cost;
	return true;
}

static void ep_send_vn(struct quic_ep *ep, const struct pktio_pkt *in, const ngtcp2_version_cid *vc)
{
	static const uint32_t versions[] = {NGTCP2_PROTO_VER_V1};
	uint8_t buf[256], r;
	ngtcp2_ssize n;

	if (!ep_stateless_ok(ep, QUIC_STATELESS_VN))
		return;
	if (getrandom(&r, 1, 0) != 1)
		r = 0;
	n = ngtcp2_pkt_write_version_negotiation(buf, sizeof(buf), r, vc->scid, vc->scidlen,
						 vc->dcid, vc->dcidlen, versions, 1);
	if (n > 0)
		ep_send_raw(ep, in, buf, (size_t)n);
}

static void ep_send_reset(struct quic_ep *ep, const struct pktio_pkt *in,
			  const ngtcp2_version_cid *vc, size_t len)
{
	uint8_t buf[64], token[NGTCP2_STATELESS_RESET_TOKENLEN], rnd[64];
	ngtcp2_cid dcid;
	size_t out = len - 1; /* RFC 9000 10.3: smaller than what triggered it */
	ngtcp2_ssize n;

	/* The smallest reset is 1 + 5 unpredictable + 16 token bytes (RFC 9000
	 * 10.3). An agent's PING is shorter than 43 bytes: answer it too, or an
	 * agent of the beamd before a restart waits for its idle timeout. */
	if (out < 1 + NGTCP2_MIN_STATELESS_RESET_RANDLEN + NGTCP2_STATELESS_RESET_TOKENLEN ||
	    !ep_stateless_ok(ep, QUIC_STATELESS_RESET))
		return;
	if (out > sizeof(buf))
		out = sizeof(buf);
	ngtcp2_cid_init(&dcid, vc->dcid, vc->dcidlen);
	if (ngtcp2_crypto_generate_stateless_reset_token(token, ep->reset_secret,
							 sizeof(ep->reset_secret), &dcid))
		return;
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return;
	n = ngtcp2_pkt_write_stateless_reset(buf, out, token, rnd,
					     out - NGTCP2_STATELESS_RESET_TOKENLEN - 1);
	if (n > 0)
		ep_send_raw(ep, in, buf, (size_t)n);
}

static void ep_send_retry(struct quic_ep *ep, const struct pktio_pkt *in, const ngtcp2_pkt_hd *hd)
{
	uint8_t token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN], buf[256];
	ngtcp2_ssize tlen, n;
	ngtcp2_cid scid;

	if (!ep_stateless_ok(ep, QUIC_STATELESS_RETRY) || cid_make(ep, &scid))
		return;
	tlen = ngtcp2_crypto_generate_retry_token(token, ep->secret, sizeof(ep->secret),
						  hd->version, &in->peer.sa, in->peer.len, &scid,
						  &hd->dcid, quic_now_ns());
	if (tlen < 0)
		return;
	n = ngtcp2_crypto_write_retry(buf, sizeof(buf), hd->version, &hd->scid, &scid, &hd->dcid,
				      token, (size_t)tlen);
	if (n > 0) {
		ep->retries_sent++;
		ep_send_raw(ep, in, buf, (size_t)n);
	}
}

/*
 * Under a flood of Initials every one costs a TLS handshake's worth of work
 * (RFC 9000 section 8.1): past cfg.retry_above handshakes in progress, new
 * clients first prove they own their address with a Retry, which costs us a
 * hash. Off again below half the threshold, so it does not flap.
 */
static bool ep_retry_for_load(struct quic_ep *ep)
{
	uint32_t above = ep->cfg.retry_above;

	if (!above)
		return false;
	if (!ep->retry_on && ep->handshaking >= above) {
		ep->retry_on = true;
		pr_warn("%u QUIC handshakes (threshold %u): new clients must pass a Retry first",
			ep->handshaking, above);
	} else if (ep->retry_on && ep->handshaking < above / 2) {
		ep->retry_on = false;
		pr_info("%u QUIC handshakes in progress: Retry for new clients off again",
			ep->handshaking);
	}
	return ep->retry_on;
}

static int conn_tls_server(struct quic_conn *c)
{
	c->ssl = wolfSSL_new(c->ep->cfg.tls);
	if (!c->ssl)
		return -ENOMEM;
	wolfSSL_set_app_data(c->ssl, &c->conn_ref);
	wolfSSL_set_accept_state(c->ssl);
	wolfSSL_set_quic_early_data_enabled(c->ssl, 1);
	ngtcp2_conn_set_tls_native_handle(c->conn, c->ssl);
	return 0;
}

static void ep_accept(struct quic_ep *ep, const struct pktio_pkt *p, const uint8_t *data,
		      size_t len)
{
	ngtcp2_transport_params tp;
	ngtcp2_cid scid, odcid;
	ngtcp2_callbacks cb;
	ngtcp2_settings st;
	struct quic_conn *c;
	ngtcp2_pkt_hd hd;
	ngtcp2_path path;
	bool retried = false;
	int rv;

	if (ngtcp2_accept(&hd, data, len))
		return;
	if (hd.tokenlen && hd.token[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY) {
		if (ngtcp2_crypto_verify_retry_token(&odcid, hd.token, hd.tokenlen, ep->secret,
						     sizeof(ep->secret), hd.version, &p->peer.sa,
						     p->peer.len, &hd.dcid, RETRY_TOKEN_TTL,
						     quic_now_ns())) {
			pr_info_rl("dropping a QUIC Initial with an invalid Retry token");
			return;
		}
		retried = true;
	} else if (ep->cfg.retry || ep_retry_for_load(ep)) {
		ep_send_retry(ep, p, &hd);
		return;
	}
	if (cid_make(ep, &scid))
		return;
	c = conn_alloc(ep, &p->local, &p->peer);
	if (!c)
		return;
	fill_callbacks(&cb, true);
	fill_settings(ep, &st, &tp);
	if (retried) {
		tp.original_dcid = odcid;
		tp.retry_scid = hd.dcid;
		tp.retry_scid_present = 1;
		st.token = hd.token;
		st.tokenlen = hd.tokenlen;
		st.token_type = NGTCP2_TOKEN_TYPE_RETRY;
	} else {
		tp.original_dcid = hd.dcid;
	}
	tp.original_dcid_present = 1;
	tp.stateless_reset_token_present = 1;
	ngtcp2_crypto_generate_stateless_reset_token(tp.stateless_reset_token, ep->reset_secret,
						     sizeof(ep->reset_secret), &scid);
	path_init(&path, &c->local, &c->peer);
	rv = ngtcp2_conn_server_new(&c->conn, &hd.scid, &scid, &path, hd.version, &cb, &st, &tp,
				    NULL, c);
	if (rv) {
		pr_warn_rl("failed to accept a QUIC connection: %s", ngtcp2_strerror(rv));
		goto err_free;
	}
	if (conn_tls_server(c) || cid_add(ep, &scid, c) || cid_add(ep, &hd.dcid, c))
		goto err_free;
	conn_keep_alive(c);
	c->counted_hs = 1;
	ep->handshaking++;
	if (ep->h.conn_new_cb)
		ep->h.conn_new_cb(c, ep->arg);
	conn_read(c, p, data, len);
	return;

err_free:
	if (c->conn) {
		conn_free(c);
		return;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		ep->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	event_free(c->timer);
	free(c);
}

static void ep_datagram(struct quic_ep *ep, const struct pktio_pkt *p, const uint8_t *data,
			size_t len)
{
	ngtcp2_version_cid vc;
	struct quic_conn *c;
	int rv;

	rv = ngtcp2_pkt_decode_version_cid(&vc, data, len, BEAM_CID_LEN);
	if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
		if (ep->cfg.server)
			ep_send_vn(ep, p, &vc);
		return;
	}
	if (rv)
		return;
	c = cid_find(ep, vc.dcid, vc.dcidlen);
	if (!c && !ep->cfg.server)
		c = ep->conns; /* a client has one connection; ngtcp2 checks the CID */
	if (c) {
		if (!(data[0] & 0x80) && vc.dcidlen <= NGTCP2_MAX_CIDLEN &&
		    (vc.dcidlen != c->used_cid_len || memcmp(c->used_cid, vc.dcid, vc.dcidlen))) {
			memcpy(c->used_cid, vc.dcid, vc.dcidlen);
			c->used_cid_len = (uint8_t)vc.dcidlen;
		}
		conn_read(c, p, data, len);
		return;
	}
	if (data[0] & 0x80)
		ep_accept(ep, p, data, len);
	else
		ep_send_reset(ep, p, &vc, len);
}

static void ep_after_batch(struct quic_ep *ep)
{
	while (ep->touched) {
		struct quic_conn *c = ep->touched;

		ep->touched = c->touched_next;
		c->touched = 0;
		if (!c->closing)
			conn_after_io(c);
	}
}

static void ep_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct quic_ep *ep = arg;
	int round, n, i;

	(void)fd;
	(void)what;
	for (round = 0; round < RX_ROUNDS; round++) {
		n = ep->io->ops->recv(ep->io, ep->rx, RX_BATCH);
		if (n == -ECONNREFUSED || n == -EHOSTUNREACH || n == -ENETUNREACH) {
			/* ICMP for a connected socket: the peer is down; QUIC's timers decide */
			pr_debug_rl("UDP peer unreachable: %s", strerror(-n));
			continue;
		}
		if (n <= 0) {
			if (n < 0)
				pr_warn_rl("failed to receive UDP datagrams: %s", strerror(-n));
			break;
		}
		for (i = 0; i < n; i++) {
			const struct pktio_pkt *p = &ep->rx[i];
			size_t seg = p->gso_size ? p->gso_size : p->len, off;

			if (p->xdp_rx_ns && ep->cfg.latency)
				hist_record(&ep->cfg.latency[BEAM_HIST_XDP_TO_USER],
					    quic_now_ns() - p->xdp_rx_ns);

			/* a GRO train: equal segments, the last may be shorter */
			for (off = 0; off < p->len; off += seg) {
				size_t l = p->len - off < seg ? p->len - off : seg;

				ep_datagram(ep, p, p->data + off, l);
			}
		}
		ep_after_batch(ep);
	}
	if (round == RX_ROUNDS)
		event_active(ep->rev, EV_READ, 0); /* more pending: come back after others */
}

static void ep_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct quic_ep *ep = arg;
	struct quic_conn *c, *next;

	(void)fd;
	(void)what;
	for (c = ep->conns; c; c = next) {
		next = c->next;
		if (!c->pending || c->closing)
			continue;
		if (conn_send_pending(c) == -EAGAIN)
			return;
		conn_after_io(c);
	}
	event_del(ep->wev);
}

/* ---- streams: dead TCP peers ------------------------------------------ */

/* Whether @s's TCP peer went silent (tcp_peer_silent); *@idle: nothing of
 * ours waits in the socket or in the stream. */
static bool stream_tcp_silent(struct quic_stream *s, uint32_t timeout_ms, bool *idle)
{
	bool acked, silent = tcp_peer_silent(s->fd, timeout_ms, &acked);

	*idle = acked && !s->writing;
	return silent;
}

/*
 * Every quarter of cfg.tcp_peer_timeout_ms: reset the streams whose TCP peer
 * has data outstanding and was silent at two sweeps in a row (one probe in
 * flight to a live peer is not enough). Idle sockets are keepalive's job;
 * a socket is looked at only after bytes were written to it.
 */
static void ep_tcp_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	uint32_t timeout_ms;
	struct quic_ep *ep = arg;
	struct quic_conn *c, *cn;

	(void)fd;
	(void)what;
	timeout_ms = ep->cfg.tcp_peer_timeout_ms;
	for (c = ep->conns; c; c = cn) {
		struct quic_stream *s, *sn;
		bool hit = false;

		cn = c->next;
		for (s = c->streams; s; s = sn) {
			bool idle;

			sn = s->all_next;
			if (s->fd < 0 || s->connecting || (!s->tcp_sent && !s->writing))
				continue;
			if (!stream_tcp_silent(s, timeout_ms, &idle)) {
				s->tcp_suspect = 0;
				if (idle)
					s->tcp_sent = 0;
				continue;
			}
			if (!s->tcp_suspect) {
				s->tcp_suspect = 1;
				continue;
			}
			pr_info_rl(
				"stream %lld: TCP peer acknowledged nothing in %u ms: resetting it",
				(long long)s->id, timeout_ms);
			s->tcp_failed = 1;
			stream_abort(s, PROTO_ERR_TCP_RESET);
			hit = true;
		}
		if (hit)
			conn_after_io(c);
	}
	tcp_tails_sweep(ep->tails, timeout_ms);
}

/* ---- endpoint: setup -------------------------------------------------- */

int quic_ep_new(struct quic_ep **out, struct event_base *base, struct pktio *io,
		const struct quic_ep_config *cfg, const struct quic_handlers *h, void *arg)
{
	struct quic_ep *ep;
	int fd = io->ops->fd(io);

	ep = calloc(1, sizeof(*ep));
	if (!ep) {
		io->ops->free(io);
		return -ENOMEM;
	}
	ep->base = base;
	ep->io = io;
	ep->cfg = *cfg;
	ep->h = *h;
	ep->arg = arg;
	if (!ep->cfg.idle_timeout_ms)
		ep->cfg.idle_timeout_ms = 30000;
	if (!ep->cfg.unresponsive_ms)
		ep->cfg.unresponsive_ms = 5000;
	if (!ep->cfg.max_streams_bidi)
		ep->cfg.max_streams_bidi = 1000000;
	if (!ep->cfg.stream_window)
		ep->cfg.stream_window = 1 << 20;
	if (!ep->cfg.stream_window_max)
		ep->cfg.stream_window_max = 16 << 20;
	if (!ep->cfg.conn_window_max)
		ep->cfg.conn_window_max = 64 << 20;
	if (!ep->cfg.sendbuf_max)
		ep->cfg.sendbuf_max = 4 << 20;
	if (!ep->cfg.stateless_rate)
		ep->cfg.stateless_rate = 1000;
	if (!ep->cfg.close_min_ms)
		ep->cfg.close_min_ms = 1000;
	if (ep->cfg.stateless_rate > 1000000000u)
		ep->cfg.stateless_rate = 1000000000u;
	ep->sl_last = quic_now_ns();
	ep->sl_credit = 1000000000ull;
	ep->cids = calloc(1u << CID_TABLE_BITS, sizeof(*ep->cids));
	ep->txbuf = malloc(TX_MAX_PKTS * TX_PKT_MAX);
	ep->rev = event_new(base, fd, EV_READ | EV_PERSIST, ep_read_cb, ep);
	ep->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, ep_write_cb, ep);
	if (!ep->cids || !ep->txbuf || !ep->rev || !ep->wev || tcp_tails_new(&ep->tails, base) ||
	    getrandom(ep->secret, sizeof(ep->secret), 0) != sizeof(ep->secret) ||
	    getrandom(ep->reset_secret, sizeof(ep->reset_secret), 0) != sizeof(ep->reset_secret) ||
	    getrandom(&ep->cid_seed, sizeof(ep->cid_seed), 0) != sizeof(ep->cid_seed)) {
		quic_ep_free(ep, 0);
		return -ENOMEM;
	}
	if (cfg->reset_secret)
		memcpy(ep->reset_secret, cfg->reset_secret, sizeof(ep->reset_secret));
	ep->cfg.reset_secret = NULL; /* the caller's memory */
	event_add(ep->rev, NULL);
	if (ep->cfg.tcp_peer_timeout_ms) {
		uint32_t period = ep->cfg.tcp_peer_timeout_ms / 4;
		struct timeval tv = {.tv_sec = period / 1000, .tv_usec = (period % 1000) * 1000};

		ep->tcp_sweep = event_new(base, -1, EV_PERSIST, ep_tcp_sweep_cb, ep);
		if (!ep->tcp_sweep) {
			quic_ep_free(ep, 0);
			return -ENOMEM;
		}
		event_add(ep->tcp_sweep, &tv);
	}
	*out = ep;
	return 0;
}

void quic_ep_free(struct quic_ep *ep, uint64_t app_code)
{
	size_t i;

	if (!ep)
		return;
	ep->freeing = true;
	while (ep->conns) {
		struct quic_conn *c = ep->conns;

		if (c->lingering) {
			conn_free(c);
			continue;
		}
		if (!c->closing) {
			quic_conn_close(c, app_code, "shutdown");
			/* no closing period follows to repeat it: two more copies now, so
			 * one lost packet does not leave the peer waiting for its idle timeout */
			for (i = 0; i < 2 && c->close_pkt && !c->pending; i++)
				conn_send(c, ngtcp2_conn_get_path(c->conn), 0, c->close_pkt,
					  c->close_pkt_len, c->close_pkt_len);
		}
		conn_finalize(c);
	}
	if (ep->cids) {
		for (i = 0; i < (1u << CID_TABLE_BITS); i++) {
			while (ep->cids[i]) {
				struct cid_entry *e = ep->cids[i];

				ep->cids[i] = e->next;
				free(e);
			}
		}
	}
	while (ep->pool) {
		struct chunk *k = ep->pool;

		ep->pool = k->next;
		free(k);
	}
	if (ep->rev)
		event_free(ep->rev);
	if (ep->wev)
		event_free(ep->wev);
	if (ep->tcp_sweep)
		event_free(ep->tcp_sweep);
	tcp_tails_free(ep->tails);
	if (ep->io)
		ep->io->ops->free(ep->io);
	free(ep->cids);
	free(ep->txbuf);
	free(ep);
}

/* Up to @cap bytes of @x's names: its subject CN and its DNS and IP SANs. */
static void cert_names(WOLFSSL_X509 *x, char *buf, size_t cap)
{
	const char *cn = x ? wolfSSL_X509_get_subjectCN(x) : NULL;
	size_t len = 0;
	char *alt;
	int i;

	buf[0] = 0;
	if (!x)
		return;
	if (cn && *cn)
		len += (size_t)snprintf(buf, cap, "CN %s", cn);
	for (i = 0; i < 8 && len < cap && (alt = wolfSSL_X509_get_next_altname(x)); i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", alt);
	if (!len)
		snprintf(buf, cap, "no names");
}

/*
 * Client with TLS_VERIFY_CA: wolfSSL calls this for each certificate of the
 * chain. On the first failure say why (the names it carries when it is the
 * wrong host), and mark the connection so its close reports -EKEYREJECTED.
 */
static int verify_cb(int ok, WOLFSSL_X509_STORE_CTX *st)
{
	struct quic_conn *c = st ? st->userCtx : NULL;
	const unsigned char *der = NULL;
	WOLFSSL_CERT_MANAGER *cm;
	WOLFSSL_X509 *x;
	char names[256];
	int e, len = 0;

	if (ok || !c || c->cert_failed)
		return ok;
	c->cert_failed = 1;
	e = st->error;
	x = wolfSSL_X509_STORE_CTX_get_current_cert(st);
	cert_names(x, names, sizeof(names));
	/* wolfSSL reports a wrong name over an unknown signer: with a lone leaf
	 * certificate ask the CA store itself, the deeper problem goes first */
	if ((e == DOMAIN_NAME_MISMATCH || e == IPADDR_MISMATCH) && st->totalCerts <= 1 && x &&
	    (cm = wolfSSL_CTX_GetCertManager(c->ep->cfg.tls)) &&
	    (der = wolfSSL_X509_get_der(x, &len)) && len > 0 &&
	    wolfSSL_CertManagerVerifyBuffer(cm, der, len, WOLFSSL_FILETYPE_ASN1) == ASN_NO_SIGNER_E)
		e = ASN_NO_SIGNER_E;
	switch (e) {
	case DOMAIN_NAME_MISMATCH:
	case IPADDR_MISMATCH:
		pr_err("edge certificate (%s) is not for '%s': refusing the edge", names,
		       c->ep->cfg.sni ? c->ep->cfg.sni : "");
		break;
	case ASN_NO_SIGNER_E:
		pr_err("edge certificate (%s) is not signed by a CA of --ca: refusing the edge",
		       names);
		break;
	case ASN_SELF_SIGNED_E:
		pr_err("edge certificate (%s) is self-signed, not by a CA of --ca: refusing it",
		       names);
		break;
	case ASN_AFTER_DATE_E:
		pr_err("edge certificate (%s) has expired: refusing the edge", names);
		break;
	case ASN_BEFORE_DATE_E:
		pr_err("edge certificate (%s) is not valid yet: refusing the edge", names);
		break;
	default:
		pr_err("edge certificate (%s) did not verify: %s (wolfSSL %d): refusing the edge",
		       names, wolfSSL_ERR_reason_error_string((unsigned long)e), e);
		break;
	}
	return 0;
}

static int conn_tls_client(struct quic_conn *c, const struct quic_resume *r)
{
	static const unsigned char alpn[] = "\x06" PROTO_ALPN;
	struct quic_ep *ep = c->ep;
	const char *sni = ep->cfg.sni ? ep->cfg.sni : "beamd";

	c->ssl = wolfSSL_new(ep->cfg.tls);
	if (!c->ssl)
		return -ENOMEM;
	wolfSSL_set_app_data(c->ssl, &c->conn_ref);
	wolfSSL_set_connect_state(c->ssl);
	wolfSSL_set_alpn_protos(c->ssl, alpn, sizeof(alpn) - 1);
	wolfSSL_UseSNI(c->ssl, WOLFSSL_SNI_HOST_NAME, sni, (unsigned short)strlen(sni));
	if (ep->cfg.verify == TLS_VERIFY_CA) {
		wolfSSL_set_verify(c->ssl, WOLFSSL_VERIFY_PEER, verify_cb);
		wolfSSL_SetCertCbCtx(c->ssl, c);
		if (ep->cfg.sni)
			wolfSSL_check_domain_name(c->ssl, ep->cfg.sni);
	}
	wolfSSL_set_quic_transport_version(c->ssl, 0x39);
	wolfSSL_UseSessionTicket(c->ssl);
	if (r && r->session && wolfSSL_set_session(c->ssl, r->session) == WOLFSSL_SUCCESS &&
	    wolfSSL_SESSION_get_max_early_data(r->session) && r->tp_len &&
	    !ngtcp2_conn_decode_and_set_0rtt_transport_params(c->conn, r->tp, r->tp_len))
		wolfSSL_set_quic_early_data_enabled(c->ssl, 1);
	ngtcp2_conn_set_tls_native_handle(c->conn, c->ssl);
	return 0;
}

int quic_ep_connect(struct quic_ep *ep, const struct pktio_addr *local,
		    const struct pktio_addr *remote, const struct quic_resume *resume,
		    struct quic_conn **out)
{
	ngtcp2_transport_params tp;
	ngtcp2_cid scid, dcid;
	ngtcp2_callbacks cb;
	ngtcp2_settings st;
	struct quic_conn *c;
	ngtcp2_path path;
	uint8_t rnd[BEAM_CID_LEN];
	int rv;

	if (cid_make(ep, &scid) || getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -EIO;
	ngtcp2_cid_init(&dcid, rnd, sizeof(rnd));
	c = conn_alloc(ep, local, remote);
	if (!c)
		return -ENOMEM;
	fill_callbacks(&cb, false);
	fill_settings(ep, &st, &tp);
	path_init(&path, &c->local, &c->peer);
	rv = ngtcp2_conn_client_new(&c->conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb, &st,
				    &tp, NULL, c);
	if (rv) {
		pr_err("failed to start a QUIC connection: %s", ngtcp2_strerror(rv));
		conn_schedule_finalize(c, -EIO, 0);
		return -EIO;
	}
	conn_keep_alive(c);
	if (conn_tls_client(c, resume)) {
		conn_schedule_finalize(c, -ENOMEM, 0);
		return -ENOMEM;
	}
	*out = c;
	conn_write(c);
	return 0;
}

struct quic_resume *quic_conn_take_resume(struct quic_conn *c)
{
	struct quic_resume *r;
	ngtcp2_ssize n;

	if (!c->ssl || !c->handshake_done)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->session = wolfSSL_get1_session(c->ssl);
	n = ngtcp2_conn_encode_0rtt_transport_params(c->conn, r->tp, sizeof(r->tp));
	if (!r->session || n <= 0) {
		quic_resume_free(r);
		return NULL;
	}
	r->tp_len = (size_t)n;
	return r;
}

#define RESUME_MAGIC "BEAMRES1"

int quic_resume_save(const struct quic_resume *r, const char *path)
{
	unsigned char *der = NULL;
	char tmp[PATH_MAX];
	uint8_t hdr[16];
	int len, fd, err = 0;

	len = wolfSSL_i2d_SSL_SESSION(r->session, &der);
	if (len <= 0 || len > 65535 || r->tp_len > sizeof(r->tp))
		return -EINVAL;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		err = -ENAMETOOLONG;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	memcpy(hdr, RESUME_MAGIC, 8);
	hdr[8] = (uint8_t)(r->tp_len >> 8);
	hdr[9] = (uint8_t)r->tp_len;
	hdr[10] = (uint8_t)(len >> 8);
	hdr[11] = (uint8_t)len;
	memset(hdr + 12, 0, 4);
	if (write(fd, hdr, sizeof(hdr)) != sizeof(hdr) ||
	    write(fd, r->tp, r->tp_len) != (ssize_t)r->tp_len || write(fd, der, (size_t)len) != len)
		err = -EIO;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
out:
	if (der)
		wolfSSL_OPENSSL_free(der);
	return err;
}

int quic_resume_load(const char *path, struct quic_resume **out)
{
	uint8_t buf[16 + 256 + 65536];
	const unsigned char *p;
	struct quic_resume *r;
	size_t tp_len, der_len;
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || (st.st_mode & (S_IROTH | S_IWOTH))) {
		close(fd);
		return -EPERM;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 16 || memcmp(buf, RESUME_MAGIC, 8))
		return -EBADMSG;
	tp_len = (size_t)buf[8] << 8 | buf[9];
	der_len = (size_t)buf[10] << 8 | buf[11];
	if (tp_len > sizeof(r->tp) || 16 + tp_len + der_len != (size_t)n)
		return -EBADMSG;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	memcpy(r->tp, buf + 16, tp_len);
	r->tp_len = tp_len;
	p = buf + 16 + tp_len;
	r->session = wolfSSL_d2i_SSL_SESSION(NULL, &p, (long)der_len);
	if (!r->session) {
		free(r);
		return -EBADMSG;
	}
	*out = r;
	return 0;
}

void quic_resume_free(struct quic_resume *r)
{
	if (!r)
		return;
	if (r->session)
		wolfSSL_SESSION_free(r->session);
	free(r);
}

bool quic_conn_early_accepted(struct quic_conn *c)
{
	return c->ssl && !c->early_rejected &&
	       wolfSSL_get_early_data_status(c->ssl) == WOLFSSL_EARLY_DATA_ACCEPTED;
}

void quic_conn_flush(struct quic_conn *c)
{
	if (c->closing)
		return;
	if (c->in_read || c->in_write) {
		ep_touch(c->ep, c); /* written after the receive batch */
		return;
	}
	conn_after_io(c);
}

int quic_conn_send_datagram(struct quic_conn *c, const void *data, size_t len)
{
	const ngtcp2_transport_params *tp;
	struct dgram *d;

	if (c->closing || !c->handshake_done)
		return -ENOTCONN;
	tp = ngtcp2_conn_get_remote_transport_params(c->conn);
	if (!tp || !tp->max_datagram_frame_size)
		return -EOPNOTSUPP;
	if (len > quic_conn_datagram_max(c))
		return -EMSGSIZE;
	if (c->dgq_len >= DGRAM_QUEUE_MAX)
		return -ENOBUFS;
	d = malloc(sizeof(*d) + len);
	if (!d)
		return -ENOMEM;
	d->next = NULL;
	d->len = len;
	memcpy(d->data, data, len);
	if (c->dgq_tail)
		c->dgq_tail->next = d;
	else
		c->dgq_head = d;
	c->dgq_tail = d;
	c->dgq_len++;
	return 0;
}

size_t quic_conn_datagram_max(struct quic_conn *c)
{
	const ngtcp2_transport_params *tp = ngtcp2_conn_get_remote_transport_params(c->conn);
	size_t path = ngtcp2_conn_get_path_max_tx_udp_payload_size(c->conn);
	size_t max = pmtu_limit(&c->pmtu, path > TX_PKT_MAX ? TX_PKT_MAX : path);

	max = max > DGRAM_OVERHEAD ? max - DGRAM_OVERHEAD : 0;
	if (!tp || !tp->max_datagram_frame_size)
		return 0;
	/* the peer's limit counts the frame's type and length too */
	if (tp->max_datagram_frame_size < max + 9)
		max = tp->max_datagram_frame_size > 9 ? (size_t)tp->max_datagram_frame_size - 9 : 0;
	return max;
}

void quic_conn_set_user(struct quic_conn *c, void *user)
{
	c->user = user;
}

void *quic_conn_user(struct quic_conn *c)
{
	return c->user;
}

const struct pktio_addr *quic_conn_peer(struct quic_conn *c)
{
	return &c->peer;
}

bool quic_conn_handshake_done(struct quic_conn *c)
{
	return c->handshake_done;
}

struct quic_conn_stats *quic_conn_stats(struct quic_conn *c)
{
	return &c->stats;
}

uint64_t quic_conn_pto_ns(struct quic_conn *c)
{
	return ngtcp2_conn_get_pto(c->conn);
}

enum beam_conn_state quic_conn_state(struct quic_conn *c)
{
	if (ngtcp2_conn_in_draining_period(c->conn))
		return BEAM_CONN_DRAINING;
	if (c->closing || ngtcp2_conn_in_closing_period(c->conn))
		return BEAM_CONN_CLOSING;
	return c->handshake_done ? BEAM_CONN_ESTABLISHED : BEAM_CONN_HANDSHAKE;
}

int quic_conn_cid(struct quic_conn *c, struct beam_cid *out)
{
	ngtcp2_cid stack[8], *scids = stack;
	size_t n;

	/* The one the peer sends to now, as XDP sees it in `flows`. */
	if (c->used_cid_len) {
		memset(out, 0, sizeof(*out));
		out->len = c->used_cid_len < BEAM_CID_MAX_LEN ? c->used_cid_len : BEAM_CID_MAX_LEN;
		memcpy(out->data, c->used_cid, out->len);
		return 0;
	}
	/* Before any short-header packet: the oldest ID we issued still in use
	 * (the client's initial DCID is its own choice, never ours). */
	n = ngtcp2_conn_get_scid(c->conn, NULL);
	if (!n)
		return -ENOENT;
	if (n > 8) {
		scids = calloc(n, sizeof(*scids));
		if (!scids)
			return -ENOMEM;
	}
	ngtcp2_conn_get_scid(c->conn, scids);
	memset(out, 0, sizeof(*out));
	out->len = (uint8_t)(scids[0].datalen < BEAM_CID_MAX_LEN ? scids[0].datalen
								 : BEAM_CID_MAX_LEN);
	memcpy(out->data, scids[0].data, out->len);
	if (scids != stack)
		free(scids);
	return 0;
}

void quic_stream_set_bytes(struct quic_stream *s, struct quic_bytes *b)
{
	s->bytes = b;
}

void quic_conn_forget_bytes(struct quic_conn *c, const struct quic_bytes *b)
{
	struct quic_stream *s;

	for (s = c->streams; s; s = s->all_next)
		if (s->bytes == b)
			s->bytes = NULL;
}

void quic_stream_handoff_on_abort(struct quic_stream *s)
{
	s->abort_handoff = 1;
}

void quic_stream_set_user(struct quic_stream *s, void *user)
{
	s->user = user;
}

void *quic_stream_user(struct quic_stream *s)
{
	return s->user;
}

int64_t quic_stream_id(struct quic_stream *s)
{
	return s->id;
}

struct quic_conn *quic_stream_conn(struct quic_stream *s)
{
	return s->c;
}

uint64_t quic_ep_buffer_bytes(const struct quic_ep *ep)
{
	struct tcp_tails_stats ts;

	tcp_tails_stats(ep->tails, &ts);
	return ep->chunks_out * sizeof(struct chunk) + ts.bytes;
}

void quic_ep_tails(const struct quic_ep *ep, struct tcp_tails_stats *out)
{
	tcp_tails_stats(ep->tails, out);
}

void quic_ep_stateless_limited(const struct quic_ep *ep, uint64_t out[QUIC_STATELESS__MAX])
{
	memcpy(out, ep->sl_limited, sizeof(ep->sl_limited));
}

uint64_t quic_ep_pmtu_black_holes(const struct quic_ep *ep)
{
	return ep->pmtu_black_holes;
}

void quic_ep_closing_state(const struct quic_ep *ep, uint32_t *closing, uint32_t *draining,
			   uint64_t *repeated)
{
	*closing = ep->lingering - ep->lingering_drain;
	*draining = ep->lingering_drain;
	*repeated = ep->closes_repeated;
}

void quic_ep_retry_state(struct quic_ep *ep, bool *active, uint64_t *sent, uint32_t *handshaking)
{
	/* the flood may have stopped: no Initial comes to switch Retry off */
	if (ep->retry_on)
		ep_retry_for_load(ep);
	*active = ep->retry_on || ep->cfg.retry;
	*sent = ep->retries_sent;
	*handshaking = ep->handshaking;
}
