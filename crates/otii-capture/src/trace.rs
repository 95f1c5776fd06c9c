//! Trace files: the study's CSV layout, xz-compressed, written under a temporary name.
//!
//! Layout (what pandas' `DataFrame.to_csv` wrote for the study):
//!
//! ```text
//! ,MAIN_CURRENT,MAIN_VOLTAGE,MAIN_POWER
//! 0,0.22664585709571838,4.998171329498291,1.1332952976226807
//! ```
//!
//! Compression: liblzma's multithreaded encoder. It writes a standard `.xz` stream of several
//! independent blocks, which every xz reader (`xz -d`, Python's `lzma`, pandas) reads, and
//! which `xz -T0` can decode in parallel. The default, preset 1 on up to 4 threads, trades
//! ~15 % of file size for a ~40× faster compression than preset 6 on one thread (what pandas
//! and `xz` do by default); see `docs/otii.md` for the measurements.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use otii_protocol::Channel;
use records::AtomicFile;
use xz2::stream::{Check, MtStreamBuilder};
use xz2::write::XzEncoder;

use crate::pyfloat::{push_repr, push_u64};

/// How traces are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XzSettings {
    /// xz preset, 0 (fastest) to 9 (smallest).
    pub preset: u32,
    /// Encoder threads; each adds a block of ~3 × the dictionary size in flight.
    pub threads: u32,
}

impl Default for XzSettings {
    fn default() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(1);
        Self {
            preset: 1,
            threads: cores.clamp(1, 4),
        }
    }
}

/// The CSV column name of a channel, as the study's controller named its columns (the
/// channels it did not name are their wire names in capitals).
pub fn column_name(channel: Channel) -> String {
    match channel {
        Channel::MainCurrent => "MAIN_CURRENT".into(),
        Channel::MainVoltage => "MAIN_VOLTAGE".into(),
        Channel::MainPower => "MAIN_POWER".into(),
        Channel::AdcCurrent => "ADC_CURRENT".into(),
        Channel::AdcVoltage => "ADC_VOLTAGE".into(),
        Channel::AdcPower => "ADC_POWER".into(),
        Channel::Vbus => "VBUS".into(),
        Channel::Temperature => "TEMPERATURE".into(),
        other => other.name().to_uppercase(),
    }
}

/// Time spent in each stage of writing, for the benchmark's "where the time goes".
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WriteTimings {
    /// Formatting rows as CSV text.
    pub csv: Duration,
    /// Handing text to the xz encoder (blocked while its threads are busy) and finishing it.
    pub xz: Duration,
}

/// A trace being written.
pub struct TraceWriter {
    enc: XzEncoder<AtomicFile>,
    line: String,
    scratch: zmij::Buffer,
    rows: u64,
    columns: usize,
    csv_bytes: u64,
    timings: WriteTimings,
}

/// A finished trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceFile {
    /// Where it is.
    pub path: PathBuf,
    /// Data rows written.
    pub rows: u64,
    /// Size of the CSV text, bytes.
    pub csv_bytes: u64,
    /// Size of the file, bytes.
    pub xz_bytes: u64,
    /// Stage timings.
    pub timings: WriteTimings,
}

impl TraceWriter {
    /// Starts `dest` (written as a hidden temporary file until [`TraceWriter::finish`]) with
    /// the header for `channels`.
    pub fn create(dest: &Path, channels: &[Channel], xz: XzSettings) -> io::Result<Self> {
        let file = AtomicFile::create(dest)?;
        let stream = MtStreamBuilder::new()
            .preset(xz.preset)
            .threads(xz.threads.max(1))
            // xz's default integrity check; the builder's zeroed default would be none.
            .check(Check::Crc64)
            .timeout_ms(0)
            .encoder()
            .map_err(io::Error::other)?;
        let mut w = Self {
            enc: XzEncoder::new_stream(file, stream),
            line: String::with_capacity(1 << 20),
            scratch: zmij::Buffer::new(),
            rows: 0,
            columns: channels.len(),
            csv_bytes: 0,
            timings: WriteTimings::default(),
        };
        for &c in channels {
            w.line.push(',');
            w.line.push_str(&column_name(c));
        }
        w.line.push('\n');
        w.flush_line()?;
        Ok(w)
    }

    fn flush_line(&mut self) -> io::Result<()> {
        let t = Instant::now();
        self.enc.write_all(self.line.as_bytes())?;
        self.timings.xz += t.elapsed();
        self.csv_bytes += self.line.len() as u64;
        self.line.clear();
        Ok(())
    }

    /// Appends rows: `columns[c][k]` is row `k` of column `c`; every column has the same length.
    pub fn write_rows(&mut self, columns: &[&[f64]]) -> io::Result<()> {
        if columns.len() != self.columns {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} columns given, header has {}",
                    columns.len(),
                    self.columns
                ),
            ));
        }
        let n = columns.first().map_or(0, |c| c.len());
        if columns.iter().any(|c| c.len() != n) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "columns of unequal length",
            ));
        }
        let mut t = Instant::now();
        for k in 0..n {
            push_u64(&mut self.line, self.rows);
            for col in columns {
                self.line.push(',');
                push_repr(&mut self.line, col[k], &mut self.scratch);
            }
            self.line.push('\n');
            self.rows += 1;
            if self.line.len() >= (1 << 20) - 256 {
                self.timings.csv += t.elapsed();
                self.flush_line()?;
                t = Instant::now();
            }
        }
        self.timings.csv += t.elapsed();
        Ok(())
    }

    /// Finishes the xz stream, syncs and renames the file to its final name.
    pub fn finish(mut self) -> io::Result<TraceFile> {
        self.flush_line()?;
        let t = Instant::now();
        let file = self.enc.finish()?;
        let xz_bytes = file_len(file.temp_path());
        let path = file.commit()?;
        self.timings.xz += t.elapsed();
        Ok(TraceFile {
            path,
            rows: self.rows,
            csv_bytes: self.csv_bytes,
            xz_bytes,
            timings: self.timings,
        })
    }
}

fn file_len(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn writes_the_study_layout_and_standard_xz() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("2024-02-21 14:13:00.csv.xz");
        let ch = otii_protocol::MAIN_CHANNELS;
        let mut w = TraceWriter::create(&dest, &ch, XzSettings::default()).unwrap();
        assert!(
            !dest.exists(),
            "only the temporary file exists while writing"
        );
        w.write_rows(&[
            &[0.22664585709571838, 0.5],
            &[4.998171329498291, 5.0],
            &[1.1332952976226807, 2.5],
        ])
        .unwrap();
        w.write_rows(&[&[1e-05], &[5.0], &[5e-05]]).unwrap();
        let f = w.finish().unwrap();
        assert_eq!(f.rows, 3);
        let mut text = String::new();
        xz2::read::XzDecoder::new(std::fs::File::open(&dest).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(
            text,
            ",MAIN_CURRENT,MAIN_VOLTAGE,MAIN_POWER\n\
             0,0.22664585709571838,4.998171329498291,1.1332952976226807\n\
             1,0.5,5.0,2.5\n\
             2,1e-05,5.0,5e-05\n"
        );
        assert_eq!(f.csv_bytes, text.len() as u64);
    }

    #[test]
    fn dropped_writer_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x.csv.xz");
        let mut w =
            TraceWriter::create(&dest, &[Channel::MainPower], XzSettings::default()).unwrap();
        w.write_rows(&[&[1.0, 2.0]]).unwrap();
        drop(w);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn large_writes_split_lines_correctly() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("big.csv.xz");
        let n = 120_000;
        let col: Vec<f64> = (0..n).map(|i| i as f64 * 0.5).collect();
        let mut w =
            TraceWriter::create(&dest, &[Channel::MainPower], XzSettings::default()).unwrap();
        w.write_rows(&[&col]).unwrap();
        w.finish().unwrap();
        let mut text = String::new();
        xz2::read::XzDecoder::new(std::fs::File::open(&dest).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), n + 1);
        assert_eq!(lines[1], "0,0.0");
        assert_eq!(lines[n], format!("{},{}", n - 1, (n - 1) as f64 * 0.5));
    }
}
