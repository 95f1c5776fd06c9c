//! The `minitwit-load` command line: parse, build a config, call the library, map to an exit code.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use minitwit_load::seed;

/// Drives MiniTwit the way the study's clients did, and makes its seed data.
#[derive(Debug, Parser)]
#[command(name = "minitwit-load", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write MiniTwit's seed data (200 users, 11,306 messages, 6,265 follower rows) as SQL to
    /// stdout. The same --seed always gives the same bytes. Every seed user's password is
    /// "minitwit".
    Seed {
        /// Random seed; the scenario must use the same one to follow the right users.
        #[arg(long, default_value_t = seed::DEFAULT_SEED)]
        seed: u64,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) if records::is_broken_pipe(e.as_ref()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("minitwit-load: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Seed { seed } => {
            let data = seed::generate(seed);
            let stdout = io::stdout().lock();
            let mut out = io::BufWriter::with_capacity(1 << 16, stdout);
            seed::write_sql(&data, &mut out).context("writing the seed SQL to stdout")?;
            out.flush().context("writing the seed SQL to stdout")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
