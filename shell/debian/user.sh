#!/bin/sh
# User part of provisioning for Debian and Raspberry Pi OS (as the SSH user, no root).
set -eu
# shellcheck source=shell/lib.sh
. "$(dirname "$0")/../lib.sh"
user_part
