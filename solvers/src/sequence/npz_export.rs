//! Writes a sequence's systems as one `.npz` of CSR arrays: the layout
//! [`super::NpzSequenceSource`] reads (`indptr`, `indices`, `data` K × nnz, `b` K × n,
//! `features` K × F), so the systems Solvent generates can be handed to another solver
//! (SciPy, pyamg, PETSc) or back to `solvent solve-seq`.

use super::source::SystemSource;
use crate::{Result, SolverError};
use solvent_linalg::io::npz::NpzWriter;
use std::path::Path;

/// Writes systems `0..source.len()` of `source` to `path` (atomically: nothing is left
/// at `path` on failure). Every matrix must share the first one's sparsity pattern (as
/// the layout requires); a system that does not is an error naming it. `progress` is
/// called with the number of systems assembled so far.
pub fn write_systems_npz(
    source: &dyn SystemSource,
    path: impl AsRef<Path>,
    progress: &mut dyn FnMut(usize),
) -> Result<()> {
    let k = source.len();
    if k == 0 {
        return Err(SolverError::Sequence {
            system: "export".into(),
            message: "no systems to write".into(),
        });
    }
    let (a0, b0) = source.system(0)?;
    let (n, nnz) = (a0.nrows(), a0.nnz());
    // the archive has no ZIP64: say so before assembling every system
    let bytes = (k as u128) * (nnz as u128) * 8;
    if bytes >= 4 * (1u128 << 30) {
        return Err(SolverError::Sequence {
            system: "export".into(),
            message: format!(
                "{k} systems of {nnz} entries take {:.1} GB of values, over the 4 GiB .npz member limit: export fewer systems",
                bytes as f64 / 1e9
            ),
        });
    }
    let (ptr, cols) = (a0.row_ptr().to_vec(), a0.col_idx().to_vec());
    let mut data = Vec::with_capacity(k * nnz);
    let mut b = Vec::with_capacity(k * n);
    let mut features = Vec::new();
    let mut width = None;
    let mut first = Some((a0.clone(), b0));
    for i in 0..k {
        let (a, bi) = match first.take() {
            Some(sys) => sys,
            None => source.system(i)?,
        };
        if a.nrows() != n || a.row_ptr() != ptr.as_slice() || a.col_idx() != cols.as_slice() {
            return Err(SolverError::Sequence {
                system: source.label(i),
                message:
                    "its sparsity pattern differs from the first system's; the .npz layout shares one pattern"
                        .into(),
            });
        }
        data.extend_from_slice(a.values());
        b.extend_from_slice(&bi);
        let f = source.features(i)?;
        if *width.get_or_insert(f.len()) != f.len() {
            return Err(SolverError::Sequence {
                system: source.label(i),
                message: "its feature vector's length differs from the first system's".into(),
            });
        }
        features.extend_from_slice(&f);
        progress(i + 1);
    }
    let to_i32 = |v: &[u32]| -> Result<Vec<i32>> {
        v.iter()
            .map(|&x| {
                i32::try_from(x).map_err(|_| SolverError::Sequence {
                    system: "export".into(),
                    message: format!("index {x} does not fit int32 (nnz = {nnz})"),
                })
            })
            .collect()
    };
    let mut w = NpzWriter::new();
    w.add("indptr", &[n + 1], &to_i32(&ptr)?)?;
    w.add("indices", &[nnz], &to_i32(&cols)?)?;
    w.add("data", &[k, nnz], &data)?;
    w.add("b", &[k, n], &b)?;
    let f = width.unwrap_or(0);
    if f > 0 {
        w.add("features", &[k, f], &features)?;
    }
    w.write(path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequence::{InMemorySource, NpzSequenceSource};
    use solvent_problems::generators::{FamilyConfig, PdeFamily, PdeSampler};

    #[test]
    fn written_systems_read_back_identically_and_a_second_pattern_is_refused() {
        let s = PdeSampler::new(PdeFamily::ConvDiff3d, FamilyConfig::new(5, 2)).unwrap();
        let src = crate::sequence::SamplerSource::new(s, 4);
        let dir = std::env::temp_dir().join(format!("solvent-export-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("systems.npz");
        let mut seen = 0;
        write_systems_npz(&src, &path, &mut |i| seen = i).unwrap();
        assert_eq!(seen, 4);
        let back = NpzSequenceSource::open(&path).unwrap();
        assert_eq!(back.len(), 4);
        for i in 0..4 {
            let ((a, b), (c, d)) = (src.system(i).unwrap(), back.system(i).unwrap());
            assert_eq!(a.values(), c.values());
            assert_eq!(a.col_idx(), c.col_idx());
            assert_eq!(b, d);
            assert_eq!(src.features(i).unwrap(), back.features(i).unwrap());
        }
        // two patterns: refused, nothing written
        let p5 = solvent_problems::generators::poisson2d(3).unwrap();
        let other = solvent_linalg::CsrMatrix::from_triplets(9, 9, &[(0, 0, 1.0), (8, 8, 1.0)]).unwrap();
        let mixed = InMemorySource::new(
            vec![(p5, vec![1.0; 9]), (other, vec![1.0; 9])],
            vec![vec![0.0]; 2],
        )
        .unwrap();
        let bad = dir.join("mixed.npz");
        let err = write_systems_npz(&mixed, &bad, &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains("system 1"), "{err}");
        assert!(!bad.exists());
        std::fs::remove_dir_all(&dir).ok();
    }
}
