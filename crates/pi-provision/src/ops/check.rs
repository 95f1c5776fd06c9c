//! `check`: connects to every host (verifying its key) and reports its OS and interpreters.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{for_hosts, probe, remote_command, Env, HostResults, Log, OpError};

/// `check`: what one host looks like.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// Host name.
    pub host: String,
    /// `address:port`.
    pub address: String,
    /// `uname -srm` output.
    pub os: String,
    /// Version label → `python --version` output, or null when the command is missing.
    pub interpreters: BTreeMap<String, Option<String>>,
}

/// `check`: connects to every host (verifying its key), reports OS and interpreters.
pub fn check(env: &Env, log: &Log) -> HostResults<CheckReport> {
    let hosts = env.hosts(None);
    for_hosts(&hosts, |host| {
        let mut t = env.connect(host)?;
        log.line(&host.name, "reachable, host key verified, authenticated");
        let (_, os) = probe(&mut t, "uname -srm")?;
        let os = os.join(" ");
        log.line(&host.name, &format!("os: {os}"));
        // The profile decides which scripts run: a mismatch would fail later and obscurely.
        let kernel = match host.os {
            crate::inventory::OsProfile::Freebsd => "FreeBSD",
            crate::inventory::OsProfile::Debian => "Linux",
        };
        if !os.starts_with(kernel) {
            return Err(OpError::Other(format!(
                "the host runs {os}, but the inventory says os = \"{}\" (expects {kernel}): fix `os` for host {}",
                host.os.as_str(),
                host.name
            )));
        }
        let mut interpreters = BTreeMap::new();
        for i in &env.inventory.interpreters {
            // No `2>&1`: the login shell may be csh, and the transport merges stderr anyway
            // (Python 2 printed its version on stderr).
            let cmd = format!("{} --version", remote_command(&i.command));
            let (status, out) = probe(&mut t, &cmd)?;
            let v = (status == 0).then(|| out.join(" ").trim().to_string());
            log.line(
                &host.name,
                &format!(
                    "interpreter {}: {}",
                    i.version,
                    v.as_deref().unwrap_or("missing")
                ),
            );
            interpreters.insert(i.version.clone(), v);
        }
        Ok(CheckReport {
            host: host.name.clone(),
            address: format!("{}:{}", host.address, host.ssh_port),
            os,
            interpreters,
        })
    })
}
