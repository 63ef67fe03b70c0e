/* SPDX-License-Identifier: MIT */
/*
 * http_head.h - the small HTTP/1.x request-head reader the edge routes by.
 *
 * The edge never rewrites a request: it only needs to know where the head
 * ends and which host the client asked for. The reader is strict about
 * anything that could make the edge and the service behind it disagree on
 * that host (duplicate Host, folded lines, stray CR, bytes that are not
 * HTTP), and it rejects garbage as early as the first wrong byte.
 */
#ifndef BEAM_HTTP_HEAD_H
#define BEAM_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_HEAD_MAX	     8192 /* longest request head the edge reads */
#define HTTP_HOST_MAX	     255  /* longest host (without port) the reader keeps */
#define HTTP_HEAD_FIELDS_MAX 100  /* header lines in one head */

struct http_head {
	size_t len;		      /* bytes of the head, blank line included */
	unsigned int minor;	      /* HTTP/1.<minor> */
	char host[HTTP_HOST_MAX + 1]; /* lower case, without port or trailing dot */
	const char *why;	      /* on -EBADMSG: what was wrong, for logs */
};

/*
 * Read the request head at the start of @buf (@len bytes; what follows the
 * head is body or the next request and is not looked at). The host comes
 * from an absolute-form request target if there is one, else from the one
 * Host field.
 * Returns 0 with @out filled when the head is complete, or:
 *   -EAGAIN   valid so far, not complete; the caller decides when it is too
 *             long (HTTP_HEAD_MAX) or too slow
 *   -EBADMSG  not an HTTP/1.x request head, or no usable host; @out->why says
 */
int http_head_parse(const uint8_t *buf, size_t len, struct http_head *out);

/*
 * Turn the host part of an authority (@in, @len bytes: "Name.Example:8080",
 * "[::1]:80", "name.example.") into its routing form in @out (@cap bytes):
 * lower case, port and one trailing dot removed. With !@allow_port a port is
 * an error. Returns 0, or -EINVAL when the host is empty, has a character a
 * host name or IP literal cannot have, or does not fit.
 */
int http_host_normalize(const char *in, size_t len, char *out, size_t cap, bool allow_port);

/*
 * Whether @name (already normalized) is a host name an http tunnel may
 * register: letters, digits, '-' and '_' in dot-separated labels of 1..63
 * characters; no IP literal: no IPv6 address, no last label that is a
 * number (decimal, or 0x hex), which clients read as an IPv4 address.
 */
bool http_hostname_valid(const char *name);

/*
 * The check beam (--hostname) and beamd (REGISTER) both make: @in (@len
 * bytes) normalized into @out (@cap bytes; "" on failure) as
 * http_host_normalize() does without a port, then held to
 * http_hostname_valid(). Returns NULL when it is a valid host name, else a
 * phrase saying why not ("an IPv4 address (...), not a host name", "empty").
 */
const char *http_hostname_check(const char *in, size_t len, char *out, size_t cap);

#endif /* BEAM_HTTP_HEAD_H */
