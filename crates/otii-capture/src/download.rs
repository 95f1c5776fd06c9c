//! Downloading a recording into a trace file, streaming.
//!
//! The study's controller fetched every value of `mc`, then of `mv`, then of `mp` into one
//! in-memory table before writing it. Here the channels are fetched chunk by chunk in step
//! (chunk k of `mc`, of `mv`, of `mp`, then those rows are written), so memory holds three
//! chunks whatever the length of the recording, and the file grows as data arrives.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use otii_protocol::reply::RecordingInfo;
use otii_protocol::Channel;
use procs::Interrupt;

use crate::client::{Client, ClientError};
use crate::trace::{TraceFile, TraceWriter, WriteTimings, XzSettings};

/// Values per data request (the reference client's chunk size).
pub const DEFAULT_CHUNK: u64 = 40_000;

/// What to download and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetch {
    /// Channels, in CSV column order (the study: `mc`, `mv`, `mp`).
    pub channels: Vec<Channel>,
    /// Output directory of traces.
    pub out_dir: PathBuf,
    /// Values per data request.
    pub chunk: u64,
    /// Compression.
    pub xz: XzSettings,
}

/// Why a download failed.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// A request before the data failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A data request failed mid-way.
    #[error("download of channel {channel} failed at sample {index} of {total}: {source}")]
    Chunk {
        /// The channel being fetched.
        channel: Channel,
        /// The first sample of the chunk that failed.
        index: u64,
        /// The channel's sample count.
        total: u64,
        /// What happened.
        #[source]
        source: ClientError,
    },
    /// Writing the trace failed.
    #[error("cannot write trace {path}: {source}")]
    Io {
        /// The trace being written.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The user interrupted the download.
    #[error("interrupted at sample {0} (no trace written)")]
    Interrupted(u64),
    /// The recording has no data on a channel.
    #[error("channel {0} of the recording has no samples (was it enabled before the recording started?)")]
    Empty(Channel),
}

/// Per-channel statistics computed from the downloaded samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleStats {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Sum of the values.
    pub sum: f64,
    /// Number of values.
    pub n: u64,
}

impl SampleStats {
    fn new() -> Self {
        Self {
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: 0.0,
            n: 0,
        }
    }

    fn add(&mut self, values: &[f64]) {
        for &v in values {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
            self.sum += v;
        }
        self.n += values.len() as u64;
    }

    /// Mean value.
    pub fn mean(&self) -> f64 {
        self.sum / self.n as f64
    }
}

/// Where a download spent its time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// Requests: the round trips and parsing the JSON answers.
    pub protocol: Duration,
    /// CSV formatting and xz, as measured by the writer.
    pub write: WriteTimings,
    /// The whole download.
    pub total: Duration,
}

/// A finished download.
#[derive(Debug, Clone, PartialEq)]
pub struct Download {
    /// The trace written.
    pub trace: TraceFile,
    /// The file name relative to the output directory (`<recording name>.csv.xz`).
    pub file_name: String,
    /// Samples per channel in the trace.
    pub samples: u64,
    /// Sample rate of the first channel, per second.
    pub rate_hz: f64,
    /// Statistics of each channel's samples, in the order of the channels asked for.
    pub stats: Vec<(Channel, SampleStats)>,
    /// Σ P·Δt over the power channel, J, when `mp` was downloaded.
    pub trace_energy_j: Option<f64>,
    /// Per-channel counts when the channels did not have the same number of samples (the
    /// trace then holds the common prefix).
    pub uneven_counts: Option<Vec<u64>>,
    /// Where the time went.
    pub timings: Timings,
}

/// The trace file name for a recording: its name plus `.csv.xz`, with `/` (impossible in a
/// file name) replaced.
pub fn trace_file_name(recording: &RecordingInfo) -> String {
    format!("{}.csv.xz", recording.name.replace(['/', '\0'], "_"))
}

impl Download {
    /// The statistics of `channel`'s samples, when it was downloaded.
    pub fn stats_of(&self, channel: Channel) -> Option<SampleStats> {
        self.stats
            .iter()
            .find(|(c, _)| *c == channel)
            .map(|(_, s)| *s)
    }
}

/// Downloads every sample of `fetch.channels` of `recording` into
/// `fetch.out_dir/<name>.csv.xz`. Once `interrupt` is set no further chunk is asked for and
/// the temporary file is removed.
pub fn download<S: Read + Write>(
    client: &mut Client<S>,
    device: &str,
    recording: &RecordingInfo,
    fetch: &Fetch,
    interrupt: &Interrupt,
) -> Result<Download, DownloadError> {
    let Fetch {
        channels,
        out_dir: dir,
        chunk,
        xz,
    } = fetch;
    let (chunk, xz) = (*chunk, *xz);
    let started = Instant::now();
    let mut protocol = Duration::ZERO;
    let id = recording.recording_id;
    let t = Instant::now();
    let mut counts = Vec::with_capacity(channels.len());
    for &ch in channels {
        let n = client.data_count(id, device, ch)?;
        if n == 0 {
            return Err(DownloadError::Empty(ch));
        }
        counts.push(n);
    }
    let first = *channels
        .first()
        .ok_or_else(|| ClientError::protocol("(download)", "no channel to download"))?;
    let info = client.channel_info(id, device, first)?;
    protocol += t.elapsed();
    let total = counts.iter().copied().min().unwrap_or(0);
    let uneven = counts.iter().any(|&c| c != total).then(|| counts.clone());

    let file_name = trace_file_name(recording);
    let dest = dir.join(&file_name);
    let io_err = |source| DownloadError::Io {
        path: dest.clone(),
        source,
    };
    let mut writer = TraceWriter::create(&dest, channels, xz).map_err(io_err)?;
    let mut stats = vec![SampleStats::new(); channels.len()];
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); channels.len()];
    let mut index = 0;
    while index < total {
        if interrupt.is_set() {
            return Err(DownloadError::Interrupted(index));
        }
        let n = chunk.min(total - index);
        let t = Instant::now();
        for (c, &ch) in channels.iter().enumerate() {
            let data =
                client
                    .data(id, device, ch, index, n)
                    .map_err(|source| DownloadError::Chunk {
                        channel: ch,
                        index,
                        total,
                        source,
                    })?;
            columns[c] = data.values;
        }
        protocol += t.elapsed();
        for (s, col) in stats.iter_mut().zip(&columns) {
            s.add(col);
        }
        let refs: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
        writer.write_rows(&refs).map_err(io_err)?;
        index += n;
    }
    drop(columns);
    let trace = writer.finish().map_err(io_err)?;
    let trace_energy_j = channels
        .iter()
        .position(|&c| c == Channel::MainPower)
        .map(|k| stats[k].sum / info.sample_rate);
    Ok(Download {
        timings: Timings {
            protocol,
            write: trace.timings,
            total: started.elapsed(),
        },
        trace,
        file_name,
        samples: total,
        rate_hz: info.sample_rate,
        stats: channels.iter().copied().zip(stats).collect(),
        trace_energy_j,
        uneven_counts: uneven,
    })
}
