//! The `recording_` commands about a recording as a whole: its channels' time span and
//! statistics, its name, offset, log and user logs, deleting it. Its samples are
//! [`super::data`]'s.

use otii_protocol::reply::{
    ChannelInfo, ChannelStatistics, Offset, Running, UserLogData, UserLogEntry, USER_LOG_DATA_TYPE,
};
use otii_protocol::{Channel, Command};
use serde_json::json;

use super::args::Args;
use super::{done, reply, unsupported, Ctx, ProtoError, Reply};
use crate::model::Signal;
use crate::state::Sim;

pub(super) fn handle(Ctx(cmd, a, _, mut sim): Ctx<'_>) -> Result<Reply, ProtoError> {
    match cmd {
        Command::RecordingGetChannelInfo => {
            let rec = a.recording(&sim)?;
            a.device()?;
            let ch = a.channel()?;
            let Some(&rate) = rec.channels.get(&ch) else {
                return Err(ProtoError::key_value(
                    "channel",
                    &json!(ch.name()),
                    format!("channel {ch} was not recorded in recording {}", rec.id),
                ));
            };
            let to = rec.count(ch) as f64 / f64::from(rate);
            reply(ChannelInfo {
                offset: rec.offset_s,
                from: 0.0,
                to,
                sample_rate: f64::from(rate),
            })
        }
        Command::RecordingGetChannelStatistics => {
            let rec = a.recording(&sim)?;
            a.device()?;
            let ch = a.channel()?;
            let from = a.num("from")?;
            let to = a.num("to")?;
            let Some(&rate) = rec.channels.get(&ch).filter(|_| ch.is_analog()) else {
                return Err(ProtoError::key_value(
                    "channel",
                    &json!(ch.name()),
                    format!("channel {ch} has no analog data in recording {}", rec.id),
                ));
            };
            let total = rec.count(ch);
            let rate = f64::from(rate);
            if from < 0.0 || to < from {
                return Err(ProtoError::key_value(
                    "to",
                    &json!(to),
                    format!("bad interval [{from}, {to}] s"),
                ));
            }
            // Samples at i / rate within [from, to]; 1e-9 s of slack for decimal round trips.
            let first = ((from * rate) - 1e-9 * rate).ceil().max(0.0) as u64;
            let last = (((to * rate) + 1e-9 * rate).floor() as u64 + 1).min(total);
            if first >= last {
                return Err(ProtoError::key_value(
                    "from",
                    &json!(from),
                    format!("no samples of {ch} in [{from}, {to}] s (recording has {total})"),
                ));
            }
            let signal = rec.signal.clone();
            drop(sim);
            reply(statistics(&signal, ch, rate, first, last))
        }
        Command::RecordingRename => {
            let name = a.str("name")?.to_owned();
            a.recording_mut(&mut sim)?.name = name;
            done()
        }
        Command::RecordingDelete => {
            let rec = a.recording(&sim)?;
            if rec.is_running() {
                return Err(ProtoError::failure("cannot delete a running recording"));
            }
            let id = rec.id;
            sim.delete(id);
            done()
        }
        Command::RecordingIsRunning => {
            let running = a.recording(&sim)?.is_running();
            reply(Running { running })
        }
        Command::RecordingLog => {
            let text = a.str("text")?.to_owned();
            let ts = a.num("timestamp").unwrap_or(0.0);
            a.recording_mut(&mut sim)?.log.push((ts, text));
            done()
        }
        Command::RecordingGetOffset => {
            let offset = a.recording(&sim)?.offset_s;
            reply(Offset { offset })
        }
        Command::RecordingSetOffset => {
            let off = a.num("offset")?;
            a.recording_mut(&mut sim)?.offset_s = off;
            done()
        }
        Command::RecordingAppendUserLog => {
            let id = user_log(&a, &sim, "measurement_id")?;
            let time = a.num("time")?;
            let message = a.str("message")?.to_owned();
            let rec = a.recording_mut(&mut sim)?;
            rec.user_logs.entry(id).or_default().append(time, message);
            done()
        }
        Command::RecordingOffsetUserLog => {
            let id = user_log(&a, &sim, "measurement_id")?;
            let offset = a.num("offset")?;
            a.recording_mut(&mut sim)?
                .user_logs
                .entry(id)
                .or_default()
                .offset_s = offset;
            done()
        }
        Command::RecordingGetUserLogData => {
            let id = user_log(&a, &sim, "user_log_id")?;
            let (from, to) = (a.num("from")?, a.num("to")?);
            let filter = a.str("filter")?;
            let page = positive(&a, "page")?;
            let size = positive(&a, "page_size")?;
            let rec = a.recording(&sim)?;
            let selected: Vec<UserLogEntry> = rec
                .user_logs
                .get(&id)
                .map(|log| {
                    log.select(from, to, filter)
                        .map(|(timestamp, m)| UserLogEntry {
                            timestamp,
                            value: m.to_owned(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let total = (selected.len() as u64).div_ceil(size).max(1);
            let values = selected
                .into_iter()
                .skip(usize::try_from((page - 1).saturating_mul(size)).unwrap_or(usize::MAX))
                .take(usize::try_from(size).unwrap_or(usize::MAX))
                .collect();
            reply(UserLogData {
                data_type: USER_LOG_DATA_TYPE.into(),
                page,
                pages_total: total,
                values,
            })
        }
        // recording_downsample_channel, recording_import_log: the simulated data is computed,
        // not stored, and takes no imports.
        _ => Err(unsupported(cmd)),
    }
}

/// The user log `key` names: one the project created.
fn user_log(a: &Args<'_>, sim: &Sim, key: &str) -> Result<String, ProtoError> {
    let id = a.str(key)?;
    if sim.user_logs.iter().any(|l| l == id) {
        Ok(id.to_owned())
    } else {
        Err(ProtoError::key_value(
            key,
            &json!(id),
            format!("no user log {id:?} in the project (create it with project_create_user_log)"),
        ))
    }
}

/// An integer ≥ 1.
fn positive(a: &Args<'_>, key: &str) -> Result<u64, ProtoError> {
    let v = a.int(key)?;
    u64::try_from(v)
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| ProtoError::key_value(key, &json!(v), format!("{key} must be 1 or more")))
}

/// min, max, average (and for `mc` the energy in J and charge in C) over samples
/// `first..last`, from the very values a data request returns.
fn statistics(signal: &Signal, ch: Channel, rate: f64, first: u64, last: u64) -> ChannelStatistics {
    let (mut min, mut max, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
    signal.for_each(ch, rate, first, last - first, |v| {
        min = min.min(v);
        max = max.max(v);
        sum += v;
    });
    let n = (last - first) as f64;
    let mut out = ChannelStatistics {
        min,
        max,
        average: sum / n,
        energy: None,
        charge: None,
    };
    if ch == Channel::MainCurrent {
        let mut energy = 0.0f64;
        signal.for_each(Channel::MainPower, rate, first, last - first, |p| {
            energy += p
        });
        out.energy = Some(energy / rate);
        out.charge = Some(sum / rate);
    }
    out
}
