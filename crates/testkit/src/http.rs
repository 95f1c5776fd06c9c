use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One HTTP/1.1 `GET` of `url` (`http://host:port/path` only), without following redirects,
/// with `Connection: close` and a 30 s timeout. Returns the status and the body as text
/// (lossy UTF-8). For assertions in tests, not for load.
pub fn http_get(url: &str) -> io::Result<(u16, String)> {
    let invalid = |msg: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{url}: {msg}"));
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| invalid("only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = TcpStream::connect(authority)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    // One write: `write!` on the stream would send the request in pieces.
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| invalid("the answer has no end of headers"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid("the answer has no status line"))?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size =
            usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn reads_status_and_body_from_a_real_socket() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap_or_else(|e| panic!("{e}"));
            // Read the whole request first: closing a socket with unread input makes the
            // kernel reset the connection, which the client may see before the answer.
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap_or_else(|e| panic!("{e}"));
                assert!(n > 0, "the client closed before its request ended");
                req.extend_from_slice(&buf[..n]);
            }
            s.write_all(b"HTTP/1.1 404 NOT FOUND\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
                .unwrap_or_else(|e| panic!("{e}"));
            // The client reads to the end of the stream.
            let _ = s.shutdown(std::net::Shutdown::Write);
            String::from_utf8_lossy(&req).into_owned()
        });
        let (status, body) =
            http_get(&format!("http://{addr}/x%20y")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((status, body.as_str()), (404, "abcde"));
        let req = server.join().unwrap_or_else(|_| panic!("server thread"));
        assert!(req.starts_with("GET /x%20y HTTP/1.1\r\n"), "{req}");
    }

    #[test]
    fn refuses_https() {
        let err = http_get("https://127.0.0.1/").err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("only http://")));
    }
}
