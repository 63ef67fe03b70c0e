/* SPDX-License-Identifier: MIT */
/*
 * fixture.h - what every BPF test program shares: the TAP skip of a whole
 * file, and the root check plus a network namespace of the test's own for the
 * ones that attach to an interface or bind sockets. Header-only.
 */
#ifndef BEAM_TESTS_FIXTURE_H
#define BEAM_TESTS_FIXTURE_H

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define FIXTURE_NEEDS_ROOT "needs root to load BPF programs; run 'sudo make test'"

/* TAP skip of the whole file; cmocka's own skip reads as "not ok" in TAP. */
static inline int fixture_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\nok 1 # SKIP %s\n", why, why);
	return 0;
}

/*
 * Check for root, then move the process into a new network namespace with
 * its loopback up (the mount namespace stays: bpffs remains visible). Returns
 * NULL, or why it could not, for fixture_skip_all().
 */
static inline const char *fixture_own_netns(void)
{
	if (geteuid() != 0)
		return FIXTURE_NEEDS_ROOT;
	if (unshare(CLONE_NEWNET))
		return "cannot create a network namespace here";
	if (system("ip link set lo up") != 0)
		return "cannot bring up loopback (iproute2 missing?)";
	return NULL;
}

#endif /* BEAM_TESTS_FIXTURE_H */
