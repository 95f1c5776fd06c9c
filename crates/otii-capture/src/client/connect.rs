//! Connecting over TCP, with retries while the Otii application (or otii-sim) starts.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::thread;
use std::time::{Duration, Instant};

use super::{Client, ClientError};

/// Why connecting failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// No TCP connection could be made within the retry time. The message says the cause
    /// first (`meter 127.0.0.1:1905 unreachable: Connection refused (os error 111) (41
    /// attempts over 10.0 s)`), so a caller's one line carries it.
    #[error("meter {addr} unreachable: {source} ({attempts} attempts over {waited_s:.1} s); cannot connect to the Otii TCP server: is the Otii application running with its TCP server enabled (or otii-sim started)?")]
    Tcp {
        /// The address tried.
        addr: String,
        /// How many times.
        attempts: u32,
        /// Seconds spent trying.
        waited_s: f64,
        /// The last error.
        #[source]
        source: io::Error,
    },
    /// The server did not greet as an Otii does.
    #[error("{addr} did not greet like an Otii TCP server: {source}")]
    Greeting {
        /// The address.
        addr: String,
        /// What came instead: the connection closed or timed out, or another server's words.
        #[source]
        source: ClientError,
    },
}

impl ConnectError {
    /// Whether the meter was away (no connection, or one that closed or timed out before the
    /// greeting): an infrastructure fault, worth retrying. A server that greets like something
    /// else is a wrong address, not a fault that passes.
    pub fn is_infrastructure(&self) -> bool {
        match self {
            ConnectError::Tcp { .. } => true,
            ConnectError::Greeting { source, .. } => source.is_infrastructure(),
        }
    }
}

/// The longest silence while an answer is due, once connected. The slowest answer the study
/// saw (a 40,000-value data chunk, a stop at the end of a long recording) takes well under a
/// second; two minutes of nothing means the Otii application hung or the network is gone.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// Connects over TCP, retrying every 250 ms until `retry_for` has passed (the Otii application
/// or the simulator may still be starting).
pub fn connect(addr: &str, retry_for: Duration) -> Result<Client<TcpStream>, ConnectError> {
    let started = Instant::now();
    let deadline = started + retry_for;
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
                    waited_s: started.elapsed().as_secs_f64(),
                    source,
                })
            }
            Err(_) => thread::sleep(Duration::from_millis(250)),
        }
    };
    let _ = stream.set_nodelay(true);
    // Only the greeting is bounded in time: a TCP server that never greets is not an Otii.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let client = Client::new(stream).map_err(|source| ConnectError::Greeting {
        addr: addr.to_owned(),
        source,
    })?;
    let _ = client
        .reader
        .get_ref()
        .get_ref()
        .set_read_timeout(Some(ANSWER_TIMEOUT));
    Ok(client)
}
