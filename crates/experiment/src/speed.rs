//! The machine's speed during a run of a local server: a fixed workload, timed in its own
//! thread's CPU time every 20 ms while the run's load runs.
//!
//! On a shared machine (a VM beside other tenants) the same requests cost more CPU time when
//! the host is busy, and the demo's model turns CPU time into energy. The probe sees the same
//! slowdowns: its median during a run is written into the run record (`speed_probe`), and
//! `energy-stats --speed-adjust` scales each run's energy by it (`docs/method.md`, "The
//! machine's speed"). Two workloads (`--speed-probe`): `python` (the default), a dict filled
//! and summed in an interpreter of its own, one for the whole experiment (`--probe-python`),
//! the kind of work the server does, which followed the host's slowdowns best in the demo's
//! measurements; and `builtin`, a hash map in this process, which needs no Python. The probe
//! runs at the ordinary priority, so under `--priority realtime` it only takes what the
//! server and load leave; it counts its own CPU time, not the wall time, so being preempted
//! does not lengthen a timing.

use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use procs::OwnedChild;
use records::SpeedProbe;

/// Pause between two timings of the workload.
const PERIOD: Duration = Duration::from_millis(20);
/// Entries of the workload's table: hashing, allocation and scattered reads, the kind of work
/// an interpreter does (about 1 ms in Rust, 2 ms in CPython 3.11 on the machine the demo was
/// tuned on).
const ENTRIES: u64 = 20_000;
/// The Python workload, run with `-I -S -c` (see the script for its arguments and output).
const PYTHON_PROBE: &str = include_str!("speed_probe.py");
/// Timings of the Python probe left out at its start (its first one is slower: the
/// interpreter's memory is not yet warm).
const PYTHON_WARMUP: usize = 2;

/// What `--speed-probe` times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeKind {
    /// The Python workload in `exe`, described by `workload` (the run record's
    /// `speed_probe.workload`).
    Python {
        /// The interpreter, as it names itself (`sys.executable`).
        exe: PathBuf,
        /// `python-dict-20000 CPython 3.11.2 /usr/bin/python3.11`.
        workload: String,
    },
    /// The controller's own workload, on a thread of its own.
    Builtin,
    /// No probe: runs carry no `speed_probe`.
    Off,
}

impl ProbeKind {
    /// The Python probe under the interpreter `exe` (a path, or a name looked up on PATH);
    /// an error says why it cannot run it.
    pub fn python(exe: &Path) -> Result<ProbeKind, String> {
        let p = crate::discover::probe(exe)?;
        if p.version < (3, 7, 0) {
            return Err(format!(
                "{} {}.{}.{} is too old for the probe (time.thread_time_ns needs Python 3.7)",
                p.implementation, p.version.0, p.version.1, p.version.2
            ));
        }
        let exe = if p.executable.is_empty() {
            exe.to_path_buf()
        } else {
            PathBuf::from(&p.executable)
        };
        Ok(ProbeKind::Python {
            workload: format!(
                "python-dict-{ENTRIES} {} {}.{}.{} {}",
                p.implementation,
                p.version.0,
                p.version.1,
                p.version.2,
                exe.display()
            ),
            exe,
        })
    }
}

/// A probe timing its workload until [`Probe::finish`] (or until dropped, when a run ends
/// early).
pub(crate) struct Probe {
    inner: Inner,
    workload: Option<String>,
}

enum Inner {
    Thread {
        stop: Arc<AtomicBool>,
        thread: Option<JoinHandle<Vec<f64>>>,
    },
    Child {
        child: OwnedChild,
        reader: Option<JoinHandle<Vec<f64>>>,
    },
}

impl Probe {
    /// Starts timing; `None` for [`ProbeKind::Off`], or (with a warning on stderr) when the
    /// Python probe does not start: the run then carries no `speed_probe`.
    pub(crate) fn start(kind: &ProbeKind) -> Option<Self> {
        match kind {
            ProbeKind::Off => None,
            ProbeKind::Builtin => Some(Self::builtin()),
            ProbeKind::Python { exe, workload } => match Self::python(exe, workload) {
                Ok(p) => Some(p),
                Err(e) => {
                    eprintln!(
                        "experiment: warning: the speed probe did not start ({}: {e}); this run carries no speed_probe",
                        exe.display()
                    );
                    None
                }
            },
        }
    }

    fn builtin() -> Self {
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
            inner: Inner::Thread {
                stop,
                thread: Some(thread),
            },
            workload: None,
        }
    }

    fn python(exe: &Path, workload: &str) -> std::io::Result<Self> {
        let mut cmd = Command::new(exe);
        cmd.args(["-I", "-S", "-c", PYTHON_PROBE])
            .arg(ENTRIES.to_string())
            .arg(format!("{:.3}", PERIOD.as_secs_f64()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = OwnedChild::spawn("speed probe", cmd)?;
        let read = child
            .take_stdout()
            .ok_or_else(|| std::io::Error::other("no pipe from the probe's output"))?;
        let reader = std::thread::spawn(move || {
            BufReader::new(read)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| l.trim().parse::<u64>().ok())
                .skip(PYTHON_WARMUP)
                // Nanoseconds to milliseconds; a timing takes far less than 2^52 ns.
                .map(|ns| {
                    #[allow(clippy::cast_precision_loss)]
                    let ms = ns as f64 / 1e6;
                    ms
                })
                .collect()
        });
        Ok(Self {
            inner: Inner::Child {
                child,
                reader: Some(reader),
            },
            workload: Some(workload.to_owned()),
        })
    }

    /// Stops the probe; the median of its timings, or `None` when it timed nothing (a run
    /// shorter than one timing, or no thread CPU clock).
    pub(crate) fn finish(mut self) -> Option<SpeedProbe> {
        let times = match &mut self.inner {
            Inner::Thread { stop, thread } => {
                stop.store(true, Ordering::Relaxed);
                thread.take()?.join().ok()?
            }
            Inner::Child { child, reader } => {
                child.stop(Duration::ZERO);
                reader.take()?.join().ok()?
            }
        };
        summarise(times).map(|p| SpeedProbe {
            workload: self.workload.take(),
            ..p
        })
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if let Inner::Thread { stop, .. } = &self.inner {
            stop.store(true, Ordering::Relaxed);
        }
        // A child is stopped by its own guard.
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
        workload: None,
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
        let probe = Probe::start(&ProbeKind::Builtin).expect("a builtin probe");
        std::thread::sleep(Duration::from_millis(300));
        let p = probe.finish().expect("timings");
        assert!(p.samples >= 2, "{p:?}");
        assert!(p.median_ms > 0.0 && p.median_ms.is_finite(), "{p:?}");
        assert_eq!(
            p.workload, None,
            "the builtin workload is the record's default"
        );
        assert!(Probe::start(&ProbeKind::Off).is_none());
    }

    #[test]
    fn a_python_probe_times_its_workload_and_names_it() {
        let kind = ProbeKind::python(Path::new("python3")).expect("python3 on PATH");
        let ProbeKind::Python { exe, workload } = &kind else {
            panic!("{kind:?}")
        };
        assert!(exe.is_absolute(), "{exe:?}");
        assert!(
            workload.starts_with("python-dict-20000 CPython 3.")
                && workload.ends_with(&*exe.to_string_lossy()),
            "{workload}"
        );
        let probe = Probe::start(&kind).expect("started");
        let pid = match &probe.inner {
            Inner::Child { child, .. } => child.pid(),
            Inner::Thread { .. } => panic!("a thread"),
        };
        std::thread::sleep(Duration::from_millis(800));
        let p = probe.finish().expect("timings");
        assert!(p.samples >= 5, "{p:?}");
        assert!(p.median_ms > 0.0 && p.median_ms < 1000.0, "{p:?}");
        assert_eq!(p.workload.as_deref(), Some(workload.as_str()));
        // Ended with the run: no probe left behind.
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            state.is_empty(),
            "the probe {pid} outlived its run: {state}"
        );
    }

    #[test]
    fn a_python_probe_that_cannot_run_is_named_with_why() {
        let e = ProbeKind::python(Path::new("/nonexistent/python3")).unwrap_err();
        assert!(
            e.contains("/nonexistent/python3") || e.contains("cannot run"),
            "{e}"
        );
        let e = ProbeKind::python(Path::new("true")).unwrap_err();
        assert!(e.contains("not a Python interpreter"), "{e}");
        // A probe whose interpreter went away after the check: no probe, no panic.
        let gone = ProbeKind::Python {
            exe: PathBuf::from("/nonexistent/python3"),
            workload: "python-dict-20000 CPython 3.11.2 /nonexistent/python3".into(),
        };
        assert!(Probe::start(&gone).is_none());
    }
}
