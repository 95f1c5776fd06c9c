//! Describing a run: the meter's own statistics (the study's `MAIN_…:` lines) and the
//! [`RunRecord`] made of everything a run produced.

use std::io::{Read, Write};

use otii_protocol::reply::RecordingInfo;
use otii_protocol::Channel;
use records::{LoadSummary, Meter, MeterClock, MeterStats, RunRecord, Status, RUN_SCHEMA};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::client::{Client, ClientError};
use crate::download::{Download, SampleStats};
use crate::pyfloat::repr;
use crate::record::RunLabel;

/// The meter's own whole-recording statistics and energy, as the study's controller printed
/// them (`MAIN_CURRENT: min, max, average, energy_Wh` …).
pub fn meter_statistics<S: Read + Write>(
    client: &mut Client<S>,
    device: &str,
    recording: i64,
    log: &mut dyn Write,
) -> Result<(MeterStats, f64), ClientError> {
    let mut get = |ch: Channel| -> Result<_, ClientError> {
        let info = client.channel_info(recording, device, ch)?;
        client.channel_statistics(recording, device, ch, info.from, info.to)
    };
    let c = get(Channel::MainCurrent)?;
    let v = get(Channel::MainVoltage)?;
    let p = get(Channel::MainPower)?;
    let energy_j = c.energy.unwrap_or(f64::NAN);
    let _ = writeln!(
        log,
        "MAIN_CURRENT: {}, {}, {}, {}",
        repr(c.min),
        repr(c.max),
        repr(c.average),
        repr(energy_j / 3600.0)
    );
    let _ = writeln!(
        log,
        "MAIN_VOLTAGE: {}, {}, {}",
        repr(v.min),
        repr(v.max),
        repr(v.average)
    );
    let _ = writeln!(
        log,
        "MAIN_POWER: {}, {}, {}",
        repr(p.min),
        repr(p.max),
        repr(p.average)
    );
    Ok((
        MeterStats {
            power_min_w: p.min,
            power_max_w: p.max,
            power_avg_w: p.average,
            current_min_a: c.min,
            current_max_a: c.max,
            current_avg_a: c.average,
            voltage_min_v: v.min,
            voltage_max_v: v.max,
            voltage_avg_v: v.average,
        },
        energy_j,
    ))
}

/// The facts a run record is made of.
#[derive(Debug, Clone)]
pub struct RunFacts<'a> {
    /// Label, run, run id.
    pub label: &'a RunLabel,
    /// Recording start, RFC 3339.
    pub started_at: String,
    /// Scenario time, s (`None`: use the recording's length).
    pub duration_s: Option<f64>,
    /// The recording.
    pub recording: &'a RecordingInfo,
    /// The download, when it succeeded.
    pub download: Option<&'a Download>,
    /// The meter's statistics and energy (J), when read.
    pub meter_stats: Option<(MeterStats, f64)>,
    /// Otii or otii-sim (with its power model).
    pub meter: (Meter, Option<String>),
    /// Why the run failed, if it did.
    pub failure: Option<String>,
    /// What the load did.
    pub load: Option<LoadSummary>,
    /// The load command's start and end, s from the recording's first sample (controller's
    /// clock), when it ran.
    pub window: Option<(f64, f64)>,
    /// The load's start and end on the meter's clock, from a user log.
    pub meter_clock: Option<MeterClock>,
}

fn stat(d: Option<&Download>, ch: Channel) -> Option<SampleStats> {
    d.and_then(|d| d.stats_of(ch))
}

/// Builds the run record. Sample statistics come from the trace; without a trace (a failed
/// download) they fall back to the meter's statistics, or 0 — the run is `failed` then.
pub fn run_record(f: RunFacts<'_>) -> RunRecord {
    let d = f.download;
    let ms = f.meter_stats.map(|(s, _)| s);
    let (p, c, v) = (
        stat(d, Channel::MainPower),
        stat(d, Channel::MainCurrent),
        stat(d, Channel::MainVoltage),
    );
    let pick = |s: Option<SampleStats>, which: fn(&SampleStats) -> f64, fallback: Option<f64>| {
        s.as_ref().map(which).or(fallback)
    };
    let recording_s = d.map(|d| d.samples as f64 / d.rate_hz).unwrap_or(0.0);
    let power_avg_w = pick(p, |s| s.mean(), ms.map(|m| m.power_avg_w)).unwrap_or(0.0);
    let duration_s = f.duration_s.unwrap_or(recording_s);
    let mut failure = f.failure;
    if failure.is_none() && d.is_none() {
        failure = Some("no trace was downloaded".into());
    }
    RunRecord {
        schema: RUN_SCHEMA.into(),
        label: f.label.label.clone(),
        run: f.label.run,
        run_id: f.label.run_id.clone(),
        started_at: f.started_at,
        duration_s,
        recording_s,
        sample_rate_hz: d.map(|d| d.rate_hz).unwrap_or(0.0),
        samples: d.map(|d| d.samples).unwrap_or(0),
        power_min_w: pick(p, |s| s.min, ms.map(|m| m.power_min_w)).unwrap_or(0.0),
        power_max_w: pick(p, |s| s.max, ms.map(|m| m.power_max_w)).unwrap_or(0.0),
        power_avg_w,
        current_min_a: pick(c, |s| s.min, ms.map(|m| m.current_min_a)),
        current_max_a: pick(c, |s| s.max, ms.map(|m| m.current_max_a)),
        current_avg_a: pick(c, |s| s.mean(), ms.map(|m| m.current_avg_a)).unwrap_or(0.0),
        voltage_min_v: pick(v, |s| s.min, ms.map(|m| m.voltage_min_v)),
        voltage_max_v: pick(v, |s| s.max, ms.map(|m| m.voltage_max_v)),
        voltage_avg_v: pick(v, |s| s.mean(), ms.map(|m| m.voltage_avg_v)).unwrap_or(0.0),
        energy_j: RunRecord::study_energy_j(power_avg_w, duration_s),
        trace_energy_j: d.and_then(|d| d.trace_energy_j).unwrap_or(0.0),
        meter_energy_j: f.meter_stats.map(|(_, e)| e).filter(|e| e.is_finite()),
        meter_stats: ms,
        trace: d.map(|d| d.file_name.clone()),
        recording: Some(f.recording.name.clone()),
        meter: f.meter.0,
        power_model: f.meter.1,
        status: if failure.is_some() {
            Status::Failed
        } else {
            Status::Ok
        },
        reason: failure,
        load: f.load,
        session: None,
        load_start_s: f.window.map(|w| w.0),
        load_end_s: f.window.map(|w| w.1),
        meter_clock: f.meter_clock,
        speed_probe: None,
    }
}

/// The meter kind a connection reports.
pub fn meter_of<S: Read + Write>(client: &Client<S>) -> (Meter, Option<String>) {
    let info = client.info();
    if info.simulated {
        (
            Meter::OtiiSim,
            Some(info.power_model.clone().unwrap_or_else(|| "unknown".into())),
        )
    } else {
        (Meter::Otii, None)
    }
}

/// A recording's start as RFC 3339 (the server's `start-time`, else now).
pub(crate) fn started_at(rec: Option<&RecordingInfo>, fallback: OffsetDateTime) -> String {
    rec.and_then(|r| r.start_time.clone())
        .unwrap_or_else(|| fallback.format(&Rfc3339).unwrap_or_default())
}
