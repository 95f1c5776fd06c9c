//! The results folder layout, named once for the tool that writes it (`experiment`) and the one
//! that reads it (`energy-stats`):
//!
//! ```text
//! OUT/                                    ResultsDir
//! OUT/.staging/                           the attempt in progress (never read by the analysis)
//! OUT/minitwit312/                        GroupDir: one folder per interpreter (group_folder)
//! OUT/minitwit312/runs.jsonl              ok run records, in run order (what energy-stats reads)
//! OUT/minitwit312/<recording>.csv.xz      one trace per ok run, named in its record's `trace`
//! OUT/minitwit312/runs/run-003.json       the record of run 3 (written atomically: "run 3 is done")
//! OUT/minitwit312/requests/run-003.jsonl  the request records of run 3
//! OUT/minitwit312/baseline.jsonl          idle-baseline recordings (run 0)
//! OUT/minitwit312/baseline/<rec>.csv.xz   their traces (`trace` is `baseline/<rec>.csv.xz`)
//! OUT/minitwit312/failed/run-003-attempt-1/  records, traces and logs of a failed attempt
//! OUT/minitwit312/log.txt                 the study's controller log (published data only)
//! OUT/minitwit312/complete.json           written last, once every planned run of the group is
//!                                         recorded (what `make OUT/minitwit312` depends on)
//! OUT/archive/minitwit312-s1/             a group's set moved aside by a redo (archived_group),
//!                                         the same layout inside; never analysed by default
//! ```
//!
//! A trace path inside a run record is relative to the folder of the file the record was read
//! from; a record read from stdin has its trace relative to the current directory
//! ([`trace_path`], [`RunRecord::trace_path`]).

use std::io;
use std::path::{Path, PathBuf};

use crate::RunRecord;

/// The folder name for an interpreter label: `3.12` → `minitwit312`, `3.8` → `minitwit38`
/// (a one-digit major and a minor version, as the study named them); any other label is its
/// own folder name (`pypy3.9`, `3.12.1`).
pub fn group_folder(label: &str) -> String {
    match label.split_once('.') {
        Some((major, minor))
            if major.len() == 1
                && major.bytes().all(|c| c.is_ascii_digit())
                && !minor.is_empty()
                && minor.bytes().all(|c| c.is_ascii_digit()) =>
        {
            format!("minitwit{major}{minor}")
        }
        _ => label.to_owned(),
    }
}

/// The interpreter label of a group folder: `minitwit312` → `3.12`, `minitwit38` → `3.8`; any
/// other name is its own label.
pub fn group_label(folder: &str) -> String {
    match folder.strip_prefix("minitwit") {
        Some(digits) if digits.len() >= 2 && digits.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{}.{}", &digits[..1], &digits[1..])
        }
        _ => folder.to_owned(),
    }
}

/// Whether a file name is a power trace: `*.csv.xz` (ours and the study's) or `*.csv`.
pub fn is_trace_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".csv.xz") || name.ends_with(".csv")
}

/// Where the `trace` path of a run record points: relative to the folder of `record_file`, the
/// file the record was read from (a group's `runs.jsonl`, any run-record file given as input),
/// or to the current directory for a record read from stdin (`None`). An absolute path stays
/// as it is.
pub fn trace_path(record_file: Option<&Path>, trace: &str) -> PathBuf {
    match record_file.and_then(Path::parent) {
        Some(folder) => folder.join(trace),
        None => PathBuf::from(trace),
    }
}

impl RunRecord {
    /// This record's trace file, resolved as [`trace_path`] says, when it names one.
    pub fn trace_path(&self, record_file: Option<&Path>) -> Option<PathBuf> {
        self.trace.as_deref().map(|t| trace_path(record_file, t))
    }
}

/// An experiment's output directory: one [`GroupDir`] per interpreter, and the staging folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultsDir {
    root: PathBuf,
}

impl ResultsDir {
    /// The results under `root` (nothing is created).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of a label's results: `OUT/minitwit312` for `3.12`.
    pub fn group(&self, label: &str) -> GroupDir {
        GroupDir::new(self.root.join(group_folder(label)))
    }

    /// The folder of the attempt in progress, `OUT/.staging`: a dot-folder, so nothing that
    /// lists group folders takes it for one.
    pub fn staging(&self) -> PathBuf {
        self.root.join(".staging")
    }

    /// `OUT/archive`: the sets a redo moved aside, one folder each.
    pub fn archive(&self) -> PathBuf {
        self.root.join(ARCHIVE_FOLDER)
    }

    /// `OUT/archive/minitwit312-s1`: the set of `label` whose runs began in session `session`,
    /// moved aside by a redo; laid out as a group folder.
    pub fn archived_group(&self, label: &str, session: &str) -> GroupDir {
        GroupDir::new(
            self.archive()
                .join(format!("{}-{session}", group_folder(label))),
        )
    }
}

/// The name of the folder of archived sets inside a results folder.
pub const ARCHIVE_FOLDER: &str = "archive";

/// The label and session of an archived set's folder name: `minitwit312-s1` → (`3.12`, `s1`);
/// `None` when the name does not end in `-s<number>`.
pub fn archived_parts(folder: &str) -> Option<(String, String)> {
    let (group, session) = folder.rsplit_once('-')?;
    let digits = session.strip_prefix('s')?;
    (!group.is_empty() && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| (group_label(group), session.to_owned()))
}

/// One group folder (one interpreter), in the study's layout plus our records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDir {
    dir: PathBuf,
}

impl GroupDir {
    /// The group folder at `dir` (nothing is created or read).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The group's label, from the folder's name (`minitwit312` → `3.12`); the name of the
    /// folder itself when given as `.` or `..`.
    pub fn label(&self) -> String {
        let name = self
            .dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| self.dir.display().to_string());
        group_label(&name)
    }

    /// `runs.jsonl`: the ok run records in run order, what the analysis reads.
    pub fn runs_jsonl(&self) -> PathBuf {
        self.dir.join("runs.jsonl")
    }

    /// `complete.json`: written last, once every planned run of the group is recorded; removed
    /// when the group gets planned runs again (an added version's reference runs).
    pub fn complete_marker(&self) -> PathBuf {
        self.dir.join("complete.json")
    }

    /// `log.txt`: the study's controller log (published data).
    pub fn log_txt(&self) -> PathBuf {
        self.dir.join("log.txt")
    }

    /// `baseline.jsonl`: the idle-baseline recordings (run 0).
    pub fn baseline_jsonl(&self) -> PathBuf {
        self.dir.join("baseline.jsonl")
    }

    /// `baseline/`: the traces of the baseline recordings.
    pub fn baseline_dir(&self) -> PathBuf {
        self.dir.join("baseline")
    }

    /// `runs/`: one record file per filed run.
    pub fn run_records_dir(&self) -> PathBuf {
        self.dir.join("runs")
    }

    /// `runs/run-NNN.json`: the record of one run; its presence says "this run is done".
    pub fn run_record(&self, run: u32) -> PathBuf {
        self.run_records_dir().join(format!("run-{run:03}.json"))
    }

    /// `requests/`: the request logs of the runs.
    pub fn requests_dir(&self) -> PathBuf {
        self.dir.join("requests")
    }

    /// `requests/run-NNN.jsonl`: the request records of one run.
    pub fn requests(&self, run: u32) -> PathBuf {
        self.requests_dir().join(format!("run-{run:03}.jsonl"))
    }

    /// `failed/`: what failed attempts left, kept for diagnosis and never analysed.
    pub fn failed_dir(&self) -> PathBuf {
        self.dir.join("failed")
    }

    /// `failed/run-NNN-attempt-K/`: the files of attempt `attempt` (from 1) of run `run`.
    pub fn failed_attempt(&self, run: u32, attempt: usize) -> PathBuf {
        self.failed_dir()
            .join(format!("{}{attempt}", failed_attempt_prefix(run)))
    }

    /// How many failed attempts of run `run` are filed already (0 when `failed/` is missing).
    pub fn failed_attempts(&self, run: u32) -> usize {
        let prefix = failed_attempt_prefix(run);
        std::fs::read_dir(self.failed_dir()).map_or(0, |d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                .count()
        })
    }

    /// The `trace` value of a run record whose trace `file_name` sits in the group folder.
    pub fn trace_ref(file_name: &str) -> String {
        file_name.to_owned()
    }

    /// The `trace` value of a baseline record whose trace `file_name` sits in `baseline/`.
    pub fn baseline_trace_ref(file_name: &str) -> String {
        format!("baseline/{file_name}")
    }

    /// The trace files directly in the folder (`*.csv.xz`, `*.csv`), in name order: the k-th
    /// belongs to the k-th run of a `log.txt`.
    pub fn traces(&self) -> io::Result<Vec<PathBuf>> {
        let mut traces: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && is_trace_file(p))
            .collect();
        traces.sort();
        Ok(traces)
    }
}

/// `run-NNN-attempt-`: the name prefix of a run's failed attempts.
fn failed_attempt_prefix(run: u32) -> String {
    format!("run-{run:03}-attempt-")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_study_naming() {
        assert_eq!(group_folder("3.12"), "minitwit312");
        assert_eq!(group_folder("3.8"), "minitwit38");
        assert_eq!(group_folder("pypy3.9"), "pypy3.9");
        assert_eq!(group_folder("3.12.1"), "3.12.1");
        assert_eq!(group_folder("x.y"), "x.y");
        assert_eq!(group_folder("10.1"), "10.1");
        assert_eq!(group_label("minitwit312"), "3.12");
        assert_eq!(group_label("minitwit38"), "3.8");
        assert_eq!(group_label("minitwit"), "minitwit");
        assert_eq!(group_label("pypy"), "pypy");
    }

    #[test]
    fn every_path_of_a_group_folder() {
        let g = ResultsDir::new("out").group("3.12");
        assert_eq!(g.path(), Path::new("out/minitwit312"));
        assert_eq!(g.runs_jsonl(), Path::new("out/minitwit312/runs.jsonl"));
        assert_eq!(g.log_txt(), Path::new("out/minitwit312/log.txt"));
        assert_eq!(
            g.baseline_jsonl(),
            Path::new("out/minitwit312/baseline.jsonl")
        );
        assert_eq!(g.baseline_dir(), Path::new("out/minitwit312/baseline"));
        assert_eq!(
            g.run_record(3),
            Path::new("out/minitwit312/runs/run-003.json")
        );
        assert_eq!(
            g.requests(3),
            Path::new("out/minitwit312/requests/run-003.jsonl")
        );
        assert_eq!(
            g.requests(1234),
            Path::new("out/minitwit312/requests/run-1234.jsonl")
        );
        assert_eq!(
            g.failed_attempt(3, 2),
            Path::new("out/minitwit312/failed/run-003-attempt-2")
        );
        assert_eq!(GroupDir::trace_ref("a b.csv.xz"), "a b.csv.xz");
        assert_eq!(
            GroupDir::baseline_trace_ref("x.csv.xz"),
            "baseline/x.csv.xz"
        );
        assert_eq!(ResultsDir::new("out").staging(), Path::new("out/.staging"));
        assert_eq!(
            g.complete_marker(),
            Path::new("out/minitwit312/complete.json")
        );
        let a = ResultsDir::new("out").archived_group("3.12", "s1");
        assert_eq!(a.path(), Path::new("out/archive/minitwit312-s1"));
        assert_eq!(
            archived_parts("minitwit312-s1"),
            Some(("3.12".to_owned(), "s1".to_owned()))
        );
        assert_eq!(
            archived_parts("pypy3.9-s12"),
            Some(("pypy3.9".to_owned(), "s12".to_owned()))
        );
        assert_eq!(archived_parts("minitwit312"), None);
        assert_eq!(archived_parts("3.11-debian"), None);
        assert_eq!(archived_parts("-s1"), None);
    }

    #[test]
    fn trace_paths_are_relative_to_the_record_file_or_the_current_directory() {
        let f = Path::new("data/out/minitwit312/runs.jsonl");
        assert_eq!(
            trace_path(Some(f), "a.csv.xz"),
            Path::new("data/out/minitwit312/a.csv.xz")
        );
        assert_eq!(
            trace_path(Some(f), "baseline/a.csv.xz"),
            Path::new("data/out/minitwit312/baseline/a.csv.xz")
        );
        assert_eq!(
            trace_path(Some(Path::new("runs.jsonl")), "a.csv.xz"),
            Path::new("a.csv.xz")
        );
        assert_eq!(trace_path(None, "d/a.csv.xz"), Path::new("d/a.csv.xz"));
        assert_eq!(
            trace_path(Some(f), "/abs/a.csv.xz"),
            Path::new("/abs/a.csv.xz")
        );
    }

    #[test]
    fn failed_attempts_are_counted_per_run() {
        let tmp = tempfile::tempdir().unwrap();
        let g = ResultsDir::new(tmp.path()).group("3.11");
        assert_eq!(g.failed_attempts(2), 0);
        for (run, k) in [(2, 1), (2, 2), (12, 1)] {
            std::fs::create_dir_all(g.failed_attempt(run, k)).unwrap();
        }
        assert_eq!(g.failed_attempts(2), 2);
        assert_eq!(g.failed_attempts(12), 1);
        assert_eq!(g.failed_attempts(1), 0);
    }

    #[test]
    fn traces_are_the_trace_files_in_name_order() {
        let tmp = tempfile::tempdir().unwrap();
        let g = GroupDir::new(tmp.path().join("minitwit38"));
        std::fs::create_dir_all(g.baseline_dir()).unwrap();
        for name in ["b.csv.xz", "a.csv.xz", "c.csv", "runs.jsonl", "log.txt"] {
            std::fs::write(g.path().join(name), "").unwrap();
        }
        std::fs::write(g.baseline_dir().join("z.csv.xz"), "").unwrap();
        let names: Vec<String> = g
            .traces()
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.csv.xz", "b.csv.xz", "c.csv"]);
        assert_eq!(g.label(), "3.8");
    }

    proptest! {
        #[test]
        fn a_label_comes_back_from_its_folder(label in "[0-9]\\.[0-9]{1,3}|[a-z][a-z0-9.]{0,10}|[0-9]{2,3}\\.[0-9]{1,2}") {
            // Labels that already look like a study folder name are the one ambiguity.
            prop_assume!(!label.starts_with("minitwit"));
            prop_assert_eq!(group_label(&group_folder(&label)), label);
        }

        #[test]
        fn a_group_folder_reads_back_its_label(label in "[0-9]\\.[0-9]{1,3}|pypy[0-9]\\.[0-9]{1,2}") {
            let tmp = tempfile::tempdir().unwrap();
            let g = ResultsDir::new(tmp.path()).group(&label);
            std::fs::create_dir_all(g.path()).unwrap();
            prop_assert_eq!(g.label(), label);
        }

        #[test]
        fn a_trace_written_next_to_its_records_is_found_from_them(
            dir in "[a-z]{1,8}( [a-z]{1,4})?",
            name in "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}",
        ) {
            let g = ResultsDir::new(&dir).group("3.12");
            let file = format!("{name}.csv.xz");
            prop_assert_eq!(
                trace_path(Some(&g.runs_jsonl()), &GroupDir::trace_ref(&file)),
                g.path().join(&file)
            );
            prop_assert_eq!(
                trace_path(Some(&g.baseline_jsonl()), &GroupDir::baseline_trace_ref(&file)),
                g.baseline_dir().join(&file)
            );
        }
    }
}
