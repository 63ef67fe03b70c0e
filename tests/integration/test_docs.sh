#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_docs.sh - every option a program's --help lists is in its man page, and
# every option the man page documents is in --help; the man pages render.
source "$(dirname "$0")/lib.sh"

# Options named in --help output, one per line (--foo, --foo-bar).
help_options() { "$T_BUILD/$1" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }

# Options named in a man page source, where - is written \-.
man_options() { sed 's/\\-/-/g' "$1" | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u; }

check_prog() {
	local prog=$1 page=$T_ROOT/docs/$1.1 missing

	[[ -f $page ]] || t_fail "no man page docs/$prog.1"
	man -l "$page" >/dev/null 2>"$T_DIR/man.err" || t_fail "man -l $page: $(cat "$T_DIR/man.err")"
	missing=$(comm -23 <(help_options "$prog") <(man_options "$page"))
	[[ -z $missing ]] || t_fail "$prog --help has options its man page lacks: $missing"
	missing=$(comm -13 <(help_options "$prog") <(man_options "$page"))
	[[ -z $missing ]] || t_fail "docs/$prog.1 documents options $prog --help lacks: $missing"
}

test_docs_beamd_help_matches_man() { check_prog beamd; }
test_docs_beam_help_matches_man() { check_prog beam; }
test_docs_beam_xdp_help_matches_man() { check_prog beam-xdp; }

t_test test_docs_beamd_help_matches_man "beamd --help and docs/beamd.1 list the same options"
t_test test_docs_beam_help_matches_man "beam --help and docs/beam.1 list the same options"
t_test test_docs_beam_xdp_help_matches_man "beam-xdp --help and docs/beam-xdp.1 list the same options"
t_done
