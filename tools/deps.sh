#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# deps.sh - install everything beam builds, tests and benchmarks with.
#
# Debian packages come from the machine's apt sources. wolfSSL (with its QUIC
# API) and ngtcp2 (with its wolfSSL crypto back end) are built from Debian 13
# source packages into a project-local prefix, because Debian 12 ships a
# wolfSSL without QUIC and an ngtcp2 0.12 with GnuTLS only.
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

PACKAGES=(
	# build
	clang llvm gcc make pkg-config cmake autoconf automake libtool dpkg-dev
	libbpf-dev libxdp-dev bpftool libelf-dev zlib1g-dev libevent-dev
	libcmocka-dev libclang-rt-14-dev clang-format xz-utils ca-certificates
	# tests and demo
	iproute2 curl nginx-light python3 openssl jq procps psmisc prometheus
	systemd man-db ethtool
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

# Write a deb-src entry for trixie that reuses the URIs of the machine's own
# Debian source, so no host name lives in this repository.
write_trixie_sources() {
	local uris f

	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] || continue
		uris=$(awk '/^URIs:/ && /debian\/?$/ && !/security/ { $1=""; print; exit }' "$f")
		[[ -n $uris ]] && break
	done
	if [[ -z ${uris:-} && -f /etc/apt/sources.list ]]; then
		uris=$(awk '$1=="deb" && $2 ~ /debian\/?$/ && $0 !~ /security/ { print $2; exit }' \
			/etc/apt/sources.list)
	fi
	[[ -n ${uris:-} ]] || die "no Debian apt source found to derive a trixie deb-src entry from"
	cat >"$DL/trixie-src.sources" <<EOS
Types: deb-src
URIs: $uris
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOS
}

check_sum() {
	local file=$1 want=$2 got

	[[ -f $DL/$file ]] || die "source tarball $DL/$file did not arrive from apt-get source"
	got=$(sha256sum "$DL/$file" | cut -d' ' -f1)
	[[ $got == "$want" ]] || die "checksum mismatch for $DL/$file: got $got, want $want"
}

fetch_sources() {
	local apt_opts

	if [[ -f $DL/$WOLFSSL_ORIG && -f $DL/$NGTCP2_ORIG ]] &&
		ls "$DL"/ngtcp2_*.debian.tar.* "$DL"/wolfssl_*.debian.tar.* >/dev/null 2>&1; then
		return 0
	fi
	write_trixie_sources
	apt_opts=(-o "Dir::Etc::sourcelist=$DL/trixie-src.sources" -o Dir::Etc::sourceparts=-
		-o APT::Get::List-Cleanup=0 -o Debug::NoDropPrivs=1)
	log "fetching ngtcp2 and wolfssl sources from trixie"
	apt-get "${apt_opts[@]}" update -qq >"$DEPS/apt-source.log" 2>&1 ||
		die "apt-get update for trixie sources failed, see $DEPS/apt-source.log"
	# apt-get may fail on a missing .dsc while the tarballs did arrive: judge
	# by the tarballs and their checksums below.
	(cd "$DL" && apt-get "${apt_opts[@]}" source --download-only \
		"ngtcp2/trixie" "wolfssl/trixie" >>"$DEPS/apt-source.log" 2>&1) ||
		log "apt-get source exited non-zero; checking what arrived"
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

main() {
	mkdir -p "$DEPS" "$DL" "$SRC" "$PREFIX"
	install_packages
	if [[ ! -f $PREFIX/.wolfssl-$WOLFSSL_VER || ! -f $PREFIX/.ngtcp2-$NGTCP2_VER ]]; then
		[[ $(id -u) -eq 0 ]] || die "wolfSSL/ngtcp2 not built yet (run 'make deps' as root)"
		fetch_sources
		build_wolfssl
		build_ngtcp2
		log "wolfSSL $WOLFSSL_VER and ngtcp2 $NGTCP2_VER installed in $PREFIX"
	fi
	# A tampered tarball must be noticed even when the build is cached.
	[[ -f $DL/$WOLFSSL_ORIG ]] && check_sum "$WOLFSSL_ORIG" "$WOLFSSL_SHA256"
	[[ -f $DL/$NGTCP2_ORIG ]] && check_sum "$NGTCP2_ORIG" "$NGTCP2_SHA256"
	return 0
}

main "$@"
