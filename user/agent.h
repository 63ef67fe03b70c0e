/* SPDX-License-Identifier: MIT */
/*
 * agent.h - the agent side of beam/1: dial the edge, authenticate, register
 * a tunnel, connect each stream the edge opens to the local service, and
 * come back (backoff with jitter, resumption with 0-RTT, re-register) when
 * the edge goes away.
 */
#ifndef BEAM_AGENT_H
#define BEAM_AGENT_H

#include "pktio.h"
#include "proxy_proto.h"
#include "proto.h"
#include "tls.h"

#include <stdint.h>

struct event_base;
struct WOLFSSL_CTX;
struct agent;

struct agent_config {
	const char *edge_host; /* as the user wrote it, for messages and SNI */
	uint16_t edge_port;
	struct pktio_addr edge;	  /* resolved; the agent asks again before each reconnect */
	char target_str[300];	  /* "HOST:PORT" of the local service */
	struct pktio_addr target; /* resolved */
	uint16_t remote_port;	  /* 0: the edge picks */
	const char *token;
	enum proto_kind kind;	 /* tcp, http or udp */
	const char *name;	 /* tunnel name (http: the host name); default "tcp:" + target */
	struct WOLFSSL_CTX *tls; /* owned by the caller */
	enum tls_verify verify;
	uint8_t pin[TLS_FP_LEN];
	unsigned int idle_timeout_s;
	unsigned int unresponsive_s;	/* close when the edge answers nothing this long while
				      * data waits (0: only the idle timeout) */
	const char *session_file;	/* keep the session ticket here across restarts, or NULL */
	enum proxy_proto_version proxy; /* a PROXY header in front of each local connection */
};

/*
 * Start the agent in @base: it connects at once and keeps reconnecting. The
 * loop ends (event_base_loopbreak) with agent_exit_code() non-zero when the
 * edge refuses for good (bad token, port taken). Returns 0 or -errno.
 */
int agent_new(struct agent **out, struct event_base *base, const struct agent_config *cfg);

/* 0 while running or after a clean stop, else the exit status to use. */
int agent_exit_code(const struct agent *a);

void agent_free(struct agent *a);

#endif /* BEAM_AGENT_H */
