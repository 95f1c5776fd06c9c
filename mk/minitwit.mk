# MiniTwit (minitwit/): the Flask app under test and its pytest suite (real gunicorn).
#
#   make minitwit-test-pypy   the same suite with gunicorn and MiniTwit running under PyPy
#                             (venv .venv-pypy made with `pypy3 -m venv` and minitwit's pins)
#
# pypy3 (Debian 12: PyPy 7.3.11, Python 3.9) is one of the demo's local interpreters;
# `pypy3 -m venv` works with the pypy3 package alone, pypy3-venv is not needed
# (see docs/minitwit.md).
APT_PACKAGES += pypy3
PYTEST_PATHS += minitwit/tests
TEST_EXTRA   += minitwit-test-pypy

PYPY_VENV := $(CURDIR)/.venv-pypy

.PHONY: minitwit-test-pypy

$(PYPY_VENV)/.stamp: minitwit/requirements.txt | $(STAMPS)/apt.stamp
	@echo "minitwit: creating $(PYPY_VENV) (pypy3) with minitwit's pinned requirements" >&2
	@test -x $(PYPY_VENV)/bin/python || pypy3 -m venv $(PYPY_VENV)
	@$(PYPY_VENV)/bin/python -m pip install -q --disable-pip-version-check -r minitwit/requirements.txt >&2
	@touch $@

# pytest runs on the dev venv; CPE_VENV tells the fixtures whose gunicorn (and python) to use.
minitwit-test-pypy: $(PYPY_VENV)/.stamp venv
	CPE_VENV=$(PYPY_VENV) $(PY) -m pytest -q minitwit/tests
