#!/bin/sh
# Root part of provisioning for FreeBSD (the study's Raspberry Pi image). Run by pi-provision
# through `su -l root -c` (root's password from PI_PROVISION_ROOT_PASSWORD or a prompt).
# Idempotent: pkg installs only what is missing, sysrc changes only what differs.
set -eu
# shellcheck source=shell/lib.sh
. "$(dirname "$0")/../lib.sh"

step "pkg bootstrap"
if pkg -N >/dev/null 2>&1; then
	say "pkg is ready"
else
	env ASSUME_ALWAYS_YES=yes pkg bootstrap -y
fi

step "packages"
pkgs="ca_root_nss"
need_pyenv=no
for entry in $CPE_INTERPRETERS; do
	parse_interpreter "$entry"
	case $i_install in
		pkg)
			# FreeBSD splits sqlite3 out of the interpreter: python312 -> py312-sqlite3.
			pkgs="$pkgs $i_package py${i_package#python}-sqlite3"
			;;
		pyenv) need_pyenv=yes ;;
	esac
done
if [ "$CPE_ROLE" = server ] && [ "$need_pyenv" = yes ]; then
	# pyenv is a bash program; python-build needs GNU make and these libraries.
	pkgs="$pkgs bash git gmake pkgconf libffi readline sqlite3"
fi
pkg_installed() { pkg info -e "$1"; }
# shellcheck disable=SC2086 # one word per package
missing=$(missing_packages pkg_installed $pkgs)
if [ -n "$missing" ]; then
	say "installing:$missing"
	# shellcheck disable=SC2086 # one word per package
	pkg install -y $missing
else
	say "all present: $pkgs"
fi

step "services (rc.conf)"
# sshd for the controller, ntpd so timestamps on all hosts agree, no sendmail (background noise
# on the measured server).
for kv in sshd_enable=YES ntpd_enable=YES ntpd_sync_on_start=YES sendmail_enable=NONE; do
	if sysrc -c "$kv"; then say "$kv already set"; else sysrc "$kv"; fi
done

step "base directory $CPE_BASE for $CPE_USER"
if [ -d "$CPE_BASE" ]; then say "exists"; else mkdir -p "$CPE_BASE"; say "created"; fi
if [ "$(stat -f %Su "$CPE_BASE")" != "$CPE_USER" ]; then
	chown "$CPE_USER" "$CPE_BASE"
	say "owner set to $CPE_USER"
fi
