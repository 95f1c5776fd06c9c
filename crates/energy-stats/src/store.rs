//! The columnar trace store (polars, Parquet): each decoded trace's power column kept in the
//! cache as Parquet with the run's identity, so a question after the first reads it in
//! milliseconds instead of decoding xz again; and `export --parquet`, the study as a Parquet
//! dataset partitioned by interpreter and run (docs/requests.md).
//!
//! A cached column is one Parquet file, `<cache>/<hash>.parquet` beside the trace's JSON
//! summary, with one `power_w` column (float64, one row a sample, uncompressed: power samples
//! barely compress and are read whole) and the file-level metadata key
//! `cpython-energy.trace`: the JSON [`Identity`] (the trace's canonical path, size and
//! modification time, the run's label, number and id, the sample rate, this format's
//! version). An entry whose identity does not match the trace as it is now is decoded again;
//! one that cannot be read or written is ignored, never an error.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use polars::prelude::*;
use records::RunRecord;
use serde::{Deserialize, Serialize};

use crate::cache::{Cache, Key};
use crate::trace::read_power;

/// Bumped whenever what a stored column means changes.
const VERSION: u32 = 1;

/// The file-level metadata key holding a column's [`Identity`].
pub const IDENTITY_KEY: &str = "cpython-energy.trace";

/// Whose samples a cached column holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// This format's version.
    pub version: u32,
    /// The trace's canonical path.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its modification time, ns since the epoch.
    pub mtime_ns: u128,
    /// The run's group label.
    pub label: String,
    /// The run's number.
    pub run: u32,
    /// The run's id, when it has one.
    pub run_id: Option<String>,
    /// Samples per second.
    pub sample_rate_hz: f64,
}

fn identity(k: &Key, label: &str, record: &RunRecord) -> Identity {
    Identity {
        version: VERSION,
        path: k.path().to_path_buf(),
        size: k.size(),
        mtime_ns: k.mtime_ns(),
        label: label.to_string(),
        run: record.run,
        run_id: record.run_id.clone(),
        sample_rate_hz: record.sample_rate_hz,
    }
}

/// The power column (W) of `trace`, from the store when it holds this trace as it is now,
/// else decoded (and stored, when there is a store).
pub fn power_column(
    trace: &Path,
    cache: Option<&Cache>,
    label: &str,
    record: &RunRecord,
) -> Result<Vec<f64>> {
    // The key is taken before decoding, so a trace rewritten meanwhile is not stored under
    // its new size and time with the old samples.
    let key = cache.and_then(|_| Key::of(trace));
    if let (Some(c), Some(k)) = (cache, &key) {
        if let Some(v) = read_column(&c.column_path(k), &identity(k, label, record)) {
            return Ok(v);
        }
    }
    let power = read_power(trace)?;
    if let (Some(c), Some(k)) = (cache, &key) {
        let _ = std::fs::create_dir_all(c.dir())
            .map_err(anyhow::Error::from)
            .and_then(|()| write_column(&c.column_path(k), &power, &identity(k, label, record)));
    }
    Ok(power)
}

/// The stored column at `path` when its identity is `want`.
fn read_column(path: &Path, want: &Identity) -> Option<Vec<f64>> {
    let file = File::open(path).ok()?;
    let mut reader = ParquetReader::new(file);
    let kv = reader.get_metadata().ok()?.key_value_metadata().clone()?;
    let text = kv.iter().find(|e| e.key == IDENTITY_KEY)?.value.clone()?;
    let found: Identity = serde_json::from_str(&text).ok()?;
    if &found != want {
        return None;
    }
    let df = reader
        .with_columns(Some(vec!["power_w".into()]))
        .finish()
        .ok()?;
    let col = df.column("power_w").ok()?.f64().ok()?;
    if col.null_count() > 0 {
        return None;
    }
    let mut out = Vec::with_capacity(col.len());
    for chunk in col.downcast_iter() {
        out.extend_from_slice(chunk.values().as_slice());
    }
    Some(out)
}

/// Write `power` as one stored column with `id`, atomically.
fn write_column(path: &Path, power: &[f64], id: &Identity) -> Result<()> {
    let mut df = DataFrame::new(
        power.len(),
        vec![Float64Chunked::from_vec("power_w".into(), power.to_vec()).into_column()],
    )?;
    let meta = serde_json::to_string(id)?;
    write_parquet(
        path,
        &mut df,
        ParquetCompression::Uncompressed,
        vec![(IDENTITY_KEY.to_string(), meta)],
    )
}

/// Write `df` to `path` under a temporary name, renamed when complete.
pub(crate) fn write_parquet(
    path: &Path,
    df: &mut DataFrame,
    compression: ParquetCompression,
    meta: Vec<(String, String)>,
) -> Result<()> {
    let mut f = records::AtomicFile::create(path)
        .with_context(|| format!("creating {}", path.display()))?;
    ParquetWriter::new(&mut f)
        .with_compression(compression)
        .with_key_value_metadata((!meta.is_empty()).then(|| KeyValueMetadata::from_static(meta)))
        .finish(df)
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    f.commit()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn record() -> RunRecord {
        let line = r#"{"schema":"run/1","label":"3.12","run":4,"run_id":"3.12-4","started_at":"2024-02-21T14:13:00Z","duration_s":1,"recording_s":1,"sample_rate_hz":10000,"samples":3,"power_min_w":1,"power_max_w":3,"power_avg_w":2,"current_avg_a":0.4,"voltage_avg_v":5,"energy_j":2,"trace_energy_j":0.0006,"meter":"otii","status":"ok"}"#;
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn a_stored_column_is_read_back_and_refused_once_the_trace_changes() {
        let dir = tempfile::tempdir().unwrap();
        let trace = dir.path().join("a.csv");
        std::fs::write(
            &trace,
            ",MAIN_CURRENT,MAIN_VOLTAGE,MAIN_POWER\n0,0,5,1.5\n1,0,5,2.25\n2,0,5,3\n",
        )
        .unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        let rec = record();
        let first = power_column(&trace, Some(&cache), "3.12", &rec).unwrap();
        assert_eq!(first, [1.5, 2.25, 3.0]);
        let k = Key::of(&trace).unwrap();
        let stored = cache.column_path(&k);
        assert!(stored.is_file());
        // Read from the store: the same column, and the identity as written.
        let id = identity(&k, "3.12", &rec);
        assert_eq!(read_column(&stored, &id).unwrap(), first);
        let mut other = id.clone();
        other.run = 5;
        assert!(
            read_column(&stored, &other).is_none(),
            "another run's identity"
        );
        // The trace rewritten: its key changes, the stored column is not used.
        std::fs::write(&trace, ",MAIN_POWER\n0,7\n").unwrap();
        assert_eq!(
            power_column(&trace, Some(&cache), "3.12", &rec).unwrap(),
            [7.0]
        );
    }
}
