//! otii-sim over real TCP on 127.0.0.1: the raw protocol, faults, the binary, and the
//! official Python client (conformance.py, through `$CPE_VENV`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use otii_sim::{Config, Fault, Server, ServerHandle};
use serde_json::{json, Value};

#[path = "sim/user_logs.rs"]
mod user_logs;

fn spawn(cfg: Config) -> ServerHandle {
    Server::spawn_loopback(cfg).unwrap()
}

struct Raw {
    reader: BufReader<TcpStream>,
    out: TcpStream,
    next: u64,
}

impl Raw {
    fn connect(h: &ServerHandle) -> (Raw, Value) {
        let s = TcpStream::connect(h.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut raw = Raw {
            reader: BufReader::new(s.try_clone().unwrap()),
            out: s,
            next: 0,
        };
        let hello = raw.read().unwrap();
        (raw, hello)
    }

    fn read(&mut self) -> Option<Value> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        assert!(
            line.ends_with("\r\n"),
            "message not terminated by CRLF: {line:?}"
        );
        Some(serde_json::from_str(&line).unwrap())
    }

    fn send_line(&mut self, line: &str) {
        self.out.write_all(line.as_bytes()).unwrap();
        self.out.write_all(b"\r\n").unwrap();
    }

    /// Sends a request and returns every message up to its answer (progress included).
    fn call_all(&mut self, cmd: &str, data: Value) -> Vec<Value> {
        self.next += 1;
        let id = format!("t{}", self.next);
        let req = json!({"type": "request", "cmd": cmd, "trans_id": id, "data": data});
        self.send_line(&req.to_string());
        let mut msgs = vec![];
        loop {
            let m = self.read().expect("connection closed before the answer");
            let done = m["type"] != "progress";
            if done {
                assert_eq!(m["trans_id"], json!(id), "answer for another transaction");
            }
            msgs.push(m);
            if done {
                return msgs;
            }
        }
    }

    fn call(&mut self, cmd: &str, data: Value) -> Value {
        self.call_all(cmd, data).pop().unwrap()
    }
}

fn ok(m: &Value) -> &Value {
    assert_eq!(m["type"], "response", "expected a response, got {m}");
    &m["data"]
}

fn err_code(m: &Value) -> &str {
    assert_eq!(m["type"], "error", "expected an error, got {m}");
    assert!(
        m["payload"]["message"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "error without payload.message: {m}"
    );
    m["errorcode"].as_str().unwrap()
}

fn rec_args(id: i64, ch: &str) -> Value {
    json!({"recording_id": id, "device_id": otii_sim::state::DEVICE_ID, "channel": ch})
}

#[test]
fn greeting_says_simulated() {
    let h = spawn(Config::default());
    let (_c, hello) = Raw::connect(&h);
    assert_eq!(hello["type"], "information");
    assert_eq!(hello["info"], "connected");
    assert_eq!(hello["data"]["server"], "otii-sim");
    assert_eq!(hello["data"]["simulated"], true);
    assert_eq!(hello["data"]["power_model"], "synthetic");
    assert!(hello["data"]["protocol_version"].is_string());
}

#[test]
fn errors_are_clean_and_echo_trans_id() {
    let h = spawn(Config::default());
    let (mut c, _) = Raw::connect(&h);
    assert_eq!(
        err_code(&c.call("no_such_command", json!({}))),
        "Invalid command"
    );
    let m = c.call(
        "arc_enable_channel",
        json!({"device_id": "nope", "channel": "mc", "enable": true}),
    );
    assert_eq!(err_code(&m), "Device not connected");
    assert_eq!(m["data"]["device_id"], "nope");
    let m = c.call(
        "arc_set_channel_samplerate",
        json!({"device_id": otii_sim::state::DEVICE_ID, "channel": "mc", "value": "fast"}),
    );
    assert_eq!(err_code(&m), "Invalid key type");
    let m = c.call("project_start_recording", json!({"project_id": 42}));
    assert_eq!(err_code(&m), "Project does not exist");
    let m = c.call("recording_get_channel_info", rec_args(7, "mc"));
    assert_eq!(err_code(&m), "Invalid key value");
    assert_eq!(m["data"]["key"], "recording_id");
    c.send_line("this is not json");
    let m = c.read().unwrap();
    assert_eq!(err_code(&m), "Not able to parse request");
    // The connection survives errors.
    assert_eq!(
        ok(&c.call("otii_get_active_project", json!({})))["project_id"],
        1
    );
}

#[test]
fn preloaded_recording_serves_chunks_without_progress() {
    let h = spawn(Config {
        preload_s: Some(10.0),
        rate_hz: 10_000,
        ..Config::default()
    });
    let (mut c, _) = Raw::connect(&h);
    let last = c.call("project_get_last_recording", json!({"project_id": 1}));
    let last = ok(&last).clone();
    let id = last["recording_id"].as_i64().unwrap();
    let name = last["name"].as_str().unwrap();
    assert_eq!(name.len(), 19, "recording name {name:?}");
    let count =
        ok(&c.call("recording_get_channel_data_count", rec_args(id, "mp")))["count"].clone();
    assert_eq!(count, 100_000);
    let mut args = rec_args(id, "mp");
    args["index"] = json!(40_000);
    args["count"] = json!(40_000);
    let msgs = c.call_all("recording_get_channel_data", args.clone());
    assert_eq!(msgs.len(), 1, "the data, and no progress message before it");
    let d = ok(&msgs[0]);
    assert_eq!(d["values"].as_array().unwrap().len(), 40_000);
    assert_eq!(d["timestamp"], 4.0);
    assert_eq!(d["interval"], 0.0001);
    // Same request, same values: the simulator is deterministic.
    let again = c.call_all("recording_get_channel_data", args.clone());
    assert_eq!(ok(&again[0])["values"], d["values"]);
    // Out of range.
    args["index"] = json!(99_990);
    args["count"] = json!(11);
    assert_eq!(
        err_code(&c.call("recording_get_channel_data", args)),
        "Invalid key value"
    );
    // Statistics over the whole recording.
    let info = ok(&c.call("recording_get_channel_info", rec_args(id, "mc"))).clone();
    assert_eq!(info["to"], 10.0);
    let mut sargs = rec_args(id, "mc");
    sargs["from"] = info["from"].clone();
    sargs["to"] = info["to"].clone();
    let s = ok(&c.call("recording_get_channel_statistics", sargs)).clone();
    let energy = s["energy"].as_f64().unwrap();
    assert!(
        energy > 10.0 * 1.13 && energy < 10.0 * 1.7,
        "energy {energy} J over 10 s"
    );
}

/// Regression: the study's client 2.2.5 crashed (`KeyError: 'progress_value'`) on the progress
/// message otii-sim used to send before every data answer of 20,000 values or more. The real
/// Otii sends none during downloads; every line that comes is read here.
#[test]
fn a_download_longer_than_2s_sends_no_progress() {
    let h = spawn(Config {
        rate_hz: 10_000,
        ..Config::default()
    });
    let (mut c, _) = Raw::connect(&h);
    ok(&c.call("project_start_recording", json!({"project_id": 1})));
    std::thread::sleep(Duration::from_millis(3_000));
    ok(&c.call("project_stop_recording", json!({"project_id": 1})));
    let id = ok(&c.call("project_get_last_recording", json!({"project_id": 1})))["recording_id"]
        .as_i64()
        .unwrap();
    for ch in ["mc", "mv", "mp"] {
        let n = ok(&c.call("recording_get_channel_data_count", rec_args(id, ch)))["count"]
            .as_u64()
            .unwrap();
        assert!(n >= 30_000, "{n} samples of {ch} after 3 s at 10 kHz");
        // Whole, then in the reference clients' 40,000-value chunks.
        let mut sizes = vec![(0, n)];
        sizes.extend((0..n).step_by(40_000).map(|i| (i, (n - i).min(40_000))));
        for (index, count) in sizes {
            let mut args = rec_args(id, ch);
            args["index"] = json!(index);
            args["count"] = json!(count);
            let msgs = c.call_all("recording_get_channel_data", args);
            assert_eq!(
                msgs.len(),
                1,
                "only the answer comes: {:?}",
                msgs[0]["type"]
            );
            assert_eq!(
                ok(&msgs[0])["values"].as_array().unwrap().len() as u64,
                count
            );
        }
    }
    // Nothing comes after the last answer either.
    c.out
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut rest = String::new();
    let err = c
        .reader
        .read_line(&mut rest)
        .expect_err("no message is due");
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{err}: {rest:?}"
    );
}

/// The `progress` fault adds, before every data answer, a progress message in the shape both
/// reference clients read (2.2.5 reads `cmd` and `progress_value`, 1.0.x only `type`).
#[test]
fn progress_fault_sends_the_shape_both_clients_read() {
    let h = spawn(Config {
        preload_s: Some(1.0),
        faults: vec![Fault::ProgressBeforeData],
        ..Config::default()
    });
    let (mut c, _) = Raw::connect(&h);
    let mut args = rec_args(1, "mp");
    args["index"] = json!(0);
    args["count"] = json!(10);
    let msgs = c.call_all("recording_get_channel_data", args);
    assert_eq!(msgs.len(), 2, "a progress message, then the data: {msgs:?}");
    assert_eq!(msgs[0]["type"], "progress");
    assert_eq!(msgs[0]["cmd"], "recording_get_channel_data");
    assert_eq!(msgs[0]["trans_id"], msgs[1]["trans_id"]);
    assert!(msgs[0]["progress_value"].is_u64(), "{}", msgs[0]);
    assert_eq!(ok(&msgs[1])["values"].as_array().unwrap().len(), 10);
    // Other commands get none.
    let msgs = c.call_all("otii_get_active_project", json!({}));
    assert_eq!(msgs.len(), 1);
}

#[test]
fn drop_after_chunks_fault_closes_mid_download() {
    let h = spawn(Config {
        preload_s: Some(2.0),
        faults: vec![Fault::DropAfterChunks(2)],
        ..Config::default()
    });
    let (mut c, _) = Raw::connect(&h);
    let mut args = rec_args(1, "mc");
    args["count"] = json!(100);
    for i in 0..2 {
        args["index"] = json!(i * 100);
        ok(&c.call("recording_get_channel_data", args.clone()));
    }
    args["index"] = json!(200);
    c.send_line(
        &json!({"type": "request", "cmd": "recording_get_channel_data",
                        "trans_id": "x", "data": args})
        .to_string(),
    );
    assert!(c.read().is_none(), "the connection should have been closed");
}

#[test]
fn drop_once_after_chunks_closes_only_the_first_connection() {
    let h = spawn(Config {
        preload_s: Some(2.0),
        faults: vec![Fault::DropOnceAfterChunks(1)],
        ..Config::default()
    });
    let mut args = rec_args(1, "mc");
    args["count"] = json!(100);
    args["index"] = json!(0);
    let request = |args: &serde_json::Value| {
        json!({"type": "request", "cmd": "recording_get_channel_data",
               "trans_id": "x", "data": args})
        .to_string()
    };
    let (mut c, _) = Raw::connect(&h);
    ok(&c.call("recording_get_channel_data", args.clone()));
    c.send_line(&request(&args));
    assert!(c.read().is_none(), "the first connection is dropped");
    // The meter is back: the next connection downloads whole.
    let (mut c, _) = Raw::connect(&h);
    for i in 0..3 {
        args["index"] = json!(i * 100);
        ok(&c.call("recording_get_channel_data", args.clone()));
    }
}

#[test]
fn error_and_no_devices_faults() {
    let h = spawn(Config {
        faults: vec![
            Fault::NoDevices,
            Fault::ErrorOn("project_stop_recording".into()),
        ],
        ..Config::default()
    });
    let (mut c, _) = Raw::connect(&h);
    let d = ok(&c.call("otii_get_devices", json!({"timeout": 1}))).clone();
    assert_eq!(d["devices"], json!([]));
    let m = c.call("project_stop_recording", json!({"project_id": 1}));
    assert_eq!(err_code(&m), "Command failure");
    assert!(m["data"]["message"]
        .as_str()
        .unwrap()
        .contains("fault injected"));
}

#[test]
fn recording_grows_while_running_and_stops() {
    let h = spawn(Config::default());
    let (mut c, _) = Raw::connect(&h);
    ok(&c.call("project_start_recording", json!({"project_id": 1})));
    std::thread::sleep(Duration::from_millis(300));
    let id = ok(&c.call("project_get_last_recording", json!({"project_id": 1})))["recording_id"]
        .as_i64()
        .unwrap();
    let running =
        ok(&c.call("recording_is_running", json!({"recording_id": id})))["running"].clone();
    assert_eq!(running, true);
    let n1 = ok(&c.call("recording_get_channel_data_count", rec_args(id, "mc")))["count"]
        .as_u64()
        .unwrap();
    assert!(n1 >= 250, "{n1} samples after 0.3 s at 1 kHz");
    ok(&c.call("project_stop_recording", json!({"project_id": 1})));
    let n2 = ok(&c.call("recording_get_channel_data_count", rec_args(id, "mc")))["count"].clone();
    std::thread::sleep(Duration::from_millis(100));
    let n3 = ok(&c.call("recording_get_channel_data_count", rec_args(id, "mc")))["count"].clone();
    assert_eq!(n2, n3, "a stopped recording does not grow");
}

#[test]
fn cpu_model_follows_a_busy_process() {
    // A child process that spins for a while: its tree's CPU time drives the power, 1.70 J per
    // CPU-second whatever share of a CPU the spinner gets on a loaded machine.
    let mut busy = Command::new("sh")
        .args(["-c", "i=0; while [ $i -lt 30000000 ]; do i=$((i+1)); done"])
        .spawn()
        .unwrap();
    let ran_ns = |pid: u32| -> u64 {
        let text = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).unwrap();
        text.split_whitespace().next().unwrap().parse().unwrap()
    };
    let h = spawn(Config {
        model: otii_sim::ModelConfig::Cpu {
            pid: otii_sim::PidSource::Pid(busy.id()),
            load_hz: 200.0,
            busy_cpus: 1.0,
        },
        ..Config::default()
    });
    let (mut c, hello) = Raw::connect(&h);
    assert_eq!(hello["data"]["power_model"], "cpu");
    let before = ran_ns(busy.id());
    ok(&c.call("project_start_recording", json!({"project_id": 1})));
    std::thread::sleep(Duration::from_millis(600));
    ok(&c.call("project_stop_recording", json!({"project_id": 1})));
    let after = ran_ns(busy.id());
    let _ = busy.kill();
    let _ = busy.wait();
    let info = ok(&c.call("recording_get_channel_info", rec_args(1, "mp"))).clone();
    let mut sargs = rec_args(1, "mp");
    sargs["from"] = json!(0.0);
    sargs["to"] = info["to"].clone();
    let s = ok(&c.call("recording_get_channel_statistics", sargs)).clone();
    // Mean power × the recording's length: its energy.
    let energy = s["average"].as_f64().unwrap() * info["to"].as_f64().unwrap();
    let cpu_s = (after - before) as f64 / 1e9;
    assert!(cpu_s > 0.01, "the spinner ran {cpu_s} CPU-s in 0.6 s");
    // The recording's energy is 1.70 W × the CPU-seconds the spinner ran while it was recorded;
    // the readings just outside the recording (before start, after stop) may move up to one
    // 5 ms slot of a CPU at each end, and the test's own readings of schedstat, a TCP round trip
    // away from the recording's start and stop, a few ms more (more on a loaded machine).
    let want = 1.70 * cpu_s;
    let slack = 1.70 * (0.030_f64).max(0.1 * cpu_s);
    assert!(
        (energy - want).abs() <= slack,
        "recorded {energy} J; the spinner ran {cpu_s} CPU-s in the recording: 1.70 × that = {want} J"
    );
}

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_otii-sim"))
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary on port 0 and returns it with the port it printed.
fn start_binary(extra: &[&str]) -> (Kill, u16) {
    let mut child = Command::new(bin())
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let v: Value = serde_json::from_str(&line).expect("first stdout line is JSON");
    assert_eq!(v["simulated"], true);
    let addr: std::net::SocketAddr = v["listening"].as_str().unwrap().parse().unwrap();
    (Kill(child), addr.port())
}

#[test]
fn binary_prints_its_port_and_writes_the_port_file() {
    let dir = tempfile::tempdir().unwrap();
    let pf = dir.path().join("port");
    let (_k, port) = start_binary(&["--port-file", pf.to_str().unwrap()]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !pf.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = std::fs::read_to_string(&pf).unwrap();
    assert_eq!(text.trim().parse::<u16>().unwrap(), port);
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut buf = [0u8; 20];
    s.read_exact(&mut buf).unwrap();
    assert!(buf.starts_with(b"{\""));
}

#[test]
fn binary_stops_on_sigterm_with_exit_130() {
    let (mut k, port) = start_binary(&[]);
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    assert!(Command::new("kill")
        .args(["-TERM", &k.0.id().to_string()])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(s) = k.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "otii-sim did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
}

#[test]
fn binary_refuses_bad_arguments_with_exit_2() {
    assert_cmd::Command::new(bin())
        .args(["--model", "cpu"])
        .assert()
        .code(2);
    assert_cmd::Command::new(bin())
        .args(["--rate", "0"])
        .assert()
        .code(2);
}

#[test]
fn official_python_client_conforms() {
    let python = testkit::venv().join("bin/python");
    assert!(
        python.exists(),
        "{} missing: run `make venv` (or `make test`)",
        python.display()
    );
    let (_k, port) = start_binary(&["--seed", "5"]);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance.py");
    let out = Command::new(python)
        .arg(script)
        .args(["--port", &port.to_string()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "conformance.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("MAIN_CURRENT: "), "{stdout}");
}

/// Mean power of a 0.6 s recording (the last one) on a fresh or reused connection.
fn record_mean_power(c: &mut Raw) -> f64 {
    ok(&c.call("project_start_recording", json!({"project_id": 1})));
    std::thread::sleep(Duration::from_millis(600));
    ok(&c.call("project_stop_recording", json!({"project_id": 1})));
    let last = ok(&c.call("project_get_last_recording", json!({"project_id": 1}))).clone();
    let id = last["recording_id"].as_i64().unwrap();
    let info = ok(&c.call("recording_get_channel_info", rec_args(id, "mp"))).clone();
    let mut sargs = rec_args(id, "mp");
    sargs["from"] = json!(0.0);
    sargs["to"] = info["to"].clone();
    ok(&c.call("recording_get_channel_statistics", sargs))["average"]
        .as_f64()
        .unwrap()
}

#[test]
fn cpu_model_rereads_the_pid_file_at_each_recording() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("gunicorn.pid");
    let mut spinner = Kill(
        Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .unwrap(),
    );
    let mut sleeper = Kill(Command::new("sleep").arg("30").spawn().unwrap());
    std::fs::write(&pid_file, format!("{}\n", spinner.0.id())).unwrap();
    let h = spawn(Config {
        model: otii_sim::ModelConfig::Cpu {
            pid: otii_sim::PidSource::File(pid_file.clone()),
            load_hz: 200.0,
            busy_cpus: 1.0,
        },
        ..Config::default()
    });
    let (mut c, _) = Raw::connect(&h);
    let busy = record_mean_power(&mut c);
    // The server was "restarted": the pid file now names an idle process.
    std::fs::write(&pid_file, format!("{}\n", sleeper.0.id())).unwrap();
    let idle = record_mean_power(&mut c);
    // Idle is 1.13 W; even a spinner starved by a busy machine lifts it by tens of mW, while
    // the mean of 600 noisy samples of an idle tree stays within a milliwatt or two of idle.
    assert!(idle < 1.135, "following the sleeping process: {idle} W");
    assert!(
        busy > idle + 0.03,
        "following the spinning process: {busy} W (idle {idle} W)"
    );
    // A pid file naming no process: the start is refused with a clear error.
    let _ = sleeper.0.kill();
    let _ = sleeper.0.wait();
    let m = c.call("project_start_recording", json!({"project_id": 1}));
    assert_eq!(err_code(&m), "Command failure");
    assert!(m["payload"]["message"]
        .as_str()
        .unwrap()
        .contains("no process"));
    let _ = spinner.0.kill();
}

#[test]
fn stall_fault_delays_only_its_command() {
    let h = spawn(Config {
        faults: vec![Fault::StallOn(
            "otii_get_active_project".into(),
            Duration::from_millis(400),
        )],
        ..Config::default()
    });
    let (mut c, _) = Raw::connect(&h);
    let t = Instant::now();
    ok(&c.call("otii_get_active_project", json!({})));
    assert!(
        t.elapsed() >= Duration::from_millis(400),
        "answered without the stall"
    );
    let t = Instant::now();
    ok(&c.call("otii_is_logged_in", json!({})));
    assert!(
        t.elapsed() < Duration::from_millis(400),
        "another command was stalled too"
    );
}
