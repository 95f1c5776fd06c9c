"""MiniTwit: the tiny Twitter-like Flask application the energy experiment serves.

It is the workload, not a product: small, plain and identical for every interpreter, so that
the interpreter is the only thing that changes between runs. See docs/minitwit.md.

Configuration (environment, read once at import):
    MINITWIT_DB     SQLite file (default /tmp/minitwit.db)
    MINITWIT_SEED   seed SQL that /cleardb loads (default: seed.sql next to this module)
    MINITWIT_DEBUG  "1"/"0" (default 1, as in the original study); only sets app.debug
"""

import hashlib
import os
import sqlite3
import time
from datetime import datetime, timezone
from hashlib import md5

from flask import (
    Flask,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.security import check_password_hash, generate_password_hash

HERE = os.path.dirname(os.path.abspath(__file__))


def _env_flag(name, default):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() not in ("0", "false", "no", "off")


DATABASE = os.environ.get("MINITWIT_DB") or "/tmp/minitwit.db"
SEED = os.environ.get("MINITWIT_SEED") or os.path.join(HERE, "seed.sql")
SCHEMA = os.path.join(HERE, "schema.sql")
PER_PAGE = 30
DEBUG = _env_flag("MINITWIT_DEBUG", True)
# Fixed on purpose: both gunicorn workers must accept each other's session cookies, and runs
# must be repeatable.
SECRET_KEY = b"minitwit-energy-study: fixed, not a secret"

# werkzeug 3.0.1 hashes new passwords with scrypt by default, which needs hashlib.scrypt. PyPy
# 7.3.11 (Debian 12) has no hashlib.scrypt, so there the default would fail every registration;
# such interpreters use werkzeug's next method, pbkdf2 (sha256, 600000 iterations), instead.
# Every interpreter that has scrypt keeps the library default, as the spec asks.
PASSWORD_METHOD = None if hasattr(hashlib, "scrypt") else "pbkdf2"

app = Flask(__name__)
app.config.update(
    DATABASE=DATABASE,
    SEED=SEED,
    SCHEMA=SCHEMA,
    PER_PAGE=PER_PAGE,
    DEBUG=DEBUG,
    SECRET_KEY=SECRET_KEY,
)
# Only the flag: under gunicorn nothing starts the reloader or the interactive debugger (those
# belong to `flask run`/app.run). Debug still makes Flask re-check template files on each render
# and propagate unhandled exceptions to gunicorn, which logs them and answers 500, as in the study.
app.debug = DEBUG
if PASSWORD_METHOD is not None:
    app.logger.warning(
        "hashlib has no scrypt on this interpreter: new passwords are hashed with werkzeug's "
        "%s method instead of its default (scrypt)",
        PASSWORD_METHOD,
    )


def hash_password(password):
    if PASSWORD_METHOD is None:
        # The library's default method, on purpose: its cost is part of the workload.
        return generate_password_hash(password)
    return generate_password_hash(password, method=PASSWORD_METHOD)


# --- database ------------------------------------------------------------------------------


def connect_db():
    return sqlite3.connect(app.config["DATABASE"])


def query_db(query, args=(), one=False):
    cur = g.db.execute(query, args)
    rv = [
        dict((cur.description[idx][0], value) for idx, value in enumerate(row))
        for row in cur.fetchall()
    ]
    return (rv[0] if rv else None) if one else rv


def get_user_id(username):
    rv = g.db.execute("select user_id from user where username = ?", [username]).fetchone()
    return rv[0] if rv else None


class SeedError(Exception):
    """The seed could not be loaded; the old database file is left as it was."""


def split_statements(script):
    """Yield the SQL statements of script: each ends with a line ending in ";" outside a
    string literal (statements may span lines; '' inside a literal toggles twice)."""
    lines = []
    in_string = False
    for line in script.splitlines(keepends=True):
        if not lines and not in_string and line.lstrip().startswith("--"):
            continue
        lines.append(line)
        if line.count("'") % 2:
            in_string = not in_string
        if not in_string and line.rstrip().endswith(";"):
            yield "".join(lines)
            lines = []
    rest = "".join(lines)
    if rest.strip():
        yield rest


def reset_database(db_path, schema_path, seed_path):
    """Replace the database at db_path with a fresh one: schema, then the seed data.

    The new database is built beside the old one and renamed over it only when complete, so a
    missing or broken seed leaves the old database intact. A seed that brings its own
    `create table` statements is run on its own, without schema.sql.
    """
    try:
        with open(seed_path, encoding="utf-8") as f:
            seed = f.read()
    except OSError as e:
        raise SeedError("cannot read seed file %s: %s" % (seed_path, e)) from e
    try:
        with open(schema_path, encoding="utf-8") as f:
            schema = f.read()
    except OSError as e:
        raise SeedError("cannot read schema file %s: %s" % (schema_path, e)) from e

    tmp_path = "%s.cleardb-%d" % (db_path, os.getpid())
    for stale in (tmp_path, tmp_path + "-journal"):
        if os.path.exists(stale):
            os.remove(stale)
    try:
        db = sqlite3.connect(tmp_path)
        try:
            # Nobody sees this file before the rename, and a failure discards it: no journal and
            # no fsync per statement, so a seed without BEGIN/COMMIT loads as fast as one with.
            db.execute("pragma journal_mode = off").close()
            db.execute("pragma synchronous = off").close()
            if "create table" not in seed.lower():
                db.executescript(schema)
            # Statement by statement, not executescript: PyPy's executescript takes about a
            # minute on the 1.8 MB seed (CPython: 0.1 s); this is fast on both.
            db.isolation_level = None
            for statement in split_statements(seed):
                # Closed at once: PyPy finalizes statements late, and a COMMIT with one still
                # open fails ("SQL statements in progress").
                db.execute(statement).close()
        finally:
            db.close()
        fd = os.open(tmp_path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except sqlite3.Error as e:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise SeedError("cannot load seed file %s: %s" % (seed_path, e)) from e
    os.replace(tmp_path, db_path)


@app.before_request
def before_request():
    g.db = connect_db()
    g.user = None
    if "user_id" in session:
        g.user = query_db("select * from user where user_id = ?", [session["user_id"]], one=True)


@app.teardown_request
def teardown_request(exception):
    db = g.pop("db", None)
    if db is not None:
        db.close()


# --- template helpers ----------------------------------------------------------------------


def format_datetime(timestamp):
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d @ %H:%M")


def gravatar_url(email, size=80):
    digest = md5(email.strip().lower().encode("utf-8")).hexdigest()
    return "https://www.gravatar.com/avatar/%s?d=identicon&s=%d" % (digest, size)


app.jinja_env.filters["datetimeformat"] = format_datetime
app.jinja_env.filters["gravatar"] = gravatar_url


# --- routes --------------------------------------------------------------------------------

# Timelines: newest first, and messages of the same second in the order they were posted. The
# study's MiniTwit orders by pub_date alone, and SQLite gives it equal dates in insertion order;
# its data has runs of equal dates, so this tie-break shows the study's 30 messages (and pages
# of its size: docs/minitwit.md, "Page sizes").


@app.route("/")
def timeline():
    if not g.user:
        return redirect(url_for("public_timeline"))
    messages = query_db(
        """select message.*, user.* from message, user
           where message.flagged = 0 and message.author_id = user.user_id and (
               user.user_id = ? or
               user.user_id in (select whom_id from follower where who_id = ?))
           order by message.pub_date desc, message.message_id asc limit ?""",
        [session["user_id"], session["user_id"], PER_PAGE],
    )
    return render_template("timeline.html", messages=messages)


@app.route("/public")
def public_timeline():
    messages = query_db(
        """select message.*, user.* from message, user
           where message.flagged = 0 and message.author_id = user.user_id
           order by message.pub_date desc, message.message_id asc limit ?""",
        [PER_PAGE],
    )
    return render_template("timeline.html", messages=messages)


@app.route("/cleardb")
def cleardb():
    try:
        reset_database(app.config["DATABASE"], app.config["SCHEMA"], app.config["SEED"])
    except SeedError as e:
        app.logger.error("/cleardb failed, database left unchanged: %s", e)
        return "cleardb failed, database left unchanged: %s\n" % e, 500, {
            "Content-Type": "text/plain; charset=utf-8"
        }
    return redirect(url_for("public_timeline"))


@app.route("/<username>")
def user_timeline(username):
    profile_user = query_db("select * from user where username = ?", [username], one=True)
    if profile_user is None:
        abort(404)
    followed = False
    if g.user:
        followed = (
            query_db(
                "select 1 from follower where follower.who_id = ? and follower.whom_id = ?",
                [session["user_id"], profile_user["user_id"]],
                one=True,
            )
            is not None
        )
    messages = query_db(
        """select message.*, user.* from message, user
           where user.user_id = message.author_id and user.user_id = ?
           order by message.pub_date desc, message.message_id asc limit ?""",
        [profile_user["user_id"], PER_PAGE],
    )
    return render_template(
        "timeline.html", messages=messages, followed=followed, profile_user=profile_user
    )


@app.route("/<username>/follow")
def follow_user(username):
    if not g.user:
        abort(401)
    whom_id = get_user_id(username)
    if whom_id is None:
        abort(404)
    g.db.execute(
        "insert into follower (who_id, whom_id) values (?, ?)", [session["user_id"], whom_id]
    )
    g.db.commit()
    flash('You are now following "%s"' % username)
    return redirect(url_for("user_timeline", username=username))


@app.route("/<username>/unfollow")
def unfollow_user(username):
    if not g.user:
        abort(401)
    whom_id = get_user_id(username)
    if whom_id is None:
        abort(404)
    g.db.execute(
        "delete from follower where who_id = ? and whom_id = ?", [session["user_id"], whom_id]
    )
    g.db.commit()
    flash('You are no longer following "%s"' % username)
    return redirect(url_for("user_timeline", username=username))


@app.route("/add_message", methods=["POST"])
def add_message():
    if not g.user:
        abort(401)
    text = request.form.get("text", "")
    if text:
        g.db.execute(
            "insert into message (author_id, text, pub_date, flagged) values (?, ?, ?, 0)",
            [session["user_id"], text, int(time.time())],
        )
        g.db.commit()
        flash("Your message was recorded")
    return redirect(url_for("timeline"))


@app.route("/login", methods=["GET", "POST"])
def login():
    if g.user:
        return redirect(url_for("timeline"))
    error = None
    if request.method == "POST":
        user = query_db(
            "select * from user where username = ?", [request.form.get("username", "")], one=True
        )
        if user is None:
            error = "Invalid username"
        elif not check_password_hash(user["pw_hash"], request.form.get("password", "")):
            error = "Invalid password"
        else:
            flash("You were logged in")
            session["user_id"] = user["user_id"]
            return redirect(url_for("timeline"))
    return render_template("login.html", error=error)


@app.route("/register", methods=["GET", "POST"])
def register():
    if g.user:
        return redirect(url_for("timeline"))
    error = None
    if request.method == "POST":
        username = request.form.get("username", "")
        email = request.form.get("email", "")
        password = request.form.get("password", "")
        password2 = request.form.get("password2", "")
        if not username:
            error = "You have to enter a username"
        elif not email or "@" not in email:
            error = "You have to enter a valid email address"
        elif not password:
            error = "You have to enter a password"
        elif password != password2:
            error = "The two passwords do not match"
        elif get_user_id(username) is not None:
            error = "The username is already taken"
        else:
            g.db.execute(
                "insert into user (username, email, pw_hash) values (?, ?, ?)",
                [username, email, hash_password(password)],
            )
            g.db.commit()
            flash("You were successfully registered and can login now")
            return redirect(url_for("login"))
    return render_template("register.html", error=error)


@app.route("/logout")
def logout():
    flash("You were logged out")
    session.pop("user_id", None)
    return redirect(url_for("public_timeline"))
