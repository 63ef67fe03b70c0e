// SPDX-License-Identifier: MIT
/* tcp_tail.c - see tcp_tail.h */
#include "tcp_tail.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

/* reads per callback while draining what the reader sends after the end */
#define TAIL_READS_MAX 16
/* sweeps (a quarter of the peer timeout each) a reader may take nothing */
#define TAIL_STALL_SWEEPS 8

struct tcp_tail {
	struct tcp_tails *ts;
	int fd;
	struct event *ev;
	uint8_t *buf;
	size_t len;
	size_t off;
	bool shut;	     /* all of buf written, the write side shut */
	bool suspect;	     /* the last sweep found the reader silent */
	unsigned int stalls; /* sweeps in a row that found nothing more acknowledged */
	size_t left;	     /* bytes unacknowledged at the last sweep */
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

enum tail_end_how {
	TAIL_DONE,   /* every byte is the kernel's or the reader's: close */
	TAIL_RESET,  /* the reader did not get every byte: tell it with an RST */
	TAIL_FAILED, /* the socket failed (a reset from the reader): close */
};

static void tail_end(struct tcp_tail *t, enum tail_end_how how)
{
	struct tcp_tails *ts = t->ts;

	if (how == TAIL_RESET) {
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	if (how == TAIL_DONE)
		ts->st.completed++;
	else
		ts->st.reset++;
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
			tail_end(t, TAIL_FAILED);
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
		/* EOF: what is left in the socket goes out after our FIN; a
		 * reset from the reader: nothing to save */
		tail_end(t, n == 0 ? TAIL_DONE : TAIL_FAILED);
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
	t->left = SIZE_MAX;
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
	return 0;
}

/* Bytes of @t not yet acknowledged by its reader: ours, and the socket's. */
static size_t tail_left(const struct tcp_tail *t)
{
	int outq = 0;

	if (ioctl(t->fd, SIOCOUTQ, &outq) || outq < 0)
		outq = 0;
	return t->len - t->off + (size_t)outq;
}

void tcp_tails_sweep(struct tcp_tails *ts, uint32_t timeout_ms)
{
	struct tcp_tail *t, *tn;

	for (t = ts->head; t; t = tn) {
		size_t left;
		bool acked;

		tn = t->next;
		/* a reader that answers window probes but takes nothing is alive,
		 * and nobody waits on it any more: its time is bounded */
		left = tail_left(t);
		t->stalls = left && left >= t->left ? t->stalls + 1 : 0;
		t->left = left;
		if (t->stalls >= TAIL_STALL_SWEEPS) {
			pr_info_rl("stream tail: the reader took none of its last %zu bytes in %u "
				   "sweeps: resetting it",
				   left, TAIL_STALL_SWEEPS);
			tail_end(t, TAIL_RESET);
			continue;
		}
		if (!tcp_peer_silent(t->fd, timeout_ms, &acked)) {
			t->suspect = false;
			/* the reader has every byte (none unsent or unacknowledged in
			 * the socket either) but keeps its side open: done */
			if (t->shut && !left)
				tail_end(t, TAIL_DONE);
			continue;
		}
		if (!t->suspect) {
			t->suspect = true;
			continue;
		}
		pr_info_rl("stream tail: TCP peer acknowledged nothing in %u ms: resetting it",
			   timeout_ms);
		tail_end(t, TAIL_RESET);
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
		tail_end(ts->head, ts->head->shut ? TAIL_DONE : TAIL_RESET);
	free(ts);
}
