#!/usr/bin/env python3
"""The Python peer of `otii-capture fetch`: fetch a recording the way the study's controller did.

Official client (otii-tcp-client): connect, first device, active project, last recording; for
mc, mv, mp: data count, then every value (the client fetches in chunks of 40,000) into one
pandas DataFrame; then `DataFrame.to_csv("<recording name>.csv.xz")` as the study wrote its
traces (pandas' default xz compression: Python's lzma, preset 6, one thread).

--xz skip writes the plain CSV instead and leaves the compression out of the run (the
benchmark then reports pandas' xz step from a separate, single measurement).

Prints one JSON object on stdout with the time of each stage.
"""
import argparse
import json
import sys
import time

import pandas as pd
from otii_tcp_client import otii_client

COLUMNS = {"mc": "MAIN_CURRENT", "mv": "MAIN_VOLTAGE", "mp": "MAIN_POWER"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", required=True, help="directory for the trace")
    ap.add_argument("--xz", choices=["pandas", "skip"], default="pandas")
    args = ap.parse_args()

    t0 = time.perf_counter()
    client = otii_client.OtiiClient()
    otii = client.connect(host="127.0.0.1", port=args.port)
    arc = otii.get_devices()[0]
    project = otii.get_active_project()
    recording = project.get_last_recording()

    data = {}
    for ch, col in COLUMNS.items():
        count = recording.get_channel_data_count(arc.id, ch)
        data[col] = recording.get_channel_data(arc.id, ch, 0, count)["values"]
    t_fetch = time.perf_counter()

    df = pd.DataFrame(data)
    t_frame = time.perf_counter()

    if args.xz == "pandas":
        path = f"{args.out}/{recording.name}.csv.xz"
    else:
        path = f"{args.out}/{recording.name}.csv"
    df.to_csv(path)
    t_write = time.perf_counter()
    client.disconnect()

    json.dump({
        "path": path,
        "rows": len(df),
        "fetch_s": t_fetch - t0,
        "dataframe_s": t_frame - t_fetch,
        "to_csv_s": t_write - t_frame,
        "total_s": t_write - t0,
    }, sys.stdout)
    print()


if __name__ == "__main__":
    main()
