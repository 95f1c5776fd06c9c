//! `otii-capture`: record and download the power of a run through the Otii 3 TCP protocol.
//!
//! Works against a real Otii 3 application driving an Arc, or against `otii-sim`; the
//! greeting tells which, and run records say so (`meter: otii` or `otii-sim` with the power
//! model). Traces are written in the study's exact layout (`<recording name>.csv.xz`, CSV as
//! pandas wrote it) while the data arrives, under a temporary name until complete.
//!
//! # Layout
//! - `client.rs`: [`Client`], the typed protocol client over any `Read + Write`, and
//!   [`connect`] with retries.
//! - `download.rs`: [`download()`]: all samples of a recording's channels, fetched chunk by chunk
//!   in step and streamed into a trace; per-channel statistics on the way.
//! - `trace.rs`: [`TraceWriter`]: CSV rows into liblzma's multithreaded encoder.
//! - `pyfloat.rs`: floats formatted exactly like Python's `repr` (pandas' CSV).
//! - `record.rs`: a whole run ([`record()`]), re-fetching ([`fetch_existing`]), the run
//!   record.

pub mod client;
pub mod download;
pub mod pyfloat;
pub mod record;
pub mod trace;

pub use client::{connect, Client, ClientError, ConnectError, ServerInfo};
pub use download::{download, Download, DownloadError, DEFAULT_CHUNK};
pub use record::{fetch_existing, record, CaptureError, Fetch, RecordPlan, RunLabel, Which};
pub use trace::{TraceWriter, XzSettings};

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Asks a running capture to stop at the next safe point (from a Ctrl-C handler): the
/// recording is stopped, no download is started, a download under way is abandoned (its
/// temporary file removed), and the run record says `interrupted`.
pub fn request_interrupt() {
    INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Whether [`request_interrupt`] was called.
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Peak resident memory of this process so far, bytes (`VmHWM`), when the kernel says.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
