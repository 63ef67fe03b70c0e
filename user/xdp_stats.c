// SPDX-License-Identifier: MIT
/*
 * xdp_stats.c - read and format beam's XDP counters (see xdp_stats.h).
 */
#include "xdp_stats.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const reason_names[BEAM_REASON__MAX] = {
	[BEAM_REASON_NOT_IP] = "not_ip",
	[BEAM_REASON_NOT_UDP] = "not_udp",
	[BEAM_REASON_OTHER_PORT] = "other_port",
	[BEAM_REASON_FRAGMENT] = "fragment",
	[BEAM_REASON_UNKNOWN_VERSION] = "unknown_version",
	[BEAM_REASON_TO_SOCKET] = "to_socket",
	[BEAM_REASON_TO_XSK] = "to_xsk",
	[BEAM_REASON_MALFORMED] = "malformed",
	[BEAM_REASON_SHORT_INITIAL] = "short_initial",
	[BEAM_REASON_INITIAL_RATE] = "initial_rate",
	[BEAM_REASON_BAD_HEADER] = "bad_header",
};

static const char *const steer_miss_names[BEAM_STEER_MISS__MAX] = {
	[BEAM_STEER_MISS_OTHER_PORT] = "other_port",
	[BEAM_STEER_MISS_TOO_BIG] = "too_big",
	[BEAM_STEER_MISS_OTHER_WORKER] = "other_worker",
	[BEAM_STEER_MISS_NO_SOCKET] = "no_socket",
};

static const char *const verdict_names[BEAM_VERDICT__MAX] = {
	[BEAM_VERDICT_PASS] = "pass",
	[BEAM_VERDICT_DROP] = "drop",
	[BEAM_VERDICT_REDIRECT] = "redirect",
};

static const char *const conn_state_names[BEAM_CONN__MAX] = {
	[BEAM_CONN_HANDSHAKE] = "handshake",
	[BEAM_CONN_ESTABLISHED] = "established",
	[BEAM_CONN_DRAINING] = "draining",
	[BEAM_CONN_CLOSING] = "closing",
};

const char *xdp_stats_conn_state_name(unsigned int state)
{
	return state < BEAM_CONN__MAX ? conn_state_names[state] : "unknown";
}

int xdp_conns_read(int fd, struct beam_cid **keys, struct beam_conn **conns, size_t *n)
{
	struct beam_cid *k = NULL, cur, next;
	struct beam_conn *v = NULL;
	size_t cap = 0, used = 0;
	void *grown;
	int err = 0;

	while (!bpf_map_get_next_key(fd, used ? &cur : NULL, &next) && used < BEAM_CONNS_MAX) {
		cur = next;
		if (used == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(k, cap * sizeof(*k));
			if (!grown)
				goto nomem;
			k = grown;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown)
				goto nomem;
			v = grown;
		}
		/* An entry deleted since get_next_key is skipped. */
		if (bpf_map_lookup_elem(fd, &cur, &v[used]))
			continue;
		k[used++] = cur;
	}
	*keys = k;
	*conns = v;
	*n = used;
	return err;
nomem:
	free(k);
	free(v);
	return -ENOMEM;
}

const char *xdp_stats_reason_name(unsigned int reason)
{
	return reason < BEAM_REASON__MAX && reason_names[reason] ? reason_names[reason] : "unknown";
}

const char *xdp_stats_verdict_name(unsigned int verdict)
{
	return verdict < BEAM_VERDICT__MAX ? verdict_names[verdict] : "unknown";
}

/*
 * Sum the per-CPU array @fd, keys 0 to @nkeys - 1, whose values are @words
 * 64-bit counters each, into @out (@nkeys * @words of them).
 */
static int percpu_sum(int fd, __u32 nkeys, unsigned int words, __u64 *out)
{
	int ncpus = libbpf_num_possible_cpus(), err = 0, c;
	unsigned int w;
	__u64 *percpu;
	__u32 k;

	if (ncpus <= 0)
		return ncpus < 0 ? ncpus : -EINVAL;

	percpu = calloc((size_t)ncpus * words, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;

	memset(out, 0, sizeof(*out) * nkeys * words);
	for (k = 0; k < nkeys; k++) {
		if (bpf_map_lookup_elem(fd, &k, percpu)) {
			err = -errno;
			break;
		}
		for (c = 0; c < ncpus; c++)
			for (w = 0; w < words; w++)
				out[k * words + w] += percpu[(size_t)c * words + w];
	}
	free(percpu);
	return err;
}

int xdp_stats_read(int fd, struct beam_counter out[BEAM_REASON__MAX])
{
	__u64 sums[BEAM_REASON__MAX * 2];
	int err = percpu_sum(fd, BEAM_REASON__MAX, 2, sums);
	__u32 r;

	for (r = 0; r < BEAM_REASON__MAX; r++) {
		out[r].packets = sums[2 * r];
		out[r].bytes = sums[2 * r + 1];
	}
	return err;
}

const char *xdp_stats_steer_miss_name(unsigned int miss)
{
	return miss < BEAM_STEER_MISS__MAX && steer_miss_names[miss] ? steer_miss_names[miss]
								     : "unknown";
}

int xdp_steer_misses_read(int fd, __u64 out[BEAM_STEER_MISS__MAX])
{
	return percpu_sum(fd, BEAM_STEER_MISS__MAX, 1, out);
}

void xdp_stats_verdicts(const struct beam_counter reasons[BEAM_REASON__MAX],
			struct beam_counter out[BEAM_VERDICT__MAX])
{
	unsigned int r, v;

	memset(out, 0, sizeof(*out) * BEAM_VERDICT__MAX);
	for (r = 0; r < BEAM_REASON__MAX; r++) {
		v = beam_reason_verdict(r);
		out[v].packets += reasons[r].packets;
		out[v].bytes += reasons[r].bytes;
	}
}

static int flow_cmp(const void *a, const void *b)
{
	const struct beam_flow *x = &((const struct xdp_flow_entry *)a)->flow;
	const struct beam_flow *y = &((const struct xdp_flow_entry *)b)->flow;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	if (x->packets != y->packets)
		return x->packets < y->packets ? 1 : -1;
	return 0;
}

void xdp_flows_sort(struct xdp_flow_entry *flows, size_t n)
{
	qsort(flows, n, sizeof(*flows), flow_cmp);
}

int xdp_flows_read(int fd, struct xdp_flow_entry **out, size_t *n)
{
	struct beam_flow_key key, next;
	struct xdp_flow_entry *v = NULL, *grown;
	size_t len = 0, cap = 0;
	void *prev = NULL;

	/* An LRU map can evict the key we iterate from: get_next_key then
	 * restarts from the first key, so bound the walk by the map size. */
	while (len < BEAM_FLOWS_MAX && !bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (len == cap) {
			cap = cap ? cap * 2 : 256;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown) {
				free(v);
				return -ENOMEM;
			}
			v = grown;
		}
		if (bpf_map_lookup_elem(fd, &key, &v[len].flow))
			continue;
		v[len].key = key;
		len++;
	}
	xdp_flows_sort(v, len);
	*out = v;
	*n = len;
	return 0;
}

int xdp_map_count(int fd, unsigned int limit, unsigned int *n)
{
	__u8 key[64], next[64];
	struct bpf_map_info info;
	__u32 info_len = sizeof(info);
	void *prev = NULL;
	unsigned int count = 0;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
		return -errno;
	if (info.key_size > sizeof(key))
		return -E2BIG;

	while (count < limit && !bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, info.key_size);
		prev = key;
		count++;
	}
	*n = count;
	return 0;
}

int xdp_addr_is_v4(const __u8 addr[16])
{
	static const __u8 prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return !memcmp(addr, prefix, sizeof(prefix));
}

char *xdp_fmt_addr(const __u8 addr[16], char *buf, size_t size)
{
	char tmp[INET6_ADDRSTRLEN];

	if (xdp_addr_is_v4(addr))
		inet_ntop(AF_INET, addr + 12, tmp, sizeof(tmp));
	else
		inet_ntop(AF_INET6, addr, tmp, sizeof(tmp));
	snprintf(buf, size, "%s", tmp);
	return buf;
}

/* @v scaled by @base through @units; "%.1f" once past the first unit. */
static char *fmt_scaled(unsigned long long v, unsigned int base, const char *const *units,
			int nunits, const char *sep, char *buf, size_t size)
{
	double d = v;
	int u = 0;

	if (v < base) {
		snprintf(buf, size, "%llu%s%s", v, *units[0] ? sep : "", units[0]);
		return buf;
	}
	while (d >= base && u < nunits - 1) {
		d /= base;
		u++;
	}
	snprintf(buf, size, "%.1f%s%s", d, sep, units[u]);
	return buf;
}

char *xdp_fmt_bytes(unsigned long long v, char *buf, size_t size)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

	return fmt_scaled(v, 1024, units, 7, " ", buf, size);
}

char *xdp_fmt_count(unsigned long long v, char *buf, size_t size)
{
	static const char *const units[] = {"", "k", "M", "G", "T", "P", "E"};

	return fmt_scaled(v, 1000, units, 7, "", buf, size);
}

char *xdp_fmt_ns(unsigned long long ns, char *buf, size_t size)
{
	double s = ns / 1e9;

	if (ns < 1000)
		snprintf(buf, size, "%lluns", ns);
	else if (ns < 1000000)
		snprintf(buf, size, "%.1fus", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, size, "%.1fms", ns / 1e6);
	else if (s < 60)
		snprintf(buf, size, "%.1fs", s);
	else if (s < 3600)
		snprintf(buf, size, "%.1fm", s / 60);
	else if (s < 86400)
		snprintf(buf, size, "%.1fh", s / 3600);
	else
		snprintf(buf, size, "%.1fd", s / 86400);
	return buf;
}

char *xdp_fmt_hex(const __u8 *data, size_t len, char *buf, size_t size)
{
	size_t i;

	if (!size)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < len && 2 * i + 2 < size; i++)
		snprintf(buf + 2 * i, size - 2 * i, "%02x", data[i]);
	return buf;
}
