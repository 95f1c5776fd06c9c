#!/usr/bin/env python3
"""The pandas + numpy peer of `energy-stats requests`: the same attribution, written the way a
researcher with the study's notebook would, for `bench-requests`.

    peer_requests.py GROUP_DIR... > table.json

Per run: the trace read with pandas.read_csv(compression="xz") (the study's way), the request
log with pandas.read_json(lines=True); the energy above the baseline (the group's baseline
recording, else the trace's 5th percentile) shared equally among the requests in flight, by
exact piecewise integration of the step-function trace (numpy cumsum): the rule of
docs/requests.md. Then per interpreter and endpoint (pandas groupby): requests, mean over runs
of the run's mean energy per request with its 95 % t interval (SciPy), mean latency, share.
Prints JSON rows; the seconds spent reading and attributing go to stderr as one JSON line.
"""

import json
import os
import re
import sys
import time

import numpy as np
import pandas as pd
from scipy import stats

ORDER = ["GET /", "GET /public", "POST /register", "GET /register", "GET /login", "POST /login",
         "POST /add_message", "GET /<user>/follow", "GET /<user>/unfollow", "GET /<user>",
         "GET /logout", "404"]
FIXED = {"public", "cleardb", "login", "register", "logout", "add_message"}


def endpoint(method, path, status):
    if status is None or (isinstance(status, float) and np.isnan(status)):
        return "no answer"
    if int(status) == 404:
        return "404"
    seg = re.split(r"[?#]", path)[0].lstrip("/").split("/")
    if seg == [""]:
        t = "/"
    elif len(seg) == 1 and seg[0] in FIXED:
        t = "/" + seg[0]
    elif len(seg) == 1:
        t = "/<user>"
    elif len(seg) == 2 and seg[1] in ("follow", "unfollow"):
        t = "/<user>/" + seg[1]
    else:
        t = "(other)"
    return f"{method} {t}"


def attribute(power, rate, baseline, start, end):
    """Energy above `baseline` per request (in flight over [start, end)) and between them."""
    n = len(power)
    total = n / rate
    s, e = np.clip(start, 0, total), np.clip(end, 0, total)
    # The integral of P - B from 0 to t, exact for the step function.
    cum = np.concatenate([[0.0], np.cumsum(power - baseline) / rate])

    def integral(t):
        k = np.minimum(np.floor(t * rate).astype(np.int64), n - 1)
        return cum[k] + (t - k / rate) * (power[k] - baseline)

    bounds = np.unique(np.concatenate([[0.0, total], s, e]))
    seg = np.diff(integral(bounds))
    # Requests in flight in each segment [bounds[i], bounds[i+1]).
    live = e > s
    opened = np.searchsorted(bounds, s[live])
    closed = np.searchsorted(bounds, e[live])
    delta = np.zeros(len(bounds) + 1)
    np.add.at(delta, opened, 1)
    np.add.at(delta, closed, -1)
    count = np.cumsum(delta)[: len(seg)]
    share = np.where(count > 0, seg / np.maximum(count, 1), 0.0)
    acc = np.concatenate([[0.0], np.cumsum(share)])
    energy = np.zeros(len(start))
    energy[live] = acc[closed] - acc[opened]
    between = seg[count == 0].sum()
    return energy, between


def main():
    t_read = t_attr = 0.0
    rows = []
    for d in sys.argv[1:]:
        name = os.path.basename(os.path.normpath(d))
        label = f"{name[8]}.{name[9:]}" if re.fullmatch(r"minitwit\d\d+", name) else name
        runs = pd.read_json(os.path.join(d, "runs.jsonl"), lines=True)
        base_file = os.path.join(d, "baseline.jsonl")
        bases = pd.read_json(base_file, lines=True) if os.path.exists(base_file) else None
        for _, r in runs.iterrows():
            if r["status"] != "ok" or r["run"] == 0:
                continue
            req_file = os.path.join(d, "requests", f"run-{int(r['run']):03d}.jsonl")
            if not os.path.exists(req_file):
                continue
            t0 = time.perf_counter()
            power = pd.read_csv(os.path.join(d, r["trace"]), compression="xz",
                                usecols=["MAIN_POWER"])["MAIN_POWER"].to_numpy()
            req = pd.read_json(req_file, lines=True)
            t1 = time.perf_counter()
            rate = float(r["sample_rate_hz"])
            if bases is not None and len(bases):
                before = bases[bases["started_at"] <= r["started_at"]]
                b = (before.sort_values("started_at").iloc[-1] if len(before)
                     else bases.sort_values("started_at").iloc[0])["power_avg_w"]
            else:
                b = np.percentile(power, 5)
            load = r.get("load_start_s")
            load = 0.0 if load is None or pd.isna(load) else float(load)
            start = load + req["start_s"].to_numpy()
            end = start + req["latency_ms"].to_numpy() / 1000.0
            energy, between = attribute(power, rate, b, start, end)
            trace_j = power.sum() / rate
            req["endpoint"] = [endpoint(m, p, s) for m, p, s in zip(req["method"], req["path"], req["status"])]
            req["energy_j"] = energy
            per = req.groupby("endpoint").agg(n=("energy_j", "size"), e=("energy_j", "sum"),
                                              lat=("latency_ms", "sum"))
            for ep, x in per.iterrows():
                rows.append({"label": label, "run": int(r["run"]), "endpoint": ep, "n": int(x["n"]),
                             "e": x["e"], "lat": x["lat"], "trace_j": trace_j})
            t_attr += time.perf_counter() - t1
            t_read += t1 - t0
    t2 = time.perf_counter()
    df = pd.DataFrame(rows)
    df["mean_e"] = df["e"] / df["n"]
    df["share"] = 100 * df["e"] / df["trace_j"]
    out = []
    for (label, ep), g in df.groupby(["label", "endpoint"], sort=False):
        m = g["mean_e"].mean()
        n = len(g)
        h = stats.t.ppf(0.975, n - 1) * g["mean_e"].std(ddof=1) / np.sqrt(n) if n > 1 else float("nan")
        out.append({"label": label, "endpoint": ep, "requests": int(g["n"].sum()), "runs": n,
                    "energy_per_request_j": m, "ci95_low_j": m - h, "ci95_high_j": m + h,
                    "latency_ms": g["lat"].sum() / g["n"].sum(), "share_pct": g["share"].mean()})
    t_attr += time.perf_counter() - t2
    json.dump(out, sys.stdout)
    print(json.dumps({"read_s": t_read, "attribute_s": t_attr}), file=sys.stderr)


if __name__ == "__main__":
    main()
