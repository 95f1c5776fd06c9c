//! Run tables: a stream of runs given as a file or on stdin, as JSON Lines or CSV.
//!
//! JSON Lines may mix run records (`"schema": "run/1"`, what `otii-capture` writes) and the
//! rows `energy-stats runs` writes (`"schema": "energy-stats-run/1"`, [`records::RunRow`]);
//! each line is read by its tag. A CSV table is either the one `energy-stats runs --format csv`
//! writes (it has `status`, `source` and `origin` columns; read back without loss) or any table
//! with `label`, `power_w` (or `power_avg_w`) and `duration_s` and optionally `run` and `status`. CSV is read
//! through the `csv` crate, so quoted cells (a label with a comma) read as written.
//!
//! A trace path in a record or row is resolved as [`records::trace_path`] says: relative to
//! the folder of the file read, or to the current directory for stdin.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use records::{RecordError, RunRecord, Status, Versioned};

use crate::dataset::{Run, Source};
use crate::input::{io_err, utf8_text, InputError, ReadOptions};
use crate::runs::row_into_run;
use crate::trace::STUDY_RATE_HZ;
use records::{RowStatus, RunRow, RUN_ROW_SCHEMA};

/// Runs read so far: those of the groups and the idle-baseline ones.
#[derive(Debug, Default)]
pub(crate) struct Runs {
    /// Runs of the groups.
    pub runs: Vec<Run>,
    /// Idle-baseline runs.
    pub baseline: Vec<Run>,
}

/// The trace at `path`, kept only when that file exists: a warning on stderr names a missing
/// one, and the run counts from its numbers without trace energy or trace figures.
pub(crate) fn existing_trace(path: PathBuf, origin: &str) -> Option<PathBuf> {
    if path.is_file() {
        return Some(path);
    }
    eprintln!(
        "energy-stats: warning: {origin}: trace {} not found; the run counts from \
         its record, without trace energy or trace figures",
        path.display()
    );
    None
}

/// The run of one record read from `record_file` (`None`: stdin).
fn run_from_record(r: RunRecord, origin: String, record_file: Option<&Path>) -> Run {
    let trace = r
        .trace_path(record_file)
        .and_then(|t| existing_trace(t, &origin));
    let failed = match r.status {
        Status::Ok => None,
        Status::Failed => Some(r.reason.clone().unwrap_or_else(|| "failed".into())),
    };
    Run {
        // run/1 defines run 0 as a discarded warm-up run (records::RunRecord::run): the record
        // says so. Tables (CSV, energy-stats-run/1 rows) say it with a status instead.
        warmup: r.run == 0,
        modelled: r.is_modelled(),
        requests: r.load.as_ref().map(|l| l.requests),
        session: r.session,
        speed_probe_ms: r.speed_probe.as_ref().map(|p| p.median_ms),
        speed_probe_workload: r.speed_probe.as_ref().map(|p| p.workload().to_owned()),
        label: r.label,
        run: r.run,
        power_w: r.power_avg_w,
        duration_s: r.duration_s,
        energy_j: r.energy_j,
        source: Source::RunRecord,
        origin,
        trace,
        trace_summary: None,
        sample_rate_hz: if r.sample_rate_hz > 0.0 {
            r.sample_rate_hz
        } else {
            STUDY_RATE_HZ
        },
        failed,
    }
}

/// Run records of a file (`runs.jsonl`, `baseline.jsonl`) into `out`.
pub(crate) fn read_jsonl_file(
    path: &Path,
    opts: &ReadOptions,
    out: &mut Vec<Run>,
) -> Result<(), InputError> {
    let f = std::fs::File::open(path).map_err(io_err(path))?;
    // A line that is not UTF-8 is a bad record on its line (skipped with --keep-going).
    let name = path.display().to_string();
    let mut read = Runs::default();
    read_jsonl(BufReader::new(f), &name, Some(path), opts, &mut read)?;
    out.append(&mut read.runs);
    out.append(&mut read.baseline);
    Ok(())
}

/// Only the tag of a line, to pick the type to read it as.
#[derive(serde::Deserialize)]
struct Tag {
    schema: Option<String>,
}

/// Run records and `runs` rows as JSON Lines, each line read by its `schema` tag.
fn read_jsonl<R: BufRead>(
    mut input: R,
    name: &str,
    record_file: Option<&Path>,
    opts: &ReadOptions,
    out: &mut Runs,
) -> Result<(), InputError> {
    let mut line = Vec::new();
    for line_no in 1u64.. {
        line.clear();
        // Bytes, not `lines()`: a line that is not UTF-8 is then a bad record naming its
        // line, not an I/O error without one.
        let n = input
            .read_until(b'\n', &mut line)
            .map_err(|err| RecordError::Io {
                source_name: name.to_string(),
                err,
            })?;
        if n == 0 {
            break;
        }
        let parse = |err| RecordError::Parse {
            source_name: name.to_string(),
            line: line_no,
            err,
        };
        let text = match std::str::from_utf8(&line) {
            Ok(t) => t.trim(),
            Err(e) => {
                let e = parse(serde::de::Error::custom(format_args!(
                    "not UTF-8 text (byte {} of the line)",
                    e.valid_up_to() + 1
                )));
                if opts.keep_going {
                    eprintln!("energy-stats: skipping: {e}");
                    continue;
                }
                return Err(e.into());
            }
        };
        if text.is_empty() {
            continue;
        }
        let origin = format!("{name}:{line_no}");
        let tag = serde_json::from_str::<Tag>(text).map(|t| t.schema);
        let read = match tag.as_ref().map(Option::as_deref) {
            Ok(Some(RUN_ROW_SCHEMA)) => serde_json::from_str::<RunRow>(text)
                .map_err(parse)
                .and_then(|row| {
                    row_numbers(&row)
                        .map_err(|why| parse(serde::de::Error::custom(why)))
                        .map(|()| row_into_run(row, record_file))
                }),
            Ok(Some(s)) if s != RunRecord::SCHEMA => Err(RecordError::Schema {
                source_name: name.to_string(),
                line: line_no,
                found: s.to_string(),
                expected: RunRecord::SCHEMA,
            }),
            _ => serde_json::from_str::<RunRecord>(text)
                .map_err(parse)
                .map(|r| (run_from_record(r, origin, record_file), false)),
        };
        // serde quotes a bad value as decoded: a `\r` escaped in the JSON is a raw one there.
        match read.map_err(|e| InputError::Bad(one_line(&e.to_string()))) {
            Ok((run, false)) => out.runs.push(run),
            Ok((run, true)) => out.baseline.push(run),
            Err(e) if opts.keep_going => eprintln!("energy-stats: skipping: {e}"),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A run table given as bytes: JSON Lines when it starts with `{`, CSV otherwise (UTF-8
/// text); trace paths relative to the folder of `file` (`None`: stdin, the current directory).
pub(crate) fn read_table_bytes(
    bytes: &[u8],
    name: &str,
    file: Option<&Path>,
    opts: &ReadOptions,
    out: &mut Runs,
) -> Result<(), InputError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        return read_jsonl(bytes, name, file, opts, out);
    }
    read_csv(utf8_text(bytes, name)?, name, file, opts, out)
}

/// A CSV table of runs: a header with at least `label,power_w,duration_s` (any order; `run`
/// and `status` (`ok`, `warmup`, `failed`) optional, `power_avg_w` for `power_w`; other columns ignored), or the table `energy-stats
/// runs --format csv` writes. Baseline rows of the latter are left out here.
pub fn read_csv_table(text: &str, name: &str, opts: &ReadOptions) -> Result<Vec<Run>, InputError> {
    let mut out = Runs::default();
    read_csv(text, name, None, opts, &mut out)?;
    Ok(out.runs)
}

/// A row of a run that counts (neither status `failed` nor a reason, which a failed baseline
/// run carries) has its numbers, finite: a `runs` table writes them for every such run, and a
/// row that lost one would enter the analysis as NaN.
fn row_numbers(row: &RunRow) -> Result<(), String> {
    if row.status == RowStatus::Failed || row.reason.is_some() {
        return Ok(());
    }
    let numbers = [
        ("power_avg_w", row.power_avg_w),
        ("duration_s", row.duration_s),
        ("energy_j", row.energy_j),
    ];
    for (what, v) in numbers {
        match v {
            Some(v) if v.is_finite() => {}
            Some(v) => return Err(format!("{what} {v} is not a finite number")),
            None => {
                return Err(format!(
                    "{what} is missing in a row of status {} (only a failed run may lack it)",
                    row.status.as_str()
                ))
            }
        }
    }
    Ok(())
}

/// The line an editor shows for the record the csv reader placed at `byte`: the reader does not
/// count the blank lines it skips, and its position is where it stood before them.
fn line_at(text: &str, byte: u64) -> usize {
    let mut byte = usize::try_from(byte).unwrap_or(usize::MAX).min(text.len());
    while matches!(text.as_bytes().get(byte), Some(b'\n' | b'\r')) {
        byte += 1;
    }
    text.as_bytes()[..byte]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// `text` with its control characters escaped, so a message quoting a bad value stays one line
/// (the records crate's rule, shared by every reader).
pub(crate) use records::one_line;

fn csv_error(text: &str, name: &str, e: &csv::Error) -> InputError {
    let line = e.position().map_or(1, |p| line_at(text, p.byte()));
    let why = match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(k) => format!("column {}: {}", k + 1, err.kind()),
            None => err.kind().to_string(),
        },
        _ => e.to_string(),
    };
    InputError::Bad(format!("{name}:{line}: {}", one_line(&why)))
}

fn read_csv(
    text: &str,
    name: &str,
    file: Option<&Path>,
    opts: &ReadOptions,
    out: &mut Runs,
) -> Result<(), InputError> {
    // Cells are not trimmed by the reader: a label written with spaces around it reads back
    // as written; the cells of a plain table are trimmed where they are parsed.
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = rdr
        .headers()
        .map_err(|e| csv_error(text, name, &e))?
        .clone();
    if header.iter().all(|h| h.trim().is_empty()) {
        return Err(InputError::Bad(format!(
            "{name}:1: empty run table (no header line)"
        )));
    }
    let header: csv::StringRecord = header.iter().map(str::trim).collect();
    rdr.set_headers(header.clone());
    let find = |c: &str| header.iter().position(|h| h == c);
    if ["status", "source", "origin"]
        .iter()
        .all(|c| find(c).is_some())
    {
        for record in rdr.records() {
            let row = record.and_then(|r| {
                let line = r.position().map_or(1, |p| line_at(text, p.byte()));
                let row: RunRow = r.deserialize(Some(&header))?;
                Ok(row_numbers(&row)
                    .map(|()| row)
                    .map_err(|why| InputError::Bad(format!("{name}:{line}: {why}"))))
            });
            match row.map_err(|e| csv_error(text, name, &e)).and_then(|r| r) {
                Ok(row) => match row_into_run(row, file) {
                    (run, false) => out.runs.push(run),
                    (run, true) => out.baseline.push(run),
                },
                Err(e) if opts.keep_going => eprintln!("energy-stats: skipping: {e}"),
                Err(e) => return Err(e),
            }
        }
        return Ok(());
    }
    let (Some(li), Some(pi), Some(di)) = (
        find("label"),
        find("power_w").or_else(|| find("power_avg_w")),
        find("duration_s"),
    ) else {
        let found: Vec<&str> = header.iter().collect();
        return Err(InputError::Bad(format!(
            "{name}:1: a run table needs the columns label,power_w,duration_s (or power_avg_w for power_w; optional: run, status); found {:?}",
            found.join(",")
        )));
    };
    let ri = find("run");
    // An optional `status` column says which runs are warm-ups or failed; the run numbers
    // never do (a table numbered from 0 is read whole).
    let si = find("status");
    let mut counters: BTreeMap<String, u32> = BTreeMap::new();
    // The csv crate does not count the blank lines it skips: lines are counted here from the
    // byte offsets, so an error names the line an editor shows.
    let (mut at_byte, mut at_line) = (0usize, 1usize);
    for record in rdr.records() {
        let record = record.map_err(|e| csv_error(text, name, &e))?;
        // The record's position is where the reader stood: before the blank lines it skipped.
        let mut byte = record.position().map_or(at_byte, |p| p.byte() as usize);
        while matches!(text.as_bytes().get(byte), Some(b'\n' | b'\r')) {
            byte += 1;
        }
        let newlines = text.as_bytes()[at_byte.min(byte)..byte]
            .iter()
            .filter(|&&b| b == b'\n');
        at_line += newlines.count();
        at_byte = byte;
        let line_no = at_line;
        let cell = |k: usize| record.get(k).unwrap_or("").trim();
        let number = |k: usize, what: &str| -> Result<f64, String> {
            cell(k)
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("{name}:{line_no}: {what} {:?} is not a number", cell(k)))
        };
        let label = cell(li).to_string();
        let parsed = (|| -> Result<(f64, f64, Option<u32>), String> {
            if label.is_empty() {
                return Err(format!("{name}:{line_no}: empty label"));
            }
            let p = number(pi, "power_w")?;
            let d = number(di, "duration_s")?;
            if !RunRecord::study_energy_j(p, d).is_finite() {
                return Err(format!(
                    "{name}:{line_no}: power_w {p:e} × duration_s {d} is an energy past the largest number"
                ));
            }
            let r = match ri {
                Some(k) => Some(cell(k).parse::<u32>().map_err(|_| {
                    format!("{name}:{line_no}: run {:?} is not a whole number", cell(k))
                })?),
                None => None,
            };
            Ok((p, d, r))
        })();
        let counter = counters.entry(label.clone()).or_insert(0);
        *counter += 1;
        let origin = format!("{name}:{line_no}");
        match parsed {
            Ok((p, d, r)) => {
                let mut run =
                    Run::measured(label, r.unwrap_or(*counter), p, d, Source::Table, origin);
                match si.map(|k| cell(k).to_ascii_lowercase()).as_deref() {
                    Some("warmup" | "warm-up") => run.warmup = true,
                    Some("failed") => run.failed = Some("failed (status column)".into()),
                    _ => {}
                }
                out.runs.push(run);
            }
            Err(why) if opts.keep_going => out.runs.push(Run::unknown(
                label,
                *counter,
                Source::Table,
                origin,
                Some(why),
            )),
            Err(why) => return Err(InputError::Bad(why)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn csv_table_without_run_column_numbers_runs() {
        let t = "label,power_w,duration_s\n3.8,1.5,100\n3.8,1.5,110\n";
        let r = read_csv_table(t, "t.csv", &ReadOptions::default()).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].run, 2);
        assert_eq!(r[1].energy_j, 165.0);
    }

    #[test]
    fn csv_table_bad_cell_names_line() {
        let t = "label,power_w,duration_s\n3.8,x,100\n";
        let e = read_csv_table(t, "t.csv", &ReadOptions::default()).unwrap_err();
        assert!(e.to_string().starts_with("t.csv:2: power_w"), "{e}");
    }

    #[test]
    fn csv_table_takes_the_runs_column_name_and_quoted_labels() {
        let t = "run,label,power_avg_w,duration_s\n\n1,\"3.12, \"\"jit\"\"\",1.5,100\n";
        let r = read_csv_table(t, "t.csv", &ReadOptions::default()).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].label, "3.12, \"jit\"");
        assert_eq!(r[0].origin, "t.csv:3");
        assert_eq!(r[0].energy_j, 150.0);
    }

    #[test]
    fn a_row_that_counts_without_its_numbers_is_named_not_read_as_nan() {
        let row = r#"{"schema":"energy-stats-run/1","label":"3.8","run":2,"status":"ok","power_avg_w":1.4,"duration_s":100.0,"energy_j":140.0,"trace_power_avg_w":null,"trace_energy_j":null,"samples":null,"requests":null,"energy_per_request_j":null,"source":"table","origin":"t.csv:2","modelled":false}"#;
        let lost = row.replace(r#""power_avg_w":1.4,"#, "");
        let mut out = Runs::default();
        let e = read_jsonl(
            format!("{row}\n{lost}\n").as_bytes(),
            "-",
            None,
            &ReadOptions::default(),
            &mut out,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "-:2: not a valid record: power_avg_w is missing in a row of status ok (only a failed run may lack it)"
        );
        let header = crate::runs::CSV_COLUMNS.join(",");
        let t = format!("{header}\n\n3.8,2,warmup,1.4,inf,140,,,,,,table,t.csv:2,false,,,\n");
        let e = read_csv_table(&t, "t.csv", &ReadOptions::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv:3: duration_s inf is not a finite number"
        );
        let failed = t.replace("warmup,1.4,inf,140", "failed,,,");
        let runs = read_csv_table(&failed, "t.csv", &ReadOptions::default()).unwrap();
        assert_eq!(runs[0].failed.as_deref(), Some("failed"));
        let skipped = ReadOptions {
            keep_going: true,
            ..ReadOptions::default()
        };
        assert!(read_csv_table(&t, "t.csv", &skipped).unwrap().is_empty());
    }

    #[test]
    fn a_plain_row_whose_energy_is_past_the_largest_number_is_named_not_infinite() {
        let t = "label,power_w,duration_s\n3.8,1.5e308,100\n";
        let e = read_csv_table(t, "t.csv", &ReadOptions::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv:2: power_w 1.5e308 × duration_s 100 is an energy past the largest number"
        );
        let skipped = ReadOptions {
            keep_going: true,
            ..ReadOptions::default()
        };
        let r = read_csv_table(t, "t.csv", &skipped).unwrap();
        assert!(r[0].failed.is_some());
    }

    #[test]
    fn a_bad_value_with_a_line_break_is_quoted_on_one_line() {
        let header = crate::runs::CSV_COLUMNS.join(",");
        let t = format!("{header}\n3.8,2,\"o\nk\",1.4,100,140,,,,,,table,t.csv:2,false,,,\n");
        let e = read_csv_table(&t, "t.csv", &ReadOptions::default()).unwrap_err();
        let e = e.to_string();
        assert!(e.starts_with("t.csv:2: ") && e.contains("o\\nk"), "{e}");
        let row = r#"{"schema":"energy-stats-run/1","label":"3.8","run":2,"status":"o\rk"}"#;
        let mut out = Runs::default();
        let e = read_jsonl(row.as_bytes(), "-", None, &ReadOptions::default(), &mut out)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("-:1: ") && e.contains("o\\rk"), "{e}");
        assert!(!e.contains('\r'), "{e:?}");
    }

    #[test]
    fn an_empty_table_names_line_1() {
        for t in ["", "\n\n", " , \n"] {
            let e = read_csv_table(t, "t.csv", &ReadOptions::default()).unwrap_err();
            assert_eq!(e.to_string(), "t.csv:1: empty run table (no header line)");
        }
    }

    #[test]
    fn another_schema_on_a_line_is_named() {
        let mut out = Runs::default();
        let e = read_jsonl(
            "{\"schema\":\"request/1\"}\n".as_bytes(),
            "-",
            None,
            &ReadOptions::default(),
            &mut out,
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("-:1: schema is \"request/1\""),
            "{e}"
        );
    }
}
