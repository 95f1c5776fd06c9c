//! Recording sessions: which plan this invocation works on. A new experiment is session `s1`;
//! `--add` (a new interpreter, interleaved with a reference already in the experiment) and
//! `--only … --redo` (an interpreter recorded again, its old set moved to `OUT/archive/`) each
//! open a new session; anything else resumes the current one, `--only` restricting it to some
//! interpreters. Every session's date, interpreters, runs, order, seed and tool versions are
//! kept in the plan; `complete.json` marks a group whose planned runs are all recorded.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::plan::{Order, Plan, PlanEntry, FIRST_SESSION};
use crate::runner::Config;
use crate::stopping::{fmt_pct, StoppingRule};
use crate::store::{write_json, Store};
use crate::summary::rfc3339;

/// Why a session was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionKind {
    /// The experiment's first recording.
    First,
    /// New interpreters, interleaved with a reference already in the experiment.
    Add,
    /// Interpreters recorded again; their old sets are archived.
    Redo,
}

/// One recording session: an `experiment run` that opened new runs, and whoever resumed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// `s1`, `s2`, …: also the `session` of every run record it made.
    pub id: String,
    /// Why it was opened.
    pub kind: SessionKind,
    /// When it was opened (RFC 3339, UTC); `None` for the first session of a plan/1 file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When its last planned run was recorded (RFC 3339, UTC); `None` while unfinished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// The interpreters it records (with `add`: the new ones and the reference).
    pub labels: Vec<String>,
    /// Runs per interpreter it planned (the reference's: `reference_runs`).
    pub runs: u32,
    /// The order of its runs.
    pub order: Order,
    /// The seed of a shuffled order.
    pub seed: u64,
    /// `add`: the interpreter already in the experiment run again, interleaved, for the drift
    /// check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// `add`: how many runs of the reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_runs: Option<u32>,
    /// The tools' version (`experiment 0.1.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_version: Option<String>,
    /// `git describe --always --dirty` of the working directory, when it is a checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_describe: Option<String>,
}

/// A set moved aside by a redo: its folder under `OUT/archive/` and its plan entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Archived {
    /// The interpreter.
    pub label: String,
    /// The sessions of its runs (its own first; reference runs of later ones).
    pub sessions: Vec<String>,
    /// Its folder, relative to the results folder (`archive/minitwit312-s1`); `None` when no
    /// run of it had been filed.
    pub folder: Option<String>,
    /// When it was moved (RFC 3339, UTC).
    pub archived_at: String,
    /// The redo session that replaced it.
    pub replaced_by: String,
    /// Its plan entries, as they were.
    pub entries: Vec<PlanEntry>,
}

/// What `--only`, `--redo`, `--add`, `--reference`, `--ref-runs` asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rerun {
    /// Record only these interpreters now (the rest of the plan waits).
    pub only: Vec<String>,
    /// With `only`: record them again; their current sets go to the archive.
    pub redo: bool,
    /// Interpreters to add to the experiment in a new session.
    pub add: Vec<String>,
    /// The interpreter run again with the added ones (default: the newest CPython already in
    /// the experiment).
    pub reference: Option<String>,
    /// Runs of the reference (default: as many as each added interpreter gets).
    pub ref_runs: Option<u32>,
}

/// The plan to work on and which of its runs to record now.
pub(crate) struct Prepared {
    /// The plan (saved).
    pub plan: Plan,
    /// Only these interpreters' runs are recorded now (`None`: all).
    pub only: Option<Vec<String>>,
}

/// Opens, resumes or extends the experiment of `cfg.plan` as `cfg.rerun` asks; a new or
/// changed plan is saved before it returns.
pub(crate) fn prepare(cfg: &Config, store: &Store) -> Result<Prepared> {
    let rr = &cfg.rerun;
    let wanted = Plan::new(&cfg.labels, cfg.runs, cfg.order, cfg.seed)
        .with_stopping(cfg.target.map(|t| StoppingRule::new(t, cfg.runs)));
    if !cfg.plan.exists() {
        if rr.redo || !rr.add.is_empty() {
            bail!(usage(format!(
                "{}: no experiment yet: --add and --redo extend one; run it first (without them)",
                cfg.plan.display()
            )));
        }
        check_known(&rr.only, &cfg.labels, "--only")?;
        let mut plan = wanted;
        plan.sessions.push(new_session(
            FIRST_SESSION,
            SessionKind::First,
            &cfg.labels,
            cfg.runs,
            cfg.order,
            cfg.seed,
        ));
        if let Some(dir) = cfg.plan.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        plan.save(&cfg.plan)?;
        eprintln!(
            "experiment: wrote the plan ({} runs, {} order, seed {}; session s1) to {}",
            plan.entries.len(),
            plan.order,
            plan.seed,
            cfg.plan.display()
        );
        return Ok(Prepared {
            plan,
            only: restrict(&rr.only),
        });
    }
    let mut plan = Plan::load(&cfg.plan)?;
    if plan.sessions.is_empty() {
        // A plan/1 file: its runs were one session, whose date and tools were not kept.
        let mut s = new_session(
            FIRST_SESSION,
            SessionKind::First,
            &plan.labels,
            plan.runs,
            plan.order,
            plan.seed,
        );
        s.started_at = None;
        s.tool_version = None;
        s.git_describe = None;
        plan.sessions.push(s);
    }
    let given: BTreeSet<&String> = cfg.labels.iter().collect();
    let expected: BTreeSet<&String> = plan.labels.iter().chain(rr.add.iter()).collect();
    let single = plan.sessions.len() == 1 && plan.archived.is_empty() && rr.add.is_empty();
    let same = plan.same_settings(&wanted)
        && if single {
            given == expected
        } else {
            given.is_superset(&expected) && given.len() == expected.len()
        };
    if !same {
        bail!(
            "{}: an experiment with other parameters is under way ({} × {} runs, {} order{}); \
             finish it with the same settings, or move it and its results away to start anew. \
             To record one interpreter again: --only LABEL --redo (make experiment ONLY=3.12 \
             REDO=1); to add one: --add LABEL (make experiment ADD=3.14), with the experiment's \
             interpreters and the new one",
            cfg.plan.display(),
            plan.labels.join(","),
            plan.runs,
            plan.order,
            match &plan.stopping {
                Some(r) => format!(
                    ", --target-ci {} --max-runs {}",
                    fmt_pct(r.target_ci_pct),
                    r.max_runs
                ),
                None => String::new(),
            }
        );
    }
    if rr.redo || !rr.add.is_empty() {
        if plan.stopping.as_ref().is_some_and(|r| r.decision.is_none()) {
            bail!(usage(format!(
                "{}: the first stage's stopping rule is not decided yet; finish the experiment \
                 (the same command without --add/--redo) first",
                cfg.plan.display()
            )));
        }
        if let Some(s) = unfinished(&plan, store) {
            bail!(usage(format!(
                "{}: session {s} is unfinished ({} runs to go); finish it first (the same \
                 command without --add/--redo), then add or redo",
                cfg.plan.display(),
                missing(&plan, store, None).len()
            )));
        }
        if rr.redo {
            crate::rerun::redo(cfg, store, &mut plan)?;
        } else {
            crate::rerun::add(cfg, store, &mut plan)?;
        }
        plan.save(&cfg.plan)?;
        return Ok(Prepared { plan, only: None });
    }
    check_known(&rr.only, &plan.labels, "--only")?;
    eprintln!("experiment: resuming the plan in {}", cfg.plan.display());
    plan.save(&cfg.plan)?;
    Ok(Prepared {
        plan,
        only: restrict(&rr.only),
    })
}

/// Whether an entry is to be recorded now.
pub(crate) fn in_scope(only: &Option<Vec<String>>, e: &PlanEntry) -> bool {
    only.as_ref().is_none_or(|o| o.contains(&e.label))
}

/// After the runs: sessions whose planned runs are all recorded get their end time, groups
/// whose planned runs are all recorded their `complete.json` (written last). Saves the plan
/// when it changed.
pub(crate) fn finish(plan: &mut Plan, plan_file: &Path, store: &Store) -> Result<()> {
    let now = rfc3339(OffsetDateTime::now_utc());
    let mut changed = false;
    for i in 0..plan.sessions.len() {
        let id = plan.sessions[i].id.clone();
        let all = plan
            .entries
            .iter()
            .filter(|e| e.session == id)
            .all(|e| store.done(&e.label, e.run).is_some());
        // A plan/1 session's dates were never kept: its end is not the time it was checked.
        let dated = plan.sessions[i].started_at.is_some();
        if all && dated && plan.sessions[i].finished_at.is_none() {
            plan.sessions[i].finished_at = Some(now.clone());
            changed = true;
        }
    }
    if changed {
        plan.save(plan_file)?;
    }
    for label in &plan.labels {
        let group = store.group(label);
        let mine: Vec<&PlanEntry> = plan.entries.iter().filter(|e| &e.label == label).collect();
        let complete = !mine.is_empty() && mine.iter().all(|e| store.done(label, e.run).is_some());
        if complete && !group.complete_marker().exists() {
            let sessions: BTreeSet<&str> = mine.iter().map(|e| e.session.as_str()).collect();
            let marker = serde_json::json!({
                "schema": "complete/1",
                "label": label,
                "runs": mine.len(),
                "sessions": sessions,
                "at": now,
            });
            write_json(&group.complete_marker(), &marker)?;
        }
    }
    Ok(())
}

/// The planned runs (of `only`'s interpreters) not yet recorded ok.
pub(crate) fn missing<'a>(
    plan: &'a Plan,
    store: &Store,
    only: Option<&[String]>,
) -> Vec<&'a PlanEntry> {
    plan.entries
        .iter()
        .filter(|e| only.is_none_or(|o| o.contains(&e.label)))
        .filter(|e| store.done(&e.label, e.run).is_none())
        .collect()
}

/// The oldest session with a planned run not yet recorded.
fn unfinished(plan: &Plan, store: &Store) -> Option<String> {
    missing(plan, store, None)
        .first()
        .map(|e| e.session.clone())
}

fn restrict(only: &[String]) -> Option<Vec<String>> {
    (!only.is_empty()).then(|| only.to_vec())
}

pub(crate) fn usage(msg: String) -> procs::UsageError {
    procs::UsageError(msg)
}

pub(crate) fn check_known(wanted: &[String], labels: &[String], flag: &str) -> Result<()> {
    for w in wanted {
        if !labels.contains(w) {
            bail!(usage(format!(
                "{flag} {w}: not an interpreter of this experiment ({}); to add it: --add {w}",
                labels.join(", ")
            )));
        }
    }
    Ok(())
}

/// The next session's id: `s` and one more than the highest number so far.
pub(crate) fn next_id(plan: &Plan) -> String {
    let n = plan
        .sessions
        .iter()
        .filter_map(|s| s.id.strip_prefix('s')?.parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    format!("s{}", n + 1)
}

pub(crate) fn new_session(
    id: &str,
    kind: SessionKind,
    labels: &[String],
    runs: u32,
    order: Order,
    seed: u64,
) -> Session {
    Session {
        id: id.to_owned(),
        kind,
        started_at: Some(rfc3339(OffsetDateTime::now_utc())),
        finished_at: None,
        labels: labels.to_vec(),
        runs,
        order,
        seed,
        reference: None,
        reference_runs: None,
        tool_version: Some(format!("experiment {}", env!("CARGO_PKG_VERSION"))),
        git_describe: git_describe(),
    }
}

/// `git describe --always --dirty` of the working directory; `None` outside a checkout.
fn git_describe() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_count_up() {
        let mut p = Plan::new(&["3.8".into()], 2, Order::Blocked, 1);
        assert_eq!(next_id(&p), "s1");
        p.sessions.push(new_session(
            "s1",
            SessionKind::First,
            &p.labels.clone(),
            2,
            Order::Blocked,
            1,
        ));
        assert_eq!(next_id(&p), "s2");
        let s = &p.sessions[0];
        assert!(s.started_at.as_deref().is_some_and(|t| t.ends_with('Z')));
        assert_eq!(
            s.tool_version.as_deref(),
            Some(concat!("experiment ", env!("CARGO_PKG_VERSION")))
        );
    }
}
