// SPDX-License-Identifier: MIT
/*
 * test_xdp_loader.c - the loader library beamd reuses: the maps it creates
 * without XDP, and attach / status / open-pinned / reattach / detach on the
 * loopback of a network namespace of the test's own (unshare), with a pin
 * root of its own. Needs root; without it the file reports one skip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "log.h"
#include "xdp_loader.h"
#include "xdp_stats.h"

static char pin_root[64];

struct want_map {
	const char *name;
	__u32 type, key, value, max, flags;
};

static void check_map(int fd, const struct want_map *w)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	assert_true(fd >= 0);
	memset(&info, 0, sizeof(info));
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	assert_string_equal(info.name, w->name);
	assert_int_equal(info.type, w->type);
	assert_int_equal(info.key_size, w->key);
	assert_int_equal(info.value_size, w->value);
	assert_int_equal(info.max_entries, w->max);
	assert_int_equal(info.map_flags & w->flags, w->flags);
	if (w->type != BPF_MAP_TYPE_XSKMAP)
		assert_true(info.btf_value_type_id != 0); /* bpftool prints field names */
}

static void check_maps(const struct xdp_maps *m)
{
	const struct want_map w[] = {
		{"xsks", BPF_MAP_TYPE_XSKMAP, 4, 4, BEAM_XSKS_MAX, 0},
		{"stats", BPF_MAP_TYPE_PERCPU_ARRAY, 4, sizeof(struct beam_counter),
		 BEAM_REASON__MAX, 0},
		{"flows", BPF_MAP_TYPE_LRU_HASH, sizeof(struct beam_flow_key),
		 sizeof(struct beam_flow), BEAM_FLOWS_MAX, 0},
		{"config", BPF_MAP_TYPE_ARRAY, 4, sizeof(struct beam_config), 1, 0},
		{"rate", BPF_MAP_TYPE_LRU_HASH, 16, sizeof(struct beam_rate), BEAM_RATE_MAX, 0},
		{"conns", BPF_MAP_TYPE_HASH, sizeof(struct beam_cid), sizeof(struct beam_conn),
		 BEAM_CONNS_MAX, 0},
		{"latency", BPF_MAP_TYPE_ARRAY, 4, sizeof(struct beam_hist), BEAM_HIST__MAX,
		 BPF_F_MMAPABLE},
	};
	const int fds[] = {m->xsks, m->stats, m->flows, m->config, m->rate, m->conns, m->latency};
	size_t i;

	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		check_map(fds[i], &w[i]);
}

static void test_xdp_loader_maps_create(void **state)
{
	struct beam_hist *hist;
	struct beam_conn conn = {.worker = 3}, got;
	struct beam_cid cid = {.len = 16};
	struct xdp_maps m;
	size_t size = sizeof(*hist) * BEAM_HIST__MAX;

	(void)state;
	assert_int_equal(xdp_maps_create(&m), 0);
	check_maps(&m);

	/* beamd writes conns and maps latency. */
	assert_int_equal(bpf_map_update_elem(m.conns, &cid, &conn, BPF_NOEXIST), 0);
	assert_int_equal(bpf_map_lookup_elem(m.conns, &cid, &got), 0);
	assert_int_equal(got.worker, 3);
	hist = mmap(NULL, (size + 4095) & ~4095ul, PROT_READ | PROT_WRITE, MAP_SHARED, m.latency,
		    0);
	assert_true(hist != MAP_FAILED);
	hist[BEAM_HIST_RTT].count = 7;
	munmap(hist, (size + 4095) & ~4095ul);

	xdp_maps_close(&m);
	assert_int_equal(m.flows, -1);
	xdp_maps_close(NULL);
}

static void test_xdp_loader_pin_paths(void **state)
{
	enum xdp_loader_mode mode;
	char dir[64];

	(void)state;
	setenv("BEAM_PIN_ROOT", "/sys/fs/bpf/x", 1);
	assert_string_equal(xdp_loader_pin_root(NULL), "/sys/fs/bpf/x");
	assert_string_equal(xdp_loader_pin_root("/o"), "/o");
	unsetenv("BEAM_PIN_ROOT");
	assert_string_equal(xdp_loader_pin_root(NULL), BEAM_PIN_ROOT_DEFAULT);
	assert_int_equal(xdp_loader_pin_dir(dir, sizeof(dir), "/r", "eth0"), 0);
	assert_string_equal(dir, "/r/eth0");
	assert_int_equal(xdp_loader_pin_dir(dir, 6, "/r", "eth0"), -ENAMETOOLONG);
	assert_int_equal(xdp_loader_mode_parse("generic", &mode), 0);
	assert_int_equal(mode, XDP_LOADER_GENERIC);
	assert_int_equal(xdp_loader_mode_parse("skb", &mode), 0);
	assert_int_equal(xdp_loader_mode_parse("fast", &mode), -EINVAL);
}

static void test_xdp_loader_lifecycle(void **state)
{
	struct xdp_attach_opts opts = {.pin_root = pin_root, .mode = XDP_LOADER_GENERIC};
	struct beam_counter reasons[BEAM_REASON__MAX];
	struct xdp_attach_info info;
	struct beam_config cfg;
	struct xdp_status st;
	struct xdp_maps m;
	char dir[128];
	struct stat sb;
	__u32 zero = 0, first;

	(void)state;
	assert_int_equal(xdp_maps_open_pinned(&m, pin_root, "lo"), -ENOENT);
	assert_int_equal(xdp_loader_detach("lo", pin_root), -ENOENT);

	opts.nports = 2;
	opts.ports[0] = 4433;
	opts.ports[1] = 9000;
	assert_int_equal(xdp_loader_attach("lo", &opts, &info), 0);
	assert_int_equal(info.mode, XDP_LOADER_GENERIC);
	assert_false(info.replaced);
	assert_true(info.prog_id > 0);
	first = info.prog_id;

	snprintf(dir, sizeof(dir), "%s/lo", pin_root);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);

	assert_int_equal(xdp_loader_status("lo", pin_root, &st), 0);
	assert_true(st.beam && st.pinned);
	assert_int_equal(st.prog_id, first);
	assert_int_equal(st.mode, XDP_LOADER_GENERIC);
	assert_int_equal(st.config.ports[1], 9000);
	assert_int_equal(st.flows_max, BEAM_FLOWS_MAX);

	/* beamd's view: the pinned maps, with the config beam-xdp wrote. */
	assert_int_equal(xdp_maps_open_pinned(&m, pin_root, "lo"), 0);
	check_maps(&m);
	assert_int_equal(bpf_map_lookup_elem(m.config, &zero, &cfg), 0);
	assert_int_equal(cfg.ports[0], 4433);
	assert_true(cfg.flags & BEAM_CFG_RATE_LIMIT);
	assert_int_equal(xdp_stats_read(m.stats, reasons), 0);

	/* Reattach: in place, same mode, config kept where not given. */
	memset(&opts, 0, sizeof(opts));
	opts.pin_root = pin_root;
	opts.rate_limit = XDP_LOADER_OFF;
	assert_int_equal(xdp_loader_attach("lo", &opts, &info), 0);
	assert_true(info.replaced);
	assert_int_equal(info.old_prog_id, first);
	assert_int_not_equal(info.prog_id, first);
	assert_int_equal(info.mode, XDP_LOADER_GENERIC);
	assert_int_equal(bpf_map_lookup_elem(m.config, &zero, &cfg), 0); /* same map */
	assert_int_equal(cfg.ports[1], 9000);
	assert_false(cfg.flags & BEAM_CFG_RATE_LIMIT);

	/* --initial-burst alone on a replace: the burst changes, the rate stays. */
	memset(&opts, 0, sizeof(opts));
	opts.pin_root = pin_root;
	opts.set_burst = true;
	opts.initial_burst = 7;
	assert_int_equal(xdp_loader_attach("lo", &opts, &info), 0);
	assert_int_equal(bpf_map_lookup_elem(m.config, &zero, &cfg), 0);
	assert_int_equal(cfg.initial_burst, 7);
	assert_int_equal(cfg.initial_rate, XDP_LOADER_DEFAULT_INITIAL_RATE);
	xdp_maps_close(&m);

	assert_int_equal(xdp_loader_detach("lo", pin_root), 0);
	assert_int_not_equal(stat(dir, &sb), 0);
	assert_int_equal(xdp_loader_status("lo", pin_root, &st), 0);
	assert_int_equal(st.prog_id, 0);
	assert_false(st.pinned);
	assert_int_equal(xdp_loader_detach("lo", pin_root), -ENOENT);

	assert_int_equal(xdp_loader_attach("nosuch0", &opts, &info), -ENODEV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xdp_loader_pin_paths),
		cmocka_unit_test(test_xdp_loader_maps_create),
		cmocka_unit_test(test_xdp_loader_lifecycle),
	};
	const char *why;
	int ret;

	/* our own loopback to attach to */
	why = fixture_own_netns();
	if (why)
		return fixture_skip_all(why);
	log_set_level(LOG_LVL_ERR);
	snprintf(pin_root, sizeof(pin_root), "/sys/fs/bpf/beam-tl%d", (int)getpid());

	ret = cmocka_run_group_tests(tests, NULL, NULL);
	xdp_loader_detach("lo", pin_root);
	rmdir(pin_root);
	return ret;
}
