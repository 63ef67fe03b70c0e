#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# deps.sh - install everything beam builds, tests and benchmarks with.
#
# Debian packages come from the machine's apt sources. wolfSSL (with its QUIC
# API) and ngtcp2 (with its wolfSSL crypto back end) are built from Debian 13
# source packages into a project-local prefix, because Debian 12 ships a
# wolfSSL without QUIC and an ngtcp2 0.12 with GnuTLS only. cmocka is also
# cross-compiled for aarch64 from its Debian 12 source package, for the
# checksum test that runs the NEON routine under qemu-user.
#
# Idempotent: a second run checks and returns in well under five seconds.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEPS=${BEAM_DEPS_DIR:-$ROOT/.deps}
PREFIX=$DEPS/prefix
DL=$DEPS/dl
SRC=$DEPS/src
JOBS=$(nproc)

WOLFSSL_VER=5.7.2
NGTCP2_VER=1.11.0
WOLFSSL_ORIG=wolfssl_${WOLFSSL_VER}.orig.tar.gz
NGTCP2_ORIG=ngtcp2_${NGTCP2_VER}.orig.tar.xz
WOLFSSL_SHA256=0f2ed82e345b833242705bbc4b08a2a2037a33f7bf9c610efae6464f6b10e305
NGTCP2_SHA256=382c15bf66b630f26021631b25b7eb1feac42c67c1d6826189d61091dfaa4d09
# the host's libcmocka-dev version, so both builds of a test see one cmocka.h
CMOCKA_VER=1.1.5
CMOCKA_ORIG=cmocka_${CMOCKA_VER}.orig.tar.xz
CMOCKA_SHA256=f0ccd8242d55e2fd74b16ba518359151f6f8383ff8aef4976e48393f77bba8b6
AARCH64_PREFIX=$DEPS/aarch64

PACKAGES=(
	# build
	clang llvm gcc make pkg-config cmake autoconf automake libtool dpkg-dev
	libbpf-dev libxdp-dev bpftool libelf-dev zlib1g-dev libevent-dev
	libcmocka-dev libclang-rt-14-dev clang-format xz-utils ca-certificates
	# tests and demo
	iproute2 curl nginx-light python3 openssl jq procps psmisc prometheus
	systemd man-db ethtool
	# arm64 build of the checksum test, run with qemu-aarch64 (no binfmt)
	qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross
	# benchmarks
	iperf3 wrk socat openssh-server openssh-client stunnel4 gnuplot-nox
	ngtcp2-client ngtcp2-server
)

log() { printf 'deps: %s\n' "$*"; }
die() { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

missing_packages() {
	local p
	for p in "${PACKAGES[@]}"; do
		[[ $p == \#* ]] && continue
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
			printf '%s ' "$p"
	done
}

install_packages() {
	local missing

	missing=$(missing_packages)
	[[ -z $missing ]] && return 0
	[[ $(id -u) -eq 0 ]] || die "missing packages: $missing(run 'make deps' as root)"
	log "installing Debian packages: $missing"
	apt-get update -qq || die "apt-get update failed"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing \
		>"$DEPS/apt-install.log" 2>&1 || die "apt-get install failed, see $DEPS/apt-install.log"
}

# Write a deb-src entry for @suite that reuses the URIs of the machine's own
# Debian source, so no host name lives in this repository.
write_src_sources() {
	local suite=$1 uris f

	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] || continue
		uris=$(awk '/^URIs:/ && /debian\/?$/ && !/security/ { $1=""; print; exit }' "$f")
		[[ -n $uris ]] && break
	done
	if [[ -z ${uris:-} && -f /etc/apt/sources.list ]]; then
		uris=$(awk '$1=="deb" && $2 ~ /debian\/?$/ && $0 !~ /security/ { print $2; exit }' \
			/etc/apt/sources.list)
	fi
	[[ -n ${uris:-} ]] || die "no Debian apt source found to derive a $suite deb-src entry from"
	cat >"$DL/$suite-src.sources" <<EOS
Types: deb-src
URIs: $uris
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
}

# Download the source packages @pkg... of Debian @suite into $DL through a
# sources list of our own: the machine's apt configuration is left as it is.
fetch_debian_sources() {
	local suite=$1 apt_opts pkgs=() p
	shift

	[[ $(id -u) -eq 0 ]] || die "$* sources not fetched yet (run 'make deps' as root)"
	write_src_sources "$suite"
	apt_opts=(-o "Dir::Etc::sourcelist=$DL/$suite-src.sources" -o Dir::Etc::sourceparts=-
		-o APT::Get::List-Cleanup=0 -o Debug::NoDropPrivs=1)
	for p in "$@"; do
		pkgs+=("$p/$suite")
	done
	log "fetching $* sources from $suite"
	apt-get "${apt_opts[@]}" update -qq >>"$DEPS/apt-source.log" 2>&1 ||
		die "apt-get update for $suite sources failed, see $DEPS/apt-source.log"
	# apt-get may fail on a missing .dsc while the tarballs did arrive: the
	# callers judge by the tarballs and their checksums.
	(cd "$DL" && apt-get "${apt_opts[@]}" source --download-only "${pkgs[@]}" \
		>>"$DEPS/apt-source.log" 2>&1) || log "apt-get source exited non-zero; checking what arrived"
}

check_sum() {
	local file=$1 want=$2 got

	[[ -f $DL/$file ]] || die "source tarball $DL/$file did not arrive from apt-get source"
	got=$(sha256sum "$DL/$file" | cut -d' ' -f1)
	[[ $got == "$want" ]] || die "checksum mismatch for $DL/$file: got $got, want $want"
}

fetch_sources() {
	if [[ -f $DL/$WOLFSSL_ORIG && -f $DL/$NGTCP2_ORIG ]] &&
		ls "$DL"/ngtcp2_*.debian.tar.* "$DL"/wolfssl_*.debian.tar.* >/dev/null 2>&1; then
		return 0
	fi
	fetch_debian_sources trixie ngtcp2 wolfssl
}

# Apply the CVE patches Debian carries, in the order of debian/patches/series.
apply_cve_patches() {
	local tree=$1 debtar=$2 p

	mkdir -p "$tree/.debian" && tar -xf "$debtar" -C "$tree/.debian"
	while read -r p; do
		[[ $p == CVE-* ]] || continue
		patch -d "$tree" -p1 -s -N <"$tree/.debian/debian/patches/$p" ||
			die "Debian patch $p does not apply to $tree"
		echo "$p" >>"$tree/.cve-patches"
	done <"$tree/.debian/debian/patches/series"
}

wolfssl_configure_flags() {
	local flags=(--prefix="$PREFIX" --enable-quic --enable-session-ticket --enable-earlydata
		--enable-sp --enable-curve25519 --enable-ed25519 --enable-harden
		--disable-examples --enable-opensslall --enable-aesgcm-stream
		--enable-certgen --enable-keygen --disable-crypttests --disable-benchmark)

	# AES-NI and the assembly paths make AES-GCM and ChaCha20 fast; a CPU
	# without them gets the portable code.
	if [[ $(uname -m) == x86_64 ]] && grep -qw aes /proc/cpuinfo && grep -qw avx2 /proc/cpuinfo; then
		flags+=(--enable-aesni --enable-intelasm --enable-sp-asm)
	elif [[ $(uname -m) == aarch64 ]]; then
		flags+=(--enable-sp-asm)
	fi
	printf '%s\n' "${flags[@]}"
}

build_wolfssl() {
	local tree=$SRC/wolfssl-$WOLFSSL_VER-stable
	local flags

	[[ -f $PREFIX/lib/libwolfssl.so && -f $PREFIX/.wolfssl-$WOLFSSL_VER ]] && return 0
	check_sum "$WOLFSSL_ORIG" "$WOLFSSL_SHA256"
	log "building wolfSSL $WOLFSSL_VER (about a minute)"
	rm -rf "$tree" && tar -xzf "$DL/$WOLFSSL_ORIG" -C "$SRC"
	apply_cve_patches "$tree" "$(ls "$DL"/wolfssl_*.debian.tar.* | head -1)"
	mapfile -t flags < <(wolfssl_configure_flags)
	(cd "$tree" && ./autogen.sh && ./configure "${flags[@]}" && make -j"$JOBS" &&
		make install) >"$DEPS/wolfssl-build.log" 2>&1 ||
		die "wolfSSL build failed, see $DEPS/wolfssl-build.log"
	touch "$PREFIX/.wolfssl-$WOLFSSL_VER"
}

build_ngtcp2() {
	local tree=$SRC/ngtcp2-$NGTCP2_VER

	[[ -f $PREFIX/lib/libngtcp2_crypto_wolfssl.so && -f $PREFIX/.ngtcp2-$NGTCP2_VER ]] &&
		return 0
	check_sum "$NGTCP2_ORIG" "$NGTCP2_SHA256"
	log "building ngtcp2 $NGTCP2_VER with the wolfSSL crypto back end"
	rm -rf "$tree" && tar -xJf "$DL/$NGTCP2_ORIG" -C "$SRC"
	apply_cve_patches "$tree" "$(ls "$DL"/ngtcp2_*.debian.tar.* | head -1)"
	(cd "$tree" && PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig cmake -S . -B build \
		-DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$PREFIX" \
		-DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_INSTALL_LIBDIR=lib \
		-DENABLE_WOLFSSL=ON -DENABLE_OPENSSL=OFF -DENABLE_GNUTLS=OFF \
		-DENABLE_LIB_ONLY=ON -DENABLE_STATIC_LIB=OFF -DBUILD_TESTING=OFF \
		-DWOLFSSL_INCLUDE_DIR="$PREFIX/include" -DWOLFSSL_LIBRARY="$PREFIX/lib/libwolfssl.so" &&
		cmake --build build -j"$JOBS" && cmake --install build) \
		>"$DEPS/ngtcp2-build.log" 2>&1 || die "ngtcp2 build failed, see $DEPS/ngtcp2-build.log"
	touch "$PREFIX/.ngtcp2-$NGTCP2_VER"
}

# cmocka for aarch64, static, into $AARCH64_PREFIX: Debian 12 has an arm64
# cmocka only for a machine that adds arm64 as a foreign architecture, which
# would change its apt setup. Debian's patches touch only the documentation.
build_cmocka_aarch64() {
	local tree=$SRC/cmocka-$CMOCKA_VER

	[[ -f $AARCH64_PREFIX/lib/libcmocka-static.a && -f $AARCH64_PREFIX/.cmocka-$CMOCKA_VER ]] &&
		return 0
	[[ -f $DL/$CMOCKA_ORIG ]] || fetch_debian_sources bookworm cmocka
	check_sum "$CMOCKA_ORIG" "$CMOCKA_SHA256"
	log "cross-compiling cmocka $CMOCKA_VER for aarch64"
	rm -rf "$tree" "$tree-aarch64" && tar -xJf "$DL/$CMOCKA_ORIG" -C "$SRC"
	(cmake -S "$tree" -B "$tree-aarch64" -DCMAKE_SYSTEM_NAME=Linux \
		-DCMAKE_SYSTEM_PROCESSOR=aarch64 -DCMAKE_C_COMPILER=aarch64-linux-gnu-gcc \
		-DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$AARCH64_PREFIX" \
		-DCMAKE_INSTALL_LIBDIR=lib -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF \
		-DUNIT_TESTING=OFF && cmake --build "$tree-aarch64" -j"$JOBS" &&
		cmake --install "$tree-aarch64") >"$DEPS/cmocka-aarch64-build.log" 2>&1 ||
		die "cmocka aarch64 build failed, see $DEPS/cmocka-aarch64-build.log"
	touch "$AARCH64_PREFIX/.cmocka-$CMOCKA_VER"
}

main() {
	mkdir -p "$DEPS" "$DL" "$SRC" "$PREFIX" "$AARCH64_PREFIX"
	install_packages
	if [[ ! -f $PREFIX/.wolfssl-$WOLFSSL_VER || ! -f $PREFIX/.ngtcp2-$NGTCP2_VER ]]; then
		[[ $(id -u) -eq 0 ]] || die "wolfSSL/ngtcp2 not built yet (run 'make deps' as root)"
		fetch_sources
		build_wolfssl
		build_ngtcp2
		log "wolfSSL $WOLFSSL_VER and ngtcp2 $NGTCP2_VER installed in $PREFIX"
	fi
	build_cmocka_aarch64
	# A tampered tarball must be noticed even when the build is cached.
	[[ -f $DL/$WOLFSSL_ORIG ]] && check_sum "$WOLFSSL_ORIG" "$WOLFSSL_SHA256"
	[[ -f $DL/$NGTCP2_ORIG ]] && check_sum "$NGTCP2_ORIG" "$NGTCP2_SHA256"
	[[ -f $DL/$CMOCKA_ORIG ]] && check_sum "$CMOCKA_ORIG" "$CMOCKA_SHA256"
	return 0
}

main "$@"
