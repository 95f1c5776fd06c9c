"""Helpers that run MiniTwit for real: gunicorn with the study's configuration
(minitwit/gunicorn.conf.py, as every launcher uses it) on a free loopback port.

gunicorn comes from $CPE_VENV/bin/gunicorn when CPE_VENV is set (as `make test` does), else from
next to sys.executable. It is started in its own process group and stopped by a fixture
finalizer, pass or fail (`Server.stop`), so no test leaves a server behind. Pointing CPE_VENV at a PyPy venv runs
the same suite against MiniTwit under PyPy (`make minitwit-test-pypy`).
"""

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from html import unescape
from pathlib import Path

import pytest
import requests

MINITWIT_DIR = Path(__file__).resolve().parent.parent
FIXTURE_SEED = Path(__file__).resolve().parent / "fixtures" / "seed.sql"
SCHEMA = MINITWIT_DIR / "schema.sql"
GUNICORN_CONF = MINITWIT_DIR / "gunicorn.conf.py"
START_TIMEOUT_S = 60.0


def gunicorn_path():
    venv = os.environ.get("CPE_VENV")
    if venv:
        path = Path(venv) / "bin" / "gunicorn"
    else:
        path = Path(sys.executable).parent / "gunicorn"
    if not path.exists():
        pytest.fail(
            "gunicorn not found at %s: run the tests through `make test` (needs CPE_VENV) "
            "or with the venv's python" % path
        )
    return path


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One gunicorn + MiniTwit, in its own process group; `stop()` is idempotent."""

    def __init__(self, db, seed, log_path, extra_env=None):
        self.db = Path(db)
        self.seed = Path(seed)
        self.log_path = Path(log_path)
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        env = dict(os.environ, MINITWIT_DB=str(self.db), MINITWIT_SEED=str(self.seed))
        env.update(extra_env or {})
        # Workers, timeout and the app come from the configuration file; only the address is
        # ours.
        cmd = [
            str(gunicorn_path()),
            "-c", str(GUNICORN_CONF),
            "--bind", "127.0.0.1:%d" % self.port,
        ]  # fmt: skip
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )

    def wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    "gunicorn exited with %s before answering; log:\n%s"
                    % (self.proc.returncode, self.log())
                )
            try:
                r = requests.get(self.url + "/static/style.css", timeout=2)
                if r.status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError(
            "gunicorn did not answer within %ss; log:\n%s" % (START_TIMEOUT_S, self.log())
        )

    def log(self):
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            # SIGTERM to the master alone: it stops its workers and waits for them before it
            # exits (signalling the workers too would make gunicorn log errors). If it hangs,
            # SIGKILL its whole process group: our child leads it (start_new_session), so that
            # reaches its workers and nothing else.
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=15)
        self._log.close()

    # --- helpers for tests ---

    def get(self, path, session=None, **kw):
        kw.setdefault("allow_redirects", False)
        kw.setdefault("timeout", 30)
        return (session or requests).get(self.url + path, **kw)

    def post(self, path, data, session=None, **kw):
        kw.setdefault("allow_redirects", False)
        kw.setdefault("timeout", 30)
        return (session or requests).post(self.url + path, data=data, **kw)

    def login(self, username, password):
        s = requests.Session()
        r = self.post("/login", {"username": username, "password": password}, session=s)
        assert r.status_code == 302, r.text
        return s

    def query(self, sql, args=()):
        con = sqlite3.connect(str(self.db))
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def count(self, table):
        return self.query("select count(*) from %s" % table)[0][0]


def start_server(tmp_path, name, seed=FIXTURE_SEED, extra_env=None):
    server = Server(tmp_path / (name + ".db"), seed, tmp_path / (name + ".log"), extra_env)
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server


# --- page parsing ----------------------------------------------------------------------------

MESSAGE_RE = re.compile(
    r'<li><img src="(?P<img>[^"]*)" alt=""><p>\s*'
    r'<strong><a href="(?P<href>[^"]*)">(?P<user>[^<]*)</a></strong>\s*'
    r"(?P<text>.*?)\s*<small>&mdash; (?P<date>[^<]*)</small>",
    re.S,
)


def messages(html):
    """The timeline entries of a page as dicts (HTML entities decoded)."""
    return [
        {k: unescape(v) for k, v in m.groupdict().items()} for m in MESSAGE_RE.finditer(html)
    ]


def fixture_db():
    """The fixture seed loaded into an in-memory database: the tests' independent oracle."""
    con = sqlite3.connect(":memory:")
    con.executescript(SCHEMA.read_text(encoding="utf-8"))
    con.executescript(FIXTURE_SEED.read_text(encoding="utf-8"))
    return con
