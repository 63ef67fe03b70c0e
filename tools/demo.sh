#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# demo.sh - beam's main job, end to end, on this machine: a private web
# service made reachable from an "internet" client through an edge running
# beam's XDP program and beamd, over a QUIC tunnel. Everything lives in
# network namespaces made here and is removed at the end, also on Ctrl-C or
# a failure. KEEP=1 leaves it running and prints how to stop it.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
KEEP=${KEEP:-}
PIN_ROOT=/sys/fs/bpf/beam
FILE_MB=100

say() { printf '\n==> %s\n' "$*"; }
# Indent command output and keep it inside 80 columns.
show() { cut -c1-76 | sed 's/^/    /'; }
die() { printf '\ndemo: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] ||
	die "needs root: it creates network namespaces and attaches XDP. Run: sudo make demo"
[[ -r /sys/kernel/btf/vmlinux ]] ||
	die "this kernel has no BTF (/sys/kernel/btf/vmlinux): beam's XDP program needs it"
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf ||
	die "bpffs is not mounted at /sys/fs/bpf and mounting it failed: mount -t bpf bpf /sys/fs/bpf"
[[ ! -e $PIN_ROOT/eth0 ]] ||
	die "$PIN_ROOT/eth0 exists: another demo (or a real edge with eth0) holds it; stop it first"
for prog in beamd beam beam-xdp; do
	[[ -x $BUILD/$prog ]] || die "$BUILD/$prog is missing: run 'make' first"
done

# The namespace, veth and cleanup helpers are the tests' own.
# shellcheck source=../tests/integration/lib.sh
source "$ROOT/tests/integration/lib.sh"
export BEAM_PIN_ROOT=$PIN_ROOT
echo "demo run $T_RUN (namespaces b$T_RUN-*)"

say "building the network: client, edge (eth0) and private machine on one switch"
INET=$(t_netns inet) && CLIENT=$(t_netns client) && EDGE=$(t_netns edge) && PRIV=$(t_netns private) ||
	die "could not create network namespaces"
# Cleanup runs last-registered first: the detach runs while the edge namespace
# (and its eth0) still exist. If that fails the pins must still go, and this
# machine's own eth0 must never be touched, so no detach outside the namespace.
t_defer "nsenter --net=/run/netns/$EDGE $BUILD/beam-xdp detach eth0 >/dev/null 2>&1; rm -rf $PIN_ROOT/eth0; rmdir $PIN_ROOT 2>/dev/null"
ip -n "$INET" link add br0 type bridge && ip -n "$INET" link set br0 up
for host in client edge private; do
	ns="b$T_RUN-$host"
	t_veth eth0 "$ns" "p-$host" "$INET" || die "could not create the veth for $host"
	ip -n "$INET" link set "p-$host" master br0
done
ip -n "$EDGE" addr add 10.99.0.1/24 dev eth0
ip -n "$PRIV" addr add 10.99.0.2/24 dev eth0
ip -n "$CLIENT" addr add 10.99.0.3/24 dev eth0
EDGE_IP=10.99.0.1
echo "    client 10.99.0.3 | edge $EDGE_IP (eth0) | private 10.99.0.2"

say "starting nginx on the private machine: a page and a $FILE_MB MiB file"
mkdir -p "$T_DIR/www"
printf '<html><body><h1>Hello from the private machine</h1></body></html>\n' >"$T_DIR/www/index.html"
head -c $((FILE_MB << 20)) /dev/urandom >"$T_DIR/www/big.bin"
# nginx's workers run as www-data: let them read the page and the file.
chmod 755 "$T_DIR" "$T_DIR/www" && chmod 644 "$T_DIR"/www/*
cat >"$T_DIR/nginx.conf" <<EOC
worker_processes 1;
daemon off;
pid $T_DIR/nginx.pid;
error_log $T_DIR/nginx-error.log;
events { worker_connections 1024; }
http {
	access_log off;
	default_type application/octet-stream;
	server { listen 127.0.0.1:8080; root $T_DIR/www; }
}
EOC
t_bg "$PRIV" web nginx -c "$T_DIR/nginx.conf"
t_wait_for 10 t_ns "$PRIV" bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080' || die "the web service did not start"

say "attaching beam's XDP program to the edge's eth0"
t_ns "$EDGE" "$BUILD/beam-xdp" attach eth0 --port 4433 >"$T_DIR/attach.txt" 2>&1 ||
	{ cat "$T_DIR/attach.txt"; die "beam-xdp attach failed"; }
fold -s -w 74 "$T_DIR/attach.txt" | sed 's/^/    /'

say "starting beamd on the edge (QUIC on :4433, metrics on 127.0.0.1:9464)"
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf 'demo %s\n' "$TOKEN" >"$T_DIR/tokens"
chmod 600 "$T_DIR/tokens"
t_bg "$EDGE" beamd "$BUILD/beamd" --listen 0.0.0.0:4433 --tokens "$T_DIR/tokens" \
	--metrics 127.0.0.1:9464
t_wait_for 10 grep -qo 'SHA256:[A-Za-z0-9+/=_-]*' "$T_DIR/beamd.log" ||
	{ cat "$T_DIR/beamd.log"; die "beamd did not start"; }
PIN=$(grep -o 'SHA256:[A-Za-z0-9+/=_-]*' "$T_DIR/beamd.log" | head -1)
echo "    edge certificate ${PIN:0:23}...${PIN: -8}"

say "starting the agent: beam tcp 8080 --edge $EDGE_IP:4433 --pin ..."
t_bg "$PRIV" agent env BEAM_TOKEN="$TOKEN" "$BUILD/beam" tcp 8080 --edge "$EDGE_IP:4433" --pin "$PIN"
t_wait_for 10 grep -q 'tunnel up' "$T_DIR/agent.log" ||
	{ cat "$T_DIR/agent.log"; die "the tunnel did not come up"; }
grep 'tunnel up' "$T_DIR/agent.log" | sed 's/^.*tunnel up/    tunnel up/'
PUBLIC=$(grep -o 'tcp://[^ ]*' "$T_DIR/agent.log" | head -1)
PUBLIC_PORT=${PUBLIC##*:}
URL=http://$EDGE_IP:$PUBLIC_PORT

say "client: curl $URL/"
t_ns "$CLIENT" curl -fsS --max-time 10 "$URL/" | show || die "fetching the page failed"

say "client: fetching the $FILE_MB MiB file through the tunnel"
t_ns "$CLIENT" curl -fsS --max-time 120 -o "$T_DIR/got.bin" -w '    %{size_download} bytes in %{time_total} s\n' \
	"$URL/big.bin" || die "fetching the file failed"
SRC_SUM=$(sha256sum "$T_DIR/www/big.bin" | cut -d' ' -f1)
GOT_SUM=$(sha256sum "$T_DIR/got.bin" | cut -d' ' -f1)
echo "    sha256 on the private machine: ${SRC_SUM:0:32}..."
echo "    sha256 at the client:          ${GOT_SUM:0:32}..."
[[ $SRC_SUM == "$GOT_SUM" ]] || die "SHA-256 differs: the file was damaged on the way"
echo "    SHA-256 equal on both ends"

say "client: 5 s of load, 10 keep-alive connections (wrk)"
if command -v wrk >/dev/null; then
	t_ns "$CLIENT" wrk -t2 -c10 -d5s --latency "$URL/" >"$T_DIR/wrk.txt" 2>&1
	awk '/Requests\/sec/ { printf "    requests/s %s\n", $2 }
	     /^ +(50|90|99)%/ { printf "    latency p%s %s\n", $1, $2 }' "$T_DIR/wrk.txt" | tr -d '%'
else
	echo "    wrk is not installed (make deps installs it); skipped"
fi

say "edge: bpftool map dump pinned $PIN_ROOT/eth0/flows (first entries)"
t_ns "$EDGE" bpftool map dump pinned "$PIN_ROOT/eth0/flows" 2>&1 | head -n 24 | show

say "edge: beam-xdp flows eth0 --top 5"
t_ns "$EDGE" "$BUILD/beam-xdp" flows eth0 --top 5 | show

say "edge: beam-xdp stats eth0"
t_ns "$EDGE" "$BUILD/beam-xdp" stats eth0 | show

say "edge: curl http://127.0.0.1:9464/metrics (beam_* lines of interest)"
t_ns "$EDGE" curl -sS --max-time 5 http://127.0.0.1:9464/metrics |
	grep -E '^beam_(tunnels_active|streams_total|tunnel_bytes_total|quic_connections|quic_handshakes_total|xdp_packets_total\{.*(to_socket|to_xsk))|^process_resident' |
	head -n 16 | show

if [[ -n $KEEP ]]; then
	cp "$T_CLEANUP" "/tmp/beam-demo-$T_RUN-stop.sh"
	echo "rm -rf $T_DIR" >>"/tmp/beam-demo-$T_RUN-stop.sh"
	trap - EXIT INT TERM
	cat <<EOM

==> left running (KEEP=1). Try:
    nsenter --net=/run/netns/$CLIENT curl $URL/
    nsenter --net=/run/netns/$EDGE $BUILD/beam-xdp flows eth0
    nsenter --net=/run/netns/$EDGE curl -s 127.0.0.1:9464/metrics
    logs: $T_DIR/{beamd,agent,web}.log
    stop: bash /tmp/beam-demo-$T_RUN-stop.sh
EOM
	exit 0
fi

say "tearing down: processes, XDP program, pins, namespaces"
