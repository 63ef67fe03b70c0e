// SPDX-License-Identifier: MIT
/*
 * runloop.c - process and event-loop setup shared by beamd and beam.
 */
#include "runloop.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include <event2/event.h>

#include "log.h"

void runloop_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		pr_warn("failed to raise the open file limit to %llu: %s",
			(unsigned long long)rl.rlim_max, strerror(errno));
}

struct event_base *runloop_base_new(void)
{
	struct event_config *evcfg = event_config_new();
	struct event_base *base = NULL;

	if (evcfg) {
		/* microsecond timers: QUIC pacing and loss timers are sub-millisecond */
		event_config_set_flag(evcfg, EVENT_BASE_FLAG_PRECISE_TIMER);
		/* A socket that never runs dry re-activates its read event forever;
		 * timers (QUIC loss and ack timers, the stats tick) must still run. */
		event_config_set_max_dispatch_interval(evcfg, NULL, 16, 0);
		base = event_base_new_with_config(evcfg);
		event_config_free(evcfg);
	}
	if (!base)
		pr_err("failed to create the event loop");
	return base;
}

static void stop_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	pr_info("signal %d: shutting down", (int)sig);
	event_base_loopbreak(arg);
}

int runloop_stop_on_signals(struct event_base *base, struct event *sigs[2])
{
	sigs[0] = evsignal_new(base, SIGINT, stop_cb, base);
	sigs[1] = evsignal_new(base, SIGTERM, stop_cb, base);
	if (!sigs[0] || !sigs[1] || evsignal_add(sigs[0], NULL) || evsignal_add(sigs[1], NULL)) {
		runloop_signals_free(sigs);
		return -ENOMEM;
	}
	return 0;
}

void runloop_signals_free(struct event *sigs[2])
{
	int i;

	for (i = 0; i < 2; i++) {
		if (sigs[i])
			event_free(sigs[i]);
		sigs[i] = NULL;
	}
}
