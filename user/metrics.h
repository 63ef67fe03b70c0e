/* SPDX-License-Identifier: MIT */
/*
 * metrics.h - beamd's HTTP endpoint: GET /metrics (Prometheus text format
 * 0.0.4) and GET /healthz, served by libevent's HTTP server on a thread and
 * event loop of its own, so a slow or stuck scraper never blocks a worker.
 */
#ifndef BEAM_METRICS_H
#define BEAM_METRICS_H

#include <stdbool.h>

#include "prom.h"

/*
 * Called on the metrics thread for each scrape: append every family the
 * daemon has to @out. It must only read state that workers publish with
 * atomics or through BPF maps.
 */
typedef void (*metrics_collect_cb)(struct prom_buf *out, void *ctx);

/* Called for /healthz: true while the daemon serves; @why gets a short reason otherwise. */
typedef bool (*metrics_health_cb)(void *ctx, const char **why);

struct metrics_server;

/*
 * Start serving on @listen ("ADDR:PORT", "[V6ADDR]:PORT"). @collect and
 * @health may be NULL. Returns 0 and sets *@out, or -EINVAL for a bad
 * address, -errno when the socket cannot be bound or the thread not started.
 */
int metrics_server_new(struct metrics_server **out, const char *listen, metrics_collect_cb collect,
		       metrics_health_cb health, void *ctx);

/* Whether @listen is an address metrics_server_new takes. Returns 0, or
 * -EINVAL after a message. */
int metrics_listen_check(const char *listen);

/* The port actually bound (useful with port 0). */
int metrics_server_port(const struct metrics_server *s);

/* Stop the thread and free everything; accepts NULL. */
void metrics_server_free(struct metrics_server *s);

/* Append the process_* families (RSS, CPU seconds, open fds, start time). */
void metrics_write_process(struct prom_buf *out);

/*
 * Render a whole scrape, as the server does: @collect's families, then the
 * process ones. For tests and `beamd --dump-metrics`-style uses.
 */
void metrics_render(struct prom_buf *out, metrics_collect_cb collect, void *ctx);

#endif /* BEAM_METRICS_H */
