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

# Wheels of MiniTwit's pins for the local interpreters (the dev venv's CPython and, where the
# PyPy venv exists, PyPy). This is the only step of the pi-provision tests that reaches the
# package index; the tests themselves install offline from it.
provision-wheelhouse: $(PROVISION_WHEELHOUSE)/.stamp
$(PROVISION_WHEELHOUSE)/.stamp: minitwit/requirements.txt | build venv
	@echo "provision: building the test wheelhouse in $(PROVISION_WHEELHOUSE)" >&2
	@rm -rf $(PROVISION_WHEELHOUSE)
	@$(BIN)/pi-provision wheelhouse --python $(PY) \
	  $(if $(wildcard $(CURDIR)/.venv-pypy/bin/python),--python $(CURDIR)/.venv-pypy/bin/python) \
	  --requirements minitwit/requirements.txt -o $(PROVISION_WHEELHOUSE) > /dev/null
	@touch $@

# The end-to-end tests deploy the wheelhouse and the seed SQL.
cargo-test: $(PROVISION_WHEELHOUSE)/.stamp $(SEED_SQL)
