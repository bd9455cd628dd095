#!/bin/sh
# install-deps.sh — install the Debian packages kith needs to build and test.
#
# Installs only what is missing.  As root it runs apt-get; otherwise it
# prints the command to run.  Package list: ARCHITECTURE §11 plus the build
# tools and tzdata (time zones are read from /usr/share/zoneinfo).
set -eu

PACKAGES="build-essential cmake pkg-config
libcurl4-openssl-dev libjansson-dev libsqlite3-dev libmicrohttpd-dev
libzstd-dev libssl-dev libsodium-dev libwebsockets-dev
tzdata sqlite3 tmux clang b3sum"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "kith needs these Debian packages:$missing" >&2
	echo "Install them with:  sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || apt-get update
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
