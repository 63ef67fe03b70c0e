// SPDX-License-Identifier: MIT
/* tcp_tail.c - see tcp_tail.h */
#include "tcp_tail.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

/* reads per callback while draining what the reader sends after the end */
#define TAIL_READS_MAX 16

struct tcp_tail {
	struct tcp_tails *ts;
	int fd;
	struct event *ev;
	uint8_t *buf;
	size_t len;
	size_t off;
	bool shut;    /* all of buf written, the write side shut */
	bool suspect; /* the last sweep found the reader silent */
	struct tcp_tail *next;
	struct tcp_tail *prev;
};

struct tcp_tails {
	struct event_base *base;
	struct tcp_tail *head;
	struct tcp_tails_stats st;
};

bool tcp_peer_silent(int fd, uint32_t timeout_ms, bool *acked)
{
	socklen_t len = sizeof(struct tcp_info);
	struct tcp_info ti;

	*acked = false;
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return false;
	*acked = !ti.tcpi_unacked;
	return (ti.tcpi_probes || ti.tcpi_retransmits) && ti.tcpi_last_ack_recv >= timeout_ms;
}

int tcp_tails_new(struct tcp_tails **out, struct event_base *base)
{
	struct tcp_tails *ts = calloc(1, sizeof(*ts));

	if (!ts)
		return -ENOMEM;
	ts->base = base;
	*out = ts;
	return 0;
}

/* End @t: @reset sends an RST (the reader did not get every byte). */
static void tail_end(struct tcp_tail *t, bool reset)
{
	struct tcp_tails *ts = t->ts;

	if (reset) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		ts->st.reset++;
	}
	event_free(t->ev);
	close(t->fd);
	if (t->prev)
		t->prev->next = t->next;
	else
		ts->head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	ts->st.open--;
	ts->st.bytes -= t->len - t->off;
	free(t->buf);
	free(t);
}

static void tail_cb(evutil_socket_t fd, short what, void *arg);

/* Wait for @t's socket to take bytes (@write) or to say something. */
static int tail_wait(struct tcp_tail *t, bool write)
{
	if (t->ev)
		event_free(t->ev);
	t->ev = event_new(t->ts->base, t->fd, (write ? EV_WRITE : EV_READ) | EV_PERSIST, tail_cb,
			  t);
	if (!t->ev || event_add(t->ev, NULL))
		return -ENOMEM;
	return 0;
}

/* Write what the socket takes; shut the write side after the last byte.
 * -errno when the socket failed. */
static int tail_write(struct tcp_tail *t)
{
	while (t->off < t->len) {
		ssize_t w = write(t->fd, t->buf + t->off, t->len - t->off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		t->off += (size_t)w;
		t->ts->st.bytes -= (size_t)w;
	}
	if (shutdown(t->fd, SHUT_WR))
		return -errno;
	t->shut = true;
	t->ts->st.completed++;
	return tail_wait(t, false);
}

static void tail_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_tail *t = arg;
	uint8_t sink[16384];
	int i, err;

	(void)what;
	if (!t->shut) {
		err = tail_write(t);
		if (err) {
			pr_debug_rl("stream tail: TCP write failed: %s", strerror(-err));
			tail_end(t, true);
		}
		return;
	}
	/* every byte is out: drop what the reader still sends, until it closes */
	for (i = 0; i < TAIL_READS_MAX; i++) {
		ssize_t n = read(fd, sink, sizeof(sink));

		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		tail_end(t, false); /* EOF, or a reset from the reader: nothing to save */
		return;
	}
}

int tcp_tail_adopt(struct tcp_tails *ts, int fd, size_t len, bool shut, uint8_t **buf)
{
	struct tcp_tail *t;
	int err;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	if (len && !(t->buf = malloc(len))) {
		free(t);
		return -ENOMEM;
	}
	t->len = len;
	*buf = t->buf;
	t->ts = ts;
	t->fd = fd;
	t->shut = shut;
	err = tail_wait(t, !shut);
	if (err) {
		if (t->ev)
			event_free(t->ev);
		free(t->buf);
		free(t);
		return err;
	}
	t->next = ts->head;
	if (ts->head)
		ts->head->prev = t;
	ts->head = t;
	ts->st.open++;
	ts->st.bytes += len;
	if (shut)
		ts->st.completed++;
	return 0;
}

void tcp_tails_sweep(struct tcp_tails *ts, uint32_t timeout_ms)
{
	struct tcp_tail *t, *tn;

	for (t = ts->head; t; t = tn) {
		bool acked;

		tn = t->next;
		if (!tcp_peer_silent(t->fd, timeout_ms, &acked)) {
			t->suspect = false;
			/* the reader has every byte but keeps its side open: done */
			if (t->shut && acked)
				tail_end(t, false);
			continue;
		}
		if (!t->suspect) {
			t->suspect = true;
			continue;
		}
		pr_info_rl("stream tail: TCP peer acknowledged nothing in %u ms: resetting it",
			   timeout_ms);
		tail_end(t, true);
	}
}

void tcp_tails_stats(const struct tcp_tails *ts, struct tcp_tails_stats *out)
{
	*out = ts->st;
}

void tcp_tails_free(struct tcp_tails *ts)
{
	if (!ts)
		return;
	while (ts->head)
		tail_end(ts->head, !ts->head->shut);
	free(ts);
}
