use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;

use crate::env::{root, venv};

/// A real MiniTwit served by real gunicorn on `127.0.0.1:<free port>`, started the one way
/// every launcher does ([`procs::MiniTwitLaunch`]: the study's `minitwit/gunicorn.conf.py`,
/// 2 workers, 120 s timeout), with a database file of its own in a temporary directory
/// (`MINITWIT_DB`) and the seed SQL of your choice (`MINITWIT_SEED`).
///
/// gunicorn runs in a process group of its own; dropping the guard sends that group SIGTERM,
/// waits up to 10 s, then SIGKILL, so no worker outlives the test. It only ever signals the
/// group it started.
pub struct MiniTwit {
    // Declared first, so gunicorn is stopped before its directory goes.
    server: procs::MiniTwit,
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
        self.server.url()
    }

    /// The port gunicorn listens on.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// The PID of the gunicorn master (also the ID of its process group).
    pub fn pid(&self) -> u32 {
        self.server.pid()
    }

    /// The SQLite file MiniTwit uses (`MINITWIT_DB`); it may not exist before `/cleardb`.
    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("minitwit.db")
    }

    /// gunicorn's combined stdout and stderr so far, for failure messages.
    pub fn log(&self) -> String {
        read_lossy(self.server.log())
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
        let dir = tempfile::Builder::new()
            .prefix("testkit-minitwit-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        let mut launch = procs::MiniTwitLaunch::new(
            venv(),
            root().join("minitwit"),
            0,
            dir.path().join("minitwit.db"),
            dir.path().join("gunicorn.log"),
        )
        .startup_timeout(self.startup);
        if self.workers != 2 {
            launch = launch.workers(self.workers);
        }
        if let Some(seed) = &self.seed {
            launch = launch.seed(seed);
        }
        for (k, v) in &self.env {
            launch = launch.env(k, v);
        }
        let server = match launch.start(&procs::Interrupt::new()) {
            Ok(s) => s,
            Err(procs::MiniTwitError::NotReady(e)) => panic!(
                "{e}\n--- gunicorn's log:\n{}",
                read_lossy(&dir.path().join("gunicorn.log"))
            ),
            Err(e) => panic!("{e} (create the venv with `make venv`)"),
        };
        MiniTwit { server, dir }
    }
}

fn read_lossy(path: &Path) -> String {
    let mut raw = Vec::new();
    match File::open(path).and_then(|mut f| f.read_to_end(&mut raw)) {
        Ok(_) => String::from_utf8_lossy(&raw).into_owned(),
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}
