//! The command line of `pi-provision` (clap), and its conversion into the library's validated
//! [`Config`]. Binary-only: the library never sees clap.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use pi_provision::config::{
    Command as Run, Config, ConfigError, ConsoleOptions, InventoryQuery, ServerAction as Server,
    WheelhouseOptions,
};
use pi_provision::inventory::Role;

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
pub struct Cli {
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
    /// Run MiniTwit under gunicorn on the server (settings from its gunicorn.conf.py), by recorded PID.
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

impl TryFrom<Cli> for Config {
    type Error = ConfigError;

    fn try_from(cli: Cli) -> Result<Config, ConfigError> {
        let command = match cli.command {
            Command::Inventory { json, action } => Run::Inventory(match (action, json) {
                (Some(InventoryAction::Get { key }), _) => InventoryQuery::Get(key),
                (None, true) => InventoryQuery::Json,
                (None, false) => InventoryQuery::Validate,
            }),
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
            } => Run::Console(ConsoleOptions {
                port,
                baud,
                host,
                interface,
                prefix,
                gateway,
                login_user,
                public_key,
                timeout: Duration::from_secs(timeout),
            }),
            Command::Trust { host, fingerprint } => Run::Trust { host, fingerprint },
            Command::Check => Run::Check,
            Command::Provision { role } => Run::Provision {
                role: role.map(|r| match r {
                    RoleArg::Server => Role::Server,
                    RoleArg::Client => Role::Client,
                }),
            },
            Command::Wheelhouse {
                pythons,
                out,
                requirements,
                sdist,
            } => Run::Wheelhouse(WheelhouseOptions {
                pythons,
                out,
                requirements,
                sdist,
            }),
            Command::Deploy { agent } => Run::Deploy { agent },
            Command::Server { action } => Run::Server(match action {
                ServerAction::Start { python, wait } => Server::Start {
                    python,
                    wait: Duration::from_secs(wait),
                },
                ServerAction::Stop => Server::Stop,
                ServerAction::Status => Server::Status,
            }),
            Command::Clients { action } => Run::Clients {
                start: matches!(action, StartStop::Start),
            },
        };
        Config::new(cli.inventory, cli.shell_dir, command)
    }
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
