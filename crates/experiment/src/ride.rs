//! Riding out an infrastructure fault: wait with back-off, a progress line per try saying what
//! is awaited, until the meter answers again (a local otii-sim that died is started again) or
//! the server serves again (restarted under the run's interpreter; the client agents, if any,
//! accepting connections), or `--patience` has passed since the fault was met.

use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use anyhow::Result;
use procs::Interrupt;

use crate::attempt::Infra;
use crate::runner::{sleep_interruptibly, Config, Interrupted};
use crate::server::Server;
use crate::sim::Meter;
use crate::summary::{fmt_duration, Away};
use crate::tools::Load;

/// How a ride ended.
pub(crate) enum Ridden {
    /// It is back; `restarted` when the server was started again (warm-up and baseline due).
    Back {
        /// The server was restarted.
        restarted: bool,
    },
    /// Still away when `--patience` ran out; the last cause met.
    PastPatience(String),
}

/// The first wait between tries; it doubles up to `--max-backoff`.
const FIRST_WAIT: Duration = Duration::from_secs(1);

/// Waits for what `fault` found away, trying at once and then with back-off, until it is back
/// or `patience` has passed since `since`.
pub(crate) fn ride_out(
    cfg: &Config,
    server: &mut dyn Server,
    meter: &mut Meter,
    label: &str,
    fault: &Infra,
    since: (Instant, &str),
    interrupt: &Interrupt,
) -> Result<Ridden> {
    let (since, since_clock) = since;
    if since.elapsed() >= cfg.patience {
        // Met again and again since: whatever answers, the run cannot be made.
        return Ok(Ridden::PastPatience(fault.cause.clone()));
    }
    let mut wait = FIRST_WAIT.min(cfg.max_backoff);
    loop {
        let cause_now = match try_back(cfg, server, meter, label, fault, interrupt) {
            Ok(restarted) => {
                eprintln!(
                    "experiment: {} is back after {}",
                    fault.what(),
                    fmt_duration(since.elapsed())
                );
                return Ok(Ridden::Back { restarted });
            }
            Err(why) => why,
        };
        if interrupt.is_set() {
            anyhow::bail!(Interrupted);
        }
        let away_for = since.elapsed();
        if away_for >= cfg.patience {
            return Ok(Ridden::PastPatience(cause_now));
        }
        let next = wait.min(cfg.patience - away_for);
        eprintln!(
            "experiment: waiting for {} (away since {since_clock}, {} of --patience {}): {cause}; next try in {}",
            what_awaited(fault),
            fmt_duration(away_for),
            fmt_duration(cfg.patience),
            fmt_duration(next),
            cause = cause_now
        );
        sleep_interruptibly(next, interrupt)?;
        wait = (wait * 2).min(cfg.max_backoff);
    }
}

fn what_awaited(fault: &Infra) -> String {
    match fault.away {
        Away::Meter => format!("{} to answer", fault.what()),
        Away::Server => format!("{} to serve again", fault.what()),
    }
}

/// One try: the meter answering with an Arc (a dead local simulator started again first), or
/// the server restarted under `label` and answering its readiness probe. `Err` is why not.
fn try_back(
    cfg: &Config,
    server: &mut dyn Server,
    meter: &mut Meter,
    label: &str,
    fault: &Infra,
    interrupt: &Interrupt,
) -> std::result::Result<bool, String> {
    match fault.away {
        Away::Meter => {
            meter
                .revive(interrupt)
                .map_err(|e| records::error_chain(e.as_ref()))?;
            meter.probe(&cfg.bin_dir).map(|()| false)
        }
        Away::Server => {
            server
                .restart(label)
                .map_err(|e| records::error_chain(e.as_ref()))?;
            server.probe()?;
            if let Load::Agents { triggers } = &cfg.load {
                triggers.iter().try_for_each(|t| agent_answers(t))?;
            }
            Ok(true)
        }
    }
}

/// Whether the client agent of a trigger URL accepts a connection (a GET would start its
/// scenario, so only the TCP port is tried).
fn agent_answers(trigger: &str) -> std::result::Result<(), String> {
    let authority = trigger
        .strip_prefix("http://")
        .unwrap_or(trigger)
        .split('/')
        .next()
        .unwrap_or_default();
    let fail =
        |e: &dyn std::fmt::Display| format!("the client agent at {trigger} does not answer: {e}");
    let addr = authority
        .to_socket_addrs()
        .map_err(|e| fail(&e))?
        .next()
        .ok_or_else(|| fail(&"no address"))?;
    TcpStream::connect_timeout(&addr, Duration::from_secs(3))
        .map(|_| ())
        .map_err(|e| fail(&e))
}
