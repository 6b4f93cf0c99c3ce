//! Writing outputs without ever losing a user's file.
//!
//! - [`atomic_write`]: a regular file (new or existing) is written to a temporary
//!   sibling (`.NAME.tmp-PID`) renamed over it only when complete and flushed, keeping
//!   the existing file's permissions; `-` is standard output; a character device or a
//!   FIFO is written through (never replaced by a regular file); a symbolic link is
//!   followed and its target replaced, the link kept; anything else is refused.
//! - Temporaries in flight are registered, so that an interrupt handler can remove them
//!   ([`remove_temporaries`]); only a SIGKILL (or a crash of the machine) can leave a
//!   `.NAME.tmp-PID` file behind.
//! - [`check_distinct`]: refuses, before any work, an output that is the same file as an
//!   input or as another output (canonical paths, and device and inode where the files
//!   exist, so links and `./` spellings are caught).

use crate::error::{LinalgError, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Temporaries being written, for [`remove_temporaries`].
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Removes every temporary an output in flight has created (the temporaries of
/// [`atomic_write`] and [`OutputFile`], and the files and directories registered with
/// [`register`]): what an interrupt (SIGINT, SIGTERM) handler calls before the process
/// exits.
pub fn remove_temporaries() {
    if let Ok(mut pending) = PENDING.lock() {
        for p in pending.drain(..).rev() {
            if p.is_dir() {
                let _ = std::fs::remove_dir_all(&p);
            } else {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
}

/// Registers a temporary file or directory for [`remove_temporaries`] (a writer that
/// stages several files in a directory before moving them into place).
pub fn register(p: &Path) {
    if let Ok(mut pending) = PENDING.lock() {
        pending.push(p.to_path_buf());
    }
}

/// Forgets a temporary registered with [`register`] (it was moved into place or removed).
pub fn unregister(p: &Path) {
    if let Ok(mut pending) = PENDING.lock() {
        pending.retain(|q| q != p);
    }
}

/// Where an output goes, decided from what is at its path now.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// Standard output (`-`).
    Stdout,
    /// A regular file (or nothing yet) at this path: temporary and rename.
    Regular(PathBuf),
    /// A character device or FIFO: written through.
    Through(PathBuf),
}

fn io_err(path: &Path, source: std::io::Error) -> LinalgError {
    LinalgError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn refuse(path: &Path, why: impl Into<String>) -> LinalgError {
    LinalgError::Output {
        path: path.to_path_buf(),
        message: why.into(),
    }
}

fn target(path: &Path) -> Result<Target> {
    if path.as_os_str() == "-" {
        return Ok(Target::Stdout);
    }
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Target::Regular(path.to_path_buf())),
        Err(e) => return Err(io_err(path, e)),
    };
    if meta.file_type().is_symlink() {
        // follow the link: the target is what gets written, the link stays
        let resolved = std::fs::canonicalize(path).map_err(|_| {
            refuse(
                path,
                "is a symbolic link to nothing (a dangling link); remove it or name its target",
            )
        })?;
        return target(&resolved);
    }
    let ft = meta.file_type();
    if ft.is_file() {
        return Ok(Target::Regular(path.to_path_buf()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_char_device() || ft.is_fifo() {
            return Ok(Target::Through(path.to_path_buf()));
        }
    }
    if ft.is_dir() {
        return Err(refuse(path, "is a directory, not a file"));
    }
    Err(refuse(
        path,
        "is not a regular file, a character device or a FIFO: not written",
    ))
}

/// An output being written by the rules of [`atomic_write`], for writers that stream
/// (a trace written as it is measured): write to it, then [`OutputFile::commit`]. Dropped
/// without a commit (an error, a panic), it removes its temporary: nothing appears under
/// the final name.
pub struct OutputFile {
    path: PathBuf,
    sink: Sink,
}

enum Sink {
    Stdout(std::io::Stdout),
    Through(std::io::BufWriter<std::fs::File>),
    Temp {
        tmp: PathBuf,
        /// Where it goes: the path, or the target of the link the path is.
        dest: PathBuf,
        w: Option<std::io::BufWriter<std::fs::File>>,
        keep: Option<std::fs::Permissions>,
    },
}

impl OutputFile {
    /// Opens the output at `path` (`-`: standard output).
    pub fn create(path: &Path) -> Result<Self> {
        let sink = match target(path)? {
            Target::Stdout => Sink::Stdout(std::io::stdout()),
            Target::Through(p) => {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&p)
                    .map_err(|e| io_err(&p, e))?;
                Sink::Through(std::io::BufWriter::with_capacity(1 << 16, file))
            }
            Target::Regular(p) => {
                let dir = match p.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                let name = p.file_name().ok_or_else(|| refuse(&p, "is not a file path"))?;
                let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
                let keep = std::fs::metadata(&p).ok().map(|m| m.permissions());
                register(&tmp);
                let file = match std::fs::File::create(&tmp) {
                    Ok(f) => f,
                    Err(e) => {
                        unregister(&tmp);
                        return Err(io_err(path, e));
                    }
                };
                Sink::Temp {
                    tmp,
                    w: Some(std::io::BufWriter::with_capacity(1 << 20, file)),
                    keep,
                    dest: p,
                }
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            sink,
        })
    }

    /// Finishes the output: flushes it and, for a regular file, moves it into place
    /// (keeping the replaced file's permissions).
    pub fn commit(mut self) -> Result<()> {
        let path = self.path.clone();
        let r = match &mut self.sink {
            Sink::Stdout(s) => match s.flush() {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                r => r,
            },
            Sink::Through(w) => w.flush(),
            Sink::Temp { tmp, dest, w, keep } => (|| {
                let w = w.take().ok_or_else(|| std::io::Error::other("committed twice"))?;
                let file = w.into_inner().map_err(|e| e.into_error())?;
                if let Some(perm) = keep.take() {
                    file.set_permissions(perm)?;
                }
                file.sync_all()?;
                std::fs::rename(&*tmp, &*dest)
            })(),
        };
        r.map_err(|e| io_err(&path, e))
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.sink {
            Sink::Stdout(s) => match s.write(buf) {
                // a closed pipe downstream (`| head`) is the reader's choice: drop the rest
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(buf.len()),
                r => r,
            },
            Sink::Through(w) => w.write(buf),
            Sink::Temp { w: Some(w), .. } => w.write(buf),
            Sink::Temp { w: None, .. } => Err(std::io::Error::other("output already committed")),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.sink {
            Sink::Stdout(s) => match s.flush() {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                r => r,
            },
            Sink::Through(w) => w.flush(),
            Sink::Temp { w: Some(w), .. } => w.flush(),
            Sink::Temp { w: None, .. } => Ok(()),
        }
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        if let Sink::Temp { tmp, .. } = &self.sink {
            // committed: renamed away, so this fails harmlessly; otherwise it cleans up
            let _ = std::fs::remove_file(tmp);
            unregister(tmp);
        }
    }
}

/// Writes an output without risking what is at `path` (see the module's rules): a
/// failed or interrupted write never leaves a half-written file under the final name,
/// and never replaces a device, a FIFO or a symbolic link by a regular file.
pub fn atomic_write(path: &Path, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let mut out = OutputFile::create(path)?;
    write(&mut out).map_err(|e| io_err(path, e))?;
    out.commit()
}

/// How a path is known for comparisons: its canonical form (the parent canonicalised
/// when the file does not exist yet) and, when it exists, its device and inode.
fn identity(path: &Path) -> Option<(PathBuf, Option<(u64, u64)>)> {
    if path.as_os_str() == "-" {
        return None;
    }
    let canonical = std::fs::canonicalize(path).ok().or_else(|| {
        let parent = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        Some(std::fs::canonicalize(parent).ok()?.join(path.file_name()?))
    })?;
    #[cfg(unix)]
    let inode = {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    };
    #[cfg(not(unix))]
    let inode = None;
    Some((canonical, inode))
}

/// Whether `a` and `b` name the same file (or the same file-to-be).
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (identity(a), identity(b)) {
        (Some((ca, ia)), Some((cb, ib))) => ca == cb || (ia.is_some() && ia == ib),
        _ => false,
    }
}

/// Refuses an output that is the same file as an input or as another output: each
/// `outputs` entry is `(path, what)` ("the solution", "the report"), each `inputs` entry
/// `(path, what)` too. Standard output (`-`) may repeat; character devices such as
/// `/dev/null` may be named by several outputs.
pub fn check_distinct(inputs: &[(&Path, &str)], outputs: &[(&Path, &str)]) -> Result<()> {
    let shareable = |p: &Path| {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            std::fs::metadata(p).is_ok_and(|m| m.file_type().is_char_device())
        }
        #[cfg(not(unix))]
        {
            let _ = p;
            false
        }
    };
    for (i, &(out, what)) in outputs.iter().enumerate() {
        if shareable(out) {
            continue;
        }
        for &(inp, iwhat) in inputs {
            if same_file(out, inp) {
                return Err(refuse(
                    out,
                    format!(
                        "{what} would overwrite {iwhat} ({}): choose another output",
                        inp.display()
                    ),
                ));
            }
        }
        for &(other, owhat) in &outputs[..i] {
            if same_file(out, other) {
                return Err(refuse(
                    out,
                    format!("{what} and {owhat} would be written to the same file: choose two outputs"),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_nothing_and_a_good_one_keeps_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        let r = atomic_write(&p, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        atomic_write(&p, |w| w.write_all(b"ok")).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "ok");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
            atomic_write(&p, |w| w.write_all(b"again")).unwrap();
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let missing = dir.path().join("no/such/dir/x.txt");
        assert!(matches!(
            atomic_write(&missing, |w| w.write_all(b"x")),
            Err(LinalgError::Io { .. })
        ));
        // nothing of this test's stays registered (other tests may be writing)
        assert!(!PENDING.lock().unwrap().iter().any(|p| p.starts_with(dir.path())));
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_and_devices_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.txt");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        atomic_write(&link, |w| w.write_all(b"new")).unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        // /dev/null stays a device
        atomic_write(Path::new("/dev/null"), |w| w.write_all(b"gone")).unwrap();
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
        // /dev/full reports the failure
        assert!(atomic_write(Path::new("/dev/full"), |w| w.write_all(&[0u8; 100_000])).is_err());
        // a dangling link and a directory are refused
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nothing"), &dangling).unwrap();
        assert!(matches!(
            atomic_write(&dangling, |w| w.write_all(b"x")),
            Err(LinalgError::Output { .. })
        ));
        assert!(matches!(
            atomic_write(dir.path(), |w| w.write_all(b"x")),
            Err(LinalgError::Output { .. })
        ));
    }

    #[test]
    fn the_same_file_is_caught_under_any_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.mtx");
        std::fs::write(&a, "x").unwrap();
        let dotted = dir.path().join(".").join("a.mtx");
        assert!(same_file(&a, &dotted));
        let err = check_distinct(&[(&a, "the matrix")], &[(&dotted, "the solution")]).unwrap_err();
        assert!(err.to_string().contains("would overwrite the matrix"), "{err}");
        #[cfg(unix)]
        {
            let link = dir.path().join("l.mtx");
            std::os::unix::fs::symlink(&a, &link).unwrap();
            assert!(check_distinct(&[(&a, "the matrix")], &[(&link, "the report")]).is_err());
            // a hard link: another name, the same inode
            let hard = dir.path().join("h.mtx");
            std::fs::hard_link(&a, &hard).unwrap();
            assert!(same_file(&a, &hard));
        }
        // two outputs to one new file
        let new = dir.path().join("new.json");
        assert!(check_distinct(&[], &[(&new, "the report"), (&new, "the solution")]).is_err());
        // distinct files, stdout twice, /dev/null twice: fine
        let b = dir.path().join("b.mtx");
        check_distinct(
            &[(&a, "the matrix")],
            &[(&b, "the solution"), (Path::new("-"), "x"), (Path::new("-"), "y")],
        )
        .unwrap();
        #[cfg(unix)]
        check_distinct(
            &[],
            &[(Path::new("/dev/null"), "x"), (Path::new("/dev/null"), "y")],
        )
        .unwrap();
    }
}
