//! MiniTwit under gunicorn, started the one way the study does: the settings from
//! `minitwit/gunicorn.conf.py`, only the address and the files per launch.

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::ready::{wait_http, NotReady};
use crate::{free_port, Interrupt, OwnedChild, Priority};

/// gunicorn's configuration file in the MiniTwit folder: workers, timeout, the app and its
/// folder, for every launcher.
pub const GUNICORN_CONF: &str = "gunicorn.conf.py";

/// The variable that overrides the number of workers `gunicorn.conf.py` sets (the study: 2).
pub const WORKERS_VAR: &str = "MINITWIT_WORKERS";

/// The variable that overrides the worker timeout in seconds `gunicorn.conf.py` sets (120).
pub const TIMEOUT_VAR: &str = "MINITWIT_TIMEOUT";

/// The page probed for readiness.
const PROBE_PATH: &str = "/public";

/// The command line that starts MiniTwit: `GUNICORN -c MINITWIT_DIR/gunicorn.conf.py --bind
/// BIND`. `gunicorn` is the venv's `bin/gunicorn`, `bind` e.g. `127.0.0.1:5000`. Everything
/// else is in the configuration file; the database and seed are MiniTwit's variables
/// (`MINITWIT_DB`, `MINITWIT_SEED`), the workers and timeout may be overridden by
/// [`WORKERS_VAR`] and [`TIMEOUT_VAR`]. For a command run over SSH, the paths are the remote
/// host's, and each argument converts losslessly with `to_string_lossy` when they were `str`.
pub fn gunicorn_argv(gunicorn: &Path, minitwit_dir: &Path, bind: &str) -> Vec<OsString> {
    vec![
        gunicorn.into(),
        "-c".into(),
        minitwit_dir.join(GUNICORN_CONF).into(),
        "--bind".into(),
        bind.into(),
    ]
}

/// Why MiniTwit did not start.
#[derive(Debug, thiserror::Error)]
pub enum MiniTwitError {
    /// The venv has no gunicorn.
    #[error("{0}: not found (create the venv with MiniTwit's requirements first)")]
    NoGunicorn(String),
    /// The folder is not MiniTwit's.
    #[error("{0}: not found (is this the minitwit/ folder?)")]
    NoConfig(String),
    /// A file or the process could not be made.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The cause.
        source: io::Error,
    },
    /// gunicorn started but never answered.
    #[error(transparent)]
    NotReady(#[from] NotReady),
}

/// How to start one MiniTwit on 127.0.0.1: the venv, the folder, the port, the database, the
/// log. Relative paths are made absolute first (gunicorn changes into the MiniTwit folder).
#[derive(Clone, Debug)]
pub struct MiniTwitLaunch {
    name: String,
    venv: PathBuf,
    minitwit_dir: PathBuf,
    port: u16,
    db: PathBuf,
    seed: Option<PathBuf>,
    log: PathBuf,
    workers: Option<u32>,
    env: Vec<(OsString, OsString)>,
    startup: Duration,
    priority: Priority,
}

impl MiniTwitLaunch {
    /// MiniTwit from `minitwit_dir` under `venv/bin/gunicorn` on `127.0.0.1:port` (0: a free
    /// port), with its database in `db` and gunicorn's output in `log`. By default it is named
    /// `gunicorn` in messages, keeps MiniTwit's default seed, and gets 90 s to answer.
    pub fn new(
        venv: impl Into<PathBuf>,
        minitwit_dir: impl Into<PathBuf>,
        port: u16,
        db: impl Into<PathBuf>,
        log: impl Into<PathBuf>,
    ) -> MiniTwitLaunch {
        MiniTwitLaunch {
            name: "gunicorn".into(),
            venv: venv.into(),
            minitwit_dir: minitwit_dir.into(),
            port,
            db: db.into(),
            seed: None,
            log: log.into(),
            workers: None,
            env: Vec::new(),
            startup: Duration::from_secs(90),
            priority: Priority::Default,
        }
    }

    /// The name in messages, e.g. `gunicorn (3.11)`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The seed SQL that `/cleardb` loads (`MINITWIT_SEED`).
    pub fn seed(mut self, seed: impl Into<PathBuf>) -> Self {
        self.seed = Some(seed.into());
        self
    }

    /// Another number of workers than the study's 2 ([`WORKERS_VAR`]).
    pub fn workers(mut self, workers: u32) -> Self {
        self.workers = Some(workers);
        self
    }

    /// An extra environment variable for gunicorn and MiniTwit.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// How gunicorn and its workers are scheduled (default: as the study ran them).
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// How long to wait for the first HTTP answer (default 90 s).
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup = timeout;
        self
    }

    /// Starts gunicorn in its own process group and waits until MiniTwit gives any HTTP answer
    /// on `/public` (a fresh database has no tables before `/cleardb`: 500 counts). On failure
    /// the group is stopped; the error names the log and, if gunicorn exited, quotes it.
    pub fn start(&self, interrupt: &Interrupt) -> Result<MiniTwit, MiniTwitError> {
        let abs = |p: &Path| {
            std::path::absolute(p).map_err(|source| MiniTwitError::Io {
                what: p.display().to_string(),
                source,
            })
        };
        let gunicorn = abs(&self.venv.join("bin").join("gunicorn"))?;
        if !gunicorn.is_file() {
            return Err(MiniTwitError::NoGunicorn(gunicorn.display().to_string()));
        }
        let dir = abs(&self.minitwit_dir)?;
        if !dir.join(GUNICORN_CONF).is_file() {
            return Err(MiniTwitError::NoConfig(
                dir.join(GUNICORN_CONF).display().to_string(),
            ));
        }
        let port = match self.port {
            0 => free_port().map_err(|source| MiniTwitError::Io {
                what: "finding a free loopback port".into(),
                source,
            })?,
            p => p,
        };
        let argv = self
            .priority
            .wrap(gunicorn_argv(&gunicorn, &dir, &format!("127.0.0.1:{port}")));
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).env("MINITWIT_DB", abs(&self.db)?);
        if let Some(seed) = &self.seed {
            cmd.env("MINITWIT_SEED", abs(seed)?);
        }
        if let Some(w) = self.workers {
            cmd.env(WORKERS_VAR, w.to_string());
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        let log = abs(&self.log)?;
        let mut child = OwnedChild::spawn_logged(&self.name, cmd, &log).map_err(|source| {
            MiniTwitError::Io {
                what: format!("starting {}", gunicorn.display()),
                source,
            }
        })?;
        let url = format!("http://127.0.0.1:{port}");
        wait_http(
            &mut child,
            &format!("{url}{PROBE_PATH}"),
            self.startup,
            interrupt,
        )?;
        Ok(MiniTwit { child, port, log })
    }
}

/// A MiniTwit that answers, owned: stopped (its whole process group) on [`MiniTwit::stop`] or
/// drop.
#[derive(Debug)]
pub struct MiniTwit {
    child: OwnedChild,
    port: u16,
    log: PathBuf,
}

impl MiniTwit {
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port gunicorn listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The gunicorn master's PID (also its process group's ID); 0 once stopped.
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// gunicorn's log file.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Whether the gunicorn master still runs.
    pub fn is_running(&mut self) -> bool {
        self.child.is_running()
    }

    /// Stops gunicorn: SIGTERM to the group, SIGKILL after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        self.child.stop(grace);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_argv_names_the_configuration_and_the_address_only() {
        let argv = gunicorn_argv(
            Path::new("/srv/venv/bin/gunicorn"),
            Path::new("/srv/minitwit"),
            "0.0.0.0:5000",
        );
        let words: Vec<String> = argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            words,
            [
                "/srv/venv/bin/gunicorn",
                "-c",
                "/srv/minitwit/gunicorn.conf.py",
                "--bind",
                "0.0.0.0:5000"
            ]
        );
    }

    #[test]
    fn missing_pieces_are_named() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let launch = MiniTwitLaunch::new(
            dir.path().join("venv"),
            dir.path(),
            0,
            dir.path().join("db"),
            dir.path().join("log"),
        );
        let err = launch.start(&Interrupt::new()).err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("venv/bin/gunicorn: not found")),
            "{err:?}"
        );
    }
}
