// SPDX-License-Identifier: MIT
/*
 * fuzz_netaddr.c - libFuzzer target for what the command lines parse:
 * "HOST:PORT" addresses (netaddr_split), certificate pins (tls_pin_parse),
 * and the formatting of whatever socket address the kernel hands back
 * (netaddr_str). Nothing here resolves names: no packet leaves.
 *
 * Input: byte 0 picks the host buffer size (1..256), the rest is the string.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"
#include "tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_split(const char *s, size_t cap)
{
	char *host = malloc(cap);
	uint16_t port = 0;

	if (!host)
		return;
	memset(host, 'x', cap);
	if (!netaddr_split(s, NULL, host, cap, &port)) {
		assert(memchr(host, '\0', cap));
		assert(strlen(host) < cap);
	}
	memset(host, 'x', cap);
	if (!netaddr_split(s, "127.0.0.1", host, cap, &port))
		assert(memchr(host, '\0', cap));
	free(host);
}

static void fuzz_pin(const char *s)
{
	uint8_t pin[TLS_FP_LEN], again[TLS_FP_LEN];
	char str[TLS_FP_STR_LEN];

	if (tls_pin_parse(s, pin))
		return;
	/* an accepted pin formats to a string that parses to the same pin */
	tls_fp_format(pin, str);
	assert(strlen(str) == TLS_FP_STR_LEN - 1);
	assert(!tls_pin_parse(str, again));
	assert(!memcmp(pin, again, sizeof(pin)));
}

static void fuzz_str(const uint8_t *data, size_t size)
{
	struct pktio_addr a;
	char buf[NETADDR_STR_MAX];

	memset(&a, 0, sizeof(a));
	memcpy(&a, data, size < sizeof(a) ? size : sizeof(a));
	netaddr_str(&a, buf, sizeof(buf));
	assert(memchr(buf, '\0', sizeof(buf)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cap;
	char *s;

	if (size < 1 || size > 4096)
		return 0;
	cap = (size_t)data[0] + 1;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	fuzz_split(s, cap);
	fuzz_pin(s);
	fuzz_str(data + 1, size - 1);
	free(s);
	return 0;
}
