//! The subcommands that work over SSH: `check`, `provision`, `deploy`, `server`, `clients`,
//! `trust`. Every host runs in its own thread; its output lines are prefixed with its name;
//! one host failing does not stop the others, and every host's result is reported.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::inventory::{Become, Host, Install, Interpreter, Inventory, Role};
use crate::ssh::{self, sh_quote, RunOpts, SshConfig, SshError, SshTransport, Transport};

/// A failure on one host.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// Connecting, verifying or talking SSH failed.
    #[error(transparent)]
    Ssh(#[from] SshError),
    /// A remote step exited non-zero.
    #[error("step `{step}` failed with exit status {status}; last lines of its output:\n{last}")]
    Step {
        /// The step.
        step: String,
        /// Its exit status.
        status: i32,
        /// Its last output lines, indented.
        last: String,
    },
    /// A controller-side file could not be read.
    #[error("reading {path} on the controller: {source}")]
    Local {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An upload failed (a full disk shows up here, with the free space found).
    #[error("writing {dest}: {source}{}", .free_kib.as_ref().map(|f| format!(" ({f} KiB free in its directory on the host)")).unwrap_or_default())]
    Upload {
        /// The remote file.
        dest: String,
        /// What failed.
        source: Box<SshError>,
        /// Free space in the file's directory, when `df` could tell.
        free_kib: Option<String>,
    },
    /// Anything else, with a message that says what to do.
    #[error("{0}")]
    Other(String),
}

/// Each host's result, in inventory order.
pub type HostResults<T> = Vec<(String, Result<T, OpError>)>;

/// Settings shared by every subcommand.
#[derive(Debug, Clone)]
pub struct Env {
    /// The validated inventory.
    pub inventory: Inventory,
    /// Where the `shell/` scripts are on the controller (needed by `provision` and `deploy`
    /// only, which upload them).
    pub shell_dir: Option<PathBuf>,
    /// Root password for `become = "su"`, from the environment or a prompt; never logged.
    pub root_password: Option<String>,
}

impl Env {
    fn ssh_config(&self) -> SshConfig {
        SshConfig {
            known_hosts: self.inventory.known_hosts.clone(),
            identity: self.inventory.identity.clone(),
            connect_timeout: Duration::from_secs(u64::from(self.inventory.connect_timeout_s)),
            keepalive_s: self.inventory.keepalive_s,
        }
    }

    fn connect(&self, host: &Host) -> Result<SshTransport, SshError> {
        SshTransport::connect(&host.address, host.ssh_port, &host.user, &self.ssh_config())
    }

    /// The hosts with `role`, or all.
    pub fn hosts(&self, role: Option<Role>) -> Vec<&Host> {
        self.inventory
            .hosts
            .iter()
            .filter(|h| role.is_none_or(|r| h.role == r))
            .collect()
    }

    fn server(&self) -> Result<&Host, OpError> {
        self.inventory.server().ok_or_else(|| {
            OpError::Other("the inventory has no host with role = \"server\"".into())
        })
    }
}

/// Serialises progress lines from all host threads onto stderr, prefixed with the host name.
pub struct Log {
    out: Mutex<Box<dyn Write + Send>>,
    width: usize,
}

impl Log {
    /// A log on stderr, padding host names to `width`.
    pub fn stderr(width: usize) -> Self {
        Self::new(Box::new(std::io::stderr()), width)
    }

    /// A log on any writer (tests).
    pub fn new(out: Box<dyn Write + Send>, width: usize) -> Self {
        Self {
            out: Mutex::new(out),
            width,
        }
    }

    /// Writes one line for `host`.
    pub fn line(&self, host: &str, text: &str) {
        if let Ok(mut out) = self.out.lock() {
            // Progress is best effort: a closed stderr must not fail the provisioning.
            let _ = writeln!(out, "{host:>w$} | {text}", w = self.width);
        }
    }
}

/// Runs `f` for every host in parallel and collects each host's result in order.
pub fn for_hosts<T: Send>(
    hosts: &[&Host],
    f: impl Fn(&Host) -> Result<T, OpError> + Sync,
) -> HostResults<T> {
    std::thread::scope(|s| {
        let handles: Vec<_> = hosts
            .iter()
            .map(|h| {
                let f = &f;
                (h.name.clone(), s.spawn(move || f(h)))
            })
            .collect();
        handles
            .into_iter()
            .map(|(name, handle)| {
                let r = handle.join().unwrap_or_else(|_| {
                    Err(OpError::Other(
                        "internal error: the host's worker panicked".into(),
                    ))
                });
                (name, r)
            })
            .collect()
    })
}

/// Runs one remote step, streaming its output to the log; a non-zero exit becomes
/// [`OpError::Step`] with the last lines.
fn step(
    t: &mut dyn Transport,
    log: &Log,
    host: &Host,
    name: &str,
    cmd: &str,
    password: Option<&str>,
) -> Result<Vec<String>, OpError> {
    log.line(&host.name, &format!("==> {name}"));
    let mut lines: Vec<String> = Vec::new();
    let status = t.run(cmd, &RunOpts { password }, &mut |l| {
        log.line(&host.name, l);
        lines.push(l.to_string());
    })?;
    if status != 0 {
        let start = lines.len().saturating_sub(15);
        let last = lines[start..]
            .iter()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n");
        return Err(OpError::Step {
            step: name.into(),
            status,
            last,
        });
    }
    Ok(lines)
}

/// Runs a command quietly and returns its output lines (for probes).
fn probe(t: &mut dyn Transport, cmd: &str) -> Result<(i32, Vec<String>), OpError> {
    let mut lines = Vec::new();
    let status = t.run(cmd, &RunOpts::default(), &mut |l| lines.push(l.to_string()))?;
    Ok((status, lines))
}

/// The shell word for an interpreter command on the host: `~/x` becomes `"$HOME"/x`.
fn remote_command(cmd: &str) -> String {
    match cmd.strip_prefix("~/") {
        Some(rest) => format!("\"$HOME\"/{}", sh_quote(rest)),
        None => sh_quote(cmd),
    }
}

fn interpreters_arg(interps: &[Interpreter]) -> String {
    let install = |i: Install| match i {
        Install::Pkg => "pkg",
        Install::Pyenv => "pyenv",
        Install::Apt => "apt",
        Install::System => "system",
    };
    interps
        .iter()
        .map(|i| {
            format!(
                "{}:{}:{}:{}",
                i.version,
                install(i.install),
                if i.package.is_empty() {
                    "-"
                } else {
                    &i.package
                },
                i.command
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `check`: what one host looks like.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// Host name.
    pub host: String,
    /// `address:port`.
    pub address: String,
    /// `uname -srm` output.
    pub os: String,
    /// Version label → `python --version` output, or null when the command is missing.
    pub interpreters: BTreeMap<String, Option<String>>,
}

/// `check`: connects to every host (verifying its key), reports OS and interpreters.
pub fn check(env: &Env, log: &Log) -> HostResults<CheckReport> {
    let hosts = env.hosts(None);
    for_hosts(&hosts, |host| {
        let mut t = env.connect(host)?;
        log.line(&host.name, "reachable, host key verified, authenticated");
        let (_, os) = probe(&mut t, "uname -srm")?;
        let os = os.join(" ");
        log.line(&host.name, &format!("os: {os}"));
        // The profile decides which scripts run: a mismatch would fail later and obscurely.
        let kernel = match host.os {
            crate::inventory::OsProfile::Freebsd => "FreeBSD",
            crate::inventory::OsProfile::Debian => "Linux",
        };
        if !os.starts_with(kernel) {
            return Err(OpError::Other(format!(
                "the host runs {os}, but the inventory says os = \"{}\" (expects {kernel}): fix `os` for host {}",
                host.os.as_str(),
                host.name
            )));
        }
        let mut interpreters = BTreeMap::new();
        for i in &env.inventory.interpreters {
            // No `2>&1`: the login shell may be csh, and the transport merges stderr anyway
            // (Python 2 printed its version on stderr).
            let cmd = format!("{} --version", remote_command(&i.command));
            let (status, out) = probe(&mut t, &cmd)?;
            let v = (status == 0).then(|| out.join(" ").trim().to_string());
            log.line(
                &host.name,
                &format!(
                    "interpreter {}: {}",
                    i.version,
                    v.as_deref().unwrap_or("missing")
                ),
            );
            interpreters.insert(i.version.clone(), v);
        }
        Ok(CheckReport {
            host: host.name.clone(),
            address: format!("{}:{}", host.address, host.ssh_port),
            os,
            interpreters,
        })
    })
}

/// Uploads every regular file under `local` to `remote`, keeping relative paths and
/// executable bits; skips `__pycache__`, dot-files and files whose size already matches when
/// `skip_same_size`.
fn upload_tree(
    t: &mut dyn Transport,
    local: &Path,
    remote: &str,
    skip_same_size: bool,
) -> Result<usize, OpError> {
    let mut files = Vec::new();
    collect_files(local, Path::new(""), &mut files)?;
    t.mkdir_p(remote)?;
    let mut made = std::collections::BTreeSet::new();
    let mut sent = 0;
    for rel in files {
        let src = local.join(&rel);
        let dest = format!("{remote}/{}", rel.to_string_lossy());
        if let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) {
            if made.insert(parent.to_path_buf()) {
                t.mkdir_p(&format!("{remote}/{}", parent.to_string_lossy()))?;
            }
        }
        let meta = fs::metadata(&src).map_err(|source| OpError::Local {
            path: src.clone(),
            source,
        })?;
        if skip_same_size && t.size(&dest) == Some(meta.len()) {
            continue;
        }
        upload_file(t, &src, &dest)?;
        sent += 1;
    }
    Ok(sent)
}

fn upload_file(t: &mut dyn Transport, src: &Path, dest: &str) -> Result<(), OpError> {
    use std::os::unix::fs::PermissionsExt;
    let mut f = fs::File::open(src).map_err(|source| OpError::Local {
        path: src.into(),
        source,
    })?;
    let mode = f
        .metadata()
        .map(|m| {
            if m.permissions().mode() & 0o111 != 0 {
                0o755
            } else {
                0o644
            }
        })
        .unwrap_or(0o644);
    if let Err(source) = t.put(dest, &mut f, mode) {
        if matches!(
            source,
            SshError::Connect { .. } | SshError::Handshake { .. }
        ) {
            return Err(source.into());
        }
        let dir = dest.rsplit_once('/').map_or(".", |(d, _)| d);
        let free_kib = probe(t, &format!("df -Pk {}", sh_quote(dir)))
            .ok()
            .filter(|(status, _)| *status == 0)
            .and_then(|(_, lines)| {
                lines
                    .get(1)
                    .and_then(|l| l.split_whitespace().nth(3))
                    .map(str::to_string)
            });
        return Err(OpError::Upload {
            dest: dest.into(),
            source: Box::new(source),
            free_kib,
        });
    }
    Ok(())
}

fn collect_files(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> Result<(), OpError> {
    let dir = root.join(rel);
    let entries = fs::read_dir(&dir).map_err(|source| OpError::Local {
        path: dir.clone(),
        source,
    })?;
    let mut names: Vec<_> = entries.filter_map(Result::ok).collect();
    names.sort_by_key(|e| e.file_name());
    for e in names {
        let name = e.file_name();
        let s = name.to_string_lossy();
        if s.starts_with('.') || s == "__pycache__" || s.ends_with(".pyc") {
            continue;
        }
        let path = rel.join(&name);
        let ft = e.file_type().map_err(|source| OpError::Local {
            path: dir.join(&name),
            source,
        })?;
        if ft.is_dir() {
            collect_files(root, &path, out)?;
        } else if ft.is_file() || ft.is_symlink() {
            out.push(path);
        }
    }
    Ok(())
}

fn become_wrap(host: &Host, cmd: &str) -> String {
    match host.become_ {
        Become::None => cmd.to_string(),
        Become::Su => format!("su -l root -c {}", sh_quote(cmd)),
        Become::Sudo => format!("sudo -n sh -c {}", sh_quote(cmd)),
        Become::Doas => format!("doas -n sh -c {}", sh_quote(cmd)),
    }
}

fn script_env(env: &Env, host: &Host) -> String {
    format!(
        "env CPE_BASE={} CPE_ROLE={} CPE_USER={} CPE_INTERPRETERS={}",
        sh_quote(&host.base),
        host.role.as_str(),
        sh_quote(&host.user),
        sh_quote(&interpreters_arg(&env.inventory.interpreters)),
    )
}

/// Uploads `shell/` to `BASE/shell` (the scripts every other step runs).
fn upload_scripts(env: &Env, t: &mut dyn Transport, log: &Log, host: &Host) -> Result<(), OpError> {
    log.line(
        &host.name,
        &format!("==> upload scripts to {}/shell", host.base),
    );
    let Some(dir) = &env.shell_dir else {
        return Err(OpError::Local {
            path: PathBuf::from("shell/"),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the scripts' folder was not given (--shell-dir)",
            ),
        });
    };
    let n = upload_tree(t, dir, &format!("{}/shell", host.base), false)?;
    log.line(&host.name, &format!("uploaded {n} file(s)"));
    Ok(())
}

/// `provision`: uploads the scripts and runs the root part, then the user part.
pub fn provision(env: &Env, role: Option<Role>, log: &Log) -> HostResults<()> {
    let hosts = env.hosts(role);
    for_hosts(&hosts, |host| {
        let mut t = env.connect(host)?;
        if host.become_ == Become::Su && env.root_password.is_none() {
            return Err(OpError::Other(format!(
                "host {} becomes root with su: set PI_PROVISION_ROOT_PASSWORD or run from a terminal to be asked",
                host.name
            )));
        }
        // The scripts directory must exist before root can run anything from it.
        t.mkdir_p(&host.base).map_err(|e| match e {
            SshError::Session { op, source } => OpError::Other(format!(
                "{op}: {source} (create {} on the host, or set `base` in the inventory to a directory {} may write)",
                host.base, host.user
            )),
            other => other.into(),
        })?;
        upload_scripts(env, &mut t, log, host)?;
        let profile = host.os.as_str();
        let vars = script_env(env, host);
        let root_cmd = become_wrap(
            host,
            &format!("{vars} sh {}/shell/{profile}/root.sh", sh_quote(&host.base)),
        );
        step(
            &mut t,
            log,
            host,
            &format!("root part (shell/{profile}/root.sh)"),
            &root_cmd,
            env.root_password
                .as_deref()
                .filter(|_| host.become_ == Become::Su),
        )?;
        let user_cmd = format!("{vars} sh {}/shell/{profile}/user.sh", sh_quote(&host.base));
        step(
            &mut t,
            log,
            host,
            &format!("user part (shell/{profile}/user.sh)"),
            &user_cmd,
            None,
        )?;
        Ok(())
    })
}

/// `deploy`: MiniTwit, the seed SQL and the wheelhouse to the server, then one venv per
/// interpreter installed offline from the wheelhouse; with `agent`, that local program (a
/// `minitwit-load` built for the clients) to the `[clients] agent` path of every client.
pub fn deploy(env: &Env, agent: Option<&Path>, log: &Log) -> HostResults<()> {
    let server = match env.server() {
        Ok(s) => s,
        Err(e) => return vec![("server".into(), Err(e))],
    };
    let mut hosts = vec![server];
    if let Some(agent) = agent {
        if !agent.is_file() {
            return vec![(
                "clients".into(),
                Err(OpError::Other(format!(
                    "agent program {} does not exist on the controller",
                    agent.display()
                ))),
            )];
        }
        hosts.extend(env.hosts(Some(Role::Client)));
    }
    let mt = &env.inventory.minitwit;
    for_hosts(&hosts, |host| {
        if host.role == Role::Client {
            let Some(agent) = agent else {
                return Ok(());
            };
            let mut t = env.connect(host)?;
            let dest = agent_path(env, &mut t, host)?;
            log.line(&host.name, &format!("==> upload the load agent to {dest}"));
            if let Some((dir, _)) = dest.rsplit_once('/') {
                t.mkdir_p(dir)?;
            }
            upload_file(&mut t, agent, &dest)?;
            let (status, _) = probe(&mut t, &format!("test -x {}", sh_quote(&dest)))?;
            if status != 0 {
                return Err(OpError::Other(format!(
                    "{dest} on {} is not executable",
                    host.name
                )));
            }
            log.line(&host.name, "uploaded");
            return Ok(());
        }
        for (what, path) in [
            ("MiniTwit source", &mt.source),
            ("wheelhouse", &mt.wheelhouse),
        ] {
            if !path.is_dir() {
                return Err(OpError::Other(format!(
                    "{what} directory {} does not exist on the controller{}",
                    path.display(),
                    if what == "wheelhouse" {
                        " (build it with `pi-provision wheelhouse`)"
                    } else {
                        ""
                    }
                )));
            }
        }
        if !mt.seed_sql.is_file() {
            return Err(OpError::Other(format!(
                "seed SQL {} does not exist on the controller (make it with `minitwit-load seed > {}`)",
                mt.seed_sql.display(),
                mt.seed_sql.display()
            )));
        }
        let mut t = env.connect(host)?;
        upload_scripts(env, &mut t, log, host)?;
        log.line(&host.name, "==> upload MiniTwit");
        let dir = format!("{}/minitwit", host.base);
        let n = upload_tree(&mut t, &mt.source, &dir, false)?;
        upload_file(&mut t, &mt.seed_sql, &format!("{dir}/seed.sql"))?;
        log.line(&host.name, &format!("uploaded {} file(s) and seed.sql", n));
        log.line(&host.name, "==> upload wheelhouse");
        let n = upload_tree(
            &mut t,
            &mt.wheelhouse,
            &format!("{}/wheelhouse", host.base),
            true,
        )?;
        log.line(&host.name, &format!("uploaded {n} new wheel(s)"));
        for i in &env.inventory.interpreters {
            let cmd = format!(
                "env CPE_BASE={} sh {}/shell/venv.sh {} {} {}",
                sh_quote(&host.base),
                sh_quote(&host.base),
                sh_quote(&i.version),
                remote_command(&i.command),
                sh_quote(&i.venv)
            );
            step(
                &mut t,
                log,
                host,
                &format!("venv {} ({})", i.venv, i.version),
                &cmd,
                None,
            )?;
        }
        Ok(())
    })
}

/// What `server status` reports.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServerStatus {
    /// Host name.
    pub host: String,
    /// Whether gunicorn is running.
    pub running: bool,
    /// PID of the gunicorn master.
    pub pid: Option<u32>,
    /// The venv it runs in.
    pub venv: Option<String>,
    /// `CPython 3.12.1` or `PyPy 3.10.14`.
    pub interpreter: Option<String>,
    /// Seconds since it was started.
    pub uptime_s: Option<u64>,
    /// `http://address:port/`.
    pub url: String,
}

fn daemon_cmd(host: &Host, args: &[String]) -> String {
    let mut cmd = format!(
        "env CPE_BASE={} sh {}/shell/daemon.sh",
        sh_quote(&host.base),
        sh_quote(&host.base)
    );
    for a in args {
        cmd.push(' ');
        cmd.push_str(&sh_quote(a));
    }
    cmd
}

fn parse_kv(lines: &[String]) -> BTreeMap<String, String> {
    lines
        .iter()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Starts gunicorn with `version`'s venv on the server and waits until MiniTwit answers.
pub fn server_start(
    env: &Env,
    version: &str,
    wait: Duration,
    log: &Log,
) -> HostResults<ServerStatus> {
    let server = match env.server() {
        Ok(s) => s,
        Err(e) => return vec![("server".into(), Err(e))],
    };
    let Some(interp) = env.inventory.interpreter(version) else {
        let known: Vec<&str> = env
            .inventory
            .interpreters
            .iter()
            .map(|i| i.version.as_str())
            .collect();
        return vec![(
            server.name.clone(),
            Err(OpError::Other(format!(
                "no interpreter {version} in the inventory (known: {})",
                known.join(", ")
            ))),
        )];
    };
    let mt = &env.inventory.minitwit;
    for_hosts(&[server], |host| {
        let mut t = env.connect(host)?;
        let venv = format!("{}/{}", host.base, interp.venv);
        let gunicorn = format!("{venv}/bin/gunicorn");
        let (present, _) = probe(&mut t, &format!("test -x {}", sh_quote(&gunicorn)))?;
        if present != 0 {
            return Err(OpError::Other(format!(
                "no {gunicorn} on {}: create the venv {} with `pi-provision deploy` first",
                host.name, interp.venv
            )));
        }
        // No database yet (or an empty file): MiniTwit will answer 500 until /cleardb has
        // loaded the schema and the seed. An existing database is never reset here.
        let db = format!("{}/run/minitwit.db", host.base);
        let (has_db, _) = probe(&mut t, &format!("test -s {}", sh_quote(&db)))?;
        let mut needs_seed = has_db != 0;
        let args = vec![
            "start".into(),
            "minitwit".into(),
            gunicorn.clone(),
            "--".into(),
            "env".into(),
            format!("MINITWIT_DB={db}"),
            format!("MINITWIT_SEED={}/minitwit/seed.sql", host.base),
            gunicorn,
            "--workers".into(),
            mt.workers.to_string(),
            "--timeout".into(),
            mt.timeout_s.to_string(),
            "--bind".into(),
            format!("0.0.0.0:{}", mt.port),
            "--chdir".into(),
            format!("{}/minitwit", host.base),
            "wsgi:app".into(),
        ];
        step(
            &mut t,
            log,
            host,
            &format!("start gunicorn in {}", interp.venv),
            &daemon_cmd(host, &args),
            None,
        )?;
        let url_host = if host.address.contains(':') {
            format!("[{}]", host.address)
        } else {
            host.address.clone()
        };
        let deadline = Instant::now() + wait;
        log.line(
            &host.name,
            &format!("==> waiting for http://{url_host}:{}/public", mt.port),
        );
        loop {
            let got = http_status(&host.address, mt.port, "/public");
            match got {
                Ok(200) => break,
                // It answers, but the fresh database has no tables yet: load the schema and the
                // seed once through MiniTwit's own experiment hook.
                Ok(500) if needs_seed => {
                    log.line(
                        &host.name,
                        "new database: loading the schema and seed via /cleardb",
                    );
                    needs_seed = false;
                    let _ = http_status(&host.address, mt.port, "/cleardb");
                }
                Ok(_) | Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(250))
                }
                other => {
                    let (_, tail) = probe(
                        &mut t,
                        &format!("tail -n 20 {}/log/minitwit.log", sh_quote(&host.base)),
                    )?;
                    return Err(OpError::Other(format!(
                        "MiniTwit did not answer 200 on http://{url_host}:{}/public within {}s (last: {}); last lines of {}/log/minitwit.log:\n{}",
                        mt.port,
                        wait.as_secs(),
                        match other { Ok(s) => format!("status {s}"), Err(e) => e.to_string() },
                        host.base,
                        tail.iter().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
                    )));
                }
            }
        }
        log.line(&host.name, "MiniTwit answers");
        status_of(env, &mut t, host)
    })
}

/// Stops the gunicorn recorded in the PID file (never by name).
pub fn server_stop(env: &Env, log: &Log) -> HostResults<()> {
    let server = match env.server() {
        Ok(s) => s,
        Err(e) => return vec![("server".into(), Err(e))],
    };
    for_hosts(&[server], |host| {
        let mut t = env.connect(host)?;
        step(
            &mut t,
            log,
            host,
            "stop gunicorn",
            &daemon_cmd(host, &["stop".into(), "minitwit".into()]),
            None,
        )?;
        Ok(())
    })
}

/// Reports whether gunicorn runs, with which interpreter, since when.
pub fn server_status(env: &Env) -> HostResults<ServerStatus> {
    let server = match env.server() {
        Ok(s) => s,
        Err(e) => return vec![("server".into(), Err(e))],
    };
    for_hosts(&[server], |host| {
        let mut t = env.connect(host)?;
        status_of(env, &mut t, host)
    })
}

fn status_of(env: &Env, t: &mut dyn Transport, host: &Host) -> Result<ServerStatus, OpError> {
    let (status, lines) = probe(t, &daemon_cmd(host, &["status".into(), "minitwit".into()]))?;
    if status != 0 && status != 3 {
        return Err(OpError::Step {
            step: "server status".into(),
            status,
            last: lines.join("\n"),
        });
    }
    let kv = parse_kv(&lines);
    let running = kv.get("running").is_some_and(|v| v == "yes");
    let program = kv.get("program").cloned();
    let venv_dir = program
        .as_deref()
        .and_then(|p| p.strip_suffix("/bin/gunicorn"))
        .map(str::to_string);
    let interpreter = match (&venv_dir, running) {
        (Some(dir), true) => {
            let cmd = format!(
                "{}/bin/python -c 'import platform; print(platform.python_implementation(), platform.python_version())'",
                sh_quote(dir)
            );
            let (st, out) = probe(t, &cmd)?;
            (st == 0).then(|| out.join(" ").trim().to_string())
        }
        _ => None,
    };
    let url_host = if host.address.contains(':') {
        format!("[{}]", host.address)
    } else {
        host.address.clone()
    };
    Ok(ServerStatus {
        host: host.name.clone(),
        running,
        pid: kv
            .get("pid")
            .and_then(|p| p.parse().ok())
            .filter(|_| running),
        venv: venv_dir
            .as_deref()
            .and_then(|d| d.rsplit('/').next())
            .map(str::to_string)
            .filter(|_| running),
        interpreter,
        uptime_s: kv
            .get("uptime_s")
            .and_then(|p| p.parse().ok())
            .filter(|_| running),
        url: format!("http://{url_host}:{}/", env.inventory.minitwit.port),
    })
}

/// `clients start|stop`: the load agent on every client host.
pub fn clients(env: &Env, start: bool, log: &Log) -> HostResults<()> {
    let hosts = env.hosts(Some(Role::Client));
    let c = &env.inventory.clients;
    for_hosts(&hosts, |host| {
        let mut t = env.connect(host)?;
        let agent = agent_path(env, &mut t, host)?;
        if start {
            let mut args = vec![
                "start".into(),
                "agent".into(),
                agent.clone(),
                "--".into(),
                agent,
            ];
            args.extend(c.agent_args.iter().map(|a| expand_agent_arg(env, host, a)));
            step(
                &mut t,
                log,
                host,
                "start the load agent",
                &daemon_cmd(host, &args),
                None,
            )?;
        } else {
            step(
                &mut t,
                log,
                host,
                "stop the load agent",
                &daemon_cmd(host, &["stop".into(), "agent".into()]),
                None,
            )?;
        }
        Ok(())
    })
}

/// Where the `[clients] agent` program is on `host`: absolute, under the user's home (`~/`)
/// or under the host's base.
fn agent_path(env: &Env, t: &mut dyn Transport, host: &Host) -> Result<String, OpError> {
    let agent = &env.inventory.clients.agent;
    Ok(if agent.starts_with('/') {
        agent.clone()
    } else if let Some(rest) = agent.strip_prefix("~/") {
        format!("{}/{rest}", home_of(t)?)
    } else {
        format!("{}/{}", host.base, agent)
    })
}

/// Fills `{server}` (the server's address), `{port}` (MiniTwit's port), `{base}` and `{host}`
/// (this client's base directory and name) into an agent argument.
fn expand_agent_arg(env: &Env, host: &Host, arg: &str) -> String {
    let server = env.inventory.server().map_or("", |s| s.address.as_str());
    arg.replace("{server}", server)
        .replace("{port}", &env.inventory.minitwit.port.to_string())
        .replace("{base}", &host.base)
        .replace("{host}", &host.name)
}

fn home_of(t: &mut dyn Transport) -> Result<String, OpError> {
    let (_, out) = probe(t, "printf '%s\\n' \"$HOME\"")?;
    out.into_iter()
        .next()
        .filter(|h| h.starts_with('/'))
        .ok_or_else(|| OpError::Other("cannot find the remote user's home directory".into()))
}

/// `trust`: records a host's key in known_hosts, only if its fingerprint is the one given
/// (read from the host's console), so a key is never accepted blind.
pub fn trust(env: &Env, host: &Host, expected: &str, log: &Log) -> Result<String, OpError> {
    let timeout = Duration::from_secs(u64::from(env.inventory.connect_timeout_s));
    let key = ssh::fetch_host_key(&host.address, host.ssh_port, timeout)?;
    if key.fingerprint != expected {
        return Err(OpError::Other(format!(
            "host {} ({}:{}) offers {} key {}, not the {} you gave; not trusting it",
            host.name, host.address, host.ssh_port, key.kind, key.fingerprint, expected
        )));
    }
    let line = key.known_hosts_line(&host.address, host.ssh_port);
    let path = &env.inventory.known_hosts;
    let existing = fs::read_to_string(path).unwrap_or_default();
    if existing.lines().any(|l| l.trim() == line) {
        log.line(
            &host.name,
            &format!("key {} already in {}", key.fingerprint, path.display()),
        );
        return Ok(line);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|source| OpError::Local {
            path: dir.into(),
            source,
        })?;
    }
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| OpError::Local {
            path: path.clone(),
            source,
        })?;
    let sep = if existing.is_empty() || existing.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    writeln!(f, "{sep}{line}").map_err(|source| OpError::Local {
        path: path.clone(),
        source,
    })?;
    log.line(
        &host.name,
        &format!(
            "added {} key {} to {}",
            key.kind,
            key.fingerprint,
            path.display()
        ),
    );
    Ok(line)
}

/// A minimal HTTP/1.0 GET: the status code only.
fn http_status(addr: &str, port: u16, path: &str) -> std::io::Result<u16> {
    use std::io::Read;
    use std::net::{TcpStream, ToSocketAddrs};
    let sa = (addr, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    let mut s = TcpStream::connect_timeout(&sa, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut head = [0u8; 32];
    let n = s.read(&mut head)?;
    let text = String::from_utf8_lossy(&head[..n]);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpreter_commands_expand_home_and_quote() {
        assert_eq!(
            remote_command("~/.pyenv/versions/3.8.20/bin/python"),
            "\"$HOME\"/'.pyenv/versions/3.8.20/bin/python'"
        );
        assert_eq!(remote_command("python3.11"), "'python3.11'");
    }

    #[test]
    fn become_wraps_the_whole_command() {
        let mut h = Host {
            name: "s".into(),
            address: "10.0.0.4".into(),
            ssh_port: 22,
            user: "freebsd".into(),
            role: Role::Server,
            os: crate::inventory::OsProfile::Freebsd,
            become_: Become::Su,
            base: "/b".into(),
            line: 1,
        };
        assert_eq!(
            become_wrap(&h, "env A=1 sh x"),
            "su -l root -c 'env A=1 sh x'"
        );
        h.become_ = Become::Sudo;
        assert_eq!(become_wrap(&h, "sh x"), "sudo -n sh -c 'sh x'");
        h.become_ = Become::None;
        assert_eq!(become_wrap(&h, "sh x"), "sh x");
    }

    #[test]
    fn status_lines_parse_as_key_values() {
        let kv = parse_kv(&["running=yes".into(), "pid=42".into(), "noise".into()]);
        assert_eq!(kv.get("running").map(String::as_str), Some("yes"));
        assert_eq!(kv.get("pid").map(String::as_str), Some("42"));
        assert_eq!(kv.len(), 2);
    }
}
