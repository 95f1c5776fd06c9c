//! `server start|stop|status`: MiniTwit under gunicorn on the server, run by
//! `shell/daemon.sh` with its PID recorded, and the wait until it answers HTTP.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{daemon_cmd, for_hosts, probe, step, Env, HostResults, Log, OpError};
use crate::inventory::Host;
use crate::ssh::{sh_quote, Transport};

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
            env,
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
            if env.interrupt.is_set() {
                return Err(OpError::Interrupted);
            }
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

/// A minimal HTTP/1.0 GET: the status code only.
fn http_status(addr: &str, port: u16, path: &str) -> std::io::Result<u16> {
    use std::io::{Read, Write};
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
    fn status_lines_parse_as_key_values() {
        let kv = parse_kv(&["running=yes".into(), "pid=42".into(), "noise".into()]);
        assert_eq!(kv.get("running").map(String::as_str), Some("yes"));
        assert_eq!(kv.get("pid").map(String::as_str), Some("42"));
        assert_eq!(kv.len(), 2);
    }
}
