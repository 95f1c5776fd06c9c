#!/usr/bin/env python3
"""Benchmark energy-stats against the study's pandas method on study-shaped traces.

    bench.py --size quick|full --bin target/release/energy-stats --out target/bench/stats

Sizes: quick = 6 runs x 150 k rows (a minute); full = 60 runs x 1.43 M rows (the study: 6
interpreters x 10 runs). The data set is generated once into OUT/<size>/data (gen_study.py) and
reused. Measured in the same run, each on the same files:

- cold:   energy-stats report --no-cache (decode every trace; all cores)
- warm:   energy-stats report with a cache filled by a previous run on the unchanged input
- pandas: the study's method, pandas.read_csv(path, compression="xz")["MAIN_POWER"].mean()
          for every file, one process (as the notebook did)
- xz -dc: plain decompression of every file to /dev/null, one core (sequential) and on every
          core (xargs -P NPROC): the floor of any first read

Prints a table and the ratios; writes the same to OUT/<size>/results.md.
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import time

SIZES = {"quick": (1, 6, 150_000), "full": (6, 10, 1_430_000)}
VERSIONS = ["38", "39", "310", "311", "312", "313"]


def timed(cmd, **kw):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t0


def pandas_method(files):
    import pandas as pd

    t0 = time.perf_counter()
    means = [pd.read_csv(f, compression="xz")["MAIN_POWER"].mean() for f in files]
    return time.perf_counter() - t0, means


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", choices=SIZES, default="quick")
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--repeat", type=int, default=1, help="take the best of N timings")
    a = ap.parse_args()
    groups, runs, rows = SIZES[a.size]
    root = os.path.join(a.out, a.size)
    data = os.path.join(root, "data")
    marker = os.path.join(data, ".complete")
    if not os.path.exists(marker):
        print(f"bench-stats: generating {groups * runs} traces of {rows} rows in {data} (once)", file=sys.stderr)
        subprocess.run(
            [sys.executable, os.path.join(os.path.dirname(__file__), "gen_study.py"), data,
             "--groups", ",".join(VERSIONS[:groups]), "--runs", str(runs), "--rows", str(rows),
             *(["--copy-groups"] if a.size == "full" else [])],
            check=True,
        )
        open(marker, "w").close()
    dirs = sorted(glob.glob(os.path.join(data, "minitwit*")))
    files = sorted(glob.glob(os.path.join(data, "minitwit*", "*.csv.xz")))
    nproc = os.cpu_count() or 1
    mb = sum(os.path.getsize(f) for f in files) / 1e6
    cache = os.path.join(root, "cache")
    shutil.rmtree(cache, ignore_errors=True)

    def best(f):
        return min(f() for _ in range(a.repeat))

    t_xz1 = best(lambda: timed(["bash", "-c", 'for f in "$@"; do xz -dc "$f"; done > /dev/null', "_", *files]))
    t_xzn = best(lambda: timed(["bash", "-c", f'printf "%s\\0" "$@" | xargs -0 -n1 -P{nproc} xz -dc > /dev/null', "_", *files]))
    t_cold = best(lambda: timed([a.bin, "report", "--no-cache", "--format", "json", *dirs]))
    timed([a.bin, "report", "--cache-dir", cache, "--format", "json", *dirs])  # fills the cache
    t_warm = best(lambda: timed([a.bin, "report", "--cache-dir", cache, "--format", "json", *dirs]))
    t_pandas, means = pandas_method(files)

    # The two must agree: energy-stats' trace means against pandas' means.
    out = subprocess.run([a.bin, "runs", "--cache-dir", cache, *dirs], check=True, capture_output=True, text=True).stdout
    import json

    ours = [json.loads(l)["trace_power_avg_w"] for l in out.splitlines()]
    worst = max(abs(x - y) / abs(y) for x, y in zip(ours, means))

    lines = [
        f"# bench-stats, size {a.size}: {len(files)} traces x ~{rows} rows, {mb:.0f} MB of .csv.xz, {nproc} cores",
        "",
        "| what | seconds |",
        "|---|---:|",
        f"| xz -dc, one core (sequential) | {t_xz1:.2f} |",
        f"| xz -dc, {nproc} parallel (the floor) | {t_xzn:.2f} |",
        f"| pandas read_csv(compression='xz'), the study's method | {t_pandas:.2f} |",
        f"| energy-stats report --no-cache (cold) | {t_cold:.2f} |",
        f"| energy-stats report, cache warm | {t_warm:.3f} |",
        "",
        f"- cold vs pandas: **{t_pandas / t_cold:.2f}x faster** (target >= 1.8x)",
        f"- warm vs pandas: **{t_pandas / t_warm:.0f}x faster** (target >= 20x)",
        f"- cold vs the {nproc}-core decompression floor: **{t_cold / t_xzn:.2f}x** of it (target <= 1.15x)",
        f"- largest relative difference of the per-run mean power, energy-stats vs pandas: {worst:.1e}",
    ]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(root, "results.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
