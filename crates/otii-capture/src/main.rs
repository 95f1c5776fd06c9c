//! `otii-capture`: the command-line edge of the otii-capture library.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use otii_capture::record::{configure, first_device};
use otii_capture::{
    connect, fetch_existing, peak_rss_bytes, record, Download, Fetch, RecordPlan, RunLabel, Which,
    XzSettings, DEFAULT_CHUNK,
};
use records::{is_broken_pipe, JsonLinesWriter, RunRecord};

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
/// Exit codes: 0 ok; 1 failure (connection, no device, or a run record with status failed);
/// 2 usage; 130 interrupted (Ctrl-C: the recording is stopped, a failed run record printed).
#[derive(Debug, Parser)]
#[command(version, verbatim_doc_comment)]
pub struct Cli {
    /// Address of the Otii TCP server (or otii-sim).
    #[arg(
        long,
        global = true,
        value_name = "HOST:PORT",
        env = "OTII_ADDR",
        default_value = "127.0.0.1:1905"
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

/// A validated command line.
#[derive(Debug)]
struct Config {
    addr: String,
    connect_timeout: Duration,
    action: Action,
}

#[derive(Debug)]
enum Action {
    Devices,
    Configure {
        channels: Vec<String>,
        rate: u32,
    },
    Record {
        plan: RecordPlan,
        timings: bool,
    },
    Fetch {
        which: Which,
        label: RunLabel,
        duration_s: Option<f64>,
        fetch: Fetch,
        timings: bool,
    },
}

const CHANNELS: [&str; 14] = [
    "mc", "mv", "mp", "ac", "av", "ap", "sn", "sp", "vb", "vj", "tp", "rx", "i1", "i2",
];

fn check_channels(channels: &[String]) -> anyhow::Result<()> {
    if channels.is_empty() {
        bail!("--channels: give at least one channel");
    }
    for c in channels {
        if !CHANNELS.contains(&c.as_str()) || matches!(c.as_str(), "rx" | "i1" | "i2") {
            bail!("--channels: {c:?} is not an analog channel (mc mv mp ac av ap sn sp vb vj tp)");
        }
    }
    Ok(())
}

fn check_rate(rate: u32) -> anyhow::Result<()> {
    if !(1..=50_000).contains(&rate) {
        bail!("--rate {rate}: the Arc samples at 1 to 50000 per second");
    }
    Ok(())
}

impl OutArgs {
    fn fetch(self, channels: Vec<String>) -> anyhow::Result<(Fetch, bool)> {
        check_channels(&channels)?;
        if self.xz_preset > 9 {
            bail!("--xz-preset {}: expected 0 to 9", self.xz_preset);
        }
        if self.chunk == 0 || self.chunk > 1_000_000 {
            bail!("--chunk {}: expected 1 to 1000000", self.chunk);
        }
        let mut xz = XzSettings {
            preset: self.xz_preset,
            ..XzSettings::default()
        };
        if self.xz_threads > 0 {
            xz.threads = self.xz_threads;
        }
        Ok((
            Fetch {
                channels,
                out_dir: self.out,
                chunk: self.chunk,
                xz,
            },
            self.timings,
        ))
    }
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

impl TryFrom<Cli> for Config {
    type Error = anyhow::Error;

    fn try_from(cli: Cli) -> anyhow::Result<Self> {
        let connect_timeout = Duration::try_from_secs_f64(cli.connect_timeout).map_err(|_| {
            anyhow::anyhow!(
                "--connect-timeout {}: expected seconds ≥ 0",
                cli.connect_timeout
            )
        })?;
        let action = match cli.command {
            Cmd::Devices => Action::Devices,
            Cmd::Configure { channels, rate } => {
                check_channels(&channels)?;
                check_rate(rate)?;
                Action::Configure { channels, rate }
            }
            Cmd::Record {
                run,
                channels,
                rate,
                stdout,
                out,
                command,
            } => {
                check_rate(rate)?;
                let (fetch, timings) = out.fetch(channels)?;
                Action::Record {
                    plan: RecordPlan {
                        label: run.into(),
                        rate_hz: rate,
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
                let which = match recording.as_str() {
                    "last" => Which::Last,
                    id => Which::Id(id.parse().map_err(|_| {
                        anyhow::anyhow!("--recording {id:?}: expected `last` or a recording id")
                    })?),
                };
                if let Some(d) = duration_s {
                    if !(d.is_finite() && d >= 0.0) {
                        bail!("--duration-s {d}: expected seconds ≥ 0");
                    }
                }
                let (fetch, timings) = out.fetch(channels)?;
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

fn print_timings(dl: Option<&Download>) {
    let peak = peak_rss_bytes();
    let v = match dl {
        Some(d) => serde_json::json!({
            "samples": d.samples,
            "total_s": d.timings.total.as_secs_f64(),
            "protocol_s": d.timings.protocol.as_secs_f64(),
            "csv_s": d.timings.write.csv.as_secs_f64(),
            "xz_s": d.timings.write.xz.as_secs_f64(),
            "csv_bytes": d.trace.csv_bytes,
            "xz_bytes": d.trace.xz_bytes,
            "peak_rss_bytes": peak,
        }),
        None => serde_json::json!({ "peak_rss_bytes": peak }),
    };
    eprintln!("timings: {v}");
}

fn emit(rec: &RunRecord) -> anyhow::Result<()> {
    let mut w = JsonLinesWriter::new(io::stdout().lock());
    w.write(rec).context("writing the run record to stdout")
}

/// Runs the action; `Ok(false)` means a run record with status failed was printed.
fn run(cfg: Config) -> anyhow::Result<bool> {
    let mut client = connect(&cfg.addr, cfg.connect_timeout)?;
    client
        .ensure_license()
        .context("reserving an Automation licence")?;
    let mut err = io::stderr();
    let ok = match cfg.action {
        Action::Devices => {
            let mut out = io::stdout().lock();
            for d in client.devices(3.0)? {
                let line =
                    serde_json::json!({"type": d.kind, "device_id": d.device_id, "name": d.name});
                writeln!(out, "{line}")?;
            }
            true
        }
        Action::Configure { channels, rate } => {
            let dev = first_device(&mut client)?;
            configure(&mut client, &dev.device_id, &channels, rate)?;
            eprintln!(
                "otii-capture: {} ({}): {} enabled at {rate} Hz",
                dev.name,
                dev.device_id,
                channels.join(",")
            );
            true
        }
        Action::Record { plan, timings } => {
            std::fs::create_dir_all(&plan.fetch.out_dir)
                .with_context(|| format!("cannot create {}", plan.fetch.out_dir.display()))?;
            // Fail before recording, not after, when the command's log cannot be written.
            if let Some(dir) = plan.stdout_file.as_deref().and_then(|p| p.parent()) {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                }
            }
            let (rec, dl) = record(&mut client, &plan, &mut err)?;
            if timings {
                print_timings(dl.as_ref());
            }
            emit(&rec)?;
            if let Some(r) = &rec.reason {
                eprintln!("otii-capture: run failed: {r}");
            }
            rec.is_ok()
        }
        Action::Fetch {
            which,
            label,
            duration_s,
            fetch,
            timings,
        } => {
            std::fs::create_dir_all(&fetch.out_dir)
                .with_context(|| format!("cannot create {}", fetch.out_dir.display()))?;
            let (rec, dl) =
                fetch_existing(&mut client, which, &label, duration_s, &fetch, &mut err)?;
            if timings {
                print_timings(dl.as_ref());
            }
            emit(&rec)?;
            if let Some(r) = &rec.reason {
                eprintln!("otii-capture: fetch failed: {r}");
            }
            rec.is_ok()
        }
    };
    // Returning licences is courtesy; a dead connection must not turn a good run into a failure.
    if let Err(e) = client.close() {
        eprintln!("otii-capture: warning: returning the licence: {e}");
    }
    Ok(ok)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Ctrl-C also reaches the scenario command (same process group); we then stop the
    // recording cleanly instead of dying with the Otii still recording.
    let _ = ctrlc::set_handler(otii_capture::request_interrupt);
    let cfg = match Config::try_from(cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("otii-capture: {}", records::error_chain(e.as_ref()));
            return ExitCode::from(2);
        }
    };
    let result = run(cfg);
    if otii_capture::interrupted() {
        if let Err(e) = &result {
            eprintln!("otii-capture: {}", records::error_chain(e.as_ref()));
        }
        return ExitCode::from(130);
    }
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) if is_broken_pipe(e.as_ref()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("otii-capture: {}", records::error_chain(e.as_ref()));
            ExitCode::FAILURE
        }
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
