//! A real MiniTwit under real gunicorn, started the one way (`minitwit/gunicorn.conf.py`),
//! owned and stopped with its whole process group. Needs `make test`'s CPE_ROOT and CPE_VENV.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use procs::{http_status, Interrupt, MiniTwitError, MiniTwitLaunch, NotReady};

fn env(var: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => panic!("{var} is not set: run it through `make test`"),
    }
}

fn launch(dir: &std::path::Path) -> MiniTwitLaunch {
    MiniTwitLaunch::new(
        env("CPE_VENV"),
        env("CPE_ROOT").join("minitwit"),
        0,
        dir.join("minitwit.db"),
        dir.join("gunicorn.log"),
    )
    .name("gunicorn (test)")
}

/// The workers of gunicorn master `pid`, from /proc.
fn workers(pid: u32) -> Vec<u32> {
    let path = format!("/proc/{pid}/task/{pid}/children");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect()
}

/// Whether a process runs (a zombie does not).
fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|state| state != "Z" && state != "X")
}

#[test]
fn minitwit_starts_with_the_study_settings_and_its_group_ends_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = launch(dir.path()).start(&Interrupt::new()).unwrap();
    assert!(server.is_running());
    // A fresh database has no tables: any answer means it serves.
    let status = http_status(&format!("{}/public", server.url()), Duration::from_secs(2));
    assert_eq!(status.ok(), Some(500));
    let log = std::fs::read_to_string(server.log()).unwrap();
    assert!(log.contains("Booting worker"), "{log}");
    let pid = server.pid();
    let deadline = Instant::now() + Duration::from_secs(10);
    while workers(pid).len() < 2 {
        assert!(Instant::now() < deadline, "the study's 2 workers: {log}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut group = workers(pid);
    assert_eq!(group.len(), 2, "workers = 2 from gunicorn.conf.py");
    group.push(pid);
    let port = server.port();
    drop(server);
    let left: Vec<u32> = group.into_iter().filter(|&p| alive(p)).collect();
    assert!(left.is_empty(), "left over: {left:?}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn the_workers_follow_the_override_and_a_bad_one_is_quoted_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let server = launch(dir.path())
        .workers(1)
        .start(&Interrupt::new())
        .unwrap();
    let pid = server.pid();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(workers(pid).len(), 1);
    drop(server);

    let err = launch(dir.path())
        .env("MINITWIT_TIMEOUT", "soon")
        .start(&Interrupt::new())
        .unwrap_err();
    assert!(
        matches!(err, MiniTwitError::NotReady(NotReady::Exited { .. })),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.starts_with("gunicorn (test) exited"), "{msg}");
    assert!(
        msg.contains("MINITWIT_TIMEOUT='soon': expected a whole number"),
        "{msg}"
    );
}

#[test]
fn an_interrupt_while_starting_stops_the_wait_and_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let stop = Interrupt::new();
    stop.trigger();
    let err = launch(dir.path()).start(&stop).unwrap_err();
    // The flag is seen at the first poll, long before gunicorn could answer; the half-started
    // gunicorn goes with the guard dropped inside start.
    assert!(
        matches!(err, MiniTwitError::NotReady(NotReady::Interrupted { .. })),
        "{err:?}"
    );
}

/// The scheduling policy and real-time priority of `pid` (fields 41 and 40 of its stat).
fn policy(pid: u32) -> (u32, u32) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    // Fields after the comm start at field 3; field N is rest[N - 3].
    (rest[41 - 3].parse().unwrap(), rest[40 - 3].parse().unwrap())
}

#[test]
fn a_realtime_minitwit_and_its_workers_run_under_sched_fifo() {
    if let Err(e) = procs::Priority::Realtime.check() {
        // Not root here: the refusal is the documented one-line reason.
        assert!(e.contains("realtime priority"), "{e}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = launch(dir.path())
        .priority(procs::Priority::Realtime)
        .start(&Interrupt::new())
        .unwrap();
    let pid = server.pid();
    let deadline = Instant::now() + Duration::from_secs(10);
    while workers(pid).len() < 2 {
        assert!(Instant::now() < deadline, "the study's 2 workers");
        std::thread::sleep(Duration::from_millis(50));
    }
    // SCHED_FIFO is policy 1; the master is gunicorn itself (chrt exec'd it), not a wrapper.
    assert_eq!(policy(pid), (1, u32::from(procs::REALTIME_PRIORITY)));
    for w in workers(pid) {
        assert_eq!(
            policy(w),
            (1, u32::from(procs::REALTIME_PRIORITY)),
            "worker {w}"
        );
    }
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert!(
        comm.starts_with("gunicorn") || comm.starts_with("python"),
        "{comm}"
    );
    let plain = launch(dir.path()).start(&Interrupt::new()).unwrap();
    assert_eq!(
        policy(plain.pid()).0,
        0,
        "the default is SCHED_OTHER, as the study ran it"
    );
}
