//! Issue 15: whose fault a failed capture was (exit 75 for the meter, server or network away,
//! 1 for the run's own failure), and a full disk stopping a capture with nothing half-written.

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use otii_sim::{Config, Fault};
use records::Status;
use testkit::SmallDisk;

use super::{bin, files, parse_record, preloaded, sim};

#[test]
fn an_unreachable_meter_exits_75_and_the_line_says_the_cause_first() {
    let port = testkit::free_port();
    let out = bin()
        .args([
            "--otii",
            &format!("127.0.0.1:{port}"),
            "--connect-timeout",
            "0.3",
        ])
        .args([
            "record",
            "--out",
            "/nonexistent-never-created",
            "--",
            "true",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing measured, no record");
    let prefix = format!("otii-capture: error: meter 127.0.0.1:{port} unreachable: ");
    assert!(stderr.starts_with(&prefix), "{stderr}");
    assert!(
        stderr.contains("attempts over") && stderr.lines().count() == 1,
        "{stderr}"
    );
}

#[test]
fn the_meter_dropping_mid_download_of_a_run_is_an_infrastructure_fault() {
    let h = sim(Config {
        faults: vec![Fault::DropAfterChunks(1)],
        ..Config::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["--otii", &h.addr().to_string(), "record", "--rate", "10000"])
        .args(["--chunk", "1000", "--out", dir.path().to_str().unwrap()])
        .args(["--", "sleep", "0.3"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    let r = parse_record(&out.stdout);
    assert_eq!(r.status, Status::Failed);
    assert!(
        r.reason
            .as_deref()
            .unwrap()
            .contains("closed the connection"),
        "{:?}",
        r.reason
    );
    assert!(
        stderr.contains("run not measured (infrastructure fault"),
        "{stderr}"
    );
    assert!(files(dir.path()).is_empty(), "{:?}", files(dir.path()));
}

#[test]
fn a_load_command_exiting_75_is_the_server_away_and_other_exits_are_the_runs() {
    let h = sim(Config::default());
    let dir = tempfile::tempdir().unwrap();
    let run = |code: u8| {
        bin()
            .args(["--otii", &h.addr().to_string(), "record", "--rate", "1000"])
            .args(["--out", dir.path().to_str().unwrap()])
            .args(["--", "sh", "-c", &format!("exit {code}")])
            .output()
            .unwrap()
    };
    let away = run(75);
    assert_eq!(away.status.code(), Some(75));
    let r = parse_record(&away.stdout);
    assert!(
        r.reason
            .as_deref()
            .unwrap()
            .starts_with("the load found the server away"),
        "{:?}",
        r.reason
    );
    let failed = run(1);
    assert_eq!(failed.status.code(), Some(1));
    assert_eq!(parse_record(&failed.stdout).status, Status::Failed);
}

/// The files in `dir` but the ballast that fills a [`SmallDisk`].
fn names(dir: &Path) -> Vec<String> {
    let mut v = files(dir);
    v.retain(|n| n != "ballast");
    v
}

#[test]
fn a_full_disk_while_streaming_the_trace_stops_with_no_record_and_no_file() {
    let Some(disk) = SmallDisk::mount("64k") else {
        return;
    };
    let h = preloaded(3.0, 10_000, vec![]);
    let out = bin()
        .args(["--otii", &h.addr().to_string(), "fetch"])
        .args(["--out", disk.path().to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty(), "the run is not recorded");
    let needle = format!("no space left on device writing {}/", disk.path().display());
    assert!(
        stderr.contains(&needle) && stderr.contains(".csv.xz"),
        "{stderr}"
    );
    assert!(names(disk.path()).is_empty(), "{:?}", names(disk.path()));
}

#[test]
fn a_full_disk_under_the_run_record_removes_the_trace() {
    let Some(disk) = SmallDisk::mount("64k") else {
        return;
    };
    disk.fill();
    let h = sim(Config::default());
    let traces = tempfile::tempdir().unwrap();
    let record: PathBuf = disk.path().join("run.jsonl");
    let out = StdCommand::new(env!("CARGO_BIN_EXE_otii-capture"))
        .args(["--otii", &h.addr().to_string(), "record", "--rate", "1000"])
        .args(["--out", traces.path().to_str().unwrap(), "--", "true"])
        .stdout(std::fs::File::create(&record).unwrap())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let needle = format!("no space left on device writing {}", record.display());
    assert!(stderr.contains(&needle), "{stderr}");
    assert_eq!(std::fs::metadata(&record).unwrap().len(), 0);
    assert!(
        files(traces.path()).is_empty(),
        "{:?}",
        files(traces.path())
    );
}

#[test]
fn a_full_disk_under_the_commands_output_stops_the_capture() {
    let Some(disk) = SmallDisk::mount("64k") else {
        return;
    };
    let h = sim(Config::default());
    let traces = tempfile::tempdir().unwrap();
    let log = disk.path().join("requests.jsonl");
    let out = bin()
        .args(["--otii", &h.addr().to_string(), "record", "--rate", "1000"])
        .args(["--out", traces.path().to_str().unwrap()])
        .args(["--stdout", log.to_str().unwrap()])
        .args([
            "--",
            "sh",
            "-c",
            "head -c 200000 /dev/zero | tr '\\0' x; echo",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    let needle = format!("no space left on device writing {}", log.display());
    assert!(stderr.contains(&needle), "{stderr}");
    assert!(names(disk.path()).is_empty(), "{:?}", names(disk.path()));
    assert!(files(traces.path()).is_empty());
}

/// A crashed capture leaves its recording running on the meter; the next capture stops it
/// (saying so) instead of failing with "a recording is already running".
#[test]
fn a_recording_left_running_by_a_crashed_capture_is_stopped_first() {
    let h = sim(Config::default());
    let mut stale =
        otii_capture::connect(&h.addr().to_string(), std::time::Duration::from_secs(5)).unwrap();
    stale.start_recording(1).unwrap();
    drop(stale);
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["--otii", &h.addr().to_string(), "record", "--rate", "1000"])
        .args(["--out", dir.path().to_str().unwrap(), "--", "sleep", "0.2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("a recording was already running on the meter")
            && stderr.contains("stopped it"),
        "{stderr}"
    );
    assert_eq!(parse_record(&out.stdout).status, Status::Ok);
}
