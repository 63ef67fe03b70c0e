// SPDX-License-Identifier: MIT
/*
 * test_proto.c - the beam/1 codec: varints, every message round trip, and the
 * malformed inputs a hostile peer can send.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "proto.h"

static const uint8_t agent_id[PROTO_AGENT_ID_LEN] = "0123456789abcdef";

static void test_proto_varint_round_trip(void **state)
{
	static const uint64_t vals[] = {
		0, 1, 63, 64, 16383, 16384, (1u << 30) - 1, 1u << 30, PROTO_VARINT_MAX};
	static const size_t lens[] = {1, 1, 1, 2, 2, 4, 4, 8, 8};
	uint8_t buf[8];
	uint64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		assert_int_equal(proto_varint_put(buf, sizeof(buf), vals[i]), lens[i]);
		assert_int_equal(proto_varint_get(buf, lens[i], &v), lens[i]);
		assert_true(v == vals[i]);
		/* every truncation is reported, never read past */
		assert_int_equal(proto_varint_get(buf, lens[i] - 1, &v), 0);
	}
	assert_int_equal(proto_varint_put(buf, sizeof(buf), PROTO_VARINT_MAX + 1), 0);
	assert_int_equal(proto_varint_put(buf, 1, 64), 0);
	/* RFC 9000 appendix A.1 example: 0x7bbd = 15293 */
	buf[0] = 0x7b;
	buf[1] = 0xbd;
	assert_int_equal(proto_varint_get(buf, 2, &v), 2);
	assert_int_equal(v, 15293);
}

static struct proto_bytes B(const char *s) {
	return (struct proto_bytes){.data = (const uint8_t *)s, .len = strlen(s)};
}

static void
round_trip(const struct proto_msg *in, struct proto_msg *out, uint8_t *buf, size_t cap)
{
	size_t used = 0;
	int n;

	n = proto_encode(in, buf, cap);
	assert_true(n > 0);
	assert_int_equal(proto_decode(buf, (size_t)n, out, &used), 0);
	assert_int_equal(used, n);
	assert_int_equal(out->type, in->type);
	/* every shorter prefix is incomplete, not an error */
	for (int i = 0; i < n; i++)
		assert_int_equal(proto_decode(buf, (size_t)i, out, &used), -EAGAIN);
	assert_int_equal(proto_decode(buf, (size_t)n, out, &used), 0);
}

static void test_proto_messages_round_trip(void **state)
{
	struct proto_msg in = {0}, out;
	uint8_t buf[2048];

	(void)state;
	in.type = PROTO_HELLO;
	in.hello.version = PROTO_VERSION;
	in.hello.agent_id = (struct proto_bytes){agent_id, sizeof(agent_id)};
	in.hello.token = B("s3cret");
	round_trip(&in, &out, buf, sizeof(buf));
	assert_int_equal(out.hello.version, 1);
	assert_memory_equal(out.hello.agent_id.data, agent_id, sizeof(agent_id));
	assert_int_equal(out.hello.token.len, 6);
	assert_memory_equal(out.hello.token.data, "s3cret", 6);

	memset(&in, 0, sizeof(in));
	in.type = PROTO_REGISTER;
	in.reg.req_id = 7;
	in.reg.kind = PROTO_KIND_TCP;
	in.reg.name = B("web");
	in.reg.port = 40123;
	round_trip(&in, &out, buf, sizeof(buf));
	assert_int_equal(out.reg.req_id, 7);
	assert_int_equal(out.reg.port, 40123);
	assert_int_equal(out.reg.name.len, 3);

	memset(&in, 0, sizeof(in));
	in.type = PROTO_REGISTERED;
	in.registered.req_id = 7;
	in.registered.tunnel_id = 99;
	in.registered.port = 40123;
	in.registered.addr = B("192.0.2.1:40123");
	round_trip(&in, &out, buf, sizeof(buf));
	assert_int_equal(out.registered.tunnel_id, 99);

	memset(&in, 0, sizeof(in));
	in.type = PROTO_ERROR;
	in.error.code = PROTO_ERR_PORT_TAKEN;
	in.error.req_id = 3;
	in.error.reason = B("");
	round_trip(&in, &out, buf, sizeof(buf));
	assert_int_equal(out.error.code, PROTO_ERR_PORT_TAKEN);
	assert_int_equal(out.error.reason.len, 0);

	memset(&in, 0, sizeof(in));
	in.type = PROTO_WELCOME;
	in.welcome.version = 1;
	in.welcome.grace_s = 30;
	in.welcome.name = B("alice");
	round_trip(&in, &out, buf, sizeof(buf));
	assert_int_equal(out.welcome.grace_s, 30);

	memset(&in, 0, sizeof(in));
	in.type = PROTO_UNREGISTER;
	in.unregister.tunnel_id = 5;
	round_trip(&in, &out, buf, sizeof(buf));
	assert_int_equal(out.unregister.tunnel_id, 5);

	memset(&in, 0, sizeof(in));
	in.type = PROTO_GOAWAY;
	in.goaway.code = PROTO_ERR_SHUTDOWN;
	in.goaway.reason = B("restart");
	round_trip(&in, &out, buf, sizeof(buf));
	assert_int_equal(out.goaway.code, PROTO_ERR_SHUTDOWN);

	/* PING: type and a zero length, nothing else; a payload is malformed */
	memset(&in, 0, sizeof(in));
	in.type = PROTO_PING;
	assert_int_equal(proto_encode(&in, buf, sizeof(buf)), 2);
	round_trip(&in, &out, buf, sizeof(buf));
	{
		const uint8_t padded[] = {PROTO_PING, 1, 0};
		size_t used = 0;

		assert_int_equal(proto_decode(padded, sizeof(padded), &out, &used), -EBADMSG);
		assert_int_equal(used, sizeof(padded));
	}
	assert_string_equal(proto_err_name(PROTO_ERR_IN_USE), "in-use");
	assert_string_equal(proto_err_name(PROTO_ERR_THROTTLED), "throttled");
}

#define NV(s) proto_name_valid((const uint8_t *)(s), sizeof(s) - 1)

static void test_proto_name_valid(void **state)
{
	char n64[PROTO_MAX_NAME + 2], out[8];

	(void)state;
	/* the agent's default names, v4 and v6 */
	assert_true(NV("tcp:127.0.0.1:8080"));
	assert_true(NV("udp:[::1]:53"));
	assert_true(NV("my app {x=1},y"));
	assert_true(NV(""));
	memset(n64, 'a', sizeof(n64));
	assert_true(proto_name_valid((const uint8_t *)n64, PROTO_MAX_NAME));
	assert_false(proto_name_valid((const uint8_t *)n64, PROTO_MAX_NAME + 1));
	/* what would forge a log line or break a metric label */
	assert_false(NV("a\nb"));
	assert_false(NV("a\rb"));
	assert_false(NV("\x01bin"));
	assert_false(NV("\xff\xfe"));
	assert_false(NV("caf\xc3\xa9"));
	assert_false(NV("a\"b"));
	assert_false(NV("a'b"));
	assert_false(NV("a\\b"));
	assert_false(NV("a\x7f"));
	assert_false(proto_name_valid((const uint8_t *)"a\0b", 3));
	/* the printable copy for logs: bad bytes become '?', cut to fit */
	assert_string_equal(proto_name_printable((const uint8_t *)"a\nb\xff", 4, out, sizeof(out)),
			    "a?b?");
	assert_string_equal(
		proto_name_printable((const uint8_t *)"abcdefghij", 10, out, sizeof(out)),
		"abcdefg");
}

static void test_proto_encode_rejects_bad_fields(void **state)
{
	char big[PROTO_MAX_TOKEN + 2];
	struct proto_msg m = {0};
	uint8_t buf[2048];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	m.type = PROTO_HELLO;
	m.hello.version = 1;
	m.hello.agent_id = (struct proto_bytes){agent_id, sizeof(agent_id)};
	m.hello.token = B(big);
	assert_int_equal(proto_encode(&m, buf, sizeof(buf)), -EINVAL);
	m.hello.token = B("");
	assert_int_equal(proto_encode(&m, buf, sizeof(buf)), -EINVAL);
	m.hello.token = B("t");
	assert_int_equal(proto_encode(&m, buf, 5), -ENOBUFS);

	memset(&m, 0, sizeof(m));
	m.type = PROTO_REGISTER;
	m.reg.port = 65536;
	assert_int_equal(proto_encode(&m, buf, sizeof(buf)), -EINVAL);
	m.reg.port = 1;
	m.reg.kind = PROTO_KIND__MAX;
	assert_int_equal(proto_encode(&m, buf, sizeof(buf)), -EINVAL);

	memset(&m, 0, sizeof(m));
	m.type = 0x3f;
	assert_int_equal(proto_encode(&m, buf, sizeof(buf)), -EINVAL);
}

/* Build type, length, payload by hand. */
static size_t frame(uint8_t *buf, uint64_t type, const uint8_t *payload, size_t plen)
{
	size_t n = proto_varint_put(buf, 16, type);

	n += proto_varint_put(buf + n, 16, plen);
	memcpy(buf + n, payload, plen);
	return n + plen;
}

static void test_proto_decode_malformed(void **state)
{
	struct proto_msg m;
	uint8_t buf[4096], p[2048];
	size_t used, n, len;

	(void)state;
	/* truncated varint in the type and the length */
	buf[0] = 0xc0;
	assert_int_equal(proto_decode(buf, 1, &m, &used), -EAGAIN);
	buf[0] = PROTO_HELLO;
	buf[1] = 0x80;
	assert_int_equal(proto_decode(buf, 3, &m, &used), -EAGAIN);
	assert_int_equal(proto_decode(buf, 0, &m, &used), -EAGAIN);

	/* huge length: refused before waiting for it */
	n = proto_varint_put(buf, 8, PROTO_HELLO);
	n += proto_varint_put(buf + n, 8, PROTO_VARINT_MAX);
	assert_int_equal(proto_decode(buf, n, &m, &used), -EMSGSIZE);
	n = proto_varint_put(buf, 8, PROTO_HELLO);
	n += proto_varint_put(buf + n, 8, PROTO_MAX_PAYLOAD + 1);
	assert_int_equal(proto_decode(buf, n, &m, &used), -EMSGSIZE);

	/* unknown type: framed, so skippable */
	p[0] = 1;
	p[1] = 2;
	len = frame(buf, 0x2a, p, 2);
	assert_int_equal(proto_decode(buf, len, &m, &used), -ENOMSG);
	assert_int_equal(used, len);
	assert_int_equal(m.type, 0x2a);
	len = frame(buf, PROTO_STREAM, p, 2); /* data stream header is not a control message */
	assert_int_equal(proto_decode(buf, len, &m, &used), -ENOMSG);

	/* zero-length payload of a known type */
	len = frame(buf, PROTO_HELLO, p, 0);
	assert_int_equal(proto_decode(buf, len, &m, &used), -EBADMSG);
	assert_int_equal(used, len);

	/* HELLO: field truncated inside the payload */
	p[0] = 1;
	p[1] = PROTO_AGENT_ID_LEN;
	memcpy(p + 2, agent_id, 10);
	len = frame(buf, PROTO_HELLO, p, 12);
	assert_int_equal(proto_decode(buf, len, &m, &used), -EBADMSG);

	/* HELLO: agent id of the wrong size */
	p[1] = 4;
	memcpy(p + 2, "abcd", 4);
	p[6] = 1;
	p[7] = 't';
	len = frame(buf, PROTO_HELLO, p, 8);
	assert_int_equal(proto_decode(buf, len, &m, &used), -EBADMSG);

	/* HELLO: zero-length token, and an over-long token */
	p[1] = PROTO_AGENT_ID_LEN;
	memcpy(p + 2, agent_id, PROTO_AGENT_ID_LEN);
	n = 2 + PROTO_AGENT_ID_LEN;
	p[n] = 0;
	len = frame(buf, PROTO_HELLO, p, n + 1);
	assert_int_equal(proto_decode(buf, len, &m, &used), -EBADMSG);
	len = proto_varint_put(p + n, 8, PROTO_MAX_TOKEN + 1);
	memset(p + n + len, 'a', PROTO_MAX_TOKEN + 1);
	len = frame(buf, PROTO_HELLO, p, n + len + PROTO_MAX_TOKEN + 1);
	assert_int_equal(proto_decode(buf, len, &m, &used), -EBADMSG);

	/* HELLO: valid, then one trailing byte inside the frame */
	p[n] = 1;
	p[n + 1] = 't';
	len = frame(buf, PROTO_HELLO, p, n + 2);
	assert_int_equal(proto_decode(buf, len, &m, &used), 0);
	len = frame(buf, PROTO_HELLO, p, n + 3);
	assert_int_equal(proto_decode(buf, len, &m, &used), -EBADMSG);

	/* byte-string length larger than what is left of the payload */
	p[0] = 1;
	p[1] = 0x7f; /* 2-byte varint prefix, truncated */
	len = frame(buf, PROTO_HELLO, p, 2);
	assert_int_equal(proto_decode(buf, len, &m, &used), -EBADMSG);

	/* REGISTER: over-long name, port over 65535, unknown kind */
	p[0] = 1;
	p[1] = PROTO_KIND_TCP;
	n = 2 + proto_varint_put(p + 2, 8, PROTO_MAX_NAME + 1);
	memset(p + n, 'n', PROTO_MAX_NAME + 1);
	n += PROTO_MAX_NAME + 1;
	p[n++] = 0;
	len = frame(buf, PROTO_REGISTER, p, n);
	assert_int_equal(proto_decode(buf, len, &m, &used), -EBADMSG);
	p[2] = 0;
	n = 3 + proto_varint_put(p + 3, 8, 65536);
	len = frame(buf, PROTO_REGISTER, p, n);
	assert_int_equal(proto_decode(buf, len, &m, &used), -EBADMSG);
	n = 3 + proto_varint_put(p + 3, 8, 65535);
	len = frame(buf, PROTO_REGISTER, p, n);
	assert_int_equal(proto_decode(buf, len, &m, &used), 0);
	p[1] = PROTO_KIND__MAX;
	len = frame(buf, PROTO_REGISTER, p, n);
	assert_int_equal(proto_decode(buf, len, &m, &used), -EBADMSG);

	/* REGISTERED with tunnel id 0 */
	p[0] = 1;
	p[1] = 0;
	p[2] = 80;
	p[3] = 1;
	p[4] = 'x';
	len = frame(buf, PROTO_REGISTERED, p, 5);
	assert_int_equal(proto_decode(buf, len, &m, &used), -EBADMSG);
}

static void test_proto_decode_two_messages_in_a_row(void **state)
{
	struct proto_msg m = {0}, out;
	uint8_t buf[256];
	size_t used;
	int a, b;

	(void)state;
	m.type = PROTO_UNREGISTER;
	m.unregister.tunnel_id = 1;
	a = proto_encode(&m, buf, sizeof(buf));
	m.unregister.tunnel_id = 300;
	b = proto_encode(&m, buf + a, sizeof(buf) - (size_t)a);
	assert_true(a > 0 && b > 0);
	assert_int_equal(proto_decode(buf, (size_t)(a + b), &out, &used), 0);
	assert_int_equal(used, a);
	assert_int_equal(out.unregister.tunnel_id, 1);
	assert_int_equal(proto_decode(buf + used, (size_t)b, &out, &used), 0);
	assert_int_equal(out.unregister.tunnel_id, 300);
}

static void test_proto_stream_hdr(void **state)
{
	struct proto_stream_hdr h = {.tunnel_id = 1234, .family = 6, .port = 443}, o;
	uint8_t buf[PROTO_STREAM_HDR_MAX];
	int n, i;

	(void)state;
	memset(h.addr, 0xab, 16);
	n = proto_stream_hdr_encode(&h, buf, sizeof(buf));
	assert_true(n > 0 && n <= PROTO_STREAM_HDR_MAX);
	assert_int_equal(proto_stream_hdr_decode(buf, (size_t)n, &o), n);
	assert_true(o.tunnel_id == 1234 && o.family == 6 && o.port == 443);
	assert_memory_equal(o.addr, h.addr, 16);
	for (i = 0; i < n; i++)
		assert_int_equal(proto_stream_hdr_decode(buf, (size_t)i, &o), -EAGAIN);

	h.family = 4;
	n = proto_stream_hdr_encode(&h, buf, sizeof(buf));
	assert_int_equal(proto_stream_hdr_decode(buf, (size_t)n, &o), n);
	assert_int_equal(o.family, 4);

	buf[0] = PROTO_HELLO; /* wrong type */
	assert_int_equal(proto_stream_hdr_decode(buf, (size_t)n, &o), -EBADMSG);
	buf[0] = PROTO_STREAM;
	buf[1] = 0; /* tunnel id 0 */
	assert_int_equal(proto_stream_hdr_decode(buf, (size_t)n, &o), -EBADMSG);
	n = proto_stream_hdr_encode(&h, buf, sizeof(buf));
	buf[3] = 5; /* bad family: type(1) + tunnel id(2) */
	assert_int_equal(proto_stream_hdr_decode(buf, (size_t)n, &o), -EBADMSG);

	h.family = 9;
	assert_int_equal(proto_stream_hdr_encode(&h, buf, sizeof(buf)), -EINVAL);
	h.family = 4;
	assert_int_equal(proto_stream_hdr_encode(&h, buf, 4), -ENOBUFS);
	h.tunnel_id = 0;
	assert_int_equal(proto_stream_hdr_encode(&h, buf, sizeof(buf)), -EINVAL);
}

static void test_proto_dgram_hdr(void **state)
{
	struct proto_dgram_hdr h = {.tunnel_id = 7, .flow_id = 70000}, got;
	uint8_t buf[PROTO_DGRAM_HDR_MAX + 4];
	int n, i;

	(void)state;
	n = proto_dgram_hdr_encode(&h, buf, sizeof(buf));
	assert_int_equal(n, 1 + 4);
	buf[n] = 0xaa; /* payload after the header is not looked at */
	assert_int_equal(proto_dgram_hdr_decode(buf, (size_t)n + 1, &got), n);
	assert_true(got.tunnel_id == 7 && got.flow_id == 70000);
	/* every truncation is malformed, never read past */
	for (i = 0; i < n; i++)
		assert_int_equal(proto_dgram_hdr_decode(buf, (size_t)i, &got), -EBADMSG);
	/* ids are never 0 */
	buf[0] = 0;
	assert_int_equal(proto_dgram_hdr_decode(buf, (size_t)n, &got), -EBADMSG);
	buf[0] = 7;
	buf[1] = 0;
	assert_int_equal(proto_dgram_hdr_decode(buf, 2, &got), -EBADMSG);
	/* the largest ids fit the advertised maximum */
	h.tunnel_id = PROTO_VARINT_MAX;
	h.flow_id = PROTO_VARINT_MAX;
	assert_int_equal(proto_dgram_hdr_encode(&h, buf, PROTO_DGRAM_HDR_MAX), 16);
	assert_int_equal(proto_dgram_hdr_encode(&h, buf, 15), -ENOBUFS);
	h.flow_id = 0;
	assert_int_equal(proto_dgram_hdr_encode(&h, buf, sizeof(buf)), -EINVAL);
	h.flow_id = PROTO_VARINT_MAX + 1;
	assert_int_equal(proto_dgram_hdr_encode(&h, buf, sizeof(buf)), -EINVAL);
}

static void test_proto_err_names(void **state)
{
	(void)state;
	assert_string_equal(proto_err_name(PROTO_ERR_AUTH), "auth");
	assert_string_equal(proto_err_name(PROTO_ERR_CONN_REFUSED), "connection-refused");
	assert_string_equal(proto_err_name(0xdead), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proto_varint_round_trip),
		cmocka_unit_test(test_proto_messages_round_trip),
		cmocka_unit_test(test_proto_name_valid),
		cmocka_unit_test(test_proto_encode_rejects_bad_fields),
		cmocka_unit_test(test_proto_decode_malformed),
		cmocka_unit_test(test_proto_decode_two_messages_in_a_row),
		cmocka_unit_test(test_proto_stream_hdr),
		cmocka_unit_test(test_proto_dgram_hdr),
		cmocka_unit_test(test_proto_err_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
