#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_docs.sh - every option a program's --help lists is in its man page, and
# every option the man page documents is in --help; the man pages render; the
# --limit defaults in beamd --help (printed from the code) match its man page.
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

# "name (N)" pairs: beamd --help prints the --limit defaults from the code,
# docs/beamd.1 writes \fBname\fR (N
help_limits() { "$T_BUILD/beamd" --help | grep -oE '[a-z]+(-[a-z]+)+ \([0-9]+\)' | sort; }
man_limits() {
	sed -n '/^\.BI \\-\\-limit/,/^\.TP/p' "$T_ROOT/docs/beamd.1" | tr '\n' ' ' |
		sed 's/\\-/-/g; s/\\fB//g; s/\\fR//g' | grep -oE '[a-z]+(-[a-z]+)+ \([0-9]+' |
		sed 's/$/)/' | sort
}

test_docs_beamd_limit_defaults() {
	local help man

	help=$(help_limits) && man=$(man_limits)
	[[ $(wc -l <<<"$help") -ge 6 ]] || t_fail "beamd --help lists no --limit defaults: $help"
	[[ $help == "$man" ]] ||
		t_fail "--limit defaults: --help '$(xargs <<<"$help")', beamd.1 '$(xargs <<<"$man")'"
}

t_test test_docs_beamd_help_matches_man "beamd --help and docs/beamd.1 list the same options"
t_test test_docs_beam_help_matches_man "beam --help and docs/beam.1 list the same options"
t_test test_docs_beam_xdp_help_matches_man "beam-xdp --help and docs/beam-xdp.1 list the same options"
t_test test_docs_beamd_limit_defaults "beamd --help and docs/beamd.1 give the same --limit defaults"
t_done
