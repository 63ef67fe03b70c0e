// SPDX-License-Identifier: MIT
/*
 * napi_coalesce.c - read and write an interface's NAPI deferral through a
 * sysfs of the caller's network namespace (see napi_coalesce.h).
 */
#include "napi_coalesce.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

/* What the child reports through its pipe. */
struct coalesce_reply {
	int err;
	char what[96]; /* the step that failed, for the message */
	struct napi_coalesce val;
};

/* The first line of the file @dir/@name, without its newline. */
static int read_line(const char *dir, const char *name, char *buf, size_t size)
{
	char path[160];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int read_u32(const char *dir, const char *name, uint32_t *out)
{
	unsigned long long v;
	char buf[32], *end;
	int err = read_line(dir, name, buf, sizeof(buf));

	if (err)
		return err;
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno || end == buf || *end || v > UINT32_MAX)
		return -EIO;
	*out = (uint32_t)v;
	return 0;
}

static int write_u32(const char *dir, const char *name, uint32_t v)
{
	char path[160], buf[16];
	int fd, len, err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%" PRIu32 "\n", v);
	if (write(fd, buf, (size_t)len) != len)
		err = -errno;
	close(fd);
	return err;
}

/* The MAC address of @ifname as sysfs writes it ("02:00:..."), from an ioctl
 * in this namespace; empty when it has none or it is all zeros (lo has that
 * in every namespace: it proves nothing). */
static void ioctl_mac(const char *ifname, char *buf, size_t size)
{
	const unsigned char *m;
	struct ifreq ifr = {0};
	int fd;

	buf[0] = '\0';
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	m = (const unsigned char *)ifr.ifr_hwaddr.sa_data;
	if (!ioctl(fd, SIOCGIFHWADDR, &ifr) && (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]))
		snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
			 m[5]);
	close(fd);
}

/*
 * In the child: make /sys show this network namespace. A fresh sysfs mount in
 * a private mount namespace does. The kernel refuses it (EBUSY) when /sys holds
 * this namespace's sysfs already: the same superblock on the same mount point.
 * Without the right to mount (no CAP_SYS_ADMIN) the existing /sys is used
 * only if its @ifname is ours: same index and the same, nonzero, address.
 */
static int sysfs_of_this_netns(const char *ifname, unsigned int ifindex, const char *dir,
			       struct coalesce_reply *r)
{
	char mac[24], smac[24] = "";
	uint32_t idx = 0;

	if (!unshare(CLONE_NEWNS) && !mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		if (!mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) ||
		    errno == EBUSY)
			return 0;
	}
	snprintf(r->what, sizeof(r->what), "check that /sys shows this network namespace");
	if (read_u32(dir, "ifindex", &idx) || idx != ifindex)
		return -EXDEV;
	if (read_line(dir, "address", smac, sizeof(smac)))
		return -EXDEV;
	ioctl_mac(ifname, mac, sizeof(mac));
	return !mac[0] || strcmp(mac, smac) ? -EXDEV : 0;
}

static void child_run(const char *ifname, unsigned int ifindex, const struct napi_coalesce *set,
		      struct coalesce_reply *r)
{
	char dir[48]; /* "/sys/class/net/" and a name under IF_NAMESIZE */
	uint32_t idx = 0;

	snprintf(dir, sizeof(dir), "/sys/class/net/%s", ifname);
	r->err = sysfs_of_this_netns(ifname, ifindex, dir, r);
	if (r->err)
		return;
	snprintf(r->what, sizeof(r->what), "read %s/ifindex", dir);
	r->err = read_u32(dir, "ifindex", &idx);
	if (!r->err && idx != ifindex)
		r->err = -ENODEV; /* renamed or replaced in between */
	if (r->err)
		return;
	if (set) {
		/* on: the timeout before the deferral; off: the other way round */
		bool on = set->gro_flush_timeout_ns != 0;

		snprintf(r->what, sizeof(r->what), "write %s/%s", dir,
			 on ? "gro_flush_timeout" : "napi_defer_hard_irqs");
		r->err = on ? write_u32(dir, "gro_flush_timeout", set->gro_flush_timeout_ns)
			    : write_u32(dir, "napi_defer_hard_irqs", set->defer_hard_irqs);
		if (r->err)
			return;
		snprintf(r->what, sizeof(r->what), "write %s/%s", dir,
			 on ? "napi_defer_hard_irqs" : "gro_flush_timeout");
		r->err = on ? write_u32(dir, "napi_defer_hard_irqs", set->defer_hard_irqs)
			    : write_u32(dir, "gro_flush_timeout", set->gro_flush_timeout_ns);
		if (r->err)
			return;
	}
	snprintf(r->what, sizeof(r->what), "read %s/gro_flush_timeout", dir);
	r->err = read_u32(dir, "gro_flush_timeout", &r->val.gro_flush_timeout_ns);
	if (r->err)
		return;
	snprintf(r->what, sizeof(r->what), "read %s/napi_defer_hard_irqs", dir);
	r->err = read_u32(dir, "napi_defer_hard_irqs", &r->val.defer_hard_irqs);
}

/* Run child_run() in a child process (its mount namespace dies with it). */
static int coalesce_op(const char *ifname, const struct napi_coalesce *set,
		       struct napi_coalesce *out)
{
	struct coalesce_reply r = {.err = -EIO};
	unsigned int ifindex = if_nametoindex(ifname);
	int p[2], status;
	ssize_t n;
	pid_t pid;

	if (!ifindex || strlen(ifname) >= IF_NAMESIZE || strchr(ifname, '/')) {
		pr_err("no interface '%s' in this network namespace", ifname);
		return -ENODEV;
	}
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(p[0]);
		close(p[1]);
		pr_err("failed to fork for %s's NAPI settings: %s", ifname, strerror(-err));
		return err;
	}
	if (!pid) {
		close(p[0]);
		child_run(ifname, ifindex, set, &r);
		n = write(p[1], &r, sizeof(r));
		_exit(n == (ssize_t)sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	n = read(p[0], &r, sizeof(r));
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(r)) {
		pr_err("failed to %s %s's NAPI settings: the helper process died",
		       set ? "set" : "read", ifname);
		return -EIO;
	}
	r.what[sizeof(r.what) - 1] = '\0';
	if (r.err == -EXDEV) {
		pr_err("failed to %s: /sys shows another network namespace's '%s', or one that "
		       "cannot be told from it (no hardware address), and this process may not "
		       "mount its own (needs CAP_SYS_ADMIN)",
		       r.what, ifname);
		return r.err;
	}
	if (r.err) {
		pr_err("failed to %s: %s%s", r.what, strerror(-r.err),
		       r.err == -EINVAL || r.err == -ERANGE ? " (value out of the kernel's range)"
							    : "");
		return r.err == -EINVAL ? -ERANGE : r.err;
	}
	if (out)
		*out = r.val;
	return 0;
}

int napi_coalesce_get(const char *ifname, struct napi_coalesce *out)
{
	return coalesce_op(ifname, NULL, out);
}

int napi_coalesce_set(const char *ifname, const struct napi_coalesce *in)
{
	struct napi_coalesce now;
	int err = coalesce_op(ifname, in, &now);

	if (!err && (now.gro_flush_timeout_ns != in->gro_flush_timeout_ns ||
		     now.defer_hard_irqs != in->defer_hard_irqs)) {
		pr_err("%s's NAPI settings read back as %u ns, %u polls, not %u ns, %u polls",
		       ifname, now.gro_flush_timeout_ns, now.defer_hard_irqs,
		       in->gro_flush_timeout_ns, in->defer_hard_irqs);
		return -EIO;
	}
	return err;
}

struct napi_coalesce napi_coalesce_from_us(uint32_t us)
{
	struct napi_coalesce c = {0};

	if (us) {
		c.gro_flush_timeout_ns = us * 1000u;
		c.defer_hard_irqs = 1;
	}
	return c;
}
