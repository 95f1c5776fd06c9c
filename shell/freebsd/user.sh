#!/bin/sh
# User part of provisioning for FreeBSD (as the SSH user, no root): directories, and on the
# server pyenv builds of the interpreters the package set lacks, then a check of each one.
set -eu
# shellcheck source=shell/lib.sh
. "$(dirname "$0")/../lib.sh"
# pyenv's python-build runs make; on FreeBSD that must be GNU make.
MAKE=gmake
export MAKE
user_part
