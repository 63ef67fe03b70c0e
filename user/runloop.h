/* SPDX-License-Identifier: MIT */
/*
 * runloop.h - the process and event-loop setup beamd and beam share: the
 * open-file limit, a libevent base tuned for QUIC timers, and a clean stop
 * on SIGINT and SIGTERM.
 */
#ifndef BEAM_RUNLOOP_H
#define BEAM_RUNLOOP_H

struct event;
struct event_base;

/* Every tunnelled connection holds a descriptor: lift the soft limit to the
 * hard one (a warning when that fails). */
void runloop_raise_nofile(void);

/*
 * A new event base with microsecond timers that looks at its timers again
 * after every 16 callbacks, so a socket that never runs dry (a flood) cannot
 * starve QUIC's loss and ack timers. NULL (after a message) on failure.
 */
struct event_base *runloop_base_new(void);

/* Break @base's loop on SIGINT or SIGTERM. The two events go in @sigs (free
 * them with runloop_signals_free). Returns 0 or -ENOMEM. */
int runloop_stop_on_signals(struct event_base *base, struct event *sigs[2]);
void runloop_signals_free(struct event *sigs[2]);

#endif /* BEAM_RUNLOOP_H */
