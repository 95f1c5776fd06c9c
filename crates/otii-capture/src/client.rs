//! A typed client of the Otii 3 TCP protocol over any `Read + Write` stream.
//!
//! One request at a time: send `{"type":"request","cmd":…,"trans_id":…,"data":…}\r\n`, then
//! read messages until the one carrying the same `trans_id`. `progress` and `information`
//! messages met on the way are skipped; an answer with another `trans_id` is a protocol error
//! (the server and this client disagree about what is outstanding). There is no read timeout
//! by default: fetching data can legitimately take seconds, and the reference client waits.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::thread;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

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

/// Why connecting failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// No TCP connection could be made within the retry time.
    #[error("cannot connect to the Otii TCP server at {addr} ({attempts} attempts): {source}; is the Otii application running with its TCP server enabled (or otii-sim started)?")]
    Tcp {
        /// The address tried.
        addr: String,
        /// How many times.
        attempts: u32,
        /// The last error.
        #[source]
        source: io::Error,
    },
    /// The server did not greet as an Otii does.
    #[error("{addr} did not greet like an Otii TCP server: {detail}")]
    Greeting {
        /// The address.
        addr: String,
        /// What came instead.
        detail: String,
    },
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

/// A device of `otii_get_devices`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Device {
    /// `Arc`, `Ace`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// The id every device command takes.
    pub device_id: String,
    /// The user-visible name.
    pub name: String,
}

/// A recording of the project.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RecordingInfo {
    /// Recording id.
    pub recording_id: i64,
    /// Name (the Otii names recordings after their start time).
    pub name: String,
    /// Start time (RFC 3339), when the server reports it.
    #[serde(rename = "start-time", default)]
    pub start_time: Option<String>,
}

/// `recording_get_channel_info`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct ChannelInfo {
    /// Start of the channel's data, s.
    pub from: f64,
    /// End of the channel's data, s.
    pub to: f64,
    /// Offset of the recording, s.
    #[serde(default)]
    pub offset: f64,
    /// Samples per second.
    pub sample_rate: f64,
}

/// `recording_get_channel_statistics`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct ChannelStats {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean value.
    pub average: f64,
    /// Energy over the interval, J (main current channel only).
    #[serde(default)]
    pub energy: Option<f64>,
}

/// One chunk of analog data.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AnalogChunk {
    /// `analog` for sampled channels.
    pub data_type: String,
    /// Time of the first value, s.
    #[serde(default)]
    pub timestamp: Option<f64>,
    /// Time between values, s.
    #[serde(default)]
    pub interval: Option<f64>,
    /// The values.
    pub values: Vec<f64>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(default)]
    trans_id: Option<Value>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
}

/// A connected client.
pub struct Client<S: Read + Write> {
    reader: BufReader<S>,
    line: Vec<u8>,
    next_id: u64,
    info: ServerInfo,
    reserved_licenses: Vec<i64>,
}

/// Connects over TCP, retrying until `retry_for` has passed (the Otii application or the
/// simulator may still be starting).
pub fn connect(addr: &str, retry_for: Duration) -> Result<Client<TcpStream>, ConnectError> {
    let deadline = Instant::now() + retry_for;
    let mut attempts = 0;
    let stream = loop {
        attempts += 1;
        let result = addr
            .to_socket_addrs()
            .and_then(|mut addrs| {
                addrs.next().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::NotFound, "address resolves to nothing")
                })
            })
            .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_secs(5)));
        match result {
            Ok(s) => break s,
            Err(source) if Instant::now() >= deadline => {
                return Err(ConnectError::Tcp {
                    addr: addr.to_owned(),
                    attempts,
                    source,
                })
            }
            Err(_) => thread::sleep(Duration::from_millis(250)),
        }
    };
    let _ = stream.set_nodelay(true);
    // Only the greeting is bounded in time: a TCP server that never greets is not an Otii.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let client = Client::new(stream).map_err(|e| ConnectError::Greeting {
        addr: addr.to_owned(),
        detail: e.to_string(),
    })?;
    let _ = client.reader.get_ref().set_read_timeout(None);
    Ok(client)
}

impl<S: Read + Write> Client<S> {
    /// Reads the greeting from a fresh connection.
    pub fn new(stream: S) -> Result<Self, ClientError> {
        let mut c = Self {
            reader: BufReader::with_capacity(1 << 16, stream),
            line: Vec::with_capacity(1 << 20),
            next_id: 0,
            info: ServerInfo {
                otii_version: String::new(),
                protocol_version: String::new(),
                server: String::new(),
                simulated: false,
                power_model: None,
            },
            reserved_licenses: Vec::new(),
        };
        let cmd = "(greeting)";
        c.read_line(cmd)?;
        let hello: Value = serde_json::from_slice(&c.line).map_err(|e| ClientError::Protocol {
            cmd: cmd.into(),
            detail: format!("not JSON: {e}"),
        })?;
        if hello["type"] == "error" {
            return Err(server_error(cmd, &hello));
        }
        if hello["type"] != "information" || hello["info"] != "connected" {
            return Err(ClientError::Protocol {
                cmd: cmd.into(),
                detail: format!(
                    "expected {{\"type\":\"information\",\"info\":\"connected\"}}, got {hello}"
                ),
            });
        }
        let d = &hello["data"];
        let s = |k: &str| d[k].as_str().unwrap_or_default().to_owned();
        c.info = ServerInfo {
            otii_version: s("otii_version"),
            protocol_version: s("protocol_version"),
            server: s("server"),
            simulated: d["simulated"].as_bool().unwrap_or(false) || d["server"] == "otii-sim",
            power_model: d["power_model"].as_str().map(str::to_owned),
        };
        Ok(c)
    }

    /// What the server said when connecting.
    pub fn info(&self) -> &ServerInfo {
        &self.info
    }

    fn read_line(&mut self, cmd: &str) -> Result<(), ClientError> {
        self.line.clear();
        let n = self
            .reader
            .read_until(b'\n', &mut self.line)
            .map_err(|source| ClientError::Io {
                cmd: cmd.into(),
                source,
            })?;
        if n == 0 || !self.line.ends_with(b"\n") {
            return Err(ClientError::Closed { cmd: cmd.into() });
        }
        Ok(())
    }

    /// Sends `cmd` with `data` and returns the answer's `data` parsed as `T`.
    pub fn request<T: DeserializeOwned>(
        &mut self,
        cmd: &str,
        data: Value,
    ) -> Result<T, ClientError> {
        self.next_id += 1;
        let trans_id = self.next_id.to_string();
        let mut msg = serde_json::to_vec(&json!({
            "type": "request", "cmd": cmd, "trans_id": trans_id, "data": data
        }))
        .map_err(|e| ClientError::Protocol {
            cmd: cmd.into(),
            detail: e.to_string(),
        })?;
        msg.extend_from_slice(b"\r\n");
        let io_err = |source| ClientError::Io {
            cmd: cmd.into(),
            source,
        };
        let stream = self.reader.get_mut();
        stream.write_all(&msg).map_err(io_err)?;
        stream.flush().map_err(io_err)?;
        loop {
            self.read_line(cmd)?;
            let env: Envelope<'_> =
                serde_json::from_slice(&self.line).map_err(|e| ClientError::Protocol {
                    cmd: cmd.into(),
                    detail: format!("answer is not a JSON message: {e}"),
                })?;
            match env.kind {
                "progress" | "information" => continue,
                "response" | "error" => {}
                other => {
                    return Err(ClientError::Protocol {
                        cmd: cmd.into(),
                        detail: format!("unknown message type {other:?}"),
                    })
                }
            }
            let id_matches = match &env.trans_id {
                Some(Value::String(s)) => *s == trans_id,
                Some(Value::Number(n)) => n.to_string() == trans_id,
                _ => env.kind == "error",
            };
            if !id_matches {
                return Err(ClientError::Protocol {
                    cmd: cmd.into(),
                    detail: format!(
                        "answer for transaction {:?} while waiting for {trans_id:?}",
                        env.trans_id
                    ),
                });
            }
            if env.kind == "error" {
                // Errors are short: read the whole message as a value for its code and text.
                let v: Value = serde_json::from_slice(&self.line).unwrap_or_default();
                return Err(server_error(cmd, &v));
            }
            let raw = env.data.map(RawValue::get).unwrap_or("{}");
            return serde_json::from_str(raw).map_err(|e| ClientError::Protocol {
                cmd: cmd.into(),
                detail: format!("unexpected answer data: {e}"),
            });
        }
    }

    /// `otii_get_devices`.
    pub fn devices(&mut self, timeout_s: f64) -> Result<Vec<Device>, ClientError> {
        #[derive(Deserialize)]
        struct D {
            #[serde(default)]
            devices: Vec<Device>,
        }
        let d: D = self.request("otii_get_devices", json!({ "timeout": timeout_s }))?;
        Ok(d.devices)
    }

    /// `arc_enable_channel`.
    pub fn enable_channel(
        &mut self,
        device: &str,
        channel: &str,
        on: bool,
    ) -> Result<(), ClientError> {
        self.request::<Value>(
            "arc_enable_channel",
            json!({"device_id": device, "channel": channel, "enable": on}),
        )
        .map(drop)
    }

    /// `arc_set_channel_samplerate`.
    pub fn set_sample_rate(
        &mut self,
        device: &str,
        channel: &str,
        hz: u32,
    ) -> Result<(), ClientError> {
        self.request::<Value>(
            "arc_set_channel_samplerate",
            json!({"device_id": device, "channel": channel, "value": hz}),
        )
        .map(drop)
    }

    /// `arc_get_channel_samplerate`.
    pub fn sample_rate(&mut self, device: &str, channel: &str) -> Result<f64, ClientError> {
        let v: Value = self.request(
            "arc_get_channel_samplerate",
            json!({"device_id": device, "channel": channel}),
        )?;
        value_f64("arc_get_channel_samplerate", &v["value"])
    }

    /// `otii_get_active_project`: the project id, `None` when no project is open.
    pub fn active_project(&mut self) -> Result<Option<i64>, ClientError> {
        let v: Value = self.request("otii_get_active_project", json!({}))?;
        let id = v["project_id"]
            .as_i64()
            .ok_or_else(|| ClientError::Protocol {
                cmd: "otii_get_active_project".into(),
                detail: format!("no project_id in {v}"),
            })?;
        Ok((id != -1).then_some(id))
    }

    /// `project_start_recording`.
    pub fn start_recording(&mut self, project: i64) -> Result<(), ClientError> {
        self.request::<Value>("project_start_recording", json!({ "project_id": project }))
            .map(drop)
    }

    /// `project_stop_recording`.
    pub fn stop_recording(&mut self, project: i64) -> Result<(), ClientError> {
        self.request::<Value>("project_stop_recording", json!({ "project_id": project }))
            .map(drop)
    }

    /// `project_get_last_recording`: `None` when the project has none.
    pub fn last_recording(&mut self, project: i64) -> Result<Option<RecordingInfo>, ClientError> {
        let v: Value = self.request(
            "project_get_last_recording",
            json!({ "project_id": project }),
        )?;
        if v["recording_id"] == -1 {
            return Ok(None);
        }
        serde_json::from_value(v)
            .map(Some)
            .map_err(|e| ClientError::Protocol {
                cmd: "project_get_last_recording".into(),
                detail: e.to_string(),
            })
    }

    /// `project_get_recordings`.
    pub fn recordings(&mut self, project: i64) -> Result<Vec<RecordingInfo>, ClientError> {
        #[derive(Deserialize)]
        struct R {
            recordings: Vec<RecordingInfo>,
        }
        let r: R = self.request("project_get_recordings", json!({ "project_id": project }))?;
        Ok(r.recordings)
    }

    /// `recording_get_channel_data_count`.
    pub fn data_count(
        &mut self,
        recording: i64,
        device: &str,
        channel: &str,
    ) -> Result<u64, ClientError> {
        let v: Value = self.request(
            "recording_get_channel_data_count",
            json!({"recording_id": recording, "device_id": device, "channel": channel}),
        )?;
        v["count"].as_u64().ok_or_else(|| ClientError::Protocol {
            cmd: "recording_get_channel_data_count".into(),
            detail: format!("no count in {v}"),
        })
    }

    /// `recording_get_channel_data` for an analog channel.
    pub fn data(
        &mut self,
        recording: i64,
        device: &str,
        channel: &str,
        index: u64,
        count: u64,
    ) -> Result<AnalogChunk, ClientError> {
        let chunk: AnalogChunk = self.request(
            "recording_get_channel_data",
            json!({"recording_id": recording, "device_id": device, "channel": channel,
                   "index": index, "count": count}),
        )?;
        if chunk.values.len() as u64 != count {
            return Err(ClientError::Protocol {
                cmd: "recording_get_channel_data".into(),
                detail: format!(
                    "asked for {count} values of {channel} from {index}, got {}",
                    chunk.values.len()
                ),
            });
        }
        Ok(chunk)
    }

    /// `recording_get_channel_info`.
    pub fn channel_info(
        &mut self,
        recording: i64,
        device: &str,
        channel: &str,
    ) -> Result<ChannelInfo, ClientError> {
        self.request(
            "recording_get_channel_info",
            json!({"recording_id": recording, "device_id": device, "channel": channel}),
        )
    }

    /// `recording_get_channel_statistics` over `from..=to` seconds.
    pub fn channel_statistics(
        &mut self,
        recording: i64,
        device: &str,
        channel: &str,
        from: f64,
        to: f64,
    ) -> Result<ChannelStats, ClientError> {
        self.request(
            "recording_get_channel_statistics",
            json!({"recording_id": recording, "device_id": device, "channel": channel,
                   "from": from, "to": to}),
        )
    }

    /// Makes sure an Automation licence is reserved, as the reference client does on connect:
    /// log in (from `OTII_USERNAME`/`OTII_PASSWORD`) if needed, then reserve a free licence
    /// unless one is reserved already. Licences reserved here are returned by [`Client::close`].
    /// A server without licensing commands (an older Otii) is accepted as is.
    pub fn ensure_license(&mut self) -> Result<(), ClientError> {
        let logged_in = match self.request::<Value>("otii_is_logged_in", json!({})) {
            Ok(v) => v["logged_in"].as_bool().unwrap_or(false),
            Err(ClientError::Server { code, .. }) if code == "Invalid command" => return Ok(()),
            Err(e) => return Err(e),
        };
        if !logged_in {
            if let (Ok(user), Ok(pass)) = (
                std::env::var("OTII_USERNAME"),
                std::env::var("OTII_PASSWORD"),
            ) {
                self.request::<Value>("otii_login", json!({"username": user, "password": pass}))?;
            }
        }
        let v: Value = self.request("otii_get_licenses", json!({}))?;
        let list = v["licenses"].as_array().cloned().unwrap_or_default();
        let automation = |l: &&Value| {
            l["available"].as_bool().unwrap_or(false)
                && matches!(
                    l["type"].as_str(),
                    Some("Automation" | "Admin" | "All" | "Enterprise")
                )
        };
        if list
            .iter()
            .filter(automation)
            .any(|l| l["reserved_to"] != "")
        {
            return Ok(());
        }
        let Some(id) = list
            .iter()
            .filter(automation)
            .find_map(|l| l["id"].as_i64())
        else {
            return Err(ClientError::Server {
                cmd: "otii_get_licenses".into(),
                code: "No license".into(),
                message: "no free Automation licence for this Otii user".into(),
            });
        };
        self.request::<Value>("otii_reserve_license", json!({ "license_id": id }))?;
        self.reserved_licenses.push(id);
        Ok(())
    }

    /// Returns the licences [`Client::ensure_license`] reserved.
    pub fn close(mut self) -> Result<(), ClientError> {
        for id in std::mem::take(&mut self.reserved_licenses) {
            self.request::<Value>("otii_return_license", json!({ "license_id": id }))?;
        }
        Ok(())
    }
}

fn value_f64(cmd: &str, v: &Value) -> Result<f64, ClientError> {
    v.as_f64().ok_or_else(|| ClientError::Protocol {
        cmd: cmd.into(),
        detail: format!("expected a number, got {v}"),
    })
}

fn server_error(cmd: &str, v: &Value) -> ClientError {
    ClientError::Server {
        cmd: cmd.into(),
        code: v["errorcode"]
            .as_str()
            .unwrap_or("(no errorcode)")
            .to_owned(),
        message: v["payload"]["message"]
            .as_str()
            .or_else(|| v["data"]["message"].as_str())
            .unwrap_or("(no message)")
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn progress_and_information_are_skipped_and_the_request_is_framed() {
        let mut c = client(&[
            r#"{"type":"progress","trans_id":"1","data":{"progress":0}}"#,
            r#"{"type":"information","info":"something"}"#,
            r#"{"type":"response","cmd":"recording_get_channel_data_count","trans_id":"1","data":{"count":7}}"#,
        ]);
        assert_eq!(c.data_count(3, "ARC", "mp").unwrap(), 7);
        let heard = String::from_utf8(c.reader.get_ref().heard.clone()).unwrap();
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
        let e = c.data(1, "A", "mp", 0, 3).unwrap_err();
        assert!(
            e.to_string()
                .contains("asked for 3 values of mp from 0, got 2"),
            "{e}"
        );
    }
}
