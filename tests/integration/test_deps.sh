#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_deps.sh - tools/deps.sh is idempotent and refuses tampered sources.
source "$(dirname "$0")/lib.sh"

test_deps_second_run_rebuilds_nothing()
{
	local start out

	start=$(date +%s.%N)
	out=$("$T_ROOT/tools/deps.sh" 2>&1)
	t_log "second run took $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }') s (goal < 5 s)"
	! grep -q building <<<"$out" || t_fail "deps.sh rebuilt on a second run: $out"
}

test_deps_refuses_tampered_tarball()
{
	local dl=$T_DIR/deps/dl out

	[[ -f $T_ROOT/.deps/dl/wolfssl_5.7.2.orig.tar.gz ]] || t_skip "no cached source tarballs"
	mkdir -p "$dl"
	cp "$T_ROOT"/.deps/dl/*.tar.* "$dl/"
	printf 'tampered' >>"$dl/wolfssl_5.7.2.orig.tar.gz"
	if out=$(BEAM_DEPS_DIR=$T_DIR/deps "$T_ROOT/tools/deps.sh" 2>&1); then
		t_fail "deps.sh accepted a tampered tarball"
	fi
	t_log "$out"
	grep -q "checksum mismatch for .*wolfssl_5.7.2.orig.tar.gz" <<<"$out" ||
		t_fail "error does not name the tampered file: $out"
}

t_test test_deps_second_run_rebuilds_nothing "a second 'make deps' checks and builds nothing"
t_test test_deps_refuses_tampered_tarball "a tarball with a wrong SHA-256 stops deps.sh, naming the file"
t_done
