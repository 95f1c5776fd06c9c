//! Runs the whole energy experiment unattended.
//!
//! The experiment is a plan of (interpreter, run) pairs in a chosen order, written to a file
//! before the first run. For every planned run not yet recorded `ok`, the runner makes sure the
//! server runs that interpreter (restarting it only when the interpreter changes, followed by
//! warm-up runs that are discarded and an optional idle-baseline recording), resets MiniTwit's
//! database, records the server's power with `otii-capture record` around the load, validates
//! the run (request count and statuses), and files the run record, trace and request log under
//! the interpreter's folder. A failed run is re-queued once. Interrupting and starting again
//! continues with what is missing; nothing partial ever enters the data.
//!
//! The runner composes the workspace's tools as processes, the Unix way; it does no measuring
//! itself.
//!
//! # Layout
//! - `headline.rs`: the one-line conclusions from an energy-stats report.
//! - `plan.rs`: [`Plan`], [`Order`]: the reproducible run order.
//! - `server.rs`: [`Server`] backends: a local MiniTwit under gunicorn per interpreter venv, or
//!   the testbed's server Pi through `pi-provision`.
//! - `runner.rs`: [`run`]: the loop, validation, filing, resume and progress.
//! - `store.rs`: the result folders (`minitwit312/runs.jsonl`, traces, request logs).
//! - `venv.rs`: one venv per local interpreter with MiniTwit's pins.
//! - `proc.rs`: child processes owned by the experiment, stopped by PID even on Ctrl-C.

mod headline;
mod plan;
mod proc;
mod runner;
mod server;
mod store;
mod venv;

pub use headline::{headlines, pretty_label};
pub use plan::{Order, Plan, PlanEntry, PLAN_SCHEMA};
pub use proc::OwnedChild;
pub use runner::{expected_statuses, run, Config, Load, Outcome, Scenario};
pub use server::{free_port, LocalServer, ProvisionedServer, Server};
pub use store::Store;
pub use venv::{ensure_venv, interpreter_label};

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Marks the experiment as interrupted (called from the SIGINT/SIGTERM handler).
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Whether an interruption was requested.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
