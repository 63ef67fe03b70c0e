// SPDX-License-Identifier: MIT
/*
 * fuzz_proto.c - libFuzzer target for the beam/1 decoders: control messages,
 * data stream headers and datagram headers. Whatever decodes must re-encode
 * to bytes that decode to the same message.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_roundtrip(const struct proto_msg *msg)
{
	struct proto_msg again;
	uint8_t buf[PROTO_MAX_PAYLOAD + 16];
	size_t used = 0;
	int n;

	n = proto_encode(msg, buf, sizeof(buf));
	if (n < 0)
		return; /* e.g. a decoded value the encoder refuses: not a crash */
	assert(proto_decode(buf, n, &again, &used) == 0);
	assert(used == (size_t)n);
	assert(again.type == msg->type);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_stream_hdr hdr;
	struct proto_dgram_hdr dh;
	size_t off = 0, used;
	struct proto_msg msg;
	int err, rounds = 0;

	/* Walk a stream of messages the way the control stream reader does. */
	while (off < size && rounds++ < 64) {
		used = 0;
		err = proto_decode(data + off, size - off, &msg, &used);
		if (err == -EAGAIN || err == -EMSGSIZE)
			break;
		assert(used > 0 && used <= size - off);
		if (!err)
			check_roundtrip(&msg);
		off += used;
	}

	/* the header of a udp tunnel's DATAGRAM frames */
	err = proto_dgram_hdr_decode(data, size, &dh);
	assert(err == -EBADMSG || (err > 0 && (size_t)err <= size && err <= PROTO_DGRAM_HDR_MAX));
	if (err > 0) {
		uint8_t buf[PROTO_DGRAM_HDR_MAX];
		struct proto_dgram_hdr again;
		int n = proto_dgram_hdr_encode(&dh, buf, sizeof(buf));

		assert(n > 0 && n <= err);
		assert(proto_dgram_hdr_decode(buf, n, &again) == n);
		assert(again.tunnel_id == dh.tunnel_id && again.flow_id == dh.flow_id);
	}

	err = proto_stream_hdr_decode(data, size, &hdr);
	assert(err == -EAGAIN || err == -EBADMSG || (err > 0 && (size_t)err <= size));
	if (err > 0) {
		uint8_t buf[PROTO_STREAM_HDR_MAX];
		struct proto_stream_hdr again;
		int n = proto_stream_hdr_encode(&hdr, buf, sizeof(buf));

		assert(n > 0);
		assert(proto_stream_hdr_decode(buf, n, &again) == n);
		assert(again.tunnel_id == hdr.tunnel_id && again.port == hdr.port);
	}
	return 0;
}
