//! The `cpu` power model's input: the CPU use of a process tree, read from `/proc`.
//!
//! Every task (thread) of the root process and of all its descendants is summed through
//! `/proc/<pid>/task/<tid>/schedstat`, whose first field is the nanoseconds the task ran
//! (far finer than the 10 ms ticks of `/proc/<pid>/stat`, which would make a 100 Hz load
//! signal jump between 0 and 1). Descendants are found through
//! `/proc/<pid>/task/<tid>/children`, falling back to a scan of `/proc` for parent ids.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::model::Timeline;

/// Which process tree to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PidSource {
    /// A fixed process id.
    Pid(u32),
    /// A file holding a process id, re-read at each recording start (e.g. gunicorn's
    /// `--pid` file, which changes whenever the server is restarted).
    File(PathBuf),
}

impl PidSource {
    /// The process id to follow now.
    pub fn resolve(&self) -> Result<u32, String> {
        match self {
            PidSource::Pid(pid) => Ok(*pid),
            PidSource::File(path) => {
                let text = fs::read_to_string(path)
                    .map_err(|e| format!("cannot read pid file {}: {e}", path.display()))?;
                text.trim().parse::<u32>().map_err(|_| {
                    format!(
                        "pid file {} does not hold a process id: {:?}",
                        path.display(),
                        text.trim()
                    )
                })
            }
        }
    }
}

/// Run time so far of every task in the tree rooted at `root`, keyed by task id, in ns.
pub fn tree_task_times(proc_root: &Path, root: u32) -> HashMap<u32, u64> {
    let mut out = HashMap::new();
    let mut stack = vec![root];
    let mut seen = 0usize;
    while let Some(pid) = stack.pop() {
        seen += 1;
        if seen > 100_000 {
            break;
        }
        let task_dir = proc_root.join(pid.to_string()).join("task");
        let Ok(entries) = fs::read_dir(&task_dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Some(tid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if let Ok(text) = fs::read_to_string(entry.path().join("schedstat")) {
                if let Some(ns) = text.split_whitespace().next().and_then(|s| s.parse().ok()) {
                    out.insert(tid, ns);
                }
            }
            if let Ok(text) = fs::read_to_string(entry.path().join("children")) {
                stack.extend(
                    text.split_whitespace()
                        .filter_map(|s| s.parse::<u32>().ok()),
                );
            }
        }
    }
    out
}

/// Samples a process tree's CPU use into a [`Timeline`] until stopped.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Starts sampling the tree of `pid` into `timeline` at `timeline.hz`. A load of 1 is
    /// `busy_cpus` CPUs fully used by the tree.
    pub fn start(pid: u32, busy_cpus: f64, timeline: Arc<Timeline>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = thread::Builder::new()
            .name(format!("cpu-sampler-{pid}"))
            .spawn(move || sample_loop(Path::new("/proc"), pid, busy_cpus, &timeline, &flag))
            .ok();
        Self { stop, handle }
    }

    /// Stops sampling and waits for the sampler thread.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn sample_loop(proc_root: &Path, pid: u32, busy_cpus: f64, tl: &Timeline, stop: &AtomicBool) {
    let period = Duration::from_secs_f64(1.0 / tl.hz);
    let start = Instant::now();
    let mut prev = tree_task_times(proc_root, pid);
    let mut slot: u64 = 0;
    while !stop.load(Ordering::SeqCst) {
        slot += 1;
        let due = start + period.mul_f64(slot as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
        let now_times = tree_task_times(proc_root, pid);
        let now = Instant::now();
        let ran_ns = ran_since(&prev, &now_times);
        // Keep index k of the timeline at time k / hz even when this thread was late.
        let elapsed_slots = (now.duration_since(start).as_secs_f64() * tl.hz).floor() as usize;
        let slots = elapsed_slots.saturating_sub(tl.len()).max(1);
        tl.push(slot_load(ran_ns, slots, tl.hz, busy_cpus), slots);
        slot = slot.max(elapsed_slots as u64);
        prev = now_times;
    }
}

/// Nanoseconds the tree ran between two readings. A task that appeared since the last reading
/// ran all its time in this interval; a task that ended took its last interval with it.
pub fn ran_since(prev: &HashMap<u32, u64>, now: &HashMap<u32, u64>) -> u64 {
    now.iter()
        .map(|(tid, ns)| ns.saturating_sub(prev.get(tid).copied().unwrap_or(0)))
        .sum()
}

/// The load of each of `slots` timeline slots (of `1/hz` s) that together hold `ran_ns` of CPU
/// time: CPUs used ÷ `busy_cpus`. Not capped at 1 (two workers on two CPUs are a load of 2 with
/// `busy_cpus` 1), and spread over the slots it fills rather than over the wall time between
/// two readings, so the timeline's integral is the tree's CPU time exactly: Σ load × (1/hz) ×
/// `busy_cpus` = Σ ran. A late reading (this thread starved) then moves work between slots but
/// never loses or invents any.
pub fn slot_load(ran_ns: u64, slots: usize, hz: f64, busy_cpus: f64) -> f32 {
    let slot_ns = 1e9 / hz;
    (ran_ns as f64 / (slots.max(1) as f64 * slot_ns) / busy_cpus).max(0.0) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_tree_has_run_time() {
        let times = tree_task_times(Path::new("/proc"), std::process::id());
        assert!(!times.is_empty());
        assert!(times.values().sum::<u64>() > 0);
    }

    #[test]
    fn busy_thread_raises_load() {
        let tl = Arc::new(Timeline::new(200.0));
        let sampler = Sampler::start(std::process::id(), 1.0, tl.clone());
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let spinner = thread::spawn(move || {
            let mut x = 0u64;
            while !flag.load(Ordering::Relaxed) {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
            x
        });
        thread::sleep(Duration::from_millis(400));
        stop.store(true, Ordering::Relaxed);
        let _ = spinner.join();
        sampler.stop();
        assert!(
            tl.len() >= 40,
            "only {} load samples in 0.4 s at 200 Hz",
            tl.len()
        );
        assert!(
            tl.mean() > 0.1,
            "a spinning thread gave mean load {}",
            tl.mean()
        );
    }

    #[test]
    fn slot_loads_conserve_cpu_time() {
        // 5 ms slots (200 Hz): 5 ms of one CPU is a load of 1; two CPUs a load of 2 (no cap).
        assert_eq!(slot_load(5_000_000, 1, 200.0, 1.0), 1.0);
        assert_eq!(slot_load(10_000_000, 1, 200.0, 1.0), 2.0);
        assert_eq!(slot_load(10_000_000, 1, 200.0, 2.0), 1.0);
        // A reading 3 slots late spreads its 6 ms over the 3 slots it fills.
        assert!((slot_load(6_000_000, 3, 200.0, 1.0) - 0.4).abs() < 1e-7);
        // A known trace of readings: Σ load × slots / hz = total CPU seconds.
        let readings: [(u64, usize); 5] = [
            (5_000_000, 1),
            (2_500_000, 1),
            (30_000_000, 4),
            (0, 2),
            (9_000_000, 1),
        ];
        let total: f64 = readings
            .iter()
            .map(|&(ns, n)| f64::from(slot_load(ns, n, 200.0, 1.0)) * n as f64 / 200.0)
            .sum();
        assert!((total - 0.0465).abs() < 1e-9, "{total} CPU-s");
    }

    #[test]
    fn ran_since_counts_new_tasks_whole_and_ignores_ended_ones() {
        let prev: HashMap<u32, u64> = [(1, 100), (2, 50), (3, 70)].into_iter().collect();
        let now: HashMap<u32, u64> = [(1, 130), (2, 50), (4, 25)].into_iter().collect();
        assert_eq!(ran_since(&prev, &now), 30 + 25);
    }

    #[test]
    fn pid_file_is_parsed() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("g.pid");
        fs::write(&f, "1234\n").unwrap();
        assert_eq!(PidSource::File(f.clone()).resolve(), Ok(1234));
        fs::write(&f, "x").unwrap();
        assert!(PidSource::File(f).resolve().is_err());
    }
}
