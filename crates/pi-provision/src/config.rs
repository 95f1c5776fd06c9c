//! The validated configuration `pi-provision` runs with: what the command line asked for, in
//! the library's own types, with the checks the parser cannot express done once, up front.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use crate::inventory::Role;

/// A command line that parsed but cannot be right (exit 2, nothing done).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The console's prefix length is not a prefix length.
    #[error("--prefix {0} must be 1 to 32")]
    Prefix(u8),
    /// A baud rate of zero.
    #[error("--baud must be positive")]
    Baud,
    /// The fingerprint is not in `ssh-keygen -l`'s form.
    #[error("--fingerprint must look like SHA256:… as ssh-keygen -l prints it")]
    Fingerprint,
}

/// Everything one run of `pi-provision` needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The testbed inventory (TOML).
    pub inventory: PathBuf,
    /// The `shell/` scripts on this machine, when given; else looked up where they usually are.
    pub shell_dir: Option<PathBuf>,
    /// What to do.
    pub command: Command,
}

impl Config {
    /// A configuration, after checking what the parser could not.
    pub fn new(
        inventory: PathBuf,
        shell_dir: Option<PathBuf>,
        command: Command,
    ) -> Result<Config, ConfigError> {
        match &command {
            Command::Console(c) if c.prefix == 0 || c.prefix > 32 => {
                return Err(ConfigError::Prefix(c.prefix))
            }
            Command::Console(c) if c.baud == 0 => return Err(ConfigError::Baud),
            Command::Trust { fingerprint, .. } if !fingerprint.starts_with("SHA256:") => {
                return Err(ConfigError::Fingerprint)
            }
            _ => {}
        }
        Ok(Config {
            inventory,
            shell_dir,
            command,
        })
    }
}

/// One subcommand and its settings.
#[derive(Debug, Clone)]
pub enum Command {
    /// Validate the inventory, print it as JSON, or print one value.
    Inventory(InventoryQuery),
    /// First boot over the serial console.
    Console(ConsoleOptions),
    /// Record a host's key in known_hosts when its fingerprint is this one.
    Trust {
        /// Inventory host name.
        host: String,
        /// `SHA256:…`.
        fingerprint: String,
    },
    /// Reachability, host key, OS and interpreters of every host.
    Check,
    /// The root and user parts of the scripts, on the hosts with this role or all.
    Provision {
        /// Only these hosts.
        role: Option<Role>,
    },
    /// The wheelhouse, built on this machine.
    Wheelhouse(WheelhouseOptions),
    /// MiniTwit, seed, wheels and venvs to the server; the agent to the clients.
    Deploy {
        /// The load agent program to upload to every client.
        agent: Option<PathBuf>,
    },
    /// MiniTwit under gunicorn on the server.
    Server(ServerAction),
    /// The load agent on the clients: start (`true`) or stop.
    Clients {
        /// Start, or stop.
        start: bool,
    },
}

/// What `inventory` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InventoryQuery {
    /// Nothing on stdout; a one-line summary on stderr.
    Validate,
    /// The whole inventory as JSON.
    Json,
    /// One value, for scripts.
    Get(String),
}

/// The settings of `console`.
#[derive(Debug, Clone)]
pub struct ConsoleOptions {
    /// Serial device.
    pub port: PathBuf,
    /// Baud rate.
    pub baud: u32,
    /// The inventory host being set up.
    pub host: String,
    /// Network interface; `None`: the OS profile's default.
    pub interface: Option<String>,
    /// Prefix length of the static address.
    pub prefix: u8,
    /// Default gateway, if any.
    pub gateway: Option<Ipv4Addr>,
    /// Account to log in with.
    pub login_user: String,
    /// The controller's public key; `None`: the inventory's identity + `.pub`.
    pub public_key: Option<PathBuf>,
    /// How long to wait for each prompt or command.
    pub timeout: Duration,
}

/// The settings of `wheelhouse`.
#[derive(Debug, Clone)]
pub struct WheelhouseOptions {
    /// Interpreters with pip, one per target Python version.
    pub pythons: Vec<PathBuf>,
    /// Output directory; `None`: the inventory's `minitwit.wheelhouse`.
    pub out: Option<PathBuf>,
    /// Requirements; `None`: `requirements.txt` in the inventory's `minitwit.source`.
    pub requirements: Option<PathBuf>,
    /// Also source distributions and build backends.
    pub sdist: bool,
}

/// What `server` does.
#[derive(Debug, Clone)]
pub enum ServerAction {
    /// Start gunicorn in this interpreter's venv and wait until MiniTwit answers.
    Start {
        /// Interpreter version label.
        python: String,
        /// How long MiniTwit may take to answer.
        wait: Duration,
    },
    /// Stop the recorded gunicorn.
    Stop,
    /// Report whether it runs.
    Status,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn console(prefix: u8, baud: u32) -> Command {
        Command::Console(ConsoleOptions {
            port: "/dev/ttyUSB0".into(),
            baud,
            host: "server".into(),
            interface: None,
            prefix,
            gateway: None,
            login_user: "root".into(),
            public_key: None,
            timeout: Duration::from_secs(1),
        })
    }

    #[test]
    fn bad_values_are_refused_up_front() {
        let new = |c| Config::new("t.toml".into(), None, c);
        assert!(matches!(
            new(Command::Trust {
                host: "s".into(),
                fingerprint: "abc".into()
            }),
            Err(ConfigError::Fingerprint)
        ));
        assert!(matches!(
            new(console(33, 9600)),
            Err(ConfigError::Prefix(33))
        ));
        assert!(matches!(new(console(0, 9600)), Err(ConfigError::Prefix(0))));
        assert!(matches!(new(console(24, 0)), Err(ConfigError::Baud)));
        assert!(new(console(24, 115_200)).is_ok());
    }
}
