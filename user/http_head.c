// SPDX-License-Identifier: MIT
/*
 * http_head.c - read an HTTP/1.x request head far enough to route it
 * (RFC 9112 sections 2 to 5, and 3.2 for the host).
 */
#include "http_head.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#define METHOD_MAX	  32
#define LEADING_EMPTY_MAX 8 /* empty lines a client may send before a request */

static bool is_tchar(uint8_t ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
		return true;
	return ch && strchr("!#$%&'*+-.^_`|~", ch);
}

static bool is_field_vchar(uint8_t ch)
{
	return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

static int bad(struct http_head *out, const char *why)
{
	out->why = why;
	return -EBADMSG;
}

/*
 * Check the request line @p (@n bytes, without its line end). With
 * !@complete only what is there is checked, so garbage is refused at its
 * first wrong byte. On a complete line, @target and @tlen get the target.
 */
static int request_line(const uint8_t *p, size_t n, bool complete, struct http_head *out,
			const uint8_t **target, size_t *tlen)
{
	static const char proto[] = "HTTP/1.";
	size_t i = 0, t0, v0, k;

	while (i < n && is_tchar(p[i]) && i < METHOD_MAX)
		i++;
	if (i == n && !complete)
		return -EAGAIN;
	if (!i || i == n || p[i] != ' ')
		return bad(out, "request line: bad method");
	t0 = ++i;
	while (i < n && p[i] > 0x20 && p[i] < 0x7f)
		i++;
	if (i == n && !complete)
		return -EAGAIN;
	if (i == t0 || i == n || p[i] != ' ')
		return bad(out, "request line: bad request target");
	*target = p + t0;
	*tlen = i - t0;
	v0 = ++i;
	for (k = 0; k < sizeof(proto) - 1 && i < n; k++, i++)
		if (p[i] != (uint8_t)proto[k])
			return bad(out, "request line: not HTTP/1.x");
	if (!complete) {
		/* at most the minor digit and the CR of the line end remain */
		if (i < n && (p[i] < '0' || p[i] > '9'))
			return bad(out, "request line: not HTTP/1.x");
		if (n - i > 2 || (n - i == 2 && p[i + 1] != '\r'))
			return bad(out, "request line: not HTTP/1.x");
		return -EAGAIN;
	}
	if (n - v0 != sizeof(proto) || p[n - 1] < '0' || p[n - 1] > '9')
		return bad(out, "request line: not HTTP/1.x");
	out->minor = (unsigned int)(p[n - 1] - '0');
	return 0;
}

/* The authority of an absolute-form target ("http://host:port/path"), or none. */
static int target_authority(const uint8_t *t, size_t n, const uint8_t **auth, size_t *alen,
			    struct http_head *out)
{
	size_t skip, i;

	if (n >= 7 && !strncasecmp((const char *)t, "http://", 7))
		skip = 7;
	else if (n >= 8 && !strncasecmp((const char *)t, "https://", 8))
		skip = 8;
	else
		return 0;
	for (i = skip; i < n && t[i] != '/' && t[i] != '?' && t[i] != '#'; i++)
		if (t[i] == '@')
			return bad(out, "request target: user info in the authority");
	*auth = t + skip;
	*alen = i - skip;
	return 0;
}

/*
 * One header line @p (@n bytes). Records the Host value; refuses folded
 * lines, space before the colon, control bytes and a second Host.
 */
static int field_line(const uint8_t *p, size_t n, const uint8_t **host, size_t *hlen,
		      struct http_head *out)
{
	size_t i = 0, v0, v1;

	if (p[0] == ' ' || p[0] == '\t')
		return bad(out, "folded header line");
	while (i < n && is_tchar(p[i]))
		i++;
	if (!i || i == n || p[i] != ':')
		return bad(out, "bad header name");
	for (v0 = i + 1; v0 < n && (p[v0] == ' ' || p[v0] == '\t'); v0++)
		;
	for (v1 = n; v1 > v0 && (p[v1 - 1] == ' ' || p[v1 - 1] == '\t'); v1--)
		;
	for (size_t k = v0; k < v1; k++)
		if (!is_field_vchar(p[k]))
			return bad(out, "control character in a header value");
	if (i != 4 || strncasecmp((const char *)p, "host", 4))
		return 0;
	if (*host)
		return bad(out, "more than one Host header");
	*host = p + v0;
	*hlen = v1 - v0;
	return 0;
}

int http_head_parse(const uint8_t *buf, size_t len, struct http_head *out)
{
	const uint8_t *target = NULL, *host = NULL, *auth = NULL;
	size_t pos = 0, tlen = 0, hlen = 0, alen = 0;
	unsigned int nlines = 0, nempty = 0;
	int err;

	memset(out, 0, sizeof(*out));
	for (;;) {
		const uint8_t *p = buf + pos, *nl;
		size_t n;

		nl = pos < len ? memchr(p, '\n', len - pos) : NULL;
		if (!nl) {
			/* an incomplete line: only the request line is checked early */
			if (!target && pos < len && buf[pos] != '\r')
				return request_line(p, len - pos, false, out, &target, &tlen);
			if (!target && pos < len && len - pos > 1)
				return bad(out, "stray CR before the request");
			return -EAGAIN;
		}
		n = (size_t)(nl - p);
		pos += n + 1;
		if (n && p[n - 1] == '\r')
			n--;
		if (memchr(p, '\r', n))
			return bad(out, "stray CR inside a line");
		if (!target) {
			if (!n) {
				if (++nempty > LEADING_EMPTY_MAX)
					return bad(out, "empty lines instead of a request");
				continue;
			}
			err = request_line(p, n, true, out, &target, &tlen);
			if (err)
				return err;
			continue;
		}
		if (!n)
			break;
		if (++nlines > HTTP_HEAD_FIELDS_MAX)
			return bad(out, "too many header lines");
		err = field_line(p, n, &host, &hlen, out);
		if (err)
			return err;
	}
	out->len = pos;
	err = target_authority(target, tlen, &auth, &alen, out);
	if (err)
		return err;
	if (auth) {
		/* RFC 9112 section 3.2.2: the target's authority wins over Host */
		host = auth;
		hlen = alen;
	}
	if (!host)
		return bad(out, "no Host header");
	if (http_host_normalize((const char *)host, hlen, out->host, sizeof(out->host), true))
		return bad(out, "bad Host value");
	return 0;
}

static bool is_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
	       ch == '.';
}

int http_host_normalize(const char *in, size_t len, char *out, size_t cap, bool allow_port)
{
	size_t hlen, i;

	if (!len)
		return -EINVAL;
	if (in[0] == '[') {
		const char *close = memchr(in, ']', len);

		if (!close)
			return -EINVAL;
		hlen = (size_t)(close - in) + 1;
		for (i = 1; i + 1 < hlen; i++) {
			char ch = in[i];

			if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
			      (ch >= 'A' && ch <= 'F') || ch == ':' || ch == '.'))
				return -EINVAL;
		}
		if (hlen < 3)
			return -EINVAL;
	} else {
		const char *colon = memchr(in, ':', len);

		hlen = colon ? (size_t)(colon - in) : len;
	}
	if (hlen < len) {
		size_t digits = len - hlen - 1;

		if (!allow_port || in[hlen] != ':' || digits > 5)
			return -EINVAL;
		for (i = hlen + 1; i < len; i++)
			if (in[i] < '0' || in[i] > '9')
				return -EINVAL;
	}
	if (in[0] != '[' && hlen && in[hlen - 1] == '.') {
		hlen--;
		if (hlen && in[hlen - 1] == '.')
			return -EINVAL; /* one root dot at most */
	}
	if (!hlen || hlen >= cap)
		return -EINVAL;
	for (i = 0; i < hlen; i++) {
		char ch = in[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (in[0] != '[' && !is_name_char(ch))
			return -EINVAL;
		out[i] = ch;
	}
	out[hlen] = '\0';
	return 0;
}

/*
 * Whether @s (@len bytes) is a number as an IPv4 address part may be written
 * in a URL: decimal digits, or 0x and hex digits. A host whose last label is
 * one ("10.0.0.1", "127.1", "0x7f.1", "2130706433") is read as an address.
 */
static bool is_ipv4_part(const char *s, size_t len)
{
	size_t i = 0;
	bool hex = false;

	if (len >= 2 && s[0] == '0' && s[1] == 'x') {
		hex = true;
		i = 2;
	}
	for (; i < len; i++)
		if (!(s[i] >= '0' && s[i] <= '9') && !(hex && s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return len > 0;
}

/* Why normalized @name is no host name an http tunnel may have, NULL when it is one. */
static const char *hostname_why(const char *name)
{
	size_t label = 0, i;

	if (!name[0])
		return "empty";
	if (name[0] == '[' || strchr(name, ':'))
		return "an IPv6 address, not a host name";
	for (i = 0; name[i]; i++) {
		if (!is_name_char(name[i]))
			return "a character other than letters, digits, '-', '_' and '.'";
		if (name[i] == '.') {
			if (!label)
				return "an empty label (a leading dot or two dots in a row)";
			label = 0;
			continue;
		}
		if (++label > 63)
			return "a label over 63 characters";
	}
	if (!label)
		return "an empty label (a leading dot or two dots in a row)";
	if (is_ipv4_part(name + i - label, label))
		return "an IPv4 address (its last label is a number), not a host name";
	return NULL;
}

bool http_hostname_valid(const char *name)
{
	return !hostname_why(name);
}

const char *http_hostname_check(const char *in, size_t len, char *out, size_t cap)
{
	const char *why, *colon;
	size_t i;

	if (!cap)
		return "too long";
	out[0] = '\0';
	if (!len)
		return "empty";
	if (!http_host_normalize(in, len, out, cap, false)) {
		why = hostname_why(out);
		if (why)
			out[0] = '\0';
		return why;
	}
	out[0] = '\0';
	/* normalizing failed: say why in the terms of hostname_why where we can */
	colon = memchr(in, ':', len);
	if (in[0] == '[' || (colon && memchr(colon + 1, ':', len - (size_t)(colon - in) - 1)))
		return "an IPv6 address, not a host name";
	if (colon)
		return "a port: http tunnels share the edge's http port";
	if (len >= cap)
		return "too long";
	for (i = 0; i < len; i++) {
		char ch = in[i];

		if (ch >= 'A' && ch <= 'Z')
			continue;
		if (!is_name_char(ch))
			return "a character other than letters, digits, '-', '_' and '.'";
	}
	return "an empty label (a leading dot or two dots in a row)";
}
