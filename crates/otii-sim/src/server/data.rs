//! The samples of a recording: how many, which index a time falls on, and the values, which
//! are computed and streamed into the answer outside the state lock.

use std::sync::Arc;

use otii_protocol::reply::{ChannelData, Count, Index};
use otii_protocol::Command;
use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;
use serde_json::json;

use super::{reply, Ctx, ProtoError, Reply};
use crate::model::Signal;
use otii_protocol::Channel;

/// The largest `count` one data request may ask for.
const MAX_DATA_COUNT: u64 = 5_000_000;

/// A data request to compute outside the state lock.
pub(super) struct DataJob {
    signal: Arc<Signal>,
    channel: Channel,
    rate: f64,
    index: u64,
    /// How many values.
    pub(super) count: u64,
}

impl DataJob {
    /// The answer's `data`: the values are computed while it is written.
    pub(super) fn answer(&self) -> ChannelData<Samples<'_>> {
        let analog = self.channel.is_analog();
        ChannelData {
            data_type: self.channel.data_type(),
            timestamp: analog.then(|| self.index as f64 / self.rate),
            interval: analog.then(|| 1.0 / self.rate),
            values: Samples(self),
        }
    }
}

/// The values of a [`DataJob`], serialised as they are computed (none for a channel that is
/// not analog: the simulated Arc logs no text and sees no edges).
pub(super) struct Samples<'a>(&'a DataJob);

impl Serialize for Samples<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let job = self.0;
        if !job.channel.is_analog() {
            return s.serialize_seq(Some(0))?.end();
        }
        let mut seq = s.serialize_seq(usize::try_from(job.count).ok())?;
        let mut err = None;
        job.signal
            .for_each(job.channel, job.rate, job.index, job.count, |v| {
                if err.is_none() {
                    err = seq.serialize_element(&v).err();
                }
            });
        match err {
            Some(e) => Err(e),
            None => seq.end(),
        }
    }
}

/// Whether `cmd` is one of this module's.
pub(super) fn handles(cmd: Command) -> bool {
    matches!(
        cmd,
        Command::RecordingGetChannelDataCount
            | Command::RecordingGetChannelData
            | Command::RecordingGetChannelDataIndex
    )
}

pub(super) fn handle(Ctx(cmd, a, cfg, sim): Ctx<'_>) -> Result<Reply, ProtoError> {
    let sim = &*sim;
    match cmd {
        Command::RecordingGetChannelDataCount => {
            let rec = a.recording(sim)?;
            a.device()?;
            let ch = a.channel()?;
            reply(Count {
                count: rec.count(ch),
            })
        }
        Command::RecordingGetChannelData => {
            let rec = a.recording(sim)?;
            a.device()?;
            let ch = a.channel()?;
            let index = a.int("index")?;
            let count = a.int("count")?;
            let total = rec.count(ch);
            if index < 0 {
                return Err(ProtoError::key_value(
                    "index",
                    &json!(index),
                    "index must be ≥ 0",
                ));
            }
            if count < 0 || count as u64 > MAX_DATA_COUNT {
                return Err(ProtoError::key_value(
                    "count",
                    &json!(count),
                    format!("count must be between 0 and {MAX_DATA_COUNT}"),
                ));
            }
            let (index, count) = (index as u64, count as u64);
            if ch.is_analog() && index + count > total {
                return Err(ProtoError::key_value(
                    "count",
                    &json!(count),
                    format!(
                        "samples {index}..{} requested but channel {ch} of recording {} has {total}",
                        index + count,
                        rec.id
                    ),
                ));
            }
            let rate = f64::from(rec.channels.get(&ch).copied().unwrap_or(cfg.rate_hz));
            Ok(Reply::Data(DataJob {
                signal: rec.signal.clone(),
                channel: ch,
                rate,
                index,
                count,
            }))
        }
        Command::RecordingGetChannelDataIndex => {
            let rec = a.recording(sim)?;
            a.device()?;
            let ch = a.channel()?;
            let ts = a.num("timestamp")?;
            let rate = f64::from(rec.channels.get(&ch).copied().unwrap_or(cfg.rate_hz));
            let total = rec.count(ch);
            if ts < 0.0 || (ts * rate) as u64 >= total.max(1) {
                return Err(ProtoError::key_value(
                    "timestamp",
                    &json!(ts),
                    "timestamp outside the recording",
                ));
            }
            reply(Index {
                index: (ts * rate).floor() as u64,
            })
        }
        _ => Err(super::unsupported(cmd)),
    }
}
