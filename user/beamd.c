// SPDX-License-Identifier: MIT
/*
 * beamd.c - entry point of beamd. Placeholder until its issue lands.
 */
#include "log.h"
#include "version.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	log_set_ident("beamd");
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		version_print(stdout, "beamd");
		return 0;
	}
	fprintf(stderr, "usage: beamd --version\n");
	return argc > 1 && !strcmp(argv[1], "--help") ? 0 : 2;
}
