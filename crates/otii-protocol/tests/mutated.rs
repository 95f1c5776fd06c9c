//! The Otii message reader meets anything (issue 15): a valid conversation with bytes
//! flipped, cut short or inserted, or arbitrary bytes, read through the framing and decoded
//! as envelopes and messages, never panics; every decoding error is one line, an envelope's
//! with the position in the message (`line 1 column N`; the client names the stream and the
//! command outstanding); the valid conversation still reads whole.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufReader, Cursor};

use otii_protocol::{trim_terminator, Envelope, Frame, FrameReader, Message};
use proptest::prelude::*;
use testkit::mutate::{apply, edits};

const TALK: &str = concat!(
    r#"{"type":"information","info":"connected","data":{"otii_version":"3.5.5","protocol_version":"0.1","server":"otii-server"}}"#,
    "\r\n",
    r#"{"type":"response","cmd":"otii_get_devices","trans_id":"1","data":{"devices":[{"type":"Arc","device_id":"ARC","name":"Arc"}]}}"#,
    "\r\n",
    r#"{"type":"progress","cmd":"recording_get_channel_data","trans_id":"2","progress_value":50}"#,
    "\r\n",
    r#"{"type":"response","cmd":"recording_get_channel_data","trans_id":"2","data":{"data_type":"analog","values":[1.0,2.5e-05,0.22664585709571838]}}"#,
    "\r\n",
    r#"{"type":"error","cmd":"project_start_recording","trans_id":"3","errorcode":"Command failure","data":{"message":"busy"}}"#,
    "\n",
);

/// Insertions likely to confuse the parser of the Otii protocol's JSON frames (see [`testkit::mutate`]).
const TOKENS: &[&[u8]] = &[b"\r\n", b"\"", b"{", b"]", b"null", b"1e999", b"\xff"];

/// Reads every frame of `bytes` (lines up to `limit` bytes) and decodes it; returns how many
/// decoded as messages. Errors must be one line with a position.
fn read_all(bytes: &[u8], limit: usize) -> Result<usize, TestCaseError> {
    let mut r = FrameReader::new(BufReader::with_capacity(7, Cursor::new(bytes)), limit);
    let mut buf = Vec::new();
    let mut messages = 0;
    loop {
        match r.read_frame(&mut buf).unwrap() {
            Frame::Eof => break,
            Frame::TooLong => {
                prop_assert!(buf.len() == limit + 1);
                break;
            }
            Frame::Line | Frame::Unterminated => {}
        }
        let line = trim_terminator(&buf);
        // The envelope (what a client reads first) says where in the message it broke; the
        // typed message after it (internally tagged, decoded from buffered content) can only
        // say what: serde gives no column there.
        if let Err(e) = serde_json::from_slice::<Envelope<'_>>(line) {
            let text = e.to_string();
            prop_assert!(!text.contains('\n'), "two lines: {text:?}");
            prop_assert!(text.contains("line 1 column "), "no position: {text}");
        }
        if let Err(e) = serde_json::from_slice::<Message>(line) {
            let text = e.to_string();
            prop_assert!(!text.is_empty() && !text.contains('\n'), "{text:?}");
        }
        if serde_json::from_slice::<Message>(line).is_ok() {
            messages += 1;
        }
    }
    Ok(messages)
}

#[test]
fn the_valid_conversation_reads_whole() {
    assert_eq!(read_all(TALK.as_bytes(), 1 << 20).unwrap(), 5);
}

proptest! {
    #[test]
    fn a_mutated_conversation_never_panics_and_errors_say_where(
        edits in edits(TOKENS),
        limit in prop_oneof![Just(1usize << 20), 16usize..200],
    ) {
        read_all(&apply(TALK.as_bytes(), &edits), limit)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_errors_say_where(
        bytes in proptest::collection::vec(any::<u8>(), 0..300)
    ) {
        read_all(&bytes, 1 << 20)?;
    }
}
