/* SPDX-License-Identifier: MIT */
/*
 * tokens.h - the edge's table of agent tokens, and the agent's token file.
 *
 * The edge's file holds one "NAME TOKEN" pair per line; '#' starts a comment,
 * blank lines are skipped. A file that other users can read is refused: the
 * tokens are the only thing standing between the internet and a public port.
 */
#ifndef BEAM_TOKENS_H
#define BEAM_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOKENS_MAX_NAME	 64
#define TOKENS_MAX_TOKEN 256
#define TOKENS_MAX	 4096 /* entries per file */
#define TOKENS_MIN_GOOD	 16   /* shorter tokens load with a warning */

struct tokens;

/*
 * Load the tokens file at @path into *@out (caller frees with tokens_free).
 * Errors: -EPERM the file is readable or writable by others, -EBADMSG a line
 * is malformed (a message names the line), -E2BIG too many entries or a
 * field too long, -EEXIST a name or a token is there twice (the message names
 * the line and the names, never the token), -ENOENT/-EACCES and other
 * open/read errors. A token shorter than TOKENS_MIN_GOOD loads with a warning.
 */
int tokens_load(const char *path, struct tokens **out);

/* Parse tokens from @text (NUL-terminated), @origin names it in messages;
 * the checks and errors of tokens_load(). */
int tokens_parse(const char *text, const char *origin, struct tokens **out);

void tokens_free(struct tokens *t);

size_t tokens_count(const struct tokens *t);

/*
 * Find the entry whose token equals @tok (@len bytes). The time taken does
 * not depend on where or whether the tokens differ: every entry is compared
 * in full. Returns the entry's name (owned by @t) or NULL.
 */
const char *tokens_match(const struct tokens *t, const uint8_t *tok, size_t len);

/*
 * tokens_match for a table that tokens_replace may change from another
 * thread: the name is copied into @name under the table's lock. Returns 0,
 * or -ENOENT when no entry has that token.
 */
int tokens_lookup(struct tokens *t, const uint8_t *tok, size_t len, char name[TOKENS_MAX_NAME + 1]);

/*
 * Give @t the entries of @from (a freshly loaded table) and free @from with
 * the old entries, wiped. Safe while other threads call tokens_lookup on @t;
 * names tokens_match returned before are gone.
 */
void tokens_replace(struct tokens *t, struct tokens *from);

/* How many times tokens_replace changed @t: a reader that saw another value
 * looks again at what it let in. */
uint64_t tokens_generation(struct tokens *t);

/* Constant-time equality of two byte strings of possibly different lengths. */
bool tokens_equal(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/*
 * Read the agent's token from the first non-comment line of @path into @buf
 * (@cap bytes, NUL-terminated). Refuses files readable by others (-EPERM).
 * Returns the token length or -errno.
 */
int tokens_read_secret(const char *path, char *buf, size_t cap);

#endif /* BEAM_TOKENS_H */
