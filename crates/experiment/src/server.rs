//! The server side: which interpreter MiniTwit runs under.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use procs::{Interrupt, MiniTwit, MiniTwitLaunch, Priority};

/// Where MiniTwit runs, and under which interpreter.
pub trait Server {
    /// Makes sure MiniTwit runs under `label`, restarting it only when the interpreter
    /// changes. Returns whether it (re)started.
    fn ensure(&mut self, label: &str) -> Result<bool>;
    /// Base URL of MiniTwit, e.g. `http://127.0.0.1:5000`.
    fn url(&self) -> String;
    /// Stops MiniTwit if it runs.
    fn stop(&mut self) -> Result<()>;
    /// Starts MiniTwit again under `label`, whatever it was doing: stopped first (a failing
    /// stop is no reason not to try the start: the host may have rebooted), then started.
    fn restart(&mut self, label: &str) -> Result<()> {
        let _ = self.stop();
        self.ensure(label).map(|_| ())
    }
    /// Whether MiniTwit answers (its readiness probe, one `GET /`); `Err` says why not.
    fn probe(&mut self) -> std::result::Result<(), String> {
        probe_http(&self.url())
    }
    /// Whether a failed start may be the server being away (a remote host rebooting, SSH
    /// down) rather than a wrong setup: always for a remote server; for a local one only once
    /// it has served this interpreter before.
    fn start_failure_is_away(&self, label: &str) -> bool;
    /// Whether the server runs on this machine, so that this machine's speed during a run is
    /// the server's (the run record's `speed_probe`).
    fn is_local(&self) -> bool {
        false
    }
}

/// One `GET /` of MiniTwit within 5 s: any HTTP answer is an answer.
fn probe_http(url: &str) -> std::result::Result<(), String> {
    procs::http_status(&format!("{url}/"), Duration::from_secs(5))
        .map(|_| ())
        .map_err(|e| format!("MiniTwit at {url} does not answer: {e}"))
}

/// MiniTwit under gunicorn on this machine, one venv per interpreter (the demo), started by
/// [`procs::MiniTwitLaunch`] with the study's `gunicorn.conf.py`.
pub struct LocalServer {
    interpreters: Vec<(String, PathBuf)>,
    minitwit_dir: PathBuf,
    seed: PathBuf,
    work_dir: PathBuf,
    port: u16,
    pid_file: Option<PathBuf>,
    interrupt: Interrupt,
    running: Option<MiniTwit>,
    current: Option<String>,
    served: Vec<String>,
    priority: Priority,
}

impl LocalServer {
    /// `interpreters`: label → venv directory (with `bin/gunicorn` and MiniTwit's pins).
    /// `pid_file`: where to write the gunicorn master's PID at every start, for `otii-sim`'s
    /// CPU power model to follow. `port` 0 picks a free loopback port once. A start waits for
    /// MiniTwit's first answer unless `interrupt` is set.
    pub fn new(
        interpreters: Vec<(String, PathBuf)>,
        minitwit_dir: PathBuf,
        seed: PathBuf,
        work_dir: PathBuf,
        port: u16,
        pid_file: Option<PathBuf>,
        interrupt: &Interrupt,
    ) -> Result<LocalServer> {
        for (label, venv) in &interpreters {
            let g = venv.join("bin").join("gunicorn");
            if !g.exists() {
                bail!(
                    "interpreter {label}: {} not found (give --python EXE to create it)",
                    g.display()
                );
            }
        }
        let conf = minitwit_dir.join(procs::GUNICORN_CONF);
        if !conf.exists() {
            bail!(
                "{}: not found (is {} the minitwit/ folder?)",
                conf.display(),
                minitwit_dir.display()
            );
        }
        if !seed.exists() {
            bail!(
                "{}: seed SQL not found (make data/minitwit/seed.sql)",
                seed.display()
            );
        }
        fs::create_dir_all(&work_dir)
            .with_context(|| format!("creating {}", work_dir.display()))?;
        let port = if port == 0 { procs::free_port()? } else { port };
        Ok(LocalServer {
            interpreters,
            minitwit_dir,
            seed,
            work_dir,
            port,
            pid_file,
            interrupt: interrupt.clone(),
            running: None,
            current: None,
            served: Vec::new(),
            priority: Priority::Default,
        })
    }

    /// Starts gunicorn and its workers under `priority` from now on (default: as the study).
    pub fn with_priority(mut self, priority: Priority) -> LocalServer {
        self.priority = priority;
        self
    }

    /// The gunicorn master's PID, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.running.as_ref().map(MiniTwit::pid)
    }

    fn start(&mut self, label: &str) -> Result<()> {
        let venv = self
            .interpreters
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.clone())
            .with_context(|| format!("no venv configured for interpreter {label}"))?;
        let folder = records::group_folder(label);
        let server = MiniTwitLaunch::new(
            &venv,
            &self.minitwit_dir,
            self.port,
            self.work_dir.join(format!("minitwit-{folder}.db")),
            self.work_dir.join(format!("gunicorn-{folder}.log")),
        )
        .name(format!("gunicorn for {label}"))
        .seed(&self.seed)
        .priority(self.priority)
        .start(&self.interrupt)
        .with_context(|| format!("starting gunicorn from {}", venv.display()))?;
        if let Some(p) = &self.pid_file {
            write_pid(p, server.pid())?;
        }
        eprintln!(
            "experiment: MiniTwit runs under {label} (gunicorn pid {}{}) on {}",
            server.pid(),
            if self.priority == Priority::Default {
                String::new()
            } else {
                format!(", {} priority", self.priority)
            },
            server.url()
        );
        self.running = Some(server);
        self.current = Some(label.to_owned());
        if !self.served.iter().any(|l| l == label) {
            self.served.push(label.to_owned());
        }
        Ok(())
    }
}

fn write_pid(path: &Path, pid: u32) -> Result<()> {
    let mut f = records::AtomicFile::create(path)?;
    writeln!(f, "{pid}")?;
    f.commit()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

impl Server for LocalServer {
    fn ensure(&mut self, label: &str) -> Result<bool> {
        let alive = self.running.as_mut().is_some_and(MiniTwit::is_running);
        if alive && self.current.as_deref() == Some(label) {
            return Ok(false);
        }
        self.stop()?;
        self.start(label)?;
        Ok(true)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn probe(&mut self) -> std::result::Result<(), String> {
        let Some(s) = self.running.as_mut() else {
            return Err("MiniTwit is not running".into());
        };
        if !s.is_running() {
            return Err(format!("gunicorn (pid {}) is gone", s.pid()));
        }
        probe_http(&self.url())
    }

    fn start_failure_is_away(&self, label: &str) -> bool {
        self.served.iter().any(|l| l == label)
    }

    fn is_local(&self) -> bool {
        true
    }

    fn stop(&mut self) -> Result<()> {
        if let Some(mut server) = self.running.take() {
            let pid = server.pid();
            server.stop(Duration::from_secs(10));
            eprintln!("experiment: stopped gunicorn (pid {pid})");
        }
        self.current = None;
        Ok(())
    }
}

/// MiniTwit on the testbed's server Pi, started and stopped by commands (normally
/// `pi-provision … server start --python {label}` and `… server stop`). `{label}` in a command
/// is replaced by the interpreter label.
pub struct ProvisionedServer {
    start: Vec<String>,
    stop: Vec<String>,
    url: String,
    current: Option<String>,
}

impl ProvisionedServer {
    /// `start`/`stop`: argv templates; `url`: MiniTwit's base URL as the controller sees it.
    pub fn new(start: Vec<String>, stop: Vec<String>, url: String) -> Result<ProvisionedServer> {
        if start.is_empty() || stop.is_empty() {
            bail!("server start and stop commands must not be empty");
        }
        Ok(ProvisionedServer {
            start,
            stop,
            url,
            current: None,
        })
    }
}

fn run_template(argv: &[String], label: &str, what: &str) -> Result<()> {
    let args: Vec<String> = argv.iter().map(|a| a.replace("{label}", label)).collect();
    let status = Command::new(&args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("{what}: running {}", args.join(" ")))?;
    if !status.success() {
        bail!("{what}: `{}` failed ({status})", args.join(" "));
    }
    Ok(())
}

impl Server for ProvisionedServer {
    fn ensure(&mut self, label: &str) -> Result<bool> {
        if self.current.as_deref() == Some(label) {
            return Ok(false);
        }
        if let Some(cur) = self.current.take() {
            run_template(&self.stop, &cur, "stopping the server")?;
        }
        run_template(&self.start, label, "starting the server")?;
        self.current = Some(label.to_owned());
        Ok(true)
    }

    fn url(&self) -> String {
        self.url.clone()
    }

    fn start_failure_is_away(&self, _label: &str) -> bool {
        true
    }

    fn restart(&mut self, label: &str) -> Result<()> {
        // The stop command stops whatever runs; it fails while the host is unreachable, and
        // is tried again at the next restart.
        let _ = run_template(&self.stop, label, "stopping the server");
        self.current = None;
        run_template(&self.start, label, "starting the server")?;
        self.current = Some(label.to_owned());
        Ok(())
    }

    fn stop(&mut self) -> Result<()> {
        if let Some(cur) = self.current.take() {
            run_template(&self.stop, &cur, "stopping the server")?;
        }
        Ok(())
    }
}
