//! `pi-provision`: the command line. Parses, builds a validated config, calls the library,
//! maps the outcome to an exit code (0 ok, 1 failure, 2 usage, 130 interrupted).

use std::io::{BufRead, Write};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use pi_provision::console::{self, FirstBoot};
use pi_provision::inventory::{Become, Inventory, OsProfile, Role};
use pi_provision::ops::{self, Env, HostResults, Log};
use pi_provision::wheelhouse::{self, Wheelhouse};

const ABOUT: &str = "Provision the cpython-energy testbed: from a blank SD card to Raspberry Pis \
that serve MiniTwit, over the serial console and SSH, with no manual steps.";

const LONG_ABOUT: &str = "\
Provision the cpython-energy testbed: from a blank SD card to Raspberry Pis that serve
MiniTwit, over the serial console and SSH, with no manual steps.

Typical order, for a new testbed (see docs/provisioning.md):
  1. cp data/testbed.example.toml testbed.toml   and edit addresses, users, interpreters
  2. pi-provision console --port /dev/ttyUSB0 --host server
                        first boot: hostname, static address, sshd, your public key;
                        prints the host key fingerprint
  3. pi-provision trust --host server --fingerprint SHA256:…
                        record that key in known_hosts (only if it matches)
  4. pi-provision check                 every host reachable, key verified, OS, interpreters
  5. pi-provision provision             run shell/<os>/root.sh and user.sh on every host
  6. pi-provision wheelhouse --python python3.12 …   wheels for the server's interpreters
  7. pi-provision deploy --agent FILE   MiniTwit, seed SQL, wheelhouse, one venv per interpreter;
                        the load agent (minitwit-load for the clients) to each client
  8. pi-provision server start --python 3.12   (then status, stop)
  9. pi-provision clients start         the load agent on the client hosts

Host keys are always verified against the known_hosts file of the inventory; unknown or
changed keys are refused. Authentication is by key file or SSH agent only. The root password
for `become = \"su\"` hosts comes from PI_PROVISION_ROOT_PASSWORD or a prompt and is never
logged or stored.

Data (JSON lines, values) goes to stdout; progress, prefixed with the host name, to stderr.
Exit status: 0 ok, 1 a host failed (all hosts are still reported), 2 usage or inventory
error, 130 interrupted.";

#[derive(Debug, Parser)]
#[command(name = "pi-provision", version, about = ABOUT, long_about = LONG_ABOUT)]
struct Cli {
    /// The testbed inventory (TOML); data/testbed.example.toml is a commented example.
    #[arg(
        long,
        short = 'i',
        global = true,
        env = "PI_PROVISION_INVENTORY",
        default_value = "testbed.toml"
    )]
    inventory: PathBuf,

    /// Directory of the provisioning scripts on this machine, uploaded by provision and deploy
    /// [default: ./shell, else the shell/ of the checkout this binary was built in].
    #[arg(long, global = true, env = "PI_PROVISION_SHELL_DIR")]
    shell_dir: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate the inventory and print it as JSON, or one value for scripts.
    ///
    /// Every problem is listed with its line. `inventory get server.address` prints one value;
    /// keys are the JSON paths of `inventory --json` plus shortcuts `server`, `host.NAME`,
    /// `client_hosts` and `interpreter.VERSION` (an array maps: `client_hosts.address`).
    Inventory {
        /// Print the whole inventory as JSON.
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        action: Option<InventoryAction>,
    },
    /// First boot over the serial console: hostname, static address, sshd, public key.
    ///
    /// Logs in with the image's default account (FreeBSD: root / root; override the password
    /// with PI_PROVISION_CONSOLE_PASSWORD), configures the host named --host from the
    /// inventory, and prints a JSON report with the host key fingerprints to give `trust`.
    Console {
        /// Serial device of the USB-UART cable.
        #[arg(long)]
        port: PathBuf,
        /// Baud rate (the Pi's console runs at 115200).
        #[arg(long, default_value_t = 115_200)]
        baud: u32,
        /// The inventory host being set up (its address, os and user are used).
        #[arg(long)]
        host: String,
        /// Network interface to configure [default: ue0 on freebsd (Pi B+), eth0 on debian].
        #[arg(long)]
        interface: Option<String>,
        /// Prefix length of the static address.
        #[arg(long, default_value_t = 24)]
        prefix: u8,
        /// Default gateway to configure, if the testbed LAN has one.
        #[arg(long)]
        gateway: Option<Ipv4Addr>,
        /// Account to log in with on the console.
        #[arg(long, default_value = "root")]
        login_user: String,
        /// The controller's public key to install [default: the inventory's identity + .pub].
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// Seconds to wait for each prompt or command.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
    },
    /// Record a host's SSH key in known_hosts, only if its fingerprint is the one given.
    Trust {
        /// Inventory host name.
        #[arg(long)]
        host: String,
        /// The fingerprint `console` printed (or `ssh-keygen -lf` on the host): SHA256:…
        #[arg(long)]
        fingerprint: String,
    },
    /// For every host: reachable, host key verified, OS, which interpreters exist (JSON lines).
    Check,
    /// Upload shell/ and run the root part (via su/sudo/doas), then the user part.
    Provision {
        /// Only hosts with this role.
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
    },
    /// Build the wheelhouse (MiniTwit's pinned requirements as wheels) on this machine.
    Wheelhouse {
        /// Interpreter with pip to build wheels with; repeat once per target Python version.
        #[arg(long = "python", default_value = "python3")]
        pythons: Vec<PathBuf>,
        /// Output directory [default: the inventory's minitwit.wheelhouse].
        #[arg(long, short = 'o')]
        out: Option<PathBuf>,
        /// MiniTwit's requirements [default: requirements.txt in the inventory's minitwit.source].
        #[arg(long)]
        requirements: Option<PathBuf>,
        /// Also fetch sources and build backends, for targets without binary wheels (FreeBSD ARM).
        #[arg(long)]
        sdist: bool,
    },
    /// Upload MiniTwit, the seed SQL and the wheelhouse; create one venv per interpreter.
    Deploy {
        /// Also upload this program (minitwit-load built for the clients' platform) to the
        /// `[clients] agent` path on every client host.
        #[arg(long, value_name = "FILE")]
        agent: Option<PathBuf>,
    },
    /// Run MiniTwit under gunicorn on the server (the study's flags), by recorded PID.
    Server {
        #[command(subcommand)]
        action: ServerAction,
    },
    /// Start or stop the load agent (minitwit-load agent) on the client hosts.
    Clients {
        #[arg(value_enum)]
        action: StartStop,
    },
}

#[derive(Debug, Subcommand)]
enum InventoryAction {
    /// Print one value (strings bare, lists space-separated).
    Get {
        /// Dotted key, e.g. server.address, minitwit.port, interpreters.version.
        key: String,
    },
}

#[derive(Debug, Subcommand)]
enum ServerAction {
    /// Start gunicorn in the venv of --python and wait until MiniTwit answers.
    Start {
        /// Interpreter version label from the inventory (3.8 … 3.13, pypy3.10).
        #[arg(long)]
        python: String,
        /// Seconds to wait for MiniTwit to answer HTTP.
        #[arg(long, default_value_t = 60)]
        wait: u64,
    },
    /// Stop the gunicorn recorded at start (TERM, then KILL after 30 s).
    Stop,
    /// Print whether it runs, its PID, interpreter and uptime (JSON).
    Status,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Server,
    Client,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StartStop {
    Start,
    Stop,
}

/// The validated configuration the library runs with.
struct Config {
    inventory_path: PathBuf,
    shell_dir: Option<PathBuf>,
    command: Command,
}

impl TryFrom<Cli> for Config {
    type Error = anyhow::Error;

    fn try_from(cli: Cli) -> Result<Self> {
        if let Command::Console { prefix, baud, .. } = &cli.command {
            if *prefix == 0 || *prefix > 32 {
                bail!("--prefix {prefix} must be 1 to 32");
            }
            if *baud == 0 {
                bail!("--baud must be positive");
            }
        }
        if let Command::Trust { fingerprint, .. } = &cli.command {
            if !fingerprint.starts_with("SHA256:") {
                bail!("--fingerprint must look like SHA256:… as ssh-keygen -l prints it");
            }
        }
        Ok(Self {
            inventory_path: cli.inventory,
            shell_dir: cli.shell_dir,
            command: cli.command,
        })
    }
}

/// Distinguishes usage errors (exit 2) from failures (exit 1).
#[derive(Debug)]
struct Usage;

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("usage")
    }
}
impl std::error::Error for Usage {}

fn main() -> ExitCode {
    // Interrupted: remote steps already started keep running on the hosts; rerunning is safe
    // because every step is idempotent.
    let _ = ctrlc::set_handler(|| {
        eprintln!("pi-provision: interrupted");
        std::process::exit(130);
    });
    let cli = Cli::parse();
    let config = match Config::try_from(cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("pi-provision: {}", records::error_chain(e.as_ref()));
            return ExitCode::from(2);
        }
    };
    match run(config) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e)
            if e.downcast_ref::<Usage>().is_some()
                || e.chain()
                    .any(|c| c.is::<pi_provision::inventory::InventoryError>()) =>
        {
            eprintln!("pi-provision: {}", records::error_chain(e.as_ref()));
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("pi-provision: {}", records::error_chain(e.as_ref()));
            ExitCode::from(1)
        }
    }
}

fn shell_dir(cfg: &Config) -> Result<PathBuf> {
    if let Some(d) = &cfg.shell_dir {
        return Ok(d.clone());
    }
    let cwd = PathBuf::from("shell");
    if cwd.join("lib.sh").is_file() {
        return Ok(cwd);
    }
    // target/release/pi-provision → the checkout's shell/.
    let exe = std::env::current_exe().context("finding this program's path")?;
    if let Some(root) = exe.ancestors().nth(3) {
        let d = root.join("shell");
        if d.join("lib.sh").is_file() {
            return Ok(d);
        }
    }
    bail!("cannot find the shell/ scripts: run from the repository root or give --shell-dir DIR")
}

/// Prints JSON lines to stdout; a closed pipe ends quietly.
fn emit<T: serde::Serialize>(value: &T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let line = serde_json::to_string(value).context("serialising output")?;
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e).context("writing to stdout"),
    }
}

/// Prints each host's outcome on stderr; true when all succeeded.
fn summarise<T>(what: &str, results: &HostResults<T>) -> bool {
    let mut ok = true;
    for (host, r) in results {
        match r {
            Ok(_) => eprintln!("{host}: {what}: ok"),
            Err(e) => {
                ok = false;
                eprintln!("{host}: {what}: FAILED: {e}");
            }
        }
    }
    ok
}

fn root_password(inv: &Inventory, needed: bool) -> Result<Option<String>> {
    if !needed || !inv.hosts.iter().any(|h| h.become_ == Become::Su) {
        return Ok(None);
    }
    if let Ok(pw) = std::env::var("PI_PROVISION_ROOT_PASSWORD") {
        return Ok(Some(pw));
    }
    prompt_secret("root password for su on the hosts: ")
}

/// Reads a secret from the terminal with echo off (via stty), or None without a terminal.
fn prompt_secret(prompt: &str) -> Result<Option<String>> {
    let Ok(tty) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    else {
        return Ok(None);
    };
    let stty = |arg: &str| {
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(
                tty.try_clone()
                    .map(std::process::Stdio::from)
                    .unwrap_or(std::process::Stdio::null()),
            )
            .status()
    };
    let mut w = tty.try_clone().context("opening /dev/tty")?;
    write!(w, "{prompt}").context("writing the prompt to /dev/tty")?;
    let _ = stty("-echo");
    let mut line = String::new();
    let read =
        std::io::BufReader::new(tty.try_clone().context("opening /dev/tty")?).read_line(&mut line);
    let _ = stty("echo");
    let _ = writeln!(w);
    read.context("reading the password from /dev/tty")?;
    Ok(Some(line.trim_end_matches(['\n', '\r']).to_string()))
}

fn run(cfg: Config) -> Result<bool> {
    // The wheelhouse needs no inventory when both paths are given (the Makefile does that).
    if let Command::Wheelhouse {
        pythons,
        out: Some(out),
        requirements: Some(requirements),
        sdist,
    } = &cfg.command
    {
        return build_wheelhouse(Wheelhouse {
            pythons: pythons.clone(),
            requirements: requirements.clone(),
            out: out.clone(),
            sdists: *sdist,
        });
    }
    let inv = Inventory::load(&cfg.inventory_path)?;
    let width = inv.hosts.iter().map(|h| h.name.len()).max().unwrap_or(6);
    let log = Log::stderr(width);
    let needs_root = matches!(cfg.command, Command::Provision { .. });
    let env = || -> Result<Env> {
        Ok(Env {
            inventory: inv.clone(),
            // Only the commands that upload the scripts need them on this machine.
            shell_dir: matches!(
                cfg.command,
                Command::Provision { .. } | Command::Deploy { .. }
            )
            .then(|| shell_dir(&cfg))
            .transpose()?,
            root_password: root_password(&inv, needs_root)?,
        })
    };
    match &cfg.command {
        Command::Inventory { json, action } => match action {
            Some(InventoryAction::Get { key }) => {
                let v = inv.get(key)?;
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{v}");
                Ok(true)
            }
            None => {
                if *json {
                    let text =
                        serde_json::to_string_pretty(&inv.to_json()).context("serialising")?;
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{text}");
                } else {
                    eprintln!(
                        "{}: valid: {} host(s), {} interpreter(s)",
                        cfg.inventory_path.display(),
                        inv.hosts.len(),
                        inv.interpreters.len()
                    );
                }
                Ok(true)
            }
        },
        Command::Check => {
            let results = ops::check(&env()?, &log);
            for (_, r) in &results {
                if let Ok(report) = r {
                    emit(report)?;
                }
            }
            Ok(summarise("check", &results))
        }
        Command::Trust { host, fingerprint } => {
            let h = find_host(&inv, host)?;
            ops::trust(&env()?, h, fingerprint, &log).with_context(|| format!("host {host}"))?;
            Ok(true)
        }
        Command::Provision { role } => {
            let role = role.map(|r| match r {
                RoleArg::Server => Role::Server,
                RoleArg::Client => Role::Client,
            });
            let e = env()?;
            if e.root_password.is_none()
                && inv
                    .hosts
                    .iter()
                    .any(|h| h.become_ == Become::Su && role.is_none_or(|r| h.role == r))
            {
                bail!("some hosts become root with su: set PI_PROVISION_ROOT_PASSWORD or run from a terminal to be asked");
            }
            Ok(summarise("provision", &ops::provision(&e, role, &log)))
        }
        Command::Wheelhouse {
            pythons,
            out,
            requirements,
            sdist,
        } => {
            let w = Wheelhouse {
                pythons: pythons.clone(),
                requirements: requirements
                    .clone()
                    .unwrap_or_else(|| inv.minitwit.source.join("requirements.txt")),
                out: out
                    .clone()
                    .unwrap_or_else(|| inv.minitwit.wheelhouse.clone()),
                sdists: *sdist,
            };
            build_wheelhouse(w)
        }
        Command::Deploy { agent } => Ok(summarise(
            "deploy",
            &ops::deploy(&env()?, agent.as_deref(), &log),
        )),
        Command::Server { action } => match action {
            ServerAction::Start { python, wait } => {
                let results = ops::server_start(&env()?, python, Duration::from_secs(*wait), &log);
                for (_, r) in &results {
                    if let Ok(s) = r {
                        emit(s)?;
                    }
                }
                Ok(summarise("server start", &results))
            }
            ServerAction::Stop => Ok(summarise("server stop", &ops::server_stop(&env()?, &log))),
            ServerAction::Status => {
                let results = ops::server_status(&env()?);
                for (_, r) in &results {
                    if let Ok(s) = r {
                        emit(s)?;
                    }
                }
                Ok(summarise("server status", &results))
            }
        },
        Command::Clients { action } => {
            let start = matches!(action, StartStop::Start);
            let what = if start {
                "clients start"
            } else {
                "clients stop"
            };
            Ok(summarise(what, &ops::clients(&env()?, start, &log)))
        }
        Command::Console {
            port,
            baud,
            host,
            interface,
            prefix,
            gateway,
            login_user,
            public_key,
            timeout,
        } => {
            let h = find_host(&inv, host)?;
            let address: Ipv4Addr = h.address.parse().map_err(|_| {
                anyhow::Error::new(Usage).context(format!(
                    "host {}: console needs an IPv4 address in the inventory, not {}",
                    h.name, h.address
                ))
            })?;
            let key_path = match (public_key, &inv.identity) {
                (Some(p), _) => p.clone(),
                (None, Some(id)) => PathBuf::from(format!("{}.pub", id.display())),
                (None, None) => bail!("give --public-key FILE (the inventory has no identity to take <identity>.pub from)"),
            };
            let key = std::fs::read_to_string(&key_path)
                .with_context(|| format!("reading the public key {}", key_path.display()))?;
            let password = match std::env::var("PI_PROVISION_CONSOLE_PASSWORD") {
                Ok(p) => p,
                Err(_) => default_password(h.os, login_user)
                    .with_context(|| format!("no default password for {login_user} on {:?}: set PI_PROVISION_CONSOLE_PASSWORD", h.os))?,
            };
            let fb = FirstBoot {
                os: h.os,
                login_user: login_user.clone(),
                login_password: password,
                hostname: h.name.clone(),
                interface: interface.clone().unwrap_or_else(|| match h.os {
                    OsProfile::Freebsd => "ue0".into(),
                    OsProfile::Debian => "eth0".into(),
                }),
                address,
                prefix: *prefix,
                gateway: *gateway,
                ssh_user: h.user.clone(),
                public_key: key.trim().to_string(),
                timeout: Duration::from_secs(*timeout),
            };
            let mut serial = serialport::new(port.to_string_lossy(), *baud)
                .timeout(Duration::from_millis(200))
                .open_native()
                .with_context(|| format!("opening serial port {}", port.display()))?;
            let name = h.name.clone();
            let mut progress = |l: &str| log.line(&name, l);
            let report = console::first_boot(&mut serial, &fb, &mut progress)
                .with_context(|| format!("host {} on {}", h.name, port.display()))?;
            emit(&report)?;
            eprintln!("{}: console: ok; next: pi-provision trust --host {} --fingerprint <SHA256:… above>", h.name, h.name);
            Ok(true)
        }
    }
}

fn build_wheelhouse(w: Wheelhouse) -> Result<bool> {
    let files = wheelhouse::build(&w).context("building the wheelhouse")?;
    let mut stdout = std::io::stdout().lock();
    for f in &files {
        if writeln!(stdout, "{f}").is_err() {
            break;
        }
    }
    eprintln!("wheelhouse {}: {} file(s)", w.out.display(), files.len());
    Ok(true)
}

fn default_password(os: OsProfile, user: &str) -> Option<String> {
    // The FreeBSD Raspberry Pi images ship these well-known accounts (see the image's notes).
    match (os, user) {
        (OsProfile::Freebsd, "root") => Some("root".into()),
        (OsProfile::Freebsd, "freebsd") => Some("freebsd".into()),
        _ => None,
    }
}

fn find_host<'a>(inv: &'a Inventory, name: &str) -> Result<&'a pi_provision::inventory::Host> {
    inv.hosts.iter().find(|h| h.name == name).ok_or_else(|| {
        let names: Vec<&str> = inv.hosts.iter().map(|h| h.name.as_str()).collect();
        anyhow::Error::new(Usage).context(format!(
            "no host {name} in the inventory (hosts: {})",
            names.join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bad_fingerprint_is_a_usage_error() {
        let cli = Cli::try_parse_from([
            "pi-provision",
            "trust",
            "--host",
            "s",
            "--fingerprint",
            "abc",
        ])
        .unwrap();
        assert!(Config::try_from(cli).is_err());
    }
}
