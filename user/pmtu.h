/* SPDX-License-Identifier: MIT */
/*
 * pmtu.h - path MTU black-hole detection for one QUIC connection: the
 * decision only, no packets and no clock of its own (quic.c feeds it).
 *
 * ngtcp2 discovers the path MTU upwards and never comes down. When the path
 * shrinks under a live connection (a tunnel appears, an operator lowers an
 * MTU) and "packet too big" never arrives, full-size packets vanish while
 * small ones pass. The rule:
 *
 * - A full-size packet is one longer than PMTU_SAFE and no longer than the
 *   size ngtcp2 has validated on the path (its own PMTUD probes, longer than
 *   that, do not count: losing those is how discovery works).
 * - A full-size packet of stream data (new or sent again; datagrams have a
 *   clock of their own, below) starts the stall clock unless it runs
 *   already. The clock stops when a full-size packet is proven delivered, in
 *   any of three ways. The stream's acknowledged offset (ngtcp2 reports only
 *   the contiguous one) passes the offset where new data in one began. Or the
 *   packet of a full-size datagram is acknowledged. Or an RTT sample names
 *   it: ngtcp2 measures RTT from the newest packet an ACK acknowledges, so
 *   the time we passed with the ACK's packet minus that RTT is the time we
 *   passed when writing it, and a write made only of packets of the full
 *   validated size (a ring keeps the last PMTU_WRITES) proves one of them
 *   arrived. A black hole stops all three; random loss holds up the first
 *   behind every hole, the others only when whole flights and their probes
 *   are lost.
 * - Nothing in flight and nothing written stops the clock (lost packets leave
 *   the bytes in flight too, but are written again).
 * - Datagrams are never sent again, so idleness proves nothing for them: a
 *   full-size one starts a clock of their own, which only a full-size one's
 *   acknowledgement (or a stream proof) stops. Each datagram has an id; the
 *   last PMTU_DGRAMS ids remember whether their packet was full-size. That
 *   clock is a black hole only once it also reached the stall time with
 *   PMTU_DGRAM_LOSSES full-size datagrams declared lost since the last proof:
 *   one random loss followed by silence is not one. Stream data fills packets
 *   to the full size; datagrams come in any size, and for them full-size
 *   means nearer the validated size than PMTU_SAFE (pmtu_dgram_is_full): a
 *   hole below that midpoint lets mid-sized packets prove the path, unseen.
 * - The clock reaching PMTU_STALL_PTOS probe timeouts (at least
 *   PMTU_STALL_MIN_NS) is a black hole, or a dead peer or path: the
 *   connection sends at most PMTU_SAFE bytes per packet, which every QUIC
 *   path must carry (RFC 9000 section 14), for the hold time (PMTU_HOLD_NS).
 *   Only when stream data gets through after that is it told (PMTU_HOLE): a
 *   dead peer is the unresponsive timeout's to report.
 * - Then full size is tried again. The first full-size packet proven
 *   delivered ends the trial and the hold goes back to PMTU_HOLD_NS; a new
 *   black hole during the trial doubles it, up to PMTU_HOLD_MAX_NS.
 *
 * TODO(#9): a path losing a fifth of all packets at random is taken for a
 * black hole about once every 1-2 s of full-size sending (harmless: 1200-byte
 * packets carry as much there, and the next try comes 2 s later).
 *
 * A udp tunnel's datagrams longer than the cap are dropped while capped
 * (counted as too big where they enter): in a black hole they would vanish
 * anyway, now the sender's side counts them.
 */
#ifndef BEAM_PMTU_H
#define BEAM_PMTU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PMTU_SAFE	  1200 /* UDP payload bytes: the QUIC minimum */
#define PMTU_STALL_PTOS	  3
#define PMTU_STALL_MIN_NS (200ull * 1000000ull)
/* The first hold is short: a burst of loss or a short outage looks like a
 * black hole too, and should cost seconds of small packets, not a minute. A
 * real one fails each try (a stall of PMTU_STALL_PTOS), and the doubling
 * spaces the tries out: 9 in the first 17 minutes, then one per 16. */
#define PMTU_HOLD_NS	  (2ull * 1000000000ull)
#define PMTU_HOLD_MAX_NS  (960ull * 1000000000ull)
#define PMTU_WRITES	  32  /* recent writes of full-size packets only */
#define PMTU_DGRAMS	  256 /* recent datagram ids whose packet size is known */
#define PMTU_DGRAM_LOSSES 5   /* full-size datagrams lost before their clock counts */

enum pmtu_event {
	PMTU_NONE = 0,
	PMTU_FALLBACK,	/* a black hole, maybe: send at most PMTU_SAFE bytes now */
	PMTU_HOLE,	/* after a fallback, small packets get through: it was one */
	PMTU_LIFT,	/* the hold is over: full size again, on trial */
	PMTU_CONFIRMED, /* a full-size packet got through after a lift */
	PMTU__MAX,
};

struct pmtu {
	uint64_t stall_since; /* the stall clock's start (CLOCK_MONOTONIC ns), 0: stopped */
	uint64_t lift_at;     /* capped: when full size is tried again */
	uint64_t hold_ns;     /* how long the next cap holds */
	uint16_t cap;	      /* PMTU_SAFE while capped, else 0 */
	uint16_t was;	      /* the packet size in use when the cap came */
	bool trial;	      /* full size tried again, not proven yet */
	bool told;	      /* capped, and PMTU_HOLE was returned */
	uint32_t nwrites;     /* writes recorded in full_writes, all time */
	uint64_t full_writes[PMTU_WRITES];   /* their timestamps, a ring */
	uint64_t dgram_since;		     /* the datagram clock's start, 0: stopped */
	uint32_t dgram_lost;		     /* full-size datagrams lost since it started */
	uint64_t dgram_last;		     /* the newest datagram id sent */
	uint8_t dgram_full[PMTU_DGRAMS / 8]; /* bit id % PMTU_DGRAMS: its packet was full-size */
};

/* Start @p uncapped, clock stopped. */
void pmtu_init(struct pmtu *p);

/* Whether a packet of @pktlen bytes is full-size on a path whose validated
 * largest UDP payload is @path_max. */
bool pmtu_is_full(size_t pktlen, size_t path_max);

/* Whether a packet of @pktlen bytes holding a datagram counts as full-size. */
bool pmtu_dgram_is_full(size_t pktlen, size_t path_max);

/* A full-size packet of stream data left at @now (> 0). */
void pmtu_full_sent(struct pmtu *p, uint64_t now);

/* A full-size packet was proven delivered. Returns PMTU_CONFIRMED when that
 * ends a trial, else PMTU_NONE. */
enum pmtu_event pmtu_full_acked(struct pmtu *p);

/* Datagram @id (ids rise from 1) left at @now in a packet that was
 * full-size (pmtu_is_full) or not. */
void pmtu_dgram_sent(struct pmtu *p, uint64_t id, bool full, uint64_t now);

/* The packet of datagram @id was acknowledged. Returns PMTU_CONFIRMED (it was
 * full-size and ends a trial), PMTU_HOLE (the first one after a fallback),
 * or PMTU_NONE. */
enum pmtu_event pmtu_dgram_acked(struct pmtu *p, uint64_t id);

/* The packet of datagram @id was declared lost. */
void pmtu_dgram_lost(struct pmtu *p, uint64_t id);

/* A write at @ts (> 0) sent packets, all of them longer than PMTU_SAFE.
 * Ignored while capped. */
void pmtu_full_write(struct pmtu *p, uint64_t ts);

/* An RTT sample: the newest packet an ACK acknowledged was written at
 * @sent_ts. Returns what pmtu_full_acked() does if that was a write
 * pmtu_full_write() saw, else PMTU_NONE. */
enum pmtu_event pmtu_acked_sent_at(struct pmtu *p, uint64_t sent_ts);

/* The peer acknowledged stream data, of any packet. Returns PMTU_HOLE the
 * first time after a fallback, else PMTU_NONE. */
enum pmtu_event pmtu_delivered(struct pmtu *p);

/* Nothing is in flight and nothing was written: the connection is idle. */
void pmtu_idle(struct pmtu *p);

/*
 * Decide at @now with the connection's probe timeout @pto_ns; @size is the
 * packet size in use (for pmtu.was). Returns PMTU_FALLBACK (capped from now),
 * PMTU_LIFT (uncapped from now) or PMTU_NONE.
 */
enum pmtu_event pmtu_check(struct pmtu *p, uint64_t pto_ns, size_t size, uint64_t now);

/* When pmtu_check() has something to decide next, UINT64_MAX for never. */
uint64_t pmtu_deadline(const struct pmtu *p, uint64_t pto_ns);

/* @len, or PMTU_SAFE if smaller while capped. */
size_t pmtu_limit(const struct pmtu *p, size_t len);

#endif
