// SPDX-License-Identifier: MIT
/*
 * xdp-prog-cost.c - nanoseconds beam's XDP program spends on one frame,
 * against the empty XDP program, through BPF_PROG_TEST_RUN with a large repeat
 * count (the kernel times the loop). The program alone, without driver or
 * stack: a measure that other load on the machine disturbs far less than a
 * packet rate does.
 *
 *   xdp-prog-cost [REPEAT]     (default 2000000)
 *
 * Prints one line per frame kind: "KIND empty_ns beam_ns".
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "beam_maps.h"
#include "beam_xdp.skel.h"
#include "xdp_empty.skel.h"

struct kind {
	const char *name;
	__u16 dport;
	unsigned int payload;
	__u8 first; /* first payload byte */
};

static const struct kind kinds[] = {
	{"udp_other_port", 9, 16, 0},		 /* not beam's: XDP_PASS */
	{"junk_to_beam", 4433, 16, 0},		 /* short header too short: XDP_DROP */
	{"quic_short_header", 4433, 60, 0x41},	 /* QUIC 1-RTT to beam: XDP_PASS */
	{"quic_initial_1200", 4433, 1200, 0xc3}, /* v1 Initial: rate limiter too */
};

/* Ethernet + IPv4 + UDP + payload; a v1 long header if @first says so. */
static size_t build(const struct kind *k, __u8 *f)
{
	size_t len = 14 + 20 + 8 + k->payload;
	__u8 *ip = f + 14, *udp = ip + 20, *q = udp + 8;

	memset(f, 0, len);
	f[12] = ETH_P_IP >> 8;
	f[13] = ETH_P_IP & 0xff;
	ip[0] = 0x45;
	ip[2] = (20 + 8 + k->payload) >> 8;
	ip[3] = (20 + 8 + k->payload) & 0xff;
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	ip[12] = 10, ip[15] = 2;
	ip[16] = 10, ip[19] = 1;
	udp[0] = 0x9c, udp[1] = 0x40;
	udp[2] = k->dport >> 8;
	udp[3] = k->dport & 0xff;
	udp[4] = (8 + k->payload) >> 8;
	udp[5] = (8 + k->payload) & 0xff;
	q[0] = k->first;
	if (k->first & 0x80) {
		q[4] = 1; /* version 1 */
		q[5] = 8; /* DCID length, then 8 zero bytes and SCID length 0 */
	}
	return len;
}

static int time_prog(int fd, const void *frame, size_t len, int repeat, double *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len,
		    .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &opts))
		return -errno;
	*ns = opts.duration; /* the kernel's average per run, in ns */
	return 0;
}

int main(int argc, char **argv)
{
	int repeat = argc > 1 ? atoi(argv[1]) : 2000000, err = 0;
	struct beam_config cfg = {0};
	struct xdp_empty *empty;
	struct beam_xdp *beam;
	static __u8 frame[2048];
	double e_ns = 0, b_ns = 0;
	__u32 zero = 0;
	size_t i, len;

	beam = beam_xdp__open_and_load();
	empty = xdp_empty__open_and_load();
	if (!beam || !empty) {
		fprintf(stderr, "xdp-prog-cost: failed to load the programs: %s\n",
			strerror(errno));
		return 1;
	}
	cfg.ports[0] = 4433; /* host byte order, like every port in beam_maps.h */
	cfg.flags = BEAM_CFG_STEER | BEAM_CFG_RATE_LIMIT;
	cfg.initial_rate = BEAM_INITIAL_RATE_MAX; /* measure the limiter, not its drops */
	cfg.initial_burst = 1000000;
	bpf_map_update_elem(bpf_map__fd(beam->maps.config), &zero, &cfg, 0);

	printf("%-20s %10s %10s\n", "frame", "empty_ns", "beam_ns");
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		len = build(&kinds[i], frame);
		err = time_prog(bpf_program__fd(empty->progs.xdp_empty), frame, len, repeat, &e_ns);
		if (!err)
			err = time_prog(bpf_program__fd(beam->progs.beam_xdp), frame, len, repeat,
					&b_ns);
		if (err) {
			fprintf(stderr, "xdp-prog-cost: test run failed: %s\n", strerror(-err));
			break;
		}
		printf("%-20s %10.1f %10.1f\n", kinds[i].name, e_ns, b_ns);
	}
	beam_xdp__destroy(beam);
	xdp_empty__destroy(empty);
	return err ? 1 : 0;
}
