//! The testbed inventory: one human-edited TOML file describing the hosts, the interpreters to
//! measure, MiniTwit, the Otii and where things live.
//!
//! Parsing walks the document with `toml_edit` (which keeps byte spans) instead of serde, so
//! that every problem in the file is reported at once, each with its line, rather than only the
//! first one serde stops at.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Serialize;
use toml_edit::{ImDocument, Item, TableLike, Value};

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
    /// gunicorn `--workers`.
    pub workers: u32,
    /// gunicorn `--timeout`, seconds.
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
                line: e.span().map_or(1, |s| line_of(src, s.start)),
                message: format!("not valid TOML: {}", e.message().trim()),
            }]
        })?;
        let mut p = Parser {
            src,
            dir,
            problems: Vec::new(),
        };
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

    /// A JSON view for scripts: everything, plus `server`, `clients_hosts` and `host.NAME`
    /// shortcuts so that `inventory get` can answer `server.address`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            if let Some(s) = self.server() {
                obj.insert("server".into(), host_json(s));
            }
            let clients: Vec<_> = self
                .hosts
                .iter()
                .filter(|h| h.role == Role::Client)
                .map(host_json)
                .collect();
            obj.insert("client_hosts".into(), clients.into());
            let by_name: serde_json::Map<_, _> = self
                .hosts
                .iter()
                .map(|h| (h.name.clone(), host_json(h)))
                .collect();
            obj.insert("host".into(), by_name.into());
            let by_version: serde_json::Map<_, _> = self
                .interpreters
                .iter()
                .map(|i| {
                    (
                        i.version.clone(),
                        serde_json::to_value(i).unwrap_or_default(),
                    )
                })
                .collect();
            obj.insert("interpreter".into(), by_version.into());
        }
        v
    }

    /// Looks up a dotted key in [`Inventory::to_json`] and renders it for a shell: strings
    /// bare, numbers as digits, arrays of scalars space-separated, objects as JSON. A key
    /// applied to an array maps over its elements (`client_hosts.address`).
    pub fn get(&self, key: &str) -> Result<String, InventoryError> {
        let root = self.to_json();
        let found = lookup(&root, key).ok_or_else(|| InventoryError::NoSuchKey(key.into()))?;
        Ok(render(&found))
    }
}

fn host_json(h: &Host) -> serde_json::Value {
    serde_json::to_value(h).unwrap_or_default()
}

fn lookup(root: &serde_json::Value, key: &str) -> Option<serde_json::Value> {
    let mut cur = root.clone();
    // Version labels contain dots (`interpreter.3.12.venv`), so try the longest segment first.
    let parts: Vec<&str> = key.split('.').collect();
    let mut i = 0;
    while i < parts.len() {
        let mut advanced = false;
        for j in (i + 1..=parts.len()).rev() {
            let seg = parts[i..j].join(".");
            if let Some(next) = step(&cur, &seg) {
                cur = next;
                i = j;
                advanced = true;
                break;
            }
        }
        if !advanced {
            return None;
        }
    }
    Some(cur)
}

fn step(v: &serde_json::Value, seg: &str) -> Option<serde_json::Value> {
    match v {
        serde_json::Value::Object(m) => m.get(seg).cloned(),
        serde_json::Value::Array(a) => {
            if let Ok(i) = seg.parse::<usize>() {
                return a.get(i).cloned();
            }
            let mapped: Option<Vec<_>> = a.iter().map(|e| step(e, seg)).collect();
            mapped.map(serde_json::Value::Array)
        }
        _ => None,
    }
}

fn render(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        serde_json::Value::Array(a) if a.iter().all(|e| !e.is_object() && !e.is_array()) => {
            a.iter().map(render).collect::<Vec<_>>().join(" ")
        }
        other => other.to_string(),
    }
}

/// The venv name the study used: `minitwit38` for 3.8, `minitwitpypy310` for pypy3.10.
pub fn venv_name(version: &str) -> String {
    format!("minitwit{}", version.replace('.', ""))
}

fn line_of(src: &str, offset: usize) -> usize {
    src.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Checks that `s` is an IP address or a plausible DNS name.
pub fn valid_address(s: &str) -> bool {
    if s.parse::<IpAddr>().is_ok() {
        return true;
    }
    // Dotted digits that did not parse as IPv4 are a typo (10.0.0.256), not a host name.
    if s.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return false;
    }
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Characters allowed in values that end up in remote shell commands unquoted-safe.
fn safe_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._+-~@=".contains(c))
}

struct Parser<'a> {
    src: &'a str,
    dir: &'a Path,
    problems: Vec<Problem>,
}

/// One table being read: reports missing, mistyped and unknown keys.
struct Tbl<'t> {
    t: &'t dyn TableLike,
    what: String,
    line: usize,
}

impl<'a> Parser<'a> {
    fn problem(&mut self, line: usize, message: impl Into<String>) {
        self.problems.push(Problem {
            line,
            message: message.into(),
        });
    }

    fn item_line(&self, item: &Item) -> Option<usize> {
        item.span().map(|s| line_of(self.src, s.start))
    }

    fn key_line(&self, t: &Tbl<'_>, key: &str) -> usize {
        t.t.get_key_value(key)
            .and_then(|(k, v)| {
                k.span()
                    .map(|s| line_of(self.src, s.start))
                    .or_else(|| self.item_line(v))
            })
            .unwrap_or(t.line)
    }

    fn table<'t>(&mut self, parent: &'t dyn TableLike, key: &str, line: usize) -> Option<Tbl<'t>> {
        let item = parent.get(key)?;
        let line = self.item_line(item).unwrap_or(line);
        match item.as_table_like() {
            Some(t) => Some(Tbl {
                t,
                what: format!("[{key}]"),
                line,
            }),
            None => {
                self.problem(line, format!("`{key}` must be a table ([{key}])"));
                None
            }
        }
    }

    fn unknown_keys(&mut self, t: &Tbl<'_>, allowed: &[&str]) {
        for (k, _) in t.t.iter() {
            if !allowed.contains(&k) {
                let line = self.key_line(t, k);
                self.problem(
                    line,
                    format!(
                        "unknown key `{k}` in {} (allowed: {})",
                        t.what,
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    fn value<'t>(&mut self, t: &Tbl<'t>, key: &str, required: bool) -> Option<(&'t Value, usize)> {
        match t.t.get(key) {
            None => {
                if required {
                    self.problem(t.line, format!("{} is missing the key `{key}`", t.what));
                }
                None
            }
            Some(item) => {
                let line = self.key_line(t, key);
                match item.as_value() {
                    Some(v) => Some((v, line)),
                    None => {
                        self.problem(line, format!("`{key}` in {} must be a value", t.what));
                        None
                    }
                }
            }
        }
    }

    fn string(&mut self, t: &Tbl<'_>, key: &str, required: bool) -> Option<(String, usize)> {
        let (v, line) = self.value(t, key, required)?;
        match v.as_str() {
            Some(s) => Some((s.to_string(), line)),
            None => {
                self.problem(
                    line,
                    format!("`{key}` in {} must be a string (in quotes)", t.what),
                );
                None
            }
        }
    }

    fn int(&mut self, t: &Tbl<'_>, key: &str, min: i64, max: i64) -> Option<Option<i64>> {
        let Some((v, line)) = self.value(t, key, false) else {
            return Some(None);
        };
        match v.as_integer() {
            Some(n) if (min..=max).contains(&n) => Some(Some(n)),
            _ => {
                self.problem(
                    line,
                    format!(
                        "`{key}` in {} must be a whole number from {min} to {max}",
                        t.what
                    ),
                );
                None
            }
        }
    }

    fn port(&mut self, t: &Tbl<'_>, key: &str, default: u16) -> u16 {
        self.int(t, key, 1, 65535)
            .flatten()
            .and_then(|n| u16::try_from(n).ok())
            .unwrap_or(default)
    }

    fn choice<T: Copy>(
        &mut self,
        t: &Tbl<'_>,
        key: &str,
        options: &[(&str, T)],
        required: bool,
    ) -> Option<T> {
        let (s, line) = self.string(t, key, required)?;
        match options.iter().find(|(name, _)| *name == s) {
            Some((_, v)) => Some(*v),
            None => {
                let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
                self.problem(
                    line,
                    format!(
                        "`{key}` in {} is \"{s}\"; expected one of: {}",
                        t.what,
                        names.join(", ")
                    ),
                );
                None
            }
        }
    }

    fn path(&self, s: &str) -> PathBuf {
        if let Some(rest) = s.strip_prefix("~/") {
            if let Some(home) = std::env::var_os("HOME") {
                return PathBuf::from(home).join(rest);
            }
        }
        let p = PathBuf::from(s);
        if p.is_absolute() {
            p
        } else {
            self.dir.join(p)
        }
    }

    fn inventory(&mut self, root: &dyn TableLike) -> Option<Inventory> {
        let top = Tbl {
            t: root,
            what: "the top level".into(),
            line: 1,
        };
        self.unknown_keys(
            &top,
            &[
                "testbed",
                "otii",
                "minitwit",
                "clients",
                "interpreter",
                "host",
            ],
        );

        let (mut known_hosts, mut identity, mut connect_timeout_s, mut keepalive_s) =
            (self.path("~/.ssh/known_hosts"), None, 10, 30);
        if let Some(t) = self.table(root, "testbed", 1) {
            self.unknown_keys(
                &t,
                &[
                    "known_hosts",
                    "identity",
                    "connect_timeout_s",
                    "keepalive_s",
                ],
            );
            if let Some(Some(n)) = self.int(&t, "keepalive_s", 1, 3600) {
                keepalive_s = u32::try_from(n).unwrap_or(30);
            }
            if let Some((s, _)) = self.string(&t, "known_hosts", false) {
                known_hosts = self.path(&s);
            }
            if let Some((s, _)) = self.string(&t, "identity", false) {
                identity = Some(self.path(&s));
            }
            if let Some(Some(n)) = self.int(&t, "connect_timeout_s", 1, 600) {
                connect_timeout_s = u32::try_from(n).unwrap_or(10);
            }
        }

        let mut otii = Otii {
            address: String::new(),
            port: 1905,
        };
        match self.table(root, "otii", 1) {
            Some(t) => {
                self.unknown_keys(&t, &["address", "port"]);
                if let Some((a, line)) = self.string(&t, "address", true) {
                    if !valid_address(&a) {
                        self.problem(
                            line,
                            format!("otii address \"{a}\" is not an IP address or host name"),
                        );
                    }
                    otii.address = a;
                }
                otii.port = self.port(&t, "port", 1905);
            }
            None => self.problem(
                1,
                "the [otii] table is missing (address = \"…\" of the Otii TCP server)",
            ),
        }

        let mut minitwit = Minitwit {
            port: 5000,
            workers: 2,
            timeout_s: 120,
            source: self.path("minitwit"),
            seed_sql: self.path("data/minitwit/seed.sql"),
            wheelhouse: self.path("wheelhouse"),
        };
        if let Some(t) = self.table(root, "minitwit", 1) {
            self.unknown_keys(
                &t,
                &[
                    "port",
                    "workers",
                    "timeout_s",
                    "source",
                    "seed_sql",
                    "wheelhouse",
                ],
            );
            minitwit.port = self.port(&t, "port", 5000);
            if let Some(Some(n)) = self.int(&t, "workers", 1, 64) {
                minitwit.workers = u32::try_from(n).unwrap_or(2);
            }
            if let Some(Some(n)) = self.int(&t, "timeout_s", 1, 3600) {
                minitwit.timeout_s = u32::try_from(n).unwrap_or(120);
            }
            if let Some((s, _)) = self.string(&t, "source", false) {
                minitwit.source = self.path(&s);
            }
            if let Some((s, _)) = self.string(&t, "seed_sql", false) {
                minitwit.seed_sql = self.path(&s);
            }
            if let Some((s, _)) = self.string(&t, "wheelhouse", false) {
                minitwit.wheelhouse = self.path(&s);
            }
        }

        let mut clients = Clients {
            agent: "bin/minitwit-load".into(),
            agent_args: vec!["agent".into()],
        };
        if let Some(t) = self.table(root, "clients", 1) {
            self.unknown_keys(&t, &["agent", "agent_args"]);
            if let Some((s, line)) = self.string(&t, "agent", false) {
                if !safe_word(&s) {
                    self.problem(line, format!("clients agent \"{s}\" must be a plain path (letters, digits, / . _ - ~)"));
                }
                clients.agent = s;
            }
            if let Some((v, line)) = self.value(&t, "agent_args", false) {
                match v.as_array() {
                    Some(a) => {
                        let args: Option<Vec<String>> =
                            a.iter().map(|e| e.as_str().map(str::to_string)).collect();
                        match args {
                            Some(args) => clients.agent_args = args,
                            None => {
                                self.problem(line, "clients agent_args must be an array of strings")
                            }
                        }
                    }
                    None => self.problem(line, "clients agent_args must be an array of strings"),
                }
            }
        }

        let interpreters = self.interpreters(root);
        let hosts = self.hosts(root);

        Some(Inventory {
            known_hosts,
            identity,
            connect_timeout_s,
            keepalive_s,
            otii,
            minitwit,
            clients,
            interpreters,
            hosts,
        })
    }

    fn array_of_tables<'t>(&mut self, root: &'t dyn TableLike, key: &str) -> Vec<Tbl<'t>> {
        let Some(item) = root.get(key) else {
            return Vec::new();
        };
        match item.as_array_of_tables() {
            Some(aot) => aot
                .iter()
                .map(|t| Tbl {
                    t,
                    what: format!("[[{key}]]"),
                    line: t.span().map_or(1, |s| line_of(self.src, s.start)),
                })
                .collect(),
            None => {
                let line = self.item_line(item).unwrap_or(1);
                self.problem(line, format!("`{key}` must be written as [[{key}]] tables"));
                Vec::new()
            }
        }
    }

    fn interpreters(&mut self, root: &dyn TableLike) -> Vec<Interpreter> {
        let tables = self.array_of_tables(root, "interpreter");
        if tables.is_empty() && root.get("interpreter").is_none() {
            self.problem(
                1,
                "no [[interpreter]] tables: list at least one interpreter to measure",
            );
        }
        let mut out: Vec<Interpreter> = Vec::new();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for t in tables {
            self.unknown_keys(&t, &["version", "install", "package", "command", "venv"]);
            let version = self.string(&t, "version", true);
            let install = self.choice(
                &t,
                "install",
                &[
                    ("pkg", Install::Pkg),
                    ("pyenv", Install::Pyenv),
                    ("apt", Install::Apt),
                    ("system", Install::System),
                ],
                true,
            );
            let package = self.string(&t, "package", false);
            let command = self.string(&t, "command", true);
            let venv = self.string(&t, "venv", false);
            let (Some((version, vline)), Some(install), Some((command, cline))) =
                (version, install, command)
            else {
                continue;
            };
            if !valid_version(&version) {
                self.problem(
                    vline,
                    format!("interpreter version \"{version}\" must look like 3.12 or pypy3.10"),
                );
            }
            if let Some(first) = seen.insert(version.clone(), vline) {
                self.problem(
                    vline,
                    format!("interpreter {version} is listed twice (first on line {first})"),
                );
            }
            if !safe_word(&command) {
                self.problem(
                    cline,
                    format!("interpreter command \"{command}\" must be a plain path or name"),
                );
            }
            let package = match package {
                Some((p, pline)) => {
                    if !safe_word(&p) {
                        self.problem(
                            pline,
                            format!("interpreter package \"{p}\" must be a plain name"),
                        );
                    }
                    p
                }
                None => {
                    if install != Install::System {
                        self.problem(t.line, format!("interpreter {version} needs `package` (the pkg/apt package or the pyenv version)"));
                    }
                    String::new()
                }
            };
            let venv = match venv {
                Some((v, line)) => {
                    if !safe_word(&v) || v.contains('/') {
                        self.problem(line, format!("venv \"{v}\" must be a plain directory name"));
                    }
                    v
                }
                None => venv_name(&version),
            };
            out.push(Interpreter {
                version,
                venv,
                install,
                package,
                command,
            });
        }
        out
    }

    fn hosts(&mut self, root: &dyn TableLike) -> Vec<Host> {
        let tables = self.array_of_tables(root, "host");
        if tables.is_empty() && root.get("host").is_none() {
            self.problem(1, "no [[host]] tables: list the server and the clients");
        }
        let mut out: Vec<Host> = Vec::new();
        let mut names: BTreeMap<String, usize> = BTreeMap::new();
        let mut endpoints: BTreeMap<(String, u16), usize> = BTreeMap::new();
        for t in tables {
            self.unknown_keys(
                &t,
                &[
                    "name", "address", "ssh_port", "user", "role", "os", "become", "base",
                ],
            );
            let name = self.string(&t, "name", true);
            let address = self.string(&t, "address", true);
            let ssh_port = self.port(&t, "ssh_port", 22);
            let user = self.string(&t, "user", true);
            let role = self.choice(
                &t,
                "role",
                &[("server", Role::Server), ("client", Role::Client)],
                true,
            );
            let os = self.choice(
                &t,
                "os",
                &[
                    ("freebsd", OsProfile::Freebsd),
                    ("debian", OsProfile::Debian),
                ],
                true,
            );
            let become_ = self.choice(
                &t,
                "become",
                &[
                    ("su", Become::Su),
                    ("sudo", Become::Sudo),
                    ("doas", Become::Doas),
                    ("none", Become::None),
                ],
                false,
            );
            let base = self.string(&t, "base", false);
            if let Some((n, nline)) = &name {
                if let Some(first) = names.insert(n.clone(), *nline) {
                    self.problem(
                        *nline,
                        format!("host \"{n}\" is listed twice (first on line {first})"),
                    );
                }
            }
            if let Some((a, aline)) = &address {
                if !valid_address(a) {
                    self.problem(
                        *aline,
                        format!("host address \"{a}\" is not an IP address or host name"),
                    );
                }
            }
            let (
                Some((name, nline)),
                Some((address, aline)),
                Some((user, uline)),
                Some(role),
                Some(os),
            ) = (name, address, user, role, os)
            else {
                continue;
            };
            if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                || name.is_empty()
            {
                self.problem(
                    nline,
                    format!("host name \"{name}\" must be letters, digits, - or _"),
                );
            }
            if valid_address(&address) {
                if let Some(first) = endpoints.insert((address.clone(), ssh_port), aline) {
                    self.problem(
                        aline,
                        format!("host {name}: address {address} port {ssh_port} is already used by the host on line {first}"),
                    );
                }
            }
            if !user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                || user.is_empty()
            {
                self.problem(
                    uline,
                    format!("host {name}: user \"{user}\" is not a valid user name"),
                );
            }
            let default_become = if user == "root" {
                Become::None
            } else {
                match os {
                    OsProfile::Freebsd => Become::Su,
                    OsProfile::Debian => Become::Sudo,
                }
            };
            let base = match base {
                Some((b, bline)) => {
                    if !b.starts_with('/') || !safe_word(&b) {
                        self.problem(bline, format!("host {name}: base \"{b}\" must be an absolute path without spaces or quotes"));
                    }
                    b
                }
                None if user == "root" => "/root/cpython-energy".into(),
                None => format!("/home/{user}/cpython-energy"),
            };
            out.push(Host {
                name,
                address,
                ssh_port,
                user,
                role,
                os,
                become_: become_.unwrap_or(default_become),
                base,
                line: t.line,
            });
        }
        let servers: Vec<&Host> = out.iter().filter(|h| h.role == Role::Server).collect();
        if servers.len() > 1 {
            let lines: Vec<String> = servers.iter().map(|h| h.line.to_string()).collect();
            let line = servers[1].line;
            self.problem(
                line,
                format!(
                    "more than one host has role = \"server\" (lines {})",
                    lines.join(", ")
                ),
            );
        }
        out
    }
}

fn valid_version(v: &str) -> bool {
    let rest = v.strip_prefix("pypy").unwrap_or(v);
    let mut parts = rest.split('.');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(a), Some(b), None) if !a.is_empty() && !b.is_empty()
            && a.chars().all(|c| c.is_ascii_digit()) && b.chars().all(|c| c.is_ascii_digit())
    )
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

    #[test]
    fn addresses_and_versions_are_checked() {
        assert!(valid_address("10.0.0.4"));
        assert!(valid_address("pi-server.lan"));
        assert!(valid_address("::1"));
        assert!(!valid_address("10.0.0.256"));
        assert!(!valid_address("bad host"));
        assert!(!valid_address(""));
        assert!(valid_version("3.13"));
        assert!(valid_version("pypy3.10"));
        assert!(!valid_version("3"));
        assert!(!valid_version("python3.8"));
        assert_eq!(venv_name("3.8"), "minitwit38");
        assert_eq!(venv_name("3.13"), "minitwit313");
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the file holds, parsing returns an inventory or problems with real lines,
        /// never a panic.
        #[test]
        fn any_text_parses_or_reports_lines(src in "(\\[\\[?[a-z]{1,8}\\]\\]?\n|[a-z_]{1,10} = (\"[ -~]{0,12}\"|[0-9]{1,6}|true)\n|#[ -~]{0,10}\n|\n){0,25}") {
            let lines = src.lines().count().max(1);
            if let Err(problems) = Inventory::parse(&src, Path::new("/x")) {
                prop_assert!(!problems.is_empty());
                for p in problems {
                    prop_assert!(p.line >= 1 && p.line <= lines + 1, "line {} of {}", p.line, lines);
                }
            }
        }

        /// Every dotted IPv4 with octets up to 255 is an address; with an octet above, not.
        #[test]
        fn dotted_quads_follow_the_octet_range(a in 0u32..400, b in 0u32..256, c in 0u32..256, d in 0u32..256) {
            let s = format!("{a}.{b}.{c}.{d}");
            prop_assert_eq!(valid_address(&s), a <= 255);
        }
    }
}
