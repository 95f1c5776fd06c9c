//! The controller's side: `reset` (clear MiniTwit's database) and `trigger` (start the agents
//! on the client machines at once and time the scenario).

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::http::{Client, HttpError, Session, Timeouts};
use crate::runner::{redirect_target, RunSummary, MAX_REDIRECTS};
use crate::url::{encode_component, HttpUrl};

/// Why `/cleardb` did not end well.
#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    /// No answer.
    #[error("GET {url}: {source}")]
    Http {
        /// The URL requested.
        url: String,
        /// What went wrong.
        #[source]
        source: HttpError,
    },
    /// An answer other than 200 at the end of the redirects.
    #[error("GET {url} ended with HTTP {status}, expected 200 after the redirect: {excerpt}")]
    Status {
        /// The URL of the last request.
        url: String,
        /// Its status.
        status: u16,
        /// The first line of the body.
        excerpt: String,
    },
}

/// `GET /cleardb`, following redirects on the same server; succeeds only if it ends on 200.
/// Returns the statuses of the chain (MiniTwit: `[302, 200]`).
pub fn reset(
    server: &HttpUrl,
    timeouts: Timeouts,
    stop: &AtomicBool,
) -> Result<Vec<u16>, ResetError> {
    let client = Client::new(server, timeouts).map_err(|source| ResetError::Http {
        url: format!("{server}/cleardb"),
        source,
    })?;
    let mut session = Session::new();
    let mut target = client.target("/cleardb");
    let mut chain = Vec::new();
    for _ in 0..=MAX_REDIRECTS {
        let url = format!("http://{}{target}", server.host_header());
        let r = client
            .send(&mut session, "GET", &target, None, stop)
            .map_err(|source| ResetError::Http {
                url: url.clone(),
                source,
            })?;
        chain.push(r.status);
        match (r.status, r.location) {
            (301..=303 | 307 | 308, Some(loc)) => {
                target = redirect_target(server, &target, &loc).map_err(|excerpt| {
                    ResetError::Status {
                        url,
                        status: r.status,
                        excerpt,
                    }
                })?;
            }
            (200, _) => return Ok(chain),
            (status, _) => {
                let excerpt = String::from_utf8_lossy(&r.body)
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .unwrap_or("")
                    .chars()
                    .take(200)
                    .collect();
                return Err(ResetError::Status {
                    url,
                    status,
                    excerpt,
                });
            }
        }
    }
    Err(ResetError::Status {
        url: format!("{server}/cleardb"),
        status: chain.last().copied().unwrap_or(0),
        excerpt: "too many redirects".into(),
    })
}

/// One agent's answer to a trigger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientResult {
    /// The trigger URL.
    pub url: String,
    /// Whether it answered 200 and, when it sent a summary, that summary says ok.
    pub ok: bool,
    /// HTTP status of the answer, if one came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Seconds from the first trigger to this answer.
    pub answered_s: f64,
    /// What went wrong, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The agent's run summary (a `minitwit-load agent` answers with one; other agents may not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<RunSummary>,
}

/// The one line `trigger` prints. `duration_s`, `requests`, `errors`, `by_status` are what
/// `otii-capture record` reads; the sums cover the agents that sent a summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerSummary {
    /// Scenario time: from just before the first trigger to just after the last answer.
    pub duration_s: f64,
    /// Requests the agents sent to MiniTwit.
    pub requests: u64,
    /// Of which failed.
    pub errors: u64,
    /// Answers per HTTP status, over all agents.
    pub by_status: BTreeMap<String, u64>,
    /// Whether every agent answered 200 with a successful run.
    pub ok: bool,
    /// Per agent, in the order given.
    pub clients: Vec<ClientResult>,
}

/// GETs every trigger URL at once (one thread each), waits for all answers. `run_id`, when
/// given, is appended as `run_id=<id>` so agents tag their request logs with it.
pub fn trigger(
    urls: &[HttpUrl],
    run_id: Option<&str>,
    timeouts: Timeouts,
    stop: &AtomicBool,
) -> TriggerSummary {
    let t0 = Instant::now();
    let clients: Vec<ClientResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = urls
            .iter()
            .map(|url| scope.spawn(move || trigger_one(url, run_id, timeouts, stop, t0)))
            .collect();
        handles
            .into_iter()
            .zip(urls)
            .map(|(h, url)| {
                h.join().unwrap_or_else(|_| ClientResult {
                    url: url.to_string(),
                    ok: false,
                    status: None,
                    answered_s: t0.elapsed().as_secs_f64(),
                    error: Some("the trigger thread panicked".into()),
                    summary: None,
                })
            })
            .collect()
    });
    let duration_s = t0.elapsed().as_secs_f64();
    let mut out = TriggerSummary {
        duration_s,
        requests: 0,
        errors: 0,
        by_status: BTreeMap::new(),
        ok: !clients.is_empty() && clients.iter().all(|c| c.ok),
        clients: Vec::new(),
    };
    for c in &clients {
        if let Some(s) = &c.summary {
            out.requests += s.load.requests;
            out.errors += s.load.errors;
            for (k, v) in &s.load.by_status {
                *out.by_status.entry(k.clone()).or_default() += v;
            }
        }
    }
    out.clients = clients;
    out
}

fn trigger_one(
    url: &HttpUrl,
    run_id: Option<&str>,
    timeouts: Timeouts,
    stop: &AtomicBool,
    t0: Instant,
) -> ClientResult {
    let mut target = url.path.clone();
    if let Some(id) = run_id {
        let sep = if target.contains('?') { '&' } else { '?' };
        target = format!("{target}{sep}run_id={}", encode_component(id));
    }
    let mut result = ClientResult {
        url: url.to_string(),
        ok: false,
        status: None,
        answered_s: 0.0,
        error: None,
        summary: None,
    };
    let answer = Client::new(url, timeouts)
        .and_then(|c| c.send(&mut Session::new(), "GET", &target, None, stop));
    result.answered_s = t0.elapsed().as_secs_f64();
    match answer {
        Err(e) => result.error = Some(e.to_string()),
        Ok(r) => {
            result.status = Some(r.status);
            let text = String::from_utf8_lossy(&r.body);
            result.summary = serde_json::from_str::<RunSummary>(text.trim()).ok();
            let run_ok = result.summary.as_ref().is_none_or(|s| s.ok);
            result.ok = r.status == 200 && run_ok;
            if !result.ok {
                let first = text
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .take(300)
                    .collect::<String>();
                result.error = Some(match &result.summary {
                    Some(s) => s
                        .users
                        .iter()
                        .find_map(|u| u.error.clone())
                        .unwrap_or_else(|| format!("the agent's run failed (HTTP {})", r.status)),
                    None => format!("HTTP {}: {first}", r.status),
                });
            }
        }
    }
    result
}
