//! The controller's side: `reset` (clear MiniTwit's database) and `trigger` (start the agents
//! on the client machines at once and time the scenario).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use records::{AgentResult, LoadLine, LOAD_SCHEMA};

use crate::http::{Client, HttpError, Session, Timeouts};
use crate::runner::{redirect_target, MAX_REDIRECTS};
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

/// GETs every trigger URL at once (one thread each), waits for all answers. `run_id`, when
/// given, is appended as `run_id=<id>` so agents tag their request logs with it.
///
/// Returns the load line `trigger` prints: `duration_s` from just before the first trigger to
/// just after the last answer; `requests`, `errors`, `by_status` summed over the agents that
/// answered with a load line; `clients`, the number of agents; one [`AgentResult`] each in
/// `agents`.
pub fn trigger(
    urls: &[HttpUrl],
    run_id: Option<&str>,
    timeouts: Timeouts,
    stop: &AtomicBool,
) -> LoadLine {
    let t0 = Instant::now();
    let agents: Vec<AgentResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = urls
            .iter()
            .map(|url| scope.spawn(move || trigger_one(url, run_id, timeouts, stop, t0)))
            .collect();
        handles
            .into_iter()
            .zip(urls)
            .map(|(h, url)| {
                h.join().unwrap_or_else(|_| AgentResult {
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
    let mut out = LoadLine {
        schema: LOAD_SCHEMA.to_owned(),
        run_id: run_id.map(str::to_owned),
        client: None,
        server: None,
        scenario: None,
        cycles: None,
        duration_s,
        requests: 0,
        errors: 0,
        by_status: BTreeMap::new(),
        clients: u32::try_from(agents.len()).unwrap_or(u32::MAX),
        ok: !agents.is_empty() && agents.iter().all(|a| a.ok),
        interrupted: stop.load(Ordering::SeqCst),
        latency_ms: None,
        users: Vec::new(),
        agents: Vec::new(),
    };
    for s in agents.iter().filter_map(|a| a.summary.as_deref()) {
        out.requests += s.requests;
        out.errors += s.errors;
        for (k, v) in &s.by_status {
            *out.by_status.entry(k.clone()).or_default() += v;
        }
    }
    out.agents = agents;
    out
}

fn trigger_one(
    url: &HttpUrl,
    run_id: Option<&str>,
    timeouts: Timeouts,
    stop: &AtomicBool,
    t0: Instant,
) -> AgentResult {
    let mut target = url.path.clone();
    if let Some(id) = run_id {
        let sep = if target.contains('?') { '&' } else { '?' };
        target = format!("{target}{sep}run_id={}", encode_component(id));
    }
    let mut result = AgentResult {
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
            // A load line of this version or an older one; other agents may send anything.
            result.summary = LoadLine::from_line(&text).map(Box::new);
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
