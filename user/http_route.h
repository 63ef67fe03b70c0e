/* SPDX-License-Identifier: MIT */
/*
 * http_route.h - the edge's one public HTTP listener, shared by every http
 * tunnel. For each public connection it reads the request head (bounded in
 * size and time), asks its owner to route the connection by host, and
 * answers the client itself when nobody takes it (400, 404, 408, 431, 502,
 * 503). A routed connection is handed over whole, with the head bytes it
 * read, so the tunnel forwards them first and nothing is lost; the rest of
 * the connection (keep-alive requests too) stays on that tunnel.
 */
#ifndef BEAM_HTTP_ROUTE_H
#define BEAM_HTTP_ROUTE_H

#include "pktio.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct http_front;

/*
 * Route a complete head. @host is normalized (http_head.h). On 0 the callee
 * owns @fd (and the source slot admit_cb took); @head (@len bytes, valid
 * for the call only) is what must reach the service first. Errors leave
 * @fd with the caller, which answers: -ENOENT 404 (no tunnel for that
 * host), -ENOTCONN 503 (its agent is away), -EBUSY 503 (a limit), other 502.
 */
typedef int (*http_route_cb)(void *arg, const char *host, int fd, const struct pktio_addr *peer,
			     const uint8_t *head, size_t len);

/* A new public connection from @peer: 0 to read its head, -errno to refuse it. */
typedef int (*http_admit_cb)(void *arg, const struct pktio_addr *peer);

/* A connection admit_cb let in was closed here, without being routed. */
typedef void (*http_release_cb)(void *arg, const struct pktio_addr *peer);

struct http_front_config {
	struct pktio_addr listen;
	bool reuseport;		      /* share the port with the other workers */
	unsigned int head_timeout_ms; /* 0: 10 s */
	unsigned int max_waiting;     /* connections reading their head (0: 1024) */
	/* of those, from one address once 3/4 of max_waiting are taken (0: 1/8, >= 16) */
	unsigned int max_waiting_per_source;
	http_route_cb route;
	http_admit_cb admit;	 /* may be NULL */
	http_release_cb release; /* may be NULL */
	void *arg;
};

/* What the front answered itself, for /metrics. */
struct http_front_stats {
	uint64_t routed;
	uint64_t bad_request;	 /* 400: not HTTP/1.x, no or bad Host */
	uint64_t too_large;	 /* 431: head longer than HTTP_HEAD_MAX */
	uint64_t timeout;	 /* 408: head not complete in time */
	uint64_t not_found;	 /* 404: no tunnel for the host */
	uint64_t unavailable;	 /* 503: agent away or a limit */
	uint64_t failed;	 /* 502: the tunnel could not take it */
	uint64_t refused;	 /* closed at accept: too many waiting, or admit_cb said no */
	uint64_t refused_source; /* closed at accept: its source holds its share of waiting */
	uint64_t waiting;	 /* reading their head now */
};

/* Listen on @cfg->listen in @base. Returns 0 or -errno (after a message). */
int http_front_new(struct http_front **out, struct event_base *base,
		   const struct http_front_config *cfg);

/* The address it listens on (port filled in when 0 was asked). */
void http_front_local(const struct http_front *f, struct pktio_addr *out);

void http_front_stats(const struct http_front *f, struct http_front_stats *out);

/*
 * Take back public connection @fd, routed earlier, whose tunnel failed
 * before the service sent a byte: answer 502 (counted in failed) and close
 * it gracefully. Its source slot stays with whoever routed it.
 */
void http_front_fail(struct http_front *f, int fd);

/* Close the listener and every connection still reading a head. Accepts NULL. */
void http_front_free(struct http_front *f);

#endif /* BEAM_HTTP_ROUTE_H */
