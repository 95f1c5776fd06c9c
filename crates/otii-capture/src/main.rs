//! `otii-capture`: the command-line edge of the otii-capture library.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // Ctrl-C also reaches the scenario command (same process group); the library then stops
    // the recording cleanly instead of dying with the Otii still recording.
    procs::main(
        "otii-capture",
        otii_capture::Config::try_from(cli),
        otii_capture::run,
    )
}
