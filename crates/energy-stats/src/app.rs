//! The validated configuration of one invocation and what it does, without any CLI parsing:
//! [`Config`], [`run`] into any writer, and [`main`], the body `main.rs` hands to
//! [`procs::main`] (stdout or `-o FILE` written atomically, through one buffer).

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use procs::{Exit, Interrupt};

use crate::cache::{default_dir, Cache};
use crate::hypothesis::AndersonTable;
use crate::input::{read_inputs_until, Dataset, ReadOptions};
use crate::loader::LoadOptions;
use crate::report::{self, ReportOptions};

/// What to do.
#[derive(Debug, Clone)]
pub enum Command {
    /// The per-run table.
    Runs {
        /// CSV instead of JSON Lines.
        csv: bool,
    },
    /// The report.
    Report {
        /// Output format.
        format: ReportFormat,
        /// Variable of the LaTeX table.
        latex_variable: String,
        /// Column prefix of the LaTeX table (`CPython `).
        column_prefix: String,
        /// Report options.
        options: ReportOptions,
    },
    /// How many runs (the report's plan section).
    Plan {
        /// What to plan for (and whether warm-ups count).
        options: ReportOptions,
        /// JSON instead of sentences.
        json: bool,
    },
    /// Energy per request and per endpoint (`requests`).
    Requests {
        /// Output format.
        format: RequestsFormat,
    },
    /// The study as a Parquet dataset in this folder (`export --parquet`).
    Export {
        /// The dataset's folder.
        dir: PathBuf,
    },
    /// The figures.
    Plot {
        /// Output directory.
        out_dir: PathBuf,
        /// SVG or PNG.
        png: bool,
        /// Include warm-up runs.
        include_warmup: bool,
    },
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// Markdown for people.
    Markdown,
    /// The stable JSON document.
    Json,
    /// pandas' `describe().to_latex()`.
    Latex,
    /// Long-format CSV.
    Csv,
    /// One sentence per comparison with the reference group.
    Headline,
    /// One self-contained HTML page with the figures inline.
    Html,
}

/// Formats of `requests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestsFormat {
    /// The JSON document (`requests/1`).
    Json,
    /// One row per interpreter and endpoint.
    Csv,
    /// Tables for people.
    Markdown,
}

/// A validated invocation.
#[derive(Debug, Clone)]
pub struct Config {
    /// Inputs (`-` = stdin).
    pub inputs: Vec<PathBuf>,
    /// Groups to keep, in this order (empty = all, version order).
    pub groups: Vec<String>,
    /// How to read.
    pub read: ReadOptions,
    /// What to do.
    pub command: Command,
    /// Output file (`None` = stdout).
    pub output: Option<PathBuf>,
}

/// Build the cache from the flags: `--no-cache` wins, then `--cache-dir`, then the default.
pub fn cache_from(no_cache: bool, dir: Option<PathBuf>) -> Option<Cache> {
    if no_cache {
        return None;
    }
    dir.or_else(default_dir).map(Cache::new)
}

/// Parse an Anderson–Darling table name.
pub fn anderson_table(name: &str) -> Result<AndersonTable> {
    match name {
        "classical" | "stephens" => Ok(AndersonTable::Classical),
        "dagostino" | "new" => Ok(AndersonTable::DAgostino),
        other => bail!("unknown Anderson–Darling table {other:?}: use classical or dagostino"),
    }
}

impl Config {
    /// The default loader options for `threads` worker threads (0 = all cores).
    pub fn load_options(threads: usize, cache: Option<Cache>) -> LoadOptions {
        LoadOptions { threads, cache }
    }
}

fn select_groups(mut data: Dataset, wanted: &[String]) -> Result<Dataset> {
    if wanted.is_empty() {
        return Ok(data);
    }
    let mut picked = Vec::new();
    for w in wanted {
        let Some(i) = data.groups.iter().position(|g| &g.label == w) else {
            let have: Vec<&str> = data.groups.iter().map(|g| g.label.as_str()).collect();
            bail!(
                "--groups: no group {w:?} in the inputs (groups found: {})",
                have.join(", ")
            );
        };
        picked.push(data.groups.remove(i));
    }
    data.groups = picked;
    Ok(data)
}

/// The whole command: [`run`] into stdout, or into `config.output` written under a temporary
/// name and renamed when complete; both through one buffer (a table of many runs is many small
/// writes). A failed write or flush fails the command and leaves no file.
pub fn main(config: &Config, interrupt: &Interrupt) -> Result<Exit> {
    match &config.output {
        Some(path) => {
            let file = records::AtomicFile::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            run_buffered(config, interrupt, file)?.commit()?;
        }
        None => drop(run_buffered(config, interrupt, std::io::stdout().lock())?),
    }
    Ok(Exit::Success)
}

/// Run the command into `sink` through one buffer, and hand `sink` back once everything has
/// reached it.
fn run_buffered<W: Write>(config: &Config, interrupt: &Interrupt, sink: W) -> Result<W> {
    let mut out = BufWriter::new(sink);
    run(config, interrupt, &mut out)?;
    out.flush()?;
    out.into_inner().map_err(|e| e.into_error().into())
}

/// Read the inputs and run the command, writing data to `out`; stop when `interrupt` is set.
pub fn run(config: &Config, interrupt: &Interrupt, out: &mut dyn Write) -> Result<()> {
    // `requests` and `export` read results folders themselves (run records, request logs,
    // whole power columns), not the run tables the other commands share.
    if let Command::Requests { .. } | Command::Export { .. } = &config.command {
        return crate::requests::app::run(config, interrupt, out);
    }
    let data = read_inputs_until(&config.inputs, &config.read, interrupt)?;
    let data = select_groups(data, &config.groups)?;
    if interrupt.is_set() {
        bail!("interrupted");
    }
    if data.groups.is_empty() {
        bail!("no runs in the inputs");
    }
    // --modelled has already marked every run read as modelled.
    if data.modelled() {
        eprintln!(
            "energy-stats: note: the power in these runs was MODELLED by a simulator, not measured"
        );
    }
    match &config.command {
        Command::Runs { csv } => {
            if *csv {
                crate::runs::write_csv(&data, out)?;
            } else {
                crate::runs::write_jsonl(&data, out)?;
            }
        }
        Command::Report {
            format,
            latex_variable,
            column_prefix,
            options,
        } => {
            let rep = report::build(&data, options);
            if let Some(line) = report::left_out_summary(&rep.left_out) {
                eprintln!("energy-stats: {line}");
            }
            if rep.groups.iter().any(|g| g.runs_used == 0) {
                let empty: Vec<&str> = rep
                    .groups
                    .iter()
                    .filter(|g| g.runs_used == 0)
                    .map(|g| g.label.as_str())
                    .collect();
                eprintln!(
                    "energy-stats: warning: no usable runs in group(s) {}; their statistics are marked not computable",
                    empty.join(", ")
                );
            }
            let text = match format {
                ReportFormat::Markdown => report::markdown(&rep),
                ReportFormat::Json => {
                    let mut s =
                        serde_json::to_string_pretty(&rep).context("serialising the report")?;
                    s.push('\n');
                    s
                }
                ReportFormat::Latex if latex_variable == "study" => report::latex_study(&rep),
                ReportFormat::Latex => report::latex(&rep, latex_variable, column_prefix),
                ReportFormat::Html => {
                    let figures =
                        crate::figures::figures(&data, options.include_warmup, Some(&rep.study))?;
                    report::html(&rep, &figures)
                }
                ReportFormat::Csv => report::csv(&rep),
                ReportFormat::Headline => {
                    let mut s = report::headlines(&rep)?.join("\n");
                    s.push('\n');
                    s
                }
            };
            out.write_all(text.as_bytes())?;
        }
        Command::Plan { options, json } => {
            let rep = report::build(&data, options);
            if let Some(line) = report::left_out_summary(&rep.left_out) {
                eprintln!("energy-stats: {line}");
            }
            if *json {
                serde_json::to_writer_pretty(&mut *out, &rep.plan)
                    .context("serialising the plan")?;
                writeln!(out)?;
            } else if rep.plan.pairs.is_empty() {
                bail!("plan needs at least 2 groups to compare");
            } else {
                for line in rep.plan.lines() {
                    writeln!(out, "{line}")?;
                }
            }
        }
        Command::Requests { .. } | Command::Export { .. } => {}
        Command::Plot {
            out_dir,
            png,
            include_warmup,
        } => {
            let left = report::left_out(&data, *include_warmup);
            if let Some(line) = report::left_out_summary(&left) {
                eprintln!("energy-stats: {line}");
            }
            let written = crate::plot::write_all(&data, out_dir, *png, *include_warmup)?;
            for p in written {
                writeln!(out, "{}", p.display())?;
            }
        }
    }
    out.flush()?;
    Ok(())
}
