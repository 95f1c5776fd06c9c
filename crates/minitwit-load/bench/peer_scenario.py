"""The study's client scenario written with Python `requests`: the peer minitwit-load is
benchmarked against (crates/minitwit-load/bench/bench.py). Not used by the experiment itself.

It is written the way the original client was: module-level `requests.get/post` for the
cookie-less calls, one `requests.Session` after login, and -- in paper mode -- the session
object itself formatted into the URL for the "private timeline" requests (a 404).

    python peer_scenario.py --server http://127.0.0.1:5000 --user alice --follow names.txt

Prints one JSON line: {"requests": N, "errors": E} (redirect hops counted, like the records
minitwit-load writes). Exit 1 on a failed check.
"""

import argparse
import json
import sys

import requests

PASSWORD = "1234567"

# The same ten texts as minitwit-load's scenario (crates/minitwit-load/src/scenario.rs).
TWEETS = [
    "Good morning from the lab. The first measurement of the day is running and the power analyzer is already counting each joule.",
    "Three clients and one small server walk into an experiment.",
    "Posting a short note so the private timeline has something to show when friends ask.",
    "The interpreter should be the only thing that changes between runs and the rest stays as was.",
    "Coffee first and then power.",
    "Quiet day on the timelines.",
    "Following a few more people today, to see what they post between two measurement runs again.",
    "Ten thousand samples per second is too many.",
    "Reading the plots again before lunch, the idle power of the board is higher than I expected for a box now.",
    "Last message of this round. Thanks for reading along and see you all in the next run of the scenario with fresh data.",
]


class Counter:
    def __init__(self):
        self.requests = 0

    def saw(self, response):
        self.requests += len(response.history) + 1
        return response


def check(response, text, what):
    if text not in response.text:
        sys.exit("peer: %s: the page does not contain %r" % (what, text))


def scenario(base, user, follow, fixed):
    n = Counter()
    for _ in range(10):
        n.saw(requests.get(base + "/"))
    n.saw(requests.post(base + "/register", data={
        "username": user, "password": PASSWORD, "password2": PASSWORD,
        "email": user + "@itu.dk"}))
    s = requests.Session()
    n.saw(s.post(base + "/login", data={"username": user, "password": PASSWORD}))

    def private_timeline():
        if fixed:
            n.saw(s.get(base + "/"))
        else:
            # The original passed the session where the user name belonged.
            n.saw(requests.get("%s/%s" % (base, s)))

    def tweets():
        for text in TWEETS:
            r = n.saw(s.post(base + "/add_message", data={"text": text}))
            check(r, "Your message was recorded", "add_message")

    tweets()
    for c in range(2):
        for name in follow[10 * c:10 * c + 10]:
            r = n.saw(s.get("%s/%s/follow" % (base, name)))
            check(r, "You are now following &#34;%s&#34;" % name, "follow " + name)
            private_timeline()
        for _ in range(10):
            private_timeline()
        tweets()
    return n.requests


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--follow", required=True, help="file with the 20 user names to follow, one a line")
    ap.add_argument("--scenario", choices=["paper", "fixed"], default="paper")
    args = ap.parse_args()
    with open(args.follow, encoding="utf-8") as f:
        follow = [line.rstrip("\n") for line in f if line.strip()]
    count = scenario(args.server.rstrip("/"), args.user, follow, args.scenario == "fixed")
    print(json.dumps({"requests": count, "errors": 0}))


if __name__ == "__main__":
    main()
