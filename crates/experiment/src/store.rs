//! Filing runs into the results folders, whose layout [`records::ResultsDir`] and
//! [`records::GroupDir`] name (`minitwit312/runs.jsonl`, `runs/run-003.json`,
//! `requests/run-003.jsonl`, traces, `baseline.jsonl`, `failed/`, `.staging/`): moving an
//! attempt's files out of staging, writing the "done" mark, rewriting `runs.jsonl`.

use std::fs;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use records::{AtomicFile, GroupDir, JsonLinesWriter, ResultsDir, RunRecord};

/// The experiment's output directory.
pub struct Store {
    dir: ResultsDir,
}

impl Store {
    /// Opens (creating) the output directory.
    pub fn open(root: &Path) -> Result<Store> {
        fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
        Ok(Store {
            dir: ResultsDir::new(root),
        })
    }

    /// The folder of a label's results.
    pub fn group(&self, label: &str) -> GroupDir {
        self.dir.group(label)
    }

    /// A fresh, empty staging directory for one attempt.
    pub fn staging(&self) -> Result<PathBuf> {
        let dir = self.dir.staging();
        if dir.exists() {
            fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(dir)
    }

    /// The recorded run, if it was recorded `ok`.
    pub fn done(&self, label: &str, run: u32) -> Option<RunRecord> {
        let text = fs::read_to_string(self.group(label).run_record(run)).ok()?;
        let rec: RunRecord = serde_json::from_str(&text).ok()?;
        rec.is_ok().then_some(rec)
    }

    /// Files an ok run: moves its trace and request log from staging into the group folder,
    /// writes its record (the "done" mark) and rewrites `runs.jsonl`.
    pub fn file_ok(
        &self,
        mut rec: RunRecord,
        trace: Option<&Path>,
        requests: Option<&Path>,
    ) -> Result<RunRecord> {
        let group = self.group(&rec.label);
        fs::create_dir_all(group.run_records_dir())?;
        if let Some(t) = trace {
            let name = file_name(t)?;
            move_file(t, &group.path().join(&name))?;
            rec.trace = Some(GroupDir::trace_ref(&name));
        }
        if let Some(r) = requests {
            fs::create_dir_all(group.requests_dir())?;
            move_file(r, &group.requests(rec.run))?;
        }
        write_json(&group.run_record(rec.run), &rec)?;
        self.rewrite_runs_jsonl(&rec.label)?;
        Ok(rec)
    }

    /// Files a failed attempt under `failed/run-NNN-attempt-K/` (kept for diagnosis, never
    /// analysed), K counting the attempts of this run already filed there, and returns it.
    pub fn file_failed(&self, rec: &RunRecord, staged: &[PathBuf]) -> Result<PathBuf> {
        let group = self.group(&rec.label);
        let dir = group.failed_attempt(rec.run, group.failed_attempts(rec.run) + 1);
        fs::create_dir_all(&dir)?;
        for p in staged.iter().filter(|p| p.exists()) {
            move_file(p, &dir.join(file_name(p)?))?;
        }
        write_json(&dir.join("run.json"), rec)?;
        // The group exists now: its runs.jsonl says "no ok run yet" rather than being absent,
        // so the analysis reports the group as empty instead of guessing from its files.
        self.rewrite_runs_jsonl(&rec.label)?;
        Ok(dir)
    }

    /// Appends an idle-baseline recording (run 0) to `baseline.jsonl`, its trace to `baseline/`.
    pub fn file_baseline(&self, mut rec: RunRecord, trace: Option<&Path>) -> Result<()> {
        let group = self.group(&rec.label);
        let dir = group.baseline_dir();
        fs::create_dir_all(&dir)?;
        if let Some(t) = trace {
            let name = file_name(t)?;
            move_file(t, &dir.join(&name))?;
            rec.trace = Some(GroupDir::baseline_trace_ref(&name));
        }
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(group.baseline_jsonl())?;
        JsonLinesWriter::new(&mut f).write(&rec)?;
        Ok(())
    }

    /// Rewrites `runs.jsonl` of a group from its `runs/run-*.json` files, ok runs only, in
    /// run order, atomically.
    pub fn rewrite_runs_jsonl(&self, label: &str) -> Result<()> {
        let group = self.group(label);
        let mut recs: Vec<RunRecord> = Vec::new();
        if let Ok(entries) = fs::read_dir(group.run_records_dir()) {
            for e in entries.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "json") {
                    let f = fs::File::open(&p).with_context(|| format!("{}", p.display()))?;
                    let rec: RunRecord = serde_json::from_reader(BufReader::new(f))
                        .with_context(|| format!("{}: not a run record", p.display()))?;
                    if rec.is_ok() {
                        recs.push(rec);
                    }
                }
            }
        }
        recs.sort_by_key(|r| r.run);
        let mut f = AtomicFile::create(group.runs_jsonl())?;
        {
            let mut w = JsonLinesWriter::new(&mut f);
            for r in &recs {
                w.write(r)?;
            }
        }
        f.commit()?;
        Ok(())
    }
}

fn file_name(p: &Path) -> Result<String> {
    Ok(p.file_name()
        .with_context(|| format!("{} has no file name", p.display()))?
        .to_string_lossy()
        .into_owned())
}

fn move_file(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).with_context(|| format!("moving {} to {}", from.display(), to.display()))
}

/// Writes `value` as JSON (one line) to `path` under a temporary name, renamed when complete.
pub(crate) fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut f = AtomicFile::create(path).with_context(|| format!("creating {}", path.display()))?;
    serde_json::to_writer(&mut f, value)?;
    f.write_all(b"\n")?;
    f.commit()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
