//! First boot over the serial console: log in with the image's default account, set hostname
//! and a static address, enable sshd, install the controller's public key and read the host
//! key fingerprint, so the next step (SSH) can verify the host.
//!
//! The console is any `Read + Write` (a serial port, or a pty in tests). Reads may time out
//! (`TimedOut`/`WouldBlock`); the deadline logic here decides when waiting becomes an error.

use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use procs::Interrupt;

use crate::inventory::OsProfile;
use crate::ssh::sh_quote;

/// What went wrong on the console.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// Nothing expected arrived in time.
    #[error("timed out after {}s waiting for {waiting_for}; last console output: {last:?} (is the cable on the Pi's UART pins, the baud rate right, the Pi powered?)", .after.as_secs())]
    Timeout {
        /// What was awaited.
        waiting_for: String,
        /// How long we waited.
        after: Duration,
        /// The tail of what the console printed.
        last: String,
    },
    /// The console asked something we do not know how to answer.
    #[error("unexpected prompt while {during}: {prompt:?} (log in on the console by hand once to clear it, then rerun)")]
    UnexpectedPrompt {
        /// What we were doing.
        during: String,
        /// The prompt text.
        prompt: String,
    },
    /// The login was refused.
    #[error("login as {user} was refused ({detail}); set PI_PROVISION_CONSOLE_PASSWORD to the account's password")]
    LoginRefused {
        /// The user.
        user: String,
        /// What the console said.
        detail: String,
    },
    /// A configuration command failed.
    #[error("console step `{step}` failed with exit status {status}; its output:\n{output}")]
    CommandFailed {
        /// The step.
        step: String,
        /// Exit status.
        status: i32,
        /// Its output.
        output: String,
    },
    /// Ctrl-C: the first boot stopped between two reads of the console.
    #[error("interrupted while {during} (rerunning is safe: every step checks before it changes)")]
    Interrupted {
        /// What we were doing.
        during: String,
    },
    /// Reading or writing the port failed.
    #[error("serial I/O failed while {during}: {source}")]
    Io {
        /// What we were doing.
        during: String,
        /// The error.
        source: io::Error,
    },
}

/// What to set up on first boot.
#[derive(Debug, Clone)]
pub struct FirstBoot {
    /// OS profile (decides the commands).
    pub os: OsProfile,
    /// Account to log in with on the console (the image default: `root` on FreeBSD).
    pub login_user: String,
    /// Its password. Never logged.
    pub login_password: String,
    /// New hostname.
    pub hostname: String,
    /// Network interface to configure (`ue0` on a FreeBSD Raspberry Pi B+, `eth0` on Debian).
    pub interface: String,
    /// Static address.
    pub address: Ipv4Addr,
    /// Prefix length.
    pub prefix: u8,
    /// Default gateway, if any.
    pub gateway: Option<Ipv4Addr>,
    /// The SSH user whose `authorized_keys` gets the key.
    pub ssh_user: String,
    /// The controller's public key line (`ssh-ed25519 AAAA… comment`).
    pub public_key: String,
    /// How long to wait for each answer.
    pub timeout: Duration,
}

/// What first boot found out.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FirstBootReport {
    /// The hostname set.
    pub hostname: String,
    /// `address/prefix` configured.
    pub address: String,
    /// Host key fingerprints as `ssh-keygen -l` printed them (feed them to `pi-provision trust`).
    pub host_key_fingerprints: Vec<String>,
}

/// One command sent to the shell, with the step name it is logged under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleCommand {
    /// Shown in progress and errors.
    pub step: String,
    /// A POSIX sh command (it is run with `sh -c`, so csh login shells work too).
    pub command: String,
}

/// The commands first boot runs for `cfg`, in order. Each is idempotent.
pub fn commands(cfg: &FirstBoot) -> Vec<ConsoleCommand> {
    let c = |step: &str, command: String| ConsoleCommand {
        step: step.into(),
        command,
    };
    let key = sh_quote(cfg.public_key.trim());
    let user = &cfg.ssh_user;
    let addr = format!("{}/{}", cfg.address, cfg.prefix);
    let authorized = c(
        "authorize the controller's key",
        format!(
            "d=$(eval echo ~{user})/.ssh && mkdir -p \"$d\" && touch \"$d/authorized_keys\" && \
             {{ grep -qxF {key} \"$d/authorized_keys\" || printf '%s\\n' {key} >> \"$d/authorized_keys\"; }} && \
             chown -R {user} \"$d\" && chmod 700 \"$d\" && chmod 600 \"$d/authorized_keys\""
        ),
    );
    let fingerprints = c(
        "read the host key fingerprints",
        "for f in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -lf \"$f\"; done".into(),
    );
    match cfg.os {
        OsProfile::Freebsd => {
            let mut v = vec![
                c(
                    "set the hostname",
                    format!(
                        "sysrc hostname={} && hostname {}",
                        cfg.hostname, cfg.hostname
                    ),
                ),
                c(
                    "set a static address",
                    format!(
                        "sysrc ifconfig_{if_}=\"inet {addr}\" && service netif restart {if_}",
                        if_ = cfg.interface
                    ),
                ),
            ];
            if let Some(gw) = cfg.gateway {
                v.push(c(
                    "set the default route",
                    format!("sysrc defaultrouter={gw} && service routing restart"),
                ));
            }
            v.push(c(
                "enable sshd",
                "sysrc sshd_enable=YES && { service sshd status >/dev/null 2>&1 || service sshd start; }"
                    .into(),
            ));
            v.push(authorized);
            v.push(fingerprints);
            v
        }
        OsProfile::Debian => {
            let gw = cfg
                .gateway
                .map(|g| format!(" ipv4.gateway {g}"))
                .unwrap_or_default();
            vec![
                c(
                    "set the hostname",
                    format!(
                        "echo {h} > /etc/hostname && hostname {h}",
                        h = cfg.hostname
                    ),
                ),
                c(
                    "set a static address",
                    format!(
                        "nmcli -t -f NAME connection show | grep -qx cpe-static || \
                         nmcli connection add type ethernet ifname {} con-name cpe-static \
                         ipv4.method manual ipv4.addresses {addr}{gw}; nmcli connection up cpe-static",
                        cfg.interface
                    ),
                ),
                c("enable sshd", "systemctl enable --now ssh".into()),
                authorized,
                fingerprints,
            ]
        }
    }
}

/// A console session: a byte stream plus what has been read so far.
pub struct Console<'a, P: Read + Write> {
    port: &'a mut P,
    buf: String,
    timeout: Duration,
    log: &'a mut dyn FnMut(&str),
    stop: &'a Interrupt,
}

/// How a wait ended.
enum Seen {
    Login,
    Password,
    Shell,
    Refused(String),
    Other(String),
}

const MARK: &str = "__CPE_RC=";

impl<'a, P: Read + Write> Console<'a, P> {
    /// Wraps a port; `log` receives progress lines (never the password); every wait ends
    /// with [`ConsoleError::Interrupted`] once `stop` is set.
    pub fn new(
        port: &'a mut P,
        timeout: Duration,
        log: &'a mut dyn FnMut(&str),
        stop: &'a Interrupt,
    ) -> Self {
        Self {
            port,
            buf: String::new(),
            timeout,
            log,
            stop,
        }
    }

    fn send(&mut self, text: &str, during: &str) -> Result<(), ConsoleError> {
        self.port
            .write_all(text.as_bytes())
            .and_then(|()| self.port.flush())
            .map_err(|source| ConsoleError::Io {
                during: during.into(),
                source,
            })
    }

    /// Reads whatever is available (or nothing, on a read timeout) into the buffer.
    fn pump(&mut self, during: &str) -> Result<(), ConsoleError> {
        if self.stop.is_set() {
            return Err(ConsoleError::Interrupted {
                during: during.into(),
            });
        }
        let mut b = [0u8; 1024];
        match self.port.read(&mut b) {
            Ok(0) => std::thread::sleep(Duration::from_millis(20)),
            Ok(n) => self
                .buf
                .push_str(&String::from_utf8_lossy(&b[..n]).replace('\r', "")),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(source) => {
                return Err(ConsoleError::Io {
                    during: during.into(),
                    source,
                })
            }
        }
        Ok(())
    }

    fn tail(&self) -> String {
        let start = self.buf.len().saturating_sub(200);
        let start = (start..=self.buf.len())
            .find(|&i| self.buf.is_char_boundary(i))
            .unwrap_or(self.buf.len());
        self.buf[start..].to_string()
    }

    /// The text after the last newline: where prompts appear.
    fn last_line(&self) -> &str {
        self.buf.rsplit('\n').next().unwrap_or("")
    }

    /// Waits until the console shows a login prompt, a password prompt, a shell prompt, or a
    /// refusal; other prompts (text ending in `: ` or `? ` that sits there) are reported.
    fn wait_prompt(&mut self, waiting_for: &str) -> Result<Seen, ConsoleError> {
        let deadline = Instant::now() + self.timeout;
        let mut idle_since = Instant::now();
        let mut last_len = self.buf.len();
        loop {
            self.pump(waiting_for)?;
            if self.buf.len() != last_len {
                last_len = self.buf.len();
                idle_since = Instant::now();
            }
            if self.buf.contains("Login incorrect") || self.buf.contains("Permission denied") {
                return Ok(Seen::Refused(self.tail()));
            }
            // Prompts count only once the console has been quiet for a moment: the wake-up
            // carriage return makes getty print its prompt a second time.
            if idle_since.elapsed() < Duration::from_millis(300) {
                if Instant::now() > deadline {
                    return Err(ConsoleError::Timeout {
                        waiting_for: waiting_for.into(),
                        after: self.timeout,
                        last: self.tail(),
                    });
                }
                continue;
            }
            let line = self.last_line().to_string();
            let lower = line.to_ascii_lowercase();
            if lower.ends_with("login: ") {
                return Ok(Seen::Login);
            }
            if lower.trim_end().ends_with("password:") && !lower.contains("new") {
                return Ok(Seen::Password);
            }
            if is_shell_prompt(&line) {
                return Ok(Seen::Shell);
            }
            // Something prompt-like that has stopped moving for a while is a question we do
            // not understand (password expiry, a boot menu, a pager).
            let looks_like_prompt =
                line.ends_with(": ") || line.ends_with("? ") || lower.contains("new password");
            if looks_like_prompt {
                return Ok(Seen::Other(line));
            }
            if Instant::now() > deadline {
                return Err(ConsoleError::Timeout {
                    waiting_for: waiting_for.into(),
                    after: self.timeout,
                    last: self.tail(),
                });
            }
        }
    }

    /// Logs in (or notices a shell is already open).
    pub fn login(&mut self, user: &str, password: &str) -> Result<(), ConsoleError> {
        (self.log)("waiting for the login prompt");
        // A carriage return makes getty print its prompt again if it already did.
        self.send("\r", "waking the console")?;
        let mut sent_user = false;
        let mut sent_password = false;
        loop {
            let waiting = if !sent_user {
                "the login prompt"
            } else if !sent_password {
                "the password prompt"
            } else {
                "the shell prompt"
            };
            match self.wait_prompt(waiting)? {
                Seen::Shell => {
                    (self.log)("logged in");
                    self.buf.clear();
                    return Ok(());
                }
                Seen::Login if !sent_user => {
                    (self.log)(&format!("login prompt seen; logging in as {user}"));
                    self.buf.clear();
                    self.send(&format!("{user}\r"), "sending the user name")?;
                    sent_user = true;
                }
                Seen::Password if sent_user && !sent_password => {
                    self.buf.clear();
                    self.send(&format!("{password}\r"), "sending the password")?;
                    sent_password = true;
                }
                Seen::Refused(detail) => {
                    return Err(ConsoleError::LoginRefused {
                        user: user.into(),
                        detail: detail.trim().to_string(),
                    })
                }
                Seen::Login => {
                    return Err(ConsoleError::LoginRefused {
                        user: user.into(),
                        detail: "the login prompt came back".into(),
                    })
                }
                Seen::Password => {
                    return Err(ConsoleError::UnexpectedPrompt {
                        during: "logging in".into(),
                        prompt: self.last_line().to_string(),
                    })
                }
                Seen::Other(prompt) => {
                    return Err(ConsoleError::UnexpectedPrompt {
                        during: "logging in".into(),
                        prompt,
                    })
                }
            }
        }
    }

    /// Runs one command through `sh -c` and returns its output lines (without the echo).
    pub fn run(&mut self, step: &str, command: &str) -> Result<Vec<String>, ConsoleError> {
        (self.log)(&format!("==> {step}"));
        self.buf.clear();
        let line = format!("sh -c {}; echo {MARK}$?\r", sh_quote(command));
        self.send(&line, step)?;
        let deadline = Instant::now() + self.timeout;
        loop {
            self.pump(step)?;
            // The echoed command shows `__CPE_RC=$?`; only the printed status has digits.
            let lines: Vec<&str> = self.buf.lines().collect();
            // The echoed command shows `__CPE_RC=$?`; only the printed status has digits.
            let status_at = lines.iter().enumerate().find_map(|(i, l)| {
                l.trim()
                    .strip_prefix(MARK)
                    .and_then(|s| s.trim().parse::<i32>().ok())
                    .map(|s| (i, s))
            });
            if let Some((end, status)) = status_at {
                // The echo may wrap over several lines; output starts after its last one.
                let echo = format!("{MARK}$?");
                let start = lines[..end]
                    .iter()
                    .position(|l| l.contains(&echo))
                    .map_or(0, |i| i + 1);
                let output: Vec<String> = lines[start..end]
                    .iter()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| (*l).to_string())
                    .collect();
                for l in &output {
                    (self.log)(&format!("    {l}"));
                }
                if status != 0 {
                    return Err(ConsoleError::CommandFailed {
                        step: step.into(),
                        status,
                        output: output.join("\n"),
                    });
                }
                return Ok(output);
            }
            if Instant::now() > deadline {
                return Err(ConsoleError::Timeout {
                    waiting_for: format!("`{step}` to finish"),
                    after: self.timeout,
                    last: self.tail(),
                });
            }
        }
    }
}

fn is_shell_prompt(line: &str) -> bool {
    let t = line.trim_end();
    line.ends_with(' ') && (t.ends_with('#') || t.ends_with('$') || t.ends_with('%'))
}

/// Runs the whole first boot on `port`, stopping between two reads once `stop` is set.
pub fn first_boot<P: Read + Write>(
    port: &mut P,
    cfg: &FirstBoot,
    log: &mut dyn FnMut(&str),
    stop: &Interrupt,
) -> Result<FirstBootReport, ConsoleError> {
    let mut console = Console::new(port, cfg.timeout, log, stop);
    console.login(&cfg.login_user, &cfg.login_password)?;
    let mut report = FirstBootReport {
        hostname: cfg.hostname.clone(),
        address: format!("{}/{}", cfg.address, cfg.prefix),
        host_key_fingerprints: Vec::new(),
    };
    for c in commands(cfg) {
        let out = console.run(&c.step, &c.command)?;
        if c.step.contains("fingerprint") {
            report.host_key_fingerprints = out
                .into_iter()
                .filter(|l| l.contains("SHA256:"))
                .map(|l| l.trim().to_string())
                .collect();
        }
    }
    console.send("exit\r", "logging out")?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(os: OsProfile) -> FirstBoot {
        FirstBoot {
            os,
            login_user: "root".into(),
            login_password: "root".into(),
            hostname: "server".into(),
            interface: "ue0".into(),
            address: Ipv4Addr::new(10, 0, 0, 4),
            prefix: 24,
            gateway: None,
            ssh_user: "freebsd".into(),
            public_key: "ssh-ed25519 AAAAC3 controller".into(),
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn freebsd_commands_use_sysrc_and_quote_the_key() {
        let cmds = commands(&cfg(OsProfile::Freebsd));
        let all: Vec<&str> = cmds.iter().map(|c| c.command.as_str()).collect();
        assert!(all[0].starts_with("sysrc hostname=server"));
        assert!(all[1].contains("ifconfig_ue0=\"inet 10.0.0.4/24\""));
        assert!(all.iter().any(|c| c.contains("sshd_enable=YES")));
        assert!(all
            .iter()
            .any(|c| c.contains("'ssh-ed25519 AAAAC3 controller'")));
        assert_eq!(
            cmds.last().map(|c| c.step.as_str()),
            Some("read the host key fingerprints")
        );
    }

    #[test]
    fn debian_commands_use_networkmanager_and_systemd() {
        let mut c = cfg(OsProfile::Debian);
        c.interface = "eth0".into();
        c.gateway = Some(Ipv4Addr::new(10, 0, 0, 1));
        let all: Vec<String> = commands(&c).into_iter().map(|c| c.command).collect();
        assert!(all[0].contains("/etc/hostname"));
        assert!(all[1].contains("ifname eth0"));
        assert!(all[1].contains("ipv4.addresses 10.0.0.4/24 ipv4.gateway 10.0.0.1"));
        assert!(all.iter().any(|c| c == "systemctl enable --now ssh"));
    }

    #[test]
    fn shell_prompts_are_recognised() {
        assert!(is_shell_prompt("root@generic:~ # "));
        assert!(is_shell_prompt("freebsd@generic:~ $ "));
        assert!(!is_shell_prompt("login: "));
        assert!(!is_shell_prompt("root@generic:~ #"));
    }
}
