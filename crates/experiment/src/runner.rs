//! The experiment loop: the plan written or resumed, every missing run recorded, validated and
//! filed, failed runs re-queued, progress on stderr, Ctrl-C honoured between and within runs.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use procs::Interrupt;
use time::OffsetDateTime;

use crate::attempt::{after_start, ensure_server, record_run, Infra, RunError};
use crate::plan::{Order, Plan, PlanEntry};
use crate::ride::{ride_out, Ridden};
use crate::server::Server;
use crate::session::{finish, in_scope, prepare, Prepared, Rerun};
use crate::sim::Meter;
use crate::stopping::{fmt_pct, Target};
use crate::store::Store;
use crate::summary::{clock, fmt_duration, rfc3339, summary_path, FaultRecord, Summary};
use crate::tools::{Load, Scenario};

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
    /// `--repeat`: each local user runs the scenario this many times per run (1: the study).
    pub repeat: u32,
    /// `--warmup-repeat`: the same for a warm-up run (by default `repeat`).
    pub warmup_repeat: u32,
    /// `--priority`: how the local server and load are scheduled.
    pub priority: procs::Priority,
    /// `--speed-probe`: what times the machine's speed beside each run of a local server.
    pub speed_probe: crate::ProbeKind,
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
    /// How long an infrastructure fault (the meter or the server away) is waited out, from
    /// when it was met, before the experiment stops (`--patience`).
    pub patience: Duration,
    /// The longest wait between two tries while waiting (`--max-backoff`).
    pub max_backoff: Duration,
    /// The command that continues the experiment, quoted in the paragraph past patience.
    pub resume_command: Option<String>,
    /// `--target-ci`: run a second stage until every pair's interval is this narrow (Stein's
    /// two-stage rule; `runs` is then the first stage). `None`: exactly `runs` runs.
    pub target: Option<Target>,
    /// `--only`, `--redo`, `--add`: which interpreters to record now, again, or newly.
    pub rerun: Rerun,
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
    /// The infrastructure faults met by this invocation.
    pub faults: Vec<FaultRecord>,
    /// Set when the experiment stopped past `--patience`: the paragraph that says so.
    pub stopped: Option<String>,
    /// The morning summary (also written beside the plan).
    pub summary: Option<Summary>,
}

/// Runs (or resumes) the experiment on `server`; stops cleanly, with an [`Interrupted`] error,
/// once `interrupt` is set.
///
/// An infrastructure fault (the meter or the server away) is waited out with back-off up to
/// `cfg.patience`, the server restarted under the run's interpreter, the local `otii-sim` of
/// `meter` started again if it died, and the run repeated from its start; it never counts as
/// the run's failure. Past its patience the experiment stops with [`Outcome::stopped`] set.
pub fn run(
    cfg: &Config,
    server: &mut dyn Server,
    meter: &mut Meter,
    interrupt: &Interrupt,
) -> Result<Outcome> {
    let mut cfg = cfg.clone();
    cfg.otii = Some(meter.addr().to_owned());
    let cfg = &mut cfg;
    let store = Store::open(&cfg.out)?;
    let Prepared { mut plan, only } = prepare(cfg, &store)?;
    let mut outcome = Outcome {
        planned: plan.entries.iter().filter(|e| in_scope(&only, e)).count(),
        ..Outcome::default()
    };
    if let Some(o) = &only {
        eprintln!(
            "experiment: only {} now ({} of the plan's {} runs)",
            o.join(", "),
            outcome.planned,
            plan.entries.len()
        );
    }
    let mut queue: VecDeque<(PlanEntry, u32)> = VecDeque::new();
    for e in plan.entries.iter().filter(|e| in_scope(&only, e)) {
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
    let mut need_after_start = false;
    // A fault the run met again right after its repeat (something else still away, e.g. a
    // client agent): the same fault, its patience counted from when it was first met.
    let mut ongoing: Option<Ongoing> = None;
    'plan: loop {
        while let Some((entry, attempt)) = queue.pop_front() {
            if interrupt.is_set() {
                return interrupted(cfg, &plan, &store, &outcome);
            }
            let t0 = Instant::now();
            let t0_wall = OffsetDateTime::now_utc();
            let result = attempt_run(
                cfg,
                server,
                &store,
                &entry,
                &mut need_after_start,
                interrupt,
            );
            attempts_made += 1;
            let done = outcome.resumed + outcome.recorded + usize::from(result.is_ok());
            let remaining = outcome.planned.saturating_sub(done + outcome.failed.len());
            let per_run = started.elapsed() / attempts_made;
            let eta = per_run * remaining as u32;
            let carried = ongoing
                .take()
                .filter(|o| o.run == (entry.label.clone(), entry.run));
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
                Err(RunError::Interrupted) => return interrupted(cfg, &plan, &store, &outcome),
                Err(RunError::Fatal(e)) => {
                    let _ = save_summary(cfg, &plan, &store, &outcome, false);
                    return Err(e);
                }
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
                Err(RunError::Away(fault)) => {
                    let (since, since_at, t0_wall) = match carried {
                        Some(o) => {
                            // The record of its first part is replaced by the whole.
                            outcome.faults.pop();
                            (o.since, o.since_at, o.attempt_wall)
                        }
                        None => (rfc3339(OffsetDateTime::now_utc()), Instant::now(), t0_wall),
                    };
                    eprintln!(
                        "experiment: {} run {} not measured, {} is away (an infrastructure fault: the run will be repeated, it is not its failure): {}",
                        entry.label,
                        entry.run,
                        fault.what(),
                        fault.cause
                    );
                    let ridden = ride_out(
                        cfg,
                        server,
                        meter,
                        &entry.label,
                        &fault,
                        (since_at, &clock(&since)),
                        interrupt,
                    );
                    let ridden = match ridden {
                        Ok(r) => r,
                        Err(e) if e.is::<Interrupted>() => {
                            outcome
                                .faults
                                .push(fault_record(&fault, &since, None, t0_wall, None));
                            return interrupted(cfg, &plan, &store, &outcome);
                        }
                        Err(e) => return Err(e),
                    };
                    cfg.otii = Some(meter.addr().to_owned());
                    let run_name = format!("{} run {}", entry.label, entry.run);
                    match ridden {
                        Ridden::Back { restarted } => {
                            need_after_start |= restarted;
                            let until = rfc3339(OffsetDateTime::now_utc());
                            outcome.faults.push(fault_record(
                                &fault,
                                &since,
                                Some(until),
                                t0_wall,
                                Some(run_name),
                            ));
                            ongoing = Some(Ongoing {
                                run: (entry.label.clone(), entry.run),
                                since,
                                since_at,
                                attempt_wall: t0_wall,
                            });
                            // Repeated from its start, with the same attempt count.
                            queue.push_front((entry, attempt));
                            continue;
                        }
                        Ridden::PastPatience(cause) => {
                            let mut rec = fault_record(&fault, &since, None, t0_wall, None);
                            rec.cause = fault.cause.clone();
                            outcome.faults.push(rec);
                            let recorded = outcome.resumed + outcome.recorded;
                            outcome.stopped = Some(past_patience(
                                cfg,
                                &fault,
                                &since,
                                &cause,
                                recorded,
                                outcome.planned,
                            ));
                            break 'plan;
                        }
                    }
                }
            }
            if !queue.is_empty() {
                sleep_interruptibly(cfg.cooldown, interrupt)?;
            }
        }
        // With a stopping rule: once the first stage is complete, decide N once and add its
        // rounds; a resumed plan already holds them.
        let added: Vec<PlanEntry> = second_stage(cfg, &mut plan, &store, &outcome, &only)?
            .into_iter()
            .filter(|e| in_scope(&only, e))
            .collect();
        if added.is_empty() {
            break;
        }
        outcome.planned += added.len();
        queue.extend(added.into_iter().map(|e| (e, 1)));
        sleep_interruptibly(cfg.cooldown, interrupt)?;
    }
    // The server may be away itself: stopping it then is best effort.
    if let Err(e) = server.stop() {
        if outcome.stopped.is_none() {
            return Err(e);
        }
    }
    finish(&mut plan, &cfg.plan, &store)?;
    outcome.summary = save_summary(cfg, &plan, &store, &outcome, true);
    Ok(outcome)
}

/// An infrastructure fault ridden out whose run is being repeated.
struct Ongoing {
    /// The run: label and number.
    run: (String, u32),
    /// When the fault was first met (RFC 3339).
    since: String,
    /// The same, for measuring patience.
    since_at: Instant,
    /// When the first interrupted attempt started.
    attempt_wall: OffsetDateTime,
}

/// One attempt: the server running the run's interpreter (warm-up and baseline after a start,
/// or after a start that a fault interrupted), then the run.
fn attempt_run(
    cfg: &Config,
    server: &mut dyn Server,
    store: &Store,
    entry: &PlanEntry,
    need_after_start: &mut bool,
    interrupt: &Interrupt,
) -> std::result::Result<records::RunRecord, RunError> {
    if ensure_server(server, &entry.label, interrupt)? {
        *need_after_start = true;
    }
    if *need_after_start {
        after_start(cfg, server, store, &entry.label, &entry.session, interrupt)?;
        *need_after_start = false;
    }
    if interrupt.is_set() {
        return Err(RunError::Interrupted);
    }
    record_run(cfg, server, store, entry, interrupt)
}

fn fault_record(
    fault: &Infra,
    since: &str,
    until: Option<String>,
    attempt_started: OffsetDateTime,
    repeated: Option<String>,
) -> FaultRecord {
    let now = OffsetDateTime::now_utc();
    let since_t =
        time::OffsetDateTime::parse(since, &time::format_description::well_known::Rfc3339)
            .unwrap_or(now);
    FaultRecord {
        away: fault.away,
        target: fault.target.clone(),
        cause: fault.cause.clone(),
        since: since.to_owned(),
        recovered: until.is_some(),
        until,
        duration_s: (now - since_t).as_seconds_f64().max(0.0),
        lost_s: (now - attempt_started).as_seconds_f64().max(0.0),
        repeated: repeated.into_iter().collect(),
    }
}

/// The paragraph of an experiment stopped past its patience.
fn past_patience(
    cfg: &Config,
    fault: &Infra,
    since: &str,
    cause: &str,
    recorded: usize,
    planned: usize,
) -> String {
    let command = cfg
        .resume_command
        .clone()
        .unwrap_or_else(|| "the same command".into());
    format!(
        "stopped: {what} has been unreachable since {since} (more than --patience {patience}); \
         the last try said: {cause}. {recorded} of {planned} runs are recorded; none was marked \
         failed for this fault (what an interrupted attempt left is kept under failed/ for \
         diagnosis, never analysed). When {what} is back, continue with: {command}",
        what = fault.what(),
        since = clock(since),
        patience = fmt_duration(cfg.patience),
    )
}

/// Ends an interrupted experiment: the summary file updated when there is news for it, then
/// the [`Interrupted`] error.
fn interrupted(cfg: &Config, plan: &Plan, store: &Store, outcome: &Outcome) -> Result<Outcome> {
    let _ = save_summary(cfg, plan, store, outcome, false);
    bail!(Interrupted)
}

/// The summary with the faults of earlier invocations, written beside the plan: always at the
/// end of an experiment (`always`), else only when this invocation met a fault or the file
/// exists already. A summary that cannot be written is said, not fatal.
fn save_summary(
    cfg: &Config,
    plan: &Plan,
    store: &Store,
    outcome: &Outcome,
    always: bool,
) -> Option<Summary> {
    let earlier = Summary::load(&cfg.plan);
    if !always && outcome.faults.is_empty() && earlier.is_none() {
        return None;
    }
    let failed = outcome
        .failed
        .iter()
        .map(|(l, r, why)| format!("{l} run {r}: {why}"))
        .collect();
    let summary = Summary::build(
        &cfg.plan,
        plan,
        store,
        &cfg.out,
        earlier.map(|s| s.faults).unwrap_or_default(),
        &outcome.faults,
        failed,
    );
    if let Err(e) = summary.save() {
        eprintln!(
            "experiment: warning: the summary could not be written to {}: {e:#}",
            summary_path(&cfg.plan).display()
        );
    }
    Some(summary)
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
    only: &Option<Vec<String>>,
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
            if only.is_some() {
                // Decided once the last interpreter's first stage is recorded.
                return Ok(Vec::new());
            }
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

fn check_interrupt(interrupt: &Interrupt) -> Result<()> {
    if interrupt.is_set() {
        bail!(Interrupted);
    }
    Ok(())
}

pub(crate) fn sleep_interruptibly(d: Duration, interrupt: &Interrupt) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_is_readable() {
        assert_eq!(fmt_eta(Duration::from_secs(75)), "1m15s");
        assert_eq!(fmt_eta(Duration::from_secs(3 * 3600 + 600)), "3h10m");
    }
}
