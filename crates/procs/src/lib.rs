//! The processes cpython-energy's tools own.
//!
//! Every tool's `main` ends the same way: a validated config or a usage error (exit 2), the
//! library's run with an [`Interrupt`] flag handed down (never a global), and the documented exit
//! code (0 ok, 1 failure, 2 usage, 130 interrupted). [`main`] is that tail, written once.
//!
//! # Layout
//! - `exit.rs`: [`Exit`], the documented exit codes; [`main`], the shared tail of every `main.rs`;
//!   [`UsageError`], an error that exits 2 when it is found only after parsing.
//! - `interrupt.rs`: [`Interrupt`], the Ctrl-C / SIGTERM flag the library polls.

mod exit;
mod interrupt;

pub use exit::{main, Exit, UsageError};
pub use interrupt::Interrupt;
