#!/usr/bin/env python3
"""Benchmark `energy-stats requests` against a pandas + numpy peer doing the same attribution.

    bench_requests.py --size quick|full --bin target/release/energy-stats --out target/bench/stats

Sizes as bench.py (quick = 6 runs x 150 k rows; full = the study: 60 runs x 1.43 M rows), each
run with the paper scenario's 492 requests. The traces are bench.py's (OUT/<size>/data, made
once by gen_study.py); gen_requests.py lays them out as results folders with request logs in
OUT/<size>/requests-data. Measured in the same run, on the same files, each under
/usr/bin/time -v (wall seconds, peak resident memory):

- xz floor: `xz -dc` of every trace to /dev/null on every core (xargs -P NPROC)
- cold:     energy-stats requests with an empty trace store (decodes every trace, fills the store)
- warm:     energy-stats requests again (the Parquet store warm)
- peer:     peer_requests.py (pandas read_csv of the xz trace, numpy attribution, pandas groupby)

The two tables must agree (largest relative difference of the energy per request). Prints a
table and the ratios; writes the same to OUT/<size>/requests.md.
"""

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = {"quick": (1, 6, 150_000), "full": (6, 10, 1_430_000)}
VERSIONS = ["38", "39", "310", "311", "312", "313"]


def measured(cmd, stdout=subprocess.DEVNULL):
    """(wall seconds, peak RSS in MB, stdout, stderr) of cmd under /usr/bin/time -v."""
    if not os.path.exists("/usr/bin/time"):
        sys.exit("bench-requests: /usr/bin/time is missing (Debian package `time`): it measures the peak memory")
    p = subprocess.run(["/usr/bin/time", "-v", *cmd], stdout=stdout, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"bench-requests: {cmd[0]} failed:\n{p.stderr[-2000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", p.stderr)
    secs = int(wall[1] or 0) * 3600 + int(wall[2]) * 60 + float(wall[3])
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)[1]) / 1024
    return secs, rss, p.stdout, p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", choices=SIZES, default="quick")
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    groups, runs, rows = SIZES[a.size]
    root = os.path.join(a.out, a.size)
    data = os.path.join(root, "data")
    if not os.path.exists(os.path.join(data, ".complete")):
        print(f"bench-requests: generating {groups * runs} traces of {rows} rows in {data} (once)", file=sys.stderr)
        subprocess.run([sys.executable, os.path.join(HERE, "gen_study.py"), data,
                        "--groups", ",".join(VERSIONS[:groups]), "--runs", str(runs), "--rows", str(rows),
                        *(["--copy-groups"] if a.size == "full" else [])], check=True)
        open(os.path.join(data, ".complete"), "w").close()
    layout = os.path.join(root, "requests-data")
    if not os.path.exists(os.path.join(layout, ".complete")):
        subprocess.run([sys.executable, os.path.join(HERE, "gen_requests.py"), data, layout], check=True)
        open(os.path.join(layout, ".complete"), "w").close()
    dirs = sorted(glob.glob(os.path.join(layout, "minitwit*")))
    files = sorted(glob.glob(os.path.join(layout, "minitwit*", "*.csv.xz")))
    nreq = sum(sum(1 for _ in open(f)) for f in glob.glob(os.path.join(layout, "minitwit*", "requests", "*.jsonl")))
    nproc = os.cpu_count() or 1
    store = os.path.join(root, "requests-store")
    shutil.rmtree(store, ignore_errors=True)

    t_xz, m_xz, _, _ = measured(["bash", "-c", f'printf "%s\\0" "$@" | xargs -0 -n1 -P{nproc} xz -dc > /dev/null', "_", *files])
    cmd = [a.bin, "requests", "--format", "json", "--cache-dir", store, *dirs]
    t_cold, m_cold, _, _ = measured(cmd, stdout=subprocess.PIPE)
    t_warm, m_warm, ours, _ = measured(cmd, stdout=subprocess.PIPE)
    t_nc, m_nc, _, _ = measured([a.bin, "requests", "--format", "json", "--no-cache", *dirs], stdout=subprocess.PIPE)
    t_peer, m_peer, theirs, perr = measured([sys.executable, os.path.join(HERE, "peer_requests.py"), *dirs],
                                            stdout=subprocess.PIPE)
    split = json.loads([l for l in perr.splitlines() if l.startswith("{")][-1])

    ours = {(g["label"], e["endpoint"]): e for g in json.loads(ours)["groups"] for e in g["endpoints"]}
    theirs = {(r["label"], r["endpoint"]): r for r in json.loads(theirs)}
    if set(ours) != set(theirs):
        sys.exit(f"bench-requests: the tables differ in their rows: {sorted(set(ours) ^ set(theirs))}")
    worst = max(abs(ours[k]["energy_per_request_j"] - theirs[k]["energy_per_request_j"])
                / abs(theirs[k]["energy_per_request_j"]) for k in ours)
    counts = all(ours[k]["requests"] == theirs[k]["requests"] for k in ours)

    lines = [
        f"# bench-requests, size {a.size}: {len(files)} runs x ~{rows} samples, {nreq} requests, {nproc} cores",
        "",
        "| what | seconds | peak memory (MB) |",
        "|---|---:|---:|",
        f"| xz -dc, {nproc} parallel (the decode floor) | {t_xz:.2f} | {m_xz:.0f} (one xz) |",
        f"| energy-stats requests, cold (decode, fill the Parquet store) | {t_cold:.2f} | {m_cold:.0f} |",
        f"| energy-stats requests --no-cache (decode only) | {t_nc:.2f} | {m_nc:.0f} |",
        f"| energy-stats requests, Parquet store warm | {t_warm:.3f} | {m_warm:.0f} |",
        f"| pandas + numpy peer (read {split['read_s']:.1f} s, attribute {split['attribute_s']:.2f} s) | {t_peer:.2f} | {m_peer:.0f} |",
        "",
        f"- warm vs the pandas peer: **{t_peer / t_warm:.0f}x faster** (target >= 20x); "
        f"vs the peer's attribution alone (its reading left out): {split['attribute_s'] / t_warm:.1f}x",
        f"- cold vs the {nproc}-core decode floor: **{t_cold / t_xz:.2f}x** of it (target <= 1.15x); "
        f"--no-cache {t_nc / t_xz:.2f}x",
        f"- peak memory: cold {m_cold:.0f} MB, warm {m_warm:.0f} MB (target <= 1024 MB)",
        f"- energy per request, energy-stats vs the peer: largest relative difference {worst:.1e}; "
        f"request counts {'equal' if counts else 'DIFFER'}",
    ]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(root, "requests.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
