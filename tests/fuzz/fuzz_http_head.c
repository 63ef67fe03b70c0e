// SPDX-License-Identifier: MIT
/*
 * fuzz_http_head.c - libFuzzer target for the request-head reader the edge
 * routes public HTTP by. Any prefix of a good head must read as incomplete,
 * a good head's length stays inside the input, and its host is in routing
 * form (lower case, no port).
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "http_head.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_head h, again;
	char norm[HTTP_HOST_MAX + 1];
	size_t i;
	int err;

	if (size > HTTP_HEAD_MAX)
		size = HTTP_HEAD_MAX; /* the edge never reads more */
	err = http_head_parse(data, size, &h);
	assert(err == 0 || err == -EAGAIN || err == -EBADMSG);
	if (err == -EBADMSG)
		assert(h.why);
	if (err)
		return 0;
	assert(h.len > 0 && h.len <= size);
	assert(h.host[0] && strlen(h.host) <= HTTP_HOST_MAX);
	for (i = 0; h.host[i]; i++)
		assert(!(h.host[i] >= 'A' && h.host[i] <= 'Z'));
	/* the routing form is a fixed point of normalization */
	assert(http_host_normalize(h.host, strlen(h.host), norm, sizeof(norm), false) == 0);
	assert(!strcmp(norm, h.host));
	/* the head alone reads the same; one byte short of it is never complete */
	assert(http_head_parse(data, h.len, &again) == 0 && again.len == h.len);
	assert(http_head_parse(data, h.len - 1, &again) != 0);
	http_hostname_valid(h.host);
	return 0;
}
