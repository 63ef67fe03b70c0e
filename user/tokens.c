// SPDX-License-Identifier: MIT
/*
 * tokens.c - tokens file parsing and constant-time token lookup.
 */
#include "tokens.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct token_entry {
	char name[TOKENS_MAX_NAME + 1];
	uint8_t token[TOKENS_MAX_TOKEN];
	size_t len;
};

struct tokens {
	pthread_mutex_t lock; /* tokens_lookup against tokens_replace */
	struct token_entry *e;
	size_t n;
	uint64_t generation; /* tokens_replace calls so far */
};

bool tokens_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	volatile uint8_t diff = alen != blen;
	size_t i;

	/* walk the longer input in full so the time depends only on the lengths */
	for (i = 0; i < (alen > blen ? alen : blen); i++)
		diff |= (i < alen ? a[i] : 0) ^ (i < blen ? b[i] : 0);
	return diff == 0;
}

const char *tokens_match(const struct tokens *t, const uint8_t *tok, size_t len)
{
	const char *found = NULL;
	size_t i;

	if (!t || !len)
		return NULL;
	for (i = 0; i < t->n; i++) {
		bool eq = tokens_equal(t->e[i].token, t->e[i].len, tok, len);

		if (eq && !found)
			found = t->e[i].name;
	}
	return found;
}

int tokens_lookup(struct tokens *t, const uint8_t *tok, size_t len, char name[TOKENS_MAX_NAME + 1])
{
	const char *found;
	int err = -ENOENT;

	if (!t)
		return -ENOENT;
	pthread_mutex_lock(&t->lock);
	found = tokens_match(t, tok, len);
	if (found) {
		snprintf(name, TOKENS_MAX_NAME + 1, "%s", found);
		err = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

void tokens_replace(struct tokens *t, struct tokens *from)
{
	struct token_entry *e;
	size_t n;

	pthread_mutex_lock(&t->lock);
	e = t->e;
	n = t->n;
	t->e = from->e;
	t->n = from->n;
	__atomic_add_fetch(&t->generation, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&t->lock);
	from->e = e;
	from->n = n;
	tokens_free(from); /* the old entries, wiped */
}

uint64_t tokens_generation(struct tokens *t)
{
	return t ? __atomic_load_n(&t->generation, __ATOMIC_ACQUIRE) : 0;
}

void tokens_free(struct tokens *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	if (t->e)
		explicit_bzero(t->e, t->n * sizeof(*t->e));
	free(t->e);
	free(t);
}

size_t tokens_count(const struct tokens *t)
{
	return t ? t->n : 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Split one line into name and token; returns 1 for an entry, 0 for none, -errno. */
static int parse_line(char *line, const char *origin, unsigned int lineno, struct token_entry *e)
{
	char *p = line, *name, *tok, *hash;
	size_t nlen, tlen;

	hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	while (is_space(*p))
		p++;
	if (!*p)
		return 0;
	name = p;
	while (*p && !is_space(*p))
		p++;
	nlen = (size_t)(p - name);
	while (is_space(*p))
		p++;
	tok = p;
	while (*p && !is_space(*p))
		p++;
	tlen = (size_t)(p - tok);
	while (is_space(*p))
		p++;
	if (!tlen || *p) {
		pr_err("failed to parse tokens file '%s' line %u: want 'NAME TOKEN'", origin,
		       lineno);
		return -EBADMSG;
	}
	if (nlen > TOKENS_MAX_NAME || tlen > TOKENS_MAX_TOKEN) {
		pr_err("failed to parse tokens file '%s' line %u: name > %d or token > %d bytes",
		       origin, lineno, TOKENS_MAX_NAME, TOKENS_MAX_TOKEN);
		return -E2BIG;
	}
	for (size_t i = 0; i < nlen; i++) {
		/* names go into logs and /metrics labels: printable ASCII only */
		if (name[i] < 0x21 || name[i] > 0x7e || name[i] == '"' || name[i] == '\\') {
			pr_err("failed to parse tokens file '%s' line %u: %s", origin, lineno,
			       "a name is printable ASCII without quotes or backslash");
			return -EBADMSG;
		}
	}
	memcpy(e->name, name, nlen);
	e->name[nlen] = '\0';
	memcpy(e->token, tok, tlen);
	e->len = tlen;
	return 1;
}

/* A name or a token already in @t is refused (a token must say who it is);
 * a short token is only warned about. Returns 0 or -EEXIST after a message. */
static int check_entry(const struct tokens *t, const struct token_entry *e, const char *origin,
		       unsigned int lineno)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (!strcmp(t->e[i].name, e->name)) {
			pr_err("failed to load tokens file '%s' line %u: name '%s' is there twice",
			       origin, lineno, e->name);
			return -EEXIST;
		}
		if (t->e[i].len != e->len || memcmp(t->e[i].token, e->token, e->len))
			continue;
		pr_err("failed to load tokens file '%s' line %u: '%s' has the same token as '%s'",
		       origin, lineno, e->name, t->e[i].name);
		return -EEXIST;
	}
	if (e->len < TOKENS_MIN_GOOD)
		pr_warn("tokens file '%s' line %u: the token of '%s' has %zu characters, under %d",
			origin, lineno, e->name, e->len, TOKENS_MIN_GOOD);
	return 0;
}

int tokens_parse(const char *text, const char *origin, struct tokens **out)
{
	const char *p = text;
	unsigned int lineno = 0;
	struct tokens *t;
	int err;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	if (!strncmp(p, "\xef\xbb\xbf", 3))
		p += 3; /* a UTF-8 byte order mark some editors write first */
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t ll = nl ? (size_t)(nl - p) : strlen(p);
		char line[TOKENS_MAX_NAME + TOKENS_MAX_TOKEN + 512];
		struct token_entry e;

		lineno++;
		if (ll >= sizeof(line)) {
			pr_err("failed to parse tokens file '%s' line %u: line too long", origin,
			       lineno);
			err = -E2BIG;
			goto err_free;
		}
		memcpy(line, p, ll);
		line[ll] = '\0';
		p += ll + (nl ? 1 : 0);

		err = parse_line(line, origin, lineno, &e);
		if (err < 0)
			goto err_free;
		if (!err)
			continue;
		err = check_entry(t, &e, origin, lineno);
		if (err) {
			explicit_bzero(&e, sizeof(e));
			goto err_free;
		}
		if (t->n >= TOKENS_MAX) {
			pr_err("failed to load tokens file '%s': more than %d entries", origin,
			       TOKENS_MAX);
			err = -E2BIG;
			goto err_free;
		}
		if (!(t->n & (t->n + 1))) { /* grow at 0, 1, 3, 7, ... entries */
			struct token_entry *ne = realloc(t->e, (t->n * 2 + 2) * sizeof(*ne));

			if (!ne) {
				err = -ENOMEM;
				goto err_free;
			}
			t->e = ne;
		}
		t->e[t->n++] = e;
		explicit_bzero(&e, sizeof(e));
	}
	*out = t;
	return 0;

err_free:
	tokens_free(t);
	return err;
}

/* Quoted in docs/operations.md and tests/integration/test_security.sh. */
static const char open_to_others_fmt[] =
	"refusing %s '%s': readable or writable by other users (mode %03o); chmod o-rw it";

/* Read a whole small secret file (@what names it in messages), refusing one
 * that others may read or write. */
static int read_secret_file(const char *path, const char *what, char **out)
{
	struct stat st;
	ssize_t n;
	char *buf;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_err("failed to open %s '%s': %s", what, path, strerror(errno));
		return err;
	}
	if (fstat(fd, &st)) {
		err = -errno;
		pr_err("failed to stat %s '%s': %s", what, path, strerror(errno));
		goto err_close;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		pr_err(open_to_others_fmt, what, path, st.st_mode & 0777);
		err = -EPERM;
		goto err_close;
	}
	if (st.st_size > 1 << 20) {
		pr_err("refusing %s '%s': larger than 1 MiB", what, path);
		err = -E2BIG;
		goto err_close;
	}
	buf = calloc(1, (size_t)st.st_size + 1);
	if (!buf) {
		err = -ENOMEM;
		goto err_close;
	}
	n = read(fd, buf, (size_t)st.st_size);
	if (n < 0) {
		err = -errno;
		pr_err("failed to read %s '%s': %s", what, path, strerror(errno));
		free(buf);
		goto err_close;
	}
	buf[n] = '\0';
	close(fd);
	*out = buf;
	return (int)n;

err_close:
	close(fd);
	return err;
}

int tokens_load(const char *path, struct tokens **out)
{
	char *text;
	int err;

	err = read_secret_file(path, "tokens file", &text);
	if (err < 0)
		return err;

	err = tokens_parse(text, path, out);
	explicit_bzero(text, strlen(text));
	free(text);
	return err;
}

int tokens_read_secret(const char *path, char *buf, size_t cap)
{
	char *text, *line, *save = NULL;
	int err = -EBADMSG;

	err = read_secret_file(path, "token file", &text);
	if (err < 0)
		return err;

	err = -EBADMSG;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t len;

		while (is_space(*line))
			line++;
		len = strlen(line);
		while (len && is_space(line[len - 1]))
			len--;
		if (!len || line[0] == '#')
			continue;
		if (len >= cap || len > TOKENS_MAX_TOKEN) {
			err = -E2BIG;
			break;
		}
		memcpy(buf, line, len);
		buf[len] = '\0';
		err = (int)len;
		break;
	}
	if (err == -EBADMSG)
		pr_err("failed to read a token from '%s': no token line", path);
	explicit_bzero(text, strlen(text));
	free(text);
	return err;
}
