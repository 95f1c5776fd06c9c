//! The testbed inventory: one human-edited TOML file describing the hosts, the interpreters to
//! measure, MiniTwit, the Otii and where things live.
//!
//! Parsing walks the document with `toml_edit` (which keeps byte spans) instead of serde, so
//! that every problem in the file is reported at once, each with its line, rather than only the
//! first one serde stops at.
//!
//! - `parse.rs`: the line-keeping TOML reader (typed values, unknown and missing keys).
//! - `validate.rs`: the inventory's schema, its defaults and its checks, table by table.
//! - `query.rs`: the JSON view and `inventory get KEY` lookups for scripts.
//! - `mutated.rs` (tests): mutated and arbitrary inventories never panic, each problem says
//!   its line.

#[cfg(test)]
mod mutated;
mod parse;
mod query;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use toml_edit::ImDocument;

pub use validate::valid_address;

/// The inventory file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The file could not be read.
    #[error("cannot read inventory {path}: {source} (give the file with --inventory FILE; data/testbed.example.toml is a commented example)")]
    Read {
        /// The inventory path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file was read but has problems; all of them are listed, one per line.
    #[error("{} problem(s) in inventory {}:\n{}", .problems.len(), .path.display(), ProblemList(.problems))]
    Invalid {
        /// The inventory path.
        path: PathBuf,
        /// Every problem found.
        problems: Vec<Problem>,
    },
    /// `inventory get KEY` named a key that does not exist.
    #[error("no key `{0}` in the inventory (see `pi-provision inventory --json` for what exists)")]
    NoSuchKey(String),
}

/// One problem in the inventory file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line of the file the problem is on.
    pub line: usize,
    /// What is wrong and what is expected.
    pub message: String,
}

struct ProblemList<'a>(&'a [Problem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  line {}: {}", p.line, p.message)?;
        }
        Ok(())
    }
}

/// What a host does in the experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs MiniTwit under gunicorn; its power is measured.
    Server,
    /// Runs the load scenario against the server.
    Client,
}

impl Role {
    /// The name used in the inventory and in script arguments.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Client => "client",
        }
    }
}

/// Which operating system family a host runs, which decides the scripts and the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OsProfile {
    /// FreeBSD (the study's Raspberry Pi image): `pkg`, `sysrc`, root via `su`.
    Freebsd,
    /// Debian or Raspberry Pi OS: `apt-get`, root via `sudo`.
    Debian,
}

impl OsProfile {
    /// The directory under `shell/` holding this profile's scripts.
    pub fn as_str(self) -> &'static str {
        match self {
            OsProfile::Freebsd => "freebsd",
            OsProfile::Debian => "debian",
        }
    }
}

/// How the root part of provisioning gets root rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Become {
    /// `su -l root -c …`, answering the password prompt over a pty.
    Su,
    /// `sudo -n …` (passwordless sudo).
    Sudo,
    /// `doas -n …` (passwordless doas).
    Doas,
    /// Already root (the SSH user is root).
    None,
}

/// How an interpreter gets onto a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Install {
    /// FreeBSD package (`pkg install -y PACKAGE`).
    Pkg,
    /// Built by pyenv in the SSH user's home (`pyenv install -s PACKAGE`).
    Pyenv,
    /// Debian package (`apt-get install PACKAGE`).
    Apt,
    /// Already present; provisioning only checks that `command` runs.
    System,
}

/// One host of the testbed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Host {
    /// Short name used in output prefixes (`server`, `client1`, …).
    pub name: String,
    /// IP address or DNS name.
    pub address: String,
    /// SSH port.
    pub ssh_port: u16,
    /// SSH user.
    pub user: String,
    /// Server or client.
    pub role: Role,
    /// OS profile.
    pub os: OsProfile,
    /// How to become root.
    #[serde(rename = "become")]
    pub become_: Become,
    /// Directory on the host under which everything is put (scripts, MiniTwit, venvs).
    pub base: String,
    /// Line of the `[[host]]` header, for error messages.
    #[serde(skip)]
    pub line: usize,
}

/// One interpreter to measure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interpreter {
    /// Version label, `3.8` … `3.13` or `pypy3.10`.
    pub version: String,
    /// Name of the virtualenv on the server, `minitwit38` for 3.8.
    pub venv: String,
    /// How it is installed.
    pub install: Install,
    /// Package name (pkg/apt) or full version (pyenv); empty for `system`.
    pub package: String,
    /// The interpreter command on the host (a path, `~/` allowed, or a name on PATH).
    pub command: String,
}

/// MiniTwit and its deployment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Minitwit {
    /// Port gunicorn binds on the server.
    pub port: u16,
    /// gunicorn's workers, handed to `minitwit/gunicorn.conf.py` as `MINITWIT_WORKERS` (the
    /// study's 2 by default).
    pub workers: u32,
    /// gunicorn's worker timeout in seconds, handed to `minitwit/gunicorn.conf.py` as
    /// `MINITWIT_TIMEOUT` (the study's 120 by default).
    pub timeout_s: u32,
    /// The MiniTwit source directory on the controller.
    pub source: PathBuf,
    /// The seed SQL on the controller.
    pub seed_sql: PathBuf,
    /// The wheelhouse directory on the controller.
    pub wheelhouse: PathBuf,
}

/// The load agent on the clients.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clients {
    /// The agent program on the client hosts (absolute, `~/`, or relative to the host's base).
    pub agent: String,
    /// Its arguments; `{server}`, `{port}`, `{base}` and `{host}` are filled in per client.
    pub agent_args: Vec<String>,
}

/// The Otii Arc the controller talks to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Otii {
    /// Address of the Otii TCP server (the machine running the Otii application).
    pub address: String,
    /// Its port.
    pub port: u16,
}

/// The whole testbed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inventory {
    /// known_hosts file the host keys are checked against.
    pub known_hosts: PathBuf,
    /// Private key file; `None` means use the SSH agent.
    pub identity: Option<PathBuf>,
    /// TCP connect timeout, seconds.
    pub connect_timeout_s: u32,
    /// Seconds of silence on a connection after which a keepalive probes the host.
    pub keepalive_s: u32,
    /// The Otii.
    pub otii: Otii,
    /// MiniTwit.
    pub minitwit: Minitwit,
    /// The load agent.
    pub clients: Clients,
    /// Interpreters, in the order they are measured.
    pub interpreters: Vec<Interpreter>,
    /// Hosts, in file order.
    pub hosts: Vec<Host>,
}

impl Inventory {
    /// Reads and validates an inventory file; relative paths in it are relative to its directory.
    pub fn load(path: &Path) -> Result<Self, InventoryError> {
        let src = std::fs::read_to_string(path).map_err(|source| InventoryError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        Self::parse(&src, dir).map_err(|problems| InventoryError::Invalid {
            path: path.to_path_buf(),
            problems,
        })
    }

    /// Parses and validates inventory text, resolving relative paths against `dir`.
    pub fn parse(src: &str, dir: &Path) -> Result<Self, Vec<Problem>> {
        let doc = ImDocument::parse(src).map_err(|e| {
            vec![Problem {
                line: e.span().map_or(1, |s| parse::line_of(src, s.start)),
                // toml_edit's message may span lines ("…\nexpected `.`"): one line per problem.
                message: format!(
                    "not valid TOML: {}",
                    e.message()
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            }]
        })?;
        let mut p = parse::Parser::new(src, dir);
        let inv = p.inventory(doc.as_table());
        p.problems.sort_by_key(|pr| pr.line);
        match inv {
            Some(inv) if p.problems.is_empty() => Ok(inv),
            _ => Err(p.problems),
        }
    }

    /// The one host with role `server`.
    pub fn server(&self) -> Option<&Host> {
        self.hosts.iter().find(|h| h.role == Role::Server)
    }

    /// The interpreter with this version label.
    pub fn interpreter(&self, version: &str) -> Option<&Interpreter> {
        self.interpreters.iter().find(|i| i.version == version)
    }
}

/// The venv name the study used: `minitwit38` for 3.8, `minitwitpypy310` for pypy3.10.
pub fn venv_name(version: &str) -> String {
    format!("minitwit{}", version.replace('.', ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[testbed]
known_hosts = "kh"
identity = "/keys/id"

[otii]
address = "10.0.0.1"

[minitwit]
port = 5000

[[interpreter]]
version = "3.12"
install = "pkg"
package = "python312"
command = "python3.12"

[[host]]
name = "server"
address = "10.0.0.4"
user = "freebsd"
role = "server"
os = "freebsd"

[[host]]
name = "client1"
address = "10.0.0.2"
user = "root"
role = "client"
os = "debian"
ssh_port = 2222
"#;

    #[test]
    fn parses_a_good_inventory_with_defaults() {
        let inv = Inventory::parse(GOOD, Path::new("/inv")).unwrap();
        assert_eq!(inv.known_hosts, PathBuf::from("/inv/kh"));
        assert_eq!(inv.identity, Some(PathBuf::from("/keys/id")));
        assert_eq!(inv.hosts.len(), 2);
        assert_eq!(inv.hosts[0].become_, Become::Su);
        assert_eq!(inv.hosts[0].base, "/home/freebsd/cpython-energy");
        assert_eq!(inv.hosts[1].become_, Become::None);
        assert_eq!(inv.hosts[1].ssh_port, 2222);
        assert_eq!(inv.interpreters[0].venv, "minitwit312");
        assert_eq!(inv.minitwit.workers, 2);
        assert_eq!(inv.otii.port, 1905);
    }

    #[test]
    fn reports_every_problem_with_its_line() {
        let bad = GOOD
            .replace("port = 5000", "port = 5000\ncolour = \"red\"")
            .replace("address = \"10.0.0.2\"", "address = \"10.0.0.256\"")
            .replace("name = \"client1\"", "name = \"server\"");
        let problems = Inventory::parse(&bad, Path::new("/")).unwrap_err();
        let text: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.line, p.message))
            .collect();
        assert_eq!(problems.len(), 3, "{text:#?}");
        assert!(text[0].starts_with("11: unknown key `colour`"), "{text:#?}");
        assert!(
            text[1].contains("host \"server\" is listed twice (first on line 20)"),
            "{text:#?}"
        );
        assert!(
            text[2].contains("\"10.0.0.256\" is not an IP address"),
            "{text:#?}"
        );
        assert!(
            text[1].starts_with("27:") && text[2].starts_with("28:"),
            "{text:#?}"
        );
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let problems = Inventory::parse("[otii]\naddress = \n", Path::new("/")).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 2);
        assert!(problems[0].message.starts_with("not valid TOML"));
    }

    #[test]
    fn get_answers_shortcuts_and_maps_over_arrays() {
        let inv = Inventory::parse(GOOD, Path::new("/inv")).unwrap();
        assert_eq!(inv.get("server.address").unwrap(), "10.0.0.4");
        assert_eq!(inv.get("client_hosts.address").unwrap(), "10.0.0.2");
        assert_eq!(inv.get("host.client1.ssh_port").unwrap(), "2222");
        assert_eq!(inv.get("interpreters.venv").unwrap(), "minitwit312");
        assert_eq!(inv.get("interpreter.3.12.venv").unwrap(), "minitwit312");
        assert_eq!(inv.get("minitwit.port").unwrap(), "5000");
        assert!(matches!(
            inv.get("nope.x"),
            Err(InventoryError::NoSuchKey(_))
        ));
    }
}
