// SPDX-License-Identifier: MIT
/*
 * test_steer.c - beamd's worker steering: beam_cid_worker() on its own, then
 * bpf/steer.bpf.c attached to a real SO_REUSEPORT group of two UDP sockets
 * on the loopback of a network namespace of the test's own. The kernel
 * cannot BPF_PROG_TEST_RUN an sk_reuseport program, so real datagrams go
 * through it: short and long headers with beamd's CIDs reach the worker
 * they name, a client's own DCID reaches one worker from every source
 * port, and what the program cannot read is still delivered. Needs root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "beam_maps.h"
#include "fixture.h"
#include "log.h"
#include "reuseport.h"

#define NW 2

static void our_cid(uint8_t *cid, uint8_t worker)
{
	assert_int_equal(getrandom(cid, BEAM_CID_LEN, 0), BEAM_CID_LEN);
	cid[0] = BEAM_CID_FIRST_OCTET;
	cid[BEAM_CID_WORKER_OFFSET] = worker;
}

static void test_steer_cid_worker(void **state)
{
	uint8_t cid[BEAM_CID_MAX_LEN];
	unsigned int seen[4] = {0}, i;

	(void)state;
	our_cid(cid, 3);
	assert_int_equal(beam_cid_worker(cid, BEAM_CID_LEN, 4), 3);
	assert_int_equal(beam_cid_worker(cid, BEAM_CID_LEN, 1), 0);
	/* names a worker that does not exist: hashed, still in range and stable */
	assert_true(beam_cid_worker(cid, BEAM_CID_LEN, 3) < 3);
	assert_int_equal(beam_cid_worker(cid, BEAM_CID_LEN, 3), beam_cid_worker(cid, 16, 3));
	/* another length is not ours even with our first octet: hashed */
	memset(cid + 8, 0, sizeof(cid) - 8);
	assert_int_not_equal(beam_cid_worker(cid, 8, 1u << 30), 3);
	assert_true(beam_cid_worker(cid, 0, 5) < 5);
	/* the length counts: the same bytes zero-padded differ by length */
	memset(cid + 4, 0, sizeof(cid) - 4);
	assert_int_not_equal(beam_cid_worker(cid, 4, 1u << 30), beam_cid_worker(cid, 5, 1u << 30));
	/* client-chosen CIDs spread over the workers */
	for (i = 0; i < 400; i++) {
		memset(cid, 0, sizeof(cid));
		assert_int_equal(getrandom(cid, 8, 0), 8);
		seen[beam_cid_worker(cid, 8, 4)]++;
	}
	for (i = 0; i < 4; i++)
		assert_true(seen[i] > 40);
}

struct group {
	int fds[NW];
	struct sockaddr_in addr;
	struct reuseport *rp;
};

static int group_setup(void **state)
{
	struct group *g = calloc(1, sizeof(*g));
	socklen_t len = sizeof(g->addr);
	int one = 1, i;

	g->addr.sin_family = AF_INET;
	g->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < NW; i++) {
		g->fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		assert_true(g->fds[i] >= 0);
		assert_int_equal(setsockopt(g->fds[i], SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)),
				 0);
		assert_int_equal(bind(g->fds[i], (struct sockaddr *)&g->addr, sizeof(g->addr)), 0);
		if (!i)
			assert_int_equal(getsockname(g->fds[0], (struct sockaddr *)&g->addr, &len),
					 0);
	}
	const char *why = NULL;

	assert_int_equal(reuseport_attach(&g->rp, g->fds, NW, &why), 0);
	*state = g;
	return 0;
}

static int group_teardown(void **state)
{
	struct group *g = *state;
	int i;

	reuseport_free(g->rp);
	for (i = 0; i < NW; i++)
		close(g->fds[i]);
	free(g);
	return 0;
}

/* Send @len bytes from a new socket (a new source port); the index of the
 * worker socket it arrived on, or -1 if none within a second. */
static int deliver(struct group *g, const uint8_t *pkt, size_t len)
{
	struct pollfd pfd[NW];
	uint8_t buf[2048];
	int c, i, got = -1;

	c = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(c >= 0);
	assert_int_equal(sendto(c, pkt, len, 0, (struct sockaddr *)&g->addr, sizeof(g->addr)),
			 (ssize_t)len);
	close(c);
	for (i = 0; i < NW; i++)
		pfd[i] = (struct pollfd){.fd = g->fds[i], .events = POLLIN};
	if (poll(pfd, NW, 1000) <= 0)
		return -1;
	for (i = 0; i < NW; i++) {
		if (!(pfd[i].revents & POLLIN))
			continue;
		assert_int_equal(recv(g->fds[i], buf, sizeof(buf), 0), (ssize_t)len);
		assert_int_equal(got, -1); /* one copy, one socket */
		got = i;
	}
	return got;
}

/* A long-header packet: first octet, version 1, DCID, then padding. */
static size_t long_pkt(uint8_t *pkt, const uint8_t *dcid, uint8_t dcid_len, size_t total)
{
	memset(pkt, 0, total);
	pkt[0] = 0xc0; /* Initial */
	pkt[4] = 1;
	pkt[5] = dcid_len;
	memcpy(pkt + 6, dcid, dcid_len < BEAM_CID_MAX_LEN ? dcid_len : BEAM_CID_MAX_LEN);
	return total;
}

static void test_steer_by_our_cid(void **state)
{
	struct group *g = *state;
	uint8_t pkt[1200], cid[BEAM_CID_LEN];
	uint64_t st[BEAM_STEER__MAX];
	int w, round;

	for (round = 0; round < 8; round++) {
		for (w = 0; w < NW; w++) {
			/* short header: 0x40 | key phase etc., then the DCID */
			our_cid(cid, (uint8_t)w);
			memset(pkt, 0xab, 100);
			pkt[0] = 0x41;
			memcpy(pkt + 1, cid, sizeof(cid));
			assert_int_equal(deliver(g, pkt, 100), w);
			/* long header (Handshake after the server's SCID) */
			assert_int_equal(deliver(g, pkt, long_pkt(pkt, cid, BEAM_CID_LEN, 300)), w);
		}
	}
	assert_int_equal(reuseport_stats(g->rp, st), 0);
	assert_true(st[BEAM_STEER_CID] >= 32);
}

static void test_steer_client_cid_sticks(void **state)
{
	struct group *g = *state;
	uint8_t pkt[1200], dcid[BEAM_CID_MAX_LEN];
	uint64_t before[BEAM_STEER__MAX], after[BEAM_STEER__MAX];
	unsigned int seen[NW] = {0}, n, i;
	int want;

	assert_int_equal(reuseport_stats(g->rp, before), 0);
	for (n = 0; n < 16; n++) {
		uint8_t len = (uint8_t)(n % BEAM_CID_MAX_LEN) + 1;

		assert_int_equal(getrandom(dcid, sizeof(dcid), 0), sizeof(dcid));
		dcid[0] = 0;				   /* never our layout */
		memset(dcid + len, 0, sizeof(dcid) - len); /* as the program reads it */
		want = (int)beam_cid_worker(dcid, len, NW);
		/* the same DCID from 6 source ports (retransmits, 0-RTT, a NAT) */
		for (i = 0; i < 6; i++)
			assert_int_equal(deliver(g, pkt, long_pkt(pkt, dcid, len, 1200)), want);
		seen[want]++;
	}
	assert_int_equal(reuseport_stats(g->rp, after), 0);
	assert_true(after[BEAM_STEER_HASH] - before[BEAM_STEER_HASH] >= 16 * 6);
	/* and they do not all land on one worker */
	assert_true(seen[0] && seen[1]);
}

static void test_steer_unreadable_delivered(void **state)
{
	struct group *g = *state;
	uint64_t before[BEAM_STEER__MAX], after[BEAM_STEER__MAX];
	uint8_t pkt[1200], dcid[BEAM_CID_MAX_LEN] = {0};

	assert_int_equal(reuseport_stats(g->rp, before), 0);
	/* DCID length 21: past RFC 9000's limit */
	assert_true(deliver(g, pkt, long_pkt(pkt, dcid, 21, 200)) >= 0);
	/* a DCID length longer than the datagram */
	assert_true(deliver(g, pkt, long_pkt(pkt, dcid, 20, 20)) >= 0);
	/* too short for any header; a short header cut inside the CID */
	memset(pkt, 0x41, sizeof(pkt));
	assert_true(deliver(g, pkt, 1) >= 0);
	assert_true(deliver(g, pkt, 10) >= 0);
	assert_true(deliver(g, pkt, 0) >= 0);
	assert_int_equal(reuseport_stats(g->rp, after), 0);
	assert_true(after[BEAM_STEER_KERNEL] - before[BEAM_STEER_KERNEL] >= 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steer_cid_worker),
		cmocka_unit_test_setup_teardown(test_steer_by_our_cid, group_setup, group_teardown),
		cmocka_unit_test_setup_teardown(test_steer_client_cid_sticks, group_setup,
						group_teardown),
		cmocka_unit_test_setup_teardown(test_steer_unreadable_delivered, group_setup,
						group_teardown),
	};

	const char *why = fixture_own_netns();

	if (why)
		return fixture_skip_all(why);
	log_set_level(LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
