"""/cleardb, the seed, and MiniTwit's configuration, against real gunicorn (see conftest.py)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from minitwit_helpers import FIXTURE_SEED, MINITWIT_DIR, fixture_db

SEED_COUNTS = {"user": 4, "message": 45, "follower": 4}


def counts(server):
    return {table: server.count(table) for table in SEED_COUNTS}


def test_fixture_seed_counts_match_the_oracle():
    con = fixture_db()
    got = {t: con.execute("select count(*) from %s" % t).fetchone()[0] for t in SEED_COUNTS}
    assert got == SEED_COUNTS


def test_cleardb_resets_to_the_seed(app):
    assert counts(app) == SEED_COUNTS
    s = app.login("Ada Lovelace", "ada-pass")
    app.post("/add_message", {"text": "to be cleared"}, session=s)
    app.get("/Grace%20Hopper/follow", session=s)
    app.post("/register", {"username": "X Y", "email": "x@y", "password": "p", "password2": "p"})
    assert counts(app) == {"user": 5, "message": 46, "follower": 5}

    r = app.get("/cleardb")
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/public")
    assert counts(app) == SEED_COUNTS
    assert app.query("select max(message_id) from message") == [(45,)]
    # AUTOINCREMENT starts again from the seed: the next message is 46 again.
    s = app.login("Ada Lovelace", "ada-pass")
    app.post("/add_message", {"text": "after clear"}, session=s)
    assert app.query("select message_id from message where text = 'after clear'") == [(46,)]
    assert app.query("select count(*) from user where username = 'X Y'") == [(0,)]


def test_cleardb_creates_a_missing_database(own_server, tmp_path):
    srv = own_server("fresh")
    srv.db.unlink(missing_ok=True)
    assert srv.get("/cleardb").status_code == 302
    assert counts(srv) == SEED_COUNTS
    assert srv.get("/public").status_code == 200


@pytest.mark.parametrize("problem", ["missing", "broken"])
def test_bad_seed_fails_cleardb_with_500_and_keeps_the_old_db(own_server, tmp_path, problem):
    seed = tmp_path / ("%s-seed.sql" % problem)
    if problem == "broken":
        seed.write_text("insert into user values (1, 'A B', 'a@b', 'x');\nthis is not sql;\n")
    srv = own_server(problem, seed=seed)
    # The old database: the fixture plus one marker message.
    con = fixture_db()
    con.execute(
        "insert into message (author_id, text, pub_date, flagged) values (1, 'marker', 1, 0)"
    )
    con.commit()
    con.execute("vacuum into ?", [str(srv.db)])
    con.close()

    r = srv.get("/cleardb")
    assert r.status_code == 500
    assert str(seed) in r.text
    assert "database left unchanged" in r.text
    log = srv.log()
    assert "/cleardb failed, database left unchanged" in log
    assert str(seed) in log
    assert counts(srv) == {"user": 4, "message": 46, "follower": 4}
    assert srv.query("select count(*) from message where text = 'marker'") == [(1,)]
    assert srv.get("/public").status_code == 200
    assert [p.name for p in srv.db.parent.iterdir() if ".cleardb-" in p.name] == []


def app_config(env_changes):
    """MiniTwit's config as imported by the venv's interpreter with the given environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINITWIT_")}
    env.update(env_changes)
    venv = os.environ.get("CPE_VENV")
    python = str(Path(venv) / "bin" / "python") if venv else sys.executable
    code = (
        "import minitwit as m; "
        "print(m.app.debug, m.app.config['DATABASE'], m.app.config['SEED'], m.PER_PAGE, sep='\\n')"
    )
    out = subprocess.run(
        [python, "-c", code],
        cwd=str(MINITWIT_DIR),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.splitlines()


def test_config_defaults():
    assert app_config({}) == ["True", "/tmp/minitwit.db", str(MINITWIT_DIR / "seed.sql"), "30"]


def test_config_from_environment():
    debug, db, seed, _ = app_config(
        {"MINITWIT_DEBUG": "0", "MINITWIT_DB": "/x/y.db", "MINITWIT_SEED": str(FIXTURE_SEED)}
    )
    assert (debug, db, seed) == ("False", "/x/y.db", str(FIXTURE_SEED))


def test_debug_off_serves_the_same(own_server):
    srv = own_server("nodebug", extra_env={"MINITWIT_DEBUG": "0"})
    assert srv.get("/cleardb").status_code == 302
    assert srv.get("/public").status_code == 200
    assert srv.get("/nobody").status_code == 404


@pytest.mark.parametrize("debug", ["1", "0"])
def test_server_error_is_a_plain_500_logged_by_gunicorn(own_server, debug):
    """A database without tables: debug on propagates the error to gunicorn (which logs the
    traceback and answers 500), debug off lets Flask log it and answer 500; either way no
    interactive debugger page, and the workers keep serving."""
    srv = own_server("debug" + debug, extra_env={"MINITWIT_DEBUG": debug})
    srv.db.unlink(missing_ok=True)
    srv.db.touch()
    for _ in range(4):  # reaches both workers
        r = srv.get("/public", headers={"Connection": "close"})
        assert r.status_code == 500
        assert "Werkzeug Debugger" not in r.text and "Traceback" not in r.text
    log = srv.log()
    assert "sqlite3.OperationalError: no such table" in log
    assert srv.get("/cleardb").status_code == 302
    assert srv.get("/public").status_code == 200


def worker_pids(srv):
    """The gunicorn workers: children of the master we started."""
    children = Path("/proc/%d/task/%d/children" % (srv.proc.pid, srv.proc.pid))
    return [int(p) for p in children.read_text().split()]


def open_db_files(pid, db):
    fd_dir = Path("/proc/%d/fd" % pid)
    found = []
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(str(fd))
        except OSError:  # closed meanwhile
            continue
        if target.startswith(str(db)):
            found.append(target)
    return found


def test_no_database_connection_stays_open_between_requests(app):
    s = app.login("Ada Lovelace", "ada-pass")
    for _ in range(6):
        app.get("/", session=s, headers={"Connection": "close"})
        app.post("/add_message", {"text": "x"}, session=s, headers={"Connection": "close"})
    workers = worker_pids(app)
    assert len(workers) == 2
    assert {pid: open_db_files(pid, app.db) for pid in workers} == {pid: [] for pid in workers}


def test_cleardb_loads_multiline_literals_comments_and_transactions(own_server, tmp_path):
    # Regression: the seed is loaded statement by statement (PyPy's executescript took about
    # a minute on the full seed). Literals may hold ";", newlines and '' quotes.
    seed = tmp_path / "tricky-seed.sql"
    seed.write_text(
        "-- a comment line;\n"
        "BEGIN TRANSACTION;\n"
        "insert into user values (1, 'A B', 'a@b', 'x');\n"
        "insert into message values (1, 1, 'ends with a semicolon;\n"
        "-- not a comment;\n"
        "it''s still the same text;', 1, 0);\n"
        "insert into message values (2, 1, 'two', 2, 0)\n"
        "  ;\n"
        "COMMIT;\n"
    )
    srv = own_server("tricky", seed=seed)
    assert srv.get("/cleardb").status_code == 302
    assert srv.query("select count(*) from user") == [(1,)]
    assert srv.query("select text from message order by message_id") == [
        ("ends with a semicolon;\n-- not a comment;\nit's still the same text;",),
        ("two",),
    ]
