//! `otii-capture`: record and download the power of a run through the Otii 3 TCP protocol.
//!
//! Works against a real Otii 3 application driving an Arc, or against `otii-sim`; the
//! greeting tells which, and run records say so (`meter: otii` or `otii-sim` with the power
//! model). Traces are written in the study's exact layout (`<recording name>.csv.xz`, CSV as
//! pandas wrote it) while the data arrives, under a temporary name until complete. The
//! protocol itself (channels, limits, framing, messages) is the `otii-protocol` crate's,
//! shared with the simulator `otii-sim`.
//!
//! Failures say whose fault they were: the meter, the server or the network away
//! (infrastructure: exit 75, nothing measured, retry) or the run itself (exit 1); see
//! [`Fault`] and `docs/otii.md`.
//!
//! # Layout
//! - `app.rs`: [`run`], the program behind `main`: connect, reserve a licence, do the
//!   [`Action`], print the run record.
//! - `config.rs`: [`Config`] and [`Action`], the command line validated.
//! - `client.rs`: [`Client`], the typed protocol client over any `Read + Write`; in `client/`,
//!   [`connect`] with retries (`connect.rs`), the commands as methods (`calls.rs`) and
//!   licensing (`license.rs`).
//! - `record.rs`: a whole run ([`record()`]) and re-fetching ([`fetch_existing`]), each a
//!   [`Captured`] record with, for a failed run, whose [`Fault`] it was.
//! - `fault.rs`: [`Fault`] (infrastructure or run: exit 75 or 1), [`NoSpace`], the full disk
//!   that stops a capture without a record.
//! - `command.rs`: the scenario command: run, its stdout kept and read for the load line.
//! - `describe.rs`: the meter's statistics and the [`records::RunRecord`] of a run.
//! - `download.rs`: [`download()`]: all samples of a recording's channels, fetched chunk by
//!   chunk in step and streamed into a trace; per-channel statistics on the way.
//! - `timebase.rs`: one time base: the load's start and end on the recording's timeline
//!   ([`timebase::TimeBase`], the controller's clock) and on the meter's, through an Otii user
//!   log ([`timebase::LoadLog`], Otii 3.6+).
//! - `trace.rs`: [`TraceWriter`]: CSV rows into liblzma's multithreaded encoder.
//! - `pyfloat.rs`: floats formatted exactly like Python's `repr` (pandas' CSV).

mod app;
pub mod client;
pub mod command;
pub mod config;
pub mod describe;
pub mod download;
pub mod fault;
pub mod pyfloat;
pub mod record;
pub mod timebase;
pub mod trace;

pub use app::{peak_rss_bytes, run};
pub use client::{connect, Client, ClientError, ConnectError, ServerInfo, ANSWER_TIMEOUT};
pub use config::{Action, Config, ConfigError};
pub use download::{download, Download, DownloadError, Fetch, DEFAULT_CHUNK};
pub use fault::{Fault, NoSpace};
pub use record::{fetch_existing, record, CaptureError, Captured, RecordPlan, RunLabel, Which};
pub use trace::{TraceWriter, XzSettings};
