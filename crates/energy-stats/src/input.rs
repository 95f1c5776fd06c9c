//! Reading the inputs into groups of runs.
//!
//! An input is a **group directory** in the study's layout ([`records::GroupDir`]: label from
//! the folder name, `minitwit312` → `3.12`; runs from `runs.jsonl`, else `log.txt`, else the
//! traces alone), or a **run table** ([`crate::table`]: run records or `energy-stats runs` rows
//! as JSON Lines, or CSV), or `-` for a run table on stdin. Trace files (`*.csv.xz`, `*.csv`) in
//! a group directory are matched to runs in name order and read in parallel (see
//! [`crate::loader`]).
//!
//! A `baseline.jsonl` in a group directory holds idle-baseline runs: they are read into
//! [`Dataset::baseline`], never into a group.
//!
//! Runs of a recording session later than their interpreter's first form a group of their own
//! (`3.12@s2`: an added version's reference runs), as [`assign_sessions`] says. The `archive`
//! folder of a results folder (sets a redo moved aside) is skipped unless
//! `--include-archived`; its sets are then groups `3.12@s1-archived`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use procs::Interrupt;
use records::{archived_parts, GroupDir, RunRecord, ARCHIVE_FOLDER};

pub use crate::dataset::{
    assign_sessions, label_key, session_label, Dataset, Group, Run, SessionOptions, Source,
    ARCHIVED_SUFFIX,
};
pub use crate::table::read_csv_table;

use crate::loader::{load_traces, LoadOptions};
use crate::logtxt::parse_log;
use crate::table::{read_jsonl_file, read_table_bytes, Runs};

/// Why the inputs could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// An input path does not exist or cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Bad content, with file and line in the message.
    #[error("{0}")]
    Bad(String),
    /// A run record file could not be read.
    #[error(transparent)]
    Record(#[from] records::RecordError),
    /// Ctrl-C or SIGTERM while reading.
    #[error("interrupted while reading the traces")]
    Interrupted,
}

/// `bytes` as text: bytes that are not UTF-8 are an error naming the file, the line and the
/// byte of the line, like any other bad content (not an I/O error without a position).
pub(crate) fn utf8_text<'a>(bytes: &'a [u8], name: &str) -> Result<&'a str, InputError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        let start = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        InputError::Bad(format!(
            "{name}:{line}: not UTF-8 text (byte {} of the line)",
            good.len() - start + 1
        ))
    })
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> InputError + '_ {
    move |source| InputError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// How to read the inputs.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Turn per-run problems (a bad log block, a corrupt trace) into failed runs instead of
    /// stopping at the first.
    pub keep_going: bool,
    /// Read the trace files (per-run trace power and energy, plots).
    pub read_traces: bool,
    /// Trace loading: threads and cache.
    pub load: LoadOptions,
    /// Treat every run as modelled, whatever its meter says.
    pub modelled: bool,
    /// Which runs form a group, by recording session; archived sets.
    pub sessions: SessionOptions,
    /// Adjust every run's energy by the machine's speed measured beside it (`speed.rs`).
    pub speed_adjust: bool,
}

/// Read every input and group the runs.
pub fn read_inputs(inputs: &[PathBuf], opts: &ReadOptions) -> Result<Dataset, InputError> {
    read_inputs_until(inputs, opts, &Interrupt::new())
}

/// [`read_inputs`], stopping with [`InputError::Interrupted`] once `interrupt` is set.
pub fn read_inputs_until(
    inputs: &[PathBuf],
    opts: &ReadOptions,
    interrupt: &Interrupt,
) -> Result<Dataset, InputError> {
    let mut read = Runs::default();
    for input in inputs {
        if input.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(io_err(Path::new("-")))?;
            read_table_bytes(&bytes, "-", None, opts, &mut read)?;
        } else if input.is_dir() {
            read_dir(input, opts, &mut read)?;
        } else if input.file_name().is_some_and(|n| n == "log.txt") {
            let label = input
                .parent()
                .filter(|p| p.canonicalize().is_ok())
                .map_or_else(|| "log".into(), |p| GroupDir::new(p).label());
            read.runs.extend(read_log_file(input, &label, opts)?);
        } else {
            let bytes = std::fs::read(input).map_err(io_err(input))?;
            let name = input.display().to_string();
            read_table_bytes(&bytes, &name, Some(input), opts, &mut read)?;
        }
    }
    let Runs {
        mut runs,
        mut baseline,
    } = read;
    if opts.modelled {
        for r in runs.iter_mut().chain(baseline.iter_mut()) {
            r.modelled = true;
        }
    }
    assign_sessions(&mut runs, &opts.sessions);
    if let Some(want) = &opts.sessions.session {
        baseline.retain(|r| r.session.as_deref() == Some(want.as_str()));
    }
    if opts.read_traces {
        read_traces(&mut runs, opts, interrupt)?;
    }
    let mut by_label: BTreeMap<(u8, String, Vec<u64>, String), Group> = BTreeMap::new();
    for r in runs {
        by_label
            .entry(label_key(&r.label))
            .or_insert_with(|| Group {
                label: r.label.clone(),
                runs: Vec::new(),
            })
            .runs
            .push(r);
    }
    let mut data = Dataset {
        groups: by_label.into_values().collect(),
        baseline,
        speed: None,
    };
    if opts.speed_adjust {
        data.speed = Some(crate::speed::adjust(&mut data).map_err(InputError::Bad)?);
    }
    Ok(data)
}

/// Read the traces of every run at once, so all cores work on them. A run that failed already
/// keeps its reason when its trace cannot be read either; any other unreadable trace stops
/// the reading, or fails its run with `--keep-going`.
fn read_traces(
    runs: &mut [Run],
    opts: &ReadOptions,
    interrupt: &Interrupt,
) -> Result<(), InputError> {
    let wanted: Vec<(usize, PathBuf)> = runs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.trace.clone().map(|t| (i, t)))
        .collect();
    let paths: Vec<PathBuf> = wanted.iter().map(|(_, p)| p.clone()).collect();
    let results = load_traces(&paths, &opts.load, interrupt);
    if interrupt.is_set() {
        return Err(InputError::Interrupted);
    }
    for ((i, _), res) in wanted.into_iter().zip(results) {
        let r = &mut runs[i];
        match res {
            Ok(s) => {
                if r.source == Source::Trace {
                    r.power_w = s.mean_w();
                    r.duration_s = s.duration_s(r.sample_rate_hz);
                    r.energy_j = RunRecord::study_energy_j(r.power_w, r.duration_s);
                }
                r.trace_summary = Some(s);
            }
            Err(_) if r.failed.is_some() => {}
            Err(e) if opts.keep_going => r.failed = Some(e.to_string()),
            Err(e) => return Err(InputError::Bad(e.to_string())),
        }
    }
    Ok(())
}

/// A directory input: a group folder; `OUT/archive` (its sets read only with
/// `--include-archived`, else skipped with a note); or one archived set, `archive/minitwit312-s1`.
fn read_dir(input: &Path, opts: &ReadOptions, read: &mut Runs) -> Result<(), InputError> {
    let dir = GroupDir::new(input);
    let name = input
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let plain = dir.runs_jsonl().is_file() || dir.log_txt().is_file();
    if name == ARCHIVE_FOLDER && !plain {
        if !opts.sessions.include_archived {
            eprintln!(
                "energy-stats: note: skipped {}: sets a redo moved aside (--include-archived reads them)",
                input.display()
            );
            return Ok(());
        }
        let mut sets: Vec<PathBuf> = std::fs::read_dir(input)
            .map_err(io_err(input))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        sets.sort();
        for set in sets {
            read_archived(&set, opts, read)?;
        }
        return Ok(());
    }
    let in_archive = input
        .canonicalize()
        .ok()
        .and_then(|p| {
            p.parent()
                .and_then(|d| d.file_name())
                .map(|n| n == ARCHIVE_FOLDER)
        })
        .unwrap_or(false);
    if in_archive && archived_parts(&name).is_some() {
        return read_archived(input, opts, read);
    }
    read_group_dir(&dir, opts, read)
}

/// One archived set: its runs labelled `3.12@s1-archived` (by each run's session, else the
/// folder's), never pooled with the current set.
fn read_archived(dir: &Path, opts: &ReadOptions, read: &mut Runs) -> Result<(), InputError> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Some((label, folder_session)) = archived_parts(&name) else {
        return Err(InputError::Bad(format!(
            "{}: not an archived set (expected a folder named like minitwit312-s1)",
            dir.display()
        )));
    };
    let mut set = Runs::default();
    read_group_dir(&GroupDir::new(dir), opts, &mut set)?;
    for r in set.runs.iter_mut().chain(set.baseline.iter_mut()) {
        let session = r.session.clone().unwrap_or_else(|| folder_session.clone());
        r.label = format!("{}{ARCHIVED_SUFFIX}", session_label(&label, &session));
    }
    read.runs.append(&mut set.runs);
    read.baseline.append(&mut set.baseline);
    Ok(())
}

fn read_group_dir(dir: &GroupDir, opts: &ReadOptions, read: &mut Runs) -> Result<(), InputError> {
    let label = dir.label();
    let traces = dir.traces().map_err(io_err(dir.path()))?;
    let (jsonl, log, base) = (dir.runs_jsonl(), dir.log_txt(), dir.baseline_jsonl());
    if base.is_file() {
        read_jsonl_file(&base, opts, &mut read.baseline)?;
    }
    if jsonl.is_file() {
        read_jsonl_file(&jsonl, opts, &mut read.runs)?;
    } else if log.is_file() {
        let mut rs = read_log_file(&log, &label, opts)?;
        if !traces.is_empty() {
            if traces.len() != rs.len() {
                return Err(InputError::Bad(format!(
                    "{}: {} runs in the log but {} trace files in {}; the k-th trace must belong to the k-th block (remove stray traces or pass the log alone)",
                    log.display(),
                    rs.len(),
                    traces.len(),
                    dir.path().display()
                )));
            }
            for (r, t) in rs.iter_mut().zip(traces) {
                r.trace = Some(t);
            }
        }
        read.runs.append(&mut rs);
    } else if !traces.is_empty() {
        read.runs
            .extend(traces.into_iter().enumerate().map(|(i, t)| Run {
                trace: Some(t.clone()),
                ..Run::unknown(
                    label.clone(),
                    i as u32 + 1,
                    Source::Trace,
                    t.display().to_string(),
                    (!opts.read_traces).then(|| {
                        "trace not read (--no-traces) and no log or run records".to_string()
                    }),
                )
            }));
    } else {
        return Err(InputError::Bad(format!(
            "{}: no runs.jsonl, log.txt or trace files (*.csv.xz) in this group directory",
            dir.path().display()
        )));
    }
    Ok(())
}

fn read_log_file(path: &Path, label: &str, opts: &ReadOptions) -> Result<Vec<Run>, InputError> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    let text = utf8_text(&bytes, &path.display().to_string())?;
    let blocks = parse_log(text);
    if blocks.is_empty() {
        // The position is where the file ends: the whole of it was read for a block.
        return Err(InputError::Bad(format!(
            "{}:{}: no run blocks up to the end of the file (no `Scenario took` / `MAIN_POWER` lines); is this the controller's log?",
            path.display(),
            text.lines().count().max(1)
        )));
    }
    let mut runs = Vec::new();
    for (i, b) in blocks.into_iter().enumerate() {
        let origin = format!("{}:{}", path.display(), b.line);
        let run = i as u32 + 1;
        match b.result {
            Ok(l) => runs.push(Run::measured(
                label.to_string(),
                run,
                l.power_avg_w,
                l.duration_s,
                Source::Log,
                origin,
            )),
            Err(why) if opts.keep_going => runs.push(Run::unknown(
                label.to_string(),
                run,
                Source::Log,
                origin,
                Some(why),
            )),
            Err(why) => return Err(InputError::Bad(format!("{origin}: {why}"))),
        }
    }
    Ok(runs)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Reads `bytes` written to a file `name`; the error's text, with the file's path.
    fn read_one(name: &str, bytes: &[u8]) -> (String, String) {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let r = read_inputs(std::slice::from_ref(&p), &ReadOptions::default());
        (p.display().to_string(), r.unwrap_err().to_string())
    }

    #[test]
    fn a_log_without_run_blocks_names_the_line_where_it_ends() {
        let (p, e) = read_one("log.txt", b"$ time poetry run python main.py\nreal 1m\n");
        assert!(e.starts_with(&format!("{p}:2: no run blocks")), "{e}");
        let (p, e) = read_one("log.txt", b"");
        assert!(e.starts_with(&format!("{p}:1: no run blocks")), "{e}");
    }

    #[test]
    fn text_that_is_not_utf8_names_its_line_in_logs_and_tables() {
        let bad = b"$ time\nScenario took 0:00:01\nMAIN_POWER: 1, 2, \xff\n";
        for name in ["log.txt", "t.csv", "t.txt"] {
            let (p, e) = read_one(name, bad);
            assert_eq!(e, format!("{p}:3: not UTF-8 text (byte 19 of the line)"));
        }
        let (p, e) = read_one("t.jsonl", b"\n{\"schema\":\"run/1\xff\"}\n");
        assert_eq!(
            e,
            format!("{p}:2: not a valid record: not UTF-8 text (byte 17 of the line)")
        );
    }
}
