//! Round-trips and error messages of the record formats.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{Cursor, Write};

use proptest::prelude::*;
use records::*;

fn run_record() -> RunRecord {
    RunRecord {
        schema: RUN_SCHEMA.into(),
        label: "3.12".into(),
        run: 1,
        run_id: Some("3.12-1".into()),
        started_at: "2024-02-21T14:13:00Z".into(),
        duration_s: 140.123456,
        recording_s: 141.5,
        sample_rate_hz: 10_000.0,
        samples: 1_415_000,
        power_min_w: 1.1333,
        power_max_w: 1.7003,
        power_avg_w: 1.2858,
        current_min_a: Some(0.2266),
        current_max_a: Some(0.34),
        current_avg_a: 0.2571,
        voltage_min_v: Some(4.9981),
        voltage_max_v: Some(5.0016),
        voltage_avg_v: 5.0,
        energy_j: 1.2858 * 140.123456,
        trace_energy_j: 181.9,
        meter_energy_j: None,
        meter_stats: None,
        trace: Some("2024-02-21 14:13:00.csv.xz".into()),
        recording: Some("2024-02-21 14:13:00".into()),
        meter: Meter::Otii,
        power_model: None,
        status: Status::Ok,
        reason: None,
        load: Some(LoadSummary {
            requests: 492,
            errors: 0,
            by_status: BTreeMap::from([
                ("200".into(), 252),
                ("302".into(), 120),
                ("404".into(), 120),
            ]),
            clients: Some(3),
        }),
        session: Some("s1".into()),
        load_start_s: Some(0.25),
        load_end_s: Some(140.373456),
        meter_clock: Some(MeterClock {
            load_start_s: 0.2502,
            load_end_s: 140.3736,
            offset_s: 0.0002,
        }),
        speed_probe: Some(SpeedProbe {
            median_ms: 1.25,
            samples: 220,
            workload: Some("python-dict-20000 CPython 3.11.2 /usr/bin/python3.11".into()),
        }),
    }
}

#[test]
fn run_record_uses_the_documented_field_names() {
    let v = serde_json::to_value(run_record()).unwrap();
    for key in [
        "schema",
        "label",
        "run",
        "started_at",
        "duration_s",
        "recording_s",
        "sample_rate_hz",
        "samples",
        "power_min_w",
        "power_max_w",
        "power_avg_w",
        "current_avg_a",
        "voltage_avg_v",
        "energy_j",
        "trace_energy_j",
        "trace",
        "meter",
        "status",
    ] {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    assert_eq!(v["schema"], "run/1");
    assert_eq!(v["meter"], "otii");
    assert_eq!(v["status"], "ok");
    assert_eq!(v["load"]["by_status"]["404"], 120);
    assert_eq!(v["speed_probe"]["median_ms"], 1.25);
    assert_eq!(v["speed_probe"]["samples"], 220);
    assert_eq!(
        v["speed_probe"]["workload"],
        "python-dict-20000 CPython 3.11.2 /usr/bin/python3.11"
    );
}

#[test]
fn a_speed_probe_without_a_workload_timed_the_builtin_one() {
    let p: SpeedProbe = serde_json::from_str(r#"{"median_ms": 1.5, "samples": 3}"#).unwrap();
    assert_eq!(p.workload, None);
    assert_eq!(p.workload(), SpeedProbe::BUILTIN);
    let v = serde_json::to_value(&p).unwrap();
    assert!(v.get("workload").is_none(), "{v}");
}

#[test]
fn request_record_uses_the_documented_field_names() {
    let r = RequestRecord {
        schema: REQUEST_SCHEMA.into(),
        run_id: "r1".into(),
        client: "c1".into(),
        user: "u".into(),
        seq: 3,
        step: Some("1".into()),
        method: "GET".into(),
        path: "/Ada%20Lovelace".into(),
        status: Some(200),
        start_s: 0.5,
        latency_ms: 12.25,
        bytes: Some(100),
        error: None,
    };
    let v = serde_json::to_value(&r).unwrap();
    for key in [
        "schema",
        "run_id",
        "client",
        "user",
        "seq",
        "method",
        "path",
        "status",
        "start_s",
        "latency_ms",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["schema"], "request/1");
}

#[test]
fn writer_refuses_a_non_finite_value_naming_the_field_and_writes_nothing() {
    let mut w = JsonLinesWriter::new(Vec::new());
    w.write(&run_record()).unwrap();
    let good = w.into_inner();

    type Spoil = fn(&mut RunRecord);
    let cases: [(&str, Spoil); 4] = [
        ("energy_j", |r| r.energy_j = f64::INFINITY),
        ("power_avg_w", |r| r.power_avg_w = f64::NAN),
        ("voltage_max_v", |r| {
            r.voltage_max_v = Some(f64::NEG_INFINITY)
        }),
        ("meter_stats.current_avg_a", |r| {
            r.meter_stats = Some(MeterStats {
                power_min_w: 1.0,
                power_max_w: 2.0,
                power_avg_w: 1.5,
                current_min_a: 0.2,
                current_max_a: 0.4,
                current_avg_a: f64::NAN,
                voltage_min_v: 5.0,
                voltage_max_v: 5.0,
                voltage_avg_v: 5.0,
            })
        }),
    ];
    for (field, spoil) in cases {
        let mut r = run_record();
        spoil(&mut r);
        let mut w = JsonLinesWriter::new(good.clone());
        let err = w.write(&r).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert_eq!(
            err.to_string(),
            format!("run/1 record not written: {field} is not a finite number")
        );
        assert_eq!(w.into_inner(), good, "nothing may be written for {field}");
    }

    let mut w = JsonLinesWriter::new(Vec::new());
    let req = RequestRecord {
        schema: REQUEST_SCHEMA.into(),
        run_id: "r1".into(),
        client: "c1".into(),
        user: "u".into(),
        seq: 1,
        step: None,
        method: "GET".into(),
        path: "/".into(),
        status: Some(200),
        start_s: 0.0,
        latency_ms: f64::INFINITY,
        bytes: None,
        error: None,
    };
    let err = w.write(&req).unwrap_err().to_string();
    assert_eq!(
        err,
        "request/1 record not written: latency_ms is not a finite number"
    );
    assert!(w.into_inner().is_empty());
}

#[test]
fn a_run_is_modelled_when_its_meter_is_simulated_or_it_names_a_power_model() {
    let mut r = run_record();
    r.meter = Meter::Otii;
    r.power_model = None;
    assert!(!r.is_modelled());
    r.power_model = Some("cpu".into());
    assert!(r.is_modelled());
    r.power_model = None;
    r.meter = Meter::OtiiSim;
    assert!(r.is_modelled());
}

#[test]
fn a_trace_written_by_the_layout_is_found_from_the_record_file_or_stdin() {
    let tmp = tempfile::tempdir().unwrap();
    let group = ResultsDir::new(tmp.path()).group("3.12");
    std::fs::create_dir_all(group.path()).unwrap();
    let mut rec = run_record();
    let name = "2024-02-21 14:13:00.csv.xz";
    std::fs::write(group.path().join(name), "").unwrap();
    rec.trace = Some(GroupDir::trace_ref(name));
    let runs = group.runs_jsonl();
    JsonLinesWriter::new(std::fs::File::create(&runs).unwrap())
        .write(&rec)
        .unwrap();
    let back: RunRecord = read_jsonl(
        std::io::BufReader::new(std::fs::File::open(&runs).unwrap()),
        runs.display().to_string(),
    )
    .next()
    .unwrap()
    .unwrap();
    let found = back.trace_path(Some(&runs)).unwrap();
    assert!(found.is_file(), "{}", found.display());
    assert_eq!(found, group.path().join(name));
    // From stdin, the same record's trace is relative to the current directory.
    assert_eq!(back.trace_path(None).unwrap(), std::path::Path::new(name));
    rec.trace = None;
    assert_eq!(rec.trace_path(Some(&runs)), None);
}

#[test]
fn reader_names_file_and_line_of_a_bad_record() {
    let mut text = serde_json::to_string(&run_record()).unwrap();
    text.push_str("\n\n{\"schema\":\"run/1\",\"label\":3}\n");
    let results: Vec<_> = read_jsonl::<_, RunRecord>(Cursor::new(text), "runs.jsonl").collect();
    assert_eq!(results.len(), 2);
    assert!(results[0].is_ok());
    let err = results[1].as_ref().unwrap_err().to_string();
    assert!(err.starts_with("runs.jsonl:3: not a valid record"), "{err}");
}

#[test]
fn reader_refuses_another_schema_with_a_clear_message() {
    let mut v = serde_json::to_value(run_record()).unwrap();
    v["schema"] = "run/9".into();
    let text = format!("{v}\n");
    let err = read_jsonl::<_, RunRecord>(Cursor::new(text), "x.jsonl")
        .next()
        .unwrap()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("schema is \"run/9\", expected \"run/1\""),
        "{err}"
    );
    // A request record fed to a run reader is named as such, not as a missing field.
    let req = "{\"schema\":\"request/1\",\"run_id\":\"a\"}\n";
    let err = read_jsonl::<_, RunRecord>(Cursor::new(req), "-")
        .next()
        .unwrap()
        .unwrap_err();
    assert!(err.to_string().contains("schema is \"request/1\""), "{err}");
}

#[test]
fn atomic_file_is_invisible_until_committed_and_removed_when_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("trace.csv.xz");
    let mut f = AtomicFile::create(&dest).unwrap();
    f.write_all(b"half").unwrap();
    assert!(!dest.exists());
    assert!(f.temp_path().exists());
    let tmp = f.temp_path().to_path_buf();
    drop(f);
    assert!(
        !tmp.exists() && !dest.exists(),
        "dropped file must leave nothing behind"
    );

    let mut f = AtomicFile::create(&dest).unwrap();
    f.write_all(b"whole").unwrap();
    f.commit().unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), b"whole");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn atomic_file_can_be_kept_under_another_name_instead() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("requests.jsonl");
    let partial = dir.path().join("requests.jsonl.partial");
    let mut f = AtomicFile::create(&dest).unwrap();
    f.write_all(b"so far").unwrap();
    let tmp = f.temp_path().to_path_buf();
    assert_eq!(f.commit_as(&partial).unwrap(), partial);
    assert_eq!(std::fs::read(&partial).unwrap(), b"so far");
    assert!(!dest.exists() && !tmp.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// `-o /dev/null` (or a FIFO) must never turn the device into a regular file: a destination
/// that is not a regular file is written in place, never renamed over. Tested on a FIFO made in
/// a temporary folder, read by a thread.
#[test]
fn atomic_file_writes_a_device_or_pipe_in_place_never_renames_over_it() {
    use std::io::Read;
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("out.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo failed");
    for keep_as_partial in [false, true] {
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                std::fs::File::open(fifo)
                    .unwrap()
                    .read_to_end(&mut got)
                    .unwrap();
                got
            })
        };
        let mut f = AtomicFile::create(&fifo).unwrap();
        assert_eq!(f.temp_path(), fifo.as_path());
        f.write_all(b"streamed").unwrap();
        let kept = if keep_as_partial {
            f.commit_as(dir.path().join("out.fifo.partial")).unwrap()
        } else {
            f.commit().unwrap()
        };
        assert_eq!(kept, fifo);
        assert_eq!(reader.join().unwrap(), b"streamed");
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "nothing but the FIFO: {names:?}");
    }
}

#[test]
fn broken_pipe_is_recognised_through_a_chain() {
    #[derive(Debug)]
    struct Wrap(std::io::Error);
    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "writing stdout")
        }
    }
    impl std::error::Error for Wrap {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    let e = Wrap(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
    assert!(is_broken_pipe(&e));
    let e = Wrap(std::io::Error::from(std::io::ErrorKind::NotFound));
    assert!(!is_broken_pipe(&e));
}

/// Physical quantities: finite, with the full range of mantissas (JSON has no NaN or infinity).
/// Magnitudes stay below about 1e149, so a product of two of them (energy = power × duration)
/// is finite too; non-finite values have their own test below.
fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        -1e6..1e6f64,
        (any::<i32>(), -150i32..140).prop_map(|(m, e)| m as f64 * 10f64.powi(e))
    ]
}

prop_compose! {
    fn arb_run()(label in "[ -~]{0,12}", run in any::<u32>(), dur in finite(), p in finite(),
                 samples in any::<u64>(), failed in any::<bool>(), reason in proptest::option::of("[^\u{0}]{0,20}"),
                 meter in prop_oneof![Just(Meter::Otii), Just(Meter::OtiiSim), Just(Meter::Log), Just(Meter::Table)],
                 trace in proptest::option::of("[a-z0-9 :.-]{1,30}"),
                 statuses in proptest::collection::btree_map("[1-5][0-9][0-9]", any::<u64>(), 0..4)) -> RunRecord {
        let mut r = run_record();
        r.label = label; r.run = run; r.duration_s = dur; r.power_avg_w = p;
        r.energy_j = RunRecord::study_energy_j(p, dur); r.samples = samples; r.meter = meter; r.trace = trace;
        r.status = if failed { Status::Failed } else { Status::Ok };
        r.reason = reason;
        r.load = Some(LoadSummary { requests: samples, errors: 0, by_status: statuses, clients: None });
        r
    }
}

proptest! {
    #[test]
    fn run_records_round_trip_through_json_lines(runs in proptest::collection::vec(arb_run(), 0..8)) {
        let mut w = JsonLinesWriter::new(Vec::new());
        for r in &runs { w.write(r).unwrap(); }
        let bytes = w.into_inner();
        prop_assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), runs.len());
        let back: Vec<RunRecord> = read_jsonl(Cursor::new(bytes), "-").collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(back, runs);
    }

    #[test]
    fn request_records_round_trip(path in "/[!-~]{0,60}", status in proptest::option::of(100u16..600),
                                  seq in any::<u32>(), start in finite(), lat in finite(), user in "[ -~]{0,20}") {
        let r = RequestRecord { schema: REQUEST_SCHEMA.into(), run_id: "x".into(), client: "c".into(), user,
            seq, step: None, method: "GET".into(), path, status, start_s: start, latency_ms: lat, bytes: None, error: None };
        let mut w = JsonLinesWriter::new(Vec::new());
        w.write(&r).unwrap();
        let back: Vec<RequestRecord> = read_jsonl(Cursor::new(w.into_inner()), "-").collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(back, vec![r]);
    }
}
