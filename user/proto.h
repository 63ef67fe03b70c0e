/* SPDX-License-Identifier: MIT */
/*
 * proto.h - the beam/1 wire codec: control messages on the agent's first
 * bidirectional stream and the header that opens every data stream.
 *
 * Everything is framed with QUIC variable-length integers (RFC 9000 section
 * 16). A control message is (type, length, payload); the payload is a fixed
 * sequence of fields, each a varint or a length-prefixed byte string. The
 * decoder checks every length against the buffer and against the limits
 * below; decoded byte strings point into the caller's buffer. docs/protocol.md
 * is the specification.
 */
#ifndef BEAM_PROTO_H
#define BEAM_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_ALPN	     "beam/1"
#define PROTO_VERSION	     1
#define PROTO_VARINT_MAX     ((1ull << 62) - 1)
#define PROTO_MAX_PAYLOAD    1024 /* largest control message payload */
#define PROTO_MAX_TOKEN	     256
#define PROTO_MAX_NAME	     64
#define PROTO_MAX_REASON     256
#define PROTO_MAX_ADDR	     64 /* textual public address "host:port" */
#define PROTO_AGENT_ID_LEN   16
#define PROTO_STREAM_HDR_MAX 32 /* type + tunnel id + family + port + address */
#define PROTO_DGRAM_HDR_MAX  16 /* tunnel id + flow id, in front of a DATAGRAM */

/* Control message types. */
enum proto_type {
	PROTO_HELLO = 0x01,	 /* agent -> edge: version, agent id, token */
	PROTO_WELCOME = 0x02,	 /* edge -> agent: version, grace seconds, session name */
	PROTO_REGISTER = 0x03,	 /* agent -> edge: request id, kind, name, wanted port */
	PROTO_REGISTERED = 0x04, /* edge -> agent: request id, tunnel id, port, address */
	PROTO_ERROR = 0x05,	 /* either way: code, request id, reason */
	PROTO_UNREGISTER = 0x06, /* agent -> edge: tunnel id */
	PROTO_GOAWAY = 0x07,	 /* edge -> agent: code, reason (edge shutting down) */
	PROTO_PING = 0x08,	 /* edge -> agent: no payload; its ACK shows the agent lives */
	PROTO_STREAM = 0x10,	 /* first bytes of a data stream, never on the control stream */
};

enum proto_kind {
	PROTO_KIND_TCP = 0,
	PROTO_KIND_HTTP = 1,
	PROTO_KIND_UDP = 2,
	PROTO_KIND__MAX,
};

/*
 * Error codes: carried in ERROR messages, and as QUIC application error codes
 * in RESET_STREAM, STOP_SENDING and CONNECTION_CLOSE.
 */
enum proto_err {
	PROTO_ERR_NONE = 0x0,
	PROTO_ERR_MALFORMED = 0x1,	/* a message or field does not parse */
	PROTO_ERR_UNKNOWN_TYPE = 0x2,	/* a message type this side does not know */
	PROTO_ERR_VERSION = 0x3,	/* unsupported protocol version */
	PROTO_ERR_AUTH = 0x4,		/* unknown or wrong token */
	PROTO_ERR_NOT_AUTHED = 0x5,	/* REGISTER before a successful HELLO */
	PROTO_ERR_PORT_TAKEN = 0x6,	/* the wanted public port is in use */
	PROTO_ERR_PORT_DENIED = 0x7,	/* the port is outside what the edge allows */
	PROTO_ERR_UNSUPPORTED = 0x8,	/* tunnel kind not supported by this edge */
	PROTO_ERR_LIMIT = 0x9,		/* too many tunnels or streams */
	PROTO_ERR_NO_TUNNEL = 0xa,	/* tunnel id unknown */
	PROTO_ERR_INTERNAL = 0xb,	/* the other side failed on its own */
	PROTO_ERR_SHUTDOWN = 0xc,	/* going away */
	PROTO_ERR_NAME_TAKEN = 0xd,	/* http: the host name belongs to another token */
	PROTO_ERR_BAD_NAME = 0xe,	/* a tunnel name the edge does not accept */
	PROTO_ERR_IN_USE = 0xf,		/* the tunnel is held by another live agent */
	PROTO_ERR_THROTTLED = 0x10,	/* HELLO unchecked: its address failed too often */
	PROTO_ERR_CONN_REFUSED = 0x100, /* data stream: the local service refused */
	PROTO_ERR_CONN_FAILED = 0x101,	/* data stream: local connect failed otherwise */
	PROTO_ERR_TCP_RESET = 0x102,	/* data stream: a TCP side was reset */
	PROTO_ERR_BAD_STREAM = 0x103,	/* data stream: bad header or unknown tunnel */
};

/* A byte string inside a decoded message: points into the decoded buffer. */
struct proto_bytes {
	const uint8_t *data;
	size_t len;
};

struct proto_msg {
	uint64_t type; /* enum proto_type, or the unknown type that was read */
	union {
		struct {
			uint64_t version;
			struct proto_bytes agent_id; /* PROTO_AGENT_ID_LEN bytes */
			struct proto_bytes token;    /* 1..PROTO_MAX_TOKEN */
		} hello;
		struct {
			uint64_t version;
			uint64_t grace_s;
			struct proto_bytes name; /* the token's name, 0..PROTO_MAX_NAME */
		} welcome;
		struct {
			uint64_t req_id;
			uint64_t kind;		 /* enum proto_kind */
			struct proto_bytes name; /* 0..PROTO_MAX_NAME */
			uint64_t port;		 /* 0 = the edge picks */
		} reg;
		struct {
			uint64_t req_id;
			uint64_t tunnel_id;
			uint64_t port;
			struct proto_bytes addr; /* 1..PROTO_MAX_ADDR, "host:port" */
		} registered;
		struct {
			uint64_t code;		   /* enum proto_err */
			uint64_t req_id;	   /* 0 when not about a request */
			struct proto_bytes reason; /* 0..PROTO_MAX_REASON */
		} error;
		struct {
			uint64_t tunnel_id;
		} unregister;
		struct {
			uint64_t code;
			struct proto_bytes reason;
		} goaway;
	};
};

/* Data stream header: which tunnel, and who the public client is. */
struct proto_stream_hdr {
	uint64_t tunnel_id;
	uint8_t family; /* 4 or 6 */
	uint16_t port;	/* host byte order */
	uint8_t addr[16];
};

/*
 * Read one varint from @buf (@len bytes). Returns the bytes it took (1, 2, 4
 * or 8) and stores the value in @v, or 0 when @buf is too short.
 */
size_t proto_varint_get(const uint8_t *buf, size_t len, uint64_t *v);

/*
 * Write @v as a varint of the shortest form into @buf (@cap bytes). Returns
 * the bytes written, or 0 when @cap is too small or @v > PROTO_VARINT_MAX.
 */
size_t proto_varint_put(uint8_t *buf, size_t cap, uint64_t v);

/* Bytes the varint form of @v takes (1..8), 0 when @v > PROTO_VARINT_MAX. */
size_t proto_varint_len(uint64_t v);

/*
 * Decode one control message from the start of @buf (@len bytes).
 * On success returns 0, fills @msg (byte strings point into @buf) and stores
 * the bytes the whole message took in @consumed.
 * Errors:
 *   -EAGAIN    the message is not complete yet; nothing consumed
 *   -EMSGSIZE  the length field exceeds PROTO_MAX_PAYLOAD (the stream is
 *              unusable: the caller cannot find the next message safely)
 *   -ENOMSG    a well-framed message of an unknown type: @msg->type and
 *              @consumed are set, so the caller can answer and skip it
 *   -EBADMSG   a known type whose fields are truncated, out of range, too
 *              long, or followed by trailing bytes; @consumed is set
 */
int proto_decode(const uint8_t *buf, size_t len, struct proto_msg *msg, size_t *consumed);

/*
 * Encode @msg into @buf (@cap bytes). Returns the bytes written, -EINVAL when
 * a field is out of range or the type is unknown, -ENOBUFS when @cap is too
 * small.
 */
int proto_encode(const struct proto_msg *msg, uint8_t *buf, size_t cap);

/*
 * Decode a data stream header from the start of @buf. Returns the bytes it
 * took, -EAGAIN when incomplete, -EBADMSG when malformed (wrong type, bad
 * family, tunnel id 0).
 */
int proto_stream_hdr_decode(const uint8_t *buf, size_t len, struct proto_stream_hdr *hdr);

/* Encode @hdr into @buf. Returns bytes written, -EINVAL or -ENOBUFS. */
int proto_stream_hdr_encode(const struct proto_stream_hdr *hdr, uint8_t *buf, size_t cap);

/*
 * The header in front of every DATAGRAM frame of a udp tunnel: which tunnel,
 * and which public flow (a client address the edge numbered, from 1) the
 * datagram belongs to. Both directions use it.
 */
struct proto_dgram_hdr {
	uint64_t tunnel_id;
	uint64_t flow_id;
};

/* Decode a datagram header. Returns the bytes it took, or -EBADMSG when
 * truncated or an id is 0. */
int proto_dgram_hdr_decode(const uint8_t *buf, size_t len, struct proto_dgram_hdr *hdr);

/* Encode @hdr into @buf (at most PROTO_DGRAM_HDR_MAX bytes). Returns bytes
 * written, -EINVAL (an id 0 or too large) or -ENOBUFS. */
int proto_dgram_hdr_encode(const struct proto_dgram_hdr *hdr, uint8_t *buf, size_t cap);

/*
 * Whether @name (@len bytes) is a tunnel name the edge accepts: at most
 * PROTO_MAX_NAME bytes of printable ASCII (space to '~') without quotes (" ')
 * or backslash, so it is safe in logs and metric labels as it is.
 */
bool proto_name_valid(const uint8_t *name, size_t len);

/*
 * A copy of @len bytes at @data for a log line: NUL-terminated in @out (@cap
 * bytes, cut to fit), each byte outside what proto_name_valid accepts
 * replaced by '?'. Returns @out.
 */
char *proto_name_printable(const uint8_t *data, size_t len, char *out, size_t cap);

/* A short name for an error code ("auth", "port-taken", ...), "unknown" otherwise. */
const char *proto_err_name(uint64_t code);

#endif /* BEAM_PROTO_H */
