// SPDX-License-Identifier: MIT
/*
 * xsk.c - AF_XDP socket and UMEM of one queue: setup through libxdp with its
 * program load inhibited, registration in beam's pinned xsks map, and the
 * bookkeeping of every frame between the free stack, the four rings and the
 * caller.
 */
#include "xsk.h"

#include "beam_maps.h"
#include "log.h"
#include "xdp_loader.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define XSK_DEF_FRAME_SIZE BEAM_XSK_FRAME_SIZE
#define XSK_DEF_NFRAMES	   4096u
#define XSK_DEF_RING_SIZE  1024u
/* Copy mode sends at most 32 frames per sendto() (the kernel's TX budget);
 * more kicks than this per submit would mean the link is not draining. */
#define XSK_TX_KICKS_MAX 64

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static uint64_t frame_base(const struct xsk_port *p, uint64_t addr)
{
	return addr & ~(uint64_t)(p->frame_size - 1);
}

/* Registered ports, so that beamd can put them in a new program's xsks map. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xsk_port *live_head;

static void live_add(struct xsk_port *p)
{
	pthread_mutex_lock(&live_lock);
	p->next_live = live_head;
	live_head = p;
	pthread_mutex_unlock(&live_lock);
}

static void live_remove(struct xsk_port *p)
{
	struct xsk_port **pp;

	pthread_mutex_lock(&live_lock);
	for (pp = &live_head; *pp; pp = &(*pp)->next_live) {
		if (*pp == p) {
			*pp = p->next_live;
			break;
		}
	}
	pthread_mutex_unlock(&live_lock);
}

int xsk_ports_register(const char *ifname, int map_fd)
{
	struct xsk_port *p;
	int n = 0, fd;

	pthread_mutex_lock(&live_lock);
	for (p = live_head; p; p = p->next_live) {
		if (strcmp(p->ifname, ifname) || xsk_port_gone(p))
			continue;
		fd = xsk_socket__fd(p->sock);
		if (bpf_map_update_elem(map_fd, &p->queue, &fd, BPF_ANY)) {
			n = -errno;
			break;
		}
		n++;
	}
	pthread_mutex_unlock(&live_lock);
	return n;
}

int xsk_ports_retire(const char *ifname, int map_fd)
{
	struct xsk_port *p;
	int n = 0;

	pthread_mutex_lock(&live_lock);
	for (p = live_head; p; p = p->next_live) {
		if (strcmp(p->ifname, ifname))
			continue;
		__atomic_store_n(&p->gone, true, __ATOMIC_RELAXED);
		/* by queue: one beamd per interface registers (pktio_mux) */
		if (map_fd >= 0)
			bpf_map_delete_elem(map_fd, &p->queue);
		if (p->map_fd >= 0 && p->map_fd != map_fd)
			bpf_map_delete_elem(p->map_fd, &p->queue);
		n++;
	}
	pthread_mutex_unlock(&live_lock);
	return n;
}

static int open_xsks_map(const struct xsk_port_cfg *cfg)
{
	char path[256];
	int fd, err;

	err = xdp_loader_pin_dir(path, sizeof(path) - 5, cfg->pin_root, cfg->ifname);
	if (err)
		return err;
	strcat(path, "/xsks");

	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		pr_warn("failed to open the xsks map '%s': %s (is beam attached to '%s'?)", path,
			strerror(-err), cfg->ifname);
		return err;
	}
	return fd;
}

/* Give free frames to the fill ring until it holds fill_target frames. */
static void fill_top_up(struct xsk_port *p)
{
	uint32_t want, idx, i;

	want = p->fill_target > p->rx_in_kernel ? p->fill_target - p->rx_in_kernel : 0;
	if (want > p->nfree)
		want = p->nfree;
	if (!want)
		return;

	/* The fill ring may hold fewer free slots than we think when the kernel
	 * has not consumed yet: halve until a reservation succeeds. */
	while (want && xsk_ring_prod__reserve(&p->fq, want, &idx) != want)
		want /= 2;
	if (!want) {
		p->stats.fill_short++;
		return;
	}
	for (i = 0; i < want; i++)
		*xsk_ring_prod__fill_addr(&p->fq, idx + i) = p->free[--p->nfree];
	xsk_ring_prod__submit(&p->fq, want);
	p->rx_in_kernel += want;
}

static void umem_free(struct xsk_port *p)
{
	if (p->sock) {
		xsk_socket__delete(p->sock);
		p->sock = NULL;
	}
	if (p->umem) {
		xsk_umem__delete(p->umem);
		p->umem = NULL;
	}
	if (p->area) {
		munmap(p->area, p->area_len);
		p->area = NULL;
	}
}

/* One attempt at UMEM plus socket with @bind_flags. */
static int umem_socket_create(struct xsk_port *p, uint16_t bind_flags)
{
	struct xsk_umem_config ucfg = {
		.fill_size = p->ring_size,
		.comp_size = p->ring_size,
		.frame_size = p->frame_size,
		.frame_headroom = 0,
		.flags = 0,
	};
	struct xsk_socket_config scfg = {
		.rx_size = p->ring_size,
		.tx_size = p->ring_size,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.xdp_flags = 0,
		.bind_flags = bind_flags,
	};
	uint32_t i;
	int err;

	p->area =
		mmap(NULL, p->area_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->area == MAP_FAILED) {
		p->area = NULL;
		return -errno;
	}

	err = xsk_umem__create(&p->umem, p->area, p->area_len, &p->fq, &p->cq, &ucfg);
	if (err) {
		p->umem = NULL;
		goto err_free;
	}

	err = xsk_socket__create(&p->sock, p->ifname, p->queue, p->umem, &p->rx, &p->tx, &scfg);
	if (err) {
		p->sock = NULL;
		goto err_free;
	}

	p->nfree = 0;
	for (i = 0; i < p->nframes; i++)
		p->free[p->nfree++] = (uint64_t)(p->nframes - 1 - i) * p->frame_size;
	return 0;

err_free:
	umem_free(p);
	return err;
}

int xsk_port_open(struct xsk_port **out, const struct xsk_port_cfg *cfg)
{
	struct xsk_port *p;
	int err, fd;

	if (!cfg->ifname || strlen(cfg->ifname) >= IFNAMSIZ)
		return -EINVAL;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->map_fd = -1;
	snprintf(p->ifname, sizeof(p->ifname), "%s", cfg->ifname);
	p->queue = cfg->queue;
	p->frame_size = cfg->frame_size ? cfg->frame_size : XSK_DEF_FRAME_SIZE;
	p->nframes = cfg->nframes ? cfg->nframes : XSK_DEF_NFRAMES;
	p->ring_size = cfg->ring_size ? cfg->ring_size : XSK_DEF_RING_SIZE;
	if ((p->frame_size != 2048 && p->frame_size != 4096) || !is_pow2(p->nframes) ||
	    !is_pow2(p->ring_size) || p->nframes < 2 * p->ring_size) {
		err = -EINVAL;
		goto err_free;
	}
	p->fill_target = p->ring_size;
	p->area_len = (uint64_t)p->nframes * p->frame_size;

	p->ifindex = (int)if_nametoindex(cfg->ifname);
	if (!p->ifindex) {
		err = -errno;
		pr_warn("failed to find interface '%s': %s", cfg->ifname, strerror(-err));
		goto err_free;
	}

	if (!cfg->no_register) {
		fd = open_xsks_map(cfg);
		if (fd < 0) {
			err = fd;
			goto err_free;
		}
		p->map_fd = fd;
	}

	p->free = calloc(p->nframes, sizeof(*p->free));
	if (!p->free) {
		err = -ENOMEM;
		goto err_close_map;
	}

	err = -EOPNOTSUPP;
	if (!cfg->copy_only) {
		err = umem_socket_create(p, XDP_USE_NEED_WAKEUP | XDP_ZEROCOPY);
		p->zerocopy = !err;
		if (err)
			pr_debug("AF_XDP zero-copy on '%s' queue %u refused (%s); trying copy mode",
				 p->ifname, p->queue, strerror(-err));
	}
	if (err)
		err = umem_socket_create(p, XDP_USE_NEED_WAKEUP | XDP_COPY);
	if (err) {
		pr_warn("failed to create an AF_XDP socket on '%s' queue %u: %s", p->ifname,
			p->queue, strerror(-err));
		goto err_free_stack;
	}

	if (p->map_fd >= 0) {
		err = xsk_socket__update_xskmap(p->sock, p->map_fd);
		if (err) {
			pr_warn("failed to register the AF_XDP socket of '%s' queue %u in xsks: %s",
				p->ifname, p->queue, strerror(-err));
			goto err_umem;
		}
	}

	fill_top_up(p);
	if (p->map_fd >= 0)
		live_add(p);
	*out = p;
	return 0;

err_umem:
	umem_free(p);
err_free_stack:
	free(p->free);
err_close_map:
	if (p->map_fd >= 0)
		close(p->map_fd);
err_free:
	free(p);
	return err;
}

void xsk_port_close(struct xsk_port *p)
{
	if (!p)
		return;
	/* Closing the socket removes its xsks entry in the kernel; deleting it
	 * here could remove a successor's registration. */
	live_remove(p);
	umem_free(p);
	if (p->map_fd >= 0)
		close(p->map_fd);
	free(p->free);
	free(p);
}

int xsk_port_fd(const struct xsk_port *p)
{
	return xsk_socket__fd(p->sock);
}

const char *xsk_port_mode(const struct xsk_port *p)
{
	return p->zerocopy ? "zero-copy" : "copy";
}

unsigned int xsk_port_rx(struct xsk_port *p, struct xdp_desc *descs, unsigned int max)
{
	uint32_t idx, n, i;

	fill_top_up(p);
	if (xsk_ring_prod__needs_wakeup(&p->fq)) {
		p->stats.rx_kicks++;
		recvfrom(xsk_socket__fd(p->sock), NULL, 0, MSG_DONTWAIT, NULL, NULL);
	}

	n = xsk_ring_cons__peek(&p->rx, max, &idx);
	for (i = 0; i < n; i++)
		descs[i] = *xsk_ring_cons__rx_desc(&p->rx, idx + i);
	if (n)
		xsk_ring_cons__release(&p->rx, n);
	p->rx_in_kernel -= n;
	p->lent += n;
	p->stats.rx_frames += n;
	return n;
}

void xsk_port_release(struct xsk_port *p, const uint64_t *addrs, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n && p->nfree < p->nframes; i++)
		p->free[p->nfree++] = frame_base(p, addrs[i]);
	p->lent -= i;
}

unsigned int xsk_port_reap(struct xsk_port *p)
{
	uint32_t idx, n, i;

	if (!p->tx_outstanding)
		return 0;
	n = xsk_ring_cons__peek(&p->cq, p->ring_size, &idx);
	for (i = 0; i < n && p->nfree < p->nframes; i++)
		p->free[p->nfree++] = frame_base(p, *xsk_ring_cons__comp_addr(&p->cq, idx + i));
	if (n)
		xsk_ring_cons__release(&p->cq, n);
	p->tx_outstanding -= n;
	return n;
}

int xsk_port_tx_alloc(struct xsk_port *p, uint64_t *addrs, unsigned int n)
{
	uint32_t deficit, reserve;
	unsigned int i;

	/* Keep back what the fill ring lacks (up to an eighth of the UMEM): a
	 * busy sender must not stop reception. */
	deficit = p->fill_target > p->rx_in_kernel ? p->fill_target - p->rx_in_kernel : 0;
	reserve = deficit < p->nframes / 8 ? deficit : p->nframes / 8;
	if (p->nfree < n + reserve)
		xsk_port_reap(p);
	if (p->nfree < n + reserve) {
		p->stats.tx_no_frame++;
		return -EAGAIN;
	}
	for (i = 0; i < n; i++)
		addrs[i] = p->free[--p->nfree];
	p->lent += n;
	return 0;
}

static void tx_kick(struct xsk_port *p)
{
	int fd = xsk_socket__fd(p->sock), i;

	for (i = 0; i < XSK_TX_KICKS_MAX && xsk_ring_prod__needs_wakeup(&p->tx); i++) {
		p->stats.tx_kicks++;
		if (sendto(fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
			break;
		/* EAGAIN: budget spent or completion ring full; make room, go on. */
		if (errno != EAGAIN && errno != EBUSY && errno != ENOBUFS)
			break;
		xsk_port_reap(p);
		if (!xsk_prod_nb_free(&p->tx, p->ring_size) && !p->tx_outstanding)
			break;
	}
}

unsigned int xsk_port_tx_submit(struct xsk_port *p, const struct xdp_desc *descs, unsigned int n)
{
	uint32_t idx, k = n, i;

	while (k && xsk_ring_prod__reserve(&p->tx, k, &idx) != k)
		k /= 2;
	for (i = 0; i < k; i++)
		*xsk_ring_prod__tx_desc(&p->tx, idx + i) = descs[i];
	if (k) {
		xsk_ring_prod__submit(&p->tx, k);
		p->tx_outstanding += k;
		p->stats.tx_frames += k;
	}
	p->lent -= k;
	/* What did not fit goes back to the free stack. */
	for (i = k; i < n; i++) {
		uint64_t a = descs[i].addr;

		xsk_port_release(p, &a, 1);
	}
	if (k)
		tx_kick(p);
	return k;
}

bool xsk_port_frames_ok(const struct xsk_port *p)
{
	return (uint64_t)p->nfree + p->lent + p->rx_in_kernel + p->tx_outstanding == p->nframes;
}
