#!/usr/bin/env python3
"""Turn a study-shaped data set (gen_study.py: minitwit<ver>/ with traces and log.txt) into the
results folders the experiment writes, with a request log per run, for `bench-requests`:

    gen_requests.py STUDY_DIR OUT_DIR [--seed 1]

Per group OUT_DIR/minitwit<ver>/: the traces (hard links to STUDY_DIR's, else copies),
runs.jsonl (run/1 records; the power statistics from log.txt; `samples` from the scenario time,
which nothing here reads: the attribution counts the trace's own samples) with `load_start_s`
0.5 s into the recording, and requests/run-NNN.jsonl: the paper scenario's 492 requests (3
users x 164, endpoints and statuses in the scenario's order, docs in /work/shared/spec), sent
one after the other per user across the scenario time, latencies drawn from a lognormal around
20 ms. No baseline recording: the attribution falls back to the trace's 5th percentile.
"""

import argparse
import datetime as dt
import json
import os
import re
import shutil

import numpy as np

LOAD_START_S = 0.5
# The paper scenario's "private timeline" request: a path naming no user (404).
PRIVATE = "/%3Crequests.sessions.Session%20object%20at%200x7f3a2c1d5e50%3E"


def scenario():
    """(method, path, status) of one user's paper scenario: 164 requests."""
    calls = []
    for _ in range(10):
        calls += [("GET", "/", 302), ("GET", "/public", 200)]
    calls += [("POST", "/register", 302), ("GET", "/login", 200)]
    calls += [("POST", "/login", 302), ("GET", "/", 200)]
    for _ in range(10):
        calls += [("POST", "/add_message", 302), ("GET", "/", 200)]
    for c in range(2):
        for i in range(10):
            user = f"User {10 * c + i}"
            calls += [("GET", f"/{user.replace(' ', '%20')}/follow", 302), ("GET", f"/{user.replace(' ', '%20')}", 200)]
            calls.append(("GET", PRIVATE, 404))
        for _ in range(10):
            calls.append(("GET", PRIVATE, 404))
        for _ in range(10):
            calls += [("POST", "/add_message", 302), ("GET", "/", 200)]
    assert len(calls) == 164, len(calls)
    return calls


def runs_of(log):
    """(duration_s, power min, max, mean, current mean, voltage mean) per run of a log.txt."""
    out, cur = [], {}
    for line in log.splitlines():
        m = re.match(r"Scenario took (\d+):(\d+):([\d.]+)", line)
        if m:
            cur["duration_s"] = int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
        for key in ("MAIN_CURRENT", "MAIN_VOLTAGE", "MAIN_POWER"):
            if line.startswith(key + ":"):
                cur[key] = [float(v) for v in line.split(":", 1)[1].split(",")]
        if line.startswith("MAIN_POWER:"):
            out.append(cur)
            cur = {}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("study")
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    calls = scenario()
    for d in sorted(os.listdir(a.study)):
        src = os.path.join(a.study, d)
        if not (d.startswith("minitwit") and os.path.isdir(src)):
            continue
        ver = d[len("minitwit"):]
        label = f"{ver[0]}.{ver[1:]}"
        dst = os.path.join(a.out, d)
        os.makedirs(os.path.join(dst, "requests"), exist_ok=True)
        traces = sorted(f for f in os.listdir(src) if f.endswith(".csv.xz"))
        with open(os.path.join(src, "log.txt")) as f:
            stats = runs_of(f.read())
        records = []
        for i, (name, s) in enumerate(zip(traces, stats), start=1):
            target = os.path.join(dst, name)
            if not os.path.exists(target):
                try:
                    os.link(os.path.join(src, name), target)
                except OSError:
                    shutil.copyfile(os.path.join(src, name), target)
            dur = s["duration_s"]
            samples = int(round(dur / 0.985 * 10_000))
            run_id = f"{label}-{i}"
            started = dt.datetime.strptime(name[: -len(".csv.xz")], "%Y-%m-%d %H:%M:%S")
            p = s["MAIN_POWER"]
            records.append({
                "schema": "run/1", "label": label, "run": i, "run_id": run_id,
                "started_at": started.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "duration_s": dur, "recording_s": samples / 10_000, "sample_rate_hz": 10_000.0,
                "samples": samples, "power_min_w": p[0], "power_max_w": p[1], "power_avg_w": p[2],
                "current_avg_a": s["MAIN_CURRENT"][2], "voltage_avg_v": s["MAIN_VOLTAGE"][2],
                "energy_j": p[2] * dur, "trace_energy_j": p[2] * samples / 10_000,
                "trace": name, "meter": "otii", "status": "ok",
                "load_start_s": LOAD_START_S, "load_end_s": LOAD_START_S + dur,
            })
            lines = []
            per_user = dur / len(calls)
            for u in range(3):
                t = 0.0
                for seq, (method, path, status) in enumerate(calls, start=1):
                    latency = float(rng.lognormal(np.log(20.0), 0.5))
                    start = t + float(rng.uniform(0.0, 0.2)) * per_user
                    lines.append(json.dumps({
                        "schema": "request/1", "run_id": run_id, "client": f"client{u + 1}",
                        "user": f"client{u + 1}", "seq": seq, "method": method, "path": path,
                        "status": status, "start_s": start, "latency_ms": latency, "bytes": 1000,
                    }))
                    t = max(start + latency / 1000.0, t + per_user)
            with open(os.path.join(dst, "requests", f"run-{i:03d}.jsonl"), "w") as f:
                f.write("\n".join(lines) + "\n")
        with open(os.path.join(dst, "runs.jsonl"), "w") as f:
            f.write("".join(json.dumps(r) + "\n" for r in records))


if __name__ == "__main__":
    main()
