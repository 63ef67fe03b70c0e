// SPDX-License-Identifier: MIT
/*
 * proto.c - beam/1 codec: QUIC varints, control messages, data stream header.
 * Pure functions over caller buffers; no allocation, every length checked.
 */
#include "proto.h"

#include <errno.h>
#include <string.h>

size_t proto_varint_get(const uint8_t *buf, size_t len, uint64_t *v)
{
	size_t n, i;
	uint64_t x;

	if (!len)
		return 0;
	/* RFC 9000 section 16: the two top bits of the first byte give the length */
	n = (size_t)1 << (buf[0] >> 6);
	if (len < n)
		return 0;
	x = buf[0] & 0x3f;
	for (i = 1; i < n; i++)
		x = (x << 8) | buf[i];
	*v = x;
	return n;
}

size_t proto_varint_len(uint64_t v)
{
	if (v < (1ull << 6))
		return 1;
	if (v < (1ull << 14))
		return 2;
	if (v < (1ull << 30))
		return 4;
	if (v <= PROTO_VARINT_MAX)
		return 8;
	return 0;
}

size_t proto_varint_put(uint8_t *buf, size_t cap, uint64_t v)
{
	size_t n = proto_varint_len(v), i;
	static const uint8_t prefix[9] = {[1] = 0x00, [2] = 0x40, [4] = 0x80, [8] = 0xc0};

	if (!n || cap < n)
		return 0;
	for (i = n; i > 0; i--) {
		buf[i - 1] = v & 0xff;
		v >>= 8;
	}
	buf[0] |= prefix[n];
	return n;
}

/* A read cursor over one message payload. Any failure sticks in @bad. */
struct rd {
	const uint8_t *p;
	size_t left;
	int bad;
};

static uint64_t rd_varint(struct rd *r)
{
	uint64_t v = 0;
	size_t n;

	if (r->bad)
		return 0;
	n = proto_varint_get(r->p, r->left, &v);
	if (!n) {
		r->bad = 1;
		return 0;
	}
	r->p += n;
	r->left -= n;
	return v;
}

static uint64_t rd_varint_max(struct rd *r, uint64_t max)
{
	uint64_t v = rd_varint(r);

	if (v > max)
		r->bad = 1;
	return v;
}

static void rd_bytes(struct rd *r, struct proto_bytes *b, size_t min, size_t max)
{
	uint64_t n = rd_varint(r);

	b->data = NULL;
	b->len = 0;
	if (r->bad)
		return;
	if (n < min || n > max || n > r->left) {
		r->bad = 1;
		return;
	}
	b->data = r->p;
	b->len = n;
	r->p += n;
	r->left -= n;
}

static int decode_payload(struct proto_msg *m, const uint8_t *p, size_t len)
{
	struct rd r = {.p = p, .left = len};

	switch (m->type) {
	case PROTO_HELLO:
		m->hello.version = rd_varint(&r);
		rd_bytes(&r, &m->hello.agent_id, PROTO_AGENT_ID_LEN, PROTO_AGENT_ID_LEN);
		rd_bytes(&r, &m->hello.token, 1, PROTO_MAX_TOKEN);
		break;
	case PROTO_WELCOME:
		m->welcome.version = rd_varint(&r);
		m->welcome.grace_s = rd_varint(&r);
		rd_bytes(&r, &m->welcome.name, 0, PROTO_MAX_NAME);
		break;
	case PROTO_REGISTER:
		m->reg.req_id = rd_varint(&r);
		m->reg.kind = rd_varint_max(&r, PROTO_KIND__MAX - 1);
		rd_bytes(&r, &m->reg.name, 0, PROTO_MAX_NAME);
		m->reg.port = rd_varint_max(&r, 65535);
		break;
	case PROTO_REGISTERED:
		m->registered.req_id = rd_varint(&r);
		m->registered.tunnel_id = rd_varint(&r);
		m->registered.port = rd_varint_max(&r, 65535);
		rd_bytes(&r, &m->registered.addr, 1, PROTO_MAX_ADDR);
		if (!r.bad && !m->registered.tunnel_id)
			r.bad = 1;
		break;
	case PROTO_ERROR:
		m->error.code = rd_varint(&r);
		m->error.req_id = rd_varint(&r);
		rd_bytes(&r, &m->error.reason, 0, PROTO_MAX_REASON);
		break;
	case PROTO_UNREGISTER:
		m->unregister.tunnel_id = rd_varint(&r);
		break;
	case PROTO_GOAWAY:
		m->goaway.code = rd_varint(&r);
		rd_bytes(&r, &m->goaway.reason, 0, PROTO_MAX_REASON);
		break;
	case PROTO_PING:
		break;
	default:
		return -ENOMSG;
	}
	if (r.bad || r.left)
		return -EBADMSG;
	return 0;
}

int proto_decode(const uint8_t *buf, size_t len, struct proto_msg *msg, size_t *consumed)
{
	uint64_t type, plen;
	size_t n1, n2;

	memset(msg, 0, sizeof(*msg));
	n1 = proto_varint_get(buf, len, &type);
	if (!n1)
		return -EAGAIN;
	n2 = proto_varint_get(buf + n1, len - n1, &plen);
	if (!n2)
		return -EAGAIN;
	if (plen > PROTO_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (len - n1 - n2 < plen)
		return -EAGAIN;
	msg->type = type;
	*consumed = n1 + n2 + plen;
	return decode_payload(msg, buf + n1 + n2, plen);
}

/* A write cursor; overflow sticks in @bad. */
struct wr {
	uint8_t *p;
	size_t left;
	int bad;
};

static void wr_varint(struct wr *w, uint64_t v)
{
	size_t n;

	if (w->bad)
		return;
	n = proto_varint_put(w->p, w->left, v);
	if (!n) {
		w->bad = v > PROTO_VARINT_MAX ? -EINVAL : -ENOBUFS;
		return;
	}
	w->p += n;
	w->left -= n;
}

static void wr_bytes(struct wr *w, const struct proto_bytes *b, size_t min, size_t max)
{
	if (w->bad)
		return;
	if (b->len < min || b->len > max || (b->len && !b->data)) {
		w->bad = -EINVAL;
		return;
	}
	wr_varint(w, b->len);
	if (w->bad)
		return;
	if (w->left < b->len) {
		w->bad = -ENOBUFS;
		return;
	}
	if (b->len)
		memcpy(w->p, b->data, b->len);
	w->p += b->len;
	w->left -= b->len;
}

static int encode_payload(const struct proto_msg *m, struct wr *w)
{
	switch (m->type) {
	case PROTO_HELLO:
		wr_varint(w, m->hello.version);
		wr_bytes(w, &m->hello.agent_id, PROTO_AGENT_ID_LEN, PROTO_AGENT_ID_LEN);
		wr_bytes(w, &m->hello.token, 1, PROTO_MAX_TOKEN);
		break;
	case PROTO_WELCOME:
		wr_varint(w, m->welcome.version);
		wr_varint(w, m->welcome.grace_s);
		wr_bytes(w, &m->welcome.name, 0, PROTO_MAX_NAME);
		break;
	case PROTO_REGISTER:
		if (m->reg.kind >= PROTO_KIND__MAX || m->reg.port > 65535)
			return -EINVAL;
		wr_varint(w, m->reg.req_id);
		wr_varint(w, m->reg.kind);
		wr_bytes(w, &m->reg.name, 0, PROTO_MAX_NAME);
		wr_varint(w, m->reg.port);
		break;
	case PROTO_REGISTERED:
		if (!m->registered.tunnel_id || m->registered.port > 65535)
			return -EINVAL;
		wr_varint(w, m->registered.req_id);
		wr_varint(w, m->registered.tunnel_id);
		wr_varint(w, m->registered.port);
		wr_bytes(w, &m->registered.addr, 1, PROTO_MAX_ADDR);
		break;
	case PROTO_ERROR:
		wr_varint(w, m->error.code);
		wr_varint(w, m->error.req_id);
		wr_bytes(w, &m->error.reason, 0, PROTO_MAX_REASON);
		break;
	case PROTO_UNREGISTER:
		wr_varint(w, m->unregister.tunnel_id);
		break;
	case PROTO_GOAWAY:
		wr_varint(w, m->goaway.code);
		wr_bytes(w, &m->goaway.reason, 0, PROTO_MAX_REASON);
		break;
	case PROTO_PING:
		break;
	default:
		return -EINVAL;
	}
	return w->bad;
}

int proto_encode(const struct proto_msg *msg, uint8_t *buf, size_t cap)
{
	uint8_t payload[PROTO_MAX_PAYLOAD + 16];
	struct wr pw = {.p = payload, .left = PROTO_MAX_PAYLOAD};
	struct wr w = {.p = buf, .left = cap};
	size_t plen;
	int err;

	err = encode_payload(msg, &pw);
	if (err)
		return err == -ENOBUFS ? -EINVAL : err; /* payload over the protocol limit */
	plen = PROTO_MAX_PAYLOAD - pw.left;

	wr_varint(&w, msg->type);
	wr_varint(&w, plen);
	if (w.bad)
		return w.bad;
	if (w.left < plen)
		return -ENOBUFS;
	memcpy(w.p, payload, plen);
	return (int)(cap - w.left + plen);
}

int proto_stream_hdr_decode(const uint8_t *buf, size_t len, struct proto_stream_hdr *hdr)
{
	size_t n, off = 0, alen;
	uint64_t type;

	memset(hdr, 0, sizeof(*hdr));
	n = proto_varint_get(buf, len, &type);
	if (!n)
		return -EAGAIN;
	if (type != PROTO_STREAM)
		return -EBADMSG;
	off += n;
	n = proto_varint_get(buf + off, len - off, &hdr->tunnel_id);
	if (!n)
		return -EAGAIN;
	if (!hdr->tunnel_id)
		return -EBADMSG;
	off += n;
	if (len - off < 1)
		return -EAGAIN;
	hdr->family = buf[off++];
	if (hdr->family == 4)
		alen = 4;
	else if (hdr->family == 6)
		alen = 16;
	else
		return -EBADMSG;
	if (len - off < 2 + alen)
		return -EAGAIN;
	hdr->port = (uint16_t)(buf[off] << 8 | buf[off + 1]);
	off += 2;
	memcpy(hdr->addr, buf + off, alen);
	off += alen;
	return (int)off;
}

int proto_stream_hdr_encode(const struct proto_stream_hdr *hdr, uint8_t *buf, size_t cap)
{
	struct wr w = {.p = buf, .left = cap};
	size_t alen;

	if (!hdr->tunnel_id || (hdr->family != 4 && hdr->family != 6))
		return -EINVAL;
	alen = hdr->family == 4 ? 4 : 16;
	wr_varint(&w, PROTO_STREAM);
	wr_varint(&w, hdr->tunnel_id);
	if (w.bad)
		return w.bad;
	if (w.left < 3 + alen)
		return -ENOBUFS;
	w.p[0] = hdr->family;
	w.p[1] = hdr->port >> 8;
	w.p[2] = hdr->port & 0xff;
	memcpy(w.p + 3, hdr->addr, alen);
	return (int)(cap - w.left + 3 + alen);
}

int proto_dgram_hdr_decode(const uint8_t *buf, size_t len, struct proto_dgram_hdr *hdr)
{
	size_t n, m;

	n = proto_varint_get(buf, len, &hdr->tunnel_id);
	if (!n || !hdr->tunnel_id)
		return -EBADMSG;
	m = proto_varint_get(buf + n, len - n, &hdr->flow_id);
	if (!m || !hdr->flow_id)
		return -EBADMSG;
	return (int)(n + m);
}

int proto_dgram_hdr_encode(const struct proto_dgram_hdr *hdr, uint8_t *buf, size_t cap)
{
	size_t n, m;

	if (!hdr->tunnel_id || !hdr->flow_id || hdr->tunnel_id > PROTO_VARINT_MAX ||
	    hdr->flow_id > PROTO_VARINT_MAX)
		return -EINVAL;
	n = proto_varint_put(buf, cap, hdr->tunnel_id);
	if (!n)
		return -ENOBUFS;
	m = proto_varint_put(buf + n, cap - n, hdr->flow_id);
	if (!m)
		return -ENOBUFS;
	return (int)(n + m);
}

static bool name_byte_ok(uint8_t c)
{
	return c >= 0x20 && c <= 0x7e && c != '"' && c != '\'' && c != '\\';
}

bool proto_name_valid(const uint8_t *name, size_t len)
{
	size_t i;

	if (len > PROTO_MAX_NAME || (len && !name))
		return false;
	for (i = 0; i < len; i++)
		if (!name_byte_ok(name[i]))
			return false;
	return true;
}

char *proto_name_printable(const uint8_t *data, size_t len, char *out, size_t cap)
{
	size_t i;

	if (!cap)
		return out;
	for (i = 0; i < len && i < cap - 1; i++)
		out[i] = name_byte_ok(data[i]) ? (char)data[i] : '?';
	out[i] = '\0';
	return out;
}

const char *proto_err_name(uint64_t code)
{
	switch (code) {
	case PROTO_ERR_NONE:
		return "none";
	case PROTO_ERR_MALFORMED:
		return "malformed";
	case PROTO_ERR_UNKNOWN_TYPE:
		return "unknown-type";
	case PROTO_ERR_VERSION:
		return "version";
	case PROTO_ERR_AUTH:
		return "auth";
	case PROTO_ERR_NOT_AUTHED:
		return "not-authenticated";
	case PROTO_ERR_PORT_TAKEN:
		return "port-taken";
	case PROTO_ERR_PORT_DENIED:
		return "port-denied";
	case PROTO_ERR_UNSUPPORTED:
		return "unsupported";
	case PROTO_ERR_LIMIT:
		return "limit";
	case PROTO_ERR_NO_TUNNEL:
		return "no-tunnel";
	case PROTO_ERR_INTERNAL:
		return "internal";
	case PROTO_ERR_SHUTDOWN:
		return "shutdown";
	case PROTO_ERR_NAME_TAKEN:
		return "name-taken";
	case PROTO_ERR_BAD_NAME:
		return "bad-name";
	case PROTO_ERR_IN_USE:
		return "in-use";
	case PROTO_ERR_THROTTLED:
		return "throttled";
	case PROTO_ERR_CONN_REFUSED:
		return "connection-refused";
	case PROTO_ERR_CONN_FAILED:
		return "connection-failed";
	case PROTO_ERR_TCP_RESET:
		return "tcp-reset";
	case PROTO_ERR_BAD_STREAM:
		return "bad-stream";
	default:
		return "unknown";
	}
}
