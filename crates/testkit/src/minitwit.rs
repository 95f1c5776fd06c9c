use std::fs::File;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{kill_process_group, Pid, Signal};
use tempfile::TempDir;

use crate::env::{free_port, root, venv};
use crate::http::http_get;

/// A real MiniTwit served by real gunicorn on `127.0.0.1:<free port>`, with the study's
/// flags (`--workers 2 --timeout 120`), a database file of its own in a temporary directory
/// (`MINITWIT_DB`) and the seed SQL of your choice (`MINITWIT_SEED`).
///
/// gunicorn runs in a process group of its own; dropping the guard sends that group SIGTERM,
/// waits up to 10 s, then SIGKILL, so no worker outlives the test. It only ever signals the
/// group it started.
pub struct MiniTwit {
    child: Child,
    port: u16,
    dir: TempDir,
}

/// Options for [`MiniTwit`]; get one from [`MiniTwit::builder`].
#[derive(Debug, Clone)]
pub struct MiniTwitBuilder {
    seed: Option<PathBuf>,
    workers: u32,
    env: Vec<(String, String)>,
    startup: Duration,
}

impl MiniTwit {
    /// The default options: no seed (MiniTwit's default), 2 workers, 60 s to start.
    pub fn builder() -> MiniTwitBuilder {
        MiniTwitBuilder {
            seed: None,
            workers: 2,
            env: Vec::new(),
            startup: Duration::from_secs(60),
        }
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port gunicorn listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The PID of the gunicorn master (also the ID of its process group).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The SQLite file MiniTwit uses (`MINITWIT_DB`); it may not exist before `/cleardb`.
    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("minitwit.db")
    }

    /// gunicorn's combined stdout and stderr so far, for failure messages.
    pub fn log(&self) -> String {
        read_lossy(&self.dir.path().join("gunicorn.log"))
    }
}

impl MiniTwitBuilder {
    /// The seed SQL that `/cleardb` loads (`MINITWIT_SEED`).
    pub fn seed(mut self, path: impl AsRef<Path>) -> Self {
        self.seed = Some(path.as_ref().to_path_buf());
        self
    }

    /// Number of gunicorn workers (the study used 2).
    pub fn workers(mut self, workers: u32) -> Self {
        self.workers = workers;
        self
    }

    /// An extra environment variable for MiniTwit (e.g. `MINITWIT_DEBUG=0`).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// How long to wait for the first HTTP answer before giving up (default 60 s).
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup = timeout;
        self
    }

    /// Starts gunicorn and waits until it answers HTTP. Panics, with gunicorn's log, if it
    /// exits or does not answer in time.
    pub fn start(self) -> MiniTwit {
        let gunicorn = venv().join("bin/gunicorn");
        assert!(
            gunicorn.is_file(),
            "{} does not exist: create the venv with `make venv`",
            gunicorn.display()
        );
        let app_dir = root().join("minitwit");
        let dir = tempfile::Builder::new()
            .prefix("testkit-minitwit-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        let log_path = dir.path().join("gunicorn.log");
        let log = File::create(&log_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log_path.display()));
        let log2 = log
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot duplicate {}: {e}", log_path.display()));
        let port = free_port();
        let mut cmd = Command::new(&gunicorn);
        cmd.args(["--workers", &self.workers.to_string(), "--timeout", "120"])
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .arg("--chdir")
            .arg(&app_dir)
            .arg("wsgi:app")
            .env("MINITWIT_DB", dir.path().join("minitwit.db"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .process_group(0);
        if let Some(seed) = &self.seed {
            cmd.env("MINITWIT_SEED", seed);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", gunicorn.display()));
        let mut server = MiniTwit { child, port, dir };
        server.wait_ready(self.startup);
        server
    }
}

impl MiniTwit {
    fn wait_ready(&mut self, timeout: Duration) {
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "gunicorn exited ({status}) before answering on port {}:\n{}",
                    self.port,
                    self.log()
                );
            }
            // Any HTTP answer will do: the database may not exist before /cleardb.
            if http_get(&format!("{}/public", self.base_url())).is_ok() {
                return;
            }
            if started.elapsed() > timeout {
                panic!(
                    "gunicorn did not answer on port {} within {timeout:?}:\n{}",
                    self.port,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for MiniTwit {
    fn drop(&mut self) {
        let Some(pgid) = i32::try_from(self.child.id()).ok().and_then(Pid::from_raw) else {
            return;
        };
        if !matches!(self.child.try_wait(), Ok(None)) {
            // The master is gone; make sure no orphaned worker of its group is left.
            let _ = kill_process_group(pgid, Signal::KILL);
            return;
        }
        let _ = kill_process_group(pgid, Signal::TERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = kill_process_group(pgid, Signal::KILL);
        let _ = self.child.wait();
    }
}

fn read_lossy(path: &Path) -> String {
    let mut raw = Vec::new();
    match File::open(path).and_then(|mut f| f.read_to_end(&mut raw)) {
        Ok(_) => String::from_utf8_lossy(&raw).into_owned(),
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}
