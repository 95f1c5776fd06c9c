//! energy-stats' readers meet anything (issue 15): the trace reader (plain CSV and `.csv.xz`,
//! truncated xz streams among them), the study's `log.txt` and the run tables (JSON Lines
//! mixing run records and `runs` rows, CSV through the `csv` crate), given arbitrary bytes or
//! valid files with bytes flipped, cut short or inserted, never panic; every error is one line
//! that names the file and the position (its line, or the byte of the xz stream); the valid
//! files still read whole.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use energy_stats::input::{read_csv_table, read_inputs, ReadOptions};
use energy_stats::trace::{parse_trace, parse_xz_trace};
use proptest::prelude::*;
use testkit::mutate::{apply, edits, Edit};

const TRACE: &str = ",MAIN_CURRENT,MAIN_VOLTAGE,MAIN_POWER\n\
    0,0.2266,4.9981,1.1333\n1,0.3400,5.0016,1.7003\n2,0.2571,5.0000,1.2858\n\
    3,0.25,5.0,1.25\r\n4,0.26,5.0,1.3\n";

const LOG: &str = "$ time poetry run python main.py\n\
    Clearing DB on remote server...\n\
    Starting scenario on three clients...\n\
    [<Response [200 OK]>, <Response [200 OK]>, <Response [200 OK]>]\n\
    Scenario took 0:02:20.123456\n\
    Done with scenario...\n\
    MAIN_CURRENT: 0.2266, 0.3400, 0.2571, 0.0501\n\
    MAIN_VOLTAGE: 4.9981, 5.0016, 5.0000\n\
    MAIN_POWER: 1.1333, 1.7003, 1.2858\n\
    Scenario took 1 day, 0:00:01.5\n\
    MAIN_POWER: 1.1, 1.7, 1.3\n\
    \n\
    real\t33m13.885s\n";

/// A run record (`run/1`, what otii-capture writes) and a `runs` row (`energy-stats-run/1`)
/// in one file, as `energy-stats runs DIR… >> FILE` and a capture's records may be.
const JSONL: &str = concat!(
    r#"{"schema":"run/1","label":"3.12","run":1,"run_id":"3.12-1","started_at":"2024-02-21T14:13:00Z","duration_s":140.1,"recording_s":141.5,"sample_rate_hz":10000.0,"samples":1415000,"power_min_w":1.13,"power_max_w":1.7,"power_avg_w":1.28,"current_avg_a":0.25,"voltage_avg_v":5.0,"energy_j":180.1,"trace_energy_j":181.9,"meter":"otii","status":"ok","load":{"requests":492,"errors":0,"by_status":{"200":252,"302":120}}}"#,
    "\n\n",
    r#"{"schema":"energy-stats-run/1","label":"3.8","run":2,"status":"ok","power_avg_w":1.4,"duration_s":100.0,"energy_j":140.0,"trace_power_avg_w":null,"trace_energy_j":null,"samples":null,"requests":10,"energy_per_request_j":14.0,"source":"table","origin":"t.csv:2","modelled":false}"#,
    "\r\n",
    r#"{"schema":"energy-stats-run/1","label":"idle","run":1,"status":"baseline","power_avg_w":1.0,"duration_s":10.0,"energy_j":10.0,"trace_power_avg_w":null,"trace_energy_j":null,"samples":null,"requests":null,"energy_per_request_j":null,"source":"run-record","origin":"baseline.jsonl:1","modelled":true,"reason":"why, \"quoted\""}"#,
    "\n"
);

/// The table `energy-stats runs --format csv` writes (quoted cells), read back without loss.
const ROWS_CSV: &str = "label,run,status,power_avg_w,duration_s,energy_j,trace_power_avg_w,trace_energy_j,samples,requests,energy_per_request_j,source,origin,modelled,reason,trace,sample_rate_hz\n\
    \"3.12, \"\"jit\"\"\",1,ok,1.5,100,150,,,,10,15,table,t.csv:2,false,,,\n\
    3.8,2,failed,,,,,,,,,log,\"log.txt:5\",false,\"no MAIN_POWER, truncated\",,\n";

/// A plain table: `label,power_w,duration_s`, `run` and `status` optional.
const PLAIN_CSV: &str =
    "run,label,power_avg_w,duration_s,status\n\n1,\"3.12, \"\"jit\"\"\",1.5,100,ok\n\
    2,3.12,1.6,101,warmup\r\n3, 3.8 ,1.4,99,failed\n";

/// Insertions likely to confuse the parser of traces, logs, JSON Lines and CSV tables (see [`testkit::mutate`]).
const TOKENS: &[&[u8]] = &[
    b"\n",
    b"\r",
    b"\"",
    b",",
    b"{",
    b"}",
    b"null",
    b"inf",
    b"NaN",
    b"-",
    b"1e308",
    b"9e307",
    b"\xff",
    b"\0",
    br"\r",
    b"Scenario took ",
    b"MAIN_POWER: ",
    br#""schema":"run/1","#,
];

/// Lines of `bytes` as an editor counts them (a last line without `\n` counts).
fn lines(bytes: &[u8]) -> usize {
    bytes.split(|&c| c == b'\n').count().max(1)
}

/// Where an error says it is: `NAME:LINE: …`, or `NAME: byte N of the xz stream: …`.
#[derive(Debug, PartialEq)]
enum At {
    Line(usize),
    Byte(u64),
}

/// Checks that `text` is one line naming `name` and a position; returns the position.
fn position(text: &str, name: &str) -> Result<At, TestCaseError> {
    prop_assert!(
        !text.contains('\n') && !text.contains('\r'),
        "not one line: {text:?}"
    );
    let rest = text.strip_prefix(name);
    prop_assert!(rest.is_some(), "names no file: {text}");
    let rest = rest.unwrap();
    if let Some(b) = rest.strip_prefix(": byte ") {
        let n = b.split(' ').next().and_then(|n| n.parse().ok());
        return n
            .map(At::Byte)
            .ok_or_else(|| TestCaseError::fail(format!("names no byte: {text}")));
    }
    let line = rest
        .strip_prefix(':')
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.parse().ok());
    line.map(At::Line)
        .ok_or_else(|| TestCaseError::fail(format!("names no line: {text}")))
}

/// Checks the error names a line of `bytes`.
fn names_a_line(text: &str, name: &str, bytes: &[u8]) -> Result<(), TestCaseError> {
    match position(text, name)? {
        At::Line(n) => prop_assert!(
            (1..=lines(bytes)).contains(&n),
            "line {n} of {}: {text}",
            lines(bytes)
        ),
        At::Byte(_) => prop_assert!(false, "a byte for a text file: {text}"),
    }
    Ok(())
}

/// The trace reader on text: a summary with samples and a finite mean, or one error line.
fn check_trace_text(bytes: &[u8]) -> Result<(), TestCaseError> {
    match parse_trace(bytes, Path::new("t.csv")) {
        Ok(s) => prop_assert!(
            s.samples > 0 && s.mean_w().is_finite(),
            "{} samples, mean {}",
            s.samples,
            s.mean_w()
        ),
        Err(e) => names_a_line(&e.to_string(), "t.csv", bytes)?,
    }
    Ok(())
}

fn xz(text: &[u8]) -> Vec<u8> {
    let mut enc = xz2::write::XzEncoder::new(Vec::new(), 1);
    enc.write_all(text).unwrap();
    enc.finish().unwrap()
}

fn trace_xz() -> &'static [u8] {
    static XZ: OnceLock<Vec<u8>> = OnceLock::new();
    XZ.get_or_init(|| xz(TRACE.as_bytes()))
}

/// The xz reader: a summary, a CSV error naming a line of what the stream held, or an xz
/// error naming a byte of the file.
fn check_trace_xz(bytes: &[u8]) -> Result<Option<u64>, TestCaseError> {
    match parse_xz_trace(bytes, Path::new("t.csv.xz")) {
        Ok(s) => {
            prop_assert!(s.samples > 0 && s.mean_w().is_finite());
            Ok(Some(s.samples))
        }
        Err(e) => {
            let text = e.to_string();
            match position(&text, "t.csv.xz")? {
                At::Byte(b) => prop_assert!(b <= bytes.len() as u64, "byte {b}: {text}"),
                At::Line(n) => prop_assert!(n >= 1, "{text}"),
            }
            Ok(None)
        }
    }
}

/// A folder for one case: files are written under it and read through [`read_inputs`].
fn case_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn opts(keep_going: bool) -> ReadOptions {
    ReadOptions {
        keep_going,
        ..ReadOptions::default()
    }
}

/// Reads `path` as an input; every error is one line naming `path` and a line of `bytes`;
/// with `--keep-going`, so is every failed run's reason and origin (a `runs` row keeps the
/// origin and reason it was written with: those are data); every run that counts has finite
/// numbers.
fn check_input(path: &Path, bytes: &[u8]) -> Result<(), TestCaseError> {
    let name = path.display().to_string();
    for keep_going in [false, true] {
        match read_inputs(&[path.to_path_buf()], &opts(keep_going)) {
            Ok(data) => {
                for r in data.groups.iter().flat_map(|g| &g.runs) {
                    match &r.failed {
                        // What the reader said; a row's own reason is data.
                        Some(why) if r.origin.starts_with(&name) => {
                            prop_assert!(!why.contains('\n') && !why.contains('\r'), "{why:?}");
                            names_a_line(&r.origin, &name, bytes)?;
                        }
                        Some(_) => {}
                        None => prop_assert!(
                            r.power_w.is_finite()
                                && r.duration_s.is_finite()
                                && r.energy_j.is_finite(),
                            "{r:?}"
                        ),
                    }
                }
            }
            Err(e) => names_a_line(&e.to_string(), &name, bytes)?,
        }
    }
    Ok(())
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn the_valid_files_read_whole() {
    let s = parse_trace(TRACE.as_bytes(), Path::new("t.csv")).unwrap();
    assert_eq!(s.samples, 5);
    let z = parse_xz_trace(trace_xz(), Path::new("t.csv.xz")).unwrap();
    assert_eq!(z, s);

    let t = case_dir();
    let group = t.path().join("minitwit312");
    std::fs::create_dir(&group).unwrap();
    let log = write(&group, "log.txt", LOG.as_bytes());
    let d = read_inputs(&[log], &opts(false)).unwrap();
    assert_eq!(d.groups.len(), 1);
    assert_eq!(d.groups[0].label, "3.12");
    assert_eq!(d.groups[0].runs.len(), 2);
    assert_eq!(d.groups[0].runs[1].duration_s, 86_401.5);

    let runs = write(t.path(), "runs.jsonl", JSONL.as_bytes());
    let d = read_inputs(&[runs], &opts(false)).unwrap();
    let n: usize = d.groups.iter().map(|g| g.runs.len()).sum();
    assert_eq!((n, d.baseline.len()), (2, 1));

    let rows = write(t.path(), "rows.csv", ROWS_CSV.as_bytes());
    let d = read_inputs(&[rows], &opts(false)).unwrap();
    let runs: Vec<_> = d.groups.iter().flat_map(|g| &g.runs).collect();
    assert_eq!(runs.len(), 2);
    assert!(runs
        .iter()
        .any(|r| r.label == "3.12, \"jit\"" && r.energy_j == 150.0));
    assert!(runs
        .iter()
        .any(|r| r.failed.as_deref() == Some("no MAIN_POWER, truncated")));

    let plain = read_csv_table(PLAIN_CSV, "t.csv", &opts(false)).unwrap();
    assert_eq!(plain.len(), 3);
    assert_eq!(plain[0].origin, "t.csv:3");
    assert!(plain[1].warmup && plain[2].failed.is_some());
    assert_eq!(plain[2].label, "3.8");
}

#[test]
fn every_cut_of_the_xz_stream_is_an_error_naming_a_byte() {
    let z = trace_xz();
    for cut in 0..z.len() {
        let e = parse_xz_trace(&z[..cut], Path::new("t.csv.xz"))
            .expect_err("a truncated stream must not read as a shorter trace");
        let text = e.to_string();
        let at = position(&text, "t.csv.xz").unwrap();
        assert!(matches!(at, At::Byte(b) if b <= cut as u64), "{text}");
    }
}

proptest! {
    #[test]
    fn mutated_csv_traces_never_panic_and_errors_name_file_and_line(edits in edits(TOKENS)) {
        check_trace_text(&apply(TRACE.as_bytes(), &edits))?;
    }

    #[test]
    fn arbitrary_bytes_as_a_trace_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        check_trace_text(&bytes)?;
        check_trace_xz(&bytes)?;
    }

    #[test]
    fn mutated_xz_traces_never_panic_and_errors_name_file_and_byte(edits in edits(TOKENS)) {
        let bytes = apply(trace_xz(), &edits);
        let read = check_trace_xz(&bytes)?;
        // A stream cut short never reads as a shorter trace.
        if edits.iter().all(|e| matches!(e, Edit::Truncate(_))) && bytes.len() < trace_xz().len() {
            prop_assert_eq!(read, None);
        }
    }

    #[test]
    fn xz_of_a_mutated_trace_errors_name_a_line(edits in edits(TOKENS)) {
        let text = apply(TRACE.as_bytes(), &edits);
        let plain = parse_trace(&text[..], Path::new("t.csv"));
        let packed = parse_xz_trace(&xz(&text)[..], Path::new("t.csv"));
        match (plain, packed) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
            (a, b) => prop_assert!(false, "plain {a:?}, xz {b:?}"),
        }
    }

    #[test]
    fn traces_of_any_finite_samples_give_a_finite_mean_or_name_a_line(
        values in proptest::collection::vec(proptest::num::f64::NORMAL | proptest::num::f64::ZERO, 1..20)
    ) {
        let mut text = String::from(",MAIN_CURRENT,MAIN_VOLTAGE,MAIN_POWER\n");
        for (i, v) in values.iter().enumerate() {
            text += &format!("{i},0.1,5.0,{v:e}\n");
        }
        check_trace_text(text.as_bytes())?;
    }

    #[test]
    fn mutated_logs_never_panic_and_errors_name_file_and_line(edits in edits(TOKENS)) {
        let t = case_dir();
        let bytes = apply(LOG.as_bytes(), &edits);
        check_input(&write(t.path(), "log.txt", &bytes), &bytes)?;
    }

    #[test]
    fn arbitrary_logs_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let t = case_dir();
        check_input(&write(t.path(), "log.txt", &bytes), &bytes)?;
    }

    #[test]
    fn mutated_jsonl_tables_never_panic_and_errors_name_file_and_line(edits in edits(TOKENS)) {
        let t = case_dir();
        let bytes = apply(JSONL.as_bytes(), &edits);
        // Given as a file, and as a group folder's runs.jsonl (read as a stream).
        check_input(&write(t.path(), "t.jsonl", &bytes), &bytes)?;
        let group = t.path().join("minitwit312");
        std::fs::create_dir(&group).unwrap();
        let runs = write(&group, "runs.jsonl", &bytes);
        let name = runs.display().to_string();
        for keep_going in [false, true] {
            if let Err(e) = read_inputs(std::slice::from_ref(&group), &opts(keep_going)) {
                names_a_line(&e.to_string(), &name, &bytes)?;
            }
        }
    }

    #[test]
    fn mutated_csv_tables_never_panic_and_errors_name_file_and_line(
        edits in edits(TOKENS),
        rows in any::<bool>(),
    ) {
        let t = case_dir();
        let valid = if rows { ROWS_CSV } else { PLAIN_CSV };
        let bytes = apply(valid.as_bytes(), &edits);
        check_input(&write(t.path(), "t.csv", &bytes), &bytes)?;
    }

    #[test]
    fn arbitrary_tables_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let t = case_dir();
        check_input(&write(t.path(), "t.txt", &bytes), &bytes)?;
        if let Ok(text) = std::str::from_utf8(&bytes) {
            for keep_going in [false, true] {
                if let Err(e) = read_csv_table(text, "-", &opts(keep_going)) {
                    names_a_line(&e.to_string(), "-", &bytes)?;
                }
            }
        }
    }
}
