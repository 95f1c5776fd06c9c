//! [`run`]: one subcommand from a validated [`Config`]. The inventory is loaded first (its
//! problems are usage errors, exit 2); each host's outcome is summarised on stderr, data goes
//! to stdout, and the result is the exit the run earned (130 once Ctrl-C was pressed).

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use procs::{Exit, Interrupt, UsageError};

use crate::config::{Command, Config, ConsoleOptions, InventoryQuery, ServerAction};
use crate::console::{self, ConsoleError, FirstBoot};
use crate::inventory::{Become, Host, Inventory, OsProfile};
use crate::ops::{self, Env, HostResults, Log, OpError};
use crate::secret;
use crate::ssh::SshError;
use crate::wheelhouse::{self, Wheelhouse};

/// Runs the configured subcommand. Once `interrupt` is set, no new remote step starts, the
/// hosts report `interrupted`, and the exit is [`Exit::Interrupted`].
pub fn run(config: Config, interrupt: &Interrupt) -> Result<Exit> {
    let result = dispatch(&config, interrupt);
    if interrupt.is_set() {
        // Remote steps already started finish on the hosts; rerunning is safe because every
        // step is idempotent.
        if let Err(e) = &result {
            if !is_interruption(e) {
                eprintln!("pi-provision: error: {}", records::error_chain(e.as_ref()));
            }
        }
        eprintln!("pi-provision: interrupted");
        return Ok(Exit::Interrupted);
    }
    result.map(|ok| if ok { Exit::Success } else { Exit::Failure })
}

/// Whether an error only says that Ctrl-C stopped the work.
fn is_interruption(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        matches!(c.downcast_ref(), Some(OpError::Interrupted))
            || matches!(c.downcast_ref(), Some(SshError::Interrupted))
            || matches!(c.downcast_ref(), Some(ConsoleError::Interrupted { .. }))
    })
}

/// An error that exits 2: the inventory or the command line names something wrong.
fn usage(message: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::new(UsageError(message.to_string()))
}

fn dispatch(cfg: &Config, interrupt: &Interrupt) -> Result<bool> {
    // The wheelhouse needs no inventory when both paths are given (the Makefile does that).
    if let Command::Wheelhouse(w) = &cfg.command {
        if let (Some(out), Some(requirements)) = (&w.out, &w.requirements) {
            return build_wheelhouse(Wheelhouse {
                pythons: w.pythons.clone(),
                requirements: requirements.clone(),
                out: out.clone(),
                sdists: w.sdist,
            });
        }
    }
    let inv = Inventory::load(&cfg.inventory).map_err(usage)?;
    let width = inv.hosts.iter().map(|h| h.name.len()).max().unwrap_or(6);
    let log = Log::stderr(width);
    let env = || -> Result<Env> {
        Ok(Env {
            inventory: inv.clone(),
            // Only the commands that upload the scripts need them on this machine.
            shell_dir: matches!(
                cfg.command,
                Command::Provision { .. } | Command::Deploy { .. }
            )
            .then(|| shell_dir(cfg))
            .transpose()?,
            root_password: secret::root_password(
                &inv,
                matches!(cfg.command, Command::Provision { .. }),
            )?,
            interrupt: interrupt.clone(),
        })
    };
    match &cfg.command {
        Command::Inventory(query) => inventory(cfg, &inv, query),
        Command::Check => emit_all("check", &ops::check(&env()?, &log)),
        Command::Trust { host, fingerprint } => {
            let h = find_host(&inv, host)?;
            ops::trust(&env()?, h, fingerprint, &log).with_context(|| format!("host {host}"))?;
            Ok(true)
        }
        Command::Provision { role } => {
            let e = env()?;
            if e.root_password.is_none()
                && inv
                    .hosts
                    .iter()
                    .any(|h| h.become_ == Become::Su && role.is_none_or(|r| h.role == r))
            {
                bail!("some hosts become root with su: set PI_PROVISION_ROOT_PASSWORD or run from a terminal to be asked");
            }
            Ok(summarise("provision", &ops::provision(&e, *role, &log)))
        }
        Command::Wheelhouse(w) => build_wheelhouse(Wheelhouse {
            pythons: w.pythons.clone(),
            requirements: w
                .requirements
                .clone()
                .unwrap_or_else(|| inv.minitwit.source.join("requirements.txt")),
            out: w
                .out
                .clone()
                .unwrap_or_else(|| inv.minitwit.wheelhouse.clone()),
            sdists: w.sdist,
        }),
        Command::Deploy { agent } => Ok(summarise(
            "deploy",
            &ops::deploy(&env()?, agent.as_deref(), &log),
        )),
        Command::Server(ServerAction::Start { python, wait }) => emit_all(
            "server start",
            &ops::server_start(&env()?, python, *wait, &log),
        ),
        Command::Server(ServerAction::Stop) => {
            Ok(summarise("server stop", &ops::server_stop(&env()?, &log)))
        }
        Command::Server(ServerAction::Status) => {
            emit_all("server status", &ops::server_status(&env()?))
        }
        Command::Clients { start } => {
            let what = if *start {
                "clients start"
            } else {
                "clients stop"
            };
            Ok(summarise(what, &ops::clients(&env()?, *start, &log)))
        }
        Command::Console(opts) => first_boot(&inv, opts, &log, interrupt),
    }
}

/// `inventory`: valid (a summary on stderr), the whole JSON, or one value.
fn inventory(cfg: &Config, inv: &Inventory, query: &InventoryQuery) -> Result<bool> {
    let mut out = std::io::stdout().lock();
    match query {
        InventoryQuery::Get(key) => {
            let v = inv.get(key).map_err(usage)?;
            let _ = writeln!(out, "{v}");
        }
        InventoryQuery::Json => {
            let text = serde_json::to_string_pretty(&inv.to_json()).context("serialising")?;
            let _ = writeln!(out, "{text}");
        }
        InventoryQuery::Validate => eprintln!(
            "{}: valid: {} host(s), {} interpreter(s)",
            cfg.inventory.display(),
            inv.hosts.len(),
            inv.interpreters.len()
        ),
    }
    Ok(true)
}

/// `console`: the first boot of one host over its serial port.
fn first_boot(
    inv: &Inventory,
    opts: &ConsoleOptions,
    log: &Log,
    interrupt: &Interrupt,
) -> Result<bool> {
    let h = find_host(inv, &opts.host)?;
    let address: Ipv4Addr = h.address.parse().map_err(|_| {
        usage(format!(
            "host {}: console needs an IPv4 address in the inventory, not {}",
            h.name, h.address
        ))
    })?;
    let key_path = match (&opts.public_key, &inv.identity) {
        (Some(p), _) => p.clone(),
        (None, Some(id)) => PathBuf::from(format!("{}.pub", id.display())),
        (None, None) => bail!(
            "give --public-key FILE (the inventory has no identity to take <identity>.pub from)"
        ),
    };
    let key = std::fs::read_to_string(&key_path)
        .with_context(|| format!("reading the public key {}", key_path.display()))?;
    let fb = FirstBoot {
        os: h.os,
        login_user: opts.login_user.clone(),
        login_password: secret::console_password(h.os, &opts.login_user)?,
        hostname: h.name.clone(),
        interface: opts.interface.clone().unwrap_or_else(|| match h.os {
            OsProfile::Freebsd => "ue0".into(),
            OsProfile::Debian => "eth0".into(),
        }),
        address,
        prefix: opts.prefix,
        gateway: opts.gateway,
        ssh_user: h.user.clone(),
        public_key: key.trim().to_string(),
        timeout: opts.timeout,
    };
    let port = &opts.port;
    let mut serial = serialport::new(port.to_string_lossy(), opts.baud)
        .timeout(std::time::Duration::from_millis(200))
        .open_native()
        .with_context(|| format!("opening serial port {}", port.display()))?;
    let mut progress = |l: &str| log.line(&h.name, l);
    let report = console::first_boot(&mut serial, &fb, &mut progress, interrupt)
        .with_context(|| format!("host {} on {}", h.name, port.display()))?;
    emit(&report)?;
    eprintln!(
        "{}: console: ok; next: pi-provision trust --host {} --fingerprint <SHA256:… above>",
        h.name, h.name
    );
    Ok(true)
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

/// Where the `shell/` scripts are: `--shell-dir`, else `./shell`, else the checkout this
/// binary was built in.
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

/// Prints each host's report as a JSON line, then the summary; true when all succeeded.
fn emit_all<T: serde::Serialize>(what: &str, results: &HostResults<T>) -> Result<bool> {
    for (_, r) in results {
        if let Ok(report) = r {
            emit(report)?;
        }
    }
    Ok(summarise(what, results))
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

fn find_host<'a>(inv: &'a Inventory, name: &str) -> Result<&'a Host> {
    inv.hosts.iter().find(|h| h.name == name).ok_or_else(|| {
        let names: Vec<&str> = inv.hosts.iter().map(|h| h.name.as_str()).collect();
        usage(format!(
            "no host {name} in the inventory (hosts: {})",
            names.join(", ")
        ))
    })
}
