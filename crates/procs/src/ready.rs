//! Waiting until a child serves: a deadline, the child checked alive at every poll, Ctrl-C
//! honoured, and an error that names the child and quotes its log.

use std::fs;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::ExitStatus;
use std::thread;
use std::time::{Duration, Instant};

use crate::{Interrupt, OwnedChild};

/// How many lines of the child's log a [`NotReady::Exited`] error quotes.
const TAIL_LINES: usize = 15;

/// Why a child did not become ready.
#[derive(Debug, thiserror::Error)]
pub enum NotReady {
    /// The child exited first.
    #[error("{name} exited ({status}) before {goal}; {log}")]
    Exited {
        /// The child's name.
        name: String,
        /// What was awaited, e.g. `an HTTP answer from http://127.0.0.1:5000/public`.
        goal: String,
        /// Its exit status.
        status: ExitStatus,
        /// Where its log is, with its last lines.
        log: String,
    },
    /// The deadline passed.
    #[error("{name}: no {goal} within {} s; {log}", timeout.as_secs_f64())]
    Timeout {
        /// The child's name.
        name: String,
        /// What was awaited.
        goal: String,
        /// How long it was given.
        timeout: Duration,
        /// Where its log is.
        log: String,
    },
    /// Ctrl-C (or SIGTERM) while waiting.
    #[error("interrupted while waiting for {name}")]
    Interrupted {
        /// The child's name.
        name: String,
    },
}

/// Polls `probe` every 50 ms until it gives a value, and returns that value. Fails when
/// `child` exits first (quoting the last lines of its log), when `timeout` passes, or when
/// `interrupt` is set. `goal` says what is awaited, as a noun: `its port in otii-sim.port`.
pub fn wait_for<T>(
    child: &mut OwnedChild,
    goal: &str,
    timeout: Duration,
    interrupt: &Interrupt,
    mut probe: impl FnMut() -> Option<T>,
) -> Result<T, NotReady> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return Ok(value);
        }
        if let Some(status) = child.exited() {
            return Err(NotReady::Exited {
                name: child.name().to_owned(),
                goal: goal.to_owned(),
                status,
                log: match child.log() {
                    Some(p) => format!("last lines of {}:\n{}", p.display(), tail(p, TAIL_LINES)),
                    None => "see its output above".to_owned(),
                },
            });
        }
        if interrupt.is_set() {
            return Err(NotReady::Interrupted {
                name: child.name().to_owned(),
            });
        }
        if Instant::now() > deadline {
            return Err(NotReady::Timeout {
                name: child.name().to_owned(),
                goal: goal.to_owned(),
                timeout,
                log: match child.log() {
                    Some(p) => format!("see {}", p.display()),
                    None => "see its output above".to_owned(),
                },
            });
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until `url` (`http://host:port/path`) gives any HTTP answer, and returns its status.
/// Any status counts: a server that answers 500 serves (MiniTwit without its tables yet).
pub fn wait_http(
    child: &mut OwnedChild,
    url: &str,
    timeout: Duration,
    interrupt: &Interrupt,
) -> Result<u16, NotReady> {
    let goal = format!("HTTP answer from {url}");
    wait_for(child, &goal, timeout, interrupt, || {
        http_status(url, Duration::from_secs(2)).ok()
    })
}

/// The status of one plain `GET` of `url` (HTTP/1.0, no redirects followed): `url` is
/// `http://host:port/path`, the host a name, an IPv4 address or a bracketed IPv6 address.
/// `timeout` bounds the connection and, times 15, the wait for the answer.
pub fn http_status(url: &str, timeout: Duration) -> io::Result<u16> {
    let invalid = |msg: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{url}: {msg}"));
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| invalid("expected http://host:port/path"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = authority
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| invalid("the host has no address"))?;
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout * 15))?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\n\r\n").as_bytes())?;
    // "HTTP/1.x NNN"
    let mut head = [0u8; 12];
    s.read_exact(&mut head)?;
    std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| invalid("the answer has no HTTP status line"))
}

/// The last `n` lines of a text file, or a note that it cannot be read.
pub fn tail(path: &Path, n: usize) -> String {
    match fs::read(path) {
        Ok(raw) => {
            let text = String::from_utf8_lossy(&raw);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::process::Command;

    fn sh(script: &str, log: &Path) -> OwnedChild {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(script);
        OwnedChild::spawn_logged("sh", cmd, log).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_child_that_exits_is_reported_with_its_log() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let log = dir.path().join("out.log");
        let mut child = sh("echo first; echo 'no such table' >&2; exit 3", &log);
        let interrupt = Interrupt::new();
        let err = wait_http(
            &mut child,
            "http://127.0.0.1:9/x",
            Duration::from_secs(20),
            &interrupt,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            err.starts_with(
                "sh exited (exit status: 3) before HTTP answer from http://127.0.0.1:9/x"
            ),
            "{err}"
        );
        assert!(
            err.contains(&log.display().to_string()) && err.ends_with("first\nno such table"),
            "{err}"
        );
    }

    #[test]
    fn the_deadline_and_the_interrupt_end_the_wait() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let log = dir.path().join("out.log");
        let mut child = sh("sleep 300", &log);
        let calm = Interrupt::new();
        let t0 = Instant::now();
        let err = wait_for(
            &mut child,
            "sign",
            Duration::from_millis(200),
            &calm,
            || None::<()>,
        );
        assert!(t0.elapsed() < Duration::from_secs(5));
        let msg = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            msg,
            format!("sh: no sign within 0.2 s; see {}", log.display())
        );
        let stopped = Interrupt::new();
        stopped.trigger();
        let err = wait_for(
            &mut child,
            "sign",
            Duration::from_secs(60),
            &stopped,
            || None::<()>,
        );
        assert!(matches!(err, Err(NotReady::Interrupted { .. })), "{err:?}");
        assert_eq!(
            wait_for(&mut child, "sign", Duration::ZERO, &stopped, || Some(7)).ok(),
            Some(7)
        );
    }

    #[test]
    fn http_status_reads_the_status_of_a_real_socket() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let server = thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap_or_else(|e| panic!("{e}"));
            let mut req = Vec::new();
            let mut buf = [0u8; 256];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap_or_else(|e| panic!("{e}"));
                assert!(n > 0);
                req.extend_from_slice(&buf[..n]);
            }
            s.write_all(b"HTTP/1.1 500 INTERNAL SERVER ERROR\r\n\r\n")
                .unwrap_or_else(|e| panic!("{e}"));
            String::from_utf8_lossy(&req).into_owned()
        });
        let status = http_status(&format!("http://{addr}/public"), Duration::from_secs(2));
        assert_eq!(status.ok(), Some(500));
        let req = server.join().unwrap_or_else(|_| panic!("server thread"));
        assert!(req.starts_with("GET /public HTTP/1.0\r\n"), "{req}");
        assert!(http_status("https://127.0.0.1/", Duration::from_secs(1)).is_err());
    }
}
