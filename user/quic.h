/* SPDX-License-Identifier: MIT */
/*
 * quic.h - beam's QUIC engine: ngtcp2 + wolfSSL over a struct pktio.
 *
 * An endpoint (struct quic_ep) owns one pktio, its libevent events, the
 * connections on it and a table of the connection IDs it issued. A stream
 * is either a message stream (its bytes go to the owner's stream_data_cb:
 * the control stream, and a data stream until its header is read) or
 * bridged to a TCP socket: bytes are carried both ways with flow control
 * tied to the socket (reading stops while the send buffer is full, QUIC
 * credit is returned only as bytes reach the socket), FIN maps to FIN, a
 * reset to a reset.
 *
 * ngtcp2 and wolfSSL error codes stay in quic.c; callers see -errno.
 */
#ifndef BEAM_QUIC_H
#define BEAM_QUIC_H

#include "beam_maps.h"
#include "pktio.h"
#include "tls.h"

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct quic_ep;
struct quic_conn;
struct quic_stream;
struct tcp_tails_stats;

/* Per-connection counters for metrics (issue #5 reads these). */
struct quic_conn_stats {
	uint64_t created_ns;   /* CLOCK_MONOTONIC */
	uint64_t handshake_ns; /* handshake duration, 0 until done */
	uint64_t bytes_in;     /* UDP payload bytes received */
	uint64_t bytes_out;    /* UDP payload bytes sent */
	uint64_t pkts_in;
	uint64_t pkts_out;
	uint64_t streams_open;	 /* currently open */
	uint64_t streams_total;	 /* opened since start */
	uint64_t streams_ok;	 /* closed cleanly */
	uint64_t streams_reset;	 /* closed by a reset either way */
	uint64_t srtt_ns;	 /* smoothed RTT, refreshed on each write */
	uint64_t latest_rtt_ns;	 /* the last RTT sample, refreshed on each write */
	uint64_t last_rx_ns;	 /* when the last packet arrived */
	uint64_t ttfb_ns_sum;	 /* sum over streams: open to first byte back */
	uint64_t stream_ns_sum;	 /* sum over closed streams: lifetime */
	uint64_t dgrams_in;	 /* DATAGRAM frames received */
	uint64_t dgrams_out;	 /* DATAGRAM frames sent */
	uint64_t dgrams_dropped; /* queued, then refused by the peer's limits */
	uint64_t pmtu_holes;	 /* path MTU black holes: fell back to 1200 bytes */
	uint32_t tunnels;	 /* set by the owner */
};

/* Bytes a stream carried, added to by the engine as they move (see
 * quic_stream_set_bytes). */
struct quic_bytes {
	uint64_t rx; /* received from the peer */
	uint64_t tx; /* read from the bridged TCP socket, to the peer */
};

struct quic_handlers {
	/* A message stream got bytes. Return how many were consumed (all, unless
	 * the stream was bridged during the call: the rest then goes to TCP), or
	 * -errno to reset the stream with PROTO_ERR_MALFORMED. */
	int (*stream_data_cb)(struct quic_conn *c, struct quic_stream *s, const uint8_t *data,
			      size_t len, bool fin, bool early, void *arg);
	/* The peer opened stream @s. Return 0, or -errno to refuse it. */
	int (*stream_open_cb)(struct quic_conn *c, struct quic_stream *s, void *arg);
	/* @s is closing (both ways done or reset); it is freed after the call.
	 * @app_err is the reset code, 0 for a clean close. */
	void (*stream_close_cb)(struct quic_conn *c, struct quic_stream *s, uint64_t app_err,
				void *arg);
	/* Server: a new connection was accepted. */
	void (*conn_new_cb)(struct quic_conn *c, void *arg);
	/* The handshake finished (the client has checked the edge's certificate). */
	void (*handshake_cb)(struct quic_conn *c, void *arg);
	/* The connection is gone (@err -errno: -EKEYREJECTED when the client
	 * refused the peer's certificate, after a message saying why; @app_code
	 * when the peer closed with one); it is freed after the call. */
	void (*conn_close_cb)(struct quic_conn *c, int err, uint64_t app_code, void *arg);
	/* The peer raised our stream limit: quic_stream_open may work again. */
	void (*streams_cb)(struct quic_conn *c, void *arg);
	/* Client: 0-RTT was rejected; streams opened before were dropped. */
	void (*early_rejected_cb)(struct quic_conn *c, void *arg);
	/* A DATAGRAM frame arrived (RFC 9221; only with quic_ep_config.datagrams).
	 * Called while the packet is read: send no QUIC data from here. */
	void (*datagram_cb)(struct quic_conn *c, const uint8_t *data, size_t len, void *arg);
	/* A stream marked with quic_stream_handoff_on_abort() ended (reset,
	 * its connection died, or the peer's FIN) before any byte reached its
	 * TCP peer, and not because that socket failed: the callee owns the
	 * socket @fd, to answer its peer and close it. Without this handler such
	 * a socket is reset (or shut) like any other. */
	void (*tcp_abort_cb)(struct quic_conn *c, int fd, void *arg);
};

#define QUIC_RESET_SECRET_LEN 32

struct quic_ep_config {
	bool server;
	uint8_t worker_id;	  /* octet 1 of every CID we issue */
	uint64_t idle_timeout_ms; /* 0: 30 s */
	/* Close a connection whose peer answered nothing for this long while
	 * ack-eliciting data waited for it (a live peer answers within one
	 * round trip plus its ack delay; PTO probes ask again). Never sooner
	 * than six PTOs, so a long path is not mistaken for a dead one.
	 * 0: 5000; UINT32_MAX: only the idle timeout. */
	uint32_t unresponsive_ms;
	bool retry;		    /* server: Retry every new client first */
	uint32_t retry_above;	    /* server: Retry new clients while this many
				     * handshakes are in progress (0: never) */
	uint32_t stateless_rate;    /* server: Retry, Version Negotiation and stateless
				     * reset packets per second, all together (0: 1000) */
	uint32_t close_min_ms;	    /* server: closing and draining periods last three
				     * PTOs, and at least this (0: 1000) */
	struct WOLFSSL_CTX *tls;    /* owned by the caller, outlives the endpoint */
	enum tls_verify verify;	    /* client */
	uint8_t pin[TLS_FP_LEN];    /* client, TLS_VERIFY_PIN */
	const char *sni;	    /* client: name checked with TLS_VERIFY_CA */
	uint64_t max_streams_bidi;  /* streams the peer may open (0: 1,000,000) */
	uint64_t stream_window;	    /* initial per-stream window (0: 1 MiB) */
	uint64_t stream_window_max; /* auto-tuned limit (0: 16 MiB) */
	uint64_t conn_window_max;   /* (0: 64 MiB) */
	uint64_t sendbuf_max;	    /* bytes read from TCP not yet acked (0: 4 MiB) */
	bool datagrams;		    /* accept DATAGRAM frames (max_datagram_frame_size) */
	/* Reset a stream whose TCP peer acknowledged nothing this long while it
	 * had bytes outstanding (probes or retransmissions unanswered); a peer
	 * that only stopped reading is kept. 0: never. */
	uint32_t tcp_peer_timeout_ms;
	/* Server: QUIC_RESET_SECRET_LEN bytes the stateless reset tokens derive
	 * from (copied). The same secret after a restart lets beamd reset the
	 * connections of the beamd before it at once. NULL: random. */
	const uint8_t *reset_secret;
	/* Server: BEAM_HIST__MAX histograms (the mmapped `latency` map) the engine
	 * records handshake, time-to-first-byte, stream lifetime and XDP-to-user
	 * samples into; NULL records nothing. Outlives the endpoint. */
	struct beam_hist *latency;
};

/*
 * Create an endpoint on @io (ownership of @io passes to the endpoint) in
 * @base. Returns 0 or -errno.
 */
int quic_ep_new(struct quic_ep **out, struct event_base *base, struct pktio *io,
		const struct quic_ep_config *cfg, const struct quic_handlers *h, void *arg);

/* Server: whether new clients get a Retry now (switched off here once the
 * load has gone), Retries sent so far, handshakes in progress. */
void quic_ep_retry_state(struct quic_ep *ep, bool *active, uint64_t *sent, uint32_t *handshaking);

/* Packets a stranger can make the endpoint send without a connection. */
enum quic_stateless {
	QUIC_STATELESS_RETRY,
	QUIC_STATELESS_VN,
	QUIC_STATELESS_RESET,
	QUIC_STATELESS__MAX,
};

/* How many of each were not sent because of quic_ep_config.stateless_rate. */
void quic_ep_stateless_limited(const struct quic_ep *ep, uint64_t out[QUIC_STATELESS__MAX]);

/* How often a connection of @ep found a path MTU black hole and fell back to
 * 1200-byte packets (pmtu.h), since @ep was made. */
uint64_t quic_ep_pmtu_black_holes(const struct quic_ep *ep);
/* the sockets of streams that outlived their connection (tcp_tail.h) */
void quic_ep_tails(const struct quic_ep *ep, struct tcp_tails_stats *out);

/* Bytes of stream buffers (to TCP and to QUIC) the endpoint holds now. */
uint64_t quic_ep_buffer_bytes(const struct quic_ep *ep);
/* Connections closed for the application but still in their closing or
 * draining period (RFC 9000 10.2), and how often a close was sent again. */
void quic_ep_closing_state(const struct quic_ep *ep, uint32_t *closing, uint32_t *draining,
			   uint64_t *repeated);

/* Close every connection (CONNECTION_CLOSE with @app_code), free all. Accepts NULL. */
void quic_ep_free(struct quic_ep *ep, uint64_t app_code);

/* Session state a client keeps to resume with 0-RTT. */
struct quic_resume;
void quic_resume_free(struct quic_resume *r);

/*
 * Client: start a connection to @remote from the endpoint's socket address
 * @local. With @resume (from quic_conn_take_resume of an earlier connection)
 * the handshake resumes and 0-RTT is allowed. Returns 0 or -errno.
 */
int quic_ep_connect(struct quic_ep *ep, const struct pktio_addr *local,
		    const struct pktio_addr *remote, const struct quic_resume *resume,
		    struct quic_conn **out);

/*
 * Save @r to @path (mode 0600, replaced atomically) / load it back, so a new
 * agent process can resume too. The file holds a resumption secret: loading
 * refuses a file others can read (-EPERM). Returns 0 or -errno; a file that
 * does not parse is -EBADMSG.
 */
int quic_resume_save(const struct quic_resume *r, const char *path);
int quic_resume_load(const char *path, struct quic_resume **out);

/* Client: what to keep for the next connection (NULL when no ticket came). */
struct quic_resume *quic_conn_take_resume(struct quic_conn *c);

/* Whether the handshake of @c resumed and its 0-RTT data was accepted. */
bool quic_conn_early_accepted(struct quic_conn *c);

/* Close @c with @app_code; conn_close_cb runs from the event loop later. */
void quic_conn_close(struct quic_conn *c, uint64_t app_code, const char *reason);

void quic_conn_set_user(struct quic_conn *c, void *user);
void *quic_conn_user(struct quic_conn *c);
const struct pktio_addr *quic_conn_peer(struct quic_conn *c);
bool quic_conn_handshake_done(struct quic_conn *c);
struct quic_conn_stats *quic_conn_stats(struct quic_conn *c);

/* The current probe timeout of @c (RFC 9002 section 6.2.1), in nanoseconds. */
uint64_t quic_conn_pto_ns(struct quic_conn *c);

/* Where @c is: handshake, established, draining or closing (enum beam_conn_state). */
enum beam_conn_state quic_conn_state(struct quic_conn *c);

/*
 * The connection ID of @c that the peer sends to now (the DCID of its last
 * short-header packet, one this side issued), else the oldest one this side
 * issued: the key of the `conns` map on the edge, the DCID XDP records in
 * `flows`. It changes when the peer switches IDs. Returns 0, or -ENOENT.
 */
int quic_conn_cid(struct quic_conn *c, struct beam_cid *out);

/*
 * Open a bidirectional stream on @c. Returns 0 and the stream in *@out,
 * -EAGAIN when the peer's stream limit is reached (streams_cb says when to
 * retry), or another -errno.
 */
int quic_stream_open(struct quic_conn *c, struct quic_stream **out);

/*
 * Queue @len bytes on @s (copied), with @fin after them. Message streams and
 * the header of a data stream use this. Returns 0 or -errno (-EPIPE once FIN
 * was queued).
 */
int quic_stream_write(struct quic_stream *s, const void *data, size_t len, bool fin);

/*
 * Bridge @s to the TCP socket @fd (non-blocking; the stream owns it from now
 * on, also on failure). With @connecting the socket's connect() is in
 * progress: nothing is written to it until it completes, and a refusal
 * resets the stream with PROTO_ERR_CONN_REFUSED. Returns 0 or -errno.
 */
int quic_stream_attach_tcp(struct quic_stream *s, int fd, bool connecting);

/*
 * Queue @len bytes of our own (a PROXY protocol header) for the TCP socket
 * just bridged to @s, ahead of everything the peer sends; they take no
 * flow-control credit. Call right after quic_stream_attach_tcp(), before
 * the stream's data callback returns. Returns 0, -EINVAL (no socket, or
 * peer bytes already queued) or -ENOMEM.
 */
int quic_stream_tcp_prefix(struct quic_stream *s, const void *data, size_t len);

/* Reset @s both ways with @code; a bridged socket is reset too. */
void quic_stream_reset(struct quic_stream *s, uint64_t code);

/* Count the bytes @s carries into @b from now on (NULL stops); @b must
 * outlive the stream or be unset in stream_close_cb. */
void quic_stream_set_bytes(struct quic_stream *s, struct quic_bytes *b);

/* Stop every stream of @c from counting into @b (its owner is going away). */
void quic_conn_forget_bytes(struct quic_conn *c, const struct quic_bytes *b);

/* If @s ends before its TCP peer got a byte, give the socket to
 * quic_handlers.tcp_abort_cb instead of resetting or shutting it. */
void quic_stream_handoff_on_abort(struct quic_stream *s);
void quic_stream_set_user(struct quic_stream *s, void *user);
void *quic_stream_user(struct quic_stream *s);
int64_t quic_stream_id(struct quic_stream *s);
struct quic_conn *quic_stream_conn(struct quic_stream *s);

/*
 * Queue @len bytes as one DATAGRAM frame on @c (copied; unreliable: it may be
 * lost on the way and is never sent again); quic_conn_flush() after a burst
 * sends them, equal sizes in one GSO train. Returns 0, or -ENOTCONN before
 * the handshake is done or while closing, -EOPNOTSUPP when the peer takes
 * no datagrams, -EMSGSIZE when @len exceeds quic_conn_datagram_max(),
 * -ENOBUFS when the queue is full, -ENOMEM.
 */
int quic_conn_send_datagram(struct quic_conn *c, const void *data, size_t len);

/* The largest datagram payload that fits one packet on @c's path now (0: none). */
size_t quic_conn_datagram_max(struct quic_conn *c);

/* Process pending writes of @c now (after a burst of quic_stream_write). */
void quic_conn_flush(struct quic_conn *c);

/* Current time, CLOCK_MONOTONIC in ns. */
uint64_t quic_now_ns(void);

#endif /* BEAM_QUIC_H */
