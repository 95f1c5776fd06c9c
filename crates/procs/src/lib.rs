//! The processes cpython-energy's tools own.
//!
//! Every tool's `main` ends the same way: a validated config or a usage error (exit 2), the
//! library's run with an [`Interrupt`] flag handed down (never a global), and the documented exit
//! code (0 ok, 1 failure, 2 usage, 75 unavailable, 130 interrupted). [`main`] is that tail, written once.
//!
//! The children a tool owns are started one way too: in a process group of their own
//! ([`OwnedChild`]), stopped group and all (SIGTERM, then SIGKILL) on drop, so a failing or
//! interrupted tool leaves nothing running; waited for until they serve ([`wait_http`]); and
//! MiniTwit under gunicorn with the study's settings from `minitwit/gunicorn.conf.py`
//! ([`MiniTwitLaunch`], [`gunicorn_argv`]).
//!
//! # Layout
//! - `exit.rs`: [`Exit`], the documented exit codes; [`main`], the shared tail of every `main.rs`;
//!   [`UsageError`], an error that exits 2 when it is found only after parsing.
//! - `interrupt.rs`: [`Interrupt`], the Ctrl-C / SIGTERM flag the library polls.
//! - `child.rs`: [`OwnedChild`], a child in its own process group, stopped on drop;
//!   [`signal_process`], [`signal_group`] (rustix underneath; nothing else signals).
//! - `foreground.rs`: [`run_foreground`], a short-lived tool run to its end, stdout collected,
//!   Ctrl-C forwarded once; [`run_foreground_with`] and [`ForegroundOptions`] for a process
//!   group of its own and its last stderr line kept.
//! - `ready.rs`: [`wait_for`], [`wait_http`]: until a child serves, with a deadline, the child
//!   checked alive, an error quoting its log; [`http_status`], one plain `GET`.
//! - `port.rs`: [`free_port`] on 127.0.0.1.
//! - `priority.rs`: [`Priority`], how a measured process is scheduled (the study's default, or
//!   `SCHED_FIFO` through `chrt` so other work on the machine does not interrupt it).
//! - `minitwit.rs`: [`gunicorn_argv`], the one command line of MiniTwit; [`MiniTwitLaunch`] and
//!   [`MiniTwit`], a local MiniTwit started and waited for.

mod child;
mod exit;
mod foreground;
mod interrupt;
mod minitwit;
mod port;
mod priority;
mod ready;

pub use child::{signal_group, signal_process, OwnedChild, Signal, STOP_GRACE};
pub use exit::{main, Exit, Unavailable, UsageError};
pub use foreground::{run_foreground, run_foreground_with, Finished, ForegroundOptions};
pub use interrupt::Interrupt;
pub use minitwit::{
    gunicorn_argv, MiniTwit, MiniTwitError, MiniTwitLaunch, GUNICORN_CONF, TIMEOUT_VAR, WORKERS_VAR,
};
pub use port::free_port;
pub use priority::{Priority, REALTIME_PRIORITY};
pub use ready::{http_status, tail, wait_for, wait_http, NotReady};
