/* SPDX-License-Identifier: MIT */
/*
 * xdp_loader.h - attach, replace, detach and inspect beam's XDP program, and
 * open or create the maps it shares with beamd.
 *
 * beam's program is attached through a BPF link that is pinned beside its
 * maps, so it stays after the attaching process exits:
 *
 *   <pin root>/<ifname>/link     the XDP link (bpftool link show pinned ...)
 *   <pin root>/<ifname>/<map>    xsks, stats, flows, config, rate, conns, latency,
 *                                steer_misses
 *
 * The pin root is --pin-root, else $BEAM_PIN_ROOT, else BEAM_PIN_ROOT_DEFAULT;
 * directories are created mode 0700. Attaching again replaces the program with
 * bpf_link_update() and reuses the pinned maps, so no frame meets an interface
 * without the program and no counter is reset.
 *
 * The directory is named after the interface at attach time. An interface
 * renamed since is found by its link (xdp_loader_pin_dir: the link's ifindex
 * and the program it runs, checked against this namespace), and its pins move
 * to its new name on the next command that names it, or on `status`; a
 * command naming the old one is refused with the new name.
 *
 * Every function here reports its own failures with pr_err() (what failed, on
 * which interface, why), then returns -errno; callers need only exit.
 */
#ifndef BEAM_XDP_LOADER_H
#define BEAM_XDP_LOADER_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "beam_maps.h"

#define XDP_LOADER_DEFAULT_PORT		 4433
#define XDP_LOADER_DEFAULT_INITIAL_RATE	 100 /* Initials per second per source */
#define XDP_LOADER_DEFAULT_INITIAL_BURST 200

enum xdp_loader_mode {
	XDP_LOADER_AUTO = 0, /* native, else generic */
	XDP_LOADER_NATIVE,   /* in the driver (XDP_FLAGS_DRV_MODE) */
	XDP_LOADER_GENERIC,  /* in the stack, after the skb is built (XDP_FLAGS_SKB_MODE) */
	XDP_LOADER_OFFLOAD,  /* in the NIC: reported by status only, never requested */
	XDP_LOADER__MAX,
};

/* File descriptors of beam's maps, -1 when not open. */
struct xdp_maps {
	int xsks;    /* XSKMAP: RX queue -> AF_XDP socket */
	int stats;   /* per-CPU array: enum beam_reason -> struct beam_counter */
	int flows;   /* LRU hash: struct beam_flow_key -> struct beam_flow */
	int config;  /* array[1]: struct beam_config */
	int rate;    /* LRU hash: source address -> struct beam_rate */
	int conns;   /* hash: struct beam_cid -> struct beam_conn */
	int latency; /* mmapable array: enum beam_hist_id -> struct beam_hist */
	/* per-CPU array: enum beam_steer_miss -> __u64; -1 also when the pins
	 * are an older program's, made before this map existed */
	int steer_misses;
};

/* A configuration switch: zeroed options keep what is configured. */
enum xdp_loader_toggle {
	XDP_LOADER_KEEP = 0,
	XDP_LOADER_ON,
	XDP_LOADER_OFF,
};

/* Options of xdp_loader_attach(). Zero them, then set what you need. */
struct xdp_attach_opts {
	const char *pin_root;	   /* NULL: xdp_loader_pin_root(NULL) */
	enum xdp_loader_mode mode; /* AUTO unless set */
	bool force;		   /* replace another program than beam's */
	/* Configuration: unset fields keep what the pinned `config` holds (or the
	 * defaults above for a new one). Ports in host byte order. */
	unsigned int nports; /* 0: keep */
	__u16 ports[BEAM_MAX_PORTS];
	bool set_rate;	/* then initial_rate applies (0: no per-source limit) */
	bool set_burst; /* then initial_burst applies; set_rate alone sets it too */
	__u32 initial_rate;
	__u32 initial_burst;
	enum xdp_loader_toggle rate_limit; /* BEAM_CFG_RATE_LIMIT */
	enum xdp_loader_toggle steer;	   /* BEAM_CFG_STEER */
};

/* What xdp_loader_attach() did. */
struct xdp_attach_info {
	enum xdp_loader_mode mode;   /* NATIVE or GENERIC: what the link runs in */
	__u32 prog_id;		     /* the program now attached */
	__u32 old_prog_id;	     /* the program it replaced (beam's or, forced, another) */
	bool replaced;		     /* an attached beam program was replaced in place */
	char why[256];		     /* why this mode, one line */
	char verifier_log[PATH_MAX]; /* set when a load failed: where its log went */
};

/* State of one interface, from xdp_loader_status(). */
struct xdp_status {
	char ifname[IF_NAMESIZE];
	int ifindex;		   /* 0: the interface is gone */
	__u32 prog_id;		   /* program attached to it, 0 if none */
	char prog_name[16];	   /* that program's name */
	enum xdp_loader_mode mode; /* its mode, when prog_id */
	bool beam;		   /* it is beam's, attached through the pinned link */
	bool pinned;		   /* beam's maps are pinned for this interface */
	struct beam_config config; /* when pinned */
	unsigned int flows, flows_max, conns, conns_max, rate, rate_max, xsks, xsks_max;
	struct beam_counter reasons[BEAM_REASON__MAX]; /* summed over CPUs */
	bool has_steer_misses;			       /* the pins have steer_misses */
	__u64 steer_misses[BEAM_STEER_MISS__MAX];      /* summed over CPUs */
};

/* The pin root: @opt if not NULL, else $BEAM_PIN_ROOT if set and not empty,
 * else BEAM_PIN_ROOT_DEFAULT. The result is @opt, the environment's or a
 * constant: never freed. */
const char *xdp_loader_pin_root(const char *opt);

/* The pin directory of @ifname into @buf: "<pin root>/<ifname>", where the
 * pins of an interface renamed since its attach are moved first (or, when
 * they cannot be, the directory of its old name). Returns 0, -ENAMETOOLONG,
 * or -ENODEV (said) when @ifname is an old name of an interface renamed
 * since, or -EEXIST (said) when another interface's live pins hold the name
 * and cannot be moved. */
int xdp_loader_pin_dir(char *buf, size_t size, const char *pin_root, const char *ifname);

/* "native", "generic", "offload", "auto". */
const char *xdp_loader_mode_name(enum xdp_loader_mode mode);

/* Parse "auto", "native" (or "drv"), "generic" (or "skb"). Returns 0 or -EINVAL. */
int xdp_loader_mode_parse(const char *s, enum xdp_loader_mode *mode);

/* The default configuration: port 4433, steering and the Initial limit on. */
void xdp_loader_config_default(struct beam_config *cfg);

/*
 * Load beam's program and attach it to @ifname, or replace an attached one.
 *
 * New attach: loads the program with its maps pinned under the pin directory
 * (reusing maps already pinned there), writes `config`, creates an XDP link in
 * the mode asked (AUTO: native, then generic, saying why in @info->why) and pins
 * it. Another program than beam's on @ifname is refused unless @opts->force,
 * which detaches it first (not atomic: the interface has no program briefly).
 *
 * beam already attached: the new program is loaded with the pinned maps and
 * swapped in with bpf_link_update(): no frame is missed, counters carry on.
 * Asking for another mode than the link has needs a new link: the old one is
 * detached first and the interface runs briefly without XDP.
 *
 * @info may be NULL. Returns 0, or -ENODEV (no such interface), -EBUSY (another
 * program is attached, no force), -EPERM, -ENOTSUP (no mode worked, no BTF or no
 * bpffs), or the -errno of the failing step; a verifier rejection writes the
 * log to a file named in the error message and @info->verifier_log.
 */
int xdp_loader_attach(const char *ifname, const struct xdp_attach_opts *opts,
		      struct xdp_attach_info *info);

/*
 * Detach beam's program from @ifname and remove its pins (maps and link; the
 * pin directory too). The interface may already be gone: the pins still go.
 * Another program than beam's is left alone. Returns 0 when something was
 * detached or removed, -ENOENT when beam had nothing there, or -errno.
 */
int xdp_loader_detach(const char *ifname, const char *pin_root);

/*
 * Processes other than this one that hold a descriptor of the xsks or conns
 * map pinned for @ifname (a running beamd does): their pids into @pids (at
 * most @max), found by a walk over /proc/PID/fd and fdinfo (needs root to see
 * other users' processes). Returns how many there are (may exceed @max), 0
 * when nothing is pinned, or -errno when /proc cannot be read.
 */
int xdp_loader_map_users(const char *ifname, const char *pin_root, pid_t *pids, unsigned int max);

/* The same for the xsks map alone: processes that registered (or may register)
 * AF_XDP sockets for @ifname's program. */
int xdp_loader_xsks_users(const char *ifname, const char *pin_root, pid_t *pids, unsigned int max);

/*
 * Fill @st for @ifname: attached program and mode, whether it is beam's,
 * configuration, map fill levels and reason counters (when pinned). Returns 0
 * (also when nothing is attached), -ENODEV when neither the interface nor its
 * pins exist, or -errno.
 */
int xdp_loader_status(const char *ifname, const char *pin_root, struct xdp_status *st);

/*
 * List the interfaces that have a pin directory under @pin_root (one holding
 * beam's `config` pin; other directories there, like beamd's own, are skipped):
 * calls @cb for each name, stopping at the first nonzero return (which it
 * returns). Returns 0 also when the pin root does not exist.
 */
int xdp_loader_for_each_pinned(const char *pin_root, int (*cb)(const char *ifname, void *arg),
			       void *arg);

/*
 * Whether this process may create BPF objects (CAP_BPF or CAP_SYS_ADMIN, or
 * unprivileged BPF): a one-entry array made and closed with the raw system
 * call, so that libbpf prints nothing when the answer is no.
 */
bool xdp_bpf_permitted(void);

/* Set every fd of @m to -1. */
void xdp_maps_init(struct xdp_maps *m);

/*
 * Open the pinned maps of the beam program attached to @ifname (for beamd:
 * AF_XDP sockets go into xsks, connections into conns, histograms into
 * latency). All or nothing. Returns 0, -ENOENT when beam's maps are not pinned
 * for @ifname (nothing attached), or -errno; @m is left closed on error.
 */
int xdp_maps_open_pinned(struct xdp_maps *m, const char *pin_root, const char *ifname);

/*
 * Create beam's maps, unpinned and with no program attached anywhere (for
 * beamd running without XDP: it still keeps conns and latency in the same
 * layout). The definitions are the program's own, from its skeleton. Returns
 * 0 or -errno; @m is left closed on error.
 */
int xdp_maps_create(struct xdp_maps *m);

/* max_entries of the map behind @fd, 0 when it cannot be read. */
unsigned int xdp_map_max_entries(int fd);

/* Close every open fd of @m and set it to -1. Accepts NULL. */
void xdp_maps_close(struct xdp_maps *m);

#endif /* BEAM_XDP_LOADER_H */
