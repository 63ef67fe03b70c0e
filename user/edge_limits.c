// SPDX-License-Identifier: MIT
/*
 * edge_limits.c - dead public peers: keepalive and TCP_USER_TIMEOUT.
 */
#include "edge_limits.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

void edge_limits_tcp_dead_peer(int fd, unsigned int secs)
{
	int one = 1, idle, intvl, cnt = 3;
	unsigned int user_ms;

	if (!secs)
		return;
	idle = secs / 2 ? (int)(secs / 2) : 1;
	intvl = secs / 6 ? (int)(secs / 6) : 1;
	user_ms = secs * 1000;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	/* also ends keepalive early once @secs pass without an answer */
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_ms, sizeof(user_ms));
}
