//! `clients start|stop`: the load agent (`[clients] agent` with its `agent_args`) on every
//! client host, through `shell/daemon.sh`.

use super::{daemon_cmd, for_hosts, home_of, step, Env, HostResults, Log, OpError};
use crate::inventory::{Host, Role};
use crate::ssh::Transport;

/// `clients start|stop`: the load agent on every client host.
pub fn clients(env: &Env, start: bool, log: &Log) -> HostResults<()> {
    let hosts = env.hosts(Some(Role::Client));
    let c = &env.inventory.clients;
    for_hosts(&hosts, |host| {
        let mut t = env.connect(host)?;
        let agent = agent_path(env, &mut t, host)?;
        if start {
            let mut args = vec![
                "start".into(),
                "agent".into(),
                agent.clone(),
                "--".into(),
                agent,
            ];
            args.extend(c.agent_args.iter().map(|a| expand_agent_arg(env, host, a)));
            step(
                env,
                &mut t,
                log,
                host,
                "start the load agent",
                &daemon_cmd(host, &args),
                None,
            )?;
        } else {
            step(
                env,
                &mut t,
                log,
                host,
                "stop the load agent",
                &daemon_cmd(host, &["stop".into(), "agent".into()]),
                None,
            )?;
        }
        Ok(())
    })
}

/// Where the `[clients] agent` program is on `host`: absolute, under the user's home (`~/`)
/// or under the host's base.
pub(super) fn agent_path(env: &Env, t: &mut dyn Transport, host: &Host) -> Result<String, OpError> {
    let agent = &env.inventory.clients.agent;
    Ok(if agent.starts_with('/') {
        agent.clone()
    } else if let Some(rest) = agent.strip_prefix("~/") {
        format!("{}/{rest}", home_of(t)?)
    } else {
        format!("{}/{}", host.base, agent)
    })
}

/// Fills `{server}` (the server's address), `{port}` (MiniTwit's port), `{base}` and `{host}`
/// (this client's base directory and name) into an agent argument.
fn expand_agent_arg(env: &Env, host: &Host, arg: &str) -> String {
    let server = env.inventory.server().map_or("", |s| s.address.as_str());
    arg.replace("{server}", server)
        .replace("{port}", &env.inventory.minitwit.port.to_string())
        .replace("{base}", &host.base)
        .replace("{host}", &host.name)
}
