//! pi-provision: from a blank SD card to a ready cpython-energy testbed.
//!
//! The study's kit was a page of hand-typed `scp`/`ssh`/`su` steps per Raspberry Pi. This crate
//! replaces it: one inventory file describes the testbed, and each subcommand does one stage
//! on every host in parallel, over the serial console (first boot) or SSH (everything after),
//! running the POSIX `sh` scripts of the repository's `shell/` directory on the hosts.
//!
//! # Layout
//! - `inventory.rs`: [`inventory::Inventory`], parsed with line-numbered validation of every
//!   problem at once; `inventory get` lookups for the Makefile.
//! - `ssh.rs`: the [`ssh::Transport`] trait (run a command, upload a file) and its libssh2
//!   implementation, which verifies host keys against a known_hosts file.
//! - `ops.rs`: `check`, `provision`, `deploy`, `server`, `clients`, `trust`, run per host in
//!   parallel with host-prefixed progress.
//! - `console.rs`: first boot over a serial console (any `Read + Write`).
//! - `wheelhouse.rs`: builds the offline wheel directory on the controller with pip.

pub mod console;
pub mod inventory;
pub mod ops;
pub mod ssh;
pub mod wheelhouse;
