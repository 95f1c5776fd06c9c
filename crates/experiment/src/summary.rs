//! The morning summary: the runs recorded, the infrastructure faults met (what was away, from
//! when to when, the cause), the runs repeated because of them and the time lost. Printed at the
//! end of every experiment and by `experiment status PLAN`, and kept next to the plan as JSON
//! (`plan.json` → `plan.summary.json`, written atomically), faults of earlier invocations kept.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::plan::Plan;
use crate::store::Store;

/// The `schema` of the summary file.
pub const SUMMARY_SCHEMA: &str = "experiment-summary/1";

/// What was away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Away {
    /// The Otii (or the otii-sim standing in for it).
    Meter,
    /// MiniTwit's server: gunicorn gone, the host rebooting or unreachable, SSH down.
    Server,
}

/// One infrastructure fault met, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRecord {
    /// What was away.
    pub away: Away,
    /// Which one: the meter's address or the server's URL.
    pub target: String,
    /// The first cause met (the tool's own error line).
    pub cause: String,
    /// When it was first met (RFC 3339, UTC).
    pub since: String,
    /// When it was back (RFC 3339, UTC); `None` when the experiment stopped past its patience.
    pub until: Option<String>,
    /// How long it was away, s (until it was back or the experiment stopped).
    pub duration_s: f64,
    /// Time lost: from the start of the interrupted attempt to the run's repeat, s.
    pub lost_s: f64,
    /// The runs interrupted and repeated (`3.11 run 2`).
    pub repeated: Vec<String>,
    /// Whether it was ridden out (`true`) or ended the experiment past `--patience`.
    pub recovered: bool,
}

/// A planned run's count per interpreter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupCount {
    /// Interpreter label.
    pub label: String,
    /// Runs planned.
    pub planned: usize,
    /// Runs recorded ok.
    pub recorded: usize,
}

/// The summary file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// [`SUMMARY_SCHEMA`].
    pub schema: String,
    /// The plan file.
    pub plan: PathBuf,
    /// The output directory.
    pub out: PathBuf,
    /// When it was written (RFC 3339, UTC).
    pub updated_at: String,
    /// Runs in the plan.
    pub planned: usize,
    /// Runs recorded ok.
    pub recorded: usize,
    /// Per interpreter.
    pub groups: Vec<GroupCount>,
    /// Runs that failed every attempt in the last invocation (`3.11 run 2: reason`).
    pub failed: Vec<String>,
    /// Every infrastructure fault met, over all invocations, in order.
    pub faults: Vec<FaultRecord>,
    /// Runs repeated because of them.
    pub runs_repeated: usize,
    /// Time lost to them, s.
    pub time_lost_s: f64,
    /// One line per recording session of the plan (`s2: add 3.14, reference 3.12, started …,
    /// 4 of 4 runs recorded`).
    #[serde(default)]
    pub sessions: Vec<String>,
}

/// An RFC 3339 time as the summary prints it (the raw text when it does not parse).
fn clock_or_raw(t: &str) -> &str {
    // The date and the time to the second: `2026-12-05T19:34:54`.
    t.get(..19).unwrap_or(t)
}

/// `plan.json` → `plan.summary.json`, beside it.
pub fn summary_path(plan: &Path) -> PathBuf {
    let stem = plan
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plan".into());
    plan.with_file_name(format!("{stem}.summary.json"))
}

/// RFC 3339 of `t` (UTC).
pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// `HH:MM:SS UTC` of an RFC 3339 time (as written by [`rfc3339`]).
pub(crate) fn clock(rfc: &str) -> String {
    match OffsetDateTime::parse(rfc, &Rfc3339) {
        Ok(t) => format!("{:02}:{:02}:{:02} UTC", t.hour(), t.minute(), t.second()),
        Err(_) => rfc.to_owned(),
    }
}

/// `75 s`, `12m05s`, `1h02m`.
pub(crate) fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 100 {
        format!("{} s", d.as_secs_f64().round())
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

impl Summary {
    /// The summary of `plan` as the results in `store` stand, with the faults of `earlier`
    /// invocations (the file's) followed by `new` ones.
    pub fn build(
        plan_file: &Path,
        plan: &Plan,
        store: &Store,
        out: &Path,
        earlier: Vec<FaultRecord>,
        new: &[FaultRecord],
        failed: Vec<String>,
    ) -> Summary {
        let mut groups: Vec<GroupCount> = Vec::new();
        for e in &plan.entries {
            let i = match groups.iter().position(|g| g.label == e.label) {
                Some(i) => i,
                None => {
                    groups.push(GroupCount {
                        label: e.label.clone(),
                        planned: 0,
                        recorded: 0,
                    });
                    groups.len() - 1
                }
            };
            groups[i].planned += 1;
            if store.done(&e.label, e.run).is_some() {
                groups[i].recorded += 1;
            }
        }
        let sessions = plan
            .sessions
            .iter()
            .map(|x| {
                let mine: Vec<_> = plan.entries.iter().filter(|e| e.session == x.id).collect();
                let done = mine
                    .iter()
                    .filter(|e| store.done(&e.label, e.run).is_some())
                    .count();
                let kind = match x.kind {
                    crate::session::SessionKind::First => "first",
                    crate::session::SessionKind::Add => "add",
                    crate::session::SessionKind::Redo => "redo",
                };
                format!(
                    "{}: {kind} {}{}, started {}, {done} of {} runs recorded",
                    x.id,
                    x.labels.join(", "),
                    x.reference
                        .as_ref()
                        .map_or(String::new(), |r| format!(" (reference {r})")),
                    x.started_at
                        .as_deref()
                        .map_or("(not recorded)", clock_or_raw),
                    mine.len()
                )
            })
            .collect();
        let mut faults = earlier;
        faults.extend(new.iter().cloned());
        Summary {
            schema: SUMMARY_SCHEMA.into(),
            plan: plan_file.to_path_buf(),
            out: out.to_path_buf(),
            updated_at: rfc3339(OffsetDateTime::now_utc()),
            planned: plan.entries.len(),
            recorded: groups.iter().map(|g| g.recorded).sum(),
            groups,
            failed,
            runs_repeated: faults.iter().map(|f| f.repeated.len()).sum(),
            time_lost_s: faults.iter().map(|f| f.lost_s).sum(),
            faults,
            sessions,
        }
    }

    /// The summary file beside `plan`, if there is one (an unreadable one counts as none:
    /// it is rewritten whole).
    pub fn load(plan: &Path) -> Option<Summary> {
        let text = std::fs::read_to_string(summary_path(plan)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Writes it beside the plan, atomically; returns the path.
    pub fn save(&self) -> Result<PathBuf> {
        let path = summary_path(&self.plan);
        let mut f = records::AtomicFile::create(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        serde_json::to_writer_pretty(&mut f, self)?;
        f.write_all(b"\n")?;
        f.commit()
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// The summary for people, one fact per line.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let missing = self.planned - self.recorded.min(self.planned);
        let _ = writeln!(
            s,
            "summary of {}: {} of {} runs recorded ({} missing)",
            self.plan.display(),
            self.recorded,
            self.planned,
            missing
        );
        for g in &self.groups {
            let _ = writeln!(s, "  {}: {} of {} runs", g.label, g.recorded, g.planned);
        }
        for x in &self.sessions {
            let _ = writeln!(s, "  session {x}");
        }
        for f in &self.failed {
            let _ = writeln!(s, "  failed: {f}");
        }
        if self.faults.is_empty() {
            let _ = writeln!(s, "  no infrastructure fault met");
        }
        for (i, f) in self.faults.iter().enumerate() {
            let what = match f.away {
                Away::Meter => format!("the meter at {}", f.target),
                Away::Server => format!("the server at {}", f.target),
            };
            let until = match &f.until {
                Some(u) => format!("from {} to {}", clock(&f.since), clock(u)),
                None => format!(
                    "from {}, not back when the experiment stopped",
                    clock(&f.since)
                ),
            };
            let repeated = if f.repeated.is_empty() {
                "no run repeated".to_owned()
            } else {
                format!("repeated: {}", f.repeated.join(", "))
            };
            let _ = writeln!(
                s,
                "  fault {}: {what} away {until} ({}): {}; {repeated}; {} lost",
                i + 1,
                fmt_duration(Duration::from_secs_f64(f.duration_s.max(0.0))),
                f.cause,
                fmt_duration(Duration::from_secs_f64(f.lost_s.max(0.0)))
            );
        }
        let _ = writeln!(
            s,
            "  {} fault{}, {} run{} repeated, {} lost",
            self.faults.len(),
            if self.faults.len() == 1 { "" } else { "s" },
            self.runs_repeated,
            if self.runs_repeated == 1 { "" } else { "s" },
            fmt_duration(Duration::from_secs_f64(self.time_lost_s.max(0.0)))
        );
        s
    }
}

/// `experiment status PLAN`: the summary of the plan's results as they stand (the output
/// directory from the summary file, else `out`, else the plan's folder), printed on stdout.
pub fn status(plan_file: &Path, out: Option<&Path>) -> Result<Summary> {
    let plan = Plan::load(plan_file)?;
    let earlier = Summary::load(plan_file);
    let out = match (out, &earlier) {
        (Some(o), _) => o.to_path_buf(),
        (None, Some(s)) => s.out.clone(),
        (None, None) => plan_file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf(),
    };
    let store = Store::open_existing(&out)?;
    let (faults, failed) = match earlier {
        Some(s) => (s.faults, s.failed),
        None => (Vec::new(), Vec::new()),
    };
    Ok(Summary::build(
        plan_file,
        &plan,
        &store,
        &out,
        faults,
        &[],
        failed,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_sits_beside_the_plan() {
        assert_eq!(
            summary_path(Path::new("data/out/plan.json")),
            Path::new("data/out/plan.summary.json")
        );
    }

    #[test]
    fn times_read_as_clock_and_durations() {
        assert_eq!(clock("2026-12-05T18:02:11Z"), "18:02:11 UTC");
        assert_eq!(fmt_duration(Duration::from_secs(13)), "13 s");
        assert_eq!(fmt_duration(Duration::from_secs(725)), "12m05s");
        assert_eq!(fmt_duration(Duration::from_secs(3720)), "1h02m");
    }
}
