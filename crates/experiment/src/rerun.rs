//! The two ways a finished experiment opens a new session: `--only … --redo` (the named
//! interpreters' current sets, folder and plan entries, moved to `OUT/archive/`, and recorded
//! anew) and `--add` (new interpreters interleaved one to one with runs of a reference already
//! in the experiment).

use std::collections::BTreeSet;
use std::fs;

use anyhow::{bail, Context, Result};
use time::OffsetDateTime;

use crate::plan::{arrange, number, Order, Plan, PlanEntry};
use crate::runner::Config;
use crate::session::{check_known, new_session, next_id, usage, Archived, SessionKind};
use crate::store::Store;
use crate::summary::rfc3339;

/// The runs per interpreter the first session planned (with a stopping rule: as decided).
fn runs_per_interpreter(plan: &Plan) -> u32 {
    plan.stopping
        .as_ref()
        .and_then(|r| r.decision.as_ref().map(|d| d.runs))
        .unwrap_or(plan.runs)
        .max(plan.runs)
}

/// `--only … --redo`: every named interpreter's current set (folder and plan entries) moved to
/// the archive, and a new session that records it anew with as many runs as the set had.
pub(crate) fn redo(cfg: &Config, store: &Store, plan: &mut Plan) -> Result<()> {
    let rr = &cfg.rerun;
    if rr.only.is_empty() {
        bail!(usage(
            "--redo needs --only LABEL: the interpreter(s) to record again".into()
        ));
    }
    check_known(&rr.only, &plan.labels, "--only")?;
    let id = next_id(plan);
    let now = rfc3339(OffsetDateTime::now_utc());
    let mut runs = 0;
    for label in &rr.only {
        let (old, keep): (Vec<PlanEntry>, Vec<PlanEntry>) =
            plan.entries.drain(..).partition(|e| &e.label == label);
        plan.entries = keep;
        let sessions: Vec<String> = old
            .iter()
            .map(|e| e.session.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let own = sessions.first().cloned().unwrap_or_else(|| id.clone());
        runs = runs.max(
            old.iter()
                .filter(|e| e.session == own)
                .count()
                .try_into()
                .unwrap_or(u32::MAX),
        );
        let group = store.group(label);
        let folder = if group.path().exists() {
            let dest = free_archive(store, label, &own);
            fs::create_dir_all(store.archive())?;
            fs::rename(group.path(), dest.path()).with_context(|| {
                format!(
                    "moving {} to {}",
                    group.path().display(),
                    dest.path().display()
                )
            })?;
            eprintln!(
                "experiment: {label}: its set of session {own} moved to {} (kept, not analysed by default)",
                dest.path().display()
            );
            dest.path()
                .strip_prefix(store.root())
                .ok()
                .map(|p| p.to_string_lossy().into_owned())
        } else {
            None
        };
        plan.archived.push(Archived {
            label: label.clone(),
            sessions,
            folder,
            archived_at: now.clone(),
            replaced_by: id.clone(),
            entries: old,
        });
    }
    let runs = if runs == 0 {
        runs_per_interpreter(plan)
    } else {
        runs
    };
    let stream = u64::from(plan.sessions.len() as u32 + 1);
    let first = plan.next_seq();
    let added = number(
        arrange(&rr.only, 1, runs, cfg.order, cfg.seed, stream),
        first,
        &id,
    );
    let mut s = new_session(&id, SessionKind::Redo, &rr.only, runs, cfg.order, cfg.seed);
    s.started_at = Some(now);
    eprintln!(
        "experiment: session {id}: {} recorded again, {runs} runs each ({} order)",
        rr.only.join(", "),
        cfg.order
    );
    plan.sessions.push(s);
    plan.entries.extend(added);
    Ok(())
}

/// An archive folder for `label`'s set of `session` that does not exist yet.
fn free_archive(store: &Store, label: &str, session: &str) -> records::GroupDir {
    let mut dest = store.archived_group(label, session);
    let mut k = 2;
    while dest.path().exists() {
        dest = records::GroupDir::new(format!(
            "{}.{k}",
            store.archived_group(label, session).path().display()
        ));
        k += 1;
    }
    dest
}

/// The default reference: the newest CPython (`3.X`) of the experiment, else its last label.
fn default_reference(labels: &[String]) -> Option<String> {
    let version = |l: &str| -> Option<(u32, u32)> {
        let (a, b) = l.split_once('.')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    };
    labels
        .iter()
        .filter_map(|l| version(l).map(|v| (v, l)))
        .max()
        .map(|(_, l)| l.clone())
        .or_else(|| labels.last().cloned())
}

/// `--add`: a new session with the added interpreters and the reference, interleaved one run
/// of each in turn (the reference's runs numbered after its recorded ones).
pub(crate) fn add(cfg: &Config, store: &Store, plan: &mut Plan) -> Result<()> {
    let rr = &cfg.rerun;
    for a in &rr.add {
        if plan.labels.contains(a) {
            bail!(usage(format!(
                "--add {a}: already in the experiment; to record it again: --only {a} --redo"
            )));
        }
    }
    let reference = match &rr.reference {
        Some(r) => r.clone(),
        None => default_reference(&plan.labels)
            .context("--add: the experiment has no interpreter to serve as the reference")?,
    };
    if !plan.labels.contains(&reference) {
        bail!(usage(format!(
            "--reference {reference}: not an interpreter of this experiment ({}): the reference \
             must have runs in an earlier session",
            plan.labels.join(", ")
        )));
    }
    let runs = runs_per_interpreter(plan);
    let ref_runs = rr.ref_runs.unwrap_or(runs);
    if ref_runs < 2 {
        bail!(usage(
            "--ref-runs must be at least 2: the drift check's interval needs two runs".into()
        ));
    }
    let id = next_id(plan);
    let ref_from = plan
        .entries
        .iter()
        .filter(|e| e.label == reference)
        .map(|e| e.run)
        .max()
        .unwrap_or(0)
        + 1;
    // Round-robin: each added interpreter's run k, then the reference's run k, while each has
    // runs left.
    let mut pairs = Vec::new();
    for k in 0..runs.max(ref_runs) {
        for a in &rr.add {
            if k < runs {
                pairs.push((a.clone(), k + 1));
            }
        }
        if k < ref_runs {
            pairs.push((reference.clone(), ref_from + k));
        }
    }
    let first = plan.next_seq();
    plan.entries.extend(number(pairs, first, &id));
    let mut labels = rr.add.clone();
    labels.push(reference.clone());
    let mut s = new_session(
        &id,
        SessionKind::Add,
        &labels,
        runs,
        Order::Interleaved,
        cfg.seed,
    );
    s.reference = Some(reference.clone());
    s.reference_runs = Some(ref_runs);
    plan.sessions.push(s);
    plan.labels.extend(rr.add.iter().cloned());
    // The reference has runs to record again: not complete until they are.
    let marker = store.group(&reference).complete_marker();
    if marker.exists() {
        fs::remove_file(&marker).with_context(|| format!("removing {}", marker.display()))?;
    }
    eprintln!(
        "experiment: session {id}: {} added, {runs} runs each, interleaved with {ref_runs} runs \
         of the reference {reference} (its drift since the earlier sessions is in the report)",
        rr.add.join(", ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_reference_is_the_newest_cpython() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            default_reference(&l(&["3.8", "3.12", "3.11", "pypy3.9"])).as_deref(),
            Some("3.12")
        );
        assert_eq!(
            default_reference(&l(&["pypy3.9", "pypy3.10"])).as_deref(),
            Some("pypy3.10")
        );
        assert_eq!(default_reference(&[]), None);
    }
}
