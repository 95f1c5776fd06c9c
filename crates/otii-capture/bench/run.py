#!/usr/bin/env python3
"""Benchmark: `otii-capture fetch` vs the study's way (official Python client + pandas).

Both fetch the same study-sized recording (otii-sim --preload 150 --rate 10000: 1.5 M samples
of mc, mv, mp) from the same simulator and write `<recording name>.csv.xz`. Each runs as its
own process; wall time comes from the clock around it and peak memory from the kernel's
accounting of that process (wait4 ru_maxrss). The two CSV texts are then compared byte for
byte. Prints a table on stderr and the figures as JSON on stdout.

Usage: run.py --bin-dir target/release --python .venv-bench-capture/bin/python
              [--seconds 150] [--rate 10000] [--py-xz pandas|skip] [--work DIR]
"""
import argparse
import hashlib
import json
import lzma
import os
import shutil
import subprocess
import sys
import time


def run_measured(argv, stdout_path, stderr_path):
    """Runs argv; returns (exit code, wall seconds, peak RSS bytes, CPU seconds user+system)."""
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, wall, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime


def csv_digest(path):
    """sha256 and size of the CSV text of a .csv or .csv.xz file, and the decode time."""
    opener = lzma.open if path.endswith(".xz") else open
    h = hashlib.sha256()
    n = 0
    t0 = time.perf_counter()
    with opener(path, "rb") as f:
        while True:
            b = f.read(1 << 22)
            if not b:
                break
            h.update(b)
            n += len(b)
    return h.hexdigest(), n, time.perf_counter() - t0


def only_file(d):
    files = [f for f in os.listdir(d) if not f.startswith(".")]
    if len(files) != 1:
        raise SystemExit(f"expected one trace in {d}, found {files}")
    return os.path.join(d, files[0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--python", required=True, help="python with otii-tcp-client and pandas")
    ap.add_argument("--seconds", type=float, default=150)
    ap.add_argument("--rate", type=int, default=10000)
    ap.add_argument("--py-xz", choices=["pandas", "skip"], default="pandas")
    ap.add_argument("--work", default="target/bench/capture")
    args = ap.parse_args()

    shutil.rmtree(args.work, ignore_errors=True)
    rust_dir = os.path.join(args.work, "rust")
    py_dir = os.path.join(args.work, "python")
    os.makedirs(rust_dir)
    os.makedirs(py_dir)

    sim = subprocess.Popen(
        [os.path.join(args.bin_dir, "otii-sim"), "--listen", "127.0.0.1:0",
         "--preload", str(args.seconds), "--rate", str(args.rate)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        hello = json.loads(sim.stdout.readline())
        addr = hello["listening"]
        port = int(addr.rsplit(":", 1)[1])

        rc, rust_wall, rust_rss, rust_cpu = run_measured(
            [os.path.join(args.bin_dir, "otii-capture"), "--otii", addr, "fetch",
             "--out", rust_dir, "--timings"],
            os.path.join(args.work, "rust.out"), os.path.join(args.work, "rust.err"))
        if rc != 0:
            raise SystemExit("otii-capture failed: " + open(os.path.join(args.work, "rust.err")).read())
        timings = {}
        for line in open(os.path.join(args.work, "rust.err")):
            if line.startswith("timings: "):
                timings = json.loads(line[len("timings: "):])

        rc, py_wall, py_rss, py_cpu = run_measured(
            [args.python, os.path.join(os.path.dirname(__file__), "peer.py"),
             "--port", str(port), "--out", py_dir, "--xz", args.py_xz],
            os.path.join(args.work, "python.out"), os.path.join(args.work, "python.err"))
        if rc != 0:
            raise SystemExit("peer.py failed: " + open(os.path.join(args.work, "python.err")).read())
        py_stages = json.loads(open(os.path.join(args.work, "python.out")).read())
    finally:
        sim.kill()
        sim.wait()

    rust_file, py_file = only_file(rust_dir), only_file(py_dir)
    rust_sha, rust_csv, rust_decode = csv_digest(rust_file)
    py_sha, py_csv, py_decode = csv_digest(py_file)
    result = {
        "samples_per_channel": int(args.seconds * args.rate),
        "python_xz": args.py_xz,
        "load_average_1min": os.getloadavg()[0],
        "rust": {"wall_s": rust_wall, "cpu_s": rust_cpu, "peak_rss_bytes": rust_rss, "file_bytes": os.path.getsize(rust_file),
                 "stages": timings, "decode_s_python_lzma": rust_decode},
        "python": {"wall_s": py_wall, "cpu_s": py_cpu, "peak_rss_bytes": py_rss, "file_bytes": os.path.getsize(py_file),
                   "stages": py_stages, "decode_s_python_lzma": py_decode},
        "speedup": py_wall / rust_wall,
        "cpu_ratio": py_cpu / rust_cpu,
        "memory_ratio": rust_rss / py_rss,
        "identical_csv": rust_sha == py_sha and rust_csv == py_csv,
        "csv_bytes": rust_csv,
    }
    json.dump(result, sys.stdout, indent=2)
    print()
    mb = 1 << 20
    print(f"""
bench-capture: {result['samples_per_channel']:,} samples x 3 channels, {rust_csv / mb:.1f} MiB of CSV
                      wall       CPU        peak RSS   file
  otii-capture fetch  {rust_wall:7.2f} s  {rust_cpu:7.2f} s  {rust_rss / mb:8.1f} MiB  {os.path.getsize(rust_file) / mb:.1f} MiB
    protocol {timings.get('protocol_s', 0):.2f} s, CSV {timings.get('csv_s', 0):.2f} s, xz {timings.get('xz_s', 0):.2f} s (waiting on the encoder)
  python peer ({args.py_xz:6}) {py_wall:7.2f} s  {py_cpu:7.2f} s  {py_rss / mb:8.1f} MiB  {os.path.getsize(py_file) / mb:.1f} MiB
    fetch {py_stages['fetch_s']:.2f} s, DataFrame {py_stages['dataframe_s']:.2f} s, to_csv{'+xz' if args.py_xz == 'pandas' else ''} {py_stages['to_csv_s']:.2f} s
  speed-up {result['speedup']:.1f}x wall, {result['cpu_ratio']:.1f}x CPU; memory {result['memory_ratio']:.3f} of the peer's; identical CSV text: {result['identical_csv']}
  (1-minute load average at the end: {result['load_average_1min']:.1f} on {os.cpu_count()} CPUs; the simulator's own CPU is in neither figure)
""", file=sys.stderr)
    if not result["identical_csv"]:
        raise SystemExit("the two traces differ")


if __name__ == "__main__":
    main()
