//! The `project_` commands: starting and stopping recordings, listing them, creating user logs.

use otii_protocol::reply::{LastRecording, Recordings, UserLogId};
use otii_protocol::Command;

use super::{done, reply, unsupported, Ctx, ProtoError, Reply};
use crate::model::Load;

pub(super) fn handle(Ctx(cmd, a, cfg, mut sim): Ctx<'_>) -> Result<Reply, ProtoError> {
    match cmd {
        Command::ProjectStartRecording => {
            a.project(&sim)?;
            if sim.recorded_channels().is_empty() {
                return Err(ProtoError::failure(
                    "no channel is enabled; enable one with arc_enable_channel",
                ));
            }
            let rec = sim.start_recording(cfg).map_err(ProtoError::failure)?;
            eprintln!(
                "otii-sim: recording {} {:?} started (power modelled: {})",
                rec.id,
                rec.name,
                cfg.model.name()
            );
            done()
        }
        Command::ProjectStopRecording => {
            a.project(&sim)?;
            let rec = sim.stop_recording().map_err(ProtoError::failure)?;
            let load = match &rec.signal.load {
                Load::Timeline(tl) => format!(", mean cpu load {:.3}", tl.mean()),
                _ => String::new(),
            };
            eprintln!(
                "otii-sim: recording {} {:?} stopped after {:.3} s{load}",
                rec.id,
                rec.name,
                rec.length()
            );
            done()
        }
        Command::ProjectGetLastRecording => {
            a.project(&sim)?;
            let last = sim.recordings.last().map(|r| r.info());
            reply(LastRecording::of(last.as_ref()))
        }
        Command::ProjectGetRecordings => {
            a.project(&sim)?;
            reply(Recordings {
                recordings: sim.recordings.iter().map(|r| r.info()).collect(),
            })
        }
        Command::ProjectCreateUserLog => {
            a.project(&sim)?;
            let name = a.str("id")?;
            if name.is_empty() {
                return Err(ProtoError::key_value(
                    "id",
                    &serde_json::json!(name),
                    "a user log needs a non-empty id",
                ));
            }
            let id = sim.create_user_log(name);
            reply(UserLogId { id })
        }
        // project_save, project_close, project_crop_data: the project lives in memory only.
        _ => Err(unsupported(cmd)),
    }
}
