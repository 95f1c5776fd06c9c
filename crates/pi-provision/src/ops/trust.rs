//! `trust`: records a host's key in known_hosts, only when its fingerprint is the one given
//! (read from the host's own console), so that no key is ever accepted blind.

use std::fs;
use std::io::Write;
use std::time::Duration;

use super::{Env, Log, OpError};
use crate::inventory::Host;
use crate::ssh;

/// `trust`: records a host's key in known_hosts, only if its fingerprint is the one given
/// (read from the host's console), so a key is never accepted blind.
pub fn trust(env: &Env, host: &Host, expected: &str, log: &Log) -> Result<String, OpError> {
    let timeout = Duration::from_secs(u64::from(env.inventory.connect_timeout_s));
    let key = ssh::fetch_host_key(&host.address, host.ssh_port, timeout)?;
    if key.fingerprint != expected {
        return Err(OpError::Other(format!(
            "host {} ({}:{}) offers {} key {}, not the {} you gave; not trusting it",
            host.name, host.address, host.ssh_port, key.kind, key.fingerprint, expected
        )));
    }
    let line = key.known_hosts_line(&host.address, host.ssh_port);
    let path = &env.inventory.known_hosts;
    let existing = fs::read_to_string(path).unwrap_or_default();
    if existing.lines().any(|l| l.trim() == line) {
        log.line(
            &host.name,
            &format!("key {} already in {}", key.fingerprint, path.display()),
        );
        return Ok(line);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|source| OpError::Local {
            path: dir.into(),
            source,
        })?;
    }
    let mut f = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| OpError::Local {
            path: path.clone(),
            source,
        })?;
    let sep = if existing.is_empty() || existing.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    writeln!(f, "{sep}{line}").map_err(|source| OpError::Local {
        path: path.clone(),
        source,
    })?;
    log.line(
        &host.name,
        &format!(
            "added {} key {} to {}",
            key.kind,
            key.fingerprint,
            path.display()
        ),
    );
    Ok(line)
}
