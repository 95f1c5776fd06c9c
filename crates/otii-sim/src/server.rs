//! The TCP server: accepting connections, and handing each request to its command family.
//!
//! The protocol itself (framing, messages, channels, limits) is `otii_protocol`'s; this module
//! and the ones below it are what the simulator does with it. Each connection is served by its
//! own thread ([`connection`]); a request goes to the handler of its command's family (the
//! prefix of its name): [`otii`] (application, devices list, licensing), [`arc`] (the device),
//! [`project`] (recording start and stop, the recordings list), [`recording`] (one recording's
//! metadata and statistics) and [`data`] (one recording's samples).

mod arc;
mod args;
mod connection;
mod data;
mod error;
mod otii;
mod project;
mod recording;

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};

use otii_protocol::{Command, ErrorCode, Family, Greeting, Message, PROTOCOL_VERSION};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::state::Sim;
use crate::Config;
use args::Args;
use data::DataJob;
use error::ProtoError;

struct Shared {
    cfg: Config,
    sim: Mutex<Sim>,
    stop: AtomicBool,
    /// Whether `drop-once-after-chunks` has dropped its one connection.
    dropped_once: AtomicBool,
}

impl Shared {
    fn sim(&self) -> MutexGuard<'_, Sim> {
        // A panicking handler must not take the whole simulator down with a poisoned lock.
        self.sim.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A bound simulator, ready to serve.
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
}

/// A simulator serving on a background thread (for tests and embedding).
pub struct ServerHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds the listening socket (port 0 picks a free port) and builds the initial state.
    pub fn bind(cfg: Config) -> io::Result<Self> {
        let listener = TcpListener::bind(cfg.listen)?;
        let sim = Sim::new(&cfg);
        Ok(Self {
            listener,
            shared: Arc::new(Shared {
                cfg,
                sim: Mutex::new(sim),
                stop: AtomicBool::new(false),
                dropped_once: AtomicBool::new(false),
            }),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves connections, one thread each, until the process ends (or a handle stops it).
    pub fn serve(self) -> io::Result<()> {
        for conn in self.listener.incoming() {
            if self.shared.stop.load(Ordering::SeqCst) {
                break;
            }
            let stream = match conn {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("otii-sim: accept failed: {e}");
                    continue;
                }
            };
            let shared = self.shared.clone();
            let peer = stream
                .peer_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| "?".into());
            let spawned = thread::Builder::new()
                .name(format!("otii-sim {peer}"))
                .spawn(move || {
                    if let Err(e) = connection::serve(stream, &shared) {
                        if !matches!(
                            e.kind(),
                            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                        ) {
                            eprintln!("otii-sim: connection {peer}: {e}");
                        }
                    }
                });
            if let Err(e) = spawned {
                eprintln!("otii-sim: cannot start a connection thread: {e}");
            }
        }
        Ok(())
    }

    /// Binds `cfg` on 127.0.0.1 with a port the kernel picks (whatever `cfg.listen` says) and
    /// serves on a background thread: a simulator for a test or a benchmark.
    pub fn spawn_loopback(cfg: Config) -> io::Result<ServerHandle> {
        let cfg = Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..cfg
        };
        Self::bind(cfg)?.spawn()
    }

    /// Serves on a background thread.
    pub fn spawn(self) -> io::Result<ServerHandle> {
        let addr = self.local_addr()?;
        let shared = self.shared.clone();
        let thread = thread::Builder::new()
            .name("otii-sim accept".into())
            .spawn(move || {
                let _ = self.serve();
            })?;
        Ok(ServerHandle {
            addr,
            shared,
            thread: Some(thread),
        })
    }
}

impl ServerHandle {
    /// The address the simulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections and waits for the accept thread.
    pub fn shutdown(mut self) {
        self.stop_accepting();
    }

    fn stop_accepting(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_accepting();
    }
}

/// The greeting the server sends right after a client connects: it says the server is
/// otii-sim, that its data is simulated, and which power model makes it.
pub fn greeting(cfg: &Config) -> Message {
    Greeting {
        otii_version: concat!("otii-sim ", env!("CARGO_PKG_VERSION")).into(),
        protocol_version: PROTOCOL_VERSION.into(),
        server: "otii-sim".into(),
        simulated: Some(true),
        power_model: Some(cfg.model.name().into()),
    }
    .to_message()
}

/// What a handler answers.
enum Reply {
    /// A response whose `data` is ready.
    Json(Box<RawValue>),
    /// Samples to compute and stream outside the state lock.
    Data(DataJob),
}

/// A response with `data`.
fn reply<T: Serialize>(data: T) -> Result<Reply, ProtoError> {
    serde_json::value::to_raw_value(&data)
        .map(Reply::Json)
        .map_err(|e| ProtoError::failure(format!("cannot encode the answer: {e}")))
}

/// `{}`, the answer of commands that only act.
fn done() -> Result<Reply, ProtoError> {
    reply(otii_protocol::reply::Done {})
}

/// `{"value": v}`.
fn value<T: Serialize>(v: T) -> Result<Reply, ProtoError> {
    reply(otii_protocol::reply::ValueOf { value: v })
}

/// The answer to commands the simulator knows but does not implement.
fn unsupported(cmd: Command) -> ProtoError {
    ProtoError::new(
        ErrorCode::NotSupported,
        format!("{cmd} is not supported by otii-sim"),
    )
}

/// Runs one command against the state, under its lock (handlers that compute over many
/// samples release it first).
fn dispatch(shared: &Shared, cmd: &str, data: &Map<String, Value>) -> Result<Reply, ProtoError> {
    let Ok(command) = cmd.parse::<Command>() else {
        return Err(ProtoError::new(
            ErrorCode::InvalidCommand,
            format!("unknown command {cmd:?}"),
        ));
    };
    let ctx = Ctx(command, Args(data), &shared.cfg, shared.sim());
    match command.family() {
        Family::Otii => otii::handle(ctx),
        Family::Arc => arc::handle(ctx),
        Family::Project => project::handle(ctx),
        Family::Recording if data::handles(command) => data::handle(ctx),
        Family::Recording => recording::handle(ctx),
    }
}

/// A request as its handler sees it: the command, its arguments, the configuration, and the
/// state, locked.
struct Ctx<'a>(Command, Args<'a>, &'a Config, MutexGuard<'a, Sim>);
