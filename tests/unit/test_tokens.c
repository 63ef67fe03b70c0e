// SPDX-License-Identifier: MIT
/*
 * test_tokens.c - tokens file parsing, permissions and lookup.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "tokens.h"

#define T(s) (const uint8_t *)(s), strlen(s)

static void test_tokens_parse_and_match(void **state)
{
	const char *text = "# edge tokens\n"
			   "alice  aaaa1111   # trailing comment\n"
			   "\n"
			   "   \t\n"
			   "bob\tbbbb2222\r\n"
			   "carol cccc";
	struct tokens *t = NULL;

	(void)state;
	assert_int_equal(tokens_parse(text, "test", &t), 0);
	assert_int_equal(tokens_count(t), 3);
	assert_string_equal(tokens_match(t, T("aaaa1111")), "alice");
	assert_string_equal(tokens_match(t, T("bbbb2222")), "bob");
	assert_string_equal(tokens_match(t, T("cccc")), "carol");
	assert_null(tokens_match(t, T("aaaa111")));
	assert_null(tokens_match(t, T("aaaa11111")));
	assert_null(tokens_match(t, T("alice")));
	assert_null(tokens_match(t, (const uint8_t *)"", 0));
	tokens_free(t);
	tokens_free(NULL);
}

static void test_tokens_parse_rejects_bad_lines(void **state)
{
	char longtok[TOKENS_MAX_TOKEN + 32];
	struct tokens *t = NULL;

	(void)state;
	assert_int_equal(tokens_parse("alice\n", "test", &t), -EBADMSG);
	assert_int_equal(tokens_parse("alice tok extra\n", "test", &t), -EBADMSG);
	snprintf(longtok, sizeof(longtok), "x ");
	memset(longtok + 2, 'a', TOKENS_MAX_TOKEN + 1);
	longtok[TOKENS_MAX_TOKEN + 3] = '\0';
	assert_int_equal(tokens_parse(longtok, "test", &t), -E2BIG);
	assert_int_equal(tokens_parse("al\"ice tok\n", "test", &t), -EBADMSG);
	assert_int_equal(tokens_parse("al\\ice tok\n", "test", &t), -EBADMSG);
	assert_int_equal(tokens_parse("\xc3\xa9t\xc3\xa9 tok\n", "test", &t), -EBADMSG);
	assert_int_equal(tokens_parse("", "test", &t), 0);
	assert_int_equal(tokens_count(t), 0);
	assert_null(tokens_match(t, T("x")));
	tokens_free(t);
	/* a byte order mark before the first line is not part of its name */
	assert_int_equal(tokens_parse("\xef\xbb\xbfweb tok-0123456789abcdef\n", "test", &t), 0);
	assert_string_equal(tokens_match(t, T("tok-0123456789abcdef")), "web");
	tokens_free(t);
}

/* stderr of tokens_parse(@text) into @buf. */
static int parse_capturing(const char *text, struct tokens **t, char *buf, size_t size)
{
	FILE *f = tmpfile();
	int saved, err;
	size_t n;

	assert_non_null(f);
	fflush(stderr);
	saved = dup(2);
	dup2(fileno(f), 2);
	err = tokens_parse(text, "test", t);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	return err;
}

static void test_tokens_duplicates_refused_short_warned(void **state)
{
	struct tokens *t = NULL;
	char out[1024];

	(void)state;
	assert_int_equal(parse_capturing("alice aaaaaaaaaaaaaaaa1\nalice bbbbbbbbbbbbbbbb2\n", &t,
					 out, sizeof(out)),
			 -EEXIST);
	assert_non_null(strstr(out, "line 2: name 'alice' is there twice"));
	assert_int_equal(parse_capturing("alice aaaaaaaaaaaaaaaa1\nbob aaaaaaaaaaaaaaaa1\n", &t,
					 out, sizeof(out)),
			 -EEXIST);
	assert_non_null(strstr(out, "'bob' has the same token as 'alice'"));
	assert_null(strstr(out, "aaaaaaaaaaaaaaaa1")); /* never the token itself */
	/* a short token loads, with a warning that names the entry, not the token */
	log_set_level(LOG_LVL_WARN);
	assert_int_equal(parse_capturing("carol x\ndave dddddddddddddddd\n", &t, out, sizeof(out)),
			 0);
	assert_int_equal(tokens_count(t), 2);
	assert_non_null(strstr(out, "the token of 'carol' has 1 characters"));
	assert_null(strstr(out, "dave"));
	log_set_level(LOG_LVL_ERR);
	tokens_free(t);
}

static void test_tokens_equal_lengths(void **state)
{
	(void)state;
	assert_true(tokens_equal(T("abc"), T("abc")));
	assert_false(tokens_equal(T("abc"), T("abd")));
	assert_false(tokens_equal((const uint8_t *)"abc", 3, (const uint8_t *)"abc", 4));
	assert_false(tokens_equal((const uint8_t *)"abc", 3, (const uint8_t *)"abc", 2));
	assert_true(tokens_equal((const uint8_t *)"", 0, (const uint8_t *)"", 0));
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_tokens_load_refuses_world_readable(void **state)
{
	char path[] = "/tmp/beam-tokens-XXXXXX";
	struct tokens *t = NULL;
	char buf[64];
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);

	write_file(path, "alice secret\n", 0644);
	assert_int_equal(tokens_load(path, &t), -EPERM);
	assert_int_equal(tokens_read_secret(path, buf, sizeof(buf)), -EPERM);

	write_file(path, "alice secret\n", 0600);
	assert_int_equal(tokens_load(path, &t), 0);
	assert_string_equal(tokens_match(t, T("secret")), "alice");
	tokens_free(t);

	write_file(path, "# my token\n  s3cr3t-token  \n", 0640);
	assert_int_equal(tokens_read_secret(path, buf, sizeof(buf)), 12);
	assert_string_equal(buf, "s3cr3t-token");
	assert_int_equal(tokens_read_secret(path, buf, 5), -E2BIG);
	write_file(path, "# nothing\n\n", 0600);
	assert_int_equal(tokens_read_secret(path, buf, sizeof(buf)), -EBADMSG);

	unlink(path);
	assert_int_equal(tokens_load(path, &t), -ENOENT);
}

/* Lookups from another thread while the table is replaced over and over:
 * every answer is one of the two tables', never a torn or freed name. */
struct looker {
	struct tokens *t;
	volatile int stop;
	unsigned long seen_a, seen_b, bad;
};

static void *look_loop(void *arg)
{
	struct looker *l = arg;
	char name[TOKENS_MAX_NAME + 1];

	while (!l->stop) {
		if (!tokens_lookup(l->t, (const uint8_t *)"token-aaaaaaaaaaaaaa", 20, name)) {
			if (!strcmp(name, "first"))
				l->seen_a++;
			else
				l->bad++;
		} else if (!tokens_lookup(l->t, (const uint8_t *)"token-bbbbbbbbbbbbbb", 20,
					  name)) {
			if (!strcmp(name, "second"))
				l->seen_b++;
			else
				l->bad++;
		}
	}
	return NULL;
}

static void test_tokens_replace_under_lookups(void **state)
{
	struct looker l = {0};
	struct tokens *t, *n;
	char name[TOKENS_MAX_NAME + 1];
	pthread_t th;
	int i;

	(void)state;
	assert_int_equal(tokens_parse("first token-aaaaaaaaaaaaaa\n", "a", &t), 0);
	l.t = t;
	assert_int_equal(pthread_create(&th, NULL, look_loop, &l), 0);
	for (i = 0; i < 2000; i++) {
		assert_int_equal(tokens_parse(i & 1 ? "first token-aaaaaaaaaaaaaa\n"
						    : "second token-bbbbbbbbbbbbbb\n",
					      "n", &n),
				 0);
		tokens_replace(t, n);
	}
	l.stop = 1;
	pthread_join(th, NULL);
	assert_int_equal(l.bad, 0);
	/* 2000 swaps end on the first table: its token only */
	assert_int_equal(tokens_lookup(t, (const uint8_t *)"token-aaaaaaaaaaaaaa", 20, name), 0);
	assert_string_equal(name, "first");
	assert_int_equal(tokens_lookup(t, (const uint8_t *)"token-bbbbbbbbbbbbbb", 20, name),
			 -ENOENT);
	assert_int_equal(tokens_count(t), 1);
	tokens_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens_parse_and_match),
		cmocka_unit_test(test_tokens_parse_rejects_bad_lines),
		cmocka_unit_test(test_tokens_equal_lengths),
		cmocka_unit_test(test_tokens_duplicates_refused_short_warned),
		cmocka_unit_test(test_tokens_load_refuses_world_readable),
		cmocka_unit_test(test_tokens_replace_under_lookups),
	};

	log_set_level(LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
