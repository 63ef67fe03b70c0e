// SPDX-License-Identifier: MIT
/*
 * vlan_set.c - the host's VLAN devices from rtnetlink, and the kernel's
 * decision on a tagged frame (see vlan_set.h).
 */
#include "vlan_set.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define VLAN_DUMP_BUF	    65536 /* more than the kernel puts in one dump message */
#define VLAN_DUMP_RECVS_MAX 4096  /* buffers read from one dump before giving up */
#define VLAN_DUMP_TRIES	    2	  /* dumps tried while they come inconsistent */
#define VLAN_PROTO_8021Q    0x8100
#define VLAN_VID_MASK	    0x0fff

void vlan_set_init(struct vlan_set *s)
{
	memset(s, 0, sizeof(*s));
}

void vlan_set_fini(struct vlan_set *s)
{
	if (!s)
		return;
	free(s->devs);
	vlan_set_init(s);
}

int vlan_set_add(struct vlan_set *s, const struct vlan_dev *d)
{
	struct vlan_dev *grown;
	size_t cap;

	if (d->vid > VLAN_VID_MASK)
		return -EINVAL;
	if (s->n >= VLAN_SET_MAX) {
		s->truncated = true;
		return -ENOSPC;
	}
	if (s->n == s->cap) {
		cap = s->cap ? s->cap * 2 : 16;
		grown = realloc(s->devs, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		s->devs = grown;
		s->cap = cap;
	}
	s->devs[s->n++] = *d;
	return 0;
}

static int dev_cmp(const void *a, const void *b)
{
	const struct vlan_dev *x = a, *y = b;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->vid != y->vid)
		return x->vid < y->vid ? -1 : 1;
	return 0;
}

void vlan_set_sort(struct vlan_set *s)
{
	if (s->n > 1)
		qsort(s->devs, s->n, sizeof(*s->devs), dev_cmp);
}

static const struct vlan_dev *find(const struct vlan_set *s, int parent, uint16_t proto,
				   uint16_t vid)
{
	struct vlan_dev key = {.parent = parent, .proto = proto, .vid = vid};

	if (!s->n)
		return NULL;
	return bsearch(&key, s->devs, s->n, sizeof(*s->devs), dev_cmp);
}

bool vlan_set_accepts(const struct vlan_set *s, int ifindex, const uint16_t *tpid,
		      const uint16_t *tci, unsigned int ntags)
{
	const struct vlan_dev *d;
	unsigned int i;
	uint16_t vid;

	if (ntags > 2)
		return false;
	for (i = 0; i < ntags; i++) {
		vid = tci[i] & VLAN_VID_MASK;
		d = find(s, ifindex, tpid[i], vid);
		if (d) {
			if (!d->up)
				return false;
			ifindex = d->ifindex;
			continue;
		}
		/* a priority tag: the kernel strips it and stays on this device */
		if (vid)
			return false;
	}
	return true;
}

/* The attributes in @len bytes at @p into @tb[0..@max] (others skipped).
 * -EBADMSG when one overruns the space; nothing past it is read. */
static int attrs_parse(const void *p, size_t len, const struct rtattr **tb, unsigned int max)
{
	const unsigned char *at = p;
	const struct rtattr *a;
	unsigned int type;
	size_t alen, step;

	memset(tb, 0, (max + 1) * sizeof(*tb));
	while (len >= sizeof(*a)) {
		a = (const struct rtattr *)at;
		alen = a->rta_len;
		if (alen < sizeof(*a) || alen > len)
			return -EBADMSG;
		type = a->rta_type & NLA_TYPE_MASK;
		if (type <= max)
			tb[type] = a;
		step = RTA_ALIGN(alen);
		if (step >= len)
			break;
		at += step;
		len -= step;
	}
	return 0;
}

/* The u16 or u32 in @a, false when its payload is shorter. */
static bool attr_u16(const struct rtattr *a, uint16_t *v)
{
	if (!a || RTA_PAYLOAD(a) < sizeof(*v))
		return false;
	memcpy(v, RTA_DATA(a), sizeof(*v));
	return true;
}

static bool attr_u32(const struct rtattr *a, uint32_t *v)
{
	if (!a || RTA_PAYLOAD(a) < sizeof(*v))
		return false;
	memcpy(v, RTA_DATA(a), sizeof(*v));
	return true;
}

/* IFLA_INFO_KIND is "vlan", NUL-terminated or not. */
static bool kind_is_vlan(const struct rtattr *a)
{
	size_t len;

	if (!a)
		return false;
	len = RTA_PAYLOAD(a);
	return len >= 4 && !memcmp(RTA_DATA(a), "vlan", 4) &&
	       (len == 4 || ((const char *)RTA_DATA(a))[4] == '\0');
}

/* One RTM_NEWLINK message: add it to @s if it is a VLAN device of this
 * namespace. 0 also for links that are not; -EBADMSG, -ENOMEM. */
static int link_parse(struct vlan_set *s, const struct nlmsghdr *nh)
{
	const struct rtattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1], *vlan[IFLA_VLAN_MAX + 1];
	struct vlan_dev d = {0};
	struct ifinfomsg ifi;
	uint16_t proto_be;
	uint32_t link;
	int err;

	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(ifi)))
		return -EBADMSG;
	memcpy(&ifi, NLMSG_DATA(nh), sizeof(ifi));
	err = attrs_parse((const char *)nh + NLMSG_LENGTH(sizeof(ifi)),
			  nh->nlmsg_len - NLMSG_LENGTH(sizeof(ifi)), tb, IFLA_MAX);
	if (err)
		return err;
	/* a parent in another namespace has an ifindex of that namespace */
	if (!tb[IFLA_LINKINFO] || tb[IFLA_LINK_NETNSID] || !attr_u32(tb[IFLA_LINK], &link))
		return 0;

	err = attrs_parse(RTA_DATA(tb[IFLA_LINKINFO]), RTA_PAYLOAD(tb[IFLA_LINKINFO]), info,
			  IFLA_INFO_MAX);
	if (err)
		return err;
	if (!kind_is_vlan(info[IFLA_INFO_KIND]) || !info[IFLA_INFO_DATA])
		return 0;

	err = attrs_parse(RTA_DATA(info[IFLA_INFO_DATA]), RTA_PAYLOAD(info[IFLA_INFO_DATA]), vlan,
			  IFLA_VLAN_MAX);
	if (err)
		return err;
	if (!attr_u16(vlan[IFLA_VLAN_ID], &d.vid))
		return 0;
	/* IFLA_VLAN_PROTOCOL is big-endian; kernels before 3.10 had 802.1Q only */
	d.proto =
		attr_u16(vlan[IFLA_VLAN_PROTOCOL], &proto_be) ? ntohs(proto_be) : VLAN_PROTO_8021Q;
	d.parent = (int)link;
	d.ifindex = ifi.ifi_index;
	d.up = ifi.ifi_flags & IFF_UP;
	err = vlan_set_add(s, &d);
	return err == -ENOSPC || err == -EINVAL ? 0 : err;
}

int vlan_set_parse(struct vlan_set *s, const void *buf, size_t len, uint32_t seq)
{
	const unsigned char *p = buf;
	const struct nlmsghdr *nh;
	struct nlmsgerr e;
	size_t mlen, step;
	int err, done;

	while (len >= sizeof(*nh)) {
		nh = (const struct nlmsghdr *)p;
		mlen = nh->nlmsg_len;
		if (mlen < sizeof(*nh) || mlen > len)
			return -EBADMSG;
		if (nh->nlmsg_seq == seq) {
			if (nh->nlmsg_flags & NLM_F_DUMP_INTR)
				return -EINTR;
			switch (nh->nlmsg_type) {
			case NLMSG_DONE:
				/* newer kernels put the dump's error after the header */
				if (mlen >= NLMSG_LENGTH(sizeof(done))) {
					memcpy(&done, NLMSG_DATA(nh), sizeof(done));
					if (done < 0)
						return done;
				}
				return 1;
			case NLMSG_ERROR:
				if (mlen < NLMSG_LENGTH(sizeof(e)))
					return -EBADMSG;
				memcpy(&e, NLMSG_DATA(nh), sizeof(e));
				return e.error < 0 ? e.error : -EPROTO;
			case RTM_NEWLINK:
				err = link_parse(s, nh);
				if (err)
					return err;
				break;
			default:
				break;
			}
		}
		step = NLMSG_ALIGN(mlen);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	return 0;
}

/* Ask for every link of kind "vlan" (kernels since 4.7 filter the dump by
 * kind; older ones send every link, which link_parse() sorts out). */
static int dump_request(int fd, uint32_t seq)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
		char attrs[RTA_SPACE(RTA_SPACE(sizeof("vlan")))];
	} req;
	struct rtattr *info, *kind;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_type = RTM_GETLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = seq;
	req.ifi.ifi_family = AF_UNSPEC;
	info = (struct rtattr *)req.attrs;
	info->rta_type = IFLA_LINKINFO;
	info->rta_len = RTA_LENGTH(RTA_SPACE(sizeof("vlan")));
	kind = RTA_DATA(info);
	kind->rta_type = IFLA_INFO_KIND;
	kind->rta_len = RTA_LENGTH(sizeof("vlan"));
	memcpy(RTA_DATA(kind), "vlan", sizeof("vlan"));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi)) + RTA_ALIGN(info->rta_len);

	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0)
		return -errno;
	return 0;
}

/* One dump into @fresh: 0, or -errno. */
static int dump_once(int fd, uint32_t seq, unsigned char *buf, struct vlan_set *fresh)
{
	struct sockaddr_nl from;
	struct iovec iov = {.iov_base = buf, .iov_len = VLAN_DUMP_BUF};
	struct msghdr msg = {
		.msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;
	int err, i;

	err = dump_request(fd, seq);
	if (err)
		return err;

	for (i = 0; i < VLAN_DUMP_RECVS_MAX; i++) {
		msg.msg_namelen = sizeof(from);
		n = recvmsg(fd, &msg, 0);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		if (msg.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		if (msg.msg_namelen < sizeof(from) || from.nl_pid != 0)
			continue; /* only the kernel answers dumps */
		err = vlan_set_parse(fresh, buf, (size_t)n, seq);
		if (err)
			return err > 0 ? 0 : err;
	}
	return -E2BIG;
}

int vlan_set_load(struct vlan_set *s)
{
	struct timeval tv = {.tv_sec = 1};
	static uint32_t seq;
	struct vlan_set fresh;
	unsigned char *buf;
	int fd, err, try;

	buf = malloc(VLAN_DUMP_BUF);
	if (!buf)
		return -ENOMEM;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0) {
		err = -errno;
		goto err_free;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		err = -errno;
		goto err_close;
	}

	for (try = 0; try < VLAN_DUMP_TRIES; try++) {
		vlan_set_init(&fresh);
		err = dump_once(fd, __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED), buf, &fresh);
		if (err != -EINTR)
			break;
		vlan_set_fini(&fresh);
	}
	if (err) {
		vlan_set_fini(&fresh);
		goto err_close;
	}
	vlan_set_sort(&fresh);
	vlan_set_fini(s);
	*s = fresh;

err_close:
	close(fd);
err_free:
	free(buf);
	return err;
}
