//! `experiment`: runs the whole energy experiment unattended (see `experiment run --help`).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    procs::main(
        "experiment",
        experiment::Task::try_from(cli),
        experiment::execute,
    )
}
