//! The inventory's schema: which tables and keys exist, their defaults, and the checks on
//! their values (addresses, versions, names, characters safe in a remote shell), each problem
//! reported with its line.

use std::collections::BTreeMap;
use std::net::IpAddr;

use toml_edit::TableLike;

use super::parse::{Parser, Tbl};
use super::{
    venv_name, Become, Clients, Host, Install, Interpreter, Inventory, Minitwit, OsProfile, Otii,
    Role,
};

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

impl Parser<'_> {
    pub(super) fn inventory(&mut self, root: &dyn TableLike) -> Option<Inventory> {
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
            port: otii_protocol::DEFAULT_PORT,
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
                otii.port = self.port(&t, "port", otii_protocol::DEFAULT_PORT);
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
            if let Err(problems) = Inventory::parse(&src, std::path::Path::new("/x")) {
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
