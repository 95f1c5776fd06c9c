//! One client connection: the greeting, then request after request until the client leaves.
//!
//! The server never sends an unsolicited `information` message after the greeting: the
//! reference client would take it for the answer it waits for. Nor does it send `progress`
//! messages before data answers, as the real Otii does not (the study's client 2.2.5 would
//! print a line for each, and its logs hold none); only the `progress` fault adds them. Injected
//! faults act here, before a command reaches its handler.

use std::io::{self, BufReader, BufWriter};
use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::thread;

use otii_protocol::{
    trim_terminator, write_message, ErrorCode, Frame, FrameReader, Message, Progress, Response,
    MAX_REQUEST_BYTES,
};
use serde_json::{json, Map, Value};

use super::{dispatch, greeting, ProtoError, Reply, Shared};
use crate::fault::Fault;

/// Serves one connection until the client closes it (or a fault drops it).
pub(super) fn serve(stream: TcpStream, shared: &Shared) -> io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut reader = FrameReader::new(BufReader::new(stream.try_clone()?), MAX_REQUEST_BYTES);
    let mut out = BufWriter::with_capacity(1 << 16, stream);
    write_message(&mut out, &greeting(&shared.cfg))?;
    let mut line = Vec::new();
    let mut data_chunks: u64 = 0;
    loop {
        match reader.read_frame(&mut line)? {
            Frame::Eof => return Ok(()),
            Frame::TooLong => {
                let err = ProtoError::new(ErrorCode::RequestTooLarge, "request longer than 1 MiB")
                    .with("read_size", json!(line.len().to_string()))
                    .with("max_size", json!(MAX_REQUEST_BYTES));
                write_message(&mut out, &err.to_message("", &Value::Null))?;
                return Ok(());
            }
            Frame::Line | Frame::Unterminated => {}
        }
        let text = String::from_utf8_lossy(trim_terminator(&line));
        if text.trim().is_empty() {
            continue;
        }
        let req: Value = match serde_json::from_str(&text) {
            Ok(v @ Value::Object(_)) => v,
            other => {
                let parse_error = match other {
                    Err(e) => e.to_string(),
                    Ok(_) => "not a JSON object".into(),
                };
                let err = ProtoError::new(
                    ErrorCode::NotAbleToParse,
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
            Ok(Reply::Json(data)) => write_message(
                &mut out,
                &Message::Response(Response {
                    cmd: cmd.clone(),
                    trans_id: trans_id.clone(),
                    data,
                }),
            )?,
            Ok(Reply::Data(job)) => {
                let drop_after = shared.cfg.faults.iter().find_map(|f| match f {
                    Fault::DropAfterChunks(n) => Some((*n, false)),
                    Fault::DropOnceAfterChunks(n) => Some((*n, true)),
                    _ => None,
                });
                let drop = drop_after.is_some_and(|(n, once)| {
                    data_chunks >= n && !(once && shared.dropped_once.swap(true, Ordering::SeqCst))
                });
                if drop {
                    eprintln!(
                        "otii-sim: fault drop-after-chunks: closing the connection at data request {}",
                        data_chunks + 1
                    );
                    return Ok(());
                }
                data_chunks += 1;
                if shared.cfg.faults.contains(&Fault::ProgressBeforeData) {
                    let progress = Message::<Value>::Progress(Progress {
                        cmd: cmd.clone(),
                        trans_id: trans_id.clone(),
                        progress_value: 0,
                    });
                    write_message(&mut out, &progress)?;
                }
                write_message(
                    &mut out,
                    &Message::Response(Response {
                        cmd: cmd.clone(),
                        trans_id: trans_id.clone(),
                        data: job.answer(),
                    }),
                )?;
            }
            Err(err) => write_message(&mut out, &err.to_message(&cmd, &trans_id))?,
        }
    }
}
