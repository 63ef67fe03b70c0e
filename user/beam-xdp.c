// SPDX-License-Identifier: MIT
/*
 * beam-xdp.c - entry point of beam-xdp. Placeholder until its issue lands.
 */
#include "log.h"
#include "version.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	log_set_ident("beam-xdp");
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		version_print(stdout, "beam-xdp");
		return 0;
	}
	fprintf(stderr, "usage: beam-xdp --version\n");
	return argc > 1 && !strcmp(argv[1], "--help") ? 0 : 2;
}
