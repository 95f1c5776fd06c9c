"""gunicorn's configuration for MiniTwit in this study: the one place its server settings live.

Every launcher starts MiniTwit as

    <venv>/bin/gunicorn -c <minitwit>/gunicorn.conf.py --bind HOST:PORT

(the Rust `procs::gunicorn_argv`, and the Python test helper `tests/minitwit_helpers.py`). The
address and a PID file stay per-launch arguments; the database and seed come from MiniTwit's
own variables, MINITWIT_DB and MINITWIT_SEED.

The study ran 2 sync workers with a 120 s worker timeout. MINITWIT_WORKERS and MINITWIT_TIMEOUT
override them (pi-provision's inventory has `workers` and `timeout_s` fields); a command-line
flag would override this file too, but no launcher should need one.
"""

import os


def _positive_int(var, default):
    raw = os.environ.get(var, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise SystemExit(
            "gunicorn.conf.py: %s=%r: expected a whole number of at least 1" % (var, raw)
        )
    return value


# The app is imported from this folder (wsgi.py), wherever gunicorn was started from.
chdir = os.path.dirname(os.path.abspath(__file__))
wsgi_app = "wsgi:app"

workers = _positive_int("MINITWIT_WORKERS", 2)
timeout = _positive_int("MINITWIT_TIMEOUT", 120)
