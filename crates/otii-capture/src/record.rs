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
use crate::command::{run_command, CommandOutcome};
use crate::describe::{meter_of, meter_statistics, run_record, started_at, RunFacts};
use crate::download::{download, Download, DownloadError, Fetch};
use crate::fault::{is_no_space, Fault, NoSpace, LOAD_UNAVAILABLE};
use crate::timebase::{note_no_meter_clock, Bracket, LoadLog, MeterProbe, TimeBase};

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

/// Why a capture could not even start, or had to stop without a record.
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
    /// The disk filled while writing the trace or the command's output.
    #[error(transparent)]
    NoSpace(#[from] NoSpace),
}

impl RunLabel {
    /// What tells this run's user-log entries from others': `<label> run <n>` and the run id.
    pub fn tag(&self) -> String {
        match &self.run_id {
            Some(id) => format!("{} run {} ({id})", self.label, self.run),
            None => format!("{} run {}", self.label, self.run),
        }
    }
}

impl CaptureError {
    /// Whether the meter was away (the connection failed, or no Arc is connected): an
    /// infrastructure fault, nothing measured, worth retrying.
    pub fn is_infrastructure(&self) -> bool {
        match self {
            CaptureError::Client(c) => c.is_infrastructure(),
            CaptureError::NoDevice => true,
            _ => false,
        }
    }
}

/// A run described: its record, its download (when there was one) and, for a failed run,
/// whose fault it was.
#[derive(Debug)]
pub struct Captured {
    /// The run record (status `failed` with its `reason`, or `ok`).
    pub record: RunRecord,
    /// The trace downloaded, when it was.
    pub download: Option<Download>,
    /// Whose fault the failure was; `None` for an ok run and an interrupted one.
    pub fault: Option<Fault>,
}

/// The failure a run record will carry: the first met, except that an infrastructure fault
/// replaces a run fault (the run must be repeated whatever else went wrong, and its reason is
/// then the one to read).
#[derive(Debug, Default)]
struct Failure(Option<(String, Fault)>);

impl Failure {
    fn add(&mut self, text: String, fault: Fault) {
        match &self.0 {
            None => self.0 = Some((text, fault)),
            Some((_, Fault::Run)) if fault == Fault::Infrastructure => {
                self.0 = Some((text, fault));
            }
            Some(_) => {}
        }
    }

    fn client(&mut self, what: &str, e: &ClientError) {
        self.add(format!("{what}{e}"), fault_of(e));
    }

    fn split(self) -> (Option<String>, Option<Fault>) {
        match self.0 {
            Some((text, fault)) => (Some(text), Some(fault)),
            None => (None, None),
        }
    }
}

fn fault_of(e: &ClientError) -> Fault {
    if e.is_infrastructure() {
        Fault::Infrastructure
    } else {
        Fault::Run
    }
}

/// The meter's own statistics of a recording and its energy, J.
type MeterReading = (MeterStats, f64);

/// Downloads a recording and reads the meter's statistics; failures go into `failure`. A full
/// disk stops it: [`CaptureError::NoSpace`], the temporary trace removed.
fn fetch_and_describe<S: Read + Write>(
    client: &mut Client<S>,
    device: &str,
    recording: &RecordingInfo,
    fetch: &Fetch,
    log: &mut dyn Write,
    interrupt: &Interrupt,
    failure: &mut Failure,
) -> Result<(Option<Download>, Option<MeterReading>), CaptureError> {
    let dl = match download(client, device, recording, fetch, interrupt) {
        Ok(d) => {
            if let Some(c) = &d.uneven_counts {
                let _ = writeln!(log, "otii-capture: warning: channels have different sample counts {c:?}; the trace holds the first {}", d.samples);
            }
            Some(d)
        }
        Err(DownloadError::Io { path, source }) if is_no_space(&source) => {
            return Err(NoSpace::new(&path, "the trace; its temporary file removed").into());
        }
        Err(e) => {
            let fault = match &e {
                DownloadError::Client(c) | DownloadError::Chunk { source: c, .. } => fault_of(c),
                _ => Fault::Run,
            };
            failure.add(e.to_string(), fault);
            None
        }
    };
    let has_main = MAIN_CHANNELS.iter().all(|c| fetch.channels.contains(c));
    let stats = if has_main {
        match meter_statistics(client, device, recording.recording_id, log) {
            Ok(s) => Some(s),
            Err(e) => {
                failure.client("meter statistics: ", &e);
                None
            }
        }
    } else {
        None
    };
    Ok((dl, stats))
}

/// Records one run: configure, start, run the command, stop, download, describe.
///
/// Errors before the recording started are returned as `Err`; anything after is a `failed`
/// run record with its reason and [`Fault`] (and the trace, when it could still be
/// downloaded), except a full disk, which is [`CaptureError::NoSpace`] with nothing kept. The
/// load command exiting [`LOAD_UNAVAILABLE`] (75) is an infrastructure fault: it says the
/// server was away. Once `interrupt` is set the command is killed, the recording stopped and
/// nothing downloaded.
pub fn record<S: Read + Write>(
    client: &mut Client<S>,
    plan: &RecordPlan,
    log: &mut dyn Write,
    interrupt: &Interrupt,
) -> Result<Captured, CaptureError> {
    let device = first_device(client)?;
    configure(
        client,
        &device.device_id,
        &plan.fetch.channels,
        plan.rate_hz,
    )?;
    let project = client.active_project()?.ok_or(CaptureError::NoProject)?;
    let mut load_log = LoadLog::create(client, project, plan.label.tag(), log);
    let now = OffsetDateTime::now_utc();
    let base = TimeBase {
        start: start_recording(client, project, log)?,
    };
    // The meter's own "now" just before the load and just after it, for the user log.
    let live = match load_log {
        Some(_) => client.last_recording(project).ok().flatten(),
        None => None,
    }
    .map(|r| r.recording_id);
    let before_load = load_log
        .as_ref()
        .and_then(|_| probe_meter(client, live, &device.device_id, plan, log));
    let outcome = run_command(&plan.command, plan.stdout_file.as_deref(), interrupt);
    let after_load =
        before_load.and_then(|_| probe_meter(client, live, &device.device_id, plan, log));
    if after_load.is_none() {
        load_log = None;
    }
    let stopped = client.stop_recording(project);
    let mut failure = Failure::default();
    match &outcome {
        Err(e) if is_no_space(e) => {
            let path = plan.stdout_file.clone().unwrap_or_default();
            return Err(NoSpace::new(&path, "the command's output; its temporary file removed").into());
        }
        Err(e) => failure.add(format!("command failed to run: {e}"), Fault::Run),
        Ok(o) if o.status.code() == Some(LOAD_UNAVAILABLE) => failure.add(
            format!(
                "the load found the server away: command {:?} exited with {} (nothing was run; its own error line says why)",
                plan.command.join(" "),
                o.status
            ),
            Fault::Infrastructure,
        ),
        Ok(o) if !o.status.success() => failure.add(
            format!(
                "command {:?} exited with {}",
                plan.command.join(" "),
                o.status
            ),
            Fault::Run,
        ),
        Ok(_) => {}
    }
    if let Err(e) = stopped {
        failure.client("stopping the recording: ", &e);
    }
    let recording = client
        .last_recording(project)?
        .ok_or_else(|| CaptureError::NoRecording("(last)".into()))?;
    let (dl, stats) = if interrupt.is_set() {
        // The command's failure (it got the same Ctrl-C) is not the story.
        failure = Failure(Some((INTERRUPTED_REASON.into(), Fault::Run)));
        (None, None)
    } else {
        fetch_and_describe(
            client,
            &device.device_id,
            &recording,
            &plan.fetch,
            log,
            interrupt,
            &mut failure,
        )?
    };
    let instants = outcome.as_ref().ok().map(CommandOutcome::load_window);
    let window = instants.map(|(s, e)| (base.seconds(s), base.seconds(e)));
    let meter_clock = match (&load_log, window, instants, before_load, after_load) {
        (Some(ul), Some((start_s, _)), Some((s, e)), Some(b), Some(a))
            if live == Some(recording.recording_id) =>
        {
            let meter = (b.meter_at(s), a.meter_at(e));
            match ul.mark(client, recording.recording_id, meter, start_s) {
                Ok(c) => Some(c),
                Err(why) => {
                    note_no_meter_clock(log, &why);
                    None
                }
            }
        }
        _ => None,
    };
    let (duration_s, load) = match &outcome {
        Ok(o) => match &o.load {
            Some(t) => (Some(t.duration_s), t.load.clone()),
            None => (Some(o.wall.as_secs_f64()), None),
        },
        Err(_) => (None, None),
    };
    let (failure, fault) = failure.split();
    let record = run_record(RunFacts {
        label: &plan.label,
        started_at: started_at(Some(&recording), now),
        duration_s,
        recording: &recording,
        download: dl.as_ref(),
        meter_stats: stats,
        meter: meter_of(client),
        failure,
        load,
        window,
        meter_clock,
    });
    let fault = fault.filter(|_| !interrupt.is_set());
    Ok(Captured {
        record,
        download: dl,
        fault,
    })
}

/// The meter's sample count of the first recorded analog channel of the running recording
/// `rec`, as time; `None` (said on `log`) when it cannot be read: the run goes on without a
/// user log.
fn probe_meter<S: Read + Write>(
    client: &mut Client<S>,
    rec: Option<i64>,
    device: &str,
    plan: &RecordPlan,
    log: &mut dyn Write,
) -> Option<MeterProbe> {
    let channel = plan
        .fetch
        .channels
        .iter()
        .copied()
        .find(|c| c.is_analog())?;
    match MeterProbe::read(client, rec?, device, channel, f64::from(plan.rate_hz)) {
        Ok(p) => Some(p),
        Err(e) => {
            note_no_meter_clock(
                log,
                &format!("reading the meter's sample count failed ({e})"),
            );
            None
        }
    }
}

/// Starts the run's recording. A recording the meter refuses to start beside is one a crashed
/// or killed capture left running (the Otii allows one at a time, and a recording belongs to the
/// project, not to the connection that started it): it is stopped, said on `log`, and the start
/// tried once more. When nothing was running (stopping is refused too), the first refusal is
/// the error, as it was.
///
/// Returns the controller's instants around the start that succeeded: the recording's first
/// sample was taken in between ([`TimeBase`]).
fn start_recording<S: Read + Write>(
    client: &mut Client<S>,
    project: i64,
    log: &mut dyn Write,
) -> Result<Bracket, ClientError> {
    match Bracket::around(|| client.start_recording(project)) {
        (Err(refused @ ClientError::Server { .. }), _) => {
            if client.stop_recording(project).is_err() {
                return Err(refused);
            }
            let _ = writeln!(
                log,
                "otii-capture: a recording was already running on the meter (left by an interrupted capture?): stopped it, starting this run's ({refused})"
            );
            let (started, at) = Bracket::around(|| client.start_recording(project));
            started.map(|()| at)
        }
        (other, at) => other.map(|()| at),
    }
}

/// Which recording to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The project's last recording.
    Last,
    /// A recording id.
    Id(i64),
}

/// Downloads an existing recording again and describes it; failures as in [`record`] (the scenario time is unknown:
/// `duration_s` is the recording's length unless given).
pub fn fetch_existing<S: Read + Write>(
    client: &mut Client<S>,
    which: Which,
    label: &RunLabel,
    duration_s: Option<f64>,
    fetch: &Fetch,
    log: &mut dyn Write,
    interrupt: &Interrupt,
) -> Result<Captured, CaptureError> {
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
    let mut failure = Failure::default();
    let (dl, stats) = fetch_and_describe(
        client,
        &device.device_id,
        &recording,
        fetch,
        log,
        interrupt,
        &mut failure,
    )?;
    let (failure, fault) = failure.split();
    let record = run_record(RunFacts {
        label,
        started_at: started_at(Some(&recording), OffsetDateTime::now_utc()),
        duration_s,
        recording: &recording,
        download: dl.as_ref(),
        meter_stats: stats,
        meter: meter_of(client),
        failure,
        load: None,
        window: None,
        meter_clock: None,
    });
    Ok(Captured {
        record,
        download: dl,
        fault: fault.filter(|_| !interrupt.is_set()),
    })
}
