#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_install.sh - `make install` into a staging root gives programs that run
# with the wolfSSL and ngtcp2 installed beside them, and systemd units that
# systemd-analyze verify accepts against those installed paths.
source "$(dirname "$0")/lib.sh"

STAGE=$T_DIR/root

test_install_programs_run_from_the_staging_root()
{
	make -s -C "$T_ROOT" install DESTDIR="$STAGE" BUILD="$T_BUILD" >/dev/null
	[[ -x $STAGE/usr/local/bin/beamd && -e $STAGE/usr/local/lib/beam/libwolfssl.so.42 ]]
	# $ORIGIN/../lib/beam must win over the clone's .deps.
	ldd "$STAGE/usr/local/bin/beamd" | grep "libwolfssl.so.42 => $STAGE/usr/local/bin/../lib/beam/" >/dev/null ||
		t_fail "installed beamd does not use its own lib/beam: $(ldd "$STAGE/usr/local/bin/beamd" | grep wolfssl)"
	"$STAGE/usr/local/bin/beam" --version | grep -qx 'ngtcp2 1.11.0'
}

test_install_systemd_units_verify()
{
	local unit

	command -v systemd-analyze >/dev/null || t_skip "systemd-analyze missing"
	mkdir -p "$T_DIR/units"
	for unit in "$STAGE"/etc/systemd/system/*.service; do
		# The units name /usr/local/bin: point them at the staging root.
		sed "s|/usr/local/bin/|$STAGE/usr/local/bin/|g" "$unit" >"$T_DIR/units/$(basename "$unit")"
	done
	[[ -f $T_DIR/units/beamd.service && -f $T_DIR/units/beam-agent@.service ]]
	cp "$T_DIR/units/beam-agent@.service" "$T_DIR/units/beam-agent@web.service"
	(cd "$T_DIR/units" && MANPATH=$STAGE/usr/local/share/man systemd-analyze verify beamd.service beam-agent@web.service) ||
		t_fail "systemd-analyze verify rejects the units"
}

t_test test_install_programs_run_from_the_staging_root "make install stages programs that load their own wolfSSL/ngtcp2"
t_test test_install_systemd_units_verify "systemd-analyze verify accepts beamd.service and beam-agent@.service"
t_done
