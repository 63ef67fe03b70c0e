// SPDX-License-Identifier: MIT
/*
 * test_log.c - the log module: levels, verbosity, the rate limiter and quiet
 * probes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static void test_log_verbosity_raises_level(void **state)
{
	(void)state;
	log_set_verbosity(0);
	assert_true(log_enabled(LOG_LVL_INFO));
	assert_false(log_enabled(LOG_LVL_DEBUG));
	log_set_verbosity(2);
	assert_true(log_enabled(LOG_LVL_TRACE));
	log_set_verbosity(40);
	assert_int_equal(log_get_level(), LOG_LVL_TRACE);
}

static void test_log_ratelimit_caps_burst(void **state)
{
	struct log_ratelimit rl = {0};
	unsigned int i, ok = 0;

	(void)state;
	for (i = 0; i < 100; i++)
		ok += log_ratelimit_ok(&rl, 5);
	assert_int_equal(ok, 5);
	assert_int_equal(rl.missed, 95);
}

/* Where stderr goes while a test captures it. */
struct capture {
	FILE *file;
	int saved;
};

static void capture_start(struct capture *c)
{
	fflush(stderr);
	c->file = tmpfile();
	assert_non_null(c->file);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->saved >= 0);
	assert_true(dup2(fileno(c->file), STDERR_FILENO) >= 0);
}

/* Stop capturing; what was written, in @buf. */
static void capture_end(struct capture *c, char *buf, size_t cap)
{
	size_t n;

	fflush(stderr);
	assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
	close(c->saved);
	rewind(c->file);
	n = fread(buf, 1, cap - 1, c->file);
	buf[n] = '\0';
	fclose(c->file);
}

/* Say @fmt through libbpf's print callback, as libbpf would. */
static void libbpf_says(libbpf_print_fn_t fn, enum libbpf_print_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fn(level, fmt, ap);
	va_end(ap);
}

static void test_log_quiet_probe(void **state)
{
	libbpf_print_fn_t fn;
	struct capture c;
	char out[4096];

	(void)state;
	log_hook_libraries();
	fn = libbpf_set_print(NULL);
	libbpf_set_print(fn);
	assert_non_null(fn);
	log_set_verbosity(0);

	capture_start(&c);
	log_quiet_begin();
	pr_err("probe-error");
	pr_warn("probe-warning");
	pr_info("probe-info");
	libbpf_says(fn, LIBBPF_WARN, "libbpf: probe-libbpf-warn\n");
	log_quiet_end();
	pr_warn("after-warning");
	libbpf_says(fn, LIBBPF_WARN, "libbpf: after-libbpf-warn\n");
	capture_end(&c, out, sizeof(out));
	assert_null(strstr(out, "probe-error"));
	assert_null(strstr(out, "probe-warning"));
	assert_null(strstr(out, "probe-libbpf-warn"));
	assert_non_null(strstr(out, "info: probe-info"));
	assert_non_null(strstr(out, "warning: after-warning"));
	assert_non_null(strstr(out, "after-libbpf-warn"));

	/* With -v the probe's lines are there, as debug lines. */
	log_set_verbosity(1);
	capture_start(&c);
	log_quiet_begin();
	log_quiet_begin();
	log_quiet_end();
	pr_err("nested-error");
	log_quiet_end();
	log_quiet_end(); /* one too many: harmless */
	pr_err("plain-error");
	capture_end(&c, out, sizeof(out));
	assert_non_null(strstr(out, "debug: nested-error"));
	assert_non_null(strstr(out, "error: plain-error"));
	log_set_verbosity(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_verbosity_raises_level),
		cmocka_unit_test(test_log_ratelimit_caps_burst),
		cmocka_unit_test(test_log_quiet_probe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
