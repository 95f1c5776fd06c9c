//! The client-machine mode: a tiny HTTP server whose `GET /trigger` runs the scenario once and
//! answers when it is done, as the study's controller expects.
//!
//! - `GET /trigger[?run_id=ID]`: runs the scenario; 200 with the run's one-line JSON
//!   [`LoadLine`] when every check passed, 500 with the same line when not. The run's
//!   request records are appended to the log file, tagged with the run id.
//! - A trigger while a scenario runs: 409, never queued.
//! - Anything else: 404 (405 for other methods on `/trigger`).

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use records::{JsonLinesWriter, LoadLine};

use crate::runner::{run_scenario, LoadConfig};
use crate::url::decode_component;

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The scenario each trigger runs (its `run_id` is replaced per trigger).
    pub load: LoadConfig,
    /// JSON Lines file the request records are appended to, if any.
    pub log: Option<PathBuf>,
}

/// Why the agent stopped other than by an interruption.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// Accepting connections failed.
    #[error("accepting connections on {addr}: {source}")]
    Accept {
        /// The listening address.
        addr: String,
        /// The error.
        #[source]
        source: io::Error,
    },
}

struct State {
    cfg: AgentConfig,
    busy: AtomicBool,
    runs: AtomicU64,
}

/// Serves triggers on `listener` until `stop` is raised. Each connection gets its own thread,
/// so a second trigger is answered 409 while the first runs.
pub fn serve(
    listener: &TcpListener,
    cfg: AgentConfig,
    stop: &AtomicBool,
) -> Result<(), AgentError> {
    let addr = listener
        .local_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string());
    let accept_err = |source| AgentError::Accept {
        addr: addr.clone(),
        source,
    };
    // Non-blocking accept, so the loop notices an interruption within 50 ms.
    listener.set_nonblocking(true).map_err(accept_err)?;
    let state = State {
        cfg,
        busy: AtomicBool::new(false),
        runs: AtomicU64::new(0),
    };
    std::thread::scope(|scope| {
        while !stop.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((stream, peer)) => {
                    let state = &state;
                    scope.spawn(move || {
                        if let Err(e) = handle(stream, peer, state, stop) {
                            eprintln!("minitwit-load agent: {peer}: {e}");
                        }
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(accept_err(e)),
            }
        }
        Ok(())
    })
}

fn handle(
    mut stream: TcpStream,
    peer: SocketAddr,
    state: &State,
    stop: &AtomicBool,
) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk)?;
        if n == 0 || head.len() > 16 * 1024 {
            return respond(&mut stream, 400, "{\"error\":\"incomplete request\"}");
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut first = text.lines().next().unwrap_or("").split(' ');
    let (method, target) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != "/trigger" {
        return respond(
            &mut stream,
            404,
            "{\"error\":\"not found: the agent answers GET /trigger\"}",
        );
    }
    if method != "GET" {
        return respond(&mut stream, 405, "{\"error\":\"use GET /trigger\"}");
    }
    if state
        .busy
        .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        eprintln!("minitwit-load agent: trigger from {peer} refused: a scenario is running");
        return respond(
            &mut stream,
            409,
            "{\"error\":\"a scenario is already running on this agent\"}",
        );
    }
    let outcome = run_once(state, query, stop);
    state.busy.store(false, Ordering::SeqCst);
    match outcome {
        Ok(summary) => {
            eprintln!(
                "minitwit-load agent: trigger from {peer}: {}",
                crate::report::describe(&summary)
            );
            let body = serde_json::to_string(&summary).map_err(io::Error::other)?;
            respond(&mut stream, if summary.ok { 200 } else { 500 }, &body)
        }
        Err(e) => {
            eprintln!("minitwit-load agent: trigger from {peer}: {e}");
            let body = serde_json::json!({ "error": e.to_string() }).to_string();
            respond(&mut stream, 500, &body)
        }
    }
}

fn run_once(state: &State, query: &str, stop: &AtomicBool) -> Result<LoadLine, String> {
    let n = state.runs.fetch_add(1, Ordering::SeqCst) + 1;
    let mut load = state.cfg.load.clone();
    load.run_id = query_value(query, "run_id")
        .unwrap_or_else(|| crate::default_run_id(&load.client, Some(n)));
    let Some(path) = &state.cfg.log else {
        return run_scenario(&load, stop, |_| Ok(()), |_, _| {}).map_err(|e| e.to_string());
    };
    // The `busy` flag lets only one run at a time reach this point, so one writer appends.
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut writer = JsonLinesWriter::new(file);
    run_scenario(&load, stop, |r| writer.write(r), |_, _| {})
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn query_value(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key && !v.is_empty()).then(|| decode_component(v))
    })
}

fn respond(stream: &mut TcpStream, status: u16, body: &str) -> io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "BAD REQUEST",
        404 => "NOT FOUND",
        405 => "METHOD NOT ALLOWED",
        409 => "CONFLICT",
        _ => "INTERNAL SERVER ERROR",
    };
    let msg = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}\n",
        body.len() + 1
    );
    stream.write_all(msg.as_bytes())?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_id_comes_from_the_query() {
        assert_eq!(
            query_value("a=1&run_id=3.12-4", "run_id").as_deref(),
            Some("3.12-4")
        );
        assert_eq!(
            query_value("run_id=a%20b+c", "run_id").as_deref(),
            Some("a b c")
        );
        assert_eq!(query_value("run_id=", "run_id"), None);
        assert_eq!(query_value("", "run_id"), None);
    }
}
