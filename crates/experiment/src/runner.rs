//! The experiment loop: the plan written or resumed, every missing run recorded, validated and
//! filed, failed runs re-queued, progress on stderr, Ctrl-C honoured between and within runs.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use procs::{run_foreground, Interrupt};
use records::{RunRecord, Status};

use crate::check::validate;
use crate::plan::{Order, Plan, PlanEntry};
use crate::server::Server;
use crate::stopping::{fmt_pct, StoppingRule, Target};
use crate::store::Store;
use crate::tools::{capture_command, load_command, parse_run_record, reset, Load, Scenario};

/// Everything one experiment needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The plan file: created if missing, else resumed (its parameters must match).
    pub plan: PathBuf,
    /// Output directory (one folder per interpreter inside).
    pub out: PathBuf,
    /// Interpreter labels to measure (for a local server, the labels of its interpreters).
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
    /// The seed SQL the server was loaded with: `minitwit-load run --seed-sql` follows its
    /// users. `None`: minitwit-load's generated seed (`--seed`, default 2024).
    pub load_seed_sql: Option<PathBuf>,
    /// Directory of the workspace's binaries.
    pub bin_dir: PathBuf,
    /// Address of the Otii 3 TCP server; `None` until the local `otii-sim` that stands in for
    /// it runs ([`crate::execute`] starts it when none is given).
    pub otii: Option<String>,
    /// Sample rate of the power channels.
    pub rate_hz: u32,
    /// How often a failed run is re-queued.
    pub retries: u32,
    /// `--target-ci`: run a second stage until every pair's interval is this narrow (Stein's
    /// two-stage rule; `runs` is then the first stage). `None`: exactly `runs` runs.
    pub target: Option<Target>,
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

/// Runs (or resumes) the experiment on `server`; stops cleanly, with an [`Interrupted`] error,
/// once `interrupt` is set.
pub fn run(cfg: &Config, server: &mut dyn Server, interrupt: &Interrupt) -> Result<Outcome> {
    if cfg.otii.is_none() {
        bail!("no Otii address: give --otii ADDR, or run a local server to use otii-sim");
    }
    let wanted = Plan::new(&cfg.labels, cfg.runs, cfg.order, cfg.seed)
        .with_stopping(cfg.target.map(|t| StoppingRule::new(t, cfg.runs)));
    let mut plan = if cfg.plan.exists() {
        let existing = Plan::load(&cfg.plan)?;
        if !existing.same_parameters(&wanted) {
            bail!(
                "{}: an experiment with other parameters is under way ({} × {} runs, {} order{}); \
                 finish it with the same settings, or move it and its results away to start anew",
                cfg.plan.display(),
                existing.labels.join(","),
                existing.runs,
                existing.order,
                match &existing.stopping {
                    Some(r) => format!(
                        ", --target-ci {} --max-runs {}",
                        fmt_pct(r.target_ci_pct),
                        r.max_runs
                    ),
                    None => String::new(),
                }
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
    loop {
        while let Some((entry, attempt)) = queue.pop_front() {
            check_interrupt(interrupt)?;
            if server.ensure(&entry.label)? {
                after_start(cfg, server, &store, &entry.label, interrupt)?;
            }
            check_interrupt(interrupt)?;
            let t0 = Instant::now();
            let result = record_run(cfg, server, &store, &entry, interrupt);
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
                sleep_interruptibly(cfg.cooldown, interrupt)?;
            }
        }
        // With a stopping rule: once the first stage is complete, decide N once and add its
        // rounds; a resumed plan already holds them.
        let added = second_stage(cfg, &mut plan, &store, &outcome)?;
        if added.is_empty() {
            break;
        }
        outcome.planned += added.len();
        queue.extend(added.into_iter().map(|e| (e, 1)));
        sleep_interruptibly(cfg.cooldown, interrupt)?;
    }
    server.stop()?;
    Ok(outcome)
}

/// Stein's decision, once the first stage is complete and not yet decided: the rounds added to
/// the plan (saved before any of them runs). Nothing when there is no rule, it was decided
/// before, or a first-stage run is missing (it failed every attempt: the next start retries it
/// and decides then).
fn second_stage(
    cfg: &Config,
    plan: &mut Plan,
    store: &Store,
    outcome: &Outcome,
) -> Result<Vec<PlanEntry>> {
    let Some(rule) = plan.stopping.as_ref().filter(|r| r.decision.is_none()) else {
        return Ok(Vec::new());
    };
    let n0 = rule.first_stage_runs;
    let mut first_stage = Vec::new();
    for label in &plan.labels {
        let energies: Option<Vec<f64>> = (1..=n0)
            .map(|r| store.done(label, r).map(|rec| rec.energy_j))
            .collect();
        let Some(energies) = energies else {
            eprintln!(
                "experiment: first stage incomplete ({} run{} failed); run the same command again: \
                 the number of runs for ±{} % is decided when every first-stage run is recorded",
                outcome.failed.len(),
                if outcome.failed.len() == 1 { "" } else { "s" },
                fmt_pct(rule.target_ci_pct)
            );
            return Ok(Vec::new());
        };
        first_stage.push((label.clone(), energies));
    }
    let decision = rule.decide(&first_stage);
    eprintln!("experiment: {}", decision.spread_line());
    eprintln!("experiment: {}", decision.progress_line(rule));
    let runs = decision.runs;
    if let Some(r) = plan.stopping.as_mut() {
        r.decision = Some(decision);
    }
    let added = plan.add_rounds(runs);
    plan.save(&cfg.plan)?;
    Ok(added)
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

fn check_interrupt(interrupt: &Interrupt) -> Result<()> {
    if interrupt.is_set() {
        bail!(Interrupted);
    }
    Ok(())
}

fn sleep_interruptibly(d: Duration, interrupt: &Interrupt) -> Result<()> {
    let end = Instant::now() + d;
    while Instant::now() < end {
        check_interrupt(interrupt)?;
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
fn after_start(
    cfg: &Config,
    server: &dyn Server,
    store: &Store,
    label: &str,
    interrupt: &Interrupt,
) -> Result<()> {
    for i in 1..=cfg.warmup {
        check_interrupt(interrupt)?;
        reset(cfg, server, interrupt)?;
        let load = load_command(cfg, server, None, &format!("warmup-{label}-{i}"));
        let out = run_foreground(load, interrupt).context("warm-up run")?;
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
        check_interrupt(interrupt)?;
        let staging = store.staging()?;
        let mut cmd = capture_command(cfg, label, 0, &staging, &format!("baseline-{label}"));
        cmd.arg("--")
            .arg("sleep")
            .arg(format!("{:.3}", cfg.baseline.as_secs_f64()));
        let out = run_foreground(cmd, interrupt).context("baseline recording")?;
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

fn record_run(
    cfg: &Config,
    server: &dyn Server,
    store: &Store,
    entry: &PlanEntry,
    interrupt: &Interrupt,
) -> std::result::Result<RunRecord, RunError> {
    reset(cfg, server, interrupt)?;
    let staging = store.staging()?;
    let requests = staging.join("requests.jsonl");
    let run_id = format!("{}-{}", entry.label, entry.run);
    let mut cmd = capture_command(cfg, &entry.label, entry.run, &staging, &run_id);
    let load = load_command(cfg, server, Some(&requests), &run_id);
    cmd.arg("--").arg(load.get_program()).args(load.get_args());
    let out = run_foreground(cmd, interrupt).map_err(anyhow::Error::from)?;
    if interrupt.is_set() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_is_readable() {
        assert_eq!(fmt_eta(Duration::from_secs(75)), "1m15s");
        assert_eq!(fmt_eta(Duration::from_secs(3 * 3600 + 600)), "3h10m");
    }
}
