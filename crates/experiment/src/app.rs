//! What the `experiment` command does, from a validated [`Task`]: print a plan, list the local
//! interpreters, run the experiment (interpreter venvs, the server, the meter, then
//! [`crate::run`]), or show a plan's morning summary.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use procs::{Exit, Interrupt};

use crate::discover::Places;
use crate::interpreters::{find, table, Found, Interpreter};
use crate::runner::{run, Config};
use crate::server::{LocalServer, ProvisionedServer, Server};
use crate::sim::Meter;
use crate::venv::ensure_venv;
use crate::{Order, Plan};

/// One validated invocation.
#[derive(Debug)]
pub enum Task {
    /// Print the run plan as JSON.
    Plan {
        /// Interpreter labels.
        labels: Vec<String>,
        /// Measured runs per interpreter.
        runs: u32,
        /// Run order.
        order: Order,
        /// Seed of the shuffled order.
        seed: u64,
    },
    /// List the local interpreters: found, chosen, skipped and why.
    Interpreters(ListSetup),
    /// Run or resume the experiment.
    Run(Box<RunSetup>),
    /// The morning summary of a plan's results as they stand.
    Status {
        /// The plan file.
        plan: PathBuf,
        /// The output directory (default: the summary file's, else the plan's folder).
        out: Option<PathBuf>,
        /// JSON on stdout instead of the text.
        json: bool,
        /// Only the experiment's interpreters, one label per line.
        labels: bool,
    },
}

/// What `experiment interpreters` prints and does.
#[derive(Debug)]
pub struct ListSetup {
    /// Interpreters the user names (paths, labels of found ones, commands on PATH).
    pub wanted: Vec<String>,
    /// Only the short demo's pair: the oldest and newest CPython of the selection.
    pub quick: bool,
    /// What goes to stdout.
    pub format: ListFormat,
    /// Make each chosen interpreter's venv with MiniTwit's pins: (venv folder, MiniTwit folder).
    pub install: Option<(PathBuf, PathBuf)>,
}

/// The output of `experiment interpreters`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    /// A table for people.
    Table,
    /// JSON Lines: one `{"type":"interpreter",…}` or `{"type":"skipped",…}` per line.
    Json,
    /// The chosen labels, one per line (for the Makefile's `INTERPRETERS`).
    Labels,
}

/// An experiment to run: the runner's configuration and where MiniTwit runs.
#[derive(Debug)]
pub struct RunSetup {
    /// The runner's configuration; a local server adds its interpreters' labels, and a local
    /// `otii-sim` its address when `otii` is `None`.
    pub config: Config,
    /// Where MiniTwit runs.
    pub server: ServerSetup,
}

/// Where MiniTwit runs.
#[derive(Debug)]
pub enum ServerSetup {
    /// On this machine, under gunicorn, one venv per interpreter.
    Local(LocalSetup),
    /// On the testbed's server, started and stopped by commands.
    Remote {
        /// Command that starts MiniTwit under `{label}`.
        start: Vec<String>,
        /// Command that stops it.
        stop: Vec<String>,
        /// MiniTwit's base URL as seen from here.
        url: String,
    },
}

/// A local server's interpreters and files.
#[derive(Debug)]
pub struct LocalSetup {
    /// Interpreters given with their venvs: label → venv.
    pub interpreters: Vec<(String, PathBuf)>,
    /// Interpreters named by path, by the label `experiment interpreters` gives them, or as a
    /// command on PATH; their venvs are made if missing.
    pub pythons: Vec<String>,
    /// Where the per-interpreter venvs live.
    pub venv_dir: PathBuf,
    /// The MiniTwit folder.
    pub minitwit: PathBuf,
    /// The seed SQL `/cleardb` loads.
    pub seed_sql: PathBuf,
    /// Where databases, logs and PID files go.
    pub work_dir: PathBuf,
    /// Port (0: a free one).
    pub port: u16,
}

/// Does `task`; the exit says whether every planned run was recorded.
pub fn execute(task: Task, interrupt: &Interrupt) -> Result<Exit> {
    match task {
        Task::Plan {
            labels,
            runs,
            order,
            seed,
        } => {
            let plan = Plan::new(&labels, runs, order, seed);
            println!("{}", serde_json::to_string_pretty(&plan)?);
            Ok(Exit::Success)
        }
        Task::Interpreters(setup) => list_interpreters(&setup),
        Task::Run(setup) => run_experiment(*setup, interrupt),
        Task::Status {
            plan,
            out,
            json,
            labels,
        } => {
            let text = if labels {
                Plan::load(&plan)?
                    .labels
                    .iter()
                    .map(|l| format!("{l}\n"))
                    .collect()
            } else {
                status_text(&plan, out.as_deref(), json)?
            };
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
            Ok(Exit::Success)
        }
    }
}

/// The morning summary as text or JSON.
fn status_text(
    plan: &std::path::Path,
    out: Option<&std::path::Path>,
    json: bool,
) -> Result<String> {
    let summary = crate::summary::status(plan, out)?;
    Ok(if json {
        serde_json::to_string_pretty(&summary)? + "\n"
    } else {
        summary.text()
    })
}

fn list_interpreters(setup: &ListSetup) -> Result<Exit> {
    let mut found = find(&Places::from_env(), &setup.wanted).map_err(usage)?;
    if setup.quick {
        found.chosen = found.quick().iter().map(|i| i.path.clone()).collect();
    }
    let chosen: Vec<Interpreter> = found.selection().into_iter().cloned().collect();
    let mut out = String::new();
    match setup.format {
        ListFormat::Table => out = table(&found),
        ListFormat::Labels => chosen.iter().for_each(|i| {
            out.push_str(&i.label);
            out.push('\n');
        }),
        ListFormat::Json => out = json_lines(&found)?,
    }
    // A closed stdout (`| head`) ends here as success, through procs::main.
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    drop(stdout);
    if let Some((venv_dir, minitwit)) = &setup.install {
        let req = minitwit.join("requirements.txt");
        for i in &chosen {
            let venv = ensure_venv(&i.path, &i.label, venv_dir, &req)?;
            eprintln!("experiment: {} ready in {}", i.label, venv.display());
        }
    }
    Ok(Exit::Success)
}

/// A name the user gave that is no interpreter is a usage error (exit 2).
fn usage(e: impl std::fmt::Display) -> anyhow::Error {
    procs::UsageError(e.to_string()).into()
}

fn json_lines(found: &Found) -> Result<String> {
    #[derive(serde::Serialize)]
    struct Line<'a, T> {
        r#type: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        chosen: Option<bool>,
        #[serde(flatten)]
        data: &'a T,
    }
    let mut out = String::new();
    let selection = found.selection();
    for i in &found.interpreters {
        let chosen = selection.iter().any(|c| c.path == i.path);
        out.push_str(&serde_json::to_string(&Line {
            r#type: "interpreter",
            chosen: Some(chosen),
            data: i,
        })?);
        out.push('\n');
    }
    for k in &found.skipped {
        out.push_str(&serde_json::to_string(&Line {
            r#type: "skipped",
            chosen: None,
            data: k,
        })?);
        out.push('\n');
    }
    Ok(out)
}

fn run_experiment(setup: RunSetup, interrupt: &Interrupt) -> Result<Exit> {
    let RunSetup { mut config, server } = setup;
    // Declared before the server, so the meter outlives MiniTwit and is stopped last.
    let mut meter: Option<Meter> = config.otii.clone().map(Meter::remote);
    let mut server: Box<dyn Server> = match server {
        ServerSetup::Remote { start, stop, url } => {
            Box::new(ProvisionedServer::new(start, stop, url)?)
        }
        ServerSetup::Local(local) => {
            let interpreters = local_interpreters(&local)?;
            config
                .labels
                .extend(interpreters.iter().map(|(l, _)| l.clone()));
            if config.labels.is_empty() {
                return Err(procs::UsageError(
                    "no interpreters: give --python EXE or --interpreter LABEL=VENV".into(),
                )
                .into());
            }
            let pid_file = local.work_dir.join("gunicorn.pid");
            let server = LocalServer::new(
                interpreters,
                local.minitwit,
                local.seed_sql,
                local.work_dir.clone(),
                local.port,
                Some(pid_file.clone()),
                interrupt,
            )?
            .with_priority(config.priority);
            if meter.is_none() {
                meter = Some(Meter::local(
                    &config.bin_dir,
                    &local.work_dir,
                    &pid_file,
                    config.rate_hz,
                    interrupt,
                )?);
            }
            Box::new(server)
        }
    };
    let Some(meter) = meter.as_mut() else {
        anyhow::bail!("no Otii address: give --otii ADDR, or run a local server to use otii-sim");
    };
    let result = run(&config, server.as_mut(), meter, interrupt);
    let _ = server.stop();
    let outcome = result?;
    eprintln!(
        "experiment: done: {} runs planned, {} recorded now, {} recorded before, {} failed",
        outcome.planned,
        outcome.recorded,
        outcome.resumed,
        outcome.failed.len()
    );
    for (l, r, why) in &outcome.failed {
        eprintln!("experiment: {l} run {r} failed: {why}");
    }
    if let Some(summary) = &outcome.summary {
        for line in summary.text().lines() {
            eprintln!("experiment: {line}");
        }
        eprintln!(
            "experiment: summary written to {}",
            crate::summary::summary_path(&config.plan).display()
        );
    }
    if let Some(paragraph) = &outcome.stopped {
        eprintln!("experiment: {paragraph}");
        return Ok(Exit::from_ok(false, interrupt));
    }
    Ok(Exit::from_ok(outcome.failed.is_empty(), interrupt))
}

/// The interpreters given with a venv, then those named by `--python` (their venv made if
/// missing), each label once.
fn local_interpreters(local: &LocalSetup) -> Result<Vec<(String, PathBuf)>> {
    let mut interpreters = local.interpreters.clone();
    if local.pythons.is_empty() {
        return Ok(interpreters);
    }
    let found = find(&Places::from_env(), &local.pythons).map_err(usage)?;
    for i in found.selection() {
        if interpreters.iter().any(|(l, _)| *l == i.label) {
            eprintln!(
                "experiment: {} is {} again; skipped",
                i.path.display(),
                i.label
            );
            continue;
        }
        let req = local.minitwit.join("requirements.txt");
        let venv = ensure_venv(&i.path, &i.label, &local.venv_dir, &req)?;
        interpreters.push((i.label.clone(), venv));
    }
    Ok(interpreters)
}
