// SPDX-License-Identifier: MIT
/*
 * log.c - leveled logging to stderr, shared by the three programs.
 *
 * Writes one whole line per call so lines from worker threads do not mix.
 */
#include "log.h"

#include <bpf/libbpf.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <xdp/libxdp.h>

static enum log_level log_level = LOG_LVL_INFO;
static const char *log_ident = "beam";
static __thread unsigned int log_quiet; /* log_quiet_begin() depth on this thread */

static const char *const level_names[LOG_LVL__MAX] = {
	[LOG_LVL_ERR] = "error",   [LOG_LVL_WARN] = "warning", [LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug", [LOG_LVL_TRACE] = "trace",
};

void log_set_level(enum log_level level)
{
	log_level = level < LOG_LVL__MAX ? level : LOG_LVL_TRACE;
}

enum log_level log_get_level(void)
{
	return log_level;
}

void log_set_verbosity(int verbosity)
{
	log_set_level(LOG_LVL_INFO + (verbosity > 0 ? verbosity : 0));
}

void log_set_ident(const char *name)
{
	const char *slash = strrchr(name, '/');

	log_ident = slash ? slash + 1 : name;
}

void log_quiet_begin(void)
{
	log_quiet++;
}

void log_quiet_end(void)
{
	if (log_quiet)
		log_quiet--;
}

/* @level as printed now: in a quiet probe our errors and warnings, and
 * everything the libraries say, become debug lines. Our info lines stay. */
static enum log_level effective(enum log_level level, bool library)
{
	if (log_quiet && level < (library ? LOG_LVL_DEBUG : LOG_LVL_INFO))
		return LOG_LVL_DEBUG;
	return level;
}

bool log_enabled(enum log_level level)
{
	return level <= log_level;
}

static void log_vprintf(enum log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	n = snprintf(line, sizeof(line), "%s: %s: ", log_ident, level_names[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);

	/* Libraries end their lines with a newline, we do not: print exactly one. */
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	fprintf(stderr, "%s\n", line);
}

void log_printf(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	level = effective(level, false);
	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	log_vprintf(level, fmt, ap);
	va_end(ap);
}

/* Library messages are one level quieter than ours. */
static enum log_level quieter(enum log_level level)
{
	return level + 1 < LOG_LVL__MAX ? level + 1 : LOG_LVL_TRACE;
}

/* A library message at @level (its WARN and INFO values given), one level quieter. */
static int library_vprintf(int level, int warn, int info, const char *fmt, va_list ap)
{
	enum log_level ours = level == warn   ? LOG_LVL_WARN
			      : level == info ? LOG_LVL_INFO
					      : LOG_LVL_DEBUG;

	ours = effective(quieter(ours), true);
	if (log_enabled(ours))
		log_vprintf(ours, fmt, ap);
	return 0;
}

static int libbpf_print_cb(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return library_vprintf(level, LIBBPF_WARN, LIBBPF_INFO, fmt, ap);
}

static int libxdp_print_cb(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	return library_vprintf(level, LIBXDP_WARN, LIBXDP_INFO, fmt, ap);
}

static void libevent_log_cb(int severity, const char *msg)
{
	enum log_level ours = severity >= EVENT_LOG_ERR	   ? LOG_LVL_ERR
			      : severity == EVENT_LOG_WARN ? LOG_LVL_WARN
			      : severity == EVENT_LOG_MSG  ? LOG_LVL_INFO
							   : LOG_LVL_DEBUG;

	ours = effective(quieter(ours), true);
	if (log_enabled(ours))
		log_printf(ours, "libevent: %s", msg);
}

void log_hook_libraries(void)
{
	libbpf_set_print(libbpf_print_cb);
	libxdp_set_print(libxdp_print_cb);
	event_set_log_callback(libevent_log_cb);
}

bool log_ratelimit_ok(struct log_ratelimit *rl, unsigned int burst)
{
	unsigned long long now, refill;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	refill = (now - rl->last_ns) / 1000000000ull * burst;
	if (refill) {
		rl->tokens = refill >= burst ? burst : rl->tokens + refill;
		if (rl->tokens > burst)
			rl->tokens = burst;
		rl->last_ns = now;
	}
	if (!rl->tokens) {
		rl->missed++;
		return false;
	}
	rl->tokens--;
	return true;
}
