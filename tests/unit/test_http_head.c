// SPDX-License-Identifier: MIT
/*
 * test_http_head.c - the request-head reader the edge routes http tunnels
 * by: good heads, every split point, and each malformed head a public
 * client can send.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "http_head.h"
#include "proto.h"

static int parse(const char *s, struct http_head *h)
{
	return http_head_parse((const uint8_t *)s, strlen(s), h);
}

static void test_http_head_simple(void **state)
{
	const char *req =
		"GET /x HTTP/1.1\r\nHost: Api.Example.COM:8080\r\nAccept: */*\r\n\r\nBODY";
	struct http_head h;

	(void)state;
	assert_int_equal(parse(req, &h), 0);
	assert_string_equal(h.host, "api.example.com");
	assert_int_equal(h.minor, 1);
	assert_int_equal(h.len, strlen(req) - 4);
}

static void test_http_head_every_split_is_incomplete(void **state)
{
	const char *req = "POST /up HTTP/1.0\r\nhOsT:\t a.example. \r\nContent-Length: 3\r\n\r\n";
	size_t n = strlen(req), i;
	struct http_head h;

	(void)state;
	for (i = 0; i < n; i++)
		assert_int_equal(http_head_parse((const uint8_t *)req, i, &h), -EAGAIN);
	assert_int_equal(http_head_parse((const uint8_t *)req, n, &h), 0);
	assert_string_equal(h.host, "a.example");
	assert_int_equal(h.minor, 0);
	assert_int_equal(h.len, n);
}

static void test_http_head_bare_lf_and_leading_empty_lines(void **state)
{
	struct http_head h;

	(void)state;
	assert_int_equal(parse("\r\n\nGET / HTTP/1.1\nHost: b.example\n\n", &h), 0);
	assert_string_equal(h.host, "b.example");
}

static void test_http_head_absolute_form_wins(void **state)
{
	struct http_head h;

	(void)state;
	assert_int_equal(
		parse("GET http://C.example:81/p?q HTTP/1.1\r\nHost: d.example\r\n\r\n", &h), 0);
	assert_string_equal(h.host, "c.example");
	assert_int_equal(parse("GET https://e.example HTTP/1.1\r\n\r\n", &h), 0);
	assert_string_equal(h.host, "e.example");
	assert_int_equal(parse("GET http://u@f.example/ HTTP/1.1\r\nHost: f.example\r\n\r\n", &h),
			 -EBADMSG);
}

static void test_http_head_ipv6_host(void **state)
{
	struct http_head h;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: [FD00::1]:8080\r\n\r\n", &h), 0);
	assert_string_equal(h.host, "[fd00::1]");
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: [fd00::1\r\n\r\n", &h), -EBADMSG);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: [zz]\r\n\r\n", &h), -EBADMSG);
}

/* Each is refused as soon as it is complete (or earlier). */
static void test_http_head_malformed(void **state)
{
	static const char *const cases[] = {
		"GET / HTTP/1.1\r\n\r\n",				/* no Host */
		"GET / HTTP/1.0\r\n\r\n",				/* no Host, 1.0 */
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",		/* duplicate */
		"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n",		/* duplicate, same */
		"GET / HTTP/1.1\r\nHost:\r\n\r\n",			/* empty Host */
		"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",			/* space in host */
		"GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n",		/* bad port */
		"GET / HTTP/1.1\r\nHost: a:123456\r\n\r\n",		/* long port */
		"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",			/* slash */
		"GET / HTTP/1.1\r\nHost : a\r\n\r\n",			/* space, colon */
		"GET / HTTP/1.1\r\nX: 1\r\n folded\r\nHost: a\r\n\r\n", /* obs-fold */
		"GET / HTTP/1.1\r\nNoColon\r\nHost: a\r\n\r\n",		/* no colon */
		"GET / HTTP/1.1\r\nX: a\x01z\r\nHost: a\r\n\r\n",	/* control char */
		"GET / HTTP/1.1\r\nX: a\rz\r\nHost: a\r\n\r\n",		/* stray CR */
		"GET / HTTP/2.0\r\nHost: a\r\n\r\n",			/* not 1.x */
		"GET / HTTP/1.10\r\nHost: a\r\n\r\n",			/* long version */
		"GET / HTTP/1.x\r\nHost: a\r\n\r\n",			/* bad digit */
		"GET /\r\nHost: a\r\n\r\n",				/* HTTP/0.9 */
		"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",			/* double space */
		" GET / HTTP/1.1\r\nHost: a\r\n\r\n",			/* leading space */
		/* many empty lines */
		"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n",
	};
	struct http_head h;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse(cases[i], &h);

		if (rc != -EBADMSG)
			fail_msg("case %zu: got %d, want -EBADMSG", i, rc);
		assert_non_null(h.why);
	}
}

static void test_http_head_garbage_refused_early(void **state)
{
	static const uint8_t tls_hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
	static const uint8_t nul_in_method[] = {'G', 'E', 0, 'T'};
	struct http_head h;
	char longm[64];

	(void)state;
	/* a TLS ClientHello on the plain port: one byte is enough */
	assert_int_equal(http_head_parse(tls_hello, 1, &h), -EBADMSG);
	assert_int_equal(http_head_parse(nul_in_method, sizeof(nul_in_method), &h), -EBADMSG);
	assert_int_equal(parse("SSH-2.0-OpenSSH_9.2\r\n", &h), -EBADMSG);
	assert_int_equal(parse("GET /a\x7f", &h), -EBADMSG);
	assert_int_equal(parse("GET / HTTX", &h), -EBADMSG);
	memset(longm, 'A', sizeof(longm) - 1);
	longm[sizeof(longm) - 1] = '\0';
	assert_int_equal(parse(longm, &h), -EBADMSG);
	/* still plausible: wait for more */
	assert_int_equal(parse("GET / HTTP/1", &h), -EAGAIN);
	assert_int_equal(parse("\r", &h), -EAGAIN);
}

static void test_http_head_too_many_fields(void **state)
{
	char buf[HTTP_HEAD_MAX * 2];
	struct http_head h;
	size_t off;
	int i;

	(void)state;
	off = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 0; i < HTTP_HEAD_FIELDS_MAX; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "X%d: y\r\n", i);
	snprintf(buf + off, sizeof(buf) - off, "\r\n");
	assert_int_equal(parse(buf, &h), -EBADMSG);
}

static void test_http_host_normalize(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(http_host_normalize("A.b", 3, out, sizeof(out), false), 0);
	assert_string_equal(out, "a.b");
	assert_int_equal(http_host_normalize("a.b:80", 6, out, sizeof(out), false), -EINVAL);
	assert_int_equal(http_host_normalize("a.b:", 4, out, sizeof(out), true), 0);
	assert_int_equal(http_host_normalize(".", 1, out, sizeof(out), true), -EINVAL);
	assert_int_equal(http_host_normalize("b..:80", 6, out, sizeof(out), true), -EINVAL);
	assert_int_equal(http_host_normalize("0123456789abcdef", 16, out, sizeof(out), true),
			 -EINVAL);
	assert_int_equal(http_host_normalize("", 0, out, sizeof(out), true), -EINVAL);
}

static void test_http_hostname_valid(void **state)
{
	char label[80];

	(void)state;
	assert_true(http_hostname_valid("app.example"));
	assert_true(http_hostname_valid("a-b_c.d1"));
	assert_false(http_hostname_valid(""));
	assert_false(http_hostname_valid("a..b"));
	assert_false(http_hostname_valid(".a"));
	assert_false(http_hostname_valid("a."));
	assert_false(http_hostname_valid("[::1]"));
	assert_false(http_hostname_valid("A.example"));
	memset(label, 'a', 64);
	label[64] = '\0';
	assert_false(http_hostname_valid(label));
	label[63] = '\0';
	assert_true(http_hostname_valid(label));
	/* IP literals: a numeric last label is read as an IPv4 address */
	assert_false(http_hostname_valid("10.77.2.1"));
	assert_false(http_hostname_valid("127.1"));
	assert_false(http_hostname_valid("2130706433"));
	assert_false(http_hostname_valid("0x7f.0.0.1"));
	assert_false(http_hostname_valid("a.0x1f"));
	assert_false(http_hostname_valid("app.example.123"));
	assert_false(http_hostname_valid("::1"));
	assert_true(http_hostname_valid("10.77.2.1x"));
	assert_true(http_hostname_valid("0xg.example"));
	assert_true(http_hostname_valid("1.2.3.com"));
	assert_true(http_hostname_valid("123abc"));
}

/* check @in: NULL (valid, normalized to @want) or a reason containing @want */
static void check_host(const char *in, const char *want, bool ok)
{
	char out[PROTO_MAX_NAME + 1];
	const char *why = http_hostname_check(in, strlen(in), out, sizeof(out));

	if (ok) {
		if (why)
			fail_msg("'%s' refused: %s", in, why);
		assert_string_equal(out, want);
		return;
	}
	if (!why)
		fail_msg("'%s' accepted as '%s'", in, out);
	if (!strstr(why, want))
		fail_msg("'%s': reason '%s' does not say '%s'", in, why, want);
	assert_string_equal(out, "");
}

static void test_http_hostname_check(void **state)
{
	char long_name[80];

	(void)state;
	check_host("App.Example", "app.example", true);
	check_host("app.example.", "app.example", true);
	check_host("a-b_c.d1", "a-b_c.d1", true);
	check_host("1.2.3.com", "1.2.3.com", true);
	check_host("", "empty", false);
	check_host("10.77.2.1", "IPv4 address", false);
	check_host("10.77.2.1.", "IPv4 address", false);
	check_host("127.1", "IPv4 address", false);
	check_host("0x7F.1", "IPv4 address", false);
	check_host("2130706433", "IPv4 address", false);
	check_host("::1", "IPv6 address", false);
	check_host("fd77:2::1", "IPv6 address", false);
	check_host("[::1]", "IPv6 address", false);
	check_host("[fd77:2::1]", "IPv6 address", false);
	check_host("[::1", "IPv6 address", false);
	check_host("app.example:8080", "a port", false);
	check_host("a..b", "empty label", false);
	check_host(".a", "empty label", false);
	check_host("a..", "empty label", false);
	check_host(".", "empty label", false);
	check_host("*.example.com", "a character other than", false);
	check_host("a b", "a character other than", false);
	check_host("a/b", "a character other than", false);
	memset(long_name, 'a', 64);
	long_name[64] = '\0';
	check_host(long_name, "a label over 63", false);
	memset(long_name, 'a', 70);
	long_name[70] = '\0';
	check_host(long_name, "too long", false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_head_simple),
		cmocka_unit_test(test_http_head_every_split_is_incomplete),
		cmocka_unit_test(test_http_head_bare_lf_and_leading_empty_lines),
		cmocka_unit_test(test_http_head_absolute_form_wins),
		cmocka_unit_test(test_http_head_ipv6_host),
		cmocka_unit_test(test_http_head_malformed),
		cmocka_unit_test(test_http_head_garbage_refused_early),
		cmocka_unit_test(test_http_head_too_many_fields),
		cmocka_unit_test(test_http_host_normalize),
		cmocka_unit_test(test_http_hostname_valid),
		cmocka_unit_test(test_http_hostname_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
