// SPDX-License-Identifier: MIT
/*
 * test_edge_hub.c - what beamd's workers share: the tunnel registry, the
 * per-token connection count, and the inboxes (messages posted from other
 * threads arrive on the owner's loop, in order; a closed inbox frees them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "edge_hub.h"
#include "log.h"

static void test_edge_hub_registry(void **state)
{
	struct hub_tunnel *a, *b, *c;
	struct edge_hub *h;

	(void)state;
	assert_int_equal(edge_hub_new(&h, 0), -EINVAL);
	assert_int_equal(edge_hub_new(&h, EDGE_HUB_WORKERS_MAX + 1), -EINVAL);
	assert_int_equal(edge_hub_new(&h, 2), 0);
	assert_int_equal(edge_hub_workers(h), 2);
	edge_hub_lock(h);
	a = edge_hub_add(h, PROTO_KIND_TCP, 4000, "alice", "web", 0);
	b = edge_hub_add(h, PROTO_KIND_HTTP, 8000, "alice", "one.test", 1);
	c = edge_hub_add(h, PROTO_KIND_UDP, 4000, "bob", "dns", 1);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_true(a->id != b->id && b->id != c->id && a->id != c->id);
	assert_ptr_equal(edge_hub_find(h, PROTO_KIND_TCP, "alice", "web", 0), a);
	assert_ptr_equal(edge_hub_find(h, PROTO_KIND_TCP, "alice", "web", 4000), a);
	assert_null(edge_hub_find(h, PROTO_KIND_TCP, "alice", "web", 4001));
	assert_null(edge_hub_find(h, PROTO_KIND_TCP, "bob", "web", 0));
	assert_ptr_equal(edge_hub_by_host(h, "one.test"), b);
	assert_null(edge_hub_by_host(h, "web"));
	/* tcp and udp ports are separate spaces */
	assert_ptr_equal(edge_hub_by_port(h, PROTO_KIND_UDP, 4000), c);
	assert_ptr_equal(edge_hub_by_port(h, PROTO_KIND_TCP, 4000), a);
	assert_int_equal(edge_hub_token_tunnels(h, "alice"), 2);
	assert_ptr_equal(edge_hub_by_id(h, b->id), b);
	edge_hub_del(h, b->id);
	edge_hub_del(h, 12345); /* unknown: no-op */
	assert_null(edge_hub_by_host(h, "one.test"));
	assert_int_equal(edge_hub_token_tunnels(h, "alice"), 1);
	edge_hub_unlock(h);
	edge_hub_free(h);
}

/* Thousands of http host names: each found, none after it is deleted,
 * and a tcp tunnel named like a host is no http route. */
static void test_edge_hub_many_hosts(void **state)
{
	struct hub_tunnel *t[3000];
	struct edge_hub *h;
	char name[64];
	unsigned int i;

	(void)state;
	assert_int_equal(edge_hub_new(&h, 1), 0);
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "h%u.example", i);
		t[i] = edge_hub_add(h, PROTO_KIND_HTTP, 8000, "alice", name, 0);
		assert_non_null(t[i]);
	}
	assert_non_null(edge_hub_add(h, PROTO_KIND_TCP, 4000, "alice", "tcp.example", 0));
	assert_null(edge_hub_by_host(h, "tcp.example"));
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "h%u.example", i);
		assert_ptr_equal(edge_hub_by_host(h, name), t[i]);
	}
	for (i = 0; i < 3000; i += 2)
		edge_hub_del(h, t[i]->id);
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "h%u.example", i);
		if (i % 2)
			assert_ptr_equal(edge_hub_by_host(h, name), t[i]);
		else
			assert_null(edge_hub_by_host(h, name));
	}
	assert_null(edge_hub_by_host(h, "h3000.example"));
	edge_hub_free(h);
}

static void test_edge_hub_token_conns(void **state)
{
	struct edge_hub *h;

	(void)state;
	assert_int_equal(edge_hub_new(&h, 2), 0);
	assert_int_equal(edge_hub_token_conn_get(h, "alice", 2), 0);
	assert_int_equal(edge_hub_token_conn_get(h, "alice", 2), 0);
	assert_int_equal(edge_hub_token_conn_get(h, "alice", 2), -EBUSY);
	assert_int_equal(edge_hub_token_conn_get(h, "bob", 2), 0);
	edge_hub_token_conn_put(h, "alice");
	assert_int_equal(edge_hub_token_conn_get(h, "alice", 2), 0);
	edge_hub_token_conn_put(h, "carol"); /* never counted: no-op */
	/* buffers: each worker's share, summed */
	assert_int_equal(edge_hub_buffers(h, 0, 100), 100);
	assert_int_equal(edge_hub_buffers(h, 1, 50), 150);
	assert_int_equal(edge_hub_buffers(h, 0, 10), 60);
	edge_hub_free(h);
}

#define NMSG 2000

struct tmsg {
	struct hub_msg hdr;
	unsigned int seq;
};

struct sink {
	struct event_base *base;
	unsigned int got, next, out_of_order, freed;
};

static void sink_cb(struct hub_msg *m, void *arg)
{
	struct tmsg *t = (struct tmsg *)m;
	struct sink *s = arg;

	s->out_of_order += t->seq != s->next;
	s->next = t->seq + 1;
	if (++s->got == NMSG)
		event_base_loopbreak(s->base);
	free(t);
}

static struct sink *freed_into;

static void sink_free(struct hub_msg *m)
{
	freed_into->freed++;
	free(m);
}

struct poster {
	struct edge_hub *h;
};

static void *post_all(void *arg)
{
	struct poster *p = arg;
	unsigned int i;

	for (i = 0; i < NMSG; i++) {
		struct tmsg *t = calloc(1, sizeof(*t));

		t->seq = i;
		if (edge_hub_post(p->h, 1, &t->hdr))
			return (void *)1;
	}
	return NULL;
}

static void test_edge_hub_inbox_across_threads(void **state)
{
	struct timeval limit = {.tv_sec = 10};
	struct sink s = {0};
	struct poster p;
	struct edge_hub *h;
	struct tmsg *t;
	pthread_t th;
	void *rc;

	(void)state;
	s.base = event_base_new();
	freed_into = &s;
	assert_int_equal(edge_hub_new(&h, 2), 0);
	assert_int_equal(edge_hub_inbox_open(h, 2, s.base, sink_cb, sink_free, &s), -EINVAL);
	assert_int_equal(edge_hub_inbox_open(h, 1, s.base, sink_cb, sink_free, &s), 0);
	p.h = h;
	assert_int_equal(pthread_create(&th, NULL, post_all, &p), 0);
	event_base_loopexit(s.base, &limit);
	event_base_dispatch(s.base);
	assert_int_equal(pthread_join(th, &rc), 0);
	assert_null(rc);
	assert_int_equal(s.got, NMSG);
	assert_int_equal(s.out_of_order, 0);

	/* queued but never delivered: freed on close; posted after: freed at once */
	t = calloc(1, sizeof(*t));
	assert_int_equal(edge_hub_post(h, 1, &t->hdr), 0);
	edge_hub_inbox_close(h, 1);
	assert_int_equal(s.freed, 1);
	t = calloc(1, sizeof(*t));
	assert_int_equal(edge_hub_post(h, 1, &t->hdr), -ESHUTDOWN);
	assert_int_equal(s.freed, 2);
	edge_hub_free(h);
	event_base_free(s.base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edge_hub_registry),
		cmocka_unit_test(test_edge_hub_many_hosts),
		cmocka_unit_test(test_edge_hub_token_conns),
		cmocka_unit_test(test_edge_hub_inbox_across_threads),
	};

	log_set_level(LOG_LVL_ERR);
	if (evthread_use_pthreads())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
