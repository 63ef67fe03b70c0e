// SPDX-License-Identifier: MIT
/*
 * udp_pub.c - a udp tunnel's public socket and its flows of public clients.
 */
#include "udp_pub.h"
#include "log.h"
#include "pktio_udp.h"
#include "quic.h"
#include "udp_flow.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/sock_diag.h>

#include <event2/event.h>

#define READS_MAX 64 /* datagrams per readable event */
#define DGRAM_MAX 65536

struct udp_pub {
	struct udp_pub_config cfg;
	struct udp_flows flows;
	struct event *rev;
	struct event *sweep;
	int fd;
	uint32_t drops_base; /* the socket's kernel drop count when this owner took it */
	uint16_t port;
	struct udp_pub_stats st;
};

/* Datagrams the kernel dropped for @fd so far (a full receive buffer, mostly). */
static uint32_t sock_drops(int fd)
{
	uint32_t mem[SK_MEMINFO_VARS] = {0};
	socklen_t len = sizeof(mem);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) ||
	    len <= SK_MEMINFO_DROPS * sizeof(mem[0]))
		return 0;
	return mem[SK_MEMINFO_DROPS];
}

/* One receive buffer per thread, shared by every udp tunnel it serves. */
static _Thread_local uint8_t rx_buf[DGRAM_MAX];

static void pub_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct udp_pub *u = arg;
	uint64_t now = quic_now_ns();
	int i;

	(void)what;
	for (i = 0; i < READS_MAX; i++) {
		struct pktio_addr peer = {0};
		struct udp_flow *f;
		ssize_t n;

		peer.len = sizeof(peer.in6);
		n = recvfrom(fd, rx_buf, sizeof(rx_buf), MSG_DONTWAIT, &peer.sa, &peer.len);
		if (n < 0)
			break; /* EAGAIN, or an ICMP error of an earlier send: nothing to do */
		u->st.rx++;
		f = udp_flows_by_addr(&u->flows, &peer);
		if (!f && udp_flows_add(&u->flows, 0, &peer, now, &f)) {
			u->st.drop_flows++;
			continue;
		}
		udp_flows_touch(&u->flows, f, now);
		u->cfg.recv(u->cfg.arg, f->id, rx_buf, (size_t)n);
	}
	if (u->cfg.flush)
		u->cfg.flush(u->cfg.arg);
}

/* Once a second: forget the flows idle past the limit, oldest first. */
static void pub_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct udp_pub *u = arg;

	(void)fd;
	(void)what;
	udp_flows_expire(&u->flows, quic_now_ns(), (uint64_t)u->cfg.idle_s * 1000000000ull, NULL,
			 NULL);
}

int udp_pub_new(struct udp_pub **out, struct event_base *base, const struct udp_pub_config *cfg)
{
	struct timeval sec = {.tv_sec = 1};
	struct pktio_addr a = cfg->bind;
	int zero = 0, err;
	struct udp_pub *u;

	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->cfg = *cfg;
	udp_flows_defaults(&u->cfg.max_flows, &u->cfg.idle_s);
	err = udp_flows_init(&u->flows, u->cfg.max_flows);
	if (err) {
		if (cfg->adopt)
			close(cfg->fd);
		goto err_free;
	}
	if (cfg->adopt) {
		u->fd = cfg->fd;
	} else {
		u->fd = socket(a.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (u->fd < 0) {
			err = -errno;
			goto err_flows;
		}
		if (a.sa.sa_family == AF_INET6)
			setsockopt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		/* the default 208 KiB overflow under a burst of a few hundred clients */
		pktio_udp_size_buffers(u->fd);
		if (bind(u->fd, &a.sa, a.len)) {
			err = -errno;
			goto err_close;
		}
	}
	/* an adopted socket's earlier drops are its previous owner's to count */
	u->drops_base = sock_drops(u->fd);
	a.len = sizeof(a.in6);
	getsockname(u->fd, &a.sa, &a.len);
	u->port = ntohs(a.sa.sa_family == AF_INET6 ? a.in6.sin6_port : a.in.sin_port);
	u->rev = event_new(base, u->fd, EV_READ | EV_PERSIST, pub_read_cb, u);
	u->sweep = event_new(base, -1, EV_PERSIST, pub_sweep_cb, u);
	if (!u->rev || !u->sweep || event_add(u->rev, NULL) || event_add(u->sweep, &sec)) {
		err = -ENOMEM;
		goto err_events;
	}
	*out = u;
	return 0;

err_events:
	if (u->rev)
		event_free(u->rev);
	if (u->sweep)
		event_free(u->sweep);
err_close:
	close(u->fd);
err_flows:
	udp_flows_fini(&u->flows);
err_free:
	free(u);
	return err;
}

int udp_pub_dup_fd(const struct udp_pub *u)
{
	int fd = fcntl(u->fd, F_DUPFD_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

uint16_t udp_pub_port(const struct udp_pub *u)
{
	return u->port;
}

int udp_pub_send(struct udp_pub *u, uint64_t flow_id, const uint8_t *data, size_t len)
{
	struct udp_flow *f = udp_flows_by_id(&u->flows, flow_id);
	int err;

	if (!f) {
		u->st.drop_noflow++;
		return -ENOENT;
	}
	if (sendto(u->fd, data, len, MSG_DONTWAIT, &f->addr.sa, f->addr.len) < 0) {
		err = -errno;
		u->st.drop_send++;
		return err;
	}
	u->st.tx++;
	udp_flows_touch(&u->flows, f, quic_now_ns());
	return 0;
}

void udp_pub_stats(const struct udp_pub *u, struct udp_pub_stats *out)
{
	*out = u->st;
	out->flows = u->flows.n;
	out->drop_full = (uint32_t)(sock_drops(u->fd) - u->drops_base);
}

void udp_pub_free(struct udp_pub *u)
{
	if (!u)
		return;
	event_free(u->rev);
	event_free(u->sweep);
	close(u->fd);
	udp_flows_fini(&u->flows);
	free(u);
}
