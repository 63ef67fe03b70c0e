// SPDX-License-Identifier: MIT
/*
 * beam-xdp.c - loads, attaches, inspects and detaches beam's XDP program.
 *
 *   beam-xdp attach IFACE [--mode auto|native|generic] [--port N]... [--force]
 *                         [--rx-coalesce-us N]
 *   beam-xdp detach IFACE [--force]
 *   beam-xdp status [IFACE]
 *   beam-xdp flows IFACE [--top N] [--json]
 *   beam-xdp stats IFACE [--json]
 *
 * The work is in xdp_loader.c and xdp_stats.c; this file parses the command
 * line and prints.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "napi_coalesce.h"
#include "version.h"
#include "xdp_loader.h"
#include "xdp_stats.h"

struct cli {
	const char *pin_root;
	struct xdp_attach_opts attach;
	unsigned long top;
	bool json;
	bool rate_given, burst_given;
	long coalesce_us; /* --rx-coalesce-us, -1: not given */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: beam-xdp [-v|-vv] [--pin-root DIR] COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  attach IFACE   load beam's XDP program and attach it (or replace it in place)\n"
		"      --mode auto|native|generic   attach mode (auto: native, else generic)\n"
		"      --port N                     a UDP port of beam's (repeatable, default %d)\n"
		"      --initial-rate N             Initials per second per source (default %d;\n"
		"                                   0: no limit)\n"
		"      --initial-burst N            token bucket depth (default 2x the rate)\n"
		"      --no-rate-limit, --rate-limit   switch the Initial limit\n"
		"      --no-steer, --steer          switch redirecting to AF_XDP sockets\n"
		"      --force                      replace an XDP program that is not beam's\n"
		"      --rx-coalesce-us N           wake receivers at most every N us under load\n"
		"                                   (the interface's NAPI deferral; 0: off;\n"
		"                                   unchanged unless given)\n"
		"  detach IFACE   detach beam's program and remove its pins; refused while\n"
		"                 a beamd uses them, unless --force\n"
		"  status [IFACE] mode, program, ports, map fill, verdict totals\n"
		"  flows IFACE    live flows, busiest first  [--top N (default 20, 0 = all)]\n"
		"                 [--json]\n"
		"  stats IFACE    verdict and reason counters summed over CPUs, and why\n"
		"                 steering left QUIC to the socket  [--json]\n"
		"\n"
		"options:\n"
		"  --pin-root DIR   pins in DIR/IFACE (default $BEAM_PIN_ROOT, else %s)\n"
		"  -v, -vv          more detail (-vv: libbpf's messages too)\n"
		"  -h, --help       this text\n"
		"  --version        versions of beam and the libraries it runs with\n",
		XDP_LOADER_DEFAULT_PORT, XDP_LOADER_DEFAULT_INITIAL_RATE, BEAM_PIN_ROOT_DEFAULT);
}

static int parse_range(const char *what, const char *s, unsigned long min, unsigned long max,
		       unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s < '0' || *s > '9' || *out < min || *out > max) {
		pr_err("invalid %s '%s': expected a number from %lu to %lu", what, s, min, max);
		return -EINVAL;
	}
	return 0;
}

enum {
	OPT_PIN_ROOT = 256,
	OPT_MODE,
	OPT_PORT,
	OPT_FORCE,
	OPT_RATE,
	OPT_BURST,
	OPT_RATE_LIMIT,
	OPT_NO_RATE_LIMIT,
	OPT_STEER,
	OPT_NO_STEER,
	OPT_TOP,
	OPT_JSON,
	OPT_VERSION,
	OPT_COALESCE,
};

static const struct option options[] = {
	{"pin-root", required_argument, NULL, OPT_PIN_ROOT},
	{"mode", required_argument, NULL, OPT_MODE},
	{"port", required_argument, NULL, OPT_PORT},
	{"force", no_argument, NULL, OPT_FORCE},
	{"initial-rate", required_argument, NULL, OPT_RATE},
	{"initial-burst", required_argument, NULL, OPT_BURST},
	{"rate-limit", no_argument, NULL, OPT_RATE_LIMIT},
	{"no-rate-limit", no_argument, NULL, OPT_NO_RATE_LIMIT},
	{"steer", no_argument, NULL, OPT_STEER},
	{"no-steer", no_argument, NULL, OPT_NO_STEER},
	{"top", required_argument, NULL, OPT_TOP},
	{"json", no_argument, NULL, OPT_JSON},
	{"rx-coalesce-us", required_argument, NULL, OPT_COALESCE},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

static const char burst_zero_why[] =
	"a bucket of depth 0 admits no Initial packet at all (every new agent dropped); "
	"--initial-rate 0 or --no-rate-limit turn the limit off";

static bool port_given(const struct xdp_attach_opts *a, unsigned long port)
{
	unsigned int i;

	for (i = 0; i < a->nports; i++)
		if (a->ports[i] == port)
			return true;
	return false;
}

/* Returns 0 to go on, 1 when done (help, version), or -errno. */
static int parse_args(int argc, char **argv, struct cli *cli)
{
	struct xdp_attach_opts *a = &cli->attach;
	int opt, verbosity = 0, err = 0;
	unsigned long v;

	cli->top = 20;
	cli->coalesce_us = -1;
	while ((opt = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		switch (opt) {
		case 'v':
			log_set_verbosity(++verbosity);
			break;
		case 'h':
			usage(stdout);
			return 1;
		case OPT_VERSION:
			version_print(stdout, "beam-xdp");
			return 1;
		case OPT_PIN_ROOT:
			if (!*optarg) {
				pr_err("invalid --pin-root '': expected a directory on bpffs");
				return -EINVAL;
			}
			cli->pin_root = optarg;
			break;
		case OPT_MODE:
			err = xdp_loader_mode_parse(optarg, &a->mode);
			if (err)
				pr_err("invalid --mode '%s': expected auto, native or generic",
				       optarg);
			break;
		case OPT_PORT:
			if (a->nports == BEAM_MAX_PORTS) {
				pr_err("too many --port options: beam watches at most %d ports",
				       BEAM_MAX_PORTS);
				return -EINVAL;
			}
			err = parse_range("--port", optarg, 1, 65535, &v);
			if (!err && port_given(a, v)) {
				pr_err("invalid --port %lu: given twice", v);
				err = -EINVAL;
			}
			if (!err)
				a->ports[a->nports++] = v;
			break;
		case OPT_FORCE:
			a->force = true;
			break;
		case OPT_RATE:
			err = parse_range("--initial-rate", optarg, 0, BEAM_INITIAL_RATE_MAX, &v);
			a->initial_rate = v;
			cli->rate_given = true;
			break;
		case OPT_BURST:
			err = parse_range("--initial-burst", optarg, 0, UINT32_MAX, &v);
			if (!err && !v) {
				pr_err("invalid --initial-burst 0: %s", burst_zero_why);
				err = -EINVAL;
			}
			a->initial_burst = v;
			cli->burst_given = true;
			break;
		case OPT_RATE_LIMIT:
			a->rate_limit = XDP_LOADER_ON;
			break;
		case OPT_NO_RATE_LIMIT:
			a->rate_limit = XDP_LOADER_OFF;
			break;
		case OPT_STEER:
			a->steer = XDP_LOADER_ON;
			break;
		case OPT_NO_STEER:
			a->steer = XDP_LOADER_OFF;
			break;
		case OPT_TOP:
			err = parse_range("--top", optarg, 0, ULONG_MAX, &cli->top);
			break;
		case OPT_JSON:
			cli->json = true;
			break;
		case OPT_COALESCE:
			err = parse_range("--rx-coalesce-us", optarg, 0, NAPI_COALESCE_MAX_US, &v);
			cli->coalesce_us = (long)v;
			break;
		default:
			usage(stderr);
			return -EINVAL;
		}
		if (err)
			return err;
	}
	/* --initial-rate alone: burst twice the rate; --initial-burst alone
	 * changes the burst and keeps the rate configured; rate 0: no limit. */
	if (cli->rate_given) {
		a->set_rate = true;
		if (!cli->burst_given)
			a->initial_burst = a->initial_rate * 2;
	}
	a->set_burst = cli->burst_given;
	a->pin_root = cli->pin_root;
	return 0;
}

/* ---- attach, detach ---- */

/* The command name of process @pid, "?" when it cannot be read. */
static void proc_comm(pid_t pid, char *buf, size_t size)
{
	char path[32];
	FILE *f;

	snprintf(buf, size, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, (int)size, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* "off", "20 us", or what the kernel holds when it is not in that form. */
static const char *coalesce_str(const struct napi_coalesce *c, char *buf, size_t size)
{
	if (!c->gro_flush_timeout_ns && !c->defer_hard_irqs)
		snprintf(buf, size, "off");
	else if (!c->gro_flush_timeout_ns || !c->defer_hard_irqs)
		snprintf(buf, size, "off (gro_flush_timeout %u ns, napi_defer_hard_irqs %u)",
			 c->gro_flush_timeout_ns, c->defer_hard_irqs);
	else if (c->gro_flush_timeout_ns % 1000 || c->defer_hard_irqs != 1)
		snprintf(buf, size, "%u ns, kept armed for %u idle poll%s", c->gro_flush_timeout_ns,
			 c->defer_hard_irqs, c->defer_hard_irqs == 1 ? "" : "s");
	else
		snprintf(buf, size, "%u us", c->gro_flush_timeout_ns / 1000);
	return buf;
}

/* --rx-coalesce-us: set @ifname's NAPI deferral, saying what it was. */
static int set_coalesce(const char *ifname, uint32_t us)
{
	struct napi_coalesce want = napi_coalesce_from_us(us), was;
	char a[96], b[96];
	int err;

	err = napi_coalesce_get(ifname, &was);
	if (!err)
		err = napi_coalesce_set(ifname, &want);
	if (err)
		return err;
	printf("receive coalescing on %s: %s (was %s)\n", ifname, coalesce_str(&want, a, sizeof(a)),
	       coalesce_str(&was, b, sizeof(b)));
	return 0;
}

static int cmd_attach(const char *ifname, struct cli *cli)
{
	struct xdp_attach_info info;
	char dir[PATH_MAX];
	int err;

	err = xdp_loader_attach(ifname, &cli->attach, &info);
	if (err)
		return err;

	xdp_loader_pin_dir(dir, sizeof(dir), cli->pin_root, ifname);
	if (info.replaced)
		printf("replaced beam's XDP program on %s (id %u -> %u), %s mode; maps kept\n",
		       ifname, info.old_prog_id, info.prog_id, xdp_loader_mode_name(info.mode));
	else
		printf("attached beam's XDP program (id %u) to %s in %s mode (%s)\n", info.prog_id,
		       ifname, xdp_loader_mode_name(info.mode), info.why);
	printf("pins in %s\n", dir);
	return cli->coalesce_us >= 0 ? set_coalesce(ifname, (uint32_t)cli->coalesce_us) : 0;
}

static int cmd_detach(const char *ifname, struct cli *cli)
{
	pid_t pids[8];
	int err, n, i;

	n = xdp_loader_map_users(ifname, cli->pin_root, pids, 8);
	if (n > 0) {
		char list[8 * 32] = "", comm[32];
		size_t len = 0;

		for (i = 0; i < n && i < 8; i++) {
			proc_comm(pids[i], comm, sizeof(comm));
			len += snprintf(list + len, sizeof(list) - len, "%s%s %d", i ? ", " : "",
					comm, (int)pids[i]);
			if (len >= sizeof(list))
				break;
		}
		if (!cli->attach.force) {
			pr_err("refusing to detach from '%s': %s uses its maps; stop it or --force",
			       ifname, list);
			return -EBUSY;
		}
		pr_warn("detaching from '%s' under %s (--force): restart it after the next attach",
			ifname, list);
	}
	err = xdp_loader_detach(ifname, cli->pin_root);
	if (err == -ENOENT) {
		printf("nothing of beam's attached to %s\n", ifname);
		return 0;
	}
	if (!err)
		printf("detached beam's XDP program from %s and removed its pins\n", ifname);
	return err;
}

/* ---- status ---- */

static void print_ports(const struct beam_config *cfg)
{
	const char *sep = "";
	int i;

	for (i = 0; i < BEAM_MAX_PORTS; i++) {
		if (!cfg->ports[i])
			continue;
		printf("%s%u", sep, cfg->ports[i]);
		sep = ", ";
	}
	if (!*sep)
		printf("none");
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void endpoint(const __u8 addr[16], __u16 port, char *buf, size_t size)
{
	char a[64];

	xdp_fmt_addr(addr, a, sizeof(a));
	snprintf(buf, size, xdp_addr_is_v4(addr) ? "%s:%u" : "[%s]:%u", a, port);
}

/* beamd's QUIC connections on this interface, from the conns map. */
static void status_conns(const char *ifname, struct cli *cli)
{
	char peer[64], rtt[16], in[16], out[16], age[16];
	unsigned long long now = now_ns();
	struct beam_conn *conns;
	struct beam_cid *keys;
	struct xdp_maps m;
	size_t n, i;

	if (xdp_maps_open_pinned(&m, cli->pin_root, ifname))
		return;
	if (!xdp_conns_read(m.conns, &keys, &conns, &n)) {
		printf("  connections: %zu%s\n", n, n ? " (beamd's, from the conns map)" : "");
		for (i = 0; i < n && i < 20; i++) {
			const struct beam_conn *c = &conns[i];

			endpoint(c->peer_addr, c->peer_port, peer, sizeof(peer));
			printf("    %-22s %-11s rtt %-7s in %-9s out %-9s "
			       "streams %u tunnels %u age %s\n",
			       peer, xdp_stats_conn_state_name(c->state),
			       c->srtt_ns ? xdp_fmt_ns(c->srtt_ns, rtt, sizeof(rtt)) : "-",
			       xdp_fmt_bytes(c->bytes_in, in, sizeof(in)),
			       xdp_fmt_bytes(c->bytes_out, out, sizeof(out)), c->streams_open,
			       c->tunnels,
			       xdp_fmt_ns(now > c->created_ns ? now - c->created_ns : 0, age,
					  sizeof(age)));
		}
		if (n > 20)
			printf("    (%zu more)\n", n - 20);
		free(keys);
		free(conns);
	}
	xdp_maps_close(&m);
}

static int status_one(const char *ifname, void *arg)
{
	struct beam_counter verdicts[BEAM_VERDICT__MAX];
	struct cli *cli = arg;
	char a[32], b[32], dir[PATH_MAX];
	struct xdp_status st;
	unsigned int v;
	int err;

	err = xdp_loader_status(ifname, cli->pin_root, &st);
	if (err)
		return err;

	xdp_loader_pin_dir(dir, sizeof(dir), cli->pin_root, ifname);
	if (st.beam)
		printf("%s: beam's XDP program, id %u, %s mode, pins in %s\n", ifname, st.prog_id,
		       xdp_loader_mode_name(st.mode), dir);
	else if (st.prog_id)
		printf("%s: XDP program '%s' (id %u, %s mode) is attached; it is not beam's\n",
		       ifname, st.prog_name, st.prog_id, xdp_loader_mode_name(st.mode));
	else if (!st.ifindex)
		printf("%s: interface is gone%s\n", ifname, st.pinned ? "; its pins remain" : "");
	else
		printf("%s: no XDP program attached\n", ifname);
	if (!st.pinned)
		return 0;
	if (!st.beam)
		printf("  stale pins in %s (beam-xdp detach %s removes them)\n", dir, ifname);

	printf("  ports: ");
	print_ports(&st.config);
	printf("; steering %s", st.config.flags & BEAM_CFG_STEER ? "on" : "off");
	/* what beamd --xdp wrote: whose AF_XDP sockets, how many workers */
	if (st.config.xsk_port)
		printf(" (AF_XDP for port %u, %u worker%s)", st.config.xsk_port, st.config.workers,
		       st.config.workers == 1 ? "" : "s");
	printf("; Initial limit ");
	if (!(st.config.flags & BEAM_CFG_RATE_LIMIT))
		printf("off\n");
	else if (!st.config.initial_rate)
		printf("off (--initial-rate 0: no per-source limit)\n");
	else
		printf("%u/s, burst %u\n", st.config.initial_rate, st.config.initial_burst);
	printf("  maps: flows %u/%u, conns %u/%u, rate %u/%u, xsks (queues) %u\n", st.flows,
	       st.flows_max, st.conns, st.conns_max, st.rate, st.rate_max, st.xsks_max);
	if (st.ifindex) {
		struct napi_coalesce co;
		char c[96];

		if (!napi_coalesce_get(ifname, &co))
			printf("  receive coalescing: %s\n", coalesce_str(&co, c, sizeof(c)));
	}
	xdp_stats_verdicts(st.reasons, verdicts);
	printf("  verdicts:");
	for (v = 0; v < BEAM_VERDICT__MAX; v++)
		printf(" %s %s (%s)%s", xdp_stats_verdict_name(v),
		       xdp_fmt_count(verdicts[v].packets, a, sizeof(a)),
		       xdp_fmt_bytes(verdicts[v].bytes, b, sizeof(b)),
		       v + 1 < BEAM_VERDICT__MAX ? "," : "\n");
	status_conns(ifname, cli);
	return 0;
}

static int count_cb(const char *ifname, void *arg)
{
	(void)ifname;
	++*(int *)arg;
	return 0;
}

static int cmd_status(const char *ifname, struct cli *cli)
{
	int n = 0, err;

	if (ifname)
		return status_one(ifname, cli);

	err = xdp_loader_for_each_pinned(cli->pin_root, count_cb, &n);
	if (!err && !n) {
		printf("no interface has beam's XDP program (nothing pinned in %s)\n",
		       xdp_loader_pin_root(cli->pin_root));
		return 0;
	}
	if (!err)
		err = xdp_loader_for_each_pinned(cli->pin_root, status_one, cli);
	if (err < 0)
		pr_err("failed to list pins in '%s': %s", xdp_loader_pin_root(cli->pin_root),
		       strerror(-err));
	return err;
}

/* ---- flows, stats ---- */

static int open_maps(const char *ifname, struct cli *cli, struct xdp_maps *m)
{
	char dir[PATH_MAX];
	int err;

	err = xdp_maps_open_pinned(m, cli->pin_root, ifname);
	if (err == -ENOENT) {
		xdp_loader_pin_dir(dir, sizeof(dir), cli->pin_root, ifname);
		pr_err("beam's XDP program is not attached to '%s' (no pins in %s)", ifname, dir);
	}
	return err;
}

/* The conns entry beamd keeps for the QUIC connection a flow's DCID names. */
static bool flow_conn(int conns_fd, const struct beam_flow *fl, struct beam_conn *out)
{
	struct beam_cid cid = {.len = fl->dcid_len};

	if (conns_fd < 0 || !fl->dcid_len || fl->dcid_len > BEAM_CID_MAX_LEN)
		return false;
	memcpy(cid.data, fl->dcid, fl->dcid_len);
	return !bpf_map_lookup_elem(conns_fd, &cid, out);
}

static void flows_json(const struct xdp_flow_entry *f, size_t n, int conns_fd)
{
	char src[64], dst[64], dcid[48], conn[96];
	struct beam_conn c;
	size_t i;

	printf("[");
	for (i = 0; i < n; i++) {
		xdp_fmt_addr(f[i].key.saddr, src, sizeof(src));
		xdp_fmt_addr(f[i].key.daddr, dst, sizeof(dst));
		xdp_fmt_hex(f[i].flow.dcid, f[i].flow.dcid_len, dcid, sizeof(dcid));
		if (flow_conn(conns_fd, &f[i].flow, &c))
			snprintf(conn, sizeof(conn), "{\"state\": \"%s\", \"srtt_ns\": %llu}",
				 xdp_stats_conn_state_name(c.state), (unsigned long long)c.srtt_ns);
		else
			snprintf(conn, sizeof(conn), "null");
		printf("%s\n  {\"src\": \"%s\", \"sport\": %u, \"dst\": \"%s\", \"dport\": %u, ",
		       i ? "," : "", src, f[i].key.sport, dst, f[i].key.dport);
		printf("\"proto\": %u, \"packets\": %llu, \"bytes\": %llu, ", f[i].key.proto,
		       (unsigned long long)f[i].flow.packets, (unsigned long long)f[i].flow.bytes);
		printf("\"quic_long\": %llu, \"quic_short\": %llu, ",
		       (unsigned long long)f[i].flow.quic_long,
		       (unsigned long long)f[i].flow.quic_short);
		printf("\"first_seen_ns\": %llu, \"last_seen_ns\": %llu, ",
		       (unsigned long long)f[i].flow.first_seen_ns,
		       (unsigned long long)f[i].flow.last_seen_ns);
		printf("\"last_reason\": \"%s\", \"dcid\": \"%s\", \"conn\": %s}",
		       xdp_stats_reason_name(f[i].flow.last_reason), dcid, conn);
	}
	printf("%s]\n", n ? "\n" : "");
}

/* Endpoint columns as wide as the widest shown, so IPv4 tables fit 80 columns. */
static int endpoint_width(const struct xdp_flow_entry *f, size_t n)
{
	int w = (int)strlen("DESTINATION");
	char buf[64];
	size_t i;

	for (i = 0; i < n; i++) {
		endpoint(f[i].key.saddr, f[i].key.sport, buf, sizeof(buf));
		w = (int)strlen(buf) > w ? (int)strlen(buf) : w;
		endpoint(f[i].key.daddr, f[i].key.dport, buf, sizeof(buf));
		w = (int)strlen(buf) > w ? (int)strlen(buf) : w;
	}
	return w;
}

static void flows_table(const struct xdp_flow_entry *f, size_t n, size_t total, int conns_fd)
{
	char src[64], dst[64], pk[16], by[16], idle[16], rtt[16];
	unsigned long long now = now_ns();
	int w = endpoint_width(f, n);
	struct beam_conn c;
	size_t i;

	printf("%-*s %-*s %7s %9s %6s %-11s %7s\n", w, "SOURCE", w, "DESTINATION", "PACKETS",
	       "BYTES", "IDLE", "CONN", "RTT");
	for (i = 0; i < n; i++) {
		const struct beam_flow *fl = &f[i].flow;
		bool has_conn = flow_conn(conns_fd, fl, &c);

		endpoint(f[i].key.saddr, f[i].key.sport, src, sizeof(src));
		endpoint(f[i].key.daddr, f[i].key.dport, dst, sizeof(dst));
		printf("%-*s %-*s %7s %9s %6s %-11s %7s\n", w, src, w, dst,
		       xdp_fmt_count(fl->packets, pk, sizeof(pk)),
		       xdp_fmt_bytes(fl->bytes, by, sizeof(by)),
		       xdp_fmt_ns(now > fl->last_seen_ns ? now - fl->last_seen_ns : 0, idle,
				  sizeof(idle)),
		       has_conn ? xdp_stats_conn_state_name(c.state) : "-",
		       has_conn && c.srtt_ns ? xdp_fmt_ns(c.srtt_ns, rtt, sizeof(rtt)) : "-");
	}
	if (n < total)
		printf("(%zu of %zu flows; --top 0 shows all, --json every field)\n", n, total);
	else if (!total)
		printf("(no flows)\n");
}

static int cmd_flows(const char *ifname, struct cli *cli)
{
	struct xdp_flow_entry *flows;
	struct xdp_maps m;
	size_t n, shown;
	int err;

	err = open_maps(ifname, cli, &m);
	if (err)
		return err;
	err = xdp_flows_read(m.flows, &flows, &n);
	if (err) {
		pr_err("failed to read the flows of '%s': %s", ifname, strerror(-err));
		xdp_maps_close(&m);
		return err;
	}

	shown = cli->top && cli->top < n ? cli->top : n;
	if (cli->json)
		flows_json(flows, shown, m.conns);
	else
		flows_table(flows, shown, n, m.conns);
	free(flows);
	xdp_maps_close(&m);
	return 0;
}

static int cmd_stats(const char *ifname, struct cli *cli)
{
	struct beam_counter reasons[BEAM_REASON__MAX], verdicts[BEAM_VERDICT__MAX];
	__u64 misses[BEAM_STEER_MISS__MAX];
	bool has_misses;
	struct xdp_maps m;
	unsigned int r, v;
	char by[16];
	int err;

	err = open_maps(ifname, cli, &m);
	if (err)
		return err;
	err = xdp_stats_read(m.stats, reasons);
	if (!err && m.steer_misses >= 0)
		err = xdp_steer_misses_read(m.steer_misses, misses);
	has_misses = m.steer_misses >= 0;
	xdp_maps_close(&m);
	if (err) {
		pr_err("failed to read the counters of '%s': %s", ifname, strerror(-err));
		return err;
	}
	xdp_stats_verdicts(reasons, verdicts);

	if (cli->json) {
		printf("{\"interface\": \"%s\", \"verdicts\": {", ifname);
		for (v = 0; v < BEAM_VERDICT__MAX; v++)
			printf("%s\"%s\": {\"packets\": %llu, \"bytes\": %llu}", v ? ", " : "",
			       xdp_stats_verdict_name(v), (unsigned long long)verdicts[v].packets,
			       (unsigned long long)verdicts[v].bytes);
		printf("}, \"reasons\": {");
		for (r = 0; r < BEAM_REASON__MAX; r++)
			printf("%s\"%s\": {\"verdict\": \"%s\", "
			       "\"packets\": %llu, \"bytes\": %llu}",
			       r ? ", " : "", xdp_stats_reason_name(r),
			       xdp_stats_verdict_name(beam_reason_verdict(r)),
			       (unsigned long long)reasons[r].packets,
			       (unsigned long long)reasons[r].bytes);
		printf("}");
		if (has_misses) {
			printf(", \"steer_misses\": {");
			for (r = 0; r < BEAM_STEER_MISS__MAX; r++)
				printf("%s\"%s\": %llu", r ? ", " : "",
				       xdp_stats_steer_miss_name(r), (unsigned long long)misses[r]);
			printf("}");
		}
		printf("}\n");
		return 0;
	}

	printf("%-16s %-9s %14s %12s\n", "REASON", "VERDICT", "PACKETS", "BYTES");
	for (r = 0; r < BEAM_REASON__MAX; r++)
		printf("%-16s %-9s %14llu %12s\n", xdp_stats_reason_name(r),
		       xdp_stats_verdict_name(beam_reason_verdict(r)),
		       (unsigned long long)reasons[r].packets,
		       xdp_fmt_bytes(reasons[r].bytes, by, sizeof(by)));
	printf("\n");
	for (v = 0; v < BEAM_VERDICT__MAX; v++)
		printf("%-16s %-9s %14llu %12s\n", "total", xdp_stats_verdict_name(v),
		       (unsigned long long)verdicts[v].packets,
		       xdp_fmt_bytes(verdicts[v].bytes, by, sizeof(by)));
	if (!has_misses)
		return 0;
	/* The part of to_socket that steering (when on) could not redirect, by
	 * cause; the prefix keeps `$1 == "other_port"` on the reason's row. */
	printf("\n");
	for (r = 0; r < BEAM_STEER_MISS__MAX; r++) {
		char name[40];

		snprintf(name, sizeof(name), "to_socket:%s", xdp_stats_steer_miss_name(r));
		printf("%-26s %14llu\n", name, (unsigned long long)misses[r]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd, *ifname;
	struct cli cli = {0};
	int err, nargs;

	log_set_ident("beam-xdp");
	log_hook_libraries();
	err = parse_args(argc, argv, &cli);
	if (err)
		return err > 0 ? 0 : 2;

	nargs = argc - optind;
	if (nargs < 1) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	ifname = nargs > 1 ? argv[optind + 1] : NULL;
	if (nargs > 2) {
		pr_err("unexpected argument '%s' after '%s %s'", argv[optind + 2], cmd, ifname);
		return 2;
	}
	if (strcmp(cmd, "attach") && strcmp(cmd, "detach") && strcmp(cmd, "status") &&
	    strcmp(cmd, "flows") && strcmp(cmd, "stats")) {
		pr_err("unknown command '%s' (beam-xdp --help lists them)", cmd);
		return 2;
	}
	if (!ifname && strcmp(cmd, "status")) {
		pr_err("'%s' needs an interface: beam-xdp %s IFACE", cmd, cmd);
		return 2;
	}
	if (ifname && !*ifname) {
		pr_err("invalid interface '': beam-xdp %s IFACE needs a name", cmd);
		return 2;
	}
	if (ifname && strlen(ifname) >= IF_NAMESIZE) {
		pr_err("no such interface '%s': names are at most %d characters", ifname,
		       IF_NAMESIZE - 1);
		return 1;
	}
	if (geteuid() != 0) {
		pr_err("beam-xdp %s needs root (CAP_BPF and CAP_NET_ADMIN); running as uid %u", cmd,
		       (unsigned int)geteuid());
		return 1;
	}

	if (!strcmp(cmd, "attach"))
		err = cmd_attach(ifname, &cli);
	else if (!strcmp(cmd, "detach"))
		err = cmd_detach(ifname, &cli);
	else if (!strcmp(cmd, "status"))
		err = cmd_status(ifname, &cli);
	else if (!strcmp(cmd, "flows"))
		err = cmd_flows(ifname, &cli);
	else
		err = cmd_stats(ifname, &cli);
	return err ? 1 : 0;
}
