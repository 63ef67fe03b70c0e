// SPDX-License-Identifier: MIT
/*
 * natrebind.c - rebind the agent's UDP port on a test link, as a NAT would
 * (see bpf/natrebind.bpf.c).
 *
 *   natrebind attach DEV [--port EDGE_PORT] [--delta N]
 *   natrebind detach DEV
 *
 * Both filters sit on DEV's clsact hook and stay after this tool exits;
 * `detach` removes the clsact qdisc and with it the filters.
 */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "log.h"
#include "natrebind.skel.h"
#include "tc_hook.h"

static int attach(const char *dev, unsigned long port, unsigned long delta)
{
	struct natrebind *skel;
	int err;

	if (!if_nametoindex(dev)) {
		pr_err("no such interface '%s'", dev);
		return -ENODEV;
	}
	skel = natrebind__open();
	if (!skel)
		return -errno;
	skel->rodata->edge_port = (__u16)port;
	skel->rodata->delta = (__u16)delta;
	err = natrebind__load(skel);
	if (err) {
		pr_err("failed to load the natrebind programs: %s", strerror(-err));
		goto out;
	}
	/* answers first (tc_hook_attach does ingress first): until the agent's
	 * packets carry the new port, none come back to it, and after, none may
	 * miss the way back */
	err = tc_hook_attach(dev, "natrebind", bpf_program__fd(skel->progs.rebind_ingress),
			     bpf_program__fd(skel->progs.rebind_egress));
	if (!err)
		pr_info("'%s': UDP source port to %lu moved by %lu", dev, port, delta);
out:
	natrebind__destroy(skel);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"port", required_argument, NULL, 'p'},
		{"delta", required_argument, NULL, 'd'},
		{0},
	};
	unsigned long port = 4433, delta = 1000;
	int opt;

	log_set_ident("natrebind");
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == 'p')
			port = strtoul(optarg, NULL, 10);
		else if (opt == 'd')
			delta = strtoul(optarg, NULL, 10);
		else
			return 2;
	}
	if (argc - optind != 2 || !port || port > 65535 || !delta || delta > 65535) {
		fprintf(stderr, "usage: natrebind attach|detach DEV [--port N] [--delta N]\n");
		return 2;
	}
	if (!strcmp(argv[optind], "attach"))
		return attach(argv[optind + 1], port, delta) ? 1 : 0;
	if (!strcmp(argv[optind], "detach"))
		return tc_hook_detach(argv[optind + 1]) ? 1 : 0;
	return 2;
}
