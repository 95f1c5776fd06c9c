use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn from_env(var: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => panic!(
            "{var} is not set: run it through `make test` (needs CPE_VENV, CPE_ROOT and \
             CPE_BIN_DIR; `make test` builds the release binaries and the venv first)"
        ),
    }
}

/// The repository root (`CPE_ROOT`). Panics with a hint when unset.
pub fn root() -> PathBuf {
    from_env("CPE_ROOT")
}

/// The Python venv with MiniTwit's requirements, pytest and requests (`CPE_VENV`); its
/// interpreter is `venv().join("bin/python")`. Panics with a hint when unset.
pub fn venv() -> PathBuf {
    from_env("CPE_VENV")
}

/// The directory of the release binaries of the workspace (`CPE_BIN_DIR`). Panics with a
/// hint when unset.
pub fn bin_dir() -> PathBuf {
    from_env("CPE_BIN_DIR")
}

/// The path of the workspace binary `name` in [`bin_dir`]; panics if it is not built.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.is_file(),
        "{} does not exist: build it with `make build` (or run the tests through `make test`)",
        path.display()
    );
    path
}

/// MiniTwit's seed SQL as `minitwit-load seed` makes it (the default seed). Made once per build
/// of the binary and shared by every test process: it is kept beside the binary
/// (`testkit-seed.sql` in [`bin_dir`]) and made again only when the binary is newer, written
/// under a temporary name and renamed, so parallel test processes never see half a file. Pass
/// it to [`crate::MiniTwit::builder`]`.seed(..)`. Panics if the binary is missing or fails.
pub fn seed_sql() -> PathBuf {
    static SEED: OnceLock<PathBuf> = OnceLock::new();
    SEED.get_or_init(|| {
        let exe = bin("minitwit-load");
        let path = exe.with_file_name("testkit-seed.sql");
        let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        if modified(&path).is_some() && modified(&path) >= modified(&exe) {
            return path;
        }
        let out = Command::new(&exe)
            .arg("seed")
            .output()
            .unwrap_or_else(|e| panic!("cannot run minitwit-load seed: {e}"));
        assert!(
            out.status.success(),
            "minitwit-load seed failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut file = tempfile::Builder::new()
            .prefix(".testkit-seed-")
            .tempfile_in(dir)
            .unwrap_or_else(|e| panic!("cannot create a temporary file in {}: {e}", dir.display()));
        std::io::Write::write_all(&mut file, &out.stdout)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", file.path().display()));
        file.persist(&path)
            .unwrap_or_else(|e| panic!("cannot rename the seed to {}: {e}", path.display()));
        path
    })
    .clone()
}

/// A TCP port on 127.0.0.1 that was free a moment ago ([`procs::free_port`]); panics if none
/// can be bound. Another process may take it in between, which is unlikely enough for tests;
/// servers that can bind port 0 themselves should.
pub fn free_port() -> u16 {
    procs::free_port().unwrap_or_else(|e| panic!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_port_can_be_bound() {
        let port = free_port();
        assert_ne!(port, 0);
        std::net::TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|e| panic!("{port}: {e}"));
    }

    #[test]
    #[should_panic(expected = "run it through `make test`")]
    fn missing_variable_says_how_to_run() {
        from_env("CPE_TESTKIT_SURELY_UNSET");
    }
}
