//! `otii-sim`: a simulated Qoitech Otii 3 TCP server with one simulated Arc.
//!
//! It speaks the Otii 3 automation protocol faithfully enough that Qoitech's own Python
//! clients work against it unchanged, the current one and the study's 2.2.5 (greeting,
//! `trans_id` framing, errors, licensing calls, no progress messages during downloads, like the
//! real Otii), so the capture tools and the study's controller can run without
//! hardware. **Its power numbers are modelled, never measured**: the greeting says
//! `"server": "otii-sim"`, `"simulated": true` and the power model, and the device is named
//! [`state::DEVICE_NAME`].
//!
//! Power models ([`ModelConfig`]): `synthetic` (deterministic bursts for a seed) and `cpu`
//! (power follows the CPU use of a process tree sampled from `/proc`). Samples are computed
//! lazily from a per-recording load signal, so memory stays bounded whatever the length and
//! the rate of a recording.
//!
//! The protocol itself (channels, limits, framing, messages, error codes) is the
//! `otii-protocol` crate's, shared with the client `otii-capture`.
//!
//! # Layout
//! - `app.rs`: [`run`], the program: bind, announce the address, serve until interrupted.
//! - `server.rs`: [`Server`] (TCP accept loop, one thread per connection) and the dispatch of a
//!   request to its command family, each in `server/`:
//!   - `connection.rs`: one connection: greeting, reading requests, faults, writing answers.
//!   - `otii.rs`, `arc.rs`, `project.rs`, `recording.rs`, `data.rs`: the `otii_`, `arc_`,
//!     `project_` and `recording_` commands (`data.rs`: a recording's samples, streamed).
//!   - `args.rs`: typed access to a request's `data`; `error.rs`: error answers.
//! - `state.rs`: [`state::Sim`]: the Arc's settings, the project, recordings, licences.
//! - `model.rs`: [`model::Signal`]: how samples are computed from a load and a seed.
//! - `cpu.rs`: the `cpu` model's `/proc` sampler of a process tree.
//! - `fault.rs`: [`Fault`]s to inject for tests (dropped connections, errors, stalls, progress
//!   messages).

mod app;
pub mod cpu;
pub mod fault;
pub mod model;
mod server;
pub mod state;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use app::run;
pub use cpu::PidSource;
pub use fault::Fault;
pub use model::PowerParams;
pub use server::{greeting, Server, ServerHandle};

/// How the simulated Arc's power is made.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelConfig {
    /// Deterministic bursts for the seed.
    Synthetic,
    /// Power follows the CPU use of a process tree.
    Cpu {
        /// The process (tree root) to follow, resolved at each recording start.
        pid: PidSource,
        /// Load samples per second (≥ 100).
        load_hz: f64,
        /// CPUs fully used by the tree that count as full load (busy power).
        busy_cpus: f64,
    },
}

impl ModelConfig {
    /// The model's name as reported to clients (`synthetic`, `cpu`).
    pub fn name(&self) -> &'static str {
        match self {
            ModelConfig::Synthetic => "synthetic",
            ModelConfig::Cpu { .. } => "cpu",
        }
    }
}

/// Everything the simulator needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (port 0: any free port).
    pub listen: SocketAddr,
    /// Sample rate of every channel until a client changes it, per second.
    pub rate_hz: u32,
    /// Length in seconds of a finished recording to start with.
    pub preload_s: Option<f64>,
    /// The power model.
    pub model: ModelConfig,
    /// Electrical parameters of the model.
    pub params: PowerParams,
    /// Seed of the synthetic load and of the noise.
    pub seed: u64,
    /// Faults to inject.
    pub faults: Vec<Fault>,
    /// The local time zone, for recording names (read once at start-up).
    pub utc_offset: time::UtcOffset,
    /// [`run`] writes the bound port (one line) to this file once listening.
    pub port_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: otii_protocol::DEFAULT_ADDR,
            rate_hz: 1000,
            preload_s: None,
            model: ModelConfig::Synthetic,
            params: PowerParams::default(),
            seed: 1,
            faults: Vec::new(),
            utc_offset: time::UtcOffset::UTC,
            port_file: None,
        }
    }
}
