// SPDX-License-Identifier: MIT
/*
 * edge_stats.c - publish the edge's counts to the metrics thread and render
 * them, with the latency histograms and XDP counters, as Prometheus text.
 */
#include "edge_stats.h"

#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "xdp_loader.h"
#include "xdp_stats.h"

/* One worker's last published counts. */
struct pub_slot {
	pthread_mutex_t lock;
	struct edge_stats shown; /* under @lock */
	uint64_t published_ns;	 /* CLOCK_MONOTONIC of the last publish, under @lock */
};

/* The maps of one interface, opened before beamd gave up root. */
struct held_iface {
	char ifname[IF_NAMESIZE];
	int stats;
	int flows;
	int steer_misses; /* -1: pinned by a program without that map */
	unsigned int flows_max;
};

#define HELD_IFACES_MAX 32

struct edge_stats_pub {
	const struct beam_hist *latency;
	const char *pin_root;
	struct held_iface held[HELD_IFACES_MAX];
	unsigned int nheld;
	bool holding; /* render from @held, not from the pins */
	unsigned int nworkers;
	struct pub_slot slot[];
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int edge_stats_pub_new(struct edge_stats_pub **out, const struct beam_hist *latency,
		       const char *pin_root, unsigned int nworkers)
{
	struct edge_stats_pub *p;
	unsigned int i;

	if (!nworkers)
		return -EINVAL;
	p = calloc(1, sizeof(*p) + nworkers * sizeof(p->slot[0]));
	if (!p)
		return -ENOMEM;
	for (i = 0; i < nworkers; i++)
		pthread_mutex_init(&p->slot[i].lock, NULL);
	p->nworkers = nworkers;
	p->latency = latency;
	p->pin_root = pin_root;
	*out = p;
	return 0;
}

static int hold_cb(const char *ifname, void *arg)
{
	struct edge_stats_pub *p = arg;
	struct held_iface *h;
	struct xdp_maps m;

	if (p->nheld >= HELD_IFACES_MAX) {
		pr_warn("/metrics shows the XDP counters of %d interfaces at most: '%s' left out",
			HELD_IFACES_MAX, ifname);
		return 0;
	}
	if (xdp_maps_open_pinned(&m, p->pin_root, ifname))
		return 0;
	h = &p->held[p->nheld++];
	snprintf(h->ifname, sizeof(h->ifname), "%s", ifname);
	h->stats = m.stats;
	h->flows = m.flows;
	h->steer_misses = m.steer_misses;
	h->flows_max = xdp_map_max_entries(m.flows);
	m.stats = -1;
	m.flows = -1;
	m.steer_misses = -1;
	xdp_maps_close(&m);
	return 0;
}

int edge_stats_pub_hold_xdp(struct edge_stats_pub *p)
{
	int err;

	err = xdp_loader_for_each_pinned(p->pin_root, hold_cb, p);
	p->holding = true;
	return err;
}

void edge_stats_pub_free(struct edge_stats_pub *p)
{
	unsigned int i;

	if (!p)
		return;
	for (i = 0; i < p->nheld; i++) {
		close(p->held[i].stats);
		close(p->held[i].flows);
		if (p->held[i].steer_misses >= 0)
			close(p->held[i].steer_misses);
	}
	for (i = 0; i < p->nworkers; i++)
		pthread_mutex_destroy(&p->slot[i].lock);
	free(p);
}

/* Copy the fixed part and only the tunnel entries in use. */
static void stats_copy(struct edge_stats *dst, const struct edge_stats *src)
{
	size_t n = src->ntunnels <= EDGE_STATS_TUNNELS_MAX ? src->ntunnels : EDGE_STATS_TUNNELS_MAX;

	memcpy(dst, src, offsetof(struct edge_stats, tunnels));
	dst->ntunnels = n;
	memcpy(dst->tunnels, src->tunnels, n * sizeof(src->tunnels[0]));
}

void edge_stats_publish(struct edge_stats_pub *p, unsigned int worker, const struct edge_stats *s)
{
	struct pub_slot *sl;

	if (worker >= p->nworkers)
		return;
	sl = &p->slot[worker];
	pthread_mutex_lock(&sl->lock);
	stats_copy(&sl->shown, s);
	sl->published_ns = mono_ns();
	pthread_mutex_unlock(&sl->lock);
}

bool edge_stats_fresh(struct edge_stats_pub *p)
{
	uint64_t last, now = mono_ns();
	unsigned int i;

	for (i = 0; i < p->nworkers; i++) {
		pthread_mutex_lock(&p->slot[i].lock);
		last = p->slot[i].published_ns;
		pthread_mutex_unlock(&p->slot[i].lock);
		if (!last || now - last >= 10ull * EDGE_STATS_PERIOD_MS * 1000000ull)
			return false;
	}
	return true;
}

#define ADD(f) (dst->f += src->f)

/* Fold one worker's counts into @dst: sums, and its tunnels appended. */
static void stats_add(struct edge_stats *dst, const struct edge_stats *src)
{
	unsigned int i;
	size_t t;

	for (i = 0; i < BEAM_CONN__MAX; i++)
		ADD(conns[i]);
	ADD(handshakes_ok);
	ADD(handshakes_failed);
	ADD(auth_failed);
	ADD(auth_throttled);
	for (i = 0; i < EDGE_GONE__MAX; i++)
		ADD(agents_gone[i]);
	ADD(streams_active);
	ADD(streams_ok);
	ADD(streams_reset);
	ADD(quic_bytes_in);
	ADD(quic_bytes_out);
	for (i = 0; i < PROTO_KIND__MAX; i++)
		ADD(tunnels_active[i]);
	ADD(tunnels_grace);
	for (i = 0; i < EDGE_LIMIT__MAX; i++)
		ADD(limit_hits[i]);
	ADD(stream_buffer_bytes);
	ADD(retries_sent);
	ADD(pmtu_black_holes);
	ADD(tails_active);
	ADD(tails_completed);
	ADD(tails_reset);
	for (i = 0; i < QUIC_STATELESS__MAX; i++)
		ADD(stateless_limited[i]);
	ADD(handshakes_in_progress);
	dst->retry_active |= src->retry_active;
	ADD(udp_to_agent);
	ADD(udp_to_public);
	ADD(udp_flows);
	for (i = 0; i < EDGE_UDP_DROP__MAX; i++)
		ADD(udp_drops[i]);
	ADD(handoffs_tunnel);
	ADD(handoffs_http);
	dst->http_on |= src->http_on;
	ADD(http_routed);
	ADD(http_waiting);
	for (i = 0; i < EDGE_HTTP_ANSWER__MAX; i++)
		ADD(http_answered[i]);
	dst->xsk_on |= src->xsk_on;
	ADD(xsk_rx);
	ADD(xsk_tx);
	ADD(sock_rx);
	ADD(sock_tx);
	ADD(path_fallbacks);
	ADD(path_dropped);
	for (i = 0; i < PKT_ERR__MAX; i++)
		ADD(xsk_rx_bad[i]);
	ADD(xsk_rx_other_port);
	ADD(xsk_rx_vlan_unknown);
	for (i = 0; i < PKT_MAX_VLANS; i++)
		ADD(xsk_rx_vlan[i]);
	ADD(hop_changed);
	ADD(hop_unproven);
	ADD(hop_kept);
	ADD(xsk_tx_both_paths);
	for (t = 0; t < src->ntunnels && dst->ntunnels < EDGE_STATS_TUNNELS_MAX; t++)
		dst->tunnels[dst->ntunnels++] = src->tunnels[t];
}

#undef ADD

static const char *const kind_names[PROTO_KIND__MAX] = {
	[PROTO_KIND_TCP] = "tcp",
	[PROTO_KIND_HTTP] = "http",
	[PROTO_KIND_UDP] = "udp",
};

static const char *const gone_names[EDGE_GONE__MAX] = {
	[EDGE_GONE_CLOSED] = "closed_by_agent",
	[EDGE_GONE_IDLE] = "idle_timeout",
	[EDGE_GONE_UNRESPONSIVE] = "unresponsive",
	[EDGE_GONE_BEAMD] = "closed_by_beamd",
	[EDGE_GONE_ERROR] = "error",
};

static const char *const stateless_kinds[QUIC_STATELESS__MAX] = {
	[QUIC_STATELESS_RETRY] = "retry",
	[QUIC_STATELESS_VN] = "version_negotiation",
	[QUIC_STATELESS_RESET] = "stateless_reset",
};

static const char stateless_help[] =
	"Retry, Version Negotiation and stateless reset packets not sent: over --stateless-rate.";

static void labeled(struct prom_buf *out, const char *name, const char *key, const char *value,
		    uint64_t v)
{
	char labels[PROM_LABELS_MAX];

	prom_labels(labels, sizeof(labels), key, value, NULL);
	prom_sample_u64(out, name, labels, v);
}

/* A family of one sample without labels. */
static void family_one(struct prom_buf *out, const char *name, enum prom_type type,
		       const char *help, uint64_t v)
{
	prom_family(out, name, type, help);
	prom_sample_u64(out, name, NULL, v);
}

/* A family of @n samples, sample i labeled @key="@values[i]" with value @v[i]. */
static void family_by(struct prom_buf *out, const char *name, enum prom_type type, const char *help,
		      const char *key, const char *const *values, const uint64_t *v, unsigned int n)
{
	unsigned int i;

	prom_family(out, name, type, help);
	for (i = 0; i < n; i++)
		labeled(out, name, key, values[i], v[i]);
}

static void render_connections(struct prom_buf *out, const struct edge_stats *s)
{
	const char *states[BEAM_CONN__MAX];
	unsigned int i;

	for (i = 0; i < BEAM_CONN__MAX; i++)
		states[i] = xdp_stats_conn_state_name(i);
	family_by(out, "beam_quic_connections", PROM_GAUGE,
		  "Live QUIC connections from agents, by state.", "state", states, s->conns,
		  BEAM_CONN__MAX);
	prom_family(out, "beam_quic_handshakes_total", PROM_COUNTER,
		    "QUIC handshakes with agents, by result.");
	labeled(out, "beam_quic_handshakes_total", "result", "ok", s->handshakes_ok);
	labeled(out, "beam_quic_handshakes_total", "result", "failed", s->handshakes_failed);
	family_one(out, "beam_quic_handshakes_in_progress", PROM_GAUGE,
		   "QUIC handshakes begun and not finished.", s->handshakes_in_progress);
	family_one(out, "beam_quic_retry_active", PROM_GAUGE,
		   "1 while new clients must pass a Retry (--retry, or over --retry-above).",
		   s->retry_active);
	family_one(out, "beam_quic_retries_total", PROM_COUNTER, "QUIC Retry packets sent.",
		   s->retries_sent);
	family_one(out, "beam_pmtu_black_holes_total", PROM_COUNTER,
		   "Path MTU black holes found: a connection fell back to 1200-byte packets.",
		   s->pmtu_black_holes);
	family_one(out, "beam_stream_tails_active", PROM_GAUGE,
		   "Public connections still taking the last bytes of a stream whose agent "
		   "connection ended.",
		   s->tails_active);
	prom_family(out, "beam_stream_tails_total", PROM_COUNTER,
		    "Streams that outlived their agent connection, by how their last bytes went.");
	labeled(out, "beam_stream_tails_total", "result", "completed", s->tails_completed);
	labeled(out, "beam_stream_tails_total", "result", "reset", s->tails_reset);
	family_by(out, "beam_quic_stateless_limited_total", PROM_COUNTER, stateless_help, "kind",
		  stateless_kinds, s->stateless_limited, QUIC_STATELESS__MAX);
	family_one(out, "beam_agent_auth_failures_total", PROM_COUNTER,
		   "Agents refused for an unknown token.", s->auth_failed);
	family_one(out, "beam_agent_auth_throttled_total", PROM_COUNTER,
		   "HELLOs refused without checking the token: their address failed too often.",
		   s->auth_throttled);
	family_by(out, "beam_agent_disconnects_total", PROM_COUNTER,
		  "Authenticated agents' connections ended, by why.", "reason", gone_names,
		  s->agents_gone, EDGE_GONE__MAX);
	prom_family(out, "beam_quic_bytes_total", PROM_COUNTER,
		    "UDP payload bytes of QUIC packets, by direction.");
	labeled(out, "beam_quic_bytes_total", "direction", "in", s->quic_bytes_in);
	labeled(out, "beam_quic_bytes_total", "direction", "out", s->quic_bytes_out);
}

/* tunnel, id, port (and direction, when not NULL) labels of one tunnel. */
static void tunnel_labels(char *labels, const struct edge_tunnel_stats *ts, const char *direction)
{
	char id[24], port[8];

	snprintf(id, sizeof(id), "%llu", (unsigned long long)ts->id);
	snprintf(port, sizeof(port), "%u", ts->port);
	prom_labels(labels, PROM_LABELS_MAX, "tunnel", ts->name, "id", id, "port", port,
		    direction ? "direction" : NULL, direction, NULL);
}

static void render_tunnels(struct prom_buf *out, const struct edge_stats *s)
{
	const char *limits[EDGE_LIMIT__MAX];
	char labels[PROM_LABELS_MAX];
	unsigned int i;
	size_t t;

	family_by(out, "beam_tunnels_active", PROM_GAUGE,
		  "Tunnels with their agent connected, by kind.", "kind", kind_names,
		  s->tunnels_active, PROTO_KIND__MAX);
	family_one(out, "beam_tunnels_grace", PROM_GAUGE,
		   "Tunnels whose agent went away, kept for the grace period.", s->tunnels_grace);
	family_one(out, "beam_streams_active", PROM_GAUGE,
		   "Open QUIC streams, one per public connection.", s->streams_active);
	prom_family(out, "beam_streams_total", PROM_COUNTER, "Closed streams, by result.");
	labeled(out, "beam_streams_total", "result", "ok", s->streams_ok);
	labeled(out, "beam_streams_total", "result", "reset", s->streams_reset);

	for (i = 0; i < EDGE_LIMIT__MAX; i++)
		limits[i] = edge_limit_name(i);
	family_by(out, "beam_limit_hits_total", PROM_COUNTER,
		  "Newcomers refused by a limit (connection, tunnel, public connection).", "limit",
		  limits, s->limit_hits, EDGE_LIMIT__MAX);
	family_one(out, "beam_stream_buffer_bytes", PROM_GAUGE,
		   "Bytes of stream buffers the edge holds now.", s->stream_buffer_bytes);

	prom_family(out, "beam_tunnel_bytes_total", PROM_COUNTER,
		    "Bytes carried by a tunnel, by direction.");
	for (t = 0; t < s->ntunnels; t++) {
		tunnel_labels(labels, &s->tunnels[t], "to_public");
		prom_sample_u64(out, "beam_tunnel_bytes_total", labels, s->tunnels[t].to_public);
		tunnel_labels(labels, &s->tunnels[t], "from_public");
		prom_sample_u64(out, "beam_tunnel_bytes_total", labels, s->tunnels[t].from_public);
	}
	prom_family(out, "beam_tunnel_connections_total", PROM_COUNTER,
		    "Public connections a tunnel carried.");
	for (t = 0; t < s->ntunnels; t++) {
		tunnel_labels(labels, &s->tunnels[t], NULL);
		prom_sample_u64(out, "beam_tunnel_connections_total", labels,
				s->tunnels[t].conns_total);
	}
}

static const char *const udp_drop_names[EDGE_UDP_DROP__MAX] = {
	[EDGE_UDP_DROP_TOO_BIG] = "too_big",	 [EDGE_UDP_DROP_QUEUE_FULL] = "queue_full",
	[EDGE_UDP_DROP_NO_AGENT] = "no_agent",	 [EDGE_UDP_DROP_FLOW_LIMIT] = "flow_limit",
	[EDGE_UDP_DROP_NO_FLOW] = "no_flow",	 [EDGE_UDP_DROP_SEND_FAILED] = "send_failed",
	[EDGE_UDP_DROP_MALFORMED] = "malformed", [EDGE_UDP_DROP_SOCKET_FULL] = "socket_full",
};

const char *edge_udp_drop_name(enum edge_udp_drop d)
{
	return (unsigned int)d < EDGE_UDP_DROP__MAX ? udp_drop_names[d] : "unknown";
}

static void render_udp(struct prom_buf *out, const struct edge_stats *s)
{
	prom_family(out, "beam_udp_datagrams_total", PROM_COUNTER,
		    "Datagrams of udp tunnels carried, by direction.");
	labeled(out, "beam_udp_datagrams_total", "direction", "to_agent", s->udp_to_agent);
	labeled(out, "beam_udp_datagrams_total", "direction", "to_public", s->udp_to_public);
	family_by(out, "beam_udp_dropped_total", PROM_COUNTER,
		  "Datagrams of udp tunnels dropped at the edge, by reason.", "reason",
		  udp_drop_names, s->udp_drops, EDGE_UDP_DROP__MAX);
	family_one(out, "beam_udp_flows", PROM_GAUGE,
		   "Public udp clients (flows) the edge tracks now.", s->udp_flows);
}

static void render_http(struct prom_buf *out, const struct edge_stats *s)
{
	static const char *const codes[EDGE_HTTP_ANSWER__MAX] = {
		[EDGE_HTTP_400] = "400",	 [EDGE_HTTP_404] = "404",
		[EDGE_HTTP_408] = "408",	 [EDGE_HTTP_431] = "431",
		[EDGE_HTTP_502] = "502",	 [EDGE_HTTP_503] = "503",
		[EDGE_HTTP_REFUSED] = "refused", [EDGE_HTTP_REFUSED_SOURCE] = "refused-source",
	};
	unsigned int i;

	if (!s->http_on)
		return;
	prom_family(out, "beam_http_requests_total", PROM_COUNTER,
		    "Public HTTP connections: routed to a tunnel, or answered by the edge (code).");
	labeled(out, "beam_http_requests_total", "code", "routed", s->http_routed);
	for (i = 0; i < EDGE_HTTP_ANSWER__MAX; i++)
		labeled(out, "beam_http_requests_total", "code", codes[i], s->http_answered[i]);
	family_one(out, "beam_http_waiting", PROM_GAUGE,
		   "Public HTTP connections still sending their request head.", s->http_waiting);
}

/* Label values of beam_xsk_rx_dropped_total: pkt_strerror's reasons, short. */
static const char *const xsk_bad_names[PKT_ERR__MAX] = {
	[PKT_OK] = "ok",
	[PKT_ERR_TRUNCATED] = "truncated",
	[PKT_ERR_VLAN_DEPTH] = "vlan_depth",
	[PKT_ERR_NOT_IP] = "not_ip",
	[PKT_ERR_IP_VERSION] = "ip_version",
	[PKT_ERR_IP_HDR_LEN] = "ip_header_length",
	[PKT_ERR_IP_LEN] = "ip_length",
	[PKT_ERR_IP_CSUM] = "ip_checksum",
	[PKT_ERR_IP_ADDR] = "ip_source",
	[PKT_ERR_FRAGMENT] = "fragment",
	[PKT_ERR_EXT_HDR] = "ipv6_ext_headers",
	[PKT_ERR_NOT_UDP] = "not_udp",
	[PKT_ERR_UDP_LEN] = "udp_length",
	[PKT_ERR_UDP_CSUM] = "udp_checksum",
	[PKT_ERR_UDP_NO_CSUM] = "udp_no_checksum",
	[PKT_ERR_UDP_PORT] = "udp_port_zero",
};

const char *edge_xsk_drop_name(enum pkt_err e)
{
	return (unsigned int)e < PKT_ERR__MAX && xsk_bad_names[e] ? xsk_bad_names[e] : "unknown";
}

/* beamd --xdp only: what each packet path carried, and AF_XDP frames refused. */
static void render_paths(struct prom_buf *out, const struct edge_stats *s)
{
	static const char name[] = "beam_packets_total";
	char labels[PROM_LABELS_MAX];
	const struct {
		const char *path, *dir;
		uint64_t v;
	} rows[] = {
		{"af_xdp", "in", s->xsk_rx},
		{"af_xdp", "out", s->xsk_tx},
		{"socket", "in", s->sock_rx},
		{"socket", "out", s->sock_tx},
	};
	unsigned int i;

	if (!s->xsk_on)
		return;
	prom_family(out, name, PROM_COUNTER,
		    "QUIC datagrams beamd received and sent, by packet path (--xdp).");
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		prom_labels(labels, sizeof(labels), "path", rows[i].path, "direction", rows[i].dir,
			    NULL);
		prom_sample_u64(out, name, labels, rows[i].v);
	}
	family_one(out, "beam_packet_path_fallbacks_total", PROM_COUNTER,
		   "Datagrams the other packet path sent: the first choice had no room.",
		   s->path_fallbacks);
	family_one(out, "beam_packet_path_dropped_total", PROM_COUNTER,
		   "Datagrams to send that no packet path could take.", s->path_dropped);
	prom_family(out, "beam_xsk_rx_dropped_total", PROM_COUNTER,
		    "Frames from AF_XDP that beamd refused, by reason.");
	for (i = PKT_OK + 1; i < PKT_ERR__MAX; i++)
		labeled(out, "beam_xsk_rx_dropped_total", "reason", edge_xsk_drop_name(i),
			s->xsk_rx_bad[i]);
	labeled(out, "beam_xsk_rx_dropped_total", "reason", "other_port", s->xsk_rx_other_port);
	labeled(out, "beam_xsk_rx_dropped_total", "reason", "vlan_unknown", s->xsk_rx_vlan_unknown);
	prom_family(out, "beam_xsk_rx_vlan_tagged_total", PROM_COUNTER,
		    "Frames from AF_XDP taken with VLAN tags, by how many.");
	for (i = 0; i < PKT_MAX_VLANS; i++) {
		char tags[4];

		snprintf(tags, sizeof(tags), "%u", i + 1);
		labeled(out, "beam_xsk_rx_vlan_tagged_total", "tags", tags, s->xsk_rx_vlan[i]);
	}
	prom_family(out, "beam_xsk_next_hop_events_total", PROM_COUNTER,
		    "AF_XDP next-hop table: confirmed paths changed, frames that disagreed "
		    "with one, new paths the confirmed one outlasted.");
	labeled(out, "beam_xsk_next_hop_events_total", "event", "changed", s->hop_changed);
	labeled(out, "beam_xsk_next_hop_events_total", "event", "unproven", s->hop_unproven);
	labeled(out, "beam_xsk_next_hop_events_total", "event", "kept", s->hop_kept);
	family_one(out, "beam_xsk_tx_both_paths_total", PROM_COUNTER,
		   "Datagrams sent on a peer's confirmed path and on the new one it was seen on, "
		   "while the switch waited.",
		   s->xsk_tx_both_paths);
}

static const struct {
	const char *name;
	const char *help;
} hist_families[BEAM_HIST__MAX] = {
	[BEAM_HIST_HANDSHAKE] = {"beam_handshake_duration_seconds",
				 "QUIC handshake duration with agents."},
	[BEAM_HIST_RTT] = {"beam_rtt_seconds",
			   "RTT samples of agent connections, one per connection every 100 ms."},
	[BEAM_HIST_TTFB] =
		{"beam_ttfb_seconds",
		 "Public connection accepted to first byte back from the local service."},
	[BEAM_HIST_STREAM] = {"beam_stream_duration_seconds",
			      "Lifetime of a tunnelled connection's stream."},
	[BEAM_HIST_XDP_TO_USER] = {"beam_xdp_to_user_seconds",
				   "XDP arrival to user-space receive, for frames from AF_XDP."},
};

static void render_histograms(struct prom_buf *out, const struct beam_hist *latency)
{
	struct beam_hist h;
	unsigned int i, b;

	for (i = 0; i < BEAM_HIST__MAX; i++) {
		memset(&h, 0, sizeof(h));
		if (latency) {
			/* Workers add with relaxed atomics; a scrape may see a sample
			 * in count before its bucket, never a torn value. */
			h.count = __atomic_load_n(&latency[i].count, __ATOMIC_RELAXED);
			h.sum_ns = __atomic_load_n(&latency[i].sum_ns, __ATOMIC_RELAXED);
			for (b = 0; b < BEAM_HIST_BUCKETS; b++)
				h.buckets[b] =
					__atomic_load_n(&latency[i].buckets[b], __ATOMIC_RELAXED);
		}
		prom_family(out, hist_families[i].name, PROM_HISTOGRAM, hist_families[i].help);
		prom_histogram(out, hist_families[i].name, NULL, &h);
	}
}

/* XDP counters of every interface with beam's maps pinned: one pass over
 * the interfaces per family, since a family's samples must stay together. */
struct xdp_ctx {
	struct prom_buf *out;
	const char *pin_root;
	int pass;
};

/* Pass 0 (packets) or 1 (bytes): one sample per reason of @ifname's counters. */
static void render_reasons(struct prom_buf *out, int pass, const char *ifname,
			   const struct beam_counter *reasons)
{
	const char *name = pass ? "beam_xdp_bytes_total" : "beam_xdp_packets_total";
	char labels[PROM_LABELS_MAX];
	unsigned int r;

	for (r = 0; r < BEAM_REASON__MAX; r++) {
		prom_labels(labels, sizeof(labels), "iface", ifname, "verdict",
			    xdp_stats_verdict_name(beam_reason_verdict(r)), "reason",
			    xdp_stats_reason_name(r), NULL);
		prom_sample_u64(out, name, labels, pass ? reasons[r].bytes : reasons[r].packets);
	}
}

/* Pass 3: one sample per cause of @ifname's steering misses. */
static void render_steer_misses(struct prom_buf *out, const char *ifname,
				const __u64 misses[BEAM_STEER_MISS__MAX])
{
	char labels[PROM_LABELS_MAX];
	unsigned int i;

	for (i = 0; i < BEAM_STEER_MISS__MAX; i++) {
		prom_labels(labels, sizeof(labels), "iface", ifname, "cause",
			    xdp_stats_steer_miss_name(i), NULL);
		prom_sample_u64(out, "beam_xdp_steer_misses_total", labels, misses[i]);
	}
}

static int xdp_iface_cb(const char *ifname, void *arg)
{
	char labels[PROM_LABELS_MAX];
	struct xdp_ctx *x = arg;
	struct xdp_status st;

	if (xdp_loader_status(ifname, x->pin_root, &st) || !st.pinned)
		return 0;
	if (x->pass == 2) {
		prom_labels(labels, sizeof(labels), "iface", ifname, NULL);
		prom_sample_u64(x->out, "beam_flows_active", labels, st.flows);
		return 0;
	}
	if (x->pass == 3) {
		if (st.has_steer_misses)
			render_steer_misses(x->out, ifname, st.steer_misses);
		return 0;
	}
	render_reasons(x->out, x->pass, ifname, st.reasons);
	return 0;
}

/* The interfaces held before the privilege drop; the pins are root's. */
static void render_xdp_held(struct prom_buf *out, const struct edge_stats_pub *p, int pass)
{
	struct beam_counter reasons[BEAM_REASON__MAX];
	__u64 misses[BEAM_STEER_MISS__MAX];
	char labels[PROM_LABELS_MAX];
	unsigned int i, flows;

	for (i = 0; i < p->nheld; i++) {
		const struct held_iface *h = &p->held[i];

		prom_labels(labels, sizeof(labels), "iface", h->ifname, NULL);
		if (pass == 2) {
			flows = 0;
			xdp_map_count(h->flows, h->flows_max, &flows);
			prom_sample_u64(out, "beam_flows_active", labels, flows);
			continue;
		}
		if (pass == 3) {
			if (h->steer_misses >= 0 && !xdp_steer_misses_read(h->steer_misses, misses))
				render_steer_misses(out, h->ifname, misses);
			continue;
		}
		if (!xdp_stats_read(h->stats, reasons))
			render_reasons(out, pass, h->ifname, reasons);
	}
}

static void render_xdp(struct prom_buf *out, const struct edge_stats_pub *p)
{
	static const char *const family[4][2] = {
		{"beam_xdp_packets_total",
		 "Packets seen by beam's XDP program, by verdict and reason."},
		{"beam_xdp_bytes_total",
		 "Bytes seen by beam's XDP program, by verdict and reason."},
		{"beam_flows_active", "Entries in the XDP flows map."},
		{"beam_xdp_steer_misses_total",
		 "QUIC the XDP program left to the UDP socket while steering, by cause."},
	};
	struct xdp_ctx x = {.out = out, .pin_root = p->pin_root};

	for (x.pass = 0; x.pass < 4; x.pass++) {
		prom_family(out, family[x.pass][0], x.pass != 2 ? PROM_COUNTER : PROM_GAUGE,
			    family[x.pass][1]);
		if (p->holding)
			render_xdp_held(out, p, x.pass);
		else
			xdp_loader_for_each_pinned(p->pin_root, xdp_iface_cb, &x);
	}
}

/* What /metrics shows of each worker, to see how the load spreads. */
struct worker_counts {
	uint64_t conns, handshakes, tunnels, moved_in, http_out;
};

/* One sample per worker of the counter at @off in struct worker_counts. */
static void render_per_worker(struct prom_buf *out, const char *name, enum prom_type type,
			      const char *help, unsigned int n, const struct worker_counts *w,
			      size_t off)
{
	char labels[PROM_LABELS_MAX], id[12];
	unsigned int i;

	prom_family(out, name, type, help);
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%u", i);
		prom_labels(labels, sizeof(labels), "worker", id, NULL);
		prom_sample_u64(out, name, labels, *(const uint64_t *)((const char *)&w[i] + off));
	}
}

static void render_workers(struct prom_buf *out, unsigned int n, const struct worker_counts *w)
{
	char labels[PROM_LABELS_MAX], id[12];
	unsigned int i;

	family_one(out, "beam_workers", PROM_GAUGE, "Worker threads of beamd (--workers).", n);
	render_per_worker(out, "beam_worker_quic_connections", PROM_GAUGE,
			  "Live QUIC connections from agents, by the worker that owns them.", n, w,
			  offsetof(struct worker_counts, conns));
	render_per_worker(out, "beam_worker_handshakes_total", PROM_COUNTER,
			  "QUIC handshakes with agents completed, by worker.", n, w,
			  offsetof(struct worker_counts, handshakes));
	render_per_worker(out, "beam_worker_tunnels", PROM_GAUGE,
			  "Tunnels (kept ones included) whose sockets a worker drives.", n, w,
			  offsetof(struct worker_counts, tunnels));
	prom_family(out, "beam_worker_handoffs_total", PROM_COUNTER,
		    "Hand-overs between workers: tunnels taken over, http connections sent on.");
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%u", i);
		prom_labels(labels, sizeof(labels), "worker", id, "what", "tunnel", NULL);
		prom_sample_u64(out, "beam_worker_handoffs_total", labels, w[i].moved_in);
		prom_labels(labels, sizeof(labels), "worker", id, "what", "http", NULL);
		prom_sample_u64(out, "beam_worker_handoffs_total", labels, w[i].http_out);
	}
}

void edge_stats_collect(struct prom_buf *out, void *arg)
{
	struct edge_stats_pub *p = arg;
	struct worker_counts *w;
	struct edge_stats *s;
	unsigned int i, k;

	s = calloc(1, sizeof(*s));
	w = calloc(p->nworkers, sizeof(*w));
	if (!s || !w) {
		free(s);
		free(w);
		out->failed = true;
		return;
	}
	for (i = 0; i < p->nworkers; i++) {
		pthread_mutex_lock(&p->slot[i].lock);
		stats_add(s, &p->slot[i].shown);
		for (k = 0; k < BEAM_CONN__MAX; k++)
			w[i].conns += p->slot[i].shown.conns[k];
		w[i].handshakes = p->slot[i].shown.handshakes_ok;
		w[i].moved_in = p->slot[i].shown.handoffs_tunnel;
		w[i].http_out = p->slot[i].shown.handoffs_http;
		w[i].tunnels = p->slot[i].shown.tunnels_grace;
		for (k = 0; k < PROTO_KIND__MAX; k++)
			w[i].tunnels += p->slot[i].shown.tunnels_active[k];
		pthread_mutex_unlock(&p->slot[i].lock);
	}

	render_workers(out, p->nworkers, w);
	render_connections(out, s);
	render_tunnels(out, s);
	render_udp(out, s);
	render_http(out, s);
	render_paths(out, s);
	render_histograms(out, p->latency);
	render_xdp(out, p);
	free(w);
	free(s);
}
