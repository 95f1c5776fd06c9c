use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Versioned;

/// The `schema` tag of a [`RunRecord`] of this version.
pub const RUN_SCHEMA: &str = "run/1";

/// One measured run: the server's power recorded around one execution of the load scenario.
///
/// The study's energy of a run is `energy_j = power_avg_w × duration_s`: the mean power over
/// the whole recording times the scenario time measured by the controller. `trace_energy_j` is
/// the other definition, the integral of the power trace (Σ P·Δt) over the recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Format version; always [`RUN_SCHEMA`] for this type.
    pub schema: String,
    /// Group label: the interpreter measured, e.g. `3.12` or `pypy3.9`.
    pub label: String,
    /// Run index within the group, starting at 1 (0 is a discarded warm-up run).
    pub run: u32,
    /// Identifier joining this run to the request records of its load (`RequestRecord::run_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// When the recording started, RFC 3339 in UTC (e.g. `2024-02-21T14:13:00.123Z`).
    pub started_at: String,
    /// Scenario time in seconds: from just before triggering the load to just after it ended.
    pub duration_s: f64,
    /// Length of the power recording in seconds (a little longer than the scenario).
    pub recording_s: f64,
    /// Sample rate of the power channels in samples per second (the study used 10,000).
    pub sample_rate_hz: f64,
    /// Number of power samples in the trace.
    pub samples: u64,
    /// Smallest power sample in watts.
    pub power_min_w: f64,
    /// Largest power sample in watts.
    pub power_max_w: f64,
    /// Mean power over the whole recording in watts.
    pub power_avg_w: f64,
    /// Smallest current sample in amperes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_min_a: Option<f64>,
    /// Largest current sample in amperes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_max_a: Option<f64>,
    /// Mean current over the whole recording in amperes.
    pub current_avg_a: f64,
    /// Smallest voltage sample in volts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voltage_min_v: Option<f64>,
    /// Largest voltage sample in volts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voltage_max_v: Option<f64>,
    /// Mean voltage over the whole recording in volts.
    pub voltage_avg_v: f64,
    /// The study's energy of the run in joules: `power_avg_w × duration_s`.
    pub energy_j: f64,
    /// Energy integrated over the trace in joules: Σ P·Δt over the whole recording.
    pub trace_energy_j: f64,
    /// Energy the meter itself reported for the main current channel, in joules, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter_energy_j: Option<f64>,
    /// The meter's own whole-recording statistics (the Otii's statistics command), next to
    /// the ones computed from the samples above, when the meter was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter_stats: Option<MeterStats>,
    /// Path of the trace file (`<recording name>.csv.xz`), relative to the run record's file
    /// when written by the tools; `None` when no trace was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// Name of the recording in the meter's project (the Otii names it after its start time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<String>,
    /// What produced the power numbers.
    pub meter: Meter,
    /// For a simulated meter, the power model (`cpu`, `synthetic`): the power was modelled,
    /// not measured. `None` for a real meter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_model: Option<String>,
    /// Whether the run is usable.
    pub status: Status,
    /// Why the run failed; set when `status` is `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the load did during the run, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadSummary>,
    /// The recording session this run belongs to, as the experiment's plan names it (`s1`,
    /// `s2`, …): one sitting of the machine, with its date, interpreters and order in the plan.
    /// `None` for runs recorded by a tool alone or before sessions existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// When the load started, in seconds from the recording's first sample (the recording's own
    /// timeline, on the controller's clock): the zero of its request records' `start_s` (with a
    /// load line, when it was read minus `duration_s`; without one, the command's spawn). A
    /// request starts at sample `⌊(load_start_s + start_s) × sample_rate_hz⌋`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_start_s: Option<f64>,
    /// When the load ended, in seconds from the recording's first sample (with a load line,
    /// `load_start_s + duration_s`; without one, the command's exit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_end_s: Option<f64>,
    /// The load's start and end on the meter's own clock, when the meter keeps user logs (Otii
    /// 3.6+, otii-sim); `docs/otii.md`, "Time base", gives the rule and its uncertainty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter_clock: Option<MeterClock>,
    /// How fast the machine ran while the load did, when the server ran on the controller's own
    /// machine (the demo): a fixed workload timed in its own thread CPU time every 20 ms during
    /// the run (`docs/method.md`, "The machine's speed"). `None` for a remote server, whose
    /// machine the controller cannot time, or with `experiment run --speed-probe off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_probe: Option<SpeedProbe>,
}

/// The machine's speed during a run: the same fixed workload, timed again and again in thread
/// CPU time while the run's load ran. A slower machine (another tenant on the host) shows as a
/// longer median; `energy-stats --speed-adjust` scales each run's energy by it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeedProbe {
    /// Median CPU time of one workload, in milliseconds.
    pub median_ms: f64,
    /// How many times it was timed during the run.
    pub samples: u32,
    /// Which workload was timed: [`SpeedProbe::BUILTIN`], or `python-dict-20000` followed by
    /// the interpreter that ran it (`CPython 3.11.2 /usr/bin/python3.11`). Absent in records
    /// written before it was recorded, which all timed the built-in workload. Probe times of
    /// different workloads cannot be compared, so `energy-stats --speed-adjust` refuses a mix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
}

impl SpeedProbe {
    /// The controller's own workload: a 20,000-entry hash map filled and read back.
    pub const BUILTIN: &'static str = "builtin-hashmap-20000";

    /// The workload timed, [`SpeedProbe::BUILTIN`] when the record does not say.
    pub fn workload(&self) -> &str {
        self.workload.as_deref().unwrap_or(Self::BUILTIN)
    }
}

/// The load's start and end as the meter's own clock saw them (entries appended to an Otii
/// user log around the load command), and how far that clock is from the controller's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeterClock {
    /// The load's start on the meter's timeline, seconds from the recording's first sample.
    pub load_start_s: f64,
    /// The load's end on the meter's timeline, seconds from the recording's first sample.
    pub load_end_s: f64,
    /// Meter's start minus the controller's `load_start_s`, in seconds: add it to a controller
    /// time to get the meter's. Its size is the meter's sample delivery lag (negative) plus a
    /// real Arc's first-sample delay (positive), within half a request's round trip.
    pub offset_s: f64,
}

/// Whole-recording statistics as the meter itself reported them (Otii
/// `recording_get_channel_statistics` over the channel's `from`..`to`): what the study's
/// controller printed in its `MAIN_…:` lines.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeterStats {
    /// Smallest power the meter reported, W.
    pub power_min_w: f64,
    /// Largest power the meter reported, W.
    pub power_max_w: f64,
    /// Mean power the meter reported, W.
    pub power_avg_w: f64,
    /// Smallest current the meter reported, A.
    pub current_min_a: f64,
    /// Largest current the meter reported, A.
    pub current_max_a: f64,
    /// Mean current the meter reported, A.
    pub current_avg_a: f64,
    /// Smallest voltage the meter reported, V.
    pub voltage_min_v: f64,
    /// Largest voltage the meter reported, V.
    pub voltage_max_v: f64,
    /// Mean voltage the meter reported, V.
    pub voltage_avg_v: f64,
}

/// Whether a run is usable for the analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The run completed and passed its validity checks.
    Ok,
    /// The run did not complete or failed a check; `reason` says why.
    Failed,
}

/// What produced a run's power numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Meter {
    /// A Qoitech Otii Arc/Ace through the Otii 3 TCP server: measured.
    Otii,
    /// The project's Otii simulator: power modelled, not measured.
    OtiiSim,
    /// Imported from the study's controller log (`log.txt`).
    Log,
    /// Imported from a table of runs (CSV) or derived from a trace alone.
    Table,
}

impl Meter {
    /// Whether the power numbers come from a model rather than a measurement.
    pub fn is_modelled(self) -> bool {
        matches!(self, Meter::OtiiSim)
    }
}

/// What the load did during one run.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LoadSummary {
    /// HTTP requests sent on the wire, redirect hops included.
    pub requests: u64,
    /// Requests that failed: no answer, or an answer the scenario did not expect.
    pub errors: u64,
    /// Number of answers per HTTP status code (`"200"`, `"302"`, `"404"`…).
    pub by_status: BTreeMap<String, u64>,
    /// Number of clients (virtual users) that ran the scenario.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clients: Option<u32>,
}

impl Versioned for RunRecord {
    const SCHEMA: &'static str = RUN_SCHEMA;
    fn schema(&self) -> &str {
        &self.schema
    }
    fn non_finite_field(&self) -> Option<&'static str> {
        crate::first_non_finite([
            ("duration_s", Some(self.duration_s)),
            ("recording_s", Some(self.recording_s)),
            ("sample_rate_hz", Some(self.sample_rate_hz)),
            ("power_min_w", Some(self.power_min_w)),
            ("power_max_w", Some(self.power_max_w)),
            ("power_avg_w", Some(self.power_avg_w)),
            ("current_min_a", self.current_min_a),
            ("current_max_a", self.current_max_a),
            ("current_avg_a", Some(self.current_avg_a)),
            ("voltage_min_v", self.voltage_min_v),
            ("voltage_max_v", self.voltage_max_v),
            ("voltage_avg_v", Some(self.voltage_avg_v)),
            ("energy_j", Some(self.energy_j)),
            ("trace_energy_j", Some(self.trace_energy_j)),
            ("meter_energy_j", self.meter_energy_j),
            ("load_start_s", self.load_start_s),
            ("load_end_s", self.load_end_s),
        ])
        .or_else(|| {
            self.meter_clock.and_then(|c| {
                crate::first_non_finite([
                    ("meter_clock.load_start_s", Some(c.load_start_s)),
                    ("meter_clock.load_end_s", Some(c.load_end_s)),
                    ("meter_clock.offset_s", Some(c.offset_s)),
                ])
            })
        })
        .or_else(|| {
            self.meter_stats
                .as_ref()
                .and_then(MeterStats::non_finite_field)
        })
    }
}

impl MeterStats {
    /// The first field holding NaN or an infinity, named as it appears in the record.
    fn non_finite_field(&self) -> Option<&'static str> {
        crate::first_non_finite([
            ("meter_stats.power_min_w", Some(self.power_min_w)),
            ("meter_stats.power_max_w", Some(self.power_max_w)),
            ("meter_stats.power_avg_w", Some(self.power_avg_w)),
            ("meter_stats.current_min_a", Some(self.current_min_a)),
            ("meter_stats.current_max_a", Some(self.current_max_a)),
            ("meter_stats.current_avg_a", Some(self.current_avg_a)),
            ("meter_stats.voltage_min_v", Some(self.voltage_min_v)),
            ("meter_stats.voltage_max_v", Some(self.voltage_max_v)),
            ("meter_stats.voltage_avg_v", Some(self.voltage_avg_v)),
        ])
    }
}

impl RunRecord {
    /// The study's energy definition: mean power (W) times scenario time (s), in joules.
    pub fn study_energy_j(power_avg_w: f64, duration_s: f64) -> f64 {
        power_avg_w * duration_s
    }

    /// Whether this run's power was modelled rather than measured: a simulated meter, or any
    /// record that names a power model.
    pub fn is_modelled(&self) -> bool {
        self.meter.is_modelled() || self.power_model.is_some()
    }

    /// Whether this run may enter the analysis.
    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }
}
