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

# make install INSTALL_PREFIX=...: the units name the programs where they went.
test_install_units_follow_the_prefix()
{
	local stage=$T_DIR/root-opt unit

	make -s -C "$T_ROOT" install DESTDIR="$stage" BUILD="$T_BUILD" INSTALL_PREFIX=/opt/beamt >/dev/null ||
		t_fail "make install INSTALL_PREFIX=/opt/beamt failed"
	for unit in "$stage"/etc/systemd/system/*.service; do
		! grep -q /usr/local/bin "$unit" || t_fail "$(basename "$unit") still names /usr/local/bin"
		grep -q '/opt/beamt/bin/beam' "$unit" || t_fail "$(basename "$unit") does not name /opt/beamt/bin"
	done
	[[ $(stat -c %a "$stage/etc/systemd/system/beamd.service") == 644 ]] || t_fail "unit mode"
}

# unit_shell UNIT KEY: the shell script of the `KEY=-/bin/sh -c '...'` line of UNIT,
# with systemd's $$ turned into $ and %d into $T_DIR/cred, the programs into fakes
unit_shell() {
	grep "^$2=" "$T_ROOT/tools/systemd/$1" | sed -e "s/^$2=-\{0,1\}\/bin\/sh -c '//" -e "s/'\$//" \
		-e 's/\$\$/$/g' -e "s|%d|$T_DIR/cred|g" -e "s|/usr/local/bin/|$T_DIR/fake/|g"
}

# The units' command lines as systemd runs them: the agent passes --pin only
# when BEAM_PIN is set (a CA setup leaves it empty), beam-xdp gets the port of
# BEAMD_LISTEN
test_units_command_lines()
{
	local out f

	mkdir -p "$T_DIR/fake"
	for f in beam beam-xdp; do
		printf '#!/bin/sh\nfor a in "$@"; do printf "[%%s]" "$a"; done\necho\n' >"$T_DIR/fake/$f"
		chmod 755 "$T_DIR/fake/$f"
	done
	out=$(env -i BEAM_KIND=tcp BEAM_LOCAL=8080 BEAM_EDGE=edge:4433 BEAM_PIN= \
		BEAM_OPTS="--ca /etc/beam/ca.pem" sh -c "$(unit_shell beam-agent@.service ExecStart)")
	t_log "agent with a CA: $out"
	[[ $out == "[tcp][8080][--edge][edge:4433][--token-file][$T_DIR/cred/token][--ca][/etc/beam/ca.pem]" ]] ||
		t_fail "agent unit with a CA ran: $out"
	out=$(env -i BEAM_KIND=http BEAM_LOCAL=8080 BEAM_EDGE=edge:4433 BEAM_PIN=SHA256:ab \
		sh -c "$(unit_shell beam-agent@.service ExecStart)")
	[[ $out == "[http][8080][--edge][edge:4433][--pin][SHA256:ab][--token-file][$T_DIR/cred/token]" ]] ||
		t_fail "agent unit with a pin ran: $out"
	for f in "[::]:7443" "0.0.0.0:8443" "9443"; do
		out=$(env -i BEAM_IFACE=eth0 BEAMD_LISTEN="$f" sh -c "$(unit_shell beamd.service ExecStartPre)")
		[[ $out == "[attach][eth0][--port][${f##*:}]" ]] || t_fail "BEAMD_LISTEN=$f: beam-xdp got $out"
	done
}

t_test test_install_programs_run_from_the_staging_root "make install stages programs that load their own wolfSSL/ngtcp2"
t_test test_install_systemd_units_verify "systemd-analyze verify accepts beamd.service and beam-agent@.service"
t_test test_install_units_follow_the_prefix "make install INSTALL_PREFIX=/opt/beamt: the units name /opt/beamt/bin"
t_test test_units_command_lines "units: --pin only when BEAM_PIN is set; beam-xdp gets BEAMD_LISTEN's port"
t_done
