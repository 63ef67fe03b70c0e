// SPDX-License-Identifier: MIT
/*
 * tc_hook.c - programs on the clsact hook (see tc_hook.h).
 */
#include "tc_hook.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
#include <string.h>

#include "log.h"

int tc_hook_attach(const char *dev, const char *what, int ingress_fd, int egress_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS);
	const int fds[2] = {ingress_fd, egress_fd};
	int err, i;

	hook.ifindex = (int)if_nametoindex(dev);
	if (!hook.ifindex) {
		pr_err("no such interface '%s'", dev);
		return -ENODEV;
	}
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		pr_err("failed to create the clsact hook on '%s': %s", dev, strerror(-err));
		return err;
	}
	/* ingress first: what comes back must find its filter in place */
	for (i = 0; i < 2; i++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1);

		if (fds[i] < 0)
			continue;
		hook.attach_point = i ? BPF_TC_EGRESS : BPF_TC_INGRESS;
		opts.prog_fd = fds[i];
		err = bpf_tc_attach(&hook, &opts);
		if (err) {
			pr_err("failed to attach the %s %s filter to '%s': %s", what,
			       i ? "egress" : "ingress", dev, strerror(-err));
			return err;
		}
	}
	return 0;
}

int tc_hook_detach(const char *dev)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

	hook.ifindex = (int)if_nametoindex(dev);
	if (!hook.ifindex)
		return -ENODEV;
	return bpf_tc_hook_destroy(&hook);
}
