//! The `energy-stats` command line.
fn main() {}
