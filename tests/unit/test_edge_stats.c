// SPDX-License-Identifier: MIT
/*
 * test_edge_stats.c - what /metrics shows of the edge's counts: two workers
 * publish, a scrape sums them into one sample per family and label, each
 * family's HELP and TYPE once, and the tunnels of both workers listed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge_stats.h"

/* A scrape of two workers' counts, with no XDP pins (a root nobody uses). */
static char *scrape(const struct edge_stats *w0, const struct edge_stats *w1)
{
	struct edge_stats_pub *p;
	struct prom_buf b;
	char *text;

	assert_int_equal(edge_stats_pub_new(&p, NULL, "/nonexistent/beam-test", 2), 0);
	edge_stats_publish(p, 0, w0);
	edge_stats_publish(p, 1, w1);
	prom_buf_init(&b);
	edge_stats_collect(&b, p);
	assert_false(b.failed);
	text = strndup(b.data, b.len);
	assert_non_null(text);
	prom_buf_fini(&b);
	edge_stats_pub_free(p);
	return text;
}

/* @line (a whole line) is in @text exactly @n times. */
static void assert_lines(const char *text, const char *line, unsigned int n)
{
	size_t len = strlen(line);
	unsigned int seen = 0;
	const char *at = text;

	while ((at = strstr(at, line))) {
		if ((at == text || at[-1] == '\n') && at[len] == '\n')
			seen++;
		at += len;
	}
	if (seen != n)
		fprintf(stderr, "'%s': %u times, want %u\n", line, seen, n);
	assert_int_equal(seen, n);
}

static void test_edge_stats_sums_workers(void **state)
{
	static struct edge_stats w0, w1;
	char *text;

	(void)state;
	w0.conns[BEAM_CONN_ESTABLISHED] = 3;
	w1.conns[BEAM_CONN_ESTABLISHED] = 4;
	w1.conns[BEAM_CONN_CLOSING] = 1;
	w0.tunnels_active[PROTO_KIND_UDP] = 2;
	w0.tunnels_grace = 5;
	w1.tunnels_grace = 6;
	w0.limit_hits[EDGE_LIMIT_CONNS_PER_SOURCE] = 7;
	w1.limit_hits[EDGE_LIMIT_CONNS_PER_SOURCE] = 8;
	w1.udp_drops[EDGE_UDP_DROP_TOO_BIG] = 9;
	w0.udp_flows = 10;
	w1.handshakes_in_progress = 11;
	w1.http_on = true;
	w0.http_answered[EDGE_HTTP_404] = 12;
	w1.http_waiting = 13;
	w0.stateless_limited[QUIC_STATELESS_RESET] = 14;
	w1.stateless_limited[QUIC_STATELESS_RESET] = 15;
	text = scrape(&w0, &w1);

	assert_lines(text, "beam_workers 2", 1);
	assert_lines(text, "beam_quic_connections{state=\"established\"} 7", 1);
	assert_lines(text, "beam_quic_connections{state=\"closing\"} 1", 1);
	assert_lines(text, "beam_quic_connections{state=\"handshake\"} 0", 1);
	assert_lines(text, "beam_quic_handshakes_in_progress 11", 1);
	assert_lines(text, "beam_tunnels_active{kind=\"udp\"} 2", 1);
	assert_lines(text, "beam_tunnels_active{kind=\"tcp\"} 0", 1);
	assert_lines(text, "beam_tunnels_grace 11", 1);
	assert_lines(text, "beam_limit_hits_total{limit=\"conns_per_source\"} 15", 1);
	assert_lines(text, "beam_limit_hits_total{limit=\"stream_buffers\"} 0", 1);
	assert_lines(text, "beam_udp_dropped_total{reason=\"too_big\"} 9", 1);
	assert_lines(text, "beam_udp_flows 10", 1);
	assert_lines(text, "beam_http_requests_total{code=\"404\"} 12", 1);
	assert_lines(text, "beam_http_waiting 13", 1);
	assert_lines(text, "beam_quic_stateless_limited_total{kind=\"stateless_reset\"} 29", 1);
	assert_lines(text, "beam_quic_stateless_limited_total{kind=\"retry\"} 0", 1);
	/* one HELP and one TYPE line per family, before its samples */
	assert_lines(text, "# TYPE beam_limit_hits_total counter", 1);
	assert_lines(text, "# TYPE beam_udp_flows gauge", 1);
	assert_lines(text, "# TYPE beam_quic_connections gauge", 1);
	assert_true(strstr(text, "# TYPE beam_udp_flows gauge") <
		    strstr(text, "beam_udp_flows 10"));
	free(text);
}

static void test_edge_stats_http_only_when_on(void **state)
{
	static struct edge_stats w0, w1;
	char *text;

	(void)state;
	text = scrape(&w0, &w1);
	assert_null(strstr(text, "beam_http_"));
	assert_lines(text, "beam_udp_flows 0", 1);
	free(text);
}

static void test_edge_stats_tunnels_of_both_workers(void **state)
{
	static struct edge_stats w0, w1;
	char *text;

	(void)state;
	w0.ntunnels = 1;
	w0.tunnels[0] = (struct edge_tunnel_stats){.id = 1, .port = 8080, .to_public = 20};
	snprintf(w0.tunnels[0].name, sizeof(w0.tunnels[0].name), "web");
	w1.ntunnels = 1;
	w1.tunnels[0] = (struct edge_tunnel_stats){.id = 2, .port = 9090, .conns_total = 3};
	snprintf(w1.tunnels[0].name, sizeof(w1.tunnels[0].name), "a\"b");
	text = scrape(&w0, &w1);

	assert_lines(text,
		     "beam_tunnel_bytes_total{tunnel=\"web\",id=\"1\",port=\"8080\","
		     "direction=\"to_public\"} 20",
		     1);
	assert_lines(text,
		     "beam_tunnel_connections_total{tunnel=\"a\\\"b\",id=\"2\",port=\"9090\"} 3",
		     1);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edge_stats_sums_workers),
		cmocka_unit_test(test_edge_stats_http_only_when_on),
		cmocka_unit_test(test_edge_stats_tunnels_of_both_workers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
