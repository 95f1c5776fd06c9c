//! The SSH side: a small [`Transport`] trait (run a command, upload a file) and its libssh2
//! implementation that refuses to talk to a host whose key is not in the known_hosts file.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use procs::Interrupt;
use ssh2::{CheckResult, ExtendedData, HashType, HostKeyType, KnownHostFileKind, Session};

/// What went wrong talking to a host. The host's name is added by the caller.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// No TCP connection.
    #[error("cannot connect to {addr}: {source} (is the host up and sshd running?)")]
    Connect {
        /// `address:port`.
        addr: String,
        /// The socket error.
        source: io::Error,
    },
    /// The SSH handshake failed.
    #[error("SSH handshake with {addr} failed: {source}")]
    Handshake {
        /// `address:port`.
        addr: String,
        /// The libssh2 error.
        source: ssh2::Error,
    },
    /// The host key is not in the known_hosts file.
    #[error(
        "host key of {addr} is not in {known_hosts}: {kind} key {fingerprint}. Refusing to connect. \
         If this is the host's key (compare with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` \
         on its console; `pi-provision console` prints it), accept it with \
         `pi-provision trust --host NAME --fingerprint {fingerprint}`"
    )]
    UnknownHostKey {
        /// `address:port`.
        addr: String,
        /// The known_hosts file.
        known_hosts: PathBuf,
        /// Key type.
        kind: &'static str,
        /// `SHA256:…` fingerprint of the key offered.
        fingerprint: String,
    },
    /// The host key differs from the one recorded.
    #[error(
        "HOST KEY OF {addr} HAS CHANGED: it now offers {kind} key {fingerprint}, which does not \
         match the key recorded in {known_hosts}. Someone may be intercepting the connection, or \
         the host was reinstalled. Refusing to connect. If the host was reinstalled, remove its \
         old line from {known_hosts} (`ssh-keygen -R '{known_hosts_name}' -f {known_hosts}`) and \
         trust the new key"
    )]
    ChangedHostKey {
        /// `address:port`.
        addr: String,
        /// Name as written in known_hosts (`[addr]:port` for ports other than 22).
        known_hosts_name: String,
        /// The known_hosts file.
        known_hosts: PathBuf,
        /// Key type.
        kind: &'static str,
        /// `SHA256:…` fingerprint of the key offered.
        fingerprint: String,
    },
    /// The known_hosts file could not be read.
    #[error("cannot read known_hosts file {path}: {source} (set [testbed] known_hosts in the inventory)")]
    KnownHosts {
        /// The file.
        path: PathBuf,
        /// The libssh2 error.
        source: ssh2::Error,
    },
    /// Public key authentication was refused.
    #[error("authentication as {user}@{addr} failed with {method}: {detail} (is the controller's public key in ~{user}/.ssh/authorized_keys?)")]
    Auth {
        /// User.
        user: String,
        /// `address:port`.
        addr: String,
        /// `key file …` or `the SSH agent`.
        method: String,
        /// libssh2's reason.
        detail: String,
    },
    /// A step of a session failed.
    #[error("{op}: {source}")]
    Session {
        /// What was being done.
        op: String,
        /// The libssh2 error.
        source: ssh2::Error,
    },
    /// Ctrl-C while a command ran: its output is no longer awaited.
    #[error("interrupted while waiting for the step's output (it goes on on the host; rerunning is safe)")]
    Interrupted,
    /// Reading or writing a stream failed (a full disk on upload shows up here).
    #[error("{op}: {source}")]
    Io {
        /// What was being done.
        op: String,
        /// The I/O error.
        source: io::Error,
    },
}

/// Options for [`Transport::run`].
#[derive(Default)]
pub struct RunOpts<'a> {
    /// Answer a `Password:` prompt with this secret (implies a pty). Never logged.
    pub password: Option<&'a str>,
    /// Stop waiting for the command once this flag is set (Ctrl-C); the command itself goes on
    /// on the host. Looked at after each chunk of output and each keepalive interval.
    pub stop: Option<&'a Interrupt>,
}

/// A connection to one host that can run commands and receive files.
pub trait Transport {
    /// Runs `cmd` with the remote user's shell; stdout and stderr merged, handed over line by
    /// line as they arrive. Returns the exit status.
    fn run(
        &mut self,
        cmd: &str,
        opts: &RunOpts<'_>,
        line: &mut dyn FnMut(&str),
    ) -> Result<i32, SshError>;

    /// Writes `data` to the file `remote` (created or truncated) with permissions `mode`.
    /// Written under a temporary name and renamed, so a failed upload leaves no complete-looking
    /// file.
    fn put(&mut self, remote: &str, data: &mut dyn Read, mode: i32) -> Result<u64, SshError>;

    /// Creates the directory `remote` and its parents.
    fn mkdir_p(&mut self, remote: &str) -> Result<(), SshError>;

    /// The size of the remote file, or `None` when it does not exist.
    fn size(&mut self, remote: &str) -> Option<u64>;
}

/// How to connect and authenticate.
#[derive(Debug, Clone)]
pub struct SshConfig {
    /// The known_hosts file host keys are checked against.
    pub known_hosts: PathBuf,
    /// Private key file; `None` means the SSH agent.
    pub identity: Option<PathBuf>,
    /// Connect and handshake timeout.
    pub connect_timeout: Duration,
    /// Seconds of silence after which a keepalive probes the peer.
    pub keepalive_s: u32,
}

/// An authenticated SSH session to one host.
pub struct SshTransport {
    session: Session,
    label: String,
    /// One SFTP channel for the whole connection: opening one per file runs into sshd's
    /// MaxSessions (10) when closed channels are not reaped fast enough.
    sftp: Option<ssh2::Sftp>,
}

/// A host key as offered by the server.
#[derive(Debug, Clone)]
pub struct HostKey {
    /// Key type as OpenSSH names it (`ssh-ed25519`).
    pub kind: &'static str,
    /// The raw key blob.
    pub blob: Vec<u8>,
    /// `SHA256:…` as `ssh-keygen -l` prints it.
    pub fingerprint: String,
}

impl HostKey {
    /// The line to append to a known_hosts file for `addr:port`.
    pub fn known_hosts_line(&self, addr: &str, port: u16) -> String {
        format!(
            "{} {} {}",
            known_hosts_name(addr, port),
            self.kind,
            base64(&self.blob)
        )
    }
}

/// The name a host has in known_hosts: `addr` on port 22, `[addr]:port` otherwise.
pub fn known_hosts_name(addr: &str, port: u16) -> String {
    if port == 22 {
        addr.to_string()
    } else {
        format!("[{addr}]:{port}")
    }
}

fn key_kind(t: HostKeyType) -> &'static str {
    match t {
        HostKeyType::Rsa => "ssh-rsa",
        HostKeyType::Dss => "ssh-dss",
        HostKeyType::Ecdsa256 => "ecdsa-sha2-nistp256",
        HostKeyType::Ecdsa384 => "ecdsa-sha2-nistp384",
        HostKeyType::Ecdsa521 => "ecdsa-sha2-nistp521",
        HostKeyType::Ed25519 => "ssh-ed25519",
        HostKeyType::Unknown => "unknown",
    }
}

/// Opens a TCP connection and does the SSH handshake, without checking anything yet.
fn handshake(addr: &str, port: u16, timeout: Duration) -> Result<Session, SshError> {
    let label = format!("{addr}:{port}");
    let sockaddrs: Vec<_> = (addr, port)
        .to_socket_addrs()
        .map_err(|source| SshError::Connect {
            addr: label.clone(),
            source,
        })?
        .collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
    let mut tcp = None;
    for sa in sockaddrs {
        match TcpStream::connect_timeout(&sa, timeout) {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = e,
        }
    }
    let tcp = tcp.ok_or(SshError::Connect {
        addr: label.clone(),
        source: last,
    })?;
    let mut session = Session::new().map_err(|source| SshError::Handshake {
        addr: label.clone(),
        source,
    })?;
    session.set_tcp_stream(tcp);
    session.set_timeout(u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX));
    session.handshake().map_err(|source| SshError::Handshake {
        addr: label,
        source,
    })?;
    Ok(session)
}

fn offered_key(session: &Session) -> Option<HostKey> {
    let (blob, kind) = session.host_key()?;
    let hash = session.host_key_hash(HashType::Sha256)?;
    Some(HostKey {
        kind: key_kind(kind),
        blob: blob.to_vec(),
        fingerprint: fingerprint(hash),
    })
}

/// `SHA256:` and the unpadded base64 of a SHA-256 digest, as OpenSSH prints fingerprints.
pub fn fingerprint(sha256: &[u8]) -> String {
    format!("SHA256:{}", base64(sha256).trim_end_matches('='))
}

/// Connects and returns the host key offered, without authenticating (for `trust`).
pub fn fetch_host_key(addr: &str, port: u16, timeout: Duration) -> Result<HostKey, SshError> {
    let session = handshake(addr, port, timeout)?;
    offered_key(&session).ok_or_else(|| SshError::Session {
        op: format!("reading the host key of {addr}:{port}"),
        source: ssh2::Error::unknown(),
    })
}

impl SshTransport {
    /// Connects to `user@addr:port`, verifies the host key against the known_hosts file and
    /// authenticates with the key file or the agent.
    pub fn connect(addr: &str, port: u16, user: &str, cfg: &SshConfig) -> Result<Self, SshError> {
        let label = format!("{addr}:{port}");
        let session = handshake(addr, port, cfg.connect_timeout)?;
        verify_host_key(&session, addr, port, &cfg.known_hosts)?;
        let (method, result) = match &cfg.identity {
            Some(key) => (
                format!("key file {}", key.display()),
                session.userauth_pubkey_file(user, None, key, None),
            ),
            None => ("the SSH agent".to_string(), session.userauth_agent(user)),
        };
        if let Err(e) = result {
            return Err(SshError::Auth {
                user: user.into(),
                addr: label,
                method,
                detail: e.message().to_string(),
            });
        }
        if !session.authenticated() {
            return Err(SshError::Auth {
                user: user.into(),
                addr: label,
                method,
                detail: "not authenticated".into(),
            });
        }
        // Long steps (package installs, pip) may print nothing for minutes.
        session.set_timeout(0);
        session.set_keepalive(true, cfg.keepalive_s);
        Ok(Self {
            session,
            label,
            sftp: None,
        })
    }

    fn sftp(&mut self) -> Result<&ssh2::Sftp, SshError> {
        if self.sftp.is_none() {
            let sftp = op(&self.label, "starting SFTP", self.session.sftp())?;
            self.sftp = Some(sftp);
        }
        self.sftp.as_ref().ok_or_else(|| SshError::Session {
            op: format!("starting SFTP on {}", self.label),
            source: ssh2::Error::unknown(),
        })
    }

    fn op<T>(&self, what: &str, r: Result<T, ssh2::Error>) -> Result<T, SshError> {
        op(&self.label, what, r)
    }
}

fn op<T>(label: &str, what: &str, r: Result<T, ssh2::Error>) -> Result<T, SshError> {
    r.map_err(|source| SshError::Session {
        op: format!("{what} on {label}"),
        source,
    })
}

fn verify_host_key(
    session: &Session,
    addr: &str,
    port: u16,
    known_hosts: &Path,
) -> Result<(), SshError> {
    let key = offered_key(session).ok_or_else(|| SshError::Session {
        op: format!("reading the host key of {addr}:{port}"),
        source: ssh2::Error::unknown(),
    })?;
    let mut kh = session
        .known_hosts()
        .map_err(|source| SshError::KnownHosts {
            path: known_hosts.into(),
            source,
        })?;
    if known_hosts.exists() {
        kh.read_file(known_hosts, KnownHostFileKind::OpenSSH)
            .map_err(|source| SshError::KnownHosts {
                path: known_hosts.into(),
                source,
            })?;
    }
    match kh.check_port(addr, port, &key.blob) {
        CheckResult::Match => Ok(()),
        CheckResult::Mismatch => Err(SshError::ChangedHostKey {
            addr: format!("{addr}:{port}"),
            known_hosts_name: known_hosts_name(addr, port),
            known_hosts: known_hosts.into(),
            kind: key.kind,
            fingerprint: key.fingerprint,
        }),
        CheckResult::NotFound | CheckResult::Failure => Err(SshError::UnknownHostKey {
            addr: format!("{addr}:{port}"),
            known_hosts: known_hosts.into(),
            kind: key.kind,
            fingerprint: key.fingerprint,
        }),
    }
}

impl Transport for SshTransport {
    fn size(&mut self, remote: &str) -> Option<u64> {
        let sftp = self.sftp().ok()?;
        sftp.stat(Path::new(remote)).ok().and_then(|st| st.size)
    }

    fn run(
        &mut self,
        cmd: &str,
        opts: &RunOpts<'_>,
        line: &mut dyn FnMut(&str),
    ) -> Result<i32, SshError> {
        let mut ch = self.op("opening a channel", self.session.channel_session())?;
        self.op(
            "merging stderr",
            ch.handle_extended_data(ExtendedData::Merge),
        )?;
        if opts.password.is_some() {
            self.op(
                "requesting a terminal",
                ch.request_pty("dumb", None, Some((200, 50, 0, 0))),
            )?;
        }
        self.op("starting the command", ch.exec(cmd))?;
        let mut pending = Vec::new();
        let mut answered = opts.password.is_none();
        let mut buf = [0u8; 8192];
        loop {
            if opts.stop.is_some_and(Interrupt::is_set) {
                return Err(SshError::Interrupted);
            }
            let n = match ch.read(&mut buf) {
                Ok(n) => n,
                // With keepalive on, libssh2 gives up waiting after one interval of silence
                // (pip, pyenv builds are quiet for minutes): probe the peer and keep waiting.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                    ) =>
                {
                    self.session
                        .keepalive_send()
                        .map_err(|source| SshError::Session {
                            op: format!("keepalive while waiting for output from {}", self.label),
                            source,
                        })?;
                    continue;
                }
                Err(source) => {
                    return Err(SshError::Io {
                        op: format!("reading output from {}", self.label),
                        source,
                    })
                }
            };
            if n == 0 {
                break;
            }
            pending.extend_from_slice(&buf[..n]);
            while let Some(pos) = pending.iter().position(|&b| b == b'\n') {
                let raw: Vec<u8> = pending.drain(..=pos).collect();
                let text = String::from_utf8_lossy(&raw);
                line(&redact(text.trim_end_matches(['\n', '\r']), opts.password));
            }
            if !answered {
                let tail = String::from_utf8_lossy(&pending).to_ascii_lowercase();
                if tail.trim_end().ends_with("password:") {
                    pending.clear();
                    if let Some(pw) = opts.password {
                        ch.write_all(format!("{pw}\n").as_bytes())
                            .and_then(|()| ch.flush())
                            .map_err(|source| SshError::Io {
                                op: format!("answering the password prompt on {}", self.label),
                                source,
                            })?;
                    }
                    answered = true;
                }
            }
        }
        if !pending.is_empty() {
            let text = String::from_utf8_lossy(&pending);
            line(&redact(text.trim_end_matches(['\n', '\r']), opts.password));
        }
        self.op("closing the channel", ch.wait_close())?;
        self.op("reading the exit status", ch.exit_status())
    }

    fn put(&mut self, remote: &str, data: &mut dyn Read, mode: i32) -> Result<u64, SshError> {
        let label = self.label.clone();
        let sftp = self.sftp()?;
        let tmp = format!("{remote}.partial");
        let mut file = op(
            &label,
            &format!("creating {tmp}"),
            sftp.open_mode(
                Path::new(&tmp),
                ssh2::OpenFlags::WRITE | ssh2::OpenFlags::CREATE | ssh2::OpenFlags::TRUNCATE,
                mode,
                ssh2::OpenType::File,
            ),
        )?;
        let copied = io::copy(data, &mut file)
            .and_then(|n| file.flush().map(|()| n))
            .map_err(|source| SshError::Io {
                op: format!("writing {remote} on {label}"),
                source,
            });
        let n = match copied {
            Ok(n) => n,
            Err(e) => {
                drop(file);
                let _ = sftp.unlink(Path::new(&tmp));
                return Err(e);
            }
        };
        let closed = file.close();
        drop(file);
        if let Err(source) = closed {
            let _ = sftp.unlink(Path::new(&tmp));
            return Err(SshError::Session {
                op: format!("closing {remote} on {label}"),
                source,
            });
        }
        // SFTP v3 (OpenSSH) refuses to rename onto an existing file, whatever the flags say:
        // remove the old file, then rename the complete new one into place.
        if sftp
            .rename(Path::new(&tmp), Path::new(remote), None)
            .is_err()
        {
            let _ = sftp.unlink(Path::new(remote));
            op(
                &label,
                &format!("renaming {tmp} to {remote}"),
                sftp.rename(Path::new(&tmp), Path::new(remote), None),
            )?;
        }
        Ok(n)
    }

    fn mkdir_p(&mut self, remote: &str) -> Result<(), SshError> {
        let label = self.label.clone();
        let sftp = self.sftp()?;
        let mut path = PathBuf::new();
        for part in Path::new(remote).components() {
            path.push(part);
            if sftp.stat(&path).is_ok() {
                continue;
            }
            op(
                &label,
                &format!("creating directory {}", path.display()),
                sftp.mkdir(&path, 0o755),
            )?;
        }
        Ok(())
    }
}

/// Masks a secret in a line of remote output: a terminal that still echoes (or a program that
/// prints what it read) must not put the password into the log.
fn redact(line: &str, secret: Option<&str>) -> String {
    match secret {
        Some(s) if !s.is_empty() => line.replace(s, "********"),
        _ => line.to_string(),
    }
}

/// Standard base64 with padding (RFC 4648), for key blobs and fingerprints.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Quotes `s` for a POSIX shell: single quotes, with embedded single quotes spliced in.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn fingerprints_drop_padding_like_openssh() {
        assert_eq!(
            fingerprint(&[0u8; 32]),
            format!("SHA256:{}", "A".repeat(43))
        );
    }

    #[test]
    fn secrets_are_masked_in_output() {
        assert_eq!(redact("pw is hunter2.", Some("hunter2")), "pw is ********.");
        assert_eq!(redact("nothing", Some("")), "nothing");
        assert_eq!(redact("nothing", None), "nothing");
    }

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(known_hosts_name("10.0.0.4", 22), "10.0.0.4");
        assert_eq!(known_hosts_name("10.0.0.4", 2222), "[10.0.0.4]:2222");
    }
}
