// SPDX-License-Identifier: MIT
/*
 * metrics.c - the /metrics and /healthz endpoint of beamd, on its own thread
 * and libevent loop, plus the process_* families read from /proc.
 */
#include "metrics.h"

#include <dirent.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

#define METRICS_TIMEOUT_S   5
#define METRICS_HEADERS_MAX 8192
#define CONTENT_TYPE	    "text/plain; version=0.0.4; charset=utf-8"

struct metrics_server {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *sock;
	metrics_collect_cb collect;
	metrics_health_cb health;
	void *ctx;
	pthread_t thread;
	bool running;
	int port;
};

static int read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return 0;
}

static unsigned long long boot_time_s(void)
{
	unsigned long long btime = 0;
	char line[256];
	FILE *f;

	f = fopen("/proc/stat", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %llu", &btime) == 1)
			break;
	fclose(f);
	return btime;
}

static long count_open_fds(void)
{
	struct dirent *de;
	long n = 0;
	DIR *d;

	d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the descriptor opendir() itself holds */
}

void metrics_write_process(struct prom_buf *out)
{
	unsigned long long utime = 0, stime = 0, start = 0, pages_rss = 0, pages_vm = 0;
	double tick = (double)sysconf(_SC_CLK_TCK), page = (double)sysconf(_SC_PAGESIZE);
	char stat[1024], statm[256];
	struct rlimit rl;
	const char *p;
	long fds;

	if (!read_file("/proc/self/stat", stat, sizeof(stat)) && (p = strrchr(stat, ')')))
		/* Fields after the command: state(3) ... utime(14) stime(15) ... starttime(22). */
		sscanf(p + 2,
		       "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
		       "%llu %llu %*d %*d %*d %*d %*d %*d %llu",
		       &utime, &stime, &start);
	if (!read_file("/proc/self/statm", statm, sizeof(statm)))
		sscanf(statm, "%llu %llu", &pages_vm, &pages_rss);

	prom_family(out, "process_cpu_seconds_total", PROM_COUNTER,
		    "User and system CPU time spent in seconds.");
	prom_sample_double(out, "process_cpu_seconds_total", NULL, (utime + stime) / tick);
	prom_family(out, "process_resident_memory_bytes", PROM_GAUGE,
		    "Resident memory size in bytes.");
	prom_sample_double(out, "process_resident_memory_bytes", NULL, pages_rss * page);
	prom_family(out, "process_virtual_memory_bytes", PROM_GAUGE,
		    "Virtual memory size in bytes.");
	prom_sample_double(out, "process_virtual_memory_bytes", NULL, pages_vm * page);
	prom_family(out, "process_start_time_seconds", PROM_GAUGE,
		    "Start time of the process since unix epoch in seconds.");
	prom_sample_double(out, "process_start_time_seconds", NULL, boot_time_s() + start / tick);
	fds = count_open_fds();
	if (fds >= 0) {
		prom_family(out, "process_open_fds", PROM_GAUGE,
			    "Number of open file descriptors.");
		prom_sample_u64(out, "process_open_fds", NULL, (uint64_t)fds);
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		prom_family(out, "process_max_fds", PROM_GAUGE,
			    "Maximum number of open file descriptors.");
		prom_sample_u64(out, "process_max_fds", NULL, rl.rlim_cur);
	}
}

void metrics_render(struct prom_buf *out, metrics_collect_cb collect, void *ctx)
{
	if (collect)
		collect(out, ctx);
	metrics_write_process(out);
}

#define PLAIN_TEXT "text/plain; charset=utf-8"

static void send_text(struct evhttp_request *req, int code, const char *reason, const char *ctype,
		      const char *text, size_t len)
{
	struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
	struct evbuffer *body = evbuffer_new();

	if (!body) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evhttp_add_header(headers, "Content-Type", ctype);
	evhttp_add_header(headers, "Cache-Control", "no-store");
	/* libevent would send a HEAD answer's body: give only its length. */
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		char clen[32];

		snprintf(clen, sizeof(clen), "%zu", len);
		evhttp_add_header(headers, "Content-Length", clen);
	} else {
		evbuffer_add(body, text, len);
	}
	evhttp_send_reply(req, code, reason, body);
	evbuffer_free(body);
}

/* Only GET and HEAD exist here; anything else is 405 with an Allow header. */
static bool method_allowed(struct evhttp_request *req)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD)
		return true;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
	send_text(req, 405, "Method Not Allowed", PLAIN_TEXT, "method not allowed\n", 19);
	return false;
}

static void metrics_cb(struct evhttp_request *req, void *arg)
{
	struct metrics_server *s = arg;
	struct prom_buf out;

	if (!method_allowed(req))
		return;
	prom_buf_init(&out);
	metrics_render(&out, s->collect, s->ctx);
	if (out.failed) {
		pr_warn_rl("metrics: out of memory rendering a scrape");
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
	} else {
		send_text(req, 200, "OK", CONTENT_TYPE, out.data ? out.data : "", out.len);
	}
	prom_buf_fini(&out);
}

static void healthz_cb(struct evhttp_request *req, void *arg)
{
	struct metrics_server *s = arg;
	const char *why = "not serving";
	char text[256];
	int n;

	if (!method_allowed(req))
		return;
	if (!s->health || s->health(s->ctx, &why)) {
		send_text(req, 200, "OK", PLAIN_TEXT, "ok\n", 3);
		return;
	}
	n = snprintf(text, sizeof(text), "unhealthy: %s\n", why);
	send_text(req, 503, "Service Unavailable", PLAIN_TEXT, text,
		  n < (int)sizeof(text) ? (size_t)n : sizeof(text) - 1);
}

static void notfound_cb(struct evhttp_request *req, void *arg)
{
	(void)arg;
	send_text(req, 404, "Not Found", PLAIN_TEXT, "not found: try /metrics or /healthz\n", 36);
}

static void *metrics_thread(void *arg)
{
	struct metrics_server *s = arg;

	event_base_dispatch(s->base);
	return NULL;
}

/* Split "ADDR:PORT" or "[ADDR]:PORT" into @host and @port. */
static int split_listen(const char *listen, char *host, size_t len, unsigned short *port)
{
	const char *colon, *start = listen, *end;
	unsigned long p;
	char *tail;

	if (*listen == '[') {
		start = listen + 1;
		end = strchr(start, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		colon = end + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			return -EINVAL;
		end = colon;
	}
	if ((size_t)(end - start) >= len || end == start)
		return -EINVAL;
	memcpy(host, start, end - start);
	host[end - start] = '\0';
	errno = 0;
	p = strtoul(colon + 1, &tail, 10);
	if (errno || *tail || colon[1] == '\0' || p > 65535)
		return -EINVAL;
	*port = (unsigned short)p;
	return 0;
}

static int bound_port(struct evhttp_bound_socket *sock)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = evhttp_bound_socket_get_fd(sock);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return -errno;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int metrics_listen_check(const char *listen)
{
	unsigned short port;
	char host[256];

	if (split_listen(listen, host, sizeof(host), &port)) {
		pr_err("invalid metrics address '%s': expected ADDR:PORT or [ADDR]:PORT", listen);
		return -EINVAL;
	}
	return 0;
}

int metrics_server_new(struct metrics_server **out, const char *listen, metrics_collect_cb collect,
		       metrics_health_cb health, void *ctx)
{
	struct metrics_server *s;
	unsigned short port;
	char host[256];
	int err;

	err = split_listen(listen, host, sizeof(host), &port);
	if (err) {
		pr_err("invalid metrics address '%s': expected ADDR:PORT or [ADDR]:PORT", listen);
		return err;
	}

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->collect = collect;
	s->health = health;
	s->ctx = ctx;

	/* loopexit from another thread needs libevent's locking. */
	evthread_use_pthreads();
	s->base = event_base_new();
	if (!s->base) {
		err = -ENOMEM;
		goto err_free;
	}
	s->http = evhttp_new(s->base);
	if (!s->http) {
		err = -ENOMEM;
		goto err_base;
	}
	evhttp_set_timeout(s->http, METRICS_TIMEOUT_S);
	evhttp_set_max_headers_size(s->http, METRICS_HEADERS_MAX);
	evhttp_set_max_body_size(s->http, 4096);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
						    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
						    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
						    EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_cb(s->http, "/metrics", metrics_cb, s);
	evhttp_set_cb(s->http, "/healthz", healthz_cb, s);
	evhttp_set_gencb(s->http, notfound_cb, s);

	s->sock = evhttp_bind_socket_with_handle(s->http, host, port);
	if (!s->sock) {
		err = -errno ? -errno : -EADDRNOTAVAIL;
		pr_err("failed to listen for metrics on '%s': %s", listen, strerror(-err));
		goto err_http;
	}
	s->port = bound_port(s->sock);

	err = -pthread_create(&s->thread, NULL, metrics_thread, s);
	if (err) {
		pr_err("failed to start the metrics thread: %s", strerror(-err));
		goto err_http;
	}
	s->running = true;
	if (strchr(host, ':'))
		pr_info("metrics on http://[%s]:%d/metrics", host, s->port);
	else
		pr_info("metrics on http://%s:%d/metrics", host, s->port);
	*out = s;
	return 0;

err_http:
	evhttp_free(s->http);
err_base:
	event_base_free(s->base);
err_free:
	free(s);
	return err;
}

int metrics_server_port(const struct metrics_server *s)
{
	return s->port;
}

void metrics_server_free(struct metrics_server *s)
{
	if (!s)
		return;
	if (s->running) {
		event_base_loopexit(s->base, NULL);
		pthread_join(s->thread, NULL);
	}
	evhttp_free(s->http);
	event_base_free(s->base);
	free(s);
}
