/* SPDX-License-Identifier: MIT */
/*
 * tunnel.h - the edge side of beam/1: agent sessions (one per QUIC
 * connection), authentication by token, the tunnel registry, public TCP
 * listeners, and the grace period that keeps a port for an agent that went
 * away. Each public TCP connection becomes one QUIC stream to the agent.
 *
 * beamd runs one edge per worker thread, each on its own loop; they share
 * the registry and the limits' counts through an edge_hub (edge_hub.h) and
 * hand tunnels and public connections to each other through its inboxes.
 * An edge and everything it owns is touched only by its own thread.
 */
#ifndef BEAM_TUNNEL_H
#define BEAM_TUNNEL_H

#include "edge_limits.h"
#include "pktio.h"

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct tokens;
struct WOLFSSL_CTX;
struct edge;
struct daemon_maps;
struct edge_stats_pub;
struct edge_hub;

struct edge_config {
	struct pktio_addr listen;      /* QUIC (UDP) address */
	struct pktio_addr public_bind; /* where public listeners bind (port ignored) */
	struct pktio_addr http_listen; /* the one public HTTP listener; len 0: none */
	struct tokens *tokens;	       /* the caller's; beamd swaps its entries on SIGHUP */
	struct WOLFSSL_CTX *tls;       /* owned by the caller */
	unsigned int grace_s;	       /* keep a gone agent's ports this long */
	unsigned int idle_timeout_s;
	unsigned int unresponsive_s; /* close when an agent answers nothing this long while
				      * data waits (0: only the idle timeout) */
	int retry;		     /* Retry before every new connection */
	unsigned int retry_above;    /* Retry new clients past this many handshakes (0: never) */
	unsigned int stateless_rate; /* Retry + VN + stateless resets per second (0: 1000) */
	uint8_t worker_id;	     /* this worker's id (in its CIDs), < the hub's workers */
	/* shared by the workers; NULL: a lone edge makes its own */
	struct edge_hub *hub;
	bool reuseport;		    /* several workers share the QUIC and http ports */
	struct daemon_maps *maps;   /* conns and latency maps, or NULL */
	struct edge_stats_pub *pub; /* where counts go for /metrics, or NULL */
	const char *xdp_ifname;	    /* --xdp: AF_XDP on this interface, else NULL */
	const char *pin_root;	    /* where beam's XDP pins live (NULL: default) */
	struct edge_limits limits;  /* 0 for a limit: its default */
	/* QUIC_RESET_SECRET_LEN bytes for stateless reset tokens, the same in
	 * every worker and (with --key) after a restart; NULL: random */
	const uint8_t *reset_secret;
};

/* Start the edge in @base. Returns 0 or -errno after a message. */
int edge_new(struct edge **out, struct event_base *base, const struct edge_config *cfg);

/* The UDP address the edge listens on (the port filled in after binding port 0). */
void edge_local(const struct edge *e, struct pktio_addr *out);

/* The address of the public HTTP listener (the port filled in), if any. */
void edge_http_local(const struct edge *e, struct pktio_addr *out);

/* The edge's QUIC UDP socket (owned by the edge), for the sk_reuseport map. */
int edge_udp_fd(const struct edge *e);

/* Close every agent connection (GOAWAY semantics: app code SHUTDOWN) and listener. */
void edge_free(struct edge *e);

#endif /* BEAM_TUNNEL_H */
