#!/bin/sh
# venv.sh VERSION PYTHON VENV: creates $CPE_BASE/VENV with PYTHON and installs MiniTwit's
# pinned requirements offline from $CPE_BASE/wheelhouse. Idempotent: an existing venv of the
# right version is kept and pip finds everything already satisfied.
set -eu
# shellcheck source=shell/lib.sh
. "$(dirname "$0")/lib.sh"
[ $# -eq 3 ] || die "usage: venv.sh VERSION PYTHON VENV"
version=$1
python=$2
dir="$CPE_BASE/$3"

step "virtualenv $dir ($python)"
if [ -x "$dir/bin/python" ]; then
	have=$("$dir/bin/python" -c 'import platform, sys; print(("pypy" if platform.python_implementation() == "PyPy" else "") + "%d.%d" % sys.version_info[:2])')
	if [ "$have" = "$version" ]; then
		say "exists (Python $have)"
	else
		say "exists but is Python $have, not $version: recreating"
		rm -rf "$dir"
		"$python" -m venv "$dir"
	fi
else
	"$python" -m venv "$dir"
	say "created"
fi

step "requirements from $CPE_BASE/wheelhouse (offline)"
PIP_DISABLE_PIP_VERSION_CHECK=1 "$dir/bin/python" -m pip install --no-index --progress-bar off \
	--find-links "$CPE_BASE/wheelhouse" -r "$CPE_BASE/minitwit/requirements.txt"

step "check"
"$dir/bin/python" -c 'import importlib.metadata as m, sqlite3; print("    flask", m.version("flask"), "gunicorn", m.version("gunicorn"))'
