# SPDX-License-Identifier: MIT
#
# beam: one entry point. Everything generated goes to $(BUILD); vmlinux.h to
# vmlinux/. `make V=1` shows full commands, `make SANITIZE=1` builds with
# ASan+UBSan into build/san.

ROOT      := $(abspath .)
DEPS_DIR  ?= $(ROOT)/.deps
PREFIX    := $(DEPS_DIR)/prefix
DEPS_STAMP := $(PREFIX)/.ngtcp2-1.11.0

ifeq ($(SANITIZE),1)
BUILD     ?= build/san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD     ?= build
SAN_FLAGS :=
endif

CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -dumpmachine)

export PKG_CONFIG_PATH := $(PREFIX)/lib/pkgconfig

CFLAGS    ?= -O2 -g
WARNINGS  := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wvla -Wformat=2
CPPFLAGS  := -Iinclude -Iuser -I$(BUILD) -I$(PREFIX)/include -D_GNU_SOURCE -MMD -MP
ALL_CFLAGS := -std=gnu11 $(WARNINGS) $(CFLAGS) $(SAN_FLAGS)
# Installed binaries find wolfSSL and ngtcp2 in $(LIBDIR_BEAM) ($$ORIGIN/../lib/beam);
# in the build tree that path does not exist and the clone's .deps is used.
# DT_RPATH, not RUNPATH: it also finds libngtcp2 for libngtcp2_crypto_wolfssl
# in programs that use only the latter (RUNPATH is not searched for
# dependencies of dependencies).
LDFLAGS   += -L$(PREFIX)/lib -Wl,-rpath,'$$ORIGIN/../lib/beam' -Wl,-rpath,$(PREFIX)/lib \
	     -Wl,--disable-new-dtags $(SAN_FLAGS)
LDLIBS    := -lngtcp2_crypto_wolfssl -lngtcp2 -lwolfssl -levent_pthreads -levent \
	     -lxdp -lbpf -lelf -lz -lpthread -lm
BPF_CFLAGS := -g -O2 -target bpf -Wall -D__TARGET_ARCH_$(ARCH) -Iinclude -Ivmlinux \
	      -I/usr/include/$(MULTIARCH)

# Sources are found, not listed: a new module is built by being there.
PROGS      := beam-xdp beamd beam
MAIN_SRCS  := $(PROGS:%=user/%.c)
LIB_SRCS   := $(filter-out $(MAIN_SRCS),$(wildcard user/*.c))
BPF_SRCS   := $(wildcard bpf/*.bpf.c)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
BPFT_SRCS  := $(wildcard tests/bpf/test_*.c)
BENCH_SRCS := $(wildcard bench/*.c)
TOOL_SRCS  := $(wildcard tools/*.c)
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)

LIB_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/%.o)
BPF_OBJS   := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
SKELS      := $(BPF_SRCS:bpf/%.bpf.c=$(BUILD)/%.skel.h)
LIBBEAM    := $(BUILD)/libbeam.a
BINS       := $(PROGS:%=$(BUILD)/%)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
BPFT_BINS  := $(BPFT_SRCS:tests/bpf/%.c=$(BUILD)/tests/bpf/%)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
TOOL_BINS  := $(TOOL_SRCS:tools/%.c=$(BUILD)/tools/%)
REPLAY_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/tests/fuzz/%)

# libFuzzer builds: clang, every library object instrumented, in build/fuzz.
FUZZ_BUILD  := build/fuzz
FUZZ_FLAGS  := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined
FUZZ_OBJS   := $(LIB_SRCS:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_BINS   := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_TIME   ?= 30
VMLINUX    := vmlinux/vmlinux.h

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps test test-unit stress bench demo fuzz format format-check clean distclean install

all: $(BINS) $(UNIT_BINS) $(BPFT_BINS) $(BENCH_BINS) $(TOOL_BINS) $(REPLAY_BINS)

# The checksum test built for arm64, so tests/run.sh runs the NEON routine
# under qemu-user on any machine; built when `make deps` has installed the
# cross compiler and cross-compiled cmocka (tests/run.sh says when it is not).
AARCH64_CC     ?= aarch64-linux-gnu-gcc
AARCH64_PREFIX := $(DEPS_DIR)/aarch64
AARCH64_CMOCKA := $(AARCH64_PREFIX)/lib/libcmocka-static.a
AARCH64_BINS   := $(BUILD)/aarch64/test_csum
ifneq ($(and $(shell command -v $(AARCH64_CC)),$(wildcard $(AARCH64_CMOCKA))),)
all: $(AARCH64_BINS)
endif

$(BUILD)/aarch64/test_csum: tests/unit/test_csum.c user/csum.c user/csum.h $(AARCH64_CMOCKA)
	$(call msg,CC-ARM64,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(AARCH64_CC) -Iuser -I$(AARCH64_PREFIX)/include -D_GNU_SOURCE -std=gnu11 $(WARNINGS) \
		$(CFLAGS) $(filter-out %.h,$^) -o $@

deps:
	$(Q)tools/deps.sh

$(DEPS_STAMP):
	$(Q)tools/deps.sh

$(VMLINUX):
	$(call msg,GEN,$@)
	$(Q)test -r /sys/kernel/btf/vmlinux || \
		{ echo "error: /sys/kernel/btf/vmlinux is missing: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF=y is needed)" >&2; exit 1; }
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(VMLINUX) | $(BUILD)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@

# Every user object may include any skeleton, so skeletons come first.
$(BUILD)/%.o: %.c $(SKELS) $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(LIBBEAM): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BINS): $(BUILD)/%: $(BUILD)/user/%.o $(LIBBEAM)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $< $(LIBBEAM) $(LDLIBS) -o $@

$(UNIT_BINS): $(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(LIBBEAM)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $< $(LIBBEAM) $(LDLIBS) -lcmocka -o $@

$(BPFT_BINS): $(BUILD)/tests/bpf/%: $(BUILD)/tests/bpf/%.o $(LIBBEAM)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $< $(LIBBEAM) $(LDLIBS) -lcmocka -o $@

$(BENCH_BINS): $(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIBBEAM)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $< $(LIBBEAM) $(LDLIBS) -o $@

$(TOOL_BINS): $(BUILD)/tools/%: $(BUILD)/tools/%.o $(LIBBEAM)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $< $(LIBBEAM) $(LDLIBS) -o $@

# Fuzz targets replayed over their corpus by `make test`, with the normal compiler.
$(REPLAY_BINS): $(BUILD)/tests/fuzz/%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay.o $(LIBBEAM)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $< $(BUILD)/tests/fuzz/replay.o $(LIBBEAM) $(LDLIBS) -o $@

$(FUZZ_BUILD)/%.o: %.c $(SKELS) $(DEPS_STAMP)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(CPPFLAGS) -std=gnu11 $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/libbeam.a: $(FUZZ_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_BINS): $(FUZZ_BUILD)/%: tests/fuzz/%.c $(FUZZ_BUILD)/libbeam.a
	$(call msg,LD-FUZZ,$@)
	$(Q)$(CLANG) $(CPPFLAGS) -std=gnu11 $(FUZZ_FLAGS) -fsanitize=fuzzer $< $(FUZZ_BUILD)/libbeam.a \
		$(LDFLAGS:$(SAN_FLAGS)=) $(LDLIBS) -o $@

# Run every target for FUZZ_TIME seconds; new inputs stay in build/, crashes
# are reported with the command that replays them.
fuzz: $(FUZZ_BINS)
	$(Q)BUILD=$(BUILD) FUZZ_TIME=$(FUZZ_TIME) tests/fuzz/run.sh $(FUZZ_BINS)

$(BUILD)/bpf:
	$(Q)mkdir -p $@

test: all
	$(Q)BUILD=$(BUILD) tests/run.sh

test-unit: all
	$(Q)BUILD=$(BUILD) tests/run.sh unit bpf

stress: all
	$(Q)BUILD=$(BUILD) tests/run.sh stress

bench: all
	$(Q)BUILD=$(BUILD) QUICK=$(QUICK) bench/run.sh

demo: all
	$(Q)BUILD=$(BUILD) KEEP=$(KEEP) tools/demo.sh

FORMAT_SRCS = $(wildcard user/*.c user/*.h include/*.h bpf/*.c bpf/*.h tests/*/*.c tests/*/*.h bench/*.c tools/*.c)

format:
	$(Q)clang-format -i $(FORMAT_SRCS)

format-check:
	$(call msg,FORMAT,check)
	$(Q)clang-format --dry-run --Werror $(FORMAT_SRCS)
	@# clang-format leaves string literals and comments it cannot break alone;
	@# every tab counts as 8 columns, also one that aligns after code
	$(Q)for f in $(FORMAT_SRCS); do sed 's/\t/        /g' "$$f" | \
		awk -v f="$$f" 'length > 100 { print f ":" NR ": " length " columns (max 100)"; bad = 1 } \
		END { exit bad }' || exit 1; done

# make install [DESTDIR=...] [INSTALL_PREFIX=/usr/local]: the programs, the
# wolfSSL and ngtcp2 libraries they run with, man pages and systemd units.
INSTALL_PREFIX ?= /usr/local
LIBDIR_BEAM    := $(INSTALL_PREFIX)/lib/beam

install: $(BINS)
	$(call msg,INSTALL,$(DESTDIR)$(INSTALL_PREFIX))
	$(Q)install -d $(DESTDIR)$(INSTALL_PREFIX)/bin $(DESTDIR)$(LIBDIR_BEAM) \
		$(DESTDIR)$(INSTALL_PREFIX)/share/man/man1 $(DESTDIR)/etc/systemd/system
	$(Q)install -m 0755 $(BINS) $(DESTDIR)$(INSTALL_PREFIX)/bin/
	$(Q)cp -P $(PREFIX)/lib/libwolfssl.so* $(PREFIX)/lib/libngtcp2*.so* $(DESTDIR)$(LIBDIR_BEAM)/
	$(Q)for m in docs/*.1; do [ -f "$$m" ] && install -m 0644 "$$m" $(DESTDIR)$(INSTALL_PREFIX)/share/man/man1/; done; true
	$(Q)for u in tools/systemd/*.service; do \
		sed 's|/usr/local/bin/|$(INSTALL_PREFIX)/bin/|g' "$$u" >$(DESTDIR)/etc/systemd/system/$${u##*/} && \
		chmod 0644 $(DESTDIR)/etc/systemd/system/$${u##*/} || exit 1; done

clean:
	$(Q)rm -rf build $(VMLINUX)

distclean: clean
	$(Q)rm -rf $(DEPS_DIR)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
