//! One time base: the load's start and end on the recording's timeline (seconds from its first
//! sample), measured on the controller's clock, and, where the Otii keeps user logs (3.6+),
//! on the meter's own clock, written into a user log of the recording and read back.
//!
//! The rule (`docs/otii.md`, "Time base"): the recording's first sample is taken while the
//! Otii handles `project_start_recording`, so between the controller's instants just before
//! sending it and just after its answer; its estimate is the midpoint, within ± half that round
//! trip. The meter's own "now" on the timeline is the number of samples it holds of a recorded
//! channel divided by the rate (`recording_get_channel_data_count`), read just before the load
//! starts and just after it ends; it is late by the meter's delivery lag (samples reach the
//! count in batches).

use std::io::{Read, Write};
use std::time::Instant;

use otii_protocol::Channel;
use records::MeterClock;

use crate::client::{Client, ClientError, ServerInfo};

/// The first Otii version with user logs.
pub const USER_LOGS_SINCE: (u32, u32) = (3, 6);

/// The name otii-capture asks for its user log (the server may give another id).
pub const USER_LOG_NAME: &str = "otii-capture load";

/// Two controller instants around a request: what it did happened in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bracket {
    /// Just before the request was sent.
    pub before: Instant,
    /// Just after its answer arrived.
    pub after: Instant,
}

impl Bracket {
    /// Runs `f` and brackets it.
    pub fn around<T>(f: impl FnOnce() -> T) -> (T, Bracket) {
        let before = Instant::now();
        let out = f();
        (
            out,
            Bracket {
                before,
                after: Instant::now(),
            },
        )
    }

    /// The midpoint: the estimate of when the server acted.
    pub fn mid(&self) -> Instant {
        self.before + self.after.saturating_duration_since(self.before) / 2
    }

    /// Half its width, s: the estimate's uncertainty.
    pub fn half_width_s(&self) -> f64 {
        self.after
            .saturating_duration_since(self.before)
            .as_secs_f64()
            / 2.0
    }
}

/// `at − from` in seconds, negative when `at` is earlier.
pub fn signed_s(at: Instant, from: Instant) -> f64 {
    match at.checked_duration_since(from) {
        Some(d) => d.as_secs_f64(),
        None => -from.duration_since(at).as_secs_f64(),
    }
}

/// The recording's timeline on the controller's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBase {
    /// Around the `project_start_recording` that started the recording.
    pub start: Bracket,
}

impl TimeBase {
    /// `at` in seconds from the recording's first sample (estimated at the start's midpoint).
    pub fn seconds(&self, at: Instant) -> f64 {
        signed_s(at, self.start.mid())
    }
}

/// Whether the server keeps user logs: `Err` says why not. otii-sim does; an Otii application
/// does from 3.6.0 on (the official client's 1.0.12 notes); a version that does not read as
/// `MAJOR.MINOR…` is taken as too old.
pub fn user_log_support(info: &ServerInfo) -> Result<(), String> {
    if info.server == "otii-sim" {
        return Ok(());
    }
    let mut parts = info
        .otii_version
        .split('.')
        .map(|p| p.trim().parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) if (major, minor) >= USER_LOGS_SINCE => Ok(()),
        (Some(_), Some(_)) => Err(format!(
            "the Otii is version {}; user logs need {}.{} or later",
            info.otii_version, USER_LOGS_SINCE.0, USER_LOGS_SINCE.1
        )),
        _ => Err(format!(
            "the Otii's version {:?} does not say whether it has user logs ({}.{}+)",
            info.otii_version, USER_LOGS_SINCE.0, USER_LOGS_SINCE.1
        )),
    }
}

/// The meter's "now" on the recording's timeline, read once: samples so far ÷ rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeterProbe {
    /// Samples so far ÷ rate, s.
    pub meter_s: f64,
    /// Around the count request.
    pub at: Bracket,
}

impl MeterProbe {
    /// Reads the count of `channel` of the running `recording`.
    pub fn read<S: Read + Write>(
        client: &mut Client<S>,
        recording: i64,
        device: &str,
        channel: Channel,
        rate_hz: f64,
    ) -> Result<Self, ClientError> {
        let (count, at) = Bracket::around(|| client.data_count(recording, device, channel));
        Ok(Self {
            meter_s: count? as f64 / rate_hz,
            at,
        })
    }

    /// The meter's time at the controller's `instant`, carried from this reading.
    pub fn meter_at(&self, instant: Instant) -> f64 {
        self.meter_s + signed_s(instant, self.at.mid())
    }
}

/// A user log of the run: its id and the recording it marks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadLog {
    /// The id the server gave the log.
    pub id: String,
    /// What tells this run's entries from others' (`<label> run <n>`, with the run id).
    pub tag: String,
}

impl LoadLog {
    /// Creates the run's user log when the server has them; otherwise (or when the server
    /// refuses) says why on `log` and returns `None`: the run goes on without `meter_clock`.
    pub fn create<S: Read + Write>(
        client: &mut Client<S>,
        project: i64,
        tag: String,
        log: &mut dyn Write,
    ) -> Option<Self> {
        let why = match user_log_support(client.info()) {
            Ok(()) => match client.create_user_log(project, USER_LOG_NAME) {
                Ok(id) => return Some(Self { id, tag }),
                Err(e) => format!("creating a user log failed ({e})"),
            },
            Err(why) => why,
        };
        note_no_meter_clock(log, &why);
        None
    }

    /// Appends the load's start and end (the meter's times `start_s`, `end_s`) to the
    /// recording's user log, reads them back on the Otii's timeline and returns the
    /// [`MeterClock`] with its offset from the controller's `controller_start_s`.
    pub fn mark<S: Read + Write>(
        &self,
        client: &mut Client<S>,
        recording: i64,
        (start_s, end_s): (f64, f64),
        controller_start_s: f64,
    ) -> Result<MeterClock, String> {
        let start_msg = format!("load start: {}", self.tag);
        let end_msg = format!("load end: {}", self.tag);
        let fail = |what: &str, e: ClientError| format!("{what} the user log failed ({e})");
        client
            .append_user_log(recording, &self.id, start_s, &start_msg)
            .map_err(|e| fail("appending the load's start to", e))?;
        client
            .append_user_log(recording, &self.id, end_s, &end_msg)
            .map_err(|e| fail("appending the load's end to", e))?;
        let entries = client
            .user_log_entries(recording, &self.id, (0.0, READ_BACK_TO_S), &self.tag)
            .map_err(|e| fail("reading back", e))?;
        let at = |msg: &str| {
            entries
                .iter()
                .find(|e| e.value == msg)
                .map(|e| e.timestamp)
                .ok_or_else(|| {
                    format!(
                        "the user log {:?} read back without the entry {msg:?} ({} entries)",
                        self.id,
                        entries.len()
                    )
                })
        };
        let (load_start_s, load_end_s) = (at(&start_msg)?, at(&end_msg)?);
        Ok(MeterClock {
            load_start_s,
            load_end_s,
            offset_s: load_start_s - controller_start_s,
        })
    }
}

/// How far on the timeline the read-back looks, s (115 days: any recording).
const READ_BACK_TO_S: f64 = 1.0e7;

/// The note on `log` of a run without `meter_clock`.
pub fn note_no_meter_clock(log: &mut dyn Write, why: &str) {
    let _ = writeln!(
        log,
        "otii-capture: note: {why}; the run record has load_start_s/load_end_s from the controller's clock and no meter_clock"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn info(server: &str, version: &str) -> ServerInfo {
        ServerInfo {
            otii_version: version.into(),
            protocol_version: "0.1".into(),
            server: server.into(),
            simulated: server == "otii-sim",
            power_model: None,
        }
    }

    #[test]
    fn user_logs_from_otii_3_6_and_in_otii_sim() {
        assert!(user_log_support(&info("otii-sim", "otii-sim 0.1.0")).is_ok());
        assert!(user_log_support(&info("otii-server", "3.6.0")).is_ok());
        assert!(user_log_support(&info("otii-server", "3.10.2")).is_ok());
        assert!(user_log_support(&info("otii-server", "4.0")).is_ok());
        let old = user_log_support(&info("otii-server", "3.5.5")).unwrap_err();
        assert!(old.contains("3.5.5") && old.contains("3.6"), "{old}");
        assert!(user_log_support(&info("otii-server", "")).is_err());
        assert!(user_log_support(&info("otii-server", "beta")).is_err());
    }

    #[test]
    fn times_are_signed_and_carried_from_the_midpoint() {
        let t = Instant::now();
        let b = Bracket {
            before: t,
            after: t + Duration::from_millis(4),
        };
        assert_eq!(b.mid(), t + Duration::from_millis(2));
        assert!((b.half_width_s() - 0.002).abs() < 1e-12);
        let base = TimeBase { start: b };
        assert!((base.seconds(t + Duration::from_millis(12)) - 0.010).abs() < 1e-12);
        assert!((base.seconds(t) + 0.002).abs() < 1e-12);
        let p = MeterProbe {
            meter_s: 1.5,
            at: b,
        };
        assert!((p.meter_at(t + Duration::from_millis(502)) - 2.0).abs() < 1e-12);
    }
}
