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

void pmtu_full_sent(struct pmtu *p, uint64_t now)
{
	if (!p->cap && !p->stall_since)
		p->stall_since = now;
}

enum pmtu_event pmtu_full_acked(struct pmtu *p)
{
	p->stall_since = 0;
	if (p->cap || !p->trial)
		return PMTU_NONE;
	p->trial = false;
	p->hold_ns = PMTU_HOLD_NS;
	return PMTU_CONFIRMED;
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
		return PMTU_LIFT;
	}
	if (!p->stall_since || now - p->stall_since < stall_ns(pto_ns))
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
	return PMTU_FALLBACK;
}

uint64_t pmtu_deadline(const struct pmtu *p, uint64_t pto_ns)
{
	if (p->cap)
		return p->lift_at;
	if (p->stall_since)
		return p->stall_since + stall_ns(pto_ns);
	return UINT64_MAX;
}

size_t pmtu_limit(const struct pmtu *p, size_t len)
{
	return p->cap && len > p->cap ? p->cap : len;
}
