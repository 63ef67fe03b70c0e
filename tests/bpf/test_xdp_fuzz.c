// SPDX-License-Identifier: MIT
/*
 * test_xdp_fuzz.c - beam's XDP program fed thousands of random and mutated
 * frames through BPF_PROG_TEST_RUN.
 *
 * Valid QUIC frames (built with pkt_build_udp: IPv4 and IPv6, VLAN tags,
 * Initials, short headers) are mutated by a seeded PRNG: bytes flipped, length
 * fields rewritten, frames cut, headers spliced, or replaced by noise. For
 * each one, exactly one reason counter in `stats` must move, by one packet and
 * the frame's bytes, and the XDP action must be the verdict of that reason.
 * The seed is printed, and BEAM_FUZZ_SEED replays a run. Needs root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "beam_maps.h"
#include "beam_xdp.skel.h"
#include "xdp_fixture.h"
#include "pkt_hdr.h"

#define BEAM_PORT 4433
#define FRAME_MAX 2048
#define NFRAMES	  6000

static uint64_t rng;

/* xorshift64*: small, seeded, the same sequence on every machine */
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static unsigned int rnd_below(unsigned int n)
{
	return n ? (unsigned int)(rnd() % n) : 0;
}

/* A valid frame: family, tags, QUIC Initial or short header, a source of 64. */
static size_t valid_frame(uint8_t *f)
{
	struct pkt_udp h = {0};
	size_t plen, hl, i;
	uint8_t *p;
	int n;

	h.family = rnd_below(2) ? AF_INET : AF_INET6;
	h.nvlan = (uint8_t)rnd_below(3);
	for (i = 0; i < h.nvlan; i++) {
		h.vlan_tpid[i] = i == 0 && h.nvlan == 2 ? 0x88a8 : 0x8100;
		h.vlan_tci[i] = (uint16_t)(10 + i);
	}
	memset(h.dst_mac, 2, 6);
	memset(h.src_mac, 4, 6);
	if (h.family == AF_INET) {
		h.saddr[0] = 10;
		h.saddr[3] = (uint8_t)(1 + rnd_below(64));
		h.daddr[0] = 10;
		h.daddr[3] = 1;
	} else {
		h.saddr[0] = 0xfd;
		h.saddr[15] = (uint8_t)(1 + rnd_below(64));
		h.daddr[0] = 0xfd;
		h.daddr[15] = 1;
	}
	h.sport = (uint16_t)(30000 + rnd_below(1000));
	h.dport = rnd_below(8) ? BEAM_PORT : 53;
	hl = pkt_udp_hdr_len(&h);
	p = f + hl;
	switch (rnd_below(3)) {
	case 0: /* v1 Initial, 1200 bytes or a few short of it */
		plen = rnd_below(4) ? 1200 : 1100 + rnd_below(100);
		for (i = 0; i < plen; i++)
			p[i] = (uint8_t)rnd();
		p[0] = 0xc3;
		p[1] = p[2] = p[3] = 0;
		p[4] = 1;
		p[5] = 8;
		p[14] = 8;
		break;
	case 1: /* Handshake */
		plen = 40 + rnd_below(1000);
		for (i = 0; i < plen; i++)
			p[i] = (uint8_t)rnd();
		p[0] = 0xe3;
		p[1] = p[2] = p[3] = 0;
		p[4] = 1;
		p[5] = BEAM_CID_LEN;
		p[6 + BEAM_CID_LEN] = 0;
		break;
	default: /* 1-RTT short header */
		plen = 20 + rnd_below(1400);
		for (i = 0; i < plen; i++)
			p[i] = (uint8_t)rnd();
		p[0] = 0x40 | (p[0] & 0x3f);
		break;
	}
	n = pkt_build_udp(f, FRAME_MAX, &h, plen);
	assert_true(n > 0);
	return (size_t)n;
}

static void put16(uint8_t *p, unsigned int v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Mutate @f (of *@len bytes) in one of a few ways. */
static void mutate(uint8_t *f, size_t *len)
{
	size_t i, n, off;

	switch (rnd_below(7)) {
	case 0: /* flip a few random bytes */
		n = 1 + rnd_below(4);
		for (i = 0; i < n; i++)
			f[rnd_below((unsigned int)*len)] ^= (uint8_t)(1 + rnd_below(255));
		break;
	case 1: /* cut */
		*len = rnd_below((unsigned int)*len + 1);
		break;
	case 2: /* rewrite a 16-bit field in the first 80 bytes (lengths live there) */
		off = rnd_below(80);
		if (off + 2 <= *len)
			put16(f + off, rnd_below(4) ? rnd_below(65536) : rnd_below(64));
		break;
	case 3: /* a byte in the QUIC header region */
		off = 14 + rnd_below(100);
		if (off < *len)
			f[off] = (uint8_t)rnd();
		break;
	case 4: /* grow with noise */
		n = rnd_below(200);
		if (*len + n <= FRAME_MAX) {
			for (i = 0; i < n; i++)
				f[*len + i] = (uint8_t)rnd();
			*len += n;
		}
		break;
	case 5: /* pure noise, EtherType kept sometimes */
		for (i = 0; i < *len; i++)
			f[i] = (uint8_t)rnd();
		if (rnd_below(2))
			put16(f + 12, rnd_below(2) ? 0x0800 : 0x86dd);
		break;
	default: /* valid: left as built */
		break;
	}
}

static __u32 action_of(enum beam_reason r)
{
	switch (beam_reason_verdict(r)) {
	case BEAM_VERDICT_DROP:
		return XDP_DROP;
	case BEAM_VERDICT_REDIRECT:
		return XDP_REDIRECT;
	default:
		return XDP_PASS;
	}
}

static void test_xdp_fuzz_frames(void **state)
{
	struct beam_counter before[BEAM_REASON__MAX], after[BEAM_REASON__MAX];
	unsigned long seen[BEAM_REASON__MAX] = {0};
	struct beam_config cfg = {0};
	uint64_t seed;
	const char *env = getenv("BEAM_FUZZ_SEED");
	__u32 zero = 0, r;
	int i;

	(void)state;
	seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) * 2654435761u;
	rng = seed ? seed : 1;
	print_message("# seed %llu (BEAM_FUZZ_SEED=%llu replays it)\n", (unsigned long long)seed,
		      (unsigned long long)seed);
	cfg.ports[0] = BEAM_PORT;
	cfg.flags = BEAM_CFG_RATE_LIMIT | BEAM_CFG_STEER;
	cfg.initial_rate = 2;
	cfg.initial_burst = 8;
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(skel->maps.config), &zero, &cfg, 0), 0);

	xdp_fixture_read_stats(before);
	for (i = 0; i < NFRAMES; i++) {
		static uint8_t f[FRAME_MAX];
		LIBBPF_OPTS(bpf_test_run_opts, opts);
		size_t len = valid_frame(f);
		int moved = -1, nmoved = 0;

		mutate(f, &len);
		if (len < 14)
			len = 14; /* BPF_PROG_TEST_RUN wants an Ethernet header */
		opts.data_in = f;
		opts.data_size_in = (__u32)len;
		opts.repeat = 1;
		assert_int_equal(
			bpf_prog_test_run_opts(bpf_program__fd(skel->progs.beam_xdp), &opts), 0);
		xdp_fixture_read_stats(after);
		for (r = 0; r < BEAM_REASON__MAX; r++) {
			__u64 dp = after[r].packets - before[r].packets;
			__u64 db = after[r].bytes - before[r].bytes;

			if (!dp && !db)
				continue;
			nmoved++;
			moved = (int)r;
			if (dp != 1 || db != len)
				fail_msg("frame %d (%zu bytes): stats[%u] +%llu pkts, +%llu bytes",
					 i, len, r, (unsigned long long)dp, (unsigned long long)db);
		}
		if (nmoved != 1)
			fail_msg("frame %d (%zu bytes): %d reason counters moved, want exactly 1",
				 i, len, nmoved);
		if (opts.retval != action_of((enum beam_reason)moved))
			fail_msg("frame %d: action %u for reason %d, want %u", i, opts.retval,
				 moved, action_of((enum beam_reason)moved));
		seen[moved]++;
		memcpy(before, after, sizeof(before));
	}
	for (r = 0; r < BEAM_REASON__MAX; r++)
		print_message("# reason %u: %lu frames\n", r, seen[r]);
	/* the mutations reach every kind of outcome the program has */
	assert_true(seen[BEAM_REASON_TO_SOCKET] > 0);
	assert_true(seen[BEAM_REASON_MALFORMED] > 0);
	assert_true(seen[BEAM_REASON_SHORT_INITIAL] > 0);
	assert_true(seen[BEAM_REASON_INITIAL_RATE] > 0);
	assert_true(seen[BEAM_REASON_OTHER_PORT] > 0);
	assert_true(seen[BEAM_REASON_BAD_HEADER] > 0);
	assert_true(seen[BEAM_REASON_NOT_IP] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xdp_fuzz_frames),
	};

	if (geteuid() != 0)
		return fixture_skip_all(FIXTURE_NEEDS_ROOT);
	return cmocka_run_group_tests_name("beam_xdp_fuzz", tests, xdp_fixture_setup,
					   xdp_fixture_teardown);
}
