//! The passwords `pi-provision` may need, and where they come from: the root password for
//! `become = "su"` hosts (environment or a prompt on the terminal, echo off) and the default
//! console login of the FreeBSD images. Never logged, never stored.

use std::io::{BufRead, Write};

use anyhow::{Context, Result};

use crate::inventory::{Become, Inventory, OsProfile};

/// The root password when `needed` and some host becomes root with su: from
/// `PI_PROVISION_ROOT_PASSWORD`, else asked on the terminal; `None` without a terminal.
pub fn root_password(inv: &Inventory, needed: bool) -> Result<Option<String>> {
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

/// The console password: `PI_PROVISION_CONSOLE_PASSWORD`, else the image's well-known default.
pub fn console_password(os: OsProfile, user: &str) -> Result<String> {
    match std::env::var("PI_PROVISION_CONSOLE_PASSWORD") {
        Ok(p) => Ok(p),
        Err(_) => default_password(os, user).with_context(|| {
            format!("no default password for {user} on {os:?}: set PI_PROVISION_CONSOLE_PASSWORD")
        }),
    }
}

fn default_password(os: OsProfile, user: &str) -> Option<String> {
    // The FreeBSD Raspberry Pi images ship these well-known accounts (see the image's notes).
    match (os, user) {
        (OsProfile::Freebsd, "root") => Some("root".into()),
        (OsProfile::Freebsd, "freebsd") => Some("freebsd".into()),
        _ => None,
    }
}
