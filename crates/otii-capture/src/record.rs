//! One measured run: configure, start recording, run the load command, stop, download, and
//! describe the run as a [`RunRecord`].

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use records::{AtomicFile, LoadSummary, Meter, MeterStats, RunRecord, Status, RUN_SCHEMA};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::client::{Client, ClientError, Device, RecordingInfo};
use crate::download::{download, Download};
use crate::pyfloat::repr;
use crate::trace::XzSettings;

/// The `reason` of a run stopped by Ctrl-C.
pub const INTERRUPTED_REASON: &str = "interrupted (Ctrl-C): recording stopped, not downloaded; `otii-capture fetch` can still get it";

/// What to download and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetch {
    /// Channels, in CSV column order (the study: `mc`, `mv`, `mp`).
    pub channels: Vec<String>,
    /// Output directory of traces.
    pub out_dir: PathBuf,
    /// Values per data request.
    pub chunk: u64,
    /// Compression.
    pub xz: XzSettings,
}

/// How a run is labelled in its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLabel {
    /// Group label (`3.12`).
    pub label: String,
    /// Run index in the group.
    pub run: u32,
    /// Joins the run to its request records.
    pub run_id: Option<String>,
}

/// A run to record.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordPlan {
    /// Label, run, run id.
    pub label: RunLabel,
    /// Sample rate to set on every channel.
    pub rate_hz: u32,
    /// The scenario command and its arguments.
    pub command: Vec<String>,
    /// Keep the command's stdout in this file (else it is echoed to stderr).
    pub stdout_file: Option<PathBuf>,
    /// What to download.
    pub fetch: Fetch,
}

/// What the command said about its load, parsed from a `minitwit-load trigger`-style line.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TriggerLine {
    /// The scenario time it measured, s.
    pub duration_s: Option<f64>,
    /// Requests, errors, statuses, clients.
    pub load: Option<LoadSummary>,
}

/// Reads one stdout line leniently: a JSON object with a numeric `duration_s` is a summary
/// of the load (`requests`, `errors`, `by_status`, `clients` as a list or a number, all
/// optional); anything else (request records, plain text) is not.
pub fn parse_trigger_line(line: &str) -> Option<TriggerLine> {
    let v: Value = serde_json::from_str(line.trim()).ok()?;
    let duration_s = v.get("duration_s")?.as_f64()?;
    let load = if v.get("requests").is_some() || v.get("by_status").is_some() {
        let by_status: BTreeMap<String, u64> = v
            .get("by_status")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, n)| n.as_u64().map(|n| (k.clone(), n)))
                    .collect()
            })
            .unwrap_or_default();
        let clients = match v.get("clients") {
            Some(Value::Array(a)) => u32::try_from(a.len()).ok(),
            Some(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            None => None,
        };
        Some(LoadSummary {
            requests: v.get("requests").and_then(Value::as_u64).unwrap_or(0),
            errors: v.get("errors").and_then(Value::as_u64).unwrap_or(0),
            by_status,
            clients,
        })
    } else {
        None
    };
    Some(TriggerLine {
        duration_s: Some(duration_s),
        load,
    })
}

/// How the command ended.
#[derive(Debug)]
pub struct CommandOutcome {
    /// Wall time from just before spawning to its exit.
    pub wall: Duration,
    /// Its exit status.
    pub status: ExitStatus,
    /// The last summary line it printed, if any.
    pub trigger: Option<TriggerLine>,
}

/// Runs `argv`, passing its stdout to `stdout_file` (kept even when the command fails) or to
/// our stderr, and watching it for a load summary line. After [`crate::request_interrupt`]
/// the command is killed.
pub fn run_command(argv: &[String], stdout_file: Option<&Path>) -> io::Result<CommandOutcome> {
    let (prog, args) = argv
        .split_first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no command given"))?;
    let keep = match stdout_file {
        Some(p) => Some(AtomicFile::create(p)?),
        None => None,
    };
    let start = Instant::now();
    let mut child = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run {prog:?}: {e}")))?;
    let out = child.stdout.take();
    let reader = std::thread::spawn(move || pass_stdout(out, keep));
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if crate::interrupted() {
            let _ = child.kill();
            break child.wait()?;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let wall = start.elapsed();
    let trigger = reader
        .join()
        .map_err(|_| io::Error::other("the thread reading the command's stdout panicked"))??;
    Ok(CommandOutcome {
        wall,
        status,
        trigger,
    })
}

/// Copies the command's stdout line by line and returns the last summary line seen.
fn pass_stdout(
    out: Option<std::process::ChildStdout>,
    mut keep: Option<AtomicFile>,
) -> io::Result<Option<TriggerLine>> {
    let mut trigger = None;
    if let Some(out) = out {
        let mut reader = BufReader::new(out);
        let mut line = String::new();
        let mut echo = io::stderr();
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                break;
            }
            if let Some(t) = parse_trigger_line(&line) {
                trigger = Some(t);
            }
            match keep.as_mut() {
                Some(f) => f.write_all(line.as_bytes())?,
                None => echo.write_all(line.as_bytes())?,
            }
        }
    }
    if let Some(f) = keep {
        f.commit()?;
    }
    Ok(trigger)
}

/// Picks the first Arc or Ace, as the study's controller did.
pub fn first_device<S: Read + Write>(client: &mut Client<S>) -> Result<Device, CaptureError> {
    let devices = client.devices(3.0)?;
    devices
        .into_iter()
        .find(|d| matches!(d.kind.as_str(), "Arc" | "Ace" | "Simulator"))
        .ok_or(CaptureError::NoDevice)
}

/// Enables `channels` at `rate_hz` on `device`.
pub fn configure<S: Read + Write>(
    client: &mut Client<S>,
    device: &str,
    channels: &[String],
    rate_hz: u32,
) -> Result<(), ClientError> {
    for ch in channels {
        client.enable_channel(device, ch, true)?;
        client.set_sample_rate(device, ch, rate_hz)?;
    }
    Ok(())
}

/// Why a capture could not even start.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// A request failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// No Arc is connected to the Otii application.
    #[error("no Arc or Ace connected to the Otii (otii_get_devices returned none): connect the Arc by USB and check it shows in the Otii application")]
    NoDevice,
    /// No project is open.
    #[error("the Otii has no active project: open or create one in the Otii application")]
    NoProject,
    /// The requested recording does not exist.
    #[error("no recording {0} in the active project")]
    NoRecording(String),
}

/// The meter's own whole-recording statistics and energy, as the study's controller printed
/// them (`MAIN_CURRENT: min, max, average, energy_Wh` …).
pub fn meter_statistics<S: Read + Write>(
    client: &mut Client<S>,
    device: &str,
    recording: i64,
    log: &mut dyn Write,
) -> Result<(MeterStats, f64), ClientError> {
    let mut get = |ch: &str| -> Result<_, ClientError> {
        let info = client.channel_info(recording, device, ch)?;
        client.channel_statistics(recording, device, ch, info.from, info.to)
    };
    let c = get("mc")?;
    let v = get("mv")?;
    let p = get("mp")?;
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
}

fn stat(d: Option<&Download>, ch: &str) -> Option<crate::download::SampleStats> {
    d.and_then(|d| d.stats.iter().find(|(c, _)| c == ch).map(|(_, s)| *s))
}

/// Builds the run record. Sample statistics come from the trace; without a trace (a failed
/// download) they fall back to the meter's statistics, or 0 — the run is `failed` then.
pub fn run_record(f: RunFacts<'_>) -> RunRecord {
    let d = f.download;
    let ms = f.meter_stats.map(|(s, _)| s);
    let (p, c, v) = (stat(d, "mp"), stat(d, "mc"), stat(d, "mv"));
    let pick = |s: Option<crate::download::SampleStats>,
                which: fn(&crate::download::SampleStats) -> f64,
                fallback: Option<f64>| { s.as_ref().map(which).or(fallback) };
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
fn started_at(rec: Option<&RecordingInfo>, fallback: OffsetDateTime) -> String {
    rec.and_then(|r| r.start_time.clone())
        .unwrap_or_else(|| fallback.format(&Rfc3339).unwrap_or_default())
}

/// Downloads a recording and reads the meter's statistics; failures become the reason.
pub fn fetch_and_describe<S: Read + Write>(
    client: &mut Client<S>,
    device: &str,
    recording: &RecordingInfo,
    fetch: &Fetch,
    log: &mut dyn Write,
) -> (Option<Download>, Option<(MeterStats, f64)>, Option<String>) {
    let dl = download(
        client,
        device,
        recording,
        &fetch.channels,
        &fetch.out_dir,
        fetch.chunk,
        fetch.xz,
    );
    let (dl, mut failure) = match dl {
        Ok(d) => {
            if let Some(c) = &d.uneven_counts {
                let _ = writeln!(log, "otii-capture: warning: channels have different sample counts {c:?}; the trace holds the first {}", d.samples);
            }
            (Some(d), None)
        }
        Err(e) => (None, Some(e.to_string())),
    };
    let has_main = ["mc", "mv", "mp"]
        .iter()
        .all(|c| fetch.channels.iter().any(|x| x == c));
    let stats = if has_main {
        match meter_statistics(client, device, recording.recording_id, log) {
            Ok(s) => Some(s),
            Err(e) => {
                failure.get_or_insert_with(|| format!("meter statistics: {e}"));
                None
            }
        }
    } else {
        None
    };
    (dl, stats, failure)
}

/// Records one run: configure, start, run the command, stop, download, describe.
///
/// Errors before the recording started are returned as `Err`; anything after is a `failed`
/// run record with its reason (and the trace, when it could still be downloaded).
pub fn record<S: Read + Write>(
    client: &mut Client<S>,
    plan: &RecordPlan,
    log: &mut dyn Write,
) -> Result<(RunRecord, Option<Download>), CaptureError> {
    let device = first_device(client)?;
    configure(
        client,
        &device.device_id,
        &plan.fetch.channels,
        plan.rate_hz,
    )?;
    let project = client.active_project()?.ok_or(CaptureError::NoProject)?;
    let now = OffsetDateTime::now_utc();
    client.start_recording(project)?;
    let outcome = run_command(&plan.command, plan.stdout_file.as_deref());
    let stopped = client.stop_recording(project);
    let mut failure = match &outcome {
        Err(e) => Some(format!("command failed to run: {e}")),
        Ok(o) if !o.status.success() => Some(format!(
            "command {:?} exited with {}",
            plan.command.join(" "),
            o.status
        )),
        Ok(_) => None,
    };
    if let Err(e) = stopped {
        failure.get_or_insert_with(|| format!("stopping the recording: {e}"));
    }
    let recording = client
        .last_recording(project)?
        .ok_or_else(|| CaptureError::NoRecording("(last)".into()))?;
    let (dl, stats) = if crate::interrupted() {
        // The command's failure (it got the same Ctrl-C) is not the story.
        failure = Some(INTERRUPTED_REASON.into());
        (None, None)
    } else {
        let (dl, stats, fetch_failure) =
            fetch_and_describe(client, &device.device_id, &recording, &plan.fetch, log);
        if let Some(f) = fetch_failure {
            failure.get_or_insert(f);
        }
        (dl, stats)
    };
    let (duration_s, load) = match &outcome {
        Ok(o) => match &o.trigger {
            Some(t) => (t.duration_s.or(Some(o.wall.as_secs_f64())), t.load.clone()),
            None => (Some(o.wall.as_secs_f64()), None),
        },
        Err(_) => (None, None),
    };
    let rec = run_record(RunFacts {
        label: &plan.label,
        started_at: started_at(Some(&recording), now),
        duration_s,
        recording: &recording,
        download: dl.as_ref(),
        meter_stats: stats,
        meter: meter_of(client),
        failure,
        load,
    });
    Ok((rec, dl))
}

/// Which recording to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The project's last recording.
    Last,
    /// A recording id.
    Id(i64),
}

/// Downloads an existing recording again and describes it (the scenario time is unknown:
/// `duration_s` is the recording's length unless given).
pub fn fetch_existing<S: Read + Write>(
    client: &mut Client<S>,
    which: Which,
    label: &RunLabel,
    duration_s: Option<f64>,
    fetch: &Fetch,
    log: &mut dyn Write,
) -> Result<(RunRecord, Option<Download>), CaptureError> {
    let device = first_device(client)?;
    let project = client.active_project()?.ok_or(CaptureError::NoProject)?;
    let recording = match which {
        Which::Last => client
            .last_recording(project)?
            .ok_or_else(|| CaptureError::NoRecording("(the project has none)".into()))?,
        Which::Id(id) => client
            .recordings(project)?
            .into_iter()
            .find(|r| r.recording_id == id)
            .ok_or_else(|| CaptureError::NoRecording(id.to_string()))?,
    };
    let (dl, stats, failure) =
        fetch_and_describe(client, &device.device_id, &recording, fetch, log);
    let rec = run_record(RunFacts {
        label,
        started_at: started_at(Some(&recording), OffsetDateTime::now_utc()),
        duration_s,
        recording: &recording,
        download: dl.as_ref(),
        meter_stats: stats,
        meter: meter_of(client),
        failure,
        load: None,
    });
    Ok((rec, dl))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_line_is_parsed_leniently() {
        let t = parse_trigger_line(
            r#"{"duration_s":140.1,"clients":["a","b","c"],"requests":492,"errors":1,"by_status":{"200":400,"302":92}}"#,
        )
        .unwrap();
        assert_eq!(t.duration_s, Some(140.1));
        let l = t.load.unwrap();
        assert_eq!((l.requests, l.errors, l.clients), (492, 1, Some(3)));
        assert_eq!(l.by_status["302"], 92);
        let t = parse_trigger_line(r#"{"duration_s": 3}"#).unwrap();
        assert_eq!((t.duration_s, t.load), (Some(3.0), None));
        assert!(parse_trigger_line(r#"{"schema":"request/1","seq":1}"#).is_none());
        assert!(parse_trigger_line("Scenario took 0:02:20").is_none());
        assert!(parse_trigger_line(r#"{"duration_s":"x"}"#).is_none());
    }

    #[test]
    fn command_stdout_goes_to_file_and_summary_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("req.jsonl");
        let argv: Vec<String> = [
            "sh",
            "-c",
            r#"echo '{"schema":"request/1"}'; echo '{"duration_s":0.5,"requests":3,"errors":0,"by_status":{"200":3}}'"#,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let o = run_command(&argv, Some(&f)).unwrap();
        assert!(o.status.success());
        assert_eq!(o.trigger.unwrap().duration_s, Some(0.5));
        assert_eq!(std::fs::read_to_string(&f).unwrap().lines().count(), 2);
    }
}
