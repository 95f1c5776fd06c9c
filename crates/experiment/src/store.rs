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

    /// The output directory as it is, without creating it (`experiment status`).
    pub fn open_existing(root: &Path) -> Result<Store> {
        Ok(Store {
            dir: ResultsDir::new(root),
        })
    }

    /// The folder of a label's results.
    pub fn group(&self, label: &str) -> GroupDir {
        self.dir.group(label)
    }

    /// The output directory.
    pub fn root(&self) -> &Path {
        self.dir.root()
    }

    /// `OUT/archive`: the sets a redo moved aside.
    pub fn archive(&self) -> PathBuf {
        self.dir.archive()
    }

    /// `OUT/archive/minitwit312-s1`: where `label`'s set of `session` is moved by a redo.
    pub fn archived_group(&self, label: &str, session: &str) -> GroupDir {
        self.dir.archived_group(label, session)
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
    /// writes its record (the "done" mark) and rewrites `runs.jsonl`. When any step fails (a
    /// full disk: [`DiskFull`]), what was placed is removed again: the run is not recorded and
    /// nothing that looks complete is left.
    pub fn file_ok(
        &self,
        mut rec: RunRecord,
        trace: Option<&Path>,
        requests: Option<&Path>,
    ) -> Result<RunRecord> {
        let group = self.group(&rec.label);
        let mut placed: Vec<PathBuf> = Vec::new();
        let mut file = || -> Result<()> {
            fs::create_dir_all(group.run_records_dir())
                .with_context(|| format!("creating {}", group.run_records_dir().display()))?;
            if let Some(t) = trace {
                let name = file_name(t)?;
                let dest = group.path().join(&name);
                move_file(t, &dest)?;
                placed.push(dest);
                rec.trace = Some(GroupDir::trace_ref(&name));
            }
            if let Some(r) = requests {
                fs::create_dir_all(group.requests_dir())
                    .with_context(|| format!("creating {}", group.requests_dir().display()))?;
                move_file(r, &group.requests(rec.run))?;
                placed.push(group.requests(rec.run));
            }
            write_json(&group.run_record(rec.run), &rec)?;
            placed.push(group.run_record(rec.run));
            // Atomic: when this fails, the old runs.jsonl stands, without this run.
            self.rewrite_runs_jsonl(&rec.label)
        };
        match file() {
            Ok(()) => Ok(rec),
            Err(e) => {
                for p in placed.iter().rev() {
                    let _ = fs::remove_file(p);
                }
                match no_space_in(&e) {
                    Some(cause) => Err(DiskFull {
                        what: format!("filing {} run {}", rec.label, rec.run),
                        cause,
                    }
                    .into()),
                    None => Err(e.context(format!(
                        "filing {} run {} (not recorded)",
                        rec.label, rec.run
                    ))),
                }
            }
        }
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
        let path = group.baseline_jsonl();
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        let len = f.metadata()?.len();
        let mut line = Vec::new();
        JsonLinesWriter::new(&mut line).write(&rec)?;
        if let Err(e) = f.write_all(&line).and_then(|()| f.sync_data()) {
            // No half line left: the file back to its length before.
            let _ = f.set_len(len);
            let e = anyhow::Error::new(e).context(format!("writing {}", path.display()));
            return Err(match no_space_in(&e) {
                Some(cause) => DiskFull {
                    what: format!("filing the idle baseline of {}", rec.label),
                    cause,
                }
                .into(),
                None => e,
            });
        }
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

/// The disk filled while the experiment filed something: it stops (no point in the next run),
/// the run not recorded.
#[derive(Debug, thiserror::Error)]
#[error("no space left on device {what}: {cause}; the run is not recorded and nothing of it is left in the data (free space, then run the same command again)")]
pub struct DiskFull {
    /// What was being filed.
    pub what: String,
    /// The failing step, as the error chain says it.
    pub cause: String,
}

/// The error chain as one line when it holds a full disk (ENOSPC, or EDQUOT: the quota is this
/// user's disk).
pub(crate) fn no_space_in(e: &anyhow::Error) -> Option<String> {
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    // The I/O error may come wrapped: serde_json keeps only its kind.
    let full = e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| {
            io.kind() == std::io::ErrorKind::StorageFull
                || matches!(io.raw_os_error(), Some(ENOSPC | EDQUOT))
        }) || c
            .downcast_ref::<serde_json::Error>()
            .is_some_and(|j| j.io_error_kind() == Some(std::io::ErrorKind::StorageFull))
    });
    full.then(|| records::error_chain(e.as_ref()))
}
