// SPDX-License-Identifier: MIT
/*
 * fuzz-seeds.c - write the seed corpora of the pkt_hdr and netaddr fuzz
 * targets with the real encoders (pkt_build_udp, tls_fp_format), plus the
 * edge cases made by editing those frames: options, extension headers,
 * fragments, tags, cuts, wrong lengths and checksums.
 *
 *   fuzz-seeds DIR    writes DIR/pkt_hdr/<name> and DIR/netaddr/<name>
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "csum.h"
#include "pkt_hdr.h"
#include "tls.h"

#define FRAME_CAP 2048

static const char *out_dir;
static int failures;

static void write_seed(const char *target, const char *name, const void *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", out_dir, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len) {
		fprintf(stderr, "fuzz-seeds: failed to write '%s': %s\n", path, strerror(errno));
		failures++;
	}
	if (f)
		fclose(f);
}

static void hdr(struct pkt_udp *h, int family, int nvlan)
{
	static const uint8_t s4[4] = {10, 77, 2, 2}, d4[4] = {10, 77, 2, 1};
	static const uint8_t s6[16] = {0xfd, 0x77, 0, 2, [15] = 2};
	static const uint8_t d6[16] = {0xfd, 0x77, 0, 2, [15] = 1};
	int i;

	memset(h, 0, sizeof(*h));
	memset(h->dst_mac, 0x02, PKT_ETH_ALEN);
	memset(h->src_mac, 0x04, PKT_ETH_ALEN);
	h->family = (uint8_t)family;
	h->tos = 2;
	h->ttl = 64;
	if (family == AF_INET) {
		memcpy(h->saddr, s4, 4);
		memcpy(h->daddr, d4, 4);
	} else {
		memcpy(h->saddr, s6, 16);
		memcpy(h->daddr, d6, 16);
		h->flow_label = 0x12345;
	}
	h->sport = 40001;
	h->dport = 4433;
	h->nvlan = (uint8_t)nvlan;
	for (i = 0; i < nvlan; i++) {
		h->vlan_tpid[i] = i == 0 && nvlan > 1 ? 0x88a8 : 0x8100;
		h->vlan_tci[i] = (uint16_t)(100 + i);
	}
}

/* A QUIC-looking payload: a v1 Initial's first bytes, or a short header. */
static size_t build(uint8_t *f, const struct pkt_udp *h, size_t plen, bool initial)
{
	uint8_t *p = f + pkt_udp_hdr_len(h);
	size_t i;
	int n;

	for (i = 0; i < plen; i++)
		p[i] = (uint8_t)(i * 13 + 5);
	if (plen > 7) {
		p[0] = initial ? 0xc3 : 0x41;
		if (initial) {
			p[1] = p[2] = p[3] = 0;
			p[4] = 1;
			p[5] = 8;
		}
	}
	n = pkt_build_udp(f, FRAME_CAP, h, plen);
	if (n < 0) {
		fprintf(stderr, "fuzz-seeds: pkt_build_udp failed: %s\n", strerror(-n));
		failures++;
		return 0;
	}
	return (size_t)n;
}

static void put16(uint8_t *p, unsigned int v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Insert @n bytes at @off of the frame (of *@len bytes). */
static uint8_t *insert(uint8_t *f, size_t *len, size_t off, size_t n)
{
	memmove(f + off + n, f + off, *len - off);
	memset(f + off, 0, n);
	*len += n;
	return f + off;
}

static void refix_ipv4(uint8_t *ip)
{
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	uint16_t c;

	ip[10] = ip[11] = 0;
	c = csum_ipv4_hdr(ip, ihl);
	memcpy(ip + 10, &c, 2);
}

static void pkt_seeds(void)
{
	uint8_t f[FRAME_CAP], *ip, *e;
	struct pkt_udp h;
	size_t n, l3;

	hdr(&h, AF_INET, 0);
	n = build(f, &h, 1200, true);
	write_seed("pkt_hdr", "ipv4-initial", f, n);
	write_seed("pkt_hdr", "ipv4-cut-udp", f, 14 + 20 + 4);
	write_seed("pkt_hdr", "eth-only", f, 14);
	f[14 + 20 + 6] ^= 0x55;
	write_seed("pkt_hdr", "ipv4-bad-udp-csum", f, n);
	f[14 + 20 + 6] = f[14 + 20 + 7] = 0;
	write_seed("pkt_hdr", "ipv4-no-udp-csum", f, n);

	n = build(f, &h, 60, false);
	write_seed("pkt_hdr", "ipv4-short-header", f, n);
	f[14 + 20 + 4] = 0xff; /* UDP length past the IP payload */
	write_seed("pkt_hdr", "ipv4-udp-len-long", f, n);
	n = build(f, &h, 60, false);
	f[14 + 10] ^= 1;
	write_seed("pkt_hdr", "ipv4-bad-ip-csum", f, n);
	n = build(f, &h, 60, false);
	put16(f + 14 + 6, 0x2000); /* more fragments */
	refix_ipv4(f + 14);
	write_seed("pkt_hdr", "ipv4-fragment", f, n);
	n = build(f, &h, 60, false);
	f[14 + 12] = 224; /* multicast source */
	refix_ipv4(f + 14);
	write_seed("pkt_hdr", "ipv4-mcast-src", f, n);
	n = build(f, &h, 60, false);
	f[14] = 0x44; /* IHL 4 */
	write_seed("pkt_hdr", "ipv4-ihl-4", f, n);

	/* IPv4 options: 8 bytes of NOPs, lengths and checksums redone */
	n = build(f, &h, 100, false);
	ip = f + 14;
	insert(f, &n, 14 + 20, 8);
	memset(ip + 20, 1, 8);
	ip[0] = 0x47;
	put16(ip + 2, (unsigned int)(n - 14));
	refix_ipv4(ip);
	write_seed("pkt_hdr", "ipv4-options", f, n);

	hdr(&h, AF_INET, 1);
	n = build(f, &h, 200, false);
	write_seed("pkt_hdr", "vlan-ipv4", f, n);
	hdr(&h, AF_INET6, 2);
	n = build(f, &h, 1200, true);
	write_seed("pkt_hdr", "qinq-ipv6-initial", f, n);
	put16(f + 12, 0x8100);
	put16(f + 16, 0x8100);
	put16(f + 20, 0x8100);
	write_seed("pkt_hdr", "three-tags", f, n);

	hdr(&h, AF_INET6, 0);
	n = build(f, &h, 60, false);
	write_seed("pkt_hdr", "ipv6-short-header", f, n);
	write_seed("pkt_hdr", "ipv6-cut", f, 14 + 39);
	f[14 + 40 + 6] = f[14 + 40 + 7] = 0;
	write_seed("pkt_hdr", "ipv6-zero-csum", f, n);
	n = build(f, &h, 60, false);
	f[14 + 4] = f[14 + 5] = 0; /* payload length 0: jumbo */
	write_seed("pkt_hdr", "ipv6-jumbo", f, n);

	/* IPv6 with hop-by-hop, destination options and an atomic fragment:
	 * the UDP checksum does not cover them, so it stays right. */
	n = build(f, &h, 60, false);
	l3 = 14;
	e = insert(f, &n, l3 + 40, 24);
	e[0] = 60;  /* hop-by-hop -> dest opts */
	e[8] = 44;  /* dest opts -> fragment */
	e[16] = 17; /* fragment -> UDP, offset 0, no more: atomic */
	f[l3 + 6] = 0;
	put16(f + l3 + 4, (unsigned int)(n - l3 - 40));
	write_seed("pkt_hdr", "ipv6-ext-atomic-frag", f, n);
	e[19] = 1; /* more fragments */
	write_seed("pkt_hdr", "ipv6-fragment", f, n);
	e[1] = 200; /* an extension header longer than the packet */
	write_seed("pkt_hdr", "ipv6-ext-overrun", f, n);

	f[12] = 0x08;
	f[13] = 0x06; /* ARP */
	write_seed("pkt_hdr", "arp", f, 42);
}

static void netaddr_seeds(void)
{
	static const char *const strs[][2] = {
		{"v4", "10.77.2.1:4433"},
		{"v6", "[fd77:2::1]:4433"},
		{"name", "edge.example:4433"},
		{"bare-port", "8080"},
		{"empty-host", ":8080"},
		{"bare-v6", "fd77::1:4433"},
		{"no-port", "10.0.0.1:"},
		{"big-port", "10.0.0.1:65536"},
		{"neg-port", "10.0.0.1:-1"},
		{"bracket-open", "[::1"},
		{"bracket-no-colon", "[::1]4433"},
		{"pin-colons",
		 "SHA256:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:"
		 "ab:cd:ef:01:23:45:67:89:ab:cd:ef"},
		{"pin-odd", "SHA256:0"},
	};
	uint8_t buf[300], fp[TLS_FP_LEN];
	char pin[TLS_FP_STR_LEN];
	size_t i, l;

	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		l = strlen(strs[i][1]);
		buf[0] = i & 1 ? 255 : 15; /* host buffer 256 or 16 bytes */
		memcpy(buf + 1, strs[i][1], l);
		write_seed("netaddr", strs[i][0], buf, l + 1);
	}
	for (i = 0; i < TLS_FP_LEN; i++)
		fp[i] = (uint8_t)(i * 37);
	tls_fp_format(fp, pin);
	buf[0] = 255;
	l = strlen(pin);
	memcpy(buf + 1, pin, l);
	write_seed("netaddr", "pin", buf, l + 1);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz-seeds DIR\n");
		return 2;
	}
	out_dir = argv[1];
	pkt_seeds();
	netaddr_seeds();
	return failures ? 1 : 0;
}
