//! Reading one power trace: the study's `<recording>.csv.xz` (pandas CSV with an index column
//! and `MAIN_CURRENT,MAIN_VOLTAGE,MAIN_POWER`), or the same as plain `.csv`.
//!
//! The file is decoded as a stream and parsed line by line with a hand parser that looks only
//! at the `MAIN_POWER` field; only the power column is kept (8 bytes a sample, so one study
//! trace of 1.43 M rows holds 11 MB while it is summarised, never more than one trace per
//! worker thread). The mean uses NumPy's pairwise sum over all samples, as pandas does.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::numeric::np_sum;

/// The sample rate of the study's traces (row i is at i / 10 000 s).
pub const STUDY_RATE_HZ: f64 = 10_000.0;

/// How many raw samples one point of the downsampled trace averages (0.1 s at 10 kHz).
pub const DOWNSAMPLE: usize = 1000;

/// What the analysis keeps of one trace: summary numbers and a downsampled copy for plots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceSummary {
    /// Number of power samples.
    pub samples: u64,
    /// Pairwise sum of all power samples (W); the mean is `sum / samples`.
    pub sum_w: f64,
    /// Smallest power sample (W).
    pub min_w: f64,
    /// Largest power sample (W).
    pub max_w: f64,
    /// Mean power of each block of [`DOWNSAMPLE`] samples (the last block may be shorter).
    pub downsampled_w: Vec<f64>,
}

impl TraceSummary {
    /// Mean power over the recording (W).
    pub fn mean_w(&self) -> f64 {
        self.sum_w / self.samples as f64
    }

    /// Σ P·Δt at the given sample rate (J).
    pub fn energy_j(&self, rate_hz: f64) -> f64 {
        self.sum_w / rate_hz
    }

    /// Recording length at the given sample rate (s).
    pub fn duration_s(&self, rate_hz: f64) -> f64 {
        self.samples as f64 / rate_hz
    }
}

/// Why a trace could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read trace: {source}")]
    Io {
        /// The trace file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The xz stream could not be decompressed: truncated or corrupt at `byte` of the file.
    #[error("{path}: byte {byte} of the xz stream: {source} (a truncated or corrupt .xz file)")]
    Xz {
        /// The trace file.
        path: PathBuf,
        /// Bytes of the compressed file the decoder had taken when it failed.
        byte: u64,
        /// What the decoder said.
        source: std::io::Error,
    },
    /// The header has no `MAIN_POWER` column.
    #[error("{path}:1: no MAIN_POWER column in the header {header:?}; expected the study's `,MAIN_CURRENT,MAIN_VOLTAGE,MAIN_POWER`")]
    NoPowerColumn {
        /// The trace file.
        path: PathBuf,
        /// The header line found.
        header: String,
    },
    /// A row whose power cell is missing or not a number.
    #[error("{path}:{line}: MAIN_POWER cell {cell:?} is not a number")]
    BadCell {
        /// The trace file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The offending cell.
        cell: String,
    },
    /// Samples each finite whose sum is not (values near the largest float): no mean.
    #[error("{path}:{line}: the MAIN_POWER samples up to this line sum past the largest number (no finite mean)")]
    Overflow {
        /// The trace file.
        path: PathBuf,
        /// 1-based line where a running sum of the samples first overflowed.
        line: u64,
    },
    /// A file without a single sample: it ends at `line` (an empty file at line 1).
    #[error("{path}:{line}: the trace ends here without a single sample")]
    Empty {
        /// The trace file.
        path: PathBuf,
        /// 1-based line where the file ends.
        line: u64,
    },
}

/// Whether a path looks like a trace file (`*.csv.xz` or `*.csv`).
pub fn is_trace_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".csv.xz") || name.ends_with(".csv")
}

/// Read and summarise one trace file.
pub fn read_trace(path: &Path) -> Result<TraceSummary, TraceError> {
    read_with(path, |p| p.finish())
}

/// Read one trace file's whole power column (W, one value a sample), with the checks of
/// [`read_trace`]: what the request attribution and the Parquet store work on.
pub fn read_power(path: &Path) -> Result<Vec<f64>, TraceError> {
    read_with(path, |p| p.finish_column())
}

fn read_with<T>(
    path: &Path,
    finish: impl for<'a> FnOnce(Parser<'a>) -> Result<T, TraceError>,
) -> Result<T, TraceError> {
    let io = |source| TraceError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let buffered = BufReader::with_capacity(1 << 20, file);
    let mut parser = Parser::new(path);
    if path.to_string_lossy().ends_with(".xz") {
        let mut decoder = xz2::bufread::XzDecoder::new(buffered);
        xz_error(feed(&mut decoder, &mut parser), &decoder, path)?;
    } else {
        feed(buffered, &mut parser)?;
    }
    finish(parser)
}

/// An I/O error while decoding xz is the stream's fault: name the byte where it stopped.
fn xz_error<R: BufRead, T>(
    r: Result<T, TraceError>,
    decoder: &xz2::bufread::XzDecoder<R>,
    path: &Path,
) -> Result<T, TraceError> {
    match r {
        Err(TraceError::Io { source, .. }) => Err(TraceError::Xz {
            path: path.to_path_buf(),
            byte: decoder.total_in(),
            source,
        }),
        other => other,
    }
}

/// Parse an xz-compressed trace (`path` is only used in messages). A stream that cannot be
/// decompressed — cut short, corrupt, not xz — is [`TraceError::Xz`], naming the byte of the
/// compressed file where the decoder stopped; a stream cut short never reads as a shorter
/// trace (xz ends with an index and a check the decoder must reach).
pub fn parse_xz_trace<R: BufRead>(reader: R, path: &Path) -> Result<TraceSummary, TraceError> {
    let mut decoder = xz2::bufread::XzDecoder::new(reader);
    let r = parse_trace(&mut decoder, path);
    xz_error(r, &decoder, path)
}

/// Parse a trace from any reader (`path` is only used in messages).
pub fn parse_trace<R: Read>(reader: R, path: &Path) -> Result<TraceSummary, TraceError> {
    let mut parser = Parser::new(path);
    feed(reader, &mut parser)?;
    parser.finish()
}

/// Every line of `reader` through `parser`.
fn feed<R: Read>(mut reader: R, parser: &mut Parser) -> Result<(), TraceError> {
    let path = parser.path;
    let mut buf = vec![0u8; 1 << 20];
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(TraceError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        let chunk = &buf[..n];
        // Complete lines of this chunk; the tail waits for the next one.
        let Some(last_nl) = chunk.iter().rposition(|&b| b == b'\n') else {
            carry.extend_from_slice(chunk);
            continue;
        };
        let mut start = 0;
        if !carry.is_empty() {
            let first_nl = chunk.iter().position(|&b| b == b'\n').unwrap_or(0);
            carry.extend_from_slice(&chunk[..first_nl]);
            let line = std::mem::take(&mut carry);
            parser.line(&line)?;
            start = first_nl + 1;
        }
        if start <= last_nl {
            for line in chunk[start..last_nl].split(|&b| b == b'\n') {
                parser.line(line)?;
            }
        }
        carry.extend_from_slice(&chunk[last_nl + 1..]);
    }
    if !carry.is_empty() {
        parser.line(&carry)?;
    }
    Ok(())
}

struct Parser<'a> {
    path: &'a Path,
    line_no: u64,
    column: Option<usize>,
    values: Vec<f64>,
    min: f64,
    max: f64,
    /// A plain running sum, only to name the line where the sum overflows.
    running: f64,
    overflow_line: Option<u64>,
}

impl<'a> Parser<'a> {
    fn new(path: &'a Path) -> Self {
        Self {
            path,
            line_no: 0,
            column: None,
            values: Vec::with_capacity(1 << 20),
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            running: 0.0,
            overflow_line: None,
        }
    }

    fn line(&mut self, raw: &[u8]) -> Result<(), TraceError> {
        self.line_no += 1;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Some(col) = self.column else {
            let header = String::from_utf8_lossy(line);
            let pos = header.split(',').position(|f| f.trim() == "MAIN_POWER");
            return match pos {
                Some(p) => {
                    self.column = Some(p);
                    Ok(())
                }
                None => Err(TraceError::NoPowerColumn {
                    path: self.path.to_path_buf(),
                    header: header.into_owned(),
                }),
            };
        };
        if line.is_empty() {
            return Ok(());
        }
        let cell = line.split(|&b| b == b',').nth(col).unwrap_or(b"");
        let value = std::str::from_utf8(cell)
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite());
        let Some(v) = value else {
            return Err(TraceError::BadCell {
                path: self.path.to_path_buf(),
                line: self.line_no,
                cell: String::from_utf8_lossy(cell).into_owned(),
            });
        };
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.running += v;
        if self.overflow_line.is_none() && !self.running.is_finite() {
            self.overflow_line = Some(self.line_no);
        }
        self.values.push(v);
        Ok(())
    }

    /// The column, once it is known to hold samples whose sum is finite.
    fn finish_column(self) -> Result<Vec<f64>, TraceError> {
        if self.values.is_empty() {
            return Err(TraceError::Empty {
                path: self.path.to_path_buf(),
                line: self.line_no.max(1),
            });
        }
        if !np_sum(&self.values).is_finite() {
            return Err(TraceError::Overflow {
                path: self.path.to_path_buf(),
                line: self.overflow_line.unwrap_or(self.line_no),
            });
        }
        Ok(self.values)
    }

    fn finish(self) -> Result<TraceSummary, TraceError> {
        let (min_w, max_w) = (self.min, self.max);
        let values = self.finish_column()?;
        Ok(summarise(&values, min_w, max_w))
    }
}

/// The summary of a power column already checked (its sum finite, at least one sample).
pub fn summarise(values: &[f64], min_w: f64, max_w: f64) -> TraceSummary {
    TraceSummary {
        samples: values.len() as u64,
        sum_w: np_sum(values),
        min_w,
        max_w,
        downsampled_w: values
            .chunks(DOWNSAMPLE)
            .map(|c| np_sum(c) / c.len() as f64)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(text: &str) -> Result<TraceSummary, TraceError> {
        parse_trace(text.as_bytes(), Path::new("t.csv"))
    }

    #[test]
    fn study_layout_is_parsed() {
        let s =
            parse(",MAIN_CURRENT,MAIN_VOLTAGE,MAIN_POWER\n0,0.2,5.0,1.0\n1,0.3,5.0,2.0\n").unwrap();
        assert_eq!(s.samples, 2);
        assert_eq!(s.mean_w(), 1.5);
        assert_eq!((s.min_w, s.max_w), (1.0, 2.0));
    }

    #[test]
    fn missing_power_column_names_the_header() {
        let e = parse(",MAIN_CURRENT\n0,1\n").unwrap_err().to_string();
        assert!(e.contains("t.csv:1") && e.contains("MAIN_POWER"), "{e}");
    }

    #[test]
    fn bad_cell_names_the_line() {
        let e = parse(",MAIN_POWER\n0,1.0\n1,abc\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.csv:3"), "{e}");
    }

    #[test]
    fn a_trace_without_samples_names_the_line_where_it_ends() {
        let e = parse("").unwrap_err().to_string();
        assert_eq!(e, "t.csv:1: the trace ends here without a single sample");
        let e = parse(",MAIN_POWER\n\n").unwrap_err().to_string();
        assert_eq!(e, "t.csv:2: the trace ends here without a single sample");
    }

    #[test]
    fn samples_that_sum_past_the_largest_float_name_the_line_not_an_infinite_mean() {
        let e = parse(",MAIN_POWER\n0,1.5\n1,1e308\n2,1e308\n3,1\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "t.csv:4: the MAIN_POWER samples up to this line sum past the largest number (no finite mean)"
        );
        assert!(parse(",MAIN_POWER\n0,1e308\n1,-1e308\n").is_ok());
    }

    fn xz(text: &[u8]) -> Vec<u8> {
        use std::io::Write as _;
        let mut enc = xz2::write::XzEncoder::new(Vec::new(), 1);
        enc.write_all(text).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn a_truncated_or_corrupt_xz_stream_names_the_byte_where_it_stops() {
        let z = xz(b",MAIN_POWER\n0,1.0\n1,2.0\n");
        let cut = z.len() - 7;
        let e = parse_xz_trace(&z[..cut], Path::new("t.csv.xz"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!("t.csv.xz: byte {cut} of the xz stream: ")),
            "{e}"
        );
        assert!(e.contains("truncated or corrupt"), "{e}");
        let e = parse_xz_trace(&b"not xz at all"[..], Path::new("t.csv.xz"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.csv.xz: byte "), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn lines_split_across_read_chunks_are_joined() {
        // A reader that hands out one byte at a time.
        struct Slow<'a>(&'a [u8]);
        impl Read for Slow<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0.is_empty() || buf.is_empty() {
                    return Ok(0);
                }
                buf[0] = self.0[0];
                self.0 = &self.0[1..];
                Ok(1)
            }
        }
        let text = b",MAIN_POWER\n0,1.25\n1,1.75";
        let s = parse_trace(Slow(text), Path::new("x")).unwrap();
        assert_eq!(s.samples, 2);
        assert_eq!(s.mean_w(), 1.5);
    }
}
