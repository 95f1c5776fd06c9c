# pi-provision (crates/pi-provision, shell/): the testbed, from a blank SD card to MiniTwit
# running on the Pi. See docs/provisioning.md.
#
#   make shellcheck-provision   lint the provisioning scripts (part of make test)
#   make provision-wheelhouse   the wheelhouse the pi-provision tests deploy from
#
# The tests build a small testbed of network namespaces with a real OpenSSH sshd in each, so
# they need openssh-server and iproute2, and run as root.
APT_PACKAGES += openssh-server openssh-client iproute2 shellcheck libssl-dev pkg-config
TEST_EXTRA   += shellcheck-provision

PROVISION_WHEELHOUSE := $(STAMPS)/wheelhouse
export CPE_WHEELHOUSE := $(PROVISION_WHEELHOUSE)

.PHONY: shellcheck-provision provision-wheelhouse

shellcheck-provision: | $(STAMPS)/apt.stamp
	shellcheck -x -s sh shell/*.sh shell/*/*.sh

# Wheels of MiniTwit's pins for the local interpreters: the dev venv's CPython and PyPy (the
# PyPy venv of mk/minitwit.mk; pypy3 is a dependency there, and the tests deploy a PyPy venv
# when /usr/bin/pypy3 exists). This is the only step of the pi-provision tests that reaches
# the package index; the tests themselves install offline from it.
PROVISION_PYPY := $(if $(PYPY_VENV),$(PYPY_VENV)/bin/python)
provision-wheelhouse: $(PROVISION_WHEELHOUSE)/.stamp
$(PROVISION_WHEELHOUSE)/.stamp: minitwit/requirements.txt | build venv $(if $(PYPY_VENV),$(PYPY_VENV)/.stamp)
	@echo "provision: building the test wheelhouse in $(PROVISION_WHEELHOUSE)" >&2
	@rm -rf $(PROVISION_WHEELHOUSE)
	@$(BIN)/pi-provision wheelhouse --python $(PY) $(if $(PROVISION_PYPY),--python $(PROVISION_PYPY)) \
	  --requirements minitwit/requirements.txt -o $(PROVISION_WHEELHOUSE) > /dev/null
	@touch $@

# The end-to-end tests deploy the wheelhouse and the seed SQL.
cargo-test: $(PROVISION_WHEELHOUSE)/.stamp $(SEED_SQL)
