//! The TCP server: framing, dispatch, answers and errors of the Otii 3 protocol.
//!
//! Messages are JSON objects terminated by `\r\n`. The server greets first, then answers each
//! request with a `response` or an `error` carrying the request's `trans_id`. Errors carry the
//! code in `errorcode`, the human message in `payload.message` and, because the reference
//! client formats some codes from them, the same message and the offending key/value/device
//! in `data`. The server never sends an unsolicited `information` message after the greeting:
//! the reference client would take it for the answer it waits for.

use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};

use serde_json::{json, Map, Value};

use crate::channel::Channel;
use crate::fault::Fault;
use crate::model::Signal;
use crate::state::{Recording, Sim, DEVICE_ID, DEVICE_NAME};
use crate::Config;

/// Requests longer than this are refused (`Request too large`) instead of buffered.
const MAX_REQUEST_BYTES: usize = 1 << 20;
/// The largest `count` one data request may ask for.
const MAX_DATA_COUNT: u64 = 5_000_000;
/// Data requests of at least this many values get a progress message before the answer.
const PROGRESS_FROM: u64 = 20_000;

struct Shared {
    cfg: Config,
    sim: Mutex<Sim>,
    stop: AtomicBool,
}

impl Shared {
    fn sim(&self) -> MutexGuard<'_, Sim> {
        // A panicking handler must not take the whole simulator down with a poisoned lock.
        self.sim.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A bound simulator, ready to serve.
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
}

/// A simulator serving on a background thread (for tests and embedding).
pub struct ServerHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds the listening socket (port 0 picks a free port) and builds the initial state.
    pub fn bind(cfg: Config) -> io::Result<Self> {
        let listener = TcpListener::bind(cfg.listen)?;
        let sim = Sim::new(&cfg);
        Ok(Self {
            listener,
            shared: Arc::new(Shared {
                cfg,
                sim: Mutex::new(sim),
                stop: AtomicBool::new(false),
            }),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves connections, one thread each, until the process ends (or a handle stops it).
    pub fn serve(self) -> io::Result<()> {
        for conn in self.listener.incoming() {
            if self.shared.stop.load(Ordering::SeqCst) {
                break;
            }
            let stream = match conn {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("otii-sim: accept failed: {e}");
                    continue;
                }
            };
            let shared = self.shared.clone();
            let peer = stream
                .peer_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| "?".into());
            let spawned = thread::Builder::new()
                .name(format!("otii-sim {peer}"))
                .spawn(move || {
                    if let Err(e) = handle_connection(stream, &shared) {
                        if !matches!(
                            e.kind(),
                            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                        ) {
                            eprintln!("otii-sim: connection {peer}: {e}");
                        }
                    }
                });
            if let Err(e) = spawned {
                eprintln!("otii-sim: cannot start a connection thread: {e}");
            }
        }
        Ok(())
    }

    /// Binds `cfg` on 127.0.0.1 with a port the kernel picks (whatever `cfg.listen` says) and
    /// serves on a background thread: a simulator for a test or a benchmark.
    pub fn spawn_loopback(cfg: Config) -> io::Result<ServerHandle> {
        let cfg = Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..cfg
        };
        Self::bind(cfg)?.spawn()
    }

    /// Serves on a background thread.
    pub fn spawn(self) -> io::Result<ServerHandle> {
        let addr = self.local_addr()?;
        let shared = self.shared.clone();
        let thread = thread::Builder::new()
            .name("otii-sim accept".into())
            .spawn(move || {
                let _ = self.serve();
            })?;
        Ok(ServerHandle {
            addr,
            shared,
            thread: Some(thread),
        })
    }
}

impl ServerHandle {
    /// The address the simulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections and waits for the accept thread.
    pub fn shutdown(mut self) {
        self.stop_accepting();
    }

    fn stop_accepting(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_accepting();
    }
}

/// The greeting the server sends right after a client connects.
pub fn greeting(cfg: &Config) -> Value {
    json!({
        "type": "information",
        "info": "connected",
        "data": {
            "otii_version": concat!("otii-sim ", env!("CARGO_PKG_VERSION")),
            "protocol_version": "0.1",
            "server": "otii-sim",
            "simulated": true,
            "power_model": cfg.model.name(),
        }
    })
}

fn write_message(out: &mut impl Write, msg: &Value) -> io::Result<()> {
    serde_json::to_writer(&mut *out, msg).map_err(io::Error::other)?;
    out.write_all(b"\r\n")?;
    out.flush()
}

fn handle_connection(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = BufWriter::with_capacity(1 << 16, stream);
    write_message(&mut out, &greeting(&shared.cfg))?;
    let mut line = Vec::new();
    let mut data_chunks: u64 = 0;
    loop {
        line.clear();
        let n = io::Read::take(&mut reader, MAX_REQUEST_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(());
        }
        if line.len() > MAX_REQUEST_BYTES {
            let err = ProtoError::new("Request too large", "request longer than 1 MiB")
                .with("read_size", json!(line.len().to_string()))
                .with("max_size", json!(MAX_REQUEST_BYTES));
            write_message(&mut out, &err.to_message("", &Value::Null))?;
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.trim().is_empty() {
            continue;
        }
        let req: Value = match serde_json::from_str(text) {
            Ok(v @ Value::Object(_)) => v,
            other => {
                let parse_error = match other {
                    Err(e) => e.to_string(),
                    Ok(_) => "not a JSON object".into(),
                };
                let err = ProtoError::new(
                    "Not able to parse request",
                    format!("not a JSON request object: {parse_error}"),
                )
                .with("parse_error", json!(parse_error))
                .with("data", json!(text));
                write_message(&mut out, &err.to_message("", &Value::Null))?;
                continue;
            }
        };
        let cmd = req
            .get("cmd")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let trans_id = req.get("trans_id").cloned().unwrap_or(Value::Null);
        let empty = Map::new();
        let data = req.get("data").and_then(Value::as_object).unwrap_or(&empty);

        for fault in &shared.cfg.faults {
            if let Fault::StallOn(c, d) = fault {
                if *c == cmd {
                    thread::sleep(*d);
                }
            }
        }
        let injected = shared
            .cfg
            .faults
            .iter()
            .any(|f| matches!(f, Fault::ErrorOn(c) if *c == cmd));
        let reply = if injected {
            Err(ProtoError::failure(format!(
                "fault injected by otii-sim --fault error:{cmd}"
            )))
        } else if req.get("type").and_then(Value::as_str) != Some("request") {
            Err(ProtoError::missing_key("type"))
        } else if cmd.is_empty() {
            Err(ProtoError::missing_key("cmd"))
        } else {
            dispatch(shared, &cmd, data)
        };
        match reply {
            Ok(Reply::Json(value)) => {
                let msg =
                    json!({"type": "response", "cmd": cmd, "trans_id": trans_id, "data": value});
                write_message(&mut out, &msg)?;
            }
            Ok(Reply::Data(job)) => {
                let drop_after = shared.cfg.faults.iter().find_map(|f| match f {
                    Fault::DropAfterChunks(n) => Some(*n),
                    _ => None,
                });
                if drop_after.is_some_and(|n| data_chunks >= n) {
                    eprintln!(
                        "otii-sim: fault drop-after-chunks: closing the connection at data request {}",
                        data_chunks + 1
                    );
                    return Ok(());
                }
                data_chunks += 1;
                if job.count >= PROGRESS_FROM {
                    let progress = json!({"type": "progress", "cmd": cmd, "trans_id": trans_id,
                        "data": {"progress": 0, "count": job.count}});
                    write_message(&mut out, &progress)?;
                }
                write_data(&mut out, &cmd, &trans_id, &job)?;
            }
            Err(err) => write_message(&mut out, &err.to_message(&cmd, &trans_id))?,
        }
    }
}

/// A data request to compute outside the state lock.
struct DataJob {
    signal: Arc<Signal>,
    channel: Channel,
    rate: f64,
    index: u64,
    count: u64,
}

enum Reply {
    Json(Value),
    Data(DataJob),
}

fn write_data(out: &mut impl Write, cmd: &str, trans_id: &Value, job: &DataJob) -> io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(64 + job.count as usize * 20);
    buf.extend_from_slice(b"{\"type\":\"response\",\"cmd\":");
    serde_json::to_writer(&mut buf, cmd).map_err(io::Error::other)?;
    buf.extend_from_slice(b",\"trans_id\":");
    serde_json::to_writer(&mut buf, trans_id).map_err(io::Error::other)?;
    if !job.channel.is_analog() {
        let dt = job.channel.data_type();
        buf.extend_from_slice(
            format!(",\"data\":{{\"data_type\":\"{dt}\",\"values\":[]}}}}\r\n").as_bytes(),
        );
        out.write_all(&buf)?;
        return out.flush();
    }
    let head = json!({
        "data_type": "analog",
        "timestamp": job.index as f64 / job.rate,
        "interval": 1.0 / job.rate,
    });
    // `head` serialises as `{...}`; reopen it to append the values.
    let head = serde_json::to_vec(&head).map_err(io::Error::other)?;
    buf.extend_from_slice(b",\"data\":");
    buf.extend_from_slice(&head[..head.len() - 1]);
    buf.extend_from_slice(b",\"values\":[");
    let mut first = true;
    let mut err = None;
    job.signal
        .for_each(job.channel, job.rate, job.index, job.count, |v| {
            if !first {
                buf.push(b',');
            }
            first = false;
            if let Err(e) = serde_json::to_writer(&mut buf, &v) {
                err = Some(e);
            }
        });
    if let Some(e) = err {
        return Err(io::Error::other(e));
    }
    buf.extend_from_slice(b"]}}\r\n");
    out.write_all(&buf)?;
    out.flush()
}

/// An error answer: a protocol error code, a message, and the details the reference client
/// reads from `data`.
#[derive(Debug, Clone)]
struct ProtoError {
    code: &'static str,
    message: String,
    data: Map<String, Value>,
}

impl ProtoError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: Map::new(),
        }
    }

    fn with(mut self, key: &str, value: Value) -> Self {
        self.data.insert(key.into(), value);
        self
    }

    fn failure(message: impl Into<String>) -> Self {
        Self::new("Command failure", message)
    }

    fn missing_key(key: &str) -> Self {
        Self::new(
            "Missing key in request",
            format!("missing key {key:?} in the request"),
        )
        .with("key", json!(key))
    }

    fn key_type(key: &str, expected: &str, got: &Value) -> Self {
        let received = match got {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        Self::new(
            "Invalid key type",
            format!("key {key:?} must be a {expected}, got a {received}"),
        )
        .with("key", json!(key))
        .with("expected_type", json!(expected))
        .with("received_type", json!(received))
    }

    fn key_value(key: &str, value: &Value, why: impl Into<String>) -> Self {
        Self::new("Invalid key value", why)
            .with("key", json!(key))
            .with("value", value.clone())
    }

    fn to_message(&self, cmd: &str, trans_id: &Value) -> Value {
        let mut data = self.data.clone();
        data.insert("message".into(), json!(self.message));
        json!({
            "type": "error",
            "cmd": cmd,
            "trans_id": trans_id,
            "errorcode": self.code,
            "data": data,
            "payload": {"message": self.message},
        })
    }
}

/// Typed access to a request's `data`, with the protocol's errors.
struct Args<'a>(&'a Map<String, Value>);

impl Args<'_> {
    fn get(&self, key: &str) -> Result<&Value, ProtoError> {
        self.0.get(key).ok_or_else(|| ProtoError::missing_key(key))
    }

    fn str(&self, key: &str) -> Result<&str, ProtoError> {
        let v = self.get(key)?;
        v.as_str()
            .ok_or_else(|| ProtoError::key_type(key, "string", v))
    }

    fn int(&self, key: &str) -> Result<i64, ProtoError> {
        let v = self.get(key)?;
        if let Some(i) = v.as_i64() {
            return Ok(i);
        }
        match v.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
            _ => Err(ProtoError::key_type(key, "integer", v)),
        }
    }

    fn num(&self, key: &str) -> Result<f64, ProtoError> {
        let v = self.get(key)?;
        v.as_f64()
            .ok_or_else(|| ProtoError::key_type(key, "number", v))
    }

    fn num_in(&self, key: &str, lo: f64, hi: f64, what: &str) -> Result<f64, ProtoError> {
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

    fn bool(&self, key: &str) -> Result<bool, ProtoError> {
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

    fn device(&self) -> Result<(), ProtoError> {
        let id = self.str("device_id")?;
        if id == DEVICE_ID {
            Ok(())
        } else {
            Err(ProtoError::new(
                "Device not connected",
                format!("no device with id {id:?} (the simulated Arc is {DEVICE_ID:?})"),
            )
            .with("device_id", json!(id)))
        }
    }

    fn channel(&self) -> Result<Channel, ProtoError> {
        let name = self.str("channel")?;
        name.parse::<Channel>()
            .map_err(|e| ProtoError::key_value("channel", &json!(name), e.to_string()))
    }

    fn project(&self, sim: &Sim) -> Result<(), ProtoError> {
        let id = self.int("project_id")?;
        if id == sim.project_id {
            Ok(())
        } else {
            Err(ProtoError::new(
                "Project does not exist",
                format!(
                    "no project with id {id} (the active project is {})",
                    sim.project_id
                ),
            )
            .with("project_id", json!(id)))
        }
    }

    /// The recording `recording_id` names, or the protocol's error for an unknown id.
    fn recording<'s>(&self, sim: &'s Sim) -> Result<&'s Recording, ProtoError> {
        let id = self.int("recording_id")?;
        sim.recording(id).ok_or_else(|| unknown_recording(id))
    }

    /// [`Args::recording`], to change it.
    fn recording_mut<'s>(&self, sim: &'s mut Sim) -> Result<&'s mut Recording, ProtoError> {
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

fn done() -> Result<Reply, ProtoError> {
    Ok(Reply::Json(json!({})))
}

fn value(v: Value) -> Result<Reply, ProtoError> {
    Ok(Reply::Json(json!({ "value": v })))
}

fn dispatch(shared: &Shared, cmd: &str, data: &Map<String, Value>) -> Result<Reply, ProtoError> {
    let a = Args(data);
    let cfg = &shared.cfg;
    let mut sim = shared.sim();
    match cmd {
        // --- application, licensing ----------------------------------------------------
        "otii_get_devices" => {
            if let Ok(t) = a.num("timeout") {
                if t < 0.0 {
                    return Err(ProtoError::key_value(
                        "timeout",
                        &json!(t),
                        "timeout must be ≥ 0",
                    ));
                }
            }
            let devices = if cfg.faults.contains(&Fault::NoDevices) {
                vec![]
            } else {
                vec![json!({
                    "type": "Arc",
                    "device_id": DEVICE_ID,
                    "name": DEVICE_NAME,
                    "simulated": true,
                    "power_model": cfg.model.name(),
                })]
            };
            Ok(Reply::Json(json!({ "devices": devices })))
        }
        "otii_get_device_id" => {
            let name = a.str("device_name")?;
            if name == DEVICE_NAME && !cfg.faults.contains(&Fault::NoDevices) {
                Ok(Reply::Json(json!({ "device_id": DEVICE_ID })))
            } else {
                Err(ProtoError::key_value(
                    "device_name",
                    &json!(name),
                    format!("no device named {name:?}"),
                ))
            }
        }
        "otii_get_active_project" => Ok(Reply::Json(json!({ "project_id": sim.project_id }))),
        "otii_create_project" => {
            if sim.running().is_some() {
                return Err(ProtoError::failure(
                    "cannot create a project while recording",
                ));
            }
            sim.project_id += 1;
            sim.recordings.clear();
            Ok(Reply::Json(json!({ "project_id": sim.project_id })))
        }
        "otii_is_logged_in" => Ok(Reply::Json(json!({ "logged_in": sim.logged_in }))),
        "otii_login" => {
            a.str("username")?;
            a.str("password")?;
            sim.logged_in = true;
            done()
        }
        "otii_logout" => {
            sim.logged_in = false;
            done()
        }
        "otii_get_licenses" => {
            if !sim.logged_in {
                return Err(ProtoError::new(
                    "Not logged in",
                    "log in first (otii_login)",
                ));
            }
            let list: Vec<Value> = sim
                .licenses
                .iter()
                .map(|l| {
                    json!({"id": l.id, "type": l.kind, "available": true,
                           "reserved_to": l.reserved_to, "hostname": ""})
                })
                .collect();
            Ok(Reply::Json(json!({ "licenses": list })))
        }
        "otii_reserve_license" | "otii_return_license" => {
            let id = a.int("license_id")?;
            let reserve = cmd == "otii_reserve_license";
            let Some(lic) = sim.licenses.iter_mut().find(|l| l.id == id) else {
                return Err(ProtoError::key_value(
                    "license_id",
                    &json!(id),
                    format!("no licence {id}"),
                ));
            };
            match (reserve, lic.reserved_to.is_empty()) {
                (true, true) => lic.reserved_to = "otii-sim".into(),
                (false, false) => lic.reserved_to.clear(),
                (true, false) => {
                    return Err(ProtoError::new(
                        "License could not be reserved",
                        format!("licence {id} is already reserved"),
                    ))
                }
                (false, true) => {
                    return Err(ProtoError::new(
                        "License could not be returned",
                        format!("licence {id} is not reserved"),
                    ))
                }
            }
            done()
        }
        "otii_has_license" => {
            let kind = a.str("license_type")?;
            let has = sim
                .licenses
                .iter()
                .any(|l| l.kind == kind && !l.reserved_to.is_empty());
            Ok(Reply::Json(json!({ "has_license": has })))
        }
        "otii_set_all_main" => {
            sim.main_on = a.bool("enable")?;
            done()
        }
        "otii_get_battery_profiles" => Ok(Reply::Json(json!({ "battery_profiles": [] }))),
        "otii_shutdown"
        | "otii_open_project"
        | "project_save"
        | "project_close"
        | "project_crop_data"
        | "recording_downsample_channel"
        | "recording_import_log" => Err(ProtoError::new(
            "Operation not supported",
            format!("{cmd} is not supported by otii-sim"),
        )),

        // --- the Arc -------------------------------------------------------------------
        "arc_enable_channel" => {
            a.device()?;
            let ch = a.channel()?;
            let on = a.bool("enable")?;
            sim.enabled.insert(ch, on);
            done()
        }
        "arc_set_channel_samplerate" => {
            a.device()?;
            let ch = a.channel()?;
            let v = a.int("value")?;
            if !(1..=50_000).contains(&v) {
                return Err(ProtoError::key_value(
                    "value",
                    &json!(v),
                    format!("sample rate {v} out of range (1 to 50000 samples/s)"),
                ));
            }
            sim.rates.insert(ch, v as u32);
            done()
        }
        "arc_get_channel_samplerate" => {
            a.device()?;
            let ch = a.channel()?;
            value(json!(sim.rates.get(&ch).copied().unwrap_or(cfg.rate_hz)))
        }
        "arc_set_main" => {
            a.device()?;
            sim.main_on = a.bool("enable")?;
            done()
        }
        "arc_get_main" => {
            a.device()?;
            value(json!(sim.main_on))
        }
        "arc_set_main_voltage" => {
            a.device()?;
            sim.main_voltage = a.num_in("value", 0.5, 5.0, "main voltage, V")?;
            done()
        }
        "arc_get_main_voltage" => {
            a.device()?;
            value(json!(sim.main_voltage))
        }
        "arc_set_max_current" => {
            a.device()?;
            sim.max_current = a.num_in("value", 0.001, 5.0, "max current, A")?;
            done()
        }
        "arc_get_max_current" => {
            a.device()?;
            value(json!(sim.max_current))
        }
        "arc_set_range" => {
            a.device()?;
            let r = a.str("range")?;
            if r != "low" && r != "high" {
                return Err(ProtoError::key_value(
                    "range",
                    &json!(r),
                    "range must be low or high",
                ));
            }
            sim.range = r.to_owned();
            done()
        }
        "arc_get_range" => {
            a.device()?;
            Ok(Reply::Json(json!({ "range": sim.range })))
        }
        "arc_is_connected" => {
            let id = a.str("device_id")?;
            Ok(Reply::Json(json!({ "connected": id == DEVICE_ID })))
        }
        "arc_get_version" => {
            a.device()?;
            Ok(Reply::Json(
                json!({"hw_version": "otii-sim", "fw_version": env!("CARGO_PKG_VERSION")}),
            ))
        }
        "arc_get_value" => {
            a.device()?;
            let ch = a.channel()?;
            if !ch.is_analog() {
                return Err(ProtoError::key_value(
                    "channel",
                    &json!(ch.name()),
                    "arc_get_value needs an analog channel",
                ));
            }
            let signal = Signal {
                load: if sim.main_on {
                    crate::model::Load::Synthetic { seed: cfg.seed }
                } else {
                    crate::model::Load::Off
                },
                params: cfg.params,
                noise_seed: cfg.seed,
            };
            let mut v = 0.0;
            signal.for_each(ch, 1.0, 0, 1, |x| v = x);
            value(json!(v))
        }
        "arc_add_to_project" | "arc_calibrate" => {
            a.device()?;
            done()
        }
        "arc_enable_5v"
        | "arc_enable_exp_port"
        | "arc_enable_uart"
        | "arc_set_4wire"
        | "arc_enable_battery_profiling"
        | "arc_enable_legacy_sink" => {
            a.device()?;
            a.bool("enable")?;
            done()
        }

        // --- the project -------------------------------------------------------------
        "project_start_recording" => {
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
        "project_stop_recording" => {
            a.project(&sim)?;
            let rec = sim.stop_recording().map_err(ProtoError::failure)?;
            let load = match &rec.signal.load {
                crate::model::Load::Timeline(tl) => format!(", mean cpu load {:.3}", tl.mean()),
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
        "project_get_last_recording" => {
            a.project(&sim)?;
            match sim.recordings.last() {
                Some(r) => Ok(Reply::Json(recording_json(r))),
                None => Ok(Reply::Json(json!({ "recording_id": -1 }))),
            }
        }
        "project_get_recordings" => {
            a.project(&sim)?;
            let list: Vec<Value> = sim.recordings.iter().map(recording_json).collect();
            Ok(Reply::Json(json!({ "recordings": list })))
        }

        // --- recordings --------------------------------------------------------------
        "recording_get_channel_data_count" => {
            let rec = a.recording(&sim)?;
            a.device()?;
            let ch = a.channel()?;
            Ok(Reply::Json(json!({ "count": rec.count(ch) })))
        }
        "recording_get_channel_data" => {
            let rec = a.recording(&sim)?;
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
        "recording_get_channel_data_index" => {
            let rec = a.recording(&sim)?;
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
            Ok(Reply::Json(json!({ "index": (ts * rate).floor() as u64 })))
        }
        "recording_get_channel_info" => {
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
            Ok(Reply::Json(json!({
                "offset": rec.offset_s, "from": 0.0, "to": to, "sample_rate": rate
            })))
        }
        "recording_get_channel_statistics" => {
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
            Ok(Reply::Json(statistics(&signal, ch, rate, first, last)))
        }
        "recording_rename" => {
            let name = a.str("name")?.to_owned();
            a.recording_mut(&mut sim)?.name = name;
            done()
        }
        "recording_delete" => {
            let rec = a.recording(&sim)?;
            if rec.is_running() {
                return Err(ProtoError::failure("cannot delete a running recording"));
            }
            let id = rec.id;
            sim.delete(id);
            done()
        }
        "recording_is_running" => {
            let running = a.recording(&sim)?.is_running();
            Ok(Reply::Json(json!({ "running": running })))
        }
        "recording_log" => {
            let text = a.str("text")?.to_owned();
            let ts = a.num("timestamp").unwrap_or(0.0);
            a.recording_mut(&mut sim)?.log.push((ts, text));
            done()
        }
        "recording_get_offset" => {
            let off = a.recording(&sim)?.offset_s;
            Ok(Reply::Json(json!({ "offset": off })))
        }
        "recording_set_offset" => {
            let off = a.num("offset")?;
            a.recording_mut(&mut sim)?.offset_s = off;
            done()
        }
        _ => Err(ProtoError::new(
            "Invalid command",
            format!("unknown command {cmd:?}"),
        )),
    }
}

fn recording_json(r: &crate::state::Recording) -> Value {
    json!({
        "recording_id": r.id,
        "name": r.name,
        "start-time": r.start_time_text(),
    })
}

/// min, max, average (and for `mc` the energy in J and charge in C) over samples
/// `first..last`, from the very values a data request returns.
fn statistics(signal: &Signal, ch: Channel, rate: f64, first: u64, last: u64) -> Value {
    let (mut min, mut max, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0f64);
    signal.for_each(ch, rate, first, last - first, |v| {
        min = min.min(v);
        max = max.max(v);
        sum += v;
    });
    let n = (last - first) as f64;
    let mut out = json!({ "min": min, "max": max, "average": sum / n });
    if ch == Channel::MainCurrent {
        let mut energy = 0.0f64;
        signal.for_each(Channel::MainPower, rate, first, last - first, |p| {
            energy += p
        });
        out["energy"] = json!(energy / rate);
        out["charge"] = json!(sum / rate);
    }
    out
}
