//! Error answers: a protocol error code, a message, and the details the reference client
//! reads from `data`.

use otii_protocol::{ErrorCode, ErrorMessage, Message};
use serde_json::{json, Map, Value};

/// A refused request, before it is addressed to its command and `trans_id`.
#[derive(Debug, Clone)]
pub(super) struct ProtoError {
    code: ErrorCode,
    message: String,
    data: Map<String, Value>,
}

impl ProtoError {
    pub(super) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: Map::new(),
        }
    }

    /// Adds a detail to `data` (the reference client formats some codes from them).
    pub(super) fn with(mut self, key: &str, value: Value) -> Self {
        self.data.insert(key.into(), value);
        self
    }

    /// `Command failure`: the command cannot be carried out now.
    pub(super) fn failure(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::CommandFailure, message)
    }

    pub(super) fn missing_key(key: &str) -> Self {
        Self::new(
            ErrorCode::MissingKey,
            format!("missing key {key:?} in the request"),
        )
        .with("key", json!(key))
    }

    pub(super) fn key_type(key: &str, expected: &str, got: &Value) -> Self {
        let received = match got {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        Self::new(
            ErrorCode::InvalidKeyType,
            format!("key {key:?} must be a {expected}, got a {received}"),
        )
        .with("key", json!(key))
        .with("expected_type", json!(expected))
        .with("received_type", json!(received))
    }

    pub(super) fn key_value(key: &str, value: &Value, why: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidKeyValue, why)
            .with("key", json!(key))
            .with("value", value.clone())
    }

    /// The error message answering `cmd`/`trans_id`.
    pub(super) fn to_message(&self, cmd: &str, trans_id: &Value) -> Message {
        Message::Error(ErrorMessage::new(
            cmd,
            trans_id.clone(),
            self.code.clone(),
            self.message.clone(),
            self.data.clone(),
        ))
    }
}
