//! Free loopback ports.

use std::io;
use std::net::TcpListener;

/// A TCP port on 127.0.0.1 that was free a moment ago: the kernel picks it (bind to port 0),
/// the listener is closed and the number returned. Another process may take it in between,
/// which is unlikely enough for a server started next; servers that can bind port 0
/// themselves and report it (otii-sim's `--port-file`) should.
pub fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot bind a TCP port on 127.0.0.1: {e}"),
        )
    })?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_port_can_be_bound() {
        let port = free_port().unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(port, 0);
        TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|e| panic!("{port}: {e}"));
    }
}
