//! The messages on the wire: what each `type` of message carries around its `data`.
//!
//! A client sends `request`s; the server answers each with a `response` or an `error` that
//! carries the request's `trans_id`. Two kinds come unasked: `information` (the greeting right
//! after connecting) and `progress` (while a project is opened or saved with `"progress": true`;
//! never during data downloads). A client waiting for an answer skips both. A server must not
//! send `information` after the greeting: the reference client takes any `information` message
//! for the answer it is waiting for.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::command::Command;
use crate::error_code::ErrorCode;

/// The `protocol_version` the Otii 3 application's greeting reports.
pub const PROTOCOL_VERSION: &str = "0.1";

/// The `info` of the greeting.
pub const CONNECTED: &str = "connected";

/// Any message, tagged by its `type`. `D` is the `data` of requests and responses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Message<D = Value> {
    /// A command from the client.
    Request(Request<D>),
    /// A successful answer.
    Response(Response<D>),
    /// A refused command, or a request the server could not read.
    Error(ErrorMessage),
    /// Unsolicited: a long answer is on its way.
    Progress(Progress),
    /// Unsolicited: the greeting.
    Information(Information),
}

/// The `type` of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// `request`.
    Request,
    /// `response`.
    Response,
    /// `error`.
    Error,
    /// `progress`.
    Progress,
    /// `information`.
    Information,
}

impl MessageKind {
    /// The kind a `type` names, if it is one of the protocol's.
    pub fn from_wire(text: &str) -> Option<MessageKind> {
        Some(match text {
            "request" => MessageKind::Request,
            "response" => MessageKind::Response,
            "error" => MessageKind::Error,
            "progress" => MessageKind::Progress,
            "information" => MessageKind::Information,
            _ => return None,
        })
    }

    /// The `type` on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Request => "request",
            MessageKind::Response => "response",
            MessageKind::Error => "error",
            MessageKind::Progress => "progress",
            MessageKind::Information => "information",
        }
    }

    /// Whether the server sends it unasked, so a client waiting for an answer skips it.
    pub fn is_unsolicited(self) -> bool {
        matches!(self, MessageKind::Progress | MessageKind::Information)
    }
}

/// `{"type":"request","cmd":…,"trans_id":…,"data":…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request<D = Value> {
    /// The command.
    pub cmd: Command,
    /// Chosen by the client, echoed in the answer (the reference client counts `"1"`, `"2"`, …).
    pub trans_id: String,
    /// The command's arguments (an object, `{}` when it has none).
    pub data: D,
}

/// `{"type":"response","cmd":…,"trans_id":…,"data":…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response<D = Value> {
    /// The command answered, as the request named it.
    pub cmd: String,
    /// The request's `trans_id`, echoed as sent.
    pub trans_id: Value,
    /// The answer.
    pub data: D,
}

/// `{"type":"error","cmd":…,"trans_id":…,"errorcode":…,"data":{"message":…,…},
/// "payload":{"message":…}}`.
///
/// The message is in both `payload.message` and `data.message`; `data` also carries the
/// details the reference client's `Otii_Exception` formats its text from (`key`, `value`,
/// `device_id`, …). Every field may be missing from what a server sends.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ErrorMessage {
    /// The command refused (empty when the request could not be read).
    #[serde(default)]
    pub cmd: String,
    /// The request's `trans_id` (null when the request could not be read).
    #[serde(default)]
    pub trans_id: Value,
    /// What went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errorcode: Option<ErrorCode>,
    /// The message and the details.
    #[serde(default)]
    pub data: ErrorData,
    /// The message again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<ErrorPayload>,
}

/// The `data` of an error.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ErrorData {
    /// The human message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The offending `key`, `value`, `device_id`, … .
    #[serde(flatten)]
    pub details: Map<String, Value>,
}

/// The `payload` of an error.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ErrorPayload {
    /// The human message.
    #[serde(default)]
    pub message: Option<String>,
}

impl ErrorMessage {
    /// An error answer to `cmd`/`trans_id` with its message in both places.
    pub fn new(
        cmd: impl Into<String>,
        trans_id: Value,
        code: ErrorCode,
        message: impl Into<String>,
        details: Map<String, Value>,
    ) -> Self {
        let message = message.into();
        Self {
            cmd: cmd.into(),
            trans_id,
            errorcode: Some(code),
            data: ErrorData {
                message: Some(message.clone()),
                details,
            },
            payload: Some(ErrorPayload {
                message: Some(message),
            }),
        }
    }

    /// The human message: `payload.message`, else `data.message`.
    pub fn message(&self) -> Option<&str> {
        self.payload
            .as_ref()
            .and_then(|p| p.message.as_deref())
            .or(self.data.message.as_deref())
    }
}

/// `{"type":"progress","cmd":…,"trans_id":…,"progress_value":…}`: how far a long command
/// (opening or saving a project asked with `"progress": true`) has come.
///
/// The shape is what both of Qoitech's Python clients read: 2.2.5 (the study's) prints a
/// "Progress on <cmd> is <progress_value>" line for every progress message, so it fails with
/// `KeyError` on one without a top-level `progress_value`; the current client
/// (1.0.x) reads only `type` and skips it. The real Otii sends none during data downloads (the
/// study's `log.txt` files, written through 2.2.5, hold no "Progress on" line). Every field is
/// optional when reading, so a client tolerates any progress message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The command in progress.
    #[serde(default)]
    pub cmd: String,
    /// Its `trans_id`.
    #[serde(default)]
    pub trans_id: Value,
    /// How far along, in percent.
    #[serde(default)]
    pub progress_value: u64,
}

/// `{"type":"information","info":…,"data":…}`: the greeting (`info` = [`CONNECTED`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Information {
    /// What it is about.
    pub info: String,
    /// The details ([`Greeting`] for the greeting).
    #[serde(default)]
    pub data: Value,
}

/// The `data` of the greeting.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Greeting {
    /// The application's version (`3.5.5`; otii-sim says `otii-sim <version>`).
    #[serde(default)]
    pub otii_version: String,
    /// [`PROTOCOL_VERSION`].
    #[serde(default)]
    pub protocol_version: String,
    /// `otii-server` for the Otii application, `otii-sim` for the simulator.
    #[serde(default)]
    pub server: String,
    /// otii-sim's `true`: the data is modelled, not measured. A real Otii does not send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulated: Option<bool>,
    /// otii-sim's power model (`synthetic`, `cpu`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_model: Option<String>,
}

impl Greeting {
    /// The greeting message with this data.
    pub fn to_message(&self) -> Message {
        Message::Information(Information {
            info: CONNECTED.into(),
            data: serde_json::to_value(self).unwrap_or_default(),
        })
    }
}

/// Just enough of a message to route it: its `type`, its `trans_id` and its `data` unparsed
/// (parsing a data answer of 40,000 values once, into its final type, is what makes a
/// download fast).
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    /// The `type`.
    #[serde(rename = "type")]
    pub kind: &'a str,
    /// The `trans_id`, when there is one.
    #[serde(default)]
    pub trans_id: Option<Value>,
    /// The `data`, unparsed.
    #[serde(default, borrow)]
    pub data: Option<&'a RawValue>,
}

impl Envelope<'_> {
    /// Whether this is the answer to the request `trans_id`. The id may come back as a string
    /// or a number; an error without one answers whatever is outstanding (a server sends
    /// those for requests it could not read).
    pub fn answers(&self, trans_id: &str) -> bool {
        match &self.trans_id {
            Some(Value::String(s)) => s == trans_id,
            Some(Value::Number(n)) => n.to_string() == trans_id,
            _ => self.kind == MessageKind::Error.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::{encode_message, trim_terminator};
    use serde_json::json;

    fn round_trip(m: &Message) -> Message {
        let line = encode_message(m).unwrap();
        serde_json::from_slice(trim_terminator(&line)).unwrap()
    }

    #[test]
    fn every_message_type_round_trips() {
        let messages = [
            Message::Request(Request {
                cmd: Command::ArcEnableChannel,
                trans_id: "1".into(),
                data: json!({"device_id": "ARC", "channel": "mc", "enable": true}),
            }),
            Message::Response(Response {
                cmd: "otii_get_active_project".into(),
                trans_id: json!("2"),
                data: json!({"project_id": 1}),
            }),
            Message::Error(ErrorMessage::new(
                "arc_enable_channel",
                json!(3),
                ErrorCode::DeviceNotConnected,
                "no device",
                [("device_id".to_owned(), json!("nope"))]
                    .into_iter()
                    .collect(),
            )),
            Message::Error(ErrorMessage::default()),
            Message::Progress(Progress {
                cmd: "otii_open_project".into(),
                trans_id: json!("4"),
                progress_value: 40,
            }),
            Greeting {
                otii_version: "3.5.5".into(),
                protocol_version: PROTOCOL_VERSION.into(),
                server: "otii-server".into(),
                simulated: None,
                power_model: None,
            }
            .to_message(),
        ];
        for m in &messages {
            assert_eq!(&round_trip(m), m);
        }
    }

    #[test]
    fn messages_have_the_wire_shape() {
        let e = ErrorMessage::new(
            "x",
            json!("7"),
            ErrorCode::InvalidKeyValue,
            "bad",
            [("key".to_owned(), json!("channel"))].into_iter().collect(),
        );
        let v = serde_json::to_value(Message::<Value>::Error(e.clone())).unwrap();
        assert_eq!(
            v,
            json!({"type": "error", "cmd": "x", "trans_id": "7", "errorcode": "Invalid key value",
                   "data": {"message": "bad", "key": "channel"}, "payload": {"message": "bad"}})
        );
        assert_eq!(e.message(), Some("bad"));
        let r = Message::Request(Request {
            cmd: Command::OtiiGetDevices,
            trans_id: "1".into(),
            data: json!({}),
        });
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.starts_with("{\"type\":\"request\",\"cmd\":\"otii_get_devices\""));
    }

    #[test]
    fn progress_has_the_shape_both_reference_clients_read() {
        // 2.2.5 reads `cmd` and a top-level `progress_value`; 1.0.x reads only `type`.
        let p = Message::<Value>::Progress(Progress {
            cmd: "project_save".into(),
            trans_id: json!("9"),
            progress_value: 50,
        });
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"type": "progress", "cmd": "project_save", "trans_id": "9",
                   "progress_value": 50})
        );
        // Any progress message reads, whatever it lacks or adds.
        let m: Message =
            serde_json::from_str(r#"{"type":"progress","data":{"progress":0}}"#).unwrap();
        assert!(matches!(
            m,
            Message::Progress(Progress {
                progress_value: 0,
                ..
            })
        ));
    }

    #[test]
    fn error_message_falls_back_to_data_message() {
        let e: ErrorMessage =
            serde_json::from_str(r#"{"errorcode":"Command failure","data":{"message":"busy"}}"#)
                .unwrap();
        assert_eq!(e.message(), Some("busy"));
        assert_eq!(e.errorcode, Some(ErrorCode::CommandFailure));
        let e: ErrorMessage = serde_json::from_str("{}").unwrap();
        assert_eq!((e.message(), e.errorcode.clone()), (None, None));
    }

    #[test]
    fn envelopes_route_by_kind_and_trans_id() {
        let line = r#"{"type":"response","trans_id":"12","data":{"values":[1.0,2.0]}}"#;
        let e: Envelope<'_> = serde_json::from_str(line).unwrap();
        assert_eq!(MessageKind::from_wire(e.kind), Some(MessageKind::Response));
        assert!(e.answers("12") && !e.answers("1"));
        assert_eq!(e.data.unwrap().get(), r#"{"values":[1.0,2.0]}"#);
        let e: Envelope<'_> = serde_json::from_str(r#"{"type":"response","trans_id":12}"#).unwrap();
        assert!(e.answers("12"));
        let e: Envelope<'_> = serde_json::from_str(r#"{"type":"error"}"#).unwrap();
        assert!(e.answers("99"));
        let e: Envelope<'_> = serde_json::from_str(r#"{"type":"response"}"#).unwrap();
        assert!(!e.answers("99"));
        for kind in ["progress", "information"] {
            assert!(MessageKind::from_wire(kind).unwrap().is_unsolicited());
        }
        assert!(!MessageKind::Response.is_unsolicited());
        assert_eq!(MessageKind::from_wire("gossip"), None);
    }
}
