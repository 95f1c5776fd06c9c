//! The run plan: which interpreter runs when. Written to a file before the first run so an
//! experiment is reproducible and can be resumed; with `--target-ci`, the stopping rule and,
//! once the first stage is complete, the rounds it added; the recording sessions (the first,
//! each added interpreter, each redo: [`Session`]) and the sets a redo moved aside
//! ([`Archived`]).

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::session::{Archived, Session};
use crate::stopping::StoppingRule;

/// The `schema` tag of a plan file of this version.
pub const PLAN_SCHEMA: &str = "plan/2";
/// The schema before sessions: read as one first session `s1` without its metadata.
pub const PLAN_SCHEMA_V1: &str = "plan/1";
/// The id of an experiment's first session.
pub const FIRST_SESSION: &str = "s1";

fn first_session() -> String {
    FIRST_SESSION.to_owned()
}

/// In which order the (interpreter, run) pairs are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// All runs of one interpreter, then the next (the study's order: interpreter is
    /// confounded with time of day).
    Blocked,
    /// Round-robin: run 1 of every interpreter, then run 2 of every interpreter, …
    Interleaved,
    /// A seeded random permutation of all (interpreter, run) pairs.
    Shuffled,
}

impl FromStr for Order {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "blocked" => Ok(Order::Blocked),
            "interleaved" => Ok(Order::Interleaved),
            "shuffled" => Ok(Order::Shuffled),
            other => Err(format!(
                "unknown order {other:?}: expected blocked, interleaved or shuffled"
            )),
        }
    }
}

impl fmt::Display for Order {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Order::Blocked => "blocked",
            Order::Interleaved => "interleaved",
            Order::Shuffled => "shuffled",
        })
    }
}

/// One measured run of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanEntry {
    /// Position in the plan, from 1.
    pub seq: u32,
    /// Interpreter label (`3.12`, `pypy3.9`).
    pub label: String,
    /// Run index within the interpreter's group, from 1.
    pub run: u32,
    /// The recording session this run belongs to (`s1`, `s2`, …; a plan/1 file's runs are
    /// `s1`).
    #[serde(default = "first_session")]
    pub session: String,
}

/// A whole plan with the parameters that made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Always [`PLAN_SCHEMA`].
    pub schema: String,
    /// The order the entries were arranged in.
    pub order: Order,
    /// Seed of the shuffle (used only by `shuffled`, recorded always).
    pub seed: u64,
    /// Measured runs per interpreter.
    pub runs: u32,
    /// Interpreters of the experiment: the first session's in the order given, then each added
    /// one.
    pub labels: Vec<String>,
    /// The runs of the current sets, in the order they are to be made (with a stopping rule:
    /// the first stage, then the rounds it decided; then every later session's runs).
    pub entries: Vec<PlanEntry>,
    /// `run --target-ci`: Stein's two-stage rule, what it was asked and what it decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopping: Option<StoppingRule>,
    /// The recording sessions, oldest first (empty in a plan not yet started).
    #[serde(default)]
    pub sessions: Vec<Session>,
    /// The sets a redo moved aside, with their plan entries (never deleted, never analysed
    /// with the current sets).
    #[serde(default)]
    pub archived: Vec<Archived>,
}

/// Runs `first..=last` of every label in `order`; a shuffle draws from stream `stream` of the
/// seed's generator.
pub(crate) fn arrange(
    labels: &[String],
    first: u32,
    last: u32,
    order: Order,
    seed: u64,
    stream: u64,
) -> Vec<(String, u32)> {
    let mut pairs: Vec<(String, u32)> = Vec::new();
    match order {
        Order::Blocked | Order::Shuffled => {
            for l in labels {
                for r in first..=last {
                    pairs.push((l.clone(), r));
                }
            }
        }
        Order::Interleaved => {
            for r in first..=last {
                for l in labels {
                    pairs.push((l.clone(), r));
                }
            }
        }
    }
    if order == Order::Shuffled {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        if stream != 0 {
            rng.set_stream(stream);
        }
        pairs.shuffle(&mut rng);
        // Run numbers follow the order each interpreter is actually measured in, so
        // "run 1" is always the first measured run of its group.
        let mut next = std::collections::HashMap::new();
        for (l, r) in pairs.iter_mut() {
            let n = next.entry(l.clone()).or_insert(first);
            *r = *n;
            *n += 1;
        }
    }
    pairs
}

/// Plan entries of `pairs` in session `session`, numbered from `first_seq`.
pub(crate) fn number(pairs: Vec<(String, u32)>, first_seq: u32, session: &str) -> Vec<PlanEntry> {
    pairs
        .into_iter()
        .enumerate()
        .map(|(i, (label, run))| PlanEntry {
            seq: first_seq + i as u32,
            label,
            run,
            session: session.to_owned(),
        })
        .collect()
}

impl Plan {
    /// Arranges `runs` runs of every label in `order`.
    pub fn new(labels: &[String], runs: u32, order: Order, seed: u64) -> Plan {
        let entries = number(arrange(labels, 1, runs, order, seed, 0), 1, FIRST_SESSION);
        Plan {
            schema: PLAN_SCHEMA.into(),
            order,
            seed,
            runs,
            labels: labels.to_vec(),
            entries,
            stopping: None,
            sessions: Vec::new(),
            archived: Vec::new(),
        }
    }

    /// The plan with a stopping rule: its runs are the first stage.
    pub fn with_stopping(mut self, rule: Option<StoppingRule>) -> Plan {
        self.stopping = rule;
        self
    }

    /// Adds rounds up to `runs` runs per interpreter (one more run of every interpreter per
    /// round), in the plan's order rule: blocked by interpreter, round-robin, or a seeded
    /// permutation of the added runs (the seed's second stream, so the first stage's order is
    /// unchanged). Returns the entries added.
    /// Only the first session's runs count: a stopping rule is decided before any other
    /// session is allowed.
    pub fn add_rounds(&mut self, runs: u32) -> Vec<PlanEntry> {
        let have = self
            .labels
            .iter()
            .map(|l| {
                self.entries
                    .iter()
                    .filter(|e| &e.label == l && e.session == FIRST_SESSION)
                    .map(|e| e.run)
                    .max()
                    .unwrap_or(0)
            })
            .min()
            .unwrap_or(0);
        if runs <= have {
            return Vec::new();
        }
        let next_seq = self.next_seq();
        let added = number(
            arrange(&self.labels, have + 1, runs, self.order, self.seed, 1),
            next_seq,
            FIRST_SESSION,
        );
        self.entries.extend(added.iter().cloned());
        added
    }

    /// The `seq` of the next entry added (after every current and archived one).
    pub fn next_seq(&self) -> u32 {
        self.entries
            .iter()
            .chain(self.archived.iter().flat_map(|a| a.entries.iter()))
            .map(|e| e.seq)
            .max()
            .unwrap_or(0)
            + 1
    }

    /// Whether `other` was made from the same parameters (so resuming with it is safe).
    pub fn same_parameters(&self, other: &Plan) -> bool {
        self.labels == other.labels && self.same_settings(other)
    }

    /// The same runs, order, seed and stopping rule as `other`, whatever the interpreters.
    pub fn same_settings(&self, other: &Plan) -> bool {
        self.order == other.order
            && self.runs == other.runs
            && (self.order != Order::Shuffled || self.seed == other.seed)
            && match (&self.stopping, &other.stopping) {
                (None, None) => true,
                (Some(a), Some(b)) => a.same_parameters(b),
                _ => false,
            }
    }

    /// Reads a plan file.
    pub fn load(path: &Path) -> anyhow::Result<Plan> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading plan {}", path.display()))?;
        let mut plan: Plan = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a plan file", path.display()))?;
        if plan.schema == PLAN_SCHEMA_V1 {
            // Written before sessions: its runs are the first session; saved as plan/2.
            plan.schema = PLAN_SCHEMA.into();
        }
        if plan.schema != PLAN_SCHEMA {
            anyhow::bail!(
                "{}: schema is {:?}, expected {PLAN_SCHEMA:?} (or {PLAN_SCHEMA_V1:?})",
                path.display(),
                plan.schema
            );
        }
        Ok(plan)
    }

    /// Writes the plan atomically.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        crate::store::write_json(path, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        vec!["3.8".into(), "3.12".into(), "pypy3.9".into()]
    }

    /// The plan's (label, run) pairs in measuring order.
    fn order_of(p: &Plan) -> Vec<(&str, u32)> {
        p.entries
            .iter()
            .map(|e| (e.label.as_str(), e.run))
            .collect()
    }

    #[test]
    fn blocked_runs_one_interpreter_after_another() {
        let p = Plan::new(&labels(), 2, Order::Blocked, 0);
        let got = order_of(&p);
        assert_eq!(
            got,
            [
                ("3.8", 1),
                ("3.8", 2),
                ("3.12", 1),
                ("3.12", 2),
                ("pypy3.9", 1),
                ("pypy3.9", 2)
            ]
        );
    }

    #[test]
    fn interleaved_is_round_robin() {
        let p = Plan::new(&labels(), 2, Order::Interleaved, 0);
        let got = order_of(&p);
        assert_eq!(
            got,
            [
                ("3.8", 1),
                ("3.12", 1),
                ("pypy3.9", 1),
                ("3.8", 2),
                ("3.12", 2),
                ("pypy3.9", 2)
            ]
        );
    }

    #[test]
    fn shuffled_is_reproducible_for_a_seed_and_numbers_runs_in_measuring_order() {
        let a = Plan::new(&labels(), 10, Order::Shuffled, 42);
        let b = Plan::new(&labels(), 10, Order::Shuffled, 42);
        let c = Plan::new(&labels(), 10, Order::Shuffled, 43);
        assert_eq!(a, b);
        assert_ne!(a.entries, c.entries);
        assert_eq!(a.entries.len(), 30);
        for l in labels() {
            let runs: Vec<u32> = a
                .entries
                .iter()
                .filter(|e| e.label == l)
                .map(|e| e.run)
                .collect();
            assert_eq!(runs, (1..=10).collect::<Vec<_>>(), "{l}");
        }
        let seqs: Vec<u32> = a.entries.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=30).collect::<Vec<_>>());
    }

    #[test]
    fn a_changed_parameter_is_detected() {
        let a = Plan::new(&labels(), 3, Order::Shuffled, 1);
        assert!(a.same_parameters(&Plan::new(&labels(), 3, Order::Shuffled, 1)));
        assert!(!a.same_parameters(&Plan::new(&labels(), 4, Order::Shuffled, 1)));
        assert!(!a.same_parameters(&Plan::new(&labels(), 3, Order::Shuffled, 2)));
        assert!(!a.same_parameters(&Plan::new(&labels(), 3, Order::Blocked, 1)));
    }

    #[test]
    fn added_rounds_follow_the_order_rule_after_the_first_stage() {
        let mut p = Plan::new(&labels(), 2, Order::Interleaved, 0);
        let added = p.add_rounds(3);
        assert_eq!(
            order_of(&Plan {
                entries: added.clone(),
                ..p.clone()
            }),
            [("3.8", 3), ("3.12", 3), ("pypy3.9", 3)]
        );
        assert_eq!(added[0].seq, 7);
        assert!(p.add_rounds(3).is_empty(), "nothing twice");

        let mut b = Plan::new(&labels(), 2, Order::Blocked, 0);
        let added: Vec<(String, u32)> = b
            .add_rounds(4)
            .into_iter()
            .map(|e| (e.label, e.run))
            .collect();
        assert_eq!(added[..2], [("3.8".into(), 3), ("3.8".into(), 4)]);

        let first = Plan::new(&labels(), 3, Order::Shuffled, 9);
        let mut s = first.clone();
        let added = s.add_rounds(6);
        assert_eq!(
            s.entries[..9],
            first.entries[..],
            "the first stage unchanged"
        );
        let mut again = first.clone();
        assert_eq!(again.add_rounds(6), added, "reproducible");
        for l in labels() {
            let runs: Vec<u32> = added
                .iter()
                .filter(|e| e.label == l)
                .map(|e| e.run)
                .collect();
            assert_eq!(runs, [4, 5, 6], "{l}");
        }
        let seqs: Vec<u32> = s.entries.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=18).collect::<Vec<_>>());
    }

    #[test]
    fn a_changed_stopping_rule_is_detected() {
        use crate::stopping::Target;
        let rule = |ci: f64| {
            Some(StoppingRule::new(
                Target {
                    ci_pct: ci,
                    max_runs: 20,
                },
                3,
            ))
        };
        let a = Plan::new(&labels(), 3, Order::Blocked, 1).with_stopping(rule(1.0));
        let mut decided = a.clone();
        decided.add_rounds(5);
        assert!(decided.same_parameters(&a), "added rounds are no change");
        assert!(!a.same_parameters(&a.clone().with_stopping(rule(0.5))));
        assert!(!a.same_parameters(&Plan::new(&labels(), 3, Order::Blocked, 1)));
        let text = serde_json::to_string(&a).unwrap_or_default();
        assert!(text.contains("\"target_ci_pct\":1.0"), "{text}");
        let plain = serde_json::to_string(&Plan::new(&labels(), 3, Order::Blocked, 1));
        assert!(!plain.unwrap_or_default().contains("stopping"));
    }

    #[test]
    fn a_plan_1_file_reads_as_one_first_session() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("plan.json");
        let v1 = r#"{"schema":"plan/1","order":"blocked","seed":1,"runs":1,"labels":["3.8"],"entries":[{"seq":1,"label":"3.8","run":1}]}"#;
        std::fs::write(&path, v1).unwrap_or_else(|e| panic!("{e}"));
        let p = Plan::load(&path).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(p.schema, PLAN_SCHEMA);
        assert_eq!(p.entries[0].session, FIRST_SESSION);
        assert!(p.sessions.is_empty() && p.archived.is_empty());
        std::fs::write(&path, v1.replace("plan/1", "plan/9")).unwrap_or_else(|e| panic!("{e}"));
        let e = Plan::load(&path).unwrap_err().to_string();
        assert!(e.contains("expected \"plan/2\" (or \"plan/1\")"), "{e}");
    }

    #[test]
    fn order_parses_and_rejects_clearly() {
        assert_eq!("interleaved".parse::<Order>(), Ok(Order::Interleaved));
        let e = "random".parse::<Order>().unwrap_err();
        assert!(e.contains("blocked, interleaved or shuffled"), "{e}");
    }
}
