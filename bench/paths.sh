# SPDX-License-Identifier: MIT
#
# bench/paths.sh - where a bench script finds the tree and the build:
# BENCH_DIR, ROOT, BUILD (absolute; $BUILD or build), BENCH_BIN, BEAM_BIN.
# Sourced first by every script under bench/ that runs on its own.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
BUILD=${BUILD:-build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
export BUILD ROOT
BENCH_BIN=$BUILD/bench
BEAM_BIN=$BUILD
