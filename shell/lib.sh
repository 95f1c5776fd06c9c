# shellcheck shell=sh
# Helpers sourced by the provisioning scripts (POSIX sh; FreeBSD and Debian).
#
# The controller (pi-provision) passes settings in the environment:
#   CPE_BASE          directory on this host under which everything lives
#   CPE_ROLE          server | client
#   CPE_USER          the SSH user (the root part gives it CPE_BASE)
#   CPE_INTERPRETERS  space-separated VERSION:INSTALL:PACKAGE:COMMAND entries, e.g.
#                     "3.8:pyenv:3.8.20:~/.pyenv/versions/3.8.20/bin/python3.8 3.12:pkg:python312:python3.12"

: "${CPE_BASE:?CPE_BASE must be set (pi-provision sets it)}"
: "${CPE_ROLE:=server}"
: "${CPE_USER:=$(id -un)}"
: "${CPE_INTERPRETERS:=}"

# Every step is announced, so the controller's log shows where a failure happened.
step() { printf '==> %s\n' "$*"; }
say() { printf '    %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# missing_packages CHECK PACKAGE...: prints (space-separated) the packages for which the
# command `CHECK PACKAGE` fails, i.e. those still to install.
missing_packages() {
	check=$1
	shift
	missing=""
	for p in "$@"; do
		if "$check" "$p" >/dev/null 2>&1; then :; else missing="$missing $p"; fi
	done
	printf '%s' "$missing"
}

# Splits one CPE_INTERPRETERS entry into $i_version $i_install $i_package $i_command.
parse_interpreter() {
	i_version=${1%%:*}; rest=${1#*:}
	i_install=${rest%%:*}; rest=${rest#*:}
	i_package=${rest%%:*}
	i_command=${rest#*:}
	case $i_command in
		\~/*) i_command="$HOME/${i_command#\~/}" ;;
	esac
}

# pyenv for interpreters the package set lacks; cloned once, each version built once.
ensure_pyenv_version() {
	if [ ! -x "$HOME/.pyenv/bin/pyenv" ]; then
		say "installing pyenv into $HOME/.pyenv"
		git clone --depth 1 https://github.com/pyenv/pyenv.git "$HOME/.pyenv"
	fi
	if [ -d "$HOME/.pyenv/versions/$1" ]; then
		say "pyenv $1 already built"
	else
		say "building Python $1 with pyenv (this takes a long time on a Raspberry Pi)"
		PYENV_ROOT="$HOME/.pyenv" "$HOME/.pyenv/bin/pyenv" install -s "$1"
	fi
}

# Checks that $i_command runs and has the venv module; prints its version.
check_interpreter() {
	if ! v=$("$i_command" -c 'import sys, venv, sqlite3; print(sys.version.split()[0])' 2>&1); then
		die "interpreter $i_version ($i_command) is missing or lacks venv/sqlite3: $v"
	fi
	say "interpreter $i_version: $i_command is Python $v"
}

# The user part, the same on every profile: directories, then (server) the interpreters.
user_part() {
	step "directories under $CPE_BASE"
	for d in run log bin minitwit wheelhouse; do
		if [ -d "$CPE_BASE/$d" ]; then say "$d exists"; else mkdir -p "$CPE_BASE/$d"; say "$d created"; fi
	done
	if [ "$CPE_ROLE" != server ]; then
		step "client: nothing more to install (the load agent is deployed to $CPE_BASE/bin)"
		return 0
	fi
	for entry in $CPE_INTERPRETERS; do
		parse_interpreter "$entry"
		step "interpreter $i_version ($i_install)"
		if [ "$i_install" = pyenv ]; then
			ensure_pyenv_version "$i_package"
		fi
		check_interpreter
	done
}
