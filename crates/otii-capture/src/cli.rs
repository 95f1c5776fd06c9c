//! The command line of `otii-capture` and its validation into a [`Config`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use otii_capture::config::{self, Action, Config, ConfigError};
use otii_capture::{Fetch, RecordPlan, RunLabel, Which, DEFAULT_CHUNK};

/// Record and download the power of a run through the Otii 3 TCP protocol: a real Otii Arc
/// (the Otii 3 application with its TCP server on) or otii-sim.
///
/// Examples:
///   otii-capture devices
///   otii-capture configure --channels mc,mv,mp --rate 10000
///   otii-capture record --label 3.12 --run 1 --out data/out/minitwit312 \
///       --stdout requests.jsonl -- minitwit-load trigger --url http://127.0.0.1:5000
///   otii-capture fetch --recording last --out data/refetch
///
/// `record` and `fetch` write `<recording name>.csv.xz` into --out (the study's CSV layout)
/// and print one run record (JSON, schema run/1) on stdout; the study's MAIN_CURRENT /
/// MAIN_VOLTAGE / MAIN_POWER lines (the meter's own statistics) go to stderr.
///
/// Exit codes: 0 ok; 1 failure (a run record with status failed because the run itself
/// failed, the Otii refusing a command, or the disk full: "no space left on device", nothing
/// recorded); 2 usage; 75 infrastructure fault, nothing measured, retry (the meter unreachable,
/// no Arc connected, the connection reset or closed or silent mid-run, or the load command
/// itself exiting 75: the server was away; a failed run record is printed when the recording
/// had started); 130 interrupted (Ctrl-C: the recording is stopped, a failed run record
/// printed).
#[derive(Debug, Parser)]
#[command(version, verbatim_doc_comment)]
pub struct Cli {
    /// Address of the Otii TCP server (or otii-sim).
    #[arg(
        long,
        global = true,
        value_name = "HOST:PORT",
        env = "OTII_ADDR",
        default_value_t = otii_protocol::DEFAULT_ADDR.to_string()
    )]
    otii: String,
    /// Keep trying to connect for this many seconds.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 10.0)]
    connect_timeout: f64,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// List the devices the Otii sees (one JSON object per line).
    Devices,
    /// Enable channels on the first device and set their sample rate.
    Configure {
        /// Channels to enable, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "mc,mv,mp")]
        channels: Vec<String>,
        /// Samples per second for each of them (the study: 10000).
        #[arg(long, value_name = "HZ", default_value_t = 10_000)]
        rate: u32,
    },
    /// Record one run: configure, start recording, run COMMAND, stop, download, print the run record.
    Record {
        #[command(flatten)]
        run: RunArgs,
        /// Channels to record and download, comma-separated (CSV column order).
        #[arg(long, value_delimiter = ',', default_value = "mc,mv,mp")]
        channels: Vec<String>,
        /// Samples per second of every channel.
        #[arg(long, value_name = "HZ", default_value_t = 10_000)]
        rate: u32,
        /// Keep COMMAND's stdout in FILE (e.g. minitwit-load's request log); otherwise it is
        /// echoed to stderr. A JSON line with `duration_s` is read as the scenario summary.
        #[arg(long, value_name = "FILE")]
        stdout: Option<PathBuf>,
        #[command(flatten)]
        out: OutArgs,
        /// The scenario command and its arguments (after `--`).
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Download an existing recording again (after a crash, or to re-export).
    Fetch {
        /// `last`, or a recording id.
        #[arg(long, value_name = "last|ID", default_value = "last")]
        recording: String,
        #[command(flatten)]
        run: RunArgs,
        /// Channels to download, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "mc,mv,mp")]
        channels: Vec<String>,
        /// Scenario time to put in the run record, s (default: the recording's length).
        #[arg(long, value_name = "SECONDS")]
        duration_s: Option<f64>,
        #[command(flatten)]
        out: OutArgs,
    },
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Group label of the run record (the interpreter, e.g. 3.12).
    #[arg(long, default_value = "unlabelled")]
    label: String,
    /// Run index in the group.
    #[arg(long, default_value_t = 1)]
    run: u32,
    /// Run id joining the record to its request records.
    #[arg(long)]
    run_id: Option<String>,
}

#[derive(Debug, Args)]
struct OutArgs {
    /// Directory for the trace file (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Values per data request.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CHUNK)]
    chunk: u64,
    /// xz preset 0-9 (default 1: see docs/otii.md for why).
    #[arg(long, value_name = "N", default_value_t = 1)]
    xz_preset: u32,
    /// xz encoder threads (0: one per CPU, at most 4).
    #[arg(long, value_name = "N", default_value_t = 0)]
    xz_threads: u32,
    /// Print where the time went (protocol, CSV, xz) and peak memory as JSON on stderr.
    #[arg(long)]
    timings: bool,
}

impl From<RunArgs> for RunLabel {
    fn from(r: RunArgs) -> Self {
        RunLabel {
            label: r.label,
            run: r.run,
            run_id: r.run_id,
        }
    }
}

impl OutArgs {
    fn fetch(self, channels: &[String]) -> Result<(Fetch, bool), ConfigError> {
        let fetch = Fetch::new(
            channels,
            self.out,
            self.chunk,
            self.xz_preset,
            self.xz_threads,
        )?;
        Ok((fetch, self.timings))
    }
}

impl TryFrom<Cli> for Config {
    type Error = ConfigError;

    fn try_from(cli: Cli) -> Result<Self, ConfigError> {
        let connect_timeout = config::connect_timeout(cli.connect_timeout)?;
        let action = match cli.command {
            Cmd::Devices => Action::Devices,
            Cmd::Configure { channels, rate } => Action::Configure {
                channels: config::analog_channels(&channels)?,
                rate: config::sample_rate(rate)?,
            },
            Cmd::Record {
                run,
                channels,
                rate,
                stdout,
                out,
                command,
            } => {
                let rate_hz = config::sample_rate(rate)?;
                let (fetch, timings) = out.fetch(&channels)?;
                Action::Record {
                    plan: RecordPlan {
                        label: run.into(),
                        rate_hz,
                        command,
                        stdout_file: stdout,
                        fetch,
                    },
                    timings,
                }
            }
            Cmd::Fetch {
                recording,
                run,
                channels,
                duration_s,
                out,
            } => {
                let which = recording.parse::<Which>()?;
                let duration_s = config::duration_s(duration_s)?;
                let (fetch, timings) = out.fetch(&channels)?;
                Action::Fetch {
                    which,
                    label: run.into(),
                    duration_s,
                    fetch,
                    timings,
                }
            }
        };
        Ok(Config {
            addr: cli.otii,
            connect_timeout,
            action,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_debug_assert() {
        Cli::command().debug_assert();
    }

    #[test]
    fn record_needs_a_command_and_valid_channels() {
        assert!(Cli::try_parse_from(["otii-capture", "record", "--out", "x"]).is_err());
        let cli = Cli::try_parse_from([
            "otii-capture",
            "record",
            "--out",
            "x",
            "--channels",
            "mc,zz",
            "--",
            "true",
        ])
        .unwrap();
        assert!(Config::try_from(cli).is_err());
        let cli = Cli::try_parse_from(["otii-capture", "fetch", "--out", "x", "--recording", "3"])
            .unwrap();
        assert!(matches!(
            Config::try_from(cli).unwrap().action,
            Action::Fetch {
                which: Which::Id(3),
                ..
            }
        ));
    }
}
