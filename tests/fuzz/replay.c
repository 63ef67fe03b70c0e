// SPDX-License-Identifier: MIT
/*
 * replay.c - run a libFuzzer target over files without libFuzzer: the seed
 * corpus and every crash ever found (tests/fuzz/regress/) become regression
 * tests in `make test`, built with the normal compiler.
 *
 *   fuzz_X FILE...   prints TAP, one line per file
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	static uint8_t buf[1 << 20];
	int i;

	printf("1..%d\n", argc - 1);
	for (i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		size_t n;

		if (!f) {
			printf("not ok %d - %s: cannot open\n", i, argv[i]);
			continue;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
		printf("ok %d - %s\n", i, argv[i]);
	}
	return 0;
}
