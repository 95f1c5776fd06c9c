//! The program: connect, reserve a licence, do the action, print what it made.

use std::io::{self, Write};

use anyhow::Context;
use otii_protocol::reply::Device;
use procs::{Exit, Interrupt};
use records::{JsonLinesWriter, RunRecord};
use serde::Serialize;

use crate::client::connect;
use crate::config::{Action, Config};
use crate::download::Download;
use crate::record::{configure, fetch_existing, first_device, record};

/// Runs the action. A run record with status `failed` is printed and exits 1; an interrupted
/// run exits 130.
pub fn run(cfg: Config, interrupt: &Interrupt) -> anyhow::Result<Exit> {
    let mut client = connect(&cfg.addr, cfg.connect_timeout)?;
    client
        .ensure_license()
        .context("reserving an Automation licence")?;
    let mut err = io::stderr();
    let ok = match cfg.action {
        Action::Devices => {
            let mut out = io::stdout().lock();
            for d in client.devices(3.0)? {
                // What a real Otii says of a device; otii-sim's extras are in its greeting.
                let line = Device {
                    simulated: None,
                    power_model: None,
                    ..d
                };
                serde_json::to_writer(&mut out, &line)?;
                writeln!(out)?;
            }
            true
        }
        Action::Configure { channels, rate } => {
            let dev = first_device(&mut client)?;
            configure(&mut client, &dev.device_id, &channels, rate)?;
            let names: Vec<&str> = channels.iter().map(|c| c.name()).collect();
            eprintln!(
                "otii-capture: {} ({}): {} enabled at {rate} Hz",
                dev.name,
                dev.device_id,
                names.join(",")
            );
            true
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
            let (rec, dl) = record(&mut client, &plan, &mut err, interrupt)?;
            finish(&rec, dl.as_ref(), timings, "run")?
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
            let (rec, dl) = fetch_existing(
                &mut client,
                which,
                &label,
                duration_s,
                &fetch,
                &mut err,
                interrupt,
            )?;
            finish(&rec, dl.as_ref(), timings, "fetch")?
        }
    };
    // Returning licences is courtesy; a dead connection must not turn a good run into a failure.
    if let Err(e) = client.close() {
        eprintln!("otii-capture: warning: returning the licence: {e}");
    }
    Ok(Exit::from_ok(ok, interrupt))
}

/// Prints the timings (when asked) and the run record; says why a failed run failed.
fn finish(
    rec: &RunRecord,
    dl: Option<&Download>,
    timings: bool,
    what: &str,
) -> anyhow::Result<bool> {
    if timings {
        print_timings(dl);
    }
    let mut w = JsonLinesWriter::new(io::stdout().lock());
    w.write(rec).context("writing the run record to stdout")?;
    drop(w);
    if let Some(r) = &rec.reason {
        eprintln!("otii-capture: {what} failed: {r}");
    }
    Ok(rec.is_ok())
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
