// SPDX-License-Identifier: MIT
/*
 * test_pktio_mux.c - how the AF_XDP + socket multiplexer shares its receive
 * calls: the UDP socket (a system call each time) is asked when AF_XDP had
 * nothing, while it has datagrams, and at least once every
 * MUX_UDP_MAX_SKIPS + 1 calls however busy AF_XDP is; otherwise it is left
 * alone. The back ends are scripted stand-ins for pktio_xsk and pktio_udp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pktio_mux.h"

#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define CALLS 90
#define MAX   32

/* A back end that hands out @give datagrams per call (-1: as many as asked). */
struct scripted {
	struct pktio io; /* first */
	int give;
	unsigned int calls;
	int fd;
};

static uint8_t payload[64];

static int scripted_recv(struct pktio *io, struct pktio_pkt *pkts, unsigned int max)
{
	struct scripted *s = (struct scripted *)io;
	unsigned int i, n = s->give < 0 ? max : (unsigned int)s->give;

	s->calls++;
	if (n > max)
		n = max;
	for (i = 0; i < n; i++) {
		memset(&pkts[i], 0, sizeof(pkts[i]));
		pkts[i].data = payload;
		pkts[i].len = sizeof(payload);
	}
	return (int)n;
}

static int scripted_fd(struct pktio *io)
{
	return ((struct scripted *)io)->fd;
}

static void scripted_free(struct pktio *io)
{
	(void)io; /* the test's own */
}

static const struct pktio_ops scripted_ops = {
	.name = "scripted",
	.recv = scripted_recv,
	.fd = scripted_fd,
	.free = scripted_free,
};

struct rig {
	struct scripted xsk, udp;
	struct pktio *mux;
};

static void rig_up(struct rig *r, int xsk_gives, int udp_gives)
{
	struct pktio *xsks[1] = {&r->xsk.io};

	memset(r, 0, sizeof(*r));
	r->xsk = (struct scripted){
		.io.ops = &scripted_ops, .give = xsk_gives, .fd = eventfd(0, EFD_CLOEXEC)};
	r->udp = (struct scripted){
		.io.ops = &scripted_ops, .give = udp_gives, .fd = eventfd(0, EFD_CLOEXEC)};
	assert_true(r->xsk.fd >= 0 && r->udp.fd >= 0);
	assert_int_equal(pktio_mux_new(&r->mux, &r->udp.io, xsks, 1, false), 0);
}

static unsigned int rig_run(struct rig *r, unsigned int calls)
{
	struct pktio_pkt pkts[MAX];
	unsigned int i, got = 0;

	for (i = 0; i < calls; i++) {
		int n = r->mux->ops->recv(r->mux, pkts, MAX);

		assert_true(n >= 0 && n <= MAX);
		got += (unsigned int)n;
	}
	return got;
}

static void rig_down(struct rig *r)
{
	r->mux->ops->free(r->mux);
	close(r->xsk.fd);
	close(r->udp.fd);
}

/* AF_XDP empty: every call may be the socket's wake-up, so it is asked. */
static void test_udp_asked_when_xsk_empty(void **state)
{
	struct rig r;

	(void)state;
	rig_up(&r, 0, 0);
	rig_run(&r, CALLS);
	assert_int_equal(r.udp.calls, CALLS);
	assert_int_equal(r.xsk.calls, CALLS);
	rig_down(&r);
}

/* AF_XDP busy, socket empty: asked once every MUX_UDP_MAX_SKIPS + 1 calls. */
static void test_udp_skipped_while_xsk_busy(void **state)
{
	struct rig r;

	(void)state;
	rig_up(&r, 5, 0);
	assert_int_equal(rig_run(&r, CALLS), CALLS * 5);
	assert_in_range(r.udp.calls, CALLS / 9, CALLS / 9 + 1);
	rig_down(&r);
}

/* AF_XDP filling every call: the socket still gets its turn, first. */
static void test_udp_not_starved(void **state)
{
	struct rig r;

	(void)state;
	rig_up(&r, -1, 3);
	rig_run(&r, CALLS);
	assert_in_range(r.udp.calls, CALLS / 9, CALLS / 9 + 1);
	rig_down(&r);
}

/* The socket had datagrams: asked again next call. */
static void test_udp_hot_asked_every_call(void **state)
{
	struct rig r;

	(void)state;
	rig_up(&r, 5, 1);
	assert_int_equal(rig_run(&r, CALLS), CALLS * 6);
	assert_int_equal(r.udp.calls, CALLS);
	rig_down(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_udp_asked_when_xsk_empty),
		cmocka_unit_test(test_udp_skipped_while_xsk_busy),
		cmocka_unit_test(test_udp_not_starved),
		cmocka_unit_test(test_udp_hot_asked_every_call),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
