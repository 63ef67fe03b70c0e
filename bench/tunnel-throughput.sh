#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tunnel-throughput.sh - one quick answer to "how fast is one beam tunnel":
# iperf3 through beam, through ssh -R (aes128-gcm) and direct, in the same
# run and the same namespaces, with ratios. A thin front to bench/run.sh (the
# full bench, `make bench`), limited to bulk throughput.
#
#   sudo bench/tunnel-throughput.sh [SECONDS] [ROUNDS]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$(mktemp -d /tmp/beam-tput.XXXX)}

SUBJECTS="direct ssh-aes beam" TESTS=throughput TPUT_S=${1:-10} REPS=${2:-3} OUT=$out \
	bash "$here/run.sh"
sed -n '/## 1. Bulk throughput/,/## 2\./p' "$out/REPORT.md" | sed '$d'
echo "full report: $out/REPORT.md"
