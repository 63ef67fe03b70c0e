// SPDX-License-Identifier: MIT
/*
 * pktio_udp.c - UDP sockets behind struct pktio.
 *
 * One socket, one batch of receive slots reused on every recv (the data is
 * the caller's until the next call), GSO trains sent as one message with a
 * UDP_SEGMENT control message, GRO trains received as one slot whose
 * segment size the caller splits by.
 */
#include "pktio_udp.h"

#include "log.h"
#include "netaddr.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CMSG_SPACE_RX                                                       \
	(CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in6_pktinfo)) + \
	 CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(int)))
#define CMSG_SPACE_TX                                             \
	(CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(int)) + \
	 CMSG_SPACE(sizeof(struct in6_pktinfo)))

struct pktio_udp {
	struct pktio io;
	int fd;
	int family;
	bool gso;
	bool connected;
	bool wildcard; /* bound to any address: the local address matters per datagram */
	struct pktio_addr local;
	uint8_t *rxbuf;
	struct mmsghdr rx_msgs[PKTIO_UDP_BATCH];
	struct iovec rx_iov[PKTIO_UDP_BATCH];
	struct sockaddr_storage rx_names[PKTIO_UDP_BATCH];
	uint8_t rx_cmsg[PKTIO_UDP_BATCH][CMSG_SPACE_RX];
	struct mmsghdr tx_msgs[PKTIO_UDP_BATCH];
	struct iovec tx_iov[PKTIO_UDP_BATCH];
	uint8_t tx_cmsg[PKTIO_UDP_BATCH][CMSG_SPACE_TX];
};

static struct pktio_udp *to_udp(struct pktio *io)
{
	return (struct pktio_udp *)io;
}

static void parse_cmsgs(struct msghdr *mh, struct pktio_pkt *pkt, const struct pktio_udp *u)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
			int seg;

			memcpy(&seg, CMSG_DATA(cm), sizeof(seg));
			if (seg > 0 && (uint32_t)seg < pkt->len)
				pkt->gso_size = (uint16_t)seg;
		} else if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TOS) {
			pkt->ecn = *(uint8_t *)CMSG_DATA(cm) & IPTOS_ECN_MASK;
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_TCLASS) {
			int tc;

			memcpy(&tc, CMSG_DATA(cm), sizeof(tc));
			pkt->ecn = tc & IPTOS_ECN_MASK;
		} else if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			pkt->local.in.sin_family = AF_INET;
			pkt->local.in.sin_addr = pi.ipi_addr;
			pkt->local.in.sin_port = u->local.in.sin_port;
			pkt->local.len = sizeof(struct sockaddr_in);
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			pkt->local.in6.sin6_family = AF_INET6;
			pkt->local.in6.sin6_addr = pi.ipi6_addr;
			pkt->local.in6.sin6_port = u->local.in6.sin6_port;
			pkt->local.len = sizeof(struct sockaddr_in6);
		}
	}
	if (!pkt->local.len)
		pkt->local = u->local;
}

static int udp_recv(struct pktio *io, struct pktio_pkt *pkts, unsigned int max)
{
	struct pktio_udp *u = to_udp(io);
	unsigned int i;
	int n;

	if (max > PKTIO_UDP_BATCH)
		max = PKTIO_UDP_BATCH;
	for (i = 0; i < max; i++) {
		struct msghdr *mh = &u->rx_msgs[i].msg_hdr;

		u->rx_iov[i].iov_base = u->rxbuf + (size_t)i * PKTIO_UDP_RX_SIZE;
		u->rx_iov[i].iov_len = PKTIO_UDP_RX_SIZE;
		mh->msg_iov = &u->rx_iov[i];
		mh->msg_iovlen = 1;
		mh->msg_name = &u->rx_names[i];
		mh->msg_namelen = sizeof(u->rx_names[i]);
		mh->msg_control = u->rx_cmsg[i];
		mh->msg_controllen = sizeof(u->rx_cmsg[i]);
		mh->msg_flags = 0;
	}
	n = recvmmsg(u->fd, u->rx_msgs, max, MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		return -errno;
	}
	for (i = 0; i < (unsigned int)n; i++) {
		struct msghdr *mh = &u->rx_msgs[i].msg_hdr;
		struct pktio_pkt *p = &pkts[i];

		memset(p, 0, sizeof(*p));
		p->data = u->rx_iov[i].iov_base;
		p->len = u->rx_msgs[i].msg_len;
		if (mh->msg_namelen <= sizeof(struct sockaddr_in6)) {
			memcpy(&p->peer.sa, mh->msg_name, mh->msg_namelen);
			p->peer.len = mh->msg_namelen;
		}
		parse_cmsgs(mh, p, u);
	}
	return n;
}

static size_t put_tx_cmsgs(struct pktio_udp *u, uint8_t *buf, const struct pktio_pkt *p)
{
	struct msghdr mh = {.msg_control = buf, .msg_controllen = CMSG_SPACE_TX};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	size_t used = 0;
	bool v6 = u->family == AF_INET6;

	memset(buf, 0, CMSG_SPACE_TX);
	if (p->gso_size && p->len > p->gso_size) {
		uint16_t seg = p->gso_size;

		cm->cmsg_level = SOL_UDP;
		cm->cmsg_type = UDP_SEGMENT;
		cm->cmsg_len = CMSG_LEN(sizeof(seg));
		memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
		used += CMSG_SPACE(sizeof(seg));
		cm = (struct cmsghdr *)(buf + used);
	}
	if (p->ecn) {
		int tos = p->ecn;

		cm->cmsg_level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
		cm->cmsg_type = v6 ? IPV6_TCLASS : IP_TOS;
		cm->cmsg_len = CMSG_LEN(sizeof(tos));
		memcpy(CMSG_DATA(cm), &tos, sizeof(tos));
		used += CMSG_SPACE(sizeof(tos));
		cm = (struct cmsghdr *)(buf + used);
	}
	if (u->wildcard && !u->connected && p->local.len) {
		if (v6 && p->local.sa.sa_family == AF_INET6) {
			struct in6_pktinfo pi = {.ipi6_addr = p->local.in6.sin6_addr};

			cm->cmsg_level = IPPROTO_IPV6;
			cm->cmsg_type = IPV6_PKTINFO;
			cm->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
			used += CMSG_SPACE(sizeof(pi));
		} else if (!v6 && p->local.sa.sa_family == AF_INET) {
			struct in_pktinfo pi = {.ipi_spec_dst = p->local.in.sin_addr};

			cm->cmsg_level = IPPROTO_IP;
			cm->cmsg_type = IP_PKTINFO;
			cm->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
			used += CMSG_SPACE(sizeof(pi));
		}
	}
	return used;
}

static int udp_send(struct pktio *io, const struct pktio_pkt *pkts, unsigned int n)
{
	struct pktio_udp *u = to_udp(io);
	unsigned int i;
	int sent;

	if (n > PKTIO_UDP_BATCH)
		n = PKTIO_UDP_BATCH;
	for (i = 0; i < n; i++) {
		struct msghdr *mh = &u->tx_msgs[i].msg_hdr;
		const struct pktio_pkt *p = &pkts[i];
		size_t clen;

		u->tx_iov[i].iov_base = p->data;
		u->tx_iov[i].iov_len = p->len;
		memset(mh, 0, sizeof(*mh));
		mh->msg_iov = &u->tx_iov[i];
		mh->msg_iovlen = 1;
		if (!u->connected) {
			mh->msg_name = (void *)&p->peer.sa;
			mh->msg_namelen = p->peer.len;
		}
		clen = put_tx_cmsgs(u, u->tx_cmsg[i], p);
		if (clen) {
			mh->msg_control = u->tx_cmsg[i];
			mh->msg_controllen = clen;
		}
	}
	do {
		sent = sendmmsg(u->fd, u->tx_msgs, n, MSG_DONTWAIT);
	} while (sent < 0 && errno == EINTR);
	if (sent < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			return -EAGAIN;
		if (errno == EIO && u->gso) {
			/* a NIC without checksum offload refuses GSO: drop it */
			pr_warn("UDP GSO failed on the socket (EIO): turned off from now on");
			u->gso = false;
		}
		return -errno;
	}
	return sent;
}

static int udp_fd(struct pktio *io)
{
	return to_udp(io)->fd;
}

static void udp_free(struct pktio *io)
{
	struct pktio_udp *u = to_udp(io);

	if (!u)
		return;
	if (u->fd >= 0)
		close(u->fd);
	free(u->rxbuf);
	free(u);
}

static const struct pktio_ops udp_ops = {
	.name = "udp",
	.recv = udp_recv,
	.send = udp_send,
	.fd = udp_fd,
	.free = udp_free,
};

static void size_buffer(int fd, int opt, int force_opt, const char *what)
{
	int want = PKTIO_UDP_BUF_SIZE, got = 0;
	socklen_t len = sizeof(got);

	if (setsockopt(fd, SOL_SOCKET, force_opt, &want, sizeof(want)))
		setsockopt(fd, SOL_SOCKET, opt, &want, sizeof(want));
	if (!getsockopt(fd, SOL_SOCKET, opt, &got, &len) && got < want)
		pr_warn_rl("UDP %s buffer capped at %d bytes (wanted %d): raise net.core.%s_max",
			   what, got / 2, want, opt == SO_RCVBUF ? "rmem" : "wmem");
}

void pktio_udp_size_buffers(int fd)
{
	size_buffer(fd, SO_RCVBUF, SO_RCVBUFFORCE, "receive");
	size_buffer(fd, SO_SNDBUF, SO_SNDBUFFORCE, "send");
}

static void set_opts(struct pktio_udp *u)
{
	int one = 1, zero = 0;
	bool v6 = u->family == AF_INET6;

	if (v6)
		setsockopt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	pktio_udp_size_buffers(u->fd);
	if (v6) {
		setsockopt(u->fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof(one));
		setsockopt(u->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
		/* the IPv4 side of a dual-stack socket */
		setsockopt(u->fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one));
		setsockopt(u->fd, IPPROTO_IPV6, IPV6_DONTFRAG, &one, sizeof(one));
	} else {
		int pmtu = IP_PMTUDISC_DO;

		setsockopt(u->fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one));
		setsockopt(u->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		setsockopt(u->fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
	}
	if (setsockopt(u->fd, SOL_UDP, UDP_GRO, &one, sizeof(one)))
		pr_info("UDP GRO not available: %s", strerror(errno));
	/* probe GSO: a zero segment size is accepted exactly when the option exists */
	u->gso = !setsockopt(u->fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero));
	if (!u->gso)
		pr_info("UDP GSO not available: %s", strerror(errno));
}

static bool addr_is_wildcard(const struct pktio_addr *a)
{
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == htonl(INADDR_ANY);
	return !memcmp(&a->in6.sin6_addr, &in6addr_any, sizeof(in6addr_any));
}

static int udp_open(struct pktio **out, const struct pktio_addr *bind_addr,
		    const struct pktio_addr *peer, bool reuseport)
{
	struct pktio_udp *u;
	socklen_t len;
	int err;

	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->io.ops = &udp_ops;
	u->family = bind_addr->sa.sa_family;
	u->rxbuf = malloc((size_t)PKTIO_UDP_BATCH * PKTIO_UDP_RX_SIZE);
	if (!u->rxbuf) {
		err = -ENOMEM;
		goto err_free;
	}
	u->fd = socket(u->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (u->fd < 0) {
		err = -errno;
		pr_err("failed to open a UDP socket: %s", strerror(errno));
		goto err_free;
	}
	set_opts(u);
	if (reuseport && setsockopt(u->fd, SOL_SOCKET, SO_REUSEPORT, &(int){1}, sizeof(int))) {
		err = -errno;
		pr_err("failed to share a UDP port (SO_REUSEPORT): %s", strerror(errno));
		goto err_free;
	}

	if (bind(u->fd, &bind_addr->sa, bind_addr->len)) {
		err = -errno;
		pr_err("failed to bind UDP socket: %s", strerror(errno));
		goto err_free;
	}
	u->wildcard = addr_is_wildcard(bind_addr);

	if (peer && connect(u->fd, &peer->sa, peer->len)) {
		char where[NETADDR_STR_MAX];

		err = -errno;
		pr_err("failed to connect a UDP socket to %s: %s",
		       netaddr_str(peer, where, sizeof(where)), strerror(-err));
		goto err_free;
	}
	u->connected = peer != NULL;

	len = sizeof(u->local.in6);
	if (getsockname(u->fd, &u->local.sa, &len)) {
		err = -errno;
		goto err_free;
	}
	u->local.len = len;
	*out = &u->io;
	return 0;

err_free:
	udp_free(&u->io);
	return err;
}

int pktio_udp_new(struct pktio **out, const struct pktio_addr *bind_addr,
		  const struct pktio_addr *peer)
{
	return udp_open(out, bind_addr, peer, false);
}

int pktio_udp_new_shared(struct pktio **out, const struct pktio_addr *bind_addr)
{
	return udp_open(out, bind_addr, NULL, true);
}

int pktio_udp_fd(struct pktio *io)
{
	return to_udp(io)->fd;
}

int pktio_udp_local(struct pktio *io, struct pktio_addr *out)
{
	*out = to_udp(io)->local;
	return 0;
}

bool pktio_udp_has_gso(struct pktio *io)
{
	return to_udp(io)->gso;
}
