/* SPDX-License-Identifier: MIT */
/*
 * xdp_fixture.h - what the tests of beam's XDP program share: the loaded
 * skeleton for a cmocka group and the stats map summed over CPUs (the TAP
 * skip of a whole file is fixture.h's). Header-only: each test program is
 * one .c file. Include after cmocka.h.
 */
#ifndef BEAM_TESTS_XDP_FIXTURE_H
#define BEAM_TESTS_XDP_FIXTURE_H

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>

#include "beam_maps.h"
#include "fixture.h"
#include "beam_xdp.skel.h"

static struct beam_xdp *skel;
static int ncpus;

/* cmocka group setup: one loaded program for every test of the file. */
static int xdp_fixture_setup(void **state)
{
	(void)state;
	ncpus = libbpf_num_possible_cpus();
	skel = beam_xdp__open_and_load();
	return skel && ncpus > 0 ? 0 : -1;
}

static int xdp_fixture_teardown(void **state)
{
	(void)state;
	beam_xdp__destroy(skel);
	skel = NULL;
	return 0;
}

/* The stats map, each reason's per-CPU counters summed into out[reason]. */
static void xdp_fixture_read_stats(struct beam_counter out[BEAM_REASON__MAX])
{
	struct beam_counter *percpu = calloc(ncpus, sizeof(*percpu));
	__u32 r;
	int c;

	assert_non_null(percpu);
	for (r = 0; r < BEAM_REASON__MAX; r++) {
		assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.stats), &r, percpu), 0);
		out[r].packets = out[r].bytes = 0;
		for (c = 0; c < ncpus; c++) {
			out[r].packets += percpu[c].packets;
			out[r].bytes += percpu[c].bytes;
		}
	}
	free(percpu);
}

#endif /* BEAM_TESTS_XDP_FIXTURE_H */
