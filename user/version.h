/* SPDX-License-Identifier: MIT */
/*
 * version.h - beam's version and the versions of the libraries it runs with.
 */
#ifndef BEAM_VERSION_H
#define BEAM_VERSION_H

#include <stdio.h>

#define BEAM_VERSION "0.1.0"

/*
 * Print "PROG beam/VERSION" and one line per library with the version the
 * running process actually loaded (not the headers it was built against).
 */
void version_print(FILE *out, const char *prog);

#endif /* BEAM_VERSION_H */
