// SPDX-License-Identifier: MIT
/*
 * beam.c - the agent: `beam tcp|http|udp [HOST:]PORT --edge HOST:PORT ...`
 * exposes a local TCP, HTTP or UDP service through the edge.
 */
#include "agent.h"
#include "http_head.h"
#include "log.h"
#include "runloop.h"
#include "netaddr.h"
#include "proto.h"
#include "proxy_proto.h"
#include "tls.h"
#include "tokens.h"
#include "version.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: beam tcp [HOST:]PORT --edge HOST:PORT\n"
		"                (--pin SHA256:...|--ca FILE|--insecure) [options]\n"
		"       beam http [HOST:]PORT --hostname NAME --edge HOST:PORT ... [options]\n"
		"       beam udp [HOST:]PORT --edge HOST:PORT ... [options]\n"
		"\n"
		"  -e, --edge HOST:PORT     the edge (beamd) to dial\n"
		"      --pin SHA256:HEX     trust the edge whose certificate has this fingerprint\n"
		"      --ca FILE            trust edges with a certificate from this CA (PEM)\n"
		"      --insecure           trust any edge (testing only; warns)\n"
		"  -r, --remote-port N      tcp, udp: ask for this public port\n"
		"                           (default: edge picks)\n"
		"  -H, --hostname NAME      http: the host name public requests are routed by\n"
		"      --token-file FILE    read the token from FILE (default: $BEAM_TOKEN)\n"
		"      --name NAME          tunnel name (default KIND:HOST:PORT;\n"
		"                           http: the host name)\n"
		"      --session-file FILE  keep the TLS session here to resume (0-RTT)\n"
		"                           after a restart\n"
		"      --idle-timeout S     QUIC idle timeout (default 30)\n"
		"      --unresponsive-timeout S  reconnect when the edge answers nothing\n"
		"                           this long while data waits (default 5;\n"
		"                           0: only the idle timeout)\n"
		"      --proxy-protocol V   tcp, http: PROXY protocol v1 or v2 header to\n"
		"                           the service\n"
		"  -v, --verbose            more output; twice for library messages\n"
		"      --version            print versions and exit\n"
		"  -h, --help               this text\n");
}

enum {
	OPT_PIN = 256,
	OPT_CA,
	OPT_INSECURE,
	OPT_TOKEN_FILE,
	OPT_NAME,
	OPT_IDLE,
	OPT_UNRESPONSIVE,
	OPT_SESSION,
	OPT_PROXY,
	OPT_VERSION
};

static const struct option options[] = {
	{"edge", required_argument, NULL, 'e'},
	{"pin", required_argument, NULL, OPT_PIN},
	{"ca", required_argument, NULL, OPT_CA},
	{"insecure", no_argument, NULL, OPT_INSECURE},
	{"remote-port", required_argument, NULL, 'r'},
	{"hostname", required_argument, NULL, 'H'},
	{"token-file", required_argument, NULL, OPT_TOKEN_FILE},
	{"name", required_argument, NULL, OPT_NAME},
	{"session-file", required_argument, NULL, OPT_SESSION},
	{"idle-timeout", required_argument, NULL, OPT_IDLE},
	{"unresponsive-timeout", required_argument, NULL, OPT_UNRESPONSIVE},
	{"proxy-protocol", required_argument, NULL, OPT_PROXY},
	{"verbose", no_argument, NULL, 'v'},
	{"version", no_argument, NULL, OPT_VERSION},
	{"help", no_argument, NULL, 'h'},
	{0},
};

struct args {
	const char *edge;
	const char *pin;
	const char *ca;
	const char *token_file;
	const char *name;
	const char *session_file;
	const char *target;
	const char *hostname;
	enum proto_kind kind;
	enum proxy_proto_version proxy;
	unsigned long remote_port;
	unsigned long idle_s;
	unsigned long unresponsive_s;
	int insecure;
	int verbose;
};

static int parse_kind(const char *s, enum proto_kind *out)
{
	static const char *const names[PROTO_KIND__MAX] = {
		[PROTO_KIND_TCP] = "tcp",
		[PROTO_KIND_HTTP] = "http",
		[PROTO_KIND_UDP] = "udp",
	};
	int k;

	for (k = 0; k < PROTO_KIND__MAX; k++) {
		if (!strcmp(s, names[k])) {
			*out = (enum proto_kind)k;
			return 0;
		}
	}
	return -EINVAL;
}

/* What getopt refused, said in words (opterr is off): the last argument it looked at. */
static void bad_option(int opt, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";

	if (opt == ':')
		pr_err("option '%s' needs a value", arg);
	else if (optopt >= '0' && optopt <= '9')
		pr_err("unknown option '%s': a port is a number from 1 to 65535, without '-'", arg);
	else if (optopt)
		pr_err("unknown option '-%c'", optopt);
	else
		pr_err("unknown option '%s'", arg);
	fprintf(stderr, "try 'beam --help'\n");
}

static int parse_args(int argc, char **argv, struct args *a)
{
	char *end;
	int opt;

	a->idle_s = 30;
	a->unresponsive_s = 5;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":e:r:H:vh", options, NULL)) != -1) {
		switch (opt) {
		case 'e':
			a->edge = optarg;
			break;
		case OPT_PIN:
			a->pin = optarg;
			break;
		case OPT_CA:
			a->ca = optarg;
			break;
		case OPT_INSECURE:
			a->insecure = 1;
			break;
		case 'r':
			a->remote_port = strtoul(optarg, &end, 10);
			if (*end || !*optarg || a->remote_port > 65535) {
				pr_err("invalid --remote-port '%s': want 1..65535", optarg);
				return 2;
			}
			break;
		case 'H':
			a->hostname = optarg;
			break;
		case OPT_TOKEN_FILE:
			a->token_file = optarg;
			break;
		case OPT_NAME:
			a->name = optarg;
			break;
		case OPT_SESSION:
			a->session_file = optarg;
			break;
		case OPT_IDLE:
			a->idle_s = strtoul(optarg, &end, 10);
			if (*end || !*optarg || a->idle_s < 1 || a->idle_s > 3600) {
				pr_err("invalid --idle-timeout '%s': want seconds, 1..3600",
				       optarg);
				return 2;
			}
			break;
		case OPT_UNRESPONSIVE:
			a->unresponsive_s = strtoul(optarg, &end, 10);
			if (*end || !*optarg || a->unresponsive_s > 3600) {
				pr_err("invalid --unresponsive-timeout '%s': want seconds, 0..3600",
				       optarg);
				return 2;
			}
			break;
		case OPT_PROXY:
			a->proxy = proxy_proto_parse(optarg);
			if (a->proxy == PROXY_PROTO_NONE) {
				pr_err("invalid --proxy-protocol '%s': want v1 or v2", optarg);
				return 2;
			}
			break;
		case 'v':
			a->verbose++;
			break;
		case OPT_VERSION:
			version_print(stdout, "beam");
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			bad_option(opt, argv);
			return 2;
		}
	}
	if (argc - optind < 1) {
		pr_err("missing the tunnel kind and the service: beam tcp|http|udp [HOST:]PORT");
		fprintf(stderr, "try 'beam --help'\n");
		return 2;
	}
	if (parse_kind(argv[optind], &a->kind)) {
		pr_err("unknown tunnel kind '%s': want tcp, http or udp", argv[optind]);
		return 2;
	}
	if (argc - optind < 2) {
		pr_err("missing the local service: beam %s [HOST:]PORT ...", argv[optind]);
		return 2;
	}
	if (argc - optind > 2) {
		pr_err("unexpected argument '%s' after the local service '%s'", argv[optind + 2],
		       argv[optind + 1]);
		return 2;
	}
	a->target = argv[optind + 1];
	if ((a->kind == PROTO_KIND_HTTP) != !!a->hostname) {
		pr_err(a->hostname ? "--hostname is for http tunnels only"
				   : "an http tunnel needs --hostname NAME");
		return 2;
	}
	if (a->kind == PROTO_KIND_HTTP && a->remote_port) {
		pr_err("--remote-port is for tcp and udp: http tunnels share the edge's http port");
		return 2;
	}
	if (a->kind == PROTO_KIND_UDP && a->proxy) {
		pr_err("--proxy-protocol is for tcp and http tunnels: datagrams carry no header");
		return 2;
	}
	if (a->kind == PROTO_KIND_HTTP && a->name) {
		pr_err("--name is the host name for http tunnels: use --hostname");
		return 2;
	}
	if (!a->edge) {
		pr_err("--edge HOST:PORT is required");
		return 2;
	}
	if (!!a->pin + !!a->ca + a->insecure != 1) {
		pr_err("choose exactly one of --pin SHA256:..., --ca FILE or --insecure");
		return 2;
	}
	return 0;
}

/* A session file whose directory is missing or closed to us is never written:
 * say so now rather than resume nothing in silence. */
static void session_dir_check(const char *path)
{
	char dir[PATH_MAX];
	const char *slash;
	size_t len;

	slash = strrchr(path, '/');
	if (!slash) {
		snprintf(dir, sizeof(dir), ".");
	} else {
		len = slash == path ? 1 : (size_t)(slash - path);
		if (len >= sizeof(dir))
			return;
		memcpy(dir, path, len);
		dir[len] = 0;
	}
	if (access(dir, W_OK | X_OK))
		pr_warn("session file '%s': directory '%s': %s: no session will be kept for 0-RTT",
			path, dir, strerror(errno));
}

static int fill_config(const struct args *a, struct agent_config *c, char *edge_host, char *token,
		       size_t token_cap)
{
	char host[NETADDR_HOST_MAX];
	uint16_t port;
	char normal[PROTO_MAX_NAME + 1];
	const char *env, *why;
	int n;

	/* the edge's own rules (bad-name), before dialling */
	if (a->hostname && strlen(a->hostname) > PROTO_MAX_NAME) {
		pr_err("--hostname is %zu bytes long: at most %d", strlen(a->hostname),
		       PROTO_MAX_NAME);
		return -EINVAL;
	}
	if (a->hostname) {
		why = http_hostname_check(a->hostname, strlen(a->hostname), normal, sizeof(normal));
		if (why) {
			pr_err("invalid --hostname '%s': %s", a->hostname, why);
			return -EINVAL;
		}
	}
	if (netaddr_split(a->edge, NULL, edge_host, NETADDR_HOST_MAX, &c->edge_port) ||
	    !c->edge_port) {
		pr_err("invalid --edge '%s': want HOST:PORT", a->edge);
		return -EINVAL;
	}
	c->edge_host = edge_host;
	if (netaddr_resolve(edge_host, c->edge_port, AF_UNSPEC, &c->edge))
		return -ENOENT;
	if (netaddr_split(a->target, "127.0.0.1", host, sizeof(host), &port) || !port) {
		pr_err("invalid local service '%s': want [HOST:]PORT", a->target);
		return -EINVAL;
	}
	if (netaddr_resolve(host, port, AF_UNSPEC, &c->target))
		return -ENOENT;
	snprintf(c->target_str, sizeof(c->target_str), strchr(host, ':') ? "[%s]:%u" : "%s:%u",
		 host, port);
	if (a->name && strlen(a->name) > PROTO_MAX_NAME) {
		pr_err("--name is %zu bytes long: at most %d", strlen(a->name), PROTO_MAX_NAME);
		return -EINVAL;
	}
	if (a->name && !proto_name_valid((const uint8_t *)a->name, strlen(a->name))) {
		pr_err("invalid --name: use printable ASCII without quotes (\" ') or backslash");
		return -EINVAL;
	}
	if (!a->name && !a->hostname && strlen(c->target_str) + 4 > PROTO_MAX_NAME) {
		pr_err("the default tunnel name '%s:%s' is over %d bytes: choose one with --name",
		       a->kind == PROTO_KIND_UDP ? "udp" : "tcp", c->target_str, PROTO_MAX_NAME);
		return -EINVAL;
	}

	if (a->token_file) {
		n = tokens_read_secret(a->token_file, token, token_cap);
		if (n < 0)
			return n;
	} else {
		env = getenv("BEAM_TOKEN");
		if (!env || !*env || strlen(env) > 256) {
			pr_err("no token: set BEAM_TOKEN or use --token-file FILE");
			return -EINVAL;
		}
		snprintf(token, token_cap, "%s", env);
	}
	c->token = token;
	c->kind = a->kind;
	c->proxy = a->proxy;
	c->name = a->kind == PROTO_KIND_HTTP ? a->hostname : a->name;
	c->session_file = a->session_file;
	if (a->session_file)
		session_dir_check(a->session_file);
	c->remote_port = (uint16_t)a->remote_port;
	c->idle_timeout_s = (unsigned int)a->idle_s;
	c->unresponsive_s = (unsigned int)a->unresponsive_s;
	if (a->pin) {
		c->verify = TLS_VERIFY_PIN;
		if (tls_pin_parse(a->pin, c->pin)) {
			pr_err("invalid --pin '%s': want SHA256: and 64 hex digits", a->pin);
			return -EINVAL;
		}
	} else if (a->ca) {
		c->verify = TLS_VERIFY_CA;
	} else {
		c->verify = TLS_VERIFY_NONE;
		pr_warn("--insecure: the edge's certificate is NOT checked; your token is exposed");
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct tls_client_config tc = {0};
	char edge_host[NETADDR_HOST_MAX], token[260];
	struct agent_config cfg = {0};
	struct event *sigs[2] = {NULL, NULL};
	struct event_base *base;
	struct args args = {0};
	struct agent *agent;
	WOLFSSL_CTX *tls;
	int rc;

	log_set_ident("beam");
	rc = parse_args(argc, argv, &args);
	if (rc)
		return rc;
	log_set_verbosity(args.verbose);
	log_hook_libraries();
	signal(SIGPIPE, SIG_IGN);
	runloop_raise_nofile();
	wolfSSL_Init();
	if (fill_config(&args, &cfg, edge_host, token, sizeof(token)))
		return 2;
	tc.verify = cfg.verify;
	tc.ca_file = args.ca;
	memcpy(tc.pin, cfg.pin, sizeof(tc.pin));
	if (tls_client_ctx_new(&tls, &tc))
		return 2; /* an unreadable --ca is a configuration error */
	cfg.tls = tls;

	base = runloop_base_new();
	if (!base || agent_new(&agent, base, &cfg) || runloop_stop_on_signals(base, sigs))
		return 1;
	event_base_dispatch(base);
	rc = agent_exit_code(agent);
	agent_free(agent);
	runloop_signals_free(sigs);
	event_base_free(base);
	tls_ctx_free(tls);
	explicit_bzero(token, sizeof(token));
	wolfSSL_Cleanup();
	return rc;
}
