//! The command line of `otii-sim` and its validation into a [`Config`].

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{anyhow, bail};
use clap::{Parser, ValueEnum};
use otii_sim::{Config, Fault, ModelConfig, PidSource, PowerParams};

/// A simulated Qoitech Otii 3 TCP server with one simulated Arc. Its power is MODELLED, not
/// measured: every client is told so (greeting `"server": "otii-sim"`, device name).
///
/// Examples:
///   otii-sim                                    # synthetic power on the Otii's default port
///   otii-sim --listen 127.0.0.1:0 --port-file /tmp/otii.port
///   otii-sim --preload 150 --rate 10000         # one finished study-sized recording
///   otii-sim --model cpu --pid-file /run/gunicorn.pid   # power follows gunicorn's CPU use
///
/// On start it prints one JSON line on stdout, e.g.
/// {"listening":"127.0.0.1:40213","simulated":true,"power_model":"synthetic"},
/// so a script can learn the port (or use --port-file). Exit codes: 0 ok, 1 failure
/// (e.g. the address is in use), 2 usage, 130 stopped (Ctrl-C or SIGTERM).
#[derive(Debug, Parser)]
#[command(version, verbatim_doc_comment)]
pub struct Cli {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value_t = otii_protocol::DEFAULT_ADDR)]
    listen: SocketAddr,
    /// Write the bound port (one line) to FILE once listening.
    #[arg(long, value_name = "FILE")]
    port_file: Option<PathBuf>,
    /// Sample rate of every channel, per second, until a client changes it (1 to 50000).
    #[arg(long, value_name = "HZ", default_value_t = 1000)]
    rate: u32,
    /// Start with one finished recording of this many seconds (synthetic power).
    #[arg(long, value_name = "SECONDS")]
    preload: Option<f64>,
    /// Power model: synthetic (deterministic bursts for --seed) or cpu (follows --pid/--pid-file).
    #[arg(long, value_enum, default_value_t = Model::Synthetic)]
    model: Model,
    /// Seed of the synthetic load and of the noise.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// cpu model: process id whose tree (it and all its descendants) is followed.
    #[arg(long, value_name = "PID", conflicts_with = "pid_file")]
    pid: Option<u32>,
    /// cpu model: file holding the process id, re-read at each recording start.
    #[arg(long, value_name = "FILE")]
    pid_file: Option<PathBuf>,
    /// cpu model: load samples per second (100 to 1000).
    #[arg(long, value_name = "HZ", default_value_t = 200.0)]
    load_hz: f64,
    /// cpu model: this many CPUs fully used by the tree count as full load.
    #[arg(long, value_name = "N", default_value_t = 1.0)]
    busy_cpus: f64,
    /// synthetic model: power at zero load, W (the study's Raspberry Pi: about 1.13 W). The cpu
    /// model has no idle draw: its energy is --busy-w joules per CPU-second of the tree.
    #[arg(long, value_name = "W", default_value_t = 1.13)]
    idle_w: f64,
    /// Power at full load, W (the study's Raspberry Pi: about 1.7 W): per busy CPU for the cpu
    /// model.
    #[arg(long, value_name = "W", default_value_t = 1.70)]
    busy_w: f64,
    /// Main output voltage, V.
    #[arg(long, value_name = "V", default_value_t = 5.0)]
    voltage: f64,
    /// Standard deviation of the power noise, W.
    #[arg(long, value_name = "W", default_value_t = 0.012)]
    noise_w: f64,
    /// Inject a fault (repeatable): drop-after-chunks:N, drop-once-after-chunks:N (only the first
    /// connection that gets there), error:CMD, stall:CMD:SECONDS, no-devices,
    /// progress (a progress message before every data answer, which a real Otii never sends).
    #[arg(long, value_name = "FAULT")]
    fault: Vec<Fault>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Model {
    Synthetic,
    Cpu,
}

impl TryFrom<Cli> for Config {
    type Error = anyhow::Error;

    fn try_from(cli: Cli) -> anyhow::Result<Self> {
        otii_protocol::sample_rate(i64::from(cli.rate)).map_err(|e| anyhow!("--rate {e}"))?;
        if let Some(p) = cli.preload {
            if !(p.is_finite() && p > 0.0 && p <= 24.0 * 3600.0) {
                bail!("--preload {p}: expected a positive number of seconds (at most a day)");
            }
        }
        if !(cli.idle_w >= 0.0 && cli.busy_w >= cli.idle_w) {
            bail!(
                "--idle-w {} / --busy-w {}: need 0 ≤ idle ≤ busy",
                cli.idle_w,
                cli.busy_w
            );
        }
        if !(0.5..=5.0).contains(&cli.voltage) {
            bail!(
                "--voltage {}: the Arc's main output is 0.5 to 5 V",
                cli.voltage
            );
        }
        let model = match cli.model {
            Model::Synthetic => {
                if cli.pid.is_some() || cli.pid_file.is_some() {
                    bail!("--pid/--pid-file need --model cpu");
                }
                ModelConfig::Synthetic
            }
            Model::Cpu => {
                let pid = match (cli.pid, cli.pid_file) {
                    (Some(p), _) => PidSource::Pid(p),
                    (None, Some(f)) => PidSource::File(f),
                    (None, None) => bail!("--model cpu needs --pid PID or --pid-file FILE"),
                };
                if !(100.0..=1000.0).contains(&cli.load_hz) {
                    bail!("--load-hz {}: expected 100 to 1000", cli.load_hz);
                }
                if cli.busy_cpus.is_nan() || cli.busy_cpus <= 0.0 {
                    bail!("--busy-cpus must be positive");
                }
                ModelConfig::Cpu {
                    pid,
                    load_hz: cli.load_hz,
                    busy_cpus: cli.busy_cpus,
                }
            }
        };
        Ok(Config {
            listen: cli.listen,
            rate_hz: cli.rate,
            preload_s: cli.preload,
            model,
            params: PowerParams {
                idle_w: cli.idle_w,
                busy_w: cli.busy_w,
                supply_v: cli.voltage,
                noise_w: cli.noise_w.max(0.0),
                ..PowerParams::default()
            },
            seed: cli.seed,
            faults: cli.fault,
            // Read before any thread starts: the time crate refuses it afterwards.
            utc_offset: time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC),
            port_file: cli.port_file,
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
    fn cpu_model_needs_a_pid() {
        let cli = Cli::try_parse_from(["otii-sim", "--model", "cpu"]).unwrap();
        assert!(Config::try_from(cli).is_err());
        let cli = Cli::try_parse_from(["otii-sim", "--model", "cpu", "--pid", "1"]).unwrap();
        assert_eq!(Config::try_from(cli).unwrap().model.name(), "cpu");
    }

    #[test]
    fn bad_rate_is_refused() {
        let cli = Cli::try_parse_from(["otii-sim", "--rate", "60000"]).unwrap();
        assert!(Config::try_from(cli).is_err());
    }
}
