//! A small filesystem to fill: a tmpfs the test mounts (root only), for testing what a tool
//! does when the disk is full.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// A tmpfs of a given size mounted on a temporary folder, unmounted on drop.
pub struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (`64k`, `4m`: mount's `size=`). `None`, with a `SKIPPED:` line
    /// on stderr saying why, where mounting is not allowed (not root).
    pub fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("a temporary folder: {e}"));
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::piped())
            .output();
        match out {
            Ok(o) if o.status.success() => Some(SmallDisk { dir }),
            Ok(o) => {
                eprintln!(
                    "SKIPPED: cannot mount a small tmpfs here ({}): {}",
                    o.status,
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIPPED: cannot run mount: {e}");
                None
            }
        }
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the disk to the last byte with the file `ballast`.
    pub fn fill(&self) {
        let path = self.path().join("ballast");
        let mut f =
            std::fs::File::create(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let block = vec![7u8; 4096];
        while f.write_all(&block).is_ok() {}
        while f.write_all(&[7u8]).is_ok() {}
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}
