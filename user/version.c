// SPDX-License-Identifier: MIT
/*
 * version.c - report run-time library versions, so a test can prove the
 * binaries use the project-built wolfSSL and ngtcp2 and not the system's.
 */
#include "version.h"

#include <bpf/libbpf.h>
#include <event2/event.h>
#include <ngtcp2/ngtcp2.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

void version_print(FILE *out, const char *prog)
{
	const ngtcp2_info *ng = ngtcp2_version(0);

	fprintf(out, "%s %s\n", prog, BEAM_VERSION);
	fprintf(out, "ngtcp2 %s\n", ng ? ng->version_str : "unknown");
	fprintf(out, "wolfssl %s\n", wolfSSL_lib_version());
	fprintf(out, "libbpf %s\n", libbpf_version_string());
	fprintf(out, "libevent %s\n", event_get_version());
}
