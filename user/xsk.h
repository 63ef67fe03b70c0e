/* SPDX-License-Identifier: MIT */
/*
 * xsk.h - one AF_XDP socket on one RX queue of one interface, with its own
 * UMEM: the frames, the four rings, and who holds each frame.
 *
 * Built on libxdp's xsk API with libxdp's own XDP program load inhibited:
 * beam's XDP program (bpf/beam_xdp.bpf.c) owns the XSKMAP `xsks`, pinned at
 * <pin root>/<ifname>/xsks, and this module registers the socket there at
 * its queue index. The kernel drops the entry when the socket closes, also
 * when the process is killed, so nothing needs cleaning after a crash.
 *
 * Frames are either in the kernel (fill ring, RX ring, TX ring, completion
 * ring), lent to the caller (received, not yet released), or free in a stack
 * that both the fill ring and transmission draw from. Every path that takes
 * a frame gives it back to one of those places: no leak, and the fill ring is
 * topped up on every receive so reception never starves.
 *
 * Not thread safe: one socket belongs to one worker.
 */
#ifndef BEAM_XSK_H
#define BEAM_XSK_H

#include <stdbool.h>
#include <stdint.h>

#include <xdp/xsk.h>

struct xsk_port_cfg {
	const char *ifname;
	uint32_t queue;
	const char *pin_root; /* NULL: $BEAM_PIN_ROOT, else BEAM_PIN_ROOT_DEFAULT */
	uint32_t frame_size;  /* 2048 or 4096; 0 = 2048 */
	uint32_t nframes;     /* UMEM frames, power of two; 0 = 4096 */
	uint32_t ring_size;   /* each of the four rings, power of two; 0 = 1024 */
	bool copy_only;	      /* do not try zero-copy */
	bool no_register;     /* do not insert into the pinned xsks map */
};

struct xsk_port_stats {
	uint64_t rx_frames;
	uint64_t tx_frames;
	uint64_t tx_kicks;    /* sendto() wake-ups asked for by the kernel */
	uint64_t rx_kicks;    /* fill-ring wake-ups */
	uint64_t tx_no_frame; /* transmissions refused: no free frame */
	uint64_t fill_short;  /* receives that could not top the fill ring up fully */
};

struct xsk_port {
	struct xsk_ring_prod fq;
	struct xsk_ring_cons cq;
	struct xsk_ring_cons rx;
	struct xsk_ring_prod tx;
	struct xsk_umem *umem;
	struct xsk_socket *sock;
	uint8_t *area; /* the UMEM, nframes * frame_size bytes */
	uint64_t area_len;
	uint64_t *free; /* stack of free frame addresses */
	uint32_t nfree;
	uint32_t nframes;
	uint32_t frame_size;
	uint32_t ring_size;
	uint32_t fill_target;	 /* frames the fill ring should hold */
	uint32_t rx_in_kernel;	 /* frames in the fill ring, the RX ring, or between */
	uint32_t tx_outstanding; /* frames in TX or completion rings */
	uint32_t lent;		 /* frames the caller holds */
	uint32_t queue;
	int ifindex;
	int map_fd; /* pinned xsks, -1 when not registered */
	bool zerocopy;
	bool gone; /* bound to an interface that went away (atomic: xsk_port_gone()) */
	char ifname[16];
	struct xsk_port_stats stats;
	struct xsk_port *next_live; /* registered ports, for xsk_ports_register() */
};

/*
 * Create the UMEM and socket on @cfg->ifname queue @cfg->queue, zero-copy if
 * the driver has it (unless copy_only), copy mode otherwise, fill the fill
 * ring, and register the socket in the pinned xsks map. Returns 0 with
 * *@out set, or -errno: -ENOENT (no such interface, or no pinned xsks map:
 * beam's XDP program is not attached), -EBUSY (the queue has a socket),
 * -EPERM, -ENOMEM, or what the kernel said to bind().
 */
int xsk_port_open(struct xsk_port **out, const struct xsk_port_cfg *cfg);

/* Unregister, close and free everything; accepts NULL. */
void xsk_port_close(struct xsk_port *p);

/*
 * Put every open, registered port of @ifname into the xsks map @map_fd (a
 * new program's, after beam-xdp detached the one the ports were opened with
 * and attached again). Any thread: the list of ports is under a lock, the
 * map update is one system call. Returns how many were put, or -errno of the
 * first that failed.
 */
int xsk_ports_register(const char *ifname, int map_fd);

/*
 * @ifname was deleted (or re-created with another ifindex): the ports bound to
 * it receive nothing more and cannot send. Take them out of the xsks map
 * @map_fd and of the one each registered in, so that the XDP program passes
 * their queues' frames to the kernel, and mark them gone: never registered
 * again, no path for sending. Any thread. Returns how many ports there were.
 */
int xsk_ports_retire(const char *ifname, int map_fd);

static inline bool xsk_port_gone(const struct xsk_port *p)
{
	return __atomic_load_n(&p->gone, __ATOMIC_RELAXED);
}

/* The socket's descriptor: readable when the RX ring has frames. */
int xsk_port_fd(const struct xsk_port *p);

/* "zero-copy" or "copy". */
const char *xsk_port_mode(const struct xsk_port *p);

/* Frame data: a pointer into the UMEM for address @addr. */
static inline uint8_t *xsk_port_data(const struct xsk_port *p, uint64_t addr)
{
	return p->area + addr;
}

/*
 * Take up to @max received descriptors into @descs (addresses and lengths);
 * the frames are lent to the caller until xsk_port_release(). Tops the fill
 * ring up first and wakes the kernel if it asked. Returns the count (0 when
 * nothing is pending).
 */
unsigned int xsk_port_rx(struct xsk_port *p, struct xdp_desc *descs, unsigned int max);

/* Give back @n frames (UMEM addresses, any offset inside the frame). */
void xsk_port_release(struct xsk_port *p, const uint64_t *addrs, unsigned int n);

/*
 * Take @n free frames for transmission into @addrs (frame starts). Reaps the
 * completion ring first, and keeps back what the fill ring lacks (at most an
 * eighth of the frames). Returns 0, or -EAGAIN when fewer than @n can be had
 * (then none is taken).
 */
int xsk_port_tx_alloc(struct xsk_port *p, uint64_t *addrs, unsigned int n);

/*
 * Queue @n frames written by the caller (addresses from xsk_port_tx_alloc)
 * on the TX ring and wake the kernel when it asks. The frames return to the
 * free stack through the completion ring. Returns the number queued; frames
 * not queued (TX ring full) go back to the free stack.
 */
unsigned int xsk_port_tx_submit(struct xsk_port *p, const struct xdp_desc *descs, unsigned int n);

/* Move completed TX frames back to the free stack; returns how many. */
unsigned int xsk_port_reap(struct xsk_port *p);

/* True when every frame is accounted for: free + lent + in the kernel for
 * RX + in the kernel for TX == nframes. For leak checks. */
bool xsk_port_frames_ok(const struct xsk_port *p);

#endif /* BEAM_XSK_H */
