/* SPDX-License-Identifier: MIT */
/*
 * log.h - the one logging module of beam.
 *
 * Leveled, format-checked messages to stderr. The libraries beam uses
 * (libbpf, libxdp, libevent) print through it one level quieter, so `-v`
 * shows ours and `-vv` shows theirs too.
 */
#ifndef BEAM_LOG_H
#define BEAM_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
	LOG_LVL_TRACE,
	LOG_LVL__MAX,
};

/* Set the threshold: messages above @level are not printed. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Raise the level by @verbosity steps from INFO (one per -v). */
void log_set_verbosity(int verbosity);

/* Prefix every line with @name (the program name); @name must outlive the log. */
void log_set_ident(const char *name);

/* Route libbpf, libxdp and libevent messages through this module. */
void log_hook_libraries(void);

/*
 * A probe whose failure the caller explains itself: between log_quiet_begin()
 * and log_quiet_end() on this thread, our errors and warnings and every
 * library message are printed as debug lines, shown only with -v; our info
 * lines (what succeeded) stay. Calls nest.
 */
void log_quiet_begin(void);
void log_quiet_end(void);

bool log_enabled(enum log_level level);
void log_printf(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Token bucket for per-packet and per-connection messages: true when a message
 * may be printed now. At most @burst messages, refilled at one per second.
 * @state is the caller's (usually a static per call site).
 */
struct log_ratelimit {
	unsigned long long last_ns;
	unsigned int tokens;
	unsigned int missed;
};
bool log_ratelimit_ok(struct log_ratelimit *rl, unsigned int burst);

#define pr_err(...)   log_printf(LOG_LVL_ERR, __VA_ARGS__)
#define pr_warn(...)  log_printf(LOG_LVL_WARN, __VA_ARGS__)
#define pr_info(...)  log_printf(LOG_LVL_INFO, __VA_ARGS__)
#define pr_debug(...) log_printf(LOG_LVL_DEBUG, __VA_ARGS__)

/* Rate-limited variants: at most 10 lines a second per call site. */
#define pr_ratelimited(level, ...)                                                   \
	do {                                                                         \
		static __thread struct log_ratelimit __rl; /* per thread: no race */ \
		if (log_enabled(level) && log_ratelimit_ok(&__rl, 10))               \
			log_printf(level, __VA_ARGS__);                              \
	} while (0)
#define pr_warn_rl(...)	 pr_ratelimited(LOG_LVL_WARN, __VA_ARGS__)
#define pr_info_rl(...)	 pr_ratelimited(LOG_LVL_INFO, __VA_ARGS__)
#define pr_debug_rl(...) pr_ratelimited(LOG_LVL_DEBUG, __VA_ARGS__)

#endif /* BEAM_LOG_H */
