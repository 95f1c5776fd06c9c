//! otii-capture against a real otii-sim on 127.0.0.1 (in-process, port 0): the client, the
//! streaming download, the binary's record/fetch, and its error paths.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use otii_capture::{connect, download, Fetch, XzSettings};
use otii_protocol::{Channel, MAIN_CHANNELS};
use otii_sim::{Config, Fault, Server, ServerHandle};
use records::{Meter, RunRecord, Status};

fn sim(cfg: Config) -> ServerHandle {
    Server::spawn_loopback(cfg).unwrap()
}

fn preloaded(seconds: f64, rate: u32, faults: Vec<Fault>) -> ServerHandle {
    sim(Config {
        preload_s: Some(seconds),
        rate_hz: rate,
        faults,
        ..Config::default()
    })
}

fn bin() -> assert_cmd::Command {
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_otii-capture"))
}

#[path = "capture/faults.rs"]
mod faults;
#[path = "capture/timebase.rs"]
mod timebase;

/// Runs the binary with `args`, expects exit 1 with `needle` in stderr, returns stdout.
fn expect_failure(args: &[&str], needle: &str) -> Vec<u8> {
    expect_exit(1, args, needle)
}

/// Runs the binary with `args`, expects exit `code` with `needle` in stderr, returns stdout.
fn expect_exit(code: i32, args: &[&str], needle: &str) -> Vec<u8> {
    let out = bin().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
    out.stdout
}

fn decompress(p: &Path) -> String {
    let mut s = String::new();
    xz2::read::XzDecoder::new_multi_decoder(std::fs::File::open(p).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    s
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn parse_record(stdout: &[u8]) -> RunRecord {
    let text = String::from_utf8_lossy(stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "stdout must be exactly one run record: {text}"
    );
    serde_json::from_str(lines[0]).unwrap()
}

/// A client, the first device, the last recording and its download into a fresh directory.
struct Fetched {
    c: otii_capture::Client<std::net::TcpStream>,
    dev: otii_protocol::reply::Device,
    rec: otii_protocol::reply::RecordingInfo,
    dir: tempfile::TempDir,
    dl: otii_capture::Download,
}

/// Downloads `h`'s last recording (`mc mv mp`, `chunk` values per request).
fn fetch_last(h: &ServerHandle, chunk: u64) -> Fetched {
    let mut c = connect(&h.addr().to_string(), Duration::from_secs(5)).unwrap();
    let dev = c.devices(1.0).unwrap().remove(0);
    let rec = c.last_recording(1).unwrap().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fetch = Fetch {
        channels: MAIN_CHANNELS.to_vec(),
        out_dir: dir.path().to_owned(),
        chunk,
        xz: XzSettings::default(),
    };
    let dl = download(
        &mut c,
        &dev.device_id,
        &rec,
        &fetch,
        &procs::Interrupt::new(),
    )
    .unwrap();
    Fetched {
        c,
        dev,
        rec,
        dir,
        dl,
    }
}

#[test]
fn download_streams_the_study_layout_with_exact_values() {
    let h = preloaded(5.0, 10_000, vec![]);
    let Fetched {
        mut c,
        dev,
        rec,
        dir,
        dl,
    } = fetch_last(&h, 40_000);
    assert!(c.info().simulated);
    assert_eq!(dl.samples, 50_000);
    assert_eq!(dl.file_name, format!("{}.csv.xz", rec.name));
    assert_eq!(files(dir.path()), vec![dl.file_name.clone()]);
    let text = decompress(&dir.path().join(&dl.file_name));
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(",MAIN_CURRENT,MAIN_VOLTAGE,MAIN_POWER"));
    // The trace holds exactly what the server sent, row by row.
    let mp = c
        .data(
            rec.recording_id,
            &dev.device_id,
            Channel::MainPower,
            0,
            50_000,
        )
        .unwrap()
        .values;
    let mut sum = 0.0;
    for (i, line) in lines.enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f[0], i.to_string());
        let (cur, v, p): (f64, f64, f64) = (
            f[1].parse().unwrap(),
            f[2].parse().unwrap(),
            f[3].parse().unwrap(),
        );
        assert_eq!(p, mp[i], "row {i}");
        assert_eq!(p as f32, cur as f32 * v as f32, "row {i}: P = I × V");
        sum += p;
    }
    let (mean, n) = (sum / 50_000.0, dl.stats[2].1.n);
    assert_eq!(n, 50_000);
    assert!((dl.stats[2].1.mean() - mean).abs() < 1e-12);
    // The meter's own statistics agree with the samples.
    let info = c
        .channel_info(rec.recording_id, &dev.device_id, Channel::MainPower)
        .unwrap();
    let st = c
        .channel_statistics(
            rec.recording_id,
            &dev.device_id,
            Channel::MainPower,
            info.from,
            info.to,
        )
        .unwrap();
    assert!(
        (st.average - mean).abs() < 1e-12
            && st.min == dl.stats[2].1.min
            && st.max == dl.stats[2].1.max
    );
    assert!((dl.trace_energy_j.unwrap() - sum / 10_000.0).abs() < 1e-9);
}

/// A real Otii sends no progress message during downloads, but a client must still skip one
/// wherever it comes: with otii-sim's `progress` fault before every data answer, the trace is
/// the same as without.
#[test]
fn progress_messages_before_data_answers_are_skipped() {
    let trace = |faults: Vec<Fault>| {
        let h = preloaded(2.5, 10_000, faults);
        let f = fetch_last(&h, 10_000);
        assert_eq!(f.dl.samples, 25_000);
        decompress(&f.dir.path().join(&f.dl.file_name))
    };
    let with_progress = trace(vec![Fault::ProgressBeforeData]);
    assert_eq!(with_progress.lines().count(), 25_001);
    assert!(
        with_progress == trace(vec![]),
        "progress messages changed the trace"
    );
}

#[test]
fn record_runs_the_command_and_reads_its_summary() {
    let h = sim(Config::default());
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("logs").join("requests.jsonl");
    let out = bin()
        .args(["--otii", &h.addr().to_string(), "record", "--label", "3.12", "--run", "2", "--rate", "1000"])
        .args(["--out", dir.path().join("traces").to_str().unwrap(), "--stdout", log.to_str().unwrap()])
        .args(["--", "sh", "-c"])
        .arg(r#"echo '{"schema":"request/1","seq":1}'; sleep 0.6; echo '{"duration_s":0.5,"clients":["a","b","c"],"requests":492,"errors":0,"by_status":{"200":400,"302":92}}'"#)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let r = parse_record(&out.stdout);
    assert_eq!((r.label.as_str(), r.run, r.status), ("3.12", 2, Status::Ok));
    assert_eq!(
        r.duration_s, 0.5,
        "the summary's duration_s is the scenario time"
    );
    assert!(
        r.recording_s >= 0.6 && r.recording_s < 5.0,
        "recording {} s",
        r.recording_s
    );
    assert_eq!(r.sample_rate_hz, 1000.0);
    assert_eq!(r.meter, Meter::OtiiSim);
    assert_eq!(r.power_model.as_deref(), Some("synthetic"));
    let load = r.load.clone().unwrap();
    assert_eq!(
        (load.requests, load.errors, load.clients),
        (492, 0, Some(3))
    );
    assert_eq!(r.energy_j, r.power_avg_w * 0.5);
    let ms = r.meter_stats.unwrap();
    assert!((ms.power_avg_w - r.power_avg_w).abs() < 1e-12);
    assert!((r.meter_energy_j.unwrap() - r.trace_energy_j).abs() < 1e-9);
    let trace = r.trace.clone().unwrap();
    assert_eq!(trace, format!("{}.csv.xz", r.recording.clone().unwrap()));
    let rows = decompress(&dir.path().join("traces").join(&trace))
        .lines()
        .count() as u64;
    assert_eq!(rows, r.samples + 1);
    for prefix in ["MAIN_CURRENT: ", "MAIN_VOLTAGE: ", "MAIN_POWER: "] {
        assert!(
            stderr.lines().any(|l| l.starts_with(prefix)),
            "no {prefix} line in {stderr}"
        );
    }
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 2);
}

#[test]
fn failed_command_gives_a_failed_record_but_keeps_the_trace() {
    let h = sim(Config::default());
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["--otii", &h.addr().to_string(), "record", "--rate", "1000"])
        .args([
            "--out",
            dir.path().to_str().unwrap(),
            "--",
            "sh",
            "-c",
            "sleep 0.2; exit 3",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r = parse_record(&out.stdout);
    assert_eq!(r.status, Status::Failed);
    assert!(
        r.reason.as_deref().unwrap().contains("exit"),
        "{:?}",
        r.reason
    );
    assert!(
        r.duration_s >= 0.2,
        "the scenario time is the command's wall time"
    );
    let trace = r.trace.unwrap();
    assert!(dir.path().join(trace).exists());
}

#[test]
fn dropped_connection_mid_download_names_channel_and_index() {
    // 3 s at 10 kHz, 10,000-value chunks: chunk 4 is the 2nd of mc... the connection dies at
    // the 5th data request: channel mv, samples from 10,000.
    let h = preloaded(3.0, 10_000, vec![Fault::DropAfterChunks(4)]);
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args([
            "--otii",
            &h.addr().to_string(),
            "fetch",
            "--chunk",
            "10000",
            "--out",
            dir.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    // Issue 15: the meter going away is an infrastructure fault, exit 75 (was 1).
    assert_eq!(out.status.code(), Some(75));
    let r = parse_record(&out.stdout);
    assert_eq!(r.status, Status::Failed);
    let reason = r.reason.unwrap();
    assert!(
        reason.contains("channel mv") && reason.contains("sample 10000 of 30000"),
        "{reason}"
    );
    assert!(r.trace.is_none());
    assert!(
        files(dir.path()).is_empty(),
        "a failed download leaves no file: {:?}",
        files(dir.path())
    );
}

#[test]
fn no_device_is_a_clear_error() {
    let h = sim(Config {
        faults: vec![Fault::NoDevices],
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let (addr, out) = (
        h.addr().to_string(),
        dir.path().to_str().unwrap().to_owned(),
    );
    // Issue 15: no Arc is the meter away, an infrastructure fault, exit 75 (was 1).
    let stdout = expect_exit(
        75,
        &["--otii", &addr, "fetch", "--out", &out],
        "no Arc or Ace connected",
    );
    assert!(stdout.is_empty());
}

#[test]
fn error_response_is_shown_with_code_and_message() {
    let h = sim(Config {
        faults: vec![Fault::ErrorOn("project_start_recording".into())],
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let (addr, out) = (
        h.addr().to_string(),
        dir.path().to_str().unwrap().to_owned(),
    );
    expect_failure(
        &["--otii", &addr, "record", "--out", &out, "--", "true"],
        "project_start_recording: Command failure: fault injected",
    );
}

#[test]
fn connect_retries_until_the_server_is_up() {
    let port = testkit::free_port();
    let starter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(700));
        Server::bind(Config {
            listen: format!("127.0.0.1:{port}").parse().unwrap(),
            ..Config::default()
        })
        .unwrap()
        .spawn()
        .unwrap()
    });
    let out = bin()
        .args([
            "--otii",
            &format!("127.0.0.1:{port}"),
            "--connect-timeout",
            "10",
            "devices",
        ])
        .output()
        .unwrap();
    let _h = starter.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["type"], "Arc");
}

#[test]
fn connect_gives_up_with_a_clear_error() {
    let port = testkit::free_port();
    let addr = format!("127.0.0.1:{port}");
    // Issue 15: the meter unreachable is an infrastructure fault, exit 75 (was 1).
    expect_exit(
        75,
        &["--otii", &addr, "--connect-timeout", "0.5", "devices"],
        "cannot connect to the Otii TCP server",
    );
}

#[test]
fn refetch_by_id_reproduces_the_same_trace() {
    let h = preloaded(2.0, 10_000, vec![]);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for (dir, which) in [(&a, "last"), (&b, "1")] {
        bin()
            .args([
                "--otii",
                &h.addr().to_string(),
                "fetch",
                "--recording",
                which,
                "--xz-threads",
                "1",
            ])
            .args(["--out", dir.path().to_str().unwrap()])
            .assert()
            .success();
    }
    let (fa, fb) = (files(a.path()), files(b.path()));
    assert_eq!(fa, fb);
    assert_eq!(
        decompress(&a.path().join(&fa[0])),
        decompress(&b.path().join(&fb[0]))
    );
    bin()
        .args(["--otii", &h.addr().to_string(), "fetch", "--recording", "9"])
        .args(["--out", a.path().to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("no recording 9"));
}

#[test]
fn python_reads_the_trace_writes_floats_alike_and_agrees_on_mean_power() {
    let venv = testkit::venv();
    let h = preloaded(3.0, 10_000, vec![]);
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args([
            "--otii",
            &h.addr().to_string(),
            "fetch",
            "--out",
            dir.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let r = parse_record(&out.stdout);
    let path: PathBuf = dir.path().join(r.trace.unwrap());
    // The study's readers used Python's lzma (through pandas): a multi-block stream must read.
    let script = "import csv,io,lzma,math,sys\n\
        rows=list(csv.reader(io.TextIOWrapper(lzma.open(sys.argv[1]))))\n\
        assert rows[0]==['','MAIN_CURRENT','MAIN_VOLTAGE','MAIN_POWER'], rows[0]\n\
        p=[float(r[3]) for r in rows[1:]]\n\
        bad=[c for r in rows[1:] for c in r[1:] if repr(float(c))!=c]\n\
        assert not bad, ('not as Python writes floats', bad[:5])\n\
        assert [r[0] for r in rows[1:]]==[str(i) for i in range(len(p))]\n\
        print(len(p), repr(math.fsum(p)/len(p)))";
    let py = Command::new(venv.join("bin/python"))
        .args(["-c", script])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let text = String::from_utf8_lossy(&py.stdout);
    let mut it = text.split_whitespace();
    assert_eq!(it.next().unwrap().parse::<u64>().unwrap(), 30_000);
    let mean: f64 = it.next().unwrap().parse().unwrap();
    assert!(
        (mean - r.power_avg_w).abs() < 1e-12,
        "python {mean} vs record {}",
        r.power_avg_w
    );
}

#[test]
fn interrupt_stops_the_recording_and_exits_130() {
    let h = sim(Config::default());
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_otii-capture"))
        .args(["--otii", &h.addr().to_string(), "record", "--rate", "1000"])
        .args(["--out", dir.path().to_str().unwrap(), "--", "sleep", "30"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let t0 = std::time::Instant::now();
    assert!(Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "the command was not stopped"
    );
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = parse_record(&out.stdout);
    assert_eq!(r.status, Status::Failed);
    assert!(r.reason.unwrap().starts_with("interrupted"));
    // The simulator's recording was stopped: a new one can start.
    let mut c = connect(&h.addr().to_string(), Duration::from_secs(5)).unwrap();
    c.start_recording(1).unwrap();
    c.stop_recording(1).unwrap();
    assert!(files(dir.path()).is_empty());
}

#[test]
fn floats_are_written_as_cpython_repr_writes_them() {
    let venv = testkit::venv();
    // f32 values widened to f64 (what an Arc reports; many sit on 17-digit ties) and raw f64s.
    let mut s = 0x2545_F491_4F6C_DD1Du64;
    let mut text = String::new();
    for i in 0..200_000 {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let x = if i % 2 == 0 {
            f64::from(f32::from_bits((s >> 32) as u32))
        } else {
            f64::from_bits(s)
        };
        if x.is_finite() {
            text.push_str(&otii_capture::pyfloat::repr(x));
            text.push('\n');
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("floats.txt");
    std::fs::write(&f, text).unwrap();
    let script = "import sys\n\
        bad=[l for l in open(sys.argv[1]).read().split() if repr(float(l))!=l]\n\
        print(len(bad), bad[:5])";
    let py = Command::new(venv.join("bin/python"))
        .args(["-c", script])
        .arg(&f)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&py.stdout);
    assert!(
        py.status.success() && out.starts_with("0 "),
        "differs from CPython: {out}"
    );
}

#[test]
fn configure_sets_channels_and_rate_on_the_first_device() {
    let h = sim(Config::default());
    let addr = h.addr().to_string();
    bin()
        .args([
            "--otii",
            &addr,
            "configure",
            "--channels",
            "mc,vb",
            "--rate",
            "2000",
        ])
        .assert()
        .success()
        .stderr(predicates::str::contains("mc,vb enabled at 2000 Hz"));
    let mut c = connect(&addr, Duration::from_secs(5)).unwrap();
    let dev = c.devices(1.0).unwrap().remove(0);
    assert_eq!(
        c.sample_rate(&dev.device_id, Channel::Vbus).unwrap(),
        2000.0
    );
    assert_eq!(
        c.sample_rate(&dev.device_id, Channel::MainVoltage).unwrap(),
        1000.0
    );
    bin()
        .args(["--otii", &addr, "configure", "--rate", "60000"])
        .assert()
        .code(2);
}
