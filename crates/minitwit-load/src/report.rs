//! What people read on stderr: the one-paragraph summary of a run and a progress bar.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use records::LoadLine;

/// One paragraph about one run of the scenario (`run`, an agent's trigger): requests,
/// statuses, errors, scenario time, latency percentiles, and the first failure if any.
pub fn describe(s: &LoadLine) -> String {
    let statuses: Vec<String> = s
        .by_status
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let users = s.users.len();
    let latency = s.latency_ms.unwrap_or_default();
    let cycles = s.cycles.unwrap_or(crate::scenario::STUDY_CYCLES);
    let mut text = format!(
        "run {} ({} scenario{}, {users} user{}) against {}: {} requests ({}), {} error{}, scenario time {:.3} s; latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms.",
        s.run_id.as_deref().unwrap_or("?"),
        s.scenario.as_deref().unwrap_or("?"),
        if cycles == crate::scenario::STUDY_CYCLES { String::new() } else { format!(" shortened to {cycles} cycle(s)") },
        if users == 1 { "" } else { "s" },
        s.server.as_deref().unwrap_or("?"),
        s.requests,
        if statuses.is_empty() { "no answers".to_owned() } else { statuses.join(", ") },
        s.errors,
        if s.errors == 1 { "" } else { "s" },
        s.duration_s,
        latency.p50,
        latency.p90,
        latency.p99,
        latency.max,
    );
    if s.interrupted {
        text.push_str(" Interrupted before the end.");
    } else if s.ok {
        text.push_str(" Every user completed the scenario.");
    } else {
        let failed: Vec<&str> = s.users.iter().filter_map(|u| u.error.as_deref()).collect();
        text.push_str(&format!(" FAILED: {}", failed.join("; ")));
    }
    text
}

/// A one-line progress bar on stderr, drawn only when stderr is a terminal, at most ten
/// times a second.
pub struct Progress {
    enabled: bool,
    last: Option<Instant>,
    drawn: bool,
}

impl Progress {
    /// Draws only if stderr is a terminal.
    pub fn stderr() -> Self {
        Self {
            enabled: std::io::stderr().is_terminal(),
            last: None,
            drawn: false,
        }
    }

    /// Shows `done` of `total` requests.
    pub fn update(&mut self, done: u64, total: u64) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if done < total
            && self
                .last
                .is_some_and(|t| now - t < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(now);
        const WIDTH: u64 = 40;
        let filled = (done * WIDTH)
            .checked_div(total)
            .map_or(WIDTH, |f| f.min(WIDTH));
        let bar: String = (0..WIDTH)
            .map(|i| if i < filled { '#' } else { '-' })
            .collect();
        let _ = write!(std::io::stderr(), "\r[{bar}] {done}/{total} requests");
        self.drawn = true;
    }

    /// Clears the bar's line.
    pub fn finish(&mut self) {
        if self.drawn {
            let _ = write!(std::io::stderr(), "\r{:70}\r", "");
            self.drawn = false;
        }
    }
}
