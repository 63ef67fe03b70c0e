// SPDX-License-Identifier: MIT
/*
 * privdrop.c - drop root to a user and a short list of capabilities, with the
 * capget/capset system calls directly (no libcap): two 32-bit words of each
 * set, _LINUX_CAPABILITY_VERSION_3.
 */
#include "privdrop.h"
#include "log.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static const int kept_caps[] = {CAP_NET_ADMIN, CAP_BPF, CAP_NET_RAW, CAP_NET_BIND_SERVICE};

int privdrop_lookup(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw;
	char *end;
	unsigned long v;

	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		v = strtoul(user, &end, 10);
		if (*user && !*end && v < UINT32_MAX)
			pw = getpwuid((uid_t)v);
		if (!pw && *user && !*end && v && v < UINT32_MAX) {
			*uid = (uid_t)v;
			*gid = (gid_t)v;
			return 0;
		}
	}
	if (!pw) {
		pr_err("failed to find user '%s': no such user", user);
		return -ENOENT;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

static int capset_kept(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	size_t i;

	memset(data, 0, sizeof(data));
	for (i = 0; i < sizeof(kept_caps) / sizeof(kept_caps[0]); i++) {
		int c = kept_caps[i];

		data[c / 32].effective |= 1u << (c % 32);
		data[c / 32].permitted |= 1u << (c % 32);
	}
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}

static bool is_kept(int cap)
{
	size_t i;

	for (i = 0; i < sizeof(kept_caps) / sizeof(kept_caps[0]); i++)
		if (kept_caps[i] == cap)
			return true;
	return false;
}

int privdrop_to(uid_t uid, gid_t gid)
{
	struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
	int cap, err;

	if (geteuid() != 0) {
		pr_err("failed to switch to uid %u: not running as root", (unsigned int)uid);
		return -EPERM;
	}
	/*
	 * AF_XDP charges a UMEM to RLIMIT_MEMLOCK once CAP_IPC_LOCK is gone, but
	 * beamd makes its sockets before the drop and BPF maps are charged to
	 * the memory cgroup: lifting the limit is a spare, its failure (no
	 * CAP_SYS_RESOURCE, as in some containers) harms nothing.
	 */
	if (setrlimit(RLIMIT_MEMLOCK, &unlimited))
		pr_debug("RLIMIT_MEMLOCK stays as it is: %s", strerror(errno));
	/* the bounding set needs CAP_SETPCAP, so it goes while we are root */
	for (cap = 0; cap <= CAP_LAST_CAP; cap++) {
		if (is_kept(cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL) {
			err = -errno;
			pr_err("failed to drop capability %d from the bounding set: %s", cap,
			       strerror(errno));
			return err;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		pr_warn("failed to clear ambient capabilities: %s", strerror(errno));
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)) {
		err = -errno;
		pr_err("failed to keep capabilities across the user change: %s", strerror(errno));
		return err;
	}
	if (setgroups(1, &gid) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid)) {
		err = -errno;
		pr_err("failed to switch to uid %u gid %u: %s", (unsigned int)uid,
		       (unsigned int)gid, strerror(errno));
		return err;
	}
	err = capset_kept();
	if (err) {
		pr_err("failed to set capabilities after the user change: %s", strerror(-err));
		return err;
	}
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		err = -errno;
		pr_err("failed to set no_new_privs: %s", strerror(errno));
		return err;
	}
	return 0;
}

bool privdrop_has_cap(int cap)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];

	if (cap < 0 || cap >= 64 || syscall(SYS_capget, &hdr, data))
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}
