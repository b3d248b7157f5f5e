#!/usr/bin/env bash
# A minimal static libcurl from Debian's own source package: HTTP/HTTPS only,
# OpenSSL, threaded resolver; no LDAP, RTMP, SSH, GSSAPI, IDN, PSL, brotli,
# zstd, nghttp2 or zlib. The shared libcurl4 would pull ~10 MB of libraries
# into the rootfs (docs/sinks.md "libcurl").
#   scripts/curl-minimal.sh build    fetch the source (network: Debian's mirror) and build it, once;
#                                    run by scripts/deps.sh after the package installs
#   scripts/curl-minimal.sh prefix   print the install prefix (include/, lib/libcurl.a) of a
#                                    finished build, or fail saying what to run; no network
#                                    (CMake runs this at configure time)
# Cache: $VIGIL_CACHE (default /var/cache/vigil, else ~/.cache/vigil if that is not
# writable)/curl-minimal-<version>, <version> = the installed libcurl4-openssl-dev.
# VIGIL_CURL_HOST=aarch64-linux-gnu cross-builds it with that triplet's gcc and
# the arm64 libssl-dev (scripts/cross-arm64.sh), cached as curl-minimal-<version>-<triplet>.
# The deb-src entries are derived from apt's own configuration, in a private
# apt state directory: the system's apt configuration is not changed.
set -euo pipefail
mode=${1:-}
case "$mode" in build|prefix) ;; *) echo "usage: scripts/curl-minimal.sh build|prefix" >&2; exit 2 ;; esac
cache=${VIGIL_CACHE:-/var/cache/vigil}
fallback=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/vigil
host=${VIGIL_CURL_HOST:-}
[ -z "$host" ] || [[ $host =~ ^[a-z0-9_]+-linux-gnu[a-z]*$ ]] ||
  { echo "curl-minimal: VIGIL_CURL_HOST='$host' is not a GNU triplet such as aarch64-linux-gnu" >&2; exit 2; }
suffix=${host:+-$host}
# (the native package's version: with multiarch, dpkg-query lists one per installed architecture)
version=$(dpkg-query -W -f='${Version}\n' "libcurl4-openssl-dev:$(dpkg --print-architecture)" 2>/dev/null | head -n1 || true)
[ -n "$version" ] || version=$(apt-cache policy curl | awk '/Candidate:/ {print $2}')
[ -n "$version" ] && [ "$version" != "(none)" ] ||
  { echo "curl-minimal: cannot tell which curl version to build: install libcurl4-openssl-dev (bash scripts/deps.sh)" >&2; exit 1; }

if [ "$mode" = prefix ]; then
  for dir in "$cache" "$fallback"; do
    if [ -f "$dir/curl-minimal-$version$suffix/.complete" ]; then echo "$dir/curl-minimal-$version$suffix"; exit 0; fi
  done
  echo "curl-minimal: the minimal static libcurl $version${host:+ for $host} is not built (looked in $cache and $fallback):" \
       "run 'bash scripts/deps.sh' (it fetches Debian's curl source and builds it), or configure with" \
       "-DVIGIL_CURL=system to link the system's shared libcurl" >&2
  exit 1
fi

mkdir -p "$cache" 2>/dev/null && [ -w "$cache" ] || cache=$fallback
prefix=$cache/curl-minimal-$version$suffix
if [ -f "$prefix/.complete" ]; then echo "$prefix"; exit 0; fi
mkdir -p "$cache"
# One build at a time (several checkouts may share the cache).
exec 9>"$cache/.curl-minimal.lock"
flock 9
if [ -f "$prefix/.complete" ]; then echo "$prefix"; exit 0; fi
work=$(mktemp -d "$cache/curl-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
log=$cache/curl-minimal$suffix.log
: >"$log"
fail() { echo "curl-minimal: $1 (log: $log)" >&2; tail -n 15 "$log" >&2; exit 1; }

# 1. Source package, through a private apt state with deb-src entries.
mkdir -p "$work/apt/parts" "$work/apt/lists/partial"
{
  for f in /etc/apt/sources.list.d/*.sources; do [ -f "$f" ] && sed -E 's/^Types:.*/Types: deb-src/' "$f" && echo; done
} >"$work/apt/parts/src.sources"
{
  { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } | sed -nE 's/^deb[[:space:]]/deb-src /p'
} >"$work/apt/parts/src.list"
aptopts=(-q -o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$work/apt/parts"
         -o "Dir::State::Lists=$work/apt/lists" -o APT::Sandbox::User=root)
apt-get "${aptopts[@]}" update >>"$log" 2>&1 || fail "apt-get update for deb-src failed"
# The installed version's source, else the candidate (a superseded security update).
(cd "$work" && { apt-get "${aptopts[@]}" source --download-only "curl=$version" ||
  apt-get "${aptopts[@]}" source --download-only curl; }) >>"$log" 2>&1 || fail "apt-get source curl failed"
version=$(cd "$work" && ls curl_*.dsc | sed -E 's/^curl_(.*)\.dsc$/\1/')
upstream=${version#*:}; upstream=${upstream%-*}
tar -xzf "$work"/curl_"$upstream".orig.tar.gz -C "$work" && tar -xJf "$work"/curl_*.debian.tar.xz -C "$work/curl-$upstream" ||
  fail "cannot unpack the curl source"
src=$work/curl-$upstream
# Debian's code patches (security fixes); skip the ones that only change the
# build system of other flavours (GnuTLS/NSS renames, LDAP, GSSAPI, zsh).
while read -r p; do
  case "$p" in ''|'#'*) continue ;; esac
  grep -qE '^\+\+\+ [^ ]*(Makefile\.am|configure\.ac|\.m4)' "$src/debian/patches/$p" && continue
  patch -d "$src" -p1 -s <"$src/debian/patches/$p" >>"$log" 2>&1 || fail "Debian patch $p does not apply"
done <"$src/debian/patches/series"

# 2. Configure and build the library only.
cross=()
[ -z "$host" ] || cross=(--host="$host" CC="$host-gcc" PKG_CONFIG_LIBDIR="/usr/lib/$host/pkgconfig:/usr/share/pkgconfig")
(cd "$src" && ./configure "${cross[@]}" --prefix="$prefix" --disable-shared --enable-static --with-pic \
  --with-openssl --without-gnutls --without-nss --without-wolfssl --without-mbedtls --without-rustls \
  --enable-http --disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp --disable-dict \
  --disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp --disable-gopher \
  --disable-mqtt --disable-manual --disable-ntlm --disable-ntlm-wb --disable-kerberos-auth --disable-negotiate-auth \
  --disable-cookies --disable-alt-svc --disable-unix-sockets --disable-ares --enable-threaded-resolver \
  --without-librtmp --without-libssh2 --without-libssh --without-libidn2 --without-libpsl --without-brotli \
  --without-zstd --without-nghttp2 --without-ngtcp2 --without-nghttp3 --without-quiche --without-gssapi \
  --without-zlib --without-ca-bundle --without-ca-path --without-ca-fallback) >>"$log" 2>&1 ||
  fail "configure failed"
make -C "$src/lib" -j"$(nproc)" >>"$log" 2>&1 || fail "make failed"
rm -rf "$prefix.tmp" && mkdir -p "$prefix.tmp/lib" "$prefix.tmp/include/curl"
cp "$src/lib/.libs/libcurl.a" "$prefix.tmp/lib/"
cp "$src"/include/curl/*.h "$prefix.tmp/include/curl/"
rm -rf "$prefix" && mv "$prefix.tmp" "$prefix"
touch "$prefix/.complete"
echo "$prefix"
