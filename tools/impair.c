// SPDX-License-Identifier: MIT
/*
 * impair.c - put loss and reordering on a test link (see bpf/impair.bpf.c).
 *
 *   impair attach DEV [--loss PCT] [--reorder PCT] [--slow-rate RATE] [--max-len BYTES]
 *   impair detach DEV
 *   impair stats DEV
 *
 * The BPF filter sits on clsact egress. With --reorder the device also gets
 * an HTB root qdisc with a fast default class 1:1 and a slow class 1:2
 * (--slow-rate, default 20mbit) that the filter picks through skb->priority.
 * The filter stays after this tool exits; `detach` removes the qdiscs and so
 * the filter. --max-len drops every IP packet longer than BYTES without an
 * ICMP error (a path MTU black hole). Counters are pinned at
 * BEAM_PIN_ROOT/impair-DEV (a test tool: it never touches the product's pins).
 */
#include <errno.h>
#include <getopt.h>
#include <linux/pkt_sched.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "beam_maps.h"
#include "impair.skel.h"
#include "log.h"
#include "tc_hook.h"

#define FAST_CLASS   "1:1"
#define SLOW_CLASSID 0x00010002u /* 1:2 */
#define MAX_CPUS     512

#include <stdarg.h>

static int __attribute__((format(printf, 1, 2))) run_tc(const char *fmt, ...)
{
	char cmd[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	pr_debug("running: %s", cmd);
	return system(cmd) ? -EIO : 0;
}

static void pin_path(char *out, size_t len, const char *dev)
{
	const char *root = getenv("BEAM_PIN_ROOT");

	snprintf(out, len, "%s/impair-%s", root && *root ? root : BEAM_PIN_ROOT_DEFAULT, dev);
}

static int parse_pct(const char *s, unsigned int *ppm)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v < 0 || v > 100) {
		pr_err("invalid percentage '%s': expected 0 to 100", s);
		return -EINVAL;
	}
	*ppm = (unsigned int)(v * 10000.0 + 0.5);
	return 0;
}

static void detach(const char *dev)
{
	char path[256];

	run_tc("tc qdisc del dev %s root 2>/dev/null", dev);
	run_tc("tc qdisc del dev %s clsact 2>/dev/null", dev);
	pin_path(path, sizeof(path), dev);
	unlink(path);
	rmdir(path);
}

static int parse_len(const char *s, unsigned int *len)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < 68 || v > 65535) {
		pr_err("invalid packet length '%s': expected 68 to 65535 bytes", s);
		return -EINVAL;
	}
	*len = (unsigned int)v;
	return 0;
}

static int attach(const char *dev, unsigned int loss, unsigned int reorder, const char *slow_rate,
		  unsigned int max_len)
{
	char path[256], root[256];
	struct impair *skel;
	int err;

	if (!if_nametoindex(dev)) {
		pr_err("no such interface '%s'", dev);
		return -ENODEV;
	}
	detach(dev);

	skel = impair__open();
	if (!skel) {
		err = -errno;
		pr_err("failed to open the impair BPF object: %s", strerror(-err));
		return err;
	}
	skel->rodata->loss_ppm = loss;
	skel->rodata->reorder_ppm = reorder;
	skel->rodata->reorder_classid = reorder ? SLOW_CLASSID : 0;
	skel->rodata->max_len = max_len;
	err = impair__load(skel);
	if (err) {
		pr_err("failed to load the impair program: %s", strerror(-err));
		goto out;
	}

	if (reorder) {
		err = run_tc("tc qdisc add dev %s root handle 1: htb default 1", dev);
		err = err
			      ?: run_tc("tc class add dev %s parent 1: classid " FAST_CLASS
					" htb rate 100gbit quantum 60000",
					dev);
		err = err
			      ?: run_tc("tc class add dev %s parent 1: classid 1:2 htb rate %s",
					dev, slow_rate);
		if (err) {
			pr_err("failed to set up the HTB classes on '%s'", dev);
			goto out;
		}
	}
	err = tc_hook_attach(dev, "impair", -1, bpf_program__fd(skel->progs.impair));
	if (err)
		goto out;

	pin_path(path, sizeof(path), dev);
	snprintf(root, sizeof(root), "%s", path);
	*strrchr(root, '/') = '\0';
	mkdir(root, 0700);
	err = bpf_map__pin(skel->maps.impair_stats, path);
	if (err)
		pr_warn("failed to pin impair counters at '%s': %s", path, strerror(-err));
	err = 0;
	pr_info("impairing '%s' egress: loss %.4f%%, reorder %.4f%%, max length %u", dev,
		loss / 10000.0, reorder / 10000.0, max_len);
out:
	impair__destroy(skel);
	if (err)
		detach(dev);
	return err;
}

static int stats(const char *dev)
{
	static const char *const names[] = {"seen", "dropped", "reordered", "too_big"};
	int ncpu = libbpf_num_possible_cpus(), fd, err = 0;
	char path[256];
	__u32 key;

	pin_path(path, sizeof(path), dev);
	fd = bpf_obj_get(path);
	if (fd < 0 || ncpu <= 0) {
		err = -errno;
		pr_err("no impair counters for '%s' at '%s': %s", dev, path, strerror(-err));
		return err;
	}
	if (ncpu > MAX_CPUS) {
		pr_err("%d possible CPUs: more than this tool reads (%d)", ncpu, MAX_CPUS);
		close(fd);
		return -E2BIG;
	}
	for (key = 0; key < sizeof(names) / sizeof(names[0]); key++) {
		__u64 values[MAX_CPUS], sum = 0;
		int i;

		if (bpf_map_lookup_elem(fd, &key, values))
			continue;
		for (i = 0; i < ncpu; i++)
			sum += values[i];
		printf("%s %llu\n", names[key], (unsigned long long)sum);
	}
	close(fd);
	return err;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: impair attach DEV [--loss PCT] [--reorder PCT] [--slow-rate RATE]\n"
		     "                         [--max-len BYTES]\n"
		     "       impair detach DEV\n"
		     "       impair stats DEV\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"loss", required_argument, NULL, 'l'},
		{"reorder", required_argument, NULL, 'r'},
		{"slow-rate", required_argument, NULL, 's'},
		{"max-len", required_argument, NULL, 'm'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	unsigned int loss = 0, reorder = 0, max_len = 0;
	const char *slow_rate = "20mbit";
	int opt, verbose = 0;

	log_set_ident("impair");
	while ((opt = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (parse_pct(optarg, &loss))
				return 2;
			break;
		case 'r':
			if (parse_pct(optarg, &reorder))
				return 2;
			break;
		case 'm':
			if (parse_len(optarg, &max_len))
				return 2;
			break;
		case 's':
			if (strspn(optarg, "0123456789kmgbitKMG") != strlen(optarg)) {
				pr_err("invalid rate '%s'", optarg);
				return 2;
			}
			slow_rate = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	log_set_verbosity(verbose);
	log_hook_libraries();
	if (argc - optind != 2 || strlen(argv[optind + 1]) >= IFNAMSIZ ||
	    strspn(argv[optind + 1],
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
		    strlen(argv[optind + 1])) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[optind], "attach"))
		return attach(argv[optind + 1], loss, reorder, slow_rate, max_len) ? 1 : 0;
	if (!strcmp(argv[optind], "detach")) {
		detach(argv[optind + 1]);
		return 0;
	}
	if (!strcmp(argv[optind], "stats"))
		return stats(argv[optind + 1]) ? 1 : 0;
	usage(stderr);
	return 2;
}
