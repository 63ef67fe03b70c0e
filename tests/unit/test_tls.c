// SPDX-License-Identifier: MIT
/*
 * test_tls.c - the stateless reset secret beamd derives from its key file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tls.h"

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void test_tls_reset_secret_follows_the_key(void **state)
{
	uint8_t a[TLS_RESET_SECRET_LEN], b[TLS_RESET_SECRET_LEN], c[TLS_RESET_SECRET_LEN];
	char p1[] = "/tmp/beam-test-key1-XXXXXX", p2[] = "/tmp/beam-test-key2-XXXXXX";
	const char *key1 = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
	int fd1, fd2;

	(void)state;
	fd1 = mkstemp(p1);
	fd2 = mkstemp(p2);
	assert_true(fd1 >= 0 && fd2 >= 0);
	close(fd1);
	close(fd2);
	write_file(p1, key1);
	write_file(p2, "-----BEGIN PRIVATE KEY-----\nAAAB\n-----END PRIVATE KEY-----\n");

	/* the same key, read twice (a restart): the same secret */
	assert_int_equal(tls_reset_secret(p1, a), 0);
	assert_int_equal(tls_reset_secret(p1, b), 0);
	assert_memory_equal(a, b, sizeof(a));
	/* another key: another secret; and none is the key's own bytes */
	assert_int_equal(tls_reset_secret(p2, c), 0);
	assert_memory_not_equal(a, c, sizeof(a));
	assert_memory_not_equal(a, key1, sizeof(a));

	unlink(p1);
	unlink(p2);
}

static void test_tls_reset_secret_random_without_key(void **state)
{
	uint8_t a[TLS_RESET_SECRET_LEN], b[TLS_RESET_SECRET_LEN];

	(void)state;
	assert_int_equal(tls_reset_secret(NULL, a), 0);
	assert_int_equal(tls_reset_secret(NULL, b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
}

static void test_tls_reset_secret_missing_file(void **state)
{
	uint8_t a[TLS_RESET_SECRET_LEN];

	(void)state;
	assert_int_equal(tls_reset_secret("/nonexistent/beam-key.pem", a), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_reset_secret_follows_the_key),
		cmocka_unit_test(test_tls_reset_secret_random_without_key),
		cmocka_unit_test(test_tls_reset_secret_missing_file),
	};

	log_set_level(LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
