//! The experiment loop.

use std::collections::{BTreeMap, VecDeque};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use records::{RunRecord, Status};

use crate::plan::{Order, Plan, PlanEntry};
use crate::server::Server;
use crate::store::Store;

/// Which scenario the load runs (see `minitwit-load run --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// What the study sent, including its 40 look-alike 404s per user.
    Paper,
    /// What the study meant: session `GET /` instead of the 404s.
    Fixed,
}

impl Scenario {
    fn as_arg(self) -> &'static str {
        match self {
            Scenario::Paper => "paper",
            Scenario::Fixed => "fixed",
        }
    }
}

/// Who generates the load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Load {
    /// `minitwit-load run --users N` from this machine.
    Local {
        /// Concurrent virtual users (the study: 3).
        users: u32,
    },
    /// `minitwit-load trigger` of agents on client machines (the study's three clients).
    Agents {
        /// `http://client:5001/trigger` URLs.
        triggers: Vec<String>,
    },
}

impl Load {
    fn users(&self) -> u32 {
        match self {
            Load::Local { users } => *users,
            Load::Agents { triggers } => triggers.len() as u32,
        }
    }
}

/// Everything one experiment needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The plan file: created if missing, else resumed (its parameters must match).
    pub plan: PathBuf,
    /// Output directory (one folder per interpreter inside).
    pub out: PathBuf,
    /// Interpreter labels to measure.
    pub labels: Vec<String>,
    /// Measured runs per interpreter.
    pub runs: u32,
    /// Run order.
    pub order: Order,
    /// Seed of the shuffled order.
    pub seed: u64,
    /// Discarded warm-up runs after every server start.
    pub warmup: u32,
    /// Pause after every recorded run.
    pub cooldown: Duration,
    /// Length of the idle-baseline recording after every server start (zero: none).
    pub baseline: Duration,
    /// Who generates the load.
    pub load: Load,
    /// Which scenario.
    pub scenario: Scenario,
    /// Extra arguments for `minitwit-load run` (e.g. a shortened scenario for tests). When
    /// given, only the absence of errors is checked, not the study's request counts.
    pub load_args: Vec<String>,
    /// Directory of the workspace's binaries.
    pub bin_dir: PathBuf,
    /// Address of the Otii 3 TCP server (or of `otii-sim`).
    pub otii: String,
    /// Sample rate of the power channels.
    pub rate_hz: u32,
    /// How often a failed run is re-queued.
    pub retries: u32,
}

/// What an experiment did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Runs in the plan.
    pub planned: usize,
    /// Runs already recorded ok before this invocation.
    pub resumed: usize,
    /// Runs recorded ok by this invocation.
    pub recorded: usize,
    /// Runs that failed every attempt: label, run, last reason.
    pub failed: Vec<(String, u32, String)>,
}

/// The statuses one user's scenario must produce (the spec's table).
pub fn expected_statuses(scenario: Scenario, users: u32) -> BTreeMap<String, u64> {
    let u = u64::from(users);
    let mut m = BTreeMap::new();
    m.insert("302".to_owned(), 62 * u);
    match scenario {
        Scenario::Paper => {
            m.insert("200".to_owned(), 62 * u);
            m.insert("404".to_owned(), 40 * u);
        }
        Scenario::Fixed => {
            m.insert("200".to_owned(), 102 * u);
        }
    }
    m
}

/// Runs (or resumes) the experiment on `server`.
pub fn run(cfg: &Config, server: &mut dyn Server) -> Result<Outcome> {
    let wanted = Plan::new(&cfg.labels, cfg.runs, cfg.order, cfg.seed);
    let plan = if cfg.plan.exists() {
        let existing = Plan::load(&cfg.plan)?;
        if !existing.same_parameters(&wanted) {
            bail!(
                "{}: an experiment with other parameters is under way ({} × {} runs, {} order); \
                 finish it with the same settings, or move it and its results away to start anew",
                cfg.plan.display(),
                existing.labels.join(","),
                existing.runs,
                existing.order
            );
        }
        eprintln!("experiment: resuming the plan in {}", cfg.plan.display());
        existing
    } else {
        if let Some(dir) = cfg.plan.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        wanted.save(&cfg.plan)?;
        eprintln!(
            "experiment: wrote the plan ({} runs, {} order, seed {}) to {}",
            wanted.entries.len(),
            wanted.order,
            wanted.seed,
            cfg.plan.display()
        );
        wanted
    };

    let store = Store::open(&cfg.out)?;
    let mut outcome = Outcome {
        planned: plan.entries.len(),
        ..Outcome::default()
    };
    let mut queue: VecDeque<(PlanEntry, u32)> = VecDeque::new();
    for e in &plan.entries {
        if store.done(&e.label, e.run).is_some() {
            outcome.resumed += 1;
        } else {
            queue.push_back((e.clone(), 1));
        }
    }
    if outcome.resumed > 0 {
        eprintln!(
            "experiment: {} of {} runs already recorded ok; {} to go",
            outcome.resumed,
            outcome.planned,
            queue.len()
        );
    }
    let started = Instant::now();
    let mut attempts_made = 0u32;
    while let Some((entry, attempt)) = queue.pop_front() {
        check_interrupt()?;
        if server.ensure(&entry.label)? {
            after_start(cfg, server, &store, &entry.label)?;
        }
        check_interrupt()?;
        let t0 = Instant::now();
        let result = record_run(cfg, server, &store, &entry);
        attempts_made += 1;
        let done = outcome.resumed + outcome.recorded + usize::from(result.is_ok());
        let remaining = outcome.planned.saturating_sub(done + outcome.failed.len());
        let per_run = started.elapsed() / attempts_made;
        let eta = per_run * remaining as u32;
        match result {
            Ok(rec) => {
                outcome.recorded += 1;
                eprintln!(
                    "experiment: [{done}/{}] {} run {}: {:.2} s, {:.2} J ({:.3} W) ok — took {:.0} s, ETA {}",
                    outcome.planned,
                    rec.label,
                    rec.run,
                    rec.duration_s,
                    rec.energy_j,
                    rec.power_avg_w,
                    t0.elapsed().as_secs_f64(),
                    fmt_eta(eta)
                );
            }
            Err(RunError::Interrupted) => bail!(Interrupted),
            Err(RunError::Failed(reason)) => {
                if attempt <= cfg.retries {
                    eprintln!(
                        "experiment: {} run {} failed (attempt {attempt}): {reason}; re-queued",
                        entry.label, entry.run
                    );
                    queue.push_back((entry, attempt + 1));
                } else {
                    eprintln!(
                        "experiment: {} run {} failed (attempt {attempt}, giving up): {reason}",
                        entry.label, entry.run
                    );
                    outcome
                        .failed
                        .push((entry.label.clone(), entry.run, reason));
                }
            }
        }
        if !queue.is_empty() {
            sleep_interruptibly(cfg.cooldown)?;
        }
    }
    server.stop()?;
    Ok(outcome)
}

/// Returned (inside `anyhow`) when the experiment stopped on SIGINT/SIGTERM.
#[derive(Debug, thiserror::Error)]
#[error("interrupted; run the same command again to continue where it stopped")]
pub struct Interrupted;

enum RunError {
    Interrupted,
    Failed(String),
}

impl From<anyhow::Error> for RunError {
    fn from(e: anyhow::Error) -> Self {
        if e.downcast_ref::<Interrupted>().is_some() {
            RunError::Interrupted
        } else {
            RunError::Failed(records::error_chain(e.as_ref()))
        }
    }
}

fn check_interrupt() -> Result<()> {
    if crate::interrupted() {
        bail!(Interrupted);
    }
    Ok(())
}

fn sleep_interruptibly(d: Duration) -> Result<()> {
    let end = Instant::now() + d;
    while Instant::now() < end {
        check_interrupt()?;
        thread::sleep(Duration::from_millis(50).min(end - Instant::now()));
    }
    Ok(())
}

fn fmt_eta(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// Warm-up runs (discarded) and the idle baseline after a server start.
fn after_start(cfg: &Config, server: &dyn Server, store: &Store, label: &str) -> Result<()> {
    for i in 1..=cfg.warmup {
        check_interrupt()?;
        reset(cfg, server)?;
        let out = run_foreground(load_command(
            cfg,
            server,
            None,
            &format!("warmup-{label}-{i}"),
        ))
        .context("warm-up run")?;
        if !out.status.success() {
            bail!(
                "warm-up run {i} of {label} failed ({}); is MiniTwit healthy?",
                out.status
            );
        }
        eprintln!(
            "experiment: {label}: warm-up run {i} of {} done (discarded)",
            cfg.warmup
        );
    }
    if !cfg.baseline.is_zero() {
        check_interrupt()?;
        let staging = store.staging()?;
        let mut cmd = capture_command(cfg, label, 0, &staging, &format!("baseline-{label}"));
        cmd.arg("--")
            .arg("sleep")
            .arg(format!("{:.3}", cfg.baseline.as_secs_f64()));
        let out = run_foreground(cmd).context("baseline recording")?;
        if !out.status.success() {
            bail!("baseline recording of {label} failed ({})", out.status);
        }
        let rec = parse_run_record(&out.stdout)?;
        let trace = rec.trace.as_ref().map(|t| staging.join(t));
        eprintln!(
            "experiment: {label}: idle baseline {:.3} W over {:.1} s",
            rec.power_avg_w, rec.recording_s
        );
        store.file_baseline(rec, trace.as_deref())?;
    }
    Ok(())
}

fn reset(cfg: &Config, server: &dyn Server) -> Result<()> {
    let mut cmd = Command::new(cfg.bin_dir.join("minitwit-load"));
    cmd.args(["reset", "--server"]).arg(server.url());
    let out = run_foreground(cmd).context("resetting MiniTwit's database")?;
    if !out.status.success() {
        bail!(
            "resetting MiniTwit's database at {} failed ({})",
            server.url(),
            out.status
        );
    }
    Ok(())
}

fn capture_command(cfg: &Config, label: &str, run: u32, out: &Path, run_id: &str) -> Command {
    let mut cmd = Command::new(cfg.bin_dir.join("otii-capture"));
    cmd.arg("--otii")
        .arg(&cfg.otii)
        .arg("record")
        .arg("--label")
        .arg(label)
        .arg("--run")
        .arg(run.to_string())
        .arg("--run-id")
        .arg(run_id)
        .arg("--rate")
        .arg(cfg.rate_hz.to_string())
        .arg("--out")
        .arg(out);
    cmd
}

fn load_command(
    cfg: &Config,
    server: &dyn Server,
    records: Option<&Path>,
    run_id: &str,
) -> Command {
    let mut cmd = Command::new(cfg.bin_dir.join("minitwit-load"));
    match &cfg.load {
        Load::Local { users } => {
            cmd.args(["run", "--server"])
                .arg(server.url())
                .arg("--users")
                .arg(users.to_string())
                .arg("--scenario")
                .arg(cfg.scenario.as_arg())
                .arg("--run-id")
                .arg(run_id);
            match records {
                Some(p) => cmd.arg("--records").arg(p),
                None => cmd.arg("--records").arg("/dev/null"),
            };
            cmd.args(&cfg.load_args);
        }
        Load::Agents { triggers } => {
            cmd.arg("trigger")
                .args(triggers)
                .arg("--run-id")
                .arg(run_id);
        }
    }
    cmd
}

fn record_run(
    cfg: &Config,
    server: &dyn Server,
    store: &Store,
    entry: &PlanEntry,
) -> std::result::Result<RunRecord, RunError> {
    reset(cfg, server)?;
    let staging = store.staging()?;
    let requests = staging.join("requests.jsonl");
    let run_id = format!("{}-{}", entry.label, entry.run);
    let mut cmd = capture_command(cfg, &entry.label, entry.run, &staging, &run_id);
    let load = load_command(cfg, server, Some(&requests), &run_id);
    cmd.arg("--").arg(load.get_program()).args(load.get_args());
    let out = run_foreground(cmd)?;
    if crate::interrupted() {
        return Err(RunError::Interrupted);
    }
    let parsed = parse_run_record(&out.stdout);
    let mut rec = match parsed {
        Ok(r) => r,
        Err(e) => {
            return Err(RunError::Failed(format!(
                "otii-capture gave no run record ({}): {}",
                out.status,
                records::error_chain(e.as_ref())
            )))
        }
    };
    rec.run_id.get_or_insert(run_id);
    let trace = rec.trace.as_ref().map(|t| staging.join(t));
    let problem = if !out.status.success() || rec.status != Status::Ok {
        Some(
            rec.reason
                .clone()
                .unwrap_or_else(|| format!("otii-capture {}", out.status)),
        )
    } else {
        validate(cfg, &rec)
    };
    match problem {
        None => {
            let reqs = requests.exists().then_some(requests.as_path());
            Ok(store.file_ok(rec, trace.as_deref(), reqs)?)
        }
        Some(reason) => {
            rec.status = Status::Failed;
            rec.reason = Some(reason.clone());
            let mut staged = vec![requests.clone()];
            staged.extend(trace);
            let attempt_dir = store.file_failed(&rec, &staged)?;
            Err(RunError::Failed(format!(
                "{reason} (kept in {})",
                attempt_dir.display()
            )))
        }
    }
}

/// The run is valid only if the load sent the study's requests and got the expected answers.
fn validate(cfg: &Config, rec: &RunRecord) -> Option<String> {
    let Some(load) = &rec.load else {
        return Some("the load reported no summary (requests, statuses)".into());
    };
    if load.errors > 0 {
        return Some(format!(
            "the load reported {} failed requests or checks",
            load.errors
        ));
    }
    if !cfg.load_args.is_empty() {
        return None;
    }
    let users = cfg.load.users();
    let want = expected_statuses(cfg.scenario, users);
    let want_total: u64 = want.values().sum();
    if load.requests != want_total || load.by_status != want {
        return Some(format!(
            "expected {want_total} requests {want:?} from {users} users, got {} {:?}",
            load.requests, load.by_status
        ));
    }
    None
}

struct Output {
    status: ExitStatus,
    stdout: Vec<u8>,
}

/// Runs a command in the foreground (stderr passes through), forwarding an interruption to it
/// as SIGINT so it can clean up, and collecting its stdout.
fn run_foreground(mut cmd: Command) -> Result<Output> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().with_context(|| format!("starting {program}"))?;
    let mut pipe = child.stdout.take().context("no stdout pipe")?;
    let reader = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    });
    let mut signalled = false;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if crate::interrupted() && !signalled {
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGINT);
            signalled = true;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let stdout = reader.join().unwrap_or_default();
    Ok(Output { status, stdout })
}

fn parse_run_record(stdout: &[u8]) -> Result<RunRecord> {
    let text = String::from_utf8_lossy(stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .context("no JSON line on stdout")?;
    serde_json::from_str(line).context("not a run record")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_statuses_match_the_spec_table() {
        let p = expected_statuses(Scenario::Paper, 1);
        assert_eq!(p.values().sum::<u64>(), 164);
        assert_eq!(p["404"], 40);
        let p3 = expected_statuses(Scenario::Paper, 3);
        assert_eq!(p3.values().sum::<u64>(), 492);
        assert_eq!(p3["404"], 120);
        let f = expected_statuses(Scenario::Fixed, 3);
        assert_eq!(f.values().sum::<u64>(), 492);
        assert!(!f.contains_key("404"));
    }

    #[test]
    fn eta_is_readable() {
        assert_eq!(fmt_eta(Duration::from_secs(75)), "1m15s");
        assert_eq!(fmt_eta(Duration::from_secs(3 * 3600 + 600)), "3h10m");
    }
}
