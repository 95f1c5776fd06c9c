//! The meter: the Otii at a given address, or the embedded default, a local `otii-sim` whose
//! `cpu` power model follows the gunicorn master (power modelled, not measured). A local
//! simulator that died is started again; a remote meter is only waited for.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};
use procs::{Interrupt, OwnedChild};

/// Where the runs are measured.
pub struct Meter {
    addr: String,
    local: Option<LocalSim>,
}

struct LocalSim {
    child: OwnedChild,
    bin_dir: PathBuf,
    work_dir: PathBuf,
    pid_file: PathBuf,
    rate: u32,
}

impl Meter {
    /// The Otii 3 TCP server at `addr` (or an otii-sim someone else runs there).
    pub fn remote(addr: impl Into<String>) -> Meter {
        Meter {
            addr: addr.into(),
            local: None,
        }
    }

    /// Starts `otii-sim` from `bin_dir` on a free loopback port, following the PID in
    /// `pid_file`, its log in `work_dir/otii-sim.log`.
    pub fn local(
        bin_dir: &Path,
        work_dir: &Path,
        pid_file: &Path,
        rate: u32,
        interrupt: &Interrupt,
    ) -> Result<Meter> {
        let (child, addr) = start_sim(bin_dir, work_dir, pid_file, rate, interrupt)?;
        Ok(Meter {
            addr,
            local: Some(LocalSim {
                child,
                bin_dir: bin_dir.to_path_buf(),
                work_dir: work_dir.to_path_buf(),
                pid_file: pid_file.to_path_buf(),
                rate,
            }),
        })
    }

    /// The meter's address (a restarted local simulator has a new one).
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The PID of the local simulator, while one runs.
    pub fn local_pid(&self) -> Option<u32> {
        self.local.as_ref().map(|l| l.child.pid())
    }

    /// Starts the local simulator again when it died; a remote meter is left to come back.
    /// Returns whether it restarted.
    pub(crate) fn revive(&mut self, interrupt: &Interrupt) -> Result<bool> {
        let Some(sim) = self.local.as_mut() else {
            return Ok(false);
        };
        if sim.child.is_running() {
            return Ok(false);
        }
        let status = sim.child.exited();
        eprintln!(
            "experiment: the local otii-sim (pid {}) is gone ({}); starting it again",
            sim.child.pid(),
            status.map_or_else(|| "no status".into(), |s| s.to_string())
        );
        let (child, addr) = start_sim(
            &sim.bin_dir,
            &sim.work_dir,
            &sim.pid_file,
            sim.rate,
            interrupt,
        )?;
        sim.child = child;
        self.addr = addr;
        Ok(true)
    }

    /// Whether the meter answers with an Arc connected (`otii-capture devices`); `Err` is its
    /// error line.
    pub(crate) fn probe(&self, bin_dir: &Path) -> std::result::Result<(), String> {
        let out = Command::new(bin_dir.join("otii-capture"))
            .args(["--otii", &self.addr, "--connect-timeout", "2", "devices"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running otii-capture devices: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        Err(last
            .split_once(": error: ")
            .map_or(last, |(_, rest)| rest)
            .to_owned())
    }
}

fn start_sim(
    bin_dir: &Path,
    work_dir: &Path,
    pid_file: &Path,
    rate: u32,
    interrupt: &Interrupt,
) -> Result<(OwnedChild, String)> {
    std::fs::create_dir_all(work_dir)
        .with_context(|| format!("creating {}", work_dir.display()))?;
    let port_file = work_dir.join("otii-sim.port");
    let _ = std::fs::remove_file(&port_file);
    let mut cmd = Command::new(bin_dir.join("otii-sim"));
    // Port 0: the simulator binds a free port and writes it to --port-file (no race).
    cmd.args(["--listen", "127.0.0.1:0", "--port-file"])
        .arg(&port_file)
        .args(["--model", "cpu", "--pid-file"])
        .arg(pid_file)
        .arg("--rate")
        .arg(rate.to_string());
    let mut child = OwnedChild::spawn_logged("otii-sim", cmd, &work_dir.join("otii-sim.log"))
        .context("starting otii-sim")?;
    let goal = format!("port in {}", port_file.display());
    let port: u16 = procs::wait_for(
        &mut child,
        &goal,
        Duration::from_secs(20),
        interrupt,
        || {
            std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|s| s.trim().parse().ok())
        },
    )?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .with_context(|| format!("otii-sim does not answer on {addr}"))?;
    eprintln!("experiment: otii-sim (cpu power model: modelled, not measured) on {addr}");
    Ok((child, addr.to_string()))
}
