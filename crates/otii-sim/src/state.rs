//! The simulated Otii's state: one Arc, one active project, its recordings, the licences.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use otii_protocol::reply::RecordingInfo;
use otii_protocol::{Channel, ALL_CHANNELS, MAIN_CHANNELS};
use time::macros::format_description;
use time::{Duration as TimeDuration, OffsetDateTime, UtcOffset};

use crate::cpu::Sampler;
use crate::model::{Load, Signal, Timeline};
use crate::{Config, ModelConfig};

/// The simulated Arc's device id.
pub const DEVICE_ID: &str = "ARC-SIM-0001";
/// The simulated Arc's name, which says it is simulated.
pub const DEVICE_NAME: &str = "Arc (otii-sim, modelled)";

/// One recording of the project.
pub struct Recording {
    /// Recording id (1, 2, …).
    pub id: i64,
    /// Name; the Otii names recordings after their local start time.
    pub name: String,
    /// Start time, UTC.
    pub started_utc: OffsetDateTime,
    /// When it started on this machine's monotonic clock (`None` for preloaded ones).
    pub started: Option<Instant>,
    /// Length in seconds once stopped.
    pub length_s: Option<f64>,
    /// Recorded channels and their sample rates.
    pub channels: BTreeMap<Channel, u32>,
    /// How to compute its samples.
    pub signal: Arc<Signal>,
    /// The CPU sampler filling the load timeline while it runs.
    pub sampler: Option<Sampler>,
    /// Offset of the recording in seconds (`recording_set_offset`).
    pub offset_s: f64,
    /// Lines logged with `recording_log`.
    pub log: Vec<(f64, String)>,
    /// Entries of the project's user logs in this recording, by user-log id.
    pub user_logs: BTreeMap<String, UserLog>,
}

/// One user log's entries in one recording (`recording_append_user_log`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserLog {
    /// `(time, message)` on the recording's timeline as the client gave them, by time (entries
    /// of equal time in the order appended).
    pub entries: Vec<(f64, String)>,
    /// Shift applied when read (`recording_offset_user_log`), s.
    pub offset_s: f64,
}

impl UserLog {
    /// Adds an entry, keeping the entries in time order.
    pub fn append(&mut self, time: f64, message: String) {
        let at = self.entries.partition_point(|(t, _)| *t <= time);
        self.entries.insert(at, (time, message));
    }

    /// The entries whose shifted time is within `from..=to` and whose message contains
    /// `filter`, as `(time + offset, message)`.
    pub fn select<'a>(
        &'a self,
        from: f64,
        to: f64,
        filter: &'a str,
    ) -> impl Iterator<Item = (f64, &'a str)> + 'a {
        self.entries
            .iter()
            .map(move |(t, m)| (t + self.offset_s, m.as_str()))
            .filter(move |(t, m)| (from..=to).contains(t) && m.contains(filter))
    }
}

impl Recording {
    /// Seconds recorded so far.
    pub fn length(&self) -> f64 {
        match (self.length_s, self.started) {
            (Some(l), _) => l,
            (None, Some(s)) => s.elapsed().as_secs_f64(),
            (None, None) => 0.0,
        }
    }

    /// Whether it is still recording.
    pub fn is_running(&self) -> bool {
        self.length_s.is_none()
    }

    /// Number of samples of `channel` so far (0 for a channel that was not recorded).
    pub fn count(&self, channel: Channel) -> u64 {
        let rate = match self.channels.get(&channel) {
            Some(&rate) if channel.is_analog() => f64::from(rate),
            _ => return 0,
        };
        let mut seconds = self.length();
        if self.is_running() {
            // Only samples the load timeline already covers (interpolation needs the next load
            // value), so a sample never changes after a client has read it.
            if let Load::Timeline(tl) = &self.signal.load {
                seconds = seconds.min(tl.len().saturating_sub(1) as f64 / tl.hz);
            }
        }
        (seconds * rate).floor() as u64
    }

    /// Start time as RFC 3339 with milliseconds (the protocol's `start-time`).
    pub fn start_time_text(&self) -> String {
        let fmt = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        self.started_utc
            .format(&fmt)
            .unwrap_or_else(|_| self.started_utc.unix_timestamp().to_string())
    }

    /// How the protocol describes it (`project_get_recordings` and the last recording).
    pub fn info(&self) -> RecordingInfo {
        RecordingInfo {
            recording_id: self.id,
            name: self.name.clone(),
            start_time: Some(self.start_time_text()),
        }
    }
}

/// A licence of the (simulated) Qoitech account.
#[derive(Debug, Clone)]
pub struct License {
    /// Licence id.
    pub id: i64,
    /// Licence type (`Automation`, …).
    pub kind: &'static str,
    /// Who reserved it (empty when free).
    pub reserved_to: String,
}

/// All mutable state, behind one mutex.
pub struct Sim {
    /// Whether the main output is on.
    pub main_on: bool,
    /// Main output voltage, V.
    pub main_voltage: f64,
    /// Over-current protection level, A.
    pub max_current: f64,
    /// Current range (`low`/`high`).
    pub range: String,
    /// Channels enabled for the next recording.
    pub enabled: BTreeMap<Channel, bool>,
    /// Sample rate of every channel, per second.
    pub rates: BTreeMap<Channel, u32>,
    /// The active project's id.
    pub project_id: i64,
    /// The project's recordings, oldest first.
    pub recordings: Vec<Recording>,
    next_recording_id: i64,
    /// Whether the (simulated) user is logged in to the licence server.
    pub logged_in: bool,
    /// The licences.
    pub licenses: Vec<License>,
    /// How many recordings were started (seeds the noise of the next one).
    pub started_count: u64,
    /// The project's user logs (`project_create_user_log`), by id.
    pub user_logs: Vec<String>,
}

impl Sim {
    /// The state at start-up, with a preloaded recording when asked for.
    pub fn new(cfg: &Config) -> Self {
        let rates = ALL_CHANNELS.iter().map(|&c| (c, cfg.rate_hz)).collect();
        let enabled = MAIN_CHANNELS.into_iter().map(|c| (c, true)).collect();
        let mut sim = Self {
            main_on: true,
            main_voltage: cfg.params.supply_v,
            max_current: 5.0,
            range: "high".into(),
            enabled,
            rates,
            project_id: 1,
            recordings: Vec::new(),
            next_recording_id: 1,
            logged_in: true,
            licenses: vec![License {
                id: 1,
                kind: "Automation",
                reserved_to: String::new(),
            }],
            started_count: 0,
            user_logs: Vec::new(),
        };
        if let Some(len) = cfg.preload_s {
            let now = OffsetDateTime::now_utc();
            let started = now - TimeDuration::seconds_f64(len);
            let signal = Signal {
                load: Load::Synthetic { seed: cfg.seed },
                params: cfg.params,
                noise_seed: cfg.seed ^ 0x5EED,
            };
            let id = sim.take_id();
            let name = sim.unique_name(started, cfg.utc_offset);
            sim.recordings.push(Recording {
                id,
                name,
                started_utc: started,
                started: None,
                length_s: Some(len),
                channels: sim.recorded_channels(),
                signal: Arc::new(signal),
                sampler: None,
                offset_s: 0.0,
                log: Vec::new(),
                user_logs: BTreeMap::new(),
            });
        }
        sim
    }

    fn take_id(&mut self) -> i64 {
        let id = self.next_recording_id;
        self.next_recording_id += 1;
        id
    }

    /// The enabled channels with their current sample rates.
    pub fn recorded_channels(&self) -> BTreeMap<Channel, u32> {
        self.enabled
            .iter()
            .filter(|(_, &on)| on)
            .filter_map(|(c, _)| self.rates.get(c).map(|&r| (*c, r)))
            .collect()
    }

    /// `YYYY-MM-DD HH:MM:SS` in local time, like the Otii application; ` (2)`, ` (3)` … are
    /// appended when two recordings start within the same second, so trace files named after
    /// recordings never collide.
    fn unique_name(&self, started: OffsetDateTime, offset: UtcOffset) -> String {
        let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
        let base = started
            .to_offset(offset)
            .format(&fmt)
            .unwrap_or_else(|_| started.unix_timestamp().to_string());
        let mut name = base.clone();
        let mut k = 2;
        while self.recordings.iter().any(|r| r.name == name) {
            name = format!("{base} ({k})");
            k += 1;
        }
        name
    }

    /// The running recording, if any.
    pub fn running(&mut self) -> Option<&mut Recording> {
        self.recordings.iter_mut().find(|r| r.is_running())
    }

    /// A recording by id.
    pub fn recording(&self, id: i64) -> Option<&Recording> {
        self.recordings.iter().find(|r| r.id == id)
    }

    /// Starts a recording; `Err` says why not.
    pub fn start_recording(&mut self, cfg: &Config) -> Result<&Recording, String> {
        if let Some(r) = self.running() {
            return Err(format!(
                "a recording is already running ({:?}); stop it first",
                r.name
            ));
        }
        let seed = cfg.seed ^ (self.started_count + 1).wrapping_mul(0x9E37_79B9);
        let (load, sampler) = if !self.main_on {
            (Load::Off, None)
        } else {
            match &cfg.model {
                ModelConfig::Synthetic => (Load::Synthetic { seed }, None),
                ModelConfig::Cpu {
                    pid,
                    load_hz,
                    busy_cpus,
                } => {
                    let pid = pid.resolve().map_err(|e| format!("cpu model: {e}"))?;
                    if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                        return Err(format!("cpu model: no process {pid} to follow"));
                    }
                    let tl = Arc::new(Timeline::new(*load_hz));
                    let sampler = Sampler::start(pid, *busy_cpus, tl.clone());
                    (Load::Timeline(tl), Some(sampler))
                }
            }
        };
        self.started_count += 1;
        let now = OffsetDateTime::now_utc();
        let id = self.take_id();
        let name = self.unique_name(now, cfg.utc_offset);
        let mut params = cfg.params;
        params.supply_v = self.main_voltage;
        self.recordings.push(Recording {
            id,
            name,
            started_utc: now,
            started: Some(Instant::now()),
            length_s: None,
            channels: self.recorded_channels(),
            signal: Arc::new(Signal {
                load,
                params,
                noise_seed: seed ^ 0x5EED,
            }),
            sampler,
            offset_s: 0.0,
            log: Vec::new(),
            user_logs: BTreeMap::new(),
        });
        match self.recordings.last() {
            Some(r) => Ok(r),
            None => Err("internal error: recording vanished".into()),
        }
    }

    /// Stops the running recording; `Err` when none runs.
    pub fn stop_recording(&mut self) -> Result<&Recording, String> {
        let Some(idx) = self.recordings.iter().position(|r| r.is_running()) else {
            return Err("no recording is running".into());
        };
        let rec = &mut self.recordings[idx];
        rec.length_s = Some(rec.length());
        if let Some(s) = rec.sampler.take() {
            s.stop();
        }
        Ok(&self.recordings[idx])
    }

    /// Creates a user log named `name` in the project and returns its id: the name itself, or
    /// the name with ` (2)`, ` (3)` … appended when the project has one of that id already (as
    /// recordings are named), so every call gets a log of its own.
    pub fn create_user_log(&mut self, name: &str) -> String {
        let mut id = name.to_owned();
        let mut k = 2;
        while self.user_logs.contains(&id) {
            id = format!("{name} ({k})");
            k += 1;
        }
        self.user_logs.push(id.clone());
        id
    }

    /// Deletes a recording; `false` when there is none with that id.
    pub fn delete(&mut self, id: i64) -> bool {
        let before = self.recordings.len();
        self.recordings.retain(|r| r.id != id);
        self.recordings.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PowerParams;

    fn running(load: Load) -> Recording {
        Recording {
            id: 1,
            name: "r".into(),
            started_utc: OffsetDateTime::now_utc(),
            started: Instant::now().checked_sub(std::time::Duration::from_millis(500)),
            length_s: None,
            channels: [(Channel::MainPower, 1000)].into_iter().collect(),
            signal: Arc::new(Signal {
                load,
                params: PowerParams::default(),
                noise_seed: 1,
            }),
            sampler: None,
            offset_s: 0.0,
            log: Vec::new(),
            user_logs: BTreeMap::new(),
        }
    }

    #[test]
    fn user_logs_get_ids_of_their_own_and_entries_in_time_order() {
        let mut sim = Sim::new(&Config::default());
        assert_eq!(sim.create_user_log("load"), "load");
        assert_eq!(sim.create_user_log("load"), "load (2)");
        assert_eq!(sim.create_user_log("load"), "load (3)");
        let mut log = UserLog::default();
        log.append(2.0, "b".into());
        log.append(1.0, "a".into());
        log.append(2.0, "c".into());
        let all: Vec<_> = log.select(0.0, 10.0, "").collect();
        assert_eq!(all, [(1.0, "a"), (2.0, "b"), (2.0, "c")]);
        log.offset_s = 0.5;
        let some: Vec<_> = log.select(2.0, 2.5, "c").collect();
        assert_eq!(some, [(2.5, "c")]);
    }

    #[test]
    fn running_count_stops_where_the_load_timeline_ends() {
        // 0.5 s into a recording whose sampler only delivered 0.2 s of load (21 values at
        // 100 Hz cover 0..0.2 s): samples past 0.2 s would change once more load arrives.
        let tl = Arc::new(Timeline::new(100.0));
        tl.push(0.5, 21);
        let rec = running(Load::Timeline(tl.clone()));
        assert_eq!(rec.count(Channel::MainPower), 200);
        tl.push(0.5, 10);
        assert_eq!(rec.count(Channel::MainPower), 300);
        // Without a timeline the count follows the clock.
        let syn = running(Load::Synthetic { seed: 1 });
        assert!(syn.count(Channel::MainPower) >= 500);
        assert_eq!(
            syn.count(Channel::MainCurrent),
            0,
            "a channel not recorded has no samples"
        );
    }
}
