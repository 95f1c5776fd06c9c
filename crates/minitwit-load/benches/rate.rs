#![allow(clippy::expect_used)]
//! Maximum request rate of minitwit-load's HTTP client against a trivial local endpoint
//! (an in-process server that answers every request with a fixed 200), one session:
//! with keep-alive, and with a new connection per request as gunicorn's sync workers force.
//! Run by `make bench-load` (`cargo bench -p minitwit-load --bench rate`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::AtomicBool;
use std::thread;
use std::time::{Duration, Instant};

use minitwit_load::http::{Client, Session, Timeouts};
use minitwit_load::url::HttpUrl;

const RUN: Duration = Duration::from_secs(3);

fn serve_connection(mut s: TcpStream, answer: &'static [u8], close: bool) {
    let _ = s.set_nodelay(true);
    let mut buf = vec![0u8; 8192];
    let mut have = 0;
    loop {
        let n = match s.read(&mut buf[have..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        have += n;
        // Answer every complete request head (GETs only: no bodies).
        while let Some(end) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") {
            if s.write_all(answer).is_err() || close {
                return;
            }
            buf.copy_within(end + 4..have, 0);
            have -= end + 4;
        }
        if have == buf.len() {
            return;
        }
    }
}

fn trivial_server(close: bool) -> SocketAddr {
    let answer: &'static [u8] = if close {
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    } else {
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    };
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    thread::spawn(move || {
        for s in listener.incoming().flatten() {
            thread::spawn(move || serve_connection(s, answer, close));
        }
    });
    addr
}

fn rate(close: bool) -> (u64, f64) {
    let addr = trivial_server(close);
    let url = HttpUrl::parse(&format!("http://{addr}"), false).expect("url");
    let timeouts = Timeouts {
        connect: Duration::from_secs(5),
        request: Duration::from_secs(5),
    };
    let client = Client::new(&url, timeouts).expect("client");
    let stop = AtomicBool::new(false);
    let mut session = Session::new();
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < RUN {
        let r = client
            .send(&mut session, "GET", "/", None, &stop)
            .expect("request to the trivial server");
        assert_eq!(r.status, 200);
        n += 1;
    }
    (n, started.elapsed().as_secs_f64())
}

fn main() {
    // `cargo bench` passes --bench; nothing to configure.
    let mut results = Vec::new();
    for (name, close) in [("keep-alive", false), ("new connection per request", true)] {
        let (n, secs) = rate(close);
        let per_s = n as f64 / secs;
        println!("minitwit-load client, one session, {name}: {n} requests in {secs:.2} s = {per_s:.0} requests/s");
        results.push(format!(
            "\"{}\": {per_s:.0}",
            if close { "close" } else { "keep_alive" }
        ));
    }
    println!(
        "{{\"bench\": \"load-client-max-rate\", \"requests_per_s\": {{{}}}}}",
        results.join(", ")
    );
}
