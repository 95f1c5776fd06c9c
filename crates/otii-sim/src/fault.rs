//! Faults the simulator can inject, so clients' error paths are tested against real sockets.

use std::str::FromStr;
use std::time::Duration;

/// One injected fault.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Close the connection instead of answering its data request number `n + 1`
    /// (`drop-after-chunks:N`): a download that dies mid-way.
    DropAfterChunks(u64),
    /// As `DropAfterChunks`, but only the first connection that gets that far is dropped
    /// (`drop-once-after-chunks:N`): a meter that fails one download and then recovers, for
    /// testing callers that repeat the run.
    DropOnceAfterChunks(u64),
    /// Answer every request for this command with a `Command failure` error (`error:CMD`).
    ErrorOn(String),
    /// Wait this long before answering this command (`stall:CMD:SECONDS`).
    StallOn(String, Duration),
    /// Report no connected device (`no-devices`).
    NoDevices,
    /// Send a `progress` message before every data answer (`progress`), in the shape both
    /// reference clients read. The real Otii sends none there; this tests that a client
    /// skips unsolicited progress messages wherever they come.
    ProgressBeforeData,
}

/// A `--fault` value that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "bad fault {0:?}: expected drop-after-chunks:N, drop-once-after-chunks:N, error:CMD, stall:CMD:SECONDS, no-devices or progress"
)]
pub struct BadFault(pub String);

impl FromStr for Fault {
    type Err = BadFault;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadFault(s.to_owned());
        let parts: Vec<&str> = s.split(':').collect();
        match parts.as_slice() {
            ["drop-after-chunks", n] => n.parse().map(Fault::DropAfterChunks).map_err(|_| bad()),
            ["drop-once-after-chunks", n] => {
                n.parse().map(Fault::DropOnceAfterChunks).map_err(|_| bad())
            }
            ["error", cmd] if !cmd.is_empty() => Ok(Fault::ErrorOn((*cmd).to_owned())),
            ["stall", cmd, secs] if !cmd.is_empty() => {
                let secs: f64 = secs.parse().map_err(|_| bad())?;
                let d = Duration::try_from_secs_f64(secs).map_err(|_| bad())?;
                Ok(Fault::StallOn((*cmd).to_owned(), d))
            }
            ["no-devices"] => Ok(Fault::NoDevices),
            ["progress"] => Ok(Fault::ProgressBeforeData),
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse() {
        assert_eq!("drop-after-chunks:3".parse(), Ok(Fault::DropAfterChunks(3)));
        assert_eq!(
            "drop-once-after-chunks:1".parse(),
            Ok(Fault::DropOnceAfterChunks(1))
        );
        assert_eq!(
            "error:project_start_recording".parse(),
            Ok(Fault::ErrorOn("project_start_recording".into()))
        );
        assert_eq!(
            "stall:otii_get_devices:1.5".parse(),
            Ok(Fault::StallOn(
                "otii_get_devices".into(),
                Duration::from_millis(1500)
            ))
        );
        assert_eq!("no-devices".parse(), Ok(Fault::NoDevices));
        assert_eq!("progress".parse(), Ok(Fault::ProgressBeforeData));
        assert!("stall:x:-1".parse::<Fault>().is_err());
        assert!("explode".parse::<Fault>().is_err());
    }
}
