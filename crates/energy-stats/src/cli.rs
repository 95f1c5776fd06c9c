//! The command line of `energy-stats` (clap), and its validation into a library [`Config`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use energy_stats::app::{
    anderson_table, cache_from, Command, Config, ReportFormat, RequestsFormat,
};
use energy_stats::input::{ReadOptions, SessionOptions};
use energy_stats::plan::PlanOptions;
use energy_stats::report::ReportOptions;

const AFTER_HELP: &str = "\
INPUTS (any mix):
  DIR         a group directory in the study's layout (data/out/minitwit312/): label from the
              folder name (minitwit312 -> 3.12, any other name is its own label); runs from
              runs.jsonl, else log.txt, else the *.csv.xz traces alone
  FILE.jsonl  run records (JSON Lines, as otii-capture writes them) or rows of `runs`
  FILE.csv    the table `runs --format csv` writes, or any table with at least
              label,power_w,duration_s (power_avg_w for power_w; optional run)
  log.txt     one study log; the label comes from its folder
  -           a run table on stdin (JSON Lines or CSV), e.g. the output of `energy-stats runs`

EXAMPLES:
  energy-stats report data/out/minitwit*/                 Markdown report of the study
  energy-stats report data/out/minitwit*/ --format latex  the study's LaTeX table
  energy-stats report data/out/minitwit*/ --format headline   the verdicts, one line each
  energy-stats report data/demo/out/*/ --format html -o report.html   one page, figures inline
  energy-stats report DIR… --format latex --variable study    the study's table beside yours
  energy-stats runs data/out/minitwit312 --format csv     per-run table
  energy-stats runs data/out/minitwit* | energy-stats report -   the same report, piped
  energy-stats plot data/out/minitwit*/ --out figures     the study's figures as SVG
  energy-stats plan data/demo/*/ --difference 2           runs per interpreter to tell 2 % apart
  energy-stats requests data/demo/out/*/ --format md      energy per request and endpoint
  energy-stats export --parquet study.parquet data/demo/out/*/   samples, runs, requests as Parquet

EXIT CODES: 0 ok, 1 failure (bad input: the message names file and line), 2 usage,
130 interrupted.";

/// The study's analysis without a notebook: SciPy-exact statistics, tables, LaTeX and plots.
#[derive(Debug, Parser)]
#[command(name = "energy-stats", version, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// The per-run table: label, run, power, time, energy, trace energy, source; then the
    /// idle-baseline runs. Reads back as an input (`energy-stats runs … | energy-stats report -`).
    Runs {
        #[command(flatten)]
        common: Common,
        /// jsonl (one JSON object per run) or csv.
        #[arg(long, value_enum, default_value_t = RunsFormat::Jsonl)]
        format: RunsFormat,
    },
    /// Describe tables, normality and group tests, pairwise verdicts, run-order diagnostics.
    Report {
        #[command(flatten)]
        common: Common,
        /// markdown, json (the stable document of docs/energy-stats.md), latex, csv, headline
        /// (one sentence per interpreter compared with the first, and the study's ordering), or
        /// html (one self-contained page: tables, verdicts, every figure inline as SVG).
        #[arg(long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
        /// Column prefix of the LaTeX table.
        #[arg(long, default_value = "CPython ")]
        column_prefix: String,
        /// Variable of the LaTeX table: energy, power, duration, trace-energy or above-baseline
        /// (energy above the idle baseline, when a baseline.jsonl was found); or study: the
        /// study's published table beside this machine's, as a second table.
        #[arg(long, default_value = "energy")]
        variable: String,
        /// Anderson–Darling critical values: classical (Stephens 1974, the study's, SciPy ≤ 1.16)
        /// or dagostino (SciPy ≥ 1.17).
        #[arg(long, default_value = "classical")]
        anderson_table: String,
    },
    /// How many runs: from a pilot or a finished experiment, per pair of groups, the runs per
    /// group to tell a difference apart (two-sample t-test, statsmodels' TTestIndPower) and to
    /// bring the interval of the % difference down to a half-width, at the report's level
    /// (α = 0.05, Bonferroni over the pairs).
    Plan {
        #[command(flatten)]
        common: Common,
        /// The difference of mean energy to tell apart, in %.
        #[arg(long, default_value_t = 2.0)]
        difference: f64,
        /// The power wanted, between 0 and 1.
        #[arg(long, default_value_t = 0.8)]
        power: f64,
        /// The half-width wanted of the interval of the % difference, in percentage points.
        #[arg(long, default_value_t = 1.0)]
        half_width: f64,
        /// text (one sentence per pair) or json.
        #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
        format: PlanFormat,
    },
    /// Energy per request and per endpoint: each run's request log (requests/run-NNN.jsonl)
    /// joined to its trace. The energy above the idle baseline in each sample interval goes in
    /// equal shares to the requests in flight; intervals with none are "between requests".
    /// Baseline: the group's baseline recording nearest before the run, else the trace's 5th
    /// percentile. Per interpreter and endpoint: count, mean energy per request with a 95 %
    /// t interval across runs, mean latency, share of the run's energy (docs/requests.md).
    /// Inputs: results folders (OUT/minitwit312/).
    Requests {
        #[command(flatten)]
        common: Common,
        /// json (the document of docs/requests.md), csv or md (Markdown).
        #[arg(long, value_enum, default_value_t = ReqFormat::Md)]
        format: ReqFormat,
    },
    /// The study as a Parquet dataset partitioned by interpreter and run (hive style,
    /// samples/label=3.12/run=4/part-0.parquet, and runs/, requests/), for polars, DuckDB,
    /// pandas or Spark (docs/requests.md). Prints the files written. Inputs: results folders.
    Export {
        #[command(flatten)]
        common: Common,
        /// The dataset's folder (created if missing; files of the same runs are replaced).
        #[arg(long, value_name = "DIR")]
        parquet: PathBuf,
    },
    /// The study's figures: traces, mean traces, box plots, histograms, run order.
    Plot {
        #[command(flatten)]
        common: Common,
        /// Directory to write the figures into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// svg or png.
        #[arg(long, value_enum, default_value_t = PlotFormat::Svg)]
        format: PlotFormat,
    },
}

#[derive(Debug, Args)]
struct Common {
    /// Group directories, run tables, log.txt files, or - for stdin.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Only these groups, in this order (comma-separated labels, e.g. 3.10,3.12).
    #[arg(long, value_delimiter = ',')]
    groups: Vec<String>,
    /// Turn a bad log block or a corrupt trace into a failed run instead of stopping.
    #[arg(long)]
    keep_going: bool,
    /// Do not read trace files (faster; no trace energy, no trace plots).
    #[arg(long)]
    no_traces: bool,
    /// Decode every trace again instead of using the cache of decoded traces.
    #[arg(long)]
    no_cache: bool,
    /// Cache directory [default: $ENERGY_STATS_CACHE, else $XDG_CACHE_HOME/cpython-energy/energy-stats].
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Worker threads for reading traces (0 = one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Say in every output that the power was modelled, not measured (automatic for runs
    /// recorded with the simulator, meter otii-sim).
    #[arg(long)]
    modelled: bool,
    /// Keep warm-up runs (runs whose record or row says warmup) in the statistics.
    #[arg(long)]
    include_warmup: bool,
    /// Only the runs of this recording session (s1, s2, …; the plan file lists them), under
    /// their plain labels: e.g. an added version against the reference run beside it.
    #[arg(long, value_name = "ID", conflicts_with = "by_session")]
    session: Option<String>,
    /// Every session's runs of an interpreter as a group of their own (3.12@s1, 3.12@s2).
    /// By default an interpreter's group is its earliest session's runs and only later ones
    /// (an added version's reference runs) are split off as label@session.
    #[arg(long)]
    by_session: bool,
    /// Also read the sets a redo moved aside (OUT/archive/, given as an input or found among
    /// the inputs), each as a group label@session-archived; skipped by default.
    #[arg(long)]
    include_archived: bool,
    /// Adjust each run's energy by the machine's speed measured beside it (the run record's
    /// speed_probe, which experiment writes for a server on its own machine): one slope fitted
    /// within the interpreters; every interpreter's mean stays, the spread that follows the
    /// machine's speed goes (docs/method.md, "The machine's speed"). For the demo on a shared
    /// machine; the study's energies are never adjusted.
    #[arg(long)]
    speed_adjust: bool,
    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RunsFormat {
    Jsonl,
    Csv,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Markdown,
    Json,
    Latex,
    Csv,
    Headline,
    Html,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ReqFormat {
    Json,
    Csv,
    Md,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PlanFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PlotFormat {
    Svg,
    Png,
}

/// The LaTeX variable a `--variable` value names.
fn latex_variable(name: &str) -> anyhow::Result<String> {
    Ok(match name {
        "energy" | "energy_j" => "energy_j",
        "power" | "power_w" => "power_w",
        "duration" | "duration_s" | "time" => "duration_s",
        "trace-energy" | "trace_energy_j" => "trace_energy_j",
        "above-baseline" | "energy_above_baseline_j" => "energy_above_baseline_j",
        "study" => "study",
        other => anyhow::bail!(
            "--variable {other:?}: use energy, power, duration, trace-energy, above-baseline or study"
        ),
    }
    .to_string())
}

/// `requests` and `export` read results folders: traces and request logs, which a pipe cannot
/// carry.
fn refuse_stdin(common: &Common, command: &str) -> anyhow::Result<()> {
    if common.inputs.iter().any(|p| p.as_os_str() == "-") {
        anyhow::bail!(
            "- (stdin): {command} reads results folders (OUT/minitwit312/) with their traces and request logs; give the folders"
        );
    }
    Ok(())
}

/// Validation into the library's configuration; an error is a usage error (exit 2).
impl TryFrom<Cli> for Config {
    type Error = anyhow::Error;

    fn try_from(cli: Cli) -> anyhow::Result<Config> {
        let (common, command) = match cli.command {
            Sub::Runs { common, format } => {
                let csv = matches!(format, RunsFormat::Csv);
                (common, Command::Runs { csv })
            }
            Sub::Report {
                common,
                format,
                column_prefix,
                variable,
                anderson_table: table,
            } => {
                let options = ReportOptions {
                    anderson_table: anderson_table(&table)?,
                    include_warmup: common.include_warmup,
                    plan: PlanOptions::default(),
                };
                let format = match format {
                    Format::Markdown => ReportFormat::Markdown,
                    Format::Json => ReportFormat::Json,
                    Format::Latex => ReportFormat::Latex,
                    Format::Csv => ReportFormat::Csv,
                    Format::Headline => ReportFormat::Headline,
                    Format::Html => ReportFormat::Html,
                };
                let latex_variable = latex_variable(&variable)?;
                let command = Command::Report {
                    format,
                    latex_variable,
                    column_prefix,
                    options,
                };
                (common, command)
            }
            Sub::Plan {
                common,
                difference,
                power,
                half_width,
                format,
            } => {
                if !(difference.is_finite() && difference > 0.0) {
                    anyhow::bail!("--difference {difference}: give a difference above 0 (in %)");
                }
                if !(power > 0.0 && power < 1.0) {
                    anyhow::bail!("--power {power}: give a power between 0 and 1, e.g. 0.8");
                }
                if !(half_width.is_finite() && half_width > 0.0) {
                    anyhow::bail!("--half-width {half_width}: give a half-width above 0 (in %)");
                }
                let options = ReportOptions {
                    include_warmup: common.include_warmup,
                    plan: PlanOptions {
                        difference_pct: difference,
                        power,
                        half_width_pct: half_width,
                    },
                    ..ReportOptions::default()
                };
                let json = matches!(format, PlanFormat::Json);
                (common, Command::Plan { options, json })
            }
            Sub::Requests { common, format } => {
                refuse_stdin(&common, "requests")?;
                let format = match format {
                    ReqFormat::Json => RequestsFormat::Json,
                    ReqFormat::Csv => RequestsFormat::Csv,
                    ReqFormat::Md => RequestsFormat::Markdown,
                };
                (common, Command::Requests { format })
            }
            Sub::Export { common, parquet } => {
                refuse_stdin(&common, "export")?;
                (common, Command::Export { dir: parquet })
            }
            Sub::Plot {
                common,
                out,
                format,
            } => {
                if common.no_traces {
                    eprintln!(
                        "energy-stats: note: --no-traces: only the per-run figures are drawn"
                    );
                }
                let command = Command::Plot {
                    out_dir: out,
                    png: matches!(format, PlotFormat::Png),
                    include_warmup: common.include_warmup,
                };
                (common, command)
            }
        };
        if common
            .inputs
            .iter()
            .filter(|p| p.as_os_str() == "-")
            .count()
            > 1
        {
            anyhow::bail!("- (stdin) can be given only once");
        }
        let cache = cache_from(common.no_cache, common.cache_dir);
        Ok(Config {
            inputs: common.inputs,
            groups: common.groups,
            read: ReadOptions {
                keep_going: common.keep_going,
                read_traces: !common.no_traces,
                load: Config::load_options(common.threads, cache),
                modelled: common.modelled,
                sessions: SessionOptions {
                    session: common.session,
                    by_session: common.by_session,
                    include_archived: common.include_archived,
                },
                speed_adjust: common.speed_adjust,
            },
            command,
            output: common.output,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
