//! The server side: which interpreter MiniTwit runs under.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::proc::OwnedChild;

/// Where MiniTwit runs, and under which interpreter.
pub trait Server {
    /// Makes sure MiniTwit runs under `label`, restarting it only when the interpreter
    /// changes. Returns whether it (re)started.
    fn ensure(&mut self, label: &str) -> Result<bool>;
    /// Base URL of MiniTwit, e.g. `http://127.0.0.1:5000`.
    fn url(&self) -> String;
    /// Stops MiniTwit if it runs.
    fn stop(&mut self) -> Result<()>;
}

/// MiniTwit under gunicorn on this machine, one venv per interpreter (the demo).
pub struct LocalServer {
    interpreters: Vec<(String, PathBuf)>,
    minitwit_dir: PathBuf,
    seed: PathBuf,
    work_dir: PathBuf,
    port: u16,
    pid_file: Option<PathBuf>,
    child: Option<OwnedChild>,
    current: Option<String>,
}

impl LocalServer {
    /// `interpreters`: label → venv directory (with `bin/gunicorn` and MiniTwit's pins).
    /// `pid_file`: where to write the gunicorn master's PID at every start, for `otii-sim`'s
    /// CPU power model to follow. `port` 0 picks a free loopback port once.
    pub fn new(
        interpreters: Vec<(String, PathBuf)>,
        minitwit_dir: PathBuf,
        seed: PathBuf,
        work_dir: PathBuf,
        port: u16,
        pid_file: Option<PathBuf>,
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
        if !minitwit_dir.join("wsgi.py").exists() {
            bail!(
                "{}: no wsgi.py (is this the minitwit/ folder?)",
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
        // gunicorn runs with --chdir, so every path handed to it must be absolute.
        let abs = |p: &Path| std::path::absolute(p).with_context(|| format!("{}", p.display()));
        let (minitwit_dir, seed, work_dir) = (abs(&minitwit_dir)?, abs(&seed)?, abs(&work_dir)?);
        let interpreters = interpreters
            .into_iter()
            .map(|(l, v)| Ok((l, abs(&v)?)))
            .collect::<Result<Vec<_>>>()?;
        let port = if port == 0 { free_port()? } else { port };
        Ok(LocalServer {
            interpreters,
            minitwit_dir,
            seed,
            work_dir,
            port,
            pid_file,
            child: None,
            current: None,
        })
    }

    /// The gunicorn master's PID, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(OwnedChild::pid)
    }

    fn start(&mut self, label: &str) -> Result<()> {
        let venv = self
            .interpreters
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.clone())
            .with_context(|| format!("no venv configured for interpreter {label}"))?;
        let folder = records::group_folder(label);
        let log_path = self.work_dir.join(format!("gunicorn-{folder}.log"));
        let log = fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let mut cmd = Command::new(venv.join("bin").join("gunicorn"));
        cmd.args(["--workers", "2", "--timeout", "120", "--bind"])
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--chdir")
            .arg(&self.minitwit_dir)
            .arg("wsgi:app")
            .env(
                "MINITWIT_DB",
                self.work_dir.join(format!("minitwit-{folder}.db")),
            )
            .env("MINITWIT_SEED", &self.seed)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let mut child = OwnedChild::spawn(format!("gunicorn ({label})"), cmd)
            .with_context(|| format!("starting gunicorn from {}", venv.display()))?;
        let addr: SocketAddr = ([127, 0, 0, 1], self.port).into();
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(status) = child.exited() {
                bail!(
                    "gunicorn for {label} exited ({status}) before answering; last lines of {}:\n{}",
                    log_path.display(),
                    tail(&log_path, 15)
                );
            }
            // Any HTTP answer means gunicorn serves; the database is created by the reset
            // that precedes every run (a fresh one has no tables yet, so pages may be 500).
            if http_status(addr, "/public").is_ok() {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "gunicorn for {label} did not answer on {addr} within 90 s; see {}",
                    log_path.display()
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
        if let Some(p) = &self.pid_file {
            let mut f = records::AtomicFile::create(p)?;
            writeln!(f, "{}", child.pid())?;
            f.commit()
                .with_context(|| format!("writing {}", p.display()))?;
        }
        eprintln!(
            "experiment: MiniTwit runs under {label} (gunicorn pid {}) on {addr}",
            child.pid()
        );
        self.child = Some(child);
        self.current = Some(label.to_owned());
        Ok(())
    }
}

impl Server for LocalServer {
    fn ensure(&mut self, label: &str) -> Result<bool> {
        let alive = self.child.as_mut().is_some_and(|c| c.exited().is_none());
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

    fn stop(&mut self) -> Result<()> {
        if let Some(mut c) = self.child.take() {
            c.stop(Duration::from_secs(10));
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

    fn stop(&mut self) -> Result<()> {
        if let Some(cur) = self.current.take() {
            run_template(&self.stop, &cur, "stopping the server")?;
        }
        Ok(())
    }
}

/// A free TCP port on loopback.
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("finding a free loopback port")?;
    Ok(l.local_addr()?.port())
}

/// The status code of a plain `GET path` (HTTP/1.0, no redirects).
fn http_status(addr: SocketAddr, path: &str) -> Result<u16> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head)?;
    let text = std::str::from_utf8(&head[9..12])?;
    Ok(text.parse()?)
}

fn tail(path: &Path, n: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
