//! Helpers for the integration tests of the cpython-energy workspace.
//!
//! Use it as a dev-dependency (`testkit.workspace = true` under `[dev-dependencies]`). It is
//! test code: its functions panic with a message that says what to do instead of returning
//! errors, so a test reads as a list of steps.
//!
//! - [`free_port`]: a TCP port on 127.0.0.1 that nobody listens on right now ([`procs::free_port`],
//!   panicking).
//! - [`root`], [`venv`], [`bin_dir`], [`bin`]: the repository, the Python venv and the release
//!   binaries, from the `CPE_ROOT`, `CPE_VENV` and `CPE_BIN_DIR` variables that `make test`
//!   exports. Unset, they panic with "run it through `make test`" — never a silent skip.
//! - [`seed_sql`]: MiniTwit's seed data from `minitwit-load seed`, made once per process.
//! - [`MiniTwit`]: a real MiniTwit under real gunicorn on a free loopback port, with its own
//!   temporary database, killed (its whole process group) when dropped; started by
//!   [`procs::MiniTwitLaunch`], the launcher the tools use.
//! - [`http_get`]: one plain HTTP/1.1 `GET` without redirects, for quick assertions.
//! - [`SmallDisk`]: a small tmpfs to fill, for full-disk tests (needs root; skipped with a
//!   `SKIPPED:` line otherwise).
//! - [`mutate`]: byte mutations of a valid file ([`mutate::edits`], a proptest strategy, and
//!   [`mutate::apply`]) for the property tests that feed every reader damaged input.
//! - [`Testbed`]: a LAN of network namespaces with a real sshd per host and a controller
//!   namespace to run the tools in, torn down on drop (needs root).
//!
//! ```no_run
//! let server = testkit::MiniTwit::builder().seed(testkit::seed_sql()).start();
//! let (status, _body) = testkit::http_get(&format!("{}/cleardb", server.base_url())).unwrap();
//! assert_eq!(status, 302);
//! ```
//!
//! # Layout
//! - `env.rs`: the `CPE_*` variables, [`free_port`] and [`seed_sql`].
//! - `minitwit.rs`: [`MiniTwit`] and its builder, over [`procs::MiniTwit`].
//! - `http.rs`: [`http_get`].
//! - `disk.rs`: [`SmallDisk`].
//! - `mutate.rs`: [`mutate::Edit`], [`mutate::edits`], [`mutate::apply`].
//! - `netns.rs`: [`Testbed`], [`Host`].

mod disk;
mod env;
mod http;
mod minitwit;
pub mod mutate;
pub mod netns;

pub use disk::SmallDisk;
pub use env::{bin, bin_dir, free_port, root, seed_sql, venv};
pub use http::http_get;
pub use minitwit::{MiniTwit, MiniTwitBuilder};
pub use netns::{Host, Testbed};
