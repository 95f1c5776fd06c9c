//! Runs the whole energy experiment unattended.
//!
//! The experiment is a plan of (interpreter, run) pairs in a chosen order, written to a file
//! before the first run. For every planned run not yet recorded `ok`, the runner makes sure the
//! server runs that interpreter (restarting it only when the interpreter changes, followed by
//! warm-up runs that are discarded and an optional idle-baseline recording), resets MiniTwit's
//! database, records the server's power with `otii-capture record` around the load, validates
//! the run (request count and statuses), and files the run record, trace and request log under
//! the interpreter's folder. A failed run is re-queued once. The meter, the server or the
//! network going away is not a failed run: the tools say so by exiting 75, the experiment's own
//! probes by the server not starting or not answering; it waits (`--patience`, with back-off),
//! starts again what it owns (the server under the run's interpreter, a local otii-sim) and
//! repeats the run, the interrupted attempt kept under `failed/`; past its patience it stops
//! with a paragraph saying how to continue. Every end prints the morning summary (runs, faults,
//! runs repeated, time lost), also kept beside the plan as JSON. With `--target-ci`, the planned runs
//! are a first stage, after which Stein's two-stage rule decides once how many runs per
//! interpreter the target needs and adds those rounds to the plan. Interrupting and starting again
//! continues with what is missing; nothing partial ever enters the data. `--only` records some
//! interpreters' runs now; `--only … --redo` records them again in a new session, their old set
//! moved to `OUT/archive/`; `--add` adds interpreters in a new session, interleaved with runs of
//! a reference already in the experiment, for the report's drift check. The conclusions are
//! energy-stats' own (`energy-stats report --format headline`).
//!
//! The runner composes the workspace's tools as processes, the Unix way; it does no measuring
//! itself. Its children (gunicorn, otii-sim, the tools) are owned through [`procs`], and Ctrl-C
//! reaches the library as the [`procs::Interrupt`] flag handed to [`execute`] and [`run`].
//!
//! # Layout
//! - `app.rs`: [`Task`], [`execute`]: what the command does, from a validated task: the plan,
//!   the interpreter list, or the run with its server and meter.
//! - `discover.rs`: [`Places`]: where interpreters are looked for (PATH, pyenv, uv, the user's
//!   names) and what each says it is when asked.
//! - `interpreters.rs`: [`find`], [`Interpreter`]: the usable ones (too old ones skipped with
//!   the reason), their unique labels (`3.11`, `3.11-debian`, `pypy3.9`), the user's choice.
//! - `plan.rs`: [`Plan`], [`Order`]: the reproducible run order.
//! - `session.rs`: [`Session`], [`Archived`], [`Rerun`]: the recording sessions (the first,
//!   an added interpreter with its interleaved reference, a redo whose old set goes to
//!   `OUT/archive/`), resuming within one, `complete.json` per finished group.
//! - `rerun.rs`: opening a redo's or an added version's session: the archive move, the
//!   reference's interleaved runs.
//! - `runner.rs`: [`run`], [`Config`]: the loop, resume, re-queueing and progress; with a
//!   target, the second stage added once the first is complete; infrastructure faults ridden
//!   out, or the stop past patience.
//! - `attempt.rs`: one attempt at a run (and the warm-up and baseline after a server start),
//!   and what ended it: recorded, the run's failure, the meter or server away, a stop.
//! - `ride.rs`: waiting out a fault with back-off and progress lines until the meter answers or
//!   the server serves again.
//! - `summary.rs`: [`Summary`], [`status`]: the morning summary, printed and kept as
//!   `<plan>.summary.json`.
//! - `toolrun.rs`: a tool run in its own process group, stdout collected, its last stderr line
//!   kept as the cause, one SIGINT forwarded.
//! - `stopping.rs`: [`StoppingRule`], [`Target`]: `--target-ci`, Stein's two-stage rule: N
//!   decided once from the first stage's spread at the report's level, capped by `--max-runs`.
//! - `tools.rs`: [`Scenario`], [`Load`]: the command lines of otii-capture and minitwit-load,
//!   and the run record read back.
//! - `check.rs`: [`expected_statuses`]: whether a recorded run counts.
//! - `server.rs`: [`Server`] backends: a local MiniTwit under gunicorn per interpreter venv
//!   ([`procs::MiniTwitLaunch`]), or the testbed's server Pi through `pi-provision`.
//! - `sim.rs`: [`Meter`]: the Otii's address, or the local otii-sim that stands in for it
//!   (power modelled), started again when it died.
//! - `speed.rs`: the machine's speed beside every run of a local server (a fixed workload,
//!   Python's by default, timed in thread CPU time every 20 ms; the run record's
//!   `speed_probe`); `speed_probe.py` is that workload.
//! - `store.rs`: [`Store`]: filing runs into the results folders ([`records::ResultsDir`]);
//!   a full disk ([`DiskFull`]) undoes the filing.
//! - `venv.rs`: one venv per local interpreter with MiniTwit's pins.

mod app;
mod attempt;
mod check;
mod discover;
mod interpreters;
mod plan;
mod rerun;
mod ride;
mod runner;
mod server;
mod session;
mod sim;
mod speed;
mod stopping;
mod store;
mod summary;
mod toolrun;
mod tools;
mod venv;

pub use app::{execute, ListFormat, ListSetup, LocalSetup, RunSetup, ServerSetup, Task};
pub use check::expected_statuses;
pub use discover::{FoundBy, Places, Skipped};
pub use interpreters::{find, Found, Interpreter, InterpreterError, MIN_PYTHON};
pub use plan::{Order, Plan, PlanEntry, FIRST_SESSION, PLAN_SCHEMA, PLAN_SCHEMA_V1};
pub use runner::{run, Config, Interrupted, Outcome};
pub use server::{LocalServer, ProvisionedServer, Server};
pub use session::{Archived, Rerun, Session, SessionKind};
pub use sim::Meter;
pub use speed::ProbeKind;
pub use stopping::{Decision, PairNeed, Spread, StoppingRule, Target, STEIN};
pub use store::{DiskFull, Store};
pub use summary::{status, summary_path, Away, FaultRecord, GroupCount, Summary, SUMMARY_SCHEMA};
pub use tools::{Load, Scenario};
pub use venv::ensure_venv;
