//! Reading the inputs into groups of runs.
//!
//! An input is a **group directory** in the study's layout (label from the folder name,
//! `minitwit312` → `3.12`; runs from `runs.jsonl`, else `log.txt`, else the traces alone), or a
//! **run table** (run-record JSON Lines, or CSV with `label,power_w,duration_s` and optionally
//! `run`), or `-` for a run table on stdin. Trace files (`*.csv.xz`, `*.csv`) in a group
//! directory are matched to runs in name order and read in parallel (see [`crate::loader`]).
//!
//! A `baseline.jsonl` in a group directory holds idle-baseline runs: they are read into
//! [`Dataset::baseline`], never into a group.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use records::{RunRecord, Status};

use crate::loader::{load_traces, LoadOptions};
use crate::logtxt::parse_log;
use crate::trace::{is_trace_file, TraceSummary, STUDY_RATE_HZ};

/// Where a run's power number came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// A run record (`runs.jsonl` or a JSON Lines table).
    RunRecord,
    /// The study's controller log.
    Log,
    /// A CSV table of runs.
    Table,
    /// The trace alone (duration = samples / rate).
    Trace,
}

impl Source {
    /// The name in the per-run table, as serde writes it: `run-record`, `log`, `table`, `trace`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::RunRecord => "run-record",
            Source::Log => "log",
            Source::Table => "table",
            Source::Trace => "trace",
        }
    }
}

/// One run as the analysis sees it.
#[derive(Debug, Clone)]
pub struct Run {
    /// Group label.
    pub label: String,
    /// Run index within the group (1-based; 0 is a warm-up run).
    pub run: u32,
    /// Mean power (W).
    pub power_w: f64,
    /// Scenario time (s).
    pub duration_s: f64,
    /// The study's energy, power × time (J).
    pub energy_j: f64,
    /// Where the numbers came from.
    pub source: Source,
    /// File and line the run was read from (`dir/log.txt:17`).
    pub origin: String,
    /// The trace file matched to this run, if any.
    pub trace: Option<PathBuf>,
    /// The trace's summary once read.
    pub trace_summary: Option<TraceSummary>,
    /// Sample rate of the trace (Hz).
    pub sample_rate_hz: f64,
    /// Why the run is unusable; `None` for a good run.
    pub failed: Option<String>,
    /// Whether the power was modelled (simulated meter) rather than measured.
    pub modelled: bool,
    /// HTTP requests the load sent during the run, when the run record says.
    pub requests: Option<u64>,
}

impl Run {
    /// A measured run read from a log or a table: the study's energy from power and time,
    /// no trace yet, at the study's sample rate.
    fn measured(
        label: String,
        run: u32,
        power_w: f64,
        duration_s: f64,
        source: Source,
        origin: String,
    ) -> Run {
        Run {
            label,
            run,
            power_w,
            duration_s,
            energy_j: RunRecord::study_energy_j(power_w, duration_s),
            source,
            origin,
            trace: None,
            trace_summary: None,
            sample_rate_hz: STUDY_RATE_HZ,
            failed: None,
            modelled: false,
            requests: None,
        }
    }

    /// A run with no usable numbers (yet), unusable for `why` when that is given.
    fn unknown(
        label: String,
        run: u32,
        source: Source,
        origin: String,
        why: Option<String>,
    ) -> Run {
        Run {
            failed: why,
            energy_j: f64::NAN,
            ..Run::measured(label, run, f64::NAN, f64::NAN, source, origin)
        }
    }

    /// Energy integrated over the trace, Σ P·Δt (J), when the trace was read.
    pub fn trace_energy_j(&self) -> Option<f64> {
        self.trace_summary
            .as_ref()
            .map(|t| t.energy_j(self.sample_rate_hz))
    }

    /// Mean of the trace (W), when the trace was read.
    pub fn trace_power_w(&self) -> Option<f64> {
        self.trace_summary.as_ref().map(TraceSummary::mean_w)
    }

    /// Energy per HTTP request of the load (J), when the request count is known.
    pub fn energy_per_request_j(&self) -> Option<f64> {
        self.requests
            .filter(|&n| n > 0)
            .map(|n| self.energy_j / n as f64)
            .filter(|v| v.is_finite())
    }

    /// A warm-up run (run 0), left out of the statistics by default.
    pub fn is_warmup(&self) -> bool {
        self.run == 0
    }
}

/// One group (interpreter) and its runs, in run order.
#[derive(Debug, Clone)]
pub struct Group {
    /// The label (`3.12`).
    pub label: String,
    /// All runs read, failed and warm-up ones included.
    pub runs: Vec<Run>,
}

impl Group {
    /// The runs that enter the statistics and the per-run figures: not failed, and not a
    /// warm-up run unless `include_warmup`.
    pub fn used_runs(&self, include_warmup: bool) -> Vec<&Run> {
        self.runs
            .iter()
            .filter(|r| r.failed.is_none() && (include_warmup || !r.is_warmup()))
            .collect()
    }
}

/// Everything read from the inputs.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// Groups in version-aware label order (or the order `--groups` asked for).
    pub groups: Vec<Group>,
    /// Idle-baseline runs, when a `baseline.jsonl` was found.
    pub baseline: Vec<Run>,
}

impl Dataset {
    /// Whether any run's power was modelled rather than measured.
    pub fn modelled(&self) -> bool {
        self.groups.iter().flat_map(|g| &g.runs).any(|r| r.modelled)
    }
}

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
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> InputError + '_ {
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
}

/// Version-aware ordering key: CPython labels (`3.8` < `3.9` < `3.10`) first, then labels with
/// a prefix (`pypy3.9`) by prefix and version, then everything else by name.
pub fn label_key(label: &str) -> (u8, String, Vec<u64>, String) {
    let first_digit = label.find(|c: char| c.is_ascii_digit());
    let (prefix, rest) = match first_digit {
        Some(i) => (&label[..i], &label[i..]),
        None => return (2, label.to_string(), Vec::new(), label.to_string()),
    };
    let nums: Vec<u64> = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    let class = if prefix.is_empty() { 0 } else { 1 };
    (class, prefix.to_string(), nums, label.to_string())
}

/// Read every input and group the runs.
pub fn read_inputs(inputs: &[PathBuf], opts: &ReadOptions) -> Result<Dataset, InputError> {
    let mut runs: Vec<Run> = Vec::new();
    let mut baseline: Vec<Run> = Vec::new();
    for input in inputs {
        if input.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(io_err(Path::new("-")))?;
            runs.extend(read_table_text(&text, "-", Path::new(""), opts)?);
        } else if input.is_dir() {
            read_group_dir(input, opts, &mut runs, &mut baseline)?;
        } else if input.file_name().is_some_and(|n| n == "log.txt") {
            let label = input
                .parent()
                .and_then(|p| p.canonicalize().ok())
                .and_then(|p| {
                    p.file_name()
                        .map(|n| records::group_label(&n.to_string_lossy()))
                })
                .unwrap_or_else(|| "log".into());
            runs.extend(read_log_file(input, &label, opts)?);
        } else {
            let text = std::fs::read_to_string(input).map_err(io_err(input))?;
            let name = input.display().to_string();
            runs.extend(read_table_text(&text, &name, folder_of(input), opts)?);
        }
    }
    if opts.modelled {
        for r in runs.iter_mut().chain(baseline.iter_mut()) {
            r.modelled = true;
        }
    }
    // Read the traces of every run at once, so all cores work on them.
    if opts.read_traces {
        let wanted: Vec<(usize, PathBuf)> = runs
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.trace.clone().map(|t| (i, t)))
            .collect();
        let paths: Vec<PathBuf> = wanted.iter().map(|(_, p)| p.clone()).collect();
        let results = load_traces(&paths, &opts.load);
        for ((i, _), res) in wanted.into_iter().zip(results) {
            match res {
                Ok(s) => {
                    let r = &mut runs[i];
                    if r.source == Source::Trace {
                        r.power_w = s.mean_w();
                        r.duration_s = s.duration_s(r.sample_rate_hz);
                        r.energy_j = RunRecord::study_energy_j(r.power_w, r.duration_s);
                    }
                    r.trace_summary = Some(s);
                }
                Err(e) if opts.keep_going => runs[i].failed = Some(e.to_string()),
                Err(e) => return Err(InputError::Bad(e.to_string())),
            }
        }
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
    Ok(Dataset {
        groups: by_label.into_values().collect(),
        baseline,
    })
}

fn read_group_dir(
    dir: &Path,
    opts: &ReadOptions,
    runs: &mut Vec<Run>,
    baseline: &mut Vec<Run>,
) -> Result<(), InputError> {
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| dir.display().to_string());
    let label = records::group_label(&name);
    let mut traces: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_err(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && is_trace_file(p))
        .collect();
    traces.sort();
    let jsonl = dir.join("runs.jsonl");
    let log = dir.join("log.txt");
    let base = dir.join("baseline.jsonl");
    if base.is_file() {
        baseline.extend(read_jsonl_file(&base, opts)?);
    }
    let mut found = if jsonl.is_file() {
        read_jsonl_file(&jsonl, opts)?
    } else if log.is_file() {
        let mut rs = read_log_file(&log, &label, opts)?;
        if !traces.is_empty() {
            if traces.len() != rs.len() {
                return Err(InputError::Bad(format!(
                    "{}: {} runs in the log but {} trace files in {}; the k-th trace must belong to the k-th block (remove stray traces or pass the log alone)",
                    log.display(),
                    rs.len(),
                    traces.len(),
                    dir.display()
                )));
            }
            for (r, t) in rs.iter_mut().zip(traces) {
                r.trace = Some(t);
            }
        }
        rs
    } else if !traces.is_empty() {
        traces
            .into_iter()
            .enumerate()
            .map(|(i, t)| Run {
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
            })
            .collect()
    } else {
        return Err(InputError::Bad(format!(
            "{}: no runs.jsonl, log.txt or trace files (*.csv.xz) in this group directory",
            dir.display()
        )));
    };
    runs.append(&mut found);
    Ok(())
}

fn read_log_file(path: &Path, label: &str, opts: &ReadOptions) -> Result<Vec<Run>, InputError> {
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    let blocks = parse_log(&text);
    if blocks.is_empty() {
        return Err(InputError::Bad(format!(
            "{}: no run blocks (no `Scenario took` / `MAIN_POWER` lines); is this the controller's log?",
            path.display()
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

/// The run of one record; its trace path is taken relative to `folder` (the record file's
/// folder) and kept only when that file exists (a warning on stderr names a missing one).
fn run_from_record(r: RunRecord, origin: String, folder: &Path) -> Run {
    let modelled = r.is_modelled();
    let requests = r.load.as_ref().map(|l| l.requests);
    let failed = match r.status {
        Status::Ok => None,
        Status::Failed => Some(r.reason.clone().unwrap_or_else(|| "failed".into())),
    };
    let trace = r.trace.map(|t| folder.join(t)).filter(|t| {
        let found = t.is_file();
        if !found {
            eprintln!(
                "energy-stats: warning: {origin}: trace {} not found; the run counts from \
                 its record, without trace energy or trace figures",
                t.display()
            );
        }
        found
    });
    Run {
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
        modelled,
        requests,
    }
}

/// The folder that relative paths in the file at `path` are relative to (`""`, the current
/// directory, for a bare file name).
fn folder_of(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new(""))
}

fn read_jsonl_file(path: &Path, opts: &ReadOptions) -> Result<Vec<Run>, InputError> {
    let f = std::fs::File::open(path).map_err(io_err(path))?;
    let name = path.display().to_string();
    read_jsonl_runs(BufReader::new(f), &name, folder_of(path), opts)
}

/// Run records as JSON Lines; trace paths are relative to `folder`.
fn read_jsonl_runs<R: BufRead>(
    input: R,
    name: &str,
    folder: &Path,
    opts: &ReadOptions,
) -> Result<Vec<Run>, InputError> {
    let mut out = Vec::new();
    for (i, rec) in records::read_jsonl::<_, RunRecord>(input, name).enumerate() {
        match rec {
            Ok(r) => out.push(run_from_record(r, format!("{name}:{}", i + 1), folder)),
            Err(e) if opts.keep_going => eprintln!("energy-stats: skipping: {e}"),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// A run table given as text: JSON Lines when it starts with `{` (trace paths relative to
/// `folder`), CSV otherwise.
fn read_table_text(
    text: &str,
    name: &str,
    folder: &Path,
    opts: &ReadOptions,
) -> Result<Vec<Run>, InputError> {
    if text.trim_start().starts_with('{') {
        return read_jsonl_runs(text.as_bytes(), name, folder, opts);
    }
    read_csv_table(text, name, opts)
}

/// A CSV table of runs: a header with at least `label,power_w,duration_s` (any order; `run` and
/// `energy_j` optional; other columns ignored).
pub fn read_csv_table(text: &str, name: &str, opts: &ReadOptions) -> Result<Vec<Run>, InputError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(InputError::Bad(format!("{name}: empty run table")));
    };
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    let find = |c: &str| cols.iter().position(|h| *h == c);
    let (Some(li), Some(pi), Some(di)) = (find("label"), find("power_w"), find("duration_s"))
    else {
        return Err(InputError::Bad(format!(
            "{name}:1: a run table needs the columns label,power_w,duration_s (optional: run); found {header:?}"
        )));
    };
    let ri = find("run");
    let mut counters: BTreeMap<String, u32> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, line) in lines {
        let line_no = i + 1;
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let cell = |k: usize| cells.get(k).copied().unwrap_or("");
        let number = |k: usize, what: &str| -> Result<f64, String> {
            cell(k)
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("{name}:{line_no}: {what} {:?} is not a number", cell(k)))
        };
        let label = cell(li).trim_matches('"').to_string();
        let parsed = (|| -> Result<(f64, f64, Option<u32>), String> {
            if label.is_empty() {
                return Err(format!("{name}:{line_no}: empty label"));
            }
            let p = number(pi, "power_w")?;
            let d = number(di, "duration_s")?;
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
            Ok((p, d, r)) => out.push(Run::measured(
                label,
                r.unwrap_or(*counter),
                p,
                d,
                Source::Table,
                origin,
            )),
            Err(why) if opts.keep_going => out.push(Run::unknown(
                label,
                *counter,
                Source::Table,
                origin,
                Some(why),
            )),
            Err(why) => return Err(InputError::Bad(why)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn labels_sort_by_version_then_prefix() {
        let mut l = vec!["pypy3.9", "3.10", "zzz", "3.9", "3.8", "3.13"];
        l.sort_by_key(|s| label_key(s));
        assert_eq!(l, vec!["3.8", "3.9", "3.10", "3.13", "pypy3.9", "zzz"]);
    }

    #[test]
    fn source_names_are_the_serialised_names() {
        for s in [Source::RunRecord, Source::Log, Source::Table, Source::Trace] {
            // A new variant stops this match compiling until it is added to the list above.
            match s {
                Source::RunRecord | Source::Log | Source::Table | Source::Trace => {}
            }
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }

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
}
