//! `export --parquet DIR`: the study as a Parquet dataset, partitioned by interpreter and run
//! in the hive layout that polars, DuckDB, pandas (pyarrow) and Spark read directly
//! (docs/requests.md):
//!
//! ```text
//! DIR/samples/label=3.12/run=4/part-0.parquet    time_s, power_w: every sample of the run
//! DIR/runs/label=3.12/run=4/part-0.parquet       one row: the run record and its attribution
//! DIR/requests/label=3.12/run=4/part-0.parquet   one row per request, with its energy
//! ```
//!
//! `label` and `run` live in the folder names only (hive partition columns), not inside the
//! files; a label's characters other than letters, digits and `.-_+` are percent-encoded.
//! Every file is written under a temporary name and renamed when complete. Samples and
//! requests are zstd-compressed.

use std::path::{Path, PathBuf};

use anyhow::Result;
use polars::prelude::*;
use procs::Interrupt;

use crate::requests::{self, attribute_run, read_group, RunEnergy, RunInput};
use crate::store::{power_column, write_parquet};

/// The three tables of the dataset.
pub const TABLES: [&str; 3] = ["samples", "runs", "requests"];

/// A hive partition value: letters, digits and `.-_+` as they are, the rest `%XX`.
fn partition_value(v: &str) -> String {
    let mut s = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"._-+".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

fn part(out: &Path, table: &str, label: &str, run: u32) -> Result<PathBuf> {
    let dir = out
        .join(table)
        .join(format!("label={}", partition_value(label)))
        .join(format!("run={run}"));
    std::fs::create_dir_all(&dir)?;
    Ok(dir.join("part-0.parquet"))
}

/// Export every ok run of the group folders `dirs` into `out`; the files written, in order.
pub fn export(
    dirs: &[PathBuf],
    out: &Path,
    opts: &requests::Options,
    interrupt: &Interrupt,
) -> Result<Vec<PathBuf>> {
    let mut inputs: Vec<RunInput> = Vec::new();
    let mut skipped = 0;
    for d in dirs {
        inputs.extend(read_group(d, true, &mut skipped)?);
    }
    if inputs.is_empty() {
        anyhow::bail!("no runs with a trace in the inputs");
    }
    let written = requests::par_map(&inputs, opts.threads, interrupt, |input| {
        export_run(input, out, opts)
    })?;
    Ok(written.into_iter().flatten().collect())
}

fn export_run(input: &RunInput, out: &Path, opts: &requests::Options) -> Result<Vec<PathBuf>> {
    let power = power_column(
        &input.trace,
        opts.cache.as_ref(),
        &input.label,
        &input.record,
    )?;
    let rec = &input.record;
    let mut files = Vec::new();
    let rate = rec.sample_rate_hz;
    let time: Vec<f64> = (0..power.len()).map(|k| k as f64 / rate).collect();
    let mut samples = DataFrame::new(
        power.len(),
        vec![
            Column::new("time_s".into(), time),
            Column::new("power_w".into(), power.clone()),
        ],
    )?;
    let path = part(out, "samples", &input.label, rec.run)?;
    write_parquet(
        &path,
        &mut samples,
        ParquetCompression::Zstd(None),
        Vec::new(),
    )?;
    files.push(path);
    let attributed = attribute_run(input, &power);
    drop(power);
    let path = part(out, "runs", &input.label, rec.run)?;
    write_parquet(
        &path,
        &mut run_row(input, &attributed)?,
        ParquetCompression::Zstd(None),
        Vec::new(),
    )?;
    files.push(path);
    if !input.requests.is_empty() {
        let path = part(out, "requests", &input.label, rec.run)?;
        write_parquet(
            &path,
            &mut request_rows(&attributed)?,
            ParquetCompression::Zstd(None),
            Vec::new(),
        )?;
        files.push(path);
    }
    Ok(files)
}

fn run_row(input: &RunInput, a: &RunEnergy) -> Result<DataFrame> {
    let r = &input.record;
    let has_requests = !input.requests.is_empty();
    let s = |name: &str, v: Option<String>| Column::new(name.into(), vec![v]);
    let f = |name: &str, v: Option<f64>| Column::new(name.into(), vec![v]);
    Ok(DataFrame::new(
        1,
        vec![
            s("run_id", r.run_id.clone()),
            s("started_at", Some(r.started_at.clone())),
            s("session", r.session.clone()),
            s(
                "meter",
                serde_json::to_value(r.meter)?.as_str().map(str::to_string),
            ),
            s("power_model", r.power_model.clone()),
            f("duration_s", Some(r.duration_s)),
            f("recording_s", Some(r.recording_s)),
            f("sample_rate_hz", Some(r.sample_rate_hz)),
            Column::new("samples".into(), vec![a.samples]),
            f("power_avg_w", Some(r.power_avg_w)),
            f("energy_j", Some(r.energy_j)),
            f("trace_energy_j", Some(a.trace_j)),
            f("load_start_s", Some(a.load_start_s)),
            s("time_base", Some(a.time_base.name().to_string())),
            f("baseline_w", Some(a.baseline_w)),
            s("baseline_rule", Some(a.baseline_rule.name().to_string())),
            Column::new("requests".into(), vec![input.requests.len() as u64]),
            f("attributed_j", has_requests.then_some(a.attributed_j)),
            f("between_requests_j", has_requests.then_some(a.between_j)),
            f("baseline_j", Some(a.baseline_j)),
        ],
    )?)
}

fn request_rows(a: &RunEnergy) -> Result<DataFrame> {
    let q = &a.requests;
    let strs = |f: &dyn Fn(&requests::RequestEnergy) -> String| -> Vec<String> {
        q.iter().map(f).collect()
    };
    let nums =
        |f: &dyn Fn(&requests::RequestEnergy) -> f64| -> Vec<f64> { q.iter().map(f).collect() };
    Ok(DataFrame::new(
        q.len(),
        vec![
            Column::new("run_id".into(), strs(&|r| r.record.run_id.clone())),
            Column::new("client".into(), strs(&|r| r.record.client.clone())),
            Column::new("user".into(), strs(&|r| r.record.user.clone())),
            Column::new(
                "seq".into(),
                q.iter().map(|r| r.record.seq).collect::<Vec<u32>>(),
            ),
            Column::new(
                "step".into(),
                q.iter().map(|r| r.record.step.clone()).collect::<Vec<_>>(),
            ),
            Column::new("method".into(), strs(&|r| r.record.method.clone())),
            Column::new("path".into(), strs(&|r| r.record.path.clone())),
            Column::new("endpoint".into(), strs(&|r| r.endpoint.clone())),
            Column::new(
                "status".into(),
                q.iter()
                    .map(|r| r.record.status.map(u32::from))
                    .collect::<Vec<_>>(),
            ),
            Column::new("start_s".into(), nums(&|r| r.record.start_s)),
            Column::new("recording_start_s".into(), nums(&|r| r.recording_start_s)),
            Column::new("latency_ms".into(), nums(&|r| r.record.latency_ms)),
            Column::new(
                "bytes".into(),
                q.iter().map(|r| r.record.bytes).collect::<Vec<_>>(),
            ),
            Column::new("energy_j".into(), nums(&|r| r.energy_j)),
        ],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_values_keep_labels_readable_and_escape_the_rest() {
        assert_eq!(partition_value("3.12"), "3.12");
        assert_eq!(partition_value("pypy3.9"), "pypy3.9");
        assert_eq!(partition_value("3.11-debian"), "3.11-debian");
        assert_eq!(partition_value("a b/c=d"), "a%20b%2Fc%3Dd");
    }
}
