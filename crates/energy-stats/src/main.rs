//! The `energy-stats` command line: parse, validate into a [`Config`], run, map to an exit code
//! (0 ok, 1 failure, 2 usage, 130 interrupted; a closed stdout, `… | head`, is success).

mod cli;

use std::process::ExitCode;

use clap::Parser;

use energy_stats::app::{self, Config};

fn main() -> ExitCode {
    let config = Config::try_from(cli::Cli::parse());
    procs::main("energy-stats", config, |config, interrupt| {
        app::main(&config, interrupt)
    })
}
