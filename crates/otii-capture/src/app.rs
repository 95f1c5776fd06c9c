//! The program: connect, reserve a licence, do the action, print what it made.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Context;
use otii_protocol::reply::Device;
use procs::{Exit, Interrupt, Unavailable};
use records::JsonLinesWriter;
use serde::Serialize;

use crate::client::{connect, ClientError};
use crate::config::{Action, Config};
use crate::download::Download;
use crate::fault::{is_no_space, Fault, NoSpace};
use crate::record::{configure, fetch_existing, first_device, record, CaptureError, Captured};

/// An error as `procs::main` should see it: marked [`Unavailable`] (exit 75) when the meter
/// was away.
fn classified<E>(e: E, infrastructure: bool) -> anyhow::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    if infrastructure {
        anyhow::Error::new(Unavailable::new(e))
    } else {
        anyhow::Error::new(e)
    }
}

fn client_err(e: ClientError) -> anyhow::Error {
    let infra = e.is_infrastructure();
    classified(e, infra)
}

fn capture_err(e: CaptureError) -> anyhow::Error {
    let infra = e.is_infrastructure();
    classified(e, infra)
}

/// Runs the action. A run record with status `failed` is printed and exits 1, or 75 when the
/// meter, the server or the network was away ([`Fault::Infrastructure`]); so does an error
/// before any record (no record then). A full disk prints no record and exits 1. An
/// interrupted run exits 130.
pub fn run(cfg: Config, interrupt: &Interrupt) -> anyhow::Result<Exit> {
    let mut client = connect(&cfg.addr, cfg.connect_timeout).map_err(|e| {
        let infra = e.is_infrastructure();
        classified(e, infra)
    })?;
    client
        .ensure_license()
        .map_err(client_err)
        .context("reserving an Automation licence")?;
    let mut err = io::stderr();
    let exit = match cfg.action {
        Action::Devices => {
            let mut out = io::stdout().lock();
            for d in client.devices(3.0).map_err(client_err)? {
                // What a real Otii says of a device; otii-sim's extras are in its greeting.
                let line = Device {
                    simulated: None,
                    power_model: None,
                    ..d
                };
                serde_json::to_writer(&mut out, &line)?;
                writeln!(out)?;
            }
            Exit::Success
        }
        Action::Configure { channels, rate } => {
            let dev = first_device(&mut client).map_err(capture_err)?;
            configure(&mut client, &dev.device_id, &channels, rate).map_err(client_err)?;
            let names: Vec<&str> = channels.iter().map(|c| c.name()).collect();
            eprintln!(
                "otii-capture: {} ({}): {} enabled at {rate} Hz",
                dev.name,
                dev.device_id,
                names.join(",")
            );
            Exit::Success
        }
        Action::Record { plan, timings } => {
            std::fs::create_dir_all(&plan.fetch.out_dir)
                .with_context(|| format!("cannot create {}", plan.fetch.out_dir.display()))?;
            // Fail before recording, not after, when the command's log cannot be written.
            if let Some(dir) = plan.stdout_file.as_deref().and_then(|p| p.parent()) {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                }
            }
            let captured = record(&mut client, &plan, &mut err, interrupt).map_err(capture_err)?;
            finish(&captured, timings, "run")?
        }
        Action::Fetch {
            which,
            label,
            duration_s,
            fetch,
            timings,
        } => {
            std::fs::create_dir_all(&fetch.out_dir)
                .with_context(|| format!("cannot create {}", fetch.out_dir.display()))?;
            let captured = fetch_existing(
                &mut client,
                which,
                &label,
                duration_s,
                &fetch,
                &mut err,
                interrupt,
            )
            .map_err(capture_err)?;
            finish(&captured, timings, "fetch")?
        }
    };
    // Returning licences is courtesy; a dead connection must not turn a good run into a failure.
    if let Err(e) = client.close() {
        eprintln!("otii-capture: warning: returning the licence: {e}");
    }
    if interrupt.is_set() {
        return Ok(Exit::Interrupted);
    }
    Ok(exit)
}

/// Prints the timings (when asked) and the run record; says why a failed run failed and
/// whose fault it was. A record that cannot be written for a full disk leaves no trace either:
/// the run is not recorded.
fn finish(captured: &Captured, timings: bool, what: &str) -> anyhow::Result<Exit> {
    let Captured {
        record: rec,
        download: dl,
        fault,
    } = captured;
    if timings {
        print_timings(dl.as_ref());
    }
    let mut w = JsonLinesWriter::new(io::stdout().lock());
    if let Err(e) = w.write(rec) {
        if is_no_space(&e) {
            let mut removed = String::from("the run record");
            if let Some(d) = dl {
                if std::fs::remove_file(&d.trace.path).is_ok() {
                    removed = format!(
                        "the run record; its trace {} removed",
                        d.trace.path.display()
                    );
                }
            }
            return Err(NoSpace::new(&stdout_path(), removed).into());
        }
        return Err(e).context("writing the run record to stdout");
    }
    drop(w);
    if let Some(r) = &rec.reason {
        match fault {
            Some(Fault::Infrastructure) => eprintln!(
                "otii-capture: {what} not measured (infrastructure fault; repeat it): {r}"
            ),
            _ => eprintln!("otii-capture: {what} failed: {r}"),
        }
    }
    Ok(match (rec.is_ok(), fault) {
        (true, _) => Exit::Success,
        (false, Some(Fault::Infrastructure)) => Exit::Unavailable,
        (false, _) => Exit::Failure,
    })
}

/// The file stdout goes to, for the full-disk message (`stdout` when it is not a file).
fn stdout_path() -> PathBuf {
    std::fs::read_link("/proc/self/fd/1")
        .ok()
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| PathBuf::from("stdout"))
}

/// Where a download's time went, for `--timings` (read by the capture benchmark).
#[derive(Serialize)]
struct Timings {
    #[serde(flatten)]
    download: Option<DownloadTimings>,
    peak_rss_bytes: Option<u64>,
}

#[derive(Serialize)]
struct DownloadTimings {
    samples: u64,
    total_s: f64,
    protocol_s: f64,
    csv_s: f64,
    xz_s: f64,
    csv_bytes: u64,
    xz_bytes: u64,
}

fn print_timings(dl: Option<&Download>) {
    let t = Timings {
        download: dl.map(|d| DownloadTimings {
            samples: d.samples,
            total_s: d.timings.total.as_secs_f64(),
            protocol_s: d.timings.protocol.as_secs_f64(),
            csv_s: d.timings.write.csv.as_secs_f64(),
            xz_s: d.timings.write.xz.as_secs_f64(),
            csv_bytes: d.trace.csv_bytes,
            xz_bytes: d.trace.xz_bytes,
        }),
        peak_rss_bytes: peak_rss_bytes(),
    };
    eprintln!("timings: {}", serde_json::to_string(&t).unwrap_or_default());
}

/// Peak resident memory of this process so far, bytes (`VmHWM`), when the kernel says.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
