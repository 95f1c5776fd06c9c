//! The JSON Lines readers meet anything (issue 15): arbitrary bytes, and valid record files
//! with bytes flipped, cut short or inserted, never panic; every error is one line that names
//! the file and the line; the valid files still read whole.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;

use proptest::prelude::*;
use records::{read_jsonl, RequestRecord, RunRecord};
use testkit::mutate::{apply, edits};

const RUNS: &str = concat!(
    r#"{"schema":"run/1","label":"3.12","run":1,"run_id":"3.12-1","started_at":"2024-02-21T14:13:00Z","duration_s":140.1,"recording_s":141.5,"sample_rate_hz":10000.0,"samples":1415000,"power_min_w":1.13,"power_max_w":1.7,"power_avg_w":1.28,"current_avg_a":0.25,"voltage_avg_v":5.0,"energy_j":180.1,"trace_energy_j":181.9,"trace":"2024-02-21 14:13:00.csv.xz","meter":"otii","status":"ok","load":{"requests":492,"errors":0,"by_status":{"200":252,"302":120}}}"#,
    "\n\n",
    r#"{"schema":"run/1","label":"pypy3.9","run":2,"started_at":"2024-02-21T14:20:00Z","duration_s":90.5,"recording_s":91.0,"sample_rate_hz":10000.0,"samples":910000,"power_min_w":1.1,"power_max_w":1.6,"power_avg_w":1.3,"current_avg_a":0.26,"voltage_avg_v":5.0,"energy_j":117.6,"trace_energy_j":118.0,"meter":"otii-sim","power_model":"cpu","status":"failed","reason":"meter 127.0.0.1:1905 unreachable"}"#,
    "\n"
);

const REQUESTS: &str = concat!(
    r#"{"schema":"request/1","run_id":"r1","client":"c1","user":"u","seq":1,"step":"1","method":"GET","path":"/Ada%20Lovelace","status":200,"start_s":0.5,"latency_ms":12.25,"bytes":100}"#,
    "\r\n",
    r#"{"schema":"request/1","run_id":"r1","client":"c1","user":"u","seq":2,"method":"POST","path":"/login","start_s":0.6,"latency_ms":3.0,"error":"cannot connect"}"#,
    "\n"
);

/// Insertions likely to confuse the parser of JSON Lines records (see [`testkit::mutate`]).
const TOKENS: &[&[u8]] = &[
    b"\n",
    b"\"",
    b"{",
    b"}",
    b",",
    b"null",
    b"1e999",
    b"\xff",
    br#""schema":"run/2","#,
];

/// Reads every record of `bytes`; checks each error names `name:LINE` on one line.
fn read_all<T>(bytes: &[u8], name: &str) -> Result<usize, TestCaseError>
where
    T: serde::de::DeserializeOwned + records::Versioned,
{
    let lines = bytes.split(|&c| c == b'\n').count();
    let mut ok = 0;
    for item in read_jsonl::<_, T>(Cursor::new(bytes), name) {
        match item {
            Ok(_) => ok += 1,
            Err(e) => {
                let text = e.to_string();
                prop_assert!(!text.contains('\n'), "two lines: {text:?}");
                let rest = text.strip_prefix(&format!("{name}:"));
                prop_assert!(rest.is_some(), "names no file: {text}");
                let line: usize = rest
                    .unwrap()
                    .split(':')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| TestCaseError::fail(format!("names no line: {text}")))?;
                prop_assert!(
                    (1..=lines).contains(&line),
                    "line {line} of {lines}: {text}"
                );
            }
        }
    }
    Ok(ok)
}

#[test]
fn the_valid_files_read_whole() {
    let runs: Vec<RunRecord> = read_jsonl(Cursor::new(RUNS), "runs.jsonl")
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(runs.len(), 2);
    let reqs: Vec<RequestRecord> = read_jsonl(Cursor::new(REQUESTS), "requests.jsonl")
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(reqs.len(), 2);
}

#[test]
fn a_line_that_is_not_utf8_is_named_with_its_line() {
    let bytes = b"\n{\"schema\":\"run/1\xff\"}\n";
    let e = read_jsonl::<_, RunRecord>(Cursor::new(&bytes[..]), "runs.jsonl")
        .next()
        .unwrap()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "runs.jsonl:2: not a valid record: not UTF-8 text (byte 17 of the line)"
    );
}

proptest! {
    #[test]
    fn mutated_run_records_never_panic_and_errors_name_file_and_line(
        edits in edits(TOKENS)
    ) {
        read_all::<RunRecord>(&apply(RUNS.as_bytes(), &edits), "runs.jsonl")?;
    }

    #[test]
    fn mutated_request_records_never_panic_and_errors_name_file_and_line(
        edits in edits(TOKENS)
    ) {
        read_all::<RequestRecord>(&apply(REQUESTS.as_bytes(), &edits), "-")?;
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_errors_name_file_and_line(
        bytes in proptest::collection::vec(any::<u8>(), 0..300)
    ) {
        read_all::<RunRecord>(&bytes, "runs.jsonl")?;
        read_all::<RequestRecord>(&bytes, "requests.jsonl")?;
    }
}
