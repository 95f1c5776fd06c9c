use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A file written under a temporary name next to its final path and renamed into place only
/// by [`AtomicFile::commit`]. Dropped without commit (an error, a panic, Ctrl-C unwinding),
/// the temporary file is removed, so no file that looks complete is ever left half-written.
///
/// The temporary name is `.<name>.partial-<pid>` in the same directory, so the rename is
/// atomic (same file system) and a crash leaves only an obviously unfinished dot-file.
///
/// A destination that exists and is not a regular file (`/dev/null`, a FIFO, a terminal) is
/// written in place instead: renaming a temporary file over it would replace the device with a
/// regular file (a `-o /dev/null` must never turn `/dev/null` into a file), and a stream has
/// nothing that could look complete.
pub struct AtomicFile {
    file: Option<File>,
    tmp: PathBuf,
    dest: PathBuf,
    /// Written in place: `dest` is a device or a pipe.
    in_place: bool,
}

impl AtomicFile {
    /// Creates the temporary file for `dest`; its directory must exist.
    pub fn create(dest: impl AsRef<Path>) -> io::Result<Self> {
        let dest = dest.as_ref().to_path_buf();
        let name = dest
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?
            .to_string_lossy()
            .into_owned();
        if fs::metadata(&dest).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
            let file = fs::OpenOptions::new().write(true).open(&dest)?;
            return Ok(Self {
                file: Some(file),
                tmp: dest.clone(),
                dest,
                in_place: true,
            });
        }
        let tmp = dest.with_file_name(format!(".{name}.partial-{}", std::process::id()));
        let file = File::create(&tmp)?;
        Ok(Self {
            file: Some(file),
            tmp,
            dest,
            in_place: false,
        })
    }

    /// The final path.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// The temporary path being written (the destination itself for a device or a pipe).
    pub fn temp_path(&self) -> &Path {
        &self.tmp
    }

    /// Flushes, syncs and renames the file to its final name.
    pub fn commit(self) -> io::Result<PathBuf> {
        let dest = self.dest.clone();
        self.commit_as(dest)
    }

    /// Flushes, syncs and renames the file to `path` instead of its final name: to keep what
    /// an interrupted writer wrote under a name that says it is incomplete (`x.jsonl.partial`).
    pub fn commit_as(mut self, path: impl Into<PathBuf>) -> io::Result<PathBuf> {
        let path = path.into();
        if let Some(mut file) = self.file.take() {
            file.flush()?;
            if self.in_place {
                // A device or a pipe: what was written is there; nothing to rename.
                return Ok(self.dest.clone());
            }
            file.sync_all()?;
        }
        fs::rename(&self.tmp, &path)?;
        Ok(path)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.file.as_mut() {
            Some(f) => f.write(buf),
            None => Err(io::Error::other("file already committed")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() && !self.in_place {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}
