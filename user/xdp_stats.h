/* SPDX-License-Identifier: MIT */
/*
 * xdp_stats.h - reading beam's XDP counters: the per-CPU `stats` map summed
 * over CPUs, the `flows` map sorted busiest first, entry counts of hash maps,
 * and the names and human units `beam-xdp` (and /metrics) print them with.
 */
#ifndef BEAM_XDP_STATS_H
#define BEAM_XDP_STATS_H

#include <stddef.h>

#include "beam_maps.h"

/* A flow as read from the `flows` map. */
struct xdp_flow_entry {
	struct beam_flow_key key;
	struct beam_flow flow;
};

/* Stable lower-case name of @reason ("to_socket", "short_initial", ...), or
 * "unknown" out of range. Names are part of the JSON and metrics output. */
const char *xdp_stats_reason_name(unsigned int reason);

/* "handshake", "established", "draining", "closing" (enum beam_conn_state);
 * "unknown" out of range. */
const char *xdp_stats_conn_state_name(unsigned int state);

/*
 * Read every entry of the `conns` map @fd into a new array (keys in @keys,
 * values in @conns, both the caller's to free()), at most BEAM_CONNS_MAX.
 * Returns 0 or -errno.
 */
int xdp_conns_read(int fd, struct beam_cid **keys, struct beam_conn **conns, size_t *n);

/* "pass", "drop" or "redirect"; "unknown" out of range. */
const char *xdp_stats_verdict_name(unsigned int verdict);

/*
 * Sum the per-CPU `stats` map @fd into @out (indexed by enum beam_reason).
 * Returns 0, or -errno from the map lookup (-ENOMEM without memory).
 */
int xdp_stats_read(int fd, struct beam_counter out[BEAM_REASON__MAX]);

/* Stable lower-case name of @miss ("no_socket", "other_worker", "too_big",
 * "other_port"), or "unknown" out of range: the metrics' cause label. */
const char *xdp_stats_steer_miss_name(unsigned int miss);

/*
 * Sum the per-CPU `steer_misses` map @fd into @out (indexed by enum
 * beam_steer_miss). Returns 0, or -errno from the map lookup (-ENOMEM
 * without memory).
 */
int xdp_steer_misses_read(int fd, __u64 out[BEAM_STEER_MISS__MAX]);

/* Fold reason counters into verdict totals (indexed by enum beam_verdict). */
void xdp_stats_verdicts(const struct beam_counter reasons[BEAM_REASON__MAX],
			struct beam_counter out[BEAM_VERDICT__MAX]);

/*
 * Read every entry of the `flows` map @fd into a new array, busiest first
 * (bytes, then packets). *@out is the caller's to free(); *@n its length.
 * Entries that vanish while reading (LRU eviction) are skipped. Returns 0 or
 * -errno (-ENOMEM).
 */
int xdp_flows_read(int fd, struct xdp_flow_entry **out, size_t *n);

/* Sort @n flows busiest first, as xdp_flows_read() returns them. */
void xdp_flows_sort(struct xdp_flow_entry *flows, size_t n);

/* Count the entries of the hash map @fd into *@n (at most @limit counted).
 * Returns 0 or -errno. */
int xdp_map_count(int fd, unsigned int limit, unsigned int *n);

/*
 * Formatting, all into @buf of @size bytes (truncating, always terminated):
 *   xdp_fmt_addr:  "10.0.0.1" for an IPv4-mapped address, else "fd00::1"
 *   xdp_fmt_bytes: 999 -> "999 B", 1536 -> "1.5 KiB", ... up to "EiB"
 *   xdp_fmt_count: 999 -> "999", 1234 -> "1.2k", 5600000 -> "5.6M", ... "E"
 *   xdp_fmt_ns:    a duration: "850ns", "1.2ms", "3.4s", "2.0m", "5.1h", "3.0d"
 *   xdp_fmt_hex:   @len bytes as lower-case hex ("" when @len is 0)
 * Each returns @buf.
 */
char *xdp_fmt_addr(const __u8 addr[16], char *buf, size_t size);
char *xdp_fmt_bytes(unsigned long long v, char *buf, size_t size);
char *xdp_fmt_count(unsigned long long v, char *buf, size_t size);
char *xdp_fmt_ns(unsigned long long ns, char *buf, size_t size);
char *xdp_fmt_hex(const __u8 *data, size_t len, char *buf, size_t size);

/* True when @addr is IPv4-mapped (::ffff:a.b.c.d). */
int xdp_addr_is_v4(const __u8 addr[16]);

#endif /* BEAM_XDP_STATS_H */
