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

static int attach(const char *dev, unsigned long port, unsigned long delta)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, eg, .handle = 1, .priority = 1);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, in, .handle = 1, .priority = 1);
	struct natrebind *skel;
	int err;

	hook.ifindex = (int)if_nametoindex(dev);
	if (!hook.ifindex) {
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
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		pr_err("failed to create the clsact hook on '%s': %s", dev, strerror(-err));
		goto out;
	}
	/* answers first: until the agent's packets carry the new port, none
	 * come back to it, and after, none may miss the way back */
	in.prog_fd = bpf_program__fd(skel->progs.rebind_ingress);
	err = bpf_tc_attach(&hook, &in);
	if (!err) {
		hook.attach_point = BPF_TC_EGRESS;
		eg.prog_fd = bpf_program__fd(skel->progs.rebind_egress);
		err = bpf_tc_attach(&hook, &eg);
	}
	if (err)
		pr_err("failed to attach the natrebind filters to '%s': %s", dev, strerror(-err));
	else
		pr_info("'%s': UDP source port to %lu moved by %lu", dev, port, delta);
out:
	natrebind__destroy(skel);
	return err;
}

static int detach(const char *dev)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

	hook.ifindex = (int)if_nametoindex(dev);
	if (!hook.ifindex)
		return -ENODEV;
	return bpf_tc_hook_destroy(&hook);
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
		return detach(argv[optind + 1]) ? 1 : 0;
	return 2;
}
