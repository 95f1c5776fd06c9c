//! One measured run: configure, start recording, run the load command, stop, download, and
//! describe the run as a [`RunRecord`]; or an existing recording downloaded again.

use std::io::{Read, Write};
use std::path::PathBuf;

use otii_protocol::reply::{Device, RecordingInfo};
use otii_protocol::{Channel, MAIN_CHANNELS};
use procs::Interrupt;
use records::{MeterStats, RunRecord};
use time::OffsetDateTime;

use crate::client::{Client, ClientError};
use crate::command::run_command;
use crate::describe::{meter_of, meter_statistics, run_record, started_at, RunFacts};
use crate::download::{download, Download, Fetch};

/// The `reason` of a run stopped by Ctrl-C.
pub const INTERRUPTED_REASON: &str = "interrupted (Ctrl-C): recording stopped, not downloaded; `otii-capture fetch` can still get it";

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
    channels: &[Channel],
    rate_hz: u32,
) -> Result<(), ClientError> {
    for &ch in channels {
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

/// Downloads a recording and reads the meter's statistics; failures become the reason.
pub fn fetch_and_describe<S: Read + Write>(
    client: &mut Client<S>,
    device: &str,
    recording: &RecordingInfo,
    fetch: &Fetch,
    log: &mut dyn Write,
    interrupt: &Interrupt,
) -> (Option<Download>, Option<(MeterStats, f64)>, Option<String>) {
    let dl = download(client, device, recording, fetch, interrupt);
    let (dl, mut failure) = match dl {
        Ok(d) => {
            if let Some(c) = &d.uneven_counts {
                let _ = writeln!(log, "otii-capture: warning: channels have different sample counts {c:?}; the trace holds the first {}", d.samples);
            }
            (Some(d), None)
        }
        Err(e) => (None, Some(e.to_string())),
    };
    let has_main = MAIN_CHANNELS.iter().all(|c| fetch.channels.contains(c));
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
/// run record with its reason (and the trace, when it could still be downloaded). Once
/// `interrupt` is set the command is killed, the recording stopped and nothing downloaded.
pub fn record<S: Read + Write>(
    client: &mut Client<S>,
    plan: &RecordPlan,
    log: &mut dyn Write,
    interrupt: &Interrupt,
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
    let outcome = run_command(&plan.command, plan.stdout_file.as_deref(), interrupt);
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
    let (dl, stats) = if interrupt.is_set() {
        // The command's failure (it got the same Ctrl-C) is not the story.
        failure = Some(INTERRUPTED_REASON.into());
        (None, None)
    } else {
        let (dl, stats, fetch_failure) = fetch_and_describe(
            client,
            &device.device_id,
            &recording,
            &plan.fetch,
            log,
            interrupt,
        );
        if let Some(f) = fetch_failure {
            failure.get_or_insert(f);
        }
        (dl, stats)
    };
    let (duration_s, load) = match &outcome {
        Ok(o) => match &o.load {
            Some(t) => (Some(t.duration_s), t.load.clone()),
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
    interrupt: &Interrupt,
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
        fetch_and_describe(client, &device.device_id, &recording, fetch, log, interrupt);
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
