//! A small HTTP/1.1 client over `std::net::TcpStream`: keep-alive, cookies, timeouts that a
//! stop flag can cut short, and nothing else.
//!
//! It is hand-written so that what goes on the wire is exactly what the scenario says (no
//! hidden retries, redirects or extra headers; redirects are followed by the caller, one
//! record per hop) and so the client costs next to nothing next to the server it measures.
//! A [`Session`] is what a Python `requests.Session` is: a cookie jar and a kept-alive
//! connection. A cookie-less `requests.get` is a fresh `Session` used for one redirect chain.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::url::HttpUrl;

mod conn;

use conn::{Conn, Exchange};

/// How often a blocked read wakes up to look at the stop flag.
const POLL: Duration = Duration::from_millis(200);

/// What went wrong with one request.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The server's host name does not resolve.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The host name.
        host: String,
        /// The resolver's error.
        #[source]
        source: io::Error,
    },
    /// The TCP connection was refused or failed.
    #[error("cannot connect to {addr}: {source} (is the server running?)")]
    Connect {
        /// The address tried.
        addr: SocketAddr,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The TCP connection did not complete within the connect timeout.
    #[error("cannot connect to {addr}: no answer within {timeout:?} (--connect-timeout)")]
    ConnectTimeout {
        /// The address tried.
        addr: SocketAddr,
        /// The connect timeout.
        timeout: Duration,
    },
    /// The answer did not complete within the request timeout.
    #[error("no complete answer within {timeout:?} (--timeout)")]
    Timeout {
        /// The request timeout.
        timeout: Duration,
    },
    /// Sending or receiving failed.
    #[error("connection failed: {0}")]
    Io(#[source] io::Error),
    /// The server closed the connection before a complete answer.
    #[error("the server closed the connection before a complete answer")]
    Closed,
    /// The answer is not HTTP/1.x as we know it.
    #[error("malformed HTTP answer: {0}")]
    Malformed(String),
    /// The stop flag was raised (Ctrl-C).
    #[error("interrupted")]
    Interrupted,
}

impl HttpError {
    /// Whether no HTTP answer came at all because the server was away: unresolved, refused,
    /// reset, closed or silent. An infrastructure fault (exit 75), not the scenario failing.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            HttpError::Resolve { .. }
                | HttpError::Connect { .. }
                | HttpError::ConnectTimeout { .. }
                | HttpError::Timeout { .. }
                | HttpError::Io(_)
                | HttpError::Closed
        )
    }
}

/// Connect and request timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Time allowed to open a TCP connection.
    pub connect: Duration,
    /// Time allowed from sending a request to having read its whole answer.
    pub request: Duration,
}

/// An answer, read completely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// The `Location` header, if any.
    pub location: Option<String>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl Response {
    /// Whether the body contains `needle` (the scenario's flash checks).
    pub fn body_contains(&self, needle: &str) -> bool {
        let n = needle.as_bytes();
        !n.is_empty() && self.body.windows(n.len()).any(|w| w == n)
    }
}

/// A cookie jar and a kept-alive connection, like a Python `requests.Session`.
#[derive(Debug, Default)]
pub struct Session {
    conn: Option<Conn>,
    cookies: Vec<(String, String)>,
}

impl Session {
    /// A new session: no cookies, no connection.
    pub fn new() -> Self {
        Self::default()
    }

    /// The cookies held, as `(name, value)`.
    pub fn cookies(&self) -> &[(String, String)] {
        &self.cookies
    }

    /// Stores one `Set-Cookie` header. Path and domain are ignored (one server); `Max-Age=0`
    /// or a negative one, or an `Expires` in 1970 (how Flask deletes a session), deletes it.
    fn store_cookie(&mut self, header: &str) {
        let mut parts = header.split(';');
        let Some((name, value)) = parts.next().and_then(|nv| nv.split_once('=')) else {
            return;
        };
        let (name, value) = (name.trim(), value.trim());
        let deleted = parts.any(|attr| {
            let attr = attr.trim().to_ascii_lowercase();
            attr.strip_prefix("max-age=")
                .is_some_and(|v| v.parse::<i64>().is_ok_and(|v| v <= 0))
                || (attr.starts_with("expires=") && attr.contains("1970"))
        });
        self.cookies.retain(|(n, _)| n != name);
        if !deleted {
            self.cookies.push((name.to_owned(), value.to_owned()));
        }
    }
}

/// Sends requests to one server.
#[derive(Debug)]
pub struct Client {
    base: HttpUrl,
    host_header: String,
    addrs: Vec<SocketAddr>,
    timeouts: Timeouts,
    user_agent: String,
}

impl Client {
    /// Resolves the server's address once, up front.
    pub fn new(base: &HttpUrl, timeouts: Timeouts) -> Result<Self, HttpError> {
        let addrs: Vec<SocketAddr> = (base.host.as_str(), base.port)
            .to_socket_addrs()
            .map_err(|source| HttpError::Resolve {
                host: base.host.clone(),
                source,
            })?
            .collect();
        if addrs.is_empty() {
            return Err(HttpError::Resolve {
                host: base.host.clone(),
                source: io::Error::new(io::ErrorKind::NotFound, "no address"),
            });
        }
        Ok(Self {
            base: base.clone(),
            host_header: base.host_header(),
            addrs,
            timeouts,
            user_agent: format!("minitwit-load/{}", env!("CARGO_PKG_VERSION")),
        })
    }

    /// The server's base URL.
    pub fn base(&self) -> &HttpUrl {
        &self.base
    }

    /// The request target for a path of the application: the base prefix + `path`.
    pub fn target(&self, path: &str) -> String {
        format!("{}{path}", self.base.path)
    }

    /// Sends one request with the session's cookies and reads the whole answer, storing its
    /// cookies. `target` is already URL-encoded; `form` is an encoded form body (sent as
    /// `application/x-www-form-urlencoded`).
    pub fn send(
        &self,
        session: &mut Session,
        method: &str,
        target: &str,
        form: Option<&str>,
        stop: &AtomicBool,
    ) -> Result<Response, HttpError> {
        let request = self.request_bytes(session, method, target, form);
        let deadline = Instant::now() + self.timeouts.request;
        let response = loop {
            let mut conn = match session.conn.take() {
                Some(c) => c,
                None => self.connect()?,
            };
            let reused = conn.reused;
            match conn.exchange(&request, method, deadline, self.timeouts.request, stop) {
                Ok((response, keep, set_cookies)) => {
                    for c in &set_cookies {
                        session.store_cookie(c);
                    }
                    if keep {
                        conn.reused = true;
                        session.conn = Some(conn);
                    }
                    break response;
                }
                // A kept-alive connection the server closed meanwhile: send again on a new one.
                Err(Exchange::Stale) if reused => continue,
                Err(Exchange::Stale) => return Err(HttpError::Closed),
                Err(Exchange::Failed(e)) => return Err(e),
            }
        };
        Ok(response)
    }

    fn request_bytes(
        &self,
        session: &Session,
        method: &str,
        target: &str,
        form: Option<&str>,
    ) -> Vec<u8> {
        let mut r = Vec::with_capacity(256 + form.map_or(0, str::len));
        // Writing into a Vec cannot fail.
        let _ = write!(
            r,
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\nAccept-Encoding: identity\r\nAccept: */*\r\nConnection: keep-alive\r\n",
            self.host_header, self.user_agent
        );
        if !session.cookies.is_empty() {
            r.extend_from_slice(b"Cookie: ");
            for (i, (n, v)) in session.cookies.iter().enumerate() {
                if i > 0 {
                    r.extend_from_slice(b"; ");
                }
                let _ = write!(r, "{n}={v}");
            }
            r.extend_from_slice(b"\r\n");
        }
        if let Some(body) = form {
            let _ = write!(
                r,
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        } else {
            r.extend_from_slice(b"\r\n");
        }
        r
    }

    fn connect(&self) -> Result<Conn, HttpError> {
        let mut last = None;
        for &addr in &self.addrs {
            match TcpStream::connect_timeout(&addr, self.timeouts.connect) {
                Ok(stream) => {
                    let setup = stream
                        .set_nodelay(true)
                        .and_then(|()| {
                            stream.set_read_timeout(Some(POLL.min(self.timeouts.request)))
                        })
                        .and_then(|()| stream.set_write_timeout(Some(self.timeouts.request)));
                    setup.map_err(HttpError::Io)?;
                    return Ok(Conn::new(stream));
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                    ) =>
                {
                    last = Some(HttpError::ConnectTimeout {
                        addr,
                        timeout: self.timeouts.connect,
                    });
                }
                Err(source) => last = Some(HttpError::Connect { addr, source }),
            }
        }
        Err(last.unwrap_or(HttpError::Closed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;
    use std::sync::atomic::Ordering;
    use std::thread;

    fn client_for(addr: SocketAddr) -> Client {
        let url =
            HttpUrl::parse(&format!("http://{addr}"), false).unwrap_or_else(|e| panic!("{e}"));
        let t = Timeouts {
            connect: Duration::from_secs(2),
            request: Duration::from_secs(5),
        };
        Client::new(&url, t).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A one-shot server: accepts `answers.len()` requests on as many connections as the
    /// client opens, replies with the canned answers in order, returns what it received.
    fn serve(answers: Vec<&'static [u8]>) -> (SocketAddr, thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let handle = thread::spawn(move || {
            let mut seen = Vec::new();
            let mut answers = answers.into_iter();
            'conns: while let Ok((mut s, _)) = listener.accept() {
                loop {
                    let mut buf = vec![0u8; 8192];
                    let n = match s.read(&mut buf) {
                        Ok(0) | Err(_) => continue 'conns,
                        Ok(n) => n,
                    };
                    seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                    match answers.next() {
                        Some(a) => {
                            let _ = s.write_all(a);
                            if a.windows(17)
                                .any(|w| w.eq_ignore_ascii_case(b"connection: close"))
                            {
                                continue 'conns;
                            }
                        }
                        None => break 'conns,
                    }
                    if answers.len() == 0 {
                        break 'conns;
                    }
                }
            }
            seen
        });
        (addr, handle)
    }

    #[test]
    fn keeps_cookies_and_the_connection_and_sends_forms() {
        let (addr, server) = serve(vec![
            b"HTTP/1.1 302 FOUND\r\nLocation: /\r\nSet-Cookie: session=abc; HttpOnly; Path=/\r\nContent-Length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        ]);
        let client = client_for(addr);
        let stop = AtomicBool::new(false);
        let mut s = Session::new();
        let r = client
            .send(
                &mut s,
                "POST",
                "/login",
                Some("username=a+b&password=1"),
                &stop,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.status, r.location.as_deref()), (302, Some("/")));
        let r = client
            .send(&mut s, "GET", "/", None, &stop)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.status, r.body.as_slice()), (200, &b"hello world"[..]));
        assert!(r.body_contains("lo wo"));
        let seen = server.join().unwrap_or_else(|_| panic!("server"));
        assert_eq!(
            seen.len(),
            2,
            "both requests on one kept-alive connection: {seen:?}"
        );
        assert!(seen[0].starts_with("POST /login HTTP/1.1\r\n"));
        assert!(seen[0].contains("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 23\r\n\r\nusername=a+b&password=1"));
        assert!(!seen[0].contains("Cookie:"));
        assert!(
            seen[1].contains("\r\nCookie: session=abc\r\n"),
            "{}",
            seen[1]
        );
    }

    #[test]
    fn reconnects_after_connection_close() {
        let (addr, server) = serve(vec![
            b"HTTP/1.1 404 NOT FOUND\r\nConnection: close\r\nContent-Length: 3\r\n\r\nno!",
            b"HTTP/1.0 200 OK\r\n\r\nuntil close",
        ]);
        let client = client_for(addr);
        let stop = AtomicBool::new(false);
        let mut s = Session::new();
        let r = client
            .send(&mut s, "GET", "/a", None, &stop)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.status, r.body.as_slice()), (404, &b"no!"[..]));
        assert!(s.conn.is_none());
        let r = client
            .send(&mut s, "GET", "/b", None, &stop)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((r.status, r.body.as_slice()), (200, &b"until close"[..]));
        assert_eq!(server.join().unwrap_or_else(|_| panic!("server")).len(), 2);
    }

    #[test]
    fn times_out_on_a_silent_server_and_stops_on_the_flag() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let url =
            HttpUrl::parse(&format!("http://{addr}"), false).unwrap_or_else(|e| panic!("{e}"));
        let t = Timeouts {
            connect: Duration::from_secs(1),
            request: Duration::from_millis(300),
        };
        let client = Client::new(&url, t).unwrap_or_else(|e| panic!("{e}"));
        let stop = AtomicBool::new(false);
        let err = client
            .send(&mut Session::new(), "GET", "/", None, &stop)
            .err();
        assert!(matches!(err, Some(HttpError::Timeout { .. })), "{err:?}");
        stop.store(true, Ordering::Relaxed);
        let err = client
            .send(&mut Session::new(), "GET", "/", None, &stop)
            .err();
        assert!(matches!(err, Some(HttpError::Interrupted)), "{err:?}");
        drop(listener);
    }

    #[test]
    fn refused_connection_names_the_address() {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap_or_else(|e| panic!("{e}"))
            .port();
        let client = client_for(SocketAddr::from(([127, 0, 0, 1], port)));
        let err = client
            .send(
                &mut Session::new(),
                "GET",
                "/",
                None,
                &AtomicBool::new(false),
            )
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains(&format!("127.0.0.1:{port}")) && err.contains("is the server running"),
            "{err}"
        );
    }

    #[test]
    fn a_listener_that_never_accepts_hits_the_connect_timeout() {
        // Fill the accept queue of a listener that never accepts: further SYNs are dropped,
        // which is what an unreachable host looks like, without leaving loopback.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let mut held = Vec::new();
        let full = (0..4096).any(|_| {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                Ok(s) => {
                    held.push(s);
                    false
                }
                Err(_) => true,
            }
        });
        assert!(full, "the accept queue never filled");
        let url =
            HttpUrl::parse(&format!("http://{addr}"), false).unwrap_or_else(|e| panic!("{e}"));
        let t = Timeouts {
            connect: Duration::from_millis(300),
            request: Duration::from_secs(5),
        };
        let client = Client::new(&url, t).unwrap_or_else(|e| panic!("{e}"));
        let err = client
            .send(
                &mut Session::new(),
                "GET",
                "/",
                None,
                &AtomicBool::new(false),
            )
            .err();
        assert!(
            matches!(err, Some(HttpError::ConnectTimeout { .. })),
            "{err:?}"
        );
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("--connect-timeout"), "{text}");
    }

    #[test]
    fn flask_cookie_deletion_empties_the_jar() {
        let mut s = Session::new();
        s.store_cookie("session=abc; HttpOnly; Path=/");
        s.store_cookie("other=1");
        assert_eq!(s.cookies().len(), 2);
        s.store_cookie(
            "session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; Path=/",
        );
        assert_eq!(s.cookies(), &[("other".to_owned(), "1".to_owned())]);
    }
}
