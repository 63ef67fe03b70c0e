// SPDX-License-Identifier: MIT
/*
 * test_pmtu.c - the path MTU black-hole rule: full-size packets unproven for
 * PMTU_STALL_PTOS probe timeouts cap the connection at PMTU_SAFE; proofs
 * (by stream offset or by an RTT sample naming a write of full-size packets)
 * and idleness stop the clock; the cap lifts after the hold,
 * a failed trial doubles the hold up to its ceiling, a passed one resets it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pmtu.h"

#define T0  (1000ull * 1000000000ull) /* an arbitrary start on CLOCK_MONOTONIC */
#define MS  1000000ull
#define SEC 1000000000ull
#define PTO (100 * MS) /* 3 PTOs = 300 ms, over PMTU_STALL_MIN_NS */

static void test_pmtu_full_size_is_validated_and_over_safe(void **state)
{
	(void)state;
	assert_false(pmtu_is_full(1200, 1472));
	assert_true(pmtu_is_full(1201, 1472));
	assert_true(pmtu_is_full(1472, 1472));
	/* ngtcp2's own discovery probes go past what the path proved: losing
	 * them is how discovery works, not a black hole */
	assert_false(pmtu_is_full(1472, 1452));
	assert_false(pmtu_is_full(1300, 1200));
}

static void test_pmtu_unproven_full_packets_fall_back(void **state)
{
	struct pmtu p;

	(void)state;
	pmtu_init(&p);
	assert_int_equal(pmtu_limit(&p, 1472), 1472);
	assert_int_equal(pmtu_deadline(&p, PTO), UINT64_MAX);
	pmtu_full_sent(&p, T0);
	/* later sends do not restart the clock */
	pmtu_full_sent(&p, T0 + 250 * MS);
	assert_int_equal(pmtu_deadline(&p, PTO), T0 + 3 * PTO);
	assert_int_equal(pmtu_check(&p, PTO, 1472, T0 + 3 * PTO - 1), PMTU_NONE);
	assert_int_equal(pmtu_check(&p, PTO, 1472, T0 + 3 * PTO), PMTU_FALLBACK);
	assert_int_equal(p.was, 1472);
	assert_int_equal(pmtu_limit(&p, 1472), PMTU_SAFE);
	assert_int_equal(pmtu_limit(&p, 1000), 1000);
	assert_int_equal(pmtu_deadline(&p, PTO), T0 + 3 * PTO + PMTU_HOLD_NS);
	/* capped, nothing is full-size: sends do not start a clock */
	pmtu_full_sent(&p, T0 + SEC);
	assert_int_equal(p.stall_since, 0);
}

/* A fallback is told once small packets deliver stream data: never for a
 * peer that answers nothing at all, once per fallback otherwise. */
static void test_pmtu_hole_told_once_data_gets_through(void **state)
{
	struct pmtu p;

	(void)state;
	pmtu_init(&p);
	assert_int_equal(pmtu_delivered(&p), PMTU_NONE);
	pmtu_full_sent(&p, T0);
	assert_int_equal(pmtu_check(&p, PTO, 1472, T0 + 3 * PTO), PMTU_FALLBACK);
	assert_int_equal(pmtu_delivered(&p), PMTU_HOLE);
	assert_int_equal(pmtu_delivered(&p), PMTU_NONE);
	assert_int_equal(pmtu_check(&p, PTO, 1472, T0 + 3 * PTO + PMTU_HOLD_NS), PMTU_LIFT);
	assert_int_equal(pmtu_delivered(&p), PMTU_NONE);
	pmtu_full_sent(&p, T0 + 100 * SEC);
	assert_int_equal(pmtu_check(&p, PTO, 1472, T0 + 100 * SEC + 3 * PTO), PMTU_FALLBACK);
	assert_int_equal(pmtu_delivered(&p), PMTU_HOLE);
}

/* Datagrams: a full-size one starts their clock, its acknowledgement (by id)
 * stops it; small ones and ids the ring forgot prove nothing; idleness does
 * not stop it, and it counts only with PMTU_DGRAM_LOSSES full-size losses
 * behind it; the first one acknowledged after a fallback tells the hole. */
static void test_pmtu_datagrams_by_id(void **state)
{
	struct pmtu p;
	uint64_t id;

	(void)state;
	/* nearer the validated size than PMTU_SAFE: 1336 is the midpoint at 1472 */
	assert_false(pmtu_dgram_is_full(1336, 1472));
	assert_true(pmtu_dgram_is_full(1337, 1472));
	assert_false(pmtu_dgram_is_full(1500, 1472));
	pmtu_init(&p);
	pmtu_dgram_sent(&p, 1, false, T0);
	assert_int_equal(p.dgram_since, 0);
	pmtu_dgram_sent(&p, 2, true, T0 + MS);
	assert_int_equal(p.dgram_since, T0 + MS);
	assert_int_equal(p.stall_since, 0); /* the stream clock is not theirs */
	assert_int_equal(pmtu_dgram_acked(&p, 1), PMTU_NONE);
	assert_int_equal(p.dgram_since, T0 + MS); /* a small one proves nothing */
	assert_int_equal(pmtu_dgram_acked(&p, 2), PMTU_NONE);
	assert_int_equal(p.dgram_since, 0);
	/* mixed sizes, every full one acknowledged late but within the ring */
	for (id = 3; id < 3 + 10 * PMTU_DGRAMS; id++) {
		pmtu_dgram_sent(&p, id, id % 2, T0 + id * MS);
		if (id > 40)
			pmtu_dgram_acked(&p, id - 37);
		assert_int_equal(pmtu_check(&p, PTO, 1472, T0 + id * MS), PMTU_NONE);
	}
	/* an id older than the ring shares a bit with a newer full one: no proof */
	pmtu_dgram_sent(&p, id, true, T0 + id * MS);
	assert_int_equal(pmtu_dgram_acked(&p, id - PMTU_DGRAMS), PMTU_NONE);
	assert_int_not_equal(p.dgram_since, 0);
	assert_int_equal(pmtu_dgram_acked(&p, id + 1), PMTU_NONE); /* never sent */

	/* one lost full-size datagram, then silence: never a black hole */
	pmtu_init(&p);
	pmtu_dgram_sent(&p, 1, true, T0);
	pmtu_dgram_lost(&p, 1);
	pmtu_idle(&p);
	assert_int_equal(pmtu_deadline(&p, PTO), UINT64_MAX);
	assert_int_equal(pmtu_check(&p, PTO, 1472, T0 + 100 * SEC), PMTU_NONE);
	/* small losses do not count; full ones do, and the clock runs from the first */
	for (id = 2; id < 2 + 2 * (PMTU_DGRAM_LOSSES - 2); id += 2) {
		pmtu_dgram_sent(&p, id, true, T0 + id * MS);
		pmtu_dgram_lost(&p, id);
		pmtu_dgram_sent(&p, id + 1, false, T0 + id * MS);
		pmtu_dgram_lost(&p, id + 1);
	}
	assert_int_equal(pmtu_check(&p, PTO, 1472, T0 + 100 * SEC), PMTU_NONE);
	pmtu_dgram_sent(&p, id, true, T0 + id * MS);
	pmtu_dgram_lost(&p, id);
	assert_int_equal(pmtu_deadline(&p, PTO), T0 + 3 * PTO);
	assert_int_equal(pmtu_check(&p, PTO, 1472, T0 + 3 * PTO), PMTU_FALLBACK);
	assert_int_equal(pmtu_limit(&p, 1472), PMTU_SAFE);
	assert_int_equal(pmtu_dgram_acked(&p, 3), PMTU_HOLE);
	assert_int_equal(pmtu_dgram_acked(&p, 4), PMTU_NONE);
}

static void test_pmtu_short_pto_waits_the_floor(void **state)
{
	struct pmtu p;

	(void)state;
	pmtu_init(&p);
	pmtu_full_sent(&p, T0);
	assert_int_equal(pmtu_check(&p, MS, 1472, T0 + 3 * MS), PMTU_NONE);
	assert_int_equal(pmtu_check(&p, MS, 1472, T0 + PMTU_STALL_MIN_NS - 1), PMTU_NONE);
	assert_int_equal(pmtu_check(&p, MS, 1472, T0 + PMTU_STALL_MIN_NS), PMTU_FALLBACK);
}

static void test_pmtu_proof_or_idle_stops_the_clock(void **state)
{
	struct pmtu p;

	(void)state;
	pmtu_init(&p);
	pmtu_full_sent(&p, T0);
	assert_int_equal(pmtu_full_acked(&p), PMTU_NONE);
	assert_int_equal(pmtu_check(&p, PTO, 1472, T0 + 10 * SEC), PMTU_NONE);
	/* the next full-size packet starts it again, from its own time */
	pmtu_full_sent(&p, T0 + 10 * SEC);
	assert_int_equal(pmtu_check(&p, PTO, 1472, T0 + 10 * SEC + 2 * PTO), PMTU_NONE);
	pmtu_idle(&p);
	assert_int_equal(pmtu_check(&p, PTO, 1472, T0 + 20 * SEC), PMTU_NONE);
	assert_int_equal(pmtu_limit(&p, 1472), 1472);
}

/* Random loss delays proofs; as long as one comes within 3 PTOs of the first
 * unproven packet, no verdict, however long the loss lasts. */
static void test_pmtu_steady_proofs_never_fall_back(void **state)
{
	uint64_t t = T0;
	struct pmtu p;
	int i;

	(void)state;
	pmtu_init(&p);
	for (i = 0; i < 10000; i++) {
		pmtu_full_sent(&p, t);
		t += 3 * PTO - 1;
		assert_int_equal(pmtu_check(&p, PTO, 1472, t), PMTU_NONE);
		pmtu_full_acked(&p);
	}
	assert_int_equal(pmtu_limit(&p, 1472), 1472);
}

/* An RTT sample that names a write of full-size packets proves them; one
 * naming any other time (a write with a short packet, or none) does not. */
static void test_pmtu_rtt_sample_of_a_full_write_proves(void **state)
{
	struct pmtu p;
	int i;

	(void)state;
	pmtu_init(&p);
	for (i = 0; i < PMTU_WRITES; i++)
		pmtu_full_write(&p, T0 + (uint64_t)i * MS);
	pmtu_full_sent(&p, T0 + 40 * MS);
	assert_int_equal(pmtu_acked_sent_at(&p, T0 + MS / 2), PMTU_NONE);
	assert_int_equal(pmtu_acked_sent_at(&p, 0), PMTU_NONE);
	assert_int_equal(p.stall_since, T0 + 40 * MS);
	assert_int_equal(pmtu_acked_sent_at(&p, T0 + 3 * MS), PMTU_NONE);
	assert_int_equal(p.stall_since, 0);
	assert_int_equal(pmtu_check(&p, PTO, 1472, T0 + 10 * SEC), PMTU_NONE);
	/* the ring keeps the last PMTU_WRITES: the oldest falls out */
	pmtu_full_write(&p, T0 + SEC);
	pmtu_full_sent(&p, T0 + SEC);
	assert_int_equal(pmtu_acked_sent_at(&p, T0), PMTU_NONE);
	assert_int_equal(p.stall_since, T0 + SEC);
}

/* Writes before a fallback say nothing about the trial after it. */
static void test_pmtu_rtt_sample_before_the_cap_ends_no_trial(void **state)
{
	struct pmtu p;
	uint64_t t;

	(void)state;
	pmtu_init(&p);
	pmtu_full_write(&p, T0);
	pmtu_full_sent(&p, T0);
	t = T0 + 3 * PTO;
	assert_int_equal(pmtu_check(&p, PTO, 1472, t), PMTU_FALLBACK);
	/* capped: no write is recorded, no sample counts */
	pmtu_full_write(&p, t + MS);
	assert_int_equal(pmtu_acked_sent_at(&p, t + MS), PMTU_NONE);
	assert_int_equal(pmtu_check(&p, PTO, 1472, t + PMTU_HOLD_NS), PMTU_LIFT);
	assert_int_equal(pmtu_acked_sent_at(&p, T0), PMTU_NONE);
	assert_true(p.trial);
	t += PMTU_HOLD_NS;
	pmtu_full_write(&p, t + MS);
	assert_int_equal(pmtu_acked_sent_at(&p, t + MS), PMTU_CONFIRMED);
	assert_false(p.trial);
}

static uint64_t fall_back(struct pmtu *p, uint64_t t)
{
	pmtu_full_sent(p, t);
	assert_int_equal(pmtu_check(p, PTO, 1472, t + 3 * PTO), PMTU_FALLBACK);
	return t + 3 * PTO;
}

static void test_pmtu_failed_trials_double_the_hold(void **state)
{
	uint64_t t, hold = PMTU_HOLD_NS;
	struct pmtu p;
	int i;

	(void)state;
	pmtu_init(&p);
	t = fall_back(&p, T0);
	for (i = 0; i < 10; i++) {
		assert_int_equal(p.hold_ns, hold);
		assert_int_equal(pmtu_check(&p, PTO, 1472, t + hold - 1), PMTU_NONE);
		t += hold;
		assert_int_equal(pmtu_check(&p, PTO, 1472, t), PMTU_LIFT);
		assert_true(p.trial);
		assert_int_equal(pmtu_limit(&p, 1472), 1472);
		/* still a black hole: the trial fails */
		t = fall_back(&p, t + MS);
		hold = hold * 2 > PMTU_HOLD_MAX_NS ? PMTU_HOLD_MAX_NS : hold * 2;
	}
	assert_int_equal(p.hold_ns, PMTU_HOLD_MAX_NS);
}

static void test_pmtu_passed_trial_resets_the_hold(void **state)
{
	struct pmtu p;
	uint64_t t;

	(void)state;
	pmtu_init(&p);
	t = fall_back(&p, T0);
	t += PMTU_HOLD_NS;
	assert_int_equal(pmtu_check(&p, PTO, 1472, t), PMTU_LIFT);
	t = fall_back(&p, t);
	assert_int_equal(p.hold_ns, 2 * PMTU_HOLD_NS);
	t += 2 * PMTU_HOLD_NS;
	assert_int_equal(pmtu_check(&p, PTO, 1472, t), PMTU_LIFT);
	pmtu_full_sent(&p, t + MS);
	assert_int_equal(pmtu_full_acked(&p), PMTU_CONFIRMED);
	assert_false(p.trial);
	assert_int_equal(p.hold_ns, PMTU_HOLD_NS);
	/* proven once: the next proof says nothing */
	assert_int_equal(pmtu_full_acked(&p), PMTU_NONE);
	/* a later black hole starts from the first hold again */
	fall_back(&p, t + 10 * SEC);
	assert_int_equal(p.hold_ns, PMTU_HOLD_NS);
}

static void test_pmtu_proof_while_capped_is_ignored(void **state)
{
	struct pmtu p;
	uint64_t t;

	(void)state;
	pmtu_init(&p);
	t = fall_back(&p, T0);
	assert_int_equal(pmtu_full_acked(&p), PMTU_NONE);
	assert_int_equal(pmtu_limit(&p, 1472), PMTU_SAFE);
	assert_int_equal(pmtu_check(&p, PTO, 1472, t + PMTU_HOLD_NS), PMTU_LIFT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pmtu_full_size_is_validated_and_over_safe),
		cmocka_unit_test(test_pmtu_unproven_full_packets_fall_back),
		cmocka_unit_test(test_pmtu_hole_told_once_data_gets_through),
		cmocka_unit_test(test_pmtu_datagrams_by_id),
		cmocka_unit_test(test_pmtu_short_pto_waits_the_floor),
		cmocka_unit_test(test_pmtu_proof_or_idle_stops_the_clock),
		cmocka_unit_test(test_pmtu_steady_proofs_never_fall_back),
		cmocka_unit_test(test_pmtu_rtt_sample_of_a_full_write_proves),
		cmocka_unit_test(test_pmtu_rtt_sample_before_the_cap_ends_no_trial),
		cmocka_unit_test(test_pmtu_failed_trials_double_the_hold),
		cmocka_unit_test(test_pmtu_passed_trial_resets_the_hold),
		cmocka_unit_test(test_pmtu_proof_while_capped_is_ignored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
