// SPDX-License-Identifier: MIT
/*
 * vlantag.c - put a test host's link in a VLAN without 802.1Q devices (see
 * bpf/vlantag.bpf.c).
 *
 *   vlantag attach DEV --vid N [--ad] [--inner N]
 *   vlantag detach DEV
 *
 * --vid alone: one 802.1Q tag; --ad makes it 802.1ad; --inner adds an 802.1Q
 * tag inside it (QinQ). The filters sit on DEV's clsact hook and stay after
 * this tool exits; `detach` removes the clsact qdisc and with it the filters.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "log.h"
#include "vlantag.skel.h"
#include "tc_hook.h"

struct tags {
	long vid, inner;
	int ad;
};

static int attach(const char *dev, const struct tags *t)
{
	struct vlantag *skel;
	int err;

	if (!if_nametoindex(dev)) {
		pr_err("no such device '%s'", dev);
		return -ENODEV;
	}
	skel = vlantag__open();
	if (!skel)
		return -errno;
	skel->rodata->outer_proto = t->ad ? ETH_P_8021AD : ETH_P_8021Q;
	skel->rodata->outer_vid = (__u16)t->vid;
	skel->rodata->inner_vid = (__u16)(t->inner < 0 ? 0 : t->inner);
	skel->rodata->ntags = t->inner < 0 ? 1 : 2;
	err = vlantag__load(skel);
	if (err) {
		pr_err("failed to load the vlantag filters: %s", strerror(-err));
		goto out;
	}
	err = tc_hook_attach(dev, "vlantag", bpf_program__fd(skel->progs.vlantag_ingress),
			     bpf_program__fd(skel->progs.vlantag_egress));
out:
	vlantag__destroy(skel);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"vid", required_argument, NULL, 'v'},
		{"inner", required_argument, NULL, 'i'},
		{"ad", no_argument, NULL, 'a'},
		{0},
	};
	struct tags t = {.vid = -1, .inner = -1};
	int opt;

	log_set_ident("vlantag");
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == 'v')
			t.vid = strtol(optarg, NULL, 10);
		else if (opt == 'i')
			t.inner = strtol(optarg, NULL, 10);
		else if (opt == 'a')
			t.ad = 1;
		else
			return 2;
	}
	if (argc - optind != 2 || t.vid > 4095 || t.inner > 4095 || t.inner < -1 ||
	    (!strcmp(argv[optind], "attach") && t.vid < 0)) {
		fprintf(stderr,
			"usage: vlantag attach DEV --vid N [--ad] [--inner N] | detach DEV\n");
		return 2;
	}
	if (!strcmp(argv[optind], "attach"))
		return attach(argv[optind + 1], &t) ? 1 : 0;
	if (!strcmp(argv[optind], "detach"))
		return tc_hook_detach(argv[optind + 1]) ? 1 : 0;
	return 2;
}
