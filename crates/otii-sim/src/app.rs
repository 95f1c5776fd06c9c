//! The program: bind, say where it listens, serve until Ctrl-C or SIGTERM.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use procs::{Exit, Interrupt};
use serde::Serialize;

use crate::{Config, Server};

/// The one line printed on stdout once listening, so a script can learn the port.
#[derive(Serialize)]
struct Listening<'a> {
    /// The bound address.
    listening: String,
    /// The power model's name.
    power_model: &'a str,
    /// Always true: the power is modelled.
    simulated: bool,
}

/// Binds `cfg.listen`, writes the port file, prints the address line, and serves until the
/// interrupt flag is set; then stops accepting and returns [`Exit::Interrupted`].
pub fn run(cfg: Config, interrupt: &Interrupt) -> anyhow::Result<Exit> {
    let model = cfg.model.name();
    let listen = cfg.listen;
    let port_file = cfg.port_file.clone();
    let server = Server::bind(cfg).with_context(|| format!("cannot listen on {listen}"))?;
    let addr = server.local_addr()?;
    if let Some(path) = port_file {
        let mut f = records::AtomicFile::create(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(f, "{}", addr.port())?;
        f.commit()
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    eprintln!("otii-sim: listening on {addr} (simulated Arc; power model {model}: modelled, not measured)");
    let line = Listening {
        listening: addr.to_string(),
        power_model: model,
        simulated: true,
    };
    let mut out = std::io::stdout().lock();
    // A closed stdout must not stop the server.
    let _ = serde_json::to_writer(&mut out, &line)
        .map_err(std::io::Error::other)
        .and_then(|_| writeln!(out))
        .and_then(|_| out.flush());
    drop(out);
    let handle = server.spawn()?;
    while !interrupt.is_set() {
        std::thread::sleep(Duration::from_millis(100));
    }
    handle.shutdown();
    Ok(Exit::Interrupted)
}
