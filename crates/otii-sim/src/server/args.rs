//! Typed access to a request's `data`, with the protocol's errors for what is missing or wrong.

use otii_protocol::{Channel, ErrorCode};
use serde_json::{json, Map, Value};

use super::error::ProtoError;
use crate::state::{Recording, Sim, DEVICE_ID};

/// A request's `data`.
pub(super) struct Args<'a>(pub(super) &'a Map<String, Value>);

impl Args<'_> {
    fn get(&self, key: &str) -> Result<&Value, ProtoError> {
        self.0.get(key).ok_or_else(|| ProtoError::missing_key(key))
    }

    pub(super) fn str(&self, key: &str) -> Result<&str, ProtoError> {
        let v = self.get(key)?;
        v.as_str()
            .ok_or_else(|| ProtoError::key_type(key, "string", v))
    }

    pub(super) fn int(&self, key: &str) -> Result<i64, ProtoError> {
        let v = self.get(key)?;
        if let Some(i) = v.as_i64() {
            return Ok(i);
        }
        match v.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
            _ => Err(ProtoError::key_type(key, "integer", v)),
        }
    }

    pub(super) fn num(&self, key: &str) -> Result<f64, ProtoError> {
        let v = self.get(key)?;
        v.as_f64()
            .ok_or_else(|| ProtoError::key_type(key, "number", v))
    }

    pub(super) fn num_in(
        &self,
        key: &str,
        lo: f64,
        hi: f64,
        what: &str,
    ) -> Result<f64, ProtoError> {
        let v = self.num(key)?;
        if (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(ProtoError::key_value(
                key,
                &json!(v),
                format!("{what} {v} out of range ({lo} to {hi})"),
            ))
        }
    }

    pub(super) fn bool(&self, key: &str) -> Result<bool, ProtoError> {
        let v = self.get(key)?;
        match v {
            Value::Bool(b) => Ok(*b),
            // The reference client's `enable_5v` documents `Union[bool, int]`.
            Value::Number(n) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => {
                Ok(n.as_i64() == Some(1))
            }
            _ => Err(ProtoError::key_type(key, "boolean", v)),
        }
    }

    /// Checks that `device_id` names the simulated Arc.
    pub(super) fn device(&self) -> Result<(), ProtoError> {
        let id = self.str("device_id")?;
        if id == DEVICE_ID {
            Ok(())
        } else {
            Err(ProtoError::new(
                ErrorCode::DeviceNotConnected,
                format!("no device with id {id:?} (the simulated Arc is {DEVICE_ID:?})"),
            )
            .with("device_id", json!(id)))
        }
    }

    pub(super) fn channel(&self) -> Result<Channel, ProtoError> {
        let name = self.str("channel")?;
        name.parse::<Channel>()
            .map_err(|e| ProtoError::key_value("channel", &json!(name), e.to_string()))
    }

    /// Checks that `project_id` names the active project.
    pub(super) fn project(&self, sim: &Sim) -> Result<(), ProtoError> {
        let id = self.int("project_id")?;
        if id == sim.project_id {
            Ok(())
        } else {
            Err(ProtoError::new(
                ErrorCode::ProjectDoesNotExist,
                format!(
                    "no project with id {id} (the active project is {})",
                    sim.project_id
                ),
            )
            .with("project_id", json!(id)))
        }
    }

    /// The recording `recording_id` names, or the protocol's error for an unknown id.
    pub(super) fn recording<'s>(&self, sim: &'s Sim) -> Result<&'s Recording, ProtoError> {
        let id = self.int("recording_id")?;
        sim.recording(id).ok_or_else(|| unknown_recording(id))
    }

    /// [`Args::recording`], to change it.
    pub(super) fn recording_mut<'s>(
        &self,
        sim: &'s mut Sim,
    ) -> Result<&'s mut Recording, ProtoError> {
        let id = self.int("recording_id")?;
        sim.recordings
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(|| unknown_recording(id))
    }
}

fn unknown_recording(id: i64) -> ProtoError {
    ProtoError::key_value(
        "recording_id",
        &json!(id),
        format!("no recording with id {id} in the project"),
    )
}
