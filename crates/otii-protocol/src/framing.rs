//! Line framing: one JSON message per line, each terminated by `\r\n`.
//!
//! The reference client splits what it receives on `\r\n` exactly, so every message a server
//! sends must end with both bytes; a message never contains a raw line break (JSON escapes
//! them in strings). Readers split on `\n` and drop the `\r` before it, so they also accept a
//! peer that ends lines with `\n` alone. A message may arrive in many reads or several
//! messages in one; [`FrameReader`] sees lines either way.

use std::io::{self, BufRead, Write};

use serde::Serialize;

/// The bytes that end every message.
pub const TERMINATOR: &[u8] = b"\r\n";

/// What [`FrameReader::read_frame`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A whole line, terminator included, is in the buffer.
    Line,
    /// The peer closed the connection in the middle of a line; the buffer holds what came.
    Unterminated,
    /// The peer closed the connection between messages.
    Eof,
    /// The line is longer than the reader's limit; the buffer holds its first `limit + 1`
    /// bytes and the rest of the line is still unread.
    TooLong,
}

/// Reads one line at a time from a buffered stream, up to a length limit.
#[derive(Debug)]
pub struct FrameReader<R> {
    inner: R,
    max_bytes: u64,
}

impl<R: BufRead> FrameReader<R> {
    /// A reader that refuses lines longer than `max_bytes` (terminator included).
    pub fn new(inner: R, max_bytes: usize) -> Self {
        Self {
            inner,
            max_bytes: u64::try_from(max_bytes).unwrap_or(u64::MAX),
        }
    }

    /// A reader without a length limit: a client reading answers, whose size it chose itself
    /// by the `count` of its data requests.
    pub fn unbounded(inner: R) -> Self {
        Self {
            inner,
            max_bytes: u64::MAX - 1,
        }
    }

    /// Reads the next line into `buf` (cleared first).
    pub fn read_frame(&mut self, buf: &mut Vec<u8>) -> io::Result<Frame> {
        buf.clear();
        let n = io::Read::take(&mut self.inner, self.max_bytes + 1).read_until(b'\n', buf)?;
        Ok(if n == 0 {
            Frame::Eof
        } else if buf.len() as u64 > self.max_bytes {
            Frame::TooLong
        } else if buf.ends_with(b"\n") {
            Frame::Line
        } else {
            Frame::Unterminated
        })
    }

    /// The stream underneath.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The stream underneath, to write to it.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }
}

/// A line without its terminator (`\r\n`, `\n`, or a stray `\r` at the end).
pub fn trim_terminator(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && matches!(line[end - 1], b'\r' | b'\n') {
        end -= 1;
    }
    &line[..end]
}

/// Writes `msg` as one line of JSON and flushes it.
pub fn write_message<W: Write + ?Sized, T: Serialize + ?Sized>(
    out: &mut W,
    msg: &T,
) -> io::Result<()> {
    serde_json::to_writer(&mut *out, msg).map_err(io::Error::other)?;
    out.write_all(TERMINATOR)?;
    out.flush()
}

/// `msg` as the bytes of one line, terminator included.
pub fn encode_message<T: Serialize + ?Sized>(msg: &T) -> serde_json::Result<Vec<u8>> {
    let mut line = serde_json::to_vec(msg)?;
    line.extend_from_slice(TERMINATOR);
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use std::io::{BufReader, Read};

    /// A stream that hands out at most `step` bytes per read, as TCP may.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        step: usize,
    }

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len() - self.at);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn frames(data: &[u8], step: usize, max: usize) -> Vec<(Frame, Vec<u8>)> {
        let stream = Trickle {
            data: data.to_vec(),
            at: 0,
            step,
        };
        let mut r = FrameReader::new(BufReader::with_capacity(4, stream), max);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        loop {
            let f = r.read_frame(&mut buf).unwrap();
            out.push((f, buf.clone()));
            if matches!(f, Frame::Eof | Frame::TooLong) {
                return out;
            }
        }
    }

    #[test]
    fn messages_split_across_reads_come_out_whole() {
        let text = b"{\"type\":\"request\",\"cmd\":\"otii_get_devices\"}\r\n";
        for step in [1, 2, 3, 7, 100] {
            let got = frames(text, step, 1024);
            assert_eq!(got[0], (Frame::Line, text.to_vec()), "step {step}");
            assert_eq!(got[1].0, Frame::Eof);
        }
    }

    #[test]
    fn joined_messages_come_out_one_by_one() {
        let text = b"{\"a\":1}\r\n{\"b\":2}\r\n{\"c\":3}\n";
        let got = frames(text, 64, 1024);
        let lines: Vec<&[u8]> = got.iter().map(|(_, b)| trim_terminator(b)).collect();
        assert_eq!(lines, [&b"{\"a\":1}"[..], b"{\"b\":2}", b"{\"c\":3}", b""]);
        assert!(got[..3].iter().all(|(f, _)| *f == Frame::Line));
        assert_eq!(got[3].0, Frame::Eof);
    }

    #[test]
    fn a_line_cut_by_the_peer_is_unterminated() {
        let got = frames(b"{\"a\":1}\r\n{\"b\"", 5, 1024);
        assert_eq!(got[1], (Frame::Unterminated, b"{\"b\"".to_vec()));
        assert_eq!(got[2].0, Frame::Eof);
    }

    #[test]
    fn oversized_lines_are_refused_without_reading_them_whole() {
        let mut text = vec![b'x'; 100];
        text.extend_from_slice(b"\r\n");
        let got = frames(&text, 9, 10);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, Frame::TooLong);
        assert_eq!(got[0].1.len(), 11, "limit + 1 bytes read, no more");
        // Exactly at the limit (terminator included) is fine.
        let got = frames(b"12345678\r\n", 3, 10);
        assert_eq!(got[0].0, Frame::Line);
        let got = frames(b"123456789\r\n", 3, 10);
        assert_eq!(got[0].0, Frame::TooLong);
    }

    #[test]
    fn unbounded_reader_takes_long_lines() {
        let mut text = vec![b'7'; 3 << 20];
        text.extend_from_slice(b"\r\n");
        let mut r = FrameReader::unbounded(BufReader::new(&text[..]));
        let mut buf = Vec::new();
        assert_eq!(r.read_frame(&mut buf).unwrap(), Frame::Line);
        assert_eq!(buf.len(), text.len());
    }

    #[test]
    fn written_messages_end_with_crlf_and_read_back() {
        let msg = json!({"type": "response", "data": {"text": "two\r\nlines"}});
        let mut out = Vec::new();
        write_message(&mut out, &msg).unwrap();
        assert!(out.ends_with(TERMINATOR));
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        assert_eq!(encode_message(&msg).unwrap(), out);
        let back: Value = serde_json::from_slice(trim_terminator(&out)).unwrap();
        assert_eq!(back, msg);
    }

    proptest::proptest! {
        /// Any messages, whatever their text (line breaks included), written one after the
        /// other and read back in reads of any size, come out whole and in order.
        #[test]
        fn any_messages_survive_any_read_sizes(
            texts in proptest::collection::vec(".*", 0..8),
            step in 1usize..64,
        ) {
            let sent: Vec<Value> = texts
                .iter()
                .map(|t| json!({"type": "response", "data": {"text": t}}))
                .collect();
            let mut stream = Vec::new();
            for m in &sent {
                write_message(&mut stream, m).unwrap();
            }
            let mut r = FrameReader::new(
                BufReader::with_capacity(8, Trickle { data: stream, at: 0, step }),
                1 << 20,
            );
            let mut buf = Vec::new();
            let mut got = Vec::new();
            while r.read_frame(&mut buf).unwrap() == Frame::Line {
                got.push(serde_json::from_slice::<Value>(trim_terminator(&buf)).unwrap());
            }
            proptest::prop_assert_eq!(got, sent);
        }
    }

    #[test]
    fn trim_terminator_drops_only_line_ends() {
        assert_eq!(trim_terminator(b"{}\r\n"), b"{}");
        assert_eq!(trim_terminator(b"{}\n"), b"{}");
        assert_eq!(trim_terminator(b"{}"), b"{}");
        assert_eq!(trim_terminator(b" {} \r\n"), b" {} ");
    }
}
