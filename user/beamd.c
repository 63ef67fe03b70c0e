// SPDX-License-Identifier: MIT
/*
 * beamd.c - the edge daemon: parse the command line, load tokens and the
 * certificate, start one worker thread (libevent loop, QUIC socket, edge)
 * per core, and stop them all on SIGINT or SIGTERM.
 */
#include "daemon_maps.h"
#include "edge_hub.h"
#include "edge_limits.h"
#include "edge_stats.h"
#include "log.h"
#include "runloop.h"
#include "metrics.h"
#include "netaddr.h"
#include "pktio_mux.h"
#include "privdrop.h"
#include "reuseport.h"
#include "tls.h"
#include "tokens.h"
#include "tunnel.h"
#include "version.h"

#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: beamd --listen ADDR:PORT --tokens FILE [options]\n"
		"\n"
		"  -l, --listen ADDR:PORT   UDP address for agents (QUIC), e.g. [::]:4433\n"
		"  -t, --tokens FILE        'NAME TOKEN' per line; must not be readable by others\n"
		"      --cert FILE          PEM certificate (default: self-signed, made at start)\n"
		"      --key FILE           PEM private key for --cert\n"
		"      --public ADDR        address public TCP listeners bind to (default: any)\n"
		"      --http-listen ADDR:PORT  the public HTTP listener all http tunnels share,\n"
		"                           routed by Host (default: no http tunnels)\n"
		"      --workers N          worker threads, each with its own loop and QUIC\n"
		"                           socket (default: one per online CPU, at most 64)\n"
		"      --retry              send a QUIC Retry before accepting a connection\n"
		"      --retry-above N      send a Retry to new clients while N handshakes are in\n"
		"                           progress (default 256; 0: only with --retry)\n"
		"      --stateless-rate N   Retry, Version Negotiation and stateless reset\n"
		"                           packets sent per second at most, together\n"
		"                           (default 1000)\n"
		"      --grace SECONDS      keep a gone agent's ports this long (default 30)\n"
		"      --idle-timeout S     QUIC idle timeout (default 30)\n"
		"      --unresponsive-timeout S  drop an agent that answers nothing this long\n"
		"                           while data waits for it: its public\n"
		"                           connections fail then, not at the idle timeout\n"
		"                           (default 5; 0: only the idle timeout)\n"
		"      --metrics ADDR:PORT  serve /metrics and /healthz there (off by default)\n"
		"      --iface IFACE        use the maps of beam's XDP program on IFACE\n"
		"                           (default: the one interface it is attached to)\n"
		"      --xdp IFACE          receive QUIC through AF_XDP on IFACE (beam's XDP\n"
		"                           program is attached if none is); falls back to\n"
		"                           the UDP socket\n"
		"      --pin-root DIR       BPF pins (default $BEAM_PIN_ROOT, else\n"
		"                           /sys/fs/bpf/beam)\n"
		"      --no-maps            keep no conns map and no latency histograms (to\n"
		"                           measure what they cost; counters in /metrics stay)\n"
		"      --limit NAME=N       at most N of NAME (default in brackets):\n");
	/* the defaults from the code, not a copy that drifts */
	fprintf(out, "%27s", "");
	edge_limits_help(out, 27, 80);
	fprintf(out,
		"      --user NAME          after setup, run as NAME with only the capabilities\n"
		"                           needed (see docs/security.md)\n"
		"  -v, --verbose            more output; twice for library messages\n"
		"      --version            print versions and exit\n"
		"  -h, --help               this text\n");
}

enum {
	OPT_CERT = 256,
	OPT_KEY,
	OPT_RETRY,
	OPT_GRACE,
	OPT_IDLE,
	OPT_UNRESPONSIVE,
	OPT_METRICS,
	OPT_PUBLIC,
	OPT_IFACE,
	OPT_XDP,
	OPT_PIN_ROOT,
	OPT_NO_MAPS,
	OPT_USER,
	OPT_LIMIT,
	OPT_RETRY_ABOVE,
	OPT_STATELESS_RATE,
	OPT_HTTP_LISTEN,
	OPT_WORKERS,
	OPT_VERSION
};

static const struct option options[] = {
	{"listen", required_argument, NULL, 'l'},
	{"tokens", required_argument, NULL, 't'},
	{"cert", required_argument, NULL, OPT_CERT},
	{"key", required_argument, NULL, OPT_KEY},
	{"public", required_argument, NULL, OPT_PUBLIC},
	{"retry", no_argument, NULL, OPT_RETRY},
	{"grace", required_argument, NULL, OPT_GRACE},
	{"idle-timeout", required_argument, NULL, OPT_IDLE},
	{"unresponsive-timeout", required_argument, NULL, OPT_UNRESPONSIVE},
	{"metrics", required_argument, NULL, OPT_METRICS},
	{"iface", required_argument, NULL, OPT_IFACE},
	{"xdp", required_argument, NULL, OPT_XDP},
	{"pin-root", required_argument, NULL, OPT_PIN_ROOT},
	{"no-maps", no_argument, NULL, OPT_NO_MAPS},
	{"user", required_argument, NULL, OPT_USER},
	{"limit", required_argument, NULL, OPT_LIMIT},
	{"retry-above", required_argument, NULL, OPT_RETRY_ABOVE},
	{"stateless-rate", required_argument, NULL, OPT_STATELESS_RATE},
	{"http-listen", required_argument, NULL, OPT_HTTP_LISTEN},
	{"workers", required_argument, NULL, OPT_WORKERS},
	{"verbose", no_argument, NULL, 'v'},
	{"version", no_argument, NULL, OPT_VERSION},
	{"help", no_argument, NULL, 'h'},
	{0},
};

struct args {
	const char *listen;
	const char *tokens;
	const char *cert;
	const char *key;
	const char *public_bind;
	const char *http_listen;
	const char *metrics;
	const char *iface;
	const char *xdp_ifname;
	const char *pin_root;
	const char *user;
	struct edge_limits limits;
	unsigned int grace_s;
	unsigned int idle_s;
	unsigned int unresponsive_s;
	unsigned int retry_above;
	unsigned int stateless_rate;
	unsigned int workers; /* 0: one per online CPU */
	int retry;
	int verbose;
	int no_maps;
};

static int parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !*s || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
	int opt;

	a->grace_s = 30;
	a->idle_s = 30;
	a->unresponsive_s = 5;
	edge_limits_default(&a->limits);
	a->retry_above = 256;
	a->stateless_rate = 1000;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":l:t:vh", options, NULL)) != -1) {
		switch (opt) {
		case 'l':
			a->listen = optarg;
			break;
		case 't':
			a->tokens = optarg;
			break;
		case OPT_CERT:
			a->cert = optarg;
			break;
		case OPT_KEY:
			a->key = optarg;
			break;
		case OPT_PUBLIC:
			a->public_bind = optarg;
			break;
		case OPT_HTTP_LISTEN:
			a->http_listen = optarg;
			break;
		case OPT_RETRY:
			a->retry = 1;
			break;
		case OPT_GRACE:
			if (parse_uint(optarg, 86400, &a->grace_s)) {
				pr_err("invalid --grace '%s': want seconds, 0..86400", optarg);
				return 2;
			}
			break;
		case OPT_IDLE:
			if (parse_uint(optarg, 3600, &a->idle_s) || a->idle_s < 1) {
				pr_err("invalid --idle-timeout '%s': want seconds, 1..3600",
				       optarg);
				return 2;
			}
			break;
		case OPT_UNRESPONSIVE:
			if (parse_uint(optarg, 3600, &a->unresponsive_s)) {
				pr_err("invalid --unresponsive-timeout '%s': want seconds, 0..3600",
				       optarg);
				return 2;
			}
			break;
		case OPT_METRICS:
			a->metrics = optarg;
			break;
		case OPT_IFACE:
			a->iface = optarg;
			break;
		case OPT_NO_MAPS:
			a->no_maps = 1;
			break;
		case OPT_PIN_ROOT:
			if (!*optarg) {
				pr_err("invalid --pin-root '': expected a directory on bpffs");
				return 2;
			}
			a->pin_root = optarg;
			break;
		case OPT_XDP:
			a->xdp_ifname = optarg;
			break;
		case OPT_USER:
			a->user = optarg;
			break;
		case OPT_RETRY_ABOVE:
			if (parse_uint(optarg, 1000000, &a->retry_above)) {
				pr_err("invalid --retry-above '%s': want 0..1000000", optarg);
				return 2;
			}
			break;
		case OPT_STATELESS_RATE:
			if (parse_uint(optarg, 1000000, &a->stateless_rate) || !a->stateless_rate) {
				pr_err("invalid --stateless-rate '%s': want 1..1000000", optarg);
				return 2;
			}
			break;
		case OPT_WORKERS:
			if (parse_uint(optarg, EDGE_HUB_WORKERS_MAX, &a->workers) || !a->workers) {
				pr_err("invalid --workers '%s': want 1..%d", optarg,
				       EDGE_HUB_WORKERS_MAX);
				return 2;
			}
			break;
		case OPT_LIMIT:
			if (edge_limits_parse(&a->limits, optarg))
				return 2;
			break;
		case 'v':
			a->verbose++;
			break;
		case OPT_VERSION:
			version_print(stdout, "beamd");
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			if (opt == ':')
				pr_err("option '%s' needs a value", argv[optind - 1]);
			else if (optopt)
				pr_err("unknown option '-%c'", optopt);
			else
				pr_err("unknown option '%s'", argv[optind - 1]);
			fprintf(stderr, "try 'beamd --help'\n");
			return 2;
		}
	}
	if (optind < argc) {
		pr_err("unexpected argument '%s': beamd takes options only", argv[optind]);
		return 2;
	}
	if (!a->listen || !a->tokens) {
		pr_err("missing %s: beamd needs --listen ADDR:PORT and --tokens FILE",
		       !a->listen && !a->tokens ? "--listen and --tokens"
		       : !a->listen		? "--listen"
						: "--tokens");
		fprintf(stderr, "try 'beamd --help'\n");
		return 2;
	}
	if (a->xdp_ifname && a->iface && strcmp(a->xdp_ifname, a->iface)) {
		pr_err("--xdp '%s' and --iface '%s' differ: --xdp uses the maps of its own "
		       "interface (leave out --iface)",
		       a->xdp_ifname, a->iface);
		return 2;
	}
	if (!a->cert != !a->key) {
		pr_err("--cert and --key go together");
		return 2;
	}
	/* a bad address is a usage error (2), found before anything starts */
	if (a->metrics && metrics_listen_check(a->metrics))
		return 2;
	return 0;
}

static int resolve_listen(const char *s, struct pktio_addr *out)
{
	char host[NETADDR_HOST_MAX];
	uint16_t port;

	if (netaddr_split(s, "::", host, sizeof(host), &port)) {
		pr_err("invalid address '%s': want ADDR:PORT, [V6ADDR]:PORT or PORT", s);
		return -EINVAL;
	}
	return netaddr_resolve(host, port, AF_UNSPEC, out);
}

/* Whether a TCP socket can bind @a (port 0); IPv6 dual-stack. Returns 0 or -errno. */
static int public_bind_try(const struct pktio_addr *a)
{
	int fd, zero = 0, err = 0;

	fd = socket(a->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (a->sa.sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)))
		err = -errno;
	if (!err && bind(fd, &a->sa, a->len))
		err = -errno;
	close(fd);
	return err;
}

/*
 * Where public listeners bind: --public, checked now rather than at the
 * first REGISTER; by default any address, both IPv4 and IPv6 when the host
 * has IPv6. Returns 0 or -errno after a message.
 */
static int public_bind_resolve(const char *arg, struct pktio_addr *out)
{
	int err;

	if (!arg) {
		if (!netaddr_resolve("::", 0, AF_INET6, out) && !public_bind_try(out))
			return 0;
		pr_info("no IPv6 on this host: public listeners take IPv4 only");
		return netaddr_resolve("0.0.0.0", 0, AF_INET, out);
	}
	if (netaddr_resolve(arg, 0, AF_UNSPEC, out))
		return -EINVAL;
	err = public_bind_try(out);
	if (err)
		pr_err("cannot use --public '%s' for public listeners: %s%s", arg, strerror(-err),
		       err == -EADDRNOTAVAIL ? " (not an address of this host)" : "");
	return err;
}

static bool health_cb(void *ctx, const char **why)
{
	if (edge_stats_fresh(ctx))
		return true;
	*why = "a worker has not reported for a second";
	return false;
}

/*
 * --user: every pin beamd needs is open by now (maps, xsks, the XDP counters
 * of /metrics), so the pins stay root's, 0700 and 0600. Only beamd's own pin
 * directory (maps of its own, when no XDP program is attached) goes to the
 * user, so that it can remove its pins at exit.
 */
static int drop_privileges(const struct args *args, const struct daemon_maps *maps,
			   struct edge_stats_pub *pub)
{
	uid_t uid;
	gid_t gid;
	int err;

	if (!args->user)
		return 0;
	err = privdrop_lookup(args->user, &uid, &gid);
	if (err)
		return err;
	if (maps->own_dir[0] && chown(maps->own_dir, uid, gid)) {
		err = -errno;
		pr_err("failed to give '%s' to uid %u: %s", maps->own_dir, (unsigned int)uid,
		       strerror(-err));
		return err;
	}
	err = edge_stats_pub_hold_xdp(pub);
	if (err)
		pr_warn("failed to list the pins in '%s' for /metrics: %s",
			xdp_loader_pin_root(args->pin_root), strerror(-err));
	err = privdrop_to(uid, gid);
	if (err)
		return err;
	pr_info("running as uid %u gid %u with only NET_ADMIN, BPF, NET_RAW, NET_BIND_SERVICE",
		(unsigned int)uid, (unsigned int)gid);
	return 0;
}

/* Maps and the hand-over of counts to the metrics thread. */
static int observe_open(const struct args *args, struct edge_config *ec, struct daemon_maps *maps,
			unsigned int nworkers)
{
	const char *pin_root = xdp_loader_pin_root(args->pin_root);
	uint16_t port = ntohs(ec->listen.sa.sa_family == AF_INET6 ? ec->listen.in6.sin6_port
								  : ec->listen.in.sin_port);
	int err;

	if (args->no_maps) {
		xdp_maps_init(&maps->m); /* closed: daemon_maps_close() leaves them be */
		maps->link = -1;
		pr_info("--no-maps: no conns map, no latency histograms");
	} else {
		err = daemon_maps_open(maps, pin_root, args->iface, port);
		if (err)
			return err;
		/* holding xsks is how the beamd that uses AF_XDP on an interface
		 * is known (pktio_mux): one without AF_XDP lets it go */
		if (!ec->xdp_ifname && maps->m.xsks >= 0) {
			close(maps->m.xsks);
			maps->m.xsks = -1;
		}
		ec->maps = maps;
	}
	return edge_stats_pub_new(&ec->pub, ec->maps ? maps->latency : NULL, pin_root, nworkers);
}

/* Give up root, then serve /metrics: capabilities belong to threads, and the
 * metrics thread must start with the reduced set. */
static int observe_serve(const struct args *args, struct edge_config *ec,
			 const struct daemon_maps *maps, struct metrics_server **ms)
{
	int err;

	err = drop_privileges(args, maps, ec->pub);
	if (err)
		return err;
	if (!args->metrics)
		return 0;
	return metrics_server_new(ms, args->metrics, edge_stats_collect, health_cb, ec->pub);
}

struct link_watch {
	struct daemon_maps *maps;
	const char *pin_root;
};

/* Each second: is beam's program still there with the maps beamd holds? */
static void link_watch_cb(evutil_socket_t fd, short what, void *arg)
{
	struct link_watch *lw = arg;

	(void)fd;
	(void)what;
	daemon_maps_check_link(lw->maps, lw->pin_root);
}

static unsigned int workers_default(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > EDGE_HUB_WORKERS_MAX ? EDGE_HUB_WORKERS_MAX : (unsigned int)n;
}

struct worker {
	struct event_base *base;
	struct edge *edge;
	pthread_t thread;
	bool running;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	return NULL;
}

/*
 * Are the ports free of other processes? Asked before the workers build
 * their SO_REUSEPORT groups, which would let another beamd's sockets in
 * silently; fails with the messages a single worker's bind gives.
 */
static bool port_free(const struct pktio_addr *a, int type, const char *what)
{
	char buf[NETADDR_STR_MAX];
	int err = reuseport_probe(a, type);

	if (err)
		pr_err("failed to listen for %s on %s: %s", what, netaddr_str(a, buf, sizeof(buf)),
		       strerror(-err));
	return !err;
}

static bool ports_free(const struct edge_config *ec)
{
	return port_free(&ec->listen, SOCK_DGRAM, "QUIC") &&
	       (!ec->http_listen.len || port_free(&ec->http_listen, SOCK_STREAM, "public http"));
}

/* Worker @i's edge; workers after the first bind the port the first one got. */
static int worker_start(struct worker *ws, unsigned int i, const struct edge_config *ec,
			struct edge_hub *hub, unsigned int n)
{
	struct edge_config c = *ec;
	int err;

	c.worker_id = (uint8_t)i;
	c.hub = hub;
	c.reuseport = n > 1;
	if (i) {
		edge_local(ws[0].edge, &c.listen);
		if (c.http_listen.len)
			edge_http_local(ws[0].edge, &c.http_listen);
	}
	ws[i].base = runloop_base_new();
	if (!ws[i].base)
		return -ENOMEM;
	err = edge_new(&ws[i].edge, ws[i].base, &c);
	if (err) {
		event_base_free(ws[i].base);
		ws[i].base = NULL;
	}
	return err;
}

/* Start the threads with SIGINT and SIGTERM blocked: the main thread takes them. */
static int workers_run(struct worker *ws, unsigned int n)
{
	sigset_t block, old;
	unsigned int i;
	int err = 0;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (i = 0; i < n && !err; i++) {
		err = -pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]);
		if (err)
			pr_err("failed to start worker thread %u: %s", i, strerror(-err));
		else
			ws[i].running = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

static void workers_stop(struct worker *ws, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (ws[i].running)
			event_base_loopbreak(ws[i].base);
	for (i = 0; i < n; i++) {
		if (ws[i].running)
			pthread_join(ws[i].thread, NULL);
		ws[i].running = false;
	}
}

static void workers_free(struct worker *ws, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		edge_free(ws[i].edge);
		if (ws[i].base)
			event_base_free(ws[i].base);
	}
	free(ws);
}

/* Steer datagrams to the worker named in their connection ID. */
static void workers_steer(struct worker *ws, unsigned int n, struct reuseport **rp)
{
	int fds[EDGE_HUB_WORKERS_MAX], err;
	const char *why = NULL;
	unsigned int i;

	if (n < 2)
		return;
	for (i = 0; i < n; i++)
		fds[i] = edge_udp_fd(ws[i].edge);
	err = reuseport_attach(rp, fds, n, &why);
	if (err)
		pr_warn("no connection ID steering (%s: %s): kernel's address hash picks workers",
			why, strerror(-err));
}

struct reload {
	const char *path;
	struct tokens *tokens; /* the table the workers read */
};

/* Quoted in docs/operations.md and tests/integration/test_tunnel.sh. */
static const char reload_failed_fmt[] =
	"SIGHUP: failed to reload tokens file '%s': keeping the %zu token%s loaded before";

/* SIGHUP: the tokens file again, whole or not at all. */
static void reload_cb(evutil_socket_t sig, short what, void *arg)
{
	struct reload *r = arg;
	struct tokens *t;
	size_t n;

	(void)sig;
	(void)what;
	if (tokens_load(r->path, &t)) {
		n = tokens_count(r->tokens);
		pr_err(reload_failed_fmt, r->path, n, n == 1 ? "" : "s");
		return;
	}
	n = tokens_count(t);
	if (!n)
		pr_warn("tokens file '%s' has no tokens: every new agent will be refused", r->path);
	tokens_replace(r->tokens, t);
	pr_info("SIGHUP: tokens file '%s' reloaded: %zu token%s; removed tokens' agents cut off",
		r->path, n, n == 1 ? "" : "s");
}

static int run(const struct args *args, struct edge_config *ec)
{
	struct reload rl = {.path = args->tokens, .tokens = ec->tokens};
	struct event *hup = NULL;
	unsigned int i, n = args->workers ? args->workers : workers_default();
	struct metrics_server *ms = NULL;
	struct event *sigs[2] = {NULL, NULL};
	struct link_watch lw = {.pin_root = xdp_loader_pin_root(args->pin_root)};
	struct timeval second = {1, 0};
	struct event *watch = NULL;
	struct reuseport *rp = NULL;
	struct daemon_maps maps = {.link = -1};
	struct edge_hub *hub = NULL;
	struct worker *ws = NULL;
	struct event_base *base;
	struct args a = *args;
	int err;

	/* before XDP and maps are touched: a beamd already there keeps them */
	if (!ports_free(ec))
		return 1;
	/* --xdp without --workers: one worker per RX queue (each owns one AF_XDP
	 * socket), at most one per CPU */
	if (ec->xdp_ifname && !args->workers) {
		int q = pktio_xdp_queues(ec->xdp_ifname);

		if (q > 0 && (unsigned int)q < n) {
			pr_info("--xdp: %d worker%s, one per RX queue of '%s'", q,
				q == 1 ? "" : "s", ec->xdp_ifname);
			n = (unsigned int)q;
		}
	}
	/* --xdp: beam's program goes in first, so the maps used are its maps. */
	if (ec->xdp_ifname) {
		struct pktio_xdp_cfg xc = {
			.ifname = ec->xdp_ifname,
			.pin_root = args->pin_root,
			.workers = n,
			.port = ntohs(ec->listen.sa.sa_family == AF_INET6 ? ec->listen.in6.sin6_port
									  : ec->listen.in.sin_port),
		};

		if (pktio_mux_xdp_prepare(&xc))
			ec->xdp_ifname = NULL; /* said why once; the socket path it is */
		else if (!a.iface)
			a.iface = ec->xdp_ifname;
	}
	err = observe_open(&a, ec, &maps, n);
	if (err)
		goto err_observe;
	err = edge_hub_new(&hub, n);
	ws = calloc(n, sizeof(*ws));
	if (err || !ws) {
		pr_err("failed to set up %u workers: out of memory", n);
		goto err_observe;
	}
	for (i = 0; i < n; i++) {
		err = worker_start(ws, i, ec, hub, n);
		if (err)
			goto err_workers;
	}
	workers_steer(ws, n, &rp);
	/* the workers opened their sockets and pins as root: now the drop */
	err = observe_serve(&a, ec, &maps, &ms);
	if (err)
		goto err_workers;
	base = runloop_base_new();
	if (!base)
		goto err_workers;
	if (runloop_stop_on_signals(base, sigs)) {
		event_base_free(base);
		goto err_workers;
	}
	hup = evsignal_new(base, SIGHUP, reload_cb, &rl);
	if (!hup || evsignal_add(hup, NULL)) {
		pr_err("failed to watch for SIGHUP: out of memory");
		if (hup)
			event_free(hup);
		runloop_signals_free(sigs);
		event_base_free(base);
		goto err_workers;
	}
	lw.maps = &maps;
	if (maps.link >= 0) {
		watch = event_new(base, -1, EV_PERSIST, link_watch_cb, &lw);
		if (watch)
			event_add(watch, &second);
	}
	if (!workers_run(ws, n)) {
		struct pktio_addr la;
		char buf[NETADDR_STR_MAX];

		edge_local(ws[0].edge, &la);
		pr_info("listening for agents on udp %s with %u worker%s",
			netaddr_str(&la, buf, sizeof(buf)), n, n == 1 ? "" : "s");
		event_base_dispatch(base);
	}
	workers_stop(ws, n);
	event_free(hup);
	if (watch)
		event_free(watch);
	metrics_server_free(ms);
	workers_free(ws, n);
	reuseport_free(rp);
	edge_hub_free(hub);
	edge_stats_pub_free(ec->pub);
	daemon_maps_close(&maps);
	runloop_signals_free(sigs);
	event_base_free(base);
	return 0;

err_workers:
	workers_stop(ws, n);
	metrics_server_free(ms);
	ms = NULL;
	workers_free(ws, n);
	reuseport_free(rp);
err_observe:
	metrics_server_free(ms);
	edge_hub_free(hub);
	edge_stats_pub_free(ec->pub);
	daemon_maps_close(&maps);
	return 1;
}

_Static_assert(TLS_RESET_SECRET_LEN == QUIC_RESET_SECRET_LEN, "one reset secret size");

int main(int argc, char **argv)
{
	uint8_t reset_secret[TLS_RESET_SECRET_LEN];
	struct edge_config ec = {0};
	char fp[TLS_FP_STR_LEN];
	struct tokens *tokens;
	struct args args = {0};
	WOLFSSL_CTX *tls;
	int rc;

	log_set_ident("beamd");
	rc = parse_args(argc, argv, &args);
	if (rc)
		return rc;
	log_set_verbosity(args.verbose);
	log_hook_libraries();
	/* a configuration error, like a bad --listen: found before anything starts */
	if (args.xdp_ifname && (!*args.xdp_ifname || !if_nametoindex(args.xdp_ifname))) {
		pr_err("invalid --xdp '%s': no such interface", args.xdp_ifname);
		return 2;
	}
	/* before any loop exists: loops of several threads wake each other */
	if (evthread_use_pthreads()) {
		pr_err("failed to turn on libevent's thread support");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	runloop_raise_nofile();
	wolfSSL_Init();

	if (resolve_listen(args.listen, &ec.listen))
		return 2;
	if (public_bind_resolve(args.public_bind, &ec.public_bind))
		return 2;
	if (args.http_listen && resolve_listen(args.http_listen, &ec.http_listen))
		return 2;
	if (tokens_load(args.tokens, &tokens))
		return 2;
	if (!tokens_count(tokens))
		pr_warn("tokens file '%s' has no tokens: every agent will be refused", args.tokens);
	if (tls_server_ctx_new(&tls, args.cert, args.key, fp)) {
		tokens_free(tokens);
		return 2;
	}
	pr_info("certificate fingerprint %s", fp);
	if (tls_reset_secret(args.key, reset_secret)) {
		tls_ctx_free(tls);
		tokens_free(tokens);
		return 2;
	}
	ec.reset_secret = reset_secret;
	ec.tokens = tokens;
	ec.tls = tls;
	ec.grace_s = args.grace_s;
	ec.idle_timeout_s = args.idle_s;
	ec.unresponsive_s = args.unresponsive_s;
	ec.retry = args.retry;
	ec.xdp_ifname = args.xdp_ifname;
	ec.pin_root = args.pin_root;
	ec.limits = args.limits;
	ec.retry_above = args.retry_above;
	ec.stateless_rate = args.stateless_rate;
	rc = run(&args, &ec);
	tls_ctx_free(tls);
	tokens_free(tokens);
	wolfSSL_Cleanup();
	return rc;
}
