#!/bin/sh
# Root part of provisioning for Debian and Raspberry Pi OS. Run by pi-provision via sudo (or
# directly when the SSH user is root). Idempotent: packages already installed are not touched,
# so a second run changes nothing and needs no network.
set -eu
# shellcheck source=shell/lib.sh
. "$(dirname "$0")/../lib.sh"

step "Debian packages"
pkgs="python3 python3-venv procps ca-certificates"
need_pyenv=no
for entry in $CPE_INTERPRETERS; do
	parse_interpreter "$entry"
	case $i_install in
		apt) pkgs="$pkgs $i_package $i_package-venv" ;;
		pyenv) need_pyenv=yes ;;
	esac
done
if [ "$CPE_ROLE" = server ] && [ "$need_pyenv" = yes ]; then
	# What pyenv's python-build needs to compile CPython with ssl, sqlite3, ctypes, lzma.
	pkgs="$pkgs git build-essential libssl-dev zlib1g-dev libbz2-dev libreadline-dev libsqlite3-dev libffi-dev liblzma-dev"
fi
deb_installed() { dpkg-query -W -f='${Status}' "$1" | grep -q 'install ok installed'; }
# shellcheck disable=SC2086 # one word per package
missing=$(missing_packages deb_installed $pkgs)
if [ -n "$missing" ]; then
	say "installing:$missing"
	DEBIAN_FRONTEND=noninteractive apt-get update -q
	# shellcheck disable=SC2086 # one word per package
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
else
	say "all present: $pkgs"
fi

step "base directory $CPE_BASE for $CPE_USER"
if [ -d "$CPE_BASE" ]; then say "exists"; else mkdir -p "$CPE_BASE"; say "created"; fi
if [ "$(stat -c %U "$CPE_BASE")" != "$CPE_USER" ]; then
	chown "$CPE_USER" "$CPE_BASE"
	say "owner set to $CPE_USER"
fi
