//! `server start|stop|status`: MiniTwit under gunicorn on the server, run by
//! `shell/daemon.sh` with its PID recorded, and the wait until it answers HTTP.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use procs::{gunicorn_argv, http_status, GUNICORN_CONF, TIMEOUT_VAR, WORKERS_VAR};
use serde::Serialize;

use super::{daemon_cmd, for_hosts, probe, step, Env, HostResults, Log, OpError};
use crate::inventory::Host;
use crate::ssh::{sh_quote, Transport};

/// How long one readiness probe may take to connect (and, times 15, to be answered).
const HTTP_TIMEOUT: Duration = Duration::from_secs(2);

/// The pause between two readiness probes.
const POLL: Duration = Duration::from_millis(250);

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
        let minitwit = format!("{}/minitwit", host.base);
        let conf = format!("{minitwit}/{GUNICORN_CONF}");
        let (present, _) = probe(&mut t, &format!("test -f {}", sh_quote(&conf)))?;
        if present != 0 {
            return Err(OpError::Other(format!(
                "no {conf} on {}: deploy MiniTwit with `pi-provision deploy` first",
                host.name
            )));
        }
        // No database yet (or an empty file): MiniTwit will answer 500 until /cleardb has
        // loaded the schema and the seed. An existing database is never reset here.
        let db = format!("{}/run/minitwit.db", host.base);
        let (has_db, _) = probe(&mut t, &format!("test -s {}", sh_quote(&db)))?;
        // The settings are those of the deployed gunicorn.conf.py; the inventory's workers and
        // timeout reach it through the variables it reads.
        let mut args = vec![
            "start".into(),
            "minitwit".into(),
            gunicorn.clone(),
            "--".into(),
            "env".into(),
            format!("MINITWIT_DB={db}"),
            format!("MINITWIT_SEED={minitwit}/seed.sql"),
            format!("{WORKERS_VAR}={}", mt.workers),
            format!("{TIMEOUT_VAR}={}", mt.timeout_s),
        ];
        args.extend(
            gunicorn_argv(
                Path::new(&gunicorn),
                Path::new(&minitwit),
                &format!("0.0.0.0:{}", mt.port),
            )
            .iter()
            .map(|a| a.to_string_lossy().into_owned()),
        );
        step(
            env,
            &mut t,
            log,
            host,
            &format!("start gunicorn in {}", interp.venv),
            &daemon_cmd(host, &args),
            None,
        )?;
        wait_until_answers(env, &mut t, host, wait, has_db != 0, log)?;
        log.line(&host.name, "MiniTwit answers");
        status_of(env, &mut t, host)
    })
}

/// Polls `GET /public` from the controller until MiniTwit answers 200, within `wait`. A fresh
/// database (`needs_seed`) answers 500 until `/cleardb` has loaded the schema and the seed
/// through MiniTwit's own experiment hook, which is then called once. On a timeout the error
/// quotes the end of the host's `log/minitwit.log`.
fn wait_until_answers(
    env: &Env,
    t: &mut dyn Transport,
    host: &Host,
    wait: Duration,
    mut needs_seed: bool,
    log: &Log,
) -> Result<(), OpError> {
    let base_url = format!("http://{}:{}", url_host(host), env.inventory.minitwit.port);
    let public = format!("{base_url}/public");
    log.line(&host.name, &format!("==> waiting for {public}"));
    let deadline = Instant::now() + wait;
    loop {
        if env.interrupt.is_set() {
            return Err(OpError::Interrupted);
        }
        match http_status(&public, HTTP_TIMEOUT) {
            Ok(200) => return Ok(()),
            Ok(500) if needs_seed => {
                log.line(
                    &host.name,
                    "new database: loading the schema and seed via /cleardb",
                );
                needs_seed = false;
                let _ = http_status(&format!("{base_url}/cleardb"), HTTP_TIMEOUT);
            }
            Ok(_) | Err(_) if Instant::now() < deadline => std::thread::sleep(POLL),
            other => {
                let (_, tail) = probe(
                    t,
                    &format!("tail -n 20 {}/log/minitwit.log", sh_quote(&host.base)),
                )?;
                return Err(OpError::Other(format!(
                    "MiniTwit did not answer 200 on {public} within {}s (last: {}); last lines of {}/log/minitwit.log:\n{}",
                    wait.as_secs(),
                    match other {
                        Ok(s) => format!("status {s}"),
                        Err(e) => e.to_string(),
                    },
                    host.base,
                    tail.iter()
                        .map(|l| format!("    {l}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                )));
            }
        }
    }
}

/// The host part of a URL: IPv6 addresses in brackets.
fn url_host(host: &Host) -> String {
    if host.address.contains(':') {
        format!("[{}]", host.address)
    } else {
        host.address.clone()
    }
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
            env,
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
        url: format!("http://{}:{}/", url_host(host), env.inventory.minitwit.port),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_parse_as_key_values() {
        let kv = parse_kv(&["running=yes".into(), "pid=42".into(), "noise".into()]);
        assert_eq!(kv.get("running").map(String::as_str), Some("yes"));
        assert_eq!(kv.get("pid").map(String::as_str), Some("42"));
        assert_eq!(kv.len(), 2);
    }
}
