//! pi-provision: from a blank SD card to a ready cpython-energy testbed.
//!
//! The study's kit was a page of hand-typed `scp`/`ssh`/`su` steps per Raspberry Pi. This crate
//! replaces it: one inventory file describes the testbed, and each subcommand does one stage
//! on every host in parallel, over the serial console (first boot) or SSH (everything after),
//! running the POSIX `sh` scripts of the repository's `shell/` directory on the hosts.
//!
//! # Layout
//! - `config.rs`: [`Config`], the validated settings of one run (the binary's `cli.rs` builds it
//!   from the command line).
//! - `app.rs`: [`run`], one subcommand: the inventory loaded, the hosts' outcomes summarised,
//!   the exit code earned; Ctrl-C arrives as a [`procs::Interrupt`] flag.
//! - `inventory/`: [`inventory::Inventory`]; `parse.rs` (the line-keeping TOML reader),
//!   `validate.rs` (the schema and its checks, every problem with its line), `query.rs`
//!   (the JSON view and `inventory get` lookups for the Makefile).
//! - `ssh.rs`: the [`ssh::Transport`] trait (run a command, upload a file) and its libssh2
//!   implementation, which verifies host keys against a known_hosts file.
//! - `ops/`: the subcommands over SSH, run per host in parallel with host-prefixed progress:
//!   `check.rs`, `provision.rs`, `deploy.rs`, `server.rs`, `clients.rs`, `trust.rs`, and
//!   `upload.rs` (files and folders to a host).
//! - `console.rs`: first boot over a serial console (any `Read + Write`).
//! - `secret.rs`: the root and console passwords (environment or terminal; never logged).
//! - `wheelhouse.rs`: builds the offline wheel directory on the controller with pip.

mod app;
pub mod config;
pub mod console;
pub mod inventory;
pub mod ops;
mod secret;
pub mod ssh;
pub mod wheelhouse;

pub use app::run;
pub use config::Config;
