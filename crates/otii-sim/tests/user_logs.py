#!/usr/bin/env python3
"""otii-sim's user logs (Otii 3.6+) driven by Qoitech's official Python client, unchanged.

Creates a user log in the active project, starts a recording, reads the simulated meter's own
"now" on the recording's timeline (samples so far / rate) at a few moments, appends an entry
at each of those times (out of order too), reads them back page by page, filtered, in a time
window and shifted by an offset, appends to the recording once stopped, and checks the refusals.
Checks the answers' shapes (`log_data`, 1-based pages, `timestamp`/`value` entries) and the
times: read back exactly as appended, in time order, and on the recording's timeline (within
the controller's bracket of each moment). Entries are the client's; the meter's clock is the
sample count.

Usage: user_logs.py --port PORT. Exit 0 when everything holds; the first failed check raises
AssertionError saying what was expected.
"""
import argparse
import sys
import time

from otii_tcp_client import otii_client

# The conformance script's helpers (this directory is on the path when run as a script).
from conformance import check, expect_error

RATE = 10000


def check_page(page, what):
    check(set(page) == {"data_type", "page", "pages_total", "values"}, f"{what}: keys {sorted(page)}")
    check(page["data_type"] == "log_data", f"{what}: data_type {page['data_type']!r}")
    for v in page["values"]:
        check(set(v) == {"timestamp", "value"}, f"{what}: entry keys {sorted(v)}")
        check(isinstance(v["timestamp"], float) and isinstance(v["value"], str), f"{what}: {v}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()

    client = otii_client.OtiiClient()
    otii = client.connect(host=args.host, port=args.port, try_for_seconds=5)
    arc = otii.get_devices(timeout=1)[0]
    arc.enable_channel("mp", True)
    arc.set_channel_samplerate("mp", RATE)
    project = otii.get_active_project()

    log_id = project.create_user_log("load")
    check(log_id == "load", f"create_user_log returned {log_id!r}")
    other = project.create_user_log("load")
    check(isinstance(other, str) and other != log_id, f"a second log got the same id {other!r}")

    before = time.monotonic()
    project.start_recording()
    after = time.monotonic()
    recording = project.get_last_recording()

    # The meter's "now" on the recording's timeline at three moments, each bracketed by the
    # controller's clock: samples so far / rate lies within the bracket (a sample is late by
    # less than one period; otii-sim's synthetic model has no delivery lag).
    moments = []
    for pause in (0.2, 0.3, 0.2):
        time.sleep(pause)
        c1 = time.monotonic()
        meter = recording.get_channel_data_count(arc.id, "mp") / RATE
        c2 = time.monotonic()
        check(c1 - after - 2 / RATE <= meter <= c2 - before + 1e-9,
              f"meter time {meter} s outside the controller's bracket "
              f"[{c1 - after:.6f}, {c2 - before:.6f}] s")
        moments.append(meter)
    # Appended out of order: the last moment first.
    for i in (2, 0, 1):
        recording.append_user_log(log_id, moments[i], f"load mark {i}")
    for i in range(25):
        recording.append_user_log(other, 0.01 * i, f"tick {i}")

    page = recording.get_user_log_data(log_id, 0.0, 1e6, "")
    check_page(page, "whole log")
    check((page["page"], page["pages_total"]) == (1, 1), f"one page: {page['page']}/{page['pages_total']}")
    got = [(v["timestamp"], v["value"]) for v in page["values"]]
    check(got == [(moments[i], f"load mark {i}") for i in range(3)],
          f"read back {got}, appended {moments} (in time order)")
    entries = list(recording.iter_user_log_data(log_id, 0.0, 1e6))
    check([(e.timestamp, e.message) for e in entries] == got, "iter_user_log_data differs")

    # Pages of 10 of the other log's 25 entries: 1-based, 3 in all, the last one short.
    pages = [recording.get_user_log_data(other, 0.0, 1e6, "", p, 10) for p in (1, 2, 3)]
    for p in pages:
        check_page(p, "paged")
        check(p["pages_total"] == 3, f"pages_total {p['pages_total']}")
    check([len(p["values"]) for p in pages] == [10, 10, 5], "page sizes")
    check([v["value"] for p in pages for v in p["values"]] == [f"tick {i}" for i in range(25)],
          "pages in order, none lost")
    check(len(list(recording.iter_user_log_data(other, 0.0, 1e6))) == 25, "iter over pages")

    # A time window and a filter.
    window = recording.get_user_log_data(other, 0.095, 0.205, "")["values"]
    check([v["value"] for v in window] == [f"tick {i}" for i in range(10, 21)], f"window {window}")
    only = recording.get_user_log_data(other, 0.0, 1e6, "tick 2")["values"]
    check([v["value"] for v in only] == ["tick 2"] + [f"tick {i}" for i in range(20, 25)],
          f"filter {only}")

    # An offset shifts what is read, not what was stored.
    recording.offset_user_log(log_id, 0.5)
    shifted = [v["timestamp"] for v in recording.get_user_log_data(log_id, 0.0, 1e6, "")["values"]]
    check(shifted == [m + 0.5 for m in moments], f"offset 0.5: {shifted}")
    recording.offset_user_log(log_id, 0.0)

    # A stopped recording still takes entries (importing a log afterwards).
    project.stop_recording()
    recording.append_user_log(log_id, 0.0, "after stop")
    values = recording.get_user_log_data(log_id, 0.0, 1e6, "")["values"]
    check(values[0] == {"timestamp": 0.0, "value": "after stop"} and len(values) == 4, f"{values}")

    # Refusals.
    expect_error(lambda: recording.append_user_log("no such log", 1.0, "x"), "Invalid key value")
    expect_error(lambda: recording.get_user_log_data(log_id, 0.0, 1.0, "", 0), "Invalid key value")
    conn = otii.connection
    r = conn.send_and_receive({"type": "request", "cmd": "recording_append_user_log",
                               "data": {"recording_id": recording.id, "measurement_id": log_id,
                                        "message": "no time"}})
    check(r["type"] == "error" and r["errorcode"] == "Missing key in request"
          and r["data"]["key"] == "time", f"missing time: {r}")

    client.disconnect()
    print(f"user logs: ok, meter times {moments}", file=sys.stderr)


if __name__ == "__main__":
    main()
