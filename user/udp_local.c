// SPDX-License-Identifier: MIT
/*
 * udp_local.c - the agent's connected UDP sockets, one per public flow.
 */
#include "udp_local.h"
#include "log.h"
#include "quic.h"
#include "udp_flow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#define READS_MAX 32
#define DGRAM_MAX 65536

struct local_sock {
	struct udp_local *u;
	struct udp_flow *f;
	struct event *rev;
	int fd;
};

struct udp_local {
	struct event_base *base;
	struct udp_local_config cfg;
	struct udp_flows flows;
	struct event *sweep;
	struct udp_local_stats st;
	uint8_t buf[DGRAM_MAX];
};

static void sock_free_cb(struct udp_flow *f, void *arg)
{
	struct local_sock *ls = f->user;

	(void)arg;
	event_free(ls->rev);
	close(ls->fd);
	free(ls);
}

static void sock_close(struct udp_local *u, struct udp_flow *f)
{
	sock_free_cb(f, NULL);
	udp_flows_del(&u->flows, f);
}

static void sock_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct local_sock *ls = arg;
	struct udp_local *u = ls->u;
	int i;

	(void)what;
	for (i = 0; i < READS_MAX; i++) {
		ssize_t n = recv(fd, u->buf, sizeof(u->buf), MSG_DONTWAIT);

		if (n < 0)
			break; /* EAGAIN, or ECONNREFUSED from an earlier send */
		u->st.rx++;
		udp_flows_touch(&u->flows, ls->f, quic_now_ns());
		u->cfg.reply(u->cfg.arg, ls->f->id, u->buf, (size_t)n);
	}
	if (u->cfg.flush)
		u->cfg.flush(u->cfg.arg);
}

static int sock_open(struct udp_local *u, uint64_t flow_id, struct udp_flow **out)
{
	const struct pktio_addr *t = &u->cfg.target;
	struct local_sock *ls;
	struct udp_flow *f;
	int err;

	err = udp_flows_add(&u->flows, flow_id, NULL, quic_now_ns(), &f);
	if (err)
		return err;
	ls = calloc(1, sizeof(*ls));
	if (!ls) {
		udp_flows_del(&u->flows, f);
		return -ENOMEM;
	}
	ls->u = u;
	ls->f = f;
	ls->fd = socket(t->sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ls->fd < 0 || connect(ls->fd, &t->sa, t->len)) {
		err = -errno;
		goto err_sock;
	}
	ls->rev = event_new(u->base, ls->fd, EV_READ | EV_PERSIST, sock_read_cb, ls);
	if (!ls->rev || event_add(ls->rev, NULL)) {
		err = -ENOMEM;
		goto err_sock;
	}
	f->user = ls;
	*out = f;
	return 0;

err_sock:
	if (ls->rev)
		event_free(ls->rev);
	if (ls->fd >= 0)
		close(ls->fd);
	free(ls);
	udp_flows_del(&u->flows, f);
	return err;
}

int udp_local_send(struct udp_local *u, uint64_t flow_id, const uint8_t *data, size_t len)
{
	struct udp_flow *f = udp_flows_by_id(&u->flows, flow_id);
	struct local_sock *ls;
	int err;

	if (!f) {
		err = sock_open(u, flow_id, &f);
		if (err == -ENOSPC) {
			u->st.drop_flows++;
			pr_warn_rl(
				"dropped a new client's datagram: %u flows are open (%llu so far)",
				u->cfg.max_flows, (unsigned long long)u->st.drop_flows);
			return err;
		}
		if (err) {
			u->st.drop_send++;
			pr_warn_rl("failed to open a UDP socket to the local service: %s",
				   strerror(-err));
			return err;
		}
	}
	ls = f->user;
	udp_flows_touch(&u->flows, f, quic_now_ns());
	if (send(ls->fd, data, len, MSG_DONTWAIT) < 0) {
		err = -errno;
		u->st.drop_send++;
		pr_debug_rl("failed to send a datagram to the local service: %s", strerror(-err));
		return err;
	}
	u->st.tx++;
	return 0;
}

static void local_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct udp_local *u = arg;

	(void)fd;
	(void)what;
	udp_flows_expire(&u->flows, quic_now_ns(), (uint64_t)u->cfg.idle_s * 1000000000ull,
			 sock_free_cb, NULL);
}

int udp_local_new(struct udp_local **out, struct event_base *base,
		  const struct udp_local_config *cfg)
{
	struct timeval sec = {.tv_sec = 1};
	struct udp_local *u;
	int err;

	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->base = base;
	u->cfg = *cfg;
	udp_flows_defaults(&u->cfg.max_flows, &u->cfg.idle_s);
	err = udp_flows_init(&u->flows, u->cfg.max_flows);
	if (err) {
		free(u);
		return err;
	}
	u->sweep = event_new(base, -1, EV_PERSIST, local_sweep_cb, u);
	if (!u->sweep || event_add(u->sweep, &sec)) {
		if (u->sweep)
			event_free(u->sweep);
		udp_flows_fini(&u->flows);
		free(u);
		return -ENOMEM;
	}
	*out = u;
	return 0;
}

void udp_local_reset(struct udp_local *u)
{
	struct udp_flow *f;

	while ((f = udp_flows_oldest(&u->flows)))
		sock_close(u, f);
}

void udp_local_stats(const struct udp_local *u, struct udp_local_stats *out)
{
	*out = u->st;
	out->flows = u->flows.n;
}

void udp_local_free(struct udp_local *u)
{
	if (!u)
		return;
	udp_local_reset(u);
	event_free(u->sweep);
	udp_flows_fini(&u->flows);
	free(u);
}
