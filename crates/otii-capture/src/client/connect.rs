//! Connecting over TCP, with retries while the Otii application (or otii-sim) starts.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::thread;
use std::time::{Duration, Instant};

use super::Client;

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

/// Connects over TCP, retrying every 250 ms until `retry_for` has passed (the Otii application
/// or the simulator may still be starting).
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
    let _ = client.reader.get_ref().get_ref().set_read_timeout(None);
    Ok(client)
}
