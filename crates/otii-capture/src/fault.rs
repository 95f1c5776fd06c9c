//! Whose fault a failed capture was: the infrastructure's (the meter, the server or the
//! network went away; nothing was measured, retry) or the run's; and the full disk, which stops
//! a capture without a record.

use std::io;
use std::path::{Path, PathBuf};

/// Why a run record has status `failed`, as far as the caller should act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The meter, the server or the network was away (connection refused, reset, closed or
    /// silent; the load command exiting 75). Nothing was measured: repeat the run, it is not
    /// the run's failure. `otii-capture` exits 75 ([`procs::Exit::Unavailable`]).
    Infrastructure,
    /// The run ran and failed (the load command's own failure, the Otii refusing a command, a
    /// check). `otii-capture` exits 1.
    Run,
}

impl Fault {
    /// The word `docs/formats.md` uses for it: `infrastructure` or `run`.
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Infrastructure => "infrastructure",
            Fault::Run => "run",
        }
    }
}

/// The exit status a load command uses for "the server was away, nothing was run" (sysexits'
/// `EX_TEMPFAIL`, [`procs::Exit::Unavailable`]), as `minitwit-load` documents it.
pub const LOAD_UNAVAILABLE: i32 = 75;

/// A file could not be written because its disk is full. The capture stops: no run record is
/// printed and no file that looks complete is left behind.
#[derive(Debug, thiserror::Error)]
#[error("no space left on device writing {}: {what}; nothing was recorded (free space, then run again)", path.display())]
pub struct NoSpace {
    /// The file being written (its final name).
    pub path: PathBuf,
    /// What was being written and what was removed.
    pub what: String,
}

impl NoSpace {
    /// A full disk while writing `path`.
    pub fn new(path: &Path, what: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            what: what.into(),
        }
    }
}

/// Whether `e` says the disk is full (ENOSPC; EDQUOT counts too: the quota is this user's disk).
pub fn is_no_space(e: &io::Error) -> bool {
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    e.kind() == io::ErrorKind::StorageFull || matches!(e.raw_os_error(), Some(ENOSPC | EDQUOT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_and_edquot_are_a_full_disk() {
        assert!(is_no_space(&io::Error::from_raw_os_error(28)));
        assert!(is_no_space(&io::Error::from_raw_os_error(122)));
        assert!(!is_no_space(&io::Error::from_raw_os_error(13)));
        assert!(!is_no_space(&io::Error::other("x")));
        let e = NoSpace::new(
            Path::new("/d/t.csv.xz"),
            "the trace; its temporary file removed",
        );
        assert!(
            e.to_string()
                .starts_with("no space left on device writing /d/t.csv.xz: "),
            "{e}"
        );
    }
}
