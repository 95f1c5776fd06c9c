//! A typed client of the Otii 3 TCP protocol over any `Read + Write` stream.
//!
//! One request at a time: send the request line, then read messages until the one carrying the
//! same `trans_id`. `progress` and `information` messages met on the way are skipped; an answer
//! with another `trans_id` is a protocol error (the server and this client disagree about what
//! is outstanding). The client itself sets no read timeout; over TCP, [`connect`] bounds the
//! wait for an answer by [`ANSWER_TIMEOUT`], far above any answer's legitimate time: a meter
//! that goes silent is a fault, not a wait for ever. The messages, channels and framing are
//! `otii_protocol`'s; this module is what a client does with them.

mod calls;
mod connect;
mod license;

use std::io::{self, BufReader, Read, Write};

use otii_protocol::{
    encode_message, Call, Command, Envelope, ErrorMessage, Frame, FrameReader, Greeting, Message,
    MessageKind, Request, CONNECTED,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

pub use connect::{connect, ConnectError, ANSWER_TIMEOUT};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Reading from or writing to the connection failed.
    #[error("connection to the Otii failed during {cmd}: {source}")]
    Io {
        /// The command outstanding.
        cmd: String,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The server closed the connection before answering.
    #[error("the Otii closed the connection before answering {cmd}")]
    Closed {
        /// The command outstanding.
        cmd: String,
    },
    /// The server said nothing for [`ANSWER_TIMEOUT`] while an answer was due.
    #[error("the Otii did not answer {cmd} within {} s (stalled or gone)", ANSWER_TIMEOUT.as_secs())]
    TimedOut {
        /// The command outstanding.
        cmd: String,
    },
    /// The server sent something this client does not understand.
    #[error("protocol error during {cmd}: {detail}")]
    Protocol {
        /// The command outstanding.
        cmd: String,
        /// What was wrong.
        detail: String,
    },
    /// The server answered with an error.
    #[error("the Otii refused {cmd}: {code}: {message}")]
    Server {
        /// The command refused.
        cmd: String,
        /// The protocol's `errorcode` (e.g. `Invalid key value`).
        code: String,
        /// The server's message.
        message: String,
    },
}

impl ClientError {
    /// Whether the meter went away (the connection failed, was reset, closed or timed out)
    /// rather than answering wrongly: an infrastructure fault, worth retrying. A refusal
    /// ([`ClientError::Server`]) or a misunderstanding ([`ClientError::Protocol`]) is not.
    pub fn is_infrastructure(&self) -> bool {
        matches!(
            self,
            ClientError::Io { .. } | ClientError::Closed { .. } | ClientError::TimedOut { .. }
        )
    }

    pub(crate) fn protocol(cmd: impl Into<String>, detail: impl Into<String>) -> Self {
        ClientError::Protocol {
            cmd: cmd.into(),
            detail: detail.into(),
        }
    }
}

/// What the server said when the connection was made.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerInfo {
    /// `otii_version` of the greeting.
    pub otii_version: String,
    /// `protocol_version` of the greeting.
    pub protocol_version: String,
    /// `server` of the greeting (`otii-sim` for the simulator).
    pub server: String,
    /// Whether the server says its data is simulated (otii-sim's `"simulated": true`).
    pub simulated: bool,
    /// The simulator's power model (`synthetic`, `cpu`), when it is one.
    pub power_model: Option<String>,
}

impl From<Greeting> for ServerInfo {
    fn from(g: Greeting) -> Self {
        Self {
            simulated: g.simulated.unwrap_or(false) || g.server == "otii-sim",
            otii_version: g.otii_version,
            protocol_version: g.protocol_version,
            server: g.server,
            power_model: g.power_model,
        }
    }
}

/// A connected client.
pub struct Client<S: Read + Write> {
    reader: FrameReader<BufReader<S>>,
    line: Vec<u8>,
    next_id: u64,
    info: ServerInfo,
    reserved_licenses: Vec<i64>,
}

impl<S: Read + Write> Client<S> {
    /// Reads the greeting from a fresh connection.
    pub fn new(stream: S) -> Result<Self, ClientError> {
        let mut c = Self {
            reader: FrameReader::unbounded(BufReader::with_capacity(1 << 16, stream)),
            line: Vec::with_capacity(1 << 20),
            next_id: 0,
            info: ServerInfo::from(Greeting::default()),
            reserved_licenses: Vec::new(),
        };
        let cmd = "(greeting)";
        c.read_line(cmd)?;
        let hello: Value = serde_json::from_slice(&c.line)
            .map_err(|e| ClientError::protocol(cmd, format!("not JSON: {e}")))?;
        if hello["type"] == MessageKind::Error.as_str() {
            return Err(c.server_error(cmd));
        }
        let info = match serde_json::from_value::<Message>(hello.clone()) {
            Ok(Message::Information(i)) if i.info == CONNECTED => i,
            _ => {
                let expected = format!(r#"{{"type":"information","info":"{CONNECTED}"}}"#);
                let detail = format!("expected {expected}, got {hello}");
                return Err(ClientError::protocol(cmd, detail));
            }
        };
        let greeting: Greeting = serde_json::from_value(info.data)
            .map_err(|e| ClientError::protocol(cmd, format!("unexpected greeting data: {e}")))?;
        c.info = greeting.into();
        Ok(c)
    }

    /// What the server said when connecting.
    pub fn info(&self) -> &ServerInfo {
        &self.info
    }

    fn read_line(&mut self, cmd: &str) -> Result<(), ClientError> {
        let frame =
            self.reader
                .read_frame(&mut self.line)
                .map_err(|source| match source.kind() {
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                        ClientError::TimedOut { cmd: cmd.into() }
                    }
                    _ => ClientError::Io {
                        cmd: cmd.into(),
                        source,
                    },
                })?;
        match frame {
            Frame::Line => Ok(()),
            Frame::Eof | Frame::Unterminated => Err(ClientError::Closed { cmd: cmd.into() }),
            Frame::TooLong => Err(ClientError::protocol(cmd, "answer too long")),
        }
    }

    /// The error answer in the line buffer, as a [`ClientError::Server`]. Errors are short:
    /// the whole message is read for its code and text (what cannot be read is said so).
    fn server_error(&self, cmd: &str) -> ClientError {
        let e: ErrorMessage = serde_json::from_slice(&self.line).unwrap_or_default();
        ClientError::Server {
            cmd: cmd.into(),
            code: e
                .errorcode
                .as_ref()
                .map_or("(no errorcode)", |c| c.as_str())
                .to_owned(),
            message: e.message().unwrap_or("(no message)").to_owned(),
        }
    }

    /// Sends a typed request and returns its typed answer.
    pub fn call<C: Call>(&mut self, data: &C) -> Result<C::Reply, ClientError> {
        self.request(C::COMMAND, data)
    }

    /// Sends `cmd` with `data` and returns the answer's `data` parsed as `T`.
    pub fn request<T: DeserializeOwned>(
        &mut self,
        cmd: Command,
        data: &impl Serialize,
    ) -> Result<T, ClientError> {
        self.next_id += 1;
        let trans_id = self.next_id.to_string();
        let name = cmd.name();
        let msg = encode_message(&Message::Request(Request {
            cmd,
            trans_id: trans_id.clone(),
            data,
        }))
        .map_err(|e| ClientError::protocol(name, e.to_string()))?;
        let io_err = |source| ClientError::Io {
            cmd: name.into(),
            source,
        };
        let stream = self.reader.get_mut().get_mut();
        stream.write_all(&msg).map_err(io_err)?;
        stream.flush().map_err(io_err)?;
        loop {
            self.read_line(name)?;
            let env: Envelope<'_> = serde_json::from_slice(&self.line).map_err(|e| {
                ClientError::protocol(name, format!("answer is not a JSON message: {e}"))
            })?;
            match MessageKind::from_wire(env.kind) {
                Some(k) if k.is_unsolicited() => continue,
                Some(MessageKind::Response | MessageKind::Error) => {}
                _ => {
                    return Err(ClientError::protocol(
                        name,
                        format!("unknown message type {:?}", env.kind),
                    ))
                }
            }
            if !env.answers(&trans_id) {
                return Err(ClientError::protocol(
                    name,
                    format!(
                        "answer for transaction {:?} while waiting for {trans_id:?}",
                        env.trans_id
                    ),
                ));
            }
            if env.kind == MessageKind::Error.as_str() {
                return Err(self.server_error(name));
            }
            let raw = env.data.map_or("{}", |d| d.get());
            return serde_json::from_str(raw)
                .map_err(|e| ClientError::protocol(name, format!("unexpected answer data: {e}")));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otii_protocol::Channel;
    use std::io::Cursor;

    /// A scripted server: what it will say, and what the client wrote.
    struct Script {
        said: Cursor<Vec<u8>>,
        heard: Vec<u8>,
    }

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.said.read(buf)
        }
    }

    impl Write for Script {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.heard.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    const HELLO: &str = r#"{"type":"information","info":"connected","data":{"otii_version":"3.5.5","protocol_version":"0.1","server":"otii-server"}}"#;

    fn client(lines: &[&str]) -> Client<Script> {
        let mut text = String::new();
        for l in std::iter::once(&HELLO).chain(lines) {
            text.push_str(l);
            text.push_str("\r\n");
        }
        Client::new(Script {
            said: Cursor::new(text.into_bytes()),
            heard: Vec::new(),
        })
        .unwrap()
    }

    #[test]
    fn real_otii_greeting_is_not_simulated() {
        let c = client(&[]);
        assert_eq!(c.info().server, "otii-server");
        assert!(!c.info().simulated);
        assert_eq!(c.info().power_model, None);
    }

    #[test]
    fn a_greeting_that_is_not_an_otiis_is_refused() {
        for (hello, needle) in [
            (
                r#"{"type":"information","info":"busy"}"#,
                "expected {\"type\":\"information\",\"info\":\"connected\"}",
            ),
            (r#"{"hello":1}"#, "got {\"hello\":1}"),
            ("SSH-2.0-OpenSSH", "not JSON"),
            (
                r#"{"type":"error","errorcode":"Not logged in","payload":{"message":"log in"}}"#,
                "Not logged in: log in",
            ),
        ] {
            let e = Client::new(Script {
                said: Cursor::new(format!("{hello}\r\n").into_bytes()),
                heard: Vec::new(),
            })
            .err()
            .unwrap();
            assert!(e.to_string().contains(needle), "{hello}: {e}");
        }
    }

    #[test]
    fn progress_and_information_are_skipped_and_the_request_is_framed() {
        let mut c = client(&[
            r#"{"type":"progress","trans_id":"1","data":{"progress":0}}"#,
            r#"{"type":"progress","cmd":"recording_get_channel_data_count","trans_id":"1","progress_value":50}"#,
            r#"{"type":"information","info":"something"}"#,
            r#"{"type":"response","cmd":"recording_get_channel_data_count","trans_id":"1","data":{"count":7}}"#,
        ]);
        assert_eq!(c.data_count(3, "ARC", Channel::MainPower).unwrap(), 7);
        let heard = String::from_utf8(c.reader.get_ref().get_ref().heard.clone()).unwrap();
        assert!(heard.ends_with("\r\n"));
        let req: Value = serde_json::from_str(heard.trim_end()).unwrap();
        assert_eq!(req["type"], "request");
        assert_eq!(req["trans_id"], "1");
        assert_eq!(req["data"]["recording_id"], 3);
    }

    #[test]
    fn another_trans_id_is_a_protocol_error() {
        let mut c = client(&[
            r#"{"type":"response","cmd":"otii_get_active_project","trans_id":"9","data":{"project_id":1}}"#,
        ]);
        let e = c.active_project().unwrap_err();
        assert!(matches!(e, ClientError::Protocol { .. }), "{e}");
        assert!(e.to_string().contains("waiting for \"1\""), "{e}");
    }

    #[test]
    fn error_answers_carry_code_and_message() {
        let mut c = client(&[
            r#"{"type":"error","cmd":"project_start_recording","trans_id":"1","errorcode":"Command failure","data":{"message":"busy"}}"#,
        ]);
        let e = c.start_recording(1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the Otii refused project_start_recording: Command failure: busy"
        );
        // The message may also come as `payload.message`, and the code may be missing.
        let mut c = client(&[
            r#"{"type":"error","cmd":"project_start_recording","trans_id":"1","payload":{"message":"no device"}}"#,
        ]);
        let e = c.start_recording(1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the Otii refused project_start_recording: (no errorcode): no device"
        );
    }

    #[test]
    fn a_closed_connection_is_named() {
        let mut c = client(&[]);
        let e = c.devices(1.0).unwrap_err();
        assert!(
            matches!(e, ClientError::Closed { ref cmd } if cmd == "otii_get_devices"),
            "{e}"
        );
    }

    #[test]
    fn a_short_data_chunk_is_refused() {
        let mut c = client(&[
            r#"{"type":"response","trans_id":"1","data":{"data_type":"analog","values":[1.0,2.0]}}"#,
        ]);
        let e = c.data(1, "A", Channel::MainPower, 0, 3).unwrap_err();
        assert!(
            e.to_string()
                .contains("asked for 3 values of mp from 0, got 2"),
            "{e}"
        );
    }
}
