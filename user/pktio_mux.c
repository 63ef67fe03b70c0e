// SPDX-License-Identifier: MIT
/*
 * pktio_mux.c - AF_XDP sockets and the UDP socket behind one struct pktio
 * (see pktio_mux.h), and the setup of beamd's XDP mode with its fallback.
 */
#include "pktio_mux.h"

#include "log.h"
#include "pktio_xsk.h"
#include "xdp_loader.h"

#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>

struct pktio_mux {
	struct pktio io; /* first */
	struct pktio *udp;
	struct pktio *xsk[PKTIO_MUX_MAX_XSK];
	bool xsk_trains[PKTIO_MUX_MAX_XSK]; /* GSO trains go out through this AF_XDP socket */
	unsigned int nxsk;
	unsigned int next; /* AF_XDP socket to read first next time: fairness */
	/* Asking the UDP socket costs a system call, and while AF_XDP carries
	 * the traffic it is mostly empty: see udp_due(). */
	bool udp_hot;		  /* the last recvmmsg() found datagrams */
	unsigned int udp_skipped; /* calls since the socket was last asked */
	bool v4_mapped;
	int epfd;
	int worker; /* for the exit line, or -1 */
	struct pktio_mux_stats st;
};

static struct pktio_mux *to_mux(const struct pktio *io)
{
	return (struct pktio_mux *)io;
}

static void map_v4(struct pktio_addr *a)
{
	struct sockaddr_in in = a->in;

	if (a->sa.sa_family != AF_INET)
		return;
	memset(a, 0, sizeof(*a));
	a->in6.sin6_family = AF_INET6;
	a->in6.sin6_port = in.sin_port;
	a->in6.sin6_addr.s6_addr[10] = 0xff;
	a->in6.sin6_addr.s6_addr[11] = 0xff;
	memcpy(a->in6.sin6_addr.s6_addr + 12, &in.sin_addr, 4);
	a->len = sizeof(a->in6);
}

/* Back end @i: the AF_XDP sockets, then the socket. */
static struct pktio *child(struct pktio_mux *m, unsigned int i)
{
	return i < m->nxsk ? m->xsk[i] : m->udp;
}

/* Receive from back end @i into @pkts + @got; 0 on error (logged). */
static int child_recv(struct pktio_mux *m, unsigned int i, struct pktio_pkt *pkts, unsigned int got,
		      unsigned int max)
{
	struct pktio *c = child(m, i);
	unsigned int j;
	int n;

	n = c->ops->recv(c, pkts + got, max - got);
	if (n < 0) {
		pr_warn_rl("failed to receive on the %s path: %s", c->ops->name, strerror(-n));
		return 0;
	}
	/* which back end holds the packet, for accepted() */
	for (j = got; j < got + (unsigned int)n; j++)
		if (pkts[j].rx_ref)
			pkts[j].rx_ref = (pkts[j].rx_ref & ((1u << PKTIO_REF_BITS) - 1)) |
					 (i + 1) << PKTIO_REF_BITS;
	if (i < m->nxsk) {
		m->st.rx_xsk += (uint64_t)n;
		for (j = got; m->v4_mapped && j < got + (unsigned int)n; j++) {
			map_v4(&pkts[j].local);
			map_v4(&pkts[j].peer);
		}
	} else {
		m->st.rx_udp += (uint64_t)n;
		m->udp_hot = n > 0;
		m->udp_skipped = 0;
	}
	return n;
}

/* At most this many calls that took AF_XDP frames pass without asking the
 * UDP socket: a datagram there waits at most that long behind AF_XDP load. */
#define MUX_UDP_MAX_SKIPS 8

/*
 * Whether to ask the UDP socket after the AF_XDP sockets gave @from_xsk
 * datagrams, with @room left. Looking at an AF_XDP ring is a memory read;
 * recvmmsg() on an empty socket is a system call for nothing, and beamd's read
 * loop ends only on an empty call, so asking every time cost two of them per
 * wake-up. Asked: when AF_XDP had nothing (the wake-up was the socket's, or the
 * loop's last look), when the socket had something last time, or after
 * MUX_UDP_MAX_SKIPS calls without.
 */
static bool udp_due(struct pktio_mux *m, unsigned int from_xsk, unsigned int room)
{
	if (room && (!from_xsk || m->udp_hot || m->udp_skipped >= MUX_UDP_MAX_SKIPS))
		return true;
	m->udp_skipped++;
	return false;
}

static int mux_recv(struct pktio *io, struct pktio_pkt *pkts, unsigned int max)
{
	struct pktio_mux *m = to_mux(io);
	unsigned int k, got = 0;
	bool udp_first = m->udp_skipped >= MUX_UDP_MAX_SKIPS;

	/* Each back end is asked once per call: a second call would take back
	 * the buffers lent in the first. A socket passed over too long goes
	 * first, so AF_XDP filling every call cannot starve it. */
	if (udp_first)
		got += (unsigned int)child_recv(m, m->nxsk, pkts, got, max);
	for (k = 0; k < m->nxsk && got < max; k++)
		got += (unsigned int)child_recv(m, (m->next + k) % m->nxsk, pkts, got, max);
	if (!udp_first && udp_due(m, got, max - got))
		got += (unsigned int)child_recv(m, m->nxsk, pkts, got, max);
	if (m->nxsk)
		m->next = (m->next + 1) % m->nxsk;
	return (int)got;
}

/* Pass the word to the back end that received @pkt. */
static void mux_accepted(struct pktio *io, const struct pktio_pkt *pkt)
{
	struct pktio_mux *m = to_mux(io);
	uint32_t i = pkt->rx_ref >> PKTIO_REF_BITS;
	struct pktio_pkt own;
	struct pktio *c;

	if (!i || i > m->nxsk + 1)
		return;
	c = child(m, i - 1);
	if (!c->ops->accepted)
		return;
	own = *pkt;
	own.rx_ref &= (1u << PKTIO_REF_BITS) - 1;
	c->ops->accepted(c, &own);
}

static bool is_train(const struct pktio_pkt *pkt)
{
	return pkt->gso_size && pkt->len > pkt->gso_size;
}

/* Index of the AF_XDP back end that sends @pkt (it knows the way to the
 * peer and takes trains, or @pkt is a single datagram), or nxsk for the
 * socket. */
static unsigned int path_for(struct pktio_mux *m, const struct pktio_pkt *pkt)
{
	unsigned int i;

	for (i = 0; i < m->nxsk; i++)
		if (pktio_xsk_has_path(m->xsk[i], &pkt->peer))
			return m->xsk_trains[i] || !is_train(pkt) ? i : m->nxsk;
	return m->nxsk;
}

/* One datagram the first choice could not take: the other path, or drop. */
static void send_fallback(struct pktio_mux *m, unsigned int path, const struct pktio_pkt *pkt)
{
	struct pktio *c = path < m->nxsk ? m->udp : NULL;

	if (c && c->ops->send(c, pkt, 1) == 1) {
		m->st.tx_fallback++;
		m->st.tx_udp++;
		return;
	}
	m->st.tx_dropped++;
	pr_debug_rl("no packet path could take a %u-byte datagram now: dropped", pkt->len);
}

/* Runs of datagrams for the same path go down in one call: an AF_XDP back end
 * then fills its TX ring once and wakes the kernel once per run. */
static int mux_send(struct pktio *io, const struct pktio_pkt *pkts, unsigned int n)
{
	struct pktio_mux *m = to_mux(io);
	unsigned int i = 0;

	while (i < n) {
		unsigned int path = path_for(m, &pkts[i]), end = i + 1;
		struct pktio *c = child(m, path);

		while (end < n && path_for(m, &pkts[end]) == path)
			end++;
		/* Each round moves i by at least one: bounded by n. */
		while (i < end) {
			int sent = c->ops->send(c, &pkts[i], end - i);

			if (sent <= 0) {
				send_fallback(m, path, &pkts[i++]);
				continue;
			}
			if ((unsigned int)sent > end - i)
				sent = (int)(end - i);
			if (path < m->nxsk)
				m->st.tx_xsk += (uint64_t)sent;
			else
				m->st.tx_udp += (uint64_t)sent;
			i += (unsigned int)sent;
		}
	}
	return (int)n;
}

static int mux_fd(struct pktio *io)
{
	return to_mux(io)->epfd;
}

/* What each path carried, at exit; tests, bench/lib.sh and docs/operations.md
 * read this line. A macro, so that it stays one literal within 100 columns. */
#define MUX_PATHS_FMT \
	"packet paths: AF_XDP rx %llu tx %llu, socket rx %llu tx %llu, fallbacks %llu, dropped %llu"

static void mux_free(struct pktio *io)
{
	struct pktio_mux *m;
	unsigned int i;

	if (!io)
		return;
	m = to_mux(io);
	if (m->worker >= 0)
		pr_info("worker %d: " MUX_PATHS_FMT, m->worker, (unsigned long long)m->st.rx_xsk,
			(unsigned long long)m->st.tx_xsk, (unsigned long long)m->st.rx_udp,
			(unsigned long long)m->st.tx_udp, (unsigned long long)m->st.tx_fallback,
			(unsigned long long)m->st.tx_dropped);
	else
		pr_info(MUX_PATHS_FMT, (unsigned long long)m->st.rx_xsk,
			(unsigned long long)m->st.tx_xsk, (unsigned long long)m->st.rx_udp,
			(unsigned long long)m->st.tx_udp, (unsigned long long)m->st.tx_fallback,
			(unsigned long long)m->st.tx_dropped);
	for (i = 0; i < m->nxsk; i++)
		m->xsk[i]->ops->free(m->xsk[i]);
	if (m->udp)
		m->udp->ops->free(m->udp);
	if (m->epfd >= 0)
		close(m->epfd);
	free(m);
}

static const struct pktio_ops pktio_mux_ops = {
	.name = "xdp+udp",
	.recv = mux_recv,
	.send = mux_send,
	.accepted = mux_accepted,
	.fd = mux_fd,
	.free = mux_free,
};

int pktio_mux_new(struct pktio **out, struct pktio *udp, struct pktio **xsks, unsigned int nxsk,
		  bool v4_mapped)
{
	struct pktio_mux *m;
	unsigned int i;
	int err;

	if (!nxsk || nxsk > PKTIO_MUX_MAX_XSK)
		return -EINVAL;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->io.ops = &pktio_mux_ops;
	m->udp = udp;
	m->udp_hot = true; /* ask it on the first call */
	m->v4_mapped = v4_mapped;
	m->worker = -1;
	for (i = 0; i < nxsk; i++) {
		/* Copy mode builds an skb per frame, where the socket sends a GSO
		 * train as one: trains take the socket unless frames go to the
		 * device without a copy. */
		m->xsk_trains[m->nxsk] =
			pktio_is_xsk(xsks[i]) && !strcmp(pktio_xsk_mode(xsks[i]), "zero-copy");
		m->xsk[m->nxsk++] = xsks[i];
	}

	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (m->epfd < 0) {
		err = -errno;
		goto err_free;
	}
	for (i = 0; i <= m->nxsk; i++) {
		struct pktio *c = child(m, i);
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};

		if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, c->ops->fd(c), &ev)) {
			err = -errno;
			goto err_close;
		}
	}
	*out = &m->io;
	return 0;

err_close:
	close(m->epfd);
err_free:
	free(m);
	return err;
}

void pktio_mux_stats(const struct pktio *io, struct pktio_mux_stats *st)
{
	const struct pktio_mux *m = to_mux(io);
	struct pktio_xsk_stats xs;
	unsigned int i, e;

	*st = m->st;
	for (i = 0; i < m->nxsk; i++) {
		if (!pktio_is_xsk(m->xsk[i]))
			continue;
		pktio_xsk_stats(m->xsk[i], &xs);
		for (e = 0; e < PKT_ERR__MAX; e++)
			st->xsk_rx_bad[e] += xs.rx_bad[e];
		st->xsk_rx_other_port += xs.rx_other_port;
		st->xsk_rx_vlan_unknown += xs.rx_vlan_unknown;
		for (e = 0; e < PKT_MAX_VLANS; e++)
			st->xsk_rx_vlan[e] += xs.rx_vlan[e];
		st->hop_changed += xs.mac_changes;
		st->hop_unproven += xs.path_unproven;
		st->hop_kept += xs.path_kept;
		st->tx_both_paths += xs.tx_both_paths;
	}
}

void pktio_mux_set_worker(struct pktio *io, unsigned int worker)
{
	to_mux(io)->worker = worker <= INT32_MAX ? (int)worker : -1;
}

/* Attach beam's program when @ifname has none; check it steers our port and
 * runs where AF_XDP can take what it redirects. */
static int xdp_ready(const struct pktio_xdp_cfg *cfg, const char **why)
{
	struct xdp_attach_opts opts = {0};
	struct xdp_attach_info info;
	struct xdp_status st;
	bool steers = false;
	unsigned int i;
	int err;

	err = xdp_loader_status(cfg->ifname, cfg->pin_root, &st);
	if (err) {
		*why = "cannot read the interface's XDP state";
		return err;
	}
	if (st.prog_id && !st.beam) {
		*why = "another XDP program is attached (beam-xdp attach --force replaces it)";
		return -EBUSY;
	}

	if (!st.prog_id || !st.pinned) {
		opts.pin_root = cfg->pin_root;
		opts.nports = 1;
		opts.ports[0] = cfg->port;
		opts.steer = XDP_LOADER_ON;
		err = xdp_loader_attach(cfg->ifname, &opts, &info);
		if (err) {
			*why = err == -EPERM ? "attaching beam's XDP program needs CAP_BPF and "
					       "CAP_NET_ADMIN"
					     : "attaching beam's XDP program failed";
			return err;
		}
		pr_info("attached beam's XDP program to '%s' in %s mode for port %u", cfg->ifname,
			xdp_loader_mode_name(info.mode), cfg->port);
		st.mode = info.mode;
		steers = true;
	} else {
		for (i = 0; i < BEAM_MAX_PORTS; i++)
			steers |= st.config.ports[i] == cfg->port;
		steers &= !!(st.config.flags & BEAM_CFG_STEER);
	}
	if (!steers) {
		*why = "beam's program does not steer our port (beam-xdp attach --port N --steer)";
		return -EINVAL;
	}

	/* Generic XDP runs after GRO and sees GRO-merged trains whole; the
	 * program passes those to the UDP socket (BEAM_XSK_FRAME_SIZE). */
	return 0;
}

/* The program's config learns how many workers there are (queue w is worker w's)
 * and which port AF_XDP is for. */
static int xdp_set_workers(const struct pktio_xdp_cfg *cfg, const char **why)
{
	struct beam_config bc;
	struct xdp_maps m;
	__u32 zero = 0;
	int err;

	err = xdp_maps_open_pinned(&m, xdp_loader_pin_root(cfg->pin_root), cfg->ifname);
	if (err) {
		*why = "cannot open the program's config";
		return err;
	}
	if (bpf_map_lookup_elem(m.config, &zero, &bc)) {
		err = -errno;
	} else {
		bc.workers = (__u16)cfg->workers;
		bc.xsk_port = cfg->port; /* the other ports' beamds run on sockets */
		if (bpf_map_update_elem(m.config, &zero, &bc, BPF_ANY))
			err = -errno;
	}
	xdp_maps_close(&m);
	if (err)
		*why = "cannot write the program's config";
	return err;
}

int pktio_xdp_queues(const char *ifname)
{
	struct ethtool_channels ch = {.cmd = ETHTOOL_GCHANNELS};
	struct ifreq ifr = {0};
	int fd, err = 0;

	if (strlen(ifname) >= sizeof(ifr.ifr_name))
		return -ENAMETOOLONG;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ch;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCETHTOOL, &ifr))
		err = -errno;
	close(fd);
	if (err)
		return err;
	/* a queue is counted once: as combined, or as rx-only */
	return ch.combined_count + ch.rx_count ? (int)(ch.combined_count + ch.rx_count) : -ENODATA;
}

/*
 * One beamd per interface uses AF_XDP: the program redirects by queue, not by
 * port, and the config's worker count is that beamd's. A process holding the
 * xsks map is taken to be that beamd (a beamd without AF_XDP closes its copy:
 * beamd.c observe_open).
 */
static int xdp_unshared(const struct pktio_xdp_cfg *cfg, const char **why)
{
	static char buf[128];
	char path[32], comm[32] = "process";
	FILE *f;
	pid_t pid;
	int n;

	n = xdp_loader_xsks_users(cfg->ifname, cfg->pin_root, &pid, 1);
	if (n <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	snprintf(buf, sizeof(buf), "%s %d holds its xsks map: one beamd per interface uses AF_XDP",
		 comm, (int)pid);
	*why = buf;
	return -EBUSY;
}

int pktio_mux_xdp_prepare(const struct pktio_xdp_cfg *cfg)
{
	const char *why = NULL;
	int err;

	/* The one warning below says why: the details are for -v. */
	log_quiet_begin();
	err = xdp_unshared(cfg, &why);
	if (!err)
		err = xdp_ready(cfg, &why);
	if (!err)
		err = xdp_set_workers(cfg, &why);
	log_quiet_end();
	if (err)
		pr_warn("AF_XDP on '%s' queue %u not used, running on the UDP socket only: %s: %s",
			cfg->ifname, cfg->queue, why, strerror(-err));
	return err;
}

int pktio_mux_xdp(struct pktio **io, const struct pktio_xdp_cfg *cfg)
{
	struct pktio_xsk_cfg xcfg = {
		.ifname = cfg->ifname,
		.queue = cfg->queue,
		.pin_root = cfg->pin_root,
		.port = cfg->port,
		.xdp_hist = cfg->xdp_hist,
	};
	struct pktio *xsk, *mux;
	const char *why = NULL;
	struct pktio_addr local;
	int err, fd;

	/* The one warning at fallback says why: the details are for -v. */
	log_quiet_begin();
	err = xdp_ready(cfg, &why);
	if (!err)
		err = pktio_xsk_new(&xsk, &xcfg);
	log_quiet_end();
	if (err && !why) {
		why = err == -EBUSY ? "the queue has an AF_XDP socket already"
				    : "cannot open an AF_XDP socket";
	}
	if (err)
		goto fallback;

	/* The socket's family decides how IPv4 peers look to the QUIC code. */
	fd = (*io)->ops->fd(*io);
	local.len = sizeof(local.in6);
	if (getsockname(fd, &local.sa, &local.len)) {
		err = -errno;
		xsk->ops->free(xsk);
		why = "cannot read the UDP socket's address";
		goto fallback;
	}

	err = pktio_mux_new(&mux, *io, &xsk, 1, local.sa.sa_family == AF_INET6);
	if (err) {
		xsk->ops->free(xsk);
		why = "cannot join the two paths";
		goto fallback;
	}
	*io = mux;
	pr_info("XDP mode on '%s': AF_XDP on queue %u (%s), UDP socket for the other queues",
		cfg->ifname, cfg->queue, pktio_xsk_mode(xsk));
	return 0;

fallback:
	pr_warn("AF_XDP on '%s' queue %u not used, running on the UDP socket only: %s: %s",
		cfg->ifname, cfg->queue, why, strerror(-err));
	return err;
}
