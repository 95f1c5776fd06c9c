"""bench-load: client CPU time per request, minitwit-load against its Python peer.

Starts one real MiniTwit (gunicorn, the study's flags) on a free loopback port, then, for
each round, resets the database and runs the paper scenario once with each client (order
alternating between rounds): `minitwit-load run` and `peer_scenario.py` (Python `requests`,
written like the study's client). The client's CPU time is user+sys from wait4() of its
process -- the server's CPU is not counted. Prints a table and a closing JSON line.

    python bench.py --bin target/release/minitwit-load --seed-sql data/minitwit/seed.sql
"""

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_users(seed_sql, n=20):
    pat = re.compile(r"^INSERT INTO user \(user_id, username, email, pw_hash\) VALUES \((\d+), '((?:[^']|'')*)'")
    users = []
    with open(seed_sql, encoding="utf-8") as f:
        for line in f:
            m = pat.match(line)
            if m:
                users.append((int(m.group(1)), m.group(2).replace("''", "'")))
    users.sort()
    return [name for _, name in users[:n]]


def start_minitwit(root, venv, seed_sql, db, port, log):
    # The study's settings come from the one gunicorn configuration, as for every launcher.
    cmd = [os.path.join(venv, "bin", "gunicorn"), "-c", os.path.join(root, "minitwit", "gunicorn.conf.py"),
           "--bind", "127.0.0.1:%d" % port]
    env = dict(os.environ, MINITWIT_DB=db, MINITWIT_SEED=seed_sql)
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit("bench-load: gunicorn exited early (see %s)" % log.name)
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/public" % port, timeout=2)
            return proc
        except urllib.error.HTTPError:
            return proc  # an answer, even an error page (no database before /cleardb)
        except OSError:
            time.sleep(0.2)
    sys.exit("bench-load: gunicorn did not answer within 60 s")


def measured(cmd):
    """Runs cmd; returns (cpu seconds user+sys, wall seconds, stdout)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Read the pipes before reaping, so the child never blocks on a full pipe.
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit("bench-load: %s failed (%d):\n%s" % (cmd[0], proc.returncode, err.decode(errors="replace")))
    return usage.ru_utime + usage.ru_stime, wall, out.decode()


def main():
    ap = argparse.ArgumentParser(description="client CPU per request: minitwit-load vs Python requests")
    ap.add_argument("--bin", required=True, help="the minitwit-load binary")
    ap.add_argument("--seed-sql", required=True)
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(HERE)))
    ap.add_argument("--venv", default=os.path.dirname(os.path.dirname(sys.executable)))
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench-load-")
    follow_file = os.path.join(tmp, "follow.txt")
    with open(follow_file, "w", encoding="utf-8") as f:
        f.write("\n".join(first_users(args.seed_sql)) + "\n")
    port = free_port()
    server = "http://127.0.0.1:%d" % port
    log = open(os.path.join(tmp, "gunicorn.log"), "w")
    gunicorn = start_minitwit(args.root, args.venv, os.path.abspath(args.seed_sql),
                              os.path.join(tmp, "minitwit.db"), port, log)
    results = {"minitwit-load": [], "python-requests": []}
    try:
        clients = {
            "minitwit-load": lambda user: [args.bin, "run", "--server", server, "--user", user,
                                           "--records", os.path.join(tmp, "records.jsonl")],
            "python-requests": lambda user: [os.path.join(args.venv, "bin", "python"),
                                             os.path.join(HERE, "peer_scenario.py"), "--server", server,
                                             "--user", user, "--follow", follow_file],
        }
        for r in range(args.rounds):
            order = list(clients) if r % 2 == 0 else list(reversed(list(clients)))
            for name in order:
                subprocess.run([args.bin, "reset", "--server", server], check=True,
                               stderr=subprocess.DEVNULL)
                cpu, wall, out = measured(clients[name]("bench-%d" % r))
                requests_sent = json.loads(out.strip().splitlines()[-1])["requests"]
                results[name].append((cpu, wall, requests_sent))
                print("round %d %-16s %3d requests  cpu %.3f s  wall %.3f s" % (r + 1, name, requests_sent, cpu, wall),
                      file=sys.stderr)
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(timeout=30)

    summary = {}
    print("%-16s %9s %14s %12s" % ("client", "requests", "cpu_us_per_req", "wall_s"))
    for name, runs in results.items():
        per_req = [cpu / n * 1e6 for cpu, _, n in runs]
        summary[name] = {
            "requests": runs[0][2],
            "cpu_us_per_request_median": statistics.median(per_req),
            "wall_s_median": statistics.median(w for _, w, _ in runs),
        }
        print("%-16s %9d %14.1f %12.3f" % (name, runs[0][2], summary[name]["cpu_us_per_request_median"],
                                           summary[name]["wall_s_median"]))
    ratio = (summary["python-requests"]["cpu_us_per_request_median"]
             / summary["minitwit-load"]["cpu_us_per_request_median"])
    print("python-requests / minitwit-load client CPU per request: %.1fx (target >= 10x)" % ratio)
    print(json.dumps({"bench": "load-client-cpu", "rounds": args.rounds, "clients": summary,
                      "ratio_python_over_rust": ratio}))


if __name__ == "__main__":
    main()
