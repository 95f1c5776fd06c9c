#!/usr/bin/env python3
"""Write a study-shaped data set: per group a folder minitwit<ver>/ with one trace per run
(`<start time>.csv.xz`, pandas CSV with index and MAIN_CURRENT,MAIN_VOLTAGE,MAIN_POWER at
10 kHz) and the controller's log.txt whose MAIN_POWER averages match the traces.

    gen_study.py OUT_DIR --groups 38,39,310,311,312,313 --runs 10 --rows 1430000

With --copy-groups only the first group is generated and the others are copies of its files
under new names (the benchmark measures reading; writing a study-sized trace takes ~30 s).
The traces are compressed with multi-threaded xz at a low preset (`xz -T0 -1`): preset 6,
as the study used, takes minutes per file. Both sides of the benchmark read the same files.
"""

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd


def copy_group(src, dst, minutes):
    """Copy a generated group under new names (start times shifted by `minutes`)."""
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(dst)
    for name in sorted(os.listdir(src)):
        if name.endswith(".csv.xz"):
            t = dt.datetime.strptime(name[: -len(".csv.xz")], "%Y-%m-%d %H:%M:%S")
            new = (t + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M:%S") + ".csv.xz"
            shutil.copyfile(os.path.join(src, name), os.path.join(dst, new))
    shutil.copyfile(os.path.join(src, "log.txt"), os.path.join(dst, "log.txt"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--groups", default="38,39,310,311,312,313")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--rows", type=int, default=1_430_000)
    ap.add_argument("--preset", default="-1")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--copy-groups", action="store_true",
                    help="generate the first group only and copy its files for the others "
                         "(a study-sized trace takes ~30 s to write; reading is what is measured)")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    start = dt.datetime(2024, 2, 21, 14, 0, 0)
    versions = a.groups.split(",")
    for gi, ver in enumerate(versions):
        d = os.path.join(a.out, f"minitwit{ver}")
        first = os.path.join(a.out, f"minitwit{versions[0]}")
        if gi > 0 and a.copy_groups:
            copy_group(first, d, gi * a.runs * 3)
            continue
        if os.path.exists(os.path.join(d, "log.txt")):
            continue  # a complete group from an interrupted earlier run
        os.makedirs(d, exist_ok=True)
        log = ["$ time poetry run python main.py"]
        level = 1.30 + 0.02 * gi
        for r in range(a.runs):
            n = a.rows + int(rng.integers(-5000, 5000))
            t = np.arange(n) / 10_000.0
            power = level + 0.25 * (np.sin(t / 3.0) > 0.2) + rng.normal(0.0, 0.05, n)
            volt = 5.0 + rng.normal(0.0, 0.001, n)
            cur = power / volt
            df = pd.DataFrame({"MAIN_CURRENT": cur, "MAIN_VOLTAGE": volt, "MAIN_POWER": power})
            name = (start + dt.timedelta(minutes=3 * (gi * a.runs + r))).strftime("%Y-%m-%d %H:%M:%S")
            path = os.path.join(d, f"{name}.csv.xz")
            with open(path + ".tmp", "wb") as f:
                xz = subprocess.Popen(["xz", "-T0", a.preset, "-c"], stdin=subprocess.PIPE, stdout=f)
                df.to_csv(xz.stdin)
                xz.stdin.close()
                if xz.wait() != 0:
                    sys.exit("xz failed")
            os.replace(path + ".tmp", path)
            secs = n / 10_000.0 * (0.985 - 0.005 * rng.uniform(0, 1))
            td = dt.timedelta(seconds=secs)
            log += [
                "Clearing DB on remote server...",
                "Starting scenario on three clients...",
                "[<Response [200 OK]>, <Response [200 OK]>, <Response [200 OK]>]",
                f"Scenario took {td}",
                "Done with scenario...",
                f"MAIN_CURRENT: {cur.min()}, {cur.max()}, {cur.mean()}, {cur.mean() * n / 10_000 / 3600}",
                f"MAIN_VOLTAGE: {volt.min()}, {volt.max()}, {volt.mean()}",
                f"MAIN_POWER: {power.min()}, {power.max()}, {power.mean()}",
            ]
            print(f"wrote {path}", file=sys.stderr)
        log.append("real 33m13.885s")
        with open(os.path.join(d, "log.txt"), "w") as f:
            f.write("\n".join(log) + "\n")


if __name__ == "__main__":
    main()
