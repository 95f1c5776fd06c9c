//! `minitwit-load`: the client side of the "On the Energy Consumption of CPython" experiment.
//!
//! It sends exactly the study's requests to MiniTwit, in order, and records each one as a
//! [`records::RequestRecord`]:
//!
//! - [`runner::run_scenario`]: the scenario as one or more concurrent users (`run`).
//! - [`agent::serve`]: the client-machine mode, `GET /trigger` runs the scenario (`agent`).
//! - [`control::trigger`] and [`control::reset`]: the controller's side (`trigger`, `reset`).
//! - [`seed`]: the seed SQL MiniTwit's `/cleardb` loads, and the ordered users the scenario
//!   follows (`seed`); [`seedsql`]: the users to follow read from any seed file (`--seed-sql`).
//! - [`app::run`]: each command carried out from its validated [`app::Config`], which the
//!   binary builds from its command line.
//!
//! What a load did is one [`records::LoadLine`]: the line `run --records` and `trigger` print on
//! stdout at their end, and the body an agent answers a trigger with.
//!
//! # Layout
//! - `app.rs`: [`app::Config`], its validation, and the commands (`run`, `agent`, `trigger`,
//!   `reset`, `seed`) with their stdout and exit.
//! - `scenario.rs`: the scenario as a list of calls (paper and fixed modes), tweet texts.
//! - `runner.rs`: runs users on threads, follows redirects, checks flashes, makes the request
//!   records and the run's load line.
//! - `http.rs`: the small keep-alive HTTP/1.1 client with cookies and interruptible timeouts;
//!   `http/conn.rs`: one connection, reading an answer (head, length, chunks, close).
//! - `url.rs`: server URLs, path and form encoding as Python `requests` does them.
//! - `agent.rs`, `control.rs`: the trigger server and the controller side.
//! - `report.rs`: the stderr summary paragraph and progress bar.
//! - `seed.rs`, `words.rs`: the deterministic seed data, shaped like the study's where it
//!   shapes the work (the followed users' message counts, message lengths).
//! - `seedsql.rs`: the users of any seed SQL file (`--seed-sql`), the first 20 followed.
//!
//! The binary adds `main.rs` (the shared exit tail, [`procs::main`]) and `cli.rs` (clap).

pub mod agent;
pub mod app;
pub mod control;
pub mod http;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod seed;
pub mod seedsql;
pub mod url;
mod words;

/// This machine's host name (the default user name and the records' `client`), or `local`.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "local".to_owned())
}

/// A run id for requests that were given none: `CLIENT-UNIXSECONDS`, plus `-N` for the agent's
/// N-th trigger, so runs of one client sort by time.
pub fn default_run_id(client: &str, trigger: Option<u64>) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match trigger {
        Some(n) => format!("{client}-{secs}-{n}"),
        None => format!("{client}-{secs}"),
    }
}
