//! One attempt at a run, and what ended it: recorded, the run's own failure, an
//! infrastructure fault (the meter or the server away: the run is repeated, not counted), a
//! stop (Ctrl-C, a full disk, a wrong setup). The warm-up runs and the idle baseline after a
//! server start are told apart the same way.
//!
//! The tools say which fault it was by their exit code (75: something outside the run was
//! away; `docs/formats.md`, "Fault kinds and exit codes"); the experiment adds its own checks:
//! a server that fails to start again, or that no longer answers its readiness probe after a
//! failed run, is away too.

use anyhow::{anyhow, Context};
use records::{RunRecord, Status};

use crate::check::validate;
use crate::plan::PlanEntry;
use crate::runner::{Config, Interrupted};
use crate::server::Server;
use crate::speed::Probe;
use crate::store::{no_space_in, DiskFull, Store};
use crate::summary::Away;
use crate::toolrun::{run_tool, ToolRun};
use crate::tools::{capture_command, load_command, parse_run_record, reset_command};
use procs::Interrupt;

/// What was away, and the cause the tool (or the probe) gave.
#[derive(Debug, Clone)]
pub(crate) struct Infra {
    /// The meter or the server.
    pub away: Away,
    /// Its address or URL.
    pub target: String,
    /// The cause, first.
    pub cause: String,
}

impl Infra {
    /// `the meter at ADDR` / `the server at URL`.
    pub fn what(&self) -> String {
        match self.away {
            Away::Meter => format!("the meter at {}", self.target),
            Away::Server => format!("the server at {}", self.target),
        }
    }
}

/// Why an attempt did not record its run.
pub(crate) enum RunError {
    /// Ctrl-C.
    Interrupted,
    /// The run's own failure (re-queued up to `--retries`).
    Failed(String),
    /// The meter or the server was away: the run is repeated once it is back.
    Away(Infra),
    /// The experiment cannot go on (a full disk, a setup that does not work).
    Fatal(anyhow::Error),
}

impl From<anyhow::Error> for RunError {
    fn from(e: anyhow::Error) -> Self {
        if e.downcast_ref::<Interrupted>().is_some() {
            RunError::Interrupted
        } else if e.downcast_ref::<DiskFull>().is_some() {
            RunError::Fatal(e)
        } else {
            RunError::Failed(records::error_chain(e.as_ref()))
        }
    }
}

type Attempt<T> = std::result::Result<T, RunError>;

fn meter_away(cfg: &Config, cause: String) -> RunError {
    RunError::Away(Infra {
        away: Away::Meter,
        target: cfg.otii.clone().unwrap_or_default(),
        cause,
    })
}

fn server_away(server: &dyn Server, cause: String) -> RunError {
    RunError::Away(Infra {
        away: Away::Server,
        target: server.url(),
        cause,
    })
}

fn tool(cmd: std::process::Command, what: &str, interrupt: &Interrupt) -> Attempt<ToolRun> {
    let out = run_tool(cmd, interrupt)
        .with_context(|| what.to_owned())
        .map_err(RunError::Fatal)?;
    if interrupt.is_set() {
        return Err(RunError::Interrupted);
    }
    Ok(out)
}

/// The otii-capture line of a full disk (no record, exit 1) as the experiment's stop.
fn disk_full(out: &ToolRun, what: String) -> Option<RunError> {
    let line = out.last_err.as_deref()?;
    line.contains("no space left on device").then(|| {
        RunError::Fatal(
            DiskFull {
                what,
                cause: line.to_owned(),
            }
            .into(),
        )
    })
}

/// `minitwit-load reset`: MiniTwit's database back to the seed before every run.
fn reset(cfg: &Config, server: &mut dyn Server, interrupt: &Interrupt) -> Attempt<()> {
    let out = tool(
        reset_command(cfg, server),
        "resetting MiniTwit's database",
        interrupt,
    )?;
    if out.unavailable() {
        return Err(server_away(server, out.cause()));
    }
    if !out.status.success() {
        if let Err(why) = server.probe() {
            return Err(server_away(server, why));
        }
        return Err(RunError::Failed(format!(
            "resetting MiniTwit's database at {} failed ({}): {}",
            server.url(),
            out.status,
            out.cause()
        )));
    }
    Ok(())
}

/// Makes sure the server runs `label`; a failed start is the server away when it may be
/// (see [`Server::start_failure_is_away`]). Returns whether it (re)started.
pub(crate) fn ensure_server(
    server: &mut dyn Server,
    label: &str,
    interrupt: &Interrupt,
) -> Attempt<bool> {
    match server.ensure(label) {
        Ok(started) => Ok(started),
        Err(_) if interrupt.is_set() => Err(RunError::Interrupted),
        Err(e) if server.start_failure_is_away(label) => Err(server_away(
            server,
            format!(
                "starting MiniTwit under {label}: {}",
                records::error_chain(e.as_ref())
            ),
        )),
        Err(e) => Err(RunError::Fatal(e)),
    }
}

/// Warm-up runs (discarded) and the idle baseline after a server start.
pub(crate) fn after_start(
    cfg: &Config,
    server: &mut dyn Server,
    store: &Store,
    label: &str,
    session: &str,
    interrupt: &Interrupt,
) -> Attempt<()> {
    for i in 1..=cfg.warmup {
        reset(cfg, server, interrupt)?;
        let load = load_command(
            cfg,
            server,
            None,
            &format!("warmup-{label}-{i}"),
            cfg.warmup_repeat,
        );
        let out = tool(load, "warm-up run", interrupt)?;
        if out.unavailable() {
            return Err(server_away(server, out.cause()));
        }
        if !out.status.success() {
            if let Err(why) = server.probe() {
                return Err(server_away(server, why));
            }
            return Err(RunError::Fatal(anyhow!(
                "warm-up run {i} of {label} failed ({}: {}); is MiniTwit healthy?",
                out.status,
                out.cause()
            )));
        }
        eprintln!(
            "experiment: {label}: warm-up run {i} of {} done (discarded)",
            cfg.warmup
        );
    }
    if !cfg.baseline.is_zero() {
        let staging = store.staging().map_err(RunError::Fatal)?;
        let mut cmd = capture_command(cfg, label, 0, &staging, &format!("baseline-{label}"));
        cmd.arg("--")
            .arg("sleep")
            .arg(format!("{:.3}", cfg.baseline.as_secs_f64()));
        let out = tool(cmd, "baseline recording", interrupt)?;
        if out.unavailable() {
            return Err(meter_away(cfg, out.cause()));
        }
        if let Some(full) = disk_full(&out, format!("recording the idle baseline of {label}")) {
            return Err(full);
        }
        if !out.status.success() {
            return Err(RunError::Fatal(anyhow!(
                "baseline recording of {label} failed ({}): {}",
                out.status,
                out.cause()
            )));
        }
        let mut rec = parse_run_record(&out.stdout).map_err(RunError::Fatal)?;
        rec.session = Some(session.to_owned());
        let trace = rec.trace.as_ref().map(|t| staging.join(t));
        eprintln!(
            "experiment: {label}: idle baseline {:.3} W over {:.1} s",
            rec.power_avg_w, rec.recording_s
        );
        store
            .file_baseline(rec, trace.as_deref())
            .map_err(RunError::Fatal)?;
    }
    Ok(())
}

/// The reason an infrastructure fault's attempt is filed with under `failed/`.
fn not_counted(cause: &str) -> String {
    format!("infrastructure fault, run repeated (not counted as its failure): {cause}")
}

/// Records, validates and files one run.
pub(crate) fn record_run(
    cfg: &Config,
    server: &mut dyn Server,
    store: &Store,
    entry: &PlanEntry,
    interrupt: &Interrupt,
) -> Attempt<RunRecord> {
    reset(cfg, server, interrupt)?;
    let staging = store.staging().map_err(RunError::Fatal)?;
    let requests = staging.join("requests.jsonl");
    let run_id = format!("{}-{}", entry.label, entry.run);
    let mut cmd = capture_command(cfg, &entry.label, entry.run, &staging, &run_id);
    let load = load_command(cfg, server, Some(&requests), &run_id, cfg.repeat);
    cmd.arg("--").arg(load.get_program()).args(load.get_args());
    let probe = server
        .is_local()
        .then(|| Probe::start(&cfg.speed_probe))
        .flatten();
    let out = tool(cmd, "running otii-capture", interrupt)?;
    let speed = probe.and_then(Probe::finish);
    let parsed = parse_run_record(&out.stdout);
    let mut rec = match parsed {
        Ok(r) => r,
        Err(_) if out.unavailable() => return Err(meter_away(cfg, out.cause())),
        Err(_) => {
            if let Some(full) =
                disk_full(&out, format!("recording {} run {}", entry.label, entry.run))
            {
                return Err(full);
            }
            return Err(RunError::Failed(format!(
                "otii-capture exited with {}: {}",
                out.status
                    .code()
                    .map_or_else(|| out.status.to_string(), |c| c.to_string()),
                out.cause()
            )));
        }
    };
    rec.run_id.get_or_insert(run_id);
    rec.session = Some(entry.session.clone());
    rec.speed_probe = speed;
    let trace = rec.trace.as_ref().map(|t| staging.join(t));
    let mut staged = vec![requests.clone()];
    staged.extend(trace.clone());
    if out.unavailable() {
        // The meter or the load's server was away mid-run: kept for diagnosis, repeated.
        let cause = rec.reason.clone().unwrap_or_else(|| out.cause());
        let infra = if cause.contains("the load found the server away") {
            server_away(server, cause.clone())
        } else {
            meter_away(cfg, cause.clone())
        };
        rec.status = Status::Failed;
        rec.reason = Some(not_counted(&cause));
        store.file_failed(&rec, &staged).map_err(RunError::from)?;
        return Err(infra);
    }
    let problem = if !out.status.success() || rec.status != Status::Ok {
        Some(
            rec.reason
                .clone()
                .unwrap_or_else(|| format!("otii-capture {}: {}", out.status, out.cause())),
        )
    } else {
        validate(cfg, &rec)
    };
    match problem {
        None => {
            let reqs = requests.exists().then_some(requests.as_path());
            match store.file_ok(rec, trace.as_deref(), reqs) {
                Ok(r) => Ok(r),
                Err(e) if no_space_in(&e).is_some() || e.is::<DiskFull>() => {
                    Err(RunError::Fatal(e))
                }
                Err(e) => Err(e.into()),
            }
        }
        Some(reason) => {
            // A run that failed because its server went away (gunicorn killed, the host
            // down) is the server's fault, not the run's.
            let away = server.probe().err();
            rec.status = Status::Failed;
            rec.reason = Some(match &away {
                Some(why) => not_counted(&format!("{why} (the run failed: {reason})")),
                None => reason.clone(),
            });
            let attempt_dir = store.file_failed(&rec, &staged).map_err(RunError::from)?;
            match away {
                Some(why) => Err(server_away(
                    server,
                    format!("{why} (the run failed: {reason})"),
                )),
                None => Err(RunError::Failed(format!(
                    "{reason} (kept in {})",
                    attempt_dir.display()
                ))),
            }
        }
    }
}
