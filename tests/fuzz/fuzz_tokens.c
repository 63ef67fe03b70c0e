// SPDX-License-Identifier: MIT
/*
 * fuzz_tokens.c - libFuzzer target for the tokens file parser, and for the
 * lookup of whatever token it accepted.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tokens.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tokens *t = NULL;
	char *text;

	if (size > 1 << 20)
		return 0;
	log_set_level(LOG_LVL_ERR);
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (!tokens_parse(text, "fuzz", &t)) {
		assert(tokens_count(t) <= TOKENS_MAX);
		tokens_match(t, data, size < TOKENS_MAX_TOKEN ? size : TOKENS_MAX_TOKEN);
		tokens_free(t);
	}
	free(text);
	return 0;
}
