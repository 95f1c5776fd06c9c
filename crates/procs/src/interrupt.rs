use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A flag that Ctrl-C (SIGINT) or SIGTERM sets, handed down to the library, which polls it
/// between steps and stops cleanly: records flushed, children stopped, nothing half-written.
///
/// Clones share one flag. A fresh `Interrupt` that nothing installed is never set, which is
/// what tests and library callers that do not handle signals want.
#[derive(Clone, Debug, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// A flag that is not set.
    pub fn new() -> Interrupt {
        Interrupt::default()
    }

    /// Sets the flag, as the signal handler does.
    pub fn trigger(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether an interruption was requested.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// The flag itself, for APIs that take an `&AtomicBool`.
    pub fn flag(&self) -> &AtomicBool {
        &self.0
    }

    /// Makes SIGINT and SIGTERM set this flag. The first signal asks the tool to stop cleanly; a
    /// second one while it is stopping ends the process at once with exit code 130. Only one
    /// handler can be installed in a process (the tool's `main` does it, through [`crate::main`]).
    pub fn install(&self) -> io::Result<()> {
        let flag = self.clone();
        ctrlc::set_handler(move || {
            if flag.is_set() {
                std::process::exit(130);
            }
            flag.trigger();
        })
        .map_err(|e| io::Error::other(format!("cannot install the Ctrl-C handler: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_flag() {
        let a = Interrupt::new();
        let b = a.clone();
        assert!(!b.is_set());
        a.trigger();
        assert!(b.is_set());
        assert!(b.flag().load(Ordering::SeqCst));
    }
}
