// SPDX-License-Identifier: MIT
/*
 * reuseport.c - load and attach beamd's sk_reuseport steering program.
 */
#include "reuseport.h"
#include "log.h"
#include "xdp_loader.h"

#include "steer.skel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <netinet/in.h>

struct reuseport {
	struct steer *skel;
};

int reuseport_probe(const struct pktio_addr *a, int type)
{
	int fd, err = 0, one = 1, zero = 0;
	in_port_t port;

	if (a->sa.sa_family == AF_INET6)
		port = a->in6.sin6_port;
	else
		port = a->in.sin_port;
	if (!port)
		return 0;
	fd = socket(a->sa.sa_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* as dual-stack as the group's sockets, so an IPv4 holder conflicts too */
	if (a->sa.sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		err = -errno;
	else if (bind(fd, &a->sa, a->len))
		err = -errno;
	close(fd);
	return err;
}

int reuseport_attach(struct reuseport **out, const int *fds, unsigned int n, const char **why)
{
	struct reuseport *rp;
	unsigned int i;
	int err, pfd;

	*why = "bad arguments";
	if (n < 2 || n > BEAM_WORKERS_MAX)
		return -EINVAL;
	if (!xdp_bpf_permitted()) {
		*why = "no right to load BPF programs";
		return -EPERM;
	}
	*why = "out of memory";
	rp = calloc(1, sizeof(*rp));
	if (!rp)
		return -ENOMEM;
	rp->skel = steer__open();
	if (!rp->skel) {
		err = -errno;
		*why = "cannot open the sk_reuseport program";
		goto err_free;
	}
	rp->skel->rodata->nworkers = n;
	err = steer__load(rp->skel);
	if (err) {
		*why = "cannot load the sk_reuseport program";
		goto err_skel;
	}
	for (i = 0; i < n; i++) {
		__u64 fd = (__u64)fds[i];

		if (bpf_map_update_elem(bpf_map__fd(rp->skel->maps.workers), &i, &fd, BPF_ANY)) {
			err = -errno;
			*why = "cannot put a worker's socket in the sk_reuseport map";
			goto err_skel;
		}
	}
	pfd = bpf_program__fd(rp->skel->progs.steer);
	if (setsockopt(fds[0], SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &pfd, sizeof(pfd))) {
		err = -errno;
		*why = "cannot attach the sk_reuseport program";
		goto err_skel;
	}
	pr_info("QUIC packets steered to %u workers by connection ID (sk_reuseport)", n);
	*out = rp;
	return 0;

err_skel:
	steer__destroy(rp->skel);
err_free:
	free(rp);
	return err;
}

int reuseport_stats(const struct reuseport *rp, uint64_t out[BEAM_STEER__MAX])
{
	int ncpu = libbpf_num_possible_cpus(), fd = bpf_map__fd(rp->skel->maps.steer_stats);
	__u64 *v;
	__u32 k;
	int c;

	if (ncpu < 1)
		return -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (k = 0; k < BEAM_STEER__MAX; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, v))
			continue;
		for (c = 0; c < ncpu; c++)
			out[k] += v[c];
	}
	free(v);
	return 0;
}

void reuseport_free(struct reuseport *rp)
{
	if (!rp)
		return;
	steer__destroy(rp->skel);
	free(rp);
}
