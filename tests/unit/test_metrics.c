// SPDX-License-Identifier: MIT
/*
 * test_metrics.c - the HTTP endpoint on loopback: status codes, content type,
 * HEAD, /healthz, and a scrape that promtool accepts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "hist.h"
#include "metrics.h"

struct fake_daemon {
	bool healthy;
	struct beam_hist ttfb;
};

static void collect_cb(struct prom_buf *out, void *ctx)
{
	struct fake_daemon *d = ctx;
	char labels[PROM_LABELS_MAX];

	prom_family(out, "beam_streams_total", PROM_COUNTER, "Streams carried, by result.");
	prom_labels(labels, sizeof(labels), "result", "ok", NULL);
	prom_sample_u64(out, "beam_streams_total", labels, 7);
	prom_family(out, "beam_ttfb_seconds", PROM_HISTOGRAM, "Public accept to first byte back.");
	prom_histogram(out, "beam_ttfb_seconds", NULL, &d->ttfb);
}

static bool health_cb(void *ctx, const char **why)
{
	struct fake_daemon *d = ctx;

	*why = "no listener";
	return d->healthy;
}

/* One HTTP/1.0 exchange with the server; returns the whole answer (malloc'd). */
static char *http_exchange(int port, const char *request)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	ssize_t n;
	int fd;

	assert_non_null(buf);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (len + 1 == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

static struct metrics_server *start(struct fake_daemon *d)
{
	struct metrics_server *s = NULL;

	assert_int_equal(metrics_server_new(&s, "127.0.0.1:0", collect_cb, health_cb, d), 0);
	assert_true(metrics_server_port(s) > 0);
	return s;
}

static void test_metrics_get_serves_prometheus_text(void **state)
{
	struct fake_daemon d = {.healthy = true};
	struct metrics_server *s;
	char *answer;

	(void)state;
	hist_record(&d.ttfb, 250000);
	s = start(&d);
	answer = http_exchange(metrics_server_port(s), "GET /metrics HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(answer, "HTTP/1.0 200"));
	assert_non_null(strstr(answer, "Content-Type: text/plain; version=0.0.4"));
	assert_non_null(strstr(answer, "beam_streams_total{result=\"ok\"} 7\n"));
	assert_non_null(strstr(answer, "beam_ttfb_seconds_count 1\n"));
	assert_non_null(strstr(answer, "process_resident_memory_bytes "));
	assert_non_null(strstr(answer, "process_open_fds "));
	free(answer);
	metrics_server_free(s);
}

static void test_metrics_head_has_no_body(void **state)
{
	struct fake_daemon d = {.healthy = true};
	struct metrics_server *s = start(&d);
	char *answer;

	(void)state;
	answer = http_exchange(metrics_server_port(s), "HEAD /metrics HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(answer, " 200 "));
	assert_null(strstr(answer, "beam_streams_total"));
	free(answer);
	metrics_server_free(s);
}

static void test_metrics_unknown_path_is_404_and_post_is_405(void **state)
{
	struct fake_daemon d = {.healthy = true};
	struct metrics_server *s = start(&d);
	char *answer;

	(void)state;
	answer = http_exchange(metrics_server_port(s), "GET /nope HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(answer, "HTTP/1.0 404"));
	free(answer);
	answer = http_exchange(metrics_server_port(s),
			       "POST /metrics HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi");
	assert_non_null(strstr(answer, "HTTP/1.0 405"));
	assert_non_null(strstr(answer, "Allow: GET, HEAD"));
	free(answer);
	metrics_server_free(s);
}

static void test_metrics_healthz_reports_state(void **state)
{
	struct fake_daemon d = {.healthy = true};
	struct metrics_server *s = start(&d);
	char *answer;

	(void)state;
	answer = http_exchange(metrics_server_port(s), "GET /healthz HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(answer, " 200 "));
	free(answer);
	d.healthy = false;
	answer = http_exchange(metrics_server_port(s), "GET /healthz HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(answer, " 503 "));
	assert_non_null(strstr(answer, "unhealthy: no listener"));
	free(answer);
	metrics_server_free(s);
}

static void test_metrics_bad_listen_address_is_einval(void **state)
{
	struct metrics_server *s = NULL;

	(void)state;
	assert_int_equal(metrics_server_new(&s, "127.0.0.1", NULL, NULL, NULL), -EINVAL);
	assert_int_equal(metrics_server_new(&s, "[::1:9464", NULL, NULL, NULL), -EINVAL);
	assert_int_equal(metrics_server_new(&s, "127.0.0.1:99999", NULL, NULL, NULL), -EINVAL);
	assert_null(s);
}

/* The rendered scrape passes `promtool check metrics` (the real tool). */
static void test_metrics_render_passes_promtool(void **state)
{
	struct fake_daemon d = {.healthy = true};
	char path[] = "/tmp/beam-prom-XXXXXX", cmd[256];
	struct prom_buf out;
	FILE *f;
	int fd;

	(void)state;
	if (system("command -v promtool >/dev/null 2>&1")) {
		skip();
		return;
	}
	hist_record(&d.ttfb, 123456);
	prom_buf_init(&out);
	metrics_render(&out, collect_cb, &d);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fwrite(out.data, 1, out.len, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
	assert_int_equal(system(cmd), 0);
	unlink(path);
	prom_buf_fini(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_get_serves_prometheus_text),
		cmocka_unit_test(test_metrics_head_has_no_body),
		cmocka_unit_test(test_metrics_unknown_path_is_404_and_post_is_405),
		cmocka_unit_test(test_metrics_healthz_reports_state),
		cmocka_unit_test(test_metrics_bad_listen_address_is_einval),
		cmocka_unit_test(test_metrics_render_passes_promtool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
