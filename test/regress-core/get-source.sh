#!/usr/bin/env bash
# get-source.sh -- make the PostgreSQL 15 source tree that matches the
# installed server available for the correctness gauntlet (run.sh), which
# needs its regression and isolation test files (schedules, sql/, specs/,
# expected/, data/) and a few C test modules (regress.c, contrib/spi).
#
#   test/regress-core/get-source.sh        prints the tree's path on stdout
#
# The tree comes from Debian's source package ("apt-get source"), so it
# carries the same Debian patches as the server binaries.  It is unpacked
# once into a cache outside the repository,
#   $RB_SRC_CACHE (default /var/cache/remote_buffer)/postgresql-15-<debian version>/
# and later runs reuse it without touching the network.
#
# Version choice: the exact version of the installed postgresql-15 package
# first; if that source is not downloadable (Debian's security mirror
# sometimes lists a source version whose files 404), the newest 15.x source
# the mirrors do serve, with a warning.  The choice made for an installed
# version is remembered (postgresql-15-for-<installed>) so a fallback is not
# retried on every run; RB_SRC_REFRESH=1 retries the exact version.
#
# Needs root to add the deb-src entry and run apt-get; as another user it
# uses a cached tree if there is one, and otherwise prints the commands to
# run and exits 1.
#
# Messages go to stderr; stdout is only the path.  Exit status: 0 ok,
# 1 setup problem (not root, dpkg-dev missing, ...), 2 the source could not
# be downloaded (no network / mirror): run.sh reports that as a SKIP.
set -uo pipefail

PKG=postgresql-15
CACHE_ROOT=${RB_SRC_CACHE:-/var/cache/remote_buffer}
# Our own deb-src entry; written only when the system has none for a suite.
SRC_LIST=/etc/apt/sources.list.d/remote-buffer-deb-src.sources

say() { echo "get-source: $*" >&2; }

installed=$(dpkg-query -W -f='${Version}' "$PKG" 2>/dev/null || true)
if [ -z "$installed" ]; then
	say "$PKG is not installed (run test/ensure-deps.sh as root)"
	exit 1
fi
upstream_of() { local v=${1#*:}; echo "${v%%-*}"; }

# A tree is complete once .rb-source-version exists: it is written last,
# after the unpacked directory has been moved into place.
tree_ok() { [ -f "$1/.rb-source-version" ] && [ -f "$1/src/test/regress/parallel_schedule" ]; }

use_tree() {
	local dir=$1 ver
	ver=$(cat "$dir/.rb-source-version")
	if [ "$ver" != "$installed" ]; then
		say "WARNING: using $PKG source $ver, but the installed server is $installed"
		say "         (no $installed source was downloadable when the cache was filled;"
		say "         RB_SRC_REFRESH=1 retries); expected-output drift between the two"
		say "         minor releases would show up as baseline failures"
	else
		say "using $PKG source $ver (same as the installed server)"
	fi
	echo "$dir"
	exit 0
}

# 1. Cache hits: the exact version, or the fallback remembered for it.
exact_dir=$CACHE_ROOT/$PKG-$installed
pointer=$CACHE_ROOT/$PKG-for-$installed
if tree_ok "$exact_dir"; then
	use_tree "$exact_dir"
fi
if [ -z "${RB_SRC_REFRESH:-}" ] && [ -f "$pointer" ]; then
	d=$CACHE_ROOT/$PKG-$(cat "$pointer")
	if tree_ok "$d"; then
		use_tree "$d"
	fi
fi

# 2. Download needed.
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if [ -z "$codename" ]; then
	say "cannot tell the Debian codename from /etc/os-release"
	exit 1
fi
suites=("$codename" "$codename-updates" "$codename-security")

if [ "$(id -u)" -ne 0 ]; then
	say "no cached $PKG source tree in $CACHE_ROOT, and fetching one needs root."
	say "run as root:"
	say "  test/ensure-deps.sh            # dpkg-dev"
	say "  test/regress-core/get-source.sh"
	say "or by hand, then point run.sh at the unpacked tree with RB_REGRESS_SRC=<dir>:"
	say "  printf '%s\\n' 'deb-src http://deb.debian.org/debian $codename main' \\"
	say "    'deb-src http://deb.debian.org/debian $codename-updates main' \\"
	say "    'deb-src http://deb.debian.org/debian-security $codename-security main' >/etc/apt/sources.list.d/deb-src.list"
	say "  apt-get update && apt-get source --only-source $PKG=$installed"
	exit 1
fi
# One download at a time per cache (several checkouts may share it); the
# one that waited re-checks the cache first.
mkdir -p "$CACHE_ROOT" || exit 1
exec 8>"$CACHE_ROOT/.lock"
flock -w 900 8 || { say "$CACHE_ROOT/.lock still held after 15 minutes"; exit 1; }
if tree_ok "$exact_dir"; then
	use_tree "$exact_dir"
fi
if [ -z "${RB_SRC_REFRESH:-}" ] && [ -f "$pointer" ] && tree_ok "$CACHE_ROOT/$PKG-$(cat "$pointer")"; then
	use_tree "$CACHE_ROOT/$PKG-$(cat "$pointer")"
fi
if ! command -v dpkg-source >/dev/null 2>&1; then
	say "dpkg-source missing: run test/ensure-deps.sh (installs dpkg-dev)"
	exit 1
fi

# Does some apt source already provide deb-src for this suite?  Adding a
# second entry for the same suite would make apt warn "configured multiple
# times" on every run.
have_src() {
	apt-get indextargets --no-release-info 'Created-By: Sources' \
		--format '$(RELEASE)' 2>/dev/null | grep -qxF "$1"
}
# The mirror the system already uses for a suite's binary packages.
mirror_of() {
	apt-get indextargets --no-release-info 'Created-By: Packages' \
		--format '$(RELEASE) $(REPO_URI)' 2>/dev/null |
		awk -v s="$1" '$1 == s { print $2; exit }'
}

# Our own file is rewritten from scratch: drop it first so that only the
# system's other entries count as "already there".
rm -f "$SRC_LIST" "${SRC_LIST%.sources}.list"
missing=()
for s in "${suites[@]}"; do
	have_src "$s" || missing+=("$s")
done
if [ ${#missing[@]} -gt 0 ]; then
	# Match the system's format: deb822 if it already uses .sources files
	# (Debian 12's default debian.sources), one-line otherwise.
	if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
		fmt=deb822
	else
		fmt=oneline
		SRC_LIST=${SRC_LIST%.sources}.list
	fi
	keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	tmp=$(mktemp)
	echo "# written by remote_buffer test/regress-core/get-source.sh: Debian source" >"$tmp"
	echo "# packages, for PostgreSQL's regression test files matching the server" >>"$tmp"
	for s in "${missing[@]}"; do
		uri=$(mirror_of "$s")
		if [ -z "$uri" ]; then
			case "$s" in
				*-security) uri=http://deb.debian.org/debian-security/ ;;
				*) uri=http://deb.debian.org/debian/ ;;
			esac
		fi
		if [ "$fmt" = deb822 ]; then
			{
				echo
				echo "Types: deb-src"
				echo "URIs: $uri"
				echo "Suites: $s"
				echo "Components: main"
				[ -f "$keyring" ] && echo "Signed-By: $keyring"
			} >>"$tmp"
		else
			echo "deb-src $uri $s main" >>"$tmp"
		fi
	done
	install -m 0644 "$tmp" "$SRC_LIST"
	rm -f "$tmp"
	say "added deb-src for ${missing[*]} in $SRC_LIST"
else
	say "deb-src entries for ${suites[*]} already configured"
fi

# Fail fast instead of hanging on an unreachable mirror.
APT_NET=(-o Acquire::Retries=1 -o Acquire::http::Timeout=30 -o Acquire::https::Timeout=30)
# apt's progress output is kept out of the way; its warnings and errors
# are shown.
say "apt-get update"
apt_log=$(mktemp)
apt-get "${APT_NET[@]}" -q update >"$apt_log" 2>&1 </dev/null
rc=$?
grep -E '^(W|E):' "$apt_log" | sed 's/^/  /' >&2
rm -f "$apt_log"
if [ "$rc" -ne 0 ]; then
	say "apt-get update failed (no network?)"
	exit 2
fi
# apt-get update exits 0 even when some indexes could not be fetched;
# without a Sources index there is nothing to download.
versions=$(apt-cache showsrc --only-source "$PKG" 2>/dev/null | sed -n 's/^Version: //p' | sort -u)
if [ -z "$versions" ]; then
	say "no $PKG source package known to apt (mirror unreachable?)"
	exit 2
fi
# Candidates: the installed version first, then every 15.x, newest first.
cands=("$installed")
while read -r v; do
	[ -n "$v" ] && [ "$v" != "$installed" ] && cands+=("$v")
done < <(printf '%s\n' "$versions" | grep -E '^([0-9]+:)?15\.' |
	sort -V -r)

mkdir -p "$CACHE_ROOT"
stage=$(mktemp -d "$CACHE_ROOT/.stage.XXXXXX")
trap 'rm -rf "$stage" "$CACHE_ROOT/.apt-source.log"' EXIT
# apt downloads as the unprivileged _apt user when it can write the target
# directory; otherwise it warns and downloads as root.
if id _apt >/dev/null 2>&1; then
	chown _apt "$stage"
fi

chosen=
for v in "${cands[@]}"; do
	say "trying apt-get source $PKG=$v"
	if (cd "$stage" && apt-get "${APT_NET[@]}" -q source --only-source "$PKG=$v" \
		>"$CACHE_ROOT/.apt-source.log" 2>&1 </dev/null); then
		chosen=$v
		break
	fi
	grep -E '^(W|E):' "$CACHE_ROOT/.apt-source.log" | sed 's/^/  /' >&2
	rm -rf "${stage:?}"/*
	say "  $PKG=$v: source not downloadable"
done
if [ -z "$chosen" ]; then
	say "could not download any $PKG 15.x source"
	exit 2
fi

tree=$(find "$stage" -mindepth 1 -maxdepth 1 -type d -name "postgresql-*" | head -n 1)
if [ -z "$tree" ] || [ ! -f "$tree/src/test/regress/parallel_schedule" ]; then
	say "apt-get source gave no usable tree in $stage"
	exit 1
fi
dest=$CACHE_ROOT/$PKG-$chosen
rm -rf "$dest"
mv "$tree" "$dest"
chown -R root:root "$dest"
chmod -R a+rX,go-w "$dest"
echo "$chosen" >"$dest/.rb-source-version"
echo "$chosen" >"$pointer"
say "unpacked $PKG $chosen into $dest"
if [ "$chosen" != "$installed" ]; then
	say "WARNING: $PKG source $installed is not downloadable; using $chosen"
fi
use_tree "$dest"
