"""pytest fixtures for MiniTwit; the machinery is in minitwit_helpers.py (a unique module name,
so it cannot clash with other test folders that `make test` runs in the same pytest session)."""

import pytest

from minitwit_helpers import start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One gunicorn for a test module, stopped when the module ends (also on failure)."""
    tmp = tmp_path_factory.mktemp("minitwit")
    srv = start_server(tmp, "shared")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def app(server):
    """The shared server, reset from the fixture seed before the test."""
    r = server.get("/cleardb")
    assert r.status_code == 302, server.log()
    return server


@pytest.fixture
def own_server(tmp_path):
    """Start a private gunicorn with given settings: own_server(name, seed=..., extra_env=...)."""
    started = []

    def start(name="own", **kw):
        srv = start_server(tmp_path, name, **kw)
        started.append(srv)
        return srv

    try:
        yield start
    finally:
        for srv in started:
            srv.stop()
