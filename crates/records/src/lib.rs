//! The records that cross tool boundaries in cpython-energy.
//!
//! Every tool of the workspace that hands data to another tool does it with one of the types
//! defined here, serialised as one JSON object per line (JSON Lines):
//!
//! - [`RunRecord`]: one measured run (one recording of the server's power around one scenario).
//!   Written by `otii-capture`, read by `energy-stats` and the Makefile pipeline.
//! - [`RequestRecord`]: one HTTP request of the load, as sent on the wire. Written by
//!   `minitwit-load`, joined to runs by `run_id`.
//! - [`LoadLine`]: what a load did, the one line a load command prints on stdout at its end.
//!   Written by `minitwit-load` (`run --records`, `trigger`, the agent's answer), read by
//!   `otii-capture record` ([`LoadLine::parse_line`]).
//!
//! Each record carries a `schema` field (`"run/1"`, `"request/1"`, `"load/1"`) so readers can
//! refuse data they do not understand instead of guessing. Units are part of every numeric
//! field's name. `docs/formats.md` describes the run and request records for people and for
//! scripts in other languages, `docs/minitwit-load.md` the load line.
//!
//! # Layout
//! - `run.rs`: [`RunRecord`], [`Status`], [`Meter`], [`MeterStats`], [`LoadSummary`].
//! - `request.rs`: [`RequestRecord`].
//! - `load.rs`: [`LoadLine`] (with [`Latency`], [`UserResult`], [`AgentResult`]) and the
//!   lenient [`LoadReading`] of any load command's line.
//! - `jsonl.rs`: [`JsonLinesWriter`] and [`read_jsonl`] / [`JsonLinesReader`] with line-numbered
//!   one-line errors ([`one_line`] escapes the control characters of a quoted bad value).
//! - `atomic.rs`: [`AtomicFile`], write-then-rename so an interrupted run never leaves a file
//!   that looks complete.
//! - `pipe.rs`: [`is_broken_pipe`], so `tool | head` ends quietly.
//! - `chain.rs`: [`error_chain`], an error and its causes as one line, each said once.
//! - `layout.rs`: the results folder layout: [`ResultsDir`], [`GroupDir`] (every path of a group
//!   folder), [`group_folder`] and [`group_label`] (the study's folder per interpreter),
//!   [`is_trace_file`], and [`trace_path`], how a record's trace path is resolved.
//! - `row.rs`: [`RunRow`] (with [`RowStatus`], [`Source`]), the per-run table `energy-stats
//!   runs` writes and its `report -`, `plot -` and `runs -` read back.

mod atomic;
mod chain;
mod jsonl;
mod layout;
mod load;
mod pipe;
mod request;
mod row;
mod run;

pub use atomic::AtomicFile;
pub use chain::error_chain;
pub use jsonl::{one_line, read_jsonl, JsonLinesReader, JsonLinesWriter, RecordError};
pub use layout::{
    archived_parts, group_folder, group_label, is_trace_file, trace_path, GroupDir, ResultsDir,
    ARCHIVE_FOLDER,
};
pub use load::{AgentResult, Latency, LoadLine, LoadReading, UserResult, LOAD_SCHEMA};
pub use pipe::is_broken_pipe;
pub use request::{RequestRecord, REQUEST_SCHEMA};
pub use row::{run_row_schema, RowStatus, RunRow, Source, RUN_ROW_SCHEMA};
pub use run::{
    LoadSummary, Meter, MeterClock, MeterStats, RunRecord, SpeedProbe, Status, RUN_SCHEMA,
};

/// A record type that carries a `schema` version tag.
pub trait Versioned {
    /// The value the `schema` field must have for this version of the type.
    const SCHEMA: &'static str;
    /// The `schema` value this record actually carries.
    fn schema(&self) -> &str;
    /// The first numeric field holding NaN or an infinity, if any. JSON has neither (serde_json
    /// would write `null`, which no reader accepts), so [`JsonLinesWriter`] refuses such a
    /// record and names this field.
    fn non_finite_field(&self) -> Option<&'static str>;
}

/// The name of the first `(name, value)` pair whose value is NaN or infinite.
fn first_non_finite<const N: usize>(
    fields: [(&'static str, Option<f64>); N],
) -> Option<&'static str> {
    fields
        .into_iter()
        .find(|(_, v)| v.is_some_and(|v| !v.is_finite()))
        .map(|(name, _)| name)
}
