//! The machine's speed during a run of a local server: a fixed workload, timed in this thread's
//! CPU time every 20 ms while the run's load runs.
//!
//! On a shared machine (a VM beside other tenants) the same requests cost more CPU time when
//! the host is busy, and the demo's model turns CPU time into energy. The probe sees the same
//! slowdowns: its median during a run is written into the run record (`speed_probe`), and
//! `energy-stats --speed-adjust` scales each run's energy by it (`docs/method.md`, "The
//! machine's speed"). The probe runs at the ordinary priority, so under `--priority realtime` it
//! only takes what the server and load leave; it counts its own CPU time, not the wall time,
//! so being preempted does not lengthen a sample.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use records::SpeedProbe;

/// Pause between two timings of the workload.
const PERIOD: Duration = Duration::from_millis(20);
/// Entries of the workload's table: hashing, allocation and scattered reads of about 1 MB,
/// the kind of work an interpreter does (about 1 ms on the machine the demo was tuned on).
const ENTRIES: u64 = 20_000;

/// A probe timing the workload on its own thread until [`Probe::finish`] (or until dropped,
/// when a run ends early).
pub(crate) struct Probe {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Vec<f64>>>,
}

impl Probe {
    /// Starts timing on a new thread.
    pub(crate) fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut times = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                if let Some(ms) = timed_workload() {
                    times.push(ms);
                }
                std::thread::sleep(PERIOD);
            }
            times
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the probe; the median of its timings, or `None` when it timed nothing (a run
    /// shorter than one timing, or no thread CPU clock).
    pub(crate) fn finish(mut self) -> Option<SpeedProbe> {
        self.stop.store(true, Ordering::Relaxed);
        let times = self.thread.take()?.join().ok()?;
        summarise(times)
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The median of `times` (milliseconds) and their count.
fn summarise(mut times: Vec<f64>) -> Option<SpeedProbe> {
    if times.is_empty() {
        return None;
    }
    times.sort_by(f64::total_cmp);
    Some(SpeedProbe {
        median_ms: stats::numeric::median_sorted(&times),
        samples: u32::try_from(times.len()).unwrap_or(u32::MAX),
    })
}

/// This thread's CPU time in nanoseconds.
fn thread_cpu_ns() -> Option<u128> {
    let ts = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Some(u128::try_from(ts.tv_sec).ok()? * 1_000_000_000 + u128::try_from(ts.tv_nsec).ok()?)
}

/// One timing of the workload, in milliseconds of this thread's CPU time.
fn timed_workload() -> Option<f64> {
    let start = thread_cpu_ns()?;
    black_box(workload(black_box(ENTRIES)));
    let end = thread_cpu_ns()?;
    // Nanoseconds to milliseconds; a workload takes far less than 2^52 ns.
    #[allow(clippy::cast_precision_loss)]
    Some((end - start) as f64 / 1e6)
}

/// Fills a hash map and reads it back in another order: the same work every time.
fn workload(entries: u64) -> u64 {
    let mut table = std::collections::HashMap::with_capacity(0);
    for i in 0..entries {
        table.insert(i.wrapping_mul(0x9E37_79B9_7F4A_7C15), i);
    }
    let mut sum = 0u64;
    for i in (0..entries).rev() {
        sum = sum.wrapping_add(table[&i.wrapping_mul(0x9E37_79B9_7F4A_7C15)]);
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_odd_and_even_counts_and_none_for_nothing() {
        let p = summarise(vec![3.0, 1.0, 2.0]).unwrap();
        assert_eq!((p.median_ms, p.samples), (2.0, 3));
        let p = summarise(vec![4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!((p.median_ms, p.samples), (2.5, 4));
        assert_eq!(summarise(Vec::new()), None);
    }

    #[test]
    fn the_workload_is_the_same_sum_every_time() {
        // Σ i for i < n: every key is found, whatever the map's order.
        assert_eq!(workload(1000), 999 * 1000 / 2);
        assert_eq!(workload(ENTRIES), workload(ENTRIES));
    }

    #[test]
    fn a_probe_times_the_workload_while_it_runs() {
        let probe = Probe::start();
        std::thread::sleep(Duration::from_millis(300));
        let p = probe.finish().expect("timings");
        assert!(p.samples >= 2, "{p:?}");
        assert!(p.median_ms > 0.0 && p.median_ms.is_finite(), "{p:?}");
    }
}
