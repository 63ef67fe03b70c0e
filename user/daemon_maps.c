// SPDX-License-Identifier: MIT
/*
 * daemon_maps.c - beamd's conns and latency maps (see daemon_maps.h).
 */
#include "daemon_maps.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "xsk.h"

struct find_ctx {
	const char *pin_root;
	char first[IF_NAMESIZE];
	unsigned int found;
};

static int find_attached_cb(const char *ifname, void *arg)
{
	struct find_ctx *f = arg;
	struct xdp_status st;

	if (xdp_loader_status(ifname, f->pin_root, &st) || !st.beam || !st.pinned)
		return 0;
	if (!f->found++)
		snprintf(f->first, sizeof(f->first), "%s", ifname);
	return 0;
}

/*
 * Whether the beamd with process id @pid still runs. A pid that was reused by
 * another program counts as gone: its /proc/PID/comm is not beamd's. A beamd
 * in another pid namespace sharing the pins is not told apart (see
 * docs/operations.md).
 */
static bool owner_alive(__u32 pid)
{
	char path[32], comm[32] = "";
	ssize_t n;
	int fd;

	if (!pid || pid > INT32_MAX || (kill((pid_t)pid, 0) && errno != EPERM))
		return false;
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true; /* no /proc to ask: trust kill() */
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return true;
	comm[n] = '\0';
	return !strcmp(comm, "beamd\n");
}

/*
 * Delete the conns entries of @owner (0: of every beamd that no longer runs).
 * Several beamds may share one conns map; each entry says whose it is, and a
 * live beamd's entries are never touched. Keys are collected first: deleting
 * while walking a hash map can restart the walk.
 */
static unsigned int conns_remove(int fd, __u32 owner)
{
	struct beam_cid key, next, *gone;
	unsigned int n = 0, walked = 0, i;
	struct beam_conn c;
	bool first = true;

	gone = calloc(BEAM_CONNS_MAX, sizeof(*gone));
	if (!gone)
		return 0;
	while (walked++ < BEAM_CONNS_MAX && !bpf_map_get_next_key(fd, first ? NULL : &key, &next)) {
		first = false;
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &c))
			continue;
		if (owner ? c.owner_pid == owner : !owner_alive(c.owner_pid))
			gone[n++] = key;
	}
	for (i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &gone[i]);
	free(gone);
	return n;
}

static void conns_clear_stale(int fd)
{
	unsigned int n = conns_remove(fd, 0);

	if (n)
		pr_info("removed %u stale entries from conns left by a beamd that no longer runs",
			n);
}

/* beam's pinned XDP link of @ifname, or -1. */
static int open_link(const char *pin_root, const char *ifname)
{
	char dir[PATH_MAX], path[PATH_MAX + 8];

	if (xdp_loader_pin_dir(dir, sizeof(dir), pin_root, ifname))
		return -1;
	snprintf(path, sizeof(path), "%s/link", dir);
	return bpf_obj_get(path);
}

/* Whether the link @fd still has its program attached to an interface. */
static bool link_attached(int fd)
{
	struct bpf_link_info li;
	__u32 len = sizeof(li);

	memset(&li, 0, sizeof(li));
	if (bpf_obj_get_info_by_fd(fd, &li, &len))
		return true; /* cannot tell: assume it is */
	return li.type == BPF_LINK_TYPE_XDP && li.xdp.ifindex;
}

static __u32 map_id(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

/*
 * A new link is pinned but over new maps (a detach, then an attach): put
 * beamd's AF_XDP sockets in the new xsks map so that receive resumes. conns
 * and latency stay the maps the workers write (swapping them under the
 * workers would race). Returns how many sockets went in, or -errno.
 */
static int adopt_new_maps(struct daemon_maps *d, const struct xdp_maps *now)
{
	int n = xsk_ports_register(d->ifname, now->xsks);

	if (n < 0)
		pr_err("failed to put beamd's AF_XDP sockets in the new xsks map of '%s': %s",
		       d->ifname, strerror(-n));
	else if (n)
		pr_warn("beam's XDP on '%s' came back with new maps: %d AF_XDP socket%s registered",
			d->ifname, n, n == 1 ? "" : "s");
	return n;
}

/*
 * The interface beamd started on was deleted, perhaps re-created under the
 * same name with another ifindex: its AF_XDP sockets stay bound to the dead
 * one, and frames the program redirects to them are lost. Take them out of
 * xsks (the one opened at start and the one pinned now) so that the program
 * passes QUIC to the kernel and the UDP socket; say it once.
 */
static void iface_check(struct daemon_maps *d, const char *pin_root)
{
	struct xdp_maps now;
	int idx, n;

	if (d->xsk_off || !d->ifindex)
		return;
	idx = (int)if_nametoindex(d->ifname);
	if (idx == d->ifindex)
		return;
	d->xsk_off = true;
	n = xsk_ports_retire(d->ifname, d->m.xsks);
	if (!xdp_maps_open_pinned(&now, pin_root, d->ifname)) {
		if (map_id(now.xsks) != map_id(d->m.xsks))
			xsk_ports_retire(d->ifname, now.xsks);
		xdp_maps_close(&now);
	}
	if (n > 0)
		pr_warn("interface '%s' was deleted or re-created (ifindex %d, now %d): AF_XDP "
			"off until beamd restarts (its %d socket%s took the old one), QUIC takes "
			"the UDP socket",
			d->ifname, d->ifindex, idx, n, n == 1 ? "" : "s");
}

void daemon_maps_check_link(struct daemon_maps *d, const char *pin_root)
{
	struct xdp_maps now;
	bool opened, same = false;
	int fd, n = 0;

	if (d->link < 0 || link_attached(d->link)) {
		d->link_misses = 0;
		return;
	}
	iface_check(d, pin_root);

	/* beam-xdp attach pins a new link: over the same maps after a mode
	 * change, over new ones after a detach. beamd --user cannot open them. */
	fd = open_link(pin_root, d->ifname);
	opened = fd >= 0 && link_attached(fd) && !xdp_maps_open_pinned(&now, pin_root, d->ifname);
	if (opened) {
		same = map_id(now.xsks) == map_id(d->m.xsks) &&
		       map_id(now.conns) == map_id(d->m.conns);
		if (!same)
			n = adopt_new_maps(d, &now);
		xdp_maps_close(&now);
	}
	if (same)
		pr_info("beam's XDP program on '%s' has a new link over the same maps: carrying on",
			d->ifname);
	if (same || n > 0) {
		close(d->link);
		d->link = fd;
		d->link_misses = 0;
		d->link_lost = false;
		return;
	}
	if (fd >= 0)
		close(fd);
	/* an attach in another mode leaves a moment without a link: give it 3 s */
	if (d->link_lost || ++d->link_misses < 3)
		return;
	d->link_lost = true;
	pr_err("beam's XDP program on '%s' was detached or replaced: AF_XDP and conns map cut off",
	       d->ifname);
}

static int map_latency(struct daemon_maps *d)
{
	size_t len = (size_t)BEAM_HIST__MAX * sizeof(struct beam_hist);
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	len = (len + page - 1) / page * page;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, d->m.latency, 0);
	if (p == MAP_FAILED)
		return -errno;
	d->latency = p;
	d->latency_map_len = len;
	return 0;
}

static int pin_own(struct daemon_maps *d, const char *pin_root, uint16_t port)
{
	char path[PATH_MAX + 16];
	int err;

	snprintf(d->own_dir, sizeof(d->own_dir), "%s/beamd-%u", xdp_loader_pin_root(pin_root),
		 port);
	mkdir(xdp_loader_pin_root(pin_root), 0700);
	if (mkdir(d->own_dir, 0700) && errno != EEXIST) {
		err = -errno;
		goto fail;
	}
	/* A pin left by a beamd killed on this port is replaced. */
	snprintf(path, sizeof(path), "%s/conns", d->own_dir);
	unlink(path);
	if (bpf_obj_pin(d->m.conns, path)) {
		err = -errno;
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/latency", d->own_dir);
	unlink(path);
	if (bpf_obj_pin(d->m.latency, path)) {
		err = -errno;
		goto fail;
	}
	pr_info("no beam XDP program attached: conns and latency maps pinned in %s", d->own_dir);
	return 0;
fail:
	pr_warn("failed to pin beamd's maps in '%s': %s (they work, unpinned)", d->own_dir,
		strerror(-err));
	d->own_dir[0] = '\0';
	return err;
}

static int open_bpf(struct daemon_maps *d, const char *pin_root, const char *ifname, uint16_t port)
{
	struct find_ctx f = {.pin_root = pin_root};
	int err;

	if (!ifname) {
		xdp_loader_for_each_pinned(pin_root, find_attached_cb, &f);
		if (f.found > 1)
			pr_warn("beam is attached to %u interfaces: beamd uses %s's conns map",
				f.found, f.first);
		if (f.found)
			ifname = f.first;
	}
	if (ifname) {
		err = xdp_maps_open_pinned(&d->m, pin_root, ifname);
		if (err)
			return err;
		snprintf(d->ifname, sizeof(d->ifname), "%s", ifname);
		d->ifindex = (int)if_nametoindex(ifname);
		d->link = open_link(pin_root, ifname);
	} else {
		/* without rights libbpf would explain at length: one line will do */
		if (!xdp_bpf_permitted())
			return -EPERM;
		err = xdp_maps_create(&d->m);
		if (err)
			return err;
		pin_own(d, pin_root, port);
	}
	conns_clear_stale(d->m.conns);
	err = map_latency(d);
	if (err) {
		pr_err("failed to mmap the latency map: %s", strerror(-err));
		return err;
	}
	d->bpf = true;
	return 0;
}

int daemon_maps_open(struct daemon_maps *d, const char *pin_root, const char *ifname, uint16_t port)
{
	int err;

	memset(d, 0, sizeof(*d));
	d->pid = (__u32)getpid();
	d->link = -1;
	xdp_maps_init(&d->m);
	err = open_bpf(d, pin_root, ifname, port);
	if (!err)
		return 0;
	if (ifname) {
		if (err != -ENOENT)
			pr_err("failed to open beam's maps for --iface '%s': %s", ifname,
			       strerror(-err));
		else if (!if_nametoindex(ifname))
			pr_err("failed to open beam's maps for --iface '%s': no such interface",
			       ifname);
		else
			pr_err("cannot use --iface '%s': beam is not attached (beam-xdp attach %s)",
			       ifname, ifname);
		return err;
	}

	daemon_maps_close(d);
	d->latency = calloc(BEAM_HIST__MAX, sizeof(struct beam_hist));
	if (!d->latency)
		return -ENOMEM;
	pr_warn("BPF maps are off (%s): metrics keep working from memory, bpftool shows no conns",
		strerror(-err));
	return 0;
}

void daemon_maps_close(struct daemon_maps *d)
{
	char path[PATH_MAX + 16];

	if (d->m.conns >= 0 && d->conns_written)
		conns_remove(d->m.conns, d->pid);
	if (d->own_dir[0]) {
		snprintf(path, sizeof(path), "%s/conns", d->own_dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/latency", d->own_dir);
		unlink(path);
		rmdir(d->own_dir);
		d->own_dir[0] = '\0';
	}
	if (d->latency_map_len)
		munmap(d->latency, d->latency_map_len);
	else
		free(d->latency);
	d->latency = NULL;
	d->latency_map_len = 0;
	xdp_maps_close(&d->m);
	if (d->link >= 0)
		close(d->link);
	d->link = -1;
	d->bpf = false;
}

int daemon_maps_conn_put(struct daemon_maps *d, const struct beam_cid *cid,
			 const struct beam_conn *conn)
{
	struct beam_conn c = *conn;
	int err;

	if (d->m.conns < 0)
		return 0;
	c.owner_pid = d->pid;
	if (bpf_map_update_elem(d->m.conns, cid, &c, BPF_ANY)) {
		err = -errno;
		pr_warn_rl("failed to update conns map entry: %s", strerror(-err));
		return err;
	}
	d->conns_written = true;
	return 0;
}

void daemon_maps_conn_del(struct daemon_maps *d, const struct beam_cid *cid)
{
	if (d->m.conns >= 0)
		bpf_map_delete_elem(d->m.conns, cid);
}
