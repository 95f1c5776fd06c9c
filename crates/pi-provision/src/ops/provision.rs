//! `provision`: uploads `shell/` and runs the OS profile's root part (through su, sudo or
//! doas), then its user part.

use super::upload::upload_scripts;
use super::{for_hosts, step, Env, HostResults, Log, OpError};
use crate::inventory::{Become, Host, Install, Interpreter, Role};
use crate::ssh::{sh_quote, SshError, Transport};

fn interpreters_arg(interps: &[Interpreter]) -> String {
    let install = |i: Install| match i {
        Install::Pkg => "pkg",
        Install::Pyenv => "pyenv",
        Install::Apt => "apt",
        Install::System => "system",
    };
    interps
        .iter()
        .map(|i| {
            format!(
                "{}:{}:{}:{}",
                i.version,
                install(i.install),
                if i.package.is_empty() {
                    "-"
                } else {
                    &i.package
                },
                i.command
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn become_wrap(host: &Host, cmd: &str) -> String {
    match host.become_ {
        Become::None => cmd.to_string(),
        Become::Su => format!("su -l root -c {}", sh_quote(cmd)),
        Become::Sudo => format!("sudo -n sh -c {}", sh_quote(cmd)),
        Become::Doas => format!("doas -n sh -c {}", sh_quote(cmd)),
    }
}

fn script_env(env: &Env, host: &Host) -> String {
    format!(
        "env CPE_BASE={} CPE_ROLE={} CPE_USER={} CPE_INTERPRETERS={}",
        sh_quote(&host.base),
        host.role.as_str(),
        sh_quote(&host.user),
        sh_quote(&interpreters_arg(&env.inventory.interpreters)),
    )
}

/// `provision`: uploads the scripts and runs the root part, then the user part.
pub fn provision(env: &Env, role: Option<Role>, log: &Log) -> HostResults<()> {
    let hosts = env.hosts(role);
    for_hosts(&hosts, |host| {
        let mut t = env.connect(host)?;
        if host.become_ == Become::Su && env.root_password.is_none() {
            return Err(OpError::Other(format!(
                "host {} becomes root with su: set PI_PROVISION_ROOT_PASSWORD or run from a terminal to be asked",
                host.name
            )));
        }
        // The scripts directory must exist before root can run anything from it.
        t.mkdir_p(&host.base).map_err(|e| match e {
            SshError::Session { op, source } => OpError::Other(format!(
                "{op}: {source} (create {} on the host, or set `base` in the inventory to a directory {} may write)",
                host.base, host.user
            )),
            other => other.into(),
        })?;
        upload_scripts(env, &mut t, log, host)?;
        let profile = host.os.as_str();
        let vars = script_env(env, host);
        let root_cmd = become_wrap(
            host,
            &format!("{vars} sh {}/shell/{profile}/root.sh", sh_quote(&host.base)),
        );
        step(
            env,
            &mut t,
            log,
            host,
            &format!("root part (shell/{profile}/root.sh)"),
            &root_cmd,
            env.root_password
                .as_deref()
                .filter(|_| host.become_ == Become::Su),
        )?;
        let user_cmd = format!("{vars} sh {}/shell/{profile}/user.sh", sh_quote(&host.base));
        step(
            env,
            &mut t,
            log,
            host,
            &format!("user part (shell/{profile}/user.sh)"),
            &user_cmd,
            None,
        )?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn become_wraps_the_whole_command() {
        let mut h = Host {
            name: "s".into(),
            address: "10.0.0.4".into(),
            ssh_port: 22,
            user: "freebsd".into(),
            role: Role::Server,
            os: crate::inventory::OsProfile::Freebsd,
            become_: Become::Su,
            base: "/b".into(),
            line: 1,
        };
        assert_eq!(
            become_wrap(&h, "env A=1 sh x"),
            "su -l root -c 'env A=1 sh x'"
        );
        h.become_ = Become::Sudo;
        assert_eq!(become_wrap(&h, "sh x"), "sudo -n sh -c 'sh x'");
        h.become_ = Become::None;
        assert_eq!(become_wrap(&h, "sh x"), "sh x");
    }
}
