//! The `requests` and `export` commands: results folders in, the table or the dataset out.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use procs::Interrupt;

use super::{attribute_dirs, summary, Options};
use crate::app::{Command, Config, RequestsFormat};

/// Run `requests` or `export` as `config` says, data to `out`.
pub fn run(config: &Config, interrupt: &Interrupt, out: &mut dyn Write) -> Result<()> {
    let dirs = folders(config)?;
    let opts = Options {
        threads: config.read.load.threads,
        cache: config.read.load.cache.clone(),
    };
    match &config.command {
        Command::Requests { format } => {
            let mut skipped = 0;
            let runs = attribute_dirs(&dirs, &opts, interrupt, &mut skipped)?;
            if skipped > 0 {
                eprintln!(
                    "energy-stats: note: {skipped} run(s) without a request log or trace left out"
                );
            }
            if runs.is_empty() {
                bail!("no runs with a request log (requests/run-NNN.jsonl) in the inputs");
            }
            if runs.iter().any(|r| r.modelled) || config.read.modelled {
                eprintln!(
                    "energy-stats: note: the power in these runs was MODELLED by a simulator, not measured"
                );
            }
            let rep = summary::summarise(&runs);
            let text = match format {
                RequestsFormat::Json => {
                    let mut s = serde_json::to_string_pretty(&rep).context("serialising")?;
                    s.push('\n');
                    s
                }
                RequestsFormat::Csv => summary::csv(&rep),
                RequestsFormat::Markdown => summary::markdown(&rep),
            };
            out.write_all(text.as_bytes())?;
        }
        Command::Export { dir } => {
            let files = crate::export::export(&dirs, dir, &opts, interrupt)?;
            for f in files {
                writeln!(out, "{}", f.display())?;
            }
        }
        _ => bail!("not a requests command"),
    }
    out.flush()?;
    Ok(())
}

/// The group folders of the inputs, in order, only `--groups` when given.
fn folders(config: &Config) -> Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for p in &config.inputs {
        if p.as_os_str() == "-" {
            bail!("- (stdin): requests and export read results folders (OUT/minitwit312/), whose traces and request logs a pipe cannot carry");
        }
        if !p.is_dir() {
            bail!(
                "{}: not a folder; give the results folders the experiment writes (OUT/minitwit312/)",
                p.display()
            );
        }
        let label = records::GroupDir::new(p).label();
        if config.groups.is_empty() || config.groups.contains(&label) {
            dirs.push(p.clone());
        }
    }
    for w in &config.groups {
        if !dirs.iter().any(|d| &records::GroupDir::new(d).label() == w) {
            bail!("--groups: no group {w:?} in the inputs");
        }
    }
    Ok(dirs)
}
