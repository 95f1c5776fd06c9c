//! `pi-provision`: the command line. Parses (`cli.rs`), builds the validated [`Config`], runs
//! the library and exits 0 ok, 1 a host failed, 2 usage or inventory error, 130 interrupted.

mod cli;

use std::process::ExitCode;

use clap::Parser;
use pi_provision::config::Config;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    procs::main("pi-provision", Config::try_from(cli), pi_provision::run)
}
