#!/usr/bin/env python3
"""Conformance of otii-sim with Qoitech's official Python client (otii-tcp-client).

Runs the study's controller sequence against a running simulator, unchanged client code:
connect (with the licensing calls the client makes), take the first device, enable mc mv mp at
10 kHz, get the active project, start a recording, wait, stop, take the last recording, fetch
count + chunked data of each channel, channel info and statistics. Then checks what a real Otii
guarantees: counts match the rate and length, P = I x V sample by sample, the statistics are
the min/max/mean of the data, errors come back as Otii_Exception with the right codes, and no
`progress` message comes during the downloads (a real Otii sends none there; the study's client
2.2.5 crashed on the ones otii-sim used to send). Every line the client receives is read for it
through a tap on its socket; the client code itself is not changed.

Usage: conformance.py --port PORT [--seconds S]. Exit 0 when everything holds; on the first
failed check it raises AssertionError with what was expected.
"""
import argparse
import json
import math
import sys
import time

from otii_tcp_client import otii_client
from otii_tcp_client.otii_exception import Otii_Exception


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def expect_error(fn, code):
    try:
        fn()
    except Otii_Exception as e:
        check(e.type == code, f"expected error code {code!r}, got {e.type!r}: {e.message}")
        return e
    raise AssertionError(f"expected an Otii_Exception {code!r}, got a normal answer")


class Tap:
    """The client's socket, passing everything through and noting the type of every message."""

    def __init__(self, sock):
        self.sock = sock
        self.pending = b""
        self.types = []

    def recv(self, n):
        data = self.sock.recv(n)
        self.pending += data
        *lines, self.pending = self.pending.split(b"\r\n")
        self.types.extend(json.loads(line).get("type") for line in lines if line)
        return data

    def __getattr__(self, name):
        return getattr(self.sock, name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--seconds", type=float, default=4.5)
    args = ap.parse_args()

    client = otii_client.OtiiClient()
    otii = client.connect(host=args.host, port=args.port, try_for_seconds=5)
    tap = Tap(otii.connection.sock)
    otii.connection.sock = tap
    check(otii.is_logged_in(), "the simulator must say it is logged in")
    check(otii.has_license("Automation"), "the client reserved the Automation licence")

    devices = otii.get_devices(timeout=1)
    check(len(devices) == 1, f"expected one device, got {devices}")
    arc = devices[0]
    check(arc.type == "Arc", f"device type {arc.type!r}")
    check("sim" in arc.name, f"the device name must say it is simulated: {arc.name!r}")

    channels = ["mc", "mv", "mp"]
    for ch in channels:
        arc.enable_channel(ch, True)
        arc.set_channel_samplerate(ch, 10000)
        check(arc.get_channel_samplerate(ch) == 10000, f"{ch} sample rate not kept")
    check(arc.get_main(), "main output on by default (the study powered the Pi)")
    check(abs(arc.get_main_voltage() - 5.0) < 1e-9, "main voltage 5 V")

    project = otii.get_active_project()

    # Start while recording, and stop while not: clean errors.
    project.start_recording()
    t0 = time.monotonic()
    expect_error(project.start_recording, "Command failure")
    time.sleep(args.seconds)
    project.stop_recording()
    elapsed = time.monotonic() - t0
    expect_error(project.stop_recording, "Command failure")

    recording = project.get_last_recording()
    check(recording is not None, "no last recording")
    check(recording.start_time is not None, "start-time missing")
    check(len(recording.name) == 19 and recording.name[4] == "-" and recording.name[10] == " ",
          f"recording name {recording.name!r} is not 'YYYY-MM-DD HH:MM:SS'")

    data = {}
    for ch in channels:
        count = recording.get_channel_data_count(arc.id, ch)
        check(abs(count - elapsed * 10000) < 0.1 * 10000,
              f"{ch}: {count} samples for ~{elapsed:.3f} s at 10 kHz")
        chunk = recording.get_channel_data(arc.id, ch, 0, count)
        check(chunk["data_type"] == "analog", f"{ch}: data_type {chunk['data_type']}")
        check(abs(chunk["interval"] - 1e-4) < 1e-12, f"{ch}: interval {chunk['interval']}")
        check(len(chunk["values"]) == count, f"{ch}: {len(chunk['values'])} values, count {count}")
        data[ch] = chunk["values"]
    check(len(data["mc"]) > 40000, "the recording must need several 40,000-value chunks")
    check(elapsed > 2.0, f"the recording must be longer than 2 s: {elapsed:.3f} s")
    check(tap.types.count("response") >= 3 * 2, f"the tap saw the answers: {tap.types}")
    check("progress" not in tap.types,
          f"{tap.types.count('progress')} progress messages during the downloads")

    import struct
    f32 = lambda x: struct.unpack("f", struct.pack("f", x))[0]
    for i, (c, v, p) in enumerate(zip(data["mc"], data["mv"], data["mp"])):
        check(p == f32(c * v), f"sample {i}: P {p} != I x V = {c} x {v}")
        check(1.0 < p < 1.9 and 4.98 < v < 5.01, f"sample {i}: P {p} W, V {v} V out of the Pi's range")

    for ch in channels:
        info = recording.get_channel_info(arc.id, ch)
        check(info["sample_rate"] == 10000 and info["from"] == 0, f"{ch}: info {info}")
        check(abs(info["to"] - len(data[ch]) / 10000) < 1e-9, f"{ch}: info to {info['to']}")
        stats = recording.get_channel_statistics(arc.id, ch, info["from"], info["to"])
        values = data[ch]
        mean = math.fsum(values) / len(values)
        check(stats["min"] == min(values), f"{ch}: statistics min {stats['min']} != {min(values)}")
        check(stats["max"] == max(values), f"{ch}: statistics max {stats['max']} != {max(values)}")
        check(math.isclose(stats["average"], mean, rel_tol=1e-12),
              f"{ch}: statistics average {stats['average']} != mean {mean}")
        if ch == "mc":
            energy = math.fsum(data["mp"]) / 10000
            check(math.isclose(stats["energy"], energy, rel_tol=1e-9),
                  f"mc energy {stats['energy']} J != sum(P)/rate {energy} J")

    # What the study's controller printed.
    info = recording.get_channel_info(arc.id, "mc")
    s = recording.get_channel_statistics(arc.id, "mc", info["from"], info["to"])
    print(f"MAIN_CURRENT: {s['min']}, {s['max']}, {s['average']}, {s['energy'] / 3600}")

    # Clean errors for bad requests.
    expect_error(lambda: recording.get_channel_data(arc.id, "xx", 0, 10), "Invalid key value")
    expect_error(lambda: recording.get_channel_data_count("ARC-NOPE", "mc"), "Device not connected")
    n = len(data["mc"])
    expect_error(lambda: recording.get_channel_data(arc.id, "mc", n - 5, 10), "Invalid key value")
    expect_error(lambda: arc.set_channel_samplerate("mc", 100000), "Invalid key value")
    conn = otii.connection
    r = conn.send_and_receive({"type": "request", "cmd": "no_such_command"})
    check(r["type"] == "error" and r["errorcode"] == "Invalid command", f"unknown command: {r}")
    check(r["payload"]["message"], "error without a message")
    r = conn.send_and_receive({"type": "request", "cmd": "recording_get_channel_data_count",
                               "data": {"recording_id": 999, "device_id": arc.id, "channel": "mc"}})
    check(r["type"] == "error" and r["errorcode"] == "Invalid key value", f"unknown id: {r}")
    r = conn.send_and_receive({"type": "request", "cmd": "arc_enable_channel",
                               "data": {"device_id": arc.id, "channel": "mc"}})
    check(r["type"] == "error" and r["errorcode"] == "Missing key in request"
          and r["data"]["key"] == "enable", f"missing key: {r}")

    client.disconnect()
    print("conformance: ok", file=sys.stderr)


if __name__ == "__main__":
    main()
