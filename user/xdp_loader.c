// SPDX-License-Identifier: MIT
/*
 * xdp_loader.c - attach, replace, detach and inspect beam's XDP program
 * (see xdp_loader.h). The program and the map definitions come from the
 * skeleton, so the object loaded here is the object the BPF tests run.
 */
#include "xdp_loader.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "beam_xdp.skel.h"
#include "log.h"
#include "xdp_stats.h"

#define LINK_PIN_NAME	"link"
#define VERIFIER_LOG_SZ (4u << 20)

const char *xdp_loader_pin_root(const char *opt)
{
	const char *env = getenv("BEAM_PIN_ROOT");

	if (opt && *opt)
		return opt;
	return env && *env ? env : BEAM_PIN_ROOT_DEFAULT;
}

/*
 * The interface of this namespace that the XDP link pinned in @dir runs on
 * now, 0 when none: no link pin there, or its program is not the one attached
 * to that ifindex here (another namespace's interface, a detached link).
 */
static int pinned_link_ifindex(const char *dir)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct bpf_link_info li;
	__u32 len = sizeof(li);
	char path[PATH_MAX + 32];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/" LINK_PIN_NAME, dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	memset(&li, 0, sizeof(li));
	ok = !bpf_obj_get_info_by_fd(fd, &li, &len) && li.type == BPF_LINK_TYPE_XDP &&
	     li.xdp.ifindex && !bpf_xdp_query((int)li.xdp.ifindex, 0, &q) &&
	     (q.drv_prog_id == li.prog_id || q.skb_prog_id == li.prog_id ||
	      q.hw_prog_id == li.prog_id);
	close(fd);
	return ok ? (int)li.xdp.ifindex : 0;
}

/* Move the pins in <@root>/@from to <@root>/@to: the interface they belong
 * to is named @to now. True when they moved. */
static bool pins_follow_rename(const char *root, const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];

	if (snprintf(a, sizeof(a), "%s/%s", root, from) >= (int)sizeof(a) ||
	    snprintf(b, sizeof(b), "%s/%s", root, to) >= (int)sizeof(b))
		return false;
	if (rename(a, b)) {
		pr_debug("could not move the pins of renamed interface '%s' from %s to %s: %s", to,
			 a, b, strerror(errno));
		return false;
	}
	pr_info("pins of '%s' moved from %s to %s: the interface was renamed", to, a, b);
	return true;
}

/* -ENODEV, said, when @ifname is no interface here but the pins of its name are
 * live on an interface renamed since; else 0. */
static int check_renamed(const char *root, const char *ifname)
{
	char dir[PATH_MAX], now[IF_NAMESIZE];
	int idx;

	if (if_nametoindex(ifname) ||
	    snprintf(dir, sizeof(dir), "%s/%s", root, ifname) >= (int)sizeof(dir))
		return 0;
	idx = pinned_link_ifindex(dir);
	if (!idx || !if_indextoname((unsigned int)idx, now))
		return 0;
	pr_err("no interface '%s' now: the pins in %s belong to '%s', renamed since; name '%s'",
	       ifname, dir, now, now);
	return -ENODEV;
}

int xdp_loader_pin_dir(char *buf, size_t size, const char *pin_root, const char *ifname)
{
	const char *root = xdp_loader_pin_root(pin_root);
	int n = snprintf(buf, size, "%s/%s", root, ifname);
	char path[PATH_MAX + 300], now[IF_NAMESIZE];
	int ifindex, other;
	struct dirent *de;
	DIR *d;

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	/* Pins are named after the interface at attach time. When it was renamed
	 * since, its link is in the directory of its old name: find it by the
	 * ifindex and the program the link runs, and move it (or use it where
	 * it is, when the pin root is not ours to write). */
	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex)
		return check_renamed(root, ifname);
	other = pinned_link_ifindex(buf);
	if (other == ifindex)
		return 0;
	/* the directory of this name holds another interface's live pins (it
	 * was renamed away, and this one renamed onto its old name): they go to
	 * that interface's name first */
	if (other && if_indextoname((unsigned int)other, now) &&
	    !pins_follow_rename(root, ifname, now)) {
		pr_err("the pins in %s belong to '%s', renamed since, and could not be moved", buf,
		       now);
		return -EEXIST;
	}
	d = opendir(root);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.' || !strcmp(de->d_name, ifname))
			continue;
		snprintf(path, sizeof(path), "%s/%s", root, de->d_name);
		if (pinned_link_ifindex(path) != ifindex)
			continue;
		if (!pins_follow_rename(root, de->d_name, ifname) && strlen(path) < size)
			snprintf(buf, size, "%s", path);
		break;
	}
	closedir(d);
	return 0;
}

const char *xdp_loader_mode_name(enum xdp_loader_mode mode)
{
	switch (mode) {
	case XDP_LOADER_NATIVE:
		return "native";
	case XDP_LOADER_GENERIC:
		return "generic";
	case XDP_LOADER_OFFLOAD:
		return "offload";
	default:
		return "auto";
	}
}

int xdp_loader_mode_parse(const char *s, enum xdp_loader_mode *mode)
{
	if (!strcmp(s, "auto"))
		*mode = XDP_LOADER_AUTO;
	else if (!strcmp(s, "native") || !strcmp(s, "drv"))
		*mode = XDP_LOADER_NATIVE;
	else if (!strcmp(s, "generic") || !strcmp(s, "skb"))
		*mode = XDP_LOADER_GENERIC;
	else
		return -EINVAL;
	return 0;
}

void xdp_loader_config_default(struct beam_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ports[0] = XDP_LOADER_DEFAULT_PORT;
	cfg->flags = BEAM_CFG_STEER | BEAM_CFG_RATE_LIMIT;
	cfg->initial_rate = XDP_LOADER_DEFAULT_INITIAL_RATE;
	cfg->initial_burst = XDP_LOADER_DEFAULT_INITIAL_BURST;
}

/* ---- maps ---- */

bool xdp_bpf_permitted(void)
{
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_ARRAY;
	attr.key_size = 4;
	attr.value_size = 4;
	attr.max_entries = 1;
	fd = (int)syscall(__NR_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
	if (fd < 0)
		return errno != EPERM && errno != EACCES;
	close(fd);
	return true;
}

void xdp_maps_init(struct xdp_maps *m)
{
	m->xsks = m->stats = m->flows = m->config = m->rate = m->conns = m->latency = -1;
	m->steer_misses = -1;
}

void xdp_maps_close(struct xdp_maps *m)
{
	int *fds[8];
	size_t i;

	/* not even &m->field before the check: that is undefined for NULL */
	if (!m)
		return;
	fds[0] = &m->xsks;
	fds[1] = &m->stats;
	fds[2] = &m->flows;
	fds[3] = &m->config;
	fds[4] = &m->rate;
	fds[5] = &m->conns;
	fds[6] = &m->latency;
	fds[7] = &m->steer_misses;
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* The slot of @m that holds @map of @skel, NULL for a map beam does not share. */
static int *maps_slot(struct xdp_maps *m, const struct beam_xdp *skel, const struct bpf_map *map)
{
	if (map == skel->maps.xsks)
		return &m->xsks;
	if (map == skel->maps.stats)
		return &m->stats;
	if (map == skel->maps.flows)
		return &m->flows;
	if (map == skel->maps.config)
		return &m->config;
	if (map == skel->maps.rate)
		return &m->rate;
	if (map == skel->maps.conns)
		return &m->conns;
	if (map == skel->maps.latency)
		return &m->latency;
	if (map == skel->maps.steer_misses)
		return &m->steer_misses;
	return NULL;
}

static int skel_open(struct beam_xdp **skel)
{
	int err;

	*skel = beam_xdp__open();
	if (!*skel) {
		err = -errno;
		pr_err("failed to open beam's XDP object: %s", strerror(-err));
		return err;
	}
	return 0;
}

int xdp_maps_open_pinned(struct xdp_maps *m, const char *pin_root, const char *ifname)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	struct beam_xdp *skel;
	struct bpf_map *map;
	int err, *slot;

	xdp_maps_init(m);
	err = xdp_loader_pin_dir(dir, sizeof(dir), pin_root, ifname);
	if (err)
		return err;

	err = skel_open(&skel);
	if (err)
		return err;

	bpf_object__for_each_map(map, skel->obj)
	{
		slot = maps_slot(m, skel, map);
		if (!slot)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		*slot = bpf_obj_get(path);
		if (*slot < 0) {
			err = -errno;
			/* pinned by a program older than this map: counted as absent */
			if (err == -ENOENT && map == skel->maps.steer_misses)
				continue;
			if (err != -ENOENT)
				pr_err("failed to open pinned map '%s': %s", path, strerror(-err));
			goto err_close;
		}
	}
	beam_xdp__destroy(skel);
	return 0;

err_close:
	xdp_maps_close(m);
	beam_xdp__destroy(skel);
	return err;
}

int xdp_maps_create(struct xdp_maps *m)
{
	struct beam_xdp *skel;
	struct bpf_map *map;
	int err, *slot;

	xdp_maps_init(m);
	err = skel_open(&skel);
	if (err)
		return err;

	/* Maps only: the program is not loaded. */
	bpf_program__set_autoload(skel->progs.beam_xdp, false);
	err = beam_xdp__load(skel);
	if (err) {
		pr_err("failed to create beam's BPF maps: %s", strerror(-err));
		goto err_destroy;
	}

	bpf_object__for_each_map(map, skel->obj)
	{
		slot = maps_slot(m, skel, map);
		if (!slot)
			continue;
		*slot = fcntl(bpf_map__fd(map), F_DUPFD_CLOEXEC, 0);
		if (*slot < 0) {
			err = -errno;
			pr_err("failed to keep BPF map '%s': %s", bpf_map__name(map),
			       strerror(-err));
			goto err_close;
		}
	}
	beam_xdp__destroy(skel);
	return 0;

err_close:
	xdp_maps_close(m);
err_destroy:
	beam_xdp__destroy(skel);
	return err;
}

/* ---- what is attached ---- */

struct attached {
	__u32 prog_id;		   /* 0: nothing */
	enum xdp_loader_mode mode; /* of prog_id */
	char name[BPF_OBJ_NAME_LEN];
	int link_fd;	    /* our pinned link, -1 if none */
	__u32 link_prog_id; /* the program our link holds */
	__u32 link_ifindex; /* 0 when the link is defunct */
	bool beam;	    /* prog_id is attached through our link */
};

static void prog_name(__u32 id, char *name, size_t size)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd;

	snprintf(name, size, "?");
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		snprintf(name, size, "%s", info.name[0] ? info.name : "(no name)");
	close(fd);
}

/* What runs on @ifindex, and whether it is beam's link pinned in @dir. */
static int query_attached(int ifindex, const char *dir, struct attached *a)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	struct bpf_link_info li;
	__u32 len = sizeof(li);
	char path[PATH_MAX + 32];
	int err;

	memset(a, 0, sizeof(*a));
	a->link_fd = -1;
	if (ifindex) {
		err = bpf_xdp_query(ifindex, 0, &q);
		if (err)
			return err;
		if (q.hw_prog_id) {
			a->prog_id = q.hw_prog_id;
			a->mode = XDP_LOADER_OFFLOAD;
		} else if (q.drv_prog_id) {
			a->prog_id = q.drv_prog_id;
			a->mode = XDP_LOADER_NATIVE;
		} else if (q.skb_prog_id) {
			a->prog_id = q.skb_prog_id;
			a->mode = XDP_LOADER_GENERIC;
		}
		if (a->prog_id)
			prog_name(a->prog_id, a->name, sizeof(a->name));
	}

	snprintf(path, sizeof(path), "%s/" LINK_PIN_NAME, dir);
	a->link_fd = bpf_obj_get(path);
	if (a->link_fd < 0)
		return errno == ENOENT ? 0 : -errno;
	memset(&li, 0, sizeof(li));
	if (bpf_obj_get_info_by_fd(a->link_fd, &li, &len)) {
		err = -errno;
		close(a->link_fd);
		a->link_fd = -1;
		return err;
	}
	a->link_prog_id = li.prog_id;
	a->link_ifindex = li.type == BPF_LINK_TYPE_XDP ? li.xdp.ifindex : 0;
	a->beam = ifindex && a->prog_id && a->link_ifindex == (__u32)ifindex &&
		  a->link_prog_id == a->prog_id;
	return 0;
}

static void unpin_link(const char *dir)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/" LINK_PIN_NAME, dir);
	unlink(path);
}

static void attached_fini(struct attached *a)
{
	if (a->link_fd >= 0)
		close(a->link_fd);
	a->link_fd = -1;
}

/* Detach whatever program runs on @ifindex; links found by id. */
static int detach_foreign(const char *ifname, int ifindex, const struct attached *a)
{
	struct bpf_link_info li;
	__u32 id = 0, len;
	int err, fd;

	err = bpf_xdp_detach(ifindex,
			     a->mode == XDP_LOADER_GENERIC   ? XDP_FLAGS_SKB_MODE
			     : a->mode == XDP_LOADER_OFFLOAD ? XDP_FLAGS_HW_MODE
							     : XDP_FLAGS_DRV_MODE,
			     NULL);
	if (err != -EBUSY)
		goto out;

	/* Attached through someone's link: find the link and detach it. */
	while (!bpf_link_get_next_id(id, &id)) {
		fd = bpf_link_get_fd_by_id(id);
		if (fd < 0)
			continue;
		len = sizeof(li);
		memset(&li, 0, sizeof(li));
		if (!bpf_obj_get_info_by_fd(fd, &li, &len) && li.type == BPF_LINK_TYPE_XDP &&
		    li.xdp.ifindex == (__u32)ifindex) {
			err = bpf_link_detach(fd) ? -errno : 0;
			close(fd);
			goto out;
		}
		close(fd);
	}
out:
	if (err)
		pr_err("failed to detach program '%s' (id %u) from '%s': %s", a->name, a->prog_id,
		       ifname, strerror(-err));
	else
		pr_warn("detached program '%s' (id %u) from '%s' (--force)", a->name, a->prog_id,
			ifname);
	return err;
}

/* ---- attach ---- */

static void driver_name(const char *ifname, char *buf, size_t size)
{
	struct ethtool_drvinfo drv = {.cmd = ETHTOOL_GDRVINFO};
	struct ifreq ifr;
	int fd;

	snprintf(buf, size, "unknown");
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&drv;
	if (!ioctl(fd, SIOCETHTOOL, &ifr) && drv.driver[0])
		snprintf(buf, size, "%s", drv.driver);
	close(fd);
}

/* The MTU of @ifname, 0 when it cannot be read. */
static int if_mtu(const char *ifname)
{
	struct ifreq ifr;
	int fd, mtu = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (!ioctl(fd, SIOCGIFMTU, &ifr))
		mtu = ifr.ifr_mtu;
	close(fd);
	return mtu;
}

/* Why a native attach failed with @err, in words: ERANGE is the driver's
 * limit on the frame size XDP can see in one buffer. */
static void native_fail_reason(const char *ifname, const char *drv, int err, char *buf, size_t size)
{
	int mtu;

	if (err != -ERANGE) {
		snprintf(buf, size, "%s", strerror(-err));
		return;
	}
	mtu = if_mtu(ifname);
	if (mtu > 0)
		snprintf(buf, size, "MTU %d too large for native XDP on driver '%s'", mtu, drv);
	else
		snprintf(buf, size, "MTU too large for native XDP on driver '%s'", drv);
}

static int check_system(const char *root)
{
	struct statfs fs;
	int err;

	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		pr_err("kernel has no BTF (/sys/kernel/btf/vmlinux: %s): no CONFIG_DEBUG_INFO_BTF",
		       strerror(errno));
		return -ENOTSUP;
	}

	if (mkdir(root, 0700) && errno != EEXIST) {
		err = -errno;
		/* `ip netns exec` mounts a /sys of its own, without bpffs */
		pr_err("failed to create pin root '%s': %s%s", root, strerror(-err),
		       err == -ENOENT
			       ? " (is a BPF filesystem mounted there? `ip netns exec` hides "
				 "/sys/fs/bpf: use `nsenter --net=/run/netns/NAME`, or mount "
				 "-t bpf bpf DIR)"
			       : "");
		return err;
	}
	if (statfs(root, &fs)) {
		err = -errno;
		pr_err("failed to inspect pin root '%s': %s", root, strerror(-err));
		return err;
	}
	if (fs.f_type != BPF_FS_MAGIC) {
		pr_err("pin root '%s' is not on a BPF filesystem: %s", root,
		       "mount -t bpf bpf /sys/fs/bpf, or choose another --pin-root");
		return -ENOTSUP;
	}
	return 0;
}

static int make_pin_dir(const char *dir)
{
	int err;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = -errno;
		pr_err("failed to create pin directory '%s': %s", dir, strerror(-err));
		return err;
	}
	/* Pins give access to beam's maps: root only, whatever the umask was. */
	if (chmod(dir, 0700)) {
		err = -errno;
		pr_err("failed to restrict pin directory '%s' to root: %s", dir, strerror(-err));
		return err;
	}
	return 0;
}

static void write_verifier_log(const char *ifname, const char *log, struct xdp_attach_info *info)
{
	char path[PATH_MAX];
	size_t len = strlen(log);
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/beam-xdp-verifier-%s-XXXXXX.log",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", ifname);
	fd = mkstemps(path, 4);
	if (fd < 0) {
		pr_err("failed to write the verifier log to '%s': %s", path, strerror(errno));
		return;
	}
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return;
	}
	fwrite(log, 1, len, f);
	fclose(f);
	snprintf(info->verifier_log, sizeof(info->verifier_log), "%s", path);
}

static int load_program(struct beam_xdp *skel, const char *ifname, const char *dir,
			struct xdp_attach_info *info)
{
	char path[PATH_MAX + 32], *log;
	struct bpf_map *map;
	int err;

	bpf_object__for_each_map(map, skel->obj)
	{
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
		err = bpf_map__set_pin_path(map, path);
		if (err) {
			pr_err("failed to set pin path '%s': %s", path, strerror(-err));
			return err;
		}
	}

	pr_debug("loading beam's XDP program for '%s', maps pinned in '%s' (reused when present)",
		 ifname, dir);
	log = calloc(1, VERIFIER_LOG_SZ);
	if (log)
		bpf_program__set_log_buf(skel->progs.beam_xdp, log, VERIFIER_LOG_SZ);

	err = beam_xdp__load(skel);
	if (err) {
		if (log && log[0])
			write_verifier_log(ifname, log, info);
		if (info->verifier_log[0])
			pr_err("failed to load beam's XDP program for '%s': %s; verifier log in %s",
			       ifname, strerror(-err), info->verifier_log);
		else
			pr_err("failed to load beam's XDP program for '%s': %s%s", ifname,
			       strerror(-err),
			       err == -EPERM ? " (needs root: CAP_BPF and CAP_NET_ADMIN)"
					     : " (old maps pinned? beam-xdp detach first)");
	}
	bpf_program__set_log_buf(skel->progs.beam_xdp, NULL, 0);
	free(log);
	return err;
}

static int write_config(struct beam_xdp *skel, const char *ifname,
			const struct xdp_attach_opts *opts)
{
	int fd = bpf_map__fd(skel->maps.config), err;
	struct beam_config cfg;
	unsigned int i;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, &cfg)) {
		err = -errno;
		pr_err("failed to read the config of '%s': %s", ifname, strerror(-err));
		return err;
	}

	for (i = 0; i < BEAM_MAX_PORTS && !cfg.ports[i]; i++)
		;
	if (i == BEAM_MAX_PORTS)
		xdp_loader_config_default(&cfg); /* a new map */

	if (opts->nports) {
		memset(cfg.ports, 0, sizeof(cfg.ports));
		for (i = 0; i < opts->nports && i < BEAM_MAX_PORTS; i++)
			cfg.ports[i] = opts->ports[i];
	}
	if (opts->set_rate)
		cfg.initial_rate = opts->initial_rate;
	if (opts->set_rate || opts->set_burst)
		cfg.initial_burst = opts->initial_burst;
	if (opts->rate_limit == XDP_LOADER_ON)
		cfg.flags |= BEAM_CFG_RATE_LIMIT;
	else if (opts->rate_limit == XDP_LOADER_OFF)
		cfg.flags &= ~BEAM_CFG_RATE_LIMIT;
	if (opts->steer == XDP_LOADER_ON)
		cfg.flags |= BEAM_CFG_STEER;
	else if (opts->steer == XDP_LOADER_OFF)
		cfg.flags &= ~BEAM_CFG_STEER;

	if (bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY)) {
		err = -errno;
		pr_err("failed to write the config of '%s': %s", ifname, strerror(-err));
		return err;
	}
	return 0;
}

/* A new link in @mode (AUTO: native, then generic), pinned in @dir. */
static int create_link(int prog_fd, const char *ifname, int ifindex, const char *dir,
		       enum xdp_loader_mode mode, struct xdp_attach_info *info)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo);
	char path[PATH_MAX + 32], drv[32], why[96];
	int fd = -1, err = 0;

	driver_name(ifname, drv, sizeof(drv));
	if (mode != XDP_LOADER_GENERIC) {
		lo.flags = XDP_FLAGS_DRV_MODE;
		fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &lo);
		if (fd >= 0) {
			info->mode = XDP_LOADER_NATIVE;
			snprintf(info->why, sizeof(info->why), "%s: driver '%s' runs XDP itself%s",
				 mode == XDP_LOADER_AUTO ? "auto chose native" : "native as asked",
				 drv,
				 strcmp(drv, "veth")
					 ? ""
					 : "; on veth it slows unrelated TCP, --mode generic less");
		} else {
			err = -errno;
			native_fail_reason(ifname, drv, err, why, sizeof(why));
			if (mode == XDP_LOADER_NATIVE) {
				pr_err("failed to attach native XDP to '%s' (driver '%s'): %s%s",
				       ifname, drv, why,
				       err == -ERANGE ? "; try --mode generic or a smaller MTU"
						      : "");
				return err;
			}
		}
	}
	if (fd < 0) {
		lo.flags = XDP_FLAGS_SKB_MODE;
		fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &lo);
		if (fd < 0) {
			err = -errno;
			pr_err("failed to attach XDP program to '%s' in generic mode: %s", ifname,
			       strerror(-err));
			return err;
		}
		info->mode = XDP_LOADER_GENERIC;
		if (mode == XDP_LOADER_AUTO)
			snprintf(info->why, sizeof(info->why),
				 "auto chose generic: native attach failed on driver '%s' (%s)",
				 drv, why);
		else
			snprintf(info->why, sizeof(info->why), "generic as asked");
	}

	pr_debug("XDP link on '%s' in %s mode, pinning it at '%s/" LINK_PIN_NAME "'", ifname,
		 xdp_loader_mode_name(info->mode), dir);
	snprintf(path, sizeof(path), "%s/" LINK_PIN_NAME, dir);
	if (bpf_obj_pin(fd, path)) {
		err = -errno;
		pr_err("failed to pin XDP link of '%s' at '%s': %s", ifname, path, strerror(-err));
		close(fd); /* the last reference: detaches */
		return err;
	}
	close(fd);
	return 0;
}

static int prog_id_of(int fd, __u32 *id)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*id = info.id;
	return 0;
}

/* A mode change failed: attach the program that ran before (@prog_fd, its maps
 * are the pinned ones) again in its old @mode. */
static void restore_link(int prog_fd, const char *ifname, int ifindex, const char *dir,
			 enum xdp_loader_mode mode)
{
	struct xdp_attach_info back;
	__u32 id = 0;

	memset(&back, 0, sizeof(back));
	if (create_link(prog_fd, ifname, ifindex, dir, mode, &back)) {
		pr_err("failed to put beam's previous XDP program back on '%s': no XDP there now",
		       ifname);
		return;
	}
	prog_id_of(prog_fd, &id);
	pr_warn("put beam's previous XDP program (id %u) back on '%s' in %s mode, maps kept", id,
		ifname, xdp_loader_mode_name(back.mode));
}

int xdp_loader_attach(const char *ifname, const struct xdp_attach_opts *opts,
		      struct xdp_attach_info *info)
{
	const char *root = xdp_loader_pin_root(opts->pin_root);
	struct xdp_attach_info scratch;
	struct beam_xdp *skel = NULL;
	char dir[PATH_MAX];
	struct attached a;
	enum xdp_loader_mode old_mode = XDP_LOADER_AUTO;
	int ifindex, err, old_prog = -1;
	bool new_link;

	if (!info)
		info = &scratch;
	memset(info, 0, sizeof(*info));
	memset(&a, 0, sizeof(a));
	a.link_fd = -1;

	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		err = -errno;
		pr_err("no such interface '%s': %s", ifname, strerror(-err));
		return err == -ENXIO ? -ENODEV : err;
	}

	err = check_system(root);
	if (err)
		return err;
	err = xdp_loader_pin_dir(dir, sizeof(dir), root, ifname);
	if (err) {
		pr_err("pin directory for '%s' under '%s' is too long", ifname, root);
		return err;
	}
	err = make_pin_dir(dir);
	if (err)
		return err;

	err = query_attached(ifindex, dir, &a);
	if (err) {
		pr_err("failed to query XDP on '%s': %s", ifname, strerror(-err));
		goto out;
	}
	pr_debug("'%s': program %u (%s, %s mode), pinned link %s, beam's: %s", ifname, a.prog_id,
		 a.prog_id ? a.name : "-", xdp_loader_mode_name(a.mode),
		 a.link_fd >= 0 ? "present" : "absent", a.beam ? "yes" : "no");

	if (a.link_fd >= 0 && !a.beam) {
		/* A link of an earlier attach that no longer runs here. */
		pr_info("removing stale XDP link pin in '%s'", dir);
		attached_fini(&a);
		unpin_link(dir);
	}

	if (a.prog_id && !a.beam) {
		if (!opts->force) {
			pr_err("interface '%s' runs '%s' (id %u, %s mode), not beam's: see --force",
			       ifname, a.name, a.prog_id, xdp_loader_mode_name(a.mode));
			err = -EBUSY;
			goto out;
		}
		err = detach_foreign(ifname, ifindex, &a);
		if (err)
			goto out;
		info->old_prog_id = a.prog_id;
	}

	/* A mode change cannot be a link update: detach the old link first. */
	if (a.beam && opts->mode != XDP_LOADER_AUTO && opts->mode != a.mode) {
		pr_warn("changing '%s' from %s to %s mode: no XDP until the new link is up", ifname,
			xdp_loader_mode_name(a.mode), xdp_loader_mode_name(opts->mode));
		/* held to put back if the new mode fails: never leave no XDP */
		old_prog = bpf_prog_get_fd_by_id(a.prog_id);
		old_mode = a.mode;
		bpf_link_detach(a.link_fd);
		attached_fini(&a);
		unpin_link(dir);
		info->old_prog_id = a.prog_id;
		a.beam = false;
	}
	new_link = !a.beam;

	err = skel_open(&skel);
	if (err)
		goto out;
	err = load_program(skel, ifname, dir, info);
	if (err)
		goto out;
	err = write_config(skel, ifname, opts);
	if (err)
		goto out;

	if (new_link) {
		err = create_link(bpf_program__fd(skel->progs.beam_xdp), ifname, ifindex, dir,
				  opts->mode, info);
		if (err)
			goto out;
	} else {
		if (bpf_link_update(a.link_fd, bpf_program__fd(skel->progs.beam_xdp), NULL)) {
			err = -errno;
			pr_err("failed to replace beam's XDP program on '%s': %s", ifname,
			       strerror(-err));
			goto out;
		}
		info->replaced = true;
		info->old_prog_id = a.prog_id;
		info->mode = a.mode;
		snprintf(info->why, sizeof(info->why), "kept the %s mode of the running link",
			 xdp_loader_mode_name(a.mode));
	}
	err = prog_id_of(bpf_program__fd(skel->progs.beam_xdp), &info->prog_id);
	if (err)
		pr_warn("failed to read the program id on '%s': %s", ifname, strerror(-err));
	err = 0;

out:
	if (err && old_prog >= 0)
		restore_link(old_prog, ifname, ifindex, dir, old_mode);
	if (old_prog >= 0)
		close(old_prog);
	attached_fini(&a);
	beam_xdp__destroy(skel);
	return err;
}

/* ---- detach ---- */

/* Remove the pins in @dir that beam makes, then @dir. Returns how many went. */
static int remove_pins(const char *dir)
{
	char path[PATH_MAX + 32];
	struct beam_xdp *skel;
	struct bpf_map *map;
	int removed = 0;

	snprintf(path, sizeof(path), "%s/" LINK_PIN_NAME, dir);
	removed += !unlink(path);
	if (!skel_open(&skel)) {
		bpf_object__for_each_map(map, skel->obj)
		{
			snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map));
			removed += !unlink(path);
		}
		beam_xdp__destroy(skel);
	}
	if (rmdir(dir) && errno != ENOENT)
		pr_warn("left pin directory '%s': %s", dir, strerror(errno));
	return removed;
}

int xdp_loader_detach(const char *ifname, const char *pin_root)
{
	const char *root = xdp_loader_pin_root(pin_root);
	char dir[PATH_MAX];
	struct attached a;
	int ifindex, err, removed;
	struct stat st;
	bool detached = false;

	err = xdp_loader_pin_dir(dir, sizeof(dir), root, ifname);
	if (err)
		return err;

	ifindex = if_nametoindex(ifname);
	if (!ifindex && stat(dir, &st)) {
		err = -errno;
		pr_err("no such interface '%s', and no pins in '%s'", ifname, dir);
		return -ENODEV;
	}

	err = query_attached(ifindex, dir, &a);
	if (err) {
		pr_err("failed to query XDP on '%s': %s", ifname, strerror(-err));
		return err;
	}
	if (a.link_fd >= 0 && a.link_ifindex && (!ifindex || a.link_ifindex == (__u32)ifindex)) {
		if (bpf_link_detach(a.link_fd) && errno != ENOLINK) {
			err = -errno;
			pr_err("failed to detach beam's XDP link from '%s': %s", ifname,
			       strerror(-err));
			attached_fini(&a);
			return err;
		}
		detached = true;
	}
	if (!a.beam && a.prog_id)
		pr_info("'%s' runs XDP program '%s' (id %u), which is not beam's: left alone",
			ifname, a.name, a.prog_id);
	attached_fini(&a);

	removed = remove_pins(dir);
	/* The pin root goes too when it is empty; busy roots stay. */
	rmdir(root);
	return detached || removed ? 0 : -ENOENT;
}

/* ---- who uses the maps ---- */

/* The id of the map pinned at @dir/@name, 0 when there is none. */
static __u32 pinned_map_id(const char *dir, const char *name)
{
	char path[PATH_MAX + 32];
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	close(fd);
	return info.id;
}

/* Whether process @pid holds a descriptor of a map whose id is in @ids[2]. */
static bool holds_map(const char *pid, const __u32 ids[2])
{
	char path[PATH_MAX], link[64], line[128];
	bool found = false;
	struct dirent *de;
	unsigned int id;
	ssize_t n;
	FILE *f;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd/%s", pid, de->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, "anon_inode:bpf-map"))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", pid, de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "map_id: %u", &id) == 1 && id &&
			    (id == ids[0] || id == ids[1]))
				found = true;
		fclose(f);
	}
	closedir(d);
	return found;
}

/* Processes but this one holding a map of @ids (0: none). */
static int holders(const __u32 ids[2], pid_t *pids, unsigned int max)
{
	unsigned int n = 0;
	struct dirent *de;
	char *end;
	long pid;
	DIR *d;

	if (!ids[0] && !ids[1])
		return 0;
	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0 || pid == getpid() || !holds_map(de->d_name, ids))
			continue;
		if (n < max)
			pids[n] = (pid_t)pid;
		n++;
	}
	closedir(d);
	return (int)n;
}

int xdp_loader_map_users(const char *ifname, const char *pin_root, pid_t *pids, unsigned int max)
{
	char dir[PATH_MAX];
	__u32 ids[2];

	if (xdp_loader_pin_dir(dir, sizeof(dir), pin_root, ifname))
		return 0;
	/* beamd holds these two: its AF_XDP sockets' map and its connections */
	ids[0] = pinned_map_id(dir, "xsks");
	ids[1] = pinned_map_id(dir, "conns");
	return holders(ids, pids, max);
}

int xdp_loader_xsks_users(const char *ifname, const char *pin_root, pid_t *pids, unsigned int max)
{
	char dir[PATH_MAX];
	__u32 ids[2] = {0, 0};

	if (xdp_loader_pin_dir(dir, sizeof(dir), pin_root, ifname))
		return 0;
	ids[0] = pinned_map_id(dir, "xsks");
	return holders(ids, pids, max);
}

/* ---- status ---- */

unsigned int xdp_map_max_entries(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

int xdp_loader_status(const char *ifname, const char *pin_root, struct xdp_status *st)
{
	struct xdp_maps m;
	char dir[PATH_MAX];
	struct attached a;
	__u32 zero = 0;
	int err;

	memset(st, 0, sizeof(*st));
	snprintf(st->ifname, sizeof(st->ifname), "%s", ifname);
	err = xdp_loader_pin_dir(dir, sizeof(dir), pin_root, ifname);
	if (err)
		return err;
	st->ifindex = if_nametoindex(ifname);

	err = query_attached(st->ifindex, dir, &a);
	if (err) {
		pr_err("failed to query XDP on '%s': %s", ifname, strerror(-err));
		return err;
	}
	st->prog_id = a.prog_id;
	st->mode = a.mode;
	st->beam = a.beam;
	snprintf(st->prog_name, sizeof(st->prog_name), "%s", a.name);
	attached_fini(&a);

	err = xdp_maps_open_pinned(&m, pin_root, ifname);
	if (err == -ENOENT) {
		if (!st->ifindex) {
			pr_err("no such interface '%s', and no pins in '%s'", ifname, dir);
			return -ENODEV;
		}
		return 0;
	}
	if (err)
		return err;
	st->pinned = true;

	if (bpf_map_lookup_elem(m.config, &zero, &st->config))
		pr_warn("failed to read the config of '%s': %s", ifname, strerror(errno));
	st->flows_max = xdp_map_max_entries(m.flows);
	st->conns_max = xdp_map_max_entries(m.conns);
	st->rate_max = xdp_map_max_entries(m.rate);
	st->xsks_max = xdp_map_max_entries(m.xsks);
	xdp_map_count(m.flows, st->flows_max, &st->flows);
	xdp_map_count(m.conns, st->conns_max, &st->conns);
	xdp_map_count(m.rate, st->rate_max, &st->rate);
	err = xdp_stats_read(m.stats, st->reasons);
	if (err)
		pr_warn("failed to read the counters of '%s': %s", ifname, strerror(-err));
	if (m.steer_misses >= 0) {
		err = xdp_steer_misses_read(m.steer_misses, st->steer_misses);
		st->has_steer_misses = !err;
		if (err)
			pr_warn("failed to read the steering misses of '%s': %s", ifname,
				strerror(-err));
	}
	xdp_maps_close(&m);
	return 0;
}

/* Move the pins of every interface renamed since its attach to its new name
 * (at most PINS_RENAMED_MAX at a time; the rest on the next call). */
#define PINS_RENAMED_MAX 64
static void pins_follow_renames(const char *root)
{
	char from[PINS_RENAMED_MAX][NAME_MAX + 1], to[PINS_RENAMED_MAX][IF_NAMESIZE];
	char path[PATH_MAX + 300];
	unsigned int n = 0, i;
	struct dirent *de;
	int ifindex;
	DIR *d;

	d = opendir(root);
	if (!d)
		return;
	while (n < PINS_RENAMED_MAX && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", root, de->d_name);
		ifindex = pinned_link_ifindex(path);
		/* live on an interface of another name: that one was renamed */
		if (!ifindex || (int)if_nametoindex(de->d_name) == ifindex ||
		    !if_indextoname((unsigned int)ifindex, to[n]))
			continue;
		snprintf(from[n], sizeof(from[n]), "%s", de->d_name);
		n++;
	}
	closedir(d);
	for (i = 0; i < n; i++)
		pins_follow_rename(root, from[i], to[i]);
}

int xdp_loader_for_each_pinned(const char *pin_root, int (*cb)(const char *ifname, void *arg),
			       void *arg)
{
	const char *root = xdp_loader_pin_root(pin_root);
	char path[PATH_MAX + 300];
	struct dirent *de;
	int ret = 0;
	DIR *d;

	pins_follow_renames(root);
	d = opendir(root);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while (!ret && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		/* beam-xdp pins `config` for every interface; other directories
		 * (beamd's own maps, say) are not interfaces. */
		snprintf(path, sizeof(path), "%s/%s/config", root, de->d_name);
		if (access(path, F_OK))
			continue;
		ret = cb(de->d_name, arg);
	}
	closedir(d);
	return ret;
}
