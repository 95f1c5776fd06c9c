//! One kept-alive connection: sends a request's bytes and reads one answer (head, then a body
//! by `Content-Length`, chunks or until close), waking every poll interval to look at the stop
//! flag.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{HttpError, Response};

/// Larger headers than this are not an HTTP server we know.
const MAX_HEAD: usize = 64 * 1024;

/// A TCP connection to the server, with the bytes read from it and not consumed yet.
#[derive(Debug)]
pub(super) struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Whether an answer came on this connection already (then a close before the next
    /// answer is a stale keep-alive connection, and the request may be sent again).
    pub(super) reused: bool,
}

/// Why an exchange gave no answer.
pub(super) enum Exchange {
    /// The connection ended before any byte of an answer.
    Stale,
    /// Anything else.
    Failed(HttpError),
}

impl From<HttpError> for Exchange {
    fn from(e: HttpError) -> Self {
        Exchange::Failed(e)
    }
}

/// What the client needs from an answer's head.
struct Head {
    status: u16,
    keep_alive: bool,
    content_length: Option<usize>,
    chunked: bool,
    location: Option<String>,
    set_cookies: Vec<String>,
}

impl Conn {
    /// A connection that has not carried an answer yet.
    pub(super) fn new(stream: TcpStream) -> Conn {
        Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
            reused: false,
        }
    }

    /// Sends `request` and reads one answer: (answer, keep the connection, Set-Cookie values).
    pub(super) fn exchange(
        &mut self,
        request: &[u8],
        method: &str,
        deadline: Instant,
        timeout: Duration,
        stop: &AtomicBool,
    ) -> Result<(Response, bool, Vec<String>), Exchange> {
        self.buf.clear();
        if let Err(e) = self.stream.write_all(request) {
            return Err(match e.kind() {
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset if self.reused => {
                    Exchange::Stale
                }
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                    HttpError::Timeout { timeout }.into()
                }
                _ => HttpError::Io(e).into(),
            });
        }
        loop {
            let (head, head_len) = loop {
                if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                    break (parse_head(&self.buf[..end])?, end + 4);
                }
                if self.buf.len() > MAX_HEAD {
                    return Err(HttpError::Malformed("headers longer than 64 KiB".into()).into());
                }
                match self.fill(deadline, timeout, stop) {
                    Ok(0) if self.buf.is_empty() => return Err(Exchange::Stale),
                    Ok(0) => return Err(HttpError::Closed.into()),
                    Ok(_) => {}
                    Err(HttpError::Io(e))
                        if self.buf.is_empty() && e.kind() == io::ErrorKind::ConnectionReset =>
                    {
                        return Err(Exchange::Stale)
                    }
                    Err(e) => return Err(e.into()),
                }
            };
            self.buf.drain(..head_len);
            if (100..200).contains(&head.status) {
                // An interim answer (100 Continue): the real one follows.
                continue;
            }
            let no_body = method == "HEAD" || head.status == 204 || head.status == 304;
            let mut keep = head.keep_alive;
            let body = if no_body {
                Vec::new()
            } else if head.chunked {
                self.read_chunked(deadline, timeout, stop)?
            } else if let Some(n) = head.content_length {
                self.read_exact_body(n, deadline, timeout, stop)?
            } else {
                keep = false;
                self.read_to_close(deadline, timeout, stop)?
            };
            // Leftover bytes would be an answer to nothing: do not trust this connection.
            if !self.buf.is_empty() {
                keep = false;
            }
            let response = Response {
                status: head.status,
                location: head.location,
                body,
            };
            return Ok((response, keep, head.set_cookies));
        }
    }

    /// Reads more bytes into `buf`; 0 at end of stream.
    fn fill(
        &mut self,
        deadline: Instant,
        timeout: Duration,
        stop: &AtomicBool,
    ) -> Result<usize, HttpError> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if stop.load(Ordering::Relaxed) {
                return Err(HttpError::Interrupted);
            }
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    if Instant::now() >= deadline {
                        return Err(HttpError::Timeout { timeout });
                    }
                }
                Err(e) => return Err(HttpError::Io(e)),
            }
        }
    }

    fn read_exact_body(
        &mut self,
        n: usize,
        deadline: Instant,
        timeout: Duration,
        stop: &AtomicBool,
    ) -> Result<Vec<u8>, HttpError> {
        while self.buf.len() < n {
            if self.fill(deadline, timeout, stop)? == 0 {
                return Err(HttpError::Closed);
            }
        }
        let rest = self.buf.split_off(n);
        Ok(std::mem::replace(&mut self.buf, rest))
    }

    fn read_to_close(
        &mut self,
        deadline: Instant,
        timeout: Duration,
        stop: &AtomicBool,
    ) -> Result<Vec<u8>, HttpError> {
        while self.fill(deadline, timeout, stop)? > 0 {}
        Ok(std::mem::take(&mut self.buf))
    }

    fn read_line(
        &mut self,
        deadline: Instant,
        timeout: Duration,
        stop: &AtomicBool,
    ) -> Result<Vec<u8>, HttpError> {
        loop {
            if let Some(i) = find(&self.buf, b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..i + 2).take(i).collect();
                return Ok(line);
            }
            if self.fill(deadline, timeout, stop)? == 0 {
                return Err(HttpError::Closed);
            }
        }
    }

    fn read_chunked(
        &mut self,
        deadline: Instant,
        timeout: Duration,
        stop: &AtomicBool,
    ) -> Result<Vec<u8>, HttpError> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line(deadline, timeout, stop)?;
            let text = String::from_utf8_lossy(&line);
            let size_text = text.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| HttpError::Malformed(format!("bad chunk size {size_text:?}")))?;
            if size == 0 {
                // Trailers, then the empty line.
                while !self.read_line(deadline, timeout, stop)?.is_empty() {}
                return Ok(body);
            }
            let chunk = self.read_exact_body(size + 2, deadline, timeout, stop)?;
            body.extend_from_slice(&chunk[..size]);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_head(raw: &[u8]) -> Result<Head, HttpError> {
    let text = std::str::from_utf8(raw)
        .map_err(|_| HttpError::Malformed("headers are not UTF-8".into()))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|_| version.starts_with("HTTP/1."))
        .ok_or_else(|| HttpError::Malformed(format!("status line {status_line:?}")))?;
    let mut head = Head {
        status,
        keep_alive: version == "HTTP/1.1",
        content_length: None,
        chunked: false,
        location: None,
        set_cookies: Vec::new(),
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            head.content_length = Some(
                value
                    .parse()
                    .map_err(|_| HttpError::Malformed(format!("Content-Length {value:?}")))?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            let v = value.to_ascii_lowercase();
            if v.contains("close") {
                head.keep_alive = false;
            } else if v.contains("keep-alive") {
                head.keep_alive = true;
            }
        } else if name.eq_ignore_ascii_case("location") {
            head.location = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("set-cookie") {
            head.set_cookies.push(value.to_owned());
        }
    }
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_status_line_is_an_error() {
        assert!(matches!(
            parse_head(b"SSH-2.0-OpenSSH"),
            Err(HttpError::Malformed(_))
        ));
        assert!(matches!(
            parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: x"),
            Err(HttpError::Malformed(_))
        ));
    }
}
