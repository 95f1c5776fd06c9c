"""Every MiniTwit route and message of the spec, against real gunicorn (see conftest.py).

Fixture seed (tests/fixtures/seed.sql): Ada Lovelace (1), Alan Turing (2), Grace Hopper (3),
Edsger Dijkstra (4); Ada follows Alan, Alan follows Grace, Grace and Edsger follow Ada.
"""

import re
import sqlite3
import time
from hashlib import md5
from html import unescape
from urllib.parse import quote

import pytest
import requests

from minitwit_helpers import fixture_db, messages

PER_PAGE = 30
PASSWORDS = {
    "Ada Lovelace": "ada-pass",
    "Alan Turing": "alan-pass",
    "Grace Hopper": "grace-pass",
    "Edsger Dijkstra": "edsger-pass",
}
PAPER_MODE_PATH = "/" + quote("<requests.sessions.Session object at 0x7f3a2c1d5e50>")


def expected_texts(where="1", args=()):
    """Texts the oracle (the fixture in memory, sorted here in Python) says a timeline shows."""
    con = fixture_db()
    rows = con.execute(
        "select message.text, message.pub_date, message.message_id from message, user "
        "where message.author_id = user.user_id and (%s)" % where,
        args,
    ).fetchall()
    # Newest first; messages of the same second in the order they were posted.
    rows.sort(key=lambda r: (-r[1], r[2]))
    return [r[0] for r in rows[:PER_PAGE]]


def texts(html):
    return [m["text"] for m in messages(html)]


# --- timelines -------------------------------------------------------------------------------


def test_root_redirects_to_public_when_logged_out(app):
    r = app.get("/")
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/public")


def test_public_timeline_is_per_page_newest_first_without_flagged(app):
    r = app.get("/public")
    assert r.status_code == 200
    assert "Public Timeline" in r.text
    shown = texts(r.text)
    assert len(shown) == PER_PAGE
    assert shown == expected_texts("message.flagged = 0")
    assert "Edsger says: goto considered harmful" not in r.text


def test_timeline_entries_show_gravatar_of_lowercased_email_and_utc_date(app):
    r = app.get("/Alan%20Turing")
    assert r.status_code == 200
    entries = messages(r.text)
    assert len(entries) == 6
    digest = md5(b"alan.turing@example.org").hexdigest()
    newest = entries[0]
    assert newest["img"] == "https://www.gravatar.com/avatar/%s?d=identicon&s=48" % digest
    # Alan's newest: pub_date 1700000030 + 300 * 5 = 1700001530 = 2023-11-14 22:38:50 UTC.
    assert newest["date"] == "2023-11-14 @ 22:38"
    assert newest["user"] == "Alan Turing"
    assert newest["href"] == "/Alan%20Turing"


def test_messages_of_the_same_second_show_in_the_order_they_were_posted(app):
    # The study's data has many equal pub_dates, and the scenario posts ten tweets within a
    # second. The study's MiniTwit orders by pub_date alone and SQLite returns equal dates in
    # insertion order; pages must show the same messages, or their sizes differ.
    con = sqlite3.connect(str(app.db))
    try:
        for i in range(3):
            con.execute(
                "insert into message (author_id, text, pub_date, flagged) values (3, ?, ?, 0)",
                ["Grace tie %d" % i, 1800000000],
            )
        con.commit()
    finally:
        con.close()
    for path in ("/Grace%20Hopper", "/public"):
        assert texts(app.get(path).text)[:3] == ["Grace tie 0", "Grace tie 1", "Grace tie 2"]
    s = app.login("Alan Turing", "alan-pass")
    assert texts(app.get("/", session=s).text)[:3] == ["Grace tie 0", "Grace tie 1", "Grace tie 2"]


def test_message_text_is_html_escaped(app):
    r = app.get("/Alan%20Turing")
    assert "&lt;b&gt;not bold&lt;/b&gt; &amp; co" in r.text
    assert "<b>not bold</b>" not in r.text


def test_user_timeline_shows_only_that_user_per_page(app):
    r = app.get("/Ada%20Lovelace")
    assert r.status_code == 200
    assert "Ada Lovelace's Timeline" in r.text
    entries = messages(r.text)
    assert {m["user"] for m in entries} == {"Ada Lovelace"}
    assert [m["text"] for m in entries] == expected_texts("user.user_id = 1")
    assert len(entries) == PER_PAGE


@pytest.mark.parametrize(
    "path", [PAPER_MODE_PATH, "/Nobody%20Here", "/ada%20lovelace", "/%3Cscript%3E"]
)
def test_unknown_user_is_404(app, path):
    assert app.get(path).status_code == 404
    s = app.login("Ada Lovelace", "ada-pass")
    assert app.get(path, session=s).status_code == 404


def test_my_timeline_has_own_and_followed_messages_newest_first(app):
    s = app.login("Ada Lovelace", "ada-pass")
    r = app.get("/", session=s)
    assert r.status_code == 200
    assert "My Timeline" in r.text
    assert "What's on your mind Ada Lovelace?" in r.text
    shown = texts(r.text)
    assert shown == expected_texts("user.user_id in (1, 2) and message.flagged = 0")
    assert len(shown) == PER_PAGE
    assert any(t.startswith("Alan thought") for t in shown)
    assert not any(t.startswith("Grace tip") for t in shown)


def test_user_page_shows_follow_status_when_logged_in(app):
    s = app.login("Ada Lovelace", "ada-pass")
    assert "You are currently following this user." in app.get("/Alan%20Turing", session=s).text
    grace = app.get("/Grace%20Hopper", session=s).text
    assert "You are not yet following this user." in grace
    assert 'href="/Grace%20Hopper/follow"' in grace
    assert "This is you!" in app.get("/Ada%20Lovelace", session=s).text
    assert "following this user" not in app.get("/Grace%20Hopper").text


# --- follow / unfollow -----------------------------------------------------------------------


@pytest.mark.parametrize("action", ["follow", "unfollow"])
def test_follow_and_unfollow_need_login(app, action):
    assert app.get("/Grace%20Hopper/" + action).status_code == 401
    assert app.get(PAPER_MODE_PATH + "/" + action).status_code == 401


@pytest.mark.parametrize("action", ["follow", "unfollow"])
def test_follow_and_unfollow_unknown_user_is_404(app, action):
    s = app.login("Ada Lovelace", "ada-pass")
    assert app.get("/No%20Body/" + action, session=s).status_code == 404
    assert app.count("follower") == 4


def test_follow_inserts_row_and_flashes_escaped_name(app):
    s = app.login("Ada Lovelace", "ada-pass")
    r = app.get("/Grace%20Hopper/follow", session=s)
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/Grace%20Hopper")
    assert app.query("select who_id, whom_id from follower where who_id = 1") == [(1, 2), (1, 3)]
    page = app.get("/Grace%20Hopper", session=s)
    assert page.status_code == 200
    assert "You are now following &#34;Grace Hopper&#34;" in page.text
    assert "You are currently following this user." in page.text
    # The flash is shown once.
    assert "You are now following" not in app.get("/Grace%20Hopper", session=s).text
    mine = texts(app.get("/", session=s).text)
    assert mine == expected_texts("user.user_id in (1, 2, 3) and message.flagged = 0")


def test_unfollow_deletes_row_and_flashes_escaped_name(app):
    s = app.login("Ada Lovelace", "ada-pass")
    r = app.get("/Alan%20Turing/unfollow", session=s, allow_redirects=True)
    assert r.status_code == 200
    assert r.history[0].status_code == 302
    assert r.url.endswith("/Alan%20Turing")
    assert "You are no longer following &#34;Alan Turing&#34;" in r.text
    assert "You are not yet following this user." in r.text
    assert app.query("select * from follower where who_id = 1") == []


# --- add_message -----------------------------------------------------------------------------


def test_add_message_needs_login(app):
    assert app.post("/add_message", {"text": "anonymous"}).status_code == 401
    assert app.count("message") == 45


def test_add_message_records_and_flashes(app):
    s = app.login("Grace Hopper", "grace-pass")
    before = int(time.time())
    text = "A ship in port is safe <but> that's not what ships are for"
    r = app.post("/add_message", {"text": text}, session=s)
    after = int(time.time())
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/")
    (row,) = app.query(
        "select author_id, text, pub_date, flagged from message where message_id = 46"
    )
    assert row[0] == 3 and row[3] == 0
    assert row[1] == text
    assert before <= row[2] <= after
    page = app.get("/", session=s)
    assert "Your message was recorded" in page.text
    assert texts(page.text)[0] == row[1]
    assert "safe &lt;but&gt; that&#39;s" in page.text


@pytest.mark.parametrize("form", [{"text": ""}, {}], ids=["empty", "missing"])
def test_add_message_without_text_records_nothing(app, form):
    s = app.login("Grace Hopper", "grace-pass")
    r = app.post("/add_message", form, session=s)
    assert r.status_code == 302
    assert app.count("message") == 45
    assert "Your message was recorded" not in app.get("/", session=s).text


# --- login / logout --------------------------------------------------------------------------


def test_login_page_renders(app):
    r = app.get("/login")
    assert r.status_code == 200
    assert 'name="username"' in r.text and 'name="password"' in r.text


@pytest.mark.parametrize(
    "form, error",
    [
        ({"username": "Nobody", "password": "ada-pass"}, "Invalid username"),
        ({"username": "ada lovelace", "password": "ada-pass"}, "Invalid username"),
        ({"username": "Ada Lovelace", "password": "alan-pass"}, "Invalid password"),
        ({"username": "Ada Lovelace", "password": ""}, "Invalid password"),
        ({"username": "Ada Lovelace"}, "Invalid password"),
        ({}, "Invalid username"),
    ],
)
def test_login_errors(app, form, error):
    s = requests.Session()
    r = app.post("/login", form, session=s)
    assert r.status_code == 200
    assert error in r.text
    assert "session" not in s.cookies
    assert app.get("/", session=s).status_code == 302


def test_login_success_sets_session_and_flashes(app):
    s = requests.Session()
    r = app.post("/login", {"username": "Edsger Dijkstra", "password": "edsger-pass"}, session=s)
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/")
    assert "session" in s.cookies
    page = app.get("/", session=s)
    assert page.status_code == 200
    assert "You were logged in" in page.text
    assert "sign out [Edsger Dijkstra]" in page.text
    # Logged in, /login and /register send you to your timeline.
    assert app.get("/login", session=s).status_code == 302
    assert app.get("/register", session=s).status_code == 302


def test_session_cookie_works_on_both_workers(app):
    s = app.login("Alan Turing", "alan-pass")
    for _ in range(10):  # fresh connections, spread over both workers
        assert app.get("/", session=s, headers={"Connection": "close"}).status_code == 200


def test_logout_flashes_drops_session_and_redirects(app):
    s = app.login("Alan Turing", "alan-pass")
    r = app.get("/logout", session=s)
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/public")
    page = app.get("/public", session=s)
    assert "You were logged out" in page.text
    assert app.get("/", session=s).status_code == 302
    assert app.post("/add_message", {"text": "after logout"}, session=s).status_code == 401


# --- register --------------------------------------------------------------------------------

GOOD = {
    "username": "Kristen Nygaard",
    "email": "kn@itu.dk",
    "password": "1234567",
    "password2": "1234567",
}


@pytest.mark.parametrize(
    "changes, error",
    [
        ({"username": ""}, "You have to enter a username"),
        ({"username": None}, "You have to enter a username"),
        ({"email": ""}, "You have to enter a valid email address"),
        ({"email": "kn.itu.dk"}, "You have to enter a valid email address"),
        ({"email": None}, "You have to enter a valid email address"),
        ({"password": "", "password2": ""}, "You have to enter a password"),
        ({"password": None}, "You have to enter a password"),
        ({"password2": "7654321"}, "The two passwords do not match"),
        ({"password2": None}, "The two passwords do not match"),
        ({"username": "Ada Lovelace"}, "The username is already taken"),
    ],
)
def test_register_errors(app, changes, error):
    form = dict(GOOD)
    for key, value in changes.items():
        if value is None:
            del form[key]
        else:
            form[key] = value
    r = app.post("/register", form)
    assert r.status_code == 200
    assert "<strong>Error:</strong> " + error in r.text
    assert app.count("user") == 4


def test_register_success_then_login(app):
    r = app.get("/register")
    assert r.status_code == 200 and 'name="password2"' in r.text
    r = app.post("/register", GOOD)
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/login")
    page = app.get("/login", cookies=r.cookies)
    assert "You were successfully registered and can login now" in page.text
    ((user_id, email, pw_hash),) = app.query(
        "select user_id, email, pw_hash from user where username = ?", ["Kristen Nygaard"]
    )
    assert user_id == 5 and email == "kn@itu.dk"
    assert "1234567" not in pw_hash
    # werkzeug's default (scrypt), or pbkdf2 where hashlib has no scrypt (PyPy 7.3.11).
    assert pw_hash.startswith(("scrypt:", "pbkdf2:sha256:"))
    s = app.login("Kristen Nygaard", "1234567")
    assert "You were logged in" in app.get("/", session=s).text


def test_user_names_are_html_escaped_everywhere(app):
    name = "<Eve> O'Neil & co"
    r = app.post("/register", dict(GOOD, username=name))
    assert r.status_code == 302
    s = app.login(name, "1234567")
    app.post("/add_message", {"text": "hi"}, session=s)
    escaped = "&lt;Eve&gt; O&#39;Neil &amp; co"
    page = app.get("/" + quote(name), session=s).text
    assert escaped + "'s Timeline" in page
    assert "sign out [" + escaped + "]" in page
    assert "<Eve>" not in page
    app.get("/Ada%20Lovelace/follow", session=s)
    ada = app.get("/Ada%20Lovelace", session=s).text
    assert "You are now following &#34;Ada Lovelace&#34;" in ada
    public = app.get("/public").text
    assert ">" + escaped + "</a>" in public
    # url_for leaves ' and & as they are (legal in a path); the template escapes them.
    href = re.search(r'href="(/%3CEve[^"]*)"', public).group(1)
    assert href == "/%3CEve%3E%20O&#39;Neil%20&amp;%20co"
    assert app.get(unescape(href)).status_code == 200


# --- everything else -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/a/b/c", "/Ada%20Lovelace/nope", "/public/extra", "/static/nothing.css"]
)
def test_unknown_routes_are_404(app, path):
    assert app.get(path).status_code == 404


def test_wrong_method_is_a_client_error(app):
    assert app.post("/public", {}).status_code == 405
    assert app.post("/Ada%20Lovelace", {}).status_code == 405
    # GET /add_message falls through to /<username>: there is no user "add_message".
    assert app.get("/add_message").status_code == 404


def test_gunicorn_log_has_no_errors_after_the_suite_so_far(app):
    assert "Traceback" not in app.log()
