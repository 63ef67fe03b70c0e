// SPDX-License-Identifier: MIT
/*
 * fuzz_proto.c - libFuzzer target for the beam/1 decoders: control messages
 * and data stream headers. Whatever decodes must re-encode to bytes that
 * decode to the same message.
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
