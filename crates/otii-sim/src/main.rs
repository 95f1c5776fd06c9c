//! `otii-sim`: a simulated Otii 3 TCP server (see the library crate for the design).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    procs::main("otii-sim", otii_sim::Config::try_from(cli), otii_sim::run)
}
