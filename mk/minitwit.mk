# MiniTwit (minitwit/): the Flask app under test and its pytest suite (real gunicorn).
# pypy3 (Debian 12: PyPy 7.3.11, Python 3.9) is one of the local interpreters of the demo;
# `pypy3 -m venv` works with the pypy3 package alone (see docs/minitwit.md).
APT_PACKAGES += pypy3
PYTEST_PATHS += minitwit/tests
