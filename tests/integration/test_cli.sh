#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_cli.sh - beam and beamd say what is wrong with a command line, and
# exit 2 for usage and configuration errors (1 is for failures at run time,
# tested where they happen: test_tunnel.sh, test_security.sh). No network
# beyond loopback: agents here dial 127.0.0.1 port 1, where nothing answers.
source "$(dirname "$0")/lib.sh"

# expect_usage RC_WANT PATTERN PROG ARGS...: PROG exits RC_WANT and its
# stderr matches PATTERN (grep -E)
expect_usage() {
	local want=$1 pat=$2 rc=0
	shift 2

	BEAM_TOKEN=t0ken-for-cli-tests timeout 5 "$@" >"$T_DIR/out.log" 2>&1 || rc=$?
	[[ $rc -eq $want ]] || t_fail "'$*' exit status $rc, want $want: $(head -3 "$T_DIR/out.log")"
	grep -qE -- "$pat" "$T_DIR/out.log" || t_fail "'$*' did not say '$pat': $(head -3 "$T_DIR/out.log")"
}

test_beam_usage_errors() {
	expect_usage 2 "unknown option '-1': a port is a number" beam tcp -1 --edge 127.0.0.1:1 --insecure
	expect_usage 2 "unknown option '--bogus'" beam tcp 80 --bogus
	expect_usage 2 "option '--edge' needs a value" beam tcp 80 --edge
	expect_usage 2 "missing the tunnel kind" beam
	expect_usage 2 "missing the local service" beam tcp
	expect_usage 2 "unexpected argument 'extra'" beam tcp 80 extra --edge 127.0.0.1:1 --insecure
	expect_usage 2 "unknown tunnel kind 'ftp'" beam ftp 80
	expect_usage 2 "--edge HOST:PORT is required" beam tcp 80 --insecure
}

test_beam_config_errors_exit_2() {
	expect_usage 2 "failed to open token file '/nonexistent/token'" \
		beam tcp 80 --edge 127.0.0.1:1 --insecure --token-file /nonexistent/token
	expect_usage 2 "failed to load CA file '/nonexistent/ca.pem': No such file" \
		beam tcp 80 --edge 127.0.0.1:1 --ca /nonexistent/ca.pem
	expect_usage 2 "invalid --pin" beam tcp 80 --edge 127.0.0.1:1 --pin SHA256:00
}

test_beam_warnings() {
	# --insecure warns once, without saying "warning" twice
	expect_usage 124 "warning: --insecure: the edge's certificate is NOT checked" \
		beam tcp 80 --edge 127.0.0.1:1 --insecure
	! grep -qi "warning: warning" "$T_DIR/out.log" || t_fail "doubled word: $(head -1 "$T_DIR/out.log")"
	# a session file in a directory that does not exist would never be written
	expect_usage 124 "session file '/nonexistent/dir/sess': directory '/nonexistent/dir'.*no session" \
		beam tcp 80 --edge 127.0.0.1:1 --insecure --session-file /nonexistent/dir/sess
	# one in a directory that exists: no warning (the file comes with the first session)
	expect_usage 124 "insecure" beam tcp 80 --edge 127.0.0.1:1 --insecure \
		--session-file "$T_DIR/sess"
	! grep -q "session file" "$T_DIR/out.log" || t_fail "warned about a good session file"
}

test_beamd_usage_and_config_errors() {
	echo "alice t0ken-for-cli-tests" >"$T_DIR/tokens"
	chmod 600 "$T_DIR/tokens"
	expect_usage 2 "missing --tokens" beamd --listen 127.0.0.1:0
	expect_usage 2 "missing --listen and --tokens" beamd
	expect_usage 2 "unexpected argument 'extra'" beamd --listen 127.0.0.1:0 --tokens "$T_DIR/tokens" extra
	expect_usage 2 "unknown option '--bogus'" beamd --bogus
	expect_usage 2 "option '--tokens' needs a value" beamd --listen 127.0.0.1:0 --tokens
	expect_usage 2 "invalid metrics address 'nonsense'" \
		beamd --listen 127.0.0.1:0 --tokens "$T_DIR/tokens" --metrics nonsense
	expect_usage 2 "failed to open tokens file '/nonexistent/tokens'" \
		beamd --listen 127.0.0.1:0 --tokens /nonexistent/tokens
	expect_usage 2 "failed to load certificate '/nonexistent/cert.pem': No such file" \
		beamd --listen 127.0.0.1:0 --tokens "$T_DIR/tokens" --cert /nonexistent/cert.pem \
		--key /nonexistent/key.pem
}

t_test test_beam_usage_errors "beam: a bad command line says what is wrong, exit 2"
t_test test_beam_config_errors_exit_2 "beam: unreadable --token-file or --ca, bad --pin: exit 2"
t_test test_beam_warnings "beam: --insecure warns once; a session file in a missing directory warns"
t_test test_beamd_usage_and_config_errors "beamd: a bad command line or config file says what, exit 2"
t_done
