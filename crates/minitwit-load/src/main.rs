//! The `minitwit-load` binary: parse the command line, validate it into a [`Config`], run it,
//! exit with the documented code (0 ok, 1 failure, 2 usage, 130 interrupted).

mod cli;

use std::process::ExitCode;

use clap::Parser;
use minitwit_load::app::{self, Config};

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    procs::main("minitwit-load", Config::try_from(cli), app::run)
}
