"""The bytes of MiniTwit's pages are part of the workload: pinned, so a template change shows.

Why: the experiment measures the energy of serving the study's scenario, and what a page costs
(rendering, escaping, writing) grows with its size. The study's own MiniTwit (the paper's public
repository, HelgeCPH/cpython_energy, `src/minitwit`) loaded with its own `dump.sql` sends the
study's client 507,845 bytes per user (host name "vm"); ours, with the same data, sends the same
507,845, every one of the 164 responses the same size (docs/minitwit.md, "Page sizes"). Our
markup is our own, but it spends its bytes like the study's pages do:

* each timeline entry takes ENTRY_BYTES bytes besides its user's name (as link text), the
  name's URL path and the message text (all as sent: escaped, UTF-8); the gravatar digest and
  the date (always 18 characters) are inside ENTRY_BYTES;
* each kind of page has a fixed part besides its entries, plus the names and flash text it
  shows (FIXED below, measured on the study's pages).

This module checks both on the hand-written fixture seed: first that every page is its fixed
part plus its entries (the study's per-entry and per-page costs, independent of the data), then
the exact totals, so that any change to the templates is noticed. If a change is meant, measure
the study's pages again (docs/minitwit.md says how) and change these numbers with the docs.
"""

from urllib.parse import quote

from minitwit_helpers import messages

# Bytes of one timeline entry besides its user name, the name's URL path and its text.
ENTRY_BYTES = 205

# Bytes of each kind of page besides its entries and the strings named in `fixed_bytes`.
FIXED = {
    "public, logged out": 518,
    "profile, logged out": 510,
    "profile, logged in, following, flash": 761,
    "my timeline, flash": 836,
}

# The fixture seed's pages, whole (bytes of the body as sent).
TOTALS = {
    "public, logged out": 9028,
    "profile, logged out": 2344,
    "profile, logged in, following, flash": 1692,
    "my timeline, flash": 9392,
}


def html_escape(text):
    """As Jinja2's autoescape (MarkupSafe) writes text into a page."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("'", "&#39;")
    )


def n(text):
    return len(text.encode("utf-8"))


def entries_bytes(html):
    return sum(
        ENTRY_BYTES + n(html_escape(e["user"])) + n(e["href"]) + n(html_escape(e["text"]))
        for e in messages(html)
    )


def fixed_bytes(kind, viewer="", profile="", flash=""):
    """The fixed part of a page of `kind`: FIXED plus the names and flash text it shows."""
    shown = {
        "public, logged out": [],
        "profile, logged out": [profile, profile],  # <title> and <h2>
        # The viewer in the navigation, the profile's name in <title> and <h2>, its URL path
        # in the unfollow link, and the flash.
        "profile, logged in, following, flash": [viewer, profile, profile, flash],
        "my timeline, flash": [viewer, viewer, flash],  # navigation, "What's on your mind"
    }[kind]
    extra = sum(n(html_escape(s)) for s in shown)
    if kind.startswith("profile, logged in"):
        extra += n(quote(profile))
    return FIXED[kind] + extra


def pages(app):
    """The four kinds of page, as the study's scenario sees them, on the fixture seed."""
    out = {
        "public, logged out": (app.get("/public"), {}),
        "profile, logged out": (app.get("/Alan%20Turing"), {"profile": "Alan Turing"}),
    }
    s = app.login("Ada Lovelace", "ada-pass")
    out["my timeline, flash"] = (
        app.get("/", session=s),
        {"viewer": "Ada Lovelace", "flash": "You were logged in"},
    )
    assert app.get("/Grace%20Hopper/follow", session=s).status_code == 302
    out["profile, logged in, following, flash"] = (
        app.get("/Grace%20Hopper", session=s),
        {
            "viewer": "Ada Lovelace",
            "profile": "Grace Hopper",
            "flash": 'You are now following "Grace Hopper"',
        },
    )
    return out


def test_pages_spend_bytes_like_the_studys_pages(app):
    for kind, (r, shown) in pages(app).items():
        assert r.status_code == 200, kind
        assert messages(r.text), kind
        size = n(r.text)
        assert size == len(r.content), kind
        expected = fixed_bytes(kind, **shown) + entries_bytes(r.text)
        assert size == expected, "%s: %d bytes, the study's shape gives %d" % (
            kind,
            size,
            expected,
        )


def test_fixture_pages_have_pinned_sizes(app):
    sizes = {kind: len(r.content) for kind, (r, _) in pages(app).items()}
    assert sizes == TOTALS
