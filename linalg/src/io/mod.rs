//! File formats users already have: Matrix Market (`.mtx`), NumPy `.npy` and `.npz`, LIBSVM, dense CSV.
//!
//! Readers report malformed input as [`crate::LinalgError::Format`] with the
//! file and 1-based line; writers go through [`atomic_write`], so a failed or
//! interrupted write never leaves a half-written file under the final name.

pub mod dense_csv;
pub mod matrix_market;
pub mod npy;
pub mod npz;
pub mod svmlight;

use crate::error::{LinalgError, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes a file through a temporary sibling (`.NAME.tmp-PID`) that is
/// renamed over `path` only when `write` succeeded and the data is flushed.
pub fn atomic_write(path: &Path, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let io_err = |source| LinalgError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| {
        io_err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a file path",
        ))
    })?;
    let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let file = std::fs::File::create(&tmp)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
        write(&mut w)?;
        w.flush()?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_leaves_nothing_on_failure() {
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
        let missing = dir.path().join("no/such/dir/x.txt");
        assert!(matches!(
            atomic_write(&missing, |w| w.write_all(b"x")),
            Err(LinalgError::Io { .. })
        ));
    }
}
