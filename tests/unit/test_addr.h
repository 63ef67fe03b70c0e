/* SPDX-License-Identifier: MIT */
/*
 * test_addr.h - socket addresses for unit tests, from numeric strings. Include
 * after <cmocka.h>: a string that is not an address of the family fails the test.
 */
#ifndef BEAM_TEST_ADDR_H
#define BEAM_TEST_ADDR_H

#include <arpa/inet.h>
#include <stdint.h>
#include <sys/socket.h>

#include "pktio.h"

/* @ip (numeric, of @family: AF_INET or AF_INET6) and @port as a pktio_addr. */
static inline struct pktio_addr test_addr(int family, const char *ip, uint16_t port)
{
	struct pktio_addr a = {0};
	void *bytes;

	if (family == AF_INET6) {
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_port = htons(port);
		a.len = sizeof(a.in6);
		bytes = &a.in6.sin6_addr;
	} else {
		a.in.sin_family = AF_INET;
		a.in.sin_port = htons(port);
		a.len = sizeof(a.in);
		bytes = &a.in.sin_addr;
	}
	assert_int_equal(inet_pton(family, ip, bytes), 1);
	return a;
}

static inline struct pktio_addr v4(const char *ip, uint16_t port)
{
	return test_addr(AF_INET, ip, port);
}

static inline struct pktio_addr v6(const char *ip, uint16_t port)
{
	return test_addr(AF_INET6, ip, port);
}

#endif /* BEAM_TEST_ADDR_H */
