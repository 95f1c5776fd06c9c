//! The embedded default meter: a local `otii-sim` whose `cpu` power model follows the gunicorn
//! master (power modelled, not measured).

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result};
use procs::{Interrupt, OwnedChild};

/// Starts `otii-sim` from `bin_dir` on a free loopback port, following the PID in `pid_file`,
/// its log in `work_dir/otii-sim.log`. Returns the owned child and its address.
pub fn start_sim(
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
