//! The load line: the one JSON line a load command prints on stdout when it ends.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{LoadSummary, Versioned};

/// The `schema` tag of a [`LoadLine`] of this version.
pub const LOAD_SCHEMA: &str = "load/1";

/// What a load did, as one JSON line: what `minitwit-load run --records FILE` and
/// `minitwit-load trigger` print on stdout when they end, and the body a `minitwit-load agent`
/// answers a trigger with. `otii-capture record` reads it from its command's stdout
/// ([`LoadLine::parse_line`]) and keeps `duration_s` and the counts in the run record.
///
/// The core (`duration_s`, `requests`, `errors`, `by_status`, `clients`, `ok`) is always there;
/// the rest says more where the command knows it: the run's context and users for one run of
/// the scenario (`run`, an agent's answer), one entry per agent for `trigger`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadLine {
    /// Format version; always [`LOAD_SCHEMA`] for this type.
    pub schema: String,
    /// The run the load belongs to: the `run_id` of its request records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Host name of the machine that ran the scenario (the request records' `client`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// MiniTwit's base URL, e.g. `http://127.0.0.1:5000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Which scenario ran: `paper` (the study's requests) or `fixed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// Cycles of the scenario's step 5 (2 is the study's scenario; fewer shorten it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycles: Option<u32>,
    /// Scenario time in seconds: from just before the load started (the first request, or the
    /// first trigger) to just after it ended (the last user finished, or the last agent
    /// answered). The study's energy is power × this time.
    pub duration_s: f64,
    /// HTTP requests sent on the wire, redirect hops included (summed over the agents that
    /// answered with a load line, for `trigger`).
    pub requests: u64,
    /// Requests that failed: no answer, or an answer the scenario did not expect.
    pub errors: u64,
    /// Number of answers per HTTP status code (`"200"`, `"302"`, `"404"`…).
    pub by_status: BTreeMap<String, u64>,
    /// Number of clients that ran the scenario: virtual users for `run`, agents (trigger URLs)
    /// for `trigger`.
    pub clients: u32,
    /// Whether every client completed the scenario with every check passing.
    pub ok: bool,
    /// Whether the load was stopped by an interruption (Ctrl-C) before its end.
    #[serde(default)]
    pub interrupted: bool,
    /// Latency percentiles over the requests that got an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<Latency>,
    /// Per virtual user, for one run of the scenario (`run`, an agent's answer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserResult>,
    /// Per agent, in the order of the trigger URLs (`trigger`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<AgentResult>,
}

/// Latency percentiles, in milliseconds (nearest rank).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Latency {
    /// Median, ms.
    pub p50: f64,
    /// 90th percentile, ms.
    pub p90: f64,
    /// 99th percentile, ms.
    pub p99: f64,
    /// Largest, ms.
    pub max: f64,
}

/// How one virtual user's scenario ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserResult {
    /// The MiniTwit user name.
    pub user: String,
    /// Requests this user sent on the wire.
    pub requests: u64,
    /// Of which failed (no answer, unexpected status, failed check).
    pub errors: u64,
    /// Whether the whole scenario ran and every check passed.
    pub ok: bool,
    /// The failure that stopped this user: step, request number, what went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One agent's answer to a trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentResult {
    /// The trigger URL.
    pub url: String,
    /// Whether it answered 200 and, when it answered with a load line, that line says ok.
    pub ok: bool,
    /// HTTP status of the answer, if one came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Seconds from the first trigger to this answer.
    pub answered_s: f64,
    /// What went wrong, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The agent's own load line (a `minitwit-load agent` answers with one; other agents may
    /// not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Box<LoadLine>>,
}

/// What a reader of any load command's stdout can take from one line
/// ([`LoadLine::parse_line`]): the scenario time, and the counts when the line has them.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReading {
    /// Scenario time the command measured, s.
    pub duration_s: f64,
    /// Requests, errors, answers per status and clients; `None` when the line has neither
    /// `requests` nor `by_status` (e.g. another tool's `{"duration_s": 3}`).
    pub load: Option<LoadSummary>,
}

impl LoadLine {
    /// The counts as a run record keeps them ([`crate::RunRecord::load`]).
    pub fn load_summary(&self) -> LoadSummary {
        LoadSummary {
            requests: self.requests,
            errors: self.errors,
            by_status: self.by_status.clone(),
            clients: Some(self.clients),
        }
    }

    /// What [`LoadLine::parse_line`] reads from this line once it is printed.
    pub fn reading(&self) -> LoadReading {
        LoadReading {
            duration_s: self.duration_s,
            load: Some(self.load_summary()),
        }
    }

    /// A whole load line: this version's, or one of an older `minitwit-load` (no `schema` tag;
    /// `trigger` wrote `clients` as a list of per-agent results, now `agents`). `None` for
    /// anything else: another record, plain text, a line that lacks a core field.
    pub fn from_line(line: &str) -> Option<LoadLine> {
        let Value::Object(map) = serde_json::from_str(line.trim()).ok()? else {
            return None;
        };
        serde_json::from_value(Value::Object(upgrade(map)?)).ok()
    }

    /// Reads one line of a load command's stdout leniently, as `otii-capture record` does with
    /// whatever command it runs: a JSON object with a numeric `duration_s` and no `schema` of
    /// another record type is a load line; `requests`, `errors`, `by_status` and `clients` (a
    /// number, or an older `minitwit-load`'s list) are each optional, and the counts are there
    /// when `requests` or `by_status` is. Request records, plain text and anything else give
    /// `None`. For a [`LoadLine`] this gives exactly [`LoadLine::reading`].
    pub fn parse_line(line: &str) -> Option<LoadReading> {
        let v: Value = serde_json::from_str(line.trim()).ok()?;
        let map = v.as_object()?;
        if let Some(schema) = map.get("schema") {
            if !schema.as_str().is_some_and(|s| s.starts_with("load/")) {
                return None;
            }
        }
        let duration_s = map.get("duration_s")?.as_f64()?;
        let load = (map.contains_key("requests") || map.contains_key("by_status")).then(|| {
            let by_status = map
                .get("by_status")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, n)| n.as_u64().map(|n| (k.clone(), n)))
                        .collect()
                })
                .unwrap_or_default();
            let clients = match map.get("clients") {
                Some(Value::Array(a)) => u32::try_from(a.len()).ok(),
                Some(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
                None => None,
            };
            LoadSummary {
                requests: map.get("requests").and_then(Value::as_u64).unwrap_or(0),
                errors: map.get("errors").and_then(Value::as_u64).unwrap_or(0),
                by_status,
                clients,
            }
        });
        Some(LoadReading { duration_s, load })
    }
}

/// An older `minitwit-load`'s load line in this version's shape: the `schema` tag added where it
/// is missing (here and in the agents' lines), `clients` as a list turned into its length with
/// its per-agent objects moved to `agents`, a missing `clients` counted from `users`. `None` for
/// a line tagged as another record.
fn upgrade(mut map: Map<String, Value>) -> Option<Map<String, Value>> {
    match map.get("schema") {
        None => {
            map.insert("schema".into(), LOAD_SCHEMA.into());
        }
        Some(s) if s == LOAD_SCHEMA => {}
        Some(_) => return None,
    }
    match map.remove("clients") {
        Some(Value::Array(list)) => {
            map.insert("clients".into(), list.len().into());
            if list.iter().all(Value::is_object) && !map.contains_key("agents") {
                map.insert("agents".into(), Value::Array(list));
            }
        }
        Some(n) => {
            map.insert("clients".into(), n);
        }
        None => {
            if let Some(Value::Array(users)) = map.get("users") {
                map.insert("clients".into(), users.len().into());
            }
        }
    }
    if let Some(Value::Array(agents)) = map.get_mut("agents") {
        for agent in agents.iter_mut() {
            let Some(agent) = agent.as_object_mut() else {
                continue;
            };
            if let Some(Value::Object(summary)) = agent.remove("summary") {
                agent.insert("summary".into(), Value::Object(upgrade(summary)?));
            }
        }
    }
    Some(map)
}

impl Versioned for LoadLine {
    const SCHEMA: &'static str = LOAD_SCHEMA;
    fn schema(&self) -> &str {
        &self.schema
    }
    fn non_finite_field(&self) -> Option<&'static str> {
        let latency = self.latency_ms.unwrap_or_default();
        crate::first_non_finite([
            ("duration_s", Some(self.duration_s)),
            ("latency_ms.p50", Some(latency.p50)),
            ("latency_ms.p90", Some(latency.p90)),
            ("latency_ms.p99", Some(latency.p99)),
            ("latency_ms.max", Some(latency.max)),
        ])
        .or_else(|| {
            self.agents.iter().find_map(|a| {
                if a.answered_s.is_finite() {
                    a.summary
                        .as_ref()
                        .and_then(|s| s.non_finite_field())
                        .map(|_| "agents.summary")
                } else {
                    Some("agents.answered_s")
                }
            })
        })
    }
}
