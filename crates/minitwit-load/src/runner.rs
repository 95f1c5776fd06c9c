//! Runs the scenario as one or more concurrent users and turns every request on the wire into
//! a [`RequestRecord`], handed to a sink as it happens.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use records::{Latency, LoadLine, RequestRecord, UserResult, LOAD_SCHEMA, REQUEST_SCHEMA};

use crate::http::{Client, HttpError, Session, Timeouts};
use crate::scenario::{self, Call, Cookies, Mode};
use crate::seed;
use crate::url::{encode_path, HttpUrl};

/// Redirect hops followed at most per call (what `requests` allows).
pub(crate) const MAX_REDIRECTS: usize = 30;

/// Everything one scenario run needs.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// MiniTwit's base URL.
    pub server: HttpUrl,
    /// The MiniTwit users to run as, concurrently (one thread each).
    pub users: Vec<String>,
    /// Paper or fixed "private timeline" requests.
    pub mode: Mode,
    /// Cycles of step 5 ([`scenario::STUDY_CYCLES`] in the study).
    pub cycles: u32,
    /// Times each user runs the whole scenario in a row (1 in the study; see [`repeat_names`]).
    pub repeat: u32,
    /// The users step 5 follows, in order (the first 20 of the seed).
    pub follow: Vec<String>,
    /// Where [`LoadConfig::follow`] came from, named when a followed user does not answer.
    pub follow_from: FollowFrom,
    /// Connect and request timeouts.
    pub timeouts: Timeouts,
    /// `run_id` of the records.
    pub run_id: String,
    /// `client` of the records (host name).
    pub client: String,
}

/// Where the users to follow came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowFrom {
    /// The generated seed of this random seed ([`seed::user_names`], `--seed`).
    Generated(u64),
    /// A seed SQL file MiniTwit was loaded with (`--seed-sql`).
    SeedSql(PathBuf),
}

impl FollowFrom {
    /// The first [`crate::seedsql::FOLLOWED`] users of this seed, in `user_id` order.
    pub fn users(&self) -> Result<Vec<String>, crate::seedsql::SeedSqlError> {
        match self {
            FollowFrom::Generated(seed) => Ok(seed::user_names(*seed)
                .into_iter()
                .take(crate::seedsql::FOLLOWED)
                .collect()),
            FollowFrom::SeedSql(path) => crate::seedsql::followed_users(path),
        }
    }

    /// Why following `name` may have failed with 404, for the error line.
    fn hint(&self, name: &str) -> String {
        match self {
            FollowFrom::Generated(seed) => {
                format!(" (is MiniTwit's seed data `minitwit-load seed --seed {seed}`? or pass the seed it was loaded with as --seed-sql)")
            }
            FollowFrom::SeedSql(path) => format!(
                " (user {name:?} of --seed-sql {} does not answer: was MiniTwit loaded with that file?)",
                path.display()
            ),
        }
    }
}

/// Why a run could not be carried out at all (a user's failure is not one: it is reported
/// in the [`LoadLine`]).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The server's address does not resolve.
    #[error("{server}: {source}")]
    Server {
        /// The server URL.
        server: String,
        /// What went wrong.
        #[source]
        source: HttpError,
    },
    /// The records could not be written.
    #[error("writing the request records: {0}")]
    Sink(#[source] io::Error),
}

/// What the user threads share: each records its requests itself under the lock (no channel
/// and no writer thread to wake per request, which would cost the client CPU).
struct Shared<S, P> {
    sink: S,
    progress: P,
    counts: Counts,
    total: u64,
    sink_error: Option<io::Error>,
}

impl<S: FnMut(&RequestRecord) -> io::Result<()>, P: FnMut(u64, u64)> Shared<S, P> {
    fn record(&mut self, rec: &RequestRecord, stop: &AtomicBool) {
        self.counts.add(rec);
        (self.progress)(self.counts.requests, self.total);
        if self.sink_error.is_none() {
            if let Err(e) = (self.sink)(rec) {
                self.sink_error = Some(e);
                stop.store(true, Ordering::SeqCst);
            }
        }
    }
}

/// Something a user thread hands its records to.
trait Recorder: Sync {
    fn record(&self, rec: &RequestRecord, stop: &AtomicBool);
}

impl<S, P> Recorder for Mutex<Shared<S, P>>
where
    S: FnMut(&RequestRecord) -> io::Result<()> + Send,
    P: FnMut(u64, u64) + Send,
{
    fn record(&self, rec: &RequestRecord, stop: &AtomicBool) {
        self.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .record(rec, stop);
    }
}

/// Runs the scenario for every user at once, hands each request record to `sink` in the
/// order they complete, and calls `progress(done, total)` after each. Stops early (marking
/// the summary interrupted) when `stop` is raised. The summary is the run's [`LoadLine`]: what
/// `run --records` prints and an agent answers a trigger with.
pub fn run_scenario(
    cfg: &LoadConfig,
    stop: &AtomicBool,
    sink: impl FnMut(&RequestRecord) -> io::Result<()> + Send,
    progress: impl FnMut(u64, u64) + Send,
) -> Result<LoadLine, LoadError> {
    let client = Client::new(&cfg.server, cfg.timeouts).map_err(|source| LoadError::Server {
        server: cfg.server.to_string(),
        source,
    })?;
    // Per user thread, one (name, plan) per repetition, run one after the other.
    let plans: Vec<Vec<(String, Vec<Call>)>> = cfg
        .users
        .iter()
        .map(|u| {
            repeat_names(u, cfg.repeat)
                .into_iter()
                .map(|name| {
                    let plan = scenario::plan(&name, cfg.mode, &cfg.follow, cfg.cycles);
                    (name, plan)
                })
                .collect()
        })
        .collect();
    let total: u64 = plans
        .iter()
        .flatten()
        .map(|(_, p)| scenario::request_count(p) as u64)
        .sum();
    let shared = Mutex::new(Shared {
        sink,
        progress,
        counts: Counts::default(),
        total,
        sink_error: None,
    });
    let t0 = Instant::now();
    let users = std::thread::scope(|scope| {
        let handles: Vec<_> = cfg
            .users
            .iter()
            .zip(&plans)
            .map(|(user, plan)| {
                let (client, shared) = (&client, &shared);
                scope.spawn(move || run_repeats(client, cfg, user, plan, t0, stop, shared))
            })
            .collect();
        handles
            .into_iter()
            .zip(&cfg.users)
            .map(|(h, user)| {
                h.join().unwrap_or_else(|_| UserResult {
                    user: user.clone(),
                    requests: 0,
                    errors: 1,
                    ok: false,
                    error: Some("the user's thread panicked".into()),
                })
            })
            .collect::<Vec<_>>()
    });
    let duration_s = t0.elapsed().as_secs_f64();
    let Shared {
        mut counts,
        sink_error,
        ..
    } = shared.into_inner().unwrap_or_else(PoisonError::into_inner);
    if let Some(e) = sink_error {
        return Err(LoadError::Sink(e));
    }
    Ok(LoadLine {
        schema: LOAD_SCHEMA.to_owned(),
        run_id: Some(cfg.run_id.clone()),
        client: Some(cfg.client.clone()),
        server: Some(cfg.server.to_string()),
        scenario: Some(cfg.mode.as_str().to_owned()),
        cycles: Some(cfg.cycles),
        duration_s,
        requests: counts.requests,
        errors: counts.errors,
        by_status: std::mem::take(&mut counts.by_status),
        clients: u32::try_from(users.len()).unwrap_or(u32::MAX),
        ok: users.iter().all(|u| u.ok),
        interrupted: stop.load(Ordering::SeqCst),
        latency_ms: Some(counts.latency()),
        users,
        agents: Vec::new(),
    })
}

#[derive(Default)]
struct Counts {
    requests: u64,
    errors: u64,
    by_status: BTreeMap<String, u64>,
    latencies: Vec<f64>,
}

impl Counts {
    fn add(&mut self, rec: &RequestRecord) {
        self.requests += 1;
        if rec.error.is_some() {
            self.errors += 1;
        }
        if let Some(s) = rec.status {
            *self.by_status.entry(s.to_string()).or_default() += 1;
            self.latencies.push(rec.latency_ms);
        }
    }

    fn latency(&mut self) -> Latency {
        self.latencies.sort_by(f64::total_cmp);
        let l = &self.latencies;
        let pick = |q: f64| {
            if l.is_empty() {
                return 0.0;
            }
            // Nearest rank.
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let i = ((q * l.len() as f64).ceil() as usize).clamp(1, l.len()) - 1;
            l[i]
        };
        Latency {
            p50: pick(0.50),
            p90: pick(0.90),
            p99: pick(0.99),
            max: l.last().copied().unwrap_or(0.0),
        }
    }
}

/// The MiniTwit users one user thread runs as, in order, for `repeat` runs of the scenario:
/// `user` itself, then `user-r2` … `user-rN` (each registers anew, so every repetition is the
/// study's scenario for a new user; with `repeat` 1 the wire is exactly the study's).
pub fn repeat_names(user: &str, repeat: u32) -> Vec<String> {
    std::iter::once(user.to_owned())
        .chain((2..=repeat).map(|k| format!("{user}-r{k}")))
        .collect()
}

/// Runs one user thread's repetitions in a row; the first failure ends them.
fn run_repeats(
    client: &Client,
    cfg: &LoadConfig,
    user: &str,
    plans: &[(String, Vec<Call>)],
    t0: Instant,
    stop: &AtomicBool,
    recorder: &dyn Recorder,
) -> UserResult {
    let mut total = UserResult {
        user: user.to_owned(),
        requests: 0,
        errors: 0,
        ok: true,
        error: None,
    };
    for (name, plan) in plans {
        let r = run_user(client, cfg, name, plan, t0, stop, recorder);
        total.requests += r.requests;
        total.errors += r.errors;
        if !r.ok {
            total.ok = false;
            total.error = r.error;
            break;
        }
    }
    total
}

/// Runs one user's plan; every request goes to `recorder` as a record.
fn run_user(
    client: &Client,
    cfg: &LoadConfig,
    user: &str,
    plan: &[Call],
    t0: Instant,
    stop: &AtomicBool,
    recorder: &dyn Recorder,
) -> UserResult {
    let mut result = UserResult {
        user: user.to_owned(),
        requests: 0,
        errors: 0,
        ok: false,
        error: None,
    };
    let mut session: Option<Session> = None;
    let mut seq: u32 = 0;
    for call in plan {
        if stop.load(Ordering::Relaxed) {
            result.error = Some("interrupted".into());
            return result;
        }
        let mut one_off = Session::new();
        let sess = match call.cookies {
            Cookies::None => &mut one_off,
            Cookies::Session => session.get_or_insert_with(Session::new),
            Cookies::NewSession => session.insert(Session::new()),
        };
        let mut method = call.method;
        let mut form = call.form.as_deref();
        let mut target = client.target(&encode_path(&call.path));
        for hop in 0..=MAX_REDIRECTS {
            seq += 1;
            let sent = Instant::now();
            let answer = client.send(sess, method, &target, form, stop);
            let latency = sent.elapsed();
            let mut rec = RequestRecord {
                schema: REQUEST_SCHEMA.to_owned(),
                run_id: cfg.run_id.clone(),
                client: cfg.client.clone(),
                user: user.to_owned(),
                seq,
                step: Some(call.step.to_owned()),
                method: method.to_owned(),
                path: target.clone(),
                status: None,
                start_s: secs(sent.duration_since(t0)),
                latency_ms: secs(latency) * 1000.0,
                bytes: None,
                error: None,
            };
            result.requests += 1;
            let expected = call.expect.get(hop).copied();
            let failure = match &answer {
                Err(e) => Some(e.to_string()),
                Ok(r) => {
                    rec.status = Some(r.status);
                    rec.bytes = Some(r.body.len() as u64);
                    if Some(r.status) != expected {
                        let followed = call
                            .path
                            .strip_suffix("/follow")
                            .and_then(|p| p.strip_prefix('/'));
                        let hint = if let (Some(name), 404) = (followed, r.status) {
                            // Following a user MiniTwit does not know: another seed.
                            cfg.follow_from.hint(name)
                        } else {
                            String::new()
                        };
                        Some(match expected {
                            Some(x) => format!("expected HTTP {x}, got {}{hint}", r.status),
                            None => format!("expected no more redirects, got HTTP {}", r.status),
                        })
                    } else if hop + 1 == call.expect.len() {
                        call.check
                            .as_deref()
                            .filter(|c| !r.body_contains(c))
                            .map(|c| format!("the page does not contain {c:?}"))
                    } else {
                        None
                    }
                }
            };
            rec.error.clone_from(&failure);
            let path = rec.path.clone();
            recorder.record(&rec, stop);
            if let Some(why) = failure {
                result.errors += 1;
                result.error = Some(format!(
                    "user {user}: step {}, request {seq} ({method} {path}): {why}",
                    call.step
                ));
                return result;
            }
            let Ok(r) = answer else { break };
            if hop + 1 == call.expect.len() {
                break;
            }
            // A redirect was expected and came: follow it as `requests` does.
            let Some(location) = r.location else {
                result.errors += 1;
                result.error = Some(format!(
                    "user {user}: step {}, request {seq} ({method} {path}): HTTP {} without a Location header",
                    call.step, r.status
                ));
                return result;
            };
            match redirect_target(client.base(), &target, &location) {
                Ok(t) => target = t,
                Err(why) => {
                    result.errors += 1;
                    result.error = Some(format!(
                        "user {user}: step {}, request {seq} ({method} {path}): {why}",
                        call.step
                    ));
                    return result;
                }
            }
            if matches!(r.status, 301..=303) && method != "HEAD" {
                method = "GET";
                form = None;
            }
        }
    }
    result.ok = true;
    result
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The request target a `Location` points to. Only the same server is followed: the load
/// must never wander off to another host.
pub(crate) fn redirect_target(
    base: &HttpUrl,
    current: &str,
    location: &str,
) -> Result<String, String> {
    if location.starts_with("http://") || location.starts_with("https://") {
        let url = HttpUrl::parse(location, true)
            .map_err(|e| format!("redirect to {location:?} refused: {e}"))?;
        if url.host != base.host || url.port != base.port {
            return Err(format!("redirect to another server ({location}) refused"));
        }
        return Ok(encode_path(&url.path));
    }
    if location.starts_with('/') {
        return Ok(encode_path(location));
    }
    // Relative to the current path's directory.
    let dir = current.rsplit_once('/').map_or("", |(d, _)| d);
    Ok(encode_path(&format!("{dir}/{location}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_on_the_server() {
        let base = HttpUrl::parse("http://127.0.0.1:5000", false).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            redirect_target(&base, "/add_message", "/").as_deref(),
            Ok("/")
        );
        assert_eq!(
            redirect_target(&base, "/x", "http://127.0.0.1:5000/Ada%20Lovelace").as_deref(),
            Ok("/Ada%20Lovelace")
        );
        assert_eq!(redirect_target(&base, "/a/b", "c").as_deref(), Ok("/a/c"));
        assert!(redirect_target(&base, "/", "http://10.0.0.9:5000/").is_err());
    }

    #[test]
    fn repeat_names_start_with_the_user_itself() {
        assert_eq!(repeat_names("vm-1", 1), ["vm-1"]);
        assert_eq!(repeat_names("vm-1", 3), ["vm-1", "vm-1-r2", "vm-1-r3"]);
    }

    #[test]
    fn latency_percentiles_use_nearest_rank() {
        let mut c = Counts {
            latencies: (1..=100).map(f64::from).collect(),
            ..Counts::default()
        };
        let l = c.latency();
        assert_eq!((l.p50, l.p90, l.p99, l.max), (50.0, 90.0, 99.0, 100.0));
        assert_eq!(Counts::default().latency(), Latency::default());
    }
}
