// SPDX-License-Identifier: MIT
/*
 * test_vlan_set.c - the host's VLAN devices and the kernel's verdict on a
 * tagged frame: one tag, two (802.1ad outside 802.1Q), devices that are down,
 * priority tags; and the rtnetlink dump parser fed good, foreign and broken
 * messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vlan_set.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#define ETH1 2 /* the AF_XDP interface's ifindex in these tests */
#define Q    0x8100
#define AD   0x88a8

static void add(struct vlan_set *s, int parent, uint16_t proto, uint16_t vid, int ifindex, bool up)
{
	struct vlan_dev d = {
		.parent = parent, .proto = proto, .vid = vid, .ifindex = ifindex, .up = up};

	assert_int_equal(vlan_set_add(s, &d), 0);
}

static bool accepts(const struct vlan_set *s, int ifindex, unsigned int ntags, uint16_t tpid0,
		    uint16_t tci0, uint16_t tpid1, uint16_t tci1)
{
	uint16_t tpid[2] = {tpid0, tpid1}, tci[2] = {tci0, tci1};

	return vlan_set_accepts(s, ifindex, tpid, tci, ntags);
}

static void test_vlan_set_one_tag(void **state)
{
	struct vlan_set s;

	(void)state;
	vlan_set_init(&s);
	add(&s, 3, Q, 100, 20, true); /* another interface's VLAN 100 */
	add(&s, ETH1, Q, 100, 10, true);
	add(&s, ETH1, AD, 300, 11, true);
	vlan_set_sort(&s);

	assert_true(accepts(&s, ETH1, 0, 0, 0, 0, 0));
	assert_true(accepts(&s, ETH1, 1, Q, 100, 0, 0));
	assert_true(accepts(&s, ETH1, 1, Q, 0xe000 | 100, 0, 0)); /* priority and DEI bits */
	assert_false(accepts(&s, ETH1, 1, AD, 100, 0, 0));	  /* the protocol counts */
	assert_false(accepts(&s, ETH1, 1, Q, 101, 0, 0));
	assert_false(accepts(&s, ETH1, 1, Q, 300, 0, 0));
	assert_true(accepts(&s, ETH1, 1, AD, 300, 0, 0));
	assert_false(accepts(&s, 4, 1, Q, 100, 0, 0)); /* no VLANs on that one */
	assert_false(accepts(&s, ETH1, 3, Q, 100, Q, 100));
	vlan_set_fini(&s);
	vlan_set_fini(NULL);
}

static void test_vlan_set_two_tags(void **state)
{
	struct vlan_set s;

	(void)state;
	vlan_set_init(&s);
	add(&s, ETH1, AD, 100, 11, true); /* the outer device */
	add(&s, 11, Q, 200, 12, true);	  /* the inner one, on it */
	add(&s, ETH1, Q, 300, 13, true);  /* on the interface itself: not an inner VLAN */
	vlan_set_sort(&s);

	assert_true(accepts(&s, ETH1, 2, AD, 100, Q, 200));
	assert_false(accepts(&s, ETH1, 2, AD, 100, Q, 201));
	assert_false(accepts(&s, ETH1, 2, AD, 100, Q, 300));
	assert_false(accepts(&s, ETH1, 2, AD, 101, Q, 200));
	assert_false(accepts(&s, ETH1, 2, Q, 100, Q, 200));
	/* the outer device alone takes a frame with only its tag */
	assert_true(accepts(&s, ETH1, 1, AD, 100, 0, 0));
	vlan_set_fini(&s);
}

static void test_vlan_set_down_device_refuses(void **state)
{
	struct vlan_set s;

	(void)state;
	vlan_set_init(&s);
	add(&s, ETH1, Q, 100, 10, false);
	add(&s, ETH1, AD, 100, 11, true);
	add(&s, 11, Q, 200, 12, false);
	vlan_set_sort(&s);

	assert_false(accepts(&s, ETH1, 1, Q, 100, 0, 0));
	assert_false(accepts(&s, ETH1, 2, AD, 100, Q, 200));
	vlan_set_fini(&s);
}

/* VLAN id 0 without a device is a priority tag: stripped, the lookup goes
 * on from the same device. */
static void test_vlan_set_priority_tag(void **state)
{
	struct vlan_set s;

	(void)state;
	vlan_set_init(&s);
	assert_true(accepts(&s, ETH1, 1, Q, 0x6000, 0, 0));
	assert_false(accepts(&s, ETH1, 2, Q, 0, Q, 100));
	add(&s, ETH1, Q, 100, 10, true);
	add(&s, ETH1, AD, 0, 14, false); /* a device for id 0 that is down decides */
	vlan_set_sort(&s);
	assert_true(accepts(&s, ETH1, 2, Q, 0, Q, 100));
	assert_false(accepts(&s, ETH1, 1, AD, 0, 0, 0));
	vlan_set_fini(&s);
}

static void test_vlan_set_capped(void **state)
{
	struct vlan_dev d = {.parent = ETH1, .proto = Q, .up = true};
	struct vlan_set s;
	unsigned int i;

	(void)state;
	vlan_set_init(&s);
	for (i = 0; i < VLAN_SET_MAX; i++) {
		d.vid = i % 4096;
		d.proto = i < 4096 ? Q : AD;
		d.parent = ETH1 + (int)(i / 8192);
		d.ifindex = 100 + (int)i;
		assert_int_equal(vlan_set_add(&s, &d), 0);
	}
	assert_false(s.truncated);
	assert_int_equal(vlan_set_add(&s, &d), -ENOSPC);
	assert_true(s.truncated);
	d.vid = 4096;
	assert_int_equal(vlan_set_add(&s, &d), -EINVAL);
	vlan_set_sort(&s);
	assert_true(accepts(&s, ETH1, 1, AD, 4095, 0, 0));
	vlan_set_fini(&s);
}

/* ---- rtnetlink messages ---- */

struct nlbuf {
	union {
		unsigned char b[8192];
		struct nlmsghdr align;
	} u;
	size_t len;
};

static size_t put(struct nlbuf *m, const void *data, size_t len)
{
	size_t at = m->len;

	assert_true(at + NLMSG_ALIGN(len) <= sizeof(m->u.b));
	memset(m->u.b + at, 0, NLMSG_ALIGN(len));
	if (data)
		memcpy(m->u.b + at, data, len);
	m->len += NLMSG_ALIGN(len);
	return at;
}

static size_t msg_begin(struct nlbuf *m, uint16_t type, uint32_t seq, uint16_t flags)
{
	struct nlmsghdr nh = {.nlmsg_type = type, .nlmsg_seq = seq, .nlmsg_flags = flags};

	return put(m, &nh, sizeof(nh));
}

static void msg_end(struct nlbuf *m, size_t at)
{
	((struct nlmsghdr *)(m->u.b + at))->nlmsg_len = m->len - at;
}

static size_t attr(struct nlbuf *m, uint16_t type, const void *data, size_t len)
{
	struct rtattr a = {.rta_len = RTA_LENGTH(len), .rta_type = type};
	size_t at = put(m, &a, sizeof(a));

	if (len)
		put(m, data, len);
	/* the padding belongs to no one: rta_len stays exact */
	return at;
}

static void nest_end(struct nlbuf *m, size_t at)
{
	((struct rtattr *)(m->u.b + at))->rta_len = m->len - at;
}

/* An RTM_NEWLINK of @kind ("vlan", "veth", ...) on @parent. */
static void link_msg(struct nlbuf *m, uint32_t seq, int ifindex, bool up, const char *kind,
		     uint32_t parent, uint16_t proto, uint16_t vid, bool netnsid)
{
	struct ifinfomsg ifi = {
		.ifi_family = AF_UNSPEC, .ifi_index = ifindex, .ifi_flags = up ? IFF_UP : 0};
	uint16_t proto_be = htons(proto);
	size_t msg, info, data;
	int32_t nsid = 1;

	msg = msg_begin(m, RTM_NEWLINK, seq, NLM_F_MULTI);
	put(m, &ifi, sizeof(ifi));
	attr(m, IFLA_IFNAME, "eth1.x", 7);
	attr(m, IFLA_LINK, &parent, sizeof(parent));
	if (netnsid)
		attr(m, IFLA_LINK_NETNSID, &nsid, sizeof(nsid));
	info = attr(m, IFLA_LINKINFO, NULL, 0);
	attr(m, IFLA_INFO_KIND, kind, strlen(kind) + 1);
	data = attr(m, IFLA_INFO_DATA, NULL, 0);
	attr(m, IFLA_VLAN_ID, &vid, sizeof(vid));
	attr(m, IFLA_VLAN_PROTOCOL, &proto_be, sizeof(proto_be));
	nest_end(m, data);
	nest_end(m, info);
	msg_end(m, msg);
}

static void done_msg(struct nlbuf *m, uint32_t seq)
{
	size_t msg = msg_begin(m, NLMSG_DONE, seq, NLM_F_MULTI);
	int32_t zero = 0;

	put(m, &zero, sizeof(zero));
	msg_end(m, msg);
}

static void test_vlan_set_parse_dump(void **state)
{
	struct nlbuf m = {0};
	struct vlan_set s;

	(void)state;
	vlan_set_init(&s);
	link_msg(&m, 7, 10, true, "vlan", ETH1, AD, 100, false);
	link_msg(&m, 7, 20, true, "veth", ETH1, Q, 5, false);  /* not a VLAN */
	link_msg(&m, 7, 21, true, "vlan", ETH1, Q, 6, true);   /* parent elsewhere */
	link_msg(&m, 6, 22, true, "vlan", ETH1, Q, 7, false);  /* another request's */
	link_msg(&m, 7, 23, true, "vlanx", ETH1, Q, 8, false); /* another kind */
	link_msg(&m, 7, 11, false, "vlan", 10, Q, 200, false);
	assert_int_equal(vlan_set_parse(&s, m.u.b, m.len, 7), 0);
	m.len = 0;
	done_msg(&m, 7);
	assert_int_equal(vlan_set_parse(&s, m.u.b, m.len, 7), 1);
	assert_int_equal(s.n, 2);
	vlan_set_sort(&s);
	assert_int_equal(s.devs[0].parent, ETH1);
	assert_int_equal(s.devs[0].proto, AD);
	assert_int_equal(s.devs[0].vid, 100);
	assert_int_equal(s.devs[0].ifindex, 10);
	assert_true(s.devs[0].up);
	assert_int_equal(s.devs[1].parent, 10);
	assert_false(s.devs[1].up);
	assert_true(accepts(&s, ETH1, 1, AD, 100, 0, 0));
	assert_false(accepts(&s, ETH1, 2, AD, 100, Q, 200));
	assert_false(accepts(&s, ETH1, 1, Q, 6, 0, 0));
	vlan_set_fini(&s);
}

static void test_vlan_set_parse_errors(void **state)
{
	struct nlbuf m = {0};
	struct nlmsgerr e = {.error = -EPERM};
	struct vlan_set s;
	size_t msg, len;

	(void)state;
	vlan_set_init(&s);

	/* NLMSG_ERROR carries the kernel's error; DUMP_INTR says retry */
	msg = msg_begin(&m, NLMSG_ERROR, 7, 0);
	put(&m, &e, sizeof(e));
	msg_end(&m, msg);
	assert_int_equal(vlan_set_parse(&s, m.u.b, m.len, 7), -EPERM);
	m.len = 0;
	msg = msg_begin(&m, NLMSG_DONE, 7, NLM_F_MULTI | NLM_F_DUMP_INTR);
	msg_end(&m, msg);
	assert_int_equal(vlan_set_parse(&s, m.u.b, m.len, 7), -EINTR);

	/* a message longer than what was received */
	m.len = 0;
	link_msg(&m, 7, 10, true, "vlan", ETH1, Q, 100, false);
	len = m.len;
	assert_int_equal(vlan_set_parse(&s, m.u.b, len - 4, 7), -EBADMSG);
	/* a length under the header's */
	((struct nlmsghdr *)m.u.b)->nlmsg_len = 8;
	assert_int_equal(vlan_set_parse(&s, m.u.b, len, 7), -EBADMSG);
	/* an ifinfomsg cut short */
	((struct nlmsghdr *)m.u.b)->nlmsg_len = NLMSG_HDRLEN + 4;
	assert_int_equal(vlan_set_parse(&s, m.u.b, len, 7), -EBADMSG);
	/* an attribute running past its message */
	((struct nlmsghdr *)m.u.b)->nlmsg_len = len;
	((struct rtattr *)(m.u.b + NLMSG_LENGTH(sizeof(struct ifinfomsg))))->rta_len = 4000;
	assert_int_equal(vlan_set_parse(&s, m.u.b, len, 7), -EBADMSG);
	/* and one shorter than its own header */
	((struct rtattr *)(m.u.b + NLMSG_LENGTH(sizeof(struct ifinfomsg))))->rta_len = 2;
	assert_int_equal(vlan_set_parse(&s, m.u.b, len, 7), -EBADMSG);
	assert_int_equal(s.n, 0);
	/* a few bytes that are no message at all are nothing */
	assert_int_equal(vlan_set_parse(&s, m.u.b, 3, 7), 0);
	vlan_set_fini(&s);
}

/* Random bytes and random cuts of a good dump: never a crash, never a read
 * past the buffer (ASan builds see that), never more than VLAN_SET_MAX. */
static void test_vlan_set_parse_garbage(void **state)
{
	struct nlbuf m = {0}, bad;
	struct vlan_set s;
	unsigned int i, j;

	(void)state;
	srand(6);
	link_msg(&m, 7, 10, true, "vlan", ETH1, Q, 100, false);
	link_msg(&m, 7, 11, true, "vlan", 10, Q, 200, false);
	done_msg(&m, 7);
	for (i = 0; i < 20000; i++) {
		size_t len = (size_t)rand() % (m.len + 1);
		unsigned char *copy;

		bad = m;
		for (j = 0; j < 4; j++)
			bad.u.b[(size_t)rand() % m.len] = (unsigned char)rand();
		copy = malloc(len ? len : 1);
		assert_non_null(copy);
		memcpy(copy, bad.u.b, len);
		vlan_set_init(&s);
		vlan_set_parse(&s, copy, len, 7);
		assert_true(s.n <= 2);
		vlan_set_fini(&s);
		free(copy);
	}
}

/* The host's own dump: whatever VLANs it has, the load works. */
static void test_vlan_set_load_host(void **state)
{
	struct vlan_set s;
	size_t i;

	(void)state;
	vlan_set_init(&s);
	assert_int_equal(vlan_set_load(&s), 0);
	for (i = 0; i < s.n; i++)
		assert_true(s.devs[i].vid <= 4095 && s.devs[i].ifindex > 0);
	assert_int_equal(vlan_set_load(&s), 0);
	vlan_set_fini(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vlan_set_one_tag),
		cmocka_unit_test(test_vlan_set_two_tags),
		cmocka_unit_test(test_vlan_set_down_device_refuses),
		cmocka_unit_test(test_vlan_set_priority_tag),
		cmocka_unit_test(test_vlan_set_capped),
		cmocka_unit_test(test_vlan_set_parse_dump),
		cmocka_unit_test(test_vlan_set_parse_errors),
		cmocka_unit_test(test_vlan_set_parse_garbage),
		cmocka_unit_test(test_vlan_set_load_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
