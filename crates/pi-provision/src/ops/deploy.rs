//! `deploy`: MiniTwit (with its gunicorn configuration), the seed SQL and the wheelhouse to
//! the server, one venv per interpreter installed offline; the load agent to the clients.

use std::path::Path;

use super::clients::agent_path;
use super::upload::{upload_file, upload_scripts, upload_tree};
use super::{for_hosts, probe, remote_command, step, Env, HostResults, Log, OpError};
use crate::inventory::Role;
use crate::ssh::{sh_quote, Transport};

/// `deploy`: MiniTwit, the seed SQL and the wheelhouse to the server, then one venv per
/// interpreter installed offline from the wheelhouse; with `agent`, that local program (a
/// `minitwit-load` built for the clients) to the `[clients] agent` path of every client.
pub fn deploy(env: &Env, agent: Option<&Path>, log: &Log) -> HostResults<()> {
    let server = match env.server() {
        Ok(s) => s,
        Err(e) => return vec![("server".into(), Err(e))],
    };
    let mut hosts = vec![server];
    if let Some(agent) = agent {
        if !agent.is_file() {
            return vec![(
                "clients".into(),
                Err(OpError::Other(format!(
                    "agent program {} does not exist on the controller",
                    agent.display()
                ))),
            )];
        }
        hosts.extend(env.hosts(Some(Role::Client)));
    }
    let mt = &env.inventory.minitwit;
    for_hosts(&hosts, |host| {
        if host.role == Role::Client {
            let Some(agent) = agent else {
                return Ok(());
            };
            let mut t = env.connect(host)?;
            let dest = agent_path(env, &mut t, host)?;
            log.line(&host.name, &format!("==> upload the load agent to {dest}"));
            if let Some((dir, _)) = dest.rsplit_once('/') {
                t.mkdir_p(dir)?;
            }
            upload_file(&mut t, agent, &dest)?;
            let (status, _) = probe(&mut t, &format!("test -x {}", sh_quote(&dest)))?;
            if status != 0 {
                return Err(OpError::Other(format!(
                    "{dest} on {} is not executable",
                    host.name
                )));
            }
            log.line(&host.name, "uploaded");
            return Ok(());
        }
        for (what, path) in [
            ("MiniTwit source", &mt.source),
            ("wheelhouse", &mt.wheelhouse),
        ] {
            if !path.is_dir() {
                return Err(OpError::Other(format!(
                    "{what} directory {} does not exist on the controller{}",
                    path.display(),
                    if what == "wheelhouse" {
                        " (build it with `pi-provision wheelhouse`)"
                    } else {
                        ""
                    }
                )));
            }
        }
        // `server start` runs gunicorn with the configuration deployed with MiniTwit.
        let conf = mt.source.join(procs::GUNICORN_CONF);
        if !conf.is_file() {
            return Err(OpError::Other(format!(
                "{} does not exist on the controller: [minitwit] source must be MiniTwit's folder, with its gunicorn configuration",
                conf.display()
            )));
        }
        if !mt.seed_sql.is_file() {
            return Err(OpError::Other(format!(
                "seed SQL {} does not exist on the controller (make it with `minitwit-load seed > {}`)",
                mt.seed_sql.display(),
                mt.seed_sql.display()
            )));
        }
        let mut t = env.connect(host)?;
        upload_scripts(env, &mut t, log, host)?;
        log.line(&host.name, "==> upload MiniTwit");
        let dir = format!("{}/minitwit", host.base);
        let n = upload_tree(&env.interrupt, &mut t, &mt.source, &dir, false)?;
        upload_file(&mut t, &mt.seed_sql, &format!("{dir}/seed.sql"))?;
        log.line(&host.name, &format!("uploaded {} file(s) and seed.sql", n));
        log.line(&host.name, "==> upload wheelhouse");
        let n = upload_tree(
            &env.interrupt,
            &mut t,
            &mt.wheelhouse,
            &format!("{}/wheelhouse", host.base),
            true,
        )?;
        log.line(&host.name, &format!("uploaded {n} new wheel(s)"));
        for i in &env.inventory.interpreters {
            let cmd = format!(
                "env CPE_BASE={} sh {}/shell/venv.sh {} {} {}",
                sh_quote(&host.base),
                sh_quote(&host.base),
                sh_quote(&i.version),
                remote_command(&i.command),
                sh_quote(&i.venv)
            );
            step(
                env,
                &mut t,
                log,
                host,
                &format!("venv {} ({})", i.venv, i.version),
                &cmd,
                None,
            )?;
        }
        Ok(())
    })
}
