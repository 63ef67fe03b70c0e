// SPDX-License-Identifier: MIT
/*
 * pmtu.c - path MTU black-hole detection for one QUIC connection (the rule
 * is in pmtu.h).
 */
#include "pmtu.h"

#include <string.h>

void pmtu_init(struct pmtu *p)
{
	*p = (struct pmtu){.hold_ns = PMTU_HOLD_NS};
}

bool pmtu_is_full(size_t pktlen, size_t path_max)
{
	return pktlen > PMTU_SAFE && pktlen <= path_max;
}

bool pmtu_dgram_is_full(size_t pktlen, size_t path_max)
{
	return pmtu_is_full(pktlen, path_max) && 2 * pktlen > PMTU_SAFE + path_max;
}

void pmtu_full_sent(struct pmtu *p, uint64_t now)
{
	if (!p->cap && !p->stall_since)
		p->stall_since = now;
}

enum pmtu_event pmtu_full_acked(struct pmtu *p)
{
	p->stall_since = 0;
	p->dgram_since = 0;
	p->dgram_lost = 0;
	if (p->cap || !p->trial)
		return PMTU_NONE;
	p->trial = false;
	p->hold_ns = PMTU_HOLD_NS;
	return PMTU_CONFIRMED;
}

void pmtu_dgram_sent(struct pmtu *p, uint64_t id, bool full, uint64_t now)
{
	uint8_t bit = (uint8_t)(1u << (id % 8));
	uint8_t *b = &p->dgram_full[(id % PMTU_DGRAMS) / 8];

	*b = full ? *b | bit : *b & (uint8_t)~bit;
	p->dgram_last = id;
	if (full && !p->cap && !p->dgram_since)
		p->dgram_since = now;
}

/* Whether datagram @id is one of the recent ones, sent full-size. */
static bool dgram_was_full(const struct pmtu *p, uint64_t id)
{
	/* an id older than the ring may share its bit with a newer one */
	if (!id || id > p->dgram_last || p->dgram_last - id >= PMTU_DGRAMS)
		return false;
	return p->dgram_full[(id % PMTU_DGRAMS) / 8] & (1u << (id % 8));
}

enum pmtu_event pmtu_dgram_acked(struct pmtu *p, uint64_t id)
{
	if (p->cap)
		return pmtu_delivered(p);
	return dgram_was_full(p, id) ? pmtu_full_acked(p) : PMTU_NONE;
}

void pmtu_dgram_lost(struct pmtu *p, uint64_t id)
{
	if (!p->cap && p->dgram_since && dgram_was_full(p, id))
		p->dgram_lost++;
}

void pmtu_full_write(struct pmtu *p, uint64_t ts)
{
	if (p->cap)
		return;
	p->full_writes[p->nwrites % PMTU_WRITES] = ts;
	p->nwrites++;
}

enum pmtu_event pmtu_acked_sent_at(struct pmtu *p, uint64_t sent_ts)
{
	uint32_t i;

	if (!sent_ts || p->cap)
		return PMTU_NONE;
	for (i = 0; i < PMTU_WRITES; i++)
		if (p->full_writes[i] == sent_ts)
			return pmtu_full_acked(p);
	return PMTU_NONE;
}

enum pmtu_event pmtu_delivered(struct pmtu *p)
{
	if (!p->cap || p->told)
		return PMTU_NONE;
	p->told = true;
	return PMTU_HOLE;
}

void pmtu_idle(struct pmtu *p)
{
	p->stall_since = 0;
}

/* The datagram clock runs with enough losses behind it to count. */
static bool dgram_stalled(const struct pmtu *p)
{
	return p->dgram_since && p->dgram_lost >= PMTU_DGRAM_LOSSES;
}

static uint64_t stall_ns(uint64_t pto_ns)
{
	uint64_t t = PMTU_STALL_PTOS * pto_ns;

	return t > PMTU_STALL_MIN_NS ? t : PMTU_STALL_MIN_NS;
}

enum pmtu_event pmtu_check(struct pmtu *p, uint64_t pto_ns, size_t size, uint64_t now)
{
	if (p->cap) {
		if (now < p->lift_at)
			return PMTU_NONE;
		p->cap = 0;
		p->trial = true;
		p->stall_since = 0;
		p->dgram_since = 0;
		p->dgram_lost = 0;
		return PMTU_LIFT;
	}
	if ((!p->stall_since || now - p->stall_since < stall_ns(pto_ns)) &&
	    (!dgram_stalled(p) || now - p->dgram_since < stall_ns(pto_ns)))
		return PMTU_NONE;
	/* a trial that failed holds twice as long; a new black hole starts over */
	if (p->trial)
		p->hold_ns = p->hold_ns < PMTU_HOLD_MAX_NS / 2 ? 2 * p->hold_ns : PMTU_HOLD_MAX_NS;
	else
		p->hold_ns = PMTU_HOLD_NS;
	p->trial = false;
	p->told = false;
	p->cap = PMTU_SAFE;
	/* what was written before the cap proves nothing about the trial after it */
	memset(p->full_writes, 0, sizeof(p->full_writes));
	p->was = size > UINT16_MAX ? UINT16_MAX : (uint16_t)size;
	p->lift_at = now + p->hold_ns;
	p->stall_since = 0;
	p->dgram_since = 0;
	p->dgram_lost = 0;
	return PMTU_FALLBACK;
}

uint64_t pmtu_deadline(const struct pmtu *p, uint64_t pto_ns)
{
	uint64_t d = UINT64_MAX;

	if (p->cap)
		return p->lift_at;
	if (p->stall_since)
		d = p->stall_since + stall_ns(pto_ns);
	if (dgram_stalled(p) && p->dgram_since + stall_ns(pto_ns) < d)
		d = p->dgram_since + stall_ns(pto_ns);
	return d;
}

size_t pmtu_limit(const struct pmtu *p, size_t len)
{
	return p->cap && len > p->cap ? p->cap : len;
}
